/* Trace start-up, the summary at exit and ioctl lines. The ioctl decoder reads the
 * arguments again after the call (as strace does for _IOWR) with host_copy_in, which
 * fails cleanly on bad pointers; async-signal-safe, as sys_ioctl may run in the SIGSYS
 * handler. */
#include "host/tracer.h"

#include <asm/sgx.h>
#include <stdlib.h>

#include "cpu/arch.h"
#include "host/fd.h"
#include "host/host.h"
#include "host/uaccess.h"
#include "sgxemu_version.h"
#include "util/config.h"
#include "util/trace.h"

static void summary_at_exit(void)
{
	trace_summary_print();
}

void host_trace_start(void)
{
	trace_start(&host_cfg, SGXEMU_VERSION);
	if (trace_fd > 2)
		fd_make_internal(&trace_fd);
	if (trace_mask & TRACE_SUMMARY)
		atexit(summary_at_exit);
}

static const char *ioctl_name(unsigned int cmd)
{
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE: return "SGX_IOC_ENCLAVE_CREATE";
	case SGX_IOC_ENCLAVE_ADD_PAGES: return "SGX_IOC_ENCLAVE_ADD_PAGES";
	case SGX_IOC_ENCLAVE_INIT: return "SGX_IOC_ENCLAVE_INIT";
	case SGX_IOC_ENCLAVE_PROVISION: return "SGX_IOC_ENCLAVE_PROVISION";
	case SGX_IOC_VEPC_REMOVE_ALL: return "SGX_IOC_VEPC_REMOVE_ALL";
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS: return "SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS";
	case SGX_IOC_ENCLAVE_MODIFY_TYPES: return "SGX_IOC_ENCLAVE_MODIFY_TYPES";
	case SGX_IOC_ENCLAVE_REMOVE_PAGES: return "SGX_IOC_ENCLAVE_REMOVE_PAGES";
	default: return NULL;
	}
}

/* The arguments, decoded into buf; "0x..." when they cannot be read. */
static const char *ioctl_args(char *buf, unsigned len, unsigned int cmd, unsigned long arg)
{
	char a[96], b[96];

#define COPY(x) (host_copy_in(&(x), arg, sizeof(x)) == 0)
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE: {
		struct sgx_enclave_create c;
		uint64_t s[8];   /* the SECS's first 64 bytes: size, base, SSAFRAMESIZE, ATTRIBUTES */

		if (!COPY(c))
			break;
		if (host_copy_in(s, c.src, sizeof(s)))
			return trace_fmt(buf, len, "{src=0x%lx}", (unsigned long)c.src);
		return trace_fmt(buf, len, "{src=0x%lx, secs={base=0x%lx, size=0x%lx, ssa=%u, "
				 "attributes=%s, xfrm=%s}}", (unsigned long)c.src,
				 (unsigned long)s[1], (unsigned long)s[0], (unsigned)s[2],
				 trace_attributes(a, sizeof(a), s[6]), trace_xfrm(b, sizeof(b), s[7]));
	}
	case SGX_IOC_ENCLAVE_ADD_PAGES: {
		struct sgx_enclave_add_pages p;
		uint64_t si;

		if (!COPY(p))
			break;
		if (host_copy_in(&si, p.secinfo, sizeof(si)))
			trace_fmt(a, sizeof(a), "0x%lx", (unsigned long)p.secinfo);
		else
			trace_secinfo(a, sizeof(a), si);
		return trace_fmt(buf, len, "{src=0x%lx, offset=0x%lx, length=0x%lx, secinfo=%s, "
				 "flags=%s, count=0x%lx}", (unsigned long)p.src,
				 (unsigned long)p.offset, (unsigned long)p.length, a,
				 p.flags == SGX_PAGE_MEASURE ? "SGX_PAGE_MEASURE" :
				 p.flags ? "?" : "0", (unsigned long)p.count);
	}
	case SGX_IOC_ENCLAVE_INIT: {
		struct sgx_enclave_init i;

		if (!COPY(i))
			break;
		return trace_fmt(buf, len, "{sigstruct=0x%lx}", (unsigned long)i.sigstruct);
	}
	case SGX_IOC_ENCLAVE_PROVISION: {
		struct sgx_enclave_provision p;

		if (!COPY(p))
			break;
		return trace_fmt(buf, len, "{fd=%ld}", (long)p.fd);
	}
	case SGX_IOC_VEPC_REMOVE_ALL:
		return trace_fmt(buf, len, "0x%lx", arg);
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS: {
		struct sgx_enclave_restrict_permissions p;

		if (!COPY(p))
			break;
		return trace_fmt(buf, len, "{offset=0x%lx, length=0x%lx, permissions=%s, "
				 "result=0x%lx, count=0x%lx}", (unsigned long)p.offset,
				 (unsigned long)p.length,
				 trace_secinfo(a, sizeof(a), p.permissions | (SGX_PT_REG << 8)),
				 (unsigned long)p.result, (unsigned long)p.count);
	}
	case SGX_IOC_ENCLAVE_MODIFY_TYPES: {
		struct sgx_enclave_modify_types m;

		if (!COPY(m))
			break;
		return trace_fmt(buf, len, "{offset=0x%lx, length=0x%lx, page_type=%s, result=0x%lx, "
				 "count=0x%lx}", (unsigned long)m.offset, (unsigned long)m.length,
				 trace_page_type((unsigned)m.page_type), (unsigned long)m.result,
				 (unsigned long)m.count);
	}
	case SGX_IOC_ENCLAVE_REMOVE_PAGES: {
		struct sgx_enclave_remove_pages p;

		if (!COPY(p))
			break;
		return trace_fmt(buf, len, "{offset=0x%lx, length=0x%lx, count=0x%lx}",
				 (unsigned long)p.offset, (unsigned long)p.length,
				 (unsigned long)p.count);
	}
	}
#undef COPY
	return trace_fmt(buf, len, "0x%lx", arg);
}

void host_trace_ioctl(int fd, unsigned int cmd, unsigned long arg, long r, uint64_t t0)
{
	const char *name = ioctl_name(cmd), *who, *why;
	char args[320], nm[32];

	if (trace_mask & TRACE_SUMMARY)
		trace_count(TRACE_STAT_IOCTL, _IOC_NR(cmd), name ? name : "ioctl(other)", r < 0,
			    trace_now() - t0);
	if (!TRACE_ON(TRACE_IOCTL))
		return;
	if (!name)
		name = trace_fmt(nm, sizeof(nm), "ioctl[0x%x]", cmd);
	ioctl_args(args, sizeof(args), cmd, arg);
	if (r >= 0) {
		trace_printf("%s(%d, %s) = %ld", name, fd, args, r);
		return;
	}
	sgx_ioctl_reason(&who, &why);
	if (why)
		trace_printf("%s(%d, %s) = -1 %s (%s: %s)", name, fd, args, trace_errno_name(r), who,
			     why);
	else
		trace_printf("%s(%d, %s) = -1 %s", name, fd, args, trace_errno_name(r));
}
