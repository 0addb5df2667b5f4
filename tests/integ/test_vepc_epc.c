/* vEPC and host enclaves share one EPC (the kernel's sgx_alloc_epc_page and virt.c). With a 1
 * MiB EPC: vEPC faults take free pages, then pages the reclaimer takes from a host enclave (the
 * kernel retries the fault until ksgxd has freed some), and get SIGBUS once only unreclaimable
 * pages are left (vEPC pages are never reclaimed; SECS and VA pages are not either). Meanwhile
 * ADD_PAGES gets ENOMEM and the host enclave cannot get its pages back; everything recovers
 * when the vEPC goes. The program re-executes itself with SGXEMU_EPC_SIZE=1M. */
#include "tests/integ/integ.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "sgxemu.h"

#define EPC_SIZE "1M"
#define VEPC_PAGES 512

static __typeof__(sgxemu_epc_info) *epc_info_fn;
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_seen;

static struct sgxemu_epc_info epc_info(void)
{
	struct sgxemu_epc_info i;

	assert_int_equal(epc_info_fn(&i), 0);
	return i;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	bus_seen = 1;
	siglongjmp(bus_jmp, 1);
}

/* Touch pages of p in order until one raises SIGBUS; returns how many could be touched. */
static uint64_t touch_until_sigbus(volatile uint8_t *p, uint64_t npages)
{
	struct sigaction sa, old;
	volatile uint64_t n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	bus_seen = 0;
	if (!sigsetjmp(bus_jmp, 1))
		for (; n < npages; n++)
			p[n * PG] = 1;
	sigaction(SIGBUS, &old, NULL);
	return n;
}

static int add_heap_page(struct encl *e)
{
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = 0x203 };
	struct sgx_enclave_add_pages add = {
		.src = (uintptr_t)e->seg[1].src,
		.offset = e->heap_offset,
		.length = PG,
		.secinfo = (uintptr_t)&si,
	};

	return ioctl(e->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add);
}

static void vepc_and_host_compete(void **state)
{
	struct sgxemu_epc_info start = epc_info(), full;
	struct encl host, other;
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_COUNTER };
	uint64_t c1, n, free0;
	uint8_t *v;
	int fd;

	(void)state;
	assert_int_equal(start.total_pages, 256);
	/* A host enclave with a large heap holds most of the EPC; another one is created (SECS
	 * and a VA page) but has no pages yet. */
	integ_build(&host, 160 * PG);
	c1 = integ_counter(&host, 0);
	integ_load(&other, PG);
	assert_int_equal(encl_create(&other), 0);
	free0 = epc_info().free_pages;
	assert_true(free0 < start.total_pages / 2);

	fd = open("/dev/sgx_vepc", O_RDWR);
	assert_true(fd >= 0);
	v = mmap(NULL, VEPC_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(v, MAP_FAILED);
	n = touch_until_sigbus(v, VEPC_PAGES);
	full = epc_info();
	/* More than what was free: the host enclave's pages were reclaimed for the vEPC, and
	 * then its SECS (an initialised enclave with no page left in the EPC); the rest is the
	 * other enclave's SECS (not initialised: it stays) and the two VA pages. */
	assert_true(bus_seen);
	assert_true(n > free0 + 100);
	assert_int_equal(full.free_pages, 0);
	assert_int_equal(full.vepc_pages, n);
	assert_int_equal(n, full.total_pages - 3);

	/* Host side: no EPC for a new page, and none to bring the enclave's own pages back. */
	assert_errno(add_heap_page(&other), ENOMEM);
	assert_int_equal(encl_enter(&host, 0, &op, &run), 0);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(op.done, 0);
	/* REMOVE_ALL does not give pages back; closing the vEPC does. */
	assert_int_equal(ioctl(fd, SGX_IOC_VEPC_REMOVE_ALL, 0), 0);
	assert_int_equal(epc_info().free_pages, 0);
	assert_int_equal(munmap(v, VEPC_PAGES * PG), 0);
	close(fd);
	assert_int_equal(epc_info().vepc_pages, 0);
	assert_true(epc_info().free_pages >= n);

	/* The host enclave's pages come back from the backing store with their contents. */
	assert_int_equal(integ_counter(&host, 1), c1 + 1);
	assert_int_equal(add_heap_page(&other), 0);
	encl_free(&other);
	encl_free(&host);
	assert_int_equal(epc_info().free_pages, start.free_pages);
}

/* The other way round: a vEPC that holds the whole EPC leaves a new enclave no SECS page. */
static void vepc_first(void **state)
{
	struct sgxemu_epc_info start = epc_info();
	struct encl e;
	uint8_t *v;
	int fd = open("/dev/sgx_vepc", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	v = mmap(NULL, VEPC_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_ptr_not_equal(v, MAP_FAILED);
	assert_int_equal(touch_until_sigbus(v, VEPC_PAGES), start.free_pages);
	integ_load(&e, 0);
	assert_int_equal(encl_create(&e), -1);
	assert_int_equal(errno, ENOMEM);
	encl_free(&e);
	assert_int_equal(munmap(v, VEPC_PAGES * PG), 0);
	close(fd);
	integ_build(&e, 0);
	assert_int_equal(integ_counter(&e, 0), 1);
	encl_free(&e);
	assert_int_equal(epc_info().free_pages, start.free_pages);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vepc_and_host_compete),
		cmocka_unit_test(vepc_first),
	};
	const char *size = getenv("SGXEMU_EPC_SIZE");

	(void)argc;
	/* The EPC size is fixed when the emulator starts: start again with a small one (the
	 * preload comes along through LD_PRELOAD). */
	if (!size || strcmp(size, EPC_SIZE)) {
		setenv("SGXEMU_EPC_SIZE", EPC_SIZE, 1);
		execv("/proc/self/exe", argv);
		perror("re-executing with a small EPC");
		return 1;
	}
	epc_info_fn = (__typeof__(epc_info_fn))dlsym(RTLD_DEFAULT, "sgxemu_epc_info");
	if (!epc_info_fn) {
		fprintf(stderr, "not running under sgxemu (no sgxemu_epc_info)\n");
		return 1;
	}
	encl_vdso();
	return cmocka_run_group_tests_name("vepc_epc", tests, NULL, NULL);
}
