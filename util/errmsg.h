/* Error messages into a caller's buffer, for the parsers and tools that report why they
 * refused an input. */
#ifndef SGXEMU_UTIL_ERRMSG_H
#define SGXEMU_UTIL_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (len bytes; nothing if err is NULL or len 0). Returns -1, so
 * that `return errmsg(err, len, "...")` reports a failure in one line. */
int errmsg(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
