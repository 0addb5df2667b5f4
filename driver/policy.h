/* Policy: the kernel's own rules for enclave memory (ADD_PAGES source must be executable-
 * mappable) and an optional administrator policy (sgxemu run --policy FILE) with an audit log. */
#ifndef SGXEMU_DRIVER_POLICY_H
#define SGXEMU_DRIVER_POLICY_H

#include "driver/internal.h"

/* Load the policy file (NULL or "" = none). 0, or -1 with a message naming the line. */
int policy_load(const char *path, char *err, unsigned errlen);
/* ADD_PAGES of one page from user address src: 0 or -errno (EACCES). */
int policy_add_page(struct sgx_encl *e, uint64_t src, uint64_t addr, const struct sgx_secinfo *si);
/* INIT with this SIGSTRUCT (and the SECS attributes of e): 0 or -errno (EACCES/EPERM). */
int policy_init_enclave(struct sgx_encl *e, const struct sgx_sigstruct *sig);

#endif
