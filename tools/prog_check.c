/* Programs no preload can enter, told before `sgxemu run` starts them: statically linked ones
 * (no dynamic loader reads LD_PRELOAD), set-user-ID, set-group-ID and file-capability ones
 * that gain privileges (the loader's secure-execution mode drops a preload given by path),
 * and programs for another architecture. Scripts are judged by their interpreter. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tools/cmds.h"

/* The file execvp would run for name, as execvp searches PATH. 0 or -1. */
static int resolve(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return (size_t)snprintf(out, len, "%s", name) < len ? 0 : -1;
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct stat st;

		/* An empty entry is the current directory. */
		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)n, n ? path : ".", "/", name) < len &&
		    !stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK))
			return 0;
		path += n;
		if (*path == ':')
			path++;
	}
	return -1;
}

/* Whether executing path changes the effective IDs or gives capabilities, which puts the
 * loader into secure-execution mode (AT_SECURE). */
static const char *privilege_gain(const char *path, const struct stat *st)
{
	struct statvfs vfs;
	char cap[64];

	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return NULL;
	if (!statvfs(path, &vfs) && (vfs.f_flag & ST_NOSUID))
		return NULL;
	if ((st->st_mode & S_ISUID) && st->st_uid != getuid())
		return "set-user-ID";
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getgid())
		return "set-group-ID";
	if (getuid() != 0 && getxattr(path, "security.capability", cap, sizeof(cap)) > 0)
		return "given file capabilities";
	return NULL;
}

static int judge(const char *shown, const char *path, int depth, char *why, size_t len)
{
	unsigned char buf[512];
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	struct stat st;
	const char *priv;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return 0; /* execvp will say what is wrong */
	}
	n = pread(fd, buf, sizeof(buf), 0);
	priv = privilege_gain(path, &st);
	if (priv) {
		close(fd);
		snprintf(why, len, "%s is %s: the dynamic loader ignores LD_PRELOAD for it, so it "
			 "runs without the emulator (a copy without that bit would not)", shown, priv);
		return 1;
	}
	if (n >= 4 && buf[0] == '#' && buf[1] == '!' && depth < 4) {
		char interp[PATH_MAX];
		size_t i = 2, k = 0;

		close(fd);
		while (i < (size_t)n && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		while (i < (size_t)n && k + 1 < sizeof(interp) && buf[i] != ' ' && buf[i] != '\t' &&
		       buf[i] != '\n')
			interp[k++] = (char)buf[i++];
		interp[k] = 0;
		if (!k)
			return 0;
		{
			char sub[PATH_MAX + 64];

			snprintf(sub, sizeof(sub), "%s's interpreter %s", shown, interp);
			return judge(sub, interp, depth + 1, why, len);
		}
	}
	if (n < (ssize_t)EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG)) {
		close(fd);
		return 0;
	}
	if (buf[EI_CLASS] != ELFCLASS64 || n < (ssize_t)sizeof(*eh) || eh->e_machine != EM_X86_64) {
		close(fd);
		snprintf(why, len, "%s is not an x86-64 program: sgxemu emulates SGX for x86-64 "
			 "programs only, so it runs without the emulator", shown);
		return 1;
	}
	if (eh->e_type == ET_EXEC || eh->e_type == ET_DYN) {
		bool interp = false;

		for (unsigned i = 0; i < eh->e_phnum && eh->e_phentsize == sizeof(Elf64_Phdr); i++) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), (off_t)(eh->e_phoff + (uint64_t)i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph))
				break;
			interp |= ph.p_type == PT_INTERP;
		}
		close(fd);
		if (!interp) {
			snprintf(why, len, "%s is statically linked: no preload can enter it, so it "
				 "runs without the emulator (no SGX devices, no SGX in CPUID); link it "
				 "dynamically to run it under sgxemu", shown);
			return 1;
		}
		return 0;
	}
	close(fd);
	return 0;
}

int prog_preload_obstacle(const char *prog, char *why, size_t len)
{
	char path[PATH_MAX];

	if (resolve(prog, path, sizeof(path)))
		return 0;
	return judge(prog, path, 0, why, len);
}
