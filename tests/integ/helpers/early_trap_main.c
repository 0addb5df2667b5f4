/* Run by test_raw_processes in a process that inherits sgxemu's seccomp filter: its library's
 * constructor (early_trap_lib.c) made filtered calls before the preload started. Exits 0 if
 * they all worked and what they set up is the program's: the SIGSEGV handler, the mask. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/rawcall.h"

extern volatile int early_hits;
extern int early_ran;
void early_handler(int sig, siginfo_t *si, void *uc);

int main(void)
{
	struct sigaction sa;
	sigset_t mask;
	volatile int *p;
	long fd;

	if (!early_ran)
		return 10;
	if (sigaction(SIGSEGV, NULL, &sa) || sa.sa_sigaction != early_handler)
		return 11;
	if (sigprocmask(SIG_BLOCK, NULL, &mask) || !sigismember(&mask, SIGUSR1))
		return 12;
	p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 13;
	*p = 5;
	if (early_hits != 1 || *p != 5)
		return 14;
	/* And the preload is there: the device opens, with a bare open too. */
	fd = rawcall(SYS_open, "/dev/sgx_enclave", O_RDWR, 0);
	if (fd < 0)
		return 15;
	return 0;
}
