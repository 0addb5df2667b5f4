/* ENCLS for guests. On hardware a guest runs most ENCLS leaves natively on its EPC (the vEPC
 * pages KVM mapped for it), and KVM intercepts ECREATE and EINIT to check them against what the
 * VM may have (arch/x86/kernel/cpu/sgx/virt.c, arch/x86/kvm/vmx/sgx.c). Here the VMM calls us
 * with the registers the guest loaded and its own addresses: EPC operands are addresses in its
 * vEPC mappings, the others plain memory. We copy the non-EPC operands in (faults become #PF on
 * the VMM's address), point the leaf at the EPC pages behind the vEPC addresses, and give back
 * what the CPU would: the SGX status code, or the fault. EINIT returns its raw code, as
 * sgx_virt_einit does; there is no errno translation on this path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/fault.h"
#include "driver/vepc.h"
#include "driver/virt.h"
#include "util/trace.h"

static struct {
	bool cpuid_set;          /* else the emulated CPU's own values */
	uint32_t miscselect;
	uint64_t attributes, xfrm;
	uint8_t max_size_log2;
	bool provisionkey;       /* KVM_CAP_SGX_ATTRIBUTE granted */
	uint8_t lehash[32];      /* the guest's virtual IA32_SGXLEPUBKEYHASH0-3 */
} vm;

/* An EPC operand: the direct-map address of the page behind a vEPC address (the page is
 * allocated on first use, as the guest's access would fault it in), or NULL with a #PF on
 * the VMM's address when it is not vEPC memory or the EPC is exhausted. */
static void *vepc_epc_operand(uint64_t addr, struct cpu_fault *f)
{
	long idx = vepc_epc_of(addr, true);

	if (idx < 0) {
		cpu_pf(f, addr, idx == -EFAULT ? 0 : X86_PF_W);
		return NULL;
	}
	return epc_page(&sgx_pf.cpu, (uint32_t)idx) + (addr & (SGX_PAGE_SIZE - 1));
}

static int copy_in(void *dst, uint64_t src, size_t len, struct cpu_fault *f)
{
	if (copy_from_user(dst, src, len)) {
		cpu_pf(f, src, 0);
		return -1;
	}
	return 0;
}

/* A #PF the leaf raised on an EPC operand names our direct-map address: give the VMM its own. */
static long fix_fault(long r, struct cpu_fault *f, const void *k1, uint64_t u1, const void *k2,
		      uint64_t u2)
{
	uint64_t a = f->addr & SGX_PAGE_MASK;

	if (r != CPU_FAULT || f->vector != X86_PF)
		return r;
	if (k1 && a == ((uintptr_t)k1 & SGX_PAGE_MASK))
		f->addr = (u1 & SGX_PAGE_MASK) | (f->addr & (SGX_PAGE_SIZE - 1));
	else if (k2 && a == ((uintptr_t)k2 & SGX_PAGE_MASK))
		f->addr = (u2 & SGX_PAGE_MASK) | (f->addr & (SGX_PAGE_SIZE - 1));
	return r;
}

/* What KVM checks before it lets a guest's ECREATE through (a #GP to the guest otherwise). */
static bool kvm_ecreate_allowed(const struct sgx_secs *s)
{
	const struct cpu_features *ft = &sgx_pf.cpu.feat;
	uint32_t misc = vm.cpuid_set ? vm.miscselect : ft->miscselect;
	uint64_t attr = vm.cpuid_set ? vm.attributes : ft->attributes;
	uint64_t xfrm = vm.cpuid_set ? vm.xfrm : ft->xfrm;
	uint8_t max = vm.cpuid_set ? vm.max_size_log2 : CPU_MAX_ENCLAVE_SIZE_64_LOG2;

	if ((s->attributes.flags & SGX_ATTR_PROVISIONKEY) && !vm.provisionkey)
		return false;
	if ((s->miscselect & ~misc) || (s->attributes.flags & ~attr) ||
	    (s->attributes.xfrm & ~xfrm) || (s->attributes.xfrm & 3) != 3)
		return false;
	return max < 64 && s->size < (1ULL << max);
}

/* ECREATE: RBX = PAGEINFO, RCX = the SECS page. */
static long v_ecreate(uint64_t rbx, uint64_t rcx, struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	struct sgx_secs *secs;
	void *dst;
	long r;

	if (!cpu_aligned(rbx, 32) || !cpu_aligned(rcx, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if (!(dst = vepc_epc_operand(rcx, f)) || copy_in(&pi, rbx, sizeof(pi), f))
		return CPU_FAULT;
	if (!cpu_aligned(pi.srcpge, SGX_PAGE_SIZE) || !cpu_aligned(pi.secinfo, 64))
		return cpu_gp(f);
	secs = aligned_alloc(SGX_PAGE_SIZE, sizeof(*secs));
	if (!secs)
		return cpu_gp(f);
	if (copy_in(secs, pi.srcpge, sizeof(*secs), f) || copy_in(&si, pi.secinfo, sizeof(si), f)) {
		free(secs);
		return CPU_FAULT;
	}
	if (!kvm_ecreate_allowed(secs)) {
		TRACEC(TRACE_ENCLS, "guest ECREATE refused: attributes=0x%lx xfrm=0x%lx misc=0x%x size=0x%lx",
		      (unsigned long)secs->attributes.flags, (unsigned long)secs->attributes.xfrm,
		      secs->miscselect, (unsigned long)secs->size);
		free(secs);
		return cpu_gp(f);
	}
	pi.srcpge = (uintptr_t)secs;
	pi.secinfo = (uintptr_t)&si;
	r = fix_fault(encls_ecreate(&sgx_pf.cpu, &pi, dst, f), f, dst, rcx, NULL, 0);
	free(secs);
	return r;
}

/* EADD: RBX = PAGEINFO (its SECS a vEPC address), RCX = the target page. */
static long v_eadd(uint64_t rbx, uint64_t rcx, struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	struct sgx_secinfo si __attribute__((aligned(64)));
	uint64_t usecs;
	uint8_t *src;
	void *dst, *secs;
	long r;

	if (!cpu_aligned(rbx, 32) || !cpu_aligned(rcx, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if (!(dst = vepc_epc_operand(rcx, f)) || copy_in(&pi, rbx, sizeof(pi), f))
		return CPU_FAULT;
	if (!cpu_aligned(pi.srcpge, SGX_PAGE_SIZE) || !cpu_aligned(pi.secs, SGX_PAGE_SIZE) ||
	    !cpu_aligned(pi.secinfo, 64) || !cpu_aligned(pi.linaddr, SGX_PAGE_SIZE))
		return cpu_gp(f);
	usecs = pi.secs;
	if (!(secs = vepc_epc_operand(usecs, f)))
		return CPU_FAULT;
	src = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	if (!src)
		return cpu_gp(f);
	if (copy_in(src, pi.srcpge, SGX_PAGE_SIZE, f) || copy_in(&si, pi.secinfo, sizeof(si), f)) {
		free(src);
		return CPU_FAULT;
	}
	pi.srcpge = (uintptr_t)src;
	pi.secinfo = (uintptr_t)&si;
	pi.secs = (uintptr_t)secs;
	r = fix_fault(encls_eadd(&sgx_pf.cpu, &pi, dst, f), f, dst, rcx, secs, usecs);
	free(src);
	return r;
}

/* EEXTEND: RBX = SECS, RCX = a 256-byte chunk of an added page. */
static long v_eextend(uint64_t rbx, uint64_t rcx, struct cpu_fault *f)
{
	void *secs, *chunk;

	if (!cpu_aligned(rbx, SGX_PAGE_SIZE) || !cpu_aligned(rcx, 256))
		return cpu_gp(f);
	if (!(secs = vepc_epc_operand(rbx, f)) || !(chunk = vepc_epc_operand(rcx, f)))
		return CPU_FAULT;
	return fix_fault(encls_eextend(&sgx_pf.cpu, secs, chunk, f), f, secs, rbx, chunk, rcx);
}

/* EINIT: RBX = SIGSTRUCT, RCX = SECS, RDX = EINITTOKEN. Launch control uses the guest's
 * virtual LE hash, written into the MSRs for this EINIT only (as KVM does). */
static long v_einit(uint64_t rbx, uint64_t rcx, uint64_t rdx, struct cpu_fault *f)
{
	struct sgx_sigstruct *sig;
	struct sgx_einittoken *token;
	uint8_t saved[32];
	void *secs;
	long r = CPU_FAULT;

	if (!cpu_aligned(rbx, SGX_PAGE_SIZE) || !cpu_aligned(rcx, SGX_PAGE_SIZE) || !cpu_aligned(rdx, 512))
		return cpu_gp(f);
	if (!(secs = vepc_epc_operand(rcx, f)))
		return CPU_FAULT;
	sig = aligned_alloc(SGX_PAGE_SIZE, SGX_PAGE_SIZE);
	token = aligned_alloc(512, 512);
	if (!sig || !token) {
		r = cpu_gp(f);
		goto out;
	}
	if (copy_in(sig, rbx, sizeof(*sig), f) || copy_in(token, rdx, sizeof(*token), f))
		goto out;
	memcpy(saved, sgx_pf.cpu.lepubkeyhash, sizeof(saved));
	memcpy(sgx_pf.cpu.lepubkeyhash, vm.lehash, sizeof(saved));
	r = fix_fault(encls_einit(&sgx_pf.cpu, sig, secs, token, f), f, secs, rcx, NULL, 0);
	memcpy(sgx_pf.cpu.lepubkeyhash, saved, sizeof(saved));
out:
	free(sig);
	free(token);
	return r;
}

/* EAUG: RBX = PAGEINFO (LINADDR and SECS only), RCX = the target page. */
static long v_eaug(uint64_t rbx, uint64_t rcx, struct cpu_fault *f)
{
	struct sgx_pageinfo pi __attribute__((aligned(32)));
	uint64_t usecs;
	void *dst, *secs;

	if (!cpu_aligned(rbx, 32) || !cpu_aligned(rcx, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if (!(dst = vepc_epc_operand(rcx, f)) || copy_in(&pi, rbx, sizeof(pi), f))
		return CPU_FAULT;
	if (!cpu_aligned(pi.secs, SGX_PAGE_SIZE) || !cpu_aligned(pi.linaddr, SGX_PAGE_SIZE) || pi.srcpge ||
	    pi.secinfo)
		return cpu_gp(f);
	usecs = pi.secs;
	if (!(secs = vepc_epc_operand(usecs, f)))
		return CPU_FAULT;
	pi.secs = (uintptr_t)secs;
	return fix_fault(encls_eaug(&sgx_pf.cpu, &pi, dst, f), f, dst, rcx, secs, usecs);
}

/* EMODPR / EMODT: RBX = SECINFO, RCX = the page. */
static long v_emod(uint32_t leaf, uint64_t rbx, uint64_t rcx, struct cpu_fault *f)
{
	struct sgx_secinfo si __attribute__((aligned(64)));
	void *pg;

	if (!cpu_aligned(rbx, 64) || !cpu_aligned(rcx, SGX_PAGE_SIZE))
		return cpu_gp(f);
	if (copy_in(&si, rbx, sizeof(si), f) || !(pg = vepc_epc_operand(rcx, f)))
		return CPU_FAULT;
	return fix_fault(leaf == ENCLS_EMODPR ? encls_emodpr(&sgx_pf.cpu, &si, pg, f) :
						encls_emodt(&sgx_pf.cpu, &si, pg, f),
			 f, pg, rcx, NULL, 0);
}

static long virt_leaf(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx, struct cpu_fault *f)
{
	void *pg;

	switch (leaf) {
	case ENCLS_ECREATE:
		return v_ecreate(rbx, rcx, f);
	case ENCLS_EADD:
		return v_eadd(rbx, rcx, f);
	case ENCLS_EINIT:
		return v_einit(rbx, rcx, rdx, f);
	case ENCLS_EREMOVE:
		if (!cpu_aligned(rcx, SGX_PAGE_SIZE))
			return cpu_gp(f);
		if (!(pg = vepc_epc_operand(rcx, f)))
			return CPU_FAULT;
		return fix_fault(encls_eremove(&sgx_pf.cpu, pg, f), f, pg, rcx, NULL, 0);
	case ENCLS_EEXTEND:
		return v_eextend(rbx, rcx, f);
	case ENCLS_EAUG:
		return sgx_pf.cpu.feat.sgx2 ? v_eaug(rbx, rcx, f) : cpu_gp(f);
	case ENCLS_EMODPR:
	case ENCLS_EMODT:
		return sgx_pf.cpu.feat.sgx2 ? v_emod(leaf, rbx, rcx, f) : cpu_gp(f);
	case ENCLS_ETRACK:
		if (!sgx_pf.cpu.feat.sgx2)
			return cpu_gp(f);
		if (!cpu_aligned(rcx, SGX_PAGE_SIZE))
			return cpu_gp(f);
		if (!(pg = vepc_epc_operand(rcx, f)))
			return CPU_FAULT;
		return fix_fault(encls_etrack(&sgx_pf.cpu, pg, f), f, pg, rcx, NULL, 0);
	default:
		/* Paging and debug leaves are not offered to guests. */
		return cpu_gp(f);
	}
}

long sgx_virt_encls(uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx, struct cpu_fault *f)
{
	long r;

	drv_lock(&sgx_pf.lock);
	r = virt_leaf(leaf, rbx, rcx, rdx, f);
	/* The leaves that change the EPCM of their target page: its host mapping follows. */
	if (r == SGX_SUCCESS && leaf != ENCLS_EINIT && leaf != ENCLS_EEXTEND && leaf != ENCLS_ETRACK)
		vepc_epcm_changed(rcx & SGX_PAGE_MASK);
	/* Sixteen EEXTENDs a page: only their failures are worth a line. */
	if (leaf != ENCLS_EEXTEND || r != SGX_SUCCESS)
		TRACEC(TRACE_ENCLS, "guest %s rbx=0x%lx rcx=0x%lx -> %s", sgx_encls_name(leaf), (unsigned long)rbx,
		      (unsigned long)rcx,
		      r == CPU_FAULT ? (f->vector == X86_GP ? "#GP" : "#PF") : sgx_status_name((uint64_t)r));
	drv_unlock(&sgx_pf.lock);
	return r;
}

int sgx_virt_set_cpuid(uint32_t miscselect, uint64_t attributes, uint64_t xfrm,
		       uint8_t max_enclave_size_64)
{
	const struct cpu_features *ft = &sgx_pf.cpu.feat;
	int r = 0;

	drv_lock(&sgx_pf.lock);
	if ((miscselect & ~ft->miscselect) || (attributes & ~ft->attributes) || (xfrm & ~ft->xfrm) ||
	    max_enclave_size_64 > CPU_MAX_ENCLAVE_SIZE_64_LOG2) {
		r = -EINVAL;
	} else {
		vm.cpuid_set = true;
		vm.miscselect = miscselect;
		vm.attributes = attributes;
		vm.xfrm = xfrm;
		vm.max_size_log2 = max_enclave_size_64;
	}
	drv_unlock(&sgx_pf.lock);
	return r;
}

void sgx_virt_allow_provisionkey(bool allow)
{
	drv_lock(&sgx_pf.lock);
	vm.provisionkey = allow;
	drv_unlock(&sgx_pf.lock);
}

void sgx_virt_set_lepubkeyhash(const uint8_t hash[32])
{
	drv_lock(&sgx_pf.lock);
	memcpy(vm.lehash, hash, sizeof(vm.lehash));
	drv_unlock(&sgx_pf.lock);
}
