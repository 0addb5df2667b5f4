/* A program that enters the enclave with its own ENCLU (no vDSO) and handles enclave faults
 * in its own SIGSEGV handler, as SGX runtimes without the vDSO do: the signal arrives at the
 * AEP with the AEX's synthetic registers (RAX = ERESUME, RBX = TCS, RCX = AEP), and returning
 * from the handler executes the AEP's ENCLU, i.e. ERESUME. */
#include "tests/integ/integ.h"

#include <signal.h>
#include <ucontext.h>

#include "tests/integ/bare_enclu.h"

static struct encl E;
static uint64_t scratch;

static volatile sig_atomic_t hits;
static volatile int seen_signo, seen_code;
static volatile uint64_t seen_addr, seen_rip, seen_rax, seen_rbx, seen_rcx;
static void *fix_page; /* handler makes this page RW again and returns; NULL: longjmp out */
static sigjmp_buf escape;

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	hits++;
	seen_signo = sig;
	seen_code = si->si_code;
	seen_addr = (uint64_t)(uintptr_t)si->si_addr;
	seen_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	seen_rax = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
	seen_rbx = (uint64_t)uc->uc_mcontext.gregs[REG_RBX];
	seen_rcx = (uint64_t)uc->uc_mcontext.gregs[REG_RCX];
	if (fix_page && hits == 1) {
		mprotect(fix_page, PG, PROT_READ | PROT_WRITE);
		return;
	}
	siglongjmp(escape, 1);
}

static struct sigaction old_segv;

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGSEGV, &sa, &old_segv), 0);
	hits = 0;
	seen_signo = seen_code = 0;
	seen_addr = seen_rip = seen_rax = seen_rbx = seen_rcx = 0;
}

static void uninstall(void)
{
	assert_int_equal(sigaction(SIGSEGV, &old_segv, NULL), 0);
}

static int setup(void **state)
{
	(void)state;
	integ_build(&E, 0);
	scratch = integ_scratch(&E);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

/* Plain calls through our own ENCLU. */
static void bare_calls(void **state)
{
	struct test_op op = { .op = TOP_ADD, .a = 1000, .b = 337 };

	(void)state;
	assert_int_equal(bare_eenter(encl_tcs(&E, 0), &op), 0);
	assert_int_equal(op.done, 1);
	assert_int_equal(op.out, 1337);
	assert_int_equal(op.tcs, encl_tcs(&E, 0));
	op = (struct test_op){ .op = TOP_COUNTER };
	assert_int_equal(bare_eenter(encl_tcs(&E, 1), &op), 0);
	assert_int_equal(op.tcs, encl_tcs(&E, 1));
	/* The vDSO path sees the same enclave state. */
	assert_int_equal(integ_counter(&E, 0), op.out + 1);
}

/* The enclave reads a PROT_NONE page of ELRANGE: SIGSEGV at the AEP with the synthetic state;
 * the handler restores the protection and returns, the AEP's ENCLU resumes the enclave, and
 * the read completes. */
static void fault_resume(void **state)
{
	uint64_t page = scratch + PG;
	struct test_op op = { .op = TOP_READ, .addr = page + 0x10 };

	(void)state;
	integ_write(&E, 0, page + 0x10, 0x5566);
	install();
	fix_page = (void *)(uintptr_t)page;
	assert_int_equal(mprotect(fix_page, PG, PROT_NONE), 0);
	if (sigsetjmp(escape, 1) != 0) {
		uninstall();
		fail_msg("the handler was entered twice (ERESUME faulted again?) rip %#llx",
			 (unsigned long long)seen_rip);
	}
	assert_int_equal(bare_eenter(encl_tcs(&E, 0), &op), 0);
	uninstall();
	assert_int_equal(hits, 1);
	assert_int_equal(seen_signo, SIGSEGV);
	assert_int_equal(seen_code, SEGV_ACCERR);
	assert_int_equal(seen_addr, page); /* CR2 of an enclave fault has bits 11:0 cleared */
	assert_int_equal(seen_rip, (uint64_t)(uintptr_t)bare_aep);
	assert_int_equal(seen_rax, ENCLU_ERESUME);
	assert_int_equal(seen_rbx, encl_tcs(&E, 0));
	assert_int_equal(seen_rcx, (uint64_t)(uintptr_t)bare_aep);
	assert_int_equal(op.done, 1);
	assert_int_equal(op.out, 0x5566);
}

/* A NULL read inside the enclave on TCS 1: the handler sees the same synthetic state, with
 * SEGV_MAPERR and address 0, and leaves with siglongjmp. The TCS keeps its used SSA frame,
 * so a later EENTER on it is refused (#GP); TCS 0 still works. */
static void fault_longjmp(void **state)
{
	struct test_op op = { .op = TOP_READ, .addr = 0 };
	struct sgx_enclave_run run;
	struct test_op nop = { .op = TOP_NOP };
	struct encl e;
	volatile int jumped = 0;

	(void)state;
	integ_build(&e, 0);
	install();
	fix_page = NULL;
	if (sigsetjmp(escape, 1) == 0)
		bare_eenter(encl_tcs(&e, 1), &op);
	else
		jumped = 1;
	uninstall();
	assert_int_equal(jumped, 1);
	assert_int_equal(hits, 1);
	assert_int_equal(seen_signo, SIGSEGV);
	assert_int_equal(seen_code, SEGV_MAPERR);
	assert_int_equal(seen_addr, 0);
	assert_int_equal(seen_rip, (uint64_t)(uintptr_t)bare_aep);
	assert_int_equal(seen_rax, ENCLU_ERESUME);
	assert_int_equal(seen_rbx, encl_tcs(&e, 1));
	assert_int_equal(seen_rcx, (uint64_t)(uintptr_t)bare_aep);
	assert_int_equal(op.done, 0);

	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&e, 1);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&nop, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EENTER);
	assert_int_equal(run.exception_vector, 13);
	assert_int_equal(nop.done, 0);
	integ_call(&e, 0, &nop);
	assert_int_equal(bare_eenter(encl_tcs(&e, 0), &nop), 0);
	encl_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bare_calls),
		cmocka_unit_test(fault_resume),
		cmocka_unit_test(fault_longjmp),
	};

	return cmocka_run_group_tests_name("bare_enclu", tests, setup, teardown);
}
