/* Subcommands of the sgxemu CLI: each gets argv and the index of its first argument. */
#ifndef SGXEMU_TOOLS_CMDS_H
#define SGXEMU_TOOLS_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cmd_stat(int argc, char **argv, int i);      /* stat_cmd.c */
int cmd_measure(int argc, char **argv, int i);   /* measure_cmd.c */
int cmd_sign(int argc, char **argv, int i);      /* sign_cmd.c */
int cmd_sigstruct(int argc, char **argv, int i); /* sigstruct_cmd.c */
int cmd_keygen(int argc, char **argv, int i);    /* keygen_cmd.c */

/* `sgxemu CMD --help` on standard output; returns the exit status (0). */
int cmd_help(const char *cmd);
/* A usage error: "sgxemu: CMD: message (see sgxemu CMD --help)"; returns 2. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Why `sgxemu run` cannot bring the emulator into prog (resolved as execvp would): 1 with a
 * sentence in why, or 0 (no obstacle found). prog_check.c */
int prog_preload_obstacle(const char *prog, char *why, size_t len);

/* What to measure (measure_cmd.c): an ELF image with an optional heap, or a layout file. */
struct measure_input {
	const char *elf, *layout;
	uint64_t heap;
	uint32_t ssa_frame_size; /* 0: the layout's (1 for ELF images) */
};
#define MEASURE_VERBOSE 1U /* list the page runs on stdout */
#define MEASURE_QUIET   2U /* do not say on stderr which layout was assumed */
#define MEASURE_EMIT    4U /* print the layout instead of measuring */
/* The MRENCLAVE of in; cmd names the command in messages. 0, or -1 with a message in err. */
int measure_input(const struct measure_input *in, const char *cmd, unsigned flags,
		  uint8_t mr[32], char *err, size_t errlen);
/* If argv[*i] is --layout, --heap or --ssa-frame-size, take it (and its value) into in and
 * return 1 with *rc 0, or 1 with *rc 2 after a usage error; else 0. */
int measure_option(int argc, char **argv, int *i, struct measure_input *in, const char *cmd,
		   int *rc);
/* The whole regular file path (at most max bytes, NUL-terminated in memory); 0 or -1. */
int read_whole_file(const char *path, uint8_t **buf, size_t *len, size_t max, char *err,
		    size_t errlen);

/* A number in C syntax no greater than max. 0 or -1. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
