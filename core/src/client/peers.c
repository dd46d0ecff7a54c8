/*
 * core/src/client/peers.c - client-side node discovery (peers.h).
 *
 * Only heartbeats that verify are kept (PROTOCOL.md 2.8: signature by the
 * embedded operator key, |ts - now| <= 300, exp in range), so a name can
 * hold any amount of garbage or forged values without effect: they are
 * dropped one by one. Trust stays as in 8: a heartbeat proves only that
 * its operator key signed it recently, not that the node is honest.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client_config.h"
#include "dmp/addr.h"
#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "dmp/peers.h"
#include "dmp/record.h"

#define HB_PREFIX "_dnsmesh-heartbeat."
#define SEEN_PREFIX "_dnsmesh-seen."
#define REFRESH_TIMEOUT_MS 10000
/* The heartbeat freshness window (2.8: |ts - now| <= 300). */
#define HB_SKEW 300

/* ---- settings ------------------------------------------------------------ */

static void add_seed(struct dmp_peers_conf *c, const char *zone)
{
	char norm[DMP_PEERS_ZONE_MAX + 1];
	int n = dmp_dnsname_normalize_max(norm, sizeof(norm), zone,
					  strlen(zone), DMP_PEERS_ZONE_MAX);

	if (n < 0) {
		DMP_LOG_W("discovery: seed zone '%s' skipped: %s", zone,
			  dmp_strerror(n));
		return;
	}
	for (size_t i = 0; i < c->n_seeds; i++) {
		if (dmp_name_equal(c->seeds[i], strlen(c->seeds[i]), norm,
				   (size_t)n)) {
			return;
		}
	}
	if (c->n_seeds >= DMP_PEERS_SEEDS_MAX) {
		DMP_LOG_W("discovery: more than %d seed zones; '%s' skipped",
			  DMP_PEERS_SEEDS_MAX, zone);
		return;
	}
	memcpy(c->seeds[c->n_seeds++], norm, (size_t)n + 1);
}

int dmp_peers_conf_load(const char *home, struct dmp_peers_conf *out)
{
	struct client_conf *cc = NULL;
	char path[4200], err[512];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!home) {
		return DMP_EINVAL;
	}
	cc = dmp_calloc(1, sizeof(*cc));
	if (!cc) {
		return DMP_ENOMEM;
	}
	rc = dmp_config_defaults(dmp_client_schema, dmp_client_schema_len, cc);
	if (rc < 0) {
		goto out;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	rc = dmp_config_load(dmp_client_schema, dmp_client_schema_len, cc, path,
			     err, sizeof(err));
	if (rc < 0 && rc != DMP_ENOENT) {
		DMP_LOG_E("%s", err);
		rc = DMP_ECONFIG;
		goto out;
	}
	if (rc < 0) {
		goto out;
	}
	if (cc->domain[0]) {
		add_seed(out, cc->domain);
	}
	for (unsigned i = 0; i < cc->seeds.n; i++) {
		add_seed(out, cc->seeds.v[i]);
	}
	out->allow_loopback = cc->allow_loopback;
	out->interval = cc->discovery_interval;
	out->stale_after = 2 * out->interval + HB_SKEW;
out:
	dmp_wipe_free(cc, sizeof(*cc)); /* holds network.tsig */
	return rc;
}

/* ---- health and names ---------------------------------------------------- */

static int network_error(int err)
{
	return err == DMP_EUNREACHABLE || err == DMP_ETIMEDOUT ||
	       err == DMP_ESERVFAIL || err == DMP_EREFUSED;
}

enum dmp_peer_health dmp_peer_health(const struct dmp_store_peer *p,
				     int64_t now, int64_t stale_after)
{
	if (now < 0 || (uint64_t)now >= p->hb_exp) {
		return DMP_PEER_EXPIRED;
	}
	if (p->failures > 0 && network_error(p->last_err)) {
		return DMP_PEER_UNREACHABLE;
	}
	if (p->failures > 0 ||
	    (uint64_t)now > p->hb_ts + (uint64_t)stale_after) {
		return DMP_PEER_STALE;
	}
	return DMP_PEER_OK;
}

const char *dmp_peer_health_name(enum dmp_peer_health h)
{
	switch (h) {
	case DMP_PEER_OK: return "ok";
	case DMP_PEER_STALE: return "stale";
	case DMP_PEER_EXPIRED: return "expired";
	case DMP_PEER_UNREACHABLE: return "unreachable";
	}
	return "?";
}

/* The host[:port] part of a checked endpoint (2.8: scheme://host[:port]). */
static const char *endpoint_authority(const char *ep)
{
	const char *s = strstr(ep, "://");

	return s ? s + 3 : ep;
}

int dmp_peer_file_name(const struct dmp_store_peer *p, char *out, size_t cap)
{
	const char *a = endpoint_authority(p->endpoint);
	size_t n = 0, alen = strlen(a);
	char fp[9];

	if (cap < 64) {
		if (cap) {
			out[0] = 0;
		}
		return DMP_ENOBUFS;
	}
	/* Keep the tail short enough for "-" + 8 hex digits + NUL. */
	if (alen > cap - 10) {
		alen = cap - 10;
	}
	for (size_t i = 0; i < alen; i++) {
		char ch = a[i];
		int safe = (ch >= 'a' && ch <= 'z') ||
			   (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';

		out[n++] = safe ? ch : '_';
	}
	/* Never "." or "..", never a leading dot (hidden file). */
	if (n > 0 && out[0] == '.') {
		out[0] = '_';
	}
	dmp_hex_encode(fp, p->operator_spk, 4);
	out[n++] = '-';
	memcpy(out + n, fp, 8);
	n += 8;
	out[n] = 0;
	return (int)n;
}

/* Lower-cased endpoint host, "" when it is an IP literal (no zone). */
static void endpoint_zone(const char *ep, char *out, size_t cap)
{
	const char *a = endpoint_authority(ep);
	struct dmp_hostport hp;
	int numeric = 1;

	out[0] = 0;
	if (dmp_hostport_split(&hp, a, strcspn(a, "/"), 0, 0) != 0 ||
	    hp.bracketed || hp.host_len >= cap) {
		return;
	}
	for (size_t i = 0; i < hp.host_len; i++) {
		char ch = hp.host[i];

		if (ch >= 'A' && ch <= 'Z') {
			ch = (char)(ch - 'A' + 'a');
		}
		numeric &= (ch >= '0' && ch <= '9') || ch == '.';
		out[i] = ch;
	}
	out[hp.host_len] = 0;
	if (numeric) {
		out[0] = 0;
	}
}

/* ---- ingest -------------------------------------------------------------- */

struct cand {
	struct dmp_heartbeat hb;
	const char *source;
};

static struct cand *cand_find(struct cand *v, size_t n,
			      const struct dmp_heartbeat *hb)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(v[i].hb.operator_spk, hb->operator_spk, 32) == 0 &&
		    strcmp(v[i].hb.endpoint, hb->endpoint) == 0) {
			return &v[i];
		}
	}
	return NULL;
}

static int ingest(struct dmp_store *st, const char *const *names,
		  const struct dmp_resolver_result *res, size_t n, int64_t now,
		  unsigned flags, unsigned *verified);

int dmp_peers_ingest(struct dmp_store *st, const char *const *names,
		     const struct dmp_resolver_result *res, size_t n,
		     int64_t now, unsigned flags)
{
	return ingest(st, names, res, n, now, flags, NULL);
}

/* @p verified: NULL, or n counters of values verified per name. */
static int ingest(struct dmp_store *st, const char *const *names,
		  const struct dmp_resolver_result *res, size_t n, int64_t now,
		  unsigned flags, unsigned *verified)
{
	struct cand *v = NULL;
	size_t nv = 0;
	int rc = 0;

	if (!st || (n > 0 && (!names || !res)) || now < 0) {
		return DMP_EINVAL;
	}
	v = dmp_calloc(DMP_PEERS_MAX_PER_REFRESH, sizeof(*v));
	if (!v) {
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (res[i].err != 0) {
			continue;
		}
		for (size_t j = 0; j < res[i].answer.n; j++) {
			struct dmp_heartbeat hb;
			struct cand *c;
			int prc = dmp_heartbeat_parse(
			    &hb, res[i].answer.values[j], res[i].answer.lens[j],
			    (uint64_t)now, flags);

			if (prc < 0) {
				DMP_LOG_D("discovery: %s: value %zu refused: "
					  "%s",
					  names[i], j, dmp_strerror(prc));
				continue;
			}
			if (verified) {
				verified[i]++;
			}
			c = cand_find(v, nv, &hb);
			if (c) {
				if (hb.ts > c->hb.ts) {
					c->hb = hb;
					c->source = names[i];
				}
				continue;
			}
			if (nv >= DMP_PEERS_MAX_PER_REFRESH) {
				continue;
			}
			v[nv].hb = hb;
			v[nv].source = names[i];
			nv++;
		}
	}
	for (size_t i = 0; i < nv && rc == 0; i++) {
		struct dmp_store_peer p;

		memset(&p, 0, sizeof(p));
		snprintf(p.endpoint, sizeof(p.endpoint), "%s",
			 v[i].hb.endpoint);
		memcpy(p.operator_spk, v[i].hb.operator_spk, 32);
		snprintf(p.version, sizeof(p.version), "%s", v[i].hb.version);
		p.capabilities = v[i].hb.capabilities;
		snprintf(p.claim_provider_zone, sizeof(p.claim_provider_zone),
			 "%s", v[i].hb.zone);
		p.hb_ts = v[i].hb.ts;
		p.hb_exp = v[i].hb.exp;
		p.first_seen = now;
		p.last_seen = now;
		snprintf(p.source, sizeof(p.source), "%s", v[i].source);
		rc = dmp_store_peer_seen(st, &p);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char text[sizeof(((struct dmp_store_peer *)0)->last_error)];
		int err = res[i].err;

		if (err == 0 || err == DMP_ENXDOMAIN) {
			err = DMP_ENOENT;
			snprintf(text, sizeof(text),
				 "%.200s: no fresh verified heartbeat",
				 names[i]);
		} else {
			snprintf(text, sizeof(text), "%.200s: %s", names[i],
				 dmp_strerror(err));
		}
		rc = dmp_store_peer_fail(st, names[i], now, err, text);
		rc = rc > 0 ? 0 : rc;
	}
	if (rc == 0) {
		rc = dmp_store_peer_reap(st, now - DMP_PEERS_KEEP_EXPIRED);
		rc = rc > 0 ? 0 : rc;
	}
	dmp_free(v);
	return rc < 0 ? rc : (int)nv;
}

/* ---- refresh ------------------------------------------------------------- */

int dmp_peers_refresh(struct dmp_resolver *r, struct dmp_store *st,
		      const struct dmp_peers_conf *c, int64_t now)
{
	return dmp_peers_refresh_report(r, st, c, now, NULL);
}

int dmp_peers_refresh_report(struct dmp_resolver *r, struct dmp_store *st,
			     const struct dmp_peers_conf *c, int64_t now,
			     struct dmp_peers_seed_result *out)
{
	unsigned verified[2 * DMP_PEERS_SEEDS_MAX] = {0};
	char names[2 * DMP_PEERS_SEEDS_MAX][DMP_PEERS_ZONE_MAX + 32];
	const char *q[2 * DMP_PEERS_SEEDS_MAX];
	struct dmp_resolver_result res[2 * DMP_PEERS_SEEDS_MAX];
	size_t n = 0;
	int rc;

	if (!st || !c || c->n_seeds == 0) {
		return DMP_EINVAL;
	}
	if (!r) {
		return DMP_EUNREACHABLE;
	}
	for (size_t i = 0; i < c->n_seeds; i++) {
		snprintf(names[n], sizeof(names[n]), HB_PREFIX "%s",
			 c->seeds[i]);
		q[n] = names[n];
		n++;
		snprintf(names[n], sizeof(names[n]), SEEN_PREFIX "%s",
			 c->seeds[i]);
		q[n] = names[n];
		n++;
	}
	memset(res, 0, sizeof(res));
	rc = dmp_resolver_query_batch(r, q, n, res, REFRESH_TIMEOUT_MS, NULL,
				      NULL);
	if (rc == 0) {
		rc = ingest(st, q, res, n, now,
			    c->allow_loopback ? DMP_HEARTBEAT_ALLOW_LOOPBACK
					      : DMP_HEARTBEAT_STRICT,
			    verified);
	}
	for (size_t i = 0; out && i < c->n_seeds; i++) {
		struct dmp_peers_seed_result *o = &out[i];
		const struct dmp_resolver_result *h = &res[2 * i],
						 *s = &res[2 * i + 1];

		memset(o, 0, sizeof(*o));
		memcpy(o->zone, c->seeds[i], strlen(c->seeds[i]) + 1);
		o->hb_err = h->err;
		o->seen_err = s->err;
		o->hb_values = h->err == 0 ? (unsigned)h->answer.n : 0;
		o->seen_values = s->err == 0 ? (unsigned)s->answer.n : 0;
		o->verified = verified[2 * i] + verified[2 * i + 1];
	}
	for (size_t i = 0; i < n; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	return rc;
}

/* ---- listings ------------------------------------------------------------ */

struct collect {
	struct dmp_store_peer *v;
	size_t n, cap;
	int err;
};

static int collect_peer(const struct dmp_store_peer *p, void *ud)
{
	struct collect *c = ud;

	if (dmp_grow(&c->v, &c->cap, c->n, sizeof(*c->v), 16) < 0) {
		c->err = DMP_ENOMEM;
		return 1;
	}
	c->v[c->n++] = *p;
	return 0;
}

int dmp_peers_list(struct dmp_store *st, struct dmp_store_peer **out, size_t *n)
{
	struct collect c = {NULL, 0, 0, 0};
	int rc = dmp_store_peer_each(st, collect_peer, &c);

	if (rc == 0) {
		rc = c.err;
	}
	if (rc < 0 || c.n == 0) {
		dmp_free(c.v);
		c.v = NULL;
		c.n = 0;
	}
	*out = c.v;
	*n = c.n;
	return rc;
}

struct pick {
	char (*zones)[DMP_PEERS_ZONE_MAX + 1];
	int n;
	int64_t now;
};

static int pick_provider(const struct dmp_store_peer *p, void *ud)
{
	struct pick *k = ud;
	char z[DMP_PEERS_ZONE_MAX + 1];
	enum dmp_peer_health h;

	if (!(p->capabilities & DMP_HEARTBEAT_CAP_CLAIM_PROVIDER)) {
		return 0;
	}
	/* Staleness is only "less recent" here: order decides. */
	h = dmp_peer_health(p, k->now, INT32_MAX);
	if (h == DMP_PEER_EXPIRED || h == DMP_PEER_UNREACHABLE) {
		return 0;
	}
	if (p->claim_provider_zone[0]) {
		snprintf(z, sizeof(z), "%s", p->claim_provider_zone);
	} else {
		endpoint_zone(p->endpoint, z, sizeof(z));
	}
	/* A signed but junk zone must not become a claim target. */
	if (!z[0] || dmp_dnsname_normalize(NULL, 0, z, strlen(z)) < 0) {
		return 0;
	}
	for (int i = 0; i < k->n; i++) {
		if (dmp_name_equal(k->zones[i], strlen(k->zones[i]), z,
				   strlen(z))) {
			return 0;
		}
	}
	memcpy(k->zones[k->n++], z, strlen(z) + 1);
	return k->n >= DMP_PEERS_PROVIDERS;
}

int dmp_peers_providers(struct dmp_store *st, int64_t now,
			char zones[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1])
{
	struct pick k = {zones, 0, now};
	int rc;

	for (int i = 0; i < DMP_PEERS_PROVIDERS; i++) {
		zones[i][0] = 0;
	}
	/* dmp_store_peer_each walks newest heartbeat first. */
	rc = dmp_store_peer_each(st, pick_provider, &k);
	if (rc < 0) {
		for (int i = 0; i < DMP_PEERS_PROVIDERS; i++) {
			zones[i][0] = 0;
		}
		return rc;
	}
	return k.n;
}
