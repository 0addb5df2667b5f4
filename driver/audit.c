/* Audit records (see audit.h). Written from ioctls, never from a trap path. */
#include "driver/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024

static atomic_uint serial;

int audit_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600), hi;

	if (fd < 0)
		return -errno;
	/* Out of the way of programs that dup2 onto low fds. */
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 700);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	return fd;
}

struct line {
	char b[LINE_MAX_LEN];
	size_t n;            /* never more than LINE_MAX_LEN - 1: room for the newline */
};

static void vput(struct line *l, const char *fmt, va_list ap)
{
	size_t room = sizeof(l->b) - 1 - l->n;
	int m = vsnprintf(l->b + l->n, room + 1, fmt, ap);

	if (m > 0)
		l->n += (size_t)m < room ? (size_t)m : room;
}

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(l, fmt, ap);
	va_end(ap);
}

void audit_record(int fd, const char *fmt, ...)
{
	char comm[17] = "";
	struct timespec ts;
	struct line l = { .n = 0 };
	bool plain = true;
	va_list ap;

	if (fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	put(&l, "type=SGX_POLICY msg=audit(%lld.%03ld:%u): ", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000, atomic_fetch_add(&serial, 1) + 1);
	va_start(ap, fmt);
	vput(&l, fmt, ap);
	va_end(ap);
	prctl(PR_GET_NAME, comm);
	put(&l, " pid=%d comm=", (int)getpid());
	/* The kernel's rule for untrusted strings: quoted when harmless, else hex. */
	for (const char *c = comm; *c; c++)
		plain &= *c > 0x20 && *c < 0x7f && *c != '"';
	if (plain) {
		put(&l, "\"%s\"", comm);
	} else {
		for (const char *c = comm; *c; c++)
			put(&l, "%02X", (unsigned char)*c);
	}
	l.b[l.n++] = '\n';
	/* One write per record: appends from several processes do not interleave. */
	if (write(fd, l.b, l.n) < 0)
		return;
}
