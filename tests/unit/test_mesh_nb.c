/*
 * tests/unit/test_mesh_nb.c - the mesh's neighbours from discovery
 * (node_mesh_nb.c, docs/protocol.md 8.7.4): the pure choice (ourselves,
 * configured URLs and keys left out, measured RTT first, then the lower
 * key, one endpoint per node, the bound); then a node with one configured
 * neighbour that is handed discovered relay peers: the chosen ones are
 * probed, a loopback endpoint is refused unless allowed, an unchanged set
 * changes nothing, a peer that leaves discovery stops being probed while
 * the configured neighbour stays, and the bound 0 turns it off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "node/node_mesh.h"
#include "tap.h"

#define NOW_MS 1893456000000ULL /* 2030-01-01 */

static void key(uint8_t k[32], uint8_t tag)
{
	memset(k, tag, 32);
}

static void test_select(void)
{
	uint8_t self[32], k1[32], k2[32], k3[32], k4[32];
	struct dmp_nm_choice conf[1], cand[6];
	size_t out[8], n;

	key(self, 9);
	key(k1, 1);
	key(k2, 2);
	key(k3, 3);
	key(k4, 4);
	conf[0] = (struct dmp_nm_choice){"https://conf.example", k4, 0};
	cand[0] = (struct dmp_nm_choice){"https://c3.example", k3, 0};
	cand[1] = (struct dmp_nm_choice){"https://c2.example", k2, 0};
	cand[2] = (struct dmp_nm_choice){"https://self.example", self, 0};
	cand[3] = (struct dmp_nm_choice){"https://CONF.example", k1, 0};
	cand[4] = (struct dmp_nm_choice){"https://other-conf.example", k4, 0};
	cand[5] = (struct dmp_nm_choice){"https://c1.example", k1, 0};

	n = dmp_nm_select(conf, 1, cand, 6, self, 8, out);
	ok(n == 3 && out[0] == 5 && out[1] == 1 && out[2] == 0,
	   "select: without RTTs the lower key first; ourselves, a configured "
	   "URL (any case) and a configured key left out (got %zu)",
	   n);
	n = dmp_nm_select(conf, 1, cand, 6, self, 2, out);
	ok(n == 2 && out[0] == 5 && out[1] == 1, "select: at most max");
	is_int((int)dmp_nm_select(conf, 1, cand, 6, self, 0, out), 0,
	       "select: max 0 chooses none");

	cand[0].rtt_ms = 40;
	cand[1].rtt_ms = 15;
	n = dmp_nm_select(conf, 1, cand, 6, self, 8, out);
	ok(n == 3 && out[0] == 1 && out[1] == 0 && out[2] == 5,
	   "select: measured RTT first, lowest first, then the unmeasured");

	/* Nothing configured: k1 (CONF, c1) and k2 (c2, c2-bis) have two
	 * endpoints each; only the first of each in the order is taken. */
	cand[4] = (struct dmp_nm_choice){"https://c2-bis.example", k2, 0};
	cand[1].rtt_ms = 0;
	n = dmp_nm_select(NULL, 0, cand, 6, self, 8, out);
	ok(n == 3 && out[0] == 0 && out[1] == 3 && out[2] == 4,
	   "select: one endpoint per node, the first in the order (got %zu)",
	   n);
}

/* ---- a node handed discovered relays ---- */

struct fake {
	char urls[8][128];
	unsigned n;
};

/* Every probe: unreachable; only which URLs were probed matters. */
static int fake_get(void *ud, const char *url, char **resp, size_t *len,
		    unsigned timeout_ms)
{
	struct fake *f = ud;

	(void)timeout_ms;
	*resp = NULL;
	*len = 0;
	if (f->n < 8) {
		snprintf(f->urls[f->n++], sizeof(f->urls[0]), "%s", url);
	}
	return DMP_EUNREACHABLE;
}

static uint64_t fake_now(void *ud)
{
	(void)ud;
	return NOW_MS;
}

static int probed(const struct fake *f, const char *base)
{
	char u[160];

	snprintf(u, sizeof(u), "%s/v1/mesh/links", base);
	for (unsigned i = 0; i < f->n; i++) {
		if (strcmp(f->urls[i], u) == 0) {
			return 1;
		}
	}
	return 0;
}

static struct dmp_node *open_node(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "a.test");
	o.n_zones = 1;
	o.rate_limit = 0;
	return dmp_node_new(&n, &o, NOW_MS) == 0 ? n : NULL;
}

static void test_node(int allow_loopback, size_t max)
{
	uint8_t pk[32], sk[64], seed[32];
	const char *nbs[] = {"https://conf.example"};
	struct fake f = {{{0}}, 0};
	struct dmp_node *n = open_node();
	struct dmp_node_mesh *m = NULL;
	struct dmp_node_mesh_peer p[3];
	struct dmp_node_mesh_opts o = {
	    .endpoint = "https://a.example",
	    .neighbours = nbs,
	    .n_neighbours = 1,
	    .interval_s = 1,
	    .allow_loopback = allow_loopback,
	    .http = fake_get,
	    .http_ud = &f,
	    .now_ms = fake_now,
	    .max_discovered = max,
	};
	const char *tag = max == 0	   ? "off"
			  : allow_loopback ? "loopback allowed"
					   : "strict";
	int rc;

	memset(seed, 7, sizeof(seed));
	dmp_ed25519_from_seed(pk, sk, seed);
	o.operator_pk = pk;
	o.operator_sk = sk;
	memset(p, 0, sizeof(p));
	snprintf(p[0].endpoint, sizeof(p[0].endpoint), "https://b.example");
	key(p[0].spk, 2);
	snprintf(p[1].endpoint, sizeof(p[1].endpoint), "http://127.0.0.5:80");
	key(p[1].spk, 1);
	snprintf(p[2].endpoint, sizeof(p[2].endpoint), "https://c.example");
	key(p[2].spk, 3);

	is_int((int)dmp_node_mesh_discovered(n, p, 3), 0,
	       "%s: nothing taken without a mesh", tag);
	rc = n ? dmp_node_mesh_new(&m, n, &o, 0) : DMP_ENOMEM;
	is_int(rc, 0, "%s: mesh created", tag);
	if (rc != 0) {
		dmp_node_free(n);
		return;
	}
	if (max == 0) {
		is_int((int)dmp_node_mesh_discovered(n, p, 3), 0,
		       "off: discovered_neighbours 0 takes none");
		(void)dmp_node_mesh_tick(m);
		ok(m->n_nb == 1 && f.n == 1 && probed(&f, nbs[0]),
		   "off: only the configured neighbour probed");
		goto out;
	}
	is_int((int)dmp_node_mesh_discovered(n, p, 3), allow_loopback ? 3 : 2,
	       "%s: the loopback endpoint %s", tag,
	       allow_loopback ? "kept" : "refused");
	(void)dmp_node_mesh_tick(m);
	/* max 2: the lowest keys, 1 (loopback, if allowed) and 2. */
	ok(m->n_nb == 3 && !m->nb[0].discovered && m->nb[1].discovered &&
	       m->nb[2].discovered && probed(&f, nbs[0]) &&
	       probed(&f, "https://b.example") &&
	       probed(&f, allow_loopback ? "http://127.0.0.5:80"
					 : "https://c.example") &&
	       f.n == 3,
	   "%s: the configured neighbour and two discovered ones probed", tag);
	is_int(m->nb[1].l.missed + m->nb[2].l.missed, 2,
	       "%s: their probes counted", tag);
	is_int((int)dmp_node_mesh_discovered(n, p, 3), allow_loopback ? 3 : 2,
	       "%s: the same set again", tag);
	ok(m->applied_gen == m->cand_gen && !dmp_nm_refresh(m),
	   "%s: an unchanged set is no change", tag);
	/* B leaves discovery: C takes its place (or, strict, nothing). */
	f.n = 0;
	(void)dmp_node_mesh_discovered(n, p + 1, 2);
	(void)dmp_node_mesh_tick(m);
	ok(m->n_nb == (allow_loopback ? 3u : 2u) && probed(&f, nbs[0]) &&
	       !probed(&f, "https://b.example") &&
	       probed(&f, "https://c.example"),
	   "%s: a peer gone from discovery is no longer probed; the "
	   "configured one stays",
	   tag);
	if (allow_loopback) {
		ok(m->nb[1].l.missed == 2,
		   "%s: a neighbour still chosen keeps its link state", tag);
	}
	(void)dmp_node_mesh_discovered(n, NULL, 0);
	f.n = 0;
	(void)dmp_node_mesh_tick(m);
	ok(m->n_nb == 1 && f.n == 1, "%s: none discovered: configured only",
	   tag);
out:
	dmp_node_mesh_free(m);
	dmp_node_free(n);
}

static void test_bad_opts(void)
{
	struct dmp_node *n = open_node();
	struct dmp_node_mesh *m = NULL;
	uint8_t pk[32], sk[64], seed[32];
	struct dmp_node_mesh_opts o = {
	    .endpoint = "https://a.example",
	    .interval_s = 30,
	    .max_discovered = DMP_NODE_MESH_DISCOVERED_MAX + 1,
	};

	memset(seed, 8, sizeof(seed));
	dmp_ed25519_from_seed(pk, sk, seed);
	o.operator_pk = pk;
	o.operator_sk = sk;
	is_int(n ? dmp_node_mesh_new(&m, n, &o, 0) : -1, DMP_EINVAL,
	       "opts: discovered_neighbours %d refused",
	       DMP_NODE_MESH_DISCOVERED_MAX + 1);
	o.max_discovered = DMP_NODE_MESH_DISCOVERED_MAX;
	is_int(n ? dmp_node_mesh_new(&m, n, &o, 0) : -1, 0,
	       "opts: discovered_neighbours %d taken",
	       DMP_NODE_MESH_DISCOVERED_MAX);
	dmp_node_mesh_free(m);
	dmp_node_free(n);
}

int main(void)
{
	plan(30);
	test_select();
	test_node(1, 2);
	test_node(0, 2);
	test_node(0, 0);
	test_bad_opts();
	return done_testing();
}
