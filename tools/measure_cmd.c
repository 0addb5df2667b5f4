/* sgxemu measure: the MRENCLAVE of an enclave, from an ELF image laid out as our loader and
 * the kernel selftest lay theirs out, or from a layout file (lib/layout.h); `sgxemu sign`
 * measures through measure_input too. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/arch.h"
#include "tools/cmds.h"
#include "util/config.h"
#include "util/errmsg.h"
#include "lib/layout.h"

#define PAGE 4096ULL

int read_whole_file(const char *path, uint8_t **buf, size_t *len, size_t max, char *err,
		    size_t errlen)
{
	struct stat st;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*buf = NULL;
	if (fd < 0)
		return errmsg(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > max) {
		close(fd);
		return errmsg(err, errlen, "%s: not a regular, non-empty file of at most %zu MiB",
			     path, max >> 20);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len + 1);
	if (!*buf) {
		close(fd);
		return errmsg(err, errlen, "out of memory");
	}
	while (done < *len) {
		ssize_t r = read(fd, *buf + done, *len - done);

		if (r <= 0) {
			close(fd);
			free(*buf);
			*buf = NULL;
			return errmsg(err, errlen, "%s: cannot read", path);
		}
		done += (size_t)r;
	}
	(*buf)[*len] = 0;
	close(fd);
	return 0;
}

/* Contents of an ELF image: the image in memory. */
struct image_src {
	const uint8_t *img;
	size_t len;
	const char *name;
};

static int image_read(void *ctx, unsigned file, uint64_t off, void *buf, size_t n, char *err,
		      size_t errlen)
{
	const struct image_src *s = ctx;

	(void)file;
	if (off > s->len || n > s->len - off)
		return errmsg(err, errlen, "%s: truncated", s->name);
	memcpy(buf, s->img + off, n);
	return 0;
}

/* Contents for a layout file: its files, relative to its directory, opened once each. */
struct files_src {
	const struct layout *l;
	char dir[PATH_MAX];
	int *fds;
};

static int files_read(void *ctx, unsigned file, uint64_t off, void *buf, size_t n, char *err,
		      size_t errlen)
{
	struct files_src *s = ctx;
	const char *name = s->l->files[file];
	char path[2 * PATH_MAX];
	ssize_t r;

	if (s->fds[file] < 0) {
		if (name[0] == '/' || !s->dir[0])
			snprintf(path, sizeof(path), "%s", name);
		else
			snprintf(path, sizeof(path), "%s/%s", s->dir, name);
		s->fds[file] = open(path, O_RDONLY | O_CLOEXEC);
		if (s->fds[file] < 0)
			return errmsg(err, errlen, "%s: %s", path, strerror(errno));
	}
	r = pread(s->fds[file], buf, n, (off_t)off);
	if (r != (ssize_t)n)
		return errmsg(err, errlen, "%s: shorter than the layout says (%zu bytes wanted at "
			     "%#llx)", name, n, (unsigned long long)off);
	return 0;
}

static void list_runs(const struct layout *l, uint32_t ssa)
{
	printf("ELRANGE size %#llx, SSAFRAMESIZE %u\n", (unsigned long long)l->size, ssa);
	for (size_t i = 0; i < l->nruns; i++) {
		const struct layout_run *r = &l->runs[i];

		printf("  0x%08llx %5llu pages %s %c%c%c %s", (unsigned long long)r->offset,
		       (unsigned long long)(r->size / PAGE), r->type == SGX_PT_TCS ? "TCS" : "REG",
		       (r->perms & SGX_SECINFO_R) ? 'r' : '-', (r->perms & SGX_SECINFO_W) ? 'w' : '-',
		       (r->perms & SGX_SECINFO_X) ? 'x' : '-',
		       r->measured ? "measured" : "not measured");
		if (r->file >= 0 && r->file_len)
			printf(" from %s@%#llx", l->files[r->file], (unsigned long long)r->file_off);
		printf("\n");
	}
}

int measure_input(const struct measure_input *in, const char *cmd, unsigned flags,
		  uint8_t mr[32], char *err, size_t errlen)
{
	struct layout l;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t ssa;
	int rc = -1;

	if (!!in->elf == !!in->layout)
		return errmsg(err, errlen, "give an ENCLAVE.elf or --layout FILE");
	if (in->layout && in->heap)
		return errmsg(err, errlen, "--heap is for ELF images; write the heap into the layout");
	if (read_whole_file(in->elf ? in->elf : in->layout, &buf, &len, in->elf ? 1ULL << 34 : 64 << 20,
			    err, errlen))
		return -1;
	if (in->elf) {
		char real[PATH_MAX];
		const char *name = in->elf;

		/* An emitted layout names the image so that it can be read from anywhere. */
		if ((flags & MEASURE_EMIT) && realpath(in->elf, real))
			name = real;
		if (layout_from_elf(buf, len, name, in->heap, &l, err, errlen))
			goto out_buf;
	} else if (layout_parse((const char *)buf, len, &l, err, errlen)) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		errmsg(err, errlen, "%s: %s", in->layout, msg);
		goto out_buf;
	}
	if (in->ssa_frame_size)
		l.ssa_frame_size = in->ssa_frame_size;
	ssa = l.ssa_frame_size ? l.ssa_frame_size : 1;
	if (flags & MEASURE_EMIT) {
		layout_write(stdout, &l);
		rc = 0;
		goto out;
	}
	if (flags & MEASURE_VERBOSE)
		list_runs(&l, ssa);
	if (in->elf) {
		struct image_src src = { buf, len, in->elf };

		rc = layout_measure(&l, 0, image_read, &src, mr, NULL, err, errlen);
	} else {
		struct files_src src = { .l = &l };
		const char *slash = strrchr(in->layout, '/');

		if (slash)
			snprintf(src.dir, sizeof(src.dir), "%.*s",
				 (int)(slash == in->layout ? 1 : slash - in->layout), in->layout);
		src.fds = malloc((l.nfiles ? l.nfiles : 1) * sizeof(int));
		if (!src.fds) {
			errmsg(err, errlen, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < l.nfiles; k++)
			src.fds[k] = -1;
		rc = layout_measure(&l, 0, files_read, &src, mr, NULL, err, errlen);
		for (size_t k = 0; k < l.nfiles; k++)
			if (src.fds[k] >= 0)
				close(src.fds[k]);
		free(src.fds);
	}
	if (!rc && !(flags & MEASURE_QUIET)) {
		size_t tcs = 0, measured = 0, pages = 0;

		for (size_t k = 0; k < l.nruns; k++) {
			pages += l.runs[k].size / PAGE;
			tcs += l.runs[k].type == SGX_PT_TCS ? l.runs[k].size / PAGE : 0;
			measured += l.runs[k].measured ? l.runs[k].size / PAGE : 0;
		}
		if (in->elf)
			fprintf(stderr, "sgxemu: %s: layout: %s as sgxemu's loader and the kernel "
				"selftest lay ELF images out (first PT_LOAD: the TCS pages; then the "
				"other PT_LOADs%s), ", cmd, in->elf,
				in->heap ? ", then the heap, unmeasured" : "");
		else
			fprintf(stderr, "sgxemu: %s: layout: the layout file %s, ", cmd, in->layout);
		fprintf(stderr, "ELRANGE %#llx, SSAFRAMESIZE %u, %zu pages (%zu TCS), %zu measured%s\n",
			(unsigned long long)l.size, ssa, pages, tcs, measured,
			in->elf ? "; --layout FILE measures another layout" : "");
	}
out:
	layout_free(&l);
out_buf:
	free(buf);
	return rc;
}

int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int measure_option(int argc, char **argv, int *i, struct measure_input *in, const char *cmd,
		   int *rc)
{
	const char *a = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	uint64_t v;

	if (!strcmp(a, "--layout")) {
		if (!val)
			return *rc = cmd_usage_error(cmd, "--layout needs a FILE"), 1;
		in->layout = val;
	} else if (!strcmp(a, "--heap")) {
		if (!val || config_parse_size(val, &in->heap) || in->heap % PAGE)
			return *rc = cmd_usage_error(cmd, "--heap wants a multiple of 4 KiB"), 1;
	} else if (!strcmp(a, "--ssa-frame-size")) {
		if (!val || parse_u64(val, UINT32_MAX, &v) || !v)
			return *rc = cmd_usage_error(cmd, "--ssa-frame-size wants pages (1..)"), 1;
		in->ssa_frame_size = (uint32_t)v;
	} else {
		return 0;
	}
	(*i)++;
	*rc = 0;
	return 1;
}

int cmd_measure(int argc, char **argv, int i)
{
	struct measure_input in = { 0 };
	unsigned flags = 0;
	uint8_t mr[32];
	char err[1024];
	int rc;

	for (; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-') {
			if (in.elf)
				return cmd_usage_error("measure", "more than one image ('%s')", a);
			in.elf = a;
		} else if (measure_option(argc, argv, &i, &in, "measure", &rc)) {
			if (rc)
				return rc;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			flags |= MEASURE_VERBOSE;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			flags |= MEASURE_QUIET;
		} else if (!strcmp(a, "--emit-layout")) {
			flags |= MEASURE_EMIT;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			return cmd_help("measure");
		} else {
			return cmd_usage_error("measure", "unknown option '%s'", a);
		}
	}
	if (!!in.elf == !!in.layout)
		return cmd_usage_error("measure", "give one ENCLAVE.elf or --layout FILE");
	if (measure_input(&in, "measure", flags, mr, err, sizeof(err))) {
		fprintf(stderr, "sgxemu: measure: %s\n", err);
		return 1;
	}
	if (flags & MEASURE_EMIT)
		return fflush(stdout) ? 1 : 0;
	for (unsigned k = 0; k < 32; k++)
		printf("%02x", mr[k]);
	printf("\n");
	return 0;
}
