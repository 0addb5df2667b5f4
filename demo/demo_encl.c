/* The demo enclave: a counter, a greeting, a checksum and a secret that live in enclave
 * memory. Freestanding: no libc, no relocations, only RIP-relative data. */
#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy, memset: demo/encl_libc.c */

#include "demo/demo_encl.h"

void encl_main(void *arg, uint64_t tcs);

static uint64_t counter;
static uint64_t greetings;
static uint64_t secret;
static int secret_set;

/* Writes the decimal digits of v at p; returns the number of characters. */
static size_t put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static uint32_t greet(char *out, uint64_t len)
{
	static const char hello[] = "Hello from inside the enclave! Greeting number ";
	char msg[sizeof(hello) + 24];
	size_t n = sizeof(hello) - 1, i;

	if (!out || len == 0)
		return DEMO_EINVAL;
	memcpy(msg, hello, n);
	n += put_u64(msg + n, ++greetings);
	msg[n++] = '.';
	/* Copy out as much as fits, always NUL-terminated. */
	for (i = 0; i < n && i + 1 < len; i++)
		out[i] = msg[i];
	out[i] = '\0';
	return DEMO_OK;
}

static uint64_t fnv1a(const uint8_t *p, uint64_t len)
{
	uint64_t h = DEMO_FNV_OFFSET;

	while (len--) {
		h ^= *p++;
		h *= DEMO_FNV_PRIME;
	}
	return h;
}

void encl_main(void *arg, uint64_t tcs)
{
	struct demo_call *host = arg;
	struct demo_call c;

	(void)tcs;
	/* Read the request once: the host can change its memory while we run. */
	c = *host;
	c.status = DEMO_OK;
	c.out = 0;

	switch (c.op) {
	case DEMO_GREET:
		c.status = greet((char *)(uintptr_t)c.buf, c.len);
		break;
	case DEMO_COUNT:
		c.out = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
		break;
	case DEMO_CHECKSUM:
		c.out = fnv1a((const uint8_t *)(uintptr_t)c.buf, c.len);
		break;
	case DEMO_SET_SECRET:
		if (secret_set) {
			c.status = DEMO_EPERM;
		} else {
			secret = c.in;
			secret_set = 1;
		}
		break;
	case DEMO_GUESS:
		if (!secret_set)
			c.status = DEMO_EPERM;
		else
			c.out = c.in == secret ? 0 : c.in > secret ? 1 : (uint64_t)-1;
		break;
	default:
		c.status = DEMO_EINVAL;
		break;
	}
	host->status = c.status;
	host->out = c.out;
}
