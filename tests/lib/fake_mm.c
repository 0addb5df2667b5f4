/* The fake address space of driver tests. See fake_mm.h. */
#include "tests/lib/fake_mm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FMM_PAGE 4096ULL
#define FMM_MAX_CALLS 4096

static struct {
	uint64_t base, size;
	struct fmm_page *pages;
	struct fmm_call calls[FMM_MAX_CALLS];
	size_t ncalls;
	unsigned violations;
	unsigned violations_by_op[FMM_OP_COUNT];
	int fail_reserve;
	unsigned backings;
	uint64_t noexec_start, noexec_end;
	int read_implies_exec;
	int advise_error;
	int capable;
} fmm;

static void fmm_record(enum fmm_op op, uint64_t addr, uint64_t len, uint64_t epc_off, int prot,
		       uint64_t hint, uint64_t ret)
{
	if (fmm.ncalls < FMM_MAX_CALLS)
		fmm.calls[fmm.ncalls++] = (struct fmm_call){ op, addr, len, epc_off, hint, prot, ret };
}

/* The pages [addr, addr+len) if they are all in the owned region and the range is aligned;
 * counts a violation otherwise. */
static struct fmm_page *fmm_range(enum fmm_op op, uint64_t addr, uint64_t len)
{
	if ((addr | len) & (FMM_PAGE - 1) || !len || addr < fmm.base || addr + len < addr ||
	    addr + len > fmm.base + fmm.size) {
		fmm.violations++;
		fmm.violations_by_op[op]++;
		return NULL;
	}
	return &fmm.pages[(addr - fmm.base) / FMM_PAGE];
}

static int fmm_map_epc(uint64_t addr, uint64_t epc_off, uint64_t len, int prot)
{
	struct fmm_page *p = fmm_range(FMM_OP_MAP_EPC, addr, len);

	fmm_record(FMM_OP_MAP_EPC, addr, len, epc_off, prot, 0, 0);
	if (!p)
		return -1;
	for (uint64_t i = 0; i < len / FMM_PAGE; i++)
		p[i] = (struct fmm_page){ FMM_EPC, prot, epc_off + i * FMM_PAGE };
	return 0;
}

static int fmm_map_epc_cow(uint64_t addr, uint64_t epc_off, uint64_t len, int prot)
{
	struct fmm_page *p = fmm_range(FMM_OP_MAP_EPC_COW, addr, len);

	fmm_record(FMM_OP_MAP_EPC_COW, addr, len, epc_off, prot, 0, 0);
	if (!p)
		return -1;
	for (uint64_t i = 0; i < len / FMM_PAGE; i++)
		p[i] = (struct fmm_page){ FMM_EPC_COW, prot, epc_off + i * FMM_PAGE };
	return 0;
}

static int fmm_map_none(uint64_t addr, uint64_t len)
{
	struct fmm_page *p = fmm_range(FMM_OP_MAP_NONE, addr, len);

	fmm_record(FMM_OP_MAP_NONE, addr, len, 0, PROT_NONE, 0, 0);
	if (!p)
		return -1;
	for (uint64_t i = 0; i < len / FMM_PAGE; i++)
		p[i] = (struct fmm_page){ FMM_NONE, PROT_NONE, 0 };
	return 0;
}

static int fmm_protect(uint64_t addr, uint64_t len, int prot)
{
	struct fmm_page *p = fmm_range(FMM_OP_PROTECT, addr, len);

	fmm_record(FMM_OP_PROTECT, addr, len, 0, prot, 0, 0);
	if (!p)
		return -1;
	for (uint64_t i = 0; i < len / FMM_PAGE; i++)
		p[i].prot = prot;
	return 0;
}

static int fmm_unmap(uint64_t addr, uint64_t len)
{
	struct fmm_page *p;

	/* munmap(2) rounds the length up; so may the driver. */
	len = (len + FMM_PAGE - 1) & ~(FMM_PAGE - 1);
	p = fmm_range(FMM_OP_UNMAP, addr, len);
	fmm_record(FMM_OP_UNMAP, addr, len, 0, 0, 0, 0);
	if (!p)
		return -22; /* -EINVAL */
	for (uint64_t i = 0; i < len / FMM_PAGE; i++)
		p[i] = (struct fmm_page){ FMM_FREE, PROT_NONE, 0 };
	return 0;
}

static bool fmm_is_free(uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += FMM_PAGE)
		if (fmm.pages[(a - fmm.base) / FMM_PAGE].kind != FMM_FREE)
			return false;
	return true;
}

static uint64_t fmm_reserve(uint64_t hint, uint64_t len)
{
	uint64_t found = 0;

	if (!fmm.fail_reserve && len && !(len & (FMM_PAGE - 1)) && len <= fmm.size) {
		if (hint && !(hint & (FMM_PAGE - 1)) && hint >= fmm.base &&
		    hint + len <= fmm.base + fmm.size && fmm_is_free(hint, len))
			found = hint;
		for (uint64_t a = fmm.base; !found && a + len <= fmm.base + fmm.size; a += FMM_PAGE)
			if (fmm_is_free(a, len))
				found = a;
	}
	if (found)
		for (uint64_t a = found; a < found + len; a += FMM_PAGE)
			fmm.pages[(a - fmm.base) / FMM_PAGE] = (struct fmm_page){ FMM_RESERVED, PROT_NONE, 0 };
	fmm_record(FMM_OP_RESERVE, 0, len, 0, 0, hint, found);
	return found;
}

/* No thread of a unit test runs inside an enclave while the driver works: nothing to
 * interrupt, only record. */
static void fmm_ipi(uint32_t secs, uint64_t epoch)
{
	fmm_record(FMM_OP_IPI, 0, 0, 0, 0, secs, epoch);
}

static void fmm_tlb_shootdown(uint32_t secs)
{
	fmm_record(FMM_OP_SHOOTDOWN, 0, 0, 0, 0, secs, 0);
}

/* Backing stores are anonymous NORESERVE mappings, as the host makes them: an enclave with a
 * huge ELRANGE costs address space, not memory. */
static void *fmm_backing_create(uint64_t len)
{
	uint64_t rounded = (len + FMM_PAGE - 1) & ~(FMM_PAGE - 1);
	void *p = rounded ? mmap(NULL, rounded, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) : MAP_FAILED;

	if (p == MAP_FAILED)
		p = NULL;
	fmm_record(FMM_OP_BACKING_CREATE, (uintptr_t)p, len, 0, 0, 0, 0);
	if (p)
		fmm.backings++;
	return p;
}

static void fmm_backing_discard(void *p, uint64_t len)
{
	fmm_record(FMM_OP_BACKING_DISCARD, (uintptr_t)p, len, 0, 0, 0, 0);
	memset(p, 0, len);
}

static void fmm_backing_destroy(void *p, uint64_t len)
{
	fmm_record(FMM_OP_BACKING_DESTROY, (uintptr_t)p, len, 0, 0, 0, 0);
	if (p) {
		fmm.backings--;
		munmap(p, (len + FMM_PAGE - 1) & ~(FMM_PAGE - 1));
	}
}

static int fmm_src_vma(uint64_t addr, struct drv_src_vma *out)
{
	if (addr >= fmm.noexec_start && addr < fmm.noexec_end) {
		*out = (struct drv_src_vma){ fmm.noexec_start, fmm.noexec_end, false, false, false };
		return 0;
	}
	/* In the owned region, free pages are holes: find_vma answers the next mapping. */
	if (addr >= fmm.base && addr < fmm.base + fmm.size &&
	    fmm.pages[(addr - fmm.base) / FMM_PAGE].kind == FMM_FREE) {
		uint64_t a = addr & ~(FMM_PAGE - 1);

		while (a < fmm.base + fmm.size && fmm.pages[(a - fmm.base) / FMM_PAGE].kind == FMM_FREE)
			a += FMM_PAGE;
		if (a == fmm.base + fmm.size)
			return -14; /* -EFAULT */
		*out = (struct drv_src_vma){ a, a + FMM_PAGE, true, true, true };
		return 0;
	}
	addr &= ~(FMM_PAGE - 1);
	*out = (struct drv_src_vma){ addr, addr + FMM_PAGE, true, true, true };
	return 0;
}

static int fmm_advise(uint64_t addr, uint64_t len, int advice)
{
	struct fmm_page *p = fmm_range(FMM_OP_ADVISE, addr, len);

	fmm_record(FMM_OP_ADVISE, addr, len, 0, advice, 0, 0);
	if (!p)
		return -22; /* -EINVAL */
	if (fmm.advise_error)
		return fmm.advise_error;
	for (uint64_t i = 0; i < len / FMM_PAGE; i++)
		if (p[i].kind == FMM_FREE)
			return -12; /* -ENOMEM */
	return 0;
}

static bool fmm_capable_sys_admin(void)
{
	return fmm.capable;
}

static bool fmm_read_implies_exec(void)
{
	return fmm.read_implies_exec;
}

const struct drv_mm fmm_ops = {
	.map_epc = fmm_map_epc,
	.map_epc_cow = fmm_map_epc_cow,
	.map_none = fmm_map_none,
	.protect = fmm_protect,
	.unmap = fmm_unmap,
	.ipi = fmm_ipi,
	.tlb_shootdown = fmm_tlb_shootdown,
	.backing_create = fmm_backing_create,
	.backing_discard = fmm_backing_discard,
	.backing_destroy = fmm_backing_destroy,
	.reserve = fmm_reserve,
	.src_vma = fmm_src_vma,
	.read_implies_exec = fmm_read_implies_exec,
	.advise = fmm_advise,
	.capable_sys_admin = fmm_capable_sys_admin,
};

int fmm_init(uint64_t size, uint64_t align)
{
	void *p;
	uint64_t a;

	if (fmm.pages)
		return 0;
	/* Over-reserve and trim so the region is aligned. */
	p = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	a = ((uintptr_t)p + align - 1) & ~(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + size + align > a + size)
		munmap((void *)(uintptr_t)(a + size), (uintptr_t)p + size + align - (a + size));
	fmm.pages = calloc(size / FMM_PAGE, sizeof(*fmm.pages));
	if (!fmm.pages)
		return -1;
	fmm.base = a;
	fmm.size = size;
	return 0;
}

uint64_t fmm_base(void)
{
	return fmm.base;
}

uint64_t fmm_size(void)
{
	return fmm.size;
}

void fmm_claim(uint64_t addr, uint64_t len)
{
	struct fmm_page *p = fmm_range(FMM_OP_RESERVE, addr, len);

	for (uint64_t i = 0; p && i < len / FMM_PAGE; i++)
		p[i] = (struct fmm_page){ FMM_FOREIGN, PROT_NONE, 0 };
}

void fmm_reset(void)
{
	memset(fmm.pages, 0, fmm.size / FMM_PAGE * sizeof(*fmm.pages));
	fmm.ncalls = 0;
	fmm.violations = 0;
	memset(fmm.violations_by_op, 0, sizeof(fmm.violations_by_op));
	fmm.fail_reserve = 0;
	fmm.noexec_start = fmm.noexec_end = 0;
	fmm.read_implies_exec = 0;
	fmm.advise_error = 0;
	fmm.capable = 0;
}

const struct fmm_page *fmm_page(uint64_t addr)
{
	if (addr < fmm.base || addr >= fmm.base + fmm.size)
		return NULL;
	return &fmm.pages[(addr - fmm.base) / FMM_PAGE];
}

size_t fmm_ncalls(void)
{
	return fmm.ncalls;
}

const struct fmm_call *fmm_call(size_t i)
{
	return i < fmm.ncalls ? &fmm.calls[i] : NULL;
}

void fmm_clear_calls(void)
{
	fmm.ncalls = 0;
}

unsigned fmm_violations(void)
{
	return fmm.violations;
}

unsigned fmm_violations_of(enum fmm_op op)
{
	return op < FMM_OP_COUNT ? fmm.violations_by_op[op] : 0;
}

void fmm_fail_reserve(int on)
{
	fmm.fail_reserve = on;
}

void fmm_set_noexec_source(uint64_t start, uint64_t end)
{
	fmm.noexec_start = start;
	fmm.noexec_end = end;
}

unsigned fmm_backings_live(void)
{
	return fmm.backings;
}

void fmm_set_read_implies_exec(int on)
{
	fmm.read_implies_exec = on;
}

void fmm_set_advise_error(int err)
{
	fmm.advise_error = err;
}

void fmm_set_capable(int on)
{
	fmm.capable = on;
}
