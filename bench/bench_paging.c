/* EPC paging costs under sgxemu (EWB + ELDU), beside the host floors measured in the same
 * run: building an enclave four times the EPC, touching it page by page in one ecall (pages
 * moved in batches by the reclaimer) and one page per ecall. Run under
 * `sgxemu run --epc-size 16M` (make bench does); the EPC size is read from CPUID leaf 0x12
 * through the status file. */
#include "bench/bench.h"

#define RUNS 7
#define FACTOR 4 /* enclave heap = FACTOR x EPC */

static struct encl E;

static uint64_t encl_pages(const struct encl *e)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < e->nseg; i++)
		n += e->seg[i].size / PG;
	return n;
}

/* One TOP_FILL or TOP_VERIFY over [addr, addr + pages) in one ecall; µs. */
static double range_op(uint64_t code, uint64_t addr, uint64_t pages, uint64_t seed)
{
	struct test_op op = { .op = code, .addr = addr, .a = pages * PG, .b = seed };
	double t = bench_now_us();

	bench_call(&E, 0, &op);
	t = bench_now_us() - t;
	if (code == TOP_VERIFY && op.out) {
		fprintf(stderr, "bench: %llu pages read back wrong\n", (unsigned long long)op.out);
		exit(1);
	}
	return t;
}

int main(int argc, char **argv)
{
	char elf[PATH_MAX], key[PATH_MAX];
	struct sgxemu_stat st0, st1;
	double v[RUNS], w[RUNS], moved[RUNS];
	uint64_t epc_pages, heap_pages, heap;
	unsigned long n_one, n_small = 0;

	bench_paths(argc, argv, elf, key, sizeof(elf));
	printf("EPC paging; floors measured in this run:\n");
	bench_mm_floors(RUNS, 4096);
	bench_trap_floors(RUNS, 2000);

	/* An enclave that fits, for the build cost without reclaim and the ecall floor. */
	bench_build(&E, elf, key, 0, 0);
	bench_stat(&st0);
	epc_pages = st0.epc_pages;
	heap_pages = FACTOR * epc_pages;
	bench_ecall_floor(&E, RUNS, 2000);
	encl_free(&E);
	for (unsigned r = 0; r < RUNS; r++) {
		v[r] = bench_build(&E, elf, key, epc_pages / 2 * PG, 0);
		n_small = encl_pages(&E);
		v[r] /= n_small;
		encl_free(&E);
	}
	printf("EPC %llu pages; enclave heap %llu pages (%dx the EPC):\n",
	       (unsigned long long)epc_pages, (unsigned long long)heap_pages, FACTOR);
	bench_row("build (sign, ADD_PAGES..INIT, mmap), heap EPC/2, per page", bench_median(v, RUNS),
		  RUNS, n_small);

	/* Build the oversubscribed one: ADD_PAGES reclaims as it goes. */
	for (unsigned r = 0; r < 3; r++) {
		bench_stat(&st0);
		v[r] = bench_build(&E, elf, key, heap_pages * PG, 0);
		bench_stat(&st1);
		moved[r] = (double)(st1.swapped_out - st0.swapped_out);
		if (r < 2)
			encl_free(&E);
	}
	printf("    (the build wrote out %.0f pages)\n", bench_median(moved, 3));
	bench_row("build of the 4x enclave, the whole enclave", bench_median(v, 3), 3, 1);
	for (unsigned r = 0; r < 3; r++)
		v[r] /= encl_pages(&E);
	bench_row("build of the 4x enclave, per page", bench_median(v, 3), 3, encl_pages(&E));
	heap = E.base + E.heap_offset;

	/* Batches: every page of the heap in one ecall, in a pseudo-random order. Nearly every
	 * page has to come back (ELDU) and push another out (EWB). */
	bench_stat(&st0);
	v[0] = range_op(TOP_FILL, heap, heap_pages, 1) / heap_pages;
	bench_stat(&st1);
	printf("    (first touch of the heap loaded %llu and wrote out %llu pages)\n",
	       (unsigned long long)(st1.swapped_in - st0.swapped_in),
	       (unsigned long long)(st1.swapped_out - st0.swapped_out));
	bench_row("first touch of the 4x heap (FILL, one ecall), per page", v[0], 1, heap_pages);
	for (unsigned r = 0; r < RUNS; r++) {
		bench_stat(&st0);
		v[r] = range_op(TOP_VERIFY, heap, heap_pages, 1);
		bench_stat(&st1);
		moved[r] = (double)(st1.swapped_in - st0.swapped_in);
		w[r] = v[r] / moved[r];
		v[r] /= heap_pages;
	}
	bench_row("read the 4x heap (VERIFY, one ecall), per page", bench_median(v, RUNS), RUNS,
		  heap_pages);
	bench_row("  the same per page brought back (ELDU + an EWB)", bench_median(w, RUNS), RUNS,
		  (unsigned long)bench_median(moved, RUNS));
	/* The work VERIFY does on a resident page, without paging. */
	range_op(TOP_VERIFY, heap, epc_pages / 4, 1);
	for (unsigned r = 0; r < RUNS; r++)
		v[r] = range_op(TOP_VERIFY, heap, epc_pages / 4, 1) / (epc_pages / 4);
	bench_row("read resident pages (VERIFY, no paging), per page", bench_median(v, RUNS), RUNS,
		  epc_pages / 4);

	/* One page per ecall: a read of a random heap page, most of them written out. */
	n_one = 2000;
	for (unsigned r = 0; r < RUNS; r++) {
		uint64_t x = 12345 + r;
		double t;

		bench_stat(&st0);
		t = bench_now_us();
		for (unsigned long i = 0; i < n_one; i++) {
			struct test_op op = { .op = TOP_READ };

			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			op.addr = heap + ((x >> 33) % heap_pages) * PG;
			bench_call(&E, 0, &op);
		}
		t = bench_now_us() - t;
		bench_stat(&st1);
		moved[r] = (double)(st1.swapped_in - st0.swapped_in);
		v[r] = t / n_one;
		w[r] = t / moved[r];
	}
	bench_row("one random page per ecall (TOP_READ), per ecall", bench_median(v, RUNS), RUNS,
		  n_one);
	bench_row("  the same per page brought back (ELDU + an EWB + ecall)", bench_median(w, RUNS),
		  RUNS, (unsigned long)bench_median(moved, RUNS));
	encl_free(&E);
	return 0;
}
