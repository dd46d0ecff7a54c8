/*
 * tests/unit/test_node.c - the node engine through dmp_node_handle():
 * the dns_update.json vectors, queries (NXDOMAIN/NODATA/SOA, EDNS,
 * truncation, case), UPDATE checks in PROTOCOL.md 7.1 order, expiry,
 * persistence. Requests are signed, and replies parsed and verified, with
 * libknot, an independent implementation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libknot/libknot.h>

#include "dmp/b64.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "dmp/txt.h"
#include "tap.h"
#include "vec.h"

#define ZONE "mesh.test"
#define KEY "alice-e6b58e23-541308.mesh.test."
#define SECRET_HEX                                                             \
	"ca294c0ea7bfc86b5bb5f6a2b378f7f5ad27bb3d58d3c0fe4f3cd2b92e20c087"
#define T2030 1893456000ULL

static char dbpath[256];
static uint8_t secret[32];

static int rd16_test(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

/* ---- message building ---- */

struct msg {
	uint8_t w[65536];
	size_t len;
};

static void put16(struct msg *m, unsigned v)
{
	m->w[m->len++] = (uint8_t)(v >> 8);
	m->w[m->len++] = (uint8_t)v;
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xFFFF);
}

static void put_name(struct msg *m, const char *name)
{
	const char *p = name;

	while (*p) {
		size_t l = strcspn(p, ".");

		m->w[m->len++] = (uint8_t)l;
		memcpy(m->w + m->len, p, l);
		m->len += l;
		p += l;
		if (*p == '.') {
			p++;
		}
	}
	m->w[m->len++] = 0;
}

static void header(struct msg *m, unsigned id, unsigned opcode, unsigned qd,
		   unsigned an, unsigned ns, unsigned ar)
{
	m->len = 0;
	put16(m, id);
	m->w[m->len++] = (uint8_t)(opcode << 3 | (opcode == 0 ? 1 : 0));
	m->w[m->len++] = 0;
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void query(struct msg *m, const char *name, unsigned type,
		  int edns_payload)
{
	header(m, 0x4242, 0, 1, 0, 0, edns_payload ? 1 : 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	if (edns_payload) {
		m->w[m->len++] = 0;
		put16(m, 41);
		put16(m, (unsigned)edns_payload);
		put32(m, 0);
		put16(m, 0);
	}
}

struct upd {
	const char *owner;
	unsigned cls; /* 1 add, 254 delete one, 255 delete all */
	uint32_t ttl;
	const char *value;
	unsigned type; /* 0: TXT */
};

static void update(struct msg *m, unsigned id, const char *zone,
		   const struct upd *u, size_t n)
{
	header(m, id, 5, 1, 0, (unsigned)n, 0);
	put_name(m, zone);
	put16(m, 6);
	put16(m, 1);
	for (size_t i = 0; i < n; i++) {
		size_t vl = u[i].value ? strlen(u[i].value) : 0;
		int rdl = 0;

		put_name(m, u[i].owner);
		put16(m, u[i].type ? u[i].type : 16);
		put16(m, u[i].cls);
		put32(m, u[i].ttl);
		if (u[i].cls == 255) {
			put16(m, 0);
			continue;
		}
		rdl = dmp_txt_split(m->w + m->len + 2, 65535, u[i].value, vl);
		put16(m, (unsigned)rdl);
		m->len += (size_t)rdl;
	}
}

static knot_tsig_key_t mkkey(const char *name, const uint8_t *sec)
{
	knot_tsig_key_t k;
	char b64[64];

	memset(&k, 0, sizeof(k));
	(void)dmp_b64_encode(b64, sizeof(b64), sec, 32);
	if (knot_tsig_key_init(&k, "hmac-sha256", name, b64) != KNOT_EOK) {
		abort();
	}
	return k;
}

/* Sign @p m with knot (time: now). Returns the request MAC in @p mac. */
static void sign(struct msg *m, const char *keyname, const uint8_t *sec,
		 uint8_t *mac, size_t *mac_len)
{
	knot_tsig_key_t k = mkkey(keyname, sec);

	*mac_len = 64;
	if (knot_tsig_sign(m->w, &m->len, sizeof(m->w), NULL, 0, mac, mac_len,
			   &k, 0, 0) != KNOT_EOK) {
		abort();
	}
	knot_tsig_key_deinit(&k);
}

/* ---- reply inspection ---- */

struct reply {
	int len;
	uint8_t w[65536];
	knot_pkt_t *pkt;
};

static uint64_t now_ms_real(void)
{
	return (uint64_t)time(NULL) * 1000;
}

/* Defaults, an in-memory store, and ZONE. */
static void mem_opts(struct dmp_node_opts *o)
{
	dmp_node_opts_init(o);
	o->db_path = ":memory:";
	snprintf(o->zones[0].name, sizeof(o->zones[0].name), "%s", ZONE);
	o->n_zones = 1;
}

static int ask(struct dmp_node *n, struct reply *r, const struct msg *m,
	       enum dmp_node_transport t, uint64_t now_ms)
{
	if (r->pkt) {
		knot_pkt_free(r->pkt);
		r->pkt = NULL;
	}
	r->len = dmp_node_handle(n, m->w, m->len, t, NULL, r->w,
				 t == DMP_NODE_TCP ? 65535 : 4096, now_ms);
	if (r->len <= 0) {
		return r->len;
	}
	r->pkt = knot_pkt_new(r->w, (uint16_t)r->len, NULL);
	if (!r->pkt || knot_pkt_parse(r->pkt, 0) != KNOT_EOK) {
		diag("knot could not parse the reply");
		return -1;
	}
	return knot_wire_get_rcode(r->w);
}

static unsigned count(const struct reply *r, knot_section_t s)
{
	return r->pkt ? knot_pkt_section(r->pkt, s)->count : 0;
}

/* The joined TXT values of the answer, "|"-separated, in order. */
static void answers(const struct reply *r, char *out, size_t cap)
{
	const knot_pktsection_t *s = knot_pkt_section(r->pkt, KNOT_ANSWER);
	size_t off = 0;

	out[0] = '\0';
	for (uint16_t i = 0; i < s->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(s, i);
		const knot_rdata_t *rd = rr->rrs.rdata;
		char v[4096];
		size_t vl;

		if (rr->type != KNOT_RRTYPE_TXT ||
		    dmp_txt_join(v, sizeof(v), &vl, rd->data, rd->len) < 0) {
			snprintf(out, cap, "<bad rr>");
			return;
		}
		off += (size_t)snprintf(out + off, cap - off, "%s%s",
					i ? "|" : "", v);
		if (off >= cap) {
			return;
		}
	}
}

static int has_soa_auth(const struct reply *r)
{
	const knot_pktsection_t *s = knot_pkt_section(r->pkt, KNOT_AUTHORITY);

	return s->count == 1 && knot_pkt_rr(s, 0)->type == KNOT_RRTYPE_SOA;
}

static int tsig_error(const struct reply *r)
{
	if (!r->pkt || !r->pkt->tsig_rr) {
		return -1;
	}
	return knot_tsig_rdata_error(r->pkt->tsig_rr);
}

static struct dmp_node *open_node(uint64_t now_ms)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = dbpath;
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", ZONE);
	snprintf(o.zones[0].ns[0], sizeof(o.zones[0].ns[0]), "ns1.%s", ZONE);
	snprintf(o.zones[0].ns[1], sizeof(o.zones[0].ns[1]), "ns2.%s", ZONE);
	o.zones[0].n_ns = 2;
	o.zones[0].a[0][0] = 192;
	o.zones[0].a[0][1] = 0;
	o.zones[0].a[0][2] = 2;
	o.zones[0].a[0][3] = 1;
	o.zones[0].n_a = 1;
	snprintf(o.zones[1].name, sizeof(o.zones[1].name), "other.example");
	snprintf(o.zones[2].name, sizeof(o.zones[2].name), "deep.mesh.test");
	o.n_zones = 3;
	/* The tests below fill names through keys that do not own them;
	 * the per-writer share of a name is tested on its own. */
	o.foreign_values_max = 4095;
	o.foreign_bytes_max = DMP_NODE_NAME_BYTES_FIT - 1;
	if (dmp_node_new(&n, &o, now_ms) != 0) {
		return NULL;
	}
	return n;
}

/* ---- tests ---- */

static void test_scope(void)
{
	static const struct {
		const char *scope, *owner;
		int want;
	} t[] = {
	    {"mesh.test", "mesh.test", 1},
	    {"mesh.test", "a.b.mesh.test", 1},
	    {"mesh.test", "xmesh.test", 0},
	    {"mesh.test", "test", 0},
	    {"slot-*.mb-*.mesh.test", "slot-3.mb-abc.mesh.test", 1},
	    {"slot-*.mb-*.mesh.test", "slot-.mb-.mesh.test", 1},
	    {"slot-*.mb-*.mesh.test", "slot-3.x.mb-abc.mesh.test", 0},
	    {"slot-*.mb-*.mesh.test", "x.slot-3.mb-abc.mesh.test", 1},
	    {"chunk-*-*.mesh.test", "chunk-0000-5ec1.mesh.test", 1},
	    {"chunk-*-*.mesh.test", "chunk-0000.mesh.test", 0},
	    {"id-abc.mesh.test", "rotate.id-abc.mesh.test", 1},
	    {"id-abc.mesh.test", "id-abcd.mesh.test", 0},
	    {"*.mesh.test", "a.mesh.test", 1},
	    {"", "mesh.test", 0},
	};

	for (size_t i = 0; i < DMP_ARRAY_LEN(t); i++) {
		is_int(dmp_node_scope_match(t[i].scope, t[i].owner), t[i].want,
		       "scope %s vs %s", t[i].scope, t[i].owner);
	}
}

static void test_vectors(struct dmp_node *n, struct reply *r)
{
	json_t *v = vec_load("dns_update.json");
	json_t *cases = json_object_get(v, "cases");

	ok(json_array_size(cases) == 2, "two dns_update vectors");
	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		struct msg m, qm;
		size_t len = 0;
		uint8_t *wire = vec_hex(c, "update_wire_hex", &len);
		uint64_t t = (uint64_t)vec_int(c, "tsig_time_signed");
		char got[8192];

		memcpy(m.w, wire, len);
		m.len = len;
		free(wire);
		/* Outside the fudge: BADTIME, nothing stored. */
		is_int(ask(n, r, &m, DMP_NODE_UDP, (t + 301) * 1000), 9,
		       "vector %zu: 301 s late is NOTAUTH", i);
		is_int(tsig_error(r), 18, "vector %zu: BADTIME", i);
		query(&qm, vec_str(c, "name"), 16, 4096);
		is_int(ask(n, r, &qm, DMP_NODE_TCP, t * 1000), 3,
		       "vector %zu: still NXDOMAIN", i);
		/* At its time: accepted and signed. */
		is_int(ask(n, r, &m, DMP_NODE_UDP, t * 1000), 0,
		       "vector %zu: NOERROR", i);
		is_int(tsig_error(r), 0, "vector %zu: reply signed", i);
		ok(r->pkt && r->pkt->tsig_rr &&
		       knot_tsig_rdata_mac_length(r->pkt->tsig_rr) == 32,
		   "vector %zu: reply MAC present", i);
		is_int(ask(n, r, &qm, DMP_NODE_TCP, t * 1000), 0,
		       "vector %zu: served", i);
		answers(r, got, sizeof(got));
		is_str(got, vec_str(c, "value"), "vector %zu: value joined", i);
		/* The same bytes again, 299 s early (inside the fudge): a
		 * replay, refused with a signed NOTAUTH. */
		is_int(ask(n, r, &m, DMP_NODE_UDP, (t - 299) * 1000), 9,
		       "vector %zu: replayed inside the fudge: NOTAUTH", i);
		is_int(tsig_error(r), 0, "vector %zu: replay reply signed", i);
	}
	json_decref(v);
}

static void test_queries(struct dmp_node *n, struct reply *r)
{
	struct msg m;
	uint64_t now = T2030 * 1000;
	char got[8192];

	query(&m, "ChUnK-0000-5EC14F93DB0A.MeSh.TeSt", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0, "mixed case: NOERROR");
	ok(r->len > 12 + 35 && memcmp(r->w + 12, m.w + 12, 35) == 0,
	   "mixed case: question echoed exactly");
	ok(knot_wire_get_aa(r->w), "AA set");
	is_int(count(r, KNOT_ANSWER), 1, "one TXT");
	is_int(r->pkt
		   ? knot_pkt_rr(knot_pkt_section(r->pkt, KNOT_ANSWER), 0)->ttl
		   : 0,
	       60, "answer TTL 60");

	query(&m, "mb-000000000000.mesh.test", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0,
	       "empty non-terminal: NOERROR (RFC 8020)");
	ok(count(r, KNOT_ANSWER) == 0 && has_soa_auth(r),
	   "empty non-terminal: NODATA with SOA");
	query(&m, "nope.mesh.test", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 3, "NXDOMAIN");
	ok(has_soa_auth(r), "NXDOMAIN: SOA in authority");
	query(&m, "chunk-0000-5ec14f93db0a.mesh.test", 1, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0, "A at TXT name: NOERROR");
	ok(count(r, KNOT_ANSWER) == 0 && has_soa_auth(r), "... NODATA");
	query(&m, "mesh.test", 6, 1232);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0, "apex SOA");
	is_int(count(r, KNOT_ANSWER), 1, "apex SOA: one RR");
	ok(r->pkt && r->pkt->opt_rr != NULL, "EDNS: OPT echoed");
	query(&m, "mesh.test", 2, 0);
	ask(n, r, &m, DMP_NODE_UDP, now);
	is_int(count(r, KNOT_ANSWER), 2, "apex NS: two");
	query(&m, "MESH.test", 1, 0);
	ask(n, r, &m, DMP_NODE_UDP, now);
	is_int(count(r, KNOT_ANSWER), 1, "apex A");
	query(&m, "mesh.test", 28, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0, "apex AAAA: NOERROR");
	ok(count(r, KNOT_ANSWER) == 0 && has_soa_auth(r), "apex AAAA: NODATA");
	query(&m, "ns1.other.example", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 3, "second zone: NXDOMAIN");
	query(&m, "example.com", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 5, "outside: REFUSED");
	ok(!knot_wire_get_aa(r->w), "outside: no AA");
	query(&m, "test", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 5, "parent: REFUSED");
	query(&m, "mesh.test", 252, 0);
	is_int(ask(n, r, &m, DMP_NODE_TCP, now), 5, "AXFR: REFUSED (todo)");

	/* Opcodes and malformed input. */
	query(&m, "mesh.test", 16, 0);
	m.w[2] = 2 << 3;
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 4, "STATUS: NOTIMP");
	query(&m, "mesh.test", 16, 0);
	m.len -= 2;
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 1, "truncated: FORMERR");
	is_int(rd16_test(r->w), 0x4242, "FORMERR keeps the ID");
	query(&m, "mesh.test", 16, 0);
	m.w[m.len++] = 0;
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 1, "trailing byte: FORMERR");
	query(&m, "mesh.test", 16, 0);
	m.w[5] = 2;
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 1, "QDCOUNT 2: FORMERR");
	query(&m, "mesh.test", 16, 0);
	m.w[12] = 0xC0;
	m.w[13] = 12;
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 1, "pointer loop: FORMERR");
	query(&m, "mesh.test", 16, 0);
	m.w[2] |= 0x80;
	is_int(
	    dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP, NULL, r->w, 4096, now),
	    0, "a response gets no reply");
	is_int(dmp_node_handle(n, m.w, 11, DMP_NODE_UDP, NULL, r->w, 4096, now),
	       0, "11 bytes get no reply");
	query(&m, "mesh.test", 6, 1232);
	m.w[m.len - 5] = 1; /* EDNS version 1 */
	ask(n, r, &m, DMP_NODE_UDP, now);
	ok(r->pkt && r->pkt->opt_rr &&
	       knot_edns_get_ext_rcode(r->pkt->opt_rr) == 1,
	   "EDNS version 1: BADVERS");
	query(&m, "mesh.test", 16, 0);
	m.w[m.len - 1] = 3; /* CH */
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 5, "class CH: REFUSED");
	(void)got;
}

/* Sign with the test key at @p t (seconds) and handle at @p now_ms. */
static int send_update(struct dmp_node *n, struct reply *r, const char *zone,
		       const struct upd *u, size_t cnt, const char *keyname,
		       const uint8_t *sec, uint64_t now_ms)
{
	static uint16_t id = 0x1111;
	struct msg m;
	uint8_t mac[64];
	size_t mac_len;

	/* A fresh ID each time, as clients do: the same bytes twice within
	 * the fudge are a replay (NOTAUTH). */
	update(&m, id++, zone, u, cnt);
	if (keyname) {
		sign(&m, keyname, sec, mac, &mac_len);
	}
	return ask(n, r, &m, DMP_NODE_UDP, now_ms);
}

static int txt_count(struct dmp_node *n, struct reply *r, const char *name,
		     uint64_t now_ms)
{
	struct msg m;

	query(&m, name, 16, 0);
	if (ask(n, r, &m, DMP_NODE_TCP, now_ms) < 0) {
		return -1;
	}
	return (int)count(r, KNOT_ANSWER);
}

static void test_updates(struct dmp_node *n, struct reply *r)
{
	uint64_t now = now_ms_real();
	uint8_t bad[32];
	char big[2100], got[8192];
	struct upd u[2];
	struct msg m;
	uint8_t mac[64];
	size_t mac_len;
	knot_tsig_key_t k;
	uint32_t serial0 = dmp_node_serial(n);

	memcpy(bad, secret, 32);
	bad[0] ^= 1;
	memset(u, 0, sizeof(u));
	u[0] = (struct upd){"slot-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300, "hello",
			    0};

	/* Signed by knot at the real time; reply checked by knot. */
	update(&m, 0x2222, ZONE, u, 1);
	sign(&m, KEY, secret, mac, &mac_len);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0, "knot-signed add: NOERROR");
	k = mkkey(KEY, secret);
	ok(r->pkt && r->pkt->tsig_rr &&
	       knot_tsig_client_check(r->pkt->tsig_rr, r->w,
				      (size_t)r->len - r->pkt->tsig_wire.len,
				      mac, mac_len, &k, 0) == KNOT_EOK,
	   "reply TSIG verifies with knot");
	knot_tsig_key_deinit(&k);
	ok(dmp_node_serial(n) != serial0, "serial changed");

	/* A signed query gets a signed answer (RFC 8945 5.3): secondaries
	 * sign their SOA checks with the transfer key. */
	query(&m, ZONE, 6, 1232);
	sign(&m, KEY, secret, mac, &mac_len);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0,
	       "signed SOA query: NOERROR");
	k = mkkey(KEY, secret);
	ok(r->pkt && r->pkt->tsig_rr && count(r, KNOT_ANSWER) == 1 &&
	       knot_tsig_client_check(r->pkt->tsig_rr, r->w,
				      (size_t)r->len - r->pkt->tsig_wire.len,
				      mac, mac_len, &k, 0) == KNOT_EOK,
	   "signed query: answer and TSIG verify with knot");
	knot_tsig_key_deinit(&k);
	query(&m, ZONE, 6, 0);
	sign(&m, KEY, bad, mac, &mac_len);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 9,
	       "query with a bad MAC: NOTAUTH");
	is_int(tsig_error(r), 16, "query with a bad MAC: BADSIG");
	is_int((long long)count(r, KNOT_ANSWER), 0, "and no answer");
	is_int(txt_count(n, r, u[0].owner, now), 1, "served after add");
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "re-add same value: NOERROR");
	is_int(txt_count(n, r, u[0].owner, now), 1, "re-add: still one");

	/* Rejections, each storing nothing. */
	u[0].value = "v2";
	is_int(send_update(n, r, ZONE, u, 1, NULL, NULL, now), 5,
	       "unsigned: REFUSED");
	is_int(send_update(n, r, ZONE, u, 1, KEY, bad, now), 9,
	       "bad secret: NOTAUTH");
	is_int(tsig_error(r), 16, "bad secret: BADSIG");
	is_int(send_update(n, r, ZONE, u, 1, "nobody.mesh.test.", secret, now),
	       9, "unknown key: NOTAUTH");
	is_int(tsig_error(r), 17, "unknown key: BADKEY");
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now + 400000), 9,
	       "stale: NOTAUTH");
	is_int(tsig_error(r), 18, "stale: BADTIME");
	is_int(send_update(n, r, "other.example", u, 1, KEY, secret, now), 10,
	       "owner outside the UPDATE's zone: NOTZONE");
	u[0] = (struct upd){"a.other.example", 1, 300, "x", 1};
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 10,
	       "non-TXT owner outside the zone: NOTZONE too");
	u[0] = (struct upd){"slot-0.mb-aaaaaaaaaaaa.mesh.test", 1, 0, "t0", 0};
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "ttl 0 add: NOERROR");
	is_int(txt_count(n, r, u[0].owner, now + 59000), 1,
	       "ttl 0 add lives DMP_DNS_TTL (60 s) as in the reference");
	is_int(txt_count(n, r, u[0].owner, now + 61000), 0, "... not longer");
	u[0] = (struct upd){"slot-1.mb-a.deep.mesh.test", 1, 300, "v2", 0};
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 10,
	       "owner in a zone served below the UPDATE's: NOTZONE");
	u[0].owner = "slot-1.mb-aaaaaaaaaaaa.mesh.test";
	query(&m, "x.deep.mesh.test", 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 3, "nested zone: NXDOMAIN");
	ok(has_soa_auth(r) &&
	       knot_dname_size(
		   knot_pkt_rr(knot_pkt_section(r->pkt, KNOT_AUTHORITY), 0)
		       ->owner) == 16,
	   "nested zone: its own SOA");
	is_int(send_update(n, r, "sub.mesh.test", u, 1, KEY, secret, now), 9,
	       "zone not served: NOTAUTH");
	is_int(send_update(n, r, "example.com", u, 1, KEY, secret, now), 9,
	       "foreign zone: NOTAUTH");
	u[0].ttl = DMP_NODE_MAX_TTL + 1;
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 5,
	       "ttl over max: REFUSED");
	u[0].ttl = 300;
	memset(big, 'x', 2049);
	big[2049] = '\0';
	u[0].value = big;
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 5,
	       "2049 bytes: REFUSED");
	big[2048] = '\0';
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "2048 bytes (9 strings): NOERROR");
	is_int(txt_count(n, r, u[0].owner, now), 2, "2048-byte value served");
	u[0].value = "\xc3\x28";
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 5,
	       "bad UTF-8: REFUSED");
	u[0].value = "v2";
	u[1] = (struct upd){"x.other.mesh.test", 1, 300, "v", 0};
	is_int(send_update(n, r, ZONE, u, 2, KEY, secret, now), 5,
	       "one op out of scope: REFUSED");
	is_int(txt_count(n, r, u[0].owner, now), 2,
	       "... and the in-scope op not applied");
	u[0].owner = "sLoT-1.Mb-AAAAAAAAAAAA.mesh.test";
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "upper-case owner folds: NOERROR");
	is_int(txt_count(n, r, "slot-1.mb-aaaaaaaaaaaa.mesh.test", now), 3,
	       "stored lower case");
	u[0] = (struct upd){"slot-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300, "hello",
			    1};
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "non-TXT op ignored: NOERROR");

	/* A TSIG RR counted in the update section instead of additional. */
	u[0] = (struct upd){"slot-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300, "t", 0};
	update(&m, 0x3333, ZONE, u, 1);
	sign(&m, KEY, secret, mac, &mac_len);
	m.w[9] = 2;  /* UPCOUNT 2 */
	m.w[11] = 0; /* ARCOUNT 0 */
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 1,
	       "TSIG outside the additional section: FORMERR");

	/* Deletes: the wildcard suffixes do not allow them. */
	u[0] = (struct upd){"slot-1.mb-aaaaaaaaaaaa.mesh.test", 254, 0, "hello",
			    0};
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 5,
	       "delete under a '*' scope: REFUSED");
	u[0].owner = "slot-2.mb-bbbbbbbbbbbb.mesh.test";
	u[0].cls = 1;
	u[0].ttl = 300;
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "add under mb-bbbbbbbbbbbb");
	u[1] = u[0];
	u[1].value = "second";
	is_int(send_update(n, r, ZONE, u + 1, 1, KEY, secret, now), 0,
	       "second value");
	is_int(txt_count(n, r, u[0].owner, now), 2, "two values");
	u[0].cls = 254;
	u[0].ttl = 0;
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "delete one value (own mailbox suffix)");
	is_int(txt_count(n, r, u[0].owner, now), 1, "one left");
	answers(r, got, sizeof(got));
	is_str(got, "second", "the other one");
	u[0].cls = 255;
	u[0].value = NULL;
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "delete RRset");
	query(&m, u[0].owner, 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 3, "deleted: NXDOMAIN");

	/* max_values_per_name */
	for (int i = 0; i < 64; i++) {
		char v[16];

		snprintf(v, sizeof(v), "v%02d", i);
		u[0] = (struct upd){"slot-9.mb-cccccccccccc.mesh.test", 1, 300,
				    v, 0};
		if (send_update(n, r, ZONE, u, 1, KEY, secret, now) != 0) {
			break;
		}
	}
	is_int(txt_count(n, r, u[0].owner, now), 64, "64 values");
	u[0].value = "v64";
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 5,
	       "65th value: REFUSED");
	u[0].value = "v07";
	is_int(send_update(n, r, ZONE, u, 1, KEY, secret, now), 0,
	       "re-adding a stored one is not new: NOERROR");
}

static void test_batch(struct dmp_node *n, struct reply *r)
{
	uint64_t now = now_ms_real();
	static struct msg req[6];
	static uint8_t resp[6][4096];
	struct dmp_node_msg m[6];
	uint8_t mac[64], bad[32];
	size_t mac_len;
	struct upd u;
	uint32_t serial0 = dmp_node_serial(n);

	memcpy(bad, secret, 32);
	bad[5] ^= 0x40;
	u = (struct upd){"slot-4.mb-eeeeeeeeeeee.mesh.test", 1, 300, "b1", 0};
	update(&req[0], 1, ZONE, &u, 1);
	sign(&req[0], KEY, secret, mac, &mac_len);
	u.value = "b2";
	update(&req[1], 2, ZONE, &u, 1);
	sign(&req[1], KEY, secret, mac, &mac_len);
	query(&req[2], u.owner, 16, 0);
	update(&req[3], 4, ZONE, &u, 1); /* unsigned */
	u.owner = "slot-5.mb-eeeeeeeeeeee.mesh.test";
	update(&req[4], 5, ZONE, &u, 1);
	sign(&req[4], KEY, secret, mac, &mac_len);
	update(&req[5], 6, ZONE, &u, 1);
	sign(&req[5], KEY, bad, mac, &mac_len);
	for (int i = 0; i < 6; i++) {
		m[i] = (struct dmp_node_msg){
		    req[i].w, req[i].len, resp[i], sizeof(resp[i]), -1, NULL};
	}
	dmp_node_handle_batch(n, m, 6, DMP_NODE_UDP, now);
	is_int(resp[0][3] & 15, 0, "batch: first add NOERROR");
	is_int(resp[1][3] & 15, 0, "batch: second add, same owner, NOERROR");
	is_int(resp[2][3] & 15, 3, "batch: the query saw the state before");
	is_int(resp[3][3] & 15, 5, "batch: unsigned REFUSED");
	is_int(resp[4][3] & 15, 0, "batch: other owner NOERROR");
	is_int(resp[5][3] & 15, 9, "batch: bad MAC NOTAUTH");
	ok(m[0].resp_len > 12 && resp[0][0] == 0 && resp[0][1] == 1 &&
	       resp[4][1] == 5,
	   "batch: replies keep their IDs");
	is_int(txt_count(n, r, "slot-4.mb-eeeeeeeeeeee.mesh.test", now), 2,
	       "batch: both values stored");
	is_int(txt_count(n, r, "slot-5.mb-eeeeeeeeeeee.mesh.test", now), 1,
	       "batch: third stored");
	ok(dmp_node_serial(n) != serial0, "batch: serial moved");
}

/* TSIG replay (docs/security.md): the same signed bytes twice in one
 * group-committed batch, then once more alone, then a delete followed by
 * the first add again: one NOERROR, the rest NOTAUTH, the value stays
 * deleted, the replays counted. */
static void test_replay(struct dmp_node *n, struct reply *r)
{
	uint64_t now = now_ms_real();
	static struct msg req[2];
	static uint8_t resp[2][4096];
	struct dmp_node_msg m[2];
	struct dmp_node_stats st0, st;
	uint8_t mac[64];
	size_t mac_len;
	struct upd u = {"slot-6.mb-bbbbbbbbbbbb.mesh.test", 1, 300, "once", 0};
	struct msg del;

	dmp_node_stats_get(n, &st0);
	update(&req[0], 0x4444, ZONE, &u, 1);
	sign(&req[0], KEY, secret, mac, &mac_len);
	req[1] = req[0];
	for (int i = 0; i < 2; i++) {
		m[i] = (struct dmp_node_msg){
		    req[i].w, req[i].len, resp[i], sizeof(resp[i]), -1, NULL};
	}
	dmp_node_handle_batch(n, m, 2, DMP_NODE_UDP, now);
	is_int(resp[0][3] & 15, 0, "replay: first of a batch NOERROR");
	is_int(resp[1][3] & 15, 9, "replay: its copy in the batch NOTAUTH");
	is_int(ask(n, r, &req[0], DMP_NODE_UDP, now + 2000), 9,
	       "replay: sent again later NOTAUTH");
	is_int(tsig_error(r), 0, "replay: no TSIG error (not a clock issue)");
	u.cls = 254;
	u.ttl = 0;
	update(&del, 0x4445, ZONE, &u, 1);
	sign(&del, KEY, secret, mac, &mac_len);
	is_int(ask(n, r, &del, DMP_NODE_UDP, now), 0, "replay: delete NOERROR");
	is_int(ask(n, r, &req[0], DMP_NODE_UDP, now + 1000), 9,
	       "replay: the add replayed after the delete NOTAUTH");
	is_int(txt_count(n, r, u.owner, now + 1000), 0,
	       "replay: the value stays deleted");
	dmp_node_stats_get(n, &st);
	is_int((int)(st.reject[DMP_NODE_REJ_REPLAY] -
		     st0.reject[DMP_NODE_REJ_REPLAY]),
	       3, "replay: three refusals counted");
}

/* RFC 2136 2.5.3 delete-ANY (class ANY, type ANY): the TXT values at a
 * name the key may delete (a suffix scope without '*'); REFUSED, and
 * nothing deleted, elsewhere. */
static void test_delete_any(struct dmp_node *n, struct reply *r)
{
	uint64_t now = now_ms_real();
	struct upd u[2] = {
	    {"slot-2.mb-bbbbbbbbbbbb.mesh.test", 1, 300, "x1", 0},
	    {"slot-2.mb-bbbbbbbbbbbb.mesh.test", 1, 300, "x2", 0}};
	struct upd any = {"slot-2.mb-bbbbbbbbbbbb.mesh.test", 255, 0, NULL,
			  255};

	is_int(send_update(n, r, ZONE, u, 2, KEY, secret, now), 0,
	       "delete-ANY: two values added");
	is_int(send_update(n, r, ZONE, &any, 1, KEY, secret, now), 0,
	       "delete-ANY in scope: NOERROR");
	is_int(txt_count(n, r, any.owner, now), 0,
	       "delete-ANY in scope: the values are gone");
	/* Covered only by slot-*.mb-*: a wildcard scope, add-only. */
	any.owner = "slot-4.mb-eeeeeeeeeeee.mesh.test";
	is_int(send_update(n, r, ZONE, &any, 1, KEY, secret, now), 5,
	       "delete-ANY out of scope: REFUSED");
	is_int(txt_count(n, r, any.owner, now), 2,
	       "delete-ANY out of scope: nothing deleted");
}

static void test_truncation(struct dmp_node *n, struct reply *r)
{
	uint64_t now = now_ms_real();
	const char *name = "slot-9.mb-cccccccccccc.mesh.test";
	struct msg m;

	/* 64 values of 3 bytes: ~15 bytes each = 960 + header > 512. */
	query(&m, name, 16, 0);
	is_int(ask(n, r, &m, DMP_NODE_UDP, now), 0, "no EDNS: NOERROR");
	ok(knot_wire_get_tc(r->w) && count(r, KNOT_ANSWER) == 0,
	   "no EDNS: TC and no partial RRset");
	query(&m, name, 16, 1232);
	ask(n, r, &m, DMP_NODE_UDP, now);
	ok(!knot_wire_get_tc(r->w) && count(r, KNOT_ANSWER) == 64,
	   "EDNS 1232: all 64");
	query(&m, name, 16, 100);
	ask(n, r, &m, DMP_NODE_UDP, now);
	ok(knot_wire_get_tc(r->w) && r->len <= 512,
	   "EDNS 100 counts as 512: TC");
	query(&m, "slot-1.mb-aaaaaaaaaaaa.mesh.test", 16, 4096);
	ask(n, r, &m, DMP_NODE_UDP, now);
	ok(knot_wire_get_tc(r->w) && r->len <= 1232,
	   "EDNS 4096 capped at 1232: 2048-byte value truncated");
	ask(n, r, &m, DMP_NODE_TCP, now);
	ok(!knot_wire_get_tc(r->w) && count(r, KNOT_ANSWER) == 3,
	   "TCP: everything");
}

static void test_expiry_and_restart(struct dmp_node **np, struct reply *r)
{
	uint64_t now = now_ms_real();
	struct upd u = {"slot-5.mb-dddddddddddd.mesh.test", 1, 10, "brief", 0};
	struct msg m;
	uint32_t serial;

	is_int(send_update(*np, r, ZONE, &u, 1, KEY, secret, now), 0,
	       "ttl 10 add");
	is_int(txt_count(*np, r, u.owner, now + 9000), 1, "live at +9 s");
	query(&m, u.owner, 16, 0);
	is_int(ask(*np, r, &m, DMP_NODE_UDP, now + 10000), 3,
	       "hidden at +10 s before any reaping: NXDOMAIN");
	query(&m, "mb-dddddddddddd.mesh.test", 16, 0);
	is_int(ask(*np, r, &m, DMP_NODE_UDP, now + 10000), 3,
	       "its parent: NXDOMAIN too");
	ok(dmp_node_maintain(*np, now + 11000) >= 1, "reaped");
	is_int(txt_count(*np, r, u.owner, now), 0, "gone from the index");

	serial = dmp_node_serial(*np);
	dmp_node_free(*np);
	*np = open_node(now);
	ok(*np != NULL, "reopened");
	if (!*np) {
		return;
	}
	is_int(txt_count(*np, r, "slot-9.mb-cccccccccccc.mesh.test", now), 64,
	       "64 values after restart");
	is_int(txt_count(*np, r, u.owner, now), 0, "reaped row stays gone");
	is_int(dmp_node_serial(*np), serial, "serial persisted");
}

static void test_rate_limit(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	struct sockaddr_in a, b;
	struct msg m;
	static uint8_t resp[4096];
	uint64_t now = T2030 * 1000;
	int answered = 0;

	mem_opts(&o);
	o.rate_limit = 2;
	o.rate_burst = 3;
	if (!ok(dmp_node_new(&n, &o, now) == 0, "rate: node")) {
		return;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0x7f000001);
	b = a;
	b.sin_addr.s_addr = htonl(0x7f000002);
	query(&m, ZONE, 6, 0);
	{
		int slipped = 0, small = 1;

		for (int i = 0; i < 10; i++) {
			int l = dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP,
						(struct sockaddr *)&a, resp,
						sizeof(resp), now);

			if (l > 0 && (resp[2] & 0x02) && resp[7] == 0) {
				slipped++;
				small &= (size_t)l <= m.len;
			} else {
				answered += l > 0;
			}
		}
		is_int(answered, 3, "rate: burst of 3, then dropped");
		is_int(slipped, 4, "rate: every 2nd dropped query slips (TC)");
		ok(small, "rate: a slip is never larger than the query");
	}
	ok(dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP, (struct sockaddr *)&b,
			   resp, sizeof(resp), now) > 0,
	   "rate: another address has its own bucket");
	ok(dmp_node_handle(n, m.w, m.len, DMP_NODE_TCP, (struct sockaddr *)&a,
			   resp, sizeof(resp), now) > 0,
	   "rate: TCP has its own bucket");
	ok(dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP, (struct sockaddr *)&a,
			   resp, sizeof(resp), now + 500) > 0,
	   "rate: 2/s refills one token in 500 ms");
	is_int(dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP,
			       (struct sockaddr *)&a, resp, sizeof(resp),
			       now + 500),
	       0, "rate: and only one");
	ok(dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP, NULL, resp,
			   sizeof(resp), now + 500) > 0,
	   "rate: no peer, no limit");
	dmp_node_free(n);
}

/* A claim for the test node, signed by a fresh key. */
static void mk_claim(char *out, size_t cap, uint64_t now_s, uint64_t life,
		     uint8_t slot)
{
	uint8_t seed[32], pk[32], sk[64];
	struct dmp_claim c;

	memset(&c, 0, sizeof(c));
	memset(seed, slot + 1, sizeof(seed));
	dmp_ed25519_from_seed(pk, sk, seed);
	memcpy(c.sender_spk, pk, 32);
	memset(c.msg_id, 0x42, sizeof(c.msg_id));
	snprintf(c.sender_mailbox_domain, sizeof(c.sender_mailbox_domain),
		 "mesh.test");
	c.domain_len = 9;
	c.slot = slot;
	c.ts = now_s;
	c.exp = now_s + life;
	if (dmp_claim_sign_encode(out, cap, &c, sk) < 0) {
		out[0] = '\0';
	}
	dmp_wipe(sk, sizeof(sk));
}

/* PROTOCOL.md 7.3: the un-TSIG'd claim UPDATE. */
static void test_claims(struct reply *r)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	uint64_t now = T2030 * 1000, now_s = T2030;
	const char *own = "claim-3.mb-0123456789ab.mesh.test";
	char v[300], v2[300], longlife[300], stale[300];
	struct msg m;
	int served = 0, fails = 0;

	mk_claim(v, sizeof(v), now_s, 3600, 3);
	mk_claim(v2, sizeof(v2), now_s, 7200, 4);
	mk_claim(longlife, sizeof(longlife), now_s, 86401, 5);
	mk_claim(stale, sizeof(stale), now_s - 7200, 3600, 6);
	ok(v[0] && v2[0] && longlife[0] && stale[0], "claim: values signed");

	mem_opts(&o);
	if (!ok(dmp_node_new(&n, &o, now) == 0, "claim: node")) {
		return;
	}
	{
		struct upd u = {own, 1, 300, v, 0};

		is_int(send_update(n, r, ZONE, &u, 1, NULL, NULL, now), 5,
		       "claim: mode off: REFUSED");
	}
	dmp_node_free(n);
	o.claim_mode = DMP_NODE_CLAIM_PROVIDER;
	o.claim_burst = 3;
	if (!ok(dmp_node_new(&n, &o, now) == 0, "claim: provider node")) {
		return;
	}
	{
		struct upd u = {own, 1, 604800, v, 0};

		is_int(send_update(n, r, ZONE, &u, 1, NULL, NULL, now), 0,
		       "claim: verified claim accepted without TSIG");
		ok(r->pkt && r->pkt->tsig_rr == NULL,
		   "claim: reply is not signed");
		query(&m, own, 16, 0);
		if (ask(n, r, &m, DMP_NODE_TCP, now) == 0 &&
		    count(r, KNOT_ANSWER) == 1) {
			answers(r, v2, sizeof(v2));
			served = strstr(v2, v + 20) != NULL;
		}
		ok(served, "claim: served");
		mk_claim(v2, sizeof(v2), now_s, 7200, 4);
	}
	{
		/* The TTL is capped at 86400: after 86400 s it is gone. */
		is_int(txt_count(n, r, own, now + 86000 * 1000ULL), 1,
		       "claim: still there within the capped TTL");
		is_int(txt_count(n, r, own, now + 86401 * 1000ULL), 0,
		       "claim: TTL 604800 was capped at 86400");
	}
	{
		struct upd bad[] = {
		    {"claim-3.mb-0123456789ab.mesh.test", 255, 0, NULL, 0},
		    {"claim-3.mb-0123456789ab.mesh.test", 254, 0, v, 0},
		    {"slot-3.mb-0123456789ab.mesh.test", 1, 300, v, 0},
		    {"claim-x.mb-0123456789ab.mesh.test", 1, 300, v, 0},
		    {"claim-.mb-0123456789ab.mesh.test", 1, 300, v, 0},
		    {"claim-3.mb-0123456789a.mesh.test", 1, 300, v, 0},
		    {"claim-3.mb-0123456789abc.mesh.test", 1, 300, v, 0},
		    {"claim-3.mb-0123456789ag.mesh.test", 1, 300, v, 0},
		    {"claim-3.xx.mb-0123456789ab.mesh.test", 1, 300, v, 0},
		    {"claim-3.mb-0123456789ab.sub.mesh.test", 1, 300, v, 0},
		    {own, 1, 300, "v=dmp1;t=claim;AAAA", 0},
		    {own, 1, 300, "hello", 0},
		    {own, 1, 300, longlife, 0},
		    {own, 1, 300, stale, 0},
		};
		const char *what[] = {
		    "delete all",      "delete one",	"slot owner",
		    "non-digit slot",  "empty digits",	"11 hex",
		    "13 hex",	       "non-hex",	"extra label",
		    "below a subzone", "bad claim",	"not a claim",
		    "exp over a day",  "expired claim",
		};

		for (size_t i = 0; i < DMP_ARRAY_LEN(bad); i++) {
			is_int(send_update(n, r, ZONE, &bad[i], 1, NULL, NULL,
					   now),
			       5, "claim: %s: REFUSED", what[i]);
		}
		struct upd mixed[] = {
		    {own, 1, 300, v2, 0},
		    {"slot-1.mb-0123456789ab.mesh.test", 1, 300, v2, 0}};
		is_int(send_update(n, r, ZONE, mixed, 2, NULL, NULL, now), 5,
		       "claim: one non-claim op refuses all");
		is_int(txt_count(n, r, own, now), 1,
		       "claim: nothing stored by refusals");
		struct upd other = {"claim-1.mb-0123456789ab.other.example", 1,
				    300, v2, 0};
		is_int(send_update(n, r, "other.example", &other, 1, NULL, NULL,
				   now),
		       5, "claim: zone not served: REFUSED");
	}
	{
		/* Burst 3 per recipient hash; one was spent above. */
		struct upd u = {own, 1, 300, v2, 0};
		struct upd w = {"claim-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300, v2,
				0};

		for (int i = 0; i < 4; i++) {
			fails += send_update(n, r, ZONE, &u, 1, NULL, NULL,
					     now) == 2;
		}
		is_int(fails, 2, "claim: burst exhausted: SERVFAIL");
		is_int(send_update(n, r, ZONE, &w, 1, NULL, NULL, now), 0,
		       "claim: another recipient has its own bucket");
		is_int(send_update(n, r, ZONE, &u, 1, NULL, NULL, now + 2000),
		       0, "claim: 0.5/s refills a token in 2 s");
	}
	dmp_node_free(n);
	o.claim_mode = DMP_NODE_CLAIM_RECEIVER;
	if (!ok(dmp_node_new(&n, &o, now) == 0, "claim: receiver node")) {
		return;
	}
	{
		const char *sc[] = {"mb-0123456789ab.mesh.test"};
		struct upd u = {own, 1, 300, v, 0};
		struct upd w = {"claim-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300, v,
				0};

		is_int(send_update(n, r, ZONE, &u, 1, NULL, NULL, now), 5,
		       "claim: receiver mode, unregistered hash: REFUSED");
		is_int(
		    dmp_node_key_add(n, "bob.mesh.test", secret, 32, sc, 1, 0),
		    0, "claim: bob registered");
		is_int(send_update(n, r, ZONE, &u, 1, NULL, NULL, now), 0,
		       "claim: receiver mode, registered hash: accepted");
		is_int(send_update(n, r, ZONE, &w, 1, NULL, NULL, now), 5,
		       "claim: receiver mode, other hash: REFUSED");
	}
	dmp_node_free(n);
}

struct xfr_col {
	int msgs, soa_first, soa_last, txt, refused;
	uint16_t id;
};

static int xfr_out(const uint8_t *msg, size_t len, void *ud)
{
	struct xfr_col *c = ud;
	uint8_t copy[65535];
	knot_pkt_t *p;
	const knot_pktsection_t *an;

	memcpy(copy, msg, len);
	p = knot_pkt_new(copy, (uint16_t)len, NULL);
	if (!p || knot_pkt_parse(p, 0) != KNOT_EOK) {
		knot_pkt_free(p);
		return -1;
	}
	if (knot_wire_get_id(msg) != c->id) {
		knot_pkt_free(p);
		return -1;
	}
	c->refused += knot_wire_get_rcode(msg) == KNOT_RCODE_REFUSED;
	an = knot_pkt_section(p, KNOT_ANSWER);
	for (uint16_t i = 0; i < an->count; i++) {
		uint16_t t = knot_pkt_rr(an, i)->type;

		if (c->msgs == 0 && i == 0) {
			c->soa_first = t == KNOT_RRTYPE_SOA;
		}
		c->soa_last = t == KNOT_RRTYPE_SOA;
		c->txt += t == KNOT_RRTYPE_TXT;
	}
	c->msgs++;
	knot_pkt_free(p);
	return 0;
}

static void test_xfr_notify(struct dmp_node *n0)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	struct sockaddr_in a;
	struct msg m;
	struct reply *r = calloc(1, sizeof(*r));
	struct xfr_col c;
	const char *scopes[] = {ZONE};
	uint64_t now = now_ms_real();
	uint8_t buf[600];
	int len;

	(void)n0;
	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", ZONE);
	snprintf(o.zones[1].name, sizeof(o.zones[1].name), "deep.%s", ZONE);
	o.n_zones = 2;
	snprintf(o.xfr_allow[0], sizeof(o.xfr_allow[0]), "127.0.0.1");
	o.n_xfr_allow = 1;
	if (!ok(dmp_node_new(&n, &o, now) == 0 &&
		    dmp_node_key_add(n, KEY, secret, 32, scopes, 1, 0) == 0,
		"xfr: node")) {
		free(r);
		return;
	}
	for (int i = 0; i < 300; i++) {
		char owner[64], v[512];
		struct upd u;

		snprintf(owner, sizeof(owner), "slot-%d.mb-x.%s", i % 10, ZONE);
		memset(v, 'a' + i % 26, 400);
		snprintf(v + 400, sizeof(v) - 400, "%d", i);
		u = (struct upd){owner, 1, 300, v, 0};
		if (send_update(n, r, ZONE, &u, 1, KEY, secret, now) != 0) {
			break;
		}
	}
	{
		struct upd u = {"x.deep.mesh.test", 1, 300, "nested", 0};

		is_int(send_update(n, r, "deep.mesh.test", &u, 1, KEY, secret,
				   now),
		       0, "xfr: a record in the nested zone");
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(0x7f000001);
	query(&m, ZONE, 252, 0);
	memset(&c, 0, sizeof(c));
	c.id = 0x4242;
	is_int(dmp_node_handle_stream(n, m.w, m.len, (struct sockaddr *)&a,
				      xfr_out, &c, now),
	       0, "xfr: AXFR streamed");
	ok(c.msgs >= 2, "xfr: %d messages for ~130 kB", c.msgs);
	ok(c.soa_first && c.soa_last, "xfr: SOA first and last");
	is_int(c.txt, 300, "xfr: every TXT, not the nested zone's");
	a.sin_addr.s_addr = htonl(0x7f000002);
	memset(&c, 0, sizeof(c));
	c.id = 0x4242;
	dmp_node_handle_stream(n, m.w, m.len, (struct sockaddr *)&a, xfr_out,
			       &c, now);
	ok(c.msgs == 1 && c.refused == 1, "xfr: other address REFUSED");
	query(&m, "slot-1.mb-x.mesh.test", 16, 0);
	memset(&c, 0, sizeof(c));
	c.id = 0x4242;
	dmp_node_handle_stream(n, m.w, m.len, NULL, xfr_out, &c, now);
	ok(c.msgs == 1 && c.txt == 30, "stream: a plain query, one message");

	len = dmp_node_notify_msg(n, 0, 0x7777, buf, sizeof(buf));
	ok(len > 12 && knot_wire_get_opcode(buf) == KNOT_OPCODE_NOTIFY &&
	       knot_wire_get_aa(buf) && knot_wire_get_id(buf) == 0x7777,
	   "notify: opcode, AA, id");
	is_int(dmp_node_notify_msg(n, 2, 1, buf, sizeof(buf)), DMP_EINVAL,
	       "notify: no such zone");
	is_int(dmp_node_zone_count(n), 2, "zone count");
	if (r->pkt) {
		knot_pkt_free(r->pkt);
	}
	free(r);
	dmp_node_free(n);
}

static void key_cb(const char *name, const char *alg, const char *scopes,
		   uint64_t created, void *ud)
{
	(void)created;
	snprintf(ud, 512, "%s %s %s", name, alg, scopes);
}

/* Per TSIG key write bucket: one key spending its burst is REFUSED and
 * counted; another key and the refilled bucket write again. */
static void test_key_write_rate(struct reply *r)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	struct dmp_node_stats st;
	const char *scopes[] = {"slot-*.mb-*.mesh.test"};
	const char *key2 = "bob.mesh.test.";
	uint64_t now = now_ms_real();
	struct upd u = {"slot-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300, "v", 0};
	struct upd out = {"chunk-0001-x.mesh.test", 1, 300, "v", 0};
	int rc[5];

	mem_opts(&o);
	o.key_write_rate = 1;
	o.key_write_burst = 3;
	if (!ok(dmp_node_new(&n, &o, now) == 0 &&
		    dmp_node_key_add(n, KEY, secret, 32, scopes, 1, 0) == 0 &&
		    dmp_node_key_add(n, key2, secret, 32, scopes, 1, 0) == 0,
		"key rate: node and two keys")) {
		dmp_node_free(n);
		return;
	}
	/* Refused UPDATEs (scope) spend no tokens. */
	is_int(send_update(n, r, ZONE, &out, 1, KEY, secret, now), 5,
	       "key rate: out of scope REFUSED");
	for (int i = 0; i < 5; i++) {
		rc[i] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
	}
	ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 0,
	   "key rate: burst of 3 written (%d %d %d)", rc[0], rc[1], rc[2]);
	ok(rc[3] == 5 && rc[4] == 5, "key rate: then REFUSED (%d %d)", rc[3],
	   rc[4]);
	is_int(send_update(n, r, ZONE, &u, 1, key2, secret, now), 0,
	       "key rate: another key still writes");
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now + 1100), 0,
	       "key rate: a second later one more token");
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now + 1100), 5,
	       "key rate: and only one");
	dmp_node_stats_get(n, &st);
	is_int((int)st.reject[DMP_NODE_REJ_KEY_RATE], 3,
	       "key rate: rejections counted");
	is_int((int)st.reject[DMP_NODE_REJ_SCOPE], 1,
	       "key rate: scope refusal counted apart");
	/* Off (0): no limit at all. */
	o.key_write_rate = 0;
	dmp_node_free(n);
	n = NULL;
	if (ok(dmp_node_new(&n, &o, now) == 0 &&
		   dmp_node_key_add(n, KEY, secret, 32, scopes, 1, 0) == 0,
	       "key rate off: node")) {
		int all = 0;

		for (int i = 0; i < 30; i++) {
			all += send_update(n, r, ZONE, &u, 1, KEY, secret,
					   now) == 0;
		}
		is_int(all, 30, "key rate off: 30 UPDATEs written");
	}
	dmp_node_free(n);
}

/* Per key quota of live values: adds past it REFUSED, refreshes free,
 * deletes and expiry give room back, other keys unaffected. */
static void test_key_quota(struct reply *r)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	struct dmp_node_stats st;
	const char *scopes[] = {"slot-*.mb-*.mesh.test",
				"mb-aaaaaaaaaaaa.mesh.test"};
	const char *key2 = "bob.mesh.test.";
	const char *own = "slot-1.mb-aaaaaaaaaaaa.mesh.test";
	uint64_t now = now_ms_real();
	struct upd two[2] = {{own, 1, 300, "v1", 0}, {own, 1, 300, "v2", 0}};
	struct upd u;

	mem_opts(&o);
	o.key_quota = 3;
	if (!ok(dmp_node_new(&n, &o, now) == 0 &&
		    dmp_node_key_add(n, KEY, secret, 32, scopes, 2, 0) == 0 &&
		    dmp_node_key_add(n, key2, secret, 32, scopes, 1, 0) == 0,
		"quota: node and two keys")) {
		dmp_node_free(n);
		return;
	}
	is_int(send_update(n, r, ZONE, two, 2, KEY, secret, now), 0,
	       "quota: two values in one UPDATE");
	u = (struct upd){own, 1, 2, "short", 0};
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now), 0,
	       "quota: a third (TTL 2 s)");
	u = (struct upd){own, 1, 300, "v4", 0};
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now), 5,
	       "quota: a fourth REFUSED");
	is_int(send_update(n, r, ZONE, two, 2, KEY, secret, now), 0,
	       "quota: refreshing its own values is free");
	is_int(txt_count(n, r, own, now), 3, "quota: nothing extra stored");
	is_int(send_update(n, r, ZONE, &u, 1, key2, secret, now), 0,
	       "quota: another key still writes");
	u = (struct upd){own, 1, 300, "v5", 0};
	is_int(send_update(n, r, ZONE, &u, 1, key2, secret, now), 0,
	       "quota: and again (its own count)");
	u = (struct upd){own, 254, 0, "v1", 0};
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now), 0,
	       "quota: delete one of its values");
	u = (struct upd){own, 1, 300, "v6", 0};
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now), 0,
	       "quota: the delete made room");
	u = (struct upd){own, 1, 300, "v7", 0};
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now), 5,
	       "quota: full again");
	is_int(send_update(n, r, ZONE, &u, 1, KEY, secret, now + 3000), 0,
	       "quota: the expired value made room");
	dmp_node_stats_get(n, &st);
	is_int((int)st.reject[DMP_NODE_REJ_QUOTA], 2,
	       "quota: rejections counted");
	dmp_node_free(n);
}

/* Storage budgets (docs/security.md 7.7): a writer's share of a name it
 * does not own, the node-wide cap after a prune of expired values, the
 * bytes at one name, and the limits checked at start. */
static void test_budgets(struct reply *r)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	struct dmp_node_stats st;
	const char *wild[] = {"slot-*.mb-*.mesh.test"};
	const char *own[] = {"mb-bbbbbbbbbbbb.mesh.test"};
	const char *owner = "owner.mesh.test.";
	uint64_t now = now_ms_real();
	struct upd u = {"slot-1.mb-bbbbbbbbbbbb.mesh.test", 1, 300, "a", 0};
	static char big[2049];
	int rc[4];

	mem_opts(&o);
	o.foreign_values_max = 2;
	o.store_values_max = 5;
	o.name_bytes_max = 4100;
	o.foreign_bytes_max = 4000;
	if (!ok(dmp_node_new(&n, &o, now) == 0 &&
		    dmp_node_key_add(n, KEY, secret, 32, wild, 1, 0) == 0 &&
		    dmp_node_key_add(n, owner, secret, 32, own, 1, 0) == 0,
		"budget: node and two keys")) {
		dmp_node_free(n);
		return;
	}
	rc[0] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
	u.value = "b";
	rc[1] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
	u.value = "c";
	rc[2] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
	u.value = "a";
	rc[3] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
	ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 5 && rc[3] == 0,
	   "budget: 2 values of a '*' writer, the 3rd REFUSED, a refresh free "
	   "(%d %d %d %d)",
	   rc[0], rc[1], rc[2], rc[3]);
	u.value = "c";
	is_int(send_update(n, r, ZONE, &u, 1, owner, secret, now), 0,
	       "budget: the name's owner still writes there");
	/* SIGHUP: new limits apply; inconsistent ones are ignored. */
	{
		struct dmp_node_opts o2 = o;

		o2.foreign_values_max = 3;
		o2.foreign_bytes_max = o2.name_bytes_max; /* not below */
		(void)dmp_node_reconfigure(n, &o2);
		u.value = "d";
		rc[0] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
		o2.foreign_bytes_max = 4000;
		(void)dmp_node_reconfigure(n, &o2);
		rc[1] = send_update(n, r, ZONE, &u, 1, KEY, secret, now);
		ok(rc[0] == 5 && rc[1] == 0,
		   "budget: reload: bad limits ignored, good ones applied "
		   "(%d %d)",
		   rc[0], rc[1]);
		(void)dmp_node_reconfigure(n, &o);
		u.cls = 254; /* the owner deletes it again */
		u.ttl = 0;
		rc[2] = send_update(n, r, ZONE, &u, 1, owner, secret, now);
		u.cls = 1;
		u.ttl = 300;
		is_int(rc[2], 0, "budget: the owner deletes in its mailbox");
	}
	/* 3 held; two more with a 1 s TTL fill limits.store_values. */
	u.owner = "slot-2.mb-bbbbbbbbbbbb.mesh.test";
	u.ttl = 1;
	u.value = "e1";
	rc[0] = send_update(n, r, ZONE, &u, 1, owner, secret, now);
	u.value = "e2";
	rc[1] = send_update(n, r, ZONE, &u, 1, owner, secret, now);
	u.ttl = 300;
	u.value = "f";
	rc[2] = send_update(n, r, ZONE, &u, 1, owner, secret, now);
	ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 5,
	   "budget: store_values 5 reached: REFUSED (%d %d %d)", rc[0], rc[1],
	   rc[2]);
	is_int(send_update(n, r, ZONE, &u, 1, owner, secret, now + 2000), 0,
	       "budget: expired values pruned first, then room");
	/* limits.name_bytes 4100: one 2048-byte value (an RR of 2069
	 * bytes) fits, two (4138) do not. */
	memset(big, 'x', 2048);
	u.owner = "slot-3.mb-bbbbbbbbbbbb.mesh.test";
	u.value = big;
	rc[0] = send_update(n, r, ZONE, &u, 1, owner, secret, now + 2000);
	big[0] = 'y';
	rc[1] = send_update(n, r, ZONE, &u, 1, owner, secret, now + 2000);
	ok(rc[0] == 0 && rc[1] == 5,
	   "budget: name_bytes: the 2nd 2 KB value REFUSED (%d %d)", rc[0],
	   rc[1]);
	dmp_node_stats_get(n, &st);
	ok(st.reject[DMP_NODE_REJ_FOREIGN] == 2 &&
	       st.reject[DMP_NODE_REJ_STORE_FULL] == 1 &&
	       st.reject[DMP_NODE_REJ_NAME_BYTES] == 1,
	   "budget: each refusal counted by reason (%llu %llu %llu)",
	   (unsigned long long)st.reject[DMP_NODE_REJ_FOREIGN],
	   (unsigned long long)st.reject[DMP_NODE_REJ_STORE_FULL],
	   (unsigned long long)st.reject[DMP_NODE_REJ_NAME_BYTES]);
	ok(st.held_values <= 5 && st.held_values == st.rows,
	   "budget: held values from the index (%llu, rows %llu)",
	   (unsigned long long)st.held_values, (unsigned long long)st.rows);
	dmp_node_free(n);
	n = NULL;
	/* Limits checked at start. */
	o.name_bytes_max = DMP_NODE_NAME_BYTES_FIT + 1;
	is_int(dmp_node_new(&n, &o, now), DMP_EINVAL,
	       "budget: name_bytes above one TCP answer: EINVAL");
	o.name_bytes_max = 4100;
	o.foreign_bytes_max = 4100;
	is_int(dmp_node_new(&n, &o, now), DMP_EINVAL,
	       "budget: foreign_bytes not below name_bytes: EINVAL");
	o.foreign_bytes_max = 100;
	o.name_bytes_max = 1000; /* below one RR of max_value_bytes */
	is_int(dmp_node_new(&n, &o, now), DMP_EINVAL,
	       "budget: name_bytes below one max-size value: EINVAL");
	dmp_node_free(n);
}

/* One claim UPDATE for @p owner from @p addr (v4 or v6 text): its RCODE. */
static int claim_from(struct dmp_node *n, const char *addr, const char *owner,
		      const char *value, uint64_t now)
{
	static uint16_t id = 0x7000;
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct upd u = {owner, 1, 300, value, 0};
	struct msg m;
	uint8_t resp[4096];
	int len;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
	} else {
		return -1;
	}
	update(&m, id++, ZONE, &u, 1);
	len = dmp_node_handle(n, m.w, m.len, DMP_NODE_UDP,
			      (const struct sockaddr *)&ss, resp, sizeof(resp),
			      now);
	return len >= 12 ? resp[3] & 0x0F : -1;
}

/* Un-TSIG'd claims limited per source prefix (a /56 is one source, an
 * IPv4-mapped address is its IPv4 one), whatever recipients they name,
 * and a source's share of one claim name. */
static void test_claim_sources(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	struct dmp_node_stats st;
	uint64_t now = T2030 * 1000, now_s = T2030;
	char v[3][300];
	int rc[4];

	for (int i = 0; i < 3; i++) {
		mk_claim(v[i], sizeof(v[i]), now_s, 3600, (uint8_t)(3 + i));
	}
	mem_opts(&o);
	o.claim_mode = DMP_NODE_CLAIM_PROVIDER;
	o.claim_source_rate = 0.001;
	o.claim_source_burst = 2;
	o.foreign_values_max = 2;
	if (!ok(v[0][0] && v[1][0] && v[2][0] && dmp_node_new(&n, &o, now) == 0,
		"claim source: node")) {
		return;
	}
	rc[0] = claim_from(n, "2001:db8::1",
			   "claim-1.mb-000000000001.mesh.test", v[0], now);
	rc[1] = claim_from(n, "2001:db8::1",
			   "claim-1.mb-000000000002.mesh.test", v[0], now);
	rc[2] = claim_from(n, "2001:db8:0:ff::2",
			   "claim-1.mb-000000000003.mesh.test", v[0], now);
	rc[3] = claim_from(n, "2001:db8:0:100::1",
			   "claim-1.mb-000000000004.mesh.test", v[0], now);
	ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 5 && rc[3] == 0,
	   "claim source: a /56 shares one bucket, the next /56 has its own "
	   "(%d %d %d %d)",
	   rc[0], rc[1], rc[2], rc[3]);
	rc[0] = claim_from(n, "::ffff:192.0.2.1",
			   "claim-1.mb-000000000005.mesh.test", v[0], now);
	rc[1] = claim_from(n, "::ffff:192.0.2.1",
			   "claim-1.mb-000000000006.mesh.test", v[0], now);
	rc[2] = claim_from(n, "192.0.2.1", "claim-1.mb-000000000007.mesh.test",
			   v[0], now);
	ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 5,
	   "claim source: IPv4-mapped and IPv4 are one source (%d %d %d)",
	   rc[0], rc[1], rc[2]);
	/* One victim's claim name: two values from a source, the third
	 * refused (before it spends a token), others still get in. */
	rc[0] = claim_from(n, "198.51.100.1",
			   "claim-2.mb-00000000000a.mesh.test", v[0], now);
	rc[1] = claim_from(n, "198.51.100.1",
			   "claim-2.mb-00000000000a.mesh.test", v[1], now);
	rc[2] = claim_from(n, "198.51.100.1",
			   "claim-2.mb-00000000000a.mesh.test", v[2], now);
	rc[3] = claim_from(n, "198.51.100.2",
			   "claim-2.mb-00000000000a.mesh.test", v[2], now);
	ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 5 && rc[3] == 0,
	   "claim source: a source's share of one claim name (%d %d %d %d)",
	   rc[0], rc[1], rc[2], rc[3]);
	dmp_node_stats_get(n, &st);
	ok(st.reject[DMP_NODE_REJ_CLAIM_SOURCE] == 2 &&
	       st.reject[DMP_NODE_REJ_FOREIGN] == 1 && st.claim_values == 8,
	   "claim source: counted (%llu %llu), 8 claims held (%llu)",
	   (unsigned long long)st.reject[DMP_NODE_REJ_CLAIM_SOURCE],
	   (unsigned long long)st.reject[DMP_NODE_REJ_FOREIGN],
	   (unsigned long long)st.claim_values);
	dmp_node_free(n);
}

int main(void)
{
	struct dmp_node *n;
	struct reply *r = calloc(1, sizeof(*r));
	const char *scopes[] = {"chunk-*-*.mesh.test", "slot-*.mb-*.mesh.test",
				"mb-bbbbbbbbbbbb.mesh.test"};
	char listed[512] = "";

	plan(260);
	snprintf(dbpath, sizeof(dbpath), "/tmp/test_node_%d.db", (int)getpid());
	unlink(dbpath);
	if (dmp_hex_decode(secret, 32, SECRET_HEX, 64) != 0) {
		return 1;
	}
	test_scope();
	test_rate_limit();
	test_key_write_rate(r);
	test_key_quota(r);
	test_claims(r);
	test_budgets(r);
	test_claim_sources();
	n = open_node(T2030 * 1000);
	if (!ok(n != NULL, "node opens")) {
		return done_testing();
	}
	is_int(dmp_node_key_add(n, KEY, secret, 32, scopes, 3, 0), 0,
	       "key added");
	ok(dmp_node_key_list(n, key_cb, listed) == 0 &&
	       strcmp(listed, "alice-e6b58e23-541308.mesh.test hmac-sha256 "
			      "chunk-*-*.mesh.test,slot-*.mb-*.mesh.test,"
			      "mb-bbbbbbbbbbbb.mesh.test") == 0,
	   "key listed: %s", listed);
	test_vectors(n, r);
	test_queries(n, r);
	test_updates(n, r);
	test_batch(n, r);
	test_replay(n, r);
	test_delete_any(n, r);
	test_xfr_notify(n);
	test_truncation(n, r);
	test_expiry_and_restart(&n, r);
	if (n) {
		is_int(dmp_node_key_revoke(n, KEY), 0, "key revoked");
		is_int(dmp_node_key_revoke(n, KEY), DMP_ENOENT,
		       "revoked twice: ENOENT");
		struct upd u = {"slot-1.mb-aaaaaaaaaaaa.mesh.test", 1, 300,
				"after", 0};
		is_int(
		    send_update(n, r, ZONE, &u, 1, KEY, secret, now_ms_real()),
		    9, "revoked key: NOTAUTH");
	}
	if (r->pkt) {
		knot_pkt_free(r->pkt);
	}
	free(r);
	dmp_node_free(n);
	dmp_node_free(NULL);
	unlink(dbpath);
	{
		char p[300];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
	}
	return done_testing();
}
