/* __vdso_sgx_enter_enclave with the ABI of the Linux vDSO (see spec/linux.md §7).
 *
 * int __vdso_sgx_enter_enclave(unsigned long rdi, unsigned long rsi, unsigned long rdx,
 *                              unsigned int function, unsigned long r8, unsigned long r9,
 *                              struct sgx_enclave_run *run);
 *
 * This image is copied to an arbitrary address, so everything here is RIP-relative and
 * refers to local labels and the data page only: no GOT, no PLT, no dynamic relocations. */

/* struct sgx_enclave_run */
#define RUN_TCS		0
#define RUN_FUNCTION	8
#define RUN_VECTOR	12
#define RUN_ERROR_CODE	14
#define RUN_ADDR	16
#define RUN_HANDLER	24
#define RUN_RESERVED	40
#define RUN_SIZE	256

/* After the prologue the 7th argument sits above the saved RBP and the return address. */
#define RUN_PTR		16(%rbp)
#define SAVED_RBX	-8(%rbp)

#include "host/vdso/vdso_data.h"

#define LEAF_EENTER	2
#define LEAF_ERESUME	3
#define LEAF_EEXIT	4
#define EINVAL		22

	.text
	.globl	__vdso_sgx_enter_enclave
	.type	__vdso_sgx_enter_enclave, @function
	.globl	__sgxemu_vdso_enclu
	.type	__sgxemu_vdso_enclu, @function
	.globl	__sgxemu_vdso_fixup
	.type	__sgxemu_vdso_fixup, @function

	.p2align 4
__vdso_sgx_enter_enclave:
	.cfi_startproc
	push	%rbp
	.cfi_adjust_cfa_offset	8
	.cfi_rel_offset		%rbp, 0
	mov	%rsp, %rbp
	.cfi_def_cfa_register	%rbp
	push	%rbx
	.cfi_rel_offset		%rbx, -8

.Lcheck_leaf:
	/* Unsigned, and before run is touched: 0, 1, 4 and negative values are all -EINVAL. */
	cmp	$LEAF_EENTER, %ecx
	jb	.Linvalid
	cmp	$LEAF_ERESUME, %ecx
	ja	.Linvalid
	mov	%ecx, %eax

	/* run->reserved must be zero, re-checked on every (re-)entry. RDI, RSI, RDX, R8, R9 go
	 * to the enclave untouched, so only RBX and RCX are used here. */
	mov	RUN_PTR, %rbx
	mov	$RUN_RESERVED, %ecx
.Lcheck_reserved:
	cmpq	$0, (%rbx, %rcx)
	jne	.Linvalid
	add	$8, %ecx
	cmp	$RUN_SIZE, %ecx
	jb	.Lcheck_reserved

	mov	RUN_TCS(%rbx), %rbx
	/* The AEP is this very ENCLU: after a transparent AEX it re-executes with EAX=ERESUME. */
	lea	.Lenclu(%rip), %rcx
	/* An emulator that can enter without a trap (its address in the data page) is called
	 * with the registers of the ENCLU; it does not return when it entered, and returns to
	 * run the ENCLU otherwise. */
	cmpq	$0, __sgxemu_vdso_data+VDSO_DATA_DIRECT(%rip)
	je	.Lenclu
	call	*__sgxemu_vdso_data+VDSO_DATA_DIRECT(%rip)
__sgxemu_vdso_enclu:
.Lenclu:
	.byte	0x0f, 0x01, 0xd7		/* ENCLU */

	/* EEXIT lands on the instruction after ENCLU (its address was RCX at EENTER). The
	 * enclave chose RSP; RBP must be ours again, it is how run is found. */
	mov	RUN_PTR, %rbx
	movl	$LEAF_EEXIT, RUN_FUNCTION(%rbx)
	jmp	.Ldone

	/* The emulator enters here instead of the kernel's exception fixup: EAX = leaf,
	 * RDI = vector, RSI = error code, RDX = fault address, RSP/RBP as at the ENCLU. */
__sgxemu_vdso_fixup:
	mov	RUN_PTR, %rbx
	mov	%eax, RUN_FUNCTION(%rbx)
	mov	%di, RUN_VECTOR(%rbx)
	mov	%si, RUN_ERROR_CODE(%rbx)
	mov	%rdx, RUN_ADDR(%rbx)

.Ldone:
	/* RBX = run. Without a handler both EEXIT and a reported exception return 0. */
	cmpq	$0, RUN_HANDLER(%rbx)
	jne	.Lcall_handler
	xor	%eax, %eax
	jmp	.Lreturn

.Lcall_handler:
	/* handler(rdi, rsi, rdx, ursp, r8, r9, run): RDI/RSI/RDX/R8/R9 are the values at exit,
	 * ursp is the RSP the enclave left. The stack is aligned for the call whatever RSP is;
	 * RBX (callee-saved) keeps the unaligned RSP across the handler. */
	mov	%rsp, %rcx
	mov	%rbx, %rax
	mov	%rsp, %rbx
	and	$-16, %rsp
	push	%rax			/* padding: keeps RSP 16-aligned at the CALL */
	push	%rax			/* 7th argument */
	cld
	mov	RUN_HANDLER(%rax), %rax
	lfence				/* no speculation into a stale handler pointer */
	call	*%rax
	mov	%rbx, %rsp

	/* A non-positive result goes to the caller; a positive one is the next leaf. */
	test	%eax, %eax
	jle	.Lreturn
	mov	%eax, %ecx
	jmp	.Lcheck_leaf

.Linvalid:
	mov	$-EINVAL, %eax
.Lreturn:
	mov	SAVED_RBX, %rbx
	leave
	.cfi_def_cfa		%rsp, 8
	.cfi_same_value		%rbp
	.cfi_same_value		%rbx
	ret
	.cfi_endproc

	.size	__vdso_sgx_enter_enclave, . - __vdso_sgx_enter_enclave
	.size	__sgxemu_vdso_enclu, 3
	.size	__sgxemu_vdso_fixup, .Ldone - __sgxemu_vdso_fixup

	.section .note.GNU-stack, "", @progbits
