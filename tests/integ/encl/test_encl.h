/* Operations of the integration-test enclave. The host passes a pointer to a struct test_op
 * (in host memory) in RDI; the enclave reads and writes it in place. */
#ifndef SGXEMU_TEST_ENCL_H
#define SGXEMU_TEST_ENCL_H

#include <stdint.h>

enum test_op_code {
	TOP_NOP = 0,
	TOP_ADD = 1,     /* out = a + b */
	TOP_READ = 2,    /* out = *(u64 *)addr (any address: enclave or host memory) */
	TOP_WRITE = 3,   /* *(u64 *)addr = a */
	TOP_COUNTER = 4, /* atomically increments the enclave's counter; out = new value */
	TOP_SPIN = 5,    /* entered = 1, then spin until *(u64 *)addr != 0; out = that value */
	TOP_UD2 = 6,     /* executes UD2 (#UD inside the enclave) */
	TOP_INFO = 7,    /* fills base, scratch, end */
	TOP_CHECKSUM = 8, /* out = sum of a bytes at addr */
};

struct test_op {
	uint64_t op;
	uint64_t a, b;
	uint64_t addr;
	uint64_t out;
	uint64_t tcs;        /* the TCS this call ran on (written by every op) */
	uint64_t entered;    /* TOP_SPIN: set once inside */
	uint64_t base;       /* TOP_INFO: enclave base as the enclave sees it */
	uint64_t scratch;    /* TOP_INFO: two page-aligned scratch pages in the data segment */
	uint64_t end;        /* TOP_INFO: end of the image (start of the heap, if any) */
	uint64_t done;       /* set to 1 last by every op that returns */
};

#define TEST_SCRATCH_PAGES 2

#endif
