/* The background reclaimer (the kernel's ksgxd): after a build that filled an 8 MiB EPC by
 * reclaiming, the thread brings free EPC back above its high watermark (64 pages) on its
 * own, with nobody allocating. Without it (SGXEMU_NO_KSGXD=1) only allocations reclaim, and
 * free EPC stays where the build left it. Polls with a generous bound; asserts no timing. */
#include "tests/integ/integ.h"
#include "tests/integ/integ_sgx2.h"

#include <sys/wait.h>
#include <time.h>

#define MiB (1024UL * 1024)

static uint64_t free_after_build(int wait_ms_max, uint64_t want)
{
	struct encl E;
	uint64_t f = 0;

	memset(&E, 0, sizeof(E));
	integ_build(&E, 16 * MiB); /* twice the EPC */
	for (int i = 0; i <= wait_ms_max / 10; i++) {
		f = epc_free_pages();
		if (f >= want)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000L }, NULL);
	}
	/* The enclave still works, its pages coming back from the backing store. */
	integ_write(&E, 0, integ_scratch(&E), 99);
	assert_int_equal(integ_read(&E, 1, integ_scratch(&E)), 99);
	encl_free(&E);
	return f;
}

static void refills_free_epc(void **state)
{
	(void)state;
	assert_true(free_after_build(20000, 64) >= 64);
}

static void without_it_only_allocations_reclaim(void **state)
{
	(void)state;
	/* A direct reclaim frees at most one batch (16 pages) beyond what it needs. */
	assert_true(free_after_build(500, 64) < 32);
}

int main(void)
{
	static const char *const opts[] = { "--epc-size", "8M", NULL };
	const struct CMUnitTest with[] = { cmocka_unit_test(refills_free_epc) };
	const struct CMUnitTest without[] = { cmocka_unit_test(without_it_only_allocations_reclaim) };
	const char *epc = getenv("SGXEMU_EPC_SIZE");
	int rc;

	if (!getenv("SGXEMU_TEST_RERUN")) {
		/* Once with the reclaimer, once without (integ_rerun exits with the run's status). */
		int status;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid == 0)
			integ_rerun(opts);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			return 1;
		setenv("SGXEMU_NO_KSGXD", "1", 1);
		integ_rerun(opts);
	}
	if (!epc || strcmp(epc, "8M") != 0)
		return 1;
	if (getenv("SGXEMU_NO_KSGXD"))
		rc = cmocka_run_group_tests_name("without ksgxd", without, NULL, NULL);
	else
		rc = cmocka_run_group_tests_name("with ksgxd", with, NULL, NULL);
	return rc;
}
