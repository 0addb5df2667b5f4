/* Signals shared with the program. The kernel's dispositions are ours: the trap handlers for
 * the kept signals (SIGNAL_KEPT), and for every other signal the program handles, a wrapper
 * that takes the AEX hardware would take before running the program's handler. The program's
 * own dispositions are kept here and reported back by sigaction, however it calls it (libc or
 * a bare rt_sigaction). The kept signals are never blocked in the real mask: a thread that
 * blocks SIGSEGV must still trap its ENCLU, and the kernel never needs a signal for an ecall;
 * the program's mask for them is kept per thread in software and applied here.
 *
 * Async-signal-safety: delivery runs in our handlers; the dispositions table is read there
 * under a sequence count and written with all signals blocked (except SIGSYS, which the
 * gate-only code here never raises). */
#include "host/signal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "host/gate.h"
#include "host/host.h"
#include "host/uaccess.h"
#include "util/rawsys.h"

#define NSIG_K 64
#define ALL_BUT_SIGSYS (~SIGBIT(SIGSYS))
#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
/* How far below a program handler's signal frame its own stack use may reach while it runs;
 * a thread interrupted further away (or above the frame) has left that handler by longjmp. */
#define HANDLER_STACK_REACH (8UL << 20)

static const int kept_signals[SIGNAL_KEPT_MAX] = { SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV,
						   SIGSYS, SGXEMU_IPI_SIGNAL_NR };

static struct ksigaction prog_act[NSIG_K + 1];
static atomic_uint act_seq;     /* odd while prog_act is being written */
static atomic_int act_writer;   /* tid of the writer, 0 if none */

static bool sig_valid(int sig)
{
	return sig >= 1 && sig <= NSIG_K;
}

static bool is_kept(int sig)
{
	return sig_valid(sig) && (SIGNAL_KEPT & SIGBIT(sig));
}

static int kept_pos(int sig)
{
	for (int i = 0; i < SIGNAL_KEPT_MAX; i++)
		if (kept_signals[i] == sig)
			return i;
	return -1;
}

static long k_sigaction(int sig, const struct ksigaction *a, struct ksigaction *o)
{
	return raw_syscall4(SYS_rt_sigaction, sig, a, o, 8);
}

static long k_sigmask(int how, const uint64_t *set, uint64_t *old)
{
	return raw_syscall4(SYS_rt_sigprocmask, how, set, old, 8);
}

static uint64_t k_mask_now(void)
{
	uint64_t m = 0;

	k_sigmask(SIG_BLOCK, NULL, &m);
	return m;
}

static uint64_t uc_mask_get(const ucontext_t *uc)
{
	uint64_t m;

	memcpy(&m, &uc->uc_sigmask, sizeof(m));
	return m;
}

static void uc_mask_set(ucontext_t *uc, uint64_t m)
{
	memcpy(&uc->uc_sigmask, &m, sizeof(m));
}

/* ---- the program's dispositions ---- */

static void act_read(int sig, struct ksigaction *out)
{
	unsigned s;

	for (;;) {
		s = atomic_load_explicit(&act_seq, memory_order_acquire);
		/* A handler interrupting this thread's own write cannot wait for it. */
		if ((s & 1) && atomic_load(&act_writer) != (int)raw_gettid()) {
			raw_syscall0(SYS_sched_yield);
			continue;
		}
		out->handler = __atomic_load_n(&prog_act[sig].handler, __ATOMIC_RELAXED);
		out->flags = __atomic_load_n(&prog_act[sig].flags, __ATOMIC_RELAXED);
		out->restorer = __atomic_load_n(&prog_act[sig].restorer, __ATOMIC_RELAXED);
		out->mask = __atomic_load_n(&prog_act[sig].mask, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		if ((s & 1) || atomic_load_explicit(&act_seq, memory_order_relaxed) == s)
			return;
	}
}

/* Writers hold every signal but SIGSYS blocked (saved in *saved) and the writer slot. */
static void act_write_begin(uint64_t *saved)
{
	uint64_t all = ALL_BUT_SIGSYS;
	int self = (int)raw_gettid(), expect = 0;

	k_sigmask(SIG_SETMASK, &all, saved);
	while (!atomic_compare_exchange_weak(&act_writer, &expect, self)) {
		expect = 0;
		raw_syscall0(SYS_sched_yield);
	}
	atomic_fetch_add_explicit(&act_seq, 1, memory_order_acq_rel);
}

static void act_store(int sig, const struct ksigaction *a)
{
	__atomic_store_n(&prog_act[sig].handler, a->handler, __ATOMIC_RELAXED);
	__atomic_store_n(&prog_act[sig].flags, a->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&prog_act[sig].restorer, a->restorer, __ATOMIC_RELAXED);
	__atomic_store_n(&prog_act[sig].mask, a->mask, __ATOMIC_RELAXED);
}

static void act_write_end(const uint64_t *saved)
{
	atomic_fetch_add_explicit(&act_seq, 1, memory_order_acq_rel);
	atomic_store(&act_writer, 0);
	if (saved)
		k_sigmask(SIG_SETMASK, saved, NULL);
}

static bool handler_is_default(uint64_t h)
{
	return h == (uint64_t)(uintptr_t)SIG_DFL || h == (uint64_t)(uintptr_t)SIG_IGN;
}

/* What the kernel gets for sig when the program's disposition is a. */
static void kernel_action(int sig, const struct ksigaction *a, struct ksigaction *k)
{
	void (*fn)(int, siginfo_t *, void *) = async_signal_handler;

	memset(k, 0, sizeof(*k));
	if (!is_kept(sig) && handler_is_default(a->handler)) {
		*k = *a;
		return;
	}
	if (sig == SIGSYS)
		fn = sys_trap_handler;
	else if (sig == SGXEMU_IPI_SIGNAL_NR)
		fn = ipi_handler;
	else if (is_kept(sig))
		fn = trap_handler;
	k->handler = (uint64_t)(uintptr_t)fn;
	k->flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER | SA_RESTART;
	if (!is_kept(sig))
		k->flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER |
			   (a->flags & (SA_RESTART | SA_NOCLDSTOP | SA_NOCLDWAIT));
	k->restorer = (uint64_t)(uintptr_t)sgxemu_restore_rt;
	/* Our handlers run with everything blocked but SIGSYS: the emulator's critical paths are
	 * never interrupted by the program's signals, and a filtered call made in them traps
	 * instead of killing the process. */
	k->mask = ALL_BUT_SIGSYS;
}

static bool is_our_handler(uint64_t h)
{
	return h == (uint64_t)(uintptr_t)async_signal_handler ||
	       h == (uint64_t)(uintptr_t)trap_handler || h == (uint64_t)(uintptr_t)ipi_handler ||
	       h == (uint64_t)(uintptr_t)sys_trap_handler;
}

static uint64_t env_hex(const char *name)
{
	const char *v = getenv(name);

	return v ? strtoull(v, NULL, 16) : 0;
}

void signal_install(void)
{
	uint64_t carried_mask = env_hex("SGXEMU_SIGMASK") & SIGNAL_KEPT;
	uint64_t carried_ign = env_hex("SGXEMU_SIGIGN") & SIGNAL_KEPT;
	struct thread_rec *t = thread_self();
	uint64_t real, saved;

	unsetenv("SGXEMU_SIGMASK");
	unsetenv("SGXEMU_SIGIGN");
	act_write_begin(&saved);
	for (int sig = 1; sig <= NSIG_K; sig++) {
		struct ksigaction old, k;

		if (sig == SIGKILL || sig == SIGSTOP || k_sigaction(sig, NULL, &old))
			continue;
		if (is_our_handler(old.handler))
			continue;
		/* The boot shim's pass-through SIGSYS handler is not the program's. */
		if (sig == SIGSYS && old.restorer == GATE_ADDR + GATE_RESTORER_OFF)
			memset(&old, 0, sizeof(old));
		/* What was there before us (set by a library's constructor, or SIG_IGN kept
		 * across execve) is the program's. */
		if (is_kept(sig) && (carried_ign & SIGBIT(sig)))
			old.handler = (uint64_t)(uintptr_t)SIG_IGN;
		act_store(sig, &old);
		if (!is_kept(sig) && handler_is_default(old.handler))
			continue;
		kernel_action(sig, &old, &k);
		k_sigaction(sig, &k, NULL);
	}
	act_write_end(NULL);
	/* Kept signals found blocked (an exec'ing parent's mask) move to the software mask. */
	real = saved;
	if (t)
		t->soft_blocked = (real & SIGNAL_KEPT) | carried_mask;
	real &= ~SIGNAL_KEPT;
	k_sigmask(SIG_SETMASK, &real, NULL);
}

static unsigned put_env_hex(char *buf, unsigned len, const char *name, uint64_t v)
{
	char tmp[64];
	unsigned n = 0, d = 0;
	char digits[17];

	do {
		digits[d++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (*name && n < sizeof(tmp) - 20)
		tmp[n++] = *name++;
	tmp[n++] = '=';
	while (d)
		tmp[n++] = digits[--d];
	tmp[n++] = 0;
	if (n > len)
		return 0;
	memcpy(buf, tmp, n);
	return n;
}

unsigned signal_exec_env(char *buf, unsigned len)
{
	struct thread_rec *t = thread_self();
	uint64_t ign = 0;
	unsigned n = 0;

	for (int i = 0; i < SIGNAL_KEPT_MAX; i++) {
		struct ksigaction a;

		act_read(kept_signals[i], &a);
		if (a.handler == (uint64_t)(uintptr_t)SIG_IGN)
			ign |= SIGBIT(kept_signals[i]);
	}
	if (t && t->soft_blocked)
		n += put_env_hex(buf + n, len - n, "SGXEMU_SIGMASK", t->soft_blocked);
	if (ign)
		n += put_env_hex(buf + n, len - n, "SGXEMU_SIGIGN", ign);
	return n;
}

/* ---- sigaction, sigprocmask, sigpending ---- */

long sys_rt_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old, long setsize)
{
	struct ksigaction a, o, k;
	uint64_t saved;
	long r = 0;

	if (setsize != 8 || !sig_valid(sig))
		return -EINVAL;
	if (act && host_copy_in(&a, (uintptr_t)act, sizeof(a)))
		return -EFAULT;
	if (act && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	act_write_begin(&saved);
	act_read(sig, &o);
	if (act) {
		kernel_action(sig, &a, &k);
		if (!is_kept(sig))
			r = k_sigaction(sig, &k, NULL);
		if (r == 0) {
			act_store(sig, &a);
			/* Ignoring a signal discards it if pending (the kernel does it for the
			 * others). */
			if (is_kept(sig) && a.handler == (uint64_t)(uintptr_t)SIG_IGN) {
				struct thread_rec *t = thread_self();

				if (t)
					t->soft_pending &= ~SIGBIT(sig);
			}
		}
	}
	act_write_end(&saved);
	if (r)
		return r;
	if (old && host_copy_out((uintptr_t)old, &o, sizeof(o)))
		return -EFAULT;
	return 0;
}

/* Forget program handlers this thread has left without returning (siglongjmp): their
 * software mask goes back to what it was before them, as the jump restored the real one. */
static void signal_unwind(struct thread_rec *t, uint64_t sp)
{
	while (t->nframes) {
		const struct signal_frame *f = &t->frames[t->nframes - 1];

		if (sp < f->sp && f->sp - sp < HANDLER_STACK_REACH)
			break;
		t->soft_blocked = f->soft_before;
		t->nframes--;
	}
}

/* Queue kept signals that arrived while blocked and no longer are. They arrive once our
 * handler (if any) returns: until then everything is blocked. */
static void release_pending(struct thread_rec *t)
{
	uint64_t ready = t->soft_pending & ~t->soft_blocked;

	if (!ready)
		return;
	for (int i = 0; i < SIGNAL_KEPT_MAX; i++) {
		int sig = kept_signals[i];

		if (!(ready & SIGBIT(sig)))
			continue;
		t->soft_pending &= ~SIGBIT(sig);
		raw_syscall4(SYS_rt_tgsigqueueinfo, raw_syscall0(SYS_getpid), raw_gettid(), sig,
			     &t->pending_info[i]);
	}
}

uint64_t signal_program_mask(struct thread_rec *t)
{
	return k_mask_now() | (t ? t->soft_blocked : 0);
}

long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old, long setsize)
{
	struct thread_rec *t = thread_self();
	uint64_t s = 0, cur, next;

	if (setsize != 8)
		return -EINVAL;
	if (set && host_copy_in(&s, (uintptr_t)set, sizeof(s)))
		return -EFAULT;
	if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	if (t)
		signal_unwind(t, (uint64_t)(uintptr_t)__builtin_frame_address(0));
	cur = signal_program_mask(t);
	if (set) {
		next = how == SIG_BLOCK ? cur | s : how == SIG_UNBLOCK ? cur & ~s : s;
		next &= ~UNBLOCKABLE;
		if (t) {
			uint64_t real = next & ~SIGNAL_KEPT;

			t->soft_blocked = next & SIGNAL_KEPT;
			k_sigmask(SIG_SETMASK, &real, NULL);
			release_pending(t);
		} else {
			k_sigmask(SIG_SETMASK, &next, NULL);
		}
	}
	if (old && host_copy_out((uintptr_t)old, &cur, sizeof(cur)))
		return -EFAULT;
	return 0;
}

long sys_rt_sigpending(uint64_t *set, long setsize)
{
	struct thread_rec *t = thread_self();
	uint64_t p = 0;
	long r;

	if (setsize > 8 || setsize < 0)
		return -EINVAL;
	r = raw_syscall2(SYS_rt_sigpending, &p, 8);
	if (r)
		return r;
	if (t)
		p |= t->soft_pending;
	return host_copy_out((uintptr_t)set, &p, (size_t)setsize);
}

void signal_thread_inherit(uint64_t soft_blocked)
{
	struct thread_rec *t = thread_self();

	if (t)
		t->soft_blocked = soft_blocked & SIGNAL_KEPT;
}

/* ---- delivery ---- */

void signal_enter(struct thread_rec *t, const ucontext_t *uc)
{
	if (!t)
		return;
	signal_unwind(t, (uint64_t)uc->uc_mcontext.gregs[REG_RSP]);
	t->in_emulator++;
}

void signal_leave(struct thread_rec *t)
{
	if (!t)
		return;
	if (t->in_emulator)
		t->in_emulator--;
	release_pending(t);
}

static void hold_pending(struct thread_rec *t, int sig, const siginfo_t *si)
{
	int pos = kept_pos(sig);

	if (!t || pos < 0 || (t->soft_pending & SIGBIT(sig)))
		return; /* standard signals do not queue */
	t->pending_info[pos] = *si;
	t->soft_pending |= SIGBIT(sig);
}

/* Signals whose default action is to do nothing (signal(7)). */
static bool default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

/* The default action: let the kernel take it, with the original siginfo, once our handler
 * returns (so a core dump shows the program's state, not ours). */
static void default_action(int sig, const siginfo_t *si, ucontext_t *uc)
{
	struct ksigaction dfl;

	if (default_ignores(sig))
		return;
	memset(&dfl, 0, sizeof(dfl));
	dfl.handler = (uint64_t)(uintptr_t)SIG_DFL;
	k_sigaction(sig, &dfl, NULL);
	uc_mask_set(uc, uc_mask_get(uc) & ~SIGBIT(sig));
	raw_syscall4(SYS_rt_tgsigqueueinfo, raw_syscall0(SYS_getpid), raw_gettid(), sig, si);
}

static void reset_hand(int sig)
{
	struct ksigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.handler = (uint64_t)(uintptr_t)SIG_DFL;
	act_write_begin(NULL);
	act_store(sig, &dfl);
	act_write_end(NULL);
	if (!is_kept(sig))
		k_sigaction(sig, &dfl, NULL);
}

static void run_handler(struct thread_rec *t, int sig, siginfo_t *si, ucontext_t *uc,
			const struct ksigaction *a)
{
	uint64_t view = uc_mask_get(uc) | (t ? t->soft_blocked : 0);
	uint64_t hmask = (view | a->mask | ((a->flags & SA_NODEFER) ? 0 : SIGBIT(sig))) &
			 ~UNBLOCKABLE;
	uint64_t real = hmask & ~SIGNAL_KEPT, all = ALL_BUT_SIGSYS;
	unsigned depth = 0;

	if (a->flags & SA_RESETHAND)
		reset_hand(sig);
	if (t) {
		if (t->nframes < SIGNAL_FRAMES_MAX)
			t->frames[t->nframes++] = (struct signal_frame){
				(uint64_t)(uintptr_t)uc, t->soft_blocked };
		t->soft_blocked = hmask & SIGNAL_KEPT;
		/* The program's handler is the program's code, not the emulator's. */
		depth = t->in_emulator;
		t->in_emulator = 0;
	}
	/* The handler sees (and may change) the program's view of the interrupted mask. */
	uc_mask_set(uc, view);
	k_sigmask(SIG_SETMASK, &real, NULL);
	if (a->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(uintptr_t)a->handler)(sig, si, uc);
	else
		((void (*)(int))(uintptr_t)a->handler)(sig);
	k_sigmask(SIG_SETMASK, &all, NULL);
	view = uc_mask_get(uc);
	uc_mask_set(uc, view & ~SIGNAL_KEPT);
	if (t) {
		t->in_emulator = depth;
		if (t->nframes)
			t->nframes--;
		t->soft_blocked = view & SIGNAL_KEPT;
	}
}

void signal_deliver(int sig, siginfo_t *si, ucontext_t *uc, bool forced)
{
	struct thread_rec *t = thread_self();
	uint64_t view = uc_mask_get(uc) | (t ? t->soft_blocked : 0);
	struct ksigaction a;

	act_read(sig, &a);
	if (forced && ((view & SIGBIT(sig)) || a.handler == (uint64_t)(uintptr_t)SIG_IGN)) {
		/* force_sig: a fault the program blocks or ignores takes the default action. */
		reset_hand(sig);
		a.handler = (uint64_t)(uintptr_t)SIG_DFL;
	} else if ((view & SIGBIT(sig)) || (t && t->in_emulator > 1)) {
		/* Blocked by the program (a kept signal: the kernel could not know), or sent
		 * while we are inside one of our own handlers: later. */
		hold_pending(t, sig, si);
		return;
	}
	if (a.handler == (uint64_t)(uintptr_t)SIG_IGN)
		return;
	if (a.handler == (uint64_t)(uintptr_t)SIG_DFL) {
		default_action(sig, si, uc);
		return;
	}
	run_handler(t, sig, si, uc, &a);
}
