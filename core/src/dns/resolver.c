/* core/src/dns/resolver.c - resolver pool over c-ares (PROTOCOL.md 7.7). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <ares.h>

#include "dmp/addr.h"
#include "dmp/dnsmsg.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/resolver.h"

#include "dns/dnswire.h"
#include "dns/net.h"

/* EDNS payload of a query over TCP. RFC 6891 6.2.3 gives the field no
 * meaning there, but the reference node caps a TCP answer at the query's
 * EDNS size and SERVFAILs what does not fit (docs/protocol.md,
 * interoperability), so TCP queries advertise the largest one. */
#define TCP_EDNS_PAYLOAD 65535
#define TCP_TRIES 2 /* fresh connections per server for one name */
/* Connections open to one server at once: more would overrun small
 * listen backlogs (Knot's is 10: the SYNs past it are dropped, and a
 * retransmitted SYN comes a second later) and is unkind to any server.
 * Names beyond it wait their turn. */
#define TCP_PER_SERVER 4

struct server {
	char addr[64];
	char zone_str[DMP_DNS_NAME_MAX + 2];
	uint8_t zone[DMP_DNS_NAME_MAX + 2]; /* direct entry: wire, else "" */
	int direct;
	ares_channel ch;
	int64_t cooldown_until; /* pool clock */
	int64_t last_failure;
	int failed; /* failed since its last good answer */
	double rtt; /* EWMA ms, < 0 unknown */
	unsigned long queries, answers, failures;
	unsigned consecutive;
	unsigned tcp_busy; /* TCP queries in flight (the batch's) */
};

struct dmp_resolver {
	struct server s[DMP_RESOLVER_MAX_SERVERS];
	size_t n;
	struct dmp_resolver_opts o;
};

struct batch;

struct job {
	struct batch *b;
	size_t idx;
	const char *name;
	uint8_t q[512];
	size_t qlen;
	uint64_t allowed; /* servers this name may use, bitmask */
	uint64_t tried;	  /* servers asked, bitmask */
	uint64_t empties; /* servers that said NXDOMAIN / NODATA */
	int cur;	  /* server the query is at, -1 none */
	int64_t sent_mono;
	int done;
	int last_err;
	int have_empty;
	struct dmp_txt_answer empty; /* first negative answer */
	int empty_server;
	int timed_out; /* some server never replied this round */
	int rounds;    /* rounds over the servers so far */
	/* TCP: c-ares pipelines every query of a channel on one connection,
	 * and a server that answers one query per connection and closes
	 * fails the rest. So a name needing TCP gets its own channel, hence
	 * its own connection (made in the batch loop, never inside a
	 * c-ares callback, where a channel cannot be destroyed). */
	ares_channel tcp;
	int tcp_want;	/* server to ask over TCP at the next loop turn, -1 */
	int via_tcp;	/* the query at cur went over TCP */
	int tcp_tries;	/* connections made to cur */
	int tcp_noedns; /* cur SERVFAILed an EDNS query over TCP */
	int tcp_open;	/* a TCP query in flight, holding a tcp_busy */
	int tcp_srv;	/* ... of this server */
};

struct batch {
	struct dmp_resolver *r;
	struct job *jobs;
	size_t n;
	struct dmp_resolver_result *res;
	size_t pending;
	struct pollfd *pf;   /* poll set, cap entries */
	ares_channel *owner; /* channel of each pf entry */
	size_t cap;
	int cancelling;
	dmp_resolver_done_fn cb;
	void *ud;
};

/*
 * c-ares 1.18's ares_library_init()/ares_library_cleanup() keep a plain
 * reference count and are not thread-safe, while dmpfs creates resolvers
 * from several threads. Initialise once per process and never clean up:
 * on Linux ARES_LIB_INIT_ALL allocates nothing that needs freeing.
 */
static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_once_rc;

static void ares_once_init(void)
{
	ares_once_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

static int ares_init_once(void)
{
	(void)pthread_once(&ares_once, ares_once_init);
	return ares_once_rc;
}

static int64_t default_clock(void *ud)
{
	(void)ud;
	return dmp_net_mono_ms();
}

static int64_t now_ms(const struct dmp_resolver *r)
{
	return r->o.clock(r->o.clock_ud);
}

void dmp_resolver_opts_default(struct dmp_resolver_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 2000;
	o->cooldown_ms = DMP_RESOLVER_COOLDOWN_MS;
	o->rd = 1;
	o->edns_payload = DMP_DNS_EDNS_PAYLOAD;
}

const char *dmp_resolver_state_name(enum dmp_resolver_state s)
{
	switch (s) {
	case DMP_RESOLVER_UP: return "up";
	case DMP_RESOLVER_COOLDOWN: return "cooldown";
	case DMP_RESOLVER_PROBE: return "probe";
	default: return "?";
	}
}

static enum dmp_resolver_state state_of(const struct server *s, int64_t now)
{
	if (s->cooldown_until > now) {
		return DMP_RESOLVER_COOLDOWN;
	}
	return s->failed ? DMP_RESOLVER_PROBE : DMP_RESOLVER_UP;
}

/* A channel to one server (@p addr as dmp_net_addr_str writes it) with one
 * try: failover is ours. The pool reads RCODEs itself (NOCHECKRESP). */
static int new_channel(const struct dmp_resolver *r, const char *addr, int tcp,
		       ares_channel *ch)
{
	struct ares_options ao;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		   ARES_OPT_DOMAINS;

	memset(&ao, 0, sizeof(ao));
	ao.flags =
	    ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	if (tcp) {
		/* One query per channel; no EDNS flag, whose FORMERR fallback
		 * would cut 11 bytes off a query that has no OPT. */
		ao.flags |= ARES_FLAG_USEVC;
	} else {
		/* UDP only: a truncated reply comes back to us (IGNTC) and
		 * the batch loop asks over TCP on a channel of its own. With
		 * EDNS, answers up to our payload are not "oversized". */
		ao.flags |=
		    ARES_FLAG_STAYOPEN | ARES_FLAG_IGNTC | ARES_FLAG_EDNS;
		ao.ednspsz = (int)r->o.edns_payload;
		mask |= ARES_OPT_EDNSPSZ;
	}
	ao.timeout = (int)r->o.timeout_ms;
	ao.tries = 1;
	ao.ndomains = 0;
	if (ares_init_options(ch, &ao, mask) != ARES_SUCCESS) {
		*ch = NULL;
		return DMP_EINTERNAL;
	}
	if (ares_set_servers_ports_csv(*ch, addr) != ARES_SUCCESS) {
		ares_destroy(*ch);
		*ch = NULL;
		return DMP_EINVAL;
	}
	return 0;
}

static int add_server(struct dmp_resolver *r, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct server *s;
	int rc;

	if (r->n >= DMP_RESOLVER_MAX_SERVERS) {
		return DMP_EINVAL;
	}
	rc = dmp_addr_parse(addr, 53, 0, &ss, &sl);
	if (rc != 0) {
		return rc;
	}
	s = &r->s[r->n];
	memset(s, 0, sizeof(*s));
	s->rtt = -1;
	dmp_net_addr_str(s->addr, sizeof(s->addr), &ss);
	rc = new_channel(r, s->addr, 0, &s->ch);
	if (rc != 0) {
		return rc;
	}
	r->n++;
	return 0;
}

/* The nameservers of /etc/resolv.conf, as c-ares reads them. */
static int add_system_servers(struct dmp_resolver *r)
{
	struct ares_addr_port_node *list = NULL;
	ares_channel tmp;
	int rc = 0;

	if (ares_init(&tmp) != ARES_SUCCESS) {
		return DMP_ECONFIG;
	}
	if (ares_get_servers_ports(tmp, &list) != ARES_SUCCESS) {
		ares_destroy(tmp);
		return DMP_ECONFIG;
	}
	for (struct ares_addr_port_node *p = list; p && rc == 0; p = p->next) {
		char ip[INET6_ADDRSTRLEN], addr[80];
		unsigned port = p->udp_port ? (unsigned)p->udp_port : 53;

		if (!inet_ntop(p->family, &p->addr, ip, sizeof(ip))) {
			continue;
		}
		if (p->family == AF_INET6) {
			snprintf(addr, sizeof(addr), "[%s]:%u", ip, port);
		} else {
			snprintf(addr, sizeof(addr), "%s:%u", ip, port);
		}
		if (r->n < DMP_RESOLVER_MAX_SERVERS) {
			rc = add_server(r, addr);
		}
	}
	ares_free_data(list);
	ares_destroy(tmp);
	return rc;
}

int dmp_resolver_new(struct dmp_resolver **out,
		     const struct dmp_resolver_opts *opts)
{
	struct dmp_resolver *r;
	int rc;

	*out = NULL;
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return DMP_ENOMEM;
	}
	if (opts) {
		r->o = *opts;
	} else {
		dmp_resolver_opts_default(&r->o);
	}
	if (!r->o.timeout_ms) {
		r->o.timeout_ms = 2000;
	}
	if (!r->o.cooldown_ms) {
		r->o.cooldown_ms = DMP_RESOLVER_COOLDOWN_MS;
	}
	if (!r->o.edns_payload) {
		r->o.edns_payload = DMP_DNS_EDNS_PAYLOAD;
	}
	if (!r->o.clock) {
		r->o.clock = default_clock;
	}
	r->o.servers = NULL; /* not kept: borrowed strings */
	if (ares_init_once() != ARES_SUCCESS) {
		dmp_free(r);
		return DMP_EINTERNAL;
	}
	if (opts &&
	    opts->n_servers + opts->n_direct > DMP_RESOLVER_MAX_SERVERS) {
		rc = DMP_EINVAL;
		goto out;
	}
	if (opts && opts->n_servers) {
		if (opts->n_servers > DMP_RESOLVER_MAX_SERVERS) {
			rc = DMP_EINVAL;
			goto out;
		}
		for (size_t i = 0; i < opts->n_servers; i++) {
			rc = add_server(r, opts->servers[i]);
			if (rc != 0) {
				goto out;
			}
		}
	} else {
		rc = add_system_servers(r);
		if (rc != 0) {
			goto out;
		}
	}
	for (size_t i = 0; opts && i < opts->n_direct; i++) {
		struct server *s;
		int zl;

		rc = add_server(r, opts->direct[i].server);
		if (rc != 0) {
			goto out;
		}
		s = &r->s[r->n - 1];
		zl = opts->direct[i].zone
			 ? dmp_dns_name_to_wire(s->zone, sizeof(s->zone),
						opts->direct[i].zone)
			 : DMP_EBADNAME;
		if (zl <= 1) {
			rc = DMP_EBADNAME;
			goto out;
		}
		s->direct = 1;
		snprintf(s->zone_str, sizeof(s->zone_str), "%s",
			 opts->direct[i].zone);
	}
	rc = r->n ? 0 : DMP_ECONFIG;
out:
	if (rc != 0) {
		dmp_resolver_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void dmp_resolver_free(struct dmp_resolver *r)
{
	if (!r) {
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (r->s[i].ch) {
			ares_destroy(r->s[i].ch);
		}
	}
	dmp_free(r);
}

void dmp_resolver_result_clear(struct dmp_resolver_result *res)
{
	if (!res) {
		return;
	}
	dmp_txt_answer_clear(&res->answer);
	memset(res, 0, sizeof(*res));
	res->server = -1;
}

size_t dmp_resolver_count(const struct dmp_resolver *r)
{
	return r->n;
}

size_t dmp_resolver_stats(const struct dmp_resolver *r,
			  struct dmp_resolver_stat *out, size_t cap)
{
	int64_t now = now_ms(r);

	for (size_t i = 0; i < r->n && i < cap; i++) {
		const struct server *s = &r->s[i];
		struct dmp_resolver_stat *o = &out[i];

		memset(o, 0, sizeof(*o));
		snprintf(o->addr, sizeof(o->addr), "%s", s->addr);
		snprintf(o->zone, sizeof(o->zone), "%s", s->zone_str);
		o->state = state_of(s, now);
		o->cooldown_left_ms = o->state == DMP_RESOLVER_COOLDOWN
					  ? s->cooldown_until - now
					  : 0;
		o->rtt_ms = s->rtt < 0 ? -1 : (int)(s->rtt + 0.5);
		o->queries = s->queries;
		o->answers = s->answers;
		o->failures = s->failures;
		o->consecutive_failures = s->consecutive;
	}
	return r->n;
}

/* ---- scoring --------------------------------------------------------- */

static void score_failure(struct dmp_resolver *r, size_t i, const char *why)
{
	struct server *s = &r->s[i];
	int64_t now = now_ms(r);

	s->failures++;
	s->consecutive++;
	s->failed = 1;
	s->last_failure = now;
	/* A cooldown, never a ban (PROTOCOL.md 7.7). */
	s->cooldown_until = now + (int64_t)r->o.cooldown_ms;
	DMP_LOG_I("resolver %s: %s; cooling down for %u ms", s->addr, why,
		  r->o.cooldown_ms);
}

static void score_answer(struct dmp_resolver *r, size_t i, int64_t rtt,
			 int good)
{
	struct server *s = &r->s[i];

	s->answers++;
	s->rtt = s->rtt < 0 ? (double)rtt : s->rtt * 0.75 + (double)rtt * 0.25;
	if (good) {
		s->consecutive = 0;
		s->failed = 0;
		s->cooldown_until = 0;
	}
}

/* Next server for a job: untried healthy ones in configured order, then
 * untried cooled ones, oldest failure first (PROTOCOL.md 7.7). */
static int pick(struct dmp_resolver *r, const struct job *j)
{
	int64_t now = now_ms(r);
	int best = -1;

	uint64_t open = j->allowed & ~j->tried;

	for (size_t i = 0; i < r->n; i++) {
		if ((open >> i & 1) &&
		    state_of(&r->s[i], now) != DMP_RESOLVER_COOLDOWN) {
			return (int)i;
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!(open >> i & 1)) {
			continue;
		}
		if (best < 0 ||
		    r->s[i].last_failure < r->s[best].last_failure) {
			best = (int)i;
		}
	}
	return best;
}

/* ---- routing --------------------------------------------------------- */

static uint64_t direct_mask(const struct dmp_resolver *r)
{
	uint64_t m = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (r->s[i].direct) {
			m |= (uint64_t)1 << i;
		}
	}
	return m;
}

/* Servers a name may use: the direct entries of the deepest matching
 * zone, else every pool server. 0 for an invalid name. */
static uint64_t route(const struct dmp_resolver *r, const char *name)
{
	uint8_t w[DMP_DNS_NAME_MAX + 2];
	uint64_t pool = 0, direct = 0;
	size_t best = 0;
	int nl;

	if (!name) {
		return 0;
	}
	nl = dmp_dns_name_to_wire(w, sizeof(w), name);
	if (nl < 0) {
		return 0;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct server *s = &r->s[i];
		size_t zl;

		if (!s->direct) {
			pool |= (uint64_t)1 << i;
			continue;
		}
		zl = dmp_dnswire_name_len(s->zone);
		if (dmp_dnswire_in_zone(w, (size_t)nl, s->zone, zl) &&
		    zl >= best) {
			if (zl > best) {
				direct = 0;
				best = zl;
			}
			direct |= (uint64_t)1 << i;
		}
	}
	return direct ? direct : pool;
}

/* ---- the batch ------------------------------------------------------- */

static void finish(struct job *j, int err, struct dmp_txt_answer *ans,
		   int server)
{
	struct batch *b = j->b;
	struct dmp_resolver_result *res = &b->res[j->idx];

	if (j->done) {
		return;
	}
	j->done = 1;
	j->cur = -1;
	res->err = err;
	res->server = server;
	if (ans) {
		res->answer = *ans;
		memset(ans, 0, sizeof(*ans));
	}
	res->tries = (unsigned)__builtin_popcountll(j->tried);
	dmp_txt_answer_clear(&j->empty);
	b->pending--;
	if (b->cb) {
		b->cb(b->ud, j->idx, j->name, res);
	}
}

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen);

static void advance(struct job *j)
{
	struct dmp_resolver *r = j->b->r;
	int i;

	if (j->b->cancelling) {
		finish(j, DMP_ETIMEDOUT, NULL, -1);
		return;
	}
	i = pick(r, j);
	if (i < 0 && !j->have_empty && j->timed_out && j->rounds == 0) {
		/* Every server failed and one of them only by silence: a lost
		 * datagram, or a node's rate limit dropping us (RRL drops what
		 * it does not slip). One more round, once; the batch deadline
		 * still bounds it. */
		j->rounds = 1;
		j->timed_out = 0;
		j->tried = 0;
		i = pick(r, j);
	}
	if (i < 0) {
		/* Nobody had data: a negative answer if one came. */
		if (j->have_empty) {
			int err = j->empty.rcode == DMP_DNS_RCODE_NXDOMAIN
				      ? DMP_ENXDOMAIN
				      : 0;

			finish(j, err, &j->empty, j->empty_server);
		} else {
			finish(j, j->last_err, NULL, -1);
		}
		return;
	}
	j->tried |= (uint64_t)1 << i;
	j->cur = i;
	j->via_tcp = 0;
	j->tcp_tries = 0;
	j->tcp_noedns = 0;
	j->sent_mono = dmp_net_mono_ms();
	r->s[i].queries++;
	ares_send(r->s[i].ch, j->q, (int)j->qlen, on_reply, j);
}

/* Ask j->tcp_want over TCP on a fresh channel of the job's own (from the
 * batch loop only). */
static void start_tcp(struct job *j)
{
	struct dmp_resolver *r = j->b->r;
	struct dmp_dns_query_opts qo;
	uint8_t q[512];
	size_t qlen;
	int i = j->tcp_want;

	if (j->done) {
		j->tcp_want = -1;
		return;
	}
	if (r->s[i].tcp_busy >= TCP_PER_SERVER) {
		return; /* a later turn */
	}
	j->tcp_want = -1;
	if (j->tcp) {
		ares_destroy(j->tcp); /* its query has completed */
		j->tcp = NULL;
	}
	dmp_dns_query_opts_default(&qo);
	qo.rd = (r->s[i].direct) ? 0 : r->o.rd;
	qo.edns = !j->tcp_noedns;
	qo.payload = TCP_EDNS_PAYLOAD;
	qo.dnssec_ok = r->o.dnssec && qo.edns;
	if (dmp_dns_build_query(q, sizeof(q), &qlen, j->name, DMP_DNS_TYPE_TXT,
				&qo, NULL) != 0 ||
	    new_channel(r, r->s[i].addr, 1, &j->tcp) != 0) {
		j->last_err = DMP_EINTERNAL;
		advance(j);
		return;
	}
	j->cur = i;
	j->via_tcp = 1;
	j->tcp_tries++;
	j->tcp_open = 1;
	j->tcp_srv = i;
	r->s[i].tcp_busy++;
	r->s[i].queries++;
	ares_send(j->tcp, q, (int)qlen, on_reply, j);
}

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen)
{
	struct job *j = arg;
	struct dmp_resolver *r = j->b->r;
	struct dmp_txt_answer a;
	int i = j->cur, rc;
	int64_t rtt = dmp_net_mono_ms() - j->sent_mono;

	(void)timeouts;
	if (j->tcp_open) {
		/* One query in flight per job: this is the TCP one. */
		j->tcp_open = 0;
		r->s[j->tcp_srv].tcp_busy--;
	}
	if (j->done || i < 0) {
		return;
	}
	if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) {
		finish(j, DMP_ETIMEDOUT, NULL, -1);
		return;
	}
	if (status != ARES_SUCCESS && j->via_tcp && status != ARES_ETIMEOUT) {
		/* The connection was closed, reset or refused (c-ares says
		 * ECONNREFUSED for each). The server answered over UDP just
		 * now: a fresh connection, then the next server, never a
		 * cooldown (docs/protocol.md, interoperability). */
		/* Asked over TCP because UDP was truncated: that is the
		 * cause the caller reports (not "unreachable"). */
		j->last_err = DMP_ETRUNCATED;
		if (j->tcp_tries < TCP_TRIES) {
			j->tcp_want = i;
			return;
		}
		DMP_LOG_I("resolver %s: TCP: %s", r->s[i].addr,
			  ares_strerror(status));
		advance(j);
		return;
	}
	if (status != ARES_SUCCESS || !abuf || alen <= 0) {
		j->last_err = j->via_tcp ? DMP_ETRUNCATED : DMP_EUNREACHABLE;
		j->timed_out |= status == ARES_ETIMEOUT;
		score_failure(r, (size_t)i,
			      j->via_tcp ? "TCP timeout"
					 : ares_strerror(status));
		advance(j);
		return;
	}
	rc = dmp_dns_parse_txt(&a, abuf, (size_t)alen, j->name);
	if (rc == 0 && a.tc && !j->via_tcp) {
		/* Too big for UDP: the same server over TCP. */
		dmp_txt_answer_clear(&a);
		j->tcp_want = i;
		return;
	}
	if (rc != 0 || a.tc) {
		j->last_err = rc ? DMP_EUNREACHABLE : DMP_ETRUNCATED;
		score_failure(r, (size_t)i,
			      rc ? "unusable reply" : "truncated over TCP");
		dmp_txt_answer_clear(&a);
		advance(j);
		return;
	}
	if (a.rcode == DMP_DNS_RCODE_SERVFAIL && j->via_tcp && !j->tcp_noedns &&
	    !r->o.dnssec) {
		/* A server that dislikes our EDNS over TCP: once without. */
		dmp_txt_answer_clear(&a);
		j->tcp_noedns = 1;
		j->tcp_want = i;
		return;
	}
	if (a.rcode != DMP_DNS_RCODE_NOERROR &&
	    a.rcode != DMP_DNS_RCODE_NXDOMAIN) {
		/* The server is up and said no: next server, no cooldown
		 * (a cooldown is for servers that do not answer). */
		j->last_err = a.rcode == DMP_DNS_RCODE_REFUSED ? DMP_EREFUSED
			      : a.rcode == DMP_DNS_RCODE_SERVFAIL
				  ? DMP_ESERVFAIL
				  : DMP_EUNREACHABLE;
		DMP_LOG_D("resolver %s: rcode %d for %s", r->s[i].addr, a.rcode,
			  j->name);
		dmp_txt_answer_clear(&a);
		advance(j);
		return;
	}
	if (r->o.dnssec && !a.ad) {
		/* PROTOCOL.md 7.7: DNSSEC mode needs AD, negatives too. */
		j->last_err = DMP_EUNREACHABLE;
		score_failure(r, (size_t)i, "answer not validated (no AD)");
		dmp_txt_answer_clear(&a);
		advance(j);
		return;
	}
	if (a.n == 0) {
		/* Empty: not yet a failure; maybe nobody has it. */
		score_answer(r, (size_t)i, rtt, 0);
		j->empties |= (uint64_t)1 << i;
		if (!j->have_empty) {
			j->have_empty = 1;
			j->empty = a;
			j->empty_server = i;
		} else {
			dmp_txt_answer_clear(&a);
		}
		advance(j);
		return;
	}
	score_answer(r, (size_t)i, rtt, 1);
	/* PROTOCOL.md 7.7: an empty answer counts against a resolver only
	 * when another one has the records. */
	for (size_t k = 0; k < r->n; k++) {
		if (j->empties >> k & 1) {
			score_failure(r, k, "empty answer for existing name");
		}
	}
	finish(j, 0, &a, i);
}

/* Add @p ch's sockets to the poll set and lower @p wait to its timeout. */
static void poll_add(struct batch *b, ares_channel ch, size_t *np,
		     int64_t *wait)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
	struct timeval maxtv, tv, *tp;

	/* Bit tests by hand: c-ares's macros shift a signed 1 into the sign
	 * bit (UBSan). */
	for (int k = 0; k < ARES_GETSOCK_MAXNUM; k++) {
		short ev = 0;

		if (((unsigned)bits >> k & 1u)) {
			ev |= POLLIN;
		}
		if (((unsigned)bits >> (k + ARES_GETSOCK_MAXNUM) & 1u)) {
			ev |= POLLOUT;
		}
		if (ev && *np < b->cap) {
			b->pf[*np].fd = socks[k];
			b->pf[*np].events = ev;
			b->pf[*np].revents = 0;
			b->owner[(*np)++] = ch;
		}
	}
	maxtv.tv_sec = *wait / 1000;
	maxtv.tv_usec = (*wait % 1000) * 1000;
	tp = ares_timeout(ch, &maxtv, &tv);
	if (tp) {
		int64_t t =
		    (int64_t)tp->tv_sec * 1000 + (tp->tv_usec + 999) / 1000;

		if (t < *wait) {
			*wait = t;
		}
	}
}

static int run_loop(struct batch *b, int64_t deadline)
{
	struct dmp_resolver *r = b->r;

	while (b->pending > 0) {
		size_t np = 0;
		int64_t now = dmp_net_mono_ms(), wait = deadline - now;
		int pr;

		if (wait <= 0) {
			b->cancelling = 1;
			for (size_t i = 0; i < r->n; i++) {
				ares_cancel(r->s[i].ch);
			}
			for (size_t i = 0; i < b->n; i++) {
				if (b->jobs[i].tcp) {
					ares_cancel(b->jobs[i].tcp);
				}
			}
			break;
		}
		for (size_t i = 0; i < b->n; i++) {
			if (b->jobs[i].tcp_want >= 0) {
				start_tcp(&b->jobs[i]);
			}
		}
		for (size_t i = 0; i < r->n; i++) {
			poll_add(b, r->s[i].ch, &np, &wait);
		}
		for (size_t i = 0; i < b->n; i++) {
			if (b->jobs[i].tcp && !b->jobs[i].done) {
				poll_add(b, b->jobs[i].tcp, &np, &wait);
			}
		}
		pr = poll(b->pf, (nfds_t)np, (int)(wait < 0 ? 0 : wait));
		if (pr < 0 && errno != EINTR) {
			return DMP_EIO;
		}
		for (size_t k = 0; k < np; k++) {
			ares_socket_t rfd = ARES_SOCKET_BAD,
				      wfd = ARES_SOCKET_BAD;
			short re = b->pf[k].revents;

			if (re & (POLLIN | POLLERR | POLLHUP)) {
				rfd = b->pf[k].fd;
			}
			if (re & POLLOUT) {
				wfd = b->pf[k].fd;
			}
			if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD) {
				ares_process_fd(b->owner[k], rfd, wfd);
			}
		}
		/* Timeouts. */
		for (size_t i = 0; i < r->n; i++) {
			ares_process_fd(r->s[i].ch, ARES_SOCKET_BAD,
					ARES_SOCKET_BAD);
		}
		for (size_t i = 0; i < b->n; i++) {
			if (b->jobs[i].tcp && !b->jobs[i].done) {
				ares_process_fd(b->jobs[i].tcp, ARES_SOCKET_BAD,
						ARES_SOCKET_BAD);
			}
		}
	}
	return 0;
}

int dmp_resolver_query_batch(struct dmp_resolver *r, const char *const *names,
			     size_t n, struct dmp_resolver_result *results,
			     unsigned timeout_ms, dmp_resolver_done_fn cb,
			     void *ud)
{
	struct dmp_dns_query_opts qo;
	struct batch b;
	int rc;

	if (!r || (n && (!names || !results))) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&results[i], 0, sizeof(results[i]));
		results[i].server = -1;
	}
	if (n == 0) {
		return 0;
	}
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.res = results;
	b.cb = cb;
	b.ud = ud;
	b.n = n;
	/* Per job at most one TCP socket; per server the UDP ones. */
	b.cap = r->n * ARES_GETSOCK_MAXNUM + n;
	b.jobs = dmp_calloc(n, sizeof(*b.jobs));
	b.pf = dmp_calloc(b.cap, sizeof(*b.pf));
	b.owner = dmp_calloc(b.cap, sizeof(*b.owner));
	if (!b.jobs || !b.pf || !b.owner) {
		rc = DMP_ENOMEM;
		goto out;
	}
	dmp_dns_query_opts_default(&qo);
	qo.rd = r->o.rd;
	qo.payload = r->o.edns_payload;
	qo.dnssec_ok = r->o.dnssec;
	b.pending = n;
	for (size_t i = 0; i < n; i++) {
		struct job *j = &b.jobs[i];

		j->b = &b;
		j->idx = i;
		j->name = names[i];
		j->cur = -1;
		j->tcp_want = -1;
		j->empty_server = -1;
		j->last_err = DMP_EUNREACHABLE;
		j->allowed = route(r, names[i]);
		qo.rd = (j->allowed & direct_mask(r)) ? 0 : r->o.rd;
		if (!names[i] || !j->allowed ||
		    dmp_dns_build_query(j->q, sizeof(j->q), &j->qlen, names[i],
					DMP_DNS_TYPE_TXT, &qo, NULL) != 0) {
			finish(j, DMP_EBADNAME, NULL, -1);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!b.jobs[i].done) {
			advance(&b.jobs[i]);
		}
	}
	rc = run_loop(&b, dmp_net_mono_ms() + (int64_t)timeout_ms);
	/* Whatever is left (deadline, loop error) ends here. */
	for (size_t i = 0; i < n; i++) {
		finish(&b.jobs[i], rc ? rc : DMP_ETIMEDOUT, NULL, -1);
	}
	rc = 0;
out:
	for (size_t i = 0; b.jobs && i < n; i++) {
		if (b.jobs[i].tcp) {
			ares_destroy(b.jobs[i].tcp);
		}
	}
	dmp_free(b.owner);
	dmp_free(b.pf);
	dmp_free(b.jobs);
	return rc;
}

int dmp_resolver_query(struct dmp_resolver *r, const char *name,
		       struct dmp_resolver_result *res, unsigned timeout_ms)
{
	int rc =
	    dmp_resolver_query_batch(r, &name, 1, res, timeout_ms, NULL, NULL);

	return rc ? rc : res->err;
}
