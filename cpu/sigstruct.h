/* SIGSTRUCT checks made by EINIT: constant headers, vendor, exponent, RSA-3072 signature. */
#ifndef SGXEMU_CPU_SIGSTRUCT_H
#define SGXEMU_CPU_SIGSTRUCT_H

#include <stdint.h>

#include "cpu/arch.h"

/* SGX_SUCCESS, SGX_INVALID_SIG_STRUCT (headers, vendor, exponent, malformed key) or
 * SGX_INVALID_SIGNATURE (s^3 mod n is not the PKCS#1 v1.5 SHA-256 encoding of header||body,
 * or Q1/Q2 are not the values the hardware's verification assist expects). */
uint64_t sigstruct_verify(const struct sgx_sigstruct *sig);
/* The same, with the first check that failed (or "valid") in *why, a constant string. */
uint64_t sigstruct_verify_why(const struct sgx_sigstruct *sig, const char **why);

/* The hardware's verification assist: S^2 = Q1*M + T1 and S*T1 = Q2*M + T2 with T1, T2 in
 * [0, M), so T2 = S^3 mod M. Computes q1, q2 and t2 (the signer stores Q1/Q2, EINIT checks
 * them). Returns 0, or -1 on an OpenSSL failure. */
struct bignum_st;
struct bignum_ctx;
int sigstruct_assist(const struct bignum_st *s, const struct bignum_st *m, struct bignum_st *q1,
		     struct bignum_st *q2, struct bignum_st *t2, struct bignum_ctx *ctx);

/* MRSIGNER: SHA-256 of the 384 modulus bytes as stored (little-endian). */
int sigstruct_mrsigner(const struct sgx_sigstruct *sig, uint8_t out[32]);

#endif
