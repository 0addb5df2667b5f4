/* Device files: open, close, dup, fcntl, ioctl and the stat/access probes, for the paths
 * /dev/sgx_enclave (and /dev/sgx/enclave), /dev/sgx_provision (/dev/sgx/provision) and
 * /dev/sgx_vepc. Everything that is not a device goes to the kernel unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <asm/sgx.h>

#include "host/fd.h"
#include "host/host.h"
#include "host/sys.h"
#include "host/tracer.h"
#include "host/uaccess.h"
#include "util/rawsys.h"
#include "util/trace.h"

/* The longest device path plus its NUL: longer strings are not devices. */
#define DEV_PATH_MAX 32

static enum sgx_file_kind device_at(uint64_t path)
{
	char buf[DEV_PATH_MAX];

	if (!host_active || host_copy_str(buf, path, sizeof(buf)) < 0)
		return 0;
	return fd_device_of(buf);
}

/* /dev/sgx_provision is root:GROUP with a configured mode (docs/keys.md); who may open it
 * is decided as the VFS decides for such a node, with the effective ids for open and the
 * real ones for access(2). */
static bool provision_permitted(int want, bool effective)
{
	gid_t gid = config_provision_gid(&host_cfg), *groups = NULL;
	bool in = (effective ? getegid() : getgid()) == gid;
	int n = in ? 0 : getgroups(0, NULL);

	if (n > 0 && (groups = malloc((size_t)n * sizeof(*groups)))) {
		n = getgroups(n, groups);
		for (int i = 0; i < n && !in; i++)
			in = groups[i] == gid;
		free(groups);
	}
	return config_provision_access(&host_cfg, effective ? geteuid() : getuid(), in, want);
}

static int open_want(int flags)
{
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return W_OK;
	case O_RDWR:
		return R_OK | W_OK;
	default:
		return R_OK;
	}
}

static const char *device_name(enum sgx_file_kind k)
{
	return k == SGX_FILE_ENCLAVE ? "/dev/sgx_enclave" :
	       k == SGX_FILE_VEPC    ? "/dev/sgx_vepc" :
				       "/dev/sgx_provision";
}

static long dev_open(enum sgx_file_kind kind, int flags)
{
	long fd;
	int r;

	if (kind == SGX_FILE_PROVISION && !provision_permitted(open_want(flags), true)) {
		TRACEC(TRACE_IOCTL, "open /dev/sgx_provision: EACCES (mode %03o, group %s)",
		      host_cfg.provision_mode, host_cfg.provision_group);
		return -EACCES;
	}
	r = mem_platform_up();
	if (r)
		return r;
	fd = fd_open_device(kind, flags);
	TRACEC(TRACE_IOCTL, "open %s -> %ld", device_name(kind), fd);
	return fd;
}

long sys_openat(int dirfd, uint64_t path, int flags, unsigned mode)
{
	/* The device paths we answer are absolute: dirfd does not matter for them. */
	enum sgx_file_kind k = device_at(path);

	(void)dirfd;
	(void)mode;
	return k ? dev_open(k, flags) : SYS_PASS;
}

long sys_open_path(const char *path, int flags)
{
	/* Cheap refusal first: most opens are of other files. */
	enum sgx_file_kind k = host_active && path && !strncmp(path, "/dev/sgx", 8) ?
				       fd_device_of(path) : 0;

	return k ? dev_open(k, flags) : SYS_PASS;
}

long sys_openat2(int dirfd, uint64_t path, uint64_t how, uint64_t size)
{
	struct {
		uint64_t flags, mode, resolve;
	} h;
	enum sgx_file_kind k = device_at(path);

	(void)dirfd;
	if (k && size >= sizeof(h) && !host_copy_in(&h, how, sizeof(h)))
		return dev_open(k, (int)h.flags);
	return SYS_PASS;
}

long sys_close(int fd)
{
	return fd_close(fd);
}

long sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return fd_close_range(first, last, flags);
}

long sys_dup(int fd)
{
	return fd_dup(fd);
}

long sys_dup2(int oldfd, int newfd)
{
	return fd_dup3(oldfd, newfd, 0, true);
}

long sys_dup3(int oldfd, int newfd, int flags)
{
	return fd_dup3(oldfd, newfd, flags, false);
}

long sys_fcntl(int fd, int cmd, unsigned long arg)
{
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return fd_dupfd(fd, cmd, (long)arg);
	return SYS_PASS;
}

/* For SGX_IOC_ENCLAVE_PROVISION: which file an fd names. The reference is dropped at once:
 * the driver only looks at it under its lock, which a last put waits for before freeing. */
static struct sgx_file *provision_lookup(int fd)
{
	struct sgx_file *f = fd_get(fd, NULL);

	if (f)
		sgx_file_put(f);
	return f;
}

long sys_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	struct sgx_file *f;
	uint64_t t0;
	long r;

	/* The VFS answers these before any driver sees them (the fd itself is real).
	 * The command is 32 bits for them too. */
	if ((unsigned int)cmd == FIOCLEX || (unsigned int)cmd == FIONCLEX ||
	    (unsigned int)cmd == FIONBIO || (unsigned int)cmd == FIOASYNC)
		return SYS_PASS;
	f = fd_get(fd, NULL);
	if (!f)
		return SYS_PASS;
	/* The command is 32 bits: the kernel ignores the upper half of the argument. */
	t0 = HOST_TRACE_IOCTL_T0();
	r = sgx_ioctl(f, (unsigned int)cmd, arg, provision_lookup);
	if (t0)
		host_trace_ioctl(fd, (unsigned int)cmd, arg, r, t0);
	sgx_file_put(f);
	if (r == 0 && (unsigned int)cmd == SGX_IOC_ENCLAVE_INIT)
		gdb_enclave_changed();
	return r;
}

/* The device nodes look like character devices to programs that probe for SGX. */
int sys_dev_stat(const char *path, struct stat *st, long *ret)
{
	enum sgx_file_kind k = host_active ? fd_device_of(path) : 0;

	if (!k)
		return 0;
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | (k == SGX_FILE_PROVISION ? host_cfg.provision_mode : 0666);
	if (k == SGX_FILE_PROVISION)
		st->st_gid = config_provision_gid(&host_cfg);
	st->st_rdev = makedev(10, k == SGX_FILE_ENCLAVE ? 125 : k == SGX_FILE_PROVISION ? 126 : 127);
	st->st_nlink = 1;
	st->st_blksize = 4096;
	st->st_dev = makedev(0, 5);
	st->st_ino = 1000 + (ino_t)k;
	*ret = 0;
	return 1;
}

int sys_dev_access(const char *path, int mode, int flags, long *ret)
{
	enum sgx_file_kind k = host_active ? fd_device_of(path) : 0;

	if (!k)
		return 0;
	*ret = 0;
	if (mode & X_OK)
		*ret = -EACCES;
	else if (k == SGX_FILE_PROVISION && (mode & (R_OK | W_OK)) &&
		 !provision_permitted(mode, flags & AT_EACCESS))
		*ret = -EACCES;
	return 1;
}
