/*
 * tools/dmp-node/server.c - process setup and the threads' lifecycle
 * around dmp_node_handle(): per listen address, udp_workers UDP sockets bound
 * with SO_REUSEPORT (one per thread, batched with recvmmsg/sendmmsg), one TCP
 * thread (epoll round robin over the dmp_node_tcp table: RFC 7766 framing,
 * pipelined queries, per-connection turns, output caps, deadlines and
 * connection limits), a writer thread for UDP UPDATEs, and a maintenance thread
 * (reaping, update log checkpoints, NOTIFY, heartbeat).
 *
 * Signals: every asynchronous signal is blocked before the first thread
 * (libmicrohttpd's included) starts, so all threads inherit the mask; the
 * main thread alone takes SIGTERM, SIGINT and SIGHUP with sigwait(). The
 * config the threads read (struct node_conf) is never written after they
 * start: SIGHUP builds a new one and hands the reloadable parts to the
 * node (dmp_node_reconfigure(), under the node's own locks) and to the log
 * sink (dmp_log_set_handler(), thread-safe).
 *
 * udp.c and tcp.c hold the thread bodies of the DNS side.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dmp/addr.h"
#include "dmp/crypto.h"
#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "srv.h"

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

uint64_t dmpnode_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t dmpnode_now_ms(int64_t off)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
			  off);
}

/* ADDR:PORT of the config: numeric (never a name lookup), port required;
 * "[v6]:port" for IPv6 (dmp/addr.h, the one HOST[:PORT] parser). */
int dmpnode_parse_addr(const char *spec, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	return dmp_addr_parse(spec, 0, DMP_ADDR_NEED_PORT | DMP_ADDR_NUMERIC,
			      ss, len) == 0
		   ? 0
		   : -1;
}

int dmpnode_open_sock(const struct sockaddr_storage *ss, socklen_t len,
		      int type)
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
	    (type == SOCK_STREAM && listen(fd, TCP_BACKLOG) < 0)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
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

			if (dmpnode_parse_addr(s->c->notify.v[i], &ss, &sl) <
				0 ||
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
		uint64_t now = dmpnode_now_ms(s->off);
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

/* Mesh discovery (PROTOCOL.md 8) on a thread of its own: a round waits on
 * the network for up to a few resolver timeouts, which must not hold up
 * the maintenance thread's checkpoints and reaping. */
static void *disc_main(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		(void)dmp_node_disc_tick(s->disc, dmpnode_now_ms(s->off));
		usleep(250000);
	}
	return NULL;
}

static int disc_setup(struct srv *s, const struct node_conf *c,
		      const uint8_t *self_pk)
{
	const char *seeds[DMP_CFG_LIST_MAX], *res[DMP_CFG_LIST_MAX];
	struct dmp_node_disc_opts o = {
	    .seeds = seeds,
	    .n_seeds = c->seeds.n,
	    .resolvers = res,
	    .n_resolvers = c->resolvers.n,
	    .timeout_ms = (unsigned)c->seed_resolver_timeout * 1000,
	    .self_pk = self_pk,
	    .self_endpoint = c->endpoint,
	    .interval_s = (uint32_t)c->discovery_interval,
	    .expiry_s = (uint32_t)c->peer_expiry,
	    .max_peers = (uint32_t)c->max_peers,
	    .allow_loopback = c->heartbeat_allow_loopback,
	};
	int err;

	for (unsigned i = 0; i < c->seeds.n; i++) {
		seeds[i] = c->seeds.v[i];
	}
	for (unsigned i = 0; i < c->resolvers.n; i++) {
		res[i] = c->resolvers.v[i];
	}
	err = dmp_node_disc_new(&s->disc, s->node, &o);
	if (err < 0) {
		DMP_LOG_E("dmp-node: mesh discovery: %s (check mesh.seeds "
			  "and mesh.resolvers)",
			  dmp_strerror(err));
		return -1;
	}
	DMP_LOG_N("dmp-node: mesh discovery from %u seed zone(s) every "
		  "%lld s",
		  c->seeds.n, c->discovery_interval);
	return 0;
}

static uint64_t http_clock(void *ud);

/* Relay links (docs/protocol.md 8.7.4): the prober's own thread starts
 * here; the HTTP side finds it through the node. @return 0 or < 0 */
static int mesh_setup(struct srv *s, const struct node_conf *c,
		      const uint8_t *op_pk, const uint8_t *op_sk)
{
	const char *nb[DMP_CFG_LIST_MAX];
	struct dmp_node_mesh_opts o = {
	    .endpoint = c->endpoint,
	    .operator_pk = op_pk,
	    .operator_sk = op_sk,
	    .neighbours = nb,
	    .n_neighbours = c->mesh_neighbours.n,
	    .interval_s = (uint32_t)c->mesh_link_interval,
	    .allow_loopback = c->heartbeat_allow_loopback,
	    .now_ms = http_clock,
	    .now_ud = s,
	    .max_discovered = (size_t)c->mesh_discovered_neighbours,
	};
	int err;

	for (unsigned i = 0; i < c->mesh_neighbours.n; i++) {
		nb[i] = c->mesh_neighbours.v[i];
	}
	err = dmp_node_mesh_new(&s->mesh, s->node, &o, 1);
	if (err < 0) {
		DMP_LOG_E("dmp-node: relay links: %s (check mesh.neighbours: "
			  "http(s)://host[:port] each)",
			  dmp_strerror(err));
		return err;
	}
	DMP_LOG_N("dmp-node: relay links to %u neighbour(s) and up to %lld "
		  "discovered relay(s) every %lld s",
		  c->mesh_neighbours.n, c->mesh_discovered_neighbours,
		  c->mesh_link_interval);
	return 0;
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

	return dmpnode_now_ms(s->off);
}

/* SIGHUP: what may change without a restart (see dmp-node(8)). */
static void reload(struct srv *s, node_reload_fn fn, void *ud)
{
	struct node_conf *nc = calloc(1, sizeof(*nc));
	struct dmp_node_opts o;

	if (!nc || !fn || fn(nc, ud) != 0 || dmpnode_conf_opts(nc, &o) != 0) {
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

/* The TCP connection table, and file descriptors for all of it: the soft
 * RLIMIT_NOFILE raised towards the hard one when tcp_max_clients needs it.
 * @return 0 or -1 (logged) */
static int tcp_table(struct srv *s)
{
	struct dmp_node_tcp_opts to;
	struct rlimit rl;
	/* stdio, listen and UDP sockets, sqlite, log, epoll, HTTP: */
	rlim_t need = (rlim_t)s->c->tcp_max_clients + 64 +
		      (rlim_t)s->n_addr * (rlim_t)(s->c->udp_workers + 1);
	int err;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < need) {
			DMP_LOG_W("dmp-node: network.tcp_max_clients %lld "
				  "needs %llu file descriptors, the limit "
				  "is %llu: raise it (ulimit -n, "
				  "LimitNOFILE=) or lower the setting",
				  s->c->tcp_max_clients,
				  (unsigned long long)need,
				  (unsigned long long)rl.rlim_cur);
		}
	}
	dmpnode_conf_tcp(s->c, &to);
	err = dmp_node_tcp_new(&s->tcp, &to, s->node);
	if (err < 0) {
		DMP_LOG_E("dmp-node: TCP limits: %s", dmp_strerror(err));
		return -1;
	}
	return 0;
}

int dmpnode_serve(const struct node_conf *c, const struct dmp_node_opts *o,
		  int64_t clock_off_ms, int foreground,
		  node_reload_fn reload_fn, void *reload_ud)
{
	struct dmp_node *n = NULL;
	struct dmp_node_http *http = NULL;
	struct dmp_node_http_opts ho;
	int http_fd = -1;
	struct srv s;
	struct udp_worker *w = NULL;
	unsigned n_w = 0;
	pthread_t tcp_th, maint_th, writer_th, disc_th;
	int tcp_on = 0, maint_on = 0, writer_on = 0, wq_on = 0, disc_on = 0;
	uint8_t op_pk[32], op_sk[64];
	int have_opkey = 0, op_pk_set = 0;
	struct dmp_node_sync *sync = NULL;
	struct dmp_node_sync_opts so;
	int sync_on = 0;
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
	memset(&ho, 0, sizeof(ho));
	memset(&so, 0, sizeof(so));
	s.c = c;
	s.off = clock_off_ms;
	atomic_init(&s.stop, 0);
	for (unsigned i = 0; i < MAX_LISTEN; i++) {
		s.tcp_fd[i] = -1;
	}
	w = calloc((size_t)c->listen.n * (size_t)c->udp_workers, sizeof(*w));
	if (!w || dmpnode_wq_init(&s.wq) < 0) {
		free(w);
		return 1;
	}
	wq_on = 1;
	for (unsigned i = 0; i < c->listen.n; i++) {
		if (dmpnode_parse_addr(c->listen.v[i], &s.addr[i], &s.alen[i]) <
		    0) {
			DMP_LOG_E("dmp-node: bad listen address %s",
				  c->listen.v[i]);
			goto out;
		}
		s.tcp_fd[i] =
		    dmpnode_open_sock(&s.addr[i], s.alen[i], SOCK_STREAM);
		/* A deep accept queue (the kernel caps it at somaxconn):
		 * the TCP thread drains it fast, refusing what the limits
		 * refuse, so that a connect flood does not make the kernel
		 * drop an honest client's SYN. */
		if (s.tcp_fd[i] < 0 || listen(s.tcp_fd[i], TCP_BACKLOG) < 0 ||
		    fcntl(s.tcp_fd[i], F_SETFL, O_NONBLOCK) < 0) {
			DMP_LOG_E("dmp-node: TCP %s: %s", c->listen.v[i],
				  strerror(errno));
			goto out;
		}
		for (long long k = 0; k < c->udp_workers; k++) {
			int fd = dmpnode_open_sock(&s.addr[i], s.alen[i],
						   SOCK_DGRAM);

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

		if (dmpnode_conf_http(c, &ho) < 0) {
			goto out;
		}
		if (dmpnode_parse_addr(c->http, &hs, &hl) < 0) {
			DMP_LOG_E("dmp-node: bad http address %s", c->http);
			goto out;
		}
		http_fd = dmpnode_open_sock(&hs, hl, SOCK_STREAM);
		if (http_fd < 0) {
			DMP_LOG_E("dmp-node: HTTP %s: %s", c->http,
				  strerror(errno));
			goto out;
		}
	}
	if (c->relay_enabled && !c->http[0]) {
		DMP_LOG_W("dmp-node: mesh.relay_enabled: no network.http, so "
			  "no POST /v1/relay to take bundles on; set "
			  "network.http (behind a TLS proxy)");
	}
	if (c->endpoint[0] && !c->operator_key[0]) {
		DMP_LOG_E("dmp-node: mesh.endpoint needs mesh.operator_key");
		goto out;
	}
	if (c->operator_key[0]) {
		/* Read (or create) the key before dropping root, so that it
		 * may stay readable by root only. Without an endpoint it
		 * signs nothing yet, but exists for when one is set. */
		if (dmp_node_opkey_load(c->operator_key, op_pk, op_sk) < 0) {
			goto out;
		}
		have_opkey = 1;
		op_pk_set = 1;
	}
	/* Before dropping root: sync.token_file may be root's only. */
	sync_on = dmpnode_conf_sync(c, &so, c->http[0] ? &ho : NULL,
				    have_opkey ? op_pk : NULL);
	if (sync_on < 0) {
		goto out;
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
		int err = dmp_node_new(&n, o, dmpnode_now_ms(clock_off_ms));

		if (err < 0) {
			DMP_LOG_E("dmp-node: cannot open %s: %s", o->db_path,
				  dmp_strerror(err));
			goto out;
		}
	}
	s.node = n;
	if (tcp_table(&s) < 0) {
		goto out;
	}
	if (have_opkey && c->endpoint[0]) {
		struct dmp_node_hb_opts hbo = {
		    .endpoint = c->endpoint,
		    .operator_pk = op_pk,
		    .operator_sk = op_sk,
		    .claim_zone = c->claim_provider_zone,
		    .interval_s = (uint32_t)c->heartbeat_interval,
		    .allow_loopback = c->heartbeat_allow_loopback,
		    .claim_provider = c->claim_provider,
		    .relay = c->relay_enabled,
		};
		int err = dmp_node_hb_new(&s.hb, n, &hbo);

		if (err >= 0 && c->relay_enabled) {
			err = mesh_setup(&s, c, op_pk, op_sk);
		}
		dmp_wipe(op_sk, sizeof(op_sk));
		have_opkey = 0;
		if (err < 0) {
			DMP_LOG_E("dmp-node: heartbeat: %s", dmp_strerror(err));
			goto out;
		}
	}
	if (c->relay_enabled && !s.mesh) {
		/* A warning, not a refusal: the reference's section 10
		 * configs carry relay_enabled without an endpoint. */
		DMP_LOG_W("dmp-node: mesh.relay_enabled: no relay links "
			  "without mesh.endpoint and mesh.operator_key (the "
			  "link record is signed with the heartbeat's key)");
	}
	dmp_wipe(op_sk, sizeof(op_sk)); /* signs nothing without endpoint */
	have_opkey = 0;
	if (c->seeds.n && disc_setup(&s, c, op_pk_set ? op_pk : NULL) < 0) {
		goto out;
	}
	if (http_fd >= 0) {
		int err;

		ho.listen_fd = http_fd;
		if (op_pk_set) { /* DMP-RELAY/1 path fingerprint */
			dmp_hex_encode(ho.relay.fp, op_pk, 8);
		}
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
	if (sync_on) {
		int err;

		so.now_ms = http_clock;
		so.now_ud = &s;
		err = dmp_node_sync_new(&sync, n, &so, 1);
		if (err < 0) {
			DMP_LOG_E("dmp-node: sync: %s", dmp_strerror(err));
			goto out;
		}
		DMP_LOG_N("dmp-node: anti-entropy every %llds (%u static "
			  "peer(s)%s%s)",
			  c->sync_interval, so.n_peers,
			  so.cluster[0] ? ", cluster " : "", so.cluster);
	}
	for (unsigned i = 0; i < n_w; i++) {
		w[i].on =
		    start_thread(&w[i].th, dmpnode_udp_main, &w[i], "UDP");
		if (!w[i].on) {
			goto stop;
		}
	}
	writer_on = start_thread(&writer_th, dmpnode_writer_main, &s, "writer");
	tcp_on =
	    writer_on && start_thread(&tcp_th, dmpnode_tcp_main, &s, "TCP");
	maint_on =
	    tcp_on && start_thread(&maint_th, maint_main, &s, "maintenance");
	if (!maint_on) {
		goto stop;
	}
	if (s.disc) {
		disc_on = start_thread(&disc_th, disc_main, &s, "discovery");
		if (!disc_on) {
			goto stop;
		}
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
	if (disc_on) {
		pthread_join(disc_th, NULL);
	}
out:
	/* The sync thread and libmicrohttpd's call into the node. */
	dmp_node_sync_free(sync);
	dmp_wipe(so.token, sizeof(so.token));
	dmp_wipe(ho.sync_token, sizeof(ho.sync_token));
	dmp_node_http_free(http);
	dmp_node_mesh_free(s.mesh); /* after the HTTP side, which reads it */
	if (http_fd >= 0) {
		close(http_fd);
	}
	dmp_wipe(op_sk, sizeof(op_sk));
	dmp_node_hb_free(s.hb);
	dmp_node_disc_free(s.disc);
	for (unsigned i = 0; i < n_w; i++) {
		close(w[i].fd);
	}
	for (unsigned i = 0; i < MAX_LISTEN; i++) {
		if (s.tcp_fd[i] >= 0) {
			close(s.tcp_fd[i]);
		}
	}
	free(w);
	dmp_node_tcp_free(s.tcp); /* before the node: it holds its counters */
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
