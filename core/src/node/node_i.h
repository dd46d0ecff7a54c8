/* core/src/node/node_i.h - private parts of the node engine. */
#ifndef DMP_NODE_I_H
#define DMP_NODE_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sqlite3.h>

#include "dmp/dnsmsg.h"
#include "dmp/node.h"
#include "dmp/text.h"
#include "dmp/txt.h"
#include "dns/dnswire.h"
#include "dns/tsig.h"

/* DNS constants, names and TSIG: the library's one DNS stack (dmp/dnsmsg.h,
 * dns/dnswire.h, dns/tsig.h); text checks in dmp/text.h. */

/* ---- in-memory index (node_index.c) ---- */

/* One TXT RR, wire-ready from the owner on: c0 0c, TYPE, CLASS, TTL,
 * RDLENGTH, RDATA. The owner pointer is to the question name. */
struct nidx_rr {
	uint64_t exp_s; /* expires_at (seconds); hidden once <= now */
	uint64_t kid;	/* writer (dmp_nidx_kid of the key), 0: none */
	uint16_t len;
	uint8_t wire[];
};

struct nidx_ent {
	struct nidx_ent *next;
	uint32_t hash;
	uint32_t n_rr;
	struct nidx_rr **rr;
	uint64_t max_exp;      /* max exp_s over rr */
	uint64_t desc_max_exp; /* max exp_s of any descendant (may lag) */
	uint32_t desc_count;   /* descendants holding values */
	uint32_t bytes;	       /* sum of rr[]->len (expired until reaped) */
	uint8_t claim;	       /* first label claim-*: counts as claims */
	uint8_t nlen;
	uint8_t name[]; /* lower-case wire */
};

struct nidx {
	struct nidx_ent **b;
	size_t nb; /* power of two */
	size_t count;
	uint32_t seed;
	/* Storage budgets (node_ubudget.c): every RR held, expired ones
	 * included until dmp_nidx_expire(), and those at claim-* names. */
	uint64_t values, bytes, claim_values, claim_bytes;
	/* At most the earliest exp_s held (exact after dmp_nidx_expire()):
	 * nothing to prune while it is in the future. */
	uint64_t min_exp;
};

int dmp_nidx_init(struct nidx *x);
void dmp_nidx_clear(struct nidx *x);
/* Room for about @p names names before the first load, so that it never
 * rehashes (at most NIDX_RESERVE_MAX buckets; more still grows). */
#define NIDX_RESERVE_MAX ((uint64_t)1 << 26)
void dmp_nidx_reserve(struct nidx *x, uint64_t names);
/* Load only, on an index dmp_nidx_set has not filled: @p rr (taken; freed
 * on failure) joins the RRs at @p name, after those already there. */
int dmp_nidx_append(struct nidx *x, const uint8_t *name, size_t nlen,
		    struct nidx_rr *rr);
struct nidx_ent *dmp_nidx_find(const struct nidx *x, const uint8_t *name,
			       size_t nlen);
/** Replace the RRs of @p name (takes ownership of @p rr and its items). */
int dmp_nidx_set(struct nidx *x, const uint8_t *name, size_t nlen,
		 struct nidx_rr **rr, uint32_t n_rr);
/** Drop RRs with exp_s <= now and recompute the descendant facts. */
void dmp_nidx_expire(struct nidx *x, uint64_t now_s);
/** Build one RR from a value (canonical 255-byte split), written by the
 * writer @p kid. */
struct nidx_rr *dmp_nidx_rr_new(const char *value, size_t vlen, uint32_t ttl,
				uint64_t exp_s, uint64_t kid);
/** Writer id of a key name or source tag (nop.key); 0 for "" or NULL. */
uint64_t dmp_nidx_kid(const char *key);
/** Bytes of the RR dmp_nidx_rr_new() builds for a @p vlen byte value:
 * what it adds to an answer (owner pointer, type ... RDATA). */
static inline size_t dmp_nidx_rr_bytes(size_t vlen)
{
	return 12 + dmp_txt_rdata_len(vlen);
}
/** 1 if @p rr holds exactly @p value. */
int dmp_nidx_rr_value_eq(const struct nidx_rr *rr, const char *value,
			 size_t vlen);
/** RDATA of @p rr. */
static inline const uint8_t *dmp_nidx_rdata(const struct nidx_rr *rr,
					    size_t *len)
{
	*len = (size_t)rr->len - 12;
	return rr->wire + 12;
}

/* ---- store (node_store.c records, node_store_acct.c keys,
 * registrations, tokens) ---- */

struct nkey {
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	size_t nlen;
	char text[DMP_NODE_NAME_MAX]; /* as in the key table */
	uint8_t secret[64];
	size_t slen;
	unsigned n_scopes;
	char scopes[DMP_NODE_MAX_SCOPES][DMP_NODE_NAME_MAX];
};

enum nop_kind { NOP_ADD, NOP_DEL_ONE, NOP_DEL_ALL };

struct nop {
	enum nop_kind kind;
	char owner[DMP_NODE_NAME_MAX]; /* lower-case presentation */
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;
	uint32_t ttl;
	char *value; /* joined value (adds, single deletes); owned */
	size_t vlen;
	char key[DMP_NODE_NAME_MAX]; /* writing TSIG key, "" for none */
};

/* One stored row; @p key its writer (key_name), "" for none. */
typedef int (*dmp_st_row_fn)(const char *name, const char *value, size_t vlen,
			     uint64_t exp_s, const char *key, void *ud);

/* Statements of the write path, prepared once (dmp_st_stmts_free before
 * closing the database). */
struct nstmts {
	sqlite3_stmt *add, *del1, *dela, *ser_r, *ser_w, *name_rows;
	sqlite3_stmt *sync_full, *sync_normal;
};
void dmp_st_stmts_free(struct nstmts *c);
/** Log sqlite's message for @p what. @return DMP_ESTORE */
int dmp_st_dberr(sqlite3 *db, const char *what);

/* @p create 0: DMP_ENOENT when @p path does not exist (read-only
 * commands must not leave an empty database behind a typo). */
int dmp_st_open(sqlite3 **out, const char *path, int create);
int dmp_st_load(sqlite3 *db, uint64_t now_s, dmp_st_row_fn fn, void *ud);
/* The load by rowid (node_store.c): @p size once with the row count and
 * the largest rowid (a nonzero return stops it, returned), then @p val
 * for each row with a value that expires after 0 (rowid order), then
 * @p ord for each row (stored_ts, name, value_hash order). */
typedef int (*dmp_st_size_fn)(uint64_t rows, int64_t max_rowid, void *ud);
typedef int (*dmp_st_val_fn)(int64_t rowid, const char *value, size_t vlen,
			     uint64_t exp_s, const char *key, void *ud);
typedef int (*dmp_st_ord_fn)(int64_t rowid, const char *name, void *ud);
int dmp_st_load_by_id(sqlite3 *db, dmp_st_size_fn size, dmp_st_val_fn val,
		      dmp_st_ord_fn ord, void *ud);
int dmp_st_name_rows(sqlite3 *db, struct nstmts *c, const char *name,
		     uint64_t now_s, dmp_st_row_fn fn, void *ud);
/** Make every committed transaction durable (fsync of WAL and DB). */
int dmp_st_sync(sqlite3 *db);
/** synchronous=FULL (@p full) or NORMAL for the next transactions. */
int dmp_st_set_full(sqlite3 *db, struct nstmts *c, int full);
int dmp_st_begin(sqlite3 *db);
int dmp_st_commit(sqlite3 *db);
/** Roll back the open transaction, if any. */
void dmp_st_rollback(sqlite3 *db);
/** Apply @p ops inside the caller's transaction and bump the stored
 * serial (to @p want if not 0); the new serial in @p serial. */
int dmp_st_apply(sqlite3 *db, struct nstmts *c, const struct nop *const *ops,
		 size_t n, uint64_t now_ms, uint32_t want, uint32_t *serial);
/** The serial after @p cur for a change at @p now_s. */
uint32_t dmp_st_next_serial(uint32_t cur, uint64_t now_s);
int dmp_st_reap(sqlite3 *db, uint64_t now_s);
/* HTTP tokens (multi-tenant 7.4), by SHA-256 hex of the token. */
int dmp_st_tok_put(sqlite3 *db, const char *name, const char *hash_hex,
		   const char *scopes, uint64_t now_s);
int dmp_st_tok_del(sqlite3 *db, const char *name);
int dmp_st_tok_list(sqlite3 *db, dmp_node_key_fn fn, void *ud);
/** Scopes CSV of the token with @p hash_hex: 0, DMP_ENOENT, DMP_ESTORE. */
int dmp_st_tok_find(sqlite3 *db, const char *hash_hex, char *scopes,
		    size_t cap);
/** Live values owned by @p key plus the adds among @p ops that would be
 * new for it (a refresh of its own value is free): into @p total. */
int dmp_st_quota_need(sqlite3 *db, const char *key, const struct nop *ops,
		      size_t n, uint64_t now_s, uint64_t *total);
int dmp_st_serial(sqlite3 *db, uint32_t *serial, uint64_t now_s);
int dmp_st_keys_load(sqlite3 *db, struct nkey **keys, size_t *n);
int dmp_st_key_put(sqlite3 *db, const char *name, const uint8_t *secret,
		   size_t slen, const char *scopes, uint64_t now_s);
int dmp_st_key_del(sqlite3 *db, const char *name);
int dmp_st_key_list(sqlite3 *db, dmp_node_key_fn fn, void *ud);
int dmp_st_data_version(sqlite3 *db, int64_t *v);
/** Bytes of the database pages in use. */
int dmp_st_size(sqlite3 *db, uint64_t *bytes);
/* Registrations (PROTOCOL.md 7.2): subject -> spk, key, expiry. */
/** @return 1 found (spk hex and key name copied), 0 none, or DMP_ESTORE;
 * rows expired by @p now_s are not found. */
int dmp_st_reg_get(sqlite3 *db, const char *subject, uint64_t now_s,
		   char spk_hex[65], char key_name[DMP_NODE_NAME_MAX]);
int dmp_st_reg_put(sqlite3 *db, const char *subject, const char *spk_hex,
		   const char *key_name, uint64_t expires_s);
/** Drop registrations expired by @p now_s and their keys.
 * @return keys dropped, or DMP_ESTORE */
int dmp_st_reg_expire(sqlite3 *db, uint64_t now_s);

/* ---- update log (node_journal.c) ---- */

#define NJ_SECTOR 512
struct njournal;
struct dmp_wbuf;
/** Called for each valid record in order; < 0 stops the scan. */
typedef int (*dmp_nj_record_fn)(uint64_t seq, const uint8_t *p, size_t len,
				void *ud);
/**
 * Walk the records of a log image (the whole file) from sector 1: the
 * chain of valid records with consecutive seq. @p tail gets the offset
 * after the last one, @p next_seq the seq to use next, @p torn 1 when the
 * chain ended at damaged bytes (torn write, garbage) rather than zeros or
 * a stale record. @return 0, DMP_EMALFORMED (not a log), or fn's error
 */
int dmp_nj_scan(const uint8_t *img, size_t len, dmp_nj_record_fn fn, void *ud,
		uint64_t *tail, uint64_t *next_seq, int *torn);
/**
 * Open or create the log at @p path (@p cap bytes, written in full once),
 * replay its records through @p fn, and lock it (flock) for this process.
 * The caller applies the records, syncs the store and calls dmp_nj_reset().
 * @return 0, DMP_EBUSY (locked), DMP_EMALFORMED, DMP_EIO, DMP_ENOMEM,
 * DMP_EINVAL, or fn's error
 */
int dmp_nj_open(struct njournal **out, const char *path, uint64_t cap,
		dmp_nj_record_fn fn, void *ud);
void dmp_nj_close(struct njournal *j);
/** Append one record, on stable storage on return. @return 0, DMP_ENOSPC
 * (full: sync the store, dmp_nj_reset, retry), DMP_ENOBUFS (never fits),
 * DMP_EIO, DMP_ENOMEM */
int dmp_nj_append(struct njournal *j, const uint8_t *p, size_t len);
/** Erase the record just appended (its commit failed). */
int dmp_nj_unappend(struct njournal *j);
/** Forget every record; only once the store holding them is synced. */
int dmp_nj_reset(struct njournal *j);
/** Bytes of records since the last reset. */
uint64_t dmp_nj_used(const struct njournal *j);
/** Payload of one commit: @p now_ms and the ops. */
int dmp_nj_ops_encode(struct dmp_wbuf *w, const struct nop *const *ops,
		      size_t n, uint64_t now_ms);
/** Parse a payload into a new array of ops (values owned; dmp_nj_ops_free).
 * @return 0, DMP_EMALFORMED, DMP_ENOMEM */
int dmp_nj_ops_decode(const uint8_t *p, size_t len, struct nop **out,
		      size_t *n_out, uint64_t *now_ms);
void dmp_nj_ops_free(struct nop *ops, size_t n);

/* ---- change journal behind IXFR (node_xjournal.c) ---- */

/* One committed change from serial @p from to @p to: the RRs it removed,
 * then those it added, each owner (uncompressed wire), TYPE, CLASS, TTL,
 * RDLENGTH, RDATA, back to back in rrs[0..del_len) and rrs[del_len..len). */
struct nxj_chg {
	uint64_t seq; /* row id in the xfr_journal table */
	uint32_t from, to;
	uint32_t n_del, n_add;
	size_t del_len, len;
	uint8_t rrs[];
};

/* The journal, oldest first: entries written under wlock and ilock
 * (write), read under ilock. */
struct nxj {
	struct nxj_chg **c;
	size_t n, cap;
	uint64_t bytes;	    /* sum of c[]->len */
	uint64_t next_seq;  /* seq of the next entry */
	uint64_t saved_seq; /* entries with seq below are in sqlite */
	uint64_t open_seq;  /* next_seq when loaded */
	int dirty;	    /* rows to delete (pruned or cleared) */
};

/* What a commit touched, copied from the index before it (the RRs of each
 * name) to diff against the index after it. */
struct nxj_cap {
	struct nxj_capname *names;
	size_t n;
	uint32_t from;
};

/** Table created, journal loaded (dropped if it does not reach n->serial);
 * at open, after the serial is read. Writes nothing else. */
int dmp_nxj_open(struct dmp_node *n);
void dmp_nxj_free(struct nxj *j);
/** Before a commit of @p ops (wlock held): the old RRs of their names. */
int dmp_nxj_cap_begin(struct dmp_node *n, struct nxj_cap *c,
		      const struct nop *const *ops, size_t n_ops);
/** After it (wlock held): the change from c->from to n->serial, journaled
 * (nothing when the serial did not move); frees @p c. */
void dmp_nxj_cap_end(struct dmp_node *n, struct nxj_cap *c);
void dmp_nxj_cap_free(struct nxj_cap *c);
/** Append a change (takes @p ch), prune oldest-first to the limits
 * (wlock held; takes ilock). A gap in the chain drops the older ones. */
void dmp_nxj_append(struct dmp_node *n, struct nxj_chg *ch);
/** Write new entries to sqlite and delete pruned ones (wlock held, no
 * commits pending). @return 0 or DMP_ESTORE */
int dmp_nxj_save(struct dmp_node *n);
/** Reap expired values from the store and the index; when the index
 * held any, bump the serial and journal their removal (wlock held).
 * @return values reaped from the index, or DMP_ESTORE */
int dmp_nxj_reap(struct dmp_node *n, uint64_t now_s);
/** Index of the entry leaving serial @p from when the chain from it
 * reaches the current serial (ilock held), else -1. */
long dmp_nxj_find(const struct dmp_node *n, uint32_t from);

/* ---- per-address rate limit (node_rl.c) ---- */

#define RL_SHARDS 16
struct rl;
/** @p rate 0: *out = NULL, everything allowed. */
int dmp_rl_new(struct rl **out, uint32_t rate, uint32_t burst);
void dmp_rl_free(struct rl *r);
/** @p rate in tokens/s, may be fractional; <= 0: *out = NULL. */
int dmp_rl_new_f(struct rl **out, double rate, double burst);
/** As dmp_rl_new_f() with a table of @p slots entries (a power of two, at
 * least 128; tests use small ones). @return 0, DMP_EINVAL, DMP_ENOMEM */
int dmp_rl_new_sized(struct rl **out, double rate, double burst, size_t slots);
/** Key addresses by their first @p v4_prefix (1..32) or @p v6_prefix
 * (1..128) bits; call before the limiter is shared. NULL @p r: only
 * checks the ranges. @return 0 or DMP_EINVAL */
int dmp_rl_set_prefix(struct rl *r, unsigned v4_prefix, unsigned v6_prefix);
/** The 17-byte key of @p sa: family, then the address cut to its prefix
 * (IPv4-mapped IPv6 as IPv4). @return 0 or DMP_EINVAL (not IP) */
int dmp_rl_addr_key(const struct sockaddr *sa, unsigned v4_prefix,
		    unsigned v6_prefix, uint8_t key[17]);
/** 1 if the bucket of @p key (17 opaque bytes) has a token (takes it). */
int dmp_rl_allow_key(struct rl *r, const uint8_t key[17], uint64_t now_ms);
/** New rate and burst for a live limiter (NULL or rate 0: no-op). */
void dmp_rl_set(struct rl *r, double rate, double burst);
/** 1 if @p sa may be answered now (takes a token), else 0. */
int dmp_rl_allow(struct rl *r, const struct sockaddr *sa, uint64_t now_ms);

/* ---- the node ---- */

struct nzone {
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	size_t nlen;
	uint8_t mname[DMP_DNS_NAME_WIRE_MAX];
	size_t mlen;
	uint8_t rname[DMP_DNS_NAME_WIRE_MAX];
	size_t rlen;
	uint8_t ns[DMP_NODE_MAX_NS][DMP_DNS_NAME_WIRE_MAX];
	size_t nslen[DMP_NODE_MAX_NS];
	unsigned n_ns;
	uint8_t a[DMP_NODE_MAX_ADDRS][4];
	unsigned n_a;
	uint8_t aaaa[DMP_NODE_MAX_ADDRS][16];
	unsigned n_aaaa;
};

/* What dmp_node_reconfigure() (SIGHUP) changes and threads outside wlock
 * read (HTTP, heartbeat): copied out whole under live_mu. */
struct dmp_ni_live {
	uint32_t max_ttl;
	uint32_t max_value_bytes;
	int update_enabled;
};

struct dmp_node {
	/* Written at creation; the fields dmp_node_reconfigure() changes are
	 * written under wlock and read under wlock only (else: live). */
	struct dmp_node_opts o;
	pthread_mutex_t live_mu;
	struct dmp_ni_live live;
	struct nzone zones[DMP_NODE_MAX_ZONES];
	unsigned n_zones;

	/* Readers: the index and the serial, under ilock (read). */
	pthread_rwlock_t ilock;
	struct nidx idx;
	uint32_t serial;
	struct nxj xj; /* changes behind IXFR (node_xjournal.c) */

	/* Writer: sqlite and the keys, under wlock. */
	pthread_mutex_t wlock;
	sqlite3 *db;
	struct nstmts stm;
	struct njournal *jr; /* update log; NULL: sqlite fsyncs commits */
	/* With the log: commits that are durable there and in the index but
	 * not yet in sqlite, oldest first (dmp_nu_flush). */
	struct npend *pend, **pend_tail;
	atomic_uint n_pend;		     /* commits in pend */
	atomic_uint_fast64_t last_commit_ns; /* monotonic, of the last one */
	int flush_failed; /* the last dmp_nu_flush() failed */
	struct nkey *keys;
	size_t n_keys;
	int64_t data_version;
	uint64_t last_reap_s;

	struct rl *rl[2];    /* per transport; NULL: no limit */
	struct rl *claim_rl; /* per recipient hash (7.3) */
	struct rl *key_rl;   /* per TSIG key, UPDATEs; NULL: off */
	/* Storage budgets (node_ubudget.c), under wlock: un-TSIG'd claims
	 * per source prefix (NULL: off); when each refusal reason was last
	 * logged and how many since; when expired values were last pruned
	 * for room. */
	struct rl *claim_src_rl;
	uint64_t bud_log_s[DMP_NODE_REJ_MAX], bud_quiet[DMP_NODE_REJ_MAX];
	uint64_t bud_prune_s;
	/* MACs of the signed UPDATEs seen (wlock; dns/tsig_replay.c). */
	struct dmp_tsig_replay *replay;

	/* Counters, relaxed atomics (read by /metrics). */
	atomic_uint_fast64_t c_queries, c_updates, c_updates_ok;
	atomic_uint_fast64_t c_rcode[16];
	atomic_uint_fast64_t c_reject[DMP_NODE_REJ_MAX];
	/* Rate-limited UDP queries seen, for the TC slip (every 2nd). */
	atomic_uint_fast64_t rl_slip;
	atomic_uint_fast64_t c_lat[DMP_NODE_LAT_BUCKETS];
	atomic_uint_fast64_t c_lat_ns;	   /* sum */
	uint8_t xfr[DMP_NODE_MAX_XFR][17]; /* family, address */
	unsigned n_xfr;
	/* TCP connections refused and closed by reason, and open now
	 * (node_tcpconn.c; the server's TCP thread writes them). */
	atomic_uint_fast64_t c_tcp[DMP_NODE_TCP_EV_MAX];
	atomic_uint_fast64_t c_tcp_open;
	/* Anti-entropy (node_sync.c): refusals by reason, values stored. */
	atomic_uint_fast64_t c_sync[DMP_NODE_SYNC_REASON_MAX];
	atomic_uint_fast64_t c_sync_stored;
	/* Mesh discovery (node_discovery.c): peers known now, expired and
	 * rejected since start. */
	atomic_uint_fast64_t c_disc_known, c_disc_expired, c_disc_rejected;
	/* Relay links (node_mesh.c): the prober, or NULL; set and cleared
	 * by dmp_node_mesh_new/free, read by the HTTP side. */
	_Atomic(struct dmp_node_mesh *) mesh;
};

/* Handlers (node_query.c, node_update.c and its parts, node_xfr.c). */
struct qinfo {
	size_t qd_end; /* end of the question section */
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	size_t nlen;
	uint16_t qtype, qclass;
	int edns;
	uint16_t payload;
	uint8_t version;
	int do_bit;
};

/** Header, question and the RRs after it (OPT noted). FORMERR on error. */
int dmp_nq_parse_query(const uint8_t *q, size_t qlen, struct qinfo *qi);
struct dmp_wbuf;
/** SOA RR of @p z; owner a pointer to @p apex_off, or the full name if
 * @p apex_off is 0. */
void dmp_nq_put_soa(struct dmp_wbuf *w, const struct dmp_node *n,
		    const struct nzone *z, size_t apex_off, uint32_t serial);
const struct nzone *dmp_ni_zone_of(const struct dmp_node *n,
				   const uint8_t *name, size_t nlen);
int dmp_nq_query(struct dmp_node *n, const uint8_t *q, size_t qlen,
		 enum dmp_node_transport t, uint8_t *resp, size_t cap,
		 uint64_t now_ms);
/** UPDATEs in @p m, accepted ones committed in as few transactions as
 * possible (group commit). */
void dmp_nu_update_batch(struct dmp_node *n, struct dmp_node_msg *m,
			 size_t count, uint64_t now_ms);
/** Header-only (or header + question) error reply. */
int dmp_ni_error_reply(const uint8_t *q, size_t qlen, size_t qd_end, int rcode,
		       uint8_t *resp, size_t cap);
/** Parse opts.xfr_allow. @return 0 or DMP_EINVAL */
int dmp_nx_setup(struct dmp_node *n, const struct dmp_node_opts *o);
/* A logged commit waiting for sqlite. */
struct npend {
	struct npend *next;
	uint64_t now_ms;
	uint32_t serial;
	size_t n;
	struct nop ops[]; /* values owned */
};
/** Apply the pending commits to sqlite (wlock held). A failure leaves
 * them pending (they are in the log). @return 0 or DMP_ESTORE */
int dmp_nu_flush(struct dmp_node *n);
/** Drop the answered commits held for sqlite (after they are written, or
 *  at close, when the update log keeps them). */
void dmp_nu_pending_free(struct dmp_node *n);
/** With an update log: sync the store and empty the log (wlock held). */
int dmp_ni_log_checkpoint(struct dmp_node *n);
/** Load the key table into n->keys (wlock held). @return 0 or DMP_ESTORE */
int dmp_ni_keys_reload(struct dmp_node *n);
/** Re-read @p name from the store into the index (wlock held). */
int dmp_ni_refresh_name(struct dmp_node *n, const char *name,
			const uint8_t *wire, size_t wlen, uint64_t now_s);

/* ---- storage budgets (node_ubudget.c) ---- */

/** Default limits into @p o. */
void dmp_nu_budget_defaults(struct dmp_node_opts *o);
/** Cross-checks of the limits (logged). @return 0 or DMP_EINVAL */
int dmp_nu_budget_check(const struct dmp_node_opts *o);
/** New limits on a running node (wlock held); invalid ones are logged
 * and ignored. */
void dmp_nu_budget_reconfigure(struct dmp_node *n,
			       const struct dmp_node_opts *o);

/** A consistent copy of the reloadable options, from any thread. */
void dmp_ni_live_get(struct dmp_node *n, struct dmp_ni_live *out);

static inline void cnt_add(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/** Count a reply (RCODE) and the time since @p t0_ns (monotonic). */
void dmp_ni_count_reply(struct dmp_node *n, const uint8_t *resp, int len,
			uint64_t t0_ns);
uint64_t dmp_ni_mono_ns(void);
/** Ops outside DNS (HTTP record API, heartbeat): caps and one commit as
 * an UPDATE (wlock taken here). A lone delete of nothing gives
 * DMP_DNS_RCODE_NXDOMAIN. Takes the ops' values. @p why (may be NULL)
 * gets the DMP_NODE_REJ_* reason of a refusal, else -1. @return an RCODE */
int dmp_nu_write_op(struct dmp_node *n, struct nop *ops, size_t cnt,
		    uint64_t now_ms, int *why);
/** dmp_nu_write_op() for a writer without a TSIG key, @p tag (e.g.
 * "relay:<16 hex of sender_spk>"; NULL: as dmp_nu_write_op): its values
 * carry the tag and count against limits.foreign_* at every name. */
int dmp_nu_write_as(struct dmp_node *n, struct nop *ops, size_t cnt,
		    const char *tag, uint64_t now_ms, int *why);
/** DMP-RELAY/1 relay_accept own (8.7.3): 1 if a key registered here has
 * the scope mb-@p mb12.@p zone (the recipient, 7.2's X25519 proof) or
 * _dnsmesh-claim-@p spk16.@p zone (the sender); takes wlock. */
int dmp_nu_relay_owned(struct dmp_node *n, const char *zone, const char *mb12,
		       const char *spk16);
/** Fill @p op (no value yet) for owner @p name; 0 or DMP_EINVAL when the
 * name is not LDH or not in a served zone. */
int dmp_ni_op_init(const struct dmp_node *n, struct nop *op, enum nop_kind k,
		   const char *name, uint32_t ttl);

/* TSIG on queries and zone transfers (node_xfr.c, over dns/tsig.h). */
struct xfr_tsig;
/**
 * Look for a TSIG on a QUERY (AXFR or not). @return 0 none (AXFR: go by
 * address), 1 valid, and for @p for_xfr the key is in opts.xfr_keys (*out
 * signs the reply), -1 bad or not allowed: the error reply is in
 * resp[0..*resp_len), or DMP_ENOMEM.
 */
int dmp_nx_tsig_check(struct dmp_node *n, const uint8_t *q, size_t qlen,
		      size_t qd_end, int for_xfr, uint64_t now_s,
		      struct xfr_tsig **out, uint8_t *resp, size_t cap,
		      size_t *resp_len);
/** The client's serial in an IXFR query (RFC 1995 3): the SOA of @p zone
 * in the authority section. @return 0, DMP_ENOENT (none), DMP_EMALFORMED */
int dmp_nx_ixfr_serial(const uint8_t *q, size_t qlen, size_t qd_end,
		       const uint8_t *zone, uint32_t *serial);
/** RFC 1982 3.2: serial @p a is less than @p b. */
static inline int dmp_ni_serial_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(b - a) > 0;
}
/** Append the TSIG to one message of the transfer (5.3.1 chaining). */
int dmp_nx_tsig_sign(struct xfr_tsig *x, uint8_t *msg, size_t *len, size_t cap,
		     uint64_t now_s);
void dmp_nx_tsig_free(struct xfr_tsig *x);
/** Append the TSIG of a reply to the request TSIG @p ts: signed with @p k,
 * or unsigned for @p k NULL (RFC 8945 5.3.2). */
int dmp_nx_tsig_reply(uint8_t *resp, size_t *len, size_t cap,
		      const struct nkey *k, const struct dmp_tsig_rr *ts,
		      uint16_t error, uint64_t now_s);
/** The key named @p name (lower-case wire), or NULL (wlock held). */
const struct nkey *dmp_nu_find_key(const struct dmp_node *n,
				   const uint8_t *name, size_t nlen);

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif /* DMP_NODE_I_H */
