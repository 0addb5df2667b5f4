/* Code that looks up the vDSO from a library constructor that runs before sgxemu's own (the
 * Intel SDK's urts does) finds our image, with __vdso_sgx_enter_enclave in it: on the stack
 * already (the preload maps it while ld.so relocates it, host/vdso_early.c), and through
 * getauxval. The image is the one the program uses later, and the constructor's settings
 * (the direct EENTER) reached it. See tests/integ/early/. */
#include "tests/integ/integ.h"

#include <elf.h>
#include <sys/auxv.h>

#include "host/vdso/vdso_data.h"
#include "tests/integ/early/vdso_early_lib.h"

static unsigned long kernel_sysinfo(void)
{
	Elf64_auxv_t v[128];
	FILE *f = fopen("/proc/self/auxv", "rb");
	size_t n;

	assert_non_null(f);
	n = fread(v, sizeof(v[0]), 128, f);
	fclose(f);
	for (size_t i = 0; i < n && v[i].a_type != AT_NULL; i++)
		if (v[i].a_type == AT_SYSINFO_EHDR)
			return v[i].a_un.a_val;
	return 0;
}

static void constructor_ran_first(void **state)
{
	(void)state;
	assert_int_equal(vdso_early_record.ran, 1);
	/* Otherwise this test proves nothing. */
	assert_int_equal(vdso_early_record.emulator_ready, 0);
}

static void early_lookup_finds_our_image(void **state)
{
	(void)state;
	const struct vdso_early_record *r = &vdso_early_record;
	unsigned long ours = getauxval(AT_SYSINFO_EHDR);

	assert_int_not_equal(ours, 0);
	assert_int_not_equal(ours, kernel_sysinfo());
	/* One image, mapped once, whoever asked first. */
	assert_int_equal(r->getauxval, ours);
	assert_non_null(r->enter);
	assert_ptr_equal(r->enter, (void *)encl_vdso());
	assert_int_equal(r->stack_then, ours);
#if defined(__SANITIZE_ADDRESS__)
	/* No early hook under ASan (host/vdso_early.c): the getauxval call mapped it. */
	assert_int_equal(r->stack_first, kernel_sysinfo());
#else
	/* Before any constructor: even a stack walk that calls nothing finds it. */
	assert_int_equal(r->stack_first, ours);
#endif
}

/* The constructor, which ran after the image was mapped, still set the direct EENTER in it
 * (unless told not to), and entering an enclave through the early-found pointer works. */
static void enclave_entered_through_it(void **state)
{
	(void)state;
	const uint64_t *data = (const uint64_t *)(getauxval(AT_SYSINFO_EHDR) - VDSO_DATA_SIZE);
	struct encl e;
	struct test_op op = { .op = TOP_ADD, .a = 40, .b = 2 };

	if (getenv("SGXEMU_NO_DIRECT_EENTER"))
		assert_int_equal(data[VDSO_DATA_DIRECT / 8], 0);
	else
		assert_int_not_equal(data[VDSO_DATA_DIRECT / 8], 0);
	integ_build(&e, 2 * PG);
	integ_call(&e, 0, &op);
	assert_int_equal(op.out, 42);
	encl_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(constructor_ran_first),
		cmocka_unit_test(early_lookup_finds_our_image),
		cmocka_unit_test(enclave_entered_through_it),
	};
	return cmocka_run_group_tests_name("vdso_early", tests, NULL, NULL);
}
