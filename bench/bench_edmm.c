/* SGX2 (EDMM) costs per page under sgxemu, beside the trap floors measured in the same run:
 * EAUG on fault + EACCEPT, EMODPR (RESTRICT_PERMISSIONS) + EACCEPT, and trim (MODIFY_TYPES) +
 * EACCEPT + REMOVE_PAGES; each for a range of pages per ioctl / ecall and for one page at a
 * time. Run under `sgxemu run` (make bench does). */
#include "bench/bench.h"

#define RUNS 21
#define RANGE 256 /* pages per range operation */
#define SINGLE 64 /* pages done one at a time per run */

#define SI_AUGMENTED 0x20BULL /* R W REG PENDING */
#define SI_R_PR 0x221ULL      /* R REG PR */
#define SI_TRIMMED 0x410ULL   /* TRIM MODIFIED */

static struct encl E;

static void accept_range(uint64_t addr, uint64_t pages, uint64_t flags)
{
	struct test_op op = { .op = TOP_EACCEPT_RANGE, .addr = addr, .a = pages * PG, .b = flags };

	bench_call(&E, 0, &op);
	if (op.out) {
		fprintf(stderr, "bench: %llu EACCEPTs failed, first with %llu\n",
			(unsigned long long)op.out, (unsigned long long)op.aux);
		exit(1);
	}
}

static void accept_one(uint64_t addr, uint64_t flags)
{
	struct test_op op = { .op = TOP_EACCEPT, .addr = addr, .a = flags };

	bench_call(&E, 0, &op);
	if (op.out) {
		fprintf(stderr, "bench: EACCEPT %#llx returned %llu\n", (unsigned long long)addr,
			(unsigned long long)op.out);
		exit(1);
	}
}

static void restrict_pages(uint64_t off, uint64_t pages)
{
	struct sgx_enclave_restrict_permissions rp = { .offset = off, .length = pages * PG,
						       .permissions = 1 };

	if (ioctl(E.fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, &rp) || rp.count != pages * PG)
		bench_die("RESTRICT_PERMISSIONS");
}

static void trim_pages(uint64_t off, uint64_t pages)
{
	struct sgx_enclave_modify_types mt = { .offset = off, .length = pages * PG,
					       .page_type = SGX_PT_TRIM };

	if (ioctl(E.fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt) || mt.count != pages * PG)
		bench_die("MODIFY_TYPES");
}

static void remove_pages(uint64_t off, uint64_t pages)
{
	struct sgx_enclave_remove_pages rm = { .offset = off, .length = pages * PG };

	if (ioctl(E.fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, &rm) || rm.count != pages * PG)
		bench_die("REMOVE_PAGES");
}

int main(int argc, char **argv)
{
	char elf[PATH_MAX], key[PATH_MAX];
	double v[7][RUNS];
	uint64_t hole_off, hole;
	double t;

	bench_paths(argc, argv, elf, key, sizeof(elf));
	printf("SGX2 (EDMM), per page; floors measured in this run:\n");
	bench_call_floor(RUNS, 1000000);
	bench_trap_floors(RUNS, 2000);
	bench_build(&E, elf, key, 0, 4UL << 20);
	hole_off = E.seg[E.nseg - 1].offset + E.seg[E.nseg - 1].size;
	hole = E.base + hole_off;
	bench_ecall_floor(&E, RUNS, 2000);

	/* Ranges: one ecall or one ioctl for RANGE pages; every run leaves the hole as found. */
	for (unsigned r = 0; r < RUNS; r++) {
		t = bench_now_us();
		accept_range(hole, RANGE, SI_AUGMENTED);
		v[0][r] = (bench_now_us() - t) / RANGE;
		t = bench_now_us();
		restrict_pages(hole_off, RANGE);
		v[1][r] = (bench_now_us() - t) / RANGE;
		t = bench_now_us();
		accept_range(hole, RANGE, SI_R_PR);
		v[2][r] = (bench_now_us() - t) / RANGE;
		t = bench_now_us();
		trim_pages(hole_off, RANGE);
		v[3][r] = (bench_now_us() - t) / RANGE;
		t = bench_now_us();
		accept_range(hole, RANGE, SI_TRIMMED);
		v[4][r] = (bench_now_us() - t) / RANGE;
		t = bench_now_us();
		remove_pages(hole_off, RANGE);
		v[5][r] = (bench_now_us() - t) / RANGE;
	}
	printf("ranges of %d pages (one ecall or ioctl each):\n", RANGE);
	bench_row("EAUG on fault + EACCEPT (EACCEPT of a hole)", bench_median(v[0], RUNS), RUNS, RANGE);
	bench_row("RESTRICT_PERMISSIONS ioctl (EMODPR + ETRACK + IPIs)", bench_median(v[1], RUNS),
		  RUNS, RANGE);
	bench_row("EACCEPT after EMODPR", bench_median(v[2], RUNS), RUNS, RANGE);
	bench_row("MODIFY_TYPES(TRIM) ioctl (EMODT + ETRACK + IPIs)", bench_median(v[3], RUNS), RUNS,
		  RANGE);
	bench_row("EACCEPT of a TRIM page", bench_median(v[4], RUNS), RUNS, RANGE);
	bench_row("REMOVE_PAGES ioctl (EMODPR probe + EREMOVE)", bench_median(v[5], RUNS), RUNS, RANGE);

	/* One page at a time, as a runtime that grows its heap on demand does: an ecall (or an
	 * ioctl and an ecall) per page. */
	for (unsigned r = 0; r < RUNS; r++) {
		t = bench_now_us();
		for (unsigned i = 0; i < SINGLE; i++)
			accept_one(hole + i * PG, SI_AUGMENTED);
		v[0][r] = (bench_now_us() - t) / SINGLE;
		t = bench_now_us();
		for (unsigned i = 0; i < SINGLE; i++) {
			restrict_pages(hole_off + i * PG, 1);
			accept_one(hole + i * PG, SI_R_PR);
		}
		v[1][r] = (bench_now_us() - t) / SINGLE;
		t = bench_now_us();
		for (unsigned i = 0; i < SINGLE; i++) {
			trim_pages(hole_off + i * PG, 1);
			accept_one(hole + i * PG, SI_TRIMMED);
			remove_pages(hole_off + i * PG, 1);
		}
		v[2][r] = (bench_now_us() - t) / SINGLE;
	}
	printf("one page at a time (ecall per EACCEPT, ioctl per page):\n");
	bench_row("EAUG on fault + EACCEPT, in its own ecall", bench_median(v[0], RUNS), RUNS, SINGLE);
	bench_row("RESTRICT ioctl + EACCEPT ecall", bench_median(v[1], RUNS), RUNS, SINGLE);
	bench_row("MODIFY_TYPES(TRIM) ioctl + EACCEPT ecall + REMOVE ioctl", bench_median(v[2], RUNS),
		  RUNS, SINGLE);
	encl_free(&E);
	return 0;
}
