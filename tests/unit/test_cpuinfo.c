/* /proc/cpuinfo with the SGX flags (host/cpuinfo.c): where the flags go in a line, which lines
 * change, which opens are answered, and the file a program gets. The test stands in for the
 * preload's state: host_active and the CPUID answer are ours to set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/cpuinfo.h"

/* The host symbols host/cpuinfo.c uses. */
bool host_active = true;
static uint32_t leaf7_ebx = 1u << 2, leaf7_ecx = 1u << 30;
void cpuid_query(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
void cpuid_query(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	regs[0] = regs[1] = regs[2] = regs[3] = 0;
	if (leaf == 7 && subleaf == 0) {
		regs[1] = leaf7_ebx;
		regs[2] = leaf7_ecx;
	}
}

/* cpuinfo_edit of a string, as a string (static buffer). */
static const char *edit(const char *in, bool sgx, bool lc)
{
	static char out[8192];
	size_t n = strlen(in), max = cpuinfo_edit_max(in, n);

	assert_true(max < sizeof(out));
	size_t len = cpuinfo_edit(in, n, out, sgx, lc, NULL);
	assert_true(len <= max);
	out[len] = 0;
	return out;
}

/* An Intel server part's line (abridged): sgx after tsc_adjust, sgx_lc after the last
 * CPUID.7.0:ECX flag below bit 30 (movdir64b), before the CPUID.7.0:EDX ones. */
static void test_intel_line(void **state)
{
	(void)state;
	assert_string_equal(
		edit("flags\t\t: fpu vme sse2 avx fsgsbase tsc_adjust bmi1 avx2 smep xsaveopt "
		     "avx512vbmi umip pku ospke gfni vaes rdpid movdiri movdir64b md_clear "
		     "arch_capabilities\n", true, true),
		"flags\t\t: fpu vme sse2 avx fsgsbase tsc_adjust sgx bmi1 avx2 smep xsaveopt "
		"avx512vbmi umip pku ospke gfni vaes rdpid movdiri movdir64b sgx_lc md_clear "
		"arch_capabilities\n");
}

static void test_neighbours_missing(void **state)
{
	(void)state;
	/* No tsc_adjust: after fsgsbase. */
	assert_string_equal(edit("flags\t: fsgsbase bmi1 rdpid", true, true),
			    "flags\t: fsgsbase sgx bmi1 rdpid sgx_lc");
	/* Neither fsgsbase nor tsc_adjust: before the first later flag of the word. */
	assert_string_equal(edit("flags : fpu sse avx2 smep", true, false),
			    "flags : fpu sse sgx avx2 smep");
	/* No ECX flag below bit 30: before the first flag of a later word. */
	assert_string_equal(edit("flags : fpu fsrm md_clear", false, true),
			    "flags : fpu sgx_lc fsrm md_clear");
	/* Nothing to go by: at the end, in the kernel's order. */
	assert_string_equal(edit("flags\t\t: fpu vme", true, true),
			    "flags\t\t: fpu vme sgx sgx_lc");
	/* An empty list. */
	assert_string_equal(edit("flags\t\t:\n", true, true), "flags\t\t: sgx sgx_lc\n");
	/* A first flag that is a successor: inserted before it. */
	assert_string_equal(edit("flags\t\t: bmi1 fpu", true, false), "flags\t\t: sgx bmi1 fpu");
}

static void test_only_what_is_missing(void **state)
{
	(void)state;
	const char *both = "flags\t\t: fsgsbase sgx bmi1 rdpid sgx_lc fsrm\n";

	assert_string_equal(edit(both, true, true), both);
	assert_string_equal(edit("flags\t\t: fsgsbase sgx bmi1 rdpid fsrm\n", true, true),
			    "flags\t\t: fsgsbase sgx bmi1 rdpid sgx_lc fsrm\n");
	/* What CPUID does not report is not added. */
	assert_string_equal(edit("flags\t\t: fsgsbase bmi1 rdpid fsrm\n", false, true),
			    "flags\t\t: fsgsbase bmi1 rdpid sgx_lc fsrm\n");
	assert_string_equal(edit("flags\t\t: fsgsbase bmi1 rdpid fsrm\n", false, false),
			    "flags\t\t: fsgsbase bmi1 rdpid fsrm\n");
	/* A flag whose name only starts like ours is not ours. */
	assert_string_equal(edit("flags\t\t: sgx_x fsgsbase\n", true, false),
			    "flags\t\t: sgx_x fsgsbase sgx\n");
}

/* Every processor's flags line, and nothing else. */
static void test_only_flags_lines(void **state)
{
	(void)state;
	const char *in =
		"processor\t: 0\nmodel name\t: Some CPU with flags\n"
		"flags\t\t: fpu tsc_adjust bmi1 rdpid\n"
		"vmx flags\t: vnmi ept\nbugs\t\t: spectre_v1\nflagsy\t: x\n\n"
		"processor\t: 1\nflags\t\t: fpu tsc_adjust bmi1 rdpid\n\n";
	const char *want =
		"processor\t: 0\nmodel name\t: Some CPU with flags\n"
		"flags\t\t: fpu tsc_adjust sgx bmi1 rdpid sgx_lc\n"
		"vmx flags\t: vnmi ept\nbugs\t\t: spectre_v1\nflagsy\t: x\n\n"
		"processor\t: 1\nflags\t\t: fpu tsc_adjust sgx bmi1 rdpid sgx_lc\n\n";

	assert_string_equal(edit(in, true, true), want);
	assert_string_equal(edit("", true, true), "");
}

static void test_wants(void **state)
{
	(void)state;
	assert_true(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_RDONLY));
	assert_true(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_RDONLY | O_CLOEXEC | O_NOCTTY));
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_RDWR));
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_WRONLY));
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_RDONLY | O_CREAT));
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_PATH));
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_RDONLY | O_DIRECTORY));
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfox", O_RDONLY));
	assert_false(cpuinfo_wants(AT_FDCWD, "proc/cpuinfo", O_RDONLY));
	assert_false(cpuinfo_wants(AT_FDCWD, NULL, O_RDONLY));
	assert_true(cpuinfo_wants_stdio("/proc/cpuinfo", "r"));
	assert_true(cpuinfo_wants_stdio("/proc/cpuinfo", "re"));
	assert_true(cpuinfo_wants_stdio("/proc/cpuinfo", "rb"));
	assert_false(cpuinfo_wants_stdio("/proc/cpuinfo", "r+"));
	assert_false(cpuinfo_wants_stdio("/proc/cpuinfo", "w"));
	assert_false(cpuinfo_wants_stdio("/proc/cpuinfo", "a"));
	assert_false(cpuinfo_wants_stdio("/proc/meminfo", "r"));
	/* Relative to a descriptor of /proc (util-linux does this), or to the working directory. */
	int proc = open("/proc", O_RDONLY | O_DIRECTORY), tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
	assert_true(proc >= 0 && tmp >= 0);
	assert_true(cpuinfo_wants(proc, "cpuinfo", O_RDONLY));
	assert_true(cpuinfo_wants(proc, "./cpuinfo", O_RDONLY));
	assert_false(cpuinfo_wants(proc, "meminfo", O_RDONLY));
	assert_false(cpuinfo_wants(tmp, "cpuinfo", O_RDONLY));
	assert_false(cpuinfo_wants(-5, "cpuinfo", O_RDONLY));
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/proc"), 0);
	assert_true(cpuinfo_wants(AT_FDCWD, "cpuinfo", O_RDONLY));
	assert_int_equal(chdir("/tmp"), 0);
	assert_false(cpuinfo_wants(AT_FDCWD, "cpuinfo", O_RDONLY));
	assert_int_equal(chdir(cwd), 0);
	close(proc);
	close(tmp);
	/* Emulation off: the host's file. */
	host_active = false;
	assert_false(cpuinfo_wants(AT_FDCWD, "/proc/cpuinfo", O_RDONLY));
	assert_false(cpuinfo_wants_stdio("/proc/cpuinfo", "r"));
	host_active = true;
}

static char *slurp_fd(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	assert_non_null(buf);
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	assert_int_equal(r, 0);
	*len = n;
	return buf;
}

static char *host_text(size_t *len)
{
	int fd = open("/proc/cpuinfo", O_RDONLY);
	assert_true(fd >= 0);
	char *t = slurp_fd(fd, len);
	close(fd);
	return t;
}

/* The fd: the edited host text, read-only, at offset 0, with the flags asked for. */
static void test_open(void **state)
{
	(void)state;
	size_t hn, n;
	char *host = host_text(&hn);
	char *want = malloc(cpuinfo_edit_max(host, hn));
	size_t wn = cpuinfo_edit(host, hn, want, true, true, NULL);
	int fd = cpuinfo_open(O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	char *got = slurp_fd(fd, &n);
	/* The host's text may differ between two reads only in the MHz lines: compare the
	 * flags lines exactly, and the number of lines. */
	assert_true(n > hn || strstr(host, " sgx sgx_lc") || strstr(host, " sgx "));
	int lines_got = 0, lines_want = 0, flags_got = 0;
	for (size_t i = 0; i < n; i++)
		lines_got += got[i] == '\n';
	for (size_t i = 0; i < wn; i++)
		lines_want += want[i] == '\n';
	assert_int_equal(lines_got, lines_want);
	got = realloc(got, n + 1);
	got[n] = 0;
	want[wn] = 0;
	for (char *l = strtok(got, "\n"); l; l = strtok(NULL, "\n")) {
		if (strncmp(l, "flags", 5) || (l[5] != ' ' && l[5] != '\t'))
			continue;
		flags_got++;
		assert_non_null(strstr(want, l));
		assert_non_null(strstr(l, " sgx"));
		assert_non_null(strstr(l, " sgx_lc"));
	}
	assert_true(flags_got > 0);
	/* Read-only, as procfs gives it; close-on-exec as asked; seekable. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	errno = 0;
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	char first[10];
	assert_int_equal(read(fd, first, sizeof(first)), sizeof(first));
	assert_memory_equal(first, host, sizeof(first));
	close(fd);

	fd = cpuinfo_open(O_RDONLY);
	assert_true(fd >= 0);
	assert_false(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	free(host);
	free(want);
	free(got);
}

/* A CPU whose CPUID says no SGX gets the host's flags untouched. */
static void test_open_without_sgx(void **state)
{
	(void)state;
	size_t hn, n;
	char *host = host_text(&hn);
	int fd;

	leaf7_ebx = leaf7_ecx = 0;
	fd = cpuinfo_open(O_RDONLY);
	leaf7_ebx = 1u << 2;
	leaf7_ecx = 1u << 30;
	assert_true(fd >= 0);
	char *got = slurp_fd(fd, &n);
	close(fd);
	/* Same lines as the host's, flag for flag. */
	const char *a = strstr(host, "\nflags"), *b = strstr(got, "\nflags");
	if (!a && !strncmp(host, "flags", 5))
		a = host - 1;
	assert_non_null(a);
	assert_non_null(b);
	size_t la = strcspn(a + 1, "\n"), lb = strcspn(b + 1, "\n");
	assert_int_equal(la, lb);
	assert_memory_equal(a + 1, b + 1, la);
	free(host);
	free(got);
}

/* vendor_id takes the emulated CPU's vendor; nothing else on its line or elsewhere moves. */
static void vendor_replaced(void **state)
{
	const char *in = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
			 "flags\t\t: fpu sgx sgx_lc\nvendor_id : HygonGenuine\n";
	char out[512];
	size_t n = cpuinfo_edit(in, strlen(in), out, true, true, "GenuineIntel");

	(void)state;
	out[n] = 0;
	assert_string_equal(out, "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 25\n"
				 "flags\t\t: fpu sgx sgx_lc\nvendor_id : GenuineIntel\n");
	n = cpuinfo_edit(in, strlen(in), out, true, true, NULL);
	out[n] = 0;
	assert_string_equal(out, in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vendor_replaced),
		cmocka_unit_test(test_intel_line),
		cmocka_unit_test(test_neighbours_missing),
		cmocka_unit_test(test_only_what_is_missing),
		cmocka_unit_test(test_only_flags_lines),
		cmocka_unit_test(test_wants),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_open_without_sgx),
	};
	return cmocka_run_group_tests_name("cpuinfo", tests, NULL, NULL);
}
