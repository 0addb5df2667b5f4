/* Maps our vDSO image as early as the preload can run anything: while ld.so relocates the
 * preload, before any library's constructor. A library whose constructor runs before ours
 * (a dependency of the program, such as the Intel SDK's urts) and reads AT_SYSINFO_EHDR from
 * its stack then already finds our image; one that calls getauxval would also be served by
 * the interposed getauxval mapping it lazily.
 *
 * The hook is the resolver of an IFUNC that the preload refers to: ld.so resolves it when it
 * relocates the preload, after the libraries the preload depends on are relocated (and
 * glibc's __libc_stack_end is set) and before any constructor. Nothing it calls may use the
 * stack protector (TLS may not be usable yet), errno or locks: vdso_map is written that way.
 * Under AddressSanitizer the instrumented code cannot run before the sanitizer's own
 * initialisation, so there the hook is left out and the first getauxval or the constructor
 * maps the image. */
#include "host/vdso.h"

#if !defined(__SANITIZE_ADDRESS__)

static void vdso_early_done(void)
{
}

static void (*vdso_early_resolve(void))(void)
{
	vdso_map();
	return vdso_early_done;
}

static void vdso_early(void) __attribute__((ifunc("vdso_early_resolve")));

/* The reference that makes ld.so resolve the IFUNC at load time (an IRELATIVE relocation). */
__attribute__((used)) static void (*const vdso_early_ref)(void) = vdso_early;

#endif
