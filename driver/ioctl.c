/* The seven ioctls of /dev/sgx_enclave, with the kernel's checks in the kernel's order and
 * the kernel's names (arch/x86/kernel/cpu/sgx/ioctl.c): CREATE, ADD_PAGES, INIT, PROVISION,
 * and the SGX2 ones RESTRICT_PERMISSIONS, MODIFY_TYPES, REMOVE_PAGES. Each returns 0 or
 * -errno; the comment above each lists every value it returns. */
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
static int sgx_validate_offset_length(const struct sgx_encl *e, uint64_t offset, uint64_t length)
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

/* sgx_encl_create: the enclave from its SECS (secs, a page-aligned copy the caller frees).
 * 0, -EINVAL (SECS.SIZE not a power of two), -ENOMEM (no EPC page, backing store or VA
 * slot), -EIO (ECREATE failed: a SECS the CPU refuses). */
static long sgx_encl_create(struct sgx_encl *e, struct sgx_secs *secs)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	long idx, r;

	if (!secs->size || (secs->size & (secs->size - 1))) {
		drv_set_reason("driver", "SECS.SIZE not a power of two");
		return -EINVAL;
	}
	/* Nothing sized by ELRANGE before ECREATE has judged SECS.SIZE: a size the CPU refuses
	 * is EIO, as from Linux, whatever it would cost. */
	idx = sgx_alloc_epc_page();
	if (idx < 0)
		return -ENOMEM;
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
		r = -EIO;
		goto err_out_free;
	}
	encl_pt_init(e, secs->size);
	e->base = secs->base;
	e->size = secs->size;
	e->secs = (uint32_t)idx;
	e->backing_len = ENCL_BACKING_LEN(secs->size);
	e->eid = sgx_pf.cpu.epcm[idx].meta->eid;
	e->backing = sgx_pf.mm->backing_create(e->backing_len);
	e->page_cnt = 0;
	if (!e->backing || sgx_encl_grow(e, NULL)) {
		r = -ENOMEM;
		goto err_out_remove;
	}
	encl_register(e);
	e->attributes = secs->attributes.flags;
	/* Whatever PROVISION allowed before CREATE is forgotten here, as in sgx_encl_create. */
	e->attributes_mask = SGX_ATTR_UNPRIV_MASK;
	e->page_cnt = 1;
	if (e->attributes & SGX_ATTR_DEBUG)
		e->flags |= ENCL_DEBUG;
	e->flags |= ENCL_CREATED;
	return 0;

err_out_remove:
	/* Gives back the VA array and the backing store (no VA page was made). */
	encl_paging_release(e);
	encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, (uint32_t)idx), &f);
	e->secs = EPC_NONE;
err_out_free:
	sgx_free_epc_page((uint32_t)idx);
	return r;
}

/* SGX_IOC_ENCLAVE_CREATE. Returns 0; -EINVAL (already created, or as sgx_encl_create);
 * -EFAULT (the argument or the SECS it points to cannot be read); -ENOMEM, -EIO (as
 * sgx_encl_create). */
static long sgx_ioc_enclave_create(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_create c;
	struct sgx_secs *secs;
	long r;

	if (e->flags & ENCL_CREATED) {
		drv_set_reason("driver", "already created");
		return -EINVAL;
	}
	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	if (!secs)
		return -ENOMEM;
	if (copy_from_user(secs, c.src, sizeof(*secs)))
		r = -EFAULT;
	else
		r = sgx_encl_create(e, secs);
	free(secs);
	return r;
}

static int sgx_validate_secinfo(const struct sgx_secinfo *si)
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

static long sgx_encl_add_page(struct sgx_encl *e, uint64_t src, uint64_t addr,
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
	idx = sgx_alloc_epc_page();
	if (idx < 0)
		return -ENOMEM;
	r = sgx_encl_grow(e, &grew);
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
			sgx_encl_shrink(e);
		sgx_free_epc_page((uint32_t)idx);
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
		sgx_free_epc_page((uint32_t)idx);
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
				sgx_free_epc_page((uint32_t)idx);
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

/* SGX_IOC_ENCLAVE_ADD_PAGES. Returns 0; -EINVAL (not created or already initialised,
 * offset/length not page-aligned or beyond ELRANGE, bad SECINFO or flags); -EFAULT (the
 * argument, SECINFO or source cannot be read, the source is enclave memory, count cannot be
 * written back); -EBUSY (a page at that offset exists); -EACCES (the source's mapping is not
 * executable though the page is, or the policy refused the page); -ENOMEM (no EPC page or
 * VA slot); -EIO (EADD or EEXTEND failed). Pages added before an error are counted in
 * count, as the kernel reports partial progress. */
static long sgx_ioc_enclave_add_pages(struct sgx_encl *e, uint64_t arg)
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
	if (sgx_validate_offset_length(e, a.offset, a.length))
		return -EINVAL;
	if (copy_from_user(&si, a.secinfo, sizeof(si)))
		return -EFAULT;
	if (sgx_validate_secinfo(&si)) {
		drv_set_reason("driver", "invalid SECINFO");
		return -EINVAL;
	}
	buf = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	for (c = 0; c < a.length; c += SGX_PAGE_SIZE) {
		r = sgx_encl_add_page(e, a.src + c, e->base + a.offset + c, &si,
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

/* SGX_IOC_ENCLAVE_INIT. Returns 0; -EINVAL (not created or already initialised, a vendor
 * other than Intel's or 0, reserved ATTRIBUTES, MISCSELECT or XFRM bits signed); -EFAULT (the
 * argument or the SIGSTRUCT cannot be read); -EACCES (attributes this enclave may not have: PROVISIONKEY
 * without SGX_IOC_ENCLAVE_PROVISION, or the policy's refusal); -ENOMEM; -EIO (EINIT
 * faulted); -EPERM (EINIT returned an SGX error code, which the trace shows). */
static long sgx_ioc_enclave_init(struct sgx_encl *e, uint64_t arg)
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

/* SGX_IOC_ENCLAVE_PROVISION. Returns 0; -EFAULT (the argument cannot be read); -EINVAL
 * (the fd is not an open /dev/sgx_provision). */
static long sgx_ioc_enclave_provision(struct sgx_encl *e, uint64_t arg, struct sgx_file *(*lookup)(int))
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

/* --- SGX2 (EDMM) ---------------------------------------------------------------------- */

/* ETRACK, then make every thread inside exit so its stale view is gone (the kernel's IPIs).
 * A failed ETRACK is retried once after the IPIs; a second failure is EFAULT. */
static int sgx_enclave_etrack(struct sgx_encl *e)
{
	struct cpu_fault f;
	void *secs = epc_page(&sgx_pf.cpu, e->secs);
	struct secs_meta *m = sgx_pf.cpu.epcm[e->secs].meta;
	long r = encls_etrack(&sgx_pf.cpu, secs, &f);

	if (r != SGX_SUCCESS) {
		sgx_pf.mm->ipi(e->secs, atomic_load(&m->epoch));
		r = encls_etrack(&sgx_pf.cpu, secs, &f);
		if (r != SGX_SUCCESS) {
			TRACEC(TRACE_ENCLS, "ETRACK -> %s", r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
			return -EFAULT;
		}
	}
	sgx_pf.mm->ipi(e->secs, atomic_load(&m->epoch));
	return 0;
}

/* The page must be present in the EPC (reclaim will add ELDU here). A hole is EFAULT. */
static struct encl_page *sgx_encl_load_page(struct sgx_encl *e, uint64_t addr, int *err)
{
	struct encl_page *p = encl_page_lookup(e, addr);

	if (!p) {
		*err = -EFAULT;
		return NULL;
	}
	if (p->epc == EPC_NONE && sgx_encl_eldu(e, p, addr)) {
		*err = -EFAULT;
		return NULL;
	}
	return p;
}

static int sgx_ioc_sgx2_ready(struct sgx_encl *e)
{
	if (!sgx_pf.cpu.feat.sgx2)
		return -ENODEV;
	if (!(e->flags & ENCL_INITIALIZED))
		return -EINVAL;
	return 0;
}

/* SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS. Returns 0; -ENODEV (no SGX2); -EINVAL (not
 * initialised, bad range, permissions beyond R|W|X, non-zero result or count, a page not
 * PT_REG); -EFAULT (the argument cannot be copied, a hole in the range, EMODPR failed with
 * its SGX code in result, ETRACK failed twice). Progress is reported in count. */
static long sgx_ioc_enclave_restrict_permissions(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_restrict_permissions rp;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	uint64_t c;
	long r = sgx_ioc_sgx2_ready(e);

	if (r)
		return r;
	if (copy_from_user(&rp, arg, sizeof(rp)))
		return -EFAULT;
	if (sgx_validate_offset_length(e, rp.offset, rp.length) || (rp.permissions & ~SGX_SECINFO_PERM_MASK) ||
	    ((rp.permissions & SGX_SECINFO_W) && !(rp.permissions & SGX_SECINFO_R)) ||
	    rp.result || rp.count)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	si.flags = rp.permissions;
	for (c = 0; c < rp.length; c += SGX_PAGE_SIZE) {
		uint64_t addr = e->base + rp.offset + c;
		int err = 0;
		struct encl_page *p = sgx_encl_load_page(e, addr, &err);

		if (!p) {
			r = err;
			break;
		}
		if (p->type != SGX_PT_REG) {
			r = -EINVAL;
			break;
		}
		r = encls_emodpr(&sgx_pf.cpu, &si, epc_page(&sgx_pf.cpu, p->epc), &f);
		if (TRACE_ON(TRACE_ENCLS)) {
			char sb[64];

			trace_printf("EMODPR 0x%lx secinfo=%s -> %s", (unsigned long)addr,
				     trace_secinfo(sb, sizeof(sb), si.flags),
				     r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
		}
		if (r == CPU_FAULT) {
			r = -EFAULT;
			break;
		}
		if (r) {
			rp.result = (uint64_t)r;
			r = -EFAULT;
			break;
		}
		vma_refresh_page(e, addr);
		r = sgx_enclave_etrack(e);
		if (r)
			break;
	}
	rp.count = c;
	if (copy_to_user(arg, &rp, sizeof(rp)))
		return -EFAULT;
	return r;
}

/* SGX_IOC_ENCLAVE_MODIFY_TYPES. Returns 0; -ENODEV (no SGX2); -EINVAL (not initialised,
 * bad range, a type other than PT_TCS or PT_TRIM, non-zero result or count, a transition
 * the kernel refuses); -EPERM (PT_REG to PT_TCS of a page whose permissions are not R|W);
 * -EFAULT (the argument cannot be copied, a hole in the range, EMODT failed with its SGX
 * code in result, ETRACK failed twice). Progress is reported in count. */
static long sgx_ioc_enclave_modify_types(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_modify_types mt;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	uint64_t c;
	long r = sgx_ioc_sgx2_ready(e);

	if (r)
		return r;
	if (copy_from_user(&mt, arg, sizeof(mt)))
		return -EFAULT;
	if (sgx_validate_offset_length(e, mt.offset, mt.length) || (mt.page_type & ~0xFFULL) || mt.result || mt.count)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	si.flags = mt.page_type << SGX_SECINFO_TYPE_SHIFT;
	for (c = 0; c < mt.length; c += SGX_PAGE_SIZE) {
		uint64_t addr = e->base + mt.offset + c;
		int err = 0;
		struct encl_page *p;
		uint8_t saved_prot;

		if (mt.page_type != SGX_PT_TCS && mt.page_type != SGX_PT_TRIM) {
			r = -EINVAL;
			break;
		}
		p = sgx_encl_load_page(e, addr, &err);
		if (!p) {
			r = err;
			break;
		}
		if (!((p->type == SGX_PT_REG && (mt.page_type == SGX_PT_TCS || mt.page_type == SGX_PT_TRIM)) ||
		      (p->type == SGX_PT_TCS && mt.page_type == SGX_PT_TRIM))) {
			r = -EINVAL;
			break;
		}
		saved_prot = p->max_prot;
		if (mt.page_type == SGX_PT_TCS) {
			if ((p->max_prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE)) {
				r = -EPERM;
				break;
			}
			p->max_prot = PROT_READ | PROT_WRITE;
			p->pte = 0; /* the kernel zaps a new TCS's PTEs */
		}
		r = encls_emodt(&sgx_pf.cpu, &si, epc_page(&sgx_pf.cpu, p->epc), &f);
		TRACEC(TRACE_ENCLS, "EMODT 0x%lx type=%s -> %s", (unsigned long)addr,
		       trace_page_type((unsigned)mt.page_type),
		       r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
		if (r) {
			if (r != CPU_FAULT)
				mt.result = (uint64_t)r;
			p->max_prot = saved_prot;
			r = -EFAULT;
			break;
		}
		/* The kernel zaps the PTEs of a new TCS; for TRIM they stay, and the EPCM denies
		 * access. Our host mapping follows the EPCM either way. */
		vma_refresh_page(e, addr);
		r = sgx_enclave_etrack(e);
		if (r)
			break;
		p->type = (uint8_t)mt.page_type;
	}
	mt.count = c;
	if (copy_to_user(arg, &mt, sizeof(mt)))
		return -EFAULT;
	return r;
}

/* SGX_IOC_ENCLAVE_REMOVE_PAGES. Returns 0; -ENODEV (no SGX2); -EINVAL (not initialised,
 * bad range, non-zero count); -EFAULT (the argument cannot be copied, a hole in the range);
 * -EPERM (a page not PT_TRIM, or one the enclave has not yet accepted). Progress is
 * reported in count. */
static long sgx_ioc_enclave_remove_pages(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_remove_pages rm;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	uint64_t c;
	long r = sgx_ioc_sgx2_ready(e);

	if (r)
		return r;
	if (copy_from_user(&rm, arg, sizeof(rm)))
		return -EFAULT;
	if (sgx_validate_offset_length(e, rm.offset, rm.length) || rm.count)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X;
	for (c = 0; c < rm.length; c += SGX_PAGE_SIZE) {
		uint64_t addr = e->base + rm.offset + c;
		int err = 0;
		struct encl_page *p = sgx_encl_load_page(e, addr, &err);

		if (!p) {
			r = err;
			break;
		}
		if (p->type != SGX_PT_TRIM) {
			r = -EPERM;
			break;
		}
		/* EMODPR as a probe: only an accepted TRIM page makes it fault. */
		r = encls_emodpr(&sgx_pf.cpu, &si, epc_page(&sgx_pf.cpu, p->epc), &f);
		if (r != CPU_FAULT || f.vector != X86_PF) {
			r = -EPERM;
			break;
		}
		r = encls_eremove(&sgx_pf.cpu, epc_page(&sgx_pf.cpu, p->epc), &f);
		TRACEC(TRACE_ENCLS, "EREMOVE 0x%lx -> %s", (unsigned long)addr,
		      r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
		epc_owner_clear(p->epc);
		if (r == SGX_SUCCESS)
			sgx_free_epc_page(p->epc);
		else
			sgxemu_err("EREMOVE returned %ld and an EPC page was leaked", r);
		memset(p, 0, sizeof(*p));
		p->epc = EPC_NONE;
		e->page_cnt--;
		vma_refresh_page(e, addr);
		r = 0;
	}
	rm.count = c;
	if (copy_to_user(arg, &rm, sizeof(rm)))
		return -EFAULT;
	return r;
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
		r = sgx_ioc_enclave_create(e, arg);
		break;
	case SGX_IOC_ENCLAVE_ADD_PAGES:
		r = sgx_ioc_enclave_add_pages(e, arg);
		break;
	case SGX_IOC_ENCLAVE_INIT:
		r = sgx_ioc_enclave_init(e, arg);
		break;
	case SGX_IOC_ENCLAVE_PROVISION:
		r = sgx_ioc_enclave_provision(e, arg, lookup_file);
		break;
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS:
		r = sgx_ioc_enclave_restrict_permissions(e, arg);
		break;
	case SGX_IOC_ENCLAVE_MODIFY_TYPES:
		r = sgx_ioc_enclave_modify_types(e, arg);
		break;
	case SGX_IOC_ENCLAVE_REMOVE_PAGES:
		r = sgx_ioc_enclave_remove_pages(e, arg);
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
