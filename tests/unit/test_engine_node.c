/* tests/unit/test_engine_node.c - the client engine end to end in one
 * process: two users (two homes in a temp dir) and a real struct dmp_node,
 * joined by a test transport installed through the engine's seam
 * (engine_i.h). Reads become real DNS queries and writes real RFC 2136
 * UPDATEs (TSIG-signed with the user's key), fed to dmp_node_handle(), so
 * the bytes the engine publishes are the bytes the other user reads.
 * Covered: receive of the exact bytes (once), first contact through a
 * claim (and nothing without it), publish retry after a failing write
 * (the same records), corrupted chunks and manifests rejected, sibling
 * handles and cancel; a same-zone first send claims in that zone, and a
 * failed prekey read is reported and read again on the next send, and a
 * refused replace UPDATE falls back to add + delete (issue 13). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/engine_i.h"
#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/dnsmsg.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/node.h"
#include "dmp/store.h"
#include "dmp/update.h"
#include "tap.h"

#define PASS "correct horse"
#define MAXLOG 512

static char dir[] = "/tmp/dmp-test-engnode-XXXXXX";
static int world_no;

/* ---- the in-process transport -------------------------------------------- */

struct op_log {
	char *owner[MAXLOG];
	char *value[MAXLOG];
	size_t n;
};

struct tnode {
	struct dmp_node *n;
	int fail_writes;	/* the next N writes fail (DMP_EUNREACHABLE) */
	int drop_claims;	/* claims fail (DMP_EUNREACHABLE) */
	int corrupt_chunks;	/* alter every chunk value written */
	int corrupt_manifest;	/* alter every manifest value written */
	int fail_prekeys;	/* reads of prekey names get SERVFAIL */
	int refuse_replace;	/* UPDATEs deleting an RRset get SERVFAIL */
	char refuse_owner[256]; /* UPDATEs writing this name get REFUSED */
	int refused;		/* how many were refused */
	int writes, claims, reads, prekey_reads;
	char claim_zone[256], claim_server[256];
	struct op_log failed; /* ops of the writes that failed */
	struct op_log added;  /* ADD ops that the node accepted */
};

struct dmp_eng_writer {
	int open;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_add(struct op_log *l, const char *owner, const char *value,
		    size_t vl)
{
	if (l->n < MAXLOG) {
		l->owner[l->n] = strdup(owner);
		l->value[l->n] = strndup(value ? value : "", vl);
		l->n++;
	}
}

static void log_clear(struct op_log *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->owner[i]);
		free(l->value[i]);
	}
	l->n = 0;
}

static int t_read(struct dmp_engine *e, void *ud, const char *server,
		  const char *const *q, size_t n,
		  struct dmp_resolver_result *res, const uint8_t *rid,
		  unsigned timeout_ms)
{
	struct tnode *t = ud;
	uint8_t qb[512], *resp = malloc(DMP_DNS_MSG_MAX);
	struct dmp_dns_query_opts o;

	(void)e;
	(void)server;
	(void)rid;
	(void)timeout_ms;
	if (!resp) {
		return DMP_ENOMEM;
	}
	dmp_dns_query_opts_default(&o);
	o.rd = 0;
	for (size_t i = 0; i < n; i++) {
		size_t ql;
		int rl;

		memset(&res[i], 0, sizeof(res[i]));
		res[i].server = -1;
		res[i].err = DMP_EUNREACHABLE;
		if (strncmp(q[i], "prekeys.", 8) == 0) {
			t->prekey_reads++;
			if (t->fail_prekeys) {
				res[i].err = DMP_ESERVFAIL;
				continue;
			}
		}
		if (dmp_dns_build_query(qb, sizeof(qb), &ql, q[i],
					DMP_DNS_TYPE_TXT, &o, NULL) < 0) {
			res[i].err = DMP_EBADNAME;
			continue;
		}
		rl = dmp_node_handle(t->n, qb, ql, DMP_NODE_TCP, NULL, resp,
				     DMP_DNS_MSG_MAX, now_ms());
		if (rl <= 0 || dmp_dns_parse_txt(&res[i].answer, resp,
						 (size_t)rl, q[i]) < 0) {
			continue;
		}
		res[i].server = 0;
		res[i].tries = 1;
		res[i].err = res[i].answer.rcode == DMP_DNS_RCODE_NOERROR ? 0
			     : res[i].answer.rcode == DMP_DNS_RCODE_NXDOMAIN
				 ? DMP_ENXDOMAIN
				 : DMP_ESERVFAIL;
		t->reads++;
	}
	free(resp);
	return 0;
}

/* Send one UPDATE for @p zone (signed with @p key, or not) to the node. */
static int t_update(struct tnode *t, const char *zone,
		    const struct dmp_update_rr *ops, size_t n,
		    const struct dmp_tsig_key *key)
{
	uint8_t *wire = NULL, mac[DMP_TSIG_MAC_BYTES], *resp;
	uint64_t ts = (uint64_t)time(NULL);
	size_t len;
	int rl, rc;

	rc = dmp_update_build(&wire, &len, mac, zone, ops, n, key, 4242, ts);
	if (rc < 0) {
		return rc;
	}
	resp = malloc(DMP_DNS_MSG_MAX);
	if (!resp) {
		dmp_free(wire);
		return DMP_ENOMEM;
	}
	rl = dmp_node_handle(t->n, wire, len, DMP_NODE_TCP, NULL, resp,
			     DMP_DNS_MSG_MAX, now_ms());
	rc = rl <= 0 ? DMP_EUNREACHABLE
		     : dmp_update_check_reply(resp, (size_t)rl, 4242, mac, key,
					      ts, NULL, NULL);
	free(resp);
	dmp_free(wire);
	return rc;
}

static int t_write_open(struct dmp_engine *e, void *ud, unsigned attempts,
			struct dmp_eng_writer **w)
{
	(void)e;
	(void)ud;
	(void)attempts;
	*w = calloc(1, sizeof(**w));
	return *w ? 0 : DMP_ENOMEM;
}

static void t_write_close(struct dmp_engine *e, void *ud,
			  struct dmp_eng_writer *w)
{
	(void)e;
	(void)ud;
	free(w);
}

/* Swap one character in the middle of a base64 value. */
static void mangle(char *v, size_t len)
{
	char *c = v + len / 2;

	*c = *c == 'A' ? 'B' : 'A';
}

static int t_write(struct dmp_engine *e, void *ud, struct dmp_eng_writer *w,
		   const struct dmp_update_rr *ops, size_t n, unsigned mask)
{
	struct tnode *t = ud;
	struct dmp_update_rr cp[128] = {{0}};
	char *bufs[128] = {0};
	int rc;

	(void)w;
	(void)mask;
	t->writes++;
	if (t->fail_writes > 0) {
		t->fail_writes--;
		for (size_t i = 0; i < n; i++) {
			log_add(&t->failed, ops[i].owner, ops[i].value,
				ops[i].value_len);
		}
		return DMP_EUNREACHABLE;
	}
	if (n > 128) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; t->refuse_owner[0] && i < n; i++) {
		if (strcmp(ops[i].owner, t->refuse_owner) == 0) {
			/* As a node does: the whole UPDATE (7.1). */
			t->refused++;
			return DMP_EREFUSED;
		}
	}
	for (size_t i = 0; t->refuse_replace && i < n; i++) {
		if (ops[i].op == DMP_UPDATE_DELETE_RRSET) {
			t->refused++;
			return DMP_ESERVFAIL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int chunk = strncmp(ops[i].owner, "chunk-", 6) == 0;
		int man = strncmp(ops[i].owner, "slot-", 5) == 0;

		cp[i] = ops[i];
		if (ops[i].op == DMP_UPDATE_ADD &&
		    ((chunk && t->corrupt_chunks) ||
		     (man && t->corrupt_manifest))) {
			bufs[i] = strndup(ops[i].value, ops[i].value_len);
			mangle(bufs[i], ops[i].value_len);
			cp[i].value = bufs[i];
		}
	}
	rc = t_update(t, e->conf.domain, cp, n, e->tsig);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && ops[i].op == DMP_UPDATE_ADD) {
			log_add(&t->added, ops[i].owner, ops[i].value,
				ops[i].value_len);
		}
		free(bufs[i]);
	}
	return rc;
}

static int t_claim(struct dmp_engine *e, void *ud, const char *zone,
		   const char *server, const struct dmp_update_rr *ops,
		   size_t n)
{
	struct tnode *t = ud;

	(void)e;
	snprintf(t->claim_zone, sizeof(t->claim_zone), "%s", zone);
	snprintf(t->claim_server, sizeof(t->claim_server), "%s", server);
	if (t->drop_claims) {
		return DMP_EUNREACHABLE;
	}
	t->claims += (int)n;
	return t_update(t, zone, ops, n, NULL);
}

/* ---- two users and a node -------------------------------------------------
 */

struct evlog {
	int n[32];
	int code[32];
	char path[32][4096];
	uint8_t msg_id[32][16];
	int rejects[64]; /* codes of the REJECTED events, in order */
	int n_rejects;
};

static void on_ev(const struct dmp_event *ev, void *ud)
{
	struct evlog *l = ud;

	if ((unsigned)ev->kind >= 32) {
		return;
	}
	l->n[ev->kind]++;
	l->code[ev->kind] = ev->code;
	if (ev->kind == DMP_EV_REJECTED && l->n_rejects < 64) {
		l->rejects[l->n_rejects++] = ev->code;
	}
	snprintf(l->path[ev->kind], sizeof(l->path[0]), "%s",
		 ev->detail ? ev->detail : "");
	if (ev->msg_id) {
		memcpy(l->msg_id[ev->kind], ev->msg_id, 16);
	}
}

struct user {
	char home[512];
	struct dmp_engine *e;
	struct evlog ev;
};

struct world {
	struct tnode t;
	struct user a, b; /* alice@a.test, bob@b.test */
};

static const uint8_t ksecret[32] = "0123456789abcdef0123456789abcdef";

static int user_open(struct world *w, struct user *u, const char *name,
		     const char *zone)
{
	const char *nodes[] = {"127.0.0.1:1", NULL};
	char tsig[256], b64[64], kname[128];
	const char *scopes[1] = {zone};
	struct dmp_engine_init in;
	struct dmp_engine_opts o;
	struct dmp_eng_transport tp = {
	    t_read, t_write_open, t_write, t_write_close, t_claim, &w->t, NULL};

	snprintf(u->home, sizeof(u->home), "%s/w%d-%s", dir, world_no, name);
	snprintf(kname, sizeof(kname), "%s.%s.", name, zone);
	if (dmp_b64_encode(b64, sizeof(b64), ksecret, sizeof(ksecret)) < 0 ||
	    dmp_node_key_add(w->t.n, kname, ksecret, sizeof(ksecret), scopes, 1,
			     0) < 0) {
		return -1;
	}
	snprintf(tsig, sizeof(tsig), "hmac-sha256:%s.%s:%s", name, zone, b64);
	memset(&in, 0, sizeof(in));
	in.username = name;
	in.domain = zone;
	in.nodes = nodes;
	in.tsig = tsig;
	if (dmp_engine_init_home(u->home, &in, PASS) < 0) {
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.home = u->home;
	o.passphrase = PASS;
	o.on_event = on_ev;
	o.ud = &u->ev;
	if (dmp_engine_open(&u->e, &o) < 0) {
		return -1;
	}
	dmp_eng_set_transport(u->e, &tp);
	return dmp_engine_identity_publish(u->e);
}

static int world_open_zones(struct world *w, const char *bob_zone)
{
	struct dmp_node_opts o;

	memset(w, 0, sizeof(*w));
	world_no++;
	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "a.test");
	snprintf(o.zones[1].name, sizeof(o.zones[1].name), "b.test");
	o.n_zones = 2;
	o.claim_mode = DMP_NODE_CLAIM_PROVIDER;
	if (dmp_node_new(&w->t.n, &o, now_ms()) < 0) {
		return -1;
	}
	if (user_open(w, &w->a, "alice", "a.test") < 0 ||
	    user_open(w, &w->b, "bob", bob_zone) < 0) {
		return -1;
	}
	return 0;
}

static int world_open(struct world *w)
{
	return world_open_zones(w, "b.test");
}

/* A world where alice and bob have pinned each other. */
static int world_paired(struct world *w)
{
	if (world_open(w) < 0 ||
	    dmp_engine_contact_add(w->a.e, "bob@b.test", NULL, NULL) < 0 ||
	    dmp_engine_contact_add(w->b.e, "alice@a.test", NULL, NULL) < 0) {
		return -1;
	}
	return 0;
}

static void world_close(struct world *w)
{
	dmp_engine_close(w->a.e);
	dmp_engine_close(w->b.e);
	dmp_node_free(w->t.n);
	log_clear(&w->t.failed);
	log_clear(&w->t.added);
}

/* The body of a delivered Maildir file (after the header's blank line);
 * a binary body is the base64 attachment dmp wrapped it in (mail.h). */
static int file_body(const char *path, char *out, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char buf[16384], b64[16384];
	size_t n, bl = 0;
	char *sep, *a, *end;

	if (!f) {
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	sep = strstr(buf, "\n\n");
	if (sep && strstr(buf, "boundary=\"dmp-") &&
	    (a = strstr(sep, "base64\n")) && (a = strstr(a, "\n\n")) &&
	    (end = strstr(a, "\n--dmp-"))) {
		for (a += 2; a < end; a++) {
			if (*a != '\n') {
				b64[bl++] = *a;
			}
		}
		return dmp_b64_decode((uint8_t *)out, cap, len, b64, bl) == 0
			   ? 0
			   : -1;
	}
	if (!sep || (size_t)(buf + n - (sep + 2)) > cap) {
		return -1;
	}
	*len = (size_t)(buf + n - (sep + 2));
	memcpy(out, sep + 2, *len);
	return 0;
}

static int header_has(const char *path, const char *line)
{
	FILE *f = fopen(path, "rb");
	char buf[16384];
	size_t n;
	char *sep;

	if (!f) {
		return 0;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	sep = strstr(buf, "\n\n");
	if (sep) {
		*sep = 0;
	}
	return strstr(buf, line) != NULL;
}

static int count_files(const char *md)
{
	char cmd[4200];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -1 '%s/new' | wc -l", md);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1) {
			n = -1;
		}
		pclose(p);
	}
	return n;
}

/* A body with every byte value, so the check is byte exact. */
static size_t make_body(uint8_t *b, size_t cap, const char *tag)
{
	size_t n = (size_t)snprintf((char *)b, cap, "%s\n", tag);

	for (int i = 0; i < 256 && n < cap; i++) {
		b[n++] = (uint8_t)i;
	}
	return n;
}

static int msg_id_of(struct dmp_engine *e, int64_t qid, uint8_t id[16])
{
	struct dmp_outbox_msg m;
	int rc = dmp_store_outbox_get(dmp_engine_store(e), qid, &m);

	if (rc == 0) {
		memcpy(id, m.msg_id, 16);
	}
	return rc;
}

/* Alice pins @p bob_addr and sends him @p body: the published count, or
 * the first failure. */
static int pin_and_send(struct world *w, const char *bob_addr,
			const uint8_t *body, size_t blen)
{
	int64_t qid = 0;
	int rc = dmp_engine_contact_add(w->a.e, bob_addr, NULL, NULL);

	if (rc == 0) {
		rc = dmp_engine_submit(w->a.e, "bob", body, blen, 0, &qid);
	}
	return rc < 0 ? rc : dmp_engine_publish(w->a.e);
}

/* ---- tests ----------------------------------------------------------------
 */

/* Alice pins bob and bob pins alice; alice's message reaches bob's inbox
 * byte for byte, exactly once. 15 checks. */
static void test_receive(void)
{
	struct world w;
	uint8_t body[512], got[1024];
	size_t blen, glen = 0;
	int64_t qid = 0;
	char path[4096];

	if (!ok(world_open(&w) == 0, "receive: world up (node, two homes, "
				     "identities published)")) {
		world_close(&w);
		return;
	}
	is_int(dmp_engine_contact_add(w.a.e, "bob@b.test", NULL, NULL), 0,
	       "receive: alice pins bob from the node");
	is_int(dmp_engine_contact_add(w.b.e, "alice@a.test", NULL, NULL), 0,
	       "receive: bob pins alice");
	blen = make_body(body, sizeof(body), "hello bob");
	is_int(dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid), 0,
	       "receive: alice submits");
	is_int(dmp_engine_publish(w.a.e), 1, "receive: one message published");
	ok(w.t.added.n >= 2, "receive: chunks and a manifest written (%zu)",
	   w.t.added.n);
	is_int(w.a.ev.n[DMP_EV_PUBLISHED], 1, "receive: PUBLISHED event");
	is_int(dmp_engine_poll(w.b.e), 1, "receive: bob's poll delivers one");
	is_int(w.b.ev.n[DMP_EV_RECEIVED], 1, "receive: RECEIVED event");
	snprintf(path, sizeof(path), "%s", w.b.ev.path[DMP_EV_RECEIVED]);
	ok(strstr(path, "/mail/inbox/new/") != NULL,
	   "receive: delivered to the inbox");
	ok(file_body(path, (char *)got, sizeof(got), &glen) == 0 &&
	       glen == blen && memcmp(got, body, blen) == 0,
	   "receive: bob reads alice's exact bytes");
	ok(header_has(path, "X-DMP-Verified: yes") &&
	       header_has(path, "X-DMP-Forward-Secrecy: yes") &&
	       header_has(path, "From: alice <alice@a.test>"),
	   "receive: verified, forward secret, from the pinned contact");
	is_int(dmp_engine_poll(w.b.e), 0,
	       "receive: a second poll delivers "
	       "nothing (exactly once)");
	is_int(count_files(dmp_engine_maildir(w.b.e, "inbox")), 1,
	       "receive: one file in the inbox");
	is_int(count_files(dmp_engine_maildir(w.a.e, "sent")), 1,
	       "receive: alice keeps a copy in sent");
	world_close(&w);
}

/* Bob has not pinned alice: her claim in bob's zone is what lets his poll
 * find the message in her zone, and it lands in intro. 11 checks. */
static void test_claim(void)
{
	struct world w;
	uint8_t body[512], got[1024];
	size_t blen, glen = 0;
	int64_t qid = 0;
	char path[4096];

	if (!ok(world_open(&w) == 0, "claim: world up")) {
		world_close(&w);
		return;
	}
	blen = make_body(body, sizeof(body), "hello stranger");
	is_int(pin_and_send(&w, "bob@b.test", body, blen), 1,
	       "claim: alice pins bob (bob knows nothing of alice), sends");
	is_int(w.t.claims, 1, "claim: one claim written");
	is_str(w.t.claim_zone, "b.test", "claim: to the recipient's zone");
	is_int(w.a.ev.code[DMP_EV_CLAIM], 0,
	       "claim: CLAIM event says accepted");
	is_int(dmp_engine_poll(w.b.e), 1, "claim: bob's poll finds it");
	is_int(w.b.ev.n[DMP_EV_INTRO], 1, "claim: INTRO event");
	snprintf(path, sizeof(path), "%s", w.b.ev.path[DMP_EV_INTRO]);
	ok(strstr(path, "/mail/intro/new/") != NULL &&
	       file_body(path, (char *)got, sizeof(got), &glen) == 0 &&
	       glen == blen && memcmp(got, body, blen) == 0,
	   "claim: the stranger's exact bytes in intro");
	ok(header_has(path, "X-DMP-Verified: no"), "claim: marked unverified");
	/* Control: the same with the claim lost finds nothing. */
	w.t.drop_claims = 1;
	blen = make_body(body, sizeof(body), "second, unclaimed");
	if (dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid) < 0 ||
	    dmp_engine_publish(w.a.e) != 1) {
		ok(0, "claim: second message published");
	}
	ok(w.a.ev.code[DMP_EV_CLAIM] < 0,
	   "claim: a failed claim is reported, the send is not failed");
	is_int(dmp_engine_poll(w.b.e), 0,
	       "claim: without its claim bob's poll finds nothing");
	world_close(&w);
}

/* The first write fails; the retry writes the very same records and bob
 * gets the message. 11 checks. */
static void test_retry(void)
{
	struct world w;
	uint8_t body[512], got[1024];
	size_t blen, glen = 0, base, same = 0;
	int64_t qid = 0;
	struct dmp_outbox_msg m;
	int writes;

	if (!ok(world_paired(&w) == 0, "retry: world up, contacts pinned")) {
		world_close(&w);
		return;
	}
	blen = make_body(body, sizeof(body), "try, try again");
	is_int(dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid), 0,
	       "retry: submitted");
	w.t.fail_writes = 1;
	base = w.t.added.n;
	is_int(dmp_engine_publish(w.a.e), DMP_EUNREACHABLE,
	       "retry: nothing reached: DMP_EUNREACHABLE");
	is_int(w.a.ev.n[DMP_EV_RETRY], 1, "retry: RETRY event");
	ok(dmp_store_outbox_get(dmp_engine_store(w.a.e), qid, &m) == 0 &&
	       m.state == DMP_OUTBOX_QUEUED &&
	       m.next_attempt > (int64_t)time(NULL),
	   "retry: still queued, retry scheduled");
	writes = w.t.writes;
	is_int(dmp_engine_publish(w.a.e), 0, "retry: not due yet: nothing");
	is_int(w.t.writes, writes, "retry: and no write");
	/* Make it due now. */
	(void)dmp_store_outbox_set_state(dmp_engine_store(w.a.e), qid,
					 DMP_OUTBOX_QUEUED, 0, NULL);
	is_int(dmp_engine_publish(w.a.e), 1, "retry: published on retry");
	for (size_t i = 0; i < w.t.failed.n && base + i < w.t.added.n; i++) {
		same +=
		    strcmp(w.t.failed.owner[i], w.t.added.owner[base + i]) ==
			0 &&
		    strcmp(w.t.failed.value[i], w.t.added.value[base + i]) == 0;
	}
	ok(w.t.failed.n > 0 && same == w.t.failed.n,
	   "retry: the retry wrote the same %zu records again", same);
	is_int(dmp_engine_poll(w.b.e), 1, "retry: bob receives it");
	ok(file_body(w.b.ev.path[DMP_EV_RECEIVED], (char *)got, sizeof(got),
		     &glen) == 0 &&
	       glen == blen && memcmp(got, body, blen) == 0,
	   "retry: exact bytes");
	world_close(&w);
}

/* Altered chunks and an altered manifest are rejected, never delivered.
 * 9 checks. */
static void test_corrupt(void)
{
	struct world w;
	uint8_t body[512];
	size_t blen;
	int64_t qid = 0;
	int rej, bad_sig = 0;

	if (!ok(world_paired(&w) == 0, "corrupt: world up, contacts pinned")) {
		world_close(&w);
		return;
	}
	blen = make_body(body, sizeof(body), "bent chunks");
	w.t.corrupt_chunks = 1;
	if (dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid) < 0 ||
	    dmp_engine_publish(w.a.e) != 1) {
		ok(0, "corrupt: published");
	}
	w.t.corrupt_chunks = 0;
	is_int(dmp_engine_poll(w.b.e), 0,
	       "corrupt: altered chunks: nothing "
	       "delivered");
	ok(w.b.ev.n[DMP_EV_REJECTED] >= 1, "corrupt: REJECTED event");
	is_int(w.b.ev.code[DMP_EV_REJECTED], DMP_ECHUNKHASH,
	       "corrupt: code DMP_ECHUNKHASH");
	is_int(count_files(dmp_engine_maildir(w.b.e, "inbox")), 0,
	       "corrupt: inbox empty");
	rej = w.b.ev.n_rejects;
	blen = make_body(body, sizeof(body), "bent manifest");
	w.t.corrupt_manifest = 1;
	if (dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid) < 0 ||
	    dmp_engine_publish(w.a.e) != 1) {
		ok(0, "corrupt: second published");
	}
	is_int(dmp_engine_poll(w.b.e), 0,
	       "corrupt: altered manifest: nothing delivered");
	for (int i = rej; i < w.b.ev.n_rejects; i++) {
		bad_sig += w.b.ev.rejects[i] == DMP_EBADSIG;
	}
	is_int(bad_sig, 1, "corrupt: the manifest is rejected: DMP_EBADSIG");
	is_int(count_files(dmp_engine_maildir(w.b.e, "inbox")) +
		   count_files(dmp_engine_maildir(w.b.e, "intro")),
	       0, "corrupt: nothing in inbox or intro");
	/* A good message still goes through afterwards. */
	w.t.corrupt_manifest = 0;
	blen = make_body(body, sizeof(body), "straight");
	if (dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid) < 0 ||
	    dmp_engine_publish(w.a.e) != 1) {
		ok(0, "corrupt: third published");
	}
	is_int(dmp_engine_poll(w.b.e), 1,
	       "corrupt: an intact message is still delivered");
	world_close(&w);
}

/* A sibling shares the identity without a passphrase and outlives the
 * handle it came from; cancel removes a queued message. 15 checks. */
static void test_sibling_cancel(void)
{
	struct world w;
	struct dmp_engine *s = NULL;
	struct dmp_identity_info i1, i2;
	struct dmp_engine_status st;
	struct evlog sev;
	uint8_t body[64], id[16], zero[16] = {0};
	size_t blen;
	int64_t qid = 0;
	char line[512];
	FILE *f;
	int found = 0, writes;

	memset(&sev, 0, sizeof(sev));
	if (!ok(world_open(&w) == 0, "sibling: world up")) {
		world_close(&w);
		return;
	}
	is_int(dmp_engine_open_sibling(&s, w.a.e, on_ev, &sev), 0,
	       "sibling: opened without a passphrase");
	ok(dmp_engine_identity(w.a.e, &i1) == 0 &&
	       dmp_engine_identity(s, &i2) == 0 &&
	       strcmp(i1.address, i2.address) == 0 &&
	       memcmp(i1.x25519_pk, i2.x25519_pk, 32) == 0 &&
	       memcmp(i1.ed25519_pk, i2.ed25519_pk, 32) == 0,
	   "sibling: same identity");
	is_str(dmp_engine_home(s), dmp_engine_home(w.a.e),
	       "sibling: same home");
	/* Close the original: the sibling's keys are its own. */
	dmp_engine_close(w.a.e);
	w.a.e = NULL;
	is_int(dmp_engine_contact_add(s, "bob@b.test", NULL, NULL), 0,
	       "sibling: pins bob after the original closed");
	is_int(dmp_engine_contact_add(w.b.e, "alice@a.test", NULL, NULL), 0,
	       "sibling: bob pins alice");
	blen = make_body(body, sizeof(body), "via sibling");
	is_int(dmp_engine_submit(s, "bob", body, blen, 0, &qid), 0,
	       "sibling: submits");
	is_int(dmp_engine_publish(s), 1, "sibling: publishes (TSIG, writes)");
	is_int(dmp_engine_poll(w.b.e), 1,
	       "sibling: bob receives what the sibling sent");
	is_int(sev.n[DMP_EV_PUBLISHED], 1,
	       "sibling: events go to its own "
	       "callback");

	/* cancel */
	blen = make_body(body, sizeof(body), "never mind");
	if (dmp_engine_submit(s, "bob", body, blen, 0, &qid) < 0 ||
	    msg_id_of(s, qid, id) < 0) {
		ok(0, "cancel: submitted");
	}
	is_int(dmp_engine_cancel(s, id), 0, "cancel: queued message cancelled");
	ok(sev.n[DMP_EV_CANCELLED] == 1 &&
	       memcmp(sev.msg_id[DMP_EV_CANCELLED], id, 16) == 0,
	   "cancel: CANCELLED event names the message");
	ok(dmp_engine_status(s, &st) == 0 && st.queued == 0,
	   "cancel: nothing queued");
	is_int(dmp_engine_cancel(s, id), DMP_ENOENT,
	       "cancel: twice: DMP_ENOENT");
	is_int(dmp_engine_cancel(s, zero), DMP_ENOENT,
	       "cancel: unknown id: DMP_ENOENT");
	writes = w.t.writes;
	is_int(dmp_engine_publish(s), 0, "cancel: publish has nothing to do");
	is_int(w.t.writes, writes, "cancel: and writes nothing");
	/* A published message cannot be cancelled. */
	is_int(dmp_engine_cancel(s, sev.msg_id[DMP_EV_PUBLISHED]), DMP_ENOENT,
	       "cancel: a published message: DMP_ENOENT");
	snprintf(line, sizeof(line), "%s/events.log", dmp_engine_home(s));
	f = fopen(line, "r");
	while (f && fgets(line, sizeof(line), f)) {
		found |= strstr(line, " CANCELLED peer=bob ") != NULL;
	}
	if (f) {
		fclose(f);
	}
	ok(found, "cancel: events.log has the CANCELLED line");
	dmp_engine_close(s);
	world_close(&w);
}

/* Values at the claim names of @p u's mailbox in @p zone (all slots). */
static int count_claims(struct world *w, struct user *u, const char *zone)
{
	char names[DMP_SLOT_COUNT][DMP_NAME_MAX];
	const char *q[DMP_SLOT_COUNT];
	struct dmp_resolver_result res[DMP_SLOT_COUNT];
	int n = 0;

	for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
		if (dmp_name_claim(names[s], sizeof(names[s]), s,
				   dmp_keys_user_id(u->e->keys), zone) < 0) {
			return -1;
		}
		q[s] = names[s];
	}
	memset(res, 0, sizeof(res));
	if (t_read(u->e, &w->t, NULL, q, DMP_SLOT_COUNT, res, NULL, 0) < 0) {
		return -1;
	}
	for (size_t s = 0; s < DMP_SLOT_COUNT; s++) {
		if (res[s].err == 0) {
			n += (int)res[s].answer.n;
		}
		dmp_resolver_result_clear(&res[s]);
	}
	return n;
}

/* Alice and bob share a.test. A reference receiver that has pinned anyone
 * else drops alice's manifest from its slot walk, so her first send must
 * also write a claim at bob's claim name in a.test. 6 checks. */
static void test_claim_same_zone(void)
{
	struct world w;
	uint8_t body[128];
	size_t blen;

	if (!ok(world_open_zones(&w, "a.test") == 0,
		"same zone: world up (alice and bob in a.test)")) {
		world_close(&w);
		return;
	}
	is_int(count_claims(&w, &w.b, "a.test"), 0,
	       "same zone: no claim for bob before the send");
	blen = make_body(body, sizeof(body), "hello neighbour");
	is_int(pin_and_send(&w, "bob@a.test", body, blen), 1,
	       "same zone: alice pins bob and sends");
	is_int(w.t.claims, 1, "same zone: one claim sent");
	is_str(w.t.claim_zone, "a.test", "same zone: to the shared zone");
	is_int(count_claims(&w, &w.b, "a.test"), 1,
	       "same zone: the node serves a claim at bob's claim name");
	world_close(&w);
}

/* Alice submits a message to bob: how many prekey reads that took, or -1
 * when the submit failed. */
static int submit_reads(struct world *w, const char *tag, int64_t *qid)
{
	uint8_t body[128];
	size_t blen = make_body(body, sizeof(body), tag);
	int reads = w->t.prekey_reads;

	if (dmp_engine_submit(w->a.e, "bob", body, blen, 0, qid) < 0) {
		return -1;
	}
	return w->t.prekey_reads - reads;
}

/* Bob's prekey pool cannot be read (SERVFAIL): pinning him reports it,
 * the send goes without forward secrecy and says so, and the next send
 * reads the pool again (no cached failure) and is forward secret.
 * 8 checks. */
static void test_prekeys_failed(void)
{
	struct world w;
	uint8_t id[16];
	int64_t qid = 0;

	if (!ok(world_open(&w) == 0, "prekeys: world up")) {
		world_close(&w);
		return;
	}
	w.t.fail_prekeys = 1;
	is_int(dmp_engine_contact_add(w.a.e, "bob@b.test", NULL, NULL), 0,
	       "prekeys: alice pins bob although his prekeys fail");
	ok(w.a.ev.n[DMP_EV_PREKEYS] == 1 &&
	       w.a.ev.code[DMP_EV_PREKEYS] == DMP_ESERVFAIL,
	   "prekeys: PREKEYS event with the reason (%d, %d)",
	   w.a.ev.n[DMP_EV_PREKEYS], w.a.ev.code[DMP_EV_PREKEYS]);
	is_int(submit_reads(&w, "no fs", &qid), 1,
	       "prekeys: the send is queued anyway, after reading the pool "
	       "again");
	ok(msg_id_of(w.a.e, qid, id) == 0 &&
	       memcmp(w.a.ev.msg_id[DMP_EV_PREKEYS], id, 16) == 0 &&
	       strstr(w.a.ev.path[DMP_EV_PREKEYS], "without forward secrecy"),
	   "prekeys: the message's PREKEYS event says no forward secrecy "
	   "(%s)",
	   w.a.ev.path[DMP_EV_PREKEYS]);
	ok(strstr(w.a.ev.path[DMP_EV_QUEUED], "forward secret") == NULL,
	   "prekeys: queued without forward secrecy");
	w.t.fail_prekeys = 0;
	is_int(submit_reads(&w, "fs again", &qid), 1,
	       "prekeys: the next send is queued and retried the read");
	ok(strstr(w.a.ev.path[DMP_EV_QUEUED], "forward secret") != NULL,
	   "prekeys: and is forward secret (%s)", w.a.ev.path[DMP_EV_QUEUED]);
	world_close(&w);
}

static int64_t clock_ahead(void *ud)
{
	(void)ud;
	return (int64_t)time(NULL) + 100;
}

/* A node that refuses the replace UPDATE (SERVFAIL, as the reference does
 * for a delete that matched nothing): the identity is published add-only
 * and the old record deleted in a second UPDATE, leaving exactly the new
 * one. 5 checks. */
static void test_identity_replace_fallback(void)
{
	struct world w;
	struct dmp_identity_info info;
	char name[DMP_NAME_MAX];
	const char *q[1] = {name};
	struct dmp_resolver_result res;
	int writes, rc;

	if (!ok(world_open(&w) == 0, "replace: world up (alice published)")) {
		world_close(&w);
		return;
	}
	w.t.refuse_replace = 1;
	w.a.e->clock = clock_ahead; /* a new ts: a changed record */
	writes = w.t.writes;
	is_int(dmp_engine_identity_publish(w.a.e), 0,
	       "replace: publish succeeds on a node refusing the replace");
	ok(w.t.refused == 1 && w.t.writes >= writes + 3,
	   "replace: one refused replace, then add and delete (%d, %d)",
	   w.t.refused, w.t.writes - writes);
	memset(&res, 0, sizeof(res));
	rc = dmp_name_identity(name, sizeof(name), "alice", 5, "a.test");
	if (rc >= 0) {
		rc = dmp_engine_identity(w.a.e, &info);
	}
	if (rc >= 0) {
		rc = t_read(w.a.e, &w.t, NULL, q, 1, &res, NULL, 0);
	}
	is_int(rc < 0 ? rc : 0, 0, "replace: the name read back");
	ok(res.err == 0 && res.answer.n == 1 &&
	       strcmp(res.answer.values[0], info.record) == 0,
	   "replace: exactly the new record is served (%zu values)",
	   res.answer.n);
	dmp_resolver_result_clear(&res);
	world_close(&w);
}

/* privacy.cover_rate: a due cover message is published into alice's own
 * mailbox, and her poll fetches it and drops it without a trace. 7
 * checks. */
static void test_cover(void)
{
	struct world w;
	size_t before;
	char v[32] = "";

	if (!ok(world_open(&w) == 0, "cover: world up")) {
		world_close(&w);
		return;
	}
	w.a.e->conf.cover_rate = 60;
	(void)dmp_store_kv_set(dmp_engine_store(w.a.e), "privacy.cover_next",
			       "1");
	before = w.t.added.n;
	is_int(dmp_engine_publish(w.a.e), 0,
	       "cover: the pass publishes no real message");
	ok(w.t.added.n >= before + 5,
	   "cover: a cover message's chunks and manifest written (%zu)",
	   w.t.added.n - before);
	ok(dmp_store_kv_get(dmp_engine_store(w.a.e), "privacy.cover_next", v,
			    sizeof(v)) == 0 &&
	       strtoll(v, NULL, 10) > 1,
	   "cover: the next one is scheduled (%s)", v);
	is_int(dmp_engine_poll(w.a.e), 0, "cover: alice's poll delivers none");
	is_int(count_files(dmp_engine_maildir(w.a.e, "inbox")) +
		   count_files(dmp_engine_maildir(w.a.e, "intro")),
	       0, "cover: nothing in inbox/ or intro/");
	is_int(w.a.ev.n[DMP_EV_REJECTED] + w.a.ev.n[DMP_EV_INTRO] +
		   w.a.ev.n[DMP_EV_RECEIVED],
	       0, "cover: no event tells of it");
	world_close(&w);
}

static int first_record(int seq, const char *name, const char *value,
			uint32_t ttl, int published, void *ud)
{
	(void)seq;
	(void)value;
	(void)ttl;
	(void)published;
	snprintf(ud, 256, "%s", name);
	return 1;
}

/* Six messages to bob, published in one pass: how many UPDATEs they
 * took (-1: not all six submitted and published). */
static int batch_writes(struct world *w, const char *what)
{
	uint8_t body[256];
	char text[64];
	size_t blen;
	int64_t qid;
	int writes, subs = 0;

	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "%s %d", what, i);
		blen = make_body(body, sizeof(body), text);
		subs +=
		    dmp_engine_submit(w->a.e, "bob", body, blen, 0, &qid) == 0;
	}
	writes = w->t.writes;
	if (subs != 6 || dmp_engine_publish(w->a.e) != 6) {
		return -1;
	}
	writes = w->t.writes - writes;
	return dmp_engine_poll(w->b.e) == 6 ? writes : -1;
}

/* A publish batch (issue 19): several messages' chunks share UPDATEs,
 * then their manifests; a node refusing one message's record refuses
 * the shared UPDATE, and the others still go out, each exactly once.
 * Only with cover traffic and the publish delay off: else one message
 * at a time (chunks, manifest: 12 UPDATEs for six). 13 checks. */
static void test_batch_refused(void)
{
	struct world w;
	uint8_t body[256];
	char text[64];
	size_t blen;
	int64_t qid[6];
	int writes, subs = 0, got;

	if (!ok(world_paired(&w) == 0, "batch: world up, contacts pinned")) {
		world_close(&w);
		return;
	}
	/* The defaults: a publish delay (exponential), no cover. */
	is_int(batch_writes(&w, "delay on"), 12,
	       "batch: none with privacy.delay on (12 UPDATEs for six)");
	w.a.e->conf.cover_rate = 60;
	snprintf(w.a.e->conf.delay, sizeof(w.a.e->conf.delay), "off");
	is_int(batch_writes(&w, "cover on"), 12,
	       "batch: none with privacy.cover_rate on (12 UPDATEs)");
	w.a.e->conf.cover_rate = 0;
	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "batch message %d", i);
		blen = make_body(body, sizeof(body), text);
		subs += dmp_engine_submit(w.a.e, "bob", body, blen, 0,
					  &qid[i]) == 0;
	}
	is_int(subs, 6, "batch: six submitted");
	writes = w.t.writes;
	is_int(dmp_engine_publish(w.a.e), 6, "batch: six published");
	ok(w.t.writes - writes <= 2,
	   "batch: in %d UPDATEs (the chunks, then the manifests), "
	   "not 12",
	   w.t.writes - writes);
	is_int(dmp_engine_poll(w.b.e), 6, "batch: bob receives the six");
	/* The last of six more has a record the node refuses. */
	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "second batch %d", i);
		blen = make_body(body, sizeof(body), text);
		subs += dmp_engine_submit(w.a.e, "bob", body, blen, 0,
					  &qid[i]) == 0;
	}
	(void)dmp_store_outbox_records(dmp_engine_store(w.a.e), qid[5],
				       first_record, w.t.refuse_owner);
	is_int(dmp_engine_publish(w.a.e), 5,
	       "batch: one refused, the other five published (%d queued)",
	       subs);
	ok(w.t.refused >= 1, "batch: the shared UPDATE was refused (%d)",
	   w.t.refused);
	is_int(w.a.ev.n[DMP_EV_RETRY], 1, "batch: RETRY for the refused one");
	got = dmp_engine_poll(w.b.e);
	is_int(got, 5, "batch: bob receives the five");
	/* The node takes it now; made due, it goes alone. */
	w.t.refuse_owner[0] = 0;
	(void)dmp_store_outbox_set_state(dmp_engine_store(w.a.e), qid[5],
					 DMP_OUTBOX_QUEUED, 0, NULL);
	is_int(dmp_engine_publish(w.a.e), 1, "batch: the sixth on retry");
	got = dmp_engine_poll(w.b.e);
	got += dmp_engine_poll(w.b.e) * 100; /* a second poll: nothing */
	is_int(got, 1, "batch: bob receives it once; none twice");
	world_close(&w);
}

/* Each publish pass reads bob's prekeys again; the same answer is not
 * verified again, unless the cache no longer holds it (emptied here, as
 * a contact removed and pinned again would be). 4 checks. */
static void test_prekey_memo(void)
{
	struct world w;
	struct dmp_store_contact ct;
	struct dmp_store *st;
	uint8_t body[256];
	size_t blen;
	int64_t qid;
	int n0, reads;

	if (!ok(world_paired(&w) == 0, "prekey memo: world up")) {
		world_close(&w);
		return;
	}
	st = dmp_engine_store(w.a.e);
	blen = make_body(body, sizeof(body), "memo");
	reads = w.t.prekey_reads;
	ok(dmp_store_contact_get(st, "bob", &ct) == 0 &&
	       dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid) == 0 &&
	       dmp_engine_publish(w.a.e) == 1,
	   "prekey memo: one published");
	n0 = dmp_store_contact_prekey_count(st, ct.ed25519_pk, time(NULL));
	ok(n0 > 0 && w.t.prekey_reads > reads,
	   "prekey memo: the pass read bob's prekeys (%d cached)", n0);
	(void)dmp_store_contact_prekeys_replace(st, ct.ed25519_pk, NULL, 0);
	ok(dmp_engine_submit(w.a.e, "bob", body, blen, 0, &qid) == 0 &&
	       dmp_engine_publish(w.a.e) == 1 &&
	       dmp_store_contact_prekey_count(st, ct.ed25519_pk, time(NULL)) ==
		   n0,
	   "prekey memo: an emptied cache is filled again by the same "
	   "answer");
	world_close(&w);
}

int main(void)
{
	char cmd[64];

	plan(15 + 11 + 11 + 9 + 19 + 6 + 8 + 5 + 7 + 13 + 4);
	if (!mkdtemp(dir)) {
		return 1;
	}
	test_receive();
	test_claim();
	test_retry();
	test_corrupt();
	test_sibling_cancel();
	test_claim_same_zone();
	test_prekeys_failed();
	test_identity_replace_fallback();
	test_cover();
	test_batch_refused();
	test_prekey_memo();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		diag("could not remove %s", dir);
	}
	return done_testing();
}
