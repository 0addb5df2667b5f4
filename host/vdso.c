/* Maps our vDSO image (host/vdso/, embedded by host/vdso_blob.S), points its forwarders at
 * the host's vDSO and the process's auxv at the image. The image is position independent
 * with no dynamic relocations, so a plain copy into an executable mapping is all the
 * "loading" it needs; what it needs at run time goes into its data page. Mapping may happen
 * before the preload's constructor (host/vdso_early.c, the first getauxval) and from any
 * thread, so it uses raw system calls, no locks and no allocation. */
#include "host/vdso.h"

#include <elf.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "host/auxv.h"
#include "host/vdso/vdso_data.h"
#include "util/rawsys.h"

/* Hidden, so they are reached PC-relative: no GOT entry, no relocation at preload start. */
extern const unsigned char sgxemu_vdso_image_start[] __attribute__((visibility("hidden")));
extern const unsigned char sgxemu_vdso_image_end[] __attribute__((visibility("hidden")));

#define VDSO_PAGE 4096u

/* vdso_start is published once (compare-and-swap) after the copy is complete; the offsets
 * are written, with the same values, by whoever maps a copy before publishing it. Read by
 * the trap paths. */
static uintptr_t vdso_start;
static uintptr_t vdso_enclu_off;
static uintptr_t vdso_fixup_off;
/* The host's vDSO (AT_SYSINFO_EHDR as the kernel gave it), 0 if none. */
static uintptr_t vdso_host;
/* The preload turned the emulation off: programs get the host's vDSO again. */
static int vdso_withdrawn;

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

/* Our own compare: mapping uses no libc beyond memcpy. */
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

/* The parts of an image's dynamic table a lookup needs, every table checked to lie inside. */
struct dyn_view {
	const Elf64_Sym *sym;
	uint32_t nsym;
	const char *strtab;
	uint64_t strsz;
	const uint32_t *bucket, *chain;
	uint32_t nbucket;
	const uint16_t *versym;		/* NULL: no version information */
	const unsigned char *verdef;
	uint64_t verdef_off;
};

static int dyn_view(const unsigned char *img, size_t size, struct dyn_view *v)
{
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

	uint64_t symtab_off = 0, strtab_off = 0, hash_off = 0, strsz = 0, versym_off = 0;
	int have_symtab = 0, have_strtab = 0, have_hash = 0, have_versym = 0, have_verdef = 0;
	v->verdef_off = 0;
	for (uint64_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		switch (dyn[i].d_tag) {
		case DT_SYMTAB: symtab_off = dyn[i].d_un.d_ptr; have_symtab = 1; break;
		case DT_STRTAB: strtab_off = dyn[i].d_un.d_ptr; have_strtab = 1; break;
		case DT_HASH: hash_off = dyn[i].d_un.d_ptr; have_hash = 1; break;
		case DT_STRSZ: strsz = dyn[i].d_un.d_val; break;
		case DT_VERSYM: versym_off = dyn[i].d_un.d_ptr; have_versym = 1; break;
		case DT_VERDEF: v->verdef_off = dyn[i].d_un.d_ptr; have_verdef = 1; break;
		}
	}
	if (!have_symtab || !have_strtab || !have_hash)
		return -1;
	if (!strsz || strtab_off > size || strsz > size - strtab_off)
		strsz = strtab_off < size ? size - strtab_off : 0;
	v->strtab = image_at(img, size, strtab_off, strsz, 1);
	v->strsz = strsz;

	const uint32_t *hash = image_at(img, size, hash_off, 2 * sizeof(uint32_t), 4);
	if (!v->strtab || !hash)
		return -1;
	v->nbucket = hash[0];
	v->nsym = hash[1];	/* nchain is the number of symbol table entries */
	if (!v->nbucket ||
	    !image_at(img, size, hash_off, (2 + (uint64_t)v->nbucket + v->nsym) * sizeof(uint32_t), 4))
		return -1;
	v->bucket = hash + 2;
	v->chain = v->bucket + v->nbucket;
	v->sym = image_at(img, size, symtab_off, (uint64_t)v->nsym * sizeof(*v->sym), 8);
	if (!v->sym)
		return -1;
	/* As the selftest's parser: version indices mean nothing without definitions. */
	v->versym = NULL;
	v->verdef = img;
	if (have_versym && have_verdef)
		v->versym = image_at(img, size, versym_off, (uint64_t)v->nsym * sizeof(uint16_t), 2);
	return 0;
}

/* Whether version index ndx is defined (not as the base) with the name version. */
static int version_is(const unsigned char *img, size_t size, const struct dyn_view *v,
		      uint16_t ndx, const char *version)
{
	uint64_t off = v->verdef_off;

	ndx &= 0x7fff;	/* bit 15: hidden */
	for (unsigned steps = 0; steps < 256; steps++) {
		const Elf64_Verdef *d = image_at(img, size, off, sizeof(*d), 4);

		if (!d)
			return 0;
		if (!(d->vd_flags & VER_FLG_BASE) && d->vd_ndx == ndx) {
			const Elf64_Verdaux *a = image_at(img, size, off + d->vd_aux, sizeof(*a), 4);

			return a && name_matches(v->strtab, v->strsz, a->vda_name, version);
		}
		if (!d->vd_next)
			return 0;
		off += d->vd_next;
	}
	return 0;
}

/* The defined symbol name (of version, if not NULL and the image has versions). */
static const Elf64_Sym *find_symbol(const unsigned char *img, size_t size, const char *name,
				    const char *version)
{
	struct dyn_view v;

	if (dyn_view(img, size, &v))
		return NULL;
	/* At most nsym steps, so a cyclic chain cannot hang us. */
	uint32_t idx = v.bucket[sysv_hash(name) % v.nbucket];
	for (uint32_t steps = 0; idx != STN_UNDEF && idx < v.nsym && steps < v.nsym;
	     idx = v.chain[idx], steps++) {
		const Elf64_Sym *s = &v.sym[idx];

		if (s->st_shndx == SHN_UNDEF || !name_matches(v.strtab, v.strsz, s->st_name, name))
			continue;
		if (version && v.versym && !version_is(img, size, &v, v.versym[idx], version))
			continue;
		return s;
	}
	return NULL;
}

int vdso_image_lookup_version(const void *image, size_t size, const char *name,
			      const char *version, uint64_t *value)
{
	const Elf64_Sym *s = find_symbol(image, size, name, version);

	if (!s)
		return -1;
	*value = s->st_value;
	return 0;
}

int vdso_image_lookup(const void *image, size_t size, const char *name, uint64_t *value)
{
	return vdso_image_lookup_version(image, size, name, NULL, value);
}

const unsigned char *vdso_image(size_t *size)
{
	*size = (size_t)(sgxemu_vdso_image_end - sgxemu_vdso_image_start);
	return sgxemu_vdso_image_start;
}

/* ---- the host's vDSO ---- */

/* What the exports forward to: the host's functions of the same names, version LINUX_2.6. */
static const struct {
	const char *name, *alias;	/* ours: __vdso_X and its weak alias X */
	unsigned slot;
	int optional;			/* undefined in our copy when the host has none */
} forwards[] = {
	{ "__vdso_clock_gettime", "clock_gettime", VDSO_DATA_CLOCK_GETTIME, 0 },
	{ "__vdso_gettimeofday", "gettimeofday", VDSO_DATA_GETTIMEOFDAY, 0 },
	{ "__vdso_time", "time", VDSO_DATA_TIME, 0 },
	{ "__vdso_getcpu", "getcpu", VDSO_DATA_GETCPU, 0 },
	{ "__vdso_clock_getres", "clock_getres", VDSO_DATA_CLOCK_GETRES, 0 },
	{ "__vdso_getrandom", "getrandom", VDSO_DATA_GETRANDOM, 1 },
};

/* The size of a mapped ELF image: the end of its loaded segments, which must start at
 * virtual address 0 with offsets equal to addresses, as every x86-64 vDSO since Linux 3.16
 * does (older ones were linked elsewhere: we then use none of their functions). */
static size_t mapped_image_size(uintptr_t base)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph;
	uint64_t end = 0;

	if (!bytes_equal(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > 64)
		return 0;
	ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr != ph[i].p_offset)
			return 0;
		if (ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	}
	return (size_t)end;
}

/* The host's vDSO as the kernel mapped it: /proc/self/auxv, which nobody rewrites, else the
 * in-memory vector (not yet pointed at us: see vdso_map). */
static uintptr_t host_vdso(void)
{
	unsigned long v = 0;

	if (auxv_kernel_value(AT_SYSINFO_EHDR, &v) && auxv_value(AT_SYSINFO_EHDR, &v))
		v = 0;
	return v;
}

uintptr_t vdso_host_base(void)
{
	return __atomic_load_n(&vdso_host, __ATOMIC_ACQUIRE);
}

/* ---- mapping ---- */

static long sys_mprotect(uintptr_t a, size_t len, int prot)
{
	return raw_syscall3(SYS_mprotect, a, len, prot);
}

/* Mark a symbol of the copy at base (of the embedded image img) undefined. */
static void undefine(const unsigned char *img, size_t size, uintptr_t base, const char *name)
{
	const Elf64_Sym *s = find_symbol(img, size, name, NULL);

	if (s)
		((Elf64_Sym *)(base + (uintptr_t)((const unsigned char *)s - img)))->st_shndx = SHN_UNDEF;
}

uintptr_t vdso_map_copy(uintptr_t host)
{
	size_t size;
	const unsigned char *img = vdso_image(&size);
	size_t len = (size + VDSO_PAGE - 1) & ~(size_t)(VDSO_PAGE - 1);
	long r = raw_syscall6(SYS_mmap, 0, VDSO_DATA_SIZE + len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t host_size = host ? mapped_image_size(host) : 0;
	uintptr_t p, base;
	uint64_t *data;

	if (r < 0 && r > -4096)
		return 0;
	p = (uintptr_t)r;
	base = p + VDSO_DATA_SIZE;
	data = (uint64_t *)p;
	memcpy((void *)base, img, size);
	for (size_t i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++) {
		const Elf64_Sym *h = host_size ? find_symbol((const unsigned char *)host, host_size,
							     forwards[i].name, "LINUX_2.6") : NULL;

		if (h && ELF64_ST_TYPE(h->st_info) == STT_FUNC && h->st_value < host_size) {
			data[forwards[i].slot / 8] = host + h->st_value;
		} else if (forwards[i].optional) {
			/* Lookups skip an undefined symbol as they would a missing one. */
			undefine(img, size, base, forwards[i].name);
			undefine(img, size, base, forwards[i].alias);
		}
	}
	if (sys_mprotect(p, VDSO_DATA_SIZE, PROT_READ) || sys_mprotect(base, len, PROT_READ | PROT_EXEC)) {
		raw_syscall2(SYS_munmap, p, VDSO_DATA_SIZE + len);
		return 0;
	}
	return base;
}

int vdso_map(void)
{
	static const unsigned char enclu[3] = { 0x0f, 0x01, 0xd7 };
	size_t size;
	const unsigned char *img = vdso_image(&size);
	uint64_t enter_off, enclu_off, fixup_off;
	uintptr_t host, base, none = 0;

	if (__atomic_load_n(&vdso_start, __ATOMIC_SEQ_CST))
		return 0;
	if (__atomic_load_n(&vdso_withdrawn, __ATOMIC_SEQ_CST))
		return -1;
	if (vdso_image_lookup(img, size, "__vdso_sgx_enter_enclave", &enter_off) ||
	    vdso_image_lookup(img, size, "__sgxemu_vdso_enclu", &enclu_off) ||
	    vdso_image_lookup(img, size, "__sgxemu_vdso_fixup", &fixup_off))
		return -1;
	/* The trap paths trust these addresses: make sure the image says what we expect. */
	if (enter_off >= size || fixup_off >= size || enclu_off > size - sizeof(enclu) ||
	    !bytes_equal(img + enclu_off, enclu, sizeof(enclu)))
		return -1;
	__atomic_store_n(&vdso_enclu_off, enclu_off, __ATOMIC_RELAXED);
	__atomic_store_n(&vdso_fixup_off, fixup_off, __ATOMIC_RELAXED);

	host = host_vdso();
	/* Without /proc, host came from the in-memory auxv: if another thread has published
	 * (and so may have pointed the auxv at its copy), that value may be ours. */
	if (__atomic_load_n(&vdso_start, __ATOMIC_SEQ_CST))
		return 0;
	__atomic_store_n(&vdso_host, host, __ATOMIC_RELAXED);
	base = vdso_map_copy(host);
	if (!base)
		return -1;
	if (!__atomic_compare_exchange_n(&vdso_start, &none, base, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		/* Another thread published first: its copy is the one. */
		raw_syscall2(SYS_munmap, base - VDSO_DATA_SIZE,
			     VDSO_DATA_SIZE + ((size + VDSO_PAGE - 1) & ~(size_t)(VDSO_PAGE - 1)));
		return 0;
	}
	/* Programs that read AT_SYSINFO_EHDR from their stack, or through glibc's getauxval
	 * (which reads the same array), find our image. Without a host vDSO there is no entry
	 * to point at us: the interposed getauxval still answers. */
	if (host)
		auxv_replace(AT_SYSINFO_EHDR, host, base);
	return 0;
}

int vdso_set_direct(void (*direct_entry)(void))
{
	uintptr_t base = __atomic_load_n(&vdso_start, __ATOMIC_ACQUIRE), data;

	if (!base)
		return -1;
	/* Readers of the page (the image's code, other threads) never see it unreadable. */
	data = base - VDSO_DATA_SIZE;
	if (sys_mprotect(data, VDSO_DATA_SIZE, PROT_READ | PROT_WRITE))
		return -1;
	__atomic_store_n((uint64_t *)(data + VDSO_DATA_DIRECT), (uint64_t)(uintptr_t)direct_entry,
			 __ATOMIC_RELEASE);
	return sys_mprotect(data, VDSO_DATA_SIZE, PROT_READ) ? -1 : 0;
}

int vdso_init(void (*direct_entry)(void))
{
	return vdso_map() || vdso_set_direct(direct_entry) ? -1 : 0;
}

void vdso_withdraw(void)
{
	uintptr_t base, host;

	__atomic_store_n(&vdso_withdrawn, 1, __ATOMIC_SEQ_CST);
	base = __atomic_load_n(&vdso_start, __ATOMIC_SEQ_CST);
	host = __atomic_load_n(&vdso_host, __ATOMIC_RELAXED);
	/* The copy stays mapped: code may already hold its addresses. */
	if (base && host)
		auxv_replace(AT_SYSINFO_EHDR, base, host);
}

uintptr_t vdso_published(void)
{
	if (__atomic_load_n(&vdso_withdrawn, __ATOMIC_ACQUIRE) || vdso_map())
		return 0;
	return __atomic_load_n(&vdso_start, __ATOMIC_ACQUIRE);
}

uintptr_t vdso_base(void)
{
	return __atomic_load_n(&vdso_start, __ATOMIC_ACQUIRE);
}

uintptr_t vdso_enclu_ip(void)
{
	uintptr_t base = vdso_base();

	return base ? base + __atomic_load_n(&vdso_enclu_off, __ATOMIC_RELAXED) : 0;
}

uintptr_t vdso_fixup_ip(void)
{
	uintptr_t base = vdso_base();

	return base ? base + __atomic_load_n(&vdso_fixup_off, __ATOMIC_RELAXED) : 0;
}
