# sgxemu build. `make` builds the emulator; `make test` runs every test; `make bench` the benchmarks.
# SAN=1 builds everything with AddressSanitizer + UndefinedBehaviorSanitizer into build-san/;
# TSAN=1 with ThreadSanitizer into build-tsan/ (make tsan-test).
# DEBUG=1 (implied by SAN=1 and TSAN=1) compiles in the driver's contract checks (driver/lock.h).

SAN ?= 0
TSAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
DEBUG ?= 1
else ifeq ($(TSAN),1)
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
SANDEFS := -DSGXEMU_TSAN
DEBUG ?= 1
else
BUILD ?= build
SANFLAGS :=
DEBUG ?= 0
endif
ifeq ($(DEBUG),1)
DEBUGFLAGS := -DSGXEMU_DEBUG
endif

CC ?= gcc
CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Wmissing-prototypes -Werror -fPIC -fvisibility=hidden -D_GNU_SOURCE -I. -Iinclude $(DEBUGFLAGS) $(SANDEFS)
CFLAGS := $(CFLAGS_BASE) $(SANFLAGS) $(EXTRA_CFLAGS)
LDLIBS := -lcrypto -lpthread

# Code that runs in trap paths must not touch the stack-protector canary in %fs before the
# host FS base is restored, and must not be instrumented by sanitizers (it runs on enclave state).
HOST_CFLAGS := $(CFLAGS_BASE) -fno-stack-protector $(EXTRA_CFLAGS)
HOST_TRAP_SRCS := $(wildcard host/trap*.c host/signal*.c)
# ThreadSanitizer's instrumentation reaches its per-thread state through FS: what the trap path
# runs before it has put the host FS base back (thread_self, fs_base_get/set) must not be
# instrumented either; nor the interposed libc functions, which TSan's own start-up calls
# (sigaction, mmap) before its per-thread state exists, nor what they call there: the
# program-memory copies of host/uaccess.c (raw process_vm_readv/writev, which TSan cannot
# see into anyway).
ifeq ($(TSAN),1)
HOST_TRAP_SRCS += host/thread.c host/interpose.c host/uaccess.c
endif

# lib/: code over cpu/ that the preload, the CLI and the tests share (image layouts, signing,
# SIGSTRUCT files, the host's XSAVE features); lib/encl_loader.c, the enclave loader of the
# demo, samples, benchmarks and tests, stays out of the core library.
LOADER_SRC := lib/encl_loader.c
CORE_SRCS := $(wildcard cpu/*.c driver/*.c util/*.c) $(filter-out $(LOADER_SRC),$(wildcard lib/*.c))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
HOST_SRCS := $(wildcard host/*.c)
HOST_ASM := $(wildcard host/*.S)
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/obj/%.o) $(HOST_ASM:%.S=$(BUILD)/obj/%.o)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)

VDSO_SRCS := $(wildcard host/vdso/*.S)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/obj/%.o) $(LOADER_SRC:%.c=$(BUILD)/obj/%.o)
INTEG_SRCS := $(wildcard tests/integ/*.c)
INTEG_BINS := $(INTEG_SRCS:tests/integ/%.c=$(BUILD)/tests/integ/%)

# Installation (make install PREFIX=... DESTDIR=...; see scripts/install.sh). The CLI is built
# knowing where the preload and the cpuid.h shim go, absolute and relative to BINDIR, so that an
# installed tree still works when moved.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SHIMDIR ?= $(INCLUDEDIR)/sgxemu/shim
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

# VERSION, plus the commit in a git checkout.
SGXEMU_VERSION := $(shell cat VERSION)$(shell git rev-parse --short HEAD 2>/dev/null | sed 's/^/+g/')

.PHONY: all test unit integ conformance compat bench clean demo san-test tsan-test install FORCE
all: $(BUILD)/sgxemu $(BUILD)/libsgxemu.so $(BUILD)/libsgxemu-boot.so $(BUILD)/shim/cpuid.h \
	$(BUILD)/man/sgxemu.1 $(BUILD)/completion/sgxemu $(BUILD)/sgxemu-gdb.py

# Generated headers, rewritten only when their text changes (so that a changed PREFIX or
# version rebuilds what uses them, and nothing else does).
GEN := $(BUILD)/gen
define gen_header
	@mkdir -p $(GEN)
	@printf '%b' $(2) >$(1).tmp
	@if cmp -s $(1).tmp $(1); then rm -f $(1).tmp; else mv $(1).tmp $(1); fi
endef
$(GEN)/sgxemu_version.h: FORCE
	$(call gen_header,$@,'#define SGXEMU_VERSION "$(SGXEMU_VERSION)"\n')
$(GEN)/sgxemu_paths.h: FORCE
	$(call gen_header,$@,'#define SGXEMU_LIBDIR "$(LIBDIR)"\n#define SGXEMU_SHIMDIR "$(SHIMDIR)"\n#define SGXEMU_LIBDIR_FROM_BINDIR "$(shell realpath -m --relative-to=$(BINDIR) $(LIBDIR))"\n#define SGXEMU_SHIMDIR_FROM_BINDIR "$(shell realpath -m --relative-to=$(BINDIR) $(SHIMDIR))"\n#define SGXEMU_DATADIR "$(DATADIR)/sgxemu"\n#define SGXEMU_DATADIR_FROM_BINDIR "$(shell realpath -m --relative-to=$(BINDIR) $(DATADIR)/sgxemu)"\n')
$(TOOL_OBJS): $(GEN)/sgxemu_version.h $(GEN)/sgxemu_paths.h
$(TOOL_OBJS): CFLAGS += -I$(GEN)
# The trace file's header names the version.
$(BUILD)/obj/host/tracer.o: $(GEN)/sgxemu_version.h
$(BUILD)/obj/host/tracer.o: CFLAGS += -I$(GEN)
FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -MMD -MP -c $< -o $@

# Trap-path objects: no stack protector, no sanitizers.
$(HOST_TRAP_SRCS:%.c=$(BUILD)/obj/%.o): $(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

# Code that may run while ld.so relocates the preload, before TLS is certain to be usable
# (host/vdso_early.c): no stack protector. Nor ThreadSanitizer's instrumentation: it needs
# the runtime's thread state, which does not exist yet (every program crashed in the IFUNC
# resolver).
EARLY_SRCS := host/vdso.c host/auxv.c host/vdso_early.c
EARLY_CFLAGS := $(CFLAGS) -fno-stack-protector
ifeq ($(TSAN),1)
EARLY_CFLAGS := $(CFLAGS_BASE) -fno-stack-protector $(EXTRA_CFLAGS)
endif
$(EARLY_SRCS:%.c=$(BUILD)/obj/%.o): $(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EARLY_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsgxemu_core.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The vDSO image: a tiny shared object with DT_HASH and DT_GNU_HASH, embedded into the preload.
$(BUILD)/vdso.so: $(VDSO_SRCS) host/vdso/vdso.lds host/vdso/vdso_data.h
	@mkdir -p $(dir $@)
	$(CC) -I. -nostdlib -shared -fPIC -Wl,--hash-style=both -Wl,-T,host/vdso/vdso.lds \
		-Wl,--build-id=none -Wl,-z,noexecstack -Wl,-soname=linux-vdso.so.1 -o $@ $(VDSO_SRCS)
$(BUILD)/obj/host/vdso_blob.o: $(BUILD)/vdso.so
$(BUILD)/obj/host/vdso_blob.o: CFLAGS_BASE += -DVDSO_IMAGE_PATH='"$(BUILD)/vdso.so"'

$(BUILD)/libsgxemu.so: $(HOST_OBJS) $(BUILD)/libsgxemu_core.a
	$(CC) -shared $(SANFLAGS) -o $@ $(HOST_OBJS) -Wl,--whole-archive $(BUILD)/libsgxemu_core.a \
		-Wl,--no-whole-archive -Wl,-z,noexecstack -Wl,-z,now $(LDLIBS) -lcapstone -ldl

# The boot shim (host/boot/): an LD_AUDIT module without libc, loaded before anything else in
# images that inherit the seccomp filter.
$(BUILD)/libsgxemu-boot.so: host/boot/boot.c host/gate.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -ffreestanding -fno-stack-protector \
		-D_GNU_SOURCE -I. -nostdlib -shared -Wl,-z,noexecstack -Wl,--hash-style=both \
		-o $@ $<

$(BUILD)/sgxemu: $(TOOL_OBJS) $(BUILD)/libsgxemu_core.a
	$(CC) $(SANFLAGS) -o $@ $(TOOL_OBJS) $(BUILD)/libsgxemu_core.a $(LDLIBS)

$(BUILD)/shim/cpuid.h: tools/shim/cpuid.h
	@mkdir -p $(dir $@)
	cp $< $@

# The manual page and the bash completion come from the CLI's own description (tools/help.c),
# as its --help text does.
$(BUILD)/man/sgxemu.1: $(BUILD)/sgxemu
	@mkdir -p $(dir $@)
	$< --man >$@.tmp && mv $@.tmp $@
$(BUILD)/completion/sgxemu: $(BUILD)/sgxemu
	@mkdir -p $(dir $@)
	$< --bash-completion >$@.tmp && mv $@.tmp $@
# The gdb script of sgxemu gdb, beside sgxemu in the build tree (DATADIR/sgxemu installed).
$(BUILD)/sgxemu-gdb.py: scripts/sgxemu-gdb.py
	@mkdir -p $(dir $@)
	cp $< $@

install: all
	scripts/install.sh $(BUILD) "$(DESTDIR)" "$(PREFIX)" "$(BINDIR)" "$(LIBDIR)" \
		"$(INCLUDEDIR)" "$(MANDIR)" "$(SHIMDIR)" "$(BASHCOMPDIR)" "$(PKGCONFIGDIR)" \
		"$(SGXEMU_VERSION)" "$(DATADIR)"

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libsgxemu_core.a $(TESTLIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a -lcmocka $(LDLIBS)

$(BUILD)/tests/integ/%: tests/integ/%.c $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a -lcmocka $(LDLIBS)

-include tests/unit/vdso.mk
-include tests/unit/cpuinfo.mk
-include demo/demo.mk
-include samples/attest/attest.mk
-include tests/integ/integ.mk
-include tests/cli/cli.mk
-include bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/stress/stress.mk

unit: $(UNIT_BINS)
integ: all $(INTEG_BINS)

test: all unit integ
	tests/run.sh $(BUILD)

conformance: all
	conformance/run.sh $(BUILD)
	conformance/run-vdso.sh $(BUILD)

# Real SGX software, never part of make test: Gramine's PAL regression suite, built from
# GRAMINE_SRC (outside this repository; unset: reported skipped). See README, "Compatibility".
compat: all
	compat/gramine.sh $(BUILD)

san-test:
	$(MAKE) SAN=1 all unit integ
	tests/run.sh build-san --no-conformance

# ThreadSanitizer over the unit tests and the integration tests (every integration test is
# threaded: the emulator's reclaimer runs beside the program's threads), and a short run of
# the stress program. tests/tsan/run.sh says how the preload and TSan are made to agree.
tsan-test:
	$(MAKE) TSAN=1 all unit integ
	tests/tsan/run.sh build-tsan

clean:
	rm -rf build build-san build-fuzz build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
