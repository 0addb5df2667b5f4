/* Processes: fork (glibc's or a bare fork/clone without CLONE_VM) and execve. A fork gets
 * the driver's fork handling whichever way it is made; an execve keeps the preload (and, once
 * the seccomp filter is on, the boot shim that must run before anything in the new image
 * makes a filtered call) in the environment the new image gets, along with sgxemu's
 * configuration and the program's view of the signals sgxemu keeps. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/mman.h>

#include "host/filter.h"
#include "host/host.h"
#include "host/signal.h"
#include "host/sys.h"
#include "host/thread.h"
#include "host/uaccess.h"
#include "util/rawsys.h"
#include "util/trace.h"

long sys_fork_like(long nr, const long a[6], uint64_t *child_rsp)
{
	struct thread_rec *t = thread_self();
	bool newstack = nr == SYS_clone && a[1];
	long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] }, r;

	/* glibc's fork runs our atfork handlers around this very call. */
	if ((t && t->libc_fork) || (newstack && !child_rsp))
		return raw_syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
	/* The child first runs on its copy of this stack, then where it was asked to. */
	if (newstack)
		args[1] = 0;
	host_fork_prepare();
	r = raw_syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
	if (r == 0) {
		host_fork_child();
		if (newstack)
			*child_rsp = (uint64_t)a[1];
	} else {
		host_fork_parent();
	}
	return r;
}

/* ---- execve ---- */

#define ENV_MAX (1 << 20)   /* entries we are willing to walk */
#define VAL_MAX 8192        /* the longest LD_PRELOAD we rewrite */

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Entries we set ourselves in the new environment (the program's own are dropped). */
static bool ours_to_set(const char *e)
{
	return has_prefix(e, "LD_PRELOAD=") || has_prefix(e, "SGXEMU_SIGMASK=") ||
	       has_prefix(e, "SGXEMU_SIGIGN=") || (filter_active() && has_prefix(e, "LD_AUDIT="));
}

/* Append "s" into the string area at *pos (bounded by end); returns the copy or NULL. */
static char *area_put(char **pos, char *end, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	char *s = *pos;

	if ((size_t)(end - s) < la + lb + lc + 1)
		return NULL;
	memcpy(s, a, la);
	if (lb)
		memcpy(s + la, b, lb);
	if (lc)
		memcpy(s + la + lb, c, lc);
	s[la + lb + lc] = 0;
	*pos = s + la + lb + lc + 1;
	return s;
}

/* LD_PRELOAD with our library first and no other copy of it. */
static char *preload_value(char **pos, char *end, const char *old)
{
	const char *lib = host_library_path();
	char rest[VAL_MAX];
	size_t n = 0;

	rest[0] = 0;
	while (old && *old) {
		size_t len = strcspn(old, ": ");

		if (len && (len != strlen(lib) || strncmp(old, lib, len)) && n + len + 2 < sizeof(rest)) {
			rest[n++] = ':';
			memcpy(rest + n, old, len);
			n += len;
			rest[n] = 0;
		}
		old += len;
		old += strspn(old, ": ");
	}
	return area_put(pos, end, "LD_PRELOAD=", lib, rest);
}

/* A statically linked target: nothing can preload into it. */
static bool target_is_static(int dirfd, uint64_t path, int flags)
{
	Elf64_Ehdr eh;
	long fd = raw_syscall4(SYS_openat, dirfd, path,
			       O_RDONLY | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0), 0);
	bool dynamic = false, elf;

	if (raw_is_err(fd))
		return false;
	elf = raw_syscall4(SYS_pread64, fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
	      !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	      eh.e_phentsize == sizeof(Elf64_Phdr);
	for (unsigned i = 0; elf && i < eh.e_phnum && !dynamic; i++) {
		Elf64_Phdr ph;

		if (raw_syscall4(SYS_pread64, fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) !=
		    sizeof(ph))
			break;
		dynamic = ph.p_type == PT_INTERP;
	}
	raw_syscall1(SYS_close, fd);
	return elf && !dynamic;
}

/* Not instrumented by AddressSanitizer: in the child of a vfork (posix_spawn's) this runs on
 * a stack shared with the parent and never returns once the execve succeeds, so ASan could
 * not clear the poison it puts around this frame's arrays, and the parent would later find it
 * on memory reusing that stack. */
__attribute__((no_sanitize_address))
static long exec_common(int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags, bool at)
{
	char **env, *pos, *end, *preload = NULL, key[64];
	uint64_t n = 0, size;
	bool managed = false, sanitizer = false;
	long r, k = 0;

	if (!host_active)
		goto raw;
	/* Count the program's entries. */
	while (envp) {
		uint64_t p;

		if (n >= ENV_MAX || host_copy_in(&p, envp + n * 8, 8))
			return -EFAULT;
		if (!p)
			break;
		n++;
	}
	size = (n + 16) * sizeof(char *) + host_env_size() + 3 * VAL_MAX;
	size = (size + 4095) & ~4095UL;
	r = raw_syscall6(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (raw_is_err(r))
		return r;
	env = (char **)r;
	pos = (char *)(env + n + 16);
	end = (char *)env + size;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p;

		if (host_copy_in(&p, envp + i * 8, 8) || host_copy_str(key, p, sizeof(key)) == -EFAULT) {
			r = -EFAULT;
			goto out;
		}
		if (has_prefix(key, "LD_PRELOAD=")) {
			char v[VAL_MAX];

			if (host_copy_str(v, p, sizeof(v)) >= 0)
				preload = area_put(&pos, end, v, NULL, NULL);
			continue;
		}
		if (ours_to_set(key))
			continue;
		if (has_prefix(key, "SGXEMU_"))
			managed = true;
		if (has_prefix(key, "ASAN_OPTIONS="))
			sanitizer = true;
		env[k++] = (char *)(uintptr_t)p;
	}
	env[k++] = preload_value(&pos, end, preload ? preload + strlen("LD_PRELOAD=") : NULL);
	if (filter_active())
		env[k++] = area_put(&pos, end, "LD_AUDIT=", host_boot_path(), NULL);
	/* An environment that kept some of sgxemu's settings is the program's to manage (it
	 * may have removed one on purpose); one without any was wiped: give ours back. */
	if (!managed)
		k += host_env_copy(env + k, 0);
	if (!sanitizer && host_env_sanitizer())
		env[k++] = (char *)host_env_sanitizer();
	{
		unsigned len = signal_exec_env(pos, (unsigned)(end - pos));
		char *s = pos;

		while (s < pos + len) {
			env[k++] = s;
			s += strlen(s) + 1;
		}
		pos += len;
	}
	env[k] = NULL;
	for (long i = 0; i < k; i++) {
		if (!env[i]) {
			r = -E2BIG;
			goto out;
		}
	}
	if (filter_active() && target_is_static(dirfd, path, flags))
		sgxemu_err("the program being executed is statically linked: sgxemu cannot enter it, "
			   "and the system-call filter it inherits stops it at its first filtered "
			   "call (SIGSYS)");
	r = at ? raw_syscall5(SYS_execveat, dirfd, path, argv, (long)env, flags)
	       : raw_syscall3(SYS_execve, path, argv, (long)env);
out:
	raw_syscall2(SYS_munmap, env, size);
	return r;
raw:
	return at ? raw_syscall5(SYS_execveat, dirfd, path, argv, envp, flags)
		  : raw_syscall3(SYS_execve, path, argv, envp);
}

long sys_execve(uint64_t path, uint64_t argv, uint64_t envp)
{
	return exec_common(AT_FDCWD, path, argv, envp, 0, false);
}

long sys_execveat(int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags)
{
	return exec_common(dirfd, path, argv, envp, flags, true);
}
