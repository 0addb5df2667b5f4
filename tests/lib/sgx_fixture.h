/* Test fixtures for the emulated CPU and driver: enclave layouts described as data, their
 * MRENCLAVE computed from the description (never from the EPC), SIGSTRUCTs signed with the
 * committed test key, and a "machine": a struct sgx_cpu over a malloc'd EPC with a small fake
 * page table behind its translate callback.
 *
 * Everything here is plain C returning error codes, so it can be used by any test. */
#ifndef SGXEMU_TESTS_SGX_FIXTURE_H
#define SGXEMU_TESTS_SGX_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cpu/cpu.h"

#define FX_MAX_PAGES 32
#define FX_MAX_PTES 64

/* Common SECINFO.FLAGS values. */
#define FX_SI_TCS 0x100ULL
#define FX_SI_R   0x201ULL
#define FX_SI_RW  0x203ULL
#define FX_SI_RX  0x205ULL

struct fx_page {
	uint64_t offset;  /* from the enclave base, page aligned */
	uint64_t secinfo; /* SECINFO.FLAGS given to EADD / ADD_PAGES */
	bool measure;     /* EEXTEND the whole page */
	uint8_t *data;    /* 4096 page-aligned bytes, owned by the layout */
};

struct fx_layout {
	uint64_t base, size;
	uint32_t ssa_frame_size;
	uint32_t miscselect;
	uint64_t attributes; /* SECS.ATTRIBUTES.FLAGS */
	uint64_t xfrm;
	struct fx_page page[FX_MAX_PAGES];
	unsigned npages;
};

/* Empty layout: SSA frames of one page, no MISCSELECT, MODE64BIT, XFRM = x87|SSE. */
void fx_layout_init(struct fx_layout *l, uint64_t base, uint64_t size);
void fx_layout_free(struct fx_layout *l);
/* Append a zeroed page; NULL if the layout is full or out of memory. */
struct fx_page *fx_add_page(struct fx_layout *l, uint64_t offset, uint64_t secinfo, bool measure);
/* Append a REG page filled with a pattern derived from seed. */
struct fx_page *fx_add_reg(struct fx_layout *l, uint64_t offset, uint64_t secinfo, bool measure,
			   uint8_t seed);
/* Append a measured TCS page (SECINFO 0x100) with the given fields, everything else zero. */
struct sgx_tcs *fx_add_tcs(struct fx_layout *l, uint64_t offset, uint64_t ossa, uint32_t nssa,
			   uint64_t oentry, uint64_t ofsbase, uint64_t ogsbase);
/* Index of the page at offset, or -1. */
int fx_page_at(const struct fx_layout *l, uint64_t offset);

/* The standard enclave used by the ENCLU and driver tests: two TCSs, each with nssa SSA
 * frames, a third TCS whose SSA points at a read-only page, code, a RW page (FS) and an R page
 * (GS). Offsets of each part are returned in *s. */
struct fx_std {
	uint64_t tcs[2];    /* good TCSs */
	uint64_t tcs_bad;   /* OSSA = the read-only page */
	uint64_t ssa[2];    /* first SSA frame of tcs[i] */
	uint64_t code;      /* RX; OENTRY = code + 0x80 */
	uint64_t data_rw;   /* RW; OFSBASE */
	uint64_t data_r;    /* R; OGSBASE */
	uint64_t hole;      /* first offset with no page */
	uint32_t nssa;
};
#define FX_STD_ENTRY 0x80
int fx_std_layout(struct fx_layout *l, struct fx_std *s, uint64_t base, uint64_t size,
		  uint32_t nssa, uint32_t ssa_frame_size, uint32_t miscselect);

/* SECS image for ECREATE / SGX_IOC_ENCLAVE_CREATE. */
void fx_secs(const struct fx_layout *l, struct sgx_secs *secs);
/* MRENCLAVE as ECREATE + EADD + EEXTEND compute it for the layout (TCS contents and SECINFO
 * sanitised as EADD does), using cpu/measure.h only. 0 or -1. */
int fx_mrenclave(const struct fx_layout *l, uint8_t out[32]);

/* The committed test key (tests/data/test_signing_key.pem), loaded once; NULL if missing. */
EVP_PKEY *fx_key(void);
/* An unsigned SIGSTRUCT for the layout: vendor 0, ENCLAVEHASH = mr, ATTRIBUTES and
 * MISCSELECT = the layout's, masks DEBUG|MODE64BIT|PROVISIONKEY|EINITTOKENKEY|KSS, XFRM mask
 * ~0, MISCMASK ~0, ISVPRODID 0x1234, ISVSVN 7. */
void fx_sigstruct_prepare(const struct fx_layout *l, const uint8_t mr[32], struct sgx_sigstruct *s);
/* Sign with the test key. 0 or -1. */
int fx_sign(struct sgx_sigstruct *s);
/* prepare(fx_mrenclave(l)) + sign. 0 or -1. */
int fx_sigstruct(const struct fx_layout *l, struct sgx_sigstruct *s);
void fx_sha256(const void *p, size_t n, uint8_t out[32]);

/* A CPU over a malloc'd EPC, with a fake page table. */
struct fx_pte {
	uint64_t la;
	uint32_t epc;
	bool writable;
};

struct fx_machine {
	struct sgx_cpu cpu;
	uint8_t *epc;
	uint64_t npages;
	uint32_t next_free;
	struct fx_pte pt[FX_MAX_PTES];
	unsigned npt;
	unsigned translate_calls;
};

int fx_machine_init(struct fx_machine *m, uint64_t npages);
void fx_machine_fini(struct fx_machine *m);
/* A fresh (never used) EPC page, or NULL when all were handed out. */
void *fx_epc_alloc(struct fx_machine *m);
uint32_t fx_epc_idx(const struct fx_machine *m, const void *epc_page);
/* Page-table entries for the ENCLU leaves (la page aligned). */
void fx_map(struct fx_machine *m, uint64_t la, const void *epc_page, bool writable);
void fx_unmap(struct fx_machine *m, uint64_t la);

/* An enclave built on a machine with ECREATE/EADD/EEXTEND (and EINIT). */
struct fx_encl {
	void *secs;
	void *page[FX_MAX_PAGES]; /* EPC page of layout page i */
	struct sgx_sigstruct *sig; /* 4K-aligned; NULL until signed */
	struct sgx_einittoken *token; /* 512-aligned, zero */
};

/* ECREATE + EADD (+ EEXTEND) every layout page, mapping each page at its linear address
 * (writable for TCS and W pages). Returns SGX_SUCCESS or the first failing leaf's result. */
long fx_build(struct fx_machine *m, const struct fx_layout *l, struct fx_encl *e,
	      struct cpu_fault *f);
/* Sign for the layout, set LEPUBKEYHASH to the signer and EINIT. */
long fx_init(struct fx_machine *m, const struct fx_layout *l, struct fx_encl *e,
	     struct cpu_fault *f);
void fx_encl_free(struct fx_encl *e);

/* Set LEPUBKEYHASH to SHA-256(s->modulus), as Linux does before EINIT. */
void fx_set_lehash(struct sgx_cpu *cpu, const struct sgx_sigstruct *s);

#endif
