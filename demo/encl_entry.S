/* Enclave bootstrap shared by the demo enclave and the integration-test enclave:
 * two TCS pages, the EENTER entry stub, SSA frames and one stack per TCS.
 *
 * The image is linked at address 0 and loaded without applying relocations, so every
 * absolute address written here (OSSA, OENTRY) is already the offset from the enclave
 * base that the TCS wants. Code reaches its own data only RIP-relatively.
 *
 * Entry contract (EENTER, or an AEX notification ERESUME delivers): RAX = CSSA, RBX = TCS
 * address, RCX = address after the host's ENCLU, RSP/RBP = the host's stack (also saved by
 * the CPU in the SSA frame). The C side is
 *	void encl_main(void *arg, uint64_t tcs, uint64_t cssa, void *gprsgx);
 * with arg = the host's RDI, gprsgx = the current SSA frame's GPRSGX (the interrupted
 * context, if any, is one frame below). Each TCS has room for MAX_SSA frames; the TCSs here
 * have NSSA = 1 (a host may raise it to 2 before building, for AEX-Notify). An entry with
 * CSSA > 0 runs on the interrupted context's stack, below its red zone. */

#define NTCS		2
#define MAX_SSA		2
#define STACK_PAGES	2
#define STACK_SIZE	(STACK_PAGES * 4096)
/* GPRSGX: the last 184 bytes of an SSA frame; URSP/URBP at 144/152 within it. */
#define GPRSGX_SIZE	184
#define GPRSGX_URSP	144
#define GPRSGX_URBP	152
#define GPRSGX_RSP	32

	.macro ENCLU
	.byte 0x0f, 0x01, 0xd7
	.endm

	.macro TCS ssa
	.quad 0			/* STATE: owned by the CPU */
	.quad 0			/* FLAGS: no DBGOPTIN */
	.quad \ssa		/* OSSA */
	.long 0			/* CSSA: owned by the CPU */
	.long 1			/* NSSA: one frame, so an AEX'd TCS cannot be re-entered */
	.quad encl_entry	/* OENTRY */
	.quad 0			/* AEP: written by EENTER/ERESUME */
	.quad 0			/* OFSBASE */
	.quad 0			/* OGSBASE */
	.long 0xffffffff	/* FSLIMIT */
	.long 0xffffffff	/* GSLIMIT */
	.fill 4024, 1, 0	/* reserved, must be zero */
	.endm

	.section .tcs, "aw"
	.balign 4096
	.globl encl_tcs
encl_tcs:
	TCS encl_ssa
	TCS (encl_ssa+MAX_SSA*4096)

	/* Unwind information for debuggers only (not loaded into the enclave): encl_entry is the
	 * outermost frame, so that a backtrace in the enclave ends here. */
	.cfi_sections .debug_frame

	.text
	.globl encl_entry
	.type encl_entry, @function
encl_entry:
	.cfi_startproc
	.cfi_undefined rip
	/* The TCS index and CSSA select the SSA frame; the TCS index the stack. */
	cmp	$MAX_SSA, %rax
	jae	1f			/* no such frame: refuse to run */
	mov	%rax, %rdx		/* CSSA, the third argument */
	lea	encl_tcs(%rip), %rax
	mov	%rbx, %r10
	sub	%rax, %r10
	shr	$12, %r10
	cmp	$NTCS, %r10
	jae	1f			/* not one of ours: refuse to run */
	imul	$MAX_SSA, %r10, %r11
	add	%rdx, %r11
	shl	$12, %r11		/* frame CSSA of this TCS */
	lea	encl_ssa + 4096 - GPRSGX_SIZE(%rip), %rax
	add	%r11, %rax		/* its GPRSGX */
	test	%rdx, %rdx
	jnz	2f
	inc	%r10
	imul	$STACK_SIZE, %r10, %r10
	lea	encl_stacks(%rip), %r11
	add	%r11, %r10		/* top of this TCS's stack */
	jmp	3f
2:	mov	GPRSGX_RSP - 4096(%rax), %r10	/* the interrupted context's RSP */
	sub	$128, %r10		/* its red zone */
	and	$-16, %r10
3:
	/* EENTER saved the host's RSP and RBP in GPRSGX.URSP/URBP: no need to keep them here. */
	mov	%r10, %rsp
	push	%rcx			/* EEXIT target */
	push	%rax			/* GPRSGX; keeps RSP 16-byte aligned for the call */
	xor	%ebp, %ebp
	cld				/* the C ABI wants DF clear; the host may not have cleared it */
	mov	%rax, %rcx
	mov	%rbx, %rsi
	call	encl_main

	pop	%rax
	pop	%rbx			/* EEXIT target */
	/* Back to the host stack of the latest EENTER or ERESUME, which both record it in
	 * URSP/URBP: after an AEX the host may resume us from another stack frame than the one
	 * it entered from, and the vDSO finds its frame through RBP. */
	mov	GPRSGX_URSP(%rax), %rsp
	mov	GPRSGX_URBP(%rax), %rbp

	/* Caller-saved registers may hold enclave values: do not hand them to the host. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	mov	$4, %eax		/* EEXIT */
	ENCLU
1:	ud2
	.cfi_endproc
	.size encl_entry, . - encl_entry

	/* SSA frames and stacks: page aligned, placed at the end of the data segment. */
	.section .encl_ssa, "aw"
	.balign 4096
	.globl encl_ssa
encl_ssa:
	.fill NTCS * MAX_SSA * 4096, 1, 0

	.section .encl_stack, "aw"
	.balign 4096
encl_stacks:
	.fill NTCS * STACK_SIZE, 1, 0

	.section .note.GNU-stack, "", @progbits
