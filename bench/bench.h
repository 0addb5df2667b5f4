/* Shared pieces of the SGX2 and paging benchmarks: timing, medians, a table row per
 * measurement (µs per operation, with the number of runs and operations per run), the host
 * floors each program measures in its own run, and building the test enclave. */
#ifndef SGXEMU_BENCH_H
#define SGXEMU_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "include/sgxemu_stat.h"
#include "tests/integ/encl/test_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"
#include "util/stat_dir.h"

#define PG 4096UL

static inline double bench_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static inline int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double bench_median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void bench_row(const char *what, double us, unsigned runs, unsigned long ops)
{
	printf("  %-58s %10.3f us  (median of %u runs x %lu)\n", what, us, runs, ops);
	fflush(stdout);
}

static inline void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* --- host floors ---------------------------------------------------------------------- */

static volatile uint64_t bench_resume_ip;

static void bench_skip_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)bench_resume_ip;
}

/* Per-op medians over runs of n: a #UD, and a write to a read-only page, each resumed after
 * the faulting instruction by the program's handler. */
static inline void bench_trap_floors(unsigned runs, unsigned long n)
{
	struct sigaction sa, old_ill, old_segv;
	double *v = calloc(runs, sizeof(double));
	volatile uint8_t *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!v || ro == MAP_FAILED)
		bench_die("trap floors");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bench_skip_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, &old_ill);
	sigaction(SIGSEGV, &sa, &old_segv);
	for (unsigned r = 0; r < runs; r++) {
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++)
			__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, %0\n\tud2\n1:"
					 : "=m"(bench_resume_ip)::"rax", "memory");
		v[r] = (bench_now_us() - t0) / n;
	}
	bench_row("floor: SIGILL round trip (ud2, handler skips it)", bench_median(v, runs), runs, n);
	for (unsigned r = 0; r < runs; r++) {
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++)
			__asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, %0\n\tmovb $1, (%1)\n1:"
					 : "=m"(bench_resume_ip)
					 : "r"(ro)
					 : "rax", "memory");
		v[r] = (bench_now_us() - t0) / n;
	}
	bench_row("floor: SIGSEGV round trip (write to a PROT_READ page)", bench_median(v, runs), runs,
		  n);
	sigaction(SIGILL, &old_ill, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	munmap((void *)ro, PG);
	free(v);
}

__attribute__((noinline)) static void bench_empty(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void bench_call_floor(unsigned runs, unsigned long n)
{
	double v[64];
	void (*volatile fn)(void) = bench_empty;

	for (unsigned r = 0; r < runs && r < 64; r++) {
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++)
			fn();
		v[r] = (bench_now_us() - t0) / n;
	}
	bench_row("floor: empty function call", bench_median(v, runs < 64 ? runs : 64), runs, n);
}

/* mmap + munmap of one memfd page, mprotect of one page, first touch of fresh memory. */
static inline void bench_mm_floors(unsigned runs, unsigned long n)
{
	double *v = calloc(runs, sizeof(double));
	int fd = memfd_create("bench", MFD_CLOEXEC);
	uint8_t *p;

	if (!v || fd < 0 || ftruncate(fd, PG))
		bench_die("mm floors");
	for (unsigned r = 0; r < runs; r++) {
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++) {
			void *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

			if (q == MAP_FAILED)
				bench_die("mmap");
			munmap(q, PG);
		}
		v[r] = (bench_now_us() - t0) / n;
	}
	bench_row("floor: mmap + munmap of one memfd page", bench_median(v, runs), runs, n);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	for (unsigned r = 0; r < runs; r++) {
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++)
			mprotect(p, PG, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ);
		v[r] = (bench_now_us() - t0) / n;
	}
	bench_row("floor: mprotect of one page", bench_median(v, runs), runs, n);
	munmap(p, PG);
	for (unsigned r = 0; r < runs; r++) {
		volatile uint8_t *q = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++)
			q[i * PG] = 1;
		v[r] = (bench_now_us() - t0) / n;
		munmap((void *)q, n * PG);
	}
	bench_row("floor: first touch of a fresh anonymous page", bench_median(v, runs), runs, n);
	close(fd);
	free(v);
}

/* --- the enclave ---------------------------------------------------------------------- */

/* The test enclave with heap bytes of heap in an ELRANGE of size (0: the smallest), the rest
 * of ELRANGE mapped RW for EAUG. Returns build time in µs. */
static inline double bench_build(struct encl *e, const char *elf, const char *key_pem, size_t heap,
				 uint64_t size)
{
	static EVP_PKEY *key;
	uint64_t end;
	double t0;

	if (!key && !(key = sign_load_key(key_pem))) {
		fprintf(stderr, "bench: cannot load %s\n", key_pem);
		exit(1);
	}
	t0 = bench_now_us();
	if (encl_load(e, elf, heap) < 0) {
		fprintf(stderr, "bench: %s\n", e->err);
		exit(1);
	}
	if (size > e->size)
		e->size = size;
	if (encl_build(e, key) < 0) {
		fprintf(stderr, "bench: building the enclave: %s\n", e->err);
		exit(1);
	}
	t0 = bench_now_us() - t0;
	end = e->seg[e->nseg - 1].offset + e->seg[e->nseg - 1].size;
	if (end < e->size &&
	    mmap((void *)(uintptr_t)(e->base + end), e->size - end, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, e->fd, 0) == MAP_FAILED)
		bench_die("mmap of the hole");
	return t0;
}

/* EENTER with op on TCS tcs; anything but a clean EEXIT ends the run. */
static inline void bench_call(const struct encl *e, unsigned tcs, struct test_op *op)
{
	struct sgx_enclave_run run;

	op->done = 0;
	if (encl_enter(e, tcs, op, &run) || run.function != ENCLU_EEXIT || !op->done) {
		fprintf(stderr, "bench: op %llu: function %u vector %u error %#x address %#llx\n",
			(unsigned long long)op->op, run.function, run.exception_vector,
			run.exception_error_code, (unsigned long long)run.exception_addr);
		exit(1);
	}
}

static inline void bench_ecall_floor(const struct encl *e, unsigned runs, unsigned long n)
{
	double *v = calloc(runs, sizeof(double));

	for (unsigned r = 0; r < runs; r++) {
		struct test_op op = { .op = TOP_NOP };
		double t0 = bench_now_us();

		for (unsigned long i = 0; i < n; i++)
			bench_call(e, 0, &op);
		v[r] = (bench_now_us() - t0) / n;
	}
	bench_row("ecall round trip (EENTER..EEXIT through the vDSO, NOP)", bench_median(v, runs),
		  runs, n);
	free(v);
}

/* The emulator's counters from this process's status file. */
static inline void bench_stat(struct sgxemu_stat *st)
{
	char dir[PATH_MAX - 32], path[PATH_MAX];
	int fd;

	sgxemu_stat_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%d.stat", dir, (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, st, sizeof(*st), 0) != (ssize_t)sizeof(*st) ||
	    st->magic != SGXEMU_STAT_MAGIC)
		bench_die("reading the status file (run under sgxemu run)");
	close(fd);
}

/* The test enclave and key: argv[1], argv[2], or next to the binary in ../tests/encl/. */
static inline void bench_paths(int argc, char **argv, char *elf, char *key, size_t len)
{
	if (argc >= 3) {
		snprintf(elf, len, "%s", argv[1]);
		snprintf(key, len, "%s", argv[2]);
		return;
	}
	if (!encl_path_near_exe("../tests/encl/test_encl.elf", elf, len) ||
	    !encl_path_near_exe("../tests/encl/test_key.pem", key, len)) {
		fprintf(stderr, "usage: %s [TEST_ENCL.ELF KEY.PEM]\n", argv[0]);
		exit(2);
	}
}

#endif
