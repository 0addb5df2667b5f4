/* Start of the preload: configuration, tracing, vDSO image, CPUID, signal handlers, fork. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>

#include "driver/policy.h"
#include "host/host.h"
#include "host/thread.h"
#include "host/vdso.h"

void (*host_direct_entry(void))(void);
#include "util/trace.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

struct sgxemu_config host_cfg;
bool host_active;

static void fork_child(void)
{
	thread_reset_all();
	mem_fork_child();
}

__attribute__((constructor)) static void sgxemu_preload_init(void)
{
	char err[512];

	if (config_load(&host_cfg, err, sizeof(err))) {
		sgxemu_err("%s; SGX emulation is off", err);
		return;
	}
	/* A policy is applied whole or the platform stays off: never half an administrator's
	 * rules. */
	if (policy_load(host_cfg.policy_file, err, sizeof(err)) ||
	    (host_cfg.audit_file[0] && policy_set_audit(host_cfg.audit_file, err, sizeof(err)))) {
		sgxemu_err("%s; SGX emulation is off", err);
		return;
	}
	trace_open(host_cfg.trace, host_cfg.trace_file);
	fsgs_init((getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) && !getenv("SGXEMU_NO_FSGSBASE"));
	if (vdso_init(getenv("SGXEMU_NO_DIRECT_EENTER") ? NULL : host_direct_entry())) {
		sgxemu_err("cannot map the vDSO image; SGX emulation is off");
		return;
	}
	cpuid_init();
	host_active = true;
	signal_install();
	/* [h-driver] No other thread may be inside the driver while fork copies it. */
	pthread_atfork(sgx_fork_prepare, sgx_fork_parent, fork_child);
	TRACE("preload active (cpuid faulting %s)", cpuid_faulting_enabled() ? "on" : "off");
}
