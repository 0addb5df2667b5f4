/* The demo enclave's calls: the host passes a pointer to one struct demo_call in RDI. The
 * struct lives in host memory; the enclave reads the request from it and writes the reply. */
#ifndef SGXEMU_DEMO_ENCL_H
#define SGXEMU_DEMO_ENCL_H

#include <stdint.h>

enum demo_op {
	DEMO_GREET = 1,    /* copy a greeting into buf (at most len bytes, NUL-terminated) */
	DEMO_COUNT = 2,    /* increment the enclave's counter; out = new value */
	DEMO_CHECKSUM = 3, /* out = FNV-1a 64 of len bytes at buf */
	DEMO_SET_SECRET = 4, /* store in as the secret; allowed once */
	DEMO_GUESS = 5,    /* out = 0 if in is the secret, 1 if too high, -1 if too low */
};

enum demo_status {
	DEMO_OK = 0,
	DEMO_EINVAL = 1, /* unknown op or bad argument */
	DEMO_EPERM = 2,  /* secret already set, or not set yet */
};

struct demo_call {
	uint32_t op;
	uint32_t status;
	uint64_t in;
	uint64_t out;
	uint64_t buf;
	uint64_t len;
};

#define DEMO_FNV_OFFSET 0xcbf29ce484222325ULL
#define DEMO_FNV_PRIME 0x100000001b3ULL

#endif
