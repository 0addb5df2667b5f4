/* CPUID leaf 0x12 and friends. Where the host supports CPUID faulting, every CPUID the program
 * executes traps and is answered here; programs built with the cpuid.h shim ask
 * sgxemu_cpuid() directly. */
#include <asm/prctl.h>
#include <cpuid.h>

#include "host/host.h"
#include "sgxemu.h"
#include "util/rawsys.h"
#include "lib/xstate.h"

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#endif

static bool faulting;
static struct cpu_features features;

void cpuid_init(void)
{
	cpu_features_default(&features, host_cfg.epc_size, host_cfg.sgx2);
	features.intel_vendor = !host_cfg.host_vendor;
	xstate_probe(&features);
	faulting = raw_syscall2(SYS_arch_prctl, ARCH_SET_CPUID, 0) == 0;
}

const struct cpu_features *host_cpu_features(void)
{
	return &features;
}

bool cpuid_faulting_enabled(void)
{
	return faulting;
}

void cpuid_query(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	/* Faulting is per thread; turn it off around our own CPUID. */
	if (faulting)
		raw_syscall2(SYS_arch_prctl, ARCH_SET_CPUID, 1);
	__cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
	if (faulting)
		raw_syscall2(SYS_arch_prctl, ARCH_SET_CPUID, 0);
	cpu_cpuid_adjust(&features, leaf, subleaf, regs);
}

/* The interface of the cpuid.h shim. */
__attribute__((visibility("default"))) int sgxemu_cpuid(unsigned int leaf, unsigned int subleaf,
							unsigned int regs[4])
{
	if (!host_active)
		return -1;
	cpuid_query(leaf, subleaf, regs);
	return 0;
}
