/* SECS paging: once an initialised enclave has no page left in the EPC, its SECS is written
 * out too (as the kernel does), and comes back, before any of its pages, on the next access.
 * Run with an 8 MiB EPC and no background reclaimer, so only our allocations reclaim. */
#include "tests/integ/integ.h"
#include "tests/integ/integ_sgx2.h"

#define MiB (1024UL * 1024)

/* Pages the enclave added (its segments and heap). */
static uint64_t added_pages(const struct encl *e)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < e->nseg; i++)
		n += e->seg[i].size / PG;
	return n;
}

static void secs_goes_out_and_comes_back(void **state)
{
	struct encl A, B;
	struct sgxemu_stat st;
	const struct sgxemu_stat_encl *a;
	uint64_t scratch;

	(void)state;
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	integ_build(&A, 0);
	scratch = integ_scratch(&A);
	integ_write(&A, 0, scratch, 0x5ec5);
	/* B needs three times the EPC: every page of A is reclaimed, and then A's SECS. */
	integ_build(&B, 24 * MiB);
	stat_read(&st);
	a = stat_encl(&st, &A);
	/* In the EPC: A's VA page only. Out: its pages and its SECS. */
	assert_int_equal(a->resident_pages, 1);
	assert_int_equal(a->swapped_pages, added_pages(&A) + 1);
	/* A works again: its SECS, then the pages it touches, come back. */
	assert_int_equal(integ_read(&A, 1, scratch), 0x5ec5);
	stat_read(&st);
	a = stat_encl(&st, &A);
	assert_true(a->resident_pages > 1);
	encl_free(&B);
	encl_free(&A);
}

int main(void)
{
	static const char *const opts[] = { "--epc-size", "8M", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(secs_goes_out_and_comes_back),
	};
	const char *epc = getenv("SGXEMU_EPC_SIZE");

	if (!getenv("SGXEMU_TEST_RERUN")) {
		setenv("SGXEMU_NO_KSGXD", "1", 1);
		integ_rerun(opts);
	}
	if (!epc || strcmp(epc, "8M") != 0)
		return 1;
	return cmocka_run_group_tests_name("secs paging", tests, NULL, NULL);
}
