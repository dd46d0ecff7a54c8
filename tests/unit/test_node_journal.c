/*
 * tests/unit/test_node_journal.c - the node's update log
 * (core/src/node/node_journal.c): records replayed in order after a
 * restart, torn and damaged tails ignored, stale records after a reset
 * never replayed, payload parsing strict; and a node that "crashes" with
 * answered UPDATEs only in the log gets them back at the next start.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "node/node_i.h"
#include "tap.h"

#define CAP (64 * NJ_SECTOR)

static char dir[] = "/tmp/test_node_journal.XXXXXX";

struct seen {
	int n;
	uint64_t seq[64];
	size_t len[64];
	uint8_t first[64];
};

static int collect(uint64_t seq, const uint8_t *p, size_t len, void *ud)
{
	struct seen *s = ud;

	if (s->n < 64) {
		s->seq[s->n] = seq;
		s->len[s->n] = len;
		s->first[s->n] = len ? p[0] : 0;
		s->n++;
	}
	return 0;
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* A payload of @p len bytes, all @p tag. */
static int append_n(struct njournal *j, uint8_t tag, size_t len)
{
	uint8_t buf[2048];

	memset(buf, tag, len);
	return dmp_nj_append(j, buf, len);
}

static int reopen(const char *path, struct seen *s, struct njournal **out)
{
	memset(s, 0, sizeof(*s));
	return dmp_nj_open(out, path, CAP, collect, s);
}

static void file_patch(const char *path, long off, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY);

	ok(fd >= 0 && pwrite(fd, p, len, off) == (ssize_t)len,
	   "patched %zu bytes at %ld", len, off);
	if (fd >= 0) {
		close(fd);
	}
}

static void test_replay(void)
{
	char p[256];
	struct njournal *j = NULL;
	struct seen s;

	path_of(p, sizeof(p), "a.log");
	is_int(reopen(p, &s, &j), 0, "new log opens");
	is_int(s.n, 0, "nothing to replay in a new log");
	is_int(append_n(j, 'a', 10), 0, "append 1");
	is_int(append_n(j, 'b', 600), 0, "append 2 (two sectors)");
	is_int(append_n(j, 'c', 1), 0, "append 3");
	is_int((long long)dmp_nj_used(j), 4 * NJ_SECTOR, "4 sectors used");
	dmp_nj_close(j);
	is_int(reopen(p, &s, &j), 0, "reopens");
	is_int(s.n, 3, "3 records replayed");
	ok(s.first[0] == 'a' && s.first[1] == 'b' && s.first[2] == 'c',
	   "in order");
	ok(s.len[0] == 10 && s.len[1] == 600 && s.len[2] == 1, "lengths");
	ok(s.seq[1] == s.seq[0] + 1 && s.seq[2] == s.seq[1] + 1,
	   "consecutive seq");
	/* Not reset: the next record follows the replayed ones. */
	is_int(append_n(j, 'd', 5), 0, "append after replay");
	dmp_nj_close(j);
	is_int(reopen(p, &s, &j), 0, "reopens again");
	is_int(s.n, 4, "4 records replayed");
	is_int(s.first[3], 'd', "the new one last");
	is_int(dmp_nj_reset(j), 0, "reset");
	is_int((long long)dmp_nj_used(j), 0, "empty after reset");
	dmp_nj_close(j);
	is_int(reopen(p, &s, &j), 0, "reopens after reset");
	is_int(s.n, 0, "nothing replayed after reset");
	dmp_nj_close(j);
}

static void test_torn(void)
{
	char p[256];
	struct njournal *j = NULL;
	struct seen s;
	uint8_t junk[40];

	path_of(p, sizeof(p), "torn.log");
	is_int(reopen(p, &s, &j), 0, "opens");
	for (int i = 0; i < 3; i++) {
		is_int(append_n(j, (uint8_t)('x' + i), 100), 0, "append %d", i);
	}
	dmp_nj_close(j);
	/* Record 3 (sector 3) torn: its payload half written. */
	memset(junk, 0, sizeof(junk));
	file_patch(p, 3 * NJ_SECTOR + 32 + 50, junk, sizeof(junk));
	is_int(reopen(p, &s, &j), 0, "opens with a torn tail");
	is_int(s.n, 2, "the two whole records replayed, the torn one not");
	dmp_nj_close(j);

	/* A damaged record in the middle ends the chain there. */
	file_patch(p, 2 * NJ_SECTOR + 20, "\xff", 1);
	is_int(reopen(p, &s, &j), 0, "opens with a bad checksum");
	is_int(s.n, 1, "only the record before the bad one");
	dmp_nj_close(j);

	/* Garbage (not zeros) after the last record is ignored. */
	{
		uint8_t img[4 * NJ_SECTOR];
		uint64_t tail, next;
		int torn;
		struct seen s2;
		int fd = open(p, O_RDONLY);

		ok(fd >= 0 &&
		       read(fd, img, sizeof(img)) == (ssize_t)sizeof(img),
		   "read image");
		if (fd >= 0) {
			close(fd);
		}
		memset(&s2, 0, sizeof(s2));
		memset(img + 2 * NJ_SECTOR, 0x5a, NJ_SECTOR);
		is_int(dmp_nj_scan(img, sizeof(img), collect, &s2, &tail, &next,
				   &torn),
		       0, "scan with garbage");
		ok(torn == 1 && s2.n == 1 && tail == 2 * NJ_SECTOR,
		   "garbage flagged torn, chain kept (n=%d tail=%llu)", s2.n,
		   (unsigned long long)tail);
		memset(img + 2 * NJ_SECTOR, 0, NJ_SECTOR);
		memset(&s2, 0, sizeof(s2));
		is_int(dmp_nj_scan(img, sizeof(img), collect, &s2, &tail, &next,
				   &torn),
		       0, "scan with zeros");
		ok(torn == 0 && s2.n == 1, "zeros end the log cleanly");
		ok(next == s2.seq[0] + 1, "next seq follows the chain");
		memcpy(img, "NOTALOG!", 8);
		is_int(dmp_nj_scan(img, sizeof(img), collect, &s2, &tail, &next,
				   &torn),
		       DMP_EMALFORMED, "wrong magic refused by scan");
		is_int(dmp_nj_scan(img, 100, NULL, NULL, &tail, &next, &torn),
		       DMP_EMALFORMED, "short image refused");
	}
	file_patch(p, 0, "NOTALOG!", 8);
	j = (struct njournal *)1;
	is_int(reopen(p, &s, &j), DMP_EMALFORMED, "not a log: refused");
	ok(j == NULL, "out reset on failure");
}

/* After a reset, a shorter new generation must not run on into the
 * records of the old one, even with the same layout. */
static void test_stale(void)
{
	char p[256];
	struct njournal *j = NULL;
	struct seen s;

	path_of(p, sizeof(p), "stale.log");
	is_int(reopen(p, &s, &j), 0, "opens");
	for (int i = 0; i < 5; i++) {
		is_int(append_n(j, 'o', 50), 0, "old %d", i);
	}
	is_int(dmp_nj_reset(j), 0, "reset");
	dmp_nj_close(j);
	is_int(reopen(p, &s, &j), 0, "reopens");
	is_int(s.n, 0, "nothing replayed");
	is_int(append_n(j, 'n', 50), 0, "new 1");
	is_int(append_n(j, 'n', 50), 0, "new 2");
	dmp_nj_close(j);
	is_int(reopen(p, &s, &j), 0, "reopens");
	is_int(s.n, 2, "only the 2 new records replayed, no stale ones");
	ok(s.first[0] == 'n' && s.first[1] == 'n', "both new");
	dmp_nj_close(j);
}

static void test_unappend_full_lock(void)
{
	char p[256];
	struct njournal *j = NULL, *j2 = NULL;
	struct seen s;
	int rc, n = 0;

	path_of(p, sizeof(p), "misc.log");
	is_int(reopen(p, &s, &j), 0, "opens");
	is_int(append_n(j, '1', 30), 0, "append");
	is_int(append_n(j, '2', 30), 0, "append");
	is_int(dmp_nj_unappend(j), 0, "unappend");
	is_int(dmp_nj_unappend(j), 0, "second unappend is a no-op");
	is_int(dmp_nj_open(&j2, p, CAP, NULL, NULL), DMP_EBUSY,
	       "a second opener is refused (flock)");
	dmp_nj_close(j);
	is_int(reopen(p, &s, &j), 0, "reopens");
	is_int(s.n, 1, "the erased record is not replayed");
	is_int(dmp_nj_reset(j), 0, "reset");
	while ((rc = append_n(j, 'f', 400)) == 0) {
		n++;
	}
	is_int(rc, DMP_ENOSPC, "a full log says ENOSPC");
	is_int(n, 63, "after 63 one-sector records");
	is_int(dmp_nj_reset(j), 0, "reset");
	{
		uint8_t *big = calloc(1, CAP);

		ok(big && dmp_nj_append(j, big, CAP) == DMP_ENOBUFS,
		   "a record that can never fit: ENOBUFS");
		free(big);
	}
	is_int(append_n(j, 'g', 10), 0, "usable after the refusals");
	dmp_nj_close(j);
	dmp_nj_close(NULL);
	is_int(dmp_nj_open(&j, p, NJ_SECTOR, NULL, NULL), DMP_EINVAL,
	       "too small a log refused");
}

static void op_set(struct nop *op, enum nop_kind k, const char *owner,
		   const char *value, const char *key)
{
	memset(op, 0, sizeof(*op));
	op->kind = k;
	snprintf(op->owner, sizeof(op->owner), "%s", owner);
	(void)dmp_dnswire_from_text(owner, op->wire, &op->wlen);
	op->ttl = 300;
	op->value = (char *)value;
	op->vlen = value ? strlen(value) : 0;
	snprintf(op->key, sizeof(op->key), "%s", key);
}

static void test_payload(void)
{
	struct nop in[3], *out = NULL;
	const struct nop *ptr[3] = {&in[0], &in[1], &in[2]};
	struct dmp_wbuf w;
	uint64_t now = 0;
	size_t n = 0;
	uint8_t *b;

	op_set(&in[0], NOP_ADD, "a.mesh.test", "v=1", "k.mesh.test");
	op_set(&in[1], NOP_DEL_ONE, "b.mesh.test", "old", "");
	op_set(&in[2], NOP_DEL_ALL, "c.mesh.test", NULL, "k2");
	dmp_wbuf_init_dyn(&w);
	is_int(dmp_nj_ops_encode(&w, ptr, 3, 1234567890123ull), 0, "encodes");
	is_int(dmp_nj_ops_decode(w.p, w.len, &out, &n, &now), 0, "decodes");
	ok(n == 3 && now == 1234567890123ull, "count and time");
	for (size_t i = 0; out && i < 3; i++) {
		ok(out[i].kind == in[i].kind && out[i].ttl == in[i].ttl &&
		       strcmp(out[i].owner, in[i].owner) == 0 &&
		       strcmp(out[i].key, in[i].key) == 0 &&
		       out[i].vlen == in[i].vlen && out[i].wlen == in[i].wlen &&
		       memcmp(out[i].wire, in[i].wire, in[i].wlen) == 0 &&
		       (in[i].kind == NOP_DEL_ALL ||
			memcmp(out[i].value, in[i].value, in[i].vlen) == 0),
		   "op %zu round-trips", i);
	}
	dmp_nj_ops_free(out, n);
	b = w.p;
	/* Every truncation fails. */
	{
		int bad = 0;

		for (size_t l = 0; l < w.len; l++) {
			if (dmp_nj_ops_decode(b, l, &out, &n, &now) !=
				DMP_EMALFORMED ||
			    out != NULL || n != 0) {
				bad++;
			}
		}
		is_int(bad, 0, "every truncation is malformed");
	}
	{
		uint8_t *c = malloc(w.len + 1);

		memcpy(c, b, w.len);
		c[w.len] = 0;
		is_int(dmp_nj_ops_decode(c, w.len + 1, &out, &n, &now),
		       DMP_EMALFORMED, "trailing byte refused");
		c[0] = 2;
		is_int(dmp_nj_ops_decode(c, w.len, &out, &n, &now),
		       DMP_EMALFORMED, "unknown version refused");
		c[0] = 1;
		c[13] = 3; /* first op's kind */
		is_int(dmp_nj_ops_decode(c, w.len, &out, &n, &now),
		       DMP_EMALFORMED, "unknown kind refused");
		c[13] = NOP_DEL_ALL; /* with a value: refused */
		is_int(dmp_nj_ops_decode(c, w.len, &out, &n, &now),
		       DMP_EMALFORMED, "delete-all with a value refused");
		c[13] = NOP_ADD;
		c[19] = 0; /* NUL inside the owner */
		is_int(dmp_nj_ops_decode(c, w.len, &out, &n, &now),
		       DMP_EMALFORMED, "NUL in an owner refused");
		memset(c + 9, 0, 4); /* no ops */
		is_int(dmp_nj_ops_decode(c, w.len, &out, &n, &now),
		       DMP_EMALFORMED, "zero ops refused");
		free(c);
	}
	dmp_wbuf_clear(&w);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int a = open(from, O_RDONLY), b, rc = 0;
	ssize_t r;

	if (a < 0) {
		return 0; /* absent (no WAL yet): nothing to copy */
	}
	b = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	while (b >= 0 && (r = read(a, buf, sizeof(buf))) > 0) {
		rc |= write(b, buf, (size_t)r) != r;
	}
	close(a);
	if (b < 0) {
		return -1;
	}
	close(b);
	return rc ? -1 : 0;
}

static int live(struct dmp_node *n, const char *name, uint64_t now_s)
{
	uint8_t w[DMP_DNS_NAME_WIRE_MAX];
	size_t wl;
	const struct nidx_ent *e;
	int cnt = 0;

	if (dmp_dnswire_from_text(name, w, &wl) < 0) {
		return -1;
	}
	e = dmp_nidx_find(&n->idx, w, wl);
	for (uint32_t i = 0; e && i < e->n_rr; i++) {
		cnt += e->rr[i]->exp_s > now_s;
	}
	return cnt;
}

/* A second crash of the replayed copy @p m (files @p db, @p lg) before
 * its first checkpoint: the log is replayed again, to the same state. */
static void crash_again(struct dmp_node_opts *o, const char *db, const char *lg,
			struct dmp_node *m, uint64_t now)
{
	struct dmp_node *k = NULL;
	char db3[256], lg3[256], a[300], b[300];

	path_of(db3, sizeof(db3), "crash2.db");
	path_of(lg3, sizeof(lg3), "crash2.db.updlog");
	snprintf(a, sizeof(a), "%s-wal", db);
	snprintf(b, sizeof(b), "%s-wal", db3);
	ok(copy_file(db, db3) == 0 && copy_file(a, b) == 0 &&
	       copy_file(lg, lg3) == 0,
	   "files copied again before the checkpoint");
	o->db_path = db3;
	o->update_log = lg3;
	is_int(dmp_node_new(&k, o, now + 4500), 0, "crashed again: opens");
	if (k) {
		is_int(live(k, "b.mesh.test", now / 1000), 2,
		       "b's values replayed twice, still 2");
		is_int(live(k, "a.mesh.test", now / 1000), 1,
		       "a replaced once, as answered");
		ok((int32_t)(dmp_node_serial(k) - dmp_node_serial(m)) >= 0,
		   "serial did not go back (%u -> %u)", dmp_node_serial(m),
		   dmp_node_serial(k));
	}
	dmp_node_free(k);
}

/* A node with the log: answered writes that never reached sqlite come
 * back from the log (the files copied as a crash would leave them). */
static void test_node_crash(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL, *m = NULL;
	char db[256], lg[256], db2[256], lg2[256], a[300], b[300];
	const uint64_t now = 1900000000000ull;
	uint32_t serial;

	path_of(db, sizeof(db), "node.db");
	path_of(lg, sizeof(lg), "node.db.updlog");
	path_of(db2, sizeof(db2), "crash.db");
	path_of(lg2, sizeof(lg2), "crash.db.updlog");
	dmp_node_opts_init(&o);
	o.db_path = db;
	o.update_log = lg;
	o.update_log_bytes = 128 * 1024;
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "mesh.test");
	o.n_zones = 1;
	if (!ok(dmp_node_new(&n, &o, now) == 0, "node with a log opens")) {
		return;
	}
	ok(n->jr != NULL, "the log is in use");
	is_int(dmp_node_put(n, "a.mesh.test", "one", 600, 0, now), 0, "put a");
	is_int(dmp_node_flush(n, 0, 0), 0, "flushed to sqlite");
	is_int(dmp_node_put(n, "b.mesh.test", "two", 600, 0, now + 1000), 0,
	       "put b");
	is_int(dmp_node_put(n, "b.mesh.test", "three", 600, 0, now + 2000), 0,
	       "put b again");
	is_int(dmp_node_put(n, "a.mesh.test", "four", 600, 1, now + 3000), 0,
	       "replace a");
	ok(dmp_node_pending(n) == 3, "3 commits only in the log (%u)",
	   dmp_node_pending(n));
	is_int(live(n, "b.mesh.test", now / 1000), 2, "b has 2 values now");
	is_int(live(n, "a.mesh.test", now / 1000), 1, "a has 1 value now");
	serial = dmp_node_serial(n);
	/* The crash: the files as they are now. */
	snprintf(a, sizeof(a), "%s-wal", db);
	snprintf(b, sizeof(b), "%s-wal", db2);
	ok(copy_file(db, db2) == 0 && copy_file(a, b) == 0 &&
	       copy_file(lg, lg2) == 0,
	   "files copied");
	o.db_path = db2;
	o.update_log = lg2;
	is_int(dmp_node_new(&m, &o, now + 4000), 0, "crashed copy opens");
	if (m) {
		is_int(live(m, "b.mesh.test", now / 1000), 2,
		       "b's values replayed");
		is_int(live(m, "a.mesh.test", now / 1000), 1,
		       "a replaced, as answered");
		ok((int32_t)(dmp_node_serial(m) - serial) >= 0,
		   "serial did not go back (%u -> %u)", serial,
		   dmp_node_serial(m));
		is_int(dmp_node_pending(m), 0, "nothing pending after replay");
		/* Answering starts before the checkpoint: the replayed
		 * records stay in the log until the maintenance pass. */
		ok(m->jr && dmp_nj_used(m->jr) > 0,
		   "replayed records kept in the log until a checkpoint");
		crash_again(&o, db2, lg2, m, now);
		dmp_node_maintain(m, now + 5000);
		ok(m->jr && dmp_nj_used(m->jr) == 0,
		   "log emptied by the first maintenance pass");
	}
	dmp_node_free(m);
	/* A clean stop writes everything and empties the log. */
	dmp_node_free(n);
	n = NULL;
	o.db_path = db;
	o.update_log = lg;
	is_int(dmp_node_new(&n, &o, now + 5000), 0, "reopens after stop");
	if (n) {
		is_int(live(n, "b.mesh.test", now / 1000), 2, "b kept");
		ok(dmp_nj_used(n->jr) == 0, "empty log");
		/* Two nodes on one log: the second runs without it. */
		is_int(dmp_node_new(&m, &o, now), 0,
		       "a second node on the same database opens");
		ok(m && m->jr == NULL, "without the log (held by the first)");
		if (m) {
			is_int(dmp_node_put(m, "c.mesh.test", "x", 600, 0,
					    now + 6000),
			       0, "and writes (fsynced by sqlite)");
		}
		dmp_node_free(m);
	}
	dmp_node_free(n);
}

/* Are the RRs at @p name the values @p want (comma separated), in order? */
static int rr_order(struct dmp_node *n, const char *name, const char *want)
{
	uint8_t w[DMP_DNS_NAME_WIRE_MAX];
	size_t wl;
	const struct nidx_ent *e;
	uint32_t i = 0;

	if (dmp_dnswire_from_text(name, w, &wl) < 0 ||
	    !(e = dmp_nidx_find(&n->idx, w, wl))) {
		return 0;
	}
	while (*want) {
		size_t len = strcspn(want, ",");

		if (i >= e->n_rr ||
		    !dmp_nidx_rr_value_eq(e->rr[i], want, len)) {
			return 0;
		}
		i++;
		want += len + (want[len] == ',');
	}
	return i == e->n_rr;
}

/* Run @p sql on the store of *@p np, close it and open it again. */
static int change_reopen(struct dmp_node **np, const struct dmp_node_opts *o,
			 const char *sql, uint64_t now)
{
	int rc = sqlite3_exec((*np)->db, sql, NULL, NULL, NULL) == SQLITE_OK
		     ? 0
		     : -1;

	dmp_node_free(*np);
	*np = NULL;
	return dmp_node_new(np, o, now) == 0 ? rc : -1;
}

/* The load by rowid (rowid order differs from stored_ts order here) and,
 * once the rowids are sparse, the load in name order: the same RRs in the
 * same (stored_ts) order either way. */
static void test_load_order(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	char db[256];
	const uint64_t now = 1900000000000ull;
	int ok_put = 1;

	path_of(db, sizeof(db), "order.db");
	dmp_node_opts_init(&o);
	o.db_path = db;
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "mesh.test");
	o.n_zones = 1;
	if (!ok(dmp_node_new(&n, &o, now) == 0, "order: node opens")) {
		return;
	}
	ok_put &= dmp_node_put(n, "m.mesh.test", "v1", 600, 0, now) == 0;
	ok_put &= dmp_node_put(n, "m.mesh.test", "v2", 600, 0, now + 1) == 0;
	ok_put &= dmp_node_put(n, "m.mesh.test", "v3", 600, 0, now + 2) == 0;
	ok_put &= dmp_node_put(n, "s.m.mesh.test", "one", 600, 0, now) == 0;
	ok_put &= dmp_node_flush(n, 0, 0) == 0;
	/* v3 first by time, last by rowid. */
	ok(ok_put && change_reopen(&n, &o,
				   "UPDATE records SET stored_ts = stored_ts"
				   " - 60000 WHERE value = 'v3'",
				   now + 3000) == 0,
	   "order: v3 made the oldest; reopens (by rowid)");
	if (!n) {
		return;
	}
	ok(rr_order(n, "m.mesh.test", "v3,v1,v2"),
	   "order: by stored_ts, not rowid");
	ok(rr_order(n, "s.m.mesh.test", "one") && n->idx.values == 4,
	   "order: child and totals (%llu values)",
	   (unsigned long long)n->idx.values);
	ok(change_reopen(&n, &o,
			 "INSERT INTO records(rowid, name, value, value_hash,"
			 " expires_at, stored_ts) VALUES (1000000,"
			 " 'z.mesh.test', 'far', 'h', 4000000000, 1)",
			 now + 4000) == 0,
	   "order: a row far past the others; reopens (in name order)");
	ok(n && rr_order(n, "m.mesh.test", "v3,v1,v2") &&
	       rr_order(n, "z.mesh.test", "far") && n->idx.values == 5,
	   "order: the same in name order");
	dmp_node_free(n);
}

int main(void)
{
	char cmd[300];

	plan(117);
	if (dmp_init() != 0 || !mkdtemp(dir)) {
		return 1;
	}
	test_replay();
	test_torn();
	test_stale();
	test_unappend_full_lock();
	test_payload();
	test_node_crash();
	test_load_order();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0) {
		diag("could not remove %s", dir);
	}
	return done_testing();
}
