/*
 * core/src/node/node_mesh.h - private parts of the DMP-RELAY/1 link
 * prober (docs/protocol.md 8.7.4, 8.7.9; node_mesh.c, node_mesh_http.c):
 * the pure per-link rules (smoothed RTT, the missed-probe rule, the
 * advertised cost) and the mesh state the HTTP side reads.
 */
#ifndef DMP_NODE_MESH_H
#define DMP_NODE_MESH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "dmp/links.h"
#include "dmp/record.h"
#include "dmp/node.h"
#include "node/node_route.h"

/** Probes missed in a row that mark a link down (8.7.4). */
#define DMP_MESH_MISSED_DOWN 3
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

/* ---- the mesh handle (node_mesh.c), read by node_mesh_http.c ---- */

struct nm_nb {
	char url[DMP_LINKS_ENDPOINT_MAX + 1]; /* mesh.neighbours entry */
	int known;			      /* spk learned from a probe */
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
	struct nm_nb *nb;
	size_t n_nb;
	struct dmp_route *route;
	struct nm_rec *recs; /* [0]: ours once published */
	size_t n_recs;
	uint64_t seq; /* of our last record */
	uint64_t probes[DMP_MESH_RESULT_MAX];
	uint64_t rejected, published;
	size_t links_up; /* two-way links in the graph at the last tick */
	/* Bumped when links_up grew (a link came up): the relay's
	 * forwarder thread retries its held bundles at once (8.7.6). */
	_Atomic unsigned link_ups;
};

/** Route table size now, links up (metrics). Locks m->mu. */
void dmp_nm_gauges(struct dmp_node_mesh *m, uint64_t *links_up,
		   uint64_t *routes, uint64_t probes[DMP_MESH_RESULT_MAX]);

/** The mesh lines of /metrics (zeros without a mesh). */
void dmp_nm_metrics(struct dmp_node *n, FILE *f);

/** The running mesh of @p n, or NULL (relay off). */
struct dmp_node_mesh *dmp_nm_of(struct dmp_node *n);

#endif /* DMP_NODE_MESH_H */
