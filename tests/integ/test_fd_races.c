/* close() racing ioctl, mmap, dup and fcntl(F_DUPFD) on the same device fd (issue 9 item 1).
 * Linux holds a file reference for the duration of each call: every call sees the file either
 * open (and gets the driver's answer) or closed (EBADF), never a half-released one. Under
 * AddressSanitizer (make san-test) a use after free in sgxemu's fd table shows here. */
#include "tests/integ/integ.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#include "tests/lib/rawcall.h"

#define ROUNDS 300

static atomic_int shared_fd = -1;
static atomic_int stop;
static atomic_long unexpected;
static atomic_long seen_driver, seen_ebadf;
static atomic_long first_unexpected;

static void note(long r, long driver_answer)
{
	/* Two ioctls at once on one enclave: the second is EBUSY, as the kernel answers. */
	if (r == driver_answer || (driver_answer == -EINVAL && r == -EBUSY))
		atomic_fetch_add(&seen_driver, 1);
	else if (r == -EBADF)
		atomic_fetch_add(&seen_ebadf, 1);
	else if (r >= 0)
		atomic_fetch_add(&seen_driver, 1);
	else if (atomic_fetch_add(&unexpected, 1) == 0)
		atomic_store(&first_unexpected, r);
}

/* Calls on whatever the shared fd is, libc and bare alternately. */
static void *hammer(void *arg)
{
	struct sgx_enclave_init init = { 0 };
	int raw = (int)(intptr_t)arg;

	while (!atomic_load(&stop)) {
		int fd = atomic_load(&shared_fd);
		long r;

		if (fd < 0)
			continue;
		/* INIT before CREATE: the driver answers EINVAL. */
		r = raw ? rawcall(SYS_ioctl, fd, SGX_IOC_ENCLAVE_INIT, &init)
			: (ioctl(fd, SGX_IOC_ENCLAVE_INIT, &init) ? -errno : 0);
		note(r, -EINVAL);
		/* mmap of a device fd before CREATE succeeds (ELRANGE unknown yet). */
		r = rawcall6(SYS_mmap, 0, PG, PROT_READ, MAP_SHARED, fd, 0);
		note(r, 0);
		if (r >= 0)
			munmap((void *)r, PG);
		if (raw) {
			r = rawcall(SYS_dup, fd, 0, 0);
		} else {
			r = dup(fd);
			r = r < 0 ? -errno : r;
		}
		note(r, 0);
		if (r >= 0)
			close((int)r);
		r = rawcall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 100);
		note(r, 0);
		if (r >= 0)
			rawcall(SYS_close, r, 0, 0);
	}
	return NULL;
}

static void close_races_every_call(void **state)
{
	pthread_t th[3];

	(void)state;
	integ_need_filter();
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)(i & 1)), 0);
	for (int round = 0; round < ROUNDS; round++) {
		int fd = open("/dev/sgx_enclave", O_RDWR);

		assert_true(fd >= 0);
		atomic_store(&shared_fd, fd);
		for (int spin = 0; spin < 200; spin++)
			sched_yield();
		/* Alternate libc and bare closes. */
		if (round & 1)
			assert_int_equal(close(fd), 0);
		else
			assert_int_equal(rawcall(SYS_close, fd, 0, 0), 0);
		atomic_store(&shared_fd, -1);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	if (atomic_load(&unexpected))
		fail_msg("%ld calls got neither the driver's answer nor EBADF (the first: %ld)",
			 atomic_load(&unexpected), atomic_load(&first_unexpected));
	assert_true(atomic_load(&seen_driver) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(close_races_every_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
