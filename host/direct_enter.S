/* EENTER without a trap. __vdso_sgx_enter_enclave calls sgxemu_direct_enclu in place of its
 * ENCLU, with RAX = leaf, RBX = TCS, RCX = the ENCLU's address (the AEP) and every other
 * register as the enclave must see it. We save them into a struct cpu_regs below the stack,
 * let host_direct_eenter run the leaf, and either jump into the enclave with the new state,
 * or, when it declines, restore everything and run the real ENCLU, whose trap handles all
 * the other cases (faults, ERESUME, tracing of errors). */

/* Offsets of struct cpu_regs (host/trap_direct.c checks them). */
#define R_RAX	0
#define R_RBX	8
#define R_RCX	16
#define R_RDX	24
#define R_RSI	32
#define R_RDI	40
#define R_RSP	48
#define R_RBP	56
#define R_R8	64
#define R_R9	72
#define R_R10	80
#define R_R11	88
#define R_R12	96
#define R_R13	104
#define R_R14	112
#define R_R15	120
#define R_RIP	128
#define R_RFL	136
#define FRAME	176	/* sizeof(struct cpu_regs) = 168, rounded to 16 */

/* Every register from the frame at RSP, flags first (nothing after it may change them), RSP
 * last. */
	.macro LOAD_REGS
	push	R_RFL(%rsp)
	popfq
	mov	R_RAX(%rsp), %rax
	mov	R_RBX(%rsp), %rbx
	mov	R_RCX(%rsp), %rcx
	mov	R_RDX(%rsp), %rdx
	mov	R_RSI(%rsp), %rsi
	mov	R_RDI(%rsp), %rdi
	mov	R_RBP(%rsp), %rbp
	mov	R_R8(%rsp), %r8
	mov	R_R9(%rsp), %r9
	mov	R_R10(%rsp), %r10
	mov	R_R11(%rsp), %r11
	mov	R_R12(%rsp), %r12
	mov	R_R13(%rsp), %r13
	mov	R_R14(%rsp), %r14
	mov	R_R15(%rsp), %r15
	mov	R_RSP(%rsp), %rsp
	.endm

	.text
	.globl	sgxemu_direct_enclu
	.hidden	sgxemu_direct_enclu
	.type	sgxemu_direct_enclu, @function
sgxemu_direct_enclu:
	/* Drop our return address: RSP is now the vDSO's, as at its ENCLU. */
	lea	8(%rsp), %rsp
	/* Below it: the red zone (unused by the vDSO, but leave it alone) and our frame. */
	lea	-(128 + FRAME)(%rsp), %rsp
	mov	%rax, R_RAX(%rsp)
	mov	%rbx, R_RBX(%rsp)
	mov	%rcx, R_RCX(%rsp)
	mov	%rdx, R_RDX(%rsp)
	mov	%rsi, R_RSI(%rsp)
	mov	%rdi, R_RDI(%rsp)
	mov	%rbp, R_RBP(%rsp)
	mov	%r8, R_R8(%rsp)
	mov	%r9, R_R9(%rsp)
	mov	%r10, R_R10(%rsp)
	mov	%r11, R_R11(%rsp)
	mov	%r12, R_R12(%rsp)
	mov	%r13, R_R13(%rsp)
	mov	%r14, R_R14(%rsp)
	mov	%r15, R_R15(%rsp)
	mov	%rcx, R_RIP(%rsp)		/* the ENCLU being executed */
	lea	(128 + FRAME)(%rsp), %rax
	mov	%rax, R_RSP(%rsp)
	pushfq
	pop	%rax
	mov	%rax, R_RFL(%rsp)
	cld
	/* Call with a 16-byte aligned stack; keep the frame pointer in a callee-saved register. */
	mov	%rsp, %rbx
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	host_direct_eenter
	mov	%rbx, %rsp
	test	%eax, %eax
	jnz	.Ldecline

	/* Entered: load the state the leaf produced. The target RIP goes just below the new RSP
	 * so that a final RET both switches the stack and jumps, without touching a register or
	 * the flags after POPFQ. */
	mov	R_RSP(%rsp), %rax
	mov	R_RIP(%rsp), %rcx
	mov	%rcx, -8(%rax)
	LOAD_REGS
	lea	-8(%rsp), %rsp
	ret

.Ldecline:
	/* Nothing changed: put every register back and execute the ENCLU itself. */
	LOAD_REGS
	jmp	*%rcx
	.size	sgxemu_direct_enclu, . - sgxemu_direct_enclu

	.section .note.GNU-stack, "", @progbits
