/* fork and exec. Linux would share the enclave between parent and child; the emulator keeps
 * its state per process, so (docs/fidelity.md) the child's inherited enclave mappings are
 * dead: touching them is SIGBUS, the child can build enclaves of its own on a fresh EPC, and
 * the parent's enclave is unaffected by anything the child does. exec keeps the preload. */
#include "tests/integ/integ.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>

static sigjmp_buf jb;
static volatile int caught;

static void on_bus(int sig)
{
	caught = sig;
	siglongjmp(jb, 1);
}

static int child_touches_parent_enclave(const struct encl *e)
{
	volatile uint64_t *p = encl_seg_addr(e, 2); /* the data segment */
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(jb, 1) == 0) {
		*p = 0xBAD;
		return 10; /* the write went through: the child wrote the parent's EPC */
	}
	return caught == SIGBUS ? 0 : 11;
}

static int child_builds_own_enclave(void)
{
	struct encl mine;

	memset(&mine, 0, sizeof(mine));
	integ_build(&mine, 0);
	integ_write(&mine, 0, integ_scratch(&mine), 4242);
	if (integ_read(&mine, 1, integ_scratch(&mine)) != 4242)
		return 20;
	encl_free(&mine);
	return 0;
}

static void fork_child_gets_dead_mappings(void **state)
{
	struct encl E;
	uint64_t scratch;
	pid_t pid;
	int status;

	(void)state;
	memset(&E, 0, sizeof(E));
	integ_build(&E, 0);
	scratch = integ_scratch(&E);
	integ_write(&E, 0, scratch, 1111);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = child_touches_parent_enclave(&E);

		if (!rc)
			rc = child_builds_own_enclave();
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The parent's enclave still works and still holds its data. */
	assert_int_equal(integ_read(&E, 1, scratch), 1111);
	encl_free(&E);
}

static void exec_keeps_the_emulator(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A fresh process image still sees the device (stat through the preload). */
		execl("/bin/sh", "sh", "-c", "test -c /dev/sgx_enclave", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fork_child_gets_dead_mappings),
		cmocka_unit_test(exec_keeps_the_emulator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
