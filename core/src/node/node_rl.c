/*
 * core/src/node/node_rl.c - per source address token buckets (PROTOCOL.md
 * 7.1 step 1, 7.5: DNS 50/s, burst 200; UDP and TCP buckets separate;
 * HTTP 10/s, burst 100).
 *
 * Addresses are keyed by prefix: IPv4 by /32 and IPv6 by /56 unless
 * configured (dmp_rl_set_prefix()). Whoever holds an IPv6 /64 holds 2^64
 * addresses, and a home or office line is commonly given a /56 (RIPE-690),
 * so one bucket per /56 is one bucket per customer; it is also what BIND
 * and Knot use for response rate limiting. IPv4-mapped IPv6 addresses
 * (a dual-stack socket) are keyed as the IPv4 address they carry.
 *
 * A fixed-size open-addressed table, sharded over 16 locks so two UDP
 * workers rarely meet. When a key's probe window is full, the entry with
 * the most tokens (after refill; the stalest among equals) makes room, and
 * the newcomer gets no more tokens than that entry held, and at most one
 * second's worth (the rate, at least 1): eviction never creates tokens.
 * An attacker who cycles through more addresses than the table holds, to
 * push out his own drained buckets or honest ones, gets back at most what
 * he pushed out; an honest newcomer on a saturated table still gets up to
 * a second's worth, and its full burst wherever its window has room.
 */
#include <netinet/in.h>
#include <string.h>

#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "node/node_i.h"

#define RL_SLOTS 65536 /* power of two */
#define RL_PROBE 8

struct rl_ent {
	uint8_t key[17]; /* family, then 4 or 16 address bytes */
	uint8_t used;
	double tokens;
	uint64_t last_ms;
};

struct rl {
	pthread_mutex_t mu[RL_SHARDS];
	struct rl_ent *tab;
	size_t slots; /* power of two, >= RL_PROBE * RL_SHARDS */
	uint32_t seed;
	double rate, burst;
	unsigned v4_prefix, v6_prefix;
};

int dmp_rl_new(struct rl **out, uint32_t rate, uint32_t burst)
{
	return dmp_rl_new_f(out, (double)rate, (double)burst);
}

int dmp_rl_new_f(struct rl **out, double rate, double burst)
{
	return dmp_rl_new_sized(out, rate, burst, RL_SLOTS);
}

int dmp_rl_new_sized(struct rl **out, double rate, double burst, size_t slots)
{
	struct rl *r;

	*out = NULL;
	if (rate <= 0) {
		return 0; /* disabled */
	}
	if (slots < RL_PROBE * RL_SHARDS || (slots & (slots - 1)) != 0) {
		return DMP_EINVAL;
	}
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return DMP_ENOMEM;
	}
	r->tab = dmp_calloc(slots, sizeof(*r->tab));
	if (!r->tab) {
		dmp_free(r);
		return DMP_ENOMEM;
	}
	for (int i = 0; i < RL_SHARDS; i++) {
		pthread_mutex_init(&r->mu[i], NULL);
	}
	dmp_random(&r->seed, sizeof(r->seed));
	r->slots = slots;
	r->rate = rate;
	r->burst = burst < 1 ? 1 : burst;
	r->v4_prefix = DMP_NODE_RATE_V4_PREFIX;
	r->v6_prefix = DMP_NODE_RATE_V6_PREFIX;
	*out = r;
	return 0;
}

void dmp_rl_free(struct rl *r)
{
	if (!r) {
		return;
	}
	for (int i = 0; i < RL_SHARDS; i++) {
		pthread_mutex_destroy(&r->mu[i]);
	}
	dmp_free(r->tab);
	dmp_free(r);
}

int dmp_rl_set_prefix(struct rl *r, unsigned v4_prefix, unsigned v6_prefix)
{
	if (v4_prefix < 1 || v4_prefix > 32 || v6_prefix < 1 ||
	    v6_prefix > 128) {
		return DMP_EINVAL;
	}
	if (r) {
		/* Before the limiter is shared: no lock. */
		r->v4_prefix = v4_prefix;
		r->v6_prefix = v6_prefix;
	}
	return 0;
}

/* Keep the first @p bits of @p a (@p len bytes), zero the rest. */
static void mask_bits(uint8_t *a, size_t len, unsigned bits)
{
	for (size_t i = 0; i < len; i++) {
		if (bits >= 8) {
			bits -= 8;
		} else {
			a[i] &= (uint8_t)(0xFF00u >> bits);
			bits = 0;
		}
	}
}

int dmp_rl_addr_key(const struct sockaddr *sa, unsigned v4_prefix,
		    unsigned v6_prefix, uint8_t key[17])
{
	memset(key, 0, 17);
	if (!sa) {
		return DMP_EINVAL;
	}
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = 4;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a->s6_addr, 16);
			mask_bits(key + 1, 16, v6_prefix);
			return 0;
		}
	} else {
		return DMP_EINVAL;
	}
	mask_bits(key + 1, 4, v4_prefix);
	return 0;
}

int dmp_rl_allow(struct rl *r, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t key[17];

	if (!r || !sa ||
	    dmp_rl_addr_key(sa, r->v4_prefix, r->v6_prefix, key) < 0) {
		return 1;
	}
	return dmp_rl_allow_key(r, key, now_ms);
}

/* Tokens of @p e at @p now_ms, refilled, at most the burst. */
static double level(const struct rl *r, const struct rl_ent *e, uint64_t now_ms)
{
	double t = e->tokens;

	if (now_ms > e->last_ms) {
		t += (double)(now_ms - e->last_ms) * r->rate / 1000.0;
	}
	return t > r->burst ? r->burst : t;
}

int dmp_rl_allow_key(struct rl *r, const uint8_t key[17], uint64_t now_ms)
{
	uint32_t h;
	size_t base, shard, pick = (size_t)-1, fullest = (size_t)-1;
	double best = -1.0;
	struct rl_ent *e;
	int ok;

	if (!r) {
		return 1;
	}
	h = 2166136261u ^ r->seed;
	for (size_t i = 0; i < sizeof(r->tab->key); i++) {
		h = (h ^ key[i]) * 16777619u;
	}
	/* A probe window never crosses a shard: shards own aligned runs of
	 * slots / RL_SHARDS slots. */
	base = (h & (r->slots - 1)) & ~(size_t)(RL_PROBE - 1);
	shard = base / (r->slots / RL_SHARDS);
	pthread_mutex_lock(&r->mu[shard]);
	for (size_t i = 0; i < RL_PROBE; i++) {
		e = &r->tab[base + i];
		if (!e->used) {
			if (pick == (size_t)-1) {
				pick = base + i;
			}
			continue;
		}
		if (memcmp(e->key, key, sizeof(e->key)) == 0) {
			pick = base + i;
			goto found;
		}
		{
			double l = level(r, e, now_ms);

			if (l > best ||
			    (l == best &&
			     e->last_ms < r->tab[fullest].last_ms)) {
				best = l;
				fullest = base + i;
			}
		}
	}
	if (pick != (size_t)-1) {
		/* Room in the window: a new key starts with a full bucket. */
		e = &r->tab[pick];
		e->tokens = r->burst;
	} else {
		/* Window full: take the fullest entry's place and no more
		 * than it held, at most a second's worth. */
		double cap = r->rate < 1.0 ? 1.0 : r->rate;

		pick = fullest;
		e = &r->tab[pick];
		e->tokens = best < cap ? best : cap;
		if (e->tokens > r->burst) {
			e->tokens = r->burst;
		}
	}
	memcpy(e->key, key, sizeof(e->key));
	e->used = 1;
	e->last_ms = now_ms;
found:
	e = &r->tab[pick];
	if (now_ms > e->last_ms) {
		e->tokens = level(r, e, now_ms);
		e->last_ms = now_ms;
	}
	ok = e->tokens >= 1.0;
	if (ok) {
		e->tokens -= 1.0;
	}
	pthread_mutex_unlock(&r->mu[shard]);
	return ok;
}

void dmp_rl_set(struct rl *r, double rate, double burst)
{
	if (!r || rate <= 0) {
		return;
	}
	for (int i = 0; i < RL_SHARDS; i++) {
		pthread_mutex_lock(&r->mu[i]);
	}
	r->rate = rate;
	r->burst = burst < 1 ? 1 : burst;
	for (int i = RL_SHARDS; i-- > 0;) {
		pthread_mutex_unlock(&r->mu[i]);
	}
}
