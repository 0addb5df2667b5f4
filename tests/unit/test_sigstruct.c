/* SIGSTRUCT: signing (lib/sign.c) and EINIT's checks (cpu/sigstruct.c).
 * Known answers come from tests/unit/kat/gen_kat.py (Python integers for RSA, hashlib), using the
 * committed test key tests/data/test_signing_key.pem (our own RSA-3072, e = 3, test-only key). */
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "cpu/arch.h"
#include "cpu/sigstruct.h"
#include "lib/sign.h"

#define KEY_FILE "tests/data/test_signing_key.pem"
/* MRENCLAVE of test_measure.c's fixed layout, used as ENCLAVEHASH. */
#define KAT_MRENCLAVE "e78eb014274b9bfaa462351b261e6fd886d356eb8c245d33bf7869c4918bc484"
#define KAT_MRSIGNER  "58ffc3c999a42d41c20863f65c7a34de5de848c14305fb636a8242c120a7cc5b"
/* SHA-256 of the whole 1808-byte SIGSTRUCT, and its first 32 signature bytes (LE). */
#define KAT_SIGSTRUCT_V0    "ccf9d5a64cd80bb38466e528a870233b0483cd0af3bd749fdba35095005d9f37"
#define KAT_SIG_V0          "1e70dd7c36d1bbcf8bafde075cb77bdb86baa46265f2e4b18ed5755aa87c43a9"
#define KAT_SIGSTRUCT_V8086 "1123c95314442a1989ad80a99142d14ce7e2e1aa1430753432dd4b1f1ec4219c"
#define KAT_SIG_V8086       "7bf5b043da01f1a9fd49d324c3a821fbe68b207a27f0d14730e167b159840cb5"

static EVP_PKEY *test_key;

static void hex_of(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_hex(const uint8_t *d, size_t n, const char *want)
{
	char hex[2 * 64 + 1];

	assert_true(n <= 64);
	hex_of(d, n, hex);
	assert_string_equal(hex, want);
}

static void assert_hex_not(const uint8_t *d, size_t n, const char *unwanted)
{
	char hex[2 * 64 + 1];

	assert_true(n <= 64);
	hex_of(d, n, hex);
	assert_string_not_equal(hex, unwanted);
}

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
}

/* The key is found from the working directory (make test runs from the top) or, failing that,
 * relative to this binary (<build>/tests/unit/<test>). */
static EVP_PKEY *load_test_key(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	EVP_PKEY *key = sign_load_key(KEY_FILE);
	ssize_t len;

	if (key)
		return key;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return NULL;
	exe[len] = '\0';
	snprintf(path, sizeof(path), "%s/../../../" KEY_FILE, dirname(exe));
	return sign_load_key(path);
}

static int group_setup(void **state)
{
	(void)state;
	test_key = load_test_key();
	if (!test_key)
		fprintf(stderr, "cannot load %s\n", KEY_FILE);
	return test_key ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(test_key);
	return 0;
}

/* The same fields gen_kat.py's sigstruct() fills, before signing. */
static void make_unsigned(struct sgx_sigstruct *s, uint32_t vendor)
{
	sign_sigstruct_init(s);
	s->header.vendor = vendor;
	s->header.date = 0x20240131;
	s->body.attributes.flags = SGX_ATTR_MODE64BIT;
	s->body.attributes.xfrm = 0x3;
	from_hex(KAT_MRENCLAVE, s->body.mrenclave, 32);
	s->body.isv_prod_id = 0x1234;
	s->body.isv_svn = 5;
}

static void make_signed(struct sgx_sigstruct *s, uint32_t vendor)
{
	make_unsigned(s, vendor);
	assert_int_equal(sign_sigstruct(s, test_key), 0);
}

static EVP_PKEY *gen_rsa(unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *key = NULL;

	assert_non_null(ctx);
	assert_non_null(bn);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0);
	assert_true(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) > 0);
	assert_int_equal(EVP_PKEY_generate(ctx, &key), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* --- signing ---------------------------------------------------------------------------- */

static void test_init_sets_only_headers(void **state)
{
	static const uint8_t h1[16] = { 0x06, 0, 0, 0, 0xE1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0 };
	static const uint8_t h2[16] = { 0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0 };
	struct sgx_sigstruct s;
	uint8_t *b = (uint8_t *)&s;

	(void)state;
	memset(&s, 0xAA, sizeof(s));
	sign_sigstruct_init(&s);
	assert_memory_equal(b, h1, 16);
	assert_memory_equal(b + 24, h2, 16);
	for (size_t i = 0; i < sizeof(s); i++) {
		if (i < 16 || (i >= 24 && i < 40))
			continue;
		assert_int_equal(b[i], 0);
	}
}

/* PKCS#1 v1.5 is deterministic, so our signer must reproduce the Python SIGSTRUCT byte for byte
 * (modulus, exponent, signature, Q1 and Q2 all little-endian). */
static void test_sign_matches_kat(void **state)
{
	struct sgx_sigstruct s;
	uint8_t d[32];

	(void)state;
	make_signed(&s, 0);
	assert_hex(s.signature, 32, KAT_SIG_V0);
	sha256(&s, sizeof(s), d);
	assert_hex(d, 32, KAT_SIGSTRUCT_V0);
	assert_int_equal(s.exponent, 3);
}

static void test_verify_accepts(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	assert_int_equal(sigstruct_verify(&s), SGX_SUCCESS);
}

static void test_vendor_intel_accepted(void **state)
{
	struct sgx_sigstruct s;
	uint8_t d[32];

	(void)state;
	make_signed(&s, 0x8086);
	assert_hex(s.signature, 32, KAT_SIG_V8086);
	sha256(&s, sizeof(s), d);
	assert_hex(d, 32, KAT_SIGSTRUCT_V8086);
	assert_int_equal(sigstruct_verify(&s), SGX_SUCCESS);
}

static void test_mrsigner_kat(void **state)
{
	struct sgx_sigstruct s;
	uint8_t d[32];

	(void)state;
	make_signed(&s, 0);
	assert_int_equal(sigstruct_mrsigner(&s, d), 0);
	assert_hex(d, 32, KAT_MRSIGNER);
	/* It depends on the modulus only. */
	s.body.isv_svn = 6;
	assert_int_equal(sign_sigstruct(&s, test_key), 0);
	assert_int_equal(sigstruct_mrsigner(&s, d), 0);
	assert_hex(d, 32, KAT_MRSIGNER);
	s.modulus[100] ^= 0x10;
	assert_int_equal(sigstruct_mrsigner(&s, d), 0);
	assert_hex_not(d, 32, KAT_MRSIGNER);
	assert_int_equal(sigstruct_mrsigner(NULL, d), -1);
	assert_int_equal(sigstruct_mrsigner(&s, NULL), -1);
}

static void test_sign_rejects_wrong_keys(void **state)
{
	EVP_PKEY *rsa2048_e3 = gen_rsa(2048, 3);
	EVP_PKEY *rsa3072_f4 = gen_rsa(3072, 65537);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	struct sgx_sigstruct s;

	(void)state;
	assert_non_null(ec);
	make_unsigned(&s, 0);
	assert_int_equal(sign_sigstruct(&s, rsa2048_e3), -1);
	assert_int_equal(sign_sigstruct(&s, rsa3072_f4), -1);
	assert_int_equal(sign_sigstruct(&s, ec), -1);
	assert_int_equal(sign_sigstruct(&s, NULL), -1);
	assert_int_equal(sign_sigstruct(NULL, test_key), -1);
	EVP_PKEY_free(rsa2048_e3);
	EVP_PKEY_free(rsa3072_f4);
	EVP_PKEY_free(ec);
}

static void test_generated_key_signs(void **state)
{
	EVP_PKEY *key = sign_generate_key();
	BIGNUM *e = NULL;
	struct sgx_sigstruct s;
	uint8_t d[32];

	(void)state;
	assert_non_null(key);
	assert_true(EVP_PKEY_is_a(key, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(key), 3072);
	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	assert_true(BN_is_word(e, 3));
	make_unsigned(&s, 0);
	assert_int_equal(sign_sigstruct(&s, key), 0);
	assert_int_equal(sigstruct_verify(&s), SGX_SUCCESS);
	assert_int_equal(sigstruct_mrsigner(&s, d), 0);
	assert_hex_not(d, 32, KAT_MRSIGNER);
	BN_free(e);
	EVP_PKEY_free(key);
}

static void test_load_key_errors(void **state)
{
	(void)state;
	assert_null(sign_load_key(NULL));
	assert_null(sign_load_key("/nonexistent/sgxemu/key.pem"));
	assert_null(sign_load_key("/dev/null"));
}

/* --- SGX_INVALID_SIG_STRUCT: the constant fields, vendor and exponent ---------------------- */

/* A header byte is flipped *before* signing, so the signature is valid and only the constant
 * check can reject it. */
static void test_header1_each_byte(void **state)
{
	(void)state;
	for (size_t i = 0; i < 16; i++) {
		struct sgx_sigstruct s;

		make_unsigned(&s, 0);
		s.header.header1[i] ^= 0x01;
		assert_int_equal(sign_sigstruct(&s, test_key), 0);
		assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIG_STRUCT);
	}
}

static void test_header2_each_byte(void **state)
{
	(void)state;
	for (size_t i = 0; i < 16; i++) {
		struct sgx_sigstruct s;

		make_unsigned(&s, 0);
		s.header.header2[i] ^= 0x80;
		assert_int_equal(sign_sigstruct(&s, test_key), 0);
		assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIG_STRUCT);
	}
}

static void test_vendor_other(void **state)
{
	static const uint32_t bad[] = { 0x1234, 0x8087, 0x80860000, 0x1, 0xFFFFFFFF };
	struct sgx_sigstruct s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_signed(&s, bad[i]);
		assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIG_STRUCT);
	}
}

static void test_exponent_not_3(void **state)
{
	static const uint32_t bad[] = { 65537, 0, 1, 5, 0x03000000 };
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.exponent = bad[i];
		assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIG_STRUCT);
	}
	s.exponent = 3;
	assert_int_equal(sigstruct_verify(&s), SGX_SUCCESS);
}

/* Constant fields are checked before the signature: both broken still reads as SIG_STRUCT. */
static void test_struct_checked_before_signature(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	s.signature[0] ^= 1;
	s.exponent = 65537;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIG_STRUCT);
	assert_int_equal(sigstruct_verify(NULL), SGX_INVALID_SIG_STRUCT);
}

/* --- SGX_INVALID_SIGNATURE ----------------------------------------------------------------- */

static void test_body_bit_changed(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	s.body.mrenclave[31] ^= 0x01;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	make_signed(&s, 0);
	s.body.isv_svn ^= 0x8000;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	/* DATE is not checked by the hardware, but it is signed. */
	make_signed(&s, 0);
	s.header.date ^= 0x1;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
}

static void test_signature_flipped(void **state)
{
	static const size_t at[] = { 0, 191, 383 };
	struct sgx_sigstruct s;

	(void)state;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		make_signed(&s, 0);
		s.signature[at[i]] ^= 0x04;
		assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	}
}

static void test_q1_wrong(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	s.q1[0] ^= 0x01; /* off by one */
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	make_signed(&s, 0);
	s.q1[383] ^= 0x80;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
}

static void test_q2_wrong(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	s.q2[0] ^= 0x01;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	make_signed(&s, 0);
	memset(s.q2, 0, sizeof(s.q2));
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
}

/* A correct signature whose Q1/Q2 were left zero (a signer that forgot them) is rejected:
 * the hardware cannot verify without them. */
static void test_q_values_required(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	memset(s.q1, 0, sizeof(s.q1));
	memset(s.q2, 0, sizeof(s.q2));
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
}

static void test_modulus_changed(void **state)
{
	static const size_t at[] = { 1, 200, 382 };
	struct sgx_sigstruct s;

	(void)state;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		make_signed(&s, 0);
		s.modulus[at[i]] ^= 0x20;
		assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	}
}

/* S must be below M: S = M (with the matching Q1 = M, Q2 = 0) is refused. */
static void test_signature_not_below_modulus(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	make_signed(&s, 0);
	memcpy(s.signature, s.modulus, sizeof(s.signature));
	memcpy(s.q1, s.modulus, sizeof(s.q1));
	memset(s.q2, 0, sizeof(s.q2));
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	memset(s.signature, 0xFF, sizeof(s.signature));
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
}

/* S + M has the same cube modulo M; with Q1/Q2 made to match it, only "S < M" can refuse it. */
static void test_signature_plus_modulus(void **state)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *n = BN_new(), *sig = BN_new(), *sq = BN_new(), *q1 = BN_new(), *t1 = BN_new();
	BIGNUM *q2 = BN_new(), *t2 = BN_new();
	struct sgx_sigstruct s;
	int tried = 0;

	(void)state;
	assert_true(ctx && n && sig && sq && q1 && t1 && q2 && t2);
	for (;;) { /* S + M must still fit 384 bytes: vary the body until it does */
		assert_true(++tried < 64);
		make_unsigned(&s, 0);
		s.body.isv_svn = (uint16_t)tried;
		assert_int_equal(sign_sigstruct(&s, test_key), 0);
		assert_int_equal(sigstruct_verify(&s), SGX_SUCCESS);
		assert_non_null(BN_lebin2bn(s.modulus, SGX_MODULUS_SIZE, n));
		assert_non_null(BN_lebin2bn(s.signature, SGX_MODULUS_SIZE, sig));
		assert_int_equal(BN_add(sig, sig, n), 1);
		if (BN_num_bytes(sig) <= SGX_MODULUS_SIZE)
			break;
	}
	assert_int_equal(BN_sqr(sq, sig, ctx), 1);
	assert_int_equal(BN_div(q1, t1, sq, n, ctx), 1);
	assert_int_equal(BN_mul(sq, sig, t1, ctx), 1);
	assert_int_equal(BN_div(q2, t2, sq, n, ctx), 1);
	assert_int_equal(BN_bn2lebinpad(sig, s.signature, SGX_MODULUS_SIZE), SGX_MODULUS_SIZE);
	assert_int_equal(BN_bn2lebinpad(q1, s.q1, SGX_MODULUS_SIZE), SGX_MODULUS_SIZE);
	assert_int_equal(BN_bn2lebinpad(q2, s.q2, SGX_MODULUS_SIZE), SGX_MODULUS_SIZE);
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	BN_free(n);
	BN_free(sig);
	BN_free(sq);
	BN_free(q1);
	BN_free(t1);
	BN_free(q2);
	BN_free(t2);
	BN_CTX_free(ctx);
}

/* --- robustness: any 1808 bytes ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	/* xorshift64: deterministic, so a failure reproduces */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_degenerate_integers(void **state)
{
	struct sgx_sigstruct s;

	(void)state;
	/* valid constants, all integers zero: modulus 0 is no key */
	sign_sigstruct_init(&s);
	s.exponent = 3;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIG_STRUCT);
	/* modulus 1 (so only S = 0 is below it); modulus 2 */
	s.modulus[0] = 1;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	s.modulus[0] = 2;
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	/* everything all-ones */
	memset(s.modulus, 0xFF, sizeof(s.modulus));
	memset(s.signature, 0xFF, sizeof(s.signature));
	memset(s.q1, 0xFF, sizeof(s.q1));
	memset(s.q2, 0xFF, sizeof(s.q2));
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
	/* real key, zero signature: 0^3 = 0 is not an encoding */
	make_signed(&s, 0);
	memset(s.signature, 0, sizeof(s.signature));
	memset(s.q1, 0, sizeof(s.q1));
	memset(s.q2, 0, sizeof(s.q2));
	assert_int_equal(sigstruct_verify(&s), SGX_INVALID_SIGNATURE);
}

static void test_random_structs(void **state)
{
	struct sgx_sigstruct s;
	uint8_t *b = (uint8_t *)&s;

	(void)state;
	for (int iter = 0; iter < 200; iter++) {
		for (size_t i = 0; i < sizeof(s); i++)
			b[i] = (uint8_t)rng();
		if (iter & 1) { /* get past the constant checks to the arithmetic */
			make_unsigned(&s, 0);
			for (size_t i = offsetof(struct sgx_sigstruct, modulus); i < sizeof(s); i++)
				b[i] = (uint8_t)rng();
			s.exponent = 3;
		}
		uint64_t rc = sigstruct_verify(&s);
		assert_true(rc == SGX_INVALID_SIG_STRUCT || rc == SGX_INVALID_SIGNATURE);
		if (iter & 1)
			assert_int_equal(rc, SGX_INVALID_SIGNATURE);
	}
}

/* One byte of a good SIGSTRUCT changed at a random place: only the 12 reserved bytes at 1028,
 * which are neither signed nor among the constant checks made here, may stay accepted. */
static void test_single_byte_mutations(void **state)
{
	struct sgx_sigstruct good, s;
	const size_t unsigned_lo = offsetof(struct sgx_sigstruct, reserved4);
	const size_t unsigned_hi = unsigned_lo + sizeof(good.reserved4);

	(void)state;
	make_signed(&good, 0);
	for (int iter = 0; iter < 400; iter++) {
		size_t off = (size_t)(rng() % sizeof(s));
		uint8_t x = (uint8_t)(rng() % 255 + 1);
		uint64_t rc;

		s = good;
		((uint8_t *)&s)[off] ^= x;
		rc = sigstruct_verify(&s);
		if (off >= unsigned_lo && off < unsigned_hi)
			continue; /* reserved and unsigned; no reserved-byte check is made yet */
		if (off < 20 || (off >= 24 && off < 40) ||
		    (off >= offsetof(struct sgx_sigstruct, exponent) &&
		     off < offsetof(struct sgx_sigstruct, signature)))
			assert_int_equal(rc, SGX_INVALID_SIG_STRUCT); /* HEADER, VENDOR, HEADER2, EXPONENT */
		else
			assert_int_equal(rc, SGX_INVALID_SIGNATURE); /* signed bytes, key, S, Q1, Q2 */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_sets_only_headers),
		cmocka_unit_test(test_sign_matches_kat),
		cmocka_unit_test(test_verify_accepts),
		cmocka_unit_test(test_vendor_intel_accepted),
		cmocka_unit_test(test_mrsigner_kat),
		cmocka_unit_test(test_sign_rejects_wrong_keys),
		cmocka_unit_test(test_generated_key_signs),
		cmocka_unit_test(test_load_key_errors),
		cmocka_unit_test(test_header1_each_byte),
		cmocka_unit_test(test_header2_each_byte),
		cmocka_unit_test(test_vendor_other),
		cmocka_unit_test(test_exponent_not_3),
		cmocka_unit_test(test_struct_checked_before_signature),
		cmocka_unit_test(test_body_bit_changed),
		cmocka_unit_test(test_signature_flipped),
		cmocka_unit_test(test_q1_wrong),
		cmocka_unit_test(test_q2_wrong),
		cmocka_unit_test(test_q_values_required),
		cmocka_unit_test(test_modulus_changed),
		cmocka_unit_test(test_signature_not_below_modulus),
		cmocka_unit_test(test_signature_plus_modulus),
		cmocka_unit_test(test_degenerate_integers),
		cmocka_unit_test(test_random_structs),
		cmocka_unit_test(test_single_byte_mutations),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
