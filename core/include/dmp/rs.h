/*
 * core/include/dmp/rs.h - the per-chunk Reed-Solomon code (PROTOCOL.md 5.3):
 * reedsolo's RSCodec(32), i.e. GF(2^8)/0x11D, alpha = 2, fcr = 0, 32
 * parity bytes, systematic with the first byte as the highest power. A
 * 128-byte block becomes a 160-byte codeword; shorter blocks are the same
 * code shortened further. Up to 16 byte errors are corrected.
 *
 * Built on Debian's libfec (Karn), whose decoder output is double-checked
 * here: a block is only returned if it is a valid codeword within 16
 * symbols of the input.
 */
#ifndef DMP_RS_H
#define DMP_RS_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

#define DMP_RS_PARITY 32
/** Longest data block: 255 - 32. */
#define DMP_RS_MAX_DATA 223
#define DMP_RS_MAX_ERRORS 16

/** Codec state (libfec tables). Read-only after _new: one handle may be
 * shared by threads. */
struct dmp_rs;

/**
 * Create a codec.
 * @param[out] out  new handle (owned by the caller, dmp_rs_free), NULL on
 *                  failure
 * @return 0 or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_rs_new(struct dmp_rs **out);

/** Free a codec; NULL is a no-op. */
void dmp_rs_free(struct dmp_rs *rs);

/**
 * Parity of a data block.
 * @param data  @p len bytes, borrowed
 * @param len   1..223 (128 on the chunk path)
 * @param[out] parity  32 bytes
 * @return 0 or DMP_EINVAL (bad length)
 */
DMP_MUST_CHECK int dmp_rs_encode(struct dmp_rs *rs, const uint8_t *data,
				 size_t len, uint8_t parity[DMP_RS_PARITY]);

/**
 * Correct a codeword (data || parity) in place. Fails rather than return
 * anything that is not a valid codeword within 16 symbols of the input.
 * @param cw   @p len bytes, unchanged on failure
 * @param len  33..255 (160 on the chunk path)
 * @param[out] corrected  symbols changed (0 on failure); may be NULL
 * @return 0, DMP_ERSFAIL (uncorrectable) or DMP_EINVAL (bad length)
 */
DMP_MUST_CHECK int dmp_rs_decode(struct dmp_rs *rs, uint8_t *cw, size_t len,
				 int *corrected);

#endif /* DMP_RS_H */
