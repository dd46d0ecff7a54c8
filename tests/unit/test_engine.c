/* tests/unit/test_engine.c - the client engine without a network: home
 * creation, passphrase check, config errors, the identity record, submit
 * into the durable outbox, publish and poll against a dead node; and the
 * store tables the engine added (migration 2). End-to-end runs through
 * real nodes are in tests/black/test_cli_*.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/store.h"
#include "client/engine_i.h"
#include "tap.h"

static char dir[] = "/tmp/dmp-test-engine-XXXXXX";
static char home[300];

#define NOW 1795900000

struct evlog {
	int n[16];
	int last_code;
};

static void on_ev(const struct dmp_event *ev, void *ud)
{
	struct evlog *l = ud;

	if ((unsigned)ev->kind < 16) {
		l->n[ev->kind]++;
	}
	l->last_code = ev->code;
}

static int64_t fixed_clock(void *ud)
{
	(void)ud;
	return NOW;
}

static int mode_of(const char *sub)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", home, sub);
	return stat(p, &sb) == 0 ? (int)(sb.st_mode & 0777) : -1;
}

static int open_with(struct dmp_engine **e, const char *pass, struct evlog *l)
{
	struct dmp_engine_opts o;

	memset(&o, 0, sizeof(o));
	o.home = home;
	o.passphrase = pass;
	o.on_event = on_ev;
	o.ud = l;
	o.clock = fixed_clock;
	return dmp_engine_open(e, &o);
}

/* Checks per section, on every path: a failed setup reports one failure
 * and skips the rest of its section. */
enum {
	HOME_CHECKS = 16,
	UNLOCK_CHECKS = 8,
	MAILDIR_CHECKS = 2,
	IDENTITY_CHECKS = 8,
	SUBMIT_CHECKS = 32 + 15,
	PREKEY_CHECKS = 5,
	PICK_AGAIN = 10, /* "used prekey never picked again" draws */
	CACHE_CHECKS = 20 + PICK_AGAIN,
	ORDER_CHECKS = 5,
};

static void test_home(void)
{
	const char *nodes[] = {"127.0.0.1:1", NULL};
	const char *none[] = {NULL};
	struct dmp_engine_init in = {"alice", "mesh.test", nodes, NULL,
				     NULL,    NULL,	   0,	  NULL};
	struct dmp_engine *e = NULL;
	struct evlog l = {0};
	char p[400];
	FILE *f;

	in.nodes = none;
	is_int(dmp_engine_init_home(home, &in, "pw"), DMP_EINVAL,
	       "init without a node refused");
	in.nodes = nodes;
	in.username = "";
	is_int(dmp_engine_init_home(home, &in, "pw"), DMP_EINVAL,
	       "init with an empty username refused");
	in.username = "alice";
	in.tsig = "hmac-md5:k:AAAA";
	is_int(dmp_engine_init_home(home, &in, "pw"), DMP_EINVAL,
	       "init with a non-sha256 TSIG key refused");
	in.tsig = "hmac-sha256:alice.mesh.test:c2VjcmV0c2VjcmV0";
	is_int(dmp_engine_init_home(home, &in, "correct horse"), 0, "init");
	is_int(mode_of(""), 0700, "home is 0700");
	is_int(mode_of("state.db"), 0600, "state.db is 0600");
	is_int(mode_of("config.yaml"), 0600, "config.yaml is 0600");
	is_int(mode_of("mail/inbox/new"), 0700, "Maildir inbox made");
	is_int(mode_of("mail/intro/tmp"), 0700, "Maildir intro made");
	is_int(mode_of("mail/sent/cur"), 0700, "Maildir sent made");
	is_int(dmp_engine_init_home(home, &in, "correct horse"), DMP_EEXIST,
	       "second init refused");

	is_int(open_with(&e, "wrong horse", &l), DMP_EPASSPHRASE,
	       "wrong passphrase: DMP_EPASSPHRASE");
	ok(e == NULL, "no engine on failure");
	{
		struct dmp_engine_opts o = {0};

		o.home = "/nonexistent/dmp-home";
		o.passphrase = "x";
		is_int(dmp_engine_open(&e, &o), DMP_ENOENT,
		       "missing home: DMP_ENOENT");
	}
	/* An unknown key is an error (with file:line in the log). */
	snprintf(p, sizeof(p), "%s/config.yaml", home);
	f = fopen(p, "a");
	fputs("  bogus: 1\n", f);
	fclose(f);
	is_int(open_with(&e, "correct horse", &l), DMP_ECONFIG,
	       "unknown config key: DMP_ECONFIG");
	/* Put a valid file back (defaults omitted are filled in). */
	f = fopen(p, "w");
	fputs("identity:\n  username: alice\n  domain: mesh.test\n"
	      "network:\n  nodes: [\"127.0.0.1:1\"]\n  timeout_ms: 300\n"
	      "  tsig: \"hmac-sha256:alice.mesh.test:c2VjcmV0c2VjcmV0\"\n",
	      f);
	fclose(f);
	is_int(open_with(&e, "correct horse", &l), 0, "open");
	dmp_engine_close(e);
}

static void test_identity(struct dmp_engine *e)
{
	struct dmp_identity_info in;
	struct dmp_identity_record rec;
	char fp[17];

	is_int(dmp_engine_identity(e, &in), 0, "identity info");
	is_str(in.address, "alice@mesh.test", "address");
	dmp_hex_encode(fp, in.ed25519_pk, 8);
	is_str(in.fingerprint, fp, "fingerprint = first 16 hex of ed25519");
	is_int(dmp_identity_parse_verify(&rec, in.record, strlen(in.record),
					 "alice", 5),
	       0, "our identity record verifies");
	is_mem(rec.ed25519_spk, 32, in.ed25519_pk, 32,
	       "record carries our key");
	ok(rec.n_versions == 2 && rec.versions[0] == 1 && rec.versions[1] == 2,
	   "record advertises versions {1,2}");
	is_int(in.published, 0, "never published");
	is_int(in.prekeys_left, 0, "no prekeys yet");
}

static int count_rec(int seq, const char *name, const char *value, uint32_t ttl,
		     int published, void *ud)
{
	int *c = ud;

	(void)value;
	(void)published;
	if (strncmp(name, "chunk-", 6) == 0 && ttl == 604800) {
		c[0]++;
	}
	if (strncmp(name, "slot-", 5) == 0 && ttl == 604800) {
		c[1] = seq;
	}
	c[2] = seq;
	return 0;
}

/* Empty bodies, per-key blocking, the undo-send window (held, withdrawn).
 * Leaves the queue and the contacts as it found them. */
static void test_submit_rules(struct dmp_engine *e, struct evlog *l,
			      const struct dmp_store_contact *bob)
{
	struct dmp_store *st = dmp_engine_store(e);
	struct dmp_store_contact r = *bob;
	struct dmp_outbox_msg m;
	int64_t qid = 0, due = 0;
	int cancelled = l->n[DMP_EV_CANCELLED];

	is_int(dmp_engine_submit(e, "bob", (const uint8_t *)"", 0, 0, NULL),
	       DMP_EINVAL, "empty body: DMP_EINVAL, never sent");
	snprintf(r.alias, sizeof(r.alias), "robert");
	is_int(dmp_store_contact_put(st, &r), 0, "second alias of bob's key");
	is_int(dmp_engine_contact_block(e, "bob", 1), 0, "block bob");
	is_int(dmp_engine_submit(e, "robert", (const uint8_t *)"x", 1, 0, NULL),
	       DMP_EACCES, "other alias of a blocked key: DMP_EACCES");
	is_int(dmp_engine_send_check(e, "robert"), DMP_EACCES,
	       "send_check: blocked by key");
	is_int(dmp_engine_contact_block(e, "bob", 0), 0, "unblock bob");
	is_int(dmp_engine_send_check(e, "robert"), 0, "send_check: ok");
	is_int(dmp_engine_send_check(e, "carol"), DMP_ENOENT,
	       "send_check: unknown");
	is_int(dmp_engine_contact_remove(e, "robert"), 0, "remove robert");
	is_int(dmp_engine_submit_delayed(e, "bob", (const uint8_t *)"undo", 4,
					 600, 30, &qid),
	       0, "delayed submit");
	ok(dmp_store_outbox_get(st, qid, &m) == 0 &&
	       m.state == DMP_OUTBOX_HELD && m.next_attempt == NOW + 30,
	   "held until now + 30 (%s)", dmp_outbox_state_name(m.state));
	ok(dmp_store_outbox_next_due(st, &due) == 0 && due == NOW,
	   "next due: the earliest (the queued one)");
	is_int(dmp_engine_withdraw(e, qid, "test"), 0, "withdrawn");
	is_int(l->n[DMP_EV_CANCELLED], cancelled + 1, "CANCELLED logged");
	is_int(dmp_engine_withdraw(e, qid, "test"), DMP_EBUSY,
	       "withdraw again: DMP_EBUSY");
}

static void test_submit(struct dmp_engine *e, struct evlog *l)
{
	struct dmp_store *st = dmp_engine_store(e);
	struct dmp_store_contact c;
	struct dmp_keys *bob = NULL;
	struct dmp_outbox_msg m;
	struct dmp_engine_status s;
	uint8_t sk[32], big[DMP_ENGINE_MAX_BODY + 1];
	int64_t qid = 0;
	int counts[3] = {0, -1, -1};

	is_int(dmp_engine_submit(e, "bob", (const uint8_t *)"hi", 2, 0, &qid),
	       DMP_ENOENT, "submit to an unknown contact: DMP_ENOENT");
	memset(sk, 7, sizeof(sk));
	if (dmp_keys_from_x25519(&bob, sk) < 0) {
		ok(0, "bob's keys");
		skip(SUBMIT_CHECKS - 2, "no keys for bob");
		return;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.alias, sizeof(c.alias), "bob");
	snprintf(c.address, sizeof(c.address), "bob@mesh.test");
	snprintf(c.username, sizeof(c.username), "bob");
	snprintf(c.domain, sizeof(c.domain), "mesh.test");
	memcpy(c.x25519_pk, dmp_keys_x25519_pk(bob), 32);
	memcpy(c.ed25519_pk, dmp_keys_ed25519_pk(bob), 32);
	c.versions = (1u << 1) | (1u << 2);
	c.pinned_at = NOW;
	snprintf(c.pinned_how, sizeof(c.pinned_how), "manual");
	is_int(dmp_store_contact_put(st, &c), 0, "bob pinned");
	memset(big, 'x', sizeof(big));
	is_int(dmp_engine_submit(e, "bob", big, sizeof(big), 0, &qid),
	       DMP_EUNSUPPORTED,
	       "oversize body to a contact not in messages.multipart: "
	       "DMP_EUNSUPPORTED");
	is_int(dmp_engine_submit(e, "bob", big, DMP_ENGINE_MAX_BODY, 0, &qid),
	       0, "largest body accepted");
	ok(l->n[DMP_EV_QUEUED] == 1, "QUEUED event");
	/* Issue 14: the defaults agree (7 days), so nothing is clamped. */
	ok(l->n[DMP_EV_CLAMPED] == 0, "7-day default not clamped");
	ok(qid > 0, "queue id");
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "queued in the store");
	is_int(m.state, DMP_OUTBOX_QUEUED, "state queued");
	is_int((long long)m.expires, NOW + 604800, "exp = now + 7 days");
	is_int(dmp_store_outbox_records(st, qid, count_rec, counts), 0,
	       "records");
	ok(counts[0] >= 1 && counts[1] == counts[2],
	   "chunks first, manifest last (%d chunks)", counts[0]);
	is_int(
	    dmp_engine_submit(e, "bob", (const uint8_t *)"x", 1, 2592000, NULL),
	    0, "30 days: clamped to max_lifetime");
	ok(l->n[DMP_EV_CLAMPED] == 1, "one CLAMPED");
	is_int(dmp_engine_contact_block(e, "bob", 1), 0, "block bob");
	is_int(dmp_engine_submit(e, "bob", (const uint8_t *)"x", 1, 0, NULL),
	       DMP_EACCES, "blocked contact: DMP_EACCES");
	is_int(dmp_engine_contact_block(e, "bob", 0), 0, "unblock bob");
	test_submit_rules(e, l, &c);

	/* Publishing to a node that is not there: kept queued, retried. */
	is_int(dmp_engine_publish(e), DMP_EUNREACHABLE,
	       "publish with the node down: DMP_EUNREACHABLE");
	ok(l->n[DMP_EV_RETRY] == 1,
	   "RETRY for the first; the second waits behind it (%d)",
	   l->n[DMP_EV_RETRY]);
	is_int(dmp_store_outbox_get(st, qid, &m), 0, "still queued");
	ok(m.state == DMP_OUTBOX_QUEUED && m.next_attempt > NOW &&
	       strcmp(m.last_error, "node unreachable") == 0,
	   "queued with a retry time and the reason (%s)", m.last_error);
	is_int(dmp_engine_publish(e), 0, "not due yet: nothing tried");
	dmp_engine_status(e, &s);
	is_int(s.queued, 2, "status: two queued");
	is_int(s.state, DMP_ENGINE_OFFLINE, "status: offline");
	ok(strncmp(s.last_error, "node unreachable", 16) == 0,
	   "status: last error (%s)", s.last_error);
	is_int(s.failing, 1, "status: one failing, the other waits behind it");
	is_int((long long)s.last_error_at, NOW, "status: when it failed");
	is_int(dmp_engine_flush(e), DMP_EUNREACHABLE,
	       "flush with the node down: DMP_EUNREACHABLE");
	ok(l->n[DMP_EV_FLUSH] == 1 && l->n[DMP_EV_RETRY] == 2,
	   "flush: FLUSH event, the first retried at once");
	is_int(dmp_engine_poll(e), DMP_EUNREACHABLE,
	       "poll with nothing answering: DMP_EUNREACHABLE");
	is_int(dmp_engine_contact_remove(e, "bob"), 0, "remove bob");
	is_int(dmp_engine_contact_remove(e, "bob"), DMP_ENOENT,
	       "remove again: DMP_ENOENT");
	dmp_keys_free(bob);
}

/* Messages to one recipient go out in order (engine_flush.c). */
static void test_outbox_order(void)
{
	struct dmp_outbox_msg v[3];

	memset(v, 0, sizeof(v));
	snprintf(v[0].recipient, sizeof(v[0].recipient), "bob");
	snprintf(v[1].recipient, sizeof(v[1].recipient), "carol");
	snprintf(v[2].recipient, sizeof(v[2].recipient), "bob");
	ok(!dmp_eng_outbox_held(v, 0), "order: the oldest is never held");
	ok(!dmp_eng_outbox_held(v, 1), "order: another recipient goes");
	ok(dmp_eng_outbox_held(v, 2),
	   "order: bob's second waits for the first");
	v[0].state = DMP_OUTBOX_PUBLISHED;
	ok(!dmp_eng_outbox_held(v, 2), "order: goes once the first is out");
	v[0].state = DMP_OUTBOX_FAILED;
	ok(!dmp_eng_outbox_held(v, 2), "order: an expired one holds nothing");
}

static void test_prekey_import(struct dmp_engine *e)
{
	uint8_t sk[32], got[32];

	memset(sk, 9, sizeof(sk));
	is_int(dmp_engine_prekey_import(e, 0, sk, NOW + 100), DMP_EINVAL,
	       "prekey id 0 refused");
	is_int(dmp_engine_prekey_import(e, 42, sk, NOW + 100), 0,
	       "prekey imported");
	is_int(dmp_engine_prekey_import(e, 42, sk, NOW + 100), DMP_EEXIST,
	       "same id twice refused");
	is_int(dmp_store_prekey_get(dmp_engine_store(e), 42, NOW, got), 0,
	       "imported prekey unseals");
	is_mem(got, 32, sk, 32, "same secret");
}

static void test_store_caches(struct dmp_store *st)
{
	struct dmp_store_contact_prekey pk[3], got;
	uint8_t spk[32], mid[16], h[32];
	char folder[16], file[64];
	int seen[4] = {0};

	memset(spk, 1, sizeof(spk));
	memset(mid, 2, sizeof(mid));
	memset(h, 3, sizeof(h));
	for (int i = 0; i < 3; i++) {
		pk[i].prekey_id = (uint32_t)(i + 1);
		memset(pk[i].x25519_pk, i + 1, 32);
		pk[i].exp = (uint64_t)NOW + (uint64_t)(i * 1000);
	}
	is_int(dmp_store_contact_prekey_pick(st, spk, NOW, &got), DMP_ENOENT,
	       "no cached prekey");
	is_int(dmp_store_contact_prekeys_replace(st, spk, pk, 3), 0,
	       "cache three");
	is_int(dmp_store_contact_prekey_count(st, spk, NOW + 1), 2,
	       "two unexpired after now+1");
	for (int i = 0; i < 40; i++) {
		if (dmp_store_contact_prekey_pick(st, spk, NOW + 500, &got) ==
			0 &&
		    got.prekey_id < 4) {
			seen[got.prekey_id]++;
		}
	}
	ok(seen[1] == 0 && seen[2] > 0 && seen[3] > 0,
	   "pick is random among prekeys alive at min_exp (%d %d %d)", seen[1],
	   seen[2], seen[3]);
	is_int(dmp_store_contact_prekey_drop(st, spk, 2), 0, "use prekey 2");
	for (int i = 0; i < PICK_AGAIN; i++) {
		ok(dmp_store_contact_prekey_pick(st, spk, NOW + 500, &got) ==
			   0 &&
		       got.prekey_id == 3,
		   "used prekey never picked again");
	}
	is_int(dmp_store_contact_prekeys_replace(st, spk, pk, 3), 0,
	       "refresh re-reads all three");
	ok(dmp_store_contact_prekey_pick(st, spk, NOW + 500, &got) == 0 &&
	       got.prekey_id == 3,
	   "used mark survives a refresh");
	is_int(dmp_store_contact_prekeys_replace(st, spk, pk, 1), 0,
	       "replace with one");
	is_int(dmp_store_contact_prekey_count(st, spk, 0), 1,
	       "replace dropped the rest");

	is_int(dmp_store_delivery_get(st, spk, mid, folder, sizeof(folder),
				      file, sizeof(file)),
	       DMP_ENOENT, "no planned delivery");
	is_int(
	    dmp_store_delivery_put(st, spk, mid, "inbox", "1.x.dmp", NOW + 10),
	    0, "plan delivery");
	is_int(
	    dmp_store_delivery_put(st, spk, mid, "intro", "2.x.dmp", NOW + 10),
	    DMP_EEXIST, "second plan refused");
	is_int(dmp_store_delivery_get(st, spk, mid, folder, sizeof(folder),
				      file, sizeof(file)),
	       0, "planned delivery found");
	ok(strcmp(folder, "inbox") == 0 && strcmp(file, "1.x.dmp") == 0,
	   "the first plan is kept");

	is_int(dmp_store_seen_value(st, "slot-1.x", h), 0, "value not judged");
	is_int(dmp_store_seen_value_put(st, "slot-1.x", h, NOW + 5), 0,
	       "judge value");
	is_int(dmp_store_seen_value(st, "slot-1.x", h), 1, "value judged");
	is_int(dmp_store_seen_value(st, "slot-2.x", h), 0,
	       "same value at another name is not");
	ok(dmp_store_cache_reap(st, NOW + 100000) >= 3, "reap drops them all");
	is_int(dmp_store_seen_value(st, "slot-1.x", h), 0, "reaped");
}

/* The daemon's path: one unlock (the only Argon2id run), then handles
 * opened from it after the store connection is gone. */
static void test_unlock(void)
{
	struct dmp_engine_opts o;
	struct dmp_engine_unlocked *u = NULL;
	struct dmp_engine *a = NULL, *b = NULL, *c = NULL;
	struct dmp_identity_info ia, ib;

	memset(&o, 0, sizeof(o));
	o.home = home;
	o.passphrase = "wrong horse";
	is_int(dmp_engine_unlock(&u, &o), DMP_EPASSPHRASE,
	       "unlock: wrong passphrase refused");
	ok(u == NULL, "unlock: nothing returned on failure");
	o.passphrase = "correct horse";
	o.clock = fixed_clock;
	if (!ok(dmp_engine_unlock(&u, &o) == 0 && u, "unlock")) {
		skip(UNLOCK_CHECKS - 3, "unlock failed");
		return;
	}
	ok(strcmp(dmp_engine_unlocked_home(u), home) == 0,
	   "unlocked: absolute home");
	is_int(dmp_engine_open_unlocked(&a, u, NULL, NULL), 0,
	       "open from the unlocked identity");
	dmp_engine_unlocked_free(u);
	is_int(a ? dmp_engine_open_sibling(&b, a, NULL, NULL) : -1, 0,
	       "sibling of it, after the unlocked identity is freed");
	ok(a && b && dmp_engine_identity(a, &ia) == 0 &&
	       dmp_engine_identity(b, &ib) == 0 &&
	       strcmp(ia.address, "alice@mesh.test") == 0 &&
	       strcmp(ia.address, ib.address) == 0 &&
	       memcmp(ia.x25519_pk, ib.x25519_pk, 32) == 0 &&
	       memcmp(ia.ed25519_pk, ib.ed25519_pk, 32) == 0,
	   "both handles have the identity the passphrase unlocks");
	is_int(dmp_engine_open_unlocked(&c, NULL, NULL, NULL), DMP_EINVAL,
	       "open_unlocked(NULL) refused");
	dmp_engine_close(b);
	dmp_engine_close(a);
	dmp_engine_unlocked_free(NULL);
}

int main(void)
{
	struct dmp_engine *e = NULL;
	struct evlog l = {0};

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(home, sizeof(home), "%s/home", dir);
	plan(HOME_CHECKS + UNLOCK_CHECKS + MAILDIR_CHECKS + IDENTITY_CHECKS +
	     SUBMIT_CHECKS + PREKEY_CHECKS + CACHE_CHECKS + ORDER_CHECKS);
	test_outbox_order();
	test_home();
	test_unlock();
	if (open_with(&e, "correct horse", &l) != 0) {
		ok(0, "open");
		skip(MAILDIR_CHECKS + IDENTITY_CHECKS + SUBMIT_CHECKS +
			 PREKEY_CHECKS + CACHE_CHECKS - 1,
		     "no engine");
		return done_testing();
	}
	ok(strstr(dmp_engine_maildir(e, "inbox"), "/mail/inbox") != NULL,
	   "inbox path");
	ok(dmp_engine_maildir(e, "spam") == NULL, "unknown folder: NULL");
	test_identity(e);
	test_submit(e, &l);
	test_prekey_import(e);
	test_store_caches(dmp_engine_store(e));
	dmp_engine_close(e);
	dmp_engine_close(NULL);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0) {
			diag("cleanup failed");
		}
	}
	return done_testing();
}
