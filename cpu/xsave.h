/* Extended state at AEX and ERESUME: the XSAVE the processor does into the SSA frame, the
 * synthetic state it leaves behind, and ERESUME's XRSTOR (SDM Vol. 3D §39.4, ERESUME). The
 * SSA's XSAVE area is the first page of the frame; the components the emulator handles
 * (cpu/cpuid.h CPU_XFRM_HANDLED) fit in it. */
#ifndef SGXEMU_CPU_XSAVE_H
#define SGXEMU_CPU_XSAVE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* AEX: store the XFRM components of x into the SSA's XSAVE area ssa (a page) in the standard
 * format, then put those components of x into their initial configuration. */
void xsave_aex(const struct cpu_xsave_layout *l, uint64_t xfrm, struct cpu_xsave *x, uint8_t *ssa);

/* Whether ERESUME's XRSTOR from ssa into a context whose image is x (may be NULL) would
 * fault: header bytes 8-23 not zero, XSTATE_BV outside XFRM, MXCSR reserved bits set, or
 * XFRM components the context cannot hold (XFRM not a subset of its XCR0). */
bool xrstor_faults(uint64_t xfrm, const uint8_t *ssa, const struct cpu_xsave *x);

/* ERESUME: load the XFRM components of x from ssa (those XSTATE_BV marks as not in use get
 * their initial configuration). Call only when xrstor_faults() said no. */
void xrstor_eresume(const struct cpu_xsave_layout *l, uint64_t xfrm, const uint8_t *ssa,
		    struct cpu_xsave *x);

#endif
