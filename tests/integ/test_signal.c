/* The program's own handlers for faults that have nothing to do with an enclave keep working
 * (the emulator shares SIGSEGV and SIGILL with the program): before any enclave exists, after
 * one ran, and after an enclave exception was reported through the vDSO. */
#include "tests/integ/integ.h"

#include <signal.h>
#include <ucontext.h>

static volatile sig_atomic_t segv_hits, ill_hits;
static volatile uint64_t segv_addr, ill_rip;
static volatile int segv_code, ill_code;
static void *segv_page;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_hits++;
	segv_addr = (uint64_t)(uintptr_t)si->si_addr;
	segv_code = si->si_code;
	/* Make the page accessible and return: the write is retried and succeeds. */
	mprotect(segv_page, PG, PROT_READ | PROT_WRITE);
}

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	ill_hits++;
	ill_code = si->si_code;
	ill_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* skip the UD2 */
}

/* ud2_site: a UD2 at a known address in host code. */
extern const char ud2_site[];
__attribute__((noinline, noclone)) static void do_ud2(void)
{
	__asm__ volatile(".globl ud2_site\nud2_site:\n\tud2\n" ::: "memory");
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags,
		    struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(sig, &sa, old), 0);
}

/* Write to a PROT_NONE anonymous page at an odd offset; the handler unprotects it. */
static void segv_round(void)
{
	struct sigaction old, now;
	volatile uint64_t *p;

	segv_page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(segv_page, MAP_FAILED);
	p = (volatile uint64_t *)((char *)segv_page + 0x128);
	segv_hits = 0;
	install(SIGSEGV, on_segv, 0, &old);
	/* The program sees its own handler when it asks. */
	assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
	assert_ptr_equal((void *)now.sa_sigaction, (void *)on_segv);
	assert_true(now.sa_flags & SA_SIGINFO);

	*p = 0x1234;
	assert_int_equal(segv_hits, 1);
	assert_int_equal(segv_addr, (uint64_t)(uintptr_t)p);
	assert_int_equal(segv_code, SEGV_ACCERR);
	assert_int_equal(*p, 0x1234);
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
	munmap(segv_page, PG);
}

static void ill_round(void)
{
	struct sigaction old;

	ill_hits = 0;
	install(SIGILL, on_ill, 0, &old);
	do_ud2();
	assert_int_equal(ill_hits, 1);
	assert_int_equal(ill_code, ILL_ILLOPN);
	assert_int_equal(ill_rip, (uint64_t)(uintptr_t)ud2_site);
	assert_int_equal(sigaction(SIGILL, &old, NULL), 0);
}

static void before_any_enclave(void **state)
{
	(void)state;
	segv_round();
	ill_round();
}

static void after_an_enclave_ran(void **state)
{
	struct encl e;
	struct test_op op = { .op = TOP_ADD, .a = 2, .b = 3 };

	(void)state;
	integ_build(&e, 0);
	integ_call(&e, 0, &op);
	assert_int_equal(op.out, 5);
	segv_round();
	ill_round();
	integ_call(&e, 1, &op);
	segv_round();
	encl_free(&e);
}

/* An enclave fault reported through the vDSO does not reach the program's handler, and the
 * handler still gets the program's own faults afterwards. */
static void after_an_enclave_exception(void **state)
{
	struct encl e;
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_WRITE, .a = 9 };
	struct sigaction old;
	uint64_t scratch;

	(void)state;
	integ_build(&e, 0);
	scratch = integ_scratch(&e);
	segv_hits = 0;
	install(SIGSEGV, on_segv, 0, &old);
	/* Were it (wrongly) delivered, the handler would fix the page and the call would EEXIT. */
	segv_page = (void *)(uintptr_t)scratch;
	op.addr = scratch;
	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ), 0);
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&e, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(segv_hits, 0);
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
	segv_round();
	encl_free(&e);
}

/* SA_RESETHAND: the disposition is back to SIG_DFL once the handler ran. */
static void resethand(void **state)
{
	struct sigaction old, now;
	volatile uint64_t *p;

	(void)state;
	segv_page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(segv_page, MAP_FAILED);
	p = segv_page;
	segv_hits = 0;
	install(SIGSEGV, on_segv, SA_RESETHAND, &old);
	*p = 7;
	assert_int_equal(segv_hits, 1);
	assert_int_equal(*p, 7);
	assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
	assert_ptr_equal((void *)now.sa_handler, (void *)SIG_DFL);
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
	munmap(segv_page, PG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(before_any_enclave),
		cmocka_unit_test(after_an_enclave_ran),
		cmocka_unit_test(after_an_enclave_exception),
		cmocka_unit_test(resethand),
	};

	return cmocka_run_group_tests_name("signal", tests, NULL, NULL);
}
