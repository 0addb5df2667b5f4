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
	/* SGX2 leaves, with SECINFO.FLAGS = a built on the enclave stack (64-byte aligned). */
	TOP_EACCEPT = 9,      /* EACCEPT page addr; out = RAX (the SGX status code) */
	TOP_EMODPE = 10,      /* EMODPE page addr; out = 0 (the leaf has no status) */
	TOP_EACCEPTCOPY = 11, /* EACCEPTCOPY to page addr from page b; out = RAX */
	/* Whole-range operations on [addr, addr + a), page aligned, seed b. */
	TOP_FILL = 12,        /* every 64-bit word of every page := test_pattern(b, page, word),
			       * pages visited in a pseudo-random order of the seed; out = pages */
	TOP_VERIFY = 13,      /* reads TOP_FILL's pattern back in another order; out = pages with
			       * a wrong word, aux = address of the first wrong word (0: none) */
	TOP_EACCEPT_RANGE = 14, /* EACCEPT every page in address order with SECINFO.FLAGS = b;
				 * out = pages whose RAX was not 0, aux = the first such RAX */
	/* Loops for concurrency tests: entered = 1 first; the flag is *(u64 *)addr or b. */
	TOP_READLOOP = 15,    /* until *(u64 *)b != 0: read *(u64 *)addr, count reads != a in
			       * out and all reads in aux (updated every round) */
	TOP_SPIN_WRITE = 16,  /* spin until *(u64 *)addr != 0, then *(u64 *)b = a; out = flag */
	/* Extended state across an exception: load the vector registers with test_vreg(a, i)
	 * words (b = TEST_VREGS_YMM: YMM0-15; TEST_VREGS_ZMM: ZMM0-31 and k0-7), then write a to
	 * *(u64 *)addr (the host makes that fault), then store the registers again; out = words
	 * that changed, aux = 1 + index of the first one (0: none). */
	TOP_VREGS = 17,
	/* AEX-Notify (the host gave the TCS FLAGS.AEXNOTIFY and NSSA 2): set the current SSA
	 * frame's GPRSGX.AEXNOTIFY opt-in to b, then write a to *(u64 *)addr; out = 1 after. */
	TOP_NOTIFY_ARM = 18,
	/* The notification ERESUME delivers: out = CSSA at entry, aux = the interrupted frame's
	 * AEXNOTIFY byte; then EDECCSSA pops that frame (unless b) and the call returns. */
	TOP_NOTIFY_HANDLER = 19,
};

#define TEST_VREGS_YMM 1
#define TEST_VREGS_ZMM 2
/* Words: YMM/ZMM i is words [i * 8, i * 8 + 8) (YMM uses the first 4), k j is word 256 + j. */
#define TEST_VREGS_WORDS (32 * 8 + 8)

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
	uint64_t aux;        /* a second result (TOP_VERIFY, TOP_EACCEPT_RANGE, TOP_READLOOP) */
};

#define TEST_SCRATCH_PAGES 2

/* The word TOP_FILL writes at word w (0..511) of page number pg (from the range start). A
 * splitmix64 step over (seed, pg), so that pages of different seeds or places differ. */
static inline uint64_t test_pattern(uint64_t seed, uint64_t pg, uint64_t w)
{
	uint64_t z = seed * 0x9E3779B97F4A7C15ULL + (pg + 1) * 0xBF58476D1CE4E5B9ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return (z ^ (z >> 31)) + w;
}

/* The word the enclave loads into vector-register word i for seed. */
static inline uint64_t test_vreg(uint64_t seed, uint64_t i)
{
	return test_pattern(seed, 1000 + i, i);
}

#endif
