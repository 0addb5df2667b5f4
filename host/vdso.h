/* Our vDSO image: a small ELF shared object that provides __vdso_sgx_enter_enclave with the
 * kernel's ABI. getauxval(AT_SYSINFO_EHDR) hands it to the program. */
#ifndef SGXEMU_HOST_VDSO_H
#define SGXEMU_HOST_VDSO_H

#include <stddef.h>
#include <stdint.h>

/* Map a private executable copy of the embedded image. Not async-signal-safe; call once at
 * preload start. direct_entry (may be NULL) is called by __vdso_sgx_enter_enclave in place
 * of its ENCLU, with the ENCLU's registers and a return address to the ENCLU on the stack.
 * Returns 0 or -1. */
int vdso_init(void (*direct_entry)(void));
/* Start of the mapped image (what getauxval(AT_SYSINFO_EHDR) returns), or 0 before init. */
uintptr_t vdso_base(void);
/* Address of the ENCLU instruction inside __vdso_sgx_enter_enclave (it is also the AEP). */
uintptr_t vdso_enclu_ip(void);
/* Address of the exception label: entered with EAX = leaf, RDI = vector, RSI = error code,
 * RDX = fault address, as the kernel's fixup enters the real vDSO. */
uintptr_t vdso_fixup_ip(void);

/* The embedded image itself (read-only, not mapped for execution) and its size in bytes. */
const unsigned char *vdso_image(size_t *size);
/* Find a dynamic symbol of an ELF64 image linked at 0 (d_ptr values are offsets from the
 * start) through its DT_HASH table, the way the kernel's SGX selftest looks up the vDSO.
 * Every access is checked against size, so any buffer may be passed. Returns 0 and the
 * symbol's st_value, or -1 when the image is malformed or the name is not defined. */
int vdso_image_lookup(const void *image, size_t size, const char *name, uint64_t *value);

#endif
