/*
 * core/src/dns/tsig.h - RFC 8945 TSIG with hmac-sha256, the one signer and
 * verifier of the library: the client's UPDATE writer (update.c) and the
 * node's UPDATE and zone-transfer paths use it.
 *
 * Every function takes the clock as a parameter. libknot's knot_tsig_sign(),
 * knot_tsig_sign_next(), knot_tsig_server_check() and
 * knot_tsig_client_check() all read time(NULL), while the node's clock is a
 * parameter (tests replay requests signed in 2030) and the client signs
 * with the time its caller gives; knot_tsig_sign() also writes the owner
 * uncompressed where dnspython, whose bytes the client must reproduce
 * (tests/vectors/dns_update.json), compresses it. So the MACs are computed
 * here over libsodium's HMAC. libknot still checks replies for the client
 * against the system clock (dmp_update_check_reply) and checks this code
 * in the unit tests.
 */
#ifndef DMP_DNS_TSIG_H
#define DMP_DNS_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/dnsconst.h" /* DMP_TSIG_FUDGE, DMP_TSIG_MAC_BYTES */

#include "dns/dnswire.h"

/* RFC 8945 5.2.2.1: shorter MACs than this are FORMERR. */
#define DMP_TSIG_MAC_MIN 10

/** "hmac-sha256." in wire form (RFC 8945 6). */
extern const uint8_t dmp_tsig_alg_hmac_sha256[13];

/** A TSIG RR as read from a message (RFC 8945 4.2). */
struct dmp_tsig_rr {
	size_t start; /* offset of the RR in its message */
	uint8_t key[DMP_DNS_NAME_WIRE_MAX]; /* owner, lower-case wire */
	size_t klen;
	uint8_t alg[DMP_DNS_NAME_WIRE_MAX];
	size_t alen;
	uint64_t time_signed;
	uint16_t fudge;
	const uint8_t *mac; /* into the message */
	uint16_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
};

/**
 * Read the TSIG RDATA at msg[rd..rd + rdlen) into @p ts (the owner and
 * start are the caller's). The algorithm name is never compressed.
 * @return 0 or DMP_EMALFORMED
 */
int dmp_tsig_parse(const uint8_t *msg, size_t rd, size_t rdlen,
		   struct dmp_tsig_rr *ts);

/**
 * Find the TSIG RR of a message: the last RR of a non-empty additional
 * section (RFC 8945 5.1), after the questions and the other RRs.
 * @return 1 found (in @p ts), 0 none or the message does not parse that far
 */
int dmp_tsig_find(const uint8_t *msg, size_t len, struct dmp_tsig_rr *ts);

/** 1 if @p ts names hmac-sha256, the one algorithm we know. */
int dmp_tsig_alg_ok(const struct dmp_tsig_rr *ts);

/**
 * Verify the TSIG @p ts of msg (its RR at ts->start) with @p secret at
 * time @p now (Unix seconds), RFC 8945 5.2 in its order: MAC size, MAC,
 * truncation (we take none), time against the request's fudge.
 * @param req_mac  for a reply, the request's MAC (4.3.1); else NULL
 * @return 0, DMP_DNS_RCODE_BADSIG, DMP_DNS_RCODE_BADTRUNC,
 *         DMP_DNS_RCODE_BADTIME, or DMP_EMALFORMED for a MAC size outside
 *         10..32 (FORMERR)
 */
int dmp_tsig_verify(const uint8_t *msg, const struct dmp_tsig_rr *ts,
		    const uint8_t *secret, size_t secret_len,
		    const uint8_t *req_mac, size_t req_mac_len, uint64_t now);

/** What dmp_tsig_sign() writes. */
struct dmp_tsig_sign_args {
	const uint8_t *key;    /* key name, lower-case wire */
	const uint8_t *alg;    /* algorithm name written; NULL: hmac-sha256 */
	const uint8_t *secret; /* NULL: empty MAC (RFC 8945 5.3.2 errors) */
	size_t secret_len;
	const uint8_t *req_mac; /* a reply: the request's MAC (4.3.1) */
	size_t req_mac_len;
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
};

/**
 * Sign the message in @p w (its ID is the original ID) and append the TSIG
 * RR, last in the additional section (ARCOUNT + 1). Its owner is compressed
 * through @p ct when given (dnspython does); RDATA names never are.
 * @param mac  receives the MAC (when a secret is given), may be NULL
 * @return 0, DMP_ENOBUFS (fixed buffer full) or DMP_ENOMEM
 */
int dmp_tsig_sign(struct dmp_wbuf *w, struct dmp_dnswire_ctab *ct,
		  const struct dmp_tsig_sign_args *a,
		  uint8_t mac[DMP_TSIG_MAC_BYTES]);

/**
 * The TSIG of a reply to the request whose TSIG is @p req (RFC 8945 5.3):
 * signed with @p secret over the request MAC, or unsigned for @p secret
 * NULL (BADKEY, BADSIG: 5.3.2). BADTIME keeps the request's time and puts
 * @p now in Other Data (5.2.3).
 */
int dmp_tsig_sign_reply(struct dmp_wbuf *w, const struct dmp_tsig_rr *req,
			const uint8_t *secret, size_t secret_len,
			uint16_t error, uint64_t now,
			uint8_t mac[DMP_TSIG_MAC_BYTES]);

/**
 * Sign a later message of a multi-message answer (AXFR, IXFR; RFC 8945
 * 5.3.1): MAC over the prior MAC, the message and the timers. @p prior is
 * the MAC of the previous message and receives this one's.
 */
int dmp_tsig_sign_next(struct dmp_wbuf *w, const uint8_t *key,
		       const uint8_t *secret, size_t secret_len,
		       uint8_t prior[DMP_TSIG_MAC_BYTES], uint64_t now,
		       uint16_t fudge);

/* ---- tsig_replay.c: request MACs seen (RFC 8945 5.2.3 replay) ---- */

/** Slots looked at for one MAC. */
#define DMP_TSIG_REPLAY_PROBE 32

/** A fixed-size set of request MACs, each kept until its time_signed +
 * fudge; not locked (the caller serialises). */
struct dmp_tsig_replay;

/** A cache of 2^@p log2_slots slots (6..24), 24 bytes each.
 * @return 0, DMP_EINVAL or DMP_ENOMEM */
int dmp_tsig_replay_new(struct dmp_tsig_replay **out, unsigned log2_slots);
void dmp_tsig_replay_free(struct dmp_tsig_replay *r);

/**
 * Record the MAC of a request that dmp_tsig_verify() accepted at @p now.
 * @return 0 first sighting (now recorded), DMP_EREPLAY seen before and
 *         still within its time window, DMP_ENOSPC no room without
 *         forgetting a live entry (refuse the request: fail safe), or
 *         DMP_EINVAL for a MAC shorter than 16 bytes
 */
int dmp_tsig_replay_check(struct dmp_tsig_replay *r,
			  const struct dmp_tsig_rr *ts, uint64_t now);

#endif /* DMP_DNS_TSIG_H */
