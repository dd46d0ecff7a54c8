/*
 * core/src/client/store.c - the client's sqlite3 store (store.h): the
 * schema and its migrations, open/close, the seal key, the statement
 * helpers the other store_*.c files share (store_i.h), our identity and
 * the key/value settings.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

/*
 * Schema migrations, applied in order; PRAGMA user_version records how
 * many ran. Never edit a shipped step: append a new one.
 */
static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE identity ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  username TEXT NOT NULL, domain TEXT NOT NULL,"
    "  salt BLOB NOT NULL, x25519_pk BLOB NOT NULL,"
    "  ed25519_pk BLOB NOT NULL, created INTEGER NOT NULL,"
    "  published INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE contact ("
    "  alias TEXT PRIMARY KEY, address TEXT NOT NULL,"
    "  username TEXT NOT NULL, domain TEXT NOT NULL,"
    "  x25519_pk BLOB NOT NULL, ed25519_pk BLOB NOT NULL,"
    "  versions INTEGER NOT NULL DEFAULT 2,"
    "  blocked INTEGER NOT NULL DEFAULT 0,"
    "  pinned_at INTEGER NOT NULL, pinned_how TEXT NOT NULL);"
    "CREATE INDEX contact_key ON contact(ed25519_pk);"
    "CREATE TABLE prekey ("
    "  id INTEGER PRIMARY KEY, sealed BLOB NOT NULL,"
    "  exp INTEGER NOT NULL, wire TEXT NOT NULL);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  msg_id BLOB NOT NULL UNIQUE, recipient TEXT NOT NULL,"
    "  body BLOB NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL, next_attempt INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE outbox_record ("
    "  outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
    "  ttl INTEGER NOT NULL, published INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (outbox_id, seq));"
    "CREATE TABLE replay ("
    "  spk BLOB NOT NULL, msg_id BLOB NOT NULL,"
    "  exp INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  claimed_at INTEGER NOT NULL, PRIMARY KEY (spk, msg_id));"
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: the engine's caches: contacts' verified prekeys, planned Maildir
     * file names (exactly-once delivery), slot values already judged. */
    "CREATE TABLE contact_prekey ("
    "  spk BLOB NOT NULL, prekey_id INTEGER NOT NULL,"
    "  x25519_pk BLOB NOT NULL, exp INTEGER NOT NULL,"
    "  PRIMARY KEY (spk, prekey_id));"
    "CREATE TABLE contact_prekey_used ("
    "  spk BLOB NOT NULL, prekey_id INTEGER NOT NULL,"
    "  exp INTEGER NOT NULL, PRIMARY KEY (spk, prekey_id));"
    "CREATE TABLE delivery ("
    "  spk BLOB NOT NULL, msg_id BLOB NOT NULL, folder TEXT NOT NULL,"
    "  file TEXT NOT NULL, exp INTEGER NOT NULL,"
    "  PRIMARY KEY (spk, msg_id));"
    "CREATE TABLE seen_value ("
    "  name TEXT NOT NULL, hash BLOB NOT NULL, exp INTEGER NOT NULL,"
    "  PRIMARY KEY (name, hash));",
    /* 3: storage nodes discovered from verified heartbeats (PROTOCOL.md
     * 2.8, 8), one row per (operator key, endpoint), newest ts kept. */
    "CREATE TABLE peer ("
    "  operator_spk BLOB NOT NULL, endpoint TEXT NOT NULL,"
    "  version TEXT NOT NULL, capabilities INTEGER NOT NULL,"
    "  claim_provider_zone TEXT NOT NULL,"
    "  hb_ts INTEGER NOT NULL, hb_exp INTEGER NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  source TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,"
    "  last_err INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (operator_spk, endpoint));",
    /* 4: key rotation and revocation (PROTOCOL.md 2.9, 2.10, 8): our
     * previous identity keys (secrets sealed with the seal key) and what
     * the rotation walk learned about each contact's key. */
    "CREATE TABLE old_key ("
    "  ed25519_pk BLOB PRIMARY KEY, x25519_pk BLOB NOT NULL,"
    "  sealed BLOB NOT NULL, rotated_at INTEGER NOT NULL);"
    "ALTER TABLE contact ADD COLUMN prev_ed25519_pk BLOB;"
    "ALTER TABLE contact ADD COLUMN rotated_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE contact ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;",
    /* 5: the smoothed round trip of each relay the client used
     * (docs/protocol.md 8.7.8), by URL; store_peers.c keeps it bounded. */
    "CREATE TABLE relay_rtt ("
    "  url TEXT PRIMARY KEY, srtt_ms INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);",
};

int dmp_st_fail(struct dmp_store *st, const char *what)
{
	DMP_LOG_E("store: %s: %s", what, sqlite3_errmsg(st->db));
	return DMP_ESTORE;
}

int dmp_st_exec(struct dmp_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK) {
		return 0;
	}
	DMP_LOG_E("store: %s", msg ? msg : "exec failed");
	sqlite3_free(msg);
	/* A COMMIT that hits a full disk must say so (dmpfs: ENOSPC). */
	switch (rc & 0xff) {
	case SQLITE_FULL: return DMP_ENOSPC;
	case SQLITE_BUSY: return DMP_EBUSY;
	default: return DMP_ESTORE;
	}
}

static int migrate(struct dmp_store *st)
{
	sqlite3_stmt *q = NULL;
	int version, rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return dmp_st_fail(st, "read schema version");
	}
	version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version > (int)DMP_ARRAY_LEN(migrations)) {
		DMP_LOG_E("store: database schema %d is newer than this "
			  "program (%zu)",
			  version, DMP_ARRAY_LEN(migrations));
		return DMP_ESTORE;
	}
	for (int i = version; i < (int)DMP_ARRAY_LEN(migrations); i++) {
		char pragma[64];

		rc = dmp_st_exec(st, "BEGIN IMMEDIATE");
		if (rc == 0) {
			rc = dmp_st_exec(st, migrations[i]);
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
			 i + 1);
		if (rc == 0) {
			rc = dmp_st_exec(st, pragma);
		}
		if (rc == 0) {
			rc = dmp_st_exec(st, "COMMIT");
		}
		if (rc != 0) {
			dmp_st_exec(st, "ROLLBACK");
			return rc;
		}
	}
	return 0;
}

int dmp_store_open(struct dmp_store **out, const char *path)
{
	struct dmp_store *st;
	int fd, rc;

	*out = NULL;
	rc = dmp_init();
	if (rc < 0) {
		return rc;
	}
	/* Create the file 0600 ourselves: sqlite would honour the umask.
	 * Only when it is missing: close() on any descriptor of the file drops
	 * every POSIX lock this process holds on it, so doing this while
	 * another handle of the process has the database open (dmpfs keeps
	 * several) would leave that handle reading a stale WAL snapshot. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		rc = -errno;
		DMP_LOG_E("store: %s: %s", path, strerror(errno));
		return rc;
	}
	if (fd >= 0) {
		close(fd);
	}
	st = dmp_calloc(1, sizeof(*st));
	if (!st) {
		return DMP_ENOMEM;
	}
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		rc = dmp_st_fail(st, path);
		goto out;
	}
	sqlite3_busy_timeout(st->db, 10000);
	/* No checkpoint at close (issue 19): a `dmp send` would pay two
	 * fsyncs for it and two more to create the WAL again next time.
	 * The WAL stays (0600 like the file; a copy of the home must take
	 * it too, or use sqlite3 .backup) and sqlite checkpoints it on the
	 * commit that takes it past 1000 pages. */
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
				(int *)NULL);
	rc = dmp_st_exec(st, "PRAGMA journal_mode=WAL;"
			     "PRAGMA synchronous=FULL;"
			     "PRAGMA foreign_keys=ON;");
	if (rc == 0) {
		rc = migrate(st);
	}
out:
	if (rc < 0) {
		dmp_store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void dmp_store_close(struct dmp_store *st)
{
	if (!st) {
		return;
	}
	for (size_t i = 0; i < st->n_stmts; i++) {
		sqlite3_finalize(st->stmts[i].q);
		free(st->stmts[i].sql);
	}
	dmp_free(st->stmts);
	sqlite3_close_v2(st->db);
	if (st->seal_key) {
		sodium_free(st->seal_key);
	}
	dmp_free(st);
}

void dmp_store_relax(struct dmp_store *st, int on)
{
	int was = st->relaxed > 0;

	st->relaxed += on ? 1 : (st->relaxed > 0 ? -1 : 0);
	if (was != (st->relaxed > 0)) {
		/* Outside a transaction (sqlite refuses it inside one). */
		(void)dmp_st_exec(st, st->relaxed ? "PRAGMA synchronous=NORMAL"
						  : "PRAGMA synchronous=FULL");
	}
}

int dmp_store_tx_begin(struct dmp_store *st)
{
	return dmp_st_exec(st, "BEGIN IMMEDIATE");
}

int dmp_store_tx_end(struct dmp_store *st, int commit)
{
	int rc = dmp_st_exec(st, commit ? "COMMIT" : "ROLLBACK");

	if (rc < 0 && commit) {
		(void)dmp_st_exec(st, "ROLLBACK");
	}
	return rc;
}

/* sqlite has no "sync now" call; its WAL file handle does (the documented
 * SQLITE_FCNTL_JOURNAL_POINTER): the same fdatasync a FULL commit does. */
int dmp_store_sync(struct dmp_store *st)
{
	sqlite3_mutex *mu = sqlite3_db_mutex(st->db);
	sqlite3_file *f = NULL;
	int rc = SQLITE_OK;

	sqlite3_mutex_enter(mu);
	if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
				 &f) == SQLITE_OK &&
	    f && f->pMethods) {
		rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	}
	sqlite3_mutex_leave(mu);
	if (rc != SQLITE_OK) {
		DMP_LOG_E("store: sync of the write-ahead log failed (%d)", rc);
		return (rc & 0xff) == SQLITE_FULL ? DMP_ENOSPC : DMP_EIO;
	}
	return 0;
}

const char *dmp_store_errmsg(const struct dmp_store *st)
{
	return sqlite3_errmsg(st->db);
}

int dmp_store_set_seal_key(struct dmp_store *st, const uint8_t key[32])
{
	if (!st->seal_key) {
		st->seal_key = sodium_malloc(32);
		if (!st->seal_key) {
			return DMP_ENOMEM;
		}
	}
	memcpy(st->seal_key, key, 32);
	return 0;
}

/* ---- statement helpers ---------------------------------------------- */

/* Most statements kept: the store's queries are fixed texts (about 80);
 * past this they are prepared each time. */
#define ST_CACHE_MAX 256

/* FNV-1a of @p s: finds a statement's cache entry without comparing
 * every text. */
static uint32_t sql_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

int dmp_st_prepare(struct dmp_store *st, sqlite3_stmt **q, const char *sql)
{
	uint32_t h = sql_hash(sql);
	struct dmp_st_cached *c;
	int keep = 1;

	for (size_t i = 0; i < st->n_stmts; i++) {
		c = &st->stmts[i];
		if (c->hash == h && strcmp(c->sql, sql) == 0) {
			if (c->busy) {
				keep = 0; /* in use: a fresh one */
				break;
			}
			c->busy = 1;
			*q = c->q;
			return 0;
		}
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK) {
		*q = NULL;
		return dmp_st_fail(st, "prepare");
	}
	if (!keep || st->n_stmts == ST_CACHE_MAX ||
	    dmp_grow(&st->stmts, &st->cap_stmts, st->n_stmts,
		     sizeof(*st->stmts), 32) < 0) {
		return 0; /* not kept: finalized at release */
	}
	c = &st->stmts[st->n_stmts];
	c->sql = strdup(sql);
	if (!c->sql) {
		return 0;
	}
	c->hash = h;
	c->q = *q;
	c->busy = 1;
	st->n_stmts++;
	return 0;
}

void dmp_st_release(struct dmp_store *st, sqlite3_stmt *q)
{
	if (!q) {
		return;
	}
	for (size_t i = 0; i < st->n_stmts; i++) {
		if (st->stmts[i].q == q) {
			(void)sqlite3_reset(q); /* its error was seen */
			(void)sqlite3_clear_bindings(q);
			st->stmts[i].busy = 0;
			return;
		}
	}
	sqlite3_finalize(q);
}

/* Run a statement that returns no rows; maps a full disk to ENOSPC. */
int dmp_st_step_done(struct dmp_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	dmp_st_release(st, q);
	if (rc == SQLITE_DONE) {
		return 0;
	}
	if (rc == SQLITE_FULL) {
		return DMP_ENOSPC;
	}
	if (rc == SQLITE_CONSTRAINT) {
		return DMP_EEXIST;
	}
	if (rc == SQLITE_BUSY) {
		return DMP_EBUSY;
	}
	return dmp_st_fail(st, "step");
}

void dmp_st_copy_text(char *dst, size_t cap, sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

void dmp_st_copy_blob(uint8_t *dst, size_t want, sqlite3_stmt *q, int col)
{
	const void *b = sqlite3_column_blob(q, col);

	if (b && (size_t)sqlite3_column_bytes(q, col) == want) {
		memcpy(dst, b, want);
	} else {
		memset(dst, 0, want);
	}
}

int dmp_st_delete_where(struct dmp_store *st, const char *sql, int64_t arg)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, arg);
	rc = dmp_st_step_done(st, q);
	return rc < 0 ? rc : sqlite3_changes(st->db);
}

/* ---- identity ----------------------------------------------------------- */

int dmp_store_identity_get(struct dmp_store *st, struct dmp_store_identity *out)
{
	sqlite3_stmt *q;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dmp_st_prepare(
	    st, &q,
	    "SELECT username, domain, salt, x25519_pk, ed25519_pk, "
	    "created, published FROM identity WHERE id = 1");
	if (rc < 0) {
		return rc;
	}
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int salt_len = sqlite3_column_bytes(q, 2);

		dmp_st_copy_text(out->username, sizeof(out->username), q, 0);
		dmp_st_copy_text(out->domain, sizeof(out->domain), q, 1);
		if (salt_len > 0 && (size_t)salt_len <= sizeof(out->salt)) {
			memcpy(out->salt, sqlite3_column_blob(q, 2),
			       (size_t)salt_len);
			out->salt_len = (size_t)salt_len;
		}
		dmp_st_copy_blob(out->x25519_pk, 32, q, 3);
		dmp_st_copy_blob(out->ed25519_pk, 32, q, 4);
		out->created = sqlite3_column_int64(q, 5);
		out->published = sqlite3_column_int64(q, 6);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = DMP_ENOENT;
	} else {
		rc = dmp_st_fail(st, "identity");
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_identity_put(struct dmp_store *st,
			   const struct dmp_store_identity *id)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
			   "INSERT OR REPLACE INTO identity (id, username, "
			   "domain, salt, x25519_pk, ed25519_pk, created, "
			   "published) VALUES (1, ?, ?, ?, ?, ?, ?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, id->username, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, id->domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 3, id->salt, (int)id->salt_len, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 4, id->x25519_pk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 5, id->ed25519_pk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 6, id->created);
	sqlite3_bind_int64(q, 7, id->published);
	return dmp_st_step_done(st, q);
}

int dmp_store_identity_set_published(struct dmp_store *st, int64_t when)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q, "UPDATE identity SET published = ? WHERE id = 1");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, when);
	return dmp_st_step_done(st, q);
}

/* ---- key/value
 * ---------------------------------------------------------------- */

int dmp_store_kv_set(struct dmp_store *st, const char *key, const char *value)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q, "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, value, -1, SQLITE_TRANSIENT);
	return dmp_st_step_done(st, q);
}

int dmp_store_kv_get(struct dmp_store *st, const char *key, char *out,
		     size_t cap)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, "SELECT value FROM kv WHERE key = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(q, 0);
		size_t n = v ? strlen(v) : 0;

		if (n >= cap) {
			rc = DMP_ENOBUFS;
		} else {
			memcpy(out, v ? v : "", n + 1);
			rc = 0;
		}
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT : dmp_st_fail(st, "kv");
	}
	dmp_st_release(st, q);
	return rc;
}
