/*
 * core/include/dmp/rotation.h - key rotation and revocation records
 * (PROTOCOL.md 2.9, 2.10). Both are DRAFT upstream and may move to
 * `v=dmp2`; the chain walk that uses them is PROTOCOL.md 8.
 */
#ifndef DMP_ROTATION_H
#define DMP_ROTATION_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

#define DMP_ROTATION_MAGIC "DMPROT1"
#define DMP_REVOCATION_MAGIC "DMPRV01"
/** Subject bytes: 1..255 for a user, 1..64 for a DNS-name subject. */
#define DMP_SUBJECT_MAX 255
#define DMP_SUBJECT_NAME_MAX 64
/** Reference rotation lifetime: exp = now + 1 year (6.2). */
#define DMP_ROTATION_LIFETIME 31536000ULL

enum dmp_subject_type {
	DMP_SUBJECT_USER = 1,	   /* "user@host"; host under the 3.3 rule */
	DMP_SUBJECT_CLUSTER = 2,   /* cluster base domain (3.3) */
	DMP_SUBJECT_BOOTSTRAP = 3, /* bootstrap user domain (3.3) */
};

enum dmp_revocation_reason {
	DMP_REVOKE_COMPROMISE = 1,
	DMP_REVOKE_ROUTINE = 2,
	DMP_REVOKE_LOST_KEY = 3,
	DMP_REVOKE_OTHER = 4,
};

struct dmp_rotation {
	uint8_t subject_type;		   /* enum dmp_subject_type */
	char subject[DMP_SUBJECT_MAX + 1]; /* as written on the wire */
	uint8_t old_spk[DMP_ED25519_PK_BYTES];
	uint8_t new_spk[DMP_ED25519_PK_BYTES]; /* differs from old_spk */
	uint64_t seq; /* the reference uses epoch milliseconds */
	uint64_t ts;
	uint64_t exp;
};

struct dmp_revocation {
	uint8_t subject_type;
	char subject[DMP_SUBJECT_MAX + 1];
	uint8_t revoked_spk[DMP_ED25519_PK_BYTES]; /* also the signer */
	uint8_t reason; /* enum dmp_revocation_reason */
	uint64_t ts;
};

/**
 * Check a subject against its type (2.9): UTF-8 without NUL or control
 * characters; type 1 is `user@host` (1..255 bytes, split at the first
 * '@', user not blank, host a DNS name of at most 253 bytes); types 2 and
 * 3 are DNS names (3.3) of 1..64 bytes.
 * @return 0, DMP_EINVAL (unknown type) or DMP_EBADNAME
 */
DMP_MUST_CHECK int dmp_subject_check(uint8_t type, const char *subject,
				     size_t len);

/**
 * 1 if two subjects of @p type name the same thing: DNS names compare
 * case-insensitively without one trailing dot; for `user@host` the user
 * part compares exactly and the host part as a DNS name.
 */
int dmp_subject_equal(uint8_t type, const char *a, size_t alen, const char *b,
		      size_t blen);

/**
 * Build and co-sign a rotation: `v=dmp1;t=rotation;` plus
 * base64(body || sig_old || sig_new), at most DMP_RECORD_WIRE_MAX bytes.
 * @p old_sk and @p new_sk must hold @p r->old_spk and @p r->new_spk.
 * @return wire length, DMP_EINVAL, DMP_EBADNAME, DMP_EBADKEY, DMP_ETOOBIG
 *         or DMP_ENOBUFS
 */
DMP_MUST_CHECK int
dmp_rotation_sign(char *out, size_t cap, const struct dmp_rotation *r,
		  const uint8_t old_sk[DMP_ED25519_SK_BYTES],
		  const uint8_t new_sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse a rotation and verify both signatures (old key, then new key;
 * low-order keys refused), then: old_spk equals @p expected_old_spk if
 * given, subject matches @p expected_subject if given, and
 * now <= exp <= now + 5 years (6.2).
 *
 * @param expected_old_spk  NULL to skip
 * @param expected_subject  NULL to skip
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADNAME, DMP_EBADKEY, DMP_EBADSIG, DMP_EEXPIRED or
 *         DMP_EFUTURE; @p out zeroed on failure
 */
DMP_MUST_CHECK int dmp_rotation_parse(struct dmp_rotation *out,
				      const char *wire, size_t len,
				      const uint8_t *expected_old_spk,
				      const char *expected_subject,
				      size_t subject_len, uint64_t now);

/**
 * Build and self-sign a revocation: `v=dmp1;t=revocation;` plus
 * base64(body || sig). @p sk must hold @p r->revoked_spk.
 * @return wire length, DMP_EINVAL, DMP_EBADNAME, DMP_EBADKEY, DMP_ETOOBIG
 *         or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_revocation_sign(char *out, size_t cap,
				       const struct dmp_revocation *r,
				       const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse a revocation and verify its self-signature, then: revoked_spk
 * equals @p expected_revoked_spk if given, subject matches if given,
 * ts <= now + 300 (6.2) and, only when @p max_age is not 0,
 * ts + max_age >= now. With max_age 0 a revocation never goes stale,
 * as in the reference's permanent-assertion default.
 *
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADNAME, DMP_EBADKEY, DMP_EBADSIG, DMP_EEXPIRED (older than
 *         max_age) or DMP_EFUTURE; @p out zeroed on failure
 */
DMP_MUST_CHECK int dmp_revocation_parse(struct dmp_revocation *out,
					const char *wire, size_t len,
					const uint8_t *expected_revoked_spk,
					const char *expected_subject,
					size_t subject_len, uint64_t now,
					uint64_t max_age);

/** PROTOCOL.md 8: a walk follows at most this many rotations. */
#define DMP_ROTATION_MAX_HOPS 4

struct dmp_rotation_walk {
	uint8_t head[DMP_ED25519_PK_BYTES]; /* current key (pinned if 0 hops) */
	int hops;			    /* rotations followed */
	uint64_t seq, ts;		    /* of the last hop followed */
	uint8_t revoked_reason;		    /* DMP_EREVOKED: its reason */
	uint64_t revoked_ts;		    /* DMP_EREVOKED: its ts */
	const char *why; /* static text: what the walk found or refused */
};

/**
 * The rotation walk (PROTOCOL.md 8) over the TXT values of one rotation
 * RRset (rotations and revocations mixed, other values ignored): keep the
 * records that verify for @p subject (a rotation needs both signatures,
 * so a forged one is ignored), then from @p pinned follow at most
 * DMP_ROTATION_MAX_HOPS rotations.
 *
 * @return 0 (@p out->head the current key, @p out->hops 0 when nothing
 *         rotated), DMP_EREVOKED (the pinned key is revoked), DMP_ECHAIN
 *         (a fork, a seq that does not increase, a revoked next key, a
 *         cycle, or more hops than allowed; @p out->why says which) or
 *         DMP_ENOMEM. On failure @p out->head is @p pinned.
 */
DMP_MUST_CHECK int dmp_rotation_walk(
    struct dmp_rotation_walk *out, const uint8_t pinned[DMP_ED25519_PK_BYTES],
    uint8_t subject_type, const char *subject, size_t subject_len,
    const char *const *values, const size_t *lens, size_t n, uint64_t now);

#endif /* DMP_ROTATION_H */
