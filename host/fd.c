/* The device-fd table. Every change to it, and the real close/dup that goes with it, happens
 * under one lock with the program's signals blocked, so that a close racing an ioctl, dup or
 * mmap on the same fd (another thread, or a signal handler of this one) sees the file either
 * before or after, never half-released: lookups take a reference on the file, as Linux holds
 * one for the duration of each call. All system calls here go through the gate. */
#include "host/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "host/sys.h"
#include "util/rawsys.h"

#define FD_MAX 65536

struct fd_entry {
	struct sgx_file *file; /* NULL: not a device fd */
	uint64_t ino;          /* the fd's own inode, checked at every lookup */
	uint8_t fmode;         /* FD_MODE_* of the open */
	bool internal;         /* one of sgxemu's own fds */
};

static struct fd_entry fd_table[FD_MAX];

/* The table is written only under the lock, but read without it on the fast paths (is this
 * fd one of ours at all?): file and internal are stored and loaded atomically for those
 * readers, whose answer is a hint the locked path checks again. */
static void entry_set(long fd, struct fd_entry v)
{
	struct fd_entry *e = &fd_table[fd];

	e->ino = v.ino;
	e->fmode = v.fmode;
	__atomic_store_n(&e->internal, v.internal, __ATOMIC_RELEASE);
	__atomic_store_n(&e->file, v.file, __ATOMIC_RELEASE);
}

static void entry_clear(long fd)
{
	entry_set(fd, (struct fd_entry){ NULL, 0, 0, false });
}

/* Without the lock: whether fd may be a device fd or one of ours. */
static bool entry_maybe_used(long fd)
{
	return __atomic_load_n(&fd_table[fd].file, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&fd_table[fd].internal, __ATOMIC_ACQUIRE);
}
static atomic_int fd_lock_owner;
/* Where the owners of our own fds keep their numbers (updated when an fd has to move). */
static int *internal_slots[4];

static void fd_lock(uint64_t *saved)
{
	uint64_t all = ~(1ULL << (SIGSYS - 1));
	int expect = 0, self;

	raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, saved, 8);
	self = (int)raw_gettid();
	while (!atomic_compare_exchange_weak(&fd_lock_owner, &expect, self)) {
		expect = 0;
		raw_syscall0(SYS_sched_yield);
	}
}

static void fd_unlock(const uint64_t *saved)
{
	atomic_store(&fd_lock_owner, 0);
	raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, saved, NULL, 8);
}

/* fork keeps the table consistent: the forking thread holds the lock across fork (a child
 * must not inherit it held by a thread that does not exist there). Taken after the driver
 * lock: this lock is a leaf. */
static uint64_t fork_saved_mask;

void fd_fork_prepare(void)
{
	uint64_t saved;

	fd_lock(&saved);
	fork_saved_mask = saved;
}

void fd_fork_parent(void)
{
	fd_unlock(&fork_saved_mask);
}

void fd_fork_child(void)
{
	fd_unlock(&fork_saved_mask);
}

static bool fd_in_table(long fd)
{
	return fd >= 0 && fd < FD_MAX;
}

static uint64_t fd_inode(long fd)
{
	struct stat st;

	if (raw_syscall2(SYS_fstat, fd, &st))
		return 0;
	return st.st_ino;
}

/* With the lock held: whether the entry still describes what fd is (a raw dup2 or close
 * behind our back may have changed it). A stale entry is dropped; its reference goes to
 * *drop for the caller to put after unlocking. */
static bool entry_valid(long fd, struct sgx_file **drop)
{
	struct fd_entry *e = &fd_table[fd];

	if (!e->file && !e->internal)
		return false;
	if (fd_inode(fd) == e->ino)
		return true;
	*drop = e->file;
	entry_clear(fd);
	return false;
}

/* An fd with no entry while another thread holds the lock may be one it is creating (a new
 * device fd or a dup of one exists in the kernel just before its entry does). */
static bool entry_may_be_coming(void)
{
	int owner = atomic_load(&fd_lock_owner);

	return owner && owner != (int)raw_gettid();
}

struct sgx_file *fd_get(int fd, unsigned *fmode)
{
	struct sgx_file *f = NULL, *drop = NULL;
	uint64_t saved;

	if (!fd_in_table(fd) ||
	    (!__atomic_load_n(&fd_table[fd].file, __ATOMIC_ACQUIRE) && !entry_may_be_coming()))
		return NULL;
	fd_lock(&saved);
	if (entry_valid(fd, &drop) && fd_table[fd].file) {
		f = fd_table[fd].file;
		sgx_file_get(f);
		if (fmode)
			*fmode = fd_table[fd].fmode;
	}
	fd_unlock(&saved);
	if (drop)
		sgx_file_put(drop);
	return f;
}

bool fd_is_internal(int fd)
{
	return fd_in_table(fd) && fd_table[fd].internal;
}

/* Move fd into the reserved range (or leave it where it is when the range is unusable, e.g.
 * RLIMIT_NOFILE below it). Numbers are handed out round the range rather than lowest first,
 * as PIDs are: a thread still using a device fd another has just closed then meets EBADF,
 * not the next device opened. */
static long fd_to_range(long fd, bool cloexec)
{
	static atomic_long cursor = FD_RESERVED_LO;
	long hi, from = atomic_load(&cursor);

	if (fd >= FD_RESERVED_LO && fd <= FD_RESERVED_HI)
		return fd;
	for (int pass = 0; pass < 2; pass++) {
		hi = raw_syscall3(SYS_fcntl, fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, from);
		if (!raw_is_err(hi) && hi <= FD_RESERVED_HI)
			break;
		if (!raw_is_err(hi))
			raw_syscall1(SYS_close, hi);
		hi = -EMFILE;
		from = FD_RESERVED_LO;
	}
	if (raw_is_err(hi))
		return fd;
	atomic_store(&cursor, hi + 1 <= FD_RESERVED_HI ? hi + 1 : FD_RESERVED_LO);
	raw_syscall1(SYS_close, fd);
	return hi;
}

long fd_open_device(enum sgx_file_kind kind, int flags)
{
	static const char *const names[] = { "", "sgx_enclave", "sgx_provision", "sgx_vepc" };
	int acc = flags & O_ACCMODE, err = 0;
	bool cloexec = flags & O_CLOEXEC;
	struct sgx_file *f;
	char path[40];
	long mfd, fd;
	uint64_t saved;

	f = sgx_open(kind, &err);
	if (!f)
		return err;
	mfd = raw_syscall2(SYS_memfd_create, names[kind], MFD_CLOEXEC);
	if (raw_is_err(mfd)) {
		sgx_file_put(f);
		return mfd;
	}
	/* A file description of the memfd's own with the access mode the program asked for, so
	 * that fcntl(F_GETFL) answers as for the device. */
	{
		char *p = path;
		const char *pre = "/proc/self/fd/";
		char digits[12];
		int d = 0;
		long v = mfd;

		while (*pre)
			*p++ = *pre++;
		do {
			digits[d++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (d)
			*p++ = digits[--d];
		*p = 0;
	}
	fd = raw_syscall4(SYS_openat, AT_FDCWD, path,
			  (acc == O_ACCMODE ? O_RDWR : acc) | (cloexec ? O_CLOEXEC : 0), 0);
	if (raw_is_err(fd)) {
		fd = mfd; /* no /proc: the memfd itself, read-write */
	} else {
		raw_syscall1(SYS_close, mfd);
	}
	if (!cloexec)
		raw_syscall3(SYS_fcntl, fd, F_SETFD, 0);
	/* The number the program gets appears and is registered under the lock (lookups that
	 * find no entry while a change is under way wait for it). */
	fd_lock(&saved);
	fd = fd_to_range(fd, cloexec);
	if (fd_in_table(fd))
		entry_set(fd, (struct fd_entry){
			f, fd_inode(fd),
			(uint8_t)((acc == O_RDONLY || acc == O_RDWR ? FD_MODE_READ : 0) |
				  (acc == O_WRONLY || acc == O_RDWR ? FD_MODE_WRITE : 0)),
			false
		});
	fd_unlock(&saved);
	if (!fd_in_table(fd)) {
		raw_syscall1(SYS_close, fd);
		sgx_file_put(f);
		return -EMFILE;
	}
	return fd;
}

/* With the lock held: forget newfd's entry (it is about to be replaced or closed). */
static struct sgx_file *entry_take(long fd)
{
	struct sgx_file *f;

	if (!fd_in_table(fd))
		return NULL;
	f = fd_table[fd].file;
	entry_clear(fd);
	return f;
}

long fd_close(int fd)
{
	struct sgx_file *drop = NULL;
	uint64_t saved;
	long r;

	if (!fd_in_table(fd) || !entry_maybe_used(fd))
		return SYS_PASS;
	fd_lock(&saved);
	if (fd_table[fd].internal && fd_inode(fd) == fd_table[fd].ino) {
		r = -EBADF; /* the program cannot see our own fds */
	} else {
		drop = entry_take(fd);
		r = raw_syscall1(SYS_close, fd);
	}
	fd_unlock(&saved);
	if (drop)
		sgx_file_put(drop);
	return r;
}

/* With the lock held: newfd (a valid number) is about to be replaced by a copy of oldfd: if
 * it holds one of our own fds, move that away first. */
static void move_internal_away(long newfd)
{
	long to;

	if (!fd_in_table(newfd) || !fd_table[newfd].internal ||
	    fd_inode(newfd) != fd_table[newfd].ino)
		return;
	to = raw_syscall3(SYS_fcntl, newfd, F_DUPFD_CLOEXEC, FD_RESERVED_LO);
	if (raw_is_err(to) || !fd_in_table(to))
		return;
	entry_set(to, fd_table[newfd]);
	entry_clear(newfd);
	for (unsigned i = 0; i < sizeof(internal_slots) / sizeof(internal_slots[0]); i++)
		if (internal_slots[i] && __atomic_load_n(internal_slots[i], __ATOMIC_RELAXED) == newfd)
			__atomic_store_n(internal_slots[i], (int)to, __ATOMIC_RELAXED);
}

/* With the lock held: newfd now refers to what oldfd refers to. References to drop go to
 * drop[0..1], to be put once the lock is released (never take the driver lock under ours). */
static void entry_copy(long oldfd, long newfd, struct sgx_file **drop)
{
	drop[0] = entry_take(newfd);
	if (!fd_in_table(oldfd) || !fd_in_table(newfd) || !entry_valid(oldfd, &drop[1]) ||
	    !fd_table[oldfd].file)
		return;
	sgx_file_get(fd_table[oldfd].file);
	entry_set(newfd, (struct fd_entry){ fd_table[oldfd].file, fd_table[oldfd].ino,
					    fd_table[oldfd].fmode, false });
}

static void put_dropped(struct sgx_file **drop)
{
	for (int i = 0; i < 2; i++)
		if (drop[i])
			sgx_file_put(drop[i]);
}

long fd_dup(int oldfd)
{
	return fd_dupfd(oldfd, F_DUPFD, 0);
}

long fd_dupfd(int oldfd, int cmd, long min)
{
	struct sgx_file *drop[2] = { NULL, NULL };
	uint64_t saved;
	long r;

	if (!fd_in_table(oldfd) || !entry_maybe_used(oldfd))
		return SYS_PASS;
	fd_lock(&saved);
	r = raw_syscall3(SYS_fcntl, oldfd, cmd, min);
	if (!raw_is_err(r))
		entry_copy(oldfd, r, drop);
	fd_unlock(&saved);
	put_dropped(drop);
	return r;
}

long fd_dup3(int oldfd, int newfd, int flags, bool dup2_semantics)
{
	struct sgx_file *drop[2] = { NULL, NULL };
	uint64_t saved;
	long r;

	if ((!fd_in_table(oldfd) || !entry_maybe_used(oldfd)) &&
	    (!fd_in_table(newfd) || !entry_maybe_used(newfd)))
		return SYS_PASS;
	fd_lock(&saved);
	if (oldfd != newfd)
		move_internal_away(newfd);
	r = dup2_semantics ? raw_syscall2(SYS_dup2, oldfd, newfd)
			   : raw_syscall3(SYS_dup3, oldfd, newfd, flags);
	if (!raw_is_err(r) && oldfd != newfd)
		entry_copy(oldfd, r, drop);
	fd_unlock(&saved);
	put_dropped(drop);
	return r;
}

long fd_close_range(unsigned first, unsigned last, unsigned flags)
{
	unsigned top = last < FD_MAX - 1 ? last : FD_MAX - 1;
	uint64_t saved;
	long r = 0;

	if (first > last)
		return -EINVAL;
	/* Device fds in the range lose their entries (one at a time: the put may release an
	 * enclave, which takes the driver lock, never under ours). */
	for (unsigned fd = first; !(flags & CLOSE_RANGE_CLOEXEC) && fd <= top; fd++) {
		struct sgx_file *f = NULL;

		if (!__atomic_load_n(&fd_table[fd].file, __ATOMIC_ACQUIRE))
			continue;
		fd_lock(&saved);
		f = entry_take(fd);
		fd_unlock(&saved);
		if (f)
			sgx_file_put(f);
	}
	/* Then close the pieces between our own fds. */
	fd_lock(&saved);
	for (unsigned a = first; r == 0;) {
		unsigned b = a;

		while (b <= top && !(fd_table[b].internal && fd_inode(b) == fd_table[b].ino))
			b++;
		if (b > top) {
			r = raw_syscall3(SYS_close_range, a, last, flags);
			break;
		}
		if (b > a)
			r = raw_syscall3(SYS_close_range, a, b - 1, flags);
		if (b == last)
			break;
		a = b + 1;
	}
	fd_unlock(&saved);
	return r;
}

void fd_make_internal(int *fdp)
{
	uint64_t saved;
	long hi = fd_to_range(*fdp, true);

	*fdp = (int)hi;
	if (!fd_in_table(hi))
		return;
	fd_lock(&saved);
	entry_set(hi, (struct fd_entry){ NULL, fd_inode(hi), 0, true });
	for (unsigned i = 0; i < sizeof(internal_slots) / sizeof(internal_slots[0]); i++) {
		if (!internal_slots[i] || internal_slots[i] == fdp) {
			internal_slots[i] = fdp;
			break;
		}
	}
	fd_unlock(&saved);
}

enum sgx_file_kind fd_device_of(const char *path)
{
	if (!path)
		return 0;
	if (!strcmp(path, "/dev/sgx_enclave") || !strcmp(path, "/dev/sgx/enclave"))
		return SGX_FILE_ENCLAVE;
	if (!strcmp(path, "/dev/sgx_provision") || !strcmp(path, "/dev/sgx/provision"))
		return SGX_FILE_PROVISION;
	if (!strcmp(path, "/dev/sgx_vepc"))
		return SGX_FILE_VEPC;
	return 0;
}
