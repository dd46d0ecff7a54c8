/* core/src/client/store_prekeys.c - our prekey secrets (sealed) and the
 * cache of contacts' verified prekeys (store.h). */
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

/* ---- prekeys --------------------------------------------------------------
 */

/*
 * Sealed secret = nonce(24) || secretbox(secret). The nonce starts with
 * the prekey id, checked on open, so sealed values cannot be swapped
 * between rows.
 */
#define SEALED_LEN                                                             \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +             \
	 DMP_X25519_BYTES)

int dmp_store_prekey_put(struct dmp_store *st, uint32_t id,
			 const uint8_t secret[DMP_X25519_BYTES], uint64_t exp,
			 const char *wire)
{
	uint8_t sealed[SEALED_LEN];
	sqlite3_stmt *q;
	int rc;

	if (!st->seal_key) {
		return DMP_EINVAL;
	}
	randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
	dmp_store_u32(sealed, id);
	crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, secret,
			      DMP_X25519_BYTES, sealed, st->seal_key);
	rc = dmp_st_prepare(st, &q,
			    "INSERT INTO prekey (id, sealed, exp, wire) "
			    "VALUES (?, ?, ?, ?)");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_blob(q, 2, sealed, sizeof(sealed), SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, (int64_t)exp);
	sqlite3_bind_text(q, 4, wire ? wire : "", -1, SQLITE_TRANSIENT);
	return dmp_st_step_done(st, q);
}

int dmp_store_prekey_get(struct dmp_store *st, uint32_t id, int64_t now,
			 uint8_t secret[DMP_X25519_BYTES])
{
	sqlite3_stmt *q;
	int rc;

	if (!st->seal_key) {
		return DMP_EINVAL;
	}
	rc = dmp_st_prepare(st, &q,
			    "SELECT sealed, exp FROM prekey WHERE id = ?");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const uint8_t *sealed = sqlite3_column_blob(q, 0);
		int len = sqlite3_column_bytes(q, 0);
		int64_t exp = sqlite3_column_int64(q, 1);

		if (now > exp) {
			/* PROTOCOL.md 4.6: an expired prekey is unusable. */
			rc = DMP_ENOPREKEY;
		} else if (!sealed || len != SEALED_LEN ||
			   dmp_load_u32(sealed) != id ||
			   crypto_secretbox_open_easy(
			       secret, sealed + crypto_secretbox_NONCEBYTES,
			       SEALED_LEN - crypto_secretbox_NONCEBYTES, sealed,
			       st->seal_key) != 0) {
			rc = DMP_EDECRYPT;
		} else {
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = DMP_ENOPREKEY;
	} else {
		rc = dmp_st_fail(st, "prekey");
	}
	dmp_st_release(st, q);
	if (rc < 0) {
		sodium_memzero(secret, DMP_X25519_BYTES);
	}
	return rc;
}

int dmp_store_prekey_consume(struct dmp_store *st, uint32_t id, char *wire,
			     size_t wire_cap)
{
	sqlite3_stmt *q;
	int rc;

	if (wire && wire_cap) {
		wire[0] = '\0';
		rc = dmp_st_prepare(st, &q,
				    "SELECT wire FROM prekey WHERE id = ?");
		if (rc < 0) {
			return rc;
		}
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) == SQLITE_ROW) {
			dmp_st_copy_text(wire, wire_cap, q, 0);
		}
		dmp_st_release(st, q);
	}
	rc = dmp_st_prepare(st, &q, "DELETE FROM prekey WHERE id = ?");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, id);
	rc = dmp_st_step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOPREKEY;
	}
	return rc;
}

static int count_query(struct dmp_store *st, const char *sql, int64_t arg)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, arg);
	rc = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0)
					   : dmp_st_fail(st, "count");
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_prekey_count(struct dmp_store *st, int64_t now)
{
	return count_query(st, "SELECT count(*) FROM prekey WHERE exp >= ?",
			   now);
}

int dmp_store_prekey_reap(struct dmp_store *st, int64_t now)
{
	return dmp_st_delete_where(st, "DELETE FROM prekey WHERE exp < ?", now);
}

/* ---- contacts' prekeys (public halves, verified) ------------------------ */

int dmp_store_contact_prekeys_replace(struct dmp_store *st,
				      const uint8_t spk[32],
				      const struct dmp_store_contact_prekey *pk,
				      size_t n)
{
	sqlite3_stmt *q = NULL;
	int rc = dmp_st_exec(st, "BEGIN IMMEDIATE");

	if (rc < 0) {
		return rc;
	}
	rc = dmp_st_prepare(st, &q, "DELETE FROM contact_prekey WHERE spk = ?");
	if (rc == 0) {
		sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
		rc = dmp_st_step_done(st, q);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = dmp_st_prepare(
		    st, &q,
		    "INSERT OR REPLACE INTO contact_prekey (spk, "
		    "prekey_id, x25519_pk, exp) VALUES (?, ?, ?, ?)");
		if (rc == 0) {
			sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
			sqlite3_bind_int64(q, 2, pk[i].prekey_id);
			sqlite3_bind_blob(q, 3, pk[i].x25519_pk, 32,
					  SQLITE_TRANSIENT);
			sqlite3_bind_int64(q, 4, (int64_t)pk[i].exp);
			rc = dmp_st_step_done(st, q);
		}
	}
	if (rc == 0) {
		rc = dmp_st_exec(st, "COMMIT");
	}
	if (rc != 0) {
		dmp_st_exec(st, "ROLLBACK");
	}
	return rc;
}

int dmp_store_contact_prekey_pick(struct dmp_store *st, const uint8_t spk[32],
				  int64_t min_exp,
				  struct dmp_store_contact_prekey *out)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q,
	    "SELECT prekey_id, x25519_pk, exp FROM contact_prekey p "
	    "WHERE spk = ?1 AND exp >= ?2 AND NOT EXISTS (SELECT 1 "
	    "FROM contact_prekey_used u WHERE u.spk = ?1 AND "
	    "u.prekey_id = p.prekey_id) ORDER BY random() LIMIT 1");

	memset(out, 0, sizeof(*out));
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, min_exp);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->prekey_id = (uint32_t)sqlite3_column_int64(q, 0);
		dmp_st_copy_blob(out->x25519_pk, 32, q, 1);
		out->exp = (uint64_t)sqlite3_column_int64(q, 2);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : dmp_st_fail(st, "contact prekey");
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_contact_prekey_count(struct dmp_store *st, const uint8_t spk[32],
				   int64_t now)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
			   "SELECT count(*) FROM contact_prekey WHERE spk = ? "
			   "AND exp >= ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, now);
	rc = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0)
					   : dmp_st_fail(st, "count");
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_contact_prekey_drop(struct dmp_store *st, const uint8_t spk[32],
				  uint32_t prekey_id)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
			   "INSERT OR IGNORE INTO contact_prekey_used (spk, "
			   "prekey_id, exp) SELECT spk, prekey_id, exp FROM "
			   "contact_prekey WHERE spk = ? AND prekey_id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, prekey_id);
	return dmp_st_step_done(st, q);
}
