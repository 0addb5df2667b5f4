#include "util/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int config_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static bool env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

static void env_str(const char *name, char *dst, unsigned len)
{
	const char *v = getenv(name);

	dst[0] = 0;
	if (v)
		snprintf(dst, len, "%s", v);
}

int config_load(struct sgxemu_config *cfg, char *err, unsigned errlen)
{
	const char *v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->epc_size = SGXEMU_DEFAULT_EPC_SIZE;
	cfg->sgx2 = !env_flag("SGXEMU_SGX1");
	cfg->trace = env_flag("SGXEMU_TRACE");
	env_str("SGXEMU_TRACE_FILE", cfg->trace_file, sizeof(cfg->trace_file));
	env_str("SGXEMU_PLATFORM_KEY", cfg->platform_key_file, sizeof(cfg->platform_key_file));
	env_str("SGXEMU_POLICY", cfg->policy_file, sizeof(cfg->policy_file));
	if (cfg->trace_file[0])
		cfg->trace = true;

	v = getenv("SGXEMU_EPC_SIZE");
	if (v && *v) {
		uint64_t sz;

		if (config_parse_size(v, &sz) || sz < (1ULL << 20) || (sz & 0xFFF) ||
		    sz > (64ULL << 30)) {
			if (err)
				snprintf(err, errlen,
					 "SGXEMU_EPC_SIZE=%s: want a multiple of 4 KiB between 1M and 64G", v);
			return -1;
		}
		cfg->epc_size = sz;
	}
	return 0;
}
