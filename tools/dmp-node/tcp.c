/*
 * tools/dmp-node/tcp.c - the TCP thread: epoll over the listen sockets and
 * the connections of one dmp_node_tcp table (dmp/node.h), which holds the
 * framing, the turns, the output caps, the deadlines and the connection
 * limits as pure logic; this file does the socket I/O around it.
 *
 * Each wake-up, every connection with work gets one turn, round robin: one
 * read into its buffer, at most tcp.queries_per_turn whole messages
 * answered (zone transfers streamed), then what the socket takes of the
 * replies. A connection with whole messages left waits in the ready queue
 * for its next turn, after the others, instead of the socket's next event.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "dmp/log.h"
#include "srv.h"

#define ACCEPT_PER_WAKE 512 /* per listen socket and wake-up */
#define SWEEP_MS 100	    /* deadline checks at most this often */
#define EVENTS 256

struct tcpio {
	struct srv *s;
	struct dmp_node_tcp *t;
	unsigned max;
	int ep;
	int *fd;		       /* per id; -1: free */
	uint32_t *mask;		       /* epoll events registered */
	uint8_t *eof;		       /* the peer shut its side */
	uint8_t *queued;	       /* in rq */
	struct sockaddr_storage *peer; /* per id */
	unsigned *rq;		       /* ring of ids waiting for a turn */
	unsigned rq_head, rq_len;
};

static void rq_push(struct tcpio *io, unsigned id)
{
	if (!io->queued[id]) {
		io->queued[id] = 1;
		io->rq[(io->rq_head + io->rq_len) % io->max] = id;
		io->rq_len++;
	}
}

static unsigned rq_pop(struct tcpio *io)
{
	unsigned id = io->rq[io->rq_head];

	io->rq_head = (io->rq_head + 1) % io->max;
	io->rq_len--;
	io->queued[id] = 0;
	return id;
}

/* Close the socket of @p id; the table has already forgotten it. */
static void sock_close(struct tcpio *io, unsigned id)
{
	if (io->fd[id] >= 0) {
		epoll_ctl(io->ep, EPOLL_CTL_DEL, io->fd[id], NULL);
		close(io->fd[id]);
	}
	io->fd[id] = -1;
	io->mask[id] = 0;
	io->eof[id] = 0;
}

static void conn_close(struct tcpio *io, unsigned id)
{
	dmp_node_tcp_close(io->t, id);
	sock_close(io, id);
}

struct outctx {
	struct dmp_node_tcp *t;
	unsigned id;
};

static int conn_out(const uint8_t *msg, size_t len, void *ud)
{
	struct outctx *o = ud;

	return dmp_node_tcp_reply(o->t, o->id, msg, len);
}

/* Send what the socket takes. @return 0, or -1 to close */
static int conn_flush(struct tcpio *io, unsigned id, uint64_t now)
{
	for (;;) {
		size_t len;
		const uint8_t *p = dmp_node_tcp_wbuf(io->t, id, &len);
		ssize_t r;

		if (!len) {
			return 0;
		}
		r = send(io->fd[id], p, len, MSG_NOSIGNAL);
		if (r < 0) {
			return errno == EAGAIN || errno == EWOULDBLOCK ||
				       errno == EINTR
				   ? 0
				   : -1;
		}
		dmp_node_tcp_wdone(io->t, id, (size_t)r, now);
	}
}

/* One read if the table wants one. @return 0, or -1 to close */
static int conn_read(struct tcpio *io, unsigned id, uint64_t now)
{
	size_t cap;
	uint8_t *buf;
	ssize_t r;

	if (io->eof[id] ||
	    !(dmp_node_tcp_want(io->t, id) & DMP_NODE_TCP_WANT_READ)) {
		return 0;
	}
	buf = dmp_node_tcp_rbuf(io->t, id, &cap);
	if (!buf) {
		return -1; /* out of memory */
	}
	r = recv(io->fd[id], buf, cap, 0);
	if (r == 0) {
		io->eof[id] = 1; /* answer what came, then close */
		return 0;
	}
	if (r < 0) {
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
			   ? 0
			   : -1;
	}
	dmp_node_tcp_rdone(io->t, id, (size_t)r, now);
	return 0;
}

/* One turn of @p id. @return 0, or -1 to close */
static int conn_turn(struct tcpio *io, unsigned id)
{
	struct srv *s = io->s;
	uint64_t now = dmpnode_mono_ms();
	struct outctx o = {io->t, id};
	const uint8_t *msg;
	size_t len;
	int rc, answered = 0;
	unsigned w;
	struct epoll_event ev;

	if (conn_read(io, id, now) < 0) {
		return -1;
	}
	dmp_node_tcp_turn(io->t, id);
	while ((rc = dmp_node_tcp_next(io->t, id, &msg, &len, now)) == 1) {
		/* Zone transfers come back as several messages. */
		if (dmp_node_handle_stream(
			s->node, msg, len,
			(const struct sockaddr *)&io->peer[id], conn_out, &o,
			dmpnode_now_ms(s->off)) != 0) {
			return -1;
		}
		answered = 1;
	}
	if (rc < 0 || conn_flush(io, id, now) < 0) {
		return -1;
	}
	if (answered) {
		/* As the UDP writer; idle flushes in the main loop. */
		(void)dmp_node_flush(s->node, FLUSH_AFTER, IDLE_NS);
	}
	w = dmp_node_tcp_want(io->t, id);
	if (io->eof[id] &&
	    !(w & (DMP_NODE_TCP_WANT_TURN | DMP_NODE_TCP_WANT_WRITE))) {
		return -1; /* all answered and sent */
	}
	if (w & DMP_NODE_TCP_WANT_TURN) {
		rq_push(io, id);
	}
	ev.events =
	    ((w & DMP_NODE_TCP_WANT_READ) && !io->eof[id] ? EPOLLIN : 0) |
	    (w & DMP_NODE_TCP_WANT_WRITE ? EPOLLOUT : 0);
	ev.data.u64 = id;
	if (ev.events != io->mask[id]) {
		epoll_ctl(io->ep, EPOLL_CTL_MOD, io->fd[id], &ev);
		io->mask[id] = ev.events;
	}
	return 0;
}

static void do_accept(struct tcpio *io, int lfd)
{
	for (unsigned k = 0; k < ACCEPT_PER_WAKE; k++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		int one = 1, evicted = 0, id;

		if (fd < 0) {
			return;
		}
		id = dmp_node_tcp_open(io->t, (struct sockaddr *)&peer,
				       dmpnode_mono_ms(), &evicted);
		if (id < 0) {
			close(fd); /* a limit; counted and logged */
			continue;
		}
		if (evicted) {
			sock_close(io, (unsigned)id);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		io->fd[id] = fd;
		io->peer[id] = peer;
		io->mask[id] = EPOLLIN;
		io->eof[id] = 0;
		ev.data.u64 = (uint64_t)id;
		if (epoll_ctl(io->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_close(io, (unsigned)id);
		}
	}
}

static void sweep(struct tcpio *io, uint64_t now)
{
	unsigned ids[64];
	size_t k;

	do {
		k = dmp_node_tcp_expire(io->t, now, ids, 64);
		for (size_t i = 0; i < k; i++) {
			sock_close(io, ids[i]);
		}
	} while (k == 64);
}

static int io_init(struct tcpio *io, struct srv *s)
{
	memset(io, 0, sizeof(*io));
	io->s = s;
	io->t = s->tcp;
	io->max = (unsigned)s->c->tcp_max_clients;
	io->ep = epoll_create1(EPOLL_CLOEXEC);
	io->fd = malloc(io->max * sizeof(*io->fd));
	for (unsigned i = 0; io->fd && i < io->max; i++) {
		io->fd[i] = -1;
	}
	io->mask = calloc(io->max, sizeof(*io->mask));
	io->eof = calloc(io->max, 1);
	io->queued = calloc(io->max, 1);
	io->peer = calloc(io->max, sizeof(*io->peer));
	io->rq = calloc(io->max, sizeof(*io->rq));
	if (io->ep < 0 || !io->fd || !io->mask || !io->eof || !io->queued ||
	    !io->peer || !io->rq) {
		return -1;
	}
	for (unsigned i = 0; i < s->n_addr; i++) {
		struct epoll_event ev = {.events = EPOLLIN};

		/* Listen sockets are tagged with max + i. */
		ev.data.u64 = io->max + i;
		if (epoll_ctl(io->ep, EPOLL_CTL_ADD, s->tcp_fd[i], &ev) < 0) {
			return -1;
		}
	}
	return 0;
}

static void io_fini(struct tcpio *io)
{
	for (unsigned i = 0; io->fd && i < io->max; i++) {
		if (io->fd[i] >= 0) {
			conn_close(io, i);
		}
	}
	free(io->fd);
	free(io->mask);
	free(io->eof);
	free(io->queued);
	free(io->peer);
	free(io->rq);
	if (io->ep >= 0) {
		close(io->ep);
	}
}

void *dmpnode_tcp_main(void *arg)
{
	struct srv *s = arg;
	struct tcpio io;
	struct epoll_event evs[EVENTS];
	uint64_t last_sweep = 0;

	if (io_init(&io, s) < 0) {
		DMP_LOG_E("dmp-node: TCP thread: out of memory or epoll "
			  "failed; TCP is not served");
		goto out;
	}
	while (!atomic_load(&s->stop)) {
		int tmo = io.rq_len		      ? 0
			  : dmp_node_pending(s->node) ? IDLE_NS / 1000000
						      : SWEEP_MS;
		int n = epoll_wait(io.ep, evs, EVENTS, tmo);
		uint64_t now;

		if (n == 0) {
			(void)dmp_node_flush(s->node, FLUSH_AFTER, IDLE_NS);
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag >= io.max) {
				do_accept(&io, s->tcp_fd[tag - io.max]);
			} else if (io.fd[tag] < 0) {
				continue;
			} else if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				conn_close(&io, (unsigned)tag);
			} else {
				rq_push(&io, (unsigned)tag);
			}
		}
		/* Round robin: each connection waiting now gets one turn;
		 * those with more to do go to the back of the queue. */
		for (unsigned k = io.rq_len; k > 0; k--) {
			unsigned id = rq_pop(&io);

			if (io.fd[id] >= 0 && conn_turn(&io, id) < 0) {
				conn_close(&io, id);
			}
		}
		now = dmpnode_mono_ms();
		if (now - last_sweep >= SWEEP_MS) {
			sweep(&io, now);
			last_sweep = now;
		}
	}
out:
	io_fini(&io);
	return NULL;
}
