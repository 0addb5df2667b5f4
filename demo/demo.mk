# The demo: an enclave of our own (demo_encl.elf) and the host program that builds and calls
# it through /dev/sgx_enclave and the vDSO. `make demo`, then
#   build/sgxemu run -- build/demo/demo_host

# Enclave code: freestanding static PIE, no sanitizers (it runs in enclave mode), GPRs only
# (exits need not scrub vector registers), no loop-to-memcpy rewriting (demo/encl_libc.c is
# the memcpy).
ENCL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wmissing-prototypes -Werror -I. \
	-nostdlib -static-pie -ffreestanding -fPIE -fno-stack-protector \
	-fvisibility=hidden -fno-asynchronous-unwind-tables -mgeneral-regs-only \
	-fno-tree-loop-distribute-patterns -fcf-protection=none
ENCL_LDFLAGS := -Wl,-T,demo/encl.lds -Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,norelro
# The entry code and memcpy/memset, linked into every enclave.
ENCL_BOOT := demo/encl_entry.S demo/encl_libc.c
ENCL_DEPS := $(ENCL_BOOT) demo/encl.lds demo/demo.mk

DEMO_ENCL := $(BUILD)/demo/demo_encl.elf
DEMO_HOST := $(BUILD)/demo/demo_host
DEMO_KEY := $(BUILD)/keys/demo_key.pem
ENCL_LOADER_OBJ := $(BUILD)/obj/lib/encl_loader.o

.PHONY: demo
# With the emulator, so that `make demo` is all the demo needs.
demo: all $(DEMO_ENCL) $(DEMO_HOST) $(DEMO_KEY)

$(DEMO_ENCL): demo/demo_encl.c demo/demo_encl.h $(ENCL_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(ENCL_CFLAGS) -o $@ demo/demo_encl.c $(ENCL_BOOT) $(ENCL_LDFLAGS)

$(DEMO_HOST): demo/demo_host.c demo/demo_encl.h lib/encl_loader.h $(ENCL_LOADER_OBJ) \
		$(BUILD)/libsgxemu_core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ demo/demo_host.c $(ENCL_LOADER_OBJ) $(BUILD)/libsgxemu_core.a $(LDLIBS)

# RSA-3072 with e = 3, the only kind of key SIGSTRUCT takes. Generated once per build tree.
$(DEMO_KEY):
	@mkdir -p $(dir $@)
	openssl genrsa -3 -out $@ 3072 2>/dev/null
	@chmod 600 $@
