/* Threads and processes made without libc (issue 10 item 1): threads from a bare clone that
 * has no TLS of its own (Gramine's), forks by bare fork and clone, vfork + bare execve with an
 * empty environment, and a child whose libraries make filtered calls before the preload runs.
 * Each must see the emulator as a libc program would. */
#include "tests/integ/integ.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/integ/bare_enclu.h"
#include "tests/lib/rawcall.h"

#ifndef ARCH_SET_FS
#define ARCH_SET_FS 0x1002
#endif

static struct encl E;

/* raw_thread(flags, stack_top, fn, arg, ctid): clone without libc; the child runs fn(arg) on
 * stack_top and exits with its value. */
long raw_thread(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg, int *ctid);
__asm__(".pushsection .text\n"
	".globl raw_thread\n"
	"raw_thread:\n"
	"	sub $16, %rsi\n"
	"	mov %rdx, (%rsi)\n"
	"	mov %rcx, 8(%rsi)\n"
	"	mov %r8, %r10\n"      /* child_tid */
	"	xor %edx, %edx\n"     /* parent_tid */
	"	xor %r8d, %r8d\n"     /* tls: none, FS stays the parent's */
	"	mov $56, %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jz 1f\n"
	"	ret\n"
	"1:	pop %rax\n"
	"	pop %rdi\n"
	"	call *%rax\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n"
	"	syscall\n"
	"	ud2\n"
	".popsection\n");

struct thread_results {
	int vdso_rc, vdso_out, bare_rc, bare_done, ioctl_rc;
};

static struct thread_results inherited, fs_zero;

/* No libc in here: the thread's FS is the parent's TLS (or 0). */
static void thread_work(struct thread_results *r)
{
	struct test_op add = { .op = TOP_ADD, .a = 20, .b = 22 }, cnt = { .op = TOP_COUNTER };
	struct sgx_enclave_run run;
	struct sgx_enclave_init init = { 0 };

	for (unsigned i = 0; i < sizeof(run); i++)
		((volatile char *)&run)[i] = 0;
	run.tcs = encl_tcs(&E, 1);
	r->vdso_rc = encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&add, 0, 0);
	r->vdso_out = (int)add.out;
	r->bare_rc = bare_eenter(encl_tcs(&E, 1), &cnt);
	r->bare_done = (int)cnt.done;
	/* INIT of an initialised enclave: the driver's EINVAL. */
	r->ioctl_rc = (int)rawcall(SYS_ioctl, E.fd, SGX_IOC_ENCLAVE_INIT, &init);
}

static int clone_child(void *arg)
{
	int zero_fs = (int)(intptr_t)arg;

	if (zero_fs)
		rawcall(SYS_arch_prctl, ARCH_SET_FS, 0, 0);
	thread_work(zero_fs ? &fs_zero : &inherited);
	return 0;
}

static void run_clone_thread(int zero_fs)
{
	const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				    CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID;
	size_t size = 256 * 1024;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile int ctid = 1;
	long tid;

	assert_true(stack != MAP_FAILED);
	tid = raw_thread(flags, stack + size, clone_child, (void *)(intptr_t)zero_fs, (int *)&ctid);
	assert_true(tid > 0);
	while (ctid)
		rawcall6(SYS_futex, (long)&ctid, FUTEX_WAIT, 1, 0, 0, 0);
	munmap(stack, size);
}

static void bare_clone_threads_without_tls(void **state)
{
	(void)state;
	integ_need_filter();
	encl_vdso(); /* looked up once, with libc; the threads only call it */
	run_clone_thread(0);
	assert_int_equal(inherited.vdso_rc, 0);
	assert_int_equal(inherited.vdso_out, 42);
	assert_int_equal(inherited.bare_rc, 0);
	assert_int_equal(inherited.bare_done, 1);
	assert_int_equal(inherited.ioctl_rc, -EINVAL);
	run_clone_thread(1);
	assert_int_equal(fs_zero.vdso_rc, 0);
	assert_int_equal(fs_zero.vdso_out, 42);
	assert_int_equal(fs_zero.bare_rc, 0);
	assert_int_equal(fs_zero.bare_done, 1);
	assert_int_equal(fs_zero.ioctl_rc, -EINVAL);
}

/* ---- forks ---- */

static sigjmp_buf jb;
static volatile int caught;

static void on_bus(int sig)
{
	caught = sig;
	siglongjmp(jb, 1);
}

/* What a forked child must find: the parent's enclave dead (SIGBUS), and a fresh platform. */
static int forked_child_checks(void)
{
	volatile uint64_t *p = encl_seg_addr(&E, 2);
	struct encl mine;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(jb, 1) == 0) {
		*p = 0xBAD;
		return 10;
	}
	if (caught != SIGBUS)
		return 11;
	memset(&mine, 0, sizeof(mine));
	mine.fd = -1;
	integ_build(&mine, 0);
	integ_write(&mine, 0, integ_scratch(&mine), 4242);
	if (integ_read(&mine, 1, integ_scratch(&mine)) != 4242)
		return 12;
	encl_free(&mine);
	return 0;
}

static void wait_ok(long pid, int want)
{
	int status;

	assert_true(pid > 0);
	assert_int_equal(waitpid((pid_t)pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("child died of signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), want);
}

static void bare_fork_and_clone(void **state)
{
	uint64_t scratch = integ_scratch(&E);
	long pid;

	(void)state;
	integ_need_filter();
	integ_write(&E, 0, scratch, 1111);
	pid = rawcall(SYS_fork, 0, 0, 0);
	if (pid == 0)
		_exit(forked_child_checks());
	wait_ok(pid, 0);
	pid = rawcall6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
	if (pid == 0)
		_exit(forked_child_checks());
	wait_ok(pid, 0);
	assert_int_equal(integ_read(&E, 1, scratch), 1111);
}

/* A fork-like clone that gives the child a stack of its own. */
static int forked_on_new_stack(void *arg)
{
	(void)arg;
	/* The whole process, not just this thread (the child has a reclaimer thread too). */
	_exit(forked_child_checks() == 0 ? 42 : 43);
}

static void bare_clone_fork_with_new_stack(void **state)
{
	size_t size = 1 << 20;
	char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	integ_need_filter();
	assert_true(stack != MAP_FAILED);
	wait_ok(raw_thread(SIGCHLD, stack + size, forked_on_new_stack, NULL, NULL), 42);
	munmap(stack, size);
}

/* vfork, then a bare execve with an empty environment (Gramine starts its children with
 * vfork and a bare execve): the new image still gets the preload. */
static void vfork_bare_execve_keeps_preload(void **state)
{
	const char *argv[] = { "/bin/sh", "-c",
			       "test -c /dev/sgx_enclave && case \"$LD_PRELOAD\" in *libsgxemu*) exit 0;; esac; exit 3",
			       NULL };
	const char *envp[] = { NULL };
	pid_t pid;

	(void)state;
	integ_need_filter();
	pid = vfork();
	if (pid == 0) {
		rawcall(SYS_execve, "/bin/sh", argv, envp);
		_exit(127);
	}
	wait_ok(pid, 0);
}

/* A child whose libraries make filtered calls before the preload runs (the boot shim). */
static void child_with_early_filtered_calls(void **state)
{
	char path[PATH_MAX];
	char *argv[2];
	pid_t pid;

	(void)state;
	integ_need_filter();
	if (!encl_path_near_exe("../helpers/early_trap_main", path, sizeof(path)))
		fail_msg("cannot locate the helper");
	argv[0] = path;
	argv[1] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	wait_ok(pid, 0);
}

static int setup(void **state)
{
	(void)state;
	memset(&E, 0, sizeof(E));
	E.fd = -1;
	integ_build(&E, 0);
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
		cmocka_unit_test(bare_clone_threads_without_tls),
		cmocka_unit_test(bare_fork_and_clone),
		cmocka_unit_test(bare_clone_fork_with_new_stack),
		cmocka_unit_test(vfork_bare_execve_keeps_preload),
		cmocka_unit_test(child_with_early_filtered_calls),
	};

	return cmocka_run_group_tests_name("raw_processes", tests, setup, teardown);
}
