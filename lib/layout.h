/* Enclave layouts for measuring: which pages a loader adds, in which order, with which SECINFO,
 * measured or not, and where their contents come from. A layout comes from a layout file
 * (the text format `sgxemu measure --help` documents) or from an ELF image laid out as our
 * loader and the kernel selftest lay theirs out. The parsers take bytes in memory and never
 * read files themselves, so that they can be fuzzed alone; contents are read through a
 * callback when measuring. */
#ifndef SGXEMU_LIB_LAYOUT_H
#define SGXEMU_LIB_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* TCS fields a layout file may set, in this order: flags, ossa, nssa, oentry, ofsbase,
 * ogsbase, fslimit, gslimit. */
enum { LAYOUT_TCS_FIELDS = 8 };
extern const char *const layout_tcs_field_names[LAYOUT_TCS_FIELDS];

/* A run of pages added one after another with the same SECINFO and source. */
struct layout_run {
	uint64_t offset, size;    /* from the enclave base; page multiples, size > 0 */
	uint8_t type;             /* SGX_PT_TCS or SGX_PT_REG */
	uint8_t perms;            /* SGX_SECINFO_R/W/X */
	bool measured;            /* EEXTEND every page after its EADD */
	int file;                 /* index into layout.files, or -1: zeros */
	uint64_t file_off;        /* contents start here in the file */
	uint64_t file_len;        /* bytes taken from the file (the rest is zeros); <= size */
	unsigned tcs_set;         /* bit i: field i of layout_tcs_field_names is set */
	uint64_t tcs[LAYOUT_TCS_FIELDS];
	unsigned line;            /* where it was written (0 for an ELF image) */
};

struct layout {
	uint64_t size;            /* ELRANGE size; 0 until given or computed */
	uint32_t ssa_frame_size;  /* 0: not given (1 is used) */
	struct layout_run *runs;
	size_t nruns, cap;
	char **files;             /* as written (relative to the layout file) or as given */
	size_t nfiles;
};

/* Parse a layout file's text (len bytes, need not be NUL-terminated) into l (zeroed by the
 * caller or freed before). Checks everything that needs no file: syntax, alignment, ranges,
 * overlaps, the size. 0, or -1 with "line N: ..." in err; l is then freed. */
int layout_parse(const char *text, size_t len, struct layout *l, char *err, size_t errlen);

/* The layout of an ELF image (img, len bytes) named name, with heap bytes of unmeasured RW heap
 * after the last segment. 0, or -1 with a message in err (l freed). */
int layout_from_elf(const uint8_t *img, size_t len, const char *name, uint64_t heap,
		    struct layout *l, char *err, size_t errlen);

/* Reads n bytes of layout file `file` at offset off into buf: 0, or -1 with a message. */
typedef int (*layout_read_fn)(void *ctx, unsigned file, uint64_t off, void *buf, size_t n,
			      char *err, size_t errlen);

/* MRENCLAVE of the layout, with ssa_frame_size overriding the layout's if non-zero; the
 * ELRANGE size used goes to *size if non-NULL. 0 or -1 with a message in err. */
int layout_measure(const struct layout *l, uint32_t ssa_frame_size, layout_read_fn read,
		   void *ctx, uint8_t mr[32], uint64_t *size, char *err, size_t errlen);

/* l in the layout-file format; files are written as l->files holds them. */
void layout_write(FILE *f, const struct layout *l);

void layout_free(struct layout *l);

#endif
