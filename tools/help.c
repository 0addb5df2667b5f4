/* The description of the command line, and the printers of --help, the manual page and the
 * bash completion that read it (see help.h). */
#include "tools/help.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "tools/cmds.h"

#include "sgxemu_version.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct help_opt run_options[] = {
	{ "--epc-size", "SIZE", "SGXEMU_EPC_SIZE",
	  "the EPC size, e.g. 64M, 1G or 8388608: a multiple of 4 KiB from 1M to 64G (default "
	  "64M). Each process has its own EPC; enclaves larger than it are paged (EWB/ELDU)." },
	{ "--sgx1", NULL, "SGXEMU_SGX1",
	  "emulate a CPU with SGX1 only: no SGX2/EDMM, no AEX-Notify, no KSS." },
	{ "--syscall-filter", "auto|on|off", "SGXEMU_SYSCALL_FILTER",
	  "the seccomp filter that brings system calls made without libc (bare syscall "
	  "instructions, as Gramine's loader makes them) to sgxemu. auto (the default): on only "
	  "where a loaded object other than libc, the dynamic loader and the vDSO has SYSCALL "
	  "instructions of its own; on: always; off: never (a filter inherited from a parent stays "
	  "on: seccomp filters cannot be removed)." },
	{ "--trace", "[=LIST]", "SGXEMU_TRACE",
	  "trace enclave events to standard error, one line each with the time and thread id: "
	  "every ioctl with its arguments decoded and its result (errno by name, and the "
	  "policy's or driver's reason), ENCLS/ENCLU leaves, AEXs with their #PF error codes, "
	  "signals delivered at the AEP, EWB/ELDU, EDMM steps, policy decisions. LIST limits it "
	  "to some of ioctl, enclu, encls, aex, paging, policy, mm, misc (start-up lines), "
	  "comma-separated; without it, all." },
	{ "--trace-file", "FILE", "SGXEMU_TRACE_FILE",
	  "trace to FILE (appended to) instead of standard error. Each process writes a header "
	  "first (pid, command line, version, configuration, categories); child processes "
	  "append to the same file. Alone it traces everything, with --trace-summary only the "
	  "summary." },
	{ "--trace-summary", NULL, "SGXEMU_TRACE_SUMMARY",
	  "at exit, print calls, errors and time spent per ioctl, ENCLS leaf and ENCLU leaf, as "
	  "strace -c does (to the trace file if there is one)." },
	{ "--platform-key", "FILE", "SGXEMU_PLATFORM_KEY",
	  "the platform's root secret (64 hex digits, mode 0600), created on first use; default "
	  "~/.local/share/sgxemu/platform.key. Sealing keys derive from it." },
	{ "--platform-secret", "HEX", "SGXEMU_PLATFORM_SECRET",
	  "a fixed root secret, 64 hex digits, instead of the key file." },
	{ "--cpusvn", "HEX", "SGXEMU_CPUSVN", "the CPUSVN, 32 hex digits." },
	{ "--owner-epoch", "HEX", "SGXEMU_OWNER_EPOCH", "the OWNEREPOCH, 32 hex digits (default 0)." },
	{ "--svn-checks", "LIST", "SGXEMU_SVN_CHECKS",
	  "the SVN checks EGETKEY makes: all (as hardware, the default), none, or a comma list "
	  "of cpusvn, isvsvn, configsvn." },
	{ "--provision-mode", "MODE", "SGXEMU_PROVISION_MODE",
	  "the mode of the emulated /dev/sgx_provision (owner root), octal, default 0660." },
	{ "--provision-group", "GROUP", "SGXEMU_PROVISION_GROUP",
	  "its group, a name or number, default sgx_prv." },
	{ "--policy", "FILE", "SGXEMU_POLICY",
	  "the policy file for enclave loading and initialisation (a bad file is refused whole, "
	  "with its line number)." },
	{ "--audit", "FILE", "SGXEMU_AUDIT", "the audit log of policy decisions." },
};
const size_t n_run_options = N(run_options);

static const struct help_opt stat_opts[] = {
	{ "--watch", "[SECONDS]", NULL,
	  "sample again every SECONDS (default 2; fractions allowed) until interrupted; rates "
	  "are then over the last interval. On a terminal the screen is redrawn; otherwise each "
	  "sample follows a line with the time. A number right after --watch is SECONDS: "
	  "sgxemu stat --watch 2 PID watches one process, and ends when it does." },
	{ "--count", "N", NULL, "with --watch: stop after N samples." },
};

static const struct help_opt measure_opts[] = {
	{ "--layout", "FILE", NULL, "measure the layout FILE describes instead of an ELF image." },
	{ "--heap", "SIZE", NULL,
	  "ELF images: SIZE bytes (a multiple of 4 KiB) of RW heap after the last segment, added "
	  "unmeasured." },
	{ "--ssa-frame-size", "N", NULL,
	  "SECS.SSAFRAMESIZE in pages (default 1, or the layout file's)." },
	{ "--emit-layout", NULL, NULL,
	  "print the layout in the layout-file format instead of measuring: the default layout "
	  "of an ELF image, to be edited and measured with --layout." },
	{ "-v, --verbose", NULL, NULL, "list the page runs as they are measured." },
	{ "-q, --quiet", NULL, NULL, "do not say which layout was assumed." },
};

static const struct help_opt sign_opts[] = {
	{ "--key", "KEY.pem", NULL,
	  "the signing key: RSA-3072 with public exponent 3 (sgxemu keygen makes one). With "
	  "--signature only its public half is used (a public key file will do)." },
	{ "--out", "FILE", NULL,
	  "where to write the SIGSTRUCT (default ENCLAVE.elf.sig), or with --digest the signing "
	  "data." },
	{ "--mrenclave", "HEX", NULL, "sign this MRENCLAVE (64 hex digits) instead of an image." },
	{ "--layout", "FILE", NULL, "sign the enclave a layout file describes (see measure)." },
	{ "--heap", "SIZE", NULL, "as for measure." },
	{ "--ssa-frame-size", "N", NULL, "as for measure." },
	{ "--isvprodid", "N", NULL, "ISVPRODID (default 0)." },
	{ "--isvsvn", "N", NULL, "ISVSVN (default 0)." },
	{ "--attributes", "N", NULL, "ATTRIBUTES.FLAGS (default 0x4, MODE64BIT)." },
	{ "--debug", NULL, NULL, "add DEBUG (0x2) to the attributes." },
	{ "--attributes-mask", "N", NULL,
	  "which FLAGS EINIT compares (default 0xb6: DEBUG, MODE64BIT, PROVISIONKEY, "
	  "EINITTOKENKEY, KSS)." },
	{ "--xfrm", "N", NULL, "ATTRIBUTES.XFRM (default 0x3)." },
	{ "--xfrm-mask", "N", NULL, "its mask (default 0x3)." },
	{ "--miscselect", "N", NULL, "MISCSELECT (default 0)." },
	{ "--misc-mask", "N", NULL, "MISCMASK (default 0xffffffff)." },
	{ "--isvfamilyid", "HEX", NULL, "the KSS ISVFAMILYID, 32 hex digits." },
	{ "--isvextprodid", "HEX", NULL, "the KSS ISVEXTPRODID, 32 hex digits." },
	{ "--vendor", "N", NULL, "the header's VENDOR, 0 or 0x8086." },
	{ "--date", "N", NULL, "the header's DATE, 0xYYYYMMDD (default 0)." },
	{ "--swdefined", "N", NULL, "the header's SWDEFINED." },
	{ "--digest", NULL, NULL,
	  "two-step signing, step 1: print the SHA-256 of the 256 bytes that must be signed "
	  "(HEADER and BODY of the SIGSTRUCT) and write those bytes to --out FILE (default "
	  "ENCLAVE.elf.sigdata). No key is needed." },
	{ "--signature", "SIG", NULL,
	  "step 2: assemble the SIGSTRUCT from SIG, the 384-byte RSA PKCS#1 v1.5 SHA-256 "
	  "signature of those bytes (big-endian, as openssl writes it), and --key's public key; "
	  "it is verified before it is written." },
	{ "--data", "FILE", NULL,
	  "step 2: take HEADER and BODY from the signing data FILE of step 1 instead of "
	  "rebuilding them from an image and the options." },
};

static const struct help_opt sigstruct_opts[] = {
	{ "-q, --quiet", NULL, NULL, "print only the identity (MRENCLAVE, MRSIGNER, ISVPRODID, "
	  "ISVSVN, ATTRIBUTES) and the verdict." },
};

static const struct help_opt keygen_opts[] = {
	{ "--public", "FILE", NULL, "also write the public key to FILE (for two-step signing)." },
	{ "--force", NULL, NULL, "overwrite OUT.pem if it exists." },
};

const struct help_cmd help_cmds[] = {
	{ "run", "[OPTIONS] [--] PROG [ARGS...]", "run PROG with the SGX emulator preloaded",
	  "Runs PROG with libsgxemu.so preloaded (ahead of whatever LD_PRELOAD holds already), so "
	  "that it finds /dev/sgx_enclave, /dev/sgx_provision and /dev/sgx_vepc with the ioctls "
	  "of <asm/sgx.h>, a vDSO with __vdso_sgx_enter_enclave and CPUID leaf 0x12, as on Linux "
	  "6.12 on an SGX2 machine with flexible launch control. The programs PROG starts inherit "
	  "the emulator. The exit status is PROG's; 127 if it cannot be run; 2 for a usage error "
	  "(the option values are checked, and a policy or platform key file read, before PROG "
	  "starts).\n"
	  "\n"
	  "A statically linked program, and a setuid, setgid or file-capability program that gains "
	  "privileges, cannot take a preload: sgxemu says so in one line and runs it anyway, "
	  "without the emulator (dynamically linked programs it starts get the emulator again). "
	  "32-bit programs are told that SGX is emulated for x86-64 only.\n"
	  "\n"
	  "Its options may also stand before the command name, and may be written "
	  "--name=VALUE. Each sets the SGXEMU_* environment variable in brackets, which the "
	  "emulator reads in the program; variables already in the environment are used unless "
	  "a flag overrides them.",
	  run_options, N(run_options) },
	{ "gdb", "[--enclave ELF] [-x FILE] [--batch] [OPTIONS] [--] PROG [ARGS...]",
	  "debug PROG and its debug enclaves with gdb",
	  "Runs gdb on PROG with the environment of run (the emulator is preloaded into PROG, not "
	  "into gdb) and sgxemu's gdb script: the emulator's own signals (SIGILL, SIGSYS, SIG64, "
	  "and the SIGSEGVs it handles) pass silently while a crash of the program stops; the "
	  "symbols of a debug enclave are loaded at its base when it is initialised, if its "
	  "loader tells sgxemu its ELF (sgxemu_gdb_enclave_loaded) or --enclave ELF names it; "
	  "software breakpoints, stepping and backtraces work in debug enclaves; `info enclaves` "
	  "lists them and `sgxemu-enclave ELF [BASE]` loads symbols by hand. Production enclaves "
	  "get no symbols and take no breakpoints (gdb can still read what of them is mapped: "
	  "docs/fidelity.md). -x FILE runs gdb "
	  "commands from FILE and --batch exits after them (gdb's -x and -batch). $SGXEMU_GDB "
	  "names the gdb to run (default gdb). The other OPTIONS are those of run.",
	  run_options, N(run_options) },
	{ "info", "[OPTIONS]", "print what the emulated CPU reports",
	  "Prints the SGX features (SGX1, SGX2, launch control, EDECCSSA), MISCSELECT, the "
	  "ATTRIBUTES and XFRM the emulated CPU allows, the EPC sections, and the CPUID leaves 7 and "
	  "0x12 as a program under sgxemu run with the same OPTIONS (those of run) sees them.",
	  NULL, 0 },
	{ "cflags", "", "print the compiler flags of the cpuid.h shim",
	  "Prints -IDIR for the directory of sgxemu's cpuid.h shim. A program that tests CPUID for "
	  "SGX with <cpuid.h> (__cpuid_count and the like) and is built with these flags gets the "
	  "emulated CPU's answers under sgxemu and the real CPU's otherwise. Only hosts without "
	  "CPUID faulting (AMD, most virtual machines) need it: there the CPUID instruction itself "
	  "cannot be emulated.\n"
	  "\n"
	  "  cc $(sgxemu cflags) -o app app.c",
	  NULL, 0 },
	{ "stat", "[--watch [SECONDS]] [--count N] [PID]",
	  "EPC use and paging of the programs running under sgxemu",
	  "One line per process that runs under sgxemu and has brought its emulated SGX up (opened "
	  "an SGX device), children below their parent: its PID, parent and command name, its EPC "
	  "(each process has its own) in use and in total, the pages written out (EWB) and read "
	  "back (ELDU) and their rates per second (since the process started, or over the last "
	  "interval with --watch); then one line per enclave: its ELRANGE, its pages in the EPC "
	  "(with its SECS and VA pages), swapped out, and added by EDMM (EAUG, as they happened), "
	  "and whether it is initialised and a debug enclave. With PID, that process and its "
	  "children only; exit status 1 if it does not run under sgxemu.\n"
	  "\n"
	  "The status files live in $SGXEMU_STAT_DIR (default $XDG_RUNTIME_DIR/sgxemu, else "
	  "/tmp/sgxemu-UID); files of processes that died are removed.",
	  stat_opts, N(stat_opts) },
	{ "measure", "[OPTIONS] ENCLAVE.elf\n[OPTIONS] --layout FILE",
	  "print the MRENCLAVE an enclave will have",
	  "Prints the MRENCLAVE (ECREATE, EADD and EEXTEND as the hardware measures them) of the "
	  "enclave an ELF image or a layout file describes, and says on standard error which "
	  "layout it assumed.\n"
	  "\n"
	  "An ELF image is laid out as sgxemu's loader and the Linux SGX selftest lay theirs out: "
	  "an x86-64 ELF linked at 0 whose PT_LOAD segments become pages at base + p_vaddr, in "
	  "address order; the first PT_LOAD (RW) holds the TCS pages, the others are regular "
	  "pages with the segment's R/W/X; every page is measured (zeros past p_filesz); --heap "
	  "RW pages follow, added unmeasured; ELRANGE is the next power of two. Other runtimes "
	  "(the Intel SDK, Gramine, Open Enclave) lay their enclaves out differently: describe "
	  "theirs in a layout file.\n"
	  "\n"
	  "A layout file has one directive per line; # starts a comment; numbers are in C syntax "
	  "(0x for hex) and sizes may end in K, M or G:\n"
	  "\n"
	  "  size SIZE                  ELRANGE size (default: the smallest power of two,\n"
	  "                             at least 8K, that holds every page)\n"
	  "  ssa-frame-size N           SECS.SSAFRAMESIZE in pages (default 1)\n"
	  "  tcs OFFSET SIZE PERMS MEASURE [SOURCE] [FIELD=VALUE...]\n"
	  "  reg OFFSET SIZE PERMS MEASURE [SOURCE]\n"
	  "\n"
	  "Page lines are added (EADD) page by page in the order written. OFFSET and SIZE are "
	  "bytes from the enclave base, multiples of 4K; PERMS are the SECINFO permissions like "
	  "r-x (TCS pages are measured without them, as EADD does); MEASURE is measured (each page "
	  "is EEXTENDed in full after its EADD) or unmeasured (its contents do not count). SOURCE "
	  "gives the contents: FILE@OFFSET (SIZE bytes of FILE from OFFSET) or "
	  "FILE@OFFSET+LENGTH (LENGTH bytes, zeros after); FILE is relative to the layout file's "
	  "directory and may not contain spaces; without a SOURCE the pages are zeros. On tcs "
	  "lines FIELD=VALUE sets a field in every page of the run after its contents are read: "
	  "flags, ossa, nssa, oentry, ofsbase, ogsbase, fslimit, gslimit (CSSA, AEP and the "
	  "hidden state count as zero, as after EADD). For example:\n"
	  "\n"
	  "  size 0x40000\n"
	  "  tcs 0x0 0x1000 rw- measured nssa=2 ossa=0x1000 oentry=0x3000\n"
	  "  reg 0x1000 0x2000 rw- measured\n"
	  "  reg 0x3000 0x5000 r-x measured enclave.bin@0x0\n"
	  "  reg 0x8000 0x8000 rw- unmeasured",
	  measure_opts, N(measure_opts) },
	{ "sign", "--key KEY.pem [OPTIONS] (ENCLAVE.elf | --layout FILE | --mrenclave HEX)\n"
		  "--digest [OPTIONS] (ENCLAVE.elf | --layout FILE | --mrenclave HEX)\n"
		  "--signature SIG --key PUB.pem (--data FILE | [OPTIONS] ENCLAVE.elf | ...)",
	  "write an enclave's SIGSTRUCT",
	  "Writes the 1808-byte SIGSTRUCT of an enclave (measured as measure does, or given by its "
	  "MRENCLAVE) signed with an RSA-3072 key whose public exponent is 3, and prints the "
	  "MRENCLAVE and MRSIGNER it names. Numbers are in C syntax (0x for hex).\n"
	  "\n"
	  "Two-step signing, for keys kept elsewhere (an HSM, another machine), as sgx_sign "
	  "gendata and catsig do: --digest writes what must be signed and prints its SHA-256; "
	  "sign that with RSA PKCS#1 v1.5 and SHA-256, then --signature assembles and verifies the "
	  "SIGSTRUCT:\n"
	  "\n"
	  "  sgxemu sign --digest --out enclave.sigdata enclave.elf\n"
	  "  openssl dgst -sha256 -sign key.pem -out enclave.rsa enclave.sigdata\n"
	  "  sgxemu sign --signature enclave.rsa --key pub.pem --data enclave.sigdata \\\n"
	  "      --out enclave.elf.sig",
	  sign_opts, N(sign_opts) },
	{ "sigstruct", "[--quiet] FILE", "print and verify any SIGSTRUCT",
	  "Prints every field of the SIGSTRUCT in FILE and verifies it as EINIT does (the constant "
	  "headers, VENDOR, exponent 3, the RSA-3072 PKCS#1 v1.5 SHA-256 signature and the Q1 and "
	  "Q2 values); exit status 0 if it is valid, 1 if not or none is found. FILE may be a "
	  "SIGSTRUCT on its own (what sgxemu sign and gramine-sgx-sign write as .sig, or sgx_sign "
	  "dump -cssfile), an enclave signed by the Intel SGX SDK (the SIGSTRUCT in the metadata "
	  "of its .note.sgxmeta section, whose fields are printed too), or any other file that "
	  "holds one (found by its constant headers, e.g. Open Enclave's .oeinfo).",
	  sigstruct_opts, N(sigstruct_opts) },
	{ "keygen", "[--public FILE] [--force] OUT.pem", "make an enclave signing key",
	  "Writes a new RSA-3072 private key with public exponent 3, the only kind SIGSTRUCT "
	  "takes, to OUT.pem (PEM, mode 0600; an existing file is kept unless --force) and prints "
	  "the MRSIGNER of enclaves it signs.",
	  keygen_opts, N(keygen_opts) },
};
const size_t n_help_cmds = N(help_cmds);

static const struct help_opt top_opts[] = {
	{ "-h, --help", NULL, NULL, "this text; sgxemu COMMAND --help describes one command." },
	{ "--version", NULL, NULL, "the version of sgxemu." },
	{ "--man", NULL, NULL, "print the manual page sgxemu(1) (man(7) format)." },
	{ "--bash-completion", NULL, NULL, "print a bash completion script for sgxemu." },
};

/* ---- plain text ---- */

#define WIDTH 79

/* Print text wrapped to WIDTH, starting at column *col, continuation lines indented by indent;
 * the cursor column is left in *col. */
static void wrap_words(FILE *f, const char *s, size_t len, unsigned indent, unsigned *col)
{
	const char *end = s + len;

	while (s < end) {
		size_t w;

		while (s < end && *s == ' ')
			s++;
		for (w = 0; s + w < end && s[w] != ' '; w++)
			;
		if (!w)
			break;
		if (*col > indent && *col + 1 + w > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			*col = indent;
		} else if (*col > indent) {
			fputc(' ', f);
			(*col)++;
		} else {
			fprintf(f, "%*s", (int)(indent - *col), "");
			*col = indent;
		}
		fwrite(s, 1, w, f);
		*col += (unsigned)w;
		s += w;
	}
}

/* A text of paragraphs (see struct help_cmd) indented by indent. */
static void print_text(FILE *f, const char *text, unsigned indent)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len == 0) {
			fputc('\n', f);
		} else if (len >= 2 && p[0] == ' ' && p[1] == ' ') {
			fprintf(f, "%*s%.*s\n", (int)indent, "", (int)len, p);
		} else {
			/* A paragraph: this line and the following non-blank, non-literal ones. */
			unsigned col = 0;
			const char *q = p;

			for (;;) {
				const char *e = strchr(q, '\n');
				size_t l = e ? (size_t)(e - q) : strlen(q);

				wrap_words(f, q, l, indent, &col);
				if (!e || e[1] == '\n' || e[1] == 0 || (e[1] == ' ' && e[2] == ' ')) {
					len = (size_t)((e ? e : q + l) - p);
					break;
				}
				q = e + 1;
			}
			fputc('\n', f);
		}
		p += len;
		if (*p == '\n')
			p++;
	}
}

static void print_opts(FILE *f, const struct help_opt *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char head[64];
		unsigned col;

		/* "[=LIST]" is glued to its flag: the value is only ever given with '='. */
		snprintf(head, sizeof(head), "  %s%s%s", o[i].flag,
			 o[i].arg && strncmp(o[i].arg, "[=", 2) ? " " : "",
			 o[i].arg ? o[i].arg : "");
		fputs(head, f);
		col = (unsigned)strlen(head);
		if (col > 26) {
			fputc('\n', f);
			col = 0;
		}
		wrap_words(f, o[i].text, strlen(o[i].text), 28, &col);
		if (o[i].env) {
			char env[64];

			snprintf(env, sizeof(env), "[%s]", o[i].env);
			wrap_words(f, env, strlen(env), 28, &col);
		}
		fputc('\n', f);
	}
}

static void print_synopsis(FILE *f, const struct help_cmd *c, const char *prefix)
{
	const char *p = c->args;

	for (int first = 1; first || *p; first = 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		fprintf(f, "%s sgxemu %s%s%.*s\n", first ? prefix : "      ", c->name, len ? " " : "",
			(int)len, p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

void help_print_usage(FILE *f)
{
	fprintf(f, "usage: sgxemu [OPTIONS] COMMAND [ARGS...]   (sgxemu --help for more)\n");
}

void help_print_main(FILE *f)
{
	fprintf(f, "usage: sgxemu [OPTIONS] COMMAND [ARGS...]\n\n"
		   "Intel SGX and the Linux SGX driver, emulated in user space: SGX programs run "
		   "unmodified\nunder `sgxemu run`.\n\ncommands:\n");
	for (size_t i = 0; i < n_help_cmds; i++)
		fprintf(f, "  %-11s %s\n", help_cmds[i].name, help_cmds[i].summary);
	fprintf(f, "\nsgxemu COMMAND --help describes a command and its options.\n\n"
		   "options of run and info (also before the command; --name=VALUE works too;\n"
		   "each sets the SGXEMU_* variable in brackets):\n");
	print_opts(f, run_options, n_run_options);
	fprintf(f, "\nother options:\n");
	print_opts(f, top_opts, N(top_opts));
}

int help_print_cmd(FILE *f, const char *name)
{
	for (size_t i = 0; i < n_help_cmds; i++) {
		const struct help_cmd *c = &help_cmds[i];

		if (strcmp(c->name, name))
			continue;
		print_synopsis(f, c, "usage:");
		fputc('\n', f);
		print_text(f, c->text, 0);
		if (c->nopts) {
			fprintf(f, "\noptions:\n");
			print_opts(f, c->opts, c->nopts);
		}
		return 0;
	}
	return -1;
}

/* ---- man(7) ---- */

/* Text for roff: backslashes and hyphens escaped, a leading dot or quote neutralised. */
static void roff_text(FILE *f, const char *s, size_t len, bool line_start)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (line_start && (c == '.' || c == '\''))
			fputs("\\&", f);
		line_start = false;
		if (c == '\\')
			fputs("\\e", f);
		else if (c == '-')
			fputs("\\-", f);
		else
			fputc(c, f);
	}
}

static void roff_str(FILE *f, const char *s)
{
	roff_text(f, s, strlen(s), false);
}

static void roff_paragraphs(FILE *f, const char *text)
{
	const char *p = text;
	bool literal = false, need_pp = false;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool lit = len >= 2 && p[0] == ' ' && p[1] == ' ';

		if (len == 0) {
			if (literal) {
				fputs(".fi\n.RE\n", f);
				literal = false;
			}
			need_pp = true;
		} else {
			if (lit && !literal) {
				fputs(need_pp ? ".PP\n.RS 4\n.nf\n" : ".RS 4\n.nf\n", f);
				literal = true;
			} else if (!lit && literal) {
				fputs(".fi\n.RE\n", f);
				literal = false;
			} else if (need_pp) {
				fputs(".PP\n", f);
			}
			need_pp = false;
			roff_text(f, lit ? p + 2 : p, lit ? len - 2 : len, true);
			fputc('\n', f);
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	if (literal)
		fputs(".fi\n.RE\n", f);
}

static void roff_opts(FILE *f, const struct help_opt *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fputs(".TP\n\\fB", f);
		roff_str(f, o[i].flag);
		fputs("\\fR", f);
		if (o[i].arg) {
			fputs(strncmp(o[i].arg, "[=", 2) ? " \\fI" : "\\fI", f);
			roff_str(f, o[i].arg);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		roff_text(f, o[i].text, strlen(o[i].text), true);
		if (o[i].env) {
			fputs(" [\\fB", f);
			roff_str(f, o[i].env);
			fputs("\\fR]", f);
		}
		fputc('\n', f);
	}
}

void help_print_man(FILE *f)
{
	fprintf(f, ".\\\" sgxemu(1), generated by `sgxemu --man` from tools/help.c: edit that file.\n"
		   ".TH SGXEMU 1 \"\" \"sgxemu %s\" \"User Commands\"\n"
		   ".SH NAME\nsgxemu \\- run SGX programs on any x86\\-64 Linux, with SGX emulated\n"
		   ".SH SYNOPSIS\n", SGXEMU_VERSION);
	for (size_t i = 0; i < n_help_cmds; i++) {
		const char *p = help_cmds[i].args;

		for (int first = 1; first || *p; first = 0) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);

			fprintf(f, ".B sgxemu %s\n", help_cmds[i].name);
			if (len) {
				roff_text(f, p, len, true);
				fputc('\n', f);
			}
			fputs(".br\n", f);
			p += len;
			if (*p == '\n')
				p++;
		}
	}
	fputs(".SH DESCRIPTION\n"
	      "sgxemu emulates Intel SGX (SGX1 and SGX2) and the Linux SGX driver in user space: "
	      "a program started with\n.B sgxemu run\n"
	      "finds the SGX devices, their ioctls, the vDSO entry and CPUID leaf 0x12 as on a "
	      "Linux machine with SGX, and runs unmodified. The other commands inspect the emulated "
	      "CPU and the running programs, and measure and sign enclaves.\n"
	      ".SH COMMANDS\n", f);
	for (size_t i = 0; i < n_help_cmds; i++) {
		const struct help_cmd *c = &help_cmds[i];

		fprintf(f, ".SS %s\n", c->name);
		roff_paragraphs(f, c->text);
		if (c->nopts && c->opts != run_options) {
			fputs(".PP\nOptions:\n", f);
			roff_opts(f, c->opts, c->nopts);
		} else if (c->opts == run_options) {
			fputs(".PP\nThe options are listed under OPTIONS.\n", f);
		}
	}
	fputs(".SH OPTIONS\nOptions of\n.B run\nand\n.BR info ,\n"
	      "also accepted before the command:\n", f);
	roff_opts(f, run_options, n_run_options);
	fputs(".PP\nOther options:\n", f);
	roff_opts(f, top_opts, N(top_opts));
	fputs(".SH ENVIRONMENT\n", f);
	for (size_t i = 0; i < n_run_options; i++) {
		fprintf(f, ".TP\n.B %s\nas ", run_options[i].env);
		fputs("\\fB", f);
		roff_str(f, run_options[i].flag);
		fputs("\\fR", f);
		fputs(!run_options[i].arg ? " (any value but 0 or empty)\n" :
		      !strncmp(run_options[i].arg, "[=", 2) ? " (1 or all, or the LIST)\n" : "\n", f);
	}
	fputs(".TP\n.B SGXEMU_STAT_DIR\nwhere status files for\n.B sgxemu stat\nare kept "
	      "(default $XDG_RUNTIME_DIR/sgxemu, else /tmp/sgxemu\\-UID).\n"
	      ".SH FILES\n"
	      ".TP\n.I LIBDIR/libsgxemu.so\nthe emulator, preloaded by\n.BR \"sgxemu run\" ;\n"
	      "found next to the sgxemu binary, in ../lib from it, or where it was installed.\n"
	      ".TP\n.I LIBDIR/libsgxemu\\-boot.so\n"
	      "the boot shim programs load before anything else when they inherit the system-call "
	      "filter; it must stay next to libsgxemu.so.\n"
	      ".TP\n.I ~/.local/share/sgxemu/platform.key\nthe default platform key.\n"
	      ".SH EXIT STATUS\n"
	      "0 on success; for\n.BR run ,\nthe program's status, or 127 if it cannot be run; 1 "
	      "when a command fails (e.g. an invalid SIGSTRUCT); 2 for usage errors.\n"
	      ".SH EXAMPLES\n.nf\n"
	      "sgxemu run \\-\\- ./my_sgx_program\n"
	      "sgxemu run \\-\\-epc\\-size 128M \\-\\-trace\\-file trace.txt \\-\\- ./app\n"
	      "sgxemu stat \\-\\-watch 1\n"
	      "sgxemu keygen key.pem && sgxemu sign \\-\\-key key.pem enclave.elf\n"
	      "sgxemu sigstruct enclave.signed.so\n"
	      ".fi\n"
	      ".SH SEE ALSO\n"
	      "The README, docs/fidelity.md (where sgxemu differs from hardware and Linux), "
	      "docs/keys.md and docs/policy.md in the sgxemu sources.\n", f);
}

/* ---- bash completion ---- */

static void flag_words(FILE *f, const struct help_opt *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = o[i].flag;

		/* "-v, --verbose" gives both spellings. */
		while (*s) {
			size_t w = strcspn(s, ", ");

			fprintf(f, " %.*s", (int)w, s);
			s += w;
			s += strspn(s, ", ");
		}
	}
}

void help_print_completion(FILE *f)
{
	fputs("# bash completion for sgxemu, generated by `sgxemu --bash-completion`.\n"
	      "_sgxemu()\n{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n"
	      "\t\t--) [ -n \"$cmd\" ] && { COMPREPLY=($(compgen -c -- \"$cur\")); return; } ;;\n", f);
	fputs("\t\t", f);
	for (size_t i = 0; i < n_help_cmds; i++)
		fprintf(f, "%s%s", i ? "|" : "", help_cmds[i].name);
	fputs(") [ -z \"$cmd\" ] && cmd=${COMP_WORDS[i]} ;;\n\t\tesac\n\tdone\n", f);
	/* Options whose value is a file, or a fixed word. */
	fputs("\tcase $prev in\n\t--syscall-filter) COMPREPLY=($(compgen -W 'auto on off' -- "
	      "\"$cur\")); return ;;\n\t--svn-checks) COMPREPLY=($(compgen -W 'all none cpusvn "
	      "isvsvn configsvn' -- \"$cur\")); return ;;\n\t", f);
	{
		bool any = false;

		for (size_t i = 0; i < n_run_options; i++)
			if (run_options[i].arg && !strcmp(run_options[i].arg, "FILE")) {
				fprintf(f, "%s%s", any ? "|" : "", run_options[i].flag);
				any = true;
			}
		for (size_t c = 0; c < n_help_cmds; c++)
			for (size_t i = 0; i < help_cmds[c].nopts; i++) {
				const char *a = help_cmds[c].opts[i].arg;

				if (help_cmds[c].opts != run_options && a &&
				    (strstr(a, "FILE") || strstr(a, ".pem") || !strcmp(a, "SIG"))) {
					fprintf(f, "%s%s", any ? "|" : "", help_cmds[c].opts[i].flag);
					any = true;
				}
			}
	}
	fputs(") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n\tesac\n"
	      "\tcase $cmd in\n\t'')\n\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W '", f);
	flag_words(f, top_opts, N(top_opts));
	flag_words(f, run_options, n_run_options);
	fputs("' -- \"$cur\"))\n\t\telse\n\t\t\tCOMPREPLY=($(compgen -W '", f);
	for (size_t i = 0; i < n_help_cmds; i++)
		fprintf(f, " %s", help_cmds[i].name);
	fputs("' -- \"$cur\"))\n\t\tfi ;;\n", f);
	for (size_t c = 0; c < n_help_cmds; c++) {
		const struct help_cmd *h = &help_cmds[c];

		fprintf(f, "\t%s)\n\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W '--help",
			h->name);
		flag_words(f, h->opts, h->nopts);
		fprintf(f, "' -- \"$cur\"))\n\t\telse\n\t\t\tCOMPREPLY=($(compgen %s -- \"$cur\"))\n"
			   "\t\tfi ;;\n", !strcmp(h->name, "run") ? "-c -f" : "-f");
	}
	fputs("\tesac\n}\ncomplete -o filenames -F _sgxemu sgxemu\n", f);
}

/* Shared by every command (here, not in sgxemu.c, so that programs linking a command's
 * file without the CLI's main() have them: the fuzz targets). */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sgxemu: ");
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see sgxemu %s%s--help)\n", cmd ? cmd : "", cmd ? " " : "");
	return 2;
}

int cmd_help(const char *cmd)
{
	if (help_print_cmd(stdout, cmd))
		help_print_main(stdout);
	return fflush(stdout) ? 1 : 0;
}
