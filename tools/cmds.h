/* Subcommands of the sgxemu CLI: each gets argv and the index of its first argument. */
#ifndef SGXEMU_TOOLS_CMDS_H
#define SGXEMU_TOOLS_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cmd_stat(int argc, char **argv, int i);
int cmd_measure(int argc, char **argv, int i);  /* measure_cmd.c */
int cmd_sign(int argc, char **argv, int i);     /* sign_cmd.c */

/* MRENCLAVE of the enclave image at path, laid out as measure_cmd.c describes, with heap
 * bytes of unmeasured heap; verbose prints the layout. 0, or -1 with a message in err. */
int layout_measure(const char *path, uint64_t heap, uint32_t ssa_frame_size, bool verbose,
		   uint8_t mr[32], uint64_t *size, char *err, size_t errlen);
/* The same for an image already in memory (path only names it in messages). */
int layout_measure_image(const uint8_t *img, size_t len, const char *path, uint64_t heap,
			 uint32_t ssa_frame_size, bool verbose, uint8_t mr[32], uint64_t *size,
			 char *err, size_t errlen);
/* A number in C syntax no greater than max. 0 or -1. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
