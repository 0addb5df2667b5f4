/* The one place configuration is parsed: SGXEMU_* environment variables, which the CLI's flags set. */
#ifndef SGXEMU_UTIL_CONFIG_H
#define SGXEMU_UTIL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct sgxemu_config {
	uint64_t epc_size;      /* SGXEMU_EPC_SIZE: bytes of EPC (suffix K/M/G accepted) */
	bool sgx2;              /* SGXEMU_SGX1=1 turns SGX2/EDMM off */
	bool trace;             /* SGXEMU_TRACE=1 */
	char trace_file[256];   /* SGXEMU_TRACE_FILE: trace destination (default stderr) */
	char platform_key_file[256]; /* SGXEMU_PLATFORM_KEY: file with the platform root secret */
	char policy_file[256];  /* SGXEMU_POLICY */
};

#define SGXEMU_DEFAULT_EPC_SIZE (64ULL << 20)

/* Parse the environment; on a malformed value write a message to err (if non-NULL) and return -1. */
int config_load(struct sgxemu_config *cfg, char *err, unsigned errlen);
/* Parse a size like "64M", "1G", "4096"; returns 0 or -1. */
int config_parse_size(const char *s, uint64_t *out);

#endif
