/* A sparse 1 TiB ELRANGE, as Gramine's EDMM default makes it: created, mapped whole, used at
 * both ends and in the middle through EAUG + EACCEPT, unmapped and released, all without
 * cost in proportion to the range. Also mapped the way Gramine does it: the whole ELRANGE
 * RWX with MAP_FIXED_NOREPLACE | MAP_SHARED before ECREATE. */
#include "tests/integ/integ_sgx2.h"

#define TIB (1ULL << 40)

/* EACCEPT the page at addr (EAUG'd by the fault the access takes), then use it. */
static void grow_and_use(const struct encl *e, uint64_t addr, uint64_t v)
{
	assert_int_equal(integ_eaccept(e, 0, addr, SI_AUGMENTED), 0);
	integ_write(e, 1, addr + 0x88, v);
	assert_int_equal(integ_read(e, 0, addr + 0x88), v);
	assert_int_equal(integ_read(e, 1, addr + 0x90), 0); /* EAUG'd pages start zeroed */
}

static void one_tib_elrange(void **state)
{
	struct encl e;
	uint64_t before, during, after;
	uint64_t hole, last, mid;

	integ_skip_under_tsan("ThreadSanitizer cannot give a 1 TiB ELRANGE the address space");
	(void)state;
	memset(&e, 0, sizeof(e));
	e.fd = -1;
	before = epc_free_pages();
	sgx2_build(&e, 0, TIB);
	assert_int_equal(e.size, TIB);
	assert_int_equal(e.base % TIB, 0);
	hole = e.base + sgx2_hole(&e);
	last = e.base + TIB - PG;
	mid = e.base + TIB / 2 + 0x12345000;
	grow_and_use(&e, hole, 0x1111);
	grow_and_use(&e, last, 0x2222);
	grow_and_use(&e, mid, 0x3333);
	/* The image is still there and nothing else moved. */
	assert_int_equal(integ_read(&e, 0, hole + 0x88), 0x1111);
	assert_int_equal(integ_read(&e, 1, last + 0x88), 0x2222);
	during = epc_free_pages();
	assert_true(during + 3 <= before);
	/* Unmapping the whole range and closing release it: the EPC is back. */
	encl_free(&e);
	after = epc_free_pages();
	assert_int_equal(after, before);
}

static void gramine_style_mapping(void **state)
{
	struct encl e;
	uint8_t *p;
	uint64_t base;
	void *m;

	integ_skip_under_tsan("ThreadSanitizer cannot give a 1 TiB ELRANGE the address space");
	(void)state;
	memset(&e, 0, sizeof(e));
	e.fd = -1;
	integ_load(&e, 0);
	e.size = TIB;
	/* Opened first (the first open may map memory), then an aligned free range: reserve
	 * twice the size, pick the aligned part, free it all. */
	assert_int_equal(encl_open(&e), 0);
	p = mmap(NULL, 2 * TIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	base = ((uint64_t)(uintptr_t)p + TIB - 1) & ~(TIB - 1);
	assert_int_equal(munmap(p, 2 * TIB), 0);
	m = mmap((void *)(uintptr_t)base, TIB, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_SHARED | MAP_FIXED_NOREPLACE, e.fd, 0);
	assert_ptr_equal(m, (void *)(uintptr_t)base);
	/* There or nowhere: the range is taken now. */
	assert_mmap_errno(mmap((void *)(uintptr_t)(base + TIB / 2), PG, PROT_READ,
			       MAP_SHARED | MAP_FIXED_NOREPLACE, e.fd, 0), EEXIST);
	e.base = base;
	e.reserve = m;
	e.reserve_len = TIB;
	if (encl_build(&e, integ_key()) < 0)
		fail_msg("building over the Gramine-style mapping: %s (errno %d)", e.err, errno);
	assert_int_equal(integ_scratch(&e) > base, 1);
	grow_and_use(&e, base + TIB - PG, 0x4444);
	encl_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_tib_elrange),
		cmocka_unit_test(gramine_style_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
