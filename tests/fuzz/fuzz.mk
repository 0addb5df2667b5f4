# Fuzz targets (tests/fuzz/fuzz_*.c), two ways:
#  - with libFuzzer (clang, Debian's clang + libclang-rt-dev): `make fuzz FUZZ_SECONDS=N` builds
#    them with ASan+UBSan into build-fuzz/ and runs each for N seconds, one after the other,
#    starting from the seed corpus in tests/fuzz/corpus/NAME/ (tests/fuzz/run.sh);
#  - with the ordinary compiler and tests/fuzz/standalone.c: $(BUILD)/tests/fuzz/fuzz_NAME
#    runs the corpus once, as a regression test in `make test` (no clang needed).
# Included from the Makefile.

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := $(CFLAGS_BASE) -O1 $(FUZZ_SANFLAGS) -fsanitize=fuzzer-no-link $(EXTRA_CFLAGS)
# Everything a target may call: cpu/, driver/, util/, lib/, the test fixtures, the CLI's commands
# (with help.c: usage errors and --help, which the commands call).
FUZZ_TOOL_SRCS := tools/measure_cmd.c tools/sign_cmd.c tools/help.c
FUZZ_LIB_SRCS := $(CORE_SRCS) $(TESTLIB_SRCS) $(LOADER_SRC) $(FUZZ_TOOL_SRCS)
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_REGRESS_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/fuzz_%)

.PHONY: fuzz fuzz-build
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

# The CLI's files include the generated version header (the Makefile's GEN).
$(FUZZ_TOOL_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o): $(GEN)/sgxemu_version.h $(GEN)/sgxemu_paths.h
$(FUZZ_TOOL_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o): FUZZ_CFLAGS += -I$(GEN)

$(FUZZ_BUILD)/libfuzzlib.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libfuzzlib.a
	$(FUZZ_CC) $(FUZZ_SANFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# The regression build: the target plus a main() that runs files.
$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c $(TESTLIB_OBJS) \
		$(FUZZ_TOOL_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/standalone.c $(TESTLIB_OBJS) \
		$(FUZZ_TOOL_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libsgxemu_core.a $(LDLIBS)

unit: $(FUZZ_REGRESS_BINS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
.SECONDARY: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o)
