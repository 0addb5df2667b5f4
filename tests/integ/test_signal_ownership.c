/* Who owns the signals (issue 10 item 2, issue 9 items 2 and 3). Whatever the program installs
 * for SIGSEGV, SIGILL, SIGBUS (with libc or a bare rt_sigaction), sgxemu's handler stays first
 * and passes it what Linux would deliver; the signals sgxemu needs are never blocked in the
 * real mask, so threads that block everything still make ecalls, and a handler that re-enters
 * the enclave with SIGSEGV blocked (Gramine does this for every in-enclave exception) works;
 * the program's mask for them is kept and honoured in software; a signal arriving during the
 * emulated AEX does not corrupt the thread. */
#include "tests/integ/integ.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <ucontext.h>

#include "tests/integ/bare_enclu.h"
#include "tests/lib/rawcall.h"

#define SIGBIT(s) (1ULL << ((s) - 1))

static struct encl E;
static uint64_t scratch;

/* The kernel's struct sigaction, for bare rt_sigaction calls. */
struct ksa {
	uint64_t handler, flags, restorer, mask;
};

/* A restorer of the program's own, as Gramine passes with SA_RESTORER. */
extern void test_restore_rt(void);
__asm__(".pushsection .text\n"
	"test_restore_rt:\n"
	"	mov $15, %eax\n"
	"	syscall\n"
	".popsection\n");

static long raw_sigaction(int sig, void (*h)(int, siginfo_t *, void *), uint64_t flags,
			  uint64_t mask, struct ksa *old)
{
	struct ksa sa = { (uint64_t)(uintptr_t)h, flags | 0x04000000 /* SA_RESTORER */,
			  (uint64_t)(uintptr_t)test_restore_rt, mask };

	return rawcall6(SYS_rt_sigaction, sig, (long)&sa, (long)old, 8, 0, 0);
}

static uint64_t raw_mask_now(void)
{
	uint64_t m = 0;

	assert_int_equal(rawcall6(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&m, 8, 0, 0), 0);
	return m;
}

static volatile sig_atomic_t hits;
static volatile uint64_t seen_rip, seen_mask;
static volatile int seen_code;
static void *fix_page;

static void on_fault_fix(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	hits++;
	seen_code = si->si_code;
	seen_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	seen_mask = raw_mask_now();
	rawcall(SYS_mprotect, fix_page, PG, PROT_READ | PROT_WRITE);
}

/* A handler installed with a bare rt_sigaction does not replace sgxemu's: an exception inside
 * the enclave is still reported through the vDSO, not to it; a fault of the program's own goes
 * to it, with SIGSEGV blocked while it runs (no SA_NODEFER), as the program's view shows. */
static void raw_handler_stays_behind_ours(void **state)
{
	struct sgx_enclave_run run;
	struct test_op ud2 = { .op = TOP_UD2 };
	struct ksa old, now;
	volatile uint64_t *p;
	struct encl e;

	(void)state;
	integ_need_filter();
	assert_int_equal(raw_sigaction(SIGSEGV, on_fault_fix, SA_SIGINFO, 0, &old), 0);
	assert_int_equal(raw_sigaction(SIGILL, on_fault_fix, SA_SIGINFO, 0, NULL), 0);
	assert_int_equal(rawcall6(SYS_rt_sigaction, SIGSEGV, 0, (long)&now, 8, 0, 0), 0);
	assert_int_equal(now.handler, (uint64_t)(uintptr_t)on_fault_fix);
	assert_int_equal(now.restorer, (uint64_t)(uintptr_t)test_restore_rt);
	hits = 0;

	/* (TCS 0 of a spare enclave: the exception leaves its only SSA frame in use.) */
	memset(&e, 0, sizeof(e));
	integ_build(&e, 0);
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&e, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&ud2, 0, 0), 0);
	assert_int_equal(run.exception_vector, 6);
	assert_int_equal(hits, 0);
	integ_call(&e, 1, &(struct test_op){ .op = TOP_NOP });
	assert_int_equal(hits, 0);
	encl_free(&e);

	fix_page = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(fix_page != MAP_FAILED);
	p = fix_page;
	*p = 42;
	assert_int_equal(hits, 1);
	assert_int_equal(seen_code, SEGV_ACCERR);
	assert_int_equal(*p, 42);
	assert_true(seen_mask & SIGBIT(SIGSEGV));
	assert_false(raw_mask_now() & SIGBIT(SIGSEGV));
	munmap(fix_page, PG);
	assert_int_equal(rawcall6(SYS_rt_sigaction, SIGSEGV, (long)&old, 0, 8, 0, 0), 0);
	signal(SIGILL, SIG_DFL);
}

/* A thread that blocks every signal (servers do this in workers) makes ecalls, bare ENCLUs
 * and gets enclave exceptions reported, through libc's mask calls and bare ones alike; the
 * mask it reads back is the one it set. */
static void *blocked_worker(void *arg)
{
	sigset_t all, cur;
	struct test_op add = { .op = TOP_ADD, .a = 40, .b = 2 }, cnt = { .op = TOP_COUNTER };
	struct sgx_enclave_run run;
	struct test_op ud2 = { .op = TOP_UD2 };
	uint64_t full = ~0ULL;
	int raw = (int)(intptr_t)arg;

	sigfillset(&all);
	if (raw)
		assert_int_equal(rawcall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&full, 0, 8, 0, 0), 0);
	else
		assert_int_equal(pthread_sigmask(SIG_SETMASK, &all, NULL), 0);
	integ_call(&E, 1, &add);
	assert_int_equal(add.out, 42);
	assert_int_equal(bare_eenter(encl_tcs(&E, 1), &cnt), 0);
	assert_int_equal(cnt.done, 1);
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&ud2, 0, 0), 0);
	assert_int_equal(run.exception_vector, 6);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	assert_true(sigismember(&cur, SIGSEGV));
	assert_true(sigismember(&cur, SIGILL));
	assert_true(sigismember(&cur, SIGUSR1));
	assert_true(raw_mask_now() & SIGBIT(SIGSEGV));
	return NULL;
}

static void thread_with_everything_blocked(void **state)
{
	pthread_t th;
	struct encl e2;

	integ_skip_under_tsan("program signals land in code ThreadSanitizer does not know is a "
			      "handler (tests/tsan/run.sh)");
	(void)state;
	for (int raw = 0; raw < (integ_filter_off() ? 1 : 2); raw++) {
		/* Each round leaves TCS 0 in its exception: a fresh enclave. */
		memset(&e2, 0, sizeof(e2));
		integ_build(&e2, 0);
		{
			struct encl saved = E;

			E = e2;
			assert_int_equal(pthread_create(&th, NULL, blocked_worker, (void *)(intptr_t)raw), 0);
			assert_int_equal(pthread_join(th, NULL), 0);
			E = saved;
		}
		encl_free(&e2);
	}
}

static volatile sig_atomic_t segv_user_hits;
static volatile int segv_user_code;

static void on_segv_user(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	segv_user_hits++;
	segv_user_code = si->si_code;
}

/* SIGSEGV sent by tgkill while the program blocks it waits, shows in sigpending, and arrives
 * once unblocked: the kernel could not hold it (it is not blocked for real). */
static void sent_signal_waits_for_unblock(void **state)
{
	struct sigaction sa, old;
	sigset_t set, pend;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv_user;
	sa.sa_flags = SA_SIGINFO;
	assert_int_equal(sigaction(SIGSEGV, &sa, &old), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	segv_user_hits = 0;
	assert_int_equal(rawcall(SYS_tgkill, getpid(), rawcall(SYS_gettid, 0, 0, 0), SIGSEGV), 0);
	assert_int_equal(segv_user_hits, 0);
	assert_int_equal(sigpending(&pend), 0);
	assert_true(sigismember(&pend, SIGSEGV));
	assert_int_equal(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	assert_int_equal(segv_user_hits, 1);
	assert_int_equal(segv_user_code, SI_TKILL);
	assert_int_equal(sigpending(&pend), 0);
	assert_false(sigismember(&pend, SIGSEGV));
	assert_int_equal(sigaction(SIGSEGV, &old, NULL), 0);
}

/* A fault the program blocks takes the default action, as the kernel forces it. */
static void blocked_fault_is_fatal(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		sigset_t set;
		volatile int *p;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv_user;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSEGV, &sa, NULL);
		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigprocmask(SIG_BLOCK, &set, NULL);
		p = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(5);
		*p = 1;
		_exit(segv_user_hits ? 3 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* Gramine's pattern: an exception inside the enclave (entered with a bare ENCLU) reaches the
 * program's SIGSEGV handler at the AEP; the handler, with SIGSEGV blocked, enters the enclave
 * again on another TCS to let it handle the event, returns, and the AEP resumes the enclave. */
static volatile uint64_t nested_out, nested_done;
static volatile int nested_rc = -1;

static void gramine_like_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct test_op op = { .op = TOP_COUNTER };

	(void)sig;
	(void)si;
	hits++;
	seen_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	seen_mask = raw_mask_now();
	if (seen_rip == (uint64_t)(uintptr_t)bare_aep) {
		nested_rc = bare_eenter(encl_tcs(&E, 1), &op);
		nested_out = op.out;
		nested_done = op.done;
	}
	rawcall(SYS_mprotect, fix_page, PG, PROT_READ | PROT_WRITE);
}

static void reenter_from_handler_with_segv_blocked(void **state)
{
	uint64_t page = scratch + PG;
	struct test_op op = { .op = TOP_READ, .addr = page + 8 };
	uint64_t before;
	struct ksa old;

	(void)state;
	integ_need_filter();
	integ_write(&E, 1, page + 8, 0xabcd);
	before = integ_counter(&E, 1);
	/* As Gramine installs it: raw, its own restorer, async signals masked, no SA_NODEFER. */
	assert_int_equal(raw_sigaction(SIGSEGV, gramine_like_handler, SA_SIGINFO | SA_ONSTACK,
				       SIGBIT(SIGTERM) | SIGBIT(SIGCONT), &old),
			 0);
	hits = 0;
	fix_page = (void *)(uintptr_t)page;
	assert_int_equal(mprotect(fix_page, PG, PROT_NONE), 0);
	assert_int_equal(bare_eenter(encl_tcs(&E, 0), &op), 0);
	assert_int_equal(rawcall6(SYS_rt_sigaction, SIGSEGV, (long)&old, 0, 8, 0, 0), 0);
	assert_int_equal(hits, 1);
	assert_int_equal(seen_rip, (uint64_t)(uintptr_t)bare_aep);
	assert_true(seen_mask & SIGBIT(SIGSEGV));
	assert_true(seen_mask & SIGBIT(SIGTERM));
	assert_int_equal(nested_rc, 0);
	assert_int_equal(nested_done, 1);
	assert_int_equal(nested_out, before + 1);
	assert_int_equal(op.done, 1);
	assert_int_equal(op.out, 0xabcd);
	assert_false(raw_mask_now() & SIGBIT(SIGSEGV));
}

/* A flood of the program's signals at a thread inside the enclave: each takes an AEX first,
 * none may interrupt another's (the emulated AEX must not be reentered), and the enclave
 * finishes its work with the right result (issue 9 item 2). */
static volatile uint64_t flood_flag;
static volatile long usr1_hits, usr2_hits;
static struct test_op flood_op;
static struct sgx_enclave_run flood_run;
static volatile int flood_rc = -1;

static void on_usr(int sig)
{
	if (sig == SIGUSR1)
		usr1_hits++;
	else
		usr2_hits++;
}

static void *flood_spinner(void *arg)
{
	(void)arg;
	flood_rc = encl_enter(&E, 1, &flood_op, &flood_run);
	return NULL;
}

static void signal_flood_during_aex(void **state)
{
	struct sigaction sa, o1, o2;
	pthread_t th;

	integ_skip_under_tsan("program signals land in code ThreadSanitizer does not know is a "
			      "handler (tests/tsan/run.sh)");
	(void)state;
	for (int nodefer = 0; nodefer < 2; nodefer++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr;
		sa.sa_flags = nodefer ? SA_NODEFER : 0;
		assert_int_equal(sigaction(SIGUSR1, &sa, &o1), 0);
		assert_int_equal(sigaction(SIGUSR2, &sa, &o2), 0);
		flood_flag = 0;
		usr1_hits = usr2_hits = 0;
		flood_op = (struct test_op){ .op = TOP_SPIN, .addr = (uint64_t)(uintptr_t)&flood_flag };
		assert_int_equal(pthread_create(&th, NULL, flood_spinner, NULL), 0);
		while (!__atomic_load_n(&flood_op.entered, __ATOMIC_SEQ_CST))
			sched_yield();
		for (int i = 0; i < 20000; i++)
			pthread_kill(th, (i & 1) ? SIGUSR2 : SIGUSR1);
		flood_flag = 0x77 + (uint64_t)nodefer;
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(flood_rc, 0);
		assert_int_equal(flood_run.function, ENCLU_EEXIT);
		assert_int_equal(flood_op.done, 1);
		assert_int_equal(flood_op.out, 0x77 + (uint64_t)nodefer);
		assert_true(usr1_hits > 0 && usr2_hits > 0);
		assert_int_equal(sigaction(SIGUSR1, &o1, NULL), 0);
		assert_int_equal(sigaction(SIGUSR2, &o2, NULL), 0);
		/* The TCS is usable afterwards. */
		integ_call(&E, 1, &(struct test_op){ .op = TOP_NOP });
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(raw_handler_stays_behind_ours),
		cmocka_unit_test(thread_with_everything_blocked),
		cmocka_unit_test(sent_signal_waits_for_unblock),
		cmocka_unit_test(blocked_fault_is_fatal),
		cmocka_unit_test(reenter_from_handler_with_segv_blocked),
		cmocka_unit_test(signal_flood_during_aex),
	};

	return cmocka_run_group_tests_name("signal_ownership", tests, setup, teardown);
}
