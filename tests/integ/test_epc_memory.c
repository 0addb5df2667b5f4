/* The host memory behind the EPC follows its use: a 1 GiB EPC costs next to nothing until
 * enclaves use it, grows with what they add, shrinks again when they are gone, and a forked
 * child starts with an empty EPC of its own that costs nothing either. The test runs itself
 * again under `sgxemu run --epc-size 1G`; the EPC is shared memory of the process (RssShmem
 * in /proc/self/status). Memory no longer used goes back once it has been idle for a while. */
#include "tests/integ/integ_sgx2.h"

#include <sys/wait.h>

#define MiB (1ULL << 20)
#define SLACK (32 * MiB) /* the status file, the chunks kept for reuse, rounding */

static uint64_t rss_shmem(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = UINT64_MAX;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "RssShmem:", 9))
			kib = strtoull(line + 9, NULL, 10);
	fclose(f);
	assert_true(kib != UINT64_MAX);
	return kib * 1024;
}

static void epc_follows_use(void **state)
{
	struct encl e;
	uint64_t heap = 64 * MiB, base, after_build;
	int fd, status;
	pid_t pid;

	(void)state;
	base = rss_shmem();
	fd = open("/dev/sgx_enclave", O_RDWR); /* brings the platform up */
	assert_true(fd >= 0);
	if (rss_shmem() > base + SLACK)
		fail_msg("opening the device committed %llu MiB of a 1 GiB EPC",
			 (unsigned long long)((rss_shmem() - base) / MiB));
	memset(&e, 0, sizeof(e));
	integ_build(&e, heap);
	after_build = rss_shmem();
	assert_true(after_build >= base + heap);
	assert_true(after_build <= base + heap + 2 * SLACK);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child's EPC is its own and empty; the parent's is not mapped here. */
		int rc = rss_shmem() > base + SLACK ? 1 : 0;

		if (!rc) {
			struct encl mine;

			memset(&mine, 0, sizeof(mine));
			integ_build(&mine, 0);
			rc = integ_counter(&mine, 0) == 1 ? 0 : 2;
			encl_free(&mine);
		}
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	encl_free(&e);
	/* Given back once idle for a while (the background reclaimer's ticks). */
	for (unsigned i = 0; rss_shmem() > base + SLACK; i++) {
		if (i == 1200)
			fail_msg("%llu MiB of EPC still committed 2 minutes after the enclave went",
				 (unsigned long long)((rss_shmem() - base) / MiB));
		usleep(100 * 1000);
	}
	close(fd);
}

int main(void)
{
	static const char *const opts[] = { "--epc-size", "1G", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(epc_follows_use),
	};

	if (!getenv("SGXEMU_TEST_RERUN"))
		integ_rerun(opts);
	return cmocka_run_group_tests_name("epc_memory", tests, NULL, NULL);
}
