/*
 * tests/fuzz/fuzz_heartbeat.c - heartbeat (PROTOCOL.md 2.8): the TXT
 * parser, the strict body parser (DMPHB03 and DMPHB02) and the endpoint
 * policy. A body that parses must re-encode as DMPHB03 to the same
 * fields, and pass the full signed path with a known key; an endpoint
 * accepted strictly must also pass with the loopback opt-in.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/record.h"
#include "wire/heartbeat_i.h"

#define NOW 1893456000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];

static void init_key(void)
{
	static int done;
	uint8_t seed[32];

	if (done) {
		return;
	}
	if (dmp_init() != 0 ||
	    dmp_hex_decode(seed, 32,
			   "5c9a2825cf12d4e42699637cf3a12b63be4e1b7a17f9e67ebb9"
			   "3bbc6261c3032",
			   64) != 0) {
		abort();
	}
	dmp_ed25519_from_x25519(pk, sk, seed);
	done = 1;
}

static void check_body(const uint8_t *data, size_t size, unsigned flags)
{
	struct dmp_heartbeat h, h2, h3;
	uint8_t enc[DMP_HEARTBEAT_BODY_MAX];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int n, rc;

	rc = dmp_heartbeat_body_parse(&h, data, size, flags);
	if (rc != 0) {
		if (rc != DMP_EMALFORMED) {
			abort();
		}
		return;
	}
	if (h.exp <= h.ts || dmp_heartbeat_endpoint_check(
				 h.endpoint, strlen(h.endpoint), flags) != 0) {
		abort();
	}
	if (h.ts >= UINT64_C(1) << 63 || h.exp >= UINT64_C(1) << 63) {
		return; /* parse takes them, sign refuses them (as upstream) */
	}
	n = dmp_heartbeat_body_encode(enc, sizeof(enc), &h, flags);
	if (n < 0) {
		abort();
	}
	if (!h.legacy && ((size_t)n != size || memcmp(enc, data, size) != 0)) {
		abort();
	}
	if (h.legacy && (size_t)n != size + 1) {
		abort();
	}
	if (dmp_heartbeat_body_parse(&h2, enc, (size_t)n, flags) != 0) {
		abort();
	}
	h2.legacy = h.legacy;
	if (memcmp(&h, &h2, sizeof(h)) != 0) {
		abort();
	}
	/* The full path: sign with the known key at a fresh time. */
	memcpy(h.operator_spk, pk, 32);
	h.ts = NOW;
	h.exp = NOW + DMP_HEARTBEAT_LIFETIME;
	h.legacy = 0;
	rc = dmp_heartbeat_sign(wire, sizeof(wire), &h, sk, flags);
	if (rc == DMP_ETOOBIG) {
		return;
	}
	if (rc < 0 ||
	    dmp_heartbeat_parse(&h3, wire, (size_t)rc, NOW, flags) != 0 ||
	    memcmp(&h, &h3, sizeof(h)) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_heartbeat h, h2;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int rc;

	init_key();
	rc = dmp_heartbeat_parse(&h, (const char *)data, size, NOW,
				 DMP_HEARTBEAT_STRICT);
	if (rc == 0 && memcmp(h.operator_spk, pk, 32) == 0) {
		rc = dmp_heartbeat_sign(wire, sizeof(wire), &h, sk,
					DMP_HEARTBEAT_STRICT);
		if (rc < 0 || dmp_heartbeat_parse(&h2, wire, (size_t)rc, NOW,
						  DMP_HEARTBEAT_STRICT) != 0) {
			abort();
		}
		h2.legacy = h.legacy;
		if (memcmp(&h, &h2, sizeof(h)) != 0) {
			abort();
		}
	}
	rc = dmp_heartbeat_parse(&h, (const char *)data, size, NOW,
				 DMP_HEARTBEAT_STRICT);
	if (rc == 0 && dmp_heartbeat_parse(&h2, (const char *)data, size, NOW,
					   DMP_HEARTBEAT_ALLOW_LOOPBACK) != 0) {
		abort(); /* the opt-in only ever widens */
	}
	check_body(data, size, DMP_HEARTBEAT_STRICT);
	check_body(data, size, DMP_HEARTBEAT_ALLOW_LOOPBACK);
	if (dmp_heartbeat_endpoint_check((const char *)data, size,
					 DMP_HEARTBEAT_STRICT) == 0 &&
	    dmp_heartbeat_endpoint_check((const char *)data, size,
					 DMP_HEARTBEAT_ALLOW_LOOPBACK) != 0) {
		abort();
	}
	return 0;
}
