/* The trace's pieces that need no process: category lists, the flag decoders, the
 * async-signal-safe formatter, and the summary counters. */
#include <errno.h>
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

static void test_parse(void **state)
{
	unsigned m = 123;
	char d[96];

	(void)state;
	assert_int_equal(trace_parse("1", &m), 0);
	assert_int_equal(m, TRACE_ALL);
	assert_int_equal(trace_parse("ioctl,enclu", &m), 0);
	assert_int_equal(m, TRACE_IOCTL | TRACE_ENCLU);
	trace_describe(m, d, sizeof(d));
	assert_string_equal(d, "ioctl,enclu");
	assert_int_equal(trace_parse("aex,paging,policy,mm,encls", &m), 0);
	assert_int_equal(m, TRACE_AEX | TRACE_PAGING | TRACE_POLICY | TRACE_MM | TRACE_ENCLS);
	assert_int_equal(trace_parse("ioctl,bogus", &m), -1);
	assert_int_equal(trace_parse("enc", &m), -1);     /* no prefixes */
	assert_int_equal(trace_parse("0", &m), 0);
	assert_int_equal(m, 0);
	trace_describe(TRACE_ALL, d, sizeof(d));
	assert_string_equal(d, "all");
}

static void test_decoders(void **state)
{
	char b[128];

	(void)state;
	assert_string_equal(trace_secinfo(b, sizeof(b), 0x205), "R|X,PT_REG");
	assert_string_equal(trace_secinfo(b, sizeof(b), 0x100), "PT_TCS");
	assert_string_equal(trace_secinfo(b, sizeof(b), 0x40b), "R|W|PENDING,PT_TRIM");
	assert_string_equal(trace_secinfo(b, sizeof(b), 0x9901), "R,PT_?");
	assert_string_equal(trace_prot(b, sizeof(b), 3), "PROT_READ|PROT_WRITE");
	assert_string_equal(trace_prot(b, sizeof(b), 0), "PROT_NONE");
	assert_string_equal(trace_attributes(b, sizeof(b), 0x4b6),
			    "DEBUG|MODE64BIT|PROVISIONKEY|EINITTOKENKEY|KSS|AEXNOTIFY");
	assert_string_equal(trace_attributes(b, sizeof(b), 0x8004), "MODE64BIT|0x8000");
	assert_string_equal(trace_xfrm(b, sizeof(b), 0xe7), "X87|SSE|AVX|OPMASK|ZMM_HI256|HI16_ZMM");
	assert_string_equal(trace_pf_error(b, sizeof(b), 0x8007), "PRESENT|WRITE|USER|SGX");
	assert_string_equal(trace_errno_name(-EACCES), "EACCES");
	assert_string_equal(trace_errno_name(ENOTTY), "ENOTTY");
	/* Cut short, never overrun. */
	assert_string_equal(trace_prot(b, 8, 7), "PROT_RE");
}

static void test_fmt(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(trace_fmt(b, sizeof(b), "%s=0x%lx %d %u %ld", "a", 0xabcUL, -5, 7U, -9L),
			    "a=0xabc -5 7 -9");
	assert_string_equal(trace_fmt(b, 5, "%s", "abcdefgh"), "abcd");
}

static void test_summary(void **state)
{
	char path[] = "/tmp/sgxemu-test-trace-XXXXXX", buf[2048];
	int fd = mkstemp(path);
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	trace_count(TRACE_STAT_ENCLU, 2, "EENTER", false, 1000);
	trace_count(TRACE_STAT_ENCLU, 2, "EENTER", true, 3000);
	trace_count(TRACE_STAT_ENCLS, 0, "ECREATE", false, 5000);
	trace_fd = fd;
	trace_mask = TRACE_SUMMARY;
	trace_summary_print();
	trace_mask = 0;
	trace_fd = -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "ENCLU  EENTER                                       2         1            4       2000\n"));
	assert_non_null(strstr(buf, "ENCLS  ECREATE                                      1         0            5       5000\n"));
	assert_null(strstr(buf, "ioctl "));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_decoders),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
