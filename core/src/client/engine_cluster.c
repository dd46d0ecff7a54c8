/*
 * core/src/client/engine_cluster.c - the nodes the engine uses, and how a
 * client that knows only its domain and the zone operator's key finds
 * them (PROTOCOL.md 2.6, 2.7, 8 "Bootstrap -> cluster"):
 *
 *  1. read `_dmp.<domain>` and keep the value that verifies under the
 *     pinned zone key (cluster.zone_key), names the domain, and has the
 *     highest seq; a seq below the one already kept is a rollback and is
 *     ignored (the kept record is used instead);
 *  2. walk its entries in priority order; for each, keep the highest-seq
 *     `cluster.<base>` that verifies under the entry's operator key and
 *     whose every node has a usable DNS endpoint; the first such entry
 *     wins;
 *  3. install it only if it is newer (dmp_eng_cluster_newer: no rollback),
 *     keep both signed values in the store (a restart works offline, and
 *     they are verified again when read back), and look again every
 *     cluster.refresh seconds, or a minute after an exchange failed.
 *
 * network.nodes, when set, overrides all of this (static nodes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/addr.h"
#include "dmp/b64.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/record.h"
#include "dmp/text.h"
#include "engine_i.h"

#define CL_RETRY_S 60 /* a failed lookup or exchange: look again after */

/* kv keys of the kept cluster (store.h key/value settings) */
#define KV_BS "cluster.bootstrap" /* the signed _dmp value */
#define KV_CL "cluster.manifest"  /* the signed cluster.<base> value */
#define KV_BASE "cluster.base"
#define KV_OPK "cluster.operator" /* hex of the entry's operator key */
#define KV_CHECKED "cluster.checked"

int dmp_eng_bootstrap_pick(const char *const *v, const size_t *len, size_t n,
			   const uint8_t zone_pk[32], const char *domain,
			   uint64_t now, struct dmp_bootstrap *out)
{
	struct dmp_bootstrap *b = dmp_calloc(1, sizeof(*b));
	int best = -1;

	if (!b) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (dmp_bootstrap_parse(b, v[i], len[i], zone_pk, domain,
					strlen(domain), now) == 0 &&
		    (best < 0 || b->seq > out->seq)) {
			*out = *b;
			best = (int)i;
		}
	}
	dmp_free(b);
	return best;
}

int dmp_eng_cluster_pick(const char *const *v, const size_t *len, size_t n,
			 const uint8_t op_pk[32], const char *base,
			 uint64_t now, struct dmp_cluster *out)
{
	struct dmp_cluster *c = dmp_calloc(1, sizeof(*c));
	int best = -1;

	if (!c) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (dmp_cluster_parse(c, v[i], len[i], op_pk, base,
				      strlen(base), now) == 0 &&
		    (best < 0 || c->seq > out->seq)) {
			*out = *c;
			best = (int)i;
		}
	}
	dmp_free(c);
	return best;
}

int dmp_eng_cluster_newer(const struct dmp_cluster *c, uint64_t bs_seq,
			  const char *cur_base, uint64_t cur_seq,
			  uint64_t cur_bs)
{
	if (!cur_base[0]) {
		return 1;
	}
	if (dmp_name_equal(c->name, strlen(c->name), cur_base,
			   strlen(cur_base))) {
		return c->seq > cur_seq;
	}
	return bs_seq > cur_bs;
}

/* The DNS service of one manifest node as HOST[:PORT]: its dns_endpoint,
 * else the host of its http_endpoint on port 53. @return 0 or
 * DMP_EINVAL (no usable address: the node does not "build") */
static int node_addr(const struct dmp_cluster_node *n, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (n->dns_endpoint[0]) {
		snprintf(out, cap, "%s", n->dns_endpoint);
	} else {
		const char *h = strstr(n->http_endpoint, "://");
		size_t l;

		h = h ? h + 3 : n->http_endpoint;
		l = strcspn(h, ":/");
		if (h[0] == '[') {
			l = strcspn(h, "]") + 1; /* [v6]: kept whole */
		}
		snprintf(out, cap, "%.*s", (int)l, h);
	}
	return dmp_addr_parse(out, 53, 0, &ss, &sl) < 0 ? DMP_EINVAL : 0;
}

static int build_nodes(const struct dmp_cluster *c, struct dmp_eng_nodes *nd)
{
	memset(nd, 0, sizeof(*nd));
	for (size_t i = 0; i < c->node_count && i < DMP_ENG_NODES_MAX; i++) {
		if (node_addr(&c->nodes[i], nd->addr[i], sizeof(nd->addr[i])) <
		    0) {
			DMP_LOG_W("cluster %s: node %s has no usable DNS "
				  "endpoint (\"%s\")",
				  c->name, c->nodes[i].node_id,
				  c->nodes[i].dns_endpoint);
			return DMP_EINVAL;
		}
		snprintf(nd->key[i], sizeof(nd->key[i]), "%s",
			 c->nodes[i].node_id);
		nd->n++;
	}
	nd->loaded = nd->from_cluster = 1;
	nd->seq = c->seq;
	snprintf(nd->base, sizeof(nd->base), "%s", c->name);
	return 0;
}

int dmp_eng_zone_key_check(const struct client_conf *c, const char *where)
{
	const char *k = c->cluster_zone_key;
	uint8_t pk[32];

	if (k[0] && dmp_hex_decode(pk, 32, k, strlen(k)) < 0) {
		DMP_LOG_E("%s: cluster.zone_key must be 64 hex digits (the "
			  "zone operator's Ed25519 public key, as `dmp-node "
			  "cluster pubkey` prints it); got \"%s\"",
			  where, k);
		return DMP_ECONFIG;
	}
	return 0;
}

/* cluster.zone_key: 0 and @p pk, 1 when not set (or bad: refused at
 * load, dmp_eng_zone_key_check) */
static int zone_key(const struct dmp_engine *e, uint8_t pk[32])
{
	const char *k = e->conf.cluster_zone_key;

	return k[0] && dmp_hex_decode(pk, 32, k, strlen(k)) == 0 ? 0 : 1;
}

static const char *bs_domain(const struct dmp_engine *e)
{
	return e->conf.cluster_domain[0] ? e->conf.cluster_domain
					 : e->conf.domain;
}

/* A new node set: every per-node resolver and the pool are rebuilt. */
static void nodes_set(struct dmp_engine *e, const struct dmp_eng_nodes *nd)
{
	dmp_resolver_free(e->res);
	e->res = NULL;
	for (int i = 0; i < DMP_ENG_NODES_MAX; i++) {
		dmp_resolver_free(e->node_res[i]);
		e->node_res[i] = NULL;
		e->node_down_until[i] = 0;
	}
	e->nodes = *nd;
}

/* The kept bootstrap, verified again; @return its seq, or 0 */
static uint64_t kept_bootstrap(struct dmp_engine *e, const uint8_t zpk[32],
			       struct dmp_bootstrap *b, char *wire, size_t cap)
{
	const char *v[1] = {wire};
	size_t l;

	if (dmp_store_kv_get(e->st, KV_BS, wire, cap) < 0) {
		return 0;
	}
	l = strlen(wire);
	return dmp_eng_bootstrap_pick(v, &l, 1, zpk, bs_domain(e),
				      (uint64_t)dmp_eng_now(e), b) == 0
		   ? b->seq
		   : 0;
}

/* The kept cluster, verified again against the kept bootstrap's entry. */
static void nodes_load(struct dmp_engine *e, struct dmp_eng_nodes *nd)
{
	struct dmp_bootstrap *b = dmp_calloc(1, sizeof(*b));
	struct dmp_cluster *c = dmp_calloc(1, sizeof(*c));
	char *w = dmp_malloc(DMP_RECORD_WIRE_MAX + 1);
	char base[DMP_CFG_STR_MAX], opk[80];
	uint8_t zpk[32];

	if (!b || !c || !w || zone_key(e, zpk) != 0 ||
	    kept_bootstrap(e, zpk, b, w, DMP_RECORD_WIRE_MAX + 1) == 0 ||
	    dmp_store_kv_get(e->st, KV_BASE, base, sizeof(base)) < 0 ||
	    dmp_store_kv_get(e->st, KV_OPK, opk, sizeof(opk)) < 0 ||
	    dmp_store_kv_get(e->st, KV_CL, w, DMP_RECORD_WIRE_MAX + 1) < 0) {
		goto out;
	}
	for (size_t i = 0; i < b->entry_count; i++) {
		const struct dmp_bootstrap_entry *en = &b->entries[i];
		char hex[65];
		const char *v[1] = {w};
		size_t l = strlen(w);

		dmp_hex_encode(hex, en->operator_spk, 32);
		if (strcmp(hex, opk) != 0 ||
		    !dmp_name_equal(en->base, strlen(en->base), base,
				    strlen(base))) {
			continue;
		}
		if (dmp_eng_cluster_pick(v, &l, 1, en->operator_spk, en->base,
					 (uint64_t)dmp_eng_now(e), c) == 0) {
			(void)build_nodes(c, nd);
		}
		break;
	}
out:
	dmp_free(b);
	dmp_free(c);
	dmp_free(w);
}

const struct dmp_eng_nodes *dmp_eng_nodes(struct dmp_engine *e)
{
	struct dmp_eng_nodes *nd = &e->nodes;

	if (nd->loaded) {
		return nd;
	}
	memset(nd, 0, sizeof(*nd));
	if (e->conf.nodes.n > 0) {
		for (unsigned i = 0; i < e->conf.nodes.n; i++) {
			/* (same size: DMP_CFG_STR_MAX, NUL-terminated) */
			memcpy(nd->addr[i], e->conf.nodes.v[i],
			       sizeof(nd->addr[i]));
			memcpy(nd->key[i], e->conf.nodes.v[i],
			       sizeof(nd->key[i]));
		}
		nd->n = e->conf.nodes.n;
	} else {
		nodes_load(e, nd);
	}
	nd->loaded = 1;
	e->cl_checked = -1;
	return nd;
}

/* Read TXT of @p n names (all in our read path) into @p res. */
static int read_names(struct dmp_engine *e, const char *const *q, size_t n,
		      struct dmp_resolver_result *res)
{
	memset(res, 0, n * sizeof(*res));
	return dmp_eng_read(e, q, n, res, NULL);
}

/* One lookup (steps 1-3 above). @return 1 installed, 0 kept, <0 */
static int refresh(struct dmp_engine *e, const uint8_t zpk[32])
{
	struct dmp_resolver_result res[1 + DMP_BOOTSTRAP_MAX_ENTRIES];
	char names[DMP_BOOTSTRAP_MAX_ENTRIES + 1][DMP_CFG_STR_MAX + 16];
	const char *q[DMP_BOOTSTRAP_MAX_ENTRIES + 1];
	struct dmp_bootstrap *b = dmp_calloc(1, sizeof(*b)),
			     *kb = dmp_calloc(1, sizeof(*kb));
	struct dmp_cluster *c = dmp_calloc(1, sizeof(*c));
	struct dmp_eng_nodes *nd = dmp_calloc(1, sizeof(*nd));
	char *kw = dmp_malloc(DMP_RECORD_WIRE_MAX + 1);
	const char *bs_wire = NULL, *cl_wire = NULL;
	uint64_t now = (uint64_t)dmp_eng_now(e), kseq;
	int rc, pick, win = -1;

	memset(res, 0, sizeof(res));
	if (!b || !kb || !c || !nd || !kw) {
		rc = DMP_ENOMEM;
		goto out;
	}
	snprintf(names[0], sizeof(names[0]), "_dmp.%s", bs_domain(e));
	q[0] = names[0];
	rc = read_names(e, q, 1, res);
	if (rc < 0 || res[0].err < 0) {
		rc = rc < 0 ? rc : res[0].err;
		DMP_LOG_W("cluster: %s: %s", names[0], dmp_strerror(rc));
		goto out;
	}
	pick = dmp_eng_bootstrap_pick((const char *const *)res[0].answer.values,
				      res[0].answer.lens, res[0].answer.n, zpk,
				      bs_domain(e), now, b);
	kseq = kept_bootstrap(e, zpk, kb, kw, DMP_RECORD_WIRE_MAX + 1);
	if (pick < 0 && kseq == 0) {
		DMP_LOG_W("cluster: no value at %s verifies under "
			  "cluster.zone_key for domain %s (%zu value(s))",
			  names[0], bs_domain(e), res[0].answer.n);
		rc = DMP_EBADSIG;
		goto out;
	}
	if (pick < 0 || b->seq < kseq) {
		if (pick >= 0) {
			DMP_LOG_W("cluster: %s offers seq %llu, older than "
				  "the kept %llu: ignored (no rollback)",
				  names[0], (unsigned long long)b->seq,
				  (unsigned long long)kseq);
		}
		*b = *kb;
		bs_wire = kw;
	} else {
		bs_wire = res[0].answer.values[pick];
	}
	for (size_t i = 0; i < b->entry_count; i++) {
		snprintf(names[1 + i], sizeof(names[0]), "cluster.%s",
			 b->entries[i].base);
		q[1 + i] = names[1 + i];
	}
	rc = read_names(e, q + 1, b->entry_count, res + 1);
	if (rc < 0) {
		goto out;
	}
	/* Entries come sorted by priority (bootstrap.h): first that builds */
	for (size_t i = 0; i < b->entry_count && win < 0; i++) {
		const struct dmp_txt_answer *a = &res[1 + i].answer;

		pick = res[1 + i].err == 0
			   ? dmp_eng_cluster_pick(
				 (const char *const *)a->values, a->lens, a->n,
				 b->entries[i].operator_spk, b->entries[i].base,
				 now, c)
			   : -1;
		if (pick >= 0 && build_nodes(c, nd) == 0) {
			win = (int)i;
			cl_wire = a->values[pick];
		} else {
			DMP_LOG_I("cluster: %s: no usable manifest",
				  names[1 + i]);
		}
	}
	if (win < 0) {
		DMP_LOG_W("cluster: none of the %zu cluster(s) that %s names "
			  "has a valid manifest whose nodes are all usable",
			  b->entry_count, names[0]);
		rc = DMP_EBADSIG;
		goto out;
	}
	rc = 0;
	if (!dmp_eng_cluster_newer(c, b->seq,
				   e->nodes.from_cluster ? e->nodes.base : "",
				   e->nodes.seq, kseq)) {
		goto out; /* the same or older: kept */
	}
	{
		char hex[65];

		dmp_hex_encode(hex, b->entries[win].operator_spk, 32);
		if (dmp_store_kv_set(e->st, KV_BS, bs_wire) < 0 ||
		    dmp_store_kv_set(e->st, KV_CL, cl_wire) < 0 ||
		    dmp_store_kv_set(e->st, KV_BASE, c->name) < 0 ||
		    dmp_store_kv_set(e->st, KV_OPK, hex) < 0) {
			rc = DMP_ESTORE;
			goto out;
		}
	}
	DMP_LOG_N("cluster: %s seq %llu installed: %u node(s)", c->name,
		  (unsigned long long)c->seq, nd->n);
	nodes_set(e, nd);
	rc = 1;
out:
	for (size_t i = 0; i < DMP_ARRAY_LEN(res); i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	dmp_free(b);
	dmp_free(kb);
	dmp_free(c);
	dmp_free(nd);
	dmp_free(kw);
	return rc;
}

int dmp_eng_cluster_tick(struct dmp_engine *e)
{
	const struct dmp_eng_nodes *nd = dmp_eng_nodes(e);
	int64_t now = dmp_eng_now(e);
	uint8_t zpk[32];
	int rc;

	if (e->cl_busy || e->conf.nodes.n > 0 || zone_key(e, zpk) != 0) {
		return 0;
	}
	{
		/* Another handle or process may have looked meanwhile (dmpfs
		 * runs three handles): then take what it kept. */
		char t[32];
		long long v = 0;

		if (dmp_store_kv_get(e->st, KV_CHECKED, t, sizeof(t)) < 0 ||
		    dmp_parse_int(t, 0, INT64_MAX, &v) < 0) {
			v = 0;
		}
		if (e->cl_checked >= 0 && v != e->cl_checked) {
			struct dmp_eng_nodes *kn = dmp_calloc(1, sizeof(*kn));

			if (kn) {
				nodes_load(e, kn);
				if (kn->n > 0 &&
				    (kn->seq != nd->seq ||
				     strcmp(kn->base, nd->base) != 0)) {
					nodes_set(e, kn);
				}
				dmp_free(kn);
			}
		}
		e->cl_checked = v;
	}
	if (now < e->cl_retry ||
	    (nd->n > 0 && !e->cl_failed &&
	     now - e->cl_checked < e->conf.cluster_refresh)) {
		return 0;
	}
	e->cl_busy = 1;
	e->cl_failed = 0;
	rc = refresh(e, zpk);
	e->cl_busy = 0;
	e->cl_retry = now + CL_RETRY_S;
	if (rc >= 0) {
		char t[32];

		e->cl_checked = now;
		snprintf(t, sizeof(t), "%lld", (long long)now);
		(void)dmp_store_kv_set(e->st, KV_CHECKED, t);
	}
	return rc;
}
