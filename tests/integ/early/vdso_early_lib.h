/* What tests/integ/early/vdso_early_lib.c's constructor saw. That library is a dependency of
 * test_vdso_early, so ld.so runs its constructor before the preload's, as it runs the Intel
 * SDK's urts constructor. */
#ifndef SGXEMU_TESTS_VDSO_EARLY_LIB_H
#define SGXEMU_TESTS_VDSO_EARLY_LIB_H

struct vdso_early_record {
	int ran;
	int emulator_ready;		/* sgxemu_cpuid answered: the preload's constructor ran */
	unsigned long stack_first;	/* AT_SYSINFO_EHDR on the stack, before anything else */
	unsigned long getauxval;	/* getauxval(AT_SYSINFO_EHDR) */
	unsigned long stack_then;	/* the stack again after it */
	void *enter;			/* __vdso_sgx_enter_enclave found in that image */
};

extern struct vdso_early_record vdso_early_record;

#endif
