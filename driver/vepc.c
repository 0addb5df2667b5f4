/* /dev/sgx_vepc (the kernel's sgx_vepc_*, virt.c): EPC pages a VMM hands to its guests. A vEPC
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

static struct {
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
	epc = sgx_alloc_epc_page();
	if (epc < 0)
		return -ENOMEM;
	/* mmap made room for every page the EPC can hold: no allocation here in a fault. */
	n = grow(v->pages, &v->cap, v->nr + 1, sizeof(*n));
	if (!n) {
		sgx_free_epc_page((uint32_t)epc);
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

/* ---- mappings: the VMAs of kind vepc_vm_ops in the driver's set (vma.c) ---- */

static struct drv_vma *vma_lookup(uint64_t addr)
{
	return vma_find_kind(addr, &vepc_vm_ops);
}

static uint64_t vma_index(const struct drv_vma *m, uint64_t addr)
{
	return m->pgoff + (addr - m->start) / SGX_PAGE_SIZE;
}

static void vepc_put(struct sgx_vepc *v);

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

static void map_page(const struct drv_vma *m, uint64_t addr, uint32_t epc)
{
	sgx_pf.mm->map_epc(addr, (uint64_t)epc * SGX_PAGE_SIZE, SGX_PAGE_SIZE,
			   host_prot(m->prot, addr, epc));
}

/* Every mapping of index follows its page's EPCM again. */
static void remap_index(struct sgx_vepc *v, uint64_t index, uint32_t epc)
{
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++) {
		const struct drv_vma *m = &sgx_pf.vmas[i];
		uint64_t n = (m->end - m->start) / SGX_PAGE_SIZE;

		if (m->ops == &vepc_vm_ops && m->vepc == v && index >= m->pgoff &&
		    index - m->pgoff < n)
			map_page(m, m->start + (index - m->pgoff) * SGX_PAGE_SIZE, epc);
	}
}

/* ---- release ---- */

static bool page_remove(uint32_t epc)
{
	struct cpu_fault f;

	if (encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, epc), &f) != SGX_SUCCESS)
		return false;
	sgx_free_epc_page(epc);
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
	TRACEC(TRACE_MM, "vEPC released: %lu pages, %lu new zombie SECS, %lu zombies left",
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
			TRACEC(TRACE_MM, "VEPC_REMOVE_ALL: EREMOVE of index %lu -> %s", (unsigned long)v->pages[i].index,
			      r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
			return -EBUSY;
		}
		if (was_valid)
			remap_index(v, v->pages[i].index, epc);
	}
	TRACEC(TRACE_MM, "VEPC_REMOVE_ALL: %lu pages, %ld SECS with children left", (unsigned long)v->nr, failures);
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

/* ---- faults and the cpu's page walk ---- */

static enum sgx_fault_result vepc_vma_fault(struct drv_vma *m, uint64_t addr, unsigned access,
					    const struct cpu_lp *lp, uint32_t *errcode)
{
	uint64_t page = addr & SGX_PAGE_MASK;
	uint32_t err = X86_PF_U;
	struct vepc_page *p;
	int need = 0, prot;

	(void)lp;
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
	p = page_find(m->vepc, vma_index(m, page));
	if ((need & ~m->prot) || !m->prot) {
		*errcode = err | (p ? X86_PF_P : 0);
		return SGX_FAULT_SIGSEGV;
	}
	if (!p) {
		long epc = page_get(m->vepc, vma_index(m, page));

		if (epc < 0) {
			TRACEC(TRACE_MM, "vEPC fault 0x%lx: no EPC page left", (unsigned long)addr);
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

static uint32_t vepc_vma_translate(const struct drv_vma *m, uint64_t la, bool write, uint32_t *idx)
{
	uint32_t err = X86_PF_U | (write ? X86_PF_W : 0);
	struct vepc_page *p;

	p = page_find(m->vepc, vma_index(m, la));
	if (!p)
		return err;
	if ((write && !(m->prot & PROT_WRITE)) || !(m->prot & PROT_READ))
		return err | X86_PF_P;
	*idx = p->epc;
	return 0;
}

static void vepc_vma_epcm_changed(const struct drv_vma *m, uint64_t la)
{
	struct vepc_page *p = page_find(m->vepc, vma_index(m, la));

	if (p)
		map_page(m, la & SGX_PAGE_MASK, p->epc);
}

void vepc_epcm_changed(uint64_t la)
{
	struct drv_vma *m = vma_lookup(la);

	if (m)
		vepc_vma_epcm_changed(m, la);
}

long vepc_epc_of(uint64_t addr, bool alloc)
{
	struct drv_vma *m = vma_lookup(addr);
	struct vepc_page *p;

	if (!m)
		return -EFAULT;
	p = page_find(m->vepc, vma_index(m, addr));
	if (p)
		return p->epc;
	return alloc ? page_get(m->vepc, vma_index(m, addr)) : -EFAULT;
}

/* ---- the VMA operations (sgx_vepc_vm_ops) ---- */

static void vepc_vma_get(struct drv_vma *m)
{
	m->vepc->refs++;
}

static void vepc_vma_put(struct drv_vma *m)
{
	vepc_put(m->vepc);
}

/* No mprotect hook in the kernel: the mapping takes the new protection, and our host
 * mappings keep following the EPCM under it. After mmap, mprotect and mremap alike: the
 * pages the vEPC has are mapped where the VMA shows them. */
static int vepc_vma_populate(const struct drv_vma *m, uint64_t start, uint64_t end)
{
	int r = sgx_pf.mm->map_none(start, end - start);

	for (uint64_t a = start; !r && a < end; a += SGX_PAGE_SIZE) {
		struct vepc_page *p = page_find(m->vepc, vma_index(m, a));

		if (p)
			map_page(m, a, p->epc);
	}
	return r;
}

const struct drv_vma_ops vepc_vm_ops = {
	.get = vepc_vma_get,
	.put = vepc_vma_put,
	.populate = vepc_vma_populate,
	.fault = vepc_vma_fault,
	.translate = vepc_vma_translate,
	.epcm_changed = vepc_vma_epcm_changed,
};

void vepc_fork_child(void)
{
	size_t kept = 0;

	/* VM_DONTCOPY: the child has nothing at the parent's vEPC addresses, and its fresh EPC
	 * holds none of the parent's pages (nothing is EREMOVEd: the EPC still mapped here is
	 * the parent's). Its inherited fds see empty vEPCs. */
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++) {
		struct drv_vma *m = &sgx_pf.vmas[i];
		struct sgx_vepc *v = m->vepc;

		if (m->ops != &vepc_vm_ops) {
			sgx_pf.vmas[kept++] = *m;
			continue;
		}
		sgx_pf.mm->unmap(m->start, m->end - m->start);
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
	sgx_pf.nr_vmas = kept;
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
