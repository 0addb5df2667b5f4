/* ENCLU leaves EENTER, EEXIT, ERESUME, the asynchronous exit and cpu_enclave_ptr on a CPU whose
 * EPC is malloc'd memory and whose page tables are the fixture's fake page table (SDM Vol. 3D
 * ch. 38 and the AEX chapter). The enclave is tests/lib/sgx_fixture.c's standard layout: two
 * TCSs with their SSA stacks, a TCS whose SSA is read-only, code (RX), a RW page (FS) and an R
 * page (GS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/cpu.h"
#include "tests/lib/sgx_fixture.h"

#define BASE 0x00007f1234560000ULL
#define SIZE 0x10000ULL
#define EPC_PAGES 64

/* The outside world. */
#define AEP      0x0000555555551000ULL
#define AEP2     0x0000555555552000ULL
#define ENCLU_IP 0x0000555555550100ULL
#define URSP     0x00007ffd12340000ULL
#define URBP     0x00007ffd12340100ULL
#define OUT_FS   0x00007f11aa000000ULL
#define OUT_GS   0x00007f11bb000000ULL

#define RF_CF 0x1ULL
#define RF_PF 0x4ULL
#define RF_AF 0x10ULL
#define RF_ZF 0x40ULL
#define RF_SF 0x80ULL
#define RF_TF 0x100ULL
#define RF_IF 0x200ULL
#define RF_DF 0x400ULL
#define RF_OF 0x800ULL
#define RF_NT 0x4000ULL
#define RF_RF 0x10000ULL
#define RF_AC 0x40000ULL
#define RF_ID 0x200000ULL
/* What AEX clears in the synthetic state and ERESUME restores from the SSA (isa.md §5.3, §6). */
#define AEX_CLEARED (RF_CF | RF_PF | RF_AF | RF_ZF | RF_SF | RF_OF | RF_RF)
#define ERESUME_RESTORED (RF_CF | RF_PF | RF_AF | RF_ZF | RF_SF | RF_DF | RF_OF | RF_NT | RF_AC | \
			  RF_ID | RF_RF)

struct t {
	struct fx_machine m;
	struct fx_layout l;
	struct fx_std s;
	struct fx_encl e;
	struct cpu_lp lp;
};

/* An XSAVE layout as CPUID leaf 0Dh reports it on an AVX-512 part with PKRU. */
static const struct cpu_xsave_layout avx512_layout = {
	.offset = { [2] = 576, [5] = 1088, [6] = 1152, [7] = 1664, [9] = 2688 },
	.size = { [2] = 256, [5] = 64, [6] = 512, [7] = 1024, [9] = 8 },
};
#define XFRM_AVX512 0x2E7ULL
#define XSAVE_AVX512_SIZE 2696U

/* flags: SECS.ATTRIBUTES.FLAGS to add; tcs0_flags: TCS.FLAGS of the first TCS. */
static int setup_enclave_full(void **state, uint32_t ssa_frame_size, uint32_t misc, bool init,
			      uint64_t xfrm, uint64_t flags, uint64_t tcs0_flags)
{
	struct t *t = calloc(1, sizeof(*t));
	struct cpu_fault f;

	if (!t || fx_machine_init(&t->m, EPC_PAGES))
		return -1;
	*state = t;
	t->m.cpu.feat.xfrm = XFRM_AVX512;
	t->m.cpu.feat.xsave = avx512_layout;
	if (fx_std_layout(&t->l, &t->s, BASE, SIZE, 2, ssa_frame_size, misc))
		return -1;
	t->l.xfrm = xfrm;
	t->l.attributes |= flags;
	((struct sgx_tcs *)t->l.page[fx_page_at(&t->l, t->s.tcs[0])].data)->flags = tcs0_flags;
	if (fx_build(&t->m, &t->l, &t->e, &f) != SGX_SUCCESS)
		return -1;
	if (init && fx_init(&t->m, &t->l, &t->e, &f) != SGX_SUCCESS)
		return -1;
	return 0;
}

static int setup_enclave_xfrm(void **state, uint32_t ssa_frame_size, uint32_t misc, bool init,
			      uint64_t xfrm)
{
	return setup_enclave_full(state, ssa_frame_size, misc, init, xfrm, 0, 0);
}

static int setup_enclave(void **state, uint32_t ssa_frame_size, uint32_t misc, bool init)
{
	return setup_enclave_xfrm(state, ssa_frame_size, misc, init, 0x3);
}

/* AEX-Notify: the enclave has ATTRIBUTES.AEXNOTIFY, TCS 0 opts in, TCS 1 does not. */
static int setup_aexnotify(void **state)
{
	return setup_enclave_full(state, 1, SGX_MISC_EXINFO, true, 0x3, SGX_ATTR_AEXNOTIFY,
				  SGX_TCS_FLAGS_AEXNOTIFY);
}

/* A TCS that opts in, in an enclave without the attribute. */
static int setup_tcs_notify_only(void **state)
{
	return setup_enclave_full(state, 1, SGX_MISC_EXINFO, true, 0x3, 0, SGX_TCS_FLAGS_AEXNOTIFY);
}

static int setup(void **state)
{
	return setup_enclave(state, 1, SGX_MISC_EXINFO, true);
}

static int setup_avx512(void **state)
{
	return setup_enclave_xfrm(state, 1, SGX_MISC_EXINFO, true, XFRM_AVX512);
}

static int setup_no_exinfo(void **state)
{
	return setup_enclave(state, 1, 0, true);
}

static int setup_big_frames(void **state)
{
	return setup_enclave(state, 2, SGX_MISC_EXINFO, true);
}

static int setup_uninit(void **state)
{
	return setup_enclave(state, 1, SGX_MISC_EXINFO, false);
}

static int teardown(void **state)
{
	struct t *t = *state;

	if (!t)
		return 0;
	fx_encl_free(&t->e);
	fx_layout_free(&t->l);
	fx_machine_fini(&t->m);
	free(t);
	return 0;
}

static uint64_t la(uint64_t off)
{
	return BASE + off;
}

static uint8_t *page_of(struct t *t, uint64_t off)
{
	int i = fx_page_at(&t->l, off);

	assert_true(i >= 0);
	return t->e.page[i];
}

static struct sgx_tcs *tcs_of(struct t *t, unsigned i)
{
	return (struct sgx_tcs *)page_of(t, t->s.tcs[i]);
}

/* GPRSGX of SSA frame k of TCS i: the end of the frame's last page. */
static struct sgx_gprsgx *gpr_of(struct t *t, unsigned i, unsigned k)
{
	uint64_t fsz = t->l.ssa_frame_size;
	uint64_t last = t->s.ssa[i] + (k * fsz + fsz - 1) * SGX_PAGE_SIZE;

	return (struct sgx_gprsgx *)(page_of(t, last) + SGX_PAGE_SIZE - sizeof(struct sgx_gprsgx));
}

static struct sgx_exinfo *exinfo_of(struct t *t, unsigned i, unsigned k)
{
	return (struct sgx_exinfo *)((uint8_t *)gpr_of(t, i, k) - sizeof(struct sgx_exinfo));
}

static void assert_gp(long r, const struct cpu_fault *f)
{
	assert_int_equal(r, CPU_FAULT);
	assert_int_equal(f->vector, X86_GP);
	assert_int_equal(f->errcode, 0);
}

static void assert_pf(long r, const struct cpu_fault *f, uint64_t addr)
{
	assert_int_equal(r, CPU_FAULT);
	assert_int_equal(f->vector, X86_PF);
	assert_int_equal(f->addr, addr);
}

/* Registers of a thread about to execute ENCLU[leaf] outside the enclave. */
static void outside(struct cpu_regs *r, unsigned leaf, uint64_t tcs_la)
{
	memset(r, 0, sizeof(*r));
	r->rax = leaf;
	r->rbx = tcs_la;
	r->rcx = AEP;
	r->rdx = 0xD0D0D0D0D0D0D0D0ULL;
	r->rsi = 0x5151515151515151ULL;
	r->rdi = 0xD1D1D1D1D1D1D1D1ULL;
	r->r8 = 0x0808;
	r->r9 = 0x0909;
	r->r10 = 0x1010;
	r->r11 = 0x1111;
	r->r12 = 0x1212;
	r->r13 = 0x1313;
	r->r14 = 0x1414;
	r->r15 = 0x1515;
	r->rsp = URSP;
	r->rbp = URBP;
	r->rip = ENCLU_IP;
	r->rflags = RF_IF | 0x2;
	r->fsbase = OUT_FS;
	r->gsbase = OUT_GS;
}

static void enter(struct t *t, struct cpu_lp *lp, struct cpu_regs *r, unsigned tcs)
{
	struct cpu_fault f;

	outside(r, ENCLU_EENTER, la(t->s.tcs[tcs]));
	assert_int_equal(enclu(&t->m.cpu, lp, r, &f), 0);
	assert_true(lp->in_enclave);
}

/* What enclave code might leave in the registers when an exception hits. */
static void inside(struct cpu_regs *r, uint64_t rip)
{
	r->rax = 0xA0A0; r->rbx = 0xB0B0; r->rcx = 0xC0C0; r->rdx = 0xD0D0;
	r->rsi = 0x5050; r->rdi = 0xD1D1; r->rsp = BASE + 0x7F00; r->rbp = BASE + 0x7F80;
	r->r8 = 8; r->r9 = 9; r->r10 = 10; r->r11 = 11; r->r12 = 12; r->r13 = 13; r->r14 = 14; r->r15 = 15;
	r->rip = rip;
	r->rflags = 0x2 | RF_CF | RF_PF | RF_AF | RF_ZF | RF_SF | RF_IF | RF_DF | RF_OF | RF_RF | RF_AC;
	r->fsbase = BASE + 0xE000;
	r->gsbase = BASE + 0xF000;
}

/* ---------------------------------------------------------------------------------------- */
/* EENTER */

static void test_eenter_sets_state(void **state)
{
	struct t *t = *state;
	struct cpu_regs r, before;
	struct cpu_fault f;

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	before = r;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_true(t->lp.in_enclave);
	assert_int_equal(r.rip, la(t->s.code + FX_STD_ENTRY));
	assert_int_equal(r.rax, 0); /* CSSA */
	assert_int_equal(r.rcx, ENCLU_IP + 3);
	assert_int_equal(r.fsbase, la(t->s.data_rw));
	assert_int_equal(r.gsbase, la(t->s.data_r));
	/* Everything else passes through: RBX keeps the TCS, RDI/RSI... carry arguments. */
	assert_int_equal(r.rbx, before.rbx);
	assert_int_equal(r.rdx, before.rdx);
	assert_int_equal(r.rsi, before.rsi);
	assert_int_equal(r.rdi, before.rdi);
	assert_int_equal(r.r8, before.r8);
	assert_int_equal(r.r11, before.r11);
	assert_int_equal(r.r15, before.r15);
	assert_int_equal(r.rsp, URSP);
	assert_int_equal(r.rbp, URBP);
	/* The outside stack goes into the current SSA frame, AEP into the TCS. */
	assert_int_equal(gpr_of(t, 0, 0)->ursp, URSP);
	assert_int_equal(gpr_of(t, 0, 0)->urbp, URBP);
	assert_int_equal(tcs_of(t, 0)->aep, AEP);
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[t->lp.tcs].busy), 1);
}

static void test_eenter_busy_tcs(void **state)
{
	struct t *t = *state;
	struct cpu_lp lp2 = { 0 };
	struct cpu_regs r, r2;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	outside(&r2, ENCLU_EENTER, la(t->s.tcs[0]));
	r2.rcx = AEP2;
	assert_gp(enclu(&t->m.cpu, &lp2, &r2, &f), &f);
	assert_false(lp2.in_enclave);
	assert_int_equal(tcs_of(t, 0)->aep, AEP); /* the failed entry left no trace */
	/* The other TCS is free. */
	outside(&r2, ENCLU_EENTER, la(t->s.tcs[1]));
	assert_int_equal(enclu(&t->m.cpu, &lp2, &r2, &f), 0);
	assert_true(lp2.in_enclave);
}

/* Each AEX uses up an SSA frame: with NSSA = 2, the third EENTER finds CSSA == NSSA. */
static void test_eenter_cssa_equals_nssa(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 1);

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	r.rsp = URSP - 0x1000;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rax, 1);
	assert_int_equal(gpr_of(t, 0, 1)->ursp, URSP - 0x1000);
	assert_int_equal(gpr_of(t, 0, 0)->ursp, URSP);
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 2);

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_false(t->lp.in_enclave);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 0))].busy), 0);
}

static void test_eenter_not_initialised(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_false(t->lp.in_enclave);
	r.rax = ENCLU_ERESUME;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
}

static void test_eenter_misaligned_tcs(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]) + 8);
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	/* Alignment is checked before the page walk. */
	outside(&r, ENCLU_EENTER, la(t->s.hole) + 0x800);
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_false(t->lp.in_enclave);
}

static void test_eenter_tcs_not_mapped(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	fx_unmap(&t->m, la(t->s.tcs[0]));
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.tcs[0]));
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P), 0);
	/* Not in ELRANGE at all, nothing mapped: the same ordinary fault. */
	outside(&r, ENCLU_EENTER, 0x1000);
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, 0x1000);
	assert_int_equal(f.errcode & X86_PF_SGX, 0);
	assert_false(t->lp.in_enclave);
}

static void test_eenter_not_a_tcs(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;
	const uint64_t not_tcs[] = { t->s.code, t->s.data_rw, t->s.ssa[0] };
	struct epcm_entry *e;

	for (unsigned i = 0; i < 3; i++) {
		outside(&r, ENCLU_EENTER, la(not_tcs[i]));
		assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(not_tcs[i]));
		assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P), X86_PF_SGX | X86_PF_P);
	}
	/* A TCS mapped at the wrong linear address. */
	fx_map(&t->m, la(t->s.hole), tcs_of(t, 1), true);
	outside(&r, ENCLU_EENTER, la(t->s.hole));
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.hole));
	assert_int_equal(f.errcode & X86_PF_SGX, X86_PF_SGX);
	/* A TCS that is BLOCKED, PENDING or MODIFIED. */
	e = &t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 0))];
	for (unsigned i = 0; i < 3; i++) {
		uint8_t flag = i == 0 ? EPCM_BLOCKED : i == 1 ? EPCM_PENDING : EPCM_MODIFIED;

		e->flags = flag;
		outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
		assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.tcs[0]));
		assert_int_equal(f.errcode & X86_PF_SGX, X86_PF_SGX);
	}
	e->flags = 0;
	assert_false(t->lp.in_enclave);
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
}

static void test_eenter_ssa_checks(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	/* The page tables map the SSA read-only: an ordinary write fault. */
	fx_map(&t->m, la(t->s.ssa[0]), page_of(t, t->s.ssa[0]), false);
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.ssa[0]));
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P | X86_PF_W), X86_PF_P | X86_PF_W);
	/* Not mapped at all. */
	fx_unmap(&t->m, la(t->s.ssa[0]));
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.ssa[0]));
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P), 0);
	/* The page tables allow writing the read-only page, the EPCM does not: an SGX fault. */
	fx_map(&t->m, la(t->s.data_r), page_of(t, t->s.data_r), true);
	outside(&r, ENCLU_EENTER, la(t->s.tcs_bad));
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.data_r));
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P), X86_PF_SGX | X86_PF_P);
	assert_false(t->lp.in_enclave);
	/* Nothing changed on the way: no AEP, no busy TCS. */
	assert_int_equal(tcs_of(t, 0)->aep, 0);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 0))].busy), 0);
	fx_map(&t->m, la(t->s.ssa[0]), page_of(t, t->s.ssa[0]), true);
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
}

static void test_eenter_aep_not_canonical(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	r.rcx = 0x0000800000000000ULL;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_false(t->lp.in_enclave);
}

/* ---------------------------------------------------------------------------------------- */
/* EEXIT */

static void test_eexit(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	inside(&r, la(t->s.code + 0x200));
	r.rax = ENCLU_EEXIT;
	r.rbx = 0x0000555555553000ULL;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_false(t->lp.in_enclave);
	assert_int_equal(r.rip, 0x0000555555553000ULL);
	assert_int_equal(r.rcx, AEP);
	assert_int_equal(r.fsbase, OUT_FS);
	assert_int_equal(r.gsbase, OUT_GS);
	/* EEXIT restores neither RSP/RBP nor clears registers (isa.md §5.2, §13.8). */
	assert_int_equal(r.rsp, BASE + 0x7F00);
	assert_int_equal(r.rbp, BASE + 0x7F80);
	assert_int_equal(r.rdx, 0xD0D0);
	assert_int_equal(r.r15, 15);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 0))].busy), 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
	/* The TCS can be entered again. */
	enter(t, &t->lp, &r, 0);
}

static void test_eexit_target_not_canonical(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	r.rax = ENCLU_EEXIT;
	r.rbx = 0x8000000000000000ULL;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_true(t->lp.in_enclave);
}

static void test_eexit_outside_gp(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;
	const unsigned inside_only[] = { ENCLU_EEXIT, ENCLU_EREPORT, ENCLU_EGETKEY, ENCLU_EACCEPT,
					 ENCLU_EMODPE, ENCLU_EACCEPTCOPY, ENCLU_EDECCSSA };

	for (unsigned i = 0; i < sizeof(inside_only) / sizeof(inside_only[0]); i++) {
		outside(&r, inside_only[i], 0x0000555555553000ULL);
		assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
		assert_int_equal(r.rip, ENCLU_IP);
	}
	/* Leaves that do not exist, in and out of the enclave. */
	outside(&r, 8, 0);
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	outside(&r, 0x40, 0);
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	enter(t, &t->lp, &r, 0);
	r.rax = 0x40;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_true(t->lp.in_enclave);
}

static void test_enter_in_enclave_mode_gp(void **state)
{
	struct t *t = *state;
	struct cpu_regs r, r2;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	outside(&r2, ENCLU_EENTER, la(t->s.tcs[1]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r2, &f), &f);
	r2.rax = ENCLU_ERESUME;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r2, &f), &f);
	assert_true(t->lp.in_enclave);
	assert_int_equal(t->lp.tcs, fx_epc_idx(&t->m, tcs_of(t, 0)));
	assert_int_equal(atomic_load(&t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 1))].busy), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* AEX */

static void test_aex_saves_and_loads_synthetic_state(void **state)
{
	struct t *t = *state;
	struct cpu_regs r, enclave;
	struct sgx_gprsgx *g = gpr_of(t, 0, 0);
	struct sgx_exinfo *x = exinfo_of(t, 0, 0);
	uint64_t maddr = la(t->s.data_r) + 0x123;

	enter(t, &t->lp, &r, 0);
	inside(&r, la(t->s.code + 0x240));
	r.rflags |= RF_TF;
	enclave = r;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_PF, X86_PF_SGX | X86_PF_P | X86_PF_W | X86_PF_U, maddr);

	/* GPRSGX holds the interrupted state. */
	assert_int_equal(g->rax, enclave.rax);
	assert_int_equal(g->rcx, enclave.rcx);
	assert_int_equal(g->rdx, enclave.rdx);
	assert_int_equal(g->rbx, enclave.rbx);
	assert_int_equal(g->rsp, enclave.rsp);
	assert_int_equal(g->rbp, enclave.rbp);
	assert_int_equal(g->rsi, enclave.rsi);
	assert_int_equal(g->rdi, enclave.rdi);
	assert_int_equal(g->r8, 8);
	assert_int_equal(g->r9, 9);
	assert_int_equal(g->r10, 10);
	assert_int_equal(g->r11, 11);
	assert_int_equal(g->r12, 12);
	assert_int_equal(g->r13, 13);
	assert_int_equal(g->r14, 14);
	assert_int_equal(g->r15, 15);
	assert_int_equal(g->rip, la(t->s.code + 0x240));
	assert_int_equal(g->rflags, enclave.rflags & ~RF_TF); /* TF is not saved */
	assert_int_equal(g->fsbase, BASE + 0xE000);
	assert_int_equal(g->gsbase, BASE + 0xF000);
	assert_int_equal(g->ursp, URSP); /* written by EENTER, not by AEX */
	assert_int_equal(g->urbp, URBP);
	assert_int_equal(g->exitinfo, SGX_EXITINFO_VALID | (SGX_EXITINFO_TYPE_HW << 8) | X86_PF);
	assert_int_equal(x->maddr, maddr); /* the full address, not the page */
	assert_int_equal(x->errcd, X86_PF_SGX | X86_PF_P | X86_PF_W | X86_PF_U);
	assert_int_equal(x->reserved, 0);

	/* The synthetic state the OS sees. */
	assert_int_equal(r.rax, ENCLU_ERESUME);
	assert_int_equal(r.rbx, la(t->s.tcs[0]));
	assert_int_equal(r.rcx, AEP);
	assert_int_equal(r.rip, AEP);
	assert_int_equal(r.rsp, URSP);
	assert_int_equal(r.rbp, URBP);
	assert_int_equal(r.rdx, 0);
	assert_int_equal(r.rsi, 0);
	assert_int_equal(r.rdi, 0);
	assert_int_equal(r.r8 | r.r9 | r.r10 | r.r11 | r.r12 | r.r13 | r.r14 | r.r15, 0);
	assert_int_equal(r.rflags & AEX_CLEARED, 0);
	assert_int_equal(r.rflags & (RF_IF | RF_DF | RF_AC | 0x2), RF_IF | RF_DF | RF_AC | 0x2);
	assert_int_equal(r.fsbase, OUT_FS);
	assert_int_equal(r.gsbase, OUT_GS);
	/* CSSA moved on, the thread is out and the TCS free. */
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	assert_false(t->lp.in_enclave);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 0))].busy), 0);
}

/* Opt-out entries (TCS.FLAGS.DBGOPTIN = 0): EENTER and ERESUME save and clear TF, and AEX
 * gives the outside TF back in the synthetic state (isa.md §5.1 effects, §5.3, §6 step 5). */
static void test_tf_opt_out(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	r.rflags |= RF_TF;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rflags & RF_TF, 0);
	/* The AEX hands the outside TF (set) back. */
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(r.rflags & RF_TF, RF_TF);
	/* ERESUME with TF set: cleared again inside. */
	r.rax = ENCLU_ERESUME;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rflags & RF_TF, 0);
	r.rax = ENCLU_EEXIT;
	r.rbx = ENCLU_IP + 3;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	/* Entered with TF clear; enclave code sets TF; the AEX gives back the outside's clear TF. */
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	r.rflags |= RF_TF;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(r.rflags & RF_TF, 0);
}

/* EXITINFO for every exception vector, with and without MISCSELECT.EXINFO (isa.md §1.5). */
static void check_exitinfo(struct t *t, bool exinfo)
{
	struct cpu_regs r;
	struct cpu_fault f;

	for (unsigned v = 0; v < 40; v++) {
		bool always = v == X86_DE || v == X86_DB || v == X86_BP || v == X86_BR ||
			      v == X86_UD || v == X86_MF || v == X86_AC || v == X86_XM;
		bool valid = always || (exinfo && (v == X86_GP || v == X86_PF));
		uint32_t want = valid ? SGX_EXITINFO_VALID | v |
					((v == X86_BP ? SGX_EXITINFO_TYPE_SW : SGX_EXITINFO_TYPE_HW) << 8)
				      : 0;
		struct sgx_exinfo *x = exinfo_of(t, 0, 0);

		memset(x, 0xEE, sizeof(*x));
		gpr_of(t, 0, 0)->exitinfo = 0xFFFFFFFF;
		enter(t, &t->lp, &r, 0);
		inside(&r, la(t->s.code + 0x10));
		cpu_aex(&t->m.cpu, &t->lp, &r, v, v == X86_GP ? 0x18 : 0x8005, BASE + 0x5555);
		if (gpr_of(t, 0, 0)->exitinfo != want)
			fail_msg("vector %u (EXINFO %d): EXITINFO %#x, want %#x", v, exinfo,
				 gpr_of(t, 0, 0)->exitinfo, want);
		if (exinfo && v == X86_PF) {
			assert_int_equal(x->maddr, BASE + 0x5555);
			assert_int_equal(x->errcd, 0x8005);
			assert_int_equal(x->reserved, 0);
		} else if (exinfo && v == X86_GP) {
			assert_int_equal(x->maddr, 0);
			assert_int_equal(x->errcd, 0x18);
			assert_int_equal(x->reserved, 0);
		}
		/* Pop the frame again. */
		r.rax = ENCLU_ERESUME;
		assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
		r.rax = ENCLU_EEXIT;
		r.rbx = ENCLU_IP + 3;
		assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
		assert_int_equal(tcs_of(t, 0)->cssa, 0);
	}
}

static void test_aex_exitinfo_with_exinfo(void **state)
{
	check_exitinfo(*state, true);
}

static void test_aex_exitinfo_without_exinfo(void **state)
{
	check_exitinfo(*state, false);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* A context image: the given size, a pattern everywhere, a valid MXCSR and MXCSR_MASK, the
 * software bytes 464-511 marked, and (with a header) XSTATE_BV = in_use. */
static void image_fill(uint8_t *img, uint32_t size, uint64_t in_use, uint8_t seed)
{
	for (uint32_t i = 0; i < size; i++)
		img[i] = (uint8_t)(i * 7 + seed);
	wr32(img + 24, 0x1F80 | 0x6000 | (seed & 0x3F)); /* MXCSR: RC, some flags */
	wr32(img + 28, 0xFFFF);                          /* MXCSR_MASK */
	memset(img + 464, 0x5A, 48);
	if (size >= 576) {
		memset(img + 512, 0, 64);
		wr64(img + 512, in_use);
	}
}

/* x87/SSE state of a legacy (FXSAVE) image: saved into the XSAVE area at the start of the
 * frame, synthetic state loaded, restored by ERESUME. */
static void test_aex_eresume_fx_state(void **state)
{
	struct t *t = *state;
	uint8_t fx[512] __attribute__((aligned(16))), fx_after[512] __attribute__((aligned(16)));
	struct cpu_xsave x = { fx, sizeof(fx), 0x3 };
	uint8_t *xsave = page_of(t, t->s.ssa[0]);
	struct cpu_regs r;
	struct cpu_fault f;

	image_fill(fx, sizeof(fx), 0, 1);
	memcpy(fx_after, fx, sizeof(fx));
	enter(t, &t->lp, &r, 0);
	r.xsave = &x;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_XM, 0, 0);
	/* XSAVE writes the legacy region up to XMM15, not the software bytes. */
	assert_memory_equal(xsave, fx_after, 416);
	assert_int_equal(rd64(xsave + 512), 0x3); /* XSTATE_BV: x87 | SSE */
	for (unsigned i = 520; i < 576; i++)
		if (xsave[i])
			fail_msg("XSAVE header byte %u is %#x", i, xsave[i]);
	/* Synthetic: FCW 0x037F, MXCSR 0x1F80, FSW/FTW and the registers zero; MXCSR_MASK and
	 * bytes 416-511 (the OS's) untouched. */
	assert_int_equal(fx[0] | fx[1] << 8, 0x037F);
	assert_int_equal(fx[2] | fx[3] << 8, 0);
	assert_int_equal(fx[24] | fx[25] << 8 | fx[26] << 16 | fx[27] << 24, 0x1F80);
	assert_memory_equal(fx + 28, fx_after + 28, 4);
	for (unsigned i = 32; i < 416; i++)
		if (fx[i])
			fail_msg("synthetic FXSAVE byte %u is %#x", i, fx[i]);
	assert_memory_equal(fx + 416, fx_after + 416, 96);

	/* The AEP's code changes registers; ERESUME loads the enclave's back. */
	memset(fx, 0x33, 416);
	wr32(fx + 24, 0x1F80);
	memcpy(fx + 28, fx_after + 28, 4); /* the processor's MXCSR_MASK, as the OS saved it */
	r.rax = ENCLU_ERESUME;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_memory_equal(fx, fx_after, 512);
}

/* An AVX-512 enclave: YMM upper halves, opmasks, ZMM upper halves, ZMM16-31 and PKRU go to
 * the SSA at their CPUID offsets with XSTATE_BV, the context is left with them initial (and
 * zeroed), and ERESUME brings back exactly the components that were in use. */
static void test_aex_eresume_xsave_avx512(void **state)
{
	struct t *t = *state;
	const uint32_t size = XSAVE_AVX512_SIZE + 4; /* + the OS's trailing magic */
	/* ZMM_Hi256 (bit 6) not in use: its area holds stale bytes that mean nothing. */
	const uint64_t in_use = XFRM_AVX512 & ~(1ULL << 6);
	uint8_t *img = aligned_alloc(64, 4096), *orig = malloc(4096);
	struct cpu_xsave x = { img, XSAVE_AVX512_SIZE, XFRM_AVX512 };
	uint8_t *ssa = page_of(t, t->s.ssa[0]);
	struct cpu_regs r;
	struct cpu_fault f;

	assert_non_null(img);
	assert_non_null(orig);
	image_fill(img, size, in_use, 9);
	memcpy(orig, img, size);
	enter(t, &t->lp, &r, 0);
	r.xsave = &x;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_PF, 4, BASE);

	assert_int_equal(rd64(ssa + 512), in_use);
	for (unsigned i = 520; i < 576; i++)
		if (ssa[i])
			fail_msg("SSA XSAVE header byte %u is %#x", i, ssa[i]);
	assert_memory_equal(ssa, orig, 416);
	for (unsigned c = 2; c < XFEATURE_MAX; c++)
		if (in_use & (1ULL << c))
			assert_memory_equal(ssa + avx512_layout.offset[c], orig + avx512_layout.offset[c],
					    avx512_layout.size[c]);
	/* The context: every XFRM component above SSE initial and zeroed, x87/SSE synthetic. */
	assert_int_equal(rd64(img + 512) & ~0x3ULL, 0);
	for (unsigned c = 2; c < XFEATURE_MAX; c++)
		for (unsigned i = 0; i < avx512_layout.size[c]; i++)
			if (img[avx512_layout.offset[c] + i])
				fail_msg("component %u byte %u of the context kept %#x", c, i,
					 img[avx512_layout.offset[c] + i]);
	assert_int_equal(rd64(img + 576 - 8), rd64(orig + 576 - 8)); /* header tail untouched */
	assert_memory_equal(img + 464, orig + 464, 48);                /* the OS's bytes */

	/* The host's code uses every register, then the AEP resumes. */
	image_fill(img, XSAVE_AVX512_SIZE, XFRM_AVX512, 77);
	memcpy(img + 464, orig + 464, 48);
	r.rax = ENCLU_ERESUME;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(rd64(img + 512), in_use);
	assert_memory_equal(img, orig, 28);
	assert_memory_equal(img + 32, orig + 32, 416 - 32);
	for (unsigned c = 2; c < XFEATURE_MAX; c++)
		if (in_use & (1ULL << c))
			assert_memory_equal(img + avx512_layout.offset[c], orig + avx512_layout.offset[c],
					    avx512_layout.size[c]);
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
	free(img);
	free(orig);
}

/* Components outside the enclave's XFRM belong to the host: AEX neither saves nor clears
 * them, ERESUME leaves them. */
static void test_aex_xfrm_subset(void **state)
{
	struct t *t = *state;
	uint8_t *img = aligned_alloc(64, 4096), *orig = malloc(4096);
	struct cpu_xsave x = { img, XSAVE_AVX512_SIZE, XFRM_AVX512 };
	uint8_t *ssa = page_of(t, t->s.ssa[0]);
	struct cpu_regs r;
	struct cpu_fault f;

	assert_non_null(img);
	assert_non_null(orig);
	image_fill(img, XSAVE_AVX512_SIZE, XFRM_AVX512, 3);
	memcpy(orig, img, XSAVE_AVX512_SIZE);
	enter(t, &t->lp, &r, 0);
	r.xsave = &x;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(rd64(ssa + 512), 0x3);
	assert_int_equal(rd64(img + 512), XFRM_AVX512);
	assert_memory_equal(img + 576, orig + 576, XSAVE_AVX512_SIZE - 576);
	r.rax = ENCLU_ERESUME;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(rd64(img + 512), XFRM_AVX512);
	assert_memory_equal(img + 576, orig + 576, XSAVE_AVX512_SIZE - 576);
	free(img);
	free(orig);
}

/* ERESUME's XRSTOR faults (#GP, nothing changed): XSTATE_BV outside XFRM, XCOMP_BV or the next
 * reserved header bytes set, MXCSR reserved bits, XFRM beyond what the context can hold. */
static void test_eresume_xrstor_faults(void **state)
{
	struct t *t = *state;
	uint8_t *img = aligned_alloc(64, 4096);
	struct cpu_xsave x = { img, XSAVE_AVX512_SIZE, XFRM_AVX512 };
	uint8_t *ssa = page_of(t, t->s.ssa[0]);
	uint32_t tcs_idx = fx_epc_idx(&t->m, tcs_of(t, 0));
	struct cpu_regs r, saved;
	struct cpu_fault f;
	uint8_t hdr[64];

	assert_non_null(img);
	image_fill(img, XSAVE_AVX512_SIZE, XFRM_AVX512, 5);
	enter(t, &t->lp, &r, 0);
	r.xsave = &x;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	r.rax = ENCLU_ERESUME;
	saved = r;
	memcpy(hdr, ssa + 512, 64);
	for (int i = 0; i < 6; i++) {
		const char *what = "";

		memcpy(ssa + 512, hdr, 64);
		wr32(ssa + 24, 0x1F80);
		x.features = XFRM_AVX512;
		switch (i) {
		case 0: what = "XSTATE_BV bit 3"; ssa[512] |= 0x8; break;
		case 1: what = "XSTATE_BV bit 62"; ssa[519] |= 0x40; break;
		case 2: what = "XCOMP_BV compacted"; ssa[527] = 0x80; break;
		case 3: what = "header byte 535"; ssa[535] = 1; break;
		case 4: what = "MXCSR bit 16"; wr32(ssa + 24, 0x11F80); wr32(img + 28, 0xFFFF); break;
		case 5: what = "XFRM beyond the context's XCR0"; x.features = 0x7; break;
		}
		r = saved;
		if (enclu(&t->m.cpu, &t->lp, &r, &f) != CPU_FAULT || f.vector != X86_GP)
			fail_msg("%s: ERESUME did not #GP", what);
		assert_false(t->lp.in_enclave);
		assert_int_equal(tcs_of(t, 0)->cssa, 1);
		assert_int_equal(atomic_load(&t->m.cpu.epcm[tcs_idx].busy), 0);
	}
	/* Bytes 536-575 of the header are not checked; a valid frame resumes. */
	memcpy(ssa + 512, hdr, 64);
	ssa[575] = 0xFF;
	x.features = XFRM_AVX512;
	r = saved;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	/* XFRM beyond XCR0 at EENTER too. */
	r.rax = ENCLU_EEXIT;
	r.rbx = ENCLU_IP + 3;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	x.features = 0x3;
	r.xsave = &x;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	free(img);
}

/* ---------------------------------------------------------------------------------------- */
/* ERESUME */

static void test_eresume_restores_frame(void **state)
{
	struct t *t = *state;
	struct cpu_regs r, enclave;
	struct cpu_fault f;
	uint64_t out_flags = 0x2 | RF_IF | RF_ZF | RF_PF;

	enter(t, &t->lp, &r, 0);
	inside(&r, la(t->s.code + 0x300));
	r.rflags = 0x2 | RF_IF | RF_CF | RF_SF | RF_DF | RF_OF | RF_AC | RF_NT | RF_ID | RF_RF;
	enclave = r;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_PF, 0x8005, BASE);

	/* The AEP's ENCLU[ERESUME] with a different stack and AEP. */
	r.rcx = AEP2;
	r.rsp = URSP - 0x800;
	r.rbp = URBP - 0x800;
	r.rip = AEP;
	r.rflags = out_flags;
	r.fsbase = OUT_FS + 0x1000;
	r.gsbase = OUT_GS + 0x1000;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_true(t->lp.in_enclave);
	assert_int_equal(r.rax, enclave.rax);
	assert_int_equal(r.rbx, enclave.rbx);
	assert_int_equal(r.rcx, enclave.rcx);
	assert_int_equal(r.rdx, enclave.rdx);
	assert_int_equal(r.rsi, enclave.rsi);
	assert_int_equal(r.rdi, enclave.rdi);
	assert_int_equal(r.rsp, enclave.rsp);
	assert_int_equal(r.rbp, enclave.rbp);
	assert_int_equal(r.r8, 8);
	assert_int_equal(r.r12, 12);
	assert_int_equal(r.r15, 15);
	assert_int_equal(r.rip, enclave.rip);
	assert_int_equal(r.rflags, (enclave.rflags & ERESUME_RESTORED) | (out_flags & ~ERESUME_RESTORED));
	assert_int_equal(r.fsbase, enclave.fsbase);
	assert_int_equal(r.gsbase, enclave.gsbase);
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
	assert_int_equal(tcs_of(t, 0)->aep, AEP2);
	assert_int_equal(gpr_of(t, 0, 0)->ursp, URSP - 0x800);
	assert_int_equal(gpr_of(t, 0, 0)->urbp, URBP - 0x800);

	/* The next exit goes to the new AEP and restores the new outside FS/GS. */
	r.rax = ENCLU_EEXIT;
	r.rbx = 0x0000555555554000ULL;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rcx, AEP2);
	assert_int_equal(r.fsbase, OUT_FS + 0x1000);
	assert_int_equal(r.gsbase, OUT_GS + 0x1000);
}

static void test_eresume_cssa_zero_gp(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	outside(&r, ENCLU_ERESUME, la(t->s.tcs[0]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_false(t->lp.in_enclave);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[fx_epc_idx(&t->m, tcs_of(t, 0))].busy), 0);
}

static void test_eresume_checks(void **state)
{
	struct t *t = *state;
	struct cpu_lp lp2 = { 0 };
	struct cpu_regs r, r2;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_DE, 0, 0);
	/* The frame to restore must be mapped writable. */
	fx_map(&t->m, la(t->s.ssa[0]), page_of(t, t->s.ssa[0]), false);
	r.rax = ENCLU_ERESUME;
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.ssa[0]));
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	fx_map(&t->m, la(t->s.ssa[0]), page_of(t, t->s.ssa[0]), true);
	/* A non-canonical RIP in the frame. */
	gpr_of(t, 0, 0)->rip = 0x0000900000000000ULL;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	gpr_of(t, 0, 0)->rip = la(t->s.code);
	/* Misaligned TCS. */
	r.rbx += 0x40;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	r.rbx -= 0x40;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
	/* Busy: with a frame to resume (CSSA = 1) and the TCS in use by EENTER, another thread
	 * cannot ERESUME on it. */
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_DE, 0, 0);
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	outside(&r2, ENCLU_ERESUME, la(t->s.tcs[0]));
	assert_gp(enclu(&t->m.cpu, &lp2, &r2, &f), &f);
	assert_false(lp2.in_enclave);
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
}

/* SSA frames of two pages: GPRSGX at the end of the second, XSAVE at the start of the first. */
static void test_two_page_ssa_frames(void **state)
{
	struct t *t = *state;
	uint8_t fx[512] __attribute__((aligned(16)));
	struct cpu_xsave x = { fx, sizeof(fx), 0x3 };
	struct cpu_regs r;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 1);
	assert_int_equal(gpr_of(t, 1, 0)->ursp, URSP);
	assert_ptr_equal((uint8_t *)gpr_of(t, 1, 0),
			 page_of(t, t->s.ssa[1] + SGX_PAGE_SIZE) + SGX_PAGE_SIZE - 184);
	memset(fx, 0x42, sizeof(fx));
	r.xsave = &x;
	inside(&r, la(t->s.code));
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_BP, 0, 0);
	assert_int_equal(gpr_of(t, 1, 0)->rip, la(t->s.code));
	assert_int_equal(gpr_of(t, 1, 0)->exitinfo,
			 SGX_EXITINFO_VALID | (SGX_EXITINFO_TYPE_SW << 8) | X86_BP);
	assert_int_equal(page_of(t, t->s.ssa[1])[0], 0x42);
	assert_int_equal(page_of(t, t->s.ssa[1])[415], 0x42);
	/* The second frame starts two pages further. */
	outside(&r, ENCLU_EENTER, la(t->s.tcs[1]));
	r.rsp = URSP - 0x2000;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rax, 1);
	assert_int_equal(gpr_of(t, 1, 1)->ursp, URSP - 0x2000);
	assert_ptr_equal((uint8_t *)gpr_of(t, 1, 1),
			 page_of(t, t->s.ssa[1] + 3 * SGX_PAGE_SIZE) + SGX_PAGE_SIZE - 184);
}

/* ---------------------------------------------------------------------------------------- */
/* AEX-Notify and EDECCSSA */

/* CPUID: AEX-Notify (12.1.EAX[10]) and EDECCSSA (12.0.EAX[11]) together, with KSS, on the SGX2
 * part only; an SGX1-only part had none of them. */
static void test_cpuid_aexnotify(void **state)
{
	struct cpu_features ft;
	uint32_t r[4];

	(void)state;
	cpu_features_default(&ft, 1 << 20, true);
	cpu_cpuid_adjust(&ft, 0x12, 0, r);
	assert_int_equal(r[0], 0x803);
	cpu_cpuid_adjust(&ft, 0x12, 1, r);
	assert_int_equal(r[0], 0x4B6);
	cpu_features_default(&ft, 1 << 20, false);
	cpu_cpuid_adjust(&ft, 0x12, 0, r);
	assert_int_equal(r[0], 0x1);
	cpu_cpuid_adjust(&ft, 0x12, 1, r);
	assert_int_equal(r[0], 0x36);
}

/* Leaf 0: the vendor is GenuineIntel (an SGX machine) unless the host's is kept; the highest
 * basic leaf covers 0x12; the host's values pass through otherwise. */
static void test_cpuid_vendor(void **state)
{
	struct cpu_features ft;
	uint32_t r[4] = { 0x10, 0x68747541, 0x444d4163, 0x69746e65 }; /* "AuthenticAMD", 0x10 */
	char v[13];

	(void)state;
	cpu_features_default(&ft, 1 << 20, true);
	assert_true(cpu_cpuid_adjust(&ft, 0, 0, r));
	memcpy(v, &r[1], 4);
	memcpy(v + 4, &r[3], 4);
	memcpy(v + 8, &r[2], 4);
	v[12] = 0;
	assert_string_equal(v, "GenuineIntel");
	assert_int_equal(r[0], 0x12);
	ft.intel_vendor = false;
	r[0] = 0x20;
	r[1] = 0x68747541;
	assert_true(cpu_cpuid_adjust(&ft, 0, 0, r));
	assert_int_equal(r[1], 0x68747541);
	assert_int_equal(r[0], 0x20);
}

/* The frame opted in: ERESUME enters at OENTRY on the next frame like EENTER (RAX = CSSA,
 * RCX = next instruction, TCS FS/GS, URSP/URBP recorded, other registers and the extended
 * state passed through), CSSA unchanged. EDECCSSA then pops the interrupted frame, and the
 * next AEX saves into it. */
static void test_aexnotify_eresume_and_edeccssa(void **state)
{
	struct t *t = *state;
	uint8_t img[576] __attribute__((aligned(64))), before[576];
	struct cpu_xsave x = { img, sizeof(img), 0x3 };
	struct cpu_regs r, aep;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	gpr_of(t, 0, 0)->aexnotify = 1;
	inside(&r, la(t->s.code + 0x200));
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_PF, 0x8005, BASE + 0x5555);
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	assert_int_equal(gpr_of(t, 0, 0)->aexnotify, 1); /* AEX leaves the opt-in */
	assert_int_equal(gpr_of(t, 0, 0)->rip, la(t->s.code + 0x200));

	/* The AEP's ERESUME, from another stack. */
	r.rsp = URSP - 0x400;
	r.rbp = URBP - 0x400;
	r.rdx = 0xDD;
	r.r9 = 0x99;
	memset(img, 0x11, sizeof(img));
	memset(img + 512, 0, 64);
	memcpy(before, img, sizeof(img));
	r.xsave = &x;
	aep = r;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_true(t->lp.in_enclave);
	assert_int_equal(r.rip, la(t->s.code + FX_STD_ENTRY));
	assert_int_equal(r.rax, 1);
	assert_int_equal(r.rcx, aep.rip + 3);
	assert_int_equal(r.rbx, aep.rbx);
	assert_int_equal(r.rdx, 0xDD);
	assert_int_equal(r.r9, 0x99);
	assert_int_equal(r.rsp, aep.rsp);
	assert_int_equal(r.fsbase, la(t->s.data_rw));
	assert_int_equal(r.gsbase, la(t->s.data_r));
	assert_memory_equal(img, before, sizeof(img));
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	assert_int_equal(gpr_of(t, 0, 1)->ursp, URSP - 0x400);
	assert_int_equal(gpr_of(t, 0, 1)->urbp, URBP - 0x400);
	assert_int_equal(gpr_of(t, 0, 0)->ursp, URSP); /* the interrupted frame is intact */
	assert_int_equal(gpr_of(t, 0, 0)->rip, la(t->s.code + 0x200));

	/* The handler is done with the interrupted context. */
	r.rax = ENCLU_EDECCSSA;
	r.rip = la(t->s.code + 0x300);
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rip, la(t->s.code + 0x303));
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
	/* CSSA = 0 now: a second EDECCSSA has nothing to pop. */
	r.rax = ENCLU_EDECCSSA;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_true(t->lp.in_enclave);

	/* The next AEX goes to frame 0 again and returns to the latest AEP stack. */
	inside(&r, la(t->s.code + 0x400));
	r.xsave = NULL;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	assert_int_equal(gpr_of(t, 0, 0)->rip, la(t->s.code + 0x400));
	assert_int_equal(r.rsp, URSP);  /* frame 0's URSP: recorded by the first EENTER */
	/* Opt-out in the frame: the classic ERESUME. */
	gpr_of(t, 0, 0)->aexnotify = 0;
	r.rax = ENCLU_ERESUME;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(r.rip, la(t->s.code + 0x400));
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
}

/* A notification needs a free frame: with both frames used (CSSA = NSSA = 2), ERESUME #GPs. */
static void test_aexnotify_needs_a_free_frame(void **state)
{
	struct t *t = *state;
	uint32_t tcs_idx = fx_epc_idx(&t->m, tcs_of(t, 0));
	struct cpu_regs r, saved;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	gpr_of(t, 0, 0)->aexnotify = 1;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0); /* notification, on frame 1 */
	gpr_of(t, 0, 1)->aexnotify = 1;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 2);
	saved = r;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	assert_false(t->lp.in_enclave);
	assert_int_equal(atomic_load(&t->m.cpu.epcm[tcs_idx].busy), 0);
	/* Frame 1 opted out: the classic ERESUME of frame 1 works. */
	gpr_of(t, 0, 1)->aexnotify = 0;
	r = saved;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	/* A notification's frame must be a valid RW frame: #PF on frame 1 after EEXIT. */
	r.rax = ENCLU_EEXIT;
	r.rbx = ENCLU_IP + 3;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	fx_map(&t->m, la(t->s.ssa[0] + SGX_PAGE_SIZE), page_of(t, t->s.ssa[0] + SGX_PAGE_SIZE), false);
	outside(&r, ENCLU_ERESUME, la(t->s.tcs[0]));
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.ssa[0] + SGX_PAGE_SIZE));
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
}

/* TCS.FLAGS.AEXNOTIFY must match ATTRIBUTES.AEXNOTIFY unless the TCS opts in to debugging. */
static void test_aexnotify_tcs_must_match(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	/* setup_aexnotify: TCS 1 lacks the flag. */
	outside(&r, ENCLU_EENTER, la(t->s.tcs[1]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	tcs_of(t, 1)->flags |= SGX_TCS_FLAGS_DBGOPTIN; /* what EDBGWR could do */
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	r.rax = ENCLU_EEXIT;
	r.rbx = ENCLU_IP + 3;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	/* TCS.FLAGS bit 2 and up are reserved. */
	tcs_of(t, 0)->flags |= 0x4;
	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	tcs_of(t, 0)->flags &= ~0x4ULL;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
}

static void test_aexnotify_tcs_without_attribute(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	outside(&r, ENCLU_EENTER, la(t->s.tcs[0]));
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	r.rax = ENCLU_ERESUME;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	outside(&r, ENCLU_EENTER, la(t->s.tcs[1]));
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
}

/* EDECCSSA: #PF when the frame to pop is not a valid RW frame; #GP where the CPU lacks the
 * leaf (no AEX-Notify). */
static void test_edeccssa_checks(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;

	enter(t, &t->lp, &r, 0);
	gpr_of(t, 0, 0)->aexnotify = 1;
	cpu_aex(&t->m.cpu, &t->lp, &r, X86_UD, 0, 0);
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	fx_map(&t->m, la(t->s.ssa[0]), page_of(t, t->s.ssa[0]), false);
	r.rax = ENCLU_EDECCSSA;
	assert_pf(enclu(&t->m.cpu, &t->lp, &r, &f), &f, la(t->s.ssa[0]));
	assert_int_equal(tcs_of(t, 0)->cssa, 1);
	fx_map(&t->m, la(t->s.ssa[0]), page_of(t, t->s.ssa[0]), true);
	t->m.cpu.feat.attributes &= ~SGX_ATTR_AEXNOTIFY;
	r.rax = ENCLU_EDECCSSA;
	assert_gp(enclu(&t->m.cpu, &t->lp, &r, &f), &f);
	t->m.cpu.feat.attributes |= SGX_ATTR_AEXNOTIFY;
	r.rax = ENCLU_EDECCSSA;
	assert_int_equal(enclu(&t->m.cpu, &t->lp, &r, &f), 0);
	assert_int_equal(tcs_of(t, 0)->cssa, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* cpu_enclave_ptr */

static void test_enclave_ptr_checks(void **state)
{
	struct t *t = *state;
	struct cpu_regs r;
	struct cpu_fault f;
	uint8_t *p;

	enter(t, &t->lp, &r, 0);
	p = cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_rw) + 0x40, 64, ACCESS_R | ACCESS_W, &f);
	assert_ptr_equal(p, page_of(t, t->s.data_rw) + 0x40);
	p = cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_r) + 0xFC0, 64, ACCESS_R, &f);
	assert_ptr_equal(p, page_of(t, t->s.data_r) + 0xFC0);
	p = cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.code), 16, ACCESS_X, &f);
	assert_ptr_equal(p, page_of(t, t->s.code));

	/* Outside ELRANGE, or crossing a page: #GP. */
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, BASE - 64, 64, ACCESS_R, &f));
	assert_int_equal(f.vector, X86_GP);
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, BASE + SIZE, 64, ACCESS_R, &f));
	assert_int_equal(f.vector, X86_GP);
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_rw) + 0xFF0, 32, ACCESS_R, &f));
	assert_int_equal(f.vector, X86_GP);

	/* EPCM says no: #PF with the SGX bit. */
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.tcs[1]) + 0x10, 8, ACCESS_R, &f));
	assert_pf(CPU_FAULT, &f, la(t->s.tcs[1]) + 0x10);
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P), X86_PF_SGX | X86_PF_P);
	fx_map(&t->m, la(t->s.data_r), page_of(t, t->s.data_r), true); /* PTE writable */
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_r) + 8, 8, ACCESS_W, &f));
	assert_pf(CPU_FAULT, &f, la(t->s.data_r) + 8);
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P | X86_PF_W), X86_PF_SGX | X86_PF_P | X86_PF_W);
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_rw), 8, ACCESS_X, &f));
	assert_int_equal(f.vector, X86_PF);
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_I), X86_PF_SGX | X86_PF_I);
	t->m.cpu.epcm[fx_epc_idx(&t->m, page_of(t, t->s.data_rw))].flags = EPCM_PENDING;
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_rw), 8, ACCESS_R, &f));
	assert_int_equal(f.errcode & X86_PF_SGX, X86_PF_SGX);
	t->m.cpu.epcm[fx_epc_idx(&t->m, page_of(t, t->s.data_rw))].flags = 0;

	/* The page walk comes first: ordinary faults without the SGX bit. */
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.hole), 8, ACCESS_R, &f));
	assert_pf(CPU_FAULT, &f, la(t->s.hole));
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P), 0);
	fx_map(&t->m, la(t->s.data_rw), page_of(t, t->s.data_rw), false);
	assert_null(cpu_enclave_ptr(&t->m.cpu, &t->lp, la(t->s.data_rw), 8, ACCESS_W, &f));
	assert_pf(CPU_FAULT, &f, la(t->s.data_rw));
	assert_int_equal(f.errcode & (X86_PF_SGX | X86_PF_P | X86_PF_W), X86_PF_P | X86_PF_W);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eenter_sets_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_busy_tcs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_cssa_equals_nssa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_not_initialised, setup_uninit, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_misaligned_tcs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_tcs_not_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_not_a_tcs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_ssa_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eenter_aep_not_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eexit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eexit_target_not_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eexit_outside_gp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enter_in_enclave_mode_gp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aex_saves_and_loads_synthetic_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tf_opt_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aex_exitinfo_with_exinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aex_exitinfo_without_exinfo, setup_no_exinfo, teardown),
		cmocka_unit_test_setup_teardown(test_aex_eresume_fx_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aex_eresume_xsave_avx512, setup_avx512, teardown),
		cmocka_unit_test_setup_teardown(test_aex_xfrm_subset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eresume_xrstor_faults, setup_avx512, teardown),
		cmocka_unit_test_setup_teardown(test_eresume_restores_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eresume_cssa_zero_gp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eresume_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_page_ssa_frames, setup_big_frames, teardown),
		cmocka_unit_test(test_cpuid_aexnotify),
		cmocka_unit_test(test_cpuid_vendor),
		cmocka_unit_test_setup_teardown(test_aexnotify_eresume_and_edeccssa, setup_aexnotify, teardown),
		cmocka_unit_test_setup_teardown(test_aexnotify_needs_a_free_frame, setup_aexnotify, teardown),
		cmocka_unit_test_setup_teardown(test_aexnotify_tcs_must_match, setup_aexnotify, teardown),
		cmocka_unit_test_setup_teardown(test_aexnotify_tcs_without_attribute, setup_tcs_notify_only, teardown),
		cmocka_unit_test_setup_teardown(test_edeccssa_checks, setup_aexnotify, teardown),
		cmocka_unit_test_setup_teardown(test_enclave_ptr_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
