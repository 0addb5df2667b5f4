/* SGX2 ioctls: RESTRICT_PERMISSIONS, MODIFY_TYPES, REMOVE_PAGES (the kernel's
 * sgx_ioc_enclave_restrict_permissions, _modify_types, _remove_pages in ioctl.c), and the
 * ETRACK + IPI sequence that completes a tracking cycle. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/sgx.h>

#include "driver/internal.h"
#include "util/trace.h"

/* ETRACK, then make every thread inside exit so its stale view is gone (the kernel's IPIs).
 * A failed ETRACK is retried once after the IPIs; a second failure is EFAULT. */
static int encl_track(struct sgx_encl *e)
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
static struct encl_page *encl_load_page(struct sgx_encl *e, uint64_t addr, int *err)
{
	struct encl_page *p = encl_page_lookup(e, addr);

	if (!p) {
		*err = -EFAULT;
		return NULL;
	}
	if (p->epc == EPC_NONE && encl_page_reload(e, p, addr)) {
		*err = -EFAULT;
		return NULL;
	}
	return p;
}

static int sgx2_prologue(struct sgx_encl *e)
{
	if (!sgx_pf.cpu.feat.sgx2)
		return -ENODEV;
	if (!(e->flags & ENCL_INITIALIZED))
		return -EINVAL;
	return 0;
}

/* SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS. Errors: ENODEV (no SGX2), EINVAL (state, range,
 * permissions, non-zero outputs, page not REG), EFAULT (copy, hole, EMODPR failure with the
 * SGX code in result, tracking failure). */
long ioc_restrict_permissions(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_restrict_permissions rp;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	uint64_t c;
	long r = sgx2_prologue(e);

	if (r)
		return r;
	if (copy_from_user(&rp, arg, sizeof(rp)))
		return -EFAULT;
	if (validate_offset_length(e, rp.offset, rp.length) || (rp.permissions & ~SGX_SECINFO_PERM_MASK) ||
	    ((rp.permissions & SGX_SECINFO_W) && !(rp.permissions & SGX_SECINFO_R)) ||
	    rp.result || rp.count)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	si.flags = rp.permissions;
	for (c = 0; c < rp.length; c += SGX_PAGE_SIZE) {
		uint64_t addr = e->base + rp.offset + c;
		int err = 0;
		struct encl_page *p = encl_load_page(e, addr, &err);

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
		r = encl_track(e);
		if (r)
			break;
	}
	rp.count = c;
	if (copy_to_user(arg, &rp, sizeof(rp)))
		return -EFAULT;
	return r;
}

/* SGX_IOC_ENCLAVE_MODIFY_TYPES. Errors: ENODEV, EINVAL (state, range, type, non-zero
 * outputs, transition), EPERM (REG->TCS without R|W allowed), EFAULT (copy, hole, EMODT
 * failure with the SGX code in result, tracking failure). */
long ioc_modify_types(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_modify_types mt;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	uint64_t c;
	long r = sgx2_prologue(e);

	if (r)
		return r;
	if (copy_from_user(&mt, arg, sizeof(mt)))
		return -EFAULT;
	if (validate_offset_length(e, mt.offset, mt.length) || (mt.page_type & ~0xFFULL) || mt.result || mt.count)
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
		p = encl_load_page(e, addr, &err);
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
		r = encl_track(e);
		if (r)
			break;
		p->type = (uint8_t)mt.page_type;
	}
	mt.count = c;
	if (copy_to_user(arg, &mt, sizeof(mt)))
		return -EFAULT;
	return r;
}

/* SGX_IOC_ENCLAVE_REMOVE_PAGES. Errors: ENODEV, EINVAL (state, range, count), EFAULT (copy,
 * hole), EPERM (page not TRIM, or not yet accepted by the enclave). */
long ioc_remove_pages(struct sgx_encl *e, uint64_t arg)
{
	struct sgx_enclave_remove_pages rm;
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct cpu_fault f;
	uint64_t c;
	long r = sgx2_prologue(e);

	if (r)
		return r;
	if (copy_from_user(&rm, arg, sizeof(rm)))
		return -EFAULT;
	if (validate_offset_length(e, rm.offset, rm.length) || rm.count)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	si.flags = SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X;
	for (c = 0; c < rm.length; c += SGX_PAGE_SIZE) {
		uint64_t addr = e->base + rm.offset + c;
		int err = 0;
		struct encl_page *p = encl_load_page(e, addr, &err);

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
			epc_free_page(p->epc);
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
