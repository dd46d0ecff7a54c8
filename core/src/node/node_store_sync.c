/*
 * core/src/node/node_store_sync.c - what anti-entropy reads from and
 * keeps in sqlite (PROTOCOL.md 7.6): live rows in (stored_ts, name,
 * value_hash) order over the records_ts index, one row's expiry by hash,
 * and each peer's cursor (table sync_cursors, so a restart resumes where
 * it stopped). Callers hold wlock and have flushed the pending commits.
 */
#include <string.h>

#include "dmp/err.h"
#include "node/node_i.h"
#include "node/node_sync_i.h"

int dmp_st_digest(sqlite3 *db, const struct ns_cursor *c, unsigned limit,
		  uint64_t now_s, dmp_st_digest_fn fn, void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (sqlite3_prepare_v2(
		db,
		"SELECT name, value_hash, stored_ts, expires_at FROM records"
		" WHERE expires_at > ? AND (stored_ts, name, value_hash) >"
		" (?, ?, ?) ORDER BY stored_ts, name, value_hash LIMIT ?",
		-1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "digest");
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_s);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->ts);
	sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *hash = (const char *)sqlite3_column_text(st, 1);
		sqlite3_int64 ts = sqlite3_column_int64(st, 2);
		sqlite3_int64 exp = sqlite3_column_int64(st, 3);

		if (!name || !hash || ts < 0 || exp < 0) {
			continue;
		}
		rc = fn(name, hash, (uint64_t)ts, (uint64_t)exp, ud);
		if (rc < 0) {
			sqlite3_finalize(st);
			return rc;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		n = dmp_st_dberr(db, "digest");
	}
	sqlite3_finalize(st);
	return n;
}

int dmp_st_hash_exp(sqlite3 *db, const char *name, const char *hash,
		    uint64_t now_s, uint64_t *exp_s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "SELECT expires_at FROM records WHERE name = ?"
			       " AND value_hash = ? AND expires_at > ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "hash lookup");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now_s);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*exp_s = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : dmp_st_dberr(db, "hash lookup");
	}
	sqlite3_finalize(st);
	return rc;
}

static int cursor_table(sqlite3 *db)
{
	if (sqlite3_exec(db,
			 "CREATE TABLE IF NOT EXISTS sync_cursors("
			 "peer TEXT PRIMARY KEY, ts INTEGER NOT NULL,"
			 " name TEXT NOT NULL, hash TEXT NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "sync_cursors");
	}
	return 0;
}

int dmp_st_cursor_get(sqlite3 *db, const char *peer, struct ns_cursor *c)
{
	sqlite3_stmt *st = NULL;
	int rc = cursor_table(db);

	memset(c, 0, sizeof(*c));
	if (rc < 0) {
		return rc;
	}
	if (sqlite3_prepare_v2(db,
			       "SELECT ts, name, hash FROM sync_cursors"
			       " WHERE peer = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "sync cursor");
	}
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *nm = (const char *)sqlite3_column_text(st, 1);
		const char *h = (const char *)sqlite3_column_text(st, 2);
		size_t nl = nm ? strlen(nm) : 0, hl = h ? strlen(h) : 0;

		rc = 0;
		if (sqlite3_column_int64(st, 0) >= 0 &&
		    (!nl || dmp_ns_name_ok(nm, nl)) &&
		    (!hl || dmp_ns_hash_ok(h, hl))) {
			c->ts = (uint64_t)sqlite3_column_int64(st, 0);
			memcpy(c->name, nm, nl);
			memcpy(c->hash, h, hl);
			rc = 1;
		}
	} else {
		rc = rc == SQLITE_DONE ? 0 : dmp_st_dberr(db, "sync cursor");
	}
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_cursor_put(sqlite3 *db, const char *peer, const struct ns_cursor *c)
{
	sqlite3_stmt *st = NULL;
	int rc = cursor_table(db);

	if (rc < 0) {
		return rc;
	}
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO sync_cursors(peer, ts, name, hash)"
			       " VALUES(?, ?, ?, ?) ON CONFLICT(peer) DO"
			       " UPDATE SET ts = excluded.ts, name ="
			       " excluded.name, hash = excluded.hash",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "sync cursor");
	}
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->ts);
	sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0
					     : dmp_st_dberr(db, "sync cursor");
	sqlite3_finalize(st);
	return rc;
}
