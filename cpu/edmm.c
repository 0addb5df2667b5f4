/* SGX2: changing an initialised enclave. ENCLS EAUG, EMODPR, EMODT, ETRACK; ENCLU EACCEPT,
 * EACCEPTCOPY, EMODPE (SDM Vol. 3D ch. 38, each leaf's Operation section). */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/fault.h"


static bool secinfo_reserved_ok(const struct sgx_secinfo *si)
{
	for (unsigned i = 0; i < sizeof(si->reserved); i++)
		if (si->reserved[i])
			return false;
	return !(si->flags & SGX_SECINFO_RESERVED_MASK);
}

static unsigned secinfo_type(const struct sgx_secinfo *si)
{
	return (unsigned)((si->flags & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT);
}

bool secs_tracking_done(const struct secs_meta *m, uint64_t bepoch)
{
	uint64_t e = atomic_load(&m->epoch);

	if (bepoch >= e)
		return false;
	/* Threads that entered in the epoch of the change may still use stale mappings. */
	return bepoch != e - 1 || atomic_load(&m->active_ep[(e - 1) & 1]) == 0;
}

long encls_eaug(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_dst, struct cpu_fault *f)
{
	struct epcm_entry *e, *s;
	const struct sgx_secs *secs;
	long idx, sidx;

	if (!cpu_aligned((uintptr_t)pi, 32))
		return cpu_gp(f);
	if ((idx = encls_epc_operand(cpu, epc_dst, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	if (!cpu_aligned(pi->secs, SGX_PAGE_SIZE) || !cpu_aligned(pi->linaddr, SGX_PAGE_SIZE) || pi->srcpge ||
	    pi->secinfo)
		return cpu_gp(f);
	if ((sidx = epc_index(cpu, (void *)(uintptr_t)pi->secs)) < 0)
		return cpu_pf(f, pi->secs, X86_PF_P);
	e = &cpu->epcm[idx];
	s = &cpu->epcm[sidx];
	if (e->valid)
		return cpu_pf(f, (uintptr_t)epc_dst, X86_PF_SGX | X86_PF_P);
	if (!s->valid || s->type != SGX_PT_SECS)
		return cpu_pf(f, pi->secs, X86_PF_SGX | X86_PF_P);
	secs = (const struct sgx_secs *)epc_page(cpu, (uint32_t)sidx);
	if (!s->meta->initialized || pi->linaddr < secs->base || pi->linaddr - secs->base >= secs->size)
		return cpu_gp(f);
	memset(epc_dst, 0, SGX_PAGE_SIZE);
	e->type = SGX_PT_REG;
	e->perm = SGX_SECINFO_R | SGX_SECINFO_W;
	e->flags = EPCM_PENDING;
	e->linaddr = pi->linaddr;
	e->secs = (uint32_t)sidx;
	e->bepoch = 0;
	e->meta = NULL;
	e->valid = 1;
	atomic_fetch_add(&s->meta->children, 1);
	return SGX_SUCCESS;
}

/* The EPC page operand of EMODPR/EMODT; NULL with *f set. */
static struct epcm_entry *modify_target(struct sgx_cpu *cpu, const struct sgx_secinfo *si,
					void *epc_pg, struct cpu_fault *f)
{
	long idx;

	if (!cpu_aligned((uintptr_t)si, 64) || !cpu_aligned((uintptr_t)epc_pg, SGX_PAGE_SIZE)) {
		cpu_gp(f);
		return NULL;
	}
	if ((idx = epc_index(cpu, epc_pg)) < 0) {
		cpu_pf(f, (uintptr_t)epc_pg, X86_PF_P);
		return NULL;
	}
	return &cpu->epcm[idx];
}

long encls_emodpr(struct sgx_cpu *cpu, const struct sgx_secinfo *si, void *epc_pg, struct cpu_fault *f)
{
	struct epcm_entry *e = modify_target(cpu, si, epc_pg, f);

	if (!e)
		return CPU_FAULT;
	if (!secinfo_reserved_ok(si) ||
	    ((si->flags & SGX_SECINFO_W) && !(si->flags & SGX_SECINFO_R)))
		return cpu_gp(f);
	if (!e->valid)
		return cpu_pf(f, (uintptr_t)epc_pg, X86_PF_SGX | X86_PF_P);
	/* Before the type check: an unaccepted TRIM page answers here, an accepted one faults,
	 * which is how the driver tells the two apart when removing pages. */
	if (e->flags & (EPCM_PENDING | EPCM_MODIFIED))
		return SGX_PAGE_NOT_MODIFIABLE;
	if (e->type != SGX_PT_REG)
		return cpu_pf(f, (uintptr_t)epc_pg, X86_PF_SGX | X86_PF_P);
	if (!cpu->epcm[e->secs].meta->initialized)
		return cpu_gp(f);
	e->perm &= (uint8_t)(si->flags & SGX_SECINFO_PERM_MASK);
	e->flags |= EPCM_PR;
	e->bepoch = atomic_load(&cpu->epcm[e->secs].meta->epoch);
	return SGX_SUCCESS;
}

long encls_emodt(struct sgx_cpu *cpu, const struct sgx_secinfo *si, void *epc_pg, struct cpu_fault *f)
{
	struct epcm_entry *e = modify_target(cpu, si, epc_pg, f);
	unsigned to;

	if (!e)
		return CPU_FAULT;
	to = secinfo_type(si);
	if (!secinfo_reserved_ok(si) || (to != SGX_PT_TCS && to != SGX_PT_TRIM))
		return cpu_gp(f);
	if (!e->valid)
		return cpu_pf(f, (uintptr_t)epc_pg, X86_PF_SGX | X86_PF_P);
	if (!((e->type == SGX_PT_REG && (to == SGX_PT_TCS || to == SGX_PT_TRIM)) ||
	      (e->type == SGX_PT_TCS && to == SGX_PT_TRIM)))
		return cpu_pf(f, (uintptr_t)epc_pg, X86_PF_SGX | X86_PF_P);
	if (e->flags & (EPCM_PENDING | EPCM_MODIFIED))
		return SGX_PAGE_NOT_MODIFIABLE;
	if (!cpu->epcm[e->secs].meta->initialized)
		return cpu_gp(f);
	e->type = (uint8_t)to;
	e->perm = 0;
	e->flags = (e->flags & ~EPCM_PR) | EPCM_MODIFIED;
	e->bepoch = atomic_load(&cpu->epcm[e->secs].meta->epoch);
	return SGX_SUCCESS;
}

long encls_etrack(struct sgx_cpu *cpu, void *secs, struct cpu_fault *f)
{
	struct secs_meta *m;
	uint64_t e;
	long idx;

	if ((idx = encls_epc_operand(cpu, secs, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	if (!cpu->epcm[idx].valid || cpu->epcm[idx].type != SGX_PT_SECS)
		return cpu_pf(f, (uintptr_t)secs, X86_PF_SGX | X86_PF_P);
	m = cpu->epcm[idx].meta;
	e = atomic_load(&m->epoch);
	if (atomic_load(&m->active_ep[(e - 1) & 1]))
		return SGX_PREV_TRK_INCMPL;
	atomic_store(&m->epoch, e + 1);
	return SGX_SUCCESS;
}

/* Target page of EACCEPT/EACCEPTCOPY/EMODPE: in ELRANGE (#GP), translated (#PF), owned by this
 * enclave at this address (#PF with the SGX bit). */
static struct epcm_entry *enclave_target(struct sgx_cpu *cpu, const struct cpu_lp *lp, uint64_t la,
					 uint32_t *idx, struct cpu_fault *f)
{
	struct epcm_entry *e;
	uint32_t err;

	if (!cpu_aligned(la, SGX_PAGE_SIZE) || la < lp->base || la - lp->base >= lp->size) {
		cpu_gp(f);
		return NULL;
	}
	err = cpu->mmu.translate(cpu->mmu.ctx, la, false, idx);
	if (err) {
		cpu_pf(f, la, err);
		return NULL;
	}
	e = &cpu->epcm[*idx];
	if (!e->valid || (e->flags & EPCM_BLOCKED) || e->secs != lp->secs || e->linaddr != la ||
	    (e->type != SGX_PT_REG && e->type != SGX_PT_TCS && e->type != SGX_PT_TRIM)) {
		cpu_pf(f, la, X86_PF_SGX | X86_PF_P);
		return NULL;
	}
	return e;
}

static const struct sgx_secinfo *read_secinfo(struct sgx_cpu *cpu, const struct cpu_lp *lp,
					      uint64_t la, struct cpu_fault *f)
{
	if (!cpu_aligned(la, 64)) {
		cpu_gp(f);
		return NULL;
	}
	return cpu_enclave_ptr(cpu, lp, la, sizeof(struct sgx_secinfo), ACCESS_R, f);
}

static bool tcs_acceptable(const struct sgx_cpu *cpu, const struct sgx_tcs *t)
{
	for (unsigned i = 0; i < sizeof(t->reserved); i++)
		if (t->reserved[i])
			return false;
	return !(t->flags & (cpu_tcs_flags_reserved(cpu) | SGX_TCS_FLAGS_DBGOPTIN)) && t->cssa < t->nssa && !t->aep && !t->state &&
	       cpu_aligned(t->ossa, SGX_PAGE_SIZE) && cpu_aligned(t->ofsbase, SGX_PAGE_SIZE) &&
	       cpu_aligned(t->ogsbase, SGX_PAGE_SIZE);
}

long enclu_eaccept(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	const struct sgx_secinfo *si = read_secinfo(cpu, lp, r->rbx, f);
	struct sgx_secinfo req;
	struct epcm_entry *e;
	uint64_t fl;
	unsigned type;
	uint32_t idx;

	if (!si)
		return CPU_FAULT;
	req = *si;
	if (!secinfo_reserved_ok(&req))
		return cpu_gp(f);
	fl = req.flags;
	type = secinfo_type(&req);
	if (!((type == SGX_PT_REG && (fl & (SGX_SECINFO_PR | SGX_SECINFO_PENDING)) &&
	       !(fl & SGX_SECINFO_MODIFIED)) ||
	      ((type == SGX_PT_TCS || type == SGX_PT_TRIM) &&
	       !(fl & (SGX_SECINFO_PR | SGX_SECINFO_PENDING)) && (fl & SGX_SECINFO_MODIFIED))))
		return cpu_gp(f);
	e = enclave_target(cpu, lp, r->rcx, &idx, f);
	if (!e)
		return CPU_FAULT;
	if (e->type != type || (e->perm & SGX_SECINFO_PERM_MASK) != (fl & SGX_SECINFO_PERM_MASK) ||
	    !!(e->flags & EPCM_PENDING) != !!(fl & SGX_SECINFO_PENDING) ||
	    !!(e->flags & EPCM_MODIFIED) != !!(fl & SGX_SECINFO_MODIFIED) ||
	    !!(e->flags & EPCM_PR) != !!(fl & SGX_SECINFO_PR))
		return leaf_status(r, SGX_PAGE_ATTRIBUTES_MISMATCH);
	if ((e->flags & (EPCM_MODIFIED | EPCM_PR)) &&
	    !secs_tracking_done(cpu->epcm[lp->secs].meta, e->bepoch))
		return leaf_status(r, SGX_NOT_TRACKED);
	if (type == SGX_PT_TCS && !tcs_acceptable(cpu, (const struct sgx_tcs *)epc_page(cpu, idx)))
		return cpu_gp(f);
	e->flags &= ~(EPCM_PENDING | EPCM_MODIFIED | EPCM_PR);
	if (cpu->mmu.epcm_changed)
		cpu->mmu.epcm_changed(cpu->mmu.ctx, r->rcx);
	return leaf_status(r, SGX_SUCCESS);
}

long enclu_eacceptcopy(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	const struct sgx_secinfo *si = read_secinfo(cpu, lp, r->rbx, f);
	struct sgx_secinfo req;
	struct epcm_entry *e;
	const uint8_t *src;
	uint32_t idx;

	if (!si)
		return CPU_FAULT;
	req = *si;
	if (!cpu_aligned(r->rcx, SGX_PAGE_SIZE) || !cpu_aligned(r->rdx, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if (!secinfo_reserved_ok(&req) || secinfo_type(&req) != SGX_PT_REG ||
	    ((req.flags & SGX_SECINFO_W) && !(req.flags & SGX_SECINFO_R)))
		return cpu_gp(f);
	src = cpu_enclave_ptr(cpu, lp, r->rdx, SGX_PAGE_SIZE, ACCESS_R, f);
	if (!src)
		return CPU_FAULT;
	e = enclave_target(cpu, lp, r->rcx, &idx, f);
	if (!e)
		return CPU_FAULT;
	if (e->type != SGX_PT_REG || (e->flags & (EPCM_MODIFIED | EPCM_PR)) ||
	    !(e->flags & EPCM_PENDING) || e->perm != (SGX_SECINFO_R | SGX_SECINFO_W))
		return leaf_status(r, SGX_PAGE_ATTRIBUTES_MISMATCH);
	memcpy(epc_page(cpu, idx), src, SGX_PAGE_SIZE);
	e->perm = (uint8_t)(req.flags & SGX_SECINFO_PERM_MASK);
	e->flags &= ~EPCM_PENDING;
	if (cpu->mmu.epcm_changed)
		cpu->mmu.epcm_changed(cpu->mmu.ctx, r->rcx);
	return leaf_status(r, SGX_SUCCESS);
}

long enclu_emodpe(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	const struct sgx_secinfo *si = read_secinfo(cpu, lp, r->rbx, f);
	struct sgx_secinfo req;
	struct epcm_entry *e;
	uint32_t idx;
	uint8_t perm;

	if (!si)
		return CPU_FAULT;
	req = *si;
	if (!secinfo_reserved_ok(&req))
		return cpu_gp(f);
	e = enclave_target(cpu, lp, r->rcx, &idx, f);
	if (!e)
		return CPU_FAULT;
	if (e->type != SGX_PT_REG || (e->flags & (EPCM_PENDING | EPCM_MODIFIED)))
		return cpu_pf(f, r->rcx, X86_PF_SGX | X86_PF_P);
	perm = e->perm | (uint8_t)(req.flags & SGX_SECINFO_PERM_MASK);
	if ((perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R))
		return cpu_gp(f);
	e->perm = perm;
	if (cpu->mmu.epcm_changed)
		cpu->mmu.epcm_changed(cpu->mmu.ctx, r->rcx);
	return 0;
}

void cpu_lp_pause(struct sgx_cpu *cpu, struct cpu_lp *lp)
{
	struct secs_meta *m = cpu->epcm[lp->secs].meta;

	atomic_fetch_sub(&m->active_ep[lp->entry_epoch & 1], 1);
	atomic_store_explicit(&lp->paused, true, memory_order_release);
}

void cpu_lp_resume(struct sgx_cpu *cpu, struct cpu_lp *lp)
{
	struct secs_meta *m = cpu->epcm[lp->secs].meta;
	uint64_t ep = atomic_load(&m->epoch);

	atomic_store_explicit(&lp->entry_epoch, ep, memory_order_relaxed);
	atomic_fetch_add(&m->active_ep[ep & 1], 1);
	atomic_store_explicit(&lp->paused, false, memory_order_release);
}
