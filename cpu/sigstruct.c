/* SIGSTRUCT checks made by EINIT, in the order the SDM's EINIT pseudocode makes them. */
#include "cpu/sigstruct.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

static const uint8_t sigstruct_header1[16] = {
	0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t sigstruct_header2[16] = {
	0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};

/* ASN.1 DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1). */
static const uint8_t sigstruct_sha256_prefix[19] = {
	0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

static int sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 &&
	     (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
	     EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* EMSA-PKCS1-v1_5 encoding of a SHA-256 digest for a 384-byte modulus (big-endian). */
static void sigstruct_encode(const uint8_t digest[32], uint8_t em[SGX_MODULUS_SIZE])
{
	size_t ps_end = SGX_MODULUS_SIZE - 32 - sizeof(sigstruct_sha256_prefix) - 1;

	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xFF, ps_end - 2);
	em[ps_end] = 0x00;
	memcpy(em + ps_end + 1, sigstruct_sha256_prefix, sizeof(sigstruct_sha256_prefix));
	memcpy(em + SGX_MODULUS_SIZE - 32, digest, 32);
}

/* The RSA part. Returns SGX_SUCCESS, SGX_INVALID_SIGNATURE, or SGX_INVALID_SIG_STRUCT for a
 * modulus that is no key at all (zero). */
static uint64_t sigstruct_check_signature(const struct sgx_sigstruct *sig, const char **why)
{
	uint8_t digest[32], want[SGX_MODULUS_SIZE], got[SGX_MODULUS_SIZE];
	uint64_t ret = SGX_INVALID_SIGNATURE;
	BN_CTX *bctx = BN_CTX_new();
	BIGNUM *n, *s, *q1, *q2, *cq1, *cq2, *t2;

	if (!bctx)
		return SGX_INVALID_SIGNATURE;
	BN_CTX_start(bctx);
	n = BN_CTX_get(bctx);
	s = BN_CTX_get(bctx);
	q1 = BN_CTX_get(bctx);
	q2 = BN_CTX_get(bctx);
	cq1 = BN_CTX_get(bctx);
	cq2 = BN_CTX_get(bctx);
	t2 = BN_CTX_get(bctx); /* BN_CTX_get fails for good once it has failed: check the last */
	if (!t2)
		goto out;
	if (!BN_lebin2bn(sig->modulus, SGX_MODULUS_SIZE, n) ||
	    !BN_lebin2bn(sig->signature, SGX_MODULUS_SIZE, s) ||
	    !BN_lebin2bn(sig->q1, SGX_MODULUS_SIZE, q1) ||
	    !BN_lebin2bn(sig->q2, SGX_MODULUS_SIZE, q2))
		goto out;
	if (BN_is_zero(n)) {
		*why = "the modulus is zero";
		ret = SGX_INVALID_SIG_STRUCT;
		goto out;
	}
	*why = "the signature is not below the modulus";
	if (BN_cmp(s, n) >= 0)
		goto out;
	/* Division gives the unique quotients, so the stored Q1/Q2 must equal them. */
	*why = "Q1 or Q2 is not what the signature and modulus give";
	if (sigstruct_assist(s, n, cq1, cq2, t2, bctx) || BN_cmp(cq1, q1) != 0 ||
	    BN_cmp(cq2, q2) != 0)
		goto out;
	*why = "the signature does not verify: it is not the modulus's key's signature of "
	       "this HEADER and BODY";
	/* T2 < M < 2^3072, so it always fits the 384-byte encoding. */
	if (BN_bn2binpad(t2, got, SGX_MODULUS_SIZE) != SGX_MODULUS_SIZE)
		goto out;
	if (sha256(&sig->header, sizeof(sig->header), &sig->body, sizeof(sig->body), digest) != 0)
		goto out;
	sigstruct_encode(digest, want);
	if (memcmp(got, want, SGX_MODULUS_SIZE) == 0) {
		*why = "valid";
		ret = SGX_SUCCESS;
	}
out:
	BN_CTX_end(bctx);
	BN_CTX_free(bctx);
	return ret;
}

int sigstruct_assist(const BIGNUM *s, const BIGNUM *m, BIGNUM *q1, BIGNUM *q2, BIGNUM *t2,
		     BN_CTX *ctx)
{
	BIGNUM *sq, *t1, *st1;
	int r = -1;

	BN_CTX_start(ctx);
	sq = BN_CTX_get(ctx);
	t1 = BN_CTX_get(ctx);
	st1 = BN_CTX_get(ctx);
	if (st1 && BN_sqr(sq, s, ctx) && BN_div(q1, t1, sq, m, ctx) && BN_mul(st1, s, t1, ctx) &&
	    BN_div(q2, t2, st1, m, ctx))
		r = 0;
	BN_CTX_end(ctx);
	return r;
}

uint64_t sigstruct_verify_why(const struct sgx_sigstruct *sig, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = "no SIGSTRUCT";
	if (!sig)
		return SGX_INVALID_SIG_STRUCT;
	*why = "HEADER is not the constant the SDM gives";
	if (memcmp(sig->header.header1, sigstruct_header1, sizeof(sigstruct_header1)) != 0)
		return SGX_INVALID_SIG_STRUCT;
	*why = "VENDOR is neither 0 nor 0x8086";
	if (sig->header.vendor != 0 && sig->header.vendor != 0x8086)
		return SGX_INVALID_SIG_STRUCT;
	*why = "HEADER2 is not the constant the SDM gives";
	if (memcmp(sig->header.header2, sigstruct_header2, sizeof(sigstruct_header2)) != 0)
		return SGX_INVALID_SIG_STRUCT;
	*why = "EXPONENT is not 3";
	if (sig->exponent != 3)
		return SGX_INVALID_SIG_STRUCT;
	*why = "the signature does not verify";
	return sigstruct_check_signature(sig, why);
}

uint64_t sigstruct_verify(const struct sgx_sigstruct *sig)
{
	return sigstruct_verify_why(sig, NULL);
}

int sigstruct_mrsigner(const struct sgx_sigstruct *sig, uint8_t out[32])
{
	if (!sig || !out)
		return -1;
	return sha256(sig->modulus, SGX_MODULUS_SIZE, NULL, 0, out);
}
