/* Maps the syscall gate (host/gate.h) at its fixed address. */
#include "host/gate.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "util/rawsys.h"

static const unsigned char gate_code[] = GATE_CODE_BYTES;
static int active;

int gate_init(void)
{
	long p;

	if (active)
		return 0;
	p = raw_syscall6(SYS_mmap, GATE_ADDR, GATE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == -EEXIST) {
		/* Mapped before us in this image: by the boot shim, if it holds our bytes (read
		 * without touching it: it may be anything, even PROT_NONE). */
		unsigned char seen[sizeof(gate_code)];
		struct iovec l = { seen, sizeof(seen) }, r = { (void *)GATE_ADDR, sizeof(seen) };

		if (raw_syscall6(SYS_process_vm_readv, raw_syscall0(SYS_getpid), (long)&l, 1, (long)&r,
				 1, 0) != (long)sizeof(seen) ||
		    memcmp(seen, gate_code, sizeof(gate_code)))
			return -EEXIST;
	} else if (raw_is_err(p) || (unsigned long)p != GATE_ADDR) {
		if (!raw_is_err(p))
			raw_syscall2(SYS_munmap, p, GATE_SIZE);
		return raw_is_err(p) ? (int)p : -EEXIST;
	} else {
		memcpy((void *)GATE_ADDR, gate_code, sizeof(gate_code));
		if (raw_syscall3(SYS_mprotect, GATE_ADDR, GATE_SIZE, PROT_READ | PROT_EXEC)) {
			raw_syscall2(SYS_munmap, GATE_ADDR, GATE_SIZE);
			return -EPERM;
		}
	}
	raw_syscall_fn = (raw_syscall_t *)(GATE_ADDR + GATE_FN_OFF);
	active = 1;
	return 0;
}

int gate_active(void)
{
	return active;
}
