/* The Linux SGX driver, in user space: device files, enclaves, ioctls, mapping rules and the
 * fault handler. Knows nothing of signals or of libc interposition: the host layer calls in
 * with plain arguments and gives it an mm interface to change the address space. */
#ifndef SGXEMU_DRIVER_DRIVER_H
#define SGXEMU_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* The mapping an ADD_PAGES source address lies in (policy.c). */
struct drv_src_vma {
	uint64_t start, end;
	bool may_exec;   /* VM_MAYEXEC: not a file on a noexec mount */
	bool anonymous;  /* no file behind it: heap, stack, anonymous or memfd memory */
	bool writable;   /* mapped writable */
};

/* What the driver needs from the address space (the host implements it with mmap(2)). */
struct drv_mm {
	/* Map len bytes of EPC (starting at EPC byte offset epc_off) at addr with prot. */
	int (*map_epc)(uint64_t addr, uint64_t epc_off, uint64_t len, int prot);
	/* Replace [addr, addr+len) with an inaccessible placeholder (no PTEs). */
	int (*map_none)(uint64_t addr, uint64_t len);
	/* As map_epc, copy-on-write (prot without PROT_WRITE): the CPU runs the EPC's bytes
	 * until a debugger writes (ptrace's forced write copies the page, as for a program's
	 * text). NULL: map_epc. Used only under sgx_debug_mappings. */
	int (*map_epc_cow)(uint64_t addr, uint64_t epc_off, uint64_t len, int prot);
	/* Change the protection of existing mappings. */
	int (*protect)(uint64_t addr, uint64_t len, int prot);
	/* Remove mappings: 0 or -errno. */
	int (*unmap)(uint64_t addr, uint64_t len);
	/* Make every thread executing inside the enclave with this SECS exit (AEX) and re-enter,
	 * as the kernel's IPIs do after ETRACK; returns once they have (or after a bound). */
	void (*ipi)(uint32_t secs, uint64_t epoch);
	/* Mappings of the enclave with this SECS are about to change (unmap, replace, move):
	 * every thread in enclave mode on it takes an AEX first, as the TLB-shootdown IPIs of
	 * the kernel make it on hardware. Returns once the threads running enclave code have
	 * left; threads waiting in the emulator take the AEX when they return to enclave code.
	 * NULL: no threads to force. */
	void (*tlb_shootdown)(uint32_t secs);
	/* Backing store for swapped-out pages (the kernel's shmem): create, drop a range's
	 * contents, destroy. */
	void *(*backing_create)(uint64_t len);
	void (*backing_discard)(void *p, uint64_t len);
	void (*backing_destroy)(void *p, uint64_t len);
	/* The host's memory behind EPC bytes [off, off+len) is about to be used: commit it in
	 * one go (pages are handed out from it). NULL: the first touch commits each page. */
	void (*epc_commit)(uint64_t off, uint64_t len);
	/* [off, off+len) of the EPC holds no page in use: give the memory back (it reads as
	 * zeros afterwards). NULL: keep it. */
	void (*epc_decommit)(uint64_t off, uint64_t len);
	/* Make page-aligned private memory of the emulator's own read as zeros without touching
	 * it (a forked child's fresh tables). NULL: memset. */
	void (*zero_pages)(void *p, uint64_t len);
	/* Find and reserve len bytes (hint addr, 0 = anywhere); returns the address or 0. */
	uint64_t (*reserve)(uint64_t hint, uint64_t len);
	/* Describe the first mapping that ends above user address addr (as find_vma does):
	 * 0, or -EFAULT when there is none. NULL: sources count as ordinary files. */
	int (*src_vma)(uint64_t addr, struct drv_src_vma *out);
	/* Whether the process has the READ_IMPLIES_EXEC personality. NULL: never. */
	bool (*read_implies_exec)(void);
	/* madvise(2) of memory that holds no enclave or vEPC mapping: 0 or -errno. */
	int (*advise)(uint64_t addr, uint64_t len, int advice);
	/* Whether the caller has CAP_SYS_ADMIN (madvise's error injection). NULL: no. */
	bool (*capable_sys_admin)(void);
};

enum sgx_file_kind { SGX_FILE_ENCLAVE = 1, SGX_FILE_PROVISION = 2, SGX_FILE_VEPC = 3 };

struct sgx_file;

/* Bring the platform up over an EPC of npages at epc (the emulator's view). */
int sgx_platform_init(uint8_t *epc, uint64_t npages, const struct cpu_features *feat,
		      const struct drv_mm *mm);
bool sgx_platform_ready(void);
struct sgx_cpu *sgx_platform_cpu(void);
/* The driver lock, for the host's bring-up of the platform (its EPC, sgx_platform_init, its
 * keys, its status file): done once, by one thread, while no other thread can use the driver
 * or bring it up too. Recursive: the calls made under it may take it again. */
void sgx_platform_lock(void);
void sgx_platform_unlock(void);

/* Device files. open returns NULL with -errno in *err. */
struct sgx_file *sgx_open(enum sgx_file_kind kind, int *err);
void sgx_file_get(struct sgx_file *f);
void sgx_file_put(struct sgx_file *f);     /* last put = release */
enum sgx_file_kind sgx_file_kind(const struct sgx_file *f);

/* ioctl: returns >= 0 or -errno. cmd is 32 bits, as the system call takes it (the upper half
 * of a 64-bit request is ignored). lookup_file maps an fd number to a file (for PROVISION). */
long sgx_ioctl(struct sgx_file *f, unsigned int cmd, unsigned long arg,
	       struct sgx_file *(*lookup_file)(int fd));
/* Why this thread's last sgx_ioctl failed, where a rule gave a reason: *who is "policy" or
 * "driver", *why the rule ("exec-from-anonymous"); both NULL otherwise. For trace lines. */
void sgx_ioctl_reason(const char **who, const char **why);

/* The open mode of an fd (O_ACCMODE as FMODE_READ/FMODE_WRITE), which mmap checks. */
#define SGX_FMODE_READ  0x1
#define SGX_FMODE_WRITE 0x2

/* Memory calls. */
/* mmap(2) of a device file (any kind) at byte offset off, for an fd opened with fmode: the
 * checks mmap(2) and the VFS make, in the kernel's order, then the driver's. Returns the
 * address or -errno. MAP_SHARED+PROT_WRITE on an fd without write access is EACCES, as is
 * any mapping of an fd without read access; a read-only fd's mapping cannot get PROT_WRITE
 * by mprotect later. */
long sgx_mmap(struct sgx_file *f, uint64_t addr, uint64_t len, int prot, int flags, uint64_t off,
	      unsigned fmode);
/* For a range that may touch enclave mappings. Return 1 if the driver handled the call
 * (result in *ret as 0 or -errno), 0 if the range holds no enclave mapping. */
int sgx_munmap(uint64_t addr, uint64_t len, long *ret);
/* An mmap(MAP_FIXED) of anything else (anonymous memory, another file) at [addr, addr+len):
 * calls map(ctx), which must make the host's mapping with MAP_FIXED and return the address
 * or -errno, under the driver lock. If the range holds enclave or vEPC mappings, their
 * threads are forced out first (tlb_shootdown) and, only once map succeeded, the replaced
 * mappings are forgotten: a failing mmap destroys nothing, and no other thread's mapping
 * can land in the range meanwhile. Returns what map returned. */
long sgx_mmap_over(uint64_t addr, uint64_t len, long (*map)(void *ctx), void *ctx);
/* mremap(2): 1 if the call concerns enclave or vEPC mappings, with *ret = the address or
 * -errno as Linux answers for these VMAs (VM_PFNMAP; enclaves VM_DONTEXPAND): growing is
 * EFAULT (old_len 0, the "duplicate" case, included: no alias of EPC), MREMAP_DONTUNMAP is
 * EINVAL, shrinking unmaps the tail, MREMAP_FIXED of the same size moves the mapping (the
 * destination is unmapped first, as the kernel does, even if the move then fails). 0 if
 * not ours; then the host's mremap runs, after the driver unmapped whatever enclave or vEPC
 * mappings the kernel's mremap would unmap before moving ordinary memory. */
int sgx_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr,
	       long *ret);
int sgx_mprotect(uint64_t addr, uint64_t len, int prot, long *ret);
/* madvise(2): 1 if [addr, addr+len) touches an enclave or vEPC mapping, with *ret = 0 or
 * -errno as Linux 6.12 answers for such VMAs (VM_IO|VM_PFNMAP|VM_DONTDUMP, plus
 * VM_DONTEXPAND for enclaves, VM_DONTCOPY for vEPC); the parts of the range outside them
 * get the host's madvise (drv_mm.advise), in address order, as the kernel walks VMAs: an
 * error stops the walk, a hole is ENOMEM at the end (MADV_POPULATE_*: at once). EPC contents
 * are never dropped: DONTNEED, DONTNEED_LOCKED, FREE, COLD, PAGEOUT, POPULATE_*, COLLAPSE,
 * DOFORK, DODUMP and WIPEONFORK are EINVAL, REMOVE is ENODEV (EACCES for the mapping of a
 * read-only fd), the advices that only set VMA flags succeed (DONTFORK: a forked child does
 * not get the mapping). 0 if not ours, or if the kernel would refuse the arguments before
 * looking at VMAs (the host's madvise answers the same). */
int sgx_madvise(uint64_t addr, uint64_t len, int advice, long *ret);
/* A debugger is attached (on by the host when the process is ptraced from its start): the
 * pages of DEBUG enclaves get their PTEs at mmap rather than on first touch, so that the
 * debugger reads their contents, and their executable, non-writable pages are mapped with
 * map_epc_cow, so that its software breakpoints land in the code the CPU runs. This stands in
 * for the kernel driver's vm_ops->access (EDBGRD/EDBGWR for ptrace on debug enclaves).
 * Production enclaves are mapped as always. */
void sgx_debug_mappings(bool on);

/* Whether [addr, addr+len) overlaps an enclave mapping. */
bool sgx_range_is_enclave(uint64_t addr, uint64_t len);

/* Fault handling, from the trap path. */
enum sgx_fault_result {
	SGX_FAULT_NOT_OURS,   /* not an enclave mapping */
	SGX_FAULT_RETRY,      /* resolved: run the instruction again */
	SGX_FAULT_SIGSEGV,    /* access error; *errcode is the page-fault error code */
	SGX_FAULT_SIGBUS,     /* the kernel's VM_FAULT_SIGBUS; *errcode likewise */
};
/* access: ACCESS_R/W/X; lp: the thread's logical processor (in enclave mode or not). */
enum sgx_fault_result sgx_fault(uint64_t addr, unsigned access, const struct cpu_lp *lp,
				uint32_t *errcode);

/* Read n bytes at la for instruction decoding. 1: la is not in an enclave mapping (read it
 * directly); 0: copied from the EPC; -1: an enclave page that is not resident now (let the
 * instruction run again). Another thread's reclaim may unmap enclave code at any time, so
 * the trap path must not read it through its linear address. */
int sgx_peek(uint64_t la, void *buf, unsigned n, struct cpu_lp *lp);

/* ENCLU on behalf of a thread, serialised against the driver's ENCLS. */
long sgx_enclu(struct cpu_lp *lp, struct cpu_regs *regs, struct cpu_fault *f);
void sgx_aex(struct cpu_lp *lp, struct cpu_regs *regs, unsigned vector, uint32_t errcode,
	     uint64_t addr);

/* Paging counters, for sgxemu stat. */
struct sgx_stats {
	uint64_t epc_pages, free_pages, swapped_out, swapped_in;
};
void sgx_stats_get(struct sgx_stats *s);
/* Keep a status image (include/sgxemu_stat.h) in memory the host shares with readers. */
struct sgxemu_stat;
void sgx_stat_attach(struct sgxemu_stat *st);

/* Let the driver run its background reclaimer thread (started with the first ioctl). */
void sgx_ksgxd_enable(void);

/* fork(2), from the host's atfork handlers (and any raw fork of the host's): prepare takes
 * the driver lock, so that no other thread is inside the driver while the address space is
 * copied, and keeps it across the fork; the parent drops it after. The child resets it and
 * gets a fresh platform over its own EPC at epc: everything it inherited (enclave mappings,
 * enclave fds, vEPC mappings) is dead, MADV_DONTFORK mappings are gone. epc NULL: no EPC for
 * the child (the platform is down until the next open). */
void sgx_fork_prepare(void);
void sgx_fork_parent(void);
void sgx_fork_child(uint8_t *epc);

#endif
