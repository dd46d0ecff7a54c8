/*
 * core/src/node/node_mesh_http.c - what the link prober (node_mesh.c)
 * shows (docs/protocol.md 8.7.4, 8.7.9): GET /v1/mesh/links (the
 * verified link records, ours first), GET /v1/mesh (links, routing table,
 * counters), the mesh lines of /metrics, and `dmp-node mesh`, which reads
 * /v1/mesh of a running node and prints it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "node/node_http_i.h"
#include "node/node_i.h"
#include "node/node_mesh.h"
#include "node/node_sync_i.h"

/* A key as people compare it: the first 8 bytes (the `path` fingerprint
 * of 8.7.5) in hex. */
static void fp_hex(char out[2 * DMP_ROUTE_FP_BYTES + 1], const uint8_t *spk)
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < DMP_ROUTE_FP_BYTES; i++) {
		out[2 * i] = hx[spk[i] >> 4];
		out[2 * i + 1] = hx[spk[i] & 15];
	}
	out[2 * DMP_ROUTE_FP_BYTES] = 0;
}

void dmp_nm_gauges(struct dmp_node_mesh *m, uint64_t *links_up,
		   uint64_t *routes, uint64_t probes[DMP_MESH_RESULT_MAX])
{
	int t;

	pthread_mutex_lock(&m->mu);
	*links_up = dmp_route_links_up(m->route);
	t = dmp_route_table(m->route, NULL, 0);
	*routes = t > 0 ? (uint64_t)t : 0;
	memcpy(probes, m->probes, sizeof(m->probes));
	pthread_mutex_unlock(&m->mu);
}

void dmp_nm_metrics(struct dmp_node *n, FILE *f)
{
	struct dmp_node_mesh *m = dmp_nm_of(n);
	uint64_t up = 0, routes = 0, probes[DMP_MESH_RESULT_MAX] = {0};

	if (m) {
		dmp_nm_gauges(m, &up, &routes, probes);
	}
	fprintf(f,
		"# HELP dmp_mesh_links_up Relay links up both ways "
		"(DMP-RELAY/1).\n"
		"# TYPE dmp_mesh_links_up gauge\n"
		"dmp_mesh_links_up %llu\n"
		"# HELP dmp_mesh_routes Zones in the relay routing table.\n"
		"# TYPE dmp_mesh_routes gauge\n"
		"dmp_mesh_routes %llu\n"
		"# HELP dmp_mesh_probes_total Link probes of neighbours, by "
		"result.\n"
		"# TYPE dmp_mesh_probes_total counter\n",
		(unsigned long long)up, (unsigned long long)routes);
	for (int i = 0; i < DMP_MESH_RESULT_MAX; i++) {
		fprintf(f, "dmp_mesh_probes_total{result=\"%s\"} %llu\n",
			dmp_nm_result_names[i], (unsigned long long)probes[i]);
	}
}

/* {"records": [...]}: ours first, then the rest, at most 256. */
static json_t *links_json(struct dmp_node_mesh *m)
{
	json_t *a = json_array();

	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; a && i < m->n_recs && i < DMP_MESH_RECORDS_MAX;
	     i++) {
		json_array_append_new(a, json_string(m->recs[i].wire));
	}
	pthread_mutex_unlock(&m->mu);
	return a ? json_pack("{s:o}", "records", a) : NULL;
}

static json_t *links_array(struct dmp_node_mesh *m)
{
	json_t *a = json_array();
	char fp[2 * DMP_ROUTE_FP_BYTES + 1];

	for (size_t i = 0; a && i < m->n_nb; i++) {
		const struct nm_nb *b = &m->nb[i];
		json_t *o;

		fp_hex(fp, b->spk);
		o = json_pack(
		    "{s:s,s:s,s:s?,s:I,s:b,s:I,s:s}", "neighbour", b->url,
		    "source", b->discovered ? "discovered" : "configured",
		    "key", b->known ? fp : NULL, "cost_ms",
		    (json_int_t)(b->l.sampled ? dmp_nm_cost(b->l.srtt_ms) : 0),
		    "up", b->l.up, "missed", (json_int_t)b->l.missed,
		    "last_result", dmp_nm_result_names[b->last]);
		if (o) {
			json_object_set_new(
			    o, "last_probe",
			    b->last_probe_ms
				? json_integer(
				      (json_int_t)(b->last_probe_ms / 1000))
				: json_null());
		}
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *routes_array(struct dmp_node_mesh *m)
{
	struct dmp_route_entry *e;
	json_t *a = json_array();
	char nfp[2 * DMP_ROUTE_FP_BYTES + 1], dfp[2 * DMP_ROUTE_FP_BYTES + 1];
	int cnt = dmp_route_table(m->route, NULL, 0);

	if (!a || cnt < 0) {
		json_decref(a);
		return NULL;
	}
	e = dmp_calloc(cnt ? (size_t)cnt : 1, sizeof(*e));
	if (!e) {
		json_decref(a);
		return NULL;
	}
	cnt = dmp_route_table(m->route, e, (size_t)cnt);
	for (int i = 0; i >= 0 && i < cnt; i++) {
		fp_hex(nfp, e[i].next_spk);
		fp_hex(dfp, e[i].dest_spk);
		json_array_append_new(
		    a,
		    json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "zone", e[i].zone,
			      "next_hop", e[i].next_endpoint, "next_key", nfp,
			      "dest_key", dfp, "cost_ms", (json_int_t)e[i].cost,
			      "hops", (json_int_t)e[i].hops));
	}
	dmp_free(e);
	return a;
}

static json_t *mesh_json(struct dmp_node_mesh *m)
{
	json_t *j = NULL, *probes = json_object();
	char fp[2 * DMP_ROUTE_FP_BYTES + 1];

	fp_hex(fp, m->pk);
	pthread_mutex_lock(&m->mu);
	for (int i = 0; probes && i < DMP_MESH_RESULT_MAX; i++) {
		json_object_set_new(probes, dmp_nm_result_names[i],
				    json_integer((json_int_t)m->probes[i]));
	}
	j = json_pack("{s:s,s:s,s:I,s:o*,s:o*,s:I,s:{s:o*,s:I,s:I}}", "key", fp,
		      "endpoint", m->endpoint, "seq", (json_int_t)m->seq,
		      "links", links_array(m), "routes", routes_array(m),
		      "records", (json_int_t)m->n_recs, "counters", "probes",
		      probes, "records_rejected", (json_int_t)m->rejected,
		      "published", (json_int_t)m->published);
	pthread_mutex_unlock(&m->mu);
	return j;
}

int dmp_nh_mesh(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		char **body, size_t *len, const char **ctype)
{
	struct dmp_node_mesh *m = dmp_nm_of(h->n);

	if (!m) {
		return dmp_nh_reply_err(404,
					"relay disabled (mesh.relay_enabled)",
					body, len, ctype);
	}
	if (strcmp(rq->method, "GET") != 0) {
		return dmp_nh_reply_err(405, "method not allowed", body, len,
					ctype);
	}
	return dmp_nh_reply_json(
	    strcmp(rq->path, "/v1/mesh") == 0 ? mesh_json(m) : links_json(m),
	    200, body, len, ctype);
}

/* ---- dmp-node mesh ---- */

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void print_mesh(const json_t *j, FILE *f)
{
	const json_t *a, *e, *c = json_object_get(j, "counters");
	size_t i;
	char when[32];

	fprintf(f, "node %s  %s  seq %" JSON_INTEGER_FORMAT "\n",
		str_of(j, "key"), str_of(j, "endpoint"),
		json_integer_value(json_object_get(j, "seq")));
	a = json_object_get(j, "links");
	fprintf(f, "\nlinks (%zu)\n  %-32s %-10s %-16s %8s %-5s %6s %s\n",
		json_array_size(a), "neighbour", "source", "key", "cost_ms",
		"up", "missed", "last probe");
	json_array_foreach(a, i, e)
	{
		const json_t *lp = json_object_get(e, "last_probe");
		time_t t = (time_t)json_integer_value(lp);
		struct tm tm;

		if (!json_is_integer(lp) || !gmtime_r(&t, &tm) ||
		    !strftime(when, sizeof(when), "%H:%M:%SZ", &tm)) {
			snprintf(when, sizeof(when), "never");
		}
		fprintf(f,
			"  %-32s %-10s %-16s %8" JSON_INTEGER_FORMAT
			" %-5s %6" JSON_INTEGER_FORMAT " %s (%s)\n",
			str_of(e, "neighbour"), str_of(e, "source"),
			str_of(e, "key"),
			json_integer_value(json_object_get(e, "cost_ms")),
			json_is_true(json_object_get(e, "up")) ? "up" : "down",
			json_integer_value(json_object_get(e, "missed")), when,
			str_of(e, "last_result"));
	}
	a = json_object_get(j, "routes");
	fprintf(f, "\nroutes (%zu)\n  %-32s %-32s %8s %4s\n",
		json_array_size(a), "zone", "next hop", "cost_ms", "hops");
	json_array_foreach(a, i, e)
	{
		json_int_t hops =
		    json_integer_value(json_object_get(e, "hops"));

		fprintf(
		    f,
		    "  %-32s %-32s %8" JSON_INTEGER_FORMAT
		    " %4" JSON_INTEGER_FORMAT "\n",
		    str_of(e, "zone"), hops ? str_of(e, "next_hop") : "(local)",
		    json_integer_value(json_object_get(e, "cost_ms")), hops);
	}
	fprintf(f,
		"\nrecords held %" JSON_INTEGER_FORMAT
		", refused %" JSON_INTEGER_FORMAT
		", published %" JSON_INTEGER_FORMAT "\nprobes",
		json_integer_value(json_object_get(j, "records")),
		json_integer_value(json_object_get(c, "records_rejected")),
		json_integer_value(json_object_get(c, "published")));
	for (int k = 0; k < DMP_MESH_RESULT_MAX; k++) {
		fprintf(
		    f, " %s %" JSON_INTEGER_FORMAT, dmp_nm_result_names[k],
		    json_integer_value(json_object_get(
			json_object_get(c, "probes"), dmp_nm_result_names[k])));
	}
	fputc('\n', f);
}

int dmp_node_mesh_show(const char *base_url, FILE *f)
{
	char url[512], *resp = NULL;
	size_t rlen = 0;
	json_t *j;
	int st;

	snprintf(url, sizeof(url), "%s/v1/mesh", base_url);
	st = dmp_ns_http_curl(NULL, url, NULL, NULL, &resp, &rlen, 5000);
	if (st < 0) {
		return st == DMP_ETOOBIG ? DMP_EMALFORMED : DMP_EUNREACHABLE;
	}
	j = dmp_ns_json_load(resp, rlen, NS_BODY_MAX);
	if (st != 200) {
		fprintf(f, "%s: HTTP %d: %s\n", url, st,
			j ? str_of(j, "error") : "(no JSON)");
		json_decref(j);
		dmp_free(resp);
		return DMP_EIO;
	}
	dmp_free(resp);
	if (!json_is_object(j) || !json_is_array(json_object_get(j, "links"))) {
		json_decref(j);
		return DMP_EMALFORMED;
	}
	print_mesh(j, f);
	json_decref(j);
	return 0;
}
