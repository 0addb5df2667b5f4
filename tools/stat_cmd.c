/* sgxemu stat [--watch [SECONDS]] [--count N] [PID]: EPC use and paging of the processes
 * running under sgxemu, from their status files (include/sgxemu_stat.h), children below their
 * parent; with --watch, again every SECONDS, with rates over the interval. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "include/sgxemu_stat.h"
#include "tools/cmds.h"
#include "util/stat_dir.h"

#define MAX_PROCS 4096
#define MAX_DEPTH 64

struct proc {
	int pid, parent;          /* parent: the nearest ancestor with a status file, or 0 */
	char comm[17];
	struct sgxemu_stat st;
	unsigned version;
	double rate_out, rate_in; /* EWB and ELDU pages per second; < 0 when unknown */
	bool shown;
};

/* Counters of the previous sample, for rates under --watch. */
struct prev {
	int pid;
	uint64_t out, in;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The parent of pid and its command name from /proc; -1 if it has gone. */
static int proc_info(int pid, char *comm, size_t len)
{
	char path[64], buf[512], *close_paren;
	int fd, ppid = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return -1;
	if (comm) {
		char *open_paren = strchr(buf, '(');
		size_t l = open_paren ? (size_t)(close_paren - open_paren - 1) : 0;

		snprintf(comm, len, "%.*s", (int)l, open_paren ? open_paren + 1 : "");
	}
	return ppid;
}

/* A status file of a process that died without removing it (killed, crashed) is stale; its
 * pid may even be another process's by now. */
static bool stale(int pid, const char *path)
{
	if (!sgxemu_stat_stale(path, pid))
		return false;
	unlink(path);
	return true;
}

/* Read a status file of version 1 or 2. 0, or -1 if it is not one we can read. */
static int read_stat(const char *path, struct proc *p)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&p->st, 0, sizeof(p->st));
	n = pread(fd, &p->st, sizeof(p->st), 0);
	close(fd);
	if (n < (ssize_t)SGXEMU_STAT_V1_SIZE || p->st.magic != SGXEMU_STAT_MAGIC)
		return -1;
	p->version = p->st.version;
	if (p->version == 1) {
		memset((char *)&p->st + SGXEMU_STAT_V1_SIZE, 0, sizeof(p->st) - SGXEMU_STAT_V1_SIZE);
		return 0;
	}
	/* Newer versions only append: what we know of them is there. */
	if (p->version < 1 || n < (ssize_t)sizeof(p->st))
		return -1;
	return 0;
}

/* Every process with a status file; *n of them. */
static struct proc *collect(size_t *n)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct proc *ps = NULL;
	struct dirent *d;
	size_t cap = 0;
	DIR *dp;

	*n = 0;
	sgxemu_stat_dir(dir, sizeof(dir));
	dp = opendir(dir);
	if (!dp)
		return NULL;
	while ((d = readdir(dp)) && *n < MAX_PROCS) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		struct proc *p;

		if (pid <= 0 || pid > INT_MAX || strcmp(end, ".stat"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (stale((int)pid, path))
			continue;
		if (*n == cap) {
			struct proc *np = realloc(ps, (cap = cap ? 2 * cap : 16) * sizeof(*ps));

			if (!np)
				break;
			ps = np;
		}
		p = &ps[*n];
		memset(p, 0, sizeof(*p));
		p->pid = (int)pid;
		if (read_stat(path, p))
			continue;
		/* The live name wins (the program may have renamed itself); the file's otherwise. */
		if (proc_info(p->pid, p->comm, sizeof(p->comm)) < 0)
			snprintf(p->comm, sizeof(p->comm), "%.16s", p->st.comm);
		(*n)++;
	}
	closedir(dp);
	return ps;
}

static struct proc *find(struct proc *ps, size_t n, int pid)
{
	for (size_t i = 0; i < n; i++)
		if (ps[i].pid == pid)
			return &ps[i];
	return NULL;
}

/* Each process's nearest ancestor that has a status file too. */
static void link_parents(struct proc *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int a = proc_info(ps[i].pid, NULL, 0);

		/* Gone between the listing and now: the parent it was made by. */
		if (a < 0)
			a = ps[i].st.ppid;
		for (unsigned hop = 0; a > 1 && hop < MAX_DEPTH; hop++) {
			if (find(ps, n, a) && a != ps[i].pid) {
				ps[i].parent = a;
				break;
			}
			a = proc_info(a, NULL, 0);
		}
	}
}

/* Sizes as the eye takes them: 4K, 120K, 64M, 1.5G. */
static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	double v = (double)bytes / 1024;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (v < 10 && v != (double)(uint64_t)v)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

static void rate(double r, char *buf, size_t len)
{
	if (r < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f", r);
}

static void show(struct proc *ps, size_t n, struct proc *p, unsigned depth)
{
	char pidcol[32], used[16], total[16], ro[24], ri[24];

	if (p->shown || depth > MAX_DEPTH)
		return;
	p->shown = true;
	snprintf(pidcol, sizeof(pidcol), "%*s%d", (int)(2 * depth), "", p->pid);
	rate(p->rate_out, ro, sizeof(ro));
	rate(p->rate_in, ri, sizeof(ri));
	printf("%-10s %7d  %-16s %7s/%-6s %4u %9llu %9llu %8s %8s\n", pidcol, p->st.ppid ? p->st.ppid :
	       proc_info(p->pid, NULL, 0), p->comm,
	       human((p->st.epc_pages - p->st.free_pages) * 4096, used, sizeof(used)),
	       human(p->st.epc_pages * 4096, total, sizeof(total)), p->st.nr_enclaves,
	       (unsigned long long)p->st.swapped_out, (unsigned long long)p->st.swapped_in, ro, ri);
	for (unsigned i = 0; i < SGXEMU_STAT_ENCLAVES; i++) {
		const struct sgxemu_stat_encl *e = &p->st.encl[i];
		const struct sgxemu_stat_encl2 *e2 = &p->st.encl2[i];
		char size[16];

		if (!e->size)
			continue;
		printf("%*s enclave 0x%012llx size %-6s resident %llu  swapped %llu", (int)(2 * depth),
		       "", (unsigned long long)e->base, human(e->size, size, sizeof(size)),
		       (unsigned long long)e->resident_pages, (unsigned long long)e->swapped_pages);
		if (p->version >= 2)
			printf("  EDMM-added %llu%s%s", (unsigned long long)e2->eaug_pages,
			       (e2->flags & SGXEMU_STAT_ENCL_INITIALIZED) ? "  initialized" :
									    "  building",
			       (e2->flags & SGXEMU_STAT_ENCL_DEBUG) ? " debug" : "");
		printf("\n");
	}
	if (p->st.nr_enclaves > SGXEMU_STAT_ENCLAVES)
		printf("%*s (%u more enclaves not listed)\n", (int)(2 * depth), "",
		       p->st.nr_enclaves - SGXEMU_STAT_ENCLAVES);
	for (size_t i = 0; i < n; i++)
		if (ps[i].parent == p->pid)
			show(ps, n, &ps[i], depth + 1);
}

static int cmp_pid(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Whether p is want or one of its descendants (by the status-file tree). */
static bool under(struct proc *ps, size_t n, const struct proc *p, int want)
{
	for (unsigned hop = 0; p && hop <= MAX_DEPTH; hop++) {
		if (p->pid == want)
			return true;
		p = p->parent ? find(ps, n, p->parent) : NULL;
	}
	return false;
}

/* One sample: 0, or 1 if want was given and does not run under sgxemu. prev holds the
 * counters of the last sample (*nprev of them) and gets this sample's. */
static int sample(int want, struct prev **prev, size_t *nprev, double *prev_t)
{
	size_t n;
	struct proc *ps = collect(&n);
	double t = now_s();
	struct timespec mono;
	uint64_t now_ns;
	struct prev *np;
	bool any = false;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	now_ns = (uint64_t)mono.tv_sec * 1000000000ULL + (uint64_t)mono.tv_nsec;
	if (n)
		qsort(ps, n, sizeof(*ps), cmp_pid);
	link_parents(ps, n);
	for (size_t i = 0; i < n; i++) {
		struct proc *p = &ps[i];
		const struct prev *q = NULL;

		for (size_t k = 0; k < *nprev; k++)
			if ((*prev)[k].pid == p->pid)
				q = &(*prev)[k];
		p->rate_out = p->rate_in = -1;
		if (q && t > *prev_t && p->st.swapped_out >= q->out && p->st.swapped_in >= q->in) {
			p->rate_out = (double)(p->st.swapped_out - q->out) / (t - *prev_t);
			p->rate_in = (double)(p->st.swapped_in - q->in) / (t - *prev_t);
		} else if (p->version >= 2 && p->st.start_ns && now_ns > p->st.start_ns) {
			double age = (double)(now_ns - p->st.start_ns) / 1e9;

			p->rate_out = (double)p->st.swapped_out / age;
			p->rate_in = (double)p->st.swapped_in / age;
		}
		if (!want || under(ps, n, p, want))
			any = true;
	}
	if (any) {
		printf("%-10s %7s  %-16s %14s %4s %9s %9s %8s %8s\n", "PID", "PPID", "COMMAND",
		       "EPC used/total", "ENCL", "EWB", "ELDU", "EWB/s", "ELDU/s");
		for (size_t i = 0; i < n; i++)
			if (want ? ps[i].pid == want : !ps[i].parent)
				show(ps, n, &ps[i], 0);
	} else if (!want) {
		printf("no process runs under sgxemu\n");
	}
	np = realloc(*prev, (n ? n : 1) * sizeof(**prev));
	if (np) {
		*prev = np;
		for (size_t i = 0; i < n; i++)
			np[i] = (struct prev){ ps[i].pid, ps[i].st.swapped_out, ps[i].st.swapped_in };
		*nprev = n;
		*prev_t = t;
	}
	free(ps);
	return want && !any ? 1 : 0;
}

int cmd_stat(int argc, char **argv, int i)
{
	double interval = 0;
	long count = 0;
	int want = 0, rc;
	bool watch = false, tty = isatty(STDOUT_FILENO);
	struct prev *prev = NULL;
	size_t nprev = 0;
	double prev_t = 0;

	for (; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return cmd_help("stat");
		if (!strcmp(a, "--watch") || !strncmp(a, "--watch=", 8)) {
			const char *v = a[7] == '=' ? a + 8 : NULL;

			watch = true;
			interval = 2;
			/* A number right after --watch is its interval. */
			if (!v && i + 1 < argc) {
				strtod(argv[i + 1], &end);
				if (*argv[i + 1] && !*end)
					v = argv[++i];
			}
			if (v) {
				interval = strtod(v, &end);
				if (!*v || *end || !(interval >= 0.01 && interval <= 86400))
					return cmd_usage_error("stat", "--watch wants SECONDS from 0.01 to "
							       "86400, not '%s'", v);
			}
		} else if (!strcmp(a, "--count")) {
			if (i + 1 >= argc || (count = strtol(argv[i + 1], &end, 10)) <= 0 || *end)
				return cmd_usage_error("stat", "--count wants a positive number");
			i++;
		} else if (a[0] == '-') {
			return cmd_usage_error("stat", "unknown option '%s'", a);
		} else {
			long v = strtol(a, &end, 10);

			if (*end || v <= 0 || v > INT_MAX || want)
				return cmd_usage_error("stat", "bad argument '%s' (one PID)", a);
			want = (int)v;
		}
	}
	if (count && !watch)
		return cmd_usage_error("stat", "--count belongs to --watch");
	for (long k = 0;; k++) {
		if (watch) {
			time_t now = time(NULL);
			char when[32];

			strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
			if (tty)
				printf("\033[H\033[2J");
			printf("sgxemu stat: %s, every %gs%s\n", when, interval,
			       k ? "; rates over the last interval" : "; rates since each process started");
		}
		rc = sample(want, &prev, &nprev, &prev_t);
		if (rc) {
			if (k)
				printf("process %d has ended\n", want);
			else
				fprintf(stderr, "sgxemu: stat: no process %d runs under sgxemu\n", want);
			fflush(stdout);
			free(prev);
			return k ? 0 : 1;
		}
		if (fflush(stdout) || !watch || (count && k + 1 >= count))
			break;
		{
			struct timespec ts = { (time_t)interval,
					       (long)((interval - (double)(time_t)interval) * 1e9) };

			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
		if (!tty)
			printf("\n");
	}
	free(prev);
	return 0;
}
