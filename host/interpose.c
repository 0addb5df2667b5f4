/* The one list of libc symbols the preload interposes. Each entry only converts between
 * libc's conventions (errno, libc's structures, variadic arguments) and the kernel's, and
 * calls the same host/sys_*.c function the seccomp trap path calls; everything else goes to
 * the real libc. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/cpuinfo.h"
#include "host/filter.h"
#include "host/host.h"
#include "host/signal.h"
#include "host/sys.h"
#include "host/vdso.h"

/* glibc entry points that its headers do not declare (fortified opens, the old names of
 * sigaction and signal): programs reach them, so we define them too. */
int __open_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t bsd_signal(int sig, sighandler_t h);

/* Interposed symbols are the only ones the preload exports. */
#define EXPORT __attribute__((visibility("default")))

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* make tsan-test only: ThreadSanitizer's runtime calls mmap, munmap, mprotect, mremap and
 * close from inside itself, during its start-up before its per-thread state exists (the
 * instrumented sys_* code then crashed every program) and from its symboliser (where the
 * driver's instrumented code would report its own lock and deadlock). Such calls go straight
 * to libc. Its sigaction calls do not: its handlers are the program's to the emulator, and
 * that path (host/signal.c, host/uaccess.c) is not instrumented. */
#ifdef SGXEMU_TSAN
static bool from_sanitizer(const void *ret)
{
	Dl_info di;

	return dladdr(ret, &di) && di.dli_fname && strstr(di.dli_fname, "libtsan");
}
#define SANITIZER_PASSTHROUGH(call)                                                              \
	do {                                                                                       \
		if (from_sanitizer(__builtin_return_address(0)))                                   \
			return call;                                                               \
	} while (0)
#else
#define SANITIZER_PASSTHROUGH(call) do { } while (0)
#endif

long host_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static void *host_ret_ptr(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	return (void *)r;
}

/* ---- files ---- */

static unsigned open_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, unsigned) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	unsigned mode;

	long r;

	REAL(open);
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (cpuinfo_wants(AT_FDCWD, path, flags))
		return (int)host_ret(cpuinfo_open(flags));
	r = sys_open_path(path, flags);
	return r == SYS_PASS ? real_open(path, flags, mode) : (int)host_ret(r);
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	unsigned mode;

	long r;

	REAL(openat);
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (cpuinfo_wants(dirfd, path, flags))
		return (int)host_ret(cpuinfo_open(flags));
	r = sys_open_path(path, flags);
	return r == SYS_PASS ? real_openat(dirfd, path, flags, mode) : (int)host_ret(r);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

EXPORT int __open_2(const char *path, int flags)
{
	long r;

	REAL(__open_2);
	if (cpuinfo_wants(AT_FDCWD, path, flags))
		return (int)host_ret(cpuinfo_open(flags));
	r = sys_open_path(path, flags);
	return r == SYS_PASS ? real___open_2(path, flags) : (int)host_ret(r);
}

EXPORT int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	long r;

	REAL(__openat_2);
	if (cpuinfo_wants(dirfd, path, flags))
		return (int)host_ret(cpuinfo_open(flags));
	r = sys_open_path(path, flags);
	return r == SYS_PASS ? real___openat_2(dirfd, path, flags) : (int)host_ret(r);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags) __attribute__((alias("__openat_2")));

EXPORT int creat(const char *path, mode_t mode)
{
	long r = sys_open_path(path, O_CREAT | O_WRONLY | O_TRUNC);

	REAL(creat);
	return r == SYS_PASS ? real_creat(path, mode) : (int)host_ret(r);
}

EXPORT int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

EXPORT int stat(const char *path, struct stat *st)
{
	long r;

	REAL(stat);
	return sys_dev_stat(path, st, &r) ? (int)r : real_stat(path, st);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	long r;

	REAL(lstat);
	return sys_dev_stat(path, st, &r) ? (int)r : real_lstat(path, st);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	long r;

	REAL(fstatat);
	return sys_dev_stat(path, st, &r) ? (int)r : real_fstatat(dirfd, path, st, flags);
}

EXPORT int stat64(const char *path, struct stat64 *st) __attribute__((alias("stat")));
EXPORT int lstat64(const char *path, struct stat64 *st) __attribute__((alias("lstat")));
EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) __attribute__((alias("fstatat")));

EXPORT int access(const char *path, int mode)
{
	long r;

	REAL(access);
	return sys_dev_access(path, mode, 0, &r) ? (int)host_ret(r) : real_access(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	long r;

	REAL(faccessat);
	return sys_dev_access(path, mode, flags, &r) ? (int)host_ret(r)
						     : real_faccessat(dirfd, path, mode, flags);
}

EXPORT int close(int fd)
{
	long r;

	REAL(close);
	SANITIZER_PASSTHROUGH(real_close(fd));
	r = sys_close(fd);
	return r == SYS_PASS ? real_close(fd) : (int)host_ret(r);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	return (int)host_ret(sys_close_range(first, last, (unsigned)flags));
}

/* glibc's closefrom uses close_range underneath, out of our sight. */
EXPORT void closefrom(int lowfd)
{
	REAL(closefrom);
	if (lowfd < 0 || sys_close_range((unsigned)lowfd, ~0U, 0))
		real_closefrom(lowfd);
}

EXPORT int dup(int fd)
{
	long r = sys_dup(fd);

	REAL(dup);
	return r == SYS_PASS ? real_dup(fd) : (int)host_ret(r);
}

EXPORT int dup2(int oldfd, int newfd)
{
	long r = sys_dup2(oldfd, newfd);

	REAL(dup2);
	return r == SYS_PASS ? real_dup2(oldfd, newfd) : (int)host_ret(r);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	long r = sys_dup3(oldfd, newfd, flags);

	REAL(dup3);
	return r == SYS_PASS ? real_dup3(oldfd, newfd, flags) : (int)host_ret(r);
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	unsigned long arg;

	long r;

	REAL(fcntl);
	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	r = sys_fcntl(fd, cmd, arg);
	return r == SYS_PASS ? real_fcntl(fd, cmd, arg) : (int)host_ret(r);
}

EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	unsigned long arg;

	long r;

	REAL(ioctl);
	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	r = sys_ioctl(fd, req, arg);
	return r == SYS_PASS ? real_ioctl(fd, req, arg) : (int)host_ret(r);
}

/* ---- memory ---- */

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r;

	REAL(mmap);
	SANITIZER_PASSTHROUGH(real_mmap(addr, len, prot, flags, fd, off));
	r = sys_mmap((uintptr_t)addr, len, prot, flags, fd, (uint64_t)off);
	return r == SYS_PASS ? real_mmap(addr, len, prot, flags, fd, off) : host_ret_ptr(r);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	long r;

	REAL(munmap);
	SANITIZER_PASSTHROUGH(real_munmap(addr, len));
	r = sys_munmap((uintptr_t)addr, len);
	return r == SYS_PASS ? real_munmap(addr, len) : (int)host_ret(r);
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	long r;

	REAL(mprotect);
	SANITIZER_PASSTHROUGH(real_mprotect(addr, len, prot));
	r = sys_mprotect((uintptr_t)addr, len, prot);
	return r == SYS_PASS ? real_mprotect(addr, len, prot) : (int)host_ret(r);
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	long r = sys_madvise((uintptr_t)addr, len, advice);

	REAL(madvise);
	return r == SYS_PASS ? real_madvise(addr, len, advice) : (int)host_ret(r);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	va_list ap;
	void *new_addr;

	long r;

	REAL(mremap);
	va_start(ap, flags);
	new_addr = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
	va_end(ap);
	SANITIZER_PASSTHROUGH(real_mremap(old, old_len, new_len, flags, new_addr));
	r = sys_mremap((uintptr_t)old, old_len, new_len, flags, (uintptr_t)new_addr);
	return r == SYS_PASS ? real_mremap(old, old_len, new_len, flags, new_addr) : host_ret_ptr(r);
}

/* ---- the raw entry libc offers ---- */

/* syscall(3): the calls we answer go to the same table the seccomp trap uses. */
EXPORT long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	long r;

	REAL(syscall);
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	r = host_active ? sys_answer(nr, a, NULL) : SYS_PASS;
	return r == SYS_PASS ? real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) : host_ret(r);
}

/* ---- loading code ---- */

/* Code loaded later may make system calls without libc (the filter's "auto" setting). */
EXPORT void *dlopen(const char *file, int mode)
{
	void *h;

	REAL(dlopen);
	h = real_dlopen(file, mode);
	if (h)
		filter_consider();
	return h;
}

EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	void *h;

	REAL(dlmopen);
	h = real_dlmopen(lmid, file, mode);
	if (h)
		filter_consider();
	return h;
}

/* ---- vDSO ---- */

/* Our image, mapped on first use: a library constructor that runs before ours (the Intel
 * SDK's urts) may be the first to ask. Where the auxv on the stack could be changed this
 * answers what glibc's getauxval would; this also covers a process without one. */
EXPORT unsigned long getauxval(unsigned long type)
{
	uintptr_t ours = type == AT_SYSINFO_EHDR ? vdso_published() : 0;

	REAL(getauxval);
	return ours ? ours : real_getauxval(type);
}

/* ---- signals ---- */

/* glibc keeps two real-time signals for itself and refuses them to the program. */
static bool libc_internal_signal(int sig)
{
	return sig == 32 || sig == 33;
}

static void kact_from_libc(const struct sigaction *a, struct ksigaction *k)
{
	memset(k, 0, sizeof(*k));
	k->handler = (uint64_t)(uintptr_t)a->sa_handler;
	/* As glibc's sigaction fills it in: the program's view then matches what it would
	 * read back without us. */
	k->flags = (uint64_t)(unsigned)a->sa_flags | SA_RESTORER;
	k->restorer = (uint64_t)(uintptr_t)sgxemu_restore_rt;
	memcpy(&k->mask, &a->sa_mask, sizeof(k->mask));
}

static void kact_to_libc(const struct ksigaction *k, struct sigaction *a)
{
	memset(a, 0, sizeof(*a));
	a->sa_handler = (void (*)(int))(uintptr_t)k->handler;
	a->sa_flags = (int)k->flags;
	a->sa_restorer = (void (*)(void))(uintptr_t)k->restorer;
	memcpy(&a->sa_mask, &k->mask, sizeof(k->mask));
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct ksigaction k, ko;
	long r;

	if (libc_internal_signal(sig))
		return (int)host_ret(-EINVAL);
	if (act)
		kact_from_libc(act, &k);
	r = sys_rt_sigaction(sig, act ? &k : NULL, old ? &ko : NULL, 8);
	if (r == 0 && old)
		kact_to_libc(&ko, old);
	return (int)host_ret(r);
}

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

static sighandler_t signal_with(int sig, sighandler_t h, int flags, bool mask_self)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (mask_self && sig > 0 && sig < NSIG)
		sigaddset(&sa.sa_mask, sig);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

/* BSD semantics, as glibc's signal(): restart, the signal blocked in its handler. */
EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return signal_with(sig, h, SA_RESTART, true);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return signal_with(sig, h, SA_RESTART, true);
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return signal_with(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

static long sigmask_call(int how, const sigset_t *set, sigset_t *old)
{
	uint64_t s = 0, o = 0;
	long r;

	if (set) {
		memcpy(&s, set, sizeof(s));
		if (how != SIG_UNBLOCK)
			s &= ~(SIGBIT(32) | SIGBIT(33));
	}
	r = sys_rt_sigprocmask(how, set ? &s : NULL, old ? &o : NULL, 8);
	if (r == 0 && old) {
		sigemptyset(old);
		memcpy(old, &o, sizeof(o));
	}
	return r;
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return (int)host_ret(sigmask_call(how, set, old));
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return (int)-sigmask_call(how, set, old);
}

EXPORT int sigpending(sigset_t *set)
{
	uint64_t p = 0;
	long r = sys_rt_sigpending(&p, 8);

	if (r == 0) {
		sigemptyset(set);
		memcpy(set, &p, sizeof(p));
	}
	return (int)host_ret(r);
}

/* ---- threads ---- */

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	uint64_t soft_blocked;
};

static void *thread_start(void *p)
{
	struct thread_start s = *(struct thread_start *)p;

	free(p);
	/* Linux gives a new thread its creator's signal mask: our part of it too. */
	signal_thread_inherit(s.soft_blocked);
	return s.fn(s.arg);
}

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	struct thread_rec *t = host_active ? thread_self() : NULL;
	struct thread_start *s;
	int r;

	REAL(pthread_create);
	if (!t || !(s = malloc(sizeof(*s))))
		return real_pthread_create(th, attr, fn, arg);
	*s = (struct thread_start){ fn, arg, t->soft_blocked };
	r = real_pthread_create(th, attr, thread_start, s);
	if (r)
		free(s);
	return r;
}

/* ---- /proc/cpuinfo (host/cpuinfo.c) ---- */

/* glibc's fopen opens with an internal system call, not through open: stdio needs its own
 * entry. */
EXPORT FILE *fopen(const char *path, const char *mode)
{
	FILE *f;
	int fd;

	REAL(fopen);
	if (!cpuinfo_wants_stdio(path, mode))
		return real_fopen(path, mode);
	fd = (int)host_ret(cpuinfo_open(strchr(mode, 'e') ? O_CLOEXEC : 0));
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return f;
}

EXPORT FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));
