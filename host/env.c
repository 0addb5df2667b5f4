/* What this process started with that its children must get too: the paths of the preload
 * and of the boot shim, and sgxemu's configuration (SGXEMU_* variables), captured at preload
 * start before the program can change its environment. */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"

#define ENV_SAVED_MAX 48

static char lib_path[PATH_MAX];
static char boot_path[PATH_MAX];
static char *saved[ENV_SAVED_MAX];
static unsigned nsaved;
static size_t saved_size;
static char *sanitizer_env;

void host_env_capture(void)
{
	Dl_info info;
	char *slash;

	if (dladdr((void *)host_env_capture, &info) && info.dli_fname &&
	    realpath(info.dli_fname, lib_path)) {
		strcpy(boot_path, lib_path);
		slash = strrchr(boot_path, '/');
		if (slash && (size_t)(slash - boot_path) + sizeof("/libsgxemu-boot.so") < sizeof(boot_path))
			strcpy(slash, "/libsgxemu-boot.so");
	}
	for (char **e = environ; e && *e && nsaved < ENV_SAVED_MAX; e++) {
		/* The carried signal state is per exec, not configuration. */
		if (strncmp(*e, "SGXEMU_", 7) || !strncmp(*e, "SGXEMU_SIGMASK=", 15) ||
		    !strncmp(*e, "SGXEMU_SIGIGN=", 14))
			continue;
		saved[nsaved] = strdup(*e);
		if (saved[nsaved])
			saved_size += strlen(saved[nsaved++]) + 1;
	}
#ifdef __SANITIZE_ADDRESS__
	/* A sanitizer build of the preload loads into programs that were not built with it only
	 * with the options the test harness gives: they go wherever the preload goes. */
	{
		const char *v = getenv("ASAN_OPTIONS");

		if (v && (sanitizer_env = malloc(strlen(v) + sizeof("ASAN_OPTIONS="))))
			strcat(strcpy(sanitizer_env, "ASAN_OPTIONS="), v);
	}
#endif
}

const char *host_env_sanitizer(void)
{
	return sanitizer_env;
}

const char *host_library_path(void)
{
	return lib_path;
}

const char *host_boot_path(void)
{
	return boot_path;
}

size_t host_env_size(void)
{
	return saved_size + (ENV_SAVED_MAX + 1) * sizeof(char *);
}

unsigned host_env_copy(char **out, uint64_t skip)
{
	unsigned k = 0;

	for (unsigned i = 0; i < nsaved; i++)
		if (!(skip & (1ULL << i)))
			out[k++] = saved[i];
	return k;
}
