/* The driver's trap side, what the host's signal handlers call: ENCLU (sgx_enclu), the AEX
 * (sgx_aex), page faults on the driver's mappings (sgx_fault: what the kernel's generic
 * fault code plus sgx_vma_fault in arch/x86/kernel/cpu/sgx/encl.c decide) and reads of
 * enclave memory for the vDSO's exception reports (sgx_peek). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "driver/internal.h"
#include "driver/vepc.h"
#include "util/trace.h"

int sgx_encl_eaug_page(struct sgx_encl *e, uint64_t addr)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct encl_page *p;
	struct cpu_fault f;
	long idx, r;

	r = encl_secs_reload(e);
	if (!r)
		r = sgx_encl_grow(e, NULL);
	if (r)
		return (int)r;
	idx = sgx_alloc_epc_page();
	if (idx < 0)
		return -ENOMEM;
	p = encl_page_create(e, addr);
	if (!p) {
		sgx_free_epc_page((uint32_t)idx);
		return -ENOMEM;
	}
	memset(&pi, 0, sizeof(pi));
	pi.linaddr = addr;
	pi.secs = (uintptr_t)epc_page(&sgx_pf.cpu, e->secs);
	r = encls_eaug(&sgx_pf.cpu, &pi, epc_page(&sgx_pf.cpu, (uint32_t)idx), &f);
	TRACEC(TRACE_ENCLS, "EAUG 0x%lx -> %s", (unsigned long)addr, r == CPU_FAULT ? "fault" : sgx_status_name((uint64_t)r));
	if (r != SGX_SUCCESS) {
		sgx_free_epc_page((uint32_t)idx);
		return -EFAULT;
	}
	p->epc = (uint32_t)idx;
	p->tracked = 1;
	p->type = SGX_PT_REG;
	p->max_prot = VM_RWX;
	p->pte = 1;
	e->page_cnt++;
	e->nr_eaug++;
	epc_owner_set((uint32_t)idx, e, addr);
	vma_refresh_page(e, addr);
	return 0;
}

int sgx_peek(uint64_t la, void *buf, unsigned n, struct cpu_lp *lp)
{
	uint8_t *out = buf;
	bool inside = lp && lp->in_enclave;
	int r = 1;

	if (drv_lock_held_by_self(&sgx_pf.lock))
		return 1;
	/* Waiting for the lock is time outside the enclave (see sgx_fault). */
	if (inside)
		cpu_lp_pause(&sgx_pf.cpu, lp);
	drv_lock(&sgx_pf.lock);
	if (inside)
		cpu_lp_resume(&sgx_pf.cpu, lp);
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = la + i;
		struct drv_vma *v = vma_find_kind(a, &encl_vm_ops);
		struct encl_page *p;

		if (!v) {
			if (i == 0)
				break;           /* not enclave memory: the caller reads it */
			r = -1;                  /* straddles out of an enclave mapping */
			break;
		}
		p = encl_page_lookup(v->encl, a);
		if (!p || p->epc == EPC_NONE) {
			r = -1;
			break;
		}
		out[i] = epc_page(&sgx_pf.cpu, p->epc)[a & (SGX_PAGE_SIZE - 1)];
		r = 0;
	}
	drv_unlock(&sgx_pf.lock);
	return r;
}

/* sgx_vma_fault and the generic fault code before it, for an enclave VMA (driver lock
 * held). */
enum sgx_fault_result sgx_vma_fault(struct drv_vma *v, uint64_t addr, unsigned access,
				     const struct cpu_lp *lp, uint32_t *errcode)
{
	enum sgx_fault_result res;
	struct encl_page *p;
	uint32_t err = X86_PF_U;
	int need = 0;

	if (access & ACCESS_W) {
		err |= X86_PF_W;
		need |= PROT_WRITE;
	}
	if (access & ACCESS_X) {
		err |= X86_PF_I;
		need |= PROT_EXEC;
	}
	if (access & ACCESS_R)
		need |= PROT_READ;
	p = encl_page_lookup(v->encl, addr);
	if (v->encl->flags & ENCL_DEAD) {
		res = SGX_FAULT_SIGBUS;
		goto out;
	}
	/* Generic mm first: the VMA must allow the access. */
	if ((need & ~v->prot) || !v->prot) {
		/* x86 PROT_NONE PTEs are not present. */
		if (p && p->epc != EPC_NONE && p->pte && v->prot != PROT_NONE)
			err |= X86_PF_P;
		res = SGX_FAULT_SIGSEGV;
		goto out;
	}
	if (!p) {
		/* No page: on SGX2 an initialised enclave gets one (EAUG), PENDING until the
		 * enclave accepts it; otherwise the kernel answers VM_FAULT_SIGBUS. */
		res = sgx_pf.cpu.feat.sgx2 && (v->encl->flags & ENCL_INITIALIZED) &&
			      !sgx_encl_eaug_page(v->encl, addr & SGX_PAGE_MASK) ?
			      SGX_FAULT_RETRY : SGX_FAULT_SIGBUS;
		goto out;
	}
	if (v->prot & ~p->max_prot & VM_RWX) {
		res = SGX_FAULT_SIGBUS;
		goto out;
	}
	if (p->epc == EPC_NONE) {
		res = sgx_encl_eldu(v->encl, p, addr & SGX_PAGE_MASK) ? SGX_FAULT_SIGBUS : SGX_FAULT_RETRY;
		if (res == SGX_FAULT_RETRY) {
			p->pte = 1;
			if (vma_refresh_page(v->encl, addr & SGX_PAGE_MASK))
				res = SGX_FAULT_SIGBUS;
		}
		goto out;
	}
	if (!p->pte) {
		/* First touch: the kernel inserts the PFN with the VMA's protection. */
		p->pte = 1;
		res = vma_refresh_page(v->encl, addr & SGX_PAGE_MASK) ? SGX_FAULT_SIGBUS : SGX_FAULT_RETRY;
		goto out;
	}
	/* The PTE is present with the VMA's rights, so what denied the access is the EPCM. */
	err |= X86_PF_P;
	if (lp && lp->in_enclave && p->epc != EPC_NONE) {
		uint32_t e = epcm_check_access(&sgx_pf.cpu, lp, p->epc, addr, access);

		if (e) {
			*errcode = e;
			return SGX_FAULT_SIGSEGV;
		}
		/* The EPCM allows it: our host mapping was stale. */
		res = vma_refresh_page(v->encl, addr & SGX_PAGE_MASK) ? SGX_FAULT_SIGBUS : SGX_FAULT_RETRY;
		goto out;
	}
	/* Outside enclave mode the hardware would give abort-page semantics; we cannot, so the
	 * access fails as an access error (docs/fidelity.md). */
	res = SGX_FAULT_SIGSEGV;
out:
	/* Resolved for an enclave other than the one the thread is in, inside its ELRANGE (say,
	 * another enclave mapped over it): the kernel installs the PTE, and the access then
	 * fails the EPCM check (the page belongs to another enclave). */
	if (res == SGX_FAULT_RETRY && lp && lp->in_enclave && v->encl->secs != lp->secs &&
	    addr >= lp->base && addr - lp->base < lp->size) {
		res = SGX_FAULT_SIGSEGV;
		err |= X86_PF_P | X86_PF_SGX;
	}
	*errcode = err;
	return res;
}

enum sgx_fault_result sgx_fault(uint64_t addr, unsigned access, const struct cpu_lp *lp,
				uint32_t *errcode)
{
	enum sgx_fault_result res;
	struct drv_vma *v;

	/* A thread that faults while holding the driver lock is in our own code: not ours. */
	if (drv_lock_held_by_self(&sgx_pf.lock))
		return SGX_FAULT_NOT_OURS;
	/* Resolving a fault is time outside the enclave (hardware takes an AEX for every #PF):
	 * it must not hold up a tracking cycle. */
	if (lp && lp->in_enclave)
		cpu_lp_pause(&sgx_pf.cpu, (struct cpu_lp *)lp);
	drv_lock(&sgx_pf.lock);
	v = vma_find(addr);
	res = v ? v->ops->fault(v, addr, access, lp, errcode) : SGX_FAULT_NOT_OURS;
	if (res == SGX_FAULT_RETRY)
		stat_publish();
	if (lp && lp->in_enclave)
		cpu_lp_resume(&sgx_pf.cpu, (struct cpu_lp *)lp);
	drv_unlock(&sgx_pf.lock);
	return res;
}

long sgx_enclu(struct cpu_lp *lp, struct cpu_regs *regs, struct cpu_fault *f)
{
	bool inside = lp->in_enclave;
	long r;

	/* Waiting for the lock is time outside the enclave, as after an AEX: a reclaim that
	 * holds the lock must not wait for this thread to leave. */
	if (inside)
		cpu_lp_pause(&sgx_pf.cpu, lp);
	drv_lock(&sgx_pf.lock);
	if (inside)
		cpu_lp_resume(&sgx_pf.cpu, lp);
	r = enclu(&sgx_pf.cpu, lp, regs, f);
	drv_unlock(&sgx_pf.lock);
	return r;
}

/* Without the driver lock: an AEX touches only the thread's own TCS and SSA frame, which
 * cannot go away while it is inside, and a thread forced out by the ETRACK IPIs must be able
 * to exit while the ioctl that sent them holds the lock. */
void sgx_aex(struct cpu_lp *lp, struct cpu_regs *regs, unsigned vector, uint32_t errcode,
	     uint64_t addr)
{
	cpu_aex(&sgx_pf.cpu, lp, regs, vector, errcode, addr);
}
