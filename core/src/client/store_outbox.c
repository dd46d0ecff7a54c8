/* core/src/client/store_outbox.c - the durable outbox (store.h). */
#include <string.h>

#include <sqlite3.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

/* ---- outbox -----------------------------------------------------------------
 */

/* The records of queue row @p id, inside the caller's transaction. */
static int insert_records(struct dmp_store *st, int64_t id,
			  const struct dmp_outbox_record *recs, int n_recs)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	for (int i = 0; i < n_recs && rc == 0; i++) {
		rc =
		    dmp_st_prepare(st, &q,
				   "INSERT INTO outbox_record (outbox_id, seq, "
				   "name, value, ttl) VALUES (?, ?, ?, ?, ?)");
		if (rc < 0) {
			break;
		}
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int(q, 2, i);
		sqlite3_bind_text(q, 3, recs[i].name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 4, recs[i].value, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 5, recs[i].ttl);
		rc = dmp_st_step_done(st, q);
	}
	return rc;
}

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
	rc = dmp_st_exec(st, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	rc = dmp_st_prepare(
	    st, &q,
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
	rc = dmp_st_step_done(st, q);
	if (rc < 0) {
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
	rc = insert_records(st, id, recs, n_recs);
	if (rc < 0) {
		goto out;
	}
	rc = dmp_st_exec(st, "COMMIT");
	if (rc < 0) {
		goto out;
	}
	*queue_id = id;
	/* The acknowledgement: durable before the caller says "queued". A
	 * failed sync leaves the row (it may well be on disk): the caller
	 * reports the error, and the message may still go out. */
	return st->relaxed ? dmp_store_sync(st) : 0;
out:
	dmp_st_exec(st, "ROLLBACK");
	return rc;
}

static int outbox_update_time(struct dmp_store *st, const char *sql,
			      int64_t when, int64_t queue_id);

int dmp_store_outbox_reencoded(struct dmp_store *st, int64_t queue_id,
			       const struct dmp_outbox_record *recs, int n_recs,
			       uint64_t expires)
{
	int rc = dmp_st_exec(st, "BEGIN IMMEDIATE");

	if (rc < 0) {
		return rc;
	}
	/* Not while it is being published (another process's pass). */
	rc = outbox_update_time(st,
				"UPDATE outbox SET expires = ? WHERE id = ? "
				"AND state != 1 AND state != 2",
				(int64_t)expires, queue_id);
	if (rc == 0) {
		rc = dmp_st_delete_where(
		    st, "DELETE FROM outbox_record WHERE outbox_id = ?",
		    queue_id);
	}
	if (rc >= 0) {
		rc = insert_records(st, queue_id, recs, n_recs);
	}
	if (rc == 0) {
		rc = dmp_st_exec(st, "COMMIT");
	}
	if (rc < 0) {
		dmp_st_exec(st, "ROLLBACK");
	}
	return rc;
}

/* SQL: is the row a multi-part part, and its whole's id (32 hex): the
 * body starts "DMP-PART/1 id=<32 hex>" (multipart.h). */
#define IS_PART(t) "CAST(substr(" t "body, 1, 14) AS TEXT) = 'DMP-PART/1 id='"
#define WHOLE_OF(t) "CAST(substr(" t "body, 15, 32) AS TEXT)"
/* The rows of the same multi-part file as row ?N (none for a message of
 * its own): what cancel, withdraw and hold take together. */
#define SAME_FILE_AS(n)                                                        \
	"(" IS_PART("") " AND " WHOLE_OF("") " = (SELECT " WHOLE_OF(           \
	    "") " FROM outbox WHERE id = " n " AND " IS_PART("") "))"

static const char sql_cancel[] =
    "DELETE FROM outbox WHERE state != 2 AND (id = ?1 OR " SAME_FILE_AS(
	"?1") ")";
static const char sql_withdraw[] =
    "DELETE FROM outbox WHERE state = 4 AND (id = ?1 OR " SAME_FILE_AS(
	"?1") ")";
static const char sql_hold[] =
    "UPDATE outbox SET state = 4, next_attempt = ?1 WHERE state IN (0, 4) "
    "AND attempts = 0 AND (id = ?2 OR " SAME_FILE_AS("?2") ")";

#define OUTBOX_COLS                                                            \
	"o.id, o.msg_id, o.recipient, o.state, o.attempts, o.created, "        \
	"o.next_attempt, o.expires, length(o.body), o.last_error, "            \
	"(SELECT count(*) FROM outbox_record r WHERE r.outbox_id = o.id), "    \
	"(SELECT count(*) FROM outbox_record r WHERE r.outbox_id = o.id "      \
	"AND r.published), "                                                   \
	"CASE WHEN " IS_PART("o.") " THEN " WHOLE_OF("o.") " END"

static void read_outbox(sqlite3_stmt *q, struct dmp_outbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(q, 0);
	dmp_st_copy_blob(m->msg_id, DMP_MSG_ID_BYTES, q, 1);
	dmp_st_copy_text(m->recipient, sizeof(m->recipient), q, 2);
	m->state = (enum dmp_outbox_state)sqlite3_column_int(q, 3);
	m->attempts = sqlite3_column_int(q, 4);
	m->created = sqlite3_column_int64(q, 5);
	m->next_attempt = sqlite3_column_int64(q, 6);
	m->expires = (uint64_t)sqlite3_column_int64(q, 7);
	m->body_len = (size_t)sqlite3_column_int64(q, 8);
	dmp_st_copy_text(m->last_error, sizeof(m->last_error), q, 9);
	m->n_records = sqlite3_column_int(q, 10);
	m->n_published = sqlite3_column_int(q, 11);
	dmp_st_copy_text(m->whole, sizeof(m->whole), q, 12);
}

/* Rows of "SELECT OUTBOX_COLS ... @p where" (one optional integer
 * parameter @p arg), passed to @p fn until it returns nonzero. */
static int each_where(struct dmp_store *st, const char *sql, int64_t arg,
		      dmp_store_outbox_fn fn, void *ud)
{
	sqlite3_stmt *q;
	struct dmp_outbox_msg m;
	int rc = dmp_st_prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	if (sqlite3_bind_parameter_count(q) > 0) {
		sqlite3_bind_int64(q, 1, arg);
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		read_outbox(q, &m);
		if (fn(&m, ud) != 0) {
			break;
		}
	}
	dmp_st_release(st, q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : dmp_st_fail(st, "outbox");
}

int dmp_store_outbox_each_pending(struct dmp_store *st, dmp_store_outbox_fn fn,
				  void *ud)
{
	return each_where(st,
			  "SELECT " OUTBOX_COLS " FROM outbox o WHERE "
			  "o.state != 2 ORDER BY o.id",
			  0, fn, ud);
}

int dmp_store_outbox_each_after(struct dmp_store *st, int64_t after_id,
				dmp_store_outbox_fn fn, void *ud)
{
	return each_where(st,
			  "SELECT " OUTBOX_COLS " FROM outbox o WHERE "
			  "o.id > ? ORDER BY o.id",
			  after_id, fn, ud);
}

/* The one integer @p sql selects (0 for NULL). */
static int one_int64(struct dmp_store *st, const char *sql, int64_t *out,
		     const char *what)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, sql);

	*out = 0;
	if (rc < 0) {
		return rc;
	}
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(q, 0);
		rc = 0;
	} else {
		rc = dmp_st_fail(st, what);
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_outbox_max_id(struct dmp_store *st, int64_t *id)
{
	return one_int64(st, "SELECT coalesce(max(id), 0) FROM outbox", id,
			 "outbox max id");
}

int dmp_store_outbox_get(struct dmp_store *st, int64_t queue_id,
			 struct dmp_outbox_msg *out)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q, "SELECT " OUTBOX_COLS " FROM outbox o WHERE o.id = ?");

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
				       : dmp_st_fail(st, "outbox get");
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_outbox_records(struct dmp_store *st, int64_t queue_id,
			     dmp_store_record_fn fn, void *ud)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
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
			dmp_st_release(st, q);
			return r < 0 ? r : 0;
		}
	}
	dmp_st_release(st, q);
	return rc == SQLITE_DONE ? 0 : dmp_st_fail(st, "outbox records");
}

int dmp_store_outbox_records_done(struct dmp_store *st, int64_t queue_id,
				  int first, int last)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q,
				"UPDATE outbox_record SET published = 1 WHERE "
				"outbox_id = ? AND seq BETWEEN ? AND ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, queue_id);
	sqlite3_bind_int(q, 2, first);
	sqlite3_bind_int(q, 3, last);
	return dmp_st_step_done(st, q);
}

int dmp_store_outbox_set_state(struct dmp_store *st, int64_t queue_id,
			       enum dmp_outbox_state state,
			       int64_t next_attempt, const char *error)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
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
	rc = dmp_st_step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOENT;
	}
	return rc;
}

int dmp_store_outbox_restore(struct dmp_store *st,
			     const struct dmp_outbox_msg *m)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
			   "UPDATE outbox SET state = ?, attempts = ?, "
			   "next_attempt = ?, last_error = ? WHERE id = ?");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int(q, 1, (int)m->state);
	sqlite3_bind_int(q, 2, m->attempts);
	sqlite3_bind_int64(q, 3, m->next_attempt);
	sqlite3_bind_text(q, 4, m->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 5, m->id);
	rc = dmp_st_step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOENT;
	}
	return rc;
}

/* A part of a multi-part file takes the file's other unpublished parts
 * with it: a whole is cancelled entirely (the receiver's held parts then
 * expire). */
int dmp_store_outbox_cancel(struct dmp_store *st, int64_t queue_id)
{
	int rc = dmp_st_delete_where(st, sql_cancel, queue_id);

	return rc < 0 ? rc : rc == 0 ? DMP_ENOENT : 0;
}

int dmp_store_outbox_body(struct dmp_store *st, int64_t queue_id,
			  uint8_t **body, size_t *len)
{
	sqlite3_stmt *q;
	int rc;

	*body = NULL;
	*len = 0;
	rc = dmp_st_prepare(st, &q, "SELECT body FROM outbox WHERE id = ?");
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
				       : dmp_st_fail(st, "outbox body");
	}
	dmp_st_release(st, q);
	return rc;
}

/* ---- the undo-send window (held messages) ----------------------------------
 */

/* One UPDATE of @p sql binding (@p when, @p id): DMP_EBUSY when it
 * changed no row. */
static int outbox_update_time(struct dmp_store *st, const char *sql,
			      int64_t when, int64_t queue_id)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, when);
	sqlite3_bind_int64(q, 2, queue_id);
	rc = dmp_st_step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_EBUSY;
	}
	return rc;
}

int dmp_store_outbox_hold_one(struct dmp_store *st, int64_t queue_id,
			      int64_t until)
{
	return outbox_update_time(
	    st,
	    "UPDATE outbox SET state = 4, next_attempt = ? "
	    "WHERE id = ? AND state = 0 AND attempts = 0",
	    until, queue_id);
}

/* The parts of a multi-part file are held together: the undo-send window
 * of a file holds every part not yet taken by the publisher. */
int dmp_store_outbox_hold(struct dmp_store *st, int64_t queue_id, int64_t until)
{
	return outbox_update_time(st, sql_hold, until, queue_id);
}

int dmp_store_outbox_withdraw(struct dmp_store *st, int64_t queue_id)
{
	/* One statement: the publisher's "publishing" mark and this delete
	 * are ordered by sqlite, so exactly one of them wins. A part takes
	 * the file's other held parts with it. */
	int rc = dmp_st_delete_where(st, sql_withdraw, queue_id);

	return rc < 0 ? rc : rc == 0 ? DMP_EBUSY : 0;
}

int dmp_store_outbox_release(struct dmp_store *st, int64_t queue_id,
			     int64_t when)
{
	return outbox_update_time(st,
				  "UPDATE outbox SET next_attempt = ? "
				  "WHERE id = ? AND state = 4",
				  when, queue_id);
}

int dmp_store_outbox_next_due(struct dmp_store *st, int64_t *when)
{
	return one_int64(st,
			 "SELECT min(next_attempt) FROM outbox WHERE "
			 "state IN (0, 1, 4)",
			 when, "outbox next due");
}

/* ---- flush (engine_flush.c) -------------------------------------------- */

int dmp_store_outbox_kick(struct dmp_store *st, int64_t now,
			  const char *only_error)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q,
	    only_error ? "UPDATE outbox SET next_attempt = ?1 WHERE state IN "
			 "(0, 1) AND attempts > 0 AND next_attempt > ?1 AND "
			 "last_error = ?2"
		       : "UPDATE outbox SET next_attempt = ?1 WHERE state IN "
			 "(0, 1) AND attempts > 0 AND next_attempt > ?1");

	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_int64(q, 1, now);
	if (only_error) {
		sqlite3_bind_text(q, 2, only_error, -1, SQLITE_TRANSIENT);
	}
	rc = dmp_st_step_done(st, q);
	return rc < 0 ? rc : sqlite3_changes(st->db);
}

int dmp_store_outbox_whole(struct dmp_store *st, const char *whole, int *parts,
			   int *published)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(
	    st, &q,
	    "SELECT count(*), coalesce(sum(state = 2), 0) FROM outbox "
	    "WHERE " IS_PART("") " AND " WHOLE_OF("") " = ?");

	*parts = *published = 0;
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, whole, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*parts = sqlite3_column_int(q, 0);
		*published = sqlite3_column_int(q, 1);
		rc = 0;
	} else {
		rc = dmp_st_fail(st, "outbox whole");
	}
	dmp_st_release(st, q);
	return rc;
}

int dmp_store_outbox_file_ids(struct dmp_store *st, const char *whole,
			      int64_t **ids, size_t *n, size_t *published)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc =
	    dmp_st_prepare(st, &q,
			   "SELECT id, state FROM outbox WHERE " IS_PART(
			       "") " AND " WHOLE_OF("") " = ? ORDER BY id");

	*ids = NULL;
	*n = *published = 0;
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, whole, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (dmp_grow(ids, &cap, *n, sizeof(**ids), 64) < 0) {
			dmp_st_release(st, q);
			dmp_free(*ids);
			*ids = NULL;
			*n = 0;
			return DMP_ENOMEM;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(q, 0);
		*published += sqlite3_column_int(q, 1) == DMP_OUTBOX_PUBLISHED;
	}
	dmp_st_release(st, q);
	if (rc != SQLITE_DONE) {
		dmp_free(*ids);
		*ids = NULL;
		*n = 0;
		return dmp_st_fail(st, "outbox file");
	}
	return 0;
}
