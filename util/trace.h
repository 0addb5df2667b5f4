/* Trace lines ("sgxemu: ...") to stderr or SGXEMU_TRACE_FILE. Async-signal-safe: formats into a
 * stack buffer with its own tiny formatter and writes with one write(2). */
#ifndef SGXEMU_UTIL_TRACE_H
#define SGXEMU_UTIL_TRACE_H

#include <stdbool.h>

extern int trace_fd;        /* -1: tracing off */
void trace_open(bool on, const char *path);
/* Supports %s %d %u %x %lx %lu %ld %llx %p and %%. Appends a newline. */
void trace_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TRACE(...) do { if (trace_fd >= 0) trace_printf(__VA_ARGS__); } while (0)
/* Always printed (errors), same format. */
void sgxemu_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
