/*
 * core/src/node/node_rl.c - per source IP token buckets (PROTOCOL.md 7.1
 * step 1, 7.5: DNS 50/s, burst 200; UDP and TCP buckets separate).
 *
 * A fixed-size open-addressed table, sharded over 16 locks so two UDP
 * workers rarely meet. When a probe window is full the stalest entry is
 * reused: a forgotten address starts again with a full bucket, which errs
 * on the side of answering.
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
	uint32_t seed;
	double rate, burst;
};

int dmp_rl_new(struct rl **out, uint32_t rate, uint32_t burst)
{
	return dmp_rl_new_f(out, (double)rate, (double)burst);
}

int dmp_rl_new_f(struct rl **out, double rate, double burst)
{
	struct rl *r;

	*out = NULL;
	if (rate <= 0) {
		return 0; /* disabled */
	}
	r = dmp_calloc(1, sizeof(*r));
	if (!r) {
		return DMP_ENOMEM;
	}
	r->tab = dmp_calloc(RL_SLOTS, sizeof(*r->tab));
	if (!r->tab) {
		dmp_free(r);
		return DMP_ENOMEM;
	}
	for (int i = 0; i < RL_SHARDS; i++) {
		pthread_mutex_init(&r->mu[i], NULL);
	}
	dmp_random(&r->seed, sizeof(r->seed));
	r->rate = rate;
	r->burst = burst < 1 ? 1 : burst;
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

int dmp_rl_allow(struct rl *r, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t key[17];

	if (!r || !sa) {
		return 1;
	}
	memset(key, 0, sizeof(key));
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		       16);
	} else {
		return 1;
	}
	return dmp_rl_allow_key(r, key, now_ms);
}

int dmp_rl_allow_key(struct rl *r, const uint8_t key[17], uint64_t now_ms)
{
	uint32_t h;
	size_t base, pick = (size_t)-1;
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
	 * RL_SLOTS / RL_SHARDS slots. */
	base = (h & (RL_SLOTS - 1)) & ~(size_t)(RL_PROBE - 1);
	pthread_mutex_lock(&r->mu[base / (RL_SLOTS / RL_SHARDS)]);
	for (size_t i = 0; i < RL_PROBE; i++) {
		e = &r->tab[base + i];
		if (e->used && memcmp(e->key, key, sizeof(e->key)) == 0) {
			pick = base + i;
			break;
		}
		if (pick == (size_t)-1 ||
		    (r->tab[pick].used &&
		     (!e->used || e->last_ms < r->tab[pick].last_ms))) {
			pick = base + i;
		}
	}
	e = &r->tab[pick];
	if (!e->used || memcmp(e->key, key, sizeof(e->key)) != 0) {
		memcpy(e->key, key, sizeof(e->key));
		e->used = 1;
		e->tokens = r->burst;
		e->last_ms = now_ms;
	}
	if (now_ms > e->last_ms) {
		e->tokens += (double)(now_ms - e->last_ms) * r->rate / 1000.0;
		if (e->tokens > r->burst) {
			e->tokens = r->burst;
		}
		e->last_ms = now_ms;
	}
	ok = e->tokens >= 1.0;
	if (ok) {
		e->tokens -= 1.0;
	}
	pthread_mutex_unlock(&r->mu[base / (RL_SLOTS / RL_SHARDS)]);
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
