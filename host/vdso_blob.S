/* The vDSO image (build/vdso.so, see host/vdso/) embedded into the preload library;
 * host/vdso.c copies it to an executable mapping at start-up. The Makefile passes the
 * image's path as VDSO_IMAGE_PATH (a quoted string) and makes this object depend on it. */

#ifndef VDSO_IMAGE_PATH
#error "VDSO_IMAGE_PATH must name the built vDSO image"
#endif

	.section .rodata, "a", @progbits
	.p2align 6			/* read in place as Elf64 structures: keep them aligned */
	.globl	sgxemu_vdso_image_start
	.hidden	sgxemu_vdso_image_start
	.type	sgxemu_vdso_image_start, @object
sgxemu_vdso_image_start:
	.incbin	VDSO_IMAGE_PATH
	.globl	sgxemu_vdso_image_end
	.hidden	sgxemu_vdso_image_end
	.type	sgxemu_vdso_image_end, @object
sgxemu_vdso_image_end:
	.size	sgxemu_vdso_image_start, sgxemu_vdso_image_end - sgxemu_vdso_image_start

	.section .note.GNU-stack, "", @progbits
