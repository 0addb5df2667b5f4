#include "util/config.h"
#include "util/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_hex(const char *s, uint8_t *out, unsigned n)
{
	if (!s || strlen(s) != 2 * (size_t)n)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_svn_checks(const char *s, unsigned *out)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "cpusvn", CONFIG_SVN_CPUSVN }, { "isvsvn", CONFIG_SVN_ISVSVN },
		{ "configsvn", CONFIG_SVN_CONFIGSVN }, { "all", CONFIG_SVN_ALL }, { "none", 0 },
	};
	unsigned v = 0;

	while (*s) {
		size_t len = strcspn(s, ","), k;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strlen(names[k].name) == len && !strncmp(s, names[k].name, len))
				break;
		if (k == sizeof(names) / sizeof(names[0]))
			return -1;
		v |= names[k].bit;
		s += len;
		if (*s == ',')
			s++;
	}
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

static int __attribute__((format(printf, 3, 4)))
config_error(char *err, unsigned errlen, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int config_load(struct sgxemu_config *cfg, char *err, unsigned errlen)
{
	const char *v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->epc_size = SGXEMU_DEFAULT_EPC_SIZE;
	cfg->sgx2 = !env_flag("SGXEMU_SGX1");
	cfg->trace = env_flag("SGXEMU_TRACE");
	cfg->trace_summary = env_flag("SGXEMU_TRACE_SUMMARY");
	env_str("SGXEMU_TRACE_FILE", cfg->trace_file, sizeof(cfg->trace_file));
	env_str("SGXEMU_POLICY", cfg->policy_file, sizeof(cfg->policy_file));
	env_str("SGXEMU_AUDIT", cfg->audit_file, sizeof(cfg->audit_file));
	/* A trace file alone means "trace everything there", unless it is for the summary. */
	if (cfg->trace_file[0] && !cfg->trace_summary && !getenv("SGXEMU_TRACE"))
		cfg->trace = true;
	if (trace_parse(cfg->trace ? getenv("SGXEMU_TRACE") : NULL, &cfg->trace_mask))
		return config_error(err, errlen, "SGXEMU_TRACE=%s: want all, or a comma list of "
				    "ioctl, enclu, encls, aex, paging, policy, mm, misc",
				    getenv("SGXEMU_TRACE"));

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

	config_parse_hex(SGXEMU_DEFAULT_CPUSVN, cfg->cpusvn, sizeof(cfg->cpusvn));
	cfg->svn_checks = CONFIG_SVN_ALL;
	cfg->provision_mode = SGXEMU_DEFAULT_PROVISION_MODE;
	snprintf(cfg->provision_group, sizeof(cfg->provision_group), "%s",
		 SGXEMU_DEFAULT_PROVISION_GROUP);

	v = getenv("SGXEMU_PLATFORM_KEY");
	if (v && *v) {
		if (strlen(v) >= sizeof(cfg->platform_key_file))
			return config_error(err, errlen, "SGXEMU_PLATFORM_KEY: path too long");
		strcpy(cfg->platform_key_file, v);
	}
	v = getenv("SGXEMU_PLATFORM_SECRET");
	if (v && *v) {
		if (config_parse_hex(v, cfg->platform_secret, sizeof(cfg->platform_secret)))
			return config_error(err, errlen, "SGXEMU_PLATFORM_SECRET: want 64 hex digits");
		if (cfg->platform_key_file[0])
			return config_error(err, errlen, "set SGXEMU_PLATFORM_SECRET or "
					    "SGXEMU_PLATFORM_KEY, not both");
		cfg->platform_secret_set = true;
	}
	v = getenv("SGXEMU_CPUSVN");
	if (v && *v && config_parse_hex(v, cfg->cpusvn, sizeof(cfg->cpusvn)))
		return config_error(err, errlen, "SGXEMU_CPUSVN=%s: want 32 hex digits", v);
	v = getenv("SGXEMU_OWNER_EPOCH");
	if (v && *v && config_parse_hex(v, cfg->owner_epoch, sizeof(cfg->owner_epoch)))
		return config_error(err, errlen, "SGXEMU_OWNER_EPOCH=%s: want 32 hex digits", v);
	v = getenv("SGXEMU_SVN_CHECKS");
	if (v && *v && parse_svn_checks(v, &cfg->svn_checks))
		return config_error(err, errlen, "SGXEMU_SVN_CHECKS=%s: want all, none or a comma "
				    "list of cpusvn, isvsvn, configsvn", v);
	v = getenv("SGXEMU_PROVISION_MODE");
	if (v && *v) {
		char *end;
		unsigned long m = strtoul(v, &end, 8);

		if (*end || *v == '-' || m > 0777)
			return config_error(err, errlen, "SGXEMU_PROVISION_MODE=%s: want octal "
					    "permission bits like 0660", v);
		cfg->provision_mode = (unsigned)m;
	}
	v = getenv("SGXEMU_PROVISION_GROUP");
	if (v && *v) {
		if (strlen(v) >= sizeof(cfg->provision_group))
			return config_error(err, errlen, "SGXEMU_PROVISION_GROUP: name too long");
		strcpy(cfg->provision_group, v);
	}
	v = getenv("SGXEMU_CPU_VENDOR");
	if (v && *v) {
		if (!strcmp(v, "host"))
			cfg->host_vendor = true;
		else if (strcmp(v, "intel"))
			return config_error(err, errlen, "SGXEMU_CPU_VENDOR=%s: want intel or host", v);
	}
	v = getenv("SGXEMU_SYSCALL_FILTER");
	if (v && *v) {
		if (!strcmp(v, "auto"))
			cfg->syscall_filter = CONFIG_FILTER_AUTO;
		else if (!strcmp(v, "on") || !strcmp(v, "1"))
			cfg->syscall_filter = CONFIG_FILTER_ON;
		else if (!strcmp(v, "off") || !strcmp(v, "0"))
			cfg->syscall_filter = CONFIG_FILTER_OFF;
		else
			return config_error(err, errlen, "SGXEMU_SYSCALL_FILTER=%s: want auto, on or off",
					    v);
	}
	return 0;
}

/* ---- the platform key file ---- */

#define KEY_HEX_LEN 64

/* The key file could not be made where we tried: the caller may try elsewhere. */
#define KEY_UNUSABLE 1

static int __attribute__((format(printf, 5, 6)))
key_error(char *err, unsigned errlen, int rc, const char *path, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err)
		snprintf(err, errlen, "platform key %s: %s", path, what);
	return rc;
}

static int key_read(int fd, const char *path, uint8_t out[32], char *err, unsigned errlen)
{
	char buf[KEY_HEX_LEN + 64];
	struct stat st;
	ssize_t n;
	size_t len;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return key_error(err, errlen, -1, path, "not a regular file");
	/* Whoever can read it can derive every sealing key of this platform. */
	if (st.st_mode & 077)
		return key_error(err, errlen, -1, path,
				 "readable or writable by others (mode %03o); chmod 600 it",
				 (unsigned)(st.st_mode & 0777));
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return key_error(err, errlen, -1, path, "%s", strerror(errno));
	buf[n] = 0;
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	if (config_parse_hex(buf, out, 32))
		return key_error(err, errlen, -1, path, "want 64 hex digits");
	return 0;
}

static bool unusable_errno(int e)
{
	return e == EACCES || e == EPERM || e == EROFS || e == ENOENT || e == ENOTDIR ||
	       e == ENOSPC || e == EDQUOT;
}

/* mkdir -p of the directory part of path, new directories 0700. */
static int make_parents(const char *path)
{
	char p[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(p))
		return -1;
	memcpy(p, path, len + 1);
	for (char *s = p + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0700) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

/* Read path, or create it holding a fresh random secret. Returns 0, -1, or KEY_UNUSABLE when
 * it does not exist and cannot be created there. */
static int key_file(const char *path, bool parents, uint8_t out[32], char *err, unsigned errlen)
{
	char tmp[PATH_MAX], hex[KEY_HEX_LEN + 2];
	uint8_t fresh[32];
	int fd, rc, tries;

	for (tries = 0; tries < 2; tries++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			rc = key_read(fd, path, out, err, errlen);
			close(fd);
			return rc;
		}
		if (errno != ENOENT)
			return key_error(err, errlen, unusable_errno(errno) ? KEY_UNUSABLE : -1, path,
					 "%s", strerror(errno));
		/* First use on this platform: write a whole file aside, then link it into place,
		 * so a concurrent first user either wins or reads ours, never half a key. */
		if (parents && make_parents(path))
			return key_error(err, errlen, KEY_UNUSABLE, path,
					 "cannot create its directory: %s", strerror(errno));
		if (getrandom(fresh, sizeof(fresh), 0) != sizeof(fresh))
			return key_error(err, errlen, -1, path, "no random bytes: %s",
					 strerror(errno));
		for (unsigned i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", fresh[i]);
		hex[KEY_HEX_LEN] = '\n';
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
			return key_error(err, errlen, -1, path, "path too long");
		fd = mkstemp(tmp);
		if (fd < 0)
			return key_error(err, errlen, unusable_errno(errno) ? KEY_UNUSABLE : -1, path,
					 "cannot create: %s", strerror(errno));
		rc = fchmod(fd, 0600) == 0 && write(fd, hex, KEY_HEX_LEN + 1) == KEY_HEX_LEN + 1 &&
		     fsync(fd) == 0 ? 0 : -1;
		if (close(fd))
			rc = -1;
		if (rc == 0 && link(tmp, path) == 0) {
			unlink(tmp);
			memcpy(out, fresh, 32);
			return 0;
		}
		rc = errno;
		unlink(tmp);
		if (rc != EEXIST)
			return key_error(err, errlen, -1, path, "cannot create: %s", strerror(rc));
		/* Another process created it first: use theirs. */
	}
	return key_error(err, errlen, -1, path, "cannot read it back");
}

/* /tmp/sgxemu-UID, made private to us; anything else by that name is refused. */
static int tmp_dir(char *dir, size_t len, char *err, unsigned errlen)
{
	struct stat st;

	snprintf(dir, len, "/tmp/sgxemu-%u", (unsigned)geteuid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		return key_error(err, errlen, -1, dir, "cannot create the directory: %s",
				 strerror(errno));
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return key_error(err, errlen, -1, dir, "directory is not private to this user");
	return 0;
}

int config_platform_secret(const struct sgxemu_config *cfg, uint8_t out[32], char *path,
			   unsigned pathlen, char *err, unsigned errlen)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char p[PATH_MAX], dir[64];
	int rc;

	path[0] = 0;
	if (cfg->platform_secret_set) {
		memcpy(out, cfg->platform_secret, 32);
		return 0;
	}
	if (cfg->platform_key_file[0]) {
		snprintf(path, pathlen, "%s", cfg->platform_key_file);
		/* Named explicitly: never fall back to another platform. */
		return key_file(cfg->platform_key_file, false, out, err, errlen) ? -1 : 0;
	}
	p[0] = 0;
	if (xdg && xdg[0] == '/')
		snprintf(p, sizeof(p), "%s/sgxemu/platform.key", xdg);
	else if (home && home[0] == '/')
		snprintf(p, sizeof(p), "%s/.local/share/sgxemu/platform.key", home);
	if (p[0]) {
		rc = key_file(p, true, out, err, errlen);
		if (rc != KEY_UNUSABLE) {
			snprintf(path, pathlen, "%s", p);
			return rc ? -1 : 0;
		}
	}
	if (tmp_dir(dir, sizeof(dir), err, errlen))
		return -1;
	snprintf(p, sizeof(p), "%s/platform.key", dir);
	snprintf(path, pathlen, "%s", p);
	return key_file(p, false, out, err, errlen) ? -1 : 0;
}

int config_platform_key_check(const struct sgxemu_config *cfg, char *path, unsigned pathlen,
			      char *err, unsigned errlen)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	bool named = cfg->platform_key_file[0] != 0;
	char p[PATH_MAX], dir[PATH_MAX], *slash;
	uint8_t secret[32];
	int fd, rc;

	path[0] = 0;
	if (cfg->platform_secret_set)
		return 0;
	p[0] = 0;
	if (named)
		snprintf(p, sizeof(p), "%s", cfg->platform_key_file);
	else if (xdg && xdg[0] == '/')
		snprintf(p, sizeof(p), "%s/sgxemu/platform.key", xdg);
	else if (home && home[0] == '/')
		snprintf(p, sizeof(p), "%s/.local/share/sgxemu/platform.key", home);
	if (!p[0])
		return 0; /* the private directory in /tmp: made and checked at first use */
	snprintf(path, pathlen, "%s", p);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		rc = key_read(fd, p, secret, err, errlen);
		explicit_bzero(secret, sizeof(secret));
		close(fd);
		return rc ? -1 : 0;
	}
	if (errno != ENOENT)
		return !named && unusable_errno(errno) ? 0 :
		       key_error(err, errlen, -1, p, "%s", strerror(errno));
	if (!named)
		return 0; /* created, with its directories, at first use */
	/* A named file is created at first use, but not its directory. */
	snprintf(dir, sizeof(dir), "%s", p);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	if (access(dir, W_OK | X_OK))
		return key_error(err, errlen, -1, p, "cannot be created there: %s", strerror(errno));
	return 0;
}

/* ---- the emulated /dev/sgx_provision node ---- */

gid_t config_provision_gid(const struct sgxemu_config *cfg)
{
	const char *g = cfg->provision_group;
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	v = strtoul(g, &end, 10);
	if (*g >= '0' && *g <= '9' && !*end)
		return (gid_t)v;
	if (getgrnam_r(g, &gr, buf, sizeof(buf), &res) || !res)
		return 0;
	return res->gr_gid;
}

bool config_provision_access(const struct sgxemu_config *cfg, uid_t euid, bool in_group, int want)
{
	unsigned need = ((want & R_OK) ? 4U : 0) | ((want & W_OK) ? 2U : 0);
	unsigned bits;

	if (euid == 0)
		return true;
	/* Owner root, so a non-root caller gets the group or the other bits, as in the VFS. */
	bits = in_group ? (cfg->provision_mode >> 3) & 7 : cfg->provision_mode & 7;
	return (bits & need) == need;
}
