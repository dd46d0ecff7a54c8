/*
 * core/include/dmp/node.h - the storage node engine: a durable sqlite store
 * (PROTOCOL.md 7.5), an in-memory index that answers every query, and the
 * DNS packet handler: authoritative QUERY (EDNS0, TC, RFC 2308/8020
 * negative answers), RFC 2136 UPDATE with RFC 8945 TSIG in the order of
 * PROTOCOL.md 7.1 (group-committed in batches), per-IP rate limits, AXFR
 * out and NOTIFY for secondaries.
 *
 * Threads: every entry point may run on any number of threads at once.
 * Queries only take a read lock on the in-memory index for the time of one
 * lookup and copy, never touching sqlite; UPDATEs serialise on the writer
 * (sqlite) and take the index write lock only to swap in committed rows.
 */
#ifndef DMP_NODE_H
#define DMP_NODE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dmp/cluster.h"
#include "dmp/common.h"

#define DMP_NODE_MAX_ZONES 8
#define DMP_NODE_MAX_NS 4
#define DMP_NODE_MAX_ADDRS 4
#define DMP_NODE_NAME_MAX 256 /* presentation form, NUL included */
#define DMP_NODE_MAX_SCOPES 16
#define DMP_NODE_MAX_XFR 8

/* PROTOCOL.md 7.5 defaults. */
#define DMP_NODE_DNS_TTL 60
/* Default TTL of mailbox answers that change while clients poll them
 * (negatives for slot-*, claim-*, chunk-*, mb-*; slot and claim RRsets): a
 * recursive resolver must not hide a message for the zone's 60 s. */
#define DMP_NODE_MAILBOX_TTL 2
#define DMP_NODE_MAX_TTL 604800
#define DMP_NODE_MAX_VALUE_BYTES 2048
#define DMP_NODE_MAX_VALUES_PER_NAME 64
/* RFC 8945 6: the fudge the reference writer uses (7.1). */
#define DMP_NODE_TSIG_FUDGE 300
/* DNS flag day 2020 UDP payload default (RFC 6891 6.2.5). */
#define DMP_NODE_EDNS_UDP_MAX 1232

/* PROTOCOL.md 7.3: who may send un-TSIG'd claim UPDATEs. */
enum dmp_node_claim_mode {
	DMP_NODE_CLAIM_OFF = 0,
	/* DMP_CLAIM_PROVIDER: claims for any recipient hash. */
	DMP_NODE_CLAIM_PROVIDER = 1,
	/* DMP_RECEIVER_CLAIM_NOTIFICATIONS only: claims for recipients
	 * registered here, i.e. whose mb-<hash>.<zone> is a key's scope. */
	DMP_NODE_CLAIM_RECEIVER = 2,
};
/* 7.3: per recipient hash, 0.5/s with a burst of 30. */
#define DMP_NODE_CLAIM_RATE 0.5
#define DMP_NODE_CLAIM_BURST 30
/* 7.3: a claim lives at most a day, and so does its DNS TTL. */
#define DMP_NODE_CLAIM_MAX_LIFE 86400

enum dmp_node_transport {
	DMP_NODE_UDP = 0,
	DMP_NODE_TCP = 1,
};

/** Zone served by the node; empty strings take defaults from the apex. */
struct dmp_node_zone {
	char name[DMP_NODE_NAME_MAX];  /* e.g. "mesh.test" */
	char mname[DMP_NODE_NAME_MAX]; /* SOA MNAME; default ns1.<zone> */
	char
	    rname[DMP_NODE_NAME_MAX]; /* SOA RNAME; default hostmaster.<zone> */
	char ns[DMP_NODE_MAX_NS][DMP_NODE_NAME_MAX]; /* default: mname */
	unsigned n_ns;
	uint8_t a[DMP_NODE_MAX_ADDRS][4]; /* apex A */
	unsigned n_a;
	uint8_t aaaa[DMP_NODE_MAX_ADDRS][16]; /* apex AAAA */
	unsigned n_aaaa;
};

struct dmp_node_opts {
	const char *db_path; /* borrowed for dmp_node_new(); ":memory:" ok */
	struct dmp_node_zone zones[DMP_NODE_MAX_ZONES];
	unsigned n_zones;
	uint32_t answer_ttl; /* TTL of every answer (DMP_DNS_TTL) */
	/* TTL of slot-* and claim-* TXT answers (RRsets that grow while
	 * clients poll them), at most answer_ttl; AXFR keeps answer_ttl. */
	uint32_t answer_ttl_mailbox;
	uint32_t negative_ttl; /* SOA MINIMUM (RFC 2308) */
	/* TTL of the SOA in NXDOMAIN/NODATA answers for mailbox names
	 * (slot-*, claim-*, chunk-* labels); resolvers cache those negatives
	 * for min(this, negative_ttl) (RFC 2308 5). The SOA's RDATA (and
	 * AXFR) is unchanged. */
	uint32_t negative_ttl_mailbox;
	uint32_t max_ttl;
	uint32_t max_value_bytes;
	uint32_t max_values_per_name;
	uint16_t edns_udp_max;	/* our UDP payload cap, >= 512 */
	int update_enabled;	/* 0: every UPDATE is REFUSED */
	uint32_t reap_interval; /* seconds between reaps (7.5: 60) */
	uint32_t rate_limit;	/* per source IP and transport, queries/s;
				   0: off (7.5 default 50) */
	uint32_t rate_burst;	/* bucket size (7.5 default 200) */
	/* IP addresses (no port) allowed to AXFR over TCP; none: REFUSED. */
	char xfr_allow[DMP_NODE_MAX_XFR][64];
	unsigned n_xfr_allow;
	/* TSIG keys (names in the key table) allowed to AXFR from anywhere;
	 * the transfer is then signed (RFC 8945 5.3.1). */
	char xfr_keys[DMP_NODE_MAX_XFR][DMP_NODE_NAME_MAX];
	unsigned n_xfr_keys;
	/* Change journal behind IXFR (RFC 1995): the newest changes kept,
	 * at most this many (0: none, every IXFR is answered with the full
	 * zone) and this many bytes of RRs; persisted in the database. */
	uint32_t xfr_journal_changes; /* DMP_NODE_XFR_JOURNAL_CHANGES */
	uint64_t xfr_journal_bytes;   /* DMP_NODE_XFR_JOURNAL_BYTES */
	int claim_mode;		      /* enum dmp_node_claim_mode (7.3) */
	double claim_rate; /* per recipient hash, UPDATEs/s; <= 0: off */
	uint32_t claim_burst;
	/* Per TSIG key token bucket for UPDATEs (abuse resistance: a leaked
	 * or greedy key cannot monopolise the write path); 0: off. */
	double key_write_rate; /* UPDATEs/s per key */
	uint32_t key_write_burst;
	/* Live values a TSIG key may own (last writer owns); 0: off. */
	uint32_t key_quota;
	/* Slots of the cache of signed UPDATE MACs that refuses replays
	 * (24 bytes each, rounded up to a power of two, 1024..2^24); half
	 * full is the most that can be counted on before a request is
	 * refused as replay_full. 0: DMP_NODE_REPLAY_CACHE. */
	uint32_t replay_cache;
	/* Update log (borrowed for dmp_node_new()): each UPDATE is made
	 * durable by one small synchronous write there, and sqlite commits
	 * without an fsync of its own; records since the last checkpoint are
	 * replayed at the next start. NULL or "": off (sqlite fsyncs each
	 * commit). Held by one process at a time (flock). */
	const char *update_log;
	uint64_t update_log_bytes; /* its size; 0: DMP_NODE_UPDATE_LOG_BYTES */
	/* 1: the store must exist (DMP_ENOENT otherwise), as for commands
	 * that only read or remove; 0: created, mode 0600, when missing. */
	int db_must_exist;
	/* Per-address limits (DNS rate limits, and the HTTP side's rate
	 * and connection limits) key an address by this many leading bits:
	 * IPv4 1..32 (default 32), IPv6 1..128 (default 56, one customer's
	 * site; a /64 holder has 2^64 addresses). 0: the default. */
	unsigned rate_v4_prefix;
	unsigned rate_v6_prefix;
	/* Storage budgets (docs/security.md 7.7). Bytes are those of the
	 * TXT RRs as answered: 12 + RDATA (the value plus one length byte
	 * per 255) per value. At a node-wide cap, expired values are pruned
	 * first (at most once a second); then new values are REFUSED,
	 * nothing stored is evicted. */
	uint64_t store_bytes_max;  /* every value held */
	uint64_t store_values_max; /* values held */
	uint64_t claim_bytes_max;  /* values at claim-* names */
	uint64_t claim_values_max;
	/* At one name, <= DMP_NODE_NAME_BYTES_FIT: every RRset fits one
	 * TCP answer. */
	uint32_t name_bytes_max;
	/* What one writer (TSIG key; for un-TSIG'd claims, the source
	 * prefix) may hold at a name it does not own, i.e. one no scope of
	 * its without '*' covers (someone else's slot or claim name); bytes
	 * below name_bytes_max, so that others' mail still fits. */
	uint32_t foreign_values_max;
	uint32_t foreign_bytes_max;
	/* Un-TSIG'd claims per source: v4 /prefix4 (32), v6 /prefix6 (56,
	 * as the rate limits: an ISP's customer holds a /56 or /64); rate
	 * <= 0: off. */
	double claim_source_rate; /* UPDATEs/s */
	uint32_t claim_source_burst;
	uint8_t claim_source_prefix4, claim_source_prefix6;
};

#define DMP_NODE_RATE_V4_PREFIX 32
#define DMP_NODE_RATE_V6_PREFIX 56

/* Storage budget defaults (docs/security.md 7.7). */
#define DMP_NODE_STORE_BYTES (256ull << 20)
#define DMP_NODE_STORE_VALUES 1000000u
#define DMP_NODE_CLAIM_BYTES (32ull << 20)
#define DMP_NODE_CLAIM_VALUES 100000u
/* The most TXT RR bytes one name may hold so that the whole RRset fits
 * one TCP answer (65535 bytes) for any owner and any request: 12 header,
 * 259 question (a 255-byte name, type, class), 11 OPT, 326 the TSIG of a
 * signed reply (255-byte key name, 10, hmac-sha256 13, time 6, fudge 2,
 * MAC size 2, MAC 32, id 2, error 2, other length 2). */
#define DMP_NODE_NAME_BYTES_FIT (65535 - 12 - 259 - 11 - 326)
#define DMP_NODE_FOREIGN_VALUES 16u
#define DMP_NODE_FOREIGN_BYTES 20480u
#define DMP_NODE_CLAIM_SOURCE_RATE 2.0
#define DMP_NODE_CLAIM_SOURCE_BURST 100u

/** Default replay cache: 2^18 slots, 6 MiB, some 120,000 live
 * signed UPDATEs within their windows (time_signed + fudge). */
#define DMP_NODE_REPLAY_CACHE (1u << 18)

/** Default size of the update log (written in full when created). */
#define DMP_NODE_UPDATE_LOG_BYTES (4u * 1024 * 1024)
/* Default limits of the IXFR change journal (opts.xfr_journal_*). */
#define DMP_NODE_XFR_JOURNAL_CHANGES 1000u
#define DMP_NODE_XFR_JOURNAL_BYTES (16u * 1024 * 1024)

struct dmp_node;

/** Fill @p o with the PROTOCOL.md 7.5 defaults and no zones. */
void dmp_node_opts_init(struct dmp_node_opts *o);

/**
 * Open (creating if needed, mode 0600) the store at @p o->db_path and build the
 * in-memory index from its live rows.
 * @param[out] out  new node owned by the caller (dmp_node_free()); NULL on
 *                  failure
 * @param now_ms    wall clock in ms; rows expired by then are not indexed
 * With @p o->update_log, its records are applied first (a log held by
 * another process is logged and left alone: this node then fsyncs every
 * commit).
 * @return 0, DMP_EINVAL (bad zone name or option), DMP_ESTORE, DMP_ENOMEM,
 *         DMP_EIO or DMP_EMALFORMED (update log unreadable or not one),
 *         DMP_ENOENT (no store and @p o->db_must_exist)
 */
DMP_MUST_CHECK int dmp_node_new(struct dmp_node **out,
				const struct dmp_node_opts *o, uint64_t now_ms);

/** Close the store and free everything. NULL: no-op. */
void dmp_node_free(struct dmp_node *n);

/**
 * Answer one DNS message. Thread-safe.
 * @param q, qlen    the request as received (TCP: without the length prefix)
 * @param peer       source address for the per-IP rate limit (PROTOCOL.md
 *                   7.1 step 1); NULL: not limited
 * @param resp, cap  output; cap of at least 512 (UDP) or 65535 (TCP) lets
 *                   every answer fit up to the transport's limit
 * @param now_ms     wall clock in ms (expiry, TSIG time, stored_ts)
 * @return reply length, 0 when no reply is due (not a request, shorter
 *         than a header, or over the rate limit: dropped as the reference
 *         does), or DMP_ENOBUFS if @p cap < 512
 */
int dmp_node_handle(struct dmp_node *n, const uint8_t *q, size_t qlen,
		    enum dmp_node_transport t, const struct sockaddr *peer,
		    uint8_t *resp, size_t cap, uint64_t now_ms);

/** One message for dmp_node_handle_batch(). */
struct dmp_node_msg {
	const uint8_t *q; /* in: request, borrowed */
	size_t qlen;
	uint8_t *resp; /* in: reply buffer, >= 512 bytes */
	size_t cap;
	int resp_len;		     /* out: as dmp_node_handle() returns */
	const struct sockaddr *peer; /* in: source for the rate limit, or
					NULL */
};

/**
 * Answer several messages at once, as dmp_node_handle() would one by one,
 * except that the UPDATEs among them that pass every check are committed
 * together in as few sqlite transactions as possible (group commit: one
 * fsync for the lot). Every reply is written only after its commit.
 * Thread-safe.
 */
void dmp_node_handle_batch(struct dmp_node *n, struct dmp_node_msg *m,
			   size_t count, enum dmp_node_transport t,
			   uint64_t now_ms);

/** 1 if @p q is an RFC 2136 UPDATE request (opcode 5, QR clear): what a
 * server may hand to a writer thread and dmp_node_handle_batch(). */
int dmp_node_is_update(const uint8_t *q, size_t qlen);

/** Receives each message of a streamed answer; non-zero return stops. */
typedef int (*dmp_node_out_fn)(const uint8_t *msg, size_t len, void *ud);

/**
 * TCP entry point: like dmp_node_handle(DMP_NODE_TCP), except that a zone
 * transfer (AXFR, and IXFR answered in AXFR form, RFC 1995 4) from an
 * address in opts.xfr_allow is streamed as several messages (RFC 5936):
 * SOA, NS, apex A/AAAA, every live TXT RR, SOA. The zone is copied under
 * the index read lock, so the transfer is one consistent version.
 * @return 0, or what @p out returned, or DMP_ENOMEM
 */
int dmp_node_handle_stream(struct dmp_node *n, const uint8_t *q, size_t qlen,
			   const struct sockaddr *peer, dmp_node_out_fn out,
			   void *ud, uint64_t now_ms);

/**
 * Build a NOTIFY (RFC 1996) for zone number @p zone (index into
 * opts.zones), to tell secondaries that the serial moved.
 * @return message length, DMP_EINVAL (no such zone) or DMP_ENOBUFS
 */
int dmp_node_notify_msg(struct dmp_node *n, unsigned zone, uint16_t id,
			uint8_t *buf, size_t cap);

/**
 * With an update log: write the UPDATEs already answered (durable in the
 * log, visible to queries) into sqlite, all in one transaction. The
 * server calls this after its replies: it then flushes once @p min
 * commits wait or none came for @p idle_ns, so that this work is off the
 * acknowledgement's path and amortised. Every entry point that reads
 * records from sqlite flushes first itself, and dmp_node_maintain() does
 * every tick. Thread-safe; cheap when there is nothing to do.
 * @param min      flush at this many commits waiting; 0: whatever waits
 * @param idle_ns  with fewer than @p min: flush once none came for this
 * @return 0 or DMP_ESTORE (the commits stay pending, and new UPDATEs are
 *         answered SERVFAIL until they go through)
 */
int dmp_node_flush(struct dmp_node *n, unsigned min, uint64_t idle_ns);

/** Commits answered but not yet in sqlite (see dmp_node_flush()). */
unsigned dmp_node_pending(struct dmp_node *n);

/** Number of zones served. */
unsigned dmp_node_zone_count(const struct dmp_node *n);

/**
 * Periodic upkeep; call about once a second. Reloads the TSIG keys when
 * another process (dmp-node key ...) changed the database, and every
 * reap_interval seconds (and on the first call) deletes expired rows from
 * the store and drops them from the index. Thread-safe.
 * @return rows deleted, or DMP_ESTORE
 */
int dmp_node_maintain(struct dmp_node *n, uint64_t now_ms);

/**
 * Apply what may change on a running node (SIGHUP): the write caps,
 * update_enabled, the claim mode and rate, and the per-IP rates (a limit
 * that was off stays off until a restart, and the reverse); then reload
 * the TSIG keys. Zones, the database, answer TTLs and xfr_allow need a
 * restart and are ignored here. Thread-safe.
 * @return 0 or DMP_ESTORE (keys)
 */
int dmp_node_reconfigure(struct dmp_node *n, const struct dmp_node_opts *o);

/** Current SOA serial (for logs and tests). */
uint32_t dmp_node_serial(struct dmp_node *n);

/* TSIG keys (hmac-sha256), kept in the node database. */

/**
 * Add or replace key @p name with @p scopes (owner suffixes, see
 * PROTOCOL.md 7.1 "Key scope"). A running node picks the key up within
 * one dmp_node_maintain() tick.
 * @param name    key name, presentation form (trailing dot optional)
 * @param secret  raw secret bytes (1..64)
 * @return 0, DMP_EINVAL or DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_node_key_add(struct dmp_node *n, const char *name,
				    const uint8_t *secret, size_t secret_len,
				    const char *const *scopes, size_t n_scopes,
				    uint64_t now_ms);

/**
 * Mint a key for `dmp-node key add`: a random 32-byte secret stored for
 * @p name (lower case, no trailing dot) with @p scopes (at least one),
 * and in @p line "hmac-sha256:<name>:<base64 secret>", what nsupdate -y
 * and kdig -y take. @p line holds the secret: the caller wipes it.
 * @return 0, DMP_EINVAL, DMP_ENOBUFS (@p cap), DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_node_key_mint(struct dmp_node *n, const char *name,
				     const char *const *scopes, size_t n_scopes,
				     char *line, size_t cap, uint64_t now_ms);

/** Remove key @p name. @return 0, DMP_ENOENT or DMP_ESTORE */
DMP_MUST_CHECK int dmp_node_key_revoke(struct dmp_node *n, const char *name);

/** One key as listed by dmp_node_key_list(); strings borrowed for the call. */
typedef void (*dmp_node_key_fn)(const char *name, const char *algorithm,
				const char *scopes_csv, uint64_t created_s,
				void *ud);

/** Call @p fn for every key, by name. @return 0 or DMP_ESTORE */
int dmp_node_key_list(struct dmp_node *n, dmp_node_key_fn fn, void *ud);

#define DMP_NODE_TOKEN_LEN 64 /* hex characters */

/**
 * Mint a Bearer token for the multi-tenant record API (PROTOCOL.md 7.4):
 * it may write only owners within @p scopes (same matching as TSIG key
 * scopes). Only its SHA-256 is stored; adding @p name again replaces it.
 * @param token  out: the token, NUL terminated; shown once
 * @return 0, DMP_EINVAL (bad name, no or bad scopes) or DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_node_token_add(struct dmp_node *n, const char *name,
				      const char *const *scopes,
				      size_t n_scopes,
				      char token[DMP_NODE_TOKEN_LEN + 1],
				      uint64_t now_ms);

/** Remove token @p name. @return 0, DMP_ENOENT or DMP_ESTORE */
DMP_MUST_CHECK int dmp_node_token_revoke(struct dmp_node *n, const char *name);

/** Call @p fn for every token (algorithm "bearer"). @return 0 or
 * DMP_ESTORE */
int dmp_node_token_list(struct dmp_node *n, dmp_node_key_fn fn, void *ud);

/**
 * Does key scope @p scope (one suffix, lower case, '*' matching within one
 * label) cover owner @p owner? Exposed for tests.
 * @return 1 or 0
 */
int dmp_node_scope_match(const char *scope, const char *owner);

/* ---- TCP connections (node_tcpconn.c) ----
 * The state of the server's TCP connections as pure logic with an explicit
 * clock, so that tests and the fuzzer run the code the server runs: RFC
 * 7766 framing across partial reads, and the limits that keep one client
 * from starving, bloating or filling the TCP side (docs/security.md 7.5):
 * a bounded turn of work per connection per wake-up, a cap on unsent
 * reply bytes (reading stops above it; closed when it stays above), a
 * deadline for each message and an idle timeout only whole messages
 * reset, a per-address connection limit, and at the total cap a fair
 * share per address: the address holding the most connections gives one
 * up to a newcomer from an address holding at least two fewer (else a
 * connection idle past DMP_NODE_TCP_EVICT_GRACE_MS of an address holding
 * more than the newcomer's does). The caller does the
 * I/O (sockets, epoll) and answers the messages. Not thread-safe: one
 * table per thread. */

#define DMP_NODE_TCP_MAX_CLIENTS 256
#define DMP_NODE_TCP_PER_ADDRESS 16
#define DMP_NODE_TCP_IDLE_MS 10000
#define DMP_NODE_TCP_MESSAGE_MS 3000
#define DMP_NODE_TCP_QUERIES_PER_TURN 32
#define DMP_NODE_TCP_OUTPUT_MAX 65536
#define DMP_NODE_TCP_OUTPUT_MS 5000
/* Unless its address holds the most connections, a connection younger
 * than this, or that completed a message within it, is never closed to
 * make room for a new one. */
#define DMP_NODE_TCP_EVICT_GRACE_MS 1000

struct dmp_node_tcp_opts {
	uint32_t max_clients; /* connections at once, 1..65536 */
	/* Connections per IPv4 address or IPv6 prefix; 0: no limit. */
	uint32_t per_address;
	/* Leading bits that make one address: IPv4 1..32, IPv6 1..128
	 * (default: the rate limiter's, DMP_NODE_RATE_V4/V6_PREFIX). */
	uint32_t v4_prefix, v6_prefix;
	/* No whole message and no reply pending for this long: closed. Only
	 * whole messages reset it (RFC 7766 6.2.3). */
	uint32_t idle_ms;
	/* A message begun (first byte of its length) must be whole within
	 * this (slow senders). Paused while reading is stopped. */
	uint32_t message_ms;
	/* Whole messages answered per connection per turn (round robin). */
	uint32_t queries_per_turn;
	/* Unsent reply bytes above which the connection is not read, and
	 * the time it may stay there, or keep replies unsent without any
	 * byte going out, before it is closed. */
	uint32_t output_max;
	uint32_t output_ms;
};

/** Why a connection was refused or closed, for /metrics and the log. */
enum dmp_node_tcp_event {
	DMP_NODE_TCP_REF_ADDRESS = 0, /* refused: per_address reached */
	DMP_NODE_TCP_REF_FULL,	      /* refused: max_clients, none to take */
	DMP_NODE_TCP_EVICTED,	      /* closed to make room for a new one */
	DMP_NODE_TCP_IDLE,	      /* closed: idle_ms */
	DMP_NODE_TCP_SLOW,	      /* closed: message_ms */
	DMP_NODE_TCP_OUTPUT,	      /* closed: output_max / output_ms */
	DMP_NODE_TCP_MALFORMED,	      /* closed: message under 12 bytes */
	DMP_NODE_TCP_EV_MAX
};

/* dmp_node_tcp_want() bits. */
#define DMP_NODE_TCP_WANT_READ 1u  /* room to read and allowed to */
#define DMP_NODE_TCP_WANT_WRITE 2u /* replies wait to be sent */
#define DMP_NODE_TCP_WANT_TURN                                                 \
	4u /* a whole message waits: serve it                                  \
	      without waiting for the socket */

struct dmp_node_tcp;

/** Defaults: the DMP_NODE_TCP_* values above. */
void dmp_node_tcp_opts_init(struct dmp_node_tcp_opts *o);

/**
 * New, empty table. @p n (borrowed, may be NULL) gets the counters of
 * dmp_node_tcp_stats() (for /metrics); refusals and closes are logged,
 * one line per reason per 10 s at most.
 * @return 0, DMP_EINVAL (an option out of range) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_node_tcp_new(struct dmp_node_tcp **out,
				    const struct dmp_node_tcp_opts *o,
				    struct dmp_node *n);

/** Free the table and every connection's buffers. NULL: no-op. */
void dmp_node_tcp_free(struct dmp_node_tcp *t);

/**
 * Admit a connection from @p peer (AF_INET or AF_INET6; another family
 * counts as one address) at @p now_ms.
 * @param[out] evicted  1 when slot @return held a connection that was
 *                      closed to make room (the caller closes its socket
 *                      first), else 0
 * @return slot id in [0, max_clients), or DMP_EBUSY (refused: close it)
 */
int dmp_node_tcp_open(struct dmp_node_tcp *t, const struct sockaddr *peer,
		      uint64_t now_ms, int *evicted);

/** Forget connection @p id (the peer closed, or an I/O error). */
void dmp_node_tcp_close(struct dmp_node_tcp *t, unsigned id);

/** DMP_NODE_TCP_WANT_* for connection @p id. */
unsigned dmp_node_tcp_want(const struct dmp_node_tcp *t, unsigned id);

/**
 * Where to read into, or NULL (*cap 0) when @p id must not be read now
 * (its replies are over output_max, or whole messages fill its buffer).
 * @return the buffer; then dmp_node_tcp_rdone() with what was read
 * (DMP_ENOMEM: NULL and *cap 0 as well, the caller closes)
 */
uint8_t *dmp_node_tcp_rbuf(struct dmp_node_tcp *t, unsigned id, size_t *cap);
void dmp_node_tcp_rdone(struct dmp_node_tcp *t, unsigned id, size_t len,
			uint64_t now_ms);

/**
 * Start a turn of connection @p id: dmp_node_tcp_next() then hands out
 * at most queries_per_turn messages.
 */
void dmp_node_tcp_turn(struct dmp_node_tcp *t, unsigned id);

/**
 * The next whole message of this turn (without its length prefix,
 * borrowed until the next call for @p id).
 * @return 1 (message), 0 (none: turn used up, no whole message, or
 *         replies over output_max), DMP_EMALFORMED (shorter than a DNS
 *         header: counted and closed, the caller closes its socket)
 */
int dmp_node_tcp_next(struct dmp_node_tcp *t, unsigned id, const uint8_t **msg,
		      size_t *len, uint64_t now_ms);

/** Queue reply @p msg (the length prefix is added). @return 0,
 * DMP_EINVAL (over 65535 bytes) or DMP_ENOMEM */
int dmp_node_tcp_reply(struct dmp_node_tcp *t, unsigned id, const uint8_t *msg,
		       size_t len);

/** Replies waiting to be sent (*len 0: none); dmp_node_tcp_wdone() with
 * what went out. */
const uint8_t *dmp_node_tcp_wbuf(const struct dmp_node_tcp *t, unsigned id,
				 size_t *len);
void dmp_node_tcp_wdone(struct dmp_node_tcp *t, unsigned id, size_t len,
			uint64_t now_ms);

/**
 * Connections past a deadline at @p now_ms (idle_ms, message_ms,
 * output_ms), counted and forgotten: their ids in @p ids (at most @p cap
 * of them; call again while it returns @p cap) for the caller to close.
 * @return how many
 */
size_t dmp_node_tcp_expire(struct dmp_node_tcp *t, uint64_t now_ms,
			   unsigned *ids, size_t cap);

/** Open connections now. */
unsigned dmp_node_tcp_count(const struct dmp_node_tcp *t);

/** Counters of dmp_node_tcp_event (since the node started, every table
 * of @p n together) and the connections open now. Thread-safe. */
void dmp_node_tcp_stats(struct dmp_node *n, uint64_t ev[DMP_NODE_TCP_EV_MAX],
			uint64_t *open);

/* ---- counters (for /metrics) ---- */

/** Why an UPDATE was not applied. */
enum dmp_node_reject {
	DMP_NODE_REJ_FORMERR = 0, /* malformed UPDATE */
	DMP_NODE_REJ_TSIG,	  /* unknown key, bad MAC, bad time */
	DMP_NODE_REJ_UNSIGNED,	  /* no TSIG, and not a claim (7.3) */
	DMP_NODE_REJ_DISABLED,	  /* update_enabled off */
	DMP_NODE_REJ_ZONE,	  /* zone not served / owner outside it */
	DMP_NODE_REJ_CAPS,	  /* 7.5 caps, or names/values DMP never uses */
	DMP_NODE_REJ_SCOPE,	  /* outside the key's scope */
	DMP_NODE_REJ_CLAIM_RATE,  /* claim bucket empty (7.3) */
	DMP_NODE_REJ_STORE,	  /* sqlite failed */
	DMP_NODE_REJ_RATE,	  /* per-IP limit: request dropped */
	DMP_NODE_REJ_KEY_RATE,	  /* per-key write bucket empty: REFUSED */
	DMP_NODE_REJ_QUOTA,	  /* the key owns key_quota values: REFUSED */
	DMP_NODE_REJ_REPLAY,	  /* signed UPDATE seen before: NOTAUTH */
	DMP_NODE_REJ_REPLAY_FULL, /* replay cache full there: NOTAUTH */
	/* Storage budgets (7.7), all REFUSED: */
	DMP_NODE_REJ_STORE_FULL,   /* store_bytes/values_max reached */
	DMP_NODE_REJ_CLAIMS_FULL,  /* claim_bytes/values_max reached */
	DMP_NODE_REJ_NAME_BYTES,   /* name_bytes_max at the name */
	DMP_NODE_REJ_FOREIGN,	   /* the writer's foreign_* at the name */
	DMP_NODE_REJ_CLAIM_SOURCE, /* claim_source_rate of the source */
	DMP_NODE_REJ_MAX
};

/** Latency histogram upper bounds in seconds (the last bucket is +Inf). */
#define DMP_NODE_LAT_BUCKETS 12
extern const double dmp_node_lat_bounds[DMP_NODE_LAT_BUCKETS - 1];

struct dmp_node_stats {
	uint64_t queries; /* opcode QUERY requests answered or dropped */
	uint64_t updates; /* UPDATE requests */
	uint64_t updates_ok;
	uint64_t rcode[16]; /* replies by RCODE (low 4 bits) */
	uint64_t reject[DMP_NODE_REJ_MAX];
	uint64_t lat[DMP_NODE_LAT_BUCKETS]; /* per bucket, not cumulative */
	uint64_t lat_count;
	double lat_sum;	      /* seconds */
	uint64_t names, rows; /* live in the index */
	uint64_t store_bytes; /* sqlite pages in use, WAL excluded */
	uint32_t serial;
	uint32_t keys;
	/* Storage budgets (7.7): held in the index, expired values
	 * included until reaped. */
	uint64_t held_values, held_bytes, claim_values, claim_bytes;
};

/** Snapshot the counters; thread-safe. */
void dmp_node_stats_get(struct dmp_node *n, struct dmp_node_stats *s);

/* ---- HTTP side (libmicrohttpd): /health, /metrics, the legacy record
 * API (PROTOCOL.md 7.4) and TSIG registration (7.2) ---- */

/* Who may POST and DELETE through the record API (7.4). Never decided by
 * the peer's address: behind a reverse proxy every client is loopback. */
enum dmp_node_http_auth {
	DMP_NODE_HTTP_OFF = 0,	  /* the record API answers 404 (default) */
	DMP_NODE_HTTP_LEGACY = 1, /* one shared Bearer token */
	DMP_NODE_HTTP_MULTI = 2,  /* per-user scoped tokens (token_add) */
	/* No authentication at all: whoever reaches the socket (every local
	 * user, every client of a proxy in front). Explicit opt-in, loopback
	 * listener only, never with trusted proxies; logged loudly. */
	DMP_NODE_HTTP_UNAUTH = 3,
};

/* 7.5: HTTP 10/s with a burst of 100 per IP; 7.2: 5 per hour per IP. */
#define DMP_NODE_HTTP_RATE 10
#define DMP_NODE_HTTP_BURST 100
#define DMP_NODE_REG_PER_HOUR 5
#define DMP_NODE_REG_CHALLENGE_LIFE 60	     /* s, 7.2 */
#define DMP_NODE_REG_KEY_LIFE (90u * 86400u) /* s, 7.2 */
#define DMP_NODE_HTTP_MAX_BODY 65536
#define DMP_NODE_REG_MAX_ALLOW 16
/* Connection limits and deadlines (docs/security.md 7.6). */
#define DMP_NODE_HTTP_MAX_CONNS 256
#define DMP_NODE_HTTP_MAX_CONNS_PER_ADDR 8
#define DMP_NODE_HTTP_IDLE_TIMEOUT 10	 /* s without a byte */
#define DMP_NODE_HTTP_REQUEST_TIMEOUT 10 /* s for a whole exchange */
#define DMP_NODE_HTTP_CONN_MEMORY 16384	 /* bytes per connection */
#define DMP_NODE_HTTP_MAX_PROXIES 8

/* ---- DMP-RELAY/1 endpoint (docs/protocol.md 8.7; mesh.relay_*) ---- */

/* Who may have relayed bundles stored in this node's zones (8.7.3). */
enum dmp_node_relay_accept {
	DMP_NODE_RELAY_OWN = 0, /* a mailbox or sender registered here */
	DMP_NODE_RELAY_ANY = 1, /* every bundle that verifies */
	DMP_NODE_RELAY_OFF = 2, /* none: 403 */
};
#define DMP_NODE_RELAY_MAX_HOPS 5	       /* mesh.max_hops, 1..16 */
#define DMP_NODE_RELAY_SOURCE_RATE 2.0	       /* bundles/s per source */
#define DMP_NODE_RELAY_SOURCE_BURST 20.0       /* per source */
#define DMP_NODE_RELAY_SENDER_RATE 0.5	       /* bundles/s per sender key */
#define DMP_NODE_RELAY_SENDER_BURST 30.0       /* per sender key */
#define DMP_NODE_RELAY_SENDER_BYTES (1u << 20) /* values per sender key */
#define DMP_NODE_RELAY_DUP_MAX 65536	       /* bundle ids remembered */

struct dmp_node_relay_opts {
	int enabled;	       /* mesh.relay_enabled; 0: 403 "relay disabled" */
	int accept;	       /* enum dmp_node_relay_accept */
	unsigned max_hops;     /* 1..DMP_RELAY_HOPS_MAX */
	size_t bundle_bytes;   /* DMP_RELAY_BYTES_MIN..MAX */
	double source_rate;    /* per previous hop (claim_source_prefix4/6),
				  0: no limit */
	double source_burst;   /* >= 1 */
	double sender_rate;    /* per sender_spk, 0: no limit */
	double sender_burst;   /* >= 1 */
	uint64_t sender_bytes; /* values held per sender_spk, 0: no limit */
	char fp[17];	       /* this node's fingerprint (16 hex of the
				  operator key), "" without one */
};

struct dmp_node_http_opts {
	/* Listening socket (bound, listening) handed over, or -1: no
	 * socket, dmp_node_http_dispatch() only (tests). Taken over: closed
	 * by dmp_node_http_free(). */
	int listen_fd;
	int auth;		      /* enum dmp_node_http_auth */
	char token[128];	      /* legacy mode's shared token */
	int registration_enabled;     /* 7.2 endpoints; else 404 */
	int tight_scope, loose_scope; /* DMP_TSIG_TIGHT/LOOSE_SCOPE (7.1) */
	/* Subjects allowed to register: "user@host" exactly, or "@host"
	 * for a whole host; none: everyone (7.2's 403 otherwise). */
	char reg_allow[DMP_NODE_REG_MAX_ALLOW][DMP_NODE_NAME_MAX];
	unsigned n_reg_allow;
	uint32_t rate, burst;  /* per IP, 0 rate: off */
	uint32_t reg_per_hour; /* per IP over both 7.2 endpoints; 0: off */
	/* The server's X25519 key for the proof of possession (7.2); tests
	 * inject a fixed one, otherwise random per start. */
	int have_x25519_sk;
	uint8_t x25519_sk[32];
	/* Wall clock in ms; NULL: the real one. */
	uint64_t (*now_ms)(void *ud);
	void *now_ud;
	/* Connections (the socket side; dmp_node_http_dispatch() alone
	 * ignores them). A new connection from an address (keyed by the
	 * node's rate_v4/v6_prefix) that holds max_conns_per_addr is
	 * refused; at max_conns the oldest connection of the address that
	 * holds the most makes room. Each request must arrive, and its
	 * answer leave, within request_timeout s of the connection or of
	 * the previous answer; idle_timeout s without a byte closes too. */
	unsigned max_conns;	     /* 1..65536 */
	unsigned max_conns_per_addr; /* 1..65536 */
	unsigned idle_timeout;	     /* s, 1..3600 */
	unsigned request_timeout;    /* s, 1..3600 */
	size_t conn_memory;	     /* libmicrohttpd's per connection pool */
	/* Reverse proxies (addresses) whose X-Forwarded-For is believed:
	 * their last entry, the one the proxy appended, is the client for
	 * the rate limits; the proxy itself is exempt from
	 * max_conns_per_addr (limit per client at the proxy). */
	char trusted_proxies[DMP_NODE_HTTP_MAX_PROXIES][64];
	unsigned n_trusted_proxies;
	/* Cluster anti-entropy, server side (PROTOCOL.md 7.6): the peers'
	 * Bearer token ("": /v1/sync/ answers 403); the cluster name whose
	 * manifest /v1/sync/cluster-manifest serves ("": 204), checked
	 * against sync_op_spk when have_sync_op_spk. */
	char sync_token[128];
	char sync_cluster[DMP_NODE_NAME_MAX];
	int have_sync_op_spk;
	uint8_t sync_op_spk[32];
	/* DMP-RELAY/1: POST /v1/relay (docs/protocol.md 8.7). */
	struct dmp_node_relay_opts relay;
};

struct dmp_node_http;

/** Defaults: record API off, registration off, 7.5/7.2 rate limits,
 * the DMP_NODE_HTTP_* connection limits. */
void dmp_node_http_opts_init(struct dmp_node_http_opts *o);

/**
 * Start serving HTTP for @p n (borrowed; it must outlive the handle) on
 * o->listen_fd with one internal thread.
 * @return 0, DMP_EINVAL (unauthenticated record API on a non-loopback
 *         socket or with trusted proxies, no zone, legacy auth without a
 *         token, a limit out of range, a bad proxy address), DMP_ENOMEM,
 *         DMP_EIO (daemon)
 */
DMP_MUST_CHECK int dmp_node_http_new(struct dmp_node_http **out,
				     struct dmp_node *n,
				     const struct dmp_node_http_opts *o);

/** Stop the thread, close the socket, wipe the keys. NULL: no-op. */
void dmp_node_http_free(struct dmp_node_http *h);

/** One request, as the socket side hands it over. */
struct dmp_node_http_req {
	const char *method;	     /* "GET", "POST", "DELETE" */
	const char *path;	     /* decoded, without the query string */
	const char *query;	     /* raw query string or NULL */
	const char *authorization;   /* header value or NULL */
	const struct sockaddr *peer; /* NULL: a direct caller, not rate
					limited */
	const char *body;
	size_t body_len;
	/* X-Forwarded-For header or NULL; believed only from a trusted
	 * proxy (opts.trusted_proxies). */
	const char *forwarded_for;
};

/**
 * Answer one request. Thread-safe.
 * @param[out] body   malloc()ed response body (free() it), NUL-terminated
 * @param[out] ctype  static content type
 * @return HTTP status
 */
int dmp_node_http_dispatch(struct dmp_node_http *h,
			   const struct dmp_node_http_req *rq, char **body,
			   size_t *body_len, const char **ctype);
/** As dmp_node_http_dispatch(); @p retry_after (may be NULL) gets the
 * seconds of a 429's Retry-After header, 0 for none. */
int dmp_node_http_dispatch_ex(struct dmp_node_http *h,
			      const struct dmp_node_http_req *rq, char **body,
			      size_t *body_len, const char **ctype,
			      unsigned *retry_after);

/**
 * Tests only: register @p challenge as issued at @p now_ms, as GET
 * /v1/registration/challenge would have (to replay fixed vectors).
 */
void dmp_node_http_put_challenge(struct dmp_node_http *h,
				 const uint8_t challenge[32], uint64_t now_ms);

/* ---- direct writes (heartbeat) ---- */

/**
 * Store @p value at @p name (in a served zone) for @p ttl seconds,
 * replacing every value there when @p replace, with the caps of 7.5.
 * @return 0, DMP_EINVAL (name or value), DMP_ETOOBIG (caps), DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_node_put(struct dmp_node *n, const char *name,
				const char *value, uint32_t ttl, int replace,
				uint64_t now_ms);

/* ---- mesh heartbeat (PROTOCOL.md 8) ---- */

/**
 * Read the operator key at @p path: a 32-byte Ed25519 seed as 64 hex
 * digits (a trailing newline allowed). A missing file is created (0600,
 * O_EXCL, fsync'd) with a fresh seed. @p sk is the caller's to wipe.
 * @return 0, DMP_EIO (cannot create, write or read), DMP_EMALFORMED (not
 *         64 hex digits)
 */
DMP_MUST_CHECK int dmp_node_opkey_load(const char *path, uint8_t pk[32],
				       uint8_t sk[64]);

struct dmp_node_hb_opts {
	/* Borrowed for dmp_node_hb_new(): */
	const char *endpoint;	    /* public http(s) URL */
	const uint8_t *operator_pk; /* 32 bytes, dmp_node_opkey_load() */
	const uint8_t *operator_sk; /* 64 bytes; copied, wiped at free */
	const char *claim_zone;	    /* for claims; NULL or "": first zone */
	uint32_t interval_s;	    /* between publications */
	int allow_loopback;	    /* DMP_HEARTBEAT_ALLOW_LOOPBACK (tests) */
	int claim_provider;	    /* capability bit 0 */
	int relay;		    /* capability bit 1 (mesh.relay_enabled) */
};

struct dmp_node_hb;

/**
 * Prepare the heartbeat of @p n (borrowed; it must outlive the handle)
 * with the operator key (read with dmp_node_opkey_load() before dropping
 * privileges, so that the file may stay readable by root only).
 * @return 0, DMP_EINVAL (no endpoint or key, no zone, endpoint too long),
 *         DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_node_hb_new(struct dmp_node_hb **out, struct dmp_node *n,
				   const struct dmp_node_hb_opts *o);

/**
 * Replace our signed value at _dnsmesh-heartbeat.<zone> of every zone
 * when the interval has passed since the last time (the first call
 * always publishes). Failures are logged; the next call retries after
 * the interval. Not thread-safe: one caller (the maintenance thread).
 * @return 1 published, 0 not due, or a negative error
 */
int dmp_node_hb_tick(struct dmp_node_hb *hb, uint64_t now_ms);

/** Wipe the key and free. NULL: no-op. */
void dmp_node_hb_free(struct dmp_node_hb *hb);

/* ---- cluster anti-entropy, client side (PROTOCOL.md 7.6) ---- */

#define DMP_NODE_SYNC_MAX_PEERS 32
#define DMP_NODE_SYNC_INTERVAL_MS 10000
#define DMP_NODE_SYNC_MAX_PER_TICK 1024	   /* values stored per tick */
#define DMP_NODE_SYNC_MAX_BYTES (1u << 20) /* bytes pulled per tick */
#define DMP_NODE_SYNC_TIMEOUT_MS 5000	   /* one HTTP exchange */

/* What a sync exchange with a peer can go wrong with, as
 * dmp_node_sync_rejected_total{reason} in /metrics. */
enum dmp_node_sync_reason {
	DMP_NODE_SYNC_UNREACHABLE = 0, /* connect, timeout, non-200 */
	DMP_NODE_SYNC_BAD_DIGEST,      /* not JSON of the shape, bad entry */
	DMP_NODE_SYNC_BAD_PULL,	       /* not JSON of the shape, too big */
	DMP_NODE_SYNC_UNREQUESTED,     /* a name we did not ask for */
	DMP_NODE_SYNC_HASH_MISMATCH,   /* a value not in the digest */
	DMP_NODE_SYNC_INVALID,	       /* signature, structure, expiry */
	DMP_NODE_SYNC_REFUSED,	       /* caps, budgets, zone (as UPDATE) */
	DMP_NODE_SYNC_MANIFEST,	       /* a peer's cluster manifest refused */
	DMP_NODE_SYNC_REASON_MAX
};

/* An HTTP exchange of the worker: GET when @p body is NULL, else POST of
 * a JSON body; the answer malloc()ed into *resp. @return the HTTP status
 * or a negative error. Tests replace the libcurl default. */
typedef int (*dmp_node_sync_http_fn)(void *ud, const char *url,
				     const char *token, const char *body,
				     char **resp, size_t *resp_len,
				     unsigned timeout_ms);

struct dmp_node_sync_opts {
	char token[128]; /* Bearer token for the peers */
	char peers[DMP_NODE_SYNC_MAX_PEERS][DMP_CLUSTER_HTTP_MAX + 1];
	unsigned n_peers; /* static base URLs */
	/* Peers also from the cluster manifest at cluster.<cluster> in our
	 * own store, verified with op_spk (required with cluster); entries
	 * whose node_id is self_id or whose endpoint is self_endpoint are
	 * us. Peers' newer manifests (higher seq, verified) are installed. */
	char cluster[DMP_NODE_NAME_MAX];
	int have_op_spk;
	uint8_t op_spk[32];
	char self_id[DMP_CLUSTER_NODE_ID_MAX + 1];
	char self_endpoint[DMP_CLUSTER_HTTP_MAX + 1];
	uint32_t interval_ms;  /* between ticks, 100..3600000 */
	uint32_t max_per_tick; /* values stored per tick, 1..1000000 */
	uint32_t max_bytes;    /* value bytes pulled per tick, 1 KiB..64 MiB */
	unsigned timeout_ms;   /* one exchange */
	dmp_node_sync_http_fn http; /* NULL: libcurl */
	void *http_ud;
	uint64_t (*now_ms)(void *ud); /* NULL: the real clock */
	void *now_ud;
};

struct dmp_node_sync;

/** Defaults (DMP_NODE_SYNC_*), no peers, no token. */
void dmp_node_sync_opts_init(struct dmp_node_sync_opts *o);

/**
 * Prepare anti-entropy for @p n (borrowed; must outlive the handle).
 * @p start 1: one thread runs dmp_node_sync_tick() every interval until
 * dmp_node_sync_free(); 0: the caller ticks (tests).
 * @return 0, DMP_EINVAL (no token, no peer source, a range), DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_node_sync_new(struct dmp_node_sync **out,
				     struct dmp_node *n,
				     const struct dmp_node_sync_opts *o,
				     int start);

/**
 * One sync with the next peer, round robin: digest pages from its cursor,
 * diff, pull, verify, store; at most max_per_tick values and max_bytes
 * bytes. @return values stored, or a negative error (logged, counted)
 */
int dmp_node_sync_tick(struct dmp_node_sync *s);

/** Stop the thread (if any) and free. NULL: no-op. */
void dmp_node_sync_free(struct dmp_node_sync *s);

/** Counters for /metrics and tests: refusals by reason, values stored. */
void dmp_node_sync_counts(const struct dmp_node *n,
			  uint64_t reject[DMP_NODE_SYNC_REASON_MAX],
			  uint64_t *stored);
/* ---- mesh discovery (PROTOCOL.md 8: heartbeat / seen directory) ---- */

#define DMP_NODE_DISC_SEEDS_MAX 16
/** Values published at _dnsmesh-seen.<zone> (PROTOCOL.md 8). */
#define DMP_NODE_DISC_SEEN_MAX 50
/** Values read from one answer (PROTOCOL.md 8: at most 20). */
#define DMP_NODE_DISC_PER_ANSWER 20

struct dmp_node_disc_opts {
	/* Borrowed for dmp_node_disc_new(): */
	const char *const *seeds; /* seed zones (mesh.seeds) */
	size_t n_seeds;		  /* 1..DMP_NODE_DISC_SEEDS_MAX */
	/* Resolvers, "IP[:port]" literals; none: /etc/resolv.conf. */
	const char *const *resolvers;
	size_t n_resolvers;
	unsigned timeout_ms;	   /* per server try; 0: 2000 */
	const uint8_t *self_pk;	   /* our operator key (32) or NULL */
	const char *self_endpoint; /* our heartbeat endpoint or NULL */
	uint32_t interval_s;	   /* between rounds, >= 1 */
	uint32_t expiry_s;	   /* drop a peer whose newest ts is older */
	uint32_t max_peers;	   /* peer table bound, >= 1 */
	int allow_loopback;	   /* DMP_HEARTBEAT_ALLOW_LOOPBACK (tests) */
	int offline;		   /* tests: no resolver pool, no rounds */
};

struct dmp_node_disc;
struct dmp_resolver_result;

/**
 * Prepare discovery for @p n (borrowed; it must outlive the handle): a
 * resolver pool of its own and an empty peer table.
 * @return 0, DMP_EINVAL (no seed, bad seed zone, zero interval, expiry or
 *         table size), a dmp_resolver_new() error, DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_node_disc_new(struct dmp_node_disc **out,
				     struct dmp_node *n,
				     const struct dmp_node_disc_opts *o);

/**
 * One round when the interval has passed since the last one (the first
 * call always runs): read _dnsmesh-heartbeat and _dnsmesh-seen of every
 * seed zone at once through the pool (blocking, at most a few timeouts),
 * ingest, expire, publish. Not thread-safe: one caller (dmp-node's
 * discovery thread).
 * @return 1 ran, 0 not due, or a negative error (logged)
 */
int dmp_node_disc_tick(struct dmp_node_disc *d, uint64_t now_ms);

/**
 * Take one round's answers (@p names[i] was queried, @p res[i] its
 * result): every value (at most DMP_NODE_DISC_PER_ANSWER per answer) is
 * verified as a heartbeat at @p now_s; our own is skipped; a verified one
 * enters the table (one entry per operator key + endpoint, newest ts
 * wins, last_seen = now_s) or, with the table full, replaces the entry
 * with the oldest ts if it is newer. Refused values count as rejected.
 * @return verified values taken, or DMP_EINVAL
 */
int dmp_node_disc_ingest(struct dmp_node_disc *d, const char *const *names,
			 const struct dmp_resolver_result *res, size_t n,
			 uint64_t now_s);

/**
 * Drop peers whose newest heartbeat ts is more than expiry_s before
 * @p now_s (counted as expired), then replace _dnsmesh-seen.<zone> of
 * every served zone with the DMP_NODE_DISC_SEEN_MAX newest peers whose
 * heartbeat still verifies at @p now_ms (an empty table deletes it).
 * @return values published per zone, or a negative error
 */
int dmp_node_disc_publish(struct dmp_node_disc *d, uint64_t now_ms);

/** Peers in the table now. */
size_t dmp_node_disc_count(const struct dmp_node_disc *d);

/** Free the pool and the table. NULL: no-op. */
void dmp_node_disc_free(struct dmp_node_disc *d);

/** Discovery counters for /metrics: peers known now, expired and
 *  rejected since start (relaxed atomics in the node). */
void dmp_node_disc_stats(const struct dmp_node *n, uint64_t *known,
			 uint64_t *expired, uint64_t *rejected);

/* ---- relay links (docs/protocol.md 8.7.4, 8.7.9; DMP-RELAY/1 draft) ---- */

#define DMP_NODE_MESH_NEIGHBOURS_MAX 16
#define DMP_NODE_MESH_INTERVAL 30 /* mesh.link_interval, seconds */
#define DMP_NODE_MESH_INTERVAL_MAX 3600
/* mesh.discovered_neighbours: relay peers from discovery probed besides
 * mesh.neighbours (8.7.4), 0..64; 0: off. */
#define DMP_NODE_MESH_DISCOVERED 8
#define DMP_NODE_MESH_DISCOVERED_MAX 64

/* One GET of the prober: the answer malloc()ed into *resp. @return the
 * HTTP status or a negative error. Tests replace the libcurl default. */
typedef int (*dmp_node_mesh_http_fn)(void *ud, const char *url, char **resp,
				     size_t *resp_len, unsigned timeout_ms);

struct dmp_node_mesh_opts {
	/* Borrowed for dmp_node_mesh_new(): */
	const char *endpoint;	       /* our HTTP side (mesh.endpoint) */
	const uint8_t *operator_pk;    /* 32 bytes: the heartbeat's key */
	const uint8_t *operator_sk;    /* 64 bytes; copied, wiped at free */
	const char *const *neighbours; /* http(s)://host[:port] base URLs */
	size_t n_neighbours;	       /* 0..DMP_NODE_MESH_NEIGHBOURS_MAX */
	uint32_t interval_s;	       /* 1..DMP_NODE_MESH_INTERVAL_MAX */
	unsigned timeout_ms;	    /* one probe; 0: half the interval shared by
				       the neighbours, 200..5000 ms */
	int allow_loopback;	    /* DMP_HEARTBEAT_ALLOW_LOOPBACK (tests) */
	dmp_node_mesh_http_fn http; /* NULL: libcurl */
	void *http_ud;
	uint64_t (*now_ms)(void *ud); /* NULL: the real clock */
	void *now_ud;
	/* 0..DMP_NODE_MESH_DISCOVERED_MAX discovered relay peers probed too
	 * (dmp_node_mesh_discovered); 0: mesh.neighbours only. */
	size_t max_discovered;
};

struct dmp_node_mesh;

/**
 * Prepare the link prober of @p n (borrowed; it must outlive the handle)
 * and attach it to the node, where GET /v1/mesh, /v1/mesh/links and
 * /metrics find it. @p start 1: one thread runs dmp_node_mesh_tick()
 * every interval until dmp_node_mesh_free(); 0: the caller ticks (tests).
 * Free it after the HTTP side (which reads it).
 * @return 0, DMP_EINVAL (no endpoint or key, no zone, a neighbour that is
 *         not an http(s) URL, a range), DMP_EEXIST (a mesh is attached),
 *         DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_node_mesh_new(struct dmp_node_mesh **out,
				     struct dmp_node *n,
				     const struct dmp_node_mesh_opts *o,
				     int start);

/**
 * One round: probe every neighbour (GET /v1/mesh/links), take the verified
 * link records, expire old ones, and publish our own record at
 * _dnsmesh-links.<zone> of every zone (at once after a link went up or
 * down, and at the end of the round). Not thread-safe against itself.
 * @return neighbours that answered, or a negative error
 */
int dmp_node_mesh_tick(struct dmp_node_mesh *m);

/** Detach, stop the thread (if any), wipe the key, free. NULL: no-op. */
void dmp_node_mesh_free(struct dmp_node_mesh *m);

/** A relay peer from discovery (a verified heartbeat with bit 1). */
struct dmp_node_mesh_peer {
	char endpoint[256]; /* http(s)://host[:port], as in the heartbeat */
	uint8_t spk[32];    /* the heartbeat's operator key */
};

/**
 * Hand the relay peers discovery knows now to the mesh of @p n (none
 * attached, or max_discovered 0: nothing happens). The mesh thread picks
 * at most max_discovered of them as neighbours at its next round, which
 * comes at once when the set changed. Endpoints the mesh's address rule
 * refuses (loopback without allow_loopback) are skipped. Thread-safe.
 * @return the peers kept as candidates, or 0
 */
size_t dmp_node_mesh_discovered(struct dmp_node *n,
				const struct dmp_node_mesh_peer *p, size_t np);

/**
 * `dmp-node mesh`: GET @p base_url/v1/mesh and print it readably on @p f.
 * @return 0, DMP_EUNREACHABLE, DMP_EMALFORMED (not the JSON of /v1/mesh),
 *         DMP_EIO (an HTTP status other than 200, printed)
 */
DMP_MUST_CHECK int dmp_node_mesh_show(const char *base_url, FILE *f);
/* ---- cluster operator: manifest and bootstrap (PROTOCOL.md 2.6, 2.7) ---- */

/**
 * One signed TXT value as a zone-file line: "OWNER. TTL IN TXT "..." ..."
 * with the value split into 255-byte strings (what `dmp-node cluster`
 * prints for an operator's own DNS server or nsupdate).
 * @return 0, DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_node_txt_line(char *out, size_t cap, const char *owner,
				     uint32_t ttl, const char *value);

/**
 * Replace the TXT RRset at @p owner (in @p zone) on @p server (IP[:PORT])
 * with @p value: one TSIG-signed UPDATE (delete the RRset, add the value),
 * so the old manifest or bootstrap record goes in the same step.
 * @param tsig  "hmac-sha256:NAME:SECRET" (a key whose scope covers owner)
 * @return 0, DMP_EINVAL (bad key or server), or the UPDATE's error
 *         (DMP_ENOTAUTH, DMP_EREFUSED, DMP_EUNREACHABLE, ...)
 */
DMP_MUST_CHECK int dmp_node_txt_publish(const char *server, const char *zone,
					const char *tsig, const char *owner,
					const char *value, uint32_t ttl);

#endif /* DMP_NODE_H */
