/* Shared helpers of the integration tests (each test is its own program, run under
 * `sgxemu run`, with cmocka). The test enclave and the signing key are found in
 * ../encl/ relative to the test binary, or in $SGXEMU_TEST_ENCL_DIR. */
#ifndef SGXEMU_TESTS_INTEG_H
#define SGXEMU_TESTS_INTEG_H

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integ/encl/test_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

#define PG 4096UL

/* Line-buffered stdout: a test that crashes must not take its earlier TAP lines with it.
 * CMOCKA_TEST_FILTER=PATTERN runs only the tests whose names match (for debugging). */
__attribute__((constructor)) static void integ_stdout_line_buffered(void)
{
	const char *filter = getenv("CMOCKA_TEST_FILTER");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (filter && *filter)
		cmocka_set_test_filter(filter);
}

/* Tests of system calls made without libc need sgxemu's seccomp filter: skip them where the
 * user turned it off (SGXEMU_SYSCALL_FILTER=off). In the default "auto" setting a test binary
 * with SYSCALL instructions of its own gets it. */
static inline bool integ_filter_off(void)
{
	const char *v = getenv("SGXEMU_SYSCALL_FILTER");

#ifdef SGXEMU_TSAN
	/* ThreadSanitizer builds have no filter (host/preload.c). */
	return true;
#endif

	return v && (!strcmp(v, "off") || !strcmp(v, "0"));
}

#define integ_need_filter()                                                                        \
	do {                                                                                       \
		if (integ_filter_off())                                                            \
			skip();                                                                    \
	} while (0)

/* A test ThreadSanitizer cannot run (why: a string for the reader): skipped in TSAN=1 builds. */
#ifdef SGXEMU_TSAN
#define integ_skip_under_tsan(why) skip()
#else
#define integ_skip_under_tsan(why) ((void)(why))
#endif

/* Assert that expr fails with -1 and errno err. */
#define assert_errno(expr, err)                                                                    \
	do {                                                                                       \
		errno = 0;                                                                         \
		long integ_rc_ = (long)(expr);                                                     \
		int integ_errno_ = errno;                                                          \
		assert_int_equal(integ_rc_, -1);                                                   \
		assert_int_equal(integ_errno_, (err));                                             \
	} while (0)

/* Assert that mmap(...) fails with err. */
#define assert_mmap_errno(expr, err)                                                               \
	do {                                                                                       \
		errno = 0;                                                                         \
		void *integ_p_ = (expr);                                                           \
		int integ_errno_ = errno;                                                          \
		assert_ptr_equal(integ_p_, MAP_FAILED);                                            \
		assert_int_equal(integ_errno_, (err));                                             \
	} while (0)

static inline const char *integ_file(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("SGXEMU_TEST_ENCL_DIR");
	char rel[64];

	if (dir && *dir) {
		snprintf(buf, len, "%s/%s", dir, name);
		return buf;
	}
	snprintf(rel, sizeof(rel), "../encl/%s", name);
	if (!encl_path_near_exe(rel, buf, len))
		fail_msg("cannot locate %s next to the test binary", name);
	return buf;
}

static inline EVP_PKEY *integ_key(void)
{
	static EVP_PKEY *key;
	char path[PATH_MAX];

	if (!key) {
		key = sign_load_key(integ_file("test_key.pem", path, sizeof(path)));
		if (!key)
			fail_msg("cannot load the signing key %s", path);
	}
	return key;
}

/* Read the test enclave's image into e (nothing built yet). */
static inline void integ_load(struct encl *e, size_t heap)
{
	char path[PATH_MAX];

	if (encl_load(e, integ_file("test_encl.elf", path, sizeof(path)), heap) < 0)
		fail_msg("%s", e->err);
}

static inline void integ_build(struct encl *e, size_t heap)
{
	integ_load(e, heap);
	if (encl_build(e, integ_key()) < 0)
		fail_msg("building the test enclave: %s (errno %d)", e->err, errno);
}

/* EENTER TCS tcs with op; asserts a clean EEXIT after the op ran to its end. */
static inline void integ_call(const struct encl *e, unsigned tcs, struct test_op *op)
{
	struct sgx_enclave_run run;
	int rc;

	op->done = 0;
	rc = encl_enter(e, tcs, op, &run);
	if (rc != 0 || run.function != ENCLU_EEXIT)
		fail_msg("ecall op %llu on TCS %u: vDSO returned %d, function %u, vector %u, "
			 "error %#x, address %#llx",
			 (unsigned long long)op->op, tcs, rc, run.function, run.exception_vector,
			 run.exception_error_code, (unsigned long long)run.exception_addr);
	assert_int_equal(op->done, 1);
	assert_int_equal(op->tcs, encl_tcs(e, tcs));
}

static inline uint64_t integ_read(const struct encl *e, unsigned tcs, uint64_t addr)
{
	struct test_op op = { .op = TOP_READ, .addr = addr };

	integ_call(e, tcs, &op);
	return op.out;
}

static inline void integ_write(const struct encl *e, unsigned tcs, uint64_t addr, uint64_t v)
{
	struct test_op op = { .op = TOP_WRITE, .addr = addr, .a = v };

	integ_call(e, tcs, &op);
}

static inline uint64_t integ_counter(const struct encl *e, unsigned tcs)
{
	struct test_op op = { .op = TOP_COUNTER };

	integ_call(e, tcs, &op);
	return op.out;
}

/* Where the enclave's scratch pages are (it reports its own view of its addresses). */
static inline uint64_t integ_scratch(const struct encl *e)
{
	struct test_op op = { .op = TOP_INFO };

	integ_call(e, 0, &op);
	assert_int_equal(op.base, e->base);
	assert_true(op.scratch > e->base && op.scratch < e->base + e->size);
	assert_int_equal(op.scratch % PG, 0);
	return op.scratch;
}

/* A page-aligned address that is never mapped: Linux keeps the last page below 2^47 out of
 * every address space (TASK_SIZE_MAX). A page unmapped just now could be reused by the code
 * under test before it looks at the address. */
static inline void *integ_unmapped_page(void)
{
	void *p = (void *)0x7ffffffff000UL;
	unsigned char vec;

	assert_int_equal(mincore(p, PG, &vec), -1);
	assert_int_equal(errno, ENOMEM);
	return p;
}

#endif
