/*
 * core/include/dmp/peers.h - client-side node discovery (PROTOCOL.md 2.8,
 * 8): read `_dnsmesh-heartbeat.<zone>` and `_dnsmesh-seen.<zone>` of each
 * seed zone through the engine's resolver pool, keep every heartbeat that
 * verifies (one per operator key + endpoint, newest ts) in the client
 * store, and derive each node's health from the age of its last verified
 * heartbeat and from failed refreshes.
 *
 * Seed zones: the identity's own domain, then `discovery.seeds` of
 * config.yaml (dmp.yaml(5)). Readers (`dmp peers`, dmpfs's peers/) only
 * read the store; a refresh is the only network step.
 *
 * Thread-safety: as the engine (one engine per thread).
 */
#ifndef DMP_PEERS_H
#define DMP_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/resolver.h"
#include "dmp/store.h"

#define DMP_PEERS_SEEDS_MAX 16
/** Longest seed zone: `_dnsmesh-heartbeat.` + zone fits in 253 bytes. */
#define DMP_PEERS_ZONE_MAX 234
/** First-contact providers picked (PROTOCOL.md 8: "the 3 most recent"). */
#define DMP_PEERS_PROVIDERS 3
/** A peer stays listed (as expired) this long after its heartbeat's exp. */
#define DMP_PEERS_KEEP_EXPIRED 604800
/** Largest number of verified heartbeats ingested from one refresh. */
#define DMP_PEERS_MAX_PER_REFRESH 256

enum dmp_peer_health {
	DMP_PEER_OK,	      /* fresh verified heartbeat */
	DMP_PEER_STALE,	      /* no fresh heartbeat re-verified lately */
	DMP_PEER_EXPIRED,     /* the last heartbeat's exp has passed */
	DMP_PEER_UNREACHABLE, /* the last refresh could not read its source */
};

/** Discovery settings (the `discovery:` section of config.yaml). */
struct dmp_peers_conf {
	char seeds[DMP_PEERS_SEEDS_MAX][DMP_PEERS_ZONE_MAX + 1];
	size_t n_seeds;	     /* own domain first, duplicates dropped */
	int allow_loopback;  /* DMP_HEARTBEAT_ALLOW_LOOPBACK (tests only) */
	int64_t interval;    /* seconds between background refreshes */
	int64_t stale_after; /* heartbeat age that makes a peer stale */
};

/**
 * Read the discovery settings from @p home/config.yaml (the engine's
 * home: dmp_engine_home()). Seeds that
 * are not valid DNS names, or too long for the owner names, are skipped
 * with a warning. stale_after = 2 * interval + 300 (the heartbeat
 * freshness window of 2.8).
 * @return 0, DMP_ECONFIG (config.yaml invalid) or DMP_ENOENT
 */
DMP_MUST_CHECK int dmp_peers_conf_load(const char *home,
				       struct dmp_peers_conf *out);

/**
 * Health of @p p at @p now: expired (now >= hb_exp), else unreachable
 * (the last refresh missed it with a network error), else stale (missed
 * with any other reason, or heartbeat older than @p stale_after), else ok.
 */
enum dmp_peer_health dmp_peer_health(const struct dmp_store_peer *p,
				     int64_t now, int64_t stale_after);
/** "ok", "stale", "expired" or "unreachable". */
const char *dmp_peer_health_name(enum dmp_peer_health h);

/**
 * A file-name-safe label for @p p: the endpoint's host[:port] with every
 * byte outside [A-Za-z0-9.-] replaced by '_' (':' becomes '_'), then '-'
 * and the first 8 hex digits of the operator key, so two operators
 * claiming one endpoint never share a name.
 * @return length, or DMP_ENOBUFS (@p cap < 64 is never enough)
 */
DMP_MUST_CHECK int dmp_peer_file_name(const struct dmp_store_peer *p, char *out,
				      size_t cap);

/**
 * Ingest one refresh's answers: @p names[i] was queried and @p res[i] is
 * its result (dmp_resolver_query_batch). Every TXT value is parsed and
 * verified as a heartbeat at @p now (DMPHB03 or DMPHB02; forged, expired
 * or malformed values are dropped), deduplicated by operator key +
 * endpoint keeping the newest ts, and recorded with dmp_store_peer_seen().
 * Then every stored peer whose source is one of @p names and that was not
 * seen gets a miss: the query's error, or DMP_ENOENT when the name
 * answered without it. Peers expired for DMP_PEERS_KEEP_EXPIRED are
 * deleted.
 * @param flags  DMP_HEARTBEAT_STRICT or DMP_HEARTBEAT_ALLOW_LOOPBACK
 * @return number of verified distinct heartbeats, DMP_EINVAL,
 *         DMP_ENOMEM, DMP_ENOSPC or DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_peers_ingest(struct dmp_store *st,
				    const char *const *names,
				    const struct dmp_resolver_result *res,
				    size_t n, int64_t now, unsigned flags);

/**
 * One refresh: query both discovery names of every seed zone of @p c at
 * once through the resolver pool @p r (the engine's:
 * dmp_engine_resolver()) and ingest the answers into @p st.
 * @return number of verified distinct heartbeats, DMP_EUNREACHABLE (@p r
 *         NULL: no resolver pool), DMP_EINVAL (no seeds) or a store error
 */
DMP_MUST_CHECK int dmp_peers_refresh(struct dmp_resolver *r,
				     struct dmp_store *st,
				     const struct dmp_peers_conf *c,
				     int64_t now);

/** What one refresh found at one seed zone (dmp_peers_refresh_report). */
struct dmp_peers_seed_result {
	char zone[DMP_PEERS_ZONE_MAX + 1];
	int hb_err, seen_err; /* the two queries' outcome (resolver.h) */
	unsigned hb_values;   /* TXT values at _dnsmesh-heartbeat */
	unsigned seen_values; /* TXT values at _dnsmesh-seen */
	unsigned verified;    /* of those, heartbeats that verified */
};

/**
 * dmp_peers_refresh(), and what each seed zone gave: @p out[i] for
 * @p c->seeds[i] (@p out may be NULL). The union of every verified
 * value of every seed is ingested; a peer found at several seeds is
 * counted at each but stored once (operator key + endpoint).
 */
DMP_MUST_CHECK int dmp_peers_refresh_report(struct dmp_resolver *r,
					    struct dmp_store *st,
					    const struct dmp_peers_conf *c,
					    int64_t now,
					    struct dmp_peers_seed_result *out);

/**
 * Copy every stored peer, newest heartbeat first.
 * @param[out] out  new array (dmp_free()), NULL when there are none
 * @param[out] n    its length
 * @return 0, DMP_ENOMEM or DMP_ESTORE
 */
DMP_MUST_CHECK int dmp_peers_list(struct dmp_store *st,
				  struct dmp_store_peer **out, size_t *n);

/**
 * First-contact claim providers (PROTOCOL.md 8): among stored peers with
 * capability bit 0 whose heartbeat has not expired and which are not
 * unreachable, the DMP_PEERS_PROVIDERS most recent by heartbeat ts; each
 * gives its claim_provider_zone, or its endpoint's host when that is
 * empty. Hosts that are IP literals are no zone and are skipped, as are
 * zones already picked (compared ignoring case).
 * @param[out] zones  up to DMP_PEERS_PROVIDERS names, most recent first
 * @return number written (0..3) or DMP_ESTORE
 */
DMP_MUST_CHECK int
dmp_peers_providers(struct dmp_store *st, int64_t now,
		    char zones[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1]);

#endif /* DMP_PEERS_H */
