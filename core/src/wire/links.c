/*
 * core/src/wire/links.c - the relay link record (docs/protocol.md 8.7.4,
 * DMP-RELAY/1 draft): body codec, fitting under the 1200-byte cap,
 * signing and verification. The signing framing is signed.c's; the parse
 * is written out here because it reports one cause per refusal
 * (enum dmp_links_why), which the shared framing does not carry.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/links.h"
#include "dmp/record.h"
#include "links_i.h"
#include "signed_i.h"

#define MAGIC_LEN 7
#define PEER_LEN (DMP_ED25519_PK_BYTES + 2 + 1)
/* magic, spk, ep_len + 1 byte, zone_count, link_count, seq, ts, exp */
#define FIXED_LEN (MAGIC_LEN + DMP_ED25519_PK_BYTES + 1 + 1 + 1 + 24)
#define MIN_BODY (FIXED_LEN + 1)
#define INT_LIMIT (UINT64_C(1) << 63)

const char *dmp_links_why_str(enum dmp_links_why why)
{
	static const char *const s[DMP_LINKS_WHY_MAX] = {
	    [DMP_LINKS_OK] = "ok",
	    [DMP_LINKS_WHY_PREFIX] = "not a link record (prefix)",
	    [DMP_LINKS_WHY_ENCODING] = "over 1200 bytes, bad base64 or too "
				       "short",
	    [DMP_LINKS_WHY_MAGIC] = "magic is not DMPLK01",
	    [DMP_LINKS_WHY_ENDPOINT] = "endpoint refused (heartbeat rules)",
	    [DMP_LINKS_WHY_ZONE_COUNT] = "more than 8 zones",
	    [DMP_LINKS_WHY_ZONE] = "zone is not a lower-case DNS name of "
				   "1..64 bytes",
	    [DMP_LINKS_WHY_ZONE_DUP] = "duplicate zone",
	    [DMP_LINKS_WHY_PEER_COUNT] = "more than 16 links",
	    [DMP_LINKS_WHY_COST] = "cost_ms outside 1..60000",
	    [DMP_LINKS_WHY_PEER_DUP] = "duplicate peer_spk",
	    [DMP_LINKS_WHY_PEER_SELF] = "peer_spk is the node's own key",
	    [DMP_LINKS_WHY_TRUNCATED] = "body ends inside a field",
	    [DMP_LINKS_WHY_TRAILING] = "bytes after exp",
	    [DMP_LINKS_WHY_TIMES] = "exp not after ts, or a time >= 2^63",
	    [DMP_LINKS_WHY_LIFETIME] = "exp more than 3600 s after ts",
	    [DMP_LINKS_WHY_KEY] = "node_spk of low order",
	    [DMP_LINKS_WHY_SIGNATURE] = "signature does not verify",
	    [DMP_LINKS_WHY_TS_FUTURE] = "ts more than 300 s ahead",
	    [DMP_LINKS_WHY_TS_STALE] = "ts more than 300 s old",
	    [DMP_LINKS_WHY_EXPIRED] = "expired (exp <= now)",
	};

	return (unsigned)why < DMP_LINKS_WHY_MAX ? s[why] : "unknown";
}

/* Lower case, no trailing dot, and the DNS-name rule (protocol.md 4.3). */
static int zone_canonical(const char *z, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (z[i] >= 'A' && z[i] <= 'Z') {
			return 0;
		}
	}
	return len >= 1 && len <= DMP_LINKS_ZONE_MAX &&
	       dmp_dnsname_normalize(NULL, 0, z, len) == (int)len;
}

/* The rules shared by parse and encode after the fields are read. */
static enum dmp_links_why check_fields(const struct dmp_links *lk)
{
	for (size_t i = 0; i < lk->n_zones; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(lk->zones[i], lk->zones[j]) == 0) {
				return DMP_LINKS_WHY_ZONE_DUP;
			}
		}
	}
	for (size_t i = 0; i < lk->n_peers; i++) {
		const struct dmp_links_peer *p = &lk->peers[i];

		if (p->cost_ms < DMP_LINKS_COST_MIN ||
		    p->cost_ms > DMP_LINKS_COST_MAX) {
			return DMP_LINKS_WHY_COST;
		}
		if (memcmp(p->spk, lk->node_spk, DMP_ED25519_PK_BYTES) == 0) {
			return DMP_LINKS_WHY_PEER_SELF;
		}
		for (size_t j = 0; j < i; j++) {
			if (memcmp(p->spk, lk->peers[j].spk,
				   DMP_ED25519_PK_BYTES) == 0) {
				return DMP_LINKS_WHY_PEER_DUP;
			}
		}
	}
	if (lk->ts >= INT_LIMIT || lk->exp >= INT_LIMIT || lk->exp <= lk->ts) {
		return DMP_LINKS_WHY_TIMES;
	}
	if (lk->exp - lk->ts > DMP_LINKS_LIFETIME_MAX) {
		return DMP_LINKS_WHY_LIFETIME;
	}
	return DMP_LINKS_OK;
}

/* A count byte: the body ends there, or it is over @p max, or fine. */
static enum dmp_links_why read_count(struct dmp_rbuf *r, size_t *n, size_t max,
				     enum dmp_links_why too_many)
{
	*n = dmp_rbuf_u8(r);
	if (dmp_rbuf_error(r)) {
		return DMP_LINKS_WHY_TRUNCATED;
	}
	return *n > max ? too_many : DMP_LINKS_OK;
}

static enum dmp_links_why parse_fields(struct dmp_links *out,
				       struct dmp_rbuf *r, unsigned flags)
{
	enum dmp_links_why w;
	const uint8_t *p;
	size_t l;

	if (!dmp_rbuf_magic(r, DMP_LINKS_MAGIC, MAGIC_LEN)) {
		return dmp_rbuf_error(r) ? DMP_LINKS_WHY_TRUNCATED
					 : DMP_LINKS_WHY_MAGIC;
	}
	dmp_rbuf_copy(r, out->node_spk, sizeof(out->node_spk));
	l = dmp_rbuf_u8(r);
	p = dmp_rbuf_take(r, l);
	if (!p) {
		return DMP_LINKS_WHY_TRUNCATED;
	}
	if (l == 0 ||
	    dmp_heartbeat_endpoint_check((const char *)p, l, flags) != 0) {
		return DMP_LINKS_WHY_ENDPOINT;
	}
	memcpy(out->endpoint, p, l);
	w = read_count(r, &out->n_zones, DMP_LINKS_ZONES_MAX,
		       DMP_LINKS_WHY_ZONE_COUNT);
	if (w != DMP_LINKS_OK) {
		return w;
	}
	for (size_t i = 0; i < out->n_zones; i++) {
		l = dmp_rbuf_u8(r);
		p = dmp_rbuf_take(r, l);
		if (!p) {
			return DMP_LINKS_WHY_TRUNCATED;
		}
		if (!zone_canonical((const char *)p, l)) {
			return DMP_LINKS_WHY_ZONE;
		}
		memcpy(out->zones[i], p, l);
	}
	w = read_count(r, &out->n_peers, DMP_LINKS_PEERS_MAX,
		       DMP_LINKS_WHY_PEER_COUNT);
	if (w != DMP_LINKS_OK) {
		return w;
	}
	for (size_t i = 0; i < out->n_peers; i++) {
		dmp_rbuf_copy(r, out->peers[i].spk, DMP_ED25519_PK_BYTES);
		out->peers[i].cost_ms = dmp_rbuf_u16(r);
		out->peers[i].flags = dmp_rbuf_u8(r) & DMP_LINKS_UP;
	}
	out->seq = dmp_rbuf_u64(r);
	out->ts = dmp_rbuf_u64(r);
	out->exp = dmp_rbuf_u64(r);
	if (dmp_rbuf_error(r)) {
		return DMP_LINKS_WHY_TRUNCATED;
	}
	if (dmp_rbuf_left(r) != 0) {
		return DMP_LINKS_WHY_TRAILING;
	}
	return check_fields(out);
}

int dmp_links_body_parse(struct dmp_links *out, const uint8_t *body, size_t len,
			 unsigned flags, enum dmp_links_why *why)
{
	struct dmp_rbuf r;
	enum dmp_links_why w;

	memset(out, 0, sizeof(*out));
	dmp_rbuf_init(&r, body, len);
	w = parse_fields(out, &r, flags);
	if (why) {
		*why = w;
	}
	if (w != DMP_LINKS_OK) {
		memset(out, 0, sizeof(*out));
		return DMP_EMALFORMED;
	}
	return 0;
}

int dmp_links_body_encode(uint8_t *out, size_t cap, const struct dmp_links *lk,
			  unsigned flags)
{
	size_t el = strnlen(lk->endpoint, sizeof(lk->endpoint));
	struct dmp_wbuf w;

	if (el == sizeof(lk->endpoint) || lk->n_zones > DMP_LINKS_ZONES_MAX ||
	    lk->n_peers > DMP_LINKS_PEERS_MAX) {
		return DMP_EINVAL;
	}
	if (dmp_heartbeat_endpoint_check(lk->endpoint, el, flags) != 0) {
		return DMP_EMALFORMED;
	}
	for (size_t i = 0; i < lk->n_zones; i++) {
		const char *z = lk->zones[i];

		if (!zone_canonical(z, strnlen(z, DMP_LINKS_ZONE_MAX + 1))) {
			return DMP_EINVAL;
		}
	}
	if (check_fields(lk) != DMP_LINKS_OK) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, out, cap);
	dmp_wbuf_put(&w, DMP_LINKS_MAGIC, MAGIC_LEN);
	dmp_wbuf_put(&w, lk->node_spk, sizeof(lk->node_spk));
	dmp_wbuf_u8(&w, (uint8_t)el);
	dmp_wbuf_put(&w, lk->endpoint, el);
	dmp_wbuf_u8(&w, (uint8_t)lk->n_zones);
	for (size_t i = 0; i < lk->n_zones; i++) {
		size_t zl = strlen(lk->zones[i]);

		dmp_wbuf_u8(&w, (uint8_t)zl);
		dmp_wbuf_put(&w, lk->zones[i], zl);
	}
	dmp_wbuf_u8(&w, (uint8_t)lk->n_peers);
	for (size_t i = 0; i < lk->n_peers; i++) {
		dmp_wbuf_put(&w, lk->peers[i].spk, DMP_ED25519_PK_BYTES);
		dmp_wbuf_u16(&w, lk->peers[i].cost_ms);
		dmp_wbuf_u8(&w, lk->peers[i].flags & DMP_LINKS_UP);
	}
	dmp_wbuf_u64(&w, lk->seq);
	dmp_wbuf_u64(&w, lk->ts);
	dmp_wbuf_u64(&w, lk->exp);
	return dmp_wbuf_result(&w, DMP_ETOOBIG);
}

static int encode_body(uint8_t *out, size_t cap, const void *rec,
		       unsigned flags)
{
	return dmp_links_body_encode(out, cap, rec, flags);
}

static const struct dmp_signed_type links_type = {
    .prefix = DMP_PREFIX_LINKS,
    .rec_size = sizeof(struct dmp_links),
    .body_max = DMP_LINKS_BODY_FIT,
    .min_body = MIN_BODY,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_links, node_spk)},
    .encode = encode_body,
};

/* Cheapest first, then the lower key: the order peers are written in. */
static int peer_cmp(const void *a, const void *b)
{
	const struct dmp_links_peer *x = a, *y = b;

	if (x->cost_ms != y->cost_ms) {
		return x->cost_ms < y->cost_ms ? -1 : 1;
	}
	return memcmp(x->spk, y->spk, DMP_ED25519_PK_BYTES);
}

/*
 * @p fit gets the zones of @p lk (in order, each that still fits) and
 * then its cheapest peers that fit, so the body stays within
 * DMP_LINKS_BODY_FIT (8.7.4: a long endpoint with many zones and links).
 */
static void fit(struct dmp_links *fit, const struct dmp_links *lk)
{
	size_t size = FIXED_LEN - 1 + strlen(lk->endpoint);
	struct dmp_links_peer sorted[DMP_LINKS_PEERS_MAX];

	*fit = *lk;
	fit->n_zones = 0;
	fit->n_peers = 0;
	memset(fit->zones, 0, sizeof(fit->zones));
	memset(fit->peers, 0, sizeof(fit->peers));
	for (size_t i = 0; i < lk->n_zones; i++) {
		size_t need = 1 + strlen(lk->zones[i]);

		if (size + need <= DMP_LINKS_BODY_FIT) {
			memcpy(fit->zones[fit->n_zones++], lk->zones[i],
			       need - 1);
			size += need;
		}
	}
	memcpy(sorted, lk->peers, lk->n_peers * sizeof(sorted[0]));
	qsort(sorted, lk->n_peers, sizeof(sorted[0]), peer_cmp);
	for (size_t i = 0; i < lk->n_peers; i++) {
		if (size + PEER_LEN > DMP_LINKS_BODY_FIT) {
			break;
		}
		fit->peers[fit->n_peers] = sorted[i];
		fit->peers[fit->n_peers++].flags &= DMP_LINKS_UP;
		size += PEER_LEN;
	}
}

int dmp_links_sign(char *out, size_t cap, const struct dmp_links *lk,
		   const uint8_t sk[DMP_ED25519_SK_BYTES], unsigned flags,
		   struct dmp_links *published)
{
	uint8_t scratch[DMP_LINKS_BODY_MAX];
	struct dmp_links canon, fitted;
	int rc;

	if (cap) {
		out[0] = '\0';
	}
	if (lk->n_zones > DMP_LINKS_ZONES_MAX) {
		return DMP_EINVAL;
	}
	/* Zones as written: lower case, no trailing dot. */
	canon = *lk;
	for (size_t i = 0; i < lk->n_zones; i++) {
		const char *z = lk->zones[i];
		int n =
		    dmp_owner_name_lower(canon.zones[i], sizeof(canon.zones[i]),
					 z, strnlen(z, sizeof(lk->zones[i])));

		if (n < 0) {
			return DMP_EINVAL;
		}
	}
	/* Every rule checked on the whole record, before anything is cut. */
	rc = dmp_links_body_encode(scratch, sizeof(scratch), &canon, flags);
	if (rc < 0) {
		return rc;
	}
	fit(&fitted, &canon);
	rc = dmp_signed_sign1(out, cap, &links_type, &fitted, sk, flags);
	if (rc >= 0 && published) {
		*published = fitted;
	}
	return rc;
}

int dmp_links_parse(struct dmp_links *out, const char *wire, size_t len,
		    uint64_t now, unsigned flags, enum dmp_links_why *why)
{
	uint8_t blob[DMP_RECORD_WIRE_MAX];
	enum dmp_links_why w = DMP_LINKS_OK;
	size_t blob_len, body_len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dmp_record_decode(blob, sizeof(blob), &blob_len, wire, len,
			       DMP_PREFIX_LINKS, DMP_RECORD_WIRE_MAX,
			       MIN_BODY + DMP_SIG_BYTES);
	if (rc < 0) {
		w = rc == DMP_EPREFIX ? DMP_LINKS_WHY_PREFIX
				      : DMP_LINKS_WHY_ENCODING;
		goto out;
	}
	body_len = blob_len - DMP_SIG_BYTES;
	rc = dmp_links_body_parse(out, blob, body_len, flags, &w);
	if (rc < 0) {
		rc = w == DMP_LINKS_WHY_LIFETIME ? DMP_EFUTURE : rc;
		goto out;
	}
	rc = dmp_verify(blob + body_len, blob, body_len, out->node_spk);
	if (rc < 0) {
		w = rc == DMP_EBADKEY ? DMP_LINKS_WHY_KEY
				      : DMP_LINKS_WHY_SIGNATURE;
		goto out;
	}
	if (out->ts > now && out->ts - now > DMP_CLOCK_SKEW) {
		w = DMP_LINKS_WHY_TS_FUTURE;
		rc = DMP_EFUTURE;
	} else if (out->ts < now && now - out->ts > DMP_CLOCK_SKEW) {
		w = DMP_LINKS_WHY_TS_STALE;
		rc = DMP_EEXPIRED;
	} else if (out->exp <= now) {
		w = DMP_LINKS_WHY_EXPIRED;
		rc = DMP_EEXPIRED;
	}
out:
	if (why) {
		*why = w;
	}
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
