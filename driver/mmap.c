/* Enclave mappings: the VMA list, mmap/mprotect/munmap with sgx_encl_may_map's rules
 * (../shared/spec/linux.md §2), and keeping host protections = VMA ∩ EPCM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "driver/internal.h"
#include "driver/vepc.h"
#include "util/trace.h"

struct encl_vma *vma_find(uint64_t addr)
{
	size_t lo = 0, hi = sgx_pf.nr_vmas;

	drv_assert_locked(&sgx_pf.lock);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct encl_vma *v = &sgx_pf.vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

bool sgx_range_is_enclave(uint64_t addr, uint64_t len)
{
	bool r = false;

	drv_lock(&sgx_pf.lock);
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++)
		if (sgx_pf.vmas[i].start < addr + len && addr < sgx_pf.vmas[i].end)
			r = true;
	r = r || vepc_range_mapped(addr, len); /* VM_IO|VM_PFNMAP as well */
	drv_unlock(&sgx_pf.lock);
	return r;
}

static int vma_insert(uint64_t start, uint64_t end, int prot, struct sgx_encl *e)
{
	size_t i = 0;

	drv_assert_locked(&sgx_pf.lock);
	if (sgx_pf.nr_vmas == sgx_pf.cap_vmas) {
		size_t cap = sgx_pf.cap_vmas ? sgx_pf.cap_vmas * 2 : 16;
		struct encl_vma *n = realloc(sgx_pf.vmas, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		sgx_pf.vmas = n;
		sgx_pf.cap_vmas = cap;
	}
	while (i < sgx_pf.nr_vmas && sgx_pf.vmas[i].start < start)
		i++;
	memmove(&sgx_pf.vmas[i + 1], &sgx_pf.vmas[i], (sgx_pf.nr_vmas - i) * sizeof(sgx_pf.vmas[0]));
	sgx_pf.vmas[i] = (struct encl_vma){ start, end, prot, e };
	sgx_pf.nr_vmas++;
	e->refs++;
	return 0;
}

/* The PTEs of [start, end) are gone (unmapped, or replaced by a new mapping). */
static void zap_ptes(struct sgx_encl *e, uint64_t start, uint64_t end)
{
	uint64_t lo = start > e->base ? start : e->base;
	uint64_t hi = end < e->base + e->size ? end : e->base + e->size;

	for (uint64_t a = lo; a < hi; a += SGX_PAGE_SIZE) {
		struct encl_page *p = encl_page_lookup(e, a);

		if (p)
			p->pte = 0;
	}
}

/* Remove [start, end) from the VMA list, splitting VMAs that straddle it. Does not touch
 * the host mappings. */
static int vma_cut(uint64_t start, uint64_t end, bool zap)
{
	drv_assert_locked(&sgx_pf.lock);
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++) {
		struct encl_vma v = sgx_pf.vmas[i];

		if (v.end <= start || v.start >= end)
			continue;
		if (zap)
			zap_ptes(v.encl, start > v.start ? start : v.start, end < v.end ? end : v.end);
		if (v.start < start && v.end > end) {
			/* Split in two: keep the head here, insert the tail. */
			sgx_pf.vmas[i].end = start;
			if (vma_insert(end, v.end, v.prot, v.encl))
				return -ENOMEM;
			return 0;
		}
		if (v.start < start) {
			sgx_pf.vmas[i].end = start;
		} else if (v.end > end) {
			sgx_pf.vmas[i].start = end;
		} else {
			memmove(&sgx_pf.vmas[i], &sgx_pf.vmas[i + 1],
				(sgx_pf.nr_vmas - i - 1) * sizeof(v));
			sgx_pf.nr_vmas--;
			i--;
			encl_put(v.encl);
		}
	}
	return 0;
}

/* Make the host mappings of [start, end) (inside VMA v) match VMA ∩ EPCM, page by page,
 * merging runs so consecutive EPC pages become one mapping. */
static int vma_populate(const struct encl_vma *v, uint64_t start, uint64_t end)
{
	uint64_t run_start = start, run_epc = 0;
	int run_prot = -1, err = 0, r;
	bool run_mapped = false;

	for (uint64_t a = start; a <= end; a += SGX_PAGE_SIZE) {
		struct encl_page *p = a < end ? encl_page_lookup(v->encl, a) : NULL;
		bool mapped = p && p->epc != EPC_NONE && p->pte && !(v->encl->flags & ENCL_DEAD);
		int prot = mapped ? encl_pte_prot(v->encl, p, v->prot) : PROT_NONE;
		uint64_t epc_off = mapped ? (uint64_t)p->epc * SGX_PAGE_SIZE : 0;
		bool extends = a < end && a > run_start && mapped == run_mapped && prot == run_prot &&
			       (!mapped || epc_off == run_epc + (a - run_start));

		if (a == end || (a > run_start && !extends)) {
			if (run_mapped)
				r = sgx_pf.mm->map_epc(run_start, run_epc, a - run_start, run_prot);
			else
				r = sgx_pf.mm->map_none(run_start, a - run_start);
			if (r && !err)
				err = r;
			run_start = a;
		}
		if (a == run_start) {
			run_mapped = mapped;
			run_prot = prot;
			run_epc = epc_off;
		}
	}
	return err;
}

int vma_refresh_page(struct sgx_encl *e, uint64_t addr)
{
	struct encl_vma *v = vma_find(addr);
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

	if ((e->flags & ENCL_INITIALIZED) && (start < e->base || end > e->base + e->size))
		return -EACCES;
	for (uint64_t a = start; a < end; a += SGX_PAGE_SIZE) {
		struct encl_page *p = encl_page_lookup(e, a);

		if (p && (want & ~p->max_prot))
			return -EACCES;
	}
	return 0;
}

long sgx_mmap(struct sgx_file *f, uint64_t addr, uint64_t len, int prot, int flags)
{
	struct sgx_encl *e = f->encl;
	uint64_t start, end;
	long r;

	if (f->kind == SGX_FILE_VEPC) {
		drv_lock(&sgx_pf.lock);
		r = vepc_mmap(f->vepc, addr, len, prot, flags, 0);
		drv_unlock(&sgx_pf.lock);
		return r;
	}
	if (f->kind != SGX_FILE_ENCLAVE)
		return -ENODEV;
	if (!len)
		return -EINVAL;
	if ((flags & MAP_TYPE) == MAP_PRIVATE)
		return -EINVAL;
	if ((flags & MAP_FIXED) && (addr & (SGX_PAGE_SIZE - 1)))
		return -EINVAL;
	len = (len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK;
	drv_lock(&sgx_pf.lock);
	if (e->flags & ENCL_DEAD) {
		r = -EINVAL;
		goto out;
	}
	if (flags & MAP_FIXED) {
		start = addr;
		r = encl_may_map(e, start, start + len, prot);
		if (r)
			goto out;
	} else {
		/* The address is chosen first; the permission check does not depend on it
		 * before EINIT, and after EINIT a free range cannot be inside ELRANGE. */
		start = sgx_pf.mm->reserve(addr & SGX_PAGE_MASK, len);
		if (!start) {
			r = -ENOMEM;
			goto out;
		}
		r = encl_may_map(e, start, start + len, prot);
		if (r) {
			sgx_pf.mm->unmap(start, len);
			goto out;
		}
	}
	end = start + len;
	vma_cut(start, end, true);
	zap_ptes(e, start, end);
	r = vma_insert(start, end, prot, e);
	if (r)
		goto out;
	vma_populate(vma_find(start), start, end);
	TRACE("mmap %lx-%lx prot=%x enclave=%lx", (unsigned long)start, (unsigned long)end, prot,
	      (unsigned long)e->base);
	r = (long)start;
out:
	drv_unlock(&sgx_pf.lock);
	return r;
}

int sgx_munmap(uint64_t addr, uint64_t len, long *ret)
{
	uint64_t end = addr + ((len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	bool ours = false;

	drv_lock(&sgx_pf.lock);
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++)
		if (sgx_pf.vmas[i].start < end && addr < sgx_pf.vmas[i].end)
			ours = true;
	if (ours) {
		/* Unmap first: once the VMA is gone its enclave may be released. */
		*ret = sgx_pf.mm->unmap(addr, len);
		if (*ret == 0)
			vma_cut(addr, end, true);
	}
	{
		long vr;

		if (vepc_munmap(addr, len, &vr)) {
			if (!ours)
				*ret = vr;
			ours = true;
		}
	}
	drv_unlock(&sgx_pf.lock);
	return ours;
}

int sgx_mprotect(uint64_t addr, uint64_t len, int prot, long *ret)
{
	uint64_t end = addr + ((len + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK);
	bool ours = false;
	long r = 0;

	drv_lock(&sgx_pf.lock);
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++)
		if (sgx_pf.vmas[i].start < end && addr < sgx_pf.vmas[i].end)
			ours = true;
	if (!ours) {
		int handled = vepc_mprotect(addr, len, prot, ret);

		drv_unlock(&sgx_pf.lock);
		return handled;
	}
	/* Piece by piece as the kernel walks VMAs: earlier pieces stay changed on failure. */
	for (uint64_t a = addr; a < end;) {
		struct encl_vma *v = vma_find(a);
		uint64_t next;

		if (!v) {
			size_t i = 0;

			while (i < sgx_pf.nr_vmas && sgx_pf.vmas[i].start <= a)
				i++;
			next = i < sgx_pf.nr_vmas && sgx_pf.vmas[i].start < end ? sgx_pf.vmas[i].start : end;
			if (vepc_mprotect(a, next - a, prot, &r)) {
				if (r)
					break;
			} else if (sgx_pf.mm->protect(a, next - a, prot)) {
				r = -errno;
				break;
			}
			a = next;
			continue;
		}
		next = v->end < end ? v->end : end;
		r = encl_may_map(v->encl, a, next, prot);
		if (r)
			break;
		if (v->start < a || v->end > next) {
			struct sgx_encl *e = v->encl;

			/* Split off [a, next) with the new protection; hold the enclave across. */
			e->refs++;
			vma_cut(a, next, false);
			r = vma_insert(a, next, prot, e);
			encl_put(e);
			if (r)
				break;
			v = vma_find(a);
		} else {
			v->prot = prot;
		}
		vma_populate(v, a, next);
		a = next;
	}
	TRACE("mprotect %lx-%lx prot=%x -> %ld", (unsigned long)addr, (unsigned long)end, prot, r);
	*ret = r;
	drv_unlock(&sgx_pf.lock);
	return 1;
}
