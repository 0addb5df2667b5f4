/* The emulated SGX processor: EPC, EPCM and the leaf functions. Pure: no Linux, no signals.
 * A leaf returns an SGX status code (>= 0, what hardware puts in RAX) or CPU_FAULT with the
 * exception (vector, error code, address) in *fault. */
#ifndef SGXEMU_CPU_CPU_H
#define SGXEMU_CPU_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/arch.h"
#include "cpu/cpuid.h"

#define CPU_FAULT (-1L)

struct cpu_fault {
	uint8_t vector;    /* X86_GP or X86_PF */
	uint32_t errcode;
	uint64_t addr;
};

/* EPCM.flags bits besides type and permissions. */
#define EPCM_PENDING  0x01
#define EPCM_MODIFIED 0x02
#define EPCM_PR       0x04
#define EPCM_BLOCKED  0x08

struct secs_meta;

struct epcm_entry {
	uint8_t valid;
	uint8_t type;
	uint8_t perm;          /* SECINFO R/W/X bits */
	uint8_t flags;         /* EPCM_* */
	atomic_uint busy;      /* TCS: a logical processor is inside on it */
	atomic_uint pins;      /* SSA page of a logical processor inside: AEX writes it */
	uint32_t secs;         /* EPC index of the owning SECS */
	uint64_t linaddr;
	uint64_t bepoch;       /* tracking epoch of the last EBLOCK/EMODPR/EMODT */
	struct secs_meta *meta; /* SECS pages only: the hidden enclave state */
};

/* State the hardware keeps for an enclave outside the software-visible SECS page. */
struct secs_meta {
	uint64_t eid;
	bool initialized;
	struct measure *mr;
	atomic_uint children;   /* valid child pages */
	atomic_uint active;     /* logical processors inside the enclave */
	/* Tracking (SDM Vol. 3D, ETRACK and EWB): the current epoch and the threads inside by the
	 * parity of the epoch they entered in (only two epochs can have threads inside). */
	atomic_ulong epoch;
	atomic_uint active_ep[2];
	uint8_t padding[352];   /* from the signature at EINIT (key derivation) */
	uint8_t isv_family_id[16];   /* from SIGSTRUCT at EINIT, KSS enclaves only */
	uint8_t isv_ext_prod_id[16];
	struct secs_meta *parked_next; /* while the SECS page is paged out */
};

/* How ENCLU leaves reach enclave pages through the (emulated) page tables. Returns 0 and the
 * EPC index when la is mapped by a present PTE that allows the access; otherwise the page-fault
 * error code bits a page walk would report (P set if a PTE exists). */
struct cpu_mmu {
	uint32_t (*translate)(void *ctx, uint64_t la, bool write, uint32_t *epc_index);
	/* The EPCM entry of the page at la changed under a running enclave (EACCEPT, EMODPE):
	 * cached translations must follow. */
	void (*epcm_changed)(void *ctx, uint64_t la);
	void *ctx;
};

struct sgx_cpu {
	uint8_t *epc;           /* the EPC, reachable by the emulator (a "direct map") */
	uint64_t epc_pages;
	struct epcm_entry *epcm;
	struct cpu_features feat;
	atomic_ulong next_eid;
	uint8_t lepubkeyhash[32]; /* IA32_SGXLEPUBKEYHASH0-3, written before EINIT (FLC) */
	struct evp_cipher_ctx_st *paging_ctx; /* AES-128-GCM with the per-boot paging key */
	atomic_ulong paging_version;          /* never reused under one key */
	struct cpu_mmu mmu;
	struct cpu_keys *keys;  /* the key hierarchy (keys.c); EREPORT/EGETKEY #GP without it */
	/* Hidden state of SECS pages written out by EWB: hardware carries it inside the
	 * encrypted page; we keep it here until ELDU brings the page back. */
	struct secs_meta *parked;
};

/* The extended (x87, SSE, AVX...) state of the context an ENCLU or AEX acts on: an image in
 * the standard XSAVE format whose XSTATE_BV says which components hold values (the others
 * are in their initial configuration), as the OS saves it for a signal handler and loads it
 * back on return. */
struct cpu_xsave {
	uint8_t *area;     /* legacy region, then (if size allows) header and components */
	uint32_t size;     /* bytes at area: 512 is a legacy (FXSAVE) image without a header */
	uint64_t features; /* the components the image has room for and the OS restores */
};

/* Registers an ENCLU leaf reads and writes. xsave (may be NULL: the leaf then neither saves
 * nor loads extended state) is the interrupted context's extended state: AEX saves it into
 * the SSA and leaves the synthetic state there, ERESUME loads it from the SSA. */
struct cpu_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t fsbase, gsbase;
	struct cpu_xsave *xsave;
};

/* How a status-returning leaf ends: RAX = the SGX status code, ZF set if it is an error, the
 * other arithmetic flags cleared. Returns 0 (the leaf completed; no fault). */
static inline long leaf_status(struct cpu_regs *r, uint64_t code)
{
	r->rax = code;
	r->rflags &= ~RFLAGS_STATUS;
	if (code)
		r->rflags |= RFLAGS_ZF;
	return 0;
}

/* A logical processor: what the CPU remembers while a thread is in enclave mode.
 *
 * Written only by its own thread (EENTER/ERESUME/EEXIT/AEX, and the driver's pause/resume
 * around emulator traps, cpu_lp_pause/cpu_lp_resume). Four fields are also read by other
 * threads, lock-free, to decide whom the IPIs of a tracking cycle or a TLB shootdown must
 * force out (the host's host_ipi): in_enclave, secs, entry_epoch and paused, hence atomic.
 * Protocol: on entry the thread stores secs and entry_epoch, then in_enclave = true with
 * release; on exit in_enclave = false with release (after the SECS counters dropped). A
 * reader loads in_enclave with acquire and, if true, sees that entry's secs and entry_epoch
 * or a later entry's. paused is stored (release) after the SECS's per-epoch counter changed
 * and read with acquire: a reader that sees a thread paused may leave it alone for tracking
 * (it will re-read the epoch when it resumes). A stale read only costs one needless IPI or
 * one more round of the sender's bounded wait: the tracking counters in secs_meta, not
 * these fields, decide whether a cycle is complete. */
struct cpu_lp {
	atomic_bool in_enclave;
	_Atomic uint32_t secs;  /* EPC index of the current SECS */
	uint32_t tcs;           /* EPC index of the current TCS */
	uint64_t tcs_la;
	uint64_t base, size;    /* ELRANGE */
	uint64_t ssa_la;        /* current SSA frame (for AEX) */
	uint32_t ssa_first, ssa_last; /* its first and last EPC pages, found at entry */
	uint32_t ssa_frame_size;
	uint64_t out_fsbase, out_gsbase; /* outside FS/GS bases saved by EENTER/ERESUME */
	_Atomic uint64_t entry_epoch; /* tracking epoch at EENTER/ERESUME */
	bool opt_out;           /* entered through a TCS without DBGOPTIN */
	atomic_bool paused;     /* inside, but waiting in the emulator (cpu_lp_pause) */
	uint64_t out_tf;        /* the outside RFLAGS.TF, suppressed inside when opting out */
};

int cpu_init(struct sgx_cpu *cpu, uint8_t *epc, uint64_t epc_pages, const struct cpu_features *f);
void cpu_fini(struct sgx_cpu *cpu);

static inline uint8_t *epc_page(const struct sgx_cpu *cpu, uint32_t idx)
{
	return cpu->epc + (uint64_t)idx * SGX_PAGE_SIZE;
}
/* EPC index of a direct-map address, or -1 if it is not in the EPC. */
long epc_index(const struct sgx_cpu *cpu, const void *p);

/* ENCLS (driver side: EPC operands are direct-map addresses, others ordinary pointers). */
long encls_ecreate(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_dst, struct cpu_fault *f);
long encls_eadd(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_dst, struct cpu_fault *f);
long encls_eextend(struct sgx_cpu *cpu, void *secs, void *chunk, struct cpu_fault *f);
long encls_einit(struct sgx_cpu *cpu, const struct sgx_sigstruct *sig, void *secs,
		 const struct sgx_einittoken *token, struct cpu_fault *f);
long encls_eremove(struct sgx_cpu *cpu, void *epc_page, struct cpu_fault *f);
/* SGX2 (cpu/edmm.c). */
long encls_eaug(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_dst, struct cpu_fault *f);
long encls_emodpr(struct sgx_cpu *cpu, const struct sgx_secinfo *si, void *epc_pg, struct cpu_fault *f);
long encls_emodt(struct sgx_cpu *cpu, const struct sgx_secinfo *si, void *epc_pg, struct cpu_fault *f);
long encls_etrack(struct sgx_cpu *cpu, void *secs, struct cpu_fault *f);
/* EPC paging (cpu/paging.c). Callers serialise them (the driver lock): they share one
 * pre-created cipher context, so they never allocate and may run in the fault path. */
long encls_epa(struct sgx_cpu *cpu, void *epc_pg, struct cpu_fault *f);
long encls_eblock(struct sgx_cpu *cpu, void *epc_pg, struct cpu_fault *f);
long encls_ewb(struct sgx_cpu *cpu, struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
	       struct cpu_fault *f);
long encls_eldu(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
		struct cpu_fault *f);
long encls_eldb(struct sgx_cpu *cpu, const struct sgx_pageinfo *pi, void *epc_pg, uint64_t *va_slot,
		struct cpu_fault *f);
int cpu_paging_init(struct sgx_cpu *cpu);
/* Forget the paged-out SECS of enclave eid (its enclave is gone). */
void cpu_secs_discard(struct sgx_cpu *cpu, uint64_t eid);
/* Tracking for a thread that leaves and re-enters enclave mode around a fault the OS
 * resolves (the AEX and ERESUME hardware does for every #PF). */
void cpu_lp_pause(struct sgx_cpu *cpu, struct cpu_lp *lp);
void cpu_lp_resume(struct sgx_cpu *cpu, struct cpu_lp *lp);

/* Whether the tracking cycle that covers a change made at bepoch is complete. */
bool secs_tracking_done(const struct secs_meta *m, uint64_t bepoch);

long enclu_eaccept(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f);
long enclu_eacceptcopy(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f);
long enclu_emodpe(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *r, struct cpu_fault *f);

/* ENCLU: executes the leaf in regs->rax for the logical processor lp, whose RIP points at the
 * ENCLU instruction. On success regs holds the state after the instruction. */
long enclu(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *regs, struct cpu_fault *f);

/* Asynchronous exit: an exception (vector, error code, address) interrupted the enclave with
 * the state in regs. Saves it into the current SSA frame and loads the synthetic AEX state. */
void cpu_aex(struct sgx_cpu *cpu, struct cpu_lp *lp, struct cpu_regs *regs, unsigned vector,
	     uint32_t errcode, uint64_t addr);

/* An operand of an ENCLU leaf that lives in enclave memory (SECINFO, KEYREQUEST, REPORT...):
 * la must be inside ELRANGE (#GP), mapped (#PF) and a valid PT_REG page of the current enclave
 * allowing the access (#PF with the SGX bit). The object [la, la+size) must not cross a page.
 * Returns the emulator's pointer to it, or NULL with *f set. */
void *cpu_enclave_ptr(struct sgx_cpu *cpu, const struct cpu_lp *lp, uint64_t la, uint64_t size,
		      unsigned access, struct cpu_fault *f);

/* EPCM permission check for an enclave-mode access to la (a PT_REG page of the current
 * enclave); returns 0 or the page-fault error code (with X86_PF_SGX) hardware would raise. */
uint32_t epcm_check_access(const struct sgx_cpu *cpu, const struct cpu_lp *lp, uint32_t idx,
			   uint64_t la, unsigned access);
#define ACCESS_R 1U
#define ACCESS_W 2U
#define ACCESS_X 4U

#endif
