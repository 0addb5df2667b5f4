# make bench: measurements, never part of make test. Each program runs under sgxemu run and
# prints medians; the host's floors are measured in the same run.
BENCH_BINS := $(BUILD)/bench/bench_trap $(BUILD)/bench/bench_edmm $(BUILD)/bench/bench_paging \
	$(BUILD)/bench/bench_large

$(BUILD)/bench/%: bench/%.c $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a -lcmocka $(LDLIBS)
$(BENCH_BINS): bench/bench.h

.PHONY: bench
bench: all integ $(BENCH_BINS)
	@echo "== $$(nproc) CPUs, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY)
	SGXEMU_NO_DIRECT_EENTER=1 $(BUILD)/sgxemu run -- $(BUILD)/bench/bench_trap $(TEST_ENCL) $(TEST_KEY) | grep ecall
	$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_edmm $(TEST_ENCL) $(TEST_KEY)
	$(BUILD)/sgxemu run --epc-size 16M -- $(BUILD)/bench/bench_paging $(TEST_ENCL) $(TEST_KEY)
	$(BUILD)/sgxemu run -- $(BUILD)/bench/bench_large $(TEST_ENCL) $(TEST_KEY)
