/* Start of the preload: configuration, the syscall gate, tracing, the vDSO image, CPUID, the
 * signal handlers, the seccomp filter, and fork handling. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "driver/policy.h"
#include "host/fd.h"
#include "host/filter.h"
#include "host/gate.h"
#include "host/host.h"
#include "host/signal.h"
#include "host/thread.h"
#include "host/tracer.h"
#include "host/vdso.h"
#include "util/trace.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

struct sgxemu_config host_cfg;
bool host_active;

/* fork, whether glibc's (through the atfork handlers below) or a bare fork or clone without
 * CLONE_VM (host/sys_proc.c): the child gets a fresh platform. */
void host_fork_prepare(void)
{
	/* No other thread may be inside the driver or the fd table while fork copies them. The
	 * fd table's lock is a leaf (never held while calling into the driver, taken under the
	 * driver lock when the EPC's fd is registered): the driver's first. A thread inside an
	 * ioctl may wait for another thread's help (a userfaultfd source page) that needs the
	 * fd table, so holding the fd lock while waiting for the driver would deadlock. */
	sgx_fork_prepare();
	fd_fork_prepare();
}

void host_fork_parent(void)
{
	fd_fork_parent();
	sgx_fork_parent();
}

void host_fork_child(void)
{
	fd_fork_child();
	thread_reset_all();
	mem_fork_child();
	trace_forked();
}

static void atfork_prepare(void)
{
	struct thread_rec *t = thread_self();

	/* The clone glibc makes next is trapped too: tell it we are handling this fork. */
	if (t)
		t->libc_fork = true;
	host_fork_prepare();
}

static void atfork_parent(void)
{
	struct thread_rec *t = thread_self();

	host_fork_parent();
	if (t)
		t->libc_fork = false;
}

static void atfork_child(void)
{
	struct thread_rec *t;

	host_fork_child();
	t = thread_self();
	if (t)
		t->libc_fork = false;
}

__attribute__((constructor)) static void sgxemu_preload_init(void)
{
	char err[512];
	int r;

	if (config_load(&host_cfg, err, sizeof(err))) {
		sgxemu_err("%s; SGX emulation is off", err);
		vdso_withdraw();
		return;
	}
	/* A policy is applied whole or the platform stays off: never half an administrator's
	 * rules. */
	if (policy_load(host_cfg.policy_file, err, sizeof(err)) ||
	    (host_cfg.audit_file[0] && policy_set_audit(host_cfg.audit_file, err, sizeof(err)))) {
		sgxemu_err("%s; SGX emulation is off", err);
		vdso_withdraw();
		return;
	}
	host_env_capture();
	/* Every system call of ours goes through the gate from here on. */
	r = gate_init();
	host_trace_start();
	fsgs_init((getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) && !getenv("SGXEMU_NO_FSGSBASE"));
	if (vdso_init(getenv("SGXEMU_NO_DIRECT_EENTER") ? NULL : host_direct_entry())) {
		sgxemu_err("cannot map the vDSO image; SGX emulation is off");
		vdso_withdraw();
		return;
	}
	cpuid_init();
	gdb_init();
	host_active = true;
	signal_install();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* An inherited filter is on whatever the setting (seccomp cannot take it off). */
	if (r) {
		/* make tsan-test: ThreadSanitizer reserves the gate's address, and its
		 * instrumentation cannot run in the SIGSYS path: such builds run without the filter
		 * and need not say so (docs/syscalls.md). */
#ifndef SGXEMU_TSAN
		sgxemu_err("the syscall gate's address %#lx is taken (%d): system calls made without "
			   "libc will not reach sgxemu", GATE_ADDR, r);
#endif
	} else if (trap_syscall_init()) {
		sgxemu_err("no XSAVE: system calls made without libc will not reach sgxemu");
	} else if (!filter_adopt() && host_cfg.syscall_filter == CONFIG_FILTER_ON) {
		filter_enable();
	} else {
		filter_consider();
	}
	TRACE("preload active (cpuid faulting %s, syscall filter %s)",
	      cpuid_faulting_enabled() ? "on" : "off", filter_active() ? "on" : "off");
}
