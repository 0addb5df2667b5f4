/* The demo's host program: builds demo_encl.elf into an enclave with the Linux SGX driver
 * interface, then calls into it through the vDSO a few times and prints what happens.
 *
 *   build/sgxemu run -- build/demo/demo_host [--debug] [ENCLAVE.elf]
 *
 * --debug builds it as a debug enclave (ATTRIBUTES.DEBUG), one a debugger may look into
 * (sgxemu gdb); without it the enclave is a production one.
 *
 * Nothing here is specific to sgxemu: on a machine with SGX it runs as is. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "demo/demo_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

static struct encl encl;
static unsigned ecalls;
static const char *progname = "demo_host";
static int debug_enclave;

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("demo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* One call into the enclave on TCS tcs; dies unless it came back with EEXIT. */
static void ecall(unsigned tcs, struct demo_call *c)
{
	struct sgx_enclave_run run;
	int rc = encl_enter(&encl, tcs, c, &run);

	ecalls++;
	if (rc != 0 || run.function != ENCLU_EEXIT)
		die("ecall %u: vDSO returned %d, function %u, exception vector %u error %#x at %#llx",
		    ecalls, rc, run.function, run.exception_vector, run.exception_error_code,
		    (unsigned long long)run.exception_addr);
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
	uint64_t h = DEMO_FNV_OFFSET;

	while (len--) {
		h ^= *p++;
		h *= DEMO_FNV_PRIME;
	}
	return h;
}

static EVP_PKEY *signing_key(void)
{
	char path[PATH_MAX];
	EVP_PKEY *key;

	/* make demo generates build/keys/demo_key.pem next to build/demo/. */
	if (encl_path_near_exe("../keys/demo_key.pem", path, sizeof(path)) &&
	    access(path, R_OK) == 0) {
		key = sign_load_key(path);
		if (!key)
			die("cannot load the signing key %s", path);
		return key;
	}
	printf("no ../keys/demo_key.pem next to this program: signing with a throwaway key\n");
	key = sign_generate_key();
	if (!key)
		die("cannot generate an RSA-3072 signing key");
	return key;
}

static void build(const char *elf)
{
	uint8_t mrsigner[32];
	char hex[65];
	unsigned measured = 0;
	EVP_PKEY *key = signing_key();

	if (encl_load(&encl, elf, 0) < 0)
		die("%s", encl.err);
	if (debug_enclave)
		encl.attributes |= SGX_ATTR_DEBUG;
	if (encl_build(&encl, key) < 0) {
		if (errno == ENOENT && encl.fd < 0)
			die("%s\n(no SGX here? run it under the emulator: sgxemu run -- %s)", encl.err,
			    progname);
		die("%s", encl.err);
	}
	EVP_PKEY_free(key);
	for (unsigned i = 0; i < encl.nseg; i++)
		measured += (unsigned)(encl.seg[i].size / 4096);
	printf("%s enclave built: %lu KiB at %#lx, %u TCS, %u pages added and measured\n",
	       debug_enclave ? "debug" : "production", (unsigned long)(encl.size / 1024),
	       (unsigned long)encl.base, encl.ntcs, measured);
	printf("  MRENCLAVE %s\n", encl_hex(encl.mrenclave, 32, hex));
	/* MRSIGNER is the SHA-256 of the signer's modulus as stored in SIGSTRUCT. */
	if (EVP_Digest(encl.sigstruct.modulus, sizeof(encl.sigstruct.modulus), mrsigner, NULL,
		       EVP_sha256(), NULL) == 1)
		printf("  MRSIGNER  %s\n", encl_hex(mrsigner, 32, hex));
	if (!encl_vdso())
		die("__vdso_sgx_enter_enclave is not in the vDSO (kernel without SGX support?)");
}

static void greet(void)
{
	char text[128];
	struct demo_call c = { .op = DEMO_GREET, .buf = (uintptr_t)text, .len = sizeof(text) };

	memset(text, 0, sizeof(text));
	ecall(0, &c);
	if (c.status != DEMO_OK)
		die("greet failed with status %u", c.status);
	printf("ecall %u (greet, TCS 1): \"%s\"\n", ecalls, text);
}

static void count(unsigned tcs, uint64_t expect)
{
	struct demo_call c = { .op = DEMO_COUNT };

	ecall(tcs, &c);
	printf("ecall %u (count, TCS %u): counter = %llu\n", ecalls, tcs + 1,
	       (unsigned long long)c.out);
	if (c.status != DEMO_OK || c.out != expect)
		die("the counter should be %llu", (unsigned long long)expect);
}

static void checksum(void)
{
	static uint8_t data[64 * 1024];
	struct demo_call c = { .op = DEMO_CHECKSUM, .buf = (uintptr_t)data, .len = sizeof(data) };
	uint64_t want;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 8));
	want = fnv1a(data, sizeof(data));
	ecall(0, &c);
	printf("ecall %u (checksum of %zu KiB of host memory): %#018llx, host computed %#018llx: %s\n",
	       ecalls, sizeof(data) / 1024, (unsigned long long)c.out, (unsigned long long)want,
	       c.out == want ? "match" : "MISMATCH");
	if (c.status != DEMO_OK || c.out != want)
		die("checksum mismatch");
}

static void secret(void)
{
	static const uint64_t guesses[] = { 1000, 2000, 1234 };
	struct demo_call c = { .op = DEMO_SET_SECRET, .in = 1234 };

	ecall(1, &c);
	printf("ecall %u (set secret, TCS 2): the enclave keeps 1234; the host forgets it\n", ecalls);
	if (c.status != DEMO_OK)
		die("setting the secret failed with status %u", c.status);
	for (size_t i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++) {
		struct demo_call g = { .op = DEMO_GUESS, .in = guesses[i] };
		int64_t r;

		ecall(0, &g);
		r = (int64_t)g.out;
		printf("ecall %u (guess %llu): %s\n", ecalls, (unsigned long long)guesses[i],
		       r == 0 ? "right" : r > 0 ? "too high" : "too low");
		if (g.status != DEMO_OK || r != (guesses[i] == 1234 ? 0 : guesses[i] > 1234 ? 1 : -1))
			die("unexpected answer");
	}
	c = (struct demo_call){ .op = DEMO_SET_SECRET, .in = 1 };
	ecall(0, &c);
	printf("ecall %u (set secret again): %s\n", ecalls,
	       c.status == DEMO_EPERM ? "refused, it can be set only once" : "accepted?!");
	if (c.status != DEMO_EPERM)
		die("the enclave should refuse a second secret");
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	const char *elf;

	progname = argv[0];
	if (argc > 1 && !strcmp(argv[1], "--debug")) {
		debug_enclave = 1;
		argv++;
		argc--;
	}
	elf = argc > 1 ? argv[1] : encl_path_near_exe("demo_encl.elf", path, sizeof(path));
	if (!elf)
		die("cannot find demo_encl.elf next to this program");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("sgxemu demo: loading %s\n", elf);
	build(elf);
	greet();
	count(0, 1);
	count(0, 2);
	count(1, 3); /* the other TCS sees the same enclave memory */
	checksum();
	secret();
	greet();
	printf("demo: %u ecalls, all returned what we expected\n", ecalls);
	encl_free(&encl);
	return 0;
}
