/*
 * core/include/dmp/update.h - RFC 2136 UPDATE signed with RFC 8945 TSIG,
 * the preferred write path (PROTOCOL.md 7.1).
 *
 * One message carries one or more record operations on names inside one
 * zone. The builder and dmp_update_check_reply() are pure and
 * thread-safe. A struct dmp_update_conn sends them to one node: UDP first with
 * a timeout, TCP when the reply is truncated or the message is large, and the
 * TCP connection stays open so a batch of writes reuses it.
 */
#ifndef DMP_UPDATE_H
#define DMP_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/dnsconst.h" /* DMP_TSIG_FUDGE, DMP_TSIG_MAC_BYTES */

/** A TSIG key (hmac-sha256 only): name and secret, wiped on free. */
struct dmp_tsig_key;

/**
 * Make a key from its name ("alice-…-….mesh.test.") and raw secret.
 * @param[out] out  new key; NULL on failure
 * @return 0, DMP_EBADNAME, DMP_EINVAL (empty secret) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_tsig_key_new(struct dmp_tsig_key **out, const char *name,
				    const uint8_t *secret, size_t secret_len);

/**
 * Parse "hmac-sha256:name:base64secret" (algorithm optional, as in
 * knsupdate -y). Any other algorithm is DMP_EUNSUPPORTED.
 * @return 0, DMP_EINVAL, DMP_EUNSUPPORTED or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_tsig_key_parse(struct dmp_tsig_key **out,
				      const char *spec);

/** Wipe and free; NULL is a no-op. */
void dmp_tsig_key_free(struct dmp_tsig_key *key);

enum dmp_update_op {
	DMP_UPDATE_ADD,		 /* owner ttl IN TXT "…" "…" */
	DMP_UPDATE_DELETE_VALUE, /* owner 0 NONE TXT <rdata> */
	DMP_UPDATE_DELETE_RRSET, /* owner 0 ANY TXT, empty RDATA */
};

/** One operation. The value is split into <= 255-byte strings. */
struct dmp_update_rr {
	enum dmp_update_op op;
	const char *owner; /* inside the zone; written lower case */
	uint32_t ttl;	   /* ADD only */
	const char *value; /* ADD and DELETE_VALUE */
	size_t value_len;
};

/**
 * Build a signed UPDATE deterministically (fixed id and TSIG time): the
 * bytes dnspython would produce (dns_update.json), with names compressed
 * the way it does.
 * @param zone         zone apex (the SOA owner), written lower case
 * @param key          NULL for an unsigned UPDATE (PROTOCOL.md 7.3)
 * @param[out] wire    new buffer, dmp_free() it
 * @param[out] mac     request MAC (needed to verify the reply), may be NULL
 * @return 0, DMP_EBADNAME, DMP_EINVAL (no ops, bad op), DMP_ETOOBIG
 *         (value over 65535 RDATA bytes or message over 65535) or
 *         DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_update_build(uint8_t **wire, size_t *len,
				    uint8_t mac[DMP_TSIG_MAC_BYTES],
				    const char *zone,
				    const struct dmp_update_rr *ops, size_t n,
				    const struct dmp_tsig_key *key, uint16_t id,
				    uint64_t time_signed);

/**
 * Check a reply to the request whose id and MAC are given, and map it to
 * a dmp code (PROTOCOL.md 7.1, RFC 8945 5.3):
 * NOERROR with a valid TSIG -> 0; TSIG error BADTIME -> DMP_ECLOCKSKEW;
 * BADSIG/BADKEY (or an unsigned NOTAUTH) -> DMP_ENOTAUTH; REFUSED ->
 * DMP_EREFUSED; NOTZONE -> DMP_ENOTZONE; SERVFAIL -> DMP_ESERVFAIL;
 * reply signature missing or wrong -> DMP_EBADTSIG; unparsable or not
 * our reply -> DMP_EDNS. @p key NULL skips the TSIG checks. The reply
 * time is checked against the system clock (libknot).
 * @param[out] rcode, tsig_error  what the node said (may be NULL)
 */
DMP_MUST_CHECK int dmp_update_check_reply(const uint8_t *wire, size_t len,
					  uint16_t id,
					  const uint8_t mac[DMP_TSIG_MAC_BYTES],
					  const struct dmp_tsig_key *key,
					  uint64_t time_signed, int *rcode,
					  int *tsig_error);

struct dmp_update_opts {
	unsigned timeout_ms; /* per attempt and per I/O wait; 0 = 5000 */
	unsigned attempts;   /* tries for transient failures; 0 = 3 */
	unsigned backoff_ms; /* first retry delay, doubled; 0 = none */
	int tcp;	     /* always use TCP (batches, large values) */
	size_t udp_max;	     /* larger messages go over TCP; 0 = 1232 */
};

/** Defaults: 5 s timeout, 3 attempts, 500 ms backoff, UDP first. */
void dmp_update_opts_default(struct dmp_update_opts *o);

struct dmp_update_result {
	int rcode;	/* the node's RCODE, -1 if no reply */
	int tsig_error; /* TSIG error field (16 BADSIG, 17 BADKEY, 18
			   BADTIME), 0 if none */
	int used_tcp;
	unsigned attempts;
};

/** A channel to one node for a zone; keeps its TCP connection open.
 *  Not thread-safe: one conn per thread. Once TCP has been used (large
 *  message, truncation or opts.tcp) later sends reuse that connection and
 *  reopen it once if the node closed it while idle. */
struct dmp_update_conn;

/**
 * @param server  "IPv4[:port]", "IPv6" or "[IPv6]:port"; port 53 default
 * @param zone    the zone apex for the zone section
 * @param key     borrowed, must outlive the conn; NULL sends unsigned
 * @param opts    NULL for the defaults
 * @return 0, DMP_EINVAL (bad address), DMP_EBADNAME or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_update_conn_new(struct dmp_update_conn **out,
				       const char *server, const char *zone,
				       const struct dmp_tsig_key *key,
				       const struct dmp_update_opts *opts);

/** Close the socket and free; NULL is a no-op. */
void dmp_update_conn_free(struct dmp_update_conn *c);

/**
 * Send one UPDATE holding @p ops and wait for the verified reply.
 * Blocks for at most about attempts x (timeout + backoff). Transient
 * failures (no reply, ICMP unreachable, SERVFAIL) are retried with
 * backoff; every other answer is final.
 * @param now  Unix seconds for the TSIG time
 * @param res  details, may be NULL
 * @return 0 or the codes of dmp_update_check_reply(), DMP_EUNREACHABLE
 *         (no reply, refused connection), build errors
 */
DMP_MUST_CHECK int dmp_update_send(struct dmp_update_conn *c,
				   const struct dmp_update_rr *ops, size_t n,
				   uint64_t now, struct dmp_update_result *res);

/** One ADD: a convenience over dmp_update_send(). */
DMP_MUST_CHECK int dmp_update_add(struct dmp_update_conn *c, const char *owner,
				  uint32_t ttl, const char *value, uint64_t now,
				  struct dmp_update_result *res);

#endif /* DMP_UPDATE_H */
