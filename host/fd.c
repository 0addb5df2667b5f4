/* Which file descriptors are SGX device files. A table indexed by fd number holds our file
 * objects; the fds themselves are real (opened on /dev/null) so close/dup/poll work. */
#include <stdatomic.h>
#include <string.h>

#include "host/host.h"

#define FD_MAX 65536

static _Atomic(struct sgx_file *) fd_table[FD_MAX];

struct sgx_file *fd_lookup(int fd)
{
	if (fd < 0 || fd >= FD_MAX)
		return NULL;
	return atomic_load(&fd_table[fd]);
}

int fd_install(int fd, struct sgx_file *f)
{
	struct sgx_file *old;

	if (fd < 0 || fd >= FD_MAX)
		return -1;
	old = atomic_exchange(&fd_table[fd], f);
	if (old)
		sgx_file_put(old);
	return 0;
}

void fd_forget(int fd)
{
	struct sgx_file *old;

	if (fd < 0 || fd >= FD_MAX)
		return;
	old = atomic_exchange(&fd_table[fd], NULL);
	if (old)
		sgx_file_put(old);
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
