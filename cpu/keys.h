/* The key hierarchy: EREPORT and EGETKEY (SDM Vol. 3D 38.x), from a per-platform root secret.
 * How our keys relate to hardware keys: docs/keys.md. */
#ifndef SGXEMU_CPU_KEYS_H
#define SGXEMU_CPU_KEYS_H

#include <stddef.h>

#include "cpu/cpu.h"

/* ENCLU[EREPORT] and ENCLU[EGETKEY] for a thread in enclave mode. They take their operands
 * from regs (RBX, RCX, RDX) as the SDM says, write status codes into regs->rax and ZF, and
 * return 0, or CPU_FAULT with *f set. They neither allocate nor do I/O (they run in the
 * trap path): OpenSSL contexts come from a pool made by cpu_keys_init. */
long enclu_ereport(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *regs,
		   struct cpu_fault *f);
long enclu_egetkey(struct sgx_cpu *cpu, const struct cpu_lp *lp, struct cpu_regs *regs,
		   struct cpu_fault *f);

/* The SVN checks EGETKEY makes. Hardware makes all of them; turning one off is an experiment
 * (SGXEMU_SVN_CHECKS), never a fidelity setting. */
#define KEYS_CHECK_CPUSVN    0x1U
#define KEYS_CHECK_ISVSVN    0x2U
#define KEYS_CHECK_CONFIGSVN 0x4U
#define KEYS_CHECK_ALL       0x7U

/* What fuses and MSRs hold on hardware. */
struct cpu_key_config {
	uint8_t root[32];            /* the platform root secret: stands for the fused keys */
	uint8_t cpusvn[16];          /* CR_CPUSVN */
	uint8_t owner_epoch[16];     /* CR_SGXOWNEREPOCH (MSRs 0x300/0x301) */
	bool fixed_report_keyid;     /* CR_REPORT_KEYID from the root instead of random per boot */
	unsigned checks;             /* KEYS_CHECK_* */
};

/* Give cpu its key hierarchy (replacing any earlier one). 0, or -1 if OpenSSL fails. */
int cpu_keys_init(struct sgx_cpu *cpu, const struct cpu_key_config *cfg);
void cpu_keys_fini(struct sgx_cpu *cpu);

/* KEYDEPENDENCIES (SDM Vol. 3D, EGETKEY: the key derivation tables; docs/keys.md) in our fixed
 * serialization, version 1: every field is always present, zero where a key leaves it out;
 * integers little-endian. Changing this layout or the KDF changes every key:
 * tests/unit/test_keys.c has known answers. */
struct keydep {
	uint8_t label[16];           /* "SGXEMU-KDF-v1" */
	uint16_t keyname;
	uint16_t keypolicy;
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t cet_attributes;      /* always 0: the emulated CPU has no CET */
	uint8_t cet_attributes_mask;
	uint32_t miscselect;
	uint32_t misc_mask;
	uint8_t owner_epoch[16];
	struct sgx_attributes attributes;
	struct sgx_attributes attribute_mask;
	uint8_t cpusvn[16];
	uint8_t seal_key_fuses[16];
	uint8_t isv_family_id[16];
	uint8_t isv_ext_prod_id[16];
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint8_t keyid[32];
	uint8_t config_id[64];
	uint8_t padding[352];
} __attribute__((packed));
_Static_assert(sizeof(struct keydep) == 660, "keydep serialization v1");

/* key = AES-128-CMAC(KDF key of the platform, *d). Sets d->label. 0 or -1. */
int keys_derive(struct sgx_cpu *cpu, struct keydep *d, uint8_t key[16]);
/* AES-128-CMAC of len bytes with a pooled context (no allocation). 0 or -1. */
int keys_cmac(struct sgx_cpu *cpu, const uint8_t key[16], const void *data, size_t len,
	      uint8_t mac[16]);
/* EINIT's checks of a valid launch token (isa.md §8 step 16) for the enclave of secs, whose
 * measurement is mrenclave and signer mrsigner: SGX_SUCCESS, an SGX status, or CPU_FAULT.
 * The MAC key is what EGETKEY(EINITTOKEN_KEY) gave the launch enclave that made the token. */
long keys_einittoken_check(struct sgx_cpu *cpu, const struct sgx_einittoken *t,
			   const struct sgx_secs *secs, const uint8_t mrenclave[32],
			   const uint8_t mrsigner[32]);

/* HARDCODED_PKCS1_5_PADDING: the 352 bytes in front of the digest in a valid SIGSTRUCT's
 * decrypted signature, which EINIT keeps in the SECS for key derivation. */
extern const uint8_t keys_pkcs1_padding[352];

#endif
