/* The integration tests' enclave: small operations that exercise entry, exit, shared memory,
 * concurrency and exceptions. Freestanding, like the demo enclave, with the same bootstrap. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy, memset: demo/encl_libc.c */

#include "tests/integ/encl/test_encl.h"

/* The vector registers to and from memory. The enclave is built for general registers only,
 * so nothing the compiler emits between these touches them. */
static void vregs_load(const uint64_t *w, uint64_t kind)
{
	if (kind == TEST_VREGS_ZMM)
		__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
				 "vmovdqu64 \\i*64(%0), %%zmm\\i\n"
				 ".endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n"
				 "kmovq (256+\\i)*8(%0), %%k\\i\n"
				 ".endr"
				 : : "r"(w) : "memory");
	else
		__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
				 "vmovdqu \\i*64(%0), %%ymm\\i\n"
				 ".endr"
				 : : "r"(w) : "memory");
}

static void vregs_store(uint64_t *w, uint64_t kind)
{
	if (kind == TEST_VREGS_ZMM)
		__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
				 "vmovdqu64 %%zmm\\i, \\i*64(%0)\n"
				 ".endr\n"
				 ".irp i,0,1,2,3,4,5,6,7\n"
				 "kmovq %%k\\i, (256+\\i)*8(%0)\n"
				 ".endr"
				 : : "r"(w) : "memory");
	else
		__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
				 "vmovdqu %%ymm\\i, \\i*64(%0)\n"
				 ".endr"
				 : : "r"(w) : "memory");
}

static void vregs(volatile struct test_op *op)
{
	uint64_t in[TEST_VREGS_WORDS], out[TEST_VREGS_WORDS];
	uint64_t kind = op->b, seed = op->a, bad = 0, first = 0;

	for (uint64_t i = 0; i < TEST_VREGS_WORDS; i++) {
		/* YMM mode compares 4 words of each of 16 registers. */
		bool used = kind == TEST_VREGS_ZMM ? true : (i < 16 * 8 && i % 8 < 4);

		in[i] = used ? test_vreg(seed, i) : 0;
		out[i] = 0;
	}
	vregs_load(in, kind);
	*(volatile uint64_t *)(uintptr_t)op->addr = seed;
	vregs_store(out, kind);
	for (uint64_t i = 0; i < TEST_VREGS_WORDS; i++) {
		if (out[i] != in[i]) {
			if (!bad)
				first = i + 1;
			bad++;
		}
	}
	op->out = bad;
	op->aux = first;
}

void encl_main(void *arg, uint64_t tcs, uint64_t cssa, uint8_t *gprsgx);

extern char __encl_base[], __encl_end[];

static uint64_t counter;
/* Non-zero contents keep a pattern the tests can read back through TOP_READ. */
static uint8_t scratch[TEST_SCRATCH_PAGES][4096] __attribute__((aligned(4096))) = { { 1 } };

static uint64_t checksum(const uint8_t *p, uint64_t n)
{
	uint64_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* SGX2 ENCLU leaves: RBX = SECINFO, RCX = page, RDX = source (EACCEPTCOPY). */
#define ENCLU_EACCEPT 5
#define ENCLU_EMODPE 6
#define ENCLU_EACCEPTCOPY 7

struct secinfo {
	uint64_t flags;
	uint64_t reserved[7];
} __attribute__((aligned(64)));

static uint64_t enclu3(uint64_t leaf, uint64_t flags, uint64_t rcx, uint64_t rdx)
{
	/* On this stack: the leaf reads it as an enclave operand (readable REG page). */
	struct secinfo si = { .flags = flags };
	uint64_t rax = leaf;

	__asm__ volatile(".byte 0x0f, 0x01, 0xd7"
			 : "+a"(rax)
			 : "b"(&si), "c"(rcx), "d"(rdx)
			 : "memory", "cc");
	return rax;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* A permutation of 0..n-1 chosen by salt: i -> (m * i + c) mod n with gcd(m, n) = 1. */
struct perm {
	uint64_t m, c, n;
};

static struct perm perm_of(uint64_t seed, uint64_t salt, uint64_t n)
{
	struct perm p = { .n = n };

	p.m = test_pattern(seed, salt, 0) % n;
	while (p.m == 0 || gcd(p.m, n) != 1)
		p.m = p.m + 1 < n ? p.m + 1 : 1;
	p.c = test_pattern(seed, salt + 1, 0) % n;
	return p;
}

/* n < 2^32 (a range below 16 TiB), so m * i fits in 64 bits. */
static uint64_t perm_at(const struct perm *p, uint64_t i)
{
	uint64_t v = p->m * i % p->n + p->c;

	return v < p->n ? v : v - p->n;
}

static uint64_t fill(uint64_t start, uint64_t len, uint64_t seed)
{
	uint64_t n = len / 4096;
	struct perm p;

	if (!n)
		return 0;
	p = perm_of(seed, 0x100, n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pg = perm_at(&p, i);
		volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)(start + pg * 4096);

		for (uint64_t k = 0; k < 512; k++)
			w[k] = test_pattern(seed, pg, k);
	}
	return n;
}

static uint64_t verify(uint64_t start, uint64_t len, uint64_t seed, uint64_t *first_bad)
{
	uint64_t n = len / 4096, bad = 0;
	struct perm p;

	*first_bad = 0;
	if (!n)
		return 0;
	p = perm_of(seed, 0x200, n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pg = perm_at(&p, i);
		volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)(start + pg * 4096);
		int page_bad = 0;

		for (uint64_t k = 0; k < 512; k++) {
			if (w[k] != test_pattern(seed, pg, k)) {
				if (!*first_bad)
					*first_bad = (uint64_t)(uintptr_t)&w[k];
				page_bad = 1;
			}
		}
		bad += page_bad;
	}
	return bad;
}

/* GPRSGX.AEXNOTIFY: byte 167 of the 184-byte GPRSGX at the end of each 4 KiB SSA frame. */
#define GPRSGX_AEXNOTIFY 167
#define ENCLU_EDECCSSA 9

void encl_main(void *arg, uint64_t tcs, uint64_t cssa, uint8_t *gprsgx)
{
	/* The op lives in host memory and the host may watch it: volatile accesses. */
	volatile struct test_op *op = arg;

	op->tcs = tcs;
	switch (op->op) {
	case TOP_NOP:
		break;
	case TOP_ADD:
		op->out = op->a + op->b;
		break;
	case TOP_READ:
		op->out = *(volatile uint64_t *)(uintptr_t)op->addr;
		break;
	case TOP_WRITE:
		*(volatile uint64_t *)(uintptr_t)op->addr = op->a;
		break;
	case TOP_COUNTER:
		op->out = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
		break;
	case TOP_SPIN: {
		volatile uint64_t *flag = (volatile uint64_t *)(uintptr_t)op->addr;

		__atomic_store_n(&op->entered, 1, __ATOMIC_SEQ_CST);
		while (!*flag)
			__asm__ volatile("pause");
		op->out = *flag;
		break;
	}
	case TOP_UD2:
		__asm__ volatile("ud2");
		break;
	case TOP_INFO:
		op->base = (uint64_t)(uintptr_t)__encl_base;
		op->scratch = (uint64_t)(uintptr_t)scratch;
		op->end = (uint64_t)(uintptr_t)__encl_end;
		break;
	case TOP_CHECKSUM:
		op->out = checksum((const uint8_t *)(uintptr_t)op->addr, op->a);
		break;
	case TOP_EACCEPT:
		op->out = enclu3(ENCLU_EACCEPT, op->a, op->addr, 0);
		break;
	case TOP_EMODPE:
		enclu3(ENCLU_EMODPE, op->a, op->addr, 0);
		op->out = 0;
		break;
	case TOP_EACCEPTCOPY:
		op->out = enclu3(ENCLU_EACCEPTCOPY, op->a, op->addr, op->b);
		break;
	case TOP_FILL:
		op->out = fill(op->addr, op->a, op->b);
		break;
	case TOP_VERIFY: {
		uint64_t first_bad;

		op->out = verify(op->addr, op->a, op->b, &first_bad);
		op->aux = first_bad;
		break;
	}
	case TOP_EACCEPT_RANGE: {
		uint64_t failed = 0, first = 0;

		for (uint64_t off = 0; off < op->a; off += 4096) {
			uint64_t rax = enclu3(ENCLU_EACCEPT, op->b, op->addr + off, 0);

			if (rax) {
				if (!failed)
					first = rax;
				failed++;
			}
		}
		op->out = failed;
		op->aux = first;
		break;
	}
	case TOP_READLOOP: {
		volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)op->addr;
		volatile uint64_t *stop = (volatile uint64_t *)(uintptr_t)op->b;
		uint64_t reads = 0, wrong = 0;

		op->out = 0;
		op->aux = 0;
		__atomic_store_n(&op->entered, 1, __ATOMIC_SEQ_CST);
		while (!*stop) {
			if (*p != op->a)
				op->out = ++wrong;
			op->aux = ++reads;
		}
		break;
	}
	case TOP_SPIN_WRITE: {
		volatile uint64_t *flag = (volatile uint64_t *)(uintptr_t)op->addr;

		__atomic_store_n(&op->entered, 1, __ATOMIC_SEQ_CST);
		while (!*flag)
			__asm__ volatile("pause");
		op->out = *flag;
		*(volatile uint64_t *)(uintptr_t)op->b = op->a;
		break;
	}
	case TOP_VREGS:
		vregs(op);
		break;
	case TOP_NOTIFY_ARM:
		__atomic_store_n(&gprsgx[GPRSGX_AEXNOTIFY], (uint8_t)op->b, __ATOMIC_SEQ_CST);
		*(volatile uint64_t *)(uintptr_t)op->addr = op->a;
		op->out = 1;
		break;
	case TOP_NOTIFY_HANDLER: {
		uint64_t rax = ENCLU_EDECCSSA;

		op->out = cssa;
		op->aux = cssa ? gprsgx[GPRSGX_AEXNOTIFY - 4096] : (uint64_t)-1;
		if (!op->b && cssa)
			__asm__ volatile(".byte 0x0f, 0x01, 0xd7" : "+a"(rax) : : "memory", "cc");
		break;
	}
	default:
		op->out = (uint64_t)-1;
		break;
	}
	__atomic_store_n(&op->done, 1, __ATOMIC_SEQ_CST);
}
