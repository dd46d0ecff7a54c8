/* tests/unit/test_tsig.c - the TSIG module (core/src/dns/tsig.c): requests,
 * replies and multi-message answers (RFC 8945 5.3.1) signed here and
 * checked by libknot, libknot's signatures checked here, and the time check
 * with an explicit clock (BADTIME outside the fudge). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libknot/libknot.h>

#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/dnsmsg.h"
#include "dmp/err.h"
#include "dns/tsig.h"
#include "tap.h"

static const uint8_t secret[32] = {
    0xca, 0x29, 0x4c, 0x0e, 0xa7, 0xbf, 0xc8, 0x6b, 0x5b, 0xb5, 0xf6,
    0xa2, 0xb3, 0x78, 0xf7, 0xf5, 0xad, 0x27, 0xbb, 0x3d, 0x58, 0xd3,
    0xc0, 0xfe, 0x4f, 0x3c, 0xd2, 0xb9, 0x2e, 0x20, 0xc0, 0x87,
};
static const uint8_t key_wire[] = "\x02k1\x04mesh\x04test";

static knot_tsig_key_t kkey(void)
{
	knot_tsig_key_t k;
	char b64[64];

	memset(&k, 0, sizeof(k));
	(void)dmp_b64_encode(b64, sizeof(b64), secret, sizeof(secret));
	if (knot_tsig_key_init(&k, "hmac-sha256", "k1.mesh.test", b64) !=
	    KNOT_EOK) {
		abort();
	}
	return k;
}

/* Signing with the test key at @p now, fudge 300. */
static struct dmp_tsig_sign_args args(uint64_t now)
{
	struct dmp_tsig_sign_args a = {
	    .key = key_wire,
	    .secret = secret,
	    .secret_len = sizeof(secret),
	    .time_signed = now,
	    .fudge = 300,
	};

	return a;
}

/* Header (@p flags) and the question mesh.test AXFR IN. */
static void head(struct dmp_wbuf *w, uint8_t *buf, size_t cap, uint16_t flags)
{
	dmp_wbuf_init(w, buf, cap);
	dmp_wbuf_u16(w, 0x1234);
	dmp_wbuf_u16(w, flags);
	dmp_wbuf_u16(w, 1);
	dmp_wbuf_u16(w, 0);
	dmp_wbuf_u16(w, 0);
	dmp_wbuf_u16(w, 0);
	dmp_wbuf_put(w, "\x04mesh\x04test", 11);
	dmp_wbuf_u16(w, DMP_DNS_TYPE_AXFR);
	dmp_wbuf_u16(w, DMP_DNS_CLASS_IN);
}

/* libknot's verdict on a signed message; @p mac NULL: a request. */
static int knot_check(const uint8_t *msg, size_t len, const uint8_t *mac,
		      int next)
{
	knot_tsig_key_t k = kkey();
	uint8_t *copy = malloc(len);
	knot_pkt_t *pkt;
	int rc = -1;

	memcpy(copy, msg, len);
	pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
	if (pkt && knot_pkt_parse(pkt, 0) == KNOT_EOK && pkt->tsig_rr) {
		if (!mac) {
			rc = knot_tsig_server_check(pkt->tsig_rr, pkt->wire,
						    pkt->size, &k);
		} else if (!next) {
			rc = knot_tsig_client_check(pkt->tsig_rr, pkt->wire,
						    pkt->size, mac, 32, &k, 0);
		} else {
			rc = knot_tsig_client_check_next(
			    pkt->tsig_rr, pkt->wire, pkt->size, mac, 32, &k, 0);
		}
	}
	knot_pkt_free(pkt);
	free(copy);
	knot_tsig_key_deinit(&k);
	return rc;
}

static void test_request(uint64_t now)
{
	uint8_t buf[512], mac[32];
	const struct dmp_tsig_sign_args a = args(now);
	struct dmp_tsig_rr ts;
	struct dmp_wbuf w;
	uint8_t other[32];

	head(&w, buf, sizeof(buf), 0);
	is_int(dmp_tsig_sign(&w, NULL, &a, mac), 0, "request signed");
	is_int(knot_check(buf, w.len, NULL, 0), KNOT_EOK,
	       "libknot accepts the request");
	ok(dmp_tsig_find(buf, w.len, &ts) == 1, "TSIG found");
	ok(dmp_tsig_alg_ok(&ts), "hmac-sha256");
	is_mem(ts.mac, ts.mac_len, mac, 32, "the MAC we made");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now), 0,
	       "verifies at its time");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now + 300), 0,
	       "verifies at the fudge");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now - 300), 0,
	       "verifies at minus the fudge");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now + 301),
	       DMP_DNS_RCODE_BADTIME, "BADTIME after the fudge");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now - 301),
	       DMP_DNS_RCODE_BADTIME, "BADTIME before the fudge");
	memcpy(other, secret, 32);
	other[0] ^= 1;
	is_int(dmp_tsig_verify(buf, &ts, other, 32, NULL, 0, now),
	       DMP_DNS_RCODE_BADSIG, "another secret: BADSIG");
	ts.mac_len = 16;
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now),
	       DMP_DNS_RCODE_BADTRUNC, "a good truncated MAC: BADTRUNC");
	ts.mac_len = 9;
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now),
	       DMP_EMALFORMED, "MAC under 10 bytes: FORMERR");
	ts.mac_len = 32;
	buf[13] ^= 0x20; /* the question, case flipped */
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now),
	       DMP_DNS_RCODE_BADSIG, "changed message: BADSIG");
}

static void test_knot_request(uint64_t now)
{
	knot_tsig_key_t k = kkey();
	uint8_t buf[512], mac[64];
	size_t len, mac_len = sizeof(mac);
	struct dmp_tsig_rr ts;
	struct dmp_wbuf w;

	head(&w, buf, sizeof(buf), 0);
	len = w.len;
	ok(knot_tsig_sign(buf, &len, sizeof(buf), NULL, 0, mac, &mac_len, &k, 0,
			  0) == KNOT_EOK,
	   "libknot signs a request");
	knot_tsig_key_deinit(&k);
	ok(dmp_tsig_find(buf, len, &ts) == 1, "its TSIG found");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, NULL, 0, now), 0,
	       "libknot's request verifies here");
}

/* A reply and two more messages of the same answer. */
static void test_answer(uint64_t now)
{
	uint8_t req[512], buf[512], rmac[32], prior[32], first[32];
	const struct dmp_tsig_sign_args a = args(now);
	struct dmp_tsig_rr rq, ts;
	struct dmp_wbuf w;

	head(&w, req, sizeof(req), 0);
	(void)dmp_tsig_sign(&w, NULL, &a, rmac);
	ok(dmp_tsig_find(req, w.len, &rq) == 1, "request parsed");

	head(&w, buf, sizeof(buf), 0x8400);
	is_int(dmp_tsig_sign_reply(&w, &rq, secret, 32, 0, now, prior), 0,
	       "first message signed");
	is_int(knot_check(buf, w.len, rmac, 0), KNOT_EOK,
	       "libknot accepts the first message");
	ok(dmp_tsig_find(buf, w.len, &ts) == 1 &&
	       dmp_tsig_verify(buf, &ts, secret, 32, rmac, 32, now) == 0,
	   "and so do we, with the request MAC");
	memcpy(first, prior, 32);
	for (int i = 0; i < 2; i++) {
		uint8_t was[32];

		memcpy(was, prior, 32);
		dmp_wbuf_init(&w, buf, sizeof(buf));
		dmp_wbuf_u16(&w, 0x1234);
		dmp_wbuf_u16(&w, 0x8400);
		dmp_wbuf_put(&w, "\0\0\0\0\0\0\0\0", 8);
		is_int(dmp_tsig_sign_next(&w, key_wire, secret, 32, prior, now,
					  300),
		       0, "message %d signed (5.3.1)", i + 2);
		is_int(knot_check(buf, w.len, was, 1), KNOT_EOK,
		       "libknot accepts message %d", i + 2);
		ok(memcmp(was, prior, 32) != 0, "the prior MAC moved on");
	}
	ok(memcmp(first, prior, 32) != 0, "the chain is not the first MAC");

	/* BADTIME: the request's time, ours in Other Data (5.2.3). */
	head(&w, buf, sizeof(buf), 0x8409);
	is_int(dmp_tsig_sign_reply(&w, &rq, secret, 32, DMP_DNS_RCODE_BADTIME,
				   now + 1000, NULL),
	       0, "BADTIME reply signed");
	ok(dmp_tsig_find(buf, w.len, &ts) == 1 && ts.time_signed == now &&
	       ts.error == DMP_DNS_RCODE_BADTIME && ts.other_len == 6,
	   "request time, error, other data");
	ok(ts.other_len == 6 &&
	       ((uint64_t)ts.other[0] << 40 | (uint64_t)ts.other[1] << 32 |
		dmp_load_u32(ts.other + 2)) == now + 1000,
	   "our time in other data");
	is_int(dmp_tsig_verify(buf, &ts, secret, 32, rmac, 32, now), 0,
	       "its MAC covers the other data");

	/* BADKEY: unsigned (5.3.2). */
	head(&w, buf, sizeof(buf), 0x8409);
	is_int(dmp_tsig_sign_reply(&w, &rq, NULL, 0, DMP_DNS_RCODE_BADKEY, now,
				   NULL),
	       0, "BADKEY reply");
	ok(dmp_tsig_find(buf, w.len, &ts) == 1 && ts.mac_len == 0 &&
	       ts.error == DMP_DNS_RCODE_BADKEY,
	   "no MAC, error BADKEY");
	dmp_wbuf_init(&w, buf, 40);
	head(&w, buf, 40, 0);
	is_int(dmp_tsig_sign_reply(&w, &rq, secret, 32, 0, now, NULL),
	       DMP_ENOBUFS, "no room: DMP_ENOBUFS");
}

/* A request TSIG with MAC bytes from @p seed, signed at @p t. */
static struct dmp_tsig_rr rr_with(uint8_t mac[32], uint32_t seed, uint64_t t)
{
	struct dmp_tsig_rr ts;

	memset(&ts, 0, sizeof(ts));
	for (int i = 0; i < 32; i++) {
		mac[i] =
		    (uint8_t)(seed * 2654435761u >> (i % 4 * 8)) ^ (uint8_t)i;
	}
	mac[0] = (uint8_t)seed;
	mac[1] = (uint8_t)(seed >> 8);
	ts.mac = mac;
	ts.mac_len = 32;
	ts.time_signed = t;
	ts.fudge = 300;
	return ts;
}

/* The replay cache (tsig_replay.c): a MAC is refused while its window
 * lasts, also when the cache is full; full refuses new MACs rather than
 * forget live ones; expired entries make room again. */
static void test_replay(uint64_t now)
{
	struct dmp_tsig_replay *r = NULL;
	struct dmp_tsig_rr ts, t2;
	uint8_t mac[32], mac2[32];
	unsigned stored = 0, forgotten = 0;
	int rc = 0;

	is_int(dmp_tsig_replay_new(&r, 3), DMP_EINVAL, "2^3 slots: too few");
	ok(r == NULL, "no cache on error");
	is_int(dmp_tsig_replay_new(&r, 6), 0, "64 slots");
	ts = rr_with(mac, 1, now);
	is_int(dmp_tsig_replay_check(r, &ts, now), 0, "first sighting");
	is_int(dmp_tsig_replay_check(r, &ts, now + 300), DMP_EREPLAY,
	       "same MAC at the end of its window: replay");
	t2 = rr_with(mac2, 2, now);
	is_int(dmp_tsig_replay_check(r, &t2, now), 0, "another MAC");
	is_int(dmp_tsig_replay_check(r, &ts, now + 301), 0,
	       "after time_signed + fudge the entry is gone (BADTIME there)");
	/* Fill: 64 slots, windows of 32; bounded by the slot count. */
	for (uint32_t s = 100; s < 100 + 200 && rc == 0; s++) {
		ts = rr_with(mac, s, now);
		rc = dmp_tsig_replay_check(r, &ts, now);
		stored += rc == 0;
	}
	is_int(rc, DMP_ENOSPC, "a full window refuses (fail safe)");
	ok(stored <= 64, "never more entries than slots (%u)", stored);
	for (uint32_t s = 100; s < 100 + stored; s++) {
		ts = rr_with(mac, s, now);
		forgotten += dmp_tsig_replay_check(r, &ts, now) != DMP_EREPLAY;
	}
	is_int((int)forgotten, 0, "full: every live MAC still refused");
	ts = rr_with(mac, 100 + 199, now + 1000);
	is_int(dmp_tsig_replay_check(r, &ts, now + 1000), 0,
	       "expired entries make room");
	ts.mac_len = 12;
	is_int(dmp_tsig_replay_check(r, &ts, now), DMP_EINVAL,
	       "a MAC shorter than 16 bytes");
	dmp_tsig_replay_free(r);
}

int main(void)
{
	uint64_t now = (uint64_t)time(NULL); /* libknot reads the clock */

	plan(47);
	test_request(now);
	test_knot_request(now);
	test_answer(now);
	test_replay(now);
	return done_testing();
}
