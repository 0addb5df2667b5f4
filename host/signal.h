/* Who owns the process's signals (host/signal.c). The kernel sees sgxemu's handlers for the
 * signals the emulator needs and wrappers around the program's handlers for the others; the
 * program sees its own dispositions and masks, kept here in software where they differ. */
#ifndef SGXEMU_HOST_SIGNAL_H
#define SGXEMU_HOST_SIGNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "host/thread.h"

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64. */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};
_Static_assert(sizeof(struct ksigaction) == 32, "rt_sigaction ABI");

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

#define SIGBIT(sig) (1ULL << ((sig) - 1))
/* The signals the emulator depends on and keeps unblocked in the real mask: the traps (ENCLU,
 * enclave exceptions, faults on enclave memory), SIGSYS (the syscall filter) and the signal
 * that stands in for the kernel's IPIs. The program's mask for them lives in software. */
#define SIGNAL_KEPT                                                                                \
	(SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) |    \
	 SIGBIT(SIGSYS) | SIGBIT(SGXEMU_IPI_SIGNAL_NR))
/* SIGRTMAX is 64 on Linux x86-64 (glibc's SIGRTMAX macro is a function call). */
#define SGXEMU_IPI_SIGNAL_NR 64

/* Install our handlers (adopting whatever the program or its libraries installed before us as
 * the program's) and move kept signals found blocked into the software mask. */
void signal_install(void);
/* The environment entries that carry the program's view of the kept signals across execve
 * (mask and ignored ones), as the kernel carries the mask and SIG_IGN dispositions. Writes
 * up to len bytes of "NAME=VALUE\0NAME=VALUE\0" into buf; returns the length used. */
unsigned signal_exec_env(char *buf, unsigned len);

/* rt_sigaction, rt_sigprocmask and rt_sigpending as the program sees them (kernel ABI:
 * return 0 or -errno). */
long sys_rt_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old, long setsize);
long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old, long setsize);
long sys_rt_sigpending(uint64_t *set, long setsize);
/* The program's current mask (real and software parts). */
uint64_t signal_program_mask(struct thread_rec *t);
/* A child thread inherits its creator's software mask (pthread_create's wrapper). */
void signal_thread_inherit(uint64_t soft_blocked);

/* Our handlers bracket their work with these: enter notes that the thread runs emulator code
 * (and forgets program handlers that were left by a longjmp); leave re-raises kept signals the
 * program has unblocked meanwhile. Async-signal-safe. */
void signal_enter(struct thread_rec *t, const ucontext_t *uc);
void signal_leave(struct thread_rec *t);

/* Deliver sig to the program as the kernel would, from one of our handlers: its handler (with
 * its mask and flags), the default action, nothing if ignored, or held pending while its
 * software mask blocks it. forced: a fault the thread caused (the kernel's force_sig: blocked
 * or ignored means the default action). Async-signal-safe. */
void signal_deliver(int sig, siginfo_t *si, ucontext_t *uc, bool forced);

/* Our handlers, installed on the real dispositions. */
void trap_handler(int sig, siginfo_t *si, void *uc);     /* host/trap.c */
void ipi_handler(int sig, siginfo_t *si, void *uc);      /* host/trap.c */
void async_signal_handler(int sig, siginfo_t *si, void *uc); /* host/trap.c */
void sys_trap_handler(int sig, siginfo_t *si, void *uc); /* host/sys_trap.c */

/* rt_sigreturn for handlers we install ourselves (host/sys_tramp.S). */
void sgxemu_restore_rt(void);

#endif
