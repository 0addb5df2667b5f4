/* EPC paging: EPA, EBLOCK, EWB, ELDU/ELDB (SDM Vol. 3D ch. 38 and the EPC management chapter).
 * A page leaves the EPC encrypted and MACed with AES-GCM under a per-boot paging key; the
 * version that makes the IV stays behind in a VA slot, so a blob loads once, unaltered, only
 * with the enclave it came from. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cpu/cpu.h"
#include "cpu/fault.h"
#include "cpu/measure.h"


int cpu_paging_init(struct sgx_cpu *cpu)
{
	uint8_t key[16];

	if (RAND_bytes(key, sizeof(key)) != 1)
		return -1;
	cpu->paging_ctx = EVP_CIPHER_CTX_new();
	if (!cpu->paging_ctx ||
	    EVP_CipherInit_ex(cpu->paging_ctx, EVP_aes_128_gcm(), NULL, key, NULL, 1) != 1) {
		EVP_CIPHER_CTX_free(cpu->paging_ctx);
		cpu->paging_ctx = NULL;
		return -1;
	}
	memset(key, 0, sizeof(key));
	atomic_store(&cpu->paging_version, 1);
	return 0;
}

void cpu_secs_discard(struct sgx_cpu *cpu, uint64_t eid)
{
	struct secs_meta **pp, *m;

	for (pp = &cpu->parked; *pp && (*pp)->eid != eid; pp = &(*pp)->parked_next)
		;
	if (!*pp)
		return;
	m = *pp;
	*pp = m->parked_next;
	measure_free(m->mr);
	free(m);
}

long encls_epa(struct sgx_cpu *cpu, void *epc_pg, struct cpu_fault *f)
{
	struct epcm_entry *e;
	long idx;

	if ((idx = encls_epc_operand(cpu, epc_pg, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	e = &cpu->epcm[idx];
	if (e->valid)
		return cpu_pf(f, (uintptr_t)(epc_pg), X86_PF_SGX | X86_PF_P);
	memset(epc_pg, 0, SGX_PAGE_SIZE);
	memset(e, 0, sizeof(*e));
	e->type = SGX_PT_VA;
	e->valid = 1;
	return SGX_SUCCESS;
}

long encls_eblock(struct sgx_cpu *cpu, void *epc_pg, struct cpu_fault *f)
{
	struct epcm_entry *e;
	long idx;

	if ((idx = encls_epc_operand(cpu, epc_pg, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	e = &cpu->epcm[idx];
	if (!e->valid)
		return SGX_PG_INVLD;
	if (e->type == SGX_PT_SECS)
		return SGX_PG_IS_SECS;
	if (e->type != SGX_PT_REG && e->type != SGX_PT_TCS && e->type != SGX_PT_TRIM)
		return SGX_NOTBLOCKABLE;
	if (e->flags & EPCM_BLOCKED)
		return SGX_BLKSTATE;
	e->flags |= EPCM_BLOCKED;
	e->bepoch = atomic_load(&cpu->epcm[e->secs].meta->epoch);
	return SGX_SUCCESS;
}

/* The 128-byte header the MAC covers: what the page is, where it lives, whose it is. */
struct paging_header {
	uint64_t flags;   /* SECINFO.FLAGS rebuilt from the EPCM */
	uint64_t linaddr;
	uint64_t eid;
	uint8_t pcmd_reserved[40];
	uint8_t pad[64];
};
_Static_assert(sizeof(struct paging_header) == 128, "paging header");

static uint64_t epcm_secinfo_flags(const struct epcm_entry *e)
{
	uint64_t fl = (uint64_t)e->type << SGX_SECINFO_TYPE_SHIFT | e->perm;

	if (e->flags & EPCM_PENDING)
		fl |= SGX_SECINFO_PENDING;
	if (e->flags & EPCM_MODIFIED)
		fl |= SGX_SECINFO_MODIFIED;
	if (e->flags & EPCM_PR)
		fl |= SGX_SECINFO_PR;
	return fl;
}

static void iv_of(uint64_t version, uint8_t iv[12])
{
	memset(iv, 0, 4);
	memcpy(iv + 4, &version, 8);
}

static int gcm(struct sgx_cpu *cpu, int enc, uint64_t version, const struct paging_header *h,
	       const uint8_t *in, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = cpu->paging_ctx;
	uint8_t iv[12];
	int n = 0;

	iv_of(version, iv);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, (const uint8_t *)h, sizeof(*h)) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, SGX_PAGE_SIZE) != 1)
		return -1;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return -1;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		return -1;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return -1;
	return 0;
}

/* The VA slot operand: 8-byte aligned inside a valid VA page, not the page being moved. */
static long va_slot_check(struct sgx_cpu *cpu, uint64_t *slot, const void *epc_pg, struct cpu_fault *f)
{
	long vidx;

	if ((vidx = encls_epc_operand(cpu, slot, 8, f)) < 0)
		return CPU_FAULT;
	if (epc_index(cpu, epc_pg) == vidx)
		return cpu_gp(f);
	if (!cpu->epcm[vidx].valid || cpu->epcm[vidx].type != SGX_PT_VA)
		return cpu_pf(f, (uintptr_t)(slot), X86_PF_SGX | X86_PF_P);
	return 0;
}

long encls_ewb(struct sgx_cpu *cpu, struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
	       struct cpu_fault *f)
{
	struct paging_header h;
	struct sgx_pcmd *pcmd;
	struct epcm_entry *e;
	uint64_t version, eid = 0, pcmd_eid = 0;
	long idx, r;
	bool occupied;

	if (!cpu_aligned((uintptr_t)pi, 32))
		return cpu_gp(f);
	if ((idx = encls_epc_operand(cpu, epc_pg, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	if ((r = va_slot_check(cpu, va_slot, epc_pg, f)))
		return r;
	if (pi->linaddr || pi->secs || !cpu_aligned(pi->secinfo, 128) || !cpu_aligned(pi->srcpge, SGX_PAGE_SIZE))
		return cpu_gp(f);
	e = &cpu->epcm[idx];
	if (!e->valid)
		return cpu_pf(f, (uintptr_t)(epc_pg), X86_PF_SGX | X86_PF_P);
	if (e->type == SGX_PT_SECS) {
		if (atomic_load(&e->meta->children))
			return SGX_CHILD_PRESENT;
		pcmd_eid = e->meta->eid;
	} else if (e->type != SGX_PT_VA) {
		const struct secs_meta *m = cpu->epcm[e->secs].meta;

		if (!(e->flags & EPCM_BLOCKED))
			return SGX_PAGE_NOT_BLOCKED;
		if (!secs_tracking_done(m, e->bepoch))
			return SGX_NOT_TRACKED;
		eid = pcmd_eid = m->eid;
	}
	memset(&h, 0, sizeof(h));
	h.flags = epcm_secinfo_flags(e);
	h.linaddr = e->linaddr;
	h.eid = eid;
	pcmd = (struct sgx_pcmd *)(uintptr_t)pi->secinfo;
	version = atomic_fetch_add(&cpu->paging_version, 1);
	if (gcm(cpu, 1, version, &h, epc_pg, (uint8_t *)(uintptr_t)pi->srcpge, pcmd->mac))
		return cpu_gp(f);
	memset(&pcmd->secinfo, 0, sizeof(pcmd->secinfo));
	pcmd->secinfo.flags = h.flags;
	pcmd->enclave_id = pcmd_eid;
	memset(pcmd->reserved, 0, sizeof(pcmd->reserved));
	pi->linaddr = e->linaddr;
	occupied = *va_slot != 0;
	*va_slot = version;
	if (e->type != SGX_PT_SECS && e->type != SGX_PT_VA)
		atomic_fetch_sub(&cpu->epcm[e->secs].meta->children, 1);
	if (e->type == SGX_PT_SECS) {
		e->meta->parked_next = cpu->parked;
		cpu->parked = e->meta;
		e->meta = NULL;
	}
	e->valid = 0;
	memset(epc_pg, 0, SGX_PAGE_SIZE);
	return occupied ? SGX_VA_SLOT_OCCUPIED : SGX_SUCCESS;
}

/* ELDB is ELDU that leaves a child page BLOCKED. */
static long eld(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
		struct cpu_fault *f, bool blocked);

long encls_eldu(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
		struct cpu_fault *f)
{
	return eld(cpu, pi, epc_pg, va_slot, f, false);
}

long encls_eldb(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
		struct cpu_fault *f)
{
	return eld(cpu, pi, epc_pg, va_slot, f, true);
}

static long eld(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
		struct cpu_fault *f, bool blocked)
{
	const struct sgx_pcmd *pcmd;
	struct paging_header h;
	struct epcm_entry *e;
	uint64_t fl, type;
	uint8_t tag[16];
	long idx, sidx = -1, r;

	if (!cpu_aligned((uintptr_t)pi, 32))
		return cpu_gp(f);
	if ((idx = encls_epc_operand(cpu, epc_pg, SGX_PAGE_SIZE, f)) < 0)
		return CPU_FAULT;
	if ((r = va_slot_check(cpu, va_slot, epc_pg, f)))
		return r;
	if (!cpu_aligned(pi->secinfo, 128) || !cpu_aligned(pi->srcpge, SGX_PAGE_SIZE))
		return cpu_gp(f);
	e = &cpu->epcm[idx];
	if (e->valid)
		return cpu_pf(f, (uintptr_t)(epc_pg), X86_PF_SGX | X86_PF_P);
	pcmd = (const struct sgx_pcmd *)(uintptr_t)pi->secinfo;
	fl = pcmd->secinfo.flags;
	type = (fl & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT;
	memset(&h, 0, sizeof(h));
	h.flags = fl;
	h.linaddr = pi->linaddr;
	memcpy(h.pcmd_reserved, pcmd->reserved, sizeof(h.pcmd_reserved));
	if (type == SGX_PT_VA)
		return cpu_gp(f);
	if (type == SGX_PT_SECS) {
		struct secs_meta **pp;

		if (pi->secs)
			return cpu_gp(f);
		memcpy(tag, pcmd->mac, 16);
		if (gcm(cpu, 0, *va_slot, &h, (const uint8_t *)(uintptr_t)pi->srcpge, epc_pg, tag)) {
			memset(epc_pg, 0, SGX_PAGE_SIZE);
			return SGX_MAC_COMPARE_FAIL;
		}
		for (pp = &cpu->parked; *pp && (*pp)->eid != pcmd->enclave_id; pp = &(*pp)->parked_next)
			;
		if (!*pp) {
			memset(epc_pg, 0, SGX_PAGE_SIZE);
			return SGX_MAC_COMPARE_FAIL;
		}
		*va_slot = 0;
		memset(e, 0, sizeof(*e));
		e->type = SGX_PT_SECS;
		e->secs = (uint32_t)idx;
		e->meta = *pp;
		*pp = (*pp)->parked_next;
		e->meta->parked_next = NULL;
		e->valid = 1;
		return SGX_SUCCESS;
	}
	if (!cpu_aligned(pi->secs, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if ((sidx = epc_index(cpu, (void *)(uintptr_t)pi->secs)) < 0)
		return cpu_pf(f, (uintptr_t)((void *)(uintptr_t)pi->secs), X86_PF_P);
	if (!cpu->epcm[sidx].valid || cpu->epcm[sidx].type != SGX_PT_SECS)
		return cpu_pf(f, (uintptr_t)((void *)(uintptr_t)pi->secs), X86_PF_SGX | X86_PF_P);
	h.eid = cpu->epcm[sidx].meta->eid;
	memcpy(tag, pcmd->mac, 16);
	if (gcm(cpu, 0, *va_slot, &h, (const uint8_t *)(uintptr_t)pi->srcpge, epc_pg, tag)) {
		memset(epc_pg, 0, SGX_PAGE_SIZE);
		return SGX_MAC_COMPARE_FAIL;
	}
	*va_slot = 0;
	memset(e, 0, sizeof(*e));
	e->type = (uint8_t)type;
	e->perm = (uint8_t)(fl & SGX_SECINFO_PERM_MASK);
	if (fl & SGX_SECINFO_PENDING)
		e->flags |= EPCM_PENDING;
	if (fl & SGX_SECINFO_MODIFIED)
		e->flags |= EPCM_MODIFIED;
	if (fl & SGX_SECINFO_PR)
		e->flags |= EPCM_PR;
	if (blocked)
		e->flags |= EPCM_BLOCKED;
	e->linaddr = pi->linaddr;
	e->secs = (uint32_t)sidx;
	e->valid = 1;
	atomic_fetch_add(&cpu->epcm[sidx].meta->children, 1);
	return SGX_SUCCESS;
}
