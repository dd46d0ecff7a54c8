/*
 * core/src/node/node_mesh.c - the DMP-RELAY/1 link prober (docs/protocol.md
 * 8.7.4, draft): every mesh.link_interval one round probes each neighbour
 * with GET /v1/mesh/links (RTT smoothed as TCP's SRTT), verifies the link
 * records it answers with, keeps the newest per node in the routing graph
 * (node_route.c) and publishes our own record at _dnsmesh-links.<zone>,
 * signed by the heartbeat's operator key. Three missed probes take a link
 * down, and the record is republished at once.
 *
 * Threads and locks: one thread of its own (or the caller's ticks); m->mu
 * covers the state the HTTP side reads (node_mesh_http.c) and is never
 * held across a probe or a store write, so it nests in no other lock.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_mesh.h"
#include "node/node_sync_i.h"

/* A /v1/mesh/links answer: 256 records of at most 1200 bytes, quoted. */
#define NM_BODY_MAX (512u << 10)

const char *const dmp_nm_result_names[DMP_MESH_RESULT_MAX] = {
    "ok", "unreachable", "status", "malformed"};

/* ---- the pure per-link rules ---- */

uint32_t dmp_nm_srtt(uint32_t srtt_ms, int sampled, uint32_t rtt_ms)
{
	if (!sampled) {
		return rtt_ms;
	}
	return (uint32_t)(((uint64_t)srtt_ms * 7 + rtt_ms + 4) / 8);
}

int dmp_nm_probe(struct dmp_mesh_link *l, int answered, uint32_t rtt_ms)
{
	int was = l->up;

	if (answered) {
		l->srtt_ms = dmp_nm_srtt(l->srtt_ms, l->sampled, rtt_ms);
		l->sampled = 1;
		l->missed = 0;
		l->up = 1;
	} else {
		if (l->missed < DMP_MESH_MISSED_DOWN) {
			l->missed++;
		}
		if (l->missed >= DMP_MESH_MISSED_DOWN) {
			l->up = 0;
		}
	}
	return was != l->up;
}

uint16_t dmp_nm_cost(uint32_t srtt_ms)
{
	if (srtt_ms < DMP_LINKS_COST_MIN) {
		return DMP_LINKS_COST_MIN;
	}
	return srtt_ms > DMP_LINKS_COST_MAX ? DMP_LINKS_COST_MAX
					    : (uint16_t)srtt_ms;
}

/* ---- clocks and the default GET ---- */

static uint64_t nm_now_ms(const struct dmp_node_mesh *m)
{
	struct timespec ts;

	if (m->o.now_ms) {
		return m->o.now_ms(m->o.now_ud);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t nm_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The anti-entropy worker's libcurl exchange (one client), no token. */
static int nm_http_curl(void *ud, const char *url, char **resp,
			size_t *resp_len, unsigned timeout_ms)
{
	return dmp_ns_http_curl(ud, url, NULL, NULL, resp, resp_len,
				timeout_ms);
}

/* ---- the record store (newest per node, mirrors the route graph) ---- */

static struct nm_rec *rec_find(struct dmp_node_mesh *m, const uint8_t *spk)
{
	for (size_t i = 0; i < m->n_recs; i++) {
		if (memcmp(m->recs[i].spk, spk, 32) == 0) {
			return &m->recs[i];
		}
	}
	return NULL;
}

/* Keep @p wire (verified as @p lk) when it is newer. Under mu.
 * @return 1 taken, 0 not newer, < 0 refused by the graph */
static int rec_put(struct dmp_node_mesh *m, const struct dmp_links *lk,
		   const char *wire, size_t len, uint64_t now_s)
{
	struct nm_rec *r;
	int rc = dmp_route_put(m->route, lk, now_s);

	if (rc <= 0) {
		return rc;
	}
	r = rec_find(m, lk->node_spk);
	if (!r) {
		if (m->n_recs >= DMP_MESH_RECORDS_MAX) {
			(void)dmp_route_remove(m->route, lk->node_spk);
			return DMP_ENOSPC;
		}
		r = &m->recs[m->n_recs++];
		memcpy(r->spk, lk->node_spk, 32);
	}
	r->seq = lk->seq;
	r->exp = lk->exp;
	memcpy(r->wire, wire, len);
	r->wire[len] = 0;
	return 1;
}

/* Drop what expired, from the graph and the store. Under mu. */
static void rec_expire(struct dmp_node_mesh *m, uint64_t now_s)
{
	size_t k = 0;

	(void)dmp_route_expire(m->route, now_s);
	for (size_t i = 0; i < m->n_recs; i++) {
		if (m->recs[i].exp > now_s) {
			if (k != i) {
				m->recs[k] = m->recs[i];
			}
			k++;
		}
	}
	m->n_recs = k;
}

/* ---- our own record ---- */

/* Our record's lifetime in seconds (DMP_MESH_LIFE_INTERVALS, capped). */
static uint64_t nm_life(const struct dmp_node_mesh *m)
{
	uint64_t life = DMP_MESH_LIFE_INTERVALS * (uint64_t)m->o.interval_s;

	return life > DMP_LINKS_LIFETIME_MAX ? DMP_LINKS_LIFETIME_MAX : life;
}

/* Sign our record into @p wire under mu. @return its length or < 0 */
static int own_sign(struct dmp_node_mesh *m, uint64_t now_ms, char *wire,
		    size_t cap)
{
	struct dmp_links lk, pub;
	int len;

	memset(&lk, 0, sizeof(lk));
	memcpy(lk.node_spk, m->pk, 32);
	memcpy(lk.endpoint, m->endpoint, strlen(m->endpoint) + 1);
	for (unsigned i = 0; i < m->n->n_zones && i < DMP_LINKS_ZONES_MAX;
	     i++) {
		const char *z = m->n->o.zones[i].name;
		size_t zl = strlen(z);

		if (zl && z[zl - 1] == '.') {
			zl--;
		}
		if (zl == 0 || zl > DMP_LINKS_ZONE_MAX) {
			continue;
		}
		memcpy(lk.zones[lk.n_zones], z, zl);
		lk.zones[lk.n_zones++][zl] = 0;
	}
	for (size_t i = 0; i < m->n_nb && lk.n_peers < DMP_LINKS_PEERS_MAX;
	     i++) {
		const struct nm_nb *b = &m->nb[i];
		int dup = 0;

		if (!b->known || !b->l.sampled) {
			continue;
		}
		for (size_t j = 0; j < lk.n_peers; j++) {
			dup |= memcmp(lk.peers[j].spk, b->spk, 32) == 0;
		}
		if (dup || memcmp(b->spk, m->pk, 32) == 0) {
			continue; /* two URLs of one node; ourselves */
		}
		memcpy(lk.peers[lk.n_peers].spk, b->spk, 32);
		lk.peers[lk.n_peers].cost_ms = dmp_nm_cost(b->l.srtt_ms);
		lk.peers[lk.n_peers++].flags = b->l.up ? DMP_LINKS_UP : 0;
	}
	lk.seq = now_ms > m->seq ? now_ms : m->seq + 1;
	lk.ts = now_ms / 1000;
	lk.exp = lk.ts + nm_life(m);
	len = dmp_links_sign(wire, cap, &lk, m->sk, m->flags, &pub);
	if (len < 0) {
		return len;
	}
	m->seq = pub.seq;
	if (rec_put(m, &pub, wire, (size_t)len, lk.ts) < 0) {
		DMP_LOG_W("mesh: our own link record did not enter the graph");
	} else {
		/* Ours first in /v1/mesh/links. */
		struct nm_rec *r = rec_find(m, m->pk), t;

		if (r && r != &m->recs[0]) {
			t = m->recs[0];
			m->recs[0] = *r;
			*r = t;
		}
	}
	return len;
}

/* Sign and store our record at every _dnsmesh-links.<zone>. */
static int own_publish(struct dmp_node_mesh *m, uint64_t now_ms)
{
	char wire[DMP_RECORD_WIRE_MAX + 1], owner[DMP_NODE_NAME_MAX + 32];
	struct dmp_ni_live live;
	uint32_t ttl = (uint32_t)nm_life(m);
	int len, rc = 0;

	pthread_mutex_lock(&m->mu);
	len = own_sign(m, now_ms, wire, sizeof(wire));
	pthread_mutex_unlock(&m->mu);
	if (len < 0) {
		DMP_LOG_E("mesh: link record: %s", dmp_strerror(len));
		return len;
	}
	dmp_ni_live_get(m->n, &live);
	if (ttl > live.max_ttl) {
		ttl = live.max_ttl;
	}
	for (unsigned i = 0; i < m->n->n_zones; i++) {
		int r =
		    dmp_links_name(owner, sizeof(owner), m->n->o.zones[i].name);

		if (r >= 0) {
			r = dmp_node_put(m->n, owner, wire, ttl, 1, now_ms);
		}
		if (r < 0) {
			DMP_LOG_E("mesh: link record at _dnsmesh-links.%s: %s",
				  m->n->o.zones[i].name, dmp_strerror(r));
			rc = r;
		}
	}
	pthread_mutex_lock(&m->mu);
	m->published++;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* ---- one probe ---- */

/* Verify and keep the records of one answer. Under mu.
 * @return DMP_MESH_OK with the neighbour's key in @p spk (its own record
 *         comes first), or DMP_MESH_MALFORMED */
static enum dmp_mesh_result take_answer(struct dmp_node_mesh *m,
					const char *body, size_t len,
					uint64_t now_s, uint8_t spk[32])
{
	json_t *j = dmp_ns_json_load(body, len, NM_BODY_MAX), *a;
	enum dmp_mesh_result res = DMP_MESH_MALFORMED;
	size_t i, n;

	a = j ? json_object_get(j, "records") : NULL;
	n = json_is_array(a) ? json_array_size(a) : 0;
	for (i = 0; i < n && i < DMP_MESH_RECORDS_MAX; i++) {
		const char *w = json_string_value(json_array_get(a, i));
		struct dmp_links lk;
		enum dmp_links_why why;
		size_t wl = w ? strlen(w) : 0;

		if (!w || wl > DMP_RECORD_WIRE_MAX ||
		    dmp_links_parse(&lk, w, wl, now_s, m->flags, &why) < 0) {
			m->rejected++;
			DMP_LOG_D("mesh: a link record refused: %s",
				  w ? dmp_links_why_str(why) : "not a string");
			continue;
		}
		if (i == 0) {
			memcpy(spk, lk.node_spk, 32);
			res = DMP_MESH_OK;
		}
		if (memcmp(lk.node_spk, m->pk, 32) == 0) {
			continue; /* ours: we know better */
		}
		(void)rec_put(m, &lk, w, wl, now_s);
	}
	json_decref(j);
	return res;
}

/* Probe neighbour @p i. @return 1 when its link went up or down */
static int probe(struct dmp_node_mesh *m, size_t i)
{
	char url[DMP_LINKS_ENDPOINT_MAX + 32], *resp = NULL;
	size_t rlen = 0;
	uint64_t t0, rtt_us, now_ms;
	uint8_t spk[32];
	enum dmp_mesh_result res;
	int st, changed;

	pthread_mutex_lock(&m->mu);
	snprintf(url, sizeof(url), "%s/v1/mesh/links", m->nb[i].url);
	pthread_mutex_unlock(&m->mu);
	t0 = nm_mono_us();
	st = m->o.http(m->o.http_ud, url, &resp, &rlen, m->o.timeout_ms);
	rtt_us = nm_mono_us() - t0;
	now_ms = nm_now_ms(m);
	pthread_mutex_lock(&m->mu);
	if (st < 0) {
		res = DMP_MESH_UNREACHABLE;
	} else if (st != 200) {
		res = DMP_MESH_STATUS;
	} else {
		res = take_answer(m, resp, rlen, now_ms / 1000, spk);
	}
	if (res == DMP_MESH_OK) {
		if (m->nb[i].known && memcmp(m->nb[i].spk, spk, 32) != 0) {
			DMP_LOG_W("mesh: neighbour %s answers with a new "
				  "operator key",
				  m->nb[i].url);
			memset(&m->nb[i].l, 0, sizeof(m->nb[i].l));
		}
		memcpy(m->nb[i].spk, spk, 32);
		m->nb[i].known = 1;
	}
	changed = dmp_nm_probe(&m->nb[i].l, res == DMP_MESH_OK,
			       (uint32_t)((rtt_us + 999) / 1000));
	if (changed) {
		DMP_LOG_N("mesh: link to %s %s", m->nb[i].url,
			  m->nb[i].l.up ? "up" : "down (3 probes missed)");
	} else if (res != DMP_MESH_OK && m->nb[i].last == DMP_MESH_OK) {
		DMP_LOG_I("mesh: probe of %s: %s", m->nb[i].url,
			  dmp_nm_result_names[res]);
	}
	m->nb[i].last = res;
	m->nb[i].last_probe_ms = now_ms;
	m->probes[res]++;
	pthread_mutex_unlock(&m->mu);
	dmp_free(resp);
	return changed;
}

int dmp_node_mesh_tick(struct dmp_node_mesh *m)
{
	int answered = 0;

	if (dmp_nm_refresh(m)) {
		(void)own_publish(m, nm_now_ms(m)); /* a neighbour dropped */
	}
	for (size_t i = 0; i < m->n_nb; i++) {
		if (probe(m, i)) {
			/* A triggered update (8.7.4). */
			(void)own_publish(m, nm_now_ms(m));
		}
		answered += m->nb[i].l.missed == 0 && m->nb[i].l.sampled;
	}
	pthread_mutex_lock(&m->mu);
	rec_expire(m, nm_now_ms(m) / 1000);
	pthread_mutex_unlock(&m->mu);
	(void)own_publish(m, nm_now_ms(m));
	return answered;
}

/* ---- lifecycle ---- */

static void *mesh_main(void *arg)
{
	struct dmp_node_mesh *m = arg;
	struct timespec dl;

	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		pthread_mutex_unlock(&m->mu);
		(void)dmp_node_mesh_tick(m);
		pthread_mutex_lock(&m->mu);
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += m->o.interval_s;
		while (!m->stop && !m->kick &&
		       pthread_cond_timedwait(&m->cv, &m->mu, &dl) == 0) {
		}
		m->kick = 0; /* discovery changed the neighbours: a round now */
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* A neighbour: http(s)://host[:port] without a path (the probe adds it).
 * Private and loopback hosts are the operator's choice here. */
static int nb_ok(const char *u)
{
	size_t len = u ? strlen(u) : 0;
	size_t s = strncasecmp(u ? u : "", "http://", 7) == 0	 ? 7
		   : strncasecmp(u ? u : "", "https://", 8) == 0 ? 8
								 : 0;

	if (!s || len <= s || len > DMP_LINKS_ENDPOINT_MAX ||
	    strchr(u + s, '/') || strpbrk(u, " \t\r\n?#@")) {
		return 0;
	}
	return 1;
}

int dmp_node_mesh_new(struct dmp_node_mesh **out, struct dmp_node *n,
		      const struct dmp_node_mesh_opts *o, int start)
{
	struct dmp_node_mesh *m;
	struct dmp_node_mesh *none = NULL;
	pthread_condattr_t ca;
	int err;

	*out = NULL;
	if (!o->endpoint || !o->endpoint[0] ||
	    strlen(o->endpoint) > DMP_LINKS_ENDPOINT_MAX || !o->operator_pk ||
	    !o->operator_sk || n->n_zones == 0 ||
	    o->n_neighbours > DMP_NODE_MESH_NEIGHBOURS_MAX ||
	    o->interval_s < 1 || o->interval_s > DMP_NODE_MESH_INTERVAL_MAX ||
	    o->max_discovered > DMP_NODE_MESH_DISCOVERED_MAX) {
		DMP_LOG_E("mesh: needs mesh.endpoint, mesh.operator_key, a "
			  "zone, at most %d neighbours, link_interval 1..%d "
			  "and discovered_neighbours 0..%d",
			  DMP_NODE_MESH_NEIGHBOURS_MAX,
			  DMP_NODE_MESH_INTERVAL_MAX,
			  DMP_NODE_MESH_DISCOVERED_MAX);
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < o->n_neighbours; i++) {
		if (!nb_ok(o->neighbours[i])) {
			DMP_LOG_E("mesh: neighbour '%s' is not "
				  "http(s)://host[:port]",
				  o->neighbours[i] ? o->neighbours[i] : "");
			return DMP_EINVAL;
		}
	}
	m = dmp_calloc(1, sizeof(*m));
	if (!m) {
		return DMP_ENOMEM;
	}
	m->n = n;
	m->o = *o;
	m->o.neighbours = NULL;
	m->o.endpoint = NULL;
	m->o.operator_pk = m->o.operator_sk = NULL;
	if (!m->o.http) {
		m->o.http = nm_http_curl;
	}
	if (!m->o.timeout_ms) {
		m->auto_timeout = 1;
		m->o.timeout_ms =
		    dmp_nm_auto_timeout(o->interval_s, o->n_neighbours);
	}
	memcpy(m->pk, o->operator_pk, 32);
	memcpy(m->sk, o->operator_sk, 64);
	memcpy(m->endpoint, o->endpoint, strlen(o->endpoint) + 1);
	m->flags = o->allow_loopback ? DMP_HEARTBEAT_ALLOW_LOOPBACK
				     : DMP_HEARTBEAT_STRICT;
	m->nb_cap = o->n_neighbours + o->max_discovered;
	m->nb = dmp_calloc(m->nb_cap ? m->nb_cap : 1, sizeof(*m->nb));
	m->cand = dmp_calloc(DMP_ROUTE_NODES_MAX, sizeof(*m->cand));
	m->recs = dmp_calloc(DMP_MESH_RECORDS_MAX, sizeof(*m->recs));
	err = m->nb && m->cand && m->recs ? dmp_route_new(&m->route, m->pk)
					  : DMP_ENOMEM;
	if (err < 0) {
		dmp_free(m->cand);
		dmp_free(m->nb);
		dmp_free(m->recs);
		dmp_wipe_free(m, sizeof(*m));
		return err;
	}
	for (size_t i = 0; i < o->n_neighbours; i++) {
		size_t l = strlen(o->neighbours[i]);

		memcpy(m->nb[i].url, o->neighbours[i], l + 1);
		m->nb[i].last = DMP_MESH_UNREACHABLE;
	}
	m->n_nb = m->n_conf = o->n_neighbours;
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!atomic_compare_exchange_strong(&n->mesh, &none, m)) {
		m->started = 0;
		dmp_node_mesh_free(m);
		return DMP_EEXIST;
	}
	if (start) {
		if (pthread_create(&m->th, NULL, mesh_main, m) != 0) {
			DMP_LOG_E("mesh: cannot start its thread");
			dmp_node_mesh_free(m);
			return DMP_ENOMEM;
		}
		m->started = 1;
	}
	*out = m;
	return 0;
}

void dmp_node_mesh_free(struct dmp_node_mesh *m)
{
	struct dmp_node_mesh *self;

	if (!m) {
		return;
	}
	self = m;
	(void)atomic_compare_exchange_strong(&m->n->mesh, &self, NULL);
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		m->stop = 1;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->th, NULL);
	}
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	dmp_route_free(m->route);
	dmp_free(m->cand);
	dmp_free(m->nb);
	dmp_free(m->recs);
	dmp_wipe_free(m, sizeof(*m));
}

struct dmp_node_mesh *dmp_nm_of(struct dmp_node *n)
{
	return atomic_load(&n->mesh);
}
