/* The CPUID values of the emulated SGX CPU. */
#ifndef SGXEMU_CPU_CPUID_H
#define SGXEMU_CPU_CPUID_H

#include <stdbool.h>
#include <stdint.h>

/* MaxEnclaveSize_64 (CPUID.12.0:EDX[15:8]): ECREATE takes SECS.SIZE < 2^this. A server
 * part's: the largest naturally aligned ELRANGE below it (2^46) fits the lower half of a
 * 48-bit address space, where Linux puts user mappings. Clients report 2^36. Every other
 * limit on 64-bit enclave sizes derives from this one. */
#define CPU_MAX_ENCLAVE_SIZE_64_LOG2 47
/* MaxEnclaveSize_Not64 (CPUID.12.0:EDX[7:0]). */
#define CPU_MAX_ENCLAVE_SIZE_32_LOG2 31

/* XSAVE state components (XCR0 bits) by number. */
enum {
	XFEATURE_X87 = 0, XFEATURE_SSE = 1, XFEATURE_AVX = 2, XFEATURE_BNDREGS = 3,
	XFEATURE_BNDCSR = 4, XFEATURE_OPMASK = 5, XFEATURE_ZMM_HI256 = 6, XFEATURE_HI16_ZMM = 7,
	XFEATURE_PKRU = 9, XFEATURE_XTILECFG = 17, XFEATURE_XTILEDATA = 18,
	XFEATURE_MAX = 19,
};
#define XFEATURE_MASK_FPSSE 0x3ULL
#define XFEATURE_MASK_AVX512 (7ULL << XFEATURE_OPMASK)
#define XFEATURE_MASK_MPX (3ULL << XFEATURE_BNDREGS)
#define XFEATURE_MASK_AMX (3ULL << XFEATURE_XTILECFG)
/* The components the emulator saves and restores at AEX/ERESUME: user components whose state
 * is in the signal frame the kernel builds. AMX is left out: Linux gives a thread AMX state
 * only after arch_prctl(ARCH_REQ_XCOMP_PERM), which we do not manage. */
#define CPU_XFRM_HANDLED (XFEATURE_MASK_FPSSE | (1ULL << XFEATURE_AVX) | XFEATURE_MASK_MPX | \
			  XFEATURE_MASK_AVX512 | (1ULL << XFEATURE_PKRU))

/* The standard (non-compacted) XSAVE format: legacy region, 64-byte header, then component i
 * at offset[i] with size[i] (CPUID.(0Dh,i):EBX and EAX; zero for 0, 1 and absent ones). */
#define XSAVE_LEGACY_SIZE 512U
#define XSAVE_HEADER_SIZE 64U
struct cpu_xsave_layout {
	uint32_t offset[XFEATURE_MAX];
	uint32_t size[XFEATURE_MAX];
};

struct cpu_features {
	bool sgx2;
	uint64_t epc_base;   /* emulated physical address of the single EPC section */
	uint64_t epc_size;
	uint32_t miscselect; /* supported MISCSELECT (CPUID.12.0:EBX) */
	uint64_t attributes; /* settable ATTRIBUTES.FLAGS (CPUID.12.1:EBX:EAX) */
	uint64_t xfrm;       /* settable XFRM (CPUID.12.1:EDX:ECX) */
	struct cpu_xsave_layout xsave; /* where the XFRM components live in an XSAVE area */
	/* CPUID leaf 0 says GenuineIntel (SGX exists only on Intel CPUs, and SGX software
	 * checks); false keeps the host's vendor. */
	bool intel_vendor;
};

/* Defaults for an emulated CPU with the given EPC size: XFRM x87|SSE until the host's XSAVE
 * features are filled in (lib/xstate.h). */
void cpu_features_default(struct cpu_features *f, uint64_t epc_size, bool sgx2);

/* Size of the standard-format XSAVE area holding the components in xfrm (legacy region and
 * header included), per layout l; 0 if xfrm has a component l does not describe. */
uint32_t cpu_xsave_size(const struct cpu_xsave_layout *l, uint64_t xfrm);

/* Whether xfrm is a value XSETBV would accept for XCR0 (x87 set, AVX needs SSE, MPX and AMX
 * components in pairs, AVX-512 all three and AVX). */
bool cpu_xfrm_legal(uint64_t xfrm);

/* Adjust real CPUID output regs[4] = {eax, ebx, ecx, edx} for (leaf, subleaf) so that it
 * reports SGX as described by f. Returns true if the leaf is one SGX changes. */
bool cpu_cpuid_adjust(const struct cpu_features *f, uint32_t leaf, uint32_t subleaf,
		      uint32_t regs[4]);

#endif
