/*
 * tests/lib/relaymsg.h - one real message for the relay tests: two keys
 * from fixed seeds and the records the send pipeline builds, as the
 * engine queues them.
 */
#ifndef DMP_TEST_RELAYMSG_H
#define DMP_TEST_RELAYMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/crypto.h"
#include "dmp/keys.h"
#include "dmp/pipeline.h"

struct dmp_test_msg {
	struct dmp_codec *codec;
	struct dmp_keys *snd, *rcp;
	uint8_t snd_sk[DMP_ED25519_SK_BYTES]; /* the sender's signing key */
	struct dmp_send_result msg;
};

/* dmp_init(), keys from the X25519 seeds filled with @p sseed and
 * @p rseed, and a message of @p len bytes of @p fill from snd to rcp in
 * @p zone, written at @p now - 60 for a day, msg_id {@p id0, 1, .., 15}.
 * Aborts (naming @p who) on any failure. */
void dmp_test_msg_make(struct dmp_test_msg *t, const char *who, uint8_t sseed,
		       uint8_t rseed, const char *zone, uint64_t now,
		       uint8_t id0, size_t len, uint8_t fill);
void dmp_test_msg_free(struct dmp_test_msg *t);

#endif
