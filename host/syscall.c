/* The system-call table: which calls sgxemu answers, by number, with their arguments decoded
 * (the way gVisor's linux64.go maps the ABI to its handlers). Everything not listed goes to
 * the kernel unchanged. The seccomp trap path and the interposed syscall(3) both come here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>

#include "host/signal.h"
#include "host/sys.h"
#include "util/rawsys.h"

long sys_answer(long nr, const long a[6], uint64_t *child_rsp)
{
	switch (nr) {
	case SYS_open:
		return sys_openat(AT_FDCWD, (uint64_t)a[0], (int)a[1], (unsigned)a[2]);
	case SYS_creat:
		return sys_openat(AT_FDCWD, (uint64_t)a[0], O_CREAT | O_WRONLY | O_TRUNC,
				  (unsigned)a[1]);
	case SYS_openat:
		return sys_openat((int)a[0], (uint64_t)a[1], (int)a[2], (unsigned)a[3]);
	case SYS_openat2:
		return sys_openat2((int)a[0], (uint64_t)a[1], (uint64_t)a[2], (uint64_t)a[3]);
	case SYS_close:
		return sys_close((int)a[0]);
	case SYS_close_range:
		return sys_close_range((unsigned)a[0], (unsigned)a[1], (unsigned)a[2]);
	case SYS_dup:
		return sys_dup((int)a[0]);
	case SYS_dup2:
		return sys_dup2((int)a[0], (int)a[1]);
	case SYS_dup3:
		return sys_dup3((int)a[0], (int)a[1], (int)a[2]);
	case SYS_fcntl:
		return sys_fcntl((int)a[0], (int)a[1], (unsigned long)a[2]);
	case SYS_ioctl:
		return sys_ioctl((int)a[0], (unsigned long)a[1], (unsigned long)a[2]);
	case SYS_mmap:
		return sys_mmap((uint64_t)a[0], (uint64_t)a[1], (int)a[2], (int)a[3], (int)a[4],
				(uint64_t)a[5]);
	case SYS_munmap:
		return sys_munmap((uint64_t)a[0], (uint64_t)a[1]);
	case SYS_mprotect:
		return sys_mprotect((uint64_t)a[0], (uint64_t)a[1], (int)a[2]);
	case SYS_madvise:
		return sys_madvise((uint64_t)a[0], (uint64_t)a[1], (int)a[2]);
	case SYS_mremap:
		return sys_mremap((uint64_t)a[0], (uint64_t)a[1], (uint64_t)a[2], (int)a[3],
				  (uint64_t)a[4]);
	case SYS_rt_sigaction:
		return sys_rt_sigaction((int)a[0], (const struct ksigaction *)a[1],
					(struct ksigaction *)a[2], a[3]);
	case SYS_rt_sigprocmask:
		return sys_rt_sigprocmask((int)a[0], (const uint64_t *)a[1], (uint64_t *)a[2], a[3]);
	case SYS_rt_sigpending:
		return sys_rt_sigpending((uint64_t *)a[0], a[1]);
	case SYS_clone:
		return (a[0] & CLONE_VM) ? SYS_PASS : sys_fork_like(nr, a, child_rsp);
	case SYS_fork:
		return sys_fork_like(nr, a, child_rsp);
	case SYS_clone3:
		/* Its flags are in memory; glibc falls back to clone (host/filter.c). */
		return -ENOSYS;
	case SYS_execve:
		return sys_execve((uint64_t)a[0], (uint64_t)a[1], (uint64_t)a[2]);
	case SYS_execveat:
		return sys_execveat((int)a[0], (uint64_t)a[1], (uint64_t)a[2], (uint64_t)a[3],
				    (int)a[4]);
	}
	return SYS_PASS;
}

long sys_dispatch(long nr, const long a[6], uint64_t *child_rsp)
{
	long r = sys_answer(nr, a, child_rsp);

	return r != SYS_PASS ? r : raw_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
