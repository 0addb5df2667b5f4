/* EENTER with a program's own ENCLU and AEP, as SGX runtimes without the vDSO do (the Intel
 * SDK's urts, Gramine). */
#ifndef SGXEMU_TESTS_BARE_ENCLU_H
#define SGXEMU_TESTS_BARE_ENCLU_H

#include <stdint.h>

/* bare_eenter(tcs, arg): EENTER with RBX = tcs, RDI = arg and the ENCLU itself as the AEP.
 * The enclave EEXITs to the instruction after the ENCLU (the RCX it got at EENTER). */
int bare_eenter(uint64_t tcs, void *arg);
extern const char bare_aep[];

__asm__(
	".pushsection .text\n"
	".globl bare_eenter\n"
	".type bare_eenter, @function\n"
	"bare_eenter:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rdi, %rbx\n"
	"	mov %rsi, %rdi\n"
	"	lea bare_aep(%rip), %rcx\n"
	"	mov $2, %eax\n"
	".globl bare_aep\n"
	"bare_aep:\n"
	"	.byte 0x0f, 0x01, 0xd7\n" /* ENCLU */
	"	lea -40(%rbp), %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	".size bare_eenter, . - bare_eenter\n"
	".popsection\n");

#endif
