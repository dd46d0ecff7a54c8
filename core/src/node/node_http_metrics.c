/*
 * core/src/node/node_http_metrics.c - GET /health and the Prometheus
 * /metrics page.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "node/node_http_i.h"
#include "node/node_i.h"
#include "node/node_mesh.h"

int dmp_nh_health(struct dmp_node_http *h, char **body, size_t *len,
		  const char **ctype)
{
	struct dmp_node_stats s;

	dmp_node_stats_get(h->n, &s);
	return dmp_nh_reply_json(
	    json_pack("{s:b,s:s,s:I,s:I,s:I,s:s}", "ok", 1, "status", "ok",
		      "serial", (json_int_t)s.serial, "records",
		      (json_int_t)s.rows, "names", (json_int_t)s.names, "zone",
		      h->zone),
	    200, body, len, ctype);
}

static const char *const rej_names[DMP_NODE_REJ_MAX] = {
    "formerr",
    "tsig",
    "unsigned",
    "disabled",
    "zone",
    "caps",
    "scope",
    "claim_rate",
    "store",
    "rate_limit",
    "key_rate",
    "quota",
    "replay",
    "replay_full",
    /* Storage budgets (docs/security.md 7.7). */
    "store_full",
    "claims_full",
    "name_bytes",
    "foreign_cap",
    "claim_source_rate",
};

static const char *const rcode_names[16] = {
    "NOERROR",	"FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "RCODE11",
    "RCODE12",	"RCODE13", "RCODE14",  "RCODE15"};

/* One "METRIC{reason="NAME"} VALUE" line per reason. */
static void by_reason(FILE *f, const char *metric, const char *const *names,
		      const uint64_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s{reason=\"%s\"} %llu\n", metric, names[i],
			(unsigned long long)v[i]);
	}
}

void dmp_nh_by_label(FILE *f, const char *metric, const char *label,
		     const char *const *names, _Atomic uint64_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s{%s=\"%s\"} %llu\n", metric, label, names[i],
			(unsigned long long)atomic_load(&v[i]));
	}
}

int dmp_nh_metrics(struct dmp_node_http *h, char **body, size_t *len,
		   const char **ctype)
{
	struct dmp_node_stats s;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	uint64_t cum = 0;

	if (!f) {
		return dmp_nh_reply_err(500, "out of memory", body, len, ctype);
	}
	dmp_node_stats_get(h->n, &s);
	fprintf(f,
		"# HELP dmp_node_queries_total DNS queries received.\n"
		"# TYPE dmp_node_queries_total counter\n"
		"dmp_node_queries_total %llu\n",
		(unsigned long long)s.queries);
	fprintf(f, "# HELP dmp_node_answers_total DNS replies by RCODE.\n"
		   "# TYPE dmp_node_answers_total counter\n");
	for (unsigned i = 0; i < 16; i++) {
		if (i <= 10 || s.rcode[i]) {
			fprintf(f,
				"dmp_node_answers_total{rcode=\"%s\"} %llu\n",
				rcode_names[i], (unsigned long long)s.rcode[i]);
		}
	}
	fprintf(f,
		"# HELP dmp_node_updates_total RFC 2136 UPDATEs received.\n"
		"# TYPE dmp_node_updates_total counter\n"
		"dmp_node_updates_total %llu\n"
		"# HELP dmp_node_updates_applied_total UPDATEs applied.\n"
		"# TYPE dmp_node_updates_applied_total counter\n"
		"dmp_node_updates_applied_total %llu\n",
		(unsigned long long)s.updates,
		(unsigned long long)s.updates_ok);
	fprintf(f, "# HELP dmp_node_rejections_total Requests refused or "
		   "dropped, by reason.\n"
		   "# TYPE dmp_node_rejections_total counter\n");
	by_reason(f, "dmp_node_rejections_total", rej_names, s.reject,
		  DMP_NODE_REJ_MAX);
	/* Anti-entropy (node_sync.c): what peers sent that was refused. */
	{
		static const char *const sync_names[DMP_NODE_SYNC_REASON_MAX] =
		    {"unreachable",   "bad_digest", "bad_pull", "unrequested",
		     "hash_mismatch", "invalid",    "refused",	"manifest"};
		uint64_t sr[DMP_NODE_SYNC_REASON_MAX], stored;

		dmp_node_sync_counts(h->n, sr, &stored);
		fprintf(f,
			"# HELP dmp_node_sync_stored_total Values stored from "
			"cluster peers.\n"
			"# TYPE dmp_node_sync_stored_total counter\n"
			"dmp_node_sync_stored_total %llu\n"
			"# HELP dmp_node_sync_rejected_total Sync exchanges "
			"and pulled values refused, by reason.\n"
			"# TYPE dmp_node_sync_rejected_total counter\n",
			(unsigned long long)stored);
		by_reason(f, "dmp_node_sync_rejected_total", sync_names, sr,
			  DMP_NODE_SYNC_REASON_MAX);
	}
	/* The HTTP side: connections and refusals (node_http_conn.c). */
	fprintf(f,
		"# HELP dmp_node_http_connections Open HTTP connections.\n"
		"# TYPE dmp_node_http_connections gauge\n"
		"dmp_node_http_connections %u\n"
		"# HELP dmp_node_http_refusals_total HTTP connections and "
		"requests refused or closed, by reason.\n"
		"# TYPE dmp_node_http_refusals_total counter\n",
		dmp_nh_conns_open(h));
	dmp_nh_by_label(f, "dmp_node_http_refusals_total", "reason",
			dmp_nh_refusal_names, h->refused, NH_REF_MAX);
	fprintf(f,
		"# HELP dmp_node_store_bytes Database pages in use.\n"
		"# TYPE dmp_node_store_bytes gauge\n"
		"dmp_node_store_bytes %llu\n"
		"# HELP dmp_node_store_rows Live TXT values.\n"
		"# TYPE dmp_node_store_rows gauge\n"
		"dmp_node_store_rows %llu\n"
		"# HELP dmp_node_store_names Names holding values.\n"
		"# TYPE dmp_node_store_names gauge\n"
		"dmp_node_store_names %llu\n"
		"# HELP dmp_node_soa_serial Current SOA serial.\n"
		"# TYPE dmp_node_soa_serial gauge\n"
		"dmp_node_soa_serial %u\n"
		"# HELP dmp_node_tsig_keys TSIG keys loaded.\n"
		"# TYPE dmp_node_tsig_keys gauge\n"
		"dmp_node_tsig_keys %u\n",
		(unsigned long long)s.store_bytes, (unsigned long long)s.rows,
		(unsigned long long)s.names, s.serial, s.keys);
	/* Storage budgets (docs/security.md 7.7): what the limits count. */
	fprintf(f,
		"# HELP dmp_node_held_values Values held (expired ones until "
		"reaped), against limits.store_values.\n"
		"# TYPE dmp_node_held_values gauge\n"
		"dmp_node_held_values %llu\n"
		"# HELP dmp_node_held_bytes Bytes of the TXT RRs held, against "
		"limits.store_bytes.\n"
		"# TYPE dmp_node_held_bytes gauge\n"
		"dmp_node_held_bytes %llu\n"
		"# HELP dmp_node_claim_values Values held at claim-* names, "
		"against limits.claim_values.\n"
		"# TYPE dmp_node_claim_values gauge\n"
		"dmp_node_claim_values %llu\n"
		"# HELP dmp_node_claim_bytes Bytes held at claim-* names, "
		"against limits.claim_bytes.\n"
		"# TYPE dmp_node_claim_bytes gauge\n"
		"dmp_node_claim_bytes %llu\n",
		(unsigned long long)s.held_values,
		(unsigned long long)s.held_bytes,
		(unsigned long long)s.claim_values,
		(unsigned long long)s.claim_bytes);
	fprintf(f, "# HELP dmp_node_request_seconds Time to answer one DNS "
		   "request.\n"
		   "# TYPE dmp_node_request_seconds histogram\n");
	for (unsigned i = 0; i < DMP_NODE_LAT_BUCKETS; i++) {
		cum += s.lat[i];
		if (i < DMP_NODE_LAT_BUCKETS - 1) {
			fprintf(f,
				"dmp_node_request_seconds_bucket{le=\"%g\"} "
				"%llu\n",
				dmp_node_lat_bounds[i],
				(unsigned long long)cum);
		} else {
			fprintf(f,
				"dmp_node_request_seconds_bucket{le=\"+Inf\"}"
				" %llu\n",
				(unsigned long long)cum);
		}
	}
	fprintf(f,
		"dmp_node_request_seconds_sum %.9f\n"
		"dmp_node_request_seconds_count %llu\n",
		s.lat_sum, (unsigned long long)s.lat_count);
	{
		/* TCP limits (node_tcpconn.c, docs/security.md 7.5). */
		static const char *const tcp_ev[DMP_NODE_TCP_EV_MAX] = {
		    "refused_per_address", "refused_max_clients", "evicted",
		    "idle_timeout",	   "message_timeout",	  "output_cap",
		    "malformed",
		};
		uint64_t ev[DMP_NODE_TCP_EV_MAX], open;

		dmp_node_tcp_stats(h->n, ev, &open);
		fprintf(f,
			"# HELP dmp_node_tcp_connections TCP connections "
			"open.\n"
			"# TYPE dmp_node_tcp_connections gauge\n"
			"dmp_node_tcp_connections %llu\n"
			"# HELP dmp_node_tcp_events_total TCP connections "
			"refused or closed by a limit, by reason.\n"
			"# TYPE dmp_node_tcp_events_total counter\n",
			(unsigned long long)open);
		by_reason(f, "dmp_node_tcp_events_total", tcp_ev, ev,
			  DMP_NODE_TCP_EV_MAX);
	}
	{
		/* Mesh discovery (node_discovery.c, PROTOCOL.md 8). */
		uint64_t known, expired, rejected;

		dmp_node_disc_stats(h->n, &known, &expired, &rejected);
		fprintf(f,
			"# HELP dmp_node_mesh_peers Peers in the discovery "
			"table.\n"
			"# TYPE dmp_node_mesh_peers gauge\n"
			"dmp_node_mesh_peers %llu\n"
			"# HELP dmp_node_mesh_peers_expired_total Peers "
			"dropped for want of a newer heartbeat.\n"
			"# TYPE dmp_node_mesh_peers_expired_total counter\n"
			"dmp_node_mesh_peers_expired_total %llu\n"
			"# HELP dmp_node_mesh_heartbeats_rejected_total "
			"Heartbeat values read that did not verify.\n"
			"# TYPE dmp_node_mesh_heartbeats_rejected_total "
			"counter\n"
			"dmp_node_mesh_heartbeats_rejected_total %llu\n",
			(unsigned long long)known, (unsigned long long)expired,
			(unsigned long long)rejected);
	}
	dmp_nhr_metrics(h, f);
	dmp_nm_metrics(h->n, f); /* relay links (node_mesh_http.c) */
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return dmp_nh_reply_err(500, "out of memory", body, len, ctype);
	}
	*body = buf;
	*len = blen;
	*ctype = "text/plain; version=0.0.4";
	return 200;
}
