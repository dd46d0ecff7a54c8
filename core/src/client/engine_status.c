/*
 * core/src/client/engine_status.c - what the engine tells about itself
 * (engine.h, dmp_engine_status): state, the last error with its time and
 * whether it was resolved since, the node rejecting our TSIG key, mailbox
 * slots that could not be read, the queue's failing and failed counts.
 *
 * It is kept in the store's kv table ("status.*"), not only in the
 * handle: `dmp status` is a fresh process and must see what the last
 * `dmp recv` or dmpfs pass saw, and dmpfs's handles share it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/text.h"
#include "engine_i.h"

#define KV_STATE "status.state"	      /* "<state>" */
#define KV_ERROR "status.error"	      /* "<time> <code> <text>" */
#define KV_SEEN "status.seen"	      /* "<last_ok> <last_poll>" */
#define KV_TSIG "status.tsig"	      /* "<time> <code>", "" when accepted */
#define KV_UNREAD "status.unreadable" /* "<n> <time> <detail>", "" */
/* "<time>": an exchange succeeded after the last error ("" until then).
 * Order, not clock: an error and its recovery often share a second. */
#define KV_RESOLVED "status.resolved"

static int64_t kv_num(struct dmp_engine *e, const char *key, int field)
{
	char v[640]; /* the whole value, or kv_get fails (DMP_ENOBUFS) */
	const char *p = v;
	long long x = 0;

	if (dmp_store_kv_get(e->st, key, v, sizeof(v)) < 0) {
		return 0;
	}
	for (int i = 0; i <= field; i++) {
		char *end;

		x = strtoll(p, &end, 10);
		if (end == p) {
			return 0;
		}
		p = end;
	}
	return (int64_t)x;
}

static void seen_put(struct dmp_engine *e, int64_t ok, int64_t poll)
{
	char v[64], r[64] = "";

	if (ok > 0 && kv_num(e, KV_ERROR, 0) > 0 &&
	    (dmp_store_kv_get(e->st, KV_RESOLVED, r, sizeof(r)) < 0 || !r[0])) {
		snprintf(r, sizeof(r), "%lld", (long long)ok);
		(void)dmp_store_kv_set(e->st, KV_RESOLVED, r);
	}

	if (ok == 0) {
		ok = kv_num(e, KV_SEEN, 0);
	}
	if (poll == 0) {
		poll = kv_num(e, KV_SEEN, 1);
	}
	snprintf(v, sizeof(v), "%lld %lld", (long long)ok, (long long)poll);
	/* Not written again unchanged (seconds): a publish batch notes
	 * every message, one store commit each (issue 19). */
	if (dmp_store_kv_get(e->st, KV_SEEN, r, sizeof(r)) < 0 ||
	    strcmp(r, v) != 0) {
		(void)dmp_store_kv_set(e->st, KV_SEEN, v);
	}
}

void dmp_eng_note_error(struct dmp_engine *e, int code, const char *text)
{
	char v[320];
	int64_t now = dmp_eng_now(e);

	e->errors++;
	snprintf(e->last_error, sizeof(e->last_error), "%s",
		 text ? text : dmp_strerror(code));
	snprintf(v, sizeof(v), "%lld %d %s", (long long)now, code,
		 e->last_error);
	(void)dmp_store_kv_set(e->st, KV_ERROR, v);
	(void)dmp_store_kv_set(e->st, KV_RESOLVED, "");
	if (code == DMP_ENOTAUTH || code == DMP_EBADTSIG) {
		snprintf(v, sizeof(v), "%lld %d", (long long)now, code);
		(void)dmp_store_kv_set(e->st, KV_TSIG, v);
	}
}

void dmp_eng_note_ok(struct dmp_engine *e, int wrote)
{
	char v[64];

	seen_put(e, dmp_eng_now(e), 0);
	if (wrote && (dmp_store_kv_get(e->st, KV_TSIG, v, sizeof(v)) < 0 ||
		      v[0] != '\0')) {
		(void)dmp_store_kv_set(e->st, KV_TSIG, "");
	}
}

void dmp_eng_note_poll(struct dmp_engine *e, int answered, int unreadable,
		       const char *detail)
{
	char v[640], old[640] = "";
	int64_t now = dmp_eng_now(e);

	seen_put(e, answered ? now : 0, now);
	if (dmp_store_kv_get(e->st, KV_UNREAD, old, sizeof(old)) < 0) {
		old[0] = '\0';
	}
	if (unreadable > 0) {
		/* One event when it starts or changes (count or first
		 * slot), not one per pass; the time is not a change. */
		const char *sp = strchr(old, ' ');
		const char *od = sp ? strchr(sp + 1, ' ') : NULL;

		if (!od || atoi(old) != unreadable ||
		    strcmp(od + 1, detail) != 0) {
			char d[600];

			snprintf(d, sizeof(d),
				 "%d mailbox slot%s could not be read, mail "
				 "may be waiting there unseen: %s",
				 unreadable, unreadable == 1 ? "" : "s",
				 detail);
			dmp_eng_emit(e, DMP_EV_UNREADABLE, NULL, NULL, DMP_EDNS,
				     d);
		}
		snprintf(v, sizeof(v), "%d %lld %s", unreadable, (long long)now,
			 detail);
		(void)dmp_store_kv_set(e->st, KV_UNREAD, v);
	} else if (old[0] && answered) {
		(void)dmp_store_kv_set(e->st, KV_UNREAD, "");
		dmp_eng_emit(e, DMP_EV_UNREADABLE, NULL, NULL, 0,
			     "every mailbox slot reads again");
	}
}

void dmp_eng_state_load(struct dmp_engine *e)
{
	char v[16];

	e->state = DMP_ENGINE_ONLINE;
	if (dmp_store_kv_get(e->st, KV_STATE, v, sizeof(v)) == 0 && v[0]) {
		e->state = (enum dmp_engine_state)atoi(v);
	}
}

void dmp_eng_set_state(struct dmp_engine *e, enum dmp_engine_state s)
{
	char v[16], old[16] = "";

	snprintf(v, sizeof(v), "%d", (int)s);
	/* Written on a change only (another handle may have changed it). */
	if (dmp_store_kv_get(e->st, KV_STATE, old, sizeof(old)) < 0 ||
	    strcmp(old, v) != 0) {
		(void)dmp_store_kv_set(e->st, KV_STATE, v);
	}
	if (s != e->state) {
		e->state = s;
		dmp_eng_emit(e, DMP_EV_STATE, NULL, NULL, 0,
			     dmp_engine_state_name(s));
	}
}

struct counts {
	int queued, failing, failed;
	char whole[33]; /* the multi-part file counted last */
};

static int count_msg(const struct dmp_outbox_msg *m, void *ud)
{
	struct counts *c = ud;

	if (m->whole[0]) {
		/* A multi-part file counts once (its parts come in a run);
		 * a part waiting for its window is not failing. */
		if (strcmp(c->whole, m->whole) == 0) {
			return 0;
		}
		snprintf(c->whole, sizeof(c->whole), "%s", m->whole);
		if (m->state == DMP_OUTBOX_FAILED) {
			c->failed++;
		} else {
			c->queued++;
		}
		return 0;
	}
	if (m->state == DMP_OUTBOX_FAILED) {
		c->failed++;
	} else {
		c->queued++;
		c->failing += m->last_error[0] != 0;
	}
	return 0;
}

int dmp_engine_status(struct dmp_engine *e, struct dmp_engine_status *out)
{
	struct counts n = {0, 0, 0, ""};
	char v[640], *p;
	int code = 0, rejected, key;
	int64_t resolved;

	memset(out, 0, sizeof(*out));
	out->state = e->state;
	if (dmp_store_kv_get(e->st, KV_STATE, v, sizeof(v)) == 0 && v[0]) {
		out->state = (enum dmp_engine_state)atoi(v);
	}
	snprintf(out->address, sizeof(out->address), "%s", e->address);
	out->last_ok = kv_num(e, KV_SEEN, 0);
	out->last_poll = kv_num(e, KV_SEEN, 1);
	if (e->last_poll > out->last_poll) {
		out->last_poll = e->last_poll;
	}
	out->next_poll = out->last_poll ? out->last_poll + e->conf.poll_interval
					: dmp_eng_now(e);
	(void)dmp_store_outbox_each_pending(e->st, count_msg, &n);
	out->queued = n.queued;
	out->failing = n.failing;
	out->failed = n.failed;
	out->errors = e->errors;
	if (dmp_store_kv_get(e->st, KV_ERROR, v, sizeof(v)) == 0 && v[0]) {
		out->last_error_at = strtoll(v, &p, 10);
		code = (int)strtol(p, &p, 10);
		snprintf(out->last_error, sizeof(out->last_error), "%s",
			 *p == ' ' ? p + 1 : p);
	}
	out->partial = dmp_eng_mp_progress(e, out->partial_detail,
					   sizeof(out->partial_detail));
	rejected = kv_num(e, KV_TSIG, 0) > 0;
	if (dmp_store_kv_get(e->st, KV_UNREAD, v, sizeof(v)) == 0 && v[0]) {
		out->unreadable = (int)strtol(v, &p, 10);
		(void)strtoll(p, &p, 10);
		snprintf(out->unreadable_detail, sizeof(out->unreadable_detail),
			 "%s", *p == ' ' ? p + 1 : p);
	}
	if (rejected) {
		out->state = DMP_ENGINE_REJECTED;
		snprintf(out->hint, sizeof(out->hint),
			 "the node rejects our TSIG key: run `dmp tsig "
			 "register` or check network.tsig in config.yaml "
			 "against the node's key");
	} else if (out->state == DMP_ENGINE_ONLINE &&
		   (n.failing > 0 || out->unreadable > 0)) {
		out->state = DMP_ENGINE_DEGRADED;
	}
	if (!rejected && out->unreadable > 0) {
		snprintf(out->hint, sizeof(out->hint),
			 "mailbox slots could not be read: ask the node's "
			 "operator (docs/troubleshooting.md, \"could not "
			 "read\")");
	} else if (!rejected && n.failing > 0) {
		snprintf(out->hint, sizeof(out->hint),
			 "messages are waiting for a retry: `dmp flush` "
			 "retries now");
	} else if (!rejected && n.failed > 0) {
		snprintf(out->hint, sizeof(out->hint),
			 "messages expired unsent: their text is in "
			 "queue/<id> (dmpfs); rm queue/<id> drops them");
	}
	/* Resolved: something answered since, and nothing fails now. An
	 * expiry stays until the expired message is removed. */
	resolved = kv_num(e, KV_RESOLVED, 0);
	if (out->last_error[0] && resolved > 0 && !rejected && n.failing == 0 &&
	    out->unreadable == 0 && !(code == DMP_EEXPIRED && n.failed > 0)) {
		out->resolved_at = resolved;
		memcpy(out->prev_error, out->last_error,
		       sizeof(out->prev_error));
		out->last_error[0] = '\0';
	}
	key = dmp_eng_key_check(e);
	if (key < 0) {
		/* This handle's key: until it is reopened, whatever
		 * answered since. */
		snprintf(out->last_error, sizeof(out->last_error), "%s",
			 e->key_why);
		out->resolved_at = 0;
		out->prev_error[0] = '\0';
		if (!rejected) {
			out->state = DMP_ENGINE_DEGRADED;
		}
		snprintf(out->hint, sizeof(out->hint), "%s",
			 key == DMP_ESTALEKEY
			     ? "remount dmpfs (or restart dmp recv --watch) "
			       "to unlock the rotated key"
			     : "a revoked key sends nothing: see the user "
			       "guide, key rotation and revocation");
	}
	return 0;
}
