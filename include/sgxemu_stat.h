/* The status file a process running under sgxemu keeps up to date, read by `sgxemu stat`.
 * It lives in $SGXEMU_STAT_DIR (default $XDG_RUNTIME_DIR/sgxemu or /tmp/sgxemu-UID) as
 * PID.stat, and is a plain memory image of this structure (updated in place, no locking:
 * a reader may see a torn snapshot of a counter pair, never garbage). A file whose process is
 * gone, or whose pid now names a process with another start time, is left over: `sgxemu
 * stat` and the emulator's start remove such files. */
#ifndef SGXEMU_STAT_H
#define SGXEMU_STAT_H

#include <stdint.h>

#define SGXEMU_STAT_MAGIC 0x54534753U /* "SGST" */
#define SGXEMU_STAT_VERSION 2
#define SGXEMU_STAT_ENCLAVES 64

struct sgxemu_stat_encl {
	uint64_t base, size;      /* size 0: slot unused */
	uint64_t resident_pages;  /* enclave pages in the EPC (plus its SECS and VA pages) */
	uint64_t swapped_pages;   /* enclave pages in the backing store */
};

struct sgxemu_stat {
	uint32_t magic, version;
	int32_t pid;
	uint32_t nr_enclaves;     /* enclaves alive (may exceed the table) */
	uint64_t epc_pages, free_pages;
	uint64_t swapped_out, swapped_in; /* pages written out (EWB) and read back (ELDU) */
	struct sgxemu_stat_encl encl[SGXEMU_STAT_ENCLAVES];
	uint64_t start_time;      /* the process's start (clock ticks after boot, /proc/PID/stat) */
};

#endif
