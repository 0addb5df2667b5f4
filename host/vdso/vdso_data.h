/* The data page of our vDSO image: one page mapped read-only right below the image (as the
 * kernel puts its vvar pages below its vDSO), reached from the image's code RIP-relative
 * through the linker-script symbol __sgxemu_vdso_data. The preload fills it in (host/vdso.c)
 * with plain stores while the page is writable; the image itself is never written after it
 * becomes executable and needs no relocation. Included by C and by the image's assembly. */
#ifndef SGXEMU_HOST_VDSO_DATA_H
#define SGXEMU_HOST_VDSO_DATA_H

#define VDSO_DATA_SIZE 4096	/* host/vdso/vdso.lds places __sgxemu_vdso_data this far below */

/* 8-byte slots, 0 = empty. */
#define VDSO_DATA_DIRECT	0	/* the emulator's direct EENTER (host/direct_enter.S) */
/* The host vDSO's functions our exports forward to; empty: the system call instead. */
#define VDSO_DATA_CLOCK_GETTIME	8
#define VDSO_DATA_GETTIMEOFDAY	16
#define VDSO_DATA_TIME		24
#define VDSO_DATA_GETCPU	32
#define VDSO_DATA_CLOCK_GETRES	40
#define VDSO_DATA_GETRANDOM	48
#define VDSO_DATA_USED		56

#endif
