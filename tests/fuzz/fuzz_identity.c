/*
 * tests/fuzz/fuzz_identity.c - identity record parser.
 *
 * Byte 0 picks the mode. Mode 0: the rest is a TXT value. Mode 1: the rest
 * is a body; the harness writes its own key where the body's ed25519_spk
 * sits, signs it and parses the value, so the strict body parser is reached
 * past the signature. Properties of every accepted record: invariants of
 * the struct hold, the body rebuilt from it equals the signed body (except
 * the accepted-but-never-emitted "01 01" suffix), and in mode 1 re-signing
 * gives back the exact value.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/text.h"
#include "dmp/crypto.h"
#include "dmp/identity.h"
#include "dmp/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct dmp_identity_record *r, const uint8_t *body,
		  size_t body_len)
{
	uint8_t re[DMP_IDENTITY_BODY_MAX];
	int n;

	if (r->username_len < 1 || r->username_len > 64 ||
	    strlen(r->username) != r->username_len ||
	    !dmp_utf8_valid((const uint8_t *)r->username, r->username_len) ||
	    r->n_versions < 1 || r->n_versions > 255) {
		abort();
	}
	for (size_t i = 1; i < r->n_versions; i++) {
		if (r->versions[i] <= r->versions[i - 1]) {
			abort();
		}
	}
	n = dmp_identity_body(re, sizeof(re), r);
	if (n < 0) {
		abort();
	}
	if ((size_t)n == body_len && memcmp(re, body, body_len) == 0) {
		return;
	}
	/* The one legal difference: a "01 01" suffix the encoder omits. */
	if ((size_t)n + 2 == body_len && memcmp(re, body, (size_t)n) == 0 &&
	    body[n] == 1 && body[n + 1] == 1) {
		return;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[32], sk[64];
	static int keyed;
	struct dmp_identity_record r;
	uint8_t blob[1024], body[1024];
	char value[2048], again[2048];
	size_t blob_len, body_len;
	int len;

	if (!keyed) {
		static const uint8_t xsk[32] = {42};

		dmp_ed25519_from_x25519(pk, sk, xsk);
		keyed = 1;
	}
	if (size < 1) {
		return 0;
	}
	if (data[0] & 1) {
		body_len = size - 1;
		if (body_len > DMP_IDENTITY_BODY_MAX + 8) {
			return 0;
		}
		memcpy(body, data + 1, body_len);
		if (body_len >= 1 && (size_t)body[0] + 65 <= body_len) {
			memcpy(body + 1 + body[0] + 32, pk, 32);
		}
		len = dmp_record_sign_encode(value, sizeof(value),
					     DMP_PREFIX_IDENTITY, body,
					     body_len, sk, 0);
		if (len < 0) {
			return 0;
		}
		if (dmp_identity_parse_verify(&r, value, (size_t)len, NULL,
					      0) != 0) {
			return 0;
		}
		check(&r, body, body_len);
		if (body_len ==
			(size_t)dmp_identity_body(blob, sizeof(blob), &r) &&
		    (dmp_identity_sign_encode(again, sizeof(again), &r, sk) !=
			 len ||
		     memcmp(again, value, (size_t)len) != 0)) {
			abort();
		}
		return 0;
	}
	if (dmp_identity_parse_verify(&r, (const char *)data + 1, size - 1,
				      NULL, 0) != 0) {
		return 0;
	}
	if (dmp_record_decode(blob, sizeof(blob), &blob_len,
			      (const char *)data + 1, size - 1,
			      DMP_PREFIX_IDENTITY, 0, 64) != 0) {
		abort();
	}
	check(&r, blob, blob_len - 64);
	/* The record's own username always passes the anchored check. */
	{
		char user[DMP_IDENTITY_USERNAME_MAX + 1];
		size_t ulen = r.username_len;

		memcpy(user, r.username, ulen + 1);
		if (dmp_identity_parse_verify(&r, (const char *)data + 1,
					      size - 1, user, ulen) != 0) {
			abort();
		}
	}
	return 0;
}
