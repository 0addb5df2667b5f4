/* A signal of the program's own that arrives while a thread runs inside the enclave: the
 * hardware takes an AEX first, so the program's handler runs outside the enclave, at the AEP,
 * with the host's FS base (its TLS works), and returning from it resumes the enclave, which
 * never notices. */
#include "tests/integ/integ.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <ucontext.h>

static struct encl E;
static volatile uint64_t release_flag;
static struct test_op spin_op;
static struct sgx_enclave_run spin_run;
static int spin_rc;
static pthread_t spinner_thread;

static __thread int tls_marker = 0x5eed;
static volatile int handler_calls, handler_tls, handler_same_thread;
static volatile uint64_t handler_rax, handler_rbx;

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	handler_calls++;
	/* TLS through FS: only right if the emulator restored the host FS base. */
	handler_tls = tls_marker;
	handler_same_thread = pthread_equal(pthread_self(), spinner_thread);
	handler_rax = (uint64_t)uc->uc_mcontext.gregs[REG_RAX];
	handler_rbx = (uint64_t)uc->uc_mcontext.gregs[REG_RBX];
	/* Let the enclave finish once it is resumed. */
	release_flag = 77;
}

static void *spinner(void *arg)
{
	(void)arg;
	spin_rc = encl_enter(&E, 0, &spin_op, &spin_run);
	return NULL;
}

static int wait_entered(void)
{
	for (int i = 0; i < 20000; i++) {
		if (__atomic_load_n(&spin_op.entered, __ATOMIC_SEQ_CST))
			return 1;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return 0;
}

static void signal_inside_enclave_takes_aex(void **state)
{
	struct sigaction sa, old;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	/* sigaction reports the program's own handler back. */
	assert_int_equal(sigaction(SIGUSR1, NULL, &old), 0);
	assert_ptr_equal(old.sa_sigaction, on_usr1);

	integ_build(&E, 0);
	release_flag = 0;
	spin_op = (struct test_op){ .op = TOP_SPIN, .addr = (uintptr_t)&release_flag };
	assert_int_equal(pthread_create(&spinner_thread, NULL, spinner, NULL), 0);
	assert_true(wait_entered());
	assert_int_equal(pthread_kill(spinner_thread, SIGUSR1), 0);
	assert_int_equal(pthread_join(spinner_thread, NULL), 0);

	assert_int_equal(handler_calls, 1);
	assert_int_equal(handler_tls, 0x5eed);
	assert_true(handler_same_thread);
	/* The AEX's synthetic state: RAX = ERESUME, RBX = the TCS. */
	assert_int_equal(handler_rax, 3);
	assert_int_equal(handler_rbx, encl_tcs(&E, 0));
	/* The enclave resumed and left normally with what the handler stored. */
	assert_int_equal(spin_rc, 0);
	assert_int_equal(spin_run.function, 4);
	assert_int_equal(spin_run.exception_vector, 0);
	assert_int_equal(spin_op.out, 77);
	encl_free(&E);
}

static void signal_outside_enclave_plain(void **state)
{
	struct sigaction sa;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	spinner_thread = pthread_self();
	handler_calls = 0;
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(handler_calls, 1);
	assert_int_equal(handler_tls, 0x5eed);
	/* SA_RESETHAND: the disposition is the default again. */
	assert_int_equal(sigaction(SIGUSR1, NULL, &sa), 0);
	assert_ptr_equal(sa.sa_handler, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signal_inside_enclave_takes_aex),
		cmocka_unit_test(signal_outside_enclave_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
