/* The status file `sgxemu stat` reads: PID.stat in the stat directory, a shared mapping of
 * struct sgxemu_stat that the driver updates in place. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"
#include "include/sgxemu_stat.h"
#include "util/stat_dir.h"

static char stat_path[PATH_MAX];
static struct sgxemu_stat *stat_map;

void stat_file_remove(void)
{
	/* The mapping stays: other threads may still be publishing while the process exits. */
	if (stat_path[0])
		unlink(stat_path);
	stat_path[0] = 0;
}

void stat_file_forget(void)
{
	/* In a forked child: the file and its mapping are the parent's. */
	stat_path[0] = 0;
	gdb_stat_image(NULL);
	if (stat_map)
		munmap(stat_map, sizeof(*stat_map));
	stat_map = NULL;
}

bool stat_file_exists(void)
{
	return stat_path[0];
}

/* Best effort: a process that cannot write its status file still runs. Files that processes
 * killed before they could remove theirs left behind go first. */
void stat_file_create(void)
{
	char dir[PATH_MAX - 32];
	struct timespec now;
	int fd;
	void *p;

	sgxemu_stat_dir(dir, sizeof(dir));
	mkdir(dir, 0700);
	sgxemu_stat_clean(dir);
	snprintf(stat_path, sizeof(stat_path), "%s/%d.stat", dir, (int)getpid());
	fd = open(stat_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(struct sgxemu_stat))) {
		if (fd >= 0)
			close(fd);
		stat_path[0] = 0;
		return;
	}
	p = mmap(NULL, sizeof(struct sgxemu_stat), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		unlink(stat_path);
		stat_path[0] = 0;
		return;
	}
	stat_map = p;
	stat_map->magic = SGXEMU_STAT_MAGIC;
	stat_map->version = SGXEMU_STAT_VERSION;
	stat_map->pid = (int32_t)getpid();
	stat_map->ppid = (int32_t)getppid();
	prctl(PR_GET_NAME, stat_map->comm, 0, 0, 0);
	stat_map->comm[sizeof(stat_map->comm) - 1] = 0;
	if (!clock_gettime(CLOCK_MONOTONIC, &now))
		stat_map->start_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	stat_map->start_time = sgxemu_proc_start_time(getpid());
	sgx_stat_attach(stat_map);
	gdb_stat_image(stat_map);
}

__attribute__((destructor)) static void stat_at_exit(void)
{
	stat_file_remove();
}
