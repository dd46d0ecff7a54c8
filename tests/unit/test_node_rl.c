/*
 * tests/unit/test_node_rl.c - the per-address token buckets
 * (core/src/node/node_rl.c): IPv6 keyed by prefix (default /56, or as
 * configured), IPv4 by address or prefix, IPv4-mapped IPv6 as IPv4, and
 * eviction from a full table that never creates tokens: neither a new key
 * nor one whose bucket was pushed out gets more than the bucket it
 * replaces held, nor more than a second's worth.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/node.h"
#include "node/node_i.h"
#include "tap.h"

static struct sockaddr_in6 v6(const char *text)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, text, &a.sin6_addr) != 1) {
		a.sin6_family = AF_UNSPEC; /* then every check fails */
	}
	return a;
}

static struct sockaddr_in v4(const char *text)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (inet_pton(AF_INET, text, &a.sin_addr) != 1) {
		a.sin_family = AF_UNSPEC;
	}
	return a;
}

/* How many requests @p sa gets at @p now before the first refusal
 * (at most @p max tried). */
static int take_all(struct rl *r, const void *sa, uint64_t now, int max)
{
	int n = 0;

	while (n < max && dmp_rl_allow(r, sa, now)) {
		n++;
	}
	return n;
}

static void test_prefix(void)
{
	struct rl *r = NULL;
	struct sockaddr_in6 a = v6("2001:db8:1:2200::1"),
			    b = v6("2001:db8:1:22ff:ffff::9"),
			    c = v6("2001:db8:1:2300::1"),
			    m1 = v6("::ffff:192.0.2.1"),
			    m2 = v6("::ffff:192.0.2.2");
	struct sockaddr_in p = v4("192.0.2.1"), q = v4("192.0.2.2");
	uint8_t k1[17], k2[17];

	is_int(dmp_rl_new_f(&r, 1, 3), 0, "prefix: limiter");
	if (!r) {
		skip(12, "no limiter");
		return;
	}
	is_int(take_all(r, &a, 1000, 10), 3, "prefix: a /56 gets the burst");
	is_int(take_all(r, &b, 1000, 10), 0,
	       "prefix: another address of the same /56 (another /64): "
	       "the same bucket");
	is_int(take_all(r, &c, 1000, 10), 3, "prefix: the next /56: its own");
	is_int(take_all(r, &p, 1000, 10), 3, "prefix: IPv4 by address");
	is_int(take_all(r, &q, 1000, 10), 3, "prefix: the next address: own");
	is_int(take_all(r, &m1, 1000, 10), 0,
	       "prefix: IPv4-mapped is the IPv4 address");
	dmp_rl_free(r);

	dmp_rl_new_f(&r, 1, 3);
	is_int(dmp_rl_set_prefix(r, 24, 64), 0, "prefix: /24 and /64 set");
	is_int(take_all(r, &a, 1000, 10), 3, "prefix /64: a");
	is_int(take_all(r, &b, 1000, 10), 3,
	       "prefix /64: another /64 of the same /56: its own bucket");
	is_int(take_all(r, &m1, 1000, 10) + take_all(r, &m2, 1000, 10), 3,
	       "prefix /24: two mapped IPv4 of one /24 share a bucket, not "
	       "all of ::ffff:0:0/96 with the IPv6 keys");
	dmp_rl_free(r);

	ok(dmp_rl_set_prefix(NULL, 0, 56) == DMP_EINVAL &&
	       dmp_rl_set_prefix(NULL, 32, 129) == DMP_EINVAL &&
	       dmp_rl_set_prefix(NULL, 32, 128) == 0,
	   "prefix: ranges 1..32 and 1..128");
	dmp_rl_addr_key((struct sockaddr *)&a, 32, 56, k1);
	dmp_rl_addr_key((struct sockaddr *)&b, 32, 56, k2);
	ok(memcmp(k1, k2, 17) == 0 && k1[0] == 6 && k1[7] == 0x22 && k1[8] == 0,
	   "prefix: the key is the /56, the rest zero");
}

static void test_eviction(void)
{
	struct rl *r = NULL, *bad = NULL;
	uint8_t key[17];
	uint64_t t = 5000;
	int most = 0, got;

	/* rate 2/s, burst 10, a 128-slot table (16 windows of 8). */
	is_int(dmp_rl_new_sized(&bad, 2, 10, 100), DMP_EINVAL,
	       "evict: not a power of two: EINVAL");
	is_int(dmp_rl_new_sized(&r, 2, 10, 128), 0, "evict: small table");
	if (!r) {
		skip(6, "no limiter");
		return;
	}
	memset(key, 0, sizeof(key));
	key[0] = 9;
	key[16] = 1;
	{
		int n = 0;

		while (n < 20 && dmp_rl_allow_key(r, key, t)) {
			n++;
		}
		is_int(n, 10, "evict: room in the table: a full burst");
	}
	/* An attacker cycles through 2,000 keys, draining each. */
	for (int i = 0; i < 2000; i++) {
		key[1] = (uint8_t)(i >> 8);
		key[2] = (uint8_t)i;
		key[16] = 0;
		got = 0;
		while (got < 20 && dmp_rl_allow_key(r, key, t)) {
			got++;
		}
		if (i >= 200 && got > most) {
			most = got; /* the table is full by now */
		}
	}
	is_int(most, 0,
	       "evict: same instant, full table of drained buckets: new keys "
	       "get nothing");
	/* Our first key was pushed out long ago. */
	key[1] = key[2] = 0;
	key[16] = 1;
	got = 0;
	while (got < 20 && dmp_rl_allow_key(r, key, t)) {
		got++;
	}
	is_int(got, 0, "evict: a key pushed out does not come back full");
	/* 1.5 s later every drained bucket holds 3 tokens; a newcomer gets
	 * at most a second's worth (2). */
	most = 0;
	for (int i = 0; i < 50; i++) {
		key[1] = 0xF0;
		key[2] = (uint8_t)i;
		got = 0;
		while (got < 20 && dmp_rl_allow_key(r, key, t + 1500)) {
			got++;
		}
		most = got > most ? got : most;
	}
	is_int(most, 2,
	       "evict: later, a newcomer gets a second's worth, not the "
	       "burst");
	/* A long-idle table: the displaced buckets are full; still capped. */
	key[1] = 0xF1;
	got = 0;
	while (got < 20 && dmp_rl_allow_key(r, key, t + 600000)) {
		got++;
	}
	is_int(got, 2, "evict: a stale full table: still a second's worth");
	dmp_rl_free(r);
}

int main(void)
{
	plan(20);
	test_prefix();
	test_eviction();
	return done_testing();
}
