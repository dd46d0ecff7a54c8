/*
 * core/src/node/node_store_hold.c - the relay_hold table of the node's
 * store (docs/protocol.md 8.7.6): one row per held bundle, its JSON body
 * and its schedule. A hold is acknowledged (202) only after its row is
 * committed and the WAL fsynced, so it survives kill -9 and power loss.
 *
 * Threads and locks: the caller holds the store's lock (the node's wlock).
 */
#include <string.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "node/node_i.h"
#include "node/node_relay_hold.h"

int dmp_st_hold_init(sqlite3 *db)
{
	char *err = NULL;

	if (sqlite3_exec(db,
			 "CREATE TABLE IF NOT EXISTS relay_hold("
			 " id TEXT PRIMARY KEY,"
			 " zone TEXT NOT NULL,"
			 " sender TEXT NOT NULL,"
			 " bytes INTEGER NOT NULL,"
			 " held_ms INTEGER NOT NULL,"
			 " drop_s INTEGER NOT NULL,"
			 " next_ms INTEGER NOT NULL,"
			 " tries INTEGER NOT NULL,"
			 " body TEXT NOT NULL)",
			 NULL, NULL, &err) != SQLITE_OK) {
		sqlite3_free(err);
		return dmp_st_dberr(db, "relay_hold table");
	}
	return 0;
}

int dmp_st_hold_put(sqlite3 *db, const struct dmp_nrh_entry *e,
		    const char *body, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "INSERT INTO relay_hold(id, zone, sender, bytes,"
			       " held_ms, drop_s, next_ms, tries, body)"
			       " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "hold");
	}
	sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)e->bytes);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)e->held_ms);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)e->drop_s);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)e->next_ms);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)e->tries);
	sqlite3_bind_text(st, 9, body, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT) {
		return DMP_EEXIST;
	}
	if (rc != SQLITE_DONE) {
		return dmp_st_dberr(db, "hold");
	}
	/* The commit is in the WAL; with synchronous=NORMAL (the update
	 * log's mode) not yet on disk: the 202 waits for it. */
	return dmp_st_sync(db);
}

/* One statement with a text id bound last. */
static int by_id(sqlite3 *db, const char *sql, const char *id, int64_t a,
		 int64_t b, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc, i = 1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, what);
	}
	if (a >= 0) {
		sqlite3_bind_int64(st, i++, a);
		sqlite3_bind_int64(st, i++, b);
	}
	sqlite3_bind_text(st, i, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dmp_st_dberr(db, what);
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_hold_update(sqlite3 *db, const char *id, uint64_t next_ms,
		       unsigned tries)
{
	return by_id(
	    db, "UPDATE relay_hold SET next_ms = ?, tries = ? WHERE id = ?", id,
	    (int64_t)next_ms, (int64_t)tries, "hold schedule");
}

int dmp_st_hold_del(sqlite3 *db, const char *id)
{
	return by_id(db, "DELETE FROM relay_hold WHERE id = ?", id, -1, 0,
		     "hold delete");
}

int dmp_st_hold_body(sqlite3 *db, const char *id, char **body, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*body = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(db, "SELECT body FROM relay_hold WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "hold read");
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);

		*body = dmp_malloc(n + 1);
		if (*body) {
			memcpy(*body, t ? (const char *)t : "", n);
			(*body)[n] = '\0';
			*len = n;
		}
		rc = *body ? 0 : DMP_ENOMEM;
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : dmp_st_dberr(db, "hold read");
	}
	sqlite3_finalize(st);
	return rc;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t ? strlen((const char *)t) : 0;

	n = n < cap - 1 ? n : cap - 1;
	memcpy(dst, t ? (const char *)t : "", n);
	dst[n] = '\0';
}

int dmp_st_hold_load(sqlite3 *db,
		     int (*fn)(const struct dmp_nrh_entry *e, void *ud),
		     void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(
		db,
		"SELECT id, zone, sender, bytes, held_ms, drop_s,"
		" next_ms, tries FROM relay_hold"
		" ORDER BY held_ms",
		-1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "hold load");
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct dmp_nrh_entry e;

		memset(&e, 0, sizeof(e));
		copy_text(e.id, sizeof(e.id), st, 0);
		copy_text(e.zone, sizeof(e.zone), st, 1);
		copy_text(e.sender, sizeof(e.sender), st, 2);
		e.bytes = (uint64_t)sqlite3_column_int64(st, 3);
		e.held_ms = (uint64_t)sqlite3_column_int64(st, 4);
		e.drop_s = (uint64_t)sqlite3_column_int64(st, 5);
		e.next_ms = (uint64_t)sqlite3_column_int64(st, 6);
		e.tries = (unsigned)sqlite3_column_int64(st, 7);
		rc = fn(&e, ud);
		if (rc < 0) {
			break;
		}
	}
	if (rc == 0 && s != SQLITE_DONE) {
		rc = dmp_st_dberr(db, "hold load");
	}
	sqlite3_finalize(st);
	return rc;
}
