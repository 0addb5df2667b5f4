/* The host's XSAVE features, for the emulated CPU's XFRM (CPUID.12.1:EDX:ECX). */
#ifndef SGXEMU_LIB_XSTATE_H
#define SGXEMU_LIB_XSTATE_H

#include "cpu/cpuid.h"

/* Set f->xfrm to the components the host's XCR0 enables that the emulator can save at AEX
 * (CPU_XFRM_HANDLED, laid out within a page), and f->xsave to their standard-format layout
 * (CPUID leaf 0Dh). Executes CPUID and XGETBV: call it before CPUID faulting is turned on. */
void xstate_probe(struct cpu_features *f);

#endif
