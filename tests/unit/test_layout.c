/* The parsers behind `sgxemu measure --layout` and `sgxemu sigstruct`: layout files, the ELF
 * image layout, measuring a layout (against the records written out by hand with cpu/measure),
 * and finding a SIGSTRUCT in raw, Intel SDK and other files. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cpu/arch.h"
#include "cpu/measure.h"
#include "lib/layout.h"
#include "lib/sigfile.h"
#include "lib/sign.h"

#define PG 4096U

static int parse(const char *text, struct layout *l, char *err, size_t errlen)
{
	return layout_parse(text, strlen(text), l, err, errlen);
}

/* The message for text, which must be refused. */
static const char *refused(const char *text)
{
	static char err[256];
	struct layout l;

	err[0] = 0;
	assert_int_equal(parse(text, &l, err, sizeof(err)), -1);
	assert_int_equal(l.nruns, 0); /* freed */
	return err;
}

static void test_parse_good(void **state)
{
	const char *text =
		"# a comment\n"
		"  ssa-frame-size 2   # trailing comment\n"
		"tcs 0 0x1000 rw- measured ossa=0x1000 nssa=2 oentry=0x3000 gslimit=0xfff\n"
		"reg 4K 8K r-x measured code.bin@0x10+0x1800\n"
		"\r\n"
		"reg 0x3000 0x1000 rw- measured code.bin@0\n"
		"reg 0x4000 0x4000 rw- unmeasured zeros\n";
	struct layout l;
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(l.ssa_frame_size, 2);
	assert_int_equal(l.size, 0x8000); /* pages reach 0x8000: already a power of two */
	assert_int_equal(l.nruns, 4);
	assert_int_equal(l.nfiles, 1);
	assert_string_equal(l.files[0], "code.bin");
	assert_int_equal(l.runs[0].type, SGX_PT_TCS);
	assert_int_equal(l.runs[0].tcs_set, 0x1 << 1 | 0x1 << 2 | 0x1 << 3 | 0x1 << 7);
	assert_int_equal(l.runs[0].tcs[1], 0x1000);
	assert_int_equal(l.runs[0].tcs[2], 2);
	assert_int_equal(l.runs[0].tcs[7], 0xfff);
	assert_int_equal(l.runs[0].file, -1);
	assert_int_equal(l.runs[1].offset, 0x1000);
	assert_int_equal(l.runs[1].size, 0x2000);
	assert_int_equal(l.runs[1].perms, SGX_SECINFO_R | SGX_SECINFO_X);
	assert_int_equal(l.runs[1].file, 0);
	assert_int_equal(l.runs[1].file_off, 0x10);
	assert_int_equal(l.runs[1].file_len, 0x1800);
	assert_int_equal(l.runs[1].line, 4);
	assert_int_equal(l.runs[2].file_len, 0x1000); /* no +LENGTH: the whole run */
	assert_false(l.runs[3].measured);
	assert_int_equal(l.runs[3].file, -1);
	layout_free(&l);
	/* A size that leaves room. */
	assert_int_equal(parse("size 1M\nreg 0 4K r-- measured\n", &l, err, sizeof(err)), 0);
	assert_int_equal(l.size, 1 << 20);
	layout_free(&l);
	/* The default size is at least 8K. */
	assert_int_equal(parse("reg 0 4K r-- measured\n", &l, err, sizeof(err)), 0);
	assert_int_equal(l.size, 0x2000);
	layout_free(&l);
	/* No newline at the end. */
	assert_int_equal(parse("reg 0x10000 4K r-- measured", &l, err, sizeof(err)), 0);
	assert_int_equal(l.size, 0x20000);
	layout_free(&l);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_string_equal(refused("size 0x10000\nfoo 1 2\n"),
			    "line 2: unknown directive 'foo' (size, ssa-frame-size, tcs, reg)");
	assert_string_equal(refused("reg 0 4K rw measured\n"),
			    "line 1: PERMS like rw- or r-x, not 'rw'");
	assert_string_equal(refused("reg 0 4K -w- measured\n"),
			    "line 1: a page cannot be writable and not readable");
	assert_string_equal(refused("reg 0x800 4K r-- measured\n"),
			    "line 1: OFFSET and SIZE must be multiples of 4K, SIZE not 0");
	assert_string_equal(refused("reg 0 0 r-- measured\n"),
			    "line 1: OFFSET and SIZE must be multiples of 4K, SIZE not 0");
	assert_string_equal(refused("reg 0 4K r-- sometimes\n"),
			    "line 1: want measured or unmeasured, not 'sometimes'");
	assert_string_equal(refused("reg 0 4K r--\n"),
			    "line 1: want reg OFFSET SIZE PERMS measured|unmeasured [SOURCE]");
	assert_string_equal(refused("tcs 0 4K rw- measured\n\nreg 0x2000 8K r-x measured\n"
				    "reg 0x3000 4K rw- measured\n"),
			    "line 4: overlaps line 3 (a page is added once)");
	assert_string_equal(refused("size 0x3000\nreg 0 4K r-- measured\n"),
			    "size 0x3000: want a power of two from 8K to 2^47");
	assert_string_equal(refused("size 0x2000\nreg 0 12K r-- measured\n"),
			    "size 0x2000: the pages reach 0x3000");
	assert_string_equal(refused("size 8K\nsize 8K\nreg 0 4K r-- measured\n"),
			    "line 2: want one size with a power-of-two number");
	assert_string_equal(refused("ssa-frame-size 0\n"),
			    "line 1: want one ssa-frame-size with a non-zero number");
	assert_string_equal(refused("reg 0 4K r-- measured nssa=1\n"),
			    "line 1: TCS fields on a reg line");
	assert_string_equal(refused("tcs 0 4K rw- measured cssa=1\n"),
			    "line 1: 'cssa' is no TCS field (flags, ossa, nssa, oentry, ofsbase, ogsbase, "
			    "fslimit, gslimit)");
	assert_string_equal(refused("tcs 0 4K rw- measured nssa=0x100000000\n"),
			    "line 1: bad value in 'nssa=0x100000000'");
	assert_string_equal(refused("reg 0 4K r-- measured file\n"),
			    "line 1: 'file' is no source (FILE@OFFSET[+LENGTH])");
	assert_string_equal(refused("reg 0 4K r-- measured @0\n"),
			    "line 1: '@0' is no source (FILE@OFFSET[+LENGTH])");
	assert_string_equal(refused("reg 0 4K r-- measured f@0+0x1001\n"),
			    "line 1: bad length in 'f@0+0x1001' (at most the run's size)");
	assert_string_equal(refused("reg 0 4K r-- measured f@0xffffffffffffffff\n"),
			    "line 1: the source range overflows");
	assert_string_equal(refused("reg 0 4K r-- measured a@0 b@0\n"), "line 1: more than one source");
	assert_string_equal(refused("reg 0 0xfffffffffffffffffK r-- measured\n"), "line 1: bad number");
	assert_string_equal(refused("reg 0 0x4000000000000000K r-- measured\n"), "line 1: bad number");
	assert_string_equal(refused("reg 0x800000000000 4K r-- measured\n"),
			    "line 1: beyond the largest enclave (2^47 bytes)");
	assert_string_equal(refused("# nothing\n\n"), "no pages (tcs or reg lines)");
	assert_string_equal(refused(""), "no pages (tcs or reg lines)");
	assert_string_equal(refused("reg 0 4K r-- measured\n1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 "
				    "17 18 19 20 21 22 23 24 25\n"), "line 2: too many words");
	{
		char nul[] = "reg 0 4K r-- measured\0\n";
		struct layout l;
		char err[128];

		assert_int_equal(layout_parse(nul, sizeof(nul) - 1, &l, err, sizeof(err)), -1);
		assert_string_equal(err, "a NUL byte: not a text file");
	}
}

/* Contents for the measuring tests: file 0 holds bytes i * 7 (mod 256) at offset i; a read of
 * file 1 fails, so a run that needs no contents must not read it. */
static int test_read(void *ctx, unsigned file, uint64_t off, void *buf, size_t n, char *err,
		     size_t errlen)
{
	(void)ctx;
	if (file != 0) {
		snprintf(err, errlen, "file %u read", file);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = (uint8_t)((off + i) * 7);
	return 0;
}

static void extend_page(struct measure *m, uint64_t offset, const uint8_t *page)
{
	for (unsigned c = 0; c < PG; c += 256)
		assert_int_equal(measure_eextend(m, offset + c, page + c), 0);
}

static void test_measure_matches_records(void **state)
{
	const char *text =
		"ssa-frame-size 3\n"
		"tcs 0 4K rw- measured ossa=0x2000 nssa=2 oentry=0x1000 flags=3 fslimit=0xfff\n"
		"reg 0x1000 8K r-x measured data@0x100+0x1800\n"
		"reg 0x3000 4K rw- unmeasured nothing@0\n";
	struct sgx_tcs tcs;
	uint8_t page[PG], want[32], got[32];
	struct measure *m = measure_new();
	struct layout l;
	char err[128];
	uint64_t size = 0;

	(void)state;
	assert_int_equal(parse(text, &l, err, sizeof(err)), 0);
	assert_int_equal(layout_measure(&l, 0, test_read, NULL, got, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 0x4000);

	/* The same enclave, record by record. */
	assert_int_equal(measure_ecreate(m, 3, 0x4000), 0);
	memset(&tcs, 0, sizeof(tcs));
	tcs.ossa = 0x2000;
	tcs.nssa = 2;
	tcs.oentry = 0x1000;
	tcs.flags = 3 & ~SGX_TCS_FLAGS_DBGOPTIN; /* EADD clears DBGOPTIN */
	tcs.fslimit = 0xfff;
	assert_int_equal(measure_eadd(m, 0, (uint64_t)SGX_PT_TCS << 8), 0); /* no R/W/X */
	extend_page(m, 0, (const uint8_t *)&tcs);
	for (unsigned p = 0; p < 2; p++) {
		memset(page, 0, sizeof(page));
		for (unsigned i = 0; i < PG && p * PG + i < 0x1800; i++)
			page[i] = (uint8_t)((0x100 + p * PG + i) * 7);
		assert_int_equal(measure_eadd(m, 0x1000 + p * PG, (uint64_t)SGX_PT_REG << 8 | 0x5), 0);
		extend_page(m, 0x1000 + p * PG, page);
	}
	assert_int_equal(measure_eadd(m, 0x3000, (uint64_t)SGX_PT_REG << 8 | 0x3), 0);
	assert_int_equal(measure_digest(m, want), 0);
	assert_memory_equal(got, want, 32);

	/* An explicit SSA frame size wins over the file's. */
	assert_int_equal(layout_measure(&l, 1, test_read, NULL, got, NULL, err, sizeof(err)), 0);
	assert_memory_not_equal(got, want, 32);
	layout_free(&l);
	measure_free(m);

	/* A failing read is reported. */
	assert_int_equal(parse("reg 0 4K r-- measured nothing@0\n", &l, err, sizeof(err)), 0);
	l.runs[0].file = 1;
	assert_int_equal(layout_measure(&l, 0, test_read, NULL, got, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "file 1 read");
	layout_free(&l);
}

/* A little ELF: PT_LOADs at the given addresses, sizes and flags, contents from the file. */
static size_t make_elf(uint8_t *buf, size_t cap, const Elf64_Phdr *ph, unsigned n)
{
	Elf64_Ehdr eh;

	memset(buf, 0, cap);
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)n;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, n * sizeof(*ph));
	return cap;
}

static void test_elf_layout(void **state)
{
	static uint8_t img[0x4000];
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x1000, .p_vaddr = 0,
		  .p_filesz = 0x1000, .p_memsz = 0x1000 },
		{ .p_type = PT_NOTE },
		{ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x2000, .p_vaddr = 0x1000,
		  .p_filesz = 0x1800, .p_memsz = 0x2800 },
	};
	struct layout l, back;
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	make_elf(img, sizeof(img), ph, 3);
	assert_int_equal(layout_from_elf(img, sizeof(img), "e.elf", 0x2000, &l, err, sizeof(err)), 0);
	assert_int_equal(l.nruns, 3);
	assert_int_equal(l.runs[0].type, SGX_PT_TCS);
	assert_int_equal(l.runs[1].type, SGX_PT_REG);
	assert_int_equal(l.runs[1].size, 0x3000);
	assert_int_equal(l.runs[1].file_len, 0x1800);
	assert_int_equal(l.runs[1].perms, SGX_SECINFO_R | SGX_SECINFO_X);
	assert_int_equal(l.runs[2].offset, 0x4000); /* the heap */
	assert_int_equal(l.runs[2].size, 0x2000);
	assert_false(l.runs[2].measured);
	assert_int_equal(l.size, 0x8000);
	/* Written out and read back: the same layout. */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	layout_write(f, &l);
	fclose(f);
	assert_int_equal(layout_parse(text, len, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nruns, l.nruns);
	assert_int_equal(back.size, l.size);
	for (size_t i = 0; i < l.nruns; i++) {
		assert_int_equal(back.runs[i].offset, l.runs[i].offset);
		assert_int_equal(back.runs[i].size, l.runs[i].size);
		assert_int_equal(back.runs[i].type, l.runs[i].type);
		assert_int_equal(back.runs[i].perms, l.runs[i].perms);
		assert_int_equal(back.runs[i].measured, l.runs[i].measured);
		assert_int_equal(back.runs[i].file_off, l.runs[i].file_off);
		assert_int_equal(back.runs[i].file_len, l.runs[i].file_len);
	}
	free(text);
	layout_free(&back);
	layout_free(&l);

	/* What the image rules refuse. */
	ph[0].p_flags = PF_R | PF_X;
	make_elf(img, sizeof(img), ph, 3);
	assert_int_equal(layout_from_elf(img, sizeof(img), "e.elf", 0, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "e.elf: the first PT_LOAD (the TCS pages) must be RW");
	ph[0].p_flags = PF_R | PF_W;
	ph[2].p_vaddr = 0x800;
	make_elf(img, sizeof(img), ph, 3);
	assert_int_equal(layout_from_elf(img, sizeof(img), "e.elf", 0, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "e.elf: PT_LOAD 2 is not page aligned, overlaps or is truncated");
	ph[2].p_vaddr = 0x1000;
	ph[2].p_filesz = 0x3000; /* past the end of the file */
	make_elf(img, sizeof(img), ph, 3);
	assert_int_equal(layout_from_elf(img, sizeof(img), "e.elf", 0, &l, err, sizeof(err)), -1);
	make_elf(img, sizeof(img), ph, 1);
	assert_int_equal(layout_from_elf(img, sizeof(img), "e.elf", 0, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "e.elf: needs a TCS segment and at least one more PT_LOAD");
	assert_int_equal(layout_from_elf((const uint8_t *)"\177ELF", 4, "x", 0, &l, err,
					 sizeof(err)), -1);
	assert_string_equal(err, "x: not an x86-64 ELF image");
	assert_int_equal(layout_from_elf(img, sizeof(img), "e.elf", 100, &l, err, sizeof(err)), -1);
}

/* ---- sigfile ---- */

static void a_sigstruct(struct sgx_sigstruct *s, uint8_t tag)
{
	sign_sigstruct_init(s);
	memset(s->body.mrenclave, tag, 32);
	memset(s->modulus, tag ^ 0x5a, sizeof(s->modulus));
	s->exponent = 3;
}

static void test_sigfile_raw_and_embedded(void **state)
{
	static uint8_t buf[8192];
	struct sgx_sigstruct s;
	struct sigfile f;
	char err[256];

	(void)state;
	a_sigstruct(&s, 0x11);
	assert_int_equal(sigfile_find((const uint8_t *)&s, sizeof(s), &f, err, sizeof(err)), 0);
	assert_int_equal(f.kind, SIGFILE_RAW);
	assert_memory_equal(&f.sig, &s, sizeof(s));
	/* Inside other bytes, at an odd offset, after a decoy with HEADER but not HEADER2. */
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf + 100, &s, 16);
	memcpy(buf + 3001, &s, sizeof(s));
	assert_int_equal(sigfile_find(buf, sizeof(buf), &f, err, sizeof(err)), 0);
	assert_int_equal(f.kind, SIGFILE_EMBEDDED);
	assert_int_equal(f.offset, 3001);
	assert_memory_equal(&f.sig, &s, sizeof(s));
	/* Right at the end of the file. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + sizeof(buf) - sizeof(s), &s, sizeof(s));
	assert_int_equal(sigfile_find(buf, sizeof(buf), &f, err, sizeof(err)), 0);
	assert_int_equal(f.offset, sizeof(buf) - sizeof(s));
	/* Cut one byte short: none. */
	assert_int_equal(sigfile_find(buf, sizeof(buf) - 1, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no SIGSTRUCT found"));
	assert_int_equal(sigfile_find(buf, 0, &f, err, sizeof(err)), -1);
}

/* An ELF with sections: null, .shstrtab, .note.sgxmeta holding note (len bytes). */
static size_t make_sdk_elf(uint8_t *buf, size_t cap, const uint8_t *note, size_t len)
{
	static const char names[] = "\0.shstrtab\0.note.sgxmeta";
	Elf64_Ehdr eh;
	Elf64_Shdr sh[3];
	size_t off = sizeof(eh);

	memset(buf, 0, cap);
	memset(&eh, 0, sizeof(eh));
	memset(sh, 0, sizeof(sh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_machine = EM_X86_64;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 1;
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_STRTAB;
	sh[1].sh_offset = off;
	sh[1].sh_size = sizeof(names);
	memcpy(buf + off, names, sizeof(names));
	off += 64;
	sh[2].sh_name = 11;
	sh[2].sh_type = SHT_NOTE;
	sh[2].sh_offset = off;
	sh[2].sh_size = len;
	memcpy(buf + off, note, len);
	off += (len + 7) & ~7UL;
	eh.e_shoff = off;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + off, sh, sizeof(sh));
	return off + sizeof(sh);
}

/* A .note.sgxmeta note: "sgx_metadata" (13 bytes, padded to 16 if pad), then nblobs metadata
 * blobs of 4096 bytes, blob i holding the SIGSTRUCT tagged tags[i]. */
static size_t make_note(uint8_t *note, bool pad, unsigned nblobs, const uint8_t *tags)
{
	uint32_t hdr[3] = { 13, 4096 * nblobs, 1 };
	size_t off = 12 + (pad ? 16 : 13);

	memcpy(note, hdr, sizeof(hdr));
	memcpy(note + 12, "sgx_metadata", 13);
	for (unsigned b = 0; b < nblobs; b++) {
		struct sigfile_sdk_meta m = {
			.magic = SIGFILE_SDK_MAGIC, .version = (3ULL << 32) | 1, .size = 4096,
			.tcs_policy = 1, .ssa_frame_size = 2, .enclave_size = 0x200000,
			.attributes_flags = 4, .attributes_xfrm = 3,
		};
		struct sgx_sigstruct s;

		a_sigstruct(&s, tags[b]);
		memset(note + off, 0, 4096);
		memcpy(note + off, &m, sizeof(m));
		memcpy(note + off + SIGFILE_SDK_SIGSTRUCT_OFFSET, &s, sizeof(s));
		off += 4096;
	}
	return off;
}

static void test_sigfile_sdk(void **state)
{
	static uint8_t note[3 * 4096 + 64], elf[4 * 4096 + 1024];
	static const uint8_t tags[] = { 0x21, 0x21, 0x33 };
	struct sgx_sigstruct s;
	struct sigfile f;
	char err[256];
	size_t n, len;

	(void)state;
	a_sigstruct(&s, 0x21);
	/* As the SDK writes it: the name not padded. */
	n = make_note(note, false, 1, tags);
	len = make_sdk_elf(elf, sizeof(elf), note, n);
	assert_int_equal(sigfile_find(elf, len, &f, err, sizeof(err)), 0);
	assert_int_equal(f.kind, SIGFILE_SDK);
	assert_int_equal(f.offset, 64 + 64 + 25 + SIGFILE_SDK_SIGSTRUCT_OFFSET);
	assert_memory_equal(&f.sig, &s, sizeof(s));
	assert_int_equal(f.meta.version, (3ULL << 32) | 1);
	assert_int_equal(f.meta.ssa_frame_size, 2);
	assert_int_equal(f.meta.enclave_size, 0x200000);
	assert_int_equal(f.nmeta, 1);
	/* With the ELF note padding; three blobs, the last with another SIGSTRUCT. */
	n = make_note(note, true, 3, tags);
	len = make_sdk_elf(elf, sizeof(elf), note, n);
	assert_int_equal(sigfile_find(elf, len, &f, err, sizeof(err)), 0);
	assert_int_equal(f.kind, SIGFILE_SDK);
	assert_int_equal(f.offset, 64 + 64 + 28 + SIGFILE_SDK_SIGSTRUCT_OFFSET);
	assert_int_equal(f.nmeta, 3);
	assert_int_equal(f.ndiffer, 1);
	/* A blob cut short is no metadata; the SIGSTRUCT is still found by its headers. */
	n = make_note(note, false, 1, tags);
	len = make_sdk_elf(elf, sizeof(elf), note, 12 + 13 + 64 + 1000);
	assert_int_equal(sigfile_find(elf, len, &f, err, sizeof(err)), -1);
	len = make_sdk_elf(elf, sizeof(elf), note, n);
	((Elf64_Ehdr *)elf)->e_shoff = len; /* section table past the end */
	assert_int_equal(sigfile_find(elf, len, &f, err, sizeof(err)), 0);
	assert_int_equal(f.kind, SIGFILE_EMBEDDED);
	assert_memory_equal(&f.sig, &s, sizeof(s));
	/* Another note name is not the SDK's. */
	len = make_sdk_elf(elf, sizeof(elf), note, n);
	memcpy(elf + 64 + 64 + 12, "sgx_metadatX", 12);
	assert_int_equal(sigfile_find(elf, len, &f, err, sizeof(err)), 0);
	assert_int_equal(f.kind, SIGFILE_EMBEDDED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_measure_matches_records),
		cmocka_unit_test(test_elf_layout),
		cmocka_unit_test(test_sigfile_raw_and_embedded),
		cmocka_unit_test(test_sigfile_sdk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
