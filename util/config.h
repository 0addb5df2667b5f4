/* The one place configuration is parsed: SGXEMU_* environment variables, which the CLI's flags set. */
#ifndef SGXEMU_UTIL_CONFIG_H
#define SGXEMU_UTIL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sgxemu_config {
	uint64_t epc_size;      /* SGXEMU_EPC_SIZE: bytes of EPC (suffix K/M/G accepted) */
	bool sgx2;              /* SGXEMU_SGX1=1 turns SGX2/EDMM off */
	bool trace;             /* SGXEMU_TRACE=1, all, or a list of categories (util/trace.h) */
	unsigned trace_mask;    /* the categories (TRACE_*) when trace is set */
	bool trace_summary;     /* SGXEMU_TRACE_SUMMARY=1: counts and times at exit */
	char trace_file[256];   /* SGXEMU_TRACE_FILE: trace destination (default stderr) */
	char platform_key_file[1024]; /* SGXEMU_PLATFORM_KEY: file with the platform root secret
				       * ("" = the default, see config_platform_secret) */
	char policy_file[256];  /* SGXEMU_POLICY */
	char audit_file[256];   /* SGXEMU_AUDIT: audit log of policy decisions (docs/policy.md) */
	/* Platform identity and key registers (docs/keys.md). Hex strings give bytes in memory
	 * order, byte 0 first. */
	bool platform_secret_set;    /* SGXEMU_PLATFORM_SECRET: 64 hex digits fix the root secret */
	uint8_t platform_secret[32];
	uint8_t cpusvn[16];          /* SGXEMU_CPUSVN: 32 hex digits */
	uint8_t owner_epoch[16];     /* SGXEMU_OWNER_EPOCH: 32 hex digits (default 0) */
	unsigned svn_checks;         /* SGXEMU_SVN_CHECKS: CONFIG_SVN_* EGETKEY enforces */
	/* The emulated /dev/sgx_provision node: owner root, this group and mode. */
	unsigned provision_mode;     /* SGXEMU_PROVISION_MODE: octal (default 0660) */
	char provision_group[64];    /* SGXEMU_PROVISION_GROUP: name or number (default sgx_prv) */
	/* SGXEMU_SYSCALL_FILTER: auto (default: on where a loaded object makes system calls
	 * without libc), on, off (docs/syscalls.md). */
	int syscall_filter;
	/* SGXEMU_CPU_VENDOR=host keeps the host's CPUID vendor; the default (intel) reports
	 * GenuineIntel, as every SGX machine does (docs/fidelity.md). */
	bool host_vendor;
};

enum { CONFIG_FILTER_AUTO, CONFIG_FILTER_ON, CONFIG_FILTER_OFF };

#define SGXEMU_DEFAULT_EPC_SIZE (64ULL << 20)
#define SGXEMU_DEFAULT_CPUSVN "0f0f0200ff8000000000000000000000"
#define SGXEMU_DEFAULT_PROVISION_MODE 0660
#define SGXEMU_DEFAULT_PROVISION_GROUP "sgx_prv"

/* SGXEMU_SVN_CHECKS: a comma list of these names, or "all" (the default) or "none". */
#define CONFIG_SVN_CPUSVN    0x1U /* "cpusvn" */
#define CONFIG_SVN_ISVSVN    0x2U /* "isvsvn" */
#define CONFIG_SVN_CONFIGSVN 0x4U /* "configsvn" */
#define CONFIG_SVN_ALL       0x7U

/* Parse the environment; on a malformed value write a message to err (if non-NULL) and return -1. */
int config_load(struct sgxemu_config *cfg, char *err, unsigned errlen);
/* Parse a size like "64M", "1G", "4096"; returns 0 or -1. */
int config_parse_size(const char *s, uint64_t *out);
/* Exactly 2n hex digits into n bytes (memory order); returns 0 or -1. */
int config_parse_hex(const char *s, uint8_t *out, unsigned n);

/* The platform root secret: SGXEMU_PLATFORM_SECRET if set, else the key file, which is
 * created with a fresh random secret (mode 0600) on first use. The file is
 * SGXEMU_PLATFORM_KEY, or $XDG_DATA_HOME/sgxemu/platform.key, or
 * ~/.local/share/sgxemu/platform.key, or, when no home directory is usable,
 * /tmp/sgxemu-UID/platform.key. The file used goes to path ("" for a fixed secret).
 * Returns 0, or -1 with a message in err. Not for signal handlers. */
int config_platform_secret(const struct sgxemu_config *cfg, uint8_t out[32], char *path,
			   unsigned pathlen, char *err, unsigned errlen);

/* The key file config_platform_secret would read, checked without creating it (for the CLI,
 * before the program starts): 0 if it is usable or will be created at first use, else -1
 * with the same message config_platform_secret would give. The file goes to path ("" when
 * there is none to check). */
int config_platform_key_check(const struct sgxemu_config *cfg, char *path, unsigned pathlen,
			      char *err, unsigned errlen);

/* The group of the emulated /dev/sgx_provision: 0 (root) if the name is no group on this
 * host, which is what udev leaves such a node with. */
gid_t config_provision_gid(const struct sgxemu_config *cfg);
/* Whether a process may open the emulated /dev/sgx_provision for want (R_OK|W_OK): the node
 * is root-owned with cfg->provision_mode; euid 0 passes as with CAP_DAC_OVERRIDE; in_group
 * says whether the process's groups hold the node's group. */
bool config_provision_access(const struct sgxemu_config *cfg, uid_t euid, bool in_group, int want);

#endif
