/* The C half of the direct EENTER (host/direct_enter.S): the vDSO's EENTER without a trap.
 * Runs in the program's thread on its own stack, not in a signal handler. Built like the
 * trap paths (no stack protector): it leaves with the enclave's FS/GS bases loaded. */
#include <stddef.h>

#include "host/host.h"
#include "host/thread.h"
#include "util/trace.h"

_Static_assert(offsetof(struct cpu_regs, rax) == 0, "R_RAX");
_Static_assert(offsetof(struct cpu_regs, rsp) == 48, "R_RSP");
_Static_assert(offsetof(struct cpu_regs, r8) == 64, "R_R8");
_Static_assert(offsetof(struct cpu_regs, r15) == 120, "R_R15");
_Static_assert(offsetof(struct cpu_regs, rip) == 128, "R_RIP");
_Static_assert(offsetof(struct cpu_regs, rflags) == 136, "R_RFL");
_Static_assert(sizeof(struct cpu_regs) <= 176, "FRAME");

int host_direct_eenter(struct cpu_regs *r);

/* 0: the thread is in the enclave and r holds its state; otherwise r is unchanged and the
 * real ENCLU runs (its trap covers faults, ERESUME and everything unusual). */
int host_direct_eenter(struct cpu_regs *r)
{
	struct thread_rec *t;
	struct cpu_regs n;
	struct cpu_fault f;
	uint64_t t0;

	if (!host_active || (unsigned)r->rax != ENCLU_EENTER)
		return 1;
	t = thread_self();
	if (!t || t->lp.in_enclave)
		return 1;
	/* Enclave code traps into signal handlers: they need an alternate stack. */
	thread_ensure_altstack(t, NULL);
	n = *r;
	n.xsave = NULL; /* EENTER neither saves nor loads extended state */
	n.fsbase = fs_base_get();
	n.gsbase = gs_base_get();
	t0 = TRACE_ON(TRACE_SUMMARY) ? trace_now() : 0;
	if (sgx_enclu(&t->lp, &n, &f) != 0)
		return 1;
	if (t0)
		trace_count(TRACE_STAT_ENCLU, ENCLU_EENTER, "EENTER", false, trace_now() - t0);
	TRACEC(TRACE_ENCLU, "EENTER tcs=0x%lx -> ok rip=0x%lx (direct)", (unsigned long)r->rbx,
	       (unsigned long)n.rip);
	*r = n;
	fs_base_set(n.fsbase);
	gs_base_set(n.gsbase);
	return 0;
}

void sgxemu_direct_enclu(void);

void (*host_direct_entry(void))(void)
{
	return sgxemu_direct_enclu;
}
