/* Where status files live, and which of them are left over (shared by the preload and
 * `sgxemu stat`). */
#include "util/stat_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "include/sgxemu_stat.h"

void sgxemu_stat_dir(char *buf, size_t len)
{
	const char *d = getenv("SGXEMU_STAT_DIR"), *rt = getenv("XDG_RUNTIME_DIR");

	if (d && *d)
		snprintf(buf, len, "%s", d);
	else if (rt && *rt)
		snprintf(buf, len, "%s/sgxemu", rt);
	else
		snprintf(buf, len, "/tmp/sgxemu-%u", (unsigned)getuid());
}

uint64_t sgxemu_proc_start_time(int pid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) state ppid ...": comm may hold anything; the fields after the last ')'
	 * are 3 onwards, and the start time is field 22. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

bool sgxemu_stat_stale(const char *path, int pid)
{
	struct sgxemu_stat st;
	uint64_t started;
	ssize_t n;
	int fd;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, &st, sizeof(st));
	close(fd);
	if (n != (ssize_t)sizeof(st) || st.magic != SGXEMU_STAT_MAGIC ||
	    st.version != SGXEMU_STAT_VERSION || st.pid != pid || !st.start_time)
		return false;
	started = sgxemu_proc_start_time(pid);
	return started && started != st.start_time;
}

void sgxemu_stat_clean(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	while (dp && (d = readdir(dp))) {
		int pid = atoi(d->d_name);
		const char *dot = strchr(d->d_name, '.');

		if (pid <= 0 || !dot || strcmp(dot, ".stat"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (sgxemu_stat_stale(path, pid))
			unlink(path);
	}
	if (dp)
		closedir(dp);
}
