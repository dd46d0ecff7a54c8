/* core/src/client/store.c - the client's sqlite3 store. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <sqlite3.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/store.h"

struct dmp_store {
	sqlite3 *db;
	uint8_t *seal_key; /* sodium_malloc'd, NULL until set */
};

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
};

enum { REPLAY_INFLIGHT = 0, REPLAY_SEEN = 1 };
#define REPLAY_STALE_SECS 300

static int store_fail(struct dmp_store *st, const char *what)
{
	DMP_LOG_E("store: %s: %s", what, sqlite3_errmsg(st->db));
	return DMP_ESTORE;
}

static int exec_sql(struct dmp_store *st, const char *sql)
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
		return store_fail(st, "read schema version");
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

		rc = exec_sql(st, "BEGIN IMMEDIATE");
		if (rc == 0) {
			rc = exec_sql(st, migrations[i]);
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
			 i + 1);
		if (rc == 0) {
			rc = exec_sql(st, pragma);
		}
		if (rc == 0) {
			rc = exec_sql(st, "COMMIT");
		}
		if (rc != 0) {
			exec_sql(st, "ROLLBACK");
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
		rc = store_fail(st, path);
		goto out;
	}
	sqlite3_busy_timeout(st->db, 10000);
	rc = exec_sql(st, "PRAGMA journal_mode=WAL;"
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
	sqlite3_close_v2(st->db);
	if (st->seal_key) {
		sodium_free(st->seal_key);
	}
	dmp_free(st);
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

static int prepare(struct dmp_store *st, sqlite3_stmt **q, const char *sql)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK) {
		*q = NULL;
		return store_fail(st, "prepare");
	}
	return 0;
}

/* Run a statement that returns no rows; maps a full disk to ENOSPC. */
static int step_done(struct dmp_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_finalize(q);
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
	return store_fail(st, "step");
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

static void copy_blob(uint8_t *dst, size_t want, sqlite3_stmt *q, int col)
{
	const void *b = sqlite3_column_blob(q, col);

	if (b && (size_t)sqlite3_column_bytes(q, col) == want) {
		memcpy(dst, b, want);
	} else {
		memset(dst, 0, want);
	}
}

/* ---- identity ----------------------------------------------------------- */

int dmp_store_identity_get(struct dmp_store *st, struct dmp_store_identity *out)
{
	sqlite3_stmt *q;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = prepare(st, &q,
		     "SELECT username, domain, salt, x25519_pk, ed25519_pk, "
		     "created, published FROM identity WHERE id = 1");
	if (rc < 0) {
		return rc;
	}
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int salt_len = sqlite3_column_bytes(q, 2);

		copy_text(out->username, sizeof(out->username), q, 0);
		copy_text(out->domain, sizeof(out->domain), q, 1);
		if (salt_len > 0 && (size_t)salt_len <= sizeof(out->salt)) {
			memcpy(out->salt, sqlite3_column_blob(q, 2),
			       (size_t)salt_len);
			out->salt_len = (size_t)salt_len;
		}
		copy_blob(out->x25519_pk, 32, q, 3);
		copy_blob(out->ed25519_pk, 32, q, 4);
		out->created = sqlite3_column_int64(q, 5);
		out->published = sqlite3_column_int64(q, 6);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = DMP_ENOENT;
	} else {
		rc = store_fail(st, "identity");
	}
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_identity_put(struct dmp_store *st,
			   const struct dmp_store_identity *id)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
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
	return step_done(st, q);
}

int dmp_store_identity_set_published(struct dmp_store *st, int64_t when)
{
	sqlite3_stmt *q;
	int rc =
	    prepare(st, &q, "UPDATE identity SET published = ? WHERE id = 1");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, when);
	return step_done(st, q);
}

/* ---- contacts ----------------------------------------------------------- */

#define CONTACT_COLS                                                           \
	"alias, address, username, domain, x25519_pk, ed25519_pk, versions, "  \
	"blocked, pinned_at, pinned_how"

static void read_contact(sqlite3_stmt *q, struct dmp_store_contact *c)
{
	memset(c, 0, sizeof(*c));
	copy_text(c->alias, sizeof(c->alias), q, 0);
	copy_text(c->address, sizeof(c->address), q, 1);
	copy_text(c->username, sizeof(c->username), q, 2);
	copy_text(c->domain, sizeof(c->domain), q, 3);
	copy_blob(c->x25519_pk, 32, q, 4);
	copy_blob(c->ed25519_pk, 32, q, 5);
	c->versions = (uint32_t)sqlite3_column_int64(q, 6);
	c->blocked = sqlite3_column_int(q, 7);
	c->pinned_at = sqlite3_column_int64(q, 8);
	copy_text(c->pinned_how, sizeof(c->pinned_how), q, 9);
}

int dmp_store_contact_put(struct dmp_store *st,
			  const struct dmp_store_contact *c)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "INSERT OR REPLACE INTO contact (" CONTACT_COLS
			 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, c->alias, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, c->address, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, c->username, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 4, c->domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 5, c->x25519_pk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 6, c->ed25519_pk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 7, c->versions);
	sqlite3_bind_int(q, 8, c->blocked);
	sqlite3_bind_int64(q, 9, c->pinned_at);
	sqlite3_bind_text(q, 10, c->pinned_how, -1, SQLITE_TRANSIENT);
	return step_done(st, q);
}

static int contact_query(struct dmp_store *st, const char *sql, const void *key,
			 int key_len, struct dmp_store_contact *out)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	if (key_len < 0) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_blob(q, 1, key, key_len, SQLITE_TRANSIENT);
	}
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_contact(q, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = DMP_ENOENT;
	} else {
		rc = store_fail(st, "contact");
	}
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_contact_get(struct dmp_store *st, const char *name,
			  struct dmp_store_contact *out)
{
	/* An alias wins over an address that happens to be spelled alike. */
	return contact_query(st,
			     "SELECT " CONTACT_COLS " FROM contact WHERE "
			     "alias = ?1 OR address = ?2 COLLATE NOCASE "
			     "ORDER BY alias = ?1 DESC LIMIT 1",
			     name, -1, out);
}

int dmp_store_contact_by_key(struct dmp_store *st, const uint8_t spk[32],
			     struct dmp_store_contact *out)
{
	return contact_query(st,
			     "SELECT " CONTACT_COLS
			     " FROM contact WHERE ed25519_pk = ? LIMIT 1",
			     spk, 32, out);
}

static int change_one(struct dmp_store *st, const char *sql, const char *arg,
		      int num, int bind_num)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	if (bind_num) {
		sqlite3_bind_int(q, 1, num);
		sqlite3_bind_text(q, 2, arg, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_TRANSIENT);
	}
	rc = step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOENT;
	}
	return rc;
}

int dmp_store_contact_remove(struct dmp_store *st, const char *alias)
{
	return change_one(st, "DELETE FROM contact WHERE alias = ?", alias, 0,
			  0);
}

int dmp_store_contact_set_blocked(struct dmp_store *st, const char *alias,
				  int blocked)
{
	return change_one(st, "UPDATE contact SET blocked = ? WHERE alias = ?",
			  alias, blocked ? 1 : 0, 1);
}

int dmp_store_contact_each(struct dmp_store *st, dmp_store_contact_fn fn,
			   void *ud)
{
	sqlite3_stmt *q;
	struct dmp_store_contact c;
	int rc = prepare(st, &q,
			 "SELECT " CONTACT_COLS " FROM contact ORDER BY alias");

	if (rc < 0) {
		return rc;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_contact(q, &c);
		if (fn(&c, ud) != 0) {
			break;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : store_fail(st, "contacts");
}

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
	rc = prepare(st, &q,
		     "INSERT INTO prekey (id, sealed, exp, wire) "
		     "VALUES (?, ?, ?, ?)");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_blob(q, 2, sealed, sizeof(sealed), SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, (int64_t)exp);
	sqlite3_bind_text(q, 4, wire ? wire : "", -1, SQLITE_TRANSIENT);
	return step_done(st, q);
}

int dmp_store_prekey_get(struct dmp_store *st, uint32_t id, int64_t now,
			 uint8_t secret[DMP_X25519_BYTES])
{
	sqlite3_stmt *q;
	int rc;

	if (!st->seal_key) {
		return DMP_EINVAL;
	}
	rc = prepare(st, &q, "SELECT sealed, exp FROM prekey WHERE id = ?");
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
		rc = store_fail(st, "prekey");
	}
	sqlite3_finalize(q);
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
		rc = prepare(st, &q, "SELECT wire FROM prekey WHERE id = ?");
		if (rc < 0) {
			return rc;
		}
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) == SQLITE_ROW) {
			copy_text(wire, wire_cap, q, 0);
		}
		sqlite3_finalize(q);
	}
	rc = prepare(st, &q, "DELETE FROM prekey WHERE id = ?");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, id);
	rc = step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOPREKEY;
	}
	return rc;
}

static int count_query(struct dmp_store *st, const char *sql, int64_t arg)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, arg);
	rc = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0)
					   : store_fail(st, "count");
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_prekey_count(struct dmp_store *st, int64_t now)
{
	return count_query(st, "SELECT count(*) FROM prekey WHERE exp >= ?",
			   now);
}

static int delete_where(struct dmp_store *st, const char *sql, int64_t arg)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, arg);
	rc = step_done(st, q);
	return rc < 0 ? rc : sqlite3_changes(st->db);
}

int dmp_store_prekey_reap(struct dmp_store *st, int64_t now)
{
	return delete_where(st, "DELETE FROM prekey WHERE exp < ?", now);
}

/* ---- outbox -----------------------------------------------------------------
 */

int dmp_store_outbox_add(struct dmp_store *st,
			 const uint8_t msg_id[DMP_MSG_ID_BYTES],
			 const char *recipient, size_t body_len,
			 const uint8_t *body,
			 const struct dmp_outbox_record *recs, int n_recs,
			 uint64_t expires, int64_t now, int64_t *queue_id)
{
	sqlite3_stmt *q = NULL;
	int64_t id;
	int rc;

	*queue_id = 0;
	rc = exec_sql(st, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	rc = prepare(st, &q,
		     "INSERT INTO outbox (msg_id, recipient, body, created, "
		     "next_attempt, expires) VALUES (?, ?, ?, ?, ?, ?)");
	if (rc < 0) {
		goto out;
	}
	sqlite3_bind_blob(q, 1, msg_id, DMP_MSG_ID_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, recipient, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 3, body_len ? (const void *)body : "",
			  (int)body_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 4, now);
	sqlite3_bind_int64(q, 5, now);
	sqlite3_bind_int64(q, 6, (int64_t)expires);
	rc = step_done(st, q);
	if (rc < 0) {
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
	for (int i = 0; i < n_recs; i++) {
		rc = prepare(st, &q,
			     "INSERT INTO outbox_record (outbox_id, seq, "
			     "name, value, ttl) VALUES (?, ?, ?, ?, ?)");
		if (rc < 0) {
			goto out;
		}
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int(q, 2, i);
		sqlite3_bind_text(q, 3, recs[i].name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 4, recs[i].value, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 5, recs[i].ttl);
		rc = step_done(st, q);
		if (rc < 0) {
			goto out;
		}
	}
	rc = exec_sql(st, "COMMIT");
	if (rc == 0) {
		*queue_id = id;
	}
out:
	if (rc < 0) {
		exec_sql(st, "ROLLBACK");
	}
	return rc;
}

#define OUTBOX_COLS                                                            \
	"o.id, o.msg_id, o.recipient, o.state, o.attempts, o.created, "        \
	"o.next_attempt, o.expires, length(o.body), o.last_error, "            \
	"(SELECT count(*) FROM outbox_record r WHERE r.outbox_id = o.id), "    \
	"(SELECT count(*) FROM outbox_record r WHERE r.outbox_id = o.id "      \
	"AND r.published)"

static void read_outbox(sqlite3_stmt *q, struct dmp_outbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(q, 0);
	copy_blob(m->msg_id, DMP_MSG_ID_BYTES, q, 1);
	copy_text(m->recipient, sizeof(m->recipient), q, 2);
	m->state = (enum dmp_outbox_state)sqlite3_column_int(q, 3);
	m->attempts = sqlite3_column_int(q, 4);
	m->created = sqlite3_column_int64(q, 5);
	m->next_attempt = sqlite3_column_int64(q, 6);
	m->expires = (uint64_t)sqlite3_column_int64(q, 7);
	m->body_len = (size_t)sqlite3_column_int64(q, 8);
	copy_text(m->last_error, sizeof(m->last_error), q, 9);
	m->n_records = sqlite3_column_int(q, 10);
	m->n_published = sqlite3_column_int(q, 11);
}

int dmp_store_outbox_each_pending(struct dmp_store *st, dmp_store_outbox_fn fn,
				  void *ud)
{
	sqlite3_stmt *q;
	struct dmp_outbox_msg m;
	int rc = prepare(st, &q,
			 "SELECT " OUTBOX_COLS " FROM outbox o WHERE "
			 "o.state != 2 ORDER BY o.id");

	if (rc < 0) {
		return rc;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_outbox(q, &m);
		if (fn(&m, ud) != 0) {
			break;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : store_fail(st, "outbox");
}

int dmp_store_outbox_get(struct dmp_store *st, int64_t queue_id,
			 struct dmp_outbox_msg *out)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "SELECT " OUTBOX_COLS " FROM outbox o WHERE o.id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, queue_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		read_outbox(q, out);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : store_fail(st, "outbox get");
	}
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_outbox_records(struct dmp_store *st, int64_t queue_id,
			     dmp_store_record_fn fn, void *ud)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "SELECT seq, name, value, ttl, published FROM "
			 "outbox_record WHERE outbox_id = ? ORDER BY seq");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, queue_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int r = fn(sqlite3_column_int(q, 0),
			   (const char *)sqlite3_column_text(q, 1),
			   (const char *)sqlite3_column_text(q, 2),
			   (uint32_t)sqlite3_column_int64(q, 3),
			   sqlite3_column_int(q, 4), ud);

		if (r != 0) {
			sqlite3_finalize(q);
			return r < 0 ? r : 0;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "outbox records");
}

int dmp_store_outbox_records_done(struct dmp_store *st, int64_t queue_id,
				  int first, int last)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "UPDATE outbox_record SET published = 1 WHERE "
			 "outbox_id = ? AND seq BETWEEN ? AND ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, queue_id);
	sqlite3_bind_int(q, 2, first);
	sqlite3_bind_int(q, 3, last);
	return step_done(st, q);
}

int dmp_store_outbox_set_state(struct dmp_store *st, int64_t queue_id,
			       enum dmp_outbox_state state,
			       int64_t next_attempt, const char *error)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "UPDATE outbox SET state = ?, next_attempt = ?, "
			 "attempts = attempts + 1, last_error = ? "
			 "WHERE id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int(q, 1, (int)state);
	sqlite3_bind_int64(q, 2, next_attempt);
	sqlite3_bind_text(q, 3, error ? error : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 4, queue_id);
	rc = step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOENT;
	}
	return rc;
}

int dmp_store_outbox_cancel(struct dmp_store *st, int64_t queue_id)
{
	int rc = delete_where(
	    st, "DELETE FROM outbox WHERE id = ? AND state != 2", queue_id);

	return rc < 0 ? rc : rc == 0 ? DMP_ENOENT : 0;
}

int dmp_store_outbox_body(struct dmp_store *st, int64_t queue_id,
			  uint8_t **body, size_t *len)
{
	sqlite3_stmt *q;
	int rc;

	*body = NULL;
	*len = 0;
	rc = prepare(st, &q, "SELECT body FROM outbox WHERE id = ?");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, queue_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(q, 0);

		*body = dmp_malloc((size_t)n);
		if (!*body) {
			rc = DMP_ENOMEM;
		} else {
			if (n) {
				memcpy(*body, sqlite3_column_blob(q, 0),
				       (size_t)n);
			}
			*len = (size_t)n;
			rc = 0;
		}
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : store_fail(st, "outbox body");
	}
	sqlite3_finalize(q);
	return rc;
}

/* ---- replay cache
 * ------------------------------------------------------------ */

int dmp_store_replay_claim(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], uint64_t exp, int64_t now)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = exec_sql(st, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	rc = prepare(st, &q,
		     "SELECT state, claimed_at FROM replay WHERE spk = ? AND "
		     "msg_id = ?");
	if (rc < 0) {
		goto out;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int state = sqlite3_column_int(q, 0);
		int64_t at = sqlite3_column_int64(q, 1);

		if (state == REPLAY_SEEN) {
			rc = DMP_EREPLAY;
		} else if (now - at < REPLAY_STALE_SECS) {
			rc = DMP_EBUSY;
		} else {
			rc = 0; /* stale in-flight claim: take it over */
		}
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_fail(st, "replay");
	}
	sqlite3_finalize(q);
	q = NULL;
	if (rc < 0) {
		goto out;
	}
	rc = prepare(st, &q,
		     "INSERT OR REPLACE INTO replay (spk, msg_id, exp, state, "
		     "claimed_at) VALUES (?, ?, ?, 0, ?)");
	if (rc < 0) {
		goto out;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, (int64_t)exp);
	sqlite3_bind_int64(q, 4, now);
	rc = step_done(st, q);
	if (rc == 0) {
		rc = exec_sql(st, "COMMIT");
	}
out:
	if (rc < 0) {
		exec_sql(st, "ROLLBACK");
	}
	return rc;
}

static int replay_change(struct dmp_store *st, const char *sql,
			 const uint8_t spk[32], const uint8_t msg_id[16],
			 int64_t exp)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	if (exp >= 0) {
		sqlite3_bind_int64(q, 3, exp);
	}
	return step_done(st, q);
}

int dmp_store_replay_release(struct dmp_store *st, const uint8_t spk[32],
			     const uint8_t msg_id[16])
{
	return replay_change(st,
			     "DELETE FROM replay WHERE spk = ? AND msg_id = ? "
			     "AND state = 0",
			     spk, msg_id, -1);
}

int dmp_store_replay_finalize(struct dmp_store *st, const uint8_t spk[32],
			      const uint8_t msg_id[16], uint64_t exp)
{
	return replay_change(st,
			     "INSERT OR REPLACE INTO replay (spk, msg_id, exp, "
			     "state, claimed_at) VALUES (?, ?, ?, 1, 0)",
			     spk, msg_id, (int64_t)exp);
}

int dmp_store_replay_seen(struct dmp_store *st, const uint8_t spk[32],
			  const uint8_t msg_id[16])
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "SELECT 1 FROM replay WHERE spk = ? AND msg_id = ? "
			 "AND state = 1");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	rc = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_replay_reap(struct dmp_store *st, int64_t now)
{
	return delete_where(st, "DELETE FROM replay WHERE exp < ?", now);
}

/* ---- key/value
 * ---------------------------------------------------------------- */

int dmp_store_kv_set(struct dmp_store *st, const char *key, const char *value)
{
	sqlite3_stmt *q;
	int rc = prepare(
	    st, &q, "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, value, -1, SQLITE_TRANSIENT);
	return step_done(st, q);
}

int dmp_store_kv_get(struct dmp_store *st, const char *key, char *out,
		     size_t cap)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q, "SELECT value FROM kv WHERE key = ?");

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
		rc = rc == SQLITE_DONE ? DMP_ENOENT : store_fail(st, "kv");
	}
	sqlite3_finalize(q);
	return rc;
}

/* ---- contacts' prekeys (public halves, verified) ------------------------ */

int dmp_store_contact_prekeys_replace(struct dmp_store *st,
				      const uint8_t spk[32],
				      const struct dmp_store_contact_prekey *pk,
				      size_t n)
{
	sqlite3_stmt *q = NULL;
	int rc = exec_sql(st, "BEGIN IMMEDIATE");

	if (rc < 0) {
		return rc;
	}
	rc = prepare(st, &q, "DELETE FROM contact_prekey WHERE spk = ?");
	if (rc == 0) {
		sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
		rc = step_done(st, q);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = prepare(st, &q,
			     "INSERT OR REPLACE INTO contact_prekey (spk, "
			     "prekey_id, x25519_pk, exp) VALUES (?, ?, ?, ?)");
		if (rc == 0) {
			sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
			sqlite3_bind_int64(q, 2, pk[i].prekey_id);
			sqlite3_bind_blob(q, 3, pk[i].x25519_pk, 32,
					  SQLITE_TRANSIENT);
			sqlite3_bind_int64(q, 4, (int64_t)pk[i].exp);
			rc = step_done(st, q);
		}
	}
	if (rc == 0) {
		rc = exec_sql(st, "COMMIT");
	}
	if (rc != 0) {
		exec_sql(st, "ROLLBACK");
	}
	return rc;
}

int dmp_store_contact_prekey_pick(struct dmp_store *st, const uint8_t spk[32],
				  int64_t min_exp,
				  struct dmp_store_contact_prekey *out)
{
	sqlite3_stmt *q;
	int rc =
	    prepare(st, &q,
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
		copy_blob(out->x25519_pk, 32, q, 1);
		out->exp = (uint64_t)sqlite3_column_int64(q, 2);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : store_fail(st, "contact prekey");
	}
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_contact_prekey_count(struct dmp_store *st, const uint8_t spk[32],
				   int64_t now)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "SELECT count(*) FROM contact_prekey WHERE spk = ? "
			 "AND exp >= ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, now);
	rc = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0)
					   : store_fail(st, "count");
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_contact_prekey_drop(struct dmp_store *st, const uint8_t spk[32],
				  uint32_t prekey_id)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "INSERT OR IGNORE INTO contact_prekey_used (spk, "
			 "prekey_id, exp) SELECT spk, prekey_id, exp FROM "
			 "contact_prekey WHERE spk = ? AND prekey_id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, prekey_id);
	return step_done(st, q);
}

/* ---- planned deliveries ----------------------------------------------------
 */

int dmp_store_delivery_get(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], char *folder,
			   size_t folder_cap, char *file, size_t file_cap)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "SELECT folder, file FROM delivery WHERE spk = ? AND "
			 "msg_id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		copy_text(folder, folder_cap, q, 0);
		copy_text(file, file_cap, q, 1);
		rc = 0;
	} else {
		rc =
		    rc == SQLITE_DONE ? DMP_ENOENT : store_fail(st, "delivery");
	}
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_delivery_put(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], const char *folder,
			   const char *file, uint64_t exp)
{
	sqlite3_stmt *q;
	int rc =
	    prepare(st, &q,
		    "INSERT INTO delivery (spk, msg_id, folder, file, exp) "
		    "VALUES (?, ?, ?, ?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, folder, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 4, file, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 5, (int64_t)exp);
	return step_done(st, q);
}

/* ---- slot values already judged
 * ---------------------------------------------- */

int dmp_store_seen_value(struct dmp_store *st, const char *name,
			 const uint8_t hash[32])
{
	sqlite3_stmt *q;
	int rc = prepare(
	    st, &q, "SELECT 1 FROM seen_value WHERE name = ? AND hash = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, hash, 32, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	rc = rc == SQLITE_ROW	 ? 1
	     : rc == SQLITE_DONE ? 0
				 : store_fail(st, "seen value");
	sqlite3_finalize(q);
	return rc;
}

int dmp_store_seen_value_put(struct dmp_store *st, const char *name,
			     const uint8_t hash[32], uint64_t exp)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "INSERT OR REPLACE INTO seen_value (name, hash, exp) "
			 "VALUES (?, ?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, (int64_t)exp);
	return step_done(st, q);
}

int dmp_store_cache_reap(struct dmp_store *st, int64_t now)
{
	int a =
	    delete_where(st, "DELETE FROM contact_prekey WHERE exp < ?", now);
	int b = delete_where(st, "DELETE FROM delivery WHERE exp < ?", now);
	int c = delete_where(st, "DELETE FROM seen_value WHERE exp < ?", now);
	int d = delete_where(
	    st, "DELETE FROM contact_prekey_used WHERE exp < ?", now);

	if (a < 0 || b < 0 || c < 0 || d < 0) {
		return a < 0 ? a : b < 0 ? b : c < 0 ? c : d;
	}
	return a + b + c + d;
}

/* ---- discovered peers (PROTOCOL.md 8) ----------------------------------- */

#define PEER_COLS                                                              \
	"operator_spk, endpoint, version, capabilities, claim_provider_zone, " \
	"hb_ts, hb_exp, first_seen, last_seen, source, failures, last_err, "   \
	"last_error"

int dmp_store_peer_seen(struct dmp_store *st, const struct dmp_store_peer *p)
{
	sqlite3_stmt *q;
	/* Heartbeat fields move only forward (newest ts wins, 8); any
	 * verified sighting clears the failure count. */
	int rc = prepare(
	    st, &q,
	    "INSERT INTO peer (" PEER_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '') "
	    "ON CONFLICT (operator_spk, endpoint) DO UPDATE SET "
	    "version = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.version ELSE version END,"
	    "capabilities = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.capabilities ELSE capabilities END,"
	    "claim_provider_zone = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.claim_provider_zone ELSE claim_provider_zone END,"
	    "source = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.source ELSE source END,"
	    "hb_exp = CASE WHEN excluded.hb_ts >= hb_ts THEN "
	    "  excluded.hb_exp ELSE hb_exp END,"
	    "hb_ts = max(hb_ts, excluded.hb_ts),"
	    "last_seen = max(last_seen, excluded.last_seen),"
	    "failures = 0, last_err = 0, last_error = ''");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, p->operator_spk, DMP_ED25519_PK_BYTES,
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, p->endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, p->version, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 4, p->capabilities);
	sqlite3_bind_text(q, 5, p->claim_provider_zone, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 6, (int64_t)p->hb_ts);
	sqlite3_bind_int64(q, 7, (int64_t)p->hb_exp);
	sqlite3_bind_int64(q, 8, p->first_seen);
	sqlite3_bind_int64(q, 9, p->last_seen);
	sqlite3_bind_text(q, 10, p->source, -1, SQLITE_TRANSIENT);
	return step_done(st, q);
}

int dmp_store_peer_fail(struct dmp_store *st, const char *source, int64_t now,
			int err, const char *text)
{
	sqlite3_stmt *q;
	int rc = prepare(st, &q,
			 "UPDATE peer SET failures = failures + 1, "
			 "last_err = ?, last_error = ? "
			 "WHERE source = ? AND last_seen < ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int(q, 1, err);
	sqlite3_bind_text(q, 2, text ? text : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 4, now);
	rc = step_done(st, q);
	return rc < 0 ? rc : sqlite3_changes(st->db);
}

static void read_peer(sqlite3_stmt *q, struct dmp_store_peer *p)
{
	memset(p, 0, sizeof(*p));
	copy_blob(p->operator_spk, DMP_ED25519_PK_BYTES, q, 0);
	copy_text(p->endpoint, sizeof(p->endpoint), q, 1);
	copy_text(p->version, sizeof(p->version), q, 2);
	p->capabilities = (uint16_t)sqlite3_column_int(q, 3);
	copy_text(p->claim_provider_zone, sizeof(p->claim_provider_zone), q, 4);
	p->hb_ts = (uint64_t)sqlite3_column_int64(q, 5);
	p->hb_exp = (uint64_t)sqlite3_column_int64(q, 6);
	p->first_seen = sqlite3_column_int64(q, 7);
	p->last_seen = sqlite3_column_int64(q, 8);
	copy_text(p->source, sizeof(p->source), q, 9);
	p->failures = sqlite3_column_int(q, 10);
	p->last_err = sqlite3_column_int(q, 11);
	copy_text(p->last_error, sizeof(p->last_error), q, 12);
}

int dmp_store_peer_each(struct dmp_store *st, dmp_store_peer_fn fn, void *ud)
{
	sqlite3_stmt *q;
	struct dmp_store_peer p;
	int rc = prepare(st, &q,
			 "SELECT " PEER_COLS " FROM peer "
			 "ORDER BY hb_ts DESC, endpoint, operator_spk");

	if (rc < 0) {
		return rc;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_peer(q, &p);
		if (fn(&p, ud) != 0) {
			break;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
						     : store_fail(st, "peers");
}

int dmp_store_peer_reap(struct dmp_store *st, int64_t before)
{
	return delete_where(st, "DELETE FROM peer WHERE hb_exp < ?", before);
}
