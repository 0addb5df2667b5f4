/* mremap(2) of enclave memory answers as Linux 6.12 answers for the driver's VMAs
 * (VM_PFNMAP|VM_DONTEXPAND, shared): it never makes a second mapping of the same EPC (growing
 * is EFAULT, the "duplicate" case old_len = 0 included), MREMAP_DONTUNMAP is EINVAL, a shrink
 * unmaps the tail, and a same-size MREMAP_FIXED moves the mapping. Ordinary memory moved over
 * enclave mappings replaces them for the driver too. The enclave's data survives all of it. */
#include "tests/integ/integ.h"

#include <stdbool.h>

static struct encl E;
static uint64_t scratch; /* two data pages of the enclave */

static int group_setup(void **state)
{
	(void)state;
	integ_build(&E, 0);
	scratch = integ_scratch(&E);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	encl_free(&E);
	return 0;
}

/* Before each test: the whole data segment mapped as the loader maps it, known values in the
 * scratch words. After: the values are still there. */
static int fill(void **state)
{
	(void)state;
	assert_int_equal(encl_map(&E), 0);
	integ_write(&E, 0, scratch, 0x1111);
	integ_write(&E, 1, scratch + PG, 0x2222);
	return 0;
}

static int intact(void **state)
{
	(void)state;
	assert_int_equal(encl_map(&E), 0);
	assert_int_equal(integ_read(&E, 1, scratch), 0x1111);
	assert_int_equal(integ_read(&E, 0, scratch + PG), 0x2222);
	return 0;
}

static void *sp(void)
{
	return (void *)(uintptr_t)scratch;
}

static bool mapped(const void *p)
{
	unsigned char vec;

	return mincore((void *)((uintptr_t)p & ~(PG - 1)), PG, &vec) == 0;
}

/* mremap(addr, 0, len, MREMAP_MAYMOVE) "duplicates" a shared mapping; for the driver's VMAs
 * it is a growth, refused with EFAULT: no alias of the EPC appears. */
static void duplicate_refused(void **state)
{
	(void)state;
	assert_mmap_errno(mremap(sp(), 0, PG, MREMAP_MAYMOVE), EFAULT);
	assert_mmap_errno(mremap(sp(), 0, 2 * PG, MREMAP_MAYMOVE), EFAULT);
}

/* Growing, in place or moving: EFAULT. DONTUNMAP: EINVAL. The same size: the address. */
static void grow_and_dontunmap_refused(void **state)
{
	void *dst = integ_unmapped_page();

	(void)state;
	assert_mmap_errno(mremap(sp(), PG, 2 * PG, 0), EFAULT);
	assert_mmap_errno(mremap(sp(), PG, 4 * PG, MREMAP_MAYMOVE), EFAULT);
	assert_mmap_errno(mremap(sp(), PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, dst), EINVAL);
	assert_ptr_equal(mremap(sp(), PG, PG, 0), sp());
	assert_false(mapped(dst));
}

/* A shrink unmaps the tail and keeps the head. */
static void shrink_unmaps_tail(void **state)
{
	(void)state;
	assert_ptr_equal(mremap(sp(), 2 * PG, PG, 0), sp());
	assert_true(mapped(sp()));
	assert_false(mapped((char *)sp() + PG));
	assert_int_equal(integ_read(&E, 0, scratch), 0x1111);
}

/* MREMAP_FIXED of the same size moves the mapping: nothing is left at the old address, and
 * the new one (a hole of ELRANGE) is an enclave mapping (madvise answers as for one). The
 * data stays with its address. */
static void fixed_move(void **state)
{
	uint64_t end = E.seg[E.nseg - 1].offset + E.seg[E.nseg - 1].size;
	void *hole = (void *)(uintptr_t)(E.base + end);

	(void)state;
	assert_true(end + PG <= E.size);
	assert_ptr_equal(mremap(sp(), PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole), hole);
	assert_false(mapped(sp()));
	assert_true(mapped(hole));
	assert_errno(madvise(hole, PG, MADV_DONTNEED), EINVAL);
	assert_int_equal(munmap(hole, PG), 0);
	/* Give ELRANGE's reservation back its hole. */
	assert_ptr_equal(mmap(hole, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			 hole);
}

/* Ordinary memory moved over an enclave mapping replaces it, for the driver too: the page is
 * the program's afterwards (its mprotect and madvise are ordinary ones). */
static void ordinary_moved_over_enclave(void **state)
{
	uint8_t *anon = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *dst = (uint8_t *)sp() + PG;

	(void)state;
	assert_ptr_not_equal(anon, MAP_FAILED);
	memset(anon, 0x77, PG);
	assert_ptr_equal(mremap(anon, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst), dst);
	assert_int_equal(mprotect(dst, PG, PROT_READ), 0);
	assert_int_equal(dst[100], 0x77);
	assert_int_equal(madvise(dst, PG, MADV_DONTNEED), 0);
	assert_int_equal(dst[100], 0);
	assert_int_equal(munmap(dst, PG), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fill, intact)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(duplicate_refused),
		T(grow_and_dontunmap_refused),
		T(shrink_unmaps_tail),
		T(fixed_move),
		T(ordinary_moved_over_enclave),
	};

	return cmocka_run_group_tests_name("mremap", tests, group_setup, group_teardown);
}
