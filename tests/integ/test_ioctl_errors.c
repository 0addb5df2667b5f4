/* The /dev/sgx_enclave ioctls' error paths, with the errnos Linux 6.12 returns (see the
 * kernel's ioctl.c). After every test an enclave built at the start must still work and have
 * its state: failures must not disturb the process or other enclaves. */
#include "tests/integ/integ.h"

#include <fcntl.h>
#include <sys/ioctl.h>

static struct encl A; /* the bystander */
static uint64_t a_counter;

static int group_setup(void **state)
{
	(void)state;
	integ_build(&A, 0);
	a_counter = integ_counter(&A, 0);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	encl_free(&A);
	return 0;
}

/* Runs after each test. */
static int still_healthy(void **state)
{
	struct test_op op = { .op = TOP_ADD, .a = 3, .b = 4 };

	(void)state;
	integ_call(&A, 1, &op);
	assert_int_equal(op.out, 7);
	assert_int_equal(integ_counter(&A, 0), ++a_counter);
	return 0;
}

static void make_secs(const struct encl *e, struct sgx_secs *secs)
{
	memset(secs, 0, sizeof(*secs));
	secs->size = e->size;
	secs->base = e->base;
	secs->ssa_frame_size = e->ssa_frame_size;
	secs->attributes.flags = e->attributes;
	secs->attributes.xfrm = e->xfrm;
}

/* The test image, fd open and ELRANGE reserved, nothing created yet. */
static void opened(struct encl *e)
{
	integ_load(e, 0);
	if (encl_open(e) < 0 || encl_reserve(e) < 0)
		fail_msg("%s", e->err);
}

/* ... and ECREATE done. */
static void created(struct encl *e)
{
	integ_load(e, 0);
	if (encl_create(e) < 0)
		fail_msg("%s", e->err);
}

/* ... and all pages added, SIGSTRUCT ready. */
static void added(struct encl *e, uint64_t attributes)
{
	integ_load(e, 0);
	e->attributes = attributes;
	if (encl_sign(e, integ_key()) < 0 || encl_create(e) < 0 || encl_add_all(e) < 0)
		fail_msg("%s", e->err);
}

static const struct sgx_secinfo *secinfo(uint64_t flags)
{
	static struct sgx_secinfo si __attribute__((aligned(64)));

	memset(&si, 0, sizeof(si));
	si.flags = flags;
	return &si;
}

#define SI_REG_RW ((uint64_t)SGX_PT_REG << 8 | SGX_SECINFO_R | SGX_SECINFO_W)
#define COUNT_IN 0xdead000ULL

static int add_raw(int fd, uint64_t src, uint64_t offset, uint64_t length, const void *si,
		   uint64_t flags, uint64_t *count)
{
	struct sgx_enclave_add_pages add = {
		.src = src, .offset = offset, .length = length,
		.secinfo = (uint64_t)(uintptr_t)si, .flags = flags, .count = COUNT_IN,
	};
	int rc = ioctl(fd, SGX_IOC_ENCLAVE_ADD_PAGES, &add);

	if (count)
		*count = add.count;
	return rc;
}

static void *page_buf(void)
{
	static uint8_t buf[2 * PG] __attribute__((aligned(4096)));

	return buf;
}

/* --- CREATE ----------------------------------------------------------------------------- */

static void create_twice(void **state)
{
	struct encl e;
	struct sgx_secs *secs = calloc(1, sizeof(*secs));
	struct sgx_enclave_create c = { .src = (uintptr_t)secs };

	(void)state;
	created(&e);
	make_secs(&e, secs);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), EINVAL);
	free(secs);
	encl_free(&e);
}

static void create_bad_pointers(void **state)
{
	struct encl e;
	struct sgx_secs *secs = calloc(1, sizeof(*secs));
	struct sgx_enclave_create c;
	uint8_t *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);

	(void)state;
	assert_ptr_not_equal(two, MAP_FAILED);
	assert_int_equal(mprotect(two + PG, PG, PROT_NONE), 0);
	opened(&e);
	make_secs(&e, secs);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, (void *)1), EFAULT);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, NULL), EFAULT);
	c.src = (uintptr_t)integ_unmapped_page();
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), EFAULT);
	c.src = (uintptr_t)(two + PG);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), EFAULT);
	/* A SECS whose last bytes are on the inaccessible page. */
	c.src = (uintptr_t)(two + 8);
	memcpy(two + 8, secs, PG - 8);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), EFAULT);
	/* Nothing was created: a good CREATE still works. */
	c.src = (uintptr_t)secs;
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), 0);
	munmap(two, 2 * PG);
	free(secs);
	encl_free(&e);
}

static void create_bad_size(void **state)
{
	static const uint64_t sizes[] = { 0, 0x30000, 0x10001, 0x1800 };
	struct encl e;
	struct sgx_secs *secs = calloc(1, sizeof(*secs));
	struct sgx_enclave_create c = { .src = (uintptr_t)secs };

	(void)state;
	opened(&e);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		make_secs(&e, secs);
		secs->size = sizes[i];
		assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), EINVAL);
	}
	make_secs(&e, secs);
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), 0);
	free(secs);
	encl_free(&e);
}

/* What only ECREATE itself checks (here: BASEADDR aligned to SIZE) faults: EIO. */
static void create_ecreate_fault(void **state)
{
	struct encl e;
	struct sgx_secs *secs = calloc(1, sizeof(*secs));
	struct sgx_enclave_create c = { .src = (uintptr_t)secs };

	(void)state;
	opened(&e);
	make_secs(&e, secs);
	secs->base += PG;
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), EIO);
	make_secs(&e, secs);
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_CREATE, &c), 0);
	free(secs);
	encl_free(&e);
}

/* --- ADD_PAGES -------------------------------------------------------------------------- */

static void add_or_init_before_create(void **state)
{
	struct encl e;
	struct sgx_enclave_init init;

	(void)state;
	added(&e, SGX_ATTR_MODE64BIT); /* for a valid SIGSTRUCT */
	init.sigstruct = (uintptr_t)&e.sigstruct;
	{
		int fd = open("/dev/sgx_enclave", O_RDWR);
		uint64_t count = 0;

		assert_true(fd >= 0);
		assert_errno(add_raw(fd, (uintptr_t)e.seg[1].src, e.seg[1].offset, PG,
				     secinfo(e.seg[1].secinfo), SGX_PAGE_MEASURE, &count),
			     EINVAL);
		assert_int_equal(count, COUNT_IN);
		assert_errno(ioctl(fd, SGX_IOC_ENCLAVE_INIT, &init), EINVAL);
		close(fd);
	}
	encl_free(&e);
}

static void add_bad_arg_pointer(void **state)
{
	struct encl e;

	(void)state;
	created(&e);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, (void *)1), EFAULT);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, NULL), EFAULT);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, integ_unmapped_page()), EFAULT);
	encl_free(&e);
}

/* Alignment and range checks come before anything is read or added; count is not written. */
static void add_bad_alignment_and_range(void **state)
{
	struct {
		uint64_t src_delta, offset, length;
	} bad[] = {
		{ 8, 0x2000, PG },            /* src not page aligned */
		{ 0, 0x2800, PG },            /* offset not page aligned */
		{ 0, 0x2000, 0 },             /* length 0 */
		{ 0, 0x2000, 0x800 },         /* length not a page multiple */
		{ 0, 0x2000, PG + 1 },
		{ 0, 0x10000, PG },           /* offset == size */
		{ 0, 0xf000, 2 * PG },        /* runs past the end */
		{ 0, 0x100000, PG },
		{ 0, 0xfffffffffffff000ULL, 2 * PG }, /* offset + length overflows */
		{ 0, 0xfffffffffffff000ULL, PG },
	};
	struct encl e;

	(void)state;
	created(&e);
	assert_int_equal(e.size, 0x10000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t count = 0;

		errno = 0;
		if (add_raw(e.fd, (uintptr_t)page_buf() + bad[i].src_delta, bad[i].offset,
			    bad[i].length, secinfo(SI_REG_RW), SGX_PAGE_MEASURE, &count) != -1 ||
		    errno != EINVAL)
			fail_msg("case %zu: want EINVAL, got errno %d", i, errno);
		assert_int_equal(count, COUNT_IN);
	}
	/* The enclave is untouched: the same page adds fine. */
	assert_int_equal(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, secinfo(SI_REG_RW),
				 SGX_PAGE_MEASURE, NULL), 0);
	encl_free(&e);
}

static void add_bad_secinfo_pointer(void **state)
{
	struct encl e;
	uint64_t count = 0;

	(void)state;
	created(&e);
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, integ_unmapped_page(),
			     SGX_PAGE_MEASURE, &count),
		     EFAULT);
	assert_int_equal(count, COUNT_IN);
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, (void *)8, 0, &count),
		     EFAULT);
	encl_free(&e);
}

static void add_bad_secinfo(void **state)
{
	static const uint64_t bad[] = {
		0x001,               /* type SECS */
		0x301,               /* type VA */
		0x401,               /* type TRIM */
		0x501,               /* unknown type */
		0x202,               /* REG, W without R */
		0x206,               /* REG, WX without R */
		0x101,               /* TCS with R */
		0x104,               /* TCS with X */
		0x103,               /* TCS with RW */
		0x209,               /* bit 3 (PENDING) */
		0x211,               /* bit 4 (MODIFIED) */
		0x221,               /* bit 5 (PR) */
		0x281,               /* bit 7 */
		0x10201,             /* bit 16 */
		0x8000000000000201ULL, /* bit 63 */
	};
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct encl e;

	(void)state;
	created(&e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t count = 0;

		errno = 0;
		if (add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, secinfo(bad[i]),
			    SGX_PAGE_MEASURE, &count) != -1 || errno != EINVAL)
			fail_msg("SECINFO flags %#llx: want EINVAL, got errno %d",
				 (unsigned long long)bad[i], errno);
		assert_int_equal(count, COUNT_IN);
	}
	/* Any non-zero reserved byte. */
	memset(&si, 0, sizeof(si));
	si.flags = SI_REG_RW;
	si.reserved[55] = 1;
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, &si, 0, NULL), EINVAL);
	si.reserved[55] = 0;
	si.reserved[0] = 0x80;
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, &si, 0, NULL), EINVAL);
	si.reserved[0] = 0;
	assert_int_equal(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, &si, 0, NULL), 0);
	encl_free(&e);
}

/* The source is read page by page: unreadable source pages are EFAULT with count 0. */
static void add_bad_source(void **state)
{
	struct encl e;
	uint64_t count = 1;
	void *none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_ptr_not_equal(none, MAP_FAILED);
	created(&e);
	assert_errno(add_raw(e.fd, (uintptr_t)integ_unmapped_page(), 0x3000, PG,
			     secinfo(SI_REG_RW), SGX_PAGE_MEASURE, &count),
		     EFAULT);
	assert_int_equal(count, 0);
	count = 1;
	assert_errno(add_raw(e.fd, (uintptr_t)none, 0x3000, PG, secinfo(SI_REG_RW),
			     SGX_PAGE_MEASURE, &count),
		     EFAULT);
	assert_int_equal(count, 0);
	/* Another enclave's memory cannot be a source. */
	count = 1;
	assert_errno(add_raw(e.fd, (uintptr_t)encl_seg_addr(&A, 2), 0x3000, PG, secinfo(SI_REG_RW),
			     SGX_PAGE_MEASURE, &count),
		     EFAULT);
	assert_int_equal(count, 0);
	/* Two pages, the second unreadable: the first is added, count says so. */
	{
		uint8_t *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_ptr_not_equal(two, MAP_FAILED);
		assert_int_equal(mprotect(two + PG, PG, PROT_NONE), 0);
		assert_errno(add_raw(e.fd, (uintptr_t)two, 0x4000, 2 * PG, secinfo(SI_REG_RW),
				     SGX_PAGE_MEASURE, &count),
			     EFAULT);
		assert_int_equal(count, PG);
		assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x4000, PG, secinfo(SI_REG_RW),
				     SGX_PAGE_MEASURE, &count),
			     EBUSY);
		munmap(two, 2 * PG);
	}
	munmap(none, PG);
	encl_free(&e);
}

static void add_page_twice(void **state)
{
	struct encl e;
	uint64_t count = 0;

	(void)state;
	created(&e);
	assert_int_equal(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, secinfo(SI_REG_RW),
				 SGX_PAGE_MEASURE, &count),
			 0);
	assert_int_equal(count, PG);
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, secinfo(SI_REG_RW),
			     SGX_PAGE_MEASURE, &count),
		     EBUSY);
	assert_int_equal(count, 0);
	/* [0x2000, 0x4000) where 0x3000 exists: the first page goes in, then EBUSY. */
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x2000, 2 * PG, secinfo(SI_REG_RW),
			     SGX_PAGE_MEASURE, &count),
		     EBUSY);
	assert_int_equal(count, PG);
	/* TCS pages collide the same way. */
	assert_int_equal(add_raw(e.fd, (uintptr_t)e.seg[0].src, 0, PG, secinfo(0x100),
				 SGX_PAGE_MEASURE, &count),
			 0);
	assert_errno(add_raw(e.fd, (uintptr_t)e.seg[0].src, 0, PG, secinfo(0x100),
			     SGX_PAGE_MEASURE, &count),
		     EBUSY);
	encl_free(&e);
}

/* The input count is ignored; flag bits other than SGX_PAGE_MEASURE are ignored. */
static void add_count_and_flags(void **state)
{
	struct encl e;
	uint64_t count = 0;

	(void)state;
	created(&e);
	assert_int_equal(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, 2 * PG, secinfo(SI_REG_RW),
				 0xfffffffffffffffeULL, &count),
			 0);
	assert_int_equal(count, 2 * PG);
	encl_free(&e);
}

/* The struct is written back at the end: an unwritable argument is EFAULT even though the
 * page was added. */
static void add_arg_not_writable(void **state)
{
	struct encl e;
	struct sgx_enclave_add_pages *add = mmap(NULL, PG, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_ptr_not_equal(add, MAP_FAILED);
	created(&e);
	*add = (struct sgx_enclave_add_pages){
		.src = (uintptr_t)page_buf(), .offset = 0x3000, .length = PG,
		.secinfo = (uintptr_t)secinfo(SI_REG_RW), .flags = SGX_PAGE_MEASURE,
	};
	assert_int_equal(mprotect(add, PG, PROT_READ), 0);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_ADD_PAGES, add), EFAULT);
	assert_errno(add_raw(e.fd, (uintptr_t)page_buf(), 0x3000, PG, secinfo(SI_REG_RW),
			     SGX_PAGE_MEASURE, NULL),
		     EBUSY);
	munmap(add, PG);
	encl_free(&e);
}

/* --- INIT ------------------------------------------------------------------------------- */

/* Once initialised, CREATE, ADD_PAGES and INIT are EINVAL (tried on the bystander itself). */
static void after_init(void **state)
{
	struct sgx_secs *secs = calloc(1, sizeof(*secs));
	struct sgx_enclave_create c = { .src = (uintptr_t)secs };
	struct sgx_enclave_init init = { .sigstruct = (uintptr_t)&A.sigstruct };
	uint64_t count = 0;

	(void)state;
	make_secs(&A, secs);
	assert_errno(ioctl(A.fd, SGX_IOC_ENCLAVE_CREATE, &c), EINVAL);
	assert_errno(add_raw(A.fd, (uintptr_t)page_buf(), A.size - PG, PG, secinfo(SI_REG_RW),
			     SGX_PAGE_MEASURE, &count),
		     EINVAL);
	assert_int_equal(count, COUNT_IN);
	assert_errno(ioctl(A.fd, SGX_IOC_ENCLAVE_INIT, &init), EINVAL);
	free(secs);
}

static void init_bad_pointers(void **state)
{
	struct encl e;
	struct sgx_enclave_init init;
	uint8_t *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);

	(void)state;
	assert_ptr_not_equal(two, MAP_FAILED);
	added(&e, SGX_ATTR_MODE64BIT);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_INIT, (void *)1), EFAULT);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_INIT, NULL), EFAULT);
	init.sigstruct = (uintptr_t)integ_unmapped_page();
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_INIT, &init), EFAULT);
	/* A SIGSTRUCT whose last bytes are on an inaccessible page. */
	assert_int_equal(mprotect(two + PG, PG, PROT_NONE), 0);
	init.sigstruct = (uintptr_t)(two + PG - 1000);
	memcpy((void *)(uintptr_t)init.sigstruct, &e.sigstruct, 1000);
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_INIT, &init), EFAULT);
	assert_int_equal(encl_init(&e), 0);
	munmap(two, 2 * PG);
	encl_free(&e);
}

/* Anything EINIT rejects is EPERM, and INIT may be tried again. */
static void init_bad_sigstruct(void **state)
{
	struct encl e;
	struct sgx_sigstruct good, *bad = malloc(sizeof(*bad));
	struct sgx_enclave_init init = { .sigstruct = (uintptr_t)bad };

	(void)state;
	added(&e, SGX_ATTR_MODE64BIT);
	good = e.sigstruct;
	for (int i = 0; i < 6; i++) {
		*bad = good;
		switch (i) {
		case 0: bad->signature[100] ^= 1; break;
		case 1: bad->header.header1[0] ^= 1; break;
		case 2: bad->header.header2[4] ^= 1; break;
		case 3: bad->exponent = 65537; break;
		case 4: bad->body.mrenclave[31] ^= 1; break;
		case 5: bad->modulus[200] ^= 1; break;
		}
		errno = 0;
		if (ioctl(e.fd, SGX_IOC_ENCLAVE_INIT, &init) != -1 || errno != EPERM)
			fail_msg("case %d: want EPERM, got errno %d", i, errno);
	}
	assert_int_equal(encl_init(&e), 0);
	assert_int_equal(encl_map(&e), 0);
	integ_counter(&e, 0);
	free(bad);
	encl_free(&e);
}

/* The kernel accepts vendor 0 and 0x8086 only, before EINIT sees anything. */
static void init_vendor(void **state)
{
	struct encl e;

	(void)state;
	added(&e, SGX_ATTR_MODE64BIT);
	e.sigstruct.header.vendor = 0x1234;
	assert_int_equal(sign_sigstruct(&e.sigstruct, integ_key()), 0);
	assert_errno(encl_init(&e), EINVAL);
	e.sigstruct.header.vendor = 0x8086;
	assert_int_equal(sign_sigstruct(&e.sigstruct, integ_key()), 0);
	assert_int_equal(encl_init(&e), 0);
	encl_free(&e);
}

/* Reserved ATTRIBUTES / MISCSELECT / XFRM bits set in the SIGSTRUCT under its own mask:
 * EINVAL from the kernel's own checks (the signature is not even looked at). */
static void init_reserved_bits(void **state)
{
	struct encl e;
	struct sgx_sigstruct good;

	(void)state;
	added(&e, SGX_ATTR_MODE64BIT);
	good = e.sigstruct;
	e.sigstruct.body.attributes.flags |= 0x8;
	e.sigstruct.body.attributes_mask.flags |= 0x8;
	assert_errno(encl_init(&e), EINVAL);
	e.sigstruct = good;
	e.sigstruct.body.miscselect |= 0x2;
	e.sigstruct.body.misc_mask |= 0x2;
	assert_errno(encl_init(&e), EINVAL);
	e.sigstruct = good;
	e.sigstruct.body.attributes.xfrm |= 1ULL << 62;
	e.sigstruct.body.attributes_mask.xfrm |= 1ULL << 62;
	assert_errno(encl_init(&e), EINVAL);
	e.sigstruct = good;
	assert_int_equal(encl_init(&e), 0);
	encl_free(&e);
}

/* PROVISIONKEY needs SGX_IOC_ENCLAVE_PROVISION with a /dev/sgx_provision fd first. */
static void provisionkey(void **state)
{
	struct encl e;
	struct sgx_enclave_provision prov;
	int null_fd = open("/dev/null", O_RDWR);
	int pfd = open("/dev/sgx_provision", O_RDONLY);

	(void)state;
	assert_true(null_fd >= 0);
	assert_true(pfd >= 0);
	added(&e, SGX_ATTR_MODE64BIT | SGX_ATTR_PROVISIONKEY);
	assert_errno(encl_init(&e), EACCES);

	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, (void *)1), EFAULT);
	prov.fd = (uint64_t)null_fd;
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), EINVAL);
	prov.fd = (uint64_t)A.fd; /* an enclave fd is not the provision device */
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), EINVAL);
	prov.fd = 4000; /* not open */
	assert_errno(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), EINVAL);
	assert_errno(encl_init(&e), EACCES);

	prov.fd = (uint64_t)pfd;
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), 0);
	assert_int_equal(encl_init(&e), 0);
	assert_int_equal(encl_map(&e), 0);
	integ_counter(&e, 1);
	close(pfd);
	close(null_fd);
	encl_free(&e);
}

/* EINITTOKENKEY can never be allowed. PROVISION works in any state, even before CREATE. */
static void einittokenkey(void **state)
{
	struct encl e;
	struct sgx_enclave_provision prov;
	int pfd = open("/dev/sgx_provision", O_RDONLY);

	(void)state;
	assert_true(pfd >= 0);
	prov.fd = (uint64_t)pfd;
	opened(&e);
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), 0);
	encl_free(&e);
	added(&e, SGX_ATTR_MODE64BIT | SGX_ATTR_EINITTOKENKEY);
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), 0);
	assert_errno(encl_init(&e), EACCES);
	close(pfd);
	encl_free(&e);
}

/* PROVISION before CREATE is forgotten: CREATE starts the allowed attributes over
 * (sgx_encl_create assigns them), so a PROVISIONKEY enclave needs the ioctl after CREATE. */
static void provision_before_create_undone(void **state)
{
	struct encl e;
	struct sgx_enclave_provision prov;
	int pfd = open("/dev/sgx_provision", O_RDONLY);

	(void)state;
	assert_true(pfd >= 0);
	prov.fd = (uint64_t)pfd;
	integ_load(&e, 0);
	e.attributes |= SGX_ATTR_PROVISIONKEY;
	if (encl_sign(&e, integ_key()) < 0 || encl_open(&e) < 0)
		fail_msg("%s", e.err);
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), 0);
	if (encl_create(&e) < 0 || encl_add_all(&e) < 0)
		fail_msg("%s", e.err);
	assert_errno(encl_init(&e), EACCES);
	assert_int_equal(ioctl(e.fd, SGX_IOC_ENCLAVE_PROVISION, &prov), 0);
	assert_int_equal(encl_init(&e), 0);
	close(pfd);
	encl_free(&e);
}

/* --- other commands --------------------------------------------------------------------- */

/* ioctl(2)'s command is an unsigned int: a request with bits above 31 set is the command in
 * its low half, for the driver and for the VFS's own commands alike. */
static void command_upper_bits_ignored(void **state)
{
	const unsigned long high = 0xABCD00000000UL;
	struct sgx_enclave_create c = { .src = 1 }; /* an unreadable SECS: EFAULT, not ENOTTY */
	int fd = open("/dev/sgx_enclave", O_RDWR);

	(void)state;
	assert_true(fd >= 0);
	assert_errno(ioctl(fd, high | SGX_IOC_ENCLAVE_CREATE, &c), EFAULT);
	assert_errno(ioctl(fd, high | SGX_IOC_ENCLAVE_INIT, NULL), EINVAL); /* not created */
	assert_int_equal(ioctl(fd, high | FIOCLEX), 0);
	assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
	assert_int_equal(ioctl(fd, high | FIONCLEX), 0);
	assert_int_equal(fcntl(fd, F_GETFD), 0);
	close(fd);
}

static void unknown_ioctls(void **state)
{
	const unsigned long cmds[] = {
		_IO(SGX_MAGIC, 0x20),
		_IOW(SGX_MAGIC, 0x00, uint32_t), /* CREATE's number with the wrong size */
		_IOWR(SGX_MAGIC, 0x01, struct sgx_enclave_init),
		SGX_IOC_VEPC_REMOVE_ALL,        /* a vEPC command, not an enclave one */
		_IO('x', 0x01),
	};
	int fd = open("/dev/sgx_enclave", O_RDWR);
	int pfd = open("/dev/sgx_provision", O_RDONLY);
	struct sgx_enclave_create c = { 0 };

	(void)state;
	assert_true(fd >= 0);
	assert_true(pfd >= 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		uint64_t arg[8] = { 0 };

		assert_errno(ioctl(fd, cmds[i], arg), ENOTTY);
		assert_errno(ioctl(A.fd, cmds[i], arg), ENOTTY);
	}
	/* The provision device has no ioctls at all. */
	assert_errno(ioctl(pfd, SGX_IOC_ENCLAVE_CREATE, &c), ENOTTY);
	close(pfd);
	close(fd);
}

#define T(f) cmocka_unit_test_teardown(f, still_healthy)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(create_twice),
		T(create_bad_pointers),
		T(create_bad_size),
		T(create_ecreate_fault),
		T(add_or_init_before_create),
		T(add_bad_arg_pointer),
		T(add_bad_alignment_and_range),
		T(add_bad_secinfo_pointer),
		T(add_bad_secinfo),
		T(add_bad_source),
		T(add_page_twice),
		T(add_count_and_flags),
		T(add_arg_not_writable),
		T(after_init),
		T(init_bad_pointers),
		T(init_bad_sigstruct),
		T(init_vendor),
		T(init_reserved_bits),
		T(provisionkey),
		T(einittokenkey),
		T(provision_before_create_undone),
		T(unknown_ioctls),
		T(command_upper_bits_ignored),
	};

	return cmocka_run_group_tests_name("ioctl_errors", tests, group_setup, group_teardown);
}
