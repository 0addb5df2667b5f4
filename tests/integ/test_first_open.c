/* The first open of an SGX device brings the emulated platform up (its EPC, the processor's
 * tables, the key hierarchy). Threads whose first opens come at once must get one platform:
 * one EPC behind every fd, nothing made twice and lost. Each round runs in a forked child of
 * a parent that never opened a device, so that every child starts with the platform down. */
#include "tests/integ/integ.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define THREADS 4
#define ROUNDS 30

/* Child exit statuses. */
#define E_OPEN 10    /* an open failed */
#define E_THREAD 11  /* pthread_create failed */
#define E_MMAP 12    /* an fd could not be mapped */
#define E_EPCS 20    /* 20 + n: n EPCs where there should be 1 */

static atomic_int arrived, go;
static int fds[THREADS];

/* How many EPCs the process holds: sgxemu's memfds, by their name in /proc/self/fd. */
static int count_epcs(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char link[300], target[256];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = 0;
			if (strstr(target, "sgxemu-epc"))
				n++;
		}
	}
	closedir(d);
	return n;
}

static void *opener(void *arg)
{
	int i = (int)(intptr_t)arg;

	atomic_fetch_add(&arrived, 1);
	while (!atomic_load(&go))
		;
	fds[i] = open("/dev/sgx_enclave", O_RDWR);
	return NULL;
}

/* In a child whose platform is down: every thread opens at the same moment. */
static int child_opens_at_once(void)
{
	pthread_t th[THREADS];
	int n;

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, opener, (void *)(intptr_t)i))
			return E_THREAD;
	while (atomic_load(&arrived) < THREADS)
		sched_yield();
	atomic_store(&go, 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++)
		if (fds[i] < 0)
			return E_OPEN;
	n = count_epcs();
	if (n != 1)
		return E_EPCS + (n < 0 ? 0 : n > 9 ? 9 : n);
	for (int i = 0; i < THREADS; i++) {
		void *p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fds[i], 0);

		if (p == MAP_FAILED)
			return E_MMAP;
		munmap(p, PG);
		close(fds[i]);
	}
	return 0;
}

static void concurrent_first_opens_make_one_platform(void **state)
{
	unsigned bad = 0;
	int first_status = 0;

	(void)state;
	/* The children must start with the platform down: this process never opened one. */
	assert_int_equal(count_epcs(), 0);
	for (int i = 0; i < ROUNDS; i++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			_exit(child_opens_at_once());
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if ((!WIFEXITED(status) || WEXITSTATUS(status)) && !bad++)
			first_status = status;
	}
	if (bad)
		fail_msg("%u of %d children failed; first wait status %#x (exit %d: 10 open failed, "
			 "20+n: n EPCs)",
			 bad, ROUNDS, (unsigned)first_status,
			 WIFEXITED(first_status) ? WEXITSTATUS(first_status) : -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_first_opens_make_one_platform),
	};

	return cmocka_run_group_tests_name("first_open", tests, NULL, NULL);
}
