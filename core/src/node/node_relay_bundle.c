/*
 * core/src/node/node_relay_bundle.c - may a relay take this bundle
 * (docs/protocol.md 8.7.1, 8.7.2, DMP-RELAY/1)? The size limits, the id
 * recomputed from the content, the hop checks and the verification of
 * every record. Pure logic: no I/O, no clock, no node state.
 *
 * Why in src/node and not src/wire: each record's own check is the one a
 * node makes on a value pulled from a peer (dmp_ns_verify,
 * node_sync_verify.c) and a claim's owner is checked by the node's claim
 * rule (dmp_nu_claim_owner, node_upolicy.c); both are node code. Every
 * name formula is the names module's (names.h): a name is recomputed from
 * the signed fields and compared, never parsed into trust.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/chunk.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/manifest.h"
#include "dmp/names.h"
#include "dmp/record.h"
#include "dmp/relay.h"
#include "dmp/rs.h"
#include "dns/dnswire.h"
#include "node/node_relay_i.h"
#include "node/node_sync_i.h"
#include "node/node_upd.h"

int dmp_nr_say(char *why, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why && cap) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int dmp_nr_limit_bad(size_t max_bytes, char *why, size_t why_cap)
{
	if (max_bytes >= DMP_RELAY_BYTES_MIN &&
	    max_bytes <= DMP_RELAY_BYTES_MAX) {
		return 0;
	}
	dmp_nr_say(why, why_cap, DMP_EINVAL,
		   "limit: %zu value bytes is outside %d..%d", max_bytes,
		   DMP_RELAY_BYTES_MIN, DMP_RELAY_BYTES_MAX);
	return 1;
}

int dmp_relay_bundle_limits(const struct dmp_relay_bundle *b, size_t max_bytes,
			    char *why, size_t why_cap)
{
	size_t sum = 0;

	if (dmp_nr_limit_bad(max_bytes, why, why_cap)) {
		return DMP_EINVAL;
	}
	if (b->n_records == 0) {
		return dmp_nr_say(
		    why, why_cap, DMP_EMALFORMED,
		    "records: none (a bundle holds a manifest and its "
		    "chunks, or claims)");
	}
	if (b->n_records > DMP_RELAY_RECORDS_MAX) {
		return dmp_nr_say(why, why_cap, DMP_ETOOBIG,
				  "records: %zu records, over the %d allowed",
				  b->n_records, DMP_RELAY_RECORDS_MAX);
	}
	for (size_t i = 0; i < b->n_records; i++) {
		if (b->records[i].vlen > UINT16_MAX) {
			return dmp_nr_say(
			    why, why_cap, DMP_ETOOBIG,
			    "records[%zu].value: %zu bytes, over %d", i,
			    b->records[i].vlen, UINT16_MAX);
		}
		sum += b->records[i].vlen;
	}
	if (sum > max_bytes) {
		return dmp_nr_say(
		    why, why_cap, DMP_ETOOBIG,
		    "records: %zu value bytes, over this node's limit "
		    "of %zu (mesh.relay_bundle_bytes)",
		    sum, max_bytes);
	}
	return 0;
}

/* (name, value) bytes: memcmp order, a prefix first. */
static int bytes_cmp(const void *a, size_t al, const void *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

int dmp_relay_bundle_check_id(const struct dmp_relay_bundle *b, char *why,
			      size_t why_cap)
{
	char id[DMP_RELAY_ID_CHARS + 1];
	int rc = dmp_relay_bundle_id(b, id);

	if (rc < 0) {
		return dmp_nr_say(why, why_cap, rc,
				  "id: cannot be computed: %s",
				  dmp_strerror(rc));
	}
	if (strcmp(id, b->id) != 0) {
		return dmp_nr_say(why, why_cap, DMP_EMISMATCH,
				  "id: %s is not the bundle's id %s (8.7.1)",
				  b->id, id);
	}
	return 0;
}

int dmp_relay_hops_check(const struct dmp_relay_bundle *b,
			 unsigned local_max_hops, const char *own_fp, char *why,
			 size_t why_cap)
{
	unsigned limit =
	    b->max_hops < local_max_hops ? b->max_hops : local_max_hops;

	if (b->hops != b->n_path) {
		return dmp_nr_say(
		    why, why_cap, DMP_EMALFORMED,
		    "hops: %u, but path holds %zu fingerprints (they "
		    "must be equal)",
		    b->hops, b->n_path);
	}
	if (b->hops > limit) {
		return dmp_nr_say(
		    why, why_cap, DMP_ERANGE,
		    "hops: %u, over the limit %u (the lower of "
		    "max_hops %u and this node's mesh.max_hops %u)",
		    b->hops, limit, b->max_hops, local_max_hops);
	}
	for (size_t i = 0; i < b->n_path; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(b->path[i], b->path[j]) == 0) {
				return dmp_nr_say(
				    why, why_cap, DMP_EEXIST,
				    "path[%zu]: %s is path[%zu] too (a "
				    "loop)",
				    i, b->path[i], j);
			}
		}
		if (own_fp &&
		    strncmp(b->path[i], own_fp, DMP_RELAY_FP_CHARS + 1) == 0) {
			return dmp_nr_say(why, why_cap, DMP_EEXIST,
					  "path[%zu]: %s is this node (a loop)",
					  i, b->path[i]);
		}
	}
	return 0;
}

/* ---- verification (8.7.1) ---- */

struct vctx {
	const struct dmp_relay_bundle *b;
	uint64_t now;
	char *why;
	size_t cap;
	uint8_t zone[DMP_DNS_NAME_WIRE_MAX];
	size_t zlen;
	struct dmp_manifest m; /* when have_m */
	int have_m;
	size_t mi; /* its record */
};

static const char *type_name(enum dmp_record_type t)
{
	return t == DMP_REC_MANIFEST ? "manifest"
	       : t == DMP_REC_CHUNK  ? "chunk"
	       : t == DMP_REC_CLAIM  ? "claim"
				     : "record";
}

/* Refuse record @p i: "records[i] (type): ...". */
static int fail(struct vctx *v, size_t i, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct vctx *v, size_t i, int rc, const char *fmt, ...)
{
	const struct dmp_relay_record *r = &v->b->records[i];
	va_list ap;
	int n;

	if (!v->why || !v->cap) {
		return rc;
	}
	n = snprintf(v->why, v->cap, "records[%zu] (%s): ", i,
		     type_name(dmp_record_type_of(r->value, r->vlen)));
	if (n >= 0 && (size_t)n < v->cap) {
		va_start(ap, fmt);
		vsnprintf(v->why + n, v->cap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Digits after @p prefix up to @p stop, no leading zero when @p strict;
 * -1 when not so. */
static long index_of(const char *name, const char *prefix, char stop,
		     int strict)
{
	size_t pl = strlen(prefix), k = 0;
	long v = 0;

	if (strncmp(name, prefix, pl) != 0) {
		return -1;
	}
	for (name += pl; name[k] >= '0' && name[k] <= '9' && k < 6; k++) {
		v = v * 10 + (name[k] - '0');
	}
	if (k == 0 || name[k] != stop || (strict && k > 1 && name[0] == '0')) {
		return -1;
	}
	return v;
}

/* Pass 1, every record alone: in zone, a relayed type within its count,
 * not twice, and its own check (dmp_ns_verify). */
static int each_record(struct vctx *v)
{
	const struct dmp_relay_bundle *b = v->b;
	unsigned manifests = 0, claims = 0;

	for (size_t i = 0; i < b->n_records; i++) {
		const struct dmp_relay_record *r = &b->records[i];
		uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
		size_t wl;
		int rc;

		if (dmp_dnswire_from_text(r->name, wire, &wl) != 0 ||
		    !dmp_dnswire_in_zone(wire, wl, v->zone, v->zlen)) {
			return fail(v, i, DMP_EBADNAME,
				    "owner %.100s is not inside zone %s",
				    r->name, b->zone);
		}
		switch (dmp_record_type_of(r->value, r->vlen)) {
		case DMP_REC_MANIFEST:
			if (++manifests > 1) {
				return fail(v, i, DMP_ETOOBIG,
					    "a second manifest (a bundle "
					    "carries one message)");
			}
			v->mi = i;
			break;
		case DMP_REC_CLAIM:
			if (++claims > DMP_RELAY_CLAIMS_MAX) {
				return fail(v, i, DMP_ETOOBIG,
					    "claim %u, over the %d allowed",
					    claims, DMP_RELAY_CLAIMS_MAX);
			}
			break;
		case DMP_REC_CHUNK: break;
		default:
			return fail(v, i, DMP_EPREFIX,
				    "not relayed (%s relays manifests, chunks "
				    "and claims only)",
				    DMP_RELAY_VERSION);
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(r->name, b->records[j].name) == 0 &&
			    bytes_cmp(r->value, r->vlen, b->records[j].value,
				      b->records[j].vlen) == 0) {
				return fail(v, i, DMP_EEXIST,
					    "same name and value as "
					    "records[%zu]",
					    j);
			}
		}
		rc = dmp_ns_verify(r->name, r->value, r->vlen, NULL, v->now);
		if (rc < 0) {
			return fail(v, i, rc, "does not verify: %s",
				    dmp_strerror(rc));
		}
	}
	return 0;
}

/* The manifest: chunk hashes present, at its slot name. */
static int manifest(struct vctx *v)
{
	const struct dmp_relay_record *r = &v->b->records[v->mi];
	char want[DMP_NAME_MAX];
	int rc = dmp_manifest_parse_verify(&v->m, r->value, r->vlen, v->now);

	if (rc < 0) {
		return fail(v, v->mi, rc, "does not verify: %s",
			    dmp_strerror(rc));
	}
	v->have_m = 1;
	if (!v->m.has_hashes) {
		return fail(v, v->mi, DMP_EUNSUPPORTED,
			    "carries no chunk hashes (PROTOCOL.md 2.2)");
	}
	rc = dmp_name_slot(want, sizeof(want), dmp_slot_of(v->m.msg_id),
			   v->m.recipient_id, v->b->zone);
	if (rc < 0 || strcmp(want, r->name) != 0) {
		return fail(v, v->mi, DMP_EBADNAME,
			    "owner is not %.100s (slot and mailbox from the "
			    "signed msg_id and recipient_id)",
			    rc < 0 ? "a name in zone" : want);
	}
	return 0;
}

/* Every chunk: at the manifest's name for its index, each index once,
 * the manifest's hash, at least k of them. */
static int chunks(struct vctx *v, struct dmp_rs *rs)
{
	const struct dmp_relay_bundle *b = v->b;
	uint16_t seen[DMP_MANIFEST_MAX_CHUNKS] = {0}; /* record + 1 */
	uint8_t block[DMP_CHUNK_BLOCK_BYTES];
	char key[DMP_H12_CHARS + 1], want[DMP_NAME_MAX];
	unsigned count = 0;

	if (v->have_m) {
		dmp_msg_key(key, v->m.msg_id, v->m.recipient_id,
			    v->m.sender_spk);
	}
	for (size_t i = 0; i < b->n_records; i++) {
		const struct dmp_relay_record *r = &b->records[i];
		long idx;
		int rc;

		if (dmp_record_type_of(r->value, r->vlen) != DMP_REC_CHUNK) {
			continue;
		}
		if (!v->have_m) {
			return fail(v, i, DMP_ESHARES,
				    "a chunk without its manifest in the "
				    "bundle");
		}
		idx = index_of(r->name, "chunk-", '-', 0);
		if (idx < 0 || (unsigned long)idx >= v->m.total_chunks) {
			return fail(v, i, DMP_EBADNAME,
				    "owner %.100s is not chunk-<i>-<msg_key> "
				    "with i below the manifest's n = %u",
				    r->name, v->m.total_chunks);
		}
		rc = dmp_name_chunk(want, sizeof(want), (uint32_t)idx, key,
				    b->zone);
		if (rc < 0 || strcmp(want, r->name) != 0) {
			return fail(v, i, DMP_EBADNAME,
				    "owner is not %.100s (from the manifest's "
				    "msg_id, recipient_id and sender_spk)",
				    rc < 0 ? "a name in zone" : want);
		}
		if (seen[idx]) {
			return fail(v, i, DMP_EEXIST,
				    "chunk index %ld twice (records[%u] too)",
				    idx, seen[idx] - 1u);
		}
		seen[idx] = (uint16_t)(i + 1);
		rc = dmp_chunk_unwrap(rs, r->value, r->vlen,
				      v->m.chunk_hashes + 32 * (size_t)idx,
				      block);
		if (rc < 0) {
			return fail(v, i, rc,
				    "not the chunk the manifest lists as "
				    "chunk_hashes[%ld]: %s",
				    idx, dmp_strerror(rc));
		}
		count++;
	}
	if (v->have_m && count < v->m.data_chunks) {
		return fail(v, v->mi, DMP_ESHARES,
			    "%u chunks in the bundle, the manifest needs at "
			    "least k = %u of its n = %u",
			    count, v->m.data_chunks, v->m.total_chunks);
	}
	return 0;
}

/* One claim against the manifest: its message, its slot and mailbox,
 * pointing at zone. */
static int claim_vs_manifest(struct vctx *v, size_t i,
			     const struct dmp_claim *c)
{
	const struct dmp_relay_record *r = &v->b->records[i];
	char want[DMP_NAME_MAX];
	int rc;

	if (memcmp(c->sender_spk, v->m.sender_spk, DMP_ED25519_PK_BYTES) ||
	    memcmp(c->msg_id, v->m.msg_id, DMP_MSG_ID_BYTES)) {
		return fail(v, i, DMP_EMISMATCH,
			    "sender_spk or msg_id differs from the "
			    "manifest's (records[%zu])",
			    v->mi);
	}
	if (c->slot != dmp_slot_of(v->m.msg_id)) {
		return fail(v, i, DMP_EMISMATCH,
			    "slot %u, but the manifest's msg_id gives slot %u",
			    c->slot, dmp_slot_of(v->m.msg_id));
	}
	if (!dmp_name_equal(c->sender_mailbox_domain, c->domain_len, v->b->zone,
			    strlen(v->b->zone))) {
		return fail(v, i, DMP_EMISMATCH,
			    "points at %s, not at zone %s where the manifest "
			    "is",
			    c->sender_mailbox_domain, v->b->zone);
	}
	rc = dmp_name_claim(want, sizeof(want), c->slot, v->m.recipient_id,
			    v->b->zone);
	if (rc < 0 || strcmp(want, r->name) != 0) {
		return fail(v, i, DMP_EBADNAME,
			    "owner is not %.100s (the manifest's mailbox)",
			    rc < 0 ? "a name in zone" : want);
	}
	return 0;
}

/* Every claim: a day at most, at claim-<its slot>.mb-<12 hex>.<zone>;
 * the manifest's when there is one, else all of one message. */
static int claims(struct vctx *v)
{
	const struct dmp_relay_bundle *b = v->b;
	struct dmp_claim c, first;
	char hash[13], hash0[13] = "";
	size_t fi = 0;
	int have_first = 0;

	for (size_t i = 0; i < b->n_records; i++) {
		const struct dmp_relay_record *r = &b->records[i];
		uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
		size_t wl;
		int rc;

		if (dmp_record_type_of(r->value, r->vlen) != DMP_REC_CLAIM) {
			continue;
		}
		rc = dmp_claim_parse_verify(&c, r->value, r->vlen, v->now);
		if (rc < 0) {
			return fail(v, i, rc, "does not verify: %s",
				    dmp_strerror(rc));
		}
		if (c.exp - v->now > DMP_RELAY_CLAIM_LIFE) {
			return fail(v, i, DMP_EFUTURE,
				    "lives %llu s more, over the %d a relayed "
				    "claim may",
				    (unsigned long long)(c.exp - v->now),
				    DMP_RELAY_CLAIM_LIFE);
		}
		if (dmp_dnswire_from_text(r->name, wire, &wl) != 0 ||
		    !dmp_nu_claim_owner(wire, wl, v->zone, v->zlen, hash) ||
		    index_of(r->name, "claim-", '.', 1) != (long)c.slot) {
			return fail(v, i, DMP_EBADNAME,
				    "owner %.100s is not claim-%u.mb-<12 "
				    "hex>.%s (the claim's slot, in zone)",
				    r->name, c.slot, b->zone);
		}
		if (v->have_m) {
			rc = claim_vs_manifest(v, i, &c);
		} else if (!have_first) {
			first = c;
			fi = i;
			memcpy(hash0, hash, sizeof(hash0));
			have_first = 1;
		} else if (memcmp(c.sender_spk, first.sender_spk,
				  DMP_ED25519_PK_BYTES) ||
			   memcmp(c.msg_id, first.msg_id, DMP_MSG_ID_BYTES) ||
			   strcmp(hash, hash0) != 0) {
			rc = fail(v, i, DMP_EMISMATCH,
				  "not the message of records[%zu] (msg_id, "
				  "sender_spk and mailbox must be the same)",
				  fi);
		}
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int dmp_relay_bundle_verify(const struct dmp_relay_bundle *b, uint64_t now_s,
			    char *why, size_t why_cap)
{
	struct vctx v;
	struct dmp_rs *rs = NULL;
	int rc;

	memset(&v, 0, sizeof(v));
	v.b = b;
	v.now = now_s;
	v.why = why;
	v.cap = why_cap;
	if (why && why_cap) {
		why[0] = 0;
	}
	if (b->n_records == 0 || b->n_records > DMP_RELAY_RECORDS_MAX) {
		return dmp_nr_say(why, why_cap, DMP_EMALFORMED,
				  "records: %zu, not 1..%d", b->n_records,
				  DMP_RELAY_RECORDS_MAX);
	}
	if (dmp_dnswire_from_text(b->zone, v.zone, &v.zlen) != 0 ||
	    !b->zone[0]) {
		return dmp_nr_say(why, why_cap, DMP_EBADNAME,
				  "zone: not a DNS name");
	}
	v.mi = b->n_records; /* none */
	rc = each_record(&v);
	if (rc == 0 && v.mi < b->n_records) {
		rc = manifest(&v);
	}
	if (rc == 0) {
		rc = dmp_rs_new(&rs);
	}
	if (rc == 0) {
		rc = chunks(&v, rs);
	}
	if (rc == 0) {
		rc = claims(&v);
	}
	dmp_rs_free(rs);
	dmp_manifest_clear(&v.m);
	return rc;
}
