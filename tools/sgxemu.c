/* sgxemu: the command-line front end, and its commands run, info and cflags (the others have
 * files of their own; tools/help.c describes them all).
 *
 * The flags of run and info only set SGXEMU_* environment variables; util/config.c is the one
 * place that parses them, here (to reject bad values before the program starts) and again in
 * the preload. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/cpuid.h"
#include "driver/policy.h"
#include "util/config.h"
#include "lib/xstate.h"
#include "tools/cmds.h"
#include "tools/help.h"

#include "sgxemu_paths.h"
#include "sgxemu_version.h"

#define PRELOAD_NAME "libsgxemu.so"
#define SHIM_DIR_NAME "shim"
#define GDB_SCRIPT_NAME "sgxemu-gdb.py"

/* Which run options came from a flag rather than the environment (index in run_options). */
static bool from_flag[64];

static bool flagged(size_t k)
{
	return k < sizeof(from_flag) / sizeof(from_flag[0]) && from_flag[k];
}

/* The directory holding this executable. */
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

/* Something installed with sgxemu: beside the executable (the build tree), at the same place
 * relative to it as at installation (an installed tree, wherever it was moved), or where it
 * was installed. want is S_IFREG or S_IFDIR. The path found goes to out, canonical. */
static int find_installed(const char *beside, const char *rel, const char *abs, mode_t want,
			  char *out, size_t len)
{
	char dir[PATH_MAX], cand[3][2 * PATH_MAX + 256];
	struct stat st;
	unsigned n = 0;

	if (!exe_dir(dir, sizeof(dir))) {
		snprintf(cand[n++], sizeof(cand[0]), "%s/%s", dir, beside);
		snprintf(cand[n++], sizeof(cand[0]), "%s/%s", dir, rel);
	}
	snprintf(cand[n++], sizeof(cand[0]), "%s", abs);
	for (unsigned k = 0; k < n; k++) {
		char real[PATH_MAX];

		if (stat(cand[k], &st) || (st.st_mode & S_IFMT) != want || !realpath(cand[k], real))
			continue;
		/* The build tree's path stays as it is (its directory is already canonical). */
		if ((size_t)snprintf(out, len, "%s", k == 0 ? cand[k] : real) < len)
			return 0;
	}
	{
		const char *shown = n == 3 ? cand[0] : abs;

		if (strlen(shown) < len)
			strcpy(out, shown);
		else if (len)
			out[0] = 0;
	}
	return -1;
}

/* Consume the options at argv[*i...]; stop at the first non-option or after "--" (which is
 * consumed). Returns 0, 1 for --help, or 2 after printing an error. */
static int parse_opts(int argc, char **argv, int *i, const char *cmd)
{
	while (*i < argc && argv[*i][0] == '-') {
		const char *a = argv[*i];
		const struct help_opt *o = NULL;
		const char *val = NULL;
		size_t k;

		if (!strcmp(a, "--")) {
			(*i)++;
			return 0;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		for (k = 0; k < n_run_options; k++) {
			size_t n = strlen(run_options[k].flag);

			if (!strncmp(a, run_options[k].flag, n) && (a[n] == 0 || a[n] == '=')) {
				o = &run_options[k];
				if (a[n] == '=')
					val = a + n + 1;
				break;
			}
		}
		if (!o)
			return cmd_usage_error(cmd, "unknown option '%s'", a);
		/* "[=LIST]": an optional value, only ever given with '='. */
		if (o->arg && o->arg[0] == '[' && !val) {
			val = "1";
		} else if (o->arg && !val) {
			/* "--epc-size -- prog": the value is missing, "--" is not it. */
			if (*i + 1 >= argc || !strcmp(argv[*i + 1], "--"))
				return cmd_usage_error(cmd, "option '%s' needs a value (%s)", a, o->arg);
			val = argv[++*i];
			for (size_t m = 0; m < n_run_options; m++)
				if (!strncmp(val, run_options[m].flag, strlen(run_options[m].flag)) &&
				    (val[strlen(run_options[m].flag)] == 0 ||
				     val[strlen(run_options[m].flag)] == '='))
					return cmd_usage_error(cmd, "option '%s' needs a value (%s), not "
							       "the option '%s' (write %s=%s if you "
							       "mean it)", a, o->arg, val, a, val);
		} else if (!o->arg && val) {
			return cmd_usage_error(cmd, "option '%s' takes no value", o->flag);
		}
		if (o->arg && !*val)
			return cmd_usage_error(cmd, "option '%s' needs a value (%s)", o->flag, o->arg);
		if (setenv(o->env, o->arg ? val : "1", 1)) {
			perror("sgxemu: setenv");
			return 2;
		}
		if (k < sizeof(from_flag) / sizeof(from_flag[0]))
			from_flag[k] = true;
		(*i)++;
	}
	return 0;
}

/* A configuration message names the variables; say the flags instead where the user gave
 * flags: "SGXEMU_EPC_SIZE=12q: ..." becomes "--epc-size 12q: ...". */
static void print_config_error(const char *err)
{
	const char *p = err;

	fputs("sgxemu: ", stderr);
	while (*p) {
		size_t k;

		for (k = 0; k < n_run_options; k++) {
			size_t n = strlen(run_options[k].env);

			if (flagged(k) && !strncmp(p, run_options[k].env, n) &&
			    !(p[n] == '_' || (p[n] >= 'A' && p[n] <= 'Z'))) {
				fputs(run_options[k].flag, stderr);
				p += n;
				/* An optional value ("--trace=LIST") keeps its '='. */
				if (*p == '=' && !(run_options[k].arg && run_options[k].arg[0] == '[')) {
					fputc(' ', stderr);
					p++;
				}
				break;
			}
		}
		if (k == n_run_options)
			fputc(*p++, stderr);
	}
	fputc('\n', stderr);
}

static size_t opt_index(const char *env)
{
	for (size_t k = 0; k < n_run_options; k++)
		if (!strcmp(run_options[k].env, env))
			return k;
	return SIZE_MAX;
}

/* Reject values the preload would reject, before the program runs. */
static int check_config(struct sgxemu_config *cfg)
{
	char err[512];

	if (config_load(cfg, err, sizeof(err))) {
		print_config_error(err);
		return 2;
	}
	return 0;
}

/* What the program would otherwise find wrong only later (at its first device open, or not
 * at all): the policy file, the audit log, the trace file, the platform key. */
static int check_files(const struct sgxemu_config *cfg)
{
	char err[1024], path[PATH_MAX];
	int fd;

	if (policy_load(cfg->policy_file, err, sizeof(err)) ||
	    (cfg->audit_file[0] && policy_set_audit(cfg->audit_file, err, sizeof(err)))) {
		fprintf(stderr, "sgxemu: %s\n", err);
		return 2;
	}
	if (cfg->trace_file[0]) {
		fd = open(cfg->trace_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			snprintf(err, sizeof(err), "SGXEMU_TRACE_FILE=%s: %s", cfg->trace_file,
				 strerror(errno));
			print_config_error(err);
			return 2;
		}
		close(fd);
	}
	if (config_platform_key_check(cfg, path, sizeof(path), err, sizeof(err))) {
		/* "platform key PATH: why" */
		if (flagged(opt_index("SGXEMU_PLATFORM_KEY")) && !strncmp(err, "platform key ", 13))
			fprintf(stderr, "sgxemu: --platform-key %s\n", err + 13);
		else
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

/* Valgrind cannot run the emulator: its synthetic CPU does not carry out the enclave entries,
 * FS/GS switches and signal-based traps sgxemu relies on, and its tool is statically linked
 * (no preload). Refuse in one sentence, whether valgrind is the program or runs sgxemu. */
static int refuse_valgrind(const char *prog)
{
	const char *base = strrchr(prog, '/'), *pre = getenv("LD_PRELOAD");

	base = base ? base + 1 : prog;
	if (strncmp(base, "valgrind", 8) && !(pre && strstr(pre, "vgpreload")))
		return 0;
	fprintf(stderr, "sgxemu: valgrind cannot run programs under sgxemu (it cannot execute the "
		"emulator's enclave entries and signal traps); run valgrind on the host program "
		"without sgxemu, or build with make SAN=1 for AddressSanitizer\n");
	return 1;
}

/* What run and gdb check before the program starts: valgrind refused, the configuration and
 * its files, the preload found (its path into lib). 0, or the exit status to end with. */
static int run_prepare(const char *prog, struct sgxemu_config *cfg, char *lib, size_t len)
{
	if (refuse_valgrind(prog))
		return 127;
	if (check_config(cfg) || check_files(cfg))
		return 2;
	if (find_installed(PRELOAD_NAME, SGXEMU_LIBDIR_FROM_BINDIR "/" PRELOAD_NAME,
			   SGXEMU_LIBDIR "/" PRELOAD_NAME, S_IFREG, lib, len) ||
	    access(lib, R_OK)) {
		fprintf(stderr, "sgxemu: cannot find %s beside sgxemu, in %s from it, or in %s "
			"(build it with make, or install it with make install)\n", PRELOAD_NAME,
			SGXEMU_LIBDIR_FROM_BINDIR, SGXEMU_LIBDIR);
		return 127;
	}
	return 0;
}

static int cmd_run(int argc, char **argv, int i)
{
	struct sgxemu_config cfg;
	char lib[PATH_MAX + 32], why[PATH_MAX + 512];
	int rc = parse_opts(argc, argv, &i, "run");

	if (rc == 1)
		return cmd_help("run");
	if (rc)
		return rc;
	if (i >= argc)
		return cmd_usage_error("run", "no program given");
	rc = run_prepare(argv[i], &cfg, lib, sizeof(lib));
	if (rc)
		return rc;
	if (set_preload(lib)) {
		perror("sgxemu: LD_PRELOAD");
		return 127;
	}
	if (prog_preload_obstacle(argv[i], why, sizeof(why)))
		fprintf(stderr, "sgxemu: %s\n", why);
	fflush(NULL);
	execvp(argv[i], &argv[i]);
	fprintf(stderr, "sgxemu: cannot run %s: %s\n", argv[i], strerror(errno));
	return 127;
}

/* sgxemu gdb [--enclave PATH] [-x FILE] [--batch] [OPTIONS] [--] PROG [ARGS]: gdb on PROG with
 * the environment of run. LD_PRELOAD goes to the program only (the script sets it in gdb's
 * inferior environment from SGXEMU_GDB_PRELOAD); --enclave paths reach it in
 * SGXEMU_GDB_ENCLAVES. $SGXEMU_GDB names the gdb to run. */
static int cmd_gdb(int argc, char **argv, int i)
{
	struct sgxemu_config cfg;
	char lib[PATH_MAX + 32], script[PATH_MAX + 32], why[PATH_MAX + 512];
	/* On the stack: every return but the exec's leaves nothing allocated behind. */
	const char *pre = getenv("LD_PRELOAD");
	char *gv[argc + 8], *ov[argc + 1], encls[8192] = "", old_buf[pre ? strlen(pre) + 1 : 1];
	char *old = pre ? strcpy(old_buf, pre) : NULL;
	const char *gdb = getenv("SGXEMU_GDB") && *getenv("SGXEMU_GDB") ? getenv("SGXEMU_GDB") : "gdb";
	int n = 0, on = 0, j, rc;

	gv[n++] = (char *)gdb;
	gv[n++] = "-q";
	gv[n++] = "-x";
	gv[n++] = script;
	/* Our options, picked out of the options of run (which stop at PROG or "--"). */
	ov[on++] = argv[0];
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i], *val = NULL;

		if (!strcmp(a, "--batch")) {
			gv[n++] = "-batch";
			continue;
		}
		if (!strcmp(a, "--enclave") || !strcmp(a, "-x")) {
			if (i + 1 >= argc)
				return cmd_usage_error("gdb", "option '%s' needs a value", a);
			val = argv[++i];
		} else if (!strncmp(a, "--enclave=", 10)) {
			val = a + 10;
		} else {
			ov[on++] = argv[i];
			if (!strchr(a, '=') && i + 1 < argc && argv[i + 1][0] != '-')
				for (size_t k = 0; k < n_run_options; k++)
					if (!strcmp(a, run_options[k].flag) && run_options[k].arg)
						ov[on++] = argv[++i];
			continue;
		}
		if (!strcmp(a, "-x")) {
			gv[n++] = "-x";
			gv[n++] = (char *)val;
			continue;
		}
		if (strlen(encls) + strlen(val) + 2 > sizeof(encls))
			return cmd_usage_error("gdb", "too many --enclave paths");
		if (*encls)
			strcat(encls, ":");
		strcat(encls, val);
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	j = 1;
	rc = parse_opts(on, ov, &j, "gdb");
	if (rc == 1)
		return cmd_help("gdb");
	if (rc)
		return rc;
	if (i >= argc)
		return cmd_usage_error("gdb", "no program given");
	rc = run_prepare(argv[i], &cfg, lib, sizeof(lib));
	if (rc)
		return rc;
	if (find_installed(GDB_SCRIPT_NAME, SGXEMU_DATADIR_FROM_BINDIR "/" GDB_SCRIPT_NAME,
			   SGXEMU_DATADIR "/" GDB_SCRIPT_NAME, S_IFREG, script, sizeof(script))) {
		fprintf(stderr, "sgxemu: cannot find %s beside sgxemu, in %s from it, or in %s "
			"(build it with make, or install it with make install)\n", GDB_SCRIPT_NAME,
			SGXEMU_DATADIR_FROM_BINDIR, SGXEMU_DATADIR);
		return 127;
	}
	if (set_preload(lib) || setenv("SGXEMU_GDB_PRELOAD", getenv("LD_PRELOAD"), 1) ||
	    (old ? setenv("LD_PRELOAD", old, 1) : unsetenv("LD_PRELOAD")) ||
	    setenv("SGXEMU_GDB_ENCLAVES", encls, 1)) {
		perror("sgxemu: setenv");
		return 127;
	}
	if (prog_preload_obstacle(argv[i], why, sizeof(why)))
		fprintf(stderr, "sgxemu: %s\n", why);
	gv[n++] = "--args";
	while (i < argc)
		gv[n++] = argv[i++];
	gv[n] = NULL;
	fflush(NULL);
	execvp(gdb, gv);
	fprintf(stderr, "sgxemu: cannot run %s: %s (install gdb, or name it in $SGXEMU_GDB)\n", gdb,
		strerror(errno));
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
	int rc = parse_opts(argc, argv, &i, "info");

	if (rc == 1)
		return cmd_help("info");
	if (rc)
		return rc;
	if (i < argc)
		return cmd_usage_error("info", "unexpected argument '%s'", argv[i]);
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

	if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")))
		return cmd_help("cflags");
	if (i < argc)
		return cmd_usage_error("cflags", "unexpected argument '%s'", argv[i]);
	if (find_installed(SHIM_DIR_NAME, SGXEMU_SHIMDIR_FROM_BINDIR, SGXEMU_SHIMDIR, S_IFDIR, dir,
			   sizeof(dir)))
		fprintf(stderr, "sgxemu: warning: the cpuid.h shim directory %s is missing (run "
			"make)\n", dir);
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
		{ "gdb", cmd_gdb },
		{ "info", cmd_info },
		{ "cflags", cmd_cflags },
		{ "stat", cmd_stat },
		{ "measure", cmd_measure },
		{ "sign", cmd_sign },
		{ "sigstruct", cmd_sigstruct },
		{ "keygen", cmd_keygen },
	};
	int i = 1, rc;
	size_t k;

	/* Options only the front end knows, alone on the command line. */
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("sgxemu %s\n", SGXEMU_VERSION);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--man")) {
		help_print_man(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--bash-completion")) {
		help_print_completion(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "help")) {
		if (argc == 2) {
			help_print_main(stdout);
			return 0;
		}
		if (help_print_cmd(stdout, argv[2]))
			return cmd_usage_error(NULL, "help: unknown command '%s'", argv[2]);
		return 0;
	}
	rc = parse_opts(argc, argv, &i, NULL);
	if (rc == 1) {
		help_print_main(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (rc)
		return rc;
	if (i >= argc) {
		help_print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "--man") ||
	    !strcmp(argv[i], "--bash-completion"))
		return cmd_usage_error(NULL, "'%s' stands alone", argv[i]);
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name))
			return cmds[k].fn(argc, argv, i + 1);
	return cmd_usage_error(NULL, "unknown command '%s'", argv[i]);
}
