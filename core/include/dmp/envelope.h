/*
 * core/include/dmp/envelope.h - the DMPv2 envelope inside the ciphertext
 * (PROTOCOL.md 4.5) and the canonical user@host address.
 *
 *   v2: "DMPV2:" || {"from":"<addr>"} || "\n" || body
 *   v1: body
 *
 * The "from" claim is unauthenticated; the receiver must look the address
 * up and compare its Ed25519 key with the manifest's sender key (4.5)
 * before showing it. Stateless and reentrant.
 */
#ifndef DMP_ENVELOPE_H
#define DMP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

#define DMP_ENVELOPE_PREFIX "DMPV2:"
#define DMP_ENVELOPE_PREFIX_LEN 6
/** Largest header JSON (4.5); a "\n" must come within this many + 1. */
#define DMP_ENVELOPE_HEADER_MAX 256
/** Longest canonical address: 64-byte local part, "@", 253-byte host. */
#define DMP_ADDR_MAX (64 + 1 + 253)

/**
 * Canonicalise a user@host address (4.5): ASCII only; surrounding
 * whitespace trimmed (Python's str.strip set); lower-cased; exactly one
 * "@"; trailing dots dropped from the host; local part
 * [a-z0-9][a-z0-9_.-]{0,63} with no trailing "." and no ".."; host labels
 * [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?, host at most 253 characters.
 *
 * @param out   DMP_ADDR_MAX + 1 bytes; NUL-terminated on success, empty
 *              string on failure
 * @param addr  borrowed; need not be NUL-terminated; may hold any bytes
 * @return length of the canonical form, or DMP_EINVAL if it is not a
 *         valid address
 */
DMP_MUST_CHECK int dmp_addr_canonical(char out[DMP_ADDR_MAX + 1],
				      const char *addr, size_t len);

/**
 * Build the AEAD plaintext. As the reference, a NULL or invalid
 * @p sender_addr (or a header over 256 bytes) silently yields the v1 form,
 * the body unchanged; the return value tells which was made.
 *
 * @param sender_addr  NUL-terminated, borrowed, or NULL for v1
 * @param[out] out     dmp_malloc'd plaintext (owned by the caller), NULL
 *                     on failure
 * @return 2 (wrapped), 1 (body as is), DMP_EINVAL or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_envelope_encode(const uint8_t *body, size_t body_len,
				       const char *sender_addr, uint8_t **out,
				       size_t *out_len);

/** A decoded plaintext. */
struct dmp_envelope {
	int version;	     /* 2 if a v2 header was accepted, else 1 */
	const uint8_t *body; /* borrowed from the plaintext */
	size_t body_len;
	int has_from;		     /* 1 if a valid "from" was present */
	char from[DMP_ADDR_MAX + 1]; /* canonical, NOT verified; "" if none */
};

/**
 * Split a decrypted plaintext (4.5). Never fails: without the prefix, with
 * no "\n" within 257 bytes after it, or with a header that is not a JSON
 * object (as Python's json.loads judges it) the whole plaintext is a v1
 * body. Otherwise the body is everything after the first "\n"; unknown
 * keys are ignored, and a missing, non-string or invalid "from" leaves
 * has_from 0.
 * @param pt  borrowed; @p e points into it
 */
void dmp_envelope_decode(struct dmp_envelope *e, const uint8_t *pt, size_t len);

#endif /* DMP_ENVELOPE_H */
