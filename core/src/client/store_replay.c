/* core/src/client/store_replay.c - receive state (store.h): the replay
 * cache (PROTOCOL.md 4.7), planned deliveries, slot values judged. */
#include <string.h>

#include <sqlite3.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

enum { REPLAY_INFLIGHT = 0, REPLAY_SEEN = 1 };
#define REPLAY_STALE_SECS 300

/* ---- replay cache
 * ------------------------------------------------------------ */

int dmp_store_replay_claim(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], uint64_t exp, int64_t now)
{
	sqlite3_stmt *q = NULL;
	int rc;

	rc = dmp_st_exec(st, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	rc = dmp_st_prepare(
	    st, &q,
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
		rc = dmp_st_fail(st, "replay");
	}
	dmp_st_release(st, q);
	q = NULL;
	if (rc < 0) {
		goto out;
	}
	rc = dmp_st_prepare(
	    st, &q,
	    "INSERT OR REPLACE INTO replay (spk, msg_id, exp, state, "
	    "claimed_at) VALUES (?, ?, ?, 0, ?)");
	if (rc < 0) {
		goto out;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, (int64_t)exp);
	sqlite3_bind_int64(q, 4, now);
	rc = dmp_st_step_done(st, q);
	if (rc == 0) {
		rc = dmp_st_exec(st, "COMMIT");
	}
out:
	if (rc < 0) {
		dmp_st_exec(st, "ROLLBACK");
	}
	return rc;
}

static int replay_change(struct dmp_store *st, const char *sql,
			 const uint8_t spk[32], const uint8_t msg_id[16],
			 int64_t exp)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	if (exp >= 0) {
		sqlite3_bind_int64(q, 3, exp);
	}
	return dmp_st_step_done(st, q);
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
	int rc =
	    dmp_st_prepare(st, &q,
			   "SELECT 1 FROM replay WHERE spk = ? AND msg_id = ? "
			   "AND state = 1");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	rc = sqlite3_step(q) == SQLITE_ROW;
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_replay_reap(struct dmp_store *st, int64_t now)
{
	return dmp_st_delete_where(st, "DELETE FROM replay WHERE exp < ?", now);
}

/* ---- planned deliveries ----------------------------------------------------
 */

int dmp_store_delivery_get(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], char *folder,
			   size_t folder_cap, char *file, size_t file_cap)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q,
	    "SELECT folder, file FROM delivery WHERE spk = ? AND "
	    "msg_id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_blob(q, 1, spk, 32, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, msg_id, 16, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		dmp_st_copy_text(folder, folder_cap, q, 0);
		dmp_st_copy_text(file, file_cap, q, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? DMP_ENOENT
				       : dmp_st_fail(st, "delivery");
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_delivery_put(struct dmp_store *st, const uint8_t spk[32],
			   const uint8_t msg_id[16], const char *folder,
			   const char *file, uint64_t exp)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q,
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
	return dmp_st_step_done(st, q);
}

/* ---- slot values already judged
 * ---------------------------------------------- */

int dmp_store_seen_value(struct dmp_store *st, const char *name,
			 const uint8_t hash[32])
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q, "SELECT 1 FROM seen_value WHERE name = ? AND hash = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, hash, 32, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	rc = rc == SQLITE_ROW	 ? 1
	     : rc == SQLITE_DONE ? 0
				 : dmp_st_fail(st, "seen value");
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_seen_value_put(struct dmp_store *st, const char *name,
			     const uint8_t hash[32], uint64_t exp)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q,
	    "INSERT OR REPLACE INTO seen_value (name, hash, exp) "
	    "VALUES (?, ?, ?)");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, (int64_t)exp);
	return dmp_st_step_done(st, q);
}

int dmp_store_cache_reap(struct dmp_store *st, int64_t now)
{
	int a = dmp_st_delete_where(
	    st, "DELETE FROM contact_prekey WHERE exp < ?", now);
	int b =
	    dmp_st_delete_where(st, "DELETE FROM delivery WHERE exp < ?", now);
	int c = dmp_st_delete_where(st, "DELETE FROM seen_value WHERE exp < ?",
				    now);
	int d = dmp_st_delete_where(
	    st, "DELETE FROM contact_prekey_used WHERE exp < ?", now);

	if (a < 0 || b < 0 || c < 0 || d < 0) {
		return a < 0 ? a : b < 0 ? b : c < 0 ? c : d;
	}
	return a + b + c + d;
}
