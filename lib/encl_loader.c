/* Building and calling our own enclaves through the Linux SGX ABI (see encl_loader.h). */
#include "lib/encl_loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/measure.h"
#include "lib/sign.h"

#define PAGE 4096UL

static uint64_t round_up_page(uint64_t v)
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

/* Record what failed in e->err; keeps errno for the caller. */
static int fail(struct encl *e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	n = strlen(e->err);
	if (saved)
		snprintf(e->err + n, sizeof(e->err) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

static uint8_t *alloc_pages(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ELF p_flags (PF_R 4, PF_W 2, PF_X 1) to SECINFO / PROT_* bits (R 1, W 2, X 4). */
static int elf_perms(uint32_t p_flags)
{
	return ((p_flags & PF_R) ? 1 : 0) | ((p_flags & PF_W) ? 2 : 0) | ((p_flags & PF_X) ? 4 : 0);
}

/* Program header i, copied out of the image: the file may put it at any offset, and reading
 * it in place would be a misaligned access (checked: e_phnum headers fit from e_phoff). */
static const Elf64_Phdr *phdr_copy(Elf64_Phdr *out, const uint8_t *img, const Elf64_Ehdr *eh,
				   unsigned i)
{
	memcpy(out, img + eh->e_phoff + (size_t)i * sizeof(*out), sizeof(*out));
	return out;
}

static int read_file(struct encl *e, const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(e, "cannot open %s", path);
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		if (!errno)
			errno = ENOEXEC;
		fail(e, "cannot read %s", path);
		close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	if (!*buf) {
		close(fd);
		return fail(e, "out of memory");
	}
	while (done < *len) {
		ssize_t r = read(fd, *buf + done, *len - done);

		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			fail(e, "cannot read %s", path);
			free(*buf);
			close(fd);
			return -1;
		}
		done += (size_t)r;
	}
	close(fd);
	return 0;
}

int encl_load(struct encl *e, const char *path, size_t heap_size)
{
	const Elf64_Ehdr *eh;
	uint64_t end = 0;
	uint8_t *img = NULL;
	size_t len = 0;

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	e->ssa_frame_size = 1;
	e->attributes = SGX_ATTR_MODE64BIT;
	e->xfrm = 3;
	if (heap_size % PAGE || heap_size > (1ULL << 36)) {
		errno = EINVAL;
		return fail(e, "heap size %zu is not a page multiple of at most 64 GiB", heap_size);
	}
	if (read_file(e, path, &img, &len) < 0)
		return -1;
	if (!realpath(path, e->path))
		snprintf(e->path, sizeof(e->path), "%s", path);

	errno = ENOEXEC;
	eh = (const Elf64_Ehdr *)img;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff > len || eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		fail(e, "%s: not an x86-64 ELF image", path);
		goto out;
	}
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr phc;
		const Elf64_Phdr *ph = phdr_copy(&phc, img, eh, i);
		struct encl_seg *s;

		if (ph->p_type != PT_LOAD)
			continue;
		errno = ENOEXEC;
		if (e->nseg == ENCL_MAX_SEGS - 1) {
			fail(e, "%s: too many PT_LOAD segments", path);
			goto out;
		}
		if (ph->p_vaddr % PAGE || ph->p_vaddr < end || ph->p_filesz > ph->p_memsz ||
		    ph->p_offset > len || ph->p_filesz > len - ph->p_offset || ph->p_memsz == 0 ||
		    ph->p_vaddr > (1ULL << 36) || ph->p_memsz > (1ULL << 36)) {
			fail(e, "%s: PT_LOAD %u is not page aligned, overlaps or is truncated", path, i);
			goto out;
		}
		s = &e->seg[e->nseg];
		s->offset = ph->p_vaddr;
		s->size = round_up_page(ph->p_memsz);
		s->prot = elf_perms(ph->p_flags);
		s->flags = SGX_PAGE_MEASURE;
		if (e->nseg == 0) {
			/* The first segment holds the TCS pages: the loader's contract. */
			if (s->prot != (PROT_READ | PROT_WRITE)) {
				fail(e, "%s: first PT_LOAD (the TCS pages) must be RW", path);
				goto out;
			}
			s->secinfo = (uint64_t)SGX_PT_TCS << SGX_SECINFO_TYPE_SHIFT;
			e->ntcs = (unsigned)(s->size / PAGE);
		} else {
			s->secinfo = ((uint64_t)SGX_PT_REG << SGX_SECINFO_TYPE_SHIFT) | (uint64_t)s->prot;
		}
		s->src = alloc_pages(s->size);
		if (!s->src) {
			fail(e, "out of memory");
			goto out;
		}
		memcpy(s->src, img + ph->p_offset, ph->p_filesz);
		end = s->offset + s->size;
		e->nseg++;
	}
	if (e->nseg < 2) {
		errno = ENOEXEC;
		fail(e, "%s: needs a TCS segment and at least one more PT_LOAD", path);
		goto out;
	}
	if (heap_size) {
		struct encl_seg *s = &e->seg[e->nseg];

		s->offset = end;
		s->size = heap_size;
		s->prot = PROT_READ | PROT_WRITE;
		s->secinfo = ((uint64_t)SGX_PT_REG << SGX_SECINFO_TYPE_SHIFT) | SGX_SECINFO_R |
			     SGX_SECINFO_W;
		s->flags = 0; /* not measured: its contents are not part of the identity */
		s->src = alloc_pages(heap_size);
		if (!s->src) {
			fail(e, "out of memory");
			goto out;
		}
		e->heap_offset = end;
		e->heap_size = heap_size;
		end += heap_size;
		e->nseg++;
	}
	/* No enclave is larger than 2^36 (MaxEnclaveSize_64); beyond 2^63 this would not end. */
	if (end > (1ULL << 36)) {
		errno = EFBIG;
		fail(e, "%s: the image and heap need more than 64 GiB", path);
		goto out;
	}
	for (e->size = PAGE; e->size < end; e->size <<= 1)
		;
	free(img);
	errno = 0;
	return 0;
out:
	free(img);
	encl_free(e);
	return -1;
}

int encl_measure(const struct encl *e, uint8_t out[32])
{
	struct measure *m = measure_new();
	uint8_t *page = malloc(PAGE);
	int rc = -1;

	if (!m || !page) {
		measure_free(m);
		free(page);
		return -1;
	}
	if (measure_ecreate(m, e->ssa_frame_size, e->size) < 0)
		goto out;
	for (unsigned i = 0; i < e->nseg; i++) {
		const struct encl_seg *s = &e->seg[i];

		for (uint64_t off = 0; off < s->size; off += PAGE) {
			if (measure_eadd(m, s->offset + off, s->secinfo) < 0)
				goto out;
			if (!(s->flags & SGX_PAGE_MEASURE))
				continue;
			memcpy(page, s->src + off, PAGE);
			if (((s->secinfo & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT) == SGX_PT_TCS) {
				/* EADD clears these in the EPC copy before EEXTEND reads it. */
				struct sgx_tcs *t = (struct sgx_tcs *)page;

				t->state = 0;
				t->flags &= ~SGX_TCS_FLAGS_DBGOPTIN;
				t->cssa = 0;
				t->aep = 0;
			}
			for (uint64_t c = 0; c < PAGE; c += 256)
				if (measure_eextend(m, s->offset + off + c, page + c) < 0)
					goto out;
		}
	}
	rc = measure_digest(m, out);
out:
	measure_free(m);
	free(page);
	return rc;
}

int encl_sign(struct encl *e, EVP_PKEY *key)
{
	struct sgx_sigstruct *s = &e->sigstruct;

	errno = 0;
	if (encl_measure(e, e->mrenclave) < 0)
		return fail(e, "measuring the enclave failed");
	sign_sigstruct_init(s);
	s->body.miscselect = e->miscselect;
	s->body.misc_mask = 0xffffffff;
	s->body.attributes.flags = e->attributes;
	s->body.attributes.xfrm = e->xfrm;
	/* Bind the attributes that change what the enclave may do; leave INIT to EINIT. */
	s->body.attributes_mask.flags = SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT |
					SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY |
					SGX_ATTR_KSS;
	s->body.attributes_mask.xfrm = 3;
	memcpy(s->body.mrenclave, e->mrenclave, sizeof(e->mrenclave));
	if (sign_sigstruct(s, key) < 0)
		return fail(e, "signing failed (the key must be RSA-3072 with e = 3)");
	return 0;
}

struct encl_sys encl_sys = { open, close, ioctl, mmap, munmap };

int encl_open(struct encl *e)
{
	if (e->fd >= 0)
		return 0;
	e->fd = encl_sys.open("/dev/sgx_enclave", O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return fail(e, "cannot open /dev/sgx_enclave");
	return 0;
}

int encl_reserve(struct encl *e)
{
	uint8_t *p;
	uint64_t base;

	if (e->reserve)
		return 0;
	/* Twice the size, then trim: ELRANGE must be naturally aligned to its size. */
	p = encl_sys.mmap(NULL, 2 * e->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	if (p == MAP_FAILED)
		return fail(e, "cannot reserve %#lx bytes of address space", (unsigned long)e->size);
	base = ((uint64_t)(uintptr_t)p + e->size - 1) & ~(e->size - 1);
	if (base > (uint64_t)(uintptr_t)p)
		encl_sys.munmap(p, base - (uint64_t)(uintptr_t)p);
	if ((uint64_t)(uintptr_t)p + 2 * e->size > base + e->size)
		encl_sys.munmap((void *)(uintptr_t)(base + e->size),
		       (uint64_t)(uintptr_t)p + 2 * e->size - (base + e->size));
	e->base = base;
	e->reserve = (void *)(uintptr_t)base;
	e->reserve_len = e->size;
	return 0;
}

int encl_create(struct encl *e)
{
	struct sgx_enclave_create create;
	struct sgx_secs *secs;
	int rc;

	errno = 0;
	if (encl_open(e) < 0 || encl_reserve(e) < 0)
		return -1;
	/* SECS is 4 KiB: not on the stack, which may be small in threaded callers. */
	secs = calloc(1, sizeof(*secs));
	if (!secs)
		return fail(e, "out of memory");
	secs->size = e->size;
	secs->base = e->base;
	secs->ssa_frame_size = e->ssa_frame_size;
	secs->miscselect = e->miscselect;
	secs->attributes.flags = e->attributes;
	secs->attributes.xfrm = e->xfrm;
	create.src = (uint64_t)(uintptr_t)secs;
	rc = encl_sys.ioctl(e->fd, SGX_IOC_ENCLAVE_CREATE, &create);
	if (rc < 0)
		fail(e, "SGX_IOC_ENCLAVE_CREATE");
	free(secs);
	return rc < 0 ? -1 : 0;
}

int encl_add_seg(struct encl *e, unsigned i)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64)));
	const struct encl_seg *s = &e->seg[i];
	uint64_t done = 0;

	memset(&secinfo, 0, sizeof(secinfo));
	secinfo.flags = s->secinfo;
	/* The kernel may stop early on a signal and report success with count < length. */
	while (done < s->size) {
		struct sgx_enclave_add_pages add = {
			.src = (uint64_t)(uintptr_t)(s->src + done),
			.offset = s->offset + done,
			.length = s->size - done,
			.secinfo = (uint64_t)(uintptr_t)&secinfo,
			.flags = s->flags,
		};

		if (encl_sys.ioctl(e->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add) < 0)
			return fail(e, "SGX_IOC_ENCLAVE_ADD_PAGES at offset %#lx",
				    (unsigned long)(s->offset + done + add.count));
		done += add.count;
	}
	return 0;
}

int encl_add_all(struct encl *e)
{
	for (unsigned i = 0; i < e->nseg; i++)
		if (encl_add_seg(e, i) < 0)
			return -1;
	return 0;
}

int encl_init(struct encl *e)
{
	struct sgx_enclave_init init = { .sigstruct = (uint64_t)(uintptr_t)&e->sigstruct };

	if (encl_sys.ioctl(e->fd, SGX_IOC_ENCLAVE_INIT, &init) < 0)
		return fail(e, "SGX_IOC_ENCLAVE_INIT");
	return 0;
}

int encl_map(struct encl *e)
{
	for (unsigned i = 0; i < e->nseg; i++) {
		const struct encl_seg *s = &e->seg[i];
		void *want = encl_seg_addr(e, i);
		void *p = encl_sys.mmap(want, s->size, s->prot, MAP_SHARED | MAP_FIXED, e->fd, 0);

		if (p == MAP_FAILED)
			return fail(e, "mmap of segment %u at %p", i, want);
	}
	return 0;
}

int encl_build(struct encl *e, EVP_PKEY *key)
{
	if (encl_sign(e, key) < 0 || encl_create(e) < 0 || encl_add_all(e) < 0 ||
	    encl_init(e) < 0 || encl_map(e) < 0)
		return -1;
	/* A debugger under sgxemu breaks there to load the enclave's symbols; on hardware the
	 * symbol is absent and nothing happens. */
	if (e->path[0]) {
		void (*loaded)(const char *, uint64_t);
		void *sym = dlsym(RTLD_DEFAULT, "sgxemu_gdb_enclave_loaded");

		memcpy(&loaded, &sym, sizeof(loaded));
		if (loaded)
			loaded(e->path, e->base);
	}
	return 0;
}

void encl_free(struct encl *e)
{
	int saved = errno;

	if (e->reserve)
		encl_sys.munmap(e->reserve, e->reserve_len);
	if (e->fd >= 0)
		encl_sys.close(e->fd);
	for (unsigned i = 0; i < ENCL_MAX_SEGS; i++)
		if (e->seg[i].src)
			munmap(e->seg[i].src, e->seg[i].size);
	memset(e->seg, 0, sizeof(e->seg));
	e->nseg = 0;
	e->reserve = NULL;
	e->reserve_len = 0;
	e->fd = -1;
	errno = saved;
}

uint64_t encl_tcs(const struct encl *e, unsigned i)
{
	return e->base + e->seg[0].offset + (uint64_t)i * PAGE;
}

void *encl_seg_addr(const struct encl *e, unsigned i)
{
	return (void *)(uintptr_t)(e->base + e->seg[i].offset);
}

/* --- the vDSO ------------------------------------------------------------------------- */

static unsigned long elf_sysv_hash(const char *name)
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

void *encl_vdso_sym(const char *name)
{
	uintptr_t img = getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	const Elf64_Sym *symtab = NULL;
	const Elf32_Word *hash = NULL;
	const char *strtab = NULL;
	uintptr_t bias = 0;
	int have_load = 0;

	if (!img || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		/* Addresses in the image are link-time; the first PT_LOAD gives the bias. */
		if (ph[i].p_type == PT_LOAD && !have_load) {
			bias = img + ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(img + ph[i].p_offset);
		}
	}
	if (!dyn || !have_load)
		return NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_HASH)
			hash = (const Elf32_Word *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_SYMTAB)
			symtab = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			strtab = (const char *)(bias + dyn->d_un.d_ptr);
	}
	if (!hash || !symtab || !strtab || hash[0] == 0)
		return NULL;
	{
		Elf32_Word nbucket = hash[0], nchain = hash[1];
		const Elf32_Word *bucket = hash + 2, *chain = bucket + nbucket;

		for (Elf32_Word i = bucket[elf_sysv_hash(name) % nbucket]; i != STN_UNDEF && i < nchain;
		     i = chain[i]) {
			const Elf64_Sym *sym = &symtab[i];

			if (sym->st_shndx != SHN_UNDEF && strcmp(strtab + sym->st_name, name) == 0)
				return (void *)(bias + sym->st_value);
		}
	}
	return NULL;
}

/* Read by the thunk below. */
__attribute__((visibility("hidden"))) vdso_sgx_enter_enclave_t encl_vdso_fn;

vdso_sgx_enter_enclave_t encl_vdso(void)
{
	vdso_sgx_enter_enclave_t fn = __atomic_load_n(&encl_vdso_fn, __ATOMIC_ACQUIRE);

	if (!fn) {
		fn = (vdso_sgx_enter_enclave_t)encl_vdso_sym("__vdso_sgx_enter_enclave");
		__atomic_store_n(&encl_vdso_fn, fn, __ATOMIC_RELEASE);
	}
	return fn;
}

int encl_vdso_thunk(uint64_t rdi, uint64_t rsi, uint64_t rdx, unsigned function, uint64_t r8,
		    uint64_t r9, struct sgx_enclave_run *run);

/* The vDSO preserves only RBX, RBP and RSP; after an AEX the CPU has zeroed R8-R15, and an
 * enclave may leave anything in R12-R15. C callers need all callee-saved registers back. */
__asm__(
	".pushsection .text\n"
	".globl encl_vdso_thunk\n"
	".hidden encl_vdso_thunk\n"
	".type encl_vdso_thunk, @function\n"
	"encl_vdso_thunk:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	/* The 7th argument (run) again at [rsp] so it is at [rsp+8] inside the vDSO; with the
	 * six pushes above RSP is 16-byte aligned at the call. */
	"	push 16(%rbp)\n"
	"	call *encl_vdso_fn(%rip)\n"
	"	lea -40(%rbp), %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n"
	".size encl_vdso_thunk, . - encl_vdso_thunk\n"
	".popsection\n");

int encl_vdso_call(struct sgx_enclave_run *run, unsigned function, uint64_t rdi, uint64_t rsi,
		   uint64_t rdx)
{
	if (!encl_vdso())
		return -ENOSYS;
	return encl_vdso_thunk(rdi, rsi, rdx, function, 0, 0, run);
}

int encl_enter(const struct encl *e, unsigned tcs, void *arg, struct sgx_enclave_run *run)
{
	memset(run, 0, sizeof(*run));
	run->tcs = encl_tcs(e, tcs);
	return encl_vdso_call(run, ENCLU_EENTER, (uint64_t)(uintptr_t)arg, 0, 0);
}

/* --- small helpers -------------------------------------------------------------------- */

char *encl_path_near_exe(const char *rel, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", exe, rel) >= len)
		return NULL;
	return buf;
}

char *encl_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}
