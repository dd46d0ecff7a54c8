/*
 * core/src/node/node_relay_hold.h - the relay's hold table (docs/protocol.md
 * 8.7.6): bundles a relay could not hand to a next hop, kept in the node's
 * sqlite store (table relay_hold, node_store_hold.c) and mirrored in
 * memory for the bounds, the retry schedule and /v1/mesh
 * (node_relay_hold.c). Driven by the forwarder thread (node_relay_q.c).
 */
#ifndef DMP_NODE_RELAY_HOLD_H
#define DMP_NODE_RELAY_HOLD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "dmp/node.h"
#include "dmp/relay.h"

/** The first retry after this many seconds, doubling up to the cap. */
#define DMP_NRH_BACKOFF_FIRST 5
#define DMP_NRH_BACKOFF_MAX 300

/** One held bundle as the table and the mirror know it. */
struct dmp_nrh_entry {
	char id[DMP_RELAY_ID_CHARS + 1];
	char zone[DMP_RELAY_ZONE_MAX + 1];
	char sender[DMP_RELAY_FP_CHARS + 1]; /* 16 hex of the sender key */
	uint64_t bytes;			     /* the values' bytes */
	uint64_t held_ms;		     /* when it arrived here */
	uint64_t drop_s;		     /* dropped from then on */
	uint64_t next_ms;		     /* next try */
	unsigned tries;			     /* tries after the first */
};

/* ---- the table (node_store_hold.c; the caller holds the store's lock) */
/** Create the table if needed. @return 0 or DMP_ESTORE */
int dmp_st_hold_init(sqlite3 *db);
/** Insert @p e with @p body (the bundle's JSON) in one commit and make it
 * durable (fsync). @return 0, DMP_EEXIST (id held already), DMP_ESTORE */
int dmp_st_hold_put(sqlite3 *db, const struct dmp_nrh_entry *e,
		    const char *body, size_t len);
/** Record a new schedule. @return 0 or DMP_ESTORE */
int dmp_st_hold_update(sqlite3 *db, const char *id, uint64_t next_ms,
		       unsigned tries);
/** @return 0 or DMP_ESTORE */
int dmp_st_hold_del(sqlite3 *db, const char *id);
/** The body of @p id (dmp_free()). @return 0, DMP_ENOENT, DMP_ENOMEM,
 * DMP_ESTORE */
int dmp_st_hold_body(sqlite3 *db, const char *id, char **body, size_t *len);
/** Every row, oldest first, without bodies. @return 0, the first
 * negative return of @p fn, or DMP_ESTORE */
int dmp_st_hold_load(sqlite3 *db,
		     int (*fn)(const struct dmp_nrh_entry *e, void *ud),
		     void *ud);

/* ---- the mirror and its rules (node_relay_hold.c) ---- */
struct dmp_nrh_opts {
	uint64_t bytes;	       /* mesh.relay_hold_bytes */
	unsigned bundles;      /* mesh.relay_hold_bundles */
	uint64_t sender_bytes; /* mesh.relay_hold_sender_bytes */
	uint32_t max_s;	       /* mesh.relay_hold_max */
	unsigned retries;      /* mesh.relay_retries */
};
struct dmp_nrh;
/**
 * The hold of a node: @p db under @p db_lock (the node's wlock, taken
 * for every statement and never nested with the mirror's own leaf
 * mutex). Creates the table and loads the rows; each loaded bundle is due
 * at @p now_ms (retried at start).
 * @return 0, DMP_EINVAL (an option out of range), DMP_ENOMEM, DMP_ESTORE
 */
int dmp_nrh_open(struct dmp_nrh **out, sqlite3 *db, pthread_mutex_t *db_lock,
		 const struct dmp_nrh_opts *o, uint64_t now_ms);
void dmp_nrh_free(struct dmp_nrh *h);
/** Seconds before retry number @p tries + 1: 5, 10, 20, ... 300. */
unsigned dmp_nrh_backoff_s(unsigned tries);
/**
 * Cap every record's ttl of @p b at its own expiry (a manifest's exp for
 * it and its chunks, a claim's for it) at @p now_s, and give when the
 * bundle is to be dropped: min(the records' expiries, now + @p max_s).
 * @return 0, or DMP_EEXPIRED (a record has expired: nothing to hold)
 */
int dmp_nrh_cap(struct dmp_relay_bundle *b, uint64_t now_s, uint32_t max_s,
		uint64_t *drop_s);
/**
 * Hold @p b (ttls capped) for @p sender, first retry after
 * DMP_NRH_BACKOFF_FIRST s. Over a bound: DMP_ENOSPC with the bound named
 * in @p why, nothing evicted.
 * @return 0, DMP_ENOSPC, DMP_EEXIST, DMP_ENOMEM, DMP_ESTORE
 */
int dmp_nrh_put(struct dmp_nrh *h, const struct dmp_relay_bundle *b,
		const char *id, const char *sender, uint64_t now_ms,
		uint64_t drop_s, char *why, size_t cap);
/** The held bundle due first at @p now_ms (next try reached) into @p e.
 * @return 1 one is due, 0 none */
int dmp_nrh_due(struct dmp_nrh *h, uint64_t now_ms, struct dmp_nrh_entry *e);
/** Make every held bundle due at @p now_ms (a link came up). */
void dmp_nrh_kick(struct dmp_nrh *h, uint64_t now_ms);
/** The bundle of @p id, parsed (values up to @p max_bytes).
 * @return 0, DMP_ENOENT, DMP_ESTORE or a parse error */
int dmp_nrh_load(struct dmp_nrh *h, const char *id, size_t max_bytes,
		 struct dmp_relay_bundle *b);
/** A try failed at @p now_ms: schedule the next with backoff, or, after
 * mesh.relay_retries, drop it. @return 0 rescheduled, DMP_ERANGE dropped */
int dmp_nrh_retry(struct dmp_nrh *h, const char *id, uint64_t now_ms);
/** Forget @p id (delivered, expired or refused); @p delivered counts. */
void dmp_nrh_done(struct dmp_nrh *h, const char *id, int delivered);
/** Held bundles and bytes now, and bundles delivered since start. */
void dmp_nrh_stats(struct dmp_nrh *h, size_t *bundles, uint64_t *bytes,
		   uint64_t *delivered);
/** Up to @p max held bundles, next try first. @return how many */
size_t dmp_nrh_list(struct dmp_nrh *h, struct dmp_nrh_entry *out, size_t max);

#endif /* DMP_NODE_RELAY_HOLD_H */
