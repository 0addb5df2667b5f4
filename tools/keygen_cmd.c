/* sgxemu keygen OUT.pem: an enclave signing key (RSA-3072, public exponent 3). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cpu/sigstruct.h"
#include "tools/cmds.h"
#include "lib/sign.h"

/* Write key (its private or public part) to path, mode 0600 (0644 for a public key). */
static int write_key(const char *path, EVP_PKEY *key, bool public, bool force)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL),
		      public ? 0644 : 0600);
	FILE *f;
	int ok;

	if (fd < 0) {
		fprintf(stderr, "sgxemu: keygen: %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (--force overwrites it)" : "");
		return -1;
	}
	/* An existing file opened with --force keeps its mode: a private key must not. */
	if (!public && fchmod(fd, 0600)) {
		close(fd);
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	ok = public ? PEM_write_PUBKEY(f, key) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
								       NULL);
	if (fclose(f) || ok != 1) {
		fprintf(stderr, "sgxemu: keygen: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

int cmd_keygen(int argc, char **argv, int i)
{
	const char *out = NULL, *pub = NULL;
	struct sgx_sigstruct s;
	bool force = false;
	uint8_t signer[32];
	EVP_PKEY *key;

	for (; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return cmd_help("keygen");
		if (!strcmp(a, "--force")) {
			force = true;
		} else if (!strcmp(a, "--public")) {
			if (i + 1 >= argc)
				return cmd_usage_error("keygen", "--public needs a FILE");
			pub = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			return cmd_usage_error("keygen", "unknown option '%s'", a);
		} else if (out) {
			return cmd_usage_error("keygen", "one OUT.pem");
		} else {
			out = a;
		}
	}
	if (!out)
		return cmd_usage_error("keygen", "no OUT.pem");
	key = sign_generate_key();
	if (!key) {
		fprintf(stderr, "sgxemu: keygen: cannot generate an RSA-3072 key\n");
		return 1;
	}
	/* MRSIGNER is the hash of the modulus as a SIGSTRUCT stores it: sign an empty one. */
	sign_sigstruct_init(&s);
	if (write_key(out, key, false, force) || (pub && write_key(pub, key, true, force)) ||
	    sign_sigstruct(&s, key) || sigstruct_mrsigner(&s, signer)) {
		EVP_PKEY_free(key);
		return 1;
	}
	EVP_PKEY_free(key);
	printf("MRSIGNER  ");
	for (unsigned k = 0; k < 32; k++)
		printf("%02x", signer[k]);
	printf("\n");
	return fflush(stdout) ? 1 : 0;
}
