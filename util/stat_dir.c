/* Where status files live (shared by the preload and `sgxemu stat`). */
#include "util/stat_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void sgxemu_stat_dir(char *buf, size_t len)
{
	const char *d = getenv("SGXEMU_STAT_DIR"), *rt = getenv("XDG_RUNTIME_DIR");

	if (d && *d)
		snprintf(buf, len, "%s", d);
	else if (rt && *rt)
		snprintf(buf, len, "%s/sgxemu", rt);
	else
		snprintf(buf, len, "/tmp/sgxemu-%u", (unsigned)getuid());
}
