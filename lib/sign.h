/* Building SIGSTRUCTs (the signer's side, used by the CLI, the demo and the tests). */
#ifndef SGXEMU_LIB_SIGN_H
#define SGXEMU_LIB_SIGN_H

#include <openssl/evp.h>

#include "cpu/arch.h"

/* Zero s and set the constant HEADER/HEADER2 fields (vendor 0, date 0). */
void sign_sigstruct_init(struct sgx_sigstruct *s);
/* What is signed: HEADER || BODY, 256 bytes. */
#define SIGN_DATA_SIZE 256
void sign_sigstruct_data(const struct sgx_sigstruct *s, uint8_t out[SIGN_DATA_SIZE]);
/* Complete s (HEADER and BODY set) with a signature made elsewhere: sig_be, len bytes, the
 * RSA PKCS#1 v1.5 SHA-256 signature of its signing data as OpenSSL writes it (big-endian),
 * and key's public part (RSA-3072, e = 3): modulus, exponent, signature, Q1, Q2. Returns 0,
 * -1 if the key or the length is wrong, -2 if the signature does not verify. */
int sign_sigstruct_assemble(struct sgx_sigstruct *s, EVP_PKEY *key, const uint8_t *sig_be,
			    size_t len);
/* Sign header||body with key (RSA-3072, e = 3) and fill modulus, exponent, signature, Q1, Q2.
 * Returns 0, or -1 if the key is not RSA-3072 with e = 3 or signing fails. */
int sign_sigstruct(struct sgx_sigstruct *s, EVP_PKEY *key);
/* Load a PEM private key; NULL on error. */
EVP_PKEY *sign_load_key(const char *pem_path);
/* Load a PEM public key, or the public half of a PEM private key; NULL on error. */
EVP_PKEY *sign_load_public_key(const char *pem_path);
/* Generate an RSA-3072 key with e = 3; NULL on error. */
EVP_PKEY *sign_generate_key(void);

#endif
