/*
 * tests/fuzz/fuzz_manifest.c - slot manifest parser.
 *
 * Byte 0 picks the mode. Mode 0: the rest is a TXT value. Mode 1: the rest
 * is a body; the harness writes its key at the sender_spk offset, signs and
 * parses, reaching the n/k/length and time checks. Accepted manifests must
 * satisfy 1 <= k <= n <= 1024, the 30-day bound, have hashes exactly when
 * the body is 108 + 32n bytes, rebuild the signed body exactly and (mode 1,
 * with hashes) re-sign to the same value.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/manifest.h"
#include "dmp/record.h"

#define NOW 1893456000ULL
#define SPK_OFF 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[32], sk[64];
	static int keyed;
	struct dmp_manifest m;
	uint8_t *body = NULL, *blob = NULL, *re = NULL;
	char *value = NULL, *again = NULL;
	const char *v;
	size_t vlen, blob_len, cap;
	int len, mode1 = 0;

	if (!keyed) {
		static const uint8_t xsk[32] = {45};

		dmp_ed25519_from_x25519(pk, sk, xsk);
		keyed = 1;
	}
	if (size < 1 || size > 65536) {
		return 0;
	}
	cap = 2 * size + 256;
	value = malloc(cap);
	if (data[0] & 1) {
		size_t bl = size - 1;

		body = malloc(bl + 64);
		memcpy(body, data + 1, bl);
		if (bl >= SPK_OFF + 32) {
			memcpy(body + SPK_OFF, pk, 32);
		}
		dmp_sign(body + bl, body, bl, sk);
		len = dmp_record_encode(value, cap, DMP_PREFIX_MANIFEST, body,
					bl + 64, 0);
		if (len < 0) {
			abort();
		}
		v = value;
		vlen = (size_t)len;
		mode1 = 1;
	} else {
		v = (const char *)data + 1;
		vlen = size - 1;
	}
	if (dmp_manifest_parse_verify(&m, v, vlen, NOW) != 0) {
		if (m.chunk_hashes || m.total_chunks) {
			abort(); /* failure must leave nothing behind */
		}
		goto out;
	}
	if (m.data_chunks < 1 || m.data_chunks > m.total_chunks ||
	    m.total_chunks > 1024 ||
	    (m.exp > NOW && m.exp - NOW > DMP_30_DAYS) ||
	    (m.has_hashes != (m.chunk_hashes != NULL))) {
		abort();
	}
	blob = malloc(vlen);
	re = malloc(vlen + 64);
	if (dmp_record_decode(blob, vlen, &blob_len, v, vlen,
			      DMP_PREFIX_MANIFEST, 0, 0) != 0) {
		abort();
	}
	len = dmp_manifest_body(re, vlen + 64, &m);
	if (len < 0 || (size_t)len + 64 != blob_len ||
	    memcmp(re, blob, (size_t)len) != 0 ||
	    (size_t)len !=
		108 + (m.has_hashes ? 32 * (size_t)m.total_chunks : 0)) {
		abort();
	}
	if (mode1) {
		again = malloc(cap);
		len = dmp_manifest_sign_encode(again, cap, &m, sk);
		if (m.has_hashes
			? (len != (int)vlen || memcmp(again, v, vlen) != 0)
			: len >= 0) {
			abort();
		}
	}
	dmp_manifest_clear(&m);
out:
	free(body);
	free(blob);
	free(re);
	free(value);
	free(again);
	return 0;
}
