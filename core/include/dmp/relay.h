/*
 * core/include/dmp/relay.h - DMP-RELAY/1 bundles (docs/protocol.md 8.7,
 * draft): the records of one message for one destination zone, handed
 * from node to node by POST /v1/relay. Here is the pure logic a relay
 * needs to accept or refuse one: the JSON body, the bundle id, the hop
 * checks and the verification of every record. No I/O, no clock reads
 * (`now` is a parameter), nothing kept between calls: reentrant.
 *
 * Where it lives: clear, id and JSON body in src/wire/relay.c (the client
 * builds bundles with them, docs/protocol.md 8.7.8); limits, parsing,
 * hop checks and verification in src/node (node_relay_*.c), which reuse
 * the node's checks of pulled values.
 *
 * Refusals come back as a negative code and, where the caller passes a
 * buffer, a reason naming the field or the record index and the check
 * that failed (the body of the 400 or 403).
 */
#ifndef DMP_RELAY_H
#define DMP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/names.h"

/** The "v" of every body. */
#define DMP_RELAY_VERSION "DMP-RELAY/1"
/** Hex characters of a bundle id. */
#define DMP_RELAY_ID_CHARS 32
/** Hex characters of a node fingerprint in "path". */
#define DMP_RELAY_FP_CHARS 16
/** Most entries in "path", and the largest hops, max_hops, budget. */
#define DMP_RELAY_HOPS_MAX 16
/** Most records in one bundle. */
#define DMP_RELAY_RECORDS_MAX 64
/** Most claims in one bundle. */
#define DMP_RELAY_CLAIMS_MAX 4
/** The range and default of the value-bytes limit of one bundle
 * (mesh.relay_bundle_bytes). */
#define DMP_RELAY_BYTES_MIN 4096
#define DMP_RELAY_BYTES_MAX 65536
#define DMP_RELAY_BYTES_DEFAULT 32768
/** A relayed claim lives at most a day (as an un-TSIG'd claim, 7.3). */
#define DMP_RELAY_CLAIM_LIFE 86400
/** Longest zone: the DNS-name rule (PROTOCOL.md 3.3). */
#define DMP_RELAY_ZONE_MAX 64
/** Room for a reason. */
#define DMP_RELAY_WHY_MAX 256

enum dmp_relay_mode {
	DMP_RELAY_MODE_PATH = 0, /* routed */
	DMP_RELAY_MODE_FLOOD = 1 /* no route known: budgeted flooding */
};

struct dmp_relay_record {
	char name[DMP_NAME_MAX]; /* owner, as sent (lower case expected) */
	char *value;		 /* owned (dmp_malloc), NUL-terminated */
	size_t vlen;		 /* bytes of value, 0..65535 */
	uint32_t ttl;		 /* remaining seconds */
};

struct dmp_relay_bundle {
	/** The id the sender claimed ("" when built here); compare with
	 *  dmp_relay_bundle_id(), never trust it. */
	char id[DMP_RELAY_ID_CHARS + 1];
	char zone[DMP_RELAY_ZONE_MAX + 1]; /* lower case, no trailing dot */
	enum dmp_relay_mode mode;
	unsigned hops;	   /* 0..16, == n_path for a well-formed copy */
	unsigned max_hops; /* 1..16 */
	unsigned budget;   /* flood mode: 0..16; path mode: 0 */
	char path[DMP_RELAY_HOPS_MAX][DMP_RELAY_FP_CHARS + 1];
	size_t n_path;
	struct dmp_relay_record *records; /* owned array (dmp_malloc) */
	size_t n_records;
};

/** Free the records and zero @p b. NULL is a no-op. */
void dmp_relay_bundle_clear(struct dmp_relay_bundle *b);

/**
 * Longest body dmp_relay_bundle_parse_json() reads for a value-bytes
 * limit of @p max_bytes: the values, 64 names and room for the JSON
 * around them (escaped values do not fit; honest senders never escape).
 */
size_t dmp_relay_body_max(size_t max_bytes);

/**
 * The size limits (8.7.1): 1..64 records, each value at most 65535 bytes
 * (its length is a u16 in the id), the values at most @p max_bytes in all.
 * @param max_bytes  DMP_RELAY_BYTES_MIN..DMP_RELAY_BYTES_MAX
 * @return 0, DMP_ETOOBIG (413), DMP_EMALFORMED (no records, 400) or
 *         DMP_EINVAL (@p max_bytes out of range)
 */
DMP_MUST_CHECK int dmp_relay_bundle_limits(const struct dmp_relay_bundle *b,
					   size_t max_bytes, char *why,
					   size_t why_cap);

/**
 * Parse the body of POST /v1/relay (8.7.2), strictly: an object with
 * exactly the members v, id, zone, mode, hops, max_hops, budget, path,
 * records; "v" exactly DMP_RELAY_VERSION; id 32 lower-case hex; zone a
 * lower-case DNS name without trailing dot; mode "path" or "flood";
 * hops 0..16, max_hops 1..16, budget 0..16 and 0 in path mode; path at
 * most 16 fingerprints of 16 lower-case hex; records as
 * dmp_relay_bundle_limits() allows, each {name, value, ttl} with a name
 * of 1..253 bytes of [A-Za-z0-9._-], a string value and ttl 0..2^31.
 * Nothing is verified here (see dmp_relay_hops_check(),
 * dmp_relay_bundle_id(), dmp_relay_bundle_verify()).
 *
 * @param[out] b    filled on success (dmp_relay_bundle_clear()); zeroed,
 *                  with nothing to free, on failure
 * @param max_bytes the value-bytes limit, DMP_RELAY_BYTES_MIN..MAX
 * @param why       if not NULL, the refusal naming the field
 * @return 0, DMP_EMALFORMED (400), DMP_EUNSUPPORTED ("v" is not ours,
 *         400), DMP_ETOOBIG (413: body, records or bytes over the limits),
 *         DMP_EINVAL (@p max_bytes out of range) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_relay_bundle_parse_json(struct dmp_relay_bundle *b,
					       const char *body, size_t len,
					       size_t max_bytes, char *why,
					       size_t why_cap);

/**
 * The body for @p b, with the id recomputed (b->id is ignored).
 * @param[out] out  NUL-terminated JSON (dmp_free()), @p len its length
 * @return 0, DMP_ETOOBIG (a value over 65535 bytes), DMP_EINVAL (a field
 *         out of its range) or DMP_ENOMEM (also: a string not UTF-8)
 */
DMP_MUST_CHECK int dmp_relay_bundle_to_json(const struct dmp_relay_bundle *b,
					    char **out, size_t *len);

/**
 * The bundle id (8.7.1): the first 32 hex of SHA-256("DMP-RELAY/1\n" ||
 * for each record sorted by (name, value) bytes: u16 len(name) || name ||
 * u16 len(value) || value). TTLs, hops and path are not in it.
 * @return 0, DMP_ETOOBIG (a name or value over 65535 bytes) or
 *         DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_relay_bundle_id(const struct dmp_relay_bundle *b,
				       char out[DMP_RELAY_ID_CHARS + 1]);

/**
 * b->id against the recomputed id.
 * @return 0, DMP_EMISMATCH (400: the reason gives both) or as
 *         dmp_relay_bundle_id()
 */
DMP_MUST_CHECK int dmp_relay_bundle_check_id(const struct dmp_relay_bundle *b,
					     char *why, size_t why_cap);

/**
 * The hop checks of one hop (8.7.2, 8.7.5): hops equals the length of
 * path, hops <= min(max_hops, @p local_max_hops), no fingerprint twice in
 * path, and @p own_fp (this node's fingerprint, 16 hex) not in path.
 * @return 0, DMP_EMALFORMED (hops != len(path), 400), DMP_ERANGE (over
 *         the hop limit, 403) or DMP_EEXIST (a loop: own fingerprint or
 *         one twice in path, 403)
 */
DMP_MUST_CHECK int dmp_relay_hops_check(const struct dmp_relay_bundle *b,
					unsigned local_max_hops,
					const char *own_fp, char *why,
					size_t why_cap);

/**
 * Verify every record (8.7.1) at @p now_s: every owner inside zone;
 * only manifest (at most 1), chunks and claims (at most 4), no record
 * twice; each record's own check as a value pulled from a peer
 * (signature, time window, chunk unwrap); the manifest carries chunk
 * hashes and lives at slot-<slot(msg_id)>.mb-<h12(recipient_id)>.<zone>;
 * each chunk lives at chunk-<i>-<msg_key>.<zone> with i < n, once, its
 * hash equal to the manifest's chunk_hashes[i], at least k of them; no
 * chunk without a manifest; each claim has exp - now <= 86400, lives at
 * claim-<slot>.mb-<12 hex>.<zone> with its own slot and, with a
 * manifest, is the manifest's (sender_spk, msg_id, slot, mailbox) and
 * points at zone (sender_mailbox_domain); all claims of a claims-only
 * bundle are of one message (msg_id and sender_spk).
 * @return 0 or the failed check's code (all 403): DMP_EBADNAME (owner
 *         outside zone or not the recomputed name), DMP_EPREFIX (a type
 *         that is not relayed), DMP_ETOOBIG (a second manifest, a fifth
 *         claim), DMP_EEXIST (a record or chunk index twice),
 *         DMP_ECHUNKHASH, DMP_ESHARES (fewer than k chunks, or chunks
 *         without a manifest), DMP_EMISMATCH (claim and manifest disagree),
 *         DMP_EFUTURE (claim living over a day), DMP_EUNSUPPORTED
 *         (manifest without chunk hashes), a record's own parse error
 *         (DMP_EBADSIG, DMP_EEXPIRED, ...) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_relay_bundle_verify(const struct dmp_relay_bundle *b,
					   uint64_t now_s, char *why,
					   size_t why_cap);

#endif /* DMP_RELAY_H */
