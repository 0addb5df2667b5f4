/* Driver-internal objects, shared by the driver's files. */
#ifndef SGXEMU_DRIVER_INTERNAL_H
#define SGXEMU_DRIVER_INTERNAL_H

#include <stdatomic.h>

#include "driver/driver.h"
#include "driver/lock.h"
#include "util/trace.h"

#define EPC_NONE UINT32_MAX

/* Every ENCLS the driver issues goes through DRV_ENCLS, which times and counts it for
 * --trace-summary. The off path is one test of trace_mask. The macros below take the
 * cpu/ names (declared in cpu/cpu.h, included above), so no call site can forget. */
void drv_encls_done(unsigned leaf, long r, uint64_t t0);
#define DRV_ENCLS(leaf, fn, ...) ({                                              \
	uint64_t t0_ = TRACE_ON(TRACE_SUMMARY) ? trace_now() : 0;                \
	long r_ = (fn)(__VA_ARGS__);                                             \
	if (t0_)                                                                 \
		drv_encls_done((leaf), r_, t0_);                                 \
	r_; })
#define encls_ecreate(...) DRV_ENCLS(ENCLS_ECREATE, encls_ecreate, __VA_ARGS__)
#define encls_eadd(...)    DRV_ENCLS(ENCLS_EADD, encls_eadd, __VA_ARGS__)
#define encls_eextend(...) DRV_ENCLS(ENCLS_EEXTEND, encls_eextend, __VA_ARGS__)
#define encls_einit(...)   DRV_ENCLS(ENCLS_EINIT, encls_einit, __VA_ARGS__)
#define encls_eremove(...) DRV_ENCLS(ENCLS_EREMOVE, encls_eremove, __VA_ARGS__)
#define encls_eaug(...)    DRV_ENCLS(ENCLS_EAUG, encls_eaug, __VA_ARGS__)
#define encls_emodpr(...)  DRV_ENCLS(ENCLS_EMODPR, encls_emodpr, __VA_ARGS__)
#define encls_emodt(...)   DRV_ENCLS(ENCLS_EMODT, encls_emodt, __VA_ARGS__)
#define encls_etrack(...)  DRV_ENCLS(ENCLS_ETRACK, encls_etrack, __VA_ARGS__)
#define encls_epa(...)     DRV_ENCLS(ENCLS_EPA, encls_epa, __VA_ARGS__)
#define encls_eblock(...)  DRV_ENCLS(ENCLS_EBLOCK, encls_eblock, __VA_ARGS__)
#define encls_ewb(...)     DRV_ENCLS(ENCLS_EWB, encls_ewb, __VA_ARGS__)
#define encls_eldu(...)    DRV_ENCLS(ENCLS_ELDU, encls_eldu, __VA_ARGS__)

/* madvise(2) advices glibc's <sys/mman.h> may lack (values from the kernel's UAPI). */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif

/* VM_READ/VM_WRITE/VM_EXEC as PROT_* bits (they coincide with SECINFO R/W/X). */
#define VM_RWX 0x7

struct encl_page {
	uint32_t epc;       /* EPC index, EPC_NONE when not resident */
	uint32_t va;        /* while swapped out: EPC index of the VA page holding its version */
	uint16_t va_slot;
	uint8_t tracked;    /* the kernel's xarray entry exists */
	uint8_t type;       /* SGX_PT_* */
	uint8_t max_prot;   /* vm_max_prot_bits */
	uint8_t swapped;    /* contents are in the backing store */
	uint8_t pte;        /* a PTE maps it (installed by the first fault, as Linux does) */
};

#define ENCL_LEAF_PAGES 512
#define ENCL_PT_FANOUT 512

enum encl_flags {
	ENCL_CREATED = 1 << 0,
	ENCL_INITIALIZED = 1 << 1,
	ENCL_DEBUG = 1 << 2,
	ENCL_DEAD = 1 << 3,   /* inherited through fork: unusable */
	ENCL_RELEASING = 1 << 4, /* last reference gone, threads still inside: sgx_pf.releasing */
};

struct sgx_encl {
	unsigned flags;
	atomic_int ioctl_busy;
	int refs;              /* files + VMAs */
	uint64_t base, size;
	uint64_t attributes;
	uint64_t attributes_mask;
	uint32_t secs;         /* EPC index of the SECS */
	/* Radix tree indexed by page number within ELRANGE: pt_levels levels of ENCL_PT_FANOUT
	 * pointers above leaves of ENCL_LEAF_PAGES pages, each node created on first use. */
	void **pt_root;
	unsigned pt_levels;
	uint64_t page_cnt;
	/* Paging: encrypted contents at (addr - base), PCMDs from size on; VA pages with a
	 * bitmap of free slots each. */
	uint8_t *backing;
	uint64_t backing_len;
	struct encl_va { uint32_t epc; uint64_t free[8]; } *va;
	uint32_t nr_va, cap_va;
	uint64_t nr_resident, nr_swapped;
	uint64_t nr_eaug;      /* pages EAUG added, for sgxemu stat */
	/* The SECS goes out too once an initialised enclave has no page left in the EPC. */
	uint64_t eid;
	bool secs_out;
	uint32_t secs_va;
	uint16_t secs_va_slot;
	struct sgx_encl *next_releasing;
};

struct sgx_vepc;

struct sgx_file {
	enum sgx_file_kind kind;
	atomic_int refs;       /* fds + calls in progress; lock-free (the host's fd table takes
				* references under its own lock, never the driver's) */
	struct sgx_encl *encl;
	struct sgx_vepc *vepc;
};

/* ---- VMAs (vma.c) ----
 * One sorted interval set holds every mapping of the driver's files, enclave and vEPC alike,
 * each with the operations of its kind (what the kernel has as sgx_vm_ops and
 * sgx_vepc_vm_ops). The generic mm calls (mmap.c) work on it without knowing the kind. */

/* VMA flags the driver needs besides the protection. */
#define VMA_MAYWRITE 0x1 /* VM_MAYWRITE: the fd was open for writing */
#define VMA_DONTCOPY 0x2 /* VM_DONTCOPY: a forked child does not get it (MADV_DONTFORK; vEPC) */

struct drv_vma;

struct drv_vma_ops {
	/* The reference a VMA holds on what it maps (a VMA pins its file). */
	void (*get)(struct drv_vma *v);
	void (*put)(struct drv_vma *v);
	/* Make the host mappings of [start, end) (inside v) what the VMA and the EPCM allow:
	 * 0 or -errno. */
	int (*populate)(const struct drv_vma *v, uint64_t start, uint64_t end);
	/* [start, end) of v lost its host mapping (unmapped, replaced, moved away). NULL: no
	 * state to forget. */
	void (*zap)(const struct drv_vma *v, uint64_t start, uint64_t end);
	/* The driver's mprotect hook: 0 or -EACCES. NULL: none. */
	int (*mprotect)(const struct drv_vma *v, uint64_t start, uint64_t end, int prot);
	/* Threads running in what v maps leave before its mappings change. NULL: none. */
	void (*shootdown)(const struct drv_vma *v);
	/* A fault at addr in v (driver lock held). */
	enum sgx_fault_result (*fault)(struct drv_vma *v, uint64_t addr, unsigned access,
				       const struct cpu_lp *lp, uint32_t *errcode);
	/* The cpu's page walk at la in v (cpu_mmu.translate's contract). */
	uint32_t (*translate)(const struct drv_vma *v, uint64_t la, bool write, uint32_t *idx);
	/* The EPCM entry of the page at la changed: the host mapping follows. */
	void (*epcm_changed)(const struct drv_vma *v, uint64_t la);
};

extern const struct drv_vma_ops encl_vm_ops, vepc_vm_ops;

struct drv_vma {
	uint64_t start, end;
	int prot;
	unsigned vm_flags;  /* VMA_* */
	uint64_t pgoff;     /* file offset / 4096 of start (vEPC: the page index; enclaves: unused) */
	const struct drv_vma_ops *ops;
	union {
		struct sgx_encl *encl;   /* encl_vm_ops */
		struct sgx_vepc *vepc;   /* vepc_vm_ops */
	};
};

/* The VMA that holds addr, of any kind or of the given kind; NULL if none. */
struct drv_vma *vma_find(uint64_t addr);
struct drv_vma *vma_find_kind(uint64_t addr, const struct drv_vma_ops *ops);
/* Whether [start, end) overlaps a VMA; the start of the first VMA above addr (UINT64_MAX). */
bool vma_range_has(uint64_t start, uint64_t end);
uint64_t vma_next_start(uint64_t addr);
/* Add a copy of *nv (it takes a reference); 0 or -ENOMEM. */
int vma_insert(const struct drv_vma *nv);
/* Forget [start, end): VMAs in it are split or dropped (their references put); zap: their
 * host mappings are gone. The host mappings themselves are the caller's. 0 or -ENOMEM. */
int vma_cut(uint64_t start, uint64_t end, bool zap);
/* Split the VMA that holds a so that [a, end) (inside it) is one VMA; returns it, or NULL. */
struct drv_vma *vma_isolate(uint64_t a, uint64_t end);
/* Make the threads running in what [start, end) maps leave first (ops->shootdown). */
void vma_shootdown(uint64_t start, uint64_t end);

/* Who owns a resident EPC page that can be reclaimed. */
struct epc_owner {
	struct sgx_encl *encl;
	uint64_t addr;
};

struct sgx_platform {
	bool ready;
	bool debug_maps;         /* sgx_debug_mappings */
	struct epc_owner *owner; /* by EPC index */
	uint64_t clock;          /* reclaim scan position */
	uint64_t swapped_out, swapped_in;
	struct sgx_encl **encls;  /* every created enclave, for accounting */
	size_t nr_encls, cap_encls;
	struct sgxemu_stat *stat; /* the shared status image, if the host gave one */
	struct sgx_cpu cpu;
	const struct drv_mm *mm;
	struct drv_lock lock;
	uint64_t *free_map;    /* bit set = free EPC page */
	uint64_t nr_free;
	uint64_t cursor;
	uint16_t *chunk_used;     /* per 2 MiB chunk of the EPC: pages allocated */
	uint8_t *chunk_committed; /* per chunk: the host's memory is committed (epc_commit) */
	uint64_t nr_spare_chunks; /* committed chunks with no page allocated */
	uint64_t *chunk_idle_since; /* per chunk: epc_ticks when its last page went */
	uint64_t epc_ticks;         /* the reclaimer's ticks */
	struct drv_vma *vmas;  /* every VMA of ours, sorted by start, non-overlapping */
	size_t nr_vmas, cap_vmas;
	/* Enclaves released while threads were inside: freed once the last has left. */
	struct sgx_encl *releasing;
};

extern struct sgx_platform sgx_pf;

/* EPC allocator (epc_alloc.c). epc_take_free_page takes a free page or fails (-ENOMEM);
 * everyone else calls sgx_alloc_epc_page (reclaim.c), which reclaims when none is free. */
long epc_take_free_page(void);
void sgx_free_epc_page(uint32_t idx);
/* After fork: every page free, nothing committed (the child's EPC is new). */
void epc_alloc_fork_child(void);
/* A tick of the reclaimer: give back the memory of chunks that have held no page for a
 * while, beyond the few kept for reuse. */
void epc_decommit_idle(void);

/* The background reclaimer (ksgxd.c). */
void ksgxd_start(void);
void ksgxd_kick(void);
void ksgxd_fork_child(void);
bool ksgxd_running(void);

/* Reclaim (reclaim.c). */
/* An EPC page, reclaiming enclave pages when none is free: index or -ENOMEM. */
long sgx_alloc_epc_page(void);
void epc_owner_set(uint32_t idx, struct sgx_encl *e, uint64_t addr);
void epc_owner_clear(uint32_t idx);
/* One batch of up to 16 pages; returns how many pages it freed. */
unsigned sgx_reclaim_pages(void);
/* Bring a swapped-out page back (ELDU): 0, -ENOMEM, or -EFAULT if it cannot be reloaded. */
int sgx_encl_eldu(struct sgx_encl *e, struct encl_page *p, uint64_t addr);
/* Bring the SECS back if it was written out: 0, -ENOMEM or -EFAULT. */
int encl_secs_reload(struct sgx_encl *e);
/* Backing layout: page contents [0, size), PCMDs from size, then (page aligned) the SECS
 * and its PCMD. */
#define ENCL_BACKING_SECS_OFF(size) ((size) + (((size) / 32 + SGX_PAGE_SIZE - 1) & SGX_PAGE_MASK))
#define ENCL_BACKING_LEN(size) (ENCL_BACKING_SECS_OFF(size) + 2 * SGX_PAGE_SIZE)
/* Before adding a page: a new VA page every 512 pages, as the kernel does.
 * 0 or -errno; *grew (may be NULL) says whether a VA page was added. */
int sgx_encl_grow(struct sgx_encl *e, bool *grew);
/* Undo the VA page sgx_encl_grow just added (the page it was for was not added). */
void sgx_encl_shrink(struct sgx_encl *e);
/* Paging state of an enclave going away (VA pages, backing). */
void encl_paging_release(struct sgx_encl *e);
void encl_va_slot_free(struct sgx_encl *e, struct encl_page *p);

/* Enclave pages (encl.c). */
struct encl_page *encl_page_lookup(struct sgx_encl *e, uint64_t addr);
struct encl_page *encl_page_create(struct sgx_encl *e, uint64_t addr);
/* The page table's shape for an ELRANGE of size bytes (at ECREATE). */
void encl_pt_init(struct sgx_encl *e, uint64_t size);
/* The first tracked page at or above *addr and below end: its address goes to *addr. NULL
 * if none. Skips absent subtrees, so a walk costs what is there, not the range. */
struct encl_page *encl_page_next(struct sgx_encl *e, uint64_t *addr, uint64_t end);
/* Drop a reference; the last one releases the enclave, or, while threads are still inside
 * it, keeps it until they have left (encl_reap). */
void encl_put(struct sgx_encl *e);
/* Release the enclaves whose threads have all left. Frees memory: call it from the entry
 * points that run in the program's normal context (ioctl, mmap, munmap, open, close...),
 * never from the fault or AEX path. */
void encl_reap(void);
int encl_pte_prot(const struct sgx_encl *e, const struct encl_page *p, int vma_prot);

/* Enclave VMAs (mmap.c). */
/* Make the host mapping of one page of e follow VMA ∩ EPCM: 0 or -errno. */
int vma_refresh_page(struct sgx_encl *e, uint64_t addr);
/* encl_vm_ops's fault (fault.c) and page walk (encl.c). */
enum sgx_fault_result sgx_vma_fault(struct drv_vma *v, uint64_t addr, unsigned access,
				     const struct cpu_lp *lp, uint32_t *errcode);
uint32_t encl_vma_translate(const struct drv_vma *v, uint64_t la, bool write, uint32_t *idx);

/* Accounting (stat.c). */
int encl_register(struct sgx_encl *e);
void encl_unregister(struct sgx_encl *e);
void stat_publish(void);

/* EAUG from the fault handler (fault.c): 0 or -errno. */
int sgx_encl_eaug_page(struct sgx_encl *e, uint64_t addr);

/* User memory (uaccess.c): 0 or -EFAULT. */
/* The reason an ioctl of this thread fails, for the trace (static strings; see
 * sgx_ioctl_reason). */
void drv_set_reason(const char *who, const char *why);
int copy_from_user(void *dst, uint64_t src, size_t len);
int copy_to_user(uint64_t dst, const void *src, size_t len);

#endif
