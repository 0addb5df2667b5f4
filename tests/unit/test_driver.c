/* The driver (driver/) over a malloc'd EPC with a fake mm (tests/lib/fake_mm.c): ioctl checks
 * and errnos in the kernel's order (its ioctl.c), mmap/mprotect/munmap rules (sgx_mmap,
 * sgx_vma_mprotect), host protections = VMA ∩ EPCM, and the fault decisions (sgx_vma_fault).
 * ioctl arguments live in real memory: the driver reads them with process_vm_readv. Enclave
 * addresses come from the fake's PROT_NONE region, so a driver that touched them itself would
 * crash the test.
 *
 * The platform is process-wide: every test must leave it as it found it (teardown checks that
 * every EPC page is free again, no VMA and no backing store is left, and the driver made no
 * mm call outside the fake's region). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/sgx.h>
#include <cmocka.h>

#include "driver/driver.h"
#include "driver/internal.h"
#include "tests/lib/fake_mm.h"
#include "tests/lib/sgx_fixture.h"

#define EPC_PAGES 128
#define SIZE 0x10000ULL
#define SLOT 0x100000ULL          /* ELRANGEs are SLOT apart in the fake's region */
#define MAX_FILES 16
#define MAX_ENCL 3
#define FMODE_RW (SGX_FMODE_READ | SGX_FMODE_WRITE)

struct encl_fx {
	struct fx_layout l;
	struct fx_std s;
	struct sgx_file *f;
};

struct t {
	struct sgx_file *files[MAX_FILES]; /* index = the "fd" PROVISION looks up */
	struct encl_fx e[MAX_ENCL];
	long grabbed[EPC_PAGES];
	unsigned ngrabbed;
	struct cpu_lp lp;       /* a thread that may be inside an enclave */
	struct cpu_regs regs;
};

static struct t *cur; /* for lookup_file, which has no context argument */
static uint8_t *epc;

static struct sgx_file *lookup(int fd)
{
	return fd >= 0 && fd < MAX_FILES ? cur->files[fd] : NULL;
}

static int group_setup(void **state)
{
	struct cpu_features feat;

	(void)state;
	if (fmm_init(64 * SLOT, SLOT) || !fx_key())
		return -1;
	epc = aligned_alloc(SGX_PAGE_SIZE, EPC_PAGES * SGX_PAGE_SIZE);
	if (!epc)
		return -1;
	cpu_features_default(&feat, EPC_PAGES * SGX_PAGE_SIZE, false);
	return sgx_platform_init(epc, EPC_PAGES, &feat, &fmm_ops);
}

static int setup(void **state)
{
	cur = calloc(1, sizeof(*cur));
	*state = cur;
	fmm_reset();
	return cur ? 0 : -1;
}

/* Undo whatever the test left, then check the platform is as it was. */
static int teardown(void **state)
{
	struct t *t = *state;
	bool ok = true;
	struct cpu_fault f;
	long ret;

	if (t->lp.in_enclave) {
		t->regs.rax = ENCLU_EEXIT;
		t->regs.rbx = 0x1000;
		sgx_enclu(&t->lp, &t->regs, &f);
	}
	for (unsigned i = 0; i < MAX_FILES; i++)
		if (t->files[i])
			sgx_file_put(t->files[i]);
	sgx_munmap(fmm_base(), fmm_size(), &ret);
	drv_lock(&sgx_pf.lock);
	while (t->ngrabbed)
		sgx_free_epc_page((uint32_t)t->grabbed[--t->ngrabbed]);
	drv_unlock(&sgx_pf.lock);
	for (unsigned i = 0; i < MAX_ENCL; i++)
		fx_layout_free(&t->e[i].l);
	if (sgx_pf.nr_free != EPC_PAGES) {
		fprintf(stderr, "teardown: %lu EPC pages still in use\n",
			(unsigned long)(EPC_PAGES - sgx_pf.nr_free));
		ok = false;
	}
	if (sgx_pf.nr_vmas) {
		fprintf(stderr, "teardown: %zu enclave VMAs left\n", sgx_pf.nr_vmas);
		ok = false;
	}
	if (fmm_violations()) {
		fprintf(stderr, "teardown: %u mm calls outside the owned region\n", fmm_violations());
		ok = false;
	}
	if (fmm_backings_live()) {
		fprintf(stderr, "teardown: %u backing stores not destroyed\n", fmm_backings_live());
		ok = false;
	}
	free(t);
	cur = NULL;
	return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

static struct sgx_file *open_file(struct t *t, enum sgx_file_kind kind, int *fd)
{
	int err = 0;
	struct sgx_file *f = sgx_open(kind, &err);

	assert_non_null(f);
	for (int i = 0; i < MAX_FILES; i++) {
		if (!t->files[i]) {
			t->files[i] = f;
			if (fd)
				*fd = i;
			return f;
		}
	}
	fail_msg("too many files");
	return NULL;
}

static void close_file(struct t *t, struct sgx_file *f)
{
	for (int i = 0; i < MAX_FILES; i++) {
		if (t->files[i] == f) {
			t->files[i] = NULL;
			sgx_file_put(f);
			return;
		}
	}
	fail_msg("closing a file that is not open");
}

static long ioc(struct sgx_file *f, unsigned long cmd, const void *arg)
{
	return sgx_ioctl(f, cmd, (unsigned long)(uintptr_t)arg, lookup);
}

static uint64_t slot_base(unsigned k)
{
	return fmm_base() + k * SLOT;
}

/* Enclave number k of the test: the standard layout at slot k (one SSA frame per TCS). */
static struct encl_fx *layout(struct t *t, unsigned k, uint64_t attributes)
{
	struct encl_fx *e = &t->e[k];

	assert_int_equal(fx_std_layout(&e->l, &e->s, slot_base(k + 1), SIZE, 1, 1, 0), 0);
	e->l.attributes = attributes;
	return e;
}

static long create_secs(struct sgx_file *f, const struct sgx_secs *secs)
{
	struct sgx_enclave_create c = { .src = (uintptr_t)secs };

	return ioc(f, SGX_IOC_ENCLAVE_CREATE, &c);
}

static long create(struct t *t, struct encl_fx *e)
{
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	long r;

	assert_non_null(secs);
	if (!e->f)
		e->f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	fx_secs(&e->l, secs);
	r = create_secs(e->f, secs);
	free(secs);
	return r;
}

static long add_raw(struct sgx_file *f, uint64_t src, uint64_t offset, uint64_t length,
		    const struct sgx_secinfo *si, uint64_t flags, uint64_t *count)
{
	struct sgx_enclave_add_pages a = {
		.src = src, .offset = offset, .length = length, .secinfo = (uintptr_t)si,
		.flags = flags, .count = 0xC0C0,
	};
	long r = ioc(f, SGX_IOC_ENCLAVE_ADD_PAGES, &a);

	if (count)
		*count = a.count;
	return r;
}

static long add_page(struct encl_fx *e, unsigned i, uint64_t *count)
{
	struct sgx_secinfo si __attribute__((aligned(64)));
	const struct fx_page *p = &e->l.page[i];

	memset(&si, 0, sizeof(si));
	si.flags = p->secinfo;
	return add_raw(e->f, (uintptr_t)p->data, p->offset, SGX_PAGE_SIZE, &si,
		       p->measure ? SGX_PAGE_MEASURE : 0, count);
}

static void add_all(struct encl_fx *e)
{
	for (unsigned i = 0; i < e->l.npages; i++)
		assert_int_equal(add_page(e, i, NULL), 0);
}

static long init_sig(struct sgx_file *f, const struct sgx_sigstruct *sig)
{
	struct sgx_enclave_init in = { .sigstruct = (uintptr_t)sig };

	return ioc(f, SGX_IOC_ENCLAVE_INIT, &in);
}

static long init(struct encl_fx *e)
{
	struct sgx_sigstruct *sig = malloc(sizeof(*sig));
	long r;

	assert_non_null(sig);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	r = init_sig(e->f, sig);
	free(sig);
	return r;
}

static long map(struct sgx_file *f, uint64_t addr, uint64_t len, int prot)
{
	return sgx_mmap(f, addr, len, prot, MAP_SHARED | MAP_FIXED, 0, FMODE_RW);
}

static int max_prot(const struct fx_page *p)
{
	if (((p->secinfo >> 8) & 0xFF) == SGX_PT_TCS)
		return PROT_READ | PROT_WRITE;
	return (int)(p->secinfo & 7); /* SECINFO R/W/X are PROT_READ/WRITE/EXEC */
}

static void map_all(struct encl_fx *e)
{
	for (unsigned i = 0; i < e->l.npages; i++) {
		uint64_t a = e->l.base + e->l.page[i].offset;

		assert_int_equal(map(e->f, a, SGX_PAGE_SIZE, max_prot(&e->l.page[i])), (long)a);
	}
}

/* Create, add every page, optionally init and map (each page with its maximum rights). */
static struct encl_fx *build(struct t *t, unsigned k, bool do_init, bool do_map)
{
	struct encl_fx *e = layout(t, k, SGX_ATTR_MODE64BIT);

	fmm_claim(e->l.base, SIZE); /* the caller's PROT_NONE reservation of ELRANGE */
	assert_int_equal(create(t, e), 0);
	add_all(e);
	if (do_init)
		assert_int_equal(init(e), 0);
	if (do_map)
		map_all(e);
	return e;
}

static uint64_t la(const struct encl_fx *e, uint64_t off)
{
	return e->l.base + off;
}

/* Take every free EPC page (as if other enclaves' SECS and VA pages held them). */
static void grab_all_epc(struct t *t)
{
	long idx;

	drv_lock(&sgx_pf.lock);
	while ((idx = epc_take_free_page()) >= 0)
		t->grabbed[t->ngrabbed++] = idx;
	drv_unlock(&sgx_pf.lock);
	assert_int_equal(sgx_pf.nr_free, 0);
}

/* Give back the last page grab_all_epc took. */
static void release_one(struct t *t)
{
	drv_lock(&sgx_pf.lock);
	sgx_free_epc_page((uint32_t)t->grabbed[--t->ngrabbed]);
	drv_unlock(&sgx_pf.lock);
}

static void release_grabbed(struct t *t)
{
	while (t->ngrabbed)
		release_one(t);
}

/* One reclaim batch, as ksgxd runs it (under the driver lock). */
static unsigned reclaim(void)
{
	unsigned n;

	drv_lock(&sgx_pf.lock);
	n = sgx_reclaim_pages();
	drv_unlock(&sgx_pf.lock);
	return n;
}

/* Memory where [p + PAGE, p + 2 PAGE) is PROT_NONE: reads running into it fail. */
static uint8_t *two_pages_second_none(void)
{
	uint8_t *p = mmap(NULL, 2 * SGX_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	memset(p, 0x33, SGX_PAGE_SIZE);
	assert_int_equal(mprotect(p + SGX_PAGE_SIZE, SGX_PAGE_SIZE, PROT_NONE), 0);
	return p;
}

/* A first access through the mapping: the fault handler installs the PTE (linux.md §3). */
static void touch(uint64_t addr)
{
	uint32_t err;

	assert_int_equal(sgx_fault(addr, ACCESS_R, NULL, &err), SGX_FAULT_RETRY);
}

static uint64_t used_pages(void)
{
	return EPC_PAGES - sgx_pf.nr_free;
}

/* ---------------------------------------------------------------------------------------- */
/* SGX_IOC_ENCLAVE_CREATE */

static void test_create_ok_then_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	uint8_t *buf = malloc(sizeof(struct sgx_secs) + 1);
	struct sgx_secs secs;

	assert_non_null(buf);
	assert_int_equal(create(t, e), 0);
	/* The SECS and the first VA page (linux.md §1.7 steps 6 and 8). */
	assert_int_equal(used_pages(), 2);
	assert_int_equal(create(t, e), -EINVAL);
	/* The state is checked before the argument is even read. */
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_CREATE, NULL), -EINVAL);
	assert_int_equal(used_pages(), 2);

	/* The SECS source needs no alignment: the kernel copies it. */
	fx_secs(&layout(t, 1, SGX_ATTR_MODE64BIT)->l, &secs);
	memcpy(buf + 1, &secs, sizeof(secs));
	t->e[1].f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	assert_int_equal(create_secs(t->e[1].f, (struct sgx_secs *)(buf + 1)), 0);
	free(buf);
}

static void test_create_efault(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	uint8_t *two = two_pages_second_none();
	struct sgx_secs secs;

	e->f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_CREATE, NULL), -EFAULT);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_CREATE, (void *)(uintptr_t)fmm_base()), -EFAULT);
	assert_int_equal(create_secs(e->f, NULL), -EFAULT);
	/* 4096 bytes starting 100 bytes before an inaccessible page. */
	fx_secs(&e->l, &secs);
	memcpy(two + SGX_PAGE_SIZE - 100, &secs, 100);
	assert_int_equal(create_secs(e->f, (struct sgx_secs *)(two + SGX_PAGE_SIZE - 100)), -EFAULT);
	assert_int_equal(used_pages(), 0);
	assert_int_equal(fmm_backings_live(), 0);
	assert_int_equal(create(t, e), 0);
	munmap(two, 2 * SGX_PAGE_SIZE);
}

static void test_create_size_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	static const uint64_t sizes[] = { 0, 0x3000, 0x10001, 0xFFFFFFFFFFFFFFFFULL };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		e->l.size = sizes[i];
		if (create(t, e) != -EINVAL)
			fail_msg("CREATE with SECS.SIZE %#lx did not fail with EINVAL",
				 (unsigned long)sizes[i]);
	}
	assert_int_equal(used_pages(), 0);
	e->l.size = SIZE;
	assert_int_equal(create(t, e), 0);
}

/* Everything else is ECREATE's business: its #GP becomes EIO and nothing is kept. */
static void test_create_ecreate_fault_eio(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);

	for (int i = 0; i < 8; i++) {
		const char *what = "";
		long r;

		fx_layout_free(&e->l);
		assert_int_equal(fx_std_layout(&e->l, &e->s, slot_base(1), SIZE, 1, 1, 0), 0);
		switch (i) {
		case 0: what = "base misaligned"; e->l.base += 0x1000; break;
		case 1: what = "INIT attribute"; e->l.attributes |= SGX_ATTR_INIT; break;
		case 2: what = "SSA frame size 0"; e->l.ssa_frame_size = 0; break;
		case 3: what = "size 4096"; e->l.size = 0x1000; break;
		case 4: what = "XFRM 1"; e->l.xfrm = 1; break;
		case 5: what = "32-bit enclave"; e->l.attributes = 0; break;
		/* Too large for the CPU: judged by ECREATE before anything is sized by it. */
		case 6: what = "size 2^54"; e->l.size = 1ULL << 54; e->l.base = 0; break;
		case 7: what = "size 2^47"; e->l.size = 1ULL << 47; e->l.base = 0; break;
		}
		r = create(t, e);
		if (r != -EIO)
			fail_msg("CREATE with %s returned %ld, want -EIO", what, r);
		assert_int_equal(used_pages(), 0);
		assert_int_equal(fmm_backings_live(), 0);
	}
	fx_layout_free(&e->l);
	assert_int_equal(fx_std_layout(&e->l, &e->s, slot_base(1), SIZE, 1, 1, 0), 0);
	assert_int_equal(create(t, e), 0);
}

static void test_create_enomem(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);

	grab_all_epc(t);
	assert_int_equal(create(t, e), -ENOMEM);
	/* One page is not enough either: SECS and VA page. */
	release_one(t);
	assert_int_equal(create(t, e), -ENOMEM);
	assert_int_equal(sgx_pf.nr_free, 1);
	assert_int_equal(fmm_backings_live(), 0);
	release_grabbed(t);
	assert_int_equal(create(t, e), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* SGX_IOC_ENCLAVE_ADD_PAGES */

static void test_add_before_create_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	uint64_t count = 0;

	e->f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	assert_int_equal(add_page(e, 0, &count), -EINVAL);
	assert_int_equal(count, 0xC0C0); /* not written back */
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_ADD_PAGES, NULL), -EINVAL);
}

static void test_add_argument_checks(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	uint64_t src = (uintptr_t)e->l.page[0].data, count;
	static const struct { uint64_t offset, length; const char *what; } bad[] = {
		{ 0x100, 0x1000, "offset not page aligned" },
		{ 0x1000, 0, "length 0" },
		{ 0x1000, 0x800, "length below a page" },
		{ 0x1000, 0x1800, "length not a page multiple" },
		{ 0xFFFFFFFFFFFFF000ULL, 0x2000, "offset + length overflows" },
		{ SIZE, 0x1000, "offset at the end of ELRANGE" },
		{ SIZE - 0x1000, 0x2000, "last page beyond ELRANGE" },
		{ 0, SIZE + 0x1000, "length beyond ELRANGE" },
	};

	assert_int_equal(create(t, e), 0);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_ADD_PAGES, NULL), -EFAULT);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_ADD_PAGES, (void *)(uintptr_t)fmm_base()), -EFAULT);
	assert_int_equal(add_raw(e->f, src + 8, 0, 0x1000, &si, 0, &count), -EINVAL);
	assert_int_equal(count, 0xC0C0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long r = add_raw(e->f, src, bad[i].offset, bad[i].length, &si, 0, &count);

		if (r != -EINVAL || count != 0xC0C0)
			fail_msg("%s: ADD_PAGES returned %ld count %#lx", bad[i].what, r,
				 (unsigned long)count);
	}
	/* SECINFO unreadable. */
	assert_int_equal(add_raw(e->f, src, 0, 0x1000, NULL, 0, &count), -EFAULT);
	assert_int_equal(add_raw(e->f, src, 0, 0x1000, (void *)(uintptr_t)fmm_base(), 0, &count), -EFAULT);
	assert_int_equal(count, 0xC0C0);
	/* Order: src alignment and range come before reading the SECINFO. */
	assert_int_equal(add_raw(e->f, src + 8, 0, 0x1000, NULL, 0, &count), -EINVAL);
	assert_int_equal(add_raw(e->f, src, 0x10, 0x1000, NULL, 0, &count), -EINVAL);
	assert_int_equal(add_raw(e->f, src, 0, 0, NULL, 0, &count), -EINVAL);
	assert_int_equal(used_pages(), 2);
	/* The last page of ELRANGE is fine. */
	assert_int_equal(add_raw(e->f, src, SIZE - 0x1000, 0x1000, &si, 0, &count), 0);
	assert_int_equal(count, 0x1000);
}

static void test_add_secinfo_rules(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64)));
	uint64_t src = (uintptr_t)e->l.page[0].data, count;
	uint64_t used;

	assert_int_equal(create(t, e), 0);
	used = used_pages();
	for (int i = 0; i < 13; i++) {
		const char *what = "";
		long r;

		memset(&si, 0, sizeof(si));
		switch (i) {
		case 0: what = "PT_SECS"; si.flags = 0x001; break;
		case 1: what = "PT_VA"; si.flags = 0x301; break;
		case 2: what = "PT_TRIM"; si.flags = 0x401; break;
		case 3: what = "page type 0xFF"; si.flags = 0xFF01; break;
		case 4: what = "W without R"; si.flags = 0x202; break;
		case 5: what = "TCS with R"; si.flags = 0x101; break;
		case 6: what = "TCS with X"; si.flags = 0x104; break;
		case 7: what = "flags bit 3"; si.flags = 0x209; break;
		case 8: what = "flags bit 7"; si.flags = 0x281; break;
		case 9: what = "flags bit 16"; si.flags = 0x10201; break;
		case 10: what = "flags bit 63"; si.flags = 0x8000000000000201ULL; break;
		case 11: what = "reserved byte 8"; si.flags = 0x201; si.reserved[0] = 1; break;
		case 12: what = "reserved byte 63"; si.flags = 0x201; si.reserved[55] = 0x80; break;
		}
		r = add_raw(e->f, src, 0, 0x1000, &si, SGX_PAGE_MEASURE, &count);
		if (r != -EINVAL || count != 0xC0C0)
			fail_msg("SECINFO with %s: ADD_PAGES returned %ld count %#lx", what, r,
				 (unsigned long)count);
	}
	assert_int_equal(used_pages(), used);
	memset(&si, 0, sizeof(si));
	si.flags = SGX_PT_REG << 8; /* no permissions at all */
	assert_int_equal(add_raw(e->f, src, 0, 0x1000, &si, 0, &count), 0);
}

static void test_add_busy(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, 2 * SGX_PAGE_SIZE);
	uint64_t count, used;

	assert_non_null(src);
	memset(src, 1, 2 * SGX_PAGE_SIZE);
	assert_int_equal(create(t, e), 0);
	assert_int_equal(add_raw(e->f, (uintptr_t)src, 0x3000, 0x1000, &si, 0, &count), 0);
	used = used_pages();
	assert_int_equal(add_raw(e->f, (uintptr_t)src, 0x3000, 0x1000, &si, 0, &count), -EBUSY);
	assert_int_equal(count, 0);
	/* The page before is new, the second one is not: one page of progress. */
	assert_int_equal(add_raw(e->f, (uintptr_t)src, 0x2000, 0x2000, &si, 0, &count), -EBUSY);
	assert_int_equal(count, 0x1000);
	assert_int_equal(used_pages(), used + 1);
	assert_int_equal(add_raw(e->f, (uintptr_t)src, 0x2000, 0x1000, &si, 0, &count), -EBUSY);
	free(src);
}

static void test_add_partial_progress_efault(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, true);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	uint8_t *src = mmap(NULL, 3 * SGX_PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t count, used;

	assert_true(src != MAP_FAILED);
	memset(src, 7, 3 * SGX_PAGE_SIZE);
	assert_int_equal(mprotect(src + 2 * SGX_PAGE_SIZE, SGX_PAGE_SIZE, PROT_NONE), 0);
	used = used_pages();
	/* The source becomes unreadable at its third page. */
	assert_int_equal(add_raw(e->f, (uintptr_t)src, e->s.hole, 0x3000, &si, 0, &count), -EFAULT);
	assert_int_equal(count, 0x2000);
	assert_int_equal(used_pages(), used + 2);
	assert_int_equal(add_raw(e->f, (uintptr_t)src, e->s.hole + 0x1000, 0x1000, &si, 0, &count), -EBUSY);
	/* Not mapped at all; or enclave memory (VM_IO|VM_PFNMAP: no get_user_pages). */
	assert_int_equal(add_raw(e->f, fmm_base(), e->s.hole + 0x2000, 0x1000, &si, 0, &count), -EFAULT);
	assert_int_equal(count, 0);
	assert_int_equal(add_raw(e->f, la(e, e->s.data_rw), e->s.hole + 0x2000, 0x1000, &si, 0, &count),
			 -EFAULT);
	assert_int_equal(count, 0);
	assert_int_equal(used_pages(), used + 2);
	munmap(src, 3 * SGX_PAGE_SIZE);
}

/* The count is written back at the end; if that fails the result is EFAULT, whatever the
 * pages did (linux.md §1.8 step 8). */
static void test_add_count_writeback_efault(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	struct sgx_enclave_add_pages *a = mmap(NULL, SGX_PAGE_SIZE, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t count;

	assert_true(a != MAP_FAILED);
	assert_int_equal(create(t, e), 0);
	a->src = (uintptr_t)e->l.page[0].data;
	a->offset = 0x4000;
	a->length = 0x1000;
	a->secinfo = (uintptr_t)&si;
	assert_int_equal(mprotect(a, SGX_PAGE_SIZE, PROT_READ), 0);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_ADD_PAGES, a), -EFAULT);
	/* ... but the page went in. */
	assert_int_equal(add_raw(e->f, a->src, 0x4000, 0x1000, &si, 0, &count), -EBUSY);
	munmap(a, SGX_PAGE_SIZE);
}

/* count's input is ignored, flags bits other than MEASURE are ignored, and what is measured
 * is exactly what EINIT then expects. */
static void test_add_count_flags_and_measurement(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);

	assert_int_equal(create(t, e), 0);
	for (unsigned i = 0; i < e->l.npages; i++) {
		const struct fx_page *p = &e->l.page[i];
		struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = p->secinfo };
		struct sgx_enclave_add_pages a = {
			.src = (uintptr_t)p->data, .offset = p->offset, .length = 0x1000,
			.secinfo = (uintptr_t)&si, .count = 0x12345,
			.flags = p->measure ? SGX_PAGE_MEASURE | 0xF0 : ~(uint64_t)SGX_PAGE_MEASURE,
		};

		assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_ADD_PAGES, &a), 0);
		assert_int_equal(a.count, 0x1000);
	}
	assert_int_equal(init(e), 0);
}

static void test_add_eadd_fault_eio(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_tcs *tcs = (struct sgx_tcs *)e->l.page[0].data;
	uint64_t count, used;

	assert_int_equal(create(t, e), 0);
	used = used_pages();
	tcs->reserved[100] = 1; /* the kernel does not look inside; EADD does */
	assert_int_equal(add_page(e, 0, &count), -EIO);
	assert_int_equal(count, 0);
	assert_int_equal(used_pages(), used);
	tcs->reserved[100] = 0;
	assert_int_equal(add_page(e, 0, &count), 0);
}

static void test_add_enomem(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	uint64_t count = 0;

	assert_int_equal(create(t, e), 0);
	grab_all_epc(t);
	/* Nothing reclaimable either: ENOMEM, and count is written (0 pages). */
	assert_int_equal(add_page(e, 3, &count), -ENOMEM);
	assert_int_equal(count, 0);
	release_grabbed(t);
	assert_int_equal(add_page(e, 3, &count), 0);
}

/* A source mapped from a file on a noexec mount (no VM_MAYEXEC) is refused with EACCES, after
 * the pages before it went in (linux.md §1.8 per-page source checks). */
static void test_add_noexec_source_eacces(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_R };
	uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, 3 * SGX_PAGE_SIZE);
	uint64_t count, used;

	assert_non_null(src);
	memset(src, 9, 3 * SGX_PAGE_SIZE);
	assert_int_equal(create(t, e), 0);
	used = used_pages();
	fmm_set_noexec_source((uintptr_t)src + SGX_PAGE_SIZE, (uintptr_t)src + 3 * SGX_PAGE_SIZE);
	assert_int_equal(add_raw(e->f, (uintptr_t)src, 0x4000, 0x3000, &si, 0, &count), -EACCES);
	assert_int_equal(count, 0x1000);
	assert_int_equal(used_pages(), used + 1);
	fmm_set_noexec_source(0, 0);
	assert_int_equal(add_raw(e->f, (uintptr_t)src + SGX_PAGE_SIZE, 0x5000, 0x2000, &si, 0, &count), 0);
	assert_int_equal(count, 0x2000);
	free(src);
}

/* The VM_MAYEXEC check comes before the source page is read: a noexec source that cannot
 * be read either is EACCES, not EFAULT (linux.md §1.8: VMA exists, VM_MAYEXEC, then pin). */
static void test_add_noexec_checked_before_reading(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_R };
	uint64_t count;

	assert_int_equal(create(t, e), 0);
	fmm_set_noexec_source(fmm_base(), fmm_base() + SGX_PAGE_SIZE);
	assert_int_equal(add_raw(e->f, fmm_base(), 0x4000, 0x1000, &si, 0, &count), -EACCES);
	assert_int_equal(count, 0);
}

/* An enclave with one page, swapped out, and no free EPC page anywhere: nothing can be
 * reclaimed any more. */
static struct encl_fx *exhausted_with_one_swapped_page(struct t *t)
{
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	uint64_t count = 0;

	assert_int_equal(create(t, e), 0);
	assert_int_equal(add_page(e, 3, &count), 0);
	grab_all_epc(t);
	assert_int_equal(reclaim(), 1);
	grab_all_epc(t);
	assert_int_equal(reclaim(), 0);
	return e;
}

/* Per page, the kernel allocates the EPC page before inserting into the page table: with
 * nothing to reclaim, adding a page that exists is ENOMEM, not EBUSY (linux.md §1.8 per-page
 * steps, §4.2). */
static void test_add_enomem_before_ebusy(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = exhausted_with_one_swapped_page(t);
	uint64_t count = 0;

	assert_int_equal(add_page(e, 3, &count), -ENOMEM);
	assert_int_equal(count, 0);
}

/* ... and before reading the source: an unreadable source is ENOMEM too. */
static void test_add_enomem_before_efault(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = exhausted_with_one_swapped_page(t);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	uint64_t count = 0;

	assert_int_equal(add_raw(e->f, fmm_base(), e->s.hole, 0x1000, &si, 0, &count), -ENOMEM);
	assert_int_equal(count, 0);
}

static void test_add_after_init_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, false);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	uint64_t count;

	assert_int_equal(add_raw(e->f, (uintptr_t)e->l.page[0].data, e->s.hole, 0x1000, &si, 0, &count),
			 -EINVAL);
	assert_int_equal(count, 0xC0C0);
	assert_int_equal(create(t, e), -EINVAL);
}

/* ---------------------------------------------------------------------------------------- */
/* SGX_IOC_ENCLAVE_INIT */

static void test_init_before_create_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);

	e->f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	assert_int_equal(init(e), -EINVAL);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_INIT, NULL), -EINVAL);
}

static void test_init_ok_then_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);

	assert_int_equal(init(e), 0);
	assert_int_equal(init(e), -EINVAL);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_INIT, NULL), -EINVAL);
}

static void test_init_efault(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint8_t *two = two_pages_second_none();
	struct sgx_sigstruct *sig = malloc(sizeof(*sig));

	assert_non_null(sig);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_INIT, NULL), -EFAULT);
	assert_int_equal(init_sig(e->f, NULL), -EFAULT);
	memcpy(two + SGX_PAGE_SIZE - 1000, sig, 1000);
	assert_int_equal(init_sig(e->f, (struct sgx_sigstruct *)(two + SGX_PAGE_SIZE - 1000)), -EFAULT);
	assert_int_equal(init_sig(e->f, sig), 0);
	free(sig);
	munmap(two, 2 * SGX_PAGE_SIZE);
}

static void test_init_vendor(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	struct sgx_sigstruct *sig = malloc(sizeof(*sig));

	assert_non_null(sig);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	sig->header.vendor = 0x1234;
	assert_int_equal(fx_sign(sig), 0);
	assert_int_equal(init_sig(e->f, sig), -EINVAL);
	sig->header.vendor = 0x8086;
	assert_int_equal(fx_sign(sig), 0);
	assert_int_equal(init_sig(e->f, sig), 0);
	free(sig);
}

/* PROVISIONKEY needs a PROVISION ioctl first; EINITTOKENKEY is never allowed. */
static void test_init_disallowed_attributes_eacces(void **state)
{
	struct t *t = *state;
	struct encl_fx *a = layout(t, 0, SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY);
	struct encl_fx *b = layout(t, 1, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY);
	struct sgx_enclave_provision p;
	int pfd;

	open_file(t, SGX_FILE_PROVISION, &pfd);
	p.fd = (uint64_t)pfd;
	assert_int_equal(create(t, a), 0);
	add_all(a);
	assert_int_equal(init(a), -EACCES);
	assert_int_equal(create(t, b), 0);
	add_all(b);
	assert_int_equal(ioc(b->f, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(init(b), -EACCES);
	assert_int_equal(ioc(a->f, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(init(a), 0);
}

static void test_init_reserved_signed_attributes_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	struct sgx_sigstruct *sig = malloc(sizeof(*sig)), good;

	assert_non_null(sig);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	good = *sig;
	for (int i = 0; i < 6; i++) {
		const char *what = "";
		long r;

		*sig = good;
		switch (i) {
		case 0: what = "ATTRIBUTES bit 3";
			sig->body.attributes.flags |= 1ULL << 3; sig->body.attributes_mask.flags |= 1ULL << 3; break;
		case 1: what = "ATTRIBUTES bit 6";
			sig->body.attributes.flags |= 1ULL << 6; sig->body.attributes_mask.flags |= 1ULL << 6; break;
		case 2: what = "ATTRIBUTES bit 63";
			sig->body.attributes.flags |= 1ULL << 63; sig->body.attributes_mask.flags |= 1ULL << 63; break;
		case 3: what = "MISCSELECT bit 1"; sig->body.miscselect |= 2; break;
		case 4: what = "XFRM bit 2 (AVX, not offered)"; sig->body.attributes.xfrm |= 4; break;
		case 5: what = "XFRM bit 40"; sig->body.attributes.xfrm |= 1ULL << 40; break;
		}
		assert_int_equal(fx_sign(sig), 0);
		r = init_sig(e->f, sig);
		if (r != -EINVAL)
			fail_msg("signed %s: INIT returned %ld, want -EINVAL", what, r);
	}
	/* Outside the masks, reserved bits are not looked at (and EINIT ignores them too). */
	*sig = good;
	sig->body.attributes.flags |= 1ULL << 3;
	sig->body.attributes_mask.flags &= ~(1ULL << 3);
	sig->body.miscselect |= 2;
	sig->body.misc_mask = 1;
	assert_int_equal(fx_sign(sig), 0);
	assert_int_equal(init_sig(e->f, sig), 0);
	free(sig);
}

static void test_init_einit_error_eperm(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	struct sgx_sigstruct *sig = malloc(sizeof(*sig));

	assert_non_null(sig);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	sig->signature[10] ^= 1;
	assert_int_equal(init_sig(e->f, sig), -EPERM);
	sig->signature[10] ^= 1;
	sig->body.mrenclave[0] ^= 1;
	assert_int_equal(fx_sign(sig), 0);
	assert_int_equal(init_sig(e->f, sig), -EPERM);
	sig->body.attributes.flags |= SGX_ATTR_DEBUG; /* SECS has no DEBUG: INVALID_ATTRIBUTE */
	sig->body.mrenclave[0] ^= 1;
	assert_int_equal(fx_sign(sig), 0);
	assert_int_equal(init_sig(e->f, sig), -EPERM);
	/* The enclave stays CREATED and INIT can be retried. */
	assert_int_equal(init(e), 0);
	free(sig);
}

static void test_init_check_order(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY);
	struct sgx_sigstruct *sig = malloc(sizeof(*sig));

	assert_non_null(sig);
	assert_int_equal(create(t, e), 0);
	add_all(e);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	/* VENDOR (step 5) before the attribute check (6). */
	sig->header.vendor = 7;
	assert_int_equal(init_sig(e->f, sig), -EINVAL);
	sig->header.vendor = 0;
	/* Attributes the enclave may not have (6) before reserved signed bits (7). */
	sig->body.attributes.flags |= 1ULL << 3;
	sig->body.attributes_mask.flags |= 1ULL << 3;
	assert_int_equal(init_sig(e->f, sig), -EACCES);
	free(sig);
}

/* ---------------------------------------------------------------------------------------- */
/* SGX_IOC_ENCLAVE_PROVISION and other commands */

static void test_provision(void **state)
{
	struct t *t = *state;
	struct encl_fx *a = layout(t, 0, SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY);
	struct encl_fx *b = layout(t, 1, SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY);
	struct sgx_enclave_provision p;
	int afd, pfd;

	a->f = open_file(t, SGX_FILE_ENCLAVE, &afd);
	open_file(t, SGX_FILE_PROVISION, &pfd);
	assert_int_equal(ioc(a->f, SGX_IOC_ENCLAVE_PROVISION, NULL), -EFAULT);
	p.fd = (uint64_t)afd; /* an enclave fd is not a provision fd */
	assert_int_equal(ioc(a->f, SGX_IOC_ENCLAVE_PROVISION, &p), -EINVAL);
	p.fd = MAX_FILES - 1; /* not an open file */
	assert_int_equal(ioc(a->f, SGX_IOC_ENCLAVE_PROVISION, &p), -EINVAL);
	assert_int_equal(create(t, a), 0);
	add_all(a);
	assert_int_equal(init(a), -EACCES);
	/* The fd is an unsigned int: the upper half of the u64 is ignored. */
	p.fd = (1ULL << 32) | (uint64_t)pfd;
	assert_int_equal(ioc(a->f, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(init(a), 0);
	/* Any state: after INIT (no effect), and before CREATE, which starts the enclave's
	 * allowed attributes over (sgx_encl_create assigns the unprivileged mask). */
	assert_int_equal(ioc(a->f, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	b->f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	assert_int_equal(ioc(b->f, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(create(t, b), 0);
	add_all(b);
	assert_int_equal(init(b), -EACCES);
	assert_int_equal(ioc(b->f, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	assert_int_equal(init(b), 0);
}

static void test_provision_file_has_no_operations(void **state)
{
	struct t *t = *state;
	struct sgx_file *p = open_file(t, SGX_FILE_PROVISION, NULL);
	struct sgx_enclave_create c = { 0 };

	assert_int_equal(sgx_file_kind(p), SGX_FILE_PROVISION);
	assert_int_equal(ioc(p, SGX_IOC_ENCLAVE_CREATE, &c), -ENOTTY);
	assert_int_equal(ioc(p, SGX_IOC_ENCLAVE_PROVISION, &c), -ENOTTY);
	assert_int_equal(sgx_mmap(p, 0, 4096, PROT_READ, MAP_SHARED, 0, FMODE_RW), -ENODEV);
}

static void test_unknown_ioctl_enotty(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	uint64_t arg[8] = { 0 };

	assert_int_equal(create(t, e), 0);
	assert_int_equal(ioc(e->f, _IOW(SGX_MAGIC, 0x20, struct sgx_enclave_init), arg), -ENOTTY);
	assert_int_equal(ioc(e->f, _IO(SGX_MAGIC, 0x00), arg), -ENOTTY);
	assert_int_equal(ioc(e->f, SGX_IOC_VEPC_REMOVE_ALL, NULL), -ENOTTY);
	assert_int_equal(ioc(e->f, 0x5401 /* TCGETS */, arg), -ENOTTY);
	/* SGX2 ioctls on an SGX1 CPU: ENODEV, before the argument is read (linux.md §1.11). */
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, NULL), -ENODEV);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_MODIFY_TYPES, NULL), -ENODEV);
	assert_int_equal(ioc(e->f, SGX_IOC_ENCLAVE_REMOVE_PAGES, NULL), -ENODEV);
}

/* ---------------------------------------------------------------------------------------- */
/* mmap, mprotect, munmap */

static void test_mmap_private_and_empty_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	size_t calls = fmm_ncalls();

	assert_int_equal(sgx_mmap(e->f, la(e, 0), SIZE, PROT_READ, MAP_PRIVATE, 0, FMODE_RW), -EINVAL);
	assert_int_equal(sgx_mmap(e->f, la(e, 0), SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0, FMODE_RW), -EINVAL);
	assert_int_equal(sgx_mmap(e->f, la(e, 0), 0, PROT_READ, MAP_SHARED | MAP_FIXED, 0, FMODE_RW), -EINVAL);
	assert_int_equal(sgx_mmap(e->f, 0, 0, PROT_READ, MAP_SHARED, 0, FMODE_RW), -EINVAL);
	assert_int_equal(fmm_ncalls(), calls);
	assert_false(sgx_range_is_enclave(la(e, 0), SIZE));
	assert_int_equal(sgx_mmap(e->f, la(e, 0), SIZE, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED, 0, FMODE_RW),
			 (long)la(e, 0));
}

/* A brand-new fd (no CREATE yet) can be mapped anywhere: the selftest does this first. */
static void test_mmap_fresh_enclave(void **state)
{
	struct t *t = *state;
	struct sgx_file *f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	long addr = sgx_mmap(f, 0, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, 0, FMODE_RW);
	const struct fmm_page *pg;
	long ret;

	assert_true(addr > 0);
	pg = fmm_page((uint64_t)addr);
	assert_non_null(pg); /* reserved through the mm callbacks */
	assert_int_equal(pg->prot, PROT_NONE); /* nothing to see there */
	assert_true(pg->kind == FMM_NONE || pg->kind == FMM_EPC);
	assert_true(sgx_range_is_enclave((uint64_t)addr, 4096));
	assert_int_equal(sgx_munmap((uint64_t)addr, 4096, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(fmm_page((uint64_t)addr)->kind, FMM_FREE);
}

static void test_mmap_beyond_max_prot_eacces(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	const struct { uint64_t off; unsigned pages; int prot; const char *what; } bad[] = {
		{ e->s.data_r, 1, PROT_READ | PROT_WRITE, "RW over an R page" },
		{ e->s.data_rw, 1, PROT_READ | PROT_EXEC, "RX over a RW page" },
		{ e->s.tcs[0], 1, PROT_READ | PROT_EXEC, "RX over a TCS" },
		{ e->s.code, 2, PROT_READ | PROT_WRITE, "RW over code and data" },
		{ e->s.data_r, 3, PROT_READ | PROT_WRITE | PROT_EXEC, "RWX over an R page and holes" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long r = map(e->f, la(e, bad[i].off), bad[i].pages * SGX_PAGE_SIZE, bad[i].prot);

		if (r != -EACCES)
			fail_msg("%s: mmap returned %ld, want -EACCES", bad[i].what, r);
		assert_false(sgx_range_is_enclave(la(e, bad[i].off), bad[i].pages * SGX_PAGE_SIZE));
		assert_int_equal(fmm_page(la(e, bad[i].off))->kind, FMM_FOREIGN);
	}
	/* Within the page rights, or over holes only, anything goes. */
	assert_int_equal(map(e->f, la(e, 0), SIZE, PROT_READ), (long)la(e, 0));
	assert_int_equal(map(e->f, la(e, e->s.hole), SIZE - e->s.hole, PROT_READ | PROT_WRITE | PROT_EXEC),
			 (long)la(e, e->s.hole));
	assert_int_equal(map(e->f, la(e, e->s.code), 0x1000, PROT_READ | PROT_EXEC), (long)la(e, e->s.code));
	assert_int_equal(map(e->f, la(e, e->s.tcs[0]), 0x1000, PROT_READ | PROT_WRITE), (long)la(e, 0));
}

static void test_mmap_after_init_outside_elrange_eacces(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, false);
	struct encl_fx *u = build(t, 1, false, false);
	long r;

	fmm_claim(la(e, 0) - 0x2000, 0x2000);
	assert_int_equal(map(e->f, la(e, 0) - 0x1000, 0x2000, PROT_READ), -EACCES);
	assert_int_equal(map(e->f, la(e, SIZE) - 0x1000, 0x2000, PROT_READ), -EACCES);
	assert_int_equal(map(e->f, la(e, 0) - 0x2000, 0x1000, PROT_READ), -EACCES);
	assert_int_equal(fmm_page(la(e, 0) - 0x1000)->kind, FMM_FOREIGN);
	/* Anywhere the kernel picks is outside ELRANGE: EACCES, and the reservation goes. */
	r = sgx_mmap(e->f, 0, 0x1000, PROT_READ, MAP_SHARED, 0, FMODE_RW);
	assert_int_equal(r, -EACCES);
	for (size_t i = 0; i < fmm_ncalls(); i++) {
		const struct fmm_call *c = fmm_call(i);

		if (c->op == FMM_OP_RESERVE && c->ret)
			assert_int_equal(fmm_page(c->ret)->kind, FMM_FREE);
	}
	assert_int_equal(map(e->f, la(e, 0), SIZE, PROT_READ), (long)la(e, 0));
	/* Before INIT the same mapping outside ELRANGE is allowed. */
	assert_int_equal(map(u->f, la(u, 0) - 0x1000, 0x2000, PROT_READ), (long)(la(u, 0) - 0x1000));
}

/* What mmap(2) checks before the driver (do_mmap and the VFS): the fd's access mode,
 * MAP_SHARED_VALIDATE's flags, MAP_FIXED_NOREPLACE, the offset; nothing changes on failure. */
static void test_mmap_generic_checks(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, e->s.data_rw), free_la = la(e, e->s.hole);
	long ret;

	/* A read-only fd: no shared writable mapping, and mprotect cannot add write later. */
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0,
				  SGX_FMODE_READ), -EACCES);
	assert_false(sgx_range_is_enclave(a, 0x1000));
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED, 0,
				  SGX_FMODE_READ), (long)a);
	assert_int_equal(sgx_mprotect(a, 0x1000, PROT_READ | PROT_WRITE, &ret), 1);
	assert_int_equal(ret, -EACCES);
	assert_int_equal(sgx_mprotect(a, 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, 0);
	/* A write-only fd maps nothing, not even PROT_NONE. */
	assert_int_equal(sgx_mmap(e->f, free_la, 0x1000, PROT_NONE, MAP_SHARED | MAP_FIXED, 0,
				  SGX_FMODE_WRITE), -EACCES);
	assert_int_equal(sgx_mmap(e->f, free_la, 0x1000, PROT_WRITE, MAP_SHARED | MAP_FIXED, 0,
				  SGX_FMODE_WRITE), -EACCES);
	/* MAP_SHARED drops unknown flags; MAP_SHARED_VALIDATE refuses them. */
	assert_int_equal(sgx_mmap(e->f, free_la, 0x1000, PROT_READ,
				  MAP_SHARED_VALIDATE | MAP_FIXED | MAP_SYNC, 0, FMODE_RW), -EOPNOTSUPP);
	assert_int_equal(sgx_mmap(e->f, slot_base(40), 0x1000, PROT_READ,
				  MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE, 0, FMODE_RW), -EOPNOTSUPP);
	assert_int_equal(fmm_page(slot_base(40))->kind, FMM_FREE);
	assert_int_equal(sgx_mmap(e->f, free_la, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_SYNC,
				  0, FMODE_RW), (long)free_la);
	/* MAP_FIXED_NOREPLACE: EEXIST over a mapping (which stays), else exactly there. */
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, 0,
				  FMODE_RW), -EEXIST);
	assert_true(sgx_range_is_enclave(a, 0x1000));
	assert_int_equal(sgx_munmap(free_la, 0x1000, &ret), 1);
	assert_int_equal(sgx_mmap(e->f, free_la, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE,
				  0, FMODE_RW), (long)free_la);
	assert_int_equal(sgx_mmap(e->f, free_la + 1, 0x1000, PROT_READ,
				  MAP_SHARED | MAP_FIXED_NOREPLACE, 0, FMODE_RW), -EINVAL);
	/* Offsets must be page aligned; MAP_HUGETLB is for hugetlbfs files; no GROWSDOWN. */
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED, 0x800,
				  FMODE_RW), -EINVAL);
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_HUGETLB,
				  0, FMODE_RW), -EINVAL);
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_GROWSDOWN,
				  0, FMODE_RW), -EINVAL);
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED,
				  ~0ULL & SGX_PAGE_MASK, FMODE_RW), -EOVERFLOW);
	assert_int_equal(sgx_mmap(e->f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED, 1ULL << 63,
				  FMODE_RW), -EOVERFLOW); /* beyond MAX_LFS_FILESIZE */
	assert_int_equal(sgx_mmap(e->f, 0, ~0ULL - 10, PROT_READ, MAP_SHARED, 0, FMODE_RW), -ENOMEM);
	assert_true(sgx_range_is_enclave(a, 0x1000));
	assert_int_equal(fmm_violations(), 0);
}

/* sgx_encl_may_map refuses READ_IMPLIES_EXEC tasks outright: mmap and every mprotect of an
 * enclave mapping, PROT_NONE included. */
static void test_read_implies_exec_eacces(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, e->s.data_rw);
	long ret;

	assert_int_equal(map(e->f, a, 0x1000, PROT_READ), (long)a);
	fmm_set_read_implies_exec(1);
	assert_int_equal(map(e->f, la(e, e->s.hole), 0x1000, PROT_READ), -EACCES);
	assert_int_equal(map(e->f, la(e, e->s.hole), 0x1000, PROT_NONE), -EACCES);
	assert_int_equal(sgx_mprotect(a, 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, -EACCES);
	fmm_set_read_implies_exec(0);
	assert_int_equal(sgx_mprotect(a, 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* madvise */

static size_t advise_calls(void)
{
	size_t n = 0;

	for (size_t i = 0; i < fmm_ncalls(); i++)
		n += fmm_call(i)->op == FMM_OP_ADVISE;
	return n;
}

/* The first advise() call at or after call index from (NULL if none). */
static const struct fmm_call *advise_call(size_t from)
{
	for (size_t i = from; i < fmm_ncalls(); i++)
		if (fmm_call(i)->op == FMM_OP_ADVISE)
			return fmm_call(i);
	return NULL;
}

static long advise(uint64_t addr, uint64_t len, int advice)
{
	long r = 0xBAD;

	assert_int_equal(sgx_madvise(addr, len, advice, &r), 1);
	return r;
}

/* Every advice on an enclave mapping, as madvise_vma_behavior answers for a VM_IO|VM_PFNMAP|
 * VM_DONTEXPAND file VMA: nothing reaches the host's madvise, and neither the EPC page nor
 * its host mapping changes. */
static void test_madvise_enclave_vma(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, e->s.data_rw);
	const struct fmm_page *pg;
	uint8_t before[64];
	static const struct { int advice; long want; } table[] = {
		{ MADV_NORMAL, 0 }, { MADV_RANDOM, 0 }, { MADV_SEQUENTIAL, 0 }, { MADV_WILLNEED, 0 },
		{ MADV_DONTDUMP, 0 }, { MADV_KEEPONFORK, 0 }, { MADV_MERGEABLE, 0 },
		{ MADV_UNMERGEABLE, 0 }, { MADV_HUGEPAGE, 0 }, { MADV_NOHUGEPAGE, 0 },
		{ MADV_DONTFORK, 0 },
		{ MADV_DONTNEED, -EINVAL }, { MADV_DONTNEED_LOCKED, -EINVAL }, { MADV_FREE, -EINVAL },
		{ MADV_COLD, -EINVAL }, { MADV_PAGEOUT, -EINVAL }, { MADV_POPULATE_READ, -EINVAL },
		{ MADV_POPULATE_WRITE, -EINVAL }, { MADV_COLLAPSE, -EINVAL }, { MADV_DOFORK, -EINVAL },
		{ MADV_DODUMP, -EINVAL }, { MADV_WIPEONFORK, -EINVAL },
		{ MADV_REMOVE, -ENODEV }, { MADV_HWPOISON, -EPERM }, { MADV_SOFT_OFFLINE, -EPERM },
		{ 77, -EINVAL }, { -1, -EINVAL },
	};

	assert_int_equal(map(e->f, a, 0x1000, PROT_READ | PROT_WRITE), (long)a);
	touch(a);
	pg = fmm_page(a);
	assert_int_equal(pg->kind, FMM_EPC);
	memcpy(before, epc + pg->epc_off, sizeof(before));
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		long r = advise(a, 0x1000, table[i].advice);

		if (r != table[i].want)
			fail_msg("advice %d: %ld, want %ld", table[i].advice, r, table[i].want);
		assert_int_equal(fmm_page(a)->kind, FMM_EPC);
		assert_memory_equal(epc + pg->epc_off, before, sizeof(before));
	}
	assert_int_equal(advise_calls(), 0);
	/* Not page aligned, or empty: the kernel answers before looking at VMAs; not ours. */
	assert_int_equal(sgx_madvise(a + 8, 0x1000, MADV_DONTNEED, &(long){ 0 }), 0);
	assert_int_equal(sgx_madvise(a, 0, MADV_DONTNEED, &(long){ 0 }), 0);
	/* Outside enclave mappings: not ours either. */
	assert_int_equal(sgx_madvise(la(e, e->s.hole), 0x1000, MADV_DONTNEED, &(long){ 0 }), 0);
	/* The mapping of a read-only fd is not shared-writable: REMOVE is EACCES. */
	assert_int_equal(sgx_mmap(e->f, la(e, e->s.data_r), 0x1000, PROT_READ,
				  MAP_SHARED | MAP_FIXED, 0, SGX_FMODE_READ), (long)la(e, e->s.data_r));
	assert_int_equal(advise(la(e, e->s.data_r), 0x1000, MADV_REMOVE), -EACCES);
}

/* A range over enclave mappings and other memory: pieces in address order, the others by
 * the host's madvise; an error stops the walk, a hole is ENOMEM at the end (population
 * stops at it). */
static void test_madvise_mixed_range(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, e->s.data_rw), below = a - 0x1000, above = a + 0x1000;
	const struct fmm_call *c;
	size_t n;

	assert_int_equal(map(e->f, a, 0x1000, PROT_READ | PROT_WRITE), (long)a);
	/* [other][enclave]: the other part first, then EINVAL at the enclave. */
	n = fmm_ncalls();
	assert_int_equal(advise(below, 0x2000, MADV_DONTNEED), -EINVAL);
	c = advise_call(n);
	assert_non_null(c);
	assert_int_equal(c->addr, below);
	assert_int_equal(c->len, 0x1000);
	assert_int_equal(c->prot, MADV_DONTNEED);
	/* [enclave][other]: stops at the enclave, the rest is untouched. */
	n = fmm_ncalls();
	assert_int_equal(advise(a, 0x2000, MADV_DONTNEED), -EINVAL);
	assert_null(advise_call(n));
	/* [other][enclave][other] with flag advice: both others get it. */
	n = fmm_ncalls();
	assert_int_equal(advise(below, 0x3000, MADV_RANDOM), 0);
	assert_int_equal(advise_call(n)->addr, below);
	assert_int_equal(advise_call(n)->len, 0x1000);
	c = advise_call(n);
	c = advise_call((size_t)(c - fmm_call(0)) + 1);
	assert_non_null(c);
	assert_int_equal(c->addr, above);
	/* An ordinary piece that refuses (EAGAIN, say) stops the walk there. */
	fmm_set_advise_error(-EAGAIN);
	n = advise_calls();
	assert_int_equal(advise(below, 0x3000, MADV_WILLNEED), -EAGAIN);
	assert_int_equal(advise_calls(), n + 1);
	fmm_set_advise_error(0);
	/* Error injection: EPERM without CAP_SYS_ADMIN; with it, the pages before the first
	 * enclave page get it, then EFAULT (an enclave page cannot be pinned). */
	assert_int_equal(advise(below, 0x2000, MADV_HWPOISON), -EPERM);
	fmm_set_capable(1);
	n = fmm_ncalls();
	assert_int_equal(advise(below, 0x2000, MADV_HWPOISON), -EFAULT);
	assert_int_equal(advise_call(n)->addr, below);
	assert_int_equal(advise_call(n)->len, 0x1000);
	n = fmm_ncalls();
	assert_int_equal(advise(a, 0x2000, MADV_SOFT_OFFLINE), -EFAULT);
	assert_null(advise_call(n));
}

/* Holes: ENOMEM once the walk is done (the enclave part still answered), or at once for
 * MADV_POPULATE_*, whose loop stops at the first hole. */
static void test_madvise_holes(void **state)
{
	struct t *t = *state;
	struct sgx_file *f = open_file(t, SGX_FILE_ENCLAVE, NULL);
	uint64_t a = slot_base(20), hole = a - 0x1000;
	size_t n;

	/* [hole][enclave]: RANDOM goes through the enclave page and reports the hole. */
	assert_int_equal(sgx_mmap(f, a, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED, 0, FMODE_RW),
			 (long)a);
	assert_int_equal(fmm_page(hole)->kind, FMM_FREE);
	assert_int_equal(advise(hole, 0x2000, MADV_RANDOM), -ENOMEM);
	/* DONTNEED: the hole first (ENOMEM remembered), then EINVAL at the enclave wins. */
	assert_int_equal(advise(hole, 0x2000, MADV_DONTNEED), -EINVAL);
	/* POPULATE: stops at the hole with ENOMEM, the enclave page is not reached (it would
	 * be EINVAL). */
	n = advise_calls();
	assert_int_equal(advise(hole, 0x2000, MADV_POPULATE_WRITE), -ENOMEM);
	assert_int_equal(advise_calls(), n + 1);
	assert_int_equal(advise(a, 0x2000, MADV_POPULATE_READ), -EINVAL);
}

/* MADV_DONTFORK sets VM_DONTCOPY on exactly the range (splitting the VMA). */
static void test_madvise_dontfork_splits(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, 0);
	size_t before;

	assert_int_equal(map(e->f, a, SIZE, PROT_READ), (long)a);
	before = sgx_pf.nr_vmas;
	assert_int_equal(advise(a + 0x2000, 0x1000, MADV_DONTFORK), 0);
	assert_int_equal(sgx_pf.nr_vmas, before + 2);
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++) {
		const struct drv_vma *v = &sgx_pf.vmas[i];
		bool in = v->start == a + 0x2000;

		if (v->encl != e->f->encl)
			continue;
		assert_int_equal(!!(v->vm_flags & VMA_DONTCOPY), in);
		if (in)
			assert_int_equal(v->end, a + 0x3000);
	}
}

/* No PTE at mmap time; the first fault installs one, and the host mapping then allows
 * VMA ∩ EPCM and maps the right EPC page. */
static void test_host_prot_is_vma_and_epcm(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	const struct fmm_page *pg;
	uint32_t err;

	assert_int_equal(map(e->f, la(e, e->s.hole), SIZE - e->s.hole, PROT_READ | PROT_WRITE),
			 (long)la(e, e->s.hole));
	for (uint64_t off = 0; off < SIZE; off += SGX_PAGE_SIZE)
		if (fmm_page(la(e, off))->prot != PROT_NONE)
			fail_msg("page %#lx accessible before any fault", (unsigned long)off);
	for (unsigned i = 0; i < e->l.npages; i++) {
		const struct fx_page *p = &e->l.page[i];
		bool tcs = ((p->secinfo >> 8) & 0xFF) == SGX_PT_TCS;
		int want = tcs ? PROT_NONE : (int)(p->secinfo & 7);

		touch(la(e, p->offset));
		pg = fmm_page(la(e, p->offset));
		if (pg->prot != want)
			fail_msg("page %#lx: host prot %d, want %d", (unsigned long)p->offset, pg->prot, want);
		if (want == PROT_NONE)
			continue;
		if (pg->kind != FMM_EPC)
			fail_msg("page %#lx is not mapped to the EPC", (unsigned long)p->offset);
		assert_true(sgx_pf.cpu.epcm[pg->epc_off / SGX_PAGE_SIZE].valid);
		assert_int_equal(sgx_pf.cpu.epcm[pg->epc_off / SGX_PAGE_SIZE].linaddr, la(e, p->offset));
		assert_memory_equal(epc + pg->epc_off, p->data, 64);
	}
	assert_int_equal(sgx_fault(la(e, e->s.hole), ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	assert_int_equal(fmm_page(la(e, e->s.hole))->prot, PROT_NONE);
	/* A new, narrower mapping replaces the old one (and its PTEs). */
	assert_int_equal(map(e->f, la(e, e->s.code), 0x1000, PROT_READ), (long)la(e, e->s.code));
	assert_int_equal(fmm_page(la(e, e->s.code))->prot, PROT_NONE);
	touch(la(e, e->s.code));
	assert_int_equal(fmm_page(la(e, e->s.code))->prot, PROT_READ);
	assert_int_equal(fmm_page(la(e, e->s.data_rw))->prot, PROT_READ | PROT_WRITE);
}

/* Under a debugger (sgx_debug_mappings), a DEBUG enclave's pages are mapped at mmap, with the
 * host protection VMA ∩ EPCM, its executable read-only pages copy-on-write (so that ptrace
 * can write breakpoints into what runs); a production enclave's pages still wait for their
 * first fault. */
static void test_debug_mappings(void **state)
{
	struct t *t = *state;
	struct encl_fx *d = layout(t, 0, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), *prod;
	unsigned cow = 0;

	sgx_debug_mappings(true);
	fmm_claim(d->l.base, SIZE);
	assert_int_equal(create(t, d), 0);
	add_all(d);
	assert_int_equal(init(d), 0);
	map_all(d);
	prod = build(t, 1, true, true);
	sgx_debug_mappings(false);
	for (unsigned i = 0; i < d->l.npages; i++) {
		const struct fx_page *p = &d->l.page[i];
		bool tcs = ((p->secinfo >> 8) & 0xFF) == SGX_PT_TCS;
		int want = tcs ? PROT_NONE : (int)(p->secinfo & 7);
		const struct fmm_page *pg = fmm_page(la(d, p->offset));
		enum fmm_kind kind = (want & PROT_EXEC) && !(want & PROT_WRITE) ? FMM_EPC_COW : FMM_EPC;

		if (pg->prot != want)
			fail_msg("debug page %#lx: host prot %d, want %d", (unsigned long)p->offset,
				 pg->prot, want);
		if (want != PROT_NONE && pg->kind != kind)
			fail_msg("debug page %#lx: kind %d, want %d", (unsigned long)p->offset,
				 pg->kind, kind);
		cow += pg->kind == FMM_EPC_COW;
		if (want != PROT_NONE)
			assert_memory_equal(epc + pg->epc_off, p->data, 64);
	}
	assert_true(cow > 0); /* the layout has code */
	for (unsigned i = 0; i < prod->l.npages; i++)
		if (fmm_page(la(prod, prod->l.page[i].offset))->prot != PROT_NONE)
			fail_msg("production page %#lx accessible before any fault",
				 (unsigned long)prod->l.page[i].offset);
}

/* A page added under an existing mapping is reached through it after a fault. */
static void test_add_under_existing_mapping(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = layout(t, 0, SGX_ATTR_MODE64BIT);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	uint64_t count;
	uint32_t err;

	fmm_claim(la(e, 0), SIZE);
	assert_int_equal(create(t, e), 0);
	assert_int_equal(map(e->f, la(e, 0), SIZE, PROT_READ | PROT_WRITE), (long)la(e, 0));
	assert_int_equal(sgx_fault(la(e, 0x5000), ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	assert_int_equal(add_raw(e->f, (uintptr_t)e->l.page[0].data, 0x5000, 0x1000, &si, 0, &count), 0);
	touch(la(e, 0x5000));
	assert_int_equal(fmm_page(la(e, 0x5000))->kind, FMM_EPC);
	assert_int_equal(fmm_page(la(e, 0x5000))->prot, PROT_READ | PROT_WRITE);
	/* A read-only page under a RW mapping: the VMA exceeds the page's rights, SIGBUS. */
	si.flags = FX_SI_R;
	assert_int_equal(add_raw(e->f, (uintptr_t)e->l.page[0].data, 0x6000, 0x1000, &si, 0, &count), 0);
	assert_int_equal(sgx_fault(la(e, 0x6000), ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	assert_int_equal(fmm_page(la(e, 0x6000))->prot, PROT_NONE);
}

static void test_mprotect_rules(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t rw = la(e, e->s.data_rw), r_only = la(e, e->s.data_r);
	long ret;

	assert_int_equal(map(e->f, rw, 0x1000, PROT_READ), (long)rw);
	assert_int_equal(map(e->f, r_only, 0x1000, PROT_READ), (long)r_only);
	touch(rw);
	touch(r_only);
	/* Widening within the page's rights, narrowing, PROT_NONE: fine; PTEs follow. */
	assert_int_equal(sgx_mprotect(rw, 0x1000, PROT_READ | PROT_WRITE, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(fmm_page(rw)->prot, PROT_READ | PROT_WRITE);
	assert_int_equal(sgx_mprotect(rw, 0x1000, PROT_READ, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(fmm_page(rw)->prot, PROT_READ);
	assert_int_equal(sgx_mprotect(rw, 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(fmm_page(rw)->prot, PROT_NONE);
	/* Widening beyond: EACCES, nothing changes. */
	assert_int_equal(sgx_mprotect(r_only, 0x1000, PROT_READ | PROT_WRITE, &ret), 1);
	assert_int_equal(ret, -EACCES);
	assert_int_equal(fmm_page(r_only)->prot, PROT_READ);
	assert_int_equal(sgx_mprotect(r_only, 0x1000, PROT_READ | PROT_EXEC, &ret), 1);
	assert_int_equal(ret, -EACCES);
	/* Two VMAs: the first is changed before the second fails (the kernel walks VMAs). */
	assert_int_equal(sgx_mprotect(rw, 0x2000, PROT_READ | PROT_WRITE, &ret), 1);
	assert_int_equal(ret, -EACCES);
	assert_int_equal(fmm_page(rw)->prot, PROT_READ | PROT_WRITE);
	assert_int_equal(fmm_page(r_only)->prot, PROT_READ);
	/* Not an enclave range: not ours. */
	assert_int_equal(sgx_mprotect(la(e, e->s.hole), 0x1000, PROT_READ, &ret), 0);
}

static void test_mprotect_splits_vma(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, e->s.code);
	long ret;

	/* code (RX) + data_rw (RW) + data_r (R) mapped R as one VMA; make the middle RW. */
	assert_int_equal(map(e->f, a, 0x3000, PROT_READ), (long)a);
	touch(a);
	touch(a + 0x1000);
	touch(a + 0x2000);
	assert_int_equal(sgx_mprotect(a + 0x1000, 0x1000, PROT_READ | PROT_WRITE, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(fmm_page(a)->prot, PROT_READ);
	assert_int_equal(fmm_page(a + 0x1000)->prot, PROT_READ | PROT_WRITE);
	assert_int_equal(fmm_page(a + 0x2000)->prot, PROT_READ);
	/* The pieces are still one enclave's mappings. */
	assert_true(sgx_range_is_enclave(a, 0x1000));
	assert_true(sgx_range_is_enclave(a + 0x2000, 0x1000));
}

/* An unaligned start is EINVAL, as mprotect(2) answers before looking at VMAs: no VMA is
 * split at a byte address and nothing is protected (fuzz_driver found the driver doing both:
 * tests/fuzz/repro/driver/mprotect-unaligned-*). */
static void test_mprotect_unaligned_einval(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	uint64_t a = la(e, e->s.code);
	long ret;

	assert_int_equal(map(e->f, a, 0x3000, PROT_READ), (long)a);
	touch(a + 0x1000);
	fmm_clear_calls();
	assert_int_equal(sgx_mprotect(a + 0x10, 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(sgx_mprotect(a - 0x800, 0x2000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(fmm_ncalls(), 0);
	assert_int_equal(fmm_page(a + 0x1000)->prot, PROT_READ);
	/* Still one VMA: a page-aligned mprotect of all of it works and splits nothing. */
	assert_int_equal(sgx_mprotect(a, 0x3000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(sgx_pf.nr_vmas, 1);
	assert_int_equal(sgx_pf.vmas[0].start, a);
	assert_int_equal(sgx_pf.vmas[0].end, a + 0x3000);
}

/* After INIT, mprotect applies the ELRANGE rule too (linux.md §2.4). */
static void test_mprotect_outside_elrange_after_init(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	long ret;

	fmm_claim(la(e, 0) - 0x1000, 0x1000);
	assert_int_equal(map(e->f, la(e, 0) - 0x1000, 0x2000, PROT_READ), (long)(la(e, 0) - 0x1000));
	assert_int_equal(init(e), 0);
	assert_int_equal(sgx_mprotect(la(e, 0) - 0x1000, 0x2000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, -EACCES);
	assert_int_equal(sgx_mprotect(la(e, 0), 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(ret, 0);
}

/* A VMA holds the enclave: closing the fd keeps it; the last munmap frees its EPC. */
static void test_munmap_last_reference_frees_epc(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	uint64_t used = used_pages();
	enum sgx_fault_result res;
	uint32_t err;
	long ret;

	assert_true(used >= 2 + e->l.npages);
	close_file(t, e->f);
	assert_int_equal(used_pages(), used);
	res = sgx_fault(la(e, e->s.code), ACCESS_W, NULL, &err);
	assert_int_equal(res, SGX_FAULT_SIGSEGV); /* still an enclave mapping */
	assert_int_equal(sgx_munmap(la(e, 0), 0x3000, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(used_pages(), used);
	assert_int_equal(fmm_page(la(e, 0))->kind, FMM_FREE);
	assert_int_equal(sgx_munmap(la(e, 0x3000), SIZE - 0x3000, &ret), 1);
	assert_int_equal(ret, 0);
	assert_int_equal(used_pages(), 0);
	assert_int_equal(fmm_backings_live(), 0);
	assert_false(sgx_range_is_enclave(la(e, 0), SIZE));
	assert_int_equal(sgx_fault(la(e, e->s.code), ACCESS_R, NULL, &err), SGX_FAULT_NOT_OURS);
}

static void test_close_without_mappings_frees_epc(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	struct sgx_file *f = e->f;
	long ret;

	assert_true(used_pages() > 0);
	sgx_file_get(f); /* a second reference (dup) */
	close_file(t, f);
	assert_true(used_pages() > 0);
	sgx_file_put(f);
	assert_int_equal(used_pages(), 0);
	assert_int_equal(fmm_backings_live(), 0);
	/* munmap of a range without enclave mappings is not the driver's. */
	assert_int_equal(sgx_munmap(la(e, 0), SIZE, &ret), 0);
}

/* EENTER on TCS tcs of e with t's logical processor. */
static void enter(struct t *t, struct encl_fx *e, uint64_t tcs)
{
	struct cpu_fault f;

	t->regs.rax = ENCLU_EENTER;
	t->regs.rbx = la(e, tcs);
	t->regs.rcx = 0x0000555555551000ULL;
	t->regs.rip = 0x0000555555550000ULL;
	assert_int_equal(sgx_enclu(&t->lp, &t->regs, &f), 0);
	assert_true(t->lp.in_enclave);
}

static void leave(struct t *t)
{
	struct cpu_fault f;

	t->regs.rax = ENCLU_EEXIT;
	t->regs.rbx = 0x0000555555550010ULL;
	assert_int_equal(sgx_enclu(&t->lp, &t->regs, &f), 0);
	assert_false(t->lp.in_enclave);
}

/* Index of the first recorded call of op at or after from, or fmm_ncalls(). */
static size_t find_call(enum fmm_op op, size_t from)
{
	while (from < fmm_ncalls() && fmm_call(from)->op != op)
		from++;
	return from;
}

/* The last mapping of an enclave goes while a thread is inside: its threads are forced out
 * first (the TLB shootdown), then the host mapping goes. A thread that could not be made to
 * leave (the fake mm cannot) keeps the enclave alive: no EREMOVE while it is inside (which
 * would fail with SGX_ENCLAVE_ACT and leak the EPC); it is released once the thread left. */
static void test_release_waits_for_threads_inside(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	uint32_t secs = e->f->encl->secs;
	size_t from = fmm_ncalls(), sd, um;
	long ret;

	enter(t, e, e->s.tcs[0]);
	close_file(t, e->f);
	assert_int_equal(sgx_munmap(la(e, 0), SIZE, &ret), 1);
	assert_int_equal(ret, 0);
	sd = find_call(FMM_OP_SHOOTDOWN, from);
	um = find_call(FMM_OP_UNMAP, from);
	assert_true(sd < um && um < fmm_ncalls());
	assert_int_equal(fmm_call(sd)->hint, secs);
	/* Still alive: its pages are all there and valid, the thread's TCS included. */
	assert_true(used_pages() >= 2 + e->l.npages);
	assert_true(sgx_pf.cpu.epcm[t->lp.tcs].valid);
	leave(t);
	/* The next driver call releases it. */
	assert_int_equal(sgx_munmap(la(e, 0), SIZE, &ret), 0);
	assert_int_equal(used_pages(), 0);
	assert_int_equal(fmm_backings_live(), 0);
}

/* An mmap(MAP_FIXED) of something else over enclave mappings: the driver holds its lock
 * across the real mmap and forgets the replaced mappings only if it succeeded. */
static long fake_map_fails(void *ctx)
{
	(void)ctx;
	return -EBADF;
}

static long fake_map_anon(void *ctx)
{
	const uint64_t *range = ctx;

	assert_true(drv_lock_held_by_self(&sgx_pf.lock));
	fmm_claim(range[0], range[1]);
	return (long)range[0];
}

static void test_mmap_over_is_atomic(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	uint64_t range[2] = { la(e, e->s.data_rw), 0x1000 };
	uint64_t other[2] = { slot_base(30), 0x1000 };
	size_t from, calls;

	enter(t, e, e->s.tcs[0]);
	touch(range[0]);
	assert_int_equal(fmm_page(range[0])->kind, FMM_EPC);
	/* Failing: nothing changes (the threads were forced out all the same). */
	from = fmm_ncalls();
	assert_int_equal(sgx_mmap_over(range[0], range[1], fake_map_fails, NULL), -EBADF);
	assert_true(find_call(FMM_OP_SHOOTDOWN, from) < fmm_ncalls());
	assert_int_equal(find_call(FMM_OP_UNMAP, from), fmm_ncalls());
	assert_int_equal(fmm_page(range[0])->kind, FMM_EPC);
	assert_true(sgx_range_is_enclave(range[0], range[1]));
	/* Succeeding: the replaced page is no longer the enclave's. */
	assert_int_equal(sgx_mmap_over(range[0], range[1], fake_map_anon, range), (long)range[0]);
	assert_false(sgx_range_is_enclave(range[0], range[1]));
	assert_true(sgx_range_is_enclave(range[0] - 0x1000, 0x1000));
	/* Elsewhere: the callback runs, and nothing else happens. */
	calls = fmm_ncalls();
	assert_int_equal(sgx_mmap_over(other[0], other[1], fake_map_anon, other), (long)other[0]);
	assert_int_equal(fmm_ncalls(), calls);
	leave(t);
}

static long remap(uint64_t old, uint64_t olen, uint64_t nlen, int flags, uint64_t new_addr)
{
	long r = 0xBAD;

	assert_int_equal(sgx_mremap(old, olen, nlen, flags, new_addr, &r), 1);
	return r;
}

/* mremap of enclave mappings (VM_PFNMAP|VM_DONTEXPAND): never a second mapping of the same
 * EPC (growing, old_len 0 included, is EFAULT), DONTUNMAP EINVAL, a shrink unmaps the tail,
 * MREMAP_FIXED of the same size moves the VMA and pages are then looked up by address. */
static void test_mremap_enclave(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	uint64_t a = la(e, e->s.data_rw), hole = la(e, e->s.hole);
	const int MAYMOVE = MREMAP_MAYMOVE;

	assert_int_equal(remap(a, 0, 0x1000, MAYMOVE, 0), -EFAULT);
	assert_int_equal(remap(a, 0x1000, 0x2000, MAYMOVE, 0), -EFAULT);
	assert_int_equal(remap(a, 0x1000, 0x2000, 0, 0), -EFAULT);
	assert_int_equal(remap(a, 0x1000, 0x1000, MAYMOVE | MREMAP_DONTUNMAP, hole), -EINVAL);
	assert_int_equal(remap(a, 0x1000, 0x1000, 0, 0), (long)a);
	/* The generic checks are the host's (not ours): bad flags, unaligned, new_len 0. */
	assert_int_equal(sgx_mremap(a, 0x1000, 0x1000, 0x80, 0, &(long){ 0 }), 0);
	assert_int_equal(sgx_mremap(a + 1, 0x1000, 0x1000, 0, 0, &(long){ 0 }), 0);
	assert_int_equal(sgx_mremap(a, 0x1000, 0, 0, 0, &(long){ 0 }), 0);
	assert_int_equal(sgx_mremap(a, 0x1000, 0x1000, MREMAP_FIXED, hole, &(long){ 0 }), 0);
	/* Overlapping source and destination: EINVAL before anything is unmapped. */
	assert_int_equal(remap(a, 0x1000, 0x1000, MAYMOVE | MREMAP_FIXED, a), -EINVAL);
	assert_true(sgx_range_is_enclave(a, 0x1000));
	/* Same-size move into the hole (nothing there to unmap): the VMA moves. */
	assert_int_equal(remap(a, 0x1000, 0x1000, MAYMOVE | MREMAP_FIXED, hole), (long)hole);
	assert_false(sgx_range_is_enclave(a, 0x1000));
	assert_int_equal(fmm_page(a)->kind, FMM_FREE);
	assert_true(sgx_range_is_enclave(hole, 0x1000));
	/* A fault there looks the page up by its new address: a hole in the enclave. */
	{
		uint32_t err;

		assert_int_equal(sgx_fault(hole, ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	}
	/* Growing with FIXED: the destination goes first, then EFAULT. */
	assert_int_equal(remap(la(e, e->s.data_r), 0x1000, 0x2000, MAYMOVE | MREMAP_FIXED, hole),
			 -EFAULT);
	assert_false(sgx_range_is_enclave(hole, 0x2000));
	assert_true(sgx_range_is_enclave(la(e, e->s.data_r), 0x1000));
	/* A shrink unmaps the tail and keeps the head. */
	assert_int_equal(remap(la(e, 0), 0x2000, 0x1000, 0, 0), (long)la(e, 0));
	assert_true(sgx_range_is_enclave(la(e, 0), 0x1000));
	assert_false(sgx_range_is_enclave(la(e, 0x1000), 0x1000));
}

/* Ordinary memory at old, enclave mappings where the kernel's mremap unmaps first (the
 * MREMAP_FIXED destination, a shrink's tail): the driver unmaps those, the host does the rest. */
static void test_mremap_ordinary_over_enclave(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	uint64_t a = la(e, e->s.data_rw), src = slot_base(30);
	long r = 0;

	fmm_claim(src, 0x1000);
	assert_int_equal(sgx_mremap(src, 0x1000, 0x1000, MREMAP_MAYMOVE | MREMAP_FIXED, a, &r), 0);
	assert_false(sgx_range_is_enclave(a, 0x1000));
	assert_true(sgx_range_is_enclave(a - 0x1000, 0x1000));
	/* A shrink from ordinary memory into enclave mappings is all ours. */
	fmm_claim(la(e, 0) - 0x1000, 0x1000);
	assert_int_equal(remap(la(e, 0) - 0x1000, 0x3000, 0x1000, 0, 0), (long)(la(e, 0) - 0x1000));
	assert_false(sgx_range_is_enclave(la(e, 0), 0x2000));
	/* Nothing mapped at old: the host's EFAULT, nothing unmapped. */
	assert_int_equal(sgx_mremap(slot_base(31), 0x1000, 0x1000, MREMAP_MAYMOVE | MREMAP_FIXED,
				    la(e, e->s.code), &r), 0);
	assert_true(sgx_range_is_enclave(la(e, e->s.code), 0x1000));
}

/* A thread in enclave mode that faults on a page of another enclave mapped inside its own
 * ELRANGE: the PTE goes in, and the access fails the EPCM check (#PF with the SGX bit). */
static void test_fault_other_enclave_in_elrange(void **state)
{
	struct t *t = *state;
	struct encl_fx *a = build(t, 0, true, true), *b = layout(t, 1, SGX_ATTR_MODE64BIT);
	uint64_t data = la(a, a->s.data_rw);
	uint32_t err;

	/* B has A's ELRANGE (nothing stops two enclaves from overlapping) and maps over A's
	 * data page before its INIT. */
	b->l.base = a->l.base;
	for (unsigned i = 0; i < b->l.npages; i++)
		b->l.page[i].data[0] ^= 0x5A;
	assert_int_equal(create(t, b), 0);
	add_all(b);
	enter(t, a, a->s.tcs[0]);
	assert_int_equal(map(b->f, data, 0x1000, PROT_READ | PROT_WRITE), (long)data);
	assert_int_equal(sgx_fault(data, ACCESS_R, &t->lp, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_P | X86_PF_SGX);
	/* The kernel did install the PTE: B's page, for B's threads. */
	assert_int_equal(fmm_page(data)->kind, FMM_EPC);
	assert_int_equal(fmm_page(data)->prot, PROT_READ | PROT_WRITE);
	leave(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Fault decisions */

static void test_fault_decisions_outside_enclave_mode(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, false);
	struct cpu_lp lp = { 0 };
	uint64_t rw = la(e, e->s.data_rw), r_only = la(e, e->s.data_r), hole = la(e, e->s.hole);
	uint32_t err;
	long ret;

	assert_int_equal(map(e->f, rw, 0x1000, PROT_READ), (long)rw);
	assert_int_equal(map(e->f, r_only, 0x1000, PROT_READ), (long)r_only);
	assert_int_equal(map(e->f, hole, 0x1000, PROT_READ), (long)hole);

	/* Not an enclave mapping. */
	assert_int_equal(sgx_fault(la(e, e->s.code), ACCESS_R, NULL, &err), SGX_FAULT_NOT_OURS);
	assert_int_equal(sgx_fault(fmm_base(), ACCESS_R, &lp, &err), SGX_FAULT_NOT_OURS);
	/* The VMA forbids it: SIGSEGV; P says whether a PTE is there. */
	assert_int_equal(sgx_fault(rw, ACCESS_W, NULL, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W);
	touch(rw);
	assert_int_equal(sgx_fault(rw, ACCESS_W, NULL, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W | X86_PF_P);
	touch(r_only);
	assert_int_equal(sgx_fault(r_only + 0x10, ACCESS_X, NULL, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_I | X86_PF_P);
	assert_int_equal(sgx_fault(hole + 0x20, ACCESS_W, NULL, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W);
	/* PROT_NONE: any access; an x86 PROT_NONE PTE is not present. */
	assert_int_equal(sgx_mprotect(r_only, 0x1000, PROT_NONE, &ret), 1);
	assert_int_equal(sgx_fault(r_only, ACCESS_R, NULL, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U);
	/* The VMA allows it but there is no page: SIGBUS (SGX1: no EAUG), no P. */
	assert_int_equal(sgx_fault(hole, ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	assert_int_equal(err & X86_PF_P, 0);
	assert_int_equal(sgx_fault(hole, ACCESS_R, &lp, &err), SGX_FAULT_SIGBUS);
	/* Allowed by the VMA, PTE present, not in enclave mode: the emulator cannot give
	 * abort-page reads, so the access fails, without the SGX bit (driver/fault.c). */
	assert_int_equal(sgx_fault(rw, ACCESS_R, &lp, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err & (X86_PF_P | X86_PF_SGX), X86_PF_P);
}

static void test_fault_decisions_in_enclave_mode(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	struct cpu_lp *lp = &t->lp;
	struct cpu_regs *r = &t->regs;
	struct cpu_fault f;
	uint64_t rw = la(e, e->s.data_rw), tcs1 = la(e, e->s.tcs[1]);
	uint32_t err;

	assert_int_equal(map(e->f, la(e, e->s.hole), 0x1000, PROT_READ), (long)la(e, e->s.hole));
	/* Enter for real, through the driver's view of the page tables. */
	r->rax = ENCLU_EENTER;
	r->rbx = la(e, e->s.tcs[0]);
	r->rcx = 0x0000555555551000ULL;
	r->rip = 0x0000555555550000ULL;
	assert_int_equal(sgx_enclu(lp, r, &f), 0);
	assert_true(lp->in_enclave);
	assert_int_equal(r->rip, la(e, e->s.code + FX_STD_ENTRY));

	/* First touch of the TCS installs the PTE; then the EPCM says no: SIGSEGV with the SGX
	 * bit and P. */
	assert_int_equal(sgx_fault(tcs1, ACCESS_R, lp, &err), SGX_FAULT_RETRY);
	assert_int_equal(sgx_fault(tcs1, ACCESS_R, lp, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_SGX | X86_PF_U | X86_PF_P);
	assert_int_equal(sgx_fault(tcs1 + 8, ACCESS_W, lp, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_SGX | X86_PF_U | X86_PF_W | X86_PF_P);
	/* The EPCM allows it: retry. */
	assert_int_equal(sgx_fault(la(e, e->s.data_r), ACCESS_R, lp, &err), SGX_FAULT_RETRY);
	assert_int_equal(fmm_page(la(e, e->s.data_r))->prot, PROT_READ);
	/* The VMA is checked before the EPCM: no SGX bit. */
	assert_int_equal(map(e->f, rw, 0x1000, PROT_READ), (long)rw);
	assert_int_equal(sgx_fault(rw, ACCESS_R, lp, &err), SGX_FAULT_RETRY);
	assert_int_equal(sgx_fault(rw, ACCESS_W, lp, &err), SGX_FAULT_SIGSEGV);
	assert_int_equal(err, X86_PF_U | X86_PF_W | X86_PF_P);
	/* A hole, in enclave mode too: SIGBUS. */
	assert_int_equal(sgx_fault(la(e, e->s.hole), ACCESS_R, lp, &err), SGX_FAULT_SIGBUS);
	assert_true(lp->in_enclave);

	r->rax = ENCLU_EEXIT;
	r->rbx = 0x0000555555550010ULL;
	assert_int_equal(sgx_enclu(lp, r, &f), 0);
	assert_false(lp->in_enclave);
}

/* A swapped-out page comes back on a fault (ELDU) with its contents; with no EPC page free and
 * nothing to reclaim the fault is SIGBUS (linux.md §3 2.c). */
static void test_fault_reloads_swapped_page(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	uint64_t rw = la(e, e->s.data_rw);
	int i = fx_page_at(&e->l, e->s.data_rw);
	const struct fmm_page *pg;
	uint32_t err;

	touch(rw);
	assert_int_equal(fmm_page(rw)->kind, FMM_EPC);
	grab_all_epc(t);
	while (reclaim())
		grab_all_epc(t);
	assert_int_equal(fmm_page(rw)->prot, PROT_NONE);
	assert_int_equal(sgx_fault(rw, ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	release_grabbed(t);
	assert_int_equal(sgx_fault(rw, ACCESS_R, NULL, &err), SGX_FAULT_RETRY);
	pg = fmm_page(rw);
	assert_int_equal(pg->kind, FMM_EPC);
	assert_int_equal(pg->prot, PROT_READ | PROT_WRITE);
	assert_memory_equal(epc + pg->epc_off, e->l.page[i].data, SGX_PAGE_SIZE);
}

/* A swapped-out copy altered by one bit, or replaced by an older version of itself, is
 * refused by ELDU: the fault is SIGBUS (the kernel's answer), the page stays out, and the
 * enclave's other pages still come back intact. */
static void test_fault_tampered_or_replayed_page_sigbus(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, true, true);
	struct sgx_encl *encl = e->f->encl;
	uint64_t rw = la(e, e->s.data_rw), code = la(e, e->s.code);
	uint8_t *blob = encl->backing + e->s.data_rw, old[SGX_PAGE_SIZE];
	struct sgx_pcmd old_pcmd, *pcmd = (struct sgx_pcmd *)(encl->backing + encl->size) +
					   e->s.data_rw / SGX_PAGE_SIZE;
	int ic = fx_page_at(&e->l, e->s.code);
	uint32_t err;

	touch(rw);
	touch(code);
	grab_all_epc(t);
	while (reclaim())
		grab_all_epc(t);
	release_grabbed(t);
	/* One bit of the ciphertext. */
	blob[100] ^= 0x04;
	assert_int_equal(sgx_fault(rw, ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	assert_int_equal(fmm_page(rw)->prot, PROT_NONE);
	blob[100] ^= 0x04;
	/* An older version: load it once (keep a copy), write it out again, put the copy back. */
	memcpy(old, blob, sizeof(old));
	old_pcmd = *pcmd;
	assert_int_equal(sgx_fault(rw, ACCESS_R, NULL, &err), SGX_FAULT_RETRY);
	grab_all_epc(t);
	while (reclaim())
		grab_all_epc(t);
	release_grabbed(t);
	memcpy(blob, old, sizeof(old));
	*pcmd = old_pcmd;
	assert_int_equal(sgx_fault(rw, ACCESS_R, NULL, &err), SGX_FAULT_SIGBUS);
	/* Nothing else is harmed: the code page comes back with its contents. */
	assert_int_equal(sgx_fault(code, ACCESS_R, NULL, &err), SGX_FAULT_RETRY);
	assert_memory_equal(epc + fmm_page(code)->epc_off, e->l.page[ic].data, SGX_PAGE_SIZE);
}

/* Reclaim may only change the host mappings the driver made: an ELRANGE that is not mapped
 * through the driver belongs to someone else (linux.md §4.4 step 3 zaps PTEs in the enclave's
 * VMAs only). */
static void test_reclaim_leaves_foreign_memory_alone(void **state)
{
	struct t *t = *state;
	struct encl_fx *e = build(t, 0, false, false);
	struct encl_fx *x = layout(t, 1, SGX_ATTR_MODE64BIT);
	uint64_t count;

	grab_all_epc(t);
	release_one(t);
	release_one(t);
	/* CREATE of x finds two free pages; its ADD must reclaim e's pages. */
	assert_int_equal(create(t, x), 0);
	assert_int_equal(add_page(x, 3, &count), 0);
	assert_true(sgx_pf.swapped_out > 0);
	for (uint64_t off = 0; off < SIZE; off += SGX_PAGE_SIZE)
		if (fmm_page(la(e, off))->kind != FMM_FOREIGN)
			fail_msg("reclaim changed the mapping at %#lx, which the driver never mapped",
				 (unsigned long)la(e, off));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_ok_then_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_size_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_ecreate_fault_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_before_create_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_argument_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_secinfo_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_partial_progress_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_count_writeback_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_count_flags_and_measurement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_eadd_fault_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_noexec_source_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_noexec_checked_before_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_enomem_before_ebusy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_enomem_before_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_after_init_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_before_create_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_ok_then_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_efault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_vendor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_disallowed_attributes_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_reserved_signed_attributes_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_einit_error_eperm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provision_file_has_no_operations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_ioctl_enotty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_private_and_empty_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_fresh_enclave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_beyond_max_prot_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_after_init_outside_elrange_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_generic_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_implies_exec_eacces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madvise_enclave_vma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madvise_mixed_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madvise_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_madvise_dontfork_splits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_prot_is_vma_and_epcm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_under_existing_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_splits_vma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_unaligned_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mprotect_outside_elrange_after_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_munmap_last_reference_frees_epc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_without_mappings_frees_epc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_waits_for_threads_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_over_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mremap_enclave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mremap_ordinary_over_enclave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_other_enclave_in_elrange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_decisions_outside_enclave_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_decisions_in_enclave_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_reloads_swapped_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_leaves_foreign_memory_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_tampered_or_replayed_page_sigbus, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
