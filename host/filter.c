/* The seccomp filter. It returns SECCOMP_RET_TRAP (SIGSYS, handled by host/sys_trap.c) for
 * exactly the system calls sgxemu must see when a program makes them without libc, and lets
 * everything else through. The conditions test only the call's number and its arguments'
 * values (a filter cannot read memory), and they are constants: the filter survives execve,
 * so it must mean the same in every image. The kernel's per-number cache lets a call through
 * without running the program when the number alone decides, so ordinary calls cost only the
 * seccomp entry itself (see `make bench`).
 *
 * Trapped, unless made from the gate (host/gate.h):
 *   ioctl             with an SGX command (type 0xA4 in the low 32 bits, all the kernel reads)
 *   open, openat      for reading and writing without O_CREAT (how device files are opened)
 *   openat2           always (its flags are in memory)
 *   mmap              of an fd in the reserved range (host/fd.h)
 *   close, dup        of an fd in the reserved range; dup2, dup3 from or onto one
 *   fcntl             F_DUPFD or F_DUPFD_CLOEXEC of one
 *   close_range       always (it may span our fds)
 *   rt_sigaction, rt_sigprocmask   always (the program's signal state is partly ours)
 *   clone             without CLONE_VM (a fork); fork always; vfork never (it shares memory
 *                     and runs no handlers of ours until it execs)
 *   execve, execveat  always (the new image must get the preload)
 * clone3 fails with ENOSYS (its flags are in memory; glibc then uses clone).
 * Not trapped: munmap, mprotect, madvise and mremap (a trap on a thread that unmaps the
 * stack it runs on could not return), sigaltstack, and stat/access of the device paths:
 * without libc those reach the kernel (docs/fidelity.md). */
#include "host/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "host/fd.h"
#include "host/gate.h"
#include "host/host.h"
#include "host/scan.h"
#include "util/rawsys.h"
#include "util/trace.h"

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (IP_LO + 4)

#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_TRAP (SECCOMP_RET_TRAP | FILTER_TAG)
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)

/* A probe the filter traps and nothing else would issue: ioctl(-1, SGX type, nr 0xff). */
#define PROBE_CMD 0xA4FFUL

static bool active;
static atomic_ulong traps;

/* Label-based program construction: jumps name labels, resolved at the end. */
enum label {
	L_NONE, L_ALLOW, L_TRAP, L_ENOSYS, L_CHECK_IP, L_IOCTL, L_OPEN, L_OPENAT, L_MMAP, L_FD0,
	L_DUP2, L_FCNTL, L_CLONE, L_ARGS, L_COUNT
};

struct insn {
	struct sock_filter f;
	enum label jt, jf;   /* for conditional jumps */
	enum label here;     /* label defined at this instruction */
};

#define MAX_INSNS 96

struct prog {
	struct insn in[MAX_INSNS];
	unsigned n;
	enum label pending;  /* label for the next instruction */
};

static void emit(struct prog *p, uint16_t code, uint32_t k, enum label jt, enum label jf)
{
	struct insn *i = &p->in[p->n++];

	i->f = (struct sock_filter){ code, 0, 0, k };
	i->jt = jt;
	i->jf = jf;
	i->here = p->pending;
	p->pending = L_NONE;
}

static void label(struct prog *p, enum label l)
{
	p->pending = l;
}

static void ld(struct prog *p, uint32_t off)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, off, L_NONE, L_NONE);
}

static void ret(struct prog *p, uint32_t v)
{
	emit(p, BPF_RET | BPF_K, v, L_NONE, L_NONE);
}

static void jeq(struct prog *p, uint32_t k, enum label t, enum label f)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, k, t, f);
}

static void jge(struct prog *p, uint32_t k, enum label t, enum label f)
{
	emit(p, BPF_JMP | BPF_JGE | BPF_K, k, t, f);
}

static void jset(struct prog *p, uint32_t k, enum label t, enum label f)
{
	emit(p, BPF_JMP | BPF_JSET | BPF_K, k, t, f);
}

static void alu_and(struct prog *p, uint32_t k)
{
	emit(p, BPF_ALU | BPF_AND | BPF_K, k, L_NONE, L_NONE);
}

/* The fd in the accumulator is in the reserved range: TRAP, else fall to f. */
static void fd_in_range(struct prog *p, enum label f)
{
	/* lo <= fd <= hi, as unsigned 32-bit (negative fds are huge): */
	jge(p, FD_RESERVED_HI + 1, f, L_NONE);
	jge(p, FD_RESERVED_LO, L_TRAP, f);
}

static int resolve(struct prog *p, struct sock_filter *out)
{
	int at[L_COUNT];

	for (int l = 0; l < L_COUNT; l++)
		at[l] = -1;
	for (unsigned i = 0; i < p->n; i++)
		if (p->in[i].here != L_NONE)
			at[p->in[i].here] = (int)i;
	for (unsigned i = 0; i < p->n; i++) {
		struct insn *in = &p->in[i];

		out[i] = in->f;
		if (BPF_CLASS(in->f.code) != BPF_JMP)
			continue;
		if (BPF_OP(in->f.code) == BPF_JA) {
			if (at[in->jt] <= (int)i)
				return -1;
			out[i].k = (uint32_t)(at[in->jt] - (int)i - 1);
			continue;
		}
		for (int w = 0; w < 2; w++) {
			enum label l = w ? in->jf : in->jt;
			int off = 0;

			if (l != L_NONE) {
				if (at[l] <= (int)i || at[l] - (int)i - 1 > 255)
					return -1;
				off = at[l] - (int)i - 1;
			}
			if (w)
				out[i].jf = (uint8_t)off;
			else
				out[i].jt = (uint8_t)off;
		}
	}
	return 0;
}

static int build(struct sock_filter *out, unsigned *len)
{
	static struct prog p;
	const uint64_t gate_ip = GATE_ADDR + GATE_SYSCALL_END_OFF;

	p.n = 0;
	p.pending = L_NONE;
	/* Other ABIs (int 0x80, x32) are not ours. */
	ld(&p, offsetof(struct seccomp_data, arch));
	jeq(&p, AUDIT_ARCH_X86_64, L_NONE, L_ALLOW);
	ld(&p, offsetof(struct seccomp_data, nr));
	jge(&p, 0x40000000, L_ALLOW, L_NONE); /* x32 numbers */
	/* The number alone first, so the kernel can cache "allow" for every other call. */
	jeq(&p, SYS_ioctl, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_open, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_openat, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_openat2, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_mmap, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_close, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_close_range, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_dup, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_dup2, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_dup3, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_fcntl, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_rt_sigaction, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_rt_sigprocmask, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_clone, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_fork, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_execve, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_execveat, L_CHECK_IP, L_NONE);
	jeq(&p, SYS_clone3, L_ENOSYS, L_ALLOW);

	/* Calls from the gate are sgxemu's own. */
	label(&p, L_CHECK_IP);
	ld(&p, IP_HI);
	jeq(&p, (uint32_t)(gate_ip >> 32), L_NONE, L_ARGS);
	ld(&p, IP_LO);
	jeq(&p, (uint32_t)gate_ip, L_ALLOW, L_ARGS);

	/* Per-call conditions on the arguments. */
	label(&p, L_ARGS);
	ld(&p, offsetof(struct seccomp_data, nr));
	jeq(&p, SYS_ioctl, L_IOCTL, L_NONE);
	jeq(&p, SYS_open, L_OPEN, L_NONE);
	jeq(&p, SYS_openat, L_OPENAT, L_NONE);
	jeq(&p, SYS_mmap, L_MMAP, L_NONE);
	jeq(&p, SYS_close, L_FD0, L_NONE);
	jeq(&p, SYS_dup, L_FD0, L_NONE);
	jeq(&p, SYS_dup2, L_DUP2, L_NONE);
	jeq(&p, SYS_dup3, L_DUP2, L_NONE);
	jeq(&p, SYS_fcntl, L_FCNTL, L_NONE);
	jeq(&p, SYS_clone, L_CLONE, L_TRAP); /* the rest trap always */

	label(&p, L_IOCTL);
	ld(&p, ARG_LO(1));
	alu_and(&p, 0xff00);
	jeq(&p, 0xA400, L_TRAP, L_ALLOW);

	label(&p, L_OPEN);
	ld(&p, ARG_LO(1));
	alu_and(&p, O_ACCMODE | O_CREAT);
	jeq(&p, O_RDWR, L_TRAP, L_ALLOW);

	label(&p, L_OPENAT);
	ld(&p, ARG_LO(2));
	alu_and(&p, O_ACCMODE | O_CREAT);
	jeq(&p, O_RDWR, L_TRAP, L_ALLOW);

	label(&p, L_MMAP);
	ld(&p, ARG_LO(4));
	fd_in_range(&p, L_ALLOW);

	label(&p, L_DUP2);
	ld(&p, ARG_LO(0));
	fd_in_range(&p, L_NONE);
	ld(&p, ARG_LO(1));
	fd_in_range(&p, L_ALLOW);

	label(&p, L_FCNTL);
	ld(&p, ARG_LO(1));
	jeq(&p, F_DUPFD, L_FD0, L_NONE);
	jeq(&p, F_DUPFD_CLOEXEC, L_FD0, L_ALLOW);

	label(&p, L_FD0);
	ld(&p, ARG_LO(0));
	fd_in_range(&p, L_ALLOW);

	label(&p, L_CLONE);
	ld(&p, ARG_LO(0));
	jset(&p, CLONE_VM, L_ALLOW, L_TRAP);

	label(&p, L_ALLOW);
	ret(&p, RET_ALLOW);
	label(&p, L_TRAP);
	ret(&p, RET_TRAP);
	label(&p, L_ENOSYS);
	ret(&p, RET_ENOSYS);

	if (resolve(&p, out))
		return -1;
	*len = p.n;
	return 0;
}

bool filter_active(void)
{
	return active;
}

void filter_count_trap(void)
{
	atomic_fetch_add_explicit(&traps, 1, memory_order_relaxed);
}

bool filter_adopt(void)
{
	unsigned long before;

	if (active || !gate_active())
		return active;
	/* Inherited across execve (the boot shim kept it harmless until now): a call the filter
	 * traps, made from outside the gate, tells. */
	before = atomic_load(&traps);
	raw_syscall_local(SYS_ioctl, -1, (long)PROBE_CMD, 0, 0, 0, 0);
	if (atomic_load(&traps) != before)
		active = true;
	return active;
}

void filter_consider(void)
{
	char where[256];

	if (active || host_cfg.syscall_filter != CONFIG_FILTER_AUTO || !host_active)
		return;
	if (scan_raw_syscalls(where, sizeof(where))) {
		TRACE("%s makes system calls without libc: turning the system-call filter on", where);
		filter_enable();
	}
}

int filter_enable(void)
{
	static struct sock_filter insns[MAX_INSNS];
	struct sock_fprog prog;
	unsigned len;
	long r;

	if (filter_adopt())
		return 0;
	if (!gate_active())
		return -ENOSYS;
	if (build(insns, &len)) {
		sgxemu_err("internal error: the system-call filter does not assemble");
		return -EINVAL;
	}
	prog.len = (unsigned short)len;
	prog.filter = insns;
	r = raw_syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r == -EACCES) {
		/* Without CAP_SYS_ADMIN a filter needs no_new_privs (docs/syscalls.md). */
		raw_syscall5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		r = raw_syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
				 &prog);
	}
	if (r) {
		sgxemu_err("cannot install the system-call filter (%ld): system calls made without "
			   "libc will not reach sgxemu", r);
		return r > 0 ? -EAGAIN : (int)r;
	}
	active = true;
	TRACE("system-call filter on (%u instructions)", len);
	return 0;
}
