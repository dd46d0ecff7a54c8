/* tests/unit/test_resolver.c - the resolver pool against two real Knot DNS
 * servers on loopback, a closed port and a silent socket (PROTOCOL.md
 * 7.7). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmp/err.h"
#include "dmp/resolver.h"
#include "tap.h"
#include "vec.h"

#include "knotd.h"
#include "resolver_pool.h"

/*
 * Checks per section, on every path: a failed setup reports one failure
 * and skips the rest of its section; without knotd every server check is
 * skipped.
 */
enum {
	CONFIG_CHECKS = 9,
	READS_CHECKS = 33,
	BATCH_CHECKS = 3,
	DIRECT_CHECKS = 9,
	CLOSED_CHECKS = 13,
	SILENT_CHECKS = 4,
	DEADLINE_CHECKS = 3,
	SILENT_ONLY_CHECKS = 3,
	DEAD_CHECKS = CLOSED_CHECKS + SILENT_CHECKS + DEADLINE_CHECKS +
		      SILENT_ONLY_CHECKS + 1,
	SERVER_CHECKS =
	    1 + READS_CHECKS + BATCH_CHECKS + DIRECT_CHECKS + DEAD_CHECKS,
};

static int64_t fake_now = 1000000;

static int64_t fake_clock(void *ud)
{
	(void)ud;
	return fake_now;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct srvs {
	struct knotd a, b;
	char closed[32], silent_addr[32];
	int silent;
	char *v508, *v600[3];
};

static int new_pool(struct dmp_resolver **r, const char *s0, const char *s1,
		    unsigned timeout_ms)
{
	return pool_new(r, s0, s1, timeout_ms, fake_clock);
}

static void test_reads(struct srvs *s)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	struct dmp_resolver_stat st;

	if (new_pool(&r, s->a.addr, s->b.addr, 1000) != 0) {
		ok(0, "pool A,B");
		skip(READS_CHECKS - 1, "no pool");
		return;
	}
	is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
	       "multi-string value over UDP+EDNS");
	ok(res.answer.n == 1 && res.answer.lens[0] == 508 &&
	       memcmp(res.answer.values[0], s->v508, 508) == 0,
	   "joined 255+253 value");
	is_int(res.server, 0, "first server answered");
	is_int(res.tries, 1, "one try");
	dmp_resolver_result_clear(&res);

	{
		struct dmp_txt_answer a;

		is_int(knotd_query("127.0.0.1", s->a.port, "huge.mesh.test", 1,
				   0, &a),
		       0, "direct UDP+EDNS query for the big RRset");
		ok(a.tc && a.n == 0, "it is truncated over UDP");
		dmp_txt_answer_clear(&a);
	}
	is_int(dmp_resolver_query(r, "huge.mesh.test", &res, 5000), 0,
	       "1800-byte RRset (TC over UDP, then TCP)");
	if (is_int((long long)res.answer.n, 3, "three values")) {
		int seen = 0;

		for (size_t i = 0; i < 3; i++) {
			for (size_t k = 0; k < 3; k++) {
				if (res.answer.lens[i] == 600 &&
				    memcmp(res.answer.values[i], s->v600[k],
					   600) == 0) {
					seen |= 1 << k;
				}
			}
		}
		is_int(seen, 7, "each 600-byte value once");
	} else {
		skip(1, "not three values");
	}
	dmp_resolver_result_clear(&res);

	/* Nobody has it: NXDOMAIN, and nobody is blamed. */
	is_int(dmp_resolver_query(r, "nowhere.mesh.test", &res, 5000),
	       DMP_ENXDOMAIN, "NXDOMAIN everywhere");
	is_int(res.tries, 2, "both asked");
	dmp_resolver_result_clear(&res);
	stat_of(r, 0, &st);
	is_int((long long)st.failures, 0, "A not blamed for a true NXDOMAIN");
	stat_of(r, 1, &st);
	is_int((long long)st.failures, 0, "B not blamed either");
	is_int(st.state, DMP_RESOLVER_UP, "B up");
	ok(st.rtt_ms >= 0, "B has an RTT (%d ms)", st.rtt_ms);
	is_str(st.addr, s->b.addr, "stats address");

	/* Only B has it: A's NXDOMAIN counts against A (PROTOCOL.md 7.7). */
	is_int(dmp_resolver_query(r, "only-b.mesh.test", &res, 5000), 0,
	       "name only B has");
	is_int(res.server, 1, "B answered");
	ok(res.answer.n == 1 && strcmp(res.answer.values[0], "b-data") == 0,
	   "B's value");
	dmp_resolver_result_clear(&res);
	stat_of(r, 0, &st);
	is_int((long long)st.failures, 1, "A scored down for NXDOMAIN");
	is_int(st.state, DMP_RESOLVER_COOLDOWN, "A cooling down");
	ok(st.cooldown_left_ms == 60000, "60 s cooldown (%lld)",
	   (long long)st.cooldown_left_ms);
	/* A is now tried after B. */
	is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
	       "read while A cools");
	is_int(res.server, 1, "B asked first now");
	dmp_resolver_result_clear(&res);
	/* After the cooldown A is probed first again, and recovers. */
	fake_now += 60001;
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_PROBE, "A due for a probe");
	is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
	       "read after cooldown");
	is_int(res.server, 0, "A re-probed first");
	dmp_resolver_result_clear(&res);
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_UP, "A up again");
	is_int((long long)st.consecutive_failures, 0, "streak reset");

	/* REFUSED (a zone neither serves): both fail, code kept. */
	is_int(dmp_resolver_query(r, "x.other.test", &res, 5000), DMP_EREFUSED,
	       "REFUSED from every server");
	dmp_resolver_result_clear(&res);
	stat_of(r, 1, &st);
	/* The server answered: it is not cooled down (docs/protocol.md,
	 * interoperability). */
	ok(st.failures == 0 && st.state == DMP_RESOLVER_UP,
	   "REFUSED: no failure, no cooldown");
	dmp_resolver_free(r);

	/* DNSSEC mode: the test zone is unsigned, so no AD: not usable. */
	{
		struct dmp_resolver_opts o;
		const char *list[1] = {s->a.addr};

		dmp_resolver_opts_default(&o);
		o.servers = list;
		o.n_servers = 1;
		o.rd = 0;
		o.dnssec = 1;
		o.clock = fake_clock;
		r = NULL;
		if (dmp_resolver_new(&r, &o) == 0) {
			is_int(
			    dmp_resolver_query(r, "big.mesh.test", &res, 5000),
			    DMP_EUNREACHABLE,
			    "DNSSEC mode refuses answers without AD");
			dmp_resolver_result_clear(&res);
			stat_of(r, 0, &st);
			is_int((long long)st.failures, 1,
			       "and counts it against the server");
		} else {
			ok(0, "DNSSEC pool");
			skip(1, "no pool");
		}
		dmp_resolver_free(r);
	}
}

static void test_direct(struct srvs *s)
{
	struct dmp_resolver_opts o;
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	struct dmp_resolver_stat st;
	const char *pool[1] = {s->b.addr};
	struct dmp_resolver_direct d = {.zone = "Mesh.Test.",
					.server = s->a.addr};

	dmp_resolver_opts_default(&o);
	o.servers = pool;
	o.n_servers = 1;
	o.direct = &d;
	o.n_direct = 1;
	o.clock = fake_clock;
	if (!ok(dmp_resolver_new(&r, &o) == 0,
		"pool B + direct mesh.test->A")) {
		skip(DIRECT_CHECKS - 1, "no pool");
		return;
	}
	is_int((long long)dmp_resolver_count(r), 2, "two entries");
	is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
	       "direct read");
	ok(res.server == 1 && res.answer.n == 1 && res.answer.lens[0] == 508,
	   "answered by the direct node (A's 508-byte value)");
	dmp_resolver_result_clear(&res);
	is_int(dmp_resolver_query(r, "only-b.mesh.test", &res, 5000),
	       DMP_ENXDOMAIN, "no fallback to the pool for the zone");
	is_int(res.tries, 1, "only the direct node asked");
	dmp_resolver_result_clear(&res);
	is_int(dmp_resolver_query(r, "x.other.test", &res, 5000), DMP_EREFUSED,
	       "other zone: pool (B) asked, refuses");
	stat_of(r, 0, &st);
	is_int((long long)st.queries, 1, "B got only the other-zone query");
	dmp_resolver_result_clear(&res);
	stat_of(r, 1, &st);
	is_str(st.zone, "Mesh.Test.", "direct entry shows its zone");
	dmp_resolver_free(r);
}

static void count_cb(void *ud, size_t idx, const char *name,
		     const struct dmp_resolver_result *res)
{
	int *calls = ud;

	(void)name;
	(void)res;
	calls[idx]++;
}

static void test_batch(struct srvs *s)
{
	enum { N = 60 };
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res[N];
	const char *names[N];
	char buf[N][64];
	int calls[N] = {0}, good = 1, once = 1;
	int64_t t0;

	if (new_pool(&r, s->a.addr, s->b.addr, 1000) != 0) {
		ok(0, "pool");
		skip(BATCH_CHECKS - 1, "no pool");
		return;
	}
	for (int i = 0; i < N; i++) {
		switch (i % 4) {
		case 0: snprintf(buf[i], 64, "big.mesh.test"); break;
		case 1: snprintf(buf[i], 64, "huge.mesh.test"); break;
		case 2: snprintf(buf[i], 64, "n%d.mesh.test", i); break;
		default: snprintf(buf[i], 64, "bad..name"); break;
		}
		names[i] = buf[i];
	}
	t0 = mono_ms();
	is_int(
	    dmp_resolver_query_batch(r, names, N, res, 10000, count_cb, calls),
	    0, "batch of %d", N);
	diag("batch took %lld ms", (long long)(mono_ms() - t0));
	for (int i = 0; i < N; i++) {
		int want = (i % 4 == 0 || i % 4 == 1) ? 0
			   : i % 4 == 2		      ? DMP_ENXDOMAIN
						      : DMP_EBADNAME;
		size_t wn = i % 4 == 0 ? 1 : i % 4 == 1 ? 3 : 0;

		if (res[i].err != want || res[i].answer.n != wn) {
			diag("name %d: err %d n %zu", i, res[i].err,
			     res[i].answer.n);
			good = 0;
		}
		if (calls[i] != 1) {
			once = 0;
		}
		dmp_resolver_result_clear(&res[i]);
	}
	ok(good, "every name has its outcome");
	ok(once, "callback once per name");
	dmp_resolver_free(r);
}

/* A pool of the silent server (then @p second, may be NULL) into @p r;
 * on failure the section's @p n checks are accounted for (skipped without
 * a silent socket, else one failure and the rest skipped) and -1 returned. */
static int silent_pool(struct dmp_resolver **r, struct srvs *s,
		       const char *second, unsigned timeout_ms, int n)
{
	if (s->silent < 0) {
		skip(n, "no silent socket");
		return -1;
	}
	if (new_pool(r, s->silent_addr, second, timeout_ms) != 0) {
		ok(0, "pool with the silent server");
		skip(n - 1, "no pool");
		return -1;
	}
	return 0;
}

static void test_dead_first(struct srvs *s)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	struct dmp_resolver_stat st;
	int64_t t0, dt;

	/* A closed port: ICMP port unreachable. */
	if (new_pool(&r, s->closed, s->a.addr, 1000) == 0) {
		t0 = mono_ms();
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
		       "closed first: answered");
		dt = mono_ms() - t0;
		is_int(res.server, 1, "by the second");
		ok(dt < 2000, "within 2 timeouts (%lld ms)", (long long)dt);
		dmp_resolver_result_clear(&res);
		stat_of(r, 0, &st);
		is_int(st.state, DMP_RESOLVER_COOLDOWN, "closed one cools");
		is_int((long long)st.failures, 1, "one failure");
		/* Cooling: not asked first; asked again after 60 s. */
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
		       "read while it cools");
		is_int(res.tries, 1, "cooled server skipped");
		dmp_resolver_result_clear(&res);
		stat_of(r, 0, &st);
		is_int((long long)st.queries, 1, "no new query to it");
		fake_now += 60001;
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
		       "read after its cooldown");
		is_int(res.tries, 2, "re-probed after cooldown");
		is_int(res.server, 1, "still answered by the second");
		dmp_resolver_result_clear(&res);
		stat_of(r, 0, &st);
		ok(st.queries == 2 && st.state == DMP_RESOLVER_COOLDOWN,
		   "probe failed: cooling again");
		is_int((long long)st.consecutive_failures, 2, "streak of 2");
		dmp_resolver_free(r);
		r = NULL;
	} else {
		ok(0, "pool closed,A");
		skip(CLOSED_CHECKS - 1, "no pool");
	}
	/* A silent server: a real timeout. */
	if (silent_pool(&r, s, s->a.addr, 500, SILENT_CHECKS) == 0) {
		t0 = mono_ms();
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000), 0,
		       "silent first: answered");
		dt = mono_ms() - t0;
		is_int(res.server, 1, "by the second");
		ok(dt >= 450 && dt < 1000,
		   "after one 500 ms timeout, < 2 timeouts (%lld ms)",
		   (long long)dt);
		dmp_resolver_result_clear(&res);
		stat_of(r, 0, &st);
		is_int(st.state, DMP_RESOLVER_COOLDOWN, "silent one cools");
		dmp_resolver_free(r);
		r = NULL;
	}
	/* Batch deadline shorter than the timeout. */
	if (silent_pool(&r, s, NULL, 3000, DEADLINE_CHECKS) == 0) {
		t0 = mono_ms();
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 300),
		       DMP_ETIMEDOUT, "deadline -> DMP_ETIMEDOUT");
		dt = mono_ms() - t0;
		ok(dt >= 250 && dt < 1000, "at the deadline (%lld ms)",
		   (long long)dt);
		dmp_resolver_result_clear(&res);
		stat_of(r, 0, &st);
		is_int((long long)st.failures, 0,
		       "a cancelled query blames nobody");
		dmp_resolver_free(r);
		r = NULL;
	}
	/* Only a silent server: a second round (a datagram may be lost, or
	 * a rate limit may drop it), then the failure. */
	if (silent_pool(&r, s, NULL, 300, SILENT_ONLY_CHECKS) == 0) {
		t0 = mono_ms();
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000),
		       DMP_EUNREACHABLE, "silent only -> unreachable");
		dt = mono_ms() - t0;
		ok(dt >= 550 && dt < 1500,
		   "after two 300 ms timeouts (%lld ms)", (long long)dt);
		dmp_resolver_result_clear(&res);
		stat_of(r, 0, &st);
		is_int((long long)st.queries, 2, "asked twice");
		dmp_resolver_free(r);
		r = NULL;
	}
	/* Everything dead. */
	if (new_pool(&r, s->closed, NULL, 500) == 0) {
		is_int(dmp_resolver_query(r, "big.mesh.test", &res, 5000),
		       DMP_EUNREACHABLE, "only a dead server -> unreachable");
		dmp_resolver_result_clear(&res);
		dmp_resolver_free(r);
	} else {
		ok(0, "pool closed");
	}
}

static void test_config(void)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_opts o;
	const char *bad[] = {"example.com"}, *v6[] = {"[::1]:5353", "::1"};
	struct dmp_resolver_stat st[2];
	FILE *f;
	int sys = 0;

	dmp_resolver_opts_default(&o);
	o.servers = bad;
	o.n_servers = 1;
	is_int(dmp_resolver_new(&r, &o), DMP_EINVAL, "host names refused");
	ok(r == NULL, "out reset");
	o.servers = v6;
	o.n_servers = 2;
	is_int(dmp_resolver_new(&r, &o), 0, "IPv6 literals");
	if (r) {
		is_int((long long)dmp_resolver_stats(r, st, 2), 2, "two");
		is_str(st[0].addr, "[::1]:5353", "v6 with port");
		is_str(st[1].addr, "[::1]:53", "v6 default port");
		is_str(dmp_resolver_state_name(st[0].state), "up",
		       "state name");
	} else {
		skip(4, "no IPv6 pool");
	}
	dmp_resolver_free(r);
	r = NULL;
	f = fopen("/etc/resolv.conf", "r");
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "nameserver", 10) == 0) {
				sys++;
			}
		}
		fclose(f);
	}
	if (sys) {
		is_int(dmp_resolver_new(&r, NULL), 0, "defaults: resolv.conf");
		ok(r && dmp_resolver_count(r) >= 1, "resolv.conf servers (%zu)",
		   r ? dmp_resolver_count(r) : 0);
		dmp_resolver_free(r);
	} else {
		skip(2, "no nameserver in /etc/resolv.conf");
	}
	dmp_resolver_free(NULL);
	dmp_resolver_result_clear(NULL);
}

int main(void)
{
	struct srvs s;
	char rd[2000], *zone_a = malloc(8000), *zone_b = malloc(1000);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int rc, no_knotd = 0;

	plan(CONFIG_CHECKS + SERVER_CHECKS);
	test_config();
	memset(&s, 0, sizeof(s));
	s.silent = -1; /* not opened yet: nothing to close on early exits */
	s.v508 = knotd_value(508, 1);
	knotd_txt_rdata(rd, s.v508);
	snprintf(zone_a, 8000, "big TXT %s\n", rd);
	for (int i = 0; i < 3; i++) {
		s.v600[i] = knotd_value(600, (char)(7 + i));
		knotd_txt_rdata(rd, s.v600[i]);
		strcat(zone_a, "huge TXT ");
		strcat(zone_a, rd);
		strcat(zone_a, "\n");
	}
	snprintf(zone_b, 1000, "big TXT %s\nonly-b TXT \"b-data\"\n", "\"x\"");
	rc = knotd_start(&s.a, zone_a);
	if (rc == 0) {
		rc = knotd_start(&s.b, zone_b);
	}
	if (rc == -2) {
		no_knotd = 1;
		skip(SERVER_CHECKS, "knotd not installed");
		goto out;
	}
	if (!ok(rc == 0, "two knotd started")) {
		skip(SERVER_CHECKS - 1, "no knotd");
		goto out;
	}
	diag("knotd A %s, B %s", s.a.addr, s.b.addr);
	snprintf(s.closed, sizeof(s.closed), "127.0.0.1:%u",
		 knotd_free_port(1));
	s.silent = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s.silent < 0 ||
	    bind(s.silent, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(s.silent, (struct sockaddr *)&sa, &sl)) {
		s.silent = -1;
	} else {
		snprintf(s.silent_addr, sizeof(s.silent_addr), "127.0.0.1:%u",
			 ntohs(sa.sin_port));
	}
	test_reads(&s);
	test_batch(&s);
	test_direct(&s);
	test_dead_first(&s);
out:
	knotd_stop(&s.a);
	knotd_stop(&s.b);
	if (s.silent >= 0) {
		close(s.silent);
	}
	free(s.v508);
	for (int i = 0; i < 3; i++) {
		free(s.v600[i]);
	}
	free(zone_a);
	free(zone_b);
	rc = done_testing();
	/* The servers are what this test is about: without knotd it is
	 * reported skipped (unless a check that could run failed). */
	return rc == 0 && no_knotd ? TAP_SKIP_EXIT : rc;
}
