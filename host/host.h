/* Shared state of the host binding: the preload that puts the emulated CPU and driver into a
 * process. Its files, one concern each:
 *   preload.c    start-up order, fork handling        env.c       what children must inherit
 *   interpose.c  the libc symbols we interpose         syscall.c   the system-call table
 *   sys_fd.c     device files                          sys_mm.c    memory calls
 *   sys_proc.c   fork and execve                       signal.c    signal ownership, delivery
 *   fd.c         the device-fd table                   filter.c    the seccomp filter
 *   gate.c       the syscall gate                      trap*.c/S   the signal handlers
 *   thread.c     per-thread records, FS/GS             mem.c       the EPC and the drv_mm
 *   vdso.c       our vDSO image                        cpuid.c     CPUID leaf 0x12
 *   stat.c       the status file                       maps.c      /proc/self/maps for ADD_PAGES
 *   boot/        the LD_AUDIT shim that runs before anything else in an image */
#ifndef SGXEMU_HOST_HOST_H
#define SGXEMU_HOST_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "driver/driver.h"
#include "host/thread.h"
#include "util/config.h"

extern struct sgxemu_config host_cfg;
extern bool host_active;       /* the preload initialised successfully */

/* EPC memory and the mm interface (mem.c). */
int mem_platform_up(void);     /* create the EPC on first use; 0 or -errno */
extern const struct drv_mm host_mm;
/* The driver's src_vma: what /proc/self/maps says about a user address (maps.c). */
int maps_src_vma(uint64_t addr, struct drv_src_vma *out);
void mem_fork_child(void);

/* fork, made by glibc or by a bare system call (preload.c). */
void host_fork_prepare(void);
void host_fork_parent(void);
void host_fork_child(void);

/* What children inherit (env.c). */
void host_env_capture(void);
const char *host_library_path(void);
const char *host_boot_path(void);
size_t host_env_size(void);
/* The saved entries, except those whose bit is set in skip; returns how many. */
unsigned host_env_copy(char **out, uint64_t skip);
/* "ASAN_OPTIONS=..." in a sanitizer build of the preload (it needs them to load), or NULL. */
const char *host_env_sanitizer(void);

/* Status file (stat.c). */
void stat_file_create(void);
void stat_file_remove(void);
void stat_file_forget(void);   /* forked child: the parent's file is not ours */
bool stat_file_exists(void);

/* For debuggers (gdb.c). */
struct sgxemu_stat;
void gdb_init(void);
void gdb_stat_image(struct sgxemu_stat *st);
void gdb_enclave_changed(void);

/* Traps (trap.c, trap_syscall.c). */
void trap_program_sigsys(struct thread_rec *t, siginfo_t *si, ucontext_t *uc);
void trap_enclave_syscall(struct thread_rec *t, siginfo_t *si, ucontext_t *uc);
int trap_syscall_init(void);
/* The signal that stands in for the kernel's IPIs, and the value that marks ours. */
#define SGXEMU_IPI_SIGNAL 64
#define SGXEMU_IPI_MAGIC 0x5367784e
#define SGX_AEX_INTERRUPT 0xFFU
void host_ipi(uint32_t secs, uint64_t epoch);

/* The direct EENTER entry the vDSO calls in place of ENCLU (trap_direct.c). */
void (*host_direct_entry(void))(void);

/* CPUID (cpuid.c). */
void cpuid_init(void);
bool cpuid_faulting_enabled(void);
void cpuid_query(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
/* The emulated CPU's features (XFRM from the host's XCR0), fixed by cpuid_init. */
const struct cpu_features *host_cpu_features(void);

/* libc's return convention from the kernel's: -1 and errno. */
long host_ret(long r);

#endif
