/*
 * core/src/client/view.c - what `dmp` and dmpfs show of the engine's state
 * and read back from what it delivered, so that neither front end knows
 * record names, state codes or the header format of a delivered message.
 */
#include <stdio.h>
#include <ctype.h>
#include <string.h>

#include "dmp/b64.h"

#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/store.h"
#include "dmp/text.h"

const char *dmp_engine_state_name(enum dmp_engine_state s)
{
	switch (s) {
	case DMP_ENGINE_ONLINE: return "online";
	case DMP_ENGINE_DEGRADED: return "degraded";
	case DMP_ENGINE_OFFLINE: return "offline";
	case DMP_ENGINE_REJECTED: return "rejected";
	}
	return "?";
}

const char *dmp_outbox_state_name(enum dmp_outbox_state s)
{
	switch (s) {
	case DMP_OUTBOX_QUEUED: return "queued";
	case DMP_OUTBOX_PUBLISHING: return "publishing";
	case DMP_OUTBOX_PUBLISHED: return "published";
	case DMP_OUTBOX_FAILED: return "failed";
	case DMP_OUTBOX_HELD: return "held";
	}
	return "?";
}

/* Chunk RRs are named "chunk-<index>-<msg_key>.<zone>" (names.h); the
 * other records of a message are its manifest and claims. */
static int count_chunk(int seq, const char *name, const char *value,
		       uint32_t ttl, int published, void *ud)
{
	int *c = ud;

	(void)seq;
	(void)value;
	(void)ttl;
	if (strncmp(name, "chunk-", 6) == 0) {
		c[0]++;
		c[1] += published != 0;
	}
	return 0;
}

int dmp_store_outbox_chunks(struct dmp_store *st, int64_t queue_id, int *chunks,
			    int *published)
{
	int c[2] = {0, 0};
	int rc = dmp_store_outbox_records(st, queue_id, count_chunk, c);

	*chunks = c[0];
	*published = c[1];
	return rc < 0 ? rc : 0;
}

/* The value of header line @p line if it is "@p key: value"; else NULL. */
static const char *header_value(const char *line, size_t n, const char *key,
				size_t *vlen)
{
	size_t k = strlen(key);

	if (n < k + 2 || strncmp(line, key, k) != 0 || line[k] != ':' ||
	    line[k + 1] != ' ') {
		return NULL;
	}
	*vlen = n - k - 2;
	return line + k + 2;
}

/* Copy @p n bytes of @p v into @p out, cut to fit (for display). */
static void copy_cut(char *out, size_t cap, const char *v, size_t n)
{
	snprintf(out, cap, "%.*s", (int)(n < cap - 1 ? n : cap - 1), v);
}

static int all_hex(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)v[i])) {
			return 0;
		}
	}
	return 1;
}

/* "alias <user@zone>" or "<user@zone> (...)": the address in brackets. */
static void from_address(char *out, size_t cap, const char *v, size_t n)
{
	const char *lt = memchr(v, '<', n), *gt;

	if (!lt) {
		return;
	}
	gt = memchr(lt, '>', n - (size_t)(lt - v));
	/* A NUL would cut the copy short of what was checked. */
	if (gt && memchr(lt, '@', (size_t)(gt - lt)) &&
	    !memchr(lt, '\0', (size_t)(gt - lt))) {
		copy_cut(out, cap, lt + 1, (size_t)(gt - lt - 1));
	}
}

int dmp_delivered_parse(const char *buf, size_t len, struct dmp_delivered *out)
{
	size_t off = 0;
	int have_from = 0, have_date = 0, have_key = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->from, sizeof(out->from), "?");
	snprintf(out->date, sizeof(out->date), "?");
	out->body_off = len;
	while (off < len) {
		const char *line = buf + off, *nl, *v;
		size_t n, vl;

		nl = memchr(line, '\n', len - off);
		n = nl ? (size_t)(nl - line) : len - off;
		off += n + (nl != NULL);
		if (n == 0 && nl) {
			out->body_off = off;
			return 0;
		}
		if (!have_from && (v = header_value(line, n, "From", &vl))) {
			/* Long values are cut for display, on purpose. */
			copy_cut(out->from, sizeof(out->from), v, vl);
			from_address(out->address, sizeof(out->address), v, vl);
			have_from = 1;
		} else if (!have_date &&
			   (v = header_value(line, n, "Date", &vl))) {
			copy_cut(out->date, sizeof(out->date), v, vl);
			have_date = 1;
		} else if (!have_key &&
			   (v = header_value(line, n, "X-DMP-Sender-Key",
					     &vl))) {
			/* The fingerprint is the first DMP_FINGERPRINT_CHARS
			 * hex digits of the key (keys.h). */
			if (vl >= DMP_FINGERPRINT_CHARS &&
			    all_hex(v, DMP_FINGERPRINT_CHARS)) {
				memcpy(out->fingerprint, v,
				       DMP_FINGERPRINT_CHARS);
			}
			have_key = 1;
		}
	}
	return DMP_EMALFORMED;
}

/* ---- the queue, as queue/<id> and `dmp queue` show it ---------------------
 */

int dmp_store_outbox_render(struct dmp_store *st, int64_t queue_id, FILE *f,
			    int64_t *created)
{
	struct dmp_outbox_msg m;
	int chunks = 0, chunks_pub = 0, rc;
	char mid[2 * DMP_MSG_ID_BYTES + 1], t[3][32];
	uint8_t *body = NULL;
	size_t blen = 0;

	rc = dmp_store_outbox_get(st, queue_id, &m);
	if (rc < 0 || m.state == DMP_OUTBOX_PUBLISHED) {
		return rc < 0 ? rc : DMP_ENOENT;
	}
	(void)dmp_store_outbox_chunks(st, queue_id, &chunks, &chunks_pub);
	if (m.state == DMP_OUTBOX_FAILED &&
	    dmp_store_outbox_body(st, queue_id, &body, &blen) < 0) {
		body = NULL;
	}
	dmp_hex_encode(mid, m.msg_id, sizeof(m.msg_id));
	(void)dmp_time_utc(t[0], sizeof(t[0]), m.created);
	(void)dmp_time_utc(t[1], sizeof(t[1]), m.next_attempt);
	(void)dmp_time_utc(t[2], sizeof(t[2]), (int64_t)m.expires);
	fprintf(f,
		"id=%lld\nmsg_id=%s\nstate=%s\nrecipient=%s\n"
		"size=%zu\nchunks=%d\nchunks_published=%d\n"
		"records=%d\nrecords_published=%d\nattempts=%d\n"
		"created=%lld\nnext_attempt=%lld\nexpires=%llu\n"
		"last_error=%s\ncreated_utc=%s\nnext_attempt_utc=%s\n"
		"expires_utc=%s\n",
		(long long)m.id, mid, dmp_outbox_state_name(m.state),
		m.recipient, m.body_len, chunks, chunks_pub, m.n_records,
		m.n_published, m.attempts, (long long)m.created,
		(long long)m.next_attempt, (unsigned long long)m.expires,
		m.last_error, t[0], t[1], t[2]);
	if (m.state == DMP_OUTBOX_FAILED && body) {
		/* Given up: the text is kept here until cancelled (user
		 * guide, "queue"): everything after the first blank line. */
		fputc('\n', f);
		fwrite(body, 1, blen, f);
	}
	dmp_free(body);
	if (created) {
		*created = m.created;
	}
	return 0;
}

struct older {
	const struct dmp_outbox_msg *m;
	int64_t id; /* the oldest unpublished message before m, same to */
	char error[256];
};

static int find_older(const struct dmp_outbox_msg *o, void *ud)
{
	struct older *w = ud;

	if (o->id >= w->m->id) {
		return 1; /* oldest first: nothing older is left */
	}
	if ((o->state == DMP_OUTBOX_QUEUED ||
	     o->state == DMP_OUTBOX_PUBLISHING) &&
	    strcmp(o->recipient, w->m->recipient) == 0) {
		w->id = o->id;
		snprintf(w->error, sizeof(w->error), "%s", o->last_error);
		return 1;
	}
	return 0;
}

void dmp_store_outbox_why(struct dmp_store *st, const struct dmp_outbox_msg *m,
			  int64_t now, char *out, size_t cap)
{
	struct older w = {m, 0, ""};
	char t[32];

	(void)dmp_time_utc(t, sizeof(t), m->next_attempt);
	switch (m->state) {
	case DMP_OUTBOX_PUBLISHED:
		/* last_error of a published message: "on R of N nodes" */
		snprintf(out, cap, "published%s%s", m->last_error[0] ? " " : "",
			 m->last_error);
		return;
	case DMP_OUTBOX_FAILED:
		snprintf(out, cap, "failed: %s",
			 m->last_error[0] ? m->last_error : "given up");
		return;
	case DMP_OUTBOX_HELD:
		snprintf(out, cap,
			 "held in its undo-send window until %s (cancel "
			 "takes it back until then)",
			 t);
		return;
	case DMP_OUTBOX_QUEUED:
	case DMP_OUTBOX_PUBLISHING: break;
	}
	if (m->last_error[0]) {
		snprintf(out, cap, "%s; next attempt %s", m->last_error, t);
		return;
	}
	(void)dmp_store_outbox_each_pending(st, find_older, &w);
	if (w.id) {
		/* Messages to one recipient go out in order (engine_flush.c).
		 */
		snprintf(out, cap,
			 "queued behind message %lld to the same recipient, "
			 "which is not published yet%s%s",
			 (long long)w.id, w.error[0] ? ": " : "", w.error);
	} else if (m->next_attempt > now) {
		snprintf(out, cap, "queued until %s", t);
	} else {
		snprintf(out, cap, "queued, not tried yet");
	}
}
