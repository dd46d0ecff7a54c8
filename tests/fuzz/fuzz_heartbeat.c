/*
 * tests/fuzz/fuzz_heartbeat.c - heartbeat (PROTOCOL.md 2.8): the TXT
 * parser, the strict body parser (DMPHB03 and DMPHB02) and the endpoint
 * policy. A body that parses must re-encode as DMPHB03 to the same
 * fields, and pass the full signed path with a known key; an endpoint
 * accepted strictly must also pass with the loopback opt-in.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/record.h"
#include "fuzz_keys.h"
#include "wire/heartbeat_i.h"

#define NOW 1893456000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];

/* The vector operator key. */
#define SEED_HEX                                                               \
	"5c9a2825cf12d4e42699637cf3a12b63be4e1b7a17f9e67ebb93bbc6261c3032"

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

/* Global unicast that no rule refuses (see heartbeat.h). */
static int public_v6(const uint8_t *b)
{
	unsigned g0 = (unsigned)b[0] << 8 | b[1],
		 g1 = (unsigned)b[2] << 8 | b[3];

	return (g0 & 0xe000) == 0x2000 && !(g0 == 0x2001 && g1 < 0x200) &&
	       !(g0 == 0x2001 && g1 == 0xdb8) && g0 != 0x2002 &&
	       !(g0 == 0x3fff && g1 < 0x1000);
}

static int public_v4(const uint8_t *b)
{
	static const uint32_t nets[][2] = {
	    {0x00000000, 8},  {0x0a000000, 8},	{0x64400000, 10},
	    {0x7f000000, 8},  {0xa9fe0000, 16}, {0xac100000, 12},
	    {0xc0000000, 24}, {0xc0000200, 24}, {0xc0a80000, 16},
	    {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24},
	    {0xe0000000, 3},
	};
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		     (uint32_t)b[2] << 8 | b[3];

	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		if ((a & ~(~UINT32_C(0) >> nets[i][1])) == nets[i][0]) {
			return 0;
		}
	}
	return 1;
}

/*
 * Differential check of the address parsers against inet_pton(3): an
 * address literal we accept must be one libc can parse, and a public one
 * libc parses must be accepted.
 */
static void check_literals(const uint8_t *data, size_t size)
{
	char txt[64], ep[80];
	uint8_t addr[16];
	int ok;

	if (size >= sizeof(txt) || memchr(data, 0, size)) {
		return;
	}
	memcpy(txt, data, size);
	txt[size] = '\0';
	snprintf(ep, sizeof(ep), "http://[%s]", txt);
	ok = dmp_heartbeat_endpoint_check(ep, strlen(ep),
					  DMP_HEARTBEAT_ALLOW_LOOPBACK) == 0;
	if (inet_pton(AF_INET6, txt, addr) == 1) {
		if (public_v6(addr) && !ok) {
			abort();
		}
	} else if (ok) {
		abort();
	}
	if (strchr(txt, ':') || strchr(txt, '/')) {
		return;
	}
	snprintf(ep, sizeof(ep), "http://%s", txt);
	ok = dmp_heartbeat_endpoint_check(ep, strlen(ep),
					  DMP_HEARTBEAT_STRICT) == 0;
	if (inet_pton(AF_INET, txt, addr) == 1 && public_v4(addr) != ok) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_heartbeat h, h2;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int rc;

	fuzz_key_once(pk, sk, SEED_HEX);
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
	check_literals(data, size);
	return 0;
}
