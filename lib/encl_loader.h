/* Building and calling our own enclaves through the Linux SGX ABI: /dev/sgx_enclave, its
 * ioctls and mmap, and __vdso_sgx_enter_enclave found in the vDSO image. Used by the demo
 * and the integration tests; nothing here knows about the emulator, so the same code runs on
 * a real SGX machine.
 *
 * Image format: an ELF whose first PT_LOAD holds the TCS pages (flags RW) and whose further
 * PT_LOADs are code and data, linked at 0 (see demo/encl.lds). Each PT_LOAD becomes one
 * segment, added with one ADD_PAGES call; an optional unmeasured heap follows the last one. */
#ifndef SGXEMU_LIB_ENCL_LOADER_H
#define SGXEMU_LIB_ENCL_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <asm/sgx.h>
#include <openssl/evp.h>

#include "cpu/arch.h"

#define ENCL_MAX_SEGS 8

struct encl_seg {
	uint64_t offset;  /* from the enclave base, page aligned */
	uint64_t size;    /* bytes, page multiple */
	uint64_t secinfo; /* SECINFO.FLAGS for ADD_PAGES */
	int prot;         /* PROT_* for mmap */
	uint64_t flags;   /* ADD_PAGES flags: SGX_PAGE_MEASURE or 0 (the heap) */
	uint8_t *src;     /* page-aligned private copy of the contents (size bytes) */
};

struct encl {
	int fd;                  /* /dev/sgx_enclave, -1 until opened */
	uint64_t base;           /* ELRANGE start, 0 until reserved */
	uint64_t size;           /* ELRANGE size: a power of two */
	uint32_t ssa_frame_size; /* pages */
	uint32_t miscselect;
	uint64_t attributes;     /* SECS.ATTRIBUTES.FLAGS; MODE64BIT by default */
	uint64_t xfrm;           /* SECS.ATTRIBUTES.XFRM; 3 (x87, SSE) by default */
	struct encl_seg seg[ENCL_MAX_SEGS];
	unsigned nseg;
	unsigned ntcs;           /* pages of the first segment */
	uint64_t heap_offset, heap_size;
	uint8_t mrenclave[32];
	struct sgx_sigstruct sigstruct;
	void *reserve;           /* the PROT_NONE reservation that holds ELRANGE */
	size_t reserve_len;
	char err[256];           /* what failed last, for messages */
	char path[4096];         /* the ELF encl_load read (absolute), for debuggers */
};

/* The system calls the loader makes on the device and on enclave memory, replaceable (tests
 * make them without libc this way); libc's by default. */
struct encl_sys {
	int (*open)(const char *path, int flags, ...);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long req, ...);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
	int (*munmap)(void *addr, size_t len);
};
extern struct encl_sys encl_sys;

/* Read the ELF at path into e (segments copied, fd not opened). heap_size (page multiple, 0
 * for none) bytes of zeroed RW heap follow the last segment. Returns 0 or -1 (e->err). */
int encl_load(struct encl *e, const char *path, size_t heap_size);
/* MRENCLAVE of e's current layout and contents, as ECREATE + EADD + EEXTEND would compute. */
int encl_measure(const struct encl *e, uint8_t out[32]);
/* Fill e->sigstruct for e's current attributes and contents, signed with key (vendor 0,
 * attribute masks covering DEBUG, MODE64BIT, PROVISIONKEY, EINITTOKENKEY, KSS). */
int encl_sign(struct encl *e, EVP_PKEY *key);
/* The individual build steps. Each returns 0, or -1 with errno from the failing call. */
int encl_open(struct encl *e);                  /* open /dev/sgx_enclave */
int encl_reserve(struct encl *e);               /* size-aligned PROT_NONE reservation */
int encl_create(struct encl *e);                /* open + reserve if needed, ECREATE */
int encl_add_seg(struct encl *e, unsigned i);   /* ADD_PAGES of segment i */
int encl_add_all(struct encl *e);
int encl_init(struct encl *e);                  /* INIT with e->sigstruct */
int encl_map(struct encl *e);                   /* MAP_SHARED|MAP_FIXED every segment */
/* sign + create + add + init + map; then, if the process has sgxemu_gdb_enclave_loaded (the
 * emulator's preload), tells it the ELF and base, for gdb's symbols. */
int encl_build(struct encl *e, EVP_PKEY *key);
/* Unmap, close, free the copies. Safe on a zeroed or partly built e. */
void encl_free(struct encl *e);

/* Linear address of TCS number i. */
uint64_t encl_tcs(const struct encl *e, unsigned i);
/* Enclave address of segment i. */
void *encl_seg_addr(const struct encl *e, unsigned i);

/* The vDSO entry point, found in the image at getauxval(AT_SYSINFO_EHDR) through DT_HASH.
 * NULL if absent (a kernel without SGX support and no emulator). */
vdso_sgx_enter_enclave_t encl_vdso(void);
/* Look up any symbol of the vDSO the same way (for testing the lookup). */
void *encl_vdso_sym(const char *name);
/* Call __vdso_sgx_enter_enclave(rdi, rsi, rdx, function, 0, 0, run) through a wrapper that
 * keeps RBX, RBP and R12-R15 intact whatever the enclave or an AEX leaves in them. */
int encl_vdso_call(struct sgx_enclave_run *run, unsigned function, uint64_t rdi, uint64_t rsi,
		   uint64_t rdx);
/* EENTER on TCS i with RDI = arg. run is zeroed first, then run->tcs set. Returns the
 * vDSO's result. */
int encl_enter(const struct encl *e, unsigned tcs, void *arg, struct sgx_enclave_run *run);

/* dir_of(/proc/self/exe) + "/" + rel into buf. Returns buf or NULL. */
char *encl_path_near_exe(const char *rel, char *buf, size_t len);
/* Hex of n bytes into out (2n+1 bytes). */
char *encl_hex(const uint8_t *p, size_t n, char *out);

#endif
