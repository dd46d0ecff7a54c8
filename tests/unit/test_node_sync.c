/*
 * tests/unit/test_node_sync.c - cluster anti-entropy (PROTOCOL.md 7.6):
 * the cursor and the digest/pull JSON codec, the check of pulled values,
 * and the worker against a second in-process node whose HTTP side is
 * reached through dmp_node_http_dispatch(): diff, pulls, the per-tick
 * bound, the cursor kept in sqlite across a new handle, ttl refreshes,
 * and a peer that answers with names it was not asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <jansson.h>

#include "dmp/claim.h"
#include "dmp/cluster.h"
#include "dmp/record.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "node/node_i.h"
#include "node/node_sync_i.h"
#include "tap.h"

#define T2030 1893456000ULL
#define TOKEN "t0ken"
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static uint64_t clock_ms = T2030 * 1000;

static uint64_t fake_now(void *ud)
{
	(void)ud;
	return clock_ms;
}

static struct dmp_node *mk_node(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "mesh.test");
	o.n_zones = 1;
	return dmp_node_new(&n, &o, clock_ms) == 0 ? n : NULL;
}

/* The peer: its HTTP side called in-process; lie adds an unrequested
 * record to every pull answer. */
struct peer {
	struct dmp_node_http *h;
	int lie;
	unsigned calls;
};

static int fake_http(void *ud, const char *url, const char *token,
		     const char *body, char **resp, size_t *resp_len,
		     unsigned timeout_ms)
{
	struct peer *p = ud;
	char path[512], auth[160];
	const char *q, *ctype;
	const char *u = strstr(url, "/v1/");
	struct dmp_node_http_req rq;
	int st;

	(void)timeout_ms;
	p->calls++;
	snprintf(path, sizeof(path), "%s", u ? u : "/");
	q = strchr(path, '?');
	if (q) {
		path[q - path] = 0;
		q = strchr(u, '?') + 1;
	}
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	memset(&rq, 0, sizeof(rq));
	rq.method = body ? "POST" : "GET";
	rq.path = path;
	rq.query = q;
	rq.authorization = auth;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	st = dmp_node_http_dispatch(p->h, &rq, resp, resp_len, &ctype);
	if (p->lie == 2 && !body && st == 200) {
		char *nb = NULL;

		/* An entry stamped a year ahead, and its next_cursor. */
		if (asprintf(&nb,
			     "{\"records\":[{\"name\":\"f.mesh.test\","
			     "\"hash\":\"" H64 "\",\"ts\":%llu,\"ttl\":60}],"
			     "\"has_more\":false,\"next_cursor\":\"%llu:f."
			     "mesh.test:" H64 "\"}",
			     (unsigned long long)clock_ms + 31536000000ULL,
			     (unsigned long long)clock_ms + 31536000000ULL) <
		    0) {
			return DMP_ENOMEM;
		}
		free(*resp);
		*resp = nb;
		*resp_len = strlen(nb);
	}
	if (p->lie == 1 && body && st == 200) {
		char *nb = NULL;

		if (asprintf(&nb, "{\"records\":[{\"name\":\"evil.mesh.test\","
				  "\"value\":\"planted\",\"ttl\":60}]}") < 0) {
			return DMP_ENOMEM;
		}
		free(*resp);
		*resp = nb;
		*resp_len = strlen(nb);
	}
	return st;
}

static void test_cursor(void)
{
	struct ns_cursor c, d;
	char buf[NS_CURSOR_TEXT];
	static const char *const bad[] = {"",
					  ":",
					  "x:a",
					  "1:a b",
					  "1:a:zz",
					  "12345678901234567890:a",
					  "1:a:" H64 "0"};

	ok(dmp_ns_cursor_parse(&c, "123:a.b:" H64, strlen("123:a.b:" H64)) == 0,
	   "cursor ts:name:hash parses");
	ok(c.ts == 123 && strcmp(c.name, "a.b") == 0 &&
	       strcmp(c.hash, H64) == 0,
	   "its fields");
	ok(dmp_ns_cursor_parse(&d, "5:", 2) == 0 && d.ts == 5 && !d.name[0],
	   "ts: alone is the start of that millisecond");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(dmp_ns_cursor_parse(&d, bad[i], strlen(bad[i])) ==
		       DMP_EMALFORMED,
		   "bad cursor '%s' refused", bad[i]);
	}
	dmp_ns_cursor_fmt(&c, buf, sizeof(buf));
	is_str(buf, "123:a.b:" H64, "cursor formats back");
	ok(dmp_ns_cursor_parse(&d, "123:a.b:", 8) == 0 &&
	       dmp_ns_cursor_cmp(&d, &c) < 0,
	   "empty hash sorts first");
	ok(dmp_ns_cursor_parse(&d, "124:a", 5) == 0 &&
	       dmp_ns_cursor_cmp(&d, &c) > 0,
	   "a later ts sorts after");
}

static void test_digest_json(void)
{
	struct ns_digest d;
	uint64_t now = T2030 * 1000;
	const char *good =
	    "{\"records\":["
	    "{\"name\":\"a.mesh.test\",\"hash\":\"" H64
	    "\",\"ts\":5,\"ttl\":60},"
	    "{\"name\":\"b.mesh.test\",\"hash\":\"XYZ\","
	    "\"ts\":6,\"ttl\":60},"
	    "{\"name\":\"c.mesh.test\",\"hash\":\"" H64
	    "\",\"ts\":1993456000000,\"ttl\":60},"
	    "{\"name\":\"d e\",\"hash\":\"" H64 "\",\"ts\":7,\"ttl\":60}],"
	    "\"has_more\":true,\"next_cursor\":\"7:d.x:\"}";

	ok(dmp_ns_digest_parse(&d, good, strlen(good), now) == 0 && d.n == 4,
	   "digest parses, 4 entries");
	ok(d.e && d.e[0].valid && d.e[0].ts == 5 && d.e[0].ttl == 60,
	   "a good entry is valid");
	ok(d.e && !d.e[1].valid && !d.e[2].valid && !d.e[3].valid,
	   "bad hash, ts far ahead, bad name: not valid");
	ok(d.has_more && d.have_next && d.next.ts == 7,
	   "has_more, next_cursor");
	dmp_ns_digest_free(&d);
	ok(dmp_ns_digest_parse(&d, "nope", 4, now) == DMP_EMALFORMED,
	   "not JSON refused");
	ok(dmp_ns_digest_parse(&d, "{\"records\":{}}", 14, now) ==
	       DMP_EMALFORMED,
	   "records not an array refused");
}

static void test_pull_json(void)
{
	struct ns_pulled *p = NULL;
	size_t n = 0;
	char names[NS_PULL_MAX][NS_NAME_MAX + 1];
	const char *const in[] = {"A.Mesh.Test.", "b.mesh.test"};
	char *req;
	const char *good = "{\"records\":[{\"name\":\"a.mesh.test\","
			   "\"value\":\"v1\",\"ttl\":30}]}";
	const char *badttl = "{\"records\":[{\"name\":\"a.mesh.test\","
			     "\"value\":\"v1\",\"ttl\":-1}]}";
	const char *badval = "{\"records\":[{\"name\":\"a.mesh.test\","
			     "\"value\":5,\"ttl\":1}]}";

	ok(dmp_ns_pull_parse(&p, &n, good, strlen(good), 4) == 0 && n == 1,
	   "pull answer parses");
	ok(p && strcmp(p[0].name, "a.mesh.test") == 0 &&
	       strcmp(p[0].value, "v1") == 0 && p[0].ttl == 30,
	   "its record");
	dmp_ns_pulled_free(p, n);
	ok(dmp_ns_pull_parse(&p, &n, badttl, strlen(badttl), 4) ==
	       DMP_EMALFORMED,
	   "negative ttl refused");
	ok(dmp_ns_pull_parse(&p, &n, badval, strlen(badval), 4) ==
	       DMP_EMALFORMED,
	   "value not a string refused");
	ok(dmp_ns_pull_parse(&p, &n, good, strlen(good), 0) == DMP_ETOOBIG,
	   "more records than allowed refused");
	req = dmp_ns_pull_request(in, 2);
	ok(req && dmp_ns_pull_request_parse(req, strlen(req), names) == 2,
	   "pull request round trip");
	ok(strcmp(names[0], "a.mesh.test") == 0 &&
	       strcmp(names[1], "b.mesh.test") == 0,
	   "names lower-cased, trailing dot dropped");
	free(req);
}

static void test_verify(void)
{
	uint8_t pk[32], sk[64];
	struct dmp_claim c;
	char wire[300];
	uint64_t now = T2030;

	ok(dmp_ns_verify("txt.mesh.test", "hello", 5, NULL, now) == 0,
	   "plain text at a plain name is fine");
	ok(dmp_ns_verify("slot-3.mb-0a1b.mesh.test", "hello", 5, NULL, now) < 0,
	   "plain text at a slot name refused");
	ok(dmp_ns_verify("x.mesh.test", "v=dmp9;t=x", 10, NULL, now) < 0,
	   "unknown v=dmp refused");
	ok(dmp_ns_verify("x.mesh.test", "v=dmp1;t=heartbeat;QUJD", 23, NULL,
			 now) < 0,
	   "heartbeats are not synced");
	ok(dmp_ns_verify("slot-1.mb-ab.mesh.test",
			 "v=dmp1;t=manifest;d=QUJDQUJD", 28, NULL, now) < 0,
	   "forged manifest refused");
	crypto_sign_keypair(pk, sk);
	memset(&c, 0, sizeof(c));
	memcpy(c.sender_spk, pk, 32);
	snprintf(c.sender_mailbox_domain, sizeof(c.sender_mailbox_domain),
		 "mesh.test");
	c.domain_len = 9;
	c.ts = now - 10;
	c.exp = now + 600;
	ok(dmp_claim_sign_encode(wire, sizeof(wire), &c, sk) > 0 &&
	       dmp_ns_verify("claim-1.mb-ab.mesh.test", wire, strlen(wire),
			     NULL, now) == 0,
	   "a signed claim passes");
	ok(dmp_ns_verify("claim-1.mb-ab.mesh.test", wire, strlen(wire), NULL,
			 now + 700) == DMP_EEXPIRED,
	   "the same claim once expired is refused");
}

/* HTTP (with the sync endpoints) on @p a, for struct peer. */
static int http_on(struct dmp_node *a, struct dmp_node_http **h)
{
	struct dmp_node_http_opts ho;

	dmp_node_http_opts_init(&ho);
	ho.now_ms = fake_now;
	ho.rate = 0;
	snprintf(ho.sync_token, sizeof(ho.sync_token), TOKEN);
	return a ? dmp_node_http_new(h, a, &ho) : DMP_EINVAL;
}

/* Sync options for one peer reached through fake_http. */
static void sync_to(struct dmp_node_sync_opts *so, struct peer *peer,
		    uint32_t max_per_tick)
{
	snprintf(so->token, sizeof(so->token), TOKEN);
	snprintf(so->peers[0], sizeof(so->peers[0]), "http://a.test:1");
	so->n_peers = 1;
	so->max_per_tick = max_per_tick;
	so->http = fake_http;
	so->http_ud = peer;
	so->now_ms = fake_now;
}

static void test_worker(void)
{
	struct dmp_node *a = mk_node(), *b = mk_node();
	struct dmp_node_http *h = NULL;
	struct dmp_node_sync_opts so;
	struct dmp_node_sync *s = NULL;
	struct peer peer = {0};
	struct ns_cursor cur;
	uint64_t rej[DMP_NODE_SYNC_REASON_MAX], stored;
	char name[64], val[16];
	int r1, r2, r3, r4;
	uint64_t ts0;

	ok(b && http_on(a, &h) == 0, "two nodes, HTTP on A");
	if (!h) {
		skip(10, "no node");
		dmp_node_free(a);
		dmp_node_free(b);
		return;
	}
	peer.h = h;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "n%02d.mesh.test", i);
		snprintf(val, sizeof(val), "v%d", i);
		(void)!dmp_node_put(a, name, val, 600, 0,
				    clock_ms + (uint64_t)i);
	}
	dmp_node_sync_opts_init(&so);
	ok(dmp_node_sync_new(&s, b, &so, 0) == DMP_EINVAL,
	   "no token, no peers: EINVAL");
	sync_to(&so, &peer, 5);
	ok(dmp_node_sync_new(&s, b, &so, 0) == 0, "sync handle for B");
	r1 = dmp_node_sync_tick(s);
	r2 = dmp_node_sync_tick(s);
	r3 = dmp_node_sync_tick(s);
	r4 = dmp_node_sync_tick(s);
	ok(r1 == 5 && r2 == 5 && r3 == 2 && r4 == 0,
	   "12 values in ticks of at most 5: %d %d %d %d", r1, r2, r3, r4);
	pthread_mutex_lock(&b->wlock);
	ok(dmp_st_cursor_get(b->db, "http://a.test:1", &cur) == 1 &&
	       strcmp(cur.name, "n11.mesh.test") == 0,
	   "cursor kept in sqlite, at the last entry (%s)", cur.name);
	pthread_mutex_unlock(&b->wlock);
	dmp_node_sync_free(s);
	s = NULL;
	ok(dmp_node_sync_new(&s, b, &so, 0) == 0 && dmp_node_sync_tick(s) == 0,
	   "a new handle resumes from the stored cursor: nothing to pull");
	/* A ttl refresh at A (same value, later stored_ts, longer ttl). */
	clock_ms += 100000;
	(void)!dmp_node_put(a, "n03.mesh.test", "v3", 3600, 0, clock_ms);
	ok(dmp_node_sync_tick(s) == 1, "a ttl refresh is pulled again");
	(void)!dmp_node_put(a, "n04.mesh.test", "v4", 3600, 0, clock_ms);
	r1 = (int)peer.calls;
	(void)!dmp_node_put(b, "n04.mesh.test", "v4", 3600, 0, clock_ms);
	ok(dmp_node_sync_tick(s) == 0 && peer.calls == (unsigned)r1 + 1,
	   "a value held with the same ttl is not pulled (digest only)");
	/* A lying peer: unrequested names in its pull answers. */
	clock_ms += 1000;
	(void)!dmp_node_put(a, "n05.mesh.test", "v5b", 600, 0, clock_ms);
	peer.lie = 1;
	ok(dmp_node_sync_tick(s) == 0, "nothing stored from a liar");
	dmp_node_sync_counts(b, rej, &stored);
	ok(rej[DMP_NODE_SYNC_UNREQUESTED] == 1 && stored == 13,
	   "unrequested counted (%llu), stored %llu",
	   (unsigned long long)rej[DMP_NODE_SYNC_UNREQUESTED],
	   (unsigned long long)stored);
	/* A digest entry from the future neither is pulled nor moves the
	 * cursor. */
	peer.lie = 2;
	pthread_mutex_lock(&b->wlock);
	(void)!dmp_st_cursor_get(b->db, "http://a.test:1", &cur);
	pthread_mutex_unlock(&b->wlock);
	ts0 = cur.ts;
	ok(dmp_node_sync_tick(s) == 0, "future digest entry: nothing pulled");
	dmp_node_sync_counts(b, rej, &stored);
	pthread_mutex_lock(&b->wlock);
	(void)!dmp_st_cursor_get(b->db, "http://a.test:1", &cur);
	pthread_mutex_unlock(&b->wlock);
	ok(rej[DMP_NODE_SYNC_BAD_DIGEST] == 1 && cur.ts == ts0,
	   "counted as bad_digest, cursor where it was");
	/* Wrong token: the peer answers 403, counted as unreachable. */
	peer.lie = 0;
	snprintf(so.token, sizeof(so.token), "wrong");
	dmp_node_sync_free(s);
	s = NULL;
	ok(dmp_node_sync_new(&s, b, &so, 0) == 0 &&
	       dmp_node_sync_tick(s) == DMP_EUNREACHABLE,
	   "wrong token: refused");
	dmp_node_sync_free(s);
	dmp_node_http_free(h);
	dmp_node_free(a);
	dmp_node_free(b);
}

/* Several values at one name (a mailbox slot) spread over digest pages:
 * a pull by that name brings the values of other pages too, and those are
 * neither stored from it nor counted as a lie. */
static void test_values_across_pages(void)
{
	struct dmp_node *a = mk_node(), *b = mk_node();
	struct dmp_node_http *h = NULL;
	struct dmp_node_sync_opts so;
	struct dmp_node_sync *s = NULL;
	struct peer peer = {0};
	uint64_t rej[DMP_NODE_SYNC_REASON_MAX], stored;
	char name[64];
	int ticks = 0, total = 0, r;

	if (!b || http_on(a, &h) != 0) {
		skip(2, "no node");
		dmp_node_free(a);
		dmp_node_free(b);
		return;
	}
	peer.h = h;
	/* many.mesh.test: one value first, one after 20 others. */
	(void)!dmp_node_put(a, "many.mesh.test", "first", 600, 0, clock_ms);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%02d.mesh.test", i);
		(void)!dmp_node_put(a, name, "x", 600, 0,
				    clock_ms + 1 + (uint64_t)i);
	}
	(void)!dmp_node_put(a, "many.mesh.test", "last", 600, 0, clock_ms + 30);
	dmp_node_sync_opts_init(&so);
	sync_to(&so, &peer, 5); /* pages of 16 entries */
	if (dmp_node_sync_new(&s, b, &so, 0) == 0) {
		while (ticks++ < 20 && (r = dmp_node_sync_tick(s)) > 0) {
			total += r;
		}
	}
	dmp_node_sync_counts(b, rej, &stored);
	ok(total == 22 && stored == 22, "all 22 values in %d ticks (%d)", ticks,
	   total);
	ok(rej[DMP_NODE_SYNC_HASH_MISMATCH] == 0,
	   "values of other pages at an asked name: no hash_mismatch (%llu)",
	   (unsigned long long)rej[DMP_NODE_SYNC_HASH_MISMATCH]);
	dmp_node_sync_free(s);
	dmp_node_http_free(h);
	dmp_node_free(a);
	dmp_node_free(b);
}

/* A cluster manifest listing nodes a and b, seq @p seq. */
static int manifest(char *wire, size_t cap, uint64_t seq, const uint8_t *pk,
		    const uint8_t *sk)
{
	struct dmp_cluster c;

	memset(&c, 0, sizeof(c));
	c.seq = seq;
	c.exp = T2030 + 86400;
	memcpy(c.operator_spk, pk, 32);
	snprintf(c.name, sizeof(c.name), "mesh.test");
	c.node_count = 2;
	snprintf(c.nodes[0].node_id, sizeof(c.nodes[0].node_id), "a");
	snprintf(c.nodes[0].http_endpoint, sizeof(c.nodes[0].http_endpoint),
		 "http://a.test:1");
	snprintf(c.nodes[1].node_id, sizeof(c.nodes[1].node_id), "b");
	snprintf(c.nodes[1].http_endpoint, sizeof(c.nodes[1].http_endpoint),
		 "http://b.test:1");
	return dmp_cluster_sign(wire, cap, &c, sk);
}

static int seq_of(struct dmp_node_http *h)
{
	struct peer p = {h, 0, 0};
	char *resp = NULL;
	size_t rl = 0;
	json_t *j;
	int st = fake_http(&p, "http://x/v1/sync/cluster-manifest", TOKEN, NULL,
			   &resp, &rl, 0);
	int seq = -st;

	j = st == 200 ? json_loadb(resp, rl, 0, NULL) : NULL;
	if (j) {
		seq = (int)json_integer_value(json_object_get(j, "seq"));
	}
	json_decref(j);
	free(resp);
	return seq;
}

/* Peers from the signed manifest, and a newer one from a peer installed. */
static void test_cluster(void)
{
	struct dmp_node *a = mk_node(), *b = mk_node();
	struct dmp_node_http_opts ho;
	struct dmp_node_http *ha = NULL, *hb = NULL;
	struct dmp_node_sync_opts so;
	struct dmp_node_sync *s = NULL;
	struct peer peer = {0};
	uint8_t pk[32], sk[64];
	char w1[DMP_RECORD_WIRE_MAX + 1], w2[DMP_RECORD_WIRE_MAX + 1];

	crypto_sign_keypair(pk, sk);
	dmp_node_http_opts_init(&ho);
	ho.now_ms = fake_now;
	ho.rate = 0;
	snprintf(ho.sync_token, sizeof(ho.sync_token), TOKEN);
	snprintf(ho.sync_cluster, sizeof(ho.sync_cluster), "mesh.test");
	ho.have_sync_op_spk = 1;
	memcpy(ho.sync_op_spk, pk, 32);
	ok(a && b && dmp_node_http_new(&ha, a, &ho) == 0 &&
	       dmp_node_http_new(&hb, b, &ho) == 0 &&
	       manifest(w1, sizeof(w1), 1, pk, sk) > 0 &&
	       manifest(w2, sizeof(w2), 2, pk, sk) > 0 &&
	       dmp_node_put(b, "cluster.mesh.test", w1, 3600, 1, clock_ms) ==
		   0 &&
	       dmp_node_put(a, "cluster.mesh.test", w2, 3600, 1, clock_ms) ==
		   0 &&
	       dmp_node_put(a, "x.mesh.test", "from a", 3600, 0, clock_ms) == 0,
	   "A holds manifest seq 2 and a value, B seq 1");
	ok(seq_of(hb) == 1 && seq_of(ha) == 2,
	   "/v1/sync/cluster-manifest serves each node's");
	peer.h = ha;
	dmp_node_sync_opts_init(&so);
	snprintf(so.token, sizeof(so.token), TOKEN);
	snprintf(so.cluster, sizeof(so.cluster), "mesh.test");
	snprintf(so.self_id, sizeof(so.self_id), "b");
	so.http = fake_http;
	so.http_ud = &peer;
	so.now_ms = fake_now;
	ok(dmp_node_sync_new(&s, b, &so, 0) == DMP_EINVAL,
	   "a cluster without the operator key: EINVAL");
	so.have_op_spk = 1;
	memcpy(so.op_spk, pk, 32);
	ok(dmp_node_sync_new(&s, b, &so, 0) == 0 && dmp_node_sync_tick(s) >= 1,
	   "B syncs with A, the one other node of its manifest");
	ok(seq_of(hb) == 2, "and installed A's newer manifest");
	dmp_node_sync_free(s);
	dmp_node_http_free(ha);
	dmp_node_http_free(hb);
	dmp_node_free(a);
	dmp_node_free(b);
}

int main(void)
{
	plan(53);
	if (dmp_init() < 0) {
		return 1;
	}
	test_cursor();
	test_digest_json();
	test_pull_json();
	test_verify();
	test_worker();
	test_values_across_pages();
	test_cluster();
	return done_testing();
}
