/*
 * core/include/dmp/b64.h - strict base64 (RFC 4648 standard alphabet, '='
 * padding required, canonical only) and lower-case hex.
 */
#ifndef DMP_B64_H
#define DMP_B64_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** Encoded length of @p n bytes, without a terminating NUL. */
#define DMP_B64_LEN(n) ((((n) + 2) / 3) * 4)

/**
 * Encode @p len bytes; writes a NUL-terminated string.
 * @return encoded length, or DMP_ENOBUFS if @p cap < DMP_B64_LEN(len) + 1
 */
int dmp_b64_encode(char *out, size_t cap, const uint8_t *in, size_t len);

/**
 * Decode exactly @p len characters. Rejects any byte outside the alphabet,
 * missing or extra padding, whitespace, and non-canonical encodings (unused
 * bits that are not zero).
 * @param[out] out_len  decoded length
 * @return 0, DMP_EBASE64 or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_b64_decode(uint8_t *out, size_t cap, size_t *out_len,
				  const char *in, size_t len);

/** Lower-case hex of @p len bytes into @p out (2*len+1 bytes). */
void dmp_hex_encode(char *out, const uint8_t *in, size_t len);

/** Value of one hex digit (either case), or -1. */
int dmp_hex_digit(char c);

/**
 * Decode exactly 2*@p want hex digits (either case) from @p in.
 * @return 0 or DMP_EMALFORMED
 */
DMP_MUST_CHECK int dmp_hex_decode(uint8_t *out, size_t want, const char *in,
				  size_t len);

#endif /* DMP_B64_H */
