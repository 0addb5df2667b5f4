/* What the host layer calls for VMMs: /dev/sgx_vepc mappings with their file offset and mode,
 * and the ENCLS a guest executes (KVM's side of it, arch/x86/kvm/vmx/sgx.c). Each takes the
 * driver lock itself. */
#ifndef SGXEMU_DRIVER_VIRT_H
#define SGXEMU_DRIVER_VIRT_H

#include <stdbool.h>
#include <stdint.h>

#include "driver/driver.h"

/* The open mode of the file, as the VFS checks it for mmap (driver.h's SGX_FMODE_*). */
#define VEPC_FMODE_READ  SGX_FMODE_READ
#define VEPC_FMODE_WRITE SGX_FMODE_WRITE

/* mmap of a /dev/sgx_vepc file at byte offset off: the address or -errno (sgx_mmap). */
long sgx_vepc_mmap(struct sgx_file *f, uint64_t addr, uint64_t len, int prot, int flags,
		   uint64_t off, unsigned fmode);

/* ENCLS leaf with the registers a guest would load; addresses are the VMM's (its vEPC
 * mappings for EPC operands). Returns the SGX status code (RAX) or CPU_FAULT with *f set. */
long sgx_virt_encls(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx, struct cpu_fault *f);

/* The guest's CPUID leaf 0x12 as KVM checks ECREATE against it. -EINVAL if it claims more
 * than the emulated CPU has. */
int sgx_virt_set_cpuid(uint32_t miscselect, uint64_t attributes, uint64_t xfrm,
		       uint8_t max_enclave_size_64);
/* KVM_CAP_SGX_ATTRIBUTE: the guest may create PROVISIONKEY enclaves. */
void sgx_virt_allow_provisionkey(bool allow);
/* The guest's IA32_SGXLEPUBKEYHASH0-3 (what its kernel writes before EINIT). */
void sgx_virt_set_lepubkeyhash(const uint8_t hash[32]);

/* EPC use, for VMMs and tests: pages in total, free, and held by vEPC instances. */
void sgx_epc_usage(uint64_t *total, uint64_t *free_pages, uint64_t *vepc_pages);

#endif
