/* Enclave layouts: the layout-file parser, the ELF image rules, and measuring a layout. */
#include "lib/layout.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/arch.h"
#include "cpu/cpuid.h"
#include "cpu/measure.h"
#include "util/errmsg.h"

#define PAGE 4096ULL
#define MAX_END (1ULL << CPU_MAX_ENCLAVE_SIZE_64_LOG2)
#define MAX_TOKENS 24

const char *const layout_tcs_field_names[LAYOUT_TCS_FIELDS] = {
	"flags", "ossa", "nssa", "oentry", "ofsbase", "ogsbase", "fslimit", "gslimit",
};

void layout_free(struct layout *l)
{
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->runs);
	memset(l, 0, sizeof(*l));
}

static struct layout_run *add_run(struct layout *l)
{
	if (l->nruns == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct layout_run *n = realloc(l->runs, cap * sizeof(*n));

		if (!n)
			return NULL;
		l->runs = n;
		l->cap = cap;
	}
	memset(&l->runs[l->nruns], 0, sizeof(l->runs[0]));
	l->runs[l->nruns].file = -1;
	return &l->runs[l->nruns++];
}

/* The index of file name (len bytes) in l->files, added if new; -1 when out of memory. */
static int add_file(struct layout *l, const char *name, size_t len)
{
	char **n;

	for (size_t i = 0; i < l->nfiles; i++)
		if (strlen(l->files[i]) == len && !memcmp(l->files[i], name, len))
			return (int)i;
	n = realloc(l->files, (l->nfiles + 1) * sizeof(*n));
	if (!n)
		return -1;
	l->files = n;
	n[l->nfiles] = strndup(name, len);
	if (!n[l->nfiles])
		return -1;
	return (int)l->nfiles++;
}

/* A number in C syntax (len bytes), optionally followed by K, M or G. 0 or -1. */
static int parse_num(const char *s, size_t len, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!len || len >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	switch (buf[len - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	default: break;
	}
	if (shift)
		buf[--len] = 0;
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno || *end || end == buf || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

struct tok {
	const char *s;
	size_t len;
};

static bool tok_is(const struct tok *t, const char *word)
{
	return t->len == strlen(word) && !memcmp(t->s, word, t->len);
}

/* FILE@OFFSET or FILE@OFFSET+LENGTH. */
static int parse_source(struct layout *l, struct layout_run *r, const struct tok *t, char *err,
			size_t errlen)
{
	const char *at = NULL, *plus = NULL;
	uint64_t len;
	int f;

	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] == '@')
			at = t->s + i;
	if (!at || at == t->s)
		return errmsg(err, errlen, "line %u: '%.*s' is no source (FILE@OFFSET[+LENGTH])",
			    r->line, (int)t->len, t->s);
	for (const char *p = at + 1; p < t->s + t->len; p++)
		if (*p == '+')
			plus = p;
	if (parse_num(at + 1, (size_t)((plus ? plus : t->s + t->len) - at - 1), &r->file_off))
		return errmsg(err, errlen, "line %u: bad offset in '%.*s'", r->line, (int)t->len, t->s);
	len = r->size;
	if (plus && (parse_num(plus + 1, (size_t)(t->s + t->len - plus - 1), &len) || len > r->size))
		return errmsg(err, errlen, "line %u: bad length in '%.*s' (at most the run's size)",
			    r->line, (int)t->len, t->s);
	if (r->file_off > UINT64_MAX - len)
		return errmsg(err, errlen, "line %u: the source range overflows", r->line);
	f = add_file(l, t->s, (size_t)(at - t->s));
	if (f < 0)
		return errmsg(err, errlen, "out of memory");
	r->file = f;
	r->file_len = len;
	return 0;
}

static int parse_tcs_field(struct layout_run *r, const struct tok *t, const char *eq, char *err,
			   size_t errlen)
{
	size_t nlen = (size_t)(eq - t->s);
	uint64_t v;

	for (unsigned i = 0; i < LAYOUT_TCS_FIELDS; i++) {
		if (strlen(layout_tcs_field_names[i]) != nlen ||
		    memcmp(layout_tcs_field_names[i], t->s, nlen))
			continue;
		if (parse_num(eq + 1, (size_t)(t->s + t->len - eq - 1), &v) ||
		    ((!strcmp(layout_tcs_field_names[i], "nssa") ||
		      !strcmp(layout_tcs_field_names[i], "fslimit") ||
		      !strcmp(layout_tcs_field_names[i], "gslimit")) && v > UINT32_MAX))
			return errmsg(err, errlen, "line %u: bad value in '%.*s'", r->line,
				    (int)t->len, t->s);
		r->tcs[i] = v;
		r->tcs_set |= 1U << i;
		return 0;
	}
	return errmsg(err, errlen, "line %u: '%.*s' is no TCS field (flags, ossa, nssa, oentry, "
		    "ofsbase, ogsbase, fslimit, gslimit)", r->line, (int)nlen, t->s);
}

/* tcs|reg OFFSET SIZE PERMS MEASURE [SOURCE] [FIELD=VALUE...] */
static int parse_run(struct layout *l, const struct tok *t, unsigned n, unsigned line, char *err,
		     size_t errlen)
{
	struct layout_run *r;
	bool tcs = tok_is(&t[0], "tcs");
	bool have_source = false;

	if (n < 5)
		return errmsg(err, errlen, "line %u: want %.*s OFFSET SIZE PERMS measured|unmeasured "
			    "[SOURCE]", line, (int)t[0].len, t[0].s);
	r = add_run(l);
	if (!r)
		return errmsg(err, errlen, "out of memory");
	r->line = line;
	r->type = tcs ? SGX_PT_TCS : SGX_PT_REG;
	if (parse_num(t[1].s, t[1].len, &r->offset) || parse_num(t[2].s, t[2].len, &r->size))
		return errmsg(err, errlen, "line %u: bad number", line);
	if (r->offset % PAGE || r->size % PAGE || !r->size)
		return errmsg(err, errlen, "line %u: OFFSET and SIZE must be multiples of 4K, SIZE not 0",
			    line);
	if (r->offset >= MAX_END || r->size > MAX_END - r->offset)
		return errmsg(err, errlen, "line %u: beyond the largest enclave (2^%u bytes)", line,
			    CPU_MAX_ENCLAVE_SIZE_64_LOG2);
	if (t[3].len != 3 || (t[3].s[0] != 'r' && t[3].s[0] != '-') ||
	    (t[3].s[1] != 'w' && t[3].s[1] != '-') || (t[3].s[2] != 'x' && t[3].s[2] != '-'))
		return errmsg(err, errlen, "line %u: PERMS like rw- or r-x, not '%.*s'", line,
			    (int)t[3].len, t[3].s);
	r->perms = (uint8_t)((t[3].s[0] == 'r' ? SGX_SECINFO_R : 0) |
			     (t[3].s[1] == 'w' ? SGX_SECINFO_W : 0) |
			     (t[3].s[2] == 'x' ? SGX_SECINFO_X : 0));
	/* EADD refuses a regular page writable but not readable (#GP). */
	if (!tcs && (r->perms & SGX_SECINFO_W) && !(r->perms & SGX_SECINFO_R))
		return errmsg(err, errlen, "line %u: a page cannot be writable and not readable", line);
	if (tok_is(&t[4], "measured"))
		r->measured = true;
	else if (!tok_is(&t[4], "unmeasured"))
		return errmsg(err, errlen, "line %u: want measured or unmeasured, not '%.*s'", line,
			    (int)t[4].len, t[4].s);
	for (unsigned i = 5; i < n; i++) {
		const char *eq = memchr(t[i].s, '=', t[i].len);

		if (eq) {
			if (!tcs)
				return errmsg(err, errlen, "line %u: TCS fields on a reg line", line);
			if (parse_tcs_field(r, &t[i], eq, err, errlen))
				return -1;
		} else if (have_source) {
			return errmsg(err, errlen, "line %u: more than one source", line);
		} else if (tok_is(&t[i], "zeros")) {
			have_source = true;
		} else {
			if (parse_source(l, r, &t[i], err, errlen))
				return -1;
			have_source = true;
		}
	}
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct layout_run *x = *(const struct layout_run *const *)a;
	const struct layout_run *y = *(const struct layout_run *const *)b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* No page added twice (EADD of a page already there fails); the ELRANGE size. */
static int layout_finish(struct layout *l, char *err, size_t errlen)
{
	const struct layout_run **sorted;
	uint64_t end = 0, size;

	if (!l->nruns)
		return errmsg(err, errlen, "no pages (tcs or reg lines)");
	sorted = malloc(l->nruns * sizeof(*sorted));
	if (!sorted)
		return errmsg(err, errlen, "out of memory");
	for (size_t i = 0; i < l->nruns; i++)
		sorted[i] = &l->runs[i];
	qsort(sorted, l->nruns, sizeof(*sorted), cmp_offset);
	for (size_t i = 0; i < l->nruns; i++) {
		if (i && sorted[i]->offset < sorted[i - 1]->offset + sorted[i - 1]->size) {
			unsigned a = sorted[i - 1]->line, b = sorted[i]->line;

			free(sorted);
			return errmsg(err, errlen, "line %u: overlaps line %u (a page is added once)",
				    a > b ? a : b, a > b ? b : a);
		}
		if (sorted[i]->offset + sorted[i]->size > end)
			end = sorted[i]->offset + sorted[i]->size;
	}
	free(sorted);
	if (l->size) {
		if (l->size & (l->size - 1) || l->size < 2 * PAGE || l->size > MAX_END)
			return errmsg(err, errlen, "size %#llx: want a power of two from 8K to 2^%u",
				    (unsigned long long)l->size, CPU_MAX_ENCLAVE_SIZE_64_LOG2);
		if (l->size < end)
			return errmsg(err, errlen, "size %#llx: the pages reach %#llx",
				    (unsigned long long)l->size, (unsigned long long)end);
		return 0;
	}
	for (size = 2 * PAGE; size < end; size <<= 1)
		;
	l->size = size;
	return 0;
}

int layout_parse(const char *text, size_t len, struct layout *l, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	bool have_size = false;
	unsigned line = 0;

	memset(l, 0, sizeof(*l));
	if (memchr(text, 0, len))
		return errmsg(err, errlen, "a NUL byte: not a text file");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p, *stop = eol ? eol : end;
		struct tok t[MAX_TOKENS];
		unsigned n = 0;

		line++;
		while (q < stop) {
			const char *s;

			while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r'))
				q++;
			if (q == stop || *q == '#')
				break;
			s = q;
			while (q < stop && *q != ' ' && *q != '\t' && *q != '\r')
				q++;
			if (n == MAX_TOKENS) {
				layout_free(l);
				return errmsg(err, errlen, "line %u: too many words", line);
			}
			t[n].s = s;
			t[n++].len = (size_t)(q - s);
		}
		p = eol ? eol + 1 : end;
		if (!n)
			continue;
		if (tok_is(&t[0], "size") || tok_is(&t[0], "ssa-frame-size")) {
			bool sz = tok_is(&t[0], "size");
			uint64_t v;

			if (n != 2 || parse_num(t[1].s, t[1].len, &v) ||
			    (sz ? have_size : l->ssa_frame_size != 0) ||
			    (!sz && (v == 0 || v > UINT32_MAX)) || (sz && v == 0)) {
				layout_free(l);
				return errmsg(err, errlen, "line %u: want one %s with a %s number", line,
					    sz ? "size" : "ssa-frame-size", sz ? "power-of-two" :
					    "non-zero");
			}
			if (sz) {
				l->size = v;
				have_size = true;
			} else {
				l->ssa_frame_size = (uint32_t)v;
			}
		} else if (tok_is(&t[0], "tcs") || tok_is(&t[0], "reg")) {
			if (parse_run(l, t, n, line, err, errlen)) {
				layout_free(l);
				return -1;
			}
		} else {
			layout_free(l);
			return errmsg(err, errlen, "line %u: unknown directive '%.*s' (size, "
				    "ssa-frame-size, tcs, reg)", line, (int)t[0].len, t[0].s);
		}
	}
	if (layout_finish(l, err, errlen)) {
		layout_free(l);
		return -1;
	}
	return 0;
}

int layout_from_elf(const uint8_t *img, size_t len, const char *name, uint64_t heap,
		    struct layout *l, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	uint64_t end = 0;
	unsigned nseg = 0;

	memset(l, 0, sizeof(*l));
	if (heap % PAGE)
		return errmsg(err, errlen, "the heap size must be a multiple of 4 KiB");
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr))
		return errmsg(err, errlen, "%s: not an x86-64 ELF image", name);
	if (add_file(l, name, strlen(name)) < 0)
		return errmsg(err, errlen, "out of memory");
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		struct layout_run *r;

		memcpy(&ph, img + eh->e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_vaddr % PAGE || ph.p_vaddr < end || ph.p_filesz > ph.p_memsz ||
		    ph.p_offset > len || ph.p_filesz > len - ph.p_offset || !ph.p_memsz ||
		    ph.p_vaddr >= MAX_END || ph.p_memsz > MAX_END - ph.p_vaddr - PAGE) {
			layout_free(l);
			return errmsg(err, errlen, "%s: PT_LOAD %u is not page aligned, overlaps or is "
				    "truncated", name, i);
		}
		if (nseg == 0 && (ph.p_flags & (PF_R | PF_W | PF_X)) != (PF_R | PF_W)) {
			layout_free(l);
			return errmsg(err, errlen, "%s: the first PT_LOAD (the TCS pages) must be RW",
				    name);
		}
		r = add_run(l);
		if (!r) {
			layout_free(l);
			return errmsg(err, errlen, "out of memory");
		}
		r->offset = ph.p_vaddr;
		r->size = (ph.p_memsz + PAGE - 1) / PAGE * PAGE;
		r->type = nseg ? SGX_PT_REG : SGX_PT_TCS;
		r->perms = (uint8_t)(((ph.p_flags & PF_R) ? SGX_SECINFO_R : 0) |
				     ((ph.p_flags & PF_W) ? SGX_SECINFO_W : 0) |
				     ((ph.p_flags & PF_X) ? SGX_SECINFO_X : 0));
		r->measured = true;
		r->file = 0;
		r->file_off = ph.p_offset;
		r->file_len = ph.p_filesz;
		end = r->offset + r->size;
		nseg++;
	}
	if (nseg < 2) {
		layout_free(l);
		return errmsg(err, errlen, "%s: needs a TCS segment and at least one more PT_LOAD", name);
	}
	if (heap) {
		struct layout_run *r;

		if (heap > MAX_END - end) {
			layout_free(l);
			return errmsg(err, errlen, "the heap does not fit the largest enclave");
		}
		r = add_run(l);
		if (!r) {
			layout_free(l);
			return errmsg(err, errlen, "out of memory");
		}
		r->offset = end;
		r->size = heap;
		r->type = SGX_PT_REG;
		r->perms = SGX_SECINFO_R | SGX_SECINFO_W;
	}
	if (layout_finish(l, err, errlen)) {
		layout_free(l);
		return -1;
	}
	return 0;
}

/* A TCS page as EEXTEND reads it after EADD: the layout's fields set, then what EADD clears. */
static void tcs_fixup(const struct layout_run *r, uint8_t *page)
{
	struct sgx_tcs *t = (struct sgx_tcs *)page;

	for (unsigned i = 0; i < LAYOUT_TCS_FIELDS; i++) {
		uint64_t v = r->tcs[i];

		if (!(r->tcs_set & (1U << i)))
			continue;
		switch (i) {
		case 0: t->flags = v; break;
		case 1: t->ossa = v; break;
		case 2: t->nssa = (uint32_t)v; break;
		case 3: t->oentry = v; break;
		case 4: t->ofsbase = v; break;
		case 5: t->ogsbase = v; break;
		case 6: t->fslimit = (uint32_t)v; break;
		default: t->gslimit = (uint32_t)v; break;
		}
	}
	t->flags &= ~SGX_TCS_FLAGS_DBGOPTIN;
	t->cssa = 0;
	t->aep = 0;
	t->state = 0;
}

int layout_measure(const struct layout *l, uint32_t ssa_frame_size, layout_read_fn read,
		   void *ctx, uint8_t mr[32], uint64_t *size, char *err, size_t errlen)
{
	uint8_t page[PAGE];
	struct measure *m = measure_new();
	uint32_t ssa = ssa_frame_size ? ssa_frame_size : l->ssa_frame_size ? l->ssa_frame_size : 1;
	int rc = -1;

	if (!m || measure_ecreate(m, ssa, l->size)) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l->nruns; i++) {
		const struct layout_run *r = &l->runs[i];
		/* EADD measures a TCS's SECINFO with R/W/X cleared. */
		uint64_t si = ((uint64_t)r->type << SGX_SECINFO_TYPE_SHIFT) |
			      (r->type == SGX_PT_TCS ? 0 : r->perms);

		for (uint64_t off = 0; off < r->size; off += PAGE) {
			if (measure_eadd(m, r->offset + off, si)) {
				errmsg(err, errlen, "hashing failed");
				goto out;
			}
			if (!r->measured)
				continue;
			memset(page, 0, sizeof(page));
			if (r->file >= 0 && off < r->file_len) {
				uint64_t n = r->file_len - off < PAGE ? r->file_len - off : PAGE;

				if (read(ctx, (unsigned)r->file, r->file_off + off, page, (size_t)n, err,
					 errlen))
					goto out;
			}
			if (r->type == SGX_PT_TCS)
				tcs_fixup(r, page);
			for (unsigned c = 0; c < PAGE; c += 256)
				if (measure_eextend(m, r->offset + off + c, page + c)) {
					errmsg(err, errlen, "hashing failed");
					goto out;
				}
		}
	}
	if (measure_digest(m, mr)) {
		errmsg(err, errlen, "hashing failed");
		goto out;
	}
	if (size)
		*size = l->size;
	rc = 0;
out:
	measure_free(m);
	return rc;
}

void layout_write(FILE *f, const struct layout *l)
{
	fprintf(f, "# sgxemu enclave layout (sgxemu measure --help describes the format)\n");
	fprintf(f, "size %#llx\n", (unsigned long long)l->size);
	if (l->ssa_frame_size)
		fprintf(f, "ssa-frame-size %u\n", l->ssa_frame_size);
	for (size_t i = 0; i < l->nruns; i++) {
		const struct layout_run *r = &l->runs[i];

		fprintf(f, "%s %#llx %#llx %c%c%c %s", r->type == SGX_PT_TCS ? "tcs" : "reg",
			(unsigned long long)r->offset, (unsigned long long)r->size,
			(r->perms & SGX_SECINFO_R) ? 'r' : '-', (r->perms & SGX_SECINFO_W) ? 'w' : '-',
			(r->perms & SGX_SECINFO_X) ? 'x' : '-',
			r->measured ? "measured" : "unmeasured");
		if (r->file >= 0 && r->file_len) {
			fprintf(f, " %s@%#llx", l->files[r->file], (unsigned long long)r->file_off);
			if (r->file_len != r->size)
				fprintf(f, "+%#llx", (unsigned long long)r->file_len);
		}
		for (unsigned k = 0; k < LAYOUT_TCS_FIELDS; k++)
			if (r->tcs_set & (1U << k))
				fprintf(f, " %s=%#llx", layout_tcs_field_names[k],
					(unsigned long long)r->tcs[k]);
		fputc('\n', f);
	}
}
