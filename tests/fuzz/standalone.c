/* Runs a libFuzzer target over input files without libFuzzer, so that the seed corpus and
 * the reproducers of fixed bugs are regression tests built with the ordinary compiler (make
 * test needs no clang). Prints TAP: one line per input; an input that breaks an invariant
 * aborts the program, which tests/run.sh counts as a failure.
 *
 *   fuzz_NAME FILE_OR_DIRECTORY...   (directories: every regular file in them, sorted) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static char **paths;
static size_t npaths, cap;

static void add_path(const char *p)
{
	if (npaths == cap) {
		cap = cap ? cap * 2 : 64;
		paths = realloc(paths, cap * sizeof(*paths));
		if (!paths)
			exit(2);
	}
	paths[npaths++] = strdup(p);
}

static void collect(const char *arg)
{
	struct stat st;
	struct dirent **names;
	char buf[4096];
	int n;

	if (stat(arg, &st)) {
		fprintf(stderr, "%s: cannot stat\n", arg);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		add_path(arg);
		return;
	}
	n = scandir(arg, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s/%s", arg, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && !stat(buf, &st) && S_ISREG(st.st_mode))
			add_path(buf);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	size_t first = npaths;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		collect(argv[i]);
	printf("1..%zu\n", npaths - first);
	fflush(stdout);
	for (size_t i = first; i < npaths; i++) {
		FILE *f = fopen(paths[i], "rb");
		uint8_t *data = NULL;
		long len;

		if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
			printf("not ok %zu - %s (cannot read)\n", i + 1, paths[i]);
			continue;
		}
		data = malloc(len ? (size_t)len : 1);
		if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
			printf("not ok %zu - %s (cannot read)\n", i + 1, paths[i]);
			fclose(f);
			free(data);
			continue;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(data, (size_t)len);
		free(data);
		printf("ok %zu - %s\n", i + 1, paths[i]);
		fflush(stdout);
	}
	return 0;
}
