/* MRENCLAVE and SIGSTRUCT: INIT succeeds only if the enclave was built exactly as measured
 * and signed; every deviation is EPERM (EINIT's error code is not passed on). */
#include "tests/integ/integ.h"

static void create_and_add(struct encl *e)
{
	if (encl_create(e) < 0 || encl_add_all(e) < 0)
		fail_msg("%s", e->err);
}

/* Signing the contents that were really added makes the same enclave initialise. */
static void resign_init_ok(struct encl *e)
{
	assert_int_equal(encl_sign(e, integ_key()), 0);
	assert_int_equal(encl_init(e), 0);
	assert_int_equal(encl_map(e), 0);
}

/* A data byte changed after signing. */
static void data_changed_after_signing(void **state)
{
	struct encl e;
	uint64_t scratch;

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	e.seg[2].src[0x100] ^= 0xff; /* the first data page is the first scratch page */
	create_and_add(&e);
	assert_errno(encl_init(&e), EPERM);
	/* INIT may be retried after a failure. */
	resign_init_ok(&e);
	scratch = integ_scratch(&e);
	assert_int_equal(scratch, e.base + e.seg[2].offset);
	assert_int_equal(integ_read(&e, 0, scratch + 0x100) & 0xff, 0xff);
	encl_free(&e);
}

static void code_changed_after_signing(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	e.seg[1].src[e.seg[1].size - 1] ^= 1; /* padding at the end of the code page */
	create_and_add(&e);
	assert_errno(encl_init(&e), EPERM);
	encl_free(&e);
}

/* The heap is added without EEXTEND: its contents are not part of MRENCLAVE. */
static void heap_not_measured(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, PG);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	memset(e.seg[e.nseg - 1].src, 0x77, PG);
	create_and_add(&e);
	assert_int_equal(encl_init(&e), 0);
	assert_int_equal(encl_map(&e), 0);
	assert_int_equal(integ_read(&e, 0, e.base + e.heap_offset + 0x80), 0x7777777777777777ULL);
	encl_free(&e);
}

/* A measured segment added without SGX_PAGE_MEASURE. */
static void page_not_extended(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	e.seg[1].flags = 0;
	create_and_add(&e);
	assert_errno(encl_init(&e), EPERM);
	resign_init_ok(&e); /* measured as added: fine */
	encl_free(&e);
}

/* The same pages added in another order. */
static void pages_in_other_order(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	assert_int_equal(encl_create(&e), 0);
	assert_int_equal(encl_add_seg(&e, 0), 0);
	assert_int_equal(encl_add_seg(&e, 2), 0);
	assert_int_equal(encl_add_seg(&e, 1), 0);
	assert_errno(encl_init(&e), EPERM);
	encl_free(&e);
}

/* ECREATE with another size than the signed one (the ECREATE record holds the size). */
static void other_size(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	e.size *= 2;
	create_and_add(&e);
	assert_errno(encl_init(&e), EPERM);
	encl_free(&e);
}

/* The signer asked for DEBUG (and masks it): a non-debug SECS does not match. */
static void attributes_mismatch(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, 0);
	e.attributes = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	e.attributes = SGX_ATTR_MODE64BIT;
	create_and_add(&e);
	assert_errno(encl_init(&e), EPERM);
	encl_free(&e);
}

/* A debug enclave signed as such works. */
static void debug_enclave(void **state)
{
	struct encl e;
	struct test_op op = { .op = TOP_ADD, .a = 20, .b = 22 };

	(void)state;
	integ_load(&e, 0);
	e.attributes = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	if (encl_build(&e, integ_key()) < 0)
		fail_msg("%s", e.err);
	integ_call(&e, 1, &op);
	assert_int_equal(op.out, 42);
	encl_free(&e);
}

/* Flexible launch control: any RSA-3072/e=3 signer is accepted. */
static void any_signer(void **state)
{
	struct encl e;
	struct test_op op = { .op = TOP_NOP };
	EVP_PKEY *key = sign_generate_key();

	(void)state;
	assert_non_null(key);
	integ_load(&e, 0);
	if (encl_build(&e, key) < 0)
		fail_msg("%s", e.err);
	integ_call(&e, 0, &op);
	EVP_PKEY_free(key);
	encl_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(data_changed_after_signing),
		cmocka_unit_test(code_changed_after_signing),
		cmocka_unit_test(heap_not_measured),
		cmocka_unit_test(page_not_extended),
		cmocka_unit_test(pages_in_other_order),
		cmocka_unit_test(other_size),
		cmocka_unit_test(attributes_mismatch),
		cmocka_unit_test(debug_enclave),
		cmocka_unit_test(any_signer),
	};

	return cmocka_run_group_tests_name("measurement", tests, NULL, NULL);
}
