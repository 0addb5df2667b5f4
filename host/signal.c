/* Signals shared with the program. For the signals the emulator traps (SIGILL, SIGSEGV,
 * SIGBUS, SIGFPE, SIGTRAP) our handler stays installed; the program's own disposition is kept
 * here, reported back by sigaction/signal, and honoured when a signal is not ours. */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"
#include "util/rawsys.h"
#include "util/trace.h"

static const int trapped[] = { SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP };
static struct sigaction prog_act[NSIG];
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

bool signal_is_ours(int sig)
{
	if (sig == SGXEMU_IPI_SIGNAL)
		return host_active;
	for (unsigned i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++)
		if (trapped[i] == sig)
			return host_active;
	return false;
}

int signal_program_action(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (old)
		*old = prog_act[sig];
	if (act)
		prog_act[sig] = *act;
	return 0;
}

/* Any other signal with a handler: the kernel runs our wrapper, with the program's own mask
 * and flags, so a signal that arrives in enclave mode first takes the AEX hardware would take
 * (the handler then sees the AEP context, with the host's FS/GS bases). On an alternate stack:
 * the enclave's stack is not the program's. */
int signal_async_action(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction sa;
	int r;

	if (!act || act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN) {
		r = real_sigaction(sig, act, old);
		if (!r && act)
			prog_act[sig] = *act;
		if (!r && old && prog_act[sig].sa_handler != SIG_DFL &&
		    prog_act[sig].sa_handler != SIG_IGN && old->sa_sigaction == async_signal_handler)
			*old = prog_act[sig];
		return r;
	}
	sa = *act;
	sa.sa_sigaction = async_signal_handler;
	sa.sa_flags |= SA_SIGINFO | SA_ONSTACK;
	r = real_sigaction(sig, &sa, old);
	if (r)
		return r;
	if (old && old->sa_sigaction == async_signal_handler)
		*old = prog_act[sig];
	prog_act[sig] = *act;
	return 0;
}

void signal_call_program(int sig, siginfo_t *si, void *uc)
{
	struct sigaction a = prog_act[sig];

	/* The kernel already applied the program's mask and SA_RESETHAND. */
	if (a.sa_flags & SA_RESETHAND) {
		prog_act[sig].sa_handler = SIG_DFL;
		prog_act[sig].sa_flags &= ~SA_SIGINFO;
	}
	if (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN)
		return;
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
}

void signal_install(void)
{
	struct sigaction sa;

#ifdef SGXEMU_TSAN
	/* ThreadSanitizer wraps every handler installed through its sigaction interceptor (the
	 * one RTLD_NEXT finds) in code that needs the host FS base: ours must reach the kernel
	 * through libc's own sigaction (make tsan-test). */
	real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))
		dlsym(dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY), "sigaction");
#else
	real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))
		dlsym(RTLD_NEXT, "sigaction");
#endif
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trap_handler;
	/* All signals blocked while we run: the program's handlers must never see a half-
	 * switched thread (enclave FS/GS base, emulator locks held). */
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	for (unsigned i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++)
		real_sigaction(trapped[i], &sa, &prog_act[trapped[i]]);
	sa.sa_sigaction = ipi_handler;
	real_sigaction(SGXEMU_IPI_SIGNAL, &sa, &prog_act[SGXEMU_IPI_SIGNAL]);
}

static void kmask(int how, const uint64_t *set, uint64_t *old)
{
	raw_syscall4(SYS_rt_sigprocmask, how, set, old, sizeof(uint64_t));
}

void signal_deliver(int sig, siginfo_t *si, void *ucv)
{
	struct sigaction a = prog_act[sig];
	ucontext_t *uc = ucv;
	uint64_t mask, saved;
	uint64_t bit = 1ULL << (sig - 1);

	if (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN) {
		/* A synchronous fault cannot be ignored: the kernel forces the default action.
		 * Re-raise with the default disposition; it arrives once we return. */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		real_sigaction(sig, &dfl, NULL);
		memcpy(&mask, &uc->uc_sigmask, sizeof(mask));
		mask &= ~bit;
		memcpy(&uc->uc_sigmask, &mask, sizeof(mask));
		raw_syscall3(SYS_tgkill, raw_syscall0(SYS_getpid), raw_gettid(), sig);
		return;
	}
	/* The mask the kernel would set for the program's handler: the interrupted mask plus
	 * sa_mask, plus the signal itself unless SA_NODEFER. */
	memcpy(&mask, &uc->uc_sigmask, sizeof(mask));
	{
		uint64_t extra;

		memcpy(&extra, &a.sa_mask, sizeof(extra));
		mask |= extra;
	}
	if (a.sa_flags & SA_NODEFER)
		mask &= ~bit;
	else
		mask |= bit;
	if (a.sa_flags & SA_RESETHAND) {
		prog_act[sig].sa_handler = SIG_DFL;
		prog_act[sig].sa_flags &= ~SA_SIGINFO;
	}
	kmask(SIG_SETMASK, &mask, &saved);
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, si, uc);
	else
		a.sa_handler(sig);
	kmask(SIG_SETMASK, &saved, NULL);
}
