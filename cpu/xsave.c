/* XSAVE into and XRSTOR from the SSA frame (cpu/xsave.h). Images are in the standard format:
 * the legacy region (x87: bytes 0-23 and the ST registers at 32-159; SSE: MXCSR at 24 and
 * XMM0-15 at 160-415; 464-511 belong to software and are never touched), the header at 512
 * (XSTATE_BV, then XCOMP_BV and reserved bytes), and component i at layout offset[i]. */
#include <string.h>

#include "cpu/xsave.h"

#define X87_HEAD_END 24U      /* FCW FSW FTW FOP FIP FDP */
#define MXCSR_OFF 24U
#define MXCSR_MASK_OFF 28U
#define ST_OFF 32U
#define XMM_OFF 160U
#define LEGACY_END 416U       /* end of what XSAVE writes in the legacy region */
#define XSTATE_BV_OFF XSAVE_LEGACY_SIZE
#define HEADER_END (XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE)
#define MXCSR_INIT 0x1F80U
#define FCW_INIT 0x037FU
/* What MXCSR_MASK means when a processor stores 0 there. */
#define MXCSR_MASK_DEFAULT 0xFFBFU

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool has_header(const struct cpu_xsave *x)
{
	return x->size >= HEADER_END;
}

/* Whether component i (>= 2) of layout l fits in an image of size bytes and in a page. */
static bool component_fits(const struct cpu_xsave_layout *l, unsigned i, uint32_t size)
{
	uint64_t end = (uint64_t)l->offset[i] + l->size[i];

	return l->size[i] && l->offset[i] >= HEADER_END && end <= size && end <= SGX_PAGE_SIZE;
}

/* The x87 and SSE parts of the legacy region in their initial configuration (MXCSR apart:
 * XRSTOR loads it whatever XSTATE_BV says). */
static void x87_init(uint8_t *a)
{
	memset(a, 0, X87_HEAD_END);
	memset(a + ST_OFF, 0, XMM_OFF - ST_OFF);
	a[0] = FCW_INIT & 0xFF;
	a[1] = FCW_INIT >> 8;
}

static void sse_init(uint8_t *a)
{
	memset(a + XMM_OFF, 0, LEGACY_END - XMM_OFF);
}

void xsave_aex(const struct cpu_xsave_layout *l, uint64_t xfrm, struct cpu_xsave *x, uint8_t *ssa)
{
	uint64_t in_use = has_header(x) ? get64(x->area + XSTATE_BV_OFF) : XFEATURE_MASK_FPSSE;
	uint64_t bv = in_use & XFEATURE_MASK_FPSSE;
	uint32_t mxcsr = MXCSR_INIT;

	/* Save: the legacy region as XSAVE writes it, a header with nothing but XSTATE_BV, and
	 * every XFRM component the context has in use. */
	memcpy(ssa, x->area, LEGACY_END);
	memset(ssa + XSAVE_LEGACY_SIZE, 0, XSAVE_HEADER_SIZE);
	for (unsigned i = XFEATURE_AVX; i < XFEATURE_MAX; i++) {
		if (!(xfrm & (1ULL << i)) || !(x->features & (1ULL << i)) || !(in_use & (1ULL << i)) ||
		    !component_fits(l, i, x->size))
			continue;
		memcpy(ssa + l->offset[i], x->area + l->offset[i], l->size[i]);
		bv |= 1ULL << i;
	}
	put64(ssa + XSTATE_BV_OFF, bv);

	/* The synthetic state: XFRM components initial, MXCSR 0x1F80. The enclave's values do not
	 * stay in the context's image either. */
	x87_init(x->area);
	sse_init(x->area);
	memcpy(x->area + MXCSR_OFF, &mxcsr, sizeof(mxcsr));
	if (!has_header(x))
		return;
	for (unsigned i = XFEATURE_AVX; i < XFEATURE_MAX; i++) {
		if (!(xfrm & (1ULL << i)) || !(x->features & (1ULL << i)) ||
		    !component_fits(l, i, x->size))
			continue;
		memset(x->area + l->offset[i], 0, l->size[i]);
		in_use &= ~(1ULL << i);
	}
	put64(x->area + XSTATE_BV_OFF, in_use);
}

bool xrstor_faults(uint64_t xfrm, const uint8_t *ssa, const struct cpu_xsave *x)
{
	uint32_t mask = x ? get32(x->area + MXCSR_MASK_OFF) : 0;

	if (!mask)
		mask = MXCSR_MASK_DEFAULT;
	if (get64(ssa + XSTATE_BV_OFF) & ~xfrm)
		return true;
	if (get64(ssa + XSTATE_BV_OFF + 8) || get64(ssa + XSTATE_BV_OFF + 16))
		return true;
	if (get32(ssa + MXCSR_OFF) & ~mask)
		return true;
	if (x && ((xfrm & ~x->features) || ((xfrm & ~XFEATURE_MASK_FPSSE) && !has_header(x))))
		return true;
	return false;
}

void xrstor_eresume(const struct cpu_xsave_layout *l, uint64_t xfrm, const uint8_t *ssa,
		    struct cpu_xsave *x)
{
	uint64_t bv = get64(ssa + XSTATE_BV_OFF);
	uint64_t in_use;

	memcpy(x->area + MXCSR_OFF, ssa + MXCSR_OFF, 4);
	if (bv & (1ULL << XFEATURE_X87)) {
		memcpy(x->area, ssa, X87_HEAD_END);
		memcpy(x->area + ST_OFF, ssa + ST_OFF, XMM_OFF - ST_OFF);
	} else {
		x87_init(x->area);
	}
	if (bv & (1ULL << XFEATURE_SSE))
		memcpy(x->area + XMM_OFF, ssa + XMM_OFF, LEGACY_END - XMM_OFF);
	else
		sse_init(x->area);
	if (!has_header(x))
		return;
	/* The legacy region now holds explicit values for both. */
	in_use = get64(x->area + XSTATE_BV_OFF) | XFEATURE_MASK_FPSSE;
	for (unsigned i = XFEATURE_AVX; i < XFEATURE_MAX; i++) {
		if (!(xfrm & (1ULL << i)))
			continue;
		if ((bv & (1ULL << i)) && component_fits(l, i, x->size)) {
			memcpy(x->area + l->offset[i], ssa + l->offset[i], l->size[i]);
			in_use |= 1ULL << i;
		} else {
			in_use &= ~(1ULL << i);
		}
	}
	put64(x->area + XSTATE_BV_OFF, in_use);
}
