/* ENCLS leaves on an EPC that is plain malloc'd memory: ECREATE, EADD, EEXTEND, EINIT and
 * EREMOVE, each check in the order of the SDM's pseudocode. Expected MRENCLAVEs come from
 * tests/lib/sgx_fixture.c (cpu/measure.h over the layout description), never from the EPC;
 * SIGSTRUCTs are signed with tests/data/test_signing_key.pem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "cpu/measure.h"
#include "tests/lib/sgx_fixture.h"

#define BASE 0x00007f0000000000ULL
#define SIZE 0x10000ULL
#define EPC_PAGES 96

struct t {
	struct fx_machine m;
	struct fx_layout l;
	struct fx_std s;
	struct fx_encl e;
	struct sgx_sigstruct *sig;     /* 4K aligned */
	struct sgx_einittoken *token;  /* 512 aligned, zero */
	struct sgx_secs *src;          /* 4K aligned SECS source */
	uint8_t *page;                 /* 4K aligned scratch source page */
	uint8_t mr[32];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fx_machine_init(&t->m, EPC_PAGES))
		return -1;
	t->sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	t->token = aligned_alloc(512, 512);
	t->src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	t->page = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!t->sig || !t->token || !t->src || !t->page || !fx_key())
		return -1;
	memset(t->sig, 0, SGX_PAGE_SIZE);
	memset(t->token, 0, 512);
	memset(t->page, 0, SGX_PAGE_SIZE);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	fx_encl_free(&t->e);
	fx_layout_free(&t->l);
	fx_machine_fini(&t->m);
	free(t->sig);
	free(t->token);
	free(t->src);
	free(t->page);
	free(t);
	return 0;
}

static void assert_gp(long r, const struct cpu_fault *f)
{
	assert_int_equal(r, CPU_FAULT);
	assert_int_equal(f->vector, X86_GP);
	assert_int_equal(f->errcode, 0);
}

/* #PF on addr; sgx: the fault comes from an EPCM check (SGX and P bits set). */
static void assert_pf(long r, const struct cpu_fault *f, const void *addr, bool sgx)
{
	assert_int_equal(r, CPU_FAULT);
	assert_int_equal(f->vector, X86_PF);
	assert_int_equal(f->addr, (uintptr_t)addr);
	if (sgx)
		assert_int_equal(f->errcode & (X86_PF_SGX | X86_PF_P), X86_PF_SGX | X86_PF_P);
}

static void good_secs(struct sgx_secs *s)
{
	memset(s, 0, sizeof(*s));
	s->size = SIZE;
	s->base = BASE;
	s->ssa_frame_size = 1;
	s->attributes.flags = SGX_ATTR_MODE64BIT;
	s->attributes.xfrm = 0x3;
}

static long ecreate(struct t *t, const struct sgx_secs *src, void *dst, struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32))) = { 0 };
	struct sgx_secinfo si __attribute__((aligned(64)));

	memset(&si, 0, sizeof(si));
	memcpy(t->src, src, sizeof(*src));
	pi.srcpge = (uintptr_t)t->src;
	pi.secinfo = (uintptr_t)&si;
	return encls_ecreate(&t->m.cpu, &pi, dst, f);
}

static long eadd(struct t *t, void *secs, uint64_t la, const struct sgx_secinfo *si,
		 const void *src, void *dst, struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32))) = { 0 };

	pi.linaddr = la;
	pi.srcpge = (uintptr_t)src;
	pi.secinfo = (uintptr_t)si;
	pi.secs = (uintptr_t)secs;
	return encls_eadd(&t->m.cpu, &pi, dst, f);
}

static void *new_secs(struct t *t, uint64_t base)
{
	struct sgx_secs s;
	struct cpu_fault f;
	void *dst = fx_epc_alloc(&t->m);

	assert_non_null(dst);
	good_secs(&s);
	s.base = base;
	assert_int_equal(ecreate(t, &s, dst, &f), SGX_SUCCESS);
	return dst;
}

static struct epcm_entry *epcm(struct t *t, const void *epc_pg)
{
	return &t->m.cpu.epcm[fx_epc_idx(&t->m, epc_pg)];
}

/* ---------------------------------------------------------------------------------------- */
/* ECREATE */

static void test_ecreate_accepts_good_secs(void **state)
{
	struct t *t = *state;
	struct sgx_secs s;
	struct cpu_fault f;
	void *a = fx_epc_alloc(&t->m), *b = fx_epc_alloc(&t->m);
	const struct sgx_secs *in_epc = a;
	struct epcm_entry *e;

	good_secs(&s);
	assert_int_equal(ecreate(t, &s, a, &f), SGX_SUCCESS);
	e = epcm(t, a);
	assert_true(e->valid);
	assert_int_equal(e->type, SGX_PT_SECS);
	assert_int_equal(e->perm, 0);
	assert_int_equal(e->linaddr, 0);
	assert_int_equal(e->flags, 0);
	assert_non_null(e->meta);
	assert_false(e->meta->initialized);
	assert_int_equal(atomic_load(&e->meta->children), 0);
	assert_int_equal(in_epc->size, SIZE);
	assert_int_equal(in_epc->base, BASE);
	assert_int_equal(in_epc->ssa_frame_size, 1);
	assert_int_equal(in_epc->attributes.flags, SGX_ATTR_MODE64BIT);
	assert_int_equal(in_epc->attributes.xfrm, 3);

	/* A second enclave gets its own identity. */
	assert_int_equal(ecreate(t, &s, b, &f), SGX_SUCCESS);
	assert_int_not_equal(epcm(t, b)->meta->eid, e->meta->eid);
}

/* Legal variations of the SECS. */
static void test_ecreate_accepts_variants(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	for (int i = 0; i < 9; i++) {
		struct sgx_secs s;
		void *dst = fx_epc_alloc(&t->m);
		const char *what = "";

		good_secs(&s);
		switch (i) {
		case 0: what = "smallest size"; s.size = 8192; break;
		case 1: what = "largest size below 2^47 (MaxEnclaveSize_64)";
			s.size = 1ULL << 46; s.base = 1ULL << 46; break;
		case 2: what = "EXINFO"; s.miscselect = SGX_MISC_EXINFO; break;
		case 3: what = "DEBUG"; s.attributes.flags |= SGX_ATTR_DEBUG; break;
		case 4: what = "PROVISIONKEY|EINITTOKENKEY";
			s.attributes.flags |= SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY; break;
		case 5: what = "KSS with CONFIGID/CONFIGSVN";
			s.attributes.flags |= SGX_ATTR_KSS; s.config_id[63] = 1; s.config_svn = 2; break;
		case 6: what = "AEXNOTIFY"; s.attributes.flags |= SGX_ATTR_AEXNOTIFY; break;
		case 7: what = "canonical upper half"; s.base = 0xFFFF800000000000ULL; break;
		case 8: what = "big SSA frames"; s.ssa_frame_size = 16; break;
		}
		if (ecreate(t, &s, dst, &f) != SGX_SUCCESS)
			fail_msg("ECREATE rejected a legal SECS: %s", what);
		assert_true(epcm(t, dst)->valid);
	}
}

#define NR_BAD_SECS 33

/* Apply bad field number i to s; returns its name. */
static const char *bad_secs(struct sgx_secs *s, int i)
{
	good_secs(s);
	switch (i) {
	case 0: s->size = 0x18000; return "size not a power of two";
	case 1: s->size = 0x1000; return "size 4096 (< 8192)";
	case 2: s->size = 0; return "size 0";
	case 3: s->size = 1ULL << 47; s->base = 0; return "size 2^47 (MaxEnclaveSize_64)";
	case 4: s->base = BASE + 0x8000; return "base misaligned to size";
	case 5: s->base = BASE + 0x1000; return "base misaligned by a page";
	case 6: s->attributes.xfrm = 0; return "XFRM 0";
	case 7: s->attributes.xfrm = 1; return "XFRM without SSE";
	case 8: s->attributes.xfrm = 2; return "XFRM without x87";
	case 9: s->attributes.xfrm = 7; return "XFRM with unsupported AVX";
	case 10: s->attributes.xfrm = 3 | (1ULL << 63); return "XFRM bit 63";
	case 11: s->attributes.flags |= SGX_ATTR_INIT; return "INIT set";
	case 12: s->attributes.flags |= 1ULL << 3; return "reserved attribute bit 3";
	case 13: s->attributes.flags |= 1ULL << 8; return "reserved attribute bit 8";
	case 14: s->attributes.flags |= 1ULL << 63; return "reserved attribute bit 63";
	case 15: s->attributes.flags &= ~SGX_ATTR_MODE64BIT; s->base = 0x10000000; return "32-bit enclave";
	case 16: s->miscselect = 2; return "MISCSELECT bit 1 unsupported";
	case 17: s->miscselect = 1U << 31; return "MISCSELECT bit 31 unsupported";
	case 18: s->ssa_frame_size = 0; return "SSA frame too small";
	case 19: s->reserved1[0] = 1; return "reserved byte 24";
	case 20: s->reserved1[23] = 1; return "reserved byte 47";
	case 21: s->reserved2[0] = 1; return "reserved byte 96";
	case 22: s->reserved2[31] = 0x80; return "reserved byte 127";
	case 23: s->reserved3[0] = 1; return "reserved byte 160";
	case 24: s->reserved3[31] = 1; return "reserved byte 191";
	case 25: s->reserved4[0] = 1; return "reserved byte 262";
	case 26: s->reserved4[3833] = 1; return "reserved byte 4095";
	case 27: s->base = 0x0000800000000000ULL; return "non-canonical base 2^47";
	case 28: s->base = 0xFFFF000000000000ULL; return "non-canonical base (upper bits)";
	case 29: s->config_id[0] = 1; return "CONFIGID without KSS";
	case 30: s->config_svn = 1; return "CONFIGSVN without KSS";
	case 31: s->attributes.flags |= 1ULL << 9; return "reserved attribute bit 9";
	case 32: s->size = 1ULL << 54; s->base = 0; return "size 2^54";
	}
	return NULL;
}

static void test_ecreate_rejects_each_bad_field(void **state)
{
	struct t *t = *state;
	void *dst = fx_epc_alloc(&t->m);
	struct sgx_secs s;
	struct cpu_fault f;

	for (int i = 0; i < NR_BAD_SECS; i++) {
		const char *what = bad_secs(&s, i);
		long r;

		memset(&f, 0xEE, sizeof(f));
		r = ecreate(t, &s, dst, &f);
		if (r != CPU_FAULT || f.vector != X86_GP || f.errcode != 0)
			fail_msg("%s: ECREATE returned %ld (vector %u), want #GP", what, r, f.vector);
		if (epcm(t, dst)->valid)
			fail_msg("%s: EPCM entry became valid", what);
	}
	/* Nothing stuck to the page: the good SECS still goes in. */
	good_secs(&s);
	assert_int_equal(ecreate(t, &s, dst, &f), SGX_SUCCESS);
}

/* XFRM beyond x87/SSE on a CPU whose CPUID.12.1:EDX:ECX offers AVX, MPX, AVX-512 and PKRU:
 * legal combinations go in, illegal ones (as XSETBV would refuse them for XCR0) and
 * unsupported ones #GP, and SSAFRAMESIZE must hold the XSAVE area + GPRSGX + MISC. */
static void test_ecreate_xfrm(void **state)
{
	static const struct cpu_xsave_layout intel = {
		.offset = { [2] = 576, [3] = 960, [4] = 1024, [5] = 1088, [6] = 1152, [7] = 1664,
			    [9] = 2688 },
		.size = { [2] = 256, [3] = 64, [4] = 64, [5] = 64, [6] = 512, [7] = 1024, [9] = 8 },
	};
	static const struct { uint64_t xfrm; bool ok; const char *what; } cases[] = {
		{ 0x7, true, "AVX" },
		{ 0x1F, true, "AVX and MPX" },
		{ 0xE7, true, "AVX-512" },
		{ 0x2FF, true, "everything offered" },
		{ 0x203, true, "PKRU alone" },
		{ 0x5, false, "AVX without SSE" },
		{ 0xE3, false, "AVX-512 without AVX" },
		{ 0x27, false, "opmask alone" },
		{ 0x67, false, "opmask and ZMM_Hi256 without Hi16_ZMM" },
		{ 0xA7, false, "opmask and Hi16_ZMM without ZMM_Hi256" },
		{ 0xB, false, "BNDREGS without BNDCSR" },
		{ 0x20003, false, "XTILECFG without XTILEDATA" },
		{ 0x60003, false, "AMX (legal, not offered)" },
		{ 0x103, false, "bit 8 (supervisor PT)" },
		{ 0x80003, false, "bit 19 (not offered)" },
	};
	struct t *t = *state;
	struct cpu_fault f;
	struct sgx_secs s;

	t->m.cpu.feat.xfrm = 0x2FF;
	t->m.cpu.feat.xsave = intel;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *dst = fx_epc_alloc(&t->m);
		long r;

		assert_non_null(dst);
		good_secs(&s);
		s.attributes.xfrm = cases[i].xfrm;
		r = ecreate(t, &s, dst, &f);
		if (cases[i].ok && r != SGX_SUCCESS)
			fail_msg("%s: ECREATE refused XFRM %#llx", cases[i].what,
				 (unsigned long long)cases[i].xfrm);
		if (!cases[i].ok && (r != CPU_FAULT || f.vector != X86_GP))
			fail_msg("%s: ECREATE took XFRM %#llx", cases[i].what,
				 (unsigned long long)cases[i].xfrm);
		assert_int_equal(epcm(t, dst)->valid, cases[i].ok);
	}

	/* SSAFRAMESIZE: an XSAVE area ending at 4096 - 184 fills one page with GPRSGX; EXINFO's
	 * 16 bytes then need a second page. */
	t->m.cpu.feat.xsave.offset[9] = 4096 - 184 - 8;
	for (int i = 0; i < 4; i++) {
		void *dst = fx_epc_alloc(&t->m);
		bool exinfo = i & 1, two = i & 2;

		assert_non_null(dst);
		good_secs(&s);
		s.attributes.xfrm = 0x203;
		s.miscselect = exinfo ? SGX_MISC_EXINFO : 0;
		s.ssa_frame_size = two ? 2 : 1;
		if (!exinfo || two)
			assert_int_equal(ecreate(t, &s, dst, &f), SGX_SUCCESS);
		else
			assert_gp(ecreate(t, &s, dst, &f), &f);
	}
	/* The same XFRM on the default CPU (x87/SSE only) is refused. */
	t->m.cpu.feat.xfrm = 0x3;
	good_secs(&s);
	s.attributes.xfrm = 0x7;
	assert_gp(ecreate(t, &s, fx_epc_alloc(&t->m), &f), &f);
}

static void test_ecreate_operand_checks(void **state)
{
	struct t *t = *state;
	struct sgx_pageinfo pis[2] __attribute__((aligned(32)));
	struct sgx_secinfo sis[2] __attribute__((aligned(64)));
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct sgx_pageinfo *pi = &pis[0];
	struct cpu_fault f;
	struct sgx_secs s;
	void *outside = t->page;

	good_secs(&s);
	memcpy(t->src, &s, sizeof(s));
	memset(sis, 0, sizeof(sis));
	memset(pis, 0, sizeof(pis));
	pi->srcpge = (uintptr_t)t->src;
	pi->secinfo = (uintptr_t)&sis[0];

	/* PAGEINFO not 32-byte aligned. */
	memmove((uint8_t *)pis + 8, pi, sizeof(*pi));
	assert_gp(encls_ecreate(&t->m.cpu, (struct sgx_pageinfo *)((uint8_t *)pis + 8), dst, &f), &f);
	memset(pis, 0, sizeof(pis));
	pi->srcpge = (uintptr_t)t->src;
	pi->secinfo = (uintptr_t)&sis[0];
	/* Destination not page aligned, not in the EPC. */
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst + 64, &f), &f);
	assert_pf(encls_ecreate(&t->m.cpu, pi, outside, &f), &f, outside, false);
	/* SRCPGE, SECINFO alignment; LINADDR and SECS must be 0. */
	pi->srcpge += 8;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	pi->srcpge -= 8;
	pi->secinfo += 32;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	pi->secinfo -= 32;
	pi->linaddr = BASE;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	pi->linaddr = 0;
	pi->secs = (uintptr_t)dst;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	pi->secs = 0;
	/* SECINFO: type must be PT_SECS, reserved bits and bytes zero. */
	sis[0].flags = FX_SI_RW;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	sis[0].flags = 1ULL << 16;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	sis[0].flags = 0;
	sis[0].reserved[55] = 1;
	assert_gp(encls_ecreate(&t->m.cpu, pi, dst, &f), &f);
	sis[0].reserved[55] = 0;
	assert_false(epcm(t, dst)->valid);
	assert_int_equal(encls_ecreate(&t->m.cpu, pi, dst, &f), SGX_SUCCESS);
}

static void test_ecreate_valid_destination_pf(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	void *reg = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	struct sgx_secs s;
	struct cpu_fault f;
	uint64_t eid = epcm(t, secs)->meta->eid;

	good_secs(&s);
	s.base = BASE + SIZE;
	assert_pf(ecreate(t, &s, secs, &f), &f, secs, true);
	/* The enclave that lives there is untouched. */
	assert_int_equal(epcm(t, secs)->meta->eid, eid);
	assert_int_equal(((struct sgx_secs *)secs)->base, BASE);

	assert_int_equal(eadd(t, secs, BASE, &si, t->page, reg, &f), SGX_SUCCESS);
	assert_pf(ecreate(t, &s, reg, &f), &f, reg, true);
	assert_int_equal(epcm(t, reg)->type, SGX_PT_REG);
}

/* ---------------------------------------------------------------------------------------- */
/* EADD */

static void test_eadd_reg_page(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	uint8_t *a = fx_epc_alloc(&t->m), *b = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RX };
	struct cpu_fault f;
	struct epcm_entry *e;

	for (unsigned i = 0; i < SGX_PAGE_SIZE; i++)
		t->page[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(eadd(t, secs, BASE + 0x3000, &si, t->page, a, &f), SGX_SUCCESS);
	assert_memory_equal(a, t->page, SGX_PAGE_SIZE);
	e = epcm(t, a);
	assert_true(e->valid);
	assert_int_equal(e->type, SGX_PT_REG);
	assert_int_equal(e->perm, SGX_SECINFO_R | SGX_SECINFO_X);
	assert_int_equal(e->linaddr, BASE + 0x3000);
	assert_int_equal(e->secs, fx_epc_idx(&t->m, secs));
	assert_int_equal(e->flags, 0);
	assert_int_equal(atomic_load(&epcm(t, secs)->meta->children), 1);

	/* Hardware does not check that a linear address is used once. */
	si.flags = SGX_PT_REG << 8;
	assert_int_equal(eadd(t, secs, BASE + 0x3000, &si, t->page, b, &f), SGX_SUCCESS);
	assert_int_equal(epcm(t, b)->perm, 0);
	assert_int_equal(atomic_load(&epcm(t, secs)->meta->children), 2);
}

static void test_eadd_secinfo_checks(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;

	for (int i = 0; i < 13; i++) {
		const char *what = "";
		long r;

		memset(&si, 0, sizeof(si));
		si.flags = FX_SI_RW;
		switch (i) {
		case 0: what = "reserved byte 8"; si.reserved[0] = 1; break;
		case 1: what = "reserved byte 63"; si.reserved[55] = 1; break;
		case 2: what = "flags bit 6"; si.flags |= 1ULL << 6; break;
		case 3: what = "flags bit 7"; si.flags |= 1ULL << 7; break;
		case 4: what = "flags bit 16"; si.flags |= 1ULL << 16; break;
		case 5: what = "flags bit 63"; si.flags |= 1ULL << 63; break;
		case 6: what = "PT_SECS"; si.flags = 0x001; break;
		case 7: what = "PT_VA"; si.flags = 0x301; break;
		case 8: what = "PT_TRIM"; si.flags = 0x401; break;
		case 9: what = "page type 5"; si.flags = 0x503; break;
		case 10: what = "page type 0xFF"; si.flags = 0xFF03; break;
		case 11: what = "REG W without R"; si.flags = 0x202; break;
		case 12: what = "REG WX without R"; si.flags = 0x206; break;
		}
		r = eadd(t, secs, BASE, &si, t->page, dst, &f);
		if (r != CPU_FAULT || f.vector != X86_GP)
			fail_msg("EADD with %s returned %ld, want #GP", what, r);
		if (epcm(t, dst)->valid)
			fail_msg("EADD with %s validated the page", what);
	}
	assert_int_equal(atomic_load(&epcm(t, secs)->meta->children), 0);
	memset(&si, 0, sizeof(si));
	si.flags = SGX_PT_REG << 8; /* no permissions at all is legal */
	assert_int_equal(eadd(t, secs, BASE, &si, t->page, dst, &f), SGX_SUCCESS);
}

static void test_eadd_outside_elrange(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	struct cpu_fault f;

	assert_gp(eadd(t, secs, BASE - SGX_PAGE_SIZE, &si, t->page, dst, &f), &f);
	assert_gp(eadd(t, secs, BASE + SIZE, &si, t->page, dst, &f), &f);
	assert_gp(eadd(t, secs, BASE + 0x100000, &si, t->page, dst, &f), &f);
	assert_gp(eadd(t, secs, 0, &si, t->page, dst, &f), &f);
	assert_false(epcm(t, dst)->valid);
	assert_int_equal(eadd(t, secs, BASE + SIZE - SGX_PAGE_SIZE, &si, t->page, dst, &f),
			 SGX_SUCCESS);
}

static void build_std(struct t *t, uint64_t attributes, uint32_t misc)
{
	struct cpu_fault f;

	assert_int_equal(fx_std_layout(&t->l, &t->s, BASE, SIZE, 1, 1, misc), 0);
	t->l.attributes = attributes;
	assert_int_equal(fx_build(&t->m, &t->l, &t->e, &f), SGX_SUCCESS);
	assert_int_equal(fx_mrenclave(&t->l, t->mr), 0);
	fx_sigstruct_prepare(&t->l, t->mr, t->sig);
}

/* Sign t->sig, point LEPUBKEYHASH at its signer and EINIT. */
static long einit_signed(struct t *t, struct cpu_fault *f)
{
	assert_int_equal(fx_sign(t->sig), 0);
	fx_set_lehash(&t->m.cpu, t->sig);
	return encls_einit(&t->m.cpu, t->sig, t->e.secs, t->token, f);
}

static long einit_as_is(struct t *t, struct cpu_fault *f)
{
	return encls_einit(&t->m.cpu, t->sig, t->e.secs, t->token, f);
}

static void test_eadd_after_einit(void **state)
{
	struct t *t = *state;
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
	assert_gp(eadd(t, t->e.secs, BASE + t->s.hole, &si, t->page, dst, &f), &f);
	assert_false(epcm(t, dst)->valid);
}

static struct sgx_tcs *good_tcs(struct t *t)
{
	struct sgx_tcs *tcs = (struct sgx_tcs *)t->page;

	memset(tcs, 0, sizeof(*tcs));
	tcs->ossa = 0x1000;
	tcs->nssa = 2;
	tcs->oentry = 0x2000;
	tcs->ofsbase = 0x3000;
	tcs->ogsbase = 0x4000;
	tcs->fslimit = tcs->gslimit = 0xFFFFFFFF;
	return tcs;
}

static void test_eadd_tcs_bad_fields(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_TCS };
	struct cpu_fault f;

	for (int i = 0; i < 7; i++) {
		struct sgx_tcs *tcs = good_tcs(t);
		const char *what = "";
		long r;

		switch (i) {
		case 0: what = "FLAGS bit 2"; tcs->flags = 1ULL << 2; break;
		case 1: what = "FLAGS bit 63"; tcs->flags = 1ULL << 63; break;
		case 2: what = "OSSA not page aligned"; tcs->ossa = 0x1800; break;
		case 3: what = "OFSBASE not page aligned"; tcs->ofsbase = 0x3010; break;
		case 4: what = "OGSBASE not page aligned"; tcs->ogsbase = 0x4800; break;
		case 5: what = "reserved byte 72"; tcs->reserved[0] = 1; break;
		case 6: what = "reserved byte 4095"; tcs->reserved[4023] = 1; break;
		}
		r = eadd(t, secs, BASE, &si, t->page, dst, &f);
		if (r != CPU_FAULT || f.vector != X86_GP)
			fail_msg("EADD of a TCS with %s returned %ld, want #GP", what, r);
		assert_false(epcm(t, dst)->valid);
	}
	good_tcs(t);
	assert_int_equal(eadd(t, secs, BASE, &si, t->page, dst, &f), SGX_SUCCESS);
}

/* TCS.FLAGS at EADD: AEXNOTIFY is kept (with DBGOPTIN forced off) where the CPU has
 * AEX-Notify; on a CPU without it bit 1 is reserved, as bits 2-63 always are (#GP). */
static void test_eadd_tcs_aexnotify_flag(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_TCS };
	struct sgx_tcs *src;
	struct cpu_fault f;
	uint8_t *dst = fx_epc_alloc(&t->m);

	src = good_tcs(t);
	src->flags = SGX_TCS_FLAGS_AEXNOTIFY | SGX_TCS_FLAGS_DBGOPTIN;
	assert_int_equal(eadd(t, secs, BASE, &si, src, dst, &f), SGX_SUCCESS);
	assert_int_equal(((struct sgx_tcs *)dst)->flags, SGX_TCS_FLAGS_AEXNOTIFY);

	dst = fx_epc_alloc(&t->m);
	src = good_tcs(t);
	src->flags = 0x4;
	assert_gp(eadd(t, secs, BASE + 0x1000, &si, src, dst, &f), &f);
	t->m.cpu.feat.attributes &= ~SGX_ATTR_AEXNOTIFY;
	src->flags = SGX_TCS_FLAGS_AEXNOTIFY;
	assert_gp(eadd(t, secs, BASE + 0x1000, &si, src, dst, &f), &f);
	assert_false(epcm(t, dst)->valid);
	src->flags = 0;
	assert_int_equal(eadd(t, secs, BASE + 0x1000, &si, src, dst, &f), SGX_SUCCESS);
}

/* EADD forces a TCS's EPCM permissions to 0 and zeroes STATE, DBGOPTIN, CSSA and AEP before
 * anything is measured (isa.md §4.2 step 7, §13.4). */
static void test_eadd_tcs_sanitised_before_measurement(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_TCS | 0x7 };
	struct sgx_tcs *src = good_tcs(t), clean, *in_epc = (struct sgx_tcs *)dst;
	struct measure *m;
	struct cpu_fault f;
	uint8_t mr_raw_flags[32], mr_raw_tcs[32], mr[32];

	src->state = 0x55;
	src->flags = SGX_TCS_FLAGS_DBGOPTIN;
	src->cssa = 1;
	src->aep = 0x401234;
	assert_int_equal(eadd(t, secs, BASE, &si, src, dst, &f), SGX_SUCCESS);
	assert_int_equal(epcm(t, dst)->type, SGX_PT_TCS);
	assert_int_equal(epcm(t, dst)->perm, 0);
	assert_int_equal(in_epc->state, 0);
	assert_int_equal(in_epc->flags, 0);
	assert_int_equal(in_epc->cssa, 0);
	assert_int_equal(in_epc->aep, 0);
	assert_int_equal(in_epc->ossa, 0x1000);
	assert_int_equal(in_epc->nssa, 2);
	assert_int_equal(in_epc->oentry, 0x2000);
	assert_int_equal(in_epc->ofsbase, 0x3000);
	assert_int_equal(in_epc->ogsbase, 0x4000);
	for (unsigned c = 0; c < SGX_PAGE_SIZE; c += 256)
		assert_int_equal(encls_eextend(&t->m.cpu, secs, dst + c, &f), SGX_SUCCESS);

	clean = *src;
	clean.state = 0;
	clean.flags = 0;
	clean.cssa = 0;
	clean.aep = 0;
	/* Three candidate measurements; only the sanitised one is right. */
	for (int variant = 0; variant < 3; variant++) {
		const struct sgx_tcs *data = variant == 1 ? src : &clean;
		uint64_t flags = variant == 0 ? FX_SI_TCS | 0x7 : FX_SI_TCS;
		uint8_t *out = variant == 0 ? mr_raw_flags : variant == 1 ? mr_raw_tcs : mr;

		m = measure_new();
		assert_non_null(m);
		assert_int_equal(measure_ecreate(m, 1, SIZE), 0);
		assert_int_equal(measure_eadd(m, 0, flags), 0);
		for (unsigned c = 0; c < SGX_PAGE_SIZE; c += 256)
			assert_int_equal(measure_eextend(m, c, (const uint8_t *)data + c), 0);
		assert_int_equal(measure_digest(m, out), 0);
		measure_free(m);
	}
	memset(&t->l, 0, sizeof(t->l));
	t->l.miscselect = 0;
	t->l.attributes = SGX_ATTR_MODE64BIT;
	t->l.xfrm = 3;
	t->e.secs = secs;

	fx_sigstruct_prepare(&t->l, mr_raw_flags, t->sig);
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_MEASUREMENT);
	fx_sigstruct_prepare(&t->l, mr_raw_tcs, t->sig);
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_MEASUREMENT);
	fx_sigstruct_prepare(&t->l, mr, t->sig);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

static void test_eadd_operand_checks(void **state)
{
	struct t *t = *state;
	void *secs = new_secs(t, BASE);
	uint8_t *dst = fx_epc_alloc(&t->m), *free_pg = fx_epc_alloc(&t->m);
	uint8_t *reg = fx_epc_alloc(&t->m);
	struct sgx_pageinfo pis[2] __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	struct sgx_pageinfo *pi = &pis[0], *odd = (struct sgx_pageinfo *)((uint8_t *)pis + 16);
	uint8_t *outside = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	struct cpu_fault f;

	assert_non_null(outside);
	assert_int_equal(eadd(t, secs, BASE + 0x1000, &si, t->page, reg, &f), SGX_SUCCESS);
	memset(pis, 0, sizeof(pis));
	pi->linaddr = BASE;
	pi->srcpge = (uintptr_t)t->page;
	pi->secinfo = (uintptr_t)&si;
	pi->secs = (uintptr_t)secs;
	memmove(odd, pi, sizeof(*pi));
	assert_gp(encls_eadd(&t->m.cpu, odd, dst, &f), &f);
	memset(pis, 0, sizeof(pis));
	pi->linaddr = BASE;
	pi->srcpge = (uintptr_t)t->page;
	pi->secinfo = (uintptr_t)&si;
	pi->secs = (uintptr_t)secs;

	assert_gp(encls_eadd(&t->m.cpu, pi, dst + 8, &f), &f);
	assert_pf(encls_eadd(&t->m.cpu, pi, outside, &f), &f, outside, false);
	pi->srcpge += 64;
	assert_gp(encls_eadd(&t->m.cpu, pi, dst, &f), &f);
	pi->srcpge -= 64;
	pi->secinfo += 8;
	assert_gp(encls_eadd(&t->m.cpu, pi, dst, &f), &f);
	pi->secinfo -= 8;
	pi->linaddr += 0x10;
	assert_gp(encls_eadd(&t->m.cpu, pi, dst, &f), &f);
	pi->linaddr -= 0x10;
	pi->secs += 0x40;
	assert_gp(encls_eadd(&t->m.cpu, pi, dst, &f), &f);
	/* The SECS operand must be an EPC page holding a valid SECS. */
	pi->secs = (uintptr_t)outside;
	assert_pf(encls_eadd(&t->m.cpu, pi, dst, &f), &f, outside, false);
	pi->secs = (uintptr_t)free_pg;
	assert_pf(encls_eadd(&t->m.cpu, pi, dst, &f), &f, free_pg, true);
	pi->secs = (uintptr_t)reg;
	assert_pf(encls_eadd(&t->m.cpu, pi, dst, &f), &f, reg, true);
	pi->secs = (uintptr_t)secs;
	/* The destination must not be valid yet. */
	assert_pf(encls_eadd(&t->m.cpu, pi, reg, &f), &f, reg, true);
	assert_pf(encls_eadd(&t->m.cpu, pi, secs, &f), &f, secs, true);
	assert_false(epcm(t, dst)->valid);
	assert_int_equal(atomic_load(&epcm(t, secs)->meta->children), 1);
	assert_int_equal(encls_eadd(&t->m.cpu, pi, dst, &f), SGX_SUCCESS);
	free(outside);
}

/* ---------------------------------------------------------------------------------------- */
/* EEXTEND */

static void test_eextend_checks(void **state)
{
	struct t *t = *state;
	void *a = new_secs(t, BASE), *b = new_secs(t, BASE + SIZE);
	uint8_t *pa = fx_epc_alloc(&t->m), *free_pg = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	struct cpu_fault f;

	assert_int_equal(eadd(t, a, BASE, &si, t->page, pa, &f), SGX_SUCCESS);
	/* The chunk's page belongs to A, not B. */
	assert_gp(encls_eextend(&t->m.cpu, b, pa, &f), &f);
	/* A REG page is no SECS either. */
	assert_gp(encls_eextend(&t->m.cpu, pa, pa + 256, &f), &f);
	/* Alignment: SECS 4K, chunk 256. */
	assert_gp(encls_eextend(&t->m.cpu, (uint8_t *)a + 64, pa, &f), &f);
	assert_gp(encls_eextend(&t->m.cpu, a, pa + 128, &f), &f);
	/* The chunk must be in a valid REG/TCS page. */
	assert_pf(encls_eextend(&t->m.cpu, a, free_pg, &f), &f, free_pg, true);
	assert_pf(encls_eextend(&t->m.cpu, a, (uint8_t *)b + 256, &f), &f, (uint8_t *)b + 256, true);
	assert_pf(encls_eextend(&t->m.cpu, a, t->page, &f), &f, t->page, false);
	assert_int_equal(encls_eextend(&t->m.cpu, a, pa + 0xF00, &f), SGX_SUCCESS);
}

static void test_eextend_after_einit(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	int code;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
	code = fx_page_at(&t->l, t->s.code);
	assert_true(code >= 0);
	assert_gp(encls_eextend(&t->m.cpu, t->e.secs, t->e.page[code], &f), &f);
}

/* ---------------------------------------------------------------------------------------- */
/* EINIT */

static void test_einit_accepts_and_commits(void **state)
{
	struct t *t = *state;
	const struct sgx_secs *secs;
	struct cpu_fault f;
	uint8_t signer[32], zero[32] = { 0 };

	build_std(t, SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG, SGX_MISC_EXINFO);
	secs = t->e.secs;
	assert_memory_equal(secs->mrsigner, zero, 32);
	assert_int_equal(secs->attributes.flags & SGX_ATTR_INIT, 0);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);

	fx_sha256(t->sig->modulus, sizeof(t->sig->modulus), signer);
	assert_memory_equal(secs->mrenclave, t->mr, 32);
	assert_memory_equal(secs->mrsigner, signer, 32);
	assert_int_equal(secs->isv_prod_id, 0x1234);
	assert_int_equal(secs->isv_svn, 7);
	assert_int_equal(secs->attributes.flags,
			 SGX_ATTR_INIT | SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG);
	assert_int_equal(secs->attributes.xfrm, 3);
	assert_int_equal(secs->miscselect, SGX_MISC_EXINFO);
	assert_true(epcm(t, t->e.secs)->meta->initialized);
}

static void test_einit_vendor_intel_accepted(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	t->sig->header.vendor = 0x8086;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

/* MRENCLAVE is exactly ECREATE + every EADD (measured or not) + EEXTENDs, in order. */
static void test_einit_measurement_model(void **state)
{
	struct t *t = *state;
	struct fx_layout v;
	struct cpu_fault f;
	uint8_t mr[32];
	int ssa, code;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	ssa = fx_page_at(&t->l, t->s.ssa[0]);
	code = fx_page_at(&t->l, t->s.code);
	assert_true(ssa >= 0 && code >= 0);
	for (int i = 0; i < 6; i++) {
		const char *what = "";

		v = t->l; /* shares page data: only the description changes */
		switch (i) {
		case 0: what = "pages swapped";
			v.page[ssa] = t->l.page[code];
			v.page[code] = t->l.page[ssa];
			break;
		case 1: what = "unmeasured page left out";
			memmove(&v.page[ssa], &v.page[ssa + 1], (v.npages - ssa - 1) * sizeof(v.page[0]));
			v.npages--;
			break;
		case 2: what = "unmeasured page measured"; v.page[ssa].measure = true; break;
		case 3: what = "SSAFRAMESIZE"; v.ssa_frame_size = 2; break;
		case 4: what = "SIZE"; v.size = 2 * SIZE; break;
		case 5: what = "code permissions"; v.page[code].secinfo = FX_SI_R; break;
		}
		assert_int_equal(fx_mrenclave(&v, mr), 0);
		fx_sigstruct_prepare(&t->l, mr, t->sig);
		if (einit_signed(t, &f) != SGX_INVALID_MEASUREMENT)
			fail_msg("EINIT accepted a MRENCLAVE with %s", what);
	}
	fx_sigstruct_prepare(&t->l, t->mr, t->sig);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

static void test_einit_invalid_measurement(void **state)
{
	struct t *t = *state;
	const struct sgx_secs *secs;
	struct cpu_fault f;
	uint8_t zero[32] = { 0 };

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	secs = t->e.secs;
	t->sig->body.mrenclave[31] ^= 1;
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_MEASUREMENT);
	/* A failed EINIT commits nothing and can be retried. */
	assert_memory_equal(secs->mrsigner, zero, 32);
	assert_int_equal(secs->isv_svn, 0);
	assert_int_equal(secs->attributes.flags & SGX_ATTR_INIT, 0);
	assert_false(epcm(t, t->e.secs)->meta->initialized);
	t->sig->body.mrenclave[31] ^= 1;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

static void test_einit_attribute_mask_mismatch(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	t->sig->body.attributes.flags |= SGX_ATTR_DEBUG;
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_ATTRIBUTE);
	t->sig->body.attributes.flags = SGX_ATTR_DEBUG; /* MODE64BIT missing */
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_ATTRIBUTE);
	t->sig->body.attributes.flags = SGX_ATTR_MODE64BIT;
	t->sig->body.attributes.xfrm = 0x7; /* XFRM is compared too */
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_ATTRIBUTE);
	/* Outside the masks, differences do not matter. */
	t->sig->body.attributes.xfrm = 0x7;
	t->sig->body.attributes_mask.xfrm = 0x3;
	t->sig->body.attributes.flags = SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG;
	t->sig->body.attributes_mask.flags = SGX_ATTR_MODE64BIT;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

static void test_einit_misc_mask_mismatch(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, SGX_MISC_EXINFO);
	t->sig->body.miscselect = 0;
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_ATTRIBUTE);
	t->sig->body.misc_mask = ~SGX_MISC_EXINFO;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

/* EINITTOKEN_KEY is a controlled attribute: only the launch key's signer may have it. */
static void test_einit_einittokenkey_needs_le_signer(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY, 0);
	assert_int_equal(fx_sign(t->sig), 0);
	memset(t->m.cpu.lepubkeyhash, 0x11, 32);
	/* Step 11 comes before the token checks: INVALID_ATTRIBUTE, not INVALID_EINITTOKEN. */
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_ATTRIBUTE);
	fx_set_lehash(&t->m.cpu, t->sig);
	assert_int_equal(einit_as_is(t, &f), SGX_SUCCESS);
}

static void test_einit_invalid_sig_struct(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	struct sgx_sigstruct good;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	good = *t->sig;
	for (int i = 0; i < 10; i++) {
		const char *what = "";
		long r;

		*t->sig = good;
		switch (i) {
		case 0: what = "HEADER byte 0"; t->sig->header.header1[0] ^= 1; break;
		case 1: what = "HEADER byte 15"; t->sig->header.header1[15] = 0x80; break;
		case 2: what = "HEADER2 byte 3"; t->sig->header.header2[3] = 1; break;
		case 3: what = "VENDOR"; t->sig->header.vendor = 0x1234; break;
		case 4: what = "VENDOR Intel in the wrong byte order"; t->sig->header.vendor = 0x86800000; break;
		case 5: what = "reserved byte 44"; t->sig->header.reserved[0] = 1; break;
		case 6: what = "reserved byte 127"; t->sig->header.reserved[83] = 1; break;
		/* Unsigned fields: changed after signing below. */
		case 7: what = "EXPONENT"; break;
		case 8: what = "reserved byte 1028"; break;
		case 9: what = "reserved byte 1039"; break;
		}
		assert_int_equal(fx_sign(t->sig), 0);
		if (i == 7)
			t->sig->exponent = 65537;
		else if (i == 8)
			t->sig->reserved4[0] = 1;
		else if (i == 9)
			t->sig->reserved4[11] = 1;
		fx_set_lehash(&t->m.cpu, t->sig);
		r = einit_as_is(t, &f);
		if (r != SGX_INVALID_SIG_STRUCT)
			fail_msg("SIGSTRUCT with bad %s: EINIT returned %ld, want INVALID_SIG_STRUCT", what, r);
	}
	*t->sig = good;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

/* Reserved bytes inside the signed body (SIGSTRUCT 910-911 and 992-1007) must be zero
 * (isa.md §1.9, §8 step 3: "reserved SIGSTRUCT bytes != 0 -> SGX_INVALID_SIG_STRUCT"). */
static void test_einit_body_reserved_bytes(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	struct sgx_sigstruct good;
	static const size_t offsets[] = { 910, 911, 992, 999, 1007 };
	char accepted[128] = "";

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	good = *t->sig;
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		long r;

		*t->sig = good;
		((uint8_t *)t->sig)[offsets[i]] = 1;
		r = einit_signed(t, &f);
		if (r == SGX_SUCCESS) {
			/* Keep going on a fresh enclave so every offset is reported. */
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted),
				 " %zu", offsets[i]);
			fx_encl_free(&t->e);
			fx_layout_free(&t->l);
			build_std(t, SGX_ATTR_MODE64BIT, 0);
		} else if (r != SGX_INVALID_SIG_STRUCT) {
			fail_msg("SIGSTRUCT byte %zu set: EINIT returned %ld", offsets[i], r);
		}
	}
	if (accepted[0])
		fail_msg("EINIT accepted SIGSTRUCTs with reserved byte(s)%s set", accepted);
	*t->sig = good;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

/* ISVFAMILYID (SIGSTRUCT 912) non-zero for an enclave without KSS (isa.md §8 step 7). */
static void test_einit_isvfamilyid_without_kss(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	((uint8_t *)t->sig)[912] = 1;
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_SIG_STRUCT);
	((uint8_t *)t->sig)[912] = 0;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
}

static void test_einit_invalid_signature(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	struct sgx_sigstruct good;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(fx_sign(t->sig), 0);
	good = *t->sig;
	for (int i = 0; i < 5; i++) {
		const char *what = "";

		*t->sig = good;
		switch (i) {
		case 0: what = "SIGNATURE byte"; t->sig->signature[0] ^= 1; break;
		case 1: what = "signed ISVSVN"; t->sig->body.isv_svn++; break;
		case 2: what = "signed DATE"; t->sig->header.date = 0x20250101; break;
		case 3: what = "Q1"; t->sig->q1[5] ^= 0x10; break;
		case 4: what = "MODULUS"; t->sig->modulus[0] ^= 2; break;
		}
		fx_set_lehash(&t->m.cpu, t->sig);
		if (einit_as_is(t, &f) != SGX_INVALID_SIGNATURE)
			fail_msg("EINIT accepted a SIGSTRUCT with a changed %s", what);
	}
	*t->sig = good;
	fx_set_lehash(&t->m.cpu, t->sig);
	assert_int_equal(einit_as_is(t, &f), SGX_SUCCESS);
}

static void test_einit_invalid_einittoken(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(fx_sign(t->sig), 0);
	/* Invalid token: LEPUBKEYHASH must be the signer's. */
	memset(t->m.cpu.lepubkeyhash, 0, 32);
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_EINITTOKEN);
	fx_sha256(t->sig->signature, sizeof(t->sig->signature), t->m.cpu.lepubkeyhash);
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_EINITTOKEN);
	/* A "valid" token whose MAC is garbage. */
	fx_set_lehash(&t->m.cpu, t->sig);
	t->token->valid = 1;
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_EINITTOKEN);
	t->token->valid = 0;
	assert_int_equal(einit_as_is(t, &f), SGX_SUCCESS);
}

static void test_einit_twice_gp(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	struct sgx_secs before;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
	before = *(struct sgx_secs *)t->e.secs;
	assert_gp(einit_as_is(t, &f), &f);
	assert_memory_equal(t->e.secs, &before, sizeof(before));
}

/* Which error wins when several apply (isa.md §8 step order). */
static void test_einit_check_order(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	/* SIG_STRUCT (step 3) before SIGNATURE (5). */
	t->sig->header.vendor = 0x1;
	assert_int_equal(fx_sign(t->sig), 0);
	t->sig->signature[0] ^= 1;
	fx_set_lehash(&t->m.cpu, t->sig);
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_SIG_STRUCT);
	t->sig->header.vendor = 0;
	/* SIGNATURE (5) before MEASUREMENT (9). */
	t->sig->body.mrenclave[0] ^= 1;
	assert_int_equal(fx_sign(t->sig), 0);
	t->sig->signature[0] ^= 1;
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_SIGNATURE);
	/* MEASUREMENT (9) before ATTRIBUTE (12). */
	t->sig->body.attributes.flags |= SGX_ATTR_DEBUG;
	assert_int_equal(einit_signed(t, &f), SGX_INVALID_MEASUREMENT);
	t->sig->body.mrenclave[0] ^= 1;
	/* ATTRIBUTE (12) before EINITTOKEN (15). */
	assert_int_equal(fx_sign(t->sig), 0);
	memset(t->m.cpu.lepubkeyhash, 0, 32);
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_ATTRIBUTE);
	/* Nothing wrong left. */
	t->sig->body.attributes.flags &= ~SGX_ATTR_DEBUG;
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
	/* Once initialised, the signature is still checked first (step 5 before 8). */
	t->sig->signature[1] ^= 1;
	assert_int_equal(einit_as_is(t, &f), SGX_INVALID_SIGNATURE);
}

static void test_einit_operand_checks(void **state)
{
	struct t *t = *state;
	uint8_t *buf = aligned_alloc(SGX_PAGE_SIZE, 2 * SGX_PAGE_SIZE);
	uint8_t *outside = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	struct sgx_sigstruct *odd_sig;
	struct sgx_einittoken *odd_token;
	uint8_t *free_pg;
	struct cpu_fault f;
	int code;

	assert_non_null(buf);
	assert_non_null(outside);
	build_std(t, SGX_ATTR_MODE64BIT, 0);
	free_pg = fx_epc_alloc(&t->m);
	code = fx_page_at(&t->l, t->s.code);
	assert_int_equal(fx_sign(t->sig), 0);
	fx_set_lehash(&t->m.cpu, t->sig);
	odd_sig = (struct sgx_sigstruct *)(buf + 64);
	memcpy(odd_sig, t->sig, sizeof(*t->sig));
	odd_token = (struct sgx_einittoken *)(buf + SGX_PAGE_SIZE + 256);
	memset(odd_token, 0, sizeof(*odd_token));

	assert_gp(encls_einit(&t->m.cpu, odd_sig, t->e.secs, t->token, &f), &f);
	assert_gp(encls_einit(&t->m.cpu, t->sig, t->e.secs, odd_token, &f), &f);
	assert_gp(encls_einit(&t->m.cpu, t->sig, (uint8_t *)t->e.secs + 0x800, t->token, &f), &f);
	assert_pf(encls_einit(&t->m.cpu, t->sig, outside, t->token, &f), &f, outside, false);
	assert_pf(encls_einit(&t->m.cpu, t->sig, free_pg, t->token, &f), &f, free_pg, true);
	assert_pf(encls_einit(&t->m.cpu, t->sig, t->e.page[code], t->token, &f), &f,
		  t->e.page[code], true);
	assert_int_equal(encls_einit(&t->m.cpu, t->sig, t->e.secs, t->token, &f), SGX_SUCCESS);
	free(buf);
	free(outside);
}

/* ---------------------------------------------------------------------------------------- */
/* EREMOVE */

static void test_eremove_secs_with_children(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	struct sgx_secs s;

	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(encls_eremove(&t->m.cpu, t->e.secs, &f), SGX_CHILD_PRESENT);
	assert_true(epcm(t, t->e.secs)->valid);
	for (unsigned i = 0; i < t->l.npages; i++) {
		assert_int_equal(encls_eremove(&t->m.cpu, t->e.page[i], &f), SGX_SUCCESS);
		assert_false(epcm(t, t->e.page[i])->valid);
		if (i + 1 < t->l.npages)
			assert_int_equal(encls_eremove(&t->m.cpu, t->e.secs, &f), SGX_CHILD_PRESENT);
	}
	/* Removing an already removed child is a no-op, not a second decrement. */
	assert_int_equal(encls_eremove(&t->m.cpu, t->e.page[0], &f), SGX_SUCCESS);
	assert_int_equal(encls_eremove(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_false(epcm(t, t->e.secs)->valid);
	/* The page is free again. */
	good_secs(&s);
	assert_int_equal(ecreate(t, &s, t->e.secs, &f), SGX_SUCCESS);
}

static void test_eremove_while_thread_inside(void **state)
{
	struct t *t = *state;
	struct cpu_lp lp = { 0 };
	struct cpu_regs r = { 0 };
	struct cpu_fault f;
	void *other_secs = new_secs(t, BASE + SIZE);
	uint8_t *other = fx_epc_alloc(&t->m);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = FX_SI_RW };
	int code, tcs;

	assert_int_equal(eadd(t, other_secs, BASE + SIZE, &si, t->page, other, &f), SGX_SUCCESS);
	build_std(t, SGX_ATTR_MODE64BIT, 0);
	assert_int_equal(einit_signed(t, &f), SGX_SUCCESS);
	code = fx_page_at(&t->l, t->s.code);
	tcs = fx_page_at(&t->l, t->s.tcs[0]);
	r.rax = ENCLU_EENTER;
	r.rbx = BASE + t->s.tcs[0];
	r.rcx = 0x401000;
	r.rip = 0x400000;
	assert_int_equal(enclu(&t->m.cpu, &lp, &r, &f), 0);
	assert_true(lp.in_enclave);

	assert_int_equal(encls_eremove(&t->m.cpu, t->e.page[code], &f), SGX_ENCLAVE_ACT);
	assert_int_equal(encls_eremove(&t->m.cpu, t->e.page[tcs], &f), SGX_ENCLAVE_ACT);
	assert_true(epcm(t, t->e.page[code])->valid);
	/* Another enclave's pages are not affected. */
	assert_int_equal(encls_eremove(&t->m.cpu, other, &f), SGX_SUCCESS);

	r.rax = ENCLU_EEXIT;
	r.rbx = 0x400010;
	assert_int_equal(enclu(&t->m.cpu, &lp, &r, &f), 0);
	assert_false(lp.in_enclave);
	assert_int_equal(encls_eremove(&t->m.cpu, t->e.page[code], &f), SGX_SUCCESS);
	assert_false(epcm(t, t->e.page[code])->valid);
}

static void test_eremove_invalid_page_succeeds(void **state)
{
	struct t *t = *state;
	uint8_t *pg = fx_epc_alloc(&t->m);
	struct cpu_fault f;

	assert_int_equal(encls_eremove(&t->m.cpu, pg, &f), SGX_SUCCESS);
	assert_false(epcm(t, pg)->valid);
	assert_gp(encls_eremove(&t->m.cpu, pg + 0x10, &f), &f);
	assert_pf(encls_eremove(&t->m.cpu, t->page, &f), &f, t->page, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ecreate_accepts_good_secs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecreate_accepts_variants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecreate_rejects_each_bad_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecreate_xfrm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecreate_operand_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecreate_valid_destination_pf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_reg_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_secinfo_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_outside_elrange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_after_einit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_tcs_bad_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_tcs_aexnotify_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_tcs_sanitised_before_measurement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eadd_operand_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eextend_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eextend_after_einit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_accepts_and_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_vendor_intel_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_measurement_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_invalid_measurement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_attribute_mask_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_misc_mask_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_einittokenkey_needs_le_signer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_invalid_sig_struct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_body_reserved_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_isvfamilyid_without_kss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_invalid_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_invalid_einittoken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_twice_gp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einit_operand_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eremove_secs_with_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eremove_while_thread_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eremove_invalid_page_succeeds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
