/* Keys and attestation end to end, under `sgxemu run`: the sample enclave
 * (samples/attest/attest_encl.c) built through /dev/sgx_enclave, local attestation between
 * enclaves, sealing under each policy across signers, versions, processes and platforms,
 * PROVISIONKEY and /dev/sgx_provision. The sample's programs are found in
 * ../../samples/attest/ relative to this binary.
 *
 * The test re-executes itself once with SGXEMU_PLATFORM_KEY in a fresh directory, so that it
 * neither uses nor creates the user's platform key, and sees the key file being created. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "samples/attest/attest_encl.h"
#include "lib/encl_loader.h"
#include "lib/sign.h"

#define HERMETIC_ENV "SGXEMU_TEST_ATTEST_DIR"

extern char **environ;

static char dir[PATH_MAX];          /* the test's platform directory */
static char elf[PATH_MAX], host[PATH_MAX], keyfile[PATH_MAX], sgxemu[PATH_MAX];
static EVP_PKEY *key1, *key2;

static void sample_path(const char *name, char *buf)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "../../samples/attest/%s", name);
	if (!encl_path_near_exe(rel, buf, PATH_MAX) || access(buf, R_OK))
		fail_msg("cannot find %s next to the test binary (make samples)", rel);
}

/* The sample enclave: heap pages change MRENCLAVE; ISVPRODID 1, ISVSVN svn; extra attributes. */
static void build(struct encl *e, unsigned heap, unsigned svn, EVP_PKEY *key, uint64_t attrs,
		  int provision_fd, int *init_errno)
{
	if (encl_load(e, elf, (size_t)heap * 4096) < 0)
		fail_msg("%s", e->err);
	e->attributes |= attrs;
	if (encl_sign(e, key) < 0)
		fail_msg("%s", e->err);
	e->sigstruct.body.isv_prod_id = 1;
	e->sigstruct.body.isv_svn = (uint16_t)svn;
	assert_int_equal(sign_sigstruct(&e->sigstruct, key), 0);
	if (encl_create(e) < 0 || encl_add_all(e) < 0)
		fail_msg("%s", e->err);
	if (provision_fd >= 0) {
		struct sgx_enclave_provision p = { .fd = (uint64_t)provision_fd };

		assert_int_equal(ioctl(e->fd, SGX_IOC_ENCLAVE_PROVISION, &p), 0);
	}
	if (encl_init(e) < 0) {
		if (init_errno) {
			*init_errno = errno;
			return;
		}
		fail_msg("%s", e->err);
	}
	if (init_errno)
		*init_errno = 0;
	if (encl_map(e) < 0)
		fail_msg("%s", e->err);
}

static void build_simple(struct encl *e, unsigned heap, unsigned svn, EVP_PKEY *key)
{
	build(e, heap, svn, key, 0, -1, NULL);
}

static uint32_t ecall(const struct encl *e, struct attest_call *c)
{
	struct sgx_enclave_run run;
	int rc = encl_enter(e, 0, c, &run);

	if (rc != 0 || run.function != ENCLU_EEXIT)
		fail_msg("ecall %u: vDSO %d, function %u, vector %u, error %#x at %#llx", c->op, rc,
			 run.function, run.exception_vector, run.exception_error_code,
			 (unsigned long long)run.exception_addr);
	return c->status;
}

static struct sgx_targetinfo targetinfo(const struct encl *e)
{
	struct attest_call c = { .op = AOP_TARGETINFO };

	assert_int_equal(ecall(e, &c), ATT_OK);
	return c.ti;
}

static struct sgx_report report(const struct encl *e, const struct sgx_targetinfo *ti, uint8_t tag)
{
	struct attest_call c = { .op = AOP_REPORT, .ti = *ti };

	memset(c.data, tag, sizeof(c.data));
	assert_int_equal(ecall(e, &c), ATT_OK);
	return c.report;
}

static uint32_t verify(const struct encl *e, const struct sgx_report *rep, uint64_t flags)
{
	struct attest_call c = { .op = AOP_VERIFY, .report = *rep, .flags = flags };

	return ecall(e, &c);
}

/* EGETKEY inside e; returns its status, key filled on success. */
static uint64_t getkey(const struct encl *e, uint16_t name, uint16_t policy, uint16_t svn,
		       uint8_t key[16])
{
	struct attest_call c = { .op = AOP_GETKEY };

	c.kr.keyname = name;
	c.kr.keypolicy = policy;
	c.kr.isv_svn = svn;
	c.kr.attribute_mask.flags = ATTEST_SEAL_ATTR_MASK;
	ecall(e, &c);
	if (!c.sgx && key)
		memcpy(key, c.key, 16);
	return c.sgx;
}

struct blob {
	uint8_t b[sizeof(struct attest_sealed) + 64];
	size_t len;
};

static struct blob seal(const struct encl *e, uint16_t policy, uint16_t for_svn, const char *text)
{
	struct blob bl;
	struct attest_call c = {
		.op = AOP_SEAL, .policy = policy, .isv_svn = for_svn, .buf = (uintptr_t)text,
		.len = strlen(text), .out = (uintptr_t)bl.b, .out_len = sizeof(bl.b),
	};

	memset(c.keyid, 0xC5, sizeof(c.keyid));
	c.keyid[0] = (uint8_t)rand();
	assert_int_equal(ecall(e, &c), ATT_OK);
	bl.len = c.out_len;
	return bl;
}

/* ATT_* status; on ATT_ESGX *sgx holds EGETKEY's status; on success out holds the text. */
static uint32_t unseal(const struct encl *e, const struct blob *bl, char *out, uint64_t *sgx)
{
	struct attest_call c = {
		.op = AOP_UNSEAL, .buf = (uintptr_t)bl->b, .len = bl->len, .out = (uintptr_t)out,
		.out_len = 63,
	};
	uint32_t st = ecall(e, &c);

	if (sgx)
		*sgx = c.sgx;
	if (st == ATT_OK)
		out[c.out_len] = 0;
	return st;
}

/* Run argv[0] with env changes ("NAME=VALUE", or "NAME=" to remove NAME); its stdout and
 * stderr into out. posix_spawn does not run fork handlers, so no EPC is copied for the child. Returns the
 * exit status (or 256 + signal). */
static int run(char *const argv[], const char *const changes[], char *out, size_t outlen)
{
	char *envp[512];
	size_t n = 0, got = 0;
	posix_spawn_file_actions_t fa;
	int pfd[2], status;
	pid_t pid;

	for (char **e = environ; *e && n < 500; e++) {
		bool drop = false;

		for (unsigned i = 0; changes && changes[i]; i++) {
			size_t k = strcspn(changes[i], "=") + 1;

			drop |= !strncmp(*e, changes[i], k);
		}
		if (!drop)
			envp[n++] = *e;
	}
	for (unsigned i = 0; changes && changes[i]; i++)
		if (changes[i][strcspn(changes[i], "=") + 1])
			envp[n++] = (char *)changes[i];
	envp[n] = NULL;
	assert_int_equal(pipe(pfd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	for (;;) {
		ssize_t r = read(pfd[0], out + got, outlen - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = 0;
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
}

/* ---- in one process ---- */

/* A report checks out for its target only, and any change to it is caught. */
static void local_attestation(void **state)
{
	struct encl a, b, c;
	struct sgx_targetinfo ti_b;
	struct sgx_report rep, bad;
	unsigned rejected = 0;

	(void)state;
	build_simple(&a, 0, 1, key1);
	build_simple(&b, 1, 1, key1);
	build_simple(&c, 2, 1, key1);
	ti_b = targetinfo(&b);
	rep = report(&a, &ti_b, 0xAB);
	assert_memory_equal(rep.body.mrenclave, a.mrenclave, 32);
	assert_int_equal(rep.body.isv_prod_id, 1);
	assert_int_equal(rep.body.isv_svn, 1);
	assert_int_equal(rep.body.report_data[63], 0xAB);
	assert_int_equal(verify(&b, &rep, ATTEST_SAME_SIGNER), ATT_OK);
	assert_int_equal(verify(&c, &rep, 0), ATT_EMAC);
	assert_int_equal(verify(&a, &rep, 0), ATT_EMAC);
	for (unsigned bit = 0; bit < 8 * sizeof(rep); bit++) {
		bad = rep;
		((uint8_t *)&bad)[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		rejected += verify(&b, &bad, 0) != ATT_OK;
	}
	assert_int_equal(rejected, 8 * sizeof(rep));
	encl_free(&a);
	encl_free(&b);
	encl_free(&c);
}

/* A genuine report from an enclave of another signer: the MAC holds, the policy refuses. */
static void other_signer(void **state)
{
	struct encl b, d;
	struct sgx_targetinfo ti_b;
	struct sgx_report rep;

	(void)state;
	build_simple(&b, 1, 1, key1);
	build_simple(&d, 0, 1, key2);
	ti_b = targetinfo(&b);
	rep = report(&d, &ti_b, 1);
	assert_int_equal(verify(&b, &rep, 0), ATT_OK);
	assert_int_equal(verify(&b, &rep, ATTEST_SAME_SIGNER), ATT_ESIGNER);
	/* Rewriting MRSIGNER to ours breaks the MAC. */
	memcpy(rep.body.mrsigner, report(&b, &ti_b, 0).body.mrsigner, 32);
	assert_int_equal(verify(&b, &rep, ATTEST_SAME_SIGNER), ATT_EMAC);
	encl_free(&b);
	encl_free(&d);
}

static void seal_policies(void **state)
{
	struct encl v2, v2_other_signer, v1, v3, other_code;
	struct blob by_signer, by_enclave, for_v1;
	uint8_t k[16], k2[16];
	uint64_t sgx = 0;
	char out[64];

	(void)state;
	build_simple(&v2, 0, 2, key1);
	build_simple(&v2_other_signer, 0, 2, key2); /* same code, other signer */
	build_simple(&v1, 0, 1, key1);
	build_simple(&v3, 0, 3, key1);
	build_simple(&other_code, 1, 2, key1);

	by_signer = seal(&v2, SGX_KEYPOLICY_MRSIGNER, 0xFFFF, "for the signer");
	by_enclave = seal(&v2, SGX_KEYPOLICY_MRENCLAVE, 0xFFFF, "for this enclave");
	for_v1 = seal(&v2, SGX_KEYPOLICY_MRSIGNER, 1, "for version 1 and up");

	/* MRSIGNER policy: any code of the signer, this version or newer. */
	assert_int_equal(unseal(&v2, &by_signer, out, NULL), ATT_OK);
	assert_string_equal(out, "for the signer");
	assert_int_equal(unseal(&other_code, &by_signer, out, NULL), ATT_OK);
	assert_int_equal(unseal(&v3, &by_signer, out, NULL), ATT_OK);
	assert_int_equal(unseal(&v1, &by_signer, out, &sgx), ATT_ESGX);
	assert_int_equal(sgx, SGX_INVALID_ISVSVN);
	assert_int_equal(unseal(&v2_other_signer, &by_signer, out, NULL), ATT_EMAC);
	assert_int_equal(unseal(&v1, &for_v1, out, NULL), ATT_OK);
	assert_string_equal(out, "for version 1 and up");

	/* MRENCLAVE policy: this code only, whoever signed it (the SDM's dependencies). */
	assert_int_equal(unseal(&v2, &by_enclave, out, NULL), ATT_OK);
	assert_int_equal(unseal(&other_code, &by_enclave, out, NULL), ATT_EMAC);
	assert_int_equal(unseal(&v2_other_signer, &by_enclave, out, NULL), ATT_OK);
	assert_int_equal(unseal(&v1, &by_enclave, out, &sgx), ATT_ESGX);
	assert_int_equal(sgx, SGX_INVALID_ISVSVN);

	/* The keys themselves: a lower ISVSVN gives another key under each policy. */
	for (uint16_t pol = SGX_KEYPOLICY_MRENCLAVE; pol <= SGX_KEYPOLICY_MRSIGNER; pol++) {
		assert_int_equal(getkey(&v2, SGX_KEYNAME_SEAL, pol, 2, k), 0);
		assert_int_equal(getkey(&v2, SGX_KEYNAME_SEAL, pol, 1, k2), 0);
		assert_memory_not_equal(k, k2, 16);
		assert_int_equal(getkey(&v1, SGX_KEYNAME_SEAL, pol, 1, k2), 0);
		assert_int_equal(getkey(&v2, SGX_KEYNAME_SEAL, pol, 1, k), 0);
		assert_memory_equal(k, k2, 16); /* v2's key for SVN 1 is v1's key */
		assert_int_equal(getkey(&v1, SGX_KEYNAME_SEAL, pol, 2, NULL), SGX_INVALID_ISVSVN);
	}
	assert_int_equal(getkey(&v2, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER, 2, k), 0);
	assert_int_equal(getkey(&v2_other_signer, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRSIGNER, 2, k2), 0);
	assert_memory_not_equal(k, k2, 16);
	assert_int_equal(getkey(&v2, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRENCLAVE, 2, k), 0);
	assert_int_equal(getkey(&v2_other_signer, SGX_KEYNAME_SEAL, SGX_KEYPOLICY_MRENCLAVE, 2, k2), 0);
	assert_memory_equal(k, k2, 16);
	encl_free(&v2);
	encl_free(&v2_other_signer);
	encl_free(&v1);
	encl_free(&v3);
	encl_free(&other_code);
}

/* PROVISIONKEY needs the /dev/sgx_provision fd at INIT; PROVISION keys need PROVISIONKEY. */
static void provision_key(void **state)
{
	struct sgx_enclave_provision p;
	struct encl e, plain;
	uint8_t k[16];
	int err, fd, nullfd;

	(void)state;
	build(&e, 0, 1, key1, SGX_ATTR_PROVISIONKEY, -1, &err);
	assert_int_equal(err, EACCES);
	encl_free(&e);

	/* Any fd that is not /dev/sgx_provision proves nothing. */
	nullfd = open("/dev/null", O_RDWR);
	assert_true(nullfd >= 0);
	assert_int_equal(encl_load(&e, elf, 0), 0);
	assert_int_equal(encl_open(&e), 0);
	p.fd = (uint64_t)nullfd;
	errno = 0;
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &p), -1);
	assert_int_equal(errno, EINVAL);
	p.fd = (uint64_t)e.fd;
	errno = 0;
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &p), -1);
	assert_int_equal(errno, EINVAL);
	encl_free(&e);
	close(nullfd);

	fd = open("/dev/sgx_provision", O_RDWR);
	if (fd < 0)
		fail_msg("open /dev/sgx_provision: %s (the test runs as root or with "
			 "SGXEMU_PROVISION_MODE allowing it)", strerror(errno));
	build(&e, 0, 1, key1, SGX_ATTR_PROVISIONKEY, fd, &err);
	assert_int_equal(err, 0);
	close(fd); /* the permission was granted at the ioctl */
	assert_int_equal(getkey(&e, SGX_KEYNAME_PROVISION, 0, 1, k), SGX_SUCCESS);
	assert_int_equal(getkey(&e, SGX_KEYNAME_PROVISION_SEAL, 0, 1, k), SGX_SUCCESS);
	assert_int_equal(getkey(&e, SGX_KEYNAME_PROVISION, 0, 2, k), SGX_INVALID_ISVSVN);
	assert_int_equal(getkey(&e, SGX_KEYNAME_EINITTOKEN, 0, 1, k), SGX_INVALID_ATTRIBUTE);

	build_simple(&plain, 0, 1, key1);
	assert_int_equal(getkey(&plain, SGX_KEYNAME_PROVISION, 0, 1, k), SGX_INVALID_ATTRIBUTE);
	assert_int_equal(getkey(&plain, SGX_KEYNAME_PROVISION_SEAL, 0, 1, k), SGX_INVALID_ATTRIBUTE);
	assert_int_equal(getkey(&plain, 5, 0, 1, k), SGX_INVALID_KEYNAME);
	encl_free(&e);
	encl_free(&plain);
}

/* ---- across processes and platforms ---- */

static void platform_key_file(void **state)
{
	char path[PATH_MAX + 32], buf[128];
	struct stat st;
	int fd;
	ssize_t n;

	(void)state;
	/* The tests above brought the platform up: the key file exists, private. */
	snprintf(path, sizeof(path), "%s/platform.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 65);
	assert_int_equal(strspn(buf, "0123456789abcdef"), 64);
}

static int run_host(const char *const changes[], char *out, size_t len, ...)
{
	char *argv[16];
	unsigned n = 0;
	va_list ap;

	argv[n++] = host;
	argv[n++] = (char *)"--key";
	argv[n++] = keyfile;
	va_start(ap, len);
	for (char *a; (a = va_arg(ap, char *)) && n < 15;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, changes, out, len);
}

/* Sealed in one process, opened in another; a process of another platform cannot. */
static void seal_across_processes(void **state)
{
	static const char *const other_platform[] = {
		"SGXEMU_PLATFORM_KEY=",
		"SGXEMU_PLATFORM_SECRET=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		NULL,
	};
	char file[PATH_MAX + 32], out[4096], k1[4096], k2[4096];

	(void)state;
	snprintf(file, sizeof(file), "%s/sealed", dir);
	assert_int_equal(run_host(NULL, out, sizeof(out), "--svn", "2", "--policy", "mrsigner",
				  "seal", file, "sealed in another process", NULL), 0);
	assert_int_equal(run_host(NULL, out, sizeof(out), "--svn", "2", "unseal", file, NULL), 0);
	assert_string_equal(out, "sealed in another process\n");
	/* Newer code of the signer opens it too; an older version may not. */
	assert_int_equal(run_host(NULL, out, sizeof(out), "--svn", "3", "--heap", "2", "unseal",
				  file, NULL), 0);
	assert_int_equal(run_host(NULL, out, sizeof(out), "--svn", "1", "unseal", file, NULL), 3);
	assert_non_null(strstr(out, "EGETKEY refused: SGX_INVALID_ISVSVN"));
	/* Another platform: the same enclave gets other keys, so the MAC fails. */
	assert_int_equal(run_host(other_platform, out, sizeof(out), "--svn", "2", "unseal", file,
				  NULL), 3);
	assert_non_null(strstr(out, "MAC mismatch"));

	/* The keys themselves: the same in two runs, different on another platform. */
	assert_int_equal(run_host(NULL, k1, sizeof(k1), "keys", NULL), 0);
	assert_int_equal(run_host(NULL, k2, sizeof(k2), "keys", NULL), 0);
	assert_string_equal(k1, k2);
	assert_non_null(strstr(k1, "seal-mrenclave "));
	assert_int_equal(run_host(other_platform, k2, sizeof(k2), "keys", NULL), 0);
	assert_string_not_equal(k1, k2);
	assert_int_equal(run_host(other_platform, out, sizeof(out), "keys", NULL), 0);
	assert_string_equal(out, k2); /* a fixed secret is as stable as the file */
	/* Only the keys differ: identity and CPUSVN are the same. */
	assert_memory_equal(k1, k2, (size_t)(strstr(k1, "seal-mrenclave") - k1));
}

/* The sample's own demonstration: two enclaves in two processes, a forged report. */
static void two_processes(void **state)
{
	char *argv[] = { host, (char *)"--key", keyfile, NULL };
	char out[8192];
	int rc;

	(void)state;
	rc = run(argv, NULL, out, sizeof(out));
	if (rc != 0)
		fail_msg("attest_host exited %d:\n%s", rc, out);
	assert_non_null(strstr(out, "B (other process) accepts A's report"));
	assert_non_null(strstr(out, "forged report to B: rejected: MAC mismatch"));
	assert_non_null(strstr(out, "all checks passed"));
}

/* /dev/sgx_provision is root:GROUP with SGXEMU_PROVISION_MODE; an unprivileged process is
 * refused unless the mode lets it in. Run as nobody through setpriv when we are root. */
static void provision_permissions(void **state)
{
	static const char *const secret = "SGXEMU_PLATFORM_SECRET=" /* no key file needed */
		"0000000000000000000000000000000000000000000000000000000000000001";
	char out[4096];
	char *argv[12];
	unsigned n = 0;

	(void)state;
	if (geteuid() == 0) {
		if (access("/usr/bin/setpriv", X_OK))
			skip();
		argv[n++] = (char *)"/usr/bin/setpriv";
		argv[n++] = (char *)"--reuid=65534";
		argv[n++] = (char *)"--regid=65534";
		argv[n++] = (char *)"--clear-groups";
		argv[n++] = (char *)"--";
	}
	argv[n++] = host;
	argv[n++] = (char *)"probe-provision";
	argv[n] = NULL;
	{
		const char *const closed[] = { "SGXEMU_PLATFORM_KEY=", secret,
					       "SGXEMU_PROVISION_MODE=0660",
					       "SGXEMU_PROVISION_GROUP=0", NULL };
		const char *const open_all[] = { "SGXEMU_PLATFORM_KEY=", secret,
						  "SGXEMU_PROVISION_MODE=0666", NULL };
		const char *const by_group[] = { "SGXEMU_PLATFORM_KEY=", secret,
						 "SGXEMU_PROVISION_MODE=0660",
						 "SGXEMU_PROVISION_GROUP=65534", NULL };
		const char *const read_only[] = { "SGXEMU_PLATFORM_KEY=", secret,
						  "SGXEMU_PROVISION_MODE=0664", NULL };
		char want[64];
		int rc = run(argv, closed, out, sizeof(out));

		/* nobody cannot run the build tree's programs here, or cannot load the preload
		 * (a build tree in a private directory): then there is no emulated node at all. */
		if (rc == 126 || rc == 127 || !strstr(out, "stat ") || strstr(out, "stat -1 errno 2"))
			skip();
		assert_non_null(strstr(out, "stat 0 errno 0 mode 660 gid 0\n"));
		assert_non_null(strstr(out, "access -1 errno 13\n"));
		assert_non_null(strstr(out, "open failed errno 13\n"));
		assert_int_equal(run(argv, open_all, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "mode 666"));
		assert_non_null(strstr(out, "access 0 errno 0\n"));
		assert_non_null(strstr(out, "open ok errno 0\n"));
		assert_int_equal(run(argv, by_group, out, sizeof(out)), 0);
		snprintf(want, sizeof(want), "mode 660 gid 65534\n");
		assert_non_null(strstr(out, want));
		if (geteuid() == 0) /* we run the probe as nobody:nogroup(65534) */
			assert_non_null(strstr(out, "open ok errno 0\n"));
		assert_int_equal(run(argv, read_only, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "open failed errno 13\n")); /* O_RDWR needs w */
	}
}

/* `sgxemu measure` predicts MRENCLAVE; a SIGSTRUCT from `sgxemu sign` starts the enclave
 * with the identity its flags set. */
static void cli_sign_measure(void **state)
{
	char sig[PATH_MAX + 32], out[4096], want[128], hex[65], svn[] = "9";
	char *measure[] = { sgxemu, (char *)"measure", (char *)"-q", elf, NULL };
	char *measure_heap[] = { sgxemu, (char *)"measure", (char *)"-q", (char *)"--heap", (char *)"8K",
				 elf, NULL };
	char *sign[] = { sgxemu, (char *)"sign", (char *)"--key", keyfile, (char *)"--isvprodid",
			 (char *)"0x7", (char *)"--isvsvn", svn, (char *)"--out", sig, elf, NULL };
	char *sign_debug[] = { sgxemu, (char *)"sign", (char *)"--key", keyfile, (char *)"--debug",
			       (char *)"--out", sig, elf, NULL };
	char *sign_nokey[] = { sgxemu, (char *)"sign", (char *)"--key", (char *)"/nonexistent",
			       (char *)"--out", sig, elf, NULL };
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	struct encl e;
	FILE *f;

	(void)state;
	snprintf(sig, sizeof(sig), "%s/test.sig", dir);
	/* measure: the same as the loader computes, and as the enclave reports. */
	assert_int_equal(encl_load(&e, elf, 0), 0);
	assert_int_equal(encl_measure(&e, e.mrenclave), 0);
	snprintf(want, sizeof(want), "%s\n", encl_hex(e.mrenclave, 32, hex));
	encl_free(&e);
	assert_int_equal(run(measure, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(encl_load(&e, elf, 8192), 0);
	assert_int_equal(encl_measure(&e, e.mrenclave), 0);
	snprintf(want, sizeof(want), "%s\n", encl_hex(e.mrenclave, 32, hex));
	encl_free(&e);
	assert_int_equal(run(measure_heap, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, want);

	/* sign, then start the enclave with that SIGSTRUCT. */
	assert_int_equal(run(sign, NULL, out, sizeof(out)), 0);
	assert_int_equal(encl_load(&e, elf, 0), 0);
	f = fopen(sig, "rb");
	assert_non_null(f);
	assert_int_equal(fread(&e.sigstruct, 1, sizeof(e.sigstruct) + 1, f), sizeof(e.sigstruct));
	fclose(f);
	if (encl_create(&e) < 0 || encl_add_all(&e) < 0 || encl_init(&e) < 0 || encl_map(&e) < 0)
		fail_msg("%s", e.err);
	ti = targetinfo(&e);
	rep = report(&e, &ti, 0);
	assert_int_equal(rep.body.isv_prod_id, 7);
	assert_int_equal(rep.body.isv_svn, 9);
	snprintf(want, sizeof(want), "MRENCLAVE %s\n", encl_hex(rep.body.mrenclave, 32, hex));
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "MRSIGNER  %s\n", encl_hex(rep.body.mrsigner, 32, hex));
	assert_non_null(strstr(out, want));
	encl_free(&e);

	/* The signed attributes must match the enclave's: DEBUG signed, not created, fails. */
	assert_int_equal(run(sign_debug, NULL, out, sizeof(out)), 0);
	assert_int_equal(encl_load(&e, elf, 0), 0);
	f = fopen(sig, "rb");
	assert_non_null(f);
	assert_int_equal(fread(&e.sigstruct, 1, sizeof(e.sigstruct), f), sizeof(e.sigstruct));
	fclose(f);
	assert_int_equal(encl_create(&e), 0);
	assert_int_equal(encl_add_all(&e), 0);
	assert_int_equal(encl_init(&e), -1);
	assert_int_equal(errno, EPERM);
	encl_free(&e);
	assert_int_equal(encl_load(&e, elf, 0), 0);
	e.attributes |= SGX_ATTR_DEBUG;
	f = fopen(sig, "rb");
	assert_non_null(f);
	assert_int_equal(fread(&e.sigstruct, 1, sizeof(e.sigstruct), f), sizeof(e.sigstruct));
	fclose(f);
	if (encl_create(&e) < 0 || encl_add_all(&e) < 0 || encl_init(&e) < 0 || encl_map(&e) < 0)
		fail_msg("%s", e.err);
	ti = targetinfo(&e);
	assert_true(report(&e, &ti, 0).body.attributes.flags & SGX_ATTR_DEBUG);
	encl_free(&e);

	assert_int_equal(run(sign_nokey, NULL, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "sgxemu: sign: cannot load a private key"));
	unlink(sig);
}

static void rm_dir(void)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/platform.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sealed", dir);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(local_attestation),
		cmocka_unit_test(other_signer),
		cmocka_unit_test(seal_policies),
		cmocka_unit_test(provision_key),
		cmocka_unit_test(platform_key_file),
		cmocka_unit_test(seal_across_processes),
		cmocka_unit_test(two_processes),
		cmocka_unit_test(provision_permissions),
		cmocka_unit_test(cli_sign_measure),
	};
	const char *d = getenv(HERMETIC_ENV);
	int rc;

	(void)argc;
	if (!d) {
		/* Once more, on a platform of our own. */
		char platform_key[PATH_MAX + 32];

		snprintf(dir, sizeof(dir), "/tmp/sgxemu-test-attest-XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(platform_key, sizeof(platform_key), "%s/platform.key", dir);
		setenv("SGXEMU_PLATFORM_KEY", platform_key, 1);
		unsetenv("SGXEMU_PLATFORM_SECRET");
		setenv(HERMETIC_ENV, dir, 1);
		execv("/proc/self/exe", argv);
		perror("exec");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", d);
	sample_path("attest_encl.elf", elf);
	sample_path("attest_host", host);
	sample_path("attest_key.pem", keyfile);
	if (!encl_path_near_exe("../../sgxemu", sgxemu, sizeof(sgxemu)) || access(sgxemu, X_OK)) {
		fprintf(stderr, "cannot find the sgxemu CLI next to the test binary\n");
		return 1;
	}
	key1 = sign_load_key(keyfile);
	key2 = sign_generate_key();
	if (!key1 || !key2) {
		fprintf(stderr, "cannot load %s or make a second key\n", keyfile);
		return 1;
	}
	rc = cmocka_run_group_tests_name("attest", tests, NULL, NULL);
	rm_dir();
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	return rc;
}
