/* The status file a process running under sgxemu keeps up to date, read by `sgxemu stat`.
 * It lives in $SGXEMU_STAT_DIR (default $XDG_RUNTIME_DIR/sgxemu or /tmp/sgxemu-UID) as
 * PID.stat, and is a plain memory image of this structure (updated in place, no locking:
 * a reader may see a torn snapshot of a counter pair, never garbage). A file whose process is
 * gone, or whose pid now names a process with another start time, is left over: `sgxemu
 * stat` and the emulator's start remove such files.
 *
 * Versions only add: version 2 appends fields after version 1's, whose layout stays, so a
 * reader of version N reads the first bytes it knows and checks `version` (a version 1
 * reader refuses a version 2 file; a version 2 reader takes a version 1 file's first
 * SGXEMU_STAT_V1_SIZE bytes). */
#ifndef SGXEMU_STAT_H
#define SGXEMU_STAT_H

#include <stddef.h>
#include <stdint.h>

#define SGXEMU_STAT_MAGIC 0x54534753U /* "SGST" */
#define SGXEMU_STAT_VERSION 2
#define SGXEMU_STAT_ENCLAVES 64

struct sgxemu_stat_encl {
	uint64_t base, size;      /* size 0: slot unused */
	uint64_t resident_pages;  /* enclave pages in the EPC (plus its SECS and VA pages) */
	uint64_t swapped_pages;   /* enclave pages in the backing store */
};

/* Version 2: more about the enclave in the same slot of encl[]. */
struct sgxemu_stat_encl2 {
	uint64_t eaug_pages;      /* pages EAUG added (EDMM) since the enclave was created */
	uint32_t flags;           /* SGXEMU_STAT_ENCL_* */
	uint32_t reserved;
};
#define SGXEMU_STAT_ENCL_INITIALIZED 0x1U /* EINIT done */
#define SGXEMU_STAT_ENCL_DEBUG       0x2U /* ATTRIBUTES.DEBUG */

struct sgxemu_stat {
	uint32_t magic, version;
	int32_t pid;
	uint32_t nr_enclaves;     /* enclaves alive (may exceed the table) */
	uint64_t epc_pages, free_pages;
	uint64_t swapped_out, swapped_in; /* pages written out (EWB) and read back (ELDU) */
	struct sgxemu_stat_encl encl[SGXEMU_STAT_ENCLAVES];
	/* Version 2. */
	int32_t ppid;             /* the parent when the file was made */
	uint32_t reserved;
	char comm[16];            /* the command name (as in /proc/PID/comm), NUL-terminated */
	uint64_t start_ns;        /* CLOCK_MONOTONIC when the file was made */
	struct sgxemu_stat_encl2 encl2[SGXEMU_STAT_ENCLAVES];
	uint64_t start_time;      /* the process's start (clock ticks after boot, /proc/PID/stat) */
};

#define SGXEMU_STAT_V1_SIZE offsetof(struct sgxemu_stat, ppid)
_Static_assert(SGXEMU_STAT_V1_SIZE == 48 + 32 * SGXEMU_STAT_ENCLAVES, "version 1 layout");

#endif
