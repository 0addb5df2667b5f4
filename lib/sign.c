/* Building SIGSTRUCTs: RSA-3072 (e = 3) PKCS#1 v1.5 / SHA-256 over header||body, plus the
 * Q1/Q2 values EINIT uses to check the signature without dividing. */
#include "lib/sign.h"

#include "cpu/sigstruct.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static const uint8_t sign_header1[16] = {
	0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t sign_header2[16] = {
	0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};

void sign_sigstruct_init(struct sgx_sigstruct *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->header.header1, sign_header1, sizeof(sign_header1));
	memcpy(s->header.header2, sign_header2, sizeof(sign_header2));
}

/* RSA with a 3072-bit modulus and e = 3; on success *n_out is the modulus (caller frees). */
static int sign_check_key(EVP_PKEY *key, BIGNUM **n_out)
{
	BIGNUM *n = NULL, *e = NULL;
	int ok;

	if (!key || !EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_bits(key) != 8 * SGX_MODULUS_SIZE)
		return -1;
	ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	     BN_is_word(e, 3) && BN_num_bits(n) == 8 * SGX_MODULUS_SIZE;
	BN_free(e);
	if (!ok) {
		BN_free(n);
		return -1;
	}
	*n_out = n;
	return 0;
}

/* Store a non-negative integer below 2^3072 as 384 little-endian bytes. */
static int sign_put_le(uint8_t out[SGX_MODULUS_SIZE], const BIGNUM *v)
{
	return BN_bn2lebinpad(v, out, SGX_MODULUS_SIZE) == SGX_MODULUS_SIZE ? 0 : -1;
}

void sign_sigstruct_data(const struct sgx_sigstruct *s, uint8_t out[SIGN_DATA_SIZE])
{
	memcpy(out, &s->header, sizeof(s->header));
	memcpy(out + sizeof(s->header), &s->body, sizeof(s->body));
}

/* Fill modulus, exponent, signature, Q1 and Q2 from the modulus n and a big-endian signature
 * below it. 0 or -1. */
static int sign_fill(struct sgx_sigstruct *s, const BIGNUM *n, const uint8_t *sig_be, size_t len)
{
	BN_CTX *bctx = BN_CTX_new();
	BIGNUM *sig, *q1, *q2, *t2;
	int ret = -1;

	if (!bctx)
		return -1;
	BN_CTX_start(bctx);
	sig = BN_CTX_get(bctx);
	q1 = BN_CTX_get(bctx);
	q2 = BN_CTX_get(bctx);
	t2 = BN_CTX_get(bctx);
	if (!t2 || !BN_bin2bn(sig_be, (int)len, sig) || BN_cmp(sig, n) >= 0 ||
	    sigstruct_assist(sig, n, q1, q2, t2, bctx))
		goto out;
	if (sign_put_le(s->modulus, n) != 0 || sign_put_le(s->signature, sig) != 0 ||
	    sign_put_le(s->q1, q1) != 0 || sign_put_le(s->q2, q2) != 0)
		goto out;
	s->exponent = 3;
	ret = 0;
out:
	BN_CTX_end(bctx);
	BN_CTX_free(bctx);
	return ret;
}

int sign_sigstruct_assemble(struct sgx_sigstruct *s, EVP_PKEY *key, const uint8_t *sig_be,
			    size_t len)
{
	uint8_t msg[SIGN_DATA_SIZE];
	EVP_PKEY_CTX *pctx = NULL; /* owned by mdctx */
	EVP_MD_CTX *mdctx;
	BIGNUM *n = NULL;
	int ret;

	if (!s || !sig_be || len != SGX_MODULUS_SIZE || sign_check_key(key, &n) != 0)
		return -1;
	/* It must be the key's signature of these HEADER and BODY, whatever they hold. */
	sign_sigstruct_data(s, msg);
	mdctx = EVP_MD_CTX_new();
	ret = mdctx && EVP_DigestVerifyInit(mdctx, &pctx, EVP_sha256(), NULL, key) == 1 &&
	      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
	      EVP_DigestVerify(mdctx, sig_be, len, msg, sizeof(msg)) == 1 ? 0 : -2;
	EVP_MD_CTX_free(mdctx);
	if (!ret && sign_fill(s, n, sig_be, len))
		ret = -1;
	BN_free(n);
	return ret;
}

int sign_sigstruct(struct sgx_sigstruct *s, EVP_PKEY *key)
{
	uint8_t msg[SIGN_DATA_SIZE];
	uint8_t sigbe[SGX_MODULUS_SIZE];
	size_t siglen = sizeof(sigbe);
	EVP_PKEY_CTX *pctx = NULL; /* owned by mdctx */
	EVP_MD_CTX *mdctx = NULL;
	BIGNUM *n = NULL;
	int ret = -1;

	if (!s || sign_check_key(key, &n) != 0)
		return -1;
	sign_sigstruct_data(s, msg);
	mdctx = EVP_MD_CTX_new();
	if (!mdctx || EVP_DigestSignInit(mdctx, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_DigestSign(mdctx, sigbe, &siglen, msg, sizeof(msg)) != 1 || siglen != sizeof(sigbe))
		goto out;
	ret = sign_fill(s, n, sigbe, siglen);
out:
	EVP_MD_CTX_free(mdctx);
	BN_free(n);
	return ret;
}

/* Encrypted keys are refused rather than prompting on the terminal (the default callback). */
static int sign_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

EVP_PKEY *sign_load_key(const char *pem_path)
{
	EVP_PKEY *key;
	FILE *f;

	if (!pem_path)
		return NULL;
	f = fopen(pem_path, "r");
	if (!f)
		return NULL;
	key = PEM_read_PrivateKey(f, NULL, sign_no_passphrase, NULL);
	fclose(f);
	return key;
}

EVP_PKEY *sign_load_public_key(const char *pem_path)
{
	EVP_PKEY *key;
	FILE *f;

	if (!pem_path)
		return NULL;
	f = fopen(pem_path, "r");
	if (!f)
		return NULL;
	key = PEM_read_PUBKEY(f, NULL, sign_no_passphrase, NULL);
	fclose(f);
	return key ? key : sign_load_key(pem_path);
}

EVP_PKEY *sign_generate_key(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *e = BN_new();

	if (!ctx || !e || !BN_set_word(e, 3) || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 8 * SGX_MODULUS_SIZE) <= 0 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) <= 0 || EVP_PKEY_generate(ctx, &key) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return key;
}
