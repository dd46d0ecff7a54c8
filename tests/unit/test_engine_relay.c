/*
 * tests/unit/test_engine_relay.c - the client's relay bundle
 * (docs/protocol.md 8.7.8, engine_relay.c): a real message's records,
 * built by the send pipeline in the sender's zone, renamed into the
 * recipient's zone by the names.h formulas with a claim pointing there;
 * the bundle then passes the checks every relay makes
 * (dmp_relay_bundle_verify) and keeps its id through the JSON body. Also
 * the refusals: a record that is neither manifest nor chunk, too many
 * records, a claim pointing elsewhere (the relay refuses it), and the
 * relay URL check behind network.relays. And the order relays are tried
 * in (dmp_eng_relay_order): a route first, then measured RTT, configured
 * relays before discovered ones on ties, a live heartbeat first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/engine_i.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/names.h"
#include "dmp/pipeline.h"
#include "dmp/relay.h"
#include "dmp/store.h"
#include "relaymsg.h"
#include "tap.h"

#define HOME "home.example"
#define ZONE "bob.example"
#define NOW 1893456000ULL /* 2030-01-01 */

static struct dmp_keys *snd, *rcp;
static uint8_t snd_sk[DMP_ED25519_SK_BYTES];
static struct dmp_send_result msg;
static struct dmp_eng_relay_rec recs[80];

static void die(const char *what)
{
	fprintf(stderr, "test_engine_relay: %s\n", what);
	abort();
}

static void claim_for(char *out, size_t cap, const char *domain)
{
	struct dmp_claim c;

	memset(&c, 0, sizeof(c));
	memcpy(c.msg_id, msg.msg_id, DMP_MSG_ID_BYTES);
	memcpy(c.sender_spk, dmp_keys_ed25519_pk(snd), DMP_ED25519_PK_BYTES);
	snprintf(c.sender_mailbox_domain, sizeof(c.sender_mailbox_domain), "%s",
		 domain);
	c.domain_len = strlen(domain);
	c.slot = (uint8_t)msg.slot;
	c.ts = NOW;
	c.exp = NOW + 3600;
	if (dmp_claim_sign_encode(out, cap, &c, snd_sk) < 0) {
		die("claim");
	}
}

static int verify(const struct dmp_relay_bundle *b, char *why, size_t cap)
{
	why[0] = 0;
	return dmp_relay_bundle_verify(b, NOW, why, cap);
}

static void test_build_ok(void)
{
	struct dmp_relay_bundle b, back;
	char claim[256], why[DMP_RELAY_WHY_MAX], name[DMP_NAME_MAX], id[33];
	char *json = NULL;
	size_t len = 0, renamed = 0, same_values = 0;
	const uint8_t *rid = dmp_keys_user_id(rcp);
	int rc;

	claim_for(claim, sizeof(claim), ZONE);
	rc = dmp_eng_relay_build(&b, recs, msg.n_records, rid, "Bob.Example",
				 (int)msg.slot, claim, 3600);
	is_int(rc, 0, "built for the recipient's zone");
	is_int((int)b.n_records, (int)msg.n_records + 1,
	       "every record and the claim");
	is_str(b.zone, ZONE, "zone lower-cased");
	ok(b.mode == DMP_RELAY_MODE_PATH && b.hops == 0 && b.n_path == 0 &&
	       b.max_hops >= 1,
	   "path mode, no hops yet");
	for (size_t i = 0; i < msg.n_records; i++) {
		const char *o = msg.records[i].name;

		if (strncmp(o, "slot-", 5) == 0) {
			rc = dmp_name_slot(name, sizeof(name), msg.slot, rid,
					   ZONE);
		} else {
			char key[13];

			memcpy(key, strchr(o + 6, '-') + 1, 12);
			key[12] = 0;
			rc = dmp_name_chunk(name, sizeof(name), (uint32_t)i,
					    key, ZONE);
		}
		renamed += rc > 0 && strcmp(b.records[i].name, name) == 0;
		same_values +=
		    strcmp(b.records[i].value, msg.records[i].value) == 0 &&
		    b.records[i].ttl == msg.records[i].ttl;
	}
	is_int((int)renamed, (int)msg.n_records,
	       "each name rebuilt in " ZONE " by its formula");
	is_int((int)same_values, (int)msg.n_records,
	       "values and ttls unchanged (the signed records)");
	rc = dmp_name_claim(name, sizeof(name), msg.slot, rid, ZONE);
	ok(rc > 0 && strcmp(b.records[msg.n_records].name, name) == 0,
	   "the claim at its name in " ZONE);
	rc = verify(&b, why, sizeof(why));
	is_int(rc, 0, "the bundle verifies as a relay checks it: %s",
	       rc ? why : "ok");
	is_int(dmp_relay_bundle_to_json(&b, &json, &len), 0, "JSON body");
	is_int(dmp_relay_bundle_id(&b, id), 0, "id");
	rc = dmp_relay_bundle_parse_json(
	    &back, json, len, DMP_RELAY_BYTES_DEFAULT, why, sizeof(why));
	is_int(rc, 0, "the body parses as a relay reads it");
	is_int(rc == 0 ? dmp_relay_bundle_check_id(&back, why, sizeof(why))
		       : rc,
	       0, "its id is the content's");
	ok(rc == 0 && strcmp(back.id, id) == 0, "id round trip");
	dmp_relay_bundle_clear(&back);
	dmp_free(json);
	dmp_relay_bundle_clear(&b);

	rc = dmp_eng_relay_build(&b, recs, msg.n_records, rid, ZONE,
				 (int)msg.slot, NULL, 0);
	is_int(rc, 0, "built without a claim");
	is_int(verify(&b, why, sizeof(why)), 0, "it verifies too");
	dmp_relay_bundle_clear(&b);
}

static void test_build_refusals(void)
{
	struct dmp_relay_bundle b;
	struct dmp_eng_relay_rec bad[2];
	char claim[256], why[DMP_RELAY_WHY_MAX];
	const uint8_t *rid = dmp_keys_user_id(rcp);
	int rc;

	bad[0] = recs[0];
	bad[1] = (struct dmp_eng_relay_rec){"id-0123456789abcdef." HOME,
					    recs[0].value, 60};
	is_int(dmp_eng_relay_build(&b, bad, 2, rid, ZONE, 0, NULL, 0),
	       DMP_EBADNAME, "a record neither manifest nor chunk");
	ok(b.records == NULL && b.n_records == 0, "nothing left to free");
	bad[1] = (struct dmp_eng_relay_rec){"chunk-1-12345." HOME,
					    recs[0].value, 60};
	is_int(dmp_eng_relay_build(&b, bad, 2, rid, ZONE, 0, NULL, 0),
	       DMP_EBADNAME, "a chunk name without its 12-hex key");
	for (size_t i = 0; i < DMP_ARRAY_LEN(recs); i++) {
		recs[i] = recs[i % msg.n_records];
	}
	is_int(dmp_eng_relay_build(&b, recs, DMP_RELAY_RECORDS_MAX + 1, rid,
				   ZONE, 0, NULL, 0),
	       DMP_ETOOBIG, "more records than a bundle holds");
	is_int(dmp_eng_relay_build(&b, recs, 0, rid, ZONE, 0, NULL, 0),
	       DMP_EINVAL, "no records");
	is_int(dmp_eng_relay_build(&b, recs, 1, rid, ZONE, -1, "x", 60),
	       DMP_EINVAL, "a claim without a slot");
	for (size_t i = 0; i < msg.n_records; i++) {
		recs[i] = (struct dmp_eng_relay_rec){msg.records[i].name,
						     msg.records[i].value,
						     msg.records[i].ttl};
	}
	/* A claim still pointing at the sender's zone: a relay refuses
	 * it, which is why the client signs one for the recipient's. */
	claim_for(claim, sizeof(claim), HOME);
	rc = dmp_eng_relay_build(&b, recs, msg.n_records, rid, ZONE,
				 (int)msg.slot, claim, 3600);
	is_int(rc, 0, "built with a claim pointing home");
	is_int(verify(&b, why, sizeof(why)), DMP_EMISMATCH,
	       "refused by a relay: %s", why);
	dmp_relay_bundle_clear(&b);

	is_str(dmp_eng_relay_url_bad("http://127.0.0.1:8053"), "",
	       "http://HOST:PORT is a relay URL");
	is_str(dmp_eng_relay_url_bad("https://relay.example/"), "",
	       "https too");
	ok(dmp_eng_relay_url_bad("127.0.0.1:8053")[0] != 0,
	   "no scheme: refused");
	ok(dmp_eng_relay_url_bad("ftp://x.example")[0] != 0,
	   "another scheme: refused");
	ok(dmp_eng_relay_url_bad("http://a b")[0] != 0, "a space: refused");
}

static int order_is(const struct dmp_eng_relay_cand *c, size_t n,
		    const char *want)
{
	size_t out[8];
	char got[16];

	dmp_eng_relay_order(c, n, out);
	for (size_t i = 0; i < n; i++) {
		got[i] = c[out[i]].url[0];
	}
	got[n] = 0;
	if (strcmp(got, want) != 0) {
		diag("order: got %s, want %s", got, want);
		return 0;
	}
	return 1;
}

static void test_order(void)
{
	/* The URL's first letter names it in the expected orders. */
	struct dmp_eng_relay_cand c[5] = {
	    {"d-disc-old", -1, 0, 0, 0, 100},	  {"b-conf2", 1, 0, 0, 0, 0},
	    {"e-disc-expired", -1, 0, 0, 1, 500}, {"a-conf1", 0, 0, 0, 0, 0},
	    {"c-disc-new", -1, 0, 0, 0, 300},
	};

	ok(order_is(c, 5, "abcde"),
	   "order: configured (in their order), then discovered: live, newer "
	   "heartbeat first, expired last");
	c[0].rtt_ms = 30;
	c[4].rtt_ms = 10;
	ok(order_is(c, 5, "cdabe"),
	   "order: a measured RTT first, lowest first");
	c[2].route = 1;
	ok(order_is(c, 5, "ecdab"), "order: a route to the zone before all");
	c[0].rtt_ms = c[4].rtt_ms = 0;
	c[2].route = 0;
	c[1].rtt_ms = c[4].rtt_ms = 20;
	ok(order_is(c, 5, "bcade"),
	   "order: equal RTT: the configured relay first");
	is_int((int)dmp_eng_relay_order(c, 0, NULL), 0, "order: none");
}

/* The order takes the SRTT the store kept (8.7.8): the relay that
 * answered fastest before first, a stale sample ignored. */
static void test_order_stored_rtt(void)
{
	char dir[] = "/tmp/dmp-test-relay-rtt-XXXXXX", path[300];
	struct dmp_store *st = NULL;
	struct dmp_eng_relay_cand c[3] = {
	    {"slow.test", 0, 0, 0, 0, 0},
	    {"fast.test", 1, 0, 0, 0, 0},
	    {"old.test", 2, 0, 0, 0, 0},
	};
	const int64_t now = (int64_t)NOW;

	if (!mkdtemp(dir)) {
		die("mkdtemp");
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (dmp_store_open(&st, path) < 0) {
		die("store");
	}
	is_int((int)dmp_eng_relay_rtt_fill(st, c, 3, now), 0,
	       "rtt fill: nothing measured yet");
	ok(order_is(c, 3, "sfo"), "rtt fill: unmeasured: configured order");
	dmp_store_relay_rtt_add(st, "slow.test", 300, now - 10, NULL);
	dmp_store_relay_rtt_add(st, "fast.test", 12, now - 5, NULL);
	dmp_store_relay_rtt_add(st, "old.test", 1,
				now - DMP_STORE_RELAY_RTT_MAX_AGE - 1, NULL);
	is_int((int)dmp_eng_relay_rtt_fill(st, c, 3, now), 2,
	       "rtt fill: two fresh samples, the stale one ignored");
	is_int((int)c[1].rtt_ms, 12, "rtt fill: the stored SRTT");
	ok(order_is(c, 3, "fso"),
	   "rtt fill: the fastest before first, unmeasured last");
	dmp_store_close(st);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	static struct dmp_test_msg tm;

	dmp_test_msg_make(&tm, "test_engine_relay", 0x31, 0x42, HOME, NOW, 9,
			  1500, 'r');
	snd = tm.snd;
	rcp = tm.rcp;
	memcpy(snd_sk, tm.snd_sk, sizeof(snd_sk));
	msg = tm.msg;
	if (msg.n_records > DMP_ARRAY_LEN(recs) ||
	    strstr(msg.records[0].name, HOME) == NULL) {
		die("send pipeline");
	}
	for (size_t i = 0; i < msg.n_records; i++) {
		recs[i] = (struct dmp_eng_relay_rec){msg.records[i].name,
						     msg.records[i].value,
						     msg.records[i].ttl};
	}
	plan(38);
	diag("message: k = %u, n = %u, slot %u", msg.k, msg.n, msg.slot);
	test_build_ok();
	test_build_refusals();
	test_order();
	test_order_stored_rtt();
	dmp_test_msg_free(&tm);
	dmp_wipe(snd_sk, sizeof(snd_sk));
	return done_testing();
}
