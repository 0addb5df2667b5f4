/* A complete build (ECREATE, ADD_PAGES, INIT, mmap) and calls through
 * __vdso_sgx_enter_enclave: values round-trip, state persists, the run struct is handled as
 * the kernel's vDSO handles it. */
#include "tests/integ/integ.h"

static struct encl E;

static int setup(void **state)
{
	(void)state;
	integ_build(&E, 2 * PG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

/* The entry point is found in the vDSO image through DT_HASH; unknown names are not. */
static void vdso_symbol(void **state)
{
	(void)state;
	assert_non_null(encl_vdso());
	assert_ptr_equal((void *)encl_vdso(), encl_vdso_sym("__vdso_sgx_enter_enclave"));
	assert_null(encl_vdso_sym("__vdso_sgx_no_such_function"));
}

static void add_round_trip(void **state)
{
	static const uint64_t vals[][2] = {
		{ 0, 0 }, { 40, 2 }, { 0xffffffffffffffffULL, 2 }, { 0x123456789abcdefULL, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		struct test_op op = { .op = TOP_ADD, .a = vals[i][0], .b = vals[i][1] };

		integ_call(&E, i % 2, &op);
		assert_int_equal(op.out, vals[i][0] + vals[i][1]);
	}
}

/* On EEXIT the vDSO sets function = 4 and leaves the exception fields and user_data alone. */
static void eexit_run_fields(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_ADD, .a = 1, .b = 2 };
	int rc;

	(void)state;
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	run.function = 0x77;
	run.exception_vector = 0xaaaa;
	run.exception_error_code = 0xbbbb;
	run.exception_addr = 0xcccc;
	run.user_data = 0x1234;
	rc = encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(run.exception_vector, 0xaaaa);
	assert_int_equal(run.exception_error_code, 0xbbbb);
	assert_int_equal(run.exception_addr, 0xcccc);
	assert_int_equal(run.user_data, 0x1234);
	assert_int_equal(run.tcs, encl_tcs(&E, 0));
	assert_int_equal(op.out, 3);
}

static void both_tcs(void **state)
{
	(void)state;
	for (unsigned t = 0; t < E.ntcs; t++) {
		struct test_op op = { .op = TOP_NOP };

		integ_call(&E, t, &op); /* checks op.tcs == TCS t */
	}
	assert_int_equal(E.ntcs, 2);
}

/* The counter is enclave memory: it persists across calls and is shared by both TCSs. */
static void counter_persists(void **state)
{
	uint64_t first;

	(void)state;
	first = integ_counter(&E, 0);
	assert_int_equal(integ_counter(&E, 1), first + 1);
	assert_int_equal(integ_counter(&E, 0), first + 2);
}

/* The enclave reads and writes host memory directly. */
static void host_memory(void **state)
{
	static uint8_t buf[10000];
	uint64_t want = 0, word = 0x1122334455667788ULL;
	struct test_op op = { .op = TOP_CHECKSUM };

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(i * 13 + 5);
		want += buf[i];
	}
	op.addr = (uintptr_t)buf;
	op.a = sizeof(buf);
	integ_call(&E, 0, &op);
	assert_int_equal(op.out, want);

	assert_int_equal(integ_read(&E, 1, (uintptr_t)&word), 0x1122334455667788ULL);
	integ_write(&E, 0, (uintptr_t)&word, 0xfeedfacecafebeefULL);
	assert_int_equal(word, 0xfeedfacecafebeefULL);
}

/* Initialised data was added and measured as the image has it (first scratch byte is 1);
 * the unmeasured heap starts zeroed and is writable from inside. */
static void image_and_heap(void **state)
{
	uint64_t scratch, heap = E.base + E.heap_offset;

	(void)state;
	scratch = integ_scratch(&E);
	assert_int_equal(integ_read(&E, 0, scratch), 1);
	assert_int_equal(E.heap_size, 2 * PG);
	assert_int_equal(integ_read(&E, 0, heap + PG + 8), 0);
	integ_write(&E, 1, heap + PG + 8, 0xabcdef);
	assert_int_equal(integ_read(&E, 0, heap + PG + 8), 0xabcdef);
	integ_write(&E, 0, scratch + 64, 0x5a5a);
	assert_int_equal(integ_read(&E, 1, scratch + 64), 0x5a5a);
}

static int handler_calls;
static long handler_args[6];
static struct sgx_enclave_run *handler_run;
static uint32_t handler_function;
static int handler_result;

static int record_handler(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
			  struct sgx_enclave_run *run)
{
	handler_calls++;
	handler_args[0] = rdi;
	handler_args[1] = rsi;
	handler_args[2] = rdx;
	handler_args[3] = ursp;
	handler_args[4] = r8;
	handler_args[5] = r9;
	handler_run = run;
	handler_function = run->function;
	run->user_data = 0;
	return handler_result;
}

/* The user handler runs on a normal EEXIT too; RDI..R9 are what the enclave left (our entry
 * stub clears them), and its result is what the vDSO returns. */
static void user_handler(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_ADD, .a = 5, .b = 6 };
	int rc;

	(void)state;
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 1);
	run.user_handler = (uint64_t)(uintptr_t)record_handler;
	run.user_data = 0xdeadbeef;
	handler_calls = 0;
	handler_result = 0;
	rc = encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(handler_calls, 1);
	assert_ptr_equal(handler_run, &run);
	assert_int_equal(handler_function, ENCLU_EEXIT);
	assert_int_equal(run.user_data, 0);
	assert_int_equal(handler_args[0], 0);
	assert_int_equal(handler_args[1], 0);
	assert_int_equal(handler_args[2], 0);
	assert_int_equal(handler_args[4], 0);
	assert_int_equal(handler_args[5], 0);
	assert_true(handler_args[3] != 0); /* the untrusted RSP at exit */
	assert_int_equal(op.out, 11);

	handler_result = -77;
	op.out = 0;
	rc = encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0);
	assert_int_equal(rc, -77);
	assert_int_equal(handler_calls, 2);
	assert_int_equal(op.out, 11);
}

/* Leaves other than EENTER/ERESUME and non-zero reserved bytes give -EINVAL without entering. */
static void vdso_einval(void **state)
{
	static const unsigned bad[] = { 0, 1, 4, 5, 0x80000002u, 0xffffffffu };
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_NOP };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&run, 0, sizeof(run));
		run.tcs = encl_tcs(&E, 0);
		run.function = 0x55;
		op.done = 0;
		assert_int_equal(encl_vdso_call(&run, bad[i], (uint64_t)(uintptr_t)&op, 0, 0),
				 -EINVAL);
		assert_int_equal(run.function, 0x55);
		assert_int_equal(op.done, 0);
	}
	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&E, 0);
	run.reserved[215] = 1;
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0),
			 -EINVAL);
	assert_int_equal(op.done, 0);
	assert_int_equal(run.function, 0);
}

/* Mappings keep the enclave alive after close(fd); unmapping and mapping again keeps its
 * memory (Linux: the VMA pins the file; pages are found by address). */
static void close_and_remap(void **state)
{
	struct encl e;
	uint64_t c;
	int fd;

	(void)state;
	integ_build(&e, 0);
	c = integ_counter(&e, 0);
	fd = dup(e.fd);
	assert_true(fd >= 0);
	assert_int_equal(close(e.fd), 0);
	e.fd = -1;
	assert_int_equal(integ_counter(&e, 1), c + 1);

	/* Data segment (index 2): unmap, map again through the remaining fd. */
	assert_int_equal(munmap(encl_seg_addr(&e, 2), e.seg[2].size), 0);
	assert_ptr_equal(mmap(encl_seg_addr(&e, 2), e.seg[2].size, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_FIXED, fd, 0),
			 encl_seg_addr(&e, 2));
	assert_int_equal(integ_counter(&e, 0), c + 2);
	e.fd = fd;
	encl_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vdso_symbol),
		cmocka_unit_test(add_round_trip),
		cmocka_unit_test(eexit_run_fields),
		cmocka_unit_test(both_tcs),
		cmocka_unit_test(counter_persists),
		cmocka_unit_test(host_memory),
		cmocka_unit_test(image_and_heap),
		cmocka_unit_test(user_handler),
		cmocka_unit_test(vdso_einval),
		cmocka_unit_test(close_and_remap),
	};

	return cmocka_run_group_tests_name("ecall", tests, setup, teardown);
}
