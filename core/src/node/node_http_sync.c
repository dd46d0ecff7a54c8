/*
 * core/src/node/node_http_sync.c - the server side of cluster
 * anti-entropy (PROTOCOL.md 7.6): GET /v1/sync/digest, POST /v1/sync/pull
 * and GET /v1/sync/cluster-manifest, for peers holding the cluster's sync
 * token (Authorization: Bearer). No token configured: 403 for everyone,
 * as the reference. The token is compared through SHA-256 and
 * sodium_memcmp, so neither its bytes nor its length leak through timing.
 * Rows come from sqlite (the digest's (stored_ts, name, value_hash) order
 * is its index), after the pending commits are flushed, under wlock.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "dmp/cluster.h"
#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "node/node_http_i.h"
#include "node/node_i.h"
#include "node/node_sync_i.h"

static int authorized(const struct dmp_node_http *h, const char *a)
{
	uint8_t want[DMP_SHA256_BYTES], got[DMP_SHA256_BYTES];

	if (!h->o.sync_token[0] || !a || strncmp(a, "Bearer ", 7) != 0) {
		return 0;
	}
	dmp_sha256(want, h->o.sync_token, strlen(h->o.sync_token));
	dmp_sha256(got, a + 7, strlen(a + 7));
	return sodium_memcmp(want, got, sizeof(want)) == 0;
}

/* Value of @p key in a decoded "k=v&k=v" query, into @p out. */
static int qarg(const char *q, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	while (q && *q) {
		const char *end = strchr(q, '&');
		size_t l = end ? (size_t)(end - q) : strlen(q);

		if (l > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			if (l - kl - 1 >= cap) {
				return DMP_ETOOBIG;
			}
			memcpy(out, q + kl + 1, l - kl - 1);
			out[l - kl - 1] = 0;
			return 1;
		}
		q = end ? end + 1 : NULL;
	}
	return 0;
}

struct dg {
	json_t *arr;
	uint64_t now_s;
	struct ns_cursor last;
};

static int dg_row(const char *name, const char *hash, uint64_t ts,
		  uint64_t exp_s, void *ud)
{
	struct dg *d = ud;
	uint64_t ttl = exp_s > d->now_s ? exp_s - d->now_s : 1;
	size_t nl = strlen(name);

	if (nl > NS_NAME_MAX || strlen(hash) != 64) {
		return 0; /* cannot be in a digest; never stored by us */
	}
	if (json_array_append_new(d->arr,
				  json_pack("{s:s,s:s,s:I,s:I}", "name", name,
					    "hash", hash, "ts", (json_int_t)ts,
					    "ttl", (json_int_t)ttl)) < 0) {
		return DMP_ENOMEM;
	}
	d->last.ts = ts;
	memcpy(d->last.name, name, nl + 1);
	memcpy(d->last.hash, hash, 65);
	return 0;
}

static int digest(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		  uint64_t now_ms, char **body, size_t *len, const char **ctype)
{
	char arg[NS_CURSOR_TEXT], next[NS_CURSOR_TEXT];
	struct ns_cursor cur;
	struct dg d;
	long limit = NS_DIGEST_DEFAULT;
	int rc;

	memset(&cur, 0, sizeof(cur));
	rc = qarg(rq->query, "cursor", arg, sizeof(arg));
	if (rc < 0 ||
	    (rc == 1 && dmp_ns_cursor_parse(&cur, arg, strlen(arg)) < 0)) {
		return dmp_nh_reply_err(
		    400, "cursor must be '<ts>:<name>:<value_hash>'", body, len,
		    ctype);
	}
	rc = qarg(rq->query, "limit", arg, 12);
	if (rc != 0) {
		char *end = NULL;

		limit = rc == 1 ? strtol(arg, &end, 10) : -1;
		if (!end || *end || end == arg || limit <= 0) {
			return dmp_nh_reply_err(400,
						"limit must be an integer > 0",
						body, len, ctype);
		}
		limit = limit > NS_DIGEST_MAX ? NS_DIGEST_MAX : limit;
	}
	memset(&d, 0, sizeof(d));
	d.arr = json_array();
	d.now_s = now_ms / 1000;
	d.last = cur;
	if (!d.arr) {
		return dmp_nh_reply_err(500, "out of memory", body, len, ctype);
	}
	pthread_mutex_lock(&h->n->wlock);
	rc = dmp_nu_flush(h->n);
	if (rc == 0) {
		/* One more than asked: has_more without a count. */
		rc = dmp_st_digest(h->n->db, &cur, (unsigned)limit + 1, d.now_s,
				   dg_row, &d);
	}
	pthread_mutex_unlock(&h->n->wlock);
	if (rc < 0) {
		json_decref(d.arr);
		return dmp_nh_reply_err(500, dmp_strerror(rc), body, len,
					ctype);
	}
	if ((long)json_array_size(d.arr) > limit) {
		json_t *e;

		json_array_remove(d.arr, (size_t)limit);
		e = json_array_get(d.arr, (size_t)limit - 1);
		d.last.ts =
		    (uint64_t)json_integer_value(json_object_get(e, "ts"));
		snprintf(d.last.name, sizeof(d.last.name), "%s",
			 json_string_value(json_object_get(e, "name")));
		snprintf(d.last.hash, sizeof(d.last.hash), "%s",
			 json_string_value(json_object_get(e, "hash")));
		rc = 1;
	} else {
		rc = 0;
	}
	dmp_ns_cursor_fmt(&d.last, next, sizeof(next));
	return dmp_nh_reply_json(json_pack("{s:o,s:b,s:s}", "records", d.arr,
					   "has_more", rc, "next_cursor", next),
				 200, body, len, ctype);
}

struct pl {
	json_t *arr;
	uint64_t now_s;
};

static int pl_row(const char *name, const char *value, size_t vlen,
		  uint64_t exp_s, const char *key, void *ud)
{
	struct pl *p = ud;
	uint64_t ttl = exp_s > p->now_s ? exp_s - p->now_s : 1;

	(void)key;
	return json_array_append_new(
		   p->arr, json_pack("{s:s,s:s%,s:I}", "name", name, "value",
				     value, vlen, "ttl", (json_int_t)ttl)) < 0
		   ? DMP_ENOMEM
		   : 0;
}

static int pull(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		uint64_t now_ms, char **body, size_t *len, const char **ctype)
{
	char(*names)[NS_NAME_MAX + 1] =
	    dmp_malloc(NS_PULL_MAX * sizeof(*names));
	struct pl p;
	int n, rc = 0;

	if (strcmp(rq->method, "POST") != 0) {
		return dmp_nh_reply_err(405, "method not allowed", body, len,
					ctype);
	}
	p.arr = json_array();
	p.now_s = now_ms / 1000;
	if (!p.arr || !names) {
		json_decref(p.arr);
		dmp_free(names);
		return dmp_nh_reply_err(500, "out of memory", body, len, ctype);
	}
	pthread_mutex_lock(&h->n->wlock);
	n = dmp_ns_pull_request_parse(rq->body, rq->body_len, names);
	if (n >= 0) {
		rc = dmp_nu_flush(h->n);
	}
	for (int i = 0; n >= 0 && rc == 0 && i < n; i++) {
		if (names[i][0]) {
			rc = dmp_st_name_rows(h->n->db, &h->n->stm, names[i],
					      p.now_s, pl_row, &p);
		}
	}
	pthread_mutex_unlock(&h->n->wlock);
	dmp_free(names);
	if (n < 0 || rc < 0) {
		json_decref(p.arr);
		return n == DMP_ETOOBIG
			   ? dmp_nh_reply_err(400,
					      "at most 256 names per request",
					      body, len, ctype)
		       : n < 0 ? dmp_nh_reply_err(400,
						  "body must be {\"names\": "
						  "[strings]}",
						  body, len, ctype)
			       : dmp_nh_reply_err(500, dmp_strerror(rc), body,
						  len, ctype);
	}
	return dmp_nh_reply_json(json_pack("{s:o}", "records", p.arr), 200,
				 body, len, ctype);
}

/* The best cluster manifest at cluster.<sync_cluster>. */
struct cm {
	const struct dmp_node_http *h;
	uint64_t now_s;
	json_t *best;
	uint64_t best_seq;
};

static int cm_row(const char *name, const char *value, size_t vlen,
		  uint64_t exp_s, const char *key, void *ud)
{
	struct cm *m = ud;
	struct dmp_cluster c;
	uint8_t blob[DMP_RECORD_WIRE_MAX];
	size_t bl;

	(void)name;
	(void)exp_s;
	(void)key;
	if (m->h->o.have_sync_op_spk) {
		if (dmp_cluster_parse(&c, value, vlen, m->h->o.sync_op_spk,
				      m->h->o.sync_cluster,
				      strlen(m->h->o.sync_cluster),
				      m->now_s) < 0) {
			return 0;
		}
	} else {
		/* No key to check against: the caller verifies (7.6). */
		if (dmp_record_decode(blob, sizeof(blob), &bl, value, vlen,
				      DMP_PREFIX_CLUSTER, DMP_RECORD_WIRE_MAX,
				      56 + DMP_SIG_BYTES) < 0 ||
		    blob[55] > 65 || 56u + blob[55] + DMP_SIG_BYTES > bl) {
			return 0;
		}
		memset(&c, 0, sizeof(c));
		for (int i = 0; i < 8; i++) {
			c.seq = c.seq << 8 | blob[7 + i];
			c.exp = c.exp << 8 | blob[15 + i];
		}
		memcpy(c.name, blob + 56, blob[55]);
		if (blob[55] && c.name[blob[55] - 1] == '.') {
			c.name[blob[55] - 1] = 0;
		}
	}
	if (!m->best || c.seq > m->best_seq) {
		json_decref(m->best);
		m->best = json_pack("{s:s%,s:I,s:I,s:s}", "wire", value, vlen,
				    "seq", (json_int_t)c.seq, "exp",
				    (json_int_t)c.exp, "cluster_name", c.name);
		m->best_seq = c.seq;
	}
	return 0;
}

static int manifest(struct dmp_node_http *h, uint64_t now_ms, char **body,
		    size_t *len, const char **ctype)
{
	char name[DMP_NODE_NAME_MAX + 8];
	struct cm m;
	int rc = 0;

	memset(&m, 0, sizeof(m));
	m.h = h;
	m.now_s = now_ms / 1000;
	if (h->o.sync_cluster[0]) {
		snprintf(name, sizeof(name), "cluster.%s", h->o.sync_cluster);
		pthread_mutex_lock(&h->n->wlock);
		rc = dmp_nu_flush(h->n);
		if (rc == 0) {
			rc = dmp_st_name_rows(h->n->db, &h->n->stm, name,
					      m.now_s, cm_row, &m);
		}
		pthread_mutex_unlock(&h->n->wlock);
	}
	if (rc < 0 || !m.best) {
		json_decref(m.best);
		if (rc < 0) {
			return dmp_nh_reply_err(500, dmp_strerror(rc), body,
						len, ctype);
		}
		*body = NULL;
		*len = 0;
		*ctype = "application/json";
		return 204;
	}
	return dmp_nh_reply_json(m.best, 200, body, len, ctype);
}

int dmp_nh_sync(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		char **body, size_t *len, const char **ctype)
{
	uint64_t now_ms = dmp_nh_now_ms(h);
	const char *p = rq->path;

	if (!authorized(h, rq->authorization)) {
		dmp_nh_refuse(h, NH_REF_SYNC_AUTH, rq->peer);
		return dmp_nh_reply_err(403, "forbidden", body, len, ctype);
	}
	if (strcmp(p, "/v1/sync/pull") == 0) {
		return pull(h, rq, now_ms, body, len, ctype);
	}
	if (strcmp(rq->method, "GET") != 0) {
		return dmp_nh_reply_err(405, "method not allowed", body, len,
					ctype);
	}
	if (strcmp(p, "/v1/sync/digest") == 0) {
		return digest(h, rq, now_ms, body, len, ctype);
	}
	return manifest(h, now_ms, body, len, ctype);
}
