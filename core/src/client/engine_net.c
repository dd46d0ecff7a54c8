/*
 * core/src/client/engine_net.c - the engine's transport seam (engine_i.h)
 * and its default implementation, the network:
 *
 * Writes go to the nodes (network.nodes, else the cluster's nodes,
 * engine_cluster.c) as RFC 2136 UPDATEs with TSIG
 * (PROTOCOL.md 7.1), one connection per node per write session, and
 * succeed on a majority. Reads go through the resolver pool (7.7), with
 * our own zone read straight from the configured nodes (RD=0) unless
 * network.direct is off. Claims are unsigned UPDATEs to the recipient's
 * zone server (7.3).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmp/addr.h"
#include "dmp/crypto.h"
#include "dmp/dnsmsg.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/text.h"
#include "dmp/log.h"
#include "dmp/record.h"
#include "engine_i.h"

/* Say which configured server cannot be used and why (issue 14: an
 * unresolvable node host only gave "Invalid argument"). @return 1 if one
 * was named */
static int name_bad_server(const char *setting, const char *const *v, size_t n)
{
	int named = 0;

	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (dmp_addr_parse(v[i], 53, 0, &ss, &sl) < 0) {
			DMP_LOG_E("config: %s: %s is neither an IP address "
				  "nor a host name that resolves (check the "
				  "spelling and this machine's DNS)",
				  setting, v[i]);
			named = 1;
		}
	}
	return named;
}

struct dmp_resolver *dmp_engine_resolver(struct dmp_engine *e)
{
	struct dmp_resolver_opts o;
	struct dmp_resolver_direct direct[DMP_RESOLVER_MAX_SERVERS];
	char zones[DMP_CFG_LIST_MAX][DMP_CFG_STR_MAX];
	const char *servers[DMP_RESOLVER_MAX_SERVERS];
	const struct dmp_eng_nodes *nodes = dmp_eng_nodes(e);
	size_t ns = 0, nd = 0;
	int rc;

	if (e->res) {
		return e->res;
	}
	dmp_resolver_opts_default(&o);
	for (unsigned i = 0; i < e->conf.resolvers.n; i++) {
		servers[ns++] = e->conf.resolvers.v[i];
	}
	if (ns == 0) {
		/* No resolver configured: ask the nodes themselves. */
		for (unsigned i = 0; i < nodes->n; i++) {
			servers[ns++] = nodes->addr[i];
		}
	}
	/* (the pool holds at most DMP_RESOLVER_MAX_SERVERS servers) */
	for (unsigned i = 0;
	     e->conf.direct && i < nodes->n &&
	     ns + nd + e->conf.zone_servers.n < DMP_RESOLVER_MAX_SERVERS;
	     i++) {
		direct[nd].zone = e->conf.domain;
		direct[nd].server = nodes->addr[i];
		nd++;
	}
	/* Zones whose server the user named: read them there, directly. */
	for (unsigned i = 0; i < e->conf.zone_servers.n; i++) {
		const char *v = e->conf.zone_servers.v[i];
		const char *eq = strchr(v, '=');

		snprintf(zones[i], sizeof(zones[i]), "%.*s", (int)(eq - v), v);
		direct[nd].zone = zones[i];
		direct[nd].server = eq + 1;
		nd++;
	}
	o.servers = servers;
	o.n_servers = ns;
	o.direct = direct;
	o.n_direct = nd;
	o.timeout_ms = (unsigned)e->conf.timeout_ms;
	rc = dmp_resolver_new(&e->res, &o);
	if (rc < 0) {
		const char *dv[DMP_RESOLVER_MAX_SERVERS];

		for (size_t i = 0; i < nd; i++) {
			dv[i] = direct[i].server;
		}
		if (!name_bad_server(e->conf.resolvers.n ? "network.resolvers"
							 : "network.nodes",
				     servers, ns) &&
		    !name_bad_server("network.nodes / zone_servers", dv, nd)) {
			DMP_LOG_E("resolver: %s", dmp_strerror(rc));
		}
		e->res = NULL;
	}
	return e->res;
}

/*
 * Writes fan out to every configured node and succeed on a majority
 * ((N+1)/2, the reference's FanoutWriter quorum, PROTOCOL.md 7.7). A node
 * that does not answer is skipped for the rest of the writer's life, so a
 * dead node costs one timeout per pass, not one per record; and for
 * NET_DOWN_S after, by every handle and process on this home (kv
 * "net.down.<addr>", wall-clock seconds), as long as the other nodes of a
 * write can still make its majority: one `dmp send` after another would
 * otherwise pay the dead node's retries each time (2 s refused, about
 * 13 s timing out). What the skipped node missed comes back by the nodes'
 * anti-entropy or the readers' repair.
 */
#define NET_DOWN_S 30

struct dmp_eng_writer {
	struct dmp_update_conn *c[DMP_ENG_NODES_MAX];
	int dead[DMP_ENG_NODES_MAX];
	int down[DMP_ENG_NODES_MAX]; /* known down at open: tried last */
	unsigned n;
};

/* 1 if another handle or process found @p addr down within NET_DOWN_S. */
static int down_is(struct dmp_engine *e, const char *addr)
{
	char k[DMP_CFG_STR_MAX + 16], v[32];
	long long until;
	int64_t now = dmp_eng_now(e);

	(void)snprintf(k, sizeof(k), "net.down.%s", addr);
	if (dmp_store_kv_get(e->st, k, v, sizeof(v)) != 0 ||
	    dmp_parse_int(v, 0, LLONG_MAX, &until) != 0) {
		return 0;
	}
	return until > now && until - now <= NET_DOWN_S;
}

static void down_mark(struct dmp_engine *e, const char *addr, int down)
{
	char k[DMP_CFG_STR_MAX + 16], v[32];

	(void)snprintf(k, sizeof(k), "net.down.%s", addr);
	(void)snprintf(v, sizeof(v), "%lld",
		       down ? (long long)(dmp_eng_now(e) + NET_DOWN_S) : 0LL);
	(void)dmp_store_kv_set(e->st, k, v);
}

static void net_write_close(struct dmp_engine *e, void *ud,
			    struct dmp_eng_writer *w)
{
	(void)e;
	(void)ud;
	for (unsigned i = 0; w && i < w->n; i++) {
		dmp_update_conn_free(w->c[i]);
	}
	dmp_free(w);
}

static int net_write_open(struct dmp_engine *e, void *ud, unsigned attempts,
			  struct dmp_eng_writer **out)
{
	struct dmp_update_opts o;
	struct dmp_eng_writer *w;
	const struct dmp_eng_nodes *nodes;
	int rc = 0;

	(void)ud;
	*out = NULL;
	dmp_update_opts_default(&o);
	o.timeout_ms = (unsigned)e->conf.timeout_ms * 2;
	if (attempts) {
		o.attempts = attempts;
	}
	(void)dmp_eng_cluster_tick(e); /* the cluster, when due */
	nodes = dmp_eng_nodes(e);
	if (nodes->n == 0) {
		DMP_LOG_E("no node to write to: set network.nodes, or "
			  "cluster.zone_key to find them through %s's "
			  "bootstrap record%s",
			  e->conf.domain,
			  e->conf.cluster_zone_key[0]
			      ? " (set, but no cluster was found yet: see "
				"the messages above)"
			      : "");
		return DMP_ECONFIG;
	}
	w = dmp_calloc(1, sizeof(*w));
	if (!w) {
		return DMP_ENOMEM;
	}
	for (unsigned i = 0; i < nodes->n && rc == 0; i++) {
		rc = dmp_update_conn_new(&w->c[i], nodes->addr[i],
					 e->conf.domain, e->tsig, &o);
		w->n = i + 1;
	}
	for (unsigned i = 0; rc == 0 && i < w->n; i++) {
		w->down[i] = down_is(e, nodes->addr[i]);
	}
	if (rc < 0) {
		const char *nv[DMP_ENG_NODES_MAX];

		for (unsigned i = 0; i < nodes->n; i++) {
			nv[i] = nodes->addr[i];
		}
		if (!name_bad_server(nodes->from_cluster ? "cluster manifest"
							 : "network.nodes",
				     nv, nodes->n)) {
			DMP_LOG_E("config: bad node address in network.nodes");
		}
		net_write_close(e, ud, w);
		return DMP_ECONFIG;
	}
	*out = w;
	return 0;
}

/* @return 0 once a majority accepted, else the most telling failure (an
 * answer beats silence: "wrong TSIG secret" over "node unreachable"). */
static int net_write(struct dmp_engine *e, void *ud, struct dmp_eng_writer *w,
		     const struct dmp_update_rr *ops, size_t n, unsigned mask)
{
	unsigned ok = 0, targets = 0, need, live = 0;
	int err = DMP_EUNREACHABLE;

	(void)ud;
	for (unsigned i = 0; i < w->n; i++) {
		targets += (mask >> i) & 1u;
	}
	need = (targets + 1) / 2;
	for (unsigned i = 0; i < w->n; i++) {
		live += ((mask >> i) & 1u) && !w->dead[i] && !w->down[i];
	}
	for (unsigned i = 0; i < w->n; i++) {
		int rc;

		if (w->dead[i] || !((mask >> i) & 1u) ||
		    (w->down[i] && live >= need)) {
			continue;
		}
		rc = dmp_update_send(w->c[i], ops, n, (uint64_t)dmp_eng_now(e),
				     NULL);
		if (rc == 0) {
			ok++;
			if (w->down[i]) { /* back: tell the others */
				w->down[i] = 0;
				down_mark(e, e->nodes.addr[i], 0);
			}
			continue;
		}
		DMP_LOG_I("node %s: %s", e->nodes.addr[i], dmp_strerror(rc));
		if (rc == DMP_EUNREACHABLE || rc == DMP_ETIMEDOUT) {
			w->dead[i] = 1;
			down_mark(e, e->nodes.addr[i], 1);
		} else {
			err = rc;
			e->w_refused = (int)i;
		}
	}
	e->w_took = ok;
	e->w_targets = targets;
	if (ok < need || ok == 0) {
		e->cl_failed = 1; /* look for a newer cluster soon */
	}
	return ok >= need && ok > 0 ? 0 : err;
}

/*
 * Rendezvous (highest random weight) choice of the nodes that store one
 * mailbox: score(node) = first 8 bytes of SHA-256(key || rid), the
 * network.replicas highest win; the key is the node's address in
 * network.nodes, or its node_id in a cluster manifest. Every client with
 * the same node set agrees, so senders write where the recipient reads.
 * With replicas 0 or >= the node count: every node.
 */
unsigned dmp_eng_rendezvous(const char (*key)[DMP_CFG_STR_MAX], unsigned n,
			    unsigned r, const uint8_t *rid)
{
	uint64_t score[DMP_ENG_NODES_MAX];
	unsigned mask = 0;

	if (!rid || r == 0 || r >= n) {
		return n >= 32 ? ~0u : (1u << n) - 1;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t h[32];
		uint8_t buf[DMP_CFG_STR_MAX + DMP_USER_ID_BYTES];
		size_t l = strlen(key[i]);

		memcpy(buf, key[i], l);
		memcpy(buf + l, rid, DMP_USER_ID_BYTES);
		dmp_sha256(h, buf, l + DMP_USER_ID_BYTES);
		score[i] = 0;
		for (int j = 0; j < 8; j++) {
			score[i] = (score[i] << 8) | h[j];
		}
	}
	for (unsigned k = 0; k < r; k++) {
		int best = -1;

		for (unsigned i = 0; i < n; i++) {
			if (!((mask >> i) & 1u) &&
			    (best < 0 || score[i] > score[best])) {
				best = (int)i;
			}
		}
		mask |= 1u << best;
	}
	return mask;
}

unsigned dmp_eng_mailbox_nodes(struct dmp_engine *e, const uint8_t *rid)
{
	const struct dmp_eng_nodes *nd = dmp_eng_nodes(e);

	return dmp_eng_rendezvous(nd->key, nd->n, (unsigned)e->conf.replicas,
				  rid);
}

/* ---- reads ------------------------------------------------------------------
 */

int dmp_eng_batch_init(struct dmp_eng_batch *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->names = dmp_calloc(cap ? cap : 1, sizeof(*b->names));
	b->q = dmp_calloc(cap ? cap : 1, sizeof(*b->q));
	b->res = dmp_calloc(cap ? cap : 1, sizeof(*b->res));
	if (!b->names || !b->q || !b->res) {
		dmp_eng_batch_free(b);
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) {
		b->q[i] = b->names[i];
	}
	b->cap = cap;
	return 0;
}

void dmp_eng_batch_free(struct dmp_eng_batch *b)
{
	for (size_t i = 0; b->res && i < b->cap; i++) {
		dmp_resolver_result_clear(&b->res[i]);
	}
	dmp_free(b->names);
	dmp_free(b->q);
	dmp_free(b->res);
	memset(b, 0, sizeof(*b));
}

int64_t dmp_eng_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int in_zone(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (zl && zone[zl - 1] == '.') {
		zl--;
	}
	if (nl == zl) {
		return dmp_name_equal(name, nl, zone, zl);
	}
	return nl > zl && name[nl - zl - 1] == '.' &&
	       dmp_name_equal(name + nl - zl, zl, zone, zl);
}

static int union_mode(struct dmp_engine *e)
{
	return e->conf.direct && dmp_eng_nodes(e)->n > 1;
}

static struct dmp_resolver *node_resolver(struct dmp_engine *e, unsigned i)
{
	struct dmp_resolver_opts o;
	const char *srv[1];

	if (!e->node_res[i]) {
		dmp_resolver_opts_default(&o);
		srv[0] = e->nodes.addr[i];
		o.servers = srv;
		o.n_servers = 1;
		o.rd = 0; /* the node is authoritative for our zone */
		o.timeout_ms = (unsigned)e->conf.timeout_ms;
		if (dmp_resolver_new(&e->node_res[i], &o) < 0) {
			e->node_res[i] = NULL;
		}
	}
	return e->node_res[i];
}

/* Move @p src's values missing from @p dst into it. */
static void answer_merge(struct dmp_txt_answer *dst, struct dmp_txt_answer *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int dup = 0;
		char **nv;
		size_t *nl;
		uint32_t *nt;

		for (size_t j = 0; j < dst->n && !dup; j++) {
			dup = dst->lens[j] == src->lens[i] &&
			      memcmp(dst->values[j], src->values[i],
				     src->lens[i]) == 0;
		}
		if (dup) {
			continue;
		}
		nv = dmp_realloc(dst->values, (dst->n + 1) * sizeof(*nv));
		if (!nv) {
			break;
		}
		dst->values = nv;
		nl = dmp_realloc(dst->lens, (dst->n + 1) * sizeof(*nl));
		if (!nl) {
			break;
		}
		dst->lens = nl;
		nt = dmp_realloc(dst->ttls, (dst->n + 1) * sizeof(*nt));
		if (!nt) {
			break;
		}
		dst->ttls = nt;
		dst->values[dst->n] = src->values[i];
		dst->lens[dst->n] = src->lens[i];
		dst->ttls[dst->n] = src->ttls ? src->ttls[i] : 0;
		dst->n++;
		src->values[i] = NULL;
	}
	dmp_txt_answer_clear(src);
}

/*
 * Resolve TXT for @p n names. Names in our zone, when several nodes serve
 * it, are asked of every node storing @p rid's mailbox (all nodes if NULL)
 * and the answers merged without duplicates, like the reference's
 * UnionReader (PROTOCOL.md 7.7): a node that missed a write while it was
 * down cannot hide a record the others hold. A node that answers nothing
 * is skipped for 30 s. Everything else goes through the resolver pool.
 */
static int union_read(struct dmp_engine *e, const char *const *q, size_t n,
		      struct dmp_resolver_result *res, const uint8_t *rid,
		      unsigned timeout_ms)
{
	struct dmp_resolver *pool;
	size_t *own = NULL, *oth = NULL, no = 0, nx = 0, live = 0;
	const char **qo = NULL, **qx = NULL;
	struct dmp_resolver_result *tmp = NULL;
	struct dmp_eng_repair *rep = NULL;
	unsigned mask;
	int rc = 0;

	(void)dmp_eng_cluster_tick(e); /* the cluster, when due */
	pool = dmp_engine_resolver(e);
	if (!pool) {
		return DMP_EUNREACHABLE;
	}
	if (!union_mode(e)) {
		return dmp_resolver_query_batch(pool, q, n, res, timeout_ms,
						NULL, NULL);
	}
	own = dmp_calloc(n, sizeof(*own));
	oth = dmp_calloc(n, sizeof(*oth));
	qo = dmp_calloc(n, sizeof(*qo));
	qx = dmp_calloc(n, sizeof(*qx));
	tmp = dmp_calloc(n, sizeof(*tmp));
	if (!own || !oth || !qo || !qx || !tmp) {
		rc = DMP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].err = DMP_EUNREACHABLE;
		res[i].server = -1;
		if (in_zone(q[i], e->conf.domain)) {
			own[no] = i;
			qo[no++] = q[i];
		} else {
			oth[nx] = i;
			qx[nx++] = q[i];
		}
	}
	if (nx > 0) {
		rc = dmp_resolver_query_batch(pool, qx, nx, tmp, timeout_ms,
					      NULL, NULL);
		if (rc < 0) {
			goto out;
		}
		for (size_t j = 0; j < nx; j++) {
			res[oth[j]] = tmp[j];
			memset(&tmp[j], 0, sizeof(tmp[j]));
		}
	}
	mask = dmp_eng_mailbox_nodes(e, rid);
	rep = rid && no > 0 ? dmp_eng_repair_new(e, no) : NULL;
	for (unsigned i = 0; no > 0 && i < e->nodes.n; i++) {
		struct dmp_resolver *r;
		size_t answered = 0;

		if (!((mask >> i) & 1u) ||
		    e->node_down_until[i] > dmp_eng_mono_ms()) {
			continue;
		}
		r = node_resolver(e, i);
		if (!r || dmp_resolver_query_batch(r, qo, no, tmp, timeout_ms,
						   NULL, NULL) < 0) {
			continue;
		}
		for (size_t j = 0; j < no; j++) {
			struct dmp_resolver_result *d = &res[own[j]];

			if (tmp[j].err == 0 || tmp[j].err == DMP_ENXDOMAIN) {
				answered++;
				dmp_eng_repair_note(rep, i, j, &tmp[j]);
			}
			if (tmp[j].err == 0 && d->err != 0) {
				dmp_resolver_result_clear(d);
				*d = tmp[j];
				d->server = (int)i;
				memset(&tmp[j], 0, sizeof(tmp[j]));
			} else if (tmp[j].err == 0) {
				answer_merge(&d->answer, &tmp[j].answer);
			} else if (d->err != 0 && tmp[j].err == DMP_ENXDOMAIN) {
				d->err = DMP_ENXDOMAIN;
			}
			dmp_resolver_result_clear(&tmp[j]);
		}
		if (answered == 0) {
			DMP_LOG_I("node %s: no answers, skipped for 30 s",
				  e->nodes.addr[i]);
			e->node_down_until[i] = dmp_eng_mono_ms() + 30000;
		} else {
			live++;
		}
	}
	if (no > 0 && live == 0) {
		e->cl_failed = 1; /* look for a newer cluster soon */
	}
	dmp_eng_repair_run(e, rep, qo, own, res);
	rep = NULL;
out:
	dmp_eng_repair_free(rep);
	for (size_t j = 0; tmp && j < n; j++) {
		dmp_resolver_result_clear(&tmp[j]);
	}
	dmp_free(own);
	dmp_free(oth);
	dmp_free(qo);
	dmp_free(qx);
	dmp_free(tmp);
	return rc;
}

void dmp_eng_read_where(const struct dmp_engine *e, const char *name, char *out,
			size_t cap)
{
	const struct dmp_cfg_list *l = NULL;
	const char *what = "node";
	unsigned n = e->nodes.n;
	size_t o;

	for (unsigned i = 0; i < e->conf.zone_servers.n; i++) {
		const char *v = e->conf.zone_servers.v[i];
		const char *eq = strchr(v, '=');
		char z[DMP_CFG_STR_MAX];

		snprintf(z, sizeof(z), "%.*s", (int)(eq - v), v);
		if (in_zone(name, z)) {
			snprintf(out, cap, "server %s", eq + 1);
			return;
		}
	}
	if (!(e->conf.direct && in_zone(name, e->conf.domain)) &&
	    e->conf.resolvers.n > 0) {
		l = &e->conf.resolvers;
		what = "resolver";
		n = l->n;
	}
	o = (size_t)snprintf(out, cap, "%s%s ", what, n > 1 ? "s" : "");
	for (unsigned i = 0; i < n && o < cap; i++) {
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "",
				      l ? l->v[i] : e->nodes.addr[i]);
	}
}

/* The default claim path: a fresh unsigned conn to the zone's server. */
static int net_claim(struct dmp_engine *e, void *ud, const char *zone,
		     const char *server, const struct dmp_update_rr *ops,
		     size_t n)
{
	struct dmp_update_opts o;
	struct dmp_update_conn *c = NULL;
	int rc;

	(void)ud;
	if (down_is(e, server)) { /* claims are best effort: not again */
		return DMP_EUNREACHABLE;
	}
	dmp_update_opts_default(&o);
	o.timeout_ms = (unsigned)e->conf.timeout_ms;
	o.attempts = 2;
	rc = dmp_update_conn_new(&c, server, zone, NULL, &o);
	if (rc < 0) {
		return rc == DMP_EINVAL ? DMP_EUNREACHABLE : rc;
	}
	rc = dmp_update_send(c, ops, n, (uint64_t)dmp_eng_now(e), NULL);
	dmp_update_conn_free(c);
	if (rc == DMP_EUNREACHABLE || rc == DMP_ETIMEDOUT) {
		down_mark(e, server, 1);
	}
	return rc;
}

/* One server asked alone, through a pool of its own, so each answer is
 * that server's own (resolver discovery, the poisoning check). */
static int single_read(struct dmp_engine *e, const char *server,
		       const char *const *q, size_t n,
		       struct dmp_resolver_result *res, unsigned timeout_ms)
{
	struct dmp_resolver_opts o;
	struct dmp_resolver *r = NULL;
	int rc;

	dmp_resolver_opts_default(&o);
	o.servers = &server;
	o.n_servers = 1;
	o.timeout_ms = (unsigned)e->conf.timeout_ms;
	rc = dmp_resolver_new(&r, &o);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_resolver_query_batch(r, q, n, res, timeout_ms, NULL, NULL);
	dmp_resolver_free(r);
	return rc;
}

static int net_read(struct dmp_engine *e, void *ud, const char *server,
		    const char *const *q, size_t n,
		    struct dmp_resolver_result *res, const uint8_t *rid,
		    unsigned timeout_ms)
{
	(void)ud;
	return server ? single_read(e, server, q, n, res, timeout_ms)
		      : union_read(e, q, n, res, rid, timeout_ms);
}

/* The publish delay's wait: a plain sleep on the engine's thread. */
static void net_sleep_ms(struct dmp_engine *e, void *ud, unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000L};

	(void)e;
	(void)ud;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static const struct dmp_eng_transport net_transport = {
    net_read,  net_write_open, net_write,    net_write_close,
    net_claim, NULL,	       net_sleep_ms,
};

/* ---- the seam's entry points --------------------------------------------- */

void dmp_eng_set_transport(struct dmp_engine *e,
			   const struct dmp_eng_transport *t)
{
	e->tp = t ? *t : net_transport;
}

int dmp_eng_read(struct dmp_engine *e, const char *const *q, size_t n,
		 struct dmp_resolver_result *res, const uint8_t *rid)
{
	return e->tp.read(e, e->tp.ud, NULL, q, n, res, rid,
			  DMP_ENG_BATCH_TIMEOUT_MS);
}

int dmp_eng_read_at(struct dmp_engine *e, const char *server,
		    const char *const *q, size_t n,
		    struct dmp_resolver_result *res, unsigned timeout_ms)
{
	return e->tp.read(e, e->tp.ud, server, q, n, res, NULL, timeout_ms);
}

int dmp_eng_writer_open(struct dmp_engine *e, unsigned attempts,
			struct dmp_eng_writer **w)
{
	return e->tp.write_open(e, e->tp.ud, attempts, w);
}

int dmp_eng_writer_send_to(struct dmp_engine *e, struct dmp_eng_writer *w,
			   const struct dmp_update_rr *ops, size_t n,
			   unsigned mask)
{
	e->w_took = e->w_targets = 0; /* a transport may not count */
	e->w_refused = -1;
	return e->tp.write(e, e->tp.ud, w, ops, n, mask);
}

int dmp_eng_writer_send(struct dmp_engine *e, struct dmp_eng_writer *w,
			const struct dmp_update_rr *ops, size_t n)
{
	return e->tp.write(e, e->tp.ud, w, ops, n, ~0u);
}

void dmp_eng_writer_close(struct dmp_engine *e, struct dmp_eng_writer *w)
{
	if (w) {
		e->tp.write_close(e, e->tp.ud, w);
	}
}

/*
 * Send @p ops (claims, PROTOCOL.md 7.3) as one un-TSIG'd UPDATE to the
 * server of @p zone: the one network.zone_servers names; for our own zone
 * else every configured node (accepted when one took it); else port 53 of
 * the zone apex's own address (A/AAAA through the system resolver).
 */
int dmp_eng_claim_send(struct dmp_engine *e, const char *zone,
		       const struct dmp_update_rr *ops, size_t n)
{
	const char *server = dmp_eng_zone_server(&e->conf, zone);
	const struct dmp_eng_nodes *nodes = dmp_eng_nodes(e);
	int rc = DMP_ECONFIG, ok = 0;

	if (server || nodes->n == 0 ||
	    !dmp_name_equal(zone, strlen(zone), e->conf.domain,
			    strlen(e->conf.domain))) {
		return e->tp.claim(e, e->tp.ud, zone, server ? server : zone,
				   ops, n);
	}
	for (unsigned i = 0; i < nodes->n; i++) {
		int r = e->tp.claim(e, e->tp.ud, zone, nodes->addr[i], ops, n);

		ok += r == 0;
		rc = r < 0 && rc == DMP_ECONFIG ? r : rc;
	}
	return ok > 0 ? 0 : rc;
}
