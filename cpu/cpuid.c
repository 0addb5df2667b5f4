#include "cpu/cpuid.h"

#include "cpu/arch.h"

/* Where the emulated EPC section claims to sit in physical memory. Any page-aligned value
 * works; software only uses it to tell sections apart. */
#define EMU_EPC_PHYS_BASE 0x4000000000ULL

void cpu_features_default(struct cpu_features *f, uint64_t epc_size, bool sgx2)
{
	f->sgx2 = sgx2;
	f->epc_base = EMU_EPC_PHYS_BASE;
	f->epc_size = epc_size;
	f->miscselect = SGX_MISC_EXINFO;
	/* DEBUG, MODE64BIT, PROVISIONKEY, EINITTOKENKEY, KSS, AEXNOTIFY: a recent server part. */
	f->attributes = SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY |
			SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY;
	/* x87 and SSE only: the SSA XSAVE area we write is the legacy 512 bytes + header. */
	f->xfrm = 0x3;
}

bool cpu_cpuid_adjust(const struct cpu_features *f, uint32_t leaf, uint32_t subleaf,
		      uint32_t regs[4])
{
	switch (leaf) {
	case 0x0:
		if (regs[0] < 0x12)
			regs[0] = 0x12;
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
			regs[1] = f->miscselect;
			regs[3] = (36U << 8) | 31U; /* MaxEnclaveSize: 2^36 (64-bit), 2^31 */
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
