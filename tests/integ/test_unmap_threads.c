/* Enclave mappings that go or change under threads running inside, as on Linux with SGX
 * hardware: an mmap(MAP_FIXED) that fails destroys nothing; unmapping forces the threads out
 * first (the TLB-shootdown IPIs make them exit), so releasing the enclave leaks no EPC page;
 * a thread inside enclave A whose range gets enclave B mapped over it never runs on B's
 * pages: it is forced out, and its ERESUME then finds B's TCS there (#GP, reported by the
 * vDSO). */
#include "tests/integ/integ_sgx2.h"

#include <pthread.h>


struct spinner {
	struct encl *e;
	volatile uint64_t flag;  /* the enclave spins until it is non-zero */
	struct test_op op;
	struct sgx_enclave_run run;
	int rc;
	pthread_t th;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;

	s->rc = encl_enter(s->e, 0, &s->op, &s->run);
	return NULL;
}

/* Start a thread spinning inside e (TCS 0) and wait until it is in. */
static void spin_start(struct spinner *s, struct encl *e)
{
	memset(s, 0, sizeof(*s));
	s->e = e;
	/* Before the thread starts: the waiter below reads op.entered meanwhile (TSan saw the
	 * thread's plain store of the whole op race with it). */
	s->op = (struct test_op){ .op = TOP_SPIN, .addr = (uintptr_t)&s->flag };
	assert_int_equal(pthread_create(&s->th, NULL, spin, s), 0);
	wait_flag(&s->op.entered, 1, "the thread to enter the enclave");
}

static void spin_stop(struct spinner *s)
{
	__atomic_store_n(&s->flag, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(pthread_join(s->th, NULL), 0);
	assert_int_equal(s->rc, 0);
}

/* mmap(MAP_FIXED) of something else that fails (a bad fd) over enclave mappings leaves them
 * as they were: Linux validates before it replaces. */
static void failed_map_fixed_keeps_enclave(void **state)
{
	struct encl e;
	uint64_t scratch;

	(void)state;
	integ_build(&e, 0);
	scratch = integ_scratch(&e);
	integ_write(&e, 0, scratch, 0xC0FFEE);
	assert_mmap_errno(mmap((void *)(uintptr_t)scratch, 2 * PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_FIXED, 1000, 0), EBADF);
	{
		int wo = open("/dev/null", O_WRONLY); /* no read access: EACCES */

		assert_true(wo >= 0);
		assert_mmap_errno(mmap((void *)(uintptr_t)scratch, 2 * PG, PROT_READ,
				       MAP_PRIVATE | MAP_FIXED, wo, 0), EACCES);
		close(wo);
	}
	assert_int_equal(integ_read(&e, 1, scratch), 0xC0FFEE);
	/* A successful one replaces: the enclave no longer sees its page there. */
	assert_ptr_equal(mmap((void *)(uintptr_t)scratch, PG, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			 (void *)(uintptr_t)scratch);
	*(volatile uint64_t *)(uintptr_t)scratch = 5;
	assert_int_equal(madvise((void *)(uintptr_t)scratch, PG, MADV_DONTNEED), 0);
	encl_free(&e);
}

/* The fd closed first, then the last mapping goes while a thread runs inside: the thread is
 * forced out before the unmap, the enclave is released, and every EPC page comes back (no
 * EREMOVE failing with SGX_ENCLAVE_ACT). The thread's ERESUME then finds nothing mapped at
 * its TCS: the vDSO reports a #PF there. */
static void release_with_thread_inside(void **state)
{
	struct encl e;
	struct spinner s;
	uint64_t free0 = epc_free_pages();
	void *reserve;
	size_t len;

	(void)state;
	integ_build(&e, 0);
	spin_start(&s, &e);
	close(e.fd);
	e.fd = -1;
	reserve = e.reserve;
	len = e.reserve_len;
	e.reserve = NULL;
	assert_int_equal(munmap(reserve, len), 0);
	spin_stop(&s);
	assert_int_equal(s.run.function, ENCLU_ERESUME);
	assert_int_equal(s.run.exception_vector, X86_PF);
	assert_int_equal(s.op.done, 0);
	/* Any later driver call completes a release that had to wait for the thread. */
	close(open("/dev/sgx_enclave", O_RDWR));
	assert_int_equal(epc_free_pages(), free0);
	encl_free(&e);
}

/* Enclave B, built with A's ELRANGE and layout, mapped over A while a thread spins in A: the
 * thread must not go on in B's code with B's stack. It is forced out (AEX) before the
 * mapping changes, and its ERESUME meets B's TCS, whose CSSA is 0: #GP, which the vDSO
 * reports. B works on its own afterwards. */
static void other_enclave_mapped_over(void **state)
{
	struct encl a, b;
	struct spinner s;

	(void)state;
	integ_build(&a, 0);
	spin_start(&s, &a);
	memset(&b, 0, sizeof(b));
	integ_load(&b, 0);
	b.reserve = a.reserve; /* encl_create uses A's ELRANGE */
	b.reserve_len = 0;
	b.base = a.base;
	if (encl_build(&b, integ_key()) < 0)
		fail_msg("building B over A: %s", b.err);
	spin_stop(&s);
	if (s.run.function != ENCLU_ERESUME || s.run.exception_vector != X86_GP)
		fail_msg("the thread in A went on: function %u vector %u (op done %llu)",
			 s.run.function, s.run.exception_vector, (unsigned long long)s.op.done);
	assert_int_equal(s.op.done, 0);
	assert_int_equal(integ_counter(&b, 1), 1);
	b.reserve = NULL;
	encl_free(&b);
	encl_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failed_map_fixed_keeps_enclave),
		cmocka_unit_test(release_with_thread_inside),
		cmocka_unit_test(other_enclave_mapped_over),
	};

	return cmocka_run_group_tests_name("unmap_threads", tests, NULL, NULL);
}
