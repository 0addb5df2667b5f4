/* ENCLU leaves EENTER, ERESUME, EEXIT and the asynchronous exit (SDM Vol. 3D ch. 38-39). */
#include "cpu/cpu.h"
#include "cpu/fault.h"
#include "cpu/keys.h"
#include "cpu/xsave.h"


static struct sgx_gprsgx *ssa_gpr(struct sgx_cpu *cpu, uint32_t frame_last_page_idx)
{
	return (struct sgx_gprsgx *)(epc_page(cpu, frame_last_page_idx) + SGX_PAGE_SIZE -
				     sizeof(struct sgx_gprsgx));
}

/* Every page of the SSA frame at la must be a valid RW REG page of the enclave. Returns the
 * EPC index of the frame's last page (where GPRSGX lives), or -1 with *f set. */
static long ssa_frame_check(struct sgx_cpu *cpu, uint32_t secs, uint64_t la, uint32_t pages,
			    uint32_t *first, struct cpu_fault *f)
{
	uint32_t idx = 0;

	for (uint32_t i = 0; i < pages; i++) {
		uint64_t p = la + (uint64_t)i * SGX_PAGE_SIZE;
		uint32_t err = cpu->mmu.translate(cpu->mmu.ctx, p, true, &idx);
		const struct epcm_entry *e;

		if (err)
			return cpu_pf(f, p, err | X86_PF_W), -1;
		e = &cpu->epcm[idx];
		if (!e->valid || e->type != SGX_PT_REG || e->secs != secs || e->linaddr != p ||
		    (e->flags & (EPCM_PENDING | EPCM_MODIFIED | EPCM_BLOCKED)) ||
		    (e->perm & (SGX_SECINFO_R | SGX_SECINFO_W)) != (SGX_SECINFO_R | SGX_SECINFO_W))
			return cpu_pf(f, p, X86_PF_SGX | X86_PF_P | X86_PF_W), -1;
		if (i == 0)
			*first = idx;
	}
	return idx;
}

/* Checks shared by EENTER and ERESUME (SDM steps 2-6); claims the TCS on success. */
static long tcs_enter(struct sgx_cpu *cpu, struct cpu_regs *r, uint32_t *tcs_idx,
		      uint32_t *secs_idx, struct cpu_fault *f)
{
	uint64_t la = r->rbx;
	const struct epcm_entry *e;
	const struct sgx_tcs *tcs;
	const struct secs_meta *meta;
	const struct sgx_secs *secs;
	uint32_t idx = 0, err;

	if (la & (SGX_PAGE_SIZE - 1))
		return cpu_gp(f);
	err = cpu->mmu.translate(cpu->mmu.ctx, la, false, &idx);
	if (err)
		return cpu_pf(f, la, err);
	if (!cpu_canonical(r->rcx))
		return cpu_gp(f);
	e = &cpu->epcm[idx];
	if (!e->valid || (e->flags & EPCM_BLOCKED) || e->linaddr != la || e->type != SGX_PT_TCS ||
	    (e->flags & (EPCM_PENDING | EPCM_MODIFIED)))
		return cpu_pf(f, la, X86_PF_SGX | X86_PF_P);
	tcs = (const struct sgx_tcs *)epc_page(cpu, idx);
	if ((tcs->ossa | tcs->ofsbase | tcs->ogsbase) & (SGX_PAGE_SIZE - 1))
		return cpu_gp(f);
	meta = cpu->epcm[e->secs].meta;
	if ((tcs->flags & cpu_tcs_flags_reserved(cpu)) || !meta->initialized)
		return cpu_gp(f);
	/* XFRM must be a subset of XCR0: here, of what the context's XSAVE image can hold. */
	secs = (const struct sgx_secs *)epc_page(cpu, e->secs);
	if (r->xsave && (secs->attributes.xfrm & ~r->xsave->features))
		return cpu_gp(f);
	/* Without debug opt-in, a TCS takes AEX notifications exactly when its enclave does. */
	if (!(tcs->flags & SGX_TCS_FLAGS_DBGOPTIN) &&
	    !(tcs->flags & SGX_TCS_FLAGS_AEXNOTIFY) != !(secs->attributes.flags & SGX_ATTR_AEXNOTIFY))
		return cpu_gp(f);
	*tcs_idx = idx;
	*secs_idx = e->secs;
	return 0;
}

static void lp_enter(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r, uint32_t tcs_idx,
		     uint32_t secs_idx, uint64_t ssa_la, uint32_t ssa_first, uint32_t ssa_last)
{
	const struct sgx_secs *secs = (const struct sgx_secs *)epc_page(cpu, secs_idx);
	struct sgx_tcs *tcs = (struct sgx_tcs *)epc_page(cpu, tcs_idx);

	atomic_store_explicit(&lp->secs, secs_idx, memory_order_relaxed);
	lp->tcs = tcs_idx;
	lp->tcs_la = r->rbx;
	lp->base = secs->base;
	lp->size = secs->size;
	lp->ssa_la = ssa_la;
	lp->ssa_frame_size = secs->ssa_frame_size;
	lp->ssa_first = ssa_first;
	lp->ssa_last = ssa_last;
	/* The processor caches where its SSA frame is; the OS cannot evict it meanwhile. */
	atomic_fetch_add(&cpu->epcm[ssa_first].pins, 1);
	atomic_fetch_add(&cpu->epcm[ssa_last].pins, 1);
	lp->paused = false;
	lp->out_fsbase = r->fsbase;
	lp->out_gsbase = r->gsbase;
	tcs->aep = r->rcx;
	/* Without DBGOPTIN, single-stepping stops at the enclave boundary. */
	lp->opt_out = !(tcs->flags & SGX_TCS_FLAGS_DBGOPTIN);
	lp->out_tf = r->rflags & RFLAGS_TF;
	r->fsbase = secs->base + tcs->ofsbase;
	r->gsbase = secs->base + tcs->ogsbase;
	{
		struct secs_meta *m = cpu->epcm[secs_idx].meta;

		uint64_t ep = atomic_load(&m->epoch);

		atomic_store_explicit(&lp->entry_epoch, ep, memory_order_relaxed);
		atomic_fetch_add(&m->active_ep[ep & 1], 1);
		atomic_fetch_add(&m->active, 1);
	}
	/* Last: other threads that see it see this entry's secs and epoch (cpu.h). */
	atomic_store_explicit(&lp->in_enclave, true, memory_order_release);
}

static void lp_leave(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r)
{
	struct secs_meta *m = cpu->epcm[lp->secs].meta;

	r->fsbase = lp->out_fsbase;
	r->gsbase = lp->out_gsbase;
	atomic_fetch_sub(&cpu->epcm[lp->ssa_first].pins, 1);
	atomic_fetch_sub(&cpu->epcm[lp->ssa_last].pins, 1);
	atomic_store(&cpu->epcm[lp->tcs].busy, 0);
	atomic_fetch_sub(&m->active_ep[lp->entry_epoch & 1], 1);
	atomic_fetch_sub(&m->active, 1);
	atomic_store_explicit(&lp->in_enclave, false, memory_order_release);
}

static long eenter(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	uint32_t tcs_idx, secs_idx;
	const struct sgx_secs *secs;
	struct sgx_tcs *tcs;
	struct sgx_gprsgx *gpr;
	unsigned zero = 0;
	uint64_t ssa_la, target;
	uint32_t first = 0;
	long last;

	if (tcs_enter(cpu, r, &tcs_idx, &secs_idx, f))
		return CPU_FAULT;
	tcs = (struct sgx_tcs *)epc_page(cpu, tcs_idx);
	secs = (const struct sgx_secs *)epc_page(cpu, secs_idx);
	if (tcs->cssa >= tcs->nssa)
		return cpu_gp(f);
	ssa_la = secs->base + tcs->ossa + (uint64_t)tcs->cssa * secs->ssa_frame_size * SGX_PAGE_SIZE;
	last = ssa_frame_check(cpu, secs_idx, ssa_la, secs->ssa_frame_size, &first, f);
	if (last < 0)
		return CPU_FAULT;
	target = secs->base + tcs->oentry;
	if (!cpu_canonical(target) || !cpu_canonical(secs->base + tcs->ofsbase) ||
	    !cpu_canonical(secs->base + tcs->ogsbase))
		return cpu_gp(f);
	/* One logical processor per TCS: the claim is the architectural TCS.STATE check. */
	if (!atomic_compare_exchange_strong(&cpu->epcm[tcs_idx].busy, &zero, 1))
		return cpu_gp(f);

	gpr = ssa_gpr(cpu, (uint32_t)last);
	gpr->ursp = r->rsp;
	gpr->urbp = r->rbp;
	lp_enter(cpu, lp, r, tcs_idx, secs_idx, ssa_la, first, (uint32_t)last);
	r->rax = tcs->cssa;
	r->rcx = r->rip + 3;
	r->rip = target;
	if (lp->opt_out)
		r->rflags &= ~RFLAGS_TF;
	return 0;
}

/* RFLAGS bits ERESUME restores from the SSA. */
#define RFLAGS_RESTORED (RFLAGS_STATUS | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID | RFLAGS_RF)

static long eresume(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	uint32_t tcs_idx, secs_idx;
	const struct sgx_secs *secs;
	struct sgx_tcs *tcs;
	struct sgx_gprsgx *gpr;
	unsigned zero = 0;
	uint64_t ssa_la, frame_bytes, target, fsbase, gsbase;
	uint32_t first = 0;
	bool notify;
	long last;

	if (tcs_enter(cpu, r, &tcs_idx, &secs_idx, f))
		return CPU_FAULT;
	tcs = (struct sgx_tcs *)epc_page(cpu, tcs_idx);
	secs = (const struct sgx_secs *)epc_page(cpu, secs_idx);
	if (tcs->cssa == 0)
		return cpu_gp(f);
	frame_bytes = (uint64_t)secs->ssa_frame_size * SGX_PAGE_SIZE;
	ssa_la = secs->base + tcs->ossa + (uint64_t)(tcs->cssa - 1) * frame_bytes;
	last = ssa_frame_check(cpu, secs_idx, ssa_la, secs->ssa_frame_size, &first, f);
	if (last < 0)
		return CPU_FAULT;
	gpr = ssa_gpr(cpu, (uint32_t)last);
	/* AEX-Notify: the TCS and the interrupted frame both opted in. ERESUME then delivers the
	 * notification: it enters at OENTRY on the next frame, as EENTER would, and leaves the
	 * interrupted frame on the SSA stack for the enclave's handler (EDECCSSA pops it). */
	notify = (tcs->flags & SGX_TCS_FLAGS_AEXNOTIFY) && (gpr->aexnotify & 1);
	if (notify) {
		if (tcs->cssa >= tcs->nssa)
			return cpu_gp(f);
		ssa_la += frame_bytes;
		last = ssa_frame_check(cpu, secs_idx, ssa_la, secs->ssa_frame_size, &first, f);
		if (last < 0)
			return CPU_FAULT;
		gpr = ssa_gpr(cpu, (uint32_t)last);
		target = secs->base + tcs->oentry;
		fsbase = secs->base + tcs->ofsbase;
		gsbase = secs->base + tcs->ogsbase;
	} else {
		target = gpr->rip;
		fsbase = gpr->fsbase;
		gsbase = gpr->gsbase;
	}
	if (!cpu_canonical(target) || !cpu_canonical(fsbase) || !cpu_canonical(gsbase))
		return cpu_gp(f);
	/* XRSTOR's faults, checked before anything changes (the SDM leaves the TCS inactive). */
	if (!notify && xrstor_faults(secs->attributes.xfrm, epc_page(cpu, first), r->xsave))
		return cpu_gp(f);
	if (!atomic_compare_exchange_strong(&cpu->epcm[tcs_idx].busy, &zero, 1))
		return cpu_gp(f);

	gpr->ursp = r->rsp;
	gpr->urbp = r->rbp;
	lp_enter(cpu, lp, r, tcs_idx, secs_idx, ssa_la, first, (uint32_t)last);
	if (notify) {
		/* No XRSTOR: the extended state is what the AEP left. */
		r->rax = tcs->cssa;
		r->rcx = r->rip + 3;
		r->rip = target;
		if (lp->opt_out)
			r->rflags &= ~RFLAGS_TF;
		return 0;
	}
	/* Classic ERESUME: the interrupted context comes back from the frame, whose XSAVE area
	 * starts the frame. */
	if (r->xsave)
		xrstor_eresume(&cpu->feat.xsave, secs->attributes.xfrm, epc_page(cpu, first), r->xsave);
	r->rax = gpr->rax; r->rcx = gpr->rcx; r->rdx = gpr->rdx; r->rbx = gpr->rbx;
	r->rsp = gpr->rsp; r->rbp = gpr->rbp; r->rsi = gpr->rsi; r->rdi = gpr->rdi;
	r->r8 = gpr->r8; r->r9 = gpr->r9; r->r10 = gpr->r10; r->r11 = gpr->r11;
	r->r12 = gpr->r12; r->r13 = gpr->r13; r->r14 = gpr->r14; r->r15 = gpr->r15;
	r->rflags = (r->rflags & ~RFLAGS_RESTORED) | (gpr->rflags & RFLAGS_RESTORED);
	if (lp->opt_out)
		r->rflags &= ~RFLAGS_TF;
	r->rip = target;
	r->fsbase = fsbase;
	r->gsbase = gsbase;
	tcs->cssa--;
	return 0;
}

/* EDECCSSA: pop the current SSA frame from inside the enclave (an AEX-Notify handler is done
 * with the interrupted context); the next AEX saves into the frame below. */
static long edeccssa(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_fault *f)
{
	const struct sgx_secs *secs = (const struct sgx_secs *)epc_page(cpu, lp->secs);
	struct sgx_tcs *tcs = (struct sgx_tcs *)epc_page(cpu, lp->tcs);
	uint64_t ssa_la;
	uint32_t first = 0;
	long last;

	if (tcs->cssa == 0)
		return cpu_gp(f);
	ssa_la = secs->base + tcs->ossa +
		 (uint64_t)(tcs->cssa - 1) * secs->ssa_frame_size * SGX_PAGE_SIZE;
	last = ssa_frame_check(cpu, lp->secs, ssa_la, secs->ssa_frame_size, &first, f);
	if (last < 0)
		return CPU_FAULT;
	tcs->cssa--;
	/* The processor's cached frame moves: pin the new pages before letting the old go. */
	atomic_fetch_add(&cpu->epcm[first].pins, 1);
	atomic_fetch_add(&cpu->epcm[(uint32_t)last].pins, 1);
	atomic_fetch_sub(&cpu->epcm[lp->ssa_first].pins, 1);
	atomic_fetch_sub(&cpu->epcm[lp->ssa_last].pins, 1);
	lp->ssa_la = ssa_la;
	lp->ssa_first = first;
	lp->ssa_last = (uint32_t)last;
	return 0;
}

static long eexit(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	const struct sgx_tcs *tcs = (const struct sgx_tcs *)epc_page(cpu, lp->tcs);

	if (!cpu_canonical(r->rbx))
		return cpu_gp(f);
	r->rip = r->rbx;
	r->rcx = tcs->aep;
	if (lp->opt_out)
		r->rflags = (r->rflags & ~RFLAGS_TF) | lp->out_tf;
	lp_leave(cpu, lp, r);
	return 0;
}

/* Leaves that run inside the enclave and continue at the next instruction. */
static long enclu_inside(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r,
			 struct cpu_fault *f)
{
	switch ((unsigned)r->rax) {
	case ENCLU_EREPORT:
		return enclu_ereport(cpu, lp, r, f);
	case ENCLU_EGETKEY:
		return enclu_egetkey(cpu, lp, r, f);
	case ENCLU_EACCEPT:
		return cpu->feat.sgx2 ? enclu_eaccept(cpu, lp, r, f) : cpu_gp(f);
	case ENCLU_EMODPE:
		return cpu->feat.sgx2 ? enclu_emodpe(cpu, lp, r, f) : cpu_gp(f);
	case ENCLU_EACCEPTCOPY:
		return cpu->feat.sgx2 ? enclu_eacceptcopy(cpu, lp, r, f) : cpu_gp(f);
	case ENCLU_EDECCSSA:
		return (cpu->feat.attributes & SGX_ATTR_AEXNOTIFY) ? edeccssa(cpu, lp, f) : cpu_gp(f);
	default:
		return cpu_gp(f);
	}
}

long enclu(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f)
{
	unsigned leaf = (unsigned)r->rax;
	long res;

	switch (leaf) {
	case ENCLU_EENTER:
	case ENCLU_ERESUME:
		if (lp->in_enclave)
			return cpu_gp(f);
		return leaf == ENCLU_EENTER ? eenter(cpu, lp, r, f) : eresume(cpu, lp, r, f);
	case ENCLU_EEXIT:
		if (!lp->in_enclave)
			return cpu_gp(f);
		return eexit(cpu, lp, r, f);
	default:
		if (!lp->in_enclave)
			return cpu_gp(f);
		res = enclu_inside(cpu, lp, r, f);
		if (res == 0)
			r->rip += 3;
		return res;
	}
}

/* Vectors that EXITINFO reports without MISCSELECT.EXINFO. */
static bool exitinfo_reported(unsigned v)
{
	return v == X86_DE || v == X86_DB || v == X86_BP || v == X86_BR || v == X86_UD ||
	       v == X86_MF || v == X86_AC || v == X86_XM;
}

void cpu_aex(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *r, unsigned vector,
	     uint32_t errcode, uint64_t addr)
{
	const struct sgx_secs *secs = (const struct sgx_secs *)epc_page(cpu, lp->secs);
	struct sgx_tcs *tcs = (struct sgx_tcs *)epc_page(cpu, lp->tcs);
	uint32_t first = lp->ssa_first;
	struct sgx_gprsgx *gpr;

	/* The frame was checked and located at EENTER/ERESUME (the hardware caches it too). */
	gpr = ssa_gpr(cpu, lp->ssa_last);
	gpr->rax = r->rax; gpr->rcx = r->rcx; gpr->rdx = r->rdx; gpr->rbx = r->rbx;
	gpr->rsp = r->rsp; gpr->rbp = r->rbp; gpr->rsi = r->rsi; gpr->rdi = r->rdi;
	gpr->r8 = r->r8; gpr->r9 = r->r9; gpr->r10 = r->r10; gpr->r11 = r->r11;
	gpr->r12 = r->r12; gpr->r13 = r->r13; gpr->r14 = r->r14; gpr->r15 = r->r15;
	gpr->rflags = r->rflags & ~RFLAGS_TF; /* TF is not saved */
	gpr->rip = r->rip;
	gpr->fsbase = r->fsbase;
	gpr->gsbase = r->gsbase;
	gpr->exitinfo = 0;
	if (vector > 31) {
		/* An interrupt: EXITINFO stays invalid. */
	} else if (exitinfo_reported(vector) ||
	    ((vector == X86_PF || vector == X86_GP) && (secs->miscselect & SGX_MISC_EXINFO))) {
		gpr->exitinfo = vector | ((vector == X86_BP ? SGX_EXITINFO_TYPE_SW : SGX_EXITINFO_TYPE_HW) << 8) |
				SGX_EXITINFO_VALID;
		if ((vector == X86_PF || vector == X86_GP) && (secs->miscselect & SGX_MISC_EXINFO)) {
			struct sgx_exinfo *x = (struct sgx_exinfo *)((uint8_t *)gpr - sizeof(*x));

			x->maddr = vector == X86_PF ? addr : 0;
			x->errcd = errcode;
			x->reserved = 0;
		}
	}
	if (r->xsave)
		xsave_aex(&cpu->feat.xsave, secs->attributes.xfrm, r->xsave, epc_page(cpu, first));
	tcs->cssa++;
	r->rsp = gpr->ursp;
	r->rbp = gpr->urbp;
	r->rax = ENCLU_ERESUME;
	r->rbx = lp->tcs_la;
	r->rcx = tcs->aep;
	r->rip = tcs->aep;
	r->rdx = r->rsi = r->rdi = 0;
	r->r8 = r->r9 = r->r10 = r->r11 = r->r12 = r->r13 = r->r14 = r->r15 = 0;
	r->rflags &= ~(RFLAGS_STATUS | RFLAGS_RF);
	if (lp->opt_out)
		r->rflags = (r->rflags & ~RFLAGS_TF) | lp->out_tf;
	lp_leave(cpu, lp, r);
}
