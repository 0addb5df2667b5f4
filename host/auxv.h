/* The process's initial auxiliary vector: the (type, value) pairs the kernel put on the main
 * thread's stack after envp. glibc's getauxval reads this very array, and so do programs
 * that walk their initial stack; changing an entry here changes what both see. The kernel's
 * own copy, /proc/self/auxv, never changes. Every function here uses raw system calls only
 * (no errno, no locks, no allocation): they are async-signal-safe and may run before the
 * preload's constructor. */
#ifndef SGXEMU_HOST_AUXV_H
#define SGXEMU_HOST_AUXV_H

#include <elf.h>

/* The in-memory vector (found through glibc's __libc_stack_end, else __environ, and checked
 * against /proc/self/auxv when it can be read), or NULL when it cannot be found for sure. */
Elf64_auxv_t *auxv_initial(void);
/* The value the kernel gave for type, from /proc/self/auxv. 0, or -1 when the file cannot be
 * read or has no such entry. */
int auxv_kernel_value(unsigned long type, unsigned long *val);
/* The value of type in the in-memory vector. 0, or -1. */
int auxv_value(unsigned long type, unsigned long *val);
/* Atomically replace type's value in the in-memory vector if it is old. 0, or -1 when there
 * is no such entry or it holds something else. */
int auxv_replace(unsigned long type, unsigned long old, unsigned long new_val);

#endif
