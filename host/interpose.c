/* The one list of libc symbols the preload interposes. Each entry only decodes arguments and
 * calls the driver (driver/) or the host modules; everything else goes to the real libc. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "driver/virt.h"
#include "host/host.h"
#include "host/vdso.h"
#include "util/trace.h"

/* Interposed symbols are the only ones the preload exports. */
#define EXPORT __attribute__((visibility("default")))

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* make tsan-test only: ThreadSanitizer's symboliser maps, unmaps and closes files from inside
 * its runtime, where the driver's instrumented code sees its own lock as a race and the
 * nested report deadlocks. Such calls go straight to libc. */
#ifdef SGXEMU_TSAN
static bool from_sanitizer(const void *ret)
{
	Dl_info di;

	return dladdr(ret, &di) && di.dli_fname && strstr(di.dli_fname, "libtsan");
}
#define SANITIZER_PASSTHROUGH(call) \
	do { \
		if (from_sanitizer(__builtin_return_address(0))) \
			return call; \
	} while (0)
#else
#define SANITIZER_PASSTHROUGH(call) do { } while (0)
#endif

long host_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* ---- device files ---- */

/* /dev/sgx_provision is root:GROUP with a configured mode (docs/keys.md); who may open it
 * is decided as the VFS decides for such a node, with the effective ids for open and the
 * real ones for access(2). */
static bool provision_permitted(int want, bool effective)
{
	gid_t gid = config_provision_gid(&host_cfg), *groups = NULL;
	bool in = (effective ? getegid() : getgid()) == gid;
	int n = in ? 0 : getgroups(0, NULL);

	if (n > 0 && (groups = malloc((size_t)n * sizeof(*groups)))) {
		n = getgroups(n, groups);
		for (int i = 0; i < n && !in; i++)
			in = groups[i] == gid;
		free(groups);
	}
	return config_provision_access(&host_cfg, effective ? geteuid() : getuid(), in, want);
}

static int open_want(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return W_OK;
	case O_RDWR:
		return R_OK | W_OK;
	default:
		return R_OK;
	}
}

static int dev_open(enum sgx_file_kind kind, int flags)
{
	struct sgx_file *f;
	int fd, err = 0, r;

	REAL(open);
	if (kind == SGX_FILE_PROVISION && !provision_permitted(open_want(flags), true)) {
		TRACE("open /dev/sgx_provision: EACCES (mode %03o, group %s)",
		      host_cfg.provision_mode, host_cfg.provision_group);
		return (int)host_ret(-EACCES);
	}
	r = mem_platform_up();
	if (r)
		return (int)host_ret(r);
	f = sgx_open(kind, &err);
	if (!f)
		return (int)host_ret(err);
	/* A vEPC's open mode decides what may be mapped: the fd keeps it. */
	fd = real_open("/dev/null", (kind == SGX_FILE_VEPC ? flags & O_ACCMODE : O_RDWR) |
					    (flags & O_CLOEXEC));
	if (fd < 0) {
		sgx_file_put(f);
		return -1;
	}
	fd_install(fd, f);
	TRACE("open %s -> fd %d", kind == SGX_FILE_ENCLAVE ? "/dev/sgx_enclave" :
				  kind == SGX_FILE_VEPC ? "/dev/sgx_vepc" : "/dev/sgx_provision", fd);
	return fd;
}

static enum sgx_file_kind device_at(int dirfd, const char *path)
{
	(void)dirfd; /* the device paths we answer are absolute */
	return host_active ? fd_device_of(path) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	enum sgx_file_kind k = device_at(AT_FDCWD, path);
	mode_t mode = 0;

	REAL(open);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return k ? dev_open(k, flags) : real_open(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	enum sgx_file_kind k = device_at(dirfd, path);
	mode_t mode = 0;

	REAL(openat);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return k ? dev_open(k, flags) : real_openat(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

EXPORT int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

EXPORT int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

/* The device nodes look like character devices to programs that probe for SGX. */
static int dev_stat(enum sgx_file_kind k, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | (k == SGX_FILE_PROVISION ? host_cfg.provision_mode : 0666);
	if (k == SGX_FILE_PROVISION)
		st->st_gid = config_provision_gid(&host_cfg);
	st->st_rdev = makedev(10, k == SGX_FILE_ENCLAVE ? 125 : 126);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_dev = makedev(0, 5);
	st->st_ino = 1000 + (ino_t)k;
	return 0;
}

EXPORT int stat(const char *path, struct stat *st)
{
	enum sgx_file_kind k = device_at(AT_FDCWD, path);

	REAL(stat);
	return k ? dev_stat(k, st) : real_stat(path, st);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	enum sgx_file_kind k = device_at(AT_FDCWD, path);

	REAL(lstat);
	return k ? dev_stat(k, st) : real_lstat(path, st);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	enum sgx_file_kind k = device_at(dirfd, path);

	REAL(fstatat);
	return k ? dev_stat(k, st) : real_fstatat(dirfd, path, st, flags);
}

EXPORT int stat64(const char *path, struct stat64 *st) __attribute__((alias("stat")));
EXPORT int lstat64(const char *path, struct stat64 *st) __attribute__((alias("lstat")));
EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) __attribute__((alias("fstatat")));

static int dev_access(enum sgx_file_kind k, int mode, bool effective)
{
	if (mode & X_OK)
		return (int)host_ret(-EACCES);
	if (k == SGX_FILE_PROVISION && (mode & (R_OK | W_OK)) &&
	    !provision_permitted(mode, effective))
		return (int)host_ret(-EACCES);
	return 0;
}

EXPORT int access(const char *path, int mode)
{
	enum sgx_file_kind k = device_at(AT_FDCWD, path);

	REAL(access);
	return k ? dev_access(k, mode, false) : real_access(path, mode);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	enum sgx_file_kind k = device_at(dirfd, path);

	REAL(faccessat);
	return k ? dev_access(k, mode, flags & AT_EACCESS) : real_faccessat(dirfd, path, mode, flags);
}

EXPORT int close(int fd)
{
	REAL(close);
	SANITIZER_PASSTHROUGH(real_close(fd));
	if (fd_lookup(fd))
		fd_forget(fd);
	return real_close(fd);
}

static int dup_result(int oldfd, int newfd)
{
	struct sgx_file *f = newfd >= 0 ? fd_lookup(oldfd) : NULL;

	if (f) {
		sgx_file_get(f);
		fd_install(newfd, f);
	}
	return newfd;
}

EXPORT int dup(int fd)
{
	REAL(dup);
	return dup_result(fd, real_dup(fd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	int r;

	REAL(dup2);
	r = real_dup2(oldfd, newfd);
	if (r >= 0 && oldfd != newfd) {
		fd_forget(newfd);
		dup_result(oldfd, r);
	}
	return r;
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int r;

	REAL(dup3);
	r = real_dup3(oldfd, newfd, flags);
	if (r >= 0) {
		fd_forget(newfd);
		dup_result(oldfd, r);
	}
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;
	int r;

	REAL(fcntl);
	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	r = real_fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		dup_result(fd, r);
	return r;
}

EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct sgx_file *f = fd_lookup(fd);
	va_list ap;
	unsigned long arg;

	REAL(ioctl);
	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	/* The VFS answers these before any driver sees them. */
	if (!f || req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC)
		return real_ioctl(fd, req, arg);
	return (int)host_ret(sgx_ioctl(f, req, arg, fd_lookup));
}

/* ---- memory ---- */

static unsigned vepc_fmode(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	int acc = fl < 0 ? -1 : fl & O_ACCMODE;

	return (acc == O_RDONLY || acc == O_RDWR ? VEPC_FMODE_READ : 0) |
	       (acc == O_WRONLY || acc == O_RDWR ? VEPC_FMODE_WRITE : 0);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct sgx_file *f;
	long r;

	REAL(mmap);
	SANITIZER_PASSTHROUGH(real_mmap(addr, len, prot, flags, fd, off));
	f = (flags & MAP_ANONYMOUS) ? NULL : fd_lookup(fd);
	if (f) {
		if (sgx_file_kind(f) == SGX_FILE_VEPC)
			r = sgx_vepc_mmap(f, (uintptr_t)addr, len, prot, flags, (uint64_t)off,
					  vepc_fmode(fd));
		else
			r = sgx_file_kind(f) == SGX_FILE_ENCLAVE ? sgx_mmap(f, (uintptr_t)addr, len, prot, flags) : -ENODEV;
		if (r < 0 && r > -4096) {
			errno = (int)-r;
			return MAP_FAILED;
		}
		return (void *)r;
	}
	if (host_active && (flags & MAP_FIXED) && sgx_range_is_enclave((uintptr_t)addr, len)) {
		long ignored;

		sgx_munmap((uintptr_t)addr, len, &ignored);
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	long r;

	REAL(munmap);
	SANITIZER_PASSTHROUGH(real_munmap(addr, len));
	if (host_active && sgx_munmap((uintptr_t)addr, len, &r))
		return (int)host_ret(r);
	return real_munmap(addr, len);
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	long r;

	REAL(mprotect);
	SANITIZER_PASSTHROUGH(real_mprotect(addr, len, prot));
	if (host_active && sgx_mprotect((uintptr_t)addr, len, prot, &r))
		return (int)host_ret(r);
	return real_mprotect(addr, len, prot);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	va_list ap;
	void *new_addr;

	REAL(mremap);
	va_start(ap, flags);
	new_addr = va_arg(ap, void *);
	va_end(ap);
	SANITIZER_PASSTHROUGH(real_mremap(old, old_len, new_len, flags, new_addr));
	if (host_active && sgx_range_is_enclave((uintptr_t)old, old_len)) {
		long r;

		/* VM_DONTEXPAND|VM_PFNMAP: no growing, no moving; shrinking unmaps the tail. */
		if (flags & MREMAP_DONTUNMAP) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		if (new_len > old_len || (flags & MREMAP_FIXED)) {
			errno = EFAULT;
			return MAP_FAILED;
		}
		if (new_len < old_len)
			sgx_munmap((uintptr_t)old + new_len, old_len - new_len, &r);
		return old;
	}
	return real_mremap(old, old_len, new_len, flags, new_addr);
}

/* ---- vDSO ---- */

EXPORT unsigned long getauxval(unsigned long type)
{
	REAL(getauxval);
	if (type == AT_SYSINFO_EHDR && host_active && vdso_base())
		return vdso_base();
	return real_getauxval(type);
}

/* ---- signals ---- */

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	REAL(sigaction);
	if (signal_is_ours(sig))
		return signal_program_action(sig, act, old);
	if (host_active && sig > 0 && sig < NSIG && sig != SIGKILL && sig != SIGSTOP)
		return signal_async_action(sig, act, old);
	return real_sigaction(sig, act, old);
}

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

static sighandler_t bsd_style(int sig, sighandler_t h, int flags)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (signal_is_ours(sig))
		signal_program_action(sig, &sa, &old);
	else if (signal_async_action(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	REAL(signal);
	if (signal_is_ours(sig) || (host_active && sig > 0 && sig < NSIG && sig != SIGKILL &&
				     sig != SIGSTOP))
		return bsd_style(sig, h, SA_RESTART);
	return real_signal(sig, h);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	REAL(sysv_signal);
	if (signal_is_ours(sig) || (host_active && sig > 0 && sig < NSIG && sig != SIGKILL &&
				     sig != SIGSTOP))
		return bsd_style(sig, h, SA_RESETHAND | SA_NODEFER);
	return real_sysv_signal(sig, h);
}
