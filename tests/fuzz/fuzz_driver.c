/* libFuzzer target: the driver (driver/) over the fake address space (tests/lib/fake_mm.c).
 *
 * An input is a program. Its first byte holds settings (bit 0: SGX2; bit 1: the madvise,
 * mremap and mmap-over operations, added later), then come operations, each an opcode byte
 * followed by the bytes its arguments need (missing bytes read as zero): open, close and dup
 * of /dev/sgx_enclave, /dev/sgx_provision and /dev/sgx_vepc; every ioctl with structs built
 * from the input (fields near the values the driver checks, pointers to good, NULL,
 * misaligned, read-only, half-unmapped, kernel or enclave memory); mmap, munmap, mprotect,
 * madvise and mremap as the preload passes them on, and a foreign MAP_FIXED mmap over the
 * driver's mappings whose host mmap fails or succeeds; faults and instruction peeks as the trap path
 * makes them; ENCLU leaves and AEXs for two logical processors, with the operands an enclave
 * would have stored; guest ENCLS on vEPC memory; and a macro that builds, initialises and
 * maps a whole enclave so that short inputs reach the interesting states.
 *
 * After every operation check_invariants() verifies what must always hold, and abort()s with
 * a message on the first violation:
 *   - EPC accounting: the free count matches the free bitmap; every EPC page is free, or
 *     belongs to exactly what the enclaves (pages, VA pages, SECS) and vEPCs say they hold;
 *     free pages have no EPCM entry; the reclaimer's owner table matches the page tables;
 *   - the host mappings: every page the fake mm has EPC mapped at lies in an enclave or vEPC
 *     mapping, maps exactly the EPC page the driver has there (never a free or another
 *     enclave's page) and is never more accessible than VMA ∩ EPCM allow;
 *   - enclave memory: pages added or augmented keep their contents across reclaim and
 *     reload (a shadow hash per page; pages an ENCLU or AEX may write are re-learnt);
 *   - results: ioctls return 0 or an errno the kernel documents for that ioctl, a complete
 *     ADD_PAGES reports count == length, an unmutated SIGSTRUCT for what was measured is
 *     accepted; mmap returns a page-aligned address in the region (the one asked for with
 *     MAP_FIXED) or a documented errno, and so do mremap (the destination of
 *     MREMAP_FIXED) and madvise; a foreign MAP_FIXED mmap over the driver's mappings that
 *     fails changes none of them, one that succeeds leaves none in its range; a fault that
 *     says "retry" makes progress;
 *   - the driver makes no map/protect call outside the region it was given.
 * At the end of the input everything is closed and unmapped and the platform must be empty
 * again: no EPC page used, no enclave, no mapping, no backing store.
 *
 * The platform is process-wide (sgx_platform_init once, in LLVMFuzzerInitialize): each input
 * creates and destroys its own enclaves on it.
 *
 * No operation is held back: the issue-9 bugs the harness once steered around (an enclave
 * released under a logical processor inside it, SECS.SIZE >= 2^48, mprotect at an unaligned
 * address, MAP_FIXED_NOREPLACE taken as a hint, an enclave mapping over a vEPC mapping) are
 * fixed, and their reproducers are in the corpus (regress-*), run by the test suite.
 * FUZZ_DRIVER_TRACE=1 prints every operation (for reproducing a crash). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/sgx.h>
#include <openssl/evp.h>

#include "cpu/keys.h"
#include "cpu/measure.h"
#include "driver/driver.h"
#include "driver/internal.h"
#include "driver/vepc.h"
#include "driver/virt.h"
#include "tests/lib/fake_mm.h"
#include "tests/lib/sgx_fixture.h"
#include "lib/sign.h"

#define PG 4096ULL
#define EPC_PAGES 64
#define SLOT 0x100000ULL /* the region holds NSLOTS naturally aligned 1 MiB slots */
#define NSLOTS 8
#define REGION (NSLOTS * SLOT)
#define NFILES 8
#define NSRC 8           /* source pages for ADD_PAGES; page NSRC answers as noexec */
#define NLP 2
#define SHADOW_PAGES 256 /* contents are tracked for the first 1 MiB of each enclave */
#define NSHADOW 16
#define NVEPC_MAPS 8
#define COUNT_UNTOUCHED 0xC0C0C0C0C0C0C0C0ULL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------------------------------------------------- */
/* Input */

static const uint8_t *in_p;
static size_t in_n;
static bool tracing;

static uint8_t g8(void)
{
	if (!in_n)
		return 0;
	in_n--;
	return *in_p++;
}

static uint16_t g16(void)
{
	return (uint16_t)(g8() | g8() << 8);
}

static uint32_t g32(void)
{
	return g16() | (uint32_t)g16() << 16;
}

static uint64_t g64(void)
{
	return g32() | (uint64_t)g32() << 32;
}

static void trace(const char *fmt, ...)
{
	va_list ap;

	if (!tracing)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_driver: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---------------------------------------------------------------------------------------- */
/* Memory the harness hands to the driver */

enum pool { P_ARG, P_SECS, P_SECINFO, P_SIG, P_PAGEINFO, P_TOKEN, NPOOLS };

/* Each pool: [RW][RW][PROT_NONE][read-only]. */
static uint8_t *pool[NPOOLS];
static uint8_t *srcmem;  /* NSRC RW pages, one "noexec" page, one PROT_NONE guard */
static uint8_t *fxbuf;   /* XSAVE image for ENCLU/AEX: x87 and SSE, what the enclaves' XFRM 3 asks */
static struct cpu_xsave xsave_img;
static uint8_t zero_page[PG];

static uint64_t region_addr(void)
{
	return fmm_base() + (uint64_t)(g16() % (REGION / PG)) * PG;
}

/* Put len bytes of obj where sel says; returns the address the driver is given. *home tells
 * whether it is the normal place, where the harness reads results back. */
static uint64_t place(enum pool k, const void *obj, size_t len, uint8_t sel, bool *home)
{
	uint8_t *b = pool[k], *q;

	if (home)
		*home = false;
	switch (sel % 24) {
	default:
		memcpy(b, obj, len);
		if (home)
			*home = true;
		return (uintptr_t)b;
	case 16: /* misaligned */
		memcpy(b + 8, obj, len);
		return (uintptr_t)(b + 8);
	case 17: /* the last part falls on the PROT_NONE page */
		q = b + 2 * PG - (len + 1) / 2;
		memcpy(q, obj, (size_t)(b + 2 * PG - q));
		return (uintptr_t)q;
	case 18: /* readable, not writable: copies back fail */
		mprotect(b + 3 * PG, PG, PROT_READ | PROT_WRITE);
		memcpy(b + 3 * PG, obj, len < PG ? len : PG);
		mprotect(b + 3 * PG, PG, PROT_READ);
		return (uintptr_t)(b + 3 * PG);
	case 19:
		return 0;
	case 20: /* enclave or reserved memory of the region */
		return region_addr() + (g8() & 0xC0);
	case 21:
		return 0xFFFF800000000000ULL + g16() * PG;
	case 22:
		return (uintptr_t)(b + 2 * PG); /* entirely PROT_NONE */
	case 23:
		return g64();
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Files, and what the harness knows about their enclaves */

static struct sgx_file *files[NFILES];

static struct sgx_file *lookup(int fd)
{
	return fd >= 0 && fd < NFILES ? files[fd] : NULL;
}

static struct sgx_encl *encl_of(unsigned slot)
{
	struct sgx_file *f = files[slot % NFILES];

	return f && f->kind == SGX_FILE_ENCLAVE ? f->encl : NULL;
}

/* MRENCLAVE as the harness computes it from what the driver reported adding. */
struct track {
	struct sgx_file *f;
	struct measure *m;
	bool known;
	uint64_t xfrm;
	uint32_t misc;
};
static struct track tracks[NFILES];

static struct track *track_of(struct sgx_file *f, bool create)
{
	struct track *free_slot = NULL;

	for (unsigned i = 0; i < NFILES; i++) {
		if (tracks[i].f == f)
			return &tracks[i];
		if (!tracks[i].f && !free_slot)
			free_slot = &tracks[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->f = f;
	free_slot->m = measure_new();
	if (!free_slot->m)
		fail("out of memory");
	return free_slot;
}

static void track_drop_unreferenced(void)
{
	for (unsigned i = 0; i < NFILES; i++) {
		bool used = false;

		if (!tracks[i].f)
			continue;
		for (unsigned j = 0; j < NFILES; j++)
			used |= files[j] == tracks[i].f;
		if (!used) {
			measure_free(tracks[i].m);
			memset(&tracks[i], 0, sizeof(tracks[i]));
		}
	}
}

/* Expected contents of enclave pages, by enclave id (never reused, unlike pointers). */
struct shadow {
	uint64_t eid;
	uint8_t known[SHADOW_PAGES];
	uint64_t hash[SHADOW_PAGES];
};
static struct shadow shadows[NSHADOW];

static uint64_t hash_page(const uint8_t *p)
{
	uint64_t h = 0xCBF29CE484222325ULL;

	for (size_t i = 0; i < PG; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001B3ULL;
	}
	return h;
}

static struct shadow *shadow_of(const struct sgx_encl *e, bool create)
{
	struct shadow *free_slot = NULL;

	if (!(e->flags & ENCL_CREATED))
		return NULL;
	for (unsigned i = 0; i < NSHADOW; i++) {
		if (shadows[i].eid == e->eid)
			return &shadows[i];
		if (!shadows[i].eid && !free_slot)
			free_slot = &shadows[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->eid = e->eid;
	return free_slot;
}

/* The page at addr of e changed legitimately (or may have): learn it again. */
static void shadow_forget(const struct sgx_encl *e, uint64_t addr)
{
	struct shadow *s = e ? shadow_of(e, false) : NULL;
	uint64_t i;

	if (!s || addr < e->base)
		return;
	i = (addr - e->base) / PG;
	if (i < SHADOW_PAGES)
		s->known[i] = 0;
}

static void shadow_set(const struct sgx_encl *e, uint64_t addr, uint64_t h)
{
	struct shadow *s = shadow_of(e, true);
	uint64_t i;

	if (!s || addr < e->base)
		return;
	i = (addr - e->base) / PG;
	if (i < SHADOW_PAGES) {
		s->known[i] = 1;
		s->hash[i] = h;
	}
}

/* Logical processors (threads that may be inside an enclave). */
struct lpctx {
	struct cpu_lp lp;
	struct cpu_regs regs;
	uint64_t eid; /* of the enclave it entered */
};
static struct lpctx lps[NLP];

/* vEPC mappings the harness made (they may have gone since: only used to pick addresses). */
static uint64_t vepc_maps[NVEPC_MAPS][2];
static unsigned nvepc_maps;

/* SIGSTRUCTs signed so far, by header||body (signing is the slow part of an input). */
struct sigcache_entry {
	uint8_t digest[32];
	struct sgx_sigstruct sig;
};
static struct sigcache_entry sigcache[64];
static unsigned sigcache_n, sigcache_next;
static uint8_t *epc;

/* ---------------------------------------------------------------------------------------- */
/* Invariants */

static void check_epc_accounting(void)
{
	uint64_t popcount = 0, held = 0, resident_total = 0, owned = 0;
	uint64_t total, free_pages, vepc_pages;

	sgx_epc_usage(&total, &free_pages, &vepc_pages);
	for (uint64_t i = 0; i < total; i++) {
		bool is_free = sgx_pf.free_map[i / 64] >> (i % 64) & 1;

		popcount += is_free;
		if (is_free && sgx_pf.cpu.epcm[i].valid)
			fail("free EPC page %lu has a valid EPCM entry (type %u)", (unsigned long)i,
			     sgx_pf.cpu.epcm[i].type);
		if (sgx_pf.owner[i].encl) {
			owned++;
			if (is_free)
				fail("free EPC page %lu still has an owner", (unsigned long)i);
		}
	}
	if (popcount != free_pages)
		fail("nr_free %lu but %lu bits set in the free map", (unsigned long)free_pages,
		     (unsigned long)popcount);
	for (size_t k = 0; k < sgx_pf.nr_encls; k++) {
		const struct sgx_encl *e = sgx_pf.encls[k];
		uint64_t resident = 0, swapped = 0;

		uint64_t tracked = 0, addr = e->base;
		const struct encl_page *p;

		/* Every page the page table tracks (encl_page_next skips absent subtrees). */
		for (; (p = encl_page_next((struct sgx_encl *)e, &addr, e->base + e->size)); addr += PG) {
			tracked++;
			if (encl_page_lookup((struct sgx_encl *)e, addr) != p)
				fail("enclave %lx: the walk and the lookup disagree at %lx",
				     (unsigned long)e->base, (unsigned long)addr);
			if (p->epc == EPC_NONE) {
				swapped += p->swapped;
				continue;
			}
			resident++;
			if (p->epc >= total)
				fail("enclave page %lx at EPC index %u", (unsigned long)addr, p->epc);
			if (sgx_pf.free_map[p->epc / 64] >> (p->epc % 64) & 1)
				fail("enclave page %lx is on free EPC page %u", (unsigned long)addr, p->epc);
			if (sgx_pf.owner[p->epc].encl != e || sgx_pf.owner[p->epc].addr != addr)
				fail("EPC page %u of enclave page %lx has another owner", p->epc,
				     (unsigned long)addr);
		}
		/* page_cnt counts the SECS too (the VA pages are sized by it). */
		if (e->flags & ENCL_CREATED)
			tracked++;
		if (resident != e->nr_resident || swapped != e->nr_swapped || tracked != e->page_cnt)
			fail("enclave %lx counts %lu resident, %lu swapped, %lu pages; its page table %lu, "
			     "%lu, %lu", (unsigned long)e->base, (unsigned long)e->nr_resident,
			     (unsigned long)e->nr_swapped, (unsigned long)e->page_cnt,
			     (unsigned long)resident, (unsigned long)swapped, (unsigned long)tracked);
		for (uint32_t v = 0; v < e->nr_va; v++)
			if (sgx_pf.free_map[e->va[v].epc / 64] >> (e->va[v].epc % 64) & 1)
				fail("VA page %u of enclave %lx is free", e->va[v].epc, (unsigned long)e->base);
		resident_total += resident;
		held += resident + e->nr_va + (e->secs != EPC_NONE && !e->secs_out);
		if (e->secs != EPC_NONE && !e->secs_out &&
		    (!sgx_pf.cpu.epcm[e->secs].valid || sgx_pf.cpu.epcm[e->secs].type != SGX_PT_SECS))
			fail("SECS of enclave %lx (EPC %u) is not a valid SECS", (unsigned long)e->base,
			     e->secs);
	}
	if (owned != resident_total)
		fail("%lu EPC pages have an owner, enclaves have %lu resident", (unsigned long)owned,
		     (unsigned long)resident_total);
	if (free_pages + held + vepc_pages != total)
		fail("EPC: %lu free + %lu held by enclaves + %lu by vEPCs != %lu", (unsigned long)free_pages,
		     (unsigned long)held, (unsigned long)vepc_pages, (unsigned long)total);
}

/* Host protection the driver may give enclave page p under VMA v: never more. */
static int allowed_prot(const struct drv_vma *v, const struct encl_page *p)
{
	return encl_pte_prot(v->encl, p, v->prot);
}

static void check_mappings(void)
{
	uint64_t base = fmm_base();

	for (uint64_t a = base; a < base + REGION; a += PG) {
		const struct fmm_page *fp = fmm_page(a);
		const struct drv_vma *v;
		const struct encl_page *p;
		uint32_t idx;

		if (fp->kind != FMM_EPC)
			continue;
		idx = (uint32_t)(fp->epc_off / PG);
		if (fp->epc_off % PG || idx >= EPC_PAGES)
			fail("%lx maps EPC offset %lx", (unsigned long)a, (unsigned long)fp->epc_off);
		if (sgx_pf.free_map[idx / 64] >> (idx % 64) & 1)
			fail("%lx maps free EPC page %u", (unsigned long)a, idx);
		v = vma_find(a);
		if (v && v->ops == &encl_vm_ops) {
			p = encl_page_lookup(v->encl, a);
			if (!p || p->epc != idx)
				fail("%lx maps EPC page %u, the enclave has %d there", (unsigned long)a, idx,
				     p ? (int)p->epc : -2);
			if (fp->prot & ~allowed_prot(v, p))
				fail("%lx mapped with prot %x, VMA %x and EPCM allow only %x",
				     (unsigned long)a, fp->prot, v->prot, allowed_prot(v, p));
			continue;
		}
		if (v && v->ops == &vepc_vm_ops) {
			long e = vepc_epc_of(a, false);

			if (e != (long)idx)
				fail("%lx maps EPC page %u, the vEPC has %ld there", (unsigned long)a, idx, e);
			if (fp->prot & ~v->prot)
				fail("%lx (vEPC) mapped with prot %x, the VMA has %x", (unsigned long)a,
				     fp->prot, v->prot);
			continue;
		}
		if (v)
			fail("%lx is in a VMA of unknown kind", (unsigned long)a);
		fail("%lx maps EPC page %u outside every enclave and vEPC mapping", (unsigned long)a, idx);
	}
	for (size_t i = 0; i < sgx_pf.nr_vmas; i++) {
		const struct drv_vma *v = &sgx_pf.vmas[i];

		if (v->start >= v->end || v->start % PG || v->end % PG)
			fail("VMA %lx-%lx", (unsigned long)v->start, (unsigned long)v->end);
		if (v->ops != &encl_vm_ops && v->ops != &vepc_vm_ops)
			fail("VMA %lx-%lx of unknown kind", (unsigned long)v->start, (unsigned long)v->end);
		if (i && sgx_pf.vmas[i - 1].end > v->start)
			fail("VMAs %lx-%lx and %lx-%lx overlap or are unsorted",
			     (unsigned long)sgx_pf.vmas[i - 1].start, (unsigned long)sgx_pf.vmas[i - 1].end,
			     (unsigned long)v->start, (unsigned long)v->end);
		if (v->ops == &encl_vm_ops && v->encl->refs <= 0)
			fail("VMA %lx-%lx holds an enclave with %d references", (unsigned long)v->start,
			     (unsigned long)v->end, v->encl->refs);
		if (v->start < base || v->end > base + REGION)
			fail("VMA %lx-%lx outside the region", (unsigned long)v->start, (unsigned long)v->end);
	}
	if (fmm_violations_of(FMM_OP_MAP_EPC) || fmm_violations_of(FMM_OP_MAP_NONE) ||
	    fmm_violations_of(FMM_OP_PROTECT))
		fail("the driver mapped or protected memory outside the region it was given "
		     "(map_epc %u, map_none %u, protect %u)", fmm_violations_of(FMM_OP_MAP_EPC),
		     fmm_violations_of(FMM_OP_MAP_NONE), fmm_violations_of(FMM_OP_PROTECT));
}

/* Resident REG pages keep the contents the harness knows; new ones (EAUG) start zeroed. */
static void check_contents(void)
{
	static uint64_t zero_hash;

	if (!zero_hash)
		zero_hash = hash_page(zero_page);
	for (size_t k = 0; k < sgx_pf.nr_encls; k++) {
		const struct sgx_encl *e = sgx_pf.encls[k];
		struct shadow *s = shadow_of(e, true);

		for (uint64_t i = 0; s && i < SHADOW_PAGES && i < e->size / PG; i++) {
			const struct encl_page *p = encl_page_lookup((struct sgx_encl *)e, e->base + i * PG);
			uint64_t h;

			if (!p) {
				s->known[i] = 0;
				continue;
			}
			if (p->epc == EPC_NONE || p->type != SGX_PT_REG)
				continue;
			h = hash_page(epc_page(&sgx_pf.cpu, p->epc));
			if (!s->known[i]) {
				/* First sight of a page nobody added: an EAUG, which must be zero. */
				if (sgx_pf.cpu.epcm[p->epc].flags & EPCM_PENDING && h != zero_hash)
					fail("augmented page %lx is not zeroed", (unsigned long)(e->base + i * PG));
				s->known[i] = 1;
				s->hash[i] = h;
			} else if (s->hash[i] != h) {
				fail("enclave %lx page %lx changed contents (EPC %u%s)", (unsigned long)e->base,
				     (unsigned long)(e->base + i * PG), p->epc,
				     sgx_pf.swapped_in ? ", after paging" : "");
			}
		}
	}
	/* Forget enclaves that are gone. */
	for (unsigned i = 0; i < NSHADOW; i++) {
		bool alive = false;

		for (size_t k = 0; shadows[i].eid && k < sgx_pf.nr_encls; k++)
			alive |= sgx_pf.encls[k]->eid == shadows[i].eid;
		if (!alive)
			shadows[i].eid = 0;
	}
}

static void check_lps(void)
{
	for (unsigned i = 0; i < NLP; i++) {
		const struct cpu_lp *lp = &lps[i].lp;

		if (!lp->in_enclave)
			continue;
		if (!sgx_pf.cpu.epcm[lp->secs].valid || sgx_pf.cpu.epcm[lp->secs].type != SGX_PT_SECS ||
		    sgx_pf.cpu.epcm[lp->secs].meta->eid != lps[i].eid)
			fail("logical processor %u is inside an enclave whose SECS (EPC %u) is gone "
			     "(evicted, or released)", i, lp->secs);
		/* MODIFY_TYPES may turn the TCS into TRIM while a thread is on it (whether hardware's
		 * EMODT answers SGX_EPC_PAGE_CONFLICT there is open): the page stays, and busy. */
		if (!sgx_pf.cpu.epcm[lp->tcs].valid || sgx_pf.cpu.epcm[lp->tcs].secs != lp->secs ||
		    (sgx_pf.cpu.epcm[lp->tcs].type != SGX_PT_TCS &&
		     sgx_pf.cpu.epcm[lp->tcs].type != SGX_PT_TRIM) ||
		    !atomic_load(&sgx_pf.cpu.epcm[lp->tcs].busy))
			fail("logical processor %u is inside on TCS EPC %u, which is not a busy TCS of "
			     "its enclave", i, lp->tcs);
	}
}

/* Under the driver lock, as the driver's own readers (its debug builds check that). */
static void check_invariants(void)
{
	drv_lock(&sgx_pf.lock);
	check_epc_accounting();
	check_mappings();
	check_contents();
	check_lps();
	drv_unlock(&sgx_pf.lock);
}

/* ---------------------------------------------------------------------------------------- */
/* Results */

#define E(x) (1ULL << (x))

static const char *ioctl_name(unsigned long cmd)
{
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE: return "CREATE";
	case SGX_IOC_ENCLAVE_ADD_PAGES: return "ADD_PAGES";
	case SGX_IOC_ENCLAVE_INIT: return "INIT";
	case SGX_IOC_ENCLAVE_PROVISION: return "PROVISION";
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS: return "RESTRICT_PERMISSIONS";
	case SGX_IOC_ENCLAVE_MODIFY_TYPES: return "MODIFY_TYPES";
	case SGX_IOC_ENCLAVE_REMOVE_PAGES: return "REMOVE_PAGES";
	case SGX_IOC_VEPC_REMOVE_ALL: return "VEPC_REMOVE_ALL";
	default: return "unknown";
	}
}

/* The errnos ../shared/spec/linux.md §1 and §6 document for each ioctl (EBUSY: another
 * ioctl on the same enclave; the administrator policy may add EPERM and EACCES). */
static uint64_t documented_errnos(enum sgx_file_kind kind, unsigned long cmd)
{
	if (kind == SGX_FILE_VEPC)
		return cmd == SGX_IOC_VEPC_REMOVE_ALL ? E(EINVAL) | E(EBUSY) : E(ENOTTY);
	if (kind != SGX_FILE_ENCLAVE)
		return E(ENOTTY);
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE:
		return E(EINVAL) | E(EFAULT) | E(ENOMEM) | E(EIO) | E(EBUSY);
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		return E(EINVAL) | E(EFAULT) | E(EBUSY) | E(ENOMEM) | E(EACCES) | E(EIO);
	case SGX_IOC_ENCLAVE_INIT:
		return E(EINVAL) | E(EFAULT) | E(ENOMEM) | E(EACCES) | E(EPERM) | E(EIO) | E(EBUSY);
	case SGX_IOC_ENCLAVE_PROVISION:
		return E(EFAULT) | E(EINVAL) | E(EBUSY);
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		return E(ENODEV) | E(EINVAL) | E(EFAULT) | E(EAGAIN) | E(EBUSY);
	case SGX_IOC_ENCLAVE_MODIFY_TYPES:
		return E(ENODEV) | E(EINVAL) | E(EFAULT) | E(EPERM) | E(EAGAIN) | E(EBUSY);
	case SGX_IOC_ENCLAVE_REMOVE_PAGES:
		return E(ENODEV) | E(EINVAL) | E(EFAULT) | E(EPERM) | E(EAGAIN) | E(EBUSY);
	default:
		return E(ENOTTY) | E(EBUSY);
	}
}

static long do_ioctl(struct sgx_file *f, unsigned long cmd, uint64_t arg)
{
	long r = sgx_ioctl(f, cmd, arg, lookup);

	trace("  ioctl %s (%#lx) arg %#lx -> %ld", ioctl_name(cmd), cmd, (unsigned long)arg, r);
	if (r < 0 && (r < -63 || !(documented_errnos(f->kind, cmd) >> -r & 1)))
		fail("ioctl %s (%#lx) on a %s file returned %ld, not a documented errno",
		     ioctl_name(cmd), cmd, f->kind == SGX_FILE_VEPC ? "vEPC" : "enclave", r);
	if (r > 0 && !(f->kind == SGX_FILE_VEPC && cmd == SGX_IOC_VEPC_REMOVE_ALL))
		fail("ioctl %s returned %ld", ioctl_name(cmd), r);
	return r;
}

/* ---------------------------------------------------------------------------------------- */
/* Operands */

/* Offsets and lengths near what the driver checks, for an enclave of the given size. */
static uint64_t pick_len(uint64_t size)
{
	uint64_t pages = size / PG ? size / PG : 1;

	switch (g8() % 12) {
	case 0: case 1: case 2: case 3: return (uint64_t)(g8() % (pages < 256 ? pages : 256)) * PG;
	case 4: case 5: return (uint64_t)(1 + g8() % 4) * PG;
	case 6: return size;
	case 7: return size - PG;
	case 8: return g8();
	case 9: return 0 - (uint64_t)(g8() % 4) * PG - PG;
	case 10: return 1ULL << (g8() % 64);
	default: return g64();
	}
}

static uint64_t enclave_size_of(unsigned slot)
{
	struct sgx_encl *e = encl_of(slot);

	return e && (e->flags & ENCL_CREATED) ? e->size : SLOT;
}

static uint64_t pick_secinfo_flags(void)
{
	static const uint64_t menu[] = {
		0x201, 0x203, 0x205, 0x207, 0x100, 0x200, 0x202, 0x101, 0x300, 0x400, 0x20B,
	};
	uint8_t s = g8();

	if (s < 200)
		return menu[s % (sizeof(menu) / sizeof(menu[0]))];
	return g64();
}

static void fill_secinfo(struct sgx_secinfo *si, uint64_t flags)
{
	memset(si, 0, sizeof(*si));
	si->flags = flags;
	if (g8() == 0xA5)
		si->reserved[g8() % sizeof(si->reserved)] = g8() | 1;
}

/* A signed SIGSTRUCT for header||body of s (from the cache when it was signed before). */
static void sign_cached(struct sgx_sigstruct *s)
{
	uint8_t d[32], msg[256];

	memcpy(msg, &s->header, 128);
	memcpy(msg + 128, &s->body, 128);
	fx_sha256(msg, sizeof(msg), d);
	for (unsigned i = 0; i < sigcache_n; i++) {
		if (!memcmp(sigcache[i].digest, d, 32)) {
			*s = sigcache[i].sig;
			return;
		}
	}
	if (fx_sign(s))
		fail("cannot sign with the test key");
	memcpy(sigcache[sigcache_next].digest, d, 32);
	sigcache[sigcache_next].sig = *s;
	sigcache_next = (sigcache_next + 1) % (sizeof(sigcache) / sizeof(sigcache[0]));
	if (sigcache_n < sizeof(sigcache) / sizeof(sigcache[0]))
		sigcache_n++;
}

/* A SIGSTRUCT that EINIT accepts for an enclave with these SECS values and measurement. */
static void good_sigstruct(struct sgx_sigstruct *s, const uint8_t mr[32], uint64_t attr,
			   uint64_t xfrm, uint32_t misc)
{
	sign_sigstruct_init(s);
	s->body.miscselect = misc;
	s->body.misc_mask = ~0U;
	s->body.attributes.flags = attr;
	s->body.attributes.xfrm = xfrm;
	s->body.attributes_mask.flags = ~0ULL;
	s->body.attributes_mask.xfrm = ~0ULL;
	memcpy(s->body.mrenclave, mr, 32);
	s->body.isv_prod_id = 0x1234;
	s->body.isv_svn = 7;
}

/* ---------------------------------------------------------------------------------------- */
/* Operations */

static void lp_exit(unsigned i)
{
	struct cpu_fault f;
	long r;

	if (!lps[i].lp.in_enclave)
		return;
	lps[i].regs.rax = ENCLU_EEXIT;
	lps[i].regs.rbx = 0x1000;
	r = sgx_enclu(&lps[i].lp, &lps[i].regs, &f);
	trace("  EEXIT lp%u -> %ld", i, r);
	if (lps[i].lp.in_enclave)
		fail("EEXIT left logical processor %u inside (%ld)", i, r);
}

static void op_open(void)
{
	enum sgx_file_kind kinds[] = { SGX_FILE_ENCLAVE, SGX_FILE_ENCLAVE, SGX_FILE_PROVISION,
				       SGX_FILE_VEPC };
	unsigned slot = g8() % NFILES;
	enum sgx_file_kind kind = kinds[g8() % 4];
	int err = 0;
	struct sgx_file *f;

	if (files[slot])
		return;
	f = sgx_open(kind, &err);
	trace("open slot %u kind %d -> %p (%d)", slot, kind, (void *)f, err);
	if (!f)
		fail("open of kind %d failed with %d", kind, err);
	files[slot] = f;
}

static void op_close(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_file *f = files[slot];

	if (!f)
		return;
	trace("close slot %u", slot);
	files[slot] = NULL;
	sgx_file_put(f);
	track_drop_unreferenced();
}

static void op_dup(void)
{
	unsigned from = g8() % NFILES, to = g8() % NFILES;

	if (!files[from] || files[to])
		return;
	trace("dup slot %u to %u", from, to);
	sgx_file_get(files[from]);
	files[to] = files[from];
}

static void make_secs(struct sgx_secs *secs)
{
	uint8_t m = g8();
	uint64_t size = 1ULL << (13 + g8() % 8);

	memset(secs, 0, sizeof(*secs));
	secs->size = size;
	secs->base = fmm_base() + (uint64_t)(g8() % NSLOTS) * SLOT;
	secs->ssa_frame_size = 1 + g8() % 3;
	secs->attributes.flags = SGX_ATTR_MODE64BIT;
	secs->attributes.xfrm = 3;
	if (m & 1)
		secs->attributes.flags |= SGX_ATTR_DEBUG;
	if (m & 2) /* occasionally everything else the CPU lets an enclave ask for */
		secs->attributes.flags |= (uint64_t)g8() << 4 & (SGX_ATTR_PROVISIONKEY |
			SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY);
	if (m & 4)
		secs->miscselect = g8() & 1;
	if (m & 8) {
		switch (g8() % 8) {
		case 0: secs->size = g64(); break;
		case 1: secs->base += (uint64_t)(1 + g8()) * PG; break;
		case 2: secs->base = g64(); break;
		case 3: secs->ssa_frame_size = g32(); break;
		case 4: secs->attributes.flags = g64(); break;
		case 5: secs->attributes.xfrm = g64(); break;
		case 6: secs->miscselect = g32(); break;
		default: ((uint8_t *)secs)[g16() % sizeof(*secs)] ^= (uint8_t)(1 + g8() % 255); break;
		}
	}
}

static void op_create(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_file *f = files[slot];
	struct sgx_secs secs;
	struct sgx_enclave_create c;
	struct track *t;
	long r;

	if (!f)
		return;
	make_secs(&secs);
	c.src = place(P_SECS, &secs, sizeof(secs), g8(), NULL);
	trace("CREATE slot %u size %#lx base %#lx ssa %u attr %#lx xfrm %#lx", slot,
	      (unsigned long)secs.size, (unsigned long)secs.base, secs.ssa_frame_size,
	      (unsigned long)secs.attributes.flags, (unsigned long)secs.attributes.xfrm);
	r = do_ioctl(f, SGX_IOC_ENCLAVE_CREATE, place(P_ARG, &c, sizeof(c), g8(), NULL));
	if (r == 0 && f->kind == SGX_FILE_ENCLAVE) {
		t = track_of(f, true);
		if (!t)
			return;
		/* What the driver read is what ECREATE measured, wherever the SECS came from. */
		memcpy(&secs, epc_page(&sgx_pf.cpu, f->encl->secs), sizeof(secs));
		t->known = !measure_ecreate(t->m, secs.ssa_frame_size, secs.size);
		t->xfrm = secs.attributes.xfrm;
		t->misc = secs.miscselect;
		shadow_of(f->encl, true);
	}
}

/* Source page contents: two TCS templates, then patterns. */
static void init_sources(void)
{
	for (unsigned i = 0; i < NSRC + 1; i++)
		for (unsigned b = 0; b < PG; b++)
			srcmem[i * PG + b] = (uint8_t)(i * 37 + b * 7 + (b >> 8));
	for (unsigned i = 0; i < 2; i++) {
		struct sgx_tcs *t = (struct sgx_tcs *)(srcmem + i * PG);

		memset(t, 0, sizeof(*t));
		t->ossa = 0x3000 + i * 0x2000;
		t->nssa = 2;
		t->oentry = 0x7080;
		t->ofsbase = 0x8000;
		t->ogsbase = 0x9000;
		t->fslimit = t->gslimit = 0xFFF;
	}
}

static void measure_added(struct track *t, uint64_t offset, uint64_t secinfo, bool measure,
			  const uint8_t *data)
{
	uint8_t buf[PG];
	bool tcs = ((secinfo >> 8) & 0xFF) == SGX_PT_TCS;

	if (!t || !t->known)
		return;
	if (!data) {
		t->known = false;
		return;
	}
	t->known = !measure_eadd(t->m, offset, tcs ? secinfo & ~SGX_SECINFO_PERM_MASK : secinfo);
	if (!measure)
		return;
	memcpy(buf, data, PG);
	if (tcs) {
		struct sgx_tcs *tc = (struct sgx_tcs *)buf;

		tc->state = 0;
		tc->flags &= ~SGX_TCS_FLAGS_DBGOPTIN;
		tc->cssa = 0;
		tc->aep = 0;
	}
	for (unsigned c = 0; c < PG && t->known; c += 256)
		t->known = !measure_eextend(t->m, offset + c, buf + c);
}

static void op_add_pages(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_file *f = files[slot];
	struct sgx_enclave_add_pages a, *back = (struct sgx_enclave_add_pages *)pool[P_ARG];
	struct sgx_secinfo si __attribute__((aligned(64)));
	uint64_t size = enclave_size_of(slot), srcsel, secinfo;
	uint8_t *src_local = NULL;
	bool home;
	long r;

	if (!f)
		return;
	memset(&a, 0, sizeof(a));
	a.offset = pick_len(size);
	a.length = g8() < 200 ? (uint64_t)(1 + g8() % 4) * PG : pick_len(size);
	srcsel = g8() % 12;
	if (srcsel < 8) {
		src_local = srcmem + (srcsel % NSRC) * PG;
		/* Vary the contents a little. */
		src_local[g16() % PG] ^= g8();
		a.src = (uintptr_t)src_local;
	} else if (srcsel == 8) {
		a.src = (uintptr_t)(srcmem + NSRC * PG); /* noexec: EACCES */
	} else if (srcsel == 9) {
		a.src = region_addr(); /* enclave memory: EFAULT */
	} else if (srcsel == 10) {
		a.src = 0;
	} else {
		a.src = g64();
	}
	secinfo = pick_secinfo_flags();
	fill_secinfo(&si, secinfo);
	a.secinfo = place(P_SECINFO, &si, sizeof(si), g8(), NULL);
	a.flags = g8() & 1 ? SGX_PAGE_MEASURE : 0;
	if (g8() == 0x5A)
		a.flags |= g64();
	a.count = COUNT_UNTOUCHED; /* ignored by the kernel; tells whether it was written back */
	trace("ADD_PAGES slot %u offset %#lx length %#lx src %#lx secinfo %#lx flags %#lx", slot,
	      (unsigned long)a.offset, (unsigned long)a.length, (unsigned long)a.src,
	      (unsigned long)secinfo, (unsigned long)a.flags);
	r = do_ioctl(f, SGX_IOC_ENCLAVE_ADD_PAGES, place(P_ARG, &a, sizeof(a), g8(), &home));
	if (f->kind != SGX_FILE_ENCLAVE)
		return;
	if (home) {
		struct track *t = track_of(f, false);
		struct sgx_encl *e = f->encl;

		if (back->count == COUNT_UNTOUCHED) {
			/* Refused before the first page: nothing to account for. */
			if (r == 0)
				fail("ADD_PAGES returned 0 without writing count back");
			if (r == -EIO && t)
				t->known = false;
			return;
		}
		if (back->count > a.length || back->count % PG)
			fail("ADD_PAGES count %#lx for length %#lx", (unsigned long)back->count,
			     (unsigned long)a.length);
		if (r == 0 && back->count != a.length)
			fail("ADD_PAGES returned 0 with count %#lx of %#lx", (unsigned long)back->count,
			     (unsigned long)a.length);
		for (uint64_t c = 0; c < back->count; c += PG) {
			const uint8_t *data = src_local && src_local + c + PG <= srcmem + NSRC * PG ?
						      src_local + c : NULL;

			measure_added(t, a.offset + c, secinfo, a.flags & SGX_PAGE_MEASURE, data);
			if (data && ((secinfo >> 8) & 0xFF) == SGX_PT_REG)
				shadow_set(e, e->base + a.offset + c, hash_page(data));
			else
				shadow_forget(e, e->base + a.offset + c);
		}
		if (r == -EIO && t)
			t->known = false;
	} else {
		struct track *t = track_of(f, false);

		/* Unknown progress: measurement and contents unknown. */
		if (t && r != -EINVAL)
			t->known = false;
		if (f->encl->flags & ENCL_CREATED)
			for (uint64_t i = 0; i < SHADOW_PAGES; i++)
				shadow_forget(f->encl, f->encl->base + i * PG);
	}
}

static void op_init(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_file *f = files[slot];
	struct sgx_sigstruct sig;
	struct sgx_enclave_init in;
	uint8_t mode = g8() % 8, mr[32];
	struct track *t;
	bool home_sig, home_arg, pristine = false;
	long r;

	if (!f)
		return;
	t = f->kind == SGX_FILE_ENCLAVE ? track_of(f, false) : NULL;
	memset(mr, 0, sizeof(mr));
	if (t && t->known)
		measure_digest(t->m, mr);
	if (mode < 6) {
		struct sgx_encl *e = f->kind == SGX_FILE_ENCLAVE ? f->encl : NULL;

		good_sigstruct(&sig, mr, e ? e->attributes : SGX_ATTR_MODE64BIT, t ? t->xfrm : 3,
			       t ? t->misc : 0);
		pristine = true;
		if (mode >= 3) { /* a field changed before signing */
			pristine = false;
			switch (g8() % 7) {
			case 0: sig.header.vendor = g8() & 1 ? 0x8086 : g32(); break;
			case 1: sig.body.attributes.flags ^= 1ULL << (g8() % 64); break;
			case 2: sig.body.attributes_mask.flags = g64(); break;
			case 3: sig.body.attributes.xfrm ^= 1ULL << (g8() % 64); break;
			case 4: sig.body.miscselect ^= 1U << (g8() % 32); break;
			case 5: sig.body.mrenclave[g8() % 32] ^= 1; break;
			default: ((uint8_t *)&sig.body)[g8() % 128] ^= (uint8_t)(1 + g8() % 255); break;
			}
		}
		sign_cached(&sig);
		if (mode == 5) { /* and after */
			pristine = false;
			((uint8_t *)&sig)[g16() % sizeof(sig)] ^= (uint8_t)(1 + g8() % 255);
		}
	} else {
		for (size_t i = 0; i < sizeof(sig); i++)
			((uint8_t *)&sig)[i] = g8();
	}
	in.sigstruct = place(P_SIG, &sig, sizeof(sig), g8(), &home_sig);
	trace("INIT slot %u mode %u%s", slot, mode, t && t->known ? " (measured)" : "");
	r = do_ioctl(f, SGX_IOC_ENCLAVE_INIT, place(P_ARG, &in, sizeof(in), g8(), &home_arg));
	if (r && pristine && home_sig && home_arg && t && t->known && f->kind == SGX_FILE_ENCLAVE &&
	    !(f->encl->flags & ENCL_INITIALIZED) && !(f->encl->attributes & ~f->encl->attributes_mask) &&
	    !(f->encl->attributes & SGX_ATTR_EINITTOKENKEY))
		fail("INIT with a correctly signed SIGSTRUCT for the measured contents returned %ld", r);
}

static void op_provision(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_enclave_provision p = { .fd = g8() < 240 ? g8() % (NFILES + 2) : g32() };

	if (!files[slot])
		return;
	trace("PROVISION slot %u fd %u", slot, p.fd);
	do_ioctl(files[slot], SGX_IOC_ENCLAVE_PROVISION, place(P_ARG, &p, sizeof(p), g8(), NULL));
}

/* After an SGX2 ioctl: the count the driver reported is consistent. */
static void check_count(long r, bool home, uint64_t count, uint64_t length, const char *what)
{
	if (!home)
		return;
	if (count > length || count % PG)
		fail("%s count %#lx for length %#lx", what, (unsigned long)count, (unsigned long)length);
	if (r == 0 && count != length)
		fail("%s returned 0 with count %#lx of %#lx", what, (unsigned long)count,
		     (unsigned long)length);
}

static void op_restrict(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_enclave_restrict_permissions rp, *back = (void *)pool[P_ARG];
	uint64_t size = enclave_size_of(slot);
	bool home;
	long r;

	if (!files[slot])
		return;
	memset(&rp, 0, sizeof(rp));
	rp.offset = pick_len(size);
	rp.length = g8() < 200 ? PG : pick_len(size);
	rp.permissions = g8() < 230 ? g8() & 7 : g64();
	if (g8() == 0x33)
		rp.result = g64();
	if (g8() == 0x44)
		rp.count = g64();
	trace("RESTRICT slot %u offset %#lx length %#lx perm %#lx", slot, (unsigned long)rp.offset,
	      (unsigned long)rp.length, (unsigned long)rp.permissions);
	r = do_ioctl(files[slot], SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS,
		     place(P_ARG, &rp, sizeof(rp), g8(), &home));
	check_count(r, home && r != -EINVAL && r != -ENODEV && r != -ENOTTY, back->count, rp.length,
		    "RESTRICT_PERMISSIONS");
}

static void op_modify(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_enclave_modify_types mt, *back = (void *)pool[P_ARG];
	uint64_t size = enclave_size_of(slot);
	static const uint64_t types[] = { SGX_PT_TCS, SGX_PT_TRIM, SGX_PT_TRIM, SGX_PT_REG, 0, 2 };
	bool home;
	long r;

	if (!files[slot])
		return;
	memset(&mt, 0, sizeof(mt));
	mt.offset = pick_len(size);
	mt.length = g8() < 200 ? PG : pick_len(size);
	mt.page_type = g8() < 240 ? types[g8() % 6] : g64();
	if (g8() == 0x33)
		mt.result = g64();
	if (g8() == 0x44)
		mt.count = g64();
	trace("MODIFY_TYPES slot %u offset %#lx length %#lx type %#lx", slot, (unsigned long)mt.offset,
	      (unsigned long)mt.length, (unsigned long)mt.page_type);
	r = do_ioctl(files[slot], SGX_IOC_ENCLAVE_MODIFY_TYPES,
		     place(P_ARG, &mt, sizeof(mt), g8(), &home));
	check_count(r, home && r != -EINVAL && r != -ENODEV && r != -ENOTTY, back->count, mt.length,
		    "MODIFY_TYPES");
}

static void op_remove(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_enclave_remove_pages rm, *back = (void *)pool[P_ARG];
	uint64_t size = enclave_size_of(slot);
	bool home;
	long r;

	if (!files[slot])
		return;
	memset(&rm, 0, sizeof(rm));
	rm.offset = pick_len(size);
	rm.length = g8() < 200 ? PG : pick_len(size);
	if (g8() == 0x44)
		rm.count = g64();
	trace("REMOVE_PAGES slot %u offset %#lx length %#lx", slot, (unsigned long)rm.offset,
	      (unsigned long)rm.length);
	r = do_ioctl(files[slot], SGX_IOC_ENCLAVE_REMOVE_PAGES,
		     place(P_ARG, &rm, sizeof(rm), g8(), &home));
	check_count(r, home && r != -EINVAL && r != -ENODEV && r != -ENOTTY, back->count, rm.length,
		    "REMOVE_PAGES");
}

static void op_raw_ioctl(void)
{
	static const unsigned long cmds[] = {
		SGX_IOC_ENCLAVE_CREATE, SGX_IOC_ENCLAVE_ADD_PAGES, SGX_IOC_ENCLAVE_INIT,
		SGX_IOC_ENCLAVE_PROVISION, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS,
		SGX_IOC_ENCLAVE_MODIFY_TYPES, SGX_IOC_ENCLAVE_REMOVE_PAGES, SGX_IOC_VEPC_REMOVE_ALL,
	};
	unsigned slot = g8() % NFILES;
	uint8_t raw[128];
	unsigned long cmd;
	uint8_t s = g8();

	if (!files[slot])
		return;
	if (s < 160)
		cmd = cmds[s % 8];
	else if (s < 200)
		cmd = cmds[s % 8] ^ (1UL << (g8() % 32)); /* size, direction, type bits */
	else
		cmd = g32();
	for (unsigned i = 0; i < sizeof(raw); i++)
		raw[i] = g8();
	trace("raw ioctl slot %u cmd %#lx", slot, cmd);
	do_ioctl(files[slot], cmd, place(P_ARG, raw, sizeof(raw), g8(), NULL));
}

static void op_vepc_remove_all(void)
{
	unsigned slot = g8() % NFILES;
	uint64_t arg = g8() < 220 ? 0 : g64();

	if (!files[slot])
		return;
	trace("VEPC_REMOVE_ALL slot %u arg %#lx", slot, (unsigned long)arg);
	do_ioctl(files[slot], SGX_IOC_VEPC_REMOVE_ALL, arg);
}

/* The errnos mmap(2) of these devices can give (and EOVERFLOW and EOPNOTSUPP, which do not
 * fit: MAP_SHARED_VALIDATE refuses MAP_FIXED_NOREPLACE on a file without mmap flags). */
#define MMAP_ERRNOS (E(EINVAL) | E(EACCES) | E(ENOMEM) | E(ENODEV) | E(EEXIST) | E(EPERM))

static void op_mmap(void)
{
	unsigned slot = g8() % NFILES;
	struct sgx_file *f = files[slot];
	uint64_t addr = region_addr(), len, off = 0;
	uint8_t fl = g8();
	int prot = g8() & 7, flags;
	unsigned fmode = 3;
	long r;

	if (!f)
		return;
	len = (uint64_t)(1 + g8() % 64) * PG;
	if (fl & 0x80)
		len = g8() < 128 ? g16() : g64();
	if (fl & 0x40)
		addr += g8() & 0xFFF;
	flags = (fl & 3) == 0 ? MAP_PRIVATE : (fl & 3) == 3 ? MAP_SHARED_VALIDATE : MAP_SHARED;
	if (fl & 4)
		flags |= MAP_FIXED;
	if (fl & 8)
		flags |= MAP_FIXED_NOREPLACE;
	if (fl & 0x10)
		addr = 0;
	/* The kernel keeps a mapping inside the address space; so does our caller. */
	if ((flags & MAP_FIXED) && (addr < fmm_base() || len > fmm_base() + REGION - addr))
		len = addr >= fmm_base() && addr < fmm_base() + REGION ? fmm_base() + REGION - addr : 0;
	/* The file offset matters to vEPC mappings, the open mode to every kind (bit 0x20 of
	 * an enclave or provision mmap asks for them; older inputs keep their meaning). */
	if (f->kind == SGX_FILE_VEPC) {
		off = g8() < 200 ? (uint64_t)g8() * PG : g64();
		fmode = g8() < 220 ? 3 : g8() & 3;
	} else if (fl & 0x20) {
		fmode = g8() & 3;
		off = g8() < 128 ? (uint64_t)g8() * PG : g64();
	}
	r = sgx_mmap(f, addr, len, prot, flags, off, fmode);
	trace("mmap slot %u addr %#lx len %#lx prot %x flags %#x off %#lx -> %#lx", slot,
	      (unsigned long)addr, (unsigned long)len, prot, flags, (unsigned long)off, (unsigned long)r);
	if (r < 0 && r > -4096) {
		if (-r != EOVERFLOW && -r != EOPNOTSUPP && (-r > 63 || !(MMAP_ERRNOS >> -r & 1)))
			fail("mmap returned %ld, not a documented errno", r);
		return;
	}
	if ((uint64_t)r % PG || (uint64_t)r < fmm_base() || (uint64_t)r >= fmm_base() + REGION)
		fail("mmap returned %#lx, not a page in the region", (unsigned long)r);
	if (((flags & MAP_FIXED) || ((flags & MAP_FIXED_NOREPLACE) && addr >= fmm_base())) &&
	    (uint64_t)r != addr)
		fail("mmap %s at %#lx returned %#lx",
		     flags & MAP_FIXED ? "MAP_FIXED" : "MAP_FIXED_NOREPLACE", (unsigned long)addr,
		     (unsigned long)r);
	if (f->kind == SGX_FILE_VEPC) {
		vepc_maps[nvepc_maps % NVEPC_MAPS][0] = (uint64_t)r;
		vepc_maps[nvepc_maps % NVEPC_MAPS][1] = (len + PG - 1) & ~(PG - 1);
		nvepc_maps++;
	}
}

static void op_munmap(void)
{
	uint64_t addr = region_addr(), len;
	uint8_t fl = g8();
	long r = 0;
	int ours;

	len = (uint64_t)(1 + g8() % 64) * PG;
	if (fl & 1)
		addr += g8() & 0xFFF;
	if (fl & 2)
		len = g8() < 128 ? g16() : g64();
	if (fl & 4) { /* whole slots */
		addr = fmm_base() + (uint64_t)(g8() % NSLOTS) * SLOT;
		len = SLOT * (1 + g8() % 2);
	}
	if (len > fmm_base() + REGION - addr && !(fl & 8))
		len = fmm_base() + REGION - addr;
	ours = sgx_munmap(addr, len, &r);
	trace("munmap %#lx len %#lx -> %d, %ld", (unsigned long)addr, (unsigned long)len, ours, r);
	if (ours && r && r != -EINVAL)
		fail("munmap returned %ld", r);
}

static void op_mprotect(void)
{
	uint64_t addr = region_addr(), len;
	uint8_t fl = g8();
	int prot = g8() & 7;
	long r = 0;
	int ours;

	len = (uint64_t)(1 + g8() % 64) * PG;
	if (fl & 1)
		addr += g8() & 0xFFF;
	if (fl & 2)
		len = g8() < 128 ? g16() : g64();
	if (len > fmm_base() + REGION - addr)
		len = fmm_base() + REGION - addr;
	ours = sgx_mprotect(addr, len, prot, &r);
	trace("mprotect %#lx len %#lx prot %x -> %d, %ld", (unsigned long)addr, (unsigned long)len,
	      prot, ours, r);
	if (ours && r && r != -EACCES && r != -EINVAL && r != -ENOMEM)
		fail("mprotect returned %ld", r);
}

/* madvise(2) as the preload passes it on: every advice, aligned or not, over enclave, vEPC
 * and other memory. What it must not do (drop EPC contents) the shadow hashes catch. */
static void op_madvise(void)
{
	static const int advices[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
		MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK,
		MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
		MADV_DONTNEED_LOCKED, MADV_COLLAPSE, MADV_HWPOISON, MADV_SOFT_OFFLINE,
	};
	uint64_t addr = region_addr(), len;
	uint8_t fl = g8(), s = g8();
	int advice = s < 240 ? advices[s % (sizeof(advices) / sizeof(advices[0]))] : (int)g8();
	long r = 0;
	int ours;

	len = (uint64_t)(1 + g8() % 64) * PG;
	if (fl & 1)
		addr += g8() & 0xFFF;
	if (fl & 2)
		len = g8() < 128 ? g16() : g64();
	if (len > fmm_base() + REGION - addr && !(fl & 4))
		len = fmm_base() + REGION - addr;
	if (fl & 8)
		fmm_set_capable(1);
	ours = sgx_madvise(addr, len, advice, &r);
	fmm_set_capable(0);
	trace("madvise %#lx len %#lx advice %d -> %d, %ld", (unsigned long)addr, (unsigned long)len,
	      advice, ours, r);
	if (ours && r && r != -EINVAL && r != -ENOMEM && r != -ENODEV && r != -EACCES &&
	    r != -EPERM && r != -EFAULT && r != -EAGAIN)
		fail("madvise returned %ld", r);
}

/* mremap(2) with a source or destination among the driver's mappings: shrink, grow, move,
 * the old_len 0 duplicate, MREMAP_DONTUNMAP. */
static void op_mremap(void)
{
	static const int flag_menu[] = {
		0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_FIXED,
		MREMAP_MAYMOVE | MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_DONTUNMAP |
		MREMAP_FIXED,
	};
	uint64_t old = region_addr(), nw = region_addr(), olen, nlen;
	uint8_t fl = g8(), s = g8();
	int flags = s < 240 ? flag_menu[s % 7] : (int)g8();
	long r = 0;
	int ours;

	olen = (uint64_t)(g8() % 32) * PG;
	nlen = (uint64_t)(1 + g8() % 32) * PG;
	if (fl & 1)
		old += g8() & 0xFFF;
	if (fl & 2)
		nw += g8() & 0xFFF;
	if (fl & 4)
		nlen = olen;
	if (fl & 8)
		olen = g64(), nlen = g64();
	/* The kernel keeps mappings inside the address space: a destination too. */
	if (old + olen > fmm_base() + REGION || old + olen < old)
		olen = fmm_base() + REGION - old;
	if ((flags & MREMAP_FIXED) && (nw + nlen > fmm_base() + REGION || nw + nlen < nw))
		nlen = fmm_base() + REGION - nw;
	ours = sgx_mremap(old, olen, nlen, flags, nw, &r);
	trace("mremap %#lx len %#lx -> len %#lx flags %#x new %#lx -> %d, %#lx", (unsigned long)old,
	      (unsigned long)olen, (unsigned long)nlen, flags, (unsigned long)nw, ours,
	      (unsigned long)r);
	if (!ours)
		return;
	if (r < 0 && r > -4096) {
		if (r != -EINVAL && r != -EFAULT && r != -ENOMEM && r != -EAGAIN)
			fail("mremap returned %ld", r);
		return;
	}
	if ((uint64_t)r % PG || (uint64_t)r < fmm_base() || (uint64_t)r >= fmm_base() + REGION)
		fail("mremap returned %#lx, not a page in the region", (unsigned long)r);
	if ((flags & MREMAP_FIXED) && (uint64_t)r != nw)
		fail("mremap MREMAP_FIXED to %#lx returned %#lx", (unsigned long)nw, (unsigned long)r);
}

/* The caller's MAP_FIXED mapping of something else for sgx_mmap_over: the host's mmap, which
 * the input makes fail or succeed. */
struct over_ctx {
	uint64_t addr, len;
	bool fail;
};

static long map_foreign(void *ctx)
{
	const struct over_ctx *c = ctx;

	if (c->fail)
		return -ENOMEM;
	fmm_claim(c->addr, c->len);
	return (long)c->addr;
}

/* A foreign MAP_FIXED mmap over enclave or vEPC memory: when it fails nothing of the
 * driver's may change (issue 9.5); when it succeeds the range holds none of its VMAs. */
static void op_mmap_over(void)
{
	struct over_ctx c = { .addr = region_addr() };
	struct drv_vma before[16];
	size_t nbefore;
	long r;

	c.len = (uint64_t)(1 + g8() % 64) * PG;
	c.fail = g8() & 1;
	if (c.len > fmm_base() + REGION - c.addr)
		c.len = fmm_base() + REGION - c.addr;
	drv_lock(&sgx_pf.lock);
	nbefore = sgx_pf.nr_vmas < 16 ? sgx_pf.nr_vmas : 16;
	memcpy(before, sgx_pf.vmas, nbefore * sizeof(before[0]));
	drv_unlock(&sgx_pf.lock);
	r = sgx_mmap_over(c.addr, c.len, map_foreign, &c);
	trace("mmap over %#lx len %#lx fail %d -> %ld", (unsigned long)c.addr, (unsigned long)c.len,
	      c.fail, r);
	drv_lock(&sgx_pf.lock);
	if (c.fail) {
		if (r != -ENOMEM)
			fail("mmap over returned %ld, not what the host's mmap returned", r);
		if ((sgx_pf.nr_vmas < 16 ? sgx_pf.nr_vmas : 16) != nbefore ||
		    memcmp(before, sgx_pf.vmas, nbefore * sizeof(before[0])))
			fail("a failing MAP_FIXED mmap over %#lx changed the driver's mappings",
			     (unsigned long)c.addr);
	} else {
		if (r != (long)c.addr)
			fail("mmap over returned %ld for %#lx", r, (unsigned long)c.addr);
		if (vma_range_has(c.addr, c.addr + c.len))
			fail("a MAP_FIXED mmap over %#lx left the driver's mappings in place",
			     (unsigned long)c.addr);
	}
	drv_unlock(&sgx_pf.lock);
}

static bool fmm_allows(uint64_t addr, int need)
{
	const struct fmm_page *p = fmm_page(addr);

	return p && p->kind == FMM_EPC && !(need & ~p->prot);
}

static void op_fault(void)
{
	uint64_t addr = region_addr() + (g8() & 0x3F) * 64;
	unsigned access = 1U << (g8() % 3), which = g8() % (NLP + 1);
	const struct cpu_lp *lp = which < NLP ? &lps[which].lp : NULL;
	int need = (access & ACCESS_R ? PROT_READ : 0) | (access & ACCESS_W ? PROT_WRITE : 0) |
		   (access & ACCESS_X ? PROT_EXEC : 0);
	enum sgx_fault_result res;
	uint32_t err = 0;
	bool ours_before;

	drv_lock(&sgx_pf.lock);
	ours_before = vma_find(addr) != NULL;
	drv_unlock(&sgx_pf.lock);

	res = sgx_fault(addr, access, lp, &err);
	trace("fault %#lx access %u lp %d -> %d err %#x", (unsigned long)addr, access,
	      lp ? (int)which : -1, res, err);
	if (res == SGX_FAULT_NOT_OURS && ours_before)
		fail("fault at %#lx in an enclave or vEPC mapping answered NOT_OURS", (unsigned long)addr);
	if (res != SGX_FAULT_NOT_OURS && !ours_before)
		fail("fault at %#lx outside every mapping answered %d", (unsigned long)addr, res);
	/* "Retry" must make progress: the instruction runs again, and at the latest its second
	 * fault is final (the PTE goes in with the rights VMA ∩ EPCM give). */
	for (int tries = 0; res == SGX_FAULT_RETRY && !fmm_allows(addr, need); tries++) {
		if (tries == 3)
			fail("fault at %#lx access %u keeps answering RETRY without mapping it",
			     (unsigned long)addr, access);
		res = sgx_fault(addr, access, lp, &err);
	}
}

static void op_peek(void)
{
	uint64_t la = region_addr() + (g16() & 0xFFF);
	unsigned n = 1 + g8() % 16, which = g8() % (NLP + 1);
	uint8_t buf[16];
	int r = sgx_peek(la, buf, n, which < NLP ? &lps[which].lp : NULL);

	trace("peek %#lx n %u -> %d", (unsigned long)la, n, r);
	if (r < -1 || r > 1)
		fail("sgx_peek returned %d", r);
}

/* An address in the enclave of the logical processor (or of a file's enclave). */
static uint64_t encl_addr(const struct cpu_lp *lp)
{
	static const uint64_t align[] = { 0, 0x40, 0x200, 0x80, 0x10 };
	uint64_t base = lp->in_enclave ? lp->base : fmm_base(), size = lp->in_enclave ? lp->size : REGION;
	uint8_t s = g8();

	if (s >= 250)
		return g64();
	if (!lp->in_enclave) {
		struct sgx_encl *e = encl_of(g8());

		if (e && (e->flags & ENCL_CREATED)) {
			base = e->base;
			size = e->size;
		}
	}
	return base + (uint64_t)(g8() % (size / PG < 256 ? size / PG : 256)) * PG + align[s % 5];
}

/* What the enclave stores before the leaf: its operand at la, if the page is its own,
 * resident and writable, as enclave code could write it. */
static void enclave_store(const struct cpu_lp *lp, uint64_t la, const void *obj, size_t len)
{
	struct drv_vma *v;
	struct encl_page *p;

	if (!lp->in_enclave || la < lp->base || la - lp->base >= lp->size ||
	    (la & (PG - 1)) + len > PG)
		return;
	drv_lock(&sgx_pf.lock);
	v = vma_find_kind(la, &encl_vm_ops);
	p = v ? encl_page_lookup(v->encl, la) : NULL;
	if (p && p->epc != EPC_NONE && p->type == SGX_PT_REG &&
	    sgx_pf.cpu.epcm[p->epc].secs == lp->secs && (sgx_pf.cpu.epcm[p->epc].perm & SGX_SECINFO_W) &&
	    !(sgx_pf.cpu.epcm[p->epc].flags & (EPCM_PENDING | EPCM_MODIFIED))) {
		memcpy(epc_page(&sgx_pf.cpu, p->epc) + (la & (PG - 1)), obj, len);
		shadow_forget(v->encl, la & ~(PG - 1));
	}
	drv_unlock(&sgx_pf.lock);
}

/* Pages an ENCLU or an AEX may write: the operands' pages and the SSA frames of the TCS. */
static void forget_written(const struct cpu_lp *lp, const struct cpu_regs *r)
{
	const struct sgx_tcs *tcs;

	if (!lp->in_enclave && !lp->base)
		return;
	for (size_t k = 0; k < sgx_pf.nr_encls; k++) {
		struct sgx_encl *e = sgx_pf.encls[k];

		if (e->base != lp->base)
			continue;
		shadow_forget(e, r->rbx & ~(PG - 1));
		shadow_forget(e, r->rcx & ~(PG - 1));
		shadow_forget(e, r->rdx & ~(PG - 1));
		/* The TCS fields say where the SSA is (still, if it has been made TRIM since). */
		if (!sgx_pf.cpu.epcm[lp->tcs].valid)
			continue;
		tcs = (const struct sgx_tcs *)epc_page(&sgx_pf.cpu, lp->tcs);
		for (uint64_t i = 0; i < (uint64_t)tcs->nssa * lp->ssa_frame_size && i < SHADOW_PAGES; i++)
			shadow_forget(e, e->base + tcs->ossa + i * PG);
	}
}

static void op_enclu(void)
{
	unsigned which = g8() % NLP;
	struct lpctx *c = &lps[which];
	struct cpu_lp *lp = &c->lp;
	struct cpu_regs *r = &c->regs;
	static const uint64_t si_menu[] = { 0x20B, 0x221, 0x410, 0x110, 0x203, 0x207, 0x201, 0x223 };
	uint8_t leaf = g8() % 11;
	struct cpu_fault f;
	uint8_t obj[512];
	uint64_t base_before = lp->base;
	long res;

	memset(&f, 0, sizeof(f));
	if (leaf == 10)
		leaf = g8();
	r->rax = leaf;
	r->xsave = &xsave_img;
	switch (leaf) {
	case ENCLU_EENTER:
	case ENCLU_ERESUME: {
		struct sgx_encl *e = encl_of(g8());

		r->rbx = encl_addr(lp);
		if (e && (e->flags & ENCL_CREATED) && g8() < 200) {
			/* One of its TCS pages, most of the time. */
			uint64_t n = g8(), found = 0;

			drv_lock(&sgx_pf.lock);
			for (uint64_t i = 0; i < e->size / PG && i < SHADOW_PAGES; i++) {
				struct encl_page *p = encl_page_lookup(e, e->base + i * PG);

				if (p && p->type == SGX_PT_TCS && found++ == n % 4)
					r->rbx = e->base + i * PG;
			}
			drv_unlock(&sgx_pf.lock);
		}
		r->rcx = 0x401000 + g8();
		break;
	}
	case ENCLU_EEXIT:
		r->rbx = g8() < 200 ? 0x401000 : g64();
		break;
	case ENCLU_EACCEPT:
	case ENCLU_EMODPE:
	case ENCLU_EACCEPTCOPY: {
		struct sgx_secinfo si;

		memset(&si, 0, sizeof(si));
		si.flags = g8() < 230 ? si_menu[g8() % 8] : g64();
		r->rbx = encl_addr(lp) & ~0x3FULL;
		r->rcx = encl_addr(lp) & ~(PG - 1);
		r->rdx = encl_addr(lp) & ~(PG - 1);
		if (g8() < 10)
			r->rbx += g8();
		enclave_store(lp, r->rbx, &si, sizeof(si));
		break;
	}
	case ENCLU_EREPORT:
	case ENCLU_EGETKEY:
		for (unsigned i = 0; i < sizeof(obj); i++)
			obj[i] = g8() < 200 ? 0 : g8();
		r->rbx = encl_addr(lp) & ~0x1FFULL;
		r->rcx = encl_addr(lp) & ~0x7FULL;
		r->rdx = encl_addr(lp) & ~0x1FFULL;
		enclave_store(lp, r->rbx, obj, sizeof(obj));
		break;
	default:
		r->rbx = g64();
		r->rcx = g64();
		r->rdx = g64();
		break;
	}
	if (!lp->in_enclave && leaf != ENCLU_EENTER && leaf != ENCLU_ERESUME && g8() < 240)
		return; /* ENCLU outside enclave mode is a #UD the host reports: nothing here */
	res = sgx_enclu(lp, r, &f);
	trace("ENCLU lp%u leaf %u rbx %#lx rcx %#lx rdx %#lx -> %ld (vector %u) inside %d", which, leaf,
	      (unsigned long)r->rbx, (unsigned long)r->rcx, (unsigned long)r->rdx, res, f.vector,
	      lp->in_enclave);
	if (lp->in_enclave && (leaf == ENCLU_EENTER || leaf == ENCLU_ERESUME) && res == 0)
		c->eid = sgx_pf.cpu.epcm[lp->secs].meta->eid;
	if (res == CPU_FAULT && lp->in_enclave) {
		/* A fault inside the enclave is an AEX. */
		sgx_aex(lp, r, f.vector, f.errcode, f.addr);
	}
	forget_written(lp, r);
	if (!lp->in_enclave && base_before) {
		struct cpu_lp tmp = *lp;

		tmp.base = base_before;
		forget_written(&tmp, r);
	}
}

static void op_aex(void)
{
	unsigned which = g8() % NLP;
	struct lpctx *c = &lps[which];
	static const unsigned vectors[] = { X86_PF, X86_GP, 0, 3, 6, 17, 19 };
	unsigned vector = vectors[g8() % 7];

	if (!c->lp.in_enclave)
		return;
	c->regs.xsave = &xsave_img;
	trace("AEX lp%u vector %u", which, vector);
	sgx_aex(&c->lp, &c->regs, vector, g8() & 0x1F, encl_addr(&c->lp));
	forget_written(&c->lp, &c->regs);
	if (c->lp.in_enclave)
		fail("AEX left logical processor %u in enclave mode", which);
}

static uint64_t vepc_addr(void)
{
	uint8_t s = g8();

	if (nvepc_maps && s < 220) {
		unsigned i = g8() % (nvepc_maps < NVEPC_MAPS ? nvepc_maps : NVEPC_MAPS);

		return vepc_maps[i][0] + (uint64_t)(g8() % (vepc_maps[i][1] / PG)) * PG;
	}
	return s < 240 ? region_addr() : g64();
}

static void op_virt_encls(void)
{
	static const uint32_t leaves[] = {
		ENCLS_ECREATE, ENCLS_EADD, ENCLS_EADD, ENCLS_EEXTEND, ENCLS_EINIT, ENCLS_EREMOVE,
		ENCLS_EAUG, ENCLS_EMODPR, ENCLS_EMODT, ENCLS_ETRACK, ENCLS_EBLOCK, ENCLS_EWB,
	};
	uint8_t s = g8();
	uint32_t leaf = s < 240 ? leaves[s % 12] : g8();
	struct sgx_pageinfo pi;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secs secs;
	struct sgx_sigstruct sig;
	struct sgx_einittoken token;
	uint64_t rbx = 0, rcx = vepc_addr(), rdx = 0;
	struct cpu_fault f;
	long r;

	memset(&pi, 0, sizeof(pi));
	switch (leaf) {
	case ENCLS_ECREATE:
		make_secs(&secs);
		fill_secinfo(&si, 0);
		pi.srcpge = place(P_SECS, &secs, sizeof(secs), g8(), NULL);
		pi.secinfo = place(P_SECINFO, &si, sizeof(si), g8(), NULL);
		rbx = place(P_PAGEINFO, &pi, sizeof(pi), g8(), NULL);
		break;
	case ENCLS_EADD:
	case ENCLS_EAUG:
		fill_secinfo(&si, pick_secinfo_flags());
		pi.linaddr = fmm_base() + (uint64_t)(g8() % NSLOTS) * SLOT + (uint64_t)g8() * PG;
		pi.srcpge = (uintptr_t)(srcmem + (g8() % NSRC) * PG);
		pi.secinfo = place(P_SECINFO, &si, sizeof(si), g8(), NULL);
		pi.secs = vepc_addr();
		rbx = place(P_PAGEINFO, &pi, sizeof(pi), g8(), NULL);
		break;
	case ENCLS_EEXTEND:
		rbx = vepc_addr();
		rcx += (g8() % 16) * 256;
		break;
	case ENCLS_EINIT:
		good_sigstruct(&sig, zero_page, SGX_ATTR_MODE64BIT, 3, 0);
		if (g8() & 1)
			sig.body.mrenclave[0] = g8();
		sign_cached(&sig);
		memset(&token, 0, sizeof(token));
		rbx = place(P_SIG, &sig, sizeof(sig), g8(), NULL);
		rdx = place(P_TOKEN, &token, sizeof(token), g8(), NULL);
		rcx = vepc_addr();
		break;
	case ENCLS_EMODPR:
	case ENCLS_EMODT:
		fill_secinfo(&si, pick_secinfo_flags());
		rbx = place(P_SECINFO, &si, sizeof(si), g8(), NULL);
		break;
	default:
		rbx = g8() < 200 ? vepc_addr() : g64();
		rdx = g64();
		break;
	}
	r = sgx_virt_encls(leaf, rbx, rcx, rdx, &f);
	trace("guest ENCLS %u rbx %#lx rcx %#lx -> %ld", leaf, (unsigned long)rbx, (unsigned long)rcx, r);
	if (r < CPU_FAULT)
		fail("guest ENCLS %u returned %ld", leaf, r);
}

/* A whole enclave: the fixtures' standard layout, created, added, initialised, mapped. */
static void op_build(void)
{
	unsigned slot = g8() % NFILES, k = g8() % NSLOTS;
	uint8_t what = g8();
	struct fx_layout l;
	struct fx_std s;
	struct sgx_secs secs;
	struct sgx_sigstruct sig;
	struct sgx_enclave_create c;
	struct sgx_enclave_init in;
	struct sgx_file *f;
	struct track *t;
	int err = 0;

	if (files[slot])
		return;
	if (fx_std_layout(&l, &s, fmm_base() + k * SLOT, 0x10000, 1 + (what & 1), 1, 0))
		fail("fx_std_layout");
	l.attributes = SGX_ATTR_MODE64BIT | (what & 2 ? SGX_ATTR_DEBUG : 0);
	f = files[slot] = sgx_open(SGX_FILE_ENCLAVE, &err);
	if (!f)
		fail("open: %d", err);
	trace("BUILD slot %u at %#lx what %#x", slot, (unsigned long)l.base, what);
	fx_secs(&l, &secs);
	c.src = (uintptr_t)&secs;
	if (do_ioctl(f, SGX_IOC_ENCLAVE_CREATE, (uintptr_t)&c))
		goto out;
	t = track_of(f, true);
	t->known = !measure_ecreate(t->m, l.ssa_frame_size, l.size);
	t->xfrm = l.xfrm;
	for (unsigned i = 0; i < l.npages; i++) {
		struct sgx_secinfo si __attribute__((aligned(64)));
		struct sgx_enclave_add_pages a = {
			.src = (uintptr_t)l.page[i].data, .offset = l.page[i].offset, .length = PG,
			.flags = l.page[i].measure ? SGX_PAGE_MEASURE : 0,
		};

		memset(&si, 0, sizeof(si));
		si.flags = l.page[i].secinfo;
		a.secinfo = (uintptr_t)&si;
		if (do_ioctl(f, SGX_IOC_ENCLAVE_ADD_PAGES, (uintptr_t)&a)) {
			t->known = false;
			goto out;
		}
		measure_added(t, l.page[i].offset, l.page[i].secinfo, l.page[i].measure, l.page[i].data);
		if (((l.page[i].secinfo >> 8) & 0xFF) == SGX_PT_REG)
			shadow_set(f->encl, l.base + l.page[i].offset, hash_page(l.page[i].data));
	}
	if (what & 4)
		goto out; /* left uninitialised */
	good_sigstruct(&sig, zero_page, l.attributes, l.xfrm, 0);
	if (fx_mrenclave(&l, sig.body.mrenclave))
		fail("fx_mrenclave");
	sign_cached(&sig);
	in.sigstruct = (uintptr_t)&sig;
	if (do_ioctl(f, SGX_IOC_ENCLAVE_INIT, (uintptr_t)&in))
		fail("INIT of the standard enclave failed");
	if (what & 8)
		goto out;
	for (unsigned i = 0; i < l.npages; i++) {
		uint64_t a = l.base + l.page[i].offset, si = l.page[i].secinfo;
		int prot = ((si >> 8) & 0xFF) == SGX_PT_TCS ? PROT_READ | PROT_WRITE : (int)(si & 7);

		if (sgx_mmap(f, a, PG, prot, MAP_SHARED | MAP_FIXED, 0, SGX_FMODE_READ | SGX_FMODE_WRITE) !=
		    (long)a)
			fail("mmap of a page of the standard enclave failed");
	}
	if (what & 16) { /* and the heap hole, for EAUG */
		uint64_t a = l.base + s.hole;

		sgx_mmap(f, a, l.size - s.hole, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, 0,
			 SGX_FMODE_READ | SGX_FMODE_WRITE);
	}
out:
	fx_layout_free(&l);
}

/* ---------------------------------------------------------------------------------------- */

enum op {
	OP_OPEN, OP_CLOSE, OP_DUP, OP_CREATE, OP_ADD, OP_INIT, OP_PROVISION, OP_RESTRICT,
	OP_MODIFY, OP_REMOVE, OP_RAW_IOCTL, OP_VEPC_REMOVE_ALL, OP_MMAP, OP_MUNMAP, OP_MPROTECT,
	OP_FAULT, OP_PEEK, OP_ENCLU, OP_AEX, OP_VIRT_ENCLS, OP_BUILD, NR_OPS_V1,
	/* Settings bit 1 adds these (inputs without it keep their meaning). */
	OP_MADVISE = NR_OPS_V1, OP_MREMAP, OP_MMAP_OVER, NR_OPS
};

static unsigned nr_ops = NR_OPS_V1;

static void run_op(uint8_t op)
{
	switch (op % nr_ops) {
	case OP_OPEN: op_open(); break;
	case OP_CLOSE: op_close(); break;
	case OP_DUP: op_dup(); break;
	case OP_CREATE: op_create(); break;
	case OP_ADD: op_add_pages(); break;
	case OP_INIT: op_init(); break;
	case OP_PROVISION: op_provision(); break;
	case OP_RESTRICT: op_restrict(); break;
	case OP_MODIFY: op_modify(); break;
	case OP_REMOVE: op_remove(); break;
	case OP_RAW_IOCTL: op_raw_ioctl(); break;
	case OP_VEPC_REMOVE_ALL: op_vepc_remove_all(); break;
	case OP_MMAP: op_mmap(); break;
	case OP_MUNMAP: op_munmap(); break;
	case OP_MPROTECT: op_mprotect(); break;
	case OP_FAULT: op_fault(); break;
	case OP_PEEK: op_peek(); break;
	case OP_ENCLU: op_enclu(); break;
	case OP_AEX: op_aex(); break;
	case OP_VIRT_ENCLS: op_virt_encls(); break;
	case OP_BUILD: op_build(); break;
	case OP_MADVISE: op_madvise(); break;
	case OP_MREMAP: op_mremap(); break;
	case OP_MMAP_OVER: op_mmap_over(); break;
	}
}

/* Close and unmap everything; the platform must be empty again. */
static void teardown(void)
{
	uint64_t total, free_pages, vepc_pages;
	long r;

	for (unsigned i = 0; i < NLP; i++) {
		lp_exit(i);
		memset(&lps[i], 0, sizeof(lps[i]));
	}
	for (unsigned i = 0; i < NFILES; i++) {
		struct sgx_file *f = files[i];

		files[i] = NULL;
		if (f)
			sgx_file_put(f);
	}
	track_drop_unreferenced();
	sgx_munmap(fmm_base(), REGION, &r);
	check_invariants();
	sgx_epc_usage(&total, &free_pages, &vepc_pages);
	if (free_pages != total || vepc_pages)
		fail("after closing and unmapping everything %lu of %lu EPC pages are in use (%lu by vEPCs)",
		     (unsigned long)(total - free_pages), (unsigned long)total, (unsigned long)vepc_pages);
	if (sgx_pf.nr_encls || sgx_pf.nr_vmas || sgx_pf.releasing)
		fail("after closing and unmapping everything: %zu enclaves, %zu mappings%s",
		     sgx_pf.nr_encls, sgx_pf.nr_vmas, sgx_pf.releasing ? ", enclaves releasing" : "");
	if (fmm_backings_live())
		fail("%u backing stores were not destroyed", fmm_backings_live());
	nvepc_maps = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cpu_features feat;
	struct cpu_key_config kc;
	uint8_t lehash[32];
	struct sgx_sigstruct s;

	(void)argc;
	(void)argv;
	tracing = getenv("FUZZ_DRIVER_TRACE") && *getenv("FUZZ_DRIVER_TRACE") == '1';
	if (fmm_init(REGION, SLOT) || !fx_key()) {
		fprintf(stderr, "fuzz_driver: cannot set up (run from the top of the tree: the test "
				"key is tests/data/test_signing_key.pem)\n");
		exit(1);
	}
	epc = aligned_alloc(PG, EPC_PAGES * PG);
	for (unsigned k = 0; k < NPOOLS; k++) {
		pool[k] = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pool[k] == MAP_FAILED || mprotect(pool[k] + 2 * PG, PG, PROT_NONE))
			exit(1);
	}
	srcmem = mmap(NULL, (NSRC + 2) * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fxbuf = aligned_alloc(64, 4096);
	xsave_img = (struct cpu_xsave){ fxbuf, 4096, 0x3 };
	if (!epc || srcmem == MAP_FAILED || !fxbuf || mprotect(srcmem + (NSRC + 1) * PG, PG, PROT_NONE))
		exit(1);
	memset(fxbuf, 0, 4096);
	cpu_features_default(&feat, EPC_PAGES * PG, true);
	if (sgx_platform_init(epc, EPC_PAGES, &feat, &fmm_ops))
		exit(1);
	memset(&kc, 0, sizeof(kc));
	kc.checks = KEYS_CHECK_ALL;
	kc.fixed_report_keyid = true;
	if (cpu_keys_init(sgx_platform_cpu(), &kc))
		exit(1);
	/* Guests may use PROVISIONKEY and have the test key as their launch signer. */
	sgx_virt_allow_provisionkey(true);
	sign_sigstruct_init(&s);
	if (fx_sign(&s))
		exit(1);
	fx_sha256(s.modulus, sizeof(s.modulus), lehash);
	sgx_virt_set_lepubkeyhash(lehash);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t settings;

	in_p = data;
	in_n = size;
	settings = g8();
	fmm_reset();
	fmm_set_noexec_source((uintptr_t)(srcmem + NSRC * PG), (uintptr_t)(srcmem + (NSRC + 1) * PG));
	init_sources();
	sgx_pf.cpu.feat.sgx2 = settings & 1;
	nr_ops = settings & 2 ? NR_OPS : NR_OPS_V1;
	trace("input of %zu bytes, SGX%d", size, settings & 1 ? 2 : 1);
	for (unsigned n = 0; in_n && n < 256; n++) {
		run_op(g8());
		check_invariants();
	}
	teardown();
	return 0;
}
