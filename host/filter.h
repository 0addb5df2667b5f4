/* The seccomp filter that brings system calls made without libc to sgxemu (host/filter.c). */
#ifndef SGXEMU_HOST_FILTER_H
#define SGXEMU_HOST_FILTER_H

#include <stdbool.h>
#include <stdint.h>

/* SECCOMP_RET_DATA of our traps (the SIGSYS's si_errno): tells them from a program's own
 * filter's. */
#define FILTER_TAG 0x5347

/* Turn the filter on for this process (and, as seccomp does, every descendant): adopt one
 * inherited across execve, or install it. 0, or -errno (the reason is reported). Needs the
 * gate (host/gate.h) and our SIGSYS handler in place. */
int filter_enable(void);
/* Adopt a filter inherited across execve, if there is one; whether there was. */
bool filter_adopt(void);
/* The "auto" setting: turn the filter on if loaded code makes system calls without libc
 * (host/scan.c). Called at start and after each dlopen. */
void filter_consider(void);
/* Whether the filter is on in this process. */
bool filter_active(void);
/* Counted by the SIGSYS handler for each trap of ours (the inherited-filter probe uses it). */
void filter_count_trap(void);

#endif
