/* Copies from and to the program's memory that fail with -EFAULT instead of faulting, as the
 * kernel's copy_from_user does (process_vm_readv/writev on ourselves, through the gate: no
 * errno, usable in signal handlers). */
#ifndef SGXEMU_HOST_UACCESS_H
#define SGXEMU_HOST_UACCESS_H

#include <stddef.h>
#include <stdint.h>

int host_copy_in(void *dst, uint64_t src, size_t len);
int host_copy_out(uint64_t dst, const void *src, size_t len);
/* A NUL-terminated string of at most len-1 bytes: its length, -EFAULT, or -ENAMETOOLONG. */
long host_copy_str(char *dst, uint64_t src, size_t len);

#endif
