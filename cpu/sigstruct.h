/* SIGSTRUCT checks made by EINIT: constant headers, vendor, exponent, RSA-3072 signature. */
#ifndef SGXEMU_CPU_SIGSTRUCT_H
#define SGXEMU_CPU_SIGSTRUCT_H

#include <stdint.h>

#include "cpu/arch.h"

/* SGX_SUCCESS, SGX_INVALID_SIG_STRUCT (headers, vendor, exponent, malformed key) or
 * SGX_INVALID_SIGNATURE (s^3 mod n is not the PKCS#1 v1.5 SHA-256 encoding of header||body,
 * or Q1/Q2 are not the values the hardware's verification assist expects). */
uint64_t sigstruct_verify(const struct sgx_sigstruct *sig);

/* MRSIGNER: SHA-256 of the 384 modulus bytes as stored (little-endian). */
int sigstruct_mrsigner(const struct sgx_sigstruct *sig, uint8_t out[32]);

#endif
