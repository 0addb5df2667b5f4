/* A library whose constructor runs before sgxemu's preload does (a DT_NEEDED library of the
 * program is initialised first) and makes system calls sgxemu's seccomp filter traps, with
 * bare SYSCALLs, as ASan's runtime does at start: a SIGSEGV handler, a mask that blocks SIGSYS
 * among others, an O_RDWR open. In a process that inherited the filter, only the boot shim
 * (host/boot/) stands between these calls and a fatal SIGSYS. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>

#include "tests/lib/rawcall.h"

volatile int early_hits;
int early_ran;

void early_handler(int sig, siginfo_t *si, void *uc);
void early_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	early_hits++;
	rawcall(SYS_mprotect, (uintptr_t)si->si_addr & ~4095UL, 4096, PROT_READ | PROT_WRITE);
}

extern void early_restore_rt(void);
__asm__(".pushsection .text\n"
	".globl early_restore_rt\n"
	"early_restore_rt:\n"
	"	mov $15, %eax\n"
	"	syscall\n"
	".popsection\n");

__attribute__((constructor)) static void early_ctor(void)
{
	struct {
		uint64_t handler, flags, restorer, mask;
	} sa = { (uint64_t)(uintptr_t)early_handler, SA_SIGINFO | 0x04000000, (uint64_t)(uintptr_t)early_restore_rt, 0 };
	uint64_t block = (1ULL << (SIGSYS - 1)) | (1ULL << (SIGUSR1 - 1));
	long fd;

	if (rawcall6(SYS_rt_sigaction, SIGSEGV, (long)&sa, 0, 8, 0, 0))
		return;
	if (rawcall6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&block, 0, 8, 0, 0))
		return;
	fd = rawcall(SYS_open, "/dev/null", O_RDWR, 0);
	if (fd < 0)
		return;
	rawcall(SYS_close, fd, 0, 0);
	early_ran = 1;
}
