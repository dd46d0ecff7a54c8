/*
 * tests/unit/test_links.c - the relay link record (docs/protocol.md
 * 8.7.4, DMP-RELAY/1 draft): round trip, a pinned vector, every refusal
 * with its own cause, fitting under 1200 bytes, and the pull
 * verification (dmp_ns_verify) of the new type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/links.h"
#include "dmp/record.h"
#include "node/node_sync_i.h"
#include "tap.h"
#include "vec.h"
#include "wire/links_i.h"

#define NOW 1893456000ULL
#define SEED_A                                                                 \
	"5c9a2825cf12d4e42699637cf3a12b63be4e1b7a17f9e67ebb93bbc6261c3032"
#define SEED_B                                                                 \
	"1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
#define EP "https://relay1.mesh.test:8443"

static uint8_t a_pk[32], a_sk[64], b_pk[32], b_sk[64];

static void base(struct dmp_links *lk)
{
	memset(lk, 0, sizeof(*lk));
	memcpy(lk->node_spk, a_pk, 32);
	strcpy(lk->endpoint, EP);
	lk->n_zones = 2;
	strcpy(lk->zones[0], "mesh.test");
	strcpy(lk->zones[1], "alt.mesh.test");
	lk->n_peers = 3;
	for (size_t i = 0; i < 3; i++) {
		memset(lk->peers[i].spk, 0x40 + (int)i, 32);
		lk->peers[i].flags = DMP_LINKS_UP;
	}
	lk->peers[0].cost_ms = 30;
	lk->peers[1].cost_ms = 5;
	lk->peers[2].cost_ms = 60000;
	lk->peers[2].flags = 0; /* down */
	lk->seq = NOW * 1000 + 7;
	lk->ts = NOW;
	lk->exp = NOW + 90;
}

static int same(const struct dmp_links *x, const struct dmp_links *y)
{
	return memcmp(x, y, sizeof(*x)) == 0;
}

static void test_round_trip(void)
{
	struct dmp_links lk, pub, got;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	enum dmp_links_why why = DMP_LINKS_WHY_MAX;
	int n;

	base(&lk);
	strcpy(lk.zones[1], "Alt.Mesh.Test.");
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   &pub);
	ok(n > 0 && (size_t)n == strlen(wire), "sign: %d", n);
	ok(strncmp(wire, DMP_PREFIX_LINKS, strlen(DMP_PREFIX_LINKS)) == 0,
	   "prefix v=dmp1;t=links;");
	is_str(pub.zones[1], "alt.mesh.test",
	       "zone written lower case, no dot");
	ok(pub.peers[0].cost_ms == 5 && pub.peers[1].cost_ms == 30 &&
	       pub.peers[2].cost_ms == 60000,
	   "peers written cheapest first");
	n = dmp_links_parse(&got, wire, strlen(wire), NOW, DMP_HEARTBEAT_STRICT,
			    &why);
	ok(n == 0 && why == DMP_LINKS_OK, "parse: %d (%s)", n,
	   dmp_links_why_str(why));
	ok(same(&got, &pub), "parse gives back what was signed");
	ok(got.peers[2].flags == 0 && got.peers[0].flags == DMP_LINKS_UP,
	   "up and down flags kept");
	ok(dmp_links_parse(&got, wire, strlen(wire), NOW + 89,
			   DMP_HEARTBEAT_STRICT, NULL) == 0,
	   "still valid 1 s before exp");
	ok(dmp_links_parse(&got, wire, strlen(wire), NOW - 300,
			   DMP_HEARTBEAT_STRICT, NULL) == 0,
	   "ts 300 s ahead is accepted");
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   NULL);
	ok(n > 0, "published is optional");
	n = dmp_links_sign(wire, 10, &lk, a_sk, DMP_HEARTBEAT_STRICT, NULL);
	is_int(n, DMP_ENOBUFS, "small buffer: ENOBUFS");
}

/* Pinned bytes: fixed key, fields and (deterministic) Ed25519. */
static const char vector_wire[] =
    "v=dmp1;t=links;"
    "RE1QTEswMXDnJ6fxcIUBeVkbHzXJyZWHKhiVU6IvS+eOoYG0mgbwHWh0dHBzOi8vcmVs"
    "YXkxLm1lc2gudGVzdDo4NDQzAgltZXNoLnRlc3QNYWx0Lm1lc2gudGVzdANBQUFBQUFB"
    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQAFAUBAQEBAQEBAQEBAQEBAQEBAQEBAQEBA"
    "QEBAQEBAQEBAAB4BQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkLqYAAAAAG4"
    "2sW0BwAAAABw29iAAAAAAHDb2No4h/U5xNsWJCkK/CNBo3mAMJhJKOjmIYksU7Otkwvk"
    "r0rYwqInAlpa7e04rpkHsJ70CNmMXRWwx1jrdku66KsC";

static void test_vector(void)
{
	struct dmp_links lk, got;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int n;

	base(&lk);
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   NULL);
	if (getenv("DMP_LINKS_PRINT")) {
		diag("%s", wire);
	}
	ok(n > 0 && strcmp(wire, vector_wire) == 0, "vector: byte for byte");
	ok(dmp_links_parse(&got, vector_wire, strlen(vector_wire), NOW,
			   DMP_HEARTBEAT_STRICT, NULL) == 0 &&
	       memcmp(got.node_spk, a_pk, 32) == 0 && got.n_peers == 3 &&
	       got.seq == NOW * 1000 + 7,
	   "vector parses");
}

/* Sign @p body as a link record value without any body check. */
static int raw_wire(char *out, size_t cap, const uint8_t *body, size_t len,
		    const uint8_t *sk)
{
	return dmp_record_sign_encode(out, cap, DMP_PREFIX_LINKS, body, len, sk,
				      DMP_RECORD_WIRE_MAX);
}

/* Offsets in base()'s body. */
#define OFF_SPK 7
#define OFF_EPLEN 39
#define OFF_ZC (OFF_EPLEN + 1 + (sizeof(EP) - 1))
#define OFF_Z0 (OFF_ZC + 1)
#define OFF_LC (OFF_Z0 + 1 + 9 + 1 + 13)
#define OFF_P0 (OFF_LC + 1)

enum mut {
	M_MAGIC,
	M_EPLEN0,
	M_ZC9,
	M_ZLEN0,
	M_ZUPPER,
	M_ZUNDERSCORE,
	M_ZDUP,
	M_LC17,
	M_COST0,
	M_COSTBIG,
	M_PDUP,
	M_PSELF,
	M_TRUNC,
	M_TRAIL,
	M_TIMES,
	M_LIFETIME,
	M_MAX
};

static const struct {
	enum dmp_links_why why;
	int rc;
	const char *what;
} muts[M_MAX] = {
    [M_MAGIC] = {DMP_LINKS_WHY_MAGIC, DMP_EMALFORMED, "magic DMPLK02"},
    [M_EPLEN0] = {DMP_LINKS_WHY_ENDPOINT, DMP_EMALFORMED, "ep_len 0"},
    [M_ZC9] = {DMP_LINKS_WHY_ZONE_COUNT, DMP_EMALFORMED, "zone_count 9"},
    [M_ZLEN0] = {DMP_LINKS_WHY_ZONE, DMP_EMALFORMED, "zone_len 0"},
    [M_ZUPPER] = {DMP_LINKS_WHY_ZONE, DMP_EMALFORMED, "zone upper case"},
    [M_ZUNDERSCORE] = {DMP_LINKS_WHY_ZONE, DMP_EMALFORMED, "zone with _"},
    [M_ZDUP] = {DMP_LINKS_WHY_ZONE_DUP, DMP_EMALFORMED, "zone twice"},
    [M_LC17] = {DMP_LINKS_WHY_PEER_COUNT, DMP_EMALFORMED, "link_count 17"},
    [M_COST0] = {DMP_LINKS_WHY_COST, DMP_EMALFORMED, "cost_ms 0"},
    [M_COSTBIG] = {DMP_LINKS_WHY_COST, DMP_EMALFORMED, "cost_ms 60001"},
    [M_PDUP] = {DMP_LINKS_WHY_PEER_DUP, DMP_EMALFORMED, "peer twice"},
    [M_PSELF] = {DMP_LINKS_WHY_PEER_SELF, DMP_EMALFORMED, "peer = self"},
    [M_TRUNC] = {DMP_LINKS_WHY_TRUNCATED, DMP_EMALFORMED, "cut in exp"},
    [M_TRAIL] = {DMP_LINKS_WHY_TRAILING, DMP_EMALFORMED, "a byte after exp"},
    [M_TIMES] = {DMP_LINKS_WHY_TIMES, DMP_EMALFORMED, "exp = ts"},
    [M_LIFETIME] = {DMP_LINKS_WHY_LIFETIME, DMP_EFUTURE, "exp = ts + 3601"},
};

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static size_t mutate(uint8_t *b, size_t n, enum mut m)
{
	switch (m) {
	case M_MAGIC: b[6] = '2'; break;
	case M_EPLEN0: b[OFF_EPLEN] = 0; break;
	case M_ZC9: b[OFF_ZC] = 9; break;
	case M_ZLEN0: b[OFF_Z0] = 0; break;
	case M_ZUPPER: b[OFF_Z0 + 1] = 'M'; break;
	case M_ZUNDERSCORE: b[OFF_Z0 + 1] = '_'; break;
	case M_ZDUP:
		/* the second zone (13 bytes) becomes the first (9 bytes) */
		memcpy(b + OFF_Z0 + 10, "\x09mesh.test", 10);
		memmove(b + OFF_Z0 + 20, b + OFF_Z0 + 24, n - (OFF_Z0 + 24));
		return n - 4;
	case M_LC17: b[OFF_LC] = 17; break;
	case M_COST0: b[OFF_P0 + 32] = 0, b[OFF_P0 + 33] = 0; break;
	case M_COSTBIG: b[OFF_P0 + 32] = 0xea, b[OFF_P0 + 33] = 0x61; break;
	case M_PDUP: memcpy(b + OFF_P0 + 35, b + OFF_P0, 32); break;
	case M_PSELF: memcpy(b + OFF_P0, b + OFF_SPK, 32); break;
	case M_TRUNC: return n - 1;
	case M_TRAIL: b[n] = 0; return n + 1;
	case M_TIMES: put_u64(b + n - 8, NOW); break;
	case M_LIFETIME: put_u64(b + n - 8, NOW + 3601); break;
	default: break;
	}
	return n;
}

/* The clock checks on a record with ts = NOW. */
static const struct {
	uint64_t exp, now;
	int rc;
	enum dmp_links_why why;
	const char *what;
} clock_cases[] = {
    {NOW + 90, NOW - 301, DMP_EFUTURE, DMP_LINKS_WHY_TS_FUTURE,
     "ts 301 s ahead"},
    {NOW + 3600, NOW + 301, DMP_EEXPIRED, DMP_LINKS_WHY_TS_STALE,
     "ts 301 s old"},
    {NOW + 200, NOW + 200, DMP_EEXPIRED, DMP_LINKS_WHY_EXPIRED, "exp = now"},
    {NOW + 200, NOW, 0, DMP_LINKS_OK, "the same record at a good time"},
};

static void test_rejections(void)
{
	struct dmp_links lk, got;
	uint8_t body[DMP_LINKS_BODY_MAX + 1], m[DMP_LINKS_BODY_MAX + 1];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	enum dmp_links_why why;
	int n, bl, seen[DMP_LINKS_WHY_MAX] = {0};

	base(&lk);
	bl = dmp_links_body_encode(body, sizeof(body), &lk,
				   DMP_HEARTBEAT_STRICT);
	ok(bl > 0 && body[OFF_ZC] == 2 && body[OFF_LC] == 3,
	   "body offsets as expected");
	for (int i = 0; i < M_MAX; i++) {
		size_t ml;

		memcpy(m, body, (size_t)bl);
		ml = mutate(m, (size_t)bl, (enum mut)i);
		n = raw_wire(wire, sizeof(wire), m, ml, a_sk);
		n = n < 0 ? n
			  : dmp_links_parse(&got, wire, strlen(wire), NOW,
					    DMP_HEARTBEAT_STRICT, &why);
		ok(n == muts[i].rc && why == muts[i].why, "%s: %d, %s",
		   muts[i].what, n, dmp_links_why_str(why));
		seen[why] = 1;
	}
	/* Framing, key, signature and clock. */
	n = dmp_links_parse(&got, "v=dmp1;t=heartbeat;AAAA", 23, NOW,
			    DMP_HEARTBEAT_STRICT, &why);
	ok(n == DMP_EPREFIX && why == DMP_LINKS_WHY_PREFIX, "other prefix");
	seen[why] = 1;
	n = dmp_links_parse(&got, "v=dmp1;t=links;!!!!", 19, NOW,
			    DMP_HEARTBEAT_STRICT, &why);
	ok(n < 0 && why == DMP_LINKS_WHY_ENCODING, "bad base64: %d", n);
	seen[why] = 1;
	n = raw_wire(wire, sizeof(wire), body, (size_t)bl, b_sk);
	n = dmp_links_parse(&got, wire, strlen(wire), NOW, DMP_HEARTBEAT_STRICT,
			    &why);
	ok(n == DMP_EBADSIG && why == DMP_LINKS_WHY_SIGNATURE,
	   "signed by another key: %d", n);
	seen[why] = 1;
	memcpy(m, body, (size_t)bl);
	memset(m + OFF_SPK, 0, 32);
	m[OFF_SPK] = 1; /* the identity point, of low order */
	n = raw_wire(wire, sizeof(wire), m, (size_t)bl, a_sk);
	n = dmp_links_parse(&got, wire, strlen(wire), NOW, DMP_HEARTBEAT_STRICT,
			    &why);
	ok(n == DMP_EBADKEY && why == DMP_LINKS_WHY_KEY, "low-order node_spk");
	seen[why] = 1;
	for (size_t i = 0; i < DMP_ARRAY_LEN(clock_cases); i++) {
		lk.exp = clock_cases[i].exp;
		n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk,
				   DMP_HEARTBEAT_STRICT, NULL);
		n = n < 0 ? n
			  : dmp_links_parse(&got, wire, strlen(wire),
					    clock_cases[i].now,
					    DMP_HEARTBEAT_STRICT, &why);
		ok(n == clock_cases[i].rc && why == clock_cases[i].why,
		   "%s: %d", clock_cases[i].what, n);
		seen[why] = 1;
	}
	/* Loopback endpoint: only with the opt-in. */
	strcpy(lk.endpoint, "http://127.0.0.9:8080");
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   NULL);
	is_int(n, DMP_EMALFORMED, "sign: loopback endpoint refused strictly");
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk,
			   DMP_HEARTBEAT_ALLOW_LOOPBACK, NULL);
	ok(n > 0, "sign: loopback with the opt-in");
	n = dmp_links_parse(&got, wire, strlen(wire), NOW, DMP_HEARTBEAT_STRICT,
			    &why);
	ok(n == DMP_EMALFORMED && why == DMP_LINKS_WHY_ENDPOINT,
	   "parse: loopback endpoint refused strictly");
	n = 0;
	for (int i = 1; i < DMP_LINKS_WHY_MAX; i++) {
		n += seen[i];
	}
	is_int(n, DMP_LINKS_WHY_MAX - 1, "every cause seen once at least");
	ok(strcmp(dmp_links_why_str(DMP_LINKS_WHY_PEER_DUP),
		  "duplicate peer_spk") == 0 &&
	       strcmp(dmp_links_why_str(DMP_LINKS_WHY_MAX), "unknown") == 0,
	   "cause names");
}

/* Sign with the right key, strictly, into a scratch buffer. */
static int sign_a(const struct dmp_links *lk)
{
	char wire[DMP_RECORD_WIRE_MAX + 1];

	return dmp_links_sign(wire, sizeof(wire), lk, a_sk,
			      DMP_HEARTBEAT_STRICT, NULL);
}

static void test_sign_refusals(void)
{
	struct dmp_links lk;
	char wire[DMP_RECORD_WIRE_MAX + 1];

	base(&lk);
	is_int(dmp_links_sign(wire, sizeof(wire), &lk, b_sk,
			      DMP_HEARTBEAT_STRICT, NULL),
	       DMP_EBADKEY, "sign: sk of another key");
	memcpy(lk.peers[1].spk, lk.peers[0].spk, 32);
	is_int(sign_a(&lk), DMP_EINVAL, "sign: duplicate peer");
	base(&lk);
	memcpy(lk.peers[1].spk, a_pk, 32);
	is_int(sign_a(&lk), DMP_EINVAL, "sign: peer = self");
	base(&lk);
	strcpy(lk.zones[1], "MESH.test.");
	is_int(sign_a(&lk), DMP_EINVAL, "sign: the same zone in another case");
	base(&lk);
	lk.peers[0].cost_ms = 0;
	is_int(sign_a(&lk), DMP_EINVAL, "sign: cost 0");
	base(&lk);
	lk.exp = lk.ts + 3601;
	is_int(sign_a(&lk), DMP_EINVAL, "sign: lifetime over 3600 s");
	base(&lk);
	lk.n_peers = 17;
	is_int(sign_a(&lk), DMP_EINVAL, "sign: 17 peers");
	base(&lk);
	strcpy(lk.zones[0], "bad_zone.test");
	is_int(sign_a(&lk), DMP_EINVAL, "sign: zone with an underscore");
}

/* 255-byte endpoint, 8 zones of 64 bytes, 16 peers: not all can fit. */
static void test_fit(void)
{
	struct dmp_links lk, pub, got;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	size_t pos;
	int n, sorted = 1;

	base(&lk);
	pos = (size_t)snprintf(lk.endpoint, sizeof(lk.endpoint), "https://");
	for (int l = 0; l < 4; l++) {
		size_t len = l < 3 ? 63 : 55;

		memset(lk.endpoint + pos, 'a' + l, len);
		pos += len;
		lk.endpoint[pos++] = l < 3 ? '.' : '\0';
	}
	ok(strlen(lk.endpoint) == 255 &&
	       dmp_heartbeat_endpoint_check(lk.endpoint, 255, 0) == 0,
	   "a 255-byte endpoint");
	lk.n_zones = 8;
	for (size_t i = 0; i < 8; i++) {
		memset(lk.zones[i], 'a' + (int)i, 64);
		lk.zones[i][30] = '.';
		lk.zones[i][64] = 0;
	}
	lk.n_peers = 16;
	for (size_t i = 0; i < 16; i++) {
		memset(lk.peers[i].spk, 0x10 + (int)i, 32);
		lk.peers[i].cost_ms = (uint16_t)(1000 - i * 50);
		lk.peers[i].flags = DMP_LINKS_UP;
	}
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   &pub);
	ok(n > 0 && n <= DMP_RECORD_WIRE_MAX, "fitted sign: %d bytes", n);
	ok(pub.n_zones == 7 && strcmp(pub.zones[6], lk.zones[6]) == 0,
	   "zones first, in order: %zu of 8", pub.n_zones);
	ok(pub.n_peers == 1 && pub.peers[0].cost_ms == 250,
	   "room for the cheapest peer only: %zu", pub.n_peers);
	ok(dmp_links_parse(&got, wire, (size_t)n, NOW, DMP_HEARTBEAT_STRICT,
			   NULL) == 0 &&
	       same(&got, &pub),
	   "fitted record parses to what was published");
	/* Two zones: most peers fit, the cheapest ones. */
	lk.n_zones = 2;
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   &pub);
	ok(n > 0 && n <= DMP_RECORD_WIRE_MAX && pub.n_zones == 2 &&
	       pub.n_peers == 10,
	   "two zones: %zu of 16 peers in %d bytes", pub.n_peers, n);
	for (size_t i = 0; i < pub.n_peers; i++) {
		sorted &= pub.peers[i].cost_ms == 1000 - (15 - i) * 50;
	}
	ok(sorted, "the cheapest peers, cheapest first");
	ok(dmp_links_parse(&got, wire, (size_t)n, NOW, DMP_HEARTBEAT_STRICT,
			   NULL) == 0 &&
	       same(&got, &pub),
	   "parses to what was published");
	/* One more peer would not have fitted. */
	ok(n + 47 > DMP_RECORD_WIRE_MAX, "one more peer would overflow");
}

static void test_name_and_sync(void)
{
	struct dmp_links lk;
	char name[DMP_LINKS_ZONE_MAX + 32], wire[DMP_RECORD_WIRE_MAX + 1];
	int n;

	n = dmp_links_name(name, sizeof(name), "Mesh.Test.");
	ok(n > 0 && strcmp(name, "_dnsmesh-links.mesh.test") == 0,
	   "owner name: %s", name);
	base(&lk);
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk, DMP_HEARTBEAT_STRICT,
			   NULL);
	is_int(dmp_ns_verify("_dnsmesh-links.mesh.test", wire, (size_t)n, NULL,
			     NOW),
	       0, "pull: a valid link record is taken");
	is_int(dmp_ns_verify("_DNSMESH-LINKS.mesh.test", wire, (size_t)n, NULL,
			     NOW),
	       0, "pull: name compared case-insensitively");
	is_int(dmp_ns_verify("_dnsmesh-heartbeat.mesh.test", wire, (size_t)n,
			     NULL, NOW),
	       DMP_EBADNAME, "pull: a link record elsewhere is refused");
	is_int(dmp_ns_verify("_dnsmesh-links.mesh.test", wire, (size_t)n, NULL,
			     NOW + 100),
	       DMP_EEXPIRED, "pull: expired link record refused");
	wire[n - 5] = wire[n - 5] == 'A' ? 'B' : 'A';
	ok(dmp_ns_verify("_dnsmesh-links.mesh.test", wire, (size_t)n, NULL,
			 NOW) < 0,
	   "pull: altered link record refused");
	ok(dmp_ns_verify("_dnsmesh-links.mesh.test", "hello", 5, NULL, NOW) < 0,
	   "pull: non-DMP text at _dnsmesh-links refused");
	strcpy(lk.endpoint, "http://127.0.0.9:8080");
	n = dmp_links_sign(wire, sizeof(wire), &lk, a_sk,
			   DMP_HEARTBEAT_ALLOW_LOOPBACK, NULL);
	ok(dmp_ns_verify("_dnsmesh-links.mesh.test", wire, (size_t)n, NULL,
			 NOW) < 0,
	   "pull: loopback endpoint refused");
}

int main(void)
{
	plan(11 + 2 + 1 + M_MAX + 13 + 8 + 9 + 8);
	if (dmp_init() != 0) {
		return 1;
	}
	vec_key_from_seed_hex(a_pk, a_sk, SEED_A);
	vec_key_from_seed_hex(b_pk, b_sk, SEED_B);
	test_round_trip();
	test_vector();
	test_rejections();
	test_sign_refusals();
	test_fit();
	test_name_and_sync();
	return done_testing();
}
