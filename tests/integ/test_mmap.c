/* mmap and mprotect of /dev/sgx_enclave (the kernel's sgx_mmap and sgx_vma_mprotect):
 * MAP_SHARED only, no permission beyond what each added page allows, nothing outside ELRANGE
 * after INIT. After every test a bystander enclave must still work with its state intact. */
#include "tests/integ/integ.h"

#include <fcntl.h>
#include <sys/personality.h>

static struct encl A;
static uint64_t a_counter;

static int group_setup(void **state)
{
	(void)state;
	integ_build(&A, 0);
	a_counter = integ_counter(&A, 0);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	encl_free(&A);
	return 0;
}

static int still_healthy(void **state)
{
	(void)state;
	assert_int_equal(integ_counter(&A, 1), ++a_counter);
	return 0;
}

#define RW (PROT_READ | PROT_WRITE)
#define RX (PROT_READ | PROT_EXEC)
#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)

static void *map_at(const struct encl *e, uint64_t offset, uint64_t len, int prot)
{
	return mmap((void *)(uintptr_t)(e->base + offset), len, prot, MAP_SHARED | MAP_FIXED,
		    e->fd, 0);
}

/* A fresh enclave fd (no ECREATE) maps anywhere with any protection, MAP_SHARED only. */
static void fresh_fd(void **state)
{
	static const int prots[] = { PROT_READ, PROT_EXEC, RW, RWX, PROT_NONE };
	int fd = open("/dev/sgx_enclave", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		void *p = mmap(NULL, PG, prots[i], MAP_SHARED, fd, 0);

		assert_ptr_not_equal(p, MAP_FAILED);
		assert_int_equal(munmap(p, PG), 0);
	}
	assert_mmap_errno(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0), EINVAL);
	close(fd);
}

/* MAP_PRIVATE is refused in every state, also with MAP_FIXED over a live enclave mapping,
 * which must survive (the bystander's counter lives in that data segment). */
static void private_refused(void **state)
{
	struct encl e;

	(void)state;
	integ_load(&e, 0);
	if (encl_create(&e) < 0)
		fail_msg("%s", e.err);
	assert_mmap_errno(mmap((void *)(uintptr_t)e.base, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED,
			       e.fd, 0),
			  EINVAL);
	assert_mmap_errno(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, A.fd, 0), EINVAL);
	assert_mmap_errno(mmap(encl_seg_addr(&A, 2), A.seg[2].size, RW, MAP_PRIVATE | MAP_FIXED,
			       A.fd, 0),
			  EINVAL);
	encl_free(&e);
}

/* Before INIT: each added page caps the protections of any mapping that covers it (TCS: RW,
 * code: RX); holes can be mapped with anything; mprotect follows the same rules and may
 * always reduce. */
static void max_protections_before_init(void **state)
{
	struct encl e;
	uint64_t text = 0x2000, data = 0x3000;

	(void)state;
	integ_load(&e, 0);
	if (encl_create(&e) < 0 || encl_add_seg(&e, 0) < 0 || encl_add_seg(&e, 1) < 0)
		fail_msg("%s", e.err);
	assert_int_equal(e.seg[1].offset, text);
	assert_int_equal(e.seg[2].offset, data);

	assert_mmap_errno(map_at(&e, text, PG, RW), EACCES);
	assert_mmap_errno(map_at(&e, text, PG, RWX), EACCES);
	assert_mmap_errno(map_at(&e, 0, 2 * PG, RWX), EACCES);     /* TCS: no X */
	assert_mmap_errno(map_at(&e, 0, 2 * PG, RX), EACCES);
	assert_mmap_errno(map_at(&e, PG, 2 * PG, RW), EACCES);     /* TCS + code: no W */

	assert_ptr_equal(map_at(&e, text, PG, RX), (void *)(uintptr_t)(e.base + text));
	assert_ptr_equal(map_at(&e, 0, 2 * PG, RW), (void *)(uintptr_t)e.base);
	assert_ptr_equal(map_at(&e, data, e.seg[2].size, RWX), (void *)(uintptr_t)(e.base + data));

	assert_errno(mprotect((void *)(uintptr_t)(e.base + text), PG, RWX), EACCES);
	assert_errno(mprotect((void *)(uintptr_t)(e.base + text), PG, RW), EACCES);
	assert_errno(mprotect((void *)(uintptr_t)e.base, 2 * PG, RWX), EACCES);
	assert_int_equal(mprotect((void *)(uintptr_t)(e.base + text), PG, PROT_READ), 0);
	assert_int_equal(mprotect((void *)(uintptr_t)(e.base + text), PG, PROT_NONE), 0);
	assert_int_equal(mprotect((void *)(uintptr_t)(e.base + text), PG, RX), 0);
	assert_int_equal(mprotect((void *)(uintptr_t)e.base, 2 * PG, PROT_READ), 0);
	assert_int_equal(mprotect((void *)(uintptr_t)e.base, 2 * PG, RW), 0);

	/* Not yet created mappings anywhere are fine before INIT, too. */
	{
		void *p = mmap(NULL, PG, RWX, MAP_SHARED, e.fd, 0);

		assert_ptr_not_equal(p, MAP_FAILED);
		munmap(p, PG);
	}
	encl_free(&e);
}

/* After INIT: no mapping outside ELRANGE, and the per-page caps still hold for mprotect. */
static void after_init(void **state)
{
	(void)state;
	assert_mmap_errno(mmap(NULL, PG, PROT_READ, MAP_SHARED, A.fd, 0), EACCES);
	assert_mmap_errno(mmap(NULL, A.size, PROT_READ, MAP_SHARED, A.fd, 0), EACCES);
	assert_errno(mprotect(encl_seg_addr(&A, 1), PG, RWX), EACCES);
	assert_errno(mprotect(encl_seg_addr(&A, 1), PG, RW), EACCES);
	assert_errno(mprotect(encl_seg_addr(&A, 0), PG, RWX), EACCES);
	assert_errno(mprotect(encl_seg_addr(&A, 2), PG, RWX), EACCES);
	/* Mapping a segment again inside ELRANGE with what it allows is fine. */
	assert_ptr_equal(mmap(encl_seg_addr(&A, 2), A.seg[2].size, RW, MAP_SHARED | MAP_FIXED,
			      A.fd, 0),
			 encl_seg_addr(&A, 2));
	assert_int_equal(mprotect(encl_seg_addr(&A, 1), PG, PROT_READ), 0);
	assert_int_equal(mprotect(encl_seg_addr(&A, 1), PG, RX), 0);
}

/* A hole inside ELRANGE of an initialised enclave may be mapped with any protection. */
static void hole_after_init(void **state)
{
	struct encl e;
	void *hole;

	(void)state;
	integ_build(&e, 0);
	hole = (void *)(uintptr_t)(e.base + e.size - PG);
	assert_true(e.seg[e.nseg - 1].offset + e.seg[e.nseg - 1].size < e.size);
	assert_ptr_equal(mmap(hole, PG, RWX, MAP_SHARED | MAP_FIXED, e.fd, 0), hole);
	assert_int_equal(munmap(hole, PG), 0);
	integ_counter(&e, 0);
	encl_free(&e);
}

/* The fd's open mode limits its mappings as it does for any file (do_mmap): a shared
 * writable mapping needs write access and every mapping read access; the mapping of a
 * read-only fd cannot get PROT_WRITE from mprotect either (no VM_MAYWRITE). */
static void fd_access_mode(void **state)
{
	int ro = open("/dev/sgx_enclave", O_RDONLY), wo = open("/dev/sgx_enclave", O_WRONLY);
	void *p;

	(void)state;
	assert_true(ro >= 0 && wo >= 0);
	assert_mmap_errno(mmap(NULL, PG, RW, MAP_SHARED, ro, 0), EACCES);
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_errno(mprotect(p, PG, RW), EACCES);
	assert_int_equal(mprotect(p, PG, PROT_NONE), 0);
	assert_int_equal(munmap(p, PG), 0);
	assert_mmap_errno(mmap(NULL, PG, PROT_READ, MAP_SHARED, wo, 0), EACCES);
	assert_mmap_errno(mmap(NULL, PG, PROT_WRITE, MAP_SHARED, wo, 0), EACCES);
	close(ro);
	close(wo);
}

/* MAP_FIXED_NOREPLACE never replaces (EEXIST, the mapping stays), and MAP_SHARED_VALIDATE
 * refuses flags a device file does not support. */
static void fixed_noreplace_and_validate(void **state)
{
	void *data = encl_seg_addr(&A, 2);

	(void)state;
	assert_mmap_errno(mmap(data, PG, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, A.fd, 0), EEXIST);
	assert_mmap_errno(mmap(data, PG, RW, MAP_SHARED_VALIDATE | MAP_FIXED | MAP_SYNC, A.fd, 0),
			  EOPNOTSUPP);
}

/* sgx_encl_may_map refuses READ_IMPLIES_EXEC tasks: every mmap of the enclave file and every
 * mprotect of its mappings, PROT_NONE included. */
static void read_implies_exec(void **state)
{
	int old = personality(0xffffffff), fd = open("/dev/sgx_enclave", O_RDWR);
	int map_errno, prot_errno;
	void *p;

	(void)state;
	assert_true(old >= 0 && fd >= 0);
	personality((unsigned long)old | READ_IMPLIES_EXEC);
	errno = 0;
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	map_errno = errno;
	errno = 0;
	prot_errno = mprotect(encl_seg_addr(&A, 2), A.seg[2].size, PROT_NONE) ? errno : 0;
	personality((unsigned long)old);
	assert_ptr_equal(p, MAP_FAILED);
	assert_int_equal(map_errno, EACCES);
	assert_int_equal(prot_errno, EACCES);
	close(fd);
}

#define T(f) cmocka_unit_test_teardown(f, still_healthy)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(fresh_fd),
		T(private_refused),
		T(max_protections_before_init),
		T(after_init),
		T(hole_after_init),
		T(fd_access_mode),
		T(fixed_noreplace_and_validate),
		T(read_implies_exec),
	};

	return cmocka_run_group_tests_name("mmap", tests, group_setup, group_teardown);
}
