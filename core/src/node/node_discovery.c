/*
 * core/src/node/node_discovery.c - the node's side of the heartbeat / seen
 * directory (PROTOCOL.md 8): every interval, read _dnsmesh-heartbeat and
 * _dnsmesh-seen of each seed zone through a resolver pool of our own,
 * verify every value as a heartbeat, keep a bounded table of peers (one
 * per operator key + endpoint, newest ts), drop those whose newest
 * heartbeat is older than the expiry, and republish up to 50 of them,
 * verbatim as their operators signed them, at _dnsmesh-seen.<zone> of
 * every zone we serve (replacing the RRset). Values read from a seen list
 * are heartbeats like any other, so peers spread from node to node
 * (gossip) while their signatures and the 300 s freshness window keep a
 * node from inventing or reviving one.
 *
 * Threads: the handle belongs to one thread (dmp-node's discovery
 * thread). It calls into the node only through dmp_nu_write_op() (wlock,
 * then ilock, as any UPDATE) and dmp_ni_live_get() (live_mu); the
 * counters are relaxed atomics in struct dmp_node read by /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "dmp/resolver.h"
#include "node/node_i.h"
#include "node/node_mesh.h"

#define HB_PREFIX "_dnsmesh-heartbeat."
#define SEEN_PREFIX "_dnsmesh-seen."
/* A round's whole batch: a few tries of the per-server timeout. */
#define ROUND_TRIES 2
/* Seconds a published seen list outlives two rounds. */
#define SEEN_TTL_MARGIN 60

struct peer {
	struct dmp_heartbeat hb;
	char *wire; /* the value as signed, republished verbatim */
	size_t wlen;
	uint64_t last_seen; /* s: when its newest heartbeat was last read */
};

struct dmp_node_disc {
	struct dmp_node *n;
	struct dmp_resolver *r;
	char (*names)[DMP_NODE_NAME_MAX + 32]; /* 2 per seed */
	size_t n_names;
	unsigned timeout_ms;
	uint8_t self_pk[32];
	int have_self;
	char self_ep[DMP_HEARTBEAT_ENDPOINT_MAX + 1];
	uint64_t interval_ms, expiry_s, next_ms;
	unsigned flags;
	struct peer *peers;
	size_t n_peers, max_peers;
};

int dmp_node_disc_new(struct dmp_node_disc **out, struct dmp_node *n,
		      const struct dmp_node_disc_opts *o)
{
	struct dmp_resolver_opts ro;
	struct dmp_node_disc *d;
	int rc = DMP_EINVAL;

	*out = NULL;
	if (!n || !o || o->n_seeds == 0 ||
	    o->n_seeds > DMP_NODE_DISC_SEEDS_MAX || o->interval_s == 0 ||
	    o->expiry_s == 0 || o->max_peers == 0 ||
	    (o->self_endpoint &&
	     strlen(o->self_endpoint) > DMP_HEARTBEAT_ENDPOINT_MAX)) {
		return DMP_EINVAL;
	}
	d = dmp_calloc(1, sizeof(*d));
	if (!d) {
		return DMP_ENOMEM;
	}
	d->n = n;
	d->names = dmp_calloc(2 * o->n_seeds, sizeof(*d->names));
	d->peers = dmp_calloc(o->max_peers, sizeof(*d->peers));
	if (!d->names || !d->peers) {
		rc = DMP_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < o->n_seeds; i++) {
		char z[DMP_NODE_NAME_MAX];
		/* Room for the longer prefix within 253 bytes. */
		int zl = dmp_dnsname_normalize_max(z, sizeof(z), o->seeds[i],
						   strlen(o->seeds[i]),
						   253 - sizeof(HB_PREFIX) + 1);

		if (zl < 0) {
			DMP_LOG_E("node: discovery: seed zone '%s': %s",
				  o->seeds[i], dmp_strerror(zl));
			goto fail;
		}
		snprintf(d->names[d->n_names++], sizeof(*d->names),
			 HB_PREFIX "%s", z);
		snprintf(d->names[d->n_names++], sizeof(*d->names),
			 SEEN_PREFIX "%s", z);
	}
	if (o->self_pk) {
		memcpy(d->self_pk, o->self_pk, 32);
		d->have_self = 1;
	}
	if (o->self_endpoint) {
		memcpy(d->self_ep, o->self_endpoint,
		       strlen(o->self_endpoint) + 1);
	}
	d->timeout_ms = o->timeout_ms ? o->timeout_ms : 2000;
	d->interval_ms = (uint64_t)o->interval_s * 1000;
	d->expiry_s = o->expiry_s;
	d->max_peers = o->max_peers;
	d->flags = o->allow_loopback ? DMP_HEARTBEAT_ALLOW_LOOPBACK
				     : DMP_HEARTBEAT_STRICT;
	if (!o->offline) {
		dmp_resolver_opts_default(&ro);
		ro.servers = o->resolvers;
		ro.n_servers = o->n_resolvers;
		ro.timeout_ms = d->timeout_ms;
		rc = dmp_resolver_new(&d->r, &ro);
		if (rc < 0) {
			DMP_LOG_E("node: discovery: resolvers: %s",
				  dmp_strerror(rc));
			goto fail;
		}
	}
	*out = d;
	return 0;
fail:
	dmp_node_disc_free(d);
	return rc;
}

static struct peer *peer_find(struct dmp_node_disc *d,
			      const struct dmp_heartbeat *hb)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		struct peer *p = &d->peers[i];

		if (memcmp(p->hb.operator_spk, hb->operator_spk, 32) == 0 &&
		    strcmp(p->hb.endpoint, hb->endpoint) == 0) {
			return p;
		}
	}
	return NULL;
}

static void peer_set(struct peer *p, const struct dmp_heartbeat *hb, char *wire,
		     size_t wlen, uint64_t now_s)
{
	dmp_free(p->wire);
	p->hb = *hb;
	p->wire = wire;
	p->wlen = wlen;
	p->last_seen = now_s;
}

/* @return 1 taken, 0 not (ours, older, or the table full of newer). */
static int take(struct dmp_node_disc *d, const struct dmp_heartbeat *hb,
		const char *value, size_t vlen, uint64_t now_s)
{
	struct peer *p;
	char *copy;

	if (d->have_self && memcmp(hb->operator_spk, d->self_pk, 32) == 0 &&
	    strcmp(hb->endpoint, d->self_ep) == 0) {
		return 0;
	}
	p = peer_find(d, hb);
	if (p && hb->ts < p->hb.ts) {
		return 0;
	}
	if (p && hb->ts == p->hb.ts) {
		p->last_seen = now_s;
		return 1;
	}
	if (!p && d->n_peers < d->max_peers) {
		p = &d->peers[d->n_peers++];
		memset(p, 0, sizeof(*p));
	} else if (!p) {
		/* Full: the entry with the oldest heartbeat gives way. */
		p = &d->peers[0];
		for (size_t i = 1; i < d->n_peers; i++) {
			if (d->peers[i].hb.ts < p->hb.ts) {
				p = &d->peers[i];
			}
		}
		if (p->hb.ts >= hb->ts) {
			return 0;
		}
	}
	copy = dmp_malloc(vlen + 1);
	if (!copy) {
		return 0;
	}
	memcpy(copy, value, vlen);
	copy[vlen] = 0;
	peer_set(p, hb, copy, vlen, now_s);
	return 1;
}

int dmp_node_disc_ingest(struct dmp_node_disc *d, const char *const *names,
			 const struct dmp_resolver_result *res, size_t n,
			 uint64_t now_s)
{
	uint64_t rejected = 0;
	int taken = 0;

	if (!d || (n > 0 && (!names || !res))) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t nv = res[i].err == 0 ? res[i].answer.n : 0;

		if (nv > DMP_NODE_DISC_PER_ANSWER) {
			DMP_LOG_D("node: discovery: %s: %zu values, the "
				  "first %d read",
				  names[i], nv, DMP_NODE_DISC_PER_ANSWER);
			nv = DMP_NODE_DISC_PER_ANSWER;
		}
		for (size_t j = 0; j < nv; j++) {
			struct dmp_heartbeat hb;
			const char *v = res[i].answer.values[j];
			size_t vl = res[i].answer.lens[j];
			int prc =
			    dmp_heartbeat_parse(&hb, v, vl, now_s, d->flags);

			if (prc < 0) {
				DMP_LOG_D("node: discovery: %s: value %zu "
					  "refused: %s",
					  names[i], j, dmp_strerror(prc));
				rejected++;
				continue;
			}
			taken += take(d, &hb, v, vl, now_s);
		}
	}
	atomic_fetch_add_explicit(&d->n->c_disc_rejected, rejected,
				  memory_order_relaxed);
	atomic_store_explicit(&d->n->c_disc_known, d->n_peers,
			      memory_order_relaxed);
	return taken;
}

static int by_ts_desc(const void *a, const void *b)
{
	const struct peer *x = a, *y = b;

	return x->hb.ts < y->hb.ts ? 1 : x->hb.ts > y->hb.ts ? -1 : 0;
}

static void expire(struct dmp_node_disc *d, uint64_t now_s)
{
	size_t k = 0;
	uint64_t gone = 0;

	for (size_t i = 0; i < d->n_peers; i++) {
		struct peer *p = &d->peers[i];

		if (p->hb.ts + d->expiry_s < now_s) {
			DMP_LOG_I("node: discovery: peer %s expired (no "
				  "heartbeat newer than %llu s)",
				  p->hb.endpoint,
				  (unsigned long long)(now_s - p->hb.ts));
			dmp_free(p->wire);
			gone++;
			continue;
		}
		d->peers[k++] = *p;
	}
	d->n_peers = k;
	atomic_fetch_add_explicit(&d->n->c_disc_expired, gone,
				  memory_order_relaxed);
	atomic_store_explicit(&d->n->c_disc_known, d->n_peers,
			      memory_order_relaxed);
}

/* The relay peers (bit 1) among the fresh ones @p pick, to the mesh,
 * which may take some as neighbours (8.7.4; node_mesh_nb.c). */
static void hand_relays(struct dmp_node_disc *d, const size_t *pick, size_t np)
{
	struct dmp_node_mesh_peer *mp;
	size_t k = 0;

	if (!dmp_nm_of(d->n)) {
		return; /* relay off */
	}
	mp = dmp_calloc(np ? np : 1, sizeof(*mp));
	if (!mp) {
		return;
	}
	for (size_t i = 0; i < np; i++) {
		const struct dmp_heartbeat *hb = &d->peers[pick[i]].hb;

		if (hb->capabilities & DMP_HEARTBEAT_CAP_RELAY) {
			snprintf(mp[k].endpoint, sizeof(mp[k].endpoint), "%s",
				 hb->endpoint);
			memcpy(mp[k++].spk, hb->operator_spk, 32);
		}
	}
	(void)dmp_node_mesh_discovered(d->n, mp, k);
	dmp_free(mp);
}

int dmp_node_disc_publish(struct dmp_node_disc *d, uint64_t now_ms)
{
	uint64_t now_s = now_ms / 1000;
	struct nop *ops = NULL;
	struct dmp_ni_live live;
	uint32_t ttl;
	size_t pick[DMP_NODE_DISC_SEEN_MAX], np = 0;
	int rc = 0;

	if (!d) {
		return DMP_EINVAL;
	}
	expire(d, now_s);
	qsort(d->peers, d->n_peers, sizeof(*d->peers), by_ts_desc);
	for (size_t i = 0; i < d->n_peers && np < DMP_NODE_DISC_SEEN_MAX; i++) {
		struct dmp_heartbeat hb;

		/* Only what a reader would accept now (2.8 freshness). */
		if (dmp_heartbeat_parse(&hb, d->peers[i].wire, d->peers[i].wlen,
					now_s, d->flags) == 0) {
			pick[np++] = i;
		}
	}
	hand_relays(d, pick, np);
	dmp_ni_live_get(d->n, &live);
	/* The value lives in our store for its TTL: outlast the next round
	 * by a margin, so that readers never find the name empty. */
	ttl = (uint32_t)(2 * d->interval_ms / 1000 + SEEN_TTL_MARGIN);
	ttl = ttl > live.max_ttl ? live.max_ttl : ttl;
	ops = dmp_calloc(np + 1, sizeof(*ops));
	if (!ops) {
		return DMP_ENOMEM;
	}
	for (unsigned z = 0; z < d->n->n_zones; z++) {
		char owner[DMP_NODE_NAME_MAX + 32];
		size_t k = 0;
		int r;

		snprintf(owner, sizeof(owner), SEEN_PREFIX "%s",
			 d->n->o.zones[z].name);
		memset(ops, 0, (np + 1) * sizeof(*ops));
		if (dmp_ni_op_init(d->n, &ops[k++], NOP_DEL_ALL, owner, 0) <
		    0) {
			rc = DMP_EINVAL;
			continue;
		}
		for (size_t i = 0; i < np; i++) {
			const struct peer *p = &d->peers[pick[i]];

			if (dmp_ni_op_init(d->n, &ops[k], NOP_ADD, owner, ttl) <
			    0) {
				break;
			}
			ops[k].value = dmp_malloc(p->wlen + 1);
			if (!ops[k].value) {
				break;
			}
			memcpy(ops[k].value, p->wire, p->wlen + 1);
			ops[k].vlen = p->wlen;
			k++;
		}
		/* Takes the values. NXDOMAIN: nothing was there to delete. */
		r = dmp_nu_write_op(d->n, ops, k, now_ms, NULL);
		if (r != DMP_DNS_RCODE_NOERROR && r != DMP_DNS_RCODE_NXDOMAIN) {
			DMP_LOG_E("node: discovery: cannot publish %s (rcode "
				  "%d)",
				  owner, r);
			rc = DMP_ESTORE;
		} else {
			DMP_LOG_D("node: discovery: %zu peer(s) at %s", np,
				  owner);
		}
	}
	dmp_free(ops);
	return rc < 0 ? rc : (int)np;
}

int dmp_node_disc_tick(struct dmp_node_disc *d, uint64_t now_ms)
{
	const char *q[2 * DMP_NODE_DISC_SEEDS_MAX];
	struct dmp_resolver_result res[2 * DMP_NODE_DISC_SEEDS_MAX];
	int rc, taken;

	if (!d->r || (d->next_ms != 0 && now_ms < d->next_ms)) {
		return 0;
	}
	d->next_ms = now_ms + d->interval_ms;
	for (size_t i = 0; i < d->n_names; i++) {
		q[i] = d->names[i];
	}
	memset(res, 0, sizeof(res));
	rc = dmp_resolver_query_batch(d->r, q, d->n_names, res,
				      d->timeout_ms * ROUND_TRIES, NULL, NULL);
	if (rc < 0) {
		DMP_LOG_E("node: discovery: %s", dmp_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < d->n_names; i++) {
		if (res[i].err != 0 && res[i].err != DMP_ENXDOMAIN) {
			DMP_LOG_D("node: discovery: %s: %s", q[i],
				  dmp_strerror(res[i].err));
		}
	}
	taken = dmp_node_disc_ingest(d, q, res, d->n_names, now_ms / 1000);
	for (size_t i = 0; i < d->n_names; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	rc = dmp_node_disc_publish(d, now_ms);
	DMP_LOG_D("node: discovery round: %d heartbeat(s) read, %zu peer(s)",
		  taken, d->n_peers);
	return rc < 0 ? rc : 1;
}

size_t dmp_node_disc_count(const struct dmp_node_disc *d)
{
	return d ? d->n_peers : 0;
}

void dmp_node_disc_free(struct dmp_node_disc *d)
{
	if (!d) {
		return;
	}
	dmp_resolver_free(d->r);
	for (size_t i = 0; i < d->n_peers; i++) {
		dmp_free(d->peers[i].wire);
	}
	dmp_free(d->peers);
	dmp_free(d->names);
	dmp_free(d);
}

void dmp_node_disc_stats(const struct dmp_node *n, uint64_t *known,
			 uint64_t *expired, uint64_t *rejected)
{
	*known = atomic_load_explicit(&n->c_disc_known, memory_order_relaxed);
	*expired =
	    atomic_load_explicit(&n->c_disc_expired, memory_order_relaxed);
	*rejected =
	    atomic_load_explicit(&n->c_disc_rejected, memory_order_relaxed);
}
