/*
 * tools/dmp-node/udp.c - the UDP side: one thread per socket (SO_REUSEPORT,
 * batched with recvmmsg/sendmmsg) answering queries, and the writer thread
 * that takes their UPDATEs from a queue and commits them in batches.
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include "dmp/log.h"
#include "srv.h"

/* A burst of UPDATEs (256 in flight from one client) overran the
 * kernel's default 208 KiB: datagrams dropped before any thread saw them
 * (docs/performance.md). Root may go past net.core.rmem_max
 * (SO_RCVBUFFORCE, CAP_NET_ADMIN); others get at most that cap. */
int dmpnode_udp_rcvbuf(int fd, long long bytes)
{
	int v = (int)bytes, got = 0;
	socklen_t gl = sizeof(got);

	if (bytes > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) != 0) {
		return -1;
	}
	return got;
}

/* Timed waits on q->cv measure CLOCK_MONOTONIC: a wall clock step (NTP,
 * the operator) neither stalls nor spins the writer. @return 0 or -1 */
int dmpnode_wq_init(struct wq *q)
{
	pthread_condattr_t ca;
	int e;

	memset(q, 0, sizeof(*q));
	e = pthread_condattr_init(&ca);
	if (e == 0) {
		e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		e = e ? e : pthread_cond_init(&q->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (e == 0 && (e = pthread_mutex_init(&q->mu, NULL)) != 0) {
		pthread_cond_destroy(&q->cv);
	}
	if (e != 0) {
		DMP_LOG_E("dmp-node: writer queue: %s", strerror(e));
		return -1;
	}
	return 0;
}

/* @return 0 queued, -1 full or out of memory (answer inline) */
static int wq_push(struct wq *q, int fd, const struct sockaddr_storage *peer,
		   socklen_t plen, const uint8_t *data, size_t len)
{
	struct wq_item *it = malloc(sizeof(*it) + len);

	if (!it) {
		return -1;
	}
	it->next = NULL;
	it->fd = fd;
	it->peer = *peer;
	it->plen = plen;
	it->len = len;
	memcpy(it->data, data, len);
	pthread_mutex_lock(&q->mu);
	if (q->n >= WQ_MAX) {
		pthread_mutex_unlock(&q->mu);
		free(it);
		return -1;
	}
	if (q->tail) {
		q->tail->next = it;
	} else {
		q->head = it;
	}
	q->tail = it;
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void *dmpnode_udp_main(void *arg)
{
	struct udp_worker *w = arg;
	struct srv *s = w->s;
	uint8_t(*rx)[UDP_RX] = malloc(BATCH * sizeof(*rx));
	uint8_t(*tx)[UDP_TX] = malloc(BATCH * sizeof(*tx));
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec iin[BATCH], iout[BATCH];
	struct sockaddr_storage peers[BATCH];
	struct timeval tv = {0, 250000};

	if (!rx || !tx) {
		DMP_LOG_E("dmp-node: UDP worker: out of memory");
		free(rx);
		free(tx);
		return NULL;
	}
	/* Wake up now and then to notice shutdown. */
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!atomic_load(&s->stop)) {
		int got, n_out = 0;
		uint64_t now;

		for (int i = 0; i < BATCH; i++) {
			iin[i].iov_base = rx[i];
			iin[i].iov_len = sizeof(rx[i]);
			memset(&in[i], 0, sizeof(in[i]));
			in[i].msg_hdr.msg_iov = &iin[i];
			in[i].msg_hdr.msg_iovlen = 1;
			in[i].msg_hdr.msg_name = &peers[i];
			in[i].msg_hdr.msg_namelen = sizeof(peers[i]);
		}
		got = recvmmsg(w->fd, in, BATCH, MSG_WAITFORONE, NULL);
		if (got <= 0) {
			continue;
		}
		now = dmpnode_now_ms(s->off);
		for (int i = 0; i < got; i++) {
			int len;

			if (in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				continue;
			}
			/* UPDATE (RFC 2136 opcode 5): to the writer. With
			 * the queue full it is dropped (the client retries)
			 * rather than stalling this worker's queries. */
			if (dmp_node_is_update(rx[i], in[i].msg_len)) {
				if (wq_push(&s->wq, w->fd, &peers[i],
					    in[i].msg_hdr.msg_namelen, rx[i],
					    in[i].msg_len) < 0) {
					DMP_LOG_W("dmp-node: writer queue "
						  "full, UPDATE dropped");
				}
				continue;
			}
			len = dmp_node_handle(
			    s->node, rx[i], in[i].msg_len, DMP_NODE_UDP,
			    (const struct sockaddr *)&peers[i], tx[n_out],
			    sizeof(tx[n_out]), now);
			if (len <= 0) {
				continue;
			}
			iout[n_out].iov_base = tx[n_out];
			iout[n_out].iov_len = (size_t)len;
			memset(&out[n_out], 0, sizeof(out[n_out]));
			out[n_out].msg_hdr.msg_iov = &iout[n_out];
			out[n_out].msg_hdr.msg_iovlen = 1;
			out[n_out].msg_hdr.msg_name = &peers[i];
			out[n_out].msg_hdr.msg_namelen =
			    in[i].msg_hdr.msg_namelen;
			n_out++;
		}
		for (int sent = 0; sent < n_out;) {
			int r = sendmmsg(w->fd, out + sent,
					 (unsigned)(n_out - sent), 0);

			if (r <= 0) {
				break; /* UDP: a lost reply is a retry */
			}
			sent += r;
		}
	}
	free(rx);
	free(tx);
	return NULL;
}

void *dmpnode_writer_main(void *arg)
{
	struct srv *s = arg;
	struct wq *q = &s->wq;
	struct dmp_node_msg *m = calloc(WQ_BATCH, sizeof(*m));
	struct wq_item **items = calloc(WQ_BATCH, sizeof(*items));
	uint8_t(*resp)[UDP_TX] = malloc(WQ_BATCH * sizeof(*resp));

	if (!m || !items || !resp) {
		DMP_LOG_E("dmp-node: writer: out of memory");
		free(m);
		free(items);
		free(resp);
		return NULL;
	}
	for (;;) {
		size_t cnt = 0;

		pthread_mutex_lock(&q->mu);
		while (!q->head && !atomic_load(&s->stop)) {
			struct timespec ts;
			int idle = dmp_node_pending(s->node) > 0;

			/* q->cv runs on CLOCK_MONOTONIC (wq_init). */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += idle ? IDLE_NS : 250000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) != 0 &&
			    idle && !q->head) {
				/* Nothing came: catch sqlite up now. */
				pthread_mutex_unlock(&q->mu);
				(void)dmp_node_flush(s->node, FLUSH_AFTER,
						     IDLE_NS);
				pthread_mutex_lock(&q->mu);
			}
		}
		while (q->head && cnt < WQ_BATCH) {
			items[cnt++] = q->head;
			q->head = q->head->next;
			q->n--;
		}
		if (!q->head) {
			q->tail = NULL;
		}
		pthread_mutex_unlock(&q->mu);
		if (cnt == 0) {
			break; /* stopping, and drained */
		}
		for (size_t i = 0; i < cnt; i++) {
			m[i].q = items[i]->data;
			m[i].qlen = items[i]->len;
			m[i].resp = resp[i];
			m[i].cap = sizeof(resp[i]);
			m[i].resp_len = 0;
			m[i].peer = (const struct sockaddr *)&items[i]->peer;
		}
		/* One transaction (one fsync) for everything queued. */
		dmp_node_handle_batch(s->node, m, cnt, DMP_NODE_UDP,
				      dmpnode_now_ms(s->off));
		for (size_t i = 0; i < cnt; i++) {
			if (m[i].resp_len > 0) {
				(void)sendto(items[i]->fd, resp[i],
					     (size_t)m[i].resp_len, 0,
					     (struct sockaddr *)&items[i]->peer,
					     items[i]->plen);
			}
			free(items[i]);
		}
		/* Answered (durable in the update log); sqlite catches up
		 * when we are idle, or in one go after FLUSH_AFTER. */
		(void)dmp_node_flush(s->node, FLUSH_AFTER, IDLE_NS);
	}
	free(m);
	free(items);
	free(resp);
	return NULL;
}
