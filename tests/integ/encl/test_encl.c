/* The integration tests' enclave: small operations that exercise entry, exit, shared memory,
 * concurrency and exceptions. Freestanding, like the demo enclave, with the same bootstrap. */
#include <stddef.h>
#include <stdint.h>

#include "tests/integ/encl/test_encl.h"

void encl_main(void *arg, uint64_t tcs);

extern char __encl_base[], __encl_end[];

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

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

void encl_main(void *arg, uint64_t tcs)
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
	default:
		op->out = (uint64_t)-1;
		break;
	}
	__atomic_store_n(&op->done, 1, __ATOMIC_SEQ_CST);
}
