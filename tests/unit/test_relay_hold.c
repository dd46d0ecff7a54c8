/*
 * tests/unit/test_relay_hold.c - the relay's hold (docs/protocol.md 8.7.6;
 * core/src/node/node_relay_hold.c over the relay_hold table of
 * node_store_hold.c): the backoff schedule, ttls capped at the records'
 * own expiry and the drop time, the bounds (bundles, bytes, bytes per
 * sender; nothing evicted), due and kick, retries capped, and the table
 * kept across a close and reopen of the store file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmp/err.h"
#include "dmp/node.h"
#include "dmp/relay.h"
#include "node/node_i.h"
#include "node/node_relay_hold.h"
#include "relaymsg.h"
#include "tap.h"

#define ZONE "mesh.test"
#define NOW 1700000000ull

static void die(const char *what)
{
	fprintf(stderr, "test_relay_hold: %s\n", what);
	exit(1);
}

/* The records of @p m as a bundle, each with @p ttl. */
static void bundle_of(struct dmp_relay_bundle *b, const struct dmp_test_msg *m,
		      uint32_t ttl)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->zone, sizeof(b->zone), "%s", ZONE);
	b->max_hops = 5;
	b->records = dmp_calloc(m->msg.n_records, sizeof(*b->records));
	if (!b->records) {
		die("out of memory");
	}
	for (size_t i = 0; i < m->msg.n_records; i++) {
		struct dmp_relay_record *r = &b->records[i];
		size_t len = strlen(m->msg.records[i].value);

		if (strlen(m->msg.records[i].name) >= sizeof(r->name)) {
			die("name too long");
		}
		memcpy(r->name, m->msg.records[i].name,
		       strlen(m->msg.records[i].name) + 1);
		r->value = dmp_malloc(len + 1);
		if (!r->value) {
			die("out of memory");
		}
		memcpy(r->value, m->msg.records[i].value, len + 1);
		r->vlen = len;
		r->ttl = ttl;
	}
	b->n_records = m->msg.n_records;
	if (dmp_relay_bundle_id(b, b->id) < 0) {
		die("bundle id");
	}
}

static char why[256];

/* Hold @p b for @p sender at NOW, the reason in why. */
static int put(struct dmp_nrh *h, const struct dmp_relay_bundle *b,
	       const char *sender, uint64_t drop)
{
	return dmp_nrh_put(h, b, b->id, sender, NOW * 1000, drop, why,
			   sizeof(why));
}

static uint64_t values(const struct dmp_relay_bundle *b)
{
	uint64_t n = 0;

	for (size_t i = 0; i < b->n_records; i++) {
		n += b->records[i].vlen;
	}
	return n;
}

static void test_backoff(void)
{
	static const unsigned want[] = {5, 10, 20, 40, 80, 160, 300, 300};
	int good = 1;

	for (unsigned i = 0; i < DMP_ARRAY_LEN(want); i++) {
		good &= dmp_nrh_backoff_s(i) == want[i];
	}
	ok(good && dmp_nrh_backoff_s(1000) == DMP_NRH_BACKOFF_MAX,
	   "backoff 5, 10, 20, 40, 80, 160, 300, 300, ... s");
}

static void test_cap(const struct dmp_test_msg *m)
{
	struct dmp_relay_bundle b;
	uint64_t drop = 0, exp = m->msg.exp;
	int capped = 1;

	/* ttl two days: capped at the manifest's exp (a day after ts). */
	bundle_of(&b, m, 2 * 86400);
	ok(dmp_nrh_cap(&b, NOW, 7 * 86400, &drop) == 0 && drop == exp,
	   "drop at the records' expiry (%llu), before held + hold_max",
	   (unsigned long long)exp);
	for (size_t i = 0; i < b.n_records; i++) {
		capped &= b.records[i].ttl == exp - NOW;
	}
	ok(capped, "every ttl capped at its own exp - now");
	dmp_relay_bundle_clear(&b);
	bundle_of(&b, m, 600);
	ok(dmp_nrh_cap(&b, NOW, 3600, &drop) == 0 && drop == NOW + 600,
	   "drop at the shortest ttl");
	ok(dmp_nrh_cap(&b, NOW, 60, &drop) == 0 && drop == NOW + 60,
	   "drop at held + hold_max");
	dmp_relay_bundle_clear(&b);
	bundle_of(&b, m, 600);
	ok(dmp_nrh_cap(&b, exp, 3600, &drop) == DMP_EEXPIRED,
	   "nothing held past its exp");
	dmp_relay_bundle_clear(&b);
}

int main(void)
{
	struct dmp_test_msg m1, m2, m3;
	struct dmp_relay_bundle b1, b2, b3, got;
	struct dmp_nrh_opts o = {1 << 20, 2, 1 << 20, 86400, 3};
	struct dmp_nrh_entry e, list[4];
	struct dmp_nrh *h = NULL;
	pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
	char path[] = "/tmp/test_relay_hold_XXXXXX", db_path[64];
	char id[DMP_RELAY_ID_CHARS + 1];
	sqlite3 *db = NULL;
	size_t n = 0;
	uint64_t bytes = 0, delivered = 0, drop = 0;
	const uint64_t t0 = NOW * 1000;

	plan(37);
	dmp_test_msg_make(&m1, "test_relay_hold", 1, 2, ZONE, NOW, 1, 200, 'a');
	dmp_test_msg_make(&m2, "test_relay_hold", 1, 2, ZONE, NOW, 2, 300, 'b');
	dmp_test_msg_make(&m3, "test_relay_hold", 3, 2, ZONE, NOW, 3, 300, 'c');
	test_backoff();
	test_cap(&m1);
	if (!mkdtemp(path)) {
		die("mkdtemp");
	}
	snprintf(db_path, sizeof(db_path), "%s/node.db", path);
	if (dmp_st_open(&db, db_path, 1) < 0) {
		die("store");
	}
	bundle_of(&b1, &m1, 3600);
	bundle_of(&b2, &m2, 3600);
	bundle_of(&b3, &m3, 3600);

	{
		struct dmp_nrh_opts bad = o;

		bad.bundles = 0;
		ok(dmp_nrh_open(&h, db, &lk, &bad, t0) == DMP_EINVAL && !h,
		   "relay_hold_bundles 0 refused");
		bad = o;
		bad.retries = 0;
		ok(dmp_nrh_open(&h, db, &lk, &bad, t0) == DMP_EINVAL,
		   "relay_retries 0 refused");
	}
	ok(dmp_nrh_open(&h, db, &lk, &o, t0) == 0 && h, "opened, empty");
	(void)dmp_nrh_cap(&b1, NOW, o.max_s, &drop);
	is_int(put(h, &b1, "00000000000000aa", drop), 0, "held");
	is_int(put(h, &b1, "00000000000000aa", drop), DMP_EEXIST,
	       "the same id twice: DMP_EEXIST");
	is_int(put(h, &b2, "00000000000000aa", drop), 0,
	       "a second bundle held");
	is_int(put(h, &b3, "00000000000000bb", drop), DMP_ENOSPC,
	       "a third: over relay_hold_bundles 2");
	ok(strstr(why, "mesh.relay_hold_bundles 2") != NULL,
	   "the reason names the bound: %s", why);
	dmp_nrh_stats(h, &n, &bytes, &delivered);
	ok(n == 2 && bytes == values(&b1) + values(&b2) && delivered == 0,
	   "2 held, %llu bytes: nothing evicted", (unsigned long long)bytes);

	ok(!dmp_nrh_due(h, t0 + 4999, &e), "nothing due before 5 s");
	ok(dmp_nrh_due(h, t0 + 5000, &e) && e.tries == 0 &&
	       strcmp(e.zone, ZONE) == 0 &&
	       strcmp(e.sender, "00000000000000aa") == 0,
	   "due at 5 s");
	is_int(dmp_nrh_retry(h, b1.id, t0 + 5000), 0, "first retry failed");
	ok(dmp_nrh_list(h, list, 4) == 2 && strcmp(list[1].id, b1.id) == 0 &&
	       list[1].tries == 1 && list[1].next_ms == t0 + 15000,
	   "next try 10 s later, listed last");
	dmp_nrh_kick(h, t0 + 6000);
	ok(dmp_nrh_due(h, t0 + 6000, &e), "a link up: due at once");
	is_int(dmp_nrh_retry(h, b1.id, t0 + 6000), 0, "second retry failed");

	/* Persistence: close and reopen the store file. */
	dmp_nrh_free(h);
	h = NULL;
	sqlite3_close(db);
	db = NULL;
	if (dmp_st_open(&db, db_path, 0) < 0) {
		die("store reopen");
	}
	ok(dmp_nrh_open(&h, db, &lk, &o, t0 + 7000) == 0, "reopened");
	dmp_nrh_stats(h, &n, &bytes, &delivered);
	ok(n == 2 && bytes == values(&b1) + values(&b2),
	   "both still held after the reopen");
	ok(dmp_nrh_due(h, t0 + 7000, &e), "loaded bundles are due at start");
	is_int(dmp_nrh_load(h, b1.id, DMP_RELAY_BYTES_MAX, &got), 0,
	       "the body reads back");
	ok(dmp_relay_bundle_id(&got, id) == 0 && strcmp(id, b1.id) == 0 &&
	       got.n_records == b1.n_records &&
	       got.records[0].ttl == b1.records[0].ttl,
	   "the same records and ttls");
	dmp_relay_bundle_clear(&got);
	ok(dmp_nrh_list(h, list, 4) == 2 && list[0].tries + list[1].tries == 2,
	   "the tries survive the reopen");
	is_int(dmp_nrh_retry(h, b1.id, t0 + 8000), DMP_ERANGE,
	       "third failure: over relay_retries 3, dropped");
	dmp_nrh_done(h, b2.id, 1);
	dmp_nrh_stats(h, &n, &bytes, &delivered);
	ok(n == 0 && bytes == 0 && delivered == 1, "one delivered, none held");
	dmp_nrh_free(h);
	h = NULL;
	ok(dmp_nrh_open(&h, db, &lk, &o, t0 + 9000) == 0, "reopened again");
	dmp_nrh_stats(h, &n, &bytes, &delivered);
	ok(n == 0, "dropped and delivered ones are gone from the table");
	dmp_nrh_free(h);
	h = NULL;

	/* Byte bounds: in all and per sender. */
	o.bundles = 16;
	o.bytes = values(&b1) + values(&b3);
	o.sender_bytes = values(&b2);
	ok(dmp_nrh_open(&h, db, &lk, &o, t0) == 0, "tighter byte bounds");
	is_int(put(h, &b1, "00000000000000aa", drop), 0,
	       "sender aa's first bundle held");
	is_int(put(h, &b2, "00000000000000aa", drop), DMP_ENOSPC,
	       "sender aa's second: over relay_hold_sender_bytes");
	is_int(put(h, &b3, "00000000000000bb", drop), 0,
	       "another sender's bundle held");
	is_int(put(h, &b2, "00000000000000cc", drop), DMP_ENOSPC,
	       "over relay_hold_bytes");
	ok(strstr(why, "mesh.relay_hold_bytes") != NULL, "named: %s", why);
	dmp_nrh_free(h);

	dmp_relay_bundle_clear(&b1);
	dmp_relay_bundle_clear(&b2);
	dmp_relay_bundle_clear(&b3);
	sqlite3_close(db);
	for (int i = 0; i < 3; i++) {
		static const char *const sfx[] = {"", "-wal", "-shm"};
		char p[80];

		snprintf(p, sizeof(p), "%s%s", db_path, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(path);
	dmp_test_msg_free(&m1);
	dmp_test_msg_free(&m2);
	dmp_test_msg_free(&m3);
	return done_testing();
}
