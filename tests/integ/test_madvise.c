/* madvise(2) on enclave memory answers as Linux 6.12 answers for the driver's VMAs
 * (VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP, a character device file) and never drops EPC
 * contents: the advices that would free or zap pages are refused, MADV_REMOVE cannot punch
 * a hole into the device. A range over enclave and other memory is walked VMA by VMA in
 * address order, the first error ending the walk. */
#include "tests/integ/integ.h"

#include <sys/wait.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

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

/* The enclave's two scratch words, written before and checked after each test. */
static int fill(void **state)
{
	(void)state;
	integ_write(&E, 0, scratch, 0x1111);
	integ_write(&E, 1, scratch + PG, 0x2222);
	return 0;
}

static int intact(void **state)
{
	(void)state;
	assert_int_equal(integ_read(&E, 1, scratch), 0x1111);
	assert_int_equal(integ_read(&E, 0, scratch + PG), 0x2222);
	return 0;
}

static void *sp(void)
{
	return (void *)(uintptr_t)scratch;
}

/* MADV_REMOVE would punch a hole into the memory behind the mapping: for the device file it
 * is ENODEV, and the enclave's data stays. */
static void remove_keeps_epc(void **state)
{
	(void)state;
	assert_errno(madvise(sp(), 2 * PG, MADV_REMOVE), ENODEV);
}

/* Everything that would zap, free, page out, populate or collapse pages of a VM_PFNMAP
 * mapping is EINVAL, as are the flag changes a VM_IO/VM_SPECIAL file VMA refuses. */
static void dropping_advice_einval(void **state)
{
	static const int advices[] = {
		MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_COLD, MADV_PAGEOUT,
		MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_COLLAPSE, MADV_DOFORK, MADV_DODUMP,
		MADV_WIPEONFORK,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++) {
		errno = 0;
		if (madvise(sp(), 2 * PG, advices[i]) != -1 || errno != EINVAL)
			fail_msg("advice %d: errno %d, want EINVAL", advices[i], errno);
	}
}

/* Advice that only sets VMA flags is accepted. */
static void flag_advice_ok(void **state)
{
	static const int advices[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTDUMP,
		MADV_KEEPONFORK, MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++)
		if (madvise(sp(), 2 * PG, advices[i]) != 0)
			fail_msg("advice %d: errno %d, want success", advices[i], errno);
}

/* In ELRANGE's hole after the image: an anonymous page H0 followed by an enclave mapping
 * H1. [H0, H1] with MADV_DONTNEED: H0 (first in the walk) is zapped, then EINVAL at H1.
 * [last data page, H0]: EINVAL at the enclave page, and H0 is not reached. */
static void mixed_range_walks_in_order(void **state)
{
	uint64_t end = E.seg[E.nseg - 1].offset + E.seg[E.nseg - 1].size;
	uint8_t *h0 = (uint8_t *)(uintptr_t)(E.base + end), *h1 = h0 + PG;

	(void)state;
	assert_true(end + 2 * PG <= E.size);
	assert_ptr_equal(mmap(h0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			      -1, 0), h0);
	assert_ptr_equal(mmap(h1, PG, PROT_READ, MAP_SHARED | MAP_FIXED, E.fd, 0), h1);
	memset(h0, 0x55, PG);
	assert_errno(madvise(h0 - PG, 2 * PG, MADV_DONTNEED), EINVAL);
	assert_int_equal(h0[100], 0x55);
	assert_errno(madvise(h0, 2 * PG, MADV_DONTNEED), EINVAL);
	assert_int_equal(h0[100], 0);
	/* Restore the reservation. */
	assert_ptr_equal(mmap(h0, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
			 h0);
}

/* MADV_DONTFORK: a forked child does not get the mapping at all (nothing is mapped there),
 * while the enclave's other mappings are inherited (dead, but present). */
static void dontfork_not_inherited(void **state)
{
	void *code = encl_seg_addr(&E, 1);
	unsigned char vec[2];
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(madvise(sp(), 2 * PG, MADV_DONTFORK), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = 0;

		if (mincore(sp(), 2 * PG, vec) != -1 || errno != ENOMEM)
			rc |= 1;
		if (mincore(code, PG, vec) != 0)
			rc |= 2;
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fill, intact)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(remove_keeps_epc),
		T(dropping_advice_einval),
		T(flag_advice_ok),
		T(mixed_range_walks_in_order),
		T(dontfork_not_inherited),
	};

	return cmocka_run_group_tests_name("madvise", tests, group_setup, group_teardown);
}
