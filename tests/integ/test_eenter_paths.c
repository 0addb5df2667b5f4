/* EENTER through the vDSO has two paths: the direct one (a call into the emulator, no trap)
 * and the trap on the vDSO's ENCLU (SGXEMU_NO_DIRECT_EENTER=1, and whenever the direct path
 * declines). Both must give the program the same observable results. The test runs its
 * checks in this process and again in a child with the direct path off. */
#include "tests/integ/integ.h"

#include <sys/wait.h>

static int checks(void)
{
	struct encl E;
	struct test_op add = { .op = TOP_ADD, .a = 40, .b = 2 };
	struct test_op ud = { .op = TOP_UD2 };
	struct sgx_enclave_run run;
	int rc;

	memset(&E, 0, sizeof(E));
	integ_build(&E, 0);
	/* Registers in, registers out, and the EEXIT report. */
	integ_call(&E, 0, &add);
	if (add.out != 42)
		return 1;
	integ_call(&E, 1, &add);
	if (add.out != 42)
		return 2;
	/* An exception inside is reported the same way after either entry. */
	memset(&run, 0, sizeof(run));
	rc = encl_enter(&E, 1, &ud, &run);
	if (rc != 0 || run.function != ENCLU_ERESUME || run.exception_vector != 6)
		return 3;
	/* TCS 1 now has its only SSA frame in use: EENTER must #GP, reported with function 2. */
	memset(&run, 0, sizeof(run));
	rc = encl_enter(&E, 1, &add, &run);
	if (rc != 0 || run.function != ENCLU_EENTER || run.exception_vector != 13)
		return 4;
	encl_free(&E);
	return 0;
}

static void direct_path(void **state)
{
	(void)state;
	assert_int_equal(checks(), 0);
}

static void trap_path(void **state)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;
	int status;

	(void)state;
	assert_true(n > 0);
	self[n] = 0;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("SGXEMU_NO_DIRECT_EENTER", "1", 1);
		execl(self, self, "--checks", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(direct_path),
		cmocka_unit_test(trap_path),
	};

	if (argc > 1 && !strcmp(argv[1], "--checks"))
		return checks();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
