/*
 * core/include/dmp/manifest.h - the signed slot manifest (PROTOCOL.md 2.2):
 * "v=dmp1;t=manifest;d=" base64(body || sig), body = 108 fixed bytes plus
 * one SHA-256 per chunk, signed by the sender_spk it carries.
 *
 * Ownership: a parsed manifest owns its chunk hashes (heap, dmp_malloc;
 * up to 1024 * 32 bytes, too many for the stack) and must be released with
 * dmp_manifest_clear(). For encoding, the caller may point chunk_hashes at
 * its own storage; the encoder only reads it (then do not call
 * dmp_manifest_clear() on that struct, or set chunk_hashes to NULL first).
 *
 * Reentrant.
 */
#ifndef DMP_MANIFEST_H
#define DMP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/b64.h"
#include "dmp/common.h"

/** 2.2: n <= 1024. */
#define DMP_MANIFEST_MAX_CHUNKS 1024
/** Fixed part of the body, before the chunk hashes. */
#define DMP_MANIFEST_BODY_FIXED 108
/** Value length for n chunks (PROTOCOL.md 1.4), without the NUL. */
#define DMP_MANIFEST_WIRE_LEN(n)                                               \
	(20 + DMP_B64_LEN(DMP_MANIFEST_BODY_FIXED + 32 * (size_t)(n) + 64))

struct dmp_manifest {
	uint8_t msg_id[DMP_MSG_ID_BYTES];
	uint8_t sender_spk[DMP_ED25519_PK_BYTES]; /* the signer */
	uint8_t recipient_id[DMP_USER_ID_BYTES];
	uint32_t total_chunks; /* n */
	uint32_t data_chunks;  /* k */
	uint32_t prekey_id;    /* 0: long-term key, no forward secrecy */
	uint64_t ts;
	uint64_t exp;
	/** 1 if the body carried chunk hashes. Receivers must refuse a
	 *  manifest with 0 here (2.2); it comes only from the old layout. */
	int has_hashes;
	/** total_chunks * 32 bytes, H(wrapped chunk i); NULL when
	 *  !has_hashes. Owned after parse (see above). */
	uint8_t *chunk_hashes;
};

/** Free the chunk hashes (dmp_free) and zero @p m. NULL is a no-op. */
void dmp_manifest_clear(struct dmp_manifest *m);

/**
 * Write the body for @p m. With has_hashes == 0 this is the old 108-byte
 * layout, which exists only so tests and fuzzers can rebuild legacy
 * vectors; dmp_manifest_sign_encode() never emits it.
 * @return body length, DMP_EINVAL (k, n out of range, or has_hashes with
 *         chunk_hashes NULL) or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_manifest_body(uint8_t *body, size_t cap,
				     const struct dmp_manifest *m);

/**
 * Sign and encode @p m (with hashes) as a NUL-terminated TXT value.
 * @param cap  DMP_MANIFEST_WIRE_LEN(n) + 1 is enough
 * @param sk   libsodium secret key; its public half must equal sender_spk
 * @return value length, DMP_EINVAL (no hashes, 1 <= k <= n <= 1024
 *         violated), DMP_EBADKEY (sk mismatch or low-order sender_spk),
 *         DMP_ENOBUFS or DMP_ENOMEM
 */
DMP_MUST_CHECK int
dmp_manifest_sign_encode(char *out, size_t cap, const struct dmp_manifest *m,
			 const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse and verify a manifest value (PROTOCOL.md 1.5, 2.2): prefix, strict
 * base64, n read at offset 80, blob exactly 172 or 172 + 32n bytes,
 * 1 <= k <= n <= 1024, signature by the embedded sender_spk (low-order
 * refused), exp - now <= 30 days. Expiry itself is NOT checked: use
 * dmp_manifest_is_expired(). The hashless old layout parses with
 * has_hashes = 0; the receive path must refuse it.
 *
 * @param[out] out  filled on success (release with dmp_manifest_clear());
 *                  zeroed, with nothing to free, on failure
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG, DMP_EFUTURE or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_manifest_parse_verify(struct dmp_manifest *out,
					     const char *value, size_t len,
					     uint64_t now);

/** The receiver's drop rule (6.2): 1 if now > exp. */
int dmp_manifest_is_expired(const struct dmp_manifest *m, uint64_t now);

#endif /* DMP_MANIFEST_H */
