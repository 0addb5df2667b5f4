/* The driver's VMAs: one sorted, non-overlapping interval set of every mapping of an enclave
 * or vEPC file (internal.h). What differs by kind is in the VMA's ops: encl_vm_ops (mmap.c)
 * and vepc_vm_ops (vepc.c). All of it under the driver lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver/internal.h"

struct drv_vma *vma_find(uint64_t addr)
{
	size_t lo = 0, hi = sgx_pf.nr_vmas;

	drv_assert_locked(&sgx_pf.lock);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct drv_vma *v = &sgx_pf.vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

struct drv_vma *vma_find_kind(uint64_t addr, const struct drv_vma_ops *ops)
{
	struct drv_vma *v = vma_find(addr);

	return v && v->ops == ops ? v : NULL;
}

/* Index of the first VMA that ends above addr (nr_vmas if none). */
static size_t vma_first_above(uint64_t addr)
{
	size_t lo = 0, hi = sgx_pf.nr_vmas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sgx_pf.vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool vma_range_has(uint64_t start, uint64_t end)
{
	size_t i = vma_first_above(start);

	drv_assert_locked(&sgx_pf.lock);
	return i < sgx_pf.nr_vmas && sgx_pf.vmas[i].start < end;
}

uint64_t vma_next_start(uint64_t addr)
{
	size_t i = vma_first_above(addr);

	drv_assert_locked(&sgx_pf.lock);
	if (i < sgx_pf.nr_vmas && sgx_pf.vmas[i].start <= addr)
		i++;
	return i < sgx_pf.nr_vmas ? sgx_pf.vmas[i].start : UINT64_MAX;
}

int vma_insert(const struct drv_vma *nv)
{
	size_t i;

	drv_assert_locked(&sgx_pf.lock);
	if (sgx_pf.nr_vmas == sgx_pf.cap_vmas) {
		size_t cap = sgx_pf.cap_vmas ? sgx_pf.cap_vmas * 2 : 16;
		struct drv_vma *n = realloc(sgx_pf.vmas, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		sgx_pf.vmas = n;
		sgx_pf.cap_vmas = cap;
	}
	i = vma_first_above(nv->start);
	memmove(&sgx_pf.vmas[i + 1], &sgx_pf.vmas[i], (sgx_pf.nr_vmas - i) * sizeof(sgx_pf.vmas[0]));
	sgx_pf.vmas[i] = *nv;
	sgx_pf.nr_vmas++;
	nv->ops->get(&sgx_pf.vmas[i]);
	return 0;
}

int vma_cut(uint64_t start, uint64_t end, bool zap)
{
	drv_assert_locked(&sgx_pf.lock);
	for (size_t i = vma_first_above(start); i < sgx_pf.nr_vmas;) {
		struct drv_vma v = sgx_pf.vmas[i];

		if (v.start >= end)
			break;
		if (zap && v.ops->zap)
			v.ops->zap(&v, start > v.start ? start : v.start, end < v.end ? end : v.end);
		if (v.start < start && v.end > end) {
			/* Split in two: keep the head here, insert the tail. */
			struct drv_vma tail = v;

			tail.start = end;
			tail.pgoff += (end - v.start) / SGX_PAGE_SIZE;
			sgx_pf.vmas[i].end = start;
			return vma_insert(&tail);
		}
		if (v.start < start) {
			sgx_pf.vmas[i].end = start;
			i++;
		} else if (v.end > end) {
			sgx_pf.vmas[i].start = end;
			sgx_pf.vmas[i].pgoff += (end - v.start) / SGX_PAGE_SIZE;
			i++;
		} else {
			memmove(&sgx_pf.vmas[i], &sgx_pf.vmas[i + 1],
				(sgx_pf.nr_vmas - i - 1) * sizeof(v));
			sgx_pf.nr_vmas--;
			/* Last: putting may release what it mapped (an enclave, a vEPC). */
			v.ops->put(&v);
		}
	}
	return 0;
}

struct drv_vma *vma_isolate(uint64_t a, uint64_t end)
{
	struct drv_vma *v = vma_find(a), piece;
	int r;

	if (!v || (v->start == a && v->end == end))
		return v;
	piece = *v;
	piece.pgoff += (a - v->start) / SGX_PAGE_SIZE;
	piece.start = a;
	piece.end = end;
	/* Hold what it maps while its VMA is out of the list. */
	piece.ops->get(&piece);
	r = vma_cut(a, end, false);
	if (!r)
		r = vma_insert(&piece);
	piece.ops->put(&piece);
	return r ? NULL : vma_find(a);
}

void vma_shootdown(uint64_t start, uint64_t end)
{
	const void *last = NULL;

	drv_assert_locked(&sgx_pf.lock);
	for (size_t i = vma_first_above(start); i < sgx_pf.nr_vmas && sgx_pf.vmas[i].start < end; i++) {
		const struct drv_vma *v = &sgx_pf.vmas[i];

		/* Once per enclave: consecutive VMAs mostly map the same one. */
		if (v->ops->shootdown && v->encl != (const void *)last) {
			v->ops->shootdown(v);
			last = v->encl;
		}
	}
}
