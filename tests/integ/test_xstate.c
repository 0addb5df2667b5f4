/* Extended state across an AEX: an enclave whose XFRM includes AVX (and AVX-512) loads YMM
 * (ZMM, opmask) registers, takes a #PF, the host runs with the synthetic state and clobbers
 * every vector register, and after ERESUME the enclave finds its values unchanged. Skipped
 * where the host's XCR0 lacks the components. */
#include <cpuid.h>

#include "tests/integ/integ.h"

#define XCR0_AVX 0x7ULL
#define XCR0_AVX512 0xE7ULL

static uint64_t xcr0(void)
{
	unsigned a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1U << 27)))
		return 0x3;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* After the AEX the host has the synthetic state: every register of the enclave's XFRM above
 * SSE in its initial configuration. Checked right after the vDSO returns: only registers
 * compiled C code never uses without -mavx (YMM upper halves) or -mavx512f (ZMM16-31, k1-7). */
static unsigned synthetic_nonzero(uint64_t kind)
{
	uint64_t buf[32 * 8 + 8];
	unsigned nz = 0;

	memset(buf, 0, sizeof(buf));
	if (kind == TEST_VREGS_ZMM)
		__asm__ volatile(".irp i,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
				 "vmovdqu64 %%zmm\\i, \\i*64(%0)\n"
				 ".endr\n"
				 ".irp i,1,2,3,4,5,6,7\n"
				 "kmovq %%k\\i, (256+\\i)*8(%0)\n"
				 ".endr"
				 : : "r"(buf) : "memory");
	__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
			 "vextractf128 $1, %%ymm\\i, \\i*64+16(%0)\n"
			 ".endr"
			 : : "r"(buf) : "memory");
	for (unsigned i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
		nz += buf[i] != 0;
	return nz;
}

/* What the host does between the AEX and ERESUME: use every vector register. */
static void clobber(uint64_t kind)
{
	static const uint64_t ones[8] __attribute__((aligned(64))) = { ~0ULL, ~0ULL, ~0ULL, ~0ULL,
								       ~0ULL, ~0ULL, ~0ULL, ~0ULL };

	if (kind == TEST_VREGS_ZMM)
		__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
				 "vmovdqu64 (%0), %%zmm\\i\n"
				 ".endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n"
				 "kmovq (%0), %%k\\i\n"
				 ".endr"
				 : : "r"(ones) : "memory");
	else
		__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
				 "vmovdqu (%0), %%ymm\\i\n"
				 ".endr"
				 : : "r"(ones) : "memory");
}

static void vregs_across_aex(uint64_t xfrm, uint64_t kind)
{
	struct encl e;
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_VREGS, .a = 0x5eed0000 + kind, .b = kind };
	uint64_t scratch;

	memset(&e, 0, sizeof(e));
	integ_load(&e, 0);
	e.xfrm = xfrm;
	if (encl_build(&e, integ_key()) < 0)
		fail_msg("building the enclave with XFRM %#llx: %s (errno %d)",
			 (unsigned long long)xfrm, e.err, errno);
	scratch = integ_scratch(&e);
	op.addr = scratch + 0x40;
	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ), 0);

	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(&e, 0);
	assert_int_equal(encl_vdso_call(&run, ENCLU_EENTER, (uint64_t)(uintptr_t)&op, 0, 0), 0);
	assert_int_equal(synthetic_nonzero(kind), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(op.done, 0);

	assert_int_equal(mprotect((void *)(uintptr_t)scratch, PG, PROT_READ | PROT_WRITE), 0);
	clobber(kind);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(op.done, 1);
	if (op.out)
		fail_msg("%llu vector words changed across the AEX, first word %llu",
			 (unsigned long long)op.out, (unsigned long long)op.aux - 1);
	assert_int_equal(integ_read(&e, 1, scratch + 0x40), op.a);
	encl_free(&e);
}

static void ymm_preserved(void **state)
{
	(void)state;
	if ((xcr0() & XCR0_AVX) != XCR0_AVX) {
		fprintf(stderr, "# skipping: the host's XCR0 has no AVX state\n");
		skip();
	}
	vregs_across_aex(XCR0_AVX, TEST_VREGS_YMM);
}

static void zmm_preserved(void **state)
{
	(void)state;
	if ((xcr0() & XCR0_AVX512) != XCR0_AVX512) {
		fprintf(stderr, "# skipping: the host's XCR0 has no AVX-512 state\n");
		skip();
	}
	vregs_across_aex(XCR0_AVX512, TEST_VREGS_ZMM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ymm_preserved),
		cmocka_unit_test(zmm_preserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
