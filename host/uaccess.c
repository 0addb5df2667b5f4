/* Faultless copies of program memory (host/uaccess.h). */
#include "host/uaccess.h"

#include <errno.h>
#include <sys/uio.h>

#include "util/rawsys.h"

static long self_pid(void)
{
	return raw_syscall0(SYS_getpid);
}

int host_copy_in(void *dst, uint64_t src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)(uintptr_t)src, len };

	if (!len)
		return 0;
	if (src + len < src ||
	    raw_syscall6(SYS_process_vm_readv, self_pid(), (long)&l, 1, (long)&r, 1, 0) != (long)len)
		return -EFAULT;
	return 0;
}

int host_copy_out(uint64_t dst, const void *src, size_t len)
{
	struct iovec l = { (void *)src, len }, r = { (void *)(uintptr_t)dst, len };

	if (!len)
		return 0;
	if (dst + len < dst ||
	    raw_syscall6(SYS_process_vm_writev, self_pid(), (long)&l, 1, (long)&r, 1, 0) != (long)len)
		return -EFAULT;
	return 0;
}

long host_copy_str(char *dst, uint64_t src, size_t len)
{
	size_t n = 0;

	/* Page by page: a string may end just before an unmapped page. */
	while (n < len) {
		size_t chunk = 4096 - ((src + n) & 4095);

		if (chunk > len - n)
			chunk = len - n;
		if (host_copy_in(dst + n, src + n, chunk))
			return -EFAULT;
		for (size_t i = 0; i < chunk; i++)
			if (!dst[n + i])
				return (long)(n + i);
		n += chunk;
	}
	return -ENAMETOOLONG;
}
