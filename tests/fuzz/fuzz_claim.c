/*
 * tests/fuzz/fuzz_claim.c - claim record parser.
 *
 * Byte 0 picks the mode. Mode 0: the rest is a TXT value. Mode 1: the rest
 * is a body; the harness puts its key at the sender_spk offset, signs and
 * parses, reaching the body and time checks. Accepted claims must satisfy
 * every 2.5/6.2 rule, rebuild the signed body exactly and (mode 1) re-sign
 * to the same value.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/record.h"

#define NOW 1893456000ULL
#define SPK_OFF 23

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[32], sk[64];
	static int keyed;
	struct dmp_claim c;
	uint8_t body[400], blob[400], re[DMP_CLAIM_BODY_MAX];
	char value[800], again[800];
	const char *v;
	size_t vlen, blob_len;
	int len, mode1 = 0;

	if (!keyed) {
		static const uint8_t xsk[32] = {44};

		dmp_ed25519_from_x25519(pk, sk, xsk);
		keyed = 1;
	}
	if (size < 1) {
		return 0;
	}
	if (data[0] & 1) {
		size_t bl = size - 1;

		if (bl > sizeof(body)) {
			return 0;
		}
		memcpy(body, data + 1, bl);
		if (bl >= SPK_OFF + 32) {
			memcpy(body + SPK_OFF, pk, 32);
		}
		len = dmp_record_sign_encode(value, sizeof(value),
					     DMP_PREFIX_CLAIM, body, bl, sk, 0);
		if (len < 0) {
			return 0;
		}
		v = value;
		vlen = (size_t)len;
		mode1 = 1;
	} else {
		v = (const char *)data + 1;
		vlen = size - 1;
	}
	if (dmp_claim_parse_verify(&c, v, vlen, NOW) != 0) {
		return 0;
	}
	if (vlen > 255 || c.domain_len < 1 || c.domain_len > 43 ||
	    strlen(c.sender_mailbox_domain) != c.domain_len || c.slot > 9 ||
	    c.exp <= c.ts || c.exp <= NOW || c.exp - NOW > DMP_30_DAYS ||
	    (c.ts > NOW && c.ts - NOW > 300)) {
		abort();
	}
	for (size_t i = 0; i < c.domain_len; i++) {
		unsigned char ch = (unsigned char)c.sender_mailbox_domain[i];

		if (ch <= 0x20 || ch == 0x7f) {
			abort();
		}
	}
	len = dmp_claim_body(re, sizeof(re), &c);
	if (dmp_record_decode(blob, sizeof(blob), &blob_len, v, vlen,
			      DMP_PREFIX_CLAIM, 0, 0) != 0 ||
	    len < 0 || (size_t)len + 64 != blob_len ||
	    memcmp(re, blob, (size_t)len)) {
		abort();
	}
	if (mode1 &&
	    (dmp_claim_sign_encode(again, sizeof(again), &c, sk) != (int)vlen ||
	     memcmp(again, v, vlen) != 0)) {
		abort();
	}
	return 0;
}
