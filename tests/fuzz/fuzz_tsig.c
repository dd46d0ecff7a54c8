/*
 * tests/fuzz/fuzz_tsig.c - the TSIG module (core/src/dns/tsig.c).
 * 1. Any bytes as a message: finding and verifying its TSIG never crash,
 *    the verdict is one of the documented ones, and a reply signed to it
 *    verifies with its MAC.
 * 2. The bytes as signing parameters (ID, flags, time, fudge, secret, key
 *    name): sign -> find -> verify round-trips at the signing time, gives
 *    BADTIME past the fudge and BADSIG under another secret; a sign-next
 *    message parses back with a full MAC.
 * Seeds: signed UPDATEs of tests/vectors/dns_update.json (time 2030).
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dns/tsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1893456000ULL /* the dns_update.json vectors' time */

static const uint8_t secret[32] = {
    0xca, 0x29, 0x4c, 0x0e, 0xa7, 0xbf, 0xc8, 0x6b, 0x5b, 0xb5, 0xf6,
    0xa2, 0xb3, 0x78, 0xf7, 0xf5, 0xad, 0x27, 0xbb, 0x3d, 0x58, 0xd3,
    0xc0, 0xfe, 0x4f, 0x3c, 0xd2, 0xb9, 0x2e, 0x20, 0xc0, 0x87,
};

static int verdict_ok(int v)
{
	return v == 0 || v == DMP_DNS_RCODE_BADSIG ||
	       v == DMP_DNS_RCODE_BADTRUNC || v == DMP_DNS_RCODE_BADTIME ||
	       v == DMP_EMALFORMED;
}

static void as_message(const uint8_t *data, size_t size)
{
	struct dmp_tsig_rr ts, rts;
	uint8_t buf[1024], mac[DMP_TSIG_MAC_BYTES];
	struct dmp_wbuf w;

	if (dmp_tsig_find(data, size, &ts) != 1) {
		return;
	}
	if (ts.start < DMP_DNS_HDR_LEN || ts.start >= size ||
	    (ts.mac_len &&
	     (ts.mac < data || ts.mac + ts.mac_len > data + size))) {
		abort();
	}
	if (!verdict_ok(dmp_tsig_verify(data, &ts, secret, 32, NULL, 0, NOW)) ||
	    !verdict_ok(
		dmp_tsig_verify(data, &ts, secret, 32, secret, 32, NOW))) {
		abort();
	}
	if (!dmp_tsig_alg_ok(&ts)) {
		return; /* we sign replies to hmac-sha256 requests only */
	}
	/* A reply: header with no sections, then our TSIG. */
	dmp_wbuf_init(&w, buf, sizeof(buf));
	dmp_wbuf_put(&w, data, 4);
	dmp_wbuf_put(&w, "\0\0\0\0\0\0\0\0", 8);
	if (dmp_tsig_sign_reply(&w, &ts, secret, 32, 0, NOW, mac) != 0) {
		abort(); /* 1024 bytes always hold it */
	}
	if (dmp_tsig_find(buf, w.len, &rts) != 1 ||
	    memcmp(rts.mac, mac, sizeof(mac)) != 0 ||
	    dmp_tsig_verify(buf, &rts, secret, 32, ts.mac, ts.mac_len, NOW) !=
		0) {
		abort();
	}
}

static void as_params(const uint8_t *data, size_t size)
{
	uint8_t key[DMP_DNS_NAME_WIRE_MAX], sec[64], buf[1024], prior[32];
	char text[300];
	struct dmp_tsig_sign_args a = {0};
	struct dmp_dnswire_ctab ct = {0};
	struct dmp_tsig_rr ts;
	struct dmp_wbuf w;
	size_t kl, sl, tl;
	int v;

	if (size < 13) {
		return;
	}
	sl = 1 + data[12] % 64;
	if (size < 13 + sl) {
		return;
	}
	memcpy(sec, data + 13, sl);
	tl = size - 13 - sl < sizeof(text) - 1 ? size - 13 - sl
					       : sizeof(text) - 1;
	memcpy(text, data + 13 + sl, tl);
	text[tl] = 0;
	if (dmp_dnswire_from_text(text, key, &kl) != 0) {
		static const uint8_t k[] = "\x01k\x04mesh\x04test";

		memcpy(key, k, sizeof(k));
	}
	a.key = key;
	a.secret = sec;
	a.secret_len = sl;
	a.time_signed = (uint64_t)data[4] << 40 | (uint64_t)data[5] << 32 |
			dmp_load_u32(data + 6);
	a.fudge = (uint16_t)(data[10] << 8 | data[11]);
	dmp_wbuf_init(&w, buf, sizeof(buf));
	dmp_wbuf_put(&w, data, 4); /* ID, flags */
	dmp_wbuf_u16(&w, data[3] & 1);
	dmp_wbuf_put(&w, "\0\0\0\0\0\0", 6);
	if (data[3] & 1) {
		/* A question, so the key's owner may be compressed. */
		dmp_dnswire_put_name(&w, &ct,
				     (const uint8_t *)"\x04mesh\x04test");
		dmp_wbuf_u16(&w, 252);
		dmp_wbuf_u16(&w, 1);
	}
	if (dmp_tsig_sign(&w, (data[3] & 2) ? &ct : NULL, &a, prior) != 0 ||
	    dmp_tsig_find(buf, w.len, &ts) != 1 ||
	    !dmp_dnswire_name_eq(ts.key, key) || ts.fudge != a.fudge ||
	    ts.time_signed != a.time_signed) {
		abort();
	}
	if (dmp_tsig_verify(buf, &ts, sec, sl, NULL, 0, a.time_signed) != 0) {
		abort();
	}
	if (a.time_signed + a.fudge + 1 < (1ULL << 48) &&
	    dmp_tsig_verify(buf, &ts, sec, sl, NULL, 0,
			    a.time_signed + a.fudge + 1) !=
		DMP_DNS_RCODE_BADTIME) {
		abort();
	}
	sec[0] ^= 1;
	v = dmp_tsig_verify(buf, &ts, sec, sl, NULL, 0, a.time_signed);
	if (v != DMP_DNS_RCODE_BADSIG) {
		abort();
	}
	/* The next message of a multi-message answer. */
	dmp_wbuf_init(&w, buf, sizeof(buf));
	dmp_wbuf_put(&w, data, 4);
	dmp_wbuf_put(&w, "\0\0\0\0\0\0\0\0", 8);
	if (dmp_tsig_sign_next(&w, key, sec, sl, prior, a.time_signed,
			       a.fudge) != 0 ||
	    dmp_tsig_find(buf, w.len, &ts) != 1 ||
	    ts.mac_len != DMP_TSIG_MAC_BYTES ||
	    memcmp(ts.mac, prior, sizeof(prior)) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_message(data, size);
	as_params(data, size);
	return 0;
}
