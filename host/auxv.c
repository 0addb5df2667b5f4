/* Finding the initial auxiliary vector in memory (see auxv.h). The kernel lays out the main
 * thread's stack as argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL. glibc records
 * where argc is in __libc_stack_end before anything else runs (it is set when the preload's
 * IFUNC resolvers run, long before __environ is), so that is the way in; __environ is the
 * second one, valid only while the program has not replaced its environment. A candidate is
 * taken only when it matches the kernel's copy on entries nobody rewrites (AT_RANDOM, which
 * points into this very stack, and AT_PAGESZ). */
#include "host/auxv.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include "util/rawsys.h"

/* From glibc; weak, so that another libc only makes the search fail. */
extern void *__libc_stack_end __attribute__((weak));
extern char **__environ __attribute__((weak));

#define AUXV_MAX 128		/* pairs we accept; Linux 6.x uses about 25 */
#define ARGS_MAX (1L << 22)	/* argv/envp entries we are willing to walk */

static Elf64_auxv_t *found;

/* The kernel's copy into buf; the number of pairs up to and including AT_NULL, or 0. */
static size_t kernel_copy(Elf64_auxv_t *buf, size_t max)
{
	long fd = raw_syscall4(SYS_openat, AT_FDCWD, "/proc/self/auxv", O_RDONLY | O_CLOEXEC, 0);
	size_t got = 0, want = max * sizeof(*buf);
	long r;

	if (fd < 0)
		return 0;
	while (got < want) {
		r = raw_syscall3(SYS_read, fd, (char *)buf + got, want - got);
		if (r == -4 /* EINTR */)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	raw_syscall1(SYS_close, fd);
	for (size_t i = 0; i < got / sizeof(*buf); i++)
		if (buf[i].a_type == AT_NULL)
			return i + 1;
	return 0;
}

static int lookup(const Elf64_auxv_t *v, size_t n, unsigned long type, unsigned long *val)
{
	for (size_t i = 0; i < n && v[i].a_type != AT_NULL; i++) {
		if (v[i].a_type == type) {
			*val = v[i].a_un.a_val;
			return 0;
		}
	}
	return -1;
}

/* The pairs after the NULL that ends envp. */
static Elf64_auxv_t *after_envp(char **envp)
{
	long i;

	for (i = 0; i < ARGS_MAX && envp[i]; i++)
		;
	return i < ARGS_MAX ? (Elf64_auxv_t *)(envp + i + 1) : NULL;
}

static Elf64_auxv_t *from_stack_end(void)
{
	long *sp, argc;
	char **argv;

	if (!&__libc_stack_end || !__libc_stack_end)
		return NULL;
	sp = __libc_stack_end;
	argc = sp[0];
	argv = (char **)(sp + 1);
	if (argc < 0 || argc > ARGS_MAX || argv[argc])
		return NULL;
	return after_envp(argv + argc + 1);
}

static Elf64_auxv_t *from_environ(void)
{
	if (!&__environ || !__environ)
		return NULL;
	return after_envp(__environ);
}

/* A well-formed vector that agrees with the kernel's copy (when there is one). */
static int plausible(const Elf64_auxv_t *c, const Elf64_auxv_t *k, size_t nk)
{
	static const unsigned long fixed[] = { AT_RANDOM, AT_PAGESZ };
	unsigned long a, b;
	size_t n;

	if (!c)
		return 0;
	for (n = 0; n < AUXV_MAX && c[n].a_type != AT_NULL; n++)
		;
	if (n == AUXV_MAX)
		return 0;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (lookup(c, n, fixed[i], &a))
			return 0;
		if (nk && (lookup(k, nk, fixed[i], &b) || a != b))
			return 0;
	}
	return 1;
}

Elf64_auxv_t *auxv_initial(void)
{
	Elf64_auxv_t kern[AUXV_MAX], *c = __atomic_load_n(&found, __ATOMIC_ACQUIRE);
	size_t nk;

	if (c)
		return c;
	nk = kernel_copy(kern, AUXV_MAX);
	c = from_stack_end();
	if (!plausible(c, kern, nk)) {
		c = from_environ();
		if (!plausible(c, kern, nk))
			return NULL;
	}
	__atomic_store_n(&found, c, __ATOMIC_RELEASE);
	return c;
}

int auxv_kernel_value(unsigned long type, unsigned long *val)
{
	Elf64_auxv_t kern[AUXV_MAX];
	size_t nk = kernel_copy(kern, AUXV_MAX);

	return nk ? lookup(kern, nk, type, val) : -1;
}

/* The slot of type in the in-memory vector, or NULL. */
static uint64_t *slot_of(unsigned long type)
{
	Elf64_auxv_t *v = auxv_initial();

	for (size_t i = 0; v && i < AUXV_MAX && v[i].a_type != AT_NULL; i++)
		if (v[i].a_type == type)
			return &v[i].a_un.a_val;
	return NULL;
}

int auxv_value(unsigned long type, unsigned long *val)
{
	uint64_t *s = slot_of(type);

	if (!s)
		return -1;
	*val = __atomic_load_n(s, __ATOMIC_ACQUIRE);
	return 0;
}

int auxv_replace(unsigned long type, unsigned long old, unsigned long new_val)
{
	uint64_t *s = slot_of(type), expected = old;

	if (!s)
		return -1;
	return __atomic_compare_exchange_n(s, &expected, new_val, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST) ? 0 : -1;
}
