/*
 * tools/dmp-node/server.c - sockets and threads around dmp_node_handle():
 * per listen address, udp_workers UDP sockets bound with SO_REUSEPORT (one
 * per thread, batched with recvmmsg/sendmmsg), one TCP thread (epoll,
 * RFC 7766 framing, pipelined queries, idle timeout, client limit), a
 * writer thread for UDP UPDATEs, and a maintenance thread (reaping, update
 * log checkpoints, NOTIFY, heartbeat).
 *
 * Signals: every asynchronous signal is blocked before the first thread
 * (libmicrohttpd's included) starts, so all threads inherit the mask; the
 * main thread alone takes SIGTERM, SIGINT and SIGHUP with sigwait(). The
 * config the threads read (struct node_conf) is never written after they
 * start: SIGHUP builds a new one and hands the reloadable parts to the
 * node (dmp_node_reconfigure(), under the node's own locks) and to the log
 * sink (dmp_log_set_handler(), thread-safe).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <grp.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node_main.h"

#define BATCH 32
#define UDP_RX 8192
#define UDP_TX 4096
#define MAX_LISTEN DMP_CFG_LIST_MAX
#define TCP_MSG 65535

/* UDP UPDATEs wait here for the writer thread, so that UDP workers never
 * sit out an fsync and the writer can commit many at once. */
struct wq_item {
	struct wq_item *next;
	int fd;
	struct sockaddr_storage peer;
	socklen_t plen;
	size_t len;
	uint8_t data[];
};

#define WQ_MAX 4096
#define WQ_BATCH 64
/* With the update log, answered UPDATEs reach sqlite after this many
 * commits or IDLE_NS without a new UPDATE, whichever comes first: one
 * sqlite transaction for many (see dmp_node_flush()). */
#define FLUSH_AFTER 256
#define IDLE_NS 2000000

struct wq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wq_item *head, *tail;
	size_t n;
};

struct srv {
	struct dmp_node *node;
	const struct node_conf *c;
	int64_t off;
	atomic_int stop;
	struct sockaddr_storage addr[MAX_LISTEN];
	socklen_t alen[MAX_LISTEN];
	unsigned n_addr;
	int tcp_fd[MAX_LISTEN];
	struct wq wq;
	/* Heartbeat (PROTOCOL.md 8) when mesh.endpoint is set; NULL: off. */
	struct dmp_node_hb *hb;
};

/* Timed waits on q->cv measure CLOCK_MONOTONIC: a wall clock step (NTP,
 * the operator) neither stalls nor spins the writer. @return 0 or -1 */
static int wq_init(struct wq *q)
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

struct udp_worker {
	struct srv *s;
	int fd;
	int on; /* th started */
	pthread_t th;
};

/* @return 1 started, 0 not (logged; the caller stops the others) */
static int start_thread(pthread_t *th, void *(*fn)(void *), void *arg,
			const char *what)
{
	int e = pthread_create(th, NULL, fn, arg);

	if (e != 0) {
		DMP_LOG_E("dmp-node: cannot start the %s thread: %s", what,
			  strerror(e));
		return 0;
	}
	return 1;
}

uint64_t node_now_ms(int64_t off)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
			  off);
}

static int parse_addr(const char *spec, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[128];
	const char *colon;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':' ||
		    (size_t)(rb - spec - 1) >= sizeof(host)) {
			return -1;
		}
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535) {
		return -1;
	}
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			return -1;
		}
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			return -1;
		}
		*len = sizeof(*a);
	}
	return 0;
}

static int open_sock(const struct sockaddr_storage *ss, socklen_t len, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0) {
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		/* One socket per worker; the kernel spreads the load. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	}
	if (ss->ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void *udp_main(void *arg)
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
		now = node_now_ms(s->off);
		for (int i = 0; i < got; i++) {
			int len;

			if (in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				continue;
			}
			/* UPDATE (RFC 2136 opcode 5): to the writer. With
			 * the queue full it is dropped (the client retries)
			 * rather than stalling this worker's queries. */
			if (in[i].msg_len >= 12 && !(rx[i][2] & 0x80) &&
			    ((rx[i][2] >> 3) & 0x0F) == 5) {
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

/* ---- TCP (RFC 7766) ---- */

struct conn {
	int fd;
	uint64_t last; /* ms, for the idle timeout */
	uint8_t in[2 + TCP_MSG];
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off;
	struct sockaddr_storage peer;
};

static void conn_close(int ep, struct conn **slot, unsigned *n_conn)
{
	struct conn *c = *slot;

	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	*slot = NULL;
	(*n_conn)--;
}

/* Flush pending output. @return 0, or -1 to close */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t r = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (r < 0) {
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->out_off += (size_t)r;
	}
	c->out_len = c->out_off = 0;
	return 0;
}

static int conn_queue(struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t *p = realloc(c->out, c->out_len + 2 + len);

	if (!p) {
		return -1;
	}
	c->out = p;
	p[c->out_len] = (uint8_t)(len >> 8);
	p[c->out_len + 1] = (uint8_t)len;
	memcpy(p + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	return 0;
}

static int conn_out(const uint8_t *msg, size_t len, void *ud)
{
	return conn_queue(ud, msg, len);
}

/* Read what is there and answer every complete message. @return -1 close */
static int conn_read(struct srv *s, struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->in + c->in_len,
				 sizeof(c->in) - c->in_len, 0);
		size_t off = 0;

		if (r == 0) {
			return -1;
		}
		if (r < 0) {
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->in_len += (size_t)r;
		c->last = node_now_ms(0);
		while (c->in_len - off >= 2) {
			size_t mlen = (size_t)c->in[off] << 8 | c->in[off + 1];
			int rc;

			if (c->in_len - off - 2 < mlen) {
				break;
			}
			/* Zone transfers come back as several messages. */
			rc = dmp_node_handle_stream(
			    s->node, c->in + off + 2, mlen,
			    (const struct sockaddr *)&c->peer, conn_out, c,
			    node_now_ms(s->off));
			off += 2 + mlen;
			if (rc != 0) {
				return -1;
			}
		}
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		if (conn_flush(c) < 0) {
			return -1;
		}
		/* As the UDP writer; idle flushes in tcp_main. */
		(void)dmp_node_flush(s->node, FLUSH_AFTER, IDLE_NS);
	}
}

static void *tcp_main(void *arg)
{
	struct srv *s = arg;
	unsigned max = (unsigned)s->c->tcp_max_clients, n_conn = 0;
	uint64_t idle_ms = (uint64_t)s->c->tcp_idle_timeout * 1000;
	struct conn **conns = calloc(max, sizeof(*conns));
	struct epoll_event evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (!conns || ep < 0) {
		DMP_LOG_E("dmp-node: TCP thread: out of memory");
		goto out;
	}
	for (unsigned i = 0; i < s->n_addr; i++) {
		struct epoll_event ev = {.events = EPOLLIN};

		/* Listen sockets are tagged with max + i. */
		ev.data.u64 = max + i;
		epoll_ctl(ep, EPOLL_CTL_ADD, s->tcp_fd[i], &ev);
	}
	while (!atomic_load(&s->stop)) {
		int n = epoll_wait(ep, evs, 64,
				   dmp_node_pending(s->node) ? IDLE_NS / 1000000
							     : 250);
		uint64_t now = node_now_ms(0);

		if (n == 0) {
			(void)dmp_node_flush(s->node, FLUSH_AFTER, IDLE_NS);
		}

		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag >= max) {
				unsigned li = (unsigned)(tag - max);
				struct sockaddr_storage peer;
				socklen_t pl = sizeof(peer);
				int fd = accept4(s->tcp_fd[li],
						 (struct sockaddr *)&peer, &pl,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);
				unsigned slot = 0;
				struct epoll_event ev = {.events = EPOLLIN};
				int one = 1;

				if (fd < 0) {
					continue;
				}
				while (slot < max && conns[slot]) {
					slot++;
				}
				if (slot == max) {
					close(fd); /* RFC 7766 6.2.2 limit */
					continue;
				}
				conns[slot] = calloc(1, sizeof(struct conn));
				if (!conns[slot]) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					   sizeof(one));
				conns[slot]->fd = fd;
				conns[slot]->last = now;
				conns[slot]->peer = peer;
				ev.data.u64 = slot;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				n_conn++;
				continue;
			}
			if (!conns[tag]) {
				continue;
			}
			if ((evs[i].events & (EPOLLERR | EPOLLHUP)) ||
			    conn_read(s, conns[tag]) < 0 ||
			    ((evs[i].events & EPOLLOUT) &&
			     conn_flush(conns[tag]) < 0)) {
				conn_close(ep, &conns[tag], &n_conn);
				continue;
			}
			{
				struct epoll_event ev;

				ev.events =
				    EPOLLIN |
				    (conns[tag]->out_len ? EPOLLOUT : 0);
				ev.data.u64 = tag;
				epoll_ctl(ep, EPOLL_CTL_MOD, conns[tag]->fd,
					  &ev);
			}
		}
		/* RFC 7766 6.2.3: close idle connections. */
		for (unsigned i = 0; i < max && n_conn; i++) {
			if (conns[i] && now > conns[i]->last &&
			    now - conns[i]->last > idle_ms) {
				conn_close(ep, &conns[i], &n_conn);
			}
		}
	}
out:
	for (unsigned i = 0; conns && i < max; i++) {
		if (conns[i]) {
			conn_close(ep, &conns[i], &n_conn);
		}
	}
	free(conns);
	if (ep >= 0) {
		close(ep);
	}
	return NULL;
}

static void *writer_main(void *arg)
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
				      node_now_ms(s->off));
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

/* RFC 1996: tell the secondaries, once per serial change, fire and forget
 * (they also poll at the SOA refresh). */
static void send_notifies(struct srv *s, int fd)
{
	uint8_t msg[600];

	for (unsigned z = 0; z < dmp_node_zone_count(s->node); z++) {
		uint16_t id;
		int len;

		dmp_random(&id, sizeof(id));
		len = dmp_node_notify_msg(s->node, z, id, msg, sizeof(msg));
		for (unsigned i = 0; len > 0 && i < s->c->notify.n; i++) {
			struct sockaddr_storage ss;
			socklen_t sl;

			if (parse_addr(s->c->notify.v[i], &ss, &sl) < 0 ||
			    ss.ss_family != AF_INET) {
				continue; /* the socket below is IPv4 */
			}
			(void)sendto(fd, msg, (size_t)len, 0,
				     (struct sockaddr *)&ss, sl);
		}
	}
}

static void *maint_main(void *arg)
{
	struct srv *s = arg;
	uint32_t notified = dmp_node_serial(s->node);
	int nfd =
	    s->c->notify.n ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;

	while (!atomic_load(&s->stop)) {
		uint64_t now = node_now_ms(s->off);
		int rc = dmp_node_maintain(s->node, now);

		if (s->hb) {
			(void)dmp_node_hb_tick(s->hb, now);
		}

		if (rc > 0) {
			DMP_LOG_I("dmp-node: reaped %d expired records", rc);
		}
		if (nfd >= 0 && dmp_node_serial(s->node) != notified) {
			notified = dmp_node_serial(s->node);
			send_notifies(s, nfd);
		}
		for (int i = 0; i < 4 && !atomic_load(&s->stop); i++) {
			usleep(250000);
		}
	}
	if (nfd >= 0) {
		close(nfd);
	}
	return NULL;
}

/* Bind first, then drop root, then open the store, so the database is
 * created by and belongs to the unprivileged user (OpenSMTPD's order). */
static int drop_privileges(const char *user)
{
	struct passwd *pw;

	if (!user[0]) {
		return 0;
	}
	if (geteuid() != 0) {
		DMP_LOG_W("dmp-node: not root, security.user '%s' ignored",
			  user);
		return 0;
	}
	pw = getpwnam(user);
	if (!pw) {
		DMP_LOG_E("dmp-node: no user '%s'", user);
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		DMP_LOG_E("dmp-node: cannot become %s: %s", user,
			  strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		DMP_LOG_E("dmp-node: could regain root; refusing to run");
		return -1;
	}
	DMP_LOG_N("dmp-node: running as %s", user);
	return 0;
}

static uint64_t http_clock(void *ud)
{
	const struct srv *s = ud;

	return node_now_ms(s->off);
}

/* SIGHUP: what may change without a restart (see dmp-node(8)). */
static void reload(struct srv *s, node_reload_fn fn, void *ud)
{
	struct node_conf *nc = calloc(1, sizeof(*nc));
	struct dmp_node_opts o;

	if (!nc || !fn || fn(nc, ud) != 0 || node_conf_opts(nc, &o) != 0) {
		DMP_LOG_E("dmp-node: SIGHUP: config not reloaded");
		free(nc);
		return;
	}
	if (dmp_node_reconfigure(s->node, &o) != 0) {
		DMP_LOG_E("dmp-node: SIGHUP: keys not reloaded");
	}
	DMP_LOG_N("dmp-node: SIGHUP: keys, caps, rate limits and log level "
		  "reloaded");
	free(nc);
}

int node_serve(const struct node_conf *c, const struct dmp_node_opts *o,
	       int64_t clock_off_ms, int foreground, node_reload_fn reload_fn,
	       void *reload_ud)
{
	struct dmp_node *n = NULL;
	struct dmp_node_http *http = NULL;
	struct dmp_node_http_opts ho;
	int http_fd = -1;
	struct srv s;
	struct udp_worker *w = NULL;
	unsigned n_w = 0;
	pthread_t tcp_th, maint_th, writer_th;
	int tcp_on = 0, maint_on = 0, writer_on = 0, wq_on = 0;
	uint8_t op_pk[32], op_sk[64];
	int have_opkey = 0;
	sigset_t all, set;
	int sig = 0, rc = 1;

	/* Before any thread exists (libmicrohttpd's starts in
	 * dmp_node_http_new()): every thread inherits this mask, so no
	 * signal can land on a worker; the main thread takes them below. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV); /* synchronous faults stay deadly */
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.off = clock_off_ms;
	atomic_init(&s.stop, 0);
	for (unsigned i = 0; i < MAX_LISTEN; i++) {
		s.tcp_fd[i] = -1;
	}
	w = calloc((size_t)c->listen.n * (size_t)c->udp_workers, sizeof(*w));
	if (!w || wq_init(&s.wq) < 0) {
		free(w);
		return 1;
	}
	wq_on = 1;
	for (unsigned i = 0; i < c->listen.n; i++) {
		if (parse_addr(c->listen.v[i], &s.addr[i], &s.alen[i]) < 0) {
			DMP_LOG_E("dmp-node: bad listen address %s",
				  c->listen.v[i]);
			goto out;
		}
		s.tcp_fd[i] = open_sock(&s.addr[i], s.alen[i], SOCK_STREAM);
		if (s.tcp_fd[i] < 0 ||
		    fcntl(s.tcp_fd[i], F_SETFL, O_NONBLOCK) < 0) {
			DMP_LOG_E("dmp-node: TCP %s: %s", c->listen.v[i],
				  strerror(errno));
			goto out;
		}
		for (long long k = 0; k < c->udp_workers; k++) {
			int fd = open_sock(&s.addr[i], s.alen[i], SOCK_DGRAM);

			if (fd < 0) {
				DMP_LOG_E("dmp-node: UDP %s: %s",
					  c->listen.v[i], strerror(errno));
				goto out;
			}
			w[n_w].s = &s;
			w[n_w].fd = fd;
			n_w++;
		}
		s.n_addr++;
		DMP_LOG_N("dmp-node: listening on %s (UDP x%lld, TCP)",
			  c->listen.v[i], c->udp_workers);
	}
	if (c->http[0]) {
		struct sockaddr_storage hs;
		socklen_t hl;

		if (node_conf_http(c, &ho) < 0) {
			goto out;
		}
		if (parse_addr(c->http, &hs, &hl) < 0) {
			DMP_LOG_E("dmp-node: bad http address %s", c->http);
			goto out;
		}
		http_fd = open_sock(&hs, hl, SOCK_STREAM);
		if (http_fd < 0) {
			DMP_LOG_E("dmp-node: HTTP %s: %s", c->http,
				  strerror(errno));
			goto out;
		}
	}
	if (c->endpoint[0]) {
		/* Read (or create) the key before dropping root, so that it
		 * may stay readable by root only. */
		if (!c->operator_key[0]) {
			DMP_LOG_E("dmp-node: mesh.endpoint needs "
				  "mesh.operator_key");
			goto out;
		}
		if (dmp_node_opkey_load(c->operator_key, op_pk, op_sk) < 0) {
			goto out;
		}
		have_opkey = 1;
	}
	if (drop_privileges(c->user) < 0) {
		goto out;
	}
	/* nochdir: a relative --db stays where the operator meant it. */
	if (!foreground && daemon(1, 0) < 0) {
		DMP_LOG_E("dmp-node: daemon: %s", strerror(errno));
		goto out;
	}
	{
		int err = dmp_node_new(&n, o, node_now_ms(clock_off_ms));

		if (err < 0) {
			DMP_LOG_E("dmp-node: cannot open %s: %s", o->db_path,
				  dmp_strerror(err));
			goto out;
		}
	}
	s.node = n;
	if (have_opkey) {
		struct dmp_node_hb_opts hbo = {
		    .endpoint = c->endpoint,
		    .operator_pk = op_pk,
		    .operator_sk = op_sk,
		    .claim_zone = c->claim_provider_zone,
		    .interval_s = (uint32_t)c->heartbeat_interval,
		    .allow_loopback = c->heartbeat_allow_loopback,
		    .claim_provider = c->claim_provider,
		};
		int err = dmp_node_hb_new(&s.hb, n, &hbo);

		dmp_wipe(op_sk, sizeof(op_sk));
		have_opkey = 0;
		if (err < 0) {
			DMP_LOG_E("dmp-node: heartbeat: %s", dmp_strerror(err));
			goto out;
		}
	}
	if (http_fd >= 0) {
		int err;

		ho.listen_fd = http_fd;
		ho.now_ms = http_clock;
		ho.now_ud = &s;
		err = dmp_node_http_new(&http, n, &ho);
		if (err < 0) {
			DMP_LOG_E("dmp-node: HTTP %s: %s", c->http,
				  dmp_strerror(err));
			goto out;
		}
		http_fd = -1; /* the HTTP server's now */
		DMP_LOG_N("dmp-node: HTTP on %s (auth %s%s)", c->http,
			  c->http_auth,
			  c->registration_enabled ? ", registration" : "");
	}
	for (unsigned i = 0; i < n_w; i++) {
		w[i].on = start_thread(&w[i].th, udp_main, &w[i], "UDP");
		if (!w[i].on) {
			goto stop;
		}
	}
	writer_on = start_thread(&writer_th, writer_main, &s, "writer");
	tcp_on = writer_on && start_thread(&tcp_th, tcp_main, &s, "TCP");
	maint_on =
	    tcp_on && start_thread(&maint_th, maint_main, &s, "maintenance");
	if (!maint_on) {
		goto stop;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0) {
			continue;
		}
		if (sig == SIGHUP) {
			reload(&s, reload_fn, reload_ud);
			continue;
		}
		break;
	}
	DMP_LOG_N("dmp-node: signal %d, shutting down", sig);
	rc = 0;
stop:
	atomic_store(&s.stop, 1);
	for (unsigned i = 0; i < n_w; i++) {
		if (w[i].on) {
			pthread_join(w[i].th, NULL);
		}
	}
	/* After the UDP workers: nothing more is queued; drain the rest. */
	pthread_mutex_lock(&s.wq.mu);
	pthread_cond_broadcast(&s.wq.cv);
	pthread_mutex_unlock(&s.wq.mu);
	if (writer_on) {
		pthread_join(writer_th, NULL);
	}
	if (tcp_on) {
		pthread_join(tcp_th, NULL);
	}
	if (maint_on) {
		pthread_join(maint_th, NULL);
	}
out:
	/* Stops libmicrohttpd's thread first: it calls into the node. */
	dmp_node_http_free(http);
	if (http_fd >= 0) {
		close(http_fd);
	}
	dmp_wipe(op_sk, sizeof(op_sk));
	dmp_node_hb_free(s.hb);
	for (unsigned i = 0; i < n_w; i++) {
		close(w[i].fd);
	}
	for (unsigned i = 0; i < MAX_LISTEN; i++) {
		if (s.tcp_fd[i] >= 0) {
			close(s.tcp_fd[i]);
		}
	}
	free(w);
	dmp_node_free(n);
	if (wq_on) {
		while (s.wq.head) { /* left when the writer never started */
			struct wq_item *it = s.wq.head;

			s.wq.head = it->next;
			free(it);
		}
		pthread_mutex_destroy(&s.wq.mu);
		pthread_cond_destroy(&s.wq.cv);
	}
	return rc;
}
