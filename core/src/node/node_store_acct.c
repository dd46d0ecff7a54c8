/*
 * core/src/node/node_store_acct.c - the accounts in the node database
 * (node_store.c holds the records): TSIG keys, registrations (PROTOCOL.md
 * 7.2) and the record API's tokens (7.4).
 */
#include <stdio.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
int dmp_st_keys_load(sqlite3 *db, struct nkey **keys, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct nkey *k = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*keys = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT name, secret, scopes FROM tsig_keys"
			       " WHERE algorithm = 'hmac-sha256'",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "keys");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const void *sec = sqlite3_column_blob(st, 1);
		size_t slen = (size_t)sqlite3_column_bytes(st, 1);
		const char *scopes = (const char *)sqlite3_column_text(st, 2);
		struct nkey *e;

		if (!name || !sec || !scopes || slen == 0 ||
		    slen > sizeof(e->secret)) {
			continue;
		}
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct nkey *nk = dmp_realloc(k, nc * sizeof(*k));

			if (!nk) {
				rc = DMP_ENOMEM;
				goto out;
			}
			k = nk;
			cap = nc;
		}
		e = &k[cnt];
		memset(e, 0, sizeof(*e));
		if (strlen(name) >= sizeof(e->text) ||
		    dmp_dnswire_from_text(name, e->name, &e->nlen) < 0) {
			continue;
		}
		memcpy(e->text, name, strlen(name) + 1);
		memcpy(e->secret, sec, slen);
		e->slen = slen;
		/* scopes: comma separated, lower case */
		for (const char *p = scopes;
		     *p && e->n_scopes < DMP_NODE_MAX_SCOPES;) {
			size_t l = strcspn(p, ",");

			if (l > 0 && l < DMP_NODE_NAME_MAX) {
				memcpy(e->scopes[e->n_scopes], p, l);
				e->scopes[e->n_scopes][l] = '\0';
				e->n_scopes++;
			}
			p += l;
			if (*p == ',') {
				p++;
			}
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		rc = dmp_st_dberr(db, "keys");
		goto out;
	}
	rc = 0;
	*keys = k;
	*n = cnt;
	k = NULL;
out:
	if (k) {
		dmp_wipe_free(k, cap * sizeof(*k));
	}
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_key_put(sqlite3 *db, const char *name, const uint8_t *secret,
		   size_t slen, const char *scopes, uint64_t now_s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "INSERT INTO tsig_keys(name, algorithm, secret,"
			       " scopes, created) VALUES(?, 'hmac-sha256', ?,"
			       " ?, ?) ON CONFLICT(name) DO UPDATE SET"
			       " secret = excluded.secret,"
			       " scopes = excluded.scopes,"
			       " created = excluded.created",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "key add");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, secret, (int)slen, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, scopes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now_s);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dmp_st_dberr(db, "key add");
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_key_del(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "DELETE FROM tsig_keys WHERE name = ?", -1,
			       &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "key revoke");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0
					     : dmp_st_dberr(db, "key revoke");
	if (rc == 0 && sqlite3_changes(db) == 0) {
		rc = DMP_ENOENT;
	}
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_key_list(sqlite3 *db, dmp_node_key_fn fn, void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT name, algorithm, scopes, created FROM"
			       " tsig_keys ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "key list");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *alg = (const char *)sqlite3_column_text(st, 1);
		const char *sc = (const char *)sqlite3_column_text(st, 2);

		fn(name ? name : "", alg ? alg : "", sc ? sc : "",
		   (uint64_t)sqlite3_column_int64(st, 3), ud);
	}
	rc = rc == SQLITE_DONE ? 0 : dmp_st_dberr(db, "key list");
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_reg_get(sqlite3 *db, const char *subject, uint64_t now_s,
		   char spk_hex[65], char key_name[DMP_NODE_NAME_MAX])
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT spk, key_name FROM registrations"
			       " WHERE subject = ? AND expires > ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "registration");
	}
	sqlite3_bind_text(st, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now_s);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);

		snprintf(spk_hex, 65, "%s", a ? a : "");
		snprintf(key_name, DMP_NODE_NAME_MAX, "%s", b ? b : "");
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : dmp_st_dberr(db, "registration");
	}
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_reg_put(sqlite3 *db, const char *subject, const char *spk_hex,
		   const char *key_name, uint64_t expires_s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO registrations(subject,"
			       " spk, key_name, expires) VALUES(?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "registration");
	}
	sqlite3_bind_text(st, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, spk_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)expires_s);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0
					     : dmp_st_dberr(db, "registration");
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_reg_expire(sqlite3 *db, uint64_t now_s)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (sqlite3_prepare_v2(db,
			       "DELETE FROM tsig_keys WHERE name IN (SELECT"
			       " key_name FROM registrations WHERE expires"
			       " <= ?1)",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "registration expiry");
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_s);
	rc = sqlite3_step(st);
	n = sqlite3_changes(db);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		return dmp_st_dberr(db, "registration expiry");
	}
	if (sqlite3_prepare_v2(db,
			       "DELETE FROM registrations WHERE expires <= ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "registration expiry");
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_s);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? n : dmp_st_dberr(db, "registration expiry");
}

int dmp_st_tok_put(sqlite3 *db, const char *name, const char *hash_hex,
		   const char *scopes, uint64_t now_s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO http_tokens(name,"
			       " token_hash, scopes, created)"
			       " VALUES(?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "token add");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, scopes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now_s);
	rc =
	    sqlite3_step(st) == SQLITE_DONE ? 0 : dmp_st_dberr(db, "token add");
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_tok_del(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "DELETE FROM http_tokens WHERE name = ?", -1,
			       &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "token revoke");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0
					     : dmp_st_dberr(db, "token revoke");
	if (rc == 0 && sqlite3_changes(db) == 0) {
		rc = DMP_ENOENT;
	}
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_tok_list(sqlite3 *db, dmp_node_key_fn fn, void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT name, scopes, created FROM http_tokens"
			       " ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "token list");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *sc = (const char *)sqlite3_column_text(st, 1);

		fn(name ? name : "", "bearer", sc ? sc : "",
		   (uint64_t)sqlite3_column_int64(st, 2), ud);
	}
	rc = rc == SQLITE_DONE ? 0 : dmp_st_dberr(db, "token list");
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_tok_find(sqlite3 *db, const char *hash_hex, char *scopes, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	scopes[0] = '\0';
	if (sqlite3_prepare_v2(db,
			       "SELECT scopes FROM http_tokens WHERE"
			       " token_hash = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "token");
	}
	sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *sc = (const char *)sqlite3_column_text(st, 0);

		rc = sc && strlen(sc) < cap ? 0 : DMP_ESTORE;
		if (rc == 0) {
			memcpy(scopes, sc, strlen(sc) + 1);
		}
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT : dmp_st_dberr(db, "token");
	}
	sqlite3_finalize(st);
	return rc;
}
