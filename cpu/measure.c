/* MRENCLAVE: a running SHA-256 over the 64-byte records that ECREATE, EADD and EEXTEND append. */
#include "cpu/measure.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define MEASURE_RECORD_SIZE 64

struct measure {
	EVP_MD_CTX *ctx;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct measure *measure_new(void)
{
	struct measure *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->ctx = EVP_MD_CTX_new();
	if (!m->ctx || EVP_DigestInit_ex(m->ctx, EVP_sha256(), NULL) != 1) {
		measure_free(m);
		return NULL;
	}
	return m;
}

void measure_free(struct measure *m)
{
	if (!m)
		return;
	EVP_MD_CTX_free(m->ctx);
	free(m);
}

static int measure_update(struct measure *m, const void *data, size_t len)
{
	return EVP_DigestUpdate(m->ctx, data, len) == 1 ? 0 : -1;
}

int measure_ecreate(struct measure *m, uint32_t ssa_frame_size, uint64_t size)
{
	uint8_t rec[MEASURE_RECORD_SIZE] = "ECREATE";

	if (!m)
		return -1;
	/* ECREATE starts a new measurement: drop whatever was hashed before. */
	if (EVP_DigestInit_ex(m->ctx, EVP_sha256(), NULL) != 1)
		return -1;
	put_u32(rec + 8, ssa_frame_size);
	put_u64(rec + 12, size);
	/* bytes 20..63 stay zero (CET_LEG_BITMAP_OFFSET is 0 without CET) */
	return measure_update(m, rec, sizeof(rec));
}

int measure_eadd(struct measure *m, uint64_t offset, uint64_t secinfo_flags)
{
	uint8_t rec[MEASURE_RECORD_SIZE] = "EADD";

	if (!m)
		return -1;
	put_u64(rec + 8, offset);
	/* the first 48 bytes of SECINFO: FLAGS, then reserved bytes that EADD requires to be 0 */
	put_u64(rec + 16, secinfo_flags);
	return measure_update(m, rec, sizeof(rec));
}

int measure_eextend(struct measure *m, uint64_t offset, const uint8_t data[256])
{
	uint8_t rec[MEASURE_RECORD_SIZE] = "EEXTEND";

	if (!m || !data)
		return -1;
	put_u64(rec + 8, offset);
	if (measure_update(m, rec, sizeof(rec)) != 0)
		return -1;
	return measure_update(m, data, 256);
}

int measure_digest(struct measure *m, uint8_t out[32])
{
	unsigned int len = 0;
	EVP_MD_CTX *copy;
	int ret = -1;

	if (!m || !out)
		return -1;
	/* Finalise a copy so the enclave's running measurement can continue. */
	copy = EVP_MD_CTX_new();
	if (!copy)
		return -1;
	if (EVP_MD_CTX_copy_ex(copy, m->ctx) == 1 && EVP_DigestFinal_ex(copy, out, &len) == 1 &&
	    len == 32)
		ret = 0;
	EVP_MD_CTX_free(copy);
	return ret;
}
