/* What the process's mappings say about an ADD_PAGES source (the driver's src_vma): the
 * first mapping that ends above the address, as the kernel's find_vma picks it; whether a
 * file behind it sits on a noexec mount (then it has no VM_MAYEXEC); whether it is anonymous
 * or writable (for the administrator's policy). Reads /proc/self/maps line by line and stops
 * at the mapping; the driver reuses the answer for the following pages of one ADD_PAGES.
 * Runs in ioctls, never in a trap path. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "host/host.h"

/* Shared memory without a file of its own: the policy counts it as anonymous. */
static bool anonymous_path(const char *path, unsigned long inode)
{
	static const char *const prefixes[] = { "/memfd:", "/dev/zero", "/SYSV", "/anon_hugepage" };

	if (inode == 0 || !*path || *path == '[')
		return true;
	for (unsigned i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* ST_NOEXEC of the mount the mapped file lives on: 1 noexec, 0 not, -1 unknown. */
static int noexec_mount(uint64_t start, uint64_t end, char *path)
{
	static const char deleted[] = " (deleted)";
	struct statvfs st;
	char link[64];
	size_t n = strlen(path);
	int fd;

	if (statvfs(path, &st) == 0)
		return (st.f_flag & ST_NOEXEC) != 0;
	/* A deleted file: through the mapping itself (needs privilege), else its directory. */
	snprintf(link, sizeof(link), "/proc/self/map_files/%" PRIx64 "-%" PRIx64, start, end);
	fd = open(link, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		int r = fstatvfs(fd, &st);

		close(fd);
		if (r == 0)
			return (st.f_flag & ST_NOEXEC) != 0;
	}
	if (n > sizeof(deleted) - 1 && !strcmp(path + n - (sizeof(deleted) - 1), deleted))
		path[n - (sizeof(deleted) - 1)] = 0;
	{
		char *slash = strrchr(path, '/');

		if (slash && slash != path) {
			*slash = 0;
			if (statvfs(path, &st) == 0)
				return (st.f_flag & ST_NOEXEC) != 0;
		}
	}
	return -1;
}

int maps_src_vma(uint64_t addr, struct drv_src_vma *out)
{
	FILE *fp = fopen("/proc/self/maps", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -EFAULT;

	if (!fp)
		return -errno;
	while (getline(&line, &cap, fp) > 0) {
		unsigned long start, end, off, inode;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		char *path;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &start, &end, perms, &off, &maj, &min,
			   &inode, &pos) < 7 || end <= addr)
			continue;
		path = line + pos;
		path[strcspn(path, "\n")] = 0;
		out->start = start;
		out->end = end;
		out->writable = perms[1] == 'w';
		out->anonymous = anonymous_path(path, inode);
		/* Anonymous memory always has VM_MAYEXEC; an unknown mount counts as exec. */
		out->may_exec = out->anonymous || noexec_mount(start, end, path) != 1;
		r = 0;
		break;
	}
	free(line);
	fclose(fp);
	return r;
}
