/* Policy under `sgxemu run` (docs/policy.md): the kernel's rule that an ADD_PAGES source on
 * a noexec mount is refused (real tmpfs mounts, as root), the administrator's rules with real
 * memory (anonymous, file, writable mappings) and the test enclave, the audit log, and a bad
 * policy file refused at start by the preload and by `sgxemu run`, with its line number.
 * Each policy runs in a child that re-executes this program with SGXEMU_POLICY set. */
#include "tests/integ/integ.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cpu/sigstruct.h"

static char tmp[] = "/tmp/sgxemu-itpolicy-XXXXXX";

/* ---- the child side: one operation, the errno as exit status ---- */

/* A page-aligned source page of the given kind with some contents. */
static void *source(const char *kind)
{
	uint8_t *p = NULL;

	if (!strcmp(kind, "anon-rw") || !strcmp(kind, "anon-ro")) {
		p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(p, 0x90, PG);
		if (!strcmp(kind, "anon-ro"))
			mprotect(p, PG, PROT_READ);
	} else if (!strcmp(kind, "file-ro") || !strcmp(kind, "file-rw")) {
		char path[PATH_MAX];
		uint8_t page[PG];
		int fd;

		snprintf(path, sizeof(path), "%s/src-XXXXXX", getenv("POLICY_TEST_DIR"));
		fd = mkstemp(path);
		memset(page, 0x90, PG);
		if (fd < 0 || write(fd, page, PG) != (ssize_t)PG)
			exit(120);
		p = mmap(NULL, PG, !strcmp(kind, "file-ro") ? PROT_READ : PROT_READ | PROT_WRITE,
			 MAP_PRIVATE, fd, 0);
		close(fd);
		unlink(path);
	}
	if (!p || p == MAP_FAILED)
		exit(121);
	return p;
}

/* add KIND SECINFO: ADD_PAGES of one page into a hole of the test enclave. */
static int child_add(const char *kind, const char *secinfo)
{
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = strtoull(secinfo, NULL, 0) };
	struct sgx_enclave_add_pages add = { .length = PG, .secinfo = (uintptr_t)&si };
	struct encl e;

	integ_load(&e, 0);
	if (encl_create(&e) < 0)
		return 122;
	add.src = (uintptr_t)source(kind);
	add.offset = e.size - PG; /* past the image: a hole */
	return ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add) ? errno : 0;
}

/* init ATTRIBUTES: the whole test enclave with these attributes through INIT. */
static int child_init(const char *attributes)
{
	struct encl e;

	integ_load(&e, 0);
	e.attributes = strtoull(attributes, NULL, 0);
	if (encl_sign(&e, integ_key()) < 0 || encl_create(&e) < 0)
		return 123;
	if (e.attributes & SGX_ATTR_PROVISIONKEY) {
		struct sgx_enclave_provision p = { .fd = (uint64_t)open("/dev/sgx_provision", O_RDONLY) };

		if (ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &p))
			return 124;
	}
	if (encl_add_all(&e) < 0)
		return 125;
	return encl_init(&e) < 0 ? errno : 0;
}

static int child_main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[2], "probe"))
		return open("/dev/sgx_enclave", O_RDWR) < 0 ? errno : 0;
	if (argc == 5 && !strcmp(argv[2], "add"))
		return child_add(argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[2], "init"))
		return child_init(argv[3]);
	return 126;
}

/* ---- the parent side ---- */

static const char *path_in_tmp(const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", tmp, name);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Run this program as a child with the policy text (NULL: none) and audit env; returns its
 * exit status; its stderr goes to tmp/stderr. */
static int run_child(const char *policy, const char *audit, const char *op, const char *a1,
		     const char *a2)
{
	char pol[PATH_MAX], err[PATH_MAX];
	int status;
	pid_t pid;

	if (policy)
		write_text(path_in_tmp("policy", pol), policy);
	path_in_tmp("stderr", err);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "test_policy", "--child", (char *)op, (char *)a1, (char *)a2, NULL };
		int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0)
			dup2(fd, 2);
		if (policy)
			setenv("SGXEMU_POLICY", pol, 1);
		else
			unsetenv("SGXEMU_POLICY");
		if (audit)
			setenv("SGXEMU_AUDIT", audit, 1);
		else
			unsetenv("SGXEMU_AUDIT");
		setenv("POLICY_TEST_DIR", tmp, 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static unsigned count_lines(const char *path, const char *w1, const char *w2)
{
	char line[2048];
	unsigned n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, w1) && (!w2 || strstr(line, w2));
	fclose(f);
	return n;
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmp) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* The kernel's rule: a source mapped from a file on a noexec mount is EACCES, the same file
 * on an exec mount is fine. Needs a private mount namespace (root). */
static void noexec_mount_source(void **state)
{
	char noexec_dir[PATH_MAX], exec_dir[PATH_MAX], path[PATH_MAX];
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = 0x201 };
	struct encl e;
	uint8_t page[PG];
	const char *dirs[2] = { path_in_tmp("noexec", noexec_dir), path_in_tmp("exec", exec_dir) };
	long want[2] = { EACCES, 0 };

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || mkdir(noexec_dir, 0700) ||
	    mkdir(exec_dir, 0700) || mount("tmpfs", noexec_dir, "tmpfs", MS_NOEXEC, "size=1m") ||
	    mount("tmpfs", exec_dir, "tmpfs", 0, "size=1m")) {
		fprintf(stderr, "# skipping: cannot mount a noexec tmpfs in a private mount namespace "
			"(%s; needs root)\n", strerror(errno));
		skip();
	}
	memset(page, 0x90, sizeof(page));
	integ_load(&e, 0);
	assert_int_equal(encl_create(&e), 0);
	for (int i = 0; i < 2; i++) {
		for (int shared = 0; shared < 2; shared++) {
			struct sgx_enclave_add_pages add = { .length = PG, .secinfo = (uintptr_t)&si };
			void *src;
			int fd;

			snprintf(path, sizeof(path), "%s/page%d", dirs[i], shared);
			fd = open(path, O_RDWR | O_CREAT, 0600);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, page, PG), PG);
			src = mmap(NULL, PG, PROT_READ, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);
			assert_ptr_not_equal(src, MAP_FAILED);
			add.src = (uintptr_t)src;
			add.offset = e.size - (uint64_t)(2 - shared) * PG;
			if (want[i]) {
				assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add), want[i]);
				assert_int_equal(add.count, 0);
			} else {
				assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add), 0);
				assert_int_equal(add.count, PG);
			}
			/* Still refused once the file is gone (the mapping stays on the mount). */
			if (want[i] && shared) {
				unlink(path);
				assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add), want[i]);
			}
			munmap(src, PG);
			close(fd);
		}
	}
	encl_free(&e);
	umount(noexec_dir);
	umount(exec_dir);
}

/* The kernel's other rule: no mapping beyond what a page was added with (mmap and mprotect
 * give EACCES); holes take anything until INIT. */
static void max_protections(void **state)
{
	struct sgx_secinfo si __attribute__((aligned(64))) = { .flags = 0x201 };
	struct sgx_enclave_add_pages add = { .length = PG, .secinfo = (uintptr_t)&si };
	struct encl e;
	uint8_t *at;

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_create(&e), 0);
	add.src = (uintptr_t)e.seg[1].src;
	add.offset = e.size - PG;
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add), 0);
	at = (uint8_t *)(uintptr_t)(e.base + add.offset);
	assert_mmap_errno(mmap(at, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, e.fd, 0), EACCES);
	assert_mmap_errno(mmap(at, PG, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, e.fd, 0), EACCES);
	assert_ptr_equal(mmap(at, PG, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), at);
	assert_errno(mprotect(at, PG, PROT_READ | PROT_WRITE), EACCES);
	assert_errno(mprotect(at, PG, PROT_EXEC), EACCES);
	assert_int_equal(mprotect(at, PG, PROT_NONE), 0);
	/* The hole below it: any protection before INIT. */
	assert_ptr_equal(mmap(at - PG, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_FIXED,
			      e.fd, 0), at - PG);
	encl_free(&e);
}

/* deny wx-pages: RWX pages refused, RX and RW not. */
static void rule_wx_pages(void **state)
{
	char log[PATH_MAX], pol[PATH_MAX + 64];

	(void)state;
	path_in_tmp("wx.log", log);
	snprintf(pol, sizeof(pol), "deny wx-pages\naudit %s\n", log);
	assert_int_equal(run_child(pol, NULL, "add", "anon-rw", "0x207"), EACCES);
	assert_int_equal(run_child(pol, NULL, "add", "anon-rw", "0x205"), 0);
	assert_int_equal(run_child(pol, NULL, "add", "anon-rw", "0x203"), 0);
	assert_int_equal(run_child(NULL, NULL, "add", "anon-rw", "0x207"), 0);
	assert_int_equal(count_lines(log, "op=add_page decision=denied rule=wx-pages", "secinfo=0x207"), 1);
	assert_int_equal(count_lines(log, "op=add_page decision=allowed", " comm="), 2);
}

/* deny exec-from-anonymous: executable pages only from file mappings. */
static void rule_exec_from_anonymous(void **state)
{
	(void)state;
	assert_int_equal(run_child("deny exec-from-anonymous\n", NULL, "add", "anon-ro", "0x205"), EACCES);
	assert_int_equal(run_child("deny exec-from-anonymous\n", NULL, "add", "anon-rw", "0x205"), EACCES);
	assert_int_equal(run_child("deny exec-from-anonymous\n", NULL, "add", "file-ro", "0x205"), 0);
	assert_int_equal(run_child("deny exec-from-anonymous\n", NULL, "add", "anon-rw", "0x203"), 0);
	assert_int_equal(run_child(NULL, NULL, "add", "anon-ro", "0x205"), 0);
}

/* deny exec-from-writable: executable pages only from read-only mappings. */
static void rule_exec_from_writable(void **state)
{
	(void)state;
	assert_int_equal(run_child("deny exec-from-writable\n", NULL, "add", "anon-rw", "0x205"), EACCES);
	assert_int_equal(run_child("deny exec-from-writable\n", NULL, "add", "file-rw", "0x205"), EACCES);
	assert_int_equal(run_child("deny exec-from-writable\n", NULL, "add", "anon-ro", "0x205"), 0);
	assert_int_equal(run_child("deny exec-from-writable\n", NULL, "add", "file-ro", "0x205"), 0);
	assert_int_equal(run_child("deny exec-from-writable\n", NULL, "add", "file-rw", "0x203"), 0);
	assert_int_equal(run_child(NULL, NULL, "add", "file-rw", "0x205"), 0);
}

static void rule_debug(void **state)
{
	(void)state;
	assert_int_equal(run_child("deny debug\n", NULL, "init", "0x6", NULL), EPERM);
	assert_int_equal(run_child("deny debug\n", NULL, "init", "0x4", NULL), 0);
	assert_int_equal(run_child(NULL, NULL, "init", "0x6", NULL), 0);
}

static void rule_provisionkey(void **state)
{
	(void)state;
	assert_int_equal(run_child("deny provisionkey\n", NULL, "init", "0x14", NULL), EPERM);
	assert_int_equal(run_child("deny provisionkey\n", NULL, "init", "0x4", NULL), 0);
	assert_int_equal(run_child(NULL, NULL, "init", "0x14", NULL), 0);
}

static void rule_mrsigner(void **state)
{
	struct encl e;
	uint8_t h[32];
	char hex[65], pol[256], log[PATH_MAX];

	(void)state;
	integ_load(&e, 0);
	assert_int_equal(encl_sign(&e, integ_key()), 0);
	assert_int_equal(sigstruct_mrsigner(&e.sigstruct, h), 0);
	encl_free(&e);
	encl_hex(h, 32, hex);
	path_in_tmp("signer.log", log);
	assert_int_equal(run_child("allow mrsigner 0101010101010101010101010101010101010101010101010101010101010101\n",
				   log, "init", "0x4", NULL), EPERM);
	snprintf(pol, sizeof(pol), "allow mrsigner %s\n", hex);
	assert_int_equal(run_child(pol, log, "init", "0x4", NULL), 0);
	/* SGXEMU_AUDIT alone: the decisions of both runs, with the signer. */
	assert_int_equal(count_lines(log, "op=init decision=denied rule=mrsigner", hex), 1);
	assert_int_equal(count_lines(log, "op=init decision=allowed", hex), 1);
}

/* A bad file: the preload leaves SGX off (no device) and says where; `sgxemu run` refuses
 * to start the program at all. */
static void bad_policy_refused(void **state)
{
	char err[PATH_MAX], sgxemu[PATH_MAX], line[512], pol[PATH_MAX], cmd[3 * PATH_MAX + 64];
	const char *text = "deny debug\n# fine so far\ndeny everything\n";
	FILE *f;
	int found = 0, status;

	(void)state;
	assert_int_equal(run_child(text, NULL, "probe", "-", NULL), ENOENT);
	assert_int_equal(run_child("deny debug\n", NULL, "probe", "-", NULL), 0);
	assert_int_equal(run_child(text, NULL, "probe", "-", NULL), ENOENT);
	f = fopen(path_in_tmp("stderr", err), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= !strncmp(line, "sgxemu: policy ", 15) && strstr(line, "policy:3: unknown rule") &&
			 strstr(line, "SGX emulation is off");
	fclose(f);
	assert_true(found);

	assert_non_null(encl_path_near_exe("../../sgxemu", sgxemu, sizeof(sgxemu)));
	path_in_tmp("policy", pol);
	snprintf(cmd, sizeof(cmd), "env -u LD_PRELOAD %s run --policy %s -- true 2>%s", sgxemu, pol, err);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	f = fopen(err, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_non_null(strstr(line, "sgxemu: policy "));
	assert_non_null(strstr(line, ":3: unknown rule 'everything'"));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(noexec_mount_source),
		cmocka_unit_test(max_protections),
		cmocka_unit_test(rule_wx_pages),
		cmocka_unit_test(rule_exec_from_anonymous),
		cmocka_unit_test(rule_exec_from_writable),
		cmocka_unit_test(rule_debug),
		cmocka_unit_test(rule_provisionkey),
		cmocka_unit_test(rule_mrsigner),
		cmocka_unit_test(bad_policy_refused),
	};

	if (argc >= 2 && !strcmp(argv[1], "--child"))
		return child_main(argc, argv);
	return cmocka_run_group_tests_name("policy", tests, group_setup, group_teardown);
}
