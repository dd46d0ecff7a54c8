/*
 * core/src/node/node_sync.c - cluster anti-entropy, the pulling side
 * (PROTOCOL.md 7.6). Each tick takes the next peer round robin (static
 * sync.peers plus the nodes of the operator-signed cluster manifest in
 * our own store, never ourselves), walks its digest from the cursor kept
 * for it in sqlite, pulls (at most 256 names a request) what we lack or
 * hold with a ttl more than 5 s shorter, and stores each value only after
 * dmp_ns_verify() and the UPDATE path's own caps and budgets
 * (dmp_nu_write_op, the one implementation of "may this value live at
 * this name") with the peer's remaining ttl. A value at a name we did not
 * ask for, or whose hash the digest did not list, is refused and
 * counted. The cursor then moves over the entries handled; work per tick
 * is bounded by max_per_tick values and max_bytes bytes.
 *
 * Threads: with start, one thread of its own ("sync") runs the ticks, so
 * a slow peer (5 s timeout per exchange) never delays the maintenance
 * thread. It takes wlock (then ilock inside dmp_nu_write_op) like any
 * writer and holds no lock across network I/O; mu/cv only for stop.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dmp/b64.h"
#include "dmp/cluster.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_sync_i.h"

struct dmp_node_sync {
	struct dmp_node *n;
	struct dmp_node_sync_opts o;
	unsigned rr;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	unsigned logged; /* reasons logged this tick, a bit each */
};

void dmp_node_sync_opts_init(struct dmp_node_sync_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_ms = DMP_NODE_SYNC_INTERVAL_MS;
	o->max_per_tick = DMP_NODE_SYNC_MAX_PER_TICK;
	o->max_bytes = DMP_NODE_SYNC_MAX_BYTES;
	o->timeout_ms = DMP_NODE_SYNC_TIMEOUT_MS;
}

void dmp_node_sync_counts(const struct dmp_node *n,
			  uint64_t reject[DMP_NODE_SYNC_REASON_MAX],
			  uint64_t *stored)
{
	for (int i = 0; i < DMP_NODE_SYNC_REASON_MAX; i++) {
		reject[i] =
		    atomic_load_explicit(&n->c_sync[i], memory_order_relaxed);
	}
	*stored = atomic_load_explicit(&n->c_sync_stored, memory_order_relaxed);
}

static uint64_t now_ms(const struct dmp_node_sync *s)
{
	struct timespec ts;

	if (s->o.now_ms) {
		return s->o.now_ms(s->o.now_ud);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Count a refusal; log the first of each reason in a tick (a lying
 * peer must not flood the log: the rest are in /metrics). */
static void refuse(struct dmp_node_sync *s, enum dmp_node_sync_reason r,
		   const char *peer, const char *what)
{
	cnt_add(&s->n->c_sync[r], 1);
	if (s->logged & (1u << r)) {
		DMP_LOG_D("sync: %s: %s", peer, what);
		return;
	}
	s->logged |= 1u << r;
	DMP_LOG_W("sync: %s: %s (further ones this sync: "
		  "dmp_node_sync_rejected_total in /metrics)",
		  peer, what);
}

/* ---- peers ---- */

struct peers {
	char url[DMP_NODE_SYNC_MAX_PEERS * 2][DMP_CLUSTER_HTTP_MAX + 1];
	unsigned n;
	uint64_t seq; /* of our manifest, 0: none */
};

static void peer_add(struct peers *p, const char *url, const char *self)
{
	size_t l = strlen(url);

	while (l && url[l - 1] == '/') {
		l--;
	}
	if (!l || l > DMP_CLUSTER_HTTP_MAX ||
	    (self[0] && strncmp(url, self, l) == 0 &&
	     strspn(self + l, "/") == strlen(self + l))) {
		return;
	}
	for (unsigned i = 0; i < p->n; i++) {
		if (strlen(p->url[i]) == l && strncmp(p->url[i], url, l) == 0) {
			return;
		}
	}
	if (p->n < sizeof(p->url) / sizeof(p->url[0])) {
		memcpy(p->url[p->n], url, l);
		p->url[p->n++][l] = 0;
	}
}

struct mrow {
	const struct dmp_node_sync *s;
	uint64_t now_s;
	struct dmp_cluster best;
	int have;
};

static int manifest_row(const char *name, const char *value, size_t vlen,
			uint64_t exp_s, const char *key, void *ud)
{
	struct mrow *m = ud;
	struct dmp_cluster c;

	(void)name;
	(void)exp_s;
	(void)key;
	if (dmp_cluster_parse(&c, value, vlen, m->s->o.op_spk, m->s->o.cluster,
			      strlen(m->s->o.cluster), m->now_s) == 0 &&
	    (!m->have || c.seq > m->best.seq)) {
		m->best = c;
		m->have = 1;
	}
	return 0;
}

/* Our verified manifest (wlock held, flushed). */
static int our_manifest(struct dmp_node_sync *s, uint64_t now_s, struct mrow *m)
{
	char name[DMP_NODE_NAME_MAX + 8];

	memset(m, 0, sizeof(*m));
	m->s = s;
	m->now_s = now_s;
	snprintf(name, sizeof(name), "cluster.%s", s->o.cluster);
	return dmp_st_name_rows(s->n->db, &s->n->stm, name, now_s, manifest_row,
				m);
}

static int peers_get(struct dmp_node_sync *s, uint64_t now_s, struct peers *p)
{
	struct mrow m;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < s->o.n_peers; i++) {
		peer_add(p, s->o.peers[i], s->o.self_endpoint);
	}
	if (!s->o.cluster[0]) {
		return 0;
	}
	pthread_mutex_lock(&s->n->wlock);
	rc = dmp_nu_flush(s->n);
	if (rc == 0) {
		rc = our_manifest(s, now_s, &m);
	}
	pthread_mutex_unlock(&s->n->wlock);
	for (size_t i = 0; rc == 0 && m.have && i < m.best.node_count; i++) {
		if (strcmp(m.best.nodes[i].node_id, s->o.self_id) != 0) {
			peer_add(p, m.best.nodes[i].http_endpoint,
				 s->o.self_endpoint);
		}
	}
	p->seq = m.have ? m.best.seq : 0;
	return rc;
}

/* Install a peer's manifest when it verifies and its seq is higher. */
static void gossip(struct dmp_node_sync *s, const char *peer, uint64_t seq,
		   uint64_t now)
{
	char url[DMP_CLUSTER_HTTP_MAX + 64], *resp = NULL;
	char name[DMP_NODE_NAME_MAX + 8];
	size_t rl = 0;
	struct dmp_cluster c;
	json_t *j = NULL;
	const char *wire;
	int st;

	snprintf(url, sizeof(url), "%s/v1/sync/cluster-manifest", peer);
	st = s->o.http(s->o.http_ud, url, s->o.token, NULL, &resp, &rl,
		       s->o.timeout_ms);
	if (st != 200) {
		goto cleanup;
	}
	j = json_loadb(resp, rl, JSON_REJECT_DUPLICATES, NULL);
	wire = json_string_value(json_object_get(j, "wire"));
	if (!wire ||
	    dmp_cluster_parse(&c, wire, strlen(wire), s->o.op_spk, s->o.cluster,
			      strlen(s->o.cluster), now / 1000) < 0) {
		refuse(s, DMP_NODE_SYNC_MANIFEST, peer,
		       "cluster manifest does not verify");
		goto cleanup;
	}
	if (c.seq <= seq) {
		goto cleanup;
	}
	snprintf(name, sizeof(name), "cluster.%s", s->o.cluster);
	if (dmp_node_put(s->n, name, wire, 86400, 1, now) < 0) {
		refuse(s, DMP_NODE_SYNC_REFUSED, peer,
		       "cluster manifest not stored");
		goto cleanup;
	}
	DMP_LOG_N("sync: cluster manifest seq %llu from %s installed",
		  (unsigned long long)c.seq, peer);
cleanup:
	json_decref(j);
	dmp_free(resp);
}

/* ---- one digest page ---- */

struct want {
	const struct ns_entry *e;
	int done;
};

/* Store one pulled value if it was asked for, listed and valid. */
static int take(struct dmp_node_sync *s, const char *peer,
		const struct ns_pulled *v, struct want *w, size_t nw,
		const struct ns_digest *d, uint64_t now)
{
	char hash[65];
	struct nop op;
	size_t i;
	int asked = 0, listed = 0, why, rc;
	uint32_t ttl;

	for (i = 0; i < nw; i++) {
		asked |= strcmp(w[i].e->name, v->name) == 0;
	}
	if (!asked) {
		refuse(s, DMP_NODE_SYNC_UNREQUESTED, peer, v->name);
		return 0;
	}
	dmp_sha256_hex_prefix(hash, 64, v->value, v->vlen);
	hash[64] = 0;
	for (i = 0; i < nw; i++) {
		if (!w[i].done && strcmp(w[i].e->name, v->name) == 0 &&
		    strcmp(w[i].e->hash, hash) == 0) {
			break;
		}
	}
	if (i == nw) {
		/* Another value at an asked name (a mailbox slot holds many):
		 * fine if this page lists it, a later page may (has_more), or
		 * we hold it already (an earlier page or sync); a lie
		 * otherwise. Never stored from here either way. */
		for (size_t k = 0; k < d->n; k++) {
			listed |= strcmp(d->e[k].name, v->name) == 0 &&
				  strcmp(d->e[k].hash, hash) == 0;
		}
		if (!listed && !d->has_more) {
			uint64_t exp = 0;

			pthread_mutex_lock(&s->n->wlock);
			rc = dmp_nu_flush(s->n);
			if (rc == 0) {
				rc = dmp_st_hash_exp(s->n->db, v->name, hash,
						     now / 1000, &exp);
			}
			pthread_mutex_unlock(&s->n->wlock);
			if (rc < 0) {
				return rc;
			}
			listed = rc > 0;
		}
		if (!listed && !d->has_more) {
			refuse(s, DMP_NODE_SYNC_HASH_MISMATCH, peer, v->name);
		}
		return 0;
	}
	w[i].done = 1;
	if (memchr(v->value, 0, v->vlen) ||
	    dmp_ns_verify(v->name, v->value, v->vlen,
			  s->o.have_op_spk ? s->o.op_spk : NULL,
			  now / 1000) < 0) {
		refuse(s, DMP_NODE_SYNC_INVALID, peer, v->name);
		return 0;
	}
	ttl = v->ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)v->ttl;
	if (ttl == 0 || dmp_ni_op_init(s->n, &op, NOP_ADD, v->name, ttl) < 0) {
		refuse(s, DMP_NODE_SYNC_REFUSED, peer, v->name);
		return 0;
	}
	op.value = dmp_malloc(v->vlen + 1);
	if (!op.value) {
		return DMP_ENOMEM;
	}
	memcpy(op.value, v->value, v->vlen + 1);
	op.vlen = v->vlen;
	rc = dmp_nu_write_op(s->n, &op, 1, now, &why);
	if (rc != DMP_DNS_RCODE_NOERROR) {
		refuse(s, DMP_NODE_SYNC_REFUSED, peer, v->name);
		return 0;
	}
	cnt_add(&s->n->c_sync_stored, 1);
	return 1;
}

/* Pull the names of w[0..nw) and store what comes. @return values stored,
 * or < 0 (the peer failed: the cursor stays). */
static int pull(struct dmp_node_sync *s, const char *peer, struct want *w,
		size_t nw, const struct ns_digest *d, uint64_t now,
		uint64_t *bytes)
{
	const char *names[NS_PULL_MAX];
	char url[DMP_CLUSTER_HTTP_MAX + 32], *req, *resp = NULL;
	struct ns_pulled *v = NULL;
	size_t nn = 0, nv = 0, rl = 0;
	int st, stored = 0;

	for (size_t i = 0; i < nw; i++) {
		int dup = 0;

		for (size_t k = 0; k < nn; k++) {
			dup |= strcmp(names[k], w[i].e->name) == 0;
		}
		if (!dup) {
			names[nn++] = w[i].e->name;
		}
	}
	req = dmp_ns_pull_request(names, nn);
	if (!req) {
		return DMP_ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/v1/sync/pull", peer);
	st = s->o.http(s->o.http_ud, url, s->o.token, req, &resp, &rl,
		       s->o.timeout_ms);
	free(req);
	if (st != 200) {
		refuse(s,
		       st == DMP_ETOOBIG ? DMP_NODE_SYNC_BAD_PULL
					 : DMP_NODE_SYNC_UNREACHABLE,
		       peer, "pull failed");
		dmp_free(resp);
		return DMP_EUNREACHABLE;
	}
	*bytes += rl;
	st = dmp_ns_pull_parse(&v, &nv, resp, rl, NS_PULL_MAX * 64);
	dmp_free(resp);
	if (st < 0) {
		refuse(s, DMP_NODE_SYNC_BAD_PULL, peer, "bad pull answer");
		return DMP_EMALFORMED;
	}
	for (size_t i = 0; i < nv && stored >= 0; i++) {
		int r = take(s, peer, &v[i], w, nw, d, now);

		stored = r < 0 ? r : stored + r;
	}
	dmp_ns_pulled_free(v, nv);
	return stored;
}

/* Do we need (name, hash) given the peer's ttl? (wlock held) */
static int wanted(struct dmp_node_sync *s, const struct ns_entry *e,
		  uint64_t now_s)
{
	uint64_t exp = 0;
	int rc = dmp_st_hash_exp(s->n->db, e->name, e->hash, now_s, &exp);

	if (rc < 0) {
		return rc;
	}
	return rc == 0 || e->ttl > exp - now_s + NS_TTL_SLOP;
}

static int cursor_save(struct dmp_node_sync *s, const char *peer,
		       const struct ns_cursor *c)
{
	int rc;

	pthread_mutex_lock(&s->n->wlock);
	rc = dmp_st_cursor_put(s->n->db, peer, c);
	pthread_mutex_unlock(&s->n->wlock);
	return rc;
}

static void cursor_at(struct ns_cursor *c, const struct ns_entry *e)
{
	memset(c, 0, sizeof(*c));
	c->ts = e->ts;
	memcpy(c->name, e->name, sizeof(c->name));
	memcpy(c->hash, e->hash, sizeof(c->hash));
}

/* Pull the batch w[0..*nw), then move @p cur to @p last (the last valid
 * entry looked at) and keep it. @return values stored or < 0 */
static int batch(struct dmp_node_sync *s, const char *peer, struct want *w,
		 size_t *nw, const struct ns_digest *d, uint64_t now,
		 uint64_t *bytes, uint32_t *left, struct ns_cursor *cur,
		 const struct ns_entry *last)
{
	int rc = 0;

	if (*nw) {
		rc = pull(s, peer, w, *nw, d, now, bytes);
		if (rc < 0) {
			return rc;
		}
		*left = (uint32_t)rc >= *left ? 0 : *left - (uint32_t)rc;
		*nw = 0;
	}
	if (last) {
		int e;

		cursor_at(cur, last);
		e = cursor_save(s, peer, cur);
		if (e < 0) {
			return e;
		}
	}
	return rc;
}

/* Walk one page: entries not valid (7.6 step 2) or not after the one
 * before are skipped and counted, never pulled, and never move the
 * cursor (a forged ts cannot push it past real data); the others are
 * pulled in batches of up to 256, the cursor kept after each batch.
 * @return values stored or < 0; *stop when the budget ended the page. */
static int page(struct dmp_node_sync *s, const char *peer,
		const struct ns_digest *d, struct ns_cursor *cur, uint64_t now,
		uint64_t *bytes, uint32_t *left, int *stop)
{
	struct want w[NS_PULL_MAX];
	struct ns_cursor prev = *cur, here;
	const struct ns_entry *last = NULL;
	size_t nw = 0;
	int stored = 0, rc = 0;

	*stop = 0;
	for (size_t i = 0; i <= d->n; i++) {
		const struct ns_entry *e = i < d->n ? &d->e[i] : NULL;

		if (e) {
			cursor_at(&here, e);
			if (!e->valid || dmp_ns_cursor_cmp(&here, &prev) <= 0) {
				refuse(s, DMP_NODE_SYNC_BAD_DIGEST, peer,
				       "bad or out-of-order digest entry");
				continue;
			}
			prev = here;
		}
		if (!e || nw == NS_PULL_MAX || nw >= *left) {
			rc = batch(s, peer, w, &nw, d, now, bytes, left, cur,
				   last);
			if (rc < 0) {
				break;
			}
			stored += rc;
			last = NULL;
			if (e && (!*left || *bytes >= s->o.max_bytes)) {
				*stop = 1;
				break;
			}
			if (!e) {
				break;
			}
		}
		pthread_mutex_lock(&s->n->wlock);
		rc = dmp_nu_flush(s->n);
		if (rc == 0) {
			rc = wanted(s, e, now / 1000);
		}
		pthread_mutex_unlock(&s->n->wlock);
		if (rc < 0) {
			break;
		}
		if (rc > 0) {
			w[nw].e = e;
			w[nw++].done = 0;
		}
		last = e;
	}
	if (rc < 0) {
		*stop = 1;
		return stored ? stored : rc;
	}
	return stored;
}

int dmp_node_sync_tick(struct dmp_node_sync *s)
{
	uint64_t now = now_ms(s), bytes = 0;
	uint32_t left = s->o.max_per_tick;
	char url[DMP_CLUSTER_HTTP_MAX + NS_CURSOR_TEXT + 64];
	char ctext[NS_CURSOR_TEXT];
	struct ns_cursor cur;
	struct peers p;
	const char *peer;
	int rc, stored = 0, stop = 0;

	s->logged = 0;
	rc = peers_get(s, now / 1000, &p);
	if (rc < 0 || p.n == 0) {
		return rc;
	}
	peer = p.url[s->rr++ % p.n];
	if (s->o.cluster[0]) {
		gossip(s, peer, p.seq, now);
	}
	pthread_mutex_lock(&s->n->wlock);
	rc = dmp_st_cursor_get(s->n->db, peer, &cur);
	pthread_mutex_unlock(&s->n->wlock);
	if (rc < 0) {
		return rc;
	}
	for (int pages = 0; !stop && left && pages < 64; pages++) {
		struct ns_digest d;
		char *resp = NULL;
		size_t rl = 0;
		unsigned lim =
		    left < NS_DIGEST_DEFAULT ? left : NS_DIGEST_DEFAULT;
		int st;

		dmp_ns_cursor_fmt(&cur, ctext, sizeof(ctext));
		snprintf(url, sizeof(url),
			 "%s/v1/sync/digest?cursor=%s&limit=%u", peer, ctext,
			 lim < 16 ? 16 : lim);
		st = s->o.http(s->o.http_ud, url, s->o.token, NULL, &resp, &rl,
			       s->o.timeout_ms);
		if (st != 200) {
			dmp_free(resp);
			refuse(s, DMP_NODE_SYNC_UNREACHABLE, peer,
			       st < 0 ? dmp_strerror(st) : "digest refused");
			return stored ? stored : DMP_EUNREACHABLE;
		}
		bytes += rl;
		rc = dmp_ns_digest_parse(&d, resp, rl, now);
		dmp_free(resp);
		if (rc < 0) {
			refuse(s, DMP_NODE_SYNC_BAD_DIGEST, peer,
			       "digest is not the 7.6 JSON");
			return stored ? stored : rc;
		}
		rc = page(s, peer, &d, &cur, now, &bytes, &left, &stop);
		/* A page handled to its end: its next_cursor also skips the
		 * entries refused at its tail (unless it points ahead). */
		if (rc >= 0 && !stop && d.n && d.have_next &&
		    dmp_ns_cursor_cmp(&d.next, &cur) > 0 &&
		    d.next.ts <= now + NS_SKEW_MS) {
			cur = d.next;
			if (cursor_save(s, peer, &cur) < 0) {
				stop = 1;
			}
		}
		stop |= !d.has_more || d.n == 0 || bytes >= s->o.max_bytes;
		dmp_ns_digest_free(&d);
		if (rc < 0) {
			return stored ? stored : rc;
		}
		stored += rc;
	}
	if (stored) {
		DMP_LOG_I("sync: %d value(s) from %s", stored, peer);
	}
	return stored;
}

static void *sync_main(void *arg)
{
	struct dmp_node_sync *s = arg;
	struct timespec dl;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		(void)dmp_node_sync_tick(s);
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += s->o.interval_ms / 1000;
		dl.tv_nsec += (long)(s->o.interval_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (!s->stop &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0) {
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int dmp_node_sync_new(struct dmp_node_sync **out, struct dmp_node *n,
		      const struct dmp_node_sync_opts *o, int start)
{
	struct dmp_node_sync *s;
	pthread_condattr_t ca;

	*out = NULL;
	if (!o->token[0] || (!o->n_peers && !o->cluster[0]) ||
	    (o->cluster[0] && !o->have_op_spk) ||
	    o->n_peers > DMP_NODE_SYNC_MAX_PEERS || o->interval_ms < 100 ||
	    o->interval_ms > 3600000 || o->max_per_tick < 1 ||
	    o->max_per_tick > 1000000 || o->max_bytes < 1024 ||
	    o->max_bytes > (64u << 20) || o->timeout_ms < 100) {
		DMP_LOG_E("sync: needs a token, peers or a cluster with its "
			  "operator key, and settings in range");
		return DMP_EINVAL;
	}
	s = dmp_calloc(1, sizeof(*s));
	if (!s) {
		return DMP_ENOMEM;
	}
	s->n = n;
	s->o = *o;
	if (!s->o.http) {
		s->o.http = dmp_ns_http_curl;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (start) {
		if (pthread_create(&s->th, NULL, sync_main, s) != 0) {
			DMP_LOG_E("sync: cannot start its thread");
			dmp_node_sync_free(s);
			return DMP_ENOMEM;
		}
		s->started = 1;
	}
	*out = s;
	return 0;
}

void dmp_node_sync_free(struct dmp_node_sync *s)
{
	if (!s) {
		return;
	}
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	dmp_wipe(s->o.token, sizeof(s->o.token));
	dmp_free(s);
}
