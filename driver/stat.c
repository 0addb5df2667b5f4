/* EPC accounting: the list of enclaves and the status image `sgxemu stat` reads. */
#include <stdlib.h>
#include <string.h>

#include "driver/internal.h"
#include "include/sgxemu_stat.h"

int encl_register(struct sgx_encl *e)
{
	if (sgx_pf.nr_encls == sgx_pf.cap_encls) {
		size_t cap = sgx_pf.cap_encls ? sgx_pf.cap_encls * 2 : 8;
		struct sgx_encl **n = realloc(sgx_pf.encls, cap * sizeof(*n));

		if (!n)
			return -1;
		sgx_pf.encls = n;
		sgx_pf.cap_encls = cap;
	}
	sgx_pf.encls[sgx_pf.nr_encls++] = e;
	return 0;
}

void encl_unregister(struct sgx_encl *e)
{
	for (size_t i = 0; i < sgx_pf.nr_encls; i++) {
		if (sgx_pf.encls[i] == e) {
			sgx_pf.encls[i] = sgx_pf.encls[--sgx_pf.nr_encls];
			return;
		}
	}
}

void sgx_stat_attach(struct sgxemu_stat *st)
{
	drv_lock(&sgx_pf.lock);
	sgx_pf.stat = st;
	stat_publish();
	drv_unlock(&sgx_pf.lock);
}

/* Called with the driver lock held after operations that change the numbers. */
void stat_publish(void)
{
	struct sgxemu_stat *st = sgx_pf.stat;
	size_t n;

	drv_assert_locked(&sgx_pf.lock);
	if (!st)
		return;
	st->epc_pages = sgx_pf.cpu.epc_pages;
	st->free_pages = sgx_pf.nr_free;
	st->swapped_out = sgx_pf.swapped_out;
	st->swapped_in = sgx_pf.swapped_in;
	st->nr_enclaves = (uint32_t)sgx_pf.nr_encls;
	n = sgx_pf.nr_encls < SGXEMU_STAT_ENCLAVES ? sgx_pf.nr_encls : SGXEMU_STAT_ENCLAVES;
	for (size_t i = 0; i < n; i++) {
		const struct sgx_encl *e = sgx_pf.encls[i];

		st->encl[i].base = e->base;
		st->encl[i].size = e->size;
		st->encl[i].resident_pages = e->nr_resident + !e->secs_out + e->nr_va;
		st->encl[i].swapped_pages = e->nr_swapped + e->secs_out;
		st->encl2[i].eaug_pages = e->nr_eaug;
		st->encl2[i].flags = ((e->flags & ENCL_INITIALIZED) ? SGXEMU_STAT_ENCL_INITIALIZED : 0) |
				     ((e->flags & ENCL_DEBUG) ? SGXEMU_STAT_ENCL_DEBUG : 0);
	}
	for (size_t i = n; i < SGXEMU_STAT_ENCLAVES; i++) {
		memset(&st->encl[i], 0, sizeof(st->encl[i]));
		memset(&st->encl2[i], 0, sizeof(st->encl2[i]));
	}
}
