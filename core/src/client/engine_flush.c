/*
 * core/src/client/engine_flush.c - the queue's order and its backoff cut
 * short (engine.h: dmp_engine_publish, dmp_engine_flush).
 *
 * - Order: messages to one recipient are published in the order they were
 *   queued: a newer one waits while an older one to the same recipient is
 *   unpublished, in its backoff or failed in this pass
 *   (dmp_eng_outbox_held, used by the pass in engine_send.c). The
 *   recipient's queue moves when its oldest message is due. Parts of a
 *   multi-part whole take no part in that order (the receiver joins them
 *   in any order): they neither wait nor hold other mail back, so a short
 *   note queued after a large file goes out between its windows
 *   (engine_multipart.c).
 * - Flush: a pass that published something has seen a node working, so
 *   every message waiting out a backoff after "node unreachable" goes in
 *   a second pass at once; poll() does the same when reads are answered
 *   again; dmp_engine_flush() (`dmp flush`, a dmpfs mount) cuts every
 *   backoff short.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "engine_i.h"

static int unpublished(const struct dmp_outbox_msg *m)
{
	return m->state == DMP_OUTBOX_QUEUED ||
	       m->state == DMP_OUTBOX_PUBLISHING;
}

int dmp_eng_outbox_held(const struct dmp_outbox_msg *v, size_t i)
{
	if (v[i].whole[0]) {
		return 0; /* parts are joined in any order */
	}
	for (size_t k = 0; k < i; k++) {
		if (unpublished(&v[k]) && !v[k].whole[0] &&
		    strcmp(v[k].recipient, v[i].recipient) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Messages waiting after "node unreachable" become due now; with @p all,
 * every waiting message. Logs a FLUSH event naming @p why. */
static int kick(struct dmp_engine *e, int all, const char *why)
{
	char d[256];
	int n = dmp_store_outbox_kick(
	    e->st, dmp_eng_now(e), all ? NULL : dmp_strerror(DMP_EUNREACHABLE));

	if (n > 0) {
		snprintf(d, sizeof(d), "%d waiting message%s retried now: %s",
			 n, n == 1 ? "" : "s", why);
		dmp_eng_emit(e, DMP_EV_FLUSH, NULL, NULL, 0, d);
	}
	return n;
}

int dmp_engine_publish(struct dmp_engine *e)
{
	int rc = dmp_eng_publish_pass(e);

	if (rc > 0 && kick(e, 0, "a node took a write") > 0) {
		int more = dmp_eng_publish_pass(e);

		rc += more > 0 ? more : 0;
	}
	return rc;
}

int dmp_engine_flush(struct dmp_engine *e)
{
	if (!e) {
		return DMP_EINVAL;
	}
	(void)kick(e, 1, "flush asked");
	return dmp_engine_publish(e);
}

/* poll(): reads were answered, so the network is back for the messages
 * that failed unreachable. @return messages published */
int dmp_eng_flush_after_read(struct dmp_engine *e)
{
	if (kick(e, 0, "the node answers again") <= 0) {
		return 0;
	}
	return dmp_engine_publish(e);
}
