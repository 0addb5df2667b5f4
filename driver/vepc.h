/* /dev/sgx_vepc: raw EPC handed to a VMM (../shared/spec/linux.md §6). */
#ifndef SGXEMU_DRIVER_VEPC_H
#define SGXEMU_DRIVER_VEPC_H

#include "driver/internal.h"

struct sgx_vepc;

/* Called with the driver lock held. */
struct sgx_vepc *vepc_create(void);
void vepc_release(struct sgx_vepc *v);
long vepc_ioctl(struct sgx_vepc *v, unsigned long cmd, unsigned long arg);
long vepc_mmap(struct sgx_vepc *v, uint64_t addr, uint64_t len, int prot, int flags, uint64_t pgoff);
/* A fault in a vEPC mapping: RETRY after allocating the page, SIGBUS, or NOT_OURS. */
enum sgx_fault_result vepc_fault(uint64_t addr, unsigned access, uint32_t *errcode);
/* munmap/mprotect of ranges that hold vEPC mappings: 1 if handled (result in *ret). */
int vepc_munmap(uint64_t addr, uint64_t len, long *ret);

#endif
