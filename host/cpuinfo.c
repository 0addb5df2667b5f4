/* /proc/cpuinfo with the SGX flags (see cpuinfo.h). Called from the interposed open paths,
 * possibly from a signal handler (open is async-signal-safe): raw system calls and mmap'd
 * buffers only, no malloc, no stdio, and none of our own interposed functions. */
#include "host/cpuinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "host/host.h"
#include "util/rawsys.h"

#define CPUINFO_PATH "/proc/cpuinfo"
#define MAX_READ (64u << 20)	/* a sanity bound: 4096 CPUs take about 8 MiB */

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

/* Neighbours, in the kernel's order (arch/x86/include/asm/cpufeatures.h of Linux 6.12): the
 * flags printed just before each of ours (same capability word, lower bits), and flags
 * printed after it (higher bits, then the next words), for when none of the first is there. */
static const char *const sgx_before[] = { "fsgsbase", "tsc_adjust", NULL };
static const char *const sgx_after[] = {
	"bmi1", "hle", "avx2", "fdp_excptn_only", "smep", "bmi2", "erms", "invpcid", "rtm", "cqm",
	"mpx", "rdt_a", "avx512f", "avx512dq", "rdseed", "adx", "smap", "avx512ifma",
	"clflushopt", "clwb", "intel_pt", "avx512pf", "avx512er", "avx512cd", "sha_ni",
	"avx512bw", "avx512vl", "xsaveopt", "xsavec", "xgetbv1", "xsaves", NULL,
};
static const char *const lc_before[] = {
	"avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2", "gfni", "vaes",
	"vpclmulqdq", "avx512_vnni", "avx512_bitalg", "tme", "avx512_vpopcntdq", "la57", "rdpid",
	"bus_lock_detect", "cldemote", "movdiri", "movdir64b", "enqcmd", NULL,
};
static const char *const lc_after[] = {
	"overflow_recov", "succor", "smca", "avx512_4vnniw", "avx512_4fmaps", "fsrm",
	"avx512_vp2intersect", "md_clear", "serialize", "tsxldtrk", "pconfig", "arch_lbr", "ibt",
	"amx_bf16", "avx512_fp16", "amx_tile", "amx_int8", "flush_l1d", "arch_capabilities",
	NULL,
};

/* ---- the text ---- */

static bool token_in(const char *t, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && !memcmp(*list, t, len))
			return true;
	return false;
}

/* A "flags" line: the word, blanks, a colon. Returns the offset just after the colon, or 0.
 * The kernel prints each flag as a blank and its name; so do we. */
static size_t flags_start(const char *line, size_t len)
{
	size_t i = 5;

	if (len < 6 || memcmp(line, "flags", 5) || (line[5] != ' ' && line[5] != '\t'))
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':' ? i + 1 : 0;
}

/* The next flag of line[*p, len): 0 at the end. */
static size_t next_flag(const char *line, size_t *p, size_t len, const char **t)
{
	size_t tl = 0;

	while (*p < len && line[*p] == ' ')
		(*p)++;
	*t = line + *p;
	while (*p < len && line[*p] != ' ')
		(*p)++, tl++;
	return tl;
}

/* Where flag goes: after the flag with this index (-1: before the first). Sets *present when
 * the flag is already there. */
static long place(const char *line, size_t start, size_t len, const char *flag,
		  const char *const *before, const char *const *after, bool *present)
{
	long i = 0, last_before = -2, first_after = -2;
	size_t fl = strlen(flag), tl, p = start;
	const char *t;

	*present = false;
	for (; (tl = next_flag(line, &p, len, &t)); i++) {
		if (tl == fl && !memcmp(t, flag, fl))
			*present = true;
		if (token_in(t, tl, before))
			last_before = i;
		if (first_after == -2 && token_in(t, tl, after))
			first_after = i - 1;
	}
	if (last_before != -2)
		return last_before;
	if (first_after != -2)
		return first_after;
	return i - 1;
}

size_t cpuinfo_edit_max(const char *in, size_t n)
{
	size_t lines = 1;

	for (size_t i = 0; i < n; i++)
		lines += in[i] == '\n';
	/* (a vendor_id value is at most 12 characters, as any it replaces) */
	return n + lines * (sizeof(" sgx") - 1 + sizeof(" sgx_lc") - 1 + 12);
}

static size_t put(char *out, const char *s, size_t n)
{
	out[0] = ' ';
	memcpy(out + 1, s, n);
	return n + 1;
}

/* Copy one flags line (start: just after the colon), adding what is missing. */
static size_t edit_line(const char *line, size_t start, size_t len, char *out, bool sgx,
			bool sgx_lc)
{
	bool have_sgx, have_lc;
	long at_sgx = place(line, start, len, "sgx", sgx_before, sgx_after, &have_sgx);
	long at_lc = place(line, start, len, "sgx_lc", lc_before, lc_after, &have_lc);
	size_t o = start, tl, p = start;
	const char *t;

	sgx = sgx && !have_sgx;
	sgx_lc = sgx_lc && !have_lc;
	memcpy(out, line, start);
	for (long i = -1;; i++) {
		if (i >= 0) {
			if (!(tl = next_flag(line, &p, len, &t)))
				break;
			o += put(out + o, t, tl);
		}
		if (sgx && at_sgx == i)
			o += put(out + o, "sgx", 3);
		if (sgx_lc && at_lc == i)
			o += put(out + o, "sgx_lc", 6);
	}
	return o;
}

/* A "vendor_id" line: the offset just after ": ", or 0. */
static size_t vendor_start(const char *line, size_t len)
{
	size_t i = 9;

	if (len < 9 || memcmp(line, "vendor_id", 9))
		return 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != ':')
		return 0;
	i++;
	while (i < len && line[i] == ' ')
		i++;
	return i;
}

size_t cpuinfo_edit(const char *in, size_t n, char *out, bool sgx, bool sgx_lc,
		    const char *vendor)
{
	size_t o = 0;

	for (size_t p = 0; p < n;) {
		const char *nl = memchr(in + p, '\n', n - p);
		size_t len = nl ? (size_t)(nl - (in + p)) : n - p;
		size_t start = flags_start(in + p, len), vstart = vendor_start(in + p, len);

		if (start) {
			o += edit_line(in + p, start, len, out + o, sgx, sgx_lc);
		} else if (vendor && vstart) {
			memcpy(out + o, in + p, vstart);
			o += vstart;
			memcpy(out + o, vendor, strnlen(vendor, 12));
			o += strnlen(vendor, 12);
		} else {
			memcpy(out + o, in + p, len);
			o += len;
		}
		if (nl)
			out[o++] = '\n';
		p += len + (nl ? 1 : 0);
	}
	return o;
}

/* ---- the file ---- */

/* "/proc/self/fd/N" into out (32 bytes). */
static void fd_path(char *out, long fd)
{
	char digits[20];
	int nd = 0;

	memcpy(out, "/proc/self/fd/", sizeof("/proc/self/fd/"));
	out += sizeof("/proc/self/fd/") - 1;
	for (long v = fd; nd == 0 || v; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	while (nd)
		*out++ = digits[--nd];
	*out = 0;
}

/* Whether dirfd (or the working directory) is /proc: util-linux opens "cpuinfo" relative
 * to a descriptor of /proc. */
static bool dir_is_proc(int dirfd)
{
	char link[32] = "/proc/self/cwd", target[8];
	long n;

	if (dirfd != AT_FDCWD) {
		if (dirfd < 0)
			return false;
		fd_path(link, dirfd);
	}
	n = raw_syscall4(SYS_readlinkat, AT_FDCWD, link, target, sizeof(target));
	return n == 5 && !memcmp(target, "/proc", 5);
}

bool cpuinfo_wants(int dirfd, const char *path, int flags)
{
	if (!host_active || !path || (flags & O_ACCMODE) != O_RDONLY ||
	    (flags & (O_CREAT | O_TRUNC | O_DIRECTORY | O_PATH)))
		return false;
	if (!strcmp(path, CPUINFO_PATH))
		return true;
	return (!strcmp(path, "cpuinfo") || !strcmp(path, "./cpuinfo")) && dir_is_proc(dirfd);
}

bool cpuinfo_wants_stdio(const char *path, const char *mode)
{
	return host_active && path && mode && mode[0] == 'r' && !strchr(mode, '+') &&
	       !strcmp(path, CPUINFO_PATH);
}

static bool bad(long r)
{
	return r < 0 && r > -4096;
}

/* The whole host file in an anonymous mapping (*cap bytes); its length, or -errno. */
static long read_host(int fd, char **buf, size_t *cap)
{
	size_t got = 0;
	long r;

	*cap = 64u << 10;
	r = raw_syscall6(SYS_mmap, 0, *cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad(r))
		return r;
	*buf = (char *)r;
	for (;;) {
		if (got == *cap) {
			if (*cap >= MAX_READ)
				return -EFBIG;
			r = raw_syscall4(SYS_mremap, *buf, *cap, *cap * 2, MREMAP_MAYMOVE);
			if (bad(r))
				return r;
			*buf = (char *)r;
			*cap *= 2;
		}
		r = raw_syscall3(SYS_read, fd, *buf + got, *cap - got);
		if (r == -EINTR)
			continue;
		if (bad(r))
			return r;
		if (r == 0)
			return (long)got;
		got += (size_t)r;
	}
}

static long write_all(int fd, const char *p, size_t n)
{
	while (n) {
		long r = raw_syscall3(SYS_write, fd, p, n);

		if (r == -EINTR)
			continue;
		if (bad(r))
			return r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The edited text in a sealed memfd, reopened read-only with flags; an fd or -errno. */
static long edited_copy(const char *text, size_t n, int flags)
{
	uint32_t regs[4] = { 0 }, id[4] = { 0 };
	size_t cap = cpuinfo_edit_max(text, n), len;
	char path[32], *out, vendor[13];
	long out_r, mfd, fd = -ENOMEM;

	/* The vendor the emulated CPUID reports (an SGX machine is an Intel one). */
	cpuid_query(0, 0, id);
	memcpy(vendor, &id[1], 4);
	memcpy(vendor + 4, &id[3], 4);
	memcpy(vendor + 8, &id[2], 4);
	vendor[12] = 0;
	cpuid_query(7, 0, regs);
	out_r = raw_syscall6(SYS_mmap, 0, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	if (bad(out_r))
		return out_r;
	out = (char *)out_r;
	len = cpuinfo_edit(text, n, out, regs[1] & (1u << 2), regs[2] & (1u << 30),
			   vendor[0] ? vendor : NULL);
	mfd = raw_syscall2(SYS_memfd_create, "cpuinfo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (!bad(mfd)) {
		fd = write_all((int)mfd, out, len);
		if (!fd)
			fd = raw_syscall3(SYS_fcntl, mfd, F_ADD_SEALS,
					  F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
		if (!fd) {
			/* A new read-only open file description: write() fails as on procfs. */
			fd_path(path, mfd);
			fd = raw_syscall4(SYS_openat, AT_FDCWD, path,
					  O_RDONLY | (flags & (O_CLOEXEC | O_NONBLOCK)), 0);
		}
		raw_syscall1(SYS_close, mfd);
	} else {
		fd = mfd;
	}
	raw_syscall2(SYS_munmap, out, cap);
	return fd;
}

int cpuinfo_open(int flags)
{
	int oflags = O_RDONLY | (flags & (O_CLOEXEC | O_NONBLOCK));
	long host = raw_syscall4(SYS_openat, AT_FDCWD, CPUINFO_PATH, oflags, 0), n, fd;
	size_t cap = 0;
	char *text = NULL;

	if (bad(host))
		return (int)host;
	n = read_host((int)host, &text, &cap);
	fd = n < 0 ? n : edited_copy(text, (size_t)n, flags);
	if (text)
		raw_syscall2(SYS_munmap, text, cap);
	if (bad(fd)) {
		/* Better the host's text than no file: a fresh open of it. */
		raw_syscall1(SYS_close, host);
		return (int)raw_syscall4(SYS_openat, AT_FDCWD, CPUINFO_PATH, oflags, 0);
	}
	raw_syscall1(SYS_close, host);
	return (int)fd;
}
