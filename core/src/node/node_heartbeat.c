/*
 * core/src/node/node_heartbeat.c - the node's own heartbeat (PROTOCOL.md
 * 8): signed by the operator key, published at _dnsmesh-heartbeat.<zone>
 * of every zone served, replacing the previous value.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "node/node_i.h"

struct dmp_node_hb {
	struct dmp_node *n;
	/* Everything but ts and exp, filled once. */
	struct dmp_heartbeat tmpl;
	unsigned flags;
	uint64_t interval_ms;
	uint64_t next_ms; /* 0: publish at the first tick */
	uint8_t sk[64];
};

int dmp_node_hb_new(struct dmp_node_hb **out, struct dmp_node *n,
		    const struct dmp_node_hb_opts *o)
{
	struct dmp_node_hb *hb;
	const char *z;

	*out = NULL;
	if (!o->endpoint || !o->endpoint[0] || !o->operator_pk ||
	    !o->operator_sk || n->n_zones == 0 ||
	    strlen(o->endpoint) > DMP_HEARTBEAT_ENDPOINT_MAX) {
		return DMP_EINVAL;
	}
	hb = dmp_calloc(1, sizeof(*hb));
	if (!hb) {
		return DMP_ENOMEM;
	}
	memcpy(hb->tmpl.operator_spk, o->operator_pk, 32);
	memcpy(hb->sk, o->operator_sk, 64);
	hb->n = n;
	hb->flags = o->allow_loopback ? DMP_HEARTBEAT_ALLOW_LOOPBACK
				      : DMP_HEARTBEAT_STRICT;
	hb->interval_ms = (uint64_t)o->interval_s * 1000;
	memcpy(hb->tmpl.endpoint, o->endpoint, strlen(o->endpoint) + 1);
	snprintf(hb->tmpl.version, sizeof(hb->tmpl.version), "dmp-node %s",
		 dmp_version());
	if (o->relay) {
		hb->tmpl.capabilities |= DMP_HEARTBEAT_CAP_RELAY;
	}
	if (o->claim_provider) {
		hb->tmpl.capabilities |= DMP_HEARTBEAT_CAP_CLAIM_PROVIDER;
		/* The zone as configured (opts keep it verbatim). */
		z = o->claim_zone && o->claim_zone[0] ? o->claim_zone
						      : n->o.zones[0].name;
		if (strlen(z) < sizeof(hb->tmpl.zone)) {
			memcpy(hb->tmpl.zone, z, strlen(z) + 1);
		}
	}
	*out = hb;
	return 0;
}

/* Sign and store one heartbeat. */
static int hb_publish(struct dmp_node_hb *hb, uint64_t now_ms)
{
	struct dmp_heartbeat v = hb->tmpl;
	struct dmp_node *n = hb->n;
	char wire[1024], owner[DMP_NODE_NAME_MAX + 32];
	struct dmp_ni_live live;
	uint32_t ttl = DMP_HEARTBEAT_LIFETIME;
	int len, rc = 0;

	v.ts = now_ms / 1000;
	v.exp = v.ts + DMP_HEARTBEAT_LIFETIME;
	len = dmp_heartbeat_sign(wire, sizeof(wire), &v, hb->sk, hb->flags);
	if (len < 0) {
		DMP_LOG_E("node: heartbeat: %s", dmp_strerror(len));
		return len;
	}
	dmp_ni_live_get(n, &live);
	if (ttl > live.max_ttl) {
		ttl = live.max_ttl;
	}
	for (unsigned i = 0; i < n->n_zones; i++) {
		int r;

		snprintf(owner, sizeof(owner), "_dnsmesh-heartbeat.%s",
			 n->o.zones[i].name);
		r = dmp_node_put(n, owner, wire, ttl, 1, now_ms);
		if (r < 0) {
			DMP_LOG_E("node: heartbeat at %s: %s", owner,
				  dmp_strerror(r));
			rc = r;
		} else {
			DMP_LOG_D("node: heartbeat published at %s", owner);
		}
	}
	return rc;
}

int dmp_node_hb_tick(struct dmp_node_hb *hb, uint64_t now_ms)
{
	int rc;

	if (hb->next_ms != 0 && now_ms < hb->next_ms) {
		return 0;
	}
	rc = hb_publish(hb, now_ms);
	hb->next_ms = now_ms + hb->interval_ms;
	return rc < 0 ? rc : 1;
}

void dmp_node_hb_free(struct dmp_node_hb *hb)
{
	if (!hb) {
		return;
	}
	dmp_wipe_free(hb, sizeof(*hb));
}
