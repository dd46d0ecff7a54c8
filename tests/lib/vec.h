/* tests/lib/vec.h - load the JSON interop vectors (tests/vectors/). */
#ifndef DMP_TEST_VEC_H
#define DMP_TEST_VEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/** Load tests/vectors/@p file (from $DMP_VECTOR_DIR); aborts on failure. */
json_t *vec_load(const char *file);
/** A string member, or aborts if it is missing. Borrowed from @p obj. */
const char *vec_str(const json_t *obj, const char *key);
/** An integer member (also accepts a decimal string); aborts if missing. */
long long vec_int(const json_t *obj, const char *key);
/** 1 if @p obj has member @p key (and it is not null). */
int vec_has(const json_t *obj, const char *key);
/**
 * Decode a hex member into a new buffer (free() it); aborts on bad hex.
 * @param[out] len  decoded length
 */
uint8_t *vec_hex(const json_t *obj, const char *key, size_t *len);
/** Decode hex member into a fixed buffer of exactly @p want bytes. */
void vec_hex_fixed(const json_t *obj, const char *key, uint8_t *out,
		   size_t want);
/** Decode a hex string into a new buffer (free() it). */
uint8_t *vec_unhex(const char *hex, size_t *len);

/** A hex member decoded into a new NUL-terminated string (free() it). */
char *vec_hex_str(const json_t *obj, const char *key);
/** The vectors' signer keys: Ed25519 from a 32-byte X25519 seed in hex. */
void vec_key_from_seed_hex(uint8_t pk[32], uint8_t sk[64], const char *hex);

/** xorshift64*: reproducible pseudo-random test data (not for keys). */
uint32_t vec_rng(void);
/** Restart vec_rng() from @p seed (the default is 0x853c49e6748fea9b). */
void vec_rng_seed(uint64_t seed);

#endif /* DMP_TEST_VEC_H */
