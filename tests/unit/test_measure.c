/* MRENCLAVE known answers. The expected digests come from tests/unit/kat/gen_kat.py (hashlib),
 * not from our C code; rerun it from the repository root to re-derive them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/arch.h"
#include "cpu/measure.h"

#define KAT_ECREATE_ONLY "03c79954895fe98c9bd1b86ebe8b7b1748b65bfc30085dd387cb4351e7de51e2"
#define KAT_ECREATE_EADD "261636a2341e04edf24da191277ae4d03689c2d48e05e1e0f575ee28c7a7de82"
#define KAT_LAYOUT       "e78eb014274b9bfaa462351b261e6fd886d356eb8c245d33bf7869c4918bc484"

static void hex_of(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_digest(struct measure *m, const char *want)
{
	uint8_t d[32];
	char hex[65];

	assert_int_equal(measure_digest(m, d), 0);
	hex_of(d, hex);
	assert_string_equal(hex, want);
}

static void assert_digest_not(struct measure *m, const char *unwanted)
{
	uint8_t d[32];
	char hex[65];

	assert_int_equal(measure_digest(m, d), 0);
	hex_of(d, hex);
	assert_string_not_equal(hex, unwanted);
}

/* Same page contents as gen_kat.py: tcs_page() and reg_page(). */
static void tcs_page(uint8_t p[SGX_PAGE_SIZE])
{
	uint64_t ossa = 0x3000, oentry = 0x1000;
	uint32_t nssa = 1;

	memset(p, 0, SGX_PAGE_SIZE);
	memcpy(p + offsetof(struct sgx_tcs, ossa), &ossa, sizeof(ossa));
	memcpy(p + offsetof(struct sgx_tcs, nssa), &nssa, sizeof(nssa));
	memcpy(p + offsetof(struct sgx_tcs, oentry), &oentry, sizeof(oentry));
}

static void reg_page(uint8_t p[SGX_PAGE_SIZE])
{
	for (unsigned i = 0; i < SGX_PAGE_SIZE; i++)
		p[i] = (uint8_t)(i * 31 + 7);
}

static void measure_page(struct measure *m, uint64_t off, uint64_t flags, const uint8_t *page)
{
	assert_int_equal(measure_eadd(m, off, flags), 0);
	for (unsigned c = 0; page && c < SGX_PAGE_SIZE; c += 256)
		assert_int_equal(measure_eextend(m, off + c, page + c), 0);
}

/* Variations, each changing one input the measurement must cover. */
enum layout_variant {
	LAYOUT_KAT, LAYOUT_SSA2, LAYOUT_SIZE, LAYOUT_DATA_BYTE, LAYOUT_FLAGS, LAYOUT_OFFSET,
	LAYOUT_ORDER, LAYOUT_UNMEASURED_EXTENDED,
};

static void measure_layout(struct measure *m, enum layout_variant v)
{
	static uint8_t tcs[SGX_PAGE_SIZE];
	static uint8_t reg[SGX_PAGE_SIZE];
	static uint8_t other[SGX_PAGE_SIZE];

	tcs_page(tcs);
	reg_page(reg);
	memset(other, 0, sizeof(other));
	if (v == LAYOUT_DATA_BYTE)
		reg[0xABC] ^= 0x01;

	assert_int_equal(measure_ecreate(m, v == LAYOUT_SSA2 ? 2 : 1,
					 v == LAYOUT_SIZE ? 0x20000 : 0x10000), 0);
	if (v == LAYOUT_ORDER) {
		measure_page(m, 0x1000, 0x205, reg);
		measure_page(m, 0x0000, 0x100, tcs);
	} else {
		measure_page(m, 0x0000, 0x100, tcs);
		measure_page(m, v == LAYOUT_OFFSET ? 0x4000 : 0x1000,
			     v == LAYOUT_FLAGS ? 0x207 : 0x205, reg);
	}
	measure_page(m, 0x2000, 0x203, v == LAYOUT_UNMEASURED_EXTENDED ? other : NULL);
}

static void test_ecreate_record(void **state)
{
	struct measure *m = measure_new();

	(void)state;
	assert_non_null(m);
	assert_int_equal(measure_ecreate(m, 1, 0x10000), 0);
	assert_digest(m, KAT_ECREATE_ONLY);
	measure_free(m);
}

static void test_eadd_record(void **state)
{
	struct measure *m = measure_new();

	(void)state;
	assert_non_null(m);
	assert_int_equal(measure_ecreate(m, 1, 0x10000), 0);
	assert_int_equal(measure_eadd(m, 0, 0x100), 0);
	assert_digest(m, KAT_ECREATE_EADD);
	measure_free(m);
}

static void test_layout_kat(void **state)
{
	struct measure *m = measure_new();

	(void)state;
	assert_non_null(m);
	measure_layout(m, LAYOUT_KAT);
	assert_digest(m, KAT_LAYOUT);
	measure_free(m);
}

/* Reading the digest must not disturb the running hash (EINIT reads it; tools read it early). */
static void test_digest_keeps_running_state(void **state)
{
	struct measure *m = measure_new();
	uint8_t page[SGX_PAGE_SIZE];

	(void)state;
	assert_non_null(m);
	assert_int_equal(measure_ecreate(m, 1, 0x10000), 0);
	assert_digest(m, KAT_ECREATE_ONLY);
	assert_digest(m, KAT_ECREATE_ONLY);
	assert_int_equal(measure_eadd(m, 0, 0x100), 0);
	assert_digest(m, KAT_ECREATE_EADD);
	tcs_page(page);
	for (unsigned c = 0; c < SGX_PAGE_SIZE; c += 256) {
		assert_int_equal(measure_eextend(m, c, page + c), 0);
		if (c == 0x800)
			assert_digest_not(m, KAT_LAYOUT);
	}
	reg_page(page);
	measure_page(m, 0x1000, 0x205, page);
	measure_page(m, 0x2000, 0x203, NULL);
	assert_digest(m, KAT_LAYOUT);
	assert_digest(m, KAT_LAYOUT);
	measure_free(m);
}

/* ECREATE starts over: nothing measured before it may leak into the result. */
static void test_ecreate_restarts(void **state)
{
	struct measure *m = measure_new();
	uint8_t junk[256];

	(void)state;
	assert_non_null(m);
	memset(junk, 0x5A, sizeof(junk));
	assert_int_equal(measure_ecreate(m, 7, 0x123000), 0);
	assert_int_equal(measure_eadd(m, 0x5000, 0x201), 0);
	assert_int_equal(measure_eextend(m, 0x5000, junk), 0);
	measure_layout(m, LAYOUT_KAT);
	assert_digest(m, KAT_LAYOUT);
	measure_free(m);
}

/* Every input must reach the hash: each one-field change gives a different MRENCLAVE. */
static void test_every_field_counts(void **state)
{
	static const enum layout_variant variants[] = {
		LAYOUT_SSA2, LAYOUT_SIZE, LAYOUT_DATA_BYTE, LAYOUT_FLAGS, LAYOUT_OFFSET,
		LAYOUT_ORDER, LAYOUT_UNMEASURED_EXTENDED,
	};
	uint8_t seen[sizeof(variants) / sizeof(variants[0])][32];

	(void)state;
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct measure *m = measure_new();

		assert_non_null(m);
		measure_layout(m, variants[i]);
		assert_digest_not(m, KAT_LAYOUT);
		assert_int_equal(measure_digest(m, seen[i]), 0);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], 32);
		measure_free(m);
	}
}

/* Two measurements are independent objects. */
static void test_independent_instances(void **state)
{
	struct measure *a = measure_new(), *b = measure_new();

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(measure_ecreate(a, 1, 0x10000), 0);
	measure_layout(b, LAYOUT_KAT);
	assert_digest(a, KAT_ECREATE_ONLY);
	assert_digest(b, KAT_LAYOUT);
	measure_free(a);
	measure_free(b);
}

static void test_null_arguments(void **state)
{
	struct measure *m = measure_new();
	uint8_t d[32], data[256] = { 0 };

	(void)state;
	assert_non_null(m);
	assert_int_equal(measure_ecreate(NULL, 1, 0x1000), -1);
	assert_int_equal(measure_eadd(NULL, 0, 0x201), -1);
	assert_int_equal(measure_eextend(NULL, 0, data), -1);
	assert_int_equal(measure_eextend(m, 0, NULL), -1);
	assert_int_equal(measure_digest(NULL, d), -1);
	assert_int_equal(measure_digest(m, NULL), -1);
	measure_free(NULL);
	measure_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecreate_record),
		cmocka_unit_test(test_eadd_record),
		cmocka_unit_test(test_layout_kat),
		cmocka_unit_test(test_digest_keeps_running_state),
		cmocka_unit_test(test_ecreate_restarts),
		cmocka_unit_test(test_every_field_counts),
		cmocka_unit_test(test_independent_instances),
		cmocka_unit_test(test_null_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
