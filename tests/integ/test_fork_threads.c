/* fork() while other threads are inside the driver: the atfork handlers hold the driver lock
 * across fork, so the child never inherits a driver caught in the middle of an operation. It
 * can build and run an enclave of its own, and what it inherited from the parent is dead, not
 * half-done. */
#include "tests/integ/integ_sgx2.h"

#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>

#define FORKS 40
#define PAGES 96

/* In the child: a driver that works (a new enclave's counter starts at 1). */
static int child_builds(void)
{
	struct encl mine;

	memset(&mine, 0, sizeof(mine));
	integ_load(&mine, 0);
	if (encl_build(&mine, integ_key()) < 0)
		return 10;
	if (integ_counter(&mine, 0) != 1)
		return 11;
	encl_free(&mine);
	return 0;
}

/* --- a thread held inside an ioctl ------------------------------------------------------ */

struct held {
	int uffd;
	uint8_t *src;            /* the ADD_PAGES source, missing until the resolver fills it */
	struct encl e;
	int rc, err;
};

static void *add_blocked(void *arg)
{
	struct held *h = arg;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_enclave_add_pages a;

	memset(&si, 0, sizeof(si));
	si.flags = ((uint64_t)SGX_PT_REG << 8) | SGX_SECINFO_R | SGX_SECINFO_W;
	a = (struct sgx_enclave_add_pages){ .src = (uintptr_t)h->src, .offset = 0,
					    .length = PG, .secinfo = (uintptr_t)&si };
	h->rc = ioctl(h->e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &a);
	h->err = errno;
	return NULL;
}

/* Fill the source page a while after the ioctl blocked on it: long enough that a fork that
 * did not wait for the driver would have happened meanwhile. */
static void *resolve_later(void *arg)
{
	struct held *h = arg;
	static uint8_t page[4096] __attribute__((aligned(4096)));
	struct uffdio_copy c = { .dst = (uintptr_t)h->src, .src = (uintptr_t)page, .len = PG };

	usleep(200 * 1000);
	ioctl(h->uffd, UFFDIO_COPY, &c);
	return NULL;
}

/* A thread is inside an ADD_PAGES ioctl, stopped while reading its source (a userfaultfd
 * page), when the main thread forks. The fork waits for it to leave the driver: in the child
 * the inherited enclave is not stuck with the ioctl's busy bit (EBUSY forever), it is simply
 * the parent's (dead here: EINVAL), and the child's own enclave works. */
static void fork_waits_for_ioctl(void **state)
{
	struct held h;
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct pollfd pfd;
	struct uffd_msg msg;
	pthread_t adder, resolver;
	int status;
	pid_t pid;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (h.uffd < 0 || ioctl(h.uffd, UFFDIO_API, &api)) {
		print_message("userfaultfd unavailable (%s): cannot hold a thread in the driver\n",
			      strerror(errno));
		skip();
	}
	h.src = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_not_equal(h.src, MAP_FAILED);
	reg = (struct uffdio_register){ .range = { (uintptr_t)h.src, PG },
					 .mode = UFFDIO_REGISTER_MODE_MISSING };
	assert_int_equal(ioctl(h.uffd, UFFDIO_REGISTER, &reg), 0);
	integ_load(&h.e, 0);
	if (encl_create(&h.e) < 0)
		fail_msg("%s", h.e.err);

	assert_int_equal(pthread_create(&adder, NULL, add_blocked, &h), 0);
	pfd = (struct pollfd){ .fd = h.uffd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 120 * 1000), 1);
	assert_int_equal(read(h.uffd, &msg, sizeof(msg)), (ssize_t)sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
	/* The adder is inside the driver now, reading its source. */
	assert_int_equal(pthread_create(&resolver, NULL, resolve_later, &h), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sgx_enclave_init in = { 0 };

		if (ioctl(h.e.fd, SGX_IOC_ENCLAVE_INIT, &in) != -1)
			_exit(20);
		if (errno == EBUSY)
			_exit(21); /* forked in the middle of the parent's ioctl */
		if (errno != EINVAL)
			_exit(22);
		_exit(child_builds());
	}
	assert_int_equal(pthread_join(adder, NULL), 0);
	assert_int_equal(pthread_join(resolver, NULL), 0);
	assert_int_equal(h.rc, 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("the child failed with %d (21: it inherited the ioctl half done)",
			 WEXITSTATUS(status));
	encl_free(&h.e);
	close(h.uffd);
	munmap(h.src, PG);
}

/* --- many forks while threads reshape the driver's tables ------------------------------- */

static volatile int stop;
static volatile uint64_t rounds;

static void *churn(void *arg)
{
	void *p[PAGES];

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
		int fd = open("/dev/sgx_enclave", O_RDWR);

		if (fd < 0)
			break;
		for (unsigned i = 0; i < PAGES; i++)
			p[i] = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
		for (unsigned i = 0; i < PAGES; i++)
			if (p[i] != MAP_FAILED)
				munmap(p[i], PG);
		close(fd);
		__atomic_add_fetch(&rounds, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void fork_while_driver_busy(void **state)
{
	pthread_t th[2];
	unsigned bad = 0, first_status = 0;

	(void)state;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn, NULL), 0);
	wait_flag(&rounds, 1, "the churning threads to start");
	for (unsigned i = 0; i < FORKS; i++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			_exit(child_builds());
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if ((!WIFEXITED(status) || WEXITSTATUS(status)) && !bad++)
			first_status = (unsigned)status;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	if (bad)
		fail_msg("%u of %d children failed; first wait status %#x", bad, FORKS, first_status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fork_waits_for_ioctl),
		cmocka_unit_test(fork_while_driver_busy),
	};

	return cmocka_run_group_tests_name("fork_threads", tests, NULL, NULL);
}
