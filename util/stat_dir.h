#ifndef SGXEMU_UTIL_STAT_DIR_H
#define SGXEMU_UTIL_STAT_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* $SGXEMU_STAT_DIR, else $XDG_RUNTIME_DIR/sgxemu, else /tmp/sgxemu-UID. */
void sgxemu_stat_dir(char *buf, size_t len);

/* When process pid started (clock ticks after boot, /proc/PID/stat), 0 if unknown. */
uint64_t sgxemu_proc_start_time(int pid);
/* Whether the status file at path, named for pid, is left over: its process is gone, or the
 * pid now belongs to another process (the start time the file records differs). A file
 * that cannot be read whole (being written) is not judged while its pid lives. */
bool sgxemu_stat_stale(const char *path, int pid);
/* Remove the stale PID.stat files of dir (best effort). */
void sgxemu_stat_clean(const char *dir);

#endif
