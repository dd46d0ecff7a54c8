/*
 * core/src/wire/relay.c - the pure part of a DMP-RELAY/1 bundle
 * (docs/protocol.md 8.7.1, 8.7.2) that a sender and a relay both need:
 * freeing it, its id and its JSON body. Here rather than in src/node so
 * the client (its relay fallback, 8.7.8) builds bundles with the one
 * implementation the node checks them with; parsing and verification,
 * which reuse node code, stay in node_relay_json.c and node_relay_bundle.c.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/relay.h"

#define RELAY_TAG "DMP-RELAY/1\n"

void dmp_relay_bundle_clear(struct dmp_relay_bundle *b)
{
	if (!b) {
		return;
	}
	for (size_t i = 0; b->records && i < b->n_records; i++) {
		dmp_free(b->records[i].value);
	}
	dmp_free(b->records);
	memset(b, 0, sizeof(*b));
}

/* (name, value) bytes: memcmp order, a prefix first. */
static int bytes_cmp(const void *a, size_t al, const void *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

static int record_cmp(const void *pa, const void *pb)
{
	const struct dmp_relay_record *a =
	    *(const struct dmp_relay_record *const *)pa;
	const struct dmp_relay_record *b =
	    *(const struct dmp_relay_record *const *)pb;
	int c = bytes_cmp(a->name, strlen(a->name), b->name, strlen(b->name));

	return c ? c : bytes_cmp(a->value, a->vlen, b->value, b->vlen);
}

int dmp_relay_bundle_id(const struct dmp_relay_bundle *b,
			char out[DMP_RELAY_ID_CHARS + 1])
{
	const struct dmp_relay_record **s;
	struct dmp_wbuf w;
	int rc = 0;

	out[0] = 0;
	s = dmp_calloc(b->n_records ? b->n_records : 1, sizeof(*s));
	if (!s) {
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i < b->n_records; i++) {
		s[i] = &b->records[i];
		if (s[i]->vlen > UINT16_MAX) {
			rc = DMP_ETOOBIG;
		}
	}
	if (rc < 0) {
		dmp_free(s);
		return rc;
	}
	qsort(s, b->n_records, sizeof(*s), record_cmp);
	dmp_wbuf_init_dyn(&w);
	dmp_wbuf_put(&w, RELAY_TAG, strlen(RELAY_TAG));
	for (size_t i = 0; i < b->n_records; i++) {
		size_t nl = strlen(s[i]->name);

		dmp_wbuf_u16(&w, (uint16_t)nl);
		dmp_wbuf_put(&w, s[i]->name, nl);
		dmp_wbuf_u16(&w, (uint16_t)s[i]->vlen);
		dmp_wbuf_put(&w, s[i]->value, s[i]->vlen);
	}
	rc = dmp_wbuf_error(&w);
	if (rc == 0) {
		dmp_sha256_hex_prefix(out, DMP_RELAY_ID_CHARS, w.p, w.len);
		out[DMP_RELAY_ID_CHARS] = 0;
	}
	dmp_wbuf_clear(&w);
	dmp_free(s);
	return rc;
}

static int set(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0 ? 0 : DMP_ENOMEM;
}

static json_t *records_json(const struct dmp_relay_bundle *b)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < b->n_records; i++) {
		const struct dmp_relay_record *r = &b->records[i];
		json_t *o = json_object();

		if (!o || set(o, "name", json_string(r->name)) ||
		    set(o, "value", json_stringn(r->value, r->vlen)) ||
		    set(o, "ttl", json_integer(r->ttl)) ||
		    json_array_append_new(a, o) < 0) {
			json_decref(o);
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int dmp_relay_bundle_to_json(const struct dmp_relay_bundle *b, char **out,
			     size_t *len)
{
	char id[DMP_RELAY_ID_CHARS + 1];
	json_t *o = NULL, *path = NULL;
	size_t need;
	int rc;

	*out = NULL;
	*len = 0;
	if (b->hops > DMP_RELAY_HOPS_MAX || b->max_hops < 1 ||
	    b->max_hops > DMP_RELAY_HOPS_MAX ||
	    b->budget > DMP_RELAY_HOPS_MAX || b->n_path > DMP_RELAY_HOPS_MAX) {
		return DMP_EINVAL;
	}
	rc = dmp_relay_bundle_id(b, id);
	if (rc < 0) {
		return rc;
	}
	rc = DMP_ENOMEM;
	o = json_object();
	path = json_array();
	for (size_t i = 0; path && i < b->n_path; i++) {
		if (json_array_append_new(path, json_string(b->path[i])) < 0) {
			goto cleanup;
		}
	}
	if (!o || !path || set(o, "v", json_string(DMP_RELAY_VERSION)) ||
	    set(o, "id", json_string(id)) ||
	    set(o, "zone", json_string(b->zone)) ||
	    set(o, "mode",
		json_string(b->mode == DMP_RELAY_MODE_FLOOD ? "flood"
							    : "path")) ||
	    set(o, "hops", json_integer(b->hops)) ||
	    set(o, "max_hops", json_integer(b->max_hops)) ||
	    set(o, "budget", json_integer(b->budget)) ||
	    set(o, "path", json_incref(path)) ||
	    set(o, "records", records_json(b))) {
		/* json_string*() is NULL for bytes that are not UTF-8. */
		goto cleanup;
	}
	need = json_dumpb(o, NULL, 0, JSON_COMPACT);
	*out = need ? dmp_malloc(need + 1) : NULL;
	if (*out) {
		*len = json_dumpb(o, *out, need, JSON_COMPACT);
		(*out)[*len] = 0;
		rc = 0;
	}
cleanup:
	json_decref(path);
	json_decref(o);
	return rc;
}
