/*
 * core/src/codec/gf_i.h - GF(2^8) tables and kernels shared inside the
 * codec layer (gf.c); not part of the public API.
 */
#ifndef DMP_CODEC_GF_I_H
#define DMP_CODEC_GF_I_H

#include <stddef.h>
#include <stdint.h>

/** gf_log[0]: index into the run of zeros after two periods of gf_exp. */
#define DMP_GF_ZERO_LOG 510

/** alpha^i for i in 0..509, then 258 zeros. */
extern const uint8_t dmp_gf_exp[768];
/** Discrete log base alpha; [0] is DMP_GF_ZERO_LOG. */
extern const uint16_t dmp_gf_log[256];

/** out[t] ^= c * in[t] for t < len, c = alpha^lc (lc < 255). */
typedef void (*dmp_gf_mul_add_fn)(uint8_t *restrict out,
				  const uint8_t *restrict in, size_t len,
				  unsigned lc);

/** The fastest kernel this CPU runs for rows of @p len bytes. */
dmp_gf_mul_add_fn dmp_gf_pick_mul_add(size_t len);

#endif /* DMP_CODEC_GF_I_H */
