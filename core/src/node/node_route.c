/*
 * core/src/node/node_route.c - DMP-RELAY/1 routing (node_route.h): the
 * link-state graph, Dijkstra with a binary heap, next hop, budgeted flood
 * and routing table. Pure logic over one handle.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/common.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "node/node_route.h"

#define NMAX DMP_ROUTE_NODES_MAX
#define DEG_MAX DMP_LINKS_PEERS_MAX
#define UNREACHED UINT32_MAX
#define NO_SLOT 0xffffu
#define PK DMP_ED25519_PK_BYTES

struct rnode {
	struct dmp_links lk; /* node_spk is always set, the rest if have */
	int have;	     /* a record is held (slot 0 may have none) */
};

struct heap_item {
	uint32_t dist;
	uint16_t rank;
	uint16_t slot;
};

struct zone_pair {
	const char *zone;
	uint32_t dist;
	uint16_t rank;
	uint16_t slot;
};

/* A slot under its key, for sorting and bsearch without a context. */
struct key {
	uint8_t spk[DMP_ED25519_PK_BYTES];
	uint16_t slot;
};

struct dmp_route {
	size_t n; /* slots in use; slot 0 is this node */
	int dirty;
	struct rnode nodes[NMAX];
	/* Computed by compute(): */
	struct key ord[NMAX]; /* slots sorted by node_spk */
	uint16_t rank[NMAX];  /* position of a slot in ord */
	uint8_t deg[NMAX];
	uint16_t adj[NMAX][DEG_MAX];
	uint32_t adj_cost[NMAX][DEG_MAX];
	uint32_t dist[NMAX];
	uint32_t hops[NMAX];
	uint16_t next[NMAX]; /* first hop from slot 0; NO_SLOT if none */
	uint8_t done[NMAX];
	struct heap_item heap[NMAX * DEG_MAX + 1];
	struct zone_pair pairs[NMAX * DMP_LINKS_ZONES_MAX];
};

static const uint8_t *spk_of(const struct dmp_route *r, size_t slot)
{
	return r->nodes[slot].lk.node_spk;
}

static int find_slot(const struct dmp_route *r, const uint8_t spk[PK])
{
	for (size_t i = 0; i < r->n; i++) {
		if (memcmp(spk_of(r, i), spk, PK) == 0) {
			return (int)i;
		}
	}
	return -1;
}

int dmp_route_new(struct dmp_route **out, const uint8_t self_spk[PK])
{
	struct dmp_route *r;

	*out = NULL;
	if (!self_spk) {
		return DMP_EINVAL;
	}
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return DMP_ENOMEM;
	}
	memcpy(r->nodes[0].lk.node_spk, self_spk, PK);
	r->n = 1;
	r->dirty = 1;
	*out = r;
	return 0;
}

void dmp_route_free(struct dmp_route *r)
{
	dmp_free(r);
}

int dmp_route_put(struct dmp_route *r, const struct dmp_links *lk, uint64_t now)
{
	int slot;

	if (!r || !lk || lk->n_zones > DMP_LINKS_ZONES_MAX ||
	    lk->n_peers > DMP_LINKS_PEERS_MAX) {
		return DMP_EINVAL;
	}
	if (lk->exp <= now) {
		return DMP_EEXPIRED;
	}
	slot = find_slot(r, lk->node_spk);
	if (slot >= 0 && r->nodes[slot].have &&
	    r->nodes[slot].lk.seq >= lk->seq) {
		return 0;
	}
	if (slot < 0) {
		if (r->n == NMAX) {
			return DMP_ENOSPC;
		}
		slot = (int)r->n++;
	}
	r->nodes[slot].lk = *lk;
	r->nodes[slot].have = 1;
	r->dirty = 1;
	return 1;
}

static void drop_slot(struct dmp_route *r, size_t slot)
{
	if (slot == 0) {
		/* This node stays, without a record. */
		r->nodes[0].have = 0;
	} else {
		r->nodes[slot] = r->nodes[--r->n];
		memset(&r->nodes[r->n], 0, sizeof(r->nodes[r->n]));
	}
	r->dirty = 1;
}

int dmp_route_remove(struct dmp_route *r, const uint8_t spk[PK])
{
	int slot = find_slot(r, spk);

	if (slot < 0 || !r->nodes[slot].have) {
		return 0;
	}
	drop_slot(r, (size_t)slot);
	return 1;
}

size_t dmp_route_expire(struct dmp_route *r, uint64_t now)
{
	size_t dropped = 0;

	for (size_t i = r->n; i-- > 0;) {
		if (r->nodes[i].have && r->nodes[i].lk.exp <= now) {
			drop_slot(r, i);
			dropped++;
		}
	}
	return dropped;
}

size_t dmp_route_count(const struct dmp_route *r)
{
	return r->n - (r->nodes[0].have ? 0 : 1);
}

const struct dmp_links *dmp_route_get(const struct dmp_route *r,
				      const uint8_t spk[PK])
{
	int slot = find_slot(r, spk);

	return slot >= 0 && r->nodes[slot].have ? &r->nodes[slot].lk : NULL;
}

/* ---- the graph ---- */

static int key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct key *)a)->spk,
		      ((const struct key *)b)->spk, PK);
}

/* Slot of @p spk through ord (sorted), or NO_SLOT. */
static uint16_t lookup(const struct dmp_route *r, const uint8_t spk[PK])
{
	struct key k;
	const struct key *hit;

	memcpy(k.spk, spk, PK);
	hit = bsearch(&k, r->ord, r->n, sizeof(r->ord[0]), key_cmp);
	return hit ? hit->slot : NO_SLOT;
}

/* cost_ms of @p from's up link to @p to, or 0 when it advertises none. */
static uint32_t up_cost(const struct dmp_route *r, size_t from, size_t to)
{
	const struct dmp_links *lk = &r->nodes[from].lk;

	if (!r->nodes[from].have) {
		return 0;
	}
	for (size_t i = 0; i < lk->n_peers; i++) {
		if ((lk->peers[i].flags & DMP_LINKS_UP) &&
		    memcmp(lk->peers[i].spk, spk_of(r, to), PK) == 0) {
			return lk->peers[i].cost_ms;
		}
	}
	return 0;
}

static void build_graph(struct dmp_route *r)
{
	for (size_t i = 0; i < r->n; i++) {
		memcpy(r->ord[i].spk, spk_of(r, i), PK);
		r->ord[i].slot = (uint16_t)i;
	}
	qsort(r->ord, r->n, sizeof(r->ord[0]), key_cmp);
	for (size_t i = 0; i < r->n; i++) {
		r->rank[r->ord[i].slot] = (uint16_t)i;
	}
	for (size_t u = 0; u < r->n; u++) {
		const struct dmp_links *lk = &r->nodes[u].lk;

		r->deg[u] = 0;
		if (!r->nodes[u].have) {
			continue;
		}
		for (size_t i = 0; i < lk->n_peers; i++) {
			uint16_t v = lookup(r, lk->peers[i].spk);
			uint32_t mine = lk->peers[i].cost_ms, theirs;

			if (!(lk->peers[i].flags & DMP_LINKS_UP) ||
			    v == NO_SLOT || v == u) {
				continue;
			}
			theirs = up_cost(r, v, u);
			if (theirs == 0) {
				continue; /* one-sided: not a link */
			}
			r->adj[u][r->deg[u]] = v;
			r->adj_cost[u][r->deg[u]++] =
			    (mine > theirs ? mine : theirs) +
			    DMP_ROUTE_HOP_PENALTY_MS;
		}
	}
}

static int heap_less(const struct heap_item *a, const struct heap_item *b)
{
	return a->dist != b->dist ? a->dist < b->dist : a->rank < b->rank;
}

static void heap_push(struct dmp_route *r, size_t *n, struct heap_item it)
{
	size_t i = (*n)++;

	while (i > 0 && heap_less(&it, &r->heap[(i - 1) / 2])) {
		r->heap[i] = r->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	r->heap[i] = it;
}

static struct heap_item heap_pop(struct dmp_route *r, size_t *n)
{
	struct heap_item top = r->heap[0], last = r->heap[--(*n)];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n) {
			break;
		}
		if (c + 1 < *n && heap_less(&r->heap[c + 1], &r->heap[c])) {
			c++;
		}
		if (!heap_less(&r->heap[c], &last)) {
			break;
		}
		r->heap[i] = r->heap[c];
		i = c;
	}
	if (*n > 0) {
		r->heap[i] = last;
	}
	return top;
}

/* Is (dist, next hop, hops) a better way to a node than what it has? */
static int better(const struct dmp_route *r, size_t v, uint32_t d, uint16_t nh,
		  uint32_t h)
{
	if (d != r->dist[v]) {
		return d < r->dist[v];
	}
	if (nh != r->next[v]) {
		return r->rank[nh] < r->rank[r->next[v]];
	}
	return h < r->hops[v];
}

/* Dijkstra from slot 0; every cost is >= 11, so no edge is free. */
static void compute(struct dmp_route *r)
{
	size_t hn = 0;

	if (!r->dirty) {
		return;
	}
	build_graph(r);
	for (size_t i = 0; i < r->n; i++) {
		r->dist[i] = UNREACHED;
		r->hops[i] = 0;
		r->next[i] = NO_SLOT;
		r->done[i] = 0;
	}
	r->dist[0] = 0;
	heap_push(r, &hn, (struct heap_item){0, r->rank[0], 0});
	while (hn > 0) {
		struct heap_item it = heap_pop(r, &hn);
		size_t u = it.slot;

		if (r->done[u] || it.dist != r->dist[u]) {
			continue;
		}
		r->done[u] = 1;
		for (size_t i = 0; i < r->deg[u]; i++) {
			uint16_t v = r->adj[u][i];
			uint32_t d = r->dist[u] + r->adj_cost[u][i];
			uint16_t nh = u == 0 ? v : r->next[u];

			if (r->done[v] ||
			    !better(r, v, d, nh, r->hops[u] + 1)) {
				continue;
			}
			r->dist[v] = d;
			r->next[v] = nh;
			r->hops[v] = r->hops[u] + 1;
			heap_push(r, &hn, (struct heap_item){d, r->rank[v], v});
		}
	}
	r->dirty = 0;
}

/* ---- queries ---- */

static int serves(const struct dmp_route *r, size_t slot, const char *zone)
{
	const struct dmp_links *lk = &r->nodes[slot].lk;

	if (!r->nodes[slot].have) {
		return 0;
	}
	for (size_t i = 0; i < lk->n_zones; i++) {
		if (strcmp(lk->zones[i], zone) == 0) {
			return 1;
		}
	}
	return 0;
}

static int in_path(const uint8_t spk[PK], const uint8_t *path, size_t n_path)
{
	for (size_t i = 0; i < n_path; i++) {
		if (memcmp(spk, path + i * DMP_ROUTE_FP_BYTES,
			   DMP_ROUTE_FP_BYTES) == 0) {
			return 1;
		}
	}
	return 0;
}

static void fill_hop(const struct dmp_route *r, struct dmp_route_hop *out,
		     size_t next)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->next_spk, spk_of(r, next), PK);
	memcpy(out->next_endpoint, r->nodes[next].lk.endpoint,
	       sizeof(out->next_endpoint));
}

int dmp_route_next(struct dmp_route *r, const char *zone, uint32_t hops_left,
		   const uint8_t *path, size_t n_path,
		   struct dmp_route_hop *out)
{
	char z[DMP_LINKS_ZONE_MAX + 2];
	size_t best = NO_SLOT;

	if (!r || !zone || !out || (n_path && !path) ||
	    dmp_owner_name_lower(z, sizeof(z), zone, strlen(zone)) < 0) {
		return DMP_EINVAL;
	}
	compute(r);
	if (serves(r, 0, z)) {
		return DMP_ROUTE_LOCAL;
	}
	for (size_t v = 1; v < r->n; v++) {
		if (r->dist[v] == UNREACHED || r->hops[v] > hops_left ||
		    !serves(r, v, z) ||
		    in_path(spk_of(r, r->next[v]), path, n_path)) {
			continue;
		}
		if (best == NO_SLOT || r->dist[v] < r->dist[best] ||
		    (r->dist[v] == r->dist[best] &&
		     r->rank[v] < r->rank[best])) {
			best = v;
		}
	}
	if (best == NO_SLOT) {
		return DMP_ENOENT;
	}
	fill_hop(r, out, r->next[best]);
	memcpy(out->dest_spk, spk_of(r, best), PK);
	out->cost = r->dist[best];
	out->hops = r->hops[best];
	return 0;
}

int dmp_route_flood(struct dmp_route *r, uint32_t budget, const uint8_t *path,
		    size_t n_path, struct dmp_route_hop *out, size_t cap)
{
	size_t cand[DEG_MAX], nc = 0, k;
	uint32_t share, extra;

	if (!r || (cap && !out) || (n_path && !path)) {
		return DMP_EINVAL;
	}
	compute(r);
	/* Neighbours not in path, cheapest link first, then lower key. */
	for (size_t i = 0; i < r->deg[0]; i++) {
		size_t j = nc;

		if (in_path(spk_of(r, r->adj[0][i]), path, n_path)) {
			continue;
		}
		while (j > 0) {
			size_t p = cand[j - 1];
			uint32_t pc = r->adj_cost[0][p], ic = r->adj_cost[0][i];

			if (pc < ic ||
			    (pc == ic &&
			     r->rank[r->adj[0][p]] < r->rank[r->adj[0][i]])) {
				break;
			}
			cand[j] = cand[j - 1];
			j--;
		}
		cand[j] = i;
		nc++;
	}
	k = nc < cap ? nc : cap;
	if (budget < k) {
		k = budget;
	}
	if (k == 0) {
		return 0;
	}
	share = (uint32_t)((budget - k) / k);
	extra = (uint32_t)((budget - k) % k);
	for (size_t i = 0; i < k; i++) {
		fill_hop(r, &out[i], r->adj[0][cand[i]]);
		out[i].cost = r->adj_cost[0][cand[i]];
		out[i].hops = 1;
		out[i].budget = share + (i < extra ? 1 : 0);
	}
	return (int)k;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct zone_pair *x = a, *y = b;
	int c = strcmp(x->zone, y->zone);

	if (c != 0) {
		return c;
	}
	if (x->dist != y->dist) {
		return x->dist < y->dist ? -1 : 1;
	}
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

int dmp_route_table(struct dmp_route *r, struct dmp_route_entry *out,
		    size_t cap)
{
	size_t np = 0, nz = 0;

	compute(r);
	for (size_t v = 0; v < r->n; v++) {
		const struct dmp_links *lk = &r->nodes[v].lk;

		if (!r->nodes[v].have || r->dist[v] == UNREACHED) {
			continue;
		}
		for (size_t i = 0; i < lk->n_zones; i++) {
			r->pairs[np++] = (struct zone_pair){
			    lk->zones[i], r->dist[v], r->rank[v], (uint16_t)v};
		}
	}
	qsort(r->pairs, np, sizeof(r->pairs[0]), pair_cmp);
	for (size_t i = 0; i < np; i++) {
		size_t v = r->pairs[i].slot;
		struct dmp_route_entry *e;
		size_t next;

		if (i > 0 &&
		    strcmp(r->pairs[i].zone, r->pairs[i - 1].zone) == 0) {
			continue;
		}
		if (nz++ >= cap) {
			continue;
		}
		e = &out[nz - 1];
		next = v == 0 ? 0 : r->next[v];
		memset(e, 0, sizeof(*e));
		memcpy(e->zone, r->pairs[i].zone, sizeof(e->zone));
		memcpy(e->dest_spk, spk_of(r, v), PK);
		memcpy(e->next_spk, spk_of(r, next), PK);
		memcpy(e->next_endpoint, r->nodes[next].lk.endpoint,
		       sizeof(e->next_endpoint));
		e->cost = r->dist[v];
		e->hops = r->hops[v];
	}
	return (int)nz;
}

size_t dmp_route_links_up(struct dmp_route *r)
{
	compute(r);
	return r->deg[0];
}
