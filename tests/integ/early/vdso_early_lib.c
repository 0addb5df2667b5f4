/* A library whose constructor looks up the vDSO before sgxemu's constructor has run, the way
 * the Intel SDK's urts does (see vdso_early_lib.h). It reads the auxv on the initial stack
 * first (a program that walks its stack would), then asks getauxval, and finds
 * __vdso_sgx_enter_enclave in the image through DT_HASH. */
#include <dlfcn.h>
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "tests/integ/early/vdso_early_lib.h"

__attribute__((visibility("default"))) struct vdso_early_record vdso_early_record;

extern char **__environ;

static unsigned long stack_sysinfo(void)
{
	char **e = __environ;

	while (*e)
		e++;
	for (Elf64_auxv_t *a = (Elf64_auxv_t *)(e + 1); a->a_type != AT_NULL; a++)
		if (a->a_type == AT_SYSINFO_EHDR)
			return a->a_un.a_val;
	return 0;
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

static void *lookup(unsigned long base, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	const Elf64_Sym *sym = NULL;
	const Elf32_Word *hash = NULL;
	const char *str = NULL;

	if (!base)
		return NULL;
	ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (const Elf64_Sym *)(base + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(base + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			hash = (const Elf32_Word *)(base + dyn->d_un.d_ptr);
	}
	if (!sym || !str || !hash)
		return NULL;
	for (Elf32_Word i = hash[2 + elf_hash(name) % hash[0]]; i; i = hash[2 + hash[0] + i])
		if (sym[i].st_shndx != SHN_UNDEF && !strcmp(str + sym[i].st_name, name))
			return (void *)(base + sym[i].st_value);
	return NULL;
}

__attribute__((constructor)) static void vdso_early_lib_init(void)
{
	struct vdso_early_record *r = &vdso_early_record;
	int (*cpuid)(unsigned, unsigned, unsigned[4]) =
		(int (*)(unsigned, unsigned, unsigned[4]))dlsym(RTLD_DEFAULT, "sgxemu_cpuid");
	unsigned regs[4];

	r->emulator_ready = cpuid && cpuid(0, 0, regs) == 0;
	r->stack_first = stack_sysinfo();
	r->getauxval = getauxval(AT_SYSINFO_EHDR);
	r->stack_then = stack_sysinfo();
	r->enter = lookup(r->getauxval, "__vdso_sgx_enter_enclave");
	r->ran = 1;
}
