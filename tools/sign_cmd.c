/* sgxemu sign: a SIGSTRUCT for an enclave (an ELF image or a layout file, measured as `sgxemu
 * measure` does) or for a given MRENCLAVE, signed with an RSA-3072 key whose public exponent
 * is 3; or in two steps, the signature made elsewhere (--digest, then --signature). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cpu/sigstruct.h"
#include "tools/cmds.h"
#include "util/config.h"
#include "lib/sign.h"

static int bad(const char *opt)
{
	return cmd_usage_error("sign", "bad or missing value for %s", opt);
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
	if (label)
		printf("%s", label);
	for (size_t k = 0; k < n; k++)
		printf("%02x", p[k]);
	printf("\n");
}

int cmd_sign(int argc, char **argv, int i)
{
	static const struct {
		const char *name;
		uint64_t max;
		size_t slot;
	} nums[] = {
		{ "--isvprodid", 0xFFFF, 0 }, { "--isvsvn", 0xFFFF, 1 },
		{ "--attributes", UINT64_MAX, 2 }, { "--attributes-mask", UINT64_MAX, 3 },
		{ "--xfrm", UINT64_MAX, 4 }, { "--xfrm-mask", UINT64_MAX, 5 },
		{ "--miscselect", UINT32_MAX, 6 }, { "--misc-mask", UINT32_MAX, 7 },
		{ "--vendor", UINT32_MAX, 8 }, { "--date", UINT32_MAX, 9 },
		{ "--swdefined", UINT32_MAX, 10 },
	};
	/* isvprodid, isvsvn, attributes, mask, xfrm, mask, misc, mask, vendor, date, sw */
	uint64_t v[11] = { 0, 0, SGX_ATTR_MODE64BIT,
			   SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY |
				   SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS,
			   3, 3, 0, UINT32_MAX, 0, 0, 0 };
	struct measure_input in = { 0 };
	const char *key_path = NULL, *out = NULL, *mrhex = NULL, *sig_path = NULL;
	const char *data_path = NULL, *family = NULL, *extprod = NULL, *field_opt = NULL;
	struct sgx_sigstruct s;
	uint8_t mr[32], signer[32], data[SIGN_DATA_SIZE];
	bool debug = false, digest = false;
	char err[1024], outbuf[4096 + 16];
	EVP_PKEY *key;
	int rc;

	for (; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		size_t k;

		if (a[0] != '-') {
			if (in.elf)
				return cmd_usage_error("sign", "more than one image ('%s')", a);
			in.elf = a;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return cmd_help("sign");
		if (measure_option(argc, argv, &i, &in, "sign", &rc)) {
			if (rc)
				return rc;
			continue;
		}
		if (!strcmp(a, "--debug")) {
			debug = true;
			field_opt = a;
			continue;
		}
		if (!strcmp(a, "--digest")) {
			digest = true;
			continue;
		}
		for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			if (!strcmp(a, nums[k].name))
				break;
		if (k < sizeof(nums) / sizeof(nums[0])) {
			if (parse_u64(val, nums[k].max, &v[nums[k].slot]))
				return bad(a);
			field_opt = a;
		} else if (!strcmp(a, "--key") && val) {
			key_path = val;
		} else if (!strcmp(a, "--out") && val) {
			out = val;
		} else if (!strcmp(a, "--mrenclave") && val) {
			mrhex = val;
		} else if (!strcmp(a, "--signature") && val) {
			sig_path = val;
		} else if (!strcmp(a, "--data") && val) {
			data_path = val;
		} else if (!strcmp(a, "--isvfamilyid") && val) {
			family = val;
			field_opt = a;
		} else if (!strcmp(a, "--isvextprodid") && val) {
			extprod = val;
			field_opt = a;
		} else if (!strcmp(a, "--key") || !strcmp(a, "--out") || !strcmp(a, "--mrenclave") ||
			   !strcmp(a, "--signature") || !strcmp(a, "--data") ||
			   !strcmp(a, "--isvfamilyid") || !strcmp(a, "--isvextprodid")) {
			return bad(a);
		} else {
			return cmd_usage_error("sign", "unknown option '%s'", a);
		}
		i++;
	}

	/* What the SIGSTRUCT is of: exactly one of these. */
	if ((in.elf != NULL) + (in.layout != NULL) + (mrhex != NULL) + (data_path != NULL) != 1)
		return cmd_usage_error("sign", "give one of ENCLAVE.elf, --layout FILE, --mrenclave "
				       "HEX%s", sig_path ? " or --data FILE" : "");
	if (digest && sig_path)
		return cmd_usage_error("sign", "--digest and --signature are the two steps: one at "
				       "a time");
	if (data_path && !sig_path)
		return cmd_usage_error("sign", "--data belongs to --signature");
	if (data_path && (field_opt || in.heap || in.ssa_frame_size))
		return cmd_usage_error("sign", "with --data the fields come from its file, not "
				       "from %s", field_opt ? field_opt : "the layout options");
	if (!digest && !key_path)
		return cmd_usage_error("sign", "no --key");
	if (digest && key_path)
		return cmd_usage_error("sign", "--digest needs no --key (the key signs in step 2)");
	if (!out && !in.elf && !digest)
		return cmd_usage_error("sign", "say where to write with --out FILE");
	if (v[8] != 0 && v[8] != 0x8086)
		return bad("--vendor (0 or 0x8086)");

	sign_sigstruct_init(&s);
	if (data_path) {
		uint8_t *buf;
		size_t len;

		if (read_whole_file(data_path, &buf, &len, 1 << 20, err, sizeof(err))) {
			fprintf(stderr, "sgxemu: sign: %s\n", err);
			return 1;
		}
		if (len != SIGN_DATA_SIZE) {
			free(buf);
			fprintf(stderr, "sgxemu: sign: %s: want the %d bytes of signing data sign "
				"--digest writes, not %zu\n", data_path, SIGN_DATA_SIZE, len);
			return 1;
		}
		memcpy(&s.header, buf, sizeof(s.header));
		memcpy(&s.body, buf + sizeof(s.header), sizeof(s.body));
		free(buf);
		memcpy(mr, s.body.mrenclave, 32);
	} else {
		if (mrhex) {
			if (config_parse_hex(mrhex, mr, 32))
				return bad("--mrenclave (64 hex digits)");
		} else if (measure_input(&in, "sign", 0, mr, err, sizeof(err))) {
			fprintf(stderr, "sgxemu: sign: %s\n", err);
			return 1;
		}
		if ((family && config_parse_hex(family, s.body.isv_family_id, 16)))
			return bad("--isvfamilyid (32 hex digits)");
		if ((extprod && config_parse_hex(extprod, s.body.isv_ext_prod_id, 16)))
			return bad("--isvextprodid (32 hex digits)");
		s.header.vendor = (uint32_t)v[8];
		s.header.date = (uint32_t)v[9];
		s.header.swdefined = (uint32_t)v[10];
		s.body.isv_prod_id = (uint16_t)v[0];
		s.body.isv_svn = (uint16_t)v[1];
		s.body.attributes.flags = v[2] | (debug ? SGX_ATTR_DEBUG : 0);
		s.body.attributes_mask.flags = v[3];
		s.body.attributes.xfrm = v[4];
		s.body.attributes_mask.xfrm = v[5];
		s.body.miscselect = (uint32_t)v[6];
		s.body.misc_mask = (uint32_t)v[7];
		memcpy(s.body.mrenclave, mr, 32);
	}

	if (digest) {
		uint8_t hash[32];

		sign_sigstruct_data(&s, data);
		if (!out && (in.elf || in.layout)) {
			snprintf(outbuf, sizeof(outbuf), "%s.sigdata", in.elf ? in.elf : in.layout);
			out = outbuf;
		}
		if (out && write_file(out, data, sizeof(data))) {
			fprintf(stderr, "sgxemu: sign: cannot write %s: %s\n", out, strerror(errno));
			return 1;
		}
		if (EVP_Digest(data, sizeof(data), hash, NULL, EVP_sha256(), NULL) != 1)
			return 1;
		print_hex(NULL, hash, sizeof(hash));
		if (out)
			fprintf(stderr, "sgxemu: sign: the %d bytes to sign (HEADER and BODY) are in "
				"%s, their SHA-256 above; sign them with RSA-3072 (e = 3), PKCS#1 v1.5, "
				"SHA-256, then: sgxemu sign --signature SIG --key PUBLIC.pem --data %s "
				"--out FILE\n", SIGN_DATA_SIZE, out, out);
		return fflush(stdout) ? 1 : 0;
	}

	key = sig_path ? sign_load_public_key(key_path) : sign_load_key(key_path);
	if (!key) {
		fprintf(stderr, "sgxemu: sign: cannot load a %s key from %s\n",
			sig_path ? "public or private" : "private", key_path);
		return 1;
	}
	if (sig_path) {
		uint8_t *sig;
		size_t len;

		if (read_whole_file(sig_path, &sig, &len, 1 << 20, err, sizeof(err))) {
			EVP_PKEY_free(key);
			fprintf(stderr, "sgxemu: sign: %s\n", err);
			return 1;
		}
		rc = sign_sigstruct_assemble(&s, key, sig, len);
		free(sig);
		EVP_PKEY_free(key);
		if (rc == -1) {
			fprintf(stderr, "sgxemu: sign: want a %d-byte signature (%s has %zu bytes) and "
				"an RSA-3072 key with exponent 3 (%s)\n", SGX_MODULUS_SIZE, sig_path, len,
				key_path);
			return 1;
		}
		if (rc) {
			fprintf(stderr, "sgxemu: sign: %s is not the signature of this signing data "
				"by the key in %s (RSA PKCS#1 v1.5, SHA-256, big-endian)\n", sig_path,
				key_path);
			return 1;
		}
	} else {
		rc = sign_sigstruct(&s, key);
		EVP_PKEY_free(key);
		if (rc) {
			fprintf(stderr, "sgxemu: sign: %s is not an RSA-3072 key with exponent 3\n",
				key_path);
			return 1;
		}
	}
	if (!out) {
		snprintf(outbuf, sizeof(outbuf), "%s.sig", in.elf);
		out = outbuf;
	}
	if (write_file(out, &s, sizeof(s))) {
		fprintf(stderr, "sgxemu: sign: cannot write %s: %s\n", out, strerror(errno));
		return 1;
	}
	if (sigstruct_mrsigner(&s, signer))
		return 1;
	print_hex("MRENCLAVE ", mr, 32);
	print_hex("MRSIGNER  ", signer, 32);
	return fflush(stdout) ? 1 : 0;
}
