/* The driver lock. Trap paths take it too, so it knows its owner: a thread that faults while
 * holding it must not wait for itself. */
#ifndef SGXEMU_DRIVER_LOCK_H
#define SGXEMU_DRIVER_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/rawsys.h"

struct drv_lock {
	atomic_int owner; /* 0 = free, else the owner's thread id */
	int depth;
};

static inline bool drv_lock_held_by_self(struct drv_lock *l)
{
	return atomic_load(&l->owner) == (int)raw_gettid();
}

static inline void drv_lock(struct drv_lock *l)
{
	int tid = (int)raw_gettid();
	int expect = 0;

	if (atomic_load(&l->owner) == tid) {
		l->depth++;
		return;
	}
	while (!atomic_compare_exchange_weak(&l->owner, &expect, tid)) {
		expect = 0;
		raw_syscall0(SYS_sched_yield);
	}
	l->depth = 1;
}

static inline void drv_unlock(struct drv_lock *l)
{
	if (--l->depth == 0)
		atomic_store(&l->owner, 0);
}

#endif
