/* The key hierarchy: EREPORT and EGETKEY (SDM Vol. 3D 38.x), from a per-platform root secret. */
#ifndef SGXEMU_CPU_KEYS_H
#define SGXEMU_CPU_KEYS_H

#include "cpu/cpu.h"

/* ENCLU[EREPORT] and ENCLU[EGETKEY] for a thread in enclave mode. They take their operands
 * from regs (RBX, RCX, RDX) as the SDM says, write status codes into regs->rax and ZF, and
 * return 0, or CPU_FAULT with *f set. */
long enclu_ereport(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *regs,
		   struct cpu_fault *f);
long enclu_egetkey(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *regs,
		   struct cpu_fault *f);

#endif
