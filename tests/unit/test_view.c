/*
 * tests/unit/test_view.c - what `dmp` and dmpfs show (view.c): state
 * names, a queued message's chunk count, the fingerprint of a bare key, and
 * the header of a delivered message as the engine writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/store.h"
#include "tap.h"

static void names(void)
{
	is_str(dmp_engine_state_name(DMP_ENGINE_ONLINE), "online", "online");
	is_str(dmp_engine_state_name(DMP_ENGINE_DEGRADED), "degraded",
	       "degraded");
	is_str(dmp_engine_state_name(DMP_ENGINE_OFFLINE), "offline", "offline");
	is_str(dmp_outbox_state_name(DMP_OUTBOX_QUEUED), "queued", "queued");
	is_str(dmp_outbox_state_name(DMP_OUTBOX_PUBLISHING), "publishing",
	       "publishing");
	is_str(dmp_outbox_state_name(DMP_OUTBOX_PUBLISHED), "published",
	       "published");
	is_str(dmp_outbox_state_name(DMP_OUTBOX_FAILED), "failed", "failed");
}

static void fingerprint(void)
{
	uint8_t pk[32];
	char fp[DMP_FINGERPRINT_CHARS + 1];

	for (int i = 0; i < 32; i++) {
		pk[i] = (uint8_t)(0xa0 + i);
	}
	dmp_fingerprint_hex(fp, pk);
	is_str(fp, "a0a1a2a3a4a5a6a7", "first 16 hex digits of the key");
}

static void chunks(void)
{
	char dir[] = "/tmp/dmp-test-view-XXXXXX", path[64];
	static const uint8_t msg_id[16] = {7};
	struct dmp_outbox_record recs[3] = {
	    {"chunk-0000-abc.mesh.local", "v0", 300},
	    {"chunk-0001-abc.mesh.local", "v1", 300},
	    {"slot-3.mb-abc.mesh.local", "m", 300},
	};
	struct dmp_store *st = NULL;
	int64_t qid = 0;
	int n = -1, pub = -1;

	if (!ok(mkdtemp(dir) != NULL, "temp dir")) {
		return;
	}
	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (!is_int(dmp_store_open(&st, path), 0, "store opened")) {
		return;
	}
	is_int(dmp_store_outbox_add(st, msg_id, "bob", 1, (const uint8_t *)"x",
				    recs, 3, 5000, 1000, &qid),
	       0, "message queued");
	is_int(dmp_store_outbox_chunks(st, qid, &n, &pub), 0, "counted");
	is_int(n, 2, "two chunks (the manifest is not one)");
	is_int(pub, 0, "none published");
	is_int(dmp_store_outbox_records_done(st, qid, 0, 0), 0, "chunk 0 done");
	is_int(dmp_store_outbox_chunks(st, qid, &n, &pub), 0, "counted again");
	is_int(pub, 1, "one published");
	dmp_store_close(st);
	unlink(path);
	rmdir(dir);
}

static void delivered(void)
{
	static const char contact[] =
	    "From: bob <bob@mesh.local>\nTo: alice@mesh.local\n"
	    "Date: Mon, 01 Jan 2030 00:00:00 +0000\n"
	    "Message-ID: <00ff@dmp>\n"
	    "X-DMP-Sender-Key: 0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n"
	    "X-DMP-Verified: yes\n\nhello\n";
	static const char intro[] =
	    "From: <carol@other.zone> (claimed by the sender, not verified)\n"
	    "Date: x\nX-DMP-Sender-Key: fedcba98\n\nbody";
	struct dmp_delivered d;

	is_int(dmp_delivered_parse(contact, strlen(contact), &d), 0,
	       "a contact's message parses");
	is_str(d.from, "bob <bob@mesh.local>", "From");
	is_str(d.date, "Mon, 01 Jan 2030 00:00:00 +0000", "Date");
	is_str(d.address, "bob@mesh.local", "address from <...>");
	is_str(d.fingerprint, "0123456789abcdef", "fingerprint of the key");
	is_str(contact + d.body_off, "hello\n", "body after the blank line");

	is_int(dmp_delivered_parse(intro, strlen(intro), &d), 0,
	       "an intro parses");
	is_str(d.address, "carol@other.zone", "claimed address");
	is_str(d.fingerprint, "", "a short key gives no fingerprint");

	is_int(dmp_delivered_parse("From: x\n", 8, &d), DMP_EMALFORMED,
	       "no blank line");
	is_str(d.from, "x", "fields found are kept");
	is_str(d.date, "?", "missing Date is ?");
	is_int((long long)d.body_off, 8, "no body");
	is_int(dmp_delivered_parse("From: <a@b\n>\n\n", 14, &d), 0,
	       "brackets across lines");
	is_str(d.address, "", "no address from a broken From");
}

int main(void)
{
	plan(32);
	names();
	fingerprint();
	chunks();
	delivered();
	return done_testing();
}
