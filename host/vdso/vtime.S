/* The time, CPU and random-number functions every x86-64 Linux vDSO exports, with the
 * kernel's C ABI: each one jumps to the same function of the host's real vDSO (its address
 * is in our data page, host/vdso/vdso_data.h) so the result is the host's own; with no such
 * function it makes the system call the kernel's vDSO falls back to, and returns its result
 * (a negative errno on failure), as the vDSO does. Arguments are in RDI, RSI, RDX: the same
 * registers the system call takes them in.
 *
 * Like the rest of the image: RIP-relative references only, no relocations. */
#include <asm/unistd_64.h>

#include "host/vdso/vdso_data.h"

#define ENOSYS	38

/* FORWARD name, slot, nr: __vdso_<name> plus the weak alias <name>, as the kernel has them. */
.macro FORWARD name, slot, nr
	.globl	__vdso_\name
	.type	__vdso_\name, @function
	.p2align 4
__vdso_\name:
	.cfi_startproc
	mov	__sgxemu_vdso_data+\slot(%rip), %rax
	test	%rax, %rax
	jz	1f
	jmp	*%rax			/* a tail call: the host's function returns to our caller */
1:
	.ifb \nr
	mov	$-ENOSYS, %rax
	.else
	mov	$\nr, %eax
	syscall
	.endif
	ret
	.cfi_endproc
	.size	__vdso_\name, . - __vdso_\name

	.weak	\name
	.type	\name, @function
	.set	\name, __vdso_\name
	.size	\name, . - __vdso_\name
.endm

	.text
	FORWARD	clock_gettime,	VDSO_DATA_CLOCK_GETTIME, __NR_clock_gettime
	FORWARD	gettimeofday,	VDSO_DATA_GETTIMEOFDAY,	__NR_gettimeofday
	FORWARD	time,		VDSO_DATA_TIME,		__NR_time
	FORWARD	getcpu,		VDSO_DATA_GETCPU,	__NR_getcpu
	FORWARD	clock_getres,	VDSO_DATA_CLOCK_GETRES,	__NR_clock_getres
	/* No system call has the vDSO getrandom's interface (its opaque state); the preload
	 * leaves the symbol undefined in its copy when the host's vDSO lacks it. */
	FORWARD	getrandom,	VDSO_DATA_GETRANDOM

	.section .note.GNU-stack, "", @progbits
