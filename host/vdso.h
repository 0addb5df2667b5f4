/* Our vDSO image: a small ELF shared object with the symbols of the x86-64 Linux vDSO
 * (LINUX_2.6: the time functions, getcpu, getrandom where the host has it, which forward to
 * the host's vDSO) and __vdso_sgx_enter_enclave with the kernel's ABI. Once mapped, the
 * process's auxv AT_SYSINFO_EHDR (on the stack, what getauxval and stack walkers read) points
 * at it. */
#ifndef SGXEMU_HOST_VDSO_H
#define SGXEMU_HOST_VDSO_H

#include <stddef.h>
#include <stdint.h>

/* Map the image (once per process; later calls return 0 at once) with its forwarders aimed
 * at the host's vDSO, and point the auxv at it. Async-signal-safe and lock-free: it may run
 * before the preload's constructor (host/vdso_early.c, the first getauxval) and in several
 * threads at once (one copy wins). Returns 0 or -1. */
int vdso_map(void);
/* Make __vdso_sgx_enter_enclave call direct_entry (NULL: nobody) in place of its ENCLU, with
 * the ENCLU's registers and a return address to the ENCLU on the stack. Needs vdso_map;
 * not for concurrent use (the constructor calls it). Returns 0 or -1. */
int vdso_set_direct(void (*direct_entry)(void));
/* vdso_map, then vdso_set_direct. */
int vdso_init(void (*direct_entry)(void));
/* The emulation is off: point the auxv back at the host's vDSO; vdso_published answers 0
 * from now on. The image stays mapped for whoever already has its address. */
void vdso_withdraw(void);
/* What AT_SYSINFO_EHDR should say: our image, mapped now if need be; 0 after vdso_withdraw
 * or if the image cannot be mapped (the host's value then stands). */
uintptr_t vdso_published(void);
/* Start of the mapped image, or 0 before vdso_map. */
uintptr_t vdso_base(void);
/* The host's vDSO the forwarders use (AT_SYSINFO_EHDR as the kernel gave it), 0 if none or
 * before vdso_map. */
uintptr_t vdso_host_base(void);
/* Address of the ENCLU instruction inside __vdso_sgx_enter_enclave (it is also the AEP). */
uintptr_t vdso_enclu_ip(void);
/* Address of the exception label: entered with EAX = leaf, RDI = vector, RSI = error code,
 * RDX = fault address, as the kernel's fixup enters the real vDSO. */
uintptr_t vdso_fixup_ip(void);

/* Map a copy of the image at a new address: [data page][image], the forwarders aimed at the
 * vDSO image mapped at host (0: none, every forwarder makes its system call), read-only and
 * executable. vdso_map uses it once; tests use it for more copies. The image's address, or 0.
 * Unmap with munmap(base - VDSO_DATA_SIZE, VDSO_DATA_SIZE + the image size page-rounded). */
uintptr_t vdso_map_copy(uintptr_t host);

/* The embedded image itself (read-only, not mapped for execution) and its size in bytes. */
const unsigned char *vdso_image(size_t *size);
/* Find a defined dynamic symbol of an ELF64 image linked at 0 (d_ptr values are offsets from
 * the start) through its DT_HASH table, the way the kernel's selftests look up the vDSO.
 * With a version, a symbol of another version does not match (an image without DT_VERSYM
 * and DT_VERDEF has no versions: any symbol does). Every access is checked against size,
 * so any buffer may be passed. Returns 0 and the symbol's st_value, or -1 when the image is
 * malformed or the name is not defined. */
int vdso_image_lookup(const void *image, size_t size, const char *name, uint64_t *value);
int vdso_image_lookup_version(const void *image, size_t size, const char *name,
			      const char *version, uint64_t *value);

#endif
