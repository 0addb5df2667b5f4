/* The attestation sample enclave: local attestation (EREPORT, and checking a REPORT with the
 * REPORT key from EGETKEY) and sealing (data bound to this enclave or its signer with the SEAL
 * key). Freestanding: no libc, so AES-128 and CMAC (FIPS 197, RFC 4493) are written out here.
 * One call at a time: the work buffers are static. */
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy, memset: demo/encl_libc.c */

#include "samples/attest/attest_encl.h"

#define ATTEST_MAX_DATA 4096

void encl_main(void *arg, uint64_t tcs);

/* Differences anywhere, in time independent of where. */
static int differ(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	while (n--)
		d |= *a++ ^ *b++;
	return d != 0;
}

/* ---- ENCLU ---- */

static void enclu_ereport(const struct sgx_targetinfo *ti, const uint8_t *data,
			  struct sgx_report *out)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xd7"
			 : : "a"(0UL), "b"(ti), "c"(data), "d"(out) : "memory");
}

static uint64_t enclu_egetkey(const struct sgx_keyrequest *kr, uint8_t *key)
{
	uint64_t rax = 1;

	__asm__ volatile(".byte 0x0f, 0x01, 0xd7" : "+a"(rax) : "b"(kr), "c"(key) : "memory", "cc");
	return rax;
}

/* Operands of EREPORT/EGETKEY must be aligned enclave memory. */
static struct {
	struct sgx_targetinfo ti __attribute__((aligned(512)));
	struct sgx_keyrequest kr __attribute__((aligned(512)));
	struct sgx_report report __attribute__((aligned(512)));
	uint8_t data[64] __attribute__((aligned(128)));
	uint8_t key[16] __attribute__((aligned(16)));
} op;

static struct attest_call call;
static uint8_t work[sizeof(struct attest_sealed) + ATTEST_MAX_DATA];

/* ---- AES-128 (encryption only) and CMAC ---- */

struct aes {
	uint8_t sbox[256];
	uint8_t rk[176];
};

static uint8_t xtime(uint8_t x)
{
	return (uint8_t)((x << 1) ^ ((x >> 7) * 0x1B));
}

static uint8_t rotl8(uint8_t x, unsigned s)
{
	return (uint8_t)((x << s) | (x >> (8 - s)));
}

/* The S-box from its definition: the inverse in GF(2^8), then the affine map. p walks the
 * nonzero elements as powers of 3, q the matching powers of 3's inverse. */
static void aes_sbox(uint8_t s[256])
{
	uint8_t p = 1, q = 1;

	do {
		p = (uint8_t)(p ^ xtime(p));
		q = (uint8_t)(q ^ (q << 1));
		q = (uint8_t)(q ^ (q << 2));
		q = (uint8_t)(q ^ (q << 4));
		if (q & 0x80)
			q ^= 0x09;
		s[p] = (uint8_t)(q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63);
	} while (p != 1);
	s[0] = 0x63;
}

static void aes_init(struct aes *a, const uint8_t key[16])
{
	uint8_t rcon = 1;

	aes_sbox(a->sbox);
	memcpy(a->rk, key, 16);
	for (unsigned i = 16; i < 176; i += 4) {
		uint8_t t[4] = { a->rk[i - 4], a->rk[i - 3], a->rk[i - 2], a->rk[i - 1] };

		if (i % 16 == 0) {
			uint8_t t0 = t[0];

			t[0] = a->sbox[t[1]] ^ rcon;
			t[1] = a->sbox[t[2]];
			t[2] = a->sbox[t[3]];
			t[3] = a->sbox[t0];
			rcon = xtime(rcon);
		}
		for (unsigned j = 0; j < 4; j++)
			a->rk[i + j] = a->rk[i + j - 16] ^ t[j];
	}
}

/* State byte r of column c is s[r + 4c]. */
static void aes_encrypt(const struct aes *a, const uint8_t in[16], uint8_t out[16])
{
	uint8_t s[16], t[16];

	for (unsigned i = 0; i < 16; i++)
		s[i] = in[i] ^ a->rk[i];
	for (unsigned round = 1; round <= 10; round++) {
		for (unsigned c = 0; c < 4; c++) /* SubBytes and ShiftRows */
			for (unsigned r = 0; r < 4; r++)
				t[r + 4 * c] = a->sbox[s[r + 4 * ((c + r) % 4)]];
		if (round < 10) {
			for (unsigned c = 0; c < 4; c++) { /* MixColumns */
				uint8_t a0 = t[4 * c], a1 = t[4 * c + 1], a2 = t[4 * c + 2],
					a3 = t[4 * c + 3];

				t[4 * c] = xtime(a0) ^ xtime(a1) ^ a1 ^ a2 ^ a3;
				t[4 * c + 1] = a0 ^ xtime(a1) ^ xtime(a2) ^ a2 ^ a3;
				t[4 * c + 2] = a0 ^ a1 ^ xtime(a2) ^ xtime(a3) ^ a3;
				t[4 * c + 3] = xtime(a0) ^ a0 ^ a1 ^ a2 ^ xtime(a3);
			}
		}
		for (unsigned i = 0; i < 16; i++)
			s[i] = t[i] ^ a->rk[16 * round + i];
	}
	memcpy(out, s, 16);
}

struct cmac {
	struct aes aes;
	uint8_t k1[16], k2[16];
	uint8_t x[16], buf[16];
	unsigned n;
};

static void dbl(const uint8_t in[16], uint8_t out[16])
{
	uint8_t carry = in[0] >> 7;

	for (unsigned i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1) ^ (carry ? 0x87 : 0);
}

static void cmac_init(struct cmac *m, const uint8_t key[16])
{
	uint8_t l[16] = { 0 };

	aes_init(&m->aes, key);
	aes_encrypt(&m->aes, l, l);
	dbl(l, m->k1);
	dbl(m->k1, m->k2);
	memset(m->x, 0, 16);
	m->n = 0;
}

/* The last block is held back: final() treats it differently. */
static void cmac_update(struct cmac *m, const uint8_t *p, size_t len)
{
	while (len--) {
		if (m->n == 16) {
			for (unsigned i = 0; i < 16; i++)
				m->x[i] ^= m->buf[i];
			aes_encrypt(&m->aes, m->x, m->x);
			m->n = 0;
		}
		m->buf[m->n++] = *p++;
	}
}

static void cmac_final(struct cmac *m, uint8_t mac[16])
{
	const uint8_t *k = m->n == 16 ? m->k1 : m->k2;

	if (m->n < 16) {
		m->buf[m->n] = 0x80;
		for (unsigned i = m->n + 1; i < 16; i++)
			m->buf[i] = 0;
	}
	for (unsigned i = 0; i < 16; i++)
		m->x[i] ^= m->buf[i] ^ k[i];
	aes_encrypt(&m->aes, m->x, mac);
}

/* ---- the calls ---- */

/* A report to ourselves: our own identity as the CPU states it. */
static const struct sgx_report *self_report(void)
{
	memset(&op.ti, 0, sizeof(op.ti));
	memset(op.data, 0, sizeof(op.data));
	enclu_ereport(&op.ti, op.data, &op.report);
	return &op.report;
}

static uint32_t targetinfo(struct attest_call *c)
{
	const struct sgx_report_body *b = &self_report()->body;

	memset(&c->ti, 0, sizeof(c->ti));
	memcpy(c->ti.measurement, b->mrenclave, 32);
	c->ti.attributes = b->attributes;
	c->ti.miscselect = b->miscselect;
	c->ti.config_svn = b->config_svn;
	memcpy(c->ti.config_id, b->config_id, 64);
	return ATT_OK;
}

static uint32_t report(struct attest_call *c)
{
	op.ti = c->ti;
	memcpy(op.data, c->data, 64);
	enclu_ereport(&op.ti, op.data, &op.report);
	c->report = op.report;
	return ATT_OK;
}

static uint32_t verify(struct attest_call *c)
{
	struct cmac m;
	uint8_t mac[16], signer[32];

	memcpy(signer, self_report()->body.mrsigner, 32);
	memset(&op.kr, 0, sizeof(op.kr));
	op.kr.keyname = SGX_KEYNAME_REPORT;
	memcpy(op.kr.keyid, c->report.keyid, 32);
	c->sgx = enclu_egetkey(&op.kr, op.key);
	if (c->sgx)
		return ATT_ESGX;
	cmac_init(&m, op.key);
	cmac_update(&m, (const uint8_t *)&c->report.body, sizeof(c->report.body));
	cmac_final(&m, mac);
	memset(op.key, 0, sizeof(op.key));
	if (differ(mac, c->report.mac, 16))
		return ATT_EMAC;
	if ((c->flags & ATTEST_SAME_SIGNER) && differ(c->report.body.mrsigner, signer, 32))
		return ATT_ESIGNER;
	return ATT_OK;
}

static uint32_t getkey(struct attest_call *c)
{
	op.kr = c->kr;
	c->sgx = enclu_egetkey(&op.kr, op.key);
	memcpy(c->key, op.key, 16);
	memset(op.key, 0, sizeof(op.key));
	return c->sgx ? ATT_ESGX : ATT_OK;
}

/* The SEAL key the header names, split into an encryption and a MAC key. */
static uint64_t seal_keys(const struct attest_sealed *h, struct aes *enc, struct cmac *mac)
{
	uint8_t k[16] = { 1 };
	struct aes a;
	uint64_t rc;

	memset(&op.kr, 0, sizeof(op.kr));
	op.kr.keyname = SGX_KEYNAME_SEAL;
	op.kr.keypolicy = h->policy;
	op.kr.isv_svn = h->isv_svn;
	memcpy(op.kr.cpusvn, h->cpusvn, 16);
	op.kr.attribute_mask = h->attribute_mask;
	memcpy(op.kr.keyid, h->keyid, 32);
	op.kr.misc_mask = h->misc_mask;
	rc = enclu_egetkey(&op.kr, op.key);
	if (rc)
		return rc;
	aes_init(&a, op.key);
	memset(op.key, 0, sizeof(op.key));
	aes_encrypt(&a, k, k);
	aes_init(enc, k);
	k[0] = 2;
	memset(k + 1, 0, 15);
	aes_encrypt(&a, k, k);
	cmac_init(mac, k);
	memset(k, 0, sizeof(k));
	memset(&a, 0, sizeof(a));
	return 0;
}

/* CTR mode; the key is fresh for every blob (its KEYID is), so the counter starts at 0. */
static void ctr(const struct aes *a, uint8_t *p, size_t len)
{
	uint8_t block[16], ks[16];

	for (uint64_t i = 0; i * 16 < len; i++) {
		memset(block, 0, 16);
		for (unsigned b = 0; b < 8; b++)
			block[15 - b] = (uint8_t)(i >> (8 * b));
		aes_encrypt(a, block, ks);
		for (unsigned b = 0; b < 16 && i * 16 + b < len; b++)
			p[i * 16 + b] ^= ks[b];
	}
}

static uint32_t seal(struct attest_call *c)
{
	struct attest_sealed *h = (struct attest_sealed *)work;
	const struct sgx_report_body *self;
	struct aes enc;
	struct cmac mac;

	if (c->len > ATTEST_MAX_DATA || c->out_len < sizeof(*h) + c->len)
		return ATT_EINVAL;
	self = &self_report()->body;
	memset(h, 0, sizeof(*h));
	h->magic = ATTEST_SEAL_MAGIC;
	h->policy = c->policy;
	h->isv_svn = c->isv_svn == 0xFFFF ? self->isv_svn : c->isv_svn;
	memcpy(h->cpusvn, self->cpusvn, 16);
	memcpy(h->keyid, c->keyid, 32);
	h->attribute_mask.flags = ATTEST_SEAL_ATTR_MASK;
	h->len = c->len;
	c->sgx = seal_keys(h, &enc, &mac);
	if (c->sgx)
		return ATT_ESGX;
	/* Work on an enclave copy: the host may change its buffer while we run. */
	memcpy(work + sizeof(*h), (const void *)(uintptr_t)c->buf, c->len);
	ctr(&enc, work + sizeof(*h), c->len);
	cmac_update(&mac, work, offsetof(struct attest_sealed, mac));
	cmac_update(&mac, work + sizeof(*h), c->len);
	cmac_final(&mac, h->mac);
	memcpy((void *)(uintptr_t)c->out, work, sizeof(*h) + c->len);
	c->out_len = sizeof(*h) + c->len;
	memset(&enc, 0, sizeof(enc));
	memset(&mac, 0, sizeof(mac));
	return ATT_OK;
}

static uint32_t unseal(struct attest_call *c)
{
	struct attest_sealed *h = (struct attest_sealed *)work;
	struct aes enc;
	struct cmac mac;
	uint8_t want[16];
	uint32_t st = ATT_OK;

	if (c->len < sizeof(*h) || c->len > sizeof(work))
		return ATT_EINVAL;
	memcpy(work, (const void *)(uintptr_t)c->buf, c->len);
	if (h->magic != ATTEST_SEAL_MAGIC || h->len != c->len - sizeof(*h) || c->out_len < h->len)
		return ATT_EINVAL;
	c->sgx = seal_keys(h, &enc, &mac);
	if (c->sgx)
		return ATT_ESGX;
	/* MAC first: decrypting forged ciphertext would show the key stream. */
	cmac_update(&mac, work, offsetof(struct attest_sealed, mac));
	cmac_update(&mac, work + sizeof(*h), h->len);
	cmac_final(&mac, want);
	if (differ(want, h->mac, 16)) {
		st = ATT_EMAC;
	} else {
		ctr(&enc, work + sizeof(*h), h->len);
		memcpy((void *)(uintptr_t)c->out, work + sizeof(*h), h->len);
		c->out_len = h->len;
	}
	memset(work, 0, sizeof(work));
	memset(&enc, 0, sizeof(enc));
	memset(&mac, 0, sizeof(mac));
	return st;
}

void encl_main(void *arg, uint64_t tcs)
{
	struct attest_call *host = arg;
	struct attest_call *c = &call;

	(void)tcs;
	/* Read the request once: the host can change its memory while we run. */
	*c = *host;
	c->sgx = 0;
	switch (c->op) {
	case AOP_TARGETINFO:
		c->status = targetinfo(c);
		break;
	case AOP_REPORT:
		c->status = report(c);
		break;
	case AOP_VERIFY:
		c->status = verify(c);
		break;
	case AOP_GETKEY:
		c->status = getkey(c);
		break;
	case AOP_SEAL:
		c->status = seal(c);
		break;
	case AOP_UNSEAL:
		c->status = unseal(c);
		break;
	default:
		c->status = ATT_EINVAL;
		break;
	}
	*host = *c;
	memset(c, 0, sizeof(*c));
}
