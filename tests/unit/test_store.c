/* tests/unit/test_store.c - the client store: every table, concurrency
 * between processes, and the ownership rules of secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "client/store_i.h" /* the statement cache */
#include "dmp/store.h"
#include "tap.h"

static char dir[] = "/tmp/dmp-test-store-XXXXXX";
static char path[256];

static int count_contact(const struct dmp_store_contact *c, void *ud)
{
	(void)c;
	(*(int *)ud)++;
	return 0;
}

struct rec_seen {
	int n;
	char last[64];
};

static int collect_record(int seq, const char *name, const char *value,
			  uint32_t ttl, int published, void *ud)
{
	struct rec_seen *s = ud;

	(void)value;
	(void)ttl;
	(void)published;
	s->n++;
	snprintf(s->last, sizeof(s->last), "%d:%s", seq, name);
	return 0;
}

static void test_identity_contacts(struct dmp_store *st)
{
	struct dmp_store_identity id = {0}, got;
	struct dmp_store_contact c = {0}, cg;
	int n = 0;

	is_int(dmp_store_identity_get(st, &got), DMP_ENOENT,
	       "no identity in a new store");
	snprintf(id.username, sizeof(id.username), "alice");
	snprintf(id.domain, sizeof(id.domain), "mesh.local");
	id.salt_len = 32;
	memset(id.salt, 7, 32);
	memset(id.x25519_pk, 1, 32);
	id.created = 1000;
	is_int(dmp_store_identity_put(st, &id), 0, "identity stored");
	is_int(dmp_store_identity_get(st, &got), 0, "identity read back");
	is_str(got.username, "alice", "username");
	is_mem(got.salt, got.salt_len, id.salt, 32, "salt");
	is_mem(got.x25519_pk, 32, id.x25519_pk, 32, "check value");

	snprintf(c.alias, sizeof(c.alias), "bob");
	snprintf(c.address, sizeof(c.address), "bob@mesh.local");
	snprintf(c.username, sizeof(c.username), "bob");
	snprintf(c.domain, sizeof(c.domain), "mesh.local");
	memset(c.ed25519_pk, 9, 32);
	c.versions = 6;
	snprintf(c.pinned_how, sizeof(c.pinned_how), "fetched");
	is_int(dmp_store_contact_put(st, &c), 0, "contact stored");
	is_int(dmp_store_contact_get(st, "bob", &cg), 0, "by alias");
	is_int(dmp_store_contact_get(st, "BOB@mesh.local", &cg), 0,
	       "by address, any case");
	is_int(dmp_store_contact_by_key(st, c.ed25519_pk, &cg), 0, "by key");
	is_str(cg.alias, "bob", "found the right contact");
	is_int(dmp_store_contact_set_blocked(st, "bob", 1), 0, "block");
	is_int(dmp_store_contact_get(st, "bob", &cg), 0, "still there");
	is_int(cg.blocked, 1, "blocked flag kept");
	is_int(dmp_store_contact_set_blocked(st, "nobody", 1), DMP_ENOENT,
	       "blocking an unknown alias fails");
	dmp_store_contact_each(st, count_contact, &n);
	is_int(n, 1, "one contact listed");
	/* Issue 14: an alias an older version accepted ("a/b") is listed for
	 * the CLI, left out of dmpfs' listing, and can be renamed. */
	is_int(dmp_store_contact_rename(st, "bob", "a/b"), 0, "rename");
	n = 0;
	dmp_store_contact_each(st, count_contact, &n);
	is_int(n, 1, "bad alias listed by each");
	n = 0;
	is_int(dmp_store_contact_each_valid(st, count_contact, &n), 0,
	       "each_valid does not fail on it");
	is_int(n, 0, "bad alias left out by each_valid");
	c.ed25519_pk[0] = 8;
	snprintf(c.alias, sizeof(c.alias), "carol");
	is_int(dmp_store_contact_put(st, &c), 0, "second contact");
	is_int(dmp_store_contact_rename(st, "a/b", "carol"), DMP_EEXIST,
	       "rename onto a taken alias");
	is_int(dmp_store_contact_rename(st, "nobody", "x"), DMP_ENOENT,
	       "rename of an unknown alias");
	is_int(dmp_store_contact_rename(st, "a/b", "bob"), 0, "renamed back");
	is_int(dmp_store_contact_get(st, "bob", &cg), 0, "found by new alias");
	is_int(cg.blocked, 1, "rename keeps the rest");
	is_int(dmp_store_contact_remove(st, "carol"), 0, "unpin carol");
	is_int(dmp_store_contact_remove(st, "bob"), 0, "unpin");
	is_int(dmp_store_contact_get(st, "bob", &cg), DMP_ENOENT, "gone");
	is_int(dmp_store_contact_remove(st, "bob"), DMP_ENOENT,
	       "unpin twice fails");
}

static void test_prekeys(struct dmp_store *st)
{
	uint8_t key[32], secret[32], got[32];
	char wire[64];

	memset(secret, 0x42, 32);
	is_int(dmp_store_prekey_put(st, 5, secret, 2000, "v=w"), DMP_EINVAL,
	       "no seal key: secrets are never stored in clear");
	memset(key, 3, 32);
	is_int(dmp_store_set_seal_key(st, key), 0, "seal key");
	is_int(dmp_store_prekey_put(st, 5, secret, 2000, "v=wire5"), 0,
	       "prekey stored");
	is_int(dmp_store_prekey_put(st, 5, secret, 2000, "x"), DMP_EEXIST,
	       "duplicate id refused");
	is_int(dmp_store_prekey_put(st, 6, secret, 1000, "v=wire6"), 0,
	       "second prekey");
	is_int(dmp_store_prekey_count(st, 1500), 1, "one unexpired at 1500");
	is_int(dmp_store_prekey_get(st, 5, 1500, got), 0, "unsealed");
	is_mem(got, 32, secret, 32, "secret round trip");
	is_int(dmp_store_prekey_get(st, 6, 1500, got), DMP_ENOPREKEY,
	       "expired prekey unusable");
	is_int(dmp_store_prekey_get(st, 77, 1500, got), DMP_ENOPREKEY,
	       "unknown prekey");
	memset(key, 4, 32);
	dmp_store_set_seal_key(st, key);
	is_int(dmp_store_prekey_get(st, 5, 1500, got), DMP_EDECRYPT,
	       "wrong seal key cannot open");
	memset(key, 3, 32);
	dmp_store_set_seal_key(st, key);
	is_int(dmp_store_prekey_consume(st, 5, wire, sizeof(wire)), 0,
	       "consume");
	is_str(wire, "v=wire5", "consume returns the published value");
	is_int(dmp_store_prekey_get(st, 5, 1500, got), DMP_ENOPREKEY,
	       "consumed prekey gone");
	is_int(dmp_store_prekey_reap(st, 1500), 1, "reap the expired one");
}

/* A rotation: the old secret kept sealed, every secret sealed again
 * under the new key, identity and key/value pairs in one transaction. */
static void test_rotate_keys(struct dmp_store *st)
{
	struct dmp_store_identity id;
	struct dmp_store_old_key old, list[4];
	uint8_t key[32], pre[32], oxsk[32], got[32];
	char v[32];
	const char *kv[] = {"rotation.seq", "7", NULL};

	memset(pre, 0x77, 32);
	memset(oxsk, 0x21, 32);
	is_int(dmp_store_prekey_put(st, 9, pre, 5000, "v=w9"), 0,
	       "rotate: a prekey before");
	memset(&id, 0, sizeof(id));
	snprintf(id.username, sizeof(id.username), "alice");
	snprintf(id.domain, sizeof(id.domain), "mesh.test");
	memset(id.salt, 0x55, 32);
	id.salt_len = 32;
	memset(id.x25519_pk, 0x66, 32);
	memset(id.ed25519_pk, 0x67, 32);
	memset(&old, 0, sizeof(old));
	memset(old.ed25519_pk, 0x10, 32);
	dmp_x25519_base(old.x25519_pk, oxsk);
	old.rotated_at = 1234;
	memset(key, 8, 32);
	is_int(dmp_store_identity_rotate(st, &id, &old, oxsk, key, kv), 0,
	       "rotate");
	is_int(dmp_store_prekey_get(st, 9, 1500, got), 0,
	       "prekey opens under the new seal key");
	is_mem(got, 32, pre, 32, "prekey secret kept");
	is_int(dmp_store_old_key_secret(st, old.ed25519_pk, got), 0,
	       "old key opens");
	is_mem(got, 32, oxsk, 32, "old key secret kept");
	is_int(dmp_store_old_keys(st, 1000, list, 4), 1, "one old key");
	is_int(dmp_store_old_keys(st, 2000, list, 4), 0,
	       "none rotated since 2000");
	ok(dmp_store_identity_get(st, &id) == 0 && id.ed25519_pk[0] == 0x67 &&
	       id.salt[0] == 0x55,
	   "identity row replaced");
	ok(dmp_store_kv_get(st, "rotation.seq", v, sizeof(v)) == 0 &&
	       strcmp(v, "7") == 0,
	   "key/value set with it");
	/* A second rotation seals the first old key again. */
	memset(old.ed25519_pk, 0x11, 32);
	old.rotated_at = 3000;
	memset(key, 9, 32);
	is_int(dmp_store_identity_rotate(st, &id, &old, oxsk, key, NULL), 0,
	       "rotate again");
	memset(old.ed25519_pk, 0x10, 32);
	is_int(dmp_store_old_key_secret(st, old.ed25519_pk, got), 0,
	       "first old key still opens");
	is_int(dmp_store_old_keys(st, 0, list, 4), 2, "two old keys");
	ok(list[0].rotated_at == 3000, "newest first");
	memset(key, 8, 32);
	dmp_store_set_seal_key(st, key);
	is_int(dmp_store_old_key_secret(st, old.ed25519_pk, got), DMP_EDECRYPT,
	       "the previous seal key opens nothing");
	is_int(dmp_store_prekey_get(st, 9, 1500, got), DMP_EDECRYPT,
	       "nor the prekeys");
	memset(key, 9, 32);
	dmp_store_set_seal_key(st, key);
	memset(old.ed25519_pk, 0x99, 32);
	is_int(dmp_store_old_key_secret(st, old.ed25519_pk, got), DMP_ENOENT,
	       "unknown old key");
	memset(key, 3, 32); /* what the later tests expect */
	dmp_store_set_seal_key(st, key);
}

static void test_outbox(struct dmp_store *st)
{
	const struct dmp_outbox_record recs[] = {
	    {"chunk-0000-abc.mesh.local", "v=dmp1;t=chunk;d=AA==", 300},
	    {"chunk-0001-abc.mesh.local", "v=dmp1;t=chunk;d=AQ==", 300},
	    {"slot-3.mb-abc.mesh.local", "v=dmp1;t=manifest;d=Ag==", 300},
	};
	uint8_t msg_id[16] = {1, 2, 3};
	struct dmp_outbox_msg m;
	struct rec_seen seen = {0};
	int64_t qid, qid2;
	uint8_t *body;
	size_t len;

	is_int(dmp_store_outbox_add(st, msg_id, "bob", 5,
				    (const uint8_t *)"hello", recs, 3, 5000,
				    1000, &qid),
	       0, "message queued with its records");
	is_int(dmp_store_outbox_add(st, msg_id, "bob", 5,
				    (const uint8_t *)"hello", recs, 3, 5000,
				    1000, &qid2),
	       DMP_EEXIST, "same msg_id cannot be queued twice");
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "read back");
	is_int(m.n_records, 3, "three records");
	is_int(m.state, DMP_OUTBOX_QUEUED, "queued");
	is_int(dmp_store_outbox_records(st, qid, collect_record, &seen), 0,
	       "records listed");
	is_int(seen.n, 3, "all records");
	is_str(seen.last, "2:slot-3.mb-abc.mesh.local", "manifest comes last");
	is_int(dmp_store_outbox_records_done(st, qid, 0, 0), 0, "chunk 0 done");
	is_int(dmp_store_outbox_set_state(st, qid, DMP_OUTBOX_QUEUED, 1010,
					  "node unreachable"),
	       0, "attempt recorded");
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "read after attempt");
	is_int(m.n_published, 1, "progress kept");
	is_int(m.attempts, 1, "attempt counted");
	is_str(m.last_error, "node unreachable", "last error kept");
	is_int(dmp_store_outbox_records_done(st, qid, 1, 1), 0, "chunk 1 done");
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "read after chunk 1");
	is_int(m.n_published, 2, "a range of one marks one record");
	is_int(dmp_store_outbox_records_done(st, qid, 0, 2), 0, "0..2 done");
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "read after 0..2");
	is_int(m.n_published, 3, "a range marks every record in it");
	is_int(dmp_store_outbox_body(st, qid, &body, &len), 0, "body");
	is_mem(body, len, "hello", 5, "body round trip");
	free(body);
	is_int(
	    dmp_store_outbox_set_state(st, qid, DMP_OUTBOX_PUBLISHED, 0, NULL),
	    0, "published");
	is_int(dmp_store_outbox_cancel(st, qid), DMP_ENOENT,
	       "a published message cannot be cancelled");
}

/* After a rotation: a queued message's records are replaced, never
 * while it is being published. */
static void test_outbox_reencoded(struct dmp_store *st)
{
	const struct dmp_outbox_record old[] = {
	    {"chunk-0000-old.mesh.local", "v=dmp1;t=chunk;d=AA==", 300},
	    {"slot-1.mb-old.mesh.local", "v=dmp1;t=manifest;d=AQ==", 300},
	};
	const struct dmp_outbox_record nw = {"slot-2.mb-new.mesh.local",
					     "v=dmp1;t=manifest;d=Ag==", 200};
	uint8_t msg_id[16] = {7, 7, 7};
	struct dmp_outbox_msg m;
	struct rec_seen seen = {0};
	int64_t qid = 0;

	is_int(dmp_store_outbox_add(st, msg_id, "bob", 2, (const uint8_t *)"hi",
				    old, 2, 5000, 1000, &qid),
	       0, "reencode: queued");
	is_int(dmp_store_outbox_records_done(st, qid, 0, 0), 0,
	       "reencode: one old record published");
	is_int(dmp_store_outbox_reencoded(st, qid, &nw, 1, 4900), 0,
	       "records replaced");
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "reencode: read back");
	ok(m.n_records == 1 && m.n_published == 0 && m.expires == 4900,
	   "the new record, none published, the new expiry");
	is_int(dmp_store_outbox_records(st, qid, collect_record, &seen), 0,
	       "reencode: records listed");
	is_str(seen.last, "0:slot-2.mb-new.mesh.local", "only the new one");
	is_int(
	    dmp_store_outbox_set_state(st, qid, DMP_OUTBOX_PUBLISHING, 0, NULL),
	    0, "reencode: being published");
	is_int(dmp_store_outbox_reencoded(st, qid, old, 2, 5000), DMP_EBUSY,
	       "not while being published");
	(void)dmp_store_outbox_cancel(st, qid);
}

static int count_row(const struct dmp_outbox_msg *m, void *ud)
{
	(void)m;
	(*(int *)ud)++;
	return 0;
}

/* Relaxed commits (issue 19): a queued message is synced by the insert;
 * the rows after an id are listed for the sent/ copies. */
static void test_outbox_relaxed(struct dmp_store *st)
{
	const struct dmp_outbox_record rec = {"slot-1.mb-x.mesh.local",
					      "v=dmp1;t=manifest;d=Ag==", 300};
	uint8_t msg_id[16] = {9, 9, 9};
	int64_t qid = 0, max = 0;
	int n = 0;

	is_int(dmp_store_outbox_max_id(st, &max), 0, "highest queue id");
	dmp_store_relax(st, 1);
	dmp_store_relax(st, 1);
	is_int(dmp_store_outbox_add(st, msg_id, "bob", 2, (const uint8_t *)"hi",
				    &rec, 1, 5000, 1000, &qid),
	       0, "relaxed: queued (and synced)");
	dmp_store_relax(st, 0);
	is_int(dmp_store_kv_set(st, "k.relaxed", "1"), 0, "relaxed commit");
	is_int(dmp_store_sync(st), 0, "explicit sync of the write-ahead log");
	dmp_store_relax(st, 0);
	dmp_store_relax(st, 0); /* one too many: harmless */
	ok(qid > max, "the new row is above the old highest id");
	is_int(dmp_store_outbox_each_after(st, max, count_row, &n), 0,
	       "rows after the old highest id");
	is_int(n, 1, "exactly the new one");
}

static void test_replay(struct dmp_store *st)
{
	uint8_t spk[32] = {5}, id[16] = {6};

	is_int(dmp_store_replay_claim(st, spk, id, 9000, 1000), 0, "claim");
	is_int(dmp_store_replay_claim(st, spk, id, 9000, 1001), DMP_EBUSY,
	       "second worker sees it in flight");
	is_int(dmp_store_replay_claim(st, spk, id, 9000, 1400), 0,
	       "a stale claim is taken over");
	is_int(dmp_store_replay_release(st, spk, id), 0, "release");
	is_int(dmp_store_replay_claim(st, spk, id, 9000, 1401), 0,
	       "claim again after release");
	is_int(dmp_store_replay_finalize(st, spk, id, 9000), 0, "finalize");
	is_int(dmp_store_replay_claim(st, spk, id, 9000, 1402), DMP_EREPLAY,
	       "replay refused");
	is_int(dmp_store_replay_seen(st, spk, id), 1, "seen");
	is_int(dmp_store_replay_reap(st, 9001), 1, "reaped after exp");
	is_int(dmp_store_replay_seen(st, spk, id), 0, "forgotten");
}

/* Eight processes race to claim the same message: exactly one wins. */
static void test_replay_race(void)
{
	uint8_t spk[32] = {8}, id[16] = {9};
	int winners = 0;
	pid_t pids[8];

	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct dmp_store *st;
			int rc;

			if (dmp_store_open(&st, path) != 0) {
				_exit(3);
			}
			rc = dmp_store_replay_claim(st, spk, id, 9000, 2000);
			dmp_store_close(st);
			_exit(rc == 0 ? 0 : rc == DMP_EBUSY ? 1 : 2);
		}
	}
	for (int i = 0; i < 8; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			winners++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
			winners += 100;
		}
	}
	is_int(winners, 1, "exactly one of 8 processes wins the claim");
}

static void test_kv_and_reopen(struct dmp_store **st)
{
	char buf[8];
	struct stat sb;

	is_int(dmp_store_kv_set(*st, "poll", "30"), 0, "kv set");
	is_int(dmp_store_kv_get(*st, "poll", buf, sizeof(buf)), 0, "kv get");
	is_str(buf, "30", "kv value");
	is_int(dmp_store_kv_get(*st, "nope", buf, sizeof(buf)), DMP_ENOENT,
	       "kv missing");
	dmp_store_kv_set(*st, "long", "0123456789");
	is_int(dmp_store_kv_get(*st, "long", buf, sizeof(buf)), DMP_ENOBUFS,
	       "kv short buffer");
	dmp_store_close(*st);
	is_int(dmp_store_open(st, path), 0, "reopen migrates nothing twice");
	is_int(dmp_store_kv_get(*st, "poll", buf, sizeof(buf)), 0,
	       "data survives reopen");
	is_int(stat(path, &sb), 0, "db exists");
	is_int(sb.st_mode & 0777, 0600, "db is private (0600)");
}

/* Measured relay round trips (8.7.8): RFC 6298 SRTT, the 7-day age rule,
 * the 64-row bound (the most recently updated stay). */
static void test_relay_rtt(struct dmp_store *st)
{
	const int64_t t0 = 1700000000;
	uint32_t v = 0;
	char url[64];
	int kept = 0;

	is_int(dmp_store_srtt_next(0, 80), 80, "srtt: the first sample");
	is_int(dmp_store_srtt_next(80, 160), 90, "srtt: 7/8 old + 1/8 new");
	is_int(dmp_store_srtt_next(0, 0), 1, "srtt: never 0 (unmeasured)");
	is_int(dmp_store_relay_rtt_get(st, "http://r.test", t0, &v), DMP_ENOENT,
	       "rtt: none yet");
	is_int(dmp_store_relay_rtt_add(st, "http://r.test", 100, t0, &v), 0,
	       "rtt: first sample");
	is_int(v, 100, "rtt: srtt is the sample");
	is_int(dmp_store_relay_rtt_add(st, "http://r.test", 20, t0 + 1, NULL),
	       0, "rtt: second sample");
	is_int(dmp_store_relay_rtt_get(st, "http://r.test", t0 + 1, &v), 0,
	       "rtt: read back");
	is_int(v, 90, "rtt: smoothed (700 + 20) / 8");
	is_int(dmp_store_relay_rtt_get(st, "http://r.test",
				       t0 + 1 + DMP_STORE_RELAY_RTT_MAX_AGE + 1,
				       &v),
	       DMP_ENOENT, "rtt: older than 7 days is ignored");
	is_int(dmp_store_relay_rtt_add(st, "http://r.test", 40,
				       t0 + 2 + DMP_STORE_RELAY_RTT_MAX_AGE,
				       &v),
	       0, "rtt: a sample after 7 days");
	is_int(v, 40, "rtt: starts over, not smoothed with the stale one");
	for (int i = 0; i < DMP_STORE_RELAY_RTT_ROWS + 5; i++) {
		snprintf(url, sizeof(url), "http://r%d.test", i);
		kept +=
		    dmp_store_relay_rtt_add(
			st, url, 10, t0 + 10 + DMP_STORE_RELAY_RTT_MAX_AGE + i,
			NULL) == 0;
	}
	is_int(kept, DMP_STORE_RELAY_RTT_ROWS + 5, "rtt: 69 relays added");
	{
		const int64_t now = t0 + 100 + DMP_STORE_RELAY_RTT_MAX_AGE;

		is_int(dmp_store_relay_rtt_get(st, "http://r.test", now, &v),
		       DMP_ENOENT, "rtt: the least recently updated dropped");
		is_int(dmp_store_relay_rtt_get(st, "http://r4.test", now, &v),
		       DMP_ENOENT, "rtt: r0..r4 dropped too (64 kept)");
		is_int(dmp_store_relay_rtt_get(st, "http://r5.test", now, &v),
		       0, "rtt: r5 kept");
		snprintf(url, sizeof(url), "http://r%d.test",
			 DMP_STORE_RELAY_RTT_ROWS + 4);
		is_int(dmp_store_relay_rtt_get(st, url, now, &v), 0,
		       "rtt: the newest kept");
	}
}

/* Statements cached, in use, and alive in sqlite (cached or not). */
static void stmt_counts(struct dmp_store *st, size_t *n, size_t *busy,
			size_t *live)
{
	*n = st->n_stmts;
	*busy = *live = 0;
	for (size_t i = 0; i < st->n_stmts; i++) {
		*busy += st->stmts[i].busy != 0;
	}
	for (sqlite3_stmt *q = sqlite3_next_stmt(st->db, NULL); q;
	     q = sqlite3_next_stmt(st->db, q)) {
		(*live)++;
	}
}

struct nest {
	struct dmp_store *st;
	int outer, inner, inner_rc;
};

static int count_inner(const struct dmp_outbox_msg *m, void *ud)
{
	(void)m;
	((struct nest *)ud)->inner++;
	return 0;
}

/* The same query from inside its own callback: a fresh statement. */
static int count_nested(const struct dmp_outbox_msg *m, void *ud)
{
	struct nest *n = ud;

	(void)m;
	if (++n->outer > 1000) {
		return 1; /* bounded: a statement that never ends */
	}
	n->inner_rc =
	    dmp_store_outbox_each_pending(n->st, count_inner, n) < 0 ? -1 : 0;
	return 0;
}

/* The prepared-statement cache (issue 19): one statement per query,
 * reset and kept (none left in use by any call of the sections before);
 * a query run again inside its own callback gets a fresh one, finalized
 * after. */
static void test_stmt_cache(struct dmp_store *st)
{
	struct nest n = {st, 0, 0, 0};
	size_t c0, b0, l0, c1, b1, l1;
	char buf[8];
	int pending, got = 0;

	stmt_counts(st, &c0, &b0, &l0);
	ok(c0 > 0 && b0 == 0 && l0 == c0,
	   "stmt cache: %zu kept, %zu in use, %zu alive", c0, b0, l0);
	for (int i = 0; i < 3; i++) {
		got +=
		    dmp_store_kv_get(st, "rotation.seq", buf, sizeof(buf)) == 0;
	}
	stmt_counts(st, &c1, &b1, &l1);
	ok(got == 3 && c1 <= c0 + 1,
	   "stmt cache: a query run three times is kept once (%d read)", got);
	pending = dmp_store_outbox_each_pending(st, count_inner, &n);
	n.inner = 0;
	(void)dmp_store_outbox_each_pending(st, count_nested, &n);
	ok(n.outer > 0 && n.inner == n.outer * n.outer && n.inner_rc == 0,
	   "stmt cache: nested use of one query (%d outer, %d inner; %d)",
	   n.outer, n.inner, pending);
	stmt_counts(st, &c1, &b1, &l1);
	ok(b1 == 0 && l1 == c1,
	   "stmt cache: after nesting %zu in use, "
	   "%zu alive of %zu kept",
	   b1, l1, c1);
}

/* Checks per section (every section runs straight through). */
enum {
	OPEN_CHECKS = 3,
	IDENTITY_CONTACT_CHECKS = 30,
	PREKEY_CHECKS = 15,
	OUTBOX_CHECKS = 24,
	RELAXED_CHECKS = 7,
	REENCODE_CHECKS = 9,
	REPLAY_CHECKS = 10,
	RACE_CHECKS = 1,
	KV_CHECKS = 9,
	ROTATE_CHECKS = 17,
	STMT_CHECKS = 4,
	RELAY_RTT_CHECKS = 17,
};

int main(void)
{
	struct dmp_store *st = NULL;
	struct dmp_store *bad = (struct dmp_store *)1;

	if (!mkdtemp(dir)) {
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	plan(OPEN_CHECKS + IDENTITY_CONTACT_CHECKS + PREKEY_CHECKS +
	     OUTBOX_CHECKS + RELAXED_CHECKS + REPLAY_CHECKS + RACE_CHECKS +
	     KV_CHECKS + ROTATE_CHECKS + REENCODE_CHECKS + STMT_CHECKS +
	     RELAY_RTT_CHECKS);
	is_int(dmp_store_open(&bad, "/nonexistent/dir/x.db"), DMP_ENOENT,
	       "unopenable path reports the errno");
	ok(bad == NULL, "out-param cleared on failure");
	is_int(dmp_store_open(&st, path), 0, "open a new store");
	test_identity_contacts(st);
	test_prekeys(st);
	test_rotate_keys(st);
	test_outbox(st);
	test_outbox_relaxed(st);
	test_outbox_reencoded(st);
	test_replay(st);
	test_replay_race();
	test_stmt_cache(st);
	test_relay_rtt(st);
	test_kv_and_reopen(&st);
	dmp_store_close(st);
	dmp_store_close(NULL);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0) {
			diag("could not remove %s", dir);
		}
	}
	return done_testing();
}
