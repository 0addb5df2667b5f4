/* /proc/cpuinfo as Linux shows it on a CPU with SGX: the host's text, with the flags "sgx" and
 * "sgx_lc" in every processor's "flags" line when our CPUID reports them (CPUID.7.0:EBX[2],
 * CPUID.7.0:ECX[30]). Programs that open the file through libc get a read-only fd on a sealed
 * memfd holding that text. */
#ifndef SGXEMU_HOST_CPUINFO_H
#define SGXEMU_HOST_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>

/* Whether an open(at) of path with flags is one we answer: "/proc/cpuinfo", read-only, while
 * the emulation is on. */
bool cpuinfo_wants(int dirfd, const char *path, int flags);
/* The same for an fopen mode ("r", "re", "rb"...; not "r+"). */
bool cpuinfo_wants_stdio(const char *path, const char *mode);
/* A new fd open for reading at offset 0 (O_CLOEXEC and O_NONBLOCK taken from flags) on the
 * edited text; the host's own file if the copy cannot be made; or -errno. */
int cpuinfo_open(int flags);

/* The edit itself: in (n bytes) into out, which must hold cpuinfo_edit_max(in, n) bytes.
 * sgx / sgx_lc say which flags to add; a flag already there is not added twice. Each goes
 * where the kernel prints it (flags are listed in the order of the kernel's capability
 * words): "sgx" among the CPUID.7.0:EBX flags after fsgsbase/tsc_adjust, "sgx_lc" after the
 * CPUID.7.0:ECX flags below bit 30; at the end of the line if no neighbour is present.
 * vendor (at most 12 characters; NULL: keep the host's) replaces every vendor_id value.
 * Returns the length written. */
size_t cpuinfo_edit_max(const char *in, size_t n);
size_t cpuinfo_edit(const char *in, size_t n, char *out, bool sgx, bool sgx_lc,
		    const char *vendor);

#endif
