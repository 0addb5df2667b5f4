/* The attestation sample enclave's calls. The host passes a pointer to one struct attest_call
 * in RDI; the enclave copies the request in, works on enclave copies, and writes results back.
 * Everything a call needs travels inside the struct except bulk data (buf/out). */
#ifndef SGXEMU_SAMPLES_ATTEST_ENCL_H
#define SGXEMU_SAMPLES_ATTEST_ENCL_H

#include <stdint.h>

#include "cpu/arch.h"

enum attest_op {
	AOP_TARGETINFO = 1, /* out: ti = this enclave's TARGETINFO (from a report to itself) */
	AOP_REPORT = 2,     /* in: ti, data; out: report = EREPORT(ti, data) */
	AOP_VERIFY = 3,     /* in: report, flags; is it a report to us, from whom we trust? */
	AOP_GETKEY = 4,     /* in: kr; out: sgx = EGETKEY's status, key. A sample only: real
			     * enclaves never hand keys out */
	AOP_SEAL = 5,       /* in: policy, isv_svn, keyid, buf/len; out: a sealed blob at out,
			     * out_len = its size (must be >= sizeof(hdr) + len) */
	AOP_UNSEAL = 6,     /* in: buf/len = a sealed blob; out: the data at out, out_len */
};

/* AOP_VERIFY flags. */
#define ATTEST_SAME_SIGNER 0x1 /* also require the reporter's MRSIGNER to be ours */

enum attest_status {
	ATT_OK = 0,
	ATT_EINVAL = 1,  /* unknown op, bad sizes */
	ATT_EMAC = 2,    /* a report or sealed blob failed its MAC */
	ATT_ESGX = 3,    /* EGETKEY refused: sgx holds its status (e.g. SGX_INVALID_ISVSVN) */
	ATT_ESIGNER = 4, /* a genuine report, but from another signer */
};

struct attest_call {
	uint32_t op;
	uint32_t status;
	uint64_t sgx;
	uint64_t flags;
	uint64_t buf, len;
	uint64_t out, out_len;
	uint16_t policy;          /* AOP_SEAL: KEYPOLICY */
	uint16_t isv_svn;         /* AOP_SEAL: the ISVSVN to seal for (0xFFFF: our own) */
	uint8_t keyid[32];        /* AOP_SEAL: the KEYID (fresh random bytes from the host) */
	uint8_t data[64];         /* AOP_REPORT: REPORTDATA */
	struct sgx_targetinfo ti;
	struct sgx_report report;
	struct sgx_keyrequest kr;
	uint8_t key[16];
};

/* A sealed blob: this header, then the ciphertext. Encrypt-then-MAC with AES-128 (CTR and
 * CMAC) under two keys made from the SEAL key that the header's fields give back. */
struct attest_sealed {
	uint32_t magic;           /* ATTEST_SEAL_MAGIC */
	uint16_t policy;
	uint16_t isv_svn;
	uint8_t cpusvn[16];
	uint8_t keyid[32];
	struct sgx_attributes attribute_mask;
	uint32_t misc_mask;
	uint32_t reserved;
	uint64_t len;
	uint8_t mac[16];          /* over the header up to here and the ciphertext */
};

#define ATTEST_SEAL_MAGIC 0x4C414553U /* "SEAL" */
/* The attributes a sealed blob is bound to (INIT and DEBUG are bound anyway): those that
 * change what the enclave may do. */
#define ATTEST_SEAL_ATTR_MASK (SGX_ATTR_INIT | SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | \
			       SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS)

#endif
