/* Which file descriptors are SGX device files (host/fd.c). Each open of a device is a real
 * file of its own (an empty memfd, reopened with the open's access mode), so close, dup, poll
 * and fcntl work on it and its inode tells it apart from whatever may later reuse the number.
 * Device fds and sgxemu's own fds live in a reserved range near the top of the usual
 * RLIMIT_NOFILE, where the seccomp filter can recognise them by number. */
#ifndef SGXEMU_HOST_FD_H
#define SGXEMU_HOST_FD_H

#include <stdbool.h>
#include <stdint.h>

#include "driver/driver.h"

#define FD_RESERVED_LO 768
#define FD_RESERVED_HI 1023

/* The access the open asked for, as the kernel's FMODE_READ/FMODE_WRITE. */
#define FD_MODE_READ 1U
#define FD_MODE_WRITE 2U

/* The device file behind fd with a reference the caller must drop with sgx_file_put, and its
 * access mode; NULL if fd is not one of ours (any more). Not for signal handlers. */
struct sgx_file *fd_get(int fd, unsigned *fmode);

/* Open a device of kind with the open(2) flags: a new fd, or -errno. */
long fd_open_device(enum sgx_file_kind kind, int flags);
/* close(2), dup(2), dup2(2)/dup3(2) and fcntl F_DUPFD/F_DUPFD_CLOEXEC, atomically with
 * respect to our table; SYS_PASS (host/sys.h) when no fd involved is in it. */
long fd_close(int fd);
long fd_dup(int oldfd);
long fd_dup3(int oldfd, int newfd, int flags, bool dup2_semantics);
long fd_dupfd(int oldfd, int cmd, long min);
/* close_range(2), sparing sgxemu's own fds. */
long fd_close_range(unsigned first, unsigned last, unsigned flags);

/* Move one of sgxemu's own fds (EPC memfd, trace file) into the reserved range and hide it
 * from the program: closing it is EBADF, dup2 over it moves it away first, updating *fdp
 * (which its owner reads each time it uses the fd). */
void fd_make_internal(int *fdp);
bool fd_is_internal(int fd);

/* fork: the forking thread holds the table's lock across it (host_fork_*). */
void fd_fork_prepare(void);
void fd_fork_parent(void);
void fd_fork_child(void);

/* The device a path names (with the /dev/sgx/ aliases), 0 if none. */
enum sgx_file_kind fd_device_of(const char *path);

#endif
