/*
 * tests/fuzz/fuzz_erasure.c - the erasure code (PROTOCOL.md 5.1, 5.2).
 *
 * Byte 0 even: arbitrary decode. n = byte1 + 1, k = 1 + byte2 % n,
 *   share_len = 1 + byte3 % 16, count = byte4; then count ids (one byte
 *   each, may be >= n), then share contents. On success the k shares used
 *   (the lowest distinct ids) must be reproduced exactly by re-encoding
 *   the decoded data: interpolation through k points is unique.
 * Byte 0 odd: valid round trip. byte1..2 pick which shares survive, the
 *   rest is the message; pack, drop shares down to k, decode, unpack and
 *   compare.
 * abort() on any violation.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/erasure.h"
#include "dmp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define B DMP_ERASURE_BLOCK

static uint8_t shares[DMP_ERASURE_MAX_N * B];
static uint8_t out[DMP_ERASURE_MAX_N * B];
static uint8_t full[DMP_ERASURE_MAX_N * 16];

static void arbitrary(const uint8_t *data, size_t size)
{
	unsigned n, k, ids[DMP_ERASURE_MAX_N] = {0};
	unsigned lowest[DMP_ERASURE_MAX_N];
	const uint8_t *ptr[DMP_ERASURE_MAX_N] = {0};
	size_t slen, count, off = 5;
	int rc, valid = 1;
	unsigned have = 0;

	if (size < 5) {
		return;
	}
	n = (unsigned)data[1] + 1;
	k = 1 + data[2] % n;
	slen = 1 + data[3] % 16;
	count = data[4];
	if (size < off + count) {
		return;
	}
	for (size_t i = 0; i < count; i++) {
		/* Mostly valid ids, sometimes n or n+1. */
		ids[i] = data[off + i] % (n + 2);
		if (ids[i] >= n) {
			valid = 0;
		}
	}
	off += count;
	memset(shares, 0, count * slen);
	memcpy(shares, data + off,
	       size - off < count * slen ? size - off : count * slen);
	for (size_t i = 0; i < count; i++) {
		ptr[i] = shares + i * slen;
	}
	rc = dmp_erasure_decode(k, n, slen, ptr, ids, count, out);
	if (!valid) {
		if (rc != DMP_EINVAL) {
			abort();
		}
		return;
	}
	/* Which shares should have been used: first occurrence of each of
	 * the k lowest ids. */
	for (unsigned id = 0; id < n && have < k; id++) {
		for (size_t i = 0; i < count; i++) {
			if (ids[i] == id) {
				lowest[have] = (unsigned)i;
				have++;
				break;
			}
		}
	}
	if (have < k) {
		if (rc != DMP_ESHARES) {
			abort();
		}
		return;
	}
	if (rc != 0) {
		abort();
	}
	memcpy(full, out, (size_t)k * slen);
	if (dmp_erasure_encode(k, n, slen, full, full + (size_t)k * slen) !=
	    0) {
		abort();
	}
	for (unsigned j = 0; j < k; j++) {
		unsigned i = lowest[j];

		if (memcmp(full + (size_t)ids[i] * slen, ptr[i], slen) != 0) {
			abort();
		}
	}
}

static void roundtrip(const uint8_t *data, size_t size)
{
	unsigned k, n, ids[DMP_ERASURE_MAX_N], held = 0;
	const uint8_t *ptr[DMP_ERASURE_MAX_N], *msg;
	size_t len;
	uint32_t pick;

	if (size < 3) {
		return;
	}
	pick = (uint32_t)data[1] << 8 | data[2];
	if (dmp_erasure_pack(data + 3, size - 3, shares, sizeof(shares), &k,
			     &n) != 0) {
		if (size - 3 <= DMP_ERASURE_MAX_MSG) {
			abort();
		}
		return;
	}
	/* Keep k shares, chosen by walking from a start point with a
	 * stride coprime-ish to n; fall back to a plain sweep. */
	for (unsigned i = 0; i < n && held < k; i++) {
		unsigned id = (pick + i * (1 + (pick >> 8) % n)) % n;
		int dup = 0;

		for (unsigned j = 0; j < held; j++) {
			dup |= ids[j] == id;
		}
		if (!dup) {
			ids[held] = id;
			ptr[held++] = shares + (size_t)id * B;
		}
	}
	for (unsigned id = 0; id < n && held < k; id++) {
		int dup = 0;

		for (unsigned j = 0; j < held; j++) {
			dup |= ids[j] == id;
		}
		if (!dup) {
			ids[held] = id;
			ptr[held++] = shares + (size_t)id * B;
		}
	}
	if (held != k ||
	    dmp_erasure_decode(k, n, B, ptr, ids, held, out) != 0 ||
	    dmp_erasure_unpack(out, k, &msg, &len) != 0 || len != size - 3 ||
	    memcmp(msg, data + 3, len) != 0) {
		abort();
	}
	/* One share fewer must fail cleanly. */
	if (dmp_erasure_decode(k, n, B, ptr, ids, held - 1, out) !=
	    DMP_ESHARES) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	if (data[0] & 1) {
		roundtrip(data, size);
	} else {
		arbitrary(data, size);
	}
	return 0;
}
