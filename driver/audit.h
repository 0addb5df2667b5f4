/* Audit records of policy decisions: one line each, shaped like the kernel's audit log so
 * the usual tools and eyes can read them:
 *   type=SGX_POLICY msg=audit(1732975200.123:7): op=add_page res=denied rule=wx-pages ...
 */
#ifndef SGXEMU_DRIVER_AUDIT_H
#define SGXEMU_DRIVER_AUDIT_H

/* Open (append, create 0600) the log at path: the fd, or -errno. */
int audit_open(const char *path);
/* One record to fd: the header, the caller's key=value pairs, then pid= and comm=.
 * A record that does not fit one line (1 KiB) is cut short, never split. */
void audit_record(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
