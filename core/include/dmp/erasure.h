/*
 * core/include/dmp/erasure.h - the cross-chunk k-of-n erasure code and the
 * message framing around it (PROTOCOL.md 5.1, 5.2).
 *
 * The code is zfec's systematic Vandermonde code, written here from the
 * maths: GF(2^8) with polynomial 0x11D, alpha = 2, evaluation points
 * x_0 = 0 and x_j = alpha^(j-1). Shares 0..k-1 are the data verbatim; share
 * j >= k is, byte by byte, the degree < k polynomial through the data
 * evaluated at x_j. Any k distinct shares give the data back.
 *
 * Stateless and thread-safe: coefficients are computed per call in O(k^2),
 * which is cheaper than the byte work (measured in bench/bench_codec.c).
 */
#ifndef DMP_ERASURE_H
#define DMP_ERASURE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** Bytes per share on the wire (PROTOCOL.md 5.1). */
#define DMP_ERASURE_BLOCK 128
/** zfec has 256 distinct evaluation points (PROTOCOL.md 5.2, 10.17). */
#define DMP_ERASURE_MAX_N 256
/** Largest k the framing produces while n stays <= 256. */
#define DMP_ERASURE_MAX_K 196
/** Largest message the framing accepts: 196 * 128 - 4. */
#define DMP_ERASURE_MAX_MSG 25084

/**
 * The framing's k and n for a message of @p len bytes (PROTOCOL.md 5.1):
 * k = max(1, ceil((len+4)/128)), n = k + ceil(3k/10).
 * @param[out] k  data shares (0 on failure)
 * @param[out] n  total shares (0 on failure)
 * @return 0, or DMP_ETOOBIG when n would exceed 256
 */
DMP_MUST_CHECK int dmp_erasure_params(size_t len, unsigned *k, unsigned *n);

/**
 * Compute the parity shares of a (k,n) code.
 * @param k,n        1 <= k <= n <= 256 (k == n: nothing to do)
 * @param share_len  bytes per share (any length; DMP uses 128)
 * @param data       k shares, contiguous (k * share_len bytes), borrowed
 * @param[out] parity  n - k shares, contiguous; share i here is share id
 *                     k + i. May not overlap @p data.
 * @return 0, DMP_ETOOBIG (n > 256) or DMP_EINVAL (k < 1 or k > n)
 */
DMP_MUST_CHECK int dmp_erasure_encode(unsigned k, unsigned n, size_t share_len,
				      const uint8_t *data, uint8_t *parity);

/**
 * Recover the k data shares from any k distinct shares. Like the
 * reference, the k lowest distinct share ids given are used; later
 * duplicates of an id are ignored.
 * @param k,n        1 <= k <= n <= 256
 * @param share_len  bytes per share
 * @param shares     @p count pointers to shares of @p share_len bytes,
 *                   borrowed, in any order
 * @param ids        share id of each pointer (0..n-1)
 * @param count      number of shares given
 * @param[out] out   k * share_len bytes: the data shares, contiguous. May
 *                   not overlap any input share.
 * @return 0, DMP_ETOOBIG (n > 256, e.g. from a manifest claiming up to
 *         1024), DMP_EINVAL (k < 1, k > n, or an id >= n) or DMP_ESHARES
 *         (fewer than k distinct ids)
 */
DMP_MUST_CHECK int dmp_erasure_decode(unsigned k, unsigned n, size_t share_len,
				      const uint8_t *const *shares,
				      const unsigned *ids, size_t count,
				      uint8_t *out);

/**
 * Frame and encode a message (PROTOCOL.md 5.1): W = u32be(len) || msg ||
 * zeros up to 128k, cut into k data shares, followed by n - k parity
 * shares.
 * @param msg       message bytes, borrowed (may be NULL if @p len is 0)
 * @param[out] shares  n * 128 bytes, share id i at offset 128 * i
 * @param cap       size of @p shares
 * @param[out] k,n  the code used (0 on failure)
 * @return 0, DMP_ETOOBIG (len > DMP_ERASURE_MAX_MSG) or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_erasure_pack(const uint8_t *msg, size_t len,
				    uint8_t *shares, size_t cap, unsigned *k,
				    unsigned *n);

/**
 * dmp_erasure_pack() with at least @p min_k data shares (size padding,
 * docs/security.md "Observer model"): W is u32be(len) || msg || random
 * bytes up to 128k. Every receiver reads L and ignores the rest (5.2
 * Unpack), so the padding is invisible to it; random rather than zero
 * bytes, so padded shares look like any other. @p min_k 0 (or below the
 * natural k) is the natural k, still with random fill.
 * @return as dmp_erasure_pack(); DMP_ETOOBIG also when min_k gives n > 256
 */
DMP_MUST_CHECK int dmp_erasure_pack_padded(const uint8_t *msg, size_t len,
					   unsigned min_k, uint8_t *shares,
					   size_t cap, unsigned *k,
					   unsigned *n);

/**
 * Read the message out of k decoded data shares (PROTOCOL.md 5.2 Unpack):
 * L = u32be(data[0..3]), which must be <= 128k - 4. Padding bytes are not
 * checked, as in the reference.
 * @param data  k * 128 bytes, borrowed
 * @param[out] msg  points into @p data (borrowed for as long as it is)
 * @param[out] len  message length
 * @return 0, DMP_EINVAL (k out of range) or DMP_EMALFORMED (bad length)
 */
DMP_MUST_CHECK int dmp_erasure_unpack(const uint8_t *data, unsigned k,
				      const uint8_t **msg, size_t *len);

#endif /* DMP_ERASURE_H */
