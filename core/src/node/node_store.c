/*
 * core/src/node/node_store.c - the durable truth (PROTOCOL.md 7.5): one row
 * per (name, value) with expires_at (s), stored_ts (ms) and value_hash =
 * hex(H(utf8(value))), plus the TSIG keys and the SOA serial.
 *
 * Durability: WAL with synchronous=FULL, so a commit is on disk (WAL
 * fsynced) when it returns. With the update log (node_journal.c) the
 * record commits run with synchronous=NORMAL instead (dmp_st_set_full), since
 * the log made them durable before the reply, and dmp_st_sync() fsyncs both
 * files before the log is emptied. Re-applying a logged commit is safe:
 * an add is an upsert on (name, value_hash) with the recorded time and
 * TTL, deletes of what is gone change nothing, and the serial only grows.
 * sqlite's automatic checkpoint (1000 pages) keeps the WAL bounded;
 * checkpoints run in the writer, never in readers, since queries do not
 * read sqlite at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS records("
    " name TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " value_hash TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " stored_ts INTEGER NOT NULL,"
    " PRIMARY KEY(name, value_hash));"
    "CREATE INDEX IF NOT EXISTS records_exp ON records(expires_at);"
    "CREATE INDEX IF NOT EXISTS records_ts ON records(stored_ts, name,"
    " value_hash);"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER);"
    "CREATE TABLE IF NOT EXISTS tsig_keys("
    " name TEXT PRIMARY KEY,"
    " algorithm TEXT NOT NULL,"
    " secret BLOB NOT NULL,"
    " scopes TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS registrations("
    " subject TEXT PRIMARY KEY,"
    " spk TEXT NOT NULL,"
    " key_name TEXT NOT NULL,"
    " expires INTEGER NOT NULL);"
    /* Multi-tenant record API tokens (7.4): only SHA-256 of each token
     * is kept, so a copy of the database grants no writes. */
    "CREATE TABLE IF NOT EXISTS http_tokens("
    " name TEXT PRIMARY KEY,"
    " token_hash TEXT NOT NULL UNIQUE,"
    " scopes TEXT NOT NULL,"
    " created INTEGER NOT NULL);";

int dmp_st_dberr(sqlite3 *db, const char *what)
{
	DMP_LOG_E("node store: %s: %s", what, sqlite3_errmsg(db));
	return DMP_ESTORE;
}

/*
 * The database holds every TSIG secret: it is created 0600 whatever the
 * umask (sqlite would create it 0644 under umask 022), and sqlite creates
 * its -wal and -shm with the main file's mode (os_unix.c findCreateFileMode),
 * so they are 0600 too. An existing file keeps its mode (the operator's
 * choice), with a warning when others may read it.
 */
static int prepare_file(const char *path, int create)
{
	struct stat st;
	int fd;

	if (strcmp(path, ":memory:") == 0 || path[0] == '\0' ||
	    strncmp(path, "file:", 5) == 0) {
		return 0;
	}
	if (stat(path, &st) == 0) {
		if (st.st_mode & (S_IRWXG | S_IRWXO)) {
			DMP_LOG_W("node store: %s is readable by other users "
				  "(mode %03o): it holds the TSIG secrets; "
				  "chmod 600 it",
				  path, (unsigned)(st.st_mode & 0777));
		}
		return 0;
	}
	if (!create) {
		return DMP_ENOENT;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 && errno != EEXIST) {
		DMP_LOG_E("node store: create %s: %s", path, strerror(errno));
		return DMP_ESTORE;
	}
	if (fd >= 0) {
		/* Exactly 0600, also under an odd umask such as 0277. */
		(void)fchmod(fd, 0600);
		close(fd);
	}
	return 0;
}

int dmp_st_open(sqlite3 **out, const char *path, int create)
{
	sqlite3 *db = NULL;
	char *err = NULL;
	int rc;

	*out = NULL;
	rc = prepare_file(path, create);
	if (rc < 0) {
		return rc;
	}
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE |
				(create ? SQLITE_OPEN_CREATE : 0) |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		DMP_LOG_E("node store: open %s: %s", path,
			  db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return DMP_ESTORE;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, schema, NULL, NULL, &err) != SQLITE_OK) {
		DMP_LOG_E("node store: schema: %s", err ? err : "?");
		sqlite3_free(err);
		sqlite3_close(db);
		return DMP_ESTORE;
	}
	/* Migration: stores from before per-key quotas lack the owner
	 * column; old rows stay unowned (NULL) and count for no key. */
	if (sqlite3_exec(db, "SELECT key_name FROM records LIMIT 0", NULL, NULL,
			 NULL) != SQLITE_OK &&
	    sqlite3_exec(db, "ALTER TABLE records ADD COLUMN key_name TEXT",
			 NULL, NULL, &err) != SQLITE_OK) {
		DMP_LOG_E("node store: migration: %s", err ? err : "?");
		sqlite3_free(err);
		sqlite3_close(db);
		return DMP_ESTORE;
	}
	if (sqlite3_exec(db,
			 "CREATE INDEX IF NOT EXISTS records_key ON"
			 " records(key_name, expires_at)",
			 NULL, NULL, &err) != SQLITE_OK) {
		DMP_LOG_E("node store: index: %s", err ? err : "?");
		sqlite3_free(err);
		sqlite3_close(db);
		return DMP_ESTORE;
	}
	*out = db;
	return 0;
}

int dmp_st_quota_need(sqlite3 *db, const char *key, const struct nop *ops,
		      size_t n, uint64_t now_s, uint64_t *total)
{
	sqlite3_stmt *cnt = NULL, *own = NULL;
	uint64_t t = 0;
	int rc = 0;

	*total = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT COUNT(*) FROM records WHERE"
			       " key_name = ? AND expires_at > ?",
			       -1, &cnt, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT 1 FROM records WHERE name = ? AND"
			       " value_hash = ? AND key_name = ? AND"
			       " expires_at > ?",
			       -1, &own, NULL) != SQLITE_OK) {
		rc = dmp_st_dberr(db, "prepare");
		goto out;
	}
	sqlite3_bind_text(cnt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(cnt, 2, (sqlite3_int64)now_s);
	if (sqlite3_step(cnt) != SQLITE_ROW) {
		rc = dmp_st_dberr(db, "quota");
		goto out;
	}
	t = (uint64_t)sqlite3_column_int64(cnt, 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t h[DMP_SHA256_BYTES];
		char hex[2 * DMP_SHA256_BYTES + 1];
		int s;

		if (ops[i].kind != NOP_ADD) {
			continue;
		}
		dmp_sha256(h, ops[i].value, ops[i].vlen);
		dmp_hex_encode(hex, h, sizeof(h));
		sqlite3_bind_text(own, 1, ops[i].owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(own, 2, hex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(own, 3, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(own, 4, (sqlite3_int64)now_s);
		s = sqlite3_step(own);
		if (s == SQLITE_DONE) {
			t++;
		} else if (s != SQLITE_ROW) {
			rc = dmp_st_dberr(db, "quota");
			goto out;
		}
		sqlite3_reset(own);
		sqlite3_clear_bindings(own);
	}
	*total = t;
out:
	sqlite3_finalize(cnt);
	sqlite3_finalize(own);
	return rc;
}

static int rows(sqlite3_stmt *st, dmp_st_row_fn fn, void *ud)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *value = (const char *)sqlite3_column_text(st, 1);
		size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
		sqlite3_int64 exp = sqlite3_column_int64(st, 2);
		const char *key = (const char *)sqlite3_column_text(st, 3);

		if (!name || !value || exp < 0) {
			continue;
		}
		rc = fn(name, value, vlen, (uint64_t)exp, key ? key : "", ud);
		if (rc < 0) {
			return rc;
		}
	}
	return rc == SQLITE_DONE ? 0 : DMP_ESTORE;
}

/*
 * The load. In (name, stored_ts) order the scan walks the name index and
 * looks every row up in the table: pages in random order, two thirds of a
 * 1M-record start-up (docs/performance.md). dmp_st_load_by_id reads the
 * same rows in two sequential scans instead: the table in rowid order
 * (the values), then the covering records_ts index in (stored_ts, name,
 * value_hash) order (which row goes where, in what order), in one read
 * transaction. Either way the file is mapped for the load only (up to
 * sqlite's cap, 2 GiB in Debian's build; pages past it are read as
 * before), so that RSS after it holds the index alone.
 */
#define LOAD_MMAP "PRAGMA mmap_size=2147418112"

static int exec(sqlite3 *db, const char *sql);

static void load_map(sqlite3 *db, int on)
{
	/* Speed only: a failure changes nothing else. */
	(void)sqlite3_exec(db, on ? LOAD_MMAP : "PRAGMA mmap_size=0", NULL,
			   NULL, NULL);
}

int dmp_st_load(sqlite3 *db, uint64_t now_s, dmp_st_row_fn fn, void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	load_map(db, 1);
	if (sqlite3_prepare_v2(
		db,
		"SELECT name, value, expires_at, key_name FROM records"
		" WHERE expires_at > ? ORDER BY name, stored_ts",
		-1, &st, NULL) != SQLITE_OK) {
		rc = dmp_st_dberr(db, "load");
	}
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)now_s);
		rc = rows(st, fn, ud);
		if (rc == DMP_ESTORE) {
			dmp_st_dberr(db, "load");
		}
	}
	sqlite3_finalize(st);
	load_map(db, 0);
	return rc;
}

/* One load scan: @p row for each row of @p sql, until it returns < 0. */
static int scan(sqlite3 *db, const char *sql,
		int (*row)(sqlite3_stmt *st, void *ud), void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "load");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	       (rc = row(st, ud)) == 0) {
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : rc == SQLITE_DONE ? 0 : dmp_st_dberr(db, "load");
}

struct by_id {
	dmp_st_val_fn val;
	dmp_st_ord_fn ord;
	void *ud;
};

/* SELECT rowid, value, expires_at, key_name */
static int by_id_value(sqlite3_stmt *st, void *ud)
{
	const struct by_id *b = ud;
	const char *value = (const char *)sqlite3_column_text(st, 1);
	size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
	sqlite3_int64 exp = sqlite3_column_int64(st, 2);
	const char *key = (const char *)sqlite3_column_text(st, 3);

	if (!value || exp <= 0) { /* as dmp_st_load at now_s 0 */
		return 0;
	}
	return b->val(sqlite3_column_int64(st, 0), value, vlen, (uint64_t)exp,
		      key ? key : "", b->ud);
}

/* SELECT rowid, name */
static int by_id_name(sqlite3_stmt *st, void *ud)
{
	const struct by_id *b = ud;
	const char *name = (const char *)sqlite3_column_text(st, 1);

	return name ? b->ord(sqlite3_column_int64(st, 0), name, b->ud) : 0;
}

int dmp_st_load_by_id(sqlite3 *db, dmp_st_size_fn size, dmp_st_val_fn val,
		      dmp_st_ord_fn ord, void *ud)
{
	struct by_id b = {val, ord, ud};
	sqlite3_stmt *st = NULL;
	int rc = exec(db, "BEGIN");

	load_map(db, 1);
	if (rc == 0 &&
	    sqlite3_prepare_v2(db,
			       "SELECT COUNT(*), IFNULL(MAX(rowid), 0)"
			       " FROM records",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		rc = size((uint64_t)sqlite3_column_int64(st, 0),
			  sqlite3_column_int64(st, 1), ud);
	} else if (rc == 0) {
		rc = dmp_st_dberr(db, "load");
	}
	sqlite3_finalize(st);
	rc = rc != 0 ? rc
		     : scan(db,
			    "SELECT rowid, value, expires_at, key_name"
			    " FROM records",
			    by_id_value, &b);
	rc = rc != 0 ? rc
		     : scan(db,
			    "SELECT rowid, name FROM records"
			    " ORDER BY stored_ts, name, value_hash",
			    by_id_name, &b);
	dmp_st_rollback(db); /* read only: ends the transaction */
	load_map(db, 0);
	return rc;
}

/* A statement kept across calls: the hot path (one UPDATE) would
 * otherwise spend most of its CPU compiling SQL. */
static sqlite3_stmt *cached(sqlite3 *db, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					 slot, NULL) != SQLITE_OK) {
		*slot = NULL;
	}
	return *slot;
}

/* Back to a fresh state for the next use. */
static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void dmp_st_stmts_free(struct nstmts *c)
{
	sqlite3_finalize(c->add);
	sqlite3_finalize(c->del1);
	sqlite3_finalize(c->dela);
	sqlite3_finalize(c->ser_r);
	sqlite3_finalize(c->ser_w);
	sqlite3_finalize(c->name_rows);
	sqlite3_finalize(c->sync_full);
	sqlite3_finalize(c->sync_normal);
	memset(c, 0, sizeof(*c));
}

int dmp_st_name_rows(sqlite3 *db, struct nstmts *c, const char *name,
		     uint64_t now_s, dmp_st_row_fn fn, void *ud)
{
	sqlite3_stmt *st =
	    cached(db, &c->name_rows,
		   "SELECT name, value, expires_at, key_name FROM records"
		   " WHERE name = ? AND expires_at > ?"
		   " ORDER BY stored_ts");
	int rc;

	if (!st) {
		return dmp_st_dberr(db, "select");
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now_s);
	rc = rows(st, fn, ud);
	if (rc == DMP_ESTORE) {
		dmp_st_dberr(db, "select");
	}
	done(st);
	return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, sql);
	}
	return 0;
}

static int serial_read(sqlite3 *db, uint32_t *serial, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = 'serial'", -1,
			       &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "serial");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*serial = (uint32_t)sqlite3_column_int64(st, 0);
		*found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : DMP_ESTORE;
}

static int serial_write(sqlite3 *db, uint32_t serial)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "INSERT INTO meta(k, v) VALUES('serial', ?)"
			       " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "serial");
	}
	sqlite3_bind_int64(st, 1, serial);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dmp_st_dberr(db, "serial");
	sqlite3_finalize(st);
	return rc;
}

/* Serial: one more than before, or the Unix time if that is later, so it
 * grows with every change and stays near the clock when idle (RFC 1982
 * arithmetic on the reader's side). */
static uint32_t next_serial(uint32_t cur, uint64_t now_s)
{
	uint32_t t = (uint32_t)now_s;

	return (int32_t)(t - cur) > 0 ? t : cur + 1;
}

int dmp_st_serial(sqlite3 *db, uint32_t *serial, uint64_t now_s)
{
	int found, rc;

	rc = serial_read(db, serial, &found);
	if (rc == 0 && !found) {
		*serial = (uint32_t)now_s;
		rc = serial_write(db, *serial);
	}
	return rc;
}

static int file_sync(sqlite3 *db, int op)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(db, "main", op, &f) != SQLITE_OK || !f ||
	    !f->pMethods) {
		return 0; /* not open (yet): nothing to sync */
	}
	return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK
		   ? 0
		   : DMP_ESTORE;
}

/* With synchronous=NORMAL a WAL commit is written but not fsynced; these
 * two fsyncs make every commit so far durable (also frames a checkpoint
 * has since copied into the database file). */
int dmp_st_sync(sqlite3 *db)
{
	int rc = file_sync(db, SQLITE_FCNTL_JOURNAL_POINTER);

	if (rc == 0) {
		rc = file_sync(db, SQLITE_FCNTL_FILE_POINTER);
	}
	if (rc < 0) {
		DMP_LOG_E("node store: fsync failed");
	}
	return rc;
}

int dmp_st_set_full(sqlite3 *db, struct nstmts *c, int full)
{
	sqlite3_stmt *st =
	    full ? cached(db, &c->sync_full, "PRAGMA synchronous=FULL")
		 : cached(db, &c->sync_normal, "PRAGMA synchronous=NORMAL");
	int rc;

	if (!st) {
		return dmp_st_dberr(db, "synchronous");
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW
		   ? 0
		   : dmp_st_dberr(db, "synchronous");
}

int dmp_st_begin(sqlite3 *db)
{
	return exec(db, "BEGIN IMMEDIATE");
}

int dmp_st_commit(sqlite3 *db)
{
	return exec(db, "COMMIT");
}

void dmp_st_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db)) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
}

uint32_t dmp_st_next_serial(uint32_t cur, uint64_t now_s)
{
	return next_serial(cur, now_s);
}

int dmp_st_apply(sqlite3 *db, struct nstmts *c, const struct nop *const *ops,
		 size_t n, uint64_t now_ms, uint32_t want, uint32_t *serial)
{
	sqlite3_stmt *add, *del1, *dela, *ser, *sr;
	uint64_t now_s = now_ms / 1000;
	uint32_t cur = 0;
	int rc;

	add = cached(db, &c->add,
		     "INSERT INTO records(name, value, value_hash, expires_at,"
		     " stored_ts, key_name) VALUES(?, ?, ?, ?, ?, ?)"
		     " ON CONFLICT(name, value_hash) DO UPDATE SET"
		     " expires_at = excluded.expires_at,"
		     " stored_ts = excluded.stored_ts,"
		     " key_name = excluded.key_name");
	del1 = cached(db, &c->del1,
		      "DELETE FROM records WHERE name = ? AND value_hash = ?");
	dela = cached(db, &c->dela, "DELETE FROM records WHERE name = ?");
	ser = cached(db, &c->ser_w,
		     "INSERT INTO meta(k, v) VALUES('serial', ?)"
		     " ON CONFLICT(k) DO UPDATE SET v = excluded.v");
	sr = cached(db, &c->ser_r, "SELECT v FROM meta WHERE k = 'serial'");
	if (!add || !del1 || !dela || !ser || !sr) {
		return dmp_st_dberr(db, "prepare");
	}
	for (size_t i = 0; i < n; i++) {
		const struct nop *op = ops[i];
		uint8_t h[DMP_SHA256_BYTES];
		char hex[2 * DMP_SHA256_BYTES + 1];
		sqlite3_stmt *st;

		if (op->kind != NOP_DEL_ALL) {
			dmp_sha256(h, op->value, op->vlen);
			dmp_hex_encode(hex, h, sizeof(h));
		}
		switch (op->kind) {
		case NOP_ADD:
			st = add;
			sqlite3_bind_text(st, 1, op->owner, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, op->value, (int)op->vlen,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 3, hex, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 4,
					   (sqlite3_int64)(now_s + op->ttl));
			sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms);
			/* The last writer owns the value for the quota. */
			if (op->key[0]) {
				sqlite3_bind_text(st, 6, op->key, -1,
						  SQLITE_STATIC);
			} else {
				sqlite3_bind_null(st, 6);
			}
			break;
		case NOP_DEL_ONE:
			st = del1;
			sqlite3_bind_text(st, 1, op->owner, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, hex, -1, SQLITE_TRANSIENT);
			break;
		default:
			st = dela;
			sqlite3_bind_text(st, 1, op->owner, -1, SQLITE_STATIC);
			break;
		}
		rc = sqlite3_step(st) == SQLITE_DONE
			 ? 0
			 : dmp_st_dberr(db, "write");
		done(st);
		if (rc < 0) {
			return rc;
		}
	}
	/* The stored serial, not ours: another process may have written. */
	rc = sqlite3_step(sr);
	if (rc == SQLITE_ROW) {
		cur = (uint32_t)sqlite3_column_int64(sr, 0);
	}
	done(sr);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return dmp_st_dberr(db, "serial");
	}
	/* @p want is what the log path answered with; another process on
	 * the same database may have moved the stored serial past it. */
	want = want && (int32_t)(want - next_serial(cur, now_s)) > 0 ? want : 0;
	cur = want ? want : next_serial(cur, now_s);
	sqlite3_bind_int64(ser, 1, cur);
	rc = sqlite3_step(ser) == SQLITE_DONE ? 0 : dmp_st_dberr(db, "serial");
	done(ser);
	if (rc == 0) {
		*serial = cur;
	}
	return rc;
}

int dmp_st_reap(sqlite3 *db, uint64_t now_s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "DELETE FROM records WHERE expires_at <= ?",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "reap");
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now_s);
	rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(db)
					     : dmp_st_dberr(db, "reap");
	sqlite3_finalize(st);
	return rc;
}

int dmp_st_data_version(sqlite3 *db, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) !=
	    SQLITE_OK) {
		return dmp_st_dberr(db, "data_version");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : DMP_ESTORE;
}

int dmp_st_size(sqlite3 *db, uint64_t *bytes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*bytes = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT page_count * page_size FROM"
			       " pragma_page_count(), pragma_page_size()",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(db, "size");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : DMP_ESTORE;
}
