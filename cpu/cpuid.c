#include "cpu/cpuid.h"

#include "cpu/arch.h"

/* Where the emulated EPC section claims to sit in physical memory. Any page-aligned value
 * works; software only uses it to tell sections apart. */
#define EMU_EPC_PHYS_BASE 0x4000000000ULL

void cpu_features_default(struct cpu_features *f, uint64_t epc_size, bool sgx2)
{
	*f = (struct cpu_features){ 0 };
	f->sgx2 = sgx2;
	f->epc_base = EMU_EPC_PHYS_BASE;
	f->epc_size = epc_size;
	f->miscselect = SGX_MISC_EXINFO;
	/* DEBUG, MODE64BIT, PROVISIONKEY, EINITTOKENKEY; a recent (SGX2) server part adds KSS
	 * and AEXNOTIFY. The SGX1-only parts (Skylake to Coffee Lake clients, 12.1.EAX = 0x36)
	 * had neither. */
	f->attributes = SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY |
			SGX_ATTR_EINITTOKENKEY;
	if (sgx2)
		f->attributes |= SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY;
	f->xfrm = XFEATURE_MASK_FPSSE;
	f->intel_vendor = true;
}

uint32_t cpu_xsave_size(const struct cpu_xsave_layout *l, uint64_t xfrm)
{
	uint32_t size = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;

	for (unsigned i = XFEATURE_AVX; i < 64; i++) {
		if (!(xfrm & (1ULL << i)))
			continue;
		if (i >= XFEATURE_MAX || !l->size[i])
			return 0;
		if (l->offset[i] + l->size[i] > size)
			size = l->offset[i] + l->size[i];
	}
	return size;
}

bool cpu_xfrm_legal(uint64_t xfrm)
{
	uint64_t avx512 = xfrm & XFEATURE_MASK_AVX512;

	if (!(xfrm & (1ULL << XFEATURE_X87)))
		return false;
	if ((xfrm & (1ULL << XFEATURE_AVX)) && !(xfrm & (1ULL << XFEATURE_SSE)))
		return false;
	if (avx512 && (avx512 != XFEATURE_MASK_AVX512 || !(xfrm & (1ULL << XFEATURE_AVX))))
		return false;
	if ((xfrm & XFEATURE_MASK_MPX) && (xfrm & XFEATURE_MASK_MPX) != XFEATURE_MASK_MPX)
		return false;
	if ((xfrm & XFEATURE_MASK_AMX) && (xfrm & XFEATURE_MASK_AMX) != XFEATURE_MASK_AMX)
		return false;
	return true;
}

bool cpu_cpuid_adjust(const struct cpu_features *f, uint32_t leaf, uint32_t subleaf,
		      uint32_t regs[4])
{
	switch (leaf) {
	case 0x0:
		if (regs[0] < 0x12)
			regs[0] = 0x12;
		if (f->intel_vendor) {
			regs[1] = 0x756e6547; /* "Genu" */
			regs[3] = 0x49656e69; /* "ineI" */
			regs[2] = 0x6c65746e; /* "ntel" */
		}
		return true;
	case 0x7:
		if (subleaf != 0)
			return false;
		regs[1] |= 1U << 2;   /* EBX.SGX */
		regs[2] |= 1U << 30;  /* ECX.SGX_LC: flexible launch control */
		return true;
	case 0x12:
		regs[0] = regs[1] = regs[2] = regs[3] = 0;
		if (subleaf == 0) {
			regs[0] = 0x1 | (f->sgx2 ? 0x2 : 0);
			/* EDECCSSA comes with AEX-Notify. */
			if (f->attributes & SGX_ATTR_AEXNOTIFY)
				regs[0] |= 1U << 11;
			regs[1] = f->miscselect;
			regs[3] = (CPU_MAX_ENCLAVE_SIZE_64_LOG2 << 8) | CPU_MAX_ENCLAVE_SIZE_32_LOG2;
		} else if (subleaf == 1) {
			regs[0] = (uint32_t)f->attributes;
			regs[1] = (uint32_t)(f->attributes >> 32);
			regs[2] = (uint32_t)f->xfrm;
			regs[3] = (uint32_t)(f->xfrm >> 32);
		} else if (subleaf == 2) {
			regs[0] = (uint32_t)(f->epc_base & 0xFFFFF000U) | 0x1;
			regs[1] = (uint32_t)(f->epc_base >> 32) & 0xFFFFF;
			regs[2] = (uint32_t)(f->epc_size & 0xFFFFF000U) | 0x1;
			regs[3] = (uint32_t)(f->epc_size >> 32) & 0xFFFFF;
		}
		return true;
	default:
		return false;
	}
}
