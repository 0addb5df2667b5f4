/* The emulator's own formatter (util/trace.c: async-signal-safe, a printf subset), as
 * sgxemu_err writes its messages (no time or thread prefix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/trace.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	strcpy(path, "/tmp/test_trace.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	trace_fd = fd; /* where sgxemu_err writes when there is a trace file */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(trace_fd);
	trace_fd = -1;
	unlink(path);
	return 0;
}

/* The whole trace file. */
static void contents(char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* '%#lx' is 0x and hexadecimal, and the arguments after it keep their places (the flag
 * was unknown: it printed "?lx" and the next %d showed the address). */
static void test_alternate_hex(void **state)
{
	char got[256];

	(void)state;
	sgxemu_err("gate %#lx taken (%d), %#x %x %s", 0x7ffff000UL, -12, 0xabcU, 0x10U, "end");
	contents(got, sizeof(got));
	assert_string_equal(got, "sgxemu: gate 0x7ffff000 taken (-12), 0xabc 10 end\n");
}

static void test_plain_conversions(void **state)
{
	char got[256];

	(void)state;
	sgxemu_err("%d %ld %u %lu %x %lx %p %s %%", 7, -9L, 3U, 18446744073709551615UL, 255U,
		   0x1234UL, (void *)0x1000, "s");
	contents(got, sizeof(got));
	assert_string_equal(got, "sgxemu: 7 -9 3 18446744073709551615 ff 1234 0x1000 s %\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alternate_hex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_conversions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
