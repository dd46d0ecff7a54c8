/*
 * tests/unit/test_node_disc.c - the node's mesh discovery
 * (node_discovery.c, PROTOCOL.md 8) without sockets: answers built here
 * are ingested (verification, our own heartbeat skipped, newest ts per
 * operator key + endpoint, the table bound), then published at
 * _dnsmesh-seen.<zone> and read back through dmp_node_handle(); expiry
 * drops peers and empties the name.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/node.h"
#include "dmp/resolver.h"
#include "tap.h"

#define ZONE "mesh.test"
#define NOW_MS 1893456000000ULL /* 2030-01-01 */
#define NOW_S (NOW_MS / 1000)
#define EXPIRY 30

static struct dmp_node *open_node(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", ZONE);
	o.n_zones = 1;
	o.rate_limit = 0;
	return dmp_node_new(&n, &o, NOW_MS) == 0 ? n : NULL;
}

/* A heartbeat of operator @p id (a seed byte) at @p ep, signed at @p ts. */
static void make_hb(char *out, size_t cap, uint8_t pk[32], uint8_t id,
		    const char *ep, uint64_t ts)
{
	struct dmp_heartbeat hb;
	uint8_t seed[32], sk[64];
	int len;

	memset(&hb, 0, sizeof(hb));
	memset(seed, id, sizeof(seed));
	dmp_ed25519_from_seed(pk, sk, seed);
	memcpy(hb.operator_spk, pk, 32);
	snprintf(hb.endpoint, sizeof(hb.endpoint), "%s", ep);
	snprintf(hb.version, sizeof(hb.version), "test");
	hb.ts = ts;
	hb.exp = ts + DMP_HEARTBEAT_LIFETIME;
	len =
	    dmp_heartbeat_sign(out, cap, &hb, sk, DMP_HEARTBEAT_ALLOW_LOOPBACK);
	if (len < 0) {
		out[0] = 0;
	}
	dmp_wipe(sk, sizeof(sk));
}

/* One result holding @p n values (borrowed; never cleared). */
static void answer(struct dmp_resolver_result *r, char **v, size_t *lens,
		   size_t n)
{
	memset(r, 0, sizeof(*r));
	r->answer.n = n;
	r->answer.values = v;
	r->answer.lens = lens;
	for (size_t i = 0; i < n; i++) {
		lens[i] = strlen(v[i]);
	}
}

/* ANCOUNT of a TXT query for @p name, or -1. */
static int ancount(struct dmp_node *n, const char *name, uint64_t now_ms)
{
	uint8_t q[300], r[8192];
	size_t off = 12;
	int len;

	memset(q, 0, 12);
	q[0] = 0x34;
	q[5] = 1;
	for (const char *p = name; *p;) {
		size_t l = strcspn(p, ".");

		q[off++] = (uint8_t)l;
		memcpy(q + off, p, l);
		off += l;
		p += l + (p[l] == '.');
	}
	q[off++] = 0;
	q[off++] = 0;
	q[off++] = 16;
	q[off++] = 0;
	q[off++] = 1;
	len = dmp_node_handle(n, q, off, DMP_NODE_TCP, NULL, r, sizeof(r),
			      now_ms);
	return len < 12 ? -1 : (r[6] << 8 | r[7]);
}

int main(void)
{
	static char hb_self[1024], hb_a[1024], hb_a_old[1024], hb_b[1024],
	    hb_c[1024], junk[] = "v=dmp1;t=heartbeat;AAAA";
	uint8_t pk_self[32], pk_a[32], pk_b[32], pk_c[32];
	const char *seeds[] = {"peer.test"}, *bad_seeds[] = {"bad..zone"};
	const char *names[] = {"_dnsmesh-heartbeat.peer.test",
			       "_dnsmesh-seen.peer.test"};
	struct dmp_node_disc_opts o = {
	    .seeds = seeds,
	    .n_seeds = 1,
	    .self_pk = pk_self,
	    .self_endpoint = "http://127.0.0.1:1",
	    .interval_s = 10,
	    .expiry_s = EXPIRY,
	    .max_peers = 16,
	    .allow_loopback = 1,
	    .offline = 1,
	};
	struct dmp_resolver_result res[2];
	struct dmp_node_disc *d = NULL;
	uint64_t known, expired, rejected;
	char *v0[3], *v1[2];
	size_t l0[3], l1[2];
	struct dmp_node *n;

	plan(21);
	n = open_node();
	if (!ok(n != NULL, "node opens")) {
		return done_testing();
	}
	make_hb(hb_self, sizeof(hb_self), pk_self, 1, "http://127.0.0.1:1",
		NOW_S);
	make_hb(hb_a, sizeof(hb_a), pk_a, 2, "http://127.0.0.2:1", NOW_S - 5);
	make_hb(hb_a_old, sizeof(hb_a_old), pk_a, 2, "http://127.0.0.2:1",
		NOW_S - 20);
	make_hb(hb_b, sizeof(hb_b), pk_b, 3, "http://127.0.0.3:1", NOW_S - 1);
	make_hb(hb_c, sizeof(hb_c), pk_c, 4, "http://127.0.0.4:1", NOW_S);

	o.n_seeds = 0;
	is_int(dmp_node_disc_new(&d, n, &o), DMP_EINVAL, "no seed: EINVAL");
	o.n_seeds = 1;
	o.seeds = bad_seeds;
	is_int(dmp_node_disc_new(&d, n, &o), DMP_EINVAL,
	       "bad seed zone: EINVAL");
	o.seeds = seeds;
	o.expiry_s = 0;
	is_int(dmp_node_disc_new(&d, n, &o), DMP_EINVAL, "zero expiry: EINVAL");
	o.expiry_s = EXPIRY;
	is_int(dmp_node_disc_new(&d, n, &o), 0, "prepared");
	if (!d) {
		dmp_node_free(n);
		return done_testing();
	}

	/* Heartbeat name: A, junk, ourselves; seen: B and an older A. */
	v0[0] = hb_a;
	v0[1] = junk;
	v0[2] = hb_self;
	v1[0] = hb_b;
	v1[1] = hb_a_old;
	answer(&res[0], v0, l0, 3);
	answer(&res[1], v1, l1, 2);
	is_int(dmp_node_disc_ingest(d, names, res, 2, NOW_S), 2,
	       "ingest: A and B taken");
	is_int((long long)dmp_node_disc_count(d), 2,
	       "ingest: ours and the older A are not peers");
	dmp_node_disc_stats(n, &known, &expired, &rejected);
	ok(known == 2 && rejected == 1 && expired == 0,
	   "stats: 2 known, 1 rejected (%llu %llu %llu)",
	   (unsigned long long)known, (unsigned long long)rejected,
	   (unsigned long long)expired);
	res[0].err = DMP_ETIMEDOUT; /* a failed query's values are not read */
	is_int(dmp_node_disc_ingest(d, names, res, 1, NOW_S), 0,
	       "ingest: a failed name gives nothing");

	is_int(dmp_node_disc_publish(d, NOW_MS), 2, "publish: two peers");
	is_int(ancount(n, "_dnsmesh-seen." ZONE, NOW_MS), 2,
	       "publish: two values at _dnsmesh-seen");
	is_int(dmp_node_disc_publish(d, NOW_MS + 1000), 2,
	       "publish again: replaced, not added");
	is_int(ancount(n, "_dnsmesh-seen." ZONE, NOW_MS + 1000), 2,
	       "publish again: still two values");

	/* A seen list of another round adds C. */
	v1[0] = hb_c;
	answer(&res[1], v1, l1, 1);
	is_int(dmp_node_disc_ingest(d, names + 1, res + 1, 1, NOW_S), 1,
	       "ingest: C taken");
	is_int((long long)dmp_node_disc_count(d), 3, "three peers");

	/* B (ts - 1) and C (ts) stay, A (ts - 5) is past the expiry. */
	is_int(dmp_node_disc_publish(d, (NOW_S + EXPIRY - 2) * 1000), 2,
	       "expiry: A dropped");
	dmp_node_disc_stats(n, &known, &expired, &rejected);
	ok(known == 2 && expired == 1, "stats: 2 known, 1 expired");
	is_int(dmp_node_disc_publish(d, (NOW_S + EXPIRY + 10) * 1000), 0,
	       "expiry: all dropped");
	is_int(ancount(n, "_dnsmesh-seen." ZONE, (NOW_S + EXPIRY + 10) * 1000),
	       0, "expiry: the seen list is empty");
	dmp_node_disc_free(d);
	d = NULL;

	/* A table of two: the oldest heartbeat gives way to a newer one. */
	o.max_peers = 2;
	if (dmp_node_disc_new(&d, n, &o) == 0) {
		v0[0] = hb_a;
		v0[1] = hb_b;
		v0[2] = hb_c;
		answer(&res[0], v0, l0, 3);
		(void)dmp_node_disc_ingest(d, names, res, 1, NOW_S);
		is_int((long long)dmp_node_disc_count(d), 2,
		       "bound: two peers kept");
		is_int(dmp_node_disc_publish(d, NOW_MS), 2,
		       "bound: the two newest published");
	}
	dmp_node_disc_free(d);
	dmp_node_disc_free(NULL);
	dmp_node_free(n);
	return done_testing();
}
