/*
 * core/src/node/node_sync_i.h - private parts of cluster anti-entropy
 * (PROTOCOL.md 7.6): the JSON codec of the digest and pull exchanges and
 * the cursor (node_sync_json.c), the store queries (node_store_sync.c),
 * the check of a pulled value (node_sync_verify.c) and the worker
 * (node_sync.c). The server side is node_http_sync.c.
 */
#ifndef DMP_NODE_SYNC_I_H
#define DMP_NODE_SYNC_I_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "dmp/node.h"

#define NS_DIGEST_DEFAULT 1000 /* entries per digest page (7.6) */
#define NS_DIGEST_MAX 10000
#define NS_PULL_MAX 256		 /* names per pull (7.6) */
#define NS_NAME_MAX 253		 /* [A-Za-z0-9._-]{1,253} */
#define NS_SKEW_MS 60000ull	 /* digest ts at most this far ahead */
#define NS_TTL_MAX 2147483648ull /* 2^31 */
#define NS_TTL_SLOP 5		 /* s: a longer peer ttl is a refresh */
#define NS_BODY_MAX (8u << 20)	 /* a peer's answer, bytes */

/* (stored_ts ms, name, value hash): the digest's order. hash "" sorts
 * before every hash (start of the name). */
struct ns_cursor {
	uint64_t ts;
	char name[NS_NAME_MAX + 1];
	char hash[65];
};

/** Parse "<ts>:<name>[:<hash>]" (7.6). @return 0 or DMP_EMALFORMED */
int dmp_ns_cursor_parse(struct ns_cursor *c, const char *s, size_t len);
/** Format @p c into @p out (at least NS_CURSOR_TEXT bytes). */
#define NS_CURSOR_TEXT (20 + 1 + NS_NAME_MAX + 1 + 64 + 1)
void dmp_ns_cursor_fmt(const struct ns_cursor *c, char *out, size_t cap);
/** <0, 0, >0 as @p a sorts before, with, after @p b. */
int dmp_ns_cursor_cmp(const struct ns_cursor *a, const struct ns_cursor *b);

/** 1 if @p s is a digest name: [A-Za-z0-9._-]{1,253}. */
int dmp_ns_name_ok(const char *s, size_t len);
/** 1 if @p s is exactly @p want lower-case hex digits (NULL: 0). */
int dmp_ns_hex_ok(const char *s, size_t len, size_t want);
/** 1 if @p s is 64 lower-case hex digits. */
int dmp_ns_hash_ok(const char *s, size_t len);

struct ns_entry {
	char name[NS_NAME_MAX + 1];
	char hash[65];
	uint64_t ts;  /* stored_ts, ms */
	uint64_t ttl; /* remaining, s */
	int valid;    /* passed 7.6 step 2 */
};

struct ns_digest {
	struct ns_entry *e; /* dmp_free() */
	size_t n;
	int has_more;
	int have_next;
	struct ns_cursor next;
};

/**
 * Parse a digest answer {records:[{name,hash,ts,ttl}],has_more,next_cursor}.
 * Entries that fail 7.6 step 2 (name, hash, ts <= now_ms + 60 s, ttl in
 * 0..2^31) are kept with valid 0, so the caller stops its cursor there.
 * @return 0, DMP_EMALFORMED (not that shape, more than NS_DIGEST_MAX
 *         records) or DMP_ENOMEM
 */
int dmp_ns_digest_parse(struct ns_digest *d, const char *body, size_t len,
			uint64_t now_ms);
void dmp_ns_digest_free(struct ns_digest *d);

struct ns_pulled {
	char name[NS_NAME_MAX + 1];
	char *value; /* NUL-terminated, owned */
	size_t vlen;
	uint64_t ttl;
};

/**
 * Parse a pull answer {records:[{name,value,ttl}]}: at most @p max
 * records; a record with a bad name, a value that is not a string or
 * a ttl out of 0..2^31 makes the whole answer DMP_EMALFORMED (a peer
 * that sends it is lying).
 * @return 0, DMP_EMALFORMED, DMP_ETOOBIG (more than @p max), DMP_ENOMEM
 */
int dmp_ns_pull_parse(struct ns_pulled **out, size_t *n, const char *body,
		      size_t len, size_t max);
void dmp_ns_pulled_free(struct ns_pulled *p, size_t n);

/**
 * The records array of a pull answer or a relay bundle (DMP-RELAY/1,
 * node_relay_json.c): [{name,value,ttl}], at most @p max, each checked as
 * dmp_ns_pull_parse() says.
 * @param why  if not NULL, receives the refusal naming the index and
 *             field ("records[3].ttl: ...")
 * @return 0, DMP_EMALFORMED, DMP_ETOOBIG (more than @p max), DMP_ENOMEM
 */
int dmp_ns_records_take(struct ns_pulled **out, size_t *n, const json_t *recs,
			size_t max, char *why, size_t why_cap);

/** jansson's parse of @p body (NULL when over @p max bytes or not JSON),
 * duplicate keys refused. json_decref() it. */
json_t *dmp_ns_json_load(const char *body, size_t len, size_t max);
/** Integer member @p k of @p o in 0..@p max; -1 when absent or not one. */
int64_t dmp_ns_json_int(const json_t *o, const char *k, uint64_t max);

/** {"names":[...]} for a pull request; malloc()ed, or NULL. */
char *dmp_ns_pull_request(const char *const *names, size_t n);

/**
 * Parse a pull request body {"names":[...]} into names without one
 * trailing dot, lower-cased. @return count (0..NS_PULL_MAX),
 * DMP_EMALFORMED or DMP_ETOOBIG (over NS_PULL_MAX)
 */
int dmp_ns_pull_request_parse(const char *body, size_t len,
			      char names[][NS_NAME_MAX + 1]);

/** The default dmp_node_sync_http_fn (libcurl, node_sync_http.c). */
int dmp_ns_http_curl(void *ud, const char *url, const char *token,
		     const char *body, char **resp, size_t *resp_len,
		     unsigned timeout_ms);
/** As dmp_ns_http_curl(); @p retry_after (may be NULL) gets the answer's
 * Retry-After in seconds (1..86400), 0 for none (the relay passes it
 * back, docs/protocol.md 8.7.2). */
int dmp_ns_http_curl_ra(void *ud, const char *url, const char *token,
			const char *body, char **resp, size_t *resp_len,
			unsigned timeout_ms, unsigned *retry_after);

/* ---- store (node_store_sync.c; wlock held) ---- */

/* One live row in digest order. */
typedef int (*dmp_st_digest_fn)(const char *name, const char *hash,
				uint64_t ts_ms, uint64_t exp_s, void *ud);
/** Up to @p limit live rows strictly after @p c. @return rows or
 * DMP_ESTORE / fn's error */
int dmp_st_digest(sqlite3 *db, const struct ns_cursor *c, unsigned limit,
		  uint64_t now_s, dmp_st_digest_fn fn, void *ud);
/** expires_at of the live row (@p name, @p hash): 1 found, 0 none,
 * DMP_ESTORE. */
int dmp_st_hash_exp(sqlite3 *db, const char *name, const char *hash,
		    uint64_t now_s, uint64_t *exp_s);
/** The persisted cursor for peer @p peer: 1 found, 0 none, DMP_ESTORE. */
int dmp_st_cursor_get(sqlite3 *db, const char *peer, struct ns_cursor *c);
int dmp_st_cursor_put(sqlite3 *db, const char *peer, const struct ns_cursor *c);

/* ---- a pulled value (node_sync_verify.c) ---- */

/**
 * PROTOCOL.md 7.6 step 5 for @p value at @p name: signed types verified
 * in full (manifest, identity, claim, rotation, revocation; a cluster
 * manifest against @p op_spk when not NULL, else structure only), prekey
 * and bootstrap by structure, chunks must unwrap, unknown v=dmp refused,
 * non-DMP values refused at DMP-shaped names, heartbeats refused (each
 * node publishes its own), relay link records (dmp/links.h) verified in
 * full with their own node_spk and refused outside `_dnsmesh-links.`.
 * @return 0 or DMP_EBADSIG / DMP_EMALFORMED / DMP_EEXPIRED / ...
 */
int dmp_ns_verify(const char *name, const char *value, size_t vlen,
		  const uint8_t *op_spk, uint64_t now_s);

#endif /* DMP_NODE_SYNC_I_H */
