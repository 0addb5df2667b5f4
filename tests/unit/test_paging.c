/* EPC paging on a CPU over malloc'd EPC (SDM Vol. 3D: EPA, EBLOCK, ETRACK, EWB, ELDU): EPA,
 * EBLOCK, ETRACK, EWB and ELDU, and what makes a written-out page unloadable: any changed bit
 * of the ciphertext, the PCMD (SECINFO, reserved bytes, MAC) or the PAGEINFO's address, an
 * older version of the page (replay), the same blob twice, another enclave's SECS. Also the
 * tracking rules EWB and ETRACK enforce against a logical processor inside the enclave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cpu/cpu.h"
#include "tests/lib/sgx_fixture.h"

#define BASE 0x00007f5550000000ULL
#define SIZE 0x10000ULL
#define BASE2 0x00007f5560000000ULL
#define EPC_PAGES 64

/* A page written out: contents and PCMD in "main memory". */
struct blob {
	uint8_t *data;         /* 4 KiB, 4K aligned */
	struct sgx_pcmd *pcmd; /* 128 aligned */
	uint64_t linaddr;      /* what EWB wrote back into PAGEINFO */
};

struct t {
	struct fx_machine m;
	struct fx_layout l;
	struct fx_std s;
	struct fx_encl e;
	uint64_t *va;          /* a VA page: 512 slots */
	struct blob b[3];
	uint8_t *orig;         /* what the page held before EWB */
};

static void blob_alloc(struct blob *b)
{
	b->data = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	b->pcmd = aligned_alloc(128, sizeof(*b->pcmd));
	assert_non_null(b->data);
	assert_non_null(b->pcmd);
	memset(b->data, 0, SGX_PAGE_SIZE);
	memset(b->pcmd, 0, sizeof(*b->pcmd));
}

static void blob_copy(struct blob *dst, const struct blob *src)
{
	memcpy(dst->data, src->data, SGX_PAGE_SIZE);
	memcpy(dst->pcmd, src->pcmd, sizeof(*src->pcmd));
	dst->linaddr = src->linaddr;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct cpu_fault f;

	if (!t || fx_machine_init(&t->m, EPC_PAGES))
		return -1;
	*state = t;
	if (cpu_paging_init(&t->m.cpu))
		return -1;
	if (fx_std_layout(&t->l, &t->s, BASE, SIZE, 1, 1, 0) ||
	    fx_build(&t->m, &t->l, &t->e, &f) != SGX_SUCCESS ||
	    fx_init(&t->m, &t->l, &t->e, &f) != SGX_SUCCESS)
		return -1;
	t->va = fx_epc_alloc(&t->m);
	if (!t->va || encls_epa(&t->m.cpu, t->va, &f) != SGX_SUCCESS)
		return -1;
	for (unsigned i = 0; i < 3; i++)
		blob_alloc(&t->b[i]);
	t->orig = malloc(SGX_PAGE_SIZE);
	return t->orig ? 0 : -1;
}

static int teardown(void **state)
{
	struct t *t = *state;

	if (!t)
		return 0;
	for (unsigned i = 0; i < 3; i++) {
		free(t->b[i].data);
		free(t->b[i].pcmd);
	}
	free(t->orig);
	EVP_CIPHER_CTX_free(t->m.cpu.paging_ctx);
	fx_encl_free(&t->e);
	fx_layout_free(&t->l);
	fx_machine_fini(&t->m);
	free(t);
	return 0;
}

static uint8_t *page_of(struct t *t, uint64_t off)
{
	int i = fx_page_at(&t->l, off);

	assert_true(i >= 0);
	return t->e.page[i];
}

static struct epcm_entry *epcm(struct t *t, const void *pg)
{
	return &t->m.cpu.epcm[fx_epc_idx(&t->m, pg)];
}

static struct secs_meta *meta(struct t *t)
{
	return epcm(t, t->e.secs)->meta;
}

static long ewb(struct t *t, void *pg, uint64_t *slot, struct blob *b)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct cpu_fault f;
	long r;

	memset(&pi, 0, sizeof(pi));
	pi.srcpge = (uintptr_t)b->data;
	pi.secinfo = (uintptr_t)b->pcmd;
	r = encls_ewb(&t->m.cpu, &pi, pg, slot, &f);
	b->linaddr = pi.linaddr;
	return r;
}

static long eldu(struct t *t, void *dst, uint64_t *slot, const struct blob *b, void *secs,
		 struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));

	memset(&pi, 0, sizeof(pi));
	pi.linaddr = b->linaddr;
	pi.srcpge = (uintptr_t)b->data;
	pi.secinfo = (uintptr_t)b->pcmd;
	pi.secs = (uintptr_t)secs;
	return encls_eldu(&t->m.cpu, &pi, dst, slot, f);
}

/* EBLOCK + ETRACK + EWB of the page at off into slot/blob, with no thread inside. */
static void write_out(struct t *t, uint64_t off, uint64_t *slot, struct blob *b)
{
	struct cpu_fault f;
	uint8_t *pg = page_of(t, off);

	memcpy(t->orig, pg, SGX_PAGE_SIZE);
	assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_SUCCESS);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(ewb(t, pg, slot, b), SGX_SUCCESS);
	assert_false(epcm(t, pg)->valid);
}

/* A successful ELDU of b into a fresh page: the page is back as it was. */
static uint8_t *load_ok(struct t *t, uint64_t *slot, const struct blob *b, uint64_t perm)
{
	uint8_t *dst = fx_epc_alloc(&t->m);
	struct cpu_fault f;
	struct epcm_entry *e;

	assert_non_null(dst);
	assert_int_equal(eldu(t, dst, slot, b, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(*slot, 0);
	e = epcm(t, dst);
	assert_true(e->valid);
	assert_int_equal(e->type, SGX_PT_REG);
	assert_int_equal(e->perm, perm);
	assert_int_equal(e->flags, 0);
	assert_int_equal(e->linaddr, b->linaddr);
	assert_int_equal(e->secs, fx_epc_idx(&t->m, t->e.secs));
	assert_memory_equal(dst, t->orig, SGX_PAGE_SIZE);
	return dst;
}

/* EWB and ELDU: ciphertext differs from the page, PCMD describes it, the VA slot holds the
 * version, PAGEINFO.LINADDR is written back, the child count follows, and ELDU restores the
 * page and its EPCM entry and clears the slot. */
static void round_trip(void **state)
{
	struct t *t = *state;
	unsigned children = atomic_load(&meta(t)->children);

	write_out(t, t->s.data_rw, &t->va[3], &t->b[0]);
	assert_int_equal(t->b[0].linaddr, BASE + t->s.data_rw);
	assert_int_not_equal(t->va[3], 0);
	assert_memory_not_equal(t->b[0].data, t->orig, SGX_PAGE_SIZE);
	assert_int_equal(t->b[0].pcmd->secinfo.flags, FX_SI_RW);
	assert_int_equal(t->b[0].pcmd->enclave_id, meta(t)->eid);
	assert_int_equal(atomic_load(&meta(t)->children), children - 1);
	load_ok(t, &t->va[3], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
	assert_int_equal(atomic_load(&meta(t)->children), children);
	/* The code page (RX) keeps its permissions through the trip. */
	write_out(t, t->s.code, &t->va[4], &t->b[1]);
	assert_int_equal(t->b[1].pcmd->secinfo.flags, FX_SI_RX);
	load_ok(t, &t->va[4], &t->b[1], SGX_SECINFO_R | SGX_SECINFO_X);
}

/* A refused ELDU: SGX_MAC_COMPARE_FAIL, the destination stays invalid, the slot keeps its
 * version (so the genuine blob still loads). */
static void assert_refused(struct t *t, uint64_t *slot, const struct blob *b, void *secs)
{
	uint8_t *dst = fx_epc_alloc(&t->m);
	uint64_t version = *slot;
	struct cpu_fault f;

	assert_non_null(dst);
	assert_int_equal(eldu(t, dst, slot, b, secs, &f), SGX_MAC_COMPARE_FAIL);
	assert_false(epcm(t, dst)->valid);
	assert_int_equal(*slot, version);
}

/* One changed bit anywhere the MAC covers. */
static void tampered_blob_refused(void **state)
{
	struct t *t = *state;
	struct blob *good = &t->b[0], *bad = &t->b[1];
	static const unsigned data_bits[] = { 0, 7, 8 * 2048 + 3, 8 * 4095 + 7 };

	write_out(t, t->s.data_rw, &t->va[0], good);
	for (unsigned i = 0; i < sizeof(data_bits) / sizeof(data_bits[0]); i++) {
		blob_copy(bad, good);
		bad->data[data_bits[i] / 8] ^= (uint8_t)(1U << (data_bits[i] % 8));
		assert_refused(t, &t->va[0], bad, t->e.secs);
	}
	/* PCMD.SECINFO: the permissions (W off), PENDING on. */
	blob_copy(bad, good);
	bad->pcmd->secinfo.flags ^= SGX_SECINFO_W;
	assert_refused(t, &t->va[0], bad, t->e.secs);
	blob_copy(bad, good);
	bad->pcmd->secinfo.flags ^= SGX_SECINFO_PENDING;
	assert_refused(t, &t->va[0], bad, t->e.secs);
	/* PCMD reserved bytes and the MAC itself. */
	blob_copy(bad, good);
	bad->pcmd->reserved[17] ^= 0x10;
	assert_refused(t, &t->va[0], bad, t->e.secs);
	blob_copy(bad, good);
	bad->pcmd->mac[15] ^= 0x80;
	assert_refused(t, &t->va[0], bad, t->e.secs);
	/* The page at another address of the same enclave. */
	blob_copy(bad, good);
	bad->linaddr += SGX_PAGE_SIZE;
	assert_refused(t, &t->va[0], bad, t->e.secs);
	/* PCMD.ENCLAVEID is software's handle, not covered by the MAC (isa.md §10). */
	blob_copy(bad, good);
	bad->pcmd->enclave_id ^= 1;
	load_ok(t, &t->va[0], bad, SGX_SECINFO_R | SGX_SECINFO_W);
}

/* The version lives in the VA slot: after a second EWB of the page, the first blob is an old
 * version and is refused; the new one loads with the new contents. */
static void replayed_old_version_refused(void **state)
{
	struct t *t = *state;
	uint8_t *pg;
	uint64_t v1;
	struct cpu_fault f;

	write_out(t, t->s.data_rw, &t->va[7], &t->b[0]);
	v1 = t->va[7];
	pg = load_ok(t, &t->va[7], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
	/* The enclave changes the page; it goes out again into the same slot. */
	memset(pg + 100, 0x77, 200);
	memcpy(t->orig, pg, SGX_PAGE_SIZE);
	assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_SUCCESS);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(ewb(t, pg, &t->va[7], &t->b[1]), SGX_SUCCESS);
	assert_int_not_equal(t->va[7], 0);
	assert_int_not_equal(t->va[7], v1);
	assert_refused(t, &t->va[7], &t->b[0], t->e.secs);
	load_ok(t, &t->va[7], &t->b[1], SGX_SECINFO_R | SGX_SECINFO_W);
	/* And after that load, neither blob: the slot is empty. */
	assert_refused(t, &t->va[7], &t->b[0], t->e.secs);
	assert_refused(t, &t->va[7], &t->b[1], t->e.secs);
}

/* ELDU clears the slot: the same blob cannot be loaded twice. */
static void same_blob_twice_refused(void **state)
{
	struct t *t = *state;

	write_out(t, t->s.data_r, &t->va[1], &t->b[0]);
	load_ok(t, &t->va[1], &t->b[0], SGX_SECINFO_R);
	assert_refused(t, &t->va[1], &t->b[0], t->e.secs);
}

/* The MAC binds the owner's EID, taken from the SECS operand: another enclave's SECS (same
 * layout, same contents) is refused; a page that is not a SECS is a #PF. */
static void other_enclave_refused(void **state)
{
	struct t *t = *state;
	struct fx_layout l2;
	struct fx_std s2;
	struct fx_encl e2;
	struct cpu_fault f;
	uint8_t *dst;

	assert_int_equal(fx_std_layout(&l2, &s2, BASE2, SIZE, 1, 1, 0), 0);
	assert_int_equal(fx_build(&t->m, &l2, &e2, &f), SGX_SUCCESS);
	write_out(t, t->s.data_rw, &t->va[2], &t->b[0]);
	assert_refused(t, &t->va[2], &t->b[0], e2.secs);
	dst = fx_epc_alloc(&t->m);
	assert_int_equal(eldu(t, dst, &t->va[2], &t->b[0], page_of(t, t->s.code), &f), CPU_FAULT);
	assert_int_equal(f.vector, X86_PF);
	assert_false(epcm(t, dst)->valid);
	load_ok(t, &t->va[2], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
	fx_encl_free(&e2);
	fx_layout_free(&l2);
}

/* EWB of a page that was not EBLOCKed: SGX_PAGE_NOT_BLOCKED, nothing written, page intact. */
static void ewb_without_eblock(void **state)
{
	struct t *t = *state;
	uint8_t *pg = page_of(t, t->s.data_rw);
	struct cpu_fault f;

	memcpy(t->orig, pg, SGX_PAGE_SIZE);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(ewb(t, pg, &t->va[5], &t->b[0]), SGX_PAGE_NOT_BLOCKED);
	assert_true(epcm(t, pg)->valid);
	assert_int_equal(t->va[5], 0);
	assert_memory_equal(pg, t->orig, SGX_PAGE_SIZE);
	/* EBLOCK twice: the second says it already is. */
	assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_SUCCESS);
	assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_BLKSTATE);
	assert_int_equal(encls_eblock(&t->m.cpu, t->e.secs, &f), SGX_PG_IS_SECS);
	assert_int_equal(encls_eblock(&t->m.cpu, t->va, &f), SGX_NOTBLOCKABLE);
}

/* EWB after EBLOCK but before an ETRACK: SGX_NOT_TRACKED, page still there and blocked. */
static void ewb_without_etrack(void **state)
{
	struct t *t = *state;
	uint8_t *pg = page_of(t, t->s.data_rw);
	struct cpu_fault f;

	memcpy(t->orig, pg, SGX_PAGE_SIZE);
	assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_SUCCESS);
	assert_int_equal(ewb(t, pg, &t->va[6], &t->b[0]), SGX_NOT_TRACKED);
	assert_true(epcm(t, pg)->valid);
	assert_true(epcm(t, pg)->flags & EPCM_BLOCKED);
	assert_int_equal(t->va[6], 0);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(ewb(t, pg, &t->va[6], &t->b[0]), SGX_SUCCESS);
	load_ok(t, &t->va[6], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
}

/* A VA slot already holding a version: EWB still writes the page out, says
 * SGX_VA_SLOT_OCCUPIED, and the slot holds the new version. */
static void ewb_into_occupied_slot(void **state)
{
	struct t *t = *state;

	t->va[9] = 0x1234;
	{
		uint8_t *pg = page_of(t, t->s.data_rw);
		struct cpu_fault f;

		memcpy(t->orig, pg, SGX_PAGE_SIZE);
		assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_SUCCESS);
		assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
		assert_int_equal(ewb(t, pg, &t->va[9], &t->b[0]), SGX_VA_SLOT_OCCUPIED);
		assert_false(epcm(t, pg)->valid);
		assert_int_not_equal(t->va[9], 0x1234);
	}
	load_ok(t, &t->va[9], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
}

/* ELDU into a page that is in use is a #PF; an ELDU of a VA-less slot operand is a #PF. */
static void eldu_operand_faults(void **state)
{
	struct t *t = *state;
	struct cpu_fault f;
	uint64_t not_va[1] = { 0 };

	write_out(t, t->s.data_rw, &t->va[10], &t->b[0]);
	assert_int_equal(eldu(t, page_of(t, t->s.code), &t->va[10], &t->b[0], t->e.secs, &f),
			 CPU_FAULT);
	assert_int_equal(f.vector, X86_PF);
	assert_int_equal(f.addr, (uintptr_t)page_of(t, t->s.code));
	assert_int_equal(eldu(t, fx_epc_alloc(&t->m), not_va, &t->b[0], t->e.secs, &f), CPU_FAULT);
	assert_int_equal(f.vector, X86_PF);
	load_ok(t, &t->va[10], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
}

/* The permission state EMODPR leaves (PR, reduced permissions) goes out and comes back. */
static void pr_state_survives(void **state)
{
	struct t *t = *state;
	struct sgx_secinfo si __attribute__((aligned(64)));
	uint8_t *pg = page_of(t, t->s.data_rw), *dst;
	struct cpu_fault f;

	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_R;
	assert_int_equal(encls_emodpr(&t->m.cpu, &si, pg, &f), SGX_SUCCESS);
	write_out(t, t->s.data_rw, &t->va[11], &t->b[0]);
	assert_int_equal(t->b[0].pcmd->secinfo.flags, FX_SI_R | SGX_SECINFO_PR);
	dst = fx_epc_alloc(&t->m);
	assert_int_equal(eldu(t, dst, &t->va[11], &t->b[0], t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(epcm(t, dst)->perm, SGX_SECINFO_R);
	assert_int_equal(epcm(t, dst)->flags, EPCM_PR);
	assert_memory_equal(dst, t->orig, SGX_PAGE_SIZE);
}

/* Registers of a thread about to EENTER TCS i (AEP and a return address outside). */
static void lp_enter(struct t *t, struct cpu_lp *lp, unsigned i)
{
	struct cpu_regs r;
	struct cpu_fault f;

	memset(&r, 0, sizeof(r));
	r.rax = ENCLU_EENTER;
	r.rbx = BASE + t->s.tcs[i];
	r.rcx = 0x0000555555551000ULL;
	r.rip = 0x0000555555550100ULL;
	r.rsp = 0x00007ffd12340000ULL;
	r.rflags = 0x202;
	assert_int_equal(enclu(&t->m.cpu, lp, &r, &f), 0);
	assert_true(lp->in_enclave);
}

static void lp_exit(struct t *t, struct cpu_lp *lp)
{
	struct cpu_regs r;
	struct cpu_fault f;

	memset(&r, 0, sizeof(r));
	r.rax = ENCLU_EEXIT;
	r.rbx = 0x0000555555550200ULL;
	r.rip = BASE + t->s.code + 0x100;
	assert_int_equal(enclu(&t->m.cpu, lp, &r, &f), 0);
	assert_false(lp->in_enclave);
}

/* Tracking (isa.md §10): a page blocked while a logical processor is inside can be written
 * out only once an ETRACK came after the EBLOCK and that processor has left; a second ETRACK
 * while it is still inside is SGX_PREV_TRK_INCMPL. A processor that entered after the ETRACK
 * does not hold it up. */
static void tracking_with_thread_inside(void **state)
{
	struct t *t = *state;
	struct cpu_lp lp1, lp2;
	uint8_t *pg = page_of(t, t->s.data_rw);
	struct cpu_fault f;
	uint64_t epoch = atomic_load(&meta(t)->epoch);

	memset(&lp1, 0, sizeof(lp1));
	memset(&lp2, 0, sizeof(lp2));
	memcpy(t->orig, pg, SGX_PAGE_SIZE);
	lp_enter(t, &lp1, 0);
	assert_int_equal(encls_eblock(&t->m.cpu, pg, &f), SGX_SUCCESS);
	assert_int_equal(ewb(t, pg, &t->va[12], &t->b[0]), SGX_NOT_TRACKED);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(atomic_load(&meta(t)->epoch), epoch + 1);
	/* lp1 entered before that ETRACK and is still inside. */
	assert_int_equal(ewb(t, pg, &t->va[12], &t->b[0]), SGX_NOT_TRACKED);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_PREV_TRK_INCMPL);
	assert_int_equal(atomic_load(&meta(t)->epoch), epoch + 1);
	/* lp2 enters in the new epoch: it does not matter for this page. */
	lp_enter(t, &lp2, 1);
	assert_int_equal(ewb(t, pg, &t->va[12], &t->b[0]), SGX_NOT_TRACKED);
	lp_exit(t, &lp1);
	assert_int_equal(ewb(t, pg, &t->va[12], &t->b[0]), SGX_SUCCESS);
	assert_false(epcm(t, pg)->valid);
	/* lp2 (entered in epoch + 1) now holds up the next-but-one ETRACK. */
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_PREV_TRK_INCMPL);
	lp_exit(t, &lp2);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	assert_int_equal(atomic_load(&meta(t)->epoch), epoch + 3);
	load_ok(t, &t->va[12], &t->b[0], SGX_SECINFO_R | SGX_SECINFO_W);
}

static void eaccept(struct t *t, struct cpu_lp *lp, uint64_t want)
{
	struct cpu_regs r;
	struct cpu_fault f;

	/* SECINFO in the enclave's RW page (set up by the caller), target the R page. */
	memset(&r, 0, sizeof(r));
	r.rax = ENCLU_EACCEPT;
	r.rbx = BASE + t->s.data_rw;
	r.rcx = BASE + t->s.data_r;
	assert_int_equal(enclu(&t->m.cpu, lp, &r, &f), 0);
	assert_int_equal(r.rax, want);
}

/* EACCEPT of an EMODPR'd page follows the same rule: SGX_NOT_TRACKED until an ETRACK came
 * after the change and every processor that was inside then (the accepting one too) left. */
static void eaccept_not_tracked(void **state)
{
	struct t *t = *state;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secinfo *req = (struct sgx_secinfo *)page_of(t, t->s.data_rw);
	struct cpu_lp lp1, lp2;
	struct cpu_fault f;
	uint8_t *target = page_of(t, t->s.data_r);

	memset(&lp1, 0, sizeof(lp1));
	memset(&lp2, 0, sizeof(lp2));
	t->m.cpu.feat.sgx2 = true;
	memset(req, 0, sizeof(*req));
	req->flags = FX_SI_R | SGX_SECINFO_PR;
	lp_enter(t, &lp1, 0);
	lp_enter(t, &lp2, 1);
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_R;
	assert_int_equal(encls_emodpr(&t->m.cpu, &si, target, &f), SGX_SUCCESS);
	eaccept(t, &lp2, SGX_NOT_TRACKED);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	eaccept(t, &lp2, SGX_NOT_TRACKED); /* lp2 itself entered before the ETRACK */
	lp_exit(t, &lp2);
	lp_enter(t, &lp2, 1);
	eaccept(t, &lp2, SGX_NOT_TRACKED); /* lp1 still inside */
	assert_int_equal(epcm(t, target)->flags, EPCM_PR);
	lp_exit(t, &lp1);
	eaccept(t, &lp2, SGX_SUCCESS);
	assert_int_equal(epcm(t, target)->flags, 0);
	assert_int_equal(epcm(t, target)->perm, SGX_SECINFO_R);
	eaccept(t, &lp2, SGX_PAGE_ATTRIBUTES_MISMATCH);
	lp_exit(t, &lp2);
}

/* EACCEPT of a page EMODT made a TCS checks its contents: TCS.FLAGS.AEXNOTIFY is accepted
 * (AEX-Notify part), DBGOPTIN and the reserved bits are #GP. */
static void eaccept_tcs_flags(void **state)
{
	struct t *t = *state;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secinfo *req = (struct sgx_secinfo *)page_of(t, t->s.data_rw);
	struct sgx_tcs *tcs = (struct sgx_tcs *)page_of(t, t->s.data_r);
	struct cpu_regs r;
	struct cpu_lp lp;
	struct cpu_fault f;
	static const uint64_t flags[] = { SGX_TCS_FLAGS_DBGOPTIN, 0x4, SGX_TCS_FLAGS_AEXNOTIFY };

	memset(&lp, 0, sizeof(lp));
	t->m.cpu.feat.sgx2 = true;
	memset(&si, 0, sizeof(si));
	si.flags = (uint64_t)SGX_PT_TCS << SGX_SECINFO_TYPE_SHIFT;
	assert_int_equal(encls_emodt(&t->m.cpu, &si, tcs, &f), SGX_SUCCESS);
	assert_int_equal(encls_etrack(&t->m.cpu, t->e.secs, &f), SGX_SUCCESS);
	memset(tcs, 0, sizeof(*tcs));
	tcs->ossa = t->s.ssa[0];
	tcs->nssa = 1;
	memset(req, 0, sizeof(*req));
	req->flags = ((uint64_t)SGX_PT_TCS << SGX_SECINFO_TYPE_SHIFT) | SGX_SECINFO_MODIFIED;
	lp_enter(t, &lp, 0);
	for (unsigned i = 0; i < 3; i++) {
		long res;

		tcs->flags = flags[i];
		memset(&r, 0, sizeof(r));
		r.rax = ENCLU_EACCEPT;
		r.rbx = BASE + t->s.data_rw;
		r.rcx = BASE + t->s.data_r;
		res = enclu(&t->m.cpu, &lp, &r, &f);
		if (i < 2) {
			assert_int_equal(res, CPU_FAULT);
			assert_int_equal(f.vector, X86_GP);
		} else {
			assert_int_equal(res, 0);
			assert_int_equal(r.rax, SGX_SUCCESS);
		}
	}
	assert_int_equal(epcm(t, tcs)->flags, 0);
	assert_int_equal(epcm(t, tcs)->type, SGX_PT_TCS);
	lp_exit(t, &lp);
}

/* ELDB: the same checks as ELDU, and the page comes back BLOCKED (not accessible until the
 * OS finishes with it); a tampered blob is refused the same way. */
static void eldb_loads_blocked(void **state)
{
	struct t *t = *state;
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct cpu_fault f;
	uint8_t *dst = fx_epc_alloc(&t->m);

	write_out(t, t->s.data_rw, &t->va[5], &t->b[0]);
	memset(&pi, 0, sizeof(pi));
	pi.linaddr = t->b[0].linaddr;
	pi.srcpge = (uintptr_t)t->b[0].data;
	pi.secinfo = (uintptr_t)t->b[0].pcmd;
	pi.secs = (uintptr_t)t->e.secs;
	t->b[0].data[17] ^= 1;
	assert_int_equal(encls_eldb(&t->m.cpu, &pi, dst, &t->va[5], &f), SGX_MAC_COMPARE_FAIL);
	assert_false(epcm(t, dst)->valid);
	t->b[0].data[17] ^= 1;
	assert_int_equal(encls_eldb(&t->m.cpu, &pi, dst, &t->va[5], &f), SGX_SUCCESS);
	assert_true(epcm(t, dst)->valid);
	assert_int_equal(epcm(t, dst)->flags, EPCM_BLOCKED);
	assert_int_equal(t->va[5], 0);
	assert_memory_equal(dst, t->orig, SGX_PAGE_SIZE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(round_trip),
		T(tampered_blob_refused),
		T(replayed_old_version_refused),
		T(same_blob_twice_refused),
		T(other_enclave_refused),
		T(ewb_without_eblock),
		T(ewb_without_etrack),
		T(ewb_into_occupied_slot),
		T(eldu_operand_faults),
		T(pr_state_survives),
		T(tracking_with_thread_inside),
		T(eaccept_not_tracked),
		T(eaccept_tcs_flags),
		T(eldb_loads_blocked),
	};

	return cmocka_run_group_tests_name("paging", tests, NULL, NULL);
}
