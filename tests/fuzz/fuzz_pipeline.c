/*
 * tests/fuzz/fuzz_pipeline.c - the whole receive pipeline (accept manifest,
 * assemble, open) on attacker-chosen chunks and messages.
 *
 * A fuzzer cannot forge signatures or chunk hashes, so the harness plays a
 * sender whose manifest commits to whatever the input holds; that gets the
 * bytes past the authenticated layers into RS, checksum, erasure decode,
 * unpack, DMPMessage parse and decrypt.
 *
 * Input: mode(1) prekey_id(4) then
 *   mode 0: k-1 (1 byte), then 168-byte chunk wires (RS and checksum run
 *           on raw attacker bytes)
 *   mode 1: a DMPMessage, erasure-coded and wrapped correctly, so decode,
 *           unpack, header checks and decrypt see it (seeds: the
 *           message_crypto.json messages, which decrypt).
 * The recipient is message_crypto.json's (its prekey secret as well).
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/chunk.h"
#include "dmp/crypto.h"
#include "dmp/erasure.h"
#include "dmp/keys.h"
#include "dmp/manifest.h"
#include "dmp/message.h"
#include "dmp/pipeline.h"
#include "dmp/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t bob_sk[32] = {
    0x7b, 0x65, 0xcb, 0xf9, 0x3b, 0x74, 0xfb, 0x53, 0xfa, 0xe5, 0x8a,
    0xcf, 0xd9, 0x7f, 0x8b, 0x24, 0xd3, 0xb6, 0x26, 0x3b, 0x88, 0x62,
    0x7b, 0x58, 0x0d, 0x1e, 0x44, 0x67, 0x4e, 0x4f, 0x95, 0xa3,
};
static const uint8_t prekey_sk[32] = {
    0xa4, 0xef, 0xe8, 0x7e, 0xc4, 0xa5, 0xab, 0x90, 0x29, 0x07, 0x01,
    0xec, 0x14, 0xac, 0x9e, 0x60, 0x61, 0x6c, 0x79, 0xba, 0x43, 0xe9,
    0x77, 0x8a, 0xf3, 0xa9, 0x83, 0x24, 0x0b, 0xbd, 0x78, 0x59,
};

struct ctx {
	struct dmp_keys *bob;
	uint8_t alice_pk[32], alice_sk[64];
	struct dmp_codec *codec;
	struct dmp_rs *rs;
};

static struct ctx *setup(void)
{
	static struct ctx c;
	static int done;
	uint8_t seed[32];

	if (done) {
		return &c;
	}
	if (dmp_init() != 0 || dmp_keys_from_x25519(&c.bob, bob_sk) != 0 ||
	    dmp_codec_new(&c.codec) != 0 || dmp_rs_new(&c.rs) != 0) {
		abort();
	}
	memset(seed, 0xa1, sizeof(seed));
	dmp_ed25519_from_seed(c.alice_pk, c.alice_sk, seed);
	done = 1;
	return &c;
}

/* Chunk TXT value of a raw 168-byte wire. */
static char *wire_value(const uint8_t *wire, uint8_t hash[32])
{
	char *v = malloc(DMP_CHUNK_TXT_LEN + 1);

	if (!v || dmp_record_encode(v, DMP_CHUNK_TXT_LEN + 1, DMP_PREFIX_CHUNK,
				    wire, DMP_CHUNK_WIRE_BYTES, 0) < 0) {
		abort();
	}
	dmp_sha256(hash, wire, DMP_CHUNK_WIRE_BYTES);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx *c = setup();
	struct dmp_manifest m, got;
	struct dmp_chunk_values cv[DMP_ERASURE_MAX_N];
	char *values[DMP_ERASURE_MAX_N] = {0};
	size_t lens[DMP_ERASURE_MAX_N];
	uint8_t hashes[DMP_ERASURE_MAX_N * 32];
	uint8_t *msg = NULL, *pt = NULL, *shares = NULL;
	char *mvalue = NULL;
	size_t msg_len, pt_len, mcap;
	unsigned k = 0, n = 0;
	struct dmp_message_view view;
	int64_t now = 1893456000;

	if (size < 6) {
		return 0;
	}
	memset(&m, 0, sizeof(m));
	memset(&got, 0, sizeof(got));
	m.prekey_id = dmp_load_u32(data + 1);
	if (data[0] == 0) {
		k = (unsigned)(data[5] % 8) + 1;
		n = (unsigned)((size - 6) / DMP_CHUNK_WIRE_BYTES);
		if (n < k || n > DMP_ERASURE_MAX_N) {
			return 0;
		}
		for (unsigned i = 0; i < n; i++) {
			values[i] = wire_value(data + 6 + (size_t)i * 168,
					       hashes + (size_t)i * 32);
		}
		memset(m.msg_id, 0x5a, 16);
	} else {
		const uint8_t *mdata = data + 5;
		size_t mlen = size - 5;

		if (dmp_erasure_params(mlen, &k, &n) != 0) {
			return 0;
		}
		shares = malloc((size_t)n * 128);
		if (!shares || dmp_erasure_pack(mdata, mlen, shares,
						(size_t)n * 128, &k, &n) != 0) {
			abort();
		}
		for (unsigned i = 0; i < n; i++) {
			uint8_t wire[DMP_CHUNK_WIRE_BYTES];

			dmp_chunk_wrap(c->rs, shares + (size_t)i * 128, wire);
			values[i] = wire_value(wire, hashes + (size_t)i * 32);
		}
		/* Commit to the inner header's ids so open() gets past 9. */
		if (dmp_message_parse(&view, mdata, mlen) == 0) {
			memcpy(m.msg_id, view.hdr.msg_id, 16);
		}
	}
	memcpy(m.sender_spk, c->alice_pk, 32);
	memcpy(m.recipient_id, dmp_keys_user_id(c->bob), 32);
	m.total_chunks = n;
	m.data_chunks = k;
	m.ts = (uint64_t)now;
	m.exp = (uint64_t)now + 300;
	m.has_hashes = 1;
	m.chunk_hashes = hashes;
	mcap = DMP_MANIFEST_WIRE_LEN(n) + 1;
	mvalue = malloc(mcap);
	if (!mvalue ||
	    dmp_manifest_sign_encode(mvalue, mcap, &m, c->alice_sk) < 0) {
		abort();
	}
	if (dmp_pipeline_accept_manifest(&got, mvalue, strlen(mvalue),
					 dmp_keys_user_id(c->bob), now) != 0) {
		abort(); /* our own well-formed manifest must be accepted */
	}
	for (unsigned i = 0; i < n; i++) {
		lens[i] = DMP_CHUNK_TXT_LEN;
		cv[i].values = (const char *const *)&values[i];
		cv[i].lens = &lens[i];
		cv[i].count = 1;
	}
	if (dmp_pipeline_assemble(c->codec, &got, cv, &msg, &msg_len, NULL) ==
	    0) {
		if (data[0] != 0 &&
		    (msg_len != size - 5 || memcmp(msg, data + 5, msg_len))) {
			abort(); /* valid chunks must give back the message */
		}
		/* Seeds decrypt; mutants must fail cleanly. */
		if (dmp_pipeline_open(&got, msg, msg_len, c->bob, prekey_sk,
				      now, &pt, &pt_len) == 0 &&
		    !pt) {
			abort();
		}
	} else if (data[0] != 0) {
		abort(); /* every chunk was valid: assembly cannot fail */
	}
	dmp_free(pt);
	dmp_free(msg);
	dmp_manifest_clear(&got);
	free(mvalue);
	free(shares);
	for (unsigned i = 0; i < n; i++) {
		free(values[i]);
	}
	return 0;
}
