/* Architectural SGX structures and constants, as the SDM defines them.
 * Layouts are facts from the SDM (Vol. 3D ch. 34-38); the definitions are ours. */
#ifndef SGXEMU_CPU_ARCH_H
#define SGXEMU_CPU_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define SGX_PAGE_SIZE 4096UL
#define SGX_PAGE_MASK (~(SGX_PAGE_SIZE - 1))

/* RFLAGS bits the leaves read or define. */
#define RFLAGS_CF (1ULL << 0)
#define RFLAGS_PF (1ULL << 2)
#define RFLAGS_AF (1ULL << 4)
#define RFLAGS_ZF (1ULL << 6)
#define RFLAGS_SF (1ULL << 7)
#define RFLAGS_TF (1ULL << 8)
#define RFLAGS_DF (1ULL << 10)
#define RFLAGS_OF (1ULL << 11)
#define RFLAGS_NT (1ULL << 14)
#define RFLAGS_RF (1ULL << 16)
#define RFLAGS_AC (1ULL << 18)
#define RFLAGS_ID (1ULL << 21)
/* The arithmetic flags a status-returning leaf defines (ZF = error, the others cleared). */
#define RFLAGS_STATUS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* SGX status codes returned in RAX by ENCLS/ENCLU leaves. */
enum sgx_status {
	SGX_SUCCESS = 0,
	SGX_INVALID_SIG_STRUCT = 1,
	SGX_INVALID_ATTRIBUTE = 2,
	SGX_BLKSTATE = 3,
	SGX_INVALID_MEASUREMENT = 4,
	SGX_NOTBLOCKABLE = 5,
	SGX_PG_INVLD = 6,
	SGX_EPC_PAGE_CONFLICT = 7,
	SGX_INVALID_SIGNATURE = 8,
	SGX_MAC_COMPARE_FAIL = 9,
	SGX_PAGE_NOT_BLOCKED = 10,
	SGX_NOT_TRACKED = 11,
	SGX_VA_SLOT_OCCUPIED = 12,
	SGX_CHILD_PRESENT = 13,
	SGX_ENCLAVE_ACT = 14,
	SGX_ENTRYEPOCH_LOCKED = 15,
	SGX_INVALID_EINITTOKEN = 16,
	SGX_PREV_TRK_INCMPL = 17,
	SGX_PG_IS_SECS = 18,
	SGX_PAGE_ATTRIBUTES_MISMATCH = 19,
	SGX_PAGE_NOT_MODIFIABLE = 20,
	SGX_PAGE_NOT_DEBUGGABLE = 21,
	SGX_INVALID_CPUSVN = 32,
	SGX_INVALID_ISVSVN = 64,
	SGX_UNMASKED_EVENT = 128,
	SGX_INVALID_KEYNAME = 256,
};

const char *sgx_status_name(uint64_t code);

enum sgx_encls_leaf {
	ENCLS_ECREATE = 0x0, ENCLS_EADD = 0x1, ENCLS_EINIT = 0x2, ENCLS_EREMOVE = 0x3,
	ENCLS_EDBGRD = 0x4, ENCLS_EDBGWR = 0x5, ENCLS_EEXTEND = 0x6, ENCLS_ELDB = 0x7,
	ENCLS_ELDU = 0x8, ENCLS_EBLOCK = 0x9, ENCLS_EPA = 0xA, ENCLS_EWB = 0xB,
	ENCLS_ETRACK = 0xC, ENCLS_EAUG = 0xD, ENCLS_EMODPR = 0xE, ENCLS_EMODT = 0xF,
};

enum sgx_enclu_leaf {
	ENCLU_EREPORT = 0x0, ENCLU_EGETKEY = 0x1, ENCLU_EENTER = 0x2, ENCLU_ERESUME = 0x3,
	ENCLU_EEXIT = 0x4, ENCLU_EACCEPT = 0x5, ENCLU_EMODPE = 0x6, ENCLU_EACCEPTCOPY = 0x7,
	ENCLU_EDECCSSA = 0x9,
};

const char *sgx_encls_name(unsigned leaf);
const char *sgx_enclu_name(unsigned leaf);

/* Page types (EPCM.PT, SECINFO.FLAGS[15:8]). */
enum sgx_page_type {
	SGX_PT_SECS = 0, SGX_PT_TCS = 1, SGX_PT_REG = 2, SGX_PT_VA = 3, SGX_PT_TRIM = 4,
};

/* SECINFO.FLAGS bits. */
#define SGX_SECINFO_R        0x001ULL
#define SGX_SECINFO_W        0x002ULL
#define SGX_SECINFO_X        0x004ULL
#define SGX_SECINFO_PENDING  0x008ULL
#define SGX_SECINFO_MODIFIED 0x010ULL
#define SGX_SECINFO_PR       0x020ULL
#define SGX_SECINFO_PERM_MASK 0x007ULL
#define SGX_SECINFO_TYPE_SHIFT 8
#define SGX_SECINFO_TYPE_MASK 0xFF00ULL
#define SGX_SECINFO_RESERVED_MASK (~(0x3FULL | SGX_SECINFO_TYPE_MASK))

/* ATTRIBUTES.FLAGS bits. */
#define SGX_ATTR_INIT          0x001ULL
#define SGX_ATTR_DEBUG         0x002ULL
#define SGX_ATTR_MODE64BIT     0x004ULL
#define SGX_ATTR_PROVISIONKEY  0x010ULL
#define SGX_ATTR_EINITTOKENKEY 0x020ULL
#define SGX_ATTR_KSS           0x080ULL
#define SGX_ATTR_AEXNOTIFY     0x400ULL

#define SGX_MISC_EXINFO 0x1U

#define SGX_TCS_FLAGS_DBGOPTIN 0x1ULL
#define SGX_TCS_FLAGS_AEXNOTIFY 0x2ULL  /* on CPUs with AEX-Notify; reserved before */

/* Exception vectors reported in EXITINFO / struct sgx_enclave_run. */
enum x86_vector {
	X86_DE = 0, X86_DB = 1, X86_BP = 3, X86_BR = 5, X86_UD = 6, X86_NM = 7,
	X86_GP = 13, X86_PF = 14, X86_MF = 16, X86_AC = 17, X86_XM = 19,
};

/* Page-fault error code bits. */
#define X86_PF_P   0x1U
#define X86_PF_W   0x2U
#define X86_PF_U   0x4U
#define X86_PF_I   0x10U
#define X86_PF_SGX 0x8000U

struct sgx_attributes {
	uint64_t flags;
	uint64_t xfrm;
};

struct sgx_secs {
	uint64_t size;
	uint64_t base;
	uint32_t ssa_frame_size;
	uint32_t miscselect;
	uint8_t reserved1[24];
	struct sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t reserved4[3834];
};
_Static_assert(sizeof(struct sgx_secs) == 4096, "SECS size");
_Static_assert(offsetof(struct sgx_secs, attributes) == 48, "SECS.ATTRIBUTES");
_Static_assert(offsetof(struct sgx_secs, mrenclave) == 64, "SECS.MRENCLAVE");
_Static_assert(offsetof(struct sgx_secs, mrsigner) == 128, "SECS.MRSIGNER");
_Static_assert(offsetof(struct sgx_secs, config_id) == 192, "SECS.CONFIGID");
_Static_assert(offsetof(struct sgx_secs, isv_prod_id) == 256, "SECS.ISVPRODID");
_Static_assert(offsetof(struct sgx_secs, reserved4) == 262, "SECS reserved tail");

struct sgx_tcs {
	uint64_t state;
	uint64_t flags;
	uint64_t ossa;
	uint32_t cssa;
	uint32_t nssa;
	uint64_t oentry;
	uint64_t aep;
	uint64_t ofsbase;
	uint64_t ogsbase;
	uint32_t fslimit;
	uint32_t gslimit;
	uint8_t reserved[4024];
};
_Static_assert(sizeof(struct sgx_tcs) == 4096, "TCS size");
_Static_assert(offsetof(struct sgx_tcs, oentry) == 32, "TCS.OENTRY");
_Static_assert(offsetof(struct sgx_tcs, ofsbase) == 48, "TCS.OFSBASE");
_Static_assert(offsetof(struct sgx_tcs, reserved) == 72, "TCS reserved");

struct sgx_secinfo {
	uint64_t flags;
	uint8_t reserved[56];
};
_Static_assert(sizeof(struct sgx_secinfo) == 64, "SECINFO size");

/* PAGEINFO as the emulated ENCLS take it: fields are addresses in the caller's space. */
struct sgx_pageinfo {
	uint64_t linaddr;
	uint64_t srcpge;
	uint64_t secinfo; /* or PCMD for EWB/ELDU */
	uint64_t secs;
};
_Static_assert(sizeof(struct sgx_pageinfo) == 32, "PAGEINFO size");

struct sgx_pcmd {
	struct sgx_secinfo secinfo;
	uint64_t enclave_id;
	uint8_t reserved[40];
	uint8_t mac[16];
};
_Static_assert(sizeof(struct sgx_pcmd) == 128, "PCMD size");
_Static_assert(offsetof(struct sgx_pcmd, mac) == 112, "PCMD.MAC");

/* GPRSGX: the last 184 bytes of an SSA frame. */
struct sgx_gprsgx {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rflags;
	uint64_t rip;
	uint64_t ursp;
	uint64_t urbp;
	uint32_t exitinfo;
	uint8_t reserved[3];
	uint8_t aexnotify;  /* bit 0: the enclave's opt-in for this frame (AEX leaves it) */
	uint64_t fsbase;
	uint64_t gsbase;
};
_Static_assert(sizeof(struct sgx_gprsgx) == 184, "GPRSGX size");
_Static_assert(offsetof(struct sgx_gprsgx, rflags) == 128, "GPRSGX.RFLAGS");
_Static_assert(offsetof(struct sgx_gprsgx, ursp) == 144, "GPRSGX.URSP");
_Static_assert(offsetof(struct sgx_gprsgx, exitinfo) == 160, "GPRSGX.EXITINFO");
_Static_assert(offsetof(struct sgx_gprsgx, fsbase) == 168, "GPRSGX.FSBASE");

#define SGX_EXITINFO_VALID (1U << 31)
#define SGX_EXITINFO_TYPE_HW 3U
#define SGX_EXITINFO_TYPE_SW 6U

/* MISC.EXINFO: 16 bytes directly below GPRSGX when MISCSELECT.EXINFO is set. */
struct sgx_exinfo {
	uint64_t maddr;
	uint32_t errcd;
	uint32_t reserved;
};
_Static_assert(sizeof(struct sgx_exinfo) == 16, "EXINFO size");

struct sgx_sigstruct_header {
	uint8_t header1[16];
	uint32_t vendor;
	uint32_t date;
	uint8_t header2[16];
	uint32_t swdefined;
	uint8_t reserved[84];
} __attribute__((packed));
_Static_assert(sizeof(struct sgx_sigstruct_header) == 128, "SIGSTRUCT header");

struct sgx_sigstruct_body {
	uint32_t miscselect;
	uint32_t misc_mask;
	uint8_t reserved1[4];         /* CET_ATTRIBUTES and its mask on CET parts */
	uint8_t isv_family_id[16];    /* KSS */
	struct sgx_attributes attributes;
	struct sgx_attributes attributes_mask;
	uint8_t mrenclave[32];
	uint8_t reserved2[16];
	uint8_t isv_ext_prod_id[16];  /* KSS */
	uint16_t isv_prod_id;
	uint16_t isv_svn;
} __attribute__((packed));
_Static_assert(sizeof(struct sgx_sigstruct_body) == 128, "SIGSTRUCT body");
_Static_assert(offsetof(struct sgx_sigstruct_body, attributes) == 28, "body.ATTRIBUTES");
_Static_assert(offsetof(struct sgx_sigstruct_body, mrenclave) == 60, "body.ENCLAVEHASH");
_Static_assert(offsetof(struct sgx_sigstruct_body, isv_family_id) == 912 - 900, "body.ISVFAMILYID");
_Static_assert(offsetof(struct sgx_sigstruct_body, isv_ext_prod_id) == 1008 - 900, "body.ISVEXTPRODID");

#define SGX_MODULUS_SIZE 384

struct sgx_sigstruct {
	struct sgx_sigstruct_header header;
	uint8_t modulus[SGX_MODULUS_SIZE];
	uint32_t exponent;
	uint8_t signature[SGX_MODULUS_SIZE];
	struct sgx_sigstruct_body body;
	uint8_t reserved4[12];
	uint8_t q1[SGX_MODULUS_SIZE];
	uint8_t q2[SGX_MODULUS_SIZE];
} __attribute__((packed));
_Static_assert(sizeof(struct sgx_sigstruct) == 1808, "SIGSTRUCT size");
_Static_assert(offsetof(struct sgx_sigstruct, modulus) == 128, "SIGSTRUCT.MODULUS");
_Static_assert(offsetof(struct sgx_sigstruct, exponent) == 512, "SIGSTRUCT.EXPONENT");
_Static_assert(offsetof(struct sgx_sigstruct, signature) == 516, "SIGSTRUCT.SIGNATURE");
_Static_assert(offsetof(struct sgx_sigstruct, body) == 900, "SIGSTRUCT.body");
_Static_assert(offsetof(struct sgx_sigstruct, q1) == 1040, "SIGSTRUCT.Q1");
_Static_assert(offsetof(struct sgx_sigstruct, q2) == 1424, "SIGSTRUCT.Q2");

struct sgx_einittoken {
	uint32_t valid;
	uint8_t reserved1[44];
	struct sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t cpusvn_le[16];
	uint16_t isv_prod_id_le;
	uint16_t isv_svn_le;
	uint8_t reserved4[24];
	uint32_t masked_miscselect_le;
	struct sgx_attributes masked_attributes_le;
	uint8_t keyid[32];
	uint8_t mac[16];
};
_Static_assert(sizeof(struct sgx_einittoken) == 304, "EINITTOKEN size");
_Static_assert(offsetof(struct sgx_einittoken, keyid) == 256, "EINITTOKEN.KEYID");

/* KEYREQUEST.KEYNAME */
enum sgx_keyname {
	SGX_KEYNAME_EINITTOKEN = 0,
	SGX_KEYNAME_PROVISION = 1,
	SGX_KEYNAME_PROVISION_SEAL = 2,
	SGX_KEYNAME_REPORT = 3,
	SGX_KEYNAME_SEAL = 4,
};

/* KEYREQUEST.KEYPOLICY bits; all but the first two need KSS. */
#define SGX_KEYPOLICY_MRENCLAVE    0x0001
#define SGX_KEYPOLICY_MRSIGNER     0x0002
#define SGX_KEYPOLICY_NOISVPRODID  0x0004
#define SGX_KEYPOLICY_CONFIGID     0x0008
#define SGX_KEYPOLICY_ISVFAMILYID  0x0010
#define SGX_KEYPOLICY_ISVEXTPRODID 0x0020
#define SGX_KEYPOLICY_KSS_MASK     0x003C
#define SGX_KEYPOLICY_RESERVED     0xFFC0

struct sgx_report_body {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t cet_attributes;
	uint8_t reserved1[11];
	uint8_t isv_ext_prod_id[16];
	struct sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t reserved4[42];
	uint8_t isv_family_id[16];
	uint8_t report_data[64];
};
_Static_assert(sizeof(struct sgx_report_body) == 384, "REPORT body size");
_Static_assert(offsetof(struct sgx_report_body, isv_prod_id) == 256, "REPORT.ISVPRODID");
_Static_assert(offsetof(struct sgx_report_body, isv_family_id) == 304, "REPORT.ISVFAMILYID");

/* What EREPORT writes: the body, then the KEYID and MAC that tell its target how to check it. */
struct sgx_report {
	struct sgx_report_body body;
	uint8_t keyid[32];
	uint8_t mac[16];  /* AES-128-CMAC over body with the target's REPORT key */
};
_Static_assert(sizeof(struct sgx_report) == 432, "REPORT size");
_Static_assert(offsetof(struct sgx_report, mac) == 416, "REPORT.MAC");

struct sgx_targetinfo {
	uint8_t measurement[32];
	struct sgx_attributes attributes;
	uint8_t cet_attributes;
	uint8_t reserved1;
	uint16_t config_svn;
	uint32_t miscselect;
	uint8_t reserved2[8];
	uint8_t config_id[64];
	uint8_t reserved3[384];
};
_Static_assert(sizeof(struct sgx_targetinfo) == 512, "TARGETINFO size");
_Static_assert(offsetof(struct sgx_targetinfo, miscselect) == 52, "TARGETINFO.MISCSELECT");
_Static_assert(offsetof(struct sgx_targetinfo, config_id) == 64, "TARGETINFO.CONFIGID");

struct sgx_keyrequest {
	uint16_t keyname;
	uint16_t keypolicy;
	uint16_t isv_svn;
	uint8_t reserved1[2];   /* CET_ATTRIBUTES_MASK on CET parts */
	uint8_t cpusvn[16];
	struct sgx_attributes attribute_mask;
	uint8_t keyid[32];
	uint32_t misc_mask;
	uint16_t config_svn;
	uint8_t reserved2[434];
};
_Static_assert(sizeof(struct sgx_keyrequest) == 512, "KEYREQUEST size");
_Static_assert(offsetof(struct sgx_keyrequest, keyid) == 40, "KEYREQUEST.KEYID");
_Static_assert(offsetof(struct sgx_keyrequest, config_svn) == 76, "KEYREQUEST.CONFIGSVN");

#endif
