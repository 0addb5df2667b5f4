/* MRENCLAVE: SHA-256 over the 64-byte records ECREATE, EADD and EEXTEND append (SDM 38.7). */
#ifndef SGXEMU_CPU_MEASURE_H
#define SGXEMU_CPU_MEASURE_H

#include <stdint.h>

struct measure;

struct measure *measure_new(void);           /* NULL on allocation failure */
void measure_free(struct measure *m);
/* Start over with the ECREATE record. */
int measure_ecreate(struct measure *m, uint32_t ssa_frame_size, uint64_t size);
/* EADD record; offset is relative to the enclave base. */
int measure_eadd(struct measure *m, uint64_t offset, uint64_t secinfo_flags);
/* EEXTEND record plus the 256 data bytes; offset relative to the enclave base. */
int measure_eextend(struct measure *m, uint64_t offset, const uint8_t data[256]);
/* The digest so far (the running hash stays usable). */
int measure_digest(struct measure *m, uint8_t out[32]);

#endif
