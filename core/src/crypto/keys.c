/* core/src/crypto/keys.c - identity keys in protected memory (PROTOCOL.md
 * 4.2). */
#include <string.h>
#include <argon2.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"

/*
 * Only byte arrays, so the struct needs no alignment: sodium_malloc places
 * the block against the trailing guard page and does not align it.
 */
struct dmp_keys {
	uint8_t x_sk[DMP_X25519_BYTES];
	uint8_t ed_sk[DMP_ED25519_SK_BYTES];
	uint8_t x_pk[DMP_X25519_BYTES];
	uint8_t ed_pk[DMP_ED25519_PK_BYTES];
	uint8_t user_id[DMP_USER_ID_BYTES];
	uint8_t is_user;
};

static const char check_label[] = "DMP-passphrase-check-v1";

void dmp_kdf_salt_random(uint8_t salt[DMP_KDF_SALT_BYTES])
{
	/* randombytes_buf works even if init failed (it reads getrandom). */
	int rc = dmp_init();

	(void)rc;
	dmp_random(salt, DMP_KDF_SALT_BYTES);
}

static int keys_alloc(struct dmp_keys **out)
{
	struct dmp_keys *k;

	*out = NULL;
	if (dmp_init() != 0) {
		return DMP_EINTERNAL;
	}
	k = sodium_malloc(sizeof(*k));
	if (!k) {
		return DMP_ENOMEM;
	}
	memset(k, 0, sizeof(*k));
	*out = k;
	return 0;
}

/* Fill the public parts from x_sk and seal the block read-only. */
static void keys_finish_user(struct dmp_keys *k)
{
	dmp_x25519_base(k->x_pk, k->x_sk);
	dmp_ed25519_from_x25519(k->ed_pk, k->ed_sk, k->x_sk);
	dmp_sha256(k->user_id, k->x_pk, sizeof(k->x_pk));
	k->is_user = 1;
	sodium_mprotect_readonly(k);
}

int dmp_keys_from_x25519(struct dmp_keys **out,
			 const uint8_t sk[DMP_X25519_BYTES])
{
	struct dmp_keys *k;
	int rc = keys_alloc(&k);

	if (rc != 0) {
		return rc;
	}
	memcpy(k->x_sk, sk, DMP_X25519_BYTES);
	keys_finish_user(k);
	*out = k;
	return 0;
}

int dmp_keys_from_ed25519_seed(struct dmp_keys **out,
			       const uint8_t seed[DMP_ED25519_SEED_BYTES])
{
	struct dmp_keys *k;
	int rc = keys_alloc(&k);

	if (rc != 0) {
		return rc;
	}
	dmp_ed25519_from_seed(k->ed_pk, k->ed_sk, seed);
	k->is_user = 0;
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

int dmp_keys_derive(struct dmp_keys **out, const char *pass, size_t pass_len,
		    const uint8_t *salt, size_t salt_len)
{
	struct dmp_keys *k = NULL;
	int rc;

	*out = NULL;
	if (!salt) {
		salt = (const uint8_t *)DMP_KDF_DEFAULT_SALT;
		salt_len = sizeof(DMP_KDF_DEFAULT_SALT) - 1;
	}
	/* Reference: ValueError("salt must be at least 8 bytes"). */
	if (salt_len < DMP_KDF_SALT_MIN || salt_len > ARGON2_MAX_SALT_LENGTH ||
	    pass_len > ARGON2_MAX_PWD_LENGTH || (!pass && pass_len)) {
		return DMP_EINVAL;
	}
	rc = keys_alloc(&k);
	if (rc != 0) {
		return rc;
	}
	/* PROTOCOL.md 4.2 and 10.1: libargon2 at p = 2 (libsodium fixes p =
	 * 1); the raw output is the unclamped X25519 secret. Written straight
	 * into protected memory. */
	if (argon2id_hash_raw(DMP_KDF_T_COST, DMP_KDF_M_COST_KIB,
			      DMP_KDF_PARALLELISM, pass ? pass : "", pass_len,
			      salt, salt_len, k->x_sk,
			      sizeof(k->x_sk)) != ARGON2_OK) {
		rc = DMP_EINTERNAL;
		goto out;
	}
	keys_finish_user(k);
	*out = k;
	k = NULL;
out:
	dmp_keys_free(k);
	return rc;
}

int dmp_keys_check_value(const struct dmp_keys *k,
			 uint8_t check[DMP_KEYS_CHECK_BYTES])
{
	if (!k->is_user) {
		memset(check, 0, DMP_KEYS_CHECK_BYTES);
		return DMP_EINVAL;
	}
	dmp_sha256_3(check, check_label, sizeof(check_label) - 1, k->x_pk,
		     sizeof(k->x_pk), NULL, 0);
	return 0;
}

int dmp_keys_derive_checked(struct dmp_keys **out, const char *pass,
			    size_t pass_len, const uint8_t *salt,
			    size_t salt_len,
			    const uint8_t check[DMP_KEYS_CHECK_BYTES])
{
	struct dmp_keys *k = NULL;
	uint8_t got[DMP_KEYS_CHECK_BYTES];
	int rc;

	*out = NULL;
	rc = dmp_keys_derive(&k, pass, pass_len, salt, salt_len);
	if (rc != 0) {
		return rc;
	}
	rc = dmp_keys_check_value(k, got);
	if (rc == 0 && sodium_memcmp(got, check, sizeof(got)) != 0) {
		rc = DMP_EPASSPHRASE;
	}
	if (rc == 0) {
		*out = k;
		k = NULL;
	}
	dmp_keys_free(k);
	return rc;
}

void dmp_keys_free(struct dmp_keys *k)
{
	/* sodium_free makes the block writable, wipes and unlocks it. */
	if (k) {
		sodium_free(k);
	}
}

int dmp_keys_is_user(const struct dmp_keys *k)
{
	return k->is_user;
}

const uint8_t *dmp_keys_x25519_pk(const struct dmp_keys *k)
{
	return k->is_user ? k->x_pk : NULL;
}

const uint8_t *dmp_keys_ed25519_pk(const struct dmp_keys *k)
{
	return k->ed_pk;
}

const uint8_t *dmp_keys_user_id(const struct dmp_keys *k)
{
	return k->is_user ? k->user_id : NULL;
}

void dmp_fingerprint_hex(char out[DMP_FINGERPRINT_CHARS + 1],
			 const uint8_t ed25519_pk[DMP_ED25519_PK_BYTES])
{
	char hex[2 * DMP_ED25519_PK_BYTES + 1];

	dmp_hex_encode(hex, ed25519_pk, DMP_ED25519_PK_BYTES);
	memcpy(out, hex, DMP_FINGERPRINT_CHARS);
	out[DMP_FINGERPRINT_CHARS] = '\0';
}

void dmp_keys_fingerprint(const struct dmp_keys *k,
			  char out[DMP_FINGERPRINT_CHARS + 1])
{
	dmp_fingerprint_hex(out, k->ed_pk);
}

void dmp_keys_sign(const struct dmp_keys *k, uint8_t sig[DMP_SIG_BYTES],
		   const void *msg, size_t len)
{
	dmp_sign(sig, msg, len, k->ed_sk);
}

int dmp_keys_x25519(const struct dmp_keys *k, uint8_t shared[DMP_X25519_BYTES],
		    const uint8_t peer_pk[DMP_X25519_BYTES])
{
	if (!k->is_user) {
		memset(shared, 0, DMP_X25519_BYTES);
		return DMP_EINVAL;
	}
	return dmp_x25519(shared, k->x_sk, peer_pk);
}

int dmp_keys_export_x25519(const struct dmp_keys *k,
			   uint8_t sk[DMP_X25519_BYTES])
{
	if (!k->is_user) {
		memset(sk, 0, DMP_X25519_BYTES);
		return DMP_EINVAL;
	}
	memcpy(sk, k->x_sk, DMP_X25519_BYTES);
	return 0;
}
