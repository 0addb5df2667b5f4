/* The EPC's backing memory and the mm interface the driver uses to shape enclave mappings. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <sys/personality.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#include "cpu/keys.h"
#include "host/fd.h"
#include "host/host.h"
#include "host/thread.h"
#include "util/rawsys.h"
#include "util/trace.h"

static int epc_fd = -1;
static uint8_t *epc_map;
static uint64_t epc_bytes;

static long mmap_raw(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	return raw_syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
}

static bool is_err(long r)
{
	return r < 0 && r > -4096;
}

static int mm_map_epc(uint64_t addr, uint64_t epc_off, uint64_t len, int prot)
{
	long r = mmap_raw(addr, len, prot, MAP_SHARED | MAP_FIXED, epc_fd, epc_off);

	return is_err(r) ? (int)r : 0;
}

/* Debug enclaves under a debugger (sgx_debug_mappings): a private mapping of the EPC memfd
 * runs the EPC's bytes, and ptrace's forced writes copy the page instead of failing. */
static int mm_map_epc_cow(uint64_t addr, uint64_t epc_off, uint64_t len, int prot)
{
	long r = mmap_raw(addr, len, prot, MAP_PRIVATE | MAP_FIXED, epc_fd, epc_off);

	return is_err(r) ? (int)r : 0;
}

static int mm_map_none(uint64_t addr, uint64_t len)
{
	long r = mmap_raw(addr, len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	return is_err(r) ? (int)r : 0;
}

static int mm_protect(uint64_t addr, uint64_t len, int prot)
{
	long r = raw_syscall3(SYS_mprotect, addr, len, prot);

	if (is_err(r)) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}

static int mm_unmap(uint64_t addr, uint64_t len)
{
	long r = raw_syscall2(SYS_munmap, addr, len);

	return is_err(r) ? (int)r : 0;
}

static uint64_t mm_reserve(uint64_t hint, uint64_t len)
{
	long r = mmap_raw(hint, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return is_err(r) ? 0 : (uint64_t)r;
}

struct ipi_req {
	uint32_t secs;
	uint64_t epoch;     /* threads that entered at or after it need not leave */
	bool shootdown;     /* also the threads waiting in our traps (no wait for them) */
	unsigned pending;
	bool send;
};

static void ipi_send(struct thread_rec *t)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = SGXEMU_IPI_SIGNAL;
	si.si_code = SI_QUEUE;
	si.si_pid = (pid_t)raw_syscall0(SYS_getpid);
	si.si_value.sival_int = SGXEMU_IPI_MAGIC;
	raw_syscall4(SYS_rt_tgsigqueueinfo, si.si_pid, atomic_load(&t->tid), SGXEMU_IPI_SIGNAL, &si);
}

static void ipi_one(struct thread_rec *t, void *arg)
{
	struct ipi_req *q = arg;
	bool paused;

	/* Another thread's logical processor: the lock-free protocol of cpu/cpu.h. */
	if (!atomic_load_explicit(&t->lp.in_enclave, memory_order_acquire) ||
	    atomic_load_explicit(&t->lp.secs, memory_order_relaxed) != q->secs ||
	    atomic_load_explicit(&t->lp.entry_epoch, memory_order_relaxed) >= q->epoch)
		return;
	paused = atomic_load_explicit(&t->lp.paused, memory_order_acquire);
	/* A thread waiting in one of our traps runs no enclave code: it counts as outside. A
	 * shootdown still makes it take the AEX once it returns to enclave code (the signal
	 * waits while our handler runs), as it would after the #PF on hardware. */
	if (paused) {
		if (q->shootdown && q->send)
			ipi_send(t);
		return;
	}
	q->pending++;
	if (q->send)
		ipi_send(t);
}

static void ipi_wait(struct ipi_req *q)
{
	thread_for_each(ipi_one, q);
	for (int i = 0; i < 20000 && q->pending; i++) {
		q->pending = 0;
		q->send = false;
		raw_syscall0(SYS_sched_yield);
		thread_for_each(ipi_one, q);
	}
}

/* Make the threads inside the enclave that entered before epoch leave it, and wait (bounded:
 * a thread with the signal blocked cannot be forced) until they have. */
void host_ipi(uint32_t secs, uint64_t epoch)
{
	struct ipi_req q = { secs, epoch, false, 0, true };

	ipi_wait(&q);
}

/* The enclave's mappings are about to change: every thread inside takes an AEX, as the
 * TLB-shootdown IPIs of an unmap make it on hardware. */
static void mm_tlb_shootdown(uint32_t secs)
{
	struct ipi_req q = { secs, UINT64_MAX, true, 0, true };

	ipi_wait(&q);
}

static void *mm_backing_create(uint64_t len)
{
	long r = mmap_raw(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);

	return is_err(r) ? NULL : (void *)r;
}

static void mm_backing_discard(void *p, uint64_t len)
{
	raw_syscall3(SYS_madvise, p, len, MADV_DONTNEED);
}

static void mm_backing_destroy(void *p, uint64_t len)
{
	raw_syscall2(SYS_munmap, p, len);
}

static bool mm_read_implies_exec(void)
{
	return raw_syscall1(SYS_personality, 0xffffffffUL) & READ_IMPLIES_EXEC;
}

static int mm_advise(uint64_t addr, uint64_t len, int advice)
{
	long r = raw_syscall3(SYS_madvise, addr, len, advice);

	return is_err(r) ? (int)r : 0;
}

static bool mm_capable_sys_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (raw_syscall2(SYS_capget, &h, d))
		return false;
	return d[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));
}

/* Commit a chunk of the EPC at once: one call instead of a fault per page. Kernels without
 * MADV_POPULATE_WRITE (before 5.14) fault the pages in on first touch. */
static void mm_epc_commit(uint64_t off, uint64_t len)
{
	raw_syscall3(SYS_madvise, epc_map + off, len, MADV_POPULATE_WRITE);
}

/* A chunk with no page in use: give the memory back to the host. */
static void mm_epc_decommit(uint64_t off, uint64_t len)
{
	raw_syscall4(SYS_fallocate, epc_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

static void mm_zero_pages(void *p, uint64_t len)
{
	raw_syscall3(SYS_madvise, p, len, MADV_DONTNEED);
}

const struct drv_mm host_mm = {
	.map_epc = mm_map_epc,
	.map_none = mm_map_none,
	.map_epc_cow = mm_map_epc_cow,
	.protect = mm_protect,
	.unmap = mm_unmap,
	.ipi = host_ipi,
	.tlb_shootdown = mm_tlb_shootdown,
	.backing_create = mm_backing_create,
	.backing_discard = mm_backing_discard,
	.backing_destroy = mm_backing_destroy,
	.epc_commit = mm_epc_commit,
	.epc_decommit = mm_epc_decommit,
	.zero_pages = mm_zero_pages,
	.reserve = mm_reserve,
	.src_vma = maps_src_vma,
	.read_implies_exec = mm_read_implies_exec,
	.advise = mm_advise,
	.capable_sys_admin = mm_capable_sys_admin,
};

/* A memfd holds the EPC; the driver maps its pages into ELRANGE and the emulator reaches all
 * of it through one shared mapping. Nothing is committed up front: the driver commits chunks
 * as it hands out their pages (mm_epc_commit) and gives back chunks it no longer uses. */
static int epc_create(void)
{
	long fd, p;

	fd = raw_syscall2(SYS_memfd_create, "sgxemu-epc", MFD_CLOEXEC);
	if (is_err(fd))
		return (int)fd;
	if (raw_syscall2(SYS_ftruncate, fd, epc_bytes)) {
		raw_syscall1(SYS_close, fd);
		return -ENOMEM;
	}
	p = mmap_raw(0, epc_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	if (is_err(p)) {
		raw_syscall1(SYS_close, fd);
		return (int)p;
	}
	epc_fd = (int)fd;
	/* Out of the program's way (it may close or dup2 over whatever fds it likes). */
	fd_make_internal(&epc_fd);
	epc_map = (uint8_t *)p;
	return 0;
}

/* The platform's identity: its root secret and key registers (docs/keys.md). A platform
 * whose identity cannot be had does not come up: sealing under a stand-in secret would be
 * worse than failing. */
static int keys_config(struct cpu_key_config *kc)
{
	char path[sizeof(host_cfg.platform_key_file) + 64], err[1024 + 160];

	memset(kc, 0, sizeof(*kc));
	if (config_platform_secret(&host_cfg, kc->root, path, sizeof(path), err, sizeof(err))) {
		sgxemu_err("%s", err);
		return -EIO;
	}
	memcpy(kc->cpusvn, host_cfg.cpusvn, sizeof(kc->cpusvn));
	memcpy(kc->owner_epoch, host_cfg.owner_epoch, sizeof(kc->owner_epoch));
	kc->fixed_report_keyid = host_cfg.platform_secret_set;
	kc->checks = ((host_cfg.svn_checks & CONFIG_SVN_CPUSVN) ? KEYS_CHECK_CPUSVN : 0) |
		     ((host_cfg.svn_checks & CONFIG_SVN_ISVSVN) ? KEYS_CHECK_ISVSVN : 0) |
		     ((host_cfg.svn_checks & CONFIG_SVN_CONFIGSVN) ? KEYS_CHECK_CONFIGSVN : 0);
	TRACE("platform key: %s", path[0] ? path : "fixed by SGXEMU_PLATFORM_SECRET");
	return 0;
}

static int platform_up_locked(void)
{
	struct cpu_key_config kc;
	int r;

	if (sgx_platform_ready()) {
		/* A forked child gets its status file when it first uses SGX. */
		if (!stat_file_exists())
			stat_file_create();
		return 0;
	}
	r = keys_config(&kc);
	if (r)
		return r;
	epc_bytes = host_cfg.epc_size;
	r = epc_create();
	if (r)
		goto out;
	r = sgx_platform_init(epc_map, epc_bytes / 4096, host_cpu_features(), &host_mm);
	if (r)
		goto out;
	if (cpu_keys_init(sgx_platform_cpu(), &kc))
		sgxemu_err("cannot set up the key hierarchy: EREPORT and EGETKEY will fault");
	stat_file_create();
	if (!getenv("SGXEMU_NO_KSGXD"))
		sgx_ksgxd_enable();
	TRACE("platform up: EPC %lu KiB, %s", (unsigned long)(epc_bytes >> 10),
	      host_cfg.sgx2 ? "SGX2" : "SGX1");
out:
	explicit_bzero(kc.root, sizeof(kc.root));
	return r;
}

/* The first open of a device brings the platform up, and the first opens of two threads may
 * come at once: under the driver lock, so that one of them does it and the other finds it
 * done (unserialised, both made an EPC and a set of platform tables, and one of each was
 * lost). */
int mem_platform_up(void)
{
	int r;

	sgx_platform_lock();
	r = platform_up_locked();
	sgx_platform_unlock();
	return r;
}

void mem_fork_child(void)
{
	int old = epc_fd;
	uint8_t *old_map = epc_map;

	if (!sgx_platform_ready()) {
		sgx_fork_child(NULL);
		return;
	}
	if (epc_create()) {
		/* Never go on with the parent's EPC: it is shared memory. */
		sgxemu_err("cannot create the EPC of the forked child");
		sgx_fork_child(NULL);
	} else {
		sgx_fork_child(epc_map);
	}
	/* The parent's status file is the parent's; the child makes its own if it opens a
	 * device (a child that only execs or exits leaves none behind). */
	stat_file_forget();
	raw_syscall2(SYS_munmap, old_map, epc_bytes);
	raw_syscall1(SYS_close, old);
}
