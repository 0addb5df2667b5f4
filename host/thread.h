/* Per-thread records, found without TLS (a thread in enclave mode runs with the enclave's
 * FS/GS bases): a fixed table keyed by the kernel thread id. No malloc. */
#ifndef SGXEMU_HOST_THREAD_H
#define SGXEMU_HOST_THREAD_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

struct thread_rec {
	atomic_int tid;
	struct cpu_lp lp;
	void *altstack;        /* the alternate signal stack we gave this thread, if any */
};

/* The calling thread's record, created on first use; NULL only if the table is full of
 * live threads. Async-signal-safe. */
struct thread_rec *thread_self(void);
/* Give the calling thread an alternate signal stack unless it has one; saved is the
 * uc_stack of the signal frame being handled. Async-signal-safe. */
void thread_ensure_altstack(struct thread_rec *t, stack_t *saved);
/* Call fn for every record of a live thread other than the caller. */
void thread_for_each(void (*fn)(struct thread_rec *t, void *arg), void *arg);
/* Forget every record (the child of a fork has one thread). */
void thread_reset_all(void);

/* FS/GS base access: FSGSBASE instructions when the kernel allows them, else arch_prctl. */
void fsgs_init(bool allow_insn);
uint64_t fs_base_get(void);
void fs_base_set(uint64_t v);
uint64_t gs_base_get(void);
void gs_base_set(uint64_t v);

#endif
