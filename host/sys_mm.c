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

/* The host's MAP_FIXED mmap as sgx_mmap_over's callback. */
struct mmap_args {
	uint64_t addr, len;
	int prot, flags, fd;
	uint64_t off;
};

static long mmap_args_call(void *ctx)
{
	const struct mmap_args *a = ctx;

	return mmap_raw(a->addr, a->len, a->prot, a->flags, a->fd, a->off);
}

long sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	unsigned fmode = 0;
	struct sgx_file *f = (flags & MAP_ANONYMOUS) ? NULL : fd_get(fd, &fmode);
	long r;

	if (f) {
		/* One call for every device file, with the offset and access mode. */
		r = sgx_mmap(f, addr, len, personality_prot(prot), flags, off,
			     ((fmode & FD_MODE_READ) ? SGX_FMODE_READ : 0) |
				     ((fmode & FD_MODE_WRITE) ? SGX_FMODE_WRITE : 0));
		sgx_file_put(f);
		if (r >= 0 && (prot & PROT_EXEC))
			gdb_enclave_changed();
		return r;
	}
	if (host_active && (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE) && len &&
	    sgx_range_is_enclave(addr, PAGE_ROUND(len))) {
		/* Replacing is atomic: the driver forgets the enclave mappings in the
		 * range only once the kernel's MAP_FIXED mmap has replaced them. */
		struct mmap_args a = { addr, len, prot, flags, fd, off };

		return sgx_mmap_over(addr, len, mmap_args_call, &a);
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

/* Enclave and vEPC mappings answer madvise as their VMAs do on Linux; the EPC
 * behind them is never dropped by the kernel's madvise. */
long sys_madvise(uint64_t addr, uint64_t len, int advice)
{
	long r;

	if (host_active && sgx_madvise(addr, len, advice, &r))
		return r;
	return SYS_PASS;
}

/* The driver answers for enclave and vEPC mappings, or unmaps them from the
 * ranges the kernel's mremap unmaps before the kernel's mremap runs. */
long sys_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr)
{
	long r;

	if (host_active && sgx_mremap(old, old_len, new_len, flags, new_addr, &r))
		return r;
	return SYS_PASS;
}
