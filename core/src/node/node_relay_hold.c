/*
 * core/src/node/node_relay_hold.c - the rules of the relay's hold
 * (docs/protocol.md 8.7.6): bounds (bundles, bytes, bytes per sender key;
 * full refuses the newcomer, nothing is evicted), the drop time (the
 * records' own expiries, at most mesh.relay_hold_max after arrival), the
 * retry schedule (5 s doubling to 300 s, at once when a link comes up,
 * at most mesh.relay_retries tries) over the relay_hold table
 * (node_store_hold.c), mirrored in memory without the bodies.
 *
 * Threads and locks: the forwarder thread drives it, /metrics and
 * GET /v1/mesh read it. h->mu (a leaf) covers the mirror; the table is
 * touched under the store's lock (the node's wlock) with h->mu released,
 * so the two are never nested.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "dmp/claim.h"
#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/manifest.h"
#include "node/node_relay_hold.h"

struct dmp_nrh {
	struct dmp_nrh_opts o;
	sqlite3 *db;
	pthread_mutex_t *db_lock;
	pthread_mutex_t mu; /* the mirror */
	struct dmp_nrh_entry *e;
	size_t n;
	uint64_t bytes, delivered;
};

unsigned dmp_nrh_backoff_s(unsigned tries)
{
	unsigned s = DMP_NRH_BACKOFF_FIRST;

	while (tries-- > 0 && s < DMP_NRH_BACKOFF_MAX) {
		s *= 2;
	}
	return s < DMP_NRH_BACKOFF_MAX ? s : DMP_NRH_BACKOFF_MAX;
}

static int load_one(const struct dmp_nrh_entry *e, void *ud)
{
	struct dmp_nrh *h = ud;

	if (h->n >= h->o.bundles) {
		/* mesh.relay_hold_bundles lowered since: still held, the
		 * newest wait in the table for room. */
		return 0;
	}
	h->e[h->n] = *e;
	h->bytes += e->bytes;
	h->n++;
	return 0;
}

int dmp_nrh_open(struct dmp_nrh **out, sqlite3 *db, pthread_mutex_t *db_lock,
		 const struct dmp_nrh_opts *o, uint64_t now_ms)
{
	struct dmp_nrh *h;
	int rc;

	*out = NULL;
	if (o->bundles < 1 || o->bundles > DMP_NODE_RELAY_HOLD_BUNDLES_MAX ||
	    o->bytes < 1 || o->sender_bytes < 1 || o->max_s < 1 ||
	    o->retries < 1) {
		return DMP_EINVAL;
	}
	h = dmp_calloc(1, sizeof(*h));
	if (!h) {
		return DMP_ENOMEM;
	}
	h->e = dmp_calloc(o->bundles, sizeof(*h->e));
	if (!h->e) {
		dmp_free(h);
		return DMP_ENOMEM;
	}
	h->o = *o;
	h->db = db;
	h->db_lock = db_lock;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_lock(db_lock);
	rc = dmp_st_hold_init(db);
	if (rc == 0) {
		rc = dmp_st_hold_load(db, load_one, h);
	}
	pthread_mutex_unlock(db_lock);
	if (rc < 0) {
		dmp_nrh_free(h);
		return rc;
	}
	for (size_t i = 0; i < h->n; i++) {
		h->e[i].next_ms = now_ms; /* retried at start */
	}
	if (h->n) {
		DMP_LOG_N("node: relay: %zu held bundle(s) (%llu bytes) "
			  "loaded; retrying them",
			  h->n, (unsigned long long)h->bytes);
	}
	*out = h;
	return 0;
}

void dmp_nrh_free(struct dmp_nrh *h)
{
	if (!h) {
		return;
	}
	pthread_mutex_destroy(&h->mu);
	dmp_free(h->e);
	dmp_free(h);
}

/* The manifest's or claim's exp of a record (chunks: @p man_exp). */
static uint64_t rec_exp(const struct dmp_relay_record *r, uint64_t man_exp,
			uint64_t now_s)
{
	if (strncmp(r->name, "claim-", 6) == 0) {
		struct dmp_claim c;

		if (dmp_claim_parse_verify(&c, r->value, r->vlen, now_s) == 0) {
			return c.exp;
		}
		return 0;
	}
	return man_exp;
}

int dmp_nrh_cap(struct dmp_relay_bundle *b, uint64_t now_s, uint32_t max_s,
		uint64_t *drop_s)
{
	uint64_t man_exp = UINT64_MAX, first = now_s + max_s;

	for (size_t i = 0; i < b->n_records; i++) {
		struct dmp_manifest m;

		if (strncmp(b->records[i].name, "slot-", 5) == 0 &&
		    dmp_manifest_parse_verify(&m, b->records[i].value,
					      b->records[i].vlen, now_s) == 0) {
			man_exp = m.exp;
			dmp_manifest_clear(&m);
		}
	}
	for (size_t i = 0; i < b->n_records; i++) {
		struct dmp_relay_record *r = &b->records[i];
		uint64_t exp = rec_exp(r, man_exp, now_s);
		uint64_t until = now_s + r->ttl;

		if (exp != UINT64_MAX && exp < until) {
			until = exp; /* no record outlives its own exp */
		}
		if (until <= now_s) {
			return DMP_EEXPIRED;
		}
		r->ttl = (uint32_t)(until - now_s);
		first = until < first ? until : first;
	}
	*drop_s = first;
	return 0;
}

/* Bytes held for @p sender (h->mu held). */
static uint64_t sender_bytes(const struct dmp_nrh *h, const char *sender)
{
	uint64_t s = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->e[i].sender, sender) == 0) {
			s += h->e[i].bytes;
		}
	}
	return s;
}

static ssize_t find(const struct dmp_nrh *h, const char *id)
{
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->e[i].id, id) == 0) {
			return (ssize_t)i;
		}
	}
	return -1;
}

static void remove_at(struct dmp_nrh *h, size_t i)
{
	h->bytes -= h->e[i].bytes;
	h->e[i] = h->e[--h->n];
}

int dmp_nrh_put(struct dmp_nrh *h, const struct dmp_relay_bundle *b,
		const char *id, const char *sender, uint64_t now_ms,
		uint64_t drop_s, char *why, size_t cap)
{
	struct dmp_nrh_entry e;
	char *body = NULL;
	size_t len = 0;
	uint64_t held;
	int rc;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.zone, sizeof(e.zone), "%s", b->zone);
	snprintf(e.sender, sizeof(e.sender), "%s", sender);
	for (size_t i = 0; i < b->n_records; i++) {
		e.bytes += b->records[i].vlen;
	}
	e.held_ms = now_ms;
	e.drop_s = drop_s;
	e.next_ms = now_ms + dmp_nrh_backoff_s(0) * 1000ull;
	rc = dmp_relay_bundle_to_json(b, &body, &len);
	if (rc < 0) {
		snprintf(why, cap, "cannot encode the bundle: %s",
			 dmp_strerror(rc));
		return rc;
	}
	/* Reserve in the mirror, then write with the mirror unlocked. */
	pthread_mutex_lock(&h->mu);
	held = sender_bytes(h, sender);
	if (find(h, id) >= 0) {
		rc = DMP_EEXIST;
		snprintf(why, cap, "bundle %s is held here already", id);
	} else if (h->n >= h->o.bundles) {
		rc = DMP_ENOSPC;
		snprintf(why, cap,
			 "the hold is full: %zu bundles (mesh."
			 "relay_hold_bundles %u)",
			 h->n, h->o.bundles);
	} else if (h->bytes + e.bytes > h->o.bytes) {
		rc = DMP_ENOSPC;
		snprintf(why, cap,
			 "the hold is full: %llu + %llu bytes is over mesh."
			 "relay_hold_bytes %llu",
			 (unsigned long long)h->bytes,
			 (unsigned long long)e.bytes,
			 (unsigned long long)h->o.bytes);
	} else if (held + e.bytes > h->o.sender_bytes) {
		rc = DMP_ENOSPC;
		snprintf(why, cap,
			 "sender %s has %llu bytes held here; %llu more is "
			 "over mesh.relay_hold_sender_bytes %llu",
			 sender, (unsigned long long)held,
			 (unsigned long long)e.bytes,
			 (unsigned long long)h->o.sender_bytes);
	} else {
		h->e[h->n++] = e;
		h->bytes += e.bytes;
	}
	pthread_mutex_unlock(&h->mu);
	if (rc < 0) {
		dmp_free(body);
		return rc;
	}
	pthread_mutex_lock(h->db_lock);
	rc = dmp_st_hold_put(h->db, &e, body, len);
	pthread_mutex_unlock(h->db_lock);
	dmp_free(body);
	if (rc < 0) {
		ssize_t i;

		pthread_mutex_lock(&h->mu);
		i = find(h, id);
		if (i >= 0) {
			remove_at(h, (size_t)i);
		}
		pthread_mutex_unlock(&h->mu);
		snprintf(why, cap,
			 rc == DMP_EEXIST ? "bundle %s is held here already"
					  : "cannot hold bundle %s: the store "
					    "failed (see the node's log)",
			 id);
	}
	return rc;
}

int dmp_nrh_due(struct dmp_nrh *h, uint64_t now_ms, struct dmp_nrh_entry *e)
{
	ssize_t best = -1;

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (h->e[i].next_ms <= now_ms &&
		    (best < 0 || h->e[i].next_ms < h->e[best].next_ms)) {
			best = (ssize_t)i;
		}
	}
	if (best >= 0) {
		*e = h->e[best];
	}
	pthread_mutex_unlock(&h->mu);
	return best >= 0;
}

void dmp_nrh_kick(struct dmp_nrh *h, uint64_t now_ms)
{
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		if (h->e[i].next_ms > now_ms) {
			h->e[i].next_ms = now_ms;
		}
	}
	pthread_mutex_unlock(&h->mu);
}

int dmp_nrh_load(struct dmp_nrh *h, const char *id, size_t max_bytes,
		 struct dmp_relay_bundle *b)
{
	char *body = NULL, why[DMP_RELAY_WHY_MAX];
	size_t len = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	pthread_mutex_lock(h->db_lock);
	rc = dmp_st_hold_body(h->db, id, &body, &len);
	pthread_mutex_unlock(h->db_lock);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_relay_bundle_parse_json(b, body, len, max_bytes, why,
					 sizeof(why));
	if (rc < 0) {
		DMP_LOG_W("node: relay: held bundle %s no longer parses (%s)",
			  id, why);
	}
	dmp_free(body);
	return rc;
}

int dmp_nrh_retry(struct dmp_nrh *h, const char *id, uint64_t now_ms)
{
	uint64_t next = 0;
	unsigned tries = 0;
	int drop = 0;
	ssize_t i;

	pthread_mutex_lock(&h->mu);
	i = find(h, id);
	if (i >= 0) {
		tries = ++h->e[i].tries;
		if (tries >= h->o.retries) {
			drop = 1;
			remove_at(h, (size_t)i);
		} else {
			next = now_ms + dmp_nrh_backoff_s(tries) * 1000ull;
			h->e[i].next_ms = next;
		}
	}
	pthread_mutex_unlock(&h->mu);
	if (i < 0) {
		return DMP_ENOENT;
	}
	pthread_mutex_lock(h->db_lock);
	if (drop) {
		(void)dmp_st_hold_del(h->db, id);
	} else {
		(void)dmp_st_hold_update(h->db, id, next, tries);
	}
	pthread_mutex_unlock(h->db_lock);
	return drop ? DMP_ERANGE : 0;
}

void dmp_nrh_done(struct dmp_nrh *h, const char *id, int delivered)
{
	ssize_t i;

	pthread_mutex_lock(&h->mu);
	i = find(h, id);
	if (i >= 0) {
		remove_at(h, (size_t)i);
	}
	h->delivered += delivered ? 1 : 0;
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_lock(h->db_lock);
	(void)dmp_st_hold_del(h->db, id);
	pthread_mutex_unlock(h->db_lock);
}

void dmp_nrh_stats(struct dmp_nrh *h, size_t *bundles, uint64_t *bytes,
		   uint64_t *delivered)
{
	pthread_mutex_lock(&h->mu);
	*bundles = h->n;
	*bytes = h->bytes;
	*delivered = h->delivered;
	pthread_mutex_unlock(&h->mu);
}

size_t dmp_nrh_list(struct dmp_nrh *h, struct dmp_nrh_entry *out, size_t max)
{
	size_t k = 0;

	pthread_mutex_lock(&h->mu);
	/* Selection by next try: max is small (a page of /v1/mesh). */
	while (k < max && k < h->n) {
		ssize_t best = -1;

		for (size_t i = 0; i < h->n; i++) {
			int taken = 0;

			for (size_t j = 0; j < k && !taken; j++) {
				taken = strcmp(out[j].id, h->e[i].id) == 0;
			}
			if (!taken && (best < 0 ||
				       h->e[i].next_ms < h->e[best].next_ms)) {
				best = (ssize_t)i;
			}
		}
		out[k++] = h->e[best];
	}
	pthread_mutex_unlock(&h->mu);
	return k;
}
