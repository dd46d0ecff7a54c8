/*
 * core/src/client/engine_relay.c - the client's relay fallback
 * (docs/protocol.md 8.7.8, DMP-RELAY/1 draft). When no home node answers
 * a message's UPDATE (a timeout or a refused connection; never after a
 * REFUSED verdict or a budget deferral, engine_publish.c decides), its
 * records are renamed into the recipient's zone, a claim pointing there
 * is signed, and the bundle is POSTed to a relay, at most
 * DMP_ENG_RELAY_TRIES a pass: network.relays and the relay peers
 * discovery stored (heartbeat bit 1), in dmp_eng_relay_order(). Names are not
 * signed (8.7.1): the manifest and chunks are the same signed values, only
 * their owners change, each rebuilt by the names.h formula, never by editing a
 * string.
 *
 * The bundle, its id and its JSON are dmp/relay.h's (src/wire/relay.c),
 * the ones every relay checks; HTTP is dmp_eng_http_call (libcurl).
 *
 * Every relay round trip that gets an HTTP answer (a POST, or the
 * GET /health probe of a pass where no candidate has been measured) is
 * folded into that relay's smoothed RTT in the store (relay_rtt), which
 * ranks the candidates of later passes and processes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "dmp/relay.h"
#include "engine_i.h"

/* "chunk-<digits>-<12 hex>.": the index and the msg key of our own chunk
 * names (dmp_name_chunk's form). @return 0 or DMP_EBADNAME */
static int chunk_fields(const char *name, uint32_t *index, char key[13])
{
	const char *p = name + 6;
	char *end;
	unsigned long i;

	if (strncmp(name, "chunk-", 6) != 0 || !isdigit((unsigned char)*p)) {
		return DMP_EBADNAME;
	}
	i = strtoul(p, &end, 10);
	if (*end != '-' || i > UINT16_MAX) {
		return DMP_EBADNAME;
	}
	for (int k = 0; k < 12; k++) {
		if (!isxdigit((unsigned char)end[1 + k])) {
			return DMP_EBADNAME;
		}
		key[k] = end[1 + k];
	}
	key[12] = 0;
	*index = (uint32_t)i;
	return end[13] == '.' ? 0 : DMP_EBADNAME;
}

/* The owner of record @p name in @p zone. @return length or an error */
static int rename_into(char *out, size_t cap, const char *name,
		       const uint8_t rid[DMP_USER_ID_BYTES], const char *zone)
{
	uint32_t index;
	char key[13];

	if (strncmp(name, "slot-", 5) == 0 && isdigit((unsigned char)name[5]) &&
	    name[6] == '.') {
		return dmp_name_slot(out, cap, (uint32_t)(name[5] - '0'), rid,
				     zone);
	}
	if (chunk_fields(name, &index, key) < 0) {
		return DMP_EBADNAME;
	}
	return dmp_name_chunk(out, cap, index, key, zone);
}

static int add(struct dmp_relay_bundle *b, const char *value, uint32_t ttl)
{
	struct dmp_relay_record *o = &b->records[b->n_records];

	o->vlen = strlen(value);
	o->value = dmp_malloc(o->vlen + 1);
	if (!o->value) {
		return DMP_ENOMEM;
	}
	memcpy(o->value, value, o->vlen + 1);
	o->ttl = ttl;
	b->n_records++;
	return 0;
}

int dmp_eng_relay_build(struct dmp_relay_bundle *b,
			const struct dmp_eng_relay_rec *r, size_t n,
			const uint8_t rid[DMP_USER_ID_BYTES], const char *zone,
			int slot, const char *claim, uint32_t claim_ttl)
{
	size_t want = n + (claim ? 1 : 0);
	int rc = 0;

	memset(b, 0, sizeof(*b));
	if (want == 0 || want > DMP_RELAY_RECORDS_MAX) {
		return want ? DMP_ETOOBIG : DMP_EINVAL;
	}
	if (snprintf(b->zone, sizeof(b->zone), "%s", zone) >=
	    (int)sizeof(b->zone)) {
		return DMP_EBADNAME;
	}
	for (char *z = b->zone; *z; z++) {
		*z = (char)tolower((unsigned char)*z);
	}
	b->mode = DMP_RELAY_MODE_PATH;
	b->max_hops = 5; /* mesh.max_hops' default: the node caps it */
	b->records = dmp_calloc(want, sizeof(*b->records));
	if (!b->records) {
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = rename_into(b->records[b->n_records].name,
				 sizeof(b->records[0].name), r[i].name, rid,
				 b->zone);
		rc = rc < 0 ? rc : add(b, r[i].value, r[i].ttl);
	}
	if (rc == 0 && claim) {
		rc = slot < 0 ? DMP_EINVAL
			      : dmp_name_claim(b->records[b->n_records].name,
					       sizeof(b->records[0].name),
					       (uint32_t)slot, rid, b->zone);
		rc = rc < 0 ? rc : add(b, claim, claim_ttl);
	}
	if (rc < 0) {
		dmp_relay_bundle_clear(b);
	}
	return rc < 0 ? rc : 0;
}

const char *dmp_eng_relay_url_bad(const char *url)
{
	size_t n = strlen(url);

	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		return "must start with http:// or https:// (a node's HTTP "
		       "endpoint, as http://HOST:PORT)";
	}
	if (n < 9 || n > 200) {
		return "must be a URL of 9..200 bytes";
	}
	for (size_t i = 0; i < n; i++) {
		if (!isgraph((unsigned char)url[i])) {
			return "must not hold spaces or control characters";
		}
	}
	return "";
}

/* The code of an HTTP status from a relay: 0 taken, else why not. */
static int status_code(int st)
{
	switch (st) {
	case 200:
	case 202:
	case 208: return 0;
	case 400: return DMP_EMALFORMED;
	case 403: return DMP_EACCES;
	case 413: return DMP_ETOOBIG;
	case 429:
	case 503: return DMP_EAGAIN;
	default: return st < 0 ? st : DMP_EIO;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* @p ep with @p path ("v1/relay", "health") appended. */
static void relay_url(char *url, size_t cap, const char *ep, const char *path)
{
	snprintf(url, cap, "%s%s%s", ep, ep[strlen(ep) - 1] == '/' ? "" : "/",
		 path);
}

/* One HTTP exchange with relay @p ep, timed: an answer (any status) is
 * an RTT sample for the store; @p srtt (may be NULL) gets the new SRTT.
 * @return as dmp_eng_http_call */
static int timed_call(struct dmp_engine *e, const char *ep, const char *path,
		      const char *body, long timeout_ms,
		      struct dmp_eng_http_buf *hb, uint32_t *srtt)
{
	char url[256];
	int64_t t0 = mono_ms(), ms;
	int st, rc;

	relay_url(url, sizeof(url), ep, path);
	st = dmp_eng_http_call(url, body, timeout_ms, hb);
	ms = mono_ms() - t0;
	if (st > 0) {
		rc = dmp_store_relay_rtt_add(e->st, ep,
					     (uint32_t)(ms < 0 ? 0 : ms),
					     dmp_eng_now(e), srtt);
		if (rc < 0) {
			DMP_LOG_W("relay %s: RTT not stored: %s", ep,
				  dmp_strerror(rc));
		}
	}
	return st;
}

/* One POST to @p ep. @return the status code's meaning (status_code). */
static int post(struct dmp_engine *e, const char *ep, const char *body,
		int *status, char *reason, size_t rcap, int *hops)
{
	struct dmp_eng_http_buf *hb = dmp_calloc(1, sizeof(*hb));
	json_t *j;
	int st;

	*hops = -1;
	*status = 0;
	reason[0] = 0;
	if (!hb) {
		return DMP_ENOMEM;
	}
	st = timed_call(e, ep, "v1/relay", body, (long)e->conf.timeout_ms, hb,
			NULL);
	*status = st;
	j = st > 0 ? json_loadb(hb->data, hb->len, 0, NULL) : NULL;
	if (j) {
		const char *why =
		    json_string_value(json_object_get(j, "reason"));
		json_t *h = json_object_get(j, "hops");

		snprintf(reason, rcap, "%s", why ? why : "");
		*hops = json_is_integer(h) ? (int)json_integer_value(h) : -1;
		json_decref(j);
	} else if (st > 0) {
		snprintf(reason, rcap, "%.*s",
			 (int)(hb->len < 200 ? hb->len : 200), hb->data);
	}
	dmp_free(hb);
	return status_code(st);
}

/* The bundle of @p m as JSON for its recipient's zone. */
static int body_of(struct dmp_engine *e, const struct dmp_outbox_msg *m,
		   const struct dmp_eng_relay_rec *r, size_t n, int slot,
		   char **body, size_t *len, char *why, size_t why_cap)
{
	struct dmp_store_contact ct;
	struct dmp_relay_bundle b;
	uint8_t rid[DMP_USER_ID_BYTES];
	char claim[256];
	uint32_t ttl = 0;
	int rc, with_claim;

	if (dmp_store_contact_get(e->st, m->recipient, &ct) < 0 ||
	    !ct.domain[0]) {
		snprintf(why, why_cap,
			 "not relayed: the recipient's zone is not known "
			 "(add the contact by address, user@zone)");
		return DMP_ENOENT;
	}
	dmp_sha256(rid, ct.x25519_pk, 32);
	with_claim =
	    slot >= 0 && dmp_eng_claim_sign(e, m, (uint32_t)slot, ct.domain,
					    claim, sizeof(claim), &ttl) == 0;
	rc = dmp_eng_relay_build(&b, r, n, rid, ct.domain, slot,
				 with_claim ? claim : NULL, ttl);
	if (rc == 0) {
		rc = dmp_relay_bundle_to_json(&b, body, len);
	}
	dmp_relay_bundle_clear(&b);
	if (rc < 0) {
		snprintf(why, why_cap, "not relayed: the bundle for %s: %s",
			 ct.domain, dmp_strerror(rc));
	}
	return rc;
}

/* ---- which relays, in which order (8.7.8) ---- */

static int cand_cmp(const struct dmp_eng_relay_cand *x,
		    const struct dmp_eng_relay_cand *y)
{
	if (x->route != y->route) {
		return x->route ? -1 : 1;
	}
	if ((x->rtt_ms != 0) != (y->rtt_ms != 0)) {
		return x->rtt_ms ? -1 : 1;
	}
	if (x->rtt_ms != y->rtt_ms) {
		return x->rtt_ms < y->rtt_ms ? -1 : 1;
	}
	if ((x->configured >= 0) != (y->configured >= 0)) {
		return x->configured >= 0 ? -1 : 1;
	}
	if (x->configured != y->configured) {
		return x->configured < y->configured ? -1 : 1;
	}
	if (x->expired != y->expired) {
		return x->expired ? 1 : -1;
	}
	if (x->hb_ts != y->hb_ts) {
		return x->hb_ts > y->hb_ts ? -1 : 1;
	}
	return strcmp(x->url, y->url);
}

size_t dmp_eng_relay_order(const struct dmp_eng_relay_cand *c, size_t n,
			   size_t *out)
{
	/* An insertion sort: at most DMP_ENG_RELAY_CANDS entries. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && cand_cmp(&c[i], &c[out[j - 1]]) < 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = i;
	}
	return n;
}

struct cands {
	struct dmp_eng_relay_cand v[DMP_ENG_RELAY_CANDS];
	char url[DMP_ENG_RELAY_CANDS][201];
	size_t n;
	int64_t now;
};

static struct dmp_eng_relay_cand *cand_find(struct cands *c, const char *url)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcasecmp(c->url[i], url) == 0) {
			return &c->v[i];
		}
	}
	return NULL;
}

static struct dmp_eng_relay_cand *cand_add(struct cands *c, const char *url)
{
	struct dmp_eng_relay_cand *v;

	if (c->n >= DMP_ENG_RELAY_CANDS || dmp_eng_relay_url_bad(url)[0]) {
		return NULL;
	}
	/* url_bad checked 9..200 bytes. */
	memcpy(c->url[c->n], url, strlen(url) + 1);
	v = &c->v[c->n];
	memset(v, 0, sizeof(*v));
	v->url = c->url[c->n++];
	v->configured = -1;
	return v;
}

/* A peer of the store that advertises relay (heartbeat bit 1). */
static int cand_peer(const struct dmp_store_peer *p, void *ud)
{
	struct cands *c = ud;
	struct dmp_eng_relay_cand *v;

	if (!(p->capabilities & DMP_HEARTBEAT_CAP_RELAY)) {
		return 0;
	}
	v = cand_find(c, p->endpoint);
	if (!v) {
		v = cand_add(c, p->endpoint);
	}
	if (v && p->hb_ts > v->hb_ts) {
		v->hb_ts = p->hb_ts;
		v->expired = c->now < 0 || (uint64_t)c->now >= p->hb_exp;
	}
	return 0;
}

/* network.relays, then (unless turned off) the relay peers discovery
 * stored, one entry per URL (a configured one keeps its place). */
static void cands_collect(struct dmp_engine *e, struct cands *c)
{
	const struct dmp_cfg_list *l = &e->conf.relays;

	c->n = 0;
	c->now = dmp_eng_now(e);
	for (unsigned i = 0; i < l->n; i++) {
		struct dmp_eng_relay_cand *v =
		    cand_find(c, l->v[i]) ? NULL : cand_add(c, l->v[i]);

		if (v) {
			v->configured = (int)i;
		}
	}
	if (e->conf.relays_from_discovery) {
		(void)dmp_store_peer_each(e->st, cand_peer, c);
	}
}

static int is_dead(const struct dmp_eng_relay_dead *d, const char *url)
{
	for (unsigned i = 0; i < d->n; i++) {
		if (strcmp(d->url[i], url) == 0) {
			return 1;
		}
	}
	return 0;
}

static void mark_dead(struct dmp_eng_relay_dead *d, const char *url)
{
	if (d->n < DMP_ENG_RELAY_CANDS && !is_dead(d, url)) {
		snprintf(d->url[d->n++], sizeof(d->url[0]), "%s", url);
	}
}

size_t dmp_eng_relay_rtt_fill(struct dmp_store *st,
			      struct dmp_eng_relay_cand *c, size_t n,
			      int64_t now)
{
	size_t measured = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;

		c[i].rtt_ms = 0;
		if (dmp_store_relay_rtt_get(st, c[i].url, now, &v) == 0) {
			c[i].rtt_ms = v;
			measured++;
		}
	}
	return measured;
}

/* Most relays the health probe asks, and its timeout per relay. */
#define RELAY_PROBES 4
#define RELAY_PROBE_MS 1000L

/* Each candidate's stored SRTT (fresh ones only). When none has one and
 * there are two or more, GET /health of up to RELAY_PROBES of them (in
 * the order without RTT): an answer is a sample, no answer marks the
 * relay dead for this pass. */
static void cands_rtt(struct dmp_engine *e, struct cands *c,
		      struct dmp_eng_relay_dead *dead)
{
	size_t order[DMP_ENG_RELAY_CANDS];
	struct dmp_eng_http_buf *hb;
	int probes = 0;

	if (dmp_eng_relay_rtt_fill(e->st, c->v, c->n, c->now) > 0 || c->n < 2 ||
	    !(hb = dmp_calloc(1, sizeof(*hb)))) {
		return;
	}
	(void)dmp_eng_relay_order(c->v, c->n, order);
	for (size_t k = 0; k < c->n && probes < RELAY_PROBES; k++) {
		struct dmp_eng_relay_cand *v = &c->v[order[k]];

		if (is_dead(dead, v->url)) {
			continue;
		}
		probes++;
		hb->len = 0;
		hb->over = 0;
		if (timed_call(e, v->url, "health", NULL, RELAY_PROBE_MS, hb,
			       &v->rtt_ms) <= 0) {
			DMP_LOG_I("relay %s: no answer to the RTT probe; not "
				  "tried in this pass",
				  v->url);
			mark_dead(dead, v->url);
		}
	}
	dmp_free(hb);
}

int dmp_eng_relay_send(struct dmp_engine *e, const struct dmp_outbox_msg *m,
		       const struct dmp_eng_relay_rec *r, size_t n, int slot,
		       struct dmp_eng_relay_dead *dead, char *path,
		       size_t path_cap, char *why, size_t why_cap)
{
	struct cands *cs = dmp_calloc(1, sizeof(*cs));
	size_t order[DMP_ENG_RELAY_CANDS];
	char *body = NULL, reason[200], d[512];
	size_t len = 0;
	int rc = DMP_ENOENT, tried = 0;

	path[0] = why[0] = 0;
	if (!cs) {
		return DMP_ENOMEM;
	}
	cands_collect(e, cs);
	if (cs->n == 0) {
		dmp_free(cs);
		return DMP_ENOENT;
	}
	rc = body_of(e, m, r, n, slot, &body, &len, why, why_cap);
	if (rc < 0) {
		dmp_free(cs);
		return rc;
	}
	cands_rtt(e, cs, dead);
	(void)dmp_eng_relay_order(cs->v, cs->n, order);
	rc = DMP_EUNREACHABLE;
	for (size_t k = 0; k < cs->n && tried < DMP_ENG_RELAY_TRIES; k++) {
		const char *url = cs->v[order[k]].url;
		int status, hops, c;

		if (is_dead(dead, url)) {
			if (rc == DMP_EUNREACHABLE) {
				snprintf(
				    why, why_cap,
				    "relay %s: no answer earlier in this pass",
				    url);
			}
			continue;
		}
		tried++;
		c = post(e, url, body, &status, reason, sizeof(reason), &hops);
		if (c == 0) {
			const struct dmp_eng_relay_cand *v = &cs->v[order[k]];
			char rtt[32] = "rtt unmeasured";

			if (v->rtt_ms) {
				snprintf(rtt, sizeof(rtt), "rtt %u ms",
					 (unsigned)v->rtt_ms);
			}
			snprintf(path, path_cap, "relay:%s", url);
			snprintf(d, sizeof(d),
				 "relayed via %s%s: %d %s, hops %d, %s (home "
				 "node unreachable)",
				 url,
				 v->configured < 0 ? " (from discovery)" : "",
				 status, reason[0] ? reason : "ok",
				 hops < 0 ? 0 : hops, rtt);
			dmp_eng_emit(e, DMP_EV_RELAYED, m->recipient, m->msg_id,
				     0, d);
			rc = 0;
			break;
		}
		if (status > 0) {
			/* An answer: the reason is the relay's (403 relay
			 * disabled, 413, ...); the next relay may take it. */
			rc = c;
			snprintf(why, why_cap, "relay %s refused: %d %s", url,
				 status, reason);
		} else {
			mark_dead(dead, url); /* not asked again this pass */
		}
		if (status <= 0 && rc == DMP_EUNREACHABLE) {
			snprintf(why, why_cap, "relay %s: no answer (%s)", url,
				 dmp_strerror(c));
		}
	}
	dmp_free(body);
	dmp_free(cs);
	return rc;
}
