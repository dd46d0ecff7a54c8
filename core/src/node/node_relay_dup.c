/*
 * core/src/node/node_relay_dup.c - the duplicate cache of DMP-RELAY/1
 * bundle ids (docs/protocol.md 8.7.2): a bundle posted again, by the same
 * or another hop, is answered 208 without being verified or stored again.
 *
 * The ids in the order they came (a ring, the oldest evicted first when
 * full) and a hash table of ring positions (open addressing, linear
 * probing, backward-shift deletion). Written here because no Debian
 * library offers a bounded FIFO set; the table is keyed with SipHash
 * (libsodium's crypto_shorthash) under a random key, since ids are
 * SHA-256 prefixes a sender can grind to collide in a few low bits.
 */
#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "dmp/common.h"
#include "node/node_relay_i.h"

struct nrd_ent {
	uint8_t id[16];
	uint64_t exp_s;
};

struct dmp_nrd {
	pthread_mutex_t mu;
	struct nrd_ent *ring; /* max entries, ring[head] the oldest */
	size_t max, head, count;
	uint32_t *tab; /* ring index + 1; 0 empty */
	size_t mask;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

int dmp_nrd_new(struct dmp_nrd **out, size_t max)
{
	struct dmp_nrd *d;
	size_t slots = 1;

	*out = NULL;
	if (max < 1 || max > DMP_NODE_RELAY_DUP_MAX) {
		return DMP_EINVAL;
	}
	while (slots < 2 * max) {
		slots <<= 1;
	}
	d = dmp_calloc(1, sizeof(*d));
	if (!d) {
		return DMP_ENOMEM;
	}
	d->ring = dmp_calloc(max, sizeof(*d->ring));
	d->tab = dmp_calloc(slots, sizeof(*d->tab));
	if (!d->ring || !d->tab) {
		dmp_free(d->ring);
		dmp_free(d->tab);
		dmp_free(d);
		return DMP_ENOMEM;
	}
	d->max = max;
	d->mask = slots - 1;
	randombytes_buf(d->key, sizeof(d->key));
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

void dmp_nrd_free(struct dmp_nrd *d)
{
	if (!d) {
		return;
	}
	pthread_mutex_destroy(&d->mu);
	dmp_free(d->ring);
	dmp_free(d->tab);
	dmp_free(d);
}

static size_t home(const struct dmp_nrd *d, const uint8_t id[16])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, id, 16, d->key);
	for (size_t i = 0; i < sizeof(h); i++) {
		v = v << 8 | h[i];
	}
	return (size_t)v & d->mask;
}

/* The table slot holding @p id, or the empty slot where it would go. */
static size_t find(const struct dmp_nrd *d, const uint8_t id[16], int *hit)
{
	size_t i = home(d, id);

	while (d->tab[i]) {
		if (memcmp(d->ring[d->tab[i] - 1].id, id, 16) == 0) {
			*hit = 1;
			return i;
		}
		i = (i + 1) & d->mask;
	}
	*hit = 0;
	return i;
}

/* Empty slot @p i, moving later entries of its run back so that every
 * entry stays reachable from its home slot. */
static void unslot(struct dmp_nrd *d, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & d->mask;
		if (!d->tab[j]) {
			break;
		}
		k = home(d, d->ring[d->tab[j] - 1].id);
		/* Move j to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			d->tab[i] = d->tab[j];
			i = j;
		}
	}
	d->tab[i] = 0;
}

/* Drop the oldest id. */
static void drop_head(struct dmp_nrd *d)
{
	int hit;
	size_t i = find(d, d->ring[d->head].id, &hit);

	if (hit) {
		unslot(d, i);
	}
	d->head = (d->head + 1) % d->max;
	d->count--;
}

static int parse_id(const char *id, uint8_t out[16])
{
	if (!id || strlen(id) != 32) {
		return -1;
	}
	for (size_t i = 0; i < 32; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return -1;
		}
	}
	return dmp_hex_decode(out, 16, id, 32) < 0 ? -1 : 0;
}

int dmp_nrd_seen(struct dmp_nrd *d, const char *id, uint64_t now_s)
{
	uint8_t b[16];
	int hit, seen;
	size_t i;

	if (parse_id(id, b) < 0) {
		return 0;
	}
	pthread_mutex_lock(&d->mu);
	i = find(d, b, &hit);
	seen = hit && d->ring[d->tab[i] - 1].exp_s > now_s;
	pthread_mutex_unlock(&d->mu);
	return seen;
}

int dmp_nrd_add(struct dmp_nrd *d, const char *id, uint64_t exp_s,
		uint64_t now_s)
{
	uint8_t b[16];
	int hit;
	size_t i;

	if (parse_id(id, b) < 0) {
		return DMP_EINVAL;
	}
	pthread_mutex_lock(&d->mu);
	i = find(d, b, &hit);
	if (hit) {
		struct nrd_ent *e = &d->ring[d->tab[i] - 1];

		e->exp_s = exp_s > e->exp_s ? exp_s : e->exp_s;
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	/* Expired ones at the old end go first, then the oldest if full. */
	while (d->count > 0 &&
	       (d->ring[d->head].exp_s <= now_s || d->count == d->max)) {
		drop_head(d);
	}
	{
		size_t pos = (d->head + d->count) % d->max;

		memcpy(d->ring[pos].id, b, 16);
		d->ring[pos].exp_s = exp_s;
		d->count++;
		i = find(d, b, &hit); /* the table may have moved */
		d->tab[i] = (uint32_t)pos + 1;
	}
	pthread_mutex_unlock(&d->mu);
	return 0;
}

size_t dmp_nrd_count(struct dmp_nrd *d)
{
	size_t c;

	pthread_mutex_lock(&d->mu);
	c = d->count;
	pthread_mutex_unlock(&d->mu);
	return c;
}
