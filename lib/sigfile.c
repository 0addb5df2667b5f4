/* Finding the SIGSTRUCT in a file (see sigfile.h). */
#include "lib/sigfile.h"

#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/errmsg.h"

/* HEADER without its last four bytes (which the Intel SDK calls "type" and may mark) and
 * HEADER2, both constant (SDM SIGSTRUCT layout). */
static const uint8_t header1_prefix[12] = {
	0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
};
static const uint8_t header2[16] = {
	0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};

#define SDK_SECTION ".note.sgxmeta"
#define SDK_NOTE_NAME "sgx_metadata"

/* [off, off + n) lies within len bytes. */
static bool within(uint64_t off, uint64_t n, size_t len)
{
	return off <= len && n <= len - off;
}

/* The file range of section .note.sgxmeta of an ELF64 image; false if there is none. */
static bool sdk_section(const uint8_t *buf, size_t len, uint64_t *off, uint64_t *size)
{
	Elf64_Ehdr eh;
	Elf64_Shdr strtab;

	if (len < sizeof(eh))
		return false;
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
	    !within(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), len))
		return false;
	memcpy(&strtab, buf + eh.e_shoff + (uint64_t)eh.e_shstrndx * sizeof(Elf64_Shdr),
	       sizeof(strtab));
	if (!within(strtab.sh_offset, strtab.sh_size, len))
		return false;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh;

		memcpy(&sh, buf + eh.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_name >= strtab.sh_size ||
		    strtab.sh_size - sh.sh_name < sizeof(SDK_SECTION) ||
		    memcmp(buf + strtab.sh_offset + sh.sh_name, SDK_SECTION, sizeof(SDK_SECTION)))
			continue;
		if (sh.sh_type == SHT_NOBITS || !within(sh.sh_offset, sh.sh_size, len))
			return false;
		*off = sh.sh_offset;
		*size = sh.sh_size;
		return true;
	}
	return false;
}

static bool sdk_blob_at(const uint8_t *buf, uint64_t off, uint64_t end)
{
	uint64_t magic;

	if (off > end || end - off < SIGFILE_SDK_SIGSTRUCT_OFFSET + sizeof(struct sgx_sigstruct))
		return false;
	memcpy(&magic, buf + off, sizeof(magic));
	return magic == SIGFILE_SDK_MAGIC;
}

/* The metadata blobs of the note in [off, off + size). */
static bool sdk_metadata(const uint8_t *buf, uint64_t off, uint64_t size, struct sigfile *out)
{
	uint32_t namesz, descsz;
	uint64_t desc, end, p;

	if (size < 12)
		return false;
	memcpy(&namesz, buf + off, 4);
	memcpy(&descsz, buf + off + 4, 4);
	if (namesz != sizeof(SDK_NOTE_NAME) || size - 12 < namesz ||
	    memcmp(buf + off + 12, SDK_NOTE_NAME, sizeof(SDK_NOTE_NAME)))
		return false;
	/* The SDK puts the descriptor right after the 13-byte name, without the padding to 4
	 * bytes the ELF note format has; accept either. */
	desc = off + 12 + namesz;
	if (!sdk_blob_at(buf, desc, off + size))
		desc = off + 12 + ((namesz + 3ULL) & ~3ULL);
	end = desc + descsz < off + size ? desc + descsz : off + size;
	if (!sdk_blob_at(buf, desc, end))
		return false;
	memset(out, 0, sizeof(*out));
	out->kind = SIGFILE_SDK;
	out->offset = desc + SIGFILE_SDK_SIGSTRUCT_OFFSET;
	memcpy(&out->meta, buf + desc, sizeof(out->meta));
	memcpy(&out->sig, buf + out->offset, sizeof(out->sig));
	for (p = desc; sdk_blob_at(buf, p, end);) {
		uint32_t blob;

		memcpy(&blob, buf + p + 16, 4);
		out->nmeta++;
		if (p != desc && memcmp(buf + p + SIGFILE_SDK_SIGSTRUCT_OFFSET, &out->sig,
					sizeof(out->sig)))
			out->ndiffer++;
		if (blob < SIGFILE_SDK_SIGSTRUCT_OFFSET + sizeof(struct sgx_sigstruct))
			break;
		p += blob;
	}
	return true;
}

int sigfile_find(const uint8_t *buf, size_t len, struct sigfile *out, char *err, size_t errlen)
{
	uint64_t off, size;

	if (!buf)
		return errmsg(err, errlen, "no data");
	if (len == sizeof(struct sgx_sigstruct)) {
		memset(out, 0, sizeof(*out));
		out->kind = SIGFILE_RAW;
		memcpy(&out->sig, buf, sizeof(out->sig));
		return 0;
	}
	if (sdk_section(buf, len, &off, &size) && sdk_metadata(buf, off, size, out))
		return 0;
	for (size_t at = 0; len >= sizeof(struct sgx_sigstruct) &&
			    at <= len - sizeof(struct sgx_sigstruct); at++) {
		const uint8_t *p = memchr(buf + at, header1_prefix[0],
					  len - sizeof(struct sgx_sigstruct) + 1 - at);

		if (!p)
			break;
		at = (size_t)(p - buf);
		if (memcmp(p, header1_prefix, sizeof(header1_prefix)) ||
		    memcmp(p + offsetof(struct sgx_sigstruct_header, header2), header2,
			   sizeof(header2)))
			continue;
		memset(out, 0, sizeof(*out));
		out->kind = SIGFILE_EMBEDDED;
		out->offset = at;
		memcpy(&out->sig, p, sizeof(out->sig));
		return 0;
	}
	return errmsg(err, errlen, "no SIGSTRUCT found: the file is not 1808 bytes long, has no "
		    "Intel SDK metadata (.note.sgxmeta), and holds no SIGSTRUCT headers");
}
