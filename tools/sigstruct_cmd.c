/* sgxemu sigstruct FILE: every field of the SIGSTRUCT a file holds (lib/sigfile.h finds it),
 * and whether EINIT would accept its signature. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/sigstruct.h"
#include "tools/cmds.h"
#include "lib/sigfile.h"

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* A long byte string, 32 bytes a line under a label. */
static void hex_block(const char *label, const uint8_t *p, size_t n)
{
	printf("%-20s", label);
	for (size_t i = 0; i < n; i += 32) {
		if (i)
			printf("%-20s", "");
		hex(p + i, n - i < 32 ? n - i : 32);
		printf("\n");
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void names(uint64_t v, const char *const tab[], unsigned n)
{
	bool any = false;

	for (unsigned b = 0; b < 64; b++) {
		if (!(v & (1ULL << b)))
			continue;
		if (b < n && tab[b])
			printf("%s%s", any ? " " : " (", tab[b]);
		else
			printf("%sbit%u", any ? " " : " (", b);
		any = true;
	}
	printf("%s\n", any ? ")" : "");
}

static const char *const attr_names[] = {
	[0] = "INIT", [1] = "DEBUG", [2] = "MODE64BIT", [4] = "PROVISIONKEY",
	[5] = "EINITTOKENKEY", [6] = "CET", [7] = "KSS", [10] = "AEXNOTIFY",
};
static const char *const xfrm_names[] = {
	[0] = "X87", [1] = "SSE", [2] = "AVX", [3] = "BNDREGS", [4] = "BNDCSR", [5] = "OPMASK",
	[6] = "ZMM_HI256", [7] = "HI16_ZMM", [9] = "PKRU", [17] = "XTILECFG", [18] = "XTILEDATA",
};
static const char *const misc_names[] = { [0] = "EXINFO", [1] = "CPINFO" };

static void attributes(const char *label, struct sgx_attributes a)
{
	printf("%-20sflags 0x%016llx", label, (unsigned long long)a.flags);
	names(a.flags, attr_names, sizeof(attr_names) / sizeof(attr_names[0]));
	printf("%-20sxfrm  0x%016llx", "", (unsigned long long)a.xfrm);
	names(a.xfrm, xfrm_names, sizeof(xfrm_names) / sizeof(xfrm_names[0]));
}

/* DATE is 0xYYYYMMDD with decimal digits in hex nibbles (BCD). */
static void date(uint32_t d)
{
	printf("%-20s0x%08x", "DATE", d);
	for (int i = 0; i < 8; i++)
		if (((d >> (4 * i)) & 0xf) > 9) {
			printf("\n");
			return;
		}
	if (d)
		printf(" (%04x-%02x-%02x)", d >> 16, (d >> 8) & 0xff, d & 0xff);
	printf("\n");
}

static void print_source(const char *path, const struct sigfile *f)
{
	switch (f->kind) {
	case SIGFILE_RAW:
		printf("%s: a SIGSTRUCT (1808 bytes)\n", path);
		break;
	case SIGFILE_SDK:
		printf("%s: an enclave signed by the Intel SGX SDK; SIGSTRUCT at file offset %#llx "
		       "in its metadata (.note.sgxmeta)\n", path, (unsigned long long)f->offset);
		printf("metadata            version %u.%u, %u blob%s", (unsigned)(f->meta.version >> 32),
		       (unsigned)f->meta.version, f->nmeta, f->nmeta == 1 ? "" : "s");
		if (f->nmeta > 1)
			printf(" (%u with another SIGSTRUCT than the first's)", f->ndiffer);
		printf(", %u bytes\n", f->meta.size);
		printf("  enclave size      %#llx\n", (unsigned long long)f->meta.enclave_size);
		printf("  SSA frame size    %u pages\n", f->meta.ssa_frame_size);
		printf("  TCS policy        %u (%s)\n", f->meta.tcs_policy,
		       f->meta.tcs_policy == 0 ? "bound to a thread" :
		       f->meta.tcs_policy == 1 ? "unbound" : "unknown");
		printf("  TCS min pool      %u\n", f->meta.tcs_min_pool);
		printf("  max save buffer   %u bytes\n", f->meta.max_save_buffer_size);
		printf("  MISCSELECT        0x%08x\n", f->meta.desired_misc_select);
		printf("  ATTRIBUTES        flags 0x%016llx", (unsigned long long)f->meta.attributes_flags);
		names(f->meta.attributes_flags, attr_names, sizeof(attr_names) / sizeof(attr_names[0]));
		printf("                    xfrm  0x%016llx", (unsigned long long)f->meta.attributes_xfrm);
		names(f->meta.attributes_xfrm, xfrm_names, sizeof(xfrm_names) / sizeof(xfrm_names[0]));
		break;
	default:
		printf("%s: a SIGSTRUCT at file offset %#llx (found by its headers)\n", path,
		       (unsigned long long)f->offset);
		break;
	}
}

int cmd_sigstruct(int argc, char **argv, int i)
{
	const char *path = NULL, *why;
	bool quiet = false;
	struct sigfile f;
	const struct sgx_sigstruct *s = &f.sig;
	uint8_t *buf, signer[32];
	size_t len;
	char err[512];
	uint64_t code;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return cmd_help("sigstruct");
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			quiet = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cmd_usage_error("sigstruct", "unknown option '%s'", argv[i]);
		else if (path)
			return cmd_usage_error("sigstruct", "one FILE");
		else
			path = argv[i];
	}
	if (!path)
		return cmd_usage_error("sigstruct", "no FILE");
	if (read_whole_file(path, &buf, &len, 1ULL << 32, err, sizeof(err))) {
		fprintf(stderr, "sgxemu: sigstruct: %s\n", err);
		return 1;
	}
	if (sigfile_find(buf, len, &f, err, sizeof(err))) {
		free(buf);
		fprintf(stderr, "sgxemu: sigstruct: %s: %s\n", path, err);
		return 1;
	}
	free(buf);
	code = sigstruct_verify_why(s, &why);
	if (sigstruct_mrsigner(s, signer))
		return 1;
	if (!quiet) {
		print_source(path, &f);
		printf("\n");
		hex_block("HEADER", s->header.header1, sizeof(s->header.header1));
		printf("%-20s0x%08x%s\n", "VENDOR", s->header.vendor,
		       s->header.vendor == 0x8086 ? " (Intel)" : "");
		date(s->header.date);
		hex_block("HEADER2", s->header.header2, sizeof(s->header.header2));
		printf("%-20s0x%08x\n", "SWDEFINED", s->header.swdefined);
		if (!all_zero(s->header.reserved, sizeof(s->header.reserved)))
			hex_block("reserved (44)", s->header.reserved, sizeof(s->header.reserved));
		hex_block("MODULUS", s->modulus, sizeof(s->modulus));
		printf("%-20s%u\n", "EXPONENT", s->exponent);
		hex_block("SIGNATURE", s->signature, sizeof(s->signature));
		printf("%-20s0x%08x", "MISCSELECT", s->body.miscselect);
		names(s->body.miscselect, misc_names, 2);
		printf("%-20s0x%08x\n", "MISCMASK", s->body.misc_mask);
		printf("%-20s0x%02x\n", "CET_ATTRIBUTES", s->body.reserved1[0]);
		printf("%-20s0x%02x\n", "CET_ATTRIBUTES_MASK", s->body.reserved1[1]);
		if (s->body.reserved1[2] || s->body.reserved1[3])
			hex_block("reserved (910)", s->body.reserved1 + 2, 2);
		hex_block("ISVFAMILYID", s->body.isv_family_id, 16);
		attributes("ATTRIBUTES", s->body.attributes);
		attributes("ATTRIBUTEMASK", s->body.attributes_mask);
		hex_block("ENCLAVEHASH", s->body.mrenclave, 32);
		if (!all_zero(s->body.reserved2, sizeof(s->body.reserved2)))
			hex_block("reserved (992)", s->body.reserved2, sizeof(s->body.reserved2));
		hex_block("ISVEXTPRODID", s->body.isv_ext_prod_id, 16);
		printf("%-20s%u\n", "ISVPRODID", s->body.isv_prod_id);
		printf("%-20s%u\n", "ISVSVN", s->body.isv_svn);
		if (!all_zero(s->reserved4, sizeof(s->reserved4)))
			hex_block("reserved (1028)", s->reserved4, sizeof(s->reserved4));
		hex_block("Q1", s->q1, sizeof(s->q1));
		hex_block("Q2", s->q2, sizeof(s->q2));
		printf("\n(MODULUS, SIGNATURE, Q1 and Q2 are little-endian integers, shown as stored)\n");
	} else {
		hex_block("ENCLAVEHASH", s->body.mrenclave, 32);
		printf("%-20s%u\n", "ISVPRODID", s->body.isv_prod_id);
		printf("%-20s%u\n", "ISVSVN", s->body.isv_svn);
		attributes("ATTRIBUTES", s->body.attributes);
	}
	hex_block("MRSIGNER", signer, 32);
	if (code == SGX_SUCCESS) {
		printf("signature           valid: EINIT accepts it (headers, vendor, exponent 3, "
		       "RSA-3072 PKCS#1 v1.5 SHA-256, Q1, Q2)\n");
	} else {
		printf("signature           INVALID: %s (EINIT: %s)\n", why,
		       code == SGX_INVALID_SIG_STRUCT ? "SGX_INVALID_SIG_STRUCT" :
							 "SGX_INVALID_SIGNATURE");
		/* The Intel SDK's "type" word (HEADER bytes 12-15) with its debug bit. */
		if (!memcmp(s->header.header1, "\x06\0\0\0\xe1\0\0\0\0\0\x01\0", 12) &&
		    (s->header.header1[15] & 0x80))
			printf("                    (HEADER bytes 12-15 carry the Intel SDK's "
			       "RELEASETYPE bit 31, which the SDM's constant HEADER does not have)\n");
	}
	if (fflush(stdout))
		return 1;
	return code == SGX_SUCCESS ? 0 : 1;
}
