/* Trace and error lines. Used from signal handlers, so no stdio and no malloc: a small
 * formatter into a stack buffer, then one write(2) per line (atomic for short lines). The
 * summary counters are lock-free atomics; only the exit-time table uses stdio. */
#include "util/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/config.h"
#include "util/rawsys.h"

unsigned trace_mask;
int trace_fd = -1;
static long utc_offset;     /* seconds east of UTC, fixed at start (localtime is not AS-safe) */

static const struct { const char *name; unsigned bit; } cats[] = {
	{ "ioctl", TRACE_IOCTL }, { "enclu", TRACE_ENCLU }, { "encls", TRACE_ENCLS },
	{ "aex", TRACE_AEX }, { "paging", TRACE_PAGING }, { "policy", TRACE_POLICY },
	{ "mm", TRACE_MM }, { "misc", TRACE_MISC },
};
#define NCATS (sizeof(cats) / sizeof(cats[0]))

int trace_parse(const char *s, unsigned *mask)
{
	unsigned m = 0;

	if (!s || !*s || !strcmp(s, "1") || !strcmp(s, "all")) {
		*mask = TRACE_ALL;
		return 0;
	}
	if (!strcmp(s, "0") || !strcmp(s, "none")) {
		*mask = 0;
		return 0;
	}
	while (*s) {
		size_t n = strcspn(s, ",");
		size_t k;

		for (k = 0; k < NCATS; k++)
			if (strlen(cats[k].name) == n && !strncmp(s, cats[k].name, n))
				break;
		if (n == 3 && !strncmp(s, "all", 3))
			m |= TRACE_ALL;
		else if (k == NCATS)
			return -1;
		else
			m |= cats[k].bit;
		s += n;
		if (*s == ',')
			s++;
	}
	*mask = m;
	return 0;
}

void trace_describe(unsigned mask, char *buf, unsigned len)
{
	unsigned n = 0;

	buf[0] = 0;
	if ((mask & TRACE_ALL) == TRACE_ALL) {
		snprintf(buf, len, "all");
		return;
	}
	for (size_t k = 0; k < NCATS; k++)
		if (mask & cats[k].bit)
			n += (unsigned)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
						cats[k].name);
	if (!n)
		snprintf(buf, len, "none");
}

struct tbuf {
	char b[512];
	unsigned n;
};

static void put_c(struct tbuf *t, char c)
{
	if (t->n < sizeof(t->b) - 1)
		t->b[t->n++] = c;
}

static void put_s(struct tbuf *t, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_c(t, *s++);
}

/* v in base, at least width digits (zero-padded). */
static void put_uw(struct tbuf *t, uint64_t v, unsigned base, int width)
{
	char d[24];
	int i = 0;

	do {
		d[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i < width && i < (int)sizeof(d))
		d[i++] = '0';
	while (i)
		put_c(t, d[--i]);
}

static void put_u(struct tbuf *t, uint64_t v, unsigned base)
{
	put_uw(t, v, base, 0);
}

static void vformat(struct tbuf *t, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int lng = 0;
		bool alt = false;

		if (*fmt != '%') {
			put_c(t, *fmt);
			continue;
		}
		fmt++;
		/* '#': 0x before hexadecimal (an unknown flag would leave its argument unread and
		 * shift every later one). */
		if (*fmt == '#') {
			alt = true;
			fmt++;
		}
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			put_s(t, va_arg(ap, const char *));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);

			if (v < 0) {
				put_c(t, '-');
				put_u(t, (uint64_t)(-(v + 1)) + 1, 10);
			} else {
				put_u(t, (uint64_t)v, 10);
			}
			break;
		}
		case 'u':
			put_u(t, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
			break;
		case 'x':
			if (alt)
				put_s(t, "0x");
			put_u(t, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
			break;
		case 'p':
			put_s(t, "0x");
			put_u(t, (uintptr_t)va_arg(ap, void *), 16);
			break;
		case '%':
			put_c(t, '%');
			break;
		default:
			put_c(t, '?');
			break;
		}
		if (!*fmt)
			break;
	}
}

uint64_t trace_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "HH:MM:SS.uuuuuu [TID] ", local time as strace -tt prints it. */
static void put_stamp(struct tbuf *t)
{
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (uint64_t)((long)ts.tv_sec + utc_offset) % 86400;
	put_uw(t, s / 3600, 10, 2);
	put_c(t, ':');
	put_uw(t, s / 60 % 60, 10, 2);
	put_c(t, ':');
	put_uw(t, s % 60, 10, 2);
	put_c(t, '.');
	put_uw(t, (uint64_t)ts.tv_nsec / 1000, 10, 6);
	put_s(t, " [");
	put_u(t, (uint64_t)raw_gettid(), 10);
	put_s(t, "] ");
}

static void emit(int fd, bool stamp, const char *fmt, va_list ap)
{
	struct tbuf t = { .n = 0 };

	put_s(&t, "sgxemu: ");
	if (stamp)
		put_stamp(&t);
	vformat(&t, fmt, ap);
	put_c(&t, '\n');
	raw_syscall3(SYS_write, fd, t.b, t.n);
}

void trace_printf(const char *fmt, ...)
{
	va_list ap;

	if (trace_fd < 0)
		return;
	va_start(ap, fmt);
	emit(trace_fd, true, fmt, ap);
	va_end(ap);
}

void sgxemu_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(trace_fd >= 0 ? trace_fd : 2, false, fmt, ap);
	va_end(ap);
}

/* The header's configuration line, made at start (a forked child writes it again). */
static char header_config[160];
static const char *header_version = "?";
static bool header_wanted;

/* The header of this process's part of a trace file: who, what and how configured.
 * Async-signal-safe: it also runs in the child of a fork. */
static void write_header(int fd)
{
	char cmd[256], line[512];
	int cfd = (int)raw_syscall3(SYS_open, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
	long n = cfd >= 0 ? raw_syscall3(SYS_read, cfd, cmd, sizeof(cmd) - 1) : -1;

	if (cfd >= 0)
		raw_syscall1(SYS_close, cfd);
	if (n < 0)
		n = 0;
	cmd[n] = 0;
	for (long i = 0; i + 1 < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	trace_fmt(line, sizeof(line), "# sgxemu %s trace: pid %ld, ppid %ld, command: %s\n",
		  header_version, raw_syscall0(SYS_getpid), raw_syscall0(SYS_getppid), cmd);
	raw_syscall3(SYS_write, fd, line, strlen(line));
	raw_syscall3(SYS_write, fd, header_config, strlen(header_config));
}

static void stats_reset(void);

void trace_forked(void)
{
	if (!trace_mask)
		return;
	stats_reset();   /* the child's summary is its own */
	if (header_wanted)
		write_header(trace_fd);
}

void trace_start(const struct sgxemu_config *cfg, const char *version)
{
	unsigned m = cfg->trace ? cfg->trace_mask : 0;
	struct tm tm;
	time_t now = time(NULL);

	if (cfg->trace_summary)
		m |= TRACE_SUMMARY;
	if (!m) {
		trace_fd = -1;
		trace_mask = 0;
		return;
	}
	if (localtime_r(&now, &tm))
		utc_offset = tm.tm_gmtoff;
	trace_fd = 2;
	if (cfg->trace_file[0]) {
		int fd = open(cfg->trace_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* Keep it out of the way of programs that close or dup over low fds. */
		if (fd >= 0) {
			int hi = fcntl(fd, F_DUPFD_CLOEXEC, 900);

			if (hi >= 0) {
				close(fd);
				fd = hi;
			}
			trace_fd = fd;
		}
	}
	trace_mask = m;
	if (trace_fd != 2) {
		char filt[96];

		trace_describe(trace_mask, filt, sizeof(filt));
		snprintf(header_config, sizeof(header_config), "# config: %s, EPC %llu KiB, trace=%s%s\n",
			 cfg->sgx2 ? "SGX2" : "SGX1", (unsigned long long)(cfg->epc_size >> 10), filt,
			 (trace_mask & TRACE_SUMMARY) ? ", summary" : "");
		header_version = version;
		header_wanted = true;
		write_header(trace_fd);
	}
}

/* --trace-summary counters: per kind, indexed by leaf or ioctl number. */
#define TRACE_STAT_SLOTS 32
struct stat_slot {
	_Atomic(const char *) name;
	atomic_ulong calls, errors, ns;
};
static struct stat_slot stats[TRACE_STAT_KINDS][TRACE_STAT_SLOTS];

static void stats_reset(void)
{
	for (unsigned k = 0; k < TRACE_STAT_KINDS; k++)
		for (unsigned i = 0; i < TRACE_STAT_SLOTS; i++) {
			atomic_store(&stats[k][i].calls, 0);
			atomic_store(&stats[k][i].errors, 0);
			atomic_store(&stats[k][i].ns, 0);
		}
}

void trace_count(unsigned kind, unsigned what, const char *name, bool failed, uint64_t ns)
{
	struct stat_slot *s;

	if (kind >= TRACE_STAT_KINDS)
		return;
	s = &stats[kind][what < TRACE_STAT_SLOTS ? what : TRACE_STAT_SLOTS - 1];
	atomic_store_explicit(&s->name, name, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
	if (failed)
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->ns, ns, memory_order_relaxed);
}

void trace_summary_print(void)
{
	static const char *const kinds[] = { "ioctl", "ENCLS", "ENCLU" };
	char line[160];
	int len;

	if (!(trace_mask & TRACE_SUMMARY) || trace_fd < 0)
		return;
	len = snprintf(line, sizeof(line), "sgxemu: summary of pid %d\n%-6s %-36s %9s %9s %12s %10s\n",
		       (int)getpid(), "kind", "name", "calls", "errors", "total-usecs",
		       "nsecs/call");
	raw_syscall3(SYS_write, trace_fd, line, len);
	for (unsigned k = 0; k < TRACE_STAT_KINDS; k++) {
		unsigned long tc = 0, te = 0, tn = 0;

		for (unsigned i = 0; i < TRACE_STAT_SLOTS; i++) {
			struct stat_slot *s = &stats[k][i];
			unsigned long c = atomic_load(&s->calls), e = atomic_load(&s->errors);
			unsigned long ns = atomic_load(&s->ns);

			if (!c)
				continue;
			tc += c;
			te += e;
			tn += ns;
			len = snprintf(line, sizeof(line), "%-6s %-36s %9lu %9lu %12lu %10lu\n",
				       kinds[k], atomic_load(&s->name), c, e, ns / 1000, ns / c);
			raw_syscall3(SYS_write, trace_fd, line, len);
		}
		if (tc) {
			len = snprintf(line, sizeof(line), "%-6s %-36s %9lu %9lu %12lu %10lu\n",
				       kinds[k], "total", tc, te, tn / 1000, tn / tc);
			raw_syscall3(SYS_write, trace_fd, line, len);
		}
	}
}

const char *trace_fmt(char *buf, unsigned len, const char *fmt, ...)
{
	struct tbuf t = { .n = 0 };
	va_list ap;
	unsigned n;

	va_start(ap, fmt);
	vformat(&t, fmt, ap);
	va_end(ap);
	if (!len)
		return buf;
	n = t.n < len - 1 ? t.n : len - 1;
	memcpy(buf, t.b, n);
	buf[n] = 0;
	return buf;
}

/* Flag decoders. */
struct flagname {
	uint64_t bit;
	const char *name;
};

static const char *flags_str(char *buf, unsigned len, uint64_t v, const struct flagname *f,
			     unsigned nf, const char *none)
{
	struct tbuf t = { .n = 0 };
	bool any = false;

	for (unsigned i = 0; i < nf; i++) {
		if (!(v & f[i].bit))
			continue;
		if (any)
			put_c(&t, '|');
		put_s(&t, f[i].name);
		any = true;
		v &= ~f[i].bit;
	}
	if (v) {
		if (any)
			put_c(&t, '|');
		put_s(&t, "0x");
		put_u(&t, v, 16);
		any = true;
	}
	if (!any)
		put_s(&t, none);
	t.b[t.n] = 0;
	if (len) {
		unsigned n = t.n < len - 1 ? t.n : len - 1;

		memcpy(buf, t.b, n);
		buf[n] = 0;
	}
	return buf;
}
#define FLAGS(buf, len, v, tbl, none) \
	flags_str(buf, len, v, tbl, sizeof(tbl) / sizeof(tbl[0]), none)

const char *trace_secinfo(char *buf, unsigned len, uint64_t flags)
{
	static const struct flagname perm[] = {
		{ 0x1, "R" }, { 0x2, "W" }, { 0x4, "X" }, { 0x8, "PENDING" }, { 0x10, "MODIFIED" },
		{ 0x20, "PR" },
	};
	unsigned n;

	FLAGS(buf, len, flags & ~0xff00ULL, perm, "");
	n = (unsigned)strlen(buf);
	if (n + 16 < len) {
		if (n)
			buf[n++] = ',';
		strcpy(buf + n, trace_page_type((unsigned)(flags >> 8) & 0xff));
	}
	return buf;
}

const char *trace_page_type(unsigned type)
{
	static const char *const types[] = { "PT_SECS", "PT_TCS", "PT_REG", "PT_VA", "PT_TRIM",
					     "PT_SS_FIRST", "PT_SS_REST" };

	return type < sizeof(types) / sizeof(types[0]) ? types[type] : "PT_?";
}

const char *trace_prot(char *buf, unsigned len, unsigned long prot)
{
	static const struct flagname f[] = {
		{ 0x1, "PROT_READ" }, { 0x2, "PROT_WRITE" }, { 0x4, "PROT_EXEC" },
	};

	return FLAGS(buf, len, prot, f, "PROT_NONE");
}

const char *trace_attributes(char *buf, unsigned len, uint64_t flags)
{
	static const struct flagname f[] = {
		{ 0x1, "INIT" }, { 0x2, "DEBUG" }, { 0x4, "MODE64BIT" }, { 0x10, "PROVISIONKEY" },
		{ 0x20, "EINITTOKENKEY" }, { 0x80, "KSS" }, { 0x400, "AEXNOTIFY" },
	};

	return FLAGS(buf, len, flags, f, "0");
}

const char *trace_xfrm(char *buf, unsigned len, uint64_t xfrm)
{
	static const struct flagname f[] = {
		{ 0x1, "X87" }, { 0x2, "SSE" }, { 0x4, "AVX" }, { 0x8, "BNDREGS" }, { 0x10, "BNDCSR" },
		{ 0x20, "OPMASK" }, { 0x40, "ZMM_HI256" }, { 0x80, "HI16_ZMM" }, { 0x200, "PKRU" },
		{ 0x20000, "XTILECFG" }, { 0x40000, "XTILEDATA" },
	};

	return FLAGS(buf, len, xfrm, f, "0");
}

const char *trace_pf_error(char *buf, unsigned len, uint32_t err)
{
	static const struct flagname f[] = {
		{ 0x1, "PRESENT" }, { 0x2, "WRITE" }, { 0x4, "USER" }, { 0x8, "RSVD" },
		{ 0x10, "INSTR" }, { 0x20, "PK" }, { 0x8000, "SGX" },
	};

	return FLAGS(buf, len, err, f, "0");
}

const char *trace_errno_name(long err)
{
	switch (err < 0 ? -err : err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ECANCELED: return "ECANCELED";
	case EHWPOISON: return "EHWPOISON";
	default: return "E?";
	}
}
