/*
 * tests/fuzz/fuzz_links.c - the relay link record (docs/protocol.md
 * 8.7.4): the TXT parser and the strict body parser. A refusal names one
 * cause and a success none; a body that parses re-encodes to a body that
 * parses to the same fields, and signs (with a known key, at a fresh
 * time) to a value that parses to exactly what was published; the
 * loopback opt-in only ever widens.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/links.h"
#include "dmp/record.h"
#include "fuzz_keys.h"
#include "wire/links_i.h"

#define NOW 1893456000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];

/* The vector operator key (tests/unit/test_links.c signs with it too). */
#define SEED_HEX                                                               \
	"5c9a2825cf12d4e42699637cf3a12b63be4e1b7a17f9e67ebb93bbc6261c3032"

static void check_why(int rc, enum dmp_links_why why)
{
	if ((unsigned)why >= DMP_LINKS_WHY_MAX ||
	    (rc == 0) != (why == DMP_LINKS_OK)) {
		abort();
	}
}

static void check_body(const uint8_t *data, size_t size, unsigned flags)
{
	struct dmp_links l, l2, pub, got;
	uint8_t enc[DMP_LINKS_BODY_MAX];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	enum dmp_links_why why;
	int n, rc;

	rc = dmp_links_body_parse(&l, data, size, flags, &why);
	check_why(rc, why);
	if (rc != 0) {
		if (rc != DMP_EMALFORMED) {
			abort();
		}
		return;
	}
	if (l.exp <= l.ts || l.exp - l.ts > DMP_LINKS_LIFETIME_MAX ||
	    l.n_zones > DMP_LINKS_ZONES_MAX ||
	    l.n_peers > DMP_LINKS_PEERS_MAX) {
		abort();
	}
	n = dmp_links_body_encode(enc, sizeof(enc), &l, flags);
	if (n < 0 || (size_t)n != size ||
	    dmp_links_body_parse(&l2, enc, (size_t)n, flags, NULL) != 0 ||
	    memcmp(&l, &l2, sizeof(l)) != 0) {
		abort();
	}
	/* The full path with the known key at a fresh time. */
	memcpy(l.node_spk, pk, 32);
	l.ts = NOW;
	l.exp = NOW + 90;
	rc = dmp_links_sign(wire, sizeof(wire), &l, sk, flags, &pub);
	if (rc == DMP_EINVAL) {
		return; /* a peer that is now the signer itself */
	}
	if (rc < 0 || rc > DMP_RECORD_WIRE_MAX ||
	    dmp_links_parse(&got, wire, (size_t)rc, NOW, flags, NULL) != 0 ||
	    memcmp(&got, &pub, sizeof(got)) != 0 || pub.n_zones > l.n_zones ||
	    pub.n_peers > l.n_peers) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_links l, l2;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	enum dmp_links_why why;
	int rc;

	fuzz_key_once(pk, sk, SEED_HEX);
	rc = dmp_links_parse(&l, (const char *)data, size, NOW,
			     DMP_HEARTBEAT_STRICT, &why);
	check_why(rc, why);
	if (rc == 0) {
		if (dmp_links_parse(&l2, (const char *)data, size, NOW,
				    DMP_HEARTBEAT_ALLOW_LOOPBACK, NULL) != 0) {
			abort(); /* the opt-in only ever widens */
		}
		if (memcmp(l.node_spk, pk, 32) == 0) {
			/* What parsed fits, so it re-signs whole. */
			struct dmp_links pub;

			rc = dmp_links_sign(wire, sizeof(wire), &l, sk,
					    DMP_HEARTBEAT_STRICT, &pub);
			if (rc < 0 || memcmp(&pub, &l, sizeof(l)) != 0 ||
			    dmp_links_parse(&l2, wire, (size_t)rc, NOW,
					    DMP_HEARTBEAT_STRICT, NULL) != 0 ||
			    memcmp(&l, &l2, sizeof(l)) != 0) {
				abort();
			}
		}
	}
	check_body(data, size, DMP_HEARTBEAT_STRICT);
	check_body(data, size, DMP_HEARTBEAT_ALLOW_LOOPBACK);
	return 0;
}
