/*
 * core/src/node/node_http.c - the node's HTTP side over libmicrohttpd:
 * the daemon (one internal polling thread; connection limits, deadlines
 * and proxies in node_http_conn.c), gathering the body, the per-address
 * rate limit and dispatch to /health, /metrics (node_http_metrics.c), the
 * legacy record API (PROTOCOL.md 7.4, node_http_records.c), TSIG
 * self-registration (7.2, node_http_reg.c), cluster anti-entropy
 * (node_http_sync.c) and DMP-RELAY/1 bundles (docs/protocol.md 8.7,
 * node_http_relay.c; a 429 there carries Retry-After).
 *
 * Every request goes through dmp_node_http_dispatch(), which the unit
 * tests call directly; the libmicrohttpd glue only gathers the body.
 * One internal thread serves the socket, so registrations (check, mint,
 * bind) never race each other; the mutex covers direct callers too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/relay.h"
#include "node/node_http_i.h"
#include "node/node_i.h"

void dmp_node_http_opts_init(struct dmp_node_http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen_fd = -1;
	o->auth = DMP_NODE_HTTP_OFF;
	o->rate = DMP_NODE_HTTP_RATE;
	o->burst = DMP_NODE_HTTP_BURST;
	o->reg_per_hour = DMP_NODE_REG_PER_HOUR;
	o->max_conns = DMP_NODE_HTTP_MAX_CONNS;
	o->max_conns_per_addr = DMP_NODE_HTTP_MAX_CONNS_PER_ADDR;
	o->idle_timeout = DMP_NODE_HTTP_IDLE_TIMEOUT;
	o->request_timeout = DMP_NODE_HTTP_REQUEST_TIMEOUT;
	o->conn_memory = DMP_NODE_HTTP_CONN_MEMORY;
	o->relay.accept = DMP_NODE_RELAY_OWN;
	o->relay.max_hops = DMP_NODE_RELAY_MAX_HOPS;
	o->relay.bundle_bytes = DMP_RELAY_BYTES_DEFAULT;
	o->relay.source_rate = DMP_NODE_RELAY_SOURCE_RATE;
	o->relay.source_burst = DMP_NODE_RELAY_SOURCE_BURST;
	o->relay.sender_rate = DMP_NODE_RELAY_SENDER_RATE;
	o->relay.sender_burst = DMP_NODE_RELAY_SENDER_BURST;
	o->relay.sender_bytes = DMP_NODE_RELAY_SENDER_BYTES;
	o->relay.hold_bytes = DMP_NODE_RELAY_HOLD_BYTES;
	o->relay.hold_bundles = DMP_NODE_RELAY_HOLD_BUNDLES;
	o->relay.hold_sender_bytes = DMP_NODE_RELAY_HOLD_SENDER_BYTES;
	o->relay.hold_max = DMP_NODE_RELAY_HOLD_MAX;
	o->relay.retries = DMP_NODE_RELAY_RETRIES;
}

uint64_t dmp_nh_now_ms(const struct dmp_node_http *h)
{
	struct timespec ts;

	if (h->o.now_ms) {
		return h->o.now_ms(h->o.now_ud);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int dmp_nh_is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 1};

	if (!sa) {
		return 0;
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

int dmp_nh_reply_json(json_t *j, int status, char **body, size_t *len,
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

int dmp_nh_reply_err(int status, const char *msg, char **body, size_t *len,
		     const char **ctype)
{
	return dmp_nh_reply_json(json_pack("{s:s}", "error", msg), status, body,
				 len, ctype);
}

/* ---- dispatch ---- */

int dmp_node_http_dispatch(struct dmp_node_http *h,
			   const struct dmp_node_http_req *rq, char **body,
			   size_t *body_len, const char **ctype)
{
	return dmp_node_http_dispatch_ex(h, rq, body, body_len, ctype, NULL);
}

/* dmp_node_http_dispatch_ex(); with @p defer (the socket side), a relay
 * bundle to forward comes back as a job in *defer and the return is 0. */
static int dispatch(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		    char **body, size_t *body_len, const char **ctype,
		    unsigned *retry_after, struct dmp_nrq_job **defer)
{
	const char *p = rq->path;
	unsigned ra = 0;
	uint64_t now = dmp_nh_now_ms(h);
	struct sockaddr_storage fwd;
	const struct sockaddr *client = dmp_nh_client(h, rq, &fwd);

	*body = NULL;
	*body_len = 0;
	if (!dmp_rl_allow(h->rl, client, now)) {
		dmp_nh_refuse(h, NH_REF_RATE, client);
		return dmp_nh_reply_err(429, "rate limited", body, body_len,
					ctype);
	}
	if (strcmp(p, "/health") == 0) {
		return dmp_nh_health(h, body, body_len, ctype);
	}
	if (strcmp(p, "/metrics") == 0) {
		return dmp_nh_metrics(h, body, body_len, ctype);
	}
	if (strncmp(p, RECORDS, strlen(RECORDS)) == 0 && p[strlen(RECORDS)]) {
		return dmp_nh_records(h, rq, body, body_len, ctype);
	}
	if (strcmp(p, "/v1/sync/digest") == 0 ||
	    strcmp(p, "/v1/sync/pull") == 0 ||
	    strcmp(p, "/v1/sync/cluster-manifest") == 0) {
		return dmp_nh_sync(h, rq, body, body_len, ctype);
	}
	if (strcmp(p, "/v1/relay") == 0) {
		int st = dmp_nh_relay(h, rq, client, body, body_len, ctype, &ra,
				      defer);

		if (retry_after) {
			*retry_after = ra;
		}
		return st;
	}
	if (strcmp(p, "/v1/mesh") == 0 || strcmp(p, "/v1/mesh/links") == 0) {
		return dmp_nh_mesh(h, rq, body, body_len, ctype);
	}
	if (strcmp(p, "/v1/registration/challenge") == 0 ||
	    strcmp(p, "/v1/registration/tsig-confirm") == 0) {
		int get = strcmp(p, "/v1/registration/challenge") == 0;
		struct dmp_ni_live live;

		dmp_ni_live_get(h->n, &live);
		if (!h->o.registration_enabled || !live.update_enabled) {
			return dmp_nh_reply_err(404, "registration disabled",
						body, body_len, ctype);
		}
		if (strcmp(rq->method, get ? "GET" : "POST") != 0) {
			return dmp_nh_reply_err(405, "method not allowed", body,
						body_len, ctype);
		}
		if (!dmp_rl_allow(h->rl_reg, client, now)) {
			dmp_nh_refuse(h, NH_REF_REG_RATE, client);
			return dmp_nh_reply_err(429, "rate limited", body,
						body_len, ctype);
		}
		return get ? dmp_nh_challenge(h, body, body_len, ctype)
			   : dmp_nh_confirm(h, rq, body, body_len, ctype);
	}
	return dmp_nh_reply_err(404, "not found", body, body_len, ctype);
}

int dmp_node_http_dispatch_ex(struct dmp_node_http *h,
			      const struct dmp_node_http_req *rq, char **body,
			      size_t *body_len, const char **ctype,
			      unsigned *retry_after)
{
	return dispatch(h, rq, body, body_len, ctype, retry_after, NULL);
}

/* ---- libmicrohttpd glue ---- */

struct mreq {
	char *body;
	size_t len;
	int too_big;
	struct dmp_nrq_job *job; /* a bundle on the forwarder thread */
};

static void resume_conn(void *conn)
{
	MHD_resume_connection(conn);
}

/* Queue the response @p body (taken) with @p status on @p c. */
static enum MHD_Result respond(struct MHD_Connection *c, int status, char *body,
			       size_t blen, const char *ctype,
			       unsigned retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(blen, body ? body : (void *)"",
					       body ? MHD_RESPMEM_MUST_FREE
						    : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	if (retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Remember the last X-Forwarded-For header: a proxy that adds its own
 * line (HAProxy's option forwardfor) puts it after the client's. */
static enum MHD_Result last_xff(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	(void)kind;
	if (key && value && strcasecmp(key, "X-Forwarded-For") == 0) {
		*(const char **)cls = value;
	}
	return MHD_YES;
}

/* The query arguments the handlers read (cursor and limit of
 * /v1/sync/digest), decoded by libmicrohttpd, as "k=v&k=v"; NULL for
 * none. A value holding '&' could not be a valid one anyway. */
static const char *sync_query(struct MHD_Connection *c, char *out, size_t cap)
{
	static const char *const keys[] = {"cursor", "limit"};
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < 2; i++) {
		const char *v = MHD_lookup_connection_value(
		    c, MHD_GET_ARGUMENT_KIND, keys[i]);
		int w;

		if (!v) {
			continue;
		}
		w = snprintf(out + o, cap - o, "%s%s=%s", o ? "&" : "", keys[i],
			     v);
		if (w < 0 || (size_t)w >= cap - o) {
			out[o] = '\0';
			/* Too long to be valid: an empty value gets the 400. */
			snprintf(out + o, cap - o, "%s%s=", o ? "&" : "",
				 keys[i]);
			o = strlen(out);
			continue;
		}
		o += (size_t)w;
	}
	return o ? out : NULL;
}

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct dmp_node_http *h = cls;
	struct mreq *r = *con_cls;
	struct dmp_node_http_req rq;
	const union MHD_ConnectionInfo *ci;
	struct dmp_nrq_job *job = NULL;
	char *body = NULL, query[2 * DMP_NODE_NAME_MAX + 128];
	size_t blen = 0;
	const char *ctype = "application/json";
	unsigned retry_after = 0;
	int status;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			return MHD_NO;
		}
		*con_cls = r;
		return MHD_YES;
	}
	if (r->job) {
		/* Resumed by the forwarder thread with the answer. */
		if (!h->nrq || !dmp_nrq_job_done(h->nrq, r->job)) {
			return MHD_YES; /* cannot happen: still suspended */
		}
		body = r->job->body;
		r->job->body = NULL;
		return respond(c, r->job->status, body, r->job->len,
			       r->job->ctype, r->job->retry_after);
	}
	if (*upload_size) {
		/* A relay bundle may be longer than other bodies (8.7.1). */
		size_t cap =
		    strcmp(url, "/v1/relay") == 0 &&
			    dmp_nhr_body_max(h) > DMP_NODE_HTTP_MAX_BODY
			? dmp_nhr_body_max(h)
			: DMP_NODE_HTTP_MAX_BODY;

		if (r->len + *upload_size > cap) {
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
	MHD_get_connection_values(c, MHD_HEADER_KIND, last_xff,
				  &rq.forwarded_for);
	/* Never NULL from the socket: NULL is a direct caller, unlimited. */
	if (!ci || !ci->client_addr) {
		return MHD_NO;
	}
	rq.peer = ci->client_addr;
	rq.query = sync_query(c, query, sizeof(query));
	rq.body = r->body;
	rq.body_len = r->len;
	if (r->too_big) {
		dmp_nh_refuse(h, NH_REF_BODY, rq.peer);
		status = dmp_nh_reply_err(413, "body too large", &body, &blen,
					  &ctype);
	} else {
		status = dispatch(h, &rq, &body, &blen, &ctype, &retry_after,
				  h->nrq ? &job : NULL);
	}
	if (status == 0 && job) {
		/* Suspended before the worker can see the job, so its
		 * resume always finds the connection suspended. */
		r->job = job;
		MHD_suspend_connection(c);
		dmp_nrq_push(h->nrq, job, c);
		return MHD_YES;
	}
	return respond(c, status, body, blen, ctype, retry_after);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct dmp_node_http *h = cls;
	struct mreq *r = *con_cls;

	if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		dmp_nh_refuse(h, NH_REF_IDLE_TIMEOUT,
			      ci ? ci->client_addr : NULL);
	}
	dmp_nh_exchange_done(h, c);
	if (r) {
		dmp_nrq_job_free(h->nrq, r->job);
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

/* The record API's mode, said once at start (and loudly when open). */
static int records_mode_ok(const struct dmp_node_http_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (o->auth != DMP_NODE_HTTP_UNAUTH) {
		return 1;
	}
	if (o->n_trusted_proxies > 0) {
		DMP_LOG_E("node: an unauthenticated record API behind a "
			  "trusted proxy would let every client of the proxy "
			  "write: use legacy or multi-tenant tokens");
		return 0;
	}
	/* Defence in depth: never on a socket others can reach directly. */
	if (o->listen_fd >= 0 &&
	    (getsockname(o->listen_fd, (struct sockaddr *)&ss, &sl) < 0 ||
	     !dmp_nh_is_loopback((struct sockaddr *)&ss))) {
		DMP_LOG_E("node: an unauthenticated record API needs a "
			  "loopback HTTP address");
		return 0;
	}
	DMP_LOG_W("node: WARNING: the HTTP record API is UNAUTHENTICATED: "
		  "every local user, and every client of any proxy in "
		  "front of this port, may write and delete records. Use "
		  "legacy or multi-tenant tokens outside tests.");
	return 1;
}

int dmp_node_http_new(struct dmp_node_http **out, struct dmp_node *n,
		      const struct dmp_node_http_opts *o)
{
	struct dmp_node_http *h;
	int rc;

	*out = NULL;
	if (n->n_zones == 0 ||
	    (o->auth == DMP_NODE_HTTP_LEGACY && !o->token[0]) ||
	    o->auth < DMP_NODE_HTTP_OFF || o->auth > DMP_NODE_HTTP_UNAUTH ||
	    o->n_reg_allow > DMP_NODE_REG_MAX_ALLOW || !records_mode_ok(o)) {
		return DMP_EINVAL;
	}
	h = dmp_calloc(1, sizeof(*h));
	if (!h) {
		return DMP_ENOMEM;
	}
	h->n = n;
	h->o = *o;
	/* Subjects are compared lower-cased (7.2). */
	for (unsigned i = 0; i < h->o.n_reg_allow; i++) {
		for (char *p = h->o.reg_allow[i]; *p; p++) {
			if (*p >= 'A' && *p <= 'Z') {
				*p = (char)(*p - 'A' + 'a');
			}
		}
	}
	pthread_mutex_init(&h->mu, NULL);
	dmp_dnswire_to_text(n->zones[0].name, h->zone);
	if (o->have_x25519_sk) {
		memcpy(h->x_sk, o->x25519_sk, 32);
	} else {
		dmp_random(h->x_sk, 32);
	}
	dmp_wipe(h->o.x25519_sk, sizeof(h->o.x25519_sk));
	dmp_x25519_base(h->x_pk, h->x_sk);
	rc = dmp_nh_conn_init(h);
	if (rc == 0) {
		rc = dmp_rl_new(&h->rl, o->rate, o->burst);
	}
	if (rc == 0 && o->reg_per_hour) {
		rc = dmp_rl_new_f(&h->rl_reg, o->reg_per_hour / 3600.0,
				  o->reg_per_hour);
	}
	if (rc == 0) {
		rc = dmp_rl_set_prefix(h->rl, h->v4_prefix, h->v6_prefix);
	}
	if (rc == 0) {
		rc = dmp_rl_set_prefix(h->rl_reg, h->v4_prefix, h->v6_prefix);
	}
	if (rc == 0) {
		rc = dmp_nhr_new(h);
	}
	if (rc < 0) {
		h->o.listen_fd = -1; /* still the caller's */
		dmp_node_http_free(h);
		return rc;
	}
	/* Forwarding off the HTTP thread (8.7.5): a worker of its own,
	 * made before the daemon so that h->nrq is set before its thread
	 * can read it. */
	if (o->listen_fd >= 0 && h->o.relay.enabled) {
		rc = dmp_nrq_new(&h->nrq, h, DMP_NRQ_MAX, resume_conn);
		if (rc < 0) {
			h->o.listen_fd = -1; /* still the caller's */
			dmp_node_http_free(h);
			return rc;
		}
	}
	if (o->listen_fd >= 0) {
		/* libmicrohttpd's own limit leaves room for the connections
		 * node_http_conn.c is closing (see dmp_nh_accept()). */
		h->d = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_ALLOW_SUSPEND_RESUME,
		    0, dmp_nh_accept, h, on_req, h, MHD_OPTION_LISTEN_SOCKET,
		    o->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
		    MHD_OPTION_NOTIFY_CONNECTION, dmp_nh_notify, h,
		    MHD_OPTION_CONNECTION_LIMIT, o->max_conns + 64u,
		    MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->conn_memory,
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
	/* The forwarder first: queued bundles are answered 503 and their
	 * connections resumed, which the daemon needs before it stops. */
	dmp_nrq_stop(h->nrq, h->d ? DMP_NRQ_STOP_WAIT_MS : 0);
	if (h->d) {
		MHD_stop_daemon(h->d); /* closes the listening socket too */
	}
	dmp_nrq_free(h->nrq);
	h->nrq = NULL;
	dmp_rl_free(h->rl);
	dmp_rl_free(h->rl_reg);
	dmp_nhr_free(h);
	dmp_nh_conn_fini(h);
	pthread_mutex_destroy(&h->mu);
	dmp_wipe_free(h, sizeof(*h));
}
