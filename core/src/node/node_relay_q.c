/*
 * core/src/node/node_relay_q.c - the relay's forwarder thread
 * (docs/protocol.md 8.7.5): POST /v1/relay hands a bundle it must forward
 * to a bounded queue and the HTTP side suspends the connection; this
 * thread does the forwarding (dmp_nhr_run_job: route, POST to the next
 * hop, the reply) and resumes the connection with the answer, so the
 * HTTP side's one thread never waits on a next hop.
 *
 * A job's slot is reserved (dmp_nrq_job_new) before the connection is
 * suspended and pushed (dmp_nrq_push) after, so the worker never resumes
 * a connection that is not suspended yet; the slot is given back when the
 * HTTP side has sent the answer (dmp_nrq_job_free). The bound counts
 * every job from reservation to that point.
 *
 * Threads and locks: one worker thread; q->mu (a leaf: never held while
 * forwarding, resuming or calling into the node) covers the list, the
 * counts, each job's done flag and the stop flag.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/relay.h"
#include "node/node_http_i.h"

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
};

static void *worker(void *arg)
{
	struct dmp_nrq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct dmp_nrq_job *j;

		while (!q->stop && !q->head) {
			pthread_cond_wait(&q->cv, &q->mu);
		}
		if (q->stop) {
			break;
		}
		j = q->head;
		q->head = j->next;
		if (!q->head) {
			q->tail = NULL;
		}
		pthread_mutex_unlock(&q->mu);
		dmp_nhr_run_job(q->h, j);
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
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	rc = pthread_create(&q->th, NULL, worker, q);
	if (rc != 0) {
		DMP_LOG_E("node: cannot start the relay forwarder thread: %s",
			  strerror(rc));
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
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
		dmp_nhr_job_refuse(q->h, j, "node shutting down");
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
		dmp_nhr_job_refuse(q->h, j, "node shutting down");
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
	dmp_free(q);
}
