/*
 * core/include/dmp/crypto.h - the primitives DMP uses (PROTOCOL.md 4.1),
 * over libsodium: SHA-256, HMAC-SHA256, HKDF-SHA256, X25519, Ed25519 with
 * the low-order key blocklist, and the X25519 -> Ed25519 seed step.
 */
#ifndef DMP_CRYPTO_H
#define DMP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

void dmp_sha256(uint8_t out[DMP_SHA256_BYTES], const void *in, size_t len);
/** SHA-256 of the concatenation of up to three parts (NULL parts skipped). */
void dmp_sha256_3(uint8_t out[DMP_SHA256_BYTES], const void *a, size_t alen,
		  const void *b, size_t blen, const void *c, size_t clen);
/** First @p nchars (<= 64) lower-case hex characters of SHA-256(in). */
void dmp_sha256_hex_prefix(char *out, size_t nchars, const void *in,
			   size_t len);

void dmp_hmac_sha256(uint8_t out[DMP_SHA256_BYTES], const uint8_t *key,
		     size_t key_len, const void *msg, size_t len);

/**
 * HKDF-SHA256 (RFC 5869). libsodium 1.0.18 has none, so it is two HMACs.
 * @param out_len at most 255*32
 * @return 0 or DMP_EINVAL
 */
int dmp_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm,
		    size_t ikm_len, const uint8_t *salt, size_t salt_len,
		    const uint8_t *info, size_t info_len);

/** X25519 public key of secret @p sk (clamping happens inside). */
void dmp_x25519_base(uint8_t pk[DMP_X25519_BYTES],
		     const uint8_t sk[DMP_X25519_BYTES]);
/**
 * X25519 shared secret.
 * @return 0 or DMP_EWEAKSECRET (all-zero result: low-order peer key)
 */
DMP_MUST_CHECK int dmp_x25519(uint8_t shared[DMP_X25519_BYTES],
			      const uint8_t sk[DMP_X25519_BYTES],
			      const uint8_t peer_pk[DMP_X25519_BYTES]);

/** Ed25519 key pair from a 32-byte RFC 8032 seed. */
void dmp_ed25519_from_seed(uint8_t pk[DMP_ED25519_PK_BYTES],
			   uint8_t sk[DMP_ED25519_SK_BYTES],
			   const uint8_t seed[DMP_ED25519_SEED_BYTES]);
/**
 * DMP's user signing key: seed = SHA-256(x25519_sk || "DMP-v1-Ed25519-
 * signing-key") over the raw, unclamped X25519 secret (PROTOCOL.md 4.2).
 */
void dmp_ed25519_from_x25519(uint8_t pk[DMP_ED25519_PK_BYTES],
			     uint8_t sk[DMP_ED25519_SK_BYTES],
			     const uint8_t x25519_sk[DMP_X25519_BYTES]);

void dmp_sign(uint8_t sig[DMP_SIG_BYTES], const void *msg, size_t len,
	      const uint8_t sk[DMP_ED25519_SK_BYTES]);
/** 1 if @p pk is one of the 14 low-order encodings DMP refuses (1.2). */
int dmp_ed25519_is_low_order(const uint8_t pk[DMP_ED25519_PK_BYTES]);
/**
 * Verify a detached Ed25519 signature, refusing low-order keys first.
 * @return 0, DMP_EBADKEY or DMP_EBADSIG
 */
DMP_MUST_CHECK int dmp_verify(const uint8_t sig[DMP_SIG_BYTES], const void *msg,
			      size_t len,
			      const uint8_t pk[DMP_ED25519_PK_BYTES]);

/** Fill @p out with random bytes. */
void dmp_random(void *out, size_t len);
/** Wipe memory that held secrets. */
void dmp_wipe(void *p, size_t len);
/** Wipe @p len bytes at @p p, then dmp_free() it; NULL is a no-op. */
void dmp_wipe_free(void *p, size_t len);

#endif /* DMP_CRYPTO_H */
