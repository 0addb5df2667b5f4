/* sgxemu sign: a SIGSTRUCT for an enclave image (laid out as `sgxemu measure` says) or for a
 * given MRENCLAVE, signed with an RSA-3072 key whose public exponent is 3. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tools/cmds.h"
#include "util/config.h"
#include "util/sign.h"

static void sign_usage(void)
{
	fprintf(stderr,
		"usage: sgxemu sign --key KEY.pem [--out FILE] [OPTIONS] ENCLAVE.elf\n"
		"       sgxemu sign --key KEY.pem --out FILE --mrenclave HEX [OPTIONS]\n"
		"Writes the 1808-byte SIGSTRUCT (default FILE: ENCLAVE.elf.sig) and prints the\n"
		"MRENCLAVE and MRSIGNER it names. OPTIONS (numbers in C syntax, 0x for hex):\n"
		"  --isvprodid N --isvsvn N       ISVPRODID, ISVSVN (default 0)\n"
		"  --attributes N                 ATTRIBUTES.FLAGS (default 0x4, MODE64BIT)\n"
		"  --debug                        add DEBUG (0x2) to the attributes\n"
		"  --attributes-mask N            which FLAGS EINIT compares (default 0xb6: DEBUG,\n"
		"                                 MODE64BIT, PROVISIONKEY, EINITTOKENKEY, KSS)\n"
		"  --xfrm N --xfrm-mask N         ATTRIBUTES.XFRM and its mask (default 0x3, 0x3)\n"
		"  --miscselect N --misc-mask N   MISCSELECT and MISCMASK (default 0, 0xffffffff)\n"
		"  --isvfamilyid HEX --isvextprodid HEX   KSS identities, 32 hex digits each\n"
		"  --vendor N --date N --swdefined N      header fields (vendor 0 or 0x8086)\n"
		"  --heap SIZE --ssa-frame-size N         layout, as for sgxemu measure\n");
}

static int bad(const char *opt)
{
	fprintf(stderr, "sgxemu: sign: bad or missing value for %s\n", opt);
	return 2;
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
		{ "--swdefined", UINT32_MAX, 10 }, { "--ssa-frame-size", 0xFFFF, 11 },
	};
	/* isvprodid, isvsvn, attributes, mask, xfrm, mask, misc, mask, vendor, date, sw, ssa */
	uint64_t v[12] = { 0, 0, SGX_ATTR_MODE64BIT,
			   SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY |
				   SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS,
			   3, 3, 0, UINT32_MAX, 0, 0, 0, 1 };
	const char *key_path = NULL, *out = NULL, *elf = NULL, *mrhex = NULL;
	const char *family = NULL, *extprod = NULL;
	struct sgx_sigstruct s;
	uint8_t mr[32], signer[32];
	uint64_t heap = 0;
	bool debug = false;
	char err[512], outbuf[4096 + 8];
	EVP_PKEY *key;
	int rc;

	for (; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		size_t k;

		if (a[0] != '-') {
			if (elf)
				return sign_usage(), 2;
			elf = a;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return sign_usage(), 0;
		if (!strcmp(a, "--debug")) {
			debug = true;
			continue;
		}
		for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			if (!strcmp(a, nums[k].name))
				break;
		if (k < sizeof(nums) / sizeof(nums[0])) {
			if (parse_u64(val, nums[k].max, &v[nums[k].slot]))
				return bad(a);
		} else if (!strcmp(a, "--key") && val) {
			key_path = val;
		} else if (!strcmp(a, "--out") && val) {
			out = val;
		} else if (!strcmp(a, "--mrenclave") && val) {
			mrhex = val;
		} else if (!strcmp(a, "--isvfamilyid") && val) {
			family = val;
		} else if (!strcmp(a, "--isvextprodid") && val) {
			extprod = val;
		} else if (!strcmp(a, "--heap") && val) {
			if (config_parse_size(val, &heap) || heap % 4096)
				return bad(a);
		} else {
			fprintf(stderr, "sgxemu: sign: unknown option '%s'\n", a);
			sign_usage();
			return 2;
		}
		i++;
	}
	if (!key_path || !!elf == !!mrhex || (mrhex && !out)) {
		sign_usage();
		return 2;
	}
	if (v[8] != 0 && v[8] != 0x8086)
		return bad("--vendor (0 or 0x8086)");
	if (!v[11])
		return bad("--ssa-frame-size");

	sign_sigstruct_init(&s);
	if (mrhex) {
		if (config_parse_hex(mrhex, mr, 32))
			return bad("--mrenclave (64 hex digits)");
	} else if (layout_measure(elf, heap, (uint32_t)v[11], false, mr, NULL, err, sizeof(err))) {
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

	key = sign_load_key(key_path);
	if (!key) {
		fprintf(stderr, "sgxemu: sign: cannot load a private key from %s\n", key_path);
		return 1;
	}
	rc = sign_sigstruct(&s, key);
	EVP_PKEY_free(key);
	if (rc) {
		fprintf(stderr, "sgxemu: sign: %s is not an RSA-3072 key with exponent 3\n", key_path);
		return 1;
	}
	if (!out) {
		snprintf(outbuf, sizeof(outbuf), "%s.sig", elf);
		out = outbuf;
	}
	if (write_file(out, &s, sizeof(s))) {
		fprintf(stderr, "sgxemu: sign: cannot write %s: %s\n", out, strerror(errno));
		return 1;
	}
	/* MRSIGNER: SHA-256 of the modulus as SIGSTRUCT stores it (little-endian). */
	if (EVP_Digest(s.modulus, sizeof(s.modulus), signer, NULL, EVP_sha256(), NULL) != 1)
		return 1;
	printf("MRENCLAVE ");
	for (unsigned k = 0; k < 32; k++)
		printf("%02x", mr[k]);
	printf("\nMRSIGNER  ");
	for (unsigned k = 0; k < 32; k++)
		printf("%02x", signer[k]);
	printf("\n");
	return 0;
}
