/*
 * core/src/node/node_http.c - the node's HTTP side over libmicrohttpd:
 * /health, Prometheus /metrics, the legacy record API (PROTOCOL.md 7.4)
 * and TSIG self-registration (7.2).
 *
 * Every request goes through dmp_node_http_dispatch(), which the unit
 * tests call directly; the libmicrohttpd glue only gathers the body.
 * One internal thread serves the socket, so registrations (check, mint,
 * bind) never race each other; the mutex covers direct callers too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/txt.h"
#include "node/node_i.h"

#define N_CHALLENGES 256
#define RECORDS "/v1/records/"
/* Room for a zone name plus a scope's labels; too long is refused by
 * dmp_node_key_add(). */
#define SC_MAX (DMP_NODE_NAME_MAX + 64)

struct chal {
	uint8_t c[32];
	uint64_t exp_ms;
	int live;
};

struct dmp_node_http {
	struct dmp_node *n;
	struct dmp_node_http_opts o;
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	struct chal ch[N_CHALLENGES];
	unsigned ch_next;
	uint8_t x_sk[32], x_pk[32];
	struct rl *rl, *rl_reg;
	char zone[DMP_NODE_NAME_MAX]; /* first zone: registration's node */
};

void dmp_node_http_opts_init(struct dmp_node_http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen_fd = -1;
	o->auth = DMP_NODE_HTTP_OPEN;
	o->rate = DMP_NODE_HTTP_RATE;
	o->burst = DMP_NODE_HTTP_BURST;
	o->reg_per_hour = DMP_NODE_REG_PER_HOUR;
}

static uint64_t now_ms(const struct dmp_node_http *h)
{
	struct timespec ts;

	if (h->o.now_ms) {
		return h->o.now_ms(h->o.now_ud);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 1};

	if (!sa) {
		return 1;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		return memcmp(&a->sin6_addr, v6lo, 16) == 0 ||
		       (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
			a->sin6_addr.s6_addr[12] == 127);
	}
	return 0;
}

/* ---- responses ---- */

static int reply_json(json_t *j, int status, char **body, size_t *len,
		      const char **ctype)
{
	*body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!*body) {
		*body = strdup("{\"error\":\"out of memory\"}");
		status = 500;
	}
	*len = *body ? strlen(*body) : 0;
	*ctype = "application/json";
	return status;
}

static int reply_err(int status, const char *msg, char **body, size_t *len,
		     const char **ctype)
{
	return reply_json(json_pack("{s:s}", "error", msg), status, body, len,
			  ctype);
}

/* ---- /health and /metrics ---- */

static int health(struct dmp_node_http *h, char **body, size_t *len,
		  const char **ctype)
{
	struct dmp_node_stats s;

	dmp_node_stats_get(h->n, &s);
	return reply_json(json_pack("{s:b,s:s,s:I,s:I,s:I,s:s}", "ok", 1,
				    "status", "ok", "serial",
				    (json_int_t)s.serial, "records",
				    (json_int_t)s.rows, "names",
				    (json_int_t)s.names, "zone", h->zone),
			  200, body, len, ctype);
}

static const char *const rej_names[DMP_NODE_REJ_MAX] = {
    "formerr", "tsig",	     "unsigned", "disabled",   "zone",	   "caps",
    "scope",   "claim_rate", "store",	 "rate_limit", "key_rate", "quota",
};

static const char *const rcode_names[16] = {
    "NOERROR",	"FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "RCODE11",
    "RCODE12",	"RCODE13", "RCODE14",  "RCODE15"};

static int metrics(struct dmp_node_http *h, char **body, size_t *len,
		   const char **ctype)
{
	struct dmp_node_stats s;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	uint64_t cum = 0;

	if (!f) {
		return reply_err(500, "out of memory", body, len, ctype);
	}
	dmp_node_stats_get(h->n, &s);
	fprintf(f,
		"# HELP dmp_node_queries_total DNS queries received.\n"
		"# TYPE dmp_node_queries_total counter\n"
		"dmp_node_queries_total %llu\n",
		(unsigned long long)s.queries);
	fprintf(f, "# HELP dmp_node_answers_total DNS replies by RCODE.\n"
		   "# TYPE dmp_node_answers_total counter\n");
	for (unsigned i = 0; i < 16; i++) {
		if (i <= 10 || s.rcode[i]) {
			fprintf(f,
				"dmp_node_answers_total{rcode=\"%s\"} %llu\n",
				rcode_names[i], (unsigned long long)s.rcode[i]);
		}
	}
	fprintf(f,
		"# HELP dmp_node_updates_total RFC 2136 UPDATEs received.\n"
		"# TYPE dmp_node_updates_total counter\n"
		"dmp_node_updates_total %llu\n"
		"# HELP dmp_node_updates_applied_total UPDATEs applied.\n"
		"# TYPE dmp_node_updates_applied_total counter\n"
		"dmp_node_updates_applied_total %llu\n",
		(unsigned long long)s.updates,
		(unsigned long long)s.updates_ok);
	fprintf(f, "# HELP dmp_node_rejections_total Requests refused or "
		   "dropped, by reason.\n"
		   "# TYPE dmp_node_rejections_total counter\n");
	for (unsigned i = 0; i < DMP_NODE_REJ_MAX; i++) {
		fprintf(f, "dmp_node_rejections_total{reason=\"%s\"} %llu\n",
			rej_names[i], (unsigned long long)s.reject[i]);
	}
	fprintf(f,
		"# HELP dmp_node_store_bytes Database pages in use.\n"
		"# TYPE dmp_node_store_bytes gauge\n"
		"dmp_node_store_bytes %llu\n"
		"# HELP dmp_node_store_rows Live TXT values.\n"
		"# TYPE dmp_node_store_rows gauge\n"
		"dmp_node_store_rows %llu\n"
		"# HELP dmp_node_store_names Names holding values.\n"
		"# TYPE dmp_node_store_names gauge\n"
		"dmp_node_store_names %llu\n"
		"# HELP dmp_node_soa_serial Current SOA serial.\n"
		"# TYPE dmp_node_soa_serial gauge\n"
		"dmp_node_soa_serial %u\n"
		"# HELP dmp_node_tsig_keys TSIG keys loaded.\n"
		"# TYPE dmp_node_tsig_keys gauge\n"
		"dmp_node_tsig_keys %u\n",
		(unsigned long long)s.store_bytes, (unsigned long long)s.rows,
		(unsigned long long)s.names, s.serial, s.keys);
	fprintf(f, "# HELP dmp_node_request_seconds Time to answer one DNS "
		   "request.\n"
		   "# TYPE dmp_node_request_seconds histogram\n");
	for (unsigned i = 0; i < DMP_NODE_LAT_BUCKETS; i++) {
		cum += s.lat[i];
		if (i < DMP_NODE_LAT_BUCKETS - 1) {
			fprintf(f,
				"dmp_node_request_seconds_bucket{le=\"%g\"} "
				"%llu\n",
				dmp_node_lat_bounds[i],
				(unsigned long long)cum);
		} else {
			fprintf(f,
				"dmp_node_request_seconds_bucket{le=\"+Inf\"}"
				" %llu\n",
				(unsigned long long)cum);
		}
	}
	fprintf(f,
		"dmp_node_request_seconds_sum %.9f\n"
		"dmp_node_request_seconds_count %llu\n",
		s.lat_sum, (unsigned long long)s.lat_count);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return reply_err(500, "out of memory", body, len, ctype);
	}
	*body = buf;
	*len = blen;
	*ctype = "text/plain; version=0.0.4";
	return 200;
}

/* ---- legacy record API (7.4) ---- */

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
	rc = st_tok_find(h->n->db, hex, scopes, SCOPES_CSV);
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
	case DMP_NODE_HTTP_OPEN: return is_loopback(rq->peer) ? 200 : 403;
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
	uint64_t now_s = now_ms(h) / 1000;
	json_t *vals = json_array();
	const struct nidx_ent *e;
	int status = 404;

	if (!vals) {
		return reply_err(500, "out of memory", body, len, ctype);
	}
	if (dmp_dnswire_from_text(name, wire, &wlen) < 0) {
		json_decref(vals);
		return reply_err(400, "bad name", body, len, ctype);
	}
	pthread_rwlock_rdlock(&n->ilock);
	e = nidx_find(&n->idx, wire, wlen);
	for (uint32_t i = 0; e && i < e->n_rr; i++) {
		size_t rdl, vl;
		const uint8_t *rd;
		char v[DMP_NODE_MAX_VALUE_BYTES * 8 + 1];

		if (e->rr[i]->exp_s <= now_s) {
			continue;
		}
		rd = nidx_rdata(e->rr[i], &rdl);
		if (dmp_txt_join(v, sizeof(v), &vl, rd, rdl) == 0) {
			json_array_append_new(vals, json_stringn(v, vl));
			status = 200;
		}
	}
	pthread_rwlock_unlock(&n->ilock);
	return reply_json(json_pack("{s:s,s:o}", "name", name, "values", vals),
			  status, body, len, ctype);
}

static int records(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype)
{
	const char *name = rq->path + strlen(RECORDS);
	json_t *j = NULL;
	json_error_t je;
	struct nop op;
	char scopes[SCOPES_CSV];
	int rc, a;

	if (strcmp(rq->method, "GET") == 0) {
		return records_get(h, name, body, len, ctype);
	}
	if (strcmp(rq->method, "POST") != 0 &&
	    strcmp(rq->method, "DELETE") != 0) {
		return reply_err(405, "method not allowed", body, len, ctype);
	}
	a = auth_ok(h, rq, scopes);
	if (a != 200) {
		return reply_err(a,
				 a == 401   ? "bad token"
				 : a == 403 ? "forbidden"
					    : "store",
				 body, len, ctype);
	}
	if (rq->body_len > 0) {
		j = json_loadb(rq->body, rq->body_len, 0, &je);
		if (!json_is_object(j)) {
			json_decref(j);
			return reply_err(400, "bad JSON", body, len, ctype);
		}
	}
	if (strcmp(rq->method, "POST") == 0) {
		json_t *v = json_object_get(j, "value");
		json_t *t = json_object_get(j, "ttl");
		json_int_t ttl =
		    t ? (json_is_integer(t) ? json_integer_value(t) : -1) : 300;
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t sl = s ? json_string_length(v) : 0;

		if (!s || !value_ok(s, sl) || sl > h->n->o.max_value_bytes ||
		    ttl < 0 || ttl > (json_int_t)h->n->o.max_ttl ||
		    node_op_init(h->n, &op, NOP_ADD, name, (uint32_t)ttl) < 0) {
			json_decref(j);
			return reply_err(400, "bad name, value or ttl", body,
					 len, ctype);
		}
		if (h->o.auth == DMP_NODE_HTTP_MULTI &&
		    !csv_in_scope(scopes, op.owner, 1)) {
			json_decref(j);
			return reply_err(403, "outside the token's scope", body,
					 len, ctype);
		}
		op.value = dmp_malloc(sl + 1);
		if (!op.value) {
			json_decref(j);
			return reply_err(500, "out of memory", body, len,
					 ctype);
		}
		memcpy(op.value, s, sl + 1);
		op.vlen = sl;
		json_decref(j);
		rc = dmp_nu_write_op(h->n, &op, 1, now_ms(h));
		if (rc == DMP_DNS_RCODE_NOERROR) {
			return reply_json(
			    json_pack("{s:b,s:s}", "ok", 1, "name", name), 201,
			    body, len, ctype);
		}
		return reply_err(rc == DMP_DNS_RCODE_REFUSED ? 413 : 502,
				 rc == DMP_DNS_RCODE_REFUSED ? "RRset full"
							     : "store",
				 body, len, ctype);
	}
	/* DELETE, with an optional {"value"}. */
	{
		json_t *v = json_object_get(j, "value");

		if ((v && !json_is_string(v)) ||
		    node_op_init(h->n, &op, v ? NOP_DEL_ONE : NOP_DEL_ALL, name,
				 0) < 0) {
			json_decref(j);
			return reply_err(400, "bad name or value", body, len,
					 ctype);
		}
		if (h->o.auth == DMP_NODE_HTTP_MULTI &&
		    !csv_in_scope(scopes, op.owner, 0)) {
			json_decref(j);
			return reply_err(403, "outside the token's scope", body,
					 len, ctype);
		}
		if (v) {
			op.vlen = json_string_length(v);
			op.value = dmp_malloc(op.vlen + 1);
			if (!op.value) {
				json_decref(j);
				return reply_err(500, "out of memory", body,
						 len, ctype);
			}
			memcpy(op.value, json_string_value(v), op.vlen + 1);
		}
		json_decref(j);
		rc = dmp_nu_write_op(h->n, &op, 1, now_ms(h));
		if (rc == DMP_DNS_RCODE_NOERROR) {
			*body = strdup("");
			*len = 0;
			*ctype = "application/json";
			return *body ? 204 : 500;
		}
		return reply_err(rc == DMP_DNS_RCODE_NXDOMAIN ? 404 : 502,
				 rc == DMP_DNS_RCODE_NXDOMAIN ? "not found"
							      : "store",
				 body, len, ctype);
	}
}

/* ---- registration (7.2) ---- */

static int challenge(struct dmp_node_http *h, char **body, size_t *len,
		     const char **ctype)
{
	uint8_t c[32];
	char hex[65], pk[65];
	uint64_t now = now_ms(h);

	dmp_random(c, sizeof(c));
	dmp_node_http_put_challenge(h, c, now);
	dmp_hex_encode(hex, c, 32);
	dmp_hex_encode(pk, h->x_pk, 32);
	return reply_json(
	    json_pack("{s:s,s:s,s:I,s:s,s:i}", "challenge", hex, "node",
		      h->zone, "expires_at",
		      (json_int_t)(now / 1000 + DMP_NODE_REG_CHALLENGE_LIFE),
		      "server_x25519_pub", pk, "version", 1),
	    200, body, len, ctype);
}

void dmp_node_http_put_challenge(struct dmp_node_http *h,
				 const uint8_t challenge[32], uint64_t now_ms)
{
	struct chal *c;

	pthread_mutex_lock(&h->mu);
	c = &h->ch[h->ch_next++ % N_CHALLENGES];
	memcpy(c->c, challenge, 32);
	c->exp_ms = now_ms + DMP_NODE_REG_CHALLENGE_LIFE * 1000u;
	c->live = 1;
	pthread_mutex_unlock(&h->mu);
}

/* Single use: found or not, a matching challenge is gone after this. */
static int take_challenge(struct dmp_node_http *h, const uint8_t c[32],
			  uint64_t now)
{
	int ok = 0;

	for (unsigned i = 0; i < N_CHALLENGES; i++) {
		if (h->ch[i].live && sodium_memcmp(h->ch[i].c, c, 32) == 0) {
			ok = h->ch[i].exp_ms > now;
			h->ch[i].live = 0;
		}
	}
	return ok;
}

static int get_hex(json_t *j, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(j, key);

	return json_is_string(v) && dmp_hex_decode(out, n, json_string_value(v),
						   json_string_length(v)) == 0;
}

static int allowed(const struct dmp_node_http *h, const char *subject)
{
	const char *at = strchr(subject, '@');

	if (h->o.n_reg_allow == 0) {
		return 1;
	}
	for (unsigned i = 0; i < h->o.n_reg_allow; i++) {
		const char *a = h->o.reg_allow[i];

		if (strcmp(a, subject) == 0 ||
		    (a[0] == '@' && at && strcmp(a, at) == 0)) {
			return 1;
		}
	}
	return 0;
}

/*
 * Subject "localpart@host", lower-cased (7.2; ASCII only: NFKC of ASCII
 * is the identity, and we refuse the rest). The localpart becomes a DNS
 * label of the key name, so it must be LDH-ish.
 */
static int subject_norm(const char *in, size_t len, char *out, size_t cap,
			size_t *local_len)
{
	const char *at;

	if (len == 0 || len >= cap || memchr(in, 0, len)) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7F) {
			return -1;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	at = strchr(out, '@');
	if (!at || at == out || !at[1] || strchr(at + 1, '@') ||
	    (size_t)(at - out) > 40) {
		return -1;
	}
	for (const char *p = out; p < at; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_')) {
			return -1;
		}
	}
	*local_len = (size_t)(at - out);
	return 0;
}

static int confirm(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype)
{
	json_t *j, *sv, *res = NULL, *suffixes = NULL;
	json_error_t je;
	uint8_t ch[32], spk[32], sig[64], xpub[32], pop[32], mac[32],
	    shared[32], secret[32], hsub[32];
	char subject[DMP_NODE_NAME_MAX], key[SC_MAX + 8], spk_hex[65],
	    old_spk[65], old_key[DMP_NODE_NAME_MAX], sec_hex[65],
	    sc[DMP_NODE_MAX_SCOPES][SC_MAX], hx[65], loc[48];
	const char *scp[DMP_NODE_MAX_SCOPES];
	size_t sl, ll, n_sc = 0;
	uint8_t *msg = NULL;
	uint64_t now = now_ms(h), exp_s;
	int status = 500, rc;
	crypto_auth_hmacsha256_state st;

	j = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, &je);
	sv = json_object_get(j, "subject");
	if (!json_is_object(j) || !json_is_string(sv) ||
	    subject_norm(json_string_value(sv), json_string_length(sv), subject,
			 sizeof(subject), &ll) < 0 ||
	    !get_hex(j, "ed25519_spk", spk, 32) ||
	    !get_hex(j, "challenge", ch, 32) ||
	    !get_hex(j, "signature", sig, 64) ||
	    !get_hex(j, "x25519_pub", xpub, 32) ||
	    !get_hex(j, "x25519_pop", pop, 32)) {
		json_decref(j);
		return reply_err(400, "bad request", body, len, ctype);
	}
	json_decref(j);
	sl = strlen(subject);
	pthread_mutex_lock(&h->mu);
	if (!take_challenge(h, ch, now)) {
		status = reply_err(401, "unknown or expired challenge", body,
				   len, ctype);
		goto out;
	}
	/* signature over challenge || subject || node || 0x01 */
	msg = dmp_malloc(32 + sl + strlen(h->zone) + 1);
	if (!msg) {
		status = reply_err(500, "out of memory", body, len, ctype);
		goto out;
	}
	memcpy(msg, ch, 32);
	memcpy(msg + 32, subject, sl);
	memcpy(msg + 32 + sl, h->zone, strlen(h->zone));
	msg[32 + sl + strlen(h->zone)] = 0x01;
	if (dmp_verify(sig, msg, 32 + sl + strlen(h->zone) + 1, spk) != 0) {
		status = reply_err(401, "bad signature", body, len, ctype);
		goto out;
	}
	/* proof: HMAC(X25519(server_sk, x25519_pub), ch || subject || pub) */
	if (dmp_x25519(shared, h->x_sk, xpub) != 0) {
		status = reply_err(401, "bad x25519 key", body, len, ctype);
		goto out;
	}
	crypto_auth_hmacsha256_init(&st, shared, sizeof(shared));
	crypto_auth_hmacsha256_update(&st, ch, 32);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)subject, sl);
	crypto_auth_hmacsha256_update(&st, xpub, 32);
	crypto_auth_hmacsha256_final(&st, mac);
	if (sodium_memcmp(mac, pop, 32) != 0) {
		status = reply_err(401, "bad x25519 proof", body, len, ctype);
		goto out;
	}
	if (!allowed(h, subject)) {
		status =
		    reply_err(403, "subject not allowed", body, len, ctype);
		goto out;
	}
	dmp_hex_encode(spk_hex, spk, 32);
	pthread_mutex_lock(&h->n->wlock);
	rc = st_reg_get(h->n->db, subject, now / 1000, old_spk, old_key);
	pthread_mutex_unlock(&h->n->wlock);
	if (rc < 0) {
		status = reply_err(500, "store", body, len, ctype);
		goto out;
	}
	if (rc == 1 && strcmp(old_spk, spk_hex) != 0) {
		status = reply_err(409, "subject bound to another key", body,
				   len, ctype);
		goto out;
	}
	/* 7.1: <localpart>-<spk_hex[0:8]>-<hex(H(subject))[0:6]>.<zone>. */
	memcpy(loc, subject, ll);
	loc[ll] = '\0';
	dmp_sha256(hsub, subject, sl);
	dmp_hex_encode(hx, hsub, 32);
	snprintf(key, sizeof(key), "%s-%.8s-%.6s.%s.", loc, spk_hex, hx,
		 h->zone);
	/* 7.1 scopes. */
	if (h->o.loose_scope) {
		snprintf(sc[n_sc++], SC_MAX, "%s", h->zone);
	} else {
		char h16[17], h12[13], mb[13];
		uint8_t rid[32];

		dmp_sha256_hex_prefix(h16, 16, loc, ll);
		dmp_sha256_hex_prefix(h12, 12, loc, ll);
		snprintf(sc[n_sc++], SC_MAX, "id-%s.%s", h16, h->zone);
		snprintf(sc[n_sc++], SC_MAX, "id-%s.%s", h12, h->zone);
		snprintf(sc[n_sc++], SC_MAX, "_dnsmesh-claim-%.16s.%s", spk_hex,
			 h->zone);
		if (!h->o.tight_scope) {
			snprintf(sc[n_sc++], SC_MAX, "slot-*.mb-*.%s", h->zone);
			snprintf(sc[n_sc++], SC_MAX, "chunk-*-*.%s", h->zone);
			snprintf(sc[n_sc++], SC_MAX, "claim-*.mb-*.%s",
				 h->zone);
			snprintf(sc[n_sc++], SC_MAX, "_dnsmesh-claim-*.%s",
				 h->zone);
		}
		/* recipient_id = H(x25519_pub); label h12(recipient_id). */
		dmp_sha256(rid, xpub, 32);
		dmp_sha256_hex_prefix(mb, 12, rid, 32);
		snprintf(sc[n_sc++], SC_MAX, "mb-%s.%s", mb, h->zone);
	}
	for (size_t i = 0; i < n_sc; i++) {
		scp[i] = sc[i];
	}
	dmp_random(secret, sizeof(secret));
	exp_s = now / 1000 + DMP_NODE_REG_KEY_LIFE;
	rc = dmp_node_key_add(h->n, key, secret, 32, scp, n_sc, now);
	if (rc == 0) {
		char plain[SC_MAX];

		snprintf(plain, sizeof(plain), "%.*s", (int)strlen(key) - 1,
			 key);
		pthread_mutex_lock(&h->n->wlock);
		rc = st_reg_put(h->n->db, subject, spk_hex, plain, exp_s);
		pthread_mutex_unlock(&h->n->wlock);
	}
	if (rc < 0) {
		status = reply_err(500, "store", body, len, ctype);
		goto out;
	}
	suffixes = json_array();
	for (size_t i = 0; suffixes && i < n_sc; i++) {
		json_array_append_new(suffixes, json_string(sc[i]));
	}
	dmp_hex_encode(sec_hex, secret, 32);
	res = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:I}", "tsig_key_name", key,
			"tsig_secret_hex", sec_hex, "tsig_algorithm",
			"hmac-sha256", "allowed_suffixes", suffixes, "subject",
			subject, "zone", h->zone, "expires_at",
			(json_int_t)exp_s);
	dmp_wipe(sec_hex, sizeof(sec_hex));
	DMP_LOG_N("node: registered %s as %s", subject, key);
	status = reply_json(res, 200, body, len, ctype);
out:
	pthread_mutex_unlock(&h->mu);
	dmp_free(msg);
	dmp_wipe(shared, sizeof(shared));
	dmp_wipe(secret, sizeof(secret));
	dmp_wipe(mac, sizeof(mac));
	dmp_wipe(&st, sizeof(st));
	return status;
}

/* ---- dispatch ---- */

int dmp_node_http_dispatch(struct dmp_node_http *h,
			   const struct dmp_node_http_req *rq, char **body,
			   size_t *body_len, const char **ctype)
{
	const char *p = rq->path;
	uint64_t now = now_ms(h);

	*body = NULL;
	*body_len = 0;
	if (!rl_allow(h->rl, rq->peer, now)) {
		return reply_err(429, "rate limited", body, body_len, ctype);
	}
	if (strcmp(p, "/health") == 0) {
		return health(h, body, body_len, ctype);
	}
	if (strcmp(p, "/metrics") == 0) {
		return metrics(h, body, body_len, ctype);
	}
	if (strncmp(p, RECORDS, strlen(RECORDS)) == 0 && p[strlen(RECORDS)]) {
		return records(h, rq, body, body_len, ctype);
	}
	if (strcmp(p, "/v1/registration/challenge") == 0 ||
	    strcmp(p, "/v1/registration/tsig-confirm") == 0) {
		int get = strcmp(p, "/v1/registration/challenge") == 0;

		if (!h->o.registration_enabled || !h->n->o.update_enabled) {
			return reply_err(404, "registration disabled", body,
					 body_len, ctype);
		}
		if (strcmp(rq->method, get ? "GET" : "POST") != 0) {
			return reply_err(405, "method not allowed", body,
					 body_len, ctype);
		}
		if (!rl_allow(h->rl_reg, rq->peer, now)) {
			return reply_err(429, "rate limited", body, body_len,
					 ctype);
		}
		return get ? challenge(h, body, body_len, ctype)
			   : confirm(h, rq, body, body_len, ctype);
	}
	return reply_err(404, "not found", body, body_len, ctype);
}

/* ---- libmicrohttpd glue ---- */

struct mreq {
	char *body;
	size_t len;
	int too_big;
};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct dmp_node_http *h = cls;
	struct mreq *r = *con_cls;
	struct dmp_node_http_req rq;
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *resp;
	char *body = NULL;
	size_t blen = 0;
	const char *ctype = "application/json";
	int status;
	enum MHD_Result ret;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			return MHD_NO;
		}
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->len + *upload_size > DMP_NODE_HTTP_MAX_BODY) {
			r->too_big = 1;
		} else {
			char *nb = realloc(r->body, r->len + *upload_size + 1);

			if (!nb) {
				return MHD_NO;
			}
			r->body = nb;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.authorization =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	/* Never NULL from the socket: NULL would mean "trusted". */
	if (!ci || !ci->client_addr) {
		return MHD_NO;
	}
	rq.peer = ci->client_addr;
	rq.body = r->body;
	rq.body_len = r->len;
	if (r->too_big) {
		status = reply_err(413, "body too large", &body, &blen, &ctype);
	} else {
		status = dmp_node_http_dispatch(h, &rq, &body, &blen, &ctype);
	}
	resp = MHD_create_response_from_buffer(blen, body ? body : (void *)"",
					       body ? MHD_RESPMEM_MUST_FREE
						    : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct mreq *r = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

int dmp_node_http_new(struct dmp_node_http **out, struct dmp_node *n,
		      const struct dmp_node_http_opts *o)
{
	struct dmp_node_http *h;
	int rc;

	*out = NULL;
	if (n->n_zones == 0 ||
	    (o->auth == DMP_NODE_HTTP_LEGACY && !o->token[0]) ||
	    o->n_reg_allow > DMP_NODE_REG_MAX_ALLOW) {
		return DMP_EINVAL;
	}
	if (o->listen_fd >= 0 && o->auth == DMP_NODE_HTTP_OPEN) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		/* 7.4: open mode is for loopback only. */
		if (getsockname(o->listen_fd, (struct sockaddr *)&ss, &sl) <
			0 ||
		    !is_loopback((struct sockaddr *)&ss)) {
			DMP_LOG_E("node: HTTP auth 'open' needs a loopback "
				  "address");
			return DMP_EINVAL;
		}
	}
	h = dmp_calloc(1, sizeof(*h));
	if (!h) {
		return DMP_ENOMEM;
	}
	h->n = n;
	h->o = *o;
	pthread_mutex_init(&h->mu, NULL);
	dmp_dnswire_to_text(n->zones[0].name, h->zone);
	if (o->have_x25519_sk) {
		memcpy(h->x_sk, o->x25519_sk, 32);
	} else {
		dmp_random(h->x_sk, 32);
	}
	dmp_wipe(h->o.x25519_sk, sizeof(h->o.x25519_sk));
	dmp_x25519_base(h->x_pk, h->x_sk);
	rc = rl_new(&h->rl, o->rate, o->burst);
	if (rc == 0 && o->reg_per_hour) {
		rc = rl_new_f(&h->rl_reg, o->reg_per_hour / 3600.0,
			      o->reg_per_hour);
	}
	if (rc < 0) {
		dmp_node_http_free(h);
		return rc;
	}
	if (o->listen_fd >= 0) {
		h->d = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
		    NULL, on_req, h, MHD_OPTION_LISTEN_SOCKET, o->listen_fd,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
		    MHD_OPTION_END);
		if (!h->d) {
			DMP_LOG_E("node: cannot start the HTTP server");
			h->o.listen_fd = -1; /* still the caller's */
			dmp_node_http_free(h);
			return DMP_EIO;
		}
	}
	*out = h;
	return 0;
}

void dmp_node_http_free(struct dmp_node_http *h)
{
	if (!h) {
		return;
	}
	if (h->d) {
		MHD_stop_daemon(h->d); /* closes the listening socket too */
	}
	rl_free(h->rl);
	rl_free(h->rl_reg);
	pthread_mutex_destroy(&h->mu);
	dmp_wipe(h, sizeof(*h));
	dmp_free(h);
}
