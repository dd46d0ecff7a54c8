/*
 * core/include/dmp/heartbeat.h - node heartbeat (PROTOCOL.md 2.8, 8),
 * published at `_dnsmesh-heartbeat.<zone>` and signed by the operator key
 * it carries.
 */
#ifndef DMP_HEARTBEAT_H
#define DMP_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

#define DMP_HEARTBEAT_MAGIC "DMPHB03"
/* Older layout without the zone field: parsed, never emitted (10.14). */
#define DMP_HEARTBEAT_MAGIC_V2 "DMPHB02"
#define DMP_HEARTBEAT_ENDPOINT_MAX 255
#define DMP_HEARTBEAT_VERSION_MAX 32
#define DMP_HEARTBEAT_ZONE_MAX 64
/** Nodes publish with exp = ts + this (2.8). */
#define DMP_HEARTBEAT_LIFETIME 86400
/** Capability bit 0: the node hosts first-contact claims (2.8, 8). */
#define DMP_HEARTBEAT_CAP_CLAIM_PROVIDER 0x0001u
/** Capability bit 1: the node is a DMP-RELAY/1 relay (docs/protocol.md
 * 8.7.4; DMPHB03 parsers ignore it). */
#define DMP_HEARTBEAT_CAP_RELAY 0x0002u

/*
 * Flags for sign, parse and the endpoint check.
 *
 * DMP_HEARTBEAT_ALLOW_LOOPBACK is a deliberate deviation for tests and
 * local demos only: it admits `localhost` and loopback literals
 * (127.0.0.0/8, ::1) as endpoints, which PROTOCOL.md 2.8 and the
 * reference refuse. A heartbeat signed this way is refused by every
 * default (strict) parser, including the reference's.
 */
#define DMP_HEARTBEAT_STRICT 0u
#define DMP_HEARTBEAT_ALLOW_LOOPBACK 0x1u

struct dmp_heartbeat {
	/* ASCII http(s)://host[:port], 1..255 bytes. */
	char endpoint[DMP_HEARTBEAT_ENDPOINT_MAX + 1];
	uint8_t operator_spk[DMP_ED25519_PK_BYTES];  /* the signer */
	char version[DMP_HEARTBEAT_VERSION_MAX + 1]; /* printable ASCII */
	uint16_t capabilities; /* unknown bits are kept, never acted on */
	/* claim_provider_zone, 0..64 bytes; "" when none (and for HB02). */
	char zone[DMP_HEARTBEAT_ZONE_MAX + 1];
	uint64_t ts;
	uint64_t exp;
	int legacy; /* parse only: 1 if the wire was DMPHB02 */
};

/**
 * Check a heartbeat endpoint (PROTOCOL.md 2.8): ASCII without spaces or
 * controls, scheme http or https (any case), then `//host[:port]` and
 * nothing else: no userinfo, path, query or fragment (an empty `?` or `#`
 * is refused too). The port, if present, is 1..65535 in decimal.
 *
 * Refused hosts: localhost, localhost.localdomain, ip6-localhost and any
 * name under .localhost; IPv4 literals in 0/8, 10/8, 100.64/10, 127/8,
 * 169.254/16, 172.16/12, 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15,
 * 198.51.100/24, 203.0.113/24, 224/4 and 240/4; names that look numeric
 * but are not a canonical dotted quad (e.g. `127.1`, `0x7f.1`,
 * `2130706433`), which resolvers may read as addresses; IPv6 literals
 * (in brackets, no zone id) outside 2000::/3, or in 2001::/23,
 * 2001:db8::/32, 2002::/16 or 3fff::/20.
 *
 * @param flags  DMP_HEARTBEAT_STRICT or DMP_HEARTBEAT_ALLOW_LOOPBACK
 * @return 0 or DMP_EMALFORMED
 */
DMP_MUST_CHECK int dmp_heartbeat_endpoint_check(const char *endpoint,
						size_t len, unsigned flags);

/**
 * Build and sign a DMPHB03 heartbeat: `v=dmp1;t=heartbeat;` plus
 * base64(body || sig), at most DMP_RECORD_WIRE_MAX bytes.
 *
 * Checks the endpoint, version (printable ASCII, <= 32), zone (visible
 * ASCII, <= 64), ts and exp below 2^63, exp > ts, and that
 * @p hb->operator_spk is the public half of @p sk. @p hb->legacy is
 * ignored: DMPHB02 is never emitted.
 *
 * @return wire length, DMP_EINVAL, DMP_EMALFORMED (endpoint), DMP_EBADKEY,
 *         DMP_ETOOBIG or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_heartbeat_sign(char *out, size_t cap,
				      const struct dmp_heartbeat *hb,
				      const uint8_t sk[DMP_ED25519_SK_BYTES],
				      unsigned flags);

/**
 * Parse and verify a heartbeat TXT value, DMPHB03 or DMPHB02.
 *
 * Order as the reference: body parse (with the endpoint check), signature
 * by the embedded operator_spk (low-order keys refused), then time:
 * |ts - now| <= 300, exp > now, exp > ts, exp - now <= 30 days (6.2).
 *
 * @param out  filled on success, zeroed on failure
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG, DMP_EEXPIRED (stale ts or expired) or
 *         DMP_EFUTURE (ts or exp too far ahead)
 */
DMP_MUST_CHECK int dmp_heartbeat_parse(struct dmp_heartbeat *out,
				       const char *wire, size_t len,
				       uint64_t now, unsigned flags);

#endif /* DMP_HEARTBEAT_H */
