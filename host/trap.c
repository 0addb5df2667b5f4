/* The trap paths: ENCLU (SIGILL where the CPU has no SGX, SIGSEGV where it raises #GP/#PF
 * for it), exceptions inside an enclave (AEX), faults on enclave mappings, CPUID faulting.
 * Async-signal-safe: no malloc, no stdio, no lock the interrupted code may hold; the host
 * FS/GS bases are restored before anything may touch TLS. Built without stack protector. */
#include <string.h>
#include <ucontext.h>

#include "host/host.h"
#include "host/signal.h"
#include "host/thread.h"
#include "host/vdso.h"
#include "util/trace.h"

#define SI_KERNEL_CODE 0x80

/* The FP state of a signal frame: Linux saves it with XSAVE (standard format) and describes
 * it in the software-reserved bytes 464-511 of the legacy region (magic1, extended_size,
 * xfeatures, xstate_size); without that description it is a bare 512-byte FXSAVE image. */
#define FPX_SW_OFF 464
#define FPX_MAGIC1 0x46505853U

static void xsave_from_uc(struct cpu_xsave *x, const ucontext_t *uc)
{
	uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic1, xstate_size;
	uint64_t xfeatures;

	x->area = fp;
	x->size = 512;
	x->features = 0x3;
	if (!fp)
		return;
	memcpy(&magic1, fp + FPX_SW_OFF, 4);
	memcpy(&xfeatures, fp + FPX_SW_OFF + 8, 8);
	memcpy(&xstate_size, fp + FPX_SW_OFF + 16, 4);
	if (magic1 == FPX_MAGIC1 && xstate_size >= 576) {
		x->size = xstate_size;
		x->features = xfeatures;
	}
}

static void regs_from_uc(struct cpu_regs *r, struct cpu_xsave *x, const ucontext_t *uc)
{
	const greg_t *g = uc->uc_mcontext.gregs;

	r->rax = (uint64_t)g[REG_RAX]; r->rbx = (uint64_t)g[REG_RBX];
	r->rcx = (uint64_t)g[REG_RCX]; r->rdx = (uint64_t)g[REG_RDX];
	r->rsi = (uint64_t)g[REG_RSI]; r->rdi = (uint64_t)g[REG_RDI];
	r->rsp = (uint64_t)g[REG_RSP]; r->rbp = (uint64_t)g[REG_RBP];
	r->r8 = (uint64_t)g[REG_R8]; r->r9 = (uint64_t)g[REG_R9];
	r->r10 = (uint64_t)g[REG_R10]; r->r11 = (uint64_t)g[REG_R11];
	r->r12 = (uint64_t)g[REG_R12]; r->r13 = (uint64_t)g[REG_R13];
	r->r14 = (uint64_t)g[REG_R14]; r->r15 = (uint64_t)g[REG_R15];
	r->rip = (uint64_t)g[REG_RIP]; r->rflags = (uint64_t)g[REG_EFL];
	xsave_from_uc(x, uc);
	r->xsave = x->area ? x : NULL;
}

static void regs_to_uc(const struct cpu_regs *r, ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;

	g[REG_RAX] = (greg_t)r->rax; g[REG_RBX] = (greg_t)r->rbx;
	g[REG_RCX] = (greg_t)r->rcx; g[REG_RDX] = (greg_t)r->rdx;
	g[REG_RSI] = (greg_t)r->rsi; g[REG_RDI] = (greg_t)r->rdi;
	g[REG_RSP] = (greg_t)r->rsp; g[REG_RBP] = (greg_t)r->rbp;
	g[REG_R8] = (greg_t)r->r8; g[REG_R9] = (greg_t)r->r9;
	g[REG_R10] = (greg_t)r->r10; g[REG_R11] = (greg_t)r->r11;
	g[REG_R12] = (greg_t)r->r12; g[REG_R13] = (greg_t)r->r13;
	g[REG_R14] = (greg_t)r->r14; g[REG_R15] = (greg_t)r->r15;
	g[REG_RIP] = (greg_t)r->rip; g[REG_EFL] = (greg_t)r->rflags;
}

/* Whether the instruction at rip starts with bytes. Enclave code is read from the EPC, since
 * another thread may have just unmapped it (reclaim); *gone is set when it is not resident. */
static bool insn_is(struct thread_rec *t, uint64_t rip, const uint8_t *bytes, unsigned n,
		    bool *gone)
{
	uint8_t b[4];
	int r = sgx_peek(rip, b, n, t ? &t->lp : NULL);

	if (r < 0) {
		*gone = true;
		return false;
	}
	if (r > 0)
		return memcmp((const void *)(uintptr_t)rip, bytes, n) == 0;
	return memcmp(b, bytes, n) == 0;
}

static unsigned access_of(uint64_t err)
{
	if (err & X86_PF_I)
		return ACCESS_X;
	return (err & X86_PF_W) ? ACCESS_W : ACCESS_R;
}

/* What the kernel's vDSO fixup does for an exception on its ENCLU: resume at the vDSO's
 * exception label with the trap number, error code and address in RDI, RSI, RDX. */
static const char *vector_name(unsigned v)
{
	switch (v) {
	case X86_DE: return "#DE";
	case X86_DB: return "#DB";
	case X86_BP: return "#BP";
	case X86_BR: return "#BR";
	case X86_UD: return "#UD";
	case X86_NM: return "#NM";
	case X86_GP: return "#GP";
	case X86_PF: return "#PF";
	case X86_MF: return "#MF";
	case X86_AC: return "#AC";
	case X86_XM: return "#XM";
	default: return "#?";
	}
}

static void vdso_fixup(ucontext_t *uc, unsigned vector, uint32_t err, uint64_t addr)
{
	greg_t *g = uc->uc_mcontext.gregs;

	TRACEC(TRACE_AEX, "exception %s error=0x%x addr=0x%lx returned to the vDSO's caller",
	       vector_name(vector), err, (unsigned long)addr);
	g[REG_RIP] = (greg_t)vdso_fixup_ip();
	g[REG_RDI] = vector;
	g[REG_RSI] = err;
	g[REG_RDX] = (greg_t)addr;
}

static void deliver_fault(int sig, int code, unsigned vector, uint32_t err, uint64_t addr,
			  const siginfo_t *orig, ucontext_t *uc)
{
	siginfo_t si;

	if (orig)
		si = *orig;
	else
		memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = code;
	si.si_errno = 0;
	si.si_addr = (void *)(uintptr_t)addr;
	uc->uc_mcontext.gregs[REG_TRAPNO] = vector;
	uc->uc_mcontext.gregs[REG_ERR] = err;
	if (vector == X86_PF)
		uc->uc_mcontext.gregs[REG_CR2] = (greg_t)addr;
	TRACEC(TRACE_AEX, "signal %s code=%d addr=0x%lx delivered at rip=0x%lx",
	       sig == SIGSEGV ? "SIGSEGV" : sig == SIGILL ? "SIGILL" : sig == SIGBUS ? "SIGBUS" :
	       sig == SIGFPE ? "SIGFPE" : sig == SIGTRAP ? "SIGTRAP" : "SIG?", code,
	       (unsigned long)addr, (unsigned long)uc->uc_mcontext.gregs[REG_RIP]);
	/* An exception of the thread's own: the kernel forces it (blocked or ignored means the
	 * default action). */
	signal_deliver(sig, &si, uc, true);
}

/* An exception while the thread is in enclave mode: AEX, then report it as the kernel would
 * (through the vDSO if the AEP is the vDSO's ENCLU, else as a signal at the AEP). */
static void enclave_exception(struct thread_rec *t, struct cpu_regs *r, ucontext_t *uc, int sig,
			      const siginfo_t *si, unsigned vector, uint32_t err, uint64_t addr)
{
	int code = si ? si->si_code : SI_KERNEL_CODE;

	if (TRACE_ON(TRACE_AEX)) {
		char eb[64];

		if (vector == X86_PF)
			trace_printf("AEX #PF addr=0x%lx error=0x%x (%s) rip=0x%lx tcs=0x%lx",
				     (unsigned long)addr, err, trace_pf_error(eb, sizeof(eb), err),
				     (unsigned long)r->rip, (unsigned long)t->lp.tcs_la);
		else
			trace_printf("AEX %s vector=%u error=0x%x rip=0x%lx tcs=0x%lx",
				     vector_name(vector), vector, err, (unsigned long)r->rip,
				     (unsigned long)t->lp.tcs_la);
	}
	sgx_aex(&t->lp, r, vector, err, addr);
	regs_to_uc(r, uc);
	/* The OS sees only the page of a #PF taken in enclave mode; for other traps the kernel
	 * reports no address to the vDSO, and the signal's si_addr is the (AEP) instruction. */
	if (vector == X86_PF)
		addr &= SGX_PAGE_MASK;
	else
		addr = 0;
	if (vector != X86_DB && vector != X86_BP && r->rip == vdso_enclu_ip()) {
		vdso_fixup(uc, vector, err & 0xFFFF, addr);
		return;
	}
	if (vector != X86_PF && vector != X86_GP)
		addr = r->rip;
	deliver_fault(sig, code, vector, err, addr, si, uc);
}

/* What RBX holds for a leaf, and whether RCX is a page address, for trace lines. */
static bool rcx_used(unsigned leaf)
{
	return leaf == ENCLU_EACCEPT || leaf == ENCLU_EMODPE || leaf == ENCLU_EACCEPTCOPY;
}

static const char *rbx_name(unsigned leaf)
{
	return leaf == ENCLU_EENTER || leaf == ENCLU_ERESUME ? "tcs" :
	       leaf == ENCLU_EEXIT ? "target" : leaf == ENCLU_EREPORT ? "targetinfo" :
	       leaf == ENCLU_EGETKEY ? "keyrequest" : rcx_used(leaf) ? "secinfo" : "rbx";
}

static void handle_enclu(struct thread_rec *t, struct cpu_regs *r, ucontext_t *uc)
{
	unsigned leaf = (unsigned)r->rax;
	uint64_t rip = r->rip, rcx = r->rcx;
	bool was_in = t->lp.in_enclave;
	struct cpu_fault f;
	uint64_t t0;
	long res;

	if (!was_in && (leaf == ENCLU_EENTER || leaf == ENCLU_ERESUME))
		thread_ensure_altstack(t, &uc->uc_stack);
	t0 = TRACE_ON(TRACE_SUMMARY) ? trace_now() : 0;
	res = sgx_enclu(&t->lp, r, &f);
	if (t0)
		trace_count(TRACE_STAT_ENCLU, leaf, sgx_enclu_name(leaf), res != 0,
			    trace_now() - t0);
	if (res == 0) {
		TRACEC(TRACE_ENCLU, "%s %s=0x%lx%s%lx -> ok rip=0x%lx", sgx_enclu_name(leaf),
		       rbx_name(leaf), (unsigned long)uc->uc_mcontext.gregs[REG_RBX],
		       rcx_used(leaf) ? " page=0x" : "", rcx_used(leaf) ? (unsigned long)rcx : 0,
		       (unsigned long)r->rip);
		regs_to_uc(r, uc);
		return;
	}
	if (TRACE_ON(TRACE_ENCLU)) {
		char eb[64];

		trace_printf("%s %s=0x%lx -> %s addr=0x%lx error=0x%x (%s)", sgx_enclu_name(leaf),
			     rbx_name(leaf), (unsigned long)r->rbx, f.vector == X86_GP ? "#GP" : "#PF",
			     (unsigned long)f.addr, f.errcode,
			     f.vector == X86_GP ? "0" : trace_pf_error(eb, sizeof(eb), f.errcode));
	}
	/* An operand page the kernel can provide (EAUG, reload of a swapped page) is fixed up
	 * and the ENCLU runs again, invisibly, as after a resolved #PF on hardware. */
	if (f.vector == X86_PF && !(f.errcode & X86_PF_SGX)) {
		uint32_t e2 = 0;
		enum sgx_fault_result res = sgx_fault(f.addr, access_of(f.errcode), &t->lp, &e2);

		/* Also when the page is there by now (another thread's fault added or reloaded
		 * it) and only the EPCM would refuse a data access: the leaf's own EPCM checks
		 * decide, so it runs again. */
		if (res == SGX_FAULT_RETRY || (res == SGX_FAULT_SIGSEGV && (e2 & X86_PF_SGX)))
			return;
	}
	if (was_in) {
		enclave_exception(t, r, uc, SIGSEGV, NULL, f.vector, f.errcode, f.addr);
		return;
	}
	if (rip == vdso_enclu_ip()) {
		vdso_fixup(uc, f.vector, f.errcode & 0xFFFF, f.addr);
		return;
	}
	if (f.vector == X86_GP)
		deliver_fault(SIGSEGV, SI_KERNEL_CODE, X86_GP, 0, 0, NULL, uc);
	else
		deliver_fault(SIGSEGV, (f.errcode & X86_PF_P) ? SEGV_ACCERR : SEGV_MAPERR, X86_PF,
			      f.errcode, f.addr, NULL, uc);
}

static void emulate_cpuid(ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	uint32_t regs[4];

	cpuid_query((uint32_t)g[REG_RAX], (uint32_t)g[REG_RCX], regs);
	g[REG_RAX] = regs[0];
	g[REG_RBX] = regs[1];
	g[REG_RCX] = regs[2];
	g[REG_RDX] = regs[3];
	g[REG_RIP] += 2;
}

/* An interrupt-like exit: the thread, in enclave mode, takes an AEX that reports nothing and
 * leaves the context at its AEP (whose ERESUME later continues the enclave). Restores the
 * host FS/GS bases first. */
static void interrupt_aex(struct thread_rec *t, ucontext_t *uc)
{
	struct cpu_regs r;
	struct cpu_xsave xs;

	regs_from_uc(&r, &xs, uc);
	r.fsbase = fs_base_get();
	r.gsbase = gs_base_get();
	fs_base_set(t->lp.out_fsbase);
	gs_base_set(t->lp.out_gsbase);
	sgx_aex(&t->lp, &r, SGX_AEX_INTERRUPT, 0, 0);
	regs_to_uc(&r, uc);
}

/* The emulated IPI of the driver's ETRACK. A real-time signal of the program's that is not
 * ours is passed on (after the AEX, if the thread was inside). */
void ipi_handler(int sig, siginfo_t *si, void *ucv)
{
	struct thread_rec *t = thread_self();

	signal_enter(t, ucv);
	if (t && t->lp.in_enclave)
		interrupt_aex(t, ucv);
	if (si->si_code != SI_QUEUE || si->si_value.sival_int != SGXEMU_IPI_MAGIC)
		signal_deliver(sig, si, ucv, false);
	signal_leave(t);
}

/* A signal of the program's own (asynchronous: a timer, another thread's kill): in enclave
 * mode, the AEX comes first; the program's handler then runs at the AEP context and its
 * return resumes the enclave through the AEP, as on hardware. */
void async_signal_handler(int sig, siginfo_t *si, void *ucv)
{
	struct thread_rec *t = thread_self();

	signal_enter(t, ucv);
	if (t && t->lp.in_enclave)
		interrupt_aex(t, ucv);
	signal_deliver(sig, si, ucv, false);
	signal_leave(t);
}

/* A SIGSYS that is not a trap of our filter (a program's own filter, or kill): like any
 * other signal of the program's. */
void trap_program_sigsys(struct thread_rec *t, siginfo_t *si, ucontext_t *uc)
{
	signal_enter(t, uc);
	if (t && t->lp.in_enclave)
		interrupt_aex(t, uc);
	signal_deliver(SIGSYS, si, uc, si->si_code > 0 && si->si_code != SI_KERNEL_CODE);
	signal_leave(t);
}

/* Enclave code executed SYSCALL and the filter trapped it: on hardware SYSCALL in enclave
 * mode is #UD. */
void trap_enclave_syscall(struct thread_rec *t, siginfo_t *si, ucontext_t *uc)
{
	struct cpu_regs r;
	struct cpu_xsave xs;
	siginfo_t ill;

	signal_enter(t, uc);
	regs_from_uc(&r, &xs, uc);
	r.fsbase = fs_base_get();
	r.gsbase = gs_base_get();
	fs_base_set(t->lp.out_fsbase);
	gs_base_set(t->lp.out_gsbase);
	/* RIP is after the SYSCALL: the fault is at the instruction. */
	r.rip -= 2;
	memset(&ill, 0, sizeof(ill));
	ill.si_signo = SIGILL;
	ill.si_code = ILL_ILLOPN;
	(void)si;
	enclave_exception(t, &r, uc, SIGILL, &ill, X86_UD, 0, 0);
	if (t->lp.in_enclave) {
		fs_base_set(r.fsbase);
		gs_base_set(r.gsbase);
	}
	signal_leave(t);
}

void trap_handler(int sig, siginfo_t *si, void *ucv)
{
	static const uint8_t enclu_bytes[3] = { 0x0F, 0x01, 0xD7 };
	static const uint8_t cpuid_bytes[2] = { 0x0F, 0xA2 };
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct thread_rec *t = thread_self();
	bool was_in = t && t->lp.in_enclave;
	unsigned trapno = (unsigned)g[REG_TRAPNO];
	uint64_t err = (uint64_t)g[REG_ERR];
	bool fetch_fault = sig == SIGSEGV && trapno == X86_PF && (err & X86_PF_I);
	bool gone = false;
	struct cpu_regs r;
	struct cpu_xsave xs;

	signal_enter(t, uc);
	if (si->si_code <= 0) {
		/* Sent by kill, tgkill or sigqueue: an interrupt, not an exception. */
		if (was_in)
			interrupt_aex(t, uc);
		signal_deliver(sig, si, uc, false);
		signal_leave(t);
		return;
	}
	regs_from_uc(&r, &xs, uc);
	if (was_in) {
		/* The enclave's FS/GS are live; switch to ours before anything else. */
		r.fsbase = fs_base_get();
		r.gsbase = gs_base_get();
		fs_base_set(t->lp.out_fsbase);
		gs_base_set(t->lp.out_gsbase);
	} else {
		r.fsbase = fs_base_get();
		r.gsbase = gs_base_get();
	}

	if (t && host_active && !fetch_fault && (sig == SIGILL || sig == SIGSEGV || sig == SIGBUS) &&
	    insn_is(t, r.rip, enclu_bytes, 3, &gone)) {
		handle_enclu(t, &r, uc);
	} else if (gone) {
		/* The code page went away (reclaim) since the trap: run it again; the fetch will
		 * bring the page back. */
	} else if (was_in) {
		unsigned vector = trapno;
		uint64_t addr = (uint64_t)(uintptr_t)si->si_addr;
		uint32_t e = (uint32_t)err;
		int dsig = sig;

		if (sig == SIGSEGV && trapno == X86_PF) {
			uint32_t e2 = 0;
			enum sgx_fault_result res = sgx_fault(addr, access_of(err), &t->lp, &e2);

			if (res == SGX_FAULT_RETRY)
				goto out;
			if (res == SGX_FAULT_SIGSEGV || res == SGX_FAULT_SIGBUS)
				e = e2;
			if (res == SGX_FAULT_SIGBUS)
				dsig = SIGBUS;
		} else if (sig == SIGILL ||
			   (sig == SIGSEGV && trapno == X86_GP && cpuid_faulting_enabled() &&
			    insn_is(t, r.rip, cpuid_bytes, 2, &gone))) {
			/* CPUID is #UD in enclave mode (CPUID faulting made it a #GP here). */
			vector = X86_UD;
			dsig = SIGILL;
		}
		enclave_exception(t, &r, uc, dsig, si, vector, e, addr);
	} else if (sig == SIGSEGV && !fetch_fault && cpuid_faulting_enabled() &&
		   insn_is(t, r.rip, cpuid_bytes, 2, &gone)) {
		emulate_cpuid(uc);
	} else if (sig == SIGSEGV && trapno == X86_PF && host_active && t) {
		uint64_t addr = (uint64_t)(uintptr_t)si->si_addr;
		uint32_t e2 = 0;

		switch (sgx_fault(addr, access_of(err), &t->lp, &e2)) {
		case SGX_FAULT_RETRY:
			break;
		case SGX_FAULT_SIGBUS:
			deliver_fault(SIGBUS, BUS_ADRERR, X86_PF, e2, addr, si, uc);
			break;
		default:
			signal_deliver(sig, si, uc, si->si_code > 0);
			break;
		}
	} else {
		/* Not ours: the program's fault (forced, as the kernel forces it) or a signal
		 * someone sent it. */
		signal_deliver(sig, si, uc, si->si_code > 0);
	}
out:
	if (t && t->lp.in_enclave) {
		fs_base_set(r.fsbase);
		gs_base_set(r.gsbase);
	}
	signal_leave(t);
}
