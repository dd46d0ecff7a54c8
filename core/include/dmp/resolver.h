/*
 * core/include/dmp/resolver.h - a pool of DNS resolvers for TXT reads
 * (PROTOCOL.md 7.7 ResolverPool), over c-ares.
 *
 * Each configured server has its own c-ares channel, so the pool (not
 * c-ares) decides the order: healthy servers in configured order, then
 * servers in cooldown, oldest failure first. A server that does not
 * answer (timeout, connection refused) or gives an unusable reply is put
 * into cooldown (60 s by default) and the query moves to the next server.
 * A SERVFAIL or REFUSED answer moves on without a cooldown: the server is
 * up. An empty or NXDOMAIN answer moves on too, and counts against the
 * server only if a later server returns records. A server whose cooldown
 * has passed is tried again in its configured place.
 *
 * Queries go over UDP with EDNS (edns_payload, 1232 bytes by default). A
 * truncated reply is asked again over TCP, each name on a connection of
 * its own (at most 4 at once per server), so servers that answer one
 * query per connection and close it work; a connection closed without an
 * answer is retried once on a fresh one, with no cooldown. A TCP query
 * advertises EDNS 65535, and a SERVFAIL to it is retried once without
 * EDNS (docs/protocol.md, interoperability).
 *
 * Many names can be in flight at once (dmp_resolver_query_batch). A
 * struct dmp_resolver is not thread-safe: use one per thread.
 */
#ifndef DMP_RESOLVER_H
#define DMP_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/dnsmsg.h"

#define DMP_RESOLVER_MAX_SERVERS 32
#define DMP_RESOLVER_COOLDOWN_MS 60000 /* PROTOCOL.md 7.7 */

/** Monotonic clock in milliseconds; tests inject their own. */
typedef int64_t (*dmp_clock_ms_fn)(void *ud);

/** A zone read straight from its node (RD=0), bypassing the pool: names
 *  at or below @c zone go only to @c server, other names never do (like
 *  the reference's CompositeReader, without fallback between the two). */
struct dmp_resolver_direct {
	const char *zone;
	const char *server; /* IP literal, as in servers */
};

struct dmp_resolver_opts {
	/* "IP", "IP:port" or "[IPv6]:port" literals (PROTOCOL.md 7.7: IP
	 * literals only), in preference order. NULL/0: the nameservers of
	 * /etc/resolv.conf. */
	const char *const *servers;
	size_t n_servers;
	unsigned timeout_ms;   /* per server try; 0 = 2000 */
	unsigned cooldown_ms;  /* 0 = DMP_RESOLVER_COOLDOWN_MS */
	int rd;		       /* recursion desired (default 1) */
	uint16_t edns_payload; /* 0 = DMP_DNS_EDNS_PAYLOAD */
	int dnssec;	       /* send DO, require AD on every answer */
	dmp_clock_ms_fn clock; /* cooldown clock; NULL = CLOCK_MONOTONIC */
	void *clock_ud;
	const struct dmp_resolver_direct *direct; /* optional */
	size_t n_direct;
};

/** Defaults: resolv.conf servers, 2 s, 60 s cooldown, RD, EDNS 1232. */
void dmp_resolver_opts_default(struct dmp_resolver_opts *o);

struct dmp_resolver;

/**
 * @param opts  NULL for the defaults
 * @return 0, DMP_EINVAL (bad server address, too many servers),
 *         DMP_EBADNAME (bad direct zone),
 *         DMP_ECONFIG (no servers at all), DMP_ENOMEM or DMP_EINTERNAL
 *         (c-ares failure)
 */
DMP_MUST_CHECK int dmp_resolver_new(struct dmp_resolver **out,
				    const struct dmp_resolver_opts *opts);

/** Cancel anything in flight and free; NULL is a no-op. */
void dmp_resolver_free(struct dmp_resolver *r);

struct dmp_resolver_result {
	/* 0: answer holds the TXT values (n may be 0 for NODATA);
	 * DMP_ENXDOMAIN: every server said the name does not exist;
	 * DMP_EUNREACHABLE / DMP_ESERVFAIL / DMP_EREFUSED / DMP_ETRUNCATED
	 * (truncated over UDP, then TCP failed or was truncated too): no
	 * server gave a usable answer (the last failure's kind); DMP_ETIMEDOUT:
	 * the batch deadline passed; DMP_EBADNAME: not a valid name. */
	int err;
	struct dmp_txt_answer answer;
	int server;	/* index of the answering server, -1 if none */
	unsigned tries; /* servers asked */
};

/** Free the answer; leaves @p res cleared. NULL is a no-op. */
void dmp_resolver_result_clear(struct dmp_resolver_result *res);

/** Called once per name as soon as it completes. @p res stays owned by
 *  the results array. */
typedef void (*dmp_resolver_done_fn)(void *ud, size_t idx, const char *name,
				     const struct dmp_resolver_result *res);

/**
 * Resolve TXT for @p n names concurrently and wait until all complete or
 * @p timeout_ms passes (names still pending get DMP_ETIMEDOUT).
 * @param results  n slots, filled (clear each with _result_clear())
 * @param cb       optional completion callback (NULL: none)
 * @return 0 (per-name outcome in results[i].err), DMP_EINVAL or
 *         DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_resolver_query_batch(struct dmp_resolver *r,
					    const char *const *names, size_t n,
					    struct dmp_resolver_result *results,
					    unsigned timeout_ms,
					    dmp_resolver_done_fn cb, void *ud);

/** One name; returns res->err. */
DMP_MUST_CHECK int dmp_resolver_query(struct dmp_resolver *r, const char *name,
				      struct dmp_resolver_result *res,
				      unsigned timeout_ms);

enum dmp_resolver_state {
	DMP_RESOLVER_UP,       /* never failed, or recovered */
	DMP_RESOLVER_COOLDOWN, /* failed recently: tried last */
	DMP_RESOLVER_PROBE,    /* cooldown over, not yet re-tried */
};

struct dmp_resolver_stat {
	char addr[64];			 /* "ip:port" or "[ip6]:port" */
	char zone[DMP_DNS_NAME_MAX + 2]; /* direct entry's zone, else "" */
	enum dmp_resolver_state state;
	int64_t cooldown_left_ms; /* > 0 only in COOLDOWN */
	int rtt_ms;		  /* EWMA (1/4) of answer times; -1 unknown */
	unsigned long queries;	  /* sent to this server */
	unsigned long answers;	  /* usable replies (data or empty) */
	unsigned long failures;	  /* counted against it (total) */
	unsigned consecutive_failures;
};

/** Number of servers in the pool, direct entries included (last). */
size_t dmp_resolver_count(const struct dmp_resolver *r);

/**
 * Snapshot of each server, in configured order, for `dmp resolvers` and
 * dmpfs's resolvers file.
 * @return number of servers (may exceed @p cap; only cap are written)
 */
size_t dmp_resolver_stats(const struct dmp_resolver *r,
			  struct dmp_resolver_stat *out, size_t cap);

/** "up", "cooldown" or "probe". */
const char *dmp_resolver_state_name(enum dmp_resolver_state s);

#endif /* DMP_RESOLVER_H */
