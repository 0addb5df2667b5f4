/* SIGSYS: a system call the seccomp filter trapped (host/filter.c). The handler does as little
 * as it can: it sends the thread to the trampoline (host/trap_tramp.S), which runs the call
 * through sys_dispatch in the thread's normal context -- on its own stack, with its own signal
 * mask, as the interposed libc function would run -- and returns to the instruction after the
 * SYSCALL with the result in RAX and every other register, flags and vector state included,
 * as they were (RCX and R11 as SYSRET leaves them). Built like the other trap paths (no stack protector, no sanitizers). */
#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <ucontext.h>

#include "host/filter.h"
#include "host/host.h"
#include "host/signal.h"
#include "host/sys.h"
#include "host/thread.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

void sgxemu_sys_tramp(void);
/* Read by the trampoline: how much XSAVE state to keep, and which components. */
uint64_t sgxemu_xsave_size __attribute__((visibility("hidden")));
uint64_t sgxemu_xsave_mask __attribute__((visibility("hidden")));
/* TLS lent to a thread that has none (FS base 0) while it runs the call: the main thread's,
 * as a raw clone without CLONE_SETTLS would have inherited it. */
static uint64_t main_tls;

int trap_syscall_init(void)
{
	unsigned a, b, c, d;

	__cpuid(1, a, b, c, d);
	if (!(c & bit_OSXSAVE))
		return -ENOSYS;
	__cpuid_count(0xd, 0, a, b, c, d);
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	sgxemu_xsave_size = b;
	sgxemu_xsave_mask = ((uint64_t)d << 32) | a;
	main_tls = fs_base_get();
	return 0;
}

/* AddressSanitizer's, when the process has it (a weak reference: NULL otherwise). */
void __asan_unpoison_memory_region(void const volatile *addr, size_t size)
	__attribute__((weak, visibility("default")));

/* The trampoline's frame: child_rsp, nr, six arguments, RBP, RBX, RCX, RFLAGS. */
#define TRAMP_FRAME_BYTES (12 * 8)

long sgxemu_sys_enter(long nr, const long *args, uint64_t *child_rsp);
long sgxemu_sys_enter(long nr, const long *args, uint64_t *child_rsp)
{
	bool lent = false;
	long r;

	/* The trampoline wrote its frame (the arguments, and the slot a fork-like clone's
	 * child_rsp goes in) with plain pushes, which AddressSanitizer does not see, and
	 * sys_dispatch, instrumented in sanitizer builds, reads and writes it. The stack
	 * below a thread's innermost instrumented frame is normally unpoisoned, but not
	 * always: in a forked child, glibc hands the stacks of the parent's other threads
	 * (which do not exist in the child) to new threads, with the shadow they had at the
	 * fork (the redzones of frames then live), and a new thread's first system calls
	 * (glibc's start_thread restoring the signal mask) come here before the sanitizer's
	 * thread start clears its stack's shadow. The frame is live memory: say so. Only
	 * shadow stores: async-signal-safe. */
	if (__asan_unpoison_memory_region)
		__asan_unpoison_memory_region(child_rsp, TRAMP_FRAME_BYTES);
	if (fs_base_get() == 0 && main_tls) {
		fs_base_set(main_tls);
		lent = true;
	}
	r = sys_dispatch(nr, args, child_rsp);
	if (lent)
		fs_base_set(0);
	return r;
}

void sys_trap_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct thread_rec *t = thread_self();

	(void)sig;
	if (si->si_code != SYS_SECCOMP || si->si_errno != FILTER_TAG) {
		trap_program_sigsys(t, si, uc);
		return;
	}
	filter_count_trap();
	if (t && t->lp.in_enclave) {
		trap_enclave_syscall(t, si, uc);
		return;
	}
	/* Nothing is written to the interrupted stack here (the signal frame is there): the
	 * trampoline gets the return address in RCX, which the SYSCALL clobbers anyway. */
	g[REG_RCX] = g[REG_RIP];
	g[REG_RAX] = si->si_syscall;
	g[REG_RIP] = (greg_t)(uintptr_t)sgxemu_sys_tramp;
}
