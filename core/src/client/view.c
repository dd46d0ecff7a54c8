/*
 * core/src/client/view.c - what `dmp` and dmpfs show of the engine's state
 * and read back from what it delivered, so that neither front end knows
 * record names, state codes or the header format of a delivered message.
 */
#include <stdio.h>
#include <ctype.h>
#include <string.h>

#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/store.h"

const char *dmp_engine_state_name(enum dmp_engine_state s)
{
	switch (s) {
	case DMP_ENGINE_ONLINE: return "online";
	case DMP_ENGINE_DEGRADED: return "degraded";
	case DMP_ENGINE_OFFLINE: return "offline";
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
