/* Placeholder until vEPC lands (issue 6): the device is not offered. */
#include <errno.h>

#include "driver/vepc.h"

struct sgx_vepc *vepc_create(void)
{
	return NULL;
}

void vepc_release(struct sgx_vepc *v)
{
	(void)v;
}

long vepc_ioctl(struct sgx_vepc *v, unsigned long cmd, unsigned long arg)
{
	(void)v; (void)cmd; (void)arg;
	return -ENOTTY;
}

long vepc_mmap(struct sgx_vepc *v, uint64_t addr, uint64_t len, int prot, int flags, uint64_t pgoff)
{
	(void)v; (void)addr; (void)len; (void)prot; (void)flags; (void)pgoff;
	return -ENODEV;
}

enum sgx_fault_result vepc_fault(uint64_t addr, unsigned access, uint32_t *errcode)
{
	(void)addr; (void)access; (void)errcode;
	return SGX_FAULT_NOT_OURS;
}

int vepc_munmap(uint64_t addr, uint64_t len, long *ret)
{
	(void)addr; (void)len; (void)ret;
	return 0;
}
