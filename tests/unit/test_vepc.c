/* /dev/sgx_vepc in the driver, with a fake mm (the kernel's virt.c): mmap rules, pages
 * allocated per file offset on fault and accounted against the EPC, guest ENCLS with KVM's
 * checks and raw EINIT codes, SGX_IOC_VEPC_REMOVE_ALL (two passes across instances, EBUSY while
 * a logical processor is inside), and the release order with zombie SECS pages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/sgx.h>
#include <cmocka.h>

#include "cpu/sigstruct.h"
#include "driver/internal.h"
#include "driver/vepc.h"
#include "driver/virt.h"
#include "tests/lib/fake_mm.h"
#include "tests/lib/sgx_fixture.h"

#define EPC_PAGES 64
#define SLOT 0x10000ULL      /* one enclave's ELRANGE: 16 pages */
#define RW (PROT_READ | PROT_WRITE)
#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define FMODE_RW (VEPC_FMODE_READ | VEPC_FMODE_WRITE)

static uint8_t *epc;

static int group_setup(void **state)
{
	struct cpu_features feat;

	(void)state;
	if (fmm_init(32 * SLOT, SLOT) || !fx_key())
		return -1;
	epc = aligned_alloc(SGX_PAGE_SIZE, EPC_PAGES * SGX_PAGE_SIZE);
	if (!epc)
		return -1;
	cpu_features_default(&feat, EPC_PAGES * SGX_PAGE_SIZE, true);
	return sgx_platform_init(epc, EPC_PAGES, &feat, &fmm_ops);
}

/* The EPC index behind a vEPC address, as virt.c looks it up (under the driver lock). */
static long epc_of(uint64_t addr, bool alloc)
{
	long r;

	drv_lock(&sgx_pf.lock);
	r = vepc_epc_of(addr, alloc);
	drv_unlock(&sgx_pf.lock);
	return r;
}

static int setup(void **state)
{
	(void)state;
	fmm_reset();
	sgx_virt_allow_provisionkey(false);
	return 0;
}

/* Every test gives back all it took: no vEPC page, no zombie, the whole EPC free. */
static int teardown(void **state)
{
	(void)state;
	assert_int_equal(vepc_nr_pages(), 0);
	assert_int_equal(sgx_pf.nr_free, EPC_PAGES);
	assert_int_equal(fmm_violations(), 0);
	return 0;
}

static uint64_t slot(unsigned i)
{
	return fmm_base() + i * SLOT;
}

static struct sgx_file *vopen(void)
{
	int err = 0;
	struct sgx_file *f = sgx_open(SGX_FILE_VEPC, &err);

	assert_non_null(f);
	return f;
}

static long vmap(struct sgx_file *f, uint64_t addr, uint64_t len, int prot, uint64_t off)
{
	return sgx_vepc_mmap(f, addr, len, prot, MAP_SHARED | MAP_FIXED, off, FMODE_RW);
}

static void vunmap(uint64_t addr, uint64_t len)
{
	long r = -1;

	assert_int_equal(sgx_munmap(addr, len, &r), 1);
	assert_int_equal(r, 0);
}

static enum sgx_fault_result touch(uint64_t addr, unsigned access, uint32_t *err)
{
	uint32_t e = 0;
	enum sgx_fault_result r = sgx_fault(addr, access, NULL, &e);

	if (err)
		*err = e;
	return r;
}

static long encls(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx, struct cpu_fault *f)
{
	struct cpu_fault dummy;

	return sgx_virt_encls(leaf, rbx, rcx, rdx, f ? f : &dummy);
}

static long remove_all(struct sgx_file *f)
{
	return sgx_ioctl(f, SGX_IOC_VEPC_REMOVE_ALL, 0, NULL);
}

/* ---- a guest enclave built with guest ENCLS ---- */

struct genc {
	struct fx_layout l;
	struct fx_std s;
	uint64_t secs;       /* vEPC address of the SECS page */
};

static long ecreate(struct genc *g, struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32))) = { 0 };
	struct sgx_secinfo si __attribute__((aligned(64))) = { 0 };
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	long r;

	assert_non_null(secs);
	fx_secs(&g->l, secs);
	pi.srcpge = (uintptr_t)secs;
	pi.secinfo = (uintptr_t)&si;
	r = encls(ENCLS_ECREATE, (uintptr_t)&pi, g->secs, 0, f);
	free(secs);
	return r;
}

/* ECREATE, EADD and EEXTEND every page at base + offset (ELRANGE = where it is mapped). */
static void build(struct genc *g, uint64_t base, uint64_t secs)
{
	assert_int_equal(fx_std_layout(&g->l, &g->s, base, SLOT, 1, 1, 0), 0);
	g->secs = secs;
	assert_int_equal(ecreate(g, NULL), SGX_SUCCESS);
	for (unsigned i = 0; i < g->l.npages; i++) {
		const struct fx_page *p = &g->l.page[i];
		struct sgx_pageinfo pi __attribute__((aligned(32))) = { 0 };
		struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = p->secinfo };
		uint64_t la = base + p->offset;

		pi.linaddr = la;
		pi.srcpge = (uintptr_t)p->data;
		pi.secinfo = (uintptr_t)&si;
		pi.secs = secs;
		assert_int_equal(encls(ENCLS_EADD, (uintptr_t)&pi, la, 0, NULL), SGX_SUCCESS);
		for (unsigned c = 0; p->measure && c < SGX_PAGE_SIZE; c += 256)
			assert_int_equal(encls(ENCLS_EEXTEND, secs, la + c, 0, NULL), SGX_SUCCESS);
	}
}

static long einit(struct genc *g, struct cpu_fault *f)
{
	struct sgx_sigstruct *sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	struct sgx_einittoken *tok = aligned_alloc(512, 512);
	long r;

	assert_non_null(sig);
	assert_non_null(tok);
	memset(tok, 0, 512);
	assert_int_equal(fx_sigstruct(&g->l, sig), 0);
	r = encls(ENCLS_EINIT, (uintptr_t)sig, g->secs, (uintptr_t)tok, f);
	free(sig);
	free(tok);
	return r;
}

/* What a guest kernel with flexible launch control writes before EINIT. */
static void guest_lehash_for_test_key(void)
{
	struct sgx_sigstruct *sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	struct fx_layout l;
	uint8_t h[32];

	assert_non_null(sig);
	fx_layout_init(&l, 0, SLOT);
	assert_int_equal(fx_sigstruct(&l, sig), 0);
	assert_int_equal(sigstruct_mrsigner(sig, h), 0);
	sgx_virt_set_lepubkeyhash(h);
	free(sig);
}

/* ---- mmap ---- */

static void test_mmap_rules(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t a = slot(0);
	long r;

	(void)state;
	assert_int_equal(sgx_vepc_mmap(f, a, SGX_PAGE_SIZE, RW, MAP_PRIVATE | MAP_FIXED, 0, FMODE_RW),
			 -EINVAL);
	/* Read-only fd: a writable shared mapping is the VFS's EACCES, a read-only one lacks
	 * VM_SHARED: the driver's EINVAL. Write-only: no read access, EACCES. */
	assert_int_equal(sgx_vepc_mmap(f, a, SGX_PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, 0,
				       VEPC_FMODE_READ), -EACCES);
	assert_int_equal(sgx_vepc_mmap(f, a, SGX_PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, 0,
				       VEPC_FMODE_READ), -EINVAL);
	assert_int_equal(sgx_vepc_mmap(f, a, SGX_PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, 0,
				       VEPC_FMODE_WRITE), -EACCES);
	assert_int_equal(vmap(f, a, 0, RW, 0), -EINVAL);
	assert_int_equal(vmap(f, a, SGX_PAGE_SIZE, RW, 100), -EINVAL);
	assert_int_equal(vmap(f, a + 1, SGX_PAGE_SIZE, RW, 0), -EINVAL);
	/* MAP_SHARED_VALIDATE is shared too; without MAP_FIXED the driver picks the place. */
	r = sgx_vepc_mmap(f, 0, 2 * SGX_PAGE_SIZE, RW, MAP_SHARED_VALIDATE, 0, FMODE_RW);
	assert_true(r > 0);
	assert_true(sgx_range_is_enclave((uint64_t)r, 1));
	vunmap((uint64_t)r, 2 * SGX_PAGE_SIZE);
	assert_false(sgx_range_is_enclave((uint64_t)r, 2 * SGX_PAGE_SIZE));
	/* Other commands are ENOTTY, a non-zero argument EINVAL; an empty vEPC has nothing. */
	assert_int_equal(sgx_ioctl(f, SGX_IOC_ENCLAVE_CREATE, 0, NULL), -ENOTTY);
	assert_int_equal(sgx_ioctl(f, SGX_IOC_VEPC_REMOVE_ALL, 1, NULL), -EINVAL);
	assert_int_equal(remove_all(f), 0);
	sgx_file_put(f);
}

/* ---- faults ---- */

/* The file offset is the page index: two mappings of one index share its EPC page, a
 * mapping of another offset has its own; pages exist from the first touch. */
static void test_fault_allocates_by_offset(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t a = slot(0), b = slot(1);
	uint64_t free0 = sgx_pf.nr_free;

	(void)state;
	assert_int_equal(vmap(f, a, 4 * SGX_PAGE_SIZE, RW, 0), (long)a);
	assert_int_equal(vmap(f, b, 2 * SGX_PAGE_SIZE, RW, 2 * SGX_PAGE_SIZE), (long)b);
	assert_int_equal(fmm_page(a)->kind, FMM_NONE);
	assert_int_equal(touch(a + 2 * SGX_PAGE_SIZE + 8, ACCESS_W, NULL), SGX_FAULT_RETRY);
	assert_int_equal(sgx_pf.nr_free, free0 - 1);
	assert_int_equal(vepc_nr_pages(), 1);
	assert_int_equal(fmm_page(a + 2 * SGX_PAGE_SIZE)->kind, FMM_EPC);
	assert_int_equal(fmm_page(a + 2 * SGX_PAGE_SIZE)->prot, RW);
	/* Index 2 through the second mapping: the same page, nothing new allocated. */
	assert_int_equal(touch(b, ACCESS_R, NULL), SGX_FAULT_RETRY);
	assert_int_equal(sgx_pf.nr_free, free0 - 1);
	assert_int_equal(fmm_page(b)->epc_off, fmm_page(a + 2 * SGX_PAGE_SIZE)->epc_off);
	assert_int_equal(touch(b + SGX_PAGE_SIZE, ACCESS_R, NULL), SGX_FAULT_RETRY);
	assert_int_equal(sgx_pf.nr_free, free0 - 2);
	/* Not ours outside the mappings. */
	assert_int_equal(touch(slot(2), ACCESS_R, NULL), SGX_FAULT_NOT_OURS);
	/* Pages stay with the vEPC while it lives, whatever is mapped. */
	vunmap(a, 4 * SGX_PAGE_SIZE);
	assert_int_equal(vepc_nr_pages(), 2);
	vunmap(b, 2 * SGX_PAGE_SIZE);
	assert_int_equal(vepc_nr_pages(), 2);
	sgx_file_put(f);
}

/* A mapping pins the file: pages go when the last fd and the last mapping are gone. */
static void test_mapping_keeps_vepc(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t a = slot(0);

	(void)state;
	assert_int_equal(vmap(f, a, 2 * SGX_PAGE_SIZE, RW, 0), (long)a);
	assert_int_equal(touch(a, ACCESS_W, NULL), SGX_FAULT_RETRY);
	sgx_file_put(f);
	assert_int_equal(vepc_nr_pages(), 1);
	assert_int_equal(touch(a + SGX_PAGE_SIZE, ACCESS_W, NULL), SGX_FAULT_RETRY);
	assert_int_equal(vepc_nr_pages(), 2);
	vunmap(a, 2 * SGX_PAGE_SIZE);
}

/* madvise on a vEPC mapping (VM_PFNMAP|VM_IO|VM_DONTCOPY, shared writable): the advices
 * that drop pages are refused, REMOVE cannot punch the device, the pages stay. */
static void test_madvise_keeps_pages(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t a = slot(0);
	long idx, r = 0;

	(void)state;
	assert_int_equal(vmap(f, a, SGX_PAGE_SIZE, RW, 0), (long)a);
	assert_int_equal(touch(a, ACCESS_W, NULL), SGX_FAULT_RETRY);
	idx = epc_of(a, false);
	assert_true(idx >= 0);
	assert_int_equal(sgx_madvise(a, SGX_PAGE_SIZE, MADV_DONTNEED, &r), 1);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(sgx_madvise(a, SGX_PAGE_SIZE, MADV_POPULATE_WRITE, &r), 1);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(sgx_madvise(a, SGX_PAGE_SIZE, MADV_REMOVE, &r), 1);
	assert_int_equal(r, -ENODEV);
	assert_int_equal(sgx_madvise(a, SGX_PAGE_SIZE, MADV_DONTFORK, &r), 1);
	assert_int_equal(r, 0);
	assert_int_equal(sgx_madvise(a, SGX_PAGE_SIZE, MADV_DOFORK, &r), 1);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(epc_of(a, false), idx);
	assert_int_equal(fmm_page(a)->kind, FMM_EPC);
	assert_int_equal(vepc_nr_pages(), 1);
	sgx_file_put(f);
	vunmap(a, SGX_PAGE_SIZE);
}

/* vEPC and enclave mappings side by side in one VMA set: an enclave mapping replaces part of
 * a vEPC mapping, and madvise, mprotect, mremap and munmap walk both kinds in one range. */
static void test_mixed_with_enclave_mappings(void **state)
{
	struct sgx_file *f = vopen(), *e;
	uint64_t a = slot(0), pg = SGX_PAGE_SIZE;
	long idx3, r = 0;
	int err = 0;

	(void)state;
	assert_int_equal(vmap(f, a, 4 * pg, RW, 0), (long)a);
	assert_int_equal(touch(a, ACCESS_W, NULL), SGX_FAULT_RETRY);
	assert_int_equal(touch(a + 3 * pg, ACCESS_W, NULL), SGX_FAULT_RETRY);
	idx3 = epc_of(a + 3 * pg, false);
	assert_true(idx3 >= 0);
	e = sgx_open(SGX_FILE_ENCLAVE, &err);
	assert_non_null(e);
	/* A fresh enclave file maps anywhere: over the vEPC's page 1. */
	assert_int_equal(sgx_mmap(e, a + pg, pg, PROT_READ, MAP_SHARED | MAP_FIXED, 0, FMODE_RW),
			 (long)(a + pg));
	assert_int_equal(epc_of(a + pg, false), -EFAULT);
	assert_true(epc_of(a, false) >= 0);
	/* madvise stops at the first VMA that refuses: the vEPC one. */
	assert_int_equal(sgx_madvise(a, 4 * pg, MADV_DONTNEED, &r), 1);
	assert_int_equal(r, -EINVAL);
	/* mprotect goes through both kinds; the vEPC pages follow the new protection. */
	assert_int_equal(sgx_mprotect(a, 4 * pg, PROT_READ, &r), 1);
	assert_int_equal(r, 0);
	assert_int_equal(fmm_page(a)->prot, PROT_READ);
	assert_int_equal(fmm_page(a + 3 * pg)->prot, PROT_READ);
	/* A vEPC page moved by mremap stays the same EPC page (found by file offset). */
	assert_int_equal(sgx_mremap(a + 3 * pg, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, slot(1), &r), 1);
	assert_int_equal(r, (long)slot(1));
	assert_int_equal(epc_of(slot(1), false), idx3);
	assert_int_equal(fmm_page(slot(1))->kind, FMM_EPC);
	assert_int_equal(fmm_page(slot(1))->epc_off, (uint64_t)idx3 * pg);
	assert_int_equal(epc_of(a + 3 * pg, false), -EFAULT);
	vunmap(a, 4 * pg);
	vunmap(slot(1), pg);
	sgx_file_put(e);
	sgx_file_put(f);
}

static void test_fault_permissions(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t a = slot(0);
	uint32_t err;

	(void)state;
	assert_int_equal(vmap(f, a, 2 * SGX_PAGE_SIZE, PROT_READ, 0), (long)a);
	assert_int_equal(touch(a, ACCESS_W, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W);
	assert_int_equal(vepc_nr_pages(), 0);
	assert_int_equal(touch(a, ACCESS_R, NULL), SGX_FAULT_RETRY);
	assert_int_equal(touch(a, ACCESS_W, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W | X86_PF_P);
	/* mprotect takes effect on the mapping and its pages. */
	assert_int_equal(sgx_mprotect(a, SGX_PAGE_SIZE, RW, &(long){ 0 }), 1);
	assert_int_equal(fmm_page(a)->prot, RW);
	assert_int_equal(fmm_page(a + SGX_PAGE_SIZE)->kind, FMM_NONE);
	assert_int_equal(touch(a, ACCESS_W, NULL), SGX_FAULT_RETRY);
	vunmap(a, 2 * SGX_PAGE_SIZE);
	sgx_file_put(f);
}

/* Host protection = mapping ∩ EPCM: SECS and TCS pages have none, an RX page is RX in an
 * RWX mapping; an access beyond the EPCM is an access error with the SGX bit. */
static void test_host_prot_follows_epcm(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t base = slot(0), secs = slot(1);
	struct genc g;
	uint32_t err;

	(void)state;
	assert_int_equal(vmap(f, base, SLOT, RWX, 0), (long)base);
	assert_int_equal(vmap(f, secs, SGX_PAGE_SIZE, RWX, SLOT), (long)secs);
	build(&g, base, secs);
	assert_int_equal(fmm_page(secs)->kind, FMM_EPC);
	assert_int_equal(fmm_page(secs)->prot, PROT_NONE);
	assert_int_equal(fmm_page(base + g.s.tcs[0])->prot, PROT_NONE);
	assert_int_equal(fmm_page(base + g.s.code)->prot, PROT_READ | PROT_EXEC);
	assert_int_equal(fmm_page(base + g.s.data_rw)->prot, RW);
	assert_int_equal(fmm_page(base + g.s.data_r)->prot, PROT_READ);
	assert_int_equal(touch(base + g.s.code, ACCESS_W, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W | X86_PF_P | X86_PF_SGX);
	assert_int_equal(touch(base + g.s.tcs[0], ACCESS_R, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_P | X86_PF_SGX);
	/* A stale host mapping that the EPCM allows is simply refreshed. */
	fmm_ops.map_none(base + g.s.data_rw, SGX_PAGE_SIZE);
	assert_int_equal(touch(base + g.s.data_rw, ACCESS_W, NULL), SGX_FAULT_RETRY);
	assert_int_equal(fmm_page(base + g.s.data_rw)->prot, RW);
	/* After REMOVE_ALL the pages are free EPC again, mapped as the mapping says. */
	assert_int_equal(remove_all(f), 0);
	assert_int_equal(fmm_page(base + g.s.tcs[0])->prot, RWX);
	assert_int_equal(fmm_page(secs)->prot, RWX);
	fx_layout_free(&g.l);
	vunmap(base, SLOT);
	vunmap(secs, SGX_PAGE_SIZE);
	sgx_file_put(f);
}

/* ---- the EPC is shared with host enclaves ---- */

/* vEPC pages are never reclaimed: once they hold the whole EPC, faults get SIGBUS and a host
 * enclave gets ENOMEM; the pages come back when the vEPC goes. */
static void test_exhaustion(void **state)
{
	struct sgx_file *f = vopen(), *ef;
	uint64_t a = slot(0), n = 0;
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	struct sgx_enclave_create c = { (uintptr_t)secs };
	int err = 0;

	(void)state;
	assert_non_null(secs);
	assert_int_equal(vmap(f, a, (EPC_PAGES + 4) * SGX_PAGE_SIZE, RW, 0), (long)a);
	while (touch(a + n * SGX_PAGE_SIZE, ACCESS_W, NULL) == SGX_FAULT_RETRY)
		n++;
	assert_int_equal(n, EPC_PAGES);
	assert_int_equal(sgx_pf.nr_free, 0);
	assert_int_equal(touch(a + n * SGX_PAGE_SIZE, ACCESS_R, NULL), SGX_FAULT_SIGBUS);
	/* Guest ENCLS on a page that does not exist yet cannot fault it in either. */
	{
		struct cpu_fault fl;

		assert_int_equal(encls(ENCLS_EREMOVE, 0, a + (n + 1) * SGX_PAGE_SIZE, 0, &fl), CPU_FAULT);
		assert_int_equal(fl.vector, X86_PF);
		assert_int_equal(fl.addr, a + (n + 1) * SGX_PAGE_SIZE);
	}
	ef = sgx_open(SGX_FILE_ENCLAVE, &err);
	assert_non_null(ef);
	memset(secs, 0, sizeof(*secs));
	secs->size = SLOT;
	secs->base = slot(8);
	secs->ssa_frame_size = 1;
	secs->attributes.flags = SGX_ATTR_MODE64BIT;
	secs->attributes.xfrm = 3;
	assert_int_equal(sgx_ioctl(ef, SGX_IOC_ENCLAVE_CREATE, (uintptr_t)&c, NULL), -ENOMEM);
	/* REMOVE_ALL leaves the pages allocated. */
	assert_int_equal(remove_all(f), 0);
	assert_int_equal(sgx_pf.nr_free, 0);
	vunmap(a, (EPC_PAGES + 4) * SGX_PAGE_SIZE);
	sgx_file_put(f);
	assert_int_equal(sgx_pf.nr_free, EPC_PAGES);
	assert_int_equal(sgx_ioctl(ef, SGX_IOC_ENCLAVE_CREATE, (uintptr_t)&c, NULL), 0);
	sgx_file_put(ef);
	free(secs);
}

/* ---- guest ENCLS ---- */

static void test_guest_build_einit_raw(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t base = slot(0), secs = slot(1);
	uint8_t zero[32] = { 0 };
	struct cpu_fault fl;
	struct genc g;

	(void)state;
	assert_int_equal(vmap(f, base, SLOT, RWX, 0), (long)base);
	assert_int_equal(vmap(f, secs, SGX_PAGE_SIZE, RWX, SLOT), (long)secs);
	build(&g, base, secs);
	/* The guest's LE hash is not the signer's: the raw code, not EPERM. */
	sgx_virt_set_lepubkeyhash(zero);
	assert_int_equal(einit(&g, NULL), SGX_INVALID_EINITTOKEN);
	guest_lehash_for_test_key();
	assert_int_equal(einit(&g, NULL), SGX_SUCCESS);
	/* Misaligned operands are #GP; an "EPC" page that is ordinary memory a #PF on it. */
	assert_int_equal(encls(ENCLS_EREMOVE, 0, base + 8, 0, &fl), CPU_FAULT);
	assert_int_equal(fl.vector, X86_GP);
	assert_int_equal(encls(ENCLS_EREMOVE, 0, (uintptr_t)epc + 0x1000000, 0, &fl), CPU_FAULT);
	assert_int_equal(fl.vector, X86_PF);
	assert_int_equal(fl.addr, (uintptr_t)epc + 0x1000000);
	/* EADD to a valid page: the CPU's #PF with the SGX bit, on the VMM's address. */
	{
		struct sgx_pageinfo pi __attribute__((aligned(32))) = { 0 };
		struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };

		pi.linaddr = base + g.s.hole;
		pi.srcpge = (uintptr_t)g.l.page[0].data;
		pi.secinfo = (uintptr_t)&si;
		pi.secs = secs;
		assert_int_equal(encls(ENCLS_EADD, (uintptr_t)&pi, base + g.s.code, 0, &fl), CPU_FAULT);
		assert_int_equal(fl.vector, X86_PF);
		assert_true(fl.errcode & X86_PF_SGX);
		assert_int_equal(fl.addr, base + g.s.code);
	}
	/* Unknown leaves (paging, debug) are #GP. */
	assert_int_equal(encls(ENCLS_EWB, 0, base, 0, &fl), CPU_FAULT);
	assert_int_equal(fl.vector, X86_GP);
	/* The SECS sits above its children in the index order: one pass frees it all. */
	assert_int_equal(remove_all(f), 0);
	fx_layout_free(&g.l);
	vunmap(base, SLOT);
	vunmap(secs, SGX_PAGE_SIZE);
	sgx_file_put(f);
}

/* KVM's ECREATE checks: the guest's CPUID leaf 0x12 and the PROVISIONKEY capability. */
static void test_kvm_ecreate_checks(void **state)
{
	struct sgx_file *f = vopen();
	uint64_t secs = slot(0);
	const struct cpu_features *ft = &sgx_pf.cpu.feat;
	struct cpu_fault fl;
	struct genc g;

	(void)state;
	assert_int_equal(vmap(f, secs, SGX_PAGE_SIZE, RW, 0), (long)secs);
	fx_layout_init(&g.l, slot(4), SLOT);
	g.secs = secs;
	g.l.attributes |= SGX_ATTR_PROVISIONKEY;
	assert_int_equal(ecreate(&g, &fl), CPU_FAULT);
	assert_int_equal(fl.vector, X86_GP);
	sgx_virt_allow_provisionkey(true);
	assert_int_equal(ecreate(&g, NULL), SGX_SUCCESS);
	assert_int_equal(encls(ENCLS_EREMOVE, 0, secs, 0, NULL), SGX_SUCCESS);
	sgx_virt_allow_provisionkey(false);

	/* A guest CPUID without DEBUG and with 2^17 as the largest enclave. */
	assert_int_equal(sgx_virt_set_cpuid(ft->miscselect, ft->attributes & ~SGX_ATTR_DEBUG,
					    ft->xfrm, 17), 0);
	g.l.attributes = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	assert_int_equal(ecreate(&g, &fl), CPU_FAULT);
	assert_int_equal(fl.vector, X86_GP);
	g.l.attributes = SGX_ATTR_MODE64BIT;
	g.l.size = 2 * SLOT;
	g.l.base = slot(4);
	assert_int_equal(ecreate(&g, &fl), CPU_FAULT);
	assert_int_equal(fl.vector, X86_GP);
	g.l.size = SLOT;
	assert_int_equal(ecreate(&g, NULL), SGX_SUCCESS);
	assert_int_equal(encls(ENCLS_EREMOVE, 0, secs, 0, NULL), SGX_SUCCESS);
	/* More than the emulated CPU has is refused; the host's own values are fine. */
	assert_int_equal(sgx_virt_set_cpuid(ft->miscselect | 0x80, ft->attributes, ft->xfrm, 36), -EINVAL);
	assert_int_equal(sgx_virt_set_cpuid(ft->miscselect, ft->attributes, ft->xfrm, 36), 0);
	vunmap(secs, SGX_PAGE_SIZE);
	sgx_file_put(f);
}

/* Two enclaves split across two vEPCs: each one's SECS lives in the other's region. The
 * kernel documentation's removal: REMOVE_ALL on every vEPC, then again on those that
 * returned non-zero. */
struct split {
	struct sgx_file *a, *b;
	struct genc g1, g2;  /* g1: children in A, SECS in B; g2 the other way round */
};

static void split_build(struct split *s)
{
	s->a = vopen();
	s->b = vopen();
	/* A: slots 0 (ELRANGE of g1) and 1 (SECS of g2); B: slots 2 and 3, likewise. */
	assert_int_equal(vmap(s->a, slot(0), 2 * SLOT, RWX, 0), (long)slot(0));
	assert_int_equal(vmap(s->b, slot(2), 2 * SLOT, RWX, 0), (long)slot(2));
	guest_lehash_for_test_key();
	build(&s->g1, slot(0), slot(3));
	build(&s->g2, slot(2), slot(1));
	assert_int_equal(einit(&s->g1, NULL), SGX_SUCCESS);
	assert_int_equal(einit(&s->g2, NULL), SGX_SUCCESS);
}

static void split_free(struct split *s)
{
	fx_layout_free(&s->g1.l);
	fx_layout_free(&s->g2.l);
}

static void test_remove_all_two_pass(void **state)
{
	struct split s;
	uint64_t used;

	(void)state;
	split_build(&s);
	used = EPC_PAGES - sgx_pf.nr_free;
	assert_int_equal(used, vepc_nr_pages());
	/* First round: A keeps g2's SECS (its children are in B), B loses everything. */
	assert_int_equal(remove_all(s.a), 1);
	assert_int_equal(remove_all(s.b), 0);
	/* Second round on the one that returned non-zero. */
	assert_int_equal(remove_all(s.a), 0);
	/* Pages stay allocated; they are uninitialised EPC now (ECREATE works on them again). */
	assert_int_equal(EPC_PAGES - sgx_pf.nr_free, used);
	assert_false(sgx_pf.cpu.epcm[epc_of(slot(1), false)].valid);
	assert_int_equal(ecreate(&s.g1, NULL), SGX_SUCCESS);
	assert_int_equal(remove_all(s.b), 0);
	vunmap(slot(0), 2 * SLOT);
	vunmap(slot(2), 2 * SLOT);
	sgx_file_put(s.a);
	sgx_file_put(s.b);
	split_free(&s);
}

/* EBUSY while a logical processor is inside one of the vEPC's enclaves; the EREMOVEs before
 * the busy page stay done. */
static void test_remove_all_busy(void **state)
{
	struct cpu_lp lp = { 0 };
	struct cpu_regs r = { 0 };
	struct cpu_fault fl;
	struct split s;

	(void)state;
	split_build(&s);
	r.rax = ENCLU_EENTER;
	r.rbx = slot(0) + s.g1.s.tcs[0];
	r.rcx = 0x401000;
	r.rip = 0x400000;
	assert_int_equal(sgx_enclu(&lp, &r, &fl), 0);
	assert_true(lp.in_enclave);
	assert_int_equal(r.rip, slot(0) + s.g1.s.code + FX_STD_ENTRY);
	assert_int_equal(remove_all(s.a), -EBUSY);
	/* The other vEPC: g1's SECS has children (count), g2 is not running. */
	assert_int_equal(remove_all(s.b), 1);
	r.rax = ENCLU_EEXIT;
	r.rbx = 0x401000;
	assert_int_equal(sgx_enclu(&lp, &r, &fl), 0);
	assert_false(lp.in_enclave);
	assert_int_equal(remove_all(s.a), 0);
	assert_int_equal(remove_all(s.b), 0);
	vunmap(slot(0), 2 * SLOT);
	vunmap(slot(2), 2 * SLOT);
	sgx_file_put(s.a);
	sgx_file_put(s.b);
	split_free(&s);
}

/* Release without REMOVE_ALL: children before SECS within a vEPC; a SECS whose children live
 * in another vEPC waits on the zombie list until that one is released. */
static void test_release_zombie_secs(void **state)
{
	struct split s;
	uint64_t used;

	(void)state;
	split_build(&s);
	used = vepc_nr_pages();
	vunmap(slot(0), 2 * SLOT);
	sgx_file_put(s.a);
	/* A's pages went but g2's SECS (children in B): one zombie still holds its page. */
	assert_int_equal(vepc_nr_pages(), used - s.g1.l.npages);
	assert_int_equal(EPC_PAGES - sgx_pf.nr_free, used - s.g1.l.npages);
	vunmap(slot(2), 2 * SLOT);
	sgx_file_put(s.b);
	/* B's release freed g2's children, then its own SECS, then the zombie. */
	split_free(&s);
}

/* One vEPC with the SECS at a lower index than its children: the second pass frees it. */
static void test_release_secs_first_in_order(void **state)
{
	struct sgx_file *f = vopen();
	struct genc g;

	(void)state;
	assert_int_equal(vmap(f, slot(0), 2 * SLOT, RWX, 0), (long)slot(0));
	build(&g, slot(1), slot(0));
	assert_int_equal(remove_all(f), 1); /* the SECS came first, its children after */
	assert_int_equal(remove_all(f), 0);
	fx_layout_free(&g.l);
	build(&g, slot(1), slot(0));
	vunmap(slot(0), 2 * SLOT);
	sgx_file_put(f);
	fx_layout_free(&g.l);
}

/* After fork the child has none of the parent's vEPC mappings or pages. */
static void test_fork_child_forgets(void **state)
{
	struct sgx_file *f = vopen();
	long idx;

	(void)state;
	assert_int_equal(vmap(f, slot(0), 2 * SGX_PAGE_SIZE, RW, 0), (long)slot(0));
	assert_int_equal(touch(slot(0), ACCESS_W, NULL), SGX_FAULT_RETRY);
	idx = epc_of(slot(0), false);
	assert_true(idx >= 0);
	drv_lock(&sgx_pf.lock);
	vepc_fork_child();
	/* The rest of fork_child (a fresh EPC) is not done here: give the page back by hand. */
	sgx_free_epc_page((uint32_t)idx);
	drv_unlock(&sgx_pf.lock);
	assert_int_equal(vepc_nr_pages(), 0);
	assert_int_equal(fmm_page(slot(0))->kind, FMM_FREE);
	assert_false(sgx_range_is_enclave(slot(0), SGX_PAGE_SIZE));
	assert_int_equal(touch(slot(0), ACCESS_W, NULL), SGX_FAULT_NOT_OURS);
	sgx_file_put(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmap_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_allocates_by_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping_keeps_vepc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madvise_keeps_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_with_enclave_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_prot_follows_epcm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_build_einit_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvm_ecreate_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_all_two_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_all_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_zombie_secs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_secs_first_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_child_forgets, setup, teardown),
	};

	return cmocka_run_group_tests_name("vepc", tests, group_setup, NULL);
}
