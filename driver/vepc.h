/* /dev/sgx_vepc: raw EPC handed to a VMM (../shared/spec/linux.md §6). The driver's files
 * call these with the driver lock held. */
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
/* Record a mapping of v at [start, end) from page index pgoff (the host mapping is made by
 * the caller). 0 or -ENOMEM. */
int vepc_vma_insert(uint64_t start, uint64_t end, uint64_t pgoff, int prot, struct sgx_vepc *v);
/* Forget the vEPC mappings in [start, end) (the host mapping was replaced or removed). */
void vepc_cut(uint64_t start, uint64_t end);
/* A fault in a vEPC mapping: RETRY after allocating (or re-mapping) the page, SIGBUS when
 * the EPC has no page left, SIGSEGV for an access the mapping or the EPCM denies, NOT_OURS
 * outside vEPC mappings. */
enum sgx_fault_result vepc_fault(uint64_t addr, unsigned access, uint32_t *errcode);
/* mprotect of ranges that hold vEPC mappings: 1 if handled (result in *ret). */
int vepc_mprotect(uint64_t addr, uint64_t len, int prot, long *ret);
/* The page index of the vEPC mapping at addr (0 if none). */
uint64_t vepc_vma_pgoff(uint64_t addr);
/* mremap's move of [old, old+len) inside one vEPC mapping to new_addr: the new address or
 * -errno. The pages follow (they are found by file offset). */
long vepc_move(uint64_t old, uint64_t len, uint64_t new_addr);
bool vepc_range_mapped(uint64_t addr, uint64_t len);
/* The end of the vEPC mapping that holds addr (0: none), and the start of the first one
 * above addr (UINT64_MAX: none). */
uint64_t vepc_vma_end(uint64_t addr);
uint64_t vepc_next_start(uint64_t addr);

/* The cpu's page walk for guest enclaves: la inside a vEPC mapping whose page is allocated
 * and whose mapping allows the access. Same contract as cpu_mmu.translate. */
uint32_t vepc_translate(uint64_t la, bool write, uint32_t *idx);
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
