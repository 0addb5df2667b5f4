/* ENCLS leaves of SGX1: ECREATE, EADD, EEXTEND, EINIT, EREMOVE (SDM Vol. 3D ch. 38). Checks
 * follow the SDM's order; see each leaf's Operation and Flags Affected sections. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cpu/cpu.h"
#include "cpu/fault.h"
#include "cpu/keys.h"
#include "cpu/measure.h"
#include "cpu/sigstruct.h"

/* SSAFRAMESIZE must hold the XSAVE area of XFRM, GPRSGX and the MISC components. */
static bool ssa_frame_too_small(const struct sgx_cpu *cpu, const struct sgx_secs *secs)
{
	uint64_t need = cpu_xsave_size(&cpu->feat.xsave, secs->attributes.xfrm) +
			sizeof(struct sgx_gprsgx) +
			((secs->miscselect & SGX_MISC_EXINFO) ? sizeof(struct sgx_exinfo) : 0);

	return (uint64_t)secs->ssa_frame_size * SGX_PAGE_SIZE < need;
}

long encls_ecreate(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_dst, struct cpu_fault *f)
{
	const struct sgx_secinfo *si;
	struct sgx_secs *secs;
	struct epcm_entry *e;
	struct secs_meta *meta;
	long idx;
	uint64_t maxsize;

	if (!cpu_aligned((uintptr_t)pi, 32))
		return cpu_gp(f);
	if ((idx = encls_epc_operand(cpu, epc_dst, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	if (!cpu_aligned(pi->srcpge, SGX_PAGE_SIZE) || !cpu_aligned(pi->secinfo, 64) ||
	    pi->linaddr || pi->secs)
		return cpu_gp(f);
	si = (const struct sgx_secinfo *)(uintptr_t)pi->secinfo;
	if (!cpu_all_zero(si->reserved, sizeof(si->reserved)) ||
	    (si->flags & SGX_SECINFO_RESERVED_MASK) ||
	    ((si->flags & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT) != SGX_PT_SECS)
		return cpu_gp(f);
	e = &cpu->epcm[idx];
	if (e->valid)
		return cpu_pf(f, (uintptr_t)(epc_dst), X86_PF_SGX | X86_PF_P);

	/* Validate a private copy first so a rejected SECS leaves the EPC page untouched. */
	secs = malloc(sizeof(*secs));
	if (!secs)
		return cpu_gp(f);
	memcpy(secs, (const void *)(uintptr_t)pi->srcpge, sizeof(*secs));
	maxsize = 1ULL << CPU_MAX_ENCLAVE_SIZE_64_LOG2;
	/* The SDM's order; every failure is #GP. XFRM outside CPUID.12.1:EDX:ECX is refused with
	 * the other unsupported ATTRIBUTES bits. */
	if ((secs->attributes.xfrm & 3) != 3 || !cpu_xfrm_legal(secs->attributes.xfrm) ||
	    (secs->miscselect & ~cpu->feat.miscselect) ||
	    (secs->attributes.xfrm & ~cpu->feat.xfrm) || ssa_frame_too_small(cpu, secs) ||
	    !(secs->attributes.flags & SGX_ATTR_MODE64BIT) ||
	    !cpu_canonical(secs->base) ||
	    secs->size >= maxsize || secs->size < 8192 || (secs->size & (secs->size - 1)) ||
	    (secs->base & (secs->size - 1)) ||
	    (secs->attributes.flags & ~cpu->feat.attributes) ||
	    !cpu_all_zero(secs->reserved1, sizeof(secs->reserved1)) ||
	    !cpu_all_zero(secs->reserved2, sizeof(secs->reserved2)) ||
	    !cpu_all_zero(secs->reserved3, sizeof(secs->reserved3)) ||
	    !cpu_all_zero(secs->reserved4, sizeof(secs->reserved4)) ||
	    (!(secs->attributes.flags & SGX_ATTR_KSS) &&
	     (!cpu_all_zero(secs->config_id, sizeof(secs->config_id)) || secs->config_svn))) {
		free(secs);
		return cpu_gp(f);
	}
	meta = calloc(1, sizeof(*meta));
	if (meta)
		meta->mr = measure_new();
	if (!meta || !meta->mr || measure_ecreate(meta->mr, secs->ssa_frame_size, secs->size)) {
		if (meta)
			measure_free(meta->mr);
		free(meta);
		free(secs);
		return cpu_gp(f);
	}
	/* Software may not pass these in; hardware owns them. */
	memset(secs->mrenclave, 0, sizeof(secs->mrenclave));
	memset(secs->mrsigner, 0, sizeof(secs->mrsigner));
	secs->isv_prod_id = 0;
	secs->isv_svn = 0;
	memcpy(epc_dst, secs, sizeof(*secs));
	free(secs);

	meta->eid = atomic_fetch_add(&cpu->next_eid, 1);
	atomic_store(&meta->epoch, 1);
	e->type = SGX_PT_SECS;
	e->perm = 0;
	e->flags = 0;
	e->linaddr = 0;
	e->secs = (uint32_t)idx;
	e->meta = meta;
	e->valid = 1;
	return SGX_SUCCESS;
}

/* The SECS operand of EADD/EEXTEND/EINIT: a valid, uninitialised PT_SECS page. */
static long secs_operand(struct sgx_cpu *cpu, void *secs, struct cpu_fault *f)
{
	long idx = encls_epc_operand(cpu, secs, SGX_PAGE_SIZE, f);

	if (idx < 0)
		return -1;
	if (!cpu->epcm[idx].valid || cpu->epcm[idx].type != SGX_PT_SECS)
		return cpu_pf(f, (uintptr_t)(secs), X86_PF_SGX | X86_PF_P), -1;
	return idx;
}

static bool tcs_valid_for_eadd(const struct sgx_cpu *cpu, const struct sgx_tcs *t)
{
	return !(t->flags & cpu_tcs_flags_reserved(cpu)) && cpu_aligned(t->ossa, SGX_PAGE_SIZE) &&
	       cpu_aligned(t->ofsbase, SGX_PAGE_SIZE) && cpu_aligned(t->ogsbase, SGX_PAGE_SIZE) &&
	       cpu_all_zero(t->reserved, sizeof(t->reserved));
}

long encls_eadd(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_dst, struct cpu_fault *f)
{
	const struct sgx_secinfo *si;
	struct sgx_secs *secs;
	struct secs_meta *meta;
	struct epcm_entry *e;
	uint64_t flags, type;
	long idx, sidx;

	if (!cpu_aligned((uintptr_t)pi, 32))
		return cpu_gp(f);
	if ((idx = encls_epc_operand(cpu, epc_dst, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	if (!cpu_aligned(pi->srcpge, SGX_PAGE_SIZE) || !cpu_aligned(pi->secs, SGX_PAGE_SIZE) ||
	    !cpu_aligned(pi->secinfo, 64) || !cpu_aligned(pi->linaddr, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if ((sidx = encls_epc_operand(cpu, (void *)(uintptr_t)pi->secs, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	si = (const struct sgx_secinfo *)(uintptr_t)pi->secinfo;
	flags = si->flags;
	type = (flags & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT;
	if (!cpu_all_zero(si->reserved, sizeof(si->reserved)) ||
	    (flags & (SGX_SECINFO_RESERVED_MASK | SGX_SECINFO_PENDING | SGX_SECINFO_MODIFIED |
		      SGX_SECINFO_PR)) ||
	    (type != SGX_PT_REG && type != SGX_PT_TCS))
		return cpu_gp(f);
	e = &cpu->epcm[idx];
	if (e->valid)
		return cpu_pf(f, (uintptr_t)(epc_dst), X86_PF_SGX | X86_PF_P);
	if (!cpu->epcm[sidx].valid || cpu->epcm[sidx].type != SGX_PT_SECS)
		return cpu_pf(f, (uintptr_t)((void *)(uintptr_t)pi->secs), X86_PF_SGX | X86_PF_P);
	secs = (struct sgx_secs *)epc_page(cpu, (uint32_t)sidx);
	meta = cpu->epcm[sidx].meta;

	if (type == SGX_PT_TCS) {
		if (!tcs_valid_for_eadd(cpu, (const struct sgx_tcs *)(uintptr_t)pi->srcpge))
			return cpu_gp(f);
	} else if ((flags & SGX_SECINFO_W) && !(flags & SGX_SECINFO_R)) {
		return cpu_gp(f);
	}
	if (pi->linaddr < secs->base || pi->linaddr - secs->base >= secs->size ||
	    meta->initialized)
		return cpu_gp(f);

	memcpy(epc_dst, (const void *)(uintptr_t)pi->srcpge, SGX_PAGE_SIZE);
	if (type == SGX_PT_TCS) {
		struct sgx_tcs *t = epc_dst;

		flags &= ~SGX_SECINFO_PERM_MASK;
		t->flags &= ~SGX_TCS_FLAGS_DBGOPTIN;
		t->cssa = 0;
		t->aep = 0;
		t->state = 0;
	}
	measure_eadd(meta->mr, pi->linaddr - secs->base, flags);
	e->type = (uint8_t)type;
	e->perm = (uint8_t)(flags & SGX_SECINFO_PERM_MASK);
	e->flags = 0;
	e->linaddr = pi->linaddr;
	e->secs = (uint32_t)sidx;
	e->meta = NULL;
	e->valid = 1;
	atomic_fetch_add(&meta->children, 1);
	return SGX_SUCCESS;
}

long encls_eextend(struct sgx_cpu *cpu, void *secs_page, void *chunk, struct cpu_fault *f)
{
	struct sgx_secs *secs;
	struct epcm_entry *e;
	long sidx, idx;
	uint64_t off;

	if (!cpu_aligned((uintptr_t)secs_page, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if (epc_index(cpu, secs_page) < 0)
		return cpu_pf(f, (uintptr_t)(secs_page), X86_PF_SGX | X86_PF_P);
	if (!cpu_aligned((uintptr_t)chunk, 256))
		return cpu_gp(f);
	idx = epc_index(cpu, chunk);
	if (idx < 0)
		return cpu_pf(f, (uintptr_t)(chunk), X86_PF_SGX | X86_PF_P);
	e = &cpu->epcm[idx];
	if (!e->valid || (e->type != SGX_PT_REG && e->type != SGX_PT_TCS))
		return cpu_pf(f, (uintptr_t)(chunk), X86_PF_SGX | X86_PF_P);
	sidx = epc_index(cpu, secs_page);
	if ((long)e->secs != sidx || !cpu->epcm[sidx].valid || cpu->epcm[sidx].type != SGX_PT_SECS)
		return cpu_gp(f);
	if (cpu->epcm[sidx].meta->initialized)
		return cpu_gp(f);
	secs = secs_page;
	off = e->linaddr - secs->base + ((uintptr_t)chunk & (SGX_PAGE_SIZE - 1));
	measure_eextend(cpu->epcm[sidx].meta->mr, off, chunk);
	return SGX_SUCCESS;
}

long encls_einit(struct sgx_cpu *cpu, const struct sgx_sigstruct *sig, void *secs_page,
		 const struct sgx_einittoken *token, struct cpu_fault *f)
{
	struct sgx_secs *secs;
	struct secs_meta *meta;
	uint8_t mr[32], signer[32];
	uint64_t st;
	long sidx;

	if (!cpu_aligned((uintptr_t)sig, SGX_PAGE_SIZE) || !cpu_aligned((uintptr_t)secs_page, SGX_PAGE_SIZE) ||
	    !cpu_aligned((uintptr_t)token, 512))
		return cpu_gp(f);
	if ((sidx = secs_operand(cpu, secs_page, f)) < 0)
		return CPU_FAULT;

	/* Reserved: header bytes 44-127, body bytes 910-911 and 992-1007, bytes 1028-1039
	 * (908-909 are CET_ATTRIBUTES on CET parts). */
	if (!cpu_all_zero(sig->header.reserved, sizeof(sig->header.reserved)) ||
	    !cpu_all_zero(sig->body.reserved1 + 2, 2) ||
	    !cpu_all_zero(sig->body.reserved2, sizeof(sig->body.reserved2)) ||
	    !cpu_all_zero(sig->reserved4, sizeof(sig->reserved4)))
		return SGX_INVALID_SIG_STRUCT;
	st = sigstruct_verify(sig);
	if (st != SGX_SUCCESS)
		return (long)st;

	secs = secs_page;
	meta = cpu->epcm[sidx].meta;
	/* ISVFAMILYID only means something with Key Separation and Sharing. */
	if (!(secs->attributes.flags & SGX_ATTR_KSS) &&
	    !cpu_all_zero(sig->body.isv_family_id, sizeof(sig->body.isv_family_id)))
		return SGX_INVALID_SIG_STRUCT;
	if (meta->initialized)
		return cpu_gp(f);
	if (measure_digest(meta->mr, mr))
		return cpu_gp(f);
	if (CRYPTO_memcmp(mr, sig->body.mrenclave, 32))
		return SGX_INVALID_MEASUREMENT;
	if (sigstruct_mrsigner(sig, signer))
		return cpu_gp(f);
	if ((secs->attributes.flags & SGX_ATTR_EINITTOKENKEY) &&
	    memcmp(signer, cpu->lepubkeyhash, 32))
		return SGX_INVALID_ATTRIBUTE;
	if ((secs->attributes.flags & sig->body.attributes_mask.flags) !=
		    (sig->body.attributes.flags & sig->body.attributes_mask.flags) ||
	    (secs->attributes.xfrm & sig->body.attributes_mask.xfrm) !=
		    (sig->body.attributes.xfrm & sig->body.attributes_mask.xfrm) ||
	    (secs->miscselect & sig->body.misc_mask) != (sig->body.miscselect & sig->body.misc_mask))
		return SGX_INVALID_ATTRIBUTE;
	if (!(token->valid & 1)) {
		if (memcmp(signer, cpu->lepubkeyhash, 32))
			return SGX_INVALID_EINITTOKEN;
	} else {
		/* A launch enclave's token (Linux never passes one: flexible launch control). */
		long st2 = keys_einittoken_check(cpu, token, secs, mr, signer);

		if (st2 != SGX_SUCCESS)
			return st2 == CPU_FAULT ? cpu_gp(f) : st2;
	}

	memcpy(secs->mrenclave, mr, 32);
	memcpy(secs->mrsigner, signer, 32);
	secs->isv_prod_id = sig->body.isv_prod_id;
	secs->isv_svn = sig->body.isv_svn;
	/* Hidden SECS state the key derivation reads (keys.c). The verified signature began
	 * with exactly this padding. */
	memcpy(meta->padding, keys_pkcs1_padding, sizeof(meta->padding));
	if (secs->attributes.flags & SGX_ATTR_KSS) {
		memcpy(meta->isv_family_id, sig->body.isv_family_id, 16);
		memcpy(meta->isv_ext_prod_id, sig->body.isv_ext_prod_id, 16);
	}
	secs->attributes.flags |= SGX_ATTR_INIT;
	meta->initialized = true;
	return SGX_SUCCESS;
}

long encls_eremove(struct sgx_cpu *cpu, void *epc_pg, struct cpu_fault *f)
{
	struct epcm_entry *e;
	long idx;

	if ((idx = encls_epc_operand(cpu, epc_pg, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	e = &cpu->epcm[idx];
	if (!e->valid)
		return SGX_SUCCESS;
	if (e->type == SGX_PT_SECS) {
		if (atomic_load(&e->meta->children))
			return SGX_CHILD_PRESENT;
		measure_free(e->meta->mr);
		free(e->meta);
		e->meta = NULL;
	} else if (e->type != SGX_PT_VA) {
		struct secs_meta *owner = cpu->epcm[e->secs].meta;

		if (!(e->type == SGX_PT_TRIM && !(e->flags & EPCM_MODIFIED)) &&
		    atomic_load(&owner->active))
			return SGX_ENCLAVE_ACT;
		atomic_fetch_sub(&owner->children, 1);
	}
	e->valid = 0;
	e->flags = 0;
	e->perm = 0;
	e->linaddr = 0;
	memset(epc_pg, 0, SGX_PAGE_SIZE);
	return SGX_SUCCESS;
}
