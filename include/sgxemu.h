/* sgxemu.h: what programs that embed the emulator can call in libsgxemu.so.
 *
 * A VMM gives its guests EPC the Linux way: it opens /dev/sgx_vepc (read/write) and maps it
 * MAP_SHARED; file offset / 4096 is the page index, pages are allocated on first touch and
 * count against the emulated EPC. A guest's ENCLS trap to the VMM; under sgxemu there is no
 * hardware to pass them to, so the VMM calls sgxemu_encls() with the registers the guest
 * loaded. Guest linear addresses are the VMM's own addresses: EPC operands (RCX, and the SECS
 * in a PAGEINFO) are addresses inside the VMM's vEPC mappings, and an enclave built that way
 * has ELRANGE inside a vEPC mapping, its pages added at the addresses where they are mapped.
 * Such an enclave is entered like any other (ENCLU[EENTER] or __vdso_sgx_enter_enclave with
 * the TCS's vEPC address); map the vEPC with PROT_READ|PROT_WRITE|PROT_EXEC when guest
 * enclaves run code from it (the host protection of each page is further cut to its EPCM
 * permissions).
 *
 * Programs started with `sgxemu run` get the library preloaded without linking it; they can
 * find these functions with dlsym(RTLD_DEFAULT, "sgxemu_encls") and so on. All functions are
 * thread-safe. */
#ifndef SGXEMU_H
#define SGXEMU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A fault an ENCLS leaf raised: vector 13 (#GP, error code 0) or 14 (#PF, with the error
 * code bits and the faulting address, the SGX bit 0x8000 set for EPCM conflicts). */
struct sgxemu_fault {
	uint8_t vector;
	uint32_t error_code;
	uint64_t address;
};

#define SGXEMU_ENCLS_FAULT       (-1L) /* *fault says what the leaf raised */
#define SGXEMU_ENCLS_UNAVAILABLE (-2L) /* SGX emulation is not active in this process */

/* Execute ENCLS leaf (EAX) with RBX, RCX, RDX as a guest loaded them. Leaves: ECREATE 0,
 * EADD 1, EINIT 2, EREMOVE 3, EEXTEND 6 and, with SGX2, EAUG 0xD, EMODPR 0xE, EMODT 0xF,
 * ETRACK 0xC; any other leaf is a #GP. Returns the SGX status code the leaf leaves in RAX
 * (0 on success; EINIT's codes are returned raw, e.g. 16 SGX_INVALID_EINITTOKEN, as KVM hands
 * them to a guest), SGXEMU_ENCLS_FAULT, or SGXEMU_ENCLS_UNAVAILABLE.
 * ECREATE is checked as KVM checks it: MISCSELECT, ATTRIBUTES and XFRM within the guest's
 * CPUID leaf 0x12 (sgxemu_guest_set_cpuid), PROVISIONKEY only when allowed
 * (sgxemu_guest_allow_attribute), SIZE below 2^MaxEnclaveSize_64; a #GP otherwise. */
long sgxemu_encls(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx,
		  struct sgxemu_fault *fault);

/* The guest's CPUID leaf 0x12 (sub-leaves 0 and 1). Until set, the emulated CPU's values.
 * 0, or -EINVAL if it claims more than the emulated CPU supports. */
struct sgxemu_guest_cpuid {
	uint32_t miscselect;          /* CPUID.(12h,0):EBX */
	uint64_t attributes;          /* CPUID.(12h,1):EBX:EAX */
	uint64_t xfrm;                /* CPUID.(12h,1):EDX:ECX */
	uint8_t max_enclave_size_64;  /* CPUID.(12h,0):EDX[15:8] */
};
int sgxemu_guest_set_cpuid(const struct sgxemu_guest_cpuid *cpuid);

/* KVM_CAP_SGX_ATTRIBUTE: let guests create PROVISIONKEY enclaves, proven by an open fd of
 * /dev/sgx_provision. 0, or -EINVAL if fd is not one. */
int sgxemu_guest_allow_attribute(int provision_fd);

/* The guest's IA32_SGXLEPUBKEYHASH0-3 (what a guest kernel with flexible launch control
 * writes before EINIT: SHA-256 of the signer's modulus). All zeros until set, so an EINIT
 * without a valid token fails with SGX_INVALID_EINITTOKEN until the VMM sets it. */
void sgxemu_guest_set_lepubkeyhash(const uint8_t hash[32]);

/* EPC use: pages in total, free, and held by /dev/sgx_vepc instances (never reclaimed).
 * 0, or -ENODEV when SGX emulation is not active. */
struct sgxemu_epc_info {
	uint64_t total_pages;
	uint64_t free_pages;
	uint64_t vepc_pages;
};
int sgxemu_epc_info(struct sgxemu_epc_info *info);

/* CPUID as the emulated CPU answers it (the cpuid.h shim's back end): regs = EAX..EDX.
 * 0, or -1 when SGX emulation is not active. */
int sgxemu_cpuid(unsigned int leaf, unsigned int subleaf, unsigned int regs[4]);

#ifdef __cplusplus
}
#endif

/* For debuggers (sgxemu gdb): a loader that built an enclave from an ELF file tells where it
 * lies (path NULL: "look at the enclaves again"). It does nothing itself; the debugger breaks
 * on it. Look it up with dlsym so that the program also runs without sgxemu. */
void sgxemu_gdb_enclave_loaded(const char *path, uint64_t base);

#endif
