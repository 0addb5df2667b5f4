/* A CPU without SGX2 (`sgxemu run --sgx1`): CPUID leaf 0x12 says so, the SGX2 ioctls are
 * ENODEV before any other check, a fault on an enclave hole is SIGBUS (no EAUG), reported
 * through the vDSO with the hardware error code, and the SGX2 ENCLU leaves are #GP. The test
 * runs itself again under `sgxemu run --sgx1`. */
#include "tests/integ/integ_sgx2.h"

#include <setjmp.h>
#include <signal.h>

#define ELRANGE (1UL << 20)

static struct encl E;
static uint64_t heap, hole;

static int setup(void **state)
{
	(void)state;
	sgx2_build(&E, 2 * PG, ELRANGE);
	heap = E.base + E.heap_offset;
	hole = E.base + sgx2_hole(&E);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

static void cpuid_reports_sgx1_only(void **state)
{
	unsigned r[4];

	(void)state;
	emu_cpuid(0x12, 0, r);
	assert_int_equal(r[0] & 3, 1);
	emu_cpuid(0x7, 0, r);
	assert_int_equal(r[1] & (1U << 2), 1U << 2);
}

/* ENODEV for each SGX2 ioctl: initialised or not, good argument or a bad pointer (the kernel
 * checks the CPU before anything else). */
static void sgx2_ioctls_enodev(void **state)
{
	struct sgx_enclave_restrict_permissions rp = { .offset = E.heap_offset, .length = PG,
						       .permissions = SI_R };
	struct sgx_enclave_modify_types mt = { .offset = E.heap_offset, .length = PG,
					       .page_type = SGX_PT_TRIM };
	struct sgx_enclave_remove_pages rm = { .offset = E.heap_offset, .length = PG };
	struct encl F;

	(void)state;
	assert_errno(sgx2_restrict(&E, &rp), ENODEV);
	assert_errno(sgx2_modify(&E, &mt), ENODEV);
	assert_errno(sgx2_remove(&E, &rm), ENODEV);
	assert_int_equal(rp.count, 0);
	assert_int_equal(mt.count, 0);
	assert_int_equal(rm.count, 0);
	assert_errno(ioctl(E.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, integ_unmapped_page()), ENODEV);
	assert_errno(ioctl(E.fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, integ_unmapped_page()), ENODEV);
	assert_errno(ioctl(E.fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, integ_unmapped_page()), ENODEV);
	/* Invalid arguments too: ENODEV comes first. */
	rp.length = 0;
	assert_errno(sgx2_restrict(&E, &rp), ENODEV);

	integ_load(&F, 0);
	assert_int_equal(encl_create(&F), 0);
	assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt), ENODEV);
	assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, integ_unmapped_page()), ENODEV);
	encl_free(&F);
	/* The enclave is unchanged: the heap page is still REG RW. */
	integ_write(&E, 0, heap, 3);
	assert_int_equal(integ_read(&E, 1, heap), 3);
}

/* No EAUG: an enclave write to a hole is SIGBUS, which the vDSO reports as the hardware #PF
 * (W|U, not present: 0x6); a read is 0x4. No EPC page is used. */
static void hole_fault_is_sigbus(void **state)
{
	struct sgx_enclave_run run;
	struct test_op wr = { .op = TOP_WRITE, .addr = hole + 0x123 * 8, .a = 1 };
	struct test_op rd = { .op = TOP_READ, .addr = hole + PG + 0x10 };
	uint64_t free0 = epc_free_pages();

	(void)state;
	integ_call_fault(&E, 0, &wr, &run, 14, 0x6, hole);
	integ_call_fault(&E, 1, &rd, &run, 14, 0x4, hole + PG);
	assert_int_equal(epc_free_pages(), free0);
	/* Resuming faults the same way again: nothing was added meanwhile. */
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x6);
	assert_int_equal(run.exception_addr, hole);
	assert_int_equal(epc_free_pages(), free0);
}

static sigjmp_buf bus_jmp;
static volatile void *bus_addr;
static volatile int bus_code;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	bus_addr = si->si_addr;
	bus_code = si->si_code;
	siglongjmp(bus_jmp, 1);
}

/* The same hole touched by the host program: SIGBUS (BUS_ADRERR) at the address. */
static void hole_host_access_sigbus(void **state)
{
	struct sigaction sa, old;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(hole + 2 * PG + 0x20);
	uint64_t free0 = epc_free_pages();

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	bus_addr = NULL;
	bus_code = 0;
	if (sigsetjmp(bus_jmp, 1) == 0) {
		(void)*p;
		fail_msg("a read of an enclave hole on SGX1 did not fault");
	}
	assert_int_equal(sigaction(SIGBUS, &old, NULL), 0);
	assert_ptr_equal(bus_addr, (void *)p);
	assert_int_equal(bus_code, BUS_ADRERR);
	assert_int_equal(epc_free_pages(), free0);
}

/* EACCEPT, EMODPE and EACCEPTCOPY are not leaves of an SGX1 CPU: #GP, reported through the
 * vDSO with no error code and no address. */
static void sgx2_leaves_gp(void **state)
{
	static const uint64_t ops[] = { TOP_EACCEPT, TOP_EMODPE, TOP_EACCEPTCOPY };
	struct sgx_enclave_run run;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct test_op op = { .op = ops[i], .addr = heap, .b = heap + PG,
				      .a = SI_R | SI_W | SI_REG | SI_PR };

		integ_call_fault(&E, 0, &op, &run, 13, 0, 0);
		encl_free(&E);
		setup(state);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static const char *const opts[] = { "--sgx1", NULL };
	const struct CMUnitTest tests[] = {
		T(cpuid_reports_sgx1_only),
		T(sgx2_ioctls_enodev),
		T(hole_fault_is_sigbus),
		T(hole_host_access_sigbus),
		T(sgx2_leaves_gp),
	};
	const char *sgx1 = getenv("SGXEMU_SGX1");

	if (!getenv("SGXEMU_TEST_RERUN"))
		integ_rerun(opts);
	if (!sgx1 || strcmp(sgx1, "1") != 0) {
		fprintf(stderr, "`sgxemu run --sgx1` did not set SGXEMU_SGX1=1\n");
		return 1;
	}
	return cmocka_run_group_tests_name("edmm_sgx1", tests, NULL, NULL);
}
