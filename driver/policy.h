/* Policy: the kernel's own rules for enclave memory (ADD_PAGES source must be executable-
 * mappable) and an optional administrator policy (sgxemu run --policy FILE, docs/policy.md)
 * with an audit log. */
#ifndef SGXEMU_DRIVER_POLICY_H
#define SGXEMU_DRIVER_POLICY_H

#include "driver/internal.h"

/* Load the policy file (NULL or "" = none) and make it the policy in force, all or nothing:
 * on error nothing changes. 0, or -1 with a message naming the file and line in err. */
int policy_load(const char *path, char *err, unsigned errlen);
/* Send audit records to path (SGXEMU_AUDIT; overrides the file's `audit` line), or stop
 * auditing (NULL or ""). 0, or -1 with a message in err. */
int policy_set_audit(const char *path, char *err, unsigned errlen);
/* ADD_PAGES of one page from user address src: 0 or -errno (EACCES, or EFAULT when no
 * mapping holds src). */
int policy_add_page(struct sgx_encl *e, uint64_t src, uint64_t addr, const struct sgx_secinfo *si);
/* INIT with this SIGSTRUCT (and the SECS attributes of e): 0 or -EPERM. */
int policy_init_enclave(struct sgx_encl *e, const struct sgx_sigstruct *sig);

#endif
