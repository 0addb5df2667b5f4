/* The one description of the sgxemu command line: `sgxemu --help`, `sgxemu CMD --help`, the
 * manual page sgxemu(1) (`sgxemu --man`, made at build time) and the bash completion script
 * (`sgxemu --bash-completion`) are all printed from these tables, and `sgxemu run` takes its
 * options (and the SGXEMU_* variable each sets) from run_options. */
#ifndef SGXEMU_TOOLS_HELP_H
#define SGXEMU_TOOLS_HELP_H

#include <stddef.h>
#include <stdio.h>

struct help_opt {
	const char *flag;   /* "--epc-size", or "-v, --verbose" */
	const char *arg;    /* "SIZE", "[SECONDS]", or NULL for a flag without a value */
	const char *env;    /* run options: the SGXEMU_* variable it sets; else NULL */
	const char *text;   /* what it does; wrapped when printed */
};

struct help_cmd {
	const char *name;
	const char *args;     /* what follows "sgxemu NAME"; several forms separated by '\n' */
	const char *summary;  /* one line for the command list */
	/* Paragraphs separated by blank lines; lines starting with two spaces are literal
	 * (examples, tables) and are neither wrapped nor joined. */
	const char *text;
	const struct help_opt *opts;
	size_t nopts;
};

extern const struct help_opt run_options[];
extern const size_t n_run_options;
extern const struct help_cmd help_cmds[];
extern const size_t n_help_cmds;

/* The overview (`sgxemu --help`). */
void help_print_main(FILE *f);
/* One command's page (`sgxemu CMD --help`); -1 if there is no such command. */
int help_print_cmd(FILE *f, const char *name);
/* The short usage line and hint, for usage errors. */
void help_print_usage(FILE *f);
/* sgxemu(1) in man(7) format. */
void help_print_man(FILE *f);
/* A bash completion script for sgxemu. */
void help_print_completion(FILE *f);

#endif
