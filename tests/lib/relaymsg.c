/* tests/lib/relaymsg.c - one real message for the relay tests. */
#include "relaymsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/common.h"

static void die(const char *who, const char *what)
{
	fprintf(stderr, "%s: %s\n", who, what);
	abort();
}

void dmp_test_msg_make(struct dmp_test_msg *t, const char *who, uint8_t sseed,
		       uint8_t rseed, const char *zone, uint64_t now,
		       uint8_t id0, size_t len, uint8_t fill)
{
	uint8_t sx[32], rx[32], pk[32], msg_id[DMP_MSG_ID_BYTES];
	struct dmp_send_params p;
	uint8_t *text = malloc(len);

	memset(t, 0, sizeof(*t));
	if (!text || dmp_init() != 0 || dmp_codec_new(&t->codec) != 0) {
		die(who, "init");
	}
	memset(sx, sseed, sizeof(sx));
	memset(rx, rseed, sizeof(rx));
	if (dmp_keys_from_x25519(&t->snd, sx) ||
	    dmp_keys_from_x25519(&t->rcp, rx)) {
		die(who, "keys");
	}
	dmp_ed25519_from_x25519(pk, t->snd_sk, sx);
	for (size_t i = 0; i < sizeof(msg_id); i++) {
		msg_id[i] = (uint8_t)i;
	}
	msg_id[0] = id0;
	memset(text, fill, len);
	memset(&p, 0, sizeof(p));
	p.sender = t->snd;
	p.recipient_x25519_pk = dmp_keys_x25519_pk(t->rcp);
	p.msg_id = msg_id;
	p.ts = (int64_t)now - 60;
	p.ttl = 86400;
	p.zone = zone;
	p.plaintext = text;
	p.len = len;
	if (dmp_pipeline_send(t->codec, &p, &t->msg) != 0) {
		die(who, "send pipeline");
	}
	free(text);
}

void dmp_test_msg_free(struct dmp_test_msg *t)
{
	dmp_send_result_clear(&t->msg);
	dmp_keys_free(t->snd);
	dmp_keys_free(t->rcp);
	dmp_codec_free(t->codec);
	dmp_wipe(t->snd_sk, sizeof(t->snd_sk));
	memset(t, 0, sizeof(*t));
}
