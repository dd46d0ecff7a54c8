/* tools/dmp-node/srv.h - what the dmp-node threads share (server.c starts
 * them, udp.c and tcp.c run them). */
#ifndef DMP_NODE_SRV_H
#define DMP_NODE_SRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "node_main.h"

#define BATCH 32
#define UDP_RX 8192
#define UDP_TX 4096
#define MAX_LISTEN DMP_CFG_LIST_MAX
#define TCP_BACKLOG 4096 /* listen(2) of the DNS TCP and HTTP sockets */

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

/* Written by the main thread before the first thread starts and read-only
 * after (the config included: SIGHUP never rewrites it), except: stop
 * (atomic), wq (under wq.mu), hb (the maintenance thread's alone) and tcp
 * (the TCP thread's alone). */
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
	/* The TCP thread's connection table (its alone once it runs). */
	struct dmp_node_tcp *tcp;
	/* Heartbeat (PROTOCOL.md 8) when mesh.endpoint is set; NULL: off. */
	struct dmp_node_hb *hb;
	struct dmp_node_disc *disc; /* NULL: no mesh.seeds */
	struct dmp_node_mesh *mesh; /* NULL: mesh.relay_enabled false */
};

struct udp_worker {
	struct srv *s;
	int fd;
	int on; /* th started */
	pthread_t th;
};

/** The writer queue, its condition variable on CLOCK_MONOTONIC.
 * @return 0 or -1 (logged) */
int dmpnode_wq_init(struct wq *q);
/** Thread bodies; @p arg a struct udp_worker (UDP) or struct srv. They
 * return once srv.stop is set (the writer after draining its queue). */
void *dmpnode_udp_main(void *arg);
/** network.udp_rcvbuf on UDP socket @p fd (SO_RCVBUFFORCE as root, else
 * SO_RCVBUF up to net.core.rmem_max). @return the size the kernel took
 * (its own count: twice the payload room), -1 unknown */
int dmpnode_udp_rcvbuf(int fd, long long bytes);
void *dmpnode_writer_main(void *arg);
void *dmpnode_tcp_main(void *arg);
/** Monotonic clock in ms, for timeouts (a wall clock step must not close
 * or keep connections). */
uint64_t dmpnode_mono_ms(void);
/** "ADDR:PORT" or "[V6]:PORT". @return 0 or -1 */
int dmpnode_parse_addr(const char *spec, struct sockaddr_storage *ss,
		       socklen_t *len);
/** Bound (and for TCP listening) socket. @return fd or -1 (errno) */
int dmpnode_open_sock(const struct sockaddr_storage *ss, socklen_t len,
		      int type);

#endif /* DMP_NODE_SRV_H */
