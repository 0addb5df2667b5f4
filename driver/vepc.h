/* /dev/sgx_vepc: raw EPC handed to a VMM (the kernel's arch/x86/kernel/cpu/sgx/virt.c). The
 * driver's files call these with the driver lock held. */
#ifndef SGXEMU_DRIVER_VEPC_H
#define SGXEMU_DRIVER_VEPC_H

#include "driver/internal.h"

struct sgx_vepc;

struct sgx_vepc *vepc_create(void);
/* The file's reference is gone; the pages go when the last mapping does too. */
void vepc_release(struct sgx_vepc *v);
long vepc_ioctl(struct sgx_vepc *v, unsigned int cmd, unsigned long arg);
/* Before mapping len bytes: room for the pages (faults must not allocate). 0 or -ENOMEM. */
int vepc_mmap_prepare(struct sgx_vepc *v, uint64_t len);
/* The EPCM of the page mapped at la changed: make the host mapping follow. */
void vepc_epcm_changed(uint64_t la);
/* EPC index behind a vEPC address, allocating the page if alloc (as a fault would);
 * -EFAULT outside vEPC mappings, -ENOMEM when the EPC is exhausted. */
long vepc_epc_of(uint64_t addr, bool alloc);
/* After fork: vEPC mappings are not inherited and the pages stay with the parent. */
void vepc_fork_child(void);
/* Pages held by vEPC instances (including zombie SECS pages). */
uint64_t vepc_nr_pages(void);

#endif
