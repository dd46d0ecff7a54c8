/*
 * tools/dmp-node/tcp.c - the TCP thread: epoll over the listen sockets and
 * up to tcp_max_clients connections, RFC 7766 framing, pipelined queries,
 * streamed zone transfers and the idle timeout.
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

struct conn {
	int fd;
	uint64_t last; /* monotonic ms, for the idle timeout */
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
		c->last = dmpnode_mono_ms();
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
			    dmpnode_now_ms(s->off));
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

void *dmpnode_tcp_main(void *arg)
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
		uint64_t now = dmpnode_mono_ms();

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
