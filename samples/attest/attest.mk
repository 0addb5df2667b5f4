# The attestation sample (samples/attest): an enclave that does local attestation and sealing,
# and the host program that shows it; tests/integ/test_attest.c drives both. `make samples`,
# then
#   build/sgxemu run -- build/samples/attest/attest_host
# Include after demo/demo.mk: it uses ENCL_CFLAGS, ENCL_LDFLAGS, ENCL_BOOT and ENCL_DEPS.

ATTEST_DIR := $(BUILD)/samples/attest
ATTEST_ENCL := $(ATTEST_DIR)/attest_encl.elf
ATTEST_HOST := $(ATTEST_DIR)/attest_host
ATTEST_KEY := $(ATTEST_DIR)/attest_key.pem
ENCL_LOADER_OBJ ?= $(BUILD)/obj/lib/encl_loader.o

.PHONY: samples
samples: $(ATTEST_ENCL) $(ATTEST_HOST) $(ATTEST_KEY)
integ: samples

$(ATTEST_ENCL): samples/attest/attest_encl.c samples/attest/attest_encl.h cpu/arch.h \
		$(ENCL_DEPS) samples/attest/attest.mk
	@mkdir -p $(dir $@)
	$(CC) $(ENCL_CFLAGS) -o $@ samples/attest/attest_encl.c $(ENCL_BOOT) $(ENCL_LDFLAGS)

$(ATTEST_HOST): samples/attest/attest_host.c samples/attest/attest_encl.h \
		lib/encl_loader.h $(ENCL_LOADER_OBJ) $(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ samples/attest/attest_host.c $(ENCL_LOADER_OBJ) \
		$(BUILD)/libsgxemu_core.a $(LDLIBS)

# RSA-3072 with e = 3, made once per build tree: sealed data stays openable across runs.
$(ATTEST_KEY):
	@mkdir -p $(dir $@)
	openssl genrsa -3 -out $@ 3072 2>/dev/null
	@chmod 600 $@

# The integration test runs the sample's programs.
$(BUILD)/tests/integ/test_attest: $(ATTEST_ENCL) $(ATTEST_HOST) $(ATTEST_KEY) \
	samples/attest/attest_encl.h
