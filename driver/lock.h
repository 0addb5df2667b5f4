/* The driver lock, and the locking contract of the driver.
 *
 * One lock (sgx_pf.lock) serialises the driver, as the kernel's encl->lock, mm locks and EPC
 * lists together do. It is recursive and knows its owner: trap paths take it too, and a
 * thread that faults while holding it (in our own code) must not wait for itself.
 *
 * What it guards: everything in struct sgx_platform (the VMA set of enclave and vEPC
 * mappings, the EPC allocator with its owner table and chunk commitments, the enclave list
 * and the enclaves waiting for their threads to leave, counters, the status image), every
 * struct sgx_encl and its
 * page table and reference count, the vEPC instances, and the EPCM fields that ENCLS leaves
 * change (valid, type, perm, flags, linaddr, secs...).
 *
 * What is lock-free, and how:
 *  - The AEX (sgx_aex, from the trap path of a thread in enclave mode). It writes only what
 *    its own thread owns while inside: its TCS (CSSA), its SSA frame, and its struct cpu_lp;
 *    and it drops the counters below. A thread forced out by the IPIs of an ioctl must be able
 *    to exit while that ioctl holds the lock.
 *  - Atomics of the emulated processor: EPCM busy (TCS in use) and pins (SSA pages of a
 *    thread inside), the SECS's active/active_ep/epoch counters (cpu/cpu.h). A thread leaving
 *    decrements them last (release), so a reader under the lock that sees zero also sees the
 *    SSA written.
 *  - struct cpu_lp's in_enclave, paused, secs and entry_epoch, written only by their thread,
 *    read by the host's IPI sender (host_ipi) in other threads: see the ordering in cpu/cpu.h.
 *  - sgx_encl.ioctl_busy: the kernel's SGX_ENCL_IOCTL bit, test-and-set before the lock.
 *  - sgx_file.refs: fds and calls in progress, counted atomically (the host's fd table takes
 *    references under its own lock); the last put takes the driver lock to release.
 *  - The reclaimer thread's wake-up word and started flag (ksgxd.c).
 *
 * Who takes it: every entry point of driver.h and virt.h except sgx_aex, sgx_platform_ready
 * and sgx_platform_cpu; the reclaimer thread for each batch; the host around the platform's
 * bring-up (sgx_platform_lock: sgx_platform_init runs once). sgx_fork_prepare takes it and
 * keeps it across fork(): sgx_fork_parent drops it, sgx_fork_child resets it (the child's
 * thread has another id). Internal functions that need it say so with drv_assert_locked(),
 * which checks it in debug builds (SGXEMU_DEBUG: make DEBUG=1, and make san-test). */
#ifndef SGXEMU_DRIVER_LOCK_H
#define SGXEMU_DRIVER_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/rawsys.h"

struct drv_lock {
	atomic_int owner;  /* 0 = free, else the owner's thread id */
	atomic_int nested; /* acquisitions by the owner beyond its first; only the owner touches it */
};

static inline bool drv_lock_held_by_self(struct drv_lock *l)
{
	return atomic_load(&l->owner) == (int)raw_gettid();
}

/* The owner's first acquisition leaves nested at 0, as the lock was free: a signal handler
 * that takes the lock again between the owner's compare-and-swap and its return (the trap
 * path does) counts from 0 and gives back exactly what it took, never the owner's hold. */
static inline void drv_lock(struct drv_lock *l)
{
	int tid = (int)raw_gettid();
	int expect = 0;

	if (atomic_load(&l->owner) == tid) {
		atomic_fetch_add(&l->nested, 1);
		return;
	}
	while (!atomic_compare_exchange_weak(&l->owner, &expect, tid)) {
		expect = 0;
		raw_syscall0(SYS_sched_yield);
	}
}

static inline void drv_unlock(struct drv_lock *l)
{
	if (atomic_load(&l->nested))
		atomic_fetch_sub(&l->nested, 1);
	else
		atomic_store(&l->owner, 0);
}

/* After fork, in the child: nobody holds it (the parent's owner id means nothing here). */
static inline void drv_lock_reset(struct drv_lock *l)
{
	atomic_store(&l->nested, 0);
	atomic_store(&l->owner, 0);
}

#ifdef SGXEMU_DEBUG
/* A contract violation: say where, then stop (async-signal-safe: raw write, trap). */
static inline void drv_lock_violation(const char *file, int line)
{
	static const char msg[] = "sgxemu: driver lock not held at ";
	char num[12];
	int n = 0;
	unsigned v = (unsigned)line;
	const char *p = file;

	while (*p)
		p++;
	raw_syscall3(SYS_write, 2, msg, sizeof(msg) - 1);
	raw_syscall3(SYS_write, 2, file, p - file);
	num[n++] = ':';
	for (unsigned d = 1000000; d; d /= 10)
		if (v >= d || d == 1 || n > 1)
			num[n++] = (char)('0' + (v / d) % 10);
	num[n++] = '\n';
	raw_syscall3(SYS_write, 2, num, n);
	__builtin_trap();
}
#define drv_assert_locked(l)                                                                     \
	do {                                                                                       \
		if (!drv_lock_held_by_self(l))                                                     \
			drv_lock_violation(__FILE__, __LINE__);                                    \
	} while (0)
#else
#define drv_assert_locked(l) ((void)(l))
#endif

#endif
