/*
 * tests/unit/test_mesh.c - the relay link prober (node_mesh.c,
 * docs/protocol.md 8.7.4): the smoothed RTT, the three-missed-probes rule
 * and the cost clamp as pure functions; then a node whose one neighbour
 * is a fake GET: the neighbour's verified records enter the graph (a
 * route two hops out), three missed probes take the link down and the
 * route away, a forged or loopback record is refused unless loopback is
 * allowed, and our own record lists the neighbour up then down.
 * Neighbours from discovery (node_mesh_nb.c): the pure choice (ourselves,
 * configured URLs and keys left out, measured RTT first, then the lower
 * key, one endpoint per node, the bound); then a node with one configured
 * neighbour handed discovered relay peers: the chosen ones are probed, a
 * loopback endpoint is refused unless allowed, an unchanged set changes
 * nothing, a peer that leaves discovery stops being probed while the
 * configured neighbour stays, and the bound 0 turns it off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/links.h"
#include "dmp/node.h"
#include "node/node_mesh.h"
#include "node/node_route.h"
#include "tap.h"

#define NOW_MS 1893456000000ULL /* 2030-01-01 */
#define NB "http://127.0.0.9:8053"

struct fake {
	int status; /* < 0: unreachable */
	char body[4096];
	unsigned calls;
	uint64_t now_ms;
};

static int fake_get(void *ud, const char *url, char **resp, size_t *len,
		    unsigned timeout_ms)
{
	struct fake *f = ud;

	(void)timeout_ms;
	f->calls++;
	*resp = NULL;
	*len = 0;
	if (strcmp(url, NB "/v1/mesh/links") != 0 || f->status < 0) {
		return DMP_EUNREACHABLE;
	}
	*len = strlen(f->body);
	*resp = malloc(*len + 1);
	if (!*resp) {
		return DMP_ENOMEM;
	}
	memcpy(*resp, f->body, *len + 1);
	return f->status;
}

static uint64_t fake_now(void *ud)
{
	return ((struct fake *)ud)->now_ms;
}

static void test_pure(void)
{
	struct dmp_mesh_link l;
	uint32_t s;

	is_int((int)dmp_nm_srtt(0, 0, 40), 40, "srtt: first sample as is");
	is_int((int)dmp_nm_srtt(100, 1, 200), 113,
	       "srtt: 7/8 old + 1/8 new, rounded");
	s = 100;
	for (int i = 0; i < 60; i++) {
		s = dmp_nm_srtt(s, 1, 20);
	}
	ok(s >= 20 && s <= 24, "srtt: converges on a steady RTT (%u)", s);
	is_int(dmp_nm_cost(0), 1, "cost: at least 1 ms");
	is_int(dmp_nm_cost(70000), 60000, "cost: at most 60000 ms");
	is_int(dmp_nm_cost(250), 250, "cost: the SRTT in between");

	memset(&l, 0, sizeof(l));
	is_int(dmp_nm_probe(&l, 0, 0), 0, "probe: a link never up stays down");
	is_int(dmp_nm_probe(&l, 1, 30), 1, "probe: an answer brings it up");
	ok(l.up && l.missed == 0 && l.srtt_ms == 30, "probe: up, srtt 30");
	is_int(dmp_nm_probe(&l, 0, 0), 0, "probe: one miss, still up");
	is_int(dmp_nm_probe(&l, 0, 0), 0, "probe: two misses, still up");
	is_int(dmp_nm_probe(&l, 0, 0), 1, "probe: the third miss: down");
	ok(!l.up && l.missed == DMP_MESH_MISSED_DOWN, "probe: down, 3 missed");
	is_int(dmp_nm_probe(&l, 0, 0), 0, "probe: a fourth miss changes none");
	is_int(dmp_nm_probe(&l, 1, 50), 1, "probe: an answer: up again");
	ok(l.missed == 0 && l.srtt_ms == 33, "probe: srtt kept across (%u)",
	   l.srtt_ms);
	dmp_nm_probe(&l, 0, 0);
	dmp_nm_probe(&l, 1, 30);
	dmp_nm_probe(&l, 0, 0);
	dmp_nm_probe(&l, 0, 0);
	ok(l.up, "probe: misses must be in a row");
}

static void keypair(uint8_t pk[32], uint8_t sk[64], uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	dmp_ed25519_from_seed(pk, sk, seed);
}

/* A link record of @p spk for @p zone with up links to @p peers. */
static int rec(char *out, size_t cap, const uint8_t *pk, const uint8_t *sk,
	       const char *ep, const char *zone, const uint8_t (*peers)[32],
	       size_t n_peers, uint64_t now_ms)
{
	struct dmp_links lk;

	memset(&lk, 0, sizeof(lk));
	memcpy(lk.node_spk, pk, 32);
	snprintf(lk.endpoint, sizeof(lk.endpoint), "%s", ep);
	snprintf(lk.zones[0], sizeof(lk.zones[0]), "%s", zone);
	lk.n_zones = 1;
	for (size_t i = 0; i < n_peers; i++) {
		memcpy(lk.peers[i].spk, peers[i], 32);
		lk.peers[i].cost_ms = 5;
		lk.peers[i].flags = DMP_LINKS_UP;
	}
	lk.n_peers = n_peers;
	lk.seq = now_ms;
	lk.ts = now_ms / 1000;
	lk.exp = lk.ts + 90;
	return dmp_links_sign(out, cap, &lk, sk, DMP_HEARTBEAT_ALLOW_LOOPBACK,
			      NULL);
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

/* Where our routing table sends @p zone: hops, or -1 when absent. */
static int hops_to(struct dmp_node_mesh *m, const char *zone)
{
	struct dmp_route_entry e[8];
	int cnt = dmp_route_table(m->route, e, 8);

	for (int i = 0; i < cnt && i < 8; i++) {
		if (strcmp(e[i].zone, zone) == 0) {
			return (int)e[i].hops;
		}
	}
	return -1;
}

/* Our own published record's flag for the neighbour, -1 when not listed. */
static int own_flag(struct dmp_node_mesh *m, const uint8_t *peer,
		    uint64_t now_ms)
{
	struct dmp_links lk;
	if (m->n_recs == 0 ||
	    dmp_links_parse(&lk, m->recs[0].wire, strlen(m->recs[0].wire),
			    now_ms / 1000, DMP_HEARTBEAT_ALLOW_LOOPBACK,
			    NULL) < 0 ||
	    memcmp(lk.node_spk, m->pk, 32) != 0) {
		return -2;
	}
	for (size_t i = 0; i < lk.n_peers; i++) {
		if (memcmp(lk.peers[i].spk, peer, 32) == 0) {
			return lk.peers[i].flags;
		}
	}
	return -1;
}

static void test_prober(int allow_loopback)
{
	uint8_t pa[32], sa[64], pb[32], sb[64], pc[32], sc[64];
	uint8_t b_peers[2][32], c_peers[1][32];
	char wb[1300], wc[1300];
	const char *nbs[] = {NB};
	struct fake f = {.status = 200, .now_ms = NOW_MS};
	struct dmp_node *n = open_node();
	struct dmp_node_mesh *m = NULL;
	struct dmp_node_mesh_opts o = {
	    .endpoint = "https://a.example:8443",
	    .neighbours = nbs,
	    .n_neighbours = 1,
	    .interval_s = 1,
	    .allow_loopback = allow_loopback,
	    .http = fake_get,
	    .http_ud = &f,
	    .now_ms = fake_now,
	    .now_ud = &f,
	};
	int rc;

	keypair(pa, sa, 1);
	keypair(pb, sb, 2);
	keypair(pc, sc, 3);
	o.operator_pk = pa;
	o.operator_sk = sa;
	memcpy(b_peers[0], pa, 32);
	memcpy(b_peers[1], pc, 32);
	memcpy(c_peers[0], pb, 32);
	/* B's endpoint is on loopback, as in a test cluster. */
	ok(rec(wb, sizeof(wb), pb, sb, "http://127.0.0.9:8053", "b.test",
	       (const uint8_t(*)[32])b_peers, 2, NOW_MS) > 0 &&
	       rec(wc, sizeof(wc), pc, sc, "https://c.example", "c.test",
		   (const uint8_t(*)[32])c_peers, 1, NOW_MS) > 0,
	   "prober: B's and C's records signed");
	snprintf(f.body, sizeof(f.body), "{\"records\":[\"%s\",\"%s\"]}", wb,
		 wc);
	rc = n ? dmp_node_mesh_new(&m, n, &o, 0) : DMP_ENOMEM;
	is_int(rc, 0, "prober: created");
	if (rc != 0) {
		dmp_node_free(n);
		return;
	}
	{
		struct dmp_node_mesh *m2 = NULL;

		is_int(dmp_node_mesh_new(&m2, n, &o, 0), DMP_EEXIST,
		       "prober: one per node");
	}
	rc = dmp_node_mesh_tick(m);
	if (!allow_loopback) {
		/* B's loopback endpoint: refused, so no answer counts. */
		is_int(rc, 0, "strict: a loopback endpoint is refused");
		ok(m->probes[DMP_MESH_MALFORMED] == 1 && m->rejected == 1 &&
		       !m->nb[0].l.up && hops_to(m, "c.test") == -1,
		   "strict: no link, no route, one record refused");
		dmp_node_mesh_free(m);
		dmp_node_free(n);
		return;
	}
	is_int(rc, 1, "prober: the neighbour answered");
	ok(m->nb[0].known && memcmp(m->nb[0].spk, pb, 32) == 0 && m->nb[0].l.up,
	   "prober: the first record names the neighbour; link up");
	is_int(hops_to(m, "a.test"), 0, "prober: our zone, 0 hops");
	/* Ours lives DMP_RELAY_HOPS_MAX + 2 intervals, so that a copy 16
	 * hops away (one round each) has not expired on the way. */
	ok(memcmp(m->recs[0].spk, pa, 32) == 0 &&
	       m->recs[0].exp == NOW_MS / 1000 + 18,
	   "prober: our record lives 18 link intervals");
	is_int(hops_to(m, "b.test"), 1, "prober: B's zone, 1 hop");
	is_int(hops_to(m, "c.test"), 2, "prober: C's zone through B, 2 hops");
	is_int(own_flag(m, pb, f.now_ms), DMP_LINKS_UP,
	       "prober: ours lists B up");
	is_int((int)m->n_recs, 3, "prober: three records held, ours first");

	/* Two misses: still up. The third: down, route gone, republished. */
	f.status = -1;
	for (int i = 0; i < 2; i++) {
		f.now_ms += 1000;
		(void)dmp_node_mesh_tick(m);
	}
	ok(m->nb[0].l.up && hops_to(m, "c.test") == 2,
	   "prober: two misses keep the link");
	f.now_ms += 1000;
	(void)dmp_node_mesh_tick(m);
	ok(!m->nb[0].l.up && hops_to(m, "c.test") == -1 &&
	       hops_to(m, "a.test") == 0,
	   "prober: the third miss takes it down and the route away");
	is_int(own_flag(m, pb, f.now_ms), 0, "prober: ours lists B down");
	ok(m->probes[DMP_MESH_UNREACHABLE] == 3 && m->probes[DMP_MESH_OK] == 1,
	   "prober: probes counted by result");

	/* A forged record (a flipped signature byte) is refused; the good
	 * one after it is kept. */
	f.status = 200;
	f.now_ms += 1000;
	{
		char bad[1300];
		size_t bl = strlen(wb);

		memcpy(bad, wb, bl + 1);
		bad[bl - 3] = bad[bl - 3] == 'A' ? 'B' : 'A';
		snprintf(f.body, sizeof(f.body),
			 "{\"records\":[\"%s\",\"%s\"]}", bad, wc);
	}
	(void)dmp_node_mesh_tick(m);
	ok(m->rejected == 1 && m->probes[DMP_MESH_MALFORMED] == 1 &&
	       !m->nb[0].l.up,
	   "prober: a forged first record: refused, no answer");
	snprintf(f.body, sizeof(f.body), "{\"records\":[\"%s\",\"%s\"]}", wb,
		 wc);
	f.now_ms += 1000;
	(void)dmp_node_mesh_tick(m);
	ok(m->nb[0].l.up && hops_to(m, "c.test") == 2,
	   "prober: the link and the route come back");
	/* Everything expires 90 s after B's and C's ts. */
	snprintf(f.body, sizeof(f.body), "not json");
	f.now_ms = NOW_MS + 95000;
	(void)dmp_node_mesh_tick(m);
	ok(hops_to(m, "b.test") == -1 && m->n_recs == 1,
	   "prober: expired records dropped; ours stays");
	dmp_node_mesh_free(m);
	dmp_node_free(n);
}

static void test_bad_opts(void)
{
	struct dmp_node *n = open_node();
	struct dmp_node_mesh *m = NULL;
	uint8_t pk[32], sk[64];
	const char *nbs[] = {"ftp://x.example", "http://x/y", "http://"};
	struct dmp_node_mesh_opts o = {
	    .endpoint = "https://a.example",
	    .n_neighbours = 1,
	    .interval_s = 30,
	};

	keypair(pk, sk, 4);
	o.operator_pk = pk;
	o.operator_sk = sk;
	for (int i = 0; i < 3; i++) {
		o.neighbours = &nbs[i];
		is_int(n ? dmp_node_mesh_new(&m, n, &o, 0) : -1, DMP_EINVAL,
		       "opts: neighbour '%s' refused", nbs[i]);
	}
	o.n_neighbours = 0;
	o.interval_s = 3601;
	is_int(n ? dmp_node_mesh_new(&m, n, &o, 0) : -1, DMP_EINVAL,
	       "opts: link_interval 3601 refused");
	o.interval_s = 0;
	is_int(n ? dmp_node_mesh_new(&m, n, &o, 0) : -1, DMP_EINVAL,
	       "opts: link_interval 0 refused");
	dmp_node_free(n);
}

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

/* ---- neighbours from discovery (node_mesh_nb.c) ---- */

/* ---- a node handed discovered relays ---- */

struct rec_fake {
	char urls[8][128];
	unsigned n;
};

/* Every probe: unreachable; only which URLs were probed matters. */
static int rec_get(void *ud, const char *url, char **resp, size_t *len,
		   unsigned timeout_ms)
{
	struct rec_fake *f = ud;

	(void)timeout_ms;
	*resp = NULL;
	*len = 0;
	if (f->n < 8) {
		snprintf(f->urls[f->n++], sizeof(f->urls[0]), "%s", url);
	}
	return DMP_EUNREACHABLE;
}

static uint64_t fixed_now(void *ud)
{
	(void)ud;
	return NOW_MS;
}

static int probed(const struct rec_fake *f, const char *base)
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

static void test_node(int allow_loopback, size_t max)
{
	uint8_t pk[32], sk[64], seed[32];
	const char *nbs[] = {"https://conf.example"};
	struct rec_fake f = {{{0}}, 0};
	struct dmp_node *n = open_node();
	struct dmp_node_mesh *m = NULL;
	struct dmp_node_mesh_peer p[3];
	struct dmp_node_mesh_opts o = {
	    .endpoint = "https://a.example",
	    .neighbours = nbs,
	    .n_neighbours = 1,
	    .interval_s = 1,
	    .allow_loopback = allow_loopback,
	    .http = rec_get,
	    .http_ud = &f,
	    .now_ms = fixed_now,
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
	/* A probe learns that the configured neighbour is B (key 2). */
	m->nb[0].known = 1;
	memcpy(m->nb[0].spk, p[0].spk, 32);
	ok(dmp_nm_refresh(m) == 1 && m->n_nb == (allow_loopback ? 3u : 2u) &&
	       strcmp(m->nb[m->n_nb - 1].url, "https://c.example") == 0,
	   "%s: a configured neighbour's key learnt: the same node's "
	   "discovered endpoint gives way",
	   tag);
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

static void test_nb_bad_opts(void)
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
	plan(77);
	test_pure();
	test_prober(1);
	test_prober(0);
	test_bad_opts();
	test_select();
	test_node(1, 2);
	test_node(0, 2);
	test_node(0, 0);
	test_nb_bad_opts();
	return done_testing();
}
