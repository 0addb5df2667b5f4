/* Under sgxemu the vDSO a program finds is ours, however it looks: getauxval, glibc's own
 * getauxval (the preload's interposition aside), or the auxv on its initial stack; fork and
 * exec keep it so. The image parses like the kernel's (DT_HASH, LINUX_2.6 versions) and its
 * time functions give the system calls' results. /proc/self/auxv is the kernel's copy and
 * still names the host's vDSO (docs/fidelity.md). When the preload turns the emulation off,
 * the host's vDSO is back everywhere. */
#include "tests/integ/integ.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static char **initial_envp;
static const char *self_path;

/* The auxv entry as the initial stack holds it (after envp's NULL). */
static unsigned long stack_auxv(unsigned long type)
{
	char **e = initial_envp;

	while (*e)
		e++;
	for (Elf64_auxv_t *a = (Elf64_auxv_t *)(e + 1); a->a_type != AT_NULL; a++)
		if (a->a_type == type)
			return a->a_un.a_val;
	return 0;
}

static unsigned long kernel_auxv(unsigned long type)
{
	Elf64_auxv_t v[128];
	FILE *f = fopen("/proc/self/auxv", "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(v, sizeof(v[0]), 128, f);
	fclose(f);
	for (size_t i = 0; i < n && v[i].a_type != AT_NULL; i++)
		if (v[i].a_type == type)
			return v[i].a_un.a_val;
	return 0;
}

/* glibc's getauxval itself, not the preload's. */
static unsigned long libc_getauxval(unsigned long type)
{
	void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
	unsigned long (*fn)(unsigned long);

	assert_non_null(libc);
	fn = (unsigned long (*)(unsigned long))dlsym(libc, "getauxval");
	assert_non_null(fn);
	dlclose(libc);
	return fn(type);
}

/* Where [vdso] is mapped, from /proc/self/maps. */
static uintptr_t maps_vdso(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t at = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]"))
			at = strtoul(line, NULL, 16);
	fclose(f);
	return at;
}

static unsigned long elf_hash(const char *name)
{
	unsigned long h = 0, g;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h = (h << 4) + *p;
		g = h & 0xf0000000UL;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* A dlvsym-style lookup in the vDSO at base: name of version ver (DT_HASH, DT_VERSYM,
 * DT_VERDEF), the way the kernel's selftests parse it. */
static void *vsym(uintptr_t base, const char *name, const char *ver)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	const Elf64_Sym *sym = NULL;
	const Elf32_Word *hash = NULL;
	const Elf64_Half *versym = NULL;
	const unsigned char *verdef = NULL;
	const char *str = NULL;

	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
	assert_non_null(dyn);
	for (; dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t p = base + dyn->d_un.d_ptr;

		switch (dyn->d_tag) {
		case DT_SYMTAB: sym = (const Elf64_Sym *)p; break;
		case DT_STRTAB: str = (const char *)p; break;
		case DT_HASH: hash = (const Elf32_Word *)p; break;
		case DT_VERSYM: versym = (const Elf64_Half *)p; break;
		case DT_VERDEF: verdef = (const unsigned char *)p; break;
		}
	}
	assert_non_null(sym);
	assert_non_null(str);
	assert_non_null(hash);
	assert_non_null(versym);
	assert_non_null(verdef);
	for (Elf32_Word i = hash[2 + elf_hash(name) % hash[0]]; i; i = hash[2 + hash[0] + i]) {
		const unsigned char *vd = verdef;

		if (sym[i].st_shndx == SHN_UNDEF || ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC ||
		    strcmp(str + sym[i].st_name, name))
			continue;
		for (;;) {
			const Elf64_Verdef *d = (const Elf64_Verdef *)vd;
			const Elf64_Verdaux *a = (const Elf64_Verdaux *)(vd + d->vd_aux);

			if (!(d->vd_flags & VER_FLG_BASE) && d->vd_ndx == (versym[i] & 0x7fff) &&
			    d->vd_hash == elf_hash(ver) && !strcmp(str + a->vda_name, ver))
				return (void *)(base + sym[i].st_value);
			if (!d->vd_next)
				break;
			vd += d->vd_next;
		}
	}
	return NULL;
}

/* Every way of asking gives our image; the kernel's copy keeps the host's. */
static void everyone_sees_our_image(void **state)
{
	(void)state;
	uintptr_t ours = getauxval(AT_SYSINFO_EHDR), host = kernel_auxv(AT_SYSINFO_EHDR);

	assert_int_not_equal(ours, 0);
	assert_non_null(vsym(ours, "__vdso_sgx_enter_enclave", "LINUX_2.6"));
	assert_int_equal(libc_getauxval(AT_SYSINFO_EHDR), ours);
	if (!host)
		skip(); /* no vDSO from the kernel: nothing on the stack to point at us */
	assert_int_equal(stack_auxv(AT_SYSINFO_EHDR), ours);
	assert_int_not_equal(host, ours);
	assert_int_equal(host, maps_vdso());
	assert_null(vsym(host, "__vdso_sgx_enter_enclave", "LINUX_2.6"));
	/* Only that entry changed (ld.so run as a command rewrites the program's own ones). */
	for (unsigned long t = 1; t < 64; t++)
		if (t != AT_SYSINFO_EHDR && t != AT_PHDR && t != AT_PHNUM && t != AT_ENTRY &&
		    t != AT_EXECFN)
			assert_int_equal(stack_auxv(t), kernel_auxv(t));
	assert_int_equal(getauxval(AT_RANDOM), kernel_auxv(AT_RANDOM));
}

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* Found through the stack's auxv with versions, the standard functions answer as the
 * system calls do. */
static void standard_functions_work(void **state)
{
	(void)state;
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	long (*gettime)(clockid_t, struct timespec *) =
		(long (*)(clockid_t, struct timespec *))vsym(base, "__vdso_clock_gettime", "LINUX_2.6");
	long (*getres)(clockid_t, struct timespec *) =
		(long (*)(clockid_t, struct timespec *))vsym(base, "__vdso_clock_getres", "LINUX_2.6");
	long (*gtod)(struct timeval *, void *) =
		(long (*)(struct timeval *, void *))vsym(base, "__vdso_gettimeofday", "LINUX_2.6");
	long (*tm)(long *) = (long (*)(long *))vsym(base, "__vdso_time", "LINUX_2.6");
	long (*gcpu)(unsigned *, unsigned *, void *) =
		(long (*)(unsigned *, unsigned *, void *))vsym(base, "__vdso_getcpu", "LINUX_2.6");
	struct timespec a, b, c;
	struct timeval tv;

	assert_non_null(gettime);
	assert_non_null(getres);
	assert_non_null(gtod);
	assert_non_null(tm);
	assert_non_null(gcpu);
	/* The weak aliases, as the kernel's vDSO has them. */
	assert_ptr_equal(vsym(base, "clock_gettime", "LINUX_2.6"), (void *)gettime);
	assert_ptr_equal(vsym(base, "getcpu", "LINUX_2.6"), (void *)gcpu);

	assert_int_equal(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a), 0);
	assert_int_equal(gettime(CLOCK_MONOTONIC, &b), 0);
	assert_int_equal(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &c), 0);
	assert_true(ns(&a) <= ns(&b) && ns(&b) <= ns(&c));
	assert_int_equal(syscall(SYS_clock_getres, CLOCK_MONOTONIC_COARSE, &a), 0);
	assert_int_equal(getres(CLOCK_MONOTONIC_COARSE, &b), 0);
	assert_int_equal(ns(&a), ns(&b));
	assert_int_equal(gettime(-1, &b), -EINVAL);

	assert_int_equal(syscall(SYS_clock_gettime, CLOCK_REALTIME, &a), 0);
	assert_int_equal(gtod(&tv, NULL), 0);
	long t = tm(NULL);
	assert_int_equal(syscall(SYS_clock_gettime, CLOCK_REALTIME, &c), 0);
	assert_true(tv.tv_sec * 1000000LL + tv.tv_usec >= ns(&a) / 1000);
	assert_true(tv.tv_sec * 1000000LL + tv.tv_usec <= ns(&c) / 1000);
	assert_true(t >= a.tv_sec && t <= c.tv_sec);

	cpu_set_t old, one;
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		unsigned got = ~0u;

		if (!CPU_ISSET(cpu, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		assert_int_equal(gcpu(&got, NULL, NULL), 0);
		assert_int_equal(got, cpu);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);

	/* getrandom exactly when the host's vDSO has it. */
	uintptr_t host = kernel_auxv(AT_SYSINFO_EHDR);
	if (host)
		assert_int_equal(!vsym(base, "__vdso_getrandom", "LINUX_2.6"),
				 !vsym(host, "__vdso_getrandom", "LINUX_2.6"));
}

/* The child of a fork has the same image in the same place. */
static void fork_keeps_it(void **state)
{
	(void)state;
	uintptr_t ours = getauxval(AT_SYSINFO_EHDR);
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(getauxval(AT_SYSINFO_EHDR) == ours && stack_auxv(AT_SYSINFO_EHDR) == ours &&
		      vsym(ours, "__vdso_time", "LINUX_2.6") ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* "report": how the vDSO looks to this process, as one line for a parent to check. */
static int report(void)
{
	uintptr_t ga = getauxval(AT_SYSINFO_EHDR), host = kernel_auxv(AT_SYSINFO_EHDR);

	printf("getauxval=%s stack=%s libc=%s sgx=%d\n",
	       ga == host ? "host" : "other", stack_auxv(AT_SYSINFO_EHDR) == host ? "host" : "other",
	       libc_getauxval(AT_SYSINFO_EHDR) == host ? "host" : "other",
	       vsym(ga, "__vdso_sgx_enter_enclave", "LINUX_2.6") != NULL);
	return 0;
}

/* Run this program again ("report") with the same environment (so the same preload), and
 * SGXEMU_EPC_SIZE=junk when bad; its line into out. */
static void run_child(int bad, char *out, size_t len)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		char *argv[] = { (char *)self_path, (char *)"report", NULL };
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		dup2(null, 2);	/* the preload says why the emulation is off */
		if (bad)
			setenv("SGXEMU_EPC_SIZE", "junk", 1);
		execv(self_path, argv);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(n > 0);
	out[n] = 0;
}

/* An exec'd program gets a fresh image of its own (the preload is inherited); one whose
 * preload turned the emulation off (a configuration it rejects) sees the host's vDSO. */
static void exec_and_emulation_off(void **state)
{
	(void)state;
	char out[256];

	if (!kernel_auxv(AT_SYSINFO_EHDR))
		skip();
	assert_non_null(getenv("LD_PRELOAD"));
	run_child(0, out, sizeof(out));
	assert_string_equal(out, "getauxval=other stack=other libc=other sgx=1\n");
	run_child(1, out, sizeof(out));
	assert_string_equal(out, "getauxval=host stack=host libc=host sgx=0\n");
}

int main(int argc, char **argv, char **envp)
{
	initial_envp = envp;
	self_path = argv[0];
	if (argc > 1 && !strcmp(argv[1], "report"))
		return report();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(everyone_sees_our_image),
		cmocka_unit_test(standard_functions_work),
		cmocka_unit_test(fork_keeps_it),
		cmocka_unit_test(exec_and_emulation_off),
	};
	return cmocka_run_group_tests_name("vdso_auxv", tests, NULL, NULL);
}
