/* A fake address space for driver tests: a struct drv_mm whose callbacks only record what
 * they are asked and keep a page-granular model of the result. Addresses come from a real
 * PROT_NONE region the fake owns, so a driver that touched enclave addresses itself instead
 * of going through the callbacks would crash the test. */
#ifndef SGXEMU_TESTS_FAKE_MM_H
#define SGXEMU_TESTS_FAKE_MM_H

#include <stddef.h>
#include <stdint.h>

#include "driver/driver.h"

enum fmm_kind {
	FMM_FREE = 0,  /* nothing mapped */
	FMM_FOREIGN,   /* mapped by someone else (fmm_claim), e.g. the PROT_NONE reservation */
	FMM_RESERVED,  /* handed out by reserve() */
	FMM_NONE,      /* map_none(): placeholder without access */
	FMM_EPC,       /* map_epc() */
	FMM_EPC_COW,   /* map_epc_cow() */
};

struct fmm_page {
	enum fmm_kind kind;
	int prot;         /* FMM_EPC, FMM_EPC_COW (and protect()): PROT_* */
	uint64_t epc_off; /* FMM_EPC, FMM_EPC_COW: EPC byte offset mapped here */
};

enum fmm_op {
	FMM_OP_MAP_EPC, FMM_OP_MAP_NONE, FMM_OP_PROTECT, FMM_OP_UNMAP, FMM_OP_RESERVE, FMM_OP_IPI,
	FMM_OP_BACKING_CREATE, FMM_OP_BACKING_DISCARD, FMM_OP_BACKING_DESTROY, FMM_OP_ADVISE,
	FMM_OP_SHOOTDOWN, FMM_OP_MAP_EPC_COW, FMM_OP_COUNT
};

struct fmm_call {
	enum fmm_op op;
	uint64_t addr, len, epc_off, hint; /* ipi(), tlb_shootdown(): hint = the SECS */
	int prot;     /* advise(): the advice */
	uint64_t ret; /* reserve(): the address returned; ipi(): the epoch */
};

extern const struct drv_mm fmm_ops;

/* Reserve the owned region: size bytes aligned to align. 0 or -1. */
int fmm_init(uint64_t size, uint64_t align);
uint64_t fmm_base(void);
uint64_t fmm_size(void);
/* Mark [addr, addr+len) as mapped by someone else (reserve() will not hand it out). */
void fmm_claim(uint64_t addr, uint64_t len);
/* Forget every mapping (all pages FMM_FREE) and every recorded call. */
void fmm_reset(void);
/* The model of the page containing addr (NULL outside the owned region). */
const struct fmm_page *fmm_page(uint64_t addr);

size_t fmm_ncalls(void);
const struct fmm_call *fmm_call(size_t i);
void fmm_clear_calls(void);
/* Calls on addresses outside the owned region, or with unaligned address/length. */
unsigned fmm_violations(void);
/* The same, counting only calls of one kind (fmm_claim counts as FMM_OP_RESERVE). */
unsigned fmm_violations_of(enum fmm_op op);
/* Make the next reserve() calls fail (return 0). */
void fmm_fail_reserve(int on);
/* Sources of ADD_PAGES (src_vma): addresses in [start, end) answer as a file mapping from a
 * noexec mount (no VM_MAYEXEC); free pages of the owned region as holes (the next mapping
 * above them); everything else as anonymous memory. (0, 0) clears. */
void fmm_set_noexec_source(uint64_t start, uint64_t end);
/* What advise() answers: err (-errno) for every call when set, else ENOMEM for a range
 * with a free page (a hole, as madvise(2) says) and 0 otherwise. 0 clears. */
void fmm_set_advise_error(int err);
/* Whether capable_sys_admin() says yes. */
void fmm_set_capable(int on);
/* The process's READ_IMPLIES_EXEC personality, as read_implies_exec() answers it. */
void fmm_set_read_implies_exec(int on);
/* Backing stores created and not yet destroyed. */
unsigned fmm_backings_live(void);

#endif
