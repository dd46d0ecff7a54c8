/*
 * core/src/node/node_route.h - DMP-RELAY/1 routing (docs/protocol.md
 * 8.7.4-8.7.5, draft) as pure logic: the graph of verified link records,
 * Dijkstra from this node, the next hop towards a zone, the budgeted
 * flood split and the routing table. No I/O, no threads, no locks: the
 * caller serialises calls on one handle and passes the clock.
 *
 * Graph: a link counts only when both ends advertise it up; its cost is
 * the larger of the two cost_ms plus DMP_ROUTE_HOP_PENALTY_MS. A zone maps
 * to the nodes whose record lists it. Ties between equal-cost paths go to
 * the lower next-hop node_spk, then to fewer hops; between equally near
 * nodes serving a zone, to the lower node_spk. Bounded: at most
 * DMP_ROUTE_NODES_MAX records of DMP_LINKS_PEERS_MAX links each; a
 * recomputation is O((V + E) log V).
 */
#ifndef DMP_NODE_ROUTE_H
#define DMP_NODE_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/links.h"

#define DMP_ROUTE_NODES_MAX 256
/** Per-hop penalty added to a link's cost, so fewer hops win a tie. */
#define DMP_ROUTE_HOP_PENALTY_MS 10
/** A fingerprint in a bundle's `path`: the first 8 bytes of node_spk. */
#define DMP_ROUTE_FP_BYTES 8
/** dmp_route_next(): this node serves the zone itself. */
#define DMP_ROUTE_LOCAL 1

struct dmp_route;

/** Where a copy goes: the neighbour and, for a route, its destination. */
struct dmp_route_hop {
	uint8_t next_spk[DMP_ED25519_PK_BYTES];
	char next_endpoint[DMP_LINKS_ENDPOINT_MAX + 1];
	uint8_t dest_spk[DMP_ED25519_PK_BYTES]; /* route: the serving node */
	uint32_t cost;	 /* route: ms to dest; flood: link */
	uint32_t hops;	 /* route: hops to dest; flood: 1 */
	uint32_t budget; /* flood: the copy's budget */
};

/** One line of the routing table (GET /v1/mesh). */
struct dmp_route_entry {
	char zone[DMP_LINKS_ZONE_MAX + 1];
	uint8_t dest_spk[DMP_ED25519_PK_BYTES];
	uint8_t next_spk[DMP_ED25519_PK_BYTES]; /* = dest_spk when local */
	char next_endpoint[DMP_LINKS_ENDPOINT_MAX + 1];
	uint32_t cost;
	uint32_t hops; /* 0: this node serves the zone */
};

/**
 * A routing table for the node whose operator key is @p self_spk.
 * @return 0, DMP_EINVAL or DMP_ENOMEM
 */
int dmp_route_new(struct dmp_route **out,
		  const uint8_t self_spk[DMP_ED25519_PK_BYTES]);
void dmp_route_free(struct dmp_route *r);

/**
 * Take a link record the caller verified (dmp_links_parse), this node's
 * own included. The newest seq per node_spk is kept; an older or equal
 * seq is ignored, an expired record (exp <= @p now) is refused.
 * @return 1 stored, 0 ignored (not newer), DMP_EEXPIRED, DMP_EINVAL or
 *         DMP_ENOSPC (DMP_ROUTE_NODES_MAX other nodes already known)
 */
int dmp_route_put(struct dmp_route *r, const struct dmp_links *lk,
		  uint64_t now);

/** Forget @p spk's record (e.g. its last probe failed). 1 if known. */
int dmp_route_remove(struct dmp_route *r,
		     const uint8_t spk[DMP_ED25519_PK_BYTES]);

/**
 * Drop the records expired at @p now (exp <= now).
 * @return how many were dropped
 */
size_t dmp_route_expire(struct dmp_route *r, uint64_t now);

/** Records held (this node's own included). */
size_t dmp_route_count(const struct dmp_route *r);

/** The record held for @p spk, or NULL. Valid until the next put. */
const struct dmp_links *dmp_route_get(const struct dmp_route *r,
				      const uint8_t spk[DMP_ED25519_PK_BYTES]);

/**
 * Next hop of a `path`-mode bundle for @p zone (8.7.5): towards the
 * nearest node serving it whose route takes at most @p hops_left hops and
 * whose next hop is not in @p path (@p n_path fingerprints of
 * DMP_ROUTE_FP_BYTES each, back to back). Routes are recomputed first if a
 * record changed.
 * @return DMP_ROUTE_LOCAL (this node serves @p zone; @p out untouched),
 *         0 (@p out filled), DMP_ENOENT (no such route: flood) or
 *         DMP_EINVAL
 */
int dmp_route_next(struct dmp_route *r, const char *zone, uint32_t hops_left,
		   const uint8_t *path, size_t n_path,
		   struct dmp_route_hop *out);

/**
 * The budgeted flood of 8.7.5 for a copy holding @p budget: up to
 * @p budget neighbours (two-way up links) not in @p path, cheapest link
 * first (ties: lower node_spk), and budget - copies split among the
 * copies as evenly as possible, the cheaper ones getting the remainder.
 * Every copy is one transmission, so copies + the sum of their budgets
 * = @p budget whenever any copy is made.
 * @param cap  room in @p out; at most min(budget, cap, neighbours) copies
 * @return the number of copies written (0: nowhere to go), DMP_EINVAL
 */
int dmp_route_flood(struct dmp_route *r, uint32_t budget, const uint8_t *path,
		    size_t n_path, struct dmp_route_hop *out, size_t cap);

/**
 * The routing table: one entry per zone listed by a reachable node (this
 * one included), its nearest server and the next hop there, sorted by
 * zone. Writes at most @p cap entries.
 * @return the number of zones (which may exceed @p cap), or DMP_ENOMEM
 */
int dmp_route_table(struct dmp_route *r, struct dmp_route_entry *out,
		    size_t cap);

/** Two-way up links of this node (dmp_mesh_links_up). */
size_t dmp_route_links_up(struct dmp_route *r);

#endif /* DMP_NODE_ROUTE_H */
