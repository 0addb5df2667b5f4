/* What sgxemu costs a program's ordinary system calls (issue 10: goal <= 1.05x). The program
 * makes 1 M cheap calls through libc (getppid) and 1 M reads (64 bytes of /dev/zero), and
 * runs itself three ways: without sgxemu, under `sgxemu run` (the default "auto" filter
 * setting: this program makes no system calls of its own, so no filter) and under `sgxemu run`
 * with the seccomp filter forced on (what a program that does make its own pays). Prints
 * the median ns per call of each and the ratios to the first. Standalone: it must not link
 * code with SYSCALL instructions of its own, or "auto" would turn the filter on.
 *
 *   bench_syscalls SGXEMU          compare the three ways
 *   bench_syscalls --measure       one measurement, "getppid_ns read_ns" on stdout */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CALLS 1000000
#define RUNS 5

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

static int measure(void)
{
	double g[RUNS], r[RUNS];
	char buf[64];
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0)
		return 1;
	for (int k = 0; k < RUNS; k++) {
		double t = now_ns();

		for (int i = 0; i < CALLS; i++)
			(void)getppid();
		g[k] = (now_ns() - t) / CALLS;
		t = now_ns();
		for (int i = 0; i < CALLS; i++)
			if (read(fd, buf, sizeof(buf)) != sizeof(buf))
				return 1;
		r[k] = (now_ns() - t) / CALLS;
	}
	printf("%.1f %.1f\n", median(g, RUNS), median(r, RUNS));
	return 0;
}

/* Run argv and read its two numbers. */
static int run(char *const argv[], const char *filter, double out[2])
{
	int p[2], status;
	FILE *f;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if (filter)
			setenv("SGXEMU_SYSCALL_FILTER", filter, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	if (!f || fscanf(f, "%lf %lf", &out[0], &out[1]) != 2)
		out[0] = out[1] = -1;
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && out[0] > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;
	double native[2], autom[2], on[2];

	if (argc == 2 && !strcmp(argv[1], "--measure"))
		return measure();
	if (argc != 2) {
		fprintf(stderr, "usage: %s SGXEMU | --measure\n", argv[0]);
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	{
		char *plain[] = { self, (char *)"--measure", NULL };
		char *under[] = { argv[1], (char *)"run", (char *)"--", self, (char *)"--measure", NULL };

		if (run(plain, NULL, native) || run(under, "auto", autom) || run(under, "on", on)) {
			fprintf(stderr, "bench_syscalls: a measurement failed\n");
			return 1;
		}
	}
	printf("system calls through libc, 1 M each, median of %d runs (ns per call, ratio):\n", RUNS);
	printf("  %-40s %8s %8s %8s\n", "", "native", "auto", "filter");
	printf("  %-40s %8.1f %8.1f %8.1f   %.2fx  %.2fx\n", "getppid", native[0], autom[0], on[0],
	       autom[0] / native[0], on[0] / native[0]);
	printf("  %-40s %8.1f %8.1f %8.1f   %.2fx  %.2fx\n", "read 64 bytes of /dev/zero", native[1],
	       autom[1], on[1], autom[1] / native[1], on[1] / native[1]);
	return 0;
}
