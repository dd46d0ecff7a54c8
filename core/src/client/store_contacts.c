/* core/src/client/store_contacts.c - pinned contacts (store.h). */
#include <string.h>

#include <sqlite3.h>

#include "dmp/alias.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "store_i.h"

/* ---- contacts ----------------------------------------------------------- */

#define CONTACT_COLS                                                           \
	"alias, address, username, domain, x25519_pk, ed25519_pk, versions, "  \
	"blocked, pinned_at, pinned_how, prev_ed25519_pk, rotated_at, revoked"

static void read_contact(sqlite3_stmt *q, struct dmp_store_contact *c)
{
	memset(c, 0, sizeof(*c));
	dmp_st_copy_text(c->alias, sizeof(c->alias), q, 0);
	dmp_st_copy_text(c->address, sizeof(c->address), q, 1);
	dmp_st_copy_text(c->username, sizeof(c->username), q, 2);
	dmp_st_copy_text(c->domain, sizeof(c->domain), q, 3);
	dmp_st_copy_blob(c->x25519_pk, 32, q, 4);
	dmp_st_copy_blob(c->ed25519_pk, 32, q, 5);
	c->versions = (uint32_t)sqlite3_column_int64(q, 6);
	c->blocked = sqlite3_column_int(q, 7);
	c->pinned_at = sqlite3_column_int64(q, 8);
	dmp_st_copy_text(c->pinned_how, sizeof(c->pinned_how), q, 9);
	if (sqlite3_column_bytes(q, 10) == 32) {
		dmp_st_copy_blob(c->prev_ed25519_pk, 32, q, 10);
	}
	c->rotated_at = sqlite3_column_int64(q, 11);
	c->revoked = sqlite3_column_int(q, 12);
}

int dmp_store_contact_put(struct dmp_store *st,
			  const struct dmp_store_contact *c)
{
	sqlite3_stmt *q;
	int rc =
	    dmp_st_prepare(st, &q,
			   "INSERT OR REPLACE INTO contact (" CONTACT_COLS
			   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

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
	if (c->rotated_at) {
		sqlite3_bind_blob(q, 11, c->prev_ed25519_pk, 32,
				  SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(q, 11);
	}
	sqlite3_bind_int64(q, 12, c->rotated_at);
	sqlite3_bind_int(q, 13, c->revoked);
	return dmp_st_step_done(st, q);
}

static int contact_query(struct dmp_store *st, const char *sql, const void *key,
			 int key_len, struct dmp_store_contact *out)
{
	sqlite3_stmt *q;
	int rc = dmp_st_prepare(st, &q, sql);

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
		rc = dmp_st_fail(st, "contact");
	}
	dmp_st_release(st, q);
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
	int rc = dmp_st_prepare(st, &q, sql);

	if (rc < 0) {
		return rc;
	}
	if (bind_num) {
		sqlite3_bind_int(q, 1, num);
		sqlite3_bind_text(q, 2, arg, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_text(q, 1, arg, -1, SQLITE_TRANSIENT);
	}
	rc = dmp_st_step_done(st, q);
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

int dmp_store_contact_rename(struct dmp_store *st, const char *from,
			     const char *to)
{
	struct dmp_store_contact c;
	sqlite3_stmt *q;
	int rc;

	if (strcmp(from, to) == 0) {
		return 0;
	}
	rc = contact_query(st,
			   "SELECT " CONTACT_COLS
			   " FROM contact WHERE alias = ?1 AND alias = ?2",
			   to, -1, &c);
	if (rc == 0) {
		return DMP_EEXIST;
	}
	if (rc != DMP_ENOENT) {
		return rc;
	}
	rc = dmp_st_prepare(st, &q,
			    "UPDATE contact SET alias = ? WHERE alias = ?");
	if (rc < 0) {
		return rc;
	}
	sqlite3_bind_text(q, 1, to, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, from, -1, SQLITE_TRANSIENT);
	rc = dmp_st_step_done(st, q);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		rc = DMP_ENOENT;
	}
	return rc;
}

static int each(struct dmp_store *st, dmp_store_contact_fn fn, void *ud,
		int all)
{
	sqlite3_stmt *q;
	struct dmp_store_contact c;
	int rc = dmp_st_prepare(
	    st, &q, "SELECT " CONTACT_COLS " FROM contact ORDER BY alias");

	if (rc < 0) {
		return rc;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *why;

		read_contact(q, &c);
		why = dmp_alias_problem(c.alias);
		if (why && !all) {
			DMP_LOG_W(
			    "contact %s (%s): alias %s; skipped: rename it "
			    "with `dmp contacts rename OLD NEW` or remove "
			    "it with `dmp contacts remove OLD`",
			    c.alias, c.address, why);
			continue;
		}
		if (fn(&c, ud) != 0) {
			break;
		}
	}
	dmp_st_release(st, q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		   ? 0
		   : dmp_st_fail(st, "contacts");
}

int dmp_store_contact_each(struct dmp_store *st, dmp_store_contact_fn fn,
			   void *ud)
{
	return each(st, fn, ud, 1);
}

int dmp_store_contact_each_valid(struct dmp_store *st, dmp_store_contact_fn fn,
				 void *ud)
{
	return each(st, fn, ud, 0);
}
