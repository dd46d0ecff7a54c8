/*
 * tests/fuzz/fuzz_bootstrap.c - bootstrap record (PROTOCOL.md 2.7).
 *
 * Each input is tried as a TXT value and as a raw signed body. A body
 * that parses has its entries sorted, must re-encode and re-parse to the
 * same record, and must pass the full signed path with the known key.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/bootstrap.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "fuzz_keys.h"
#include "wire/bootstrap_i.h"

#define NOW 1900000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];

/* The vector operator key. */
#define SEED_HEX                                                               \
	"e04dce4d5bab48891ee2b5d1ac6ef71089d5038d91d9ac9e6d9887c7e4103130"

static void check_body(const uint8_t *data, size_t size)
{
	static struct dmp_bootstrap b, b2, b3;
	uint8_t enc[DMP_BOOTSTRAP_BODY_MAX];
	char wire[4096];
	int n, rc;

	rc = dmp_bootstrap_body_parse(&b, data, size);
	if (rc != 0) {
		if (rc != DMP_EMALFORMED && rc != DMP_EBADNAME) {
			abort();
		}
		return;
	}
	if (b.entry_count < 1 || b.entry_count > DMP_BOOTSTRAP_MAX_ENTRIES) {
		abort();
	}
	for (size_t i = 1; i < b.entry_count; i++) {
		if (b.entries[i - 1].priority > b.entries[i].priority) {
			abort();
		}
	}
	n = dmp_bootstrap_body_encode(enc, sizeof(enc), &b);
	if (n < 0) {
		if (n == DMP_ETOOBIG && size > sizeof(enc) - 1) {
			return;
		}
		abort();
	}
	/* Names only lose trailing dots: never longer than the input. */
	if ((size_t)n > size) {
		abort();
	}
	if (dmp_bootstrap_body_parse(&b2, enc, (size_t)n) != 0 ||
	    memcmp(&b, &b2, sizeof(b)) != 0) {
		abort();
	}
	memcpy(b.signer_spk, pk, 32);
	b.exp = NOW + 1;
	rc = dmp_bootstrap_sign(wire, sizeof(wire), &b, sk);
	if (rc == DMP_ETOOBIG) {
		return;
	}
	if (rc < 0 ||
	    dmp_bootstrap_parse(&b3, wire, (size_t)rc, pk, b.user_domain,
				strlen(b.user_domain), NOW) != 0 ||
	    memcmp(&b, &b3, sizeof(b)) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmp_bootstrap b, b2;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int rc;

	fuzz_key_once(pk, sk, SEED_HEX);
	rc = dmp_bootstrap_parse(&b, (const char *)data, size, pk,
				 "example.com", 11, NOW);
	if (rc == 0) {
		rc = dmp_bootstrap_sign(wire, sizeof(wire), &b, sk);
		if (rc < 0 ||
		    dmp_bootstrap_parse(&b2, wire, (size_t)rc, pk,
					b.user_domain, strlen(b.user_domain),
					NOW) != 0 ||
		    memcmp(&b, &b2, sizeof(b)) != 0) {
			abort();
		}
	}
	check_body(data, size);
	return 0;
}
