/*
 * core/src/node/node_http_conn.c - the HTTP side's connections: a limit
 * per address (keyed by the rate limiter's prefixes) and in total, a
 * deadline for each whole exchange, eviction at the total limit, trusted
 * reverse proxies, and refusals counted and logged (docs/security.md 7.6).
 *
 * libmicrohttpd offers a per-IP connection limit, but it keys whole
 * addresses (an IPv6 /64 is 2^64 of them), cannot exempt a proxy, and has
 * no deadline for a request that trickles in a byte at a time (its
 * timeout is reset by every byte). So the accept policy and the connection
 * notifier keep our own list. Everything here runs on libmicrohttpd's one
 * polling thread (the accept policy, the notifier and the request
 * callbacks alike), so a connection in the list is still open in
 * libmicrohttpd when we look at it: closing one is shutdown(2) on its
 * socket, which libmicrohttpd then reads as the client's end and closes
 * itself, never a close(2) that could race the reuse of the descriptor.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_http_i.h"
#include "node/node_i.h"

/* At most one log line per reason this often (ms). */
#define LOG_EVERY_MS 10000

const char *const dmp_nh_refusal_names[NH_REF_MAX] = {
    "conn_per_address", "conn_total",	"conn_evicted",	     "request_timeout",
    "idle_timeout",	"rate_limit",	"registration_rate", "body_too_large",
    "records_off",	"records_auth", "records_scope",     "records_reserved",
    "sync_auth",
};

static const char *const why_text[NH_REF_MAX] = {
    "per-address connection limit",
    "total connection limit",
    "connection closed to make room",
    "request deadline passed",
    "idle timeout",
    "request rate limit",
    "registration rate limit",
    "body too large",
    "record API off",
    "record API token missing or wrong",
    "outside the token's scopes",
    "reserved name",
    "sync token missing or wrong",
};

struct nh_conn {
	struct nh_conn *next, **pprev;
	uint8_t key[17];
	struct sockaddr_storage addr; /* for the log */
	int fd;
	int trusted; /* from a trusted proxy */
	int closing; /* shut down by us, no longer counted */
	uint64_t since_ms, deadline_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	const void *a = NULL;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa && sa->sa_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	}
	if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)cap)) {
		snprintf(out, cap, "?");
	}
}

void dmp_nh_refuse(struct dmp_node_http *h, enum nh_refusal why,
		   const struct sockaddr *who)
{
	uint64_t now = mono_ms(), quiet = 0;
	int say = 0;

	atomic_fetch_add(&h->refused[why], 1);
	pthread_mutex_lock(&h->cmu);
	if (h->log_ms[why] == 0 || now - h->log_ms[why] >= LOG_EVERY_MS) {
		say = 1;
		quiet = h->log_quiet[why];
		h->log_quiet[why] = 0;
		h->log_ms[why] = now;
	} else {
		h->log_quiet[why]++;
	}
	pthread_mutex_unlock(&h->cmu);
	if (say && dmp_log_enabled(DMP_LOG_NOTICE)) {
		char a[INET6_ADDRSTRLEN], more[64] = "";

		addr_text(who, a, sizeof(a));
		if (quiet) {
			snprintf(more, sizeof(more),
				 " (and %llu more since the previous line)",
				 (unsigned long long)quiet);
		}
		DMP_LOG_N("node: HTTP refused: %s, from %s%s "
			  "[dmp_node_http_refusals_total{reason=\"%s\"}]",
			  why_text[why], who ? a : "a direct caller", more,
			  dmp_nh_refusal_names[why]);
	}
}

/* An address for a sockaddr_storage: v4, v6, "[v6]" or either with a
 * ":port" (proxies differ). @return 0 or -1 */
static int parse_ip(const char *s, size_t len, struct sockaddr_storage *out)
{
	char b[64];
	char *colon;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
		len--;
	}
	if (len == 0 || len >= sizeof(b)) {
		return -1;
	}
	memcpy(b, s, len);
	b[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (b[0] == '[') {
		char *end = strchr(b, ']');

		if (!end || (end[1] && end[1] != ':')) {
			return -1;
		}
		*end = '\0';
		memmove(b, b + 1, strlen(b + 1) + 1);
	}
	if (inet_pton(AF_INET6, b, &((struct sockaddr_in6 *)out)->sin6_addr) ==
	    1) {
		out->ss_family = AF_INET6;
		return 0;
	}
	colon = strchr(b, ':');
	if (colon && !strchr(colon + 1, ':')) {
		*colon = '\0'; /* a.b.c.d:port */
	}
	if (inet_pton(AF_INET, b, &((struct sockaddr_in *)out)->sin_addr) ==
	    1) {
		out->ss_family = AF_INET;
		return 0;
	}
	return -1;
}

/* Same address (IPv4-mapped IPv6 equal to its IPv4)? */
static int same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	uint8_t ka[17], kb[17];

	return dmp_rl_addr_key(a, 32, 128, ka) == 0 &&
	       dmp_rl_addr_key(b, 32, 128, kb) == 0 &&
	       memcmp(ka, kb, sizeof(ka)) == 0;
}

static int is_proxy(const struct dmp_node_http *h, const struct sockaddr *sa)
{
	for (unsigned i = 0; sa && i < h->n_proxies; i++) {
		if (same_ip(sa, (const struct sockaddr *)&h->proxies[i])) {
			return 1;
		}
	}
	return 0;
}

int dmp_nh_conn_init(struct dmp_node_http *h)
{
	const struct dmp_node_http_opts *o = &h->o;

	pthread_mutex_init(&h->cmu, NULL);
	for (int i = 0; i < NH_REF_MAX; i++) {
		atomic_init(&h->refused[i], 0);
	}
	h->v4_prefix = h->n->o.rate_v4_prefix;
	h->v6_prefix = h->n->o.rate_v6_prefix;
	if (o->max_conns < 1 || o->max_conns > 65536 ||
	    o->max_conns_per_addr < 1 || o->max_conns_per_addr > 65536 ||
	    o->idle_timeout < 1 || o->idle_timeout > 3600 ||
	    o->request_timeout < 1 || o->request_timeout > 3600 ||
	    o->conn_memory < 4096 || o->conn_memory > 1048576 ||
	    o->n_trusted_proxies > DMP_NODE_HTTP_MAX_PROXIES) {
		DMP_LOG_E("node: HTTP limits out of range (connections "
			  "1..65536, timeouts 1..3600 s, memory 4096..1048576 "
			  "bytes, at most %d proxies)",
			  DMP_NODE_HTTP_MAX_PROXIES);
		return DMP_EINVAL;
	}
	for (unsigned i = 0; i < o->n_trusted_proxies; i++) {
		const char *p = o->trusted_proxies[i];

		if (parse_ip(p, strnlen(p, sizeof(o->trusted_proxies[i])),
			     &h->proxies[i]) < 0) {
			DMP_LOG_E("node: HTTP trusted proxy '%s' is not an IP "
				  "address",
				  p);
			return DMP_EINVAL;
		}
	}
	h->n_proxies = o->n_trusted_proxies;
	return 0;
}

void dmp_nh_conn_fini(struct dmp_node_http *h)
{
	while (h->conns) {
		struct nh_conn *c = h->conns;

		h->conns = c->next;
		dmp_free(c);
	}
	pthread_mutex_destroy(&h->cmu);
}

const struct sockaddr *dmp_nh_client(const struct dmp_node_http *h,
				     const struct dmp_node_http_req *rq,
				     struct sockaddr_storage *buf)
{
	const char *x = rq->forwarded_for, *last;

	if (!rq->peer || !x || !is_proxy(h, rq->peer)) {
		return rq->peer;
	}
	/* The proxy appended the last entry; the earlier ones are whatever
	 * the client sent. */
	last = strrchr(x, ',');
	last = last ? last + 1 : x;
	if (parse_ip(last, strlen(last), buf) < 0) {
		return rq->peer; /* a proxy that sends no address: its own */
	}
	return (const struct sockaddr *)buf;
}

unsigned dmp_nh_conns_open(struct dmp_node_http *h)
{
	unsigned n;

	pthread_mutex_lock(&h->cmu);
	n = h->n_live;
	pthread_mutex_unlock(&h->cmu);
	return n;
}

/* cmu held. Stop counting @p c and end it (see the top of the file). */
static void doom(struct dmp_node_http *h, struct nh_conn *c)
{
	c->closing = 1;
	h->n_live--;
	shutdown(c->fd, SHUT_RDWR);
}

static int by_key_age(const void *a, const void *b)
{
	const struct nh_conn *x = *(struct nh_conn *const *)a;
	const struct nh_conn *y = *(struct nh_conn *const *)b;
	int k = memcmp(x->key, y->key, sizeof(x->key));

	if (k) {
		return k;
	}
	return x->since_ms < y->since_ms ? -1 : x->since_ms > y->since_ms;
}

/* cmu held: the connection to close to make room, or NULL: the oldest
 * of the address that holds the most; a trusted proxy's only when there
 * is nothing else. Sorted by address: O(n log n) at n = max_conns. */
static struct nh_conn *victim(struct dmp_node_http *h)
{
	struct nh_conn *best = NULL, **v;
	size_t n = 0, best_n = 0;

	for (struct nh_conn *c = h->conns; c; c = c->next) {
		n += !c->closing && !c->trusted;
	}
	v = n ? dmp_malloc(n * sizeof(*v)) : NULL;
	if (v) {
		size_t k = 0;

		for (struct nh_conn *c = h->conns; c; c = c->next) {
			if (!c->closing && !c->trusted) {
				v[k++] = c;
			}
		}
		qsort(v, n, sizeof(*v), by_key_age);
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && memcmp(v[j]->key, v[i]->key,
							sizeof(v[i]->key)) == 0;
			     j++) {
			}
			if (j - i > best_n ||
			    (j - i == best_n &&
			     v[i]->since_ms < best->since_ms)) {
				best = v[i];
				best_n = j - i;
			}
		}
		dmp_free(v);
		return best;
	}
	/* Only proxies (or no memory): the oldest of all. */
	for (struct nh_conn *c = h->conns; c; c = c->next) {
		if (!c->closing && (!best || c->since_ms < best->since_ms)) {
			best = c;
		}
	}
	return best;
}

enum MHD_Result dmp_nh_accept(void *cls, const struct sockaddr *addr,
			      socklen_t len)
{
	struct dmp_node_http *h = cls;
	uint64_t now = mono_ms();
	uint8_t key[17];
	struct sockaddr_storage late, gone; /* for the log */
	unsigned same = 0;
	int trusted = is_proxy(h, addr), refuse = -1, evicted = 0,
	    timed_out = 0;

	(void)len;
	if (dmp_rl_addr_key(addr, h->v4_prefix, h->v6_prefix, key) < 0) {
		return MHD_YES; /* not IP (never on an IP socket) */
	}
	pthread_mutex_lock(&h->cmu);
	for (struct nh_conn *c = h->conns; c; c = c->next) {
		if (!c->closing && now >= c->deadline_ms) {
			doom(h, c);
			late = c->addr;
			timed_out++;
		}
		same += !c->closing && memcmp(c->key, key, sizeof(key)) == 0;
	}
	if (!trusted && same >= h->o.max_conns_per_addr) {
		refuse = NH_REF_CONN_PER_ADDR;
	} else if (h->n_live >= h->o.max_conns) {
		struct nh_conn *v = victim(h);

		if (v && (!v->trusted || trusted)) {
			doom(h, v);
			gone = v->addr;
			evicted = 1;
		} else {
			refuse = NH_REF_CONN_TOTAL;
		}
	}
	pthread_mutex_unlock(&h->cmu);
	while (timed_out-- > 0) {
		dmp_nh_refuse(h, NH_REF_REQUEST_TIMEOUT,
			      (struct sockaddr *)&late);
	}
	if (evicted) {
		dmp_nh_refuse(h, NH_REF_CONN_EVICTED, (struct sockaddr *)&gone);
	}
	if (refuse >= 0) {
		dmp_nh_refuse(h, (enum nh_refusal)refuse, addr);
		return MHD_NO;
	}
	return MHD_YES;
}

void dmp_nh_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
		   enum MHD_ConnectionNotificationCode code)
{
	struct dmp_node_http *h = cls;
	struct nh_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ai = MHD_get_connection_info(
		    mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *fi = MHD_get_connection_info(
		    mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = dmp_calloc(1, sizeof(*c));
		if (!c) {
			return; /* not tracked: limits err on the open side */
		}
		c->fd = fi ? fi->connect_fd : -1;
		if (!ai || c->fd < 0 ||
		    dmp_rl_addr_key(ai->client_addr, h->v4_prefix, h->v6_prefix,
				    c->key) < 0) {
			dmp_free(c);
			return;
		}
		c->trusted = is_proxy(h, ai->client_addr);
		memcpy(&c->addr, ai->client_addr,
		       ai->client_addr->sa_family == AF_INET6
			   ? sizeof(struct sockaddr_in6)
			   : sizeof(struct sockaddr_in));
		c->since_ms = mono_ms();
		c->deadline_ms = c->since_ms + h->o.request_timeout * 1000ull;
		pthread_mutex_lock(&h->cmu);
		c->next = h->conns;
		c->pprev = &h->conns;
		if (h->conns) {
			h->conns->pprev = &c->next;
		}
		h->conns = c;
		h->n_live++;
		pthread_mutex_unlock(&h->cmu);
		*socket_context = c;
		return;
	}
	if (code == MHD_CONNECTION_NOTIFY_CLOSED && c) {
		pthread_mutex_lock(&h->cmu);
		if (!c->closing) {
			h->n_live--;
		}
		*c->pprev = c->next;
		if (c->next) {
			c->next->pprev = c->pprev;
		}
		pthread_mutex_unlock(&h->cmu);
		dmp_free(c);
		*socket_context = NULL;
	}
}

void dmp_nh_exchange_done(struct dmp_node_http *h, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *si =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct nh_conn *c = si ? si->socket_context : NULL;

	if (c) {
		/* The next request on this connection gets its own time. */
		pthread_mutex_lock(&h->cmu);
		c->since_ms = mono_ms();
		c->deadline_ms = c->since_ms + h->o.request_timeout * 1000ull;
		pthread_mutex_unlock(&h->cmu);
	}
}
