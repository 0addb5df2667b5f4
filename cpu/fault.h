/* Helpers the leaves share: raising #GP/#PF as values, operand alignment and form checks. */
#ifndef SGXEMU_CPU_FAULT_H
#define SGXEMU_CPU_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

static inline long cpu_gp(struct cpu_fault *f)
{
	f->vector = X86_GP;
	f->errcode = 0;
	f->addr = 0;
	return CPU_FAULT;
}

static inline long cpu_pf(struct cpu_fault *f, uint64_t addr, uint32_t err)
{
	f->vector = X86_PF;
	f->errcode = err;
	f->addr = addr;
	return CPU_FAULT;
}

static inline bool cpu_aligned(uint64_t v, uint64_t a)
{
	return (v & (a - 1)) == 0;
}

/* The operand prologue of the ENCLS leaves: an EPC operand must be aligned (#GP) and in the
 * EPC (#PF). Its EPC index, or -1 with *f set. */
static inline long encls_epc_operand(const struct sgx_cpu *cpu, const void *p, uint64_t align,
				     struct cpu_fault *f)
{
	long idx;

	if (!cpu_aligned((uintptr_t)p, align))
		return cpu_gp(f), -1;
	idx = epc_index(cpu, p);
	if (idx < 0)
		cpu_pf(f, (uintptr_t)p, X86_PF_P);
	return idx;
}

static inline bool cpu_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* TCS.FLAGS bits that must be zero: all but DBGOPTIN, and AEXNOTIFY where the CPU has it. */
static inline uint64_t cpu_tcs_flags_reserved(const struct sgx_cpu *cpu)
{
	return ~(SGX_TCS_FLAGS_DBGOPTIN |
		 ((cpu->feat.attributes & SGX_ATTR_AEXNOTIFY) ? SGX_TCS_FLAGS_AEXNOTIFY : 0));
}

static inline bool cpu_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

#endif
