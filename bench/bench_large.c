/* A sparse 1 TiB ELRANGE (Gramine's EDMM default): what creating, mapping and releasing it
 * costs, beside the same for a 64 KiB ELRANGE; the cost must not grow with the range. Also
 * the whole test enclave built in a 1 TiB ELRANGE with three pages EAUG'd at its ends. Run
 * under `sgxemu run` (make bench does). */
#include "bench/bench.h"

#define RUNS 15
#define TIB (1ULL << 40)
#define SI_AUGMENTED 0x20BULL

/* An aligned free range of size bytes (reserved twice as large, then all given back). */
static uint64_t free_aligned(uint64_t size)
{
	uint8_t *p = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	uint64_t base;

	if (p == MAP_FAILED)
		bench_die("reserve");
	base = ((uint64_t)(uintptr_t)p + size - 1) & ~(size - 1);
	munmap(p, 2 * size);
	return base;
}

/* Gramine's order: open, map ELRANGE whole (RWX, MAP_FIXED_NOREPLACE), ECREATE; then unmap
 * and close. Times each step in v[0..2] (µs). */
static void create_map_release(uint64_t size, double *v)
{
	struct sgx_secs *secs = aligned_alloc(PG, sizeof(*secs));
	struct sgx_enclave_create c;
	uint64_t base;
	double t0, t1, t2, t3;
	int fd;

	if (!secs)
		bench_die("secs");
	/* The first open brings the platform up, which maps memory: before choosing a range. */
	close(open("/dev/sgx_enclave", O_RDWR | O_CLOEXEC));
	base = free_aligned(size);
	memset(secs, 0, sizeof(*secs));
	secs->size = size;
	secs->base = base;
	secs->ssa_frame_size = 1;
	secs->attributes.flags = SGX_ATTR_MODE64BIT;
	secs->attributes.xfrm = 3;
	c.src = (uint64_t)(uintptr_t)secs;
	t0 = bench_now_us();
	fd = open("/dev/sgx_enclave", O_RDWR | O_CLOEXEC);
	if (fd < 0 || mmap((void *)(uintptr_t)base, size, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0) != (void *)(uintptr_t)base)
		bench_die("open + mmap of ELRANGE");
	t1 = bench_now_us();
	if (ioctl(fd, SGX_IOC_ENCLAVE_CREATE, &c))
		bench_die("SGX_IOC_ENCLAVE_CREATE");
	t2 = bench_now_us();
	munmap((void *)(uintptr_t)base, size);
	close(fd);
	t3 = bench_now_us();
	v[0] = t1 - t0;
	v[1] = t2 - t1;
	v[2] = t3 - t2;
	free(secs);
}

static void accept_and_use(const struct encl *e, uint64_t addr)
{
	struct test_op op = { .op = TOP_EACCEPT, .addr = addr, .a = SI_AUGMENTED };

	bench_call(e, 0, &op);
	if (op.out) {
		fprintf(stderr, "bench: EACCEPT %#llx returned %llu\n", (unsigned long long)addr,
			(unsigned long long)op.out);
		exit(1);
	}
	op = (struct test_op){ .op = TOP_WRITE, .addr = addr + 8, .a = 1 };
	bench_call(e, 0, &op);
}

int main(int argc, char **argv)
{
	static const struct { uint64_t size; const char *name; } sizes[] = {
		{ 64 << 10, "64 KiB" }, { TIB, "1 TiB" },
	};
	char elf[PATH_MAX], key[PATH_MAX];
	double v[3][RUNS], w[2][RUNS];

	bench_paths(argc, argv, elf, key, sizeof(elf));
	printf("Large ELRANGEs (sparse); floors measured in this run:\n");
	bench_mm_floors(RUNS, 2000);
	for (unsigned s = 0; s < 2; s++) {
		char what[96];

		for (unsigned r = 0; r < RUNS; r++) {
			double t[3];

			create_map_release(sizes[s].size, t);
			v[0][r] = t[0];
			v[1][r] = t[1];
			v[2][r] = t[2];
		}
		snprintf(what, sizeof(what), "%s ELRANGE: open + mmap whole (MAP_FIXED_NOREPLACE)",
			 sizes[s].name);
		bench_row(what, bench_median(v[0], RUNS), RUNS, 1);
		snprintf(what, sizeof(what), "%s ELRANGE: SGX_IOC_ENCLAVE_CREATE", sizes[s].name);
		bench_row(what, bench_median(v[1], RUNS), RUNS, 1);
		snprintf(what, sizeof(what), "%s ELRANGE: munmap whole + close (release)", sizes[s].name);
		bench_row(what, bench_median(v[2], RUNS), RUNS, 1);
	}
	for (unsigned r = 0; r < RUNS; r++) {
		struct encl e;
		double t0;

		memset(&e, 0, sizeof(e));
		e.fd = -1;
		w[0][r] = bench_build(&e, elf, key, 0, TIB);
		t0 = bench_now_us();
		accept_and_use(&e, e.base + e.seg[e.nseg - 1].offset + e.seg[e.nseg - 1].size);
		accept_and_use(&e, e.base + TIB / 2);
		accept_and_use(&e, e.base + TIB - PG);
		encl_free(&e);
		w[1][r] = bench_now_us() - t0;
	}
	bench_row("1 TiB ELRANGE: test enclave built (sign, ADD_PAGES..INIT, map)",
		  bench_median(w[0], RUNS), RUNS, 1);
	bench_row("1 TiB ELRANGE: 3 pages EAUG'd + EACCEPTed + used, then released",
		  bench_median(w[1], RUNS), RUNS, 1);
	return 0;
}
