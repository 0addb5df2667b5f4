/* sgxemu measure: the MRENCLAVE an enclave image will have, and the image layout that
 * `sgxemu sign` shares.
 *
 * The layout is the one our loader (tests/lib/encl_loader.c) and the kernel selftest build:
 * an x86-64 ELF linked at 0 whose PT_LOAD segments, in address order, become enclave pages at
 * base + p_vaddr. The first PT_LOAD holds the TCS pages (it must be RW; each page is EADDed
 * as PT_TCS); every other PT_LOAD is EADDed as PT_REG with the segment's R/W/X, page by page,
 * and every page is EEXTENDed in full (contents from the file, zeros past p_filesz). An
 * optional heap of RW pages follows the last segment, EADDed but not EEXTENDed. ELRANGE is
 * the smallest power of two (at least 8 KiB) that holds it all; SSAFRAMESIZE defaults to 1. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/arch.h"
#include "cpu/measure.h"
#include "tools/cmds.h"
#include "util/config.h"

#define PAGE 4096ULL
/* The emulated CPU's MaxEnclaveSize_64 (cpu/cpuid.c): no enclave is larger. */
#define MAX_ELRANGE (1ULL << 36)

static int layout_error(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int read_image(const char *path, uint8_t **img, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return layout_error(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return layout_error(err, errlen, "%s: not a regular, non-empty file", path);
	}
	*len = (size_t)st.st_size;
	*img = malloc(*len);
	if (!*img) {
		close(fd);
		return layout_error(err, errlen, "out of memory");
	}
	while (done < *len) {
		ssize_t r = read(fd, *img + done, *len - done);

		if (r <= 0) {
			close(fd);
			free(*img);
			return layout_error(err, errlen, "%s: cannot read", path);
		}
		done += (size_t)r;
	}
	close(fd);
	return 0;
}

/* Program header i, copied out of the image: the file may put it at any offset, and reading
 * it in place would be a misaligned access (checked: e_phnum headers fit from e_phoff). */
static const Elf64_Phdr *phdr_copy(Elf64_Phdr *out, const uint8_t *img, const Elf64_Ehdr *eh,
				   unsigned i)
{
	memcpy(out, img + eh->e_phoff + (size_t)i * sizeof(*out), sizeof(*out));
	return out;
}

/* SECINFO.FLAGS of segment i (first = TCS) from ELF p_flags. */
static uint64_t seg_secinfo(unsigned i, uint32_t p_flags)
{
	if (i == 0)
		return (uint64_t)SGX_PT_TCS << SGX_SECINFO_TYPE_SHIFT;
	return ((uint64_t)SGX_PT_REG << SGX_SECINFO_TYPE_SHIFT) |
	       ((p_flags & PF_R) ? SGX_SECINFO_R : 0) | ((p_flags & PF_W) ? SGX_SECINFO_W : 0) |
	       ((p_flags & PF_X) ? SGX_SECINFO_X : 0);
}

int layout_measure_image(const uint8_t *img, size_t len, const char *path, uint64_t heap,
			 uint32_t ssa_frame_size, bool verbose, uint8_t mr[32], uint64_t *size_out,
			 char *err, size_t errlen)
{
	Elf64_Ehdr ehc;
	const Elf64_Ehdr *eh = &ehc;
	struct measure *m = NULL;
	uint8_t page[PAGE];
	uint64_t end = 0, size;
	unsigned nseg = 0;
	int rc = -1;

	if (heap % PAGE)
		return layout_error(err, errlen, "the heap size must be a multiple of 4 KiB");
	if (len >= sizeof(ehc))
		memcpy(&ehc, img, sizeof(ehc));
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		layout_error(err, errlen, "%s: not an x86-64 ELF image", path);
		goto out;
	}
	/* First pass: check the segments and find the end of the image. */
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr phc;
		const Elf64_Phdr *ph = phdr_copy(&phc, img, eh, i);

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr % PAGE || ph->p_vaddr < end || ph->p_filesz > ph->p_memsz ||
		    ph->p_offset > len || ph->p_filesz > len - ph->p_offset || !ph->p_memsz ||
		    ph->p_memsz > MAX_ELRANGE || ph->p_vaddr > MAX_ELRANGE) {
			layout_error(err, errlen, "%s: PT_LOAD %u is not page aligned, overlaps or "
				     "is truncated", path, i);
			goto out;
		}
		if (nseg == 0 && (ph->p_flags & (PF_R | PF_W | PF_X)) != (PF_R | PF_W)) {
			layout_error(err, errlen, "%s: the first PT_LOAD (the TCS pages) must be RW",
				     path);
			goto out;
		}
		end = ph->p_vaddr + (ph->p_memsz + PAGE - 1) / PAGE * PAGE;
		nseg++;
	}
	if (nseg < 2) {
		layout_error(err, errlen, "%s: needs a TCS segment and at least one more PT_LOAD",
			     path);
		goto out;
	}
	/* Bounded, so that the power of two below cannot overflow (it looped forever). */
	if (heap > MAX_ELRANGE || end + heap > MAX_ELRANGE) {
		layout_error(err, errlen, "%s: the image and heap need more than the largest enclave "
			     "(64 GiB)", path);
		goto out;
	}
	end += heap;
	for (size = 2 * PAGE; size < end; size <<= 1)
		;
	m = measure_new();
	if (!m || measure_ecreate(m, ssa_frame_size, size)) {
		layout_error(err, errlen, "out of memory");
		goto out;
	}
	if (verbose)
		printf("ELRANGE size %#llx, SSAFRAMESIZE %u\n", (unsigned long long)size,
		       ssa_frame_size);
	nseg = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr phc;
		const Elf64_Phdr *ph = phdr_copy(&phc, img, eh, i);
		uint64_t pages, si;

		if (ph->p_type != PT_LOAD)
			continue;
		pages = (ph->p_memsz + PAGE - 1) / PAGE;
		si = seg_secinfo(nseg, ph->p_flags);
		if (verbose)
			printf("  %#10llx %5llu pages %s %s%s%s measured\n",
			       (unsigned long long)ph->p_vaddr, (unsigned long long)pages,
			       nseg ? "REG" : "TCS", (si & SGX_SECINFO_R) ? "r" : "-",
			       (si & SGX_SECINFO_W) ? "w" : "-", (si & SGX_SECINFO_X) ? "x" : "-");
		for (uint64_t p = 0; p < pages; p++) {
			uint64_t off = p * PAGE, n = 0;

			memset(page, 0, sizeof(page));
			if (off < ph->p_filesz)
				n = ph->p_filesz - off < PAGE ? ph->p_filesz - off : PAGE;
			memcpy(page, img + ph->p_offset + off, n);
			if (nseg == 0) {
				/* What EADD leaves of a TCS before EEXTEND reads it. */
				struct sgx_tcs *t = (struct sgx_tcs *)page;

				t->flags &= ~SGX_TCS_FLAGS_DBGOPTIN;
				t->cssa = 0;
				t->aep = 0;
				t->state = 0;
			}
			/* EADD measures a TCS's SECINFO with R/W/X cleared: seg_secinfo has none. */
			measure_eadd(m, ph->p_vaddr + off, si);
			for (unsigned c = 0; c < PAGE; c += 256)
				measure_eextend(m, ph->p_vaddr + off + c, page + c);
		}
		nseg++;
	}
	for (uint64_t off = end - heap; off < end; off += PAGE)
		measure_eadd(m, off, ((uint64_t)SGX_PT_REG << SGX_SECINFO_TYPE_SHIFT) |
				     SGX_SECINFO_R | SGX_SECINFO_W);
	if (verbose && heap)
		printf("  %#10llx %5llu pages REG rw- not measured (heap)\n",
		       (unsigned long long)(end - heap), (unsigned long long)(heap / PAGE));
	if (measure_digest(m, mr)) {
		layout_error(err, errlen, "hashing failed");
		goto out;
	}
	if (size_out)
		*size_out = size;
	rc = 0;
out:
	measure_free(m);
	return rc;
}

int layout_measure(const char *path, uint64_t heap, uint32_t ssa_frame_size, bool verbose,
		   uint8_t mr[32], uint64_t *size_out, char *err, size_t errlen)
{
	uint8_t *img = NULL;
	size_t len = 0;
	int rc;

	if (heap % PAGE)
		return layout_error(err, errlen, "the heap size must be a multiple of 4 KiB");
	if (read_image(path, &img, &len, err, errlen))
		return -1;
	rc = layout_measure_image(img, len, path, heap, ssa_frame_size, verbose, mr, size_out, err,
				  errlen);
	free(img);
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

static void measure_usage(void)
{
	fprintf(stderr,
		"usage: sgxemu measure [--heap SIZE] [--ssa-frame-size N] [-v] ENCLAVE.elf\n"
		"Prints the MRENCLAVE the image gets when loaded as `sgxemu --help` describes.\n");
}

int cmd_measure(int argc, char **argv, int i)
{
	uint64_t heap = 0, ssa = 1;
	bool verbose = false;
	uint8_t mr[32];
	char err[512];

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = true;
		} else if (!strcmp(a, "--heap") && i + 1 < argc) {
			if (config_parse_size(argv[++i], &heap) || heap % PAGE) {
				fprintf(stderr, "sgxemu: measure: --heap wants a multiple of 4 KiB\n");
				return 2;
			}
		} else if (!strcmp(a, "--ssa-frame-size") && i + 1 < argc) {
			if (parse_u64(argv[++i], 0xFFFF, &ssa) || !ssa) {
				fprintf(stderr, "sgxemu: measure: --ssa-frame-size wants pages (1..)\n");
				return 2;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			measure_usage();
			return 0;
		} else {
			fprintf(stderr, "sgxemu: measure: unknown option '%s'\n", a);
			measure_usage();
			return 2;
		}
	}
	if (i + 1 != argc) {
		measure_usage();
		return 2;
	}
	if (layout_measure(argv[i], heap, (uint32_t)ssa, verbose, mr, NULL, err, sizeof(err))) {
		fprintf(stderr, "sgxemu: measure: %s\n", err);
		return 1;
	}
	for (unsigned k = 0; k < 32; k++)
		printf("%02x", mr[k]);
	printf("\n");
	return 0;
}
