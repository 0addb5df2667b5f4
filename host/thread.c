#include "host/thread.h"

#include <asm/prctl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/rawsys.h"

#define THREAD_SLOTS 4096
#define ALTSTACK_SIZE (64 * 1024)

static struct thread_rec threads[THREAD_SLOTS];

static bool thread_alive(int tid)
{
	return raw_syscall3(SYS_tgkill, raw_syscall0(SYS_getpid), tid, 0) == 0;
}

/* A new thread's record; its alternate stack (if any) is kept for reuse. Other threads may
 * be reading the logical processor's shared fields (host_ipi, cpu/cpu.h): those are reset
 * with atomic stores, not memset; its other fields are all set at every entry. */
static void thread_rec_clear(struct thread_rec *t)
{
	atomic_store_explicit(&t->lp.in_enclave, false, memory_order_release);
	atomic_store_explicit(&t->lp.paused, false, memory_order_relaxed);
	atomic_store_explicit(&t->lp.secs, 0, memory_order_relaxed);
	atomic_store_explicit(&t->lp.entry_epoch, 0, memory_order_relaxed);
	t->soft_blocked = 0;
	t->soft_pending = 0;
	t->nframes = 0;
	t->in_emulator = 0;
	t->libc_fork = false;
}

struct thread_rec *thread_self(void)
{
	int tid = (int)raw_gettid();
	unsigned h = (unsigned)tid % THREAD_SLOTS;

	for (unsigned i = 0; i < THREAD_SLOTS; i++) {
		struct thread_rec *t = &threads[(h + i) % THREAD_SLOTS];
		int cur = atomic_load(&t->tid);

		if (cur == tid)
			return t;
		if (cur == 0) {
			int expect = 0;

			if (atomic_compare_exchange_strong(&t->tid, &expect, tid)) {
				thread_rec_clear(t);
				return t;
			}
			if (expect == tid)
				return t;
		}
	}
	/* Full: reclaim the slot of a thread that has exited (not one inside an enclave). */
	for (unsigned i = 0; i < THREAD_SLOTS; i++) {
		struct thread_rec *t = &threads[(h + i) % THREAD_SLOTS];
		int cur = atomic_load(&t->tid);

		if (!t->lp.in_enclave && !thread_alive(cur) &&
		    atomic_compare_exchange_strong(&t->tid, &cur, tid)) {
			thread_rec_clear(t);
			return t;
		}
	}
	return NULL;
}

void thread_ensure_altstack(struct thread_rec *t, stack_t *saved)
{
	stack_t cur, ss;

	if (raw_syscall2(SYS_sigaltstack, NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return;
	if (!t->altstack) {
		long p = raw_syscall6(SYS_mmap, 0, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

		if (p < 0 && p > -4096)
			return;
		t->altstack = (void *)p;
	}
	ss.ss_sp = t->altstack;
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	/* rt_sigreturn re-applies the alternate stack saved in the signal frame: record ours
	 * there too, or returning from this handler would switch it off again. */
	if (raw_syscall2(SYS_sigaltstack, &ss, NULL) == 0 && saved)
		*saved = ss;
}

void thread_for_each(void (*fn)(struct thread_rec *t, void *arg), void *arg)
{
	int self = (int)raw_gettid();

	for (unsigned i = 0; i < THREAD_SLOTS; i++) {
		int tid = atomic_load(&threads[i].tid);

		if (tid && tid != self)
			fn(&threads[i], arg);
	}
}

void thread_reset_all(void)
{
	int self = (int)raw_gettid();

	for (unsigned i = 0; i < THREAD_SLOTS; i++) {
		if (atomic_load(&threads[i].tid) != self) {
			/* The child has one thread: nobody reads these concurrently. */
			memset(&threads[i].lp, 0, sizeof(threads[i].lp));
			atomic_store(&threads[i].tid, 0);
			threads[i].altstack = NULL;
		}
	}
}

static bool use_fsgsbase;

void fsgs_init(bool allow_insn)
{
	use_fsgsbase = allow_insn;
}

uint64_t fs_base_get(void)
{
	uint64_t v = 0;

	if (use_fsgsbase)
		__asm__ volatile("rdfsbase %0" : "=r"(v));
	else
		raw_syscall2(SYS_arch_prctl, ARCH_GET_FS, &v);
	return v;
}

void fs_base_set(uint64_t v)
{
	if (use_fsgsbase)
		__asm__ volatile("wrfsbase %0" : : "r"(v) : "memory");
	else
		raw_syscall2(SYS_arch_prctl, ARCH_SET_FS, v);
}

uint64_t gs_base_get(void)
{
	uint64_t v = 0;

	if (use_fsgsbase)
		__asm__ volatile("rdgsbase %0" : "=r"(v));
	else
		raw_syscall2(SYS_arch_prctl, ARCH_GET_GS, &v);
	return v;
}

void gs_base_set(uint64_t v)
{
	if (use_fsgsbase)
		__asm__ volatile("wrgsbase %0" : : "r"(v) : "memory");
	else
		raw_syscall2(SYS_arch_prctl, ARCH_SET_GS, v);
}
