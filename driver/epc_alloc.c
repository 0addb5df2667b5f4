/* EPC page allocator. Next-fit over a bitmap so that the pages of one enclave tend to be
 * consecutive in the EPC, which lets their mappings merge into few host VMAs. */
#include <stdlib.h>

#include "driver/internal.h"

int epc_alloc_init(uint64_t npages);

int epc_alloc_init(uint64_t npages)
{
	uint64_t words = (npages + 63) / 64;

	sgx_pf.free_map = calloc(words, sizeof(uint64_t));
	if (!sgx_pf.free_map)
		return -1;
	for (uint64_t i = 0; i < npages; i++)
		sgx_pf.free_map[i / 64] |= 1ULL << (i % 64);
	sgx_pf.nr_free = npages;
	sgx_pf.cursor = 0;
	return 0;
}

long epc_alloc_page(void)
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
			ksgxd_kick();
			return (long)idx;
		}
	}
	return -1;
}

void epc_free_page(uint32_t idx)
{
	drv_assert_locked(&sgx_pf.lock);
	sgx_pf.free_map[idx / 64] |= 1ULL << (idx % 64);
	sgx_pf.nr_free++;
}
