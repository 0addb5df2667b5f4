/* A program that reaches the driver the way Gramine's loader does: bare SYSCALL instructions
 * in its own code for open, ioctl, mmap, close and dup, never libc (issue 10). sgxemu's
 * seccomp filter must bring every one of them to the emulated driver with the answers Linux
 * gives, and leave the program's other calls alone. (With SGXEMU_SYSCALL_FILTER=off these
 * tests fail: the raw open finds no /dev/sgx_enclave.) */
#include "tests/integ/integ.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>

#include "tests/lib/rawcall.h"

static const struct encl_sys raw_sys = { raw_open, raw_close, raw_ioctl, raw_mmap, raw_munmap };

/* The whole build (open, reserve, ECREATE, EADD, EINIT, mmap) and ecalls, without libc. */
static void build_and_call_with_bare_syscalls(void **state)
{
	struct encl E;
	uint64_t scratch;

	(void)state;
	integ_need_filter();
	encl_sys = raw_sys;
	memset(&E, 0, sizeof(E));
	E.fd = -1;
	integ_build(&E, 0);
	scratch = integ_scratch(&E);
	integ_write(&E, 0, scratch, 0x5eed);
	assert_int_equal(integ_read(&E, 1, scratch), 0x5eed);
	/* The device fd sits in the range the filter recognises. */
	assert_true(E.fd >= 768 && E.fd <= 1023);
	encl_free(&E);
}

/* Errors come from the driver (the kernel's errno for each case), not from /dev/null or
 * ENOENT: the calls reached it. */
static void bare_ioctl_and_mmap_errors(void **state)
{
	struct sgx_enclave_init init = { 0 };
	long fd = rawcall(SYS_open, "/dev/sgx_enclave", O_RDWR | O_CLOEXEC, 0);
	long nul = rawcall(SYS_open, "/dev/null", O_RDWR, 0);

	(void)state;
	integ_need_filter();
	assert_true(fd >= 0);
	assert_true(nul >= 0);
	/* INIT before CREATE: EINVAL; a bad pointer: EFAULT only once the state allows. */
	assert_int_equal(rawcall(SYS_ioctl, fd, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	assert_int_equal(rawcall(SYS_ioctl, fd, SGX_IOC_ENCLAVE_CREATE, 8), -EFAULT);
	/* An SGX command the driver does not have: ENOTTY. */
	assert_int_equal(rawcall(SYS_ioctl, fd, _IO(0xA4, 0x7f), 0), -ENOTTY);
	/* The same command on an ordinary fd is the kernel's business. */
	assert_int_equal(rawcall(SYS_ioctl, nul, SGX_IOC_ENCLAVE_INIT, &init), -ENOTTY);
	/* The upper half of the 64-bit argument is not part of the command. */
	assert_int_equal(rawcall(SYS_ioctl, fd, 0xdead000000000000UL | SGX_IOC_ENCLAVE_INIT, &init),
			 -EINVAL);
	/* The driver's mmap rules: private mappings are refused. */
	assert_int_equal(rawcall6(SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, fd, 0), -EINVAL);
	assert_int_equal(rawcall(SYS_close, fd, 0, 0), 0);
	assert_int_equal(rawcall(SYS_ioctl, fd, SGX_IOC_ENCLAVE_INIT, &init), -EBADF);
	rawcall(SYS_close, nul, 0, 0);
}

/* dup, dup2, dup3 and F_DUPFD of a device fd give fds that reach the same enclave; closing
 * one leaves the other working, as with any file. */
static void bare_dup_family(void **state)
{
	struct sgx_enclave_init init = { 0 };
	long fd = rawcall(SYS_open, "/dev/sgx_enclave", O_RDWR, 0), d1, d2, d3, d4;

	(void)state;
	integ_need_filter();
	assert_true(fd >= 0);
	d1 = rawcall(SYS_dup, fd, 0, 0);
	d2 = rawcall(SYS_dup2, fd, 900, 0);
	d3 = rawcall(SYS_dup3, fd, 901, O_CLOEXEC);
	d4 = rawcall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 950);
	assert_true(d1 >= 0);
	assert_int_equal(d2, 900);
	assert_int_equal(d3, 901);
	assert_true(d4 >= 950);
	assert_int_equal(rawcall(SYS_close, fd, 0, 0), 0);
	assert_int_equal(rawcall(SYS_ioctl, d1, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	assert_int_equal(rawcall(SYS_ioctl, d2, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	assert_int_equal(rawcall(SYS_ioctl, d3, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	assert_int_equal(rawcall(SYS_ioctl, d4, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	/* dup2 of an ordinary file over a device fd: that number is no device any more. */
	assert_int_equal(rawcall(SYS_dup2, 0, d2, 0), d2);
	assert_int_equal(rawcall(SYS_ioctl, d2, SGX_IOC_ENCLAVE_INIT, &init), -ENOTTY);
	rawcall(SYS_close, d1, 0, 0);
	rawcall(SYS_close, d2, 0, 0);
	rawcall(SYS_close, d3, 0, 0);
	rawcall(SYS_close, d4, 0, 0);
}

/* openat and openat2 reach the device too; O_RDONLY opens through libc as well. */
static void bare_openat_openat2(void **state)
{
	struct sgx_enclave_init init = { 0 };
	struct open_how how = { .flags = O_RDWR | O_CLOEXEC };
	long a = rawcall6(SYS_openat, AT_FDCWD, (long)"/dev/sgx/enclave", O_RDWR, 0, 0, 0);
	long b = rawcall6(SYS_openat2, AT_FDCWD, (long)"/dev/sgx_enclave", (long)&how, sizeof(how), 0, 0);
	int c = open("/dev/sgx_enclave", O_RDONLY);

	(void)state;
	integ_need_filter();
	assert_true(a >= 0);
	assert_true(b >= 0);
	assert_true(c >= 0);
	assert_int_equal(rawcall(SYS_ioctl, a, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	assert_int_equal(rawcall(SYS_ioctl, b, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	assert_int_equal(rawcall(SYS_ioctl, c, SGX_IOC_ENCLAVE_INIT, &init), -EINVAL);
	/* The access mode of the open is the fd's own. */
	assert_int_equal(fcntl(c, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(fcntl((int)a, F_GETFL) & O_ACCMODE, O_RDWR);
	rawcall(SYS_close, a, 0, 0);
	rawcall(SYS_close, b, 0, 0);
	close(c);
}

/* The fd behind the emulated EPC: found by its name in /proc/self/fd. */
static int epc_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char link[300], target[256];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			if (strstr(target, "sgxemu-epc"))
				found = atoi(de->d_name);
		}
	}
	closedir(d);
	return found;
}

/* A program that closes every fd it does not know (daemons, spawn helpers) does not take
 * sgxemu's own with them: its enclaves keep working, and the device fds it closed are gone. */
static void closing_everything_spares_the_emulator(void **state)
{
	struct encl E;
	uint64_t scratch;
	int efd, keep;
	struct sgx_enclave_init init = { 0 };

	(void)state;
	integ_need_filter();
	encl_sys = raw_sys;
	memset(&E, 0, sizeof(E));
	E.fd = -1;
	integ_build(&E, 0);
	scratch = integ_scratch(&E);
	efd = epc_fd();
	assert_true(efd >= 0);
	/* The program cannot close it or dup over it. */
	assert_int_equal(rawcall(SYS_close, efd, 0, 0), -EBADF);
	assert_int_equal(close(efd), -1);
	assert_int_equal(errno, EBADF);
	keep = dup(1);
	assert_int_equal(rawcall(SYS_dup2, keep, efd, 0), efd);
	rawcall(SYS_close, efd, 0, 0);
	/* Close everything above stderr, our fds included, as far as the program knows. */
	assert_int_equal(rawcall(SYS_close_range, 3, ~0U, 0), 0);
	assert_int_equal(rawcall(SYS_ioctl, E.fd, SGX_IOC_ENCLAVE_INIT, &init), -EBADF);
	E.fd = -1;
	/* Enclave memory lives on; new pages still need the EPC fd (a fresh page's mapping). */
	integ_write(&E, 0, scratch, 77);
	assert_int_equal(integ_read(&E, 1, scratch), 77);
	assert_true(epc_fd() >= 0);
	encl_free(&E);
	/* And a new enclave can be built. */
	memset(&E, 0, sizeof(E));
	E.fd = -1;
	integ_build(&E, 0);
	integ_write(&E, 0, integ_scratch(&E), 78);
	assert_int_equal(integ_read(&E, 1, integ_scratch(&E)), 78);
	encl_free(&E);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_and_call_with_bare_syscalls),
		cmocka_unit_test(bare_ioctl_and_mmap_errors),
		cmocka_unit_test(bare_dup_family),
		cmocka_unit_test(bare_openat_openat2),
		cmocka_unit_test(closing_everything_spares_the_emulator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
