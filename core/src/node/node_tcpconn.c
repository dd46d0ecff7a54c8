/*
 * core/src/node/node_tcpconn.c - the TCP connection table of dmp-node as
 * pure logic (dmp/node.h "TCP connections"): RFC 7766 framing across
 * partial reads, per-connection turns, output caps, deadlines, and the
 * per-address and total connection limits. The server (tools/dmp-node/
 * tcp.c) does the socket I/O around it; tests and the fuzzer drive the
 * same code with an explicit clock.
 *
 * Design, after Knot (tcp-io-timeout, tcp-idle-timeout, tcp-max-clients),
 * NSD (tcp-count, tcp-timeout, per-turn reads) and BIND (tcp-clients,
 * tcp-initial/idle-timeout, pipelining quota), and one better: only whole
 * messages reset the idle timer; a begun message has its own deadline;
 * unsent replies are capped per connection (reading stops, then the
 * connection is closed); one IPv4 address or IPv6 prefix may hold only
 * per_address connections; and a full table makes room for a newcomer by
 * closing its longest-idle connection instead of refusing everyone new
 * until an attacker lets go.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"

#define NONE UINT32_MAX
#define IN_MIN 4096u	    /* input buffer kept for small queries */
#define OUT_KEEP 16384u	    /* output buffer kept once drained */
#define LOG_EVERY_MS 10000u /* one log line per reason at most this often */
#define KEY_LEN 17	    /* family byte, then the (masked) address */

struct ntc_conn {
	int used;
	uint32_t addr;	      /* its ntc_addr */
	uint32_t next;	      /* next of the same address, or free list */
	uint64_t last_msg;    /* last whole message (or the open) */
	uint64_t frame_since; /* first byte of a partial message; 0: none */
	uint64_t over_since;  /* output went over output_max; 0: under */
	uint64_t stall_since; /* output pending and no byte out since */
	uint64_t now;	      /* clock of the last next() (for replies) */
	uint8_t *in;
	size_t in_cap, in_off, in_len; /* bytes in[in_off, in_len) */
	uint8_t *out;
	size_t out_cap, out_off, out_len;
	uint32_t turn_left;
};

/* One IPv4 address or IPv6 prefix holding connections. */
struct ntc_addr {
	uint8_t key[KEY_LEN];
	uint32_t count; /* its connections; 0: free */
	uint32_t conns; /* first of them */
	uint32_t hnext; /* next in the bucket, or the free list */
};

struct dmp_node_tcp {
	struct dmp_node_tcp_opts o;
	struct dmp_node *n; /* counters; NULL: none */
	struct ntc_conn *c;
	struct ntc_addr *a; /* as many as connections at most */
	uint32_t *bucket;   /* heads of the address chains */
	uint32_t n_bucket;
	uint32_t free_conn, free_addr;
	unsigned count;
	uint64_t log_at[DMP_NODE_TCP_EV_MAX];
	uint64_t log_skipped[DMP_NODE_TCP_EV_MAX];
};

void dmp_node_tcp_opts_init(struct dmp_node_tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_clients = DMP_NODE_TCP_MAX_CLIENTS;
	o->per_address = DMP_NODE_TCP_PER_ADDRESS;
	o->v4_prefix = DMP_NODE_RATE_V4_PREFIX;
	o->v6_prefix = DMP_NODE_RATE_V6_PREFIX;
	o->idle_ms = DMP_NODE_TCP_IDLE_MS;
	o->message_ms = DMP_NODE_TCP_MESSAGE_MS;
	o->queries_per_turn = DMP_NODE_TCP_QUERIES_PER_TURN;
	o->output_max = DMP_NODE_TCP_OUTPUT_MAX;
	o->output_ms = DMP_NODE_TCP_OUTPUT_MS;
}

/* The address a connection counts against (the rate limiter's key:
 * IPv4-mapped IPv6 as IPv4, cut to the prefixes); another family is one
 * all-zero key. */
static void addr_key(const struct dmp_node_tcp *t, const struct sockaddr *sa,
		     uint8_t key[KEY_LEN])
{
	(void)dmp_rl_addr_key(sa, t->o.v4_prefix, t->o.v6_prefix, key);
}

static uint32_t key_bucket(const struct dmp_node_tcp *t,
			   const uint8_t key[KEY_LEN])
{
	/* FNV-1a; unkeyed on purpose: a chain never holds more addresses
	 * than the table has connections, so collisions cost at most the
	 * linear scan this replaces. */
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < KEY_LEN; i++) {
		h = (h ^ key[i]) * 16777619u;
	}
	return h & (t->n_bucket - 1);
}

/* The record of @p key, or NONE. */
static uint32_t addr_find(const struct dmp_node_tcp *t,
			  const uint8_t key[KEY_LEN])
{
	uint32_t i = t->bucket[key_bucket(t, key)];

	while (i != NONE && memcmp(t->a[i].key, key, KEY_LEN) != 0) {
		i = t->a[i].hnext;
	}
	return i;
}

/* Take connection @p id (taken off the free list) into @p key's record. */
static void addr_join(struct dmp_node_tcp *t, uint32_t id,
		      const uint8_t key[KEY_LEN])
{
	uint32_t ai = addr_find(t, key);

	if (ai == NONE) {
		uint32_t b = key_bucket(t, key);

		/* Never empty: no more addresses than connections. */
		ai = t->free_addr;
		t->free_addr = t->a[ai].hnext;
		memcpy(t->a[ai].key, key, KEY_LEN);
		t->a[ai].count = 0;
		t->a[ai].conns = NONE;
		t->a[ai].hnext = t->bucket[b];
		t->bucket[b] = ai;
	}
	t->c[id].addr = ai;
	t->c[id].next = t->a[ai].conns;
	t->a[ai].conns = id;
	t->a[ai].count++;
}

static void addr_leave(struct dmp_node_tcp *t, uint32_t id)
{
	uint32_t ai = t->c[id].addr, *p = &t->a[ai].conns;

	while (*p != NONE && *p != id) {
		p = &t->c[*p].next;
	}
	if (*p == id) {
		*p = t->c[id].next;
	}
	if (--t->a[ai].count == 0) {
		p = &t->bucket[key_bucket(t, t->a[ai].key)];
		while (*p != NONE && *p != ai) {
			p = &t->a[*p].hnext;
		}
		if (*p == ai) {
			*p = t->a[ai].hnext;
		}
		t->a[ai].hnext = t->free_addr;
		t->free_addr = ai;
	}
}

static const char *const ev_what[DMP_NODE_TCP_EV_MAX] = {
    "refused: the address holds tcp.per_address connections",
    "refused: network.tcp_max_clients reached, none to take over",
    "closed to make room for a new one (fair share per address)",
    "closed: no whole message for network.tcp_idle_timeout",
    "closed: a message took over tcp.message_timeout_ms",
    "closed: replies unread past tcp.output_timeout_ms",
    "closed: a message shorter than a DNS header",
};

/* Count @p ev and log it, one line per reason per LOG_EVERY_MS. */
static void note(struct dmp_node_tcp *t, enum dmp_node_tcp_event ev,
		 const uint8_t key[KEY_LEN], uint64_t now)
{
	char a[INET6_ADDRSTRLEN + 8] = "?";

	if (t->n) {
		cnt_add(&t->n->c_tcp[ev], 1);
	}
	if (now < t->log_at[ev]) {
		t->log_skipped[ev]++;
		return;
	}
	if (key[0] == 4 || key[0] == 6) {
		inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, a,
			  INET6_ADDRSTRLEN);
	}
	if ((key[0] == 6 && t->o.v6_prefix < 128) ||
	    (key[0] == 4 && t->o.v4_prefix < 32)) {
		size_t l = strlen(a);

		snprintf(a + l, sizeof(a) - l, "/%u",
			 key[0] == 6 ? t->o.v6_prefix : t->o.v4_prefix);
	}
	if (t->log_skipped[ev]) {
		DMP_LOG_N("dmp-node: TCP connection from %s %s, and %llu "
			  "more since the last such line "
			  "(dmp_node_tcp_events_total in /metrics)",
			  a, ev_what[ev],
			  (unsigned long long)t->log_skipped[ev]);
	} else {
		DMP_LOG_N("dmp-node: TCP connection from %s %s", a,
			  ev_what[ev]);
	}
	t->log_skipped[ev] = 0;
	t->log_at[ev] = now + LOG_EVERY_MS;
}

int dmp_node_tcp_new(struct dmp_node_tcp **out,
		     const struct dmp_node_tcp_opts *o, struct dmp_node *n)
{
	struct dmp_node_tcp *t;

	*out = NULL;
	if (o->max_clients < 1 || o->max_clients > 65536 ||
	    dmp_rl_set_prefix(NULL, o->v4_prefix, o->v6_prefix) != 0 ||
	    o->idle_ms < 1 || o->message_ms < 1 || o->queries_per_turn < 1 ||
	    o->output_max < 1 || o->output_ms < 1) {
		return DMP_EINVAL;
	}
	t = dmp_calloc(1, sizeof(*t));
	if (!t) {
		return DMP_ENOMEM;
	}
	t->o = *o;
	t->n = n;
	t->n_bucket = 16;
	while (t->n_bucket < o->max_clients) {
		t->n_bucket <<= 1;
	}
	t->c = dmp_calloc(o->max_clients, sizeof(*t->c));
	t->a = dmp_calloc(o->max_clients, sizeof(*t->a));
	t->bucket = dmp_calloc(t->n_bucket, sizeof(*t->bucket));
	if (!t->c || !t->a || !t->bucket) {
		dmp_node_tcp_free(t);
		return DMP_ENOMEM;
	}
	for (uint32_t i = 0; i < t->n_bucket; i++) {
		t->bucket[i] = NONE;
	}
	/* Free lists in id order: the lowest free id is used first. */
	for (uint32_t i = 0; i < o->max_clients; i++) {
		t->c[i].next = i + 1 < o->max_clients ? i + 1 : NONE;
		t->a[i].hnext = i + 1 < o->max_clients ? i + 1 : NONE;
	}
	t->free_conn = t->free_addr = 0;
	*out = t;
	return 0;
}

static void conn_forget(struct dmp_node_tcp *t, uint32_t id)
{
	struct ntc_conn *c = &t->c[id];

	addr_leave(t, id);
	dmp_free(c->in);
	dmp_free(c->out);
	memset(c, 0, sizeof(*c));
	c->next = t->free_conn;
	t->free_conn = id;
	t->count--;
	if (t->n) {
		atomic_fetch_sub_explicit(&t->n->c_tcp_open, 1,
					  memory_order_relaxed);
	}
}

void dmp_node_tcp_free(struct dmp_node_tcp *t)
{
	if (!t) {
		return;
	}
	for (uint32_t i = 0; t->c && i < t->o.max_clients; i++) {
		if (t->c[i].used) {
			conn_forget(t, i);
		}
	}
	dmp_free(t->c);
	dmp_free(t->a);
	dmp_free(t->bucket);
	dmp_free(t);
}

static uint64_t idle_for(const struct ntc_conn *c, uint64_t now)
{
	return now > c->last_msg ? now - c->last_msg : 0;
}

/*
 * Whose connection makes room for a newcomer from address @p ai (NONE: a
 * new address) in a full table, or NONE. Fair share first: the address
 * with the most connections gives up its longest idle one when it holds
 * at least two more than the newcomer's would (so an attacker holding
 * the table from a few addresses cannot keep anyone else out, and
 * cannot take an honest client's only connection). Else the longest idle
 * connection, once idle for DMP_NODE_TCP_EVICT_GRACE_MS, of an address
 * holding more than the newcomer's (max-min fairness between addresses).
 */
static uint32_t victim(const struct dmp_node_tcp *t, uint32_t ai, uint64_t now)
{
	uint32_t mine = ai == NONE ? 0 : t->a[ai].count, top = NONE;
	uint32_t best = NONE;
	uint64_t best_idle = 0;

	for (uint32_t i = 0; i < t->o.max_clients; i++) {
		if (t->a[i].count &&
		    (top == NONE || t->a[i].count > t->a[top].count)) {
			top = i;
		}
	}
	if (top != NONE && t->a[top].count >= mine + 2) {
		for (uint32_t i = t->a[top].conns; i != NONE;
		     i = t->c[i].next) {
			if (best == NONE ||
			    idle_for(&t->c[i], now) > best_idle) {
				best = i;
				best_idle = idle_for(&t->c[i], now);
			}
		}
		return best;
	}
	best_idle = DMP_NODE_TCP_EVICT_GRACE_MS;
	for (uint32_t i = 0; i < t->o.max_clients; i++) {
		/* Never from an address left with fewer than the
		 * newcomer's. */
		if (t->c[i].used && t->a[t->c[i].addr].count > mine &&
		    idle_for(&t->c[i], now) >= best_idle) {
			best = i;
			best_idle = idle_for(&t->c[i], now) + 1;
		}
	}
	return best;
}

int dmp_node_tcp_open(struct dmp_node_tcp *t, const struct sockaddr *peer,
		      uint64_t now_ms, int *evicted)
{
	uint8_t key[KEY_LEN];
	uint32_t id, ai;
	struct ntc_conn *c;

	*evicted = 0;
	addr_key(t, peer, key);
	ai = addr_find(t, key);
	if (t->o.per_address && ai != NONE &&
	    t->a[ai].count >= t->o.per_address) {
		note(t, DMP_NODE_TCP_REF_ADDRESS, key, now_ms);
		return DMP_EBUSY;
	}
	if (t->free_conn == NONE) {
		id = victim(t, ai, now_ms);
		if (id == NONE) {
			note(t, DMP_NODE_TCP_REF_FULL, key, now_ms);
			return DMP_EBUSY;
		}
		note(t, DMP_NODE_TCP_EVICTED, t->a[t->c[id].addr].key, now_ms);
		conn_forget(t, id);
		*evicted = 1;
	}
	id = t->free_conn;
	c = &t->c[id];
	t->free_conn = c->next;
	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->last_msg = now_ms;
	addr_join(t, id, key);
	t->count++;
	if (t->n) {
		cnt_add(&t->n->c_tcp_open, 1);
	}
	return (int)id;
}

void dmp_node_tcp_close(struct dmp_node_tcp *t, unsigned id)
{
	if (id < t->o.max_clients && t->c[id].used) {
		conn_forget(t, id);
	}
}

/* Connection @p id, or NULL when out of range or not open. */
static struct ntc_conn *conn_of(const struct dmp_node_tcp *t, unsigned id)
{
	return id < t->o.max_clients && t->c[id].used ? &t->c[id] : NULL;
}

/* Length of the whole message at the head with its prefix, or 2 when
 * not even the prefix is there. */
static size_t head_need(const struct ntc_conn *c)
{
	if (c->in_len - c->in_off < 2) {
		return 2;
	}
	return 2 + ((size_t)c->in[c->in_off] << 8 | c->in[c->in_off + 1]);
}

static int head_whole(const struct ntc_conn *c)
{
	return c->in_len - c->in_off >= head_need(c);
}

static int over(const struct dmp_node_tcp *t, const struct ntc_conn *c)
{
	return c->out_len - c->out_off >= t->o.output_max;
}

/* Start or stop the message clock after the input changed. */
static void frame_clock(struct ntc_conn *c, uint64_t now)
{
	if (c->in_len == c->in_off || head_whole(c)) {
		c->frame_since = 0;
	} else if (!c->frame_since) {
		c->frame_since = now ? now : 1;
	}
}

static size_t in_room(const struct ntc_conn *c)
{
	size_t need = head_need(c), cap = c->in_cap;

	if (cap < IN_MIN) {
		cap = IN_MIN;
	}
	if (cap < need) {
		cap = need;
	}
	return cap - (c->in_len - c->in_off);
}

unsigned dmp_node_tcp_want(const struct dmp_node_tcp *t, unsigned id)
{
	const struct ntc_conn *c = conn_of(t, id);
	unsigned w = 0;

	if (!c) {
		return 0;
	}
	if (c->out_len > c->out_off) {
		w |= DMP_NODE_TCP_WANT_WRITE;
	}
	if (!over(t, c)) {
		if (in_room(c) > 0) {
			w |= DMP_NODE_TCP_WANT_READ;
		}
		if (head_whole(c)) {
			w |= DMP_NODE_TCP_WANT_TURN;
		}
	}
	return w;
}

uint8_t *dmp_node_tcp_rbuf(struct dmp_node_tcp *t, unsigned id, size_t *cap)
{
	struct ntc_conn *c = conn_of(t, id);
	size_t avail, want;

	*cap = 0;
	if (!c) {
		return NULL;
	}
	if (over(t, c) || in_room(c) == 0) {
		return NULL;
	}
	avail = c->in_len - c->in_off;
	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, avail);
		c->in_len = avail;
		c->in_off = 0;
	}
	want = head_need(c);
	if (want < IN_MIN) {
		want = IN_MIN;
	}
	if (avail == 0 && c->in_cap > IN_MIN) {
		/* Drained after a large message: give the memory back. */
		dmp_free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	if (c->in_cap < want) {
		uint8_t *p = dmp_realloc(c->in, want);

		if (!p) {
			return NULL;
		}
		c->in = p;
		c->in_cap = want;
	}
	*cap = c->in_cap - c->in_len;
	return c->in + c->in_len;
}

void dmp_node_tcp_rdone(struct dmp_node_tcp *t, unsigned id, size_t len,
			uint64_t now_ms)
{
	struct ntc_conn *c = conn_of(t, id);

	if (!c) {
		return;
	}
	if (len > c->in_cap - c->in_len) {
		len = c->in_cap - c->in_len; /* caller bug: never past cap */
	}
	c->in_len += len;
	frame_clock(c, now_ms);
}

void dmp_node_tcp_turn(struct dmp_node_tcp *t, unsigned id)
{
	struct ntc_conn *c = conn_of(t, id);

	if (c) {
		c->turn_left = t->o.queries_per_turn;
	}
}

int dmp_node_tcp_next(struct dmp_node_tcp *t, unsigned id, const uint8_t **msg,
		      size_t *len, uint64_t now_ms)
{
	struct ntc_conn *c = conn_of(t, id);
	size_t need;

	*msg = NULL;
	*len = 0;
	if (!c) {
		return 0;
	}
	c->now = now_ms;
	if (c->turn_left == 0 || !head_whole(c)) {
		return 0;
	}
	if (over(t, c)) {
		if (!c->over_since) {
			c->over_since = now_ms ? now_ms : 1;
		}
		return 0;
	}
	need = head_need(c);
	if (need - 2 < DMP_DNS_HDR_LEN) {
		note(t, DMP_NODE_TCP_MALFORMED, t->a[c->addr].key, now_ms);
		return DMP_EMALFORMED;
	}
	*msg = c->in + c->in_off + 2;
	*len = need - 2;
	c->in_off += need;
	c->turn_left--;
	c->last_msg = now_ms;
	frame_clock(c, now_ms);
	return 1;
}

int dmp_node_tcp_reply(struct dmp_node_tcp *t, unsigned id, const uint8_t *msg,
		       size_t len)
{
	struct ntc_conn *c = conn_of(t, id);
	size_t pend;

	if (!c || len > 65535) {
		return DMP_EINVAL;
	}
	pend = c->out_len - c->out_off;
	if (pend == 0) {
		c->out_off = c->out_len = 0;
		c->stall_since = c->now ? c->now : 1;
	}
	if (c->out_cap - c->out_len < 2 + len) {
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, pend);
			c->out_off = 0;
			c->out_len = pend;
		}
		if (c->out_cap - c->out_len < 2 + len) {
			size_t ncap = c->out_cap ? c->out_cap * 2 : 4096;
			uint8_t *p;

			while (ncap - c->out_len < 2 + len) {
				ncap *= 2;
			}
			p = dmp_realloc(c->out, ncap);
			if (!p) {
				return DMP_ENOMEM;
			}
			c->out = p;
			c->out_cap = ncap;
		}
	}
	c->out[c->out_len] = (uint8_t)(len >> 8);
	c->out[c->out_len + 1] = (uint8_t)len;
	memcpy(c->out + c->out_len + 2, msg, len);
	c->out_len += 2 + len;
	if (over(t, c) && !c->over_since) {
		c->over_since = c->now ? c->now : 1;
	}
	return 0;
}

const uint8_t *dmp_node_tcp_wbuf(const struct dmp_node_tcp *t, unsigned id,
				 size_t *len)
{
	const struct ntc_conn *c = conn_of(t, id);

	*len = 0;
	if (!c) {
		return NULL;
	}
	*len = c->out_len - c->out_off;
	return *len ? c->out + c->out_off : NULL;
}

void dmp_node_tcp_wdone(struct dmp_node_tcp *t, unsigned id, size_t len,
			uint64_t now_ms)
{
	struct ntc_conn *c = conn_of(t, id);

	if (!c) {
		return;
	}
	if (len > c->out_len - c->out_off) {
		len = c->out_len - c->out_off;
	}
	c->out_off += len;
	if (len > 0) {
		c->stall_since = now_ms ? now_ms : 1;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > OUT_KEEP) {
			dmp_free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
	if (c->over_since && !over(t, c)) {
		/* Reading resumes: a message begun gets its time again. */
		c->over_since = 0;
		c->frame_since = 0;
		frame_clock(c, now_ms);
	}
}

static int past(uint64_t now, uint64_t since, uint32_t ms)
{
	return since && now > since && now - since > ms;
}

size_t dmp_node_tcp_expire(struct dmp_node_tcp *t, uint64_t now_ms,
			   unsigned *ids, size_t cap)
{
	size_t k = 0;

	for (uint32_t i = 0; i < t->o.max_clients && k < cap; i++) {
		struct ntc_conn *c = &t->c[i];
		int pend, ev = -1;

		if (!c->used) {
			continue;
		}
		pend = c->out_len > c->out_off;
		if (past(now_ms, c->over_since, t->o.output_ms) ||
		    (pend && past(now_ms, c->stall_since, t->o.output_ms))) {
			ev = DMP_NODE_TCP_OUTPUT;
		} else if (!c->over_since &&
			   past(now_ms, c->frame_since, t->o.message_ms)) {
			ev = DMP_NODE_TCP_SLOW;
		} else if (!pend && now_ms > c->last_msg &&
			   now_ms - c->last_msg > t->o.idle_ms) {
			ev = DMP_NODE_TCP_IDLE;
		}
		if (ev >= 0) {
			note(t, (enum dmp_node_tcp_event)ev, t->a[c->addr].key,
			     now_ms);
			conn_forget(t, i);
			ids[k++] = i;
		}
	}
	return k;
}

unsigned dmp_node_tcp_count(const struct dmp_node_tcp *t)
{
	return t->count;
}

void dmp_node_tcp_stats(struct dmp_node *n, uint64_t ev[DMP_NODE_TCP_EV_MAX],
			uint64_t *open)
{
	for (unsigned i = 0; i < DMP_NODE_TCP_EV_MAX; i++) {
		ev[i] = atomic_load(&n->c_tcp[i]);
	}
	*open = atomic_load(&n->c_tcp_open);
}
