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
