/*
 * core/src/client/store_i.h - internals of the client store (store.h),
 * shared by its files:
 *
 *   store.c           schema and migrations, open/close, seal key,
 *                     statement helpers, identity, key/value settings
 *   store_contacts.c  pinned contacts
 *   store_prekeys.c   our sealed prekeys, contacts' cached prekeys
 *   store_outbox.c    the durable outbox
 *   store_replay.c    replay cache, planned deliveries, judged values
 *   store_peers.c     discovered peers
 */
#ifndef DMP_STORE_I_H
#define DMP_STORE_I_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "dmp/store.h"

/* One prepared statement kept for its SQL text (issue 19: preparing
 * again was 16 % of a sending client's time). */
struct dmp_st_cached {
	uint32_t hash; /* of sql */
	char *sql;
	sqlite3_stmt *q;
	int busy; /* handed out by dmp_st_prepare(), not released yet */
};

struct dmp_store {
	sqlite3 *db;
	uint8_t *seal_key; /* sodium_malloc'd, NULL until set */
	int relaxed;	   /* dmp_store_relax() depth; 0: synchronous=FULL */
	struct dmp_st_cached *stmts; /* the statement cache, finalized at
				      * dmp_store_close() */
	size_t n_stmts, cap_stmts;
};

/* Log sqlite's message for @p what; returns DMP_ESTORE. */
int dmp_st_fail(struct dmp_store *st, const char *what);
/* Run statements without results. @return 0 or DMP_ESTORE */
int dmp_st_exec(struct dmp_store *st, const char *sql);
/* Prepare @p sql, or take the store's cached statement for it (a fresh
 * one while that is in use: a callback running the same query). Give it
 * back with dmp_st_release() (or dmp_st_step_done()), never
 * sqlite3_finalize(). @return 0 or DMP_ESTORE */
int dmp_st_prepare(struct dmp_store *st, sqlite3_stmt **q, const char *sql);
/* Done with @p q (NULL: no-op): a cached statement is reset and its
 * bindings cleared (ending its read), any other finalized. */
void dmp_st_release(struct dmp_store *st, sqlite3_stmt *q);
/* Step a statement that returns no row, then release it. */
int dmp_st_step_done(struct dmp_store *st, sqlite3_stmt *q);
/* Copy column @p col (text) into @p dst, truncated, NUL-terminated. */
void dmp_st_copy_text(char *dst, size_t cap, sqlite3_stmt *q, int col);
/* Copy column @p col (blob) into @p dst when it has @p want bytes, else
 * zero @p dst. */
void dmp_st_copy_blob(uint8_t *dst, size_t want, sqlite3_stmt *q, int col);
/* Run a DELETE with one integer parameter; returns the rows deleted. */
int dmp_st_delete_where(struct dmp_store *st, const char *sql, int64_t arg);

#endif /* DMP_STORE_I_H */
