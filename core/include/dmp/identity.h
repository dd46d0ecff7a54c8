/*
 * core/include/dmp/identity.h - the signed identity record (PROTOCOL.md 2.3):
 * "v=dmp1;t=identity;d=" base64(body || sig), self-signed by the Ed25519
 * key it carries. Identity records have no expiry.
 *
 * Reentrant; nothing here allocates.
 */
#ifndef DMP_IDENTITY_H
#define DMP_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/b64.h"
#include "dmp/common.h"

/** Username bytes (UTF-8), PROTOCOL.md 2.3. */
#define DMP_IDENTITY_USERNAME_MAX 64
/** A versions suffix holds at most 255 one-byte versions (u8 length). */
#define DMP_IDENTITY_VERSIONS_MAX 255
/** Largest body: 1 + 64 + 32 + 32 + 8 + 1 + 255. */
#define DMP_IDENTITY_BODY_MAX 393
/** Largest value: prefix + base64(body + sig) (PROTOCOL.md 1.4). */
#define DMP_IDENTITY_WIRE_MAX (20 + DMP_B64_LEN(DMP_IDENTITY_BODY_MAX + 64))

struct dmp_identity_record {
	/** UTF-8, @c username_len bytes, NUL-terminated for convenience. */
	char username[DMP_IDENTITY_USERNAME_MAX + 1];
	size_t username_len; /* 1..64 */
	uint8_t x25519_pk[DMP_X25519_BYTES];
	uint8_t ed25519_spk[DMP_ED25519_PK_BYTES]; /* the signer */
	uint64_t ts;
	/** Advertised protocol versions: strictly ascending, at least one.
	 *  A record without the suffix parses as {1}. */
	uint8_t versions[DMP_IDENTITY_VERSIONS_MAX];
	size_t n_versions;
};

/**
 * Check @p rec and write its body (PROTOCOL.md 2.3). The versions suffix
 * is omitted when versions == {1}.
 * @param[out] body  at least DMP_IDENTITY_BODY_MAX bytes
 * @return body length, DMP_EINVAL (empty/long/non-UTF-8 username or one
 *         with a NUL byte, versions empty, unsorted or repeated) or
 *         DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_identity_body(uint8_t *body, size_t cap,
				     const struct dmp_identity_record *rec);

/**
 * Sign @p rec with @p sk and encode the TXT value (NUL-terminated).
 * @param sk  libsodium secret key (seed || pk); its public half must equal
 *            rec->ed25519_spk, since the record is verified against it
 * @return value length, DMP_EINVAL (see dmp_identity_body), DMP_EBADKEY
 *         (sk does not match, or the key is low-order) or DMP_ENOBUFS
 *         (DMP_IDENTITY_WIRE_MAX + 1 is always enough)
 */
DMP_MUST_CHECK int
dmp_identity_sign_encode(char *out, size_t cap,
			 const struct dmp_identity_record *rec,
			 const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse and verify an identity TXT value (PROTOCOL.md 1.5, 2.3): exact
 * prefix, strict base64, strict body (UTF-8 username without NUL bytes,
 * optional suffix with ver_len >= 1 and strictly ascending versions, no
 * trailing bytes), signature by the embedded key (low-order keys refused).
 *
 * @param value          the joined TXT value, @p len bytes (no NUL needed)
 * @param expected_user  for the zone-anchored form (dmp.<domain>): the
 *                       address's user part, @p expected_len bytes; the
 *                       record's username must equal it ignoring ASCII case.
 *                       NULL to skip the check.
 * @param[out] out       the record; zeroed on failure
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG or DMP_EBADNAME (username mismatch)
 */
DMP_MUST_CHECK int dmp_identity_parse_verify(struct dmp_identity_record *out,
					     const char *value, size_t len,
					     const char *expected_user,
					     size_t expected_len);

/** 1 if @p rec advertises protocol version @p v. */
int dmp_identity_has_version(const struct dmp_identity_record *rec, uint8_t v);

#endif /* DMP_IDENTITY_H */
