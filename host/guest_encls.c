/* The embedding interface of include/sgxemu.h for VMMs: guest ENCLS, the guest's view of
 * SGX (CPUID leaf 0x12, PROVISIONKEY, LE hash) and EPC use. Decodes and calls the driver. */
#include <errno.h>

#include "driver/virt.h"
#include "host/fd.h"
#include "host/host.h"
#include "sgxemu.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT long sgxemu_encls(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx,
			 struct sgxemu_fault *fault)
{
	struct cpu_fault f = { 0 };
	long r;

	if (!host_active || mem_platform_up())
		return SGXEMU_ENCLS_UNAVAILABLE;
	r = sgx_virt_encls(leaf, rbx, rcx, rdx, &f);
	if (r != CPU_FAULT)
		return r;
	if (fault) {
		fault->vector = f.vector;
		fault->error_code = f.errcode;
		fault->address = f.addr;
	}
	return SGXEMU_ENCLS_FAULT;
}

EXPORT int sgxemu_guest_set_cpuid(const struct sgxemu_guest_cpuid *c)
{
	if (!host_active || mem_platform_up())
		return -ENODEV;
	return sgx_virt_set_cpuid(c->miscselect, c->attributes, c->xfrm, c->max_enclave_size_64);
}

EXPORT int sgxemu_guest_allow_attribute(int provision_fd)
{
	struct sgx_file *f = host_active ? fd_get(provision_fd, NULL) : NULL;
	bool provision = f && sgx_file_kind(f) == SGX_FILE_PROVISION;

	if (f)
		sgx_file_put(f);
	if (!provision)
		return -EINVAL;
	sgx_virt_allow_provisionkey(true);
	return 0;
}

EXPORT void sgxemu_guest_set_lepubkeyhash(const uint8_t hash[32])
{
	if (host_active)
		sgx_virt_set_lepubkeyhash(hash);
}

EXPORT int sgxemu_epc_info(struct sgxemu_epc_info *info)
{
	if (!host_active || mem_platform_up())
		return -ENODEV;
	sgx_epc_usage(&info->total_pages, &info->free_pages, &info->vepc_pages);
	return 0;
}
