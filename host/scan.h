/* Whether loaded code makes system calls without libc (host/scan.c). */
#ifndef SGXEMU_HOST_SCAN_H
#define SGXEMU_HOST_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Search every loaded object but libc, the loader, the vDSO and sgxemu's own for a SYSCALL
 * instruction; true if one is found (its object's name goes to where), or if it cannot be
 * told (the filter is then turned on: a wrong yes costs speed, a wrong no correctness). */
bool scan_raw_syscalls(char *where, size_t len);

#endif
