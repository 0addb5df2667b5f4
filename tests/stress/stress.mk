# The stress program (tests/stress/stress.c): built with the integration tests (it uses the
# test enclave in $(BUILD)/tests/encl/ and the loader), run by `make stress` or .ci/run, not
# by `make test` (it runs for a set time). Included from the Makefile.

STRESS_BIN := $(BUILD)/tests/stress/stress
STRESS_SECONDS ?= 60
STRESS_OPS ?= default
STRESS_THREADS ?= 4

$(STRESS_BIN): tests/stress/stress.c tests/integ/encl/test_encl.h lib/encl_loader.h \
		$(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(TESTLIB_OBJS) $(BUILD)/libsgxemu_core.a $(LDLIBS)

integ: $(STRESS_BIN)

.PHONY: stress
stress: all integ
	tests/stress/run.sh $(BUILD) $(STRESS_SECONDS) $(STRESS_OPS) $(STRESS_THREADS)
