/* The system calls sgxemu answers, one function each with the kernel's arguments and return
 * convention (a value, or -errno), shared by the two ways a program reaches them: through the
 * libc symbols the preload interposes (host/interpose.c) and through a bare SYSCALL that the
 * seccomp filter traps (host/trap_syscall.c). host/syscall.c maps numbers to them. Not for
 * signal handlers: they run in the calling thread's normal context, as the call would.
 *
 * SYS_PASS means "not sgxemu's": the caller passes the call on unchanged -- a libc entry point
 * to the next definition of the symbol (libc's, or another preload's such as ASan's, which
 * must see mmap and munmap), the trap path to the kernel. */
#ifndef SGXEMU_HOST_SYS_H
#define SGXEMU_HOST_SYS_H

#include <stdint.h>
#include <limits.h>
#include <sys/stat.h>

#define SYS_PASS LONG_MIN

/* host/sys_fd.c: device files. */
long sys_openat(int dirfd, uint64_t path, int flags, unsigned mode);
/* The same for a path libc was handed (a valid string by libc's contract: read directly). */
long sys_open_path(const char *path, int flags);
long sys_openat2(int dirfd, uint64_t path, uint64_t how, uint64_t size);
long sys_close(int fd);
long sys_close_range(unsigned first, unsigned last, unsigned flags);
long sys_dup(int fd);
long sys_dup2(int oldfd, int newfd);
long sys_dup3(int oldfd, int newfd, int flags);
long sys_fcntl(int fd, int cmd, unsigned long arg);
long sys_ioctl(int fd, unsigned long cmd, unsigned long arg);
/* stat/access of the device paths (libc entry points only); 1 if path is a device (result
 * in *ret), 0 if not. */
int sys_dev_stat(const char *path, struct stat *st, long *ret);
int sys_dev_access(const char *path, int mode, int flags, long *ret);

/* host/sys_mm.c: memory. */
long sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off);
long sys_munmap(uint64_t addr, uint64_t len);
long sys_mprotect(uint64_t addr, uint64_t len, int prot);
long sys_madvise(uint64_t addr, uint64_t len, int advice);
long sys_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);

/* host/sys_proc.c: processes. child_rsp: for a fork-like clone that names a new stack, where
 * the child must continue (the trampoline switches to it); NULL where nobody can. */
long sys_fork_like(long nr, const long args[6], uint64_t *child_rsp);
long sys_execve(uint64_t path, uint64_t argv, uint64_t envp);
long sys_execveat(int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags);

/* host/syscall.c: any of the above by number: sys_answer gives SYS_PASS for calls that are
 * not sgxemu's, sys_dispatch passes those to the kernel. */
long sys_answer(long nr, const long args[6], uint64_t *child_rsp);
long sys_dispatch(long nr, const long args[6], uint64_t *child_rsp);

#endif
