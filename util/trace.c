/* Trace and error lines. Used from signal handlers, so no stdio and no malloc: a small
 * formatter into a stack buffer, then one write(2) per line (atomic for short lines). */
#include "util/trace.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "util/rawsys.h"

int trace_fd = -1;

void trace_open(bool on, const char *path)
{
	if (!on) {
		trace_fd = -1;
		return;
	}
	if (path && *path) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* Keep it out of the way of programs that close or dup over low fds. */
		if (fd >= 0) {
			int hi = fcntl(fd, F_DUPFD_CLOEXEC, 900);

			if (hi >= 0) {
				close(fd);
				fd = hi;
			}
			trace_fd = fd;
			return;
		}
	}
	trace_fd = 2;
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

static void put_u(struct tbuf *t, uint64_t v, unsigned base)
{
	char d[24];
	int i = 0;

	do {
		d[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		put_c(t, d[--i]);
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

static void emit(int fd, const char *fmt, va_list ap)
{
	struct tbuf t = { .n = 0 };

	put_s(&t, "sgxemu: ");
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
	emit(trace_fd, fmt, ap);
	va_end(ap);
}

void sgxemu_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(trace_fd >= 0 ? trace_fd : 2, fmt, ap);
	va_end(ap);
}
