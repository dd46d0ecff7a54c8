/*
 * core/include/dmp/record.h - what every signed TXT record shares
 * (PROTOCOL.md 1.1-1.5): an exact ASCII prefix, a size cap on the whole
 * value, strict base64 of body || signature(s).
 *
 * Record modules (identity.h, manifest.h, ...) build on these; callers
 * normally use the per-type functions.
 */
#ifndef DMP_RECORD_H
#define DMP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/* Prefixes (PROTOCOL.md 1.1). Dispatch on the full prefix. */
#define DMP_PREFIX_CHUNK "v=dmp1;t=chunk;d="
#define DMP_PREFIX_MANIFEST "v=dmp1;t=manifest;d="
#define DMP_PREFIX_IDENTITY "v=dmp1;t=identity;d="
#define DMP_PREFIX_PREKEY "v=dmp1;t=prekey;d="
#define DMP_PREFIX_CLAIM "v=dmp1;t=claim;"
#define DMP_PREFIX_CLUSTER "v=dmp1;t=cluster;"
#define DMP_PREFIX_BOOTSTRAP "v=dmp1;t=bootstrap;"
#define DMP_PREFIX_HEARTBEAT "v=dmp1;t=heartbeat;"
#define DMP_PREFIX_ROTATION "v=dmp1;t=rotation;"
#define DMP_PREFIX_REVOCATION "v=dmp1;t=revocation;"

/** Cap on signed discovery records (cluster, bootstrap, heartbeat, ...). */
#define DMP_RECORD_WIRE_MAX 1200
/** Cap on a claim record: one TXT string. */
#define DMP_CLAIM_WIRE_MAX 255

/** Seconds in the reference's "far future" windows (PROTOCOL.md 6.2). */
#define DMP_30_DAYS 2592000ULL
#define DMP_5_YEARS 157680000ULL
#define DMP_CLOCK_SKEW 300ULL

enum dmp_record_type {
	DMP_REC_UNKNOWN = 0, /* not DMP, or an unknown v=dmp type */
	DMP_REC_CHUNK,
	DMP_REC_MANIFEST,
	DMP_REC_IDENTITY,
	DMP_REC_PREKEY,
	DMP_REC_CLAIM,
	DMP_REC_CLUSTER,
	DMP_REC_BOOTSTRAP,
	DMP_REC_HEARTBEAT,
	DMP_REC_ROTATION,
	DMP_REC_REVOCATION,
};

/** Classify a TXT value by its full prefix. */
enum dmp_record_type dmp_record_type_of(const char *value, size_t len);

/**
 * Encode prefix || base64(blob) as a NUL-terminated string.
 * @param max_wire  cap on the whole value (0: none)
 * @return value length, DMP_ETOOBIG or DMP_ENOBUFS
 */
int dmp_record_encode(char *out, size_t cap, const char *prefix,
		      const uint8_t *blob, size_t blob_len, size_t max_wire);

/**
 * Sign @p body with @p sk and encode prefix || base64(body || sig).
 * @return value length, DMP_ETOOBIG or DMP_ENOBUFS
 */
int dmp_record_sign_encode(char *out, size_t cap, const char *prefix,
			   const uint8_t *body, size_t body_len,
			   const uint8_t sk[DMP_ED25519_SK_BYTES],
			   size_t max_wire);

/**
 * Steps 1-4 of the generic parse order: prefix, cap, strict base64,
 * minimum length.
 * @param max_wire  cap on the whole value (0: none)
 * @param[out] blob_len  decoded length
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64 or DMP_EMALFORMED
 */
DMP_MUST_CHECK int dmp_record_decode(uint8_t *blob, size_t cap,
				     size_t *blob_len, const char *value,
				     size_t len, const char *prefix,
				     size_t max_wire, size_t min_blob);

/**
 * Steps 1-6 for records checked against a key the caller pinned (cluster,
 * bootstrap: 1.2): decode, then verify the trailing signature with
 * @p pinned_spk before a single body byte is parsed.
 * @param[out] body_len  length of the signed body at the start of @p blob
 * @return 0, any dmp_record_decode() error, DMP_EBADKEY or DMP_EBADSIG
 */
DMP_MUST_CHECK int
dmp_record_decode_pinned(uint8_t *blob, size_t cap, size_t *body_len,
			 const char *value, size_t len, const char *prefix,
			 size_t max_wire, size_t min_body,
			 const uint8_t pinned_spk[DMP_ED25519_PK_BYTES]);

/**
 * The 6.2 window of cluster, bootstrap and rotation records.
 * @return 0, DMP_EEXPIRED (exp < now) or DMP_EFUTURE (exp - now > @p ahead)
 */
int dmp_record_check_exp(uint64_t exp, uint64_t now, uint64_t ahead);

/** 1 if libsodium secret key @p sk belongs to public key @p pk. */
int dmp_record_sk_is(const uint8_t sk[DMP_ED25519_SK_BYTES],
		     const uint8_t pk[DMP_ED25519_PK_BYTES]);

/**
 * Case-insensitive DNS name equality, ignoring one trailing dot on
 * either side.
 */
int dmp_name_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif /* DMP_RECORD_H */
