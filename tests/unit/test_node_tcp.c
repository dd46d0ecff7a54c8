/*
 * tests/unit/test_node_tcp.c - dmp-node's TCP connection table
 * (core/src/node/node_tcpconn.c) with an explicit clock: RFC 7766 framing
 * across partial reads and interleaved connections, the per-turn bound,
 * the output cap, the message, output and idle deadlines (only whole
 * messages reset idle), the per-address limit (IPv4, IPv6 prefix,
 * IPv4-mapped), the fair-share eviction at the total cap, and the
 * counters /metrics shows.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/node.h"
#include "tap.h"

/* @p a: an IPv4 or (with a ':') IPv6 literal. */
static struct sockaddr_storage addr(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, a, &s4->sin_addr);
	}
	return ss;
}

static int open_from(struct dmp_node_tcp *t, const char *a, uint64_t now,
		     int *evicted)
{
	struct sockaddr_storage ss = addr(a);
	int ev = 0;
	int id = dmp_node_tcp_open(t, (struct sockaddr *)&ss, now, &ev);

	if (evicted) {
		*evicted = ev;
	}
	return id;
}

/* Feed @p len bytes to @p id in reads of at most @p step. @return bytes
 * taken */
static size_t feed(struct dmp_node_tcp *t, unsigned id, const uint8_t *p,
		   size_t len, size_t step, uint64_t now)
{
	size_t done = 0;

	while (done < len) {
		size_t cap, k;
		uint8_t *b = dmp_node_tcp_rbuf(t, id, &cap);

		if (!b) {
			break;
		}
		k = len - done < step ? len - done : step;
		k = k < cap ? k : cap;
		memcpy(b, p + done, k);
		dmp_node_tcp_rdone(t, id, k, now);
		done += k;
	}
	return done;
}

/* A framed "message" of @p len bytes filled with @p fill. */
static size_t frame(uint8_t *out, size_t len, uint8_t fill)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memset(out + 2, fill, len);
	return len + 2;
}

static struct dmp_node_tcp *mk(struct dmp_node_tcp_opts *o, struct dmp_node *n)
{
	struct dmp_node_tcp *t = NULL;

	if (dmp_node_tcp_new(&t, o, n) != 0) {
		return NULL;
	}
	return t;
}

static void test_opts(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t = NULL;

	dmp_node_tcp_opts_init(&o);
	is_int(o.max_clients, 256, "default max_clients 256");
	is_int(o.per_address, 16, "default per_address 16");
	o.max_clients = 0;
	is_int(dmp_node_tcp_new(&t, &o, NULL), DMP_EINVAL, "max_clients 0");
	dmp_node_tcp_opts_init(&o);
	o.v6_prefix = 129;
	is_int(dmp_node_tcp_new(&t, &o, NULL), DMP_EINVAL, "v6_prefix 129");
	ok(t == NULL, "no table on error");
}

static void test_framing(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	uint8_t buf[200], big[2 + 65535];
	size_t n = 0, len;
	const uint8_t *m;
	int a, b, rc;

	dmp_node_tcp_opts_init(&o);
	t = mk(&o, NULL);
	a = open_from(t, "10.0.0.1", 0, NULL);
	b = open_from(t, "10.0.0.2", 0, NULL);
	ok(a >= 0 && b >= 0 && a != b, "two connections");
	n += frame(buf + n, 20, 'x');
	n += frame(buf + n, 30, 'y');
	/* a gets its bytes one at a time, b in 7-byte pieces, interleaved. */
	for (size_t i = 0; i < n; i++) {
		feed(t, (unsigned)a, buf + i, 1, 1, 1);
		if (i % 7 == 0) {
			feed(t, (unsigned)b, buf + i, n - i < 7 ? n - i : 7, 7,
			     1);
		}
		if (i == 10) {
			dmp_node_tcp_turn(t, (unsigned)a);
			is_int(dmp_node_tcp_next(t, (unsigned)a, &m, &len, 1),
			       0, "no message before it is whole");
			ok(!(dmp_node_tcp_want(t, (unsigned)a) &
			     DMP_NODE_TCP_WANT_TURN),
			   "a partial message wants no turn");
		}
	}
	for (int k = 0; k < 2; k++) {
		int id = k ? b : a;

		dmp_node_tcp_turn(t, (unsigned)id);
		rc = dmp_node_tcp_next(t, (unsigned)id, &m, &len, 2);
		ok(rc == 1 && len == 20 && m[0] == 'x' && m[19] == 'x',
		   "conn %d: first message whole", k);
		rc = dmp_node_tcp_next(t, (unsigned)id, &m, &len, 2);
		ok(rc == 1 && len == 30 && m[0] == 'y' && m[29] == 'y',
		   "conn %d: second message whole", k);
		is_int(dmp_node_tcp_next(t, (unsigned)id, &m, &len, 2), 0,
		       "conn %d: nothing more", k);
	}
	/* The largest message: 65535 bytes. */
	len = frame(big, 65535, 'z');
	is_int((long long)feed(t, (unsigned)a, big, len, 5000, 3),
	       (long long)len, "a 65535-byte message fits");
	dmp_node_tcp_turn(t, (unsigned)a);
	rc = dmp_node_tcp_next(t, (unsigned)a, &m, &len, 3);
	ok(rc == 1 && len == 65535 && m[65534] == 'z', "and comes out whole");
	/* Zero and short lengths: closed as malformed. */
	n = frame(buf, 0, 0);
	feed(t, (unsigned)b, buf, n, 10, 4);
	dmp_node_tcp_turn(t, (unsigned)b);
	is_int(dmp_node_tcp_next(t, (unsigned)b, &m, &len, 4), DMP_EMALFORMED,
	       "a zero-length message is malformed");
	dmp_node_tcp_close(t, (unsigned)b);
	is_int(dmp_node_tcp_count(t), 1, "closed: one left");
	dmp_node_tcp_free(t);
}

static void test_turns(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	uint8_t buf[10 * 14];
	size_t n = 0, len;
	const uint8_t *m;
	int a, got = 0;

	dmp_node_tcp_opts_init(&o);
	o.queries_per_turn = 3;
	t = mk(&o, NULL);
	a = open_from(t, "10.0.0.1", 0, NULL);
	for (int i = 0; i < 10; i++) {
		n += frame(buf + n, 12, (uint8_t)i);
	}
	feed(t, (unsigned)a, buf, n, n, 1);
	dmp_node_tcp_turn(t, (unsigned)a);
	while (dmp_node_tcp_next(t, (unsigned)a, &m, &len, 1) == 1) {
		got++;
	}
	is_int(got, 3, "a turn answers queries_per_turn messages");
	ok(dmp_node_tcp_want(t, (unsigned)a) & DMP_NODE_TCP_WANT_TURN,
	   "and wants another turn");
	for (int k = 0; k < 3; k++) {
		dmp_node_tcp_turn(t, (unsigned)a);
		while (dmp_node_tcp_next(t, (unsigned)a, &m, &len, 1) == 1) {
			got++;
		}
	}
	is_int(got, 10, "every message in four turns");
	ok(m == NULL || m[0] == 9, "in order");
	ok(!(dmp_node_tcp_want(t, (unsigned)a) & DMP_NODE_TCP_WANT_TURN),
	   "no turn wanted once drained");
	dmp_node_tcp_free(t);
}

static void test_output_cap(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	uint8_t rep[600] = {0}, buf[64];
	size_t n, len, cap;
	const uint8_t *m;
	unsigned ids[4];
	int a;

	dmp_node_tcp_opts_init(&o);
	o.output_max = 1000;
	o.output_ms = 500;
	t = mk(&o, NULL);
	a = open_from(t, "10.0.0.1", 0, NULL);
	n = frame(buf, 12, 1);
	n += frame(buf + n, 12, 2);
	feed(t, (unsigned)a, buf, n, n, 10);
	dmp_node_tcp_turn(t, (unsigned)a);
	is_int(dmp_node_tcp_next(t, (unsigned)a, &m, &len, 10), 1, "query 1");
	is_int(dmp_node_tcp_reply(t, (unsigned)a, rep, 600), 0, "reply 1");
	is_int(dmp_node_tcp_reply(t, (unsigned)a, rep, 600), 0, "reply 2");
	is_int(dmp_node_tcp_next(t, (unsigned)a, &m, &len, 10), 0,
	       "over output_max: no more messages");
	is_int(dmp_node_tcp_want(t, (unsigned)a), DMP_NODE_TCP_WANT_WRITE,
	       "over output_max: only writing wanted");
	ok(dmp_node_tcp_rbuf(t, (unsigned)a, &cap) == NULL && cap == 0,
	   "no read buffer");
	dmp_node_tcp_wbuf(t, (unsigned)a, &len);
	is_int((long long)len, 1204, "both replies wait, framed");
	dmp_node_tcp_wdone(t, (unsigned)a, 300, 200);
	is_int(dmp_node_tcp_want(t, (unsigned)a),
	       DMP_NODE_TCP_WANT_WRITE | DMP_NODE_TCP_WANT_READ |
		   DMP_NODE_TCP_WANT_TURN,
	       "under output_max again: reading and turns resume");
	is_int((long long)dmp_node_tcp_expire(t, 600, ids, 4), 0,
	       "bytes went out at 200: not stalled at 600");
	is_int((long long)dmp_node_tcp_expire(t, 701, ids, 4), 1,
	       "no byte out for output_ms: closed");
	is_int(dmp_node_tcp_count(t), 0, "and forgotten");
	/* Over the cap for output_ms, even while some bytes go out. */
	a = open_from(t, "10.0.0.1", 1000, NULL);
	feed(t, (unsigned)a, buf, n, n, 1000);
	dmp_node_tcp_turn(t, (unsigned)a);
	dmp_node_tcp_next(t, (unsigned)a, &m, &len, 1000);
	dmp_node_tcp_reply(t, (unsigned)a, rep, 600);
	dmp_node_tcp_reply(t, (unsigned)a, rep, 600);
	dmp_node_tcp_reply(t, (unsigned)a, rep, 600);
	dmp_node_tcp_wdone(t, (unsigned)a, 10, 1300);
	is_int((long long)dmp_node_tcp_expire(t, 1400, ids, 4), 0,
	       "over the cap for 400 ms: kept");
	is_int((long long)dmp_node_tcp_expire(t, 1501, ids, 4), 1,
	       "over the cap past output_ms: closed");
	dmp_node_tcp_free(t);
}

static void test_deadlines(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	uint8_t buf[64];
	size_t n, len;
	const uint8_t *m;
	unsigned ids[4];
	int a;

	dmp_node_tcp_opts_init(&o);
	o.idle_ms = 10000;
	o.message_ms = 3000;
	t = mk(&o, NULL);
	/* Slow sender: one byte of the length prefix, then nothing whole. */
	a = open_from(t, "10.0.0.1", 0, NULL);
	buf[0] = 0;
	feed(t, (unsigned)a, buf, 1, 1, 100);
	is_int((long long)dmp_node_tcp_expire(t, 3100, ids, 4), 0,
	       "message begun 3000 ms ago: kept");
	buf[0] = 12;
	feed(t, (unsigned)a, buf, 1, 1, 3000);
	is_int((long long)dmp_node_tcp_expire(t, 3101, ids, 4), 1,
	       "a byte more does not restart the message clock: closed");
	/* Idle: only whole messages reset it. */
	a = open_from(t, "10.0.0.1", 20000, NULL);
	n = frame(buf, 12, 1);
	feed(t, (unsigned)a, buf, n, n, 25000);
	dmp_node_tcp_turn(t, (unsigned)a);
	is_int(dmp_node_tcp_next(t, (unsigned)a, &m, &len, 25000), 1,
	       "a whole message at 25000");
	is_int((long long)dmp_node_tcp_expire(t, 35000, ids, 4), 0,
	       "idle 10000 ms: kept");
	n = frame(buf, 12, 1);
	for (uint64_t now = 33000; now < 35001; now += 1000) {
		feed(t, (unsigned)a, buf + (now - 33000) / 1000, 1, 1, now);
	}
	is_int((long long)dmp_node_tcp_expire(t, 35001, ids, 4), 1,
	       "partial bytes do not reset idle: closed at 35001");
	/* The message clock stops while reading is stopped. */
	o.output_max = 100;
	o.output_ms = 60000;
	dmp_node_tcp_free(t);
	t = mk(&o, NULL);
	a = open_from(t, "10.0.0.1", 0, NULL);
	n = frame(buf, 12, 1);
	buf[n] = 0; /* and the first byte of the next */
	feed(t, (unsigned)a, buf, n + 1, n + 1, 10);
	dmp_node_tcp_turn(t, (unsigned)a);
	dmp_node_tcp_next(t, (unsigned)a, &m, &len, 10);
	dmp_node_tcp_reply(t, (unsigned)a, buf, 50);
	dmp_node_tcp_reply(t, (unsigned)a, buf, 50);
	is_int((long long)dmp_node_tcp_expire(t, 5000, ids, 4), 0,
	       "a partial message waits while replies are over the cap");
	dmp_node_tcp_wdone(t, (unsigned)a, 104, 6000);
	is_int((long long)dmp_node_tcp_expire(t, 8000, ids, 4), 0,
	       "its clock restarted when reading resumed");
	is_int((long long)dmp_node_tcp_expire(t, 9001, ids, 4), 1,
	       "and runs out message_ms later");
	dmp_node_tcp_free(t);
}

static void test_per_address(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	int a1, a2;

	dmp_node_tcp_opts_init(&o);
	is_int(o.v6_prefix, 56, "IPv6 counted by the rate limiter's /56");
	o.per_address = 2;
	o.v6_prefix = 64;
	t = mk(&o, NULL);
	a1 = open_from(t, "10.0.0.1", 0, NULL);
	a2 = open_from(t, "10.0.0.1", 0, NULL);
	ok(a1 >= 0 && a2 >= 0, "two from one IPv4 address");
	is_int(open_from(t, "10.0.0.1", 0, NULL), DMP_EBUSY,
	       "the third is refused");
	is_int(open_from(t, "::ffff:10.0.0.1", 0, NULL), DMP_EBUSY,
	       "also as an IPv4-mapped IPv6 address");
	ok(open_from(t, "10.0.0.2", 0, NULL) >= 0, "another address is not");
	dmp_node_tcp_close(t, (unsigned)a1);
	ok(open_from(t, "10.0.0.1", 0, NULL) >= 0, "a closed one frees one");
	ok(open_from(t, "2001:db8::1", 0, NULL) >= 0 &&
	       open_from(t, "2001:db8::ffff:2", 0, NULL) >= 0,
	   "two from one IPv6 /64");
	is_int(open_from(t, "2001:db8::3", 0, NULL), DMP_EBUSY,
	       "the third from that /64 is refused");
	ok(open_from(t, "2001:db8:0:1::1", 0, NULL) >= 0,
	   "the next /64 is another address");
	dmp_node_tcp_free(t);
	o.v4_prefix = 24;
	o.v6_prefix = 56;
	t = mk(&o, NULL);
	ok(open_from(t, "10.0.0.1", 0, NULL) >= 0 &&
	       open_from(t, "10.0.0.200", 0, NULL) >= 0,
	   "two from one IPv4 /24");
	is_int(open_from(t, "10.0.0.7", 0, NULL), DMP_EBUSY,
	       "a third from that /24 is refused");
	ok(open_from(t, "2001:db8::1", 0, NULL) >= 0 &&
	       open_from(t, "2001:db8:0:ff::1", 0, NULL) >= 0,
	   "two from one IPv6 /56");
	is_int(open_from(t, "2001:db8:0:1::1", 0, NULL), DMP_EBUSY,
	       "a third from that /56 is refused");
	dmp_node_tcp_free(t);
}

static void test_eviction(void)
{
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	int ids[4], ev = 0, id;

	dmp_node_tcp_opts_init(&o);
	o.max_clients = 4;
	o.per_address = 0;
	t = mk(&o, NULL);
	for (int i = 0; i < 4; i++) {
		ids[i] = open_from(t, "10.0.0.1", (uint64_t)i * 10, NULL);
	}
	id = open_from(t, "10.0.0.2", 50, &ev);
	ok(id == ids[0] && ev == 1,
	   "full: the address with the most gives up its longest idle");
	id = open_from(t, "10.0.0.3", 60, &ev);
	ok(id == ids[1] && ev == 1, "again (3 against 0)");
	id = open_from(t, "10.0.0.4", 70, &ev);
	ok(id == ids[2] && ev == 1, "again (2 against 0)");
	is_int(open_from(t, "10.0.0.5", 80, &ev), DMP_EBUSY,
	       "one each, all younger than the grace: refused");
	id = open_from(t, "10.0.0.5", 30 + DMP_NODE_TCP_EVICT_GRACE_MS, &ev);
	ok(id == ids[3] && ev == 1, "past the grace: the longest idle goes");
	is_int(dmp_node_tcp_count(t), 4, "still four");
	dmp_node_tcp_free(t);
	/* An address holding most of the table cannot take the others'. */
	t = mk(&o, NULL);
	for (int i = 0; i < 3; i++) {
		open_from(t, "10.0.0.1", 0, NULL);
	}
	ids[0] = open_from(t, "10.0.0.2", 0, NULL);
	is_int(open_from(t, "10.0.0.1", 5000, &ev), DMP_EBUSY,
	       "the biggest address gets no one else's idle connection");
	id = open_from(t, "10.0.0.3", 5000, &ev);
	ok(id >= 0 && id != ids[0] && ev == 1,
	   "a newcomer takes one of the biggest address's");
	dmp_node_tcp_free(t);
}

static void test_counters(void)
{
	struct dmp_node_opts no;
	struct dmp_node *n = NULL;
	struct dmp_node_tcp_opts o;
	struct dmp_node_tcp *t;
	uint64_t ev[DMP_NODE_TCP_EV_MAX], open;
	unsigned ids[4];

	dmp_node_opts_init(&no);
	no.db_path = ":memory:";
	snprintf(no.zones[0].name, sizeof(no.zones[0].name), "mesh.test");
	no.n_zones = 1;
	if (dmp_node_new(&n, &no, 1000) != 0) {
		skip(4, "no node");
		return;
	}
	dmp_node_tcp_opts_init(&o);
	o.per_address = 1;
	t = mk(&o, n);
	open_from(t, "10.0.0.1", 0, NULL);
	open_from(t, "10.0.0.1", 0, NULL);
	open_from(t, "10.0.0.2", 0, NULL);
	dmp_node_tcp_stats(n, ev, &open);
	is_int((long long)open, 2, "two open");
	is_int((long long)ev[DMP_NODE_TCP_REF_ADDRESS], 1, "one refused");
	dmp_node_tcp_expire(t, 20000, ids, 4);
	dmp_node_tcp_stats(n, ev, &open);
	is_int((long long)ev[DMP_NODE_TCP_IDLE], 2, "two closed idle");
	dmp_node_tcp_free(t);
	dmp_node_tcp_stats(n, ev, &open);
	is_int((long long)open, 0, "none open after free");
	dmp_node_free(n);
}

int main(void)
{
	plan(69);
	test_opts();
	test_framing();
	test_turns();
	test_output_cap();
	test_deadlines();
	test_per_address();
	test_eviction();
	test_counters();
	return done_testing();
}
