/*
 * core/src/wire/signed_i.h - the framing signed records share
 * (PROTOCOL.md 1.2-1.5): prefix || base64(body || sig...), the signers'
 * keys inside the body or pinned by the caller. Identity, claim (2.3,
 * 2.5) and the discovery records cluster, bootstrap, heartbeat, rotation
 * and revocation (2.6-2.10) describe their body codecs with a struct
 * dmp_signed_type; manifest and prekey keep their own fixed layouts.
 * Not part of the public API.
 */
#ifndef DMP_WIRE_SIGNED_I_H
#define DMP_WIRE_SIGNED_I_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/crypto.h"

/** Largest body dmp_signed_sign() encodes (under the 1200 cap). */
#define DMP_SIGNED_BODY_MAX 1024
/** Rotation is signed by two keys; everything else by one. */
#define DMP_SIGNED_MAX_SIGS 2

/**
 * Strict body parse into a zeroed record of the type; 0 or a negative
 * error (the caller zeroes the record again on failure).
 */
typedef int (*dmp_signed_parse_fn)(void *rec, const uint8_t *body, size_t len,
				   unsigned flags);
/** Validate and encode a body; its length or a negative error. */
typedef int (*dmp_signed_encode_fn)(uint8_t *out, size_t cap, const void *rec,
				    unsigned flags);

struct dmp_signed_type {
	const char *prefix; /* DMP_PREFIX_* */
	size_t rec_size;    /* sizeof the record struct */
	size_t body_max;    /* encode buffer given to @c encode */
	size_t min_body;    /* shortest body the parse may be given */
	size_t max_wire;    /* cap on the value; 0: DMP_RECORD_WIRE_MAX */
	size_t blob_max;    /* largest body || sigs; 0: any under the cap */
	size_t nsig;	    /* signatures after the body, 1 or 2 */
	/* offsetof each signer's public key in the record, in sig order */
	size_t spk_off[DMP_SIGNED_MAX_SIGS];
	dmp_signed_parse_fn parse;
	dmp_signed_encode_fn encode;
	/* pinned records: offsetof the name (char[]) and exp (uint64_t) */
	size_t name_off;
	size_t exp_off;
};

/**
 * Run @p t's body parse on a zeroed @p rec; @p rec is zeroed again on
 * failure. What the record modules' dmp_*_body_parse() are made of.
 */
int dmp_signed_body_parse(void *rec, const struct dmp_signed_type *t,
			  const uint8_t *body, size_t len, unsigned flags);

/**
 * Check that sk[i] belongs to the record's i-th signer key, encode the
 * body and sign it with each key in turn (body || sig_0 || sig_1).
 * @p out is an empty string on failure.
 * @return value length, DMP_EBADKEY, an encode error, DMP_ETOOBIG or
 *         DMP_ENOBUFS
 */
int dmp_signed_sign(char *out, size_t cap, const struct dmp_signed_type *t,
		    const void *rec,
		    const uint8_t *const sk[DMP_SIGNED_MAX_SIGS],
		    unsigned flags);

/** dmp_signed_sign() of a record with one signer. */
int dmp_signed_sign1(char *out, size_t cap, const struct dmp_signed_type *t,
		     const void *rec, const uint8_t sk[DMP_ED25519_SK_BYTES],
		     unsigned flags);

/**
 * Sign a user record's body (identity 2.3, claim 2.5) with @p sk, which
 * must belong to @p spk, a key that is not of low order: libsodium's sk is
 * seed || pk, so another key would make a record nobody can verify.
 * @param body_len  the body encoder's result; negative is passed through
 * @return value length, @p body_len's error, DMP_EBADKEY, DMP_ETOOBIG or
 *         DMP_ENOBUFS
 */
int dmp_signed_sign_user(char *out, size_t cap, const char *prefix,
			 const uint8_t *body, int body_len,
			 const uint8_t sk[DMP_ED25519_SK_BYTES],
			 const uint8_t spk[DMP_ED25519_PK_BYTES],
			 size_t max_wire);

/**
 * Decode, parse and verify a record. With @p pinned_spk (one signature
 * only, PROTOCOL.md 1.2) the signature is checked with the pinned key
 * before the body is parsed, and the signer key inside must equal it;
 * otherwise each signature is checked with the key the body names.
 * @p rec is zeroed on failure; no time or name checks are made here.
 * @return 0, any dmp_record_decode() error, a parse error, DMP_EBADKEY
 *         or DMP_EBADSIG
 */
int dmp_signed_parse(void *rec, const struct dmp_signed_type *t,
		     const char *wire, size_t len,
		     const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
		     unsigned flags);

/**
 * dmp_signed_parse() with a pinned key (cluster 2.6, bootstrap 2.7), then
 * the record's name must equal @p name (dmp_name_equal) and its exp pass
 * the 6.2 five-year window.
 * @return 0, DMP_EINVAL (no key or name), any dmp_signed_parse() error,
 *         DMP_EBADNAME, DMP_EEXPIRED or DMP_EFUTURE
 */
int dmp_signed_parse_pinned(void *rec, const struct dmp_signed_type *t,
			    const char *wire, size_t len,
			    const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
			    const char *name, size_t name_len, uint64_t now);

/**
 * The 6.2 window of short-lived records (claim 2.5, heartbeat 2.8), each
 * comparison as the reference makes it: ts at most 300 s ahead of now
 * (and, with @p past_skew, at most 300 s behind), exp > now and
 * exp - now <= 30 days.
 * @return 0, DMP_EFUTURE or DMP_EEXPIRED
 */
int dmp_signed_check_window(uint64_t ts, uint64_t exp, uint64_t now,
			    int past_skew);

#endif /* DMP_WIRE_SIGNED_I_H */
