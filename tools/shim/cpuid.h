/* sgxemu's cpuid.h shim. `sgxemu cflags` puts this directory first on the include path, so a
 * program compiled with it gets the compiler's own <cpuid.h> plus these overrides of __cpuid,
 * __cpuid_count, __get_cpuid_max, __get_cpuid, __get_cpuid_count and __cpuidex: when the
 * sgxemu preload (libsgxemu.so) is in the process they answer with the emulated CPU's values
 * (which report SGX), otherwise with the real CPU's. This is needed where the host cannot fault
 * on CPUID (AMD, most VMs), because the CPUID instruction cannot be interposed by LD_PRELOAD.
 *
 * The emulator is found at run time with dlsym(RTLD_DEFAULT, "sgxemu_cpuid"), so the program
 * neither links against sgxemu nor needs it to run. The macros keep the compiler's semantics:
 * the register arguments are lvalues that the macro assigns, each argument evaluated once. */

/* Treat this file as a system header: no warnings from it under the includer's -Wall -Werror,
 * -Wpedantic (#include_next) or -Wshadow. */
#pragma GCC system_header

#include_next <cpuid.h>

#ifndef SGXEMU_SHIM_CPUID_H
#define SGXEMU_SHIM_CPUID_H

#include <dlfcn.h>

#ifdef RTLD_DEFAULT
#define __SGXEMU_RTLD_DEFAULT RTLD_DEFAULT
#else /* dlfcn.h defines it only with _GNU_SOURCE; it is a null handle on glibc and musl */
#define __SGXEMU_RTLD_DEFAULT ((void *)0)
#endif

typedef int (*__sgxemu_cpuid_fn)(unsigned int __leaf, unsigned int __subleaf,
				 unsigned int __regs[4]);

/* The emulator's entry point, looked up once per translation unit. A race between threads
 * only repeats the lookup; the atomics keep it well defined. */
static __inline__ __sgxemu_cpuid_fn __attribute__((__unused__))
__sgxemu_cpuid_lookup(void)
{
	static char __absent;        /* its address marks "looked up, not there" */
	static void *__cached;
	void *__p = __atomic_load_n(&__cached, __ATOMIC_ACQUIRE);

	if (!__p) {
		__p = dlsym(__SGXEMU_RTLD_DEFAULT, "sgxemu_cpuid");
		if (!__p)
			__p = &__absent;
		__atomic_store_n(&__cached, __p, __ATOMIC_RELEASE);
	}
	if (__p == (void *)&__absent)
		return 0;
	return __extension__(__sgxemu_cpuid_fn)__p;
}

/* One CPUID query: the emulator's answer if it gives one, else the real instruction. */
static __inline__ void __attribute__((__unused__))
__sgxemu_cpuid_query(unsigned int __leaf, unsigned int __subleaf, unsigned int __r[4])
{
	__sgxemu_cpuid_fn __fn = __sgxemu_cpuid_lookup();

	if (__fn && __fn(__leaf, __subleaf, __r) == 0)
		return;
	__asm__ __volatile__("cpuid"
			     : "=a"(__r[0]), "=b"(__r[1]), "=c"(__r[2]), "=d"(__r[3])
			     : "0"(__leaf), "2"(__subleaf));
}

static __inline__ unsigned int __attribute__((__unused__))
__sgxemu_get_cpuid_max(unsigned int __ext, unsigned int *__sig)
{
	unsigned int __r[4];

#ifndef __x86_64__
	/* The compiler's version also tells whether the CPU has CPUID at all (old i386). */
	if (__get_cpuid_max(0, 0) == 0)
		return 0;
#endif
	__sgxemu_cpuid_query(__ext, 0, __r);
	if (__sig)
		*__sig = __r[1];
	return __r[0];
}

static __inline__ int __attribute__((__unused__))
__sgxemu_get_cpuid_count(unsigned int __leaf, unsigned int __subleaf, unsigned int *__eax,
			 unsigned int *__ebx, unsigned int *__ecx, unsigned int *__edx)
{
	unsigned int __r[4];
	unsigned int __max = __sgxemu_get_cpuid_max(__leaf & 0x80000000U, 0);

	if (__max == 0 || __leaf > __max)
		return 0;
	__sgxemu_cpuid_query(__leaf, __subleaf, __r);
	*__eax = __r[0];
	*__ebx = __r[1];
	*__ecx = __r[2];
	*__edx = __r[3];
	return 1;
}

static __inline__ void __attribute__((__unused__))
__sgxemu_cpuidex(int __info[4], int __leaf, int __subleaf)
{
	unsigned int __r[4];

	__sgxemu_cpuid_query((unsigned int)__leaf, (unsigned int)__subleaf, __r);
	__info[0] = (int)__r[0];
	__info[1] = (int)__r[1];
	__info[2] = (int)__r[2];
	__info[3] = (int)__r[3];
}

#undef __cpuid
#undef __cpuid_count
#undef __get_cpuid_max
#undef __get_cpuid
#undef __get_cpuid_count
#undef __cpuidex

/* A statement, like the compiler's asm-statement macros. The values go into the caller's
 * lvalues through an empty asm with the same output operands as the compiler's macro, so any
 * lvalue it accepts works here, with the same (absent) conversion and set-but-unused warnings. */
#define __cpuid_count(level, count, a, b, c, d)                                        \
	do {                                                                           \
		unsigned int __sgxemu_r_[4];                                           \
		__sgxemu_cpuid_query((level), (count), __sgxemu_r_);                   \
		__asm__("" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)                        \
			: "0"(__sgxemu_r_[0]), "1"(__sgxemu_r_[1]), "2"(__sgxemu_r_[2]), \
			  "3"(__sgxemu_r_[3]));                                        \
	} while (0)
/* Sub-leaf 0 where none is given (the instruction would see whatever ECX held). */
#define __cpuid(level, a, b, c, d) __cpuid_count((level), 0, a, b, c, d)

/* The compiler defines these as inline functions; calls written after this point use ours. */
#define __get_cpuid_max(ext, sig) __sgxemu_get_cpuid_max((ext), (sig))
#define __get_cpuid_count(leaf, subleaf, a, b, c, d)                                   \
	__sgxemu_get_cpuid_count((leaf), (subleaf), (a), (b), (c), (d))
#define __get_cpuid(leaf, a, b, c, d) __sgxemu_get_cpuid_count((leaf), 0, (a), (b), (c), (d))
#define __cpuidex(info, leaf, subleaf) __sgxemu_cpuidex((info), (leaf), (subleaf))

#endif
