/*
 * core/include/dmp/chunk.h - one erasure share as a chunk TXT record
 * (PROTOCOL.md 2.1, 5.1, 5.4):
 *
 *   wire = H(block)[0:8] || block(128) || RS parity(32)      168 bytes
 *   TXT  = "v=dmp1;t=chunk;d=" || b64(wire)                  241 chars
 *   chunk hash (listed in the manifest) = H(wire)
 */
#ifndef DMP_CHUNK_H
#define DMP_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/rs.h"

#define DMP_CHUNK_BLOCK_BYTES 128
#define DMP_CHUNK_CHECKSUM_BYTES 8
#define DMP_CHUNK_WIRE_BYTES 168
/** Length of the TXT value: 17-byte prefix + 224 base64 characters. */
#define DMP_CHUNK_TXT_LEN 241

/**
 * Build the 168-byte wire of a block.
 * @param rs  codec from dmp_rs_new, borrowed
 */
void dmp_chunk_wrap(struct dmp_rs *rs,
		    const uint8_t block[DMP_CHUNK_BLOCK_BYTES],
		    uint8_t wire[DMP_CHUNK_WIRE_BYTES]);

/**
 * Build the TXT value of a block and, optionally, its chunk hash.
 * @param[out] txt   NUL-terminated value, @p cap >= 242
 * @param[out] hash  H(wire) for the manifest; may be NULL
 * @return 241, or DMP_ENOBUFS
 */
int dmp_chunk_encode(struct dmp_rs *rs,
		     const uint8_t block[DMP_CHUNK_BLOCK_BYTES], char *txt,
		     size_t cap, uint8_t hash[DMP_SHA256_BYTES]);

/**
 * Check and unpack a wire in the reference's order (PROTOCOL.md 5.4 steps
 * 2.3-2.6): H(wire) against @p expected (if given) first, then the length,
 * RS decode of bytes 8..167, then the 8-byte checksum. Nothing is repaired
 * in practice when @p expected is given (PROTOCOL.md 10.5).
 * @param wire      @p len bytes, borrowed, not modified
 * @param expected  chunk hash from the manifest, or NULL to skip the hash
 *                  check and rely on RS repair plus the checksum
 * @param[out] block  the 128-byte share (zeroed on failure)
 * @param[out] corrected  RS symbols repaired; may be NULL
 * @return 0, DMP_ECHUNKHASH, DMP_EMALFORMED (not 168 bytes), DMP_ERSFAIL
 *         or DMP_ECHECKSUM
 */
DMP_MUST_CHECK int dmp_chunk_unwrap_wire(struct dmp_rs *rs, const uint8_t *wire,
					 size_t len, const uint8_t *expected,
					 uint8_t block[DMP_CHUNK_BLOCK_BYTES],
					 int *corrected);

/**
 * Parse a chunk TXT value against the manifest's hash (PROTOCOL.md 5.4
 * steps 2.1-2.6): exact prefix, strict base64, H(wire) == @p expected,
 * RS decode, checksum, length.
 * @param txt       @p len bytes of one joined TXT value, borrowed
 * @param expected  chunk_hashes[i] from the manifest (required)
 * @param[out] block  the share (zeroed on failure)
 * @return 0, DMP_EINVAL (no @p expected), DMP_EPREFIX, DMP_ETOOBIG,
 *         DMP_EBASE64, DMP_ECHUNKHASH,
 *         DMP_EMALFORMED, DMP_ERSFAIL or DMP_ECHECKSUM
 */
DMP_MUST_CHECK int dmp_chunk_unwrap(struct dmp_rs *rs, const char *txt,
				    size_t len,
				    const uint8_t expected[DMP_SHA256_BYTES],
				    uint8_t block[DMP_CHUNK_BLOCK_BYTES]);

/**
 * Parse a chunk TXT value without a manifest hash: RS repairs up to 16
 * corrupted bytes of block and parity, then the checksum must match.
 * @param[out] corrected  RS symbols repaired; may be NULL
 * @return as dmp_chunk_unwrap, without DMP_ECHUNKHASH
 */
DMP_MUST_CHECK int dmp_chunk_unwrap_repair(struct dmp_rs *rs, const char *txt,
					   size_t len,
					   uint8_t block[DMP_CHUNK_BLOCK_BYTES],
					   int *corrected);

#endif /* DMP_CHUNK_H */
