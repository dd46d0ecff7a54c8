/*
 * core/src/client/engine_mp_pace.c - pacing of multi-part wholes in a
 * publish pass (PROTOCOL.md 7.9, docs/protocol.md "How dmp sends and
 * receives a whole").
 *
 * A node holds at most limits.name_bytes at one slot name (about 31 part
 * manifests by default), so a large file (10 MB is about 2,900 parts)
 * cannot be on a node at once. The pass therefore:
 *  - publishes ordinary messages first and parts after them (a short note
 *    queued after a large file is not starved behind it);
 *  - publishes at most messages.part_window parts to one recipient per
 *    pass (a window; the rest wait messages.poll_interval);
 *  - once a node refuses a manifest at a recipient's slot (the slot is
 *    full), does not publish further messages to that slot in this pass
 *    (their chunks would be written for nothing): they wait
 *    messages.poll_interval until the
 *    receiver has drained the slot (it deletes the part manifests it has
 *    held, engine_multipart.c) or earlier values expired.
 *  - when a node refuses a file's parts (a quota: limits.name_bytes or
 *    limits.store_bytes) and none of the file was ever published, says
 *    so (queue entry, status line, event): the node cannot hold one
 *    window. The file keeps waiting (the node may take it once others
 *    drain); it fails with that text when it expires.
 * State lives for one pass (struct dmp_eng_mp_pace, on the pass's stack).
 */
#include <stdio.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "engine_i.h"

/* In the text of a file no node could hold (found again at expiry). */
#define MP_CANNOT_HOLD "cannot hold this file"

void dmp_eng_mp_order(struct dmp_outbox_msg *v, size_t n)
{
	size_t w = 0;

	/* Stable: ordinary messages keep their order (dmp_eng_outbox_held
	 * relies on it), parts keep theirs. An insertion pass moving each
	 * ordinary message down past the parts before it. */
	for (size_t i = 0; i < n; i++) {
		if (v[i].whole[0]) {
			continue;
		}
		if (i != w) {
			struct dmp_outbox_msg t = v[i];

			memmove(&v[w + 1], &v[w], (i - w) * sizeof(*v));
			v[w] = t;
		}
		w++;
	}
}

/* The entry of @p rcpt (added when @p add and there is room), or NULL. */
static struct dmp_eng_mp_rcpt *find(struct dmp_eng_mp_pace *pc,
				    const char *rcpt, int add)
{
	for (size_t i = 0; i < pc->n; i++) {
		if (strcmp(pc->r[i].rcpt, rcpt) == 0) {
			return &pc->r[i];
		}
	}
	if (!add || pc->n == DMP_ARRAY_LEN(pc->r)) {
		return NULL; /* untracked: never held back */
	}
	memset(&pc->r[pc->n], 0, sizeof(pc->r[0]));
	snprintf(pc->r[pc->n].rcpt, sizeof(pc->r[0].rcpt), "%s", rcpt);
	return &pc->r[pc->n++];
}

const char *dmp_eng_mp_pace_wait(struct dmp_eng_mp_pace *pc,
				 const struct dmp_engine *e,
				 const struct dmp_outbox_msg *m, int slot)
{
	struct dmp_eng_mp_rcpt *r = find(pc, m->recipient, 0);

	if (!r) {
		return NULL;
	}
	if (slot >= 0 && slot < 32 && (r->full & (1u << slot))) {
		return "the recipient's mailbox slot is full at the node "
		       "(limits.name_bytes): published once the recipient "
		       "has drained it";
	}
	if (m->whole[0] &&
	    r->parts >= (unsigned long long)e->conf.part_window) {
		return "a large file goes in windows of messages.part_window "
		       "parts: published once the recipient's mailbox has "
		       "room";
	}
	return NULL;
}

void dmp_eng_mp_pace_note(struct dmp_eng_mp_pace *pc,
			  const struct dmp_outbox_msg *m, int slot, int full)
{
	struct dmp_eng_mp_rcpt *r = find(pc, m->recipient, 1);

	if (!r) {
		return;
	}
	if (full && slot >= 0 && slot < 32) {
		r->full |= 1u << slot;
	}
	if (!full && m->whole[0]) {
		size_t i = 0;

		r->parts++;
		while (i < pc->n_file && strcmp(pc->file[i].whole, m->whole)) {
			i++;
		}
		if (i == pc->n_file && i < DMP_ARRAY_LEN(pc->file)) {
			pc->file[pc->n_file++] = *m;
		}
	}
}

int dmp_eng_mp_pace_refused(struct dmp_eng_mp_pace *pc,
			    const struct dmp_outbox_msg *m, int node)
{
	size_t i = 0;

	while (i < pc->n_refused && strcmp(pc->refused[i].whole, m->whole)) {
		i++;
	}
	if (i < pc->n_refused) {
		return 0;
	}
	if (i < DMP_ARRAY_LEN(pc->refused)) {
		pc->refused[i] = *m;
		pc->refused_node[i] = node;
		pc->n_refused++;
	}
	return 1;
}

/* Does recipient @p rcpt have a window out: a part published in this
 * pass, or a refused file of which some parts are published (the node's
 * room is taken by them until the recipient drains it: pacing)? */
static int window_out(struct dmp_engine *e, struct dmp_eng_mp_pace *pc,
		      const char *rcpt)
{
	struct dmp_eng_mp_rcpt *r = find(pc, rcpt, 0);

	if (r && r->parts > 0) {
		return 1;
	}
	for (size_t i = 0; i < pc->n_refused; i++) {
		int parts = 0, pub = 0;

		if (strcmp(pc->refused[i].recipient, rcpt) == 0 &&
		    dmp_store_outbox_whole(e->st, pc->refused[i].whole, &parts,
					   &pub) == 0 &&
		    pub > 0) {
			return 1;
		}
	}
	return 0;
}

/* File of part @p m refused with none of it ever published: the node
 * cannot hold one window; said in the queue entry (the file's first
 * part, which `dmp queue` and queue/ show), the status line, an event. */
static void cannot_hold(struct dmp_engine *e, const struct dmp_outbox_msg *m,
			int node)
{
	struct dmp_outbox_msg first;
	int64_t *ids = NULL;
	size_t n = 0, pub = 0;
	uint8_t wid[16];
	char d[320];

	if (dmp_store_outbox_file_ids(e->st, m->whole, &ids, &n, &pub) < 0 ||
	    n == 0 || pub > 0) {
		dmp_free(ids);
		return; /* it took some: a slow node, paced, not an error */
	}
	snprintf(d, sizeof(d),
		 "node %.48s " MP_CANNOT_HOLD " (%zu parts): it holds none "
		 "of them; lower messages.part_window (%lld), "
		 "send to a contact whose node has room, or ask its operator "
		 "to raise limits.name_bytes, foreign_bytes or store_bytes",
		 node >= 0 && (unsigned)node < e->nodes.n ? e->nodes.addr[node]
							  : "(mailbox)",
		 n, e->conf.part_window);
	if (dmp_store_outbox_get(e->st, ids[0], &first) == 0 &&
	    first.state == DMP_OUTBOX_QUEUED) {
		(void)dmp_store_outbox_set_state(
		    e->st, ids[0], DMP_OUTBOX_QUEUED, first.next_attempt, d);
	}
	dmp_free(ids);
	dmp_eng_note_error(e, DMP_EREFUSED, d);
	if (dmp_hex_decode(wid, sizeof(wid), m->whole, strlen(m->whole)) < 0) {
		memcpy(wid, m->msg_id, sizeof(wid));
	}
	dmp_eng_emit(e, DMP_EV_RETRY, m->recipient, wid, DMP_EREFUSED, d);
}

const char *dmp_eng_mp_expired_why(struct dmp_engine *e,
				   const struct dmp_outbox_msg *m,
				   char cache[33 + 256])
{
	static const char generic[] = "expired before it could be published";
	struct dmp_outbox_msg first;
	int64_t *ids = NULL;
	size_t n = 0, pub = 0;

	if (!m->whole[0]) {
		return generic;
	}
	if (strcmp(cache, m->whole) != 0) {
		snprintf(cache, 33, "%s", m->whole);
		cache[33] = '\0';
		if (dmp_store_outbox_file_ids(e->st, m->whole, &ids, &n,
					      &pub) == 0 &&
		    n > 0 && dmp_store_outbox_get(e->st, ids[0], &first) == 0 &&
		    strstr(first.last_error, MP_CANNOT_HOLD)) {
			snprintf(cache + 33, 256, "expired unpublished: %.230s",
				 first.last_error);
		}
		dmp_free(ids);
	}
	return cache[33] ? cache + 33 : generic;
}

void dmp_eng_mp_pace_done(struct dmp_engine *e, struct dmp_eng_mp_pace *pc)
{
	for (size_t i = 0; i < pc->n_file; i++) {
		dmp_eng_sent_save_file(e, &pc->file[i]);
	}
	for (size_t i = 0; i < pc->n_refused; i++) {
		if (!window_out(e, pc, pc->refused[i].recipient)) {
			cannot_hold(e, &pc->refused[i], pc->refused_node[i]);
		}
	}
}

int64_t dmp_eng_mp_pace_retry(const struct dmp_engine *e)
{
	return e->conf.poll_interval;
}
