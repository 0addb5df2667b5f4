/* Maps our vDSO image (host/vdso/, embedded by host/vdso_blob.S) and finds its entry points.
 * The image is position independent with no dynamic relocations, so a plain copy into an
 * executable mapping is all the "loading" it needs. */
#include "host/vdso.h"

#include <elf.h>
#include <string.h>
#include <sys/mman.h>

/* Hidden, so they are reached PC-relative: no GOT entry, no relocation at preload start. */
extern const unsigned char sgxemu_vdso_image_start[] __attribute__((visibility("hidden")));
extern const unsigned char sgxemu_vdso_image_end[] __attribute__((visibility("hidden")));

#define VDSO_PAGE 4096u

/* Written once by vdso_init before any enclave is entered; read by the trap paths. */
static uintptr_t vdso_start;
static uintptr_t vdso_enclu;
static uintptr_t vdso_fixup;

/* A pointer to len bytes at offset off of the image, or NULL if they are not all inside it
 * or not aligned for the structure that will be read there. */
static const void *image_at(const unsigned char *img, size_t size, uint64_t off, uint64_t len,
			    size_t align)
{
	if (off > size || len > size - off)
		return NULL;
	if (((uintptr_t)img + off) % align)
		return NULL;
	return img + off;
}

/* Our own compare: init uses no libc beyond mmap/mprotect/memcpy. */
static int bytes_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* The SysV ELF hash (gABI), as used by DT_HASH. */
static uint32_t sysv_hash(const char *name)
{
	uint32_t h = 0, g;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h = (h << 4) + *p;
		g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* strcmp against a string table entry that must end before the table does. */
static int name_matches(const char *strtab, uint64_t strsz, uint32_t off, const char *name)
{
	for (uint64_t i = off; i < strsz; i++, name++) {
		if (strtab[i] != *name)
			return 0;
		if (!*name)
			return 1;
	}
	return 0;
}

int vdso_image_lookup(const void *image, size_t size, const char *name, uint64_t *value)
{
	const unsigned char *img = image;
	const Elf64_Ehdr *eh = image_at(img, size, 0, sizeof(*eh), 8);

	if (!eh || !bytes_equal(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr))
		return -1;
	const Elf64_Phdr *ph = image_at(img, size, eh->e_phoff,
					(uint64_t)eh->e_phnum * sizeof(*ph), 8);
	if (!ph)
		return -1;

	/* The selftest reaches PT_DYNAMIC through p_offset, so do we. */
	const Elf64_Dyn *dyn = NULL;
	uint64_t ndyn = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC) {
			dyn = image_at(img, size, ph[i].p_offset, ph[i].p_filesz, 8);
			ndyn = ph[i].p_filesz / sizeof(*dyn);
			break;
		}
	}
	if (!dyn)
		return -1;

	uint64_t symtab_off = 0, strtab_off = 0, hash_off = 0, strsz = 0;
	int have_symtab = 0, have_strtab = 0, have_hash = 0;
	for (uint64_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		switch (dyn[i].d_tag) {
		case DT_SYMTAB: symtab_off = dyn[i].d_un.d_ptr; have_symtab = 1; break;
		case DT_STRTAB: strtab_off = dyn[i].d_un.d_ptr; have_strtab = 1; break;
		case DT_HASH: hash_off = dyn[i].d_un.d_ptr; have_hash = 1; break;
		case DT_STRSZ: strsz = dyn[i].d_un.d_val; break;
		}
	}
	if (!have_symtab || !have_strtab || !have_hash)
		return -1;
	if (!strsz || strtab_off > size || strsz > size - strtab_off)
		strsz = strtab_off < size ? size - strtab_off : 0;
	const char *strtab = image_at(img, size, strtab_off, strsz, 1);

	const uint32_t *hash = image_at(img, size, hash_off, 2 * sizeof(uint32_t), 4);
	if (!strtab || !hash)
		return -1;
	uint32_t nbucket = hash[0], nchain = hash[1];
	if (!nbucket ||
	    !image_at(img, size, hash_off, (2 + (uint64_t)nbucket + nchain) * sizeof(uint32_t), 4))
		return -1;
	const uint32_t *bucket = hash + 2, *chain = bucket + nbucket;
	/* nchain is the number of symbol table entries. */
	const Elf64_Sym *sym = image_at(img, size, symtab_off, (uint64_t)nchain * sizeof(*sym), 8);
	if (!sym)
		return -1;

	/* At most nchain steps, so a cyclic chain cannot hang us. */
	uint32_t idx = bucket[sysv_hash(name) % nbucket];
	for (uint32_t steps = 0; idx != STN_UNDEF && idx < nchain && steps < nchain;
	     idx = chain[idx], steps++) {
		if (sym[idx].st_shndx != SHN_UNDEF &&
		    name_matches(strtab, strsz, sym[idx].st_name, name)) {
			*value = sym[idx].st_value;
			return 0;
		}
	}
	return -1;
}

const unsigned char *vdso_image(size_t *size)
{
	*size = (size_t)(sgxemu_vdso_image_end - sgxemu_vdso_image_start);
	return sgxemu_vdso_image_start;
}

int vdso_init(void (*direct_entry)(void))
{
	static const unsigned char enclu[3] = { 0x0f, 0x01, 0xd7 };
	size_t size;
	const unsigned char *img = vdso_image(&size);
	uint64_t enter_off, enclu_off, fixup_off, direct_off;

	if (vdso_start)
		return 0;
	if (vdso_image_lookup(img, size, "__vdso_sgx_enter_enclave", &enter_off) ||
	    vdso_image_lookup(img, size, "__sgxemu_vdso_enclu", &enclu_off) ||
	    vdso_image_lookup(img, size, "__sgxemu_vdso_fixup", &fixup_off) ||
	    vdso_image_lookup(img, size, "__sgxemu_vdso_direct", &direct_off))
		return -1;
	/* The trap paths trust these addresses: make sure the image says what we expect. */
	if (enter_off >= size || fixup_off >= size || enclu_off > size - sizeof(enclu) ||
	    (direct_off & 7) || direct_off > size - 8 ||
	    !bytes_equal(img + enclu_off, enclu, sizeof(enclu)))
		return -1;

	size_t len = (size + VDSO_PAGE - 1) & ~(size_t)(VDSO_PAGE - 1);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memcpy(p, img, size);
	if (direct_entry) {
		uint64_t a = (uintptr_t)direct_entry;

		memcpy((uint8_t *)p + direct_off, &a, sizeof(a));
	}
	if (mprotect(p, len, PROT_READ | PROT_EXEC)) {
		munmap(p, len);
		return -1;
	}
	vdso_enclu = (uintptr_t)p + enclu_off;
	vdso_fixup = (uintptr_t)p + fixup_off;
	vdso_start = (uintptr_t)p;
	return 0;
}

uintptr_t vdso_base(void)
{
	return vdso_start;
}

uintptr_t vdso_enclu_ip(void)
{
	return vdso_enclu;
}

uintptr_t vdso_fixup_ip(void)
{
	return vdso_fixup;
}
