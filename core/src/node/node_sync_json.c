/*
 * core/src/node/node_sync_json.c - the JSON of cluster anti-entropy
 * (PROTOCOL.md 7.6): digest and pull answers, the pull request, and the
 * "<ts>:<name>:<hash>" cursor. Everything here comes from a peer, so every
 * field is checked for type and range before it is used (jansson parses;
 * nothing is taken on trust).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "node/node_sync_i.h"

int dmp_ns_name_ok(const char *s, size_t len)
{
	if (len < 1 || len > NS_NAME_MAX) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			return 0;
		}
	}
	return 1;
}

int dmp_ns_hex_ok(const char *s, size_t len, size_t want)
{
	if (!s || len != want) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int dmp_ns_hash_ok(const char *s, size_t len)
{
	return dmp_ns_hex_ok(s, len, 64);
}

int dmp_ns_cursor_parse(struct ns_cursor *c, const char *s, size_t len)
{
	const char *c1 = memchr(s, ':', len), *c2;
	uint64_t ts = 0;
	size_t nl, hl;

	memset(c, 0, sizeof(*c));
	if (!c1 || c1 == s || c1 - s > 19) {
		return DMP_EMALFORMED;
	}
	for (const char *p = s; p < c1; p++) {
		if (*p < '0' || *p > '9') {
			return DMP_EMALFORMED;
		}
		ts = ts * 10 + (uint64_t)(*p - '0');
	}
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s));
	nl = (size_t)((c2 ? c2 : s + len) - (c1 + 1));
	hl = c2 ? len - (size_t)(c2 + 1 - s) : 0;
	/* The name may be empty (start of that millisecond). */
	if (nl > NS_NAME_MAX || (nl && !dmp_ns_name_ok(c1 + 1, nl)) ||
	    (hl && !dmp_ns_hash_ok(c2 + 1, hl))) {
		return DMP_EMALFORMED;
	}
	c->ts = ts;
	memcpy(c->name, c1 + 1, nl);
	if (hl) {
		memcpy(c->hash, c2 + 1, hl);
	}
	return 0;
}

void dmp_ns_cursor_fmt(const struct ns_cursor *c, char *out, size_t cap)
{
	snprintf(out, cap, "%llu:%s:%s", (unsigned long long)c->ts, c->name,
		 c->hash);
}

int dmp_ns_cursor_cmp(const struct ns_cursor *a, const struct ns_cursor *b)
{
	int r;

	if (a->ts != b->ts) {
		return a->ts < b->ts ? -1 : 1;
	}
	r = strcmp(a->name, b->name);
	return r ? r : strcmp(a->hash, b->hash);
}

int64_t dmp_ns_json_int(const json_t *o, const char *k, uint64_t max)
{
	const json_t *v = json_object_get(o, k);
	json_int_t i;

	if (!json_is_integer(v)) {
		return -1;
	}
	i = json_integer_value(v);
	return i < 0 || (uint64_t)i > max ? -1 : (int64_t)i;
}

json_t *dmp_ns_json_load(const char *body, size_t len, size_t max)
{
	if (!body || len > max) {
		return NULL;
	}
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
}

static json_t *load(const char *body, size_t len)
{
	return dmp_ns_json_load(body, len, NS_BODY_MAX);
}

static void entry_take(struct ns_entry *e, const json_t *r, uint64_t now_ms)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	const char *hash = json_string_value(json_object_get(r, "hash"));
	size_t nl = name ? strlen(name) : 0, hl = hash ? strlen(hash) : 0;
	int64_t ts = dmp_ns_json_int(r, "ts", now_ms + NS_SKEW_MS);
	int64_t ttl = dmp_ns_json_int(r, "ttl", NS_TTL_MAX);

	memset(e, 0, sizeof(*e));
	if (!json_is_object(r) || !dmp_ns_name_ok(name, nl) ||
	    !dmp_ns_hash_ok(hash, hl) || ts < 0 || ttl < 0) {
		return;
	}
	memcpy(e->name, name, nl);
	memcpy(e->hash, hash, hl);
	e->ts = (uint64_t)ts;
	e->ttl = (uint64_t)ttl;
	e->valid = 1;
}

int dmp_ns_digest_parse(struct ns_digest *d, const char *body, size_t len,
			uint64_t now_ms)
{
	json_t *j = load(body, len), *recs, *nc;
	int rc = DMP_EMALFORMED;
	size_t i;

	memset(d, 0, sizeof(*d));
	recs = json_object_get(j, "records");
	if (!json_is_object(j) || !json_is_array(recs) ||
	    json_array_size(recs) > NS_DIGEST_MAX) {
		goto cleanup;
	}
	d->has_more = json_is_true(json_object_get(j, "has_more"));
	nc = json_object_get(j, "next_cursor");
	if (json_is_string(nc)) {
		d->have_next =
		    dmp_ns_cursor_parse(&d->next, json_string_value(nc),
					json_string_length(nc)) == 0;
	}
	d->n = json_array_size(recs);
	d->e = dmp_calloc(d->n ? d->n : 1, sizeof(*d->e));
	if (!d->e) {
		rc = DMP_ENOMEM;
		d->n = 0;
		goto cleanup;
	}
	for (i = 0; i < d->n; i++) {
		entry_take(&d->e[i], json_array_get(recs, i), now_ms);
	}
	rc = 0;
cleanup:
	json_decref(j);
	if (rc < 0) {
		dmp_ns_digest_free(d);
	}
	return rc;
}

void dmp_ns_digest_free(struct ns_digest *d)
{
	dmp_free(d->e);
	memset(d, 0, sizeof(*d));
}

void dmp_ns_pulled_free(struct ns_pulled *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		dmp_free(p[i].value);
	}
	dmp_free(p);
}

/* Say why record @p i was refused, when the caller asked. */
static int refuse(char *why, size_t cap, size_t i, const char *what)
{
	if (why && cap) {
		snprintf(why, cap, "records[%zu].%s", i, what);
	}
	return DMP_EMALFORMED;
}

/* One {name, value, ttl} object into @p p. */
static int record_take(struct ns_pulled *p, const json_t *r, size_t i,
		       char *why, size_t cap)
{
	const json_t *v = json_object_get(r, "value");
	const char *name = json_string_value(json_object_get(r, "name"));
	size_t nl = name ? strlen(name) : 0;
	int64_t ttl = dmp_ns_json_int(r, "ttl", NS_TTL_MAX);

	if (!json_is_object(r)) {
		if (why && cap) {
			snprintf(why, cap, "records[%zu]: not an object", i);
		}
		return DMP_EMALFORMED;
	}
	if (!dmp_ns_name_ok(name, nl)) {
		return refuse(why, cap, i,
			      "name: not a name of 1..253 bytes of "
			      "[A-Za-z0-9._-]");
	}
	if (!json_is_string(v)) {
		return refuse(why, cap, i, "value: not a string");
	}
	if (ttl < 0) {
		return refuse(why, cap, i,
			      "ttl: not an integer in 0..2147483648");
	}
	p->vlen = json_string_length(v);
	p->value = dmp_malloc(p->vlen + 1);
	if (!p->value) {
		return DMP_ENOMEM;
	}
	memcpy(p->value, json_string_value(v), p->vlen + 1);
	memcpy(p->name, name, nl);
	p->ttl = (uint64_t)ttl;
	return 0;
}

int dmp_ns_records_take(struct ns_pulled **out, size_t *n, const json_t *recs,
			size_t max, char *why, size_t why_cap)
{
	struct ns_pulled *p = NULL;
	size_t cnt, i;
	int rc;

	*out = NULL;
	*n = 0;
	if (!json_is_array(recs)) {
		if (why && why_cap) {
			snprintf(why, why_cap, "records: not an array");
		}
		return DMP_EMALFORMED;
	}
	cnt = json_array_size(recs);
	if (cnt > max) {
		if (why && why_cap) {
			snprintf(why, why_cap,
				 "records: %zu records, over the %zu allowed",
				 cnt, max);
		}
		return DMP_ETOOBIG;
	}
	p = dmp_calloc(cnt ? cnt : 1, sizeof(*p));
	if (!p) {
		return DMP_ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		rc = record_take(&p[i], json_array_get(recs, i), i, why,
				 why_cap);
		if (rc < 0) {
			dmp_ns_pulled_free(p, cnt);
			return rc;
		}
	}
	*out = p;
	*n = cnt;
	return 0;
}

int dmp_ns_pull_parse(struct ns_pulled **out, size_t *n, const char *body,
		      size_t len, size_t max)
{
	json_t *j = load(body, len);
	int rc = DMP_EMALFORMED;

	*out = NULL;
	*n = 0;
	if (json_is_object(j)) {
		rc = dmp_ns_records_take(out, n, json_object_get(j, "records"),
					 max, NULL, 0);
	}
	json_decref(j);
	return rc;
}

char *dmp_ns_pull_request(const char *const *names, size_t n)
{
	json_t *a = json_array(), *o = NULL;
	char *s = NULL;

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(names[i])) < 0) {
			goto cleanup;
		}
	}
	o = a ? json_pack("{s:O}", "names", a) : NULL;
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
cleanup:
	json_decref(o);
	json_decref(a);
	return s;
}

int dmp_ns_pull_request_parse(const char *body, size_t len,
			      char names[][NS_NAME_MAX + 1])
{
	json_t *j = load(body, len), *a = json_object_get(j, "names");
	int rc = DMP_EMALFORMED;
	size_t cnt;

	if (!json_is_object(j) || !json_is_array(a)) {
		goto cleanup;
	}
	cnt = json_array_size(a);
	if (cnt > NS_PULL_MAX) {
		rc = DMP_ETOOBIG;
		goto cleanup;
	}
	for (size_t i = 0; i < cnt; i++) {
		const json_t *v = json_array_get(a, i);
		size_t l = json_string_length(v);
		const char *s = json_string_value(v);

		if (!json_is_string(v)) {
			goto cleanup;
		}
		if (l > 1 && s[l - 1] == '.') {
			l--;
		}
		/* A name that cannot be stored is simply not found (one
		 * trailing dot only: "a.." is no name). */
		if (!dmp_ns_name_ok(s, l) || s[l - 1] == '.') {
			l = 0;
		}
		for (size_t k = 0; k < l; k++) {
			names[i][k] = (char)tolower((unsigned char)s[k]);
		}
		names[i][l] = 0;
	}
	rc = (int)cnt;
cleanup:
	json_decref(j);
	return rc;
}
