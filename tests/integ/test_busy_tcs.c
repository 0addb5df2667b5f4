/* One thread per TCS: while a thread is inside the enclave on the first TCS, EENTER on it
 * from another thread is a #GP, reported by the vDSO with function = EENTER. ERESUME on a TCS
 * that has no saved state is a #GP as well. */
#include "tests/integ/integ.h"

#include <pthread.h>
#include <time.h>

static struct encl E;
static volatile uint64_t release_flag;
static struct test_op spin_op;
static struct sgx_enclave_run spin_run;
static int spin_rc;

static void *spinner(void *arg)
{
	(void)arg;
	spin_rc = encl_enter(&E, 0, &spin_op, &spin_run);
	return NULL;
}

static int wait_entered(void)
{
	/* Up to 20 s: a slow machine, but not a hang. */
	for (int i = 0; i < 20000; i++) {
		if (__atomic_load_n(&spin_op.entered, __ATOMIC_SEQ_CST))
			return 1;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return 0;
}

static void busy_tcs_refused(void **state)
{
	struct sgx_enclave_run run;
	struct test_op nop = { .op = TOP_NOP };
	pthread_t th;
	int entered, rc = -1;

	(void)state;
	memset(&run, 0, sizeof(run));
	integ_build(&E, 0);
	release_flag = 0;
	spin_op = (struct test_op){ .op = TOP_SPIN, .addr = (uintptr_t)&release_flag };
	assert_int_equal(pthread_create(&th, NULL, spinner, NULL), 0);
	entered = wait_entered();

	if (entered) {
		memset(&run, 0, sizeof(run));
		run.tcs = encl_tcs(&E, 0);
		rc = encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&nop, 0, 0);
	}
	/* The other TCS is free meanwhile. */
	if (entered) {
		struct test_op other = { .op = TOP_ADD, .a = 1, .b = 1 };
		struct sgx_enclave_run r2;
		int rc2 = encl_enter(&E, 1, &other, &r2);

		__atomic_store_n(&release_flag, 7, __ATOMIC_SEQ_CST);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(rc2, 0);
		assert_int_equal(r2.function, ENCLU_EEXIT);
		assert_int_equal(other.out, 2);
	} else {
		__atomic_store_n(&release_flag, 7, __ATOMIC_SEQ_CST);
		pthread_join(th, NULL);
		fail_msg("the spinning thread never got into the enclave (rc %d, function %u, "
			 "vector %u)", spin_rc, spin_run.function, spin_run.exception_vector);
	}

	assert_int_equal(rc, 0);
	assert_int_equal(run.function, ENCLU_EENTER);
	assert_int_equal(run.exception_vector, 13);
	assert_int_equal(run.exception_error_code, 0);
	assert_int_equal(run.exception_addr, 0);
	assert_int_equal(nop.done, 0);

	/* The spinner finished normally and the TCS is free again. */
	assert_int_equal(spin_rc, 0);
	assert_int_equal(spin_run.function, ENCLU_EEXIT);
	assert_int_equal(spin_op.out, 7);
	assert_int_equal(spin_op.done, 1);
	integ_call(&E, 0, &nop);
	encl_free(&E);
}

/* ERESUME with CSSA = 0 (nothing to resume): #GP, function = ERESUME. */
static void eresume_without_aex(void **state)
{
	struct sgx_enclave_run run;
	struct test_op nop = { .op = TOP_NOP };
	struct encl e;

	(void)state;
	integ_build(&e, 0);
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&e, 1);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, (uint64_t)(uintptr_t)&nop, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 13);
	assert_int_equal(run.exception_error_code, 0);
	assert_int_equal(run.exception_addr, 0);
	assert_int_equal(nop.done, 0);
	integ_call(&e, 1, &nop);
	encl_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(busy_tcs_refused),
		cmocka_unit_test(eresume_without_aex),
	};

	encl_vdso();
	return cmocka_run_group_tests_name("busy_tcs", tests, NULL, NULL);
}
