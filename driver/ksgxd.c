/* The background reclaimer, as the kernel's ksgxd: a thread that wakes when free EPC falls
 * below the low watermark and reclaims until it is above the high one, so that allocations
 * (and the fault path) rarely have to reclaim themselves. Started lazily from an ioctl:
 * programs that fork before using SGX keep no thread across the fork. */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "driver/internal.h"

#define NR_LOW_PAGES 32
#define NR_HIGH_PAGES 64

static atomic_int started;
static atomic_int wake;
static bool enabled;

void sgx_ksgxd_enable(void)
{
	enabled = true;
}

static void futex_wait_ms(atomic_int *w, int val, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	raw_syscall4(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, &ts);
}

static bool have_reclaimable(void)
{
	for (uint64_t i = 0; i < sgx_pf.cpu.epc_pages; i++)
		if (sgx_pf.owner[i].encl)
			return true;
	return false;
}

static void *ksgxd(void *arg)
{
	(void)arg;
	for (;;) {
		futex_wait_ms(&wake, 0, 200);
		atomic_store(&wake, 0);
		drv_lock(&sgx_pf.lock);
		encl_reap();
		epc_decommit_idle();
		while (sgx_pf.nr_free < NR_HIGH_PAGES && have_reclaimable())
			if (!sgx_reclaim_pages())
				break;
		stat_publish();
		drv_unlock(&sgx_pf.lock);
	}
	return NULL;
}

void ksgxd_start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int zero = 0;

	if (!enabled || !atomic_compare_exchange_strong(&started, &zero, 1))
		return;
	/* Signals meant for the program (and our IPIs) must never land on this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, ksgxd, NULL))
		atomic_store(&started, 0);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Async-signal-safe: allocation in the fault path calls it. */
void ksgxd_kick(void)
{
	if (sgx_pf.nr_free >= NR_LOW_PAGES || !atomic_load(&started))
		return;
	atomic_store(&wake, 1);
	raw_syscall3(SYS_futex, &wake, FUTEX_WAKE_PRIVATE, 1);
}

bool ksgxd_running(void)
{
	return atomic_load(&started);
}

void ksgxd_fork_child(void)
{
	/* Threads do not survive fork: the next ioctl starts a new one. */
	atomic_store(&started, 0);
	atomic_store(&wake, 0);
}
