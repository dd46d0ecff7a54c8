/*
 * core/src/node/node_relay_json.c - the body of POST /v1/relay
 * (docs/protocol.md 8.7.2, DMP-RELAY/1): parsed strictly and bounded
 * with the anti-entropy JSON helpers (node_sync_json.c: jansson, the
 * records walker), written back with the id recomputed. Every refusal
 * names the field; nothing here verifies a record (node_relay_bundle.c).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/relay.h"
#include "node/node_relay_i.h"
#include "node/node_sync_i.h"

/* JSON around the values: 64 names with their keys, ttls and quotes, and
 * the fixed members with a full path. */
#define RELAY_JSON_SLACK (DMP_RELAY_RECORDS_MAX * (DMP_NAME_MAX + 64) + 4096)

static const char *const members[] = {
    "v", "id", "zone", "mode", "hops", "max_hops", "budget", "path", "records"};

size_t dmp_relay_body_max(size_t max_bytes)
{
	return max_bytes + RELAY_JSON_SLACK;
}

/* A string member, its length in @p len; NULL when absent or no string. */
static const char *str(const json_t *o, const char *k, size_t *len)
{
	const json_t *v = json_object_get(o, k);

	*len = json_is_string(v) ? json_string_length(v) : 0;
	return json_string_value(v);
}

static int known(const char *key)
{
	for (size_t i = 0; i < DMP_ARRAY_LEN(members); i++) {
		if (strcmp(key, members[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

static int take_zone(struct dmp_relay_bundle *b, const json_t *j, char *why,
		     size_t cap)
{
	size_t len;
	const char *z = str(j, "zone", &len);
	int n;

	if (!z) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "zone: missing or not a string");
	}
	n = dmp_dnsname_normalize(b->zone, sizeof(b->zone), z, len);
	if (n < 0 || (size_t)n != len) {
		b->zone[0] = 0;
		return dmp_nr_say(
		    why, cap, DMP_EMALFORMED,
		    "zone: not a DNS name of at most %d bytes without "
		    "a trailing dot (PROTOCOL.md 3.3)",
		    DMP_RELAY_ZONE_MAX);
	}
	for (size_t i = 0; i < len; i++) {
		if (z[i] >= 'A' && z[i] <= 'Z') {
			return dmp_nr_say(why, cap, DMP_EMALFORMED,
					  "zone: must be lower case");
		}
	}
	return 0;
}

/* hops, max_hops, budget and mode. */
static int take_hops(struct dmp_relay_bundle *b, const json_t *j, char *why,
		     size_t cap)
{
	int64_t hops = dmp_ns_json_int(j, "hops", DMP_RELAY_HOPS_MAX);
	int64_t mh = dmp_ns_json_int(j, "max_hops", DMP_RELAY_HOPS_MAX);
	int64_t bud = dmp_ns_json_int(j, "budget", DMP_RELAY_HOPS_MAX);
	size_t len;
	const char *mode = str(j, "mode", &len);

	if (mode && strcmp(mode, "path") == 0 && len == 4) {
		b->mode = DMP_RELAY_MODE_PATH;
	} else if (mode && strcmp(mode, "flood") == 0 && len == 5) {
		b->mode = DMP_RELAY_MODE_FLOOD;
	} else {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "mode: must be \"path\" or \"flood\"");
	}
	if (hops < 0) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "hops: not an integer in 0..%d",
				  DMP_RELAY_HOPS_MAX);
	}
	if (mh < 1) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "max_hops: not an integer in 1..%d",
				  DMP_RELAY_HOPS_MAX);
	}
	if (bud < 0) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "budget: not an integer in 0..%d",
				  DMP_RELAY_HOPS_MAX);
	}
	if (bud > 0 && b->mode == DMP_RELAY_MODE_PATH) {
		return dmp_nr_say(
		    why, cap, DMP_EMALFORMED,
		    "budget: must be 0 in path mode (it is for flood "
		    "mode only)");
	}
	b->hops = (unsigned)hops;
	b->max_hops = (unsigned)mh;
	b->budget = (unsigned)bud;
	return 0;
}

static int take_path(struct dmp_relay_bundle *b, const json_t *j, char *why,
		     size_t cap)
{
	const json_t *a = json_object_get(j, "path");

	if (!json_is_array(a)) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "path: not an array");
	}
	if (json_array_size(a) > DMP_RELAY_HOPS_MAX) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "path: %zu fingerprints, over the %d allowed",
				  json_array_size(a), DMP_RELAY_HOPS_MAX);
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *v = json_array_get(a, i);

		if (!json_is_string(v) ||
		    !dmp_ns_hex_ok(json_string_value(v), json_string_length(v),
				   DMP_RELAY_FP_CHARS)) {
			return dmp_nr_say(why, cap, DMP_EMALFORMED,
					  "path[%zu]: not a fingerprint of %d "
					  "lower-case hex digits",
					  i, DMP_RELAY_FP_CHARS);
		}
		memcpy(b->path[i], json_string_value(v),
		       DMP_RELAY_FP_CHARS + 1);
	}
	b->n_path = json_array_size(a);
	return 0;
}

/* The walker's records, moved into @p b (the values change owner). */
static int take_records(struct dmp_relay_bundle *b, const json_t *j, char *why,
			size_t cap)
{
	struct ns_pulled *p = NULL;
	size_t n = 0;
	int rc = dmp_ns_records_take(&p, &n, json_object_get(j, "records"),
				     DMP_RELAY_RECORDS_MAX, why, cap);

	if (rc < 0) {
		return rc;
	}
	b->records = dmp_calloc(n ? n : 1, sizeof(*b->records));
	if (!b->records) {
		dmp_ns_pulled_free(p, n);
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct dmp_relay_record *r = &b->records[i];

		memcpy(r->name, p[i].name, sizeof(r->name));
		r->value = p[i].value;
		r->vlen = p[i].vlen;
		r->ttl = (uint32_t)p[i].ttl;
		p[i].value = NULL;
	}
	b->n_records = n;
	dmp_ns_pulled_free(p, n);
	return 0;
}

static int parse(struct dmp_relay_bundle *b, const json_t *j, char *why,
		 size_t cap)
{
	const char *key, *v, *id;
	const json_t *val;
	size_t vl, il;
	int rc;

	if (!json_is_object(j)) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "body: not a JSON object (or not JSON)");
	}
	json_object_foreach((json_t *)j, key, val)
	{
		if (!known(key)) {
			return dmp_nr_say(why, cap, DMP_EMALFORMED,
					  "%.40s: not a member of a %s body",
					  key, DMP_RELAY_VERSION);
		}
	}
	v = str(j, "v", &vl);
	if (!v || vl != strlen(DMP_RELAY_VERSION) ||
	    strcmp(v, DMP_RELAY_VERSION) != 0) {
		return dmp_nr_say(why, cap, DMP_EUNSUPPORTED,
				  "v: this node speaks %s only",
				  DMP_RELAY_VERSION);
	}
	id = str(j, "id", &il);
	if (!dmp_ns_hex_ok(id, il, DMP_RELAY_ID_CHARS)) {
		return dmp_nr_say(why, cap, DMP_EMALFORMED,
				  "id: not %d lower-case hex digits",
				  DMP_RELAY_ID_CHARS);
	}
	memcpy(b->id, id, DMP_RELAY_ID_CHARS + 1);
	rc = take_zone(b, j, why, cap);
	if (rc == 0) {
		rc = take_hops(b, j, why, cap);
	}
	if (rc == 0) {
		rc = take_path(b, j, why, cap);
	}
	if (rc == 0) {
		rc = take_records(b, j, why, cap);
	}
	return rc;
}

int dmp_relay_bundle_parse_json(struct dmp_relay_bundle *b, const char *body,
				size_t len, size_t max_bytes, char *why,
				size_t why_cap)
{
	size_t max = dmp_relay_body_max(max_bytes);
	json_t *j;
	int rc;

	memset(b, 0, sizeof(*b));
	if (why && why_cap) {
		why[0] = 0;
	}
	if (dmp_nr_limit_bad(max_bytes, why, why_cap)) {
		return DMP_EINVAL;
	}
	if (!body || len > max) {
		return dmp_nr_say(
		    why, why_cap, DMP_ETOOBIG,
		    "body: %zu bytes, over the %zu this node reads", len, max);
	}
	j = dmp_ns_json_load(body, len, max);
	rc = parse(b, j, why, why_cap);
	json_decref(j);
	if (rc == 0) {
		rc = dmp_relay_bundle_limits(b, max_bytes, why, why_cap);
	}
	if (rc < 0) {
		dmp_relay_bundle_clear(b);
	}
	return rc;
}
