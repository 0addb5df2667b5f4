/* The key hierarchy (cpu/keys.c): EREPORT and EGETKEY called directly on a hand-built enclave
 * (a SECS page, an RW and an R page in a malloc'd EPC), plus EINIT-built enclaves for what EINIT
 * stores (PADDING, the KSS identities) and for launch tokens.
 *
 * Known answers come from tests/unit/kat/gen_keys_kat.py (hashlib and the `cryptography`
 * package's AES-CMAC, not our C code); a change to the KDF or its serialization fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cpu/cpu.h"
#include "cpu/keys.h"
#include "cpu/measure.h"
#include "cpu/sigstruct.h"
#include "util/config.h"
#include "lib/sign.h"

#define KAT_SEAL_MRSIGNER    "d16581fd825f071a95491079999a2980"
#define KAT_SEAL_MRENCLAVE   "d98ef081c6db07f99d34b0c590c55ac5"
#define KAT_REPORT           "f59172200ef948dcecc7b79e111da8b3"
#define KAT_PROVISION        "a1157a3a8dfd579f7946b98d6cc4ead8"
#define KAT_PROVISION_SEAL   "78a851e1747d4f1b87de89fbdcb41de0"
#define KAT_EINITTOKEN       "e83c4f2357f18ec940fb93e00a0bf90f"
#define KAT_SEAL_KSS         "74b4869cd57057d32270763d831ba5b3"
#define KAT_EREPORT_MAC      "398bff7fe191b2238b204abfd6e0b30b"
#define KAT_REPORT_KEYID     "b4fc8d70406ae2e30a96859ba4f98844a54daed99a12dffc5b7adfb7af1c2719"

#define PG 4096UL
#define ZF 0x40ULL
#define STATUS_FLAGS 0x8D5ULL

/* Where the operands live in an enclave's RW page. */
#define OFF_KR  0x000 /* KEYREQUEST, 512 */
#define OFF_OUT 0x200 /* key, 16 */
#define OFF_TI  0x400 /* TARGETINFO, 512 */
#define OFF_RD  0x600 /* REPORTDATA, 64 */
#define OFF_REP 0x800 /* REPORT, 432 */

/* ---- allocation counting: the leaves run in signal handlers ---- */

static _Atomic int counting, allocations;

/* AddressSanitizer and ThreadSanitizer own malloc (and ThreadSanitizer calls it before its
 * own start-up is over): counting is left to the ordinary build there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTING_ALLOCATIONS 0
#else
#define COUNTING_ALLOCATIONS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

__attribute__((visibility("default"))) void *malloc(size_t n)
{
	if (counting)
		allocations++;
	return __libc_malloc(n);
}

__attribute__((visibility("default"))) void *calloc(size_t a, size_t b)
{
	if (counting)
		allocations++;
	return __libc_calloc(a, b);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
	if (counting)
		allocations++;
	return __libc_realloc(p, n);
}

__attribute__((visibility("default"))) void free(void *p)
{
	__libc_free(p);
}
#endif

/* ---- helpers ---- */

static void hex_of(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_hex(const uint8_t *d, size_t n, const char *want)
{
	char hex[2 * 64 + 1];

	hex_of(d, n, hex);
	assert_string_equal(hex, want);
}

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* Our own AES-128-CMAC, independent of keys.c's pooled contexts. */
static void cmac(const uint8_t key[16], const void *data, size_t len, uint8_t out[16])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM p[2];
	size_t outl = 0;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
	p[1] = OSSL_PARAM_construct_end();
	assert_non_null(c);
	assert_int_equal(EVP_MAC_init(c, key, 16, p), 1);
	assert_int_equal(EVP_MAC_update(c, data, len), 1);
	assert_int_equal(EVP_MAC_final(c, out, &outl, 16), 1);
	assert_int_equal(outl, 16);
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
}

/* ---- a machine: a CPU over a small EPC with a table for page tables ---- */

#define M_PAGES 16
#define M_MAPS 16

struct machine {
	struct sgx_cpu cpu;
	uint8_t *epc;
	uint32_t next;
	struct { uint64_t la; uint32_t idx; } map[M_MAPS];
	unsigned nmap;
	struct cpu_lp lp;
};

static uint32_t m_translate(void *ctx, uint64_t la, bool write, uint32_t *idx)
{
	struct machine *m = ctx;

	for (unsigned i = 0; i < m->nmap; i++)
		if (m->map[i].la == (la & ~(PG - 1))) {
			*idx = m->map[i].idx;
			return 0;
		}
	return X86_PF_U | (write ? X86_PF_W : 0);
}

static void m_map(struct machine *m, uint64_t la, uint32_t idx)
{
	assert_true(m->nmap < M_MAPS);
	m->map[m->nmap].la = la;
	m->map[m->nmap].idx = idx;
	m->nmap++;
}

static uint32_t m_alloc(struct machine *m)
{
	assert_true(m->next < M_PAGES);
	return m->next++;
}

static void kat_platform(struct cpu_key_config *kc)
{
	memset(kc, 0, sizeof(*kc));
	for (unsigned i = 0; i < 32; i++)
		kc->root[i] = (uint8_t)i;
	unhex("0f0f0200ff8000000000000000000000", kc->cpusvn, 16);
	memset(kc->owner_epoch, 0xA5, 16);
	kc->fixed_report_keyid = true;
	kc->checks = KEYS_CHECK_ALL;
}

static struct machine *m_new(const struct cpu_key_config *kc)
{
	struct machine *m = calloc(1, sizeof(*m));
	struct cpu_features feat;

	assert_non_null(m);
	m->epc = aligned_alloc(PG, M_PAGES * PG);
	assert_non_null(m->epc);
	memset(m->epc, 0, M_PAGES * PG);
	cpu_features_default(&feat, M_PAGES * PG, true);
	assert_int_equal(cpu_init(&m->cpu, m->epc, M_PAGES, &feat), 0);
	m->cpu.mmu.translate = m_translate;
	m->cpu.mmu.ctx = m;
	if (kc)
		assert_int_equal(cpu_keys_init(&m->cpu, kc), 0);
	return m;
}

static void m_free(struct machine *m)
{
	if (!m)
		return;
	cpu_keys_fini(&m->cpu);
	cpu_fini(&m->cpu);
	free(m->epc);
	free(m);
}

static struct sgx_secs *m_secs(struct machine *m)
{
	return (struct sgx_secs *)epc_page(&m->cpu, m->lp.secs);
}

static struct secs_meta *m_meta(struct machine *m)
{
	return m->cpu.epcm[m->lp.secs].meta;
}

/* The thread is inside the enclave whose SECS is at idx. */
static void m_enter(struct machine *m, uint32_t secs_idx)
{
	const struct sgx_secs *s = (const struct sgx_secs *)epc_page(&m->cpu, secs_idx);

	memset(&m->lp, 0, sizeof(m->lp));
	m->lp.in_enclave = true;
	m->lp.secs = secs_idx;
	m->lp.base = s->base;
	m->lp.size = s->size;
}

/* A hand-built, initialised enclave at base: SECS, an RW page at base+0x1000 (the operands)
 * and an R page at base+0x2000; base+0x3000 is inside ELRANGE but unmapped. */
#define HB_SIZE 0x10000ULL
static void hb_enclave(struct machine *m, uint64_t base, uint64_t flags, uint32_t misc,
		       uint8_t mrenclave, uint8_t mrsigner, uint16_t prodid, uint16_t svn)
{
	uint32_t si = m_alloc(m), rw = m_alloc(m), ro = m_alloc(m);
	struct sgx_secs *s = (struct sgx_secs *)epc_page(&m->cpu, si);
	struct secs_meta *meta = calloc(1, sizeof(*meta));
	struct epcm_entry *e;

	assert_non_null(meta);
	s->size = HB_SIZE;
	s->base = base;
	s->ssa_frame_size = 1;
	s->miscselect = misc;
	s->attributes.flags = flags;
	s->attributes.xfrm = 3;
	memset(s->mrenclave, mrenclave, 32);
	memset(s->mrsigner, mrsigner, 32);
	s->isv_prod_id = prodid;
	s->isv_svn = svn;
	meta->initialized = true;
	memcpy(meta->padding, keys_pkcs1_padding, sizeof(meta->padding));
	e = &m->cpu.epcm[si];
	e->valid = 1;
	e->type = SGX_PT_SECS;
	e->secs = si;
	e->meta = meta;
	for (unsigned i = 0; i < 2; i++) {
		e = &m->cpu.epcm[i ? ro : rw];
		e->valid = 1;
		e->type = SGX_PT_REG;
		e->perm = i ? SGX_SECINFO_R : SGX_SECINFO_R | SGX_SECINFO_W;
		e->secs = si;
		e->linaddr = base + (i ? 0x2000 : 0x1000);
		m_map(m, e->linaddr, i ? ro : rw);
	}
	m_enter(m, si);
}

/* The generator's S1: DEBUG|MODE64|PROVISIONKEY|EINITTOKENKEY, EXINFO. */
static struct machine *m_s1(const struct cpu_key_config *kc)
{
	struct machine *m = m_new(kc);

	hb_enclave(m, 0x40000000, 0x37, 1, 0x11, 0x22, 0x1234, 7);
	return m;
}

/* The generator's S2: a KSS enclave with CONFIGID/CONFIGSVN and the SIGSTRUCT identities. */
static struct machine *m_s2(const struct cpu_key_config *kc)
{
	struct machine *m = m_new(kc);
	struct sgx_secs *s;

	hb_enclave(m, 0x50000000, 0x85, 0, 0x44, 0x55, 9, 3);
	s = m_secs(m);
	for (unsigned i = 0; i < 64; i++)
		s->config_id[i] = (uint8_t)i;
	s->config_svn = 2;
	memset(m_meta(m)->isv_family_id, 0x66, 16);
	memset(m_meta(m)->isv_ext_prod_id, 0x77, 16);
	return m;
}

/* The operand page of the current enclave, through the emulator's view. */
static uint8_t *op(struct machine *m, unsigned off)
{
	uint32_t idx = 0;

	assert_int_equal(m_translate(m, m->lp.base + 0x1000, false, &idx), 0);
	return epc_page(&m->cpu, idx) + off;
}

static uint64_t op_la(struct machine *m, unsigned off)
{
	return m->lp.base + 0x1000 + off;
}

static void regs_init(struct cpu_regs *r, uint64_t leaf)
{
	memset(r, 0, sizeof(*r));
	r->rax = leaf;
	r->rflags = 0x202 | STATUS_FLAGS; /* status leaves must clear these */
}

/* EGETKEY with the request at its usual place; returns RAX, asserts no fault. */
static uint64_t getkey(struct machine *m, const struct sgx_keyrequest *req, uint8_t key[16])
{
	struct cpu_regs r;
	struct cpu_fault f;

	memcpy(op(m, OFF_KR), req, sizeof(*req));
	memset(op(m, OFF_OUT), 0xEE, 16);
	regs_init(&r, ENCLU_EGETKEY);
	r.rbx = op_la(m, OFF_KR);
	r.rcx = op_la(m, OFF_OUT);
	assert_int_equal(enclu_egetkey(&m->cpu, &m->lp, &r, &f), 0);
	assert_int_equal(r.rflags & (STATUS_FLAGS & ~ZF), 0);
	assert_int_equal(!!(r.rflags & ZF), r.rax != 0);
	if (key)
		memcpy(key, op(m, OFF_OUT), 16);
	return r.rax;
}

static void getkey_ok(struct machine *m, const struct sgx_keyrequest *req, uint8_t key[16])
{
	assert_int_equal(getkey(m, req, key), SGX_SUCCESS);
}

/* EGETKEY expecting a fault; returns it. */
static struct cpu_fault getkey_fault(struct machine *m, uint64_t rbx, uint64_t rcx)
{
	struct cpu_regs r;
	struct cpu_fault f;

	regs_init(&r, ENCLU_EGETKEY);
	r.rbx = rbx;
	r.rcx = rcx;
	memset(&f, 0, sizeof(f));
	assert_int_equal(enclu_egetkey(&m->cpu, &m->lp, &r, &f), CPU_FAULT);
	return f;
}

static struct cpu_fault getkey_fault_req(struct machine *m, const struct sgx_keyrequest *req)
{
	memcpy(op(m, OFF_KR), req, sizeof(*req));
	return getkey_fault(m, op_la(m, OFF_KR), op_la(m, OFF_OUT));
}

static void kat_request(struct sgx_keyrequest *req, uint16_t name, uint16_t policy)
{
	memset(req, 0, sizeof(*req));
	req->keyname = name;
	req->keypolicy = policy;
	req->isv_svn = 5;
	unhex("0f0f0100ff0000000000000000000000", req->cpusvn, 16);
	req->attribute_mask.flags = 0xFF0000000000000BULL;
	req->attribute_mask.xfrm = 0;
	memset(req->keyid, 0x33, 32);
	req->misc_mask = 0xF0000000;
}

/* TARGETINFO naming the current enclave of m exactly. */
static void targetinfo_of(struct machine *m, struct sgx_targetinfo *ti)
{
	const struct sgx_secs *s = m_secs(m);

	memset(ti, 0, sizeof(*ti));
	memcpy(ti->measurement, s->mrenclave, 32);
	ti->attributes = s->attributes;
	ti->miscselect = s->miscselect;
	ti->config_svn = s->config_svn;
	memcpy(ti->config_id, s->config_id, 64);
}

static void ereport(struct machine *m, const struct sgx_targetinfo *ti, const uint8_t data[64],
		    struct sgx_report *rep)
{
	struct cpu_regs r;
	struct cpu_fault f;

	memcpy(op(m, OFF_TI), ti, sizeof(*ti));
	memcpy(op(m, OFF_RD), data, 64);
	regs_init(&r, ENCLU_EREPORT);
	r.rbx = op_la(m, OFF_TI);
	r.rcx = op_la(m, OFF_RD);
	r.rdx = op_la(m, OFF_REP);
	assert_int_equal(enclu_ereport(&m->cpu, &m->lp, &r, &f), 0);
	memcpy(rep, op(m, OFF_REP), sizeof(*rep));
}

/* What a target enclave does with a REPORT: its REPORT key for the KEYID, then the MAC. */
static bool verify_report(struct machine *m, const struct sgx_report *rep)
{
	struct sgx_keyrequest req;
	uint8_t key[16], mac[16];

	memset(&req, 0, sizeof(req));
	req.keyname = SGX_KEYNAME_REPORT;
	memcpy(req.keyid, rep->keyid, 32);
	getkey_ok(m, &req, key);
	cmac(key, &rep->body, sizeof(rep->body), mac);
	return memcmp(mac, rep->mac, 16) == 0;
}

/* ---- known answers ---- */

static void kat_egetkey(void **state)
{
	static const struct { uint16_t name, policy; const char *want; } v[] = {
		{ SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER, KAT_SEAL_MRSIGNER },
		{ SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRENCLAVE, KAT_SEAL_MRENCLAVE },
		{ SGX_KEYNAME_REPORT, 0, KAT_REPORT },
		{ SGX_KEYNAME_PROVISION, 0, KAT_PROVISION },
		{ SGX_KEYNAME_PROVISION_SEAL, SGX_KEYPOLICY_MRSIGNER, KAT_PROVISION_SEAL },
		{ SGX_KEYNAME_EINITTOKEN, 0, KAT_EINITTOKEN },
	};
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m;
	uint8_t key[16];

	(void)state;
	kat_platform(&kc);
	m = m_s1(&kc);
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		kat_request(&req, v[i].name, v[i].policy);
		getkey_ok(m, &req, key);
		assert_hex(key, 16, v[i].want);
	}
	m_free(m);

	m = m_s2(&kc);
	kat_request(&req, SGX_KEYNAME_SEAL, 0x3D);
	req.config_svn = 1;
	req.isv_svn = 3;
	memset(req.keyid, 0, 32);
	getkey_ok(m, &req, key);
	assert_hex(key, 16, KAT_SEAL_KSS);
	m_free(m);
}

static void kat_ereport(void **state)
{
	struct machine *m1, *m2;
	struct cpu_key_config kc;
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	uint8_t data[64];

	(void)state;
	kat_platform(&kc);
	m1 = m_s1(&kc);
	m2 = m_s2(&kc);
	for (unsigned i = 0; i < 64; i++)
		data[i] = (uint8_t)i;
	targetinfo_of(m2, &ti);
	ereport(m1, &ti, data, &rep);
	assert_hex(rep.mac, 16, KAT_EREPORT_MAC);
	assert_hex(rep.keyid, 32, KAT_REPORT_KEYID);
	/* The body describes the reporting enclave. */
	assert_hex(rep.body.cpusvn, 16, "0f0f0200ff8000000000000000000000");
	assert_int_equal(rep.body.miscselect, 1);
	assert_int_equal(rep.body.attributes.flags, 0x37);
	assert_int_equal(rep.body.attributes.xfrm, 3);
	assert_memory_equal(rep.body.mrenclave, m_secs(m1)->mrenclave, 32);
	assert_memory_equal(rep.body.mrsigner, m_secs(m1)->mrsigner, 32);
	assert_int_equal(rep.body.isv_prod_id, 0x1234);
	assert_int_equal(rep.body.isv_svn, 7);
	assert_memory_equal(rep.body.report_data, data, 64);
	/* and only the target can check it */
	assert_true(verify_report(m2, &rep));
	assert_false(verify_report(m1, &rep));
	m_free(m1);
	m_free(m2);
}

/* The KSS identities appear in the report of a KSS enclave. */
static void ereport_kss_fields(void **state)
{
	struct cpu_key_config kc;
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	uint8_t data[64] = { 0 }, ff[16];
	struct machine *m;

	(void)state;
	kat_platform(&kc);
	m = m_s2(&kc);
	targetinfo_of(m, &ti);
	ereport(m, &ti, data, &rep);
	memset(ff, 0x66, 16);
	assert_memory_equal(rep.body.isv_family_id, ff, 16);
	memset(ff, 0x77, 16);
	assert_memory_equal(rep.body.isv_ext_prod_id, ff, 16);
	assert_int_equal(rep.body.config_svn, 2);
	assert_memory_equal(rep.body.config_id, m_secs(m)->config_id, 64);
	assert_true(verify_report(m, &rep));
	m_free(m);
}

/* ---- local attestation ---- */

static void report_only_for_its_target(void **state)
{
	struct machine *a, *b, *c;
	struct cpu_key_config kc;
	struct sgx_targetinfo ti;
	struct sgx_report rep, bad;
	uint8_t data[64];
	unsigned rejected = 0;

	(void)state;
	kat_platform(&kc);
	kc.fixed_report_keyid = false;
	a = m_new(&kc);
	hb_enclave(a, 0x40000000, 0x5, 0, 0xA1, 0x01, 1, 1);
	b = m_new(&kc);
	hb_enclave(b, 0x40000000, 0x5, 0, 0xB2, 0x01, 1, 1);
	c = m_new(&kc); /* same signer, another MRENCLAVE */
	hb_enclave(c, 0x40000000, 0x5, 0, 0xC3, 0x01, 1, 1);
	memset(data, 0x5A, sizeof(data));

	targetinfo_of(b, &ti);
	ereport(a, &ti, data, &rep);
	assert_true(verify_report(b, &rep));
	assert_false(verify_report(c, &rep));
	assert_false(verify_report(a, &rep));

	/* Every single-bit change anywhere in the 432 bytes is caught. */
	for (unsigned bit = 0; bit < 8 * sizeof(rep); bit++) {
		bad = rep;
		((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		rejected += !verify_report(b, &bad);
	}
	assert_int_equal(rejected, 8 * sizeof(rep));

	/* TARGETINFO must repeat the target's SECS exactly: without INIT the keys differ. */
	ti.attributes.flags &= ~SGX_ATTR_INIT;
	ereport(a, &ti, data, &rep);
	assert_false(verify_report(b, &rep));
	targetinfo_of(b, &ti);
	ti.attributes.xfrm = 0x7;
	ereport(a, &ti, data, &rep);
	assert_false(verify_report(b, &rep));
	m_free(a);
	m_free(b);
	m_free(c);
}

/* The same platform in two "processes" (two CPU instances, random KEYID each): reports
 * cross; another platform's reports do not. */
static void platforms(void **state)
{
	struct cpu_key_config kc, kc2;
	struct machine *a, *b, *x;
	struct sgx_keyrequest req;
	struct sgx_targetinfo ti;
	struct sgx_report rep, rep2;
	uint8_t data[64] = { 1 }, k1[16], k2[16], kx[16];

	(void)state;
	kat_platform(&kc);
	kc.fixed_report_keyid = false;
	kc2 = kc;
	kc2.root[31] ^= 1;
	a = m_new(&kc);
	hb_enclave(a, 0x40000000, 0x5, 0, 0xA1, 0x01, 1, 1);
	b = m_new(&kc);
	hb_enclave(b, 0x40000000, 0x5, 0, 0xB2, 0x01, 1, 1);
	x = m_new(&kc2);
	hb_enclave(x, 0x40000000, 0x5, 0, 0xB2, 0x01, 1, 1); /* b's twin on another platform */

	targetinfo_of(b, &ti);
	ereport(a, &ti, data, &rep);
	ereport(b, &ti, data, &rep2);
	/* CR_REPORT_KEYID is random per boot unless fixed: the KEYIDs differ... */
	assert_memory_not_equal(rep.keyid, rep2.keyid, 32);
	/* ...but each report names its own, so both verify. */
	assert_true(verify_report(b, &rep));
	assert_true(verify_report(b, &rep2));
	assert_false(verify_report(x, &rep));

	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	req.isv_svn = 1;
	getkey_ok(a, &req, k1);
	getkey_ok(b, &req, k2);
	assert_memory_equal(k1, k2, 16); /* same signer, same platform */
	getkey_ok(x, &req, kx);
	assert_memory_not_equal(k1, kx, 16);
	m_free(a);
	m_free(b);
	m_free(x);
}

/* ---- what each key depends on ---- */

/* One input changed: on the platform (before the enclave exists) or in the enclave/request. */
struct variant {
	const char *what;
	void (*platform)(struct cpu_key_config *kc);
	void (*enclave)(struct machine *m, struct sgx_keyrequest *req);
};

static void v_mrenclave(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->mrenclave[31] ^= 1;
}

static void v_mrsigner(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->mrsigner[0] ^= 1;
}

static void v_prodid(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->isv_prod_id++;
}

static void v_req_isvsvn(struct machine *m, struct sgx_keyrequest *r)
{
	(void)m;
	r->isv_svn--;
}

static void v_req_cpusvn(struct machine *m, struct sgx_keyrequest *r)
{
	(void)m;
	r->cpusvn[0]--;
}

static void v_keyid(struct machine *m, struct sgx_keyrequest *r)
{
	(void)m;
	r->keyid[7] ^= 0x80;
}

static void v_owner_epoch(struct cpu_key_config *k)
{
	k->owner_epoch[3] ^= 1;
}

static void v_root(struct cpu_key_config *k)
{
	k->root[0] ^= 1;
}

static void v_debug(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->attributes.flags ^= SGX_ATTR_DEBUG; /* bound whatever the mask says */
}

static void v_unmasked_attr(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->attributes.flags ^= SGX_ATTR_AEXNOTIFY; /* not in the request's mask */
}

static void v_mask(struct machine *m, struct sgx_keyrequest *r)
{
	(void)m;
	r->attribute_mask.flags ^= 1ULL << 40; /* the mask itself is an input of some keys */
}

static void v_policy_extra(struct machine *m, struct sgx_keyrequest *r)
{
	(void)m;
	r->keypolicy |= SGX_KEYPOLICY_MRENCLAVE | SGX_KEYPOLICY_MRSIGNER;
}

static void v_misc_in(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->miscselect ^= 0x10000000; /* inside the request's MISCMASK 0xF0000000 */
}

static void v_svn_higher(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->isv_svn++; /* a newer enclave asking for the old SVN's key */
}

static void v_misc_out(struct machine *m, struct sgx_keyrequest *r)
{
	(void)r;
	m_secs(m)->miscselect ^= 1; /* outside the MISCMASK */
}

/* The key for name/policy from the generator's S1 on the KAT platform, with v applied. */
static void key_with(uint16_t name, uint16_t policy, const struct variant *v, uint8_t key[16])
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m;

	kat_platform(&kc);
	if (v && v->platform)
		v->platform(&kc);
	m = m_s1(&kc);
	kat_request(&req, name, policy);
	if (v && v->enclave)
		v->enclave(m, &req);
	getkey_ok(m, &req, key);
	m_free(m);
}

static const struct variant deps[] = {
	{ "MRENCLAVE", NULL, v_mrenclave },                  /* a */
	{ "MRSIGNER", NULL, v_mrsigner },                    /* b */
	{ "ISVPRODID", NULL, v_prodid },                     /* c */
	{ "KEYREQUEST.ISVSVN", NULL, v_req_isvsvn },         /* d */
	{ "KEYREQUEST.CPUSVN", NULL, v_req_cpusvn },         /* e */
	{ "KEYREQUEST.KEYID", NULL, v_keyid },               /* f */
	{ "OWNEREPOCH", v_owner_epoch, NULL },               /* g */
	{ "the platform secret", v_root, NULL },             /* h */
	{ "DEBUG", NULL, v_debug },                          /* i */
	{ "an attribute outside the mask", NULL, v_unmasked_attr }, /* j */
	{ "ATTRIBUTEMASK", NULL, v_mask },                   /* k */
	{ "KEYPOLICY", NULL, v_policy_extra },               /* l */
	{ "MISCSELECT inside MISCMASK", NULL, v_misc_in },   /* m */
	{ "the enclave's own ISVSVN", NULL, v_svn_higher },  /* n */
	{ "MISCSELECT outside MISCMASK", NULL, v_misc_out }, /* o */
};
#define NDEPS (sizeof(deps) / sizeof(deps[0]))

/* changes: the letters of the deps that must change the key; all others must not. */
static void check_deps(uint16_t name, uint16_t policy, const char *changes)
{
	uint8_t base[16], k[16];

	key_with(name, policy, NULL, base);
	for (unsigned i = 0; i < NDEPS; i++) {
		bool want = strchr(changes, 'a' + (char)i) != NULL;

		key_with(name, policy, &deps[i], k);
		if ((memcmp(base, k, 16) != 0) != want)
			fail_msg("key %u policy %#x: changing %s should %schange the key", name, policy,
				 deps[i].what, want ? "" : "not ");
	}
}

static void seal_dependencies(void **state)
{
	(void)state;
	/* MRSIGNER policy: the signer's family; a different MRENCLAVE keeps the key. */
	check_deps(SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER, "bcdefghiklm");
	/* MRENCLAVE policy: this exact enclave; a different signer of it keeps the key. */
	check_deps(SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRENCLAVE, "acdefghiklm");
}

static void other_key_dependencies(void **state)
{
	(void)state;
	/* REPORT: the enclave's identity and attributes in full, the KEYID; nothing requested. */
	check_deps(SGX_KEYNAME_REPORT, 0, "afghijmo");
	/* PROVISION: the signer and product, not the owner, KEYID or fuses. */
	check_deps(SGX_KEYNAME_PROVISION, 0, "bcdehikm");
	/* PROVISION_SEAL: as PROVISION plus the policy, and always the signer. */
	check_deps(SGX_KEYNAME_PROVISION_SEAL, 0, "bcdehiklm");
	/* EINITTOKEN: signer, product, owner, KEYID; no mask input. */
	check_deps(SGX_KEYNAME_EINITTOKEN, 0, "bcdefghim");
}

/* NOISVPRODID (KSS) drops ISVPRODID from SEAL keys; ISVFAMILYID/ISVEXTPRODID/CONFIGID add. */
static void kss_policies(void **state)
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m;
	uint8_t a[16], b[16];

	(void)state;
	kat_platform(&kc);
	m = m_s2(&kc);
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER | SGX_KEYPOLICY_NOISVPRODID);
	req.isv_svn = 3;
	getkey_ok(m, &req, a);
	m_secs(m)->isv_prod_id++;
	getkey_ok(m, &req, b);
	assert_memory_equal(a, b, 16);
	req.keypolicy = SGX_KEYPOLICY_MRSIGNER | SGX_KEYPOLICY_ISVFAMILYID;
	getkey_ok(m, &req, a);
	m_meta(m)->isv_family_id[0] ^= 1;
	getkey_ok(m, &req, b);
	assert_memory_not_equal(a, b, 16);
	req.keypolicy = SGX_KEYPOLICY_MRSIGNER | SGX_KEYPOLICY_ISVEXTPRODID;
	getkey_ok(m, &req, a);
	m_meta(m)->isv_ext_prod_id[0] ^= 1;
	getkey_ok(m, &req, b);
	assert_memory_not_equal(a, b, 16);
	/* CONFIGID policy: CONFIGID and the requested CONFIGSVN. */
	req.keypolicy = SGX_KEYPOLICY_MRSIGNER | SGX_KEYPOLICY_CONFIGID;
	req.config_svn = 1;
	getkey_ok(m, &req, a);
	req.config_svn = 2;
	getkey_ok(m, &req, b);
	assert_memory_not_equal(a, b, 16);
	m_secs(m)->config_id[5] ^= 1;
	getkey_ok(m, &req, a);
	assert_memory_not_equal(a, b, 16);
	/* Without the CONFIGID policy a CONFIGSVN request changes nothing. */
	req.keypolicy = SGX_KEYPOLICY_MRSIGNER;
	req.config_svn = 1;
	getkey_ok(m, &req, a);
	req.config_svn = 0;
	getkey_ok(m, &req, b);
	assert_memory_equal(a, b, 16);
	m_free(m);
}

/* ---- status codes and faults ---- */

static void egetkey_status_codes(void **state)
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m, *m2;
	uint8_t key[16], ee[16];

	(void)state;
	memset(ee, 0xEE, 16);
	kat_platform(&kc);
	m = m_s1(&kc);
	kat_request(&req, 5, 0);
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_KEYNAME);
	assert_memory_equal(key, ee, 16); /* the output is left alone */
	req.keyname = 0xFFFF;
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_KEYNAME);

	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	req.isv_svn = 8; /* the enclave is 7 */
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_ISVSVN);
	assert_memory_equal(key, ee, 16);
	req.isv_svn = 7;
	getkey_ok(m, &req, key);
	req.isv_svn = 0;
	getkey_ok(m, &req, key);

	/* CPUSVN: each component at or below the platform's (0f0f0200ff80...). */
	unhex("0f0f0200ff8000000000000000000001", req.cpusvn, 16);
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_CPUSVN);
	unhex("100f0200ff8000000000000000000000", req.cpusvn, 16);
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_CPUSVN);
	unhex("0f0f0200ff8000000000000000000000", req.cpusvn, 16);
	getkey_ok(m, &req, key);
	memset(req.cpusvn, 0, 16);
	getkey_ok(m, &req, key);
	/* CPUSVN is checked before ISVSVN. */
	req.cpusvn[0] = 0xFF;
	req.isv_svn = 100;
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_CPUSVN);
	/* The SVN checks bind PROVISION, PROVISION_SEAL and EINITTOKEN keys too; REPORT ignores. */
	for (uint16_t name = 0; name <= 4; name++) {
		kat_request(&req, name, 0);
		req.isv_svn = 8;
		assert_int_equal(getkey(m, &req, key), name == SGX_KEYNAME_REPORT ? SGX_SUCCESS
										  : SGX_INVALID_ISVSVN);
	}
	m_free(m);

	/* Without PROVISIONKEY / EINITTOKENKEY: SGX_INVALID_ATTRIBUTE, checked before the SVNs. */
	m2 = m_new(&kc);
	hb_enclave(m2, 0x40000000, SGX_ATTR_INIT | SGX_ATTR_MODE64BIT, 0, 1, 2, 3, 4);
	for (uint16_t name = 0; name <= 2; name++) {
		kat_request(&req, name, 0);
		req.isv_svn = 100;
		assert_int_equal(getkey(m2, &req, key), SGX_INVALID_ATTRIBUTE);
		assert_memory_equal(key, ee, 16);
	}
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRENCLAVE);
	req.isv_svn = 4;
	getkey_ok(m2, &req, key);
	m_free(m2);

	/* CONFIGSVN above the enclave's: SGX_INVALID_ISVSVN (there is no code of its own). */
	m2 = m_s2(&kc);
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER | SGX_KEYPOLICY_CONFIGID);
	req.isv_svn = 3;
	req.config_svn = 3; /* the enclave is 2 */
	assert_int_equal(getkey(m2, &req, key), SGX_INVALID_ISVSVN);
	req.config_svn = 2;
	getkey_ok(m2, &req, key);
	m_free(m2);
}

/* SGXEMU_SVN_CHECKS: each check can be turned off for experiments. */
static void svn_checks_configurable(void **state)
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m;
	uint8_t key[16];

	(void)state;
	kat_platform(&kc);
	kc.checks = KEYS_CHECK_ALL & ~KEYS_CHECK_ISVSVN;
	m = m_s1(&kc);
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	req.isv_svn = 1000;
	getkey_ok(m, &req, key);
	memset(req.cpusvn, 0xFF, 16);
	assert_int_equal(getkey(m, &req, key), SGX_INVALID_CPUSVN);
	m_free(m);
	kc.checks = 0;
	m = m_s1(&kc);
	getkey_ok(m, &req, key);
	m_free(m);
}

static void egetkey_faults(void **state)
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m, *m2;
	struct cpu_fault f;
	uint64_t base;

	(void)state;
	kat_platform(&kc);
	m = m_s1(&kc);
	base = m->lp.base;
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	memcpy(op(m, OFF_KR), &req, sizeof(req));

	/* KEYREQUEST: 512-aligned, inside ELRANGE, a readable REG page of this enclave. */
	f = getkey_fault(m, op_la(m, OFF_KR) + 0x40, op_la(m, OFF_OUT));
	assert_int_equal(f.vector, X86_GP);
	f = getkey_fault(m, base + HB_SIZE, op_la(m, OFF_OUT));
	assert_int_equal(f.vector, X86_GP);
	f = getkey_fault(m, base - 0x1000, op_la(m, OFF_OUT));
	assert_int_equal(f.vector, X86_GP);
	f = getkey_fault(m, base + 0x3000, op_la(m, OFF_OUT)); /* hole in ELRANGE */
	assert_int_equal(f.vector, X86_PF);
	assert_int_equal(f.addr, base + 0x3000);
	/* OUTPUT: 16-aligned, inside ELRANGE, writable. */
	f = getkey_fault(m, op_la(m, OFF_KR), op_la(m, OFF_OUT) + 8);
	assert_int_equal(f.vector, X86_GP);
	f = getkey_fault(m, op_la(m, OFF_KR), base + HB_SIZE + 0x200);
	assert_int_equal(f.vector, X86_GP);
	f = getkey_fault(m, op_la(m, OFF_KR), base + 0x2000); /* the read-only page */
	assert_int_equal(f.vector, X86_PF);
	assert_int_equal(f.addr, base + 0x2000);
	assert_true(f.errcode & X86_PF_SGX);
	assert_true(f.errcode & X86_PF_W);
	/* The KEYREQUEST may sit in a read-only page. */
	{
		struct cpu_regs r;
		uint32_t ro = 0;

		assert_int_equal(m_translate(m, base + 0x2000, false, &ro), 0);
		memcpy(epc_page(&m->cpu, ro), &req, sizeof(req));
		regs_init(&r, ENCLU_EGETKEY);
		r.rbx = base + 0x2000;
		r.rcx = op_la(m, OFF_OUT);
		assert_int_equal(enclu_egetkey(&m->cpu, &m->lp, &r, &f), 0);
		assert_int_equal(r.rax, SGX_SUCCESS);
	}

	/* Reserved fields and policy bits. */
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	req.reserved2[433] = 1;
	assert_int_equal(getkey_fault_req(m, &req).vector, X86_GP);
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	req.reserved1[0] = 1;
	assert_int_equal(getkey_fault_req(m, &req).vector, X86_GP);
	for (unsigned bit = 6; bit < 16; bit++) {
		kat_request(&req, SGX_KEYNAME_SEAL, (uint16_t)(1U << bit));
		assert_int_equal(getkey_fault_req(m, &req).vector, X86_GP);
	}
	/* KSS-only policy bits and CONFIGSVN without KSS: #GP, not a status. */
	for (unsigned bit = 2; bit < 6; bit++) {
		kat_request(&req, SGX_KEYNAME_SEAL, (uint16_t)(1U << bit));
		assert_int_equal(getkey_fault_req(m, &req).vector, X86_GP);
	}
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	req.config_svn = 1;
	assert_int_equal(getkey_fault_req(m, &req).vector, X86_GP);
	/* #GP comes before the key name is looked at. */
	req.keyname = 77;
	assert_int_equal(getkey_fault_req(m, &req).vector, X86_GP);
	m_free(m);

	/* With KSS the same bits are fine. */
	m2 = m_s2(&kc);
	for (unsigned bit = 2; bit < 6; bit++) {
		kat_request(&req, SGX_KEYNAME_SEAL, (uint16_t)(1U << bit));
		req.isv_svn = 3;
		assert_int_equal(getkey(m2, &req, NULL), SGX_SUCCESS);
	}
	m_free(m2);
}

static void ereport_faults(void **state)
{
	/* Offsets from the enclave base: 0x1000 RW, 0x2000 R, 0x3000 hole, ELRANGE 64 KiB. */
	static const struct { uint64_t ti, rd, out; uint8_t vector; uint64_t pf; } cases[] = {
		{ 0x1440, 0x1600, 0x1800, X86_GP, 0 },    /* TARGETINFO not 512-aligned */
		{ 0x1400, 0x1640, 0x1800, X86_GP, 0 },    /* REPORTDATA not 128-aligned */
		{ 0x1400, 0x1600, 0x1880, X86_GP, 0 },    /* OUTPUT not 512-aligned */
		{ 0x10400, 0x1600, 0x1800, X86_GP, 0 },   /* TARGETINFO above ELRANGE */
		{ 0x1400, 0x1600, -0x800ULL, X86_GP, 0 }, /* OUTPUT below ELRANGE */
		{ 0x3400, 0x1600, 0x1800, X86_PF, 0x3400 }, /* TARGETINFO in the hole */
		{ 0x1400, 0x3600, 0x1800, X86_PF, 0x3600 }, /* REPORTDATA in the hole */
		{ 0x1400, 0x1600, 0x2800, X86_PF, 0x2800 }, /* OUTPUT in the read-only page */
		{ 0x2400, 0x2600, 0x1800, 0, 0 },         /* inputs may be read-only */
	};
	struct cpu_key_config kc;
	struct machine *m;
	struct cpu_regs r;
	struct cpu_fault f;
	uint64_t base;

	(void)state;
	kat_platform(&kc);
	m = m_s1(&kc);
	base = m->lp.base;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long rc;

		regs_init(&r, ENCLU_EREPORT);
		r.rbx = base + cases[i].ti;
		r.rcx = base + cases[i].rd;
		r.rdx = base + cases[i].out;
		memset(&f, 0, sizeof(f));
		rc = enclu_ereport(&m->cpu, &m->lp, &r, &f);
		if (cases[i].vector == 0) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, CPU_FAULT);
		if (f.vector != cases[i].vector)
			fail_msg("EREPORT case %u: vector %u, want %u", i, f.vector, cases[i].vector);
		if (f.vector == X86_PF)
			assert_int_equal(f.addr, base + cases[i].pf);
	}
	m_free(m);
}

/* Through enclu(): RIP moves past ENCLU; outside enclave mode and without keys, #GP. */
static void dispatch(void **state)
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m;
	struct cpu_regs r;
	struct cpu_fault f;

	(void)state;
	kat_platform(&kc);
	m = m_s1(&kc);
	kat_request(&req, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	memcpy(op(m, OFF_KR), &req, sizeof(req));
	regs_init(&r, ENCLU_EGETKEY);
	r.rbx = op_la(m, OFF_KR);
	r.rcx = op_la(m, OFF_OUT);
	r.rip = 0x1000;
	assert_int_equal(enclu(&m->cpu, &m->lp, &r, &f), 0);
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rip, 0x1003);
	r.rax = ENCLU_EGETKEY;
	m->lp.in_enclave = false;
	assert_int_equal(enclu(&m->cpu, &m->lp, &r, &f), CPU_FAULT);
	assert_int_equal(f.vector, X86_GP);
	m->lp.in_enclave = true;
	cpu_keys_fini(&m->cpu);
	r.rax = ENCLU_EREPORT;
	assert_int_equal(enclu(&m->cpu, &m->lp, &r, &f), CPU_FAULT);
	assert_int_equal(f.vector, X86_GP);
	m_free(m);
}

/* The leaves run in signal handlers: not one allocation, whatever the key. */
static void no_allocation(void **state)
{
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	struct machine *m;
	uint8_t data[64] = { 0 }, key[16];
	struct timespec t0, t1;
	int n = 0;

	(void)state;
	/* The counter sees libc's and OpenSSL's allocations. */
	counting = 1;
	{
		void *volatile p = malloc(16);
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
		EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);

		free(p);
		EVP_MAC_CTX_free(c);
		EVP_MAC_free(mac);
	}
	counting = 0;
	assert_true(allocations >= 2 || !COUNTING_ALLOCATIONS);
	allocations = 0;

	kat_platform(&kc);
	m = m_s1(&kc);
	targetinfo_of(m, &ti);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	counting = 1;
	for (unsigned i = 0; i < 1000; i++) {
		kat_request(&req, (uint16_t)(i % 5), i % 5 == SGX_KEYNAME_SEAL ? 1 : 0);
		getkey_ok(m, &req, key);
		ereport(m, &ti, data, &rep);
		n++;
	}
	counting = 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(allocations, 0);
	print_message("# EGETKEY + EREPORT: %.2f us per pair (no trap)\n",
		      ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	m_free(m);
}

/* ---- EINIT-built enclaves ---- */

static EVP_PKEY *key_a, *key_b;

static int keys_setup(void **state)
{
	(void)state;
	key_a = sign_generate_key();
	key_b = sign_generate_key();
	return key_a && key_b ? 0 : -1;
}

static int keys_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	return 0;
}

struct built {
	uint32_t secs;
	struct sgx_sigstruct sig;
	uint8_t mr[32];
};

/* ECREATE + EADD/EEXTEND of one RW page at base+0x1000 (and an R page at base+0x2000,
 * unmeasured), signed by key with the SIGSTRUCT adjusted by tweak; returns EINIT's result. */
static long build(struct machine *m, uint64_t base, uint64_t flags, EVP_PKEY *key,
		  void (*tweak)(struct sgx_sigstruct *), const struct sgx_einittoken *token,
		  struct built *b)
{
	static struct sgx_secs src __attribute__((aligned(4096)));
	static uint8_t page[4096] __attribute__((aligned(4096)));
	static struct sgx_einittoken zero_token __attribute__((aligned(512)));
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	static struct sgx_sigstruct sig __attribute__((aligned(4096)));
	struct measure *mr = measure_new();
	struct cpu_fault f;
	uint32_t s = m_alloc(m), rw = m_alloc(m), ro = m_alloc(m);
	long rc;

	memset(&src, 0, sizeof(src));
	src.size = HB_SIZE;
	src.base = base;
	src.ssa_frame_size = 1;
	src.attributes.flags = flags;
	src.attributes.xfrm = 3;
	memset(&pi, 0, sizeof(pi));
	memset(&si, 0, sizeof(si));
	si.flags = (uint64_t)SGX_PT_SECS << 8;
	pi.srcpge = (uintptr_t)&src;
	pi.secinfo = (uintptr_t)&si;
	assert_int_equal(encls_ecreate(&m->cpu, &pi, epc_page(&m->cpu, s), &f), 0);
	assert_int_equal(measure_ecreate(mr, 1, HB_SIZE), 0);
	for (unsigned i = 0; i < 2; i++) {
		uint64_t la = base + 0x1000 * (i + 1);

		memset(page, 0x42 + i, sizeof(page));
		si.flags = ((uint64_t)SGX_PT_REG << 8) | (i ? SGX_SECINFO_R : SGX_SECINFO_R | SGX_SECINFO_W);
		pi.linaddr = la;
		pi.srcpge = (uintptr_t)page;
		pi.secs = (uintptr_t)epc_page(&m->cpu, s);
		assert_int_equal(encls_eadd(&m->cpu, &pi, epc_page(&m->cpu, i ? ro : rw), &f), 0);
		assert_int_equal(measure_eadd(mr, la - base, si.flags), 0);
		if (i == 0)
			for (unsigned c = 0; c < 4096; c += 256) {
				assert_int_equal(encls_eextend(&m->cpu, epc_page(&m->cpu, s),
							       epc_page(&m->cpu, rw) + c, &f), 0);
				assert_int_equal(measure_eextend(mr, la - base + c, page + c), 0);
			}
		m_map(m, la, i ? ro : rw);
	}
	assert_int_equal(measure_digest(mr, b->mr), 0);
	measure_free(mr);
	sign_sigstruct_init(&sig);
	sig.body.attributes.flags = flags;
	sig.body.attributes.xfrm = 3;
	sig.body.attributes_mask.flags = ~0ULL & ~SGX_ATTR_INIT;
	sig.body.attributes_mask.xfrm = ~0ULL;
	sig.body.misc_mask = ~0U;
	sig.body.isv_prod_id = 0x10;
	sig.body.isv_svn = 2;
	memcpy(sig.body.mrenclave, b->mr, 32);
	if (tweak)
		tweak(&sig);
	assert_int_equal(sign_sigstruct(&sig, key), 0);
	b->sig = sig;
	b->secs = s;
	if (!token)
		assert_int_equal(sigstruct_mrsigner(&sig, m->cpu.lepubkeyhash), 0); /* FLC, as Linux */
	rc = encls_einit(&m->cpu, &sig, epc_page(&m->cpu, s), token ? token : &zero_token, &f);
	if (rc == SGX_SUCCESS)
		m_enter(m, s);
	return rc;
}

static void t_family(struct sgx_sigstruct *s)
{
	memset(s->body.isv_family_id, 0xF1, 16);
	memset(s->body.isv_ext_prod_id, 0xE2, 16);
}

static void t_extprod_only(struct sgx_sigstruct *s)
{
	memset(s->body.isv_ext_prod_id, 0xE2, 16);
}

/* EINIT keeps PADDING for the key derivation and the SIGSTRUCT's KSS identities. */
static void einit_stores_key_inputs(void **state)
{
	struct cpu_key_config kc;
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	struct machine *m;
	struct built b;
	uint8_t data[64] = { 0 }, x[16];

	(void)state;
	kat_platform(&kc);
	m = m_new(&kc);
	assert_int_equal(build(m, 0x40000000, SGX_ATTR_MODE64BIT | SGX_ATTR_KSS, key_a, t_family,
			       NULL, &b), SGX_SUCCESS);
	assert_memory_equal(m_meta(m)->padding, keys_pkcs1_padding, 352);
	targetinfo_of(m, &ti);
	ereport(m, &ti, data, &rep);
	memset(x, 0xF1, 16);
	assert_memory_equal(rep.body.isv_family_id, x, 16);
	memset(x, 0xE2, 16);
	assert_memory_equal(rep.body.isv_ext_prod_id, x, 16);
	assert_memory_equal(rep.body.mrenclave, b.mr, 32);
	assert_int_equal(rep.body.isv_prod_id, 0x10);
	assert_int_equal(rep.body.isv_svn, 2);
	assert_int_equal(rep.body.attributes.flags,
			 SGX_ATTR_INIT | SGX_ATTR_MODE64BIT | SGX_ATTR_KSS);
	assert_true(verify_report(m, &rep));
	m_free(m);

	/* Without KSS an ISVFAMILYID makes the SIGSTRUCT invalid; an ISVEXTPRODID is ignored. */
	m = m_new(&kc);
	assert_int_equal(build(m, 0x40000000, SGX_ATTR_MODE64BIT, key_a, t_family, NULL, &b),
			 SGX_INVALID_SIG_STRUCT);
	m_free(m);
	m = m_new(&kc);
	assert_int_equal(build(m, 0x40000000, SGX_ATTR_MODE64BIT, key_a, t_extprod_only, NULL, &b),
			 SGX_SUCCESS);
	targetinfo_of(m, &ti);
	ereport(m, &ti, data, &rep);
	memset(x, 0, 16);
	assert_memory_equal(rep.body.isv_ext_prod_id, x, 16);
	m_free(m);
}

/* A launch enclave makes a token with its EINITTOKEN key; EINIT accepts it for the enclave it
 * names and nothing else. */
static void launch_token(void **state)
{
	static struct sgx_einittoken tok __attribute__((aligned(512)));
	struct sgx_einittoken bad __attribute__((aligned(512)));
	struct cpu_key_config kc;
	struct sgx_keyrequest req;
	struct machine *m;
	struct built le, t;
	uint8_t key[16], mr_t[32];
	uint64_t t_flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;

	(void)state;
	kat_platform(&kc);
	m = m_new(&kc);
	/* The LE: EINITTOKENKEY, signed by the key the LE MSRs name (key A). */
	assert_int_equal(build(m, 0x40000000, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY, key_a,
			       NULL, NULL, &le), SGX_SUCCESS);

	/* The enclave to launch, signed by key B: measure it by building it once with FLC. */
	{
		struct machine *probe = m_new(&kc);

		assert_int_equal(build(probe, 0x50000000, t_flags, key_b, NULL, NULL, &t), 0);
		memcpy(mr_t, t.mr, 32);
		m_free(probe);
	}

	memset(&req, 0, sizeof(req));
	req.keyname = SGX_KEYNAME_EINITTOKEN;
	req.isv_svn = 2;
	req.attribute_mask.flags = ~0ULL;
	req.attribute_mask.xfrm = ~0ULL;
	req.misc_mask = ~0U;
	memset(req.keyid, 0x99, 32);
	getkey_ok(m, &req, key);

	memset(&tok, 0, sizeof(tok));
	tok.valid = 1;
	tok.attributes.flags = t_flags;
	tok.attributes.xfrm = 3;
	memcpy(tok.mrenclave, mr_t, 32);
	sigstruct_mrsigner(&t.sig, tok.mrsigner);
	tok.isv_prod_id_le = 0x10;
	tok.isv_svn_le = 2;
	tok.masked_attributes_le = m_secs(m)->attributes; /* mask ~0: all of the LE's */
	tok.masked_miscselect_le = 0;
	memcpy(tok.keyid, req.keyid, 32);
	cmac(key, &tok, offsetof(struct sgx_einittoken, cpusvn_le), tok.mac);

	/* LEPUBKEYHASH stays the LE's signer: only the token can let key B's enclave in. */
	{
		struct machine *tm = m_new(&kc);
		uint8_t le_hash[32];

		memcpy(le_hash, m->cpu.lepubkeyhash, 32);
		memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
		assert_int_equal(build(tm, 0x50000000, t_flags, key_b, NULL, &tok, &t), SGX_SUCCESS);
		m_free(tm);

		/* One bit anywhere in what the MAC covers, or in the MAC: refused. */
		for (unsigned byte = 0; byte < sizeof(tok); byte += 7) {
			if (byte >= offsetof(struct sgx_einittoken, cpusvn_le) &&
			    byte < offsetof(struct sgx_einittoken, mac))
				continue; /* not covered; checked as inputs of the key below */
			bad = tok;
			((uint8_t *)&bad)[byte] ^= 0x10;
			tm = m_new(&kc);
			memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
			assert_int_not_equal(build(tm, 0x50000000, t_flags, key_b, NULL, &bad, &t),
					     SGX_SUCCESS);
			m_free(tm);
		}
		/* The inputs of the token key: a different KEYID gives another key. */
		bad = tok;
		bad.keyid[0] ^= 1;
		tm = m_new(&kc);
		memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
		assert_int_equal(build(tm, 0x50000000, t_flags, key_b, NULL, &bad, &t),
				 SGX_INVALID_EINITTOKEN);
		m_free(tm);
		/* CPUSVNLE above the platform's. */
		bad = tok;
		memset(bad.cpusvn_le, 0xFF, 16);
		tm = m_new(&kc);
		memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
		assert_int_equal(build(tm, 0x50000000, t_flags, key_b, NULL, &bad, &t),
				 SGX_INVALID_CPUSVN);
		m_free(tm);
		/* A valid token for another enclave: SGX_INVALID_MEASUREMENT. */
		bad = tok;
		bad.mrenclave[0] ^= 1;
		cmac(key, &bad, offsetof(struct sgx_einittoken, cpusvn_le), bad.mac);
		tm = m_new(&kc);
		memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
		assert_int_equal(build(tm, 0x50000000, t_flags, key_b, NULL, &bad, &t),
				 SGX_INVALID_MEASUREMENT);
		m_free(tm);
		/* Other attributes than the enclave has: SGX_INVALID_ATTRIBUTE. */
		bad = tok;
		bad.attributes.flags |= SGX_ATTR_KSS;
		cmac(key, &bad, offsetof(struct sgx_einittoken, cpusvn_le), bad.mac);
		tm = m_new(&kc);
		memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
		assert_int_equal(build(tm, 0x50000000, t_flags, key_b, NULL, &bad, &t),
				 SGX_INVALID_ATTRIBUTE);
		m_free(tm);
		/* A debug LE's token cannot launch a production enclave. */
		bad = tok;
		bad.masked_attributes_le.flags |= SGX_ATTR_DEBUG;
		bad.attributes.flags &= ~SGX_ATTR_DEBUG;
		cmac(key, &bad, offsetof(struct sgx_einittoken, cpusvn_le), bad.mac);
		tm = m_new(&kc);
		memcpy(tm->cpu.lepubkeyhash, le_hash, 32);
		assert_int_equal(build(tm, 0x50000000, SGX_ATTR_MODE64BIT, key_b, NULL, &bad, &t),
				 SGX_INVALID_EINITTOKEN);
		m_free(tm);
	}
	m_free(m);

	/* An EINITTOKENKEY enclave signed by someone else than LEPUBKEYHASH does not start. */
	m = m_new(&kc);
	{
		static struct sgx_einittoken zero __attribute__((aligned(512)));

		memset(m->cpu.lepubkeyhash, 0x77, 32);
		assert_int_equal(build(m, 0x40000000, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY,
				       key_a, NULL, &zero, &le), SGX_INVALID_ATTRIBUTE);
	}
	m_free(m);
}

/* ---- the platform identity and the provision node (util/config.c) ---- */

static const char *const config_vars[] = {
	"SGXEMU_PLATFORM_KEY", "SGXEMU_PLATFORM_SECRET", "SGXEMU_CPUSVN", "SGXEMU_OWNER_EPOCH",
	"SGXEMU_SVN_CHECKS", "SGXEMU_PROVISION_MODE", "SGXEMU_PROVISION_GROUP", "XDG_DATA_HOME",
};

static int config_setup(void **state)
{
	static char tmp[] = "/tmp/sgxemu-test-keys-XXXXXX";

	for (unsigned i = 0; i < sizeof(config_vars) / sizeof(config_vars[0]); i++)
		unsetenv(config_vars[i]);
	*state = mkdtemp(tmp);
	return *state ? 0 : -1;
}

static int config_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (const char *)*state);
	return system(cmd) == 0 ? 0 : -1;
}

static void config_values(void **state)
{
	struct sgxemu_config c;
	char err[256];
	uint8_t want[16];

	(void)state;
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_false(c.platform_secret_set);
	unhex(SGXEMU_DEFAULT_CPUSVN, want, 16);
	assert_memory_equal(c.cpusvn, want, 16);
	memset(want, 0, 16);
	assert_memory_equal(c.owner_epoch, want, 16);
	assert_int_equal(c.svn_checks, CONFIG_SVN_ALL);
	assert_int_equal(c.provision_mode, 0660);
	assert_string_equal(c.provision_group, "sgx_prv");

	setenv("SGXEMU_PLATFORM_SECRET", "00112233445566778899aabbccddeeff"
	       "00112233445566778899AABBCCDDEEFF", 1);
	setenv("SGXEMU_CPUSVN", "01020304050607080910111213141516", 1);
	setenv("SGXEMU_OWNER_EPOCH", "ffffffffffffffffffffffffffffff00", 1);
	setenv("SGXEMU_SVN_CHECKS", "cpusvn,configsvn", 1);
	setenv("SGXEMU_PROVISION_MODE", "0604", 1);
	setenv("SGXEMU_PROVISION_GROUP", "users", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_true(c.platform_secret_set);
	assert_int_equal(c.platform_secret[31], 0xFF);
	assert_int_equal(c.cpusvn[0], 1);
	assert_int_equal(c.cpusvn[15], 0x16);
	assert_int_equal(c.owner_epoch[15], 0);
	assert_int_equal(c.svn_checks, CONFIG_SVN_CPUSVN | CONFIG_SVN_CONFIGSVN);
	assert_int_equal(c.provision_mode, 0604);
	assert_string_equal(c.provision_group, "users");
	setenv("SGXEMU_SVN_CHECKS", "none", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(c.svn_checks, 0);

	/* Malformed values are refused with a message naming the variable. */
	static const char *const bad[][2] = {
		{ "SGXEMU_PLATFORM_SECRET", "0011" },
		{ "SGXEMU_PLATFORM_SECRET", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" },
		{ "SGXEMU_CPUSVN", "0102" },
		{ "SGXEMU_OWNER_EPOCH", "0x0102030405060708091011121314" },
		{ "SGXEMU_SVN_CHECKS", "isvsvn,nonsense" },
		{ "SGXEMU_PROVISION_MODE", "0999" },
		{ "SGXEMU_PROVISION_MODE", "1777" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char saved[128];

		snprintf(saved, sizeof(saved), "%s", getenv(bad[i][0]) ? getenv(bad[i][0]) : "");
		setenv(bad[i][0], bad[i][1], 1);
		err[0] = 0;
		assert_int_equal(config_load(&c, err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i][0]));
		if (saved[0])
			setenv(bad[i][0], saved, 1);
		else
			unsetenv(bad[i][0]);
	}
	/* A fixed secret and a key file are two platforms: not both. */
	setenv("SGXEMU_PLATFORM_KEY", "/tmp/whatever", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not both"));
	for (unsigned i = 0; i < sizeof(config_vars) / sizeof(config_vars[0]); i++)
		unsetenv(config_vars[i]);
}

static void read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void platform_key_files(void **state)
{
	const char *tmp = *state;
	char file[256], path[1024], err[1024], text[256], home[256], want[300];
	uint8_t a[32], b[32], fixed[32];
	struct sgxemu_config c;
	struct stat st;
	FILE *f;

	/* An explicit file is created, private, with a fresh secret, and read back later. */
	snprintf(file, sizeof(file), "%s/sub/platform.key", tmp);
	setenv("SGXEMU_PLATFORM_KEY", file, 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	/* Named explicitly, its directory is not made for it. */
	assert_int_equal(config_platform_secret(&c, a, path, sizeof(path), err, sizeof(err)), -1);
	assert_non_null(strstr(err, file));
	snprintf(text, sizeof(text), "%s/sub", tmp);
	assert_int_equal(mkdir(text, 0700), 0);
	assert_int_equal(config_platform_secret(&c, a, path, sizeof(path), err, sizeof(err)), 0);
	assert_string_equal(path, file);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_text(file, text, sizeof(text));
	assert_int_equal(strlen(text), 65);
	unhex(text, b, 32);
	assert_memory_equal(a, b, 32);
	assert_int_equal(config_platform_secret(&c, b, path, sizeof(path), err, sizeof(err)), 0);
	assert_memory_equal(a, b, 32);

	/* Readable by others: refused, with the remedy. */
	assert_int_equal(chmod(file, 0640), 0);
	assert_int_equal(config_platform_secret(&c, b, path, sizeof(path), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(file, 0600), 0);
	/* Not a secret: refused. */
	f = fopen(file, "w");
	fputs("not hex at all\n", f);
	fclose(f);
	assert_int_equal(config_platform_secret(&c, b, path, sizeof(path), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "64 hex digits"));
	unsetenv("SGXEMU_PLATFORM_KEY");

	/* A fixed secret needs no file. */
	setenv("SGXEMU_PLATFORM_SECRET", "0101010101010101010101010101010101010101010101010101010101010101", 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(config_platform_secret(&c, fixed, path, sizeof(path), err, sizeof(err)), 0);
	assert_string_equal(path, "");
	assert_int_equal(fixed[0], 1);
	unsetenv("SGXEMU_PLATFORM_SECRET");

	/* The default places: $XDG_DATA_HOME/sgxemu, else ~/.local/share/sgxemu. */
	snprintf(home, sizeof(home), "%s/home", tmp);
	assert_int_equal(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	assert_int_equal(config_platform_secret(&c, a, path, sizeof(path), err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/.local/share/sgxemu/platform.key", home);
	assert_string_equal(path, want);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(text, sizeof(text), "%s/xdg", tmp);
	setenv("XDG_DATA_HOME", text, 1);
	assert_int_equal(config_platform_secret(&c, b, path, sizeof(path), err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/xdg/sgxemu/platform.key", tmp);
	assert_string_equal(path, want);
	assert_memory_not_equal(a, b, 32); /* another file, another platform */
	unsetenv("XDG_DATA_HOME");
	/* A home where nothing can be created: the per-user directory under /tmp. */
	setenv("HOME", "/proc/self/fdinfo", 1);
	if (config_platform_secret(&c, a, path, sizeof(path), err, sizeof(err)) == 0) {
		snprintf(want, sizeof(want), "/tmp/sgxemu-%u/platform.key", (unsigned)geteuid());
		assert_string_equal(path, want);
	} else {
		/* /tmp/sgxemu-UID exists but is not ours alone: refusing is right too. */
		assert_non_null(strstr(err, "/tmp/sgxemu-"));
	}
	unsetenv("HOME");
}

static void provision_node(void **state)
{
	struct sgxemu_config c;
	char err[256];

	(void)state;
	assert_int_equal(config_load(&c, err, sizeof(err)), 0);
	/* root passes whatever the mode, as with CAP_DAC_OVERRIDE */
	c.provision_mode = 0;
	assert_true(config_provision_access(&c, 0, false, R_OK | W_OK));
	/* the owner is root: others get the group or the other bits */
	c.provision_mode = 0660;
	assert_true(config_provision_access(&c, 1000, true, R_OK | W_OK));
	assert_false(config_provision_access(&c, 1000, false, R_OK));
	c.provision_mode = 0604;
	assert_true(config_provision_access(&c, 1000, false, R_OK));
	assert_false(config_provision_access(&c, 1000, false, R_OK | W_OK));
	assert_false(config_provision_access(&c, 1000, true, R_OK)); /* group bits: none */
	c.provision_mode = 0700;
	assert_false(config_provision_access(&c, 1000, true, R_OK));
	/* the group: a number, a name, or root when the name is unknown (as udev leaves it) */
	snprintf(c.provision_group, sizeof(c.provision_group), "12345");
	assert_int_equal(config_provision_gid(&c), 12345);
	snprintf(c.provision_group, sizeof(c.provision_group), "root");
	assert_int_equal(config_provision_gid(&c), 0);
	snprintf(c.provision_group, sizeof(c.provision_group), "no-such-group-sgxemu");
	assert_int_equal(config_provision_gid(&c), 0);
}

int main(void)
{
	const struct CMUnitTest direct[] = {
		cmocka_unit_test(kat_egetkey),
		cmocka_unit_test(kat_ereport),
		cmocka_unit_test(ereport_kss_fields),
		cmocka_unit_test(report_only_for_its_target),
		cmocka_unit_test(platforms),
		cmocka_unit_test(seal_dependencies),
		cmocka_unit_test(other_key_dependencies),
		cmocka_unit_test(kss_policies),
		cmocka_unit_test(egetkey_status_codes),
		cmocka_unit_test(svn_checks_configurable),
		cmocka_unit_test(egetkey_faults),
		cmocka_unit_test(ereport_faults),
		cmocka_unit_test(dispatch),
		cmocka_unit_test(no_allocation),
	};
	const struct CMUnitTest built[] = {
		cmocka_unit_test(einit_stores_key_inputs),
		cmocka_unit_test(launch_token),
	};
	const struct CMUnitTest config[] = {
		cmocka_unit_test(config_values),
		cmocka_unit_test(platform_key_files),
		cmocka_unit_test(provision_node),
	};
	int rc = cmocka_run_group_tests_name("keys", direct, NULL, NULL);

	rc |= cmocka_run_group_tests_name("keys (EINIT-built)", built, keys_setup, keys_teardown);
	return rc | cmocka_run_group_tests_name("platform identity", config, config_setup,
						config_teardown);
}
