/* Our vDSO image: its ELF shape (what programs parse to find the symbol) and the behaviour of
 * __vdso_sgx_enter_enclave, run natively. There is no enclave here: ENCLU traps (SIGILL where
 * the CPU has no SGX; SIGSEGV where it has SGX but the TCS is not one, as on some CI VMs), and
 * the test's handler plays the enclave by emulating EEXIT or the emulator's exception report
 * (a jump to the fixup label), as host/ will.
 *
 * Usage: test_vdso [path-to-vdso.so]; the path may also come from SGXEMU_VDSO_IMAGE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <asm/sgx.h>
#include <elf.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "host/vdso.h"
#include "host/vdso/vdso_data.h"

#ifndef SGXEMU_VDSO_IMAGE_DEFAULT
#define SGXEMU_VDSO_IMAGE_DEFAULT "build/vdso.so"
#endif

#define EINVAL_RET	(-22)
#define LEAF_EENTER	2
#define LEAF_ERESUME	3
#define LEAF_EEXIT	4
#define FLAG_DF		0x400ull

/* The uapi layout is what the vDSO code hard-codes. */
_Static_assert(sizeof(struct sgx_enclave_run) == 256, "run size");
_Static_assert(offsetof(struct sgx_enclave_run, function) == 8, "function");
_Static_assert(offsetof(struct sgx_enclave_run, exception_vector) == 12, "vector");
_Static_assert(offsetof(struct sgx_enclave_run, exception_error_code) == 14, "error code");
_Static_assert(offsetof(struct sgx_enclave_run, exception_addr) == 16, "addr");
_Static_assert(offsetof(struct sgx_enclave_run, user_handler) == 24, "handler");
_Static_assert(offsetof(struct sgx_enclave_run, user_data) == 32, "user data");
_Static_assert(offsetof(struct sgx_enclave_run, reserved) == 40, "reserved");

typedef int (*enter_fn_t)(unsigned long rdi, unsigned long rsi, unsigned long rdx,
			  unsigned int function, unsigned long r8, unsigned long r9,
			  struct sgx_enclave_run *run);

/* ------------------------------------------------------------------------------------------
 * The image as a file. */

static const char *image_path;
static unsigned char *file_image;
static size_t file_size;

/* 8-aligned copy, so Elf64 structures can be read in place. */
static int load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || ftell(f) <= 0) {
		fclose(f);
		return -1;
	}
	file_size = (size_t)ftell(f);
	rewind(f);
	file_image = aligned_alloc(64, (file_size + 63) & ~(size_t)63);
	if (!file_image || fread(file_image, 1, file_size, f) != file_size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static const Elf64_Ehdr *ehdr(void)
{
	return (const Elf64_Ehdr *)file_image;
}

static const Elf64_Phdr *phdr(unsigned i)
{
	return (const Elf64_Phdr *)(file_image + ehdr()->e_phoff) + i;
}

static const Elf64_Phdr *find_phdr(uint32_t type)
{
	for (unsigned i = 0; i < ehdr()->e_phnum; i++)
		if (phdr(i)->p_type == type)
			return phdr(i);
	return NULL;
}

/* The dynamic table as the selftest finds it: through PT_DYNAMIC's p_offset. */
static const Elf64_Dyn *dynamic(void)
{
	const Elf64_Phdr *p = find_phdr(PT_DYNAMIC);
	return p ? (const Elf64_Dyn *)(file_image + p->p_offset) : NULL;
}

static int dyn_get(int64_t tag, uint64_t *val)
{
	for (const Elf64_Dyn *d = dynamic(); d && d->d_tag != DT_NULL; d++) {
		if (d->d_tag == tag) {
			*val = d->d_un.d_val;
			return 1;
		}
	}
	return 0;
}

/* Table at d_ptr of tag: an offset from the image start, since the image is linked at 0. */
static const void *dyn_table(int64_t tag)
{
	uint64_t off;
	if (!dyn_get(tag, &off) || off >= file_size)
		return NULL;
	return file_image + off;
}

static void test_elf_layout(void **state)
{
	(void)state;
	const Elf64_Ehdr *eh = ehdr();

	assert_true(file_size >= sizeof(*eh));
	assert_memory_equal(eh->e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh->e_type, ET_DYN);
	assert_int_equal(eh->e_machine, EM_X86_64);
	assert_int_equal(eh->e_phentsize, sizeof(Elf64_Phdr));
	assert_true(eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) <= file_size);

	/* One read+execute segment at 0 whose file offsets are its addresses, nothing writable,
	 * nothing to zero: copying the file is loading it. */
	unsigned nload = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = phdr(i);
		if (p->p_type != PT_LOAD)
			continue;
		nload++;
		assert_int_equal(p->p_offset, 0);
		assert_int_equal(p->p_vaddr, 0);
		assert_int_equal(p->p_flags, PF_R | PF_X);
		assert_int_equal(p->p_filesz, p->p_memsz);
		assert_true(p->p_filesz <= file_size);
	}
	assert_int_equal(nload, 1);
	assert_true(file_size <= 2 * 4096);

	const Elf64_Phdr *dyn = find_phdr(PT_DYNAMIC);
	assert_non_null(dyn);
	assert_int_equal(dyn->p_offset, dyn->p_vaddr);
	assert_true(dyn->p_offset + dyn->p_filesz <= file_size);

	const Elf64_Phdr *stack = find_phdr(PT_GNU_STACK);
	assert_non_null(stack);
	assert_int_equal(stack->p_flags & PF_X, 0);
}

static void test_dynamic_tags(void **state)
{
	(void)state;
	uint64_t v;

	assert_true(dyn_get(DT_HASH, &v));
	assert_true(dyn_get(DT_GNU_HASH, &v));
	assert_true(dyn_get(DT_SYMTAB, &v));
	assert_true(dyn_get(DT_STRTAB, &v));
	assert_true(dyn_get(DT_STRSZ, &v));
	/* Self-contained: no libraries, nothing for a loader to fix up. */
	static const int64_t forbidden[] = {
		DT_NEEDED, DT_REL, DT_RELA, DT_RELSZ, DT_RELASZ, DT_JMPREL, DT_PLTRELSZ,
		DT_TEXTREL, DT_RELR, DT_RELRSZ, DT_INIT, DT_FINI, DT_INIT_ARRAY, DT_FINI_ARRAY,
	};
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		if (dyn_get(forbidden[i], &v))
			fail_msg("unexpected dynamic tag %lld", (long long)forbidden[i]);
	}
}

static void test_no_relocation_sections(void **state)
{
	(void)state;
	const Elf64_Ehdr *eh = ehdr();

	assert_int_equal(eh->e_shentsize, sizeof(Elf64_Shdr));
	assert_true(eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) <= file_size);
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(file_image + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_REL || sh[i].sh_type == SHT_RELA ||
		    sh[i].sh_type == SHT_RELR)
			assert_int_equal(sh[i].sh_size, 0);
		/* Everything loaded must lie inside the one segment (no .data, no .bss). */
		if (sh[i].sh_flags & SHF_ALLOC) {
			assert_int_not_equal(sh[i].sh_type, SHT_NOBITS);
			assert_int_equal(sh[i].sh_addr, sh[i].sh_offset);
		}
	}
}

/* The SysV ELF hash from the gABI, written out again so it does not share code with
 * host/vdso.c. */
static uint32_t elf_hash(const char *name)
{
	uint32_t h = 0;
	for (; *name; name++) {
		h = (h << 4) + (unsigned char)*name;
		uint32_t top = h & 0xf0000000u;
		if (top)
			h ^= top >> 24;
		h &= ~top;
	}
	return h;
}

/* Lookup the way the kernel's selftest does it: bucket count at hash[0], buckets at
 * hash[2], chains after the buckets, compare names, take base + st_value. */
static const Elf64_Sym *sysv_lookup(const char *name)
{
	const uint32_t *hash = dyn_table(DT_HASH);
	const Elf64_Sym *symtab = dyn_table(DT_SYMTAB);
	const char *strtab = dyn_table(DT_STRTAB);
	if (!hash || !symtab || !strtab)
		return NULL;
	uint32_t nbucket = hash[0];
	const uint32_t *bucket = hash + 2, *chain = hash + 2 + nbucket;
	for (uint32_t i = bucket[elf_hash(name) % nbucket]; i != STN_UNDEF; i = chain[i])
		if (!strcmp(strtab + symtab[i].st_name, name))
			return &symtab[i];
	return NULL;
}

/* DT_GNU_HASH lookup: nbuckets, symoffset, bloom size, bloom shift, bloom words, buckets,
 * then one hash value per symbol from symoffset on, the last of a chain with bit 0 set. */
static uint32_t gnu_hash(const char *name)
{
	uint32_t h = 5381;
	for (; *name; name++)
		h = h * 33 + (unsigned char)*name;
	return h;
}

static const Elf64_Sym *gnu_lookup(const char *name)
{
	const uint32_t *gh = dyn_table(DT_GNU_HASH);
	const Elf64_Sym *symtab = dyn_table(DT_SYMTAB);
	const char *strtab = dyn_table(DT_STRTAB);
	if (!gh || !symtab || !strtab)
		return NULL;
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2], shift = gh[3];
	const uint64_t *bloom = (const uint64_t *)(gh + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t h = gnu_hash(name);

	uint64_t word = bloom[(h / 64) % bloom_size];
	uint64_t mask = (1ull << (h % 64)) | (1ull << ((h >> shift) % 64));
	if ((word & mask) != mask)
		return NULL;
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		uint32_t h2 = chain[i - symoffset];
		if ((h | 1) == (h2 | 1) && !strcmp(strtab + symtab[i].st_name, name))
			return &symtab[i];
		if (h2 & 1)
			return NULL;
	}
}

/* The x86-64 Linux vDSO's exports (arch/x86/entry/vdso/vdso.lds.S of Linux 6.12): each
 * __vdso_X global with a weak alias X, all of version LINUX_2.6, plus the SGX entry point. */
static const char *const std_names[][2] = {
	{ "__vdso_clock_gettime", "clock_gettime" },
	{ "__vdso_gettimeofday", "gettimeofday" },
	{ "__vdso_time", "time" },
	{ "__vdso_getcpu", "getcpu" },
	{ "__vdso_clock_getres", "clock_getres" },
	{ "__vdso_getrandom", "getrandom" },
};
#define NSTD (sizeof(std_names) / sizeof(std_names[0]))
static const char *const private_names[] = { "__sgxemu_vdso_enclu", "__sgxemu_vdso_fixup" };

static void test_sysv_hash_lookup(void **state)
{
	(void)state;
	uint64_t v;
	const Elf64_Sym *s = sysv_lookup("__vdso_sgx_enter_enclave");

	assert_non_null(s);
	assert_int_equal(ELF64_ST_TYPE(s->st_info), STT_FUNC);
	assert_int_equal(ELF64_ST_BIND(s->st_info), STB_GLOBAL);
	for (size_t i = 0; i < 2; i++) {
		s = sysv_lookup(private_names[i]);
		assert_non_null(s);
		assert_int_equal(ELF64_ST_BIND(s->st_info), STB_GLOBAL);
		assert_true(s->st_value < file_size);
		/* host/vdso.c's lookup agrees. */
		assert_int_equal(vdso_image_lookup(file_image, file_size, private_names[i], &v), 0);
		assert_int_equal(v, s->st_value);
	}
	for (size_t i = 0; i < NSTD; i++) {
		const Elf64_Sym *g = sysv_lookup(std_names[i][0]), *w = sysv_lookup(std_names[i][1]);

		assert_non_null(g);
		assert_non_null(w);
		assert_int_not_equal(g->st_shndx, SHN_UNDEF);
		assert_int_equal(ELF64_ST_TYPE(g->st_info), STT_FUNC);
		assert_int_equal(ELF64_ST_BIND(g->st_info), STB_GLOBAL);
		assert_int_equal(ELF64_ST_TYPE(w->st_info), STT_FUNC);
		assert_int_equal(ELF64_ST_BIND(w->st_info), STB_WEAK);
		assert_int_equal(w->st_value, g->st_value);
		assert_true(g->st_value < file_size);
		assert_int_equal(vdso_image_lookup(file_image, file_size, std_names[i][0], &v), 0);
		assert_int_equal(v, g->st_value);
	}
	/* x86-64 has no 64-bit-time variant; near misses are not found. */
	assert_null(sysv_lookup("__vdso_clock_gettime64"));
	assert_int_equal(vdso_image_lookup(file_image, file_size, "__vdso_clock_gettime64", &v), -1);
	assert_int_equal(vdso_image_lookup(file_image, file_size, "__vdso_sgx_enter_enclav", &v),
			 -1);
}

/* Nothing else is exported: every defined dynamic symbol is one of the names above (or a
 * version definition's own symbol). */
static void test_no_other_exports(void **state)
{
	(void)state;
	const uint32_t *hash = dyn_table(DT_HASH);
	const Elf64_Sym *symtab = dyn_table(DT_SYMTAB);
	const char *strtab = dyn_table(DT_STRTAB);

	assert_non_null(hash);
	for (uint32_t i = 1; i < hash[1]; i++) {
		const char *name = strtab + symtab[i].st_name;
		bool known = !strcmp(name, "__vdso_sgx_enter_enclave") ||
			     !strcmp(name, private_names[0]) || !strcmp(name, private_names[1]);

		if (symtab[i].st_shndx == SHN_ABS && ELF64_ST_TYPE(symtab[i].st_info) == STT_OBJECT)
			known = !strcmp(name, "LINUX_2.6") || !strcmp(name, "SGXEMU_PRIVATE");
		for (size_t j = 0; j < NSTD; j++)
			known = known || !strcmp(name, std_names[j][0]) || !strcmp(name, std_names[j][1]);
		if (!known)
			fail_msg("unexpected export %s", name);
	}
	assert_int_equal(hash[1], 1 + 1 + 2 + 2 * NSTD + 2);
}

static void test_gnu_hash_lookup(void **state)
{
	(void)state;
	assert_ptr_equal(gnu_lookup("__vdso_sgx_enter_enclave"),
			 sysv_lookup("__vdso_sgx_enter_enclave"));
	for (size_t i = 0; i < 2; i++) {
		assert_non_null(gnu_lookup(private_names[i]));
		assert_ptr_equal(gnu_lookup(private_names[i]), sysv_lookup(private_names[i]));
	}
	for (size_t i = 0; i < NSTD; i++) {
		for (size_t j = 0; j < 2; j++) {
			assert_non_null(gnu_lookup(std_names[i][j]));
			assert_ptr_equal(gnu_lookup(std_names[i][j]), sysv_lookup(std_names[i][j]));
		}
	}
	assert_null(gnu_lookup("__vdso_clock_gettime64"));
}

/* The version definition of a dynamic symbol, by DT_VERSYM and DT_VERDEF. */
static const Elf64_Verdef *symbol_verdef(const Elf64_Sym *s)
{
	const Elf64_Sym *symtab = dyn_table(DT_SYMTAB);
	const uint16_t *versym = dyn_table(DT_VERSYM);
	const unsigned char *vd = dyn_table(DT_VERDEF);
	if (!versym || !vd)
		return NULL;
	uint16_t ndx = versym[s - symtab] & 0x7fff;
	for (;;) {
		const Elf64_Verdef *def = (const Elf64_Verdef *)vd;
		if (def->vd_ndx == ndx)
			return def;
		if (!def->vd_next)
			return NULL;
		vd += def->vd_next;
	}
}

static const char *verdef_name(const Elf64_Verdef *def)
{
	const char *strtab = dyn_table(DT_STRTAB);
	const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const unsigned char *)def + def->vd_aux);
	return strtab + aux->vda_name;
}

static const char *symbol_version(const Elf64_Sym *s)
{
	const Elf64_Verdef *def = symbol_verdef(s);
	return def ? verdef_name(def) : NULL;
}

static void test_symbol_version(void **state)
{
	(void)state;
	uint64_t v, w;
	const Elf64_Verdef *def = symbol_verdef(sysv_lookup("__vdso_sgx_enter_enclave"));

	assert_non_null(def);
	assert_string_equal(verdef_name(def), "LINUX_2.6");
	/* The selftests' parser compares vd_hash with the ELF hash of the version's name, and
	 * skips the base definition. */
	assert_int_equal(def->vd_hash, elf_hash("LINUX_2.6"));
	assert_int_equal(def->vd_flags & VER_FLG_BASE, 0);
	const Elf64_Verdef *base = dyn_table(DT_VERDEF);
	assert_true(base->vd_flags & VER_FLG_BASE);
	assert_string_equal(verdef_name(base), "linux-vdso.so.1");

	for (size_t i = 0; i < NSTD; i++)
		for (size_t j = 0; j < 2; j++)
			assert_string_equal(symbol_version(sysv_lookup(std_names[i][j])), "LINUX_2.6");
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(symbol_version(sysv_lookup(private_names[i])), "SGXEMU_PRIVATE");

	/* host/vdso.c's versioned lookup (the one it uses on the host's vDSO). */
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "__vdso_time",
						   "LINUX_2.6", &v), 0);
	assert_int_equal(vdso_image_lookup(file_image, file_size, "__vdso_time", &w), 0);
	assert_int_equal(v, w);
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "time", "LINUX_2.6", &v),
			 0);
	assert_int_equal(v, w);
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "__vdso_time",
						   "SGXEMU_PRIVATE", &v), -1);
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "__vdso_time",
						   "LINUX_2.6.15", &v), -1);
	/* The base definition is not a version of any symbol. */
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "__vdso_time",
						   "linux-vdso.so.1", &v), -1);
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "__sgxemu_vdso_enclu",
						   "SGXEMU_PRIVATE", &v), 0);
	assert_int_equal(vdso_image_lookup_version(file_image, file_size, "__sgxemu_vdso_enclu",
						   "LINUX_2.6", &v), -1);
}

static void test_embedded_image_is_the_file(void **state)
{
	(void)state;
	size_t size;
	const unsigned char *img = vdso_image(&size);
	assert_int_equal(size, file_size);
	assert_memory_equal(img, file_image, size);
}

static void test_lookup_rejects_garbage(void **state)
{
	(void)state;
	uint64_t v;
	/* Truncations of the real image never read past the end (checked under ASan). */
	for (size_t n = 0; n < file_size; n += 7) {
		unsigned char *copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, file_image, n);
		vdso_image_lookup(copy, n, "__vdso_sgx_enter_enclave", &v);
		/* The versioned lookup walks DT_VERSYM and DT_VERDEF too. */
		vdso_image_lookup_version(copy, n, "__vdso_time", "LINUX_2.6", &v);
		vdso_image_lookup_version(copy, n, "__sgxemu_vdso_enclu", "LINUX_2.6", &v);
		free(copy);
	}
	static const uint64_t zeros[64];
	assert_int_equal(vdso_image_lookup(zeros, sizeof(zeros), "__vdso_sgx_enter_enclave", &v),
			 -1);
}

/* ------------------------------------------------------------------------------------------
 * Behaviour of the mapped function. */

static enter_fn_t enter;
/* Also read by the asm trampolines below. */
enter_fn_t tv_enter;

/* What the "enclave" (the trap handler) does at each ENCLU. */
enum act { ACT_EEXIT, ACT_FAULT };

#define MAX_ENCLU 8

static struct {
	enum act act[MAX_ENCLU];
	int64_t exit_rsp_delta;		/* EEXIT leaves RSP this far from where it was */
	int set_exit_regs;		/* EEXIT changes RDI/RSI/RDX/R8/R9 */
	int set_df;			/* the enclave exits with EFLAGS.DF set */
	uint64_t fault_rsi;

	volatile int count;
	volatile int bad_rip;
	struct {
		uint64_t rip, rax, rbx, rcx, rsp, rbp, rdi, rsi, rdx, r8, r9;
	} at[MAX_ENCLU];
	uint64_t exit_rsp[MAX_ENCLU];
} sim;

/* ENCLU without SGX is #UD; with SGX, EENTER of a non-TCS page faults (#PF or #GP). */
static const int trap_signals[] = { SIGILL, SIGSEGV, SIGBUS };
#define NTRAP (sizeof(trap_signals) / sizeof(trap_signals[0]))
static struct sigaction old_trap[NTRAP];

#define EXIT_RDI 0x1111000011110000ull
#define EXIT_RSI 0x2222000022220000ull
#define EXIT_RDX 0x3333000033330000ull
#define EXIT_R8 0x8888000088880000ull
#define EXIT_R9 0x9999000099990000ull

static void on_enclu_trap(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	int n = sim.count;

	if ((uintptr_t)g[REG_RIP] != vdso_enclu_ip() || n >= MAX_ENCLU) {
		/* Not our ENCLU: let cmocka's handler report it when the instruction re-runs. */
		sim.bad_rip = 1;
		for (size_t i = 0; i < NTRAP; i++)
			if (trap_signals[i] == sig)
				sigaction(sig, &old_trap[i], NULL);
		return;
	}
	sim.count = n + 1;
	sim.at[n].rip = g[REG_RIP];
	sim.at[n].rax = g[REG_RAX];
	sim.at[n].rbx = g[REG_RBX];
	sim.at[n].rcx = g[REG_RCX];
	sim.at[n].rsp = g[REG_RSP];
	sim.at[n].rbp = g[REG_RBP];
	sim.at[n].rdi = g[REG_RDI];
	sim.at[n].rsi = g[REG_RSI];
	sim.at[n].rdx = g[REG_RDX];
	sim.at[n].r8 = g[REG_R8];
	sim.at[n].r9 = g[REG_R9];

	if (sim.act[n] == ACT_EEXIT) {
		/* EEXIT jumps to RBX, which the enclave set to the address after ENCLU; RBP is
		 * the caller's again, RSP is whatever the enclave restored. */
		g[REG_RIP] += 3;
		g[REG_RBX] = g[REG_RIP];
		g[REG_RSP] += sim.exit_rsp_delta;
		if (sim.set_exit_regs) {
			g[REG_RDI] = EXIT_RDI;
			g[REG_RSI] = EXIT_RSI;
			g[REG_RDX] = EXIT_RDX;
			g[REG_R8] = EXIT_R8;
			g[REG_R9] = EXIT_R9;
		}
	} else {
		/* What host/ does after an AEX it reports: synthetic AEX state, then the fixup. */
		g[REG_RIP] = vdso_fixup_ip();
		g[REG_RAX] = LEAF_ERESUME;
		g[REG_RCX] = vdso_enclu_ip();
		g[REG_RDI] = 14;
		g[REG_RSI] = sim.fault_rsi;
		g[REG_RDX] = 0x12345000;
		g[REG_R8] = 0;
		g[REG_R9] = 0;
	}
	if (sim.set_df)
		g[REG_EFL] |= FLAG_DF;
	sim.exit_rsp[n] = g[REG_RSP];
}

/* Reset the scripted enclave and install its handler. Per test: cmocka puts its own
 * handlers for these signals in place around every test. */
static void arm(enum act first, enum act second)
{
	memset(&sim, 0, sizeof(sim));
	for (int i = 0; i < MAX_ENCLU; i++)
		sim.act[i] = i ? second : first;
	sim.fault_rsi = 0x8007;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_enclu_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NTRAP; i++)
		assert_int_equal(sigaction(trap_signals[i], &sa, &old_trap[i]), 0);
}

static void disarm(void)
{
	for (size_t i = 0; i < NTRAP; i++)
		sigaction(trap_signals[i], &old_trap[i], NULL);
	assert_false(sim.bad_rip);
}

static void fresh_run(struct sgx_enclave_run *run, uint64_t tcs)
{
	memset(run, 0, sizeof(*run));
	run->tcs = tcs;
}

/* A user handler: records its arguments and the state it was entered with, returns the
 * next scripted value. The asm shim records RSP and RFLAGS at entry before C code can
 * change them. */
#define MAX_CALLS 8
static struct {
	int calls;
	int ret[MAX_CALLS];
	struct {
		long rdi, rsi, rdx, ursp, r8, r9;
		struct sgx_enclave_run *run;
		uint64_t entry_rsp, entry_rflags, entry_arg7;
		uint32_t function;
	} at[MAX_CALLS];
	int set_reserved;	/* dirty run->reserved before re-entering */
} uh;

uint64_t tv_handler_entry_rsp;
uint64_t tv_handler_entry_rflags;
uint64_t tv_handler_entry_arg7;

int tv_handler_shim(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
		    struct sgx_enclave_run *run);
int tv_handler_c(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
		 struct sgx_enclave_run *run);

__asm__(".text\n"
	".globl tv_handler_shim\n"
	".type tv_handler_shim, @function\n"
	"tv_handler_shim:\n"
	"	mov %rsp, tv_handler_entry_rsp(%rip)\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, tv_handler_entry_arg7(%rip)\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	mov %rax, tv_handler_entry_rflags(%rip)\n"
	"	jmp tv_handler_c\n"
	".size tv_handler_shim, . - tv_handler_shim\n");

int tv_handler_c(long rdi, long rsi, long rdx, long ursp, long r8, long r9,
		 struct sgx_enclave_run *run)
{
	int n = uh.calls++;
	if (n >= MAX_CALLS)
		return -1;
	uh.at[n].rdi = rdi;
	uh.at[n].rsi = rsi;
	uh.at[n].rdx = rdx;
	uh.at[n].ursp = ursp;
	uh.at[n].r8 = r8;
	uh.at[n].r9 = r9;
	uh.at[n].run = run;
	uh.at[n].entry_rsp = tv_handler_entry_rsp;
	uh.at[n].entry_rflags = tv_handler_entry_rflags;
	uh.at[n].entry_arg7 = tv_handler_entry_arg7;
	uh.at[n].function = run->function;
	if (uh.set_reserved)
		run->reserved[0] = 1;
	return uh.ret[n];
}

static void handler_script(int r0, int r1)
{
	memset(&uh, 0, sizeof(uh));
	uh.ret[0] = r0;
	for (int i = 1; i < MAX_CALLS; i++)
		uh.ret[i] = r1;
}

/* Calls the vDSO with RSP 16-aligned at the call instruction turned into 8 off, i.e. the
 * opposite of what the ABI promises. Same prototype as the vDSO function. */
int tv_call_misaligned(unsigned long rdi, unsigned long rsi, unsigned long rdx,
		       unsigned int function, unsigned long r8, unsigned long r9,
		       struct sgx_enclave_run *run);
__asm__(".text\n"
	".globl tv_call_misaligned\n"
	".type tv_call_misaligned, @function\n"
	"tv_call_misaligned:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	pushq 16(%rbp)\n"		/* run, with no padding: off by 8 */
	"	call *tv_enter(%rip)\n"
	"	leave\n"
	"	ret\n"
	".size tv_call_misaligned, . - tv_call_misaligned\n");

/* Calls the vDSO with known values in RBX and RBP and records them after the return. */
#define SENTINEL_RBX 0x5a5a5a5a12345678ull
#define SENTINEL_RBP 0xa5a5a5a587654321ull
uint64_t tv_after_rbx, tv_after_rbp;
int tv_call_preserving(unsigned long rdi, unsigned long rsi, unsigned long rdx,
		       unsigned int function, unsigned long r8, unsigned long r9,
		       struct sgx_enclave_run *run);
__asm__(".text\n"
	".globl tv_call_preserving\n"
	".type tv_call_preserving, @function\n"
	"tv_call_preserving:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	pushq 24(%rsp)\n"		/* run; RSP is 16-aligned at the call */
	"	movabs $0x5a5a5a5a12345678, %rbx\n"
	"	movabs $0xa5a5a5a587654321, %rbp\n"
	"	call *tv_enter(%rip)\n"
	"	add $8, %rsp\n"
	"	mov %rbx, tv_after_rbx(%rip)\n"
	"	mov %rbp, tv_after_rbp(%rip)\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n"
	".size tv_call_preserving, . - tv_call_preserving\n");

#define TCS 0x7f0000001000ull

static int group_setup(void **state)
{
	(void)state;
	if (load_file(image_path)) {
		fprintf(stderr, "test_vdso: cannot read %s\n", image_path);
		return -1;
	}
	if (vdso_init(NULL)) {
		fprintf(stderr, "test_vdso: vdso_init failed\n");
		return -1;
	}
	return 0;
}

static void test_init_and_lookup_in_mapping(void **state)
{
	(void)state;
	uintptr_t base = vdso_base();
	size_t size;
	uint64_t off;

	assert_int_not_equal(base, 0);
	assert_int_equal(base % 4096, 0);
	/* Idempotent. */
	assert_int_equal(vdso_init(NULL), 0);
	assert_int_equal(vdso_base(), base);

	/* A program finds the entry point in the mapped copy by base + st_value. */
	vdso_image(&size);
	assert_int_equal(vdso_image_lookup((const void *)base, size, "__vdso_sgx_enter_enclave",
					   &off), 0);
	enter = (enter_fn_t)(base + off);
	tv_enter = enter;
	assert_int_equal(vdso_image_lookup((const void *)base, size, "__sgxemu_vdso_enclu", &off),
			 0);
	assert_int_equal(vdso_enclu_ip(), base + off);
	assert_int_equal(vdso_image_lookup((const void *)base, size, "__sgxemu_vdso_fixup", &off),
			 0);
	assert_int_equal(vdso_fixup_ip(), base + off);

	const unsigned char *enclu = (const unsigned char *)vdso_enclu_ip();
	assert_int_equal(enclu[0], 0x0f);
	assert_int_equal(enclu[1], 0x01);
	assert_int_equal(enclu[2], 0xd7);
	/* The prologue is the kernel's: push rbp; mov rsp,rbp; push rbx. */
	static const unsigned char prologue[] = { 0x55, 0x48, 0x89, 0xe5, 0x53 };
	assert_memory_equal((const void *)enter, prologue, sizeof(prologue));
}

/* ------------------------------------------------------------------------------------------
 * The mapped image as a program sees it: data page, forwarders, the auxv. */

static char **main_envp;

/* AT_SYSINFO_EHDR as the kernel gave it (/proc/self/auxv), 0 if none. */
static uintptr_t kernel_sysinfo_ehdr(void)
{
	Elf64_auxv_t v[128];
	FILE *f = fopen("/proc/self/auxv", "rb");
	size_t n;

	assert_non_null(f);
	n = fread(v, sizeof(v[0]), 128, f);
	fclose(f);
	for (size_t i = 0; i < n && v[i].a_type != AT_NULL; i++)
		if (v[i].a_type == AT_SYSINFO_EHDR)
			return v[i].a_un.a_val;
	return 0;
}

/* The permissions /proc/self/maps gives the mapping that contains addr ("r-xp"...). */
static int maps_perms(uintptr_t addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
			found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* The size of the host's [vdso] mapping, for bounds-checked lookups in it. */
static size_t host_vdso_size(uintptr_t host)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t size = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo == host)
			size = hi - lo;
	}
	fclose(f);
	return size;
}

static size_t image_pages(void)
{
	size_t size;

	vdso_image(&size);
	return (size + 4095) & ~(size_t)4095;
}

static void *sym_at(uintptr_t base, const char *name)
{
	uint64_t off;

	if (vdso_image_lookup_version((const void *)base, image_pages(), name, "LINUX_2.6", &off))
		return NULL;
	return (void *)(base + off);
}

static uint64_t data_slot(uintptr_t base, unsigned slot)
{
	return *(const uint64_t *)(base - VDSO_DATA_SIZE + slot);
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

typedef long (*gettime_fn)(clockid_t, struct timespec *);
typedef long (*gettimeofday_fn)(struct timeval *, struct timezone *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

/* Our vgetrandom_opaque_params (Linux 6.11 uapi linux/random.h; not in older headers). */
struct vgr_params {
	uint32_t size_of_opaque_state, mmap_prot, mmap_flags, reserved[13];
};
_Static_assert(sizeof(struct vgr_params) == 64, "vgetrandom_opaque_params");
typedef long (*getrandom_fn)(void *, size_t, unsigned, void *, size_t);

static const clockid_t clocks[] = {
	CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
	CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI,
};
#define NCLOCKS (sizeof(clocks) / sizeof(clocks[0]))

/* The time functions of the image at base give what the system calls give: each reading lies
 * between two system-call readings of the same clock (no durations are asserted). */
static void check_functions(uintptr_t base)
{
	gettime_fn gettime = (gettime_fn)sym_at(base, "__vdso_clock_gettime");
	gettime_fn getres = (gettime_fn)sym_at(base, "__vdso_clock_getres");
	gettimeofday_fn gtod = (gettimeofday_fn)sym_at(base, "__vdso_gettimeofday");
	time_fn tm = (time_fn)sym_at(base, "__vdso_time");
	getcpu_fn gcpu = (getcpu_fn)sym_at(base, "__vdso_getcpu");

	assert_non_null(gettime);
	assert_non_null(getres);
	assert_non_null(gtod);
	assert_non_null(tm);
	assert_non_null(gcpu);
	/* The weak aliases are the same functions. */
	assert_ptr_equal(sym_at(base, "clock_gettime"), (void *)gettime);
	assert_ptr_equal(sym_at(base, "time"), (void *)tm);

	for (size_t i = 0; i < NCLOCKS; i++) {
		struct timespec a, b, c, ra, rb;

		assert_int_equal(syscall(SYS_clock_gettime, clocks[i], &a), 0);
		assert_int_equal(gettime(clocks[i], &b), 0);
		assert_int_equal(syscall(SYS_clock_gettime, clocks[i], &c), 0);
		if (clocks[i] != CLOCK_REALTIME && clocks[i] != CLOCK_REALTIME_COARSE &&
		    clocks[i] != CLOCK_TAI) {
			assert_true(ts_ns(&a) <= ts_ns(&b));
			assert_true(ts_ns(&b) <= ts_ns(&c));
		} else {
			/* The wall clock may be set meanwhile; it is not, here, by much. */
			assert_true(llabs((long long)(ts_ns(&b) - ts_ns(&a))) < 60LL * 1000000000);
		}
		assert_int_equal(syscall(SYS_clock_getres, clocks[i], &ra), 0);
		assert_int_equal(getres(clocks[i], &rb), 0);
		assert_int_equal(ts_ns(&ra), ts_ns(&rb));
	}
	/* The vDSO returns -errno: an unknown clock is the system call's EINVAL. */
	struct timespec t;
	assert_int_equal(gettime((clockid_t)12345, &t), -EINVAL);
	assert_int_equal(getres((clockid_t)12345, &t), -EINVAL);

	struct timeval tv;
	struct timezone tz = { -1, -1 }, ktz;
	struct timespec a, c;
	assert_int_equal(syscall(SYS_clock_gettime, CLOCK_REALTIME, &a), 0);
	assert_int_equal(gtod(&tv, &tz), 0);
	assert_int_equal(syscall(SYS_clock_gettime, CLOCK_REALTIME, &c), 0);
	assert_true((int64_t)tv.tv_sec * 1000000 + tv.tv_usec >= ts_ns(&a) / 1000);
	assert_true((int64_t)tv.tv_sec * 1000000 + tv.tv_usec <= ts_ns(&c) / 1000);
	assert_int_equal(syscall(SYS_gettimeofday, NULL, &ktz), 0);
	assert_int_equal(tz.tz_minuteswest, ktz.tz_minuteswest);
	assert_int_equal(tz.tz_dsttime, ktz.tz_dsttime);

	long t1 = syscall(SYS_time, NULL), stored = -1, t2 = tm(&stored), t3 = syscall(SYS_time, NULL);
	assert_true(t1 <= t2 && t2 <= t3);
	assert_int_equal(stored, t2);

	/* getcpu: pinned to each CPU we may run on in turn, it names that CPU. */
	cpu_set_t old, one;
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		unsigned got = ~0u, node = ~0u, knode = ~0u;

		if (!CPU_ISSET(cpu, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		assert_int_equal(gcpu(&got, &node, NULL), 0);
		assert_int_equal(got, cpu);
		assert_int_equal(syscall(SYS_getcpu, NULL, &knode, NULL), 0);
		assert_int_equal(node, knode);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
}

/* vgetrandom through the image at base: the parameters are those of host's, and a state
 * made from them yields random bytes. */
static void check_getrandom(uintptr_t base, uintptr_t host)
{
	getrandom_fn ours = (getrandom_fn)sym_at(base, "__vdso_getrandom");
	getrandom_fn theirs = (getrandom_fn)sym_at(host, "__vdso_getrandom");
	struct vgr_params p, q;
	unsigned char buf[64] = { 0 }, zero[64] = { 0 };

	assert_non_null(ours);
	assert_ptr_equal(sym_at(base, "getrandom"), (void *)ours);
	memset(&p, 0xaa, sizeof(p));
	memset(&q, 0x55, sizeof(q));
	assert_int_equal(ours(NULL, 0, 0, &p, ~0UL), 0);
	assert_int_equal(theirs(NULL, 0, 0, &q, ~0UL), 0);
	assert_memory_equal(&p, &q, sizeof(p));
	void *st = mmap(NULL, p.size_of_opaque_state, (int)p.mmap_prot, (int)p.mmap_flags, -1, 0);
	assert_true(st != MAP_FAILED);
	assert_int_equal(ours(buf, sizeof(buf), 0, st, p.size_of_opaque_state), sizeof(buf));
	assert_memory_not_equal(buf, zero, sizeof(buf));
	munmap(st, p.size_of_opaque_state);
}

static void test_data_page(void **state)
{
	(void)state;
	uintptr_t base = vdso_base();
	char perms[5];

	/* Read-only data just below the image; the image itself read+execute. */
	assert_int_equal(maps_perms(base - VDSO_DATA_SIZE, perms), 0);
	assert_string_equal(perms, "r--p");
	assert_int_equal(maps_perms(base, perms), 0);
	assert_string_equal(perms, "r-xp");
	assert_int_equal(maps_perms(base + image_pages() - 1, perms), 0);
	assert_string_equal(perms, "r-xp");
	/* vdso_init(NULL) left the direct-entry slot empty; setting it keeps the page
	 * read-only and readable throughout. */
	assert_int_equal(data_slot(base, VDSO_DATA_DIRECT), 0);
	assert_int_equal(vdso_set_direct((void (*)(void))0x1234), 0);
	assert_int_equal(data_slot(base, VDSO_DATA_DIRECT), 0x1234);
	assert_int_equal(maps_perms(base - VDSO_DATA_SIZE, perms), 0);
	assert_string_equal(perms, "r--p");
	assert_int_equal(vdso_set_direct(NULL), 0);
	assert_int_equal(data_slot(base, VDSO_DATA_DIRECT), 0);
}

static const unsigned fwd_slots[NSTD] = {
	VDSO_DATA_CLOCK_GETTIME, VDSO_DATA_GETTIMEOFDAY, VDSO_DATA_TIME, VDSO_DATA_GETCPU,
	VDSO_DATA_CLOCK_GETRES, VDSO_DATA_GETRANDOM,
};

/* The forwarders of the mapped image jump to the host's own functions. */
static void test_forwarders_aim_at_host(void **state)
{
	(void)state;
	uintptr_t base = vdso_base(), host = kernel_sysinfo_ehdr();

	if (!host)
		skip();	/* a kernel booted with vdso=0: see test_fallback_copy */
	assert_int_equal(vdso_host_base(), host);
	size_t hsize = host_vdso_size(host);
	assert_int_not_equal(hsize, 0);
	for (size_t i = 0; i < NSTD; i++) {
		uint64_t off;
		int have = !vdso_image_lookup_version((const void *)host, hsize, std_names[i][0],
						      "LINUX_2.6", &off);

		if (have) {
			assert_int_equal(data_slot(base, fwd_slots[i]), host + off);
			assert_non_null(sym_at(base, std_names[i][0]));
		} else {
			/* Only getrandom may be missing (Linux < 6.11); ours is then hidden. */
			assert_string_equal(std_names[i][0], "__vdso_getrandom");
			assert_int_equal(data_slot(base, fwd_slots[i]), 0);
			assert_null(sym_at(base, std_names[i][0]));
			assert_null(sym_at(base, std_names[i][1]));
		}
	}
}

static void test_forwarders_results(void **state)
{
	(void)state;
	uintptr_t host = vdso_host_base();

	check_functions(vdso_base());
	if (host && sym_at(host, "__vdso_getrandom"))
		check_getrandom(vdso_base(), host);
}

/* A copy with no host vDSO makes the system calls; a copy aimed at that copy (our image
 * standing in for a host vDSO without getrandom) forwards to it and hides getrandom. */
static void test_fallback_copy(void **state)
{
	(void)state;
	uintptr_t c0 = vdso_map_copy(0), c1;
	uint64_t off;

	assert_int_not_equal(c0, 0);
	for (size_t i = 0; i < NSTD; i++)
		assert_int_equal(data_slot(c0, fwd_slots[i]), 0);
	assert_null(sym_at(c0, "__vdso_getrandom"));
	assert_null(sym_at(c0, "getrandom"));
	assert_int_equal(vdso_image_lookup((const void *)c0, image_pages(), "__vdso_getrandom",
					   &off), -1);
	check_functions(c0);

	c1 = vdso_map_copy(c0);
	assert_int_not_equal(c1, 0);
	for (size_t i = 0; i + 1 < NSTD; i++)
		assert_int_equal(data_slot(c1, fwd_slots[i]), (uintptr_t)sym_at(c0, std_names[i][0]));
	assert_int_equal(data_slot(c1, VDSO_DATA_GETRANDOM), 0);
	assert_null(sym_at(c1, "__vdso_getrandom"));
	/* The SGX entry point and the private labels are there in every copy. */
	assert_non_null(sym_at(c1, "__vdso_sgx_enter_enclave"));
	assert_int_equal(vdso_image_lookup((const void *)c1, image_pages(), "__sgxemu_vdso_enclu",
					   &off), 0);
	check_functions(c1);
	assert_int_equal(munmap((void *)(c0 - VDSO_DATA_SIZE), VDSO_DATA_SIZE + image_pages()), 0);
	assert_int_equal(munmap((void *)(c1 - VDSO_DATA_SIZE), VDSO_DATA_SIZE + image_pages()), 0);
}

/* Mapping pointed the process's auxv at the image: glibc's own getauxval (nothing is
 * interposed in this test) and a walk of the initial stack find it; the kernel's copy in
 * /proc/self/auxv still names the host's vDSO. */
static void test_auxv_points_at_image(void **state)
{
	(void)state;
	uintptr_t host = kernel_sysinfo_ehdr();
	char **e = main_envp;

	if (!host)
		skip();	/* no entry to point at us */
	assert_int_equal(getauxval(AT_SYSINFO_EHDR), vdso_base());
	assert_int_not_equal(vdso_base(), host);
	while (*e)
		e++;
	uintptr_t on_stack = 0;
	for (Elf64_auxv_t *a = (Elf64_auxv_t *)(e + 1); a->a_type != AT_NULL; a++)
		if (a->a_type == AT_SYSINFO_EHDR)
			on_stack = a->a_un.a_val;
	assert_int_equal(on_stack, vdso_base());
	/* Nothing else changed. */
	assert_int_equal(getauxval(AT_PAGESZ), 4096);
	assert_int_not_equal(getauxval(AT_RANDOM), 0);
	/* Mapping again is a no-op. */
	assert_int_equal(vdso_map(), 0);
	assert_int_equal(vdso_published(), vdso_base());
}

/* Every behavioural test needs the mapped entry point. */
static int need_enter(void **state)
{
	(void)state;
	return enter ? 0 : -1;
}

static void test_invalid_leaf(void **state)
{
	(void)state;
	static const unsigned leaves[] = { 0, 1, 4, 5, 0x80000002u, 0xffffffffu };

	arm(ACT_EEXIT, ACT_EEXIT);
	/* run == NULL: the leaf is checked before run is touched. */
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		assert_int_equal(enter(0, 0, 0, leaves[i], 0, 0, NULL), EINVAL_RET);
	assert_int_equal(sim.count, 0);
	disarm();
}

static void test_reserved_nonzero(void **state)
{
	(void)state;
	static const unsigned where[] = { 40, 41, 47, 48, 100, 200, 255 };
	struct sgx_enclave_run run;

	arm(ACT_EEXIT, ACT_EEXIT);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		fresh_run(&run, TCS);
		run.function = 0xdead;
		((unsigned char *)&run)[where[i]] = 0x80;
		assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), EINVAL_RET);
		assert_int_equal(run.function, 0xdead);
	}
	assert_int_equal(sim.count, 0);
	/* user_data is not reserved. */
	fresh_run(&run, TCS);
	run.user_data = ~0ull;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(sim.count, 1);
	disarm();
}

static void check_enclu_state(int n, unsigned leaf, uint64_t tcs)
{
	assert_int_equal(sim.at[n].rip, vdso_enclu_ip());
	assert_int_equal(sim.at[n].rax, leaf);
	assert_int_equal(sim.at[n].rbx, tcs);
	/* The AEP is the ENCLU itself. */
	assert_int_equal(sim.at[n].rcx, vdso_enclu_ip());
}

static void test_eexit(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	arm(ACT_EEXIT, ACT_EEXIT);
	fresh_run(&run, TCS);
	run.exception_vector = 0x77;
	run.exception_error_code = 0x66;
	run.exception_addr = 0x55;
	run.user_data = 0x1234;
	assert_int_equal(enter(0xa1, 0xa2, 0xa3, LEAF_EENTER, 0xa8, 0xa9, &run), 0);
	assert_int_equal(sim.count, 1);
	check_enclu_state(0, LEAF_EENTER, TCS);
	/* RDI, RSI, RDX, R8, R9 reach the enclave unchanged. */
	assert_int_equal(sim.at[0].rdi, 0xa1);
	assert_int_equal(sim.at[0].rsi, 0xa2);
	assert_int_equal(sim.at[0].rdx, 0xa3);
	assert_int_equal(sim.at[0].r8, 0xa8);
	assert_int_equal(sim.at[0].r9, 0xa9);
	assert_int_equal(run.function, LEAF_EEXIT);
	/* The exception fields are written only on an exception. */
	assert_int_equal(run.exception_vector, 0x77);
	assert_int_equal(run.exception_error_code, 0x66);
	assert_int_equal(run.exception_addr, 0x55);
	assert_int_equal(run.user_data, 0x1234);
	assert_int_equal(run.tcs, TCS);

	/* ERESUME goes the same way with EAX = 3. */
	assert_int_equal(enter(0, 0, 0, LEAF_ERESUME, 0, 0, &run), 0);
	assert_int_equal(sim.count, 2);
	check_enclu_state(1, LEAF_ERESUME, TCS);
	assert_int_equal(run.function, LEAF_EEXIT);
	disarm();
}

static void test_eexit_with_moved_rsp(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	/* The enclave may hand back another RSP; leave puts ours back. */
	static const int64_t deltas[] = { -8, -40, -4096, -3 };
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		arm(ACT_EEXIT, ACT_EEXIT);
		sim.exit_rsp_delta = deltas[i];
		fresh_run(&run, TCS);
		assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
		assert_int_equal(run.function, LEAF_EEXIT);
		disarm();
	}
}

static void test_exception_report(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	arm(ACT_FAULT, ACT_FAULT);
	fresh_run(&run, TCS);
	run.user_data = 0x1234;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(sim.count, 1);
	check_enclu_state(0, LEAF_EENTER, TCS);
	assert_int_equal(run.function, LEAF_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	assert_int_equal(run.exception_error_code, 0x8007);
	assert_int_equal(run.exception_addr, 0x12345000);
	assert_int_equal(run.user_data, 0x1234);
	assert_int_equal(run.tcs, TCS);
	disarm();

	/* Only the low 16 bits of the error code are stored. */
	arm(ACT_FAULT, ACT_FAULT);
	sim.fault_rsi = 0xffff0000fffe8004ull;
	fresh_run(&run, TCS);
	assert_int_equal(enter(0, 0, 0, LEAF_ERESUME, 0, 0, &run), 0);
	check_enclu_state(0, LEAF_ERESUME, TCS);
	assert_int_equal(run.exception_error_code, 0x8004);
	assert_int_equal(run.exception_vector, 14);
	disarm();
}

static void check_handler_alignment(int n)
{
	/* At entry to a function, RSP + 8 is 16-aligned. */
	assert_int_equal((uh.at[n].entry_rsp + 8) % 16, 0);
	/* The 7th argument is at [RSP + 8] at entry. */
	assert_int_equal(uh.at[n].entry_arg7, (uintptr_t)uh.at[n].run);
	assert_int_equal(uh.at[n].entry_rflags & FLAG_DF, 0);
}

static void test_user_handler_args(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	arm(ACT_EEXIT, ACT_EEXIT);
	sim.set_exit_regs = 1;
	sim.exit_rsp_delta = -24;
	handler_script(0, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	run.user_data = 0xfeed;
	assert_int_equal(enter(1, 2, 3, LEAF_EENTER, 8, 9, &run), 0);
	assert_int_equal(sim.count, 1);
	assert_int_equal(uh.calls, 1);
	/* The values at exit, not at entry; ursp is the RSP the enclave left. */
	assert_int_equal(uh.at[0].rdi, EXIT_RDI);
	assert_int_equal(uh.at[0].rsi, EXIT_RSI);
	assert_int_equal(uh.at[0].rdx, EXIT_RDX);
	assert_int_equal(uh.at[0].r8, EXIT_R8);
	assert_int_equal(uh.at[0].r9, EXIT_R9);
	assert_int_equal(uh.at[0].ursp, sim.exit_rsp[0]);
	assert_int_equal(sim.exit_rsp[0], sim.at[0].rsp - 24);
	assert_ptr_equal(uh.at[0].run, &run);
	/* run->function is already updated when the handler runs. */
	assert_int_equal(uh.at[0].function, LEAF_EEXIT);
	check_handler_alignment(0);
	assert_int_equal(run.function, LEAF_EEXIT);
	assert_int_equal(run.user_data, 0xfeed);
	disarm();
}

static void test_user_handler_after_exception(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	arm(ACT_FAULT, ACT_FAULT);
	handler_script(0, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(enter(1, 2, 3, LEAF_EENTER, 8, 9, &run), 0);
	assert_int_equal(uh.calls, 1);
	assert_int_equal(uh.at[0].rdi, 14);
	assert_int_equal(uh.at[0].rsi, 0x8007);
	assert_int_equal(uh.at[0].rdx, 0x12345000);
	assert_int_equal(uh.at[0].r8, 0);
	assert_int_equal(uh.at[0].r9, 0);
	assert_int_equal(uh.at[0].ursp, sim.at[0].rsp);
	assert_int_equal(uh.at[0].function, LEAF_ERESUME);
	check_handler_alignment(0);
	assert_int_equal(run.function, LEAF_ERESUME);
	assert_int_equal(run.exception_vector, 14);
	disarm();
}

static void test_user_handler_reenters(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	/* A positive result is the next leaf. */
	arm(ACT_FAULT, ACT_EEXIT);
	handler_script(LEAF_EENTER, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(sim.count, 2);
	assert_int_equal(uh.calls, 2);
	check_enclu_state(0, LEAF_EENTER, TCS);
	check_enclu_state(1, LEAF_EENTER, TCS);
	assert_int_equal(uh.at[0].function, LEAF_ERESUME);
	assert_int_equal(uh.at[1].function, LEAF_EEXIT);
	assert_int_equal(run.function, LEAF_EEXIT);
	disarm();

	arm(ACT_FAULT, ACT_EEXIT);
	handler_script(LEAF_ERESUME, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(sim.count, 2);
	check_enclu_state(1, LEAF_ERESUME, TCS);
	disarm();
}

static void test_user_handler_result(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	/* Negative: returned as is. */
	arm(ACT_EEXIT, ACT_EEXIT);
	handler_script(-5, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), -5);
	assert_int_equal(sim.count, 1);
	assert_int_equal(uh.calls, 1);
	disarm();

	/* Positive but not a leaf: -EINVAL, no second ENCLU. */
	static const int bad[] = { 1, 4, 7, 0x7fffffff };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		arm(ACT_EEXIT, ACT_EEXIT);
		handler_script(bad[i], 0);
		fresh_run(&run, TCS);
		run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
		assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), EINVAL_RET);
		assert_int_equal(sim.count, 1);
		assert_int_equal(uh.calls, 1);
		disarm();
	}

	/* Re-entry checks the reserved bytes again. */
	arm(ACT_EEXIT, ACT_EEXIT);
	handler_script(LEAF_ERESUME, 0);
	uh.set_reserved = 1;
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), EINVAL_RET);
	assert_int_equal(sim.count, 1);
	disarm();
}

static void test_handler_stack_alignment(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	/* Aligned caller: after push rbp; push rbx the vDSO's RSP is 8 off. */
	arm(ACT_EEXIT, ACT_EEXIT);
	handler_script(0, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(enter(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(sim.at[0].rsp % 16, 8);
	check_handler_alignment(0);
	disarm();

	/* Misaligned caller: the vDSO's RSP at the ENCLU is 16-aligned. */
	arm(ACT_EEXIT, ACT_EEXIT);
	handler_script(0, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(tv_call_misaligned(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(uh.calls, 1);
	assert_int_equal(sim.at[0].rsp % 16, 0);
	check_handler_alignment(0);
	disarm();

	/* Whatever RSP the enclave leaves, and with DF set on exit. */
	static const int64_t deltas[] = { -8, -16, -24, -3 };
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		arm(ACT_EEXIT, ACT_EEXIT);
		sim.exit_rsp_delta = deltas[i];
		sim.set_df = 1;
		handler_script(0, 0);
		fresh_run(&run, TCS);
		run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
		assert_int_equal(tv_call_misaligned(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
		assert_int_equal(uh.calls, 1);
		assert_int_equal(uh.at[0].ursp, sim.at[0].rsp + deltas[i]);
		check_handler_alignment(0);
		disarm();
	}
}

static void test_rbx_rbp_preserved(void **state)
{
	(void)state;
	struct sgx_enclave_run run;

	/* EEXIT, no handler: the vDSO loaded RBX with the TCS, EEXIT left the target in it. */
	arm(ACT_EEXIT, ACT_EEXIT);
	fresh_run(&run, TCS);
	assert_int_equal(tv_call_preserving(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(tv_after_rbx, SENTINEL_RBX);
	assert_int_equal(tv_after_rbp, SENTINEL_RBP);
	/* Inside, RBP is the vDSO's frame, not the caller's value. */
	assert_int_not_equal(sim.at[0].rbp, SENTINEL_RBP);
	disarm();

	/* Exception report with a handler that re-enters once. */
	arm(ACT_FAULT, ACT_EEXIT);
	handler_script(LEAF_ERESUME, 0);
	fresh_run(&run, TCS);
	run.user_handler = (uint64_t)(uintptr_t)tv_handler_shim;
	assert_int_equal(tv_call_preserving(0, 0, 0, LEAF_EENTER, 0, 0, &run), 0);
	assert_int_equal(sim.count, 2);
	assert_int_equal(tv_after_rbx, SENTINEL_RBX);
	assert_int_equal(tv_after_rbp, SENTINEL_RBP);
	disarm();

	/* The -EINVAL paths. */
	tv_after_rbx = tv_after_rbp = 0;
	assert_int_equal(tv_call_preserving(0, 0, 0, 0, 0, 0, NULL), EINVAL_RET);
	assert_int_equal(tv_after_rbx, SENTINEL_RBX);
	assert_int_equal(tv_after_rbp, SENTINEL_RBP);
	fresh_run(&run, TCS);
	run.reserved[215] = 1;
	tv_after_rbx = tv_after_rbp = 0;
	assert_int_equal(tv_call_preserving(0, 0, 0, LEAF_EENTER, 0, 0, &run), EINVAL_RET);
	assert_int_equal(tv_after_rbx, SENTINEL_RBX);
	assert_int_equal(tv_after_rbp, SENTINEL_RBP);
}

int main(int argc, char **argv, char **envp)
{
	main_envp = envp;
	image_path = argc > 1 ? argv[1] : getenv("SGXEMU_VDSO_IMAGE");
	if (!image_path || !*image_path)
		image_path = SGXEMU_VDSO_IMAGE_DEFAULT;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_layout),
		cmocka_unit_test(test_dynamic_tags),
		cmocka_unit_test(test_no_relocation_sections),
		cmocka_unit_test(test_sysv_hash_lookup),
		cmocka_unit_test(test_no_other_exports),
		cmocka_unit_test(test_gnu_hash_lookup),
		cmocka_unit_test(test_symbol_version),
		cmocka_unit_test(test_embedded_image_is_the_file),
		cmocka_unit_test(test_lookup_rejects_garbage),
		cmocka_unit_test(test_init_and_lookup_in_mapping),
		cmocka_unit_test(test_data_page),
		cmocka_unit_test(test_forwarders_aim_at_host),
		cmocka_unit_test(test_forwarders_results),
		cmocka_unit_test(test_fallback_copy),
		cmocka_unit_test(test_auxv_points_at_image),
		cmocka_unit_test_setup(test_invalid_leaf, need_enter),
		cmocka_unit_test_setup(test_reserved_nonzero, need_enter),
		cmocka_unit_test_setup(test_eexit, need_enter),
		cmocka_unit_test_setup(test_eexit_with_moved_rsp, need_enter),
		cmocka_unit_test_setup(test_exception_report, need_enter),
		cmocka_unit_test_setup(test_user_handler_args, need_enter),
		cmocka_unit_test_setup(test_user_handler_after_exception, need_enter),
		cmocka_unit_test_setup(test_user_handler_reenters, need_enter),
		cmocka_unit_test_setup(test_user_handler_result, need_enter),
		cmocka_unit_test_setup(test_handler_stack_alignment, need_enter),
		cmocka_unit_test_setup(test_rbx_rbp_preserved, need_enter),
	};
	return cmocka_run_group_tests_name("vdso", tests, group_setup, NULL);
}
