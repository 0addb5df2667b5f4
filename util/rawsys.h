/* Raw system calls: no errno (it lives in TLS, which may be the enclave's or missing), no
 * libc. Every one goes through raw_syscall_fn: the preload points it at its syscall gate (the
 * only instruction its seccomp filter lets through untouched, host/gate.c); until then, and in
 * programs without the preload (tests, the CLI), it is a plain SYSCALL. */
#ifndef SGXEMU_UTIL_RAWSYS_H
#define SGXEMU_UTIL_RAWSYS_H

#include <sys/syscall.h>

typedef long raw_syscall_t(long n, long a, long b, long c, long d, long e, long f);

/* A plain SYSCALL instruction with the C calling convention. */
raw_syscall_t raw_syscall_local;
extern raw_syscall_t *raw_syscall_fn;

static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	return raw_syscall_fn(n, a, b, c, d, e, f);
}

#define raw_syscall0(n) raw_syscall6((n), 0, 0, 0, 0, 0, 0)
#define raw_syscall1(n, a) raw_syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define raw_syscall2(n, a, b) raw_syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define raw_syscall3(n, a, b, c) raw_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw_syscall4(n, a, b, c, d) \
	raw_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define raw_syscall5(n, a, b, c, d, e) \
	raw_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static inline long raw_gettid(void)
{
	return raw_syscall0(SYS_gettid);
}

/* -4095..-1 is an error in the kernel's return convention. */
static inline int raw_is_err(long r)
{
	return r < 0 && r > -4096;
}

#endif
