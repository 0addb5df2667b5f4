/* Two threads inside one enclave at the same time, each on its own TCS, each making many
 * calls; results and the shared counter are checked afterwards (cmocka asserts only in the
 * main thread). */
#include "tests/integ/integ.h"

#include <pthread.h>

#define ROUNDS 3000

static struct encl E;

struct worker {
	unsigned tcs;
	pthread_barrier_t *start;
	unsigned errors;
	char first_error[160];
	uint64_t last_counter;
};

static void note(struct worker *w, const char *what, uint64_t k, uint64_t got, uint64_t want)
{
	if (w->errors++ == 0)
		snprintf(w->first_error, sizeof(w->first_error),
			 "TCS %u round %llu: %s: got %#llx, want %#llx", w->tcs, (unsigned long long)k,
			 what, (unsigned long long)got, (unsigned long long)want);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t tcs = encl_tcs(&E, w->tcs);

	pthread_barrier_wait(w->start);
	for (uint64_t k = 0; k < ROUNDS; k++) {
		struct sgx_enclave_run run;
		struct test_op op = { .op = TOP_ADD, .a = ((uint64_t)w->tcs << 40) | k, .b = k * 3 };
		int rc = encl_enter(&E, w->tcs, &op, &run);

		if (rc != 0 || run.function != ENCLU_EEXIT) {
			note(w, "ADD call", k, (uint64_t)rc, 0);
			note(w, "ADD function", k, run.function, ENCLU_EEXIT);
			break;
		}
		if (op.out != op.a + op.b)
			note(w, "sum", k, op.out, op.a + op.b);
		if (op.tcs != tcs)
			note(w, "tcs", k, op.tcs, tcs);

		op = (struct test_op){ .op = TOP_COUNTER };
		rc = encl_enter(&E, w->tcs, &op, &run);
		if (rc != 0 || run.function != ENCLU_EEXIT || op.done != 1) {
			note(w, "COUNTER call", k, (uint64_t)rc, 0);
			break;
		}
		/* Increments are atomic and each thread's values strictly increase. */
		if (op.out <= w->last_counter)
			note(w, "counter went backwards", k, op.out, w->last_counter + 1);
		w->last_counter = op.out;
	}
	return NULL;
}

static void two_threads_two_tcs(void **state)
{
	pthread_barrier_t start;
	pthread_t th[2];
	struct worker w[2];
	uint64_t base;

	(void)state;
	integ_build(&E, 0);
	base = integ_counter(&E, 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	for (unsigned i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].tcs = i;
		w[i].start = &start;
		w[i].last_counter = base;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	for (unsigned i = 0; i < 2; i++)
		if (w[i].errors)
			fail_msg("%u errors; first: %s", w[i].errors, w[i].first_error);
	/* Every increment of both threads happened exactly once. */
	assert_int_equal(integ_counter(&E, 1), base + 2 * ROUNDS + 1);
	encl_free(&E);
}

/* Threads that each enter a different enclave, in parallel. */
static struct encl F[2];

static void *work_own(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->start);
	for (uint64_t k = 0; k < ROUNDS; k++) {
		struct sgx_enclave_run run;
		struct test_op op = { .op = TOP_COUNTER };

		if (encl_enter(&F[w->tcs], k % 2, &op, &run) != 0 || run.function != ENCLU_EEXIT) {
			note(w, "call", k, run.function, ENCLU_EEXIT);
			break;
		}
		if (op.out != k + 1)
			note(w, "private counter", k, op.out, k + 1);
	}
	return NULL;
}

static void two_threads_two_enclaves(void **state)
{
	pthread_barrier_t start;
	pthread_t th[2];
	struct worker w[2];

	(void)state;
	integ_build(&F[0], 0);
	integ_build(&F[1], 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	for (unsigned i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].tcs = i; /* here: which enclave */
		w[i].start = &start;
		assert_int_equal(pthread_create(&th[i], NULL, work_own, &w[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
	for (unsigned i = 0; i < 2; i++)
		if (w[i].errors)
			fail_msg("%u errors; first: %s", w[i].errors, w[i].first_error);
	assert_int_equal(integ_counter(&F[0], 0), ROUNDS + 1);
	assert_int_equal(integ_counter(&F[1], 0), ROUNDS + 1);
	encl_free(&F[0]);
	encl_free(&F[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_threads_two_tcs),
		cmocka_unit_test(two_threads_two_enclaves),
	};

	/* The lookup happens once here, not racing in the threads. */
	encl_vdso();
	return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
