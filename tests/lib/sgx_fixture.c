/* Enclave layouts, their measurement and signature, and a CPU over a malloc'd EPC.
 * See sgx_fixture.h. */
#include "tests/lib/sgx_fixture.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/keys.h"
#include "cpu/measure.h"
#include "lib/sign.h"

void fx_layout_init(struct fx_layout *l, uint64_t base, uint64_t size)
{
	memset(l, 0, sizeof(*l));
	l->base = base;
	l->size = size;
	l->ssa_frame_size = 1;
	l->attributes = SGX_ATTR_MODE64BIT;
	l->xfrm = 0x3;
}

void fx_layout_free(struct fx_layout *l)
{
	for (unsigned i = 0; i < l->npages; i++)
		free(l->page[i].data);
	l->npages = 0;
}

struct fx_page *fx_add_page(struct fx_layout *l, uint64_t offset, uint64_t secinfo, bool measure)
{
	struct fx_page *p;

	if (l->npages == FX_MAX_PAGES)
		return NULL;
	p = &l->page[l->npages];
	p->data = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!p->data)
		return NULL;
	memset(p->data, 0, SGX_PAGE_SIZE);
	p->offset = offset;
	p->secinfo = secinfo;
	p->measure = measure;
	l->npages++;
	return p;
}

struct fx_page *fx_add_reg(struct fx_layout *l, uint64_t offset, uint64_t secinfo, bool measure,
			   uint8_t seed)
{
	struct fx_page *p = fx_add_page(l, offset, secinfo, measure);

	if (p)
		for (unsigned i = 0; i < SGX_PAGE_SIZE; i++)
			p->data[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
	return p;
}

struct sgx_tcs *fx_add_tcs(struct fx_layout *l, uint64_t offset, uint64_t ossa, uint32_t nssa,
			   uint64_t oentry, uint64_t ofsbase, uint64_t ogsbase)
{
	struct fx_page *p = fx_add_page(l, offset, FX_SI_TCS, true);
	struct sgx_tcs *t;

	if (!p)
		return NULL;
	t = (struct sgx_tcs *)p->data;
	t->ossa = ossa;
	t->nssa = nssa;
	t->oentry = oentry;
	t->ofsbase = ofsbase;
	t->ogsbase = ogsbase;
	t->fslimit = 0xFFFFFFFF;
	t->gslimit = 0xFFFFFFFF;
	return t;
}

int fx_page_at(const struct fx_layout *l, uint64_t offset)
{
	for (unsigned i = 0; i < l->npages; i++)
		if (l->page[i].offset == offset)
			return (int)i;
	return -1;
}

int fx_std_layout(struct fx_layout *l, struct fx_std *s, uint64_t base, uint64_t size,
		  uint32_t nssa, uint32_t ssa_frame_size, uint32_t miscselect)
{
	uint64_t frames = (uint64_t)nssa * ssa_frame_size * SGX_PAGE_SIZE;

	fx_layout_init(l, base, size);
	l->ssa_frame_size = ssa_frame_size;
	l->miscselect = miscselect;
	memset(s, 0, sizeof(*s));
	s->nssa = nssa;
	s->tcs[0] = 0x0000;
	s->tcs[1] = 0x1000;
	s->tcs_bad = 0x2000;
	s->ssa[0] = 0x3000;
	s->ssa[1] = s->ssa[0] + frames;
	s->code = s->ssa[1] + frames;
	s->data_rw = s->code + SGX_PAGE_SIZE;
	s->data_r = s->data_rw + SGX_PAGE_SIZE;
	s->hole = s->data_r + SGX_PAGE_SIZE;
	if (s->hole >= size)
		return -1;
	for (unsigned i = 0; i < 2; i++)
		if (!fx_add_tcs(l, s->tcs[i], s->ssa[i], nssa, s->code + FX_STD_ENTRY, s->data_rw,
				s->data_r))
			return -1;
	if (!fx_add_tcs(l, s->tcs_bad, s->data_r, 1, s->code + FX_STD_ENTRY, s->data_rw, s->data_r))
		return -1;
	for (uint64_t o = s->ssa[0]; o < s->code; o += SGX_PAGE_SIZE)
		if (!fx_add_page(l, o, FX_SI_RW, false))
			return -1;
	if (!fx_add_reg(l, s->code, FX_SI_RX, true, 1) || !fx_add_reg(l, s->data_rw, FX_SI_RW, true, 2) ||
	    !fx_add_reg(l, s->data_r, FX_SI_R, true, 3))
		return -1;
	return 0;
}

void fx_secs(const struct fx_layout *l, struct sgx_secs *secs)
{
	memset(secs, 0, sizeof(*secs));
	secs->size = l->size;
	secs->base = l->base;
	secs->ssa_frame_size = l->ssa_frame_size;
	secs->miscselect = l->miscselect;
	secs->attributes.flags = l->attributes;
	secs->attributes.xfrm = l->xfrm;
}

int fx_mrenclave(const struct fx_layout *l, uint8_t out[32])
{
	struct measure *m = measure_new();
	uint8_t *buf = malloc(SGX_PAGE_SIZE);
	int ret = -1;

	if (!m || !buf || measure_ecreate(m, l->ssa_frame_size, l->size))
		goto out;
	for (unsigned i = 0; i < l->npages; i++) {
		const struct fx_page *p = &l->page[i];
		bool tcs = ((p->secinfo >> 8) & 0xFF) == SGX_PT_TCS;
		uint64_t flags = tcs ? p->secinfo & ~SGX_SECINFO_PERM_MASK : p->secinfo;

		if (measure_eadd(m, p->offset, flags))
			goto out;
		if (!p->measure)
			continue;
		memcpy(buf, p->data, SGX_PAGE_SIZE);
		if (tcs) {
			struct sgx_tcs *t = (struct sgx_tcs *)buf;

			t->state = 0;
			t->flags &= ~SGX_TCS_FLAGS_DBGOPTIN;
			t->cssa = 0;
			t->aep = 0;
		}
		for (unsigned c = 0; c < SGX_PAGE_SIZE; c += 256)
			if (measure_eextend(m, p->offset + c, buf + c))
				goto out;
	}
	ret = measure_digest(m, out);
out:
	free(buf);
	measure_free(m);
	return ret;
}

EVP_PKEY *fx_key(void)
{
	static EVP_PKEY *key;
	static const char rel[] = "tests/data/test_signing_key.pem";
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;

	if (key)
		return key;
	key = sign_load_key(rel);
	if (key)
		return key;
	/* Not run from the top of the tree: <top>/<build dir>/tests/unit/<binary>. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../../../%s", dirname(exe), rel);
	key = sign_load_key(path);
	return key;
}

void fx_sigstruct_prepare(const struct fx_layout *l, const uint8_t mr[32], struct sgx_sigstruct *s)
{
	sign_sigstruct_init(s);
	s->body.miscselect = l->miscselect;
	s->body.misc_mask = 0xFFFFFFFF;
	s->body.attributes.flags = l->attributes;
	s->body.attributes.xfrm = l->xfrm;
	s->body.attributes_mask.flags = SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY |
					SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS;
	s->body.attributes_mask.xfrm = ~0ULL;
	memcpy(s->body.mrenclave, mr, 32);
	s->body.isv_prod_id = 0x1234;
	s->body.isv_svn = 7;
}

int fx_sign(struct sgx_sigstruct *s)
{
	EVP_PKEY *key = fx_key();

	return key ? sign_sigstruct(s, key) : -1;
}

int fx_sigstruct(const struct fx_layout *l, struct sgx_sigstruct *s)
{
	uint8_t mr[32];

	if (fx_mrenclave(l, mr))
		return -1;
	fx_sigstruct_prepare(l, mr, s);
	return fx_sign(s);
}

void fx_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		memset(out, 0, 32);
}

void fx_set_lehash(struct sgx_cpu *cpu, const struct sgx_sigstruct *s)
{
	fx_sha256(s->modulus, sizeof(s->modulus), cpu->lepubkeyhash);
}

/* The fake page table: a linear search is plenty for a few dozen pages. */
static uint32_t fx_translate(void *ctx, uint64_t la, bool write, uint32_t *idx)
{
	struct fx_machine *m = ctx;
	uint32_t err = X86_PF_U | (write ? X86_PF_W : 0);

	m->translate_calls++;
	for (unsigned i = 0; i < m->npt; i++) {
		if (m->pt[i].la != (la & SGX_PAGE_MASK))
			continue;
		if (write && !m->pt[i].writable)
			return err | X86_PF_P;
		*idx = m->pt[i].epc;
		return 0;
	}
	return err;
}

int fx_machine_init(struct fx_machine *m, uint64_t npages)
{
	struct cpu_key_config kcfg;
	struct cpu_features feat;

	memset(m, 0, sizeof(*m));
	m->epc = aligned_alloc(SGX_PAGE_SIZE, npages * SGX_PAGE_SIZE);
	if (!m->epc)
		return -1;
	/* Garbage, not zeroes: nothing may rely on the EPC starting out clean. */
	memset(m->epc, 0xA5, npages * SGX_PAGE_SIZE);
	m->npages = npages;
	/* A recent part's attributes (KSS, AEXNOTIFY), its SGX2 leaves off: the tests that
	 * exercise them turn them on. */
	cpu_features_default(&feat, npages * SGX_PAGE_SIZE, true);
	feat.sgx2 = false;
	if (cpu_init(&m->cpu, m->epc, npages, &feat)) {
		free(m->epc);
		return -1;
	}
	m->cpu.mmu.translate = fx_translate;
	m->cpu.mmu.ctx = m;
	/* A fixed platform secret: EINIT's launch-token path derives keys from it. */
	memset(&kcfg, 0, sizeof(kcfg));
	memset(kcfg.root, 0x5A, sizeof(kcfg.root));
	kcfg.fixed_report_keyid = true;
	kcfg.checks = KEYS_CHECK_ALL;
	if (cpu_keys_init(&m->cpu, &kcfg)) {
		cpu_fini(&m->cpu);
		free(m->epc);
		return -1;
	}
	return 0;
}

void fx_machine_fini(struct fx_machine *m)
{
	cpu_keys_fini(&m->cpu);
	cpu_fini(&m->cpu);
	free(m->epc);
	m->epc = NULL;
}

void *fx_epc_alloc(struct fx_machine *m)
{
	if (m->next_free >= m->npages)
		return NULL;
	return epc_page(&m->cpu, m->next_free++);
}

uint32_t fx_epc_idx(const struct fx_machine *m, const void *p)
{
	return (uint32_t)epc_index(&m->cpu, p);
}

void fx_map(struct fx_machine *m, uint64_t la, const void *epc_pg, bool writable)
{
	fx_unmap(m, la);
	if (m->npt == FX_MAX_PTES)
		return;
	m->pt[m->npt].la = la;
	m->pt[m->npt].epc = fx_epc_idx(m, epc_pg);
	m->pt[m->npt].writable = writable;
	m->npt++;
}

void fx_unmap(struct fx_machine *m, uint64_t la)
{
	for (unsigned i = 0; i < m->npt; i++) {
		if (m->pt[i].la == la) {
			m->pt[i] = m->pt[--m->npt];
			return;
		}
	}
}

long fx_build(struct fx_machine *m, const struct fx_layout *l, struct fx_encl *e,
	      struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	long r;

	memset(e, 0, sizeof(*e));
	if (!secs)
		return CPU_FAULT;
	fx_secs(l, secs);
	memset(&si, 0, sizeof(si));
	memset(&pi, 0, sizeof(pi));
	pi.srcpge = (uintptr_t)secs;
	pi.secinfo = (uintptr_t)&si;
	e->secs = fx_epc_alloc(m);
	r = e->secs ? encls_ecreate(&m->cpu, &pi, e->secs, f) : CPU_FAULT;
	free(secs);
	if (r != SGX_SUCCESS)
		return r;
	for (unsigned i = 0; i < l->npages; i++) {
		const struct fx_page *p = &l->page[i];
		uint8_t *dst = fx_epc_alloc(m);

		if (!dst)
			return CPU_FAULT;
		memset(&si, 0, sizeof(si));
		si.flags = p->secinfo;
		pi.linaddr = l->base + p->offset;
		pi.srcpge = (uintptr_t)p->data;
		pi.secinfo = (uintptr_t)&si;
		pi.secs = (uintptr_t)e->secs;
		r = encls_eadd(&m->cpu, &pi, dst, f);
		if (r != SGX_SUCCESS)
			return r;
		e->page[i] = dst;
		for (unsigned c = 0; p->measure && c < SGX_PAGE_SIZE; c += 256) {
			r = encls_eextend(&m->cpu, e->secs, dst + c, f);
			if (r != SGX_SUCCESS)
				return r;
		}
		fx_map(m, pi.linaddr, dst,
		       ((p->secinfo >> 8) & 0xFF) == SGX_PT_TCS || (p->secinfo & SGX_SECINFO_W));
	}
	return SGX_SUCCESS;
}

long fx_init(struct fx_machine *m, const struct fx_layout *l, struct fx_encl *e,
	     struct cpu_fault *f)
{
	if (!e->sig)
		e->sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!e->token)
		e->token = aligned_alloc(512, 512);
	if (!e->sig || !e->token)
		return CPU_FAULT;
	memset(e->token, 0, 512);
	if (fx_sigstruct(l, e->sig))
		return CPU_FAULT;
	fx_set_lehash(&m->cpu, e->sig);
	return encls_einit(&m->cpu, e->sig, e->secs, e->token, f);
}

void fx_encl_free(struct fx_encl *e)
{
	free(e->sig);
	free(e->token);
	e->sig = NULL;
	e->token = NULL;
}
