/* libFuzzer target: the enclave-image (ELF) parsing of `sgxemu measure` and `sgxemu sign`
 * (tools/measure_cmd.c, tools/sign_cmd.c).
 *
 * Input: one byte of options (bits 0-3: heap pages; bits 4-5: SSA frame size - 1; bit 6: an
 * unaligned heap size; bit 7: also run `sgxemu sign` on the image), then the image.
 * Checks, besides "no crash, no undefined behaviour, no leak":
 *   - measuring is deterministic, and the ELRANGE size it reports is a power of two that
 *     holds every segment and the heap;
 *   - it agrees with the test loader (lib/encl_loader.c), an independent parser of the
 *     same format: when both accept an image they compute the same MRENCLAVE;
 *   - `sgxemu sign` accepts exactly the images `measure` accepts, and writes a SIGSTRUCT that
 *     EINIT's checks accept (sigstruct_verify) and names that MRENCLAVE.
 * Images whose segments add up to more than 16 MiB are skipped: measuring them is correct but
 * slow (SHA-256 over every page). */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/sigstruct.h"
#include "lib/encl_loader.h"
#include "tools/cmds.h"
#include "lib/layout.h"

#define PG 4096ULL
#define MAX_BYTES (16ULL << 20)

/* The image in memory, as `sgxemu measure` reads an ELF file. */
struct image_mem {
	const uint8_t *img;
	size_t len;
};

static int image_mem_read(void *ctx, unsigned file, uint64_t off, void *buf, size_t n, char *err,
			  size_t errlen)
{
	const struct image_mem *m = ctx;

	(void)file;
	if (off > m->len || n > m->len - off) {
		snprintf(err, errlen, "input: truncated");
		return -1;
	}
	memcpy(buf, m->img + off, n);
	return 0;
}

/* What `sgxemu measure` computes for the image: its layout, then MRENCLAVE. */
static int measure_image(const uint8_t *img, size_t len, uint64_t heap, uint32_t ssa,
			 uint8_t mr[32], uint64_t *esize, char *err, size_t errlen)
{
	struct image_mem m = { img, len };
	struct layout l;
	int rc;

	memset(&l, 0, sizeof(l));
	err[0] = 0;
	if (layout_from_elf(img, len, "input", heap, &l, err, errlen))
		return -1;
	rc = layout_measure(&l, ssa, image_mem_read, &m, mr, esize, err, errlen);
	layout_free(&l);
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char img_path[128], sig_path[128];
static const char *key_path = "tests/data/test_signing_key.pem";

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_elf: invariant broken: %s\n", what);
	abort();
}

/* The PT_LOADs' memory sizes, added up the way the parsers walk them (0 if absurd). */
static uint64_t image_bytes(const uint8_t *img, size_t len)
{
	Elf64_Ehdr eh;
	uint64_t total = 0;

	if (len < sizeof(eh))
		return 0;
	memcpy(&eh, img, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t at = eh.e_phoff + (uint64_t)i * sizeof(ph);

		if (at < eh.e_phoff || at > len || len - at < sizeof(ph))
			break;
		memcpy(&ph, img + at, sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_memsz > MAX_BYTES)
			return UINT64_MAX;
		total += ph.p_memsz;
	}
	return total;
}

static int write_all(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	return close(fd);
}

static int devnull = -1;

/* cmd_sign with its stdout (MRENCLAVE and MRSIGNER lines) thrown away. */
static int quiet_sign(int argc, char **argv)
{
	int saved, rc;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(devnull, STDOUT_FILENO);
	rc = cmd_sign(argc, argv, 2);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (access(key_path, R_OK)) {
		fprintf(stderr, "fuzz_elf: run from the top of the tree (needs %s)\n", key_path);
		exit(1);
	}
	snprintf(dir, sizeof(dir), "/tmp/fuzz_elf.XXXXXX");
	if (!mkdtemp(dir))
		exit(1);
	snprintf(img_path, sizeof(img_path), "%s/image.elf", dir);
	snprintf(sig_path, sizeof(sig_path), "%s/image.sig", dir);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mr[32], mr2[32], opt;
	uint64_t heap, esize = 0, bytes;
	uint32_t ssa;
	char err[512];
	uint8_t *img;
	size_t len;
	struct encl e;
	int rc, rc2, loaded;

	if (size < 1)
		return 0;
	opt = data[0];
	/* In a buffer of its own, as the CLI reads it (ASan sees any read past the end). */
	len = size - 1;
	bytes = image_bytes(data + 1, len);
	if (!len || bytes > MAX_BYTES)
		return 0;
	img = malloc(len);
	if (!img)
		return 0;
	memcpy(img, data + 1, len);
	heap = (opt & 15) * PG + ((opt & 0x40) ? 0x123 : 0);
	ssa = 1 + ((opt >> 4) & 3);

	rc = measure_image(img, len, heap, ssa, mr, &esize, err, sizeof(err));
	if (!rc) {
		uint64_t esize2 = 0;

		if (heap % PG)
			fail("an unaligned heap size was accepted");
		if (esize < 2 * PG || (esize & (esize - 1)) || esize < bytes / PG * PG)
			fail("the ELRANGE size is not a power of two holding the image");
		if (measure_image(img, len, heap, ssa, mr2, &esize2, err, sizeof(err)) ||
		    memcmp(mr, mr2, 32) || esize != esize2)
			fail("measuring the same image twice gave different results");
	} else if (!err[0]) {
		fail("measure failed without saying why");
	}

	if (write_all(img_path, img, len))
		fail("cannot write the image to a temporary file");
	/* The test loader: same format, written separately. */
	loaded = encl_load(&e, img_path, heap % PG ? 0 : heap) == 0;
	if (loaded && !(heap % PG)) {
		e.ssa_frame_size = ssa;
		if (!encl_measure(&e, mr2) && !rc && memcmp(mr, mr2, 32))
			fail("sgxemu measure and the test loader compute different MRENCLAVEs");
	}
	encl_free(&e);

	if (opt & 0x80) {
		char heap_arg[32], ssa_arg[16];
		char *argv[] = { "sgxemu", "sign", "--key", (char *)key_path, "--out", sig_path,
				 "--heap", heap_arg, "--ssa-frame-size", ssa_arg, img_path, NULL };
		struct sgx_sigstruct sig;
		FILE *f;

		snprintf(heap_arg, sizeof(heap_arg), "%lu", (unsigned long)heap);
		snprintf(ssa_arg, sizeof(ssa_arg), "%u", ssa);
		unlink(sig_path);
		rc2 = quiet_sign(11, argv);
		if (!rc != !rc2)
			fail("sgxemu sign and sgxemu measure disagree about the image");
		if (!rc2) {
			f = fopen(sig_path, "rb");
			if (!f || fread(&sig, 1, sizeof(sig), f) != sizeof(sig))
				fail("sgxemu sign succeeded without writing a SIGSTRUCT");
			fclose(f);
			if (sigstruct_verify(&sig) != SGX_SUCCESS)
				fail("the SIGSTRUCT sgxemu sign wrote does not verify");
			if (memcmp(sig.body.mrenclave, mr, 32))
				fail("sgxemu sign names another MRENCLAVE than sgxemu measure");
		}
	}
	free(img);
	return 0;
}
