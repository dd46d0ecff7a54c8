/*
 * core/include/dmp/prekey.h - one-time prekey record (PROTOCOL.md 2.4):
 * "v=dmp1;t=prekey;d=" base64(body || sig), a fixed 44-byte body signed by
 * the owner's identity key, which the caller supplies (pinned).
 *
 * Reentrant; nothing here allocates.
 */
#ifndef DMP_PREKEY_H
#define DMP_PREKEY_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** 2.4: prekey_id (4) || X25519 public key (32) || exp (8). */
#define DMP_PREKEY_BODY_BYTES 44
/** 1.4: every prekey value is exactly this long. */
#define DMP_PREKEY_WIRE_LEN 162

struct dmp_prekey {
	uint32_t prekey_id; /* never 0: 0 means "no prekey" in a manifest */
	uint8_t x25519_pk[DMP_X25519_BYTES];
	uint64_t exp;
};

/**
 * Write the 44-byte body of @p pk.
 * @return DMP_PREKEY_BODY_BYTES, or DMP_EINVAL if prekey_id == 0
 */
DMP_MUST_CHECK int dmp_prekey_body(uint8_t body[DMP_PREKEY_BODY_BYTES],
				   const struct dmp_prekey *pk);

/**
 * Sign @p pk with the owner's identity key and encode it (NUL-terminated).
 * @param cap  DMP_PREKEY_WIRE_LEN + 1 is enough
 * @return DMP_PREKEY_WIRE_LEN, DMP_EINVAL (prekey_id == 0) or DMP_ENOBUFS
 */
DMP_MUST_CHECK int
dmp_prekey_sign_encode(char *out, size_t cap, const struct dmp_prekey *pk,
		       const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse and verify a prekey value against the owner's pinned key
 * (PROTOCOL.md 1.5, 2.4): prefix, strict base64, exactly 108 decoded bytes,
 * signature by @p owner_spk (low-order refused), prekey_id != 0, and
 * exp - now <= 30 days. Expiry itself is NOT checked: use
 * dmp_prekey_is_expired().
 * @param owner_spk  the identity key pinned for the prekey's owner
 * @param[out] out   zeroed on failure
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG or DMP_EFUTURE
 */
DMP_MUST_CHECK int
dmp_prekey_parse_verify(struct dmp_prekey *out, const char *value, size_t len,
			const uint8_t owner_spk[DMP_ED25519_PK_BYTES],
			uint64_t now);

/** The caller's drop rule (6.2): 1 if now > exp. */
int dmp_prekey_is_expired(const struct dmp_prekey *pk, uint64_t now);

#endif /* DMP_PREKEY_H */
