/* tests/unit/test_resolver_ref.c - the resolver pool against a double with
 * the reference node's DNS behaviour (tests/black/refnode.py; docs/
 * protocol.md, interoperability): one query per TCP connection, SERVFAIL
 * for a TCP query whose EDNS size is below the answer's, and counters per
 * transport that the checks read back. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/resolver.h"
#include "tap.h"

#include "knotd.h"
#include "resolver_pool.h"

#define PYTHON "/usr/bin/python3"
#define NBIG 6 /* names needing TCP in one batch */

static char *value(size_t len, char c)
{
	char *v = malloc(len + 1);

	for (size_t i = 0; v && i < len; i++) {
		v[i] = (char)('a' + (c + i) % 26);
	}
	if (v) {
		v[len] = 0;
	}
	return v;
}

/* Start refnode.py on 127.0.0.1 serving @p zone (a JSON object) with
 * @p flag and @p arg (NULL or one refnode option); 0 or -1. */
static int ref_start(struct knotd *n, const char *script, json_t *zone,
		     const char *flag, const char *arg)
{
	char zpath[96], spath[96], rpath[96], listen[32];

	memset(n, 0, sizeof(*n));
	n->port = knotd_free_port(0);
	if (!n->port || knotd_track(n, "/tmp/dmp-refnode-XXXXXX") != 0) {
		return -1;
	}
	snprintf(zpath, sizeof(zpath), "%s/zone.json", n->dir);
	snprintf(spath, sizeof(spath), "%s/stats.json", n->dir);
	snprintf(rpath, sizeof(rpath), "%s/ready", n->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", n->port);
	snprintf(n->addr, sizeof(n->addr), "%s", listen);
	if (json_dump_file(zone, zpath, 0) != 0) {
		return -1;
	}
	n->pid = fork();
	if (n->pid < 0) {
		return -1;
	}
	if (n->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(PYTHON, PYTHON, script, "--listen", listen, "--zone",
		      zpath, "--stats", spath, "--ready", rpath, "--lifetime",
		      "120", "--max-queries", "1000", flag, arg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* 10 s */
		if (access(rpath, F_OK) == 0) {
			return 0;
		}
		if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
			n->pid = 0;
			return -1;
		}
		usleep(20000);
	}
	return -1;
}

/* One of the double's counters, -1 if unreadable. */
static long long ref_count(const struct knotd *n, const char *key)
{
	char path[96];
	json_t *j;
	long long v = -1;

	snprintf(path, sizeof(path), "%s/stats.json", n->dir);
	j = json_load_file(path, 0, NULL);
	if (j && json_is_integer(json_object_get(j, key))) {
		v = json_integer_value(json_object_get(j, key));
	}
	json_decref(j);
	return v;
}

static int new_pool(struct dmp_resolver **r, const char *s0, const char *s1)
{
	return pool_new(r, s0, s1, 1500, NULL);
}

static int has_values(const struct dmp_resolver_result *res, char **want,
		      size_t n)
{
	size_t seen = 0;

	if (res->err != 0 || res->answer.n != n) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < n; k++) {
			if (res->answer.lens[k] == strlen(want[i]) &&
			    memcmp(res->answer.values[k], want[i],
				   strlen(want[i])) == 0) {
				seen++;
				break;
			}
		}
	}
	return seen == n;
}

/* 1. A ~600-byte answer fits the 1232-byte EDNS payload: UDP only. */
static void test_mid_udp(struct knotd *n, char *mid)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;

	if (!ok(new_pool(&r, n->addr, NULL) == 0, "pool [ref]")) {
		skip(4, "no pool");
		return;
	}
	is_int(dmp_resolver_query(r, "mid.ref.test", &res, 5000), 0,
	       "~600-byte TXT answer");
	ok(has_values(&res, &mid, 1), "its value");
	dmp_resolver_result_clear(&res);
	is_int(ref_count(n, "udp"), 1, "one UDP query");
	is_int(ref_count(n, "tcp_connections"), 0, "no TCP (EDNS payload)");
	dmp_resolver_free(r);
}

/* 2. Names that need TCP, in one batch, from a server that answers one
 * query per connection: all answered, no cooldown. 3. A ~4.4 KB RRset
 * from a server that SERVFAILs small-EDNS TCP queries. */
static void test_tcp_batch(struct knotd *n, char **big, char **pre)
{
	static const char *names[NBIG] = {"big0.ref.test", "big1.ref.test",
					  "big2.ref.test", "big3.ref.test",
					  "big4.ref.test", "big5.ref.test"};
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res[NBIG];
	struct dmp_resolver_stat st;
	long long udp0 = ref_count(n, "udp"), tcp0 = ref_count(n, "tcp");
	int good = 1;

	if (!ok(new_pool(&r, n->addr, NULL) == 0, "pool [ref] for TCP")) {
		skip(11, "no pool");
		return;
	}
	/* More names than connections per server (TCP_PER_SERVER, 4). */
	is_int(dmp_resolver_query_batch(r, names, NBIG, res, 10000, NULL, NULL),
	       0, "batch of %d names needing TCP", NBIG);
	for (size_t i = 0; i < NBIG; i++) {
		char *want[2] = {big[2 * i], big[2 * i + 1]};

		if (!has_values(&res[i], want, 2)) {
			diag("%s: err %d, %zu values", names[i], res[i].err,
			     res[i].answer.n);
			good = 0;
		}
		dmp_resolver_result_clear(&res[i]);
	}
	ok(good, "all %d answered with their values", NBIG);
	is_int(ref_count(n, "udp") - udp0, NBIG, "one UDP query each (TC)");
	is_int(ref_count(n, "tcp") - tcp0, NBIG,
	       "one TCP query each, no retry needed");
	is_int(ref_count(n, "servfail"), 0,
	       "no SERVFAIL (TCP queries carry EDNS 65535)");
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_UP, "server not cooled down");
	is_int((long long)st.failures, 0, "no failure counted");

	is_int(dmp_resolver_query(r, "prekeys.ref.test", &res[0], 5000), 0,
	       "~4.4 KB RRset over TCP");
	ok(has_values(&res[0], pre, 3), "its 3 values");
	dmp_resolver_result_clear(&res[0]);
	is_int(ref_count(n, "servfail"), 0, "still no SERVFAIL");
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_UP, "server still up");
	dmp_resolver_free(r);
}

/* 3b. A server that SERVFAILs every EDNS query over TCP: one retry
 * without EDNS, and no cooldown. */
static void test_tcp_noedns(struct knotd *n, char **pre)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	struct dmp_resolver_stat st;

	if (!ok(new_pool(&r, n->addr, NULL) == 0, "pool [ref, EDNS-shy]")) {
		skip(5, "no pool");
		return;
	}
	is_int(dmp_resolver_query(r, "prekeys.ref.test", &res, 5000), 0,
	       "~4.4 KB RRset despite SERVFAIL to EDNS over TCP");
	ok(has_values(&res, pre, 3), "its 3 values");
	dmp_resolver_result_clear(&res);
	is_int(ref_count(n, "servfail"), 1, "one SERVFAIL, then without EDNS");
	is_int(ref_count(n, "tcp"), 2, "two TCP queries");
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_UP, "server not cooled down");
	dmp_resolver_free(r);
}

/* 2b. A connection closed without an answer: a fresh one, no cooldown. */
static void test_tcp_reconnect(struct knotd *n, char **pre)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	struct dmp_resolver_stat st;

	if (!ok(new_pool(&r, n->addr, NULL) == 0, "pool [ref, drops]")) {
		skip(6, "no pool");
		return;
	}
	is_int(dmp_resolver_query(r, "prekeys.ref.test", &res, 5000), 0,
	       "RRset despite a TCP connection closed unanswered");
	ok(has_values(&res, pre, 3), "its 3 values");
	dmp_resolver_result_clear(&res);
	is_int(ref_count(n, "tcp_dropped"), 1, "first connection dropped");
	is_int(ref_count(n, "tcp_connections"), 2, "asked again on a new one");
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_UP, "server not cooled down");
	is_int((long long)st.failures, 0, "no failure counted");
	dmp_resolver_free(r);
}

/* 5. A slot truncated over UDP and over TCP (issue 12): reported as
 * such, not as "unreachable" and never as an empty answer. */
static void test_truncated_both(void)
{
	struct knotd d;
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	json_t *empty = json_object();
	const char *vec = getenv("DMP_VECTOR_DIR");
	char script[512];

	snprintf(script, sizeof(script), "%s/../black/refnode.py",
		 vec ? vec : "tests/vectors");
	if (!ok(ref_start(&d, script, empty, "--slot-fail", "tc") == 0 &&
		    new_pool(&r, d.addr, NULL) == 0,
		"refnode --slot-fail tc")) {
		skip(2, "no double");
		json_decref(empty);
		return;
	}
	is_int(dmp_resolver_query(r, "slot-3.mb-0123456789ab.ref.test", &res,
				  5000),
	       DMP_ETRUNCATED, "truncated over UDP and TCP: DMP_ETRUNCATED");
	dmp_resolver_result_clear(&res);
	ok(ref_count(&d, "slot_fail") >= 2 && ref_count(&d, "tcp") >= 1,
	   "asked over UDP, then TCP");
	dmp_resolver_free(r);
	json_decref(empty);
}

/* 4. A dead server (closed port) still gets its cooldown. */
static void test_dead(struct knotd *n, char *mid)
{
	struct dmp_resolver *r = NULL;
	struct dmp_resolver_result res;
	struct dmp_resolver_stat st;
	char closed[32];

	snprintf(closed, sizeof(closed), "127.0.0.1:%u", knotd_free_port(0));
	if (!ok(new_pool(&r, closed, n->addr) == 0, "pool [closed, ref]")) {
		skip(4, "no pool");
		return;
	}
	is_int(dmp_resolver_query(r, "mid.ref.test", &res, 5000), 0,
	       "answered past the dead server");
	ok(has_values(&res, &mid, 1) && res.server == 1, "by the double");
	dmp_resolver_result_clear(&res);
	stat_of(r, 0, &st);
	is_int(st.state, DMP_RESOLVER_COOLDOWN, "dead server cooled down");
	stat_of(r, 1, &st);
	is_int(st.state, DMP_RESOLVER_UP, "double up");
	dmp_resolver_free(r);
}

int main(void)
{
	const char *vec = getenv("DMP_VECTOR_DIR");
	char script[512], name[64];
	char *mid = value(560, 1), *big[2 * NBIG], *pre[3];
	json_t *zone = json_object(), *arr;
	struct knotd a, b, c;

	if (system(PYTHON " -c 'import dns.message' 2>/dev/null") != 0) {
		skip_all("python3-dnspython not installed (contrib/deps.sh)");
	}
	plan(40);
	snprintf(script, sizeof(script), "%s/../black/refnode.py",
		 vec ? vec : "tests/vectors");
	json_object_set_new(zone, "mid.ref.test.", arr = json_array());
	json_array_append_new(arr, json_string(mid));
	for (size_t i = 0; i < NBIG; i++) {
		snprintf(name, sizeof(name), "big%zu.ref.test.", i);
		json_object_set_new(zone, name, arr = json_array());
		for (size_t k = 0; k < 2; k++) {
			big[2 * i + k] = value(700, (char)(3 * i + k));
			json_array_append_new(arr, json_string(big[2 * i + k]));
		}
	}
	json_object_set_new(zone, "prekeys.ref.test.", arr = json_array());
	for (size_t k = 0; k < 3; k++) {
		pre[k] = value(1400, (char)(11 + k));
		json_array_append_new(arr, json_string(pre[k]));
	}
	if (!ok(access(script, R_OK) == 0, "refnode.py at %s", script) ||
	    !ok(ref_start(&a, script, zone, NULL, NULL) == 0 &&
		    ref_start(&b, script, zone, "--tcp-edns-servfail", NULL) ==
			0 &&
		    ref_start(&c, script, zone, "--tcp-drop-first", "1") == 0,
		"three refnode doubles started")) {
		goto out;
	}
	diag("refnode %s, EDNS-shy refnode %s", a.addr, b.addr);
	test_mid_udp(&a, mid);
	test_tcp_batch(&a, big, pre);
	test_tcp_noedns(&b, pre);
	test_tcp_reconnect(&c, pre);
	test_dead(&a, mid);
	test_truncated_both();
out:
	knotd_atexit();
	json_decref(zone);
	free(mid);
	for (size_t i = 0; i < 2 * NBIG; i++) {
		free(big[i]);
	}
	for (size_t k = 0; k < 3; k++) {
		free(pre[k]);
	}
	return done_testing();
}
