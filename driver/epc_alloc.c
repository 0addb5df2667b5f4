/* EPC page allocator. Next-fit over a bitmap so that the pages of one enclave tend to be
 * consecutive in the EPC, which lets their mappings merge into few host VMAs.
 *
 * The host's memory behind the EPC is committed lazily, a chunk of 2 MiB at a time when its
 * first page is handed out (one populate call instead of a fault per page), and given back
 * once a chunk has held no page for a while (the background reclaimer's ticks; at once when
 * it does not run), keeping a few such chunks for reuse: a large EPC costs what is in use,
 * in the parent and in a forked child alike, and a program that builds and destroys
 * enclaves in a loop does not pay for committing the same memory again every time. */
#include <stdlib.h>
#include <string.h>

#include "driver/internal.h"

#define EPC_CHUNK_PAGES 512
#define EPC_SPARE_CHUNKS 8 /* committed chunks without a page in use, kept for reuse */
#define EPC_IDLE_TICKS 5   /* reclaimer ticks (200 ms) a spare chunk stays before it goes */

int epc_alloc_init(uint64_t npages);

static uint64_t nr_chunks(void)
{
	return (sgx_pf.cpu.epc_pages + EPC_CHUNK_PAGES - 1) / EPC_CHUNK_PAGES;
}

static void epc_chunks_reset(void)
{
	uint64_t n = sgx_pf.cpu.epc_pages, words = (n + 63) / 64;

	memset(sgx_pf.free_map, 0xFF, words * sizeof(uint64_t));
	if (n % 64)
		sgx_pf.free_map[words - 1] = (1ULL << (n % 64)) - 1;
	sgx_pf.nr_free = n;
	sgx_pf.cursor = 0;
	memset(sgx_pf.chunk_used, 0, nr_chunks() * sizeof(*sgx_pf.chunk_used));
	memset(sgx_pf.chunk_committed, 0, nr_chunks());
	sgx_pf.nr_spare_chunks = 0;
}

int epc_alloc_init(uint64_t npages)
{
	uint64_t words = (npages + 63) / 64, chunks = (npages + EPC_CHUNK_PAGES - 1) / EPC_CHUNK_PAGES;

	sgx_pf.free_map = calloc(words, sizeof(uint64_t));
	sgx_pf.chunk_used = calloc(chunks, sizeof(*sgx_pf.chunk_used));
	sgx_pf.chunk_committed = calloc(chunks, 1);
	sgx_pf.chunk_idle_since = calloc(chunks, sizeof(*sgx_pf.chunk_idle_since));
	if (!sgx_pf.free_map || !sgx_pf.chunk_used || !sgx_pf.chunk_committed ||
	    !sgx_pf.chunk_idle_since)
		return -1;
	epc_chunks_reset();
	return 0;
}

void epc_alloc_fork_child(void)
{
	/* The child's EPC is new and empty: nothing committed, every page free. */
	epc_chunks_reset();
}

static uint64_t chunk_bytes(uint64_t c)
{
	uint64_t pages = sgx_pf.cpu.epc_pages - c * EPC_CHUNK_PAGES;

	return (pages < EPC_CHUNK_PAGES ? pages : EPC_CHUNK_PAGES) * SGX_PAGE_SIZE;
}

static void chunk_get(uint64_t idx)
{
	uint64_t c = idx / EPC_CHUNK_PAGES;

	if (!sgx_pf.chunk_committed[c]) {
		if (sgx_pf.mm && sgx_pf.mm->epc_commit)
			sgx_pf.mm->epc_commit(c * EPC_CHUNK_PAGES * SGX_PAGE_SIZE, chunk_bytes(c));
		sgx_pf.chunk_committed[c] = 1;
	} else if (!sgx_pf.chunk_used[c]) {
		sgx_pf.nr_spare_chunks--;
	}
	sgx_pf.chunk_used[c]++;
}

static void chunk_decommit(uint64_t c)
{
	sgx_pf.mm->epc_decommit(c * EPC_CHUNK_PAGES * SGX_PAGE_SIZE, chunk_bytes(c));
	sgx_pf.chunk_committed[c] = 0;
	sgx_pf.nr_spare_chunks--;
}

static void chunk_put(uint64_t idx)
{
	uint64_t c = idx / EPC_CHUNK_PAGES;

	if (--sgx_pf.chunk_used[c])
		return;
	sgx_pf.nr_spare_chunks++;
	sgx_pf.chunk_idle_since[c] = sgx_pf.epc_ticks;
	/* Without the reclaimer's ticks nobody would give it back later: now, then. */
	if (sgx_pf.nr_spare_chunks > EPC_SPARE_CHUNKS && sgx_pf.mm && sgx_pf.mm->epc_decommit &&
	    !ksgxd_running())
		chunk_decommit(c);
}

void epc_decommit_idle(void)
{
	drv_assert_locked(&sgx_pf.lock);
	sgx_pf.epc_ticks++;
	if (!sgx_pf.mm || !sgx_pf.mm->epc_decommit)
		return;
	for (uint64_t c = 0; c < nr_chunks() && sgx_pf.nr_spare_chunks > EPC_SPARE_CHUNKS; c++)
		if (sgx_pf.chunk_committed[c] && !sgx_pf.chunk_used[c] &&
		    sgx_pf.epc_ticks - sgx_pf.chunk_idle_since[c] >= EPC_IDLE_TICKS)
			chunk_decommit(c);
}

long epc_take_free_page(void)
{
	uint64_t n = sgx_pf.cpu.epc_pages, words = (n + 63) / 64;
	uint64_t w = sgx_pf.cursor / 64;

	drv_assert_locked(&sgx_pf.lock);
	if (!sgx_pf.nr_free)
		return -1;
	for (uint64_t k = 0; k <= words; k++, w = (w + 1) % words) {
		uint64_t bits = sgx_pf.free_map[w];

		if (k == 0)
			bits &= ~0ULL << (sgx_pf.cursor % 64);
		if (bits) {
			uint64_t idx = w * 64 + (uint64_t)__builtin_ctzll(bits);

			sgx_pf.free_map[w] &= ~(1ULL << (idx % 64));
			sgx_pf.nr_free--;
			sgx_pf.cursor = idx + 1 < n ? idx + 1 : 0;
			chunk_get(idx);
			ksgxd_kick();
			return (long)idx;
		}
	}
	return -1;
}

void sgx_free_epc_page(uint32_t idx)
{
	drv_assert_locked(&sgx_pf.lock);
	sgx_pf.free_map[idx / 64] |= 1ULL << (idx % 64);
	sgx_pf.nr_free++;
	chunk_put(idx);
}
