/* sgxemu stat [PID]: EPC use of processes running under sgxemu, from their status files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "include/sgxemu_stat.h"
#include "tools/cmds.h"
#include "util/stat_dir.h"

static int show(const char *path, int pid)
{
	struct sgxemu_stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, &st, sizeof(st));
	close(fd);
	if (n != (ssize_t)sizeof(st) || st.magic != SGXEMU_STAT_MAGIC ||
	    st.version != SGXEMU_STAT_VERSION)
		return -1;
	printf("pid %d\n", pid);
	printf("  EPC total     %8llu KiB (%llu pages)\n",
	       (unsigned long long)st.epc_pages * 4, (unsigned long long)st.epc_pages);
	printf("  EPC free      %8llu KiB (%llu pages)\n",
	       (unsigned long long)st.free_pages * 4, (unsigned long long)st.free_pages);
	printf("  swapped out   %8llu pages (EWB)\n", (unsigned long long)st.swapped_out);
	printf("  swapped in    %8llu pages (ELDU)\n", (unsigned long long)st.swapped_in);
	printf("  enclaves      %8u\n", st.nr_enclaves);
	for (unsigned i = 0; i < SGXEMU_STAT_ENCLAVES; i++) {
		const struct sgxemu_stat_encl *e = &st.encl[i];

		if (!e->size)
			continue;
		printf("    0x%012llx  size %8llu KiB  in EPC %8llu KiB  swapped %8llu KiB\n",
		       (unsigned long long)e->base, (unsigned long long)e->size >> 10,
		       (unsigned long long)e->resident_pages * 4,
		       (unsigned long long)e->swapped_pages * 4);
	}
	return 0;
}

int cmd_stat(int argc, char **argv, int i)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	int want = 0, shown = 0;
	struct dirent *d;
	DIR *dp;

	if (i < argc) {
		char *end;

		want = (int)strtol(argv[i], &end, 10);
		if (*end || want <= 0 || i + 1 < argc) {
			fprintf(stderr, "sgxemu: usage: sgxemu stat [PID]\n");
			return 2;
		}
	}
	sgxemu_stat_dir(dir, sizeof(dir));
	dp = opendir(dir);
	if (!dp) {
		if (want) {
			fprintf(stderr, "sgxemu: no process %d runs under sgxemu\n", want);
			return 1;
		}
		printf("no process runs under sgxemu\n");
		return 0;
	}
	while ((d = readdir(dp))) {
		int pid = atoi(d->d_name);
		const char *dot = strchr(d->d_name, '.');

		if (pid <= 0 || !dot || strcmp(dot, ".stat") || (want && pid != want))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		/* A process that died without cleaning up leaves its file behind; its pid may
		 * even be another process's by now. */
		if (sgxemu_stat_stale(path, pid)) {
			unlink(path);
			continue;
		}
		if (!show(path, pid))
			shown++;
	}
	closedir(dp);
	if (!shown) {
		if (want) {
			fprintf(stderr, "sgxemu: no process %d runs under sgxemu\n", want);
			return 1;
		}
		printf("no process runs under sgxemu\n");
	}
	return 0;
}
