/*
 * core/src/client/engine_sent.c - the mail/sent copy of a published
 * message (issue 19: one durable commit per message).
 *
 * The copy is derived data: the outbox keeps every published message's
 * row and body. Publishing writes the copy without an fsync (tmp ->
 * rename into new/); a kill -9 loses nothing (the page cache survives
 * it). dmp_eng_sent_settle() makes the copies durable in a batch: at a
 * clean close it fsyncs the copies written since the mark (kv
 * "sent.synced", the highest queue id whose copy is durable, below every
 * message still queued) and the directory once; at open it re-creates
 * any copy missing or not as rendered (a power failure may have lost a
 * rename or a file's data), then moves the mark on. A copy the user
 * deleted during a session stays deleted at close; one deleted before a
 * crash may come back at the next open. A message that stays queued holds
 * the mark back (its copy comes later), so until it is published or
 * expires every open and close looks at the copies after it again.
 * A multi-part file gets one copy, of the whole file under its id, once
 * its last part is published (not one per part).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/mail.h"
#include "engine_i.h"

#define KV_SENT_MARK "sent.synced"

enum sent_mode { SENT_LAZY, SENT_SYNC, SENT_RECOVER };

/* 1 if @p path holds exactly the @p n bytes @p want. */
static int same_file(const char *path, const uint8_t *want, size_t n)
{
	uint8_t buf[4096];
	size_t off = 0;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), same;

	if (fd < 0) {
		return 0;
	}
	same = fstat(fd, &sb) == 0 && (size_t)sb.st_size == n;
	while (same && off < n) {
		size_t want_n = n - off < sizeof(buf) ? n - off : sizeof(buf);
		ssize_t r = read(fd, buf, want_n);

		if (r <= 0 || memcmp(buf, want + off, (size_t)r) != 0) {
			same = 0;
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	return same;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		return errno == ENOENT ? DMP_ENOENT : DMP_EIO;
	}
	if (fsync(fd) != 0) {
		rc = DMP_EIO;
	}
	close(fd);
	return rc;
}

/* The copy of queue row @p m in @p mode; 1 when it touched new/. */
static int sent_copy(struct dmp_engine *e, const struct dmp_outbox_msg *m,
		     enum sent_mode mode)
{
	uint8_t *body = NULL, *file = NULL;
	size_t len = 0, n = 0;
	char hdr[1024], date[64], idhex[33], name[128],
	    path[DMP_ENG_HOME_MAX + 300];
	struct dmp_store_contact c;
	struct dmp_outbox_msg fm;
	const char *md = e->dirs[2], *to;
	struct stat sb;
	int rc = 0, in_new, k;

	if (m->whole[0]) {
		/* A part of a multi-part file: one copy, of the file, under
		 * the whole's id, once every part is published. */
		int64_t *ids = NULL;
		size_t parts = 0, pub = 0;

		rc = dmp_store_outbox_file_ids(e->st, m->whole, &ids, &parts,
					       &pub);
		rc = rc == 0 && parts > 0 && pub == parts
			 ? dmp_store_outbox_get(e->st, ids[0], &fm)
			 : -1;
		dmp_free(ids);
		if (rc < 0) {
			return 0;
		}
		m = &fm;
		memcpy(idhex, m->whole, sizeof(idhex) - 1);
		idhex[sizeof(idhex) - 1] = '\0';
	} else {
		dmp_hex_encode(idhex, m->msg_id, 16);
	}
	to = m->recipient;
	/* Named from the queue time, not now: a message published again
	 * after a crash (same records) keeps its one copy. */
	snprintf(name, sizeof(name), "%lld.%s.dmp", (long long)m->created,
		 idhex);
	snprintf(path, sizeof(path), "%s/new/%s", md, name);
	in_new = stat(path, &sb) == 0;
	if (mode == SENT_SYNC) {
		/* A copy gone at a clean close was deleted by the user; one
		 * in cur/ was moved there by a reader. */
		return in_new && fsync_path(path, O_RDONLY) == 0;
	}
	if (!in_new && dmp_eng_maildir_has(md, name)) {
		return 0; /* in cur/: a reader has it */
	}
	if (mode == SENT_LAZY && in_new) {
		return 0;
	}
	if (m->whole[0]) {
		int64_t first;

		if (dmp_eng_mp_outbox_file(e, m->whole, &first, &body, &len) !=
		    1) {
			return 0;
		}
	} else if (dmp_store_outbox_body(e->st, m->id, &body, &len) < 0) {
		return 0;
	}
	if (dmp_store_contact_get(e->st, m->recipient, &c) == 0) {
		to = c.address;
	}
	dmp_eng_rfc5322_date(date, sizeof(date), m->created);
	k = snprintf(hdr, sizeof(hdr),
		     "From: %s\nTo: %s\nDate: %s\nX-DMP-Msg-Id: %s\n",
		     e->address, to, date, idhex);
	if (k > 0 && (size_t)k < sizeof(hdr)) {
		rc = dmp_mail_render(hdr, idhex, body, len, &file, &n);
	}
	if (rc == 0 && file) {
		if (in_new && same_file(path, file, n)) {
			rc = fsync_path(path, O_RDONLY) == 0;
		} else {
			rc = dmp_eng_maildir_put(md, name, file, n,
						 mode == SENT_RECOVER) == 0;
		}
	}
	dmp_free(file);
	dmp_free(body);
	return rc > 0;
}

void dmp_eng_sent_save(struct dmp_engine *e, const struct dmp_outbox_msg *m)
{
	if (!m->whole[0]) { /* a part: dmp_eng_sent_save_file, once */
		(void)sent_copy(e, m, SENT_LAZY);
	}
}

void dmp_eng_sent_save_file(struct dmp_engine *e,
			    const struct dmp_outbox_msg *part)
{
	(void)sent_copy(e, part, SENT_LAZY);
}

struct settle {
	struct dmp_outbox_msg *v;
	size_t n, cap;
};

static int collect(const struct dmp_outbox_msg *m, void *ud)
{
	struct settle *s = ud;

	if (dmp_grow(&s->v, &s->cap, s->n, sizeof(*s->v), 16) < 0) {
		return 1;
	}
	s->v[s->n++] = *m;
	return 0;
}

void dmp_eng_sent_settle(struct dmp_engine *e, int at_open)
{
	struct settle s = {0};
	char v[32], nd[sizeof(e->dirs[2]) + 8];
	int64_t mark = 0, next;
	int touched = 0, blocked = 0;

	if (dmp_store_kv_get(e->st, KV_SENT_MARK, v, sizeof(v)) == 0) {
		mark = strtoll(v, NULL, 10);
	} else if (dmp_store_outbox_max_id(e->st, &mark) == 0) {
		/* First run with this scheme: older copies were fsynced as
		 * they were written. */
		snprintf(v, sizeof(v), "%lld", (long long)mark);
		(void)dmp_store_kv_set(e->st, KV_SENT_MARK, v);
		return;
	}
	next = mark;
	if (dmp_store_outbox_each_after(e->st, mark, collect, &s) < 0) {
		dmp_free(s.v);
		return;
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct dmp_outbox_msg *m = &s.v[i];
		/* A multi-part file's copy is made once, at its first part
		 * (its parts come in a run). */
		int again = m->whole[0] && i > 0 &&
			    strcmp(s.v[i - 1].whole, m->whole) == 0;

		if (m->state == DMP_OUTBOX_PUBLISHED && !again) {
			touched |=
			    sent_copy(e, m, at_open ? SENT_RECOVER : SENT_SYNC);
		} else if (m->state != DMP_OUTBOX_FAILED) {
			blocked = 1; /* its copy comes later */
		}
		if (!blocked) {
			next = m->id;
		}
	}
	dmp_free(s.v);
	snprintf(nd, sizeof(nd), "%s/new", e->dirs[2]);
	if (touched && fsync_path(nd, O_RDONLY | O_DIRECTORY) < 0) {
		return; /* the mark stays: the next open tries again */
	}
	if (next != mark) {
		/* Need not be durable: a lost mark only means checking again.
		 */
		snprintf(v, sizeof(v), "%lld", (long long)next);
		dmp_store_relax(e->st, 1);
		(void)dmp_store_kv_set(e->st, KV_SENT_MARK, v);
		dmp_store_relax(e->st, 0);
	}
}
