/*
 * core/src/node/node_http_records.c - the legacy record API (PROTOCOL.md
 * 7.4): GET, POST and DELETE /v1/records/<name>; off unless configured,
 * then with legacy (shared token), multi-tenant (scoped tokens) or,
 * explicitly, no authorisation. Never by the peer's address: behind a
 * reverse proxy every client is loopback. The names the operator's node
 * publishes itself are never written through it (reserved_owner()).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/txt.h"
#include "node/node_http_i.h"
#include "node/node_i.h"

#define SCOPES_CSV (DMP_NODE_MAX_SCOPES * DMP_NODE_NAME_MAX)

/* Multi-tenant: the token's scopes, looked up by its SHA-256. */
static int token_scopes(const struct dmp_node_http *h, const char *a,
			char scopes[SCOPES_CSV])
{
	uint8_t d[32];
	char hex[65];
	int rc;

	if (!a || strncmp(a, "Bearer ", 7) != 0 ||
	    strlen(a + 7) != DMP_NODE_TOKEN_LEN) {
		return 401;
	}
	dmp_sha256(d, a + 7, DMP_NODE_TOKEN_LEN);
	dmp_hex_encode(hex, d, sizeof(d));
	pthread_mutex_lock(&h->n->wlock);
	rc = dmp_st_tok_find(h->n->db, hex, scopes, SCOPES_CSV);
	pthread_mutex_unlock(&h->n->wlock);
	return rc == 0 ? 200 : rc == DMP_ENOENT ? 401 : 500;
}

/* Does one of @p csv cover @p owner? A DELETE needs a suffix without
 * '*', as for TSIG keys (7.1). */
static int csv_in_scope(const char *csv, const char *owner, int is_add)
{
	char one[DMP_NODE_NAME_MAX];

	for (const char *p = csv; *p;) {
		size_t l = strcspn(p, ",");

		if (l > 0 && l < sizeof(one)) {
			memcpy(one, p, l);
			one[l] = '\0';
			if ((is_add || !strchr(one, '*')) &&
			    dmp_node_scope_match(one, owner)) {
				return 1;
			}
		}
		p += l;
		if (*p == ',') {
			p++;
		}
	}
	return 0;
}

/* 200, 401 or 403; in multi-tenant mode @p scopes gets the token's
 * scopes ("" otherwise: no restriction). */
static int auth_ok(const struct dmp_node_http *h,
		   const struct dmp_node_http_req *rq, char scopes[SCOPES_CSV])
{
	const char *a = rq->authorization;
	size_t tl = strlen(h->o.token);

	scopes[0] = '\0';
	switch (h->o.auth) {
	case DMP_NODE_HTTP_UNAUTH: return 200;
	case DMP_NODE_HTTP_LEGACY:
		if (!a || strncmp(a, "Bearer ", 7) != 0 || tl == 0 ||
		    strlen(a + 7) != tl ||
		    sodium_memcmp(a + 7, h->o.token, tl) != 0) {
			return 401;
		}
		return 200;
	case DMP_NODE_HTTP_MULTI: return token_scopes(h, a, scopes);
	default: return 403;
	}
}

/*
 * Names no record API caller may write or delete, whatever the mode and
 * the token's scopes: the apex (SOA, NS), the in-zone NS and SOA MNAME
 * hosts, and what the node or its operator publishes (PROTOCOL.md 8:
 * _dnsmesh-heartbeat, _dnsmesh-seen, _dnsmesh-links and below; the cluster,
 * bootstrap and rotation records of the zone itself).
 */
static int reserved_owner(const struct dmp_node *n, const struct nop *op)
{
	static const char *const exact[] = {"cluster", "rotate.cluster", "_dmp",
					    "rotate._dmp"};
	static const char *const tree[] = {
	    "_dnsmesh-heartbeat", "_dnsmesh-seen",
	    "_dnsmesh-links" /* the relay link record, 8.7.4 */};
	const struct nzone *z = dmp_ni_zone_of(n, op->wire, op->wlen);
	char zone[DMP_NODE_NAME_MAX], rel[DMP_NODE_NAME_MAX];
	size_t ol = strlen(op->owner), zl;

	if (!z) {
		return 1;
	}
	if (op->wlen == z->nlen) {
		return 1; /* the apex */
	}
	for (unsigned i = 0; i <= z->n_ns; i++) {
		dmp_dnswire_to_text(i < z->n_ns ? z->ns[i] : z->mname, zone);
		if (strcasecmp(zone, op->owner) == 0) {
			return 1;
		}
	}
	dmp_dnswire_to_text(z->name, zone);
	zl = strlen(zone);
	if (ol <= zl + 1) {
		return 1;
	}
	snprintf(rel, sizeof(rel), "%.*s", (int)(ol - zl - 1), op->owner);
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		if (strcasecmp(rel, exact[i]) == 0) {
			return 1;
		}
	}
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		size_t tl = strlen(tree[i]), rl = strlen(rel);

		if (rl >= tl && strcasecmp(rel + rl - tl, tree[i]) == 0 &&
		    (rl == tl || rel[rl - tl - 1] == '.')) {
			return 1;
		}
	}
	return 0;
}

/* 7.4: no '"' and no control characters, valid UTF-8. */
static int value_ok(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7F || c == '"') {
			return 0;
		}
	}
	return len > 0 && dmp_utf8_valid((const uint8_t *)v, len);
}

static int records_get(struct dmp_node_http *h, const char *name, char **body,
		       size_t *len, const char **ctype)
{
	struct dmp_node *n = h->n;
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;
	uint64_t now_s = dmp_nh_now_ms(h) / 1000;
	json_t *vals = json_array();
	const struct nidx_ent *e;
	int status = 404;

	if (!vals) {
		return dmp_nh_reply_err(500, "out of memory", body, len, ctype);
	}
	if (dmp_dnswire_from_text(name, wire, &wlen) < 0) {
		json_decref(vals);
		return dmp_nh_reply_err(400, "bad name", body, len, ctype);
	}
	pthread_rwlock_rdlock(&n->ilock);
	e = dmp_nidx_find(&n->idx, wire, wlen);
	for (uint32_t i = 0; e && i < e->n_rr; i++) {
		size_t rdl, vl;
		const uint8_t *rd;
		char v[DMP_NODE_MAX_VALUE_BYTES * 8 + 1];

		if (e->rr[i]->exp_s <= now_s) {
			continue;
		}
		rd = dmp_nidx_rdata(e->rr[i], &rdl);
		if (dmp_txt_join(v, sizeof(v), &vl, rd, rdl) == 0) {
			json_array_append_new(vals, json_stringn(v, vl));
			status = 200;
		}
	}
	pthread_rwlock_unlock(&n->ilock);
	return dmp_nh_reply_json(
	    json_pack("{s:s,s:o}", "name", name, "values", vals), status, body,
	    len, ctype);
}

static int refuse_reserved(struct dmp_node_http *h,
			   const struct dmp_node_http_req *rq, char **body,
			   size_t *len, const char **ctype)
{
	dmp_nh_refuse(h, NH_REF_RECORDS_RESERVED, rq->peer);
	return dmp_nh_reply_err(403,
				"reserved name: the apex, NS, SOA and the "
				"node's own records are not written over HTTP",
				body, len, ctype);
}

int dmp_nh_records(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype)
{
	const char *name = rq->path + strlen(RECORDS);
	json_t *j = NULL;
	json_error_t je;
	struct nop op;
	char scopes[SCOPES_CSV];
	int rc, a, why = -1;

	if (h->o.auth == DMP_NODE_HTTP_OFF) {
		dmp_nh_refuse(h, NH_REF_RECORDS_OFF, rq->peer);
		return dmp_nh_reply_err(404,
					"the record API is off "
					"(security.http_auth)",
					body, len, ctype);
	}
	if (strcmp(rq->method, "GET") == 0) {
		return records_get(h, name, body, len, ctype);
	}
	if (strcmp(rq->method, "POST") != 0 &&
	    strcmp(rq->method, "DELETE") != 0) {
		return dmp_nh_reply_err(405, "method not allowed", body, len,
					ctype);
	}
	a = auth_ok(h, rq, scopes);
	if (a == 401 || a == 403) {
		dmp_nh_refuse(h, NH_REF_RECORDS_AUTH, rq->peer);
	}
	if (a != 200) {
		return dmp_nh_reply_err(a,
					a == 401   ? "bad token"
					: a == 403 ? "forbidden"
						   : "store",
					body, len, ctype);
	}
	if (rq->body_len > 0) {
		j = json_loadb(rq->body, rq->body_len, 0, &je);
		if (!json_is_object(j)) {
			json_decref(j);
			return dmp_nh_reply_err(400, "bad JSON", body, len,
						ctype);
		}
	}
	if (strcmp(rq->method, "POST") == 0) {
		json_t *v = json_object_get(j, "value");
		json_t *t = json_object_get(j, "ttl");
		json_int_t ttl =
		    t ? (json_is_integer(t) ? json_integer_value(t) : -1) : 300;
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t sl = s ? json_string_length(v) : 0;
		struct dmp_ni_live live;

		dmp_ni_live_get(h->n, &live);
		if (!s || !value_ok(s, sl) || sl > live.max_value_bytes ||
		    ttl < 0 || ttl > (json_int_t)live.max_ttl ||
		    dmp_ni_op_init(h->n, &op, NOP_ADD, name, (uint32_t)ttl) <
			0) {
			json_decref(j);
			return dmp_nh_reply_err(400, "bad name, value or ttl",
						body, len, ctype);
		}
		if (reserved_owner(h->n, &op)) {
			json_decref(j);
			return refuse_reserved(h, rq, body, len, ctype);
		}
		if (h->o.auth == DMP_NODE_HTTP_MULTI &&
		    !csv_in_scope(scopes, op.owner, 1)) {
			json_decref(j);
			dmp_nh_refuse(h, NH_REF_RECORDS_SCOPE, rq->peer);
			return dmp_nh_reply_err(
			    403, "outside the token's scope", body, len, ctype);
		}
		op.value = dmp_malloc(sl + 1);
		if (!op.value) {
			json_decref(j);
			return dmp_nh_reply_err(500, "out of memory", body, len,
						ctype);
		}
		memcpy(op.value, s, sl + 1);
		op.vlen = sl;
		json_decref(j);
		rc = dmp_nu_write_op(h->n, &op, 1, dmp_nh_now_ms(h), &why);
		if (rc == DMP_DNS_RCODE_NOERROR) {
			return dmp_nh_reply_json(
			    json_pack("{s:b,s:s}", "ok", 1, "name", name), 201,
			    body, len, ctype);
		}
		if (rc != DMP_DNS_RCODE_REFUSED) {
			return dmp_nh_reply_err(502, "store", body, len, ctype);
		}
		/* The storage budget that refused it (security.md 7.7): a full
		 * node is 507, a full name or value cap 413. */
		return why == DMP_NODE_REJ_STORE_FULL ||
			       why == DMP_NODE_REJ_CLAIMS_FULL
			   ? dmp_nh_reply_err(507, "node storage full", body,
					      len, ctype)
			   : dmp_nh_reply_err(
				 413,
				 why == DMP_NODE_REJ_NAME_BYTES
				     ? "RRset full (limits.name_bytes)"
				     : "RRset full (values or bytes per name)",
				 body, len, ctype);
	}
	/* DELETE, with an optional {"value"}. */
	{
		json_t *v = json_object_get(j, "value");

		if ((v && !json_is_string(v)) ||
		    dmp_ni_op_init(h->n, &op, v ? NOP_DEL_ONE : NOP_DEL_ALL,
				   name, 0) < 0) {
			json_decref(j);
			return dmp_nh_reply_err(400, "bad name or value", body,
						len, ctype);
		}
		if (reserved_owner(h->n, &op)) {
			json_decref(j);
			return refuse_reserved(h, rq, body, len, ctype);
		}
		if (h->o.auth == DMP_NODE_HTTP_MULTI &&
		    !csv_in_scope(scopes, op.owner, 0)) {
			json_decref(j);
			dmp_nh_refuse(h, NH_REF_RECORDS_SCOPE, rq->peer);
			return dmp_nh_reply_err(
			    403, "outside the token's scope", body, len, ctype);
		}
		if (v) {
			op.vlen = json_string_length(v);
			op.value = dmp_malloc(op.vlen + 1);
			if (!op.value) {
				json_decref(j);
				return dmp_nh_reply_err(500, "out of memory",
							body, len, ctype);
			}
			memcpy(op.value, json_string_value(v), op.vlen + 1);
		}
		json_decref(j);
		rc = dmp_nu_write_op(h->n, &op, 1, dmp_nh_now_ms(h), NULL);
		if (rc == DMP_DNS_RCODE_NOERROR) {
			*body = strdup("");
			*len = 0;
			*ctype = "application/json";
			return *body ? 204 : 500;
		}
		return dmp_nh_reply_err(
		    rc == DMP_DNS_RCODE_NXDOMAIN ? 404 : 502,
		    rc == DMP_DNS_RCODE_NXDOMAIN ? "not found" : "store", body,
		    len, ctype);
	}
}
