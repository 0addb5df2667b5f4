/* The CPUID values of the emulated SGX CPU. */
#ifndef SGXEMU_CPU_CPUID_H
#define SGXEMU_CPU_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct cpu_features {
	bool sgx2;
	uint64_t epc_base;   /* emulated physical address of the single EPC section */
	uint64_t epc_size;
	uint32_t miscselect; /* supported MISCSELECT (CPUID.12.0:EBX) */
	uint64_t attributes; /* settable ATTRIBUTES.FLAGS (CPUID.12.1:EBX:EAX) */
	uint64_t xfrm;       /* settable XFRM (CPUID.12.1:EDX:ECX) */
};

/* Defaults for an emulated CPU with the given EPC size. */
void cpu_features_default(struct cpu_features *f, uint64_t epc_size, bool sgx2);

/* Adjust real CPUID output regs[4] = {eax, ebx, ecx, edx} for (leaf, subleaf) so that it
 * reports SGX as described by f. Returns true if the leaf is one SGX changes. */
bool cpu_cpuid_adjust(const struct cpu_features *f, uint32_t leaf, uint32_t subleaf,
		      uint32_t regs[4]);

#endif
