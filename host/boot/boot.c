/* The boot shim: an LD_AUDIT module that the dynamic loader runs before anything else in an
 * image (before its libraries' constructors, before the preload's). A process whose parent
 * turned sgxemu's seccomp filter on inherits the filter across execve, but not the SIGSYS
 * handler: a filtered call made by the loader or by a constructor that runs before the
 * preload's (ASan's, say) would kill it. The shim maps the syscall gate and passes such calls
 * through to the kernel until the preload takes over SIGSYS. Freestanding: no libc, no TLS,
 * nothing that could itself be filtered except through the gate. */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "host/gate.h"

#define SYS_SECCOMP_CODE 1

struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

typedef long gate_fn(long n, long a, long b, long c, long d, long e, long f);
#define GATE ((gate_fn *)(GATE_ADDR + GATE_FN_OFF))

/* A SYSCALL of our own, used only until the gate exists (and for calls never filtered). */
static long plain_syscall6(long n, long a, long b, long c, long d, long e, long f)
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

static int map_gate(void)
{
	static const unsigned char code[] = GATE_CODE_BYTES;
	long p = plain_syscall6(SYS_mmap, GATE_ADDR, GATE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != (long)GATE_ADDR)
		return -1;
	for (size_t i = 0; i < sizeof(code); i++)
		((volatile unsigned char *)GATE_ADDR)[i] = code[i];
	return plain_syscall6(SYS_mprotect, GATE_ADDR, GATE_SIZE, PROT_READ | PROT_EXEC, 0, 0, 0) ? -1
													     : 0;
}

static void boot_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	long nr = si->si_syscall, a0 = g[REG_RDI], a1 = g[REG_RSI];
	uint64_t set;

	if (si->si_code != SYS_SECCOMP_CODE) {
		/* A SIGSYS of the program's before any handler of its own: the default action. */
		struct ksigaction dfl = { 0, 0, 0, 0 };

		GATE(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
		GATE(SYS_tgkill, GATE(SYS_getpid, 0, 0, 0, 0, 0, 0), GATE(SYS_gettid, 0, 0, 0, 0, 0, 0),
		     sig, 0, 0, 0);
		return;
	}
	/* rt_sigprocmask from a handler is undone by its rt_sigreturn: the mask to change is the
	 * one in the frame. Blocking SIGSYS would make the next trap fatal: the preload keeps the
	 * program's mask for it in software once it runs. */
	if (nr == SYS_rt_sigprocmask && g[REG_R10] == 8) {
		uint64_t cur, next;

		for (unsigned i = 0; i < 8; i++)
			((unsigned char *)&cur)[i] = ((const unsigned char *)&uc->uc_sigmask)[i];
		next = cur;
		if (a1) {
			set = *(const uint64_t *)a1;
			if (a0 == SIG_BLOCK)
				next = cur | set;
			else if (a0 == SIG_UNBLOCK)
				next = cur & ~set;
			else if (a0 == SIG_SETMASK)
				next = set;
			else {
				g[REG_RAX] = -22; /* EINVAL */
				return;
			}
		}
		next &= ~((1ULL << (SIGSYS - 1)) | (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
		if (g[REG_RDX])
			*(uint64_t *)g[REG_RDX] = cur;
		for (unsigned i = 0; i < 8; i++)
			((unsigned char *)&uc->uc_sigmask)[i] = ((const unsigned char *)&next)[i];
		g[REG_RAX] = 0;
		return;
	}
	/* Our SIGSYS handler stays until the preload replaces it. */
	if (nr == SYS_rt_sigaction && a0 == SIGSYS && a1) {
		g[REG_RAX] = 0;
		return;
	}
	g[REG_RAX] = GATE(nr, a0, a1, g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
}

unsigned int la_version(unsigned int version) __attribute__((visibility("default")));

unsigned int la_version(unsigned int version)
{
	/* Only a process that inherited a filter needs the shim. */
	if (plain_syscall6(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0, 0) == 2 && map_gate() == 0) {
		struct ksigaction sa = {
			.handler = (uint64_t)(uintptr_t)boot_sigsys,
			.flags = SA_SIGINFO | SA_NODEFER | 0x04000000 /* SA_RESTORER */,
			.restorer = GATE_ADDR + GATE_RESTORER_OFF,
			.mask = 0,
		};

		GATE(SYS_rt_sigaction, SIGSYS, (long)&sa, 0, 8, 0, 0);
	}
	return version;
}
