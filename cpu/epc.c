/* The EPC and its EPCM. */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/fault.h"
#include "cpu/measure.h"

int cpu_init(struct sgx_cpu *cpu, uint8_t *epc, uint64_t epc_pages, const struct cpu_features *f)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->epcm = calloc(epc_pages, sizeof(*cpu->epcm));
	if (!cpu->epcm)
		return -1;
	cpu->epc = epc;
	cpu->epc_pages = epc_pages;
	cpu->feat = *f;
	atomic_init(&cpu->next_eid, 1);
	return 0;
}

void cpu_fini(struct sgx_cpu *cpu)
{
	for (uint64_t i = 0; cpu->epcm && i < cpu->epc_pages; i++) {
		if (cpu->epcm[i].meta)
			measure_free(cpu->epcm[i].meta->mr);
		free(cpu->epcm[i].meta);
	}
	free(cpu->epcm);
	cpu->epcm = NULL;
	while (cpu->parked) {
		struct secs_meta *m = cpu->parked;

		cpu->parked = m->parked_next;
		measure_free(m->mr);
		free(m);
	}
}

long epc_index(const struct sgx_cpu *cpu, const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)cpu->epc;

	if (a < b || a >= b + cpu->epc_pages * SGX_PAGE_SIZE)
		return -1;
	return (long)((a - b) / SGX_PAGE_SIZE);
}

uint32_t epcm_check_access(const struct sgx_cpu *cpu, const struct cpu_lp *lp, uint32_t idx,
			   uint64_t la, unsigned access)
{
	const struct epcm_entry *e = &cpu->epcm[idx];
	uint32_t err = X86_PF_SGX | X86_PF_P | X86_PF_U;

	if (access & ACCESS_W)
		err |= X86_PF_W;
	if (access & ACCESS_X)
		err |= X86_PF_I;
	if (!e->valid || e->type != SGX_PT_REG || e->secs != lp->secs ||
	    e->linaddr != (la & SGX_PAGE_MASK) ||
	    (e->flags & (EPCM_PENDING | EPCM_MODIFIED | EPCM_BLOCKED)))
		return err;
	if ((access & ACCESS_R) && !(e->perm & SGX_SECINFO_R))
		return err;
	if ((access & ACCESS_W) && !(e->perm & SGX_SECINFO_W))
		return err;
	if ((access & ACCESS_X) && !(e->perm & SGX_SECINFO_X))
		return err;
	return 0;
}

void *cpu_enclave_ptr(struct sgx_cpu *cpu, const struct cpu_lp *lp, uint64_t la, uint64_t size,
		      unsigned access, struct cpu_fault *f)
{
	uint32_t idx = 0, err;

	if (la < lp->base || la - lp->base >= lp->size ||
	    ((la & (SGX_PAGE_SIZE - 1)) + size > SGX_PAGE_SIZE)) {
		cpu_gp(f);
		return NULL;
	}
	err = cpu->mmu.translate(cpu->mmu.ctx, la, access & ACCESS_W, &idx);
	if (err) {
		cpu_pf(f, la, err);
		return NULL;
	}
	err = epcm_check_access(cpu, lp, idx, la, access);
	if (err) {
		cpu_pf(f, la, err);
		return NULL;
	}
	return epc_page(cpu, idx) + (la & (SGX_PAGE_SIZE - 1));
}
