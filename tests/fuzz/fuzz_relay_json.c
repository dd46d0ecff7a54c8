/*
 * tests/fuzz/fuzz_relay_json.c - the body of POST /v1/relay
 * (docs/protocol.md 8.7.2): each input is parsed as a DMP-RELAY/1 bundle
 * under the smallest and the default value-bytes limit. Properties: a
 * parsed bundle keeps every bound (records, bytes, hops, path); it writes
 * back to JSON, which reads back to the same id and fields (or is refused
 * as too big, when escapes made it longer); the hop checks, the id check
 * and the verification of every record (at a fixed time, so the seeds'
 * real message verifies) run to an answer without crashing; a failed
 * parse leaves nothing to free and a reason.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/relay.h"

#define NOW 1893456000ULL /* the seeds' time (test_relay_bundle.c) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bounds(const struct dmp_relay_bundle *b, size_t max_bytes)
{
	size_t sum = 0;

	if (b->n_records < 1 || b->n_records > DMP_RELAY_RECORDS_MAX ||
	    b->hops > DMP_RELAY_HOPS_MAX || b->max_hops < 1 ||
	    b->max_hops > DMP_RELAY_HOPS_MAX ||
	    b->budget > DMP_RELAY_HOPS_MAX || b->n_path > DMP_RELAY_HOPS_MAX ||
	    (b->mode == DMP_RELAY_MODE_PATH && b->budget) ||
	    strlen(b->id) != DMP_RELAY_ID_CHARS || !b->zone[0]) {
		abort();
	}
	for (size_t i = 0; i < b->n_path; i++) {
		if (strlen(b->path[i]) != DMP_RELAY_FP_CHARS) {
			abort();
		}
	}
	for (size_t i = 0; i < b->n_records; i++) {
		if (b->records[i].value[b->records[i].vlen] != 0 ||
		    !b->records[i].name[0]) {
			abort();
		}
		sum += b->records[i].vlen;
	}
	if (sum > max_bytes) {
		abort();
	}
}

static void round_trip(const struct dmp_relay_bundle *b, size_t max_bytes)
{
	struct dmp_relay_bundle c;
	char id[DMP_RELAY_ID_CHARS + 1], why[DMP_RELAY_WHY_MAX];
	char *js = NULL;
	size_t len = 0;
	int rc;

	if (dmp_relay_bundle_to_json(b, &js, &len) != 0 ||
	    dmp_relay_bundle_id(b, id) != 0) {
		abort();
	}
	rc = dmp_relay_bundle_parse_json(&c, js, len, max_bytes, why,
					 sizeof(why));
	if (rc == 0) {
		if (strcmp(c.id, id) != 0 || c.n_records != b->n_records ||
		    c.hops != b->hops || c.max_hops != b->max_hops ||
		    c.budget != b->budget || c.mode != b->mode ||
		    c.n_path != b->n_path || strcmp(c.zone, b->zone) != 0) {
			abort();
		}
		for (size_t i = 0; i < c.n_records; i++) {
			if (c.records[i].ttl != b->records[i].ttl ||
			    c.records[i].vlen != b->records[i].vlen ||
			    memcmp(c.records[i].value, b->records[i].value,
				   c.records[i].vlen) != 0) {
				abort();
			}
		}
		dmp_relay_bundle_clear(&c);
	} else if (rc != DMP_ETOOBIG) {
		abort();
	}
	dmp_free(js);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {DMP_RELAY_BYTES_MIN,
					DMP_RELAY_BYTES_DEFAULT};
	const char *s = (const char *)data;
	char why[DMP_RELAY_WHY_MAX];

	for (size_t l = 0; l < DMP_ARRAY_LEN(limits); l++) {
		struct dmp_relay_bundle b;
		int rc = dmp_relay_bundle_parse_json(&b, s, size, limits[l],
						     why, sizeof(why));

		if (rc < 0) {
			if (b.records || b.n_records ||
			    (!why[0] && rc != DMP_ENOMEM)) {
				abort();
			}
			continue;
		}
		bounds(&b, limits[l]);
		round_trip(&b, limits[l]);
		/* Passed hop checks mean a well-formed copy within 5. */
		if (dmp_relay_hops_check(&b, 5, "0123456789abcdef", why,
					 sizeof(why)) == 0 &&
		    (b.hops != b.n_path || b.hops > 5)) {
			abort();
		}
		rc = dmp_relay_bundle_check_id(&b, why, sizeof(why));
		if (rc != 0 && rc != DMP_EMISMATCH && rc != DMP_ENOMEM) {
			abort();
		}
		rc = dmp_relay_bundle_verify(&b, NOW, why, sizeof(why));
		if (rc < 0 && rc != DMP_ENOMEM && !why[0]) {
			abort();
		}
		dmp_relay_bundle_clear(&b);
	}
	return 0;
}
