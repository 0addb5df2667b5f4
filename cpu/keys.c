/* Placeholder until the key hierarchy lands (issue 5): both leaves are unsupported. */
#include "cpu/keys.h"

long enclu_ereport(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *regs,
		   struct cpu_fault *f)
{
	(void)cpu; (void)lp; (void)regs;
	f->vector = X86_GP; f->errcode = 0; f->addr = 0;
	return CPU_FAULT;
}

long enclu_egetkey(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *regs,
		   struct cpu_fault *f)
{
	return enclu_ereport(cpu, lp, regs, f);
}
