/* ioctls of /dev/sgx_enclave, with the kernel's checks in the kernel's order
 * (arch/x86/kernel/cpu/sgx/ioctl.c, sgx_ioctl). Each returns 0 or -errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/sgx.h>

#include "cpu/measure.h"
#include "cpu/sigstruct.h"
#include "driver/internal.h"
#include "driver/policy.h"
#include "driver/vepc.h"
#include "util/trace.h"

#define SGX_ATTR_RESERVED_MASK 0xFFFFFFFFFFFFFB48ULL
#define SGX_ATTR_UNPRIV_MASK (SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY)

/* Offset/length rules shared by ADD_PAGES and the SGX2 ioctls: all EINVAL. */
int validate_offset_length(const struct sgx_encl *e, uint64_t offset, uint64_t length)
{
	if (offset & (SGX_PAGE_SIZE - 1))
		return -EINVAL;
	if (!length || (length & (SGX_PAGE_SIZE - 1)))
		return -EINVAL;
	if (offset + length < offset)
		return -EINVAL;
	if (offset + length - SGX_PAGE_SIZE >= e->size)
		return -EINVAL;
	return 0;
}

/* SGX_IOC_ENCLAVE_CREATE. Errors: EINVAL (already created, size not a power of two),
 * EFAULT (bad arg or SECS pointer), ENOMEM (no EPC), EIO (ECREATE faulted). */
static long ioc_create(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_create c;
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secs *secs;
	struct cpu_fault f;
	long idx, r;

	if (e->flags & ENCL_CREATED) {
		drv_set_reason("driver", "already created");
		return -EINVAL;
	}
	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	if (!secs)
		return -ENOMEM;
	if (copy_from_user(secs, c.src, sizeof(*secs))) {
		free(secs);
		return -EFAULT;
	}
	if (!secs->size || (secs->size & (secs->size - 1))) {
		free(secs);
		drv_set_reason("driver", "SECS.SIZE not a power of two");
		return -EINVAL;
	}
	/* Nothing sized by ELRANGE before ECREATE has judged SECS.SIZE: a size the CPU refuses
	 * is EIO, as from Linux, whatever it would cost. */
	idx = epc_get_page();
	if (idx < 0) {
		free(secs);
		return -ENOMEM;
	}
	memset(&si, 0, sizeof(si));
	memset(&pi, 0, sizeof(pi));
	pi.srcpge = (uintptr_t)secs;
	pi.secinfo = (uintptr_t)&si;
	r = encls_ecreate(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, (uint32_t)idx), &f);
	if (TRACE_ON(TRACE_ENCLS)) {
		char at[96], xf[96];

		trace_printf("ECREATE base=0x%lx size=0x%lx attributes=%s xfrm=%s ssa=%u -> %s",
			     (unsigned long)secs->base, (unsigned long)secs->size,
			     trace_attributes(at, sizeof(at), secs->attributes.flags),
			     trace_xfrm(xf, sizeof(xf), secs->attributes.xfrm), secs->ssa_frame_size,
			     r == CPU_FAULT ? (f.vector == X86_GP ? "#GP" : "#PF") :
			     sgx_status_name((uint64_t)r));
	}
	if (r != SGX_SUCCESS) {
		epc_free_page((uint32_t)idx);
		free(secs);
		return -EIO;
	}
	encl_pt_init(e, secs->size);
	e->base = secs->base;
	e->size = secs->size;
	e->secs = (uint32_t)idx;
	e->backing_len = ENCL_BACKING_LEN(secs->size);
	e->eid = sgx_pf.cpu.epcm[idx].meta->eid;
	e->backing = sgx_pf.mm->backing_create(e->backing_len);
	e->page_cnt = 0;
	if (!e->backing || encl_va_grow(e)) {
		/* Gives back the VA array and the backing store (no VA page was made). */
		encl_paging_release(e);
		encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, (uint32_t)idx), &f);
		epc_free_page((uint32_t)idx);
		e->secs = EPC_NONE;
		free(secs);
		return -ENOMEM;
	}
	encl_register(e);
	e->attributes = secs->attributes.flags;
	/* Whatever PROVISION allowed before CREATE is forgotten here, as in sgx_encl_create. */
	e->attributes_mask = SGX_ATTR_UNPRIV_MASK;
	e->secs = (uint32_t)idx;
	e->page_cnt = 1;
	if (e->attributes & SGX_ATTR_DEBUG)
		e->flags |= ENCL_DEBUG;
	e->flags |= ENCL_CREATED;
	free(secs);
	return 0;
}

static int validate_secinfo(const struct sgx_secinfo *si)
{
	uint64_t perm = si->flags & SGX_SECINFO_PERM_MASK;
	uint64_t type = (si->flags & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT;

	if (type != SGX_PT_REG && type != SGX_PT_TCS)
		return -EINVAL;
	if ((perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R))
		return -EINVAL;
	if (type == SGX_PT_TCS && perm)
		return -EINVAL;
	if (si->flags & ~(SGX_SECINFO_PERM_MASK | SGX_SECINFO_TYPE_MASK))
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(si->reserved); i++)
		if (si->reserved[i])
			return -EINVAL;
	return 0;
}

static long add_one_page(struct sgx_encl *e, uint64_t src, uint64_t addr,
			 const struct sgx_secinfo *si, bool measure, uint8_t *buf)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct encl_page *p;
	struct cpu_fault f;
	uint8_t *dst;
	long idx, r;

	bool grew;

	/* The kernel's order: EPC page (with reclaim), VA page, page-table insert (EBUSY), then
	 * the source: its VMA must allow exec (EACCES), then it is pinned (EFAULT; enclave
	 * memory is VM_IO|VM_PFNMAP and cannot be). */
	idx = epc_get_page();
	if (idx < 0)
		return -ENOMEM;
	grew = e->page_cnt % 512 == 0;
	r = encl_va_grow(e);
	if (!r && encl_page_lookup(e, addr))
		r = -EBUSY;
	if (!r)
		r = policy_add_page(e, src, addr, si);
	if (!r && (sgx_range_is_enclave(src, SGX_PAGE_SIZE) || copy_from_user(buf, src, SGX_PAGE_SIZE)))
		r = -EFAULT;
	p = r ? NULL : encl_page_create(e, addr);
	if (!r && !p)
		r = -ENOMEM;
	if (r) {
		if (grew)
			encl_va_shrink(e);
		epc_free_page((uint32_t)idx);
		return r;
	}
	dst = epc_page(&sgx_pf.cpu, (uint32_t)idx);
	memset(&pi, 0, sizeof(pi));
	pi.linaddr = addr;
	pi.srcpge = (uintptr_t)buf;
	pi.secinfo = (uintptr_t)si;
	pi.secs = (uintptr_t)epc_page(&sgx_pf.cpu, e->secs);
	r = encls_eadd(&sgx_pf.cpu, &pi, dst, &f);
	if (TRACE_ON(TRACE_ENCLS)) {
		char sb[64];

		trace_printf("EADD 0x%lx secinfo=%s%s -> %s", (unsigned long)addr,
			     trace_secinfo(sb, sizeof(sb), si->flags), measure ? " +EEXTEND" : "",
			     r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	}
	if (r != SGX_SUCCESS) {
		epc_free_page((uint32_t)idx);
		return -EIO;
	}
	p->epc = (uint32_t)idx;
	p->tracked = 1;
	p->type = (uint8_t)((si->flags & SGX_SECINFO_TYPE_MASK) >> SGX_SECINFO_TYPE_SHIFT);
	p->max_prot = p->type == SGX_PT_TCS ? (PROT_READ | PROT_WRITE) : (uint8_t)(si->flags & VM_RWX);
	e->page_cnt++;
	if (measure) {
		for (unsigned c = 0; c < SGX_PAGE_SIZE; c += 256) {
			r = encls_eextend(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, e->secs), dst + c, &f);
			if (r != SGX_SUCCESS) {
				TRACEC(TRACE_ENCLS, "EEXTEND 0x%lx -> fault", (unsigned long)(addr + c));
				encls_eremove(&sgx_pf.cpu, dst, &f);
				epc_free_page((uint32_t)idx);
				memset(p, 0, sizeof(*p));
				p->epc = EPC_NONE;
				e->page_cnt--;
				return -EIO;
			}
		}
	}
	epc_owner_set((uint32_t)idx, e, addr);
	vma_refresh_page(e, addr);
	return 0;
}

/* SGX_IOC_ENCLAVE_ADD_PAGES. Errors: EINVAL (state, alignment, range, SECINFO), EFAULT (bad
 * pointers), EBUSY (page already added), ENOMEM (no EPC), EIO (EADD/EEXTEND faulted). Partial
 * progress is reported in count. */
static long ioc_add_pages(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_add_pages a;
	struct sgx_secinfo si __attribute__((aligned(64)));
	uint8_t *buf;
	uint64_t c;
	long r = 0;

	if (!(e->flags & ENCL_CREATED) || (e->flags & ENCL_INITIALIZED)) {
		drv_set_reason("driver", e->flags & ENCL_INITIALIZED ? "already initialized" :
			       "not created");
		return -EINVAL;
	}
	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.src & (SGX_PAGE_SIZE - 1))
		return -EINVAL;
	if (validate_offset_length(e, a.offset, a.length))
		return -EINVAL;
	if (copy_from_user(&si, a.secinfo, sizeof(si)))
		return -EFAULT;
	if (validate_secinfo(&si)) {
		drv_set_reason("driver", "invalid SECINFO");
		return -EINVAL;
	}
	buf = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	for (c = 0; c < a.length; c += SGX_PAGE_SIZE) {
		r = add_one_page(e, a.src + c, e->base + a.offset + c, &si,
				 a.flags & SGX_PAGE_MEASURE, buf);
		if (r)
			break;
		/* Large builds: let `sgxemu stat` watch them grow. */
		if ((c / SGX_PAGE_SIZE) % 1024 == 1023)
			stat_publish();
	}
	free(buf);
	a.count = c;
	if (copy_to_user(arg + offsetof(struct sgx_enclave_add_pages, count), &a.count,
			 sizeof(a.count)))
		return -EFAULT;
	return r;
}

/* SGX_IOC_ENCLAVE_INIT. Errors: EINVAL (state, vendor, reserved bits in the signed
 * attributes), EFAULT, EACCES (attributes the enclave may not have), EPERM (EINIT returned an
 * SGX error: the code is traced), EIO (EINIT faulted). */
static long ioc_init(struct sgx_encl *e, uint64_t arg)
{
	const struct cpu_features *ft = &sgx_pf.cpu.feat;
	struct sgx_enclave_init in;
	struct sgx_sigstruct *sig;
	struct sgx_einittoken *token;
	struct cpu_fault f;
	uint64_t attr_reserved, xfrm_reserved;
	uint32_t misc_reserved;
	long r;

	if (!(e->flags & ENCL_CREATED) || (e->flags & ENCL_INITIALIZED)) {
		drv_set_reason("driver", e->flags & ENCL_INITIALIZED ? "already initialized" :
			       "not created");
		return -EINVAL;
	}
	if (copy_from_user(&in, arg, sizeof(in)))
		return -EFAULT;
	sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	token = aligned_alloc(512, 512);
	if (!sig || !token) {
		free(sig);
		free(token);
		return -ENOMEM;
	}
	memset(token, 0, 512);
	r = 0;
	if (copy_from_user(sig, in.sigstruct, sizeof(*sig)))
		r = -EFAULT;
	else if (sig->header.vendor != 0 && sig->header.vendor != 0x8086)
		r = -EINVAL;
	if (r)
		goto out;
	if (e->attributes & ~e->attributes_mask) {
		/* PROVISIONKEY without SGX_IOC_ENCLAVE_PROVISION */
		drv_set_reason("driver", "attributes not permitted");
		r = -EACCES;
		goto out;
	}
	attr_reserved = ~ft->attributes | SGX_ATTR_RESERVED_MASK;
	misc_reserved = ~ft->miscselect | 0xFFFFFFFEU;
	xfrm_reserved = ~ft->xfrm;
	if ((sig->body.attributes.flags & sig->body.attributes_mask.flags & attr_reserved) ||
	    (sig->body.miscselect & sig->body.misc_mask & misc_reserved) ||
	    (sig->body.attributes.xfrm & sig->body.attributes_mask.xfrm & xfrm_reserved)) {
		r = -EINVAL;
		goto out;
	}
	r = policy_init_enclave(e, sig);
	if (r)
		goto out;
	/* Flexible launch control: the kernel writes the signer's hash into the MSRs. */
	if (sigstruct_mrsigner(sig, sgx_pf.cpu.lepubkeyhash)) {
		r = -ENOMEM;
		goto out;
	}
	r = encls_einit(&sgx_pf.cpu, sig, epc_page(&sgx_pf.cpu, e->secs), token, &f);
	TRACEC(TRACE_ENCLS, "EINIT -> %s", r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	if (r == CPU_FAULT) {
		r = -EIO;
	} else if (r != SGX_SUCCESS) {
		drv_set_reason("EINIT", sgx_status_name((uint64_t)r));
		r = -EPERM;
	} else {
		e->flags |= ENCL_INITIALIZED;
		r = 0;
	}
out:
	free(sig);
	free(token);
	return r;
}

/* SGX_IOC_ENCLAVE_PROVISION. Errors: EFAULT, EINVAL (not a /dev/sgx_provision fd). */
static long ioc_provision(struct sgx_encl *e, uint64_t arg, struct sgx_file *(*lookup)(int))
{
	struct sgx_enclave_provision p;
	struct sgx_file *pf;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	pf = lookup((int)(unsigned int)p.fd);
	if (!pf || pf->kind != SGX_FILE_PROVISION)
		return -EINVAL;
	e->attributes_mask |= SGX_ATTR_PROVISIONKEY;
	return 0;
}

void drv_encls_done(unsigned leaf, long r, uint64_t t0)
{
	trace_count(TRACE_STAT_ENCLS, leaf, sgx_encls_name(leaf), r != SGX_SUCCESS,
		    trace_now() - t0);
}

/* Per thread: the preload's threads may run ioctls at once. initial-exec: no allocation on
 * first use (the trace reads it in signal handlers). */
static __thread struct { const char *who, *why; } ioctl_reason
	__attribute__((tls_model("initial-exec")));

void drv_set_reason(const char *who, const char *why)
{
	ioctl_reason.who = who;
	ioctl_reason.why = why;
}

void sgx_ioctl_reason(const char **who, const char **why)
{
	*who = ioctl_reason.who;
	*why = ioctl_reason.why;
}

long sgx_ioctl(struct sgx_file *file, unsigned int cmd, unsigned long arg,
	       struct sgx_file *(*lookup_file)(int fd))
{
	struct sgx_encl *e = file->encl;
	int zero = 0;
	long r;

	drv_set_reason(NULL, NULL);

	if (file->kind == SGX_FILE_VEPC) {
		drv_lock(&sgx_pf.lock);
		r = vepc_ioctl(file->vepc, cmd, arg);
		drv_unlock(&sgx_pf.lock);
		return r;
	}
	if (file->kind != SGX_FILE_ENCLAVE)
		return -ENOTTY;
	if (!atomic_compare_exchange_strong(&e->ioctl_busy, &zero, 1))
		return -EBUSY;
	drv_lock(&sgx_pf.lock);
	encl_reap();
	if (e->flags & ENCL_DEAD) {
		r = -EINVAL;
		goto out;
	}
	ksgxd_start();
	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE:
		r = ioc_create(e, arg);
		break;
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		r = ioc_add_pages(e, arg);
		break;
	case SGX_IOC_ENCLAVE_INIT:
		r = ioc_init(e, arg);
		break;
	case SGX_IOC_ENCLAVE_PROVISION:
		r = ioc_provision(e, arg, lookup_file);
		break;
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		r = ioc_restrict_permissions(e, arg);
		break;
	case SGX_IOC_ENCLAVE_MODIFY_TYPES:
		r = ioc_modify_types(e, arg);
		break;
	case SGX_IOC_ENCLAVE_REMOVE_PAGES:
		r = ioc_remove_pages(e, arg);
		break;
	default:
		r = -ENOTTY;
		break;
	}
out:
	stat_publish();
	drv_unlock(&sgx_pf.lock);
	atomic_store(&e->ioctl_busy, 0);
	return r;
}
