/* The platform, device files and the enclave object: page table, references, release. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "driver/internal.h"
#include "driver/vepc.h"
#include "util/trace.h"

struct sgx_platform sgx_pf;

int epc_alloc_init(uint64_t npages);

/* The cpu's view of the page tables at la: the VMA's kind decides (an enclave page, a guest
 * enclave's page in a vEPC mapping), nothing outside the driver's mappings. */
static uint32_t drv_translate(void *ctx, uint64_t la, bool write, uint32_t *idx)
{
	struct drv_vma *v = vma_find(la);

	(void)ctx;
	if (!v)
		return X86_PF_U | (write ? X86_PF_W : 0);
	return v->ops->translate(v, la, write, idx);
}

/* An enclave page is reachable at la when the mapping covers la, the page is resident, and
 * the mapping allows the access. */
uint32_t encl_vma_translate(const struct drv_vma *v, uint64_t la, bool write, uint32_t *idx)
{
	struct encl_page *p;
	uint32_t err = X86_PF_U | (write ? X86_PF_W : 0);

	drv_assert_locked(&sgx_pf.lock);
	p = encl_page_lookup(v->encl, la);
	if (!p || p->epc == EPC_NONE)
		return err;
	if ((write && !(v->prot & PROT_WRITE)) || !(v->prot & PROT_READ))
		return err | X86_PF_P;
	*idx = p->epc;
	return 0;
}

static void drv_epcm_changed(void *ctx, uint64_t la)
{
	struct drv_vma *v = vma_find(la);

	(void)ctx;
	if (v)
		v->ops->epcm_changed(v, la & SGX_PAGE_MASK);
}

int sgx_platform_init(uint8_t *epc, uint64_t npages, const struct cpu_features *feat,
		      const struct drv_mm *mm)
{
	if (sgx_pf.ready)
		return 0;
	if (cpu_init(&sgx_pf.cpu, epc, npages, feat) || epc_alloc_init(npages) ||
	    cpu_paging_init(&sgx_pf.cpu))
		return -ENOMEM;
	sgx_pf.owner = calloc(npages, sizeof(*sgx_pf.owner));
	if (!sgx_pf.owner)
		return -ENOMEM;
	sgx_pf.cpu.mmu.translate = drv_translate;
	sgx_pf.cpu.mmu.epcm_changed = drv_epcm_changed;
	sgx_pf.mm = mm;
	sgx_pf.ready = true;
	return 0;
}

void sgx_platform_lock(void)
{
	drv_lock(&sgx_pf.lock);
}

void sgx_platform_unlock(void)
{
	drv_unlock(&sgx_pf.lock);
}

bool sgx_platform_ready(void)
{
	return sgx_pf.ready;
}

struct sgx_cpu *sgx_platform_cpu(void)
{
	return &sgx_pf.cpu;
}

struct sgx_file *sgx_open(enum sgx_file_kind kind, int *err)
{
	struct sgx_file *f;

	drv_lock(&sgx_pf.lock);
	encl_reap();
	drv_unlock(&sgx_pf.lock);
	f = calloc(1, sizeof(*f));

	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	f->kind = kind;
	atomic_init(&f->refs, 1);
	if (kind == SGX_FILE_ENCLAVE) {
		f->encl = calloc(1, sizeof(*f->encl));
		if (!f->encl) {
			free(f);
			*err = -ENOMEM;
			return NULL;
		}
		f->encl->refs = 1;
		f->encl->secs = EPC_NONE;
	} else if (kind == SGX_FILE_VEPC) {
		drv_lock(&sgx_pf.lock);
		f->vepc = vepc_create();
		drv_unlock(&sgx_pf.lock);
		if (!f->vepc) {
			free(f);
			*err = -ENODEV;
			return NULL;
		}
	}
	return f;
}

enum sgx_file_kind sgx_file_kind(const struct sgx_file *f)
{
	return f->kind;
}

void sgx_file_get(struct sgx_file *f)
{
	atomic_fetch_add(&f->refs, 1);
}

void sgx_file_put(struct sgx_file *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (f->encl)
		encl_put(f->encl);
	if (f->vepc)
		vepc_release(f->vepc);
	drv_unlock(&sgx_pf.lock);
	free(f);
}

/* Page numbers below 2^(9 * (levels + 1)): a leaf takes 9 bits, each level 9 more. */
#define PT_SHIFT 9
#define PT_LEAF_BYTES (ENCL_LEAF_PAGES * sizeof(struct encl_page))
#define PT_NODE_BYTES (ENCL_PT_FANOUT * sizeof(void *))

void encl_pt_init(struct sgx_encl *e, uint64_t size)
{
	uint64_t pages = size / SGX_PAGE_SIZE;

	e->pt_root = NULL;
	e->pt_levels = 1;
	while (e->pt_levels < 6 && (pages - 1) >> (PT_SHIFT * (e->pt_levels + 1)))
		e->pt_levels++;
}

static unsigned pt_index(uint64_t n, unsigned lvl)
{
	return (unsigned)(n >> (PT_SHIFT * lvl)) & (ENCL_PT_FANOUT - 1);
}

struct encl_page *encl_page_lookup(struct sgx_encl *e, uint64_t addr)
{
	void **node = e->pt_root;
	struct encl_page *leaf;
	uint64_t n;

	drv_assert_locked(&sgx_pf.lock);
	if (!node || addr < e->base || addr - e->base >= e->size)
		return NULL;
	n = (addr - e->base) / SGX_PAGE_SIZE;
	for (unsigned lvl = e->pt_levels; lvl > 1 && node; lvl--)
		node = node[pt_index(n, lvl)];
	leaf = node ? node[pt_index(n, 1)] : NULL;
	if (!leaf || !leaf[n % ENCL_LEAF_PAGES].tracked)
		return NULL;
	return &leaf[n % ENCL_LEAF_PAGES];
}

struct encl_page *encl_page_create(struct sgx_encl *e, uint64_t addr)
{
	uint64_t n = (addr - e->base) / SGX_PAGE_SIZE;
	void **slot = (void **)&e->pt_root;
	struct encl_page *leaf;

	/* EAUG on fault gets here in a signal handler: zeroed memory from the mm, not malloc. */
	for (unsigned lvl = e->pt_levels + 1; lvl >= 1; lvl--) {
		if (!*slot) {
			*slot = sgx_pf.mm->backing_create(lvl == 1 ? PT_LEAF_BYTES : PT_NODE_BYTES);
			if (!*slot)
				return NULL;
		}
		if (lvl == 1)
			break;
		slot = &((void **)*slot)[pt_index(n, lvl - 1)];
	}
	leaf = *slot;
	return &leaf[n % ENCL_LEAF_PAGES];
}

struct encl_page *encl_page_next(struct sgx_encl *e, uint64_t *addr, uint64_t end)
{
	uint64_t lo = *addr > e->base ? *addr : e->base;
	uint64_t hi = end < e->base + e->size ? end : e->base + e->size;
	uint64_t n, end_n;

	if (!e->pt_root || lo >= hi)
		return NULL;
	n = (lo - e->base) / SGX_PAGE_SIZE;
	end_n = (hi - e->base + SGX_PAGE_SIZE - 1) / SGX_PAGE_SIZE;
	while (n < end_n) {
		void **node = e->pt_root;
		struct encl_page *leaf = NULL;
		unsigned lvl;

		for (lvl = e->pt_levels; lvl >= 1; lvl--) {
			void *next = node[pt_index(n, lvl)];

			if (!next)
				break;
			if (lvl == 1)
				leaf = next;
			else
				node = next;
		}
		if (!leaf) {
			/* Nothing below this slot: skip what it would cover. */
			uint64_t span = 1ULL << (PT_SHIFT * lvl);

			n = (n & ~(span - 1)) + span;
			continue;
		}
		for (; n < end_n; n++) {
			if (leaf[n % ENCL_LEAF_PAGES].tracked) {
				*addr = e->base + n * SGX_PAGE_SIZE;
				return &leaf[n % ENCL_LEAF_PAGES];
			}
			if (n % ENCL_LEAF_PAGES == ENCL_LEAF_PAGES - 1) {
				n++;
				break;
			}
		}
	}
	return NULL;
}

int encl_pte_prot(const struct sgx_encl *e, const struct encl_page *p, int vma_prot)
{
	const struct epcm_entry *m;

	(void)e;
	if (!p || p->epc == EPC_NONE)
		return PROT_NONE;
	m = &sgx_pf.cpu.epcm[p->epc];
	if (!m->valid || m->type != SGX_PT_REG || (m->flags & (EPCM_PENDING | EPCM_MODIFIED)))
		return PROT_NONE;
	return vma_prot & m->perm & VM_RWX;
}

static void encl_remove_page(struct sgx_encl *e, struct encl_page *p)
{
	struct cpu_fault f;

	if (p->epc != EPC_NONE && !(e->flags & ENCL_DEAD)) {
		long r = encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, p->epc), &f);

		epc_owner_clear(p->epc);
		if (r != SGX_SUCCESS) {
			/* The kernel leaks the page and warns; do the same, never reuse it. */
			sgxemu_err("EREMOVE returned %ld and an EPC page was leaked", r);
		} else {
			sgx_free_epc_page(p->epc);
		}
	}
	if (!(e->flags & ENCL_DEAD))
		encl_va_slot_free(e, p);
	memset(p, 0, sizeof(*p));
	p->epc = EPC_NONE;
	e->page_cnt--;
}

/* Remove every page below node (a level-lvl node, 1 = the level above leaves) and give the
 * table's memory back. */
static void pt_release(struct sgx_encl *e, void **node, unsigned lvl)
{
	for (unsigned i = 0; i < ENCL_PT_FANOUT; i++) {
		struct encl_page *leaf;

		if (!node[i])
			continue;
		if (lvl > 1) {
			pt_release(e, node[i], lvl - 1);
			continue;
		}
		leaf = node[i];
		for (unsigned j = 0; j < ENCL_LEAF_PAGES; j++)
			if (leaf[j].tracked)
				encl_remove_page(e, &leaf[j]);
		sgx_pf.mm->backing_destroy(leaf, PT_LEAF_BYTES);
	}
	sgx_pf.mm->backing_destroy(node, PT_NODE_BYTES);
}

static void sgx_encl_release(struct sgx_encl *e)
{
	struct cpu_fault f;
	unsigned long pages = e->page_cnt ? e->page_cnt - 1 : 0; /* page_cnt counts the SECS */

	if (e->pt_root)
		pt_release(e, e->pt_root, e->pt_levels);
	e->pt_root = NULL;
	if (!(e->flags & ENCL_DEAD))
		encl_paging_release(e);
	if (e->secs_out && !(e->flags & ENCL_DEAD))
		cpu_secs_discard(&sgx_pf.cpu, e->eid);
	else if (e->secs != EPC_NONE && !(e->flags & ENCL_DEAD)) {
		if (encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, e->secs), &f) == SGX_SUCCESS)
			sgx_free_epc_page(e->secs);
		else
			sgxemu_err("EREMOVE of a SECS failed and an EPC page was leaked");
	}
	if (e->flags & ENCL_CREATED)
		encl_unregister(e);
	stat_publish();
	/* One line for the teardown's EREMOVEs rather than one per page. */
	TRACEC(TRACE_MM | TRACE_ENCLS, "enclave 0x%lx released: %lu pages and the SECS removed "
	       "(EREMOVE of those resident)",
	       (unsigned long)e->base, pages);
	free(e);
}

/* Whether a logical processor is in enclave mode on e (a thread waiting in one of our traps
 * counts: it still holds its TCS and SSA until its AEX). */
static bool encl_threads_inside(const struct sgx_encl *e)
{
	const struct secs_meta *m;

	if (!(e->flags & ENCL_INITIALIZED) || (e->flags & ENCL_DEAD) || e->secs == EPC_NONE)
		return false;
	m = sgx_pf.cpu.epcm[e->secs].meta;
	return m && atomic_load(&m->active);
}

/* Called with the driver lock held. On hardware no thread is inside when the last mapping
 * goes (the unmap's TLB shootdown made them exit); here one may still be on its way out of
 * an emulator trap: EREMOVE would fail with SGX_ENCLAVE_ACT and leak the EPC, so the enclave
 * waits for it. */
void encl_put(struct sgx_encl *e)
{
	drv_assert_locked(&sgx_pf.lock);
	if (--e->refs)
		return;
	if (encl_threads_inside(e)) {
		TRACEC(TRACE_MM, "enclave 0x%lx: last reference gone with threads inside; released when they leave",
		      (unsigned long)e->base);
		e->flags |= ENCL_RELEASING;
		e->next_releasing = sgx_pf.releasing;
		sgx_pf.releasing = e;
		return;
	}
	sgx_encl_release(e);
}

void encl_reap(void)
{
	drv_assert_locked(&sgx_pf.lock);
	for (struct sgx_encl **pp = &sgx_pf.releasing; *pp;) {
		struct sgx_encl *e = *pp;

		if (encl_threads_inside(e)) {
			pp = &e->next_releasing;
			continue;
		}
		*pp = e->next_releasing;
		sgx_encl_release(e);
	}
}

/* Zero a large table of ours cheaply: the page-aligned middle by the mm (fresh zero pages,
 * nothing copied from the parent), the edges by hand. */
static void zero_table(void *p, uint64_t len)
{
	uint8_t *b = p;
	uint8_t *lo = (uint8_t *)(((uintptr_t)b + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	uint8_t *hi = (uint8_t *)(((uintptr_t)b + len) & SGX_PAGE_MASK);

	if (!sgx_pf.mm->zero_pages || hi <= lo) {
		memset(p, 0, len);
		return;
	}
	memset(b, 0, (size_t)(lo - b));
	sgx_pf.mm->zero_pages(lo, (uint64_t)(hi - lo));
	memset(hi, 0, (size_t)(b + len - hi));
}

void sgx_fork_prepare(void)
{
	drv_lock(&sgx_pf.lock);
}

void sgx_fork_parent(void)
{
	drv_unlock(&sgx_pf.lock);
}

void sgx_fork_child(uint8_t *epc)
{
	size_t kept = 0;

	/* The parent's fork held the lock (sgx_fork_prepare): the driver is consistent, and
	 * the lock's owner id is the parent thread's. */
	drv_lock_reset(&sgx_pf.lock);
	if (!sgx_pf.ready)
		return;
	drv_lock(&sgx_pf.lock);
	/* The status image is the parent's: the child gets its own from the host. */
	sgx_pf.stat = NULL;
	/* The parent's enclaves live in EPC the child cannot share safely: everything the child
	 * inherited becomes dead (mappings and fds alike), and the child starts over on its own
	 * EPC. Mappings the parent marked MADV_DONTFORK are not inherited at all. */
	for (size_t i = 0; i < sgx_pf.nr_encls; i++)
		sgx_pf.encls[i]->flags |= ENCL_DEAD;
	/* vEPC mappings first (VM_DONTCOPY, their pages are not the child's to remove). */
	vepc_fork_child();
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++) {
		struct drv_vma *v = &sgx_pf.vmas[i];

		v->encl->flags |= ENCL_DEAD;
		if (v->vm_flags & VMA_DONTCOPY) {
			sgx_pf.mm->unmap(v->start, v->end - v->start);
			encl_put(v->encl);
			continue;
		}
		sgx_pf.mm->map_none(v->start, v->end - v->start);
		sgx_pf.vmas[kept++] = *v;
	}
	sgx_pf.nr_vmas = kept;
	ksgxd_fork_child();
	/* A fresh EPCM and owner table: no page of the parent's is valid or owned here. */
	zero_table(sgx_pf.cpu.epcm, sgx_pf.cpu.epc_pages * sizeof(*sgx_pf.cpu.epcm));
	zero_table(sgx_pf.owner, sgx_pf.cpu.epc_pages * sizeof(*sgx_pf.owner));
	epc_alloc_fork_child();
	if (epc) {
		sgx_pf.cpu.epc = epc;
	} else {
		/* No EPC of its own: the platform is down until the child opens a device. */
		sgx_pf.ready = false;
	}
	drv_unlock(&sgx_pf.lock);
}
