/*
 * tests/unit/test_node_ixfr.c - IXFR (RFC 1995) out of the change journal
 * (core/src/node/node_xjournal.c, node_xfr.c): the difference sequences
 * of one and of several changes, a client up to date (the SOA alone), the
 * fallbacks to the full zone (unknown, pruned or newer serial, no SOA in
 * the request, journal off), FORMERR for a bad SOA, a zone's changes kept
 * apart from another's, expiry journaled at the reap, the journal kept
 * across a restart and dropped when it no longer reaches the serial.
 * Replies are parsed with libknot, an independent implementation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libknot/libknot.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "node/node_i.h"
#include "tap.h"

#define ZONE "mesh.test"
#define ZONE2 "other.test"
#define MAXRR 4096

static char dir[] = "/tmp/test_node_ixfr.XXXXXX";
static char dbpath[300];
static const uint64_t T0 = 1893456000000ULL; /* 2030, in ms */

/* ---- requests ---- */

struct msg {
	uint8_t w[1024];
	size_t len;
};

/* IXFR for @p zone from @p serial; @p how 0: SOA owner a pointer to the
 * question, 1: no SOA, 2: the SOA's RDATA cut short. Written with the
 * library's writer; the replies are read with libknot. */
static void ixfr(struct msg *m, const char *zone, uint32_t serial, int how)
{
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	size_t nlen = 0;
	struct dmp_wbuf w;

	dmp_wbuf_init(&w, m->w, sizeof(m->w));
	dmp_wbuf_u16(&w, 0x5151);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_u16(&w, 1);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_u16(&w, how == 1 ? 0 : 1);
	dmp_wbuf_u16(&w, 0);
	(void)dmp_dnswire_from_text(zone, name, &nlen);
	dmp_wbuf_put(&w, name, nlen);
	dmp_wbuf_u16(&w, 251);
	dmp_wbuf_u16(&w, 1);
	if (how != 1) {
		dmp_wbuf_u16(&w, 0xC00C);
		dmp_wbuf_u16(&w, 6);
		dmp_wbuf_u16(&w, 1);
		dmp_wbuf_u32(&w, 0);
		dmp_wbuf_u16(&w, how == 2 ? 6 : 22);
		dmp_wbuf_u16(&w, 0); /* MNAME and RNAME: the root */
		dmp_wbuf_u32(&w, serial);
		for (int i = 0; how != 2 && i < 4; i++) {
			dmp_wbuf_u32(&w, 3600);
		}
	}
	m->len = w.len;
}

/* ---- replies ---- */

struct col {
	int msgs, rcode, bad;
	int n;
	uint16_t type[MAXRR];
	uint32_t serial[MAXRR]; /* SOA */
	char txt[MAXRR][24];	/* TXT: start of the first string */
	size_t bytes;
};

static int col_out(const uint8_t *msg, size_t len, void *ud)
{
	struct col *c = ud;
	uint8_t copy[65535];
	knot_pkt_t *p;
	const knot_pktsection_t *an;

	memcpy(copy, msg, len);
	c->bytes += len;
	p = knot_pkt_new(copy, (uint16_t)len, NULL);
	if (!p || knot_pkt_parse(p, 0) != KNOT_EOK ||
	    knot_wire_get_id(msg) != 0x5151) {
		c->bad++;
		knot_pkt_free(p);
		return -1;
	}
	c->rcode = knot_wire_get_rcode(msg);
	an = knot_pkt_section(p, KNOT_ANSWER);
	for (uint16_t i = 0; i < an->count && c->n < MAXRR; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);
		const uint8_t *d = rr->rrs.rdata->data;

		c->type[c->n] = rr->type;
		if (rr->type == KNOT_RRTYPE_SOA) {
			c->serial[c->n] = knot_soa_serial(rr->rrs.rdata);
		} else if (rr->type == KNOT_RRTYPE_TXT) {
			size_t l = d[0] < 23 ? d[0] : 23;

			memcpy(c->txt[c->n], d + 1, l);
			c->txt[c->n][l] = '\0';
		}
		c->n++;
	}
	c->msgs++;
	knot_pkt_free(p);
	return 0;
}

static void xfr(struct dmp_node *n, const struct msg *m, struct col *c,
		uint64_t now)
{
	struct sockaddr_in a;

	memset(c, 0, sizeof(*c));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (dmp_node_handle_stream(n, m->w, m->len, (struct sockaddr *)&a,
				   col_out, c, now) != 0) {
		c->bad++;
	}
}

static int count(const struct col *c, uint16_t type)
{
	int k = 0;

	for (int i = 0; i < c->n; i++) {
		k += c->type[i] == type;
	}
	return k;
}

/* The full zone in AXFR form: SOA, ..., SOA, no other SOA. */
static int is_axfr(const struct col *c, uint32_t serial)
{
	return c->n >= 2 && count(c, KNOT_RRTYPE_SOA) == 2 &&
	       c->type[0] == KNOT_RRTYPE_SOA && c->serial[0] == serial &&
	       c->type[c->n - 1] == KNOT_RRTYPE_SOA;
}

/* ---- the node ---- */

static struct dmp_node *open_node(uint32_t changes, uint64_t now)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = dbpath;
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", ZONE);
	snprintf(o.zones[1].name, sizeof(o.zones[1].name), "%s", ZONE2);
	o.n_zones = 2;
	snprintf(o.xfr_allow[0], sizeof(o.xfr_allow[0]), "127.0.0.1");
	o.n_xfr_allow = 1;
	o.xfr_journal_changes = changes;
	o.max_values_per_name = 4096;
	if (dmp_node_new(&n, &o, now) != 0) {
		return NULL;
	}
	return n;
}

static int del_one(struct dmp_node *n, const char *name, const char *v,
		   uint64_t now)
{
	struct nop op;

	if (dmp_ni_op_init(n, &op, NOP_DEL_ONE, name, 0) < 0) {
		return -1;
	}
	op.value = strdup(v);
	op.vlen = strlen(v);
	return dmp_nu_write_op(n, &op, 1, now, NULL);
}

static void test_ixfr(void)
{
	uint64_t now = T0;
	struct dmp_node *n = open_node(100, now);
	struct col *c = calloc(1, sizeof(*c));
	struct msg m;
	uint32_t s0, s1, s2, s3;
	int rc = 0;

	if (!ok(n && c, "node")) {
		dmp_node_free(n);
		free(c);
		return;
	}
	for (int i = 0; i < 50 && rc == 0; i++) {
		char name[64], v[32];

		snprintf(name, sizeof(name), "slot-%d.mb-a.%s", i % 5, ZONE);
		snprintf(v, sizeof(v), "value-%02d", i);
		rc = dmp_node_put(n, name, v, 3600, 0, now);
	}
	is_int(rc, 0, "50 values stored");
	s0 = dmp_node_serial(n);
	ixfr(&m, ZONE, s0, 0);
	xfr(n, &m, c, now);
	ok(c->n == 1 && c->type[0] == KNOT_RRTYPE_SOA && c->serial[0] == s0 &&
	       c->msgs == 1 && c->rcode == 0,
	   "up to date: the SOA alone");

	{
		uint8_t resp[1232];
		struct sockaddr_in a;
		int len;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(0x7f000009); /* not allowed */
		ixfr(&m, ZONE, s0 - 1, 0);
		len = dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP,
				      (struct sockaddr *)&a, resp, sizeof(resp),
				      now);
		ok(len > 12 && (resp[3] & 0x0F) == 0 && resp[7] == 1 &&
		       resp[len - 20] == (uint8_t)(s0 >> 24) &&
		       resp[len - 17] == (uint8_t)s0,
		   "UDP: the current SOA alone (RFC 1995 2)");
		ixfr(&m, "slot-1.mb-a." ZONE, s0, 0);
		len = dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP,
				      (struct sockaddr *)&a, resp, sizeof(resp),
				      now);
		ok(len >= 12 && (resp[3] & 0x0F) == KNOT_RCODE_REFUSED,
		   "UDP: not at the apex: REFUSED");
	}

	/* One change: a value replaced by another, in one commit. */
	is_int(dmp_node_put(n, "slot-1.mb-a." ZONE, "changed", 3600, 1, now), 0,
	       "replace slot-1's 10 values by one");
	s1 = dmp_node_serial(n);
	ok(dmp_ni_serial_lt(s0, s1), "serial grew (%u -> %u)", s0, s1);
	ixfr(&m, ZONE, s0, 0);
	xfr(n, &m, c, now);
	ok(c->bad == 0 && c->rcode == 0, "IXFR parsed");
	ok(c->n == 15 && c->type[0] == KNOT_RRTYPE_SOA && c->serial[0] == s1 &&
	       c->type[1] == KNOT_RRTYPE_SOA && c->serial[1] == s0 &&
	       c->type[12] == KNOT_RRTYPE_SOA && c->serial[12] == s1 &&
	       c->type[14] == KNOT_RRTYPE_SOA && c->serial[14] == s1,
	   "SOA new, SOA old, 10 removed, SOA new, 1 added, SOA new (%d RRs)",
	   c->n);
	ok(count(c, KNOT_RRTYPE_TXT) == 11 &&
	       strcmp(c->txt[13], "changed") == 0,
	   "the added one is 'changed'");
	{
		int slot1 = 0;

		for (int i = 2; i < 12; i++) {
			slot1 += strncmp(c->txt[i], "value-", 6) == 0 &&
				 atoi(c->txt[i] + 6) % 5 == 1;
		}
		is_int(slot1, 10, "the removed ones are slot-1's");
	}

	/* Two more: a delete and an add in the other zone. */
	is_int(del_one(n, "slot-2.mb-a." ZONE, "value-02", now),
	       DMP_DNS_RCODE_NOERROR, "delete one value");
	s2 = dmp_node_serial(n);
	is_int(dmp_node_put(n, "x." ZONE2, "elsewhere", 3600, 0, now), 0,
	       "a value in the other zone");
	s3 = dmp_node_serial(n);
	ixfr(&m, ZONE, s0, 0);
	xfr(n, &m, c, now);
	ok(c->n == 20 && count(c, KNOT_RRTYPE_SOA) == 8 && c->serial[0] == s3 &&
	       c->serial[14] == s1 && strcmp(c->txt[15], "value-02") == 0 &&
	       c->serial[16] == s2 && c->serial[17] == s2 &&
	       c->serial[18] == s3 && c->serial[19] == s3,
	   "three changes from s0; the other zone's as an empty one");
	ixfr(&m, ZONE2, s2, 0);
	xfr(n, &m, c, now);
	ok(c->n == 5 && count(c, KNOT_RRTYPE_TXT) == 1 &&
	       strcmp(c->txt[3], "elsewhere") == 0,
	   "the other zone: its own change");

	/* Fallbacks to the full zone. */
	ixfr(&m, ZONE, s0 - 100, 0);
	xfr(n, &m, c, now);
	ok(is_axfr(c, s3) && count(c, KNOT_RRTYPE_TXT) == 50 - 10 + 1 - 1,
	   "serial the journal does not know: the zone (%d TXT)",
	   count(c, KNOT_RRTYPE_TXT));
	ixfr(&m, ZONE, s3 + 5, 0);
	xfr(n, &m, c, now);
	ok(is_axfr(c, s3), "client ahead of us: the zone");
	ixfr(&m, ZONE, s0, 1);
	xfr(n, &m, c, now);
	ok(is_axfr(c, s3), "no SOA in the request: the zone");
	ixfr(&m, ZONE, s0, 2);
	xfr(n, &m, c, now);
	ok(c->msgs == 1 && c->rcode == KNOT_RCODE_FORMERR && c->n == 0,
	   "SOA cut short: FORMERR");

	/* Expiry: a value with a short TTL leaves at the reap with a bump. */
	is_int(dmp_node_put(n, "slot-9.mb-a." ZONE, "brief", 5, 0, now), 0,
	       "a value for 5 s");
	s0 = dmp_node_serial(n);
	ok(dmp_node_maintain(n, now + 6000) >= 1, "reaped");
	s1 = dmp_node_serial(n);
	ok(dmp_ni_serial_lt(s0, s1), "the reap bumped the serial");
	ixfr(&m, ZONE, s0, 0);
	xfr(n, &m, c, now + 6000);
	ok(c->n == 5 && c->type[2] == KNOT_RRTYPE_TXT &&
	       strcmp(c->txt[2], "brief") == 0 && c->serial[3] == s1,
	   "the expired value journaled as removed");

	/* Kept across a restart. */
	dmp_node_free(n);
	n = open_node(100, now + 7000);
	if (!ok(n != NULL, "reopened")) {
		free(c);
		return;
	}
	is_int(dmp_node_serial(n), s1, "same serial after restart");
	ixfr(&m, ZONE, s0, 0);
	xfr(n, &m, c, now + 7000);
	ok(c->n == 5 && strcmp(c->txt[2], "brief") == 0,
	   "journal read back from the store");

	/* A value that expires while the node is down: loaded, hidden, and
	 * removed by the first reap with a journal entry. */
	is_int(dmp_node_put(n, "slot-8.mb-a." ZONE, "gone", 5, 0, now + 7000),
	       0, "another brief value");
	s2 = dmp_node_serial(n);
	dmp_node_free(n);
	n = open_node(100, now + 20000);
	if (!ok(n != NULL, "reopened later")) {
		free(c);
		return;
	}
	is_int(dmp_node_serial(n), s2,
	       "expired while down: same serial at start");
	ok(dmp_node_maintain(n, now + 20000) >= 1 &&
	       dmp_ni_serial_lt(s2, dmp_node_serial(n)),
	   "first reap: removed with a new serial");
	ixfr(&m, ZONE, s2, 0);
	xfr(n, &m, c, now + 20000);
	ok(c->n == 5 && strcmp(c->txt[2], "gone") == 0,
	   "and journaled: an IXFR from before gets its removal");
	dmp_node_free(n);
	free(c);
}

static void test_prune_and_off(void)
{
	uint64_t now = T0 + 100000;
	struct dmp_node *n;
	struct col *c = calloc(1, sizeof(*c));
	struct msg m;
	uint32_t s[6];

	{
		char p[320];

		unlink(dbpath);
		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
	}
	n = open_node(3, now);
	if (!ok(n && c, "node with a journal of 3 changes")) {
		dmp_node_free(n);
		free(c);
		return;
	}
	s[0] = dmp_node_serial(n);
	for (int i = 1; i < 6; i++) {
		char v[16];

		snprintf(v, sizeof(v), "v%d", i);
		if (dmp_node_put(n, "a." ZONE, v, 3600, 0, now) != 0) {
			break;
		}
		s[i] = dmp_node_serial(n);
	}
	ixfr(&m, ZONE, s[2], 0);
	xfr(n, &m, c, now);
	ok(c->n == 2 + 3 * 3 && count(c, KNOT_RRTYPE_TXT) == 3,
	   "the 3 newest changes kept");
	ixfr(&m, ZONE, s[1], 0);
	xfr(n, &m, c, now);
	ok(is_axfr(c, s[5]) && count(c, KNOT_RRTYPE_TXT) == 5,
	   "older one pruned: the zone");
	dmp_node_free(n);

	n = open_node(0, now);
	if (!ok(n != NULL, "reopened without a journal")) {
		free(c);
		return;
	}
	ixfr(&m, ZONE, s[4], 0);
	xfr(n, &m, c, now);
	ok(is_axfr(c, s[5]), "journal off: the zone");
	dmp_node_free(n);
	n = open_node(3, now);
	ixfr(&m, ZONE, s[4], 0);
	xfr(n, &m, c, now);
	ok(n && c->n == 5 && strcmp(c->txt[3], "v5") == 0,
	   "on again, nothing changed meanwhile: the saved entries serve");
	if (n && dmp_node_put(n, "a." ZONE, "v6", 3600, 0, now) == 0) {
		dmp_node_free(n);
		n = open_node(0, now);
		if (n && dmp_node_put(n, "a." ZONE, "v7", 3600, 0, now) == 0) {
			dmp_node_free(n);
			n = open_node(3, now);
		}
	}
	ixfr(&m, ZONE, s[5], 0);
	xfr(n, &m, c, now);
	ok(n && is_axfr(c, dmp_node_serial(n)),
	   "a change while it was off: the chain is dropped");
	{
		uint32_t before = n ? dmp_node_serial(n) : 0;
		sqlite3 *db = NULL;

		ok(n && dmp_node_put(n, "a." ZONE, "v8", 3600, 0, now) == 0,
		   "one more change, journaled");
		dmp_node_free(n);
		/* A damaged row: the journal is dropped, never walked. */
		ok(sqlite3_open(dbpath, &db) == SQLITE_OK &&
		       sqlite3_exec(db,
				    "UPDATE xfr_journal SET rrs = x'04616263'"
				    " WHERE seq = (SELECT max(seq) FROM"
				    " xfr_journal)",
				    NULL, NULL, NULL) == SQLITE_OK &&
		       sqlite3_changes(db) == 1,
		   "damage its row");
		sqlite3_close(db);
		n = open_node(3, now);
		ixfr(&m, ZONE, before, 0);
		xfr(n, &m, c, now);
		ok(n && is_axfr(c, dmp_node_serial(n)),
		   "damaged row: the zone");
	}
	dmp_node_free(n);
	free(c);
}

static void test_serial_parse(void)
{
	static const uint8_t zone[] = "\4mesh\4test";
	struct msg m;
	uint32_t serial = 0;

	ixfr(&m, ZONE, 0x01020304, 0);
	is_int(dmp_nx_ixfr_serial(m.w, m.len, 12 + 11 + 4, zone, &serial), 0,
	       "serial read (owner compressed)");
	is_int(serial, 0x01020304, "its value");
	ixfr(&m, ZONE2, 7, 0);
	is_int(dmp_nx_ixfr_serial(m.w, m.len, 12 + 12 + 4, zone, &serial),
	       DMP_ENOENT, "SOA of another zone: none");
	ixfr(&m, ZONE, 7, 2);
	is_int(dmp_nx_ixfr_serial(m.w, m.len, 12 + 11 + 4, zone, &serial),
	       DMP_EMALFORMED, "RDATA cut short");
	ixfr(&m, ZONE, 7, 0);
	is_int(dmp_nx_ixfr_serial(m.w, m.len - 3, 12 + 11 + 4, zone, &serial),
	       DMP_EMALFORMED, "message cut short");
	ok(dmp_ni_serial_lt(0xFFFFFFF0u, 5) &&
	       !dmp_ni_serial_lt(5, 0xFFFFFFF0u) && !dmp_ni_serial_lt(5, 5) &&
	       dmp_ni_serial_lt(5, 6),
	   "RFC 1982 comparison across the wrap");
}

int main(void)
{
	plan(47);
	if (!mkdtemp(dir)) {
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/node.db", dir);
	test_serial_parse();
	test_ixfr();
	test_prune_and_off();
	unlink(dbpath);
	{
		char p[320];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
	}
	rmdir(dir);
	return done_testing();
}
