/* AEX-Notify end to end: an enclave whose TCS and SSA frame opt in takes an AEX; the host's
 * ERESUME then delivers the notification (entry at OENTRY with CSSA = 1, the interrupted
 * frame still on the SSA stack), the enclave's handler pops that frame with EDECCSSA and
 * returns. A frame that did not opt in is resumed the classic way. */
#include <cpuid.h>
#include <dlfcn.h>

#include "tests/integ/integ.h"

#define TCS_FLAGS_OFF 8
#define TCS_NSSA_OFF 28

static struct encl E;
static uint64_t scratch;

/* CPUID as the program sees it (the emulator's answer where it cannot fault CPUID). */
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	int (*emu)(unsigned, unsigned, unsigned *) =
		(int (*)(unsigned, unsigned, unsigned *))dlsym(RTLD_DEFAULT, "sgxemu_cpuid");

	if (emu && emu(leaf, sub, r) == 0)
		return;
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

static int setup(void **state)
{
	uint32_t r[4];

	(void)state;
	cpuid(0x12, 0, r);
	if (!(r[0] & (1U << 11)))
		return 0; /* no EDECCSSA/AEX-Notify: the tests skip */
	memset(&E, 0, sizeof(E));
	integ_load(&E, 0);
	/* Both TCSs opt in (EENTER requires TCS.FLAGS.AEXNOTIFY = ATTRIBUTES.AEXNOTIFY); TCS 0
	 * gets the second SSA frame the bootstrap reserves. */
	for (unsigned i = 0; i < 2; i++) {
		uint8_t *tcs = E.seg[0].src + i * PG;
		uint64_t flags = SGX_TCS_FLAGS_AEXNOTIFY;
		uint32_t nssa = i == 0 ? 2 : 1;

		memcpy(tcs + TCS_FLAGS_OFF, &flags, sizeof(flags));
		memcpy(tcs + TCS_NSSA_OFF, &nssa, sizeof(nssa));
	}
	E.attributes |= SGX_ATTR_AEXNOTIFY;
	if (encl_build(&E, integ_key()) < 0)
		fail_msg("building the AEX-Notify enclave: %s (errno %d)", E.err, errno);
	scratch = integ_scratch(&E);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

static void need_aexnotify(void)
{
	if (E.fd <= 0 || !E.base) {
		fprintf(stderr, "# skipping: the CPU has no AEX-Notify (CPUID.12.0:EAX[11])\n");
		skip();
	}
}

/* EENTER TCS 0 with an op that arms the frame (opt_in) and writes to a page the host made
 * read-only: the AEX comes back through the vDSO as a #PF. */
static void arm_and_fault(struct test_op *a, struct sgx_enclave_run *run, uint64_t opt_in)
{
	*a = (struct test_op){ .op = TOP_NOTIFY_ARM, .a = 0xA11CE + opt_in, .b = opt_in,
			       .addr = scratch + 0x40 };
	integ_write(&E, 0, scratch + 0x40, 0);
	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ), 0);
	memset(run, 0, sizeof(*run));
	run->tcs = encl_tcs(&E, 0);
	assert_int_equal(encl_vdso_call(run, ENCLU_EENTER, (uint64_t)(uintptr_t)a, 0, 0), 0);
	assert_int_equal(run->function, ENCLU_ERESUME);
	assert_int_equal(run->exception_vector, 14);
	assert_int_equal(a->done, 0);
	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ | PROT_WRITE), 0);
}

static void notification_then_edeccssa(void **state)
{
	struct test_op a, h = { .op = TOP_NOTIFY_HANDLER };
	struct sgx_enclave_run run;

	(void)state;
	need_aexnotify();
	arm_and_fault(&a, &run, 1);
	/* The ERESUME delivers the notification: our op runs (RDI passes through, as for
	 * EENTER), with CSSA = 1 and the interrupted frame's opt-in visible below. */
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, (uint64_t)(uintptr_t)&h, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(h.done, 1);
	assert_int_equal(h.tcs, encl_tcs(&E, 0));
	assert_int_equal(h.out, 1);
	assert_int_equal(h.aux, 1);
	assert_int_equal(a.done, 0); /* the interrupted op was not resumed */
	assert_int_equal(integ_read(&E, 1, scratch + 0x40), 0);
	/* EDECCSSA popped the frame: nothing is left to resume (#GP), and TCS 0 enters at
	 * CSSA 0 again. */
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 13);
	h = (struct test_op){ .op = TOP_NOTIFY_HANDLER };
	integ_call(&E, 0, &h);
	assert_int_equal(h.out, 0);
}

/* Without EDECCSSA the handler leaves the frame: the next ERESUME notifies again. */
static void notification_repeats_without_edeccssa(void **state)
{
	struct test_op a, h = { .op = TOP_NOTIFY_HANDLER, .b = 1 };
	struct sgx_enclave_run run;

	(void)state;
	need_aexnotify();
	arm_and_fault(&a, &run, 1);
	for (int i = 0; i < 2; i++) {
		h.done = 0;
		assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, (uint64_t)(uintptr_t)&h, 0, 0), 0);
		assert_int_equal(run.function, ENCLU_EEXIT);
		assert_int_equal(h.done, 1);
		assert_int_equal(h.out, 1);
	}
	/* Now pop it. */
	h = (struct test_op){ .op = TOP_NOTIFY_HANDLER };
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, (uint64_t)(uintptr_t)&h, 0, 0), 0);
	assert_int_equal(h.out, 1);
	h = (struct test_op){ .op = TOP_NOTIFY_HANDLER };
	integ_call(&E, 0, &h);
	assert_int_equal(h.out, 0);
}

/* A frame that did not opt in resumes where it faulted. */
static void no_opt_in_resumes(void **state)
{
	struct test_op a;
	struct sgx_enclave_run run;

	(void)state;
	need_aexnotify();
	arm_and_fault(&a, &run, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.out, 1);
	assert_int_equal(integ_read(&E, 1, scratch + 0x40), a.a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(notification_then_edeccssa, setup, teardown),
		cmocka_unit_test_setup_teardown(notification_repeats_without_edeccssa, setup, teardown),
		cmocka_unit_test_setup_teardown(no_opt_in_resumes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
