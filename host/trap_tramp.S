/* The trampoline a trapped system call continues in (host/trap_syscall.c): entered with
 * RAX = the call's number, its arguments in RDI RSI RDX R10 R8 R9, RCX = the address after the
 * SYSCALL, and every other register as at the SYSCALL. Saves everything (general registers,
 * flags, XSAVE state) below the red zone, calls sgxemu_sys_enter(nr, args, &child_rsp),
 * restores, and continues after the SYSCALL with the result in RAX and RCX/R11 as SYSRET
 * leaves them (return address, flags). child_rsp != 0 (the child of a fork-like clone that
 * asked for a new stack) makes it continue on that stack. */

	.text
	.globl	sgxemu_sys_tramp
	.hidden	sgxemu_sys_tramp
	.type	sgxemu_sys_tramp, @function
sgxemu_sys_tramp:
	lea	-128(%rsp), %rsp	/* the interrupted code's red zone */
	pushfq
	push	%rcx		/* where to continue */
	push	%rbx
	push	%rbp
	push	%r9		/* args[5] */
	push	%r8
	push	%r10
	push	%rdx
	push	%rsi
	push	%rdi		/* args[0] */
	push	%rax		/* nr, later the result */
	push	$0		/* child_rsp */
	/* Frame: 0 child_rsp, 8 nr, 16..56 args, 64 rbp, 72 rbx, 80 rcx, 88 flags. */
	mov	%rsp, %rbx
	mov	sgxemu_xsave_size(%rip), %rax
	sub	%rax, %rsp
	and	$-64, %rsp
	/* XSAVE writes XSTATE_BV only; XRSTOR wants the rest of the header clear. */
	xor	%eax, %eax
	mov	%rax, 512(%rsp)
	mov	%rax, 520(%rsp)
	mov	%rax, 528(%rsp)
	mov	%rax, 536(%rsp)
	mov	%rax, 544(%rsp)
	mov	%rax, 552(%rsp)
	mov	%rax, 560(%rsp)
	mov	%rax, 568(%rsp)
	mov	sgxemu_xsave_mask(%rip), %eax
	mov	sgxemu_xsave_mask+4(%rip), %edx
	xsave64	(%rsp)
	cld
	mov	8(%rbx), %rdi
	lea	16(%rbx), %rsi
	mov	%rbx, %rdx
	call	sgxemu_sys_enter
	mov	%rax, 8(%rbx)
	mov	sgxemu_xsave_mask(%rip), %eax
	mov	sgxemu_xsave_mask+4(%rip), %edx
	xrstor64 (%rsp)
	mov	%rbx, %rsp
	pop	%r11		/* child_rsp */
	pop	%rax		/* the result */
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%r10
	pop	%r8
	pop	%r9
	pop	%rbp
	pop	%rbx
	pop	%rcx
	test	%r11, %r11
	jnz	.Lnew_stack
	mov	(%rsp), %r11	/* RFLAGS, as SYSRET leaves it in R11 */
	popfq
	lea	128(%rsp), %rsp
	jmp	*%rcx

.Lnew_stack:
	/* A fork-like clone's child continues on the stack it was given. */
	popfq
	mov	%r11, %rsp
	pushfq
	pop	%r11
	jmp	*%rcx
	.size	sgxemu_sys_tramp, . - sgxemu_sys_tramp

/* rt_sigreturn for the handlers sgxemu installs itself (SA_RESTORER). */
	.globl	sgxemu_restore_rt
	.hidden	sgxemu_restore_rt
	.type	sgxemu_restore_rt, @function
sgxemu_restore_rt:
	mov	$15, %eax
	syscall
	.size	sgxemu_restore_rt, . - sgxemu_restore_rt

	.section .note.GNU-stack, "", @progbits
