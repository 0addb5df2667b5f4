/* The policy (driver/policy.c, docs/policy.md) through the driver's ioctls on a fake mm whose
 * src_vma the test controls: the policy file's syntax and its errors (with line numbers, never
 * half applied), the kernel's noexec-source rule, every administrator rule allowing and
 * denying, and the audit records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <asm/sgx.h>
#include <cmocka.h>

#include "cpu/sigstruct.h"
#include "driver/internal.h"
#include "driver/policy.h"
#include "tests/lib/fake_mm.h"
#include "tests/lib/sgx_fixture.h"

#define EPC_PAGES 128
#define SLOT 0x10000ULL

static uint8_t *epc;
static char dir[] = "/tmp/sgxemu-policy-XXXXXX";
static struct drv_mm mm;               /* fmm_ops with our own src_vma */
static struct drv_src_vma src_kind;    /* what src_vma answers */
static unsigned src_calls;

static int test_src_vma(uint64_t addr, struct drv_src_vma *out)
{
	src_calls++;
	*out = src_kind;
	out->start = addr & ~(SGX_PAGE_SIZE - 1);
	out->end = out->start + 64 * SGX_PAGE_SIZE;
	return 0;
}

static const struct drv_src_vma FILE_RO = { .may_exec = true };
static const struct drv_src_vma ANON_RO = { .may_exec = true, .anonymous = true };
static const struct drv_src_vma NOEXEC_FILE = { .may_exec = false };

static int group_setup(void **state)
{
	struct cpu_features feat;

	(void)state;
	if (fmm_init(16 * SLOT, SLOT) || !fx_key() || !mkdtemp(dir))
		return -1;
	epc = aligned_alloc(SGX_PAGE_SIZE, EPC_PAGES * SGX_PAGE_SIZE);
	if (!epc)
		return -1;
	mm = fmm_ops;
	mm.src_vma = test_src_vma;
	cpu_features_default(&feat, EPC_PAGES * SGX_PAGE_SIZE, true);
	return sgx_platform_init(epc, EPC_PAGES, &feat, &mm);
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	fmm_reset();
	src_kind = FILE_RO;
	return policy_load(NULL, err, sizeof(err));
}

static int teardown(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(sgx_pf.nr_free, EPC_PAGES);
	return policy_load(NULL, err, sizeof(err)) || policy_set_audit(NULL, err, sizeof(err));
}

/* ---- helpers ---- */

static const char *path_of(const char *name)
{
	static char buf[4][256];
	static unsigned n;
	char *p = buf[n++ % 4];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static const char *write_file(const char *name, const char *text)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static int load_text(const char *text, char *err, unsigned len)
{
	return policy_load(write_file("policy", text), err, len);
}

static void load_ok(const char *text)
{
	char err[512] = "";

	if (load_text(text, err, sizeof(err)))
		fail_msg("policy refused: %s", err);
}

/* The audit log's lines that contain all of the given words, counted. */
static unsigned audit_count(const char *path, const char *w1, const char *w2)
{
	char line[2048];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, w1) && (!w2 || strstr(line, w2)))
			n++;
	fclose(f);
	return n;
}

struct encl_t {
	struct sgx_file *f;
	struct fx_layout l;
	struct fx_std s;
};

static struct sgx_file *lookup_provision(int fd)
{
	static struct sgx_file *pf;
	int err;

	(void)fd;
	if (!pf)
		pf = sgx_open(SGX_FILE_PROVISION, &err);
	return pf;
}

static void create(struct encl_t *e, uint64_t attributes)
{
	struct sgx_secs *secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	struct sgx_enclave_create c = { (uintptr_t)secs };
	int err = 0;

	assert_non_null(secs);
	assert_int_equal(fx_std_layout(&e->l, &e->s, fmm_base(), SLOT, 1, 1, 0), 0);
	e->l.attributes = attributes;
	fx_secs(&e->l, secs);
	e->f = sgx_open(SGX_FILE_ENCLAVE, &err);
	assert_non_null(e->f);
	assert_int_equal(sgx_ioctl(e->f, SGX_IOC_ENCLAVE_CREATE, (uintptr_t)&c, NULL), 0);
	free(secs);
}

static long add(struct encl_t *e, const void *src, uint64_t offset, uint64_t flags, bool measure)
{
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = flags };
	struct sgx_enclave_add_pages a = {
		.src = (uintptr_t)src, .offset = offset, .length = SGX_PAGE_SIZE,
		.secinfo = (uintptr_t)&si, .flags = measure ? SGX_PAGE_MEASURE : 0,
	};

	return sgx_ioctl(e->f, SGX_IOC_ENCLAVE_ADD_PAGES, (uintptr_t)&a, NULL);
}

static void add_layout(struct encl_t *e)
{
	for (unsigned i = 0; i < e->l.npages; i++)
		assert_int_equal(add(e, e->l.page[i].data, e->l.page[i].offset, e->l.page[i].secinfo,
				     e->l.page[i].measure), 0);
}

static long init(struct encl_t *e)
{
	struct sgx_sigstruct *sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	struct sgx_enclave_init in = { (uintptr_t)sig };
	long r;

	assert_non_null(sig);
	assert_int_equal(fx_sigstruct(&e->l, sig), 0);
	r = sgx_ioctl(e->f, SGX_IOC_ENCLAVE_INIT, (uintptr_t)&in, NULL);
	free(sig);
	return r;
}

static void done(struct encl_t *e)
{
	sgx_file_put(e->f);
	fx_layout_free(&e->l);
}

/* A whole enclave with these attributes through INIT. */
static long build_init(uint64_t attributes)
{
	struct encl_t e;
	long r;

	create(&e, attributes);
	if (attributes & SGX_ATTR_PROVISIONKEY) {
		struct sgx_enclave_provision p = { 0 };

		assert_int_equal(sgx_ioctl(e.f, SGX_IOC_ENCLAVE_PROVISION, (uintptr_t)&p,
					   lookup_provision), 0);
	}
	add_layout(&e);
	r = init(&e);
	done(&e);
	return r;
}

static const char *hex(const uint8_t *b, char *out)
{
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return out;
}

static void test_key_mrsigner(char out[65])
{
	struct sgx_sigstruct *sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	struct fx_layout l;
	uint8_t h[32];

	assert_non_null(sig);
	fx_layout_init(&l, 0, SLOT);
	assert_int_equal(fx_sigstruct(&l, sig), 0);
	assert_int_equal(sigstruct_mrsigner(sig, h), 0);
	hex(h, out);
	free(sig);
}

/* ---- the file ---- */

static void test_syntax_accepted(void **state)
{
	char signer[65];
	char text[1024];

	(void)state;
	test_key_mrsigner(signer);
	snprintf(text, sizeof(text),
		 "# every directive once\n"
		 "\n"
		 "   deny wx-pages   # trailing comment\n"
		 "deny\texec-from-anonymous\n"
		 "deny exec-from-writable\r\n"
		 "deny debug\n"
		 "deny provisionkey\n"
		 "allow mrsigner %s\n"
		 "allow mrsigner %.63s0\n"
		 "audit %s denied\n",
		 signer, signer, path_of("audit.log"));
	load_ok(text);
	load_ok("");
	load_ok("# only a comment");
	assert_int_equal(policy_load("", NULL, 0), 0);
}

static void test_syntax_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *says;
	} bad[] = {
		{ "deny wx-pages\nfrobnicate\n", 2, "unknown directive 'frobnicate'" },
		{ "deny\n", 1, "deny what?" },
		{ "\n\ndeny everything\n", 3, "unknown rule 'everything'" },
		{ "deny debug provisionkey\n", 1, "deny takes one rule" },
		{ "allow debug\n", 1, "allow takes 'mrsigner HEX'" },
		{ "allow mrsigner\n", 1, "allow mrsigner takes one MRSIGNER" },
		{ "# x\nallow mrsigner 1234\n", 2, "64 hex digits" },
		{ "allow mrsigner zz00000000000000000000000000000000000000000000000000000000000000\n", 1,
		  "64 hex digits" },
		{ "audit\n", 1, "audit takes a file" },
		{ "audit /tmp/x sometimes\n", 1, "'all' or 'denied'" },
		{ "audit /nonexistent-dir/x.log\n", 1, "cannot open audit log /nonexistent-dir/x.log" },
		{ "a b c d e f g h i\n", 1, "too many words" },
	};
	char err[512], want[512];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(load_text(bad[i].text, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "policy %s:%u: ", path_of("policy"), bad[i].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, bad[i].says))
			fail_msg("case %u: got \"%s\", want \"%s...%s\"", i, err, want, bad[i].says);
	}
	/* A line longer than any directive. */
	{
		char *text = malloc(3000);

		assert_non_null(text);
		size_t n;

		strcpy(text, "deny debug\n# ");
		n = strlen(text);
		memset(text + n, 'x', 2000);
		strcpy(text + n + 2000, "\n");
		assert_int_equal(load_text(text, err, sizeof(err)), -1);
		assert_non_null(strstr(err, ":2: line too long"));
		free(text);
	}
	/* Two audit lines would leave one unused: refused. */
	snprintf(want, sizeof(want), "audit %s\naudit %s\n", path_of("a1"), path_of("a2"));
	assert_int_equal(load_text(want, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: audit given twice"));
	/* No file at all. */
	assert_int_equal(policy_load(path_of("missing"), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

/* A bad file changes nothing: the policy in force stays whole. */
static void test_never_half_applied(void **state)
{
	char err[512];
	struct encl_t e;
	uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);

	(void)state;
	assert_non_null(src);
	load_ok("deny debug\n");
	assert_int_equal(load_text("deny wx-pages\ndeny exec-from-anonymous\nbogus\n", err, sizeof(err)), -1);
	create(&e, SGX_ATTR_MODE64BIT);
	src_kind = (struct drv_src_vma){ .may_exec = true, .anonymous = true, .writable = true };
	/* Neither rule of the refused file is in force... */
	assert_int_equal(add(&e, src, e.s.hole, 0x207, false), 0);
	done(&e);
	/* ...and the one before it still is. */
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), -EPERM);
	free(src);
}

/* ---- ADD_PAGES rules ---- */

/* The kernel's own rule, policy or not: no VM_MAYEXEC, no page (any permissions). */
static void test_noexec_source(void **state)
{
	struct encl_t e;
	uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);

	(void)state;
	assert_non_null(src);
	create(&e, SGX_ATTR_MODE64BIT);
	src_kind = NOEXEC_FILE;
	assert_int_equal(add(&e, src, e.s.hole, 0x201, false), -EACCES);
	assert_int_equal(add(&e, src, e.s.hole, 0x205, false), -EACCES);
	src_kind = FILE_RO;
	assert_int_equal(add(&e, src, e.s.hole, 0x205, false), 0);
	done(&e);
	free(src);
}

struct rule_case {
	struct drv_src_vma src;
	uint64_t secinfo;
	bool denied;
};

/* Each case denied (or not) with "deny rule", allowed without; one audit record each. */
static void check_rules(const char *rule, const struct rule_case *c, unsigned n)
{
	uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	char text[512], tag[64], log[256];
	unsigned denied = 0;

	assert_non_null(src);
	snprintf(log, sizeof(log), "%s", path_of(rule));
	unlink(log);
	snprintf(text, sizeof(text), "deny %s\naudit %s\n", rule, log);
	snprintf(tag, sizeof(tag), "decision=denied rule=%s ", rule);
	for (unsigned i = 0; i < n; i++) {
		struct encl_t e;

		load_ok(text);
		create(&e, SGX_ATTR_MODE64BIT);
		src_kind = c[i].src;
		if (add(&e, src, e.s.hole, c[i].secinfo, false) != (c[i].denied ? -EACCES : 0))
			fail_msg("deny %s, case %u: wrong result", rule, i);
		done(&e);
		denied += c[i].denied;
		assert_int_equal(audit_count(log, tag, NULL), denied);
		assert_int_equal(audit_count(log, "op=add_page decision=allowed", NULL), i + 1 - denied);
		load_ok("");
		create(&e, SGX_ATTR_MODE64BIT);
		assert_int_equal(add(&e, src, e.s.hole, c[i].secinfo, false), 0);
		done(&e);
	}
	free(src);
}

static void test_rule_wx_pages(void **state)
{
	static const struct rule_case c[] = {
		{ { .may_exec = true }, 0x207, true },
		{ { .may_exec = true }, 0x205, false },
		{ { .may_exec = true }, 0x203, false },
	};

	(void)state;
	check_rules("wx-pages", c, 3);
}

static void test_rule_exec_from_anonymous(void **state)
{
	static const struct rule_case c[] = {
		{ { .may_exec = true, .anonymous = true }, 0x205, true },
		{ { .may_exec = true, .anonymous = true, .writable = true }, 0x201, false },
		{ { .may_exec = true }, 0x205, false },
	};

	(void)state;
	check_rules("exec-from-anonymous", c, 3);
}

static void test_rule_exec_from_writable(void **state)
{
	static const struct rule_case c[] = {
		{ { .may_exec = true, .writable = true }, 0x205, true },
		{ { .may_exec = true, .anonymous = true, .writable = true }, 0x207, true },
		{ { .may_exec = true, .anonymous = true }, 0x205, false },
		{ { .may_exec = true, .writable = true }, 0x203, false },
	};

	(void)state;
	check_rules("exec-from-writable", c, 4);
}

/* The source is looked up once per run of pages in one mapping, not once per page. */
static void test_source_lookup_cached(void **state)
{
	struct encl_t e;
	uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, 4 * SGX_PAGE_SIZE);
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = 0x201 };
	struct sgx_enclave_add_pages a = {
		.src = (uintptr_t)src, .offset = 0x8000, .length = 4 * SGX_PAGE_SIZE,
		.secinfo = (uintptr_t)&si,
	};

	(void)state;
	assert_non_null(src);
	create(&e, SGX_ATTR_MODE64BIT);
	src_calls = 0;
	assert_int_equal(sgx_ioctl(e.f, SGX_IOC_ENCLAVE_ADD_PAGES, (uintptr_t)&a, NULL), 0);
	assert_int_equal(a.count, 4 * SGX_PAGE_SIZE);
	assert_int_equal(src_calls, 1);
	/* A new call from elsewhere looks again. */
	assert_int_equal(add(&e, src, 0xC000, 0x201, false), 0);
	assert_int_equal(src_calls, 2);
	done(&e);
	free(src);
}

/* ---- INIT rules ---- */

static void test_rule_debug(void **state)
{
	(void)state;
	load_ok("deny debug\n");
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), -EPERM);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT), 0);
	load_ok("");
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), 0);
}

static void test_rule_provisionkey(void **state)
{
	(void)state;
	load_ok("deny provisionkey\n");
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY), -EPERM);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT), 0);
	load_ok("");
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY), 0);
}

static void test_rule_mrsigner(void **state)
{
	char signer[65], text[512];

	(void)state;
	test_key_mrsigner(signer);
	load_ok("allow mrsigner 0000000000000000000000000000000000000000000000000000000000000001\n");
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT), -EPERM);
	snprintf(text, sizeof(text),
		 "allow mrsigner 0000000000000000000000000000000000000000000000000000000000000001\n"
		 "allow mrsigner %s\n", signer);
	load_ok(text);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT), 0);
	/* Upper-case hex is the same value. */
	for (char *c = signer; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	snprintf(text, sizeof(text), "allow mrsigner %s\n", signer);
	load_ok(text);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT), 0);
}

/* ---- audit ---- */

static void test_audit_records(void **state)
{
	char text[512], signer[65], line[2048], want[128], log[256];
	FILE *f;

	(void)state;
	snprintf(log, sizeof(log), "%s", path_of("records.log"));
	unlink(log);
	test_key_mrsigner(signer);
	snprintf(text, sizeof(text), "deny debug\naudit %s\n", log);
	load_ok(text);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), -EPERM);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT), 0);
	f = fopen(log, "r");
	assert_non_null(f);
	/* Every line is one record in the kernel audit log's shape. */
	while (fgets(line, sizeof(line), f)) {
		assert_int_equal(strncmp(line, "type=SGX_POLICY msg=audit(", 26), 0);
		assert_non_null(strstr(line, "): op="));
		assert_non_null(strstr(line, " pid="));
		assert_non_null(strstr(line, " comm=\""));
		assert_int_equal(line[strlen(line) - 1], '\n');
	}
	fclose(f);
	/* Two enclaves of 8 pages each, each page a decision, and two INITs. */
	assert_int_equal(audit_count(log, "op=add_page decision=allowed", NULL), 16);
	snprintf(want, sizeof(want), "mrsigner=%s", signer);
	assert_int_equal(audit_count(log, "op=init decision=denied rule=debug", want), 1);
	assert_int_equal(audit_count(log, "op=init decision=allowed", "attributes=0x4 "), 1);

	/* "denied" keeps the allowed decisions out of the log. */
	unlink(log);
	snprintf(text, sizeof(text), "deny debug\naudit %s denied\n", log);
	load_ok(text);
	assert_int_equal(build_init(SGX_ATTR_MODE64BIT | SGX_ATTR_DEBUG), -EPERM);
	assert_int_equal(audit_count(log, "decision=allowed", NULL), 0);
	assert_int_equal(audit_count(log, "decision=denied", NULL), 1);

	/* SGXEMU_AUDIT without a policy file: the kernel's own decisions. */
	unlink(log);
	load_ok("");
	assert_int_equal(policy_set_audit(log, text, sizeof(text)), 0);
	{
		struct encl_t e;
		uint8_t *src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);

		create(&e, SGX_ATTR_MODE64BIT);
		src_kind = NOEXEC_FILE;
		assert_int_equal(add(&e, src, e.s.hole, 0x201, false), -EACCES);
		src_kind = ANON_RO;
		assert_int_equal(add(&e, src, e.s.hole, 0x205, false), 0);
		done(&e);
		free(src);
	}
	assert_int_equal(audit_count(log, "decision=denied rule=noexec-source", "src_map=noexec-file"), 1);
	assert_int_equal(audit_count(log, "decision=allowed", "src_map=anonymous src_writable=no"), 1);
	assert_int_equal(policy_set_audit("/nonexistent-dir/a.log", text, sizeof(text)), -1);
	assert_non_null(strstr(text, "cannot open audit log"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syntax_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_half_applied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noexec_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_wx_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_exec_from_anonymous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_exec_from_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_lookup_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_provisionkey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_mrsigner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_records, setup, teardown),
	};

	return cmocka_run_group_tests_name("policy", tests, group_setup, group_teardown);
}
