# Integration tests: tests/integ/NAME.c -> $(BUILD)/tests/integ/NAME (generic rule in the
# Makefile), run under `sgxemu run` by tests/run.sh. They load the test enclave and the
# signing key from $(BUILD)/tests/encl/, found relative to their own binary, and test_demo
# runs $(BUILD)/demo/demo_host. Uses ENCL_CFLAGS, ENCL_LDFLAGS, ENCL_BOOT from demo/demo.mk.

TEST_ENCL_DIR := $(BUILD)/tests/encl
TEST_ENCL := $(TEST_ENCL_DIR)/test_encl.elf
TEST_KEY := $(TEST_ENCL_DIR)/test_key.pem
TEST_KEY_SRC := $(wildcard tests/data/test_signing_key.pem)

integ: $(TEST_ENCL) $(TEST_KEY) demo

# Outside $(BUILD)/tests/integ/: everything executable there is run as a test.
$(TEST_ENCL): tests/integ/encl/test_encl.c tests/integ/encl/test_encl.h $(ENCL_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ENCL_CFLAGS) -o $@ tests/integ/encl/test_encl.c $(ENCL_BOOT) $(ENCL_LDFLAGS)

ifneq ($(TEST_KEY_SRC),)
$(TEST_KEY): $(TEST_KEY_SRC)
	@mkdir -p $(dir $@)
	cp $< $@
else
$(TEST_KEY):
	@mkdir -p $(dir $@)
	openssl genrsa -3 -out $@ 3072 2>/dev/null
endif

# The generic rule knows only the .c file; these headers shape every test.
$(INTEG_BINS): tests/integ/integ.h tests/integ/integ_sgx2.h tests/integ/encl/test_encl.h \
	tests/integ/bare_enclu.h tests/lib/rawcall.h \
	lib/encl_loader.h

# Helper programs the integration tests run (outside $(BUILD)/tests/integ/, which holds only
# tests): a program whose library makes filtered system calls before the preload starts.
TEST_HELPERS_DIR := $(BUILD)/tests/helpers
TEST_HELPERS := $(TEST_HELPERS_DIR)/early_trap_main
integ: $(TEST_HELPERS)

$(TEST_HELPERS_DIR)/libearly_trap.so: tests/integ/helpers/early_trap_lib.c tests/lib/rawcall.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fvisibility=default -shared -o $@ $<

$(TEST_HELPERS_DIR)/early_trap_main: tests/integ/helpers/early_trap_main.c $(TEST_HELPERS_DIR)/libearly_trap.so
	$(CC) $(CFLAGS) -o $@ $< -L$(TEST_HELPERS_DIR) -Wl,--no-as-needed -learly_trap \
		-Wl,-rpath,'$$ORIGIN'

# test_vdso_early needs a library whose constructor runs before the preload's: one the
# program depends on (tests/integ/early/), found through its rpath.
VDSO_EARLY_LIB := $(BUILD)/tests/integ-lib/libvdso_early.so
$(VDSO_EARLY_LIB): tests/integ/early/vdso_early_lib.c tests/integ/early/vdso_early_lib.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $<
$(BUILD)/tests/integ/test_vdso_early: tests/integ/test_vdso_early.c $(VDSO_EARLY_LIB) \
		host/vdso/vdso_data.h $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a \
		-L$(dir $(VDSO_EARLY_LIB)) -lvdso_early -Wl,-rpath,$(abspath $(dir $(VDSO_EARLY_LIB))) \
		-lcmocka $(LDLIBS)
