/*
 * tests/unit/test_peers.c - client node discovery (peers.h): store
 * round-trip, dedupe by operator key + endpoint (newest ts wins), forged
 * and malformed heartbeats dropped, miss accounting and health, provider
 * selection (PROTOCOL.md 8), file names, config loading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/peers.h"
#include "dmp/store.h"
#include "tap.h"

#define NOW 1893456000LL

static char dir[] = "/tmp/dmp-test-peers-XXXXXX";

struct op {
	uint8_t pk[32], sk[64];
};

static void op_new(struct op *o, uint8_t seed_byte)
{
	uint8_t seed[32];

	memset(seed, seed_byte, sizeof(seed));
	dmp_ed25519_from_seed(o->pk, o->sk, seed);
}

/* A signed heartbeat wire, or abort (a broken fixture is no test). */
static char *hb_wire(const struct op *o, const char *ep, uint16_t caps,
		     const char *zone, int64_t ts, unsigned flags)
{
	struct dmp_heartbeat hb;
	char *w = malloc(2048);
	int n;

	memset(&hb, 0, sizeof(hb));
	snprintf(hb.endpoint, sizeof(hb.endpoint), "%s", ep);
	memcpy(hb.operator_spk, o->pk, 32);
	snprintf(hb.version, sizeof(hb.version), "test 1.0");
	hb.capabilities = caps;
	snprintf(hb.zone, sizeof(hb.zone), "%s", zone);
	hb.ts = (uint64_t)ts;
	hb.exp = (uint64_t)ts + DMP_HEARTBEAT_LIFETIME;
	n = dmp_heartbeat_sign(w, 2048, &hb, o->sk, flags);
	if (!w || n < 0) {
		fprintf(stderr, "hb_wire: %s\n", dmp_strerror(n));
		abort();
	}
	return w;
}

/* A fake resolver result holding @p n values (taken over). */
static void result_set(struct dmp_resolver_result *r, int err, char **vals,
		       size_t n)
{
	memset(r, 0, sizeof(*r));
	r->err = err;
	if (n == 0) {
		return;
	}
	r->answer.values = dmp_calloc(n, sizeof(char *));
	r->answer.lens = dmp_calloc(n, sizeof(size_t));
	r->answer.ttls = dmp_calloc(n, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(vals[i]);

		r->answer.values[i] = dmp_malloc(l + 1);
		memcpy(r->answer.values[i], vals[i], l + 1);
		r->answer.lens[i] = l;
		free(vals[i]);
	}
	r->answer.n = n;
}

static char *dupstr(const char *s)
{
	char *d = malloc(strlen(s) + 1);

	if (!d) {
		abort();
	}
	memcpy(d, s, strlen(s) + 1);
	return d;
}

struct found {
	struct dmp_store_peer p[8];
	size_t n;
};

static size_t load(struct dmp_store *st, struct found *f)
{
	struct dmp_store_peer *v = NULL;
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	if (dmp_peers_list(st, &v, &n) != 0) {
		return (size_t)-1;
	}
	for (size_t i = 0; i < n && i < 8; i++) {
		f->p[i] = v[i];
	}
	f->n = n;
	dmp_free(v);
	return n;
}

static const struct dmp_store_peer *by_ep(const struct found *f, const char *ep)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->p[i].endpoint, ep) == 0) {
			return &f->p[i];
		}
	}
	return NULL;
}

static void test_store_roundtrip(struct dmp_store *st)
{
	struct dmp_store_peer p, q;
	struct found f;

	memset(&p, 0, sizeof(p));
	snprintf(p.endpoint, sizeof(p.endpoint), "https://n1.example:8053");
	memset(p.operator_spk, 0x42, 32);
	snprintf(p.version, sizeof(p.version), "v1");
	p.capabilities = 0x8001;
	snprintf(p.claim_provider_zone, sizeof(p.claim_provider_zone),
		 "claims.example");
	p.hb_ts = 1000;
	p.hb_exp = 2000;
	p.first_seen = p.last_seen = 1001;
	snprintf(p.source, sizeof(p.source), "_dnsmesh-heartbeat.example");
	is_int(dmp_store_peer_seen(st, &p), 0, "store: insert");
	is_int((long long)load(st, &f), 1, "store: one row");
	q = f.p[0];
	is_str(q.endpoint, p.endpoint, "store: endpoint");
	is_mem(q.operator_spk, 32, p.operator_spk, 32, "store: key");
	is_str(q.version, "v1", "store: version");
	is_int(q.capabilities, 0x8001, "store: unknown cap bits kept");
	is_str(q.claim_provider_zone, "claims.example", "store: zone");
	is_int((long long)q.hb_ts, 1000, "store: ts");
	is_int((long long)q.hb_exp, 2000, "store: exp");
	is_int(q.first_seen, 1001, "store: first_seen");
	is_str(q.source, p.source, "store: source");
	is_int(q.failures, 0, "store: no failures");

	/* An older sighting later: heartbeat fields stay, last_seen moves. */
	p.hb_ts = 900;
	p.hb_exp = 1900;
	snprintf(p.version, sizeof(p.version), "old");
	p.first_seen = p.last_seen = 1500;
	is_int(dmp_store_peer_seen(st, &p), 0, "store: older sighting");
	load(st, &f);
	is_int((long long)f.n, 1, "store: still one row");
	is_int((long long)f.p[0].hb_ts, 1000, "store: newest ts kept");
	is_str(f.p[0].version, "v1", "store: newest version kept");
	is_int(f.p[0].last_seen, 1500, "store: last_seen advanced");
	is_int(f.p[0].first_seen, 1001, "store: first_seen kept");

	is_int(dmp_store_peer_fail(st, "_dnsmesh-heartbeat.example", 1600,
				   DMP_ETIMEDOUT, "x: timed out"),
	       1, "store: miss counted");
	is_int(dmp_store_peer_fail(st, "_dnsmesh-heartbeat.other", 1600,
				   DMP_ETIMEDOUT, "y"),
	       0, "store: miss on another source touches nothing");
	is_int(dmp_store_peer_fail(st, "_dnsmesh-heartbeat.example", 1500,
				   DMP_ETIMEDOUT, "z"),
	       0, "store: no miss for a peer seen at that time");
	load(st, &f);
	is_int(f.p[0].failures, 1, "store: failures 1");
	is_int(f.p[0].last_err, DMP_ETIMEDOUT, "store: last_err");
	is_str(f.p[0].last_error, "x: timed out", "store: last_error");
	is_int(dmp_store_peer_reap(st, 1999), 0, "reap: not yet expired");
	is_int(dmp_store_peer_reap(st, 2001), 1, "reap: expired row deleted");
	is_int((long long)load(st, &f), 0, "store: empty again");
}

static void test_health(void)
{
	struct dmp_store_peer p;

	memset(&p, 0, sizeof(p));
	p.hb_ts = NOW;
	p.hb_exp = NOW + 86400;
	is_str(dmp_peer_health_name(dmp_peer_health(&p, NOW + 10, 1500)), "ok",
	       "health: fresh is ok");
	is_str(dmp_peer_health_name(dmp_peer_health(&p, NOW + 1501, 1500)),
	       "stale", "health: old heartbeat is stale");
	is_str(dmp_peer_health_name(dmp_peer_health(&p, NOW + 86400, 1500)),
	       "expired", "health: exp reached is expired");
	p.failures = 1;
	p.last_err = DMP_EUNREACHABLE;
	is_str(dmp_peer_health_name(dmp_peer_health(&p, NOW + 10, 1500)),
	       "unreachable", "health: network miss is unreachable");
	p.last_err = DMP_ESERVFAIL;
	is_int(dmp_peer_health(&p, NOW + 10, 1500), DMP_PEER_UNREACHABLE,
	       "health: SERVFAIL is unreachable");
	is_int(dmp_peer_health(&p, NOW + 86401, 1500), DMP_PEER_EXPIRED,
	       "health: expired beats unreachable");
	p.last_err = DMP_ENOENT;
	is_int(dmp_peer_health(&p, NOW + 10, 1500), DMP_PEER_STALE,
	       "health: answered without it is stale");
	is_str(dmp_peer_health_name((enum dmp_peer_health)99), "?",
	       "health: unknown value");
}

static void test_file_name(void)
{
	struct dmp_store_peer p;
	char name[300];

	memset(&p, 0, sizeof(p));
	memset(p.operator_spk, 0xab, 32);
	snprintf(p.endpoint, sizeof(p.endpoint), "http://127.0.0.5:8053");
	is_int(dmp_peer_file_name(&p, name, sizeof(name)), 23,
	       "file name: length");
	is_str(name, "127.0.0.5_8053-abababab", "file name: host_port-key");
	snprintf(p.endpoint, sizeof(p.endpoint), "https://[2001:db8::1]:443");
	is_int(dmp_peer_file_name(&p, name, sizeof(name)), 26,
	       "file name: IPv6 length");
	is_str(name, "_2001_db8__1__443-abababab", "file name: IPv6 escaped");
	snprintf(p.endpoint, sizeof(p.endpoint), "https://Node.Example");
	is_int(dmp_peer_file_name(&p, name, sizeof(name)), 21,
	       "file name: plain length");
	is_str(name, "Node.Example-abababab", "file name: plain host");
	is_int(dmp_peer_file_name(&p, name, 20), DMP_ENOBUFS,
	       "file name: small buffer refused");
	is_str(name, "", "file name: cleared on failure");
}

static void test_ingest(struct dmp_store *st)
{
	struct op a, b, evil;
	const char *names[4] = {
	    "_dnsmesh-heartbeat.a.test",
	    "_dnsmesh-seen.a.test",
	    "_dnsmesh-heartbeat.b.test",
	    "_dnsmesh-seen.b.test",
	};
	struct dmp_resolver_result res[4];
	char *v[6], *forged;
	struct found f;
	const struct dmp_store_peer *pa, *pb;
	char zones[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1];
	unsigned lb = DMP_HEARTBEAT_ALLOW_LOOPBACK;

	op_new(&a, 1);
	op_new(&b, 2);
	op_new(&evil, 3);

	/* a: its own heartbeat, plus an older copy of it in b's seen set
	 * and a newer one in a's seen set; b: only in its heartbeat name. */
	v[0] = hb_wire(&a, "http://127.0.0.5:8053", 1, "", NOW - 20, lb);
	result_set(&res[0], 0, v, 1);
	v[0] = hb_wire(&a, "http://127.0.0.5:8053", 1, "", NOW - 5, lb);
	/* forged: a's endpoint and key, signed by another key */
	forged = hb_wire(&evil, "http://127.0.0.5:8053", 1, "", NOW, lb);
	{
		struct dmp_heartbeat t;

		ok(dmp_heartbeat_parse(&t, forged, strlen(forged), NOW, lb) ==
		       0,
		   "fixture: evil's own heartbeat verifies");
	}
	v[1] = forged;
	v[2] = dupstr("v=dmp1;t=heartbeat;AAAA");
	v[3] = dupstr("garbage");
	result_set(&res[1], 0, v, 4);
	v[0] = hb_wire(&b, "http://127.0.0.6:8053", 0, "", NOW - 1, lb);
	/* stale: 301 s old, must be refused (2.8) */
	v[1] = hb_wire(&b, "http://127.0.0.7:8053", 0, "", NOW - 301, lb);
	result_set(&res[2], 0, v, 2);
	v[0] = hb_wire(&a, "http://127.0.0.5:8053", 1, "", NOW - 100, lb);
	result_set(&res[3], 0, v, 1);

	is_int(dmp_peers_ingest(st, names, res, 4, NOW, DMP_HEARTBEAT_STRICT),
	       0, "strict: loopback endpoints refused, nothing kept");
	is_int((long long)load(st, &f), 0, "strict: store empty");
	is_int(dmp_peers_ingest(st, names, res, 4, NOW, lb), 3,
	       "ingest: a, b and evil verified (3 distinct)");
	is_int((long long)load(st, &f), 3, "ingest: three rows");
	pa = NULL;
	pb = by_ep(&f, "http://127.0.0.6:8053");
	for (size_t i = 0; i < f.n; i++) {
		if (memcmp(f.p[i].operator_spk, a.pk, 32) == 0) {
			pa = &f.p[i];
		}
	}
	ok(pa != NULL, "ingest: a present under its own key");
	ok(pb != NULL, "ingest: b present");
	ok(by_ep(&f, "http://127.0.0.7:8053") == NULL,
	   "ingest: 301 s old heartbeat refused");
	if (pa && pb) {
		is_int((long long)pa->hb_ts, NOW - 5,
		       "dedupe: newest ts of a kept");
		is_str(pa->source, "_dnsmesh-seen.a.test",
		       "dedupe: source is where the newest came from");
		is_int(pa->capabilities, 1, "a: claim provider bit");
		is_mem(pb->operator_spk, 32, b.pk, 32, "b: key");
		is_str(pb->source, "_dnsmesh-heartbeat.b.test", "b: source");
		is_int(pb->first_seen, NOW, "b: first_seen");
		is_str(dmp_peer_health_name(dmp_peer_health(pb, NOW, 1500)),
		       "ok", "b: ok");
	}
	/* The forged value claims a's endpoint but verifies only under
	 * evil's key: it is a different peer, never a's. */
	{
		int evil_rows = 0;

		for (size_t i = 0; i < f.n; i++) {
			evil_rows +=
			    memcmp(f.p[i].operator_spk, evil.pk, 32) == 0;
		}
		is_int(evil_rows, 1, "forgery: kept apart under its own key");
	}
	for (int i = 0; i < 4; i++) {
		dmp_resolver_result_clear(&res[i]);
	}

	/* A value with a's key but a tampered body must be refused. */
	{
		char *w = hb_wire(&a, "http://127.0.0.5:8053", 1, "", NOW, lb);
		size_t l = strlen(w);
		struct dmp_heartbeat t;

		/* inside the signature, away from the base64 padding */
		w[l - 10] = w[l - 10] == 'A' ? 'B' : 'A';
		is_int(dmp_heartbeat_parse(&t, w, l, NOW, lb), DMP_EBADSIG,
		       "fixture: tampered heartbeat fails its signature");
		v[0] = w;
		result_set(&res[0], 0, v, 1);
		is_int(dmp_peers_ingest(st, names, res, 1, NOW + 60, lb), 0,
		       "tampered: nothing verified");
		dmp_resolver_result_clear(&res[0]);
	}
	load(st, &f);
	pa = by_ep(&f, "http://127.0.0.5:8053");
	/* a's source was the seen name (not queried then): no miss. */
	for (size_t i = 0; i < f.n; i++) {
		if (memcmp(f.p[i].operator_spk, a.pk, 32) == 0) {
			is_int(f.p[i].failures, 0,
			       "miss: only peers of the queried source");
		}
	}

	/* Next refresh: b's zone times out, a's answers without a. */
	result_set(&res[0], 0, NULL, 0);
	result_set(&res[1], 0, NULL, 0);
	result_set(&res[2], DMP_ETIMEDOUT, NULL, 0);
	result_set(&res[3], DMP_ENXDOMAIN, NULL, 0);
	is_int(dmp_peers_ingest(st, names, res, 4, NOW + 120, lb), 0,
	       "refresh 2: nothing verified");
	load(st, &f);
	pb = by_ep(&f, "http://127.0.0.6:8053");
	ok(pb && pb->failures == 1 && pb->last_err == DMP_ETIMEDOUT,
	   "refresh 2: b missed with a timeout");
	ok(pb && dmp_peer_health(pb, NOW + 120, 1500) == DMP_PEER_UNREACHABLE,
	   "refresh 2: b unreachable");
	for (size_t i = 0; i < f.n; i++) {
		if (memcmp(f.p[i].operator_spk, a.pk, 32) == 0) {
			ok(f.p[i].failures == 1 &&
			       f.p[i].last_err == DMP_ENOENT,
			   "refresh 2: a missed (answered without it)");
			is_int(dmp_peer_health(&f.p[i], NOW + 120, 1500),
			       DMP_PEER_STALE, "refresh 2: a stale");
			ok(strstr(f.p[i].last_error, "no fresh") != NULL,
			   "refresh 2: a's last_error says why");
		}
	}

	/* Providers: only a has bit 0, but a is stale (kept) and evil has
	 * bit 0 with a loopback IP host (no zone). */
	is_int(dmp_peers_providers(st, NOW + 120, zones), 0,
	       "providers: IP-literal hosts give no zone");

	/* b heard again: failures clear. */
	v[0] = hb_wire(&b, "http://127.0.0.6:8053", 0, "", NOW + 200, lb);
	result_set(&res[2], 0, v, 1);
	is_int(dmp_peers_ingest(st, names + 2, res + 2, 1, NOW + 200, lb), 1,
	       "refresh 3: b verified");
	dmp_resolver_result_clear(&res[2]);
	load(st, &f);
	pb = by_ep(&f, "http://127.0.0.6:8053");
	ok(pb && pb->failures == 0 && pb->hb_ts == (uint64_t)NOW + 200 &&
	       dmp_peer_health(pb, NOW + 200, 1500) == DMP_PEER_OK,
	   "refresh 3: b ok again");
	for (int i = 0; i < 4; i++) {
		dmp_resolver_result_clear(&res[i]);
	}

	/* Everything is reaped a week after its exp. */
	is_int(dmp_peers_ingest(st, names, res, 0,
				NOW + 86400 + DMP_PEERS_KEEP_EXPIRED + 300, lb),
	       0, "reap pass");
	is_int((long long)load(st, &f), 0, "reap: expired peers gone");

	is_int(dmp_peers_ingest(NULL, names, res, 0, NOW, lb), DMP_EINVAL,
	       "ingest: NULL store");
	is_int(dmp_peers_ingest(st, NULL, NULL, 1, NOW, lb), DMP_EINVAL,
	       "ingest: NULL names");
}

static void test_providers(struct dmp_store *st)
{
	struct op o[5];
	const char *name = "_dnsmesh-heartbeat.p.test";
	struct dmp_resolver_result res;
	char *v[6];
	char zones[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1];

	for (int i = 0; i < 5; i++) {
		op_new(&o[i], (uint8_t)(10 + i));
	}
	/* ts order: o0 newest ... o4 oldest. o1 is no provider; o2 has no
	 * zone so its endpoint host counts; o3 repeats o0's zone. */
	v[0] =
	    hb_wire(&o[0], "https://n0.test", 1, "Claims.P.Test", NOW - 1, 0);
	v[1] = hb_wire(&o[1], "https://n1.test", 0, "nope.test", NOW - 2, 0);
	v[2] = hb_wire(&o[2], "https://Host2.Example:8053", 1, "", NOW - 3, 0);
	v[3] =
	    hb_wire(&o[3], "https://n3.test", 1, "claims.p.test", NOW - 4, 0);
	v[4] =
	    hb_wire(&o[4], "https://n4.test", 0x8001, "last.test", NOW - 5, 0);
	v[5] = hb_wire(&o[0], "https://n5.test", 1, "fifth.test", NOW - 6, 0);
	result_set(&res, 0, v, 6);
	is_int(dmp_peers_ingest(st, &name, &res, 1, NOW, 0), 6,
	       "providers: six heartbeats (one key, two endpoints)");
	dmp_resolver_result_clear(&res);
	is_int(dmp_peers_providers(st, NOW, zones), 3, "providers: three");
	is_str(zones[0], "Claims.P.Test", "providers: newest first");
	is_str(zones[1], "host2.example",
	       "providers: endpoint host when zone empty (lower case)");
	is_str(zones[2], "last.test",
	       "providers: duplicate zone and non-provider skipped");
	/* After exp nothing is offered. */
	is_int(dmp_peers_providers(st, NOW + 86400, zones), 0,
	       "providers: none after exp");
	is_str(zones[0], "", "providers: cleared");
	/* an unreachable provider is skipped */
	result_set(&res, DMP_EREFUSED, NULL, 0);
	is_int(dmp_peers_ingest(st, &name, &res, 1, NOW + 30, 0), 0,
	       "providers: refresh refused");
	is_int(dmp_peers_providers(st, NOW + 30, zones), 0,
	       "providers: unreachable ones skipped");
}

static void test_conf(void)
{
	char home[sizeof(dir) + 16], path[sizeof(dir) + 64];
	const char *nodes[] = {"127.0.0.1:5353", NULL};
	struct dmp_engine_init in;
	struct dmp_engine_opts o;
	struct dmp_engine *e = NULL;
	struct dmp_peers_conf c;
	char buf[4096];
	size_t len;
	FILE *f;

	snprintf(home, sizeof(home), "%s/home", dir);
	memset(&in, 0, sizeof(in));
	in.username = "alice";
	in.domain = "mesh.test";
	in.nodes = nodes;
	if (dmp_engine_init_home(home, &in, "pw") != 0) {
		ok(0, "conf: init home");
		return;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	/* Replace the discovery section init wrote (it is the last one). */
	f = fopen(path, "r");
	if (!f || (len = fread(buf, 1, sizeof(buf) - 1, f)) == 0) {
		ok(0, "conf: read config");
		return;
	}
	fclose(f);
	buf[len] = 0;
	ok(strstr(buf, "\ndiscovery:\n  seeds: []\n  allow_loopback: false\n"
		       "  interval: 600\n") != NULL,
	   "conf: init writes the discovery defaults");
	/* The section, not network.relays_from_discovery. */
	if (strstr(buf, "\ndiscovery:")) {
		strstr(buf, "\ndiscovery:")[1] = 0;
	}
	f = fopen(path, "w");
	if (!f) {
		ok(0, "conf: open config");
		return;
	}
	fputs(buf, f);
	fputs("discovery:\n  seeds: [b.test, mesh.test, 'bad..zone', "
	      "c.test.]\n  allow_loopback: true\n  interval: 30\n",
	      f);
	fclose(f);
	memset(&o, 0, sizeof(o));
	o.home = home;
	o.passphrase = "pw";
	is_int(dmp_engine_open(&e, &o), 0, "conf: engine opens with discovery");
	if (!e) {
		return;
	}
	is_int(dmp_peers_conf_load(dmp_engine_home(e), &c), 0, "conf: load");
	is_int((long long)c.n_seeds, 3, "conf: own zone + 2 (dup, bad out)");
	is_str(c.seeds[0], "mesh.test", "conf: own domain first");
	is_str(c.seeds[1], "b.test", "conf: seed 1");
	is_str(c.seeds[2], "c.test", "conf: trailing dot stripped");
	is_int(c.allow_loopback, 1, "conf: allow_loopback");
	is_int(c.interval, 30, "conf: interval");
	is_int(c.stale_after, 360, "conf: stale_after = 2 * interval + 300");
	dmp_engine_close(e);

	f = fopen(path, "a");
	if (f) {
		fputs("  bogus: 1\n", f);
		fclose(f);
	}
	e = NULL;
	is_int(dmp_engine_open(&e, &o), DMP_ECONFIG,
	       "conf: unknown discovery key is an error");
	dmp_engine_close(e);
}

int main(void)
{
	struct dmp_store *st = NULL;
	char path[sizeof(dir) + 16];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/s.db", dir);
	if (dmp_store_open(&st, path) != 0) {
		fprintf(stderr, "store open failed\n");
		return 1;
	}
	plan(95);
	test_store_roundtrip(st);
	test_health();
	test_file_name();
	test_ingest(st);
	test_providers(st);
	dmp_store_close(st);
	test_conf();
	{
		char cmd[sizeof(dir) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0) {
			diag("cleanup of %s failed", dir);
		}
	}
	return done_testing();
}
