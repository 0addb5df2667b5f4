/* What a debugger needs from the preload (sgxemu gdb, scripts/sgxemu-gdb.py):
 *
 * - sgxemu_gdb_stat: the status image (include/sgxemu_stat.h), which lists the enclaves with
 *   their base, size and whether they are initialised and DEBUG; the gdb script reads it.
 * - sgxemu_gdb_enclave_loaded(path, base): called after an enclave was initialised or its code
 *   mapped (path NULL, base 0: "look again") and by loaders that know the ELF an enclave was built from
 *   (lib/encl_loader.c finds it with dlsym); it does nothing, gdb breaks on it.
 * - when the process is ptraced from its start, the driver maps DEBUG enclaves so that
 *   ptrace reads and writes (software breakpoints) reach the code the CPU runs
 *   (sgx_debug_mappings). A production enclave is mapped as always.
 *
 * Nothing here runs in a trap path. */
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>

#include "host/host.h"
#include "include/sgxemu_stat.h"
#include "sgxemu.h"
#include "util/rawsys.h"

__attribute__((visibility("default"), used)) struct sgxemu_stat *volatile sgxemu_gdb_stat;

__attribute__((visibility("default"), noinline, used)) void
sgxemu_gdb_enclave_loaded(const char *path, uint64_t base)
{
	/* Keep the call and its arguments: the debugger reads them at the breakpoint. */
	__asm__ volatile("" : : "r"(path), "r"(base) : "memory");
}

/* TracerPid in /proc/self/status: nonzero when a debugger started us (or attached). */
static bool traced(void)
{
	char buf[2048], *p;
	long fd = raw_syscall3(SYS_open, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0), n;

	if (fd < 0)
		return false;
	n = raw_syscall3(SYS_read, fd, buf, sizeof(buf) - 1);
	raw_syscall1(SYS_close, fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strstr(buf, "\nTracerPid:");
	if (!p)
		return false;
	p += strlen("\nTracerPid:");
	while (*p == ' ' || *p == '\t')
		p++;
	return *p && *p != '0';
}

void gdb_init(void)
{
	if (traced())
		sgx_debug_mappings(true);
}

void gdb_stat_image(struct sgxemu_stat *st)
{
	sgxemu_gdb_stat = st;
}

void gdb_enclave_changed(void)
{
	sgxemu_gdb_enclave_loaded(NULL, 0);
}
