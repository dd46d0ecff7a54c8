/*
 * core/src/client/store_keys.c - our previous identity keys after a
 * rotation (store.h): kept sealed like the prekey secrets, so mail sent
 * to a previous key still opens; and the one transaction that switches
 * the identity to a rotated key and seals every secret again under the
 * new key's seal key.
 */
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

/* nonce(24) || secretbox(32-byte secret), as in store_prekeys.c. */
#define SEALED_LEN                                                             \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +             \
	 DMP_X25519_BYTES)

/* Seal every row of @p table (column `sealed`, row key @p keycol) again
 * under @p key, each keeping its nonce (a new key, so no nonce reuse). */
static int reseal_table(struct dmp_store *st, const char *select,
			const char *update, const uint8_t key[32])
{
	sqlite3_stmt *q, *u;
	uint8_t secret[DMP_X25519_BYTES], sealed[SEALED_LEN];
	int rc = dmp_st_prepare(st, &q, select);

	if (rc < 0) {
		return rc;
	}
	while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
		const uint8_t *old = sqlite3_column_blob(q, 1);

		if (!old || sqlite3_column_bytes(q, 1) != SEALED_LEN ||
		    crypto_secretbox_open_easy(
			secret, old + crypto_secretbox_NONCEBYTES,
			SEALED_LEN - crypto_secretbox_NONCEBYTES, old,
			st->seal_key) != 0) {
			rc = DMP_EDECRYPT;
			break;
		}
		memcpy(sealed, old, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES,
				      secret, sizeof(secret), sealed, key);
		sodium_memzero(secret, sizeof(secret));
		rc = dmp_st_prepare(st, &u, update);
		if (rc == 0) {
			sqlite3_bind_blob(u, 1, sealed, sizeof(sealed),
					  SQLITE_TRANSIENT);
			sqlite3_bind_value(u, 2, sqlite3_column_value(q, 0));
			rc = dmp_st_step_done(st, u);
		}
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_identity_rotate(struct dmp_store *st,
			      const struct dmp_store_identity *id,
			      const struct dmp_store_old_key *old,
			      const uint8_t old_xsk[DMP_X25519_BYTES],
			      const uint8_t new_seal_key[32],
			      const char *const *kv)
{
	uint8_t sealed[SEALED_LEN];
	sqlite3_stmt *q;
	int rc;

	if (!st->seal_key) {
		return DMP_EINVAL;
	}
	rc = dmp_st_exec(st, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	rc = reseal_table(st, "SELECT id, sealed FROM prekey",
			  "UPDATE prekey SET sealed = ? WHERE id = ?",
			  new_seal_key);
	if (rc == 0) {
		rc = reseal_table(
		    st, "SELECT ed25519_pk, sealed FROM old_key",
		    "UPDATE old_key SET sealed = ? WHERE ed25519_pk = ?",
		    new_seal_key);
	}
	if (rc == 0) {
		randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES,
				      old_xsk, DMP_X25519_BYTES, sealed,
				      new_seal_key);
		rc =
		    dmp_st_prepare(st, &q,
				   "INSERT OR REPLACE INTO old_key (ed25519_pk,"
				   " x25519_pk, sealed, rotated_at) VALUES "
				   "(?, ?, ?, ?)");
	}
	if (rc == 0) {
		sqlite3_bind_blob(q, 1, old->ed25519_pk, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(q, 2, old->x25519_pk, 32, SQLITE_TRANSIENT);
		sqlite3_bind_blob(q, 3, sealed, sizeof(sealed),
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 4, old->rotated_at);
		rc = dmp_st_step_done(st, q);
	}
	if (rc == 0) {
		rc = dmp_store_identity_put(st, id);
	}
	for (size_t i = 0; rc == 0 && kv && kv[i]; i += 2) {
		rc = dmp_store_kv_set(st, kv[i], kv[i + 1]);
	}
	if (rc == 0) {
		rc = dmp_st_exec(st, "COMMIT");
	}
	if (rc < 0) {
		(void)dmp_st_exec(st, "ROLLBACK");
		return rc;
	}
	memcpy(st->seal_key, new_seal_key, 32);
	return 0;
}

int dmp_store_old_keys(struct dmp_store *st, int64_t since,
		       struct dmp_store_old_key *out, size_t cap)
{
	sqlite3_stmt *q;
	size_t n = 0;
	int rc = dmp_st_prepare(st, &q,
				"SELECT ed25519_pk, x25519_pk, rotated_at FROM "
				"old_key WHERE rotated_at >= ? ORDER BY "
				"rotated_at DESC");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, since);
	while (n < cap && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		dmp_st_copy_blob(out[n].ed25519_pk, 32, q, 0);
		dmp_st_copy_blob(out[n].x25519_pk, 32, q, 1);
		out[n].rotated_at = sqlite3_column_int64(q, 2);
		n++;
	}
	rc = n == cap || rc == SQLITE_DONE ? (int)n
					   : dmp_st_fail(st, "old keys");
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_old_key_secret(struct dmp_store *st, const uint8_t ed25519_pk[32],
			     uint8_t xsk[DMP_X25519_BYTES])
{
	sqlite3_stmt *q;
	uint8_t pk[DMP_X25519_BYTES];
	int rc;

	if (!st->seal_key) {
		return DMP_EINVAL;
	}
	rc = dmp_st_prepare(
	    st, &q,
	    "SELECT sealed, x25519_pk FROM old_key WHERE ed25519_pk = ?");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, ed25519_pk, 32, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const uint8_t *s = sqlite3_column_blob(q, 0);

		dmp_st_copy_blob(pk, sizeof(pk), q, 1);
		/* The secret must give the row's public key: no swapping. */
		rc = s && sqlite3_column_bytes(q, 0) == SEALED_LEN &&
			     crypto_secretbox_open_easy(
				 xsk, s + crypto_secretbox_NONCEBYTES,
				 SEALED_LEN - crypto_secretbox_NONCEBYTES, s,
				 st->seal_key) == 0
			 ? 0
			 : DMP_EDECRYPT;
		if (rc == 0) {
			uint8_t chk[DMP_X25519_BYTES];

			if (crypto_scalarmult_base(chk, xsk) != 0 ||
			    sodium_memcmp(chk, pk, sizeof(pk)) != 0) {
				rc = DMP_EDECRYPT;
			}
		}
	} else {
		rc =
		    rc == SQLITE_DONE ? DMP_ENOENT : dmp_st_fail(st, "old key");
	}
	dmp_st_release(st, q);
	if (rc < 0) {
		sodium_memzero(xsk, DMP_X25519_BYTES);
	}
	return rc;
}
