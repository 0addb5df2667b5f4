/* Memory calls: mmap of the device files, and munmap/mprotect/madvise/mremap (and a MAP_FIXED
 * mmap of something else) where they touch enclave or vEPC mappings. Everything else goes to
 * the kernel unchanged. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/personality.h>

#include "driver/virt.h"
#include "host/fd.h"
#include "host/host.h"
#include "host/sys.h"
#include "util/rawsys.h"

#define PAGE_ROUND(x) (((x) + 4095) & ~4095UL)

static long mmap_raw(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	return raw_syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
}

/* What the kernel adds before any driver sees the call: READ_IMPLIES_EXEC (a personality some
 * old binaries run with) makes every readable mapping executable. */
static int personality_prot(int prot)
{
	long p = raw_syscall1(SYS_personality, 0xffffffff);

	if (!raw_is_err(p) && (p & READ_IMPLIES_EXEC) && (prot & PROT_READ))
		prot |= PROT_EXEC;
	return prot;
}

long sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	unsigned fmode = 0;
	struct sgx_file *f = (flags & MAP_ANONYMOUS) ? NULL : fd_get(fd, &fmode);
	long r;

	if (f) {
		prot = personality_prot(prot);
		if (sgx_file_kind(f) == SGX_FILE_VEPC)
			r = sgx_vepc_mmap(f, addr, len, prot, flags, off,
					  ((fmode & FD_MODE_READ) ? VEPC_FMODE_READ : 0) |
						  ((fmode & FD_MODE_WRITE) ? VEPC_FMODE_WRITE : 0));
		else if (sgx_file_kind(f) == SGX_FILE_ENCLAVE)
			r = sgx_mmap(f, addr, len, prot, flags);
		else
			r = -ENODEV;
		sgx_file_put(f);
		return r;
	}
	if (host_active && (flags & MAP_FIXED) && len && sgx_range_is_enclave(addr, PAGE_ROUND(len))) {
		long ignored;

		sgx_munmap(addr, len, &ignored);
		return mmap_raw(addr, len, prot, flags, fd, off);
	}
	return SYS_PASS;
}

long sys_munmap(uint64_t addr, uint64_t len)
{
	long r;

	if (host_active && sgx_munmap(addr, len, &r))
		return r;
	return SYS_PASS;
}

long sys_mprotect(uint64_t addr, uint64_t len, int prot)
{
	long r;

	if (host_active && sgx_range_is_enclave(addr, PAGE_ROUND(len ? len : 1)) &&
	    sgx_mprotect(addr, len, personality_prot(prot), &r))
		return r;
	return SYS_PASS;
}

long sys_madvise(uint64_t addr, uint64_t len, int advice)
{
	(void)addr;
	(void)len;
	(void)advice;
	return SYS_PASS;
}

long sys_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr)
{
	/* old_len 0 asks for a second mapping of the same shared pages: the range is still the
	 * page at old. */
	if (host_active && sgx_range_is_enclave(old, PAGE_ROUND(old_len ? old_len : 1))) {
		long r;

		/* VM_DONTEXPAND|VM_PFNMAP: no growing, no moving; shrinking unmaps the tail. */
		if (flags & MREMAP_DONTUNMAP)
			return -EINVAL;
		if (new_len > old_len || (flags & MREMAP_FIXED))
			return -EFAULT;
		if (new_len < old_len)
			sgx_munmap(old + PAGE_ROUND(new_len), old_len - PAGE_ROUND(new_len), &r);
		return (long)old;
	}
	(void)new_addr;
	return SYS_PASS;
}
