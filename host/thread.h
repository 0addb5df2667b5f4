/* Per-thread records, found without TLS (a thread in enclave mode runs with the enclave's
 * FS/GS bases, and threads made by a raw clone may have no TLS at all): a fixed table keyed by
 * the kernel thread id. No malloc. */
#ifndef SGXEMU_HOST_THREAD_H
#define SGXEMU_HOST_THREAD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* The signals sgxemu keeps unblocked in the real signal mask (host/signal.c), by position. */
#define SIGNAL_KEPT_MAX 7
/* Program handlers that may be running, nested, on one thread (host/signal.c). */
#define SIGNAL_FRAMES_MAX 8

struct signal_frame {
	uint64_t sp;           /* where the handler's frame is (the signal frame's address) */
	uint64_t soft_before;  /* the program's mask of kept signals before the delivery */
};

struct thread_rec {
	atomic_int tid;
	struct cpu_lp lp;
	void *altstack;        /* the alternate signal stack we gave this thread, if any */
	/* The program's view of the kept signals (host/signal.c): which it blocks, which arrived
	 * while blocked (with their siginfo, by position in the kept set), and its handlers that
	 * may still be running. Written only by the thread itself. */
	uint64_t soft_blocked;
	uint64_t soft_pending;
	siginfo_t pending_info[SIGNAL_KEPT_MAX];
	struct signal_frame frames[SIGNAL_FRAMES_MAX];
	unsigned nframes;
	unsigned in_emulator;  /* depth of our own signal handlers on this thread */
	bool libc_fork;        /* inside glibc's fork(): its atfork handlers do our part */
};

/* The calling thread's record, created on first use; NULL only if the table is full of
 * live threads. Async-signal-safe. */
struct thread_rec *thread_self(void);
/* Give the calling thread an alternate signal stack unless it has one; saved is the
 * uc_stack of the signal frame being handled. Async-signal-safe. */
void thread_ensure_altstack(struct thread_rec *t, stack_t *saved);
/* Call fn for every record of a live thread other than the caller. */
void thread_for_each(void (*fn)(struct thread_rec *t, void *arg), void *arg);
/* Forget every record but the caller's (the child of a fork has one thread). */
void thread_reset_all(void);

/* FS/GS base access: FSGSBASE instructions when the kernel allows them, else arch_prctl. */
void fsgs_init(bool allow_insn);
uint64_t fs_base_get(void);
void fs_base_set(uint64_t v);
uint64_t gs_base_get(void);
void gs_base_set(uint64_t v);

#endif
