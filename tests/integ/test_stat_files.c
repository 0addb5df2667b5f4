/* Status files left behind: a process killed (or a forked child that used SGX and left with
 * _exit) cannot remove its PID.stat. `sgxemu stat` and the emulator's start remove such
 * files: those whose process is gone, and those whose pid now belongs to another process
 * (the start time recorded in the file differs). Files of running processes stay, and a
 * forked child that never uses SGX makes none. Each test works in a directory of its own. */
#include "tests/integ/integ_sgx2.h"

#include <limits.h>
#include <sys/stat.h>

static char dir[] = "/tmp/sgxemu-stat-test-XXXXXX";
static char sgxemu[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/sgxemu-stat-test-XXXXXX");
	if (!mkdtemp(dir) || !encl_path_near_exe("../../sgxemu", sgxemu, sizeof(sgxemu)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void path_of(int pid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%d.stat", dir, pid);
}

/* A status file for pid claiming start time start (bad: not a status file at all). */
static void plant(int pid, uint64_t start, bool bad)
{
	struct sgxemu_stat st;
	char path[PATH_MAX];
	int fd;

	memset(&st, 0, sizeof(st));
	st.magic = bad ? 0x12345678 : SGXEMU_STAT_MAGIC;
	st.version = SGXEMU_STAT_VERSION;
	st.pid = pid;
	st.start_time = start;
	path_of(pid, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &st, sizeof(st)), (ssize_t)sizeof(st));
	close(fd);
}

static bool present(int pid)
{
	char path[PATH_MAX];

	path_of(pid, path, sizeof(path));
	return access(path, F_OK) == 0;
}

static int dead_pid(void)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

/* Run `sgxemu ARGS...` with the test's directory; returns its exit status. */
static int run_sgxemu(const char *a1, const char *a2, const char *a3)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		setenv("SGXEMU_STAT_DIR", dir, 1);
		execl(sgxemu, sgxemu, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The three kinds of left-over files, and two that stay: this process's (right start time)
 * and init's with no way to judge it (a file not of ours, pid alive). */
static void plant_all(int dead)
{
	plant(dead, 4242, false);                          /* process gone */
	plant(1, sgxemu_proc_start_time(1) + 1, false);     /* pid 1 is another process now */
	plant(dead + 1000000, 1, true);                     /* not a status file, pid gone */
	plant(getpid(), sgxemu_proc_start_time(getpid()), false);
}

static void stat_command_cleans(void **state)
{
	int dead = dead_pid();

	(void)state;
	plant_all(dead);
	assert_int_equal(run_sgxemu("stat", NULL, NULL), 0);
	assert_false(present(dead));
	assert_false(present(1));
	assert_false(present(dead + 1000000));
	assert_true(present(getpid()));
}

/* A program starting to use SGX under the emulator cleans up as well; its own file goes
 * when it exits normally. */
static void emulator_start_cleans(void **state)
{
	int dead = dead_pid();

	(void)state;
	plant_all(dead);
	/* This test binary again, told only to open the device and exit. */
	{
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		assert_true(n > 0);
		self[n] = 0;
		setenv("SGXEMU_TEST_OPEN_ONLY", "1", 1);
		assert_int_equal(run_sgxemu("run", "--", self), 0);
		unsetenv("SGXEMU_TEST_OPEN_ONLY");
	}
	assert_false(present(dead));
	assert_false(present(1));
	assert_false(present(dead + 1000000));
	assert_true(present(getpid()));
}

/* Forked children that do not use SGX make no status file (2,000 forks used to leave 2,000
 * files behind when the children left with _exit). */
static void forked_children_leave_none(void **state)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	DIR *d;
	struct dirent *ent;
	unsigned files = 0;

	(void)state;
	assert_true(n > 0);
	self[n] = 0;
	setenv("SGXEMU_TEST_FORK_ONLY", "1", 1);
	assert_int_equal(run_sgxemu("run", "--", self), 0);
	unsetenv("SGXEMU_TEST_FORK_ONLY");
	d = opendir(dir);
	assert_non_null(d);
	while ((ent = readdir(d)))
		files += ent->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stat_command_cleans, setup, teardown),
		cmocka_unit_test_setup_teardown(emulator_start_cleans, setup, teardown),
		cmocka_unit_test_setup_teardown(forked_children_leave_none, setup, teardown),
	};

	/* The helper modes of the program run by the tests above. */
	if (getenv("SGXEMU_TEST_OPEN_ONLY")) {
		int fd = open("/dev/sgx_enclave", O_RDWR);

		return fd < 0;
	}
	if (getenv("SGXEMU_TEST_FORK_ONLY")) {
		int fd = open("/dev/sgx_enclave", O_RDWR), status;

		if (fd < 0)
			return 1;
		for (int i = 0; i < 20; i++) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid < 0 || waitpid(pid, &status, 0) != pid)
				return 1;
		}
		/* The parent's own file goes at its exit; none of the children's may be left. */
		return 0;
	}
	return cmocka_run_group_tests_name("stat_files", tests, NULL, NULL);
}
