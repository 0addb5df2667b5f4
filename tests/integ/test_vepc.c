/* A VMM's view of /dev/sgx_vepc under `sgxemu run` (the kernel's virt.c): this program acts as
 * the VMM of a guest that builds two enclaves with the guest ENCLS of include/sgxemu.h, each
 * enclave's SECS in the other's vEPC region, enters them through the vDSO, and tears them down
 * with the kernel documentation's two-pass SGX_IOC_VEPC_REMOVE_ALL; EBUSY while a thread is
 * inside; release order (children first, cross-region SECS as zombies); mmap rules. */
#include "tests/integ/integ.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cpu/sigstruct.h"
#include "sgxemu.h"

#define SLOT 0x10000UL   /* the test enclave's ELRANGE (64 KiB) */

static struct {
	__typeof__(sgxemu_encls) *encls;
	__typeof__(sgxemu_guest_set_lepubkeyhash) *set_lehash;
	__typeof__(sgxemu_epc_info) *epc_info;
} api;

/* A vEPC region: one fd, one mapping of two slots at a SLOT-aligned address. */
struct region {
	int fd;
	uint8_t *map;     /* slot 0: an enclave's ELRANGE; slot 1: the other enclave's SECS */
	void *reserve;
};

/* A guest enclave: the test enclave's image, added page by page at its vEPC addresses. */
struct guest {
	struct encl img;  /* segments and SIGSTRUCT only: never opened through /dev/sgx_enclave */
	uint64_t base, secs;
};

static int group_setup(void **state)
{
	(void)state;
	api.encls = (__typeof__(api.encls))dlsym(RTLD_DEFAULT, "sgxemu_encls");
	api.set_lehash = (__typeof__(api.set_lehash))dlsym(RTLD_DEFAULT, "sgxemu_guest_set_lepubkeyhash");
	api.epc_info = (__typeof__(api.epc_info))dlsym(RTLD_DEFAULT, "sgxemu_epc_info");
	if (!api.encls || !api.set_lehash || !api.epc_info) {
		fprintf(stderr, "not running under sgxemu (no sgxemu_encls)\n");
		return -1;
	}
	encl_vdso();
	return 0;
}

static struct sgxemu_epc_info epc_info(void)
{
	struct sgxemu_epc_info i;

	assert_int_equal(api.epc_info(&i), 0);
	return i;
}

static void region_open(struct region *r)
{
	uint8_t *p;

	r->fd = open("/dev/sgx_vepc", O_RDWR | O_CLOEXEC);
	assert_true(r->fd >= 0);
	/* Room for two slots at a SLOT-aligned address: ELRANGE must be aligned to its size. */
	p = mmap(NULL, 4 * SLOT, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	r->reserve = p;
	r->map = (uint8_t *)(((uintptr_t)p + SLOT - 1) & ~(SLOT - 1));
	assert_ptr_equal(mmap(r->map, 2 * SLOT, PROT_READ | PROT_WRITE | PROT_EXEC,
			      MAP_SHARED | MAP_FIXED, r->fd, 0), r->map);
}

static void region_close(struct region *r)
{
	assert_int_equal(munmap(r->map, 2 * SLOT), 0);
	munmap(r->reserve, 4 * SLOT);
	close(r->fd);
}

static long remove_all(const struct region *r)
{
	return ioctl(r->fd, SGX_IOC_VEPC_REMOVE_ALL, 0);
}

static void encls_ok(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct sgxemu_fault f = { 0 };
	long r = api.encls(leaf, rbx, rcx, rdx, &f);

	if (r != 0)
		fail_msg("guest ENCLS %u rbx=%#llx rcx=%#llx: %ld (vector %u, error %#x, address %#llx)",
			 leaf, (unsigned long long)rbx, (unsigned long long)rcx, r, f.vector,
			 f.error_code, (unsigned long long)f.address);
}

/* ECREATE, EADD + EEXTEND of every page, EINIT: what a guest kernel's loader does. */
static void guest_build(struct guest *g, uint8_t *base, uint8_t *secs_page)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secs *secs = aligned_alloc(PG, sizeof(*secs));
	struct sgx_einittoken *token = aligned_alloc(512, 512);
	struct sgx_sigstruct *sig = aligned_alloc(PG, PG);
	uint8_t hash[32];

	assert_non_null(secs);
	assert_non_null(token);
	assert_non_null(sig);
	integ_load(&g->img, 0);
	assert_int_equal(g->img.size, SLOT); /* the regions have room for this size */
	assert_int_equal(encl_sign(&g->img, integ_key()), 0);
	g->base = (uintptr_t)base;
	g->secs = (uintptr_t)secs_page;

	memset(secs, 0, sizeof(*secs));
	secs->size = g->img.size;
	secs->base = g->base;
	secs->ssa_frame_size = g->img.ssa_frame_size;
	secs->attributes.flags = g->img.attributes;
	secs->attributes.xfrm = g->img.xfrm;
	memset(&pi, 0, sizeof(pi));
	memset(&si, 0, sizeof(si));
	pi.srcpge = (uintptr_t)secs;
	pi.secinfo = (uintptr_t)&si;
	encls_ok(ENCLS_ECREATE, (uintptr_t)&pi, g->secs, 0);
	for (unsigned i = 0; i < g->img.nseg; i++) {
		const struct encl_seg *s = &g->img.seg[i];

		for (uint64_t off = 0; off < s->size; off += PG) {
			uint64_t la = g->base + s->offset + off;

			memset(&pi, 0, sizeof(pi));
			si.flags = s->secinfo;
			pi.linaddr = la;
			pi.srcpge = (uintptr_t)s->src + off;
			pi.secinfo = (uintptr_t)&si;
			pi.secs = g->secs;
			encls_ok(ENCLS_EADD, (uintptr_t)&pi, la, 0);
			for (uint64_t c = 0; (s->flags & SGX_PAGE_MEASURE) && c < PG; c += 256)
				encls_ok(ENCLS_EEXTEND, g->secs, la + c, 0);
		}
	}
	memcpy(sig, &g->img.sigstruct, sizeof(*sig));
	memset(token, 0, 512);
	/* Before the guest's kernel writes its LE hash MSRs, EINIT refuses with the raw code. */
	memset(hash, 0, sizeof(hash));
	api.set_lehash(hash);
	assert_int_equal(api.encls(ENCLS_EINIT, (uintptr_t)sig, g->secs, (uintptr_t)token, NULL),
			 SGX_INVALID_EINITTOKEN);
	assert_int_equal(sigstruct_mrsigner(sig, hash), 0);
	api.set_lehash(hash);
	encls_ok(ENCLS_EINIT, (uintptr_t)sig, g->secs, (uintptr_t)token);
	free(secs);
	free(token);
	free(sig);
}

/* EPC pages of the enclave: its pages and the SECS. */
static uint64_t guest_pages(const struct guest *g)
{
	uint64_t n = 1;

	for (unsigned i = 0; i < g->img.nseg; i++)
		n += g->img.seg[i].size / PG;
	return n;
}

static void guest_free(struct guest *g)
{
	encl_free(&g->img);
}

static int guest_enter(const struct guest *g, unsigned tcs, struct test_op *op,
		       struct sgx_enclave_run *run)
{
	memset(run, 0, sizeof(*run));
	run->tcs = g->base + (uint64_t)tcs * PG;
	return encl_vdso_call(run, ENCLU_EENTER, (uint64_t)(uintptr_t)op, 0, 0);
}

static uint64_t guest_add(const struct guest *g, unsigned tcs, uint64_t a, uint64_t b)
{
	struct test_op op = { .op = TOP_ADD, .a = a, .b = b };
	struct sgx_enclave_run run;

	assert_int_equal(guest_enter(g, tcs, &op, &run), 0);
	assert_int_equal(run.function, ENCLU_EEXIT);
	assert_int_equal(op.done, 1);
	assert_int_equal(op.tcs, g->base + (uint64_t)tcs * PG);
	return op.out;
}

/* Two regions, two enclaves: g1's pages in A with its SECS in B, g2's the other way. */
static void split_build(struct region *a, struct region *b, struct guest *g1, struct guest *g2)
{
	region_open(a);
	region_open(b);
	guest_build(g1, a->map, b->map + SLOT);
	guest_build(g2, b->map, a->map + SLOT);
}

/* ---- tests ---- */

static void mmap_rules(void **state)
{
	int rw = open("/dev/sgx_vepc", O_RDWR), ro = open("/dev/sgx_vepc", O_RDONLY);
	int wo = open("/dev/sgx_vepc", O_WRONLY);
	struct stat st;
	void *p;

	(void)state;
	assert_true(rw >= 0 && ro >= 0 && wo >= 0);
	assert_int_equal(stat("/dev/sgx_vepc", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_mmap_errno(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, rw, 0), EINVAL);
	assert_mmap_errno(mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0), EINVAL);
	assert_mmap_errno(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
	assert_mmap_errno(mmap(NULL, PG, PROT_READ, MAP_SHARED, wo, 0), EACCES);
	assert_errno(ioctl(rw, SGX_IOC_VEPC_REMOVE_ALL, 1), EINVAL);
	assert_errno(ioctl(rw, SGX_IOC_ENCLAVE_INIT, 0), ENOTTY);
	assert_int_equal(ioctl(rw, SGX_IOC_VEPC_REMOVE_ALL, 0), 0);
	/* Offset = page index: the same offset through two mappings is the same EPC page. */
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 3 * PG);
	assert_ptr_not_equal(p, MAP_FAILED);
	{
		uint8_t *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 4 * PG);
		struct sgxemu_epc_info before = epc_info();

		assert_ptr_not_equal(q, MAP_FAILED);
		((volatile uint8_t *)p)[PG + 5] = 0x5a;
		assert_int_equal(((volatile uint8_t *)q)[5], 0x5a);
		assert_int_equal(epc_info().vepc_pages, before.vepc_pages + 1);
		assert_int_equal(munmap(q, PG), 0);
	}
	/* mremap cannot grow it (VM_DONTEXPAND). */
	assert_ptr_equal(mremap(p, 2 * PG, 4 * PG, MREMAP_MAYMOVE), MAP_FAILED);
	assert_int_equal(munmap(p, 2 * PG), 0);
	close(rw);
	close(ro);
	close(wo);
}

/* Both guest enclaves run from their vEPC pages; the two-pass removal tears them down. */
static void two_pass_remove_all(void **state)
{
	struct sgxemu_epc_info before = epc_info(), built;
	struct region a, b;
	struct guest g1, g2;
	struct sgx_enclave_run run;
	struct test_op op = { .op = TOP_NOP };

	(void)state;
	split_build(&a, &b, &g1, &g2);
	built = epc_info();
	assert_int_equal(built.vepc_pages, before.vepc_pages + guest_pages(&g1) + guest_pages(&g2));
	assert_int_equal(before.free_pages - built.free_pages, built.vepc_pages - before.vepc_pages);
	assert_int_equal(guest_add(&g1, 0, 40, 2), 42);
	assert_int_equal(guest_add(&g2, 1, 20, 3), 23);

	/* Round 1 on every vEPC: A keeps g2's SECS (its children are in B). */
	assert_int_equal(remove_all(&a), 1);
	assert_int_equal(remove_all(&b), 0);
	/* Round 2 on the ones that returned non-zero. */
	assert_int_equal(remove_all(&a), 0);
	/* The pages stay allocated to the vEPCs, uninitialised: entering is a #PF now. */
	assert_int_equal(epc_info().vepc_pages, built.vepc_pages);
	assert_int_equal(guest_enter(&g1, 0, &op, &run), 0);
	assert_int_equal(run.function, ENCLU_EENTER);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(op.done, 0);
	/* And a guest may build again on them. */
	guest_free(&g1);
	guest_build(&g1, a.map, b.map + SLOT);
	assert_int_equal(guest_add(&g1, 1, 1, 1), 2);
	guest_free(&g1);
	guest_free(&g2);
	region_close(&a);
	region_close(&b);
	assert_int_equal(epc_info().vepc_pages, before.vepc_pages);
	assert_int_equal(epc_info().free_pages, before.free_pages);
}

/* A guest enclave's exceptions take an AEX into its SSA in vEPC memory and are reported
 * through the vDSO; an access beyond its EPCM permissions is a #PF with the SGX bit. */
static void guest_exceptions(void **state)
{
	struct region a, b;
	struct guest g1, g2;
	struct sgx_enclave_run run;
	struct test_op ud = { .op = TOP_UD2 };
	struct test_op wr = { .op = TOP_WRITE, .a = 1 };

	(void)state;
	split_build(&a, &b, &g1, &g2);
	assert_int_equal(guest_enter(&g1, 1, &ud, &run), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 6);
	/* The code page is RX in the EPCM although the vEPC mapping is RWX. */
	wr.addr = g2.base + g2.img.seg[1].offset;
	assert_int_equal(guest_enter(&g2, 0, &wr, &run), 0);
	assert_int_equal(run.function, ENCLU_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code & 0x8007, 0x8007);
	assert_int_equal(run.exception_addr, wr.addr);
	assert_int_equal(wr.done, 0);
	/* The other TCSs still work (NSSA = 1: the faulted ones cannot be re-entered). */
	assert_int_equal(guest_add(&g1, 0, 2, 3), 5);
	assert_int_equal(guest_add(&g2, 1, 3, 4), 7);
	guest_free(&g1);
	guest_free(&g2);
	region_close(&a);
	region_close(&b);
}

static volatile uint64_t release_flag;

struct spinner {
	const struct guest *g;
	struct test_op op;
	struct sgx_enclave_run run;
	int rc;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;

	s->rc = guest_enter(s->g, 0, &s->op, &s->run);
	return NULL;
}

/* REMOVE_ALL is EBUSY while a thread runs inside one of the region's enclaves. */
static void remove_all_busy(void **state)
{
	struct region a, b;
	struct guest g1, g2;
	struct spinner s = { 0 };
	pthread_t th;
	int i;

	(void)state;
	split_build(&a, &b, &g1, &g2);
	release_flag = 0;
	s.g = &g1;
	s.op = (struct test_op){ .op = TOP_SPIN, .addr = (uintptr_t)&release_flag };
	assert_int_equal(pthread_create(&th, NULL, spin, &s), 0);
	for (i = 0; i < 20000 && !__atomic_load_n(&s.op.entered, __ATOMIC_SEQ_CST); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	if (!s.op.entered) {
		release_flag = 1;
		pthread_join(th, NULL);
		fail_msg("the thread never got into the guest enclave");
	}
	assert_errno(remove_all(&a), EBUSY);
	/* B holds g1's SECS, which keeps its children: counted, not busy. */
	assert_int_equal(remove_all(&b), 1);
	/* The other TCS still works meanwhile. */
	assert_int_equal(guest_add(&g1, 1, 5, 6), 11);
	__atomic_store_n(&release_flag, 9, __ATOMIC_SEQ_CST);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.rc, 0);
	assert_int_equal(s.run.function, ENCLU_EEXIT);
	assert_int_equal(s.op.out, 9);
	assert_int_equal(remove_all(&a), 0);
	assert_int_equal(remove_all(&b), 0);
	guest_free(&g1);
	guest_free(&g2);
	region_close(&a);
	region_close(&b);
}

/* Closing without REMOVE_ALL: children go first; g2's SECS, whose children are in B, stays a
 * zombie while B lives and is freed when B goes. */
static void release_order(void **state)
{
	struct sgxemu_epc_info before = epc_info();
	struct region a, b;
	struct guest g1, g2;

	(void)state;
	split_build(&a, &b, &g1, &g2);
	assert_int_equal(guest_add(&g2, 0, 1, 2), 3);
	region_close(&a);
	/* B's pages (g2's and g1's SECS) and g2's SECS as a zombie. */
	assert_int_equal(epc_info().vepc_pages, before.vepc_pages + guest_pages(&g2) + 1);
	/* g2 still runs: its SECS outlived the region it was in. */
	assert_int_equal(guest_add(&g2, 0, 2, 2), 4);
	region_close(&b);
	assert_int_equal(epc_info().vepc_pages, before.vepc_pages);
	assert_int_equal(epc_info().free_pages, before.free_pages);
	guest_free(&g1);
	guest_free(&g2);
}

/* vEPC mappings are not inherited (VM_DONTCOPY): the child has nothing at the parent's
 * addresses, and its inherited fd is an empty vEPC (the emulator's EPC is per process); the
 * parent's pages are untouched. */
static void fork_drops_mappings(void **state)
{
	struct sgxemu_epc_info before;
	struct region a;
	int status;
	pid_t pid;

	(void)state;
	region_open(&a);
	a.map[0] = 0x42;
	before = epc_info();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sgxemu_epc_info i;
		uint8_t *p;

		if (api.epc_info(&i) || i.vepc_pages != 0 || i.free_pages != i.total_pages)
			_exit(2);
		/* Nothing mapped there any more. */
		if (msync(a.map, 2 * SLOT, MS_ASYNC) == 0 || errno != ENOMEM)
			_exit(3);
		p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
		if (p == MAP_FAILED || p[0] != 0)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(a.map[0], 0x42);
	assert_int_equal(epc_info().vepc_pages, before.vepc_pages);
	region_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mmap_rules),
		cmocka_unit_test(two_pass_remove_all),
		cmocka_unit_test(guest_exceptions),
		cmocka_unit_test(remove_all_busy),
		cmocka_unit_test(release_order),
		cmocka_unit_test(fork_drops_mappings),
	};

	return cmocka_run_group_tests_name("vepc", tests, group_setup, NULL);
}
