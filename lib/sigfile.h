/* Finding the SIGSTRUCT in a file: a SIGSTRUCT on its own (sgxemu sign's and Gramine's .sig,
 * sgx_sign dump -cssfile), an enclave signed by the Intel SGX SDK (the metadata in its
 * .note.sgxmeta section), or any other file that holds one (found by its constant headers).
 * Works on bytes in memory, for `sgxemu sigstruct` and for fuzzing. */
#ifndef SGXEMU_LIB_SIGFILE_H
#define SGXEMU_LIB_SIGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/arch.h"

enum sigfile_kind {
	SIGFILE_RAW,        /* the file is a SIGSTRUCT, 1808 bytes */
	SIGFILE_SDK,        /* Intel SGX SDK metadata in .note.sgxmeta */
	SIGFILE_EMBEDDED,   /* found by its headers somewhere in the file */
};

/* The Intel SDK's metadata header (metadata_t up to the SIGSTRUCT, which follows it). */
#define SIGFILE_SDK_MAGIC 0x86A80294635D0E4CULL
#define SIGFILE_SDK_SIGSTRUCT_OFFSET 64
struct sigfile_sdk_meta {
	uint64_t magic;
	uint64_t version;               /* major << 32 | minor */
	uint32_t size;                  /* of this metadata blob */
	uint32_t tcs_policy;            /* 0 bound to a thread, 1 unbound */
	uint32_t ssa_frame_size;        /* pages */
	uint32_t max_save_buffer_size;
	uint32_t desired_misc_select;
	uint32_t tcs_min_pool;          /* reserved in older versions */
	uint64_t enclave_size;
	uint64_t attributes_flags, attributes_xfrm;
} __attribute__((packed));
_Static_assert(sizeof(struct sigfile_sdk_meta) == SIGFILE_SDK_SIGSTRUCT_OFFSET, "SDK metadata");

struct sigfile {
	enum sigfile_kind kind;
	uint64_t offset;                /* of the SIGSTRUCT in the file */
	struct sgx_sigstruct sig;
	/* SIGFILE_SDK: the first metadata blob, how many there are, and how many of the others
	 * hold a SIGSTRUCT different from the first's. */
	struct sigfile_sdk_meta meta;
	unsigned nmeta, ndiffer;
};

/* Find the SIGSTRUCT in buf (len bytes). 0, or -1 with a message in err. */
int sigfile_find(const uint8_t *buf, size_t len, struct sigfile *out, char *err, size_t errlen);

#endif
