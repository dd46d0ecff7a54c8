/*
 * core/include/dmp/links.h - the relay link record of DMP-RELAY/1
 * (docs/protocol.md 8.7.4, draft), published by a relay at
 * `_dnsmesh-links.<zone>` and signed by the operator key it carries
 * (self-signed like the heartbeat). A dmp extension: DMP v1 readers skip
 * the unknown prefix.
 *
 * Value: `v=dmp1;t=links;` || base64(body || Ed25519 signature), at most
 * DMP_RECORD_WIRE_MAX bytes. Body, big-endian:
 *
 *   7   magic "DMPLK01"
 *   32  node_spk (the signer)
 *   1   ep_len 1..255, then the endpoint (heartbeat endpoint rules)
 *   1   zone_count 0..8, then per zone: zone_len u8 1..64 + zone (the
 *       DNS-name rule of protocol.md 4.3, lower case, no trailing dot)
 *   1   link_count 0..16, then per link: peer_spk 32, cost_ms u16
 *       1..60000, flags u8 (bit 0 up; other bits written 0, ignored)
 *   8   seq (milliseconds, strictly increasing per node)
 *   8   ts
 *   8   exp, ts < exp <= ts + 3600
 */
#ifndef DMP_LINKS_H
#define DMP_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

#define DMP_PREFIX_LINKS "v=dmp1;t=links;"
#define DMP_LINKS_MAGIC "DMPLK01"
#define DMP_LINKS_ENDPOINT_MAX 255
#define DMP_LINKS_ZONES_MAX 8
#define DMP_LINKS_ZONE_MAX 64
#define DMP_LINKS_PEERS_MAX 16
#define DMP_LINKS_COST_MIN 1
#define DMP_LINKS_COST_MAX 60000
/** exp - ts may not exceed this (3 x link_interval, capped). */
#define DMP_LINKS_LIFETIME_MAX 3600
/** Link flag bit 0: the link is up. */
#define DMP_LINKS_UP 0x01u
/** Owner label: `_dnsmesh-links.<zone>`. */
#define DMP_LINKS_LABEL "_dnsmesh-links"

struct dmp_links_peer {
	uint8_t spk[DMP_ED25519_PK_BYTES];
	uint16_t cost_ms; /* smoothed RTT, 1..60000 */
	uint8_t flags;	  /* DMP_LINKS_UP; parse keeps only that bit */
};

struct dmp_links {
	uint8_t node_spk[DMP_ED25519_PK_BYTES]; /* the signer */
	char endpoint[DMP_LINKS_ENDPOINT_MAX + 1];
	size_t n_zones;
	char zones[DMP_LINKS_ZONES_MAX][DMP_LINKS_ZONE_MAX + 1];
	size_t n_peers;
	struct dmp_links_peer peers[DMP_LINKS_PEERS_MAX];
	uint64_t seq;
	uint64_t ts;
	uint64_t exp;
};

/** Why a link record was refused: one cause each (dmp_links_why_str). */
enum dmp_links_why {
	DMP_LINKS_OK = 0,
	DMP_LINKS_WHY_PREFIX,	  /* not `v=dmp1;t=links;` */
	DMP_LINKS_WHY_ENCODING,	  /* over 1200 bytes, bad base64, too short */
	DMP_LINKS_WHY_MAGIC,	  /* not DMPLK01 */
	DMP_LINKS_WHY_ENDPOINT,	  /* ep_len 0 or endpoint rule broken */
	DMP_LINKS_WHY_ZONE_COUNT, /* zone_count > 8 */
	DMP_LINKS_WHY_ZONE,	  /* zone_len 0 or > 64, or not a DNS name */
	DMP_LINKS_WHY_ZONE_DUP,	  /* the same zone twice */
	DMP_LINKS_WHY_PEER_COUNT, /* link_count > 16 */
	DMP_LINKS_WHY_COST,	  /* cost_ms 0 or > 60000 */
	DMP_LINKS_WHY_PEER_DUP,	  /* the same peer_spk twice */
	DMP_LINKS_WHY_PEER_SELF,  /* peer_spk = node_spk */
	DMP_LINKS_WHY_TRUNCATED,  /* the body ends inside a field */
	DMP_LINKS_WHY_TRAILING,	  /* bytes after exp */
	DMP_LINKS_WHY_TIMES,	  /* exp <= ts, or ts / exp >= 2^63 */
	DMP_LINKS_WHY_LIFETIME,	  /* exp - ts > 3600 */
	DMP_LINKS_WHY_KEY,	  /* node_spk of low order */
	DMP_LINKS_WHY_SIGNATURE,  /* the signature does not verify */
	DMP_LINKS_WHY_TS_FUTURE,  /* ts more than 300 s ahead of now */
	DMP_LINKS_WHY_TS_STALE,	  /* ts more than 300 s behind now */
	DMP_LINKS_WHY_EXPIRED,	  /* exp <= now */
	DMP_LINKS_WHY_MAX
};

/** A short English phrase for @p why ("duplicate peer_spk", ...). */
const char *dmp_links_why_str(enum dmp_links_why why);

/**
 * Build and sign a link record. @p lk->node_spk must be the public half
 * of @p sk. Zones are written lower case without a trailing dot; peers
 * cheapest first (ties: lower peer_spk), only bit 0 of their flags.
 * What does not fit in DMP_RECORD_WIRE_MAX is left out, in this order
 * of preference: zones first (in the given order, each that fits), then
 * the cheapest peers that fit.
 *
 * @param flags      DMP_HEARTBEAT_STRICT or DMP_HEARTBEAT_ALLOW_LOOPBACK
 *                   (the endpoint rule, dmp/heartbeat.h)
 * @param published  optional: receives exactly what was signed
 * @return wire length, DMP_EINVAL (counts, zone, duplicate or self peer,
 *         cost, times, lifetime), DMP_EMALFORMED (endpoint), DMP_EBADKEY
 *         or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_links_sign(char *out, size_t cap,
				  const struct dmp_links *lk,
				  const uint8_t sk[DMP_ED25519_SK_BYTES],
				  unsigned flags, struct dmp_links *published);

/**
 * Parse and verify a link record value at time @p now (seconds). Order:
 * prefix and framing, body (every field rule above), signature by the
 * embedded node_spk, then time: ts at most 300 s from now either way,
 * exp > now, exp - ts <= 3600.
 *
 * @param out  filled on success, zeroed on failure
 * @param why  optional: the cause of a refusal (DMP_LINKS_OK on success)
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG, DMP_EEXPIRED (stale ts, expired) or
 *         DMP_EFUTURE (ts ahead, lifetime over 3600 s)
 */
DMP_MUST_CHECK int dmp_links_parse(struct dmp_links *out, const char *wire,
				   size_t len, uint64_t now, unsigned flags,
				   enum dmp_links_why *why);

/** Owner name "_dnsmesh-links.<zone>" (dmp/names.h conventions). */
DMP_MUST_CHECK int dmp_links_name(char *out, size_t cap, const char *zone);

#endif /* DMP_LINKS_H */
