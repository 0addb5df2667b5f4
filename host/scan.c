/* Whether the process has code that makes system calls without libc (the "auto" setting of
 * the seccomp filter, docs/syscalls.md). The filter costs every system call the kernel's
 * seccomp entry (see `make bench`), so it goes on only where a loaded object has a SYSCALL
 * instruction of its own: found by searching the executable segments for its bytes (0F 05),
 * then confirming each candidate by disassembling, with Capstone, the function the object's
 * unwind table says contains it -- bytes that lie in no function, or that a linear decode of
 * their function does not start an instruction at, are data. libc, the dynamic loader, the
 * vDSO and sgxemu's own objects are not searched: their system calls are accounted for. */
#include "host/scan.h"

#include <capstone/capstone.h>
#include <elf.h>
#include <link.h>
#include <string.h>

/* DWARF pointer encodings of .eh_frame_hdr and FDEs (the LSB's "DWARF Extensions"). */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_APPL 0x70
#define PE_PCREL 0x10
#define PE_DATAREL 0x30
#define PE_INDIRECT 0x80

struct cursor {
	const uint8_t *p, *end;
};

static bool get_bytes(struct cursor *c, void *out, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	return true;
}

static bool get_uleb(struct cursor *c, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (c->p < c->end && shift < 64) {
		uint8_t b = *c->p++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static bool get_sleb(struct cursor *c, int64_t *v)
{
	unsigned shift = 0;
	uint8_t b = 0x80;
	uint64_t r = 0;

	while (c->p < c->end && shift < 64 && (b & 0x80)) {
		b = *c->p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		return false;
	if (shift < 64 && (b & 0x40))
		r |= ~0ULL << shift;
	*v = (int64_t)r;
	return true;
}

/* One encoded pointer; datarel is the base for PE_DATAREL (the .eh_frame_hdr start). */
static bool get_encoded(struct cursor *c, uint8_t enc, uint64_t datarel, uint64_t *out)
{
	uint64_t at = (uint64_t)(uintptr_t)c->p, v = 0;
	bool ok;

	if (enc == PE_OMIT)
		return false;
	switch (enc & PE_FORMAT) {
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		ok = get_bytes(c, &v, 8);
		break;
	case PE_UDATA4: {
		uint32_t x = 0;

		ok = get_bytes(c, &x, 4);
		v = x;
		break;
	}
	case PE_SDATA4: {
		int32_t x = 0;

		ok = get_bytes(c, &x, 4);
		v = (uint64_t)(int64_t)x;
		break;
	}
	case PE_UDATA2: {
		uint16_t x = 0;

		ok = get_bytes(c, &x, 2);
		v = x;
		break;
	}
	case PE_SDATA2: {
		int16_t x = 0;

		ok = get_bytes(c, &x, 2);
		v = (uint64_t)(int64_t)x;
		break;
	}
	case PE_ULEB128:
		ok = get_uleb(c, &v);
		break;
	case PE_SLEB128: {
		int64_t x = 0;

		ok = get_sleb(c, &x);
		v = (uint64_t)x;
		break;
	}
	default:
		return false;
	}
	if (!ok)
		return false;
	switch (enc & PE_APPL) {
	case 0:
		break;
	case PE_PCREL:
		v += at;
		break;
	case PE_DATAREL:
		v += datarel;
		break;
	default:
		return false;
	}
	if (enc & PE_INDIRECT)
		return false; /* not used for code addresses */
	*out = v;
	return true;
}

/* The pointer encoding FDEs of this CIE use for their addresses (the 'R' augmentation). */
static bool cie_fde_encoding(const uint8_t *cie, const uint8_t *limit, uint8_t *enc)
{
	struct cursor c = { cie, limit };
	uint32_t len, id;
	uint8_t version;
	const char *aug;
	uint64_t u;
	int64_t s;

	if (!get_bytes(&c, &len, 4) || len == 0xffffffff || !get_bytes(&c, &id, 4) || id != 0 ||
	    !get_bytes(&c, &version, 1))
		return false;
	aug = (const char *)c.p;
	c.p += strnlen(aug, (size_t)(c.end - c.p)) + 1;
	if (c.p > c.end || !get_uleb(&c, &u) || !get_sleb(&c, &s))
		return false;
	if (version == 1)
		c.p++;
	else if (!get_uleb(&c, &u))
		return false;
	*enc = PE_ABSPTR;
	if (aug[0] != 'z')
		return true;
	if (!get_uleb(&c, &u))
		return false;
	for (const char *a = aug + 1; *a; a++) {
		uint8_t e, x;

		switch (*a) {
		case 'R':
			return get_bytes(&c, enc, 1);
		case 'P':
			if (!get_bytes(&c, &e, 1) || !get_encoded(&c, e & 0x7f, 0, &u))
				return false;
			break;
		case 'L':
			if (!get_bytes(&c, &x, 1))
				return false;
			break;
		case 'S':
		case 'B':
			break;
		default:
			return false;
		}
	}
	return true;
}

/* The function (start, size) the FDE at fde describes. */
static bool fde_range(const uint8_t *fde, const uint8_t *limit, uint64_t *start, uint64_t *size)
{
	struct cursor c = { fde, limit };
	uint32_t len, cie_off;
	const uint8_t *cie_ptr;
	uint8_t enc;

	if (!get_bytes(&c, &len, 4) || len == 0xffffffff)
		return false;
	cie_ptr = c.p;
	if (!get_bytes(&c, &cie_off, 4) || cie_off == 0)
		return false;
	if (!cie_fde_encoding(cie_ptr - cie_off, limit, &enc))
		return false;
	if (!get_encoded(&c, enc, 0, start))
		return false;
	return get_encoded(&c, enc & PE_FORMAT, 0, size);
}

struct eh_table {
	const uint8_t *hdr;
	const int32_t *pairs; /* (initial location, FDE) relative to hdr, sorted */
	uint64_t count;
	const uint8_t *limit; /* the end of the object's mapping holding .eh_frame */
};

static bool eh_table_init(struct eh_table *t, const uint8_t *hdr, const uint8_t *limit)
{
	struct cursor c = { hdr + 4, limit };
	uint64_t ignored;

	/* version 1, table of datarel sdata4 pairs: what GNU ld writes. */
	if (hdr[0] != 1 || hdr[3] != (PE_DATAREL | PE_SDATA4))
		return false;
	if (!get_encoded(&c, hdr[1], (uint64_t)(uintptr_t)hdr, &ignored) ||
	    !get_encoded(&c, hdr[2], (uint64_t)(uintptr_t)hdr, &t->count))
		return false;
	t->hdr = hdr;
	t->pairs = (const int32_t *)c.p;
	t->limit = limit;
	return (const uint8_t *)(t->pairs + 2 * t->count) <= limit;
}

/* The function containing pc, if the unwind table has one. */
static bool eh_function_of(const struct eh_table *t, uint64_t pc, uint64_t *start, uint64_t *size)
{
	uint64_t base = (uint64_t)(uintptr_t)t->hdr, lo = 0, hi = t->count;

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;

		if (base + (uint64_t)(int64_t)t->pairs[2 * mid] <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	if (!fde_range((const uint8_t *)(uintptr_t)(base + (uint64_t)(int64_t)t->pairs[2 * (lo - 1) + 1]),
		       t->limit, start, size))
		return false;
	return pc >= *start && pc - *start < *size;
}

/* Whether a linear decode from start meets an instruction beginning at pc that is SYSCALL.
 * Bytes the decoder does not know (newer instructions, padding) are stepped over one at a
 * time: the decode falls back into step within a few instructions. */
static bool decodes_to_syscall(csh cs, cs_insn *insn, uint64_t start, uint64_t pc)
{
	const uint8_t *code = (const uint8_t *)(uintptr_t)start;
	size_t len = (size_t)(pc + 15 - start); /* an instruction may run past pc */
	uint64_t addr = start;

	while (addr <= pc) {
		if (!cs_disasm_iter(cs, &code, &len, &addr, insn)) {
			code++;
			len--;
			addr++;
			continue;
		}
		if (insn->address == pc)
			return insn->id == X86_INS_SYSCALL;
	}
	return false;
}

static bool skipped_object(const char *name)
{
	static const char *const ours[] = { "libc.so", "ld-linux", "linux-vdso", "libsgxemu" };
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	for (unsigned i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (!strncmp(base, ours[i], strlen(ours[i])))
			return true;
	return false;
}

struct scan_state {
	csh cs;
	cs_insn *insn;
	bool found;
	char where[256];
};

static int scan_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan_state *st = arg;
	struct eh_table table;
	bool have_table = false;
	const uint8_t *limit = NULL;

	(void)size;
	if (st->found || (info->dlpi_name[0] && skipped_object(info->dlpi_name)))
		return st->found;
	/* The unwind table and the end of the mapping that holds it. */
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_GNU_EH_FRAME)
			continue;
		for (unsigned j = 0; j < info->dlpi_phnum; j++) {
			const ElfW(Phdr) *ld = &info->dlpi_phdr[j];

			if (ld->p_type == PT_LOAD && ph->p_vaddr >= ld->p_vaddr &&
			    ph->p_vaddr < ld->p_vaddr + ld->p_memsz)
				limit = (const uint8_t *)(uintptr_t)(info->dlpi_addr + ld->p_vaddr +
								     ld->p_memsz);
		}
		if (limit)
			have_table = eh_table_init(&table,
						   (const uint8_t *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr),
						   limit);
	}
	for (unsigned i = 0; i < info->dlpi_phnum && !st->found; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p, *end;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		p = (const uint8_t *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_filesz;
		while (p + 1 < end && !st->found) {
			const uint8_t *hit = memchr(p, 0x0f, (size_t)(end - 1 - p));
			uint64_t pc, fstart, fsize;

			if (!hit)
				break;
			p = hit + 1;
			if (hit[1] != 0x05)
				continue;
			pc = (uint64_t)(uintptr_t)hit;
			if (!have_table) {
				/* No unwind table: nothing to tell code from data by. */
				st->found = true;
			} else if (eh_function_of(&table, pc, &fstart, &fsize)) {
				st->found = decodes_to_syscall(st->cs, st->insn, fstart, pc);
			}
			if (st->found) {
				const char *n = info->dlpi_name[0] ? info->dlpi_name : "the program";

				strncpy(st->where, n, sizeof(st->where) - 1);
			}
		}
	}
	return st->found;
}

bool scan_raw_syscalls(char *where, size_t len)
{
	struct scan_state st;

	memset(&st, 0, sizeof(st));
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &st.cs) != CS_ERR_OK)
		return true; /* cannot tell: assume so */
	st.insn = cs_malloc(st.cs);
	if (st.insn)
		dl_iterate_phdr(scan_object, &st);
	else
		st.found = true;
	if (st.insn)
		cs_free(st.insn, 1);
	cs_close(&st.cs);
	if (where && len) {
		strncpy(where, st.found ? st.where : "", len - 1);
		where[len - 1] = 0;
	}
	return st.found;
}
