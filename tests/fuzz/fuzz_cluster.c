/*
 * tests/fuzz/fuzz_cluster.c - cluster manifest (PROTOCOL.md 2.6).
 *
 * Each input is tried as a TXT value (against the vector operator key)
 * and as a raw signed body, so the strict body parser is fuzzed even
 * though random bytes never carry a valid signature. A body that parses
 * must re-encode, re-parse to the same manifest, and survive the full
 * signed path once signed with the known key.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/cluster.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "fuzz_keys.h"
#include "wire/cluster_i.h"

#define NOW 1900000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];

/* The vector operator key. */
#define SEED_HEX                                                               \
	"d373740143cc05dbf6a52d29cd418d44a21b5cada8db6a1eba2cdcaa2d10a9ac"

static void check_body(const uint8_t *data, size_t size)
{
	static struct dmp_cluster c, c2, c3;
	uint8_t enc[DMP_CLUSTER_BODY_MAX];
	char wire[4096];
	int n, rc;

	rc = dmp_cluster_body_parse(&c, data, size);
	if (rc != 0) {
		if (rc != DMP_EMALFORMED && rc != DMP_EBADNAME) {
			abort();
		}
		return;
	}
	if (c.node_count < 1 || c.node_count > DMP_CLUSTER_MAX_NODES ||
	    dmp_dnsname_normalize(NULL, 0, c.name, strlen(c.name)) < 0) {
		abort();
	}
	n = dmp_cluster_body_encode(enc, sizeof(enc), &c);
	if (n < 0) {
		if (n == DMP_ETOOBIG && size > sizeof(enc) - 1) {
			return;
		}
		abort();
	}
	/* Identical unless a trailing dot on the name was dropped. */
	if (!((size_t)n == size && memcmp(enc, data, size) == 0) &&
	    !((size_t)n + 1 == size && data[55] == enc[55] + 1 &&
	      data[56 + enc[55]] == '.')) {
		abort();
	}
	if (dmp_cluster_body_parse(&c2, enc, (size_t)n) != 0 ||
	    memcmp(&c, &c2, sizeof(c)) != 0) {
		abort();
	}
	/* Through the whole signed path, with its name and time checks. */
	memcpy(c.operator_spk, pk, 32);
	c.exp = NOW;
	rc = dmp_cluster_sign(wire, sizeof(wire), &c, sk);
	if (rc == DMP_ETOOBIG) {
		return;
	}
	if (rc < 0 ||
	    dmp_cluster_parse(&c3, wire, (size_t)rc, pk, c.name, strlen(c.name),
			      NOW) != 0 ||
	    memcmp(&c, &c3, sizeof(c)) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmp_cluster c, c2;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int rc;

	fuzz_key_once(pk, sk, SEED_HEX);
	rc = dmp_cluster_parse(&c, (const char *)data, size, pk,
			       "mesh.example.com", 16, NOW);
	if (rc == 0) {
		/* Only a genuine operator wire gets here: re-sign it. */
		rc = dmp_cluster_sign(wire, sizeof(wire), &c, sk);
		if (rc < 0 ||
		    dmp_cluster_parse(&c2, wire, (size_t)rc, pk, c.name,
				      strlen(c.name), NOW) != 0 ||
		    memcmp(&c, &c2, sizeof(c)) != 0) {
			abort();
		}
	}
	check_body(data, size);
	return 0;
}
