/* The host's side of the trace: start-up, the exit-time summary, and ioctl lines decoded
 * like strace's (util/trace.h has the formatter and categories). */
#ifndef SGXEMU_HOST_TRACER_H
#define SGXEMU_HOST_TRACER_H

#include <stdint.h>

#include "util/trace.h"

/* Open the trace as host_cfg says and arrange the summary at exit. */
void host_trace_start(void);
/* Start of an ioctl to trace or count: a timestamp, 0 when tracing is off. */
#define HOST_TRACE_IOCTL_T0() (TRACE_ON(TRACE_IOCTL | TRACE_SUMMARY) ? trace_now() : 0)
/* Its end: the line "SGX_IOC_...(fd, {...}) = r" and the count. */
void host_trace_ioctl(int fd, unsigned int cmd, unsigned long arg, long r, uint64_t t0);

#endif
