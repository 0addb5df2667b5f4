/* EPC reclaim: what the kernel's ksgxd and direct reclaim do (arch/x86/kernel/cpu/sgx/main.c:
 * ksgxd, sgx_reclaim_pages, sgx_encl_ewb): pick resident enclave pages, unmap them, EBLOCK,
 * ETRACK plus IPIs, EWB into the enclave's backing store with a version in a VA slot; ELDU
 * brings a page back on fault or ioctl. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver/internal.h"
#include "util/trace.h"

#define NR_TO_SCAN 16
#define VA_SLOTS 512

void epc_owner_set(uint32_t idx, struct sgx_encl *e, uint64_t addr)
{
	sgx_pf.owner[idx].encl = e;
	sgx_pf.owner[idx].addr = addr;
	e->nr_resident++;
}

void epc_owner_clear(uint32_t idx)
{
	struct sgx_encl *e = sgx_pf.owner[idx].encl;

	if (e)
		e->nr_resident--;
	sgx_pf.owner[idx].encl = NULL;
}

long sgx_alloc_epc_page(void)
{
	for (;;) {
		long idx = epc_take_free_page();

		if (idx >= 0)
			return idx;
		if (!sgx_reclaim_pages())
			return -ENOMEM;
	}
}

int sgx_encl_grow(struct sgx_encl *e, bool *grew)
{
	struct cpu_fault f;
	long idx;

	if (grew)
		*grew = false;
	if (e->page_cnt % VA_SLOTS)
		return 0;
	/* Room for every VA page ELRANGE can need, reserved once (the fault path adds pages too,
	 * and may not allocate). */
	if (!e->va) {
		e->cap_va = (uint32_t)(e->size / SGX_PAGE_SIZE / VA_SLOTS + 2);
		e->va = sgx_pf.mm->backing_create((uint64_t)e->cap_va * sizeof(*e->va));
		if (!e->va)
			return -ENOMEM;
	}
	if (e->nr_va == e->cap_va)
		return -ENOMEM;
	idx = sgx_alloc_epc_page();
	if (idx < 0)
		return (int)idx;
	TRACEC(TRACE_PAGING, "EPA: version array page %u of enclave 0x%lx", e->nr_va,
	       (unsigned long)e->base);
	if (encls_epa(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, (uint32_t)idx), &f) != SGX_SUCCESS) {
		sgx_free_epc_page((uint32_t)idx);
		return -EFAULT;
	}
	e->va[e->nr_va].epc = (uint32_t)idx;
	memset(e->va[e->nr_va].free, 0xFF, sizeof(e->va[e->nr_va].free));
	e->nr_va++;
	if (grew)
		*grew = true;
	return 0;
}

void sgx_encl_shrink(struct sgx_encl *e)
{
	struct cpu_fault f;
	struct encl_va *va;

	if (!e->nr_va)
		return;
	va = &e->va[e->nr_va - 1];
	for (unsigned w = 0; w < 8; w++)
		if (va->free[w] != ~0ULL)
			return; /* in use: keep it */
	if (encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, va->epc), &f) == SGX_SUCCESS)
		sgx_free_epc_page(va->epc);
	e->nr_va--;
}

static uint64_t *va_slot_take(struct sgx_encl *e, struct encl_page *p)
{
	for (uint32_t i = 0; i < e->nr_va; i++) {
		for (unsigned w = 0; w < 8; w++) {
			uint64_t bits = e->va[i].free[w];

			if (bits) {
				unsigned b = (unsigned)__builtin_ctzll(bits);

				e->va[i].free[w] &= ~(1ULL << b);
				p->va = i;
				p->va_slot = (uint16_t)(w * 64 + b);
				return (uint64_t *)epc_page(&sgx_pf.cpu, e->va[i].epc) + p->va_slot;
			}
		}
	}
	return NULL;
}

void encl_va_slot_free(struct sgx_encl *e, struct encl_page *p)
{
	if (!p->swapped)
		return;
	e->va[p->va].free[p->va_slot / 64] |= 1ULL << (p->va_slot % 64);
	p->swapped = 0;
	e->nr_swapped--;
}

static uint64_t page_index(const struct sgx_encl *e, uint64_t addr)
{
	return (addr - e->base) / SGX_PAGE_SIZE;
}

static uint8_t *backing_page(const struct sgx_encl *e, uint64_t addr)
{
	return e->backing + page_index(e, addr) * SGX_PAGE_SIZE;
}

static struct sgx_pcmd *backing_pcmd(const struct sgx_encl *e, uint64_t addr)
{
	return (struct sgx_pcmd *)(e->backing + e->size) + page_index(e, addr);
}

static uint8_t *backing_secs(const struct sgx_encl *e)
{
	return e->backing + ENCL_BACKING_SECS_OFF(e->size);
}

/* Once an initialised enclave has no page in the EPC, its SECS follows (the kernel does the
 * same), with a VA slot of the enclave's own. */
static void encl_secs_evict(struct sgx_encl *e)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct encl_page slot_owner = { 0 };
	struct cpu_fault f;
	uint64_t *slot;
	long r;

	if (e->secs_out || !(e->flags & ENCL_INITIALIZED) || (e->flags & ENCL_DEAD) ||
	    e->nr_resident)
		return;
	slot = va_slot_take(e, &slot_owner);
	if (!slot)
		return;
	memset(&pi, 0, sizeof(pi));
	pi.srcpge = (uintptr_t)backing_secs(e);
	pi.secinfo = (uintptr_t)(backing_secs(e) + SGX_PAGE_SIZE);
	r = encls_ewb(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, e->secs), slot, &f);
	TRACEC(TRACE_PAGING, "EWB SECS 0x%lx -> %s", (unsigned long)e->base,
	       r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	if (r != SGX_SUCCESS && r != SGX_VA_SLOT_OCCUPIED) {
		e->va[slot_owner.va].free[slot_owner.va_slot / 64] |= 1ULL << (slot_owner.va_slot % 64);
		return;
	}
	sgx_free_epc_page(e->secs);
	e->secs = EPC_NONE;
	e->secs_out = true;
	e->secs_va = slot_owner.va;
	e->secs_va_slot = slot_owner.va_slot;
	sgx_pf.swapped_out++;
}

int encl_secs_reload(struct sgx_encl *e)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct cpu_fault f;
	uint64_t *slot;
	long idx, r;

	if (!e->secs_out)
		return 0;
	idx = sgx_alloc_epc_page();
	if (idx < 0)
		return (int)idx;
	slot = (uint64_t *)epc_page(&sgx_pf.cpu, e->va[e->secs_va].epc) + e->secs_va_slot;
	memset(&pi, 0, sizeof(pi));
	pi.srcpge = (uintptr_t)backing_secs(e);
	pi.secinfo = (uintptr_t)(backing_secs(e) + SGX_PAGE_SIZE);
	r = encls_eldu(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, (uint32_t)idx), slot, &f);
	TRACEC(TRACE_PAGING, "ELDU SECS 0x%lx -> %s", (unsigned long)e->base,
	       r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	if (r != SGX_SUCCESS) {
		sgx_free_epc_page((uint32_t)idx);
		return -EFAULT;
	}
	e->va[e->secs_va].free[e->secs_va_slot / 64] |= 1ULL << (e->secs_va_slot % 64);
	e->secs = (uint32_t)idx;
	e->secs_out = false;
	sgx_pf.swapped_in++;
	return 0;
}

struct victim {
	struct sgx_encl *encl;
	struct encl_page *page;
	uint64_t addr;
	uint32_t epc;
};

static bool reclaimable(uint32_t idx, struct victim *v)
{
	const struct epc_owner *o = &sgx_pf.owner[idx];
	const struct epcm_entry *m = &sgx_pf.cpu.epcm[idx];
	struct encl_page *p;

	if (!o->encl || (o->encl->flags & (ENCL_DEAD | ENCL_RELEASING)) || !m->valid ||
	    atomic_load(&m->busy) ||
	    atomic_load(&m->pins) ||
	    (m->type != SGX_PT_REG && m->type != SGX_PT_TCS && m->type != SGX_PT_TRIM))
		return false;
	p = encl_page_lookup(o->encl, o->addr);
	if (!p || p->epc != idx)
		return false;
	v->encl = o->encl;
	v->page = p;
	v->addr = o->addr;
	v->epc = idx;
	return true;
}

/* Give up on evicting a blocked page whose tracking never completed (a thread inside could
 * not be forced out): leave it resident. Not an SDM operation; the kernel would lose the
 * page instead. */
static void eviction_abort(struct victim *v)
{
	sgx_pf.cpu.epcm[v->epc].flags &= ~EPCM_BLOCKED;
	vma_refresh_page(v->encl, v->addr);
}

static bool evict(struct victim *v)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_encl *e = v->encl;
	struct cpu_fault f;
	uint64_t *slot = va_slot_take(e, v->page);
	long r;

	if (!slot) {
		eviction_abort(v);
		return false;
	}
	memset(&pi, 0, sizeof(pi));
	pi.srcpge = (uintptr_t)backing_page(e, v->addr);
	pi.secinfo = (uintptr_t)backing_pcmd(e, v->addr);
	r = encls_ewb(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, v->epc), slot, &f);
	if (r == SGX_NOT_TRACKED) {
		/* The IPIs were not enough: one more tracking cycle, then give up. */
		encls_etrack(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, e->secs), &f);
		sgx_pf.mm->ipi(e->secs, atomic_load(&sgx_pf.cpu.epcm[e->secs].meta->epoch));
		r = encls_ewb(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, v->epc), slot, &f);
	}
	TRACEC(TRACE_PAGING, "EWB 0x%lx -> %s", (unsigned long)v->addr,
	       r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	if (r != SGX_SUCCESS && r != SGX_VA_SLOT_OCCUPIED) {
		e->va[v->page->va].free[v->page->va_slot / 64] |= 1ULL << (v->page->va_slot % 64);
		eviction_abort(v);
		return false;
	}
	epc_owner_clear(v->epc);
	sgx_free_epc_page(v->epc);
	v->page->epc = EPC_NONE;
	v->page->pte = 0;
	v->page->swapped = 1;
	e->nr_swapped++;
	sgx_pf.swapped_out++;
	encl_secs_evict(e);
	return true;
}

unsigned sgx_reclaim_pages(void)
{
	struct victim vs[NR_TO_SCAN];
	unsigned n = 0, freed = 0;
	uint64_t pages = sgx_pf.cpu.epc_pages;
	drv_assert_locked(&sgx_pf.lock);
	struct cpu_fault f;

	/* A clock over the EPC: the kernel ages pages by their accessed bits, which a user-space
	 * emulator cannot read, so this is plain round robin. */
	for (uint64_t scanned = 0; scanned < pages && n < NR_TO_SCAN; scanned++) {
		uint32_t idx = (uint32_t)(sgx_pf.clock++ % pages);

		if (reclaimable(idx, &vs[n]))
			n++;
	}
	for (unsigned i = 0; i < n; i++) {
		struct drv_vma *v = vma_find_kind(vs[i].addr, &encl_vm_ops);

		/* Zap the PTE only where an enclave mapping holds it. */
		if (v && v->encl == vs[i].encl)
			sgx_pf.mm->map_none(vs[i].addr, SGX_PAGE_SIZE);
		vs[i].page->pte = 0;
		if (encls_eblock(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, vs[i].epc), &f) != SGX_SUCCESS)
			vs[i].encl = NULL;
	}
	/* One tracking cycle per enclave in the batch. */
	for (unsigned i = 0; i < n; i++) {
		struct sgx_encl *e = vs[i].encl;
		bool seen = false;

		if (!e)
			continue;
		for (unsigned j = 0; j < i; j++)
			seen |= vs[j].encl == e;
		if (seen)
			continue;
		if (encls_etrack(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, e->secs), &f) != SGX_SUCCESS) {
			sgx_pf.mm->ipi(e->secs, atomic_load(&sgx_pf.cpu.epcm[e->secs].meta->epoch));
			encls_etrack(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, e->secs), &f);
		}
		sgx_pf.mm->ipi(e->secs, atomic_load(&sgx_pf.cpu.epcm[e->secs].meta->epoch));
	}
	for (unsigned i = 0; i < n; i++)
		if (vs[i].encl && evict(&vs[i]))
			freed++;
	TRACEC(TRACE_PAGING, "reclaim: %u pages chosen (EBLOCK, ETRACK), %u written out", n, freed);
	return freed;
}

int sgx_encl_eldu(struct sgx_encl *e, struct encl_page *p, uint64_t addr)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct cpu_fault f;
	uint64_t *slot;
	long idx, r;

	if (!p->swapped)
		return -EFAULT;
	r = encl_secs_reload(e);
	if (r)
		return (int)r;
	idx = sgx_alloc_epc_page();
	if (idx < 0)
		return (int)idx;
	slot = (uint64_t *)epc_page(&sgx_pf.cpu, e->va[p->va].epc) + p->va_slot;
	memset(&pi, 0, sizeof(pi));
	pi.linaddr = addr;
	pi.srcpge = (uintptr_t)backing_page(e, addr);
	pi.secinfo = (uintptr_t)backing_pcmd(e, addr);
	pi.secs = (uintptr_t)epc_page(&sgx_pf.cpu, e->secs);
	r = encls_eldu(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, (uint32_t)idx), slot, &f);
	TRACEC(TRACE_PAGING, "ELDU 0x%lx -> %s", (unsigned long)addr,
	       r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	if (r != SGX_SUCCESS) {
		sgx_free_epc_page((uint32_t)idx);
		return -EFAULT;
	}
	encl_va_slot_free(e, p);
	p->epc = (uint32_t)idx;
	epc_owner_set((uint32_t)idx, e, addr);
	sgx_pf.swapped_in++;
	sgx_pf.mm->backing_discard(backing_page(e, addr), SGX_PAGE_SIZE);
	vma_refresh_page(e, addr);
	return 0;
}

void encl_paging_release(struct sgx_encl *e)
{
	struct cpu_fault f;

	for (uint32_t i = 0; i < e->nr_va; i++) {
		if (encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, e->va[i].epc), &f) == SGX_SUCCESS)
			sgx_free_epc_page(e->va[i].epc);
	}
	if (e->va)
		sgx_pf.mm->backing_destroy(e->va, (uint64_t)e->cap_va * sizeof(*e->va));
	e->va = NULL;
	e->nr_va = 0;
	if (e->backing)
		sgx_pf.mm->backing_destroy(e->backing, e->backing_len);
	e->backing = NULL;
}

void sgx_stats_get(struct sgx_stats *s)
{
	drv_lock(&sgx_pf.lock);
	s->epc_pages = sgx_pf.cpu.epc_pages;
	s->free_pages = sgx_pf.nr_free;
	s->swapped_out = sgx_pf.swapped_out;
	s->swapped_in = sgx_pf.swapped_in;
	drv_unlock(&sgx_pf.lock);
}
