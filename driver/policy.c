/* Policy decisions for /dev/sgx_enclave (docs/policy.md): the kernel's own rule that an
 * ADD_PAGES source must sit in a mapping that may be executable, then what an administrator's
 * policy file adds, in the spirit of the LSM hooks the kernel has for SGX. Every decision can
 * go to an audit log. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/sigstruct.h"
#include "driver/audit.h"
#include "driver/policy.h"
#include "util/trace.h"

#define POLICY_LINE_MAX 1024

struct policy {
	bool deny_wx, deny_exec_anon, deny_exec_writable, deny_debug, deny_provisionkey;
	uint8_t (*signers)[32]; /* with allow mrsigner lines, only these may be initialised */
	unsigned nr_signers;
	int audit_fd;           /* -1: no audit */
	bool audit_denied_only;
};

static struct policy pol = { .audit_fd = -1 };

/* The source mapping of the previous page: ADD_PAGES asks page by page, and reading the
 * process's mappings for every page would cost more than the copy. Reused only for the
 * next page of the same enclave, from the next source page in the same mapping. */
static struct {
	const struct sgx_encl *e;
	uint64_t next_src;
	struct drv_src_vma vma;
	bool valid;
} last_src;

static void policy_free(struct policy *p)
{
	if (p->audit_fd >= 0)
		close(p->audit_fd);
	free(p->signers);
	*p = (struct policy){ .audit_fd = -1 };
}

static int parse_hex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return -1;
	for (unsigned i = 0; i < 32; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };

		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]))
			return -1;
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	return 0;
}

static const char *const deny_names[] = {
	"wx-pages", "exec-from-anonymous", "exec-from-writable", "debug", "provisionkey",
};

static bool *deny_flag(struct policy *p, const char *name)
{
	bool *flags[] = { &p->deny_wx, &p->deny_exec_anon, &p->deny_exec_writable, &p->deny_debug,
			  &p->deny_provisionkey };

	for (unsigned i = 0; i < sizeof(deny_names) / sizeof(deny_names[0]); i++)
		if (!strcmp(name, deny_names[i]))
			return flags[i];
	return NULL;
}

/* One directive, already split into words. NULL, or what is wrong with it. */
static const char *parse_directive(struct policy *p, char **w, unsigned n, char *msg, size_t len)
{
	if (!strcmp(w[0], "deny")) {
		bool *flag;

		if (n != 2)
			return n < 2 ? "deny what? (wx-pages, exec-from-anonymous, exec-from-writable, "
				       "debug, provisionkey)" : "deny takes one rule";
		flag = deny_flag(p, w[1]);
		if (!flag) {
			snprintf(msg, len, "unknown rule '%s' (want wx-pages, exec-from-anonymous, "
				 "exec-from-writable, debug or provisionkey)", w[1]);
			return msg;
		}
		*flag = true;
		return NULL;
	}
	if (!strcmp(w[0], "allow")) {
		uint8_t (*n2)[32];

		if (n < 2 || strcmp(w[1], "mrsigner"))
			return "allow takes 'mrsigner HEX'";
		if (n != 3)
			return "allow mrsigner takes one MRSIGNER (64 hex digits)";
		n2 = realloc(p->signers, (p->nr_signers + 1) * sizeof(*n2));
		if (!n2)
			return "out of memory";
		p->signers = n2;
		if (parse_hex32(w[2], p->signers[p->nr_signers]))
			return "MRSIGNER must be 64 hex digits";
		p->nr_signers++;
		return NULL;
	}
	if (!strcmp(w[0], "audit")) {
		int fd;

		if (n < 2 || n > 3)
			return "audit takes a file and optionally 'all' or 'denied'";
		if (p->audit_fd >= 0)
			return "audit given twice";
		if (n == 3 && strcmp(w[2], "all") && strcmp(w[2], "denied"))
			return "audit level must be 'all' or 'denied'";
		fd = audit_open(w[1]);
		if (fd < 0) {
			snprintf(msg, len, "cannot open audit log %s: %s", w[1], strerror(-fd));
			return msg;
		}
		p->audit_fd = fd;
		p->audit_denied_only = n == 3 && !strcmp(w[2], "denied");
		return NULL;
	}
	snprintf(msg, len, "unknown directive '%s' (want deny, allow or audit)", w[0]);
	return msg;
}

static int parse_file(struct policy *p, const char *path, char *err, unsigned errlen)
{
	char line[POLICY_LINE_MAX + 2], msg[256];
	unsigned lineno = 0;
	int rc = 0;
	FILE *fp = fopen(path, "re");

	if (!fp) {
		snprintf(err, errlen, "policy %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *w[8], *save = NULL, *tok, *hash;
		unsigned n = 0;
		const char *bad = NULL;
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			bad = "line too long";
		} else {
			hash = strchr(line, '#');
			if (hash)
				*hash = 0;
			for (tok = strtok_r(line, " \t\r\n", &save); tok && n < 8;
			     tok = strtok_r(NULL, " \t\r\n", &save))
				w[n++] = tok;
			if (tok)
				bad = "too many words";
			else if (n)
				bad = parse_directive(p, w, n, msg, sizeof(msg));
		}
		if (bad) {
			snprintf(err, errlen, "policy %s:%u: %s", path, lineno, bad);
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(fp)) {
		snprintf(err, errlen, "policy %s: read error", path);
		rc = -1;
	}
	fclose(fp);
	return rc;
}

int policy_load(const char *path, char *err, unsigned errlen)
{
	struct policy next = { .audit_fd = -1 };

	if (path && *path && parse_file(&next, path, err, errlen)) {
		policy_free(&next);
		return -1;
	}
	drv_lock(&sgx_pf.lock);
	policy_free(&pol);
	pol = next;
	last_src.valid = false;
	drv_unlock(&sgx_pf.lock);
	return 0;
}

int policy_set_audit(const char *path, char *err, unsigned errlen)
{
	int fd = -1;

	if (path && *path) {
		fd = audit_open(path);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open audit log %s: %s", path, strerror(-fd));
			return -1;
		}
	}
	drv_lock(&sgx_pf.lock);
	if (pol.audit_fd >= 0)
		close(pol.audit_fd);
	pol.audit_fd = fd;
	drv_unlock(&sgx_pf.lock);
	return 0;
}

static bool audit_wanted(bool denied)
{
	return pol.audit_fd >= 0 && (denied || !pol.audit_denied_only);
}

static const char *hex32(const uint8_t b[32], char out[65])
{
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return out;
}

int policy_add_page(struct sgx_encl *e, uint64_t src, uint64_t addr, const struct sgx_secinfo *si)
{
	/* Without a way to look (a test's fake mm), the source counts as an ordinary file. */
	struct drv_src_vma vma = { .start = 0, .end = UINT64_MAX, .may_exec = true };
	bool exec = si->flags & SGX_SECINFO_X, write = si->flags & SGX_SECINFO_W;
	const char *rule = NULL;

	if (last_src.valid && last_src.e == e && src == last_src.next_src && src < last_src.vma.end) {
		vma = last_src.vma;
	} else if (sgx_pf.mm->src_vma) {
		int r = sgx_pf.mm->src_vma(src, &vma);

		if (r) {
			last_src.valid = false;
			return r;
		}
	}
	last_src.e = e;
	last_src.next_src = src + SGX_PAGE_SIZE;
	last_src.vma = vma;
	last_src.valid = true;

	if (!vma.may_exec)
		rule = "noexec-source";        /* the kernel's own: no VM_MAYEXEC */
	else if (pol.deny_wx && write && exec)
		rule = "wx-pages";
	else if (pol.deny_exec_anon && exec && vma.anonymous)
		rule = "exec-from-anonymous";
	else if (pol.deny_exec_writable && exec && vma.writable)
		rule = "exec-from-writable";
	if (audit_wanted(rule))
		audit_record(pol.audit_fd,
			     "op=add_page decision=%s%s%s enclave=0x%lx addr=0x%lx secinfo=0x%lx "
			     "src=0x%lx src_map=%s src_writable=%s",
			     rule ? "denied" : "allowed", rule ? " rule=" : "", rule ? rule : "",
			     (unsigned long)e->base, (unsigned long)addr, (unsigned long)si->flags,
			     (unsigned long)src,
			     !vma.may_exec ? "noexec-file" : vma.anonymous ? "anonymous" : "file",
			     vma.writable ? "yes" : "no");
	if (rule) {
		/* noexec-source is the kernel's own rule, the others the administrator's. */
		drv_set_reason(vma.may_exec ? "policy" : "driver", rule);
		TRACEC(TRACE_POLICY, "policy: add_page enclave=0x%lx addr=0x%lx src=0x%lx denied (%s)",
		       (unsigned long)e->base, (unsigned long)addr, (unsigned long)src, rule);
	}
	return rule ? -EACCES : 0;
}

int policy_init_enclave(struct sgx_encl *e, const struct sgx_sigstruct *sig)
{
	uint8_t signer[32];
	char hs[65], hm[65];
	const char *rule = NULL;

	if (sigstruct_mrsigner(sig, signer))
		return -ENOMEM;
	if (pol.deny_debug && (e->attributes & SGX_ATTR_DEBUG))
		rule = "debug";
	else if (pol.deny_provisionkey && (e->attributes & SGX_ATTR_PROVISIONKEY))
		rule = "provisionkey";
	else if (pol.nr_signers) {
		rule = "mrsigner";
		for (unsigned i = 0; i < pol.nr_signers; i++)
			if (!memcmp(pol.signers[i], signer, sizeof(signer)))
				rule = NULL;
	}
	if (audit_wanted(rule))
		audit_record(pol.audit_fd,
			     "op=init decision=%s%s%s enclave=0x%lx mrenclave=%s mrsigner=%s "
			     "attributes=0x%lx isvprodid=%u isvsvn=%u",
			     rule ? "denied" : "allowed", rule ? " rule=" : "", rule ? rule : "",
			     (unsigned long)e->base, hex32(sig->body.mrenclave, hm), hex32(signer, hs),
			     (unsigned long)e->attributes, sig->body.isv_prod_id, sig->body.isv_svn);
	if (rule)
		drv_set_reason("policy", rule);
	TRACEC(TRACE_POLICY, "policy: init enclave=0x%lx %s%s%s", (unsigned long)e->base,
	       rule ? "denied (" : "allowed", rule ? rule : "", rule ? ")" : "");
	return rule ? -EPERM : 0;
}
