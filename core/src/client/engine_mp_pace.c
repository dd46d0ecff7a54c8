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
 * State lives for one pass (struct dmp_eng_mp_pace, on the pass's stack).
 */
#include <stdio.h>
#include <string.h>

#include "engine_i.h"

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

void dmp_eng_mp_pace_done(struct dmp_engine *e, struct dmp_eng_mp_pace *pc)
{
	for (size_t i = 0; i < pc->n_file; i++) {
		dmp_eng_sent_save_file(e, &pc->file[i]);
	}
}

int64_t dmp_eng_mp_pace_retry(const struct dmp_engine *e)
{
	return e->conf.poll_interval;
}
