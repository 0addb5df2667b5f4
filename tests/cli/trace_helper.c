/* For the trace tests of tests/cli/test_cli.sh: ioctls of /dev/sgx_enclave that fail in
 * known ways, so the trace lines can be checked. Exit 0 if each failed as expected. */
#include <asm/sgx.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int expect(int fd, unsigned long cmd, void *arg, int err, const char *what)
{
	if (ioctl(fd, cmd, arg) != -1 || errno != err) {
		fprintf(stderr, "trace_helper: %s did not fail with errno %d\n", what, err);
		return 1;
	}
	return 0;
}

int main(void)
{
	struct sgx_enclave_init init = { .sigstruct = 0 };
	int fd = open("/dev/sgx_enclave", O_RDWR), bad = 0;

	if (fd < 0) {
		perror("trace_helper: /dev/sgx_enclave");
		return 1;
	}
	bad |= expect(fd, SGX_IOC_ENCLAVE_INIT, &init, EINVAL, "INIT before CREATE");
	bad |= expect(fd, SGX_IOC_ENCLAVE_CREATE, (void *)8, EFAULT, "CREATE with a bad pointer");
	bad |= expect(fd, _IO(SGX_MAGIC, 0x3f), NULL, ENOTTY, "an unknown ioctl");
	close(fd);
	return bad;
}
