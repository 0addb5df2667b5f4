/* Copies to and from the program's memory that fail with EFAULT instead of crashing, as the
 * kernel's copy_from_user does: process_vm_readv/writev on ourselves. */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "driver/internal.h"

int copy_from_user(void *dst, uint64_t src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)(uintptr_t)src, len };

	if (len == 0)
		return 0;
	if (src + len < src || process_vm_readv(getpid(), &l, 1, &r, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

int copy_to_user(uint64_t dst, const void *src, size_t len)
{
	struct iovec l = { (void *)src, len }, r = { (void *)(uintptr_t)dst, len };

	if (len == 0)
		return 0;
	if (dst + len < dst || process_vm_writev(getpid(), &l, 1, &r, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}
