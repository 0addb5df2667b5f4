/* Exceptions inside the enclave reported through the vDSO: in struct sgx_enclave_run, and to
 * a user handler; then ERESUME continues the enclave where it faulted. */
#include "tests/integ/integ.h"

/* A fresh enclave for every test: a fault leaves its TCS with a used SSA frame. */
static struct encl E;
static uint64_t scratch; /* two enclave pages, RW in EPCM and VMA */

static int setup(void **state)
{
	(void)state;
	integ_build(&E, 0);
	scratch = integ_scratch(&E);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

static void enter_raw(struct sgx_enclave_run *run, unsigned tcs, struct test_op *op, int want_rc)
{
	memset(run, 0, sizeof(*run));
	run->tcs = encl_tcs(&E, tcs);
	op->done = 0;
	assert_int_equal(encl_vdso_call(run, ENCLU_EENTER, (uint64_t)(uintptr_t)op, 0, 0), want_rc);
}

/* A write to a page the host mapped read-only: #PF with P|W|U (0x7) at the page, reported
 * after an AEX (function = ERESUME); fixing the mapping and ERESUME completes the write. */
static void write_to_readonly_page(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_WRITE, .addr = scratch + 0x18, .a = 0x1122 };

	(void)state;
	integ_write(&E, 0, scratch + 0x18, 0);
	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ), 0);
	enter_raw(&run, 0, &op, 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x7);
	assert_int_equal(run.exception_addr, scratch);
	assert_int_equal(op.done, 0);

	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(op.done, 1);
	/* The vDSO writes the exception fields only on exceptions and never clears them. */
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x7);
	assert_int_equal(run.exception_addr, scratch);
	assert_int_equal(integ_read(&E, 1, scratch + 0x18), 0x1122);
}

/* The same write to a page nobody touched since it was mapped: no PTE yet, so the error code
 * lacks P (W|U = 0x6). */
static void write_to_untouched_readonly_page(void **state)
{
	uint64_t page = scratch + PG;
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_WRITE, .addr = page + 0x80, .a = 0x77 };

	(void)state;
	assert_int_equal(mprotect((void *)(uintptr_t)page, PG, PROT_READ), 0);
	enter_raw(&run, 0, &op, 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x6);
	assert_int_equal(run.exception_addr, page);
	assert_int_equal(mprotect((void *)(uintptr_t)page, PG, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(integ_read(&E, 1, page + 0x80), 0x77);
}

/* A read of a PROT_NONE page: the PTE is not present to the CPU, so the error code is U (4). */
static void read_prot_none_page(void **state)
{
	uint64_t page = scratch + PG;
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_READ, .addr = page + 0x230 };

	(void)state;
	integ_write(&E, 0, page + 0x230, 0x600d);
	assert_int_equal(mprotect((void *)(uintptr_t)page, PG, PROT_NONE), 0);
	enter_raw(&run, 1, &op, 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x4);
	assert_int_equal(run.exception_addr, page);
	assert_int_equal(op.done, 0);

	assert_int_equal(mprotect((void *)(uintptr_t)page, PG, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(op.done, 1);
	assert_int_equal(op.out, 0x600d);
}

static int calls;
static long seen[6];
static struct sgx_enclave_run seen_run;
static struct sgx_enclave_run *seen_run_ptr;
static int fix_and_resume;

static int handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
		   struct sgx_enclave_run *run)
{
	calls++;
	if (run->function == ENCLU_EEXIT)
		return 0;
	seen[0] = rdi;
	seen[1] = rsi;
	seen[2] = rdx;
	seen[3] = ursp;
	seen[4] = r8;
	seen[5] = r9;
	seen_run = *run;
	seen_run_ptr = run;
	if (fix_and_resume) {
		/* Positive results are the next ENCLU leaf: resume after fixing the cause. */
		mprotect((void *)(uintptr_t)scratch, PG, PROT_READ | PROT_WRITE);
		return ENCLU_ERESUME;
	}
	return -5;
}

/* The user handler gets vector, error code and address as RDI, RSI, RDX (R8/R9 zeroed by the
 * AEX), the same values in run, and its return value goes back to the caller. */
static void user_handler_sees_exception(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_WRITE, .addr = scratch + 0x400, .a = 0xbeef };

	(void)state;
	calls = 0;
	fix_and_resume = 0;
	integ_write(&E, 0, scratch + 0x400, 0); /* the PTE exists: 0x7, not 0x6 */
	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ), 0);
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	run.user_handler = (uint64_t)(uintptr_t)handler;
	run.user_data = 0x42;
	op.done = 0;
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0), -5);
	assert_int_equal(calls, 1);
	assert_ptr_equal(seen_run_ptr, &run);
	assert_int_equal(seen[0], 14);
	assert_int_equal(seen[1], 0x7);
	assert_int_equal(seen[2], (long)scratch);
	assert_int_equal(seen[4], 0);
	assert_int_equal(seen[5], 0);
	assert_true(seen[3] != 0);
	assert_int_equal(seen_run.function, ENCLU_ERESUME);
	assert_int_equal(seen_run.exception_vector, 14);
	assert_int_equal(seen_run.exception_error_code, 0x7);
	assert_int_equal(seen_run.exception_addr, scratch);
	assert_int_equal(seen_run.user_data, 0x42);
	assert_int_equal(op.done, 0);

	/* Now let the handler fix the mapping and answer ERESUME: the write completes, and the
	 * handler runs once more for the EEXIT. */
	calls = 0;
	fix_and_resume = 1;
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(op.done, 1);
	assert_int_equal(integ_read(&E, 1, scratch + 0x400), 0xbeef);
}

/* #UD inside the enclave: vector 6, no error code, no address. With NSSA = 1 the TCS then has
 * no free SSA frame, so EENTER on it is a #GP reported with function = EENTER; ERESUME runs
 * the UD2 again; the other TCS is unaffected. */
static void ud2_then_tcs_full(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_UD2 };
	struct test_op nop = { .op = TOP_NOP };

	(void)state;
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 1);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 6);
	assert_int_equal(run.exception_error_code, 0);
	assert_int_equal(run.exception_addr, 0);

	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 1);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&nop, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EENTER);
	assert_int_equal(run.exception_vector, 13);
	assert_int_equal(run.exception_error_code, 0);
	assert_int_equal(run.exception_addr, 0);
	assert_int_equal(nop.done, 0);

	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 1);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 6);

	integ_call(&E, 0, &nop);
}

/* A NULL dereference inside the enclave: #PF, not present, user read (0x4), address 0. */
static void null_read(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_READ, .addr = 0 };
	struct test_op nop = { .op = TOP_NOP };

	(void)state;
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x4);
	assert_int_equal(run.exception_addr, 0);
	assert_int_equal(op.done, 0);
	integ_call(&E, 1, &nop);
}

/* The enclave writing its own code page (mapped R-X): PTE write protection, 0x7. */
static void write_to_code_page(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_WRITE, .a = 1 };
	uint64_t text;

	(void)state;
	text = (uint64_t)(uintptr_t)encl_seg_addr(&E, 1);
	op.addr = text + 0x10;
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x7);
	assert_int_equal(run.exception_addr, text);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(write_to_readonly_page),
		T(write_to_untouched_readonly_page),
		T(read_prot_none_page),
		T(user_handler_sees_exception),
		T(ud2_then_tcs_full),
		T(null_read),
		T(write_to_code_page),
	};

	return cmocka_run_group_tests_name("exception", tests, NULL, NULL);
}
