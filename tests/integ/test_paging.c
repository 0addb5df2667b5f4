/* EPC paging seen from a program (the kernel's ksgxd and sgx_vma_fault): enclaves larger than
 * the EPC keep every byte through EWB and ELDU, also while another thread changes the enclave
 * with the SGX2 ioctls. The test runs itself again under `sgxemu run --epc-size 8M` with its
 * own status directory, whose PID.stat shows the paging. (Tampering with swapped-out pages has
 * no user API; tests/unit/test_paging.c does it against cpu/.) */
#include "tests/integ/integ_sgx2.h"

#include <pthread.h>
#include <stdatomic.h>

#define EPC_PAGES 2048 /* 8 MiB */
#define MiB (1UL << 20)

static struct encl E;

static uint64_t encl_pages(const struct encl *e)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < e->nseg; i++)
		n += e->seg[i].size / PG;
	return n;
}

static uint64_t fill(unsigned tcs, uint64_t addr, uint64_t len, uint64_t seed)
{
	struct test_op op = { .op = TOP_FILL, .addr = addr, .a = len, .b = seed };

	integ_call(&E, tcs, &op);
	return op.out;
}

/* Pages with a wrong word; *first = the first wrong address. */
static uint64_t verify(unsigned tcs, uint64_t addr, uint64_t len, uint64_t seed, uint64_t *first)
{
	struct test_op op = { .op = TOP_VERIFY, .addr = addr, .a = len, .b = seed };

	integ_call(&E, tcs, &op);
	if (first)
		*first = op.aux;
	return op.out;
}

/* A 32 MiB heap in an 8 MiB EPC, written in one random order and read back in another: no
 * difference, and the status file shows pages went out and came back. A second fill with
 * another seed replaces every page (no stale copy from the backing store comes back). */
static void oversubscribed_fill_verify(void **state)
{
	const uint64_t heap_len = 32 * MiB, n = heap_len / PG;
	struct sgxemu_stat st;
	const struct sgxemu_stat_encl *se;
	uint64_t heap, first, free0, swapped_after_build;

	(void)state;
	free0 = epc_free_pages();
	stat_read(&st);
	assert_int_equal(st.epc_pages, EPC_PAGES);
	assert_int_equal(st.free_pages, free0);
	integ_build(&E, heap_len);
	heap = E.base + E.heap_offset;
	stat_read(&st);
	/* Building it already had to evict (ADD_PAGES reclaims). */
	assert_true(st.swapped_out > 0);
	swapped_after_build = st.swapped_out;

	assert_int_equal(fill(0, heap, heap_len, 0x5eed1), n);
	assert_int_equal(verify(1, heap, heap_len, 0x5eed1, &first), 0);
	assert_int_equal(first, 0);
	/* VERIFY does fail when the data is not what FILL wrote. */
	assert_int_equal(verify(0, heap, heap_len, 0x5eed2, &first), n);
	assert_true(first >= heap && first < heap + PG * n);

	stat_read(&st);
	assert_true(st.swapped_out > swapped_after_build);
	assert_true(st.swapped_in > 0);
	assert_true(st.swapped_in < st.swapped_out);
	assert_int_equal(st.nr_enclaves, 1);
	se = stat_encl(&st, &E);
	assert_int_equal(se->size, E.size);
	assert_true(se->swapped_pages > 0);
	assert_true(se->resident_pages <= EPC_PAGES);
	/* Every page is either in the EPC or out; resident also counts the SECS and the VA
	 * pages (one per 512 pages: SECS + enclave pages). */
	assert_int_equal(se->resident_pages + se->swapped_pages,
			 encl_pages(&E) + 1 + (encl_pages(&E) + 1 + 511) / 512);

	assert_int_equal(fill(1, heap, heap_len, 0x5eed2), n);
	assert_int_equal(verify(0, heap, heap_len, 0x5eed2, &first), 0);
	assert_int_equal(verify(1, heap, heap_len, 0x5eed1, &first), n);
	/* The code, data and TCS pages went through the same EPC: calls still work. */
	assert_int_equal(integ_counter(&E, 0), 1);
	encl_free(&E);
	assert_int_equal(epc_free_pages(), free0);
}

/* The SGX2 ioctls on pages that reclaim has just written out (their load path: ELDU), on one
 * thread: each step on a grown page comes after a VERIFY of a heap twice the EPC, which
 * evicts most of the EPC. */
static void edmm_on_evicted_pages(void **state)
{
	const uint64_t heap_len = 16 * MiB, n = 48;
	uint64_t heap, hole, first, free0 = epc_free_pages();
	struct sgxemu_stat st0, st1;

	(void)state;
	sgx2_build(&E, heap_len, 32 * MiB);
	heap = E.base + E.heap_offset;
	hole = E.base + sgx2_hole(&E);
	assert_int_equal(fill(0, heap, heap_len, 77), heap_len / PG);
	stat_read(&st0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(integ_eaccept(&E, i % 2, hole + i * PG, SI_AUGMENTED), 0);
	for (uint64_t i = 0; i < n; i++)
		integ_write(&E, 1, hole + i * PG + 8 * i, 0xe0 + i);
	assert_int_equal(verify(0, heap, heap_len, 77, &first), 0);
	sgx2_restrict_ok(&E, hole - E.base, n * PG, SI_R);
	assert_int_equal(verify(1, heap, heap_len, 77, &first), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(integ_eaccept(&E, i % 2, hole + i * PG, SI_R | SI_REG | SI_PR), 0);
	assert_int_equal(verify(0, heap, heap_len, 77, &first), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(integ_read(&E, 1, hole + i * PG + 8 * i), 0xe0 + i);
	assert_int_equal(verify(1, heap, heap_len, 77, &first), 0);
	sgx2_modify_ok(&E, hole - E.base, n * PG, SGX_PT_TRIM);
	assert_int_equal(verify(0, heap, heap_len, 77, &first), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(integ_eaccept(&E, i % 2, hole + i * PG, SI_TRIMMED), 0);
	assert_int_equal(verify(1, heap, heap_len, 77, &first), 0);
	sgx2_remove_ok(&E, hole - E.base, n * PG);
	stat_read(&st1);
	/* Six VERIFYs of 4096 pages, each starting with at most EPC_PAGES of them resident. */
	assert_true(st1.swapped_in - st0.swapped_in >= 6 * (heap_len / PG - EPC_PAGES));
	/* A removed page is a hole: EACCEPT EAUGs a zeroed one. */
	assert_int_equal(integ_eaccept(&E, 0, hole + 5 * PG, SI_AUGMENTED), 0);
	assert_int_equal(integ_read(&E, 0, hole + 5 * PG + 8 * 5), 0);
	assert_int_equal(verify(1, heap, heap_len, 77, &first), 0);
	encl_free(&E);
	assert_int_equal(epc_free_pages(), free0);
}

/* Reclaim racing with threads running inside the enclave. These found (fixed in 9f59973): a
 * thread's SSA page evicted while it waited in a trap, so the next AEX wrote into a freed EPC
 * page and ERESUME restored stale registers; the trap handler reading enclave code through a
 * mapping another thread's reclaim had just removed; ETRACK IPIs waiting for threads that sat
 * in a trap with signals blocked (minutes instead of seconds). */

/* Thread A loops FILL/VERIFY over a heap twice the EPC while thread B reads random pages of
 * it: both fault, reclaim from each other and send each other tracking IPIs. */
/* Shared with the thread while it runs: atomics (volatile is no synchronisation). */
static atomic_int two_done;
static atomic_uint two_bad;

static void *two_a(void *arg)
{
	uint64_t heap = E.base + E.heap_offset, len = 16 * MiB;

	(void)arg;
	for (unsigned pass = 0; pass < 4; pass++) {
		struct test_op op = { .op = TOP_VERIFY, .addr = heap, .a = len, .b = 3 };
		struct sgx_enclave_run run;

		if (encl_enter(&E, 0, &op, &run) || run.function != ENCLU_EEXIT || op.out)
			two_bad++;
	}
	two_done = 1;
	return NULL;
}

static void reclaim_races_two_threads(void **state)
{
	pthread_t a;
	uint64_t heap, free0 = epc_free_pages(), k = 0;

	(void)state;
	two_done = 0;
	two_bad = 0;
	integ_build(&E, 16 * MiB);
	heap = E.base + E.heap_offset;
	assert_int_equal(fill(1, heap, 16 * MiB, 3), 4096);
	assert_int_equal(pthread_create(&a, NULL, two_a, NULL), 0);
	while (!two_done) {
		uint64_t pg = (k++ * 7919) % 4096;

		assert_int_equal(integ_read(&E, 1, heap + pg * PG + 8), test_pattern(3, pg, 1));
	}
	assert_int_equal(pthread_join(a, NULL), 0);
	assert_int_equal(two_bad, 0);
	encl_free(&E);
	assert_int_equal(epc_free_pages(), free0);
}

/* Thread A loops FILL/VERIFY over a heap twice the EPC while thread B grows the enclave by a
 * page (EACCEPT: EAUG), writes it, restricts it to R (RESTRICT + EACCEPT), trims and removes
 * it, over and over: every ioctl's ETRACK sends A an IPI, every page B touches may have been
 * evicted since B's last step, and reclaim runs under both. Nothing is lost. */
struct racer {
	uint64_t heap, heap_len, hole;
	atomic_int a_done; /* read by thread B while A runs */
	unsigned a_passes, a_bad_passes, b_rounds, b_errors;
	uint64_t a_first_bad;
	char b_first_error[200];
};

static struct racer R;

static void *thread_a(void *arg)
{
	(void)arg;
	for (unsigned pass = 0; pass < 6; pass++) {
		struct test_op op = { .op = TOP_FILL, .addr = R.heap, .a = R.heap_len, .b = pass };
		struct sgx_enclave_run run;

		if (encl_enter(&E, 0, &op, &run) || run.function != ENCLU_EEXIT || !op.done) {
			R.a_bad_passes++;
			break;
		}
		op = (struct test_op){ .op = TOP_VERIFY, .addr = R.heap, .a = R.heap_len, .b = pass };
		if (encl_enter(&E, 0, &op, &run) || run.function != ENCLU_EEXIT || !op.done ||
		    op.out) {
			if (!R.a_bad_passes++)
				R.a_first_bad = op.done ? op.aux : 1;
		}
		R.a_passes++;
	}
	R.a_done = 1;
	return NULL;
}

static int b_call(struct test_op *op)
{
	struct sgx_enclave_run run;

	op->done = 0;
	return encl_enter(&E, 1, op, &run) == 0 && run.function == ENCLU_EEXIT && op->done ? 0 : -1;
}

static void b_error(unsigned k, const char *what, uint64_t got)
{
	if (!R.b_errors++)
		snprintf(R.b_first_error, sizeof(R.b_first_error), "round %u: %s (got %#llx, errno %d)",
			 k, what, (unsigned long long)got, errno);
}

/* An SGX2 ioctl that may be told to try again (EAGAIN: the page was being reclaimed). */
#define RETRY_EAGAIN(call) ({ int r_; while ((r_ = (call)) && errno == EAGAIN) ; r_; })

static void *thread_b(void *arg)
{
	(void)arg;
	for (unsigned k = 0; !R.a_done || k < 16; k++) {
		uint64_t page = R.hole + (k % 64) * PG, off = page - E.base;
		uint64_t v = 0xb0000000ULL + k;
		struct sgx_enclave_restrict_permissions rp = { .offset = off, .length = PG,
							       .permissions = SI_R };
		struct sgx_enclave_modify_types mt = { .offset = off, .length = PG,
						       .page_type = SGX_PT_TRIM };
		struct sgx_enclave_remove_pages rm = { .offset = off, .length = PG };
		struct test_op op = { .op = TOP_EACCEPT, .addr = page, .a = SI_AUGMENTED };

		if (b_call(&op) || op.out) {
			b_error(k, "EACCEPT of a new page", op.out);
			break;
		}
		op = (struct test_op){ .op = TOP_WRITE, .addr = page + 8 * (k % 512), .a = v };
		if (b_call(&op)) {
			b_error(k, "write", 0);
			break;
		}
		if (RETRY_EAGAIN(sgx2_restrict(&E, &rp)) || rp.count != PG) {
			b_error(k, "RESTRICT_PERMISSIONS", rp.count);
			break;
		}
		op = (struct test_op){ .op = TOP_EACCEPT, .addr = page, .a = SI_R | SI_REG | SI_PR };
		if (b_call(&op) || op.out) {
			b_error(k, "EACCEPT of the restriction", op.out);
			break;
		}
		op = (struct test_op){ .op = TOP_READ, .addr = page + 8 * (k % 512) };
		if (b_call(&op) || op.out != v) {
			b_error(k, "read back", op.out);
			break;
		}
		if (RETRY_EAGAIN(sgx2_modify(&E, &mt)) || mt.count != PG) {
			b_error(k, "MODIFY_TYPES(TRIM)", mt.count);
			break;
		}
		op = (struct test_op){ .op = TOP_EACCEPT, .addr = page, .a = SI_TRIMMED };
		if (b_call(&op) || op.out) {
			b_error(k, "EACCEPT of the trim", op.out);
			break;
		}
		if (RETRY_EAGAIN(sgx2_remove(&E, &rm)) || rm.count != PG) {
			b_error(k, "REMOVE_PAGES", rm.count);
			break;
		}
		R.b_rounds = k + 1;
	}
	return NULL;
}

static void reclaim_races_thread_and_edmm(void **state)
{
	pthread_t a, b;
	struct sgxemu_stat st0, st1;
	uint64_t free0 = epc_free_pages(), first;

	(void)state;
	memset(&R, 0, sizeof(R));
	stat_read(&st0);
	R.heap_len = 16 * MiB;
	sgx2_build(&E, R.heap_len, 32 * MiB);
	R.heap = E.base + E.heap_offset;
	R.hole = E.base + sgx2_hole(&E);
	assert_int_equal(pthread_create(&a, NULL, thread_a, NULL), 0);
	assert_int_equal(pthread_create(&b, NULL, thread_b, NULL), 0);
	assert_int_equal(pthread_join(a, NULL), 0);
	assert_int_equal(pthread_join(b, NULL), 0);
	if (R.b_errors)
		fail_msg("thread B: %u errors; first: %s", R.b_errors, R.b_first_error);
	if (R.a_bad_passes)
		fail_msg("thread A: %u of %u passes failed; first wrong word at %#llx", R.a_bad_passes,
			 R.a_passes, (unsigned long long)R.a_first_bad);
	assert_int_equal(R.a_passes, 6);
	assert_true(R.b_rounds >= 16);
	/* The heap holds the last pass's pattern; the grown pages are all gone again. */
	assert_int_equal(verify(1, R.heap, R.heap_len, 5, &first), 0);
	stat_read(&st1);
	assert_true(st1.swapped_in > st0.swapped_in);
	assert_true(st1.swapped_out > st0.swapped_out);
	assert_int_equal(stat_encl(&st1, &E)->resident_pages + stat_encl(&st1, &E)->swapped_pages,
			 encl_pages(&E) + 1 + (encl_pages(&E) + 1 + 511) / 512);
	encl_free(&E);
	assert_int_equal(epc_free_pages(), free0);
}

int main(void)
{
	static const char *const opts[] = { "--epc-size", "8M", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oversubscribed_fill_verify),
		cmocka_unit_test(edmm_on_evicted_pages),
		cmocka_unit_test(reclaim_races_two_threads),
		cmocka_unit_test(reclaim_races_thread_and_edmm),
	};
	const char *epc = getenv("SGXEMU_EPC_SIZE");

	if (!getenv("SGXEMU_TEST_RERUN"))
		integ_rerun(opts);
	if (!epc || strcmp(epc, "8M") != 0) {
		fprintf(stderr, "`sgxemu run --epc-size 8M` did not set SGXEMU_EPC_SIZE=8M\n");
		return 1;
	}
	encl_vdso();
	return cmocka_run_group_tests_name("paging", tests, NULL, NULL);
}
