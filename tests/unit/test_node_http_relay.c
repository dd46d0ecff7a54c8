/*
 * tests/unit/test_node_http_relay.c - POST /v1/relay through
 * dmp_node_http_dispatch_ex() (docs/protocol.md 8.7.2-8.7.3) on a node
 * with an in-memory store and a fixed clock: the options refused out of
 * range, each check of 8.7.2's order with its status (405, 403 disabled,
 * 429 per source with Retry-After, 413, 400, 403 hops and loop, 208
 * duplicate, 403 verify, 429 per sender, 503 no route), the destination
 * (200 stored whole, relay_accept own/any/off, the sender's byte quota
 * 507, a record expired on the way) and the /metrics lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/names.h"
#include "dmp/node.h"
#include "dmp/pipeline.h"
#include "dmp/relay.h"
#include "tap.h"

#define ZONE "relay.example"
#define NOW 1893456000ULL /* 2030-01-01 */
#define FP "00112233445566aa"

static uint64_t clock_ms = NOW * 1000;
static struct dmp_codec *codec;
static struct dmp_keys *snd, *rcp;

static uint64_t fake_now(void *ud)
{
	(void)ud;
	return clock_ms;
}

static void die(const char *what)
{
	fprintf(stderr, "test_node_http_relay: %s\n", what);
	abort();
}

struct resp {
	int status;
	char *body;
	size_t len;
	const char *ctype;
	unsigned retry;
};

static int call(struct dmp_node_http *h, struct resp *r, const char *method,
		const struct sockaddr *peer, const char *body)
{
	struct dmp_node_http_req rq = {method,
				       "/v1/relay",
				       NULL,
				       NULL,
				       peer,
				       body,
				       body ? strlen(body) : 0,
				       NULL};

	free(r->body);
	memset(r, 0, sizeof(*r));
	r->status = dmp_node_http_dispatch_ex(h, &rq, &r->body, &r->len,
					      &r->ctype, &r->retry);
	return r->status;
}

static int has(const struct resp *r, const char *s)
{
	return r->body && strstr(r->body, s) != NULL;
}

/* One message from snd to rcp as a bundle body for @p zone; @p tweak
 * changes it before it is encoded (NULL: none). */
static char *message(uint8_t id0, const char *zone,
		     void (*tweak)(struct dmp_relay_bundle *))
{
	static uint8_t text[600];
	uint8_t msg_id[DMP_MSG_ID_BYTES] = {0};
	struct dmp_send_params p;
	struct dmp_send_result m;
	struct dmp_relay_bundle b;
	char *out = NULL;
	size_t len;

	msg_id[0] = id0;
	memset(text, 'r', sizeof(text));
	memset(&p, 0, sizeof(p));
	p.sender = snd;
	p.recipient_x25519_pk = dmp_keys_x25519_pk(rcp);
	p.msg_id = msg_id;
	p.ts = (int64_t)NOW - 60;
	p.ttl = 86400;
	p.zone = zone;
	p.plaintext = text;
	p.len = sizeof(text);
	if (dmp_pipeline_send(codec, &p, &m) != 0) {
		die("send pipeline");
	}
	memset(&b, 0, sizeof(b));
	snprintf(b.zone, sizeof(b.zone), "%s", zone);
	b.max_hops = 5;
	b.records = dmp_calloc(m.n_records, sizeof(*b.records));
	if (!b.records) {
		die("out of memory");
	}
	for (size_t i = 0; i < m.n_records; i++) {
		struct dmp_relay_record *r = &b.records[i];

		if (strlen(m.records[i].name) >= sizeof(r->name)) {
			die("name too long");
		}
		memcpy(r->name, m.records[i].name,
		       strlen(m.records[i].name) + 1);
		r->vlen = strlen(m.records[i].value);
		r->value = dmp_malloc(r->vlen + 1);
		if (!r->value) {
			die("out of memory");
		}
		memcpy(r->value, m.records[i].value, r->vlen + 1);
		r->ttl = 3600;
		b.n_records++;
	}
	if (tweak) {
		tweak(&b);
	}
	if (dmp_relay_bundle_to_json(&b, &out, &len) != 0) {
		die("to_json");
	}
	dmp_relay_bundle_clear(&b);
	dmp_send_result_clear(&m);
	return out;
}

/* Bytes of values in a bundle body. */
static size_t value_bytes(const char *body)
{
	struct dmp_relay_bundle b;
	size_t sum = 0;

	if (dmp_relay_bundle_parse_json(&b, body, strlen(body),
					DMP_RELAY_BYTES_MAX, NULL, 0) != 0) {
		die("parse");
	}
	for (size_t i = 0; i < b.n_records; i++) {
		sum += b.records[i].vlen;
	}
	dmp_relay_bundle_clear(&b);
	return sum;
}

static void looped(struct dmp_relay_bundle *b)
{
	b->hops = 1;
	b->n_path = 1;
	snprintf(b->path[0], sizeof(b->path[0]), "%s", FP);
}

static void far(struct dmp_relay_bundle *b)
{
	b->hops = 2;
	b->n_path = 2;
	snprintf(b->path[0], sizeof(b->path[0]), "%s", "aaaaaaaaaaaaaaaa");
	snprintf(b->path[1], sizeof(b->path[1]), "%s", "bbbbbbbbbbbbbbbb");
}

static void flipped(struct dmp_relay_bundle *b)
{
	char *v = b->records[0].value; /* chunk 0 */
	size_t pos = b->records[0].vlen / 2;

	v[pos] = v[pos] == 'A' ? 'B' : 'A';
}

static void expired(struct dmp_relay_bundle *b)
{
	b->records[0].ttl = 0;
}

static struct dmp_node *mk_node(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", ZONE);
	o.n_zones = 1;
	return dmp_node_new(&n, &o, clock_ms) == 0 ? n : NULL;
}

static struct dmp_node_http *mk_http(struct dmp_node *n,
				     const struct dmp_node_relay_opts *ro)
{
	struct dmp_node_http_opts o;
	struct dmp_node_http *h = NULL;

	dmp_node_http_opts_init(&o);
	o.now_ms = fake_now;
	o.rate = 0;
	o.relay = *ro;
	return dmp_node_http_new(&h, n, &o) == 0 ? h : NULL;
}

static int metric(struct dmp_node_http *h, const char *line)
{
	struct dmp_node_http_req rq = {"GET", "/metrics", NULL, NULL,
				       NULL,  NULL,	  0,	NULL};
	char *body = NULL;
	size_t len;
	const char *ct;
	int found;

	(void)dmp_node_http_dispatch(h, &rq, &body, &len, &ct);
	found = body && strstr(body, line) != NULL;
	free(body);
	return found;
}

static void test_options(struct dmp_node *n)
{
	struct dmp_node_http_opts o;
	struct dmp_node_http *h = NULL;

	dmp_node_http_opts_init(&o);
	ok(!o.relay.enabled && o.relay.accept == DMP_NODE_RELAY_OWN &&
	       o.relay.max_hops == 5 && o.relay.bundle_bytes == 32768 &&
	       o.relay.sender_bytes == 1048576,
	   "opt: defaults (off, own, 5 hops, 32768, 1 MiB)");
	o.relay.max_hops = 17;
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL, "opt: max_hops 17");
	o.relay.max_hops = 5;
	o.relay.bundle_bytes = 4095;
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL,
	       "opt: bundle_bytes 4095");
	o.relay.bundle_bytes = 32768;
	o.relay.accept = 3;
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL, "opt: accept 3");
	o.relay.accept = DMP_NODE_RELAY_ANY;
	o.relay.sender_rate = 1;
	o.relay.sender_burst = 0.5;
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL, "opt: burst 0.5");
}

static void test_order(struct dmp_node *n)
{
	struct dmp_node_relay_opts ro;
	struct dmp_node_http *h;
	struct resp r = {0};
	struct sockaddr_in peer = {.sin_family = AF_INET};
	char *good = message(1, ZONE, NULL), *body;

	peer.sin_addr.s_addr = htonl(0x7f000009);
	{
		struct dmp_node_http_opts o;

		dmp_node_http_opts_init(&o);
		ro = o.relay;
	}
	h = mk_http(n, &ro);
	if (!ok(h != NULL, "ord: disabled handle")) {
		free(good);
		return;
	}
	is_int(call(h, &r, "GET", NULL, NULL), 405, "ord: GET is 405");
	is_int(call(h, &r, "POST", NULL, good), 403, "ord: relay off is 403");
	ok(has(&r, "\"reason\":\"relay disabled\""),
	   "ord: says relay disabled");
	ok(metric(h, "dmp_relay_dropped_total{reason=\"disabled\"} 1"),
	   "ord: counted disabled");
	dmp_node_http_free(h);

	ro.enabled = 1;
	ro.accept = DMP_NODE_RELAY_ANY;
	ro.source_rate = 0.5;
	ro.source_burst = 8;
	ro.max_hops = 1;
	snprintf(ro.fp, sizeof(ro.fp), "%s", FP);
	h = mk_http(n, &ro);
	if (!ok(h != NULL, "ord: enabled handle")) {
		free(good);
		return;
	}
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, "{"), 400,
	       "ord: bad JSON 400");
	body = calloc(1, dmp_relay_body_max(ro.bundle_bytes) + 2);
	memset(body, ' ', dmp_relay_body_max(ro.bundle_bytes) + 1);
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, body), 413,
	       "ord: body over the limit 413");
	ok(has(&r, "mesh.relay_bundle_bytes"), "ord: 413 names the setting");
	free(body);
	body = message(1, ZONE, looped);
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, body), 403,
	       "ord: own fingerprint in path 403");
	ok(has(&r, "a loop"), "ord: says loop");
	free(body);
	body = message(1, ZONE, far);
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, body), 403,
	       "ord: over mesh.max_hops 403");
	free(body);
	body = message(1, ZONE, flipped);
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, body), 403,
	       "ord: a flipped chunk 403");
	ok(has(&r, "records[0]"), "ord: names the record");
	free(body);
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, good), 200,
	       "ord: stored 200");
	ok(has(&r, "\"reason\":\"stored\"") && has(&r, "\"hops\":0"),
	   "ord: the reply's reason and hops");
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, good), 208,
	       "ord: again 208");
	body = message(2, "other.example", NULL);
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, body), 503,
	       "ord: a zone not served 503");
	ok(has(&r, "no route to other.example: this node has no mesh links"),
	   "ord: says no route (no mesh here)");
	free(body);
	/* 8 tokens spent: the ninth is refused before its body is read. */
	is_int(call(h, &r, "POST", (struct sockaddr *)&peer, "{"), 429,
	       "ord: per-source rate 429 (before the JSON)");
	is_int(r.retry, 2, "ord: Retry-After 2 s at 0.5/s");
	ok(metric(h, "dmp_relay_stored_total 1") &&
	       metric(h, "dmp_relay_dropped_total{reason=\"duplicate\"} 1") &&
	       metric(h, "dmp_relay_dropped_total{reason=\"loop\"} 1") &&
	       metric(h, "dmp_relay_dropped_total{reason=\"hops\"} 1") &&
	       metric(h, "dmp_relay_dropped_total{reason=\"verify\"} 1") &&
	       metric(h, "dmp_relay_dropped_total{reason=\"no_route\"} 1") &&
	       metric(h, "dmp_relay_dropped_total{reason=\"source_rate\"} 1") &&
	       metric(h, "dmp_relay_received_total{result=\"too_large\"} 1"),
	   "ord: the counters");
	free(good);
	free(r.body);
	dmp_node_http_free(h);
}

static void test_destination(struct dmp_node *n)
{
	struct dmp_node_http_opts o;
	struct dmp_node_relay_opts ro;
	struct dmp_node_http *h;
	struct resp r = {0};
	char *m3 = message(3, ZONE, NULL), *m4 = message(4, ZONE, NULL);
	char *m5 = message(5, ZONE, NULL), *body;
	char mb[32], scope[DMP_NODE_NAME_MAX];
	const char *scopes[1] = {scope};
	uint8_t secret[32] = {1};

	dmp_node_http_opts_init(&o);
	ro = o.relay;
	ro.enabled = 1;
	ro.accept = DMP_NODE_RELAY_OFF;
	h = mk_http(n, &ro);
	is_int(call(h, &r, "POST", NULL, m3), 403, "dst: accept off 403");
	ok(has(&r, "mesh.relay_accept off"), "dst: says relay_accept off");
	dmp_node_http_free(h);

	ro.accept = DMP_NODE_RELAY_OWN;
	h = mk_http(n, &ro);
	is_int(call(h, &r, "POST", NULL, m3), 403, "dst: own, nobody 403");
	ok(has(&r, "not authorised"), "dst: says not authorised");
	if (dmp_name_mailbox_label(mb, sizeof(mb), dmp_keys_user_id(rcp)) < 0) {
		die("mailbox label");
	}
	snprintf(scope, sizeof(scope), "%s.%s", mb, ZONE);
	ok(dmp_node_key_add(n, "rcp.relay.example.", secret, 32, scopes, 1,
			    clock_ms) == 0,
	   "dst: the recipient registered");
	is_int(call(h, &r, "POST", NULL, m3), 200, "dst: own, registered 200");
	body = message(6, ZONE, expired);
	is_int(call(h, &r, "POST", NULL, body), 403, "dst: a ttl of 0 is 403");
	ok(has(&r, "records[0].ttl"), "dst: names the ttl");
	free(body);
	dmp_node_http_free(h);

	/* The sender's rate: a burst of 1. */
	ro.accept = DMP_NODE_RELAY_ANY;
	ro.sender_rate = 0.25;
	ro.sender_burst = 1;
	h = mk_http(n, &ro);
	is_int(call(h, &r, "POST", NULL, m4), 200, "dst: sender's first 200");
	is_int(call(h, &r, "POST", NULL, m5), 429, "dst: sender's second 429");
	ok(has(&r, "mesh.relay_sender_rate") && r.retry == 4,
	   "dst: names the sender rate, Retry-After 4");
	dmp_node_http_free(h);

	/* The sender's bytes: room for one message, not two. */
	body = message(7, ZONE, NULL);
	ro.sender_rate = 0;
	ro.sender_bytes = value_bytes(body) * 3 / 2;
	h = mk_http(n, &ro);
	is_int(call(h, &r, "POST", NULL, body), 200,
	       "dst: within relay_sender_bytes 200");
	free(body);
	body = message(8, ZONE, NULL);
	is_int(call(h, &r, "POST", NULL, body), 507,
	       "dst: over relay_sender_bytes 507");
	ok(has(&r, "mesh.relay_sender_bytes"), "dst: names the setting");
	ok(metric(h, "dmp_relay_dropped_total{reason=\"quota\"} 1"),
	   "dst: counted quota");
	free(body);
	free(m3);
	free(m4);
	free(m5);
	free(r.body);
	dmp_node_http_free(h);
}

int main(void)
{
	uint8_t sx[32], rx[32];
	struct dmp_node *n;

	if (dmp_init() != 0 || dmp_codec_new(&codec) != 0) {
		return 1;
	}
	memset(sx, 0x31, sizeof(sx));
	memset(rx, 0x42, sizeof(rx));
	if (dmp_keys_from_x25519(&snd, sx) || dmp_keys_from_x25519(&rcp, rx)) {
		die("keys");
	}
	n = mk_node();
	if (!n) {
		die("node");
	}
	plan(42);
	test_options(n);
	test_order(n);
	test_destination(n);
	dmp_node_free(n);
	dmp_keys_free(snd);
	dmp_keys_free(rcp);
	dmp_codec_free(codec);
	return done_testing();
}
