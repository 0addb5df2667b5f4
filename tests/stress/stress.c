/* A randomized, multi-threaded stress program for the host boundary: run it under `sgxemu run`
 * (with an ASan build to see memory errors).
 *
 *   stress [--seconds N] [--seed N] [--threads N] [--heap-pages N] [--ops LIST] [-v]
 *
 * Worker threads each own a TCS of one of the test enclaves (tests/integ/encl/, two TCSs per
 * enclave) and half of that enclave's heap. Each keeps its half filled with a pattern it
 * knows (TOP_FILL with a seed) and checks it back (TOP_VERIFY): whatever else happens, no
 * byte may be lost. Between ecalls a worker does the operations of LIST at random; helper
 * threads race them. Operations (LIST is comma-separated; "default", "all", and "-NAME" to
 * drop one, e.g. "default,-fork"):
 *   ecall          fill and verify the own region, ADD and COUNTER calls       (workers)
 *   mm-encl        mprotect (allowed and refused), mmap MAP_FIXED over the own region
 *   madvise-encl   every madvise advice on the own region, then verify it      (issue 9.4)
 *   mremap-encl    grow, move, alias (old size 0), same size of the own region (issue 9.6)
 *   mapfixed-fail  MAP_FIXED mmaps over the own region that must fail          (issue 9.5)
 *   mm-anon        mmap/mprotect/mremap/madvise/munmap of anonymous memory elsewhere
 *   ioctl          ioctls with wrong arguments on the own enclave fd
 *   racecalls      ioctl, fcntl(F_DUPFD) and mmap on the fds the fdrace and churn threads
 *                  close under them                                            (issue 9.1)
 *   blockall       ecalls with every signal blocked                            (issue 9.3)
 *   fdrace         a thread dup()s and close()s an enclave fd in a loop        (issue 9.1)
 *   churn          a thread builds, calls and destroys enclaves, closing the fd while
 *                  mapped; with ioctl, others use its fd meanwhile             (issue 9.1, 9.7)
 *   fork           a thread forks; the child must find the inherited enclave mappings
 *                  dead (SIGBUS) and build and call an enclave of its own      (issue 9.9)
 *   timer          SIGALRM every millisecond (setitimer), caught by a handler
 *   tgkill         a thread sends SIGUSR1 to random workers, mostly while they are inside
 *                  an enclave                                                 (issue 9.2)
 * The default list is every operation (the issue numbers say which fixed bug each one
 * exercised first).
 *
 * Prints what it did and every error (with the thread, operation and seed), and ends with
 * "stress: PASS" (exit 0) or "stress: FAIL, N errors" (exit 1). A crash is a failure too. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <asm/sgx.h>

#include "tests/integ/encl/test_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

#define PG 4096UL
#define MAX_THREADS 32

enum op {
	OP_ECALL, OP_MM_ENCL, OP_MADVISE_ENCL, OP_MREMAP_ENCL, OP_MAPFIXED_FAIL, OP_MM_ANON,
	OP_IOCTL, OP_RACECALLS, OP_BLOCKALL, OP_FDRACE, OP_CHURN, OP_FORK, OP_TIMER, OP_TGKILL, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"ecall", "mm-encl", "madvise-encl", "mremap-encl", "mapfixed-fail", "mm-anon", "ioctl",
	"racecalls", "blockall", "fdrace", "churn", "fork", "timer", "tgkill",
};

/* Every operation: the issue-9 bugs that kept some out are fixed. */
static const char default_ops[] =
	"ecall,mm-encl,madvise-encl,mremap-encl,mapfixed-fail,mm-anon,ioctl,racecalls,blockall,"
	"fdrace,churn,fork,timer,tgkill";

static unsigned ops;      /* bit per enum op */
static bool verbose;
static uint64_t seed;
static EVP_PKEY *key;
static char encl_path[PATH_MAX];

static atomic_bool stop;
static atomic_ulong errors;
static atomic_ulong done_ops[NR_OPS];
static atomic_ulong sigs_usr1, sigs_alrm, bytes_verified, forks;
static atomic_int racefd = ATOMIC_VAR_INIT(-1), churnfd = ATOMIC_VAR_INIT(-1);

static bool enabled(enum op o)
{
	return ops >> o & 1;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

__attribute__((format(printf, 2, 3))) static void error(const char *who, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The first ones say what broke; the rest are usually the same thing again. */
	if (atomic_fetch_add(&errors, 1) < 40)
		fprintf(stderr, "stress: ERROR [%s, seed %llu]: %s\n", who, (unsigned long long)seed,
			buf);
}

/* ---------------------------------------------------------------------------------------- */
/* Enclaves */

/* Signing (OpenSSL) and fork exclude each other: a child must not inherit a lock of
 * libcrypto's that another thread held at the fork (the child's own build would wait for it
 * forever; the emulator's EINIT uses the same libcrypto). The emulator's own calls into it
 * run under its driver lock, which its atfork handlers hold across fork. */
static pthread_rwlock_t sign_vs_fork = PTHREAD_RWLOCK_INITIALIZER;

/* in_child: the only thread left, and the lock is the parent's. */
static int build_as(struct encl *e, size_t heap, bool in_child)
{
	int r;

	if (encl_load(e, encl_path, heap) < 0)
		return -1;
	if (!in_child)
		pthread_rwlock_rdlock(&sign_vs_fork);
	r = encl_sign(e, key);
	if (!in_child)
		pthread_rwlock_unlock(&sign_vs_fork);
	if (r < 0 || encl_create(e) < 0 || encl_add_all(e) < 0 || encl_init(e) < 0 || encl_map(e) < 0)
		return -1;
	return 0;
}

static int build(struct encl *e, size_t heap)
{
	return build_as(e, heap, false);
}

/* One call; 0, or -1 with what happened in why. An exception leaves the TCS's SSA frame in
 * use (a new EENTER would be #GP): fix what can be fixed (fixup, may be NULL) and let the
 * call finish with ERESUME, so that one failure does not turn every later call into one. */
static int ecall(const struct encl *e, unsigned tcs, struct test_op *op, char *why, size_t n,
		 void (*fixup)(void *), void *arg)
{
	struct sgx_enclave_run run;
	int rc;

	op->done = 0;
	rc = encl_enter(e, tcs, op, &run);
	if (rc == 0 && run.function == ENCLU_EEXIT && op->done == 1)
		return 0;
	snprintf(why, n, "op %llu: vDSO %d, function %u, vector %u, error %#x, address %#llx, "
		 "done %llu", (unsigned long long)op->op, rc, run.function, run.exception_vector,
		 run.exception_error_code, (unsigned long long)run.exception_addr,
		 (unsigned long long)op->done);
	for (int i = 0; i < 3 && rc == 0 && run.function != ENCLU_EEXIT; i++) {
		if (fixup)
			fixup(arg);
		rc = encl_vdso_call(&run, ENCLU_ERESUME, 0, 0, 0);
	}
	return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Workers */

struct worker {
	unsigned idx;
	struct encl *e;
	unsigned tcs;
	uint64_t region, len;
	uint64_t pattern;  /* seed of what the region holds; 0 before the first fill */
	uint64_t rng;
	atomic_int tid;
	atomic_bool inside_hint; /* around an ecall: where tgkill aims */
	char name[32];
};

static struct encl encls[MAX_THREADS / 2 + 1];
static struct worker workers[MAX_THREADS];
static unsigned nworkers, nencls;

/* After an error the region may be unmapped or zeroed: map it again (what was in the EPC is
 * still there if the mapping alone was lost) and start over with a new pattern. (If the
 * mapping was lost, another thread may have been given the range meanwhile: the run has
 * failed anyway.) */
static void repair(struct worker *w)
{
	mmap((void *)w->region, w->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->e->fd, 0);
}

static void repair_cb(void *arg)
{
	repair(arg);
}

static void repair_cb(void *arg);

static bool fill(struct worker *w, const char *when)
{
	struct test_op op = { .op = TOP_FILL, .addr = w->region, .a = w->len };
	char why[256];

	op.b = rng_next(&w->rng) | 1;
	if (ecall(w->e, w->tcs, &op, why, sizeof(why), repair_cb, w)) {
		error(w->name, "fill (%s): %s", when, why);
		w->pattern = 0; /* unknown: it may have stopped half way */
		repair(w);
		return false;
	}
	if (op.out != w->len / PG) {
		error(w->name, "fill (%s) wrote %llu pages of %llu", when, (unsigned long long)op.out,
		      (unsigned long long)(w->len / PG));
		w->pattern = 0;
		return false;
	}
	w->pattern = op.b;
	return true;
}

/* The region still holds the pattern; when says what came before. */
static bool verify(struct worker *w, const char *when)
{
	struct test_op op = { .op = TOP_VERIFY, .addr = w->region, .a = w->len, .b = w->pattern };
	char why[256];

	if (!w->pattern)
		return fill(w, when);
	atomic_store(&w->inside_hint, true);
	if (ecall(w->e, w->tcs, &op, why, sizeof(why), repair_cb, w)) {
		atomic_store(&w->inside_hint, false);
		error(w->name, "verify after %s: %s", when, why);
		w->pattern = 0;
		repair(w);
		return false;
	}
	atomic_store(&w->inside_hint, false);
	if (op.out) {
		error(w->name, "after %s: %llu of %llu pages lost their contents (first wrong word at "
		      "%#llx, region %#llx)", when, (unsigned long long)op.out,
		      (unsigned long long)(w->len / PG), (unsigned long long)op.aux,
		      (unsigned long long)w->region);
		w->pattern = 0;
		return false;
	}
	atomic_fetch_add(&bytes_verified, w->len);
	return true;
}

static void do_ecall(struct worker *w)
{
	struct test_op op;
	char why[256];
	uint64_t a = rng_next(&w->rng), b = rng_next(&w->rng);

	switch (rng_next(&w->rng) % 4) {
	case 0:
		op = (struct test_op){ .op = TOP_ADD, .a = a, .b = b };
		atomic_store(&w->inside_hint, true);
		if (ecall(w->e, w->tcs, &op, why, sizeof(why), repair_cb, w))
			error(w->name, "ADD: %s", why);
		else if (op.out != a + b || op.tcs != encl_tcs(w->e, w->tcs))
			error(w->name, "ADD gave %#llx on TCS %#llx", (unsigned long long)op.out,
			      (unsigned long long)op.tcs);
		atomic_store(&w->inside_hint, false);
		break;
	case 1:
		op = (struct test_op){ .op = TOP_COUNTER };
		if (ecall(w->e, w->tcs, &op, why, sizeof(why), repair_cb, w))
			error(w->name, "COUNTER: %s", why);
		break;
	case 2:
		fill(w, "ecalls");
		break;
	default:
		verify(w, "ecalls");
		break;
	}
}

static void do_mm_encl(struct worker *w)
{
	void *r = (void *)w->region;

	switch (rng_next(&w->rng) % 4) {
	case 0:
	case 1:
		if (mprotect(r, w->len, PROT_READ))
			error(w->name, "mprotect(region, PROT_READ): %s", strerror(errno));
		verify(w, "mprotect(PROT_READ)");
		if (mprotect(r, w->len, PROT_READ | PROT_WRITE))
			error(w->name, "mprotect(region, RW) back: %s", strerror(errno));
		break;
	case 2:
		/* Beyond the pages' SECINFO rights (RW): EACCES, nothing changed. */
		if (mprotect(r, w->len, PROT_READ | PROT_WRITE | PROT_EXEC) != -1 || errno != EACCES)
			error(w->name, "mprotect(region, RWX) on RW pages did not fail with EACCES");
		verify(w, "a refused mprotect");
		break;
	default:
		/* Replaced by a new mapping of the same pages in one call. (munmap, then mmap
		 * MAP_FIXED would leave a window where another thread's mmap lands in the range
		 * and is then overwritten: the program's own race, which here would overwrite the
		 * emulator's memory.) */
		if (mmap(r, w->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->e->fd, 0) != r)
			error(w->name, "mmap MAP_FIXED of the region over itself: %s", strerror(errno));
		verify(w, "a new mapping over the old one");
		break;
	}
}

static void do_madvise_encl(struct worker *w)
{
	static const struct { int advice; const char *name; } adv[] = {
		{ MADV_DONTNEED, "MADV_DONTNEED" }, { MADV_FREE, "MADV_FREE" },
		{ MADV_REMOVE, "MADV_REMOVE" }, { MADV_COLD, "MADV_COLD" },
		{ MADV_PAGEOUT, "MADV_PAGEOUT" }, { MADV_WILLNEED, "MADV_WILLNEED" },
		{ MADV_NORMAL, "MADV_NORMAL" }, { MADV_SEQUENTIAL, "MADV_SEQUENTIAL" },
		{ MADV_DONTDUMP, "MADV_DONTDUMP" }, { MADV_HUGEPAGE, "MADV_HUGEPAGE" },
	};
	unsigned k = (unsigned)(rng_next(&w->rng) % (sizeof(adv) / sizeof(adv[0])));
	char when[64];

	madvise((void *)w->region, w->len, adv[k].advice); /* any result: the data must stay */
	snprintf(when, sizeof(when), "madvise(%s)", adv[k].name);
	verify(w, when);
}

static void do_mremap_encl(struct worker *w)
{
	void *r = (void *)w->region, *p;
	char when[64];

	switch (rng_next(&w->rng) % 4) {
	case 0: /* grow in place: VM_DONTEXPAND */
		p = mremap(r, w->len, w->len + PG, 0);
		if (p != MAP_FAILED)
			error(w->name, "mremap grew an enclave mapping");
		snprintf(when, sizeof(when), "mremap(grow)");
		break;
	case 1: /* move */
		p = mremap(r, w->len, w->len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)(w->region + 0x40000000000ULL));
		if (p != MAP_FAILED) {
			error(w->name, "mremap moved an enclave mapping to %p", p);
			munmap(p, w->len);
			mmap(r, w->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->e->fd, 0);
		}
		snprintf(when, sizeof(when), "mremap(move)");
		break;
	case 2: /* old size 0: a second mapping of the same pages */
		p = mremap(r, 0, w->len, MREMAP_MAYMOVE);
		if (p != MAP_FAILED) {
			error(w->name, "mremap(old size 0) made an alias of enclave memory at %p", p);
			munmap(p, w->len);
		}
		snprintf(when, sizeof(when), "mremap(alias)");
		break;
	default: /* the same size: nothing to do */
		p = mremap(r, w->len, w->len, 0);
		if (p != r)
			error(w->name, "mremap to the same size: %s",
			      p == MAP_FAILED ? strerror(errno) : "moved");
		snprintf(when, sizeof(when), "mremap(same size)");
		break;
	}
	verify(w, when);
}

static void do_mapfixed_fail(struct worker *w)
{
	void *r = (void *)w->region, *p;
	const char *what;

	switch (rng_next(&w->rng) % 3) {
	case 0:
		what = "MAP_FIXED mmap of a bad fd";
		p = mmap(r, w->len, PROT_READ, MAP_SHARED | MAP_FIXED, -1, 0);
		break;
	case 1:
		what = "MAP_FIXED mmap with an unaligned offset";
		p = mmap(r, w->len, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 1);
		break;
	default:
		what = "MAP_FIXED mmap of a directory";
		{
			int fd = open("/", O_RDONLY | O_CLOEXEC);

			p = mmap(r, w->len, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
			close(fd);
		}
		break;
	}
	if (p != MAP_FAILED)
		error(w->name, "%s succeeded", what);
	verify(w, what);
}

static void do_mm_anon(struct worker *w)
{
	size_t n = 1 + rng_next(&w->rng) % 16, len = n * PG;
	uint64_t s = rng_next(&w->rng);
	uint64_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;

	if (p == MAP_FAILED) {
		error(w->name, "anonymous mmap: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < len / 8; i++)
		p[i] = s + i;
	if (mprotect(p, len, PROT_READ))
		error(w->name, "mprotect of anonymous memory: %s", strerror(errno));
#ifdef __SANITIZE_THREAD__
	/* ThreadSanitizer does not follow memory that mremap moves (its shadow stays behind and
	 * a later mapping there looks like racing with the old one): grow in place or not at
	 * all. */
	q = mremap(p, len, 2 * len, 0);
	if (q == MAP_FAILED && errno == ENOMEM) {
		munmap(p, len);
		return;
	}
#else
	q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
#endif
	if (q == MAP_FAILED) {
		error(w->name, "mremap of anonymous memory: %s", strerror(errno));
		munmap(p, len);
		return;
	}
	for (size_t i = 0; i < len / 8; i++)
		if (q[i] != s + i) {
			error(w->name, "anonymous memory changed across mremap at word %zu", i);
			break;
		}
	madvise(q, 2 * len, MADV_DONTNEED);
	if (munmap(q, 2 * len))
		error(w->name, "munmap of anonymous memory: %s", strerror(errno));
}

/* errno of a call expected to fail, or 0 if it succeeded. */
static int fails(long r)
{
	return r == -1 ? errno : 0;
}

static void do_ioctl(struct worker *w)
{
	struct sgx_enclave_init in = { .sigstruct = (uintptr_t)&w->e->sigstruct };
	struct sgx_enclave_add_pages add = { .src = (uintptr_t)w->e->seg[1].src, .length = PG };
	struct sgx_enclave_modify_types mt = { .offset = 0, .length = PG, .page_type = 4, .count = 1 };
	int e;

	/* EBUSY: the other worker on this enclave is in an ioctl of it right now. */
	switch (rng_next(&w->rng) % 3) {
	case 0: /* the enclave is initialised: INIT again is EINVAL */
		if ((e = fails(ioctl(w->e->fd, SGX_IOC_ENCLAVE_INIT, &in))) != EINVAL && e != EBUSY)
			error(w->name, "second INIT: errno %d, want EINVAL", e);
		break;
	case 1:
		if ((e = fails(ioctl(w->e->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add))) != EINVAL && e != EBUSY)
			error(w->name, "ADD_PAGES after INIT: errno %d, want EINVAL", e);
		break;
	default:
		if ((e = fails(ioctl(w->e->fd, SGX_IOC_ENCLAVE_MODIFY_TYPES, &mt))) != EINVAL &&
		    e != ENODEV && e != EBUSY)
			error(w->name, "MODIFY_TYPES with count 1: errno %d, want EINVAL", e);
		if ((e = fails(ioctl(w->e->fd, _IOW(SGX_MAGIC, 0x7F, int), 0))) != ENOTTY && e != EBUSY)
			error(w->name, "unknown ioctl: errno %d, want ENOTTY", e);
		break;
	}
}

/* The fds other threads close under us: whatever the number is now (closed, another
 * enclave, some other file), the calls must fail cleanly or work. */
static void do_racecalls(struct worker *w)
{
	int fd = atomic_load(rng_next(&w->rng) & 1 ? &racefd : &churnfd), e;
	void *p;

	if (fd < 0)
		return;
	ioctl(fd, SGX_IOC_ENCLAVE_INIT, NULL);
	ioctl(fd, SGX_IOC_ENCLAVE_PROVISION, &(struct sgx_enclave_provision){ .fd = fd });
	e = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	if (e >= 0)
		close(e);
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED)
		munmap(p, PG);
}

static void do_blockall(struct worker *w)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	verify(w, "blocking every signal");
	do_ecall(w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	enum op choice[] = { OP_ECALL, OP_MM_ENCL, OP_MADVISE_ENCL, OP_MREMAP_ENCL,
			     OP_MAPFIXED_FAIL, OP_MM_ANON, OP_IOCTL, OP_RACECALLS, OP_BLOCKALL };
	unsigned n = 0;
	enum op mine[9];

	atomic_store(&w->tid, gettid_());
	for (unsigned i = 0; i < sizeof(choice) / sizeof(choice[0]); i++)
		if (enabled(choice[i]))
			mine[n++] = choice[i];
	fill(w, "the start");
	while (!atomic_load(&stop) && n) {
		enum op o = mine[rng_next(&w->rng) % n];

		switch (o) {
		case OP_ECALL: do_ecall(w); break;
		case OP_MM_ENCL: do_mm_encl(w); break;
		case OP_MADVISE_ENCL: do_madvise_encl(w); break;
		case OP_MREMAP_ENCL: do_mremap_encl(w); break;
		case OP_MAPFIXED_FAIL: do_mapfixed_fail(w); break;
		case OP_MM_ANON: do_mm_anon(w); break;
		case OP_IOCTL: do_ioctl(w); break;
		case OP_RACECALLS: do_racecalls(w); break;
		case OP_BLOCKALL: do_blockall(w); break;
		default: break;
		}
		atomic_fetch_add(&done_ops[o], 1);
		/* Every operation ends with the region checked at least now and then. */
		if (rng_next(&w->rng) % 8 == 0)
			verify(w, op_names[o]);
	}
	verify(w, "the run");
	return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Helper threads */

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *fdrace_main(void *arg)
{
	uint64_t rng = seed ^ 0xFD;

	(void)arg;
	while (!atomic_load(&stop)) {
		int d = dup(encls[0].fd);

		atomic_store(&racefd, d);
		sleep_us(rng_next(&rng) % 50);
		if (d >= 0)
			close(d);
		atomic_fetch_add(&done_ops[OP_FDRACE], 1);
	}
	atomic_store(&racefd, -1);
	return NULL;
}

static void *churn_main(void *arg)
{
	uint64_t rng = seed ^ 0xC4;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct encl c;
		struct test_op op = { .op = TOP_COUNTER };
		char why[256];

		memset(&c, 0, sizeof(c));
		if (build(&c, 0)) {
			error("churn", "building an enclave: %s", c.err);
			encl_free(&c);
			sleep_us(10000);
			continue;
		}
		atomic_store(&churnfd, c.fd);
		if (ecall(&c, (unsigned)(rng_next(&rng) & 1), &op, why, sizeof(why), NULL, NULL) || op.out != 1)
			error("churn", "first call of a new enclave: %s", why);
		if (rng_next(&rng) & 1) {
			/* Closed while mapped: the mappings keep it alive and usable. */
			close(c.fd);
			c.fd = -1;
			op = (struct test_op){ .op = TOP_COUNTER };
			if (ecall(&c, 0, &op, why, sizeof(why), NULL, NULL) || op.out != 2)
				error("churn", "call after close(): %s", why);
		}
		atomic_store(&churnfd, -1);
		encl_free(&c);
		atomic_fetch_add(&done_ops[OP_CHURN], 1);
	}
	return NULL;
}

static sigjmp_buf child_jb;
static volatile sig_atomic_t child_sig;

static void child_on_fault(int sig)
{
	child_sig = sig;
	siglongjmp(child_jb, 1);
}

/* In the child: the parent's enclaves are dead here; a new one works. Exit status says. */
static int child_main(void)
{
	struct sigaction sa;
	struct encl mine;
	struct test_op op = { .op = TOP_COUNTER };
	char why[256];
	volatile uint64_t *p = (volatile uint64_t *)workers[0].region;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_on_fault;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(child_jb, 1) == 0) {
		*p = 0xBAD;
		return 10;
	}
	if (child_sig != SIGBUS)
		return 11;
	memset(&mine, 0, sizeof(mine));
	if (build_as(&mine, 0, true))
		return 20;
	if (ecall(&mine, 1, &op, why, sizeof(why), NULL, NULL) || op.out != 1)
		return 21;
	encl_free(&mine);
	return 0;
}

static void *fork_main(void *arg)
{
	uint64_t rng = seed ^ 0xF0;

	(void)arg;
	while (!atomic_load(&stop)) {
		pid_t pid;
		int status = 0;
		unsigned waited = 0;

		sleep_us(50000 + rng_next(&rng) % 150000);
		pthread_rwlock_wrlock(&sign_vs_fork);
		pid = fork();
		if (pid == 0)
			_exit(child_main());
		pthread_rwlock_unlock(&sign_vs_fork);
		if (pid < 0) {
			error("fork", "fork: %s", strerror(errno));
			continue;
		}
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (++waited == 3000) { /* 30 s */
				error("fork", "child %d hangs; killed", pid);
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			sleep_us(10000);
		}
		if (waited < 3000 && (!WIFEXITED(status) || WEXITSTATUS(status)))
			error("fork", "child %d: %s %d (10: wrote the parent's enclave memory, 11: no "
			      "SIGBUS, 20: build failed, 21: call failed)", pid,
			      WIFEXITED(status) ? "exit status" : "killed by signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		atomic_fetch_add(&forks, 1);
		atomic_fetch_add(&done_ops[OP_FORK], 1);
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigs_usr1, 1);
}

static void on_alrm(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigs_alrm, 1);
}

static void *tgkill_main(void *arg)
{
	uint64_t rng = seed ^ 0x5A;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct worker *w = &workers[rng_next(&rng) % nworkers];
		int tid = atomic_load(&w->tid);

		/* Mostly at threads that are inside (or about to be). */
		if (tid > 0 && (atomic_load(&w->inside_hint) || rng_next(&rng) % 4 == 0)) {
			syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
			atomic_fetch_add(&done_ops[OP_TGKILL], 1);
		}
		sleep_us(rng_next(&rng) % 300);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: stress [--seconds N] [--seed N] [--threads N] [--heap-pages N] "
			"[--ops LIST] [-v]\nLIST: comma-separated, of \"default\" (%s), \"all\", ",
		default_ops);
	for (unsigned i = 0; i < NR_OPS; i++)
		fprintf(stderr, "%s%s", op_names[i], i + 1 < NR_OPS ? ", " : "");
	fprintf(stderr, "; \"-NAME\" drops one.\n");
	exit(2);
}

static unsigned parse_ops(const char *list)
{
	char *copy = strdup(list), *save = NULL;
	unsigned r = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool minus = t[0] == '-';
		unsigned bits = 0;

		if (minus)
			t++;
		if (!strcmp(t, "all"))
			bits = (1U << NR_OPS) - 1;
		else if (!strcmp(t, "default"))
			bits = parse_ops(default_ops);
		for (unsigned i = 0; i < NR_OPS && !bits; i++)
			if (!strcmp(t, op_names[i]))
				bits = 1U << i;
		if (!bits) {
			fprintf(stderr, "stress: unknown operation '%s'\n", t);
			usage();
		}
		r = minus ? r & ~bits : r | bits;
	}
	free(copy);
	return r;
}

int main(int argc, char **argv)
{
	unsigned seconds = 10, nthreads = 4, heap_pages = 32;
	pthread_t wth[MAX_THREADS], helpers[5];
	unsigned nhelpers = 0;
	struct sigaction sa;
	struct itimerval it;
	char keypath[PATH_MAX];
	time_t start;

	seed = (uint64_t)time(NULL);
	ops = parse_ops(default_ops);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-v")) {
			verbose = true;
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--seconds"))
			seconds = (unsigned)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--threads"))
			nthreads = (unsigned)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--heap-pages"))
			heap_pages = (unsigned)strtoul(v, NULL, 0);
		else if (!strcmp(a, "--ops"))
			ops = parse_ops(v);
		else
			usage();
		i++;
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || heap_pages < 4 || heap_pages % 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("stress: seed %llu, %u s, %u threads, %u heap pages per enclave, ops",
	       (unsigned long long)seed, seconds, nthreads, heap_pages);
	for (unsigned i = 0; i < NR_OPS; i++)
		if (enabled(i))
			printf(" %s", op_names[i]);
	printf("\n");

	if (!encl_path_near_exe("../encl/test_encl.elf", encl_path, sizeof(encl_path)) ||
	    !encl_path_near_exe("../encl/test_key.pem", keypath, sizeof(keypath)) ||
	    !(key = sign_load_key(keypath)) || !encl_vdso()) {
		fprintf(stderr, "stress: needs the test enclave and key in ../encl/ next to the binary, "
				"and the vDSO (run under sgxemu run)\n");
		return 2;
	}

	nworkers = nthreads;
	nencls = (nthreads + 1) / 2;
	for (unsigned k = 0; k < nencls; k++)
		if (build(&encls[k], heap_pages * PG)) {
			fprintf(stderr, "stress: building enclave %u: %s\n", k, encls[k].err);
			return 2;
		}
	for (unsigned i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		w->idx = i;
		w->e = &encls[i / 2];
		w->tcs = i % 2;
		w->len = heap_pages / 2 * PG;
		w->region = w->e->base + w->e->heap_offset + w->tcs * w->len;
		w->rng = seed * 1000003 + i;
		snprintf(w->name, sizeof(w->name), "worker %u", i);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, NULL);

	start = time(NULL);
	for (unsigned i = 0; i < nworkers; i++)
		if (pthread_create(&wth[i], NULL, worker_main, &workers[i]))
			return 2;
	if (enabled(OP_FDRACE))
		pthread_create(&helpers[nhelpers++], NULL, fdrace_main, NULL);
	if (enabled(OP_CHURN))
		pthread_create(&helpers[nhelpers++], NULL, churn_main, NULL);
	if (enabled(OP_FORK))
		pthread_create(&helpers[nhelpers++], NULL, fork_main, NULL);
	if (enabled(OP_TGKILL))
		pthread_create(&helpers[nhelpers++], NULL, tgkill_main, NULL);
	if (enabled(OP_TIMER)) {
		it.it_interval = (struct timeval){ 0, 1000 };
		it.it_value = it.it_interval;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	while (time(NULL) - start < (time_t)seconds) {
		sleep_us(200000);
		if (verbose)
			printf("  %lds: %lu ecalls, %lu MiB verified, %lu+%lu signals, %lu errors\n",
			       (long)(time(NULL) - start), (unsigned long)atomic_load(&done_ops[OP_ECALL]),
			       (unsigned long)(atomic_load(&bytes_verified) >> 20),
			       (unsigned long)atomic_load(&sigs_usr1), (unsigned long)atomic_load(&sigs_alrm),
			       (unsigned long)atomic_load(&errors));
	}
	atomic_store(&stop, true);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	for (unsigned i = 0; i < nhelpers; i++)
		pthread_join(helpers[i], NULL);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_join(wth[i], NULL);

	printf("stress: %ld s:", (long)(time(NULL) - start));
	for (unsigned i = 0; i < NR_OPS; i++)
		if (enabled(i) && i != OP_TIMER)
			printf(" %s %lu,", op_names[i], (unsigned long)atomic_load(&done_ops[i]));
	printf(" %lu MiB verified, %lu SIGUSR1 + %lu SIGALRM caught, %lu forks\n",
	       (unsigned long)(atomic_load(&bytes_verified) >> 20), (unsigned long)atomic_load(&sigs_usr1),
	       (unsigned long)atomic_load(&sigs_alrm), (unsigned long)atomic_load(&forks));
	for (unsigned k = 0; k < nencls; k++)
		encl_free(&encls[k]);
	if (atomic_load(&errors)) {
		printf("stress: FAIL, %lu errors (seed %llu)\n", (unsigned long)atomic_load(&errors),
		       (unsigned long long)seed);
		return 1;
	}
	printf("stress: PASS\n");
	return 0;
}
