/* The mm calls on the driver's mappings (the kernel's sgx_mmap, sgx_vma_mprotect and
 * sgx_encl_may_map): mmap of the device files with do_mmap's checks and sgx_encl_may_map's
 * rules, and munmap, mprotect, madvise, mremap and a foreign MAP_FIXED mmap over them, on the
 * one VMA set of vma.c whatever their kind. The enclave kind's operations (encl_vm_ops) are
 * here too: host protections follow VMA ∩ EPCM, PTEs come with the first fault. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "driver/internal.h"
#include "driver/vepc.h"
#include "driver/virt.h"
#include "util/trace.h"

bool sgx_range_is_enclave(uint64_t addr, uint64_t len)
{
	bool r;

	drv_lock(&sgx_pf.lock);
	r = vma_range_has(addr, addr + len);
	drv_unlock(&sgx_pf.lock);
	return r;
}

/* ---- enclave VMAs (encl_vm_ops) ---- */

/* The PTEs of [start, end) are gone (unmapped, or replaced by a new mapping). */
static void zap_ptes(struct sgx_encl *e, uint64_t start, uint64_t end)
{
	struct encl_page *p;

	for (uint64_t a = start; (p = encl_page_next(e, &a, end)); a += SGX_PAGE_SIZE)
		p->pte = 0;
}

/* A run of pages that become one host mapping: EPC pages consecutive in the EPC with one
 * protection, or a stretch with no PTEs. */
struct map_run {
	uint64_t start, epc;
	int prot;
	bool mapped;
	bool cow;  /* map_epc_cow (sgx_debug_mappings) */
	int err;
};

static void run_flush(struct map_run *r, uint64_t end)
{
	int e;

	if (end <= r->start)
		return;
	if (r->mapped && r->cow)
		e = sgx_pf.mm->map_epc_cow(r->start, r->epc, end - r->start, r->prot);
	else if (r->mapped)
		e = sgx_pf.mm->map_epc(r->start, r->epc, end - r->start, r->prot);
	else
		e = sgx_pf.mm->map_none(r->start, end - r->start);
	if (e && !r->err)
		r->err = e;
}

/* The piece at a (a page, or a stretch without pages) continues the run or starts one. */
static void run_add(struct map_run *r, uint64_t a, bool mapped, int prot, uint64_t epc_off,
		    bool cow)
{
	bool extends = a > r->start && mapped == r->mapped && prot == r->prot && cow == r->cow &&
		       (!mapped || epc_off == r->epc + (a - r->start));

	if (a > r->start && !extends) {
		run_flush(r, a);
		r->start = a;
	}
	if (a == r->start) {
		r->mapped = mapped;
		r->prot = prot;
		r->cow = cow;
		r->epc = epc_off;
	}
}

/* Make the host mappings of [start, end) (inside VMA v) match VMA ∩ EPCM, merging runs so
 * consecutive EPC pages become one mapping. Visits the enclave's pages, not the range:
 * stretches without pages are one unmapped piece each. */
static int vma_populate(const struct drv_vma *v, uint64_t start, uint64_t end)
{
	struct sgx_encl *e = v->encl;
	struct map_run run = { .start = start, .prot = PROT_NONE };
	bool debug = sgx_pf.debug_maps && (e->attributes & SGX_ATTR_DEBUG) && sgx_pf.mm->map_epc_cow;
	uint64_t a = start;

	while (a < end) {
		uint64_t at = a;
		struct encl_page *p = (e->flags & ENCL_DEAD) ? NULL : encl_page_next(e, &at, end);
		bool mapped;
		int prot;

		if (!p)
			at = end;
		if (at > a)
			run_add(&run, a, false, PROT_NONE, 0, false);
		if (!p)
			break;
		/* Under a debugger, a debug enclave's pages are present from the start. */
		if (debug && p->epc != EPC_NONE && v->prot != PROT_NONE)
			p->pte = 1;
		mapped = p->epc != EPC_NONE && p->pte;
		prot = mapped ? encl_pte_prot(e, p, v->prot) : PROT_NONE;
		run_add(&run, at, mapped, prot, mapped ? (uint64_t)p->epc * SGX_PAGE_SIZE : 0,
			debug && (prot & PROT_EXEC) && !(prot & PROT_WRITE));
		a = at + SGX_PAGE_SIZE;
	}
	run_flush(&run, end);
	return run.err;
}

void sgx_debug_mappings(bool on)
{
	drv_lock(&sgx_pf.lock);
	sgx_pf.debug_maps = on;
	drv_unlock(&sgx_pf.lock);
}

int vma_refresh_page(struct sgx_encl *e, uint64_t addr)
{
	struct drv_vma *v = vma_find_kind(addr, &encl_vm_ops);
	int r = 0;

	if (v && v->encl == e)
		r = vma_populate(v, addr, addr + SGX_PAGE_SIZE);
	/* The host refuses more mappings when pages that do not merge exceed vm.max_map_count. */
	if (r)
		sgxemu_err("cannot map enclave page %lx (error %d; vm.max_map_count?)",
			   (unsigned long)addr, -r);
	return r;
}

/* sgx_encl_may_map: EACCES when a mapping would exceed what the enclave allows. */
static int encl_may_map(struct sgx_encl *e, uint64_t start, uint64_t end, int prot)
{
	int want = prot & VM_RWX;
	struct encl_page *p;

	if ((e->flags & ENCL_INITIALIZED) && (start < e->base || end > e->base + e->size))
		return -EACCES;
	/* A READ_IMPLIES_EXEC task's mappings could exceed what the pages allow. */
	if (sgx_pf.mm->read_implies_exec && sgx_pf.mm->read_implies_exec())
		return -EACCES;
	for (uint64_t a = start; (p = encl_page_next(e, &a, end)); a += SGX_PAGE_SIZE)
		if (want & ~p->max_prot)
			return -EACCES;
	return 0;
}

/* e's host mappings are about to change: its threads in enclave mode take an AEX first, as
 * the kernel's TLB-shootdown IPIs make them on hardware. They then resume through their AEP
 * and find whatever the range holds by then (nothing: a #PF; another enclave's pages: an
 * EPCM #PF), never the new memory in the old enclave's context. */
static void encl_shootdown(struct sgx_encl *e)
{
	const struct secs_meta *m;

	if (!sgx_pf.mm->tlb_shootdown || !(e->flags & ENCL_INITIALIZED) || (e->flags & ENCL_DEAD) ||
	    e->secs == EPC_NONE)
		return;
	m = sgx_pf.cpu.epcm[e->secs].meta;
	if (m && atomic_load(&m->active))
		sgx_pf.mm->tlb_shootdown(e->secs);
}

static void encl_vma_get(struct drv_vma *v)
{
	v->encl->refs++;
}

static void encl_vma_put(struct drv_vma *v)
{
	encl_put(v->encl);
}

static void encl_vma_zap(const struct drv_vma *v, uint64_t start, uint64_t end)
{
	zap_ptes(v->encl, start, end);
}

static int encl_vma_mprotect(const struct drv_vma *v, uint64_t start, uint64_t end, int prot)
{
	return encl_may_map(v->encl, start, end, prot);
}

static void encl_vma_shootdown(const struct drv_vma *v)
{
	encl_shootdown(v->encl);
}

static void encl_vma_epcm_changed(const struct drv_vma *v, uint64_t la)
{
	vma_refresh_page(v->encl, la);
}

const struct drv_vma_ops encl_vm_ops = {
	.get = encl_vma_get,
	.put = encl_vma_put,
	.populate = vma_populate,
	.zap = encl_vma_zap,
	.mprotect = encl_vma_mprotect,
	.shootdown = encl_vma_shootdown,
	.fault = sgx_vma_fault,
	.translate = encl_vma_translate,
	.epcm_changed = encl_vma_epcm_changed,
};

/* ---- mmap ---- */

/* The highest user address + 1 (x86-64, 4-level paging). */
#define TASK_SIZE_MAX 0x7ffffffff000ULL
/* The flags MAP_SHARED_VALIDATE accepts for a file without MAP_SYNC (LEGACY_MAP_MASK): the
 * others are EOPNOTSUPP, MAP_FIXED_NOREPLACE included. */
#define MAP_LEGACY_FLAGS                                                                           \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE |    \
	 0x4000000 /* MAP_UNINITIALIZED */ | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE |            \
	 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT | 0x80 /* MAP_ABOVE4G */ | \
	 (21 << 26) /* MAP_HUGE_2MB */ | (30 << 26) /* MAP_HUGE_1GB */)

/* What do_mmap checks of the file once the address is known, in its order. */
static int mmap_file_checks(const struct sgx_file *f, uint64_t len, uint64_t pgoff, int flags,
			    int prot, unsigned fmode)
{
	/* file_mmap_ok: the mapping must end below MAX_LFS_FILESIZE. */
	if (len > (uint64_t)INT64_MAX || pgoff > ((uint64_t)INT64_MAX - len) / SGX_PAGE_SIZE)
		return -EOVERFLOW;
	switch (flags & MAP_TYPE) {
	case MAP_SHARED:
		flags &= MAP_LEGACY_FLAGS;
		/* fall through */
	case MAP_SHARED_VALIDATE:
		if (flags & ~MAP_LEGACY_FLAGS)
			return -EOPNOTSUPP;
		if ((prot & PROT_WRITE) && !(fmode & SGX_FMODE_WRITE))
			return -EACCES;
		/* fall through */
	case MAP_PRIVATE:
		if (!(fmode & SGX_FMODE_READ))
			return -EACCES;
		if (f->kind == SGX_FILE_PROVISION)
			return -ENODEV; /* no mmap operation */
		if (flags & MAP_GROWSDOWN)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The driver's own mmap: sgx_mmap (sgx_encl_may_map) or sgx_vepc_mmap (VM_SHARED). */
static int mmap_driver_checks(const struct sgx_file *f, uint64_t start, uint64_t end, int prot,
			      int flags, unsigned fmode)
{
	int type = flags & MAP_TYPE;

	if (f->kind == SGX_FILE_VEPC) {
		/* VM_SHARED: a shared mapping of a file open for writing. */
		if ((type != MAP_SHARED && type != MAP_SHARED_VALIDATE) || !(fmode & SGX_FMODE_WRITE))
			return -EINVAL;
		return vepc_mmap_prepare(f->vepc, end - start);
	}
	if (f->encl->flags & ENCL_DEAD)
		return -EINVAL;
	return encl_may_map(f->encl, start, end, prot);
}

/* Place the checked mapping at [start, end), over whatever was there (MAP_FIXED replaces in
 * one step on the host; the list follows). */
static long mmap_place(struct sgx_file *f, uint64_t start, uint64_t end, int prot, unsigned fmode,
		       uint64_t pgoff)
{
	struct drv_vma nv = { .start = start, .end = end, .prot = prot, .pgoff = pgoff };
	long r;

	if (f->kind == SGX_FILE_VEPC) {
		/* VM_SHARED (checked): writable; VM_DONTCOPY: not inherited by fork. */
		nv.ops = &vepc_vm_ops;
		nv.vepc = f->vepc;
		nv.vm_flags = VMA_MAYWRITE | VMA_DONTCOPY;
	} else {
		nv.ops = &encl_vm_ops;
		nv.encl = f->encl;
		/* VM_MAYWRITE goes with a read-only fd: mprotect cannot add PROT_WRITE later. */
		nv.vm_flags = (fmode & SGX_FMODE_WRITE) ? VMA_MAYWRITE : 0;
	}
	vma_shootdown(start, end);
	r = sgx_pf.mm->map_none(start, end - start);
	if (r)
		return r < 0 ? r : -ENOMEM;
	vma_cut(start, end, true);
	/* The PTEs of the new mapping come with its faults (an enclave page may have had one
	 * through another mapping). */
	if (nv.ops->zap)
		nv.ops->zap(&nv, start, end);
	r = vma_insert(&nv);
	if (r) {
		sgx_pf.mm->unmap(start, end - start);
		return r;
	}
	nv.ops->populate(vma_find(start), start, end);
	if (TRACE_ON(TRACE_MM)) {
		char pb[48];

		trace_printf("mmap %s 0x%lx-0x%lx prot=%s index=%lu",
			     f->kind == SGX_FILE_VEPC ? "vEPC" : "enclave", (unsigned long)start,
			     (unsigned long)end, trace_prot(pb, sizeof(pb), (unsigned long)prot),
			     (unsigned long)pgoff);
	}
	return 0;
}

long sgx_mmap(struct sgx_file *f, uint64_t addr, uint64_t len, int prot, int flags, uint64_t off,
	      unsigned fmode)
{
	uint64_t pgoff = off / SGX_PAGE_SIZE, start;
	bool fixed;
	long r;

	/* mmap(2) and do_mmap, in order; then the file's get_unmapped_area hook. */
	if (off & (SGX_PAGE_SIZE - 1))
		return -EINVAL;
	if (flags & MAP_HUGETLB)
		return -EINVAL; /* not a hugetlbfs file */
	if (!len)
		return -EINVAL;
	if (flags & MAP_FIXED_NOREPLACE)
		flags |= MAP_FIXED;
	fixed = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	len = (len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;
	if (!len)
		return -ENOMEM;
	if (pgoff + len / SGX_PAGE_SIZE < pgoff)
		return -EOVERFLOW;
	if (len > TASK_SIZE_MAX)
		return -ENOMEM;
	if (f->kind == SGX_FILE_ENCLAVE && (flags & MAP_TYPE) == MAP_PRIVATE)
		return -EINVAL;
	if (flags & MAP_FIXED) {
		if (addr > TASK_SIZE_MAX - len)
			return -ENOMEM;
		if (addr & (SGX_PAGE_SIZE - 1))
			return -EINVAL;
	}
	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (fixed) {
		start = addr;
	} else {
		/* The address is chosen first (a placeholder holds it); the permission checks do
		 * not depend on it before EINIT, and after EINIT a free range cannot be inside
		 * ELRANGE. */
		start = sgx_pf.mm->reserve(addr & SGX_PAGE_MASK, len);
		if (!start) {
			r = -ENOMEM;
			goto out;
		}
		if ((flags & MAP_FIXED_NOREPLACE) && start != addr) {
			sgx_pf.mm->unmap(start, len);
			r = -EEXIST;
			goto out;
		}
	}
	r = mmap_file_checks(f, len, pgoff, flags, prot, fmode);
	if (!r)
		r = mmap_driver_checks(f, start, start + len, prot, flags, fmode);
	if (!r)
		r = mmap_place(f, start, start + len, prot, fmode, pgoff);
	if (r) {
		if (!fixed)
			sgx_pf.mm->unmap(start, len);
		goto out;
	}
	r = (long)start;
out:
	drv_unlock(&sgx_pf.lock);
	return r;
}

long sgx_vepc_mmap(struct sgx_file *f, uint64_t addr, uint64_t len, int prot, int flags,
		   uint64_t off, unsigned fmode)
{
	return sgx_mmap(f, addr, len, prot, flags, off, fmode);
}

/* ---- unmapping, replacing, moving ---- */

/* munmap of [start, end), which may hold enclave and vEPC mappings: 0 or -errno. The host
 * unmaps first; once a VMA is gone its enclave may be released. */
static long range_unmap(uint64_t start, uint64_t end)
{
	long r;

	vma_shootdown(start, end);
	r = sgx_pf.mm->unmap(start, end - start);
	if (!r)
		vma_cut(start, end, true);
	return r;
}

int sgx_munmap(uint64_t addr, uint64_t len, long *ret)
{
	uint64_t end = addr + ((len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);

	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (end <= addr || !vma_range_has(addr, end)) {
		drv_unlock(&sgx_pf.lock);
		return 0;
	}
	/* munmap(2)'s own checks (alignment) are the host's: the host call fails first. */
	*ret = (addr & (SGX_PAGE_SIZE - 1)) ? -EINVAL : range_unmap(addr, end);
	drv_unlock(&sgx_pf.lock);
	return 1;
}

long sgx_mmap_over(uint64_t addr, uint64_t len, long (*map)(void *ctx), void *ctx)
{
	uint64_t end = addr + ((len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	long r;

	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (end <= addr || !vma_range_has(addr, end)) {
		/* Under the lock all the same: no enclave mapping can appear there meanwhile. */
		r = map(ctx);
		drv_unlock(&sgx_pf.lock);
		return r;
	}
	vma_shootdown(addr, end);
	/* MAP_FIXED replaces in one step in the kernel: a failed mmap leaves everything as it
	 * was, and no other allocation can land in the range in between. */
	r = map(ctx);
	if (r >= 0 || r < -4095) {
		TRACEC(TRACE_MM, "mmap over 0x%lx-0x%lx replaced enclave/vEPC mappings", (unsigned long)addr,
		      (unsigned long)end);
		vma_cut(addr, end, true);
	}
	drv_unlock(&sgx_pf.lock);
	return r;
}

/* mremap's move of [old, old+len) (inside one VMA) to new_addr, same size. The kernel moves
 * the VMA and its PTEs. vEPC pages follow (they are found by file offset); the enclave driver
 * has no hook, so enclave pages are found at the new addresses by address, and we drop the
 * moved PTEs instead of keeping PFN aliases: the first access at the new address faults as a
 * fresh one (docs/fidelity.md). */
static long vma_move(uint64_t old, uint64_t len, uint64_t new_addr)
{
	struct drv_vma *v = vma_isolate(old, old + len), nv;
	long r;

	if (!v)
		return -ENOMEM;
	if (v->ops->shootdown)
		v->ops->shootdown(v);
	nv = *v;
	nv.start = new_addr;
	nv.end = new_addr + len;
	r = sgx_pf.mm->map_none(new_addr, len);
	if (r)
		return r < 0 ? r : -ENOMEM;
	r = vma_insert(&nv);
	if (r) {
		sgx_pf.mm->unmap(new_addr, len);
		return r;
	}
	sgx_pf.mm->unmap(old, len);
	vma_cut(old, old + len, true);
	if (nv.ops->zap)
		nv.ops->zap(&nv, new_addr, new_addr + len);
	nv.ops->populate(vma_find(new_addr), new_addr, new_addr + len);
	return (long)new_addr;
}

/* The end of the VMA that holds a (0: none), and the page offset at a (mremap's growth
 * check uses vm_pgoff). */
static uint64_t sgx_vma_end(uint64_t a)
{
	struct drv_vma *v = vma_find(a);

	return v ? v->end : 0;
}

static uint64_t sgx_vma_pgoff(uint64_t a)
{
	struct drv_vma *v = vma_find(a);

	return v ? v->pgoff + (a - v->start) / SGX_PAGE_SIZE : 0;
}

/* mremap with the source in an enclave or vEPC VMA (VM_PFNMAP; enclaves VM_DONTEXPAND), from
 * the VMA lookup on, in the kernel's order (mm/mremap.c). The generic checks are done. */
static long mremap_sgx(uint64_t old, uint64_t olen, uint64_t nlen, int flags, uint64_t new_addr)
{
	long r;

	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		/* mremap_to */
		if (new_addr & (SGX_PAGE_SIZE - 1))
			return -EINVAL;
		if (nlen > TASK_SIZE_MAX || new_addr > TASK_SIZE_MAX - nlen)
			return -EINVAL;
		if (old + olen > new_addr && new_addr + nlen > old)
			return -EINVAL;
		if (flags & MREMAP_FIXED) {
			r = range_unmap(new_addr, new_addr + nlen);
			if (r)
				return r;
		}
		if (olen > nlen) {
			r = range_unmap(old + nlen, old + olen);
			if (r)
				return r;
			olen = nlen;
		}
		/* vma_to_resize */
		if (!sgx_vma_end(old))
			return -EFAULT;
		if (flags & MREMAP_DONTUNMAP)
			return -EINVAL;
		if (olen > sgx_vma_end(old) - old)
			return -EFAULT;
		if (nlen != olen) {
			uint64_t pgoff = sgx_vma_pgoff(old);

			return pgoff + nlen / SGX_PAGE_SIZE < pgoff ? -EINVAL : -EFAULT;
		}
		return vma_move(old, olen, new_addr);
	}
	if (olen >= nlen) {
		/* Shrinking is an unmap of the tail; the same size is nothing. */
		if (olen > nlen) {
			r = range_unmap(old + nlen, old + olen);
			if (r)
				return r;
		}
		return (long)old;
	}
	/* Growing (old_len 0 included: no duplicate of EPC): vma_to_resize refuses. */
	if (olen > sgx_vma_end(old) - old)
		return -EFAULT;
	{
		uint64_t pgoff = sgx_vma_pgoff(old);

		return pgoff + nlen / SGX_PAGE_SIZE < pgoff ? -EINVAL : -EFAULT;
	}
}

/* Whether user address a is in any mapping (the host's find_vma). */
static bool host_mapped(uint64_t a)
{
	struct drv_src_vma sv;

	return !sgx_pf.mm->src_vma || (!sgx_pf.mm->src_vma(a, &sv) && sv.start <= a);
}

int sgx_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr,
	       long *ret)
{
	uint64_t olen = (old_len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;
	uint64_t nlen = (new_len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;
	uint64_t oend = old + olen < old ? UINT64_MAX : old + olen;
	uint64_t nend = new_addr + nlen < new_addr ? UINT64_MAX : new_addr + nlen;
	bool fixed = flags & MREMAP_FIXED, src;
	int handled = 0;

	/* What mremap(2) refuses before looking at mappings: the host answers the same. */
	if ((flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) ||
	    (fixed && !(flags & MREMAP_MAYMOVE)) ||
	    ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len)) ||
	    (old & (SGX_PAGE_SIZE - 1)) || !nlen)
		return 0;
	drv_lock(&sgx_pf.lock);
	encl_reap();
	src = sgx_vma_end(old) != 0;
	if (src) {
		*ret = mremap_sgx(old, olen, nlen, flags, new_addr);
		handled = 1;
	} else if ((olen && vma_range_has(old, oend)) || (fixed && vma_range_has(new_addr, nend))) {
		/* Ordinary memory at old, but what the kernel unmaps before the move (the
		 * destination, the tail) holds enclave or vEPC mappings: those unmaps are ours,
		 * after the checks the kernel makes first; the host's mremap does the rest. */
		if (!host_mapped(old))
			goto out; /* EFAULT, nothing touched */
		if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
			if ((new_addr & (SGX_PAGE_SIZE - 1)) || nlen > TASK_SIZE_MAX ||
			    new_addr > TASK_SIZE_MAX - nlen || (oend > new_addr && nend > old))
				goto out; /* EINVAL, nothing touched */
			if (fixed && vma_range_has(new_addr, nend)) {
				long r = range_unmap(new_addr, nend);

				if (r) {
					*ret = r;
					handled = 1;
					goto out;
				}
			}
			if (olen > nlen && vma_range_has(old + nlen, oend)) {
				long r = range_unmap(old + nlen, oend);

				if (r) {
					*ret = r;
					handled = 1;
				}
			}
		} else if (olen > nlen) {
			/* A shrink is all unmapping: done here. */
			*ret = range_unmap(old + nlen, oend);
			if (!*ret)
				*ret = (long)old;
			handled = 1;
		}
	}
out:
	if (handled)
		TRACEC(TRACE_MM, "mremap 0x%lx+0x%lx -> 0x%lx flags=0x%x new=0x%lx -> %ld", (unsigned long)old,
		      (unsigned long)old_len, (unsigned long)new_len, flags, (unsigned long)new_addr,
		      *ret);
	drv_unlock(&sgx_pf.lock);
	return handled;
}

int sgx_mprotect(uint64_t addr, uint64_t len, int prot, long *ret)
{
	uint64_t end = addr + ((len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	long r = 0;

	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (end <= addr || !vma_range_has(addr, end)) {
		drv_unlock(&sgx_pf.lock);
		return 0;
	}
	/* mprotect(2) refuses an unaligned start before looking at VMAs: nothing may be split
	 * or protected at a byte address. */
	if (addr & (SGX_PAGE_SIZE - 1)) {
		*ret = -EINVAL;
		drv_unlock(&sgx_pf.lock);
		return 1;
	}
	/* Piece by piece as the kernel walks VMAs: earlier pieces stay changed on failure. */
	for (uint64_t a = addr; a < end;) {
		struct drv_vma *v = vma_find(a);
		uint64_t next;

		if (!v) {
			next = vma_next_start(a);
			if (next > end)
				next = end;
			if (sgx_pf.mm->protect(a, next - a, prot)) {
				r = -errno;
				break;
			}
			a = next;
			continue;
		}
		next = v->end < end ? v->end : end;
		/* The generic check (PROT_WRITE without VM_MAYWRITE), then the driver's hook. */
		if ((prot & PROT_WRITE) && !(v->vm_flags & VMA_MAYWRITE)) {
			r = -EACCES;
			break;
		}
		if (v->ops->mprotect) {
			r = v->ops->mprotect(v, a, next, prot);
			if (r)
				break;
		}
		v = vma_isolate(a, next);
		if (!v) {
			r = -ENOMEM;
			break;
		}
		v->prot = prot;
		v->ops->populate(v, a, next);
		a = next;
	}
	if (TRACE_ON(TRACE_MM)) {
		char pb[48];

		trace_printf("mprotect 0x%lx-0x%lx prot=%s -> %ld", (unsigned long)addr,
			     (unsigned long)end, trace_prot(pb, sizeof(pb), (unsigned long)prot), r);
	}
	*ret = r;
	drv_unlock(&sgx_pf.lock);
	return 1;
}

/* ---- madvise ---- */

/* The advices madvise_behavior_valid accepts (Debian's 6.12: KSM, THP, MEMORY_FAILURE). */
static bool advice_valid(int advice)
{
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_FREE: case MADV_REMOVE: case MADV_DONTFORK: case MADV_DOFORK:
	case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK:
	case MADV_COLD: case MADV_PAGEOUT: case MADV_POPULATE_READ: case MADV_POPULATE_WRITE:
	case MADV_DONTNEED_LOCKED: case MADV_COLLAPSE: case MADV_HWPOISON: case MADV_SOFT_OFFLINE:
		return true;
	default:
		return false;
	}
}

/* madvise_vma_behavior for [a, end) of one VMA (enclave and vEPC VMAs answer alike: both are
 * VM_IO|VM_PFNMAP files). maywrite: VM_SHARED and VM_MAYWRITE (MADV_REMOVE). */
static long advise_sgx_vma(uint64_t a, uint64_t end, int advice, bool maywrite)
{
	switch (advice) {
	case MADV_REMOVE:
		/* vfs_fallocate(PUNCH_HOLE) of a character device: ENODEV. */
		return maywrite ? -ENODEV : -EACCES;
	case MADV_DONTFORK:
		/* VM_DONTCOPY (vEPC mappings have it from the start). */
		if (!(vma_find(a)->vm_flags & VMA_DONTCOPY)) {
			struct drv_vma *v = vma_isolate(a, end);

			if (!v)
				return -EAGAIN;
			v->vm_flags |= VMA_DONTCOPY;
		}
		return 0;
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTDUMP: case MADV_KEEPONFORK: case MADV_MERGEABLE: case MADV_UNMERGEABLE:
	case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
		/* Flags the driver has no use for; KSM ignores VM_PFNMAP|VM_IO VMAs. */
		return 0;
	default:
		/* VM_IO (DOFORK), a file (WIPEONFORK), VM_SPECIAL (DODUMP), VM_PFNMAP (COLD,
		 * PAGEOUT, DONTNEED, DONTNEED_LOCKED, FREE, COLLAPSE), GUP refused (POPULATE_*). */
		return -EINVAL;
	}
}

/* do_madvise from the validity check on, for a range that holds enclave or vEPC VMAs. */
static long advise_range(uint64_t start, uint64_t end, int advice)
{
	bool populate = advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE;
	long unmapped = 0, r;

	if (!advice_valid(advice))
		return -EINVAL;
	if (advice == MADV_HWPOISON || advice == MADV_SOFT_OFFLINE) {
		/* Error injection pins page after page from start: ordinary pages up to the
		 * first enclave page, which cannot be pinned (EFAULT). */
		uint64_t first;

		if (!sgx_pf.mm->capable_sys_admin || !sgx_pf.mm->capable_sys_admin())
			return -EPERM;
		first = vma_find(start) ? start : vma_next_start(start);
		if (first > start && sgx_pf.mm->advise) {
			r = sgx_pf.mm->advise(start, first - start, advice);
			if (r)
				return r;
		}
		return -EFAULT;
	}
	/* madvise_walk_vmas (or the populate loop): VMA by VMA in address order. */
	for (uint64_t a = start; a < end;) {
		struct drv_vma *v = vma_find(a);
		uint64_t next;

		if (!v) {
			next = vma_next_start(a);
			if (next > end)
				next = end;
			r = sgx_pf.mm->advise ? sgx_pf.mm->advise(a, next - a, advice) : 0;
			/* A hole: the walk goes on and reports ENOMEM at the end (population stops). */
			if (r == -ENOMEM && !populate)
				unmapped = r;
			else if (r)
				return r;
			a = next;
			continue;
		}
		next = v->end < end ? v->end : end;
		/* REMOVE's vma_is_shared_maywrite: VM_SHARED needs VM_MAYWRITE here. */
		r = advise_sgx_vma(a, next, advice, v->vm_flags & VMA_MAYWRITE);
		if (r)
			return r;
		a = next;
	}
	return unmapped;
}

int sgx_madvise(uint64_t addr, uint64_t len, int advice, long *ret)
{
	uint64_t alen = (len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK, end = addr + alen;

	/* What do_madvise refuses or ignores before looking at VMAs is the host's to answer. */
	if ((addr & (SGX_PAGE_SIZE - 1)) || (len && !alen) || end <= addr)
		return 0;
	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (!vma_range_has(addr, end)) {
		drv_unlock(&sgx_pf.lock);
		return 0;
	}
	*ret = advise_range(addr, end, advice);
	TRACEC(TRACE_MM, "madvise 0x%lx-0x%lx advice=%d -> %ld", (unsigned long)addr, (unsigned long)end, advice, *ret);
	drv_unlock(&sgx_pf.lock);
	return 1;
}
