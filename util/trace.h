/* Trace lines ("sgxemu: TIME [TID] ...") to stderr or SGXEMU_TRACE_FILE, and the counts of
 * `--trace-summary`. Async-signal-safe: formats into a stack buffer with its own tiny
 * formatter and writes with one write(2); counters are atomics. */
#ifndef SGXEMU_UTIL_TRACE_H
#define SGXEMU_UTIL_TRACE_H

#include <stdbool.h>
#include <stdint.h>

struct sgxemu_config;

/* Categories (SGXEMU_TRACE=ioctl,enclu,...; "all" or "1" = every one). */
enum {
	TRACE_IOCTL  = 1u << 0,  /* ioctls and opens of the device files */
	TRACE_ENCLU  = 1u << 1,  /* ENCLU leaves */
	TRACE_ENCLS  = 1u << 2,  /* ENCLS leaves (ECREATE, EADD, EAUG, EMODPR, ...) */
	TRACE_AEX    = 1u << 3,  /* AEX and signals delivered at the AEP */
	TRACE_PAGING = 1u << 4,  /* EWB/ELDU, reclaim */
	TRACE_POLICY = 1u << 5,  /* policy decisions */
	TRACE_MM     = 1u << 6,  /* mmap/mprotect/mremap/madvise of enclave and vEPC memory */
	TRACE_MISC   = 1u << 7,  /* start-up, platform, filter: only with "all" */
	TRACE_ALL    = 0xffu,
	TRACE_SUMMARY = 1u << 8, /* count for --trace-summary */
};

/* What is traced; 0 = tracing off. One global, so the off path is one predictable branch. */
extern unsigned trace_mask;
extern int trace_fd;        /* where lines go; -1 while nothing is traced or counted */
#ifdef SGXEMU_NO_TRACE
/* A build without the trace calls, for make bench's comparison: the compiler drops them. */
#define TRACE_ON(cat) ((void)(cat), 0)
#else
#define TRACE_ON(cat) __builtin_expect((trace_mask & (cat)) != 0, 0)
#endif

/* "ioctl,enclu" -> mask; "1", "all", "" -> TRACE_ALL; "0" -> 0. -1 on an unknown name. */
int trace_parse(const char *s, unsigned *mask);
/* The category list of mask, "all", or "none" into buf. */
void trace_describe(unsigned mask, char *buf, unsigned len);
/* Start tracing as cfg says: opens the trace file and, for a file, writes this process's
 * header (pid, command line, version, configuration, filter). Not for signal handlers. */
void trace_start(const struct sgxemu_config *cfg, const char *version);
/* In the child of a fork: its own header in the trace file, its own summary. */
void trace_forked(void);

/* Supports %s %d %u %x %lx %lu %ld %llx %p and %%. Prefixes time and thread, appends a
 * newline. */
void trace_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define TRACEC(cat, ...) do { if (TRACE_ON(cat)) trace_printf(__VA_ARGS__); } while (0)
#define TRACE(...) TRACEC(TRACE_MISC, __VA_ARGS__)
/* Always printed (errors), "sgxemu: " and the message. */
void sgxemu_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic nanoseconds (clock_gettime, async-signal-safe). */
uint64_t trace_now(void);

/* --trace-summary: one call of what, of kind TRACE_STAT_*, named name (a static string),
 * failed or not, taking ns. Lock-free. */
enum { TRACE_STAT_IOCTL, TRACE_STAT_ENCLS, TRACE_STAT_ENCLU, TRACE_STAT_KINDS };
void trace_count(unsigned kind, unsigned what, const char *name, bool failed, uint64_t ns);
/* The table, to trace_fd (at exit; not for signal handlers). */
void trace_summary_print(void);

/* snprintf for signal handlers (the trace formatter's conversions): returns buf. */
const char *trace_fmt(char *buf, unsigned len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Decoders for trace lines: write into buf (len bytes), return buf. */
const char *trace_secinfo(char *buf, unsigned len, uint64_t flags);  /* "R|X,PT_REG" */
const char *trace_prot(char *buf, unsigned len, unsigned long prot); /* "PROT_READ|PROT_EXEC" */
const char *trace_attributes(char *buf, unsigned len, uint64_t flags); /* "DEBUG|MODE64BIT" */
const char *trace_xfrm(char *buf, unsigned len, uint64_t xfrm);      /* "X87|SSE|AVX" */
const char *trace_pf_error(char *buf, unsigned len, uint32_t err);  /* "PRESENT|WRITE|USER|SGX" */
const char *trace_page_type(unsigned type);                          /* 2 -> "PT_REG" */
const char *trace_errno_name(long err);                             /* 13 -> "EACCES" */

#endif
