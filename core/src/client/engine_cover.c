/*
 * core/src/client/engine_cover.c - cover traffic (docs/security.md
 * "Observer model"): dummy messages and dummy mailbox reads.
 *
 * Cover messages (privacy.cover_rate per hour, Poisson): real DMP v1
 * messages, encrypted to our own key and published into our own mailbox
 * with the same record types, owner-name shapes, TTL (messages.lifetime),
 * padding buckets and publish delay as real ones. Their bucket is drawn
 * from the buckets our real messages used lately (a decaying histogram in
 * the store), their length uniformly within it. The plaintext starts with
 * COVER_MARK, inside the ciphertext: our own poll fetches and decrypts
 * them like any message and only then drops them silently, so neither the
 * node nor a watcher can tell; nobody else can decrypt them.
 *
 * Cover polls (privacy.cover_polls): each poll also reads all ten slots
 * of that many decoy mailboxes in our zone, fixed per identity (so they
 * recur poll after poll like a real mailbox), never written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/pipeline.h"
#include "engine_i.h"

#define COVER_MARK "DMP-COVER/1\n"
#define COVER_MARK_LEN (sizeof(COVER_MARK) - 1)
#define KV_NEXT "privacy.cover_next"
#define KV_HIST "privacy.buckets"
#define HIST_MAX 33   /* k = 1..32 */
#define HIST_DECAY 64 /* halve the counts past this total */

/* Seconds to the next event of a Poisson process of @p per_hour. */
static int64_t poisson_gap(long long per_hour)
{
	uint64_t r;
	double u, s;

	dmp_random(&r, sizeof(r));
	u = ((double)(r >> 11) + 1.0) / 9007199254740992.0; /* (0, 1] */
	s = -log(u) * 3600.0 / (double)per_hour;
	return s < 1.0 ? 1 : (s > 86400.0 ? 86400 : (int64_t)s);
}

static void hist_load(struct dmp_engine *e, unsigned h[HIST_MAX])
{
	char v[512];
	const char *p = v;

	memset(h, 0, HIST_MAX * sizeof(*h));
	if (dmp_store_kv_get(e->st, KV_HIST, v, sizeof(v)) < 0) {
		return;
	}
	for (int i = 1; i < HIST_MAX && *p; i++) {
		char *end;
		unsigned long c = strtoul(p, &end, 10);

		if (end == p) {
			break;
		}
		h[i] = (unsigned)c;
		p = *end == ' ' ? end + 1 : end;
	}
}

void dmp_eng_cover_note(struct dmp_engine *e, unsigned k)
{
	unsigned h[HIST_MAX], total = 0;
	char v[512];
	size_t off = 0;

	if (e->conf.cover_rate == 0 || k == 0 || k >= HIST_MAX) {
		return;
	}
	hist_load(e, h);
	h[k]++;
	for (int i = 1; i < HIST_MAX; i++) {
		total += h[i];
	}
	for (int i = 1; i < HIST_MAX; i++) {
		if (total > HIST_DECAY) {
			h[i] = (h[i] + 1) / 2;
		}
		off += (size_t)snprintf(v + off, sizeof(v) - off, "%s%u",
					i > 1 ? " " : "", h[i]);
	}
	(void)dmp_store_kv_set(e->st, KV_HIST, v);
}

/* A bucket drawn from the histogram of real messages; the smallest
 * bucket (that of a one-byte message) before any was sent. */
static unsigned cover_bucket(struct dmp_engine *e, int64_t now, uint32_t ttl)
{
	unsigned h[HIST_MAX], total = 0;
	uint32_t r;

	hist_load(e, h);
	for (int i = 1; i < HIST_MAX; i++) {
		total += h[i];
	}
	if (total == 0) {
		return dmp_eng_pad_k(e, now, ttl, 1);
	}
	dmp_random(&r, sizeof(r));
	r %= total;
	for (unsigned i = 1; i < HIST_MAX; i++) {
		if (r < h[i]) {
			return i;
		}
		r -= h[i];
	}
	return 0;
}

/* The largest plaintext that still fits @p k data chunks (0: none). */
static size_t fits(int64_t now, uint32_t ttl, unsigned k)
{
	size_t lo = 0, hi = dmp_pipeline_max_plaintext(now, ttl);

	if (dmp_pipeline_data_chunks(now, ttl, lo) > k) {
		return 0;
	}
	while (lo < hi) { /* data_chunks() grows with the length */
		size_t mid = lo + (hi - lo + 1) / 2;

		if (dmp_pipeline_data_chunks(now, ttl, mid) <= k &&
		    dmp_pipeline_data_chunks(now, ttl, mid) != 0) {
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return lo;
}

/* Chunks in one UPDATE, then the manifest, as publish_pass() does. */
static int cover_publish(struct dmp_engine *e, const struct dmp_send_result *r)
{
	struct dmp_update_rr ops[64];
	struct dmp_eng_writer *w = NULL;
	unsigned mask = dmp_eng_mailbox_nodes(e, dmp_keys_user_id(e->keys));
	size_t nc = r->n_records - 1;
	int rc;

	if (nc > DMP_ARRAY_LEN(ops)) {
		return DMP_EFBIG;
	}
	for (size_t i = 0; i < r->n_records; i++) {
		ops[i] = (struct dmp_update_rr){
		    DMP_UPDATE_ADD, r->records[i].name, r->records[i].ttl,
		    r->records[i].value, strlen(r->records[i].value)};
	}
	dmp_eng_publish_delay(e);
	rc = dmp_eng_writer_open(e, 0, &w);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_eng_writer_send_to(e, w, ops, nc, mask);
	if (rc == 0) {
		rc = dmp_eng_writer_send_to(e, w, ops + nc, 1, mask);
	}
	dmp_eng_writer_close(e, w);
	return rc;
}

void dmp_eng_cover_tick(struct dmp_engine *e)
{
	struct dmp_send_params p;
	struct dmp_send_result r;
	struct dmp_codec *cd;
	char v[32];
	uint8_t *pt = NULL;
	int64_t now = dmp_eng_now(e), next = 0;
	uint32_t ttl = (uint32_t)(e->conf.lifetime < e->conf.max_lifetime
				      ? e->conf.lifetime
				      : e->conf.max_lifetime);
	unsigned k;
	size_t lo, hi, len;
	uint32_t rnd;
	int rc;

	if (e->conf.cover_rate == 0 || !dmp_keys_user_id(e->keys)) {
		return;
	}
	if (dmp_store_kv_get(e->st, KV_NEXT, v, sizeof(v)) == 0) {
		next = strtoll(v, NULL, 10);
	}
	if (next == 0 || next > now + 86400) {
		/* First tick, or a clock that jumped back: schedule only. */
		snprintf(v, sizeof(v), "%lld",
			 (long long)(now + poisson_gap(e->conf.cover_rate)));
		(void)dmp_store_kv_set(e->st, KV_NEXT, v);
		return;
	}
	if (now < next) {
		return;
	}
	/* One per pass at most: a missed stretch is not sent in a burst. */
	snprintf(v, sizeof(v), "%lld",
		 (long long)(now + poisson_gap(e->conf.cover_rate)));
	(void)dmp_store_kv_set(e->st, KV_NEXT, v);

	k = cover_bucket(e, now, ttl);
	hi = fits(now, ttl, k ? k : 1);
	lo = k > 1 ? fits(now, ttl, k - 1) + 1 : 1;
	if (hi < COVER_MARK_LEN || dmp_eng_codec(e, &cd) < 0) {
		return;
	}
	if (lo < COVER_MARK_LEN) {
		lo = COVER_MARK_LEN;
	}
	if (lo > hi) {
		lo = hi;
	}
	dmp_random(&rnd, sizeof(rnd));
	len = lo + rnd % (hi - lo + 1);
	pt = dmp_malloc(len);
	if (!pt) {
		return;
	}
	memcpy(pt, COVER_MARK, COVER_MARK_LEN);
	dmp_random(pt + COVER_MARK_LEN, len - COVER_MARK_LEN);
	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	p.sender = e->keys;
	p.recipient_x25519_pk = dmp_keys_x25519_pk(e->keys);
	p.ts = now;
	p.ttl = ttl;
	p.zone = e->conf.domain;
	p.plaintext = pt;
	p.len = len;
	p.pad_k = dmp_eng_pad_k(e, now, ttl, len);
	rc = dmp_pipeline_send(cd, &p, &r);
	dmp_free(pt);
	if (rc == 0) {
		rc = cover_publish(e, &r);
	}
	DMP_LOG_D("cover message (%u data chunks): %s", r.k,
		  rc < 0 ? dmp_strerror(rc) : "published");
	dmp_send_result_clear(&r);
}

int dmp_eng_cover_is(const struct dmp_engine *e, const struct dmp_manifest *m,
		     const uint8_t *pt, size_t pt_len)
{
	return pt_len >= COVER_MARK_LEN &&
	       memcmp(m->sender_spk, dmp_keys_ed25519_pk(e->keys), 32) == 0 &&
	       memcmp(pt, COVER_MARK, COVER_MARK_LEN) == 0;
}

size_t dmp_eng_cover_poll_names(const struct dmp_engine *e,
				char (*names)[DMP_NAME_MAX], size_t cap)
{
	static const char tag[] = "dmp cover poll";
	size_t n = 0;

	for (long long d = 0; d < e->conf.cover_polls; d++) {
		uint8_t in[sizeof(tag) + 32 + 8], rid[32];

		memcpy(in, tag, sizeof(tag));
		memcpy(in + sizeof(tag), dmp_keys_user_id(e->keys), 32);
		for (int b = 0; b < 8; b++) {
			in[sizeof(tag) + 32 + b] =
			    (uint8_t)((uint64_t)d >> (8 * b));
		}
		dmp_sha256(rid, in, sizeof(in));
		for (uint32_t s = 0; s < DMP_SLOT_COUNT && n < cap; s++) {
			if (dmp_name_slot(names[n], sizeof(names[n]), s, rid,
					  e->conf.domain) >= 0) {
				n++;
			}
		}
	}
	return n;
}
