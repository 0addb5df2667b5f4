/* The cost of getting in and out of an enclave, beside the host's floors measured in the same
 * run: an empty call, a SIGILL and a SIGSEGV round trip (what a trapped ENCLU costs at the
 * least), mmap/mprotect of a page and first touch of fresh memory. Medians of repeated runs.
 * Run under `sgxemu run` (make bench does). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "tests/integ/encl/test_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

#define ROUNDS 15

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over ROUNDS of the per-iteration time of fn(iters). */
static double median_us(void (*fn)(long), long iters)
{
	double r[ROUNDS];

	fn(iters / 10 + 1); /* warm up */
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_ns();

		fn(iters);
		r[i] = (now_ns() - t0) / iters / 1000.0;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp_d);
	return r[ROUNDS / 2];
}

static void report(const char *what, double us, long iters)
{
	printf("  %-46s %10.1f ns   (median of %d runs x %ld)\n", what, us * 1000.0, ROUNDS, iters);
}

__attribute__((noinline)) static void empty(void)
{
	__asm__ volatile("" ::: "memory");
}

static void bench_call(long n)
{
	for (long i = 0; i < n; i++)
		empty();
}

static void on_sigill(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* skip the UD2 */
}

static void bench_sigill(long n)
{
	for (long i = 0; i < n; i++)
		__asm__ volatile("ud2" ::: "memory");
}

static volatile uint64_t *ro_page;

static void on_sigsegv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	/* Skip the faulting 7-byte store (movq $imm32, (reg) with a REX prefix is 7 bytes). */
	uc->uc_mcontext.gregs[REG_RIP] += 7;
}

static void bench_sigsegv(long n)
{
	for (long i = 0; i < n; i++)
		__asm__ volatile("movq $1, (%0)" : : "r"(ro_page) : "memory");
}

static int memfd = -1;

static void bench_mmap(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);

		munmap(p, 4096);
	}
}

static uint8_t *prot_page;

static void bench_mprotect(long n)
{
	for (long i = 0; i < n; i++)
		mprotect(prot_page, 4096, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE);
}

static void bench_first_touch(long n)
{
	uint8_t *p = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	for (long i = 0; i < n; i++)
		p[i * 4096] = 1;
	munmap(p, (size_t)n * 4096);
}

static struct encl E;

static void bench_ecall(long n)
{
	struct test_op op = { .op = TOP_NOP };
	struct sgx_enclave_run run;

	for (long i = 0; i < n; i++)
		encl_enter(&E, 0, &op, &run);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char path[4096];
	EVP_PKEY *key;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TEST_ENCL.ELF KEY.PEM\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGILL, &sa, NULL);
	sa.sa_sigaction = on_sigsegv;
	sigaction(SIGSEGV, &sa, NULL);
	ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	prot_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memfd = memfd_create("bench", 0);
	if (memfd < 0 || ftruncate(memfd, 4096))
		return 1;

	snprintf(path, sizeof(path), "%s", argv[1]);
	key = sign_load_key(argv[2]);
	if (!key || encl_load(&E, path, 0) || encl_build(&E, key)) {
		fprintf(stderr, "cannot build the enclave: %s\n", E.err);
		return 1;
	}

	printf("host floors:\n");
	report("empty function call", median_us(bench_call, 1000000), 1000000);
	report("SIGILL round trip (ud2, handler skips it)", median_us(bench_sigill, 20000), 20000);
	report("SIGSEGV round trip (write to a read-only page)", median_us(bench_sigsegv, 20000), 20000);
	report("mmap + munmap of one memfd page", median_us(bench_mmap, 20000), 20000);
	report("mprotect of one page", median_us(bench_mprotect, 50000), 50000);
	report("first touch of a fresh anonymous page", median_us(bench_first_touch, 20000), 20000);
	printf("enclave:\n");
	report(getenv("SGXEMU_NO_DIRECT_EENTER") ? "ecall round trip (vDSO, EENTER trapped)"
						  : "ecall round trip (vDSO, direct EENTER)",
	       median_us(bench_ecall, 20000), 20000);
	encl_free(&E);
	EVP_PKEY_free(key);
	return 0;
}
