/* Our vDSO image: a small ELF shared object that provides __vdso_sgx_enter_enclave with the
 * kernel's ABI. getauxval(AT_SYSINFO_EHDR) hands it to the program. */
#ifndef SGXEMU_HOST_VDSO_H
#define SGXEMU_HOST_VDSO_H

#include <stdint.h>

/* Map a private executable copy of the embedded image. Not async-signal-safe; call once at
 * preload start. Returns 0 or -1. */
int vdso_init(void);
/* Start of the mapped image (what getauxval(AT_SYSINFO_EHDR) returns), or 0 before init. */
uintptr_t vdso_base(void);
/* Address of the ENCLU instruction inside __vdso_sgx_enter_enclave (it is also the AEP). */
uintptr_t vdso_enclu_ip(void);
/* Address of the exception label: entered with EAX = leaf, RDI = vector, RSI = error code,
 * RDX = fault address, as the kernel's fixup enters the real vDSO. */
uintptr_t vdso_fixup_ip(void);

#endif
