/* The README's first command: build/demo/demo_host runs (under the same emulator as this
 * test, through the inherited environment) and prints what it should. */
#include "tests/integ/integ.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static char out[16384];

/* Run demo_host from another working directory; collect stdout+stderr; return the status. */
static int run_demo(const char *host)
{
	char *argv[] = { (char *)host, NULL };
	posix_spawn_file_actions_t fa;
	size_t n = 0;
	pid_t pid;
	int pipefd[2], status = -1;

	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	assert_int_equal(posix_spawn(&pid, host, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], out + n, sizeof(out) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void demo_output(void **state)
{
	char host[PATH_MAX], elf[PATH_MAX], line[200], hex[65];
	struct encl e;
	uint8_t mr[32];
	int status;

	(void)state;
	if (!encl_path_near_exe("../../demo/demo_host", host, sizeof(host)) ||
	    !encl_path_near_exe("../../demo/demo_encl.elf", elf, sizeof(elf)))
		fail_msg("cannot locate the demo");
	status = run_demo(host);
	/* Show what it printed, as TAP comments. */
	for (char *l = out, *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			nl = l + strlen(l) - 1;
		printf("# %.*s\n", (int)(nl - l + (*nl != '\n')), l);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("demo_host exited with status %#x:\n%s", status, out);

	/* The MRENCLAVE it prints is the one we compute from the same image. */
	if (encl_load(&e, elf, 0) < 0)
		fail_msg("%s", e.err);
	assert_int_equal(encl_measure(&e, mr), 0);
	snprintf(line, sizeof(line), "  MRENCLAVE %s\n", encl_hex(mr, 32, hex));
	encl_free(&e);
	assert_non_null(strstr(out, line));

	assert_non_null(strstr(out, "enclave built: 64 KiB at 0x"));
	assert_non_null(strstr(out, ", 2 TCS, "));
	assert_non_null(strstr(out, "\"Hello from inside the enclave! Greeting number 1.\""));
	assert_non_null(strstr(out, "(count, TCS 1): counter = 1\n"));
	assert_non_null(strstr(out, "(count, TCS 1): counter = 2\n"));
	assert_non_null(strstr(out, "(count, TCS 2): counter = 3\n"));
	assert_non_null(strstr(out, ": match\n"));
	assert_non_null(strstr(out, "(guess 1000): too low\n"));
	assert_non_null(strstr(out, "(guess 2000): too high\n"));
	assert_non_null(strstr(out, "(guess 1234): right\n"));
	assert_non_null(strstr(out, "refused, it can be set only once"));
	assert_non_null(strstr(out, "Greeting number 2."));
	assert_non_null(strstr(out, "demo: 11 ecalls, all returned what we expected\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(demo_output),
	};

	return cmocka_run_group_tests_name("demo", tests, NULL, NULL);
}
