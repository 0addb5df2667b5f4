/* The attestation sample's host program: builds attest_encl.elf into enclaves through the
 * Linux SGX interface and shows local attestation (in one process and between two) and
 * sealing. Nothing here is specific to sgxemu: on a machine with SGX it runs as is.
 *
 *   attest_host                      the demonstration; exit 0 if everything behaved
 *   attest_host seal FILE TEXT       seal TEXT into FILE
 *   attest_host unseal FILE          print what FILE holds, if this enclave may open it
 *   attest_host keys                 print this enclave's SEAL and REPORT keys (KEYID 0)
 *   attest_host probe-provision      how /dev/sgx_provision looks to this process
 * Options (before the command's arguments):
 *   --key PEM        signing key (default: attest_key.pem next to this program)
 *   --svn N          the enclave's ISVSVN (default 1)
 *   --heap PAGES     unmeasured heap pages: another layout, so another MRENCLAVE (default 0)
 *   --policy P       seal: mrenclave or mrsigner (default mrenclave)
 *   --seal-svn N     seal: the ISVSVN to seal for (default: the enclave's own)
 * Exit status: 0 ok, 1 usage or setup error, 3 the enclave refused (unseal). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "samples/attest/attest_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

struct opts {
	const char *key;
	unsigned svn, heap, seal_svn;
	uint16_t policy;
};

static struct opts o = { NULL, 1, 0, 0xFFFF, SGX_KEYPOLICY_MRENCLAVE };

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("attest: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *hex(const uint8_t *p, size_t n)
{
	static char buf[2 * 64 + 1];

	return encl_hex(p, n < 64 ? n : 64, buf);
}

static EVP_PKEY *signing_key(void)
{
	char path[PATH_MAX];
	const char *file = o.key;
	EVP_PKEY *key;

	if (!file && encl_path_near_exe("attest_key.pem", path, sizeof(path)) &&
	    access(path, R_OK) == 0)
		file = path;
	if (file) {
		key = sign_load_key(file);
		if (!key)
			die("cannot load the signing key %s", file);
		return key;
	}
	fprintf(stderr, "attest: no attest_key.pem here: signing with a throwaway key "
			"(sealed data will not open in another run)\n");
	key = sign_generate_key();
	if (!key)
		die("cannot generate an RSA-3072 signing key");
	return key;
}

/* Build the sample enclave with ISVPRODID 1 and ISVSVN svn, signed by key. */
static void build(struct encl *e, unsigned heap_pages, unsigned svn, EVP_PKEY *key)
{
	char path[PATH_MAX];

	if (!encl_path_near_exe("attest_encl.elf", path, sizeof(path)))
		die("cannot find attest_encl.elf");
	if (encl_load(e, path, (size_t)heap_pages * 4096) < 0)
		die("%s", e->err);
	if (encl_sign(e, key) < 0)
		die("%s", e->err);
	e->sigstruct.body.isv_prod_id = 1;
	e->sigstruct.body.isv_svn = (uint16_t)svn;
	if (sign_sigstruct(&e->sigstruct, key) < 0)
		die("signing failed");
	if (encl_create(e) < 0 || encl_add_all(e) < 0 || encl_init(e) < 0 || encl_map(e) < 0) {
		if (errno == ENOENT && e->fd < 0)
			die("%s\n(no SGX here? run it under the emulator: sgxemu run -- attest_host)",
			    e->err);
		die("%s", e->err);
	}
}

static uint32_t ecall(const struct encl *e, struct attest_call *c)
{
	struct sgx_enclave_run run;
	int rc = encl_enter(e, 0, c, &run);

	if (rc != 0 || run.function != ENCLU_EEXIT)
		die("ecall %u: vDSO returned %d, function %u, exception %u error %#x at %#llx", c->op,
		    rc, run.function, run.exception_vector, run.exception_error_code,
		    (unsigned long long)run.exception_addr);
	return c->status;
}

static void targetinfo(const struct encl *e, struct sgx_targetinfo *ti)
{
	struct attest_call c = { .op = AOP_TARGETINFO };

	if (ecall(e, &c) != ATT_OK)
		die("TARGETINFO failed");
	*ti = c.ti;
}

static void report(const struct encl *e, const struct sgx_targetinfo *ti, const char *msg,
		   struct sgx_report *rep)
{
	struct attest_call c = { .op = AOP_REPORT, .ti = *ti };

	memcpy(c.data, msg, strnlen(msg, sizeof(c.data)));
	if (ecall(e, &c) != ATT_OK)
		die("REPORT failed");
	*rep = c.report;
}

static uint32_t verify(const struct encl *e, const struct sgx_report *rep)
{
	struct attest_call c = { .op = AOP_VERIFY, .report = *rep, .flags = ATTEST_SAME_SIGNER };

	return ecall(e, &c);
}

static const char *verdict(uint32_t st)
{
	switch (st) {
	case ATT_OK: return "accepted";
	case ATT_EMAC: return "rejected: MAC mismatch";
	case ATT_ESIGNER: return "rejected: another signer";
	case ATT_ESGX: return "rejected: EGETKEY failed";
	default: return "rejected: bad request";
	}
}

static int failures;

static void expect(bool ok, const char *what)
{
	printf("  %-58s %s\n", what, ok ? "ok" : "UNEXPECTED");
	failures += !ok;
}

/* ---- sealing ---- */

static uint32_t seal(const struct encl *e, uint16_t policy, unsigned seal_svn, const void *data,
		     size_t len, uint8_t *blob, size_t *bloblen, uint64_t *sgx)
{
	struct attest_call c = {
		.op = AOP_SEAL, .policy = policy, .isv_svn = (uint16_t)seal_svn,
		.buf = (uintptr_t)data, .len = len, .out = (uintptr_t)blob, .out_len = *bloblen,
	};
	uint32_t st;

	if (getrandom(c.keyid, sizeof(c.keyid), 0) != sizeof(c.keyid))
		die("getrandom: %s", strerror(errno));
	st = ecall(e, &c);
	*bloblen = c.out_len;
	*sgx = c.sgx;
	return st;
}

static uint32_t unseal(const struct encl *e, const uint8_t *blob, size_t len, uint8_t *out,
		       size_t *outlen, uint64_t *sgx)
{
	struct attest_call c = {
		.op = AOP_UNSEAL, .buf = (uintptr_t)blob, .len = len, .out = (uintptr_t)out,
		.out_len = *outlen,
	};
	uint32_t st = ecall(e, &c);

	*outlen = c.out_len;
	*sgx = c.sgx;
	return st;
}

/* ---- two processes: the responder is this program again, talking over two pipes ---- */

static void xwrite(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t r = write(fd, b, n);

		if (r <= 0)
			die("write to the other process: %s", r ? strerror(errno) : "closed");
		b += r;
		n -= (size_t)r;
	}
}

static void xread(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = read(fd, b, n);

		if (r <= 0)
			die("read from the other process: %s", r ? strerror(errno) : "closed");
		b += r;
		n -= (size_t)r;
	}
}

/* The responder's side: B. It sends its TARGETINFO, gets the initiator's, checks every report
 * it is sent and answers with a verdict and, for a genuine one, a report of its own. */
static int responder(int rfd, int wfd)
{
	struct sgx_targetinfo mine, theirs;
	struct sgx_report rep, answer;
	struct encl b;
	EVP_PKEY *key = signing_key();

	build(&b, 1, o.svn, key);
	targetinfo(&b, &mine);
	xwrite(wfd, &mine, sizeof(mine));
	xread(rfd, &theirs, sizeof(theirs));
	for (;;) {
		uint32_t st;
		ssize_t r = read(rfd, &rep, sizeof(rep));

		if (r == 0)
			break;
		if (r != sizeof(rep))
			die("responder: short report");
		st = verify(&b, &rep);
		memset(&answer, 0, sizeof(answer));
		if (st == ATT_OK)
			report(&b, &theirs, "hello from B", &answer);
		xwrite(wfd, &st, sizeof(st));
		xwrite(wfd, &answer, sizeof(answer));
	}
	encl_free(&b);
	EVP_PKEY_free(key);
	return 0;
}

static pid_t spawn_responder(int *rfd, int *wfd)
{
	int to[2], from[2];
	char a[16], b[16], exe[PATH_MAX], svn[16];
	pid_t pid;

	if (pipe(to) || pipe(from))
		die("pipe: %s", strerror(errno));
	if (!encl_path_near_exe("attest_host", exe, sizeof(exe)))
		die("cannot find myself");
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(to[1]);
		close(from[0]);
		snprintf(a, sizeof(a), "%d", to[0]);
		snprintf(b, sizeof(b), "%d", from[1]);
		snprintf(svn, sizeof(svn), "%u", o.svn);
		if (o.key)
			execl(exe, exe, "--key", o.key, "--svn", svn, "responder", a, b, (char *)NULL);
		else
			execl(exe, exe, "--svn", svn, "responder", a, b, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	*wfd = to[1];
	*rfd = from[0];
	return pid;
}

static void two_processes(void)
{
	struct sgx_targetinfo ti_a, ti_b;
	struct sgx_report rep, answer;
	struct encl a;
	uint32_t st;
	int rfd, wfd, status;
	pid_t pid;
	EVP_PKEY *key;

	printf("two processes (this one is A, a child process holds B):\n");
	pid = spawn_responder(&rfd, &wfd); /* before any enclave exists here */
	key = signing_key();
	build(&a, 0, o.svn, key);
	targetinfo(&a, &ti_a);
	xread(rfd, &ti_b, sizeof(ti_b));
	xwrite(wfd, &ti_a, sizeof(ti_a));

	report(&a, &ti_b, "hello from A", &rep);
	xwrite(wfd, &rep, sizeof(rep));
	xread(rfd, &st, sizeof(st));
	xread(rfd, &answer, sizeof(answer));
	expect(st == ATT_OK, "B (other process) accepts A's report");
	expect(st == ATT_OK && verify(&a, &answer) == ATT_OK,
	       "A accepts B's answer from the other process");

	rep.body.report_data[0] ^= 1; /* forged: the data no longer is what A reported */
	xwrite(wfd, &rep, sizeof(rep));
	xread(rfd, &st, sizeof(st));
	xread(rfd, &answer, sizeof(answer));
	printf("  forged report to B: %s\n", verdict(st));
	expect(st == ATT_EMAC, "B rejects a forged report");

	close(wfd);
	close(rfd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("  the responder failed (status %#x)\n", status);
		failures++;
	}
	encl_free(&a);
	EVP_PKEY_free(key);
}

/* ---- the demonstration ---- */

static void demo(void)
{
	static const char secret[] = "the combination is 12-34-56";
	struct sgx_targetinfo ti_a, ti_b;
	struct sgx_report rep, bad;
	uint8_t blob[sizeof(struct attest_sealed) + sizeof(secret)], out[sizeof(secret)];
	size_t bloblen = sizeof(blob), outlen = sizeof(out);
	struct encl a, b;
	uint64_t sgx;
	EVP_PKEY *key = signing_key();

	build(&a, 0, o.svn, key);
	build(&b, 1, o.svn, key); /* one more page: another MRENCLAVE, the same signer */
	printf("enclave A: MRENCLAVE %s\n", hex(a.mrenclave, 32));
	printf("enclave B: MRENCLAVE %s\n", hex(b.mrenclave, 32));

	printf("local attestation in one process:\n");
	targetinfo(&a, &ti_a);
	targetinfo(&b, &ti_b);
	report(&a, &ti_b, "hello from A", &rep);
	expect(!memcmp(rep.body.mrenclave, a.mrenclave, 32), "A's report names A's MRENCLAVE");
	expect(verify(&b, &rep) == ATT_OK, "B accepts A's report to B");
	expect(verify(&a, &rep) == ATT_EMAC, "A cannot check a report meant for B");
	bad = rep;
	bad.body.isv_svn++; /* claims a newer version */
	printf("  forged report (ISVSVN raised): %s\n", verdict(verify(&b, &bad)));
	expect(verify(&b, &bad) == ATT_EMAC, "B rejects it");
	report(&b, &ti_a, "hello from B", &rep);
	expect(verify(&a, &rep) == ATT_OK, "A accepts B's report to A");

	printf("sealing:\n");
	expect(seal(&a, SGX_KEYPOLICY_MRENCLAVE, 0xFFFF, secret, sizeof(secret), blob, &bloblen,
		    &sgx) == ATT_OK, "A seals a secret to its MRENCLAVE");
	expect(unseal(&a, blob, bloblen, out, &outlen, &sgx) == ATT_OK &&
	       !memcmp(out, secret, sizeof(secret)), "A opens it");
	expect(unseal(&b, blob, bloblen, out, &outlen, &sgx) == ATT_EMAC,
	       "B (same signer) cannot");
	bloblen = sizeof(blob);
	expect(seal(&a, SGX_KEYPOLICY_MRSIGNER, 0xFFFF, secret, sizeof(secret), blob, &bloblen,
		    &sgx) == ATT_OK, "A seals a secret to its signer");
	outlen = sizeof(out);
	expect(unseal(&b, blob, bloblen, out, &outlen, &sgx) == ATT_OK &&
	       !memcmp(out, secret, sizeof(secret)), "B opens that one");
	blob[bloblen - 1] ^= 1;
	expect(unseal(&b, blob, bloblen, out, &outlen, &sgx) == ATT_EMAC,
	       "a changed sealed blob is refused");
	encl_free(&a);
	encl_free(&b);
	EVP_PKEY_free(key);

	two_processes();
	printf("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
}

/* ---- commands for scripts and tests ---- */

static int cmd_seal(const char *file, const char *text)
{
	size_t len = strlen(text), bloblen = sizeof(struct attest_sealed) + len;
	uint8_t *blob = malloc(bloblen);
	struct encl e;
	uint64_t sgx;
	uint32_t st;
	FILE *f;
	EVP_PKEY *key = signing_key();

	if (!blob)
		die("out of memory");
	build(&e, o.heap, o.svn, key);
	st = seal(&e, o.policy, o.seal_svn, text, len, blob, &bloblen, &sgx);
	if (st != ATT_OK) {
		fprintf(stderr, "attest: seal: %s (EGETKEY status %llu)\n", verdict(st),
			(unsigned long long)sgx);
		return 3;
	}
	f = fopen(file, "wb");
	if (!f || fwrite(blob, 1, bloblen, f) != bloblen || fclose(f))
		die("cannot write %s", file);
	encl_free(&e);
	free(blob);
	EVP_PKEY_free(key);
	return 0;
}

static int cmd_unseal(const char *file)
{
	uint8_t blob[sizeof(struct attest_sealed) + 4096], out[4096];
	size_t bloblen, outlen = sizeof(out);
	struct encl e;
	uint64_t sgx;
	uint32_t st;
	FILE *f = fopen(file, "rb");
	EVP_PKEY *key;

	if (!f)
		die("cannot open %s: %s", file, strerror(errno));
	bloblen = fread(blob, 1, sizeof(blob), f);
	fclose(f);
	key = signing_key();
	build(&e, o.heap, o.svn, key);
	st = unseal(&e, blob, bloblen, out, &outlen, &sgx);
	encl_free(&e);
	EVP_PKEY_free(key);
	if (st == ATT_ESGX) {
		fprintf(stderr, "attest: unseal: EGETKEY refused: %s\n",
			sgx == SGX_INVALID_ISVSVN ? "SGX_INVALID_ISVSVN" :
			sgx == SGX_INVALID_CPUSVN ? "SGX_INVALID_CPUSVN" : "another status");
		return 3;
	}
	if (st != ATT_OK) {
		fprintf(stderr, "attest: unseal: %s\n", verdict(st));
		return 3;
	}
	fwrite(out, 1, outlen, stdout);
	putchar('\n');
	return 0;
}

static void print_key(const struct encl *e, const char *name, uint16_t keyname, uint16_t policy)
{
	struct attest_call c = { .op = AOP_GETKEY };

	c.kr.keyname = keyname;
	c.kr.keypolicy = policy;
	c.kr.isv_svn = (uint16_t)o.svn;
	c.kr.attribute_mask.flags = ATTEST_SEAL_ATTR_MASK;
	if (ecall(e, &c) == ATT_OK)
		printf("%s %s\n", name, hex(c.key, 16));
	else
		printf("%s error %llu\n", name, (unsigned long long)c.sgx);
}

static int cmd_keys(void)
{
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	struct encl e;
	EVP_PKEY *key = signing_key();

	build(&e, o.heap, o.svn, key);
	targetinfo(&e, &ti);
	report(&e, &ti, "", &rep);
	printf("mrenclave %s\n", hex(rep.body.mrenclave, 32));
	printf("mrsigner %s\n", hex(rep.body.mrsigner, 32));
	printf("cpusvn %s\n", hex(rep.body.cpusvn, 16));
	print_key(&e, "seal-mrenclave", SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRENCLAVE);
	print_key(&e, "seal-mrsigner", SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER);
	print_key(&e, "report", SGX_KEYNAME_REPORT, 0);
	print_key(&e, "provision", SGX_KEYNAME_PROVISION, 0);
	encl_free(&e);
	EVP_PKEY_free(key);
	return 0;
}

static int cmd_probe_provision(void)
{
	struct stat st;
	int s = stat("/dev/sgx_provision", &st), serr = errno;
	int a = access("/dev/sgx_provision", R_OK | W_OK), aerr = errno;
	int fd = open("/dev/sgx_provision", O_RDWR), oerr = errno;

	printf("stat %d errno %d mode %03o gid %u\n", s, s ? serr : 0,
	       s ? 0 : (unsigned)(st.st_mode & 0777), s ? 0 : (unsigned)st.st_gid);
	printf("access %d errno %d\n", a, a ? aerr : 0);
	printf("open %s errno %d\n", fd >= 0 ? "ok" : "failed", fd >= 0 ? 0 : oerr);
	if (fd >= 0)
		close(fd);
	return 0;
}

static unsigned number(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end || v > 0xFFFF)
		die("%s: not a number: %s", what, s);
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (i + 1 >= argc)
			die("%s needs a value", argv[i]);
		if (!strcmp(argv[i], "--key"))
			o.key = argv[i + 1];
		else if (!strcmp(argv[i], "--svn"))
			o.svn = number(argv[i + 1], "--svn");
		else if (!strcmp(argv[i], "--heap"))
			o.heap = number(argv[i + 1], "--heap");
		else if (!strcmp(argv[i], "--seal-svn"))
			o.seal_svn = number(argv[i + 1], "--seal-svn");
		else if (!strcmp(argv[i], "--policy") && !strcmp(argv[i + 1], "mrenclave"))
			o.policy = SGX_KEYPOLICY_MRENCLAVE;
		else if (!strcmp(argv[i], "--policy") && !strcmp(argv[i + 1], "mrsigner"))
			o.policy = SGX_KEYPOLICY_MRSIGNER;
		else
			die("unknown option %s %s", argv[i], argv[i + 1]);
	}
	if (i == argc) {
		demo();
		return failures ? 1 : 0;
	}
	if (!strcmp(argv[i], "seal") && argc - i == 3)
		return cmd_seal(argv[i + 1], argv[i + 2]);
	if (!strcmp(argv[i], "unseal") && argc - i == 2)
		return cmd_unseal(argv[i + 1]);
	if (!strcmp(argv[i], "keys") && argc - i == 1)
		return cmd_keys();
	if (!strcmp(argv[i], "probe-provision") && argc - i == 1)
		return cmd_probe_provision();
	if (!strcmp(argv[i], "responder") && argc - i == 3)
		return responder((int)number(argv[i + 1], "fd"), (int)number(argv[i + 2], "fd"));
	die("usage: attest_host [--key PEM] [--svn N] [--heap PAGES] [--policy mrenclave|mrsigner] "
	    "[--seal-svn N] [seal FILE TEXT | unseal FILE | keys | probe-provision]");
	return 1;
}
