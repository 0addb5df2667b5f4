/* The plain SYSCALL behind raw_syscall_fn until the preload installs its gate. */
#include "util/rawsys.h"

__asm__(".pushsection .text\n"
	".globl raw_syscall_local\n"
	".hidden raw_syscall_local\n"
	".type raw_syscall_local, @function\n"
	"raw_syscall_local:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	mov %r8, %r10\n"
	"	mov %r9, %r8\n"
	"	mov 8(%rsp), %r9\n"
	"	syscall\n"
	"	ret\n"
	".size raw_syscall_local, . - raw_syscall_local\n"
	".popsection\n");

raw_syscall_t *raw_syscall_fn = raw_syscall_local;
