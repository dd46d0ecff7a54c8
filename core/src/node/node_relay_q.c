/*
 * core/src/node/node_relay_q.c - the relay's forwarder thread
 * (docs/protocol.md 8.7.5): POST /v1/relay hands a bundle it must forward
 * to a bounded queue and the HTTP side suspends the connection; this
 * thread does the forwarding (dmp_nhr_fwd_bundle: route, POST to the next
 * hop; dmp_nhr_answer: the reply) and resumes the connection with the answer,
 * so the HTTP side's one thread never waits on a next hop.
 *
 * A job's slot is reserved (dmp_nrq_job_new) before the connection is
 * suspended and pushed (dmp_nrq_push) after, so the worker never resumes
 * a connection that is not suspended yet; the slot is given back when the
 * HTTP side has sent the answer (dmp_nrq_job_free). The bound counts
 * every job from reservation to that point.
 *
 * Holding (8.7.6): a failure the network may heal (no answer, a 5xx or
 * 429, no route), with mesh.storage_enabled, puts the bundle in the hold
 * (node_relay_hold.c, durable in the store) and answers 202 "held at
 * <endpoint>: <why>". Between jobs the worker retries held bundles when
 * due (backoff), at once after the mesh reports a link up (an atomic
 * counter it bumps; the mesh never calls in), dropping them at their
 * expiry or after mesh.relay_retries tries.
 *
 * Threads and locks: one worker thread; q->mu (a leaf: never held while
 * forwarding, resuming or calling into the node) covers the list, the
 * counts, each job's done flag and the stop flag. The hold takes the
 * node's wlock and its own leaf mutex, never q->mu with them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/relay.h"
#include "node/node_http_i.h"
#include "node/node_i.h"
#include "node/node_mesh.h"
#include "node/node_relay_hold.h"

/* Held bundles tried per pass before queued jobs get their turn. */
#define NRQ_RETRY_BATCH 8
/* How often an idle worker with bundles held looks at the clock and the
 * mesh's link-up counter. */
#define NRQ_TICK_MS 250
/* Held bundles listed by GET /v1/mesh. */
#define NRQ_LIST_MAX 16

struct dmp_nrq {
	struct dmp_node_http *h;
	void (*resume)(void *conn);
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dmp_nrq_job *head, *tail; /* pushed, not taken */
	size_t n_out;			 /* reserved and not yet freed */
	size_t max;
	int stop;
	int started;
	pthread_t th;
	struct dmp_nrh *hold; /* NULL: no holding */
	unsigned link_ups;    /* the mesh's counter last seen (worker) */
};

/* Append @p s to the string @p dst of @p cap bytes, cut to fit. */
static void cat(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst), k = strlen(s);

	if (n + 1 >= cap) {
		return;
	}
	k = k < cap - 1 - n ? k : cap - 1 - n;
	memcpy(dst + n, s, k);
	dst[n + k] = '\0';
}

/* This node's endpoint for "held at ...": the mesh's, else the zone. */
static void own_endpoint(struct dmp_node_http *h, char *out, size_t cap)
{
	struct dmp_node_mesh *m = dmp_nm_of(h->n);

	if (m) {
		pthread_mutex_lock(&m->mu);
		snprintf(out, cap, "%s", m->endpoint);
		pthread_mutex_unlock(&m->mu);
	}
	if (!m || !out[0]) {
		snprintf(out, cap, "%s", h->zone);
	}
}

/* Hold @p j after the failure in @p why (8.7.6). @return the status to
 * answer, *held set when held; @p why rewritten. */
static int hold_job(struct dmp_nrq *q, struct dmp_nrq_job *j, int status,
		    char *why, size_t cap, int *held)
{
	struct dmp_node_http *h = q->h;
	const uint64_t now = dmp_nh_now_ms(h);
	const uint64_t spent = now > j->t0_ms ? (now - j->t0_ms) / 1000 : 0;
	char ep[DMP_LINKS_ENDPOINT_MAX + 1] = "", full[DMP_RELAY_WHY_MAX];
	uint64_t drop_s;
	int rc;

	for (size_t i = 0; i < j->b.n_records; i++) {
		uint32_t *t = &j->b.records[i].ttl;

		*t = *t > spent ? *t - (uint32_t)spent : 0;
	}
	if (dmp_nrh_cap(&j->b, now / 1000, h->o.relay.hold_max, &drop_s) < 0) {
		return status; /* a record expired: nothing to hold */
	}
	rc = dmp_nrh_put(q->hold, &j->b, j->id, j->sender, now, drop_s, full,
			 sizeof(full));
	if (rc == 0) {
		char was[DMP_RELAY_WHY_MAX];

		*held = 1;
		dmp_nhr_dup_add(h, j->id, drop_s);
		own_endpoint(h, ep, sizeof(ep));
		snprintf(was, sizeof(was), "%s", why);
		why[0] = '\0';
		cat(why, cap, "held at ");
		cat(why, cap, ep);
		cat(why, cap, ": ");
		cat(why, cap, was); /* cut short when long: fine */
		DMP_LOG_N("node: relay: bundle %s for %s held (%s); next try "
			  "in %u s",
			  j->id, j->b.zone, was, dmp_nrh_backoff_s(0));
		return 202;
	}
	if (rc == DMP_EEXIST) {
		snprintf(why, cap, "already seen (held here)");
		return 208;
	}
	if (rc == DMP_ENOSPC) {
		dmp_nhr_count_drop(h, DMP_NHR_DROP_HOLD_FULL);
		DMP_LOG_W("node: relay: bundle %s for %s not held: %s", j->id,
			  j->b.zone, full);
		snprintf(why, cap, "%s", full);
		return 507;
	}
	return status;
}

/* Answer @p j 503 without forwarding it (shutting down). */
static void refuse(struct dmp_nrq *q, struct dmp_nrq_job *j)
{
	j->retry_after = 1;
	dmp_nhr_answer(q->h, j, 503, j->b.hops,
		       "node shutting down, retry later", 0);
}

/* Forward @p j now; hold it when that failed and holding is on. */
static void run_job(struct dmp_nrq *q, struct dmp_nrq_job *j)
{
	struct dmp_node_http *h = q->h;
	struct dmp_nhr_fwd f;
	struct dmp_ni_live live;
	char why[DMP_RELAY_WHY_MAX];
	int status, held = 0;

	status =
	    dmp_nhr_fwd_bundle(h, j->id, &j->b, j->t0_ms, &f, why, sizeof(why));
	if (status != 202 && f.holdable && q->hold) {
		dmp_ni_live_get(h->n, &live);
		if (live.update_enabled) {
			status =
			    hold_job(q, j, status, why, sizeof(why), &held);
		}
	}
	if (f.no_route && !held) {
		dmp_nhr_count_drop(h, DMP_NHR_DROP_NO_ROUTE);
	}
	if (!held && (status == 429 || status == 503)) {
		j->retry_after = f.retry_after; /* the next hop's */
	}
	dmp_nhr_answer(h, j, status, f.hops, why, held);
}

/* One try of the held bundle @p e at @p now. */
static void retry_one(struct dmp_nrq *q, const struct dmp_nrh_entry *e,
		      uint64_t now)
{
	struct dmp_node_http *h = q->h;
	struct dmp_relay_bundle b;
	struct dmp_nhr_fwd f;
	char why[DMP_RELAY_WHY_MAX];
	int status;

	if (now / 1000 >= e->drop_s) {
		dmp_nrh_done(q->hold, e->id, 0);
		dmp_nhr_count_drop(h, DMP_NHR_DROP_HOLD_EXPIRED);
		DMP_LOG_N("node: relay: held bundle %s for %s dropped: "
			  "expired after %llu s and %u tries",
			  e->id, e->zone,
			  (unsigned long long)((now - e->held_ms) / 1000),
			  e->tries + 1);
		return;
	}
	if (dmp_nrh_load(q->hold, e->id, h->o.relay.bundle_bytes, &b) < 0) {
		dmp_nrh_done(q->hold, e->id, 0);
		DMP_LOG_W("node: relay: held bundle %s for %s dropped: "
			  "unreadable",
			  e->id, e->zone);
		return;
	}
	status =
	    dmp_nhr_fwd_bundle(h, e->id, &b, e->held_ms, &f, why, sizeof(why));
	dmp_relay_bundle_clear(&b);
	if (status == 200 || status == 202 || status == 208) {
		dmp_nrh_done(q->hold, e->id, 1);
		DMP_LOG_N("node: relay: held bundle %s for %s delivered after "
			  "%u tries: %s",
			  e->id, e->zone, e->tries + 1, why);
	} else if (!f.holdable) {
		dmp_nrh_done(q->hold, e->id, 0);
		DMP_LOG_N("node: relay: held bundle %s for %s dropped: %d %s",
			  e->id, e->zone, status, why);
	} else if (dmp_nrh_retry(q->hold, e->id, now) == DMP_ERANGE) {
		dmp_nhr_count_drop(h, DMP_NHR_DROP_HOLD_RETRIES);
		DMP_LOG_N("node: relay: held bundle %s for %s dropped after "
			  "%u tries (mesh.relay_retries): %s",
			  e->id, e->zone, e->tries + 1, why);
	} else {
		DMP_LOG_D("node: relay: held bundle %s for %s: try %u: %s",
			  e->id, e->zone, e->tries + 1, why);
	}
}

/* Between jobs: a link came up → every held bundle is due; then up to
 * NRQ_RETRY_BATCH due ones are tried, stopping early for queued jobs. */
static void hold_pass(struct dmp_nrq *q)
{
	struct dmp_node_mesh *m = dmp_nm_of(q->h->n);
	uint64_t now = dmp_nh_now_ms(q->h);
	struct dmp_nrh_entry e;

	if (m) {
		unsigned ups = atomic_load(&m->link_ups);

		if (ups != q->link_ups) {
			q->link_ups = ups;
			dmp_nrh_kick(q->hold, now);
		}
	}
	for (int i = 0; i < NRQ_RETRY_BATCH; i++) {
		int busy;

		if (!dmp_nrh_due(q->hold, now, &e)) {
			break;
		}
		retry_one(q, &e, now);
		pthread_mutex_lock(&q->mu);
		busy = q->stop || q->head;
		pthread_mutex_unlock(&q->mu);
		if (busy) {
			break;
		}
		now = dmp_nh_now_ms(q->h);
	}
}

/* 1 when something is held (q->mu not held: the hold's lock is a leaf). */
static int holding(struct dmp_nrq *q)
{
	size_t n = 0;
	uint64_t bytes, delivered;

	if (q->hold) {
		dmp_nrh_stats(q->hold, &n, &bytes, &delivered);
	}
	return n > 0;
}

static void *worker(void *arg)
{
	struct dmp_nrq *q = arg;
	int any = holding(q);

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct dmp_nrq_job *j;

		if (!q->stop && !q->head) {
			if (any) {
				struct timespec dl;

				clock_gettime(CLOCK_MONOTONIC, &dl);
				dl.tv_nsec += NRQ_TICK_MS * 1000000L;
				if (dl.tv_nsec >= 1000000000L) {
					dl.tv_sec++;
					dl.tv_nsec -= 1000000000L;
				}
				(void)pthread_cond_timedwait(&q->cv, &q->mu,
							     &dl);
			} else {
				pthread_cond_wait(&q->cv, &q->mu);
			}
		}
		if (q->stop) {
			break;
		}
		j = q->head;
		if (!j) {
			pthread_mutex_unlock(&q->mu);
			hold_pass(q);
			any = holding(q);
			pthread_mutex_lock(&q->mu);
			continue;
		}
		q->head = j->next;
		if (!q->head) {
			q->tail = NULL;
		}
		pthread_mutex_unlock(&q->mu);
		run_job(q, j);
		any = holding(q);
		pthread_mutex_lock(&q->mu);
		j->done = 1;
		pthread_mutex_unlock(&q->mu);
		q->resume(j->conn);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int dmp_nrq_new(struct dmp_nrq **out, struct dmp_node_http *h, size_t max,
		void (*resume)(void *conn))
{
	const struct dmp_node_relay_opts *r = &h->o.relay;
	struct dmp_nrh_opts ho = {r->hold_bytes, r->hold_bundles,
				  r->hold_sender_bytes, r->hold_max,
				  r->retries};
	pthread_condattr_t ca;
	struct dmp_nrq *q;
	int rc;

	*out = NULL;
	if (max < 1 || !resume) {
		return DMP_EINVAL;
	}
	q = dmp_calloc(1, sizeof(*q));
	if (!q) {
		return DMP_ENOMEM;
	}
	q->h = h;
	q->resume = resume;
	q->max = max;
	rc = dmp_nrh_open(&q->hold, h->n->db, &h->n->wlock, &ho,
			  dmp_nh_now_ms(h));
	if (rc < 0) {
		DMP_LOG_E("node: relay hold: %s (mesh.relay_hold_bytes, "
			  "relay_hold_sender_bytes 1..2^40, relay_hold_bundles "
			  "1..%d, relay_hold_max 60..2592000, relay_retries "
			  "1..64)",
			  dmp_strerror(rc), DMP_NODE_RELAY_HOLD_BUNDLES_MAX);
		dmp_free(q);
		return rc;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&q->th, NULL, worker, q);
	if (rc != 0) {
		DMP_LOG_E("node: cannot start the relay forwarder thread: %s",
			  strerror(rc));
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		dmp_nrh_free(q->hold);
		dmp_free(q);
		return DMP_EIO;
	}
	q->started = 1;
	*out = q;
	return 0;
}

int dmp_nrq_job_new(struct dmp_nrq *q, struct dmp_nrq_job **out)
{
	struct dmp_nrq_job *j;

	*out = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->stop || q->n_out >= q->max) {
		pthread_mutex_unlock(&q->mu);
		return DMP_EAGAIN;
	}
	q->n_out++;
	pthread_mutex_unlock(&q->mu);
	j = dmp_calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_lock(&q->mu);
		q->n_out--;
		pthread_mutex_unlock(&q->mu);
		return DMP_ENOMEM;
	}
	*out = j;
	return 0;
}

void dmp_nrq_push(struct dmp_nrq *q, struct dmp_nrq_job *j, void *conn)
{
	int stopped;

	j->conn = conn;
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	stopped = q->stop;
	if (!stopped) {
		if (q->tail) {
			q->tail->next = j;
		} else {
			q->head = j;
		}
		q->tail = j;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	if (stopped) {
		/* Shutting down (cannot happen from the HTTP thread, which
		 * dmp_nrq_stop outlives; kept for direct callers). */
		refuse(q, j);
		pthread_mutex_lock(&q->mu);
		j->done = 1;
		pthread_mutex_unlock(&q->mu);
		q->resume(conn);
	}
}

int dmp_nrq_job_done(struct dmp_nrq *q, const struct dmp_nrq_job *j)
{
	int done;

	pthread_mutex_lock(&q->mu);
	done = j->done;
	pthread_mutex_unlock(&q->mu);
	return done;
}

void dmp_nrq_job_free(struct dmp_nrq *q, struct dmp_nrq_job *j)
{
	if (!j) {
		return;
	}
	dmp_relay_bundle_clear(&j->b);
	free(j->body); /* json_dumps()'s, as the HTTP side's bodies */
	dmp_free(j);
	pthread_mutex_lock(&q->mu);
	q->n_out--;
	pthread_mutex_unlock(&q->mu);
}

size_t dmp_nrq_pending(struct dmp_nrq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->n_out;
	pthread_mutex_unlock(&q->mu);
	return n;
}

void dmp_nrq_stop(struct dmp_nrq *q, unsigned wait_ms)
{
	struct dmp_nrq_job *left;
	struct timespec ts = {0, 10 * 1000 * 1000};

	if (!q) {
		return;
	}
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (q->started) {
		/* The job in hand finishes: its POSTs are bounded. */
		pthread_join(q->th, NULL);
		q->started = 0;
	}
	pthread_mutex_lock(&q->mu);
	left = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while (left) {
		struct dmp_nrq_job *j = left;

		left = j->next;
		refuse(q, j);
		pthread_mutex_lock(&q->mu);
		j->done = 1;
		pthread_mutex_unlock(&q->mu);
		q->resume(j->conn);
	}
	/* Let the HTTP side send those answers before it stops. */
	for (unsigned t = 0; t < wait_ms / 10 && dmp_nrq_pending(q) > 0; t++) {
		nanosleep(&ts, NULL);
	}
}

void dmp_nrq_free(struct dmp_nrq *q)
{
	if (!q) {
		return;
	}
	dmp_nrq_stop(q, 0);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	dmp_nrh_free(q->hold);
	dmp_free(q);
}

void dmp_nrq_metrics(struct dmp_nrq *q, FILE *f)
{
	size_t n = 0;
	uint64_t bytes = 0, delivered = 0;

	if (q && q->hold) {
		dmp_nrh_stats(q->hold, &n, &bytes, &delivered);
	}
	fprintf(f,
		"# HELP dmp_relay_held Relayed bundles held here now "
		"(no next hop took them yet).\n"
		"# TYPE dmp_relay_held gauge\n"
		"dmp_relay_held %zu\n"
		"# HELP dmp_relay_held_bytes Bytes of the values held.\n"
		"# TYPE dmp_relay_held_bytes gauge\n"
		"dmp_relay_held_bytes %llu\n"
		"# HELP dmp_relay_hold_delivered_total Held bundles a next "
		"hop later took.\n"
		"# TYPE dmp_relay_hold_delivered_total counter\n"
		"dmp_relay_hold_delivered_total %llu\n",
		n, (unsigned long long)bytes, (unsigned long long)delivered);
}

void dmp_nrq_mesh_json(struct dmp_nrq *q, json_t *out)
{
	struct dmp_nrh_entry e[NRQ_LIST_MAX];
	size_t n = 0, k = 0;
	uint64_t bytes = 0, delivered = 0;
	json_t *a = json_array();

	if (q && q->hold) {
		dmp_nrh_stats(q->hold, &n, &bytes, &delivered);
		k = dmp_nrh_list(q->hold, e, NRQ_LIST_MAX);
	}
	for (size_t i = 0; a && i < k; i++) {
		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:I,s:i}", "id", e[i].id, "zone",
				 e[i].zone, "next_try",
				 (json_int_t)(e[i].next_ms / 1000), "tries",
				 (int)e[i].tries));
	}
	json_object_set_new(out, "held", json_integer((json_int_t)n));
	json_object_set_new(out, "hold", a ? a : json_array());
}
