/* The syscall gate: one page at a fixed address holding the only SYSCALL instruction the
 * seccomp filter (host/filter.c) lets through without a look. Fixed, so that the filter a
 * process inherits across execve still names the right address in the new image; its bytes
 * are spelled here so that the preload and the boot shim (host/boot/) map the same page. */
#ifndef SGXEMU_HOST_GATE_H
#define SGXEMU_HOST_GATE_H

#include <stdint.h>

/* Far from where Linux puts programs (0x55.., 0x56..), their mmaps (0x7f..) and from the low
 * ELRANGEs runtimes pick (Gramine: [0, enclave size)). */
#define GATE_ADDR 0x5eed00000000UL
#define GATE_SIZE 4096UL
/* Offsets in the page: the C-callable gate (raw_syscall_t), the address after its SYSCALL
 * (what the filter sees as the instruction pointer), and an rt_sigreturn restorer. */
#define GATE_FN_OFF 0x00
#define GATE_SYSCALL_END_OFF 0x19
#define GATE_RESTORER_OFF 0x20

/* mov %rdi,%rax; mov %rsi,%rdi; mov %rdx,%rsi; mov %rcx,%rdx; mov %r8,%r10; mov %r9,%r8;
 * mov 8(%rsp),%r9; syscall; ret -- then at 0x20: mov $15,%eax; syscall (rt_sigreturn). */
#define GATE_CODE_BYTES                                                                            \
	{                                                                                          \
		0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6, 0x48, 0x89, 0xca, 0x4d, 0x89, \
		0xc2, 0x4d, 0x89, 0xc8, 0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05, 0xc3, 0xcc, 0xcc, \
		0xcc, 0xcc, 0xcc, 0xcc, 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xcc              \
	}

/* Map the gate (or adopt the one the boot shim mapped) and route raw_syscall_fn through it.
 * 0, or -errno when the address is taken by something else. */
int gate_init(void);
/* Whether the gate is mapped and in use. */
int gate_active(void);

#endif
