/* sgxemu: the command-line front end.
 *
 *   sgxemu [OPTIONS] run [OPTIONS] [--] PROG [ARGS...]   run PROG with the emulator preloaded
 *   sgxemu [OPTIONS] info [OPTIONS]                      what the emulated CPU reports
 *   sgxemu cflags                                        -I for the cpuid.h shim
 *
 * The flags only set SGXEMU_* environment variables; util/config.c is the one place that parses
 * them, here (to reject bad values before the program starts) and again in the preload. */
#include <cpuid.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/cpuid.h"
#include "driver/policy.h"
#include "util/config.h"
#include "util/xstate.h"
#include "tools/cmds.h"

#define PRELOAD_NAME "libsgxemu.so"
#define SHIM_DIR_NAME "shim"

static void usage(void)
{
	fprintf(stderr,
		"usage: sgxemu [OPTIONS] COMMAND [OPTIONS] [ARGS...]\n"
		"\n"
		"commands:\n"
		"  run [--] PROG [ARGS...]  run PROG with the SGX emulator preloaded; exits with\n"
		"                           PROG's status (127 if it cannot be run)\n"
		"  info                     print what the emulated CPU reports (CPUID, EPC, ...)\n"
		"  cflags                   print the compiler flags for the cpuid.h shim; build\n"
		"                           programs that test CPUID for SGX with them\n"
		"  stat [PID]               EPC use of processes running under sgxemu: total,\n"
		"                           free, per enclave, pages swapped out and in\n"
		"  measure [--heap SIZE] ENCLAVE.elf\n"
		"                           print the MRENCLAVE the enclave image will have\n"
		"  sign --key KEY.pem [--isvprodid N] [--isvsvn N] [--attributes N] ... ENCLAVE.elf\n"
		"                           write its SIGSTRUCT (RSA-3072, e = 3); sign --help\n"
		"                           lists the options\n"
		"\n"
		"enclave images (measure, sign) are laid out as our loader and the kernel selftest\n"
		"lay them out: an x86-64 ELF linked at 0; each PT_LOAD becomes pages at\n"
		"base + p_vaddr; the first PT_LOAD (RW) holds the TCS pages, the others are\n"
		"regular pages with the segment's R/W/X; every page is measured (EADD + EEXTEND,\n"
		"zeros past p_filesz); an optional --heap of RW pages follows, added unmeasured;\n"
		"ELRANGE is the next power of two; SSAFRAMESIZE 1 unless --ssa-frame-size.\n"
		"\n"
		"options (before or after run/info; each sets the SGXEMU_* variable in brackets):\n"
		"  --epc-size SIZE          EPC size, e.g. 64M, 1G, 8388608 [SGXEMU_EPC_SIZE]\n"
		"  --sgx1                   emulate SGX1 only: no SGX2/EDMM [SGXEMU_SGX1=1]\n"
		"  --trace                  trace enclave events to stderr [SGXEMU_TRACE=1]\n"
		"  --trace-file F           trace to file F instead [SGXEMU_TRACE_FILE]\n"
		"  --platform-key F         platform root secret file, created on first use\n"
		"                           (default ~/.local/share/sgxemu/platform.key, see\n"
		"                           docs/keys.md) [SGXEMU_PLATFORM_KEY]\n"
		"  --platform-secret HEX    fixed root secret, 64 hex digits, instead of the file\n"
		"                           [SGXEMU_PLATFORM_SECRET]\n"
		"  --cpusvn HEX             CPUSVN, 32 hex digits [SGXEMU_CPUSVN]\n"
		"  --owner-epoch HEX        OWNEREPOCH, 32 hex digits [SGXEMU_OWNER_EPOCH]\n"
		"  --svn-checks LIST        EGETKEY's SVN checks: all (hardware), none, or a list\n"
		"                           of cpusvn,isvsvn,configsvn [SGXEMU_SVN_CHECKS]\n"
		"  --provision-mode MODE    mode of /dev/sgx_provision (root:GROUP), default 0660\n"
		"                           [SGXEMU_PROVISION_MODE]\n"
		"  --provision-group G      its group, default sgx_prv [SGXEMU_PROVISION_GROUP]\n"
		"  --policy F               policy file, see docs/policy.md [SGXEMU_POLICY]\n"
		"  --audit F                audit log of policy decisions [SGXEMU_AUDIT]\n"
		"  -h, --help               this text\n"
		"\n"
		"Options may also be written --name=VALUE. Variables already in the environment\n"
		"are used unless a flag overrides them.\n");
}

/* A usage error: message, hint, exit status 2. */
static int __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sgxemu: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see sgxemu --help)\n");
	return 2;
}

/* The directory holding this executable; the preload and the shim are installed beside it. */
static int exe_dir(char *dir, size_t len)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= sizeof(path) - 1)
		return -1;
	path[n] = 0;
	slash = strrchr(path, '/');
	if (!slash)
		return -1;
	*slash = 0;
	if ((size_t)snprintf(dir, len, "%s", slash == path ? "/" : path) >= len)
		return -1;
	return 0;
}

struct opt {
	const char *name;
	const char *env;
	int takes_value;
};

static const struct opt opts[] = {
	{ "--epc-size", "SGXEMU_EPC_SIZE", 1 },
	{ "--sgx1", "SGXEMU_SGX1", 0 },
	{ "--trace", "SGXEMU_TRACE", 0 },
	{ "--trace-file", "SGXEMU_TRACE_FILE", 1 },
	{ "--platform-key", "SGXEMU_PLATFORM_KEY", 1 },
	{ "--platform-secret", "SGXEMU_PLATFORM_SECRET", 1 },
	{ "--cpusvn", "SGXEMU_CPUSVN", 1 },
	{ "--owner-epoch", "SGXEMU_OWNER_EPOCH", 1 },
	{ "--svn-checks", "SGXEMU_SVN_CHECKS", 1 },
	{ "--provision-mode", "SGXEMU_PROVISION_MODE", 1 },
	{ "--provision-group", "SGXEMU_PROVISION_GROUP", 1 },
	{ "--policy", "SGXEMU_POLICY", 1 },
	{ "--audit", "SGXEMU_AUDIT", 1 },
};

/* Consume the options at argv[*i...]; stop at the first non-option or after "--" (which is
 * consumed). Returns 0, 1 for --help, or 2 after printing an error. */
static int parse_opts(int argc, char **argv, int *i)
{
	while (*i < argc && argv[*i][0] == '-') {
		const char *a = argv[*i];
		const struct opt *o = NULL;
		const char *val = NULL;
		size_t k;

		if (!strcmp(a, "--")) {
			(*i)++;
			return 0;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			size_t n = strlen(opts[k].name);

			if (!strncmp(a, opts[k].name, n) && (a[n] == 0 || a[n] == '=')) {
				o = &opts[k];
				if (a[n] == '=')
					val = a + n + 1;
				break;
			}
		}
		if (!o)
			return die_usage("unknown option '%s'", a);
		if (o->takes_value && !val) {
			if (*i + 1 >= argc)
				return die_usage("option '%s' needs a value", a);
			val = argv[++*i];
		} else if (!o->takes_value && val) {
			return die_usage("option '%s' takes no value", a);
		}
		if (setenv(o->env, o->takes_value ? val : "1", 1)) {
			perror("sgxemu: setenv");
			return 2;
		}
		(*i)++;
	}
	return 0;
}

/* Reject values the preload would reject, before the program runs. */
static int check_config(struct sgxemu_config *cfg)
{
	char err[256];

	if (config_load(cfg, err, sizeof(err))) {
		fprintf(stderr, "sgxemu: %s\n", err);
		return 2;
	}
	return 0;
}

/* A policy file the preload would refuse is refused here, with its line number. */
static int check_policy(const struct sgxemu_config *cfg)
{
	char err[512];

	if (policy_load(cfg->policy_file, err, sizeof(err)) ||
	    (cfg->audit_file[0] && policy_set_audit(cfg->audit_file, err, sizeof(err)))) {
		fprintf(stderr, "sgxemu: %s\n", err);
		return 2;
	}
	return 0;
}

/* LD_PRELOAD = our library first, then whatever was there (without another copy of ours). */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t cap = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *buf = malloc(cap), *copy, *tok, *save = NULL;
	int rc;

	if (!buf)
		return -1;
	strcpy(buf, lib);
	if (old && *old) {
		copy = strdup(old);
		if (!copy) {
			free(buf);
			return -1;
		}
		/* ld.so separates entries with colons or spaces. */
		for (tok = strtok_r(copy, ": ", &save); tok; tok = strtok_r(NULL, ": ", &save)) {
			if (!strcmp(tok, lib))
				continue;
			strcat(buf, ":");
			strcat(buf, tok);
		}
		free(copy);
	}
	rc = setenv("LD_PRELOAD", buf, 1);
	free(buf);
	return rc;
}

static int cmd_run(int argc, char **argv, int i)
{
	struct sgxemu_config cfg;
	char dir[PATH_MAX], lib[PATH_MAX + 32];
	int rc = parse_opts(argc, argv, &i);

	if (rc == 1) {
		usage();
		return 2;
	}
	if (rc)
		return rc;
	if (i >= argc)
		return die_usage("run: no program given");
	if (check_config(&cfg) || check_policy(&cfg))
		return 2;
	if (exe_dir(dir, sizeof(dir))) {
		fprintf(stderr, "sgxemu: cannot find my own executable: %s\n", strerror(errno));
		return 127;
	}
	snprintf(lib, sizeof(lib), "%s/%s", dir, PRELOAD_NAME);
	if (access(lib, R_OK)) {
		fprintf(stderr, "sgxemu: %s: %s (build it with make)\n", lib, strerror(errno));
		return 127;
	}
	if (set_preload(lib)) {
		perror("sgxemu: LD_PRELOAD");
		return 127;
	}
	execvp(argv[i], &argv[i]);
	fprintf(stderr, "sgxemu: cannot run %s: %s\n", argv[i], strerror(errno));
	return 127;
}

static void print_flags(uint64_t v, const char *const names[], unsigned n)
{
	unsigned b;
	int any = 0;

	for (b = 0; b < 64; b++) {
		if (!(v & (1ULL << b)))
			continue;
		if (b < n && names[b])
			printf("%s%s", any ? " " : " (", names[b]);
		else
			printf("%sbit%u", any ? " " : " (", b);
		any = 1;
	}
	printf("%s\n", any ? ")" : "");
}

static void print_size(uint64_t bytes)
{
	if (bytes && !(bytes & ((1ULL << 30) - 1)))
		printf("%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes && !(bytes & ((1ULL << 20) - 1)))
		printf("%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes && !(bytes & ((1ULL << 10) - 1)))
		printf("%llu KiB", (unsigned long long)(bytes >> 10));
	else
		printf("%llu bytes", (unsigned long long)bytes);
}

/* One leaf as the emulated CPU reports it: the real instruction, adjusted like the preload does. */
static void emu_cpuid(const struct cpu_features *f, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	unsigned int a, b, c, d;

	__cpuid_count(leaf, sub, a, b, c, d);
	r[0] = a;
	r[1] = b;
	r[2] = c;
	r[3] = d;
	cpu_cpuid_adjust(f, leaf, sub, r);
}

static int cmd_info(int argc, char **argv, int i)
{
	static const char *const attr_names[] = {
		[0] = "INIT", [1] = "DEBUG", [2] = "MODE64BIT", [4] = "PROVISIONKEY",
		[5] = "EINITTOKENKEY", [7] = "KSS", [10] = "AEXNOTIFY",
	};
	static const char *const misc_names[] = { [0] = "EXINFO", [1] = "CPINFO" };
	static const char *const xfrm_names[] = {
		[0] = "X87", [1] = "SSE", [2] = "AVX", [3] = "BNDREGS", [4] = "BNDCSR",
		[5] = "OPMASK", [6] = "ZMM_HI256", [7] = "HI16_ZMM", [9] = "PKRU",
		[17] = "XTILECFG", [18] = "XTILEDATA",
	};
	struct sgxemu_config cfg;
	struct cpu_features f;
	uint32_t r7[4], r[4], sub;
	uint64_t total = 0;
	int rc = parse_opts(argc, argv, &i);

	if (rc == 1) {
		usage();
		return 2;
	}
	if (rc)
		return rc;
	if (i < argc)
		return die_usage("info: unexpected argument '%s'", argv[i]);
	if (check_config(&cfg))
		return 2;
	cpu_features_default(&f, cfg.epc_size, cfg.sgx2);
	f.intel_vendor = !cfg.host_vendor;
	xstate_probe(&f);

	emu_cpuid(&f, 0x7, 0, r7);
	emu_cpuid(&f, 0x12, 0, r);
	printf("SGX:              %s (CPUID.7.0:EBX[2])\n", r7[1] & (1U << 2) ? "yes" : "no");
	printf("launch control:   %s (CPUID.7.0:ECX[30])\n",
	       r7[2] & (1U << 30) ? "flexible" : "locked");
	printf("SGX1:             %s\n", r[0] & 1 ? "yes" : "no");
	printf("SGX2 (EDMM):      %s\n", r[0] & 2 ? "yes" : "no");
	printf("EDECCSSA:         %s (CPUID.12.0:EAX[11], with AEX-Notify)\n",
	       r[0] & (1U << 11) ? "yes" : "no");
	printf("MISCSELECT:       0x%08x", r[1]);
	print_flags(r[1], misc_names, sizeof(misc_names) / sizeof(misc_names[0]));
	printf("max enclave size: 2^%u (64-bit), 2^%u (32-bit)\n", (r[3] >> 8) & 0xff,
	       r[3] & 0xff);

	emu_cpuid(&f, 0x12, 1, r);
	printf("ATTRIBUTES:       0x%016llx",
	       (unsigned long long)r[0] | (unsigned long long)r[1] << 32);
	print_flags((uint64_t)r[0] | (uint64_t)r[1] << 32, attr_names,
		    sizeof(attr_names) / sizeof(attr_names[0]));
	printf("XFRM:             0x%016llx",
	       (unsigned long long)r[2] | (unsigned long long)r[3] << 32);
	print_flags((uint64_t)r[2] | (uint64_t)r[3] << 32, xfrm_names,
		    sizeof(xfrm_names) / sizeof(xfrm_names[0]));
	printf("                  (the host's XCR0 components saved at AEX; AMX never)\n");

	/* EPC sections: sub-leaves 2.. until one whose type (EAX[3:0]) is not 1. */
	for (sub = 2; sub < 64; sub++) {
		uint64_t base, size;

		emu_cpuid(&f, 0x12, sub, r);
		if ((r[0] & 0xf) != 1)
			break;
		base = (r[0] & 0xfffff000ULL) | (uint64_t)(r[1] & 0xfffff) << 32;
		size = (r[2] & 0xfffff000ULL) | (uint64_t)(r[3] & 0xfffff) << 32;
		printf("EPC section %u:    physical 0x%llx-0x%llx, ", sub - 2,
		       (unsigned long long)base, (unsigned long long)(base + size - 1));
		print_size(size);
		printf(" (%llu bytes)\n", (unsigned long long)size);
		total += size;
	}
	printf("EPC size:         ");
	print_size(total);
	printf(" (%llu bytes)\n", (unsigned long long)total);

	printf("\nCPUID as the emulated CPU answers it:\n");
	printf("  leaf      sub  eax        ebx        ecx        edx\n");
	printf("  0x%08x  %-3u  0x%08x 0x%08x 0x%08x 0x%08x\n", 7, 0, r7[0], r7[1], r7[2], r7[3]);
	for (sub = 0; sub < 4; sub++) {
		emu_cpuid(&f, 0x12, sub, r);
		printf("  0x%08x  %-3u  0x%08x 0x%08x 0x%08x 0x%08x\n", 0x12, sub, r[0], r[1],
		       r[2], r[3]);
	}
	return 0;
}

static int cmd_cflags(int argc, char **argv, int i)
{
	char dir[PATH_MAX];
	struct stat st;

	if (i < argc)
		return die_usage("cflags: unexpected argument '%s'", argv[i]);
	if (exe_dir(dir, sizeof(dir))) {
		fprintf(stderr, "sgxemu: cannot find my own executable: %s\n", strerror(errno));
		return 1;
	}
	if (strlen(dir) + sizeof("/" SHIM_DIR_NAME) > sizeof(dir)) {
		fprintf(stderr, "sgxemu: path too long\n");
		return 1;
	}
	strcat(dir, "/" SHIM_DIR_NAME);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		fprintf(stderr, "sgxemu: warning: %s is missing (run make)\n", dir);
	printf("-I%s\n", dir);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv, int i);
	} cmds[] = {
		{ "run", cmd_run },
		{ "info", cmd_info },
		{ "cflags", cmd_cflags },
		{ "stat", cmd_stat },
		{ "measure", cmd_measure },
		{ "sign", cmd_sign },
	};
	int i = 1, rc;
	size_t k;

	rc = parse_opts(argc, argv, &i);
	if (rc == 1 || (rc == 0 && i >= argc)) {
		usage();
		return 2;
	}
	if (rc)
		return rc;
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name))
			return cmds[k].fn(argc, argv, i + 1);
	fprintf(stderr, "sgxemu: unknown command '%s'\n\n", argv[i]);
	usage();
	return 2;
}
