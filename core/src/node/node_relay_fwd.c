/*
 * core/src/node/node_relay_fwd.c - forwarding of a DMP-RELAY/1 bundle
 * (docs/protocol.md 8.7.5): the next hop comes from the mesh's routing
 * graph (dmp_route_next, else the budgeted flood of dmp_route_flood),
 * copied out under the mesh's mu; the bundle then goes to that hop's
 * POST /v1/relay with hops + 1, this node's fingerprint appended to path
 * and each ttl lowered by the seconds the bundle spent here. A failure
 * the network may heal (no answer, a 5xx or 429, no route) is marked
 * holdable: the forwarder thread then holds the bundle (8.7.6,
 * node_relay_q.c).
 *
 * Threads and locks: runs on the caller's thread (the relay's forwarder
 * thread, or a direct caller; blocked for at most DMP_NHR_FWD_TIMEOUT_MS
 * per copy); the mesh's mu is held only to copy the route, never across
 * the POST, so it stays a leaf; no other lock is held.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dmp/b64.h"
#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/relay.h"
#include "node/node_http_i.h"
#include "node/node_i.h"
#include "node/node_mesh.h"
#include "node/node_route.h"
#include "node/node_sync_i.h"

/* Copies a flood makes at most: one per unit of budget. */
#define NHR_FLOOD_MAX DMP_RELAY_HOPS_MAX

/* What the next hop said: status (< 0 no answer), its reason and hops. */
struct fwd_answer {
	int status;
	int hops;
	unsigned retry_after; /* its Retry-After, 0: none */
	char reason[160];
};

/* POST @p c to @p endpoint's /v1/relay and read its JSON reply. */
static void post_copy(const struct dmp_relay_bundle *c, const char *endpoint,
		      struct fwd_answer *a)
{
	char url[DMP_LINKS_ENDPOINT_MAX + 16], *body = NULL, *resp = NULL;
	size_t len = strlen(endpoint), blen = 0, rlen = 0;
	json_t *js;
	int rc;

	a->status = DMP_EUNREACHABLE;
	a->hops = -1;
	a->retry_after = 0;
	a->reason[0] = '\0';
	while (len && endpoint[len - 1] == '/') {
		len--;
	}
	snprintf(url, sizeof(url), "%.*s/v1/relay", (int)len, endpoint);
	rc = dmp_relay_bundle_to_json(c, &body, &blen);
	if (rc < 0) {
		a->status = rc;
		snprintf(a->reason, sizeof(a->reason), "cannot encode: %s",
			 dmp_strerror(rc));
		return;
	}
	rc = dmp_ns_http_curl_ra(NULL, url, NULL, body, &resp, &rlen,
				 DMP_NHR_FWD_TIMEOUT_MS, &a->retry_after);
	dmp_free(body);
	a->status = rc;
	if (rc < 0) {
		snprintf(a->reason, sizeof(a->reason), "%s", dmp_strerror(rc));
		return;
	}
	js = resp ? json_loadb(resp, rlen, 0, NULL) : NULL;
	if (js) {
		json_t *why = json_object_get(js, "reason");
		json_t *hops = json_object_get(js, "hops");

		if (json_is_string(why)) {
			snprintf(a->reason, sizeof(a->reason), "%s",
				 json_string_value(why));
			/* Another node's words go into our reply and log:
			 * no control characters. */
			for (char *p = a->reason; *p; p++) {
				if ((unsigned char)*p < 0x20 || *p == 0x7f) {
					*p = '?';
				}
			}
		}
		if (json_is_integer(hops)) {
			a->hops = (int)json_integer_value(hops);
		}
		json_decref(js);
	}
	dmp_free(resp);
}

/* The route or the flood for @p b, copied out under the mesh's mu.
 * @return copies in @p out (0: nowhere), *flood set */
static int pick_hops(struct dmp_node_mesh *m, const struct dmp_relay_bundle *b,
		     unsigned limit, struct dmp_route_hop *out, int *flood)
{
	uint8_t path[DMP_RELAY_HOPS_MAX * DMP_ROUTE_FP_BYTES];
	unsigned left = limit > b->hops ? limit - b->hops : 0;
	int rc;

	for (size_t i = 0; i < b->n_path; i++) {
		if (dmp_hex_decode(path + i * DMP_ROUTE_FP_BYTES,
				   DMP_ROUTE_FP_BYTES, b->path[i],
				   DMP_RELAY_FP_CHARS) < 0) {
			return 0; /* parse_json checked it: cannot happen */
		}
	}
	*flood = 0;
	if (left == 0) {
		return 0;
	}
	pthread_mutex_lock(&m->mu);
	rc = dmp_route_next(m->route, b->zone, left, path, b->n_path, &out[0]);
	if (rc == 0) {
		rc = 1;
	} else {
		/* No route that fits: flood with what is left, or keep
		 * flooding with the budget received (8.7.5). */
		unsigned budget =
		    b->mode == DMP_RELAY_MODE_FLOOD ? b->budget : left;

		*flood = 1;
		rc = budget ? dmp_route_flood(m->route, budget, path, b->n_path,
					      out, NHR_FLOOD_MAX)
			    : 0;
	}
	pthread_mutex_unlock(&m->mu);
	return rc < 0 ? 0 : rc;
}

int dmp_nhr_forward(struct dmp_node_http *h, const struct dmp_relay_bundle *b,
		    uint64_t t0_ms, struct dmp_nhr_fwd *f, char *why,
		    size_t cap)
{
	struct dmp_node_mesh *m = dmp_nm_of(h->n);
	const char *fp = h->o.relay.fp;
	unsigned limit = b->max_hops < h->o.relay.max_hops
			     ? b->max_hops
			     : h->o.relay.max_hops;
	struct dmp_route_hop hops[NHR_FLOOD_MAX];
	struct dmp_relay_bundle c;
	struct fwd_answer a;
	uint64_t now = dmp_nh_now_ms(h);
	uint32_t spent = now > t0_ms ? (uint32_t)((now - t0_ms) / 1000) : 0;
	int n, flood = 0, status = 503;

	memset(f, 0, sizeof(*f));
	f->hops = b->hops;
	if (!m || !fp[0]) {
		f->no_route = 1;
		snprintf(why, cap,
			 "no route to %s: this node has no mesh links "
			 "(mesh.endpoint, mesh.operator_key)",
			 b->zone);
		return 503;
	}
	n = pick_hops(m, b, limit, hops, &flood);
	if (n <= 0) {
		f->no_route = 1;
		f->holdable = 1; /* a link may come up */
		snprintf(why, cap,
			 "no route to %s within %u hops and no neighbour "
			 "left to flood to",
			 b->zone, limit);
		return 503;
	}
	c = *b;
	c.records = dmp_calloc(b->n_records, sizeof(*c.records));
	if (!c.records) {
		snprintf(why, cap, "out of memory");
		return 500;
	}
	/* Per-hop TTL (8.7.2): lowered by the time held here. */
	for (size_t i = 0; i < b->n_records; i++) {
		c.records[i] = b->records[i];
		c.records[i].ttl =
		    c.records[i].ttl > spent ? c.records[i].ttl - spent : 0;
	}
	c.hops = b->hops + 1;
	memcpy(c.path[b->n_path], fp, DMP_RELAY_FP_CHARS + 1);
	c.n_path = b->n_path + 1;
	c.mode = flood ? DMP_RELAY_MODE_FLOOD : DMP_RELAY_MODE_PATH;
	snprintf(why, cap, "no route to %s", b->zone);
	for (int i = 0; i < n; i++) {
		const char *ep = hops[i].next_endpoint;

		c.budget = flood ? hops[i].budget : 0;
		post_copy(&c, ep, &a);
		if (a.status == 200 || a.status == 202 || a.status == 208) {
			f->sent++;
			if (status != 202) {
				status = 202;
				f->hops =
				    a.hops >= 0 ? (unsigned)a.hops : c.hops;
				snprintf(why, cap,
					 "forwarded (%s) to %s: %d %s",
					 flood ? "flood" : "path", ep, a.status,
					 a.reason);
			}
		} else if (status == 202) {
			continue; /* one copy made it */
		} else if (a.status >= 400 && a.status < 500) {
			status = a.status;
			snprintf(why, cap, "%s: %s", ep, a.reason);
			f->holdable = a.status == 429;
			f->retry_after = a.retry_after;
		} else if (a.status >= 500) {
			status = 503;
			snprintf(why, cap, "next hop %s: %d %s", ep, a.status,
				 a.reason);
			f->holdable = 1;
			f->retry_after = a.retry_after;
		} else {
			status = 503;
			snprintf(why, cap, "next hop %s does not answer (%s)",
				 ep, a.reason);
			f->holdable = 1;
			f->retry_after = 0;
		}
	}
	f->flood = flood;
	f->holdable = status == 202 ? 0 : f->holdable;
	f->retry_after = status == 429 || status == 503 ? f->retry_after : 0;
	dmp_free(c.records);
	DMP_LOG_D("node: relay %s to %d hop(s) (%s): %d %s", b->zone, n,
		  flood ? "flood" : "path", status, why);
	return status;
}
