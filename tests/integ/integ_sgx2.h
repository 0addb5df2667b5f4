/* Helpers of the SGX2 (EDMM) and paging integration tests: enclaves with room for new pages,
 * the SGX2 ioctls, calls that are expected to fault, the emulator's EPC counters and status
 * file, and re-running the test binary under `sgxemu run` with other options. */
#ifndef SGXEMU_TESTS_INTEG_SGX2_H
#define SGXEMU_TESTS_INTEG_SGX2_H

#include "tests/integ/integ.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

#include "include/sgxemu.h"
#include "include/sgxemu_stat.h"
#include "util/stat_dir.h"

/* SECINFO.FLAGS as EACCEPT wants them (SDM Vol. 3D, EACCEPT). */
#define SI_R        0x001ULL
#define SI_W        0x002ULL
#define SI_X        0x004ULL
#define SI_PENDING  0x008ULL
#define SI_MODIFIED 0x010ULL
#define SI_PR       0x020ULL
#define SI_TCS      (1ULL << 8)
#define SI_REG      (2ULL << 8)
#define SI_TRIM     (4ULL << 8)
#define SI_AUGMENTED (SI_R | SI_W | SI_REG | SI_PENDING) /* a page EAUG added: 0x20B */
#define SI_TRIMMED   (SI_TRIM | SI_MODIFIED)             /* after MODIFY_TYPES(TRIM): 0x410 */

#define SGX_STATUS_NOT_TRACKED 11
#define SGX_STATUS_ATTRIBUTES_MISMATCH 19
#define SGX_STATUS_NOT_MODIFIABLE 20

#define PF_SGX_READ  0x8005U /* SGX | U | P: the EPCM denied a read */
#define PF_SGX_WRITE 0x8007U /* SGX | U | W | P: the EPCM denied a write */

/* Build the test enclave with heap bytes of heap and an ELRANGE of size bytes (a power of two
 * at least the image), and map everything after the image RW: a hole the enclave can grow
 * into (EAUG on fault). */
static inline void sgx2_build(struct encl *e, size_t heap, uint64_t size)
{
	uint64_t end;

	integ_load(e, heap);
	end = e->seg[e->nseg - 1].offset + e->seg[e->nseg - 1].size;
	assert_true(size >= e->size && (size & (size - 1)) == 0);
	e->size = size;
	if (encl_build(e, integ_key()) < 0)
		fail_msg("building the test enclave: %s (errno %d)", e->err, errno);
	if (end < size)
		assert_ptr_equal(mmap((void *)(uintptr_t)(e->base + end), size - end,
				      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, e->fd, 0),
				 (void *)(uintptr_t)(e->base + end));
}

/* First offset after the image and heap: where the hole starts. */
static inline uint64_t sgx2_hole(const struct encl *e)
{
	return e->seg[e->nseg - 1].offset + e->seg[e->nseg - 1].size;
}

static inline uint64_t integ_eaccept(const struct encl *e, unsigned tcs, uint64_t addr,
				     uint64_t flags)
{
	struct test_op op = { .op = TOP_EACCEPT, .addr = addr, .a = flags };

	integ_call(e, tcs, &op);
	return op.out;
}

static inline void integ_emodpe(const struct encl *e, unsigned tcs, uint64_t addr, uint64_t flags)
{
	struct test_op op = { .op = TOP_EMODPE, .addr = addr, .a = flags };

	integ_call(e, tcs, &op);
}

/* EENTER that must end in an exception reported by the vDSO (after an AEX: ERESUME). */
static inline void integ_call_fault(const struct encl *e, unsigned tcs, struct test_op *op,
				    struct sgx_enclave_run *run, unsigned vector, uint32_t err,
				    uint64_t addr)
{
	op->done = 0;
	assert_int_equal(encl_enter(e, tcs, op, run), 0);
	if (run->function != ENCLU_ERESUME || run->exception_vector != vector ||
	    run->exception_error_code != err || run->exception_addr != addr)
		fail_msg("op %llu on TCS %u: function %u vector %u error %#x address %#llx; want "
			 "ERESUME, vector %u, error %#x, address %#llx",
			 (unsigned long long)op->op, tcs, run->function, run->exception_vector,
			 run->exception_error_code, (unsigned long long)run->exception_addr, vector,
			 err, (unsigned long long)addr);
	assert_int_equal(op->done, 0);
}

/* ERESUME an AEX'd TCS; the op must then run to its EEXIT. */
static inline void integ_resume(const struct encl *e, unsigned tcs, struct test_op *op)
{
	struct sgx_enclave_run run;

	memset(&run, 0, sizeof(run));
	run.tcs = encl_tcs(e, tcs);
	assert_int_equal(encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0), 0);
	if (run.function != ENCLU_EEXIT)
		fail_msg("ERESUME on TCS %u: function %u vector %u error %#x address %#llx", tcs,
			 run.function, run.exception_vector, run.exception_error_code,
			 (unsigned long long)run.exception_addr);
	assert_int_equal(op->done, 1);
}

/* The SGX2 ioctls with everything the caller sets; return the ioctl's result (-1/errno). */
static inline int sgx2_restrict(const struct encl *e, struct sgx_enclave_restrict_permissions *rp)
{
	return ioctl(e->fd, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, rp);
}

static inline int sgx2_modify(const struct encl *e, struct sgx_enclave_modify_types *mt)
{
	return ioctl(e->fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, mt);
}

static inline int sgx2_remove(const struct encl *e, struct sgx_enclave_remove_pages *rm)
{
	return ioctl(e->fd, SGX_IOC_ENCLAVE_REMOVE_PAGES, rm);
}

/* The common successful cases: the whole range done. */
static inline void sgx2_restrict_ok(const struct encl *e, uint64_t off, uint64_t len, uint64_t perm)
{
	struct sgx_enclave_restrict_permissions rp = { .offset = off, .length = len,
						       .permissions = perm };

	if (sgx2_restrict(e, &rp))
		fail_msg("RESTRICT_PERMISSIONS %#llx+%#llx: errno %d result %llu count %#llx",
			 (unsigned long long)off, (unsigned long long)len, errno,
			 (unsigned long long)rp.result, (unsigned long long)rp.count);
	assert_int_equal(rp.result, 0);
	assert_int_equal(rp.count, len);
}

static inline void sgx2_modify_ok(const struct encl *e, uint64_t off, uint64_t len, uint64_t type)
{
	struct sgx_enclave_modify_types mt = { .offset = off, .length = len, .page_type = type };

	if (sgx2_modify(e, &mt))
		fail_msg("MODIFY_TYPES %#llx+%#llx: errno %d result %llu count %#llx",
			 (unsigned long long)off, (unsigned long long)len, errno,
			 (unsigned long long)mt.result, (unsigned long long)mt.count);
	assert_int_equal(mt.result, 0);
	assert_int_equal(mt.count, len);
}

static inline void sgx2_remove_ok(const struct encl *e, uint64_t off, uint64_t len)
{
	struct sgx_enclave_remove_pages rm = { .offset = off, .length = len };

	if (sgx2_remove(e, &rm))
		fail_msg("REMOVE_PAGES %#llx+%#llx: errno %d count %#llx", (unsigned long long)off,
			 (unsigned long long)len, errno, (unsigned long long)rm.count);
	assert_int_equal(rm.count, len);
}

/* The emulator's own API (libsgxemu.so, preloaded by `sgxemu run`), found at run time. */
static inline void *sgxemu_sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);

	if (!p)
		fail_msg("%s not found: run this test under `sgxemu run`", name);
	return p;
}

static inline uint64_t epc_free_pages(void)
{
	int (*info)(struct sgxemu_epc_info *) =
		(int (*)(struct sgxemu_epc_info *))sgxemu_sym("sgxemu_epc_info");
	struct sgxemu_epc_info i;

	assert_int_equal(info(&i), 0);
	return i.free_pages;
}

static inline void emu_cpuid(unsigned leaf, unsigned sub, unsigned regs[4])
{
	int (*q)(unsigned, unsigned, unsigned[4]) =
		(int (*)(unsigned, unsigned, unsigned[4]))sgxemu_sym("sgxemu_cpuid");

	assert_int_equal(q(leaf, sub, regs), 0);
}

/* This process's status file (PID.stat in $SGXEMU_STAT_DIR or its default), as `sgxemu stat`
 * reads it. */
static inline void stat_read(struct sgxemu_stat *st)
{
	char dir[PATH_MAX - 32], path[PATH_MAX];
	ssize_t n;
	int fd;

	sgxemu_stat_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%d.stat", dir, (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open the status file %s: %s", path, strerror(errno));
	n = pread(fd, st, sizeof(*st), 0);
	close(fd);
	assert_int_equal(n, (ssize_t)sizeof(*st));
	assert_int_equal(st->magic, SGXEMU_STAT_MAGIC);
	assert_int_equal(st->version, SGXEMU_STAT_VERSION);
	assert_int_equal(st->pid, getpid());
}

static inline const struct sgxemu_stat_encl *stat_encl(const struct sgxemu_stat *st,
						       const struct encl *e)
{
	for (unsigned i = 0; i < SGXEMU_STAT_ENCLAVES; i++)
		if (st->encl[i].size && st->encl[i].base == e->base)
			return &st->encl[i];
	fail_msg("enclave %#llx is not in the status file", (unsigned long long)e->base);
	return NULL;
}

/* Wait for a flag another thread sets; a generous bound turns a hang into a message. */
static inline void wait_flag(const volatile uint64_t *flag, uint64_t at_least, const char *what)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(flag, __ATOMIC_SEQ_CST) < at_least) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 120)
			fail_msg("gave up waiting (2 minutes) for %s", what);
	}
}

/* Run this test binary again as `sgxemu run OPTIONS -- itself` in a child with a fresh status
 * directory ($SGXEMU_STAT_DIR, removed afterwards), and exit with the child's status: the
 * child writes the TAP lines. The child finds SGXEMU_TEST_RERUN set; main() calls this only
 * when it is not, so a child always runs the tests. */
static inline void integ_rerun(const char *const *opts)
{
	char exe[PATH_MAX], emu[PATH_MAX], dir[] = "/tmp/sgxemu-test-XXXXXX";
	const char *argv[16];
	unsigned n = 0;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int status = 0;
	pid_t pid;

	if (len <= 0 || !encl_path_near_exe("../../sgxemu", emu, sizeof(emu)) || !mkdtemp(dir)) {
		fprintf(stderr, "cannot locate the sgxemu binary or make a directory\n");
		exit(1);
	}
	exe[len] = '\0';
	argv[n++] = emu;
	argv[n++] = "run";
	for (; *opts && n < 12; opts++)
		argv[n++] = *opts;
	argv[n++] = "--";
	argv[n++] = exe;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		setenv("SGXEMU_STAT_DIR", dir, 1);
		setenv("SGXEMU_TEST_RERUN", "1", 1);
		execv(emu, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", emu, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = 1 << 8;
	/* The child removes its own status file when it exits normally; not if it crashed. */
	{
		DIR *d = opendir(dir);
		struct dirent *ent;
		char path[PATH_MAX];

		while (d && (ent = readdir(d)))
			if (ent->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
				unlink(path);
			}
		if (d)
			closedir(d);
		rmdir(dir);
	}
	if (WIFSIGNALED(status))
		exit(128 + WTERMSIG(status));
	exit(WEXITSTATUS(status));
}

#endif
