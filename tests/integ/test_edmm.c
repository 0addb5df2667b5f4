/* The SGX2 ioctls' checks and results (the kernel's sgx_ioc_enclave_restrict_permissions,
 * _modify_types, _remove_pages): RESTRICT_PERMISSIONS, MODIFY_TYPES and REMOVE_PAGES, each
 * error in the kernel's order, what is written back (count, result), and the EPCM state the
 * enclave then sees through EACCEPT. One thread; the concurrent cases are in
 * test_edmm_threads.c, SGX1 in test_edmm_sgx1.c. */
#include "tests/integ/integ_sgx2.h"

#define HEAP_PAGES 4
#define ELRANGE (1UL << 20)

static struct encl E;
static uint64_t heap, hole; /* offsets: 4 RW heap pages, then unbacked ELRANGE (mapped RW) */
static uint64_t code;       /* offset of the R-X segment */

static int setup(void **state)
{
	(void)state;
	sgx2_build(&E, HEAP_PAGES * PG, ELRANGE);
	heap = E.heap_offset;
	hole = sgx2_hole(&E);
	code = E.seg[1].offset;
	assert_int_equal(hole, heap + HEAP_PAGES * PG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

static uint64_t at(uint64_t off)
{
	return E.base + off;
}

/* An argument rejected before the page loop: EINVAL and nothing written back. */
#define RP_EINVAL(...)                                                                             \
	do {                                                                                       \
		struct sgx_enclave_restrict_permissions rp_ = { __VA_ARGS__ }, in_ = rp_;           \
		assert_errno(sgx2_restrict(&E, &rp_), EINVAL);                                     \
		assert_memory_equal(&rp_, &in_, sizeof(rp_));                                      \
	} while (0)
#define MT_EINVAL(...)                                                                             \
	do {                                                                                       \
		struct sgx_enclave_modify_types mt_ = { __VA_ARGS__ }, in_ = mt_;                  \
		assert_errno(sgx2_modify(&E, &mt_), EINVAL);                                       \
		assert_memory_equal(&mt_, &in_, sizeof(mt_));                                      \
	} while (0)
#define RM_EINVAL(...)                                                                             \
	do {                                                                                       \
		struct sgx_enclave_remove_pages rm_ = { __VA_ARGS__ }, in_ = rm_;                  \
		assert_errno(sgx2_remove(&E, &rm_), EINVAL);                                       \
		assert_memory_equal(&rm_, &in_, sizeof(rm_));                                      \
	} while (0)

/* The emulated CPU reports SGX2 (CPUID.(12h,0):EAX bit 1) in this default configuration. */
static void cpuid_reports_sgx2(void **state)
{
	unsigned r[4];

	(void)state;
	emu_cpuid(0x12, 0, r);
	assert_int_equal(r[0] & 3, 3);
}

/* Offset/length (§1.6), permission bits and non-zero outputs: EINVAL, struct untouched. */
static void restrict_argument_checks(void **state)
{
	const uint64_t size = E.size;

	(void)state;
	assert_errno(ioctl(E.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, integ_unmapped_page()),
		     EFAULT);
	RP_EINVAL(.offset = heap + 0x10, .length = PG, .permissions = SI_R);
	RP_EINVAL(.offset = heap, .length = PG + 8, .permissions = SI_R);
	RP_EINVAL(.offset = heap, .length = 0, .permissions = SI_R);
	RP_EINVAL(.offset = size - PG, .length = 2 * PG, .permissions = SI_R);
	RP_EINVAL(.offset = size, .length = PG, .permissions = SI_R);
	RP_EINVAL(.offset = ~0xFFFULL, .length = 2 * PG, .permissions = SI_R); /* wraps to 0x1000 */
	RP_EINVAL(.offset = heap, .length = PG, .permissions = 0x8);
	RP_EINVAL(.offset = heap, .length = PG, .permissions = SI_R | 0x100);
	RP_EINVAL(.offset = heap, .length = PG, .permissions = SI_W);
	RP_EINVAL(.offset = heap, .length = PG, .permissions = SI_W | SI_X);
	RP_EINVAL(.offset = heap, .length = PG, .permissions = SI_R, .result = 1);
	RP_EINVAL(.offset = heap, .length = PG, .permissions = SI_R, .count = PG);
	/* None of them changed the page: it is still RW and not waiting for an EACCEPT. */
	integ_write(&E, 0, at(heap), 0x5157);
	assert_int_equal(integ_eaccept(&E, 0, at(heap), SI_R | SI_W | SI_REG | SI_PR),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_read(&E, 1, at(heap)), 0x5157);
}

/* The last page of ELRANGE is a valid target; one more is out of range. */
static void restrict_range_end(void **state)
{
	struct sgx_enclave_restrict_permissions rp = { .offset = E.size - PG, .length = PG,
						       .permissions = SI_R };

	(void)state;
	/* In range, but nothing is there: a hole is EFAULT with nothing done. */
	assert_errno(sgx2_restrict(&E, &rp), EFAULT);
	assert_int_equal(rp.count, 0);
	assert_int_equal(rp.result, 0);
}

/* A TCS page: EINVAL with result 0 and count 0 written back (selftest tcs_permissions). */
static void restrict_tcs_page(void **state)
{
	struct sgx_enclave_restrict_permissions rp = { .offset = 0, .length = PG,
						       .permissions = SI_R };

	(void)state;
	assert_errno(sgx2_restrict(&E, &rp), EINVAL);
	assert_int_equal(rp.result, 0);
	assert_int_equal(rp.count, 0);
	/* Both TCSs still enter. */
	integ_counter(&E, 0);
	integ_counter(&E, 1);
}

/* Success: count = length, result 0; the enclave sees PR set with the reduced permissions, a
 * wrong SECINFO is refused without changing anything, and the right one accepts once. */
static void restrict_then_eaccept(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_WRITE, .addr = at(heap + PG) + 8, .a = 2 };

	(void)state;
	integ_write(&E, 0, at(heap + PG), 0x1111);
	sgx2_restrict_ok(&E, heap + PG, PG, SI_R);
	/* Wrong permissions, type, PR missing with PENDING instead: mismatch (19). */
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_R | SI_W | SI_REG | SI_PR),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_R | SI_X | SI_REG | SI_PR),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_R | SI_REG | SI_PENDING),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_R | SI_REG | SI_PR | SI_PENDING),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	/* The right one, once: PR is then clear. */
	assert_int_equal(integ_eaccept(&E, 1, at(heap + PG), SI_R | SI_REG | SI_PR), 0);
	assert_int_equal(integ_eaccept(&E, 1, at(heap + PG), SI_R | SI_REG | SI_PR),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_read(&E, 1, at(heap + PG)), 0x1111);
	integ_call_fault(&E, 0, &op, &run, 14, PF_SGX_WRITE, at(heap + PG));
	/* The enclave may give W back itself (EMODPE); the faulted write then completes. */
	integ_emodpe(&E, 1, at(heap + PG), SI_R | SI_W);
	integ_resume(&E, 0, &op);
	assert_int_equal(integ_read(&E, 1, at(heap + PG) + 8), 2);
	/* Restricting to what the page has already sets PR all the same. */
	sgx2_restrict_ok(&E, heap + PG, PG, SI_R | SI_W | SI_X);
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_R | SI_W | SI_REG | SI_PR), 0);
}

/* A range that runs into a hole: EFAULT at the hole, count = the pages before it, and those
 * pages were restricted. */
static void restrict_range_with_hole(void **state)
{
	struct sgx_enclave_restrict_permissions rp = {
		.offset = hole - 2 * PG, .length = 3 * PG, .permissions = SI_R | SI_W };

	(void)state;
	assert_errno(sgx2_restrict(&E, &rp), EFAULT);
	assert_int_equal(rp.count, 2 * PG);
	assert_int_equal(rp.result, 0);
	assert_int_equal(integ_eaccept(&E, 0, at(hole - 2 * PG), SI_R | SI_W | SI_REG | SI_PR), 0);
	assert_int_equal(integ_eaccept(&E, 0, at(hole - PG), SI_R | SI_W | SI_REG | SI_PR), 0);
	/* Starting in the hole: nothing done. */
	rp = (struct sgx_enclave_restrict_permissions){ .offset = hole, .length = PG,
							.permissions = SI_R };
	assert_errno(sgx2_restrict(&E, &rp), EFAULT);
	assert_int_equal(rp.count, 0);
}

/* A page EAUG added and the enclave has not accepted: EMODPR and EMODT answer
 * SGX_PAGE_NOT_MODIFIABLE, which comes back in result with EFAULT. */
static void modify_pending_page(void **state)
{
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_READ, .addr = at(hole + 4 * PG) + 0x40 };
	struct sgx_enclave_restrict_permissions rp = { .offset = hole + 4 * PG, .length = PG,
						       .permissions = SI_R };
	struct sgx_enclave_modify_types mt = { .offset = hole + 4 * PG, .length = PG,
					       .page_type = SGX_PT_TRIM };
	uint64_t free0 = epc_free_pages();

	(void)state;
	/* The read EAUGs the page, then takes the EPCM fault of a PENDING page. */
	integ_call_fault(&E, 0, &op, &run, 14, PF_SGX_READ, at(hole + 4 * PG));
	assert_int_equal(epc_free_pages(), free0 - 1);
	assert_errno(sgx2_restrict(&E, &rp), EFAULT);
	assert_int_equal(rp.result, SGX_STATUS_NOT_MODIFIABLE);
	assert_int_equal(rp.count, 0);
	assert_errno(sgx2_modify(&E, &mt), EFAULT);
	assert_int_equal(mt.result, SGX_STATUS_NOT_MODIFIABLE);
	assert_int_equal(mt.count, 0);
	mt = (struct sgx_enclave_modify_types){ .offset = hole + 4 * PG, .length = PG,
						.page_type = SGX_PT_TCS };
	assert_errno(sgx2_modify(&E, &mt), EFAULT);
	assert_int_equal(mt.result, SGX_STATUS_NOT_MODIFIABLE);
	assert_int_equal(mt.count, 0);
	/* Still PENDING, RW: accepted as EAUG left it, then the read completes with zeroes. */
	assert_int_equal(integ_eaccept(&E, 1, at(hole + 4 * PG), SI_AUGMENTED), 0);
	integ_resume(&E, 0, &op);
	assert_int_equal(op.out, 0);
	assert_int_equal(epc_free_pages(), free0 - 1);
}

static void modify_argument_checks(void **state)
{
	(void)state;
	assert_errno(ioctl(E.fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, integ_unmapped_page()), EFAULT);
	MT_EINVAL(.offset = heap + 0x800, .length = PG, .page_type = SGX_PT_TRIM);
	MT_EINVAL(.offset = heap, .length = 0x800, .page_type = SGX_PT_TRIM);
	MT_EINVAL(.offset = heap, .length = 0, .page_type = SGX_PT_TRIM);
	MT_EINVAL(.offset = E.size, .length = PG, .page_type = SGX_PT_TRIM);
	MT_EINVAL(.offset = heap, .length = E.size, .page_type = SGX_PT_TRIM);
	MT_EINVAL(.offset = heap, .length = PG, .page_type = 0x100 | SGX_PT_TRIM);
	MT_EINVAL(.offset = heap, .length = PG, .page_type = SGX_PT_TRIM, .result = 7);
	MT_EINVAL(.offset = heap, .length = PG, .page_type = SGX_PT_TRIM, .count = PG);
}

/* page_type other than TCS or TRIM is refused in the loop: EINVAL, count 0 written back. */
static void modify_bad_page_types(void **state)
{
	static const uint64_t types[] = { SGX_PT_SECS, SGX_PT_REG, SGX_PT_VA, 5, 6, 0xFF };

	(void)state;
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct sgx_enclave_modify_types mt = { .offset = heap, .length = PG,
						       .page_type = types[i] };

		assert_errno(sgx2_modify(&E, &mt), EINVAL);
		assert_int_equal(mt.count, 0);
		assert_int_equal(mt.result, 0);
	}
	/* The page is untouched: REG, RW, nothing to accept. */
	integ_write(&E, 0, at(heap), 77);
	assert_int_equal(integ_read(&E, 1, at(heap)), 77);
	assert_int_equal(integ_eaccept(&E, 0, at(heap), SI_TRIMMED), SGX_STATUS_ATTRIBUTES_MISMATCH);
}

/* Transitions: REG->TCS needs a page that may be RW (code may not: EPERM); TCS->TCS,
 * TRIM->TRIM, TRIM->TCS are EINVAL; TCS->TRIM is allowed by the driver, but EMODT refuses a
 * page still MODIFIED (result 20). */
static void modify_transitions(void **state)
{
	struct sgx_enclave_modify_types mt = { .offset = code, .length = PG,
					       .page_type = SGX_PT_TCS };

	(void)state;
	assert_errno(sgx2_modify(&E, &mt), EPERM);
	assert_int_equal(mt.count, 0);
	assert_int_equal(mt.result, 0);
	/* The code still runs: EMODT never happened. */
	integ_counter(&E, 0);

	sgx2_modify_ok(&E, heap, PG, SGX_PT_TCS);
	mt = (struct sgx_enclave_modify_types){ .offset = heap, .length = PG, .page_type = SGX_PT_TCS };
	assert_errno(sgx2_modify(&E, &mt), EINVAL);
	assert_int_equal(mt.count, 0);
	mt = (struct sgx_enclave_modify_types){ .offset = heap, .length = PG, .page_type = SGX_PT_TRIM };
	assert_errno(sgx2_modify(&E, &mt), EFAULT);
	assert_int_equal(mt.result, SGX_STATUS_NOT_MODIFIABLE);
	assert_int_equal(mt.count, 0);

	sgx2_modify_ok(&E, heap + PG, PG, SGX_PT_TRIM);
	mt = (struct sgx_enclave_modify_types){ .offset = heap + PG, .length = PG,
						.page_type = SGX_PT_TRIM };
	assert_errno(sgx2_modify(&E, &mt), EINVAL);
	assert_int_equal(mt.count, 0);
	mt = (struct sgx_enclave_modify_types){ .offset = heap + PG, .length = PG,
						.page_type = SGX_PT_TCS };
	assert_errno(sgx2_modify(&E, &mt), EINVAL);
	assert_int_equal(mt.count, 0);
	/* What the enclave must accept for each. */
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_TCS | SI_MODIFIED),
			 SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_eaccept(&E, 0, at(heap + PG), SI_TRIMMED), 0);
}

/* A range with a hole, and a multi-page success. */
static void modify_range(void **state)
{
	struct sgx_enclave_modify_types mt = { .offset = hole - PG, .length = 2 * PG,
					       .page_type = SGX_PT_TRIM };

	(void)state;
	assert_errno(sgx2_modify(&E, &mt), EFAULT);
	assert_int_equal(mt.count, PG);
	assert_int_equal(mt.result, 0);
	assert_int_equal(integ_eaccept(&E, 0, at(hole - PG), SI_TRIMMED), 0);

	sgx2_modify_ok(&E, heap, 2 * PG, SGX_PT_TRIM);
	assert_int_equal(integ_eaccept(&E, 1, at(heap), SI_TRIMMED), 0);
	assert_int_equal(integ_eaccept(&E, 1, at(heap + PG), SI_TRIMMED), 0);
}

static void remove_argument_checks(void **state)
{
	(void)state;
	assert_errno(ioctl(E.fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, integ_unmapped_page()), EFAULT);
	RM_EINVAL(.offset = heap + 8, .length = PG);
	RM_EINVAL(.offset = heap, .length = PG - 8);
	RM_EINVAL(.offset = heap, .length = 0);
	RM_EINVAL(.offset = E.size - PG, .length = 2 * PG);
	RM_EINVAL(.offset = heap, .length = PG, .count = PG);
	RM_EINVAL(.offset = heap, .length = PG, .count = 1);
}

/* REMOVE takes only TRIM pages the enclave has accepted: EPERM for a REG page and for an
 * unaccepted TRIM page (selftest remove_added_page_no_eaccept), EFAULT at a hole. */
static void remove_refusals(void **state)
{
	struct sgx_enclave_remove_pages rm = { .offset = heap, .length = PG };
	uint64_t free0;

	(void)state;
	assert_errno(sgx2_remove(&E, &rm), EPERM);
	assert_int_equal(rm.count, 0);
	rm = (struct sgx_enclave_remove_pages){ .offset = hole + PG, .length = PG };
	assert_errno(sgx2_remove(&E, &rm), EFAULT);
	assert_int_equal(rm.count, 0);
	/* The TCS pages are not TRIM either. */
	rm = (struct sgx_enclave_remove_pages){ .offset = 0, .length = PG };
	assert_errno(sgx2_remove(&E, &rm), EPERM);
	assert_int_equal(rm.count, 0);

	integ_write(&E, 0, at(heap + PG), 0xabc);
	sgx2_modify_ok(&E, heap, 2 * PG, SGX_PT_TRIM);
	assert_int_equal(integ_eaccept(&E, 0, at(heap), SI_TRIMMED), 0);
	free0 = epc_free_pages();
	/* First page accepted, second not: the first goes, then EPERM with count one page. */
	rm = (struct sgx_enclave_remove_pages){ .offset = heap, .length = 2 * PG };
	assert_errno(sgx2_remove(&E, &rm), EPERM);
	assert_int_equal(rm.count, PG);
	assert_int_equal(epc_free_pages(), free0 + 1);
	/* The second is still an unaccepted TRIM page; the first is a hole again, so an
	 * EACCEPT there EAUGs a fresh page (a TRIM page would not match this SECINFO). */
	rm = (struct sgx_enclave_remove_pages){ .offset = heap + PG, .length = PG };
	assert_errno(sgx2_remove(&E, &rm), EPERM);
	assert_int_equal(rm.count, 0);
	assert_int_equal(integ_eaccept(&E, 1, at(heap + PG), SI_TRIMMED), 0);
	sgx2_remove_ok(&E, heap + PG, PG);
	assert_int_equal(epc_free_pages(), free0 + 2);
	assert_int_equal(integ_eaccept(&E, 1, at(heap), SI_AUGMENTED), 0);
	assert_int_equal(integ_read(&E, 0, at(heap)), 0);
	assert_int_equal(epc_free_pages(), free0 + 1);
}

/* The whole life of grown pages: EAUG by EACCEPT, use, TRIM, accept, remove, and the EPC
 * pages come back; a second removal finds a hole. */
static void grow_and_shrink(void **state)
{
	const unsigned n = 8;
	uint64_t free0 = epc_free_pages();
	struct sgx_enclave_remove_pages rm = { .offset = hole, .length = n * PG };

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(integ_eaccept(&E, i % 2, at(hole + i * PG), SI_AUGMENTED), 0);
		integ_write(&E, 0, at(hole + i * PG) + 8 * i, 0x100 + i);
	}
	assert_int_equal(epc_free_pages(), free0 - n);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(integ_read(&E, 1, at(hole + i * PG) + 8 * i), 0x100 + i);
	sgx2_modify_ok(&E, hole, n * PG, SGX_PT_TRIM);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(integ_eaccept(&E, 0, at(hole + i * PG), SI_TRIMMED), 0);
	sgx2_remove_ok(&E, hole, n * PG);
	assert_int_equal(epc_free_pages(), free0);
	assert_errno(sgx2_remove(&E, &rm), EFAULT);
	assert_int_equal(rm.count, 0);
}

/* EACCEPTCOPY fills a PENDING page from another page and gives it the SECINFO's permissions;
 * a page that is not PENDING any more is a mismatch. */
static void eacceptcopy(void **state)
{
	struct test_op op = { .op = TOP_EACCEPTCOPY, .addr = at(hole), .b = at(heap),
			      .a = SI_R | SI_REG };
	struct test_op wr = { .op = TOP_WRITE, .addr = at(hole) + 0x28, .a = 5 };
	struct sgx_enclave_run run;

	(void)state;
	integ_write(&E, 0, at(heap) + 0x28, 0xc0ffee);
	/* The destination is a hole: EAUGed transparently, then filled. */
	integ_call(&E, 1, &op);
	assert_int_equal(op.out, 0);
	assert_int_equal(integ_read(&E, 0, at(hole) + 0x28), 0xc0ffee);
	assert_int_equal(integ_read(&E, 0, at(hole)), integ_read(&E, 0, at(heap)));
	/* R only, as the SECINFO said. */
	integ_call_fault(&E, 0, &wr, &run, 14, PF_SGX_WRITE, at(hole));
	integ_emodpe(&E, 1, at(hole), SI_W);
	integ_resume(&E, 0, &wr);
	assert_int_equal(integ_read(&E, 1, at(hole) + 0x28), 5);
	/* Not PENDING any more. */
	op = (struct test_op){ .op = TOP_EACCEPTCOPY, .addr = at(hole), .b = at(heap),
			       .a = SI_R | SI_W | SI_REG };
	integ_call(&E, 1, &op);
	assert_int_equal(op.out, SGX_STATUS_ATTRIBUTES_MISMATCH);
	assert_int_equal(integ_read(&E, 1, at(hole) + 0x28), 5);
}

/* Before INIT every SGX2 ioctl is EINVAL, and that check comes before the copy of the
 * argument (a bad pointer is EINVAL too). */
static void sgx2_ioctls_before_init(void **state)
{
	struct encl F;
	struct sgx_enclave_restrict_permissions rp = { .offset = 0x2000, .length = PG,
						       .permissions = SI_R };
	struct sgx_enclave_modify_types mt = { .offset = 0x2000, .length = PG,
					       .page_type = SGX_PT_TRIM };
	struct sgx_enclave_remove_pages rm = { .offset = 0x2000, .length = PG };

	(void)state;
	integ_load(&F, 0);
	for (int stage = 0; stage < 3; stage++) {
		if (stage == 0)
			assert_int_equal(encl_open(&F), 0);
		else if (stage == 1)
			assert_int_equal(encl_create(&F), 0);
		else
			assert_int_equal(encl_add_all(&F), 0);
		assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp), EINVAL);
		assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt), EINVAL);
		assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm), EINVAL);
		assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, integ_unmapped_page()),
			     EINVAL);
		assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, integ_unmapped_page()), EINVAL);
		assert_errno(ioctl(F.fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, integ_unmapped_page()), EINVAL);
		assert_int_equal(rp.count, 0);
		assert_int_equal(mt.count, 0);
		assert_int_equal(rm.count, 0);
	}
	encl_free(&F);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(cpuid_reports_sgx2),
		T(restrict_argument_checks),
		T(restrict_range_end),
		T(restrict_tcs_page),
		T(restrict_then_eaccept),
		T(restrict_range_with_hole),
		T(modify_pending_page),
		T(modify_argument_checks),
		T(modify_bad_page_types),
		T(modify_transitions),
		T(modify_range),
		T(remove_argument_checks),
		T(remove_refusals),
		T(grow_and_shrink),
		T(eacceptcopy),
		cmocka_unit_test(sgx2_ioctls_before_init),
	};

	return cmocka_run_group_tests_name("edmm", tests, NULL, NULL);
}
