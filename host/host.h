/* Shared state of the host binding. */
#ifndef SGXEMU_HOST_HOST_H
#define SGXEMU_HOST_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver/driver.h"
#include "util/config.h"

extern struct sgxemu_config host_cfg;
extern bool host_active;       /* the preload initialised successfully */

/* EPC memory and the mm interface (mem.c). */
int mem_platform_up(void);     /* create the EPC on first use; 0 or -errno */
extern const struct drv_mm host_mm;
/* The driver's src_vma: what /proc/self/maps says about a user address (maps.c). */
int maps_src_vma(uint64_t addr, struct drv_src_vma *out);
void mem_fork_child(void);

/* Status file (stat.c). */
void stat_file_create(void);
void stat_file_remove(void);
void stat_file_forget(void);   /* forked child: the parent's file is not ours */
bool stat_file_exists(void);

/* File descriptors (fd.c). */
struct sgx_file *fd_lookup(int fd);
int fd_install(int fd, struct sgx_file *f);
void fd_forget(int fd);        /* drop our entry (the fd itself is closed by the caller) */
/* Which device a path names, 0 if none. */
enum sgx_file_kind fd_device_of(const char *path);

/* Signals (signal.c): the program's dispositions for the signals we use, and delivery. */
bool signal_is_ours(int sig);
int signal_program_action(int sig, const struct sigaction *act, struct sigaction *old);
/* Deliver sig to the program as the kernel would: its handler, or the default action. */
void signal_deliver(int sig, siginfo_t *si, void *uc);
void signal_install(void);
/* sigaction for the other signals (async_signal_handler wraps the program's handler). */
int signal_async_action(int sig, const struct sigaction *act, struct sigaction *old);
void signal_call_program(int sig, siginfo_t *si, void *uc);
void async_signal_handler(int sig, siginfo_t *si, void *uc);

/* Traps (trap.c). */
void trap_handler(int sig, siginfo_t *si, void *uc);
void ipi_handler(int sig, siginfo_t *si, void *uc);
/* The signal that stands in for the kernel's IPIs, and the value that marks ours. */
#define SGXEMU_IPI_SIGNAL (SIGRTMAX)
#define SGXEMU_IPI_MAGIC 0x5367784e
#define SGX_AEX_INTERRUPT 0xFFU
void host_ipi(uint32_t secs, uint64_t epoch);

/* CPUID (cpuid.c). */
void cpuid_init(void);
bool cpuid_faulting_enabled(void);
void cpuid_query(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/* Raw-syscall helpers that set errno like libc (interposition entry points only). */
long host_ret(long r);

#endif
