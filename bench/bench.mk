# make bench: measurements, never part of make test. Each program runs under sgxemu run and
# prints medians; the host's floors are measured in the same run.
BENCH_BINS := $(BUILD)/bench/bench_trap $(BUILD)/bench/bench_edmm $(BUILD)/bench/bench_paging \
	$(BUILD)/bench/bench_large

$(BUILD)/bench/%: bench/%.c $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a -lcmocka $(LDLIBS)
$(BENCH_BINS): bench/bench.h

# Standalone: no code of ours with SYSCALL instructions (see the program's comment).
$(BUILD)/bench/bench_syscalls: bench/bench_syscalls.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

.PHONY: bench
bench: all integ $(BENCH_BINS) $(BUILD)/bench/bench_syscalls
	@echo "== $$(nproc) CPUs, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY)
	SGXEMU_NO_DIRECT_EENTER=1 $(BUILD)/sgxemu run -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY) | grep ecall
	$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_edmm $(TEST_ENCL) $(TEST_KEY)
	$(BUILD)/sgxemu run --epc-size 16M -- $(BUILD)/bench/bench_paging $(TEST_ENCL) $(TEST_KEY)
	$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_large $(TEST_ENCL) $(TEST_KEY)
	$(BUILD)/bench/bench_syscalls $(BUILD)/sgxemu
	@echo "== ecall round trips: tracing off; a build without trace calls; --trace-summary; --trace to /dev/null"
	for i in 1 2 3; do \
		$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY) | grep ecall | sed 's/^/trace off:     /'; \
		$(BUILD)/notrace/sgxemu run -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY) | grep ecall | sed 's/^/no trace code: /'; \
	done
	$(BUILD)/sgxemu run --trace-summary --trace-file /dev/null -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY) | grep ecall | sed 's/^/summary:       /'
	$(BUILD)/sgxemu run --trace --trace-file /dev/null -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY) | grep ecall | sed 's/^/trace all:     /'

# The emulator built without its trace calls (SGXEMU_NO_TRACE), to show what tracing costs
# when it is off.
bench: $(BUILD)/notrace/sgxemu
$(BUILD)/notrace/sgxemu: FORCE
	$(MAKE) --no-print-directory BUILD=$(BUILD)/notrace EXTRA_CFLAGS=-DSGXEMU_NO_TRACE \
		$(BUILD)/notrace/sgxemu $(BUILD)/notrace/libsgxemu.so $(BUILD)/notrace/libsgxemu-boot.so
