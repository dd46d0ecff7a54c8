/*
 * tests/unit/test_node_hb.c - what dmp-node used to do itself and the node
 * library now does: the operator key file, the heartbeat it signs and
 * publishes (PROTOCOL.md 8), mesh discovery (the peer table and the seen
 * list), and minting TSIG keys for `key add`.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/node.h"
#include "dmp/resolver.h"
#include "dmp/txt.h"
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

static void test_opkey(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t pk2[32], sk2[64];
	struct stat sb;
	FILE *f;

	unlink(path);
	is_int(dmp_node_opkey_load(path, pk, sk), 0, "opkey: created");
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	       sb.st_size == 65,
	   "opkey: 0600, 64 hex digits and a newline");
	is_int(dmp_node_opkey_load(path, pk2, sk2), 0, "opkey: read back");
	ok(memcmp(pk, pk2, 32) == 0 && memcmp(sk, sk2, 64) == 0,
	   "opkey: same key the second time");
	f = fopen(path, "w");
	if (f) {
		fputs("not hex\n", f);
		fclose(f);
	}
	is_int(dmp_node_opkey_load(path, pk2, sk2), DMP_EMALFORMED,
	       "opkey: garbage refused");
	unlink(path);
}

/* Ask @p n for TXT at @p name: the reply in @p r, its length, and the
 * end of the question in @p qend. */
static int ask(struct dmp_node *n, const char *name, uint64_t now_ms,
	       uint8_t *r, size_t cap, size_t *qend)
{
	uint8_t q[300];
	size_t off = 12;
	int len;

	memset(q, 0, 12);
	q[0] = 0x12;
	q[5] = 1; /* QDCOUNT */
	for (const char *p = name; *p;) {
		size_t l = strcspn(p, ".");

		q[off++] = (uint8_t)l;
		memcpy(q + off, p, l);
		off += l;
		p += l + (p[l] == '.');
	}
	q[off++] = 0;
	q[off++] = 0;
	q[off++] = 16; /* TXT */
	q[off++] = 0;
	q[off++] = 1;
	len = dmp_node_handle(n, q, off, DMP_NODE_TCP, NULL, r, cap, now_ms);
	*qend = off;
	return len;
}

/* ANCOUNT of the TXT answer at @p name, or -1. */
static int ancount(struct dmp_node *n, const char *name, uint64_t now_ms)
{
	uint8_t r[8192];
	size_t qend;
	int len = ask(n, name, now_ms, r, sizeof(r), &qend);

	return len < 12 ? -1 : (r[6] << 8 | r[7]);
}

/* The one TXT value at @p name, joined, or -1. */
static int txt_value(struct dmp_node *n, const char *name, char *out,
		     size_t cap)
{
	uint8_t r[4096];
	size_t off, vlen;
	int len = ask(n, name, NOW_MS, r, sizeof(r), &off);

	/* One answer: c0 0c, type, class, ttl, rdlength, rdata. */
	if (len < (int)off + 12 || r[7] != 1) {
		return -1;
	}
	off += 10;
	vlen = (size_t)r[off] << 8 | r[off + 1];
	if (off + 2 + vlen > (size_t)len ||
	    dmp_txt_join(out, cap, &vlen, r + off + 2, vlen) != 0) {
		return -1;
	}
	return (int)vlen;
}

static void test_heartbeat(struct dmp_node *n, const uint8_t pk[32],
			   const uint8_t sk[64])
{
	struct dmp_node_hb_opts o = {
	    .endpoint = "http://127.0.0.1:8053",
	    .operator_pk = pk,
	    .operator_sk = sk,
	    .interval_s = 300,
	    .allow_loopback = 1,
	    .claim_provider = 1,
	};
	struct dmp_node_hb *hb = NULL;
	struct dmp_heartbeat v;
	char val[2048];
	int len;

	is_int(dmp_node_hb_new(&hb, n, &o), 0, "heartbeat: prepared");
	if (!hb) {
		return;
	}
	is_int(dmp_node_hb_tick(hb, NOW_MS), 1,
	       "heartbeat: first tick "
	       "publishes");
	len = txt_value(n, "_dnsmesh-heartbeat." ZONE, val, sizeof(val));
	ok(len > 0, "heartbeat: served over DNS");
	is_int(dmp_heartbeat_parse(&v, val, len > 0 ? (size_t)len : 0,
				   NOW_MS / 1000, DMP_HEARTBEAT_ALLOW_LOOPBACK),
	       0, "heartbeat: verifies");
	ok(memcmp(v.operator_spk, pk, 32) == 0 &&
	       strcmp(v.endpoint, o.endpoint) == 0 &&
	       (v.capabilities & DMP_HEARTBEAT_CAP_CLAIM_PROVIDER) &&
	       strcmp(v.zone, ZONE) == 0 && v.ts == NOW_MS / 1000,
	   "heartbeat: key, endpoint, claim zone and time");
	is_int(dmp_node_hb_tick(hb, NOW_MS + 299999), 0,
	       "heartbeat: not again within the interval");
	is_int(dmp_node_hb_tick(hb, NOW_MS + 300000), 1,
	       "heartbeat: again after it");
	dmp_node_hb_free(hb);
	o.allow_loopback = 0;
	is_int(dmp_node_hb_new(&hb, n, &o), 0, "heartbeat: strict prepared");
	ok(hb && dmp_node_hb_tick(hb, NOW_MS) < 0,
	   "heartbeat: loopback endpoint refused when strict");
	dmp_node_hb_free(hb);
	o.endpoint = "";
	is_int(dmp_node_hb_new(&hb, n, &o), DMP_EINVAL,
	       "heartbeat: no endpoint, EINVAL");
	dmp_node_hb_free(NULL);
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

/* PROTOCOL.md 8: at most 20 values of one answer are read. */
static void test_disc_per_answer(struct dmp_node *n,
				 struct dmp_node_disc_opts *o)
{
	static char hbs[25][1024];
	const char *name = "_dnsmesh-seen.peer.test";
	struct dmp_node_disc *d = NULL;
	struct dmp_resolver_result res;
	char *v[25], ep[64];
	size_t lens[25];
	uint8_t pk[32];

	for (int i = 0; i < 25; i++) {
		snprintf(ep, sizeof(ep), "http://127.0.1.%d:1", i + 1);
		make_hb(hbs[i], sizeof(hbs[i]), pk, (uint8_t)(10 + i), ep,
			NOW_S);
		v[i] = hbs[i];
	}
	answer(&res, v, lens, 25);
	o->max_peers = 64;
	if (!ok(dmp_node_disc_new(&d, n, o) == 0, "per answer: prepared")) {
		return;
	}
	is_int(dmp_node_disc_ingest(d, &name, &res, 1, NOW_S),
	       DMP_NODE_DISC_PER_ANSWER, "per answer: the first 20 read");
	dmp_node_disc_free(d);
}

/* Mesh discovery (node_discovery.c) without sockets: answers built here
 * are ingested, published at _dnsmesh-seen and read back; expiry empties
 * the name. */
static void test_discovery(struct dmp_node *n)
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
		return;
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
	test_disc_per_answer(n, &o);
}

static void key_cb(const char *name, const char *alg, const char *scopes,
		   uint64_t created, void *ud)
{
	(void)alg;
	(void)created;
	snprintf(ud, 300, "%s %s", name, scopes);
}

static void test_key_mint(struct dmp_node *n)
{
	const char *scopes[] = {"Chunk-*-*.mesh.test"};
	char line[400], listed[300] = "", name[300];
	uint8_t secret[64];
	const char *b64;
	size_t slen = 0;
	int rc;

	rc = dmp_node_key_mint(n, "Alice.Mesh.Test.", scopes, 1, line,
			       sizeof(line), NOW_MS);
	is_int(rc, 0, "key mint: ok");
	ok(strncmp(line, "hmac-sha256:alice.mesh.test:", 28) == 0,
	   "key mint: name lower-cased, no dot: %s", line);
	b64 = strrchr(line, ':') + 1;
	ok(dmp_b64_decode(secret, sizeof(secret), &slen, b64, strlen(b64)) ==
		   0 &&
	       slen == 32,
	   "key mint: 32-byte secret");
	(void)dmp_node_key_list(n, key_cb, listed);
	snprintf(name, sizeof(name), "alice.mesh.test chunk-*-*.mesh.test");
	is_str(listed, name, "key mint: stored with its scope");
	is_int(dmp_node_key_mint(n, "bob.mesh.test", scopes, 0, line,
				 sizeof(line), NOW_MS),
	       DMP_EINVAL, "key mint: no scope, EINVAL");
	is_int(dmp_node_key_mint(n, "carol.mesh.test", scopes, 1, line, 10,
				 NOW_MS),
	       DMP_ENOBUFS, "key mint: short buffer, ENOBUFS");
}

int main(void)
{
	char path[64];
	uint8_t pk[32], sk[64];
	struct dmp_node *n;

	plan(44);
	snprintf(path, sizeof(path), "/tmp/test_node_hb_%d.key", (int)getpid());
	test_opkey(path, pk, sk);
	n = open_node();
	if (!ok(n != NULL, "node opens")) {
		return done_testing();
	}
	test_heartbeat(n, pk, sk);
	test_discovery(n);
	test_key_mint(n);
	dmp_node_free(n);
	return done_testing();
}
