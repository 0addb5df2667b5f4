/* libFuzzer target: SIGSTRUCT verification as EINIT makes it (cpu/sigstruct.c) and the
 * signer (lib/sign.c).
 *
 * Input: a mode byte, then data.
 *   Mode even: data (zero-padded to 1808 bytes) is a SIGSTRUCT. sigstruct_verify must give
 *     exactly what the SDM's checks, restated here independently, give: INVALID_SIG_STRUCT
 *     for bad constant headers, vendor, exponent or a zero modulus; SUCCESS only when
 *     SIGNATURE < MODULUS, Q1 = floor(S^2 / M), Q2 = floor(S * (S^2 mod M) / M) and S^3 mod M
 *     is the PKCS#1 v1.5 encoding of SHA-256(header || body); INVALID_SIGNATURE otherwise.
 *     For a proper 3072-bit odd modulus OpenSSL's own RSA verification must agree too.
 *   Mode odd: data gives HEADER and BODY (256 bytes), the SIGSTRUCT is signed with the test key
 *     (sign_sigstruct) and must verify; then one byte, chosen by the input, is changed, and
 *     it must no longer verify unless the byte is in the 12 reserved bytes no check covers.
 * Seeds: valid SIGSTRUCTs (tests/fuzz/corpus/sigstruct/). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "cpu/sigstruct.h"
#include "tests/lib/sgx_fixture.h"
#include "lib/sign.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SIGSZ sizeof(struct sgx_sigstruct)

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...);

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_sigstruct: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static BIGNUM *le(const uint8_t *p)
{
	BIGNUM *b = BN_lebin2bn(p, SGX_MODULUS_SIZE, NULL);

	if (!b)
		fail("out of memory");
	return b;
}

/* EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of SHA-256(header || body), 384 bytes, big-endian. */
static void expected_em(const struct sgx_sigstruct *s, uint8_t em[SGX_MODULUS_SIZE])
{
	static const uint8_t der[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	uint8_t msg[256];
	unsigned int n = 0;
	size_t t = sizeof(der) + 32;

	memcpy(msg, &s->header, 128);
	memcpy(msg + 128, &s->body, 128);
	memset(em, 0xFF, SGX_MODULUS_SIZE);
	em[0] = 0;
	em[1] = 1;
	em[SGX_MODULUS_SIZE - t - 1] = 0;
	memcpy(em + SGX_MODULUS_SIZE - t, der, sizeof(der));
	if (EVP_Digest(msg, sizeof(msg), em + SGX_MODULUS_SIZE - 32, &n, EVP_sha256(), NULL) != 1)
		fail("SHA-256");
}

static bool headers_ok(const struct sgx_sigstruct *s)
{
	struct sgx_sigstruct ref;

	sign_sigstruct_init(&ref);
	return !memcmp(s->header.header1, ref.header.header1, 16) &&
	       !memcmp(s->header.header2, ref.header.header2, 16) &&
	       (s->header.vendor == 0 || s->header.vendor == 0x8086) && s->exponent == 3;
}

/* OpenSSL's verdict on the RSA signature alone (modulus and exponent 3 from s). */
static int openssl_verify(const struct sgx_sigstruct *s, const BIGNUM *n)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *vctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *e = BN_new();
	uint8_t msg[256], sigbe[SGX_MODULUS_SIZE], digest[32];
	unsigned int dn = 0;
	int ok = -1;

	memcpy(msg, &s->header, 128);
	memcpy(msg + 128, &s->body, 128);
	for (unsigned i = 0; i < SGX_MODULUS_SIZE; i++)
		sigbe[i] = s->signature[SGX_MODULUS_SIZE - 1 - i];
	if (!bld || !e || !BN_set_word(e, 3) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    EVP_Digest(msg, sizeof(msg), digest, &dn, EVP_sha256(), NULL) != 1 ||
	    !(vctx = EVP_PKEY_CTX_new(key, NULL)) || EVP_PKEY_verify_init(vctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(vctx, EVP_sha256()) <= 0)
		goto out;
	ok = EVP_PKEY_verify(vctx, sigbe, sizeof(sigbe), digest, sizeof(digest)) == 1;
out:
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(e);
	return ok;
}

static void check_verify(const struct sgx_sigstruct *s)
{
	uint64_t got = sigstruct_verify(s), want;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *n = le(s->modulus), *sg = le(s->signature), *q1 = le(s->q1), *q2 = le(s->q2);
	BIGNUM *sq = BN_new(), *t1 = BN_new(), *st1 = BN_new(), *w1 = BN_new(), *w2 = BN_new();
	BIGNUM *three = BN_new(), *m = BN_new();
	uint8_t em[SGX_MODULUS_SIZE], got_em[SGX_MODULUS_SIZE];

	if (!ctx || !sq || !t1 || !st1 || !w1 || !w2 || !three || !m || !BN_set_word(three, 3))
		fail("out of memory");
	if (!headers_ok(s) || BN_is_zero(n)) {
		want = SGX_INVALID_SIG_STRUCT;
	} else {
		want = SGX_INVALID_SIGNATURE;
		if (BN_cmp(sg, n) < 0) {
			bool q_ok, em_ok;

			if (!BN_sqr(sq, sg, ctx) || !BN_div(w1, t1, sq, n, ctx) || !BN_mul(st1, sg, t1, ctx) ||
			    !BN_div(w2, NULL, st1, n, ctx) || !BN_mod_exp(m, sg, three, n, ctx) ||
			    BN_bn2binpad(m, got_em, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE)
				fail("bignum arithmetic");
			q_ok = !BN_cmp(w1, q1) && !BN_cmp(w2, q2);
			expected_em(s, em);
			em_ok = !memcmp(em, got_em, sizeof(em));
			if (q_ok && em_ok)
				want = SGX_SUCCESS;
			/* A proper RSA-3072 key: OpenSSL's verification agrees with the arithmetic. */
			if (BN_num_bits(n) == 3072 && BN_is_odd(n)) {
				int o = openssl_verify(s, n);

				if (o >= 0 && o != em_ok)
					fail("OpenSSL says the signature is %s, S^3 mod M says %s",
					     o ? "valid" : "invalid", em_ok ? "valid" : "invalid");
			}
		}
	}
	if (got != want)
		fail("sigstruct_verify returned %lu, the SDM's checks give %lu", (unsigned long)got,
		     (unsigned long)want);
	BN_free(n);
	BN_free(sg);
	BN_free(q1);
	BN_free(q2);
	BN_free(sq);
	BN_free(t1);
	BN_free(st1);
	BN_free(w1);
	BN_free(w2);
	BN_free(three);
	BN_free(m);
	BN_CTX_free(ctx);
}

static void check_sign(const uint8_t *data, size_t size)
{
	struct sgx_sigstruct s;
	uint8_t hb[256] = { 0 };
	size_t pos;
	uint8_t x;

	memcpy(hb, data, size < 256 ? size : 256);
	sign_sigstruct_init(&s);
	memcpy(&s.header, hb, 128);
	memcpy(&s.body, hb + 128, 128);
	if (fx_sign(&s))
		fail("signing failed");
	/* The signer keeps what it was given and fills in the rest. */
	if (memcmp(&s.header, hb, 128) || memcmp(&s.body, hb + 128, 128))
		fail("signing changed HEADER or BODY");
	{
		uint64_t want = headers_ok(&s) ? SGX_SUCCESS : SGX_INVALID_SIG_STRUCT;

		if (sigstruct_verify(&s) != want)
			fail("a freshly signed SIGSTRUCT gives %lu, want %lu",
			     (unsigned long)sigstruct_verify(&s), (unsigned long)want);
		if (want != SGX_SUCCESS)
			return;
	}
	pos = size > 257 ? (data[256] | (size_t)data[257] << 8) % SIGSZ : 0;
	x = size > 258 && data[258] ? data[258] : 0x01;
	((uint8_t *)&s)[pos] ^= x;
	check_verify(&s);
	if (sigstruct_verify(&s) == SGX_SUCCESS &&
	    !(pos >= offsetof(struct sgx_sigstruct, reserved4) && pos < offsetof(struct sgx_sigstruct, q1)))
		fail("changing byte %zu of a signed SIGSTRUCT left it valid", pos);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!fx_key()) {
		fprintf(stderr, "fuzz_sigstruct: run from the top of the tree (needs the test key)\n");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgx_sigstruct *s;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		check_sign(data + 1, size - 1);
		return 0;
	}
	s = calloc(1, SIGSZ);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1 < SIGSZ ? size - 1 : SIGSZ);
	check_verify(s);
	free(s);
	return 0;
}
