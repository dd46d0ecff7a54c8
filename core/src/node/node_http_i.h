/* core/src/node/node_http_i.h - private parts of the node's HTTP side
 * (node_http*.c). */
#ifndef DMP_NODE_HTTP_I_H
#define DMP_NODE_HTTP_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "dmp/node.h"
#include "dmp/relay.h"

#define N_CHALLENGES 256
#define RECORDS "/v1/records/"

struct chal {
	uint8_t c[32];
	uint64_t exp_ms;
	int live;
};

struct rl;
struct MHD_Daemon;
struct nh_conn;

/* Why a connection or request was refused: dmp_node_http_refusals_total
 * {reason} in /metrics (names in dmp_nh_refusal_names). */
enum nh_refusal {
	NH_REF_CONN_PER_ADDR = 0, /* the address holds max_conns_per_addr */
	NH_REF_CONN_TOTAL,	  /* max_conns, no connection could go */
	NH_REF_CONN_EVICTED,	  /* closed to make room at max_conns */
	NH_REF_REQUEST_TIMEOUT,	  /* no whole exchange in request_timeout */
	NH_REF_IDLE_TIMEOUT,	  /* idle_timeout during a request */
	NH_REF_RATE,		  /* per-address request rate: 429 */
	NH_REF_REG_RATE,	  /* registration_per_hour: 429 */
	NH_REF_BODY,		  /* body over DMP_NODE_HTTP_MAX_BODY: 413 */
	NH_REF_RECORDS_OFF,	  /* record API off: 404 */
	NH_REF_RECORDS_AUTH,	  /* missing or bad token: 401 */
	NH_REF_RECORDS_SCOPE,	  /* outside the token's scopes: 403 */
	NH_REF_RECORDS_RESERVED,  /* apex, NS, heartbeat...: 403 */
	NH_REF_SYNC_AUTH,	  /* /v1/sync/ without the sync token: 403 */
	NH_REF_MAX
};
extern const char *const dmp_nh_refusal_names[NH_REF_MAX];

struct dmp_node_http {
	struct dmp_node *n;
	struct dmp_node_http_opts o;
	struct MHD_Daemon *d;
	/* Registration state (ch, ch_next) and the check-mint-bind sequence
	 * of one confirm: never two at once. */
	pthread_mutex_t mu;
	struct chal ch[N_CHALLENGES];
	unsigned ch_next;
	uint8_t x_sk[32], x_pk[32];
	struct rl *rl, *rl_reg;
	char zone[DMP_NODE_NAME_MAX]; /* first zone: registration's node */
	/* Connections and refusals (node_http_conn.c). cmu covers conns,
	 * n_live and the log state; libmicrohttpd calls in from its one
	 * thread, /metrics and direct callers from theirs. */
	pthread_mutex_t cmu;
	struct nh_conn *conns; /* open connections, a list */
	unsigned n_live;       /* of them not being closed */
	unsigned v4_prefix, v6_prefix;
	struct sockaddr_storage proxies[DMP_NODE_HTTP_MAX_PROXIES];
	unsigned n_proxies;
	_Atomic uint64_t refused[NH_REF_MAX];
	uint64_t log_ms[NH_REF_MAX];	/* last log line per reason */
	uint64_t log_quiet[NH_REF_MAX]; /* refusals since, not logged */
	struct dmp_nhr *relay;		/* POST /v1/relay (node_http_relay.c) */
	struct dmp_nrq *nrq; /* its forwarder thread (node_relay_q.c), or NULL:
				forwarding on the caller's thread */
};

/** The wall clock in ms (opts.now_ms, or the real one). */
uint64_t dmp_nh_now_ms(const struct dmp_node_http *h);
/** 1 for a loopback address. */
int dmp_nh_is_loopback(const struct sockaddr *sa);

/* ---- connections, proxies, refusals (node_http_conn.c) ---- */

/** Parse opts.trusted_proxies, take the prefixes. @return 0 or
 * DMP_EINVAL (logged) */
int dmp_nh_conn_init(struct dmp_node_http *h);
/** Free what is left of the connection list (after the daemon stopped). */
void dmp_nh_conn_fini(struct dmp_node_http *h);
/** Count a refusal of @p why from @p who (may be NULL) and log it, at most
 * once per reason every 10 s with the number since. */
void dmp_nh_refuse(struct dmp_node_http *h, enum nh_refusal why,
		   const struct sockaddr *who);
/** The client of @p rq: the peer, or for a trusted proxy the last
 * X-Forwarded-For entry (in @p buf). NULL for a direct caller. */
const struct sockaddr *dmp_nh_client(const struct dmp_node_http *h,
				     const struct dmp_node_http_req *rq,
				     struct sockaddr_storage *buf);
/** Open connections not being closed (the /metrics gauge). */
unsigned dmp_nh_conns_open(struct dmp_node_http *h);
#ifdef MHD_VERSION
/* libmicrohttpd callbacks (cls: the handle): the accept policy, the
 * connection start/close notifier, and the end of one exchange. */
enum MHD_Result dmp_nh_accept(void *cls, const struct sockaddr *addr,
			      socklen_t len);
void dmp_nh_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		   enum MHD_ConnectionNotificationCode code);
void dmp_nh_exchange_done(struct dmp_node_http *h, struct MHD_Connection *c);
#endif

/* Replies: *body malloc()ed, *ctype static; they return @p status. */
struct json_t;
/** Serialise and take @p j (NULL: 500). */
int dmp_nh_reply_json(struct json_t *j, int status, char **body, size_t *len,
		      const char **ctype);
/** {"error": msg} */
int dmp_nh_reply_err(int status, const char *msg, char **body, size_t *len,
		     const char **ctype);

/* The handlers (node_http_metrics.c, node_http_records.c,
 * node_http_reg.c); each returns the HTTP status. */
int dmp_nh_health(struct dmp_node_http *h, char **body, size_t *len,
		  const char **ctype);
int dmp_nh_metrics(struct dmp_node_http *h, char **body, size_t *len,
		   const char **ctype);
/** /v1/records/<name>: GET, POST, DELETE (7.4). */
int dmp_nh_records(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype);
/** /v1/sync/digest, pull, cluster-manifest (7.6, node_http_sync.c). */
int dmp_nh_sync(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		char **body, size_t *len, const char **ctype);
/** GET /v1/mesh and /v1/mesh/links (node_mesh_http.c; 404 without a
 * mesh). */
int dmp_nh_mesh(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		char **body, size_t *len, const char **ctype);
/** GET /v1/registration/challenge (7.2). */
int dmp_nh_challenge(struct dmp_node_http *h, char **body, size_t *len,
		     const char **ctype);
/** POST /v1/registration/tsig-confirm (7.2). */
int dmp_nh_confirm(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		   char **body, size_t *len, const char **ctype);

/* ---- DMP-RELAY/1 (node_http_relay.c, docs/protocol.md 8.7) ---- */
struct dmp_nhr;
/** The relay state of @p h from h->o.relay (checked: DMP_EINVAL with the
 * range logged). */
int dmp_nhr_new(struct dmp_node_http *h);
void dmp_nhr_free(struct dmp_node_http *h);
struct dmp_nrq_job;
/** POST /v1/relay; @p retry_after gets a 429's or 503's seconds. With
 * @p defer (not NULL) and h->nrq, a bundle to forward becomes a job in
 * *defer and the return is 0: the caller suspends the connection and
 * pushes it (dmp_nrq_push). */
int dmp_nh_relay(struct dmp_node_http *h, const struct dmp_node_http_req *rq,
		 const struct sockaddr *client, char **body, size_t *len,
		 const char **ctype, unsigned *retry_after,
		 struct dmp_nrq_job **defer);
/** The dmp_relay_* lines of /metrics. */
void dmp_nhr_metrics(struct dmp_node_http *h, FILE *f);
/* One "metric{label="name"} value" line per counter of @p v (atomics). */
void dmp_nh_by_label(FILE *f, const char *metric, const char *label,
		     const char *const *names, _Atomic uint64_t *v, unsigned n);
struct dmp_relay_bundle;
/** Bound of one forwarded POST (the HTTP thread waits for it). */
#define DMP_NHR_FWD_TIMEOUT_MS 3000
/** What dmp_nhr_forward() did, for the counters and the reply. */
struct dmp_nhr_fwd {
	unsigned sent;	      /* copies the next hop(s) took (200/202/208) */
	int flood;	      /* 1: flood mode, 0: path mode */
	int no_route;	      /* 1: no route and nowhere to flood */
	int holdable;	      /* 1: a failure the network may heal (no answer, a
				 5xx or 429, no route): held when holding is on */
	unsigned hops;	      /* the hop count to report */
	unsigned retry_after; /* the next hop's Retry-After on a 429 or
				 503 passed back, 0: none */
};
/** Forwarding (node_relay_fwd.c, 8.7.5) of a verified bundle @p b for a
 * zone not served here, received at @p t0_ms: 202 forwarded, the next
 * hop's 4xx passed back, 503 no route or no answer (no holding yet); the
 * reason in @p why. Blocks up to DMP_NHR_FWD_TIMEOUT_MS per copy; holds
 * no lock across the POST. */
int dmp_nhr_forward(struct dmp_node_http *h, const struct dmp_relay_bundle *b,
		    uint64_t t0_ms, struct dmp_nhr_fwd *f, char *why,
		    size_t cap);
/** Largest body POST /v1/relay takes (the socket side's limit). */
size_t dmp_nhr_body_max(const struct dmp_node_http *h);

/* ---- the relay's forwarder thread (node_relay_q.c) ---- */
/** Bundles waiting for or being forwarded at once; one more is 503. */
#define DMP_NRQ_MAX 64
/** How long freeing the HTTP side waits for the answers to bundles still
 * queued (503 "node shutting down") to go out. */
#define DMP_NRQ_STOP_WAIT_MS 1000
/** One bundle to forward off the HTTP thread; the result is read by the
 * HTTP side once done (dmp_nrq_job_done) after the connection resumed. */
struct dmp_nrq_job {
	struct dmp_nrq_job *next;
	struct dmp_relay_bundle b; /* owned, verified */
	char id[DMP_RELAY_ID_CHARS + 1];
	char sender[DMP_RELAY_FP_CHARS + 1]; /* 16 hex of the sender key */
	uint64_t t0_ms;			     /* when the request arrived */
	void *conn;			     /* the suspended connection */
	int done;			     /* under the queue's mu */
	/* The answer: */
	int status;
	char *body; /* malloc()ed (json_dumps), or NULL */
	size_t len;
	const char *ctype;
	unsigned retry_after;
};
struct dmp_nrq;
/** Start the worker thread of @p h; @p resume wakes a suspended
 * connection (MHD_resume_connection), called with no lock held.
 * @return 0, DMP_EINVAL, DMP_ENOMEM, DMP_EIO (thread) */
int dmp_nrq_new(struct dmp_nrq **out, struct dmp_node_http *h, size_t max,
		void (*resume)(void *conn));
/** Reserve a slot and allocate a job. @return 0, DMP_EAGAIN (full or
 * stopping), DMP_ENOMEM */
int dmp_nrq_job_new(struct dmp_nrq *q, struct dmp_nrq_job **out);
/** Queue @p j (its connection @p conn suspended already). */
void dmp_nrq_push(struct dmp_nrq *q, struct dmp_nrq_job *j, void *conn);
/** 1 once @p j has its answer. */
int dmp_nrq_job_done(struct dmp_nrq *q, const struct dmp_nrq_job *j);
/** Free @p j (NULL: no-op) and give its slot back. */
void dmp_nrq_job_free(struct dmp_nrq *q, struct dmp_nrq_job *j);
/** Jobs reserved and not yet freed. */
size_t dmp_nrq_pending(struct dmp_nrq *q);
/** Stop and join the worker (the job in hand finishes), answer the
 * queued jobs 503 and resume them, then wait up to @p wait_ms for their
 * answers to go out. */
void dmp_nrq_stop(struct dmp_nrq *q, unsigned wait_ms);
/** Stop (without waiting) and free. NULL is a no-op. */
void dmp_nrq_free(struct dmp_nrq *q);
/** Forward @p b (id @p id, arrived at @p t0_ms) as dmp_nhr_forward()
 * does, counting the copies sent; a 202 enters the duplicate cache. */
int dmp_nhr_fwd_bundle(struct dmp_node_http *h, const char *id,
		       const struct dmp_relay_bundle *b, uint64_t t0_ms,
		       struct dmp_nhr_fwd *f, char *why, size_t cap);
/** Put the counted reply (status, hops, reason; held: result "held",
 * "held": true) in @p j and free its bundle. */
void dmp_nhr_answer(struct dmp_node_http *h, struct dmp_nrq_job *j, int status,
		    unsigned hops, const char *why, int held);
/** dmp_relay_dropped_total reasons counted by the forwarder thread. */
enum dmp_nhr_drop {
	DMP_NHR_DROP_NO_ROUTE,
	DMP_NHR_DROP_HOLD_FULL,
	DMP_NHR_DROP_HOLD_EXPIRED,
	DMP_NHR_DROP_HOLD_RETRIES
};
void dmp_nhr_count_drop(struct dmp_node_http *h, enum dmp_nhr_drop d);
/** Remember @p id in the duplicate cache until @p exp_s. */
void dmp_nhr_dup_add(struct dmp_node_http *h, const char *id, uint64_t exp_s);
/** The hold's lines of /metrics and its part of GET /v1/mesh
 * (node_relay_q.c; nothing without a forwarder thread). */
void dmp_nrq_metrics(struct dmp_nrq *q, FILE *f);
struct json_t;
void dmp_nrq_mesh_json(struct dmp_nrq *q, struct json_t *out);

#endif /* DMP_NODE_HTTP_I_H */
