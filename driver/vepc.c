/* /dev/sgx_vepc (../shared/spec/linux.md §6): EPC pages a VMM hands to its guests. A vEPC
 * maps file offsets (page indexes) to EPC pages, allocated on the first fault and never
 * reclaimed. The guest's enclaves run in the VMM's address space at the vEPC addresses (see
 * virt.c), so host protections follow the EPCM here as they do for enclave mappings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/sgx.h>

#include "driver/vepc.h"
#include "driver/virt.h"
#include "util/trace.h"

struct vepc_page {
	uint64_t index;
	uint32_t epc;
};

struct sgx_vepc {
	int refs;                /* the file and each mapping: a VMA pins its file */
	struct vepc_page *pages; /* sorted by index, like the kernel's xarray walk */
	size_t nr, cap;
	struct sgx_vepc *next;   /* every vEPC of the process (fork) */
};

struct vepc_vma {
	uint64_t start, end;
	uint64_t pgoff;          /* page index of start */
	int prot;
	struct sgx_vepc *v;
};

static struct {
	struct vepc_vma *vmas;   /* sorted by start, non-overlapping */
	size_t nr_vmas, cap_vmas;
	uint32_t *zombies;       /* SECS pages whose children live in another vEPC */
	size_t nr_zombies, cap_zombies;
	struct sgx_vepc *all;
	uint64_t nr_pages;
} vs;

static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return arr;
	while (n < need)
		n *= 2;
	p = realloc(arr, n * elem);
	if (p)
		*cap = n;
	return p;
}

/* ---- the page table ---- */

static struct vepc_page *page_find(struct sgx_vepc *v, uint64_t index)
{
	size_t lo = 0, hi = v->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v->pages[mid].index < index)
			lo = mid + 1;
		else if (v->pages[mid].index > index)
			hi = mid;
		else
			return &v->pages[mid];
	}
	return NULL;
}

/* The EPC page at index, allocated on first use. Allocation may reclaim enclave pages (the
 * kernel answers "busy, retry" until ksgxd has; we reclaim directly), never vEPC pages. */
static long page_get(struct sgx_vepc *v, uint64_t index)
{
	struct vepc_page *p = page_find(v, index), *n;
	size_t at = 0;
	long epc;

	drv_assert_locked(&sgx_pf.lock);
	if (p)
		return p->epc;
	epc = epc_get_page();
	if (epc < 0)
		return -ENOMEM;
	/* mmap made room for every page the EPC can hold: no allocation here in a fault. */
	n = grow(v->pages, &v->cap, v->nr + 1, sizeof(*n));
	if (!n) {
		epc_free_page((uint32_t)epc);
		return -ENOMEM;
	}
	v->pages = n;
	while (at < v->nr && v->pages[at].index < index)
		at++;
	memmove(&v->pages[at + 1], &v->pages[at], (v->nr - at) * sizeof(*n));
	v->pages[at] = (struct vepc_page){ index, (uint32_t)epc };
	v->nr++;
	vs.nr_pages++;
	return epc;
}

/* ---- mappings ---- */

static struct vepc_vma *vma_lookup(uint64_t addr)
{
	size_t lo = 0, hi = vs.nr_vmas;

	drv_assert_locked(&sgx_pf.lock);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct vepc_vma *m = &vs.vmas[mid];

		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

static uint64_t vma_index(const struct vepc_vma *m, uint64_t addr)
{
	return m->pgoff + (addr - m->start) / SGX_PAGE_SIZE;
}

static bool range_has_vma(uint64_t addr, uint64_t end)
{
	for (size_t i = 0; i < vs.nr_vmas; i++)
		if (vs.vmas[i].start < end && addr < vs.vmas[i].end)
			return true;
	return false;
}

static int vma_add(uint64_t start, uint64_t end, uint64_t pgoff, int prot, struct sgx_vepc *v)
{
	struct vepc_vma *n = grow(vs.vmas, &vs.cap_vmas, vs.nr_vmas + 1, sizeof(*n));
	size_t i = 0;

	if (!n)
		return -ENOMEM;
	vs.vmas = n;
	while (i < vs.nr_vmas && vs.vmas[i].start < start)
		i++;
	memmove(&vs.vmas[i + 1], &vs.vmas[i], (vs.nr_vmas - i) * sizeof(*n));
	vs.vmas[i] = (struct vepc_vma){ start, end, pgoff, prot, v };
	vs.nr_vmas++;
	v->refs++;
	return 0;
}

static void vepc_put(struct sgx_vepc *v);

/* Drop [start, end) from the mapping list, splitting mappings that straddle it. */
static int vma_cut(uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < vs.nr_vmas; i++) {
		struct vepc_vma m = vs.vmas[i];

		if (m.end <= start || m.start >= end)
			continue;
		if (m.start < start && m.end > end) {
			vs.vmas[i].end = start;
			return vma_add(end, m.end, vma_index(&m, end), m.prot, m.v);
		}
		if (m.start < start) {
			vs.vmas[i].end = start;
		} else if (m.end > end) {
			vs.vmas[i].start = end;
			vs.vmas[i].pgoff = vma_index(&m, end);
		} else {
			memmove(&vs.vmas[i], &vs.vmas[i + 1], (vs.nr_vmas - i - 1) * sizeof(m));
			vs.nr_vmas--;
			i--;
			vepc_put(m.v);
		}
	}
	return 0;
}

/* Host protection of an EPC page mapped at addr: the mapping's, cut to what the EPCM lets
 * an enclave do there. A free page has no EPCM rights to apply (hardware would give abort-
 * page semantics to non-enclave accesses; docs/vepc.md). */
static int host_prot(int vma_prot, uint64_t addr, uint32_t epc)
{
	const struct epcm_entry *m = &sgx_pf.cpu.epcm[epc];

	if (!m->valid)
		return vma_prot;
	if (m->type != SGX_PT_REG || m->linaddr != addr ||
	    (m->flags & (EPCM_PENDING | EPCM_MODIFIED | EPCM_BLOCKED)))
		return PROT_NONE;
	return vma_prot & m->perm & VM_RWX;
}

static void map_page(const struct vepc_vma *m, uint64_t addr, uint32_t epc)
{
	sgx_pf.mm->map_epc(addr, (uint64_t)epc * SGX_PAGE_SIZE, SGX_PAGE_SIZE,
			   host_prot(m->prot, addr, epc));
}

/* Every mapping of index follows its page's EPCM again. */
static void remap_index(struct sgx_vepc *v, uint64_t index, uint32_t epc)
{
	for (size_t i = 0; i < vs.nr_vmas; i++) {
		const struct vepc_vma *m = &vs.vmas[i];
		uint64_t n = (m->end - m->start) / SGX_PAGE_SIZE;

		if (m->v == v && index >= m->pgoff && index - m->pgoff < n)
			map_page(m, m->start + (index - m->pgoff) * SGX_PAGE_SIZE, epc);
	}
}

/* ---- release ---- */

static bool page_remove(uint32_t epc)
{
	struct cpu_fault f;

	if (encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, epc), &f) != SGX_SUCCESS)
		return false;
	epc_free_page(epc);
	vs.nr_pages--;
	return true;
}

static void zombies_retry(void)
{
	size_t left = 0;

	for (size_t i = 0; i < vs.nr_zombies; i++)
		if (!page_remove(vs.zombies[i]))
			vs.zombies[left++] = vs.zombies[i];
	vs.nr_zombies = left;
}

/* The kernel's release order: EREMOVE everything, which frees the children; SECS pages that
 * still had children here go in a second pass; those whose children live in another vEPC
 * become zombies until a later release frees the children. */
static void vepc_free(struct sgx_vepc *v)
{
	size_t left = 0, zombies = 0;

	for (size_t i = 0; i < v->nr; i++)
		if (!page_remove(v->pages[i].epc))
			v->pages[left++] = v->pages[i];
	for (size_t i = 0; i < left; i++) {
		uint32_t *z;

		if (page_remove(v->pages[i].epc))
			continue;
		z = grow(vs.zombies, &vs.cap_zombies, vs.nr_zombies + 1, sizeof(*z));
		if (!z) {
			sgxemu_err("vEPC release: out of memory, an EPC page was leaked");
			continue;
		}
		vs.zombies = z;
		vs.zombies[vs.nr_zombies++] = v->pages[i].epc;
		zombies++;
	}
	zombies_retry();
	TRACE("vEPC released: %lu pages, %lu new zombie SECS, %lu zombies left",
	      (unsigned long)v->nr, (unsigned long)zombies, (unsigned long)vs.nr_zombies);
	for (struct sgx_vepc **pp = &vs.all; *pp; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	}
	free(v->pages);
	free(v);
}

static void vepc_put(struct sgx_vepc *v)
{
	if (--v->refs == 0)
		vepc_free(v);
}

/* ---- the file ---- */

struct sgx_vepc *vepc_create(void)
{
	struct sgx_vepc *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->refs = 1;
	v->next = vs.all;
	vs.all = v;
	return v;
}

void vepc_release(struct sgx_vepc *v)
{
	vepc_put(v);
}

/* SGX_IOC_VEPC_REMOVE_ALL: EREMOVE every page (they stay allocated and mapped). Returns the
 * number of SECS pages that still have children (in another vEPC: call again once the
 * others are cleared). Errors: EINVAL (argument not 0), EBUSY (a page of an enclave a thread
 * is running in, or an EREMOVE fault), ENOTTY (any other command). */
long vepc_ioctl(struct sgx_vepc *v, unsigned int cmd, unsigned long arg)
{
	long failures = 0;

	if (cmd != SGX_IOC_VEPC_REMOVE_ALL)
		return -ENOTTY;
	if (arg)
		return -EINVAL;
	for (size_t i = 0; i < v->nr; i++) {
		uint32_t epc = v->pages[i].epc;
		bool was_valid = sgx_pf.cpu.epcm[epc].valid;
		struct cpu_fault f;
		long r = encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, epc), &f);

		if (r == SGX_CHILD_PRESENT) {
			failures++;
			continue;
		}
		if (r != SGX_SUCCESS) {
			TRACE("VEPC_REMOVE_ALL: EREMOVE of index %lu -> %s", (unsigned long)v->pages[i].index,
			      r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
			return -EBUSY;
		}
		if (was_valid)
			remap_index(v, v->pages[i].index, epc);
	}
	TRACE("VEPC_REMOVE_ALL: %lu pages, %ld SECS with children left", (unsigned long)v->nr, failures);
	return failures;
}

int vepc_mmap_prepare(struct sgx_vepc *v, uint64_t len)
{
	/* Room for every page the vEPC can ever hold, so that faults never allocate memory. */
	uint64_t want = v->nr + len / SGX_PAGE_SIZE;
	struct vepc_page *n;

	if (want > sgx_pf.cpu.epc_pages)
		want = sgx_pf.cpu.epc_pages;
	n = grow(v->pages, &v->cap, want, sizeof(*n));
	if (!n)
		return -ENOMEM;
	v->pages = n;
	return 0;
}

int vepc_vma_insert(uint64_t start, uint64_t end, uint64_t pgoff, int prot, struct sgx_vepc *v)
{
	vma_cut(start, end);
	return vma_add(start, end, pgoff, prot, v);
}

void vepc_cut(uint64_t start, uint64_t end)
{
	vma_cut(start, end);
}

/* ---- faults and the cpu's page walk ---- */

enum sgx_fault_result vepc_fault(uint64_t addr, unsigned access, uint32_t *errcode)
{
	struct vepc_vma *m = vma_lookup(addr);
	uint64_t page = addr & SGX_PAGE_MASK;
	uint32_t err = X86_PF_U;
	struct vepc_page *p;
	int need = 0, prot;

	if (!m)
		return SGX_FAULT_NOT_OURS;
	if (access & ACCESS_R)
		need |= PROT_READ;
	if (access & ACCESS_W) {
		need |= PROT_WRITE;
		err |= X86_PF_W;
	}
	if (access & ACCESS_X) {
		need |= PROT_EXEC;
		err |= X86_PF_I;
	}
	p = page_find(m->v, vma_index(m, page));
	if ((need & ~m->prot) || !m->prot) {
		*errcode = err | (p ? X86_PF_P : 0);
		return SGX_FAULT_SIGSEGV;
	}
	if (!p) {
		long epc = page_get(m->v, vma_index(m, page));

		if (epc < 0) {
			TRACE("vEPC fault %lx: no EPC page left", (unsigned long)addr);
			*errcode = err;
			return SGX_FAULT_SIGBUS;
		}
		map_page(m, page, (uint32_t)epc);
		return SGX_FAULT_RETRY;
	}
	/* An existing page: the kernel would not insert it again (and the access would re-fault
	 * forever); we map it, which is what the VMM meant. */
	prot = host_prot(m->prot, page, p->epc);
	if (!(need & ~prot)) {
		map_page(m, page, p->epc);
		return SGX_FAULT_RETRY;
	}
	*errcode = err | X86_PF_P | (sgx_pf.cpu.epcm[p->epc].valid ? X86_PF_SGX : 0);
	return SGX_FAULT_SIGSEGV;
}

uint32_t vepc_translate(uint64_t la, bool write, uint32_t *idx)
{
	struct vepc_vma *m = vma_lookup(la);
	uint32_t err = X86_PF_U | (write ? X86_PF_W : 0);
	struct vepc_page *p;

	if (!m)
		return err;
	p = page_find(m->v, vma_index(m, la));
	if (!p)
		return err;
	if ((write && !(m->prot & PROT_WRITE)) || !(m->prot & PROT_READ))
		return err | X86_PF_P;
	*idx = p->epc;
	return 0;
}

void vepc_epcm_changed(uint64_t la)
{
	struct vepc_vma *m = vma_lookup(la);
	struct vepc_page *p = m ? page_find(m->v, vma_index(m, la)) : NULL;

	if (p)
		map_page(m, la & SGX_PAGE_MASK, p->epc);
}

long vepc_epc_of(uint64_t addr, bool alloc)
{
	struct vepc_vma *m = vma_lookup(addr);
	struct vepc_page *p;

	if (!m)
		return -EFAULT;
	p = page_find(m->v, vma_index(m, addr));
	if (p)
		return p->epc;
	return alloc ? page_get(m->v, vma_index(m, addr)) : -EFAULT;
}

/* ---- munmap, mprotect, fork ---- */

bool vepc_range_mapped(uint64_t addr, uint64_t len)
{
	return range_has_vma(addr, addr + len);
}

uint64_t vepc_vma_end(uint64_t addr)
{
	struct vepc_vma *m = vma_lookup(addr);

	return m ? m->end : 0;
}

uint64_t vepc_next_start(uint64_t addr)
{
	for (size_t i = 0; i < vs.nr_vmas; i++)
		if (vs.vmas[i].start > addr)
			return vs.vmas[i].start;
	return UINT64_MAX;
}

uint64_t vepc_vma_pgoff(uint64_t addr)
{
	struct vepc_vma *m = vma_lookup(addr);

	return m ? vma_index(m, addr) : 0;
}

long vepc_move(uint64_t old, uint64_t len, uint64_t new_addr)
{
	struct vepc_vma *m = vma_lookup(old), piece;
	long r;

	if (!m)
		return -EFAULT;
	piece = *m;
	piece.pgoff = vma_index(m, old);
	r = sgx_pf.mm->map_none(new_addr, len);
	if (r)
		return r < 0 ? r : -ENOMEM;
	r = vma_add(new_addr, new_addr + len, piece.pgoff, piece.prot, piece.v);
	if (r) {
		sgx_pf.mm->unmap(new_addr, len);
		return r;
	}
	sgx_pf.mm->unmap(old, len);
	vma_cut(old, old + len);
	/* The pages are found by file offset: the same EPC pages at the new addresses. */
	m = vma_lookup(new_addr);
	for (uint64_t a = new_addr; a < new_addr + len; a += SGX_PAGE_SIZE) {
		struct vepc_page *p = page_find(m->v, vma_index(m, a));

		if (p)
			map_page(m, a, p->epc);
	}
	return (long)new_addr;
}

int vepc_mprotect(uint64_t addr, uint64_t len, int prot, long *ret)
{
	uint64_t end = addr + ((len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	long r = 0;

	if (!range_has_vma(addr, end))
		return 0;
	/* No driver hook in the kernel: the mapping takes the new protection; our host
	 * mappings keep following the EPCM under it. */
	for (uint64_t a = addr; a < end && !r;) {
		struct vepc_vma *m = vma_lookup(a);
		uint64_t next;

		if (!m) {
			size_t i = 0;

			while (i < vs.nr_vmas && vs.vmas[i].start <= a)
				i++;
			next = i < vs.nr_vmas && vs.vmas[i].start < end ? vs.vmas[i].start : end;
			if (sgx_pf.mm->protect(a, next - a, prot))
				r = -errno;
			a = next;
			continue;
		}
		next = m->end < end ? m->end : end;
		if (m->start < a || m->end > next) {
			struct vepc_vma piece = *m;

			piece.v->refs++;
			r = vma_cut(a, next);
			if (!r)
				r = vma_add(a, next, vma_index(&piece, a), prot, piece.v);
			vepc_put(piece.v);
			m = r ? NULL : vma_lookup(a);
		} else {
			m->prot = prot;
		}
		if (m) {
			sgx_pf.mm->map_none(a, next - a);
			for (uint64_t pa = a; pa < next; pa += SGX_PAGE_SIZE) {
				struct vepc_page *p = page_find(m->v, vma_index(m, pa));

				if (p)
					map_page(m, pa, p->epc);
			}
		}
		a = next;
	}
	*ret = r;
	return 1;
}

void vepc_fork_child(void)
{
	/* VM_DONTCOPY: the child has nothing at the parent's vEPC addresses, and its fresh EPC
	 * holds none of the parent's pages. Its inherited fds see empty vEPCs. */
	for (size_t i = 0; i < vs.nr_vmas; i++)
		sgx_pf.mm->unmap(vs.vmas[i].start, vs.vmas[i].end - vs.vmas[i].start);
	for (size_t i = 0; i < vs.nr_vmas; i++) {
		struct sgx_vepc *v = vs.vmas[i].v;

		if (--v->refs == 0) {
			for (struct sgx_vepc **pp = &vs.all; *pp; pp = &(*pp)->next) {
				if (*pp == v) {
					*pp = v->next;
					break;
				}
			}
			free(v->pages);
			free(v);
		}
	}
	vs.nr_vmas = 0;
	for (struct sgx_vepc *v = vs.all; v; v = v->next)
		v->nr = 0;
	vs.nr_zombies = 0;
	vs.nr_pages = 0;
}

uint64_t vepc_nr_pages(void)
{
	return vs.nr_pages;
}

void sgx_epc_usage(uint64_t *total, uint64_t *free_pages, uint64_t *vepc_pages)
{
	drv_lock(&sgx_pf.lock);
	*total = sgx_pf.cpu.epc_pages;
	*free_pages = sgx_pf.nr_free;
	*vepc_pages = vs.nr_pages;
	drv_unlock(&sgx_pf.lock);
}
