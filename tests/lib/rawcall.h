/* System calls made the way runtimes like Gramine make them: a SYSCALL instruction in the
 * program's own code, never through libc (so no interposed symbol sees them). rawcall*
 * return the kernel's value (-errno on failure); the raw_* wrappers follow libc's convention
 * so they can stand in for libc functions (struct encl_sys). */
#ifndef SGXEMU_TESTS_RAWCALL_H
#define SGXEMU_TESTS_RAWCALL_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>

static inline long rawcall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

#define rawcall(n, a, b, c) rawcall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline long raw_libc_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static inline int raw_open(const char *path, int flags, ...)
{
	va_list ap;
	long mode;

	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	return (int)raw_libc_ret(rawcall(SYS_open, path, flags, mode));
}

static inline int raw_close(int fd)
{
	return (int)raw_libc_ret(rawcall(SYS_close, fd, 0, 0));
}

static inline int raw_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	long arg;

	va_start(ap, req);
	arg = va_arg(ap, long);
	va_end(ap);
	return (int)raw_libc_ret(rawcall(SYS_ioctl, fd, req, arg));
}

static inline void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = rawcall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);

	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	return (void *)r;
}

static inline int raw_munmap(void *addr, size_t len)
{
	return (int)raw_libc_ret(rawcall(SYS_munmap, addr, len, 0));
}

#endif
