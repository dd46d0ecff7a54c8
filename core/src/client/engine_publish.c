/*
 * core/src/client/engine_publish.c - the publish pass (issue 19): queued
 * messages go out in batches of up to PUBLISH_BATCH_MSGS. A batch's chunks
 * share UPDATEs (DMP_ENG_PUBLISH_OPS records, DMP_ENG_PUBLISH_BYTES), then
 * its manifests share the next ones, then its claims go together per zone:
 * two or three node commits per batch instead of three per message. A
 * manifest is only sent once every chunk of its message was taken, and
 * messages to one recipient become visible in queue order.
 *
 * A node applies an UPDATE whole or not at all (PROTOCOL.md 7.1): one
 * message's refused record (a full slot, a budget) refuses the UPDATE for
 * every message in it. Those messages are then published one at a time,
 * as before batching, so only the refused one waits. The batch's store
 * changes are two transactions, one before the network and one after.
 *
 * Batches only when they cannot tell a watcher anything: with cover
 * traffic on (privacy.cover_rate) a cover message goes alone, so a real
 * UPDATE carrying two messages would stand out by its size
 * (test_privacy_watcher); with a publish delay on (privacy.delay) the
 * user asked for UPDATEs that do not follow their actions. Either way a
 * batch is one message, published as it was before batching.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "engine_i.h"

#define PUBLISH_BATCH_MSGS 64
#define RETRY_BASE 15
#define RETRY_MAX 3600

struct prec {
	int seq;
	char *name, *value;
	uint32_t ttl;
	int published; /* in the store before the pass, or sent now */
	int sent;      /* sent now: marked in the store at the batch's end */
};

struct pmsg {
	struct dmp_outbox_msg *m;  /* in the pass's snapshot */
	enum dmp_outbox_state was; /* its state in the snapshot */
	struct prec *r;
	size_t n, cap;
	unsigned mask; /* the recipient's mailbox nodes */
	int slot;      /* of the manifest, -1 if none */
	int err, full;
	int alone;  /* publish it on its own (a shared UPDATE was refused) */
	int held;   /* an older message to its recipient did not go out */
	int gone;   /* not published in this pass (withdrawn, paced) */
	int blocks; /* gone, and holds later messages to its recipient */
	int oom;
	int relayed;	     /* taken by a relay (engine_relay.c) */
	char took[48 + 224]; /* "on N of M nodes", "path=relay:<url>" */
	char why[320];	     /* why a relay did not take it, or "" */
};

struct pass {
	struct dmp_engine *e;
	struct dmp_eng_writer *w;
	struct dmp_eng_mp_pace pace;
	struct pmsg b[PUBLISH_BATCH_MSGS];
	size_t nb;
	int64_t now;
	int done, tried, reached, last, delayed, shared_off;
	/* relays that did not answer this pass (engine_relay.c) */
	struct dmp_eng_relay_dead relay_dead;
};

/* One UPDATE being filled: which record of which message each op is. */
struct upd {
	struct dmp_update_rr ops[DMP_ENG_PUBLISH_OPS];
	struct prec *rec[DMP_ENG_PUBLISH_OPS];
	struct pmsg *pm[DMP_ENG_PUBLISH_OPS];
	size_t k, bytes;
	unsigned mask;
};

static int collect_record(int seq, const char *name, const char *value,
			  uint32_t ttl, int published, void *ud)
{
	struct pmsg *pm = ud;
	struct prec *p;

	if (dmp_grow(&pm->r, &pm->cap, pm->n, sizeof(*pm->r), 16) < 0) {
		pm->oom = 1;
		return 1;
	}
	p = &pm->r[pm->n];
	p->seq = seq;
	p->name = strdup(name);
	p->value = strdup(value);
	p->ttl = ttl;
	p->published = published;
	p->sent = 0;
	if (!p->name || !p->value) {
		free(p->name);
		free(p->value);
		pm->oom = 1;
		return 1;
	}
	pm->n++;
	return 0;
}

static void pmsg_free(struct pmsg *pm)
{
	for (size_t i = 0; i < pm->n; i++) {
		free(pm->r[i].name);
		free(pm->r[i].value);
	}
	dmp_free(pm->r);
	memset(pm, 0, sizeof(*pm));
}

static int64_t backoff(int attempts)
{
	int64_t d = RETRY_BASE;
	uint32_t j;

	for (int i = 0; i < attempts && d < RETRY_MAX; i++) {
		d *= 2;
	}
	if (d > RETRY_MAX) {
		d = RETRY_MAX;
	}
	dmp_random(&j, sizeof(j));
	return d + (int64_t)(j % (uint32_t)(d / 4 + 1));
}

/* The slot of a manifest owner name "slot-N.mb-…", else -1. */
static int manifest_slot(const char *name)
{
	if (strncmp(name, "slot-", 5) == 0 && isdigit((unsigned char)name[5]) &&
	    name[6] == '.') {
		return name[5] - '0';
	}
	return -1;
}

/* An older message of the batch to @p pm's recipient that is not going
 * out with it in the shared UPDATEs (@p failed_only: that failed). */
static int older_blocked(const struct pass *ps, size_t i, int failed_only)
{
	for (size_t k = 0; k < i; k++) {
		const struct pmsg *o = &ps->b[k];

		if ((o->gone && !o->blocks) ||
		    strcmp(o->m->recipient, ps->b[i].m->recipient) != 0) {
			continue;
		}
		if (o->blocks || o->err != 0 || o->held ||
		    (!failed_only && o->alone)) {
			return 1;
		}
	}
	return 0;
}

/* Send what @p u holds and note the outcome in its records and messages. */
static void upd_send(struct pass *ps, struct upd *u)
{
	struct dmp_engine *e = ps->e;
	int err, multi = 0;

	if (u->k == 0) {
		return;
	}
	for (size_t i = 1; i < u->k; i++) {
		multi |= u->pm[i] != u->pm[0];
	}
	err = dmp_eng_writer_send_to(e, ps->w, u->ops, u->k, u->mask);
	if (err == 0 || err != DMP_EUNREACHABLE) {
		ps->reached = 1;
	}
	for (size_t i = 0; i < u->k; i++) {
		struct pmsg *pm = u->pm[i];
		int man = manifest_slot(u->ops[i].owner) >= 0;

		if (err == 0) {
			u->rec[i]->published = u->rec[i]->sent = 1;
			if (man && e->w_targets > 0) {
				/* How many of the mailbox's nodes took the
				 * manifest: kept with the message. */
				snprintf(pm->took, sizeof(pm->took),
					 "on %u of %u nodes", e->w_took,
					 e->w_targets);
			}
		} else if (multi && err == DMP_EREFUSED) {
			pm->alone = 1; /* which of them: one at a time */
			ps->shared_off = 1;
		} else if (pm->err == 0 && !pm->held) {
			/* Behind an older message to its recipient that
			 * failed: it waits, untried, as it would have. */
			if (older_blocked(ps, (size_t)(pm - ps->b), 1)) {
				pm->held = 1;
			} else {
				pm->err = err;
			}
		}
		/* Chunk names are fresh: a refusal is a cap (a part's
		 * chunks: limits.store_bytes), or the manifest's slot. */
		if (err == DMP_EREFUSED && !multi && (pm->m->whole[0] || man)) {
			pm->full = 1;
		}
	}
	u->k = u->bytes = 0;
}

/* 1 if @p u must be sent before record @p p of @p pm goes in: full, or
 * for other nodes. */
static int upd_full(const struct upd *u, const struct pmsg *pm,
		    const struct prec *p)
{
	return u->k > 0 &&
	       (u->k == DMP_ENG_PUBLISH_OPS || u->mask != pm->mask ||
		u->bytes + strlen(p->value) > DMP_ENG_PUBLISH_BYTES);
}

/* Add record @p p of @p pm to @p u, sending @p u first when it is full. */
static void upd_add(struct pass *ps, struct upd *u, struct pmsg *pm,
		    struct prec *p)
{
	size_t vl = strlen(p->value);

	if (upd_full(u, pm, p)) {
		upd_send(ps, u);
	}
	u->ops[u->k] = (struct dmp_update_rr){DMP_UPDATE_ADD, p->name, p->ttl,
					      p->value, vl};
	u->rec[u->k] = p;
	u->pm[u->k] = pm;
	u->mask = pm->mask;
	u->k++;
	u->bytes += vl + strlen(p->name);
}

/* One message on its own: chunks several to an UPDATE, then the manifest
 * alone, stopping at the first failure. */
static void publish_alone(struct pass *ps, struct pmsg *pm)
{
	struct upd u;

	u.k = u.bytes = 0;
	for (size_t j = 0; j < pm->n && pm->err == 0; j++) {
		struct prec *p = &pm->r[j];

		if (p->published) {
			continue;
		}
		if (manifest_slot(p->name) >= 0) {
			upd_send(ps, &u);
			if (pm->err == 0) {
				upd_add(ps, &u, pm, p);
				upd_send(ps, &u);
			}
			continue;
		}
		upd_add(ps, &u, pm, p);
	}
	if (pm->err == 0) {
		upd_send(ps, &u);
	}
}

static int live(const struct pmsg *pm)
{
	return !pm->gone && pm->err == 0 && !pm->alone && !pm->held;
}

/* Set the batch up in one transaction: PUBLISHING, records, nodes, slot,
 * the multi-part pacing. */
static void batch_prepare(struct pass *ps)
{
	struct dmp_engine *e = ps->e;
	int tx = dmp_store_tx_begin(e->st) == 0;

	for (size_t i = 0; i < ps->nb; i++) {
		struct pmsg *pm = &ps->b[i];
		struct dmp_outbox_msg *m = pm->m;
		struct dmp_store_contact ct;
		const char *why;
		int rc;

		pm->slot = -1;
		if (dmp_store_outbox_set_state(e->st, m->id,
					       DMP_OUTBOX_PUBLISHING, ps->now,
					       m->last_error) == DMP_ENOENT) {
			pm->gone = 1; /* withdrawn or cancelled meanwhile */
			m->state = DMP_OUTBOX_FAILED; /* holds nothing back */
			continue;
		}
		rc = dmp_store_outbox_records(e->st, m->id, collect_record, pm);
		if (rc < 0 || pm->oom) {
			ps->last = rc < 0 ? rc : DMP_ENOMEM;
			pm->gone = pm->blocks = 1;
			m->state = DMP_OUTBOX_QUEUED;
			continue;
		}
		/* The recipient's mailbox nodes (rendezvous); all nodes when
		 * the contact is gone. */
		pm->mask = ~0u;
		if (dmp_store_contact_get(e->st, m->recipient, &ct) == 0) {
			uint8_t rid[DMP_USER_ID_BYTES];

			dmp_sha256(rid, ct.x25519_pk, 32);
			pm->mask = dmp_eng_mailbox_nodes(e, rid);
		}
		for (size_t j = 0; j < pm->n; j++) {
			int s = manifest_slot(pm->r[j].name);

			pm->slot = s >= 0 ? s : pm->slot;
		}
		if ((why = dmp_eng_mp_pace_wait(&ps->pace, e, m, pm->slot)) !=
		    NULL) {
			pm->gone = pm->blocks = 1;
			m->state = DMP_OUTBOX_QUEUED;
			(void)dmp_store_outbox_set_state(
			    e->st, m->id, DMP_OUTBOX_QUEUED,
			    ps->now + dmp_eng_mp_pace_retry(e), why);
		}
	}
	if (tx) {
		(void)dmp_store_tx_end(e->st, 1);
	}
}

/* The network part: chunks, manifests, then the ones that go alone. */
static void batch_send(struct pass *ps)
{
	struct upd u;
	int any = 0;

	for (size_t i = 0; i < ps->nb; i++) {
		any |= !ps->b[i].gone;
	}
	if (!any) {
		return;
	}
	if (!ps->delayed) { /* privacy.delay: once a pass, so a file of
			     * many parts is not held up part by part */
		dmp_eng_publish_delay(ps->e);
		ps->delayed = 1;
	}
	/* A part of a large file, or a pass where a shared UPDATE was
	 * refused already: one at a time, as the pacing expects. */
	for (size_t i = 0; i < ps->nb; i++) {
		ps->b[i].alone |= ps->b[i].m->whole[0] || ps->shared_off;
	}
	u.k = u.bytes = 0;
	for (size_t i = 0; i < ps->nb; i++) { /* chunks */
		struct pmsg *pm = &ps->b[i];

		for (size_t j = 0; live(pm) && j < pm->n; j++) {
			if (!pm->r[j].published &&
			    manifest_slot(pm->r[j].name) < 0) {
				upd_add(ps, &u, pm, &pm->r[j]);
			}
		}
	}
	upd_send(ps, &u);
	for (size_t i = 0; i < ps->nb; i++) { /* manifests, in queue order */
		struct pmsg *pm = &ps->b[i];
		struct prec *man = NULL;

		for (size_t j = 0; live(pm) && j < pm->n; j++) {
			man = pm->r[j].published ? man : &pm->r[j];
		}
		if (man && upd_full(&u, pm, man)) {
			upd_send(ps, &u);
		}
		/* After a refused UPDATE, or behind an older message to the
		 * same recipient that does not go with it: alone, after the
		 * others, so no manifest overtakes an older one. */
		if (live(pm) && (ps->shared_off || older_blocked(ps, i, 0))) {
			pm->alone = 1;
		}
		if (man && live(pm)) {
			upd_add(ps, &u, pm, man);
		}
	}
	upd_send(ps, &u);
	for (size_t i = 0; i < ps->nb; i++) { /* alone, in queue order */
		struct pmsg *pm = &ps->b[i];

		if (pm->gone || pm->err != 0 || !pm->alone) {
			continue;
		}
		if (older_blocked(ps, i, 1)) {
			pm->held = 1;
			continue;
		}
		publish_alone(ps, pm);
	}
}

/* The relay fallback (docs/protocol.md 8.7.8): a message no home node
 * answered for (DMP_EUNREACHABLE: a timeout or a refused connection, not
 * a REFUSED verdict or a budget deferral) goes as a bundle to a relay
 * (network.relays, discovery). A part of a large file is not relayed:
 * its pacing counts on the home node's mailbox. */
static void batch_relay(struct pass *ps)
{
	const struct client_conf *c = &ps->e->conf;

	for (size_t i = 0;
	     i < ps->nb && (c->relays.n > 0 || c->relays_from_discovery); i++) {
		struct pmsg *pm = &ps->b[i];
		struct dmp_eng_relay_rec *r;
		char path[224];
		int rc;

		if (pm->gone || pm->held || pm->err != DMP_EUNREACHABLE ||
		    pm->m->whole[0] || pm->n == 0) {
			continue;
		}
		r = dmp_calloc(pm->n, sizeof(*r));
		if (!r) {
			continue;
		}
		for (size_t j = 0; j < pm->n; j++) {
			r[j] = (struct dmp_eng_relay_rec){
			    pm->r[j].name, pm->r[j].value, pm->r[j].ttl};
		}
		rc = dmp_eng_relay_send(ps->e, pm->m, r, pm->n, pm->slot,
					&ps->relay_dead, path, sizeof(path),
					pm->why, sizeof(pm->why));
		dmp_free(r);
		if (rc == 0) {
			for (size_t j = 0; j < pm->n; j++) {
				pm->r[j].sent |= !pm->r[j].published;
				pm->r[j].published = 1;
			}
			pm->err = 0;
			pm->relayed = 1;
			snprintf(pm->took, sizeof(pm->took), "path=%s", path);
		}
	}
}

/* Mark @p pm's records sent in this batch (runs of seq). */
static void mark_sent(struct dmp_engine *e, const struct pmsg *pm)
{
	for (size_t j = 0; j < pm->n; j++) {
		size_t k = j;

		if (!pm->r[j].sent) {
			continue;
		}
		while (k + 1 < pm->n && pm->r[k + 1].sent &&
		       pm->r[k + 1].seq == pm->r[k].seq + 1) {
			k++;
		}
		(void)dmp_store_outbox_records_done(e->st, pm->m->id,
						    pm->r[j].seq, pm->r[k].seq);
		j = k;
	}
}

static const char *refused_why(const struct dmp_outbox_msg *m)
{
	return m->whole[0]
		   ? "node refused a part of a large file: the recipient's "
		     "mailbox there may be full (limits.name_bytes, "
		     "store_bytes: the file's parts fill it until the "
		     "recipient drains it), or outside your key's scope"
		   : "node refused the manifest: the recipient's mailbox slot "
		     "there may be full (limits.name_bytes: a large file's "
		     "parts fill it until the recipient drains it), or "
		     "outside your key's scope";
}

/* The batch's outcome in the store (one transaction), its sent/ copies,
 * then its events and claims (the event callback runs with no
 * transaction open). */
static void batch_finish(struct pass *ps)
{
	struct dmp_engine *e = ps->e;
	struct dmp_eng_claims cl = {0};
	int64_t next[PUBLISH_BATCH_MSGS] = {0};
	int tx = dmp_store_tx_begin(e->st) == 0;

	for (size_t i = 0; i < ps->nb; i++) {
		struct pmsg *pm = &ps->b[i];
		struct dmp_outbox_msg *m = pm->m;

		if (pm->gone) {
			continue;
		}
		mark_sent(e, pm);
		if (pm->held) {
			/* It waits for the older one, as if not tried. */
			m->state = pm->was;
			(void)dmp_store_outbox_restore(e->st, m);
		} else if (pm->err < 0) {
			next[i] = dmp_eng_now(e) +
				  (pm->full ? dmp_eng_mp_pace_retry(e)
					    : backoff(m->attempts));
			m->state = DMP_OUTBOX_QUEUED;
			(void)dmp_store_outbox_set_state(
			    e->st, m->id, DMP_OUTBOX_QUEUED, next[i],
			    pm->why[0] ? pm->why : dmp_strerror(pm->err));
		} else {
			m->state = DMP_OUTBOX_PUBLISHED;
			(void)dmp_store_outbox_set_state(
			    e->st, m->id, DMP_OUTBOX_PUBLISHED, 0, pm->took);
		}
	}
	if (tx) {
		(void)dmp_store_tx_end(e->st, 1);
	}
	/* The sent/ copies after the commit (a copy never exists for a
	 * message the queue does not say published; one a crash loses is
	 * made again at the next open, engine_sent.c), their reads (body,
	 * contact) in one more transaction rather than two commits each. */
	tx = dmp_store_tx_begin(e->st) == 0;
	for (size_t i = 0; i < ps->nb; i++) {
		if (!ps->b[i].gone && !ps->b[i].held && ps->b[i].err == 0) {
			dmp_eng_sent_save(e, ps->b[i].m);
		}
	}
	if (tx) {
		(void)dmp_store_tx_end(e->st, 1);
	}
	for (size_t i = 0; i < ps->nb; i++) {
		struct pmsg *pm = &ps->b[i];
		struct dmp_outbox_msg *m = pm->m;
		char d[720];
		int tell = 1;

		if (pm->gone || pm->held) {
			continue;
		}
		if (pm->err == 0 || pm->full) {
			dmp_eng_mp_pace_note(&ps->pace, m, pm->slot, pm->full);
		}
		if (pm->full && m->whole[0]) {
			tell =
			    dmp_eng_mp_pace_refused(&ps->pace, m, e->w_refused);
		}
		if (pm->err < 0) {
			/* a full slot: wait, no fault */
			ps->last = pm->full ? ps->last : pm->err;
			snprintf(d, sizeof(d), "%s%s%s; retry in %lld s",
				 pm->full ? refused_why(m)
					  : dmp_strerror(pm->err),
				 pm->why[0] ? "; " : "", pm->why,
				 (long long)(next[i] - ps->now));
			if (tell) {
				dmp_eng_emit(e, DMP_EV_RETRY, m->recipient,
					     m->msg_id, pm->err, d);
			}
			continue;
		}
		if (pm->slot >= 0 && !pm->relayed) { /* a relay's bundle
						      * holds the claim */
			dmp_eng_claims_add(e, &cl, m, (uint32_t)pm->slot);
		}
		snprintf(d, sizeof(d), "published%s%s", pm->took[0] ? " " : "",
			 pm->took);
		dmp_eng_emit(e, DMP_EV_PUBLISHED, m->recipient, m->msg_id, 0,
			     d);
		ps->done++;
	}
	dmp_eng_claims_flush(e, &cl);
}

static void batch_run(struct pass *ps)
{
	if (ps->nb == 0) {
		return;
	}
	batch_prepare(ps);
	batch_send(ps);
	batch_relay(ps);
	batch_finish(ps);
	for (size_t i = 0; i < ps->nb; i++) {
		pmsg_free(&ps->b[i]);
	}
	ps->nb = 0;
}

/* Messages a batch takes at most: one unless both cover traffic and the
 * publish delay are off (see the top of the file). */
static size_t batch_max(const struct dmp_engine *e)
{
	const struct client_conf *c = &e->conf;
	int delay = strcmp(c->delay, "off") != 0 && c->delay_mean_ms > 0 &&
		    c->delay_max_ms > 0; /* as dmp_eng_publish_delay() */

	return c->cover_rate == 0 && !delay ? PUBLISH_BATCH_MSGS : 1;
}

static int publish_pass(struct dmp_engine *e)
{
	struct dmp_eng_pending p = {0};
	struct pass *ps;
	char exp_why[33 + 256] = "";
	int rc;

	ps = dmp_calloc(1, sizeof(*ps));
	if (!ps) {
		return DMP_ENOMEM;
	}
	ps->e = e;
	ps->now = dmp_eng_now(e);
	rc = dmp_store_outbox_each_pending(e->st, dmp_eng_pending_collect, &p);
	if (rc < 0) {
		dmp_free(p.v);
		dmp_free(ps);
		return rc;
	}
	dmp_eng_mp_order(p.v, p.n); /* engine_mp_pace.c */
	for (size_t i = 0; i < p.n; i++) {
		struct dmp_outbox_msg *m = &p.v[i];

		if (m->state == DMP_OUTBOX_FAILED) {
			continue;
		}
		if (m->expires && (uint64_t)ps->now > m->expires) {
			/* A part of a file no node could hold says so. */
			const char *x = dmp_eng_mp_expired_why(e, m, exp_why);

			m->state = DMP_OUTBOX_FAILED;
			(void)dmp_store_outbox_set_state(
			    e->st, m->id, DMP_OUTBOX_FAILED, 0, x);
			dmp_eng_emit(e, DMP_EV_FAILED, m->recipient, m->msg_id,
				     DMP_EEXPIRED, x);
			continue;
		}
		if (m->next_attempt > ps->now || dmp_eng_outbox_held(p.v, i)) {
			continue;
		}
		if (!ps->w) {
			rc = dmp_eng_writer_open(e, 0, &ps->w);
			if (rc < 0) {
				ps->last = rc;
				break;
			}
		}
		ps->tried++;
		/* In the batch: it holds no later message to its recipient
		 * back (the batch keeps their order itself). */
		ps->b[ps->nb].was = m->state;
		ps->b[ps->nb++].m = m;
		m->state = DMP_OUTBOX_PUBLISHED;
		/* A part goes with the batch before it settled, so the
		 * pacing counts what went before. */
		if (ps->nb == batch_max(e) || m->whole[0]) {
			batch_run(ps);
		}
	}
	batch_run(ps);
	if (ps->w) {
		dmp_eng_writer_close(e, ps->w);
	}
	dmp_eng_mp_pace_done(e, &ps->pace); /* the sent/ copy of a file */
	dmp_free(p.v);
	if (ps->reached) {
		dmp_eng_refresh_prekey_caches(e);
	}
	if (ps->tried > 0) {
		dmp_eng_set_state(e, ps->reached
					 ? (ps->last ? DMP_ENGINE_DEGRADED
						     : DMP_ENGINE_ONLINE)
					 : DMP_ENGINE_OFFLINE);
	}
	rc =
	    ps->tried > 0 && !ps->reached && ps->last < 0 ? ps->last : ps->done;
	dmp_free(ps);
	return rc;
}

/* Publishing repeats safely (a node adds a record it has once, the
 * receiver drops a replay, the sent/ copy is made once): its commits need
 * not be durable, a power failure only means publishing again (store.h). */
int dmp_eng_publish_pass(struct dmp_engine *e)
{
	int rc = dmp_eng_key_check(e);

	if (rc < 0) {
		return rc; /* the queue waits for the new key */
	}
	dmp_eng_rotation_reencode(e); /* after a rotation, once */
	dmp_store_relax(e->st, 1);
	rc = publish_pass(e);
	dmp_eng_cover_tick(e); /* privacy.cover_rate */
	dmp_store_relax(e->st, 0);
	return rc;
}
