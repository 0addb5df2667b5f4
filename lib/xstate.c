#include "lib/xstate.h"

#include <cpuid.h>

#define CPUID1_ECX_OSXSAVE (1U << 27)

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

void xstate_probe(struct cpu_features *f)
{
	unsigned a, b, c, d;
	uint64_t xfrm;

	f->xfrm = XFEATURE_MASK_FPSSE;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & CPUID1_ECX_OSXSAVE))
		return;
	xfrm = xgetbv0() & CPU_XFRM_HANDLED;
	for (unsigned i = XFEATURE_AVX; i < XFEATURE_MAX; i++) {
		if (!(xfrm & (1ULL << i)))
			continue;
		__cpuid_count(0xD, i, a, b, c, d);
		/* A supervisor component (ECX[0]) or one the SSA's first page cannot hold. */
		if ((c & 1) || !a || (uint64_t)a + b > 4096) {
			xfrm &= ~(1ULL << i);
			continue;
		}
		f->xsave.size[i] = a;
		f->xsave.offset[i] = b;
	}
	/* Dropping a component must not leave half of a group that XCR0 takes only whole. */
	if (!cpu_xfrm_legal(xfrm))
		xfrm &= ~(XFEATURE_MASK_AVX512 | XFEATURE_MASK_MPX | XFEATURE_MASK_AMX);
	if (!cpu_xfrm_legal(xfrm))
		xfrm = XFEATURE_MASK_FPSSE;
	f->xfrm = xfrm;
}
