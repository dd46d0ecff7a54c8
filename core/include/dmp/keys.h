/*
 * core/include/dmp/keys.h - identity keys (PROTOCOL.md 4.2).
 *
 * A user identity is derived from a passphrase and a salt with Argon2id
 * (t=2, m=32 MiB, p=2); the raw, unclamped 32-byte output is the X25519
 * secret, and the Ed25519 signing key is derived from it. Operator keys
 * (cluster, bootstrap, heartbeat) are plain Ed25519 seeds instead.
 *
 * struct dmp_keys is opaque. Its secrets live in sodium_malloc'd memory
 * (guard pages, mlock'd, read-only after construction, wiped on free), and
 * signing and key agreement go through the handle so callers never hold
 * the secrets themselves. A handle is immutable after construction, so it
 * may be shared between threads.
 */
#ifndef DMP_KEYS_H
#define DMP_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/* PROTOCOL.md 4.2: Argon2id parameters; version 0x13. */
#define DMP_KDF_T_COST 2
#define DMP_KDF_M_COST_KIB 32768
#define DMP_KDF_PARALLELISM 2
/** Length of the random per-identity salt that new identities get. */
#define DMP_KDF_SALT_BYTES 32
/** Shorter salts are refused (reference: ValueError). */
#define DMP_KDF_SALT_MIN 8
/** Fallback salt when none is configured (23 ASCII bytes, weak). */
#define DMP_KDF_DEFAULT_SALT "DMP-default-v2-argon2id"
/** Size of the local passphrase check value (dmp_keys_check_value). */
#define DMP_KEYS_CHECK_BYTES 32
/** Fingerprint: the first 16 hex characters of the Ed25519 public key. */
#define DMP_FINGERPRINT_CHARS 16

struct dmp_keys;

/**
 * Fill @p salt with DMP_KDF_SALT_BYTES random bytes for a new identity.
 * Thread-safe.
 */
void dmp_kdf_salt_random(uint8_t salt[DMP_KDF_SALT_BYTES]);

/**
 * Derive a user identity from a passphrase (PROTOCOL.md 4.2).
 *
 * @param[out] out   new handle (owned; dmp_keys_free()), NULL on failure
 * @param pass       passphrase bytes, UTF-8 as typed (no normalisation);
 *                   borrowed; may hold NUL bytes
 * @param pass_len   length of @p pass
 * @param salt       borrowed; NULL selects DMP_KDF_DEFAULT_SALT
 * @param salt_len   at least DMP_KDF_SALT_MIN unless @p salt is NULL
 * @return 0, DMP_EINVAL (short salt, oversize input), DMP_ENOMEM or
 *         DMP_EINTERNAL (Argon2 failure). Slow (about 0.1 s, 32 MiB).
 */
DMP_MUST_CHECK int dmp_keys_derive(struct dmp_keys **out, const char *pass,
				   size_t pass_len, const uint8_t *salt,
				   size_t salt_len);

/**
 * As dmp_keys_derive(), then compare the result with a check value saved
 * when the identity was created, so a mistyped passphrase is reported
 * instead of silently becoming a new identity.
 *
 * @param check  from dmp_keys_check_value() at creation time; borrowed
 * @return 0, DMP_EPASSPHRASE (no handle is returned), or as
 *         dmp_keys_derive()
 */
DMP_MUST_CHECK int
dmp_keys_derive_checked(struct dmp_keys **out, const char *pass,
			size_t pass_len, const uint8_t *salt, size_t salt_len,
			const uint8_t check[DMP_KEYS_CHECK_BYTES]);

/**
 * The passphrase check value of a user identity: SHA-256 of the ASCII
 * label "DMP-passphrase-check-v1" followed by the X25519 public key. It is
 * local state only (never on the wire) and reveals nothing beyond the
 * public key, which is published anyway.
 * @return 0, or DMP_EINVAL for an operator key (no X25519 part)
 */
DMP_MUST_CHECK int dmp_keys_check_value(const struct dmp_keys *k,
					uint8_t check[DMP_KEYS_CHECK_BYTES]);

/**
 * A user identity from a raw (unclamped) X25519 secret: tests, stored
 * keys, and the vectors' "*_seed_hex" values (PROTOCOL.md 4.2).
 * @param sk  borrowed; copied into protected memory
 * @return 0 or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_keys_from_x25519(struct dmp_keys **out,
					const uint8_t sk[DMP_X25519_BYTES]);

/**
 * An operator key from a plain Ed25519 seed (no SHA-256 step; PROTOCOL.md
 * 4.2). It has no X25519 part: dmp_keys_x25519_pk() and dmp_keys_user_id()
 * return NULL and dmp_keys_x25519() fails with DMP_EINVAL.
 * @return 0 or DMP_ENOMEM
 */
DMP_MUST_CHECK int
dmp_keys_from_ed25519_seed(struct dmp_keys **out,
			   const uint8_t seed[DMP_ED25519_SEED_BYTES]);

/** Wipe and release @p k; NULL is a no-op. */
void dmp_keys_free(struct dmp_keys *k);

/** 1 for a user identity (X25519 + Ed25519), 0 for an operator key. */
int dmp_keys_is_user(const struct dmp_keys *k);

/** X25519 public key (32 bytes, borrowed from @p k), or NULL. */
const uint8_t *dmp_keys_x25519_pk(const struct dmp_keys *k);
/** Ed25519 public key (32 bytes, borrowed from @p k). */
const uint8_t *dmp_keys_ed25519_pk(const struct dmp_keys *k);
/** user_id = SHA-256(x25519_pk) (32 bytes, borrowed), or NULL. */
const uint8_t *dmp_keys_user_id(const struct dmp_keys *k);

/**
 * The fingerprint shown to users and accepted by --accept-fingerprint:
 * the first 16 lower-case hex characters of the Ed25519 public key.
 * @param out  DMP_FINGERPRINT_CHARS + 1 bytes, NUL-terminated
 */
void dmp_keys_fingerprint(const struct dmp_keys *k,
			  char out[DMP_FINGERPRINT_CHARS + 1]);
/**
 * The same fingerprint of any Ed25519 public key (a contact's, a node
 * operator's), for front ends that hold only the key.
 * @param out  DMP_FINGERPRINT_CHARS + 1 bytes, NUL-terminated
 */
void dmp_fingerprint_hex(char out[DMP_FINGERPRINT_CHARS + 1],
			 const uint8_t ed25519_pk[DMP_ED25519_PK_BYTES]);

/** Ed25519 signature of @p msg with the handle's signing key. */
void dmp_keys_sign(const struct dmp_keys *k, uint8_t sig[DMP_SIG_BYTES],
		   const void *msg, size_t len);

/**
 * X25519 with the handle's long-term secret.
 * @param[out] shared  wiped on failure; the caller wipes it after use
 * @return 0, DMP_EWEAKSECRET (all-zero result) or DMP_EINVAL (operator
 *         key)
 */
DMP_MUST_CHECK int dmp_keys_x25519(const struct dmp_keys *k,
				   uint8_t shared[DMP_X25519_BYTES],
				   const uint8_t peer_pk[DMP_X25519_BYTES]);

/**
 * Copy the raw X25519 secret out, for storing a key file. Avoid it where
 * the handle will do; the caller wipes @p sk.
 * @return 0 or DMP_EINVAL (operator key)
 */
DMP_MUST_CHECK int dmp_keys_export_x25519(const struct dmp_keys *k,
					  uint8_t sk[DMP_X25519_BYTES]);

#endif /* DMP_KEYS_H */
