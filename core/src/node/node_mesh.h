/*
 * core/src/node/node_mesh.h - private parts of the DMP-RELAY/1 link
 * prober (docs/protocol.md 8.7.4, 8.7.9; node_mesh.c, node_mesh_http.c):
 * the pure per-link rules (smoothed RTT, the missed-probe rule, the
 * advertised cost) and the mesh state the HTTP side reads.
 */
#ifndef DMP_NODE_MESH_H
#define DMP_NODE_MESH_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "dmp/links.h"
#include "dmp/record.h"
#include "dmp/relay.h"
#include "dmp/node.h"
#include "node/node_route.h"

/** Probes missed in a row that mark a link down (8.7.4). */
#define DMP_MESH_MISSED_DOWN 3
/*
 * Lifetime of our link record, in link intervals (8.7.4 as built). A
 * record crosses one hop per round at worst, so a copy h hops away is up
 * to h intervals old: it must outlive the farthest hop a bundle may make
 * (DMP_RELAY_HOPS_MAX), plus 2 for the probe times and the whole-second
 * ts. With 3 intervals the records of nodes 3 hops or more away expired
 * on the way (a line of 5 in namespaces, tests/black/test_mesh_netns.py).
 * A cut link is still known at once: its ends republish it down.
 */
#define DMP_MESH_LIFE_INTERVALS (DMP_RELAY_HOPS_MAX + 2)
/** Records served by GET /v1/mesh/links (8.7.4), our own included. */
#define DMP_MESH_RECORDS_MAX DMP_ROUTE_NODES_MAX

/* What one probe came to: dmp_mesh_probes_total{result}. */
enum dmp_mesh_result {
	DMP_MESH_OK = 0,      /* 200 and the neighbour's own record */
	DMP_MESH_UNREACHABLE, /* connect, timeout, oversized answer */
	DMP_MESH_STATUS,      /* an HTTP status other than 200 */
	DMP_MESH_MALFORMED,   /* not JSON of the shape, no verified record */
	DMP_MESH_RESULT_MAX
};
extern const char *const dmp_nm_result_names[DMP_MESH_RESULT_MAX];

/** The state of one link as the probes see it. */
struct dmp_mesh_link {
	uint32_t srtt_ms; /* smoothed RTT (valid once sampled) */
	unsigned missed;  /* probes missed in a row */
	int sampled;	  /* at least one RTT sample */
	int up;
};

/**
 * TCP's smoothed RTT (RFC 6298 2.2-2.3, alpha 1/8): the first sample
 * is taken as is, then srtt = 7/8 srtt + 1/8 rtt, rounded to nearest.
 */
uint32_t dmp_nm_srtt(uint32_t srtt_ms, int sampled, uint32_t rtt_ms);

/**
 * Account one probe: an answer takes an RTT sample, clears the missed
 * count and brings the link up; DMP_MESH_MISSED_DOWN misses in a row take
 * it down. @return 1 when the link went up or down, else 0
 */
int dmp_nm_probe(struct dmp_mesh_link *l, int answered, uint32_t rtt_ms);

/** The cost_ms to advertise: the SRTT clamped to 1..60000. */
uint16_t dmp_nm_cost(uint32_t srtt_ms);

/* ---- neighbours from discovery (node_mesh_nb.c, 8.7.4) ---- */

/** A neighbour or candidate for dmp_nm_select(). */
struct dmp_nm_choice {
	const char *url;
	const uint8_t *spk; /* NULL: not known (a configured one not probed) */
	uint32_t rtt_ms;    /* smoothed RTT measured; 0: none */
};

/**
 * Which discovered relay peers to probe besides the configured ones: the
 * candidates that are not ourselves, not a configured neighbour (same URL,
 * or same key once known) and not a second endpoint of a node already
 * chosen, ordered by measured RTT (those with one first), then the lower
 * key, then the URL; at most @p max. Deterministic.
 * @param out  indices into @p cand, best first (room for @p max)
 * @return how many were chosen
 */
size_t dmp_nm_select(const struct dmp_nm_choice *conf, size_t n_conf,
		     const struct dmp_nm_choice *cand, size_t n_cand,
		     const uint8_t self[DMP_ED25519_PK_BYTES], size_t max,
		     size_t *out);

/* ---- the mesh handle (node_mesh.c), read by node_mesh_http.c ---- */

struct nm_nb {
	char url[DMP_LINKS_ENDPOINT_MAX + 1]; /* base URL probed */
	int discovered; /* 0: mesh.neighbours; 1: chosen from discovery */
	int known;	/* spk learned from a probe */
	uint8_t spk[DMP_ED25519_PK_BYTES];
	struct dmp_mesh_link l;
	uint64_t last_probe_ms; /* wall clock; 0: never */
	enum dmp_mesh_result last;
};

struct nm_rec {
	uint8_t spk[DMP_ED25519_PK_BYTES];
	uint64_t seq, exp;
	char wire[DMP_RECORD_WIRE_MAX + 1];
};

struct dmp_node_mesh {
	struct dmp_node *n;
	struct dmp_node_mesh_opts o; /* pointers in it not kept */
	uint8_t sk[64];
	uint8_t pk[DMP_ED25519_PK_BYTES];
	char endpoint[DMP_LINKS_ENDPOINT_MAX + 1];
	unsigned flags; /* DMP_HEARTBEAT_ALLOW_LOOPBACK or STRICT */
	/* mu: everything below, and stop/cv. Never held across network I/O
	 * or a store write. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int started, stop;
	struct nm_nb *nb; /* configured first, then discovered ones */
	size_t n_nb, n_conf, nb_cap;
	/* Relay peers from discovery (dmp_node_mesh_discovered); applied to
	 * nb by the mesh thread when cand_gen moved (node_mesh_nb.c). */
	struct dmp_node_mesh_peer *cand;
	size_t n_cand;
	uint64_t cand_gen, applied_gen;
	size_t applied_known; /* configured neighbours' keys known then */
	int kick;	      /* wake the mesh thread for a round now */
	int auto_timeout;     /* timeout_ms follows the number of neighbours */
	struct dmp_route *route;
	struct nm_rec *recs; /* [0]: ours once published */
	size_t n_recs;
	uint64_t seq; /* of our last record */
	uint64_t probes[DMP_MESH_RESULT_MAX];
	uint64_t rejected, published;
};

/** Route table size now, links up (metrics). Locks m->mu. */
void dmp_nm_gauges(struct dmp_node_mesh *m, uint64_t *links_up,
		   uint64_t *routes, uint64_t probes[DMP_MESH_RESULT_MAX]);

/** The mesh lines of /metrics (zeros without a mesh). */
void dmp_nm_metrics(struct dmp_node *n, FILE *f);

/** Apply the discovered candidates to m->nb when they changed, or when a
 *  probe learnt a configured neighbour's key (it may be one of them) (mesh
 *  thread only; locks m->mu). @return 1 when the neighbours changed */
int dmp_nm_refresh(struct dmp_node_mesh *m);

/** The per-probe timeout when none was set: half the interval shared by
 *  @p n_nb neighbours, 200..5000 ms. */
unsigned dmp_nm_auto_timeout(uint32_t interval_s, size_t n_nb);

/** The running mesh of @p n, or NULL (relay off). */
struct dmp_node_mesh *dmp_nm_of(struct dmp_node *n);

#endif /* DMP_NODE_MESH_H */
