/*
 * fs/send.c - what a finished outbox/ file becomes.
 *
 *   - a message queued durably and held in queue/ for `send_delay` seconds
 *     (the undo-send window: `rm queue/<id>` takes it back);
 *   - a rewrite of the same outbox/ file within that window by a process
 *     that read the file first, as editors do when they load it (vim's
 *     `:w` then `:wq`, nano's ^O twice), replaces the message it queued
 *     before instead of sending a second one. A process that only writes
 *     (a script, `echo >` twice) sends every message, and O_APPEND
 *     (`>>`) always makes a message of its own;
 *   - nothing, with an event in .events saying why, when the writer was
 *     killed by a signal while the file was open (Ctrl-C on `cat >`), when
 *     a write failed (EFBIG: never a cut-short prefix) or when it is empty.
 *
 * What can be told apart: the close that ends a message comes from the
 * process that opened it. When that process dies the kernel closes its
 * files during its exit, and the FUSE flush arrives while the task still
 * exists, with PF_EXITING set and its exit code (the killing signal)
 * already recorded: /proc/<tid>/stat fields 9 and 52. A process that is
 * killed after it closed the file, or a shell that opened the file for a
 * command group and closes it itself after the command was killed, cannot
 * be told from a normal end: the undo-send window is for those.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmpfs.h"

#include "dmp/err.h"
#include "dmp/log.h"

#define PF_EXITING_FLAG 0x00000004u /* linux/sched.h PF_EXITING */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dmpfs_note(struct dmpfs *fs, int kind, const char *name, int code,
		const char *fmt, ...)
{
	char d[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	DMP_LOG_W("%s", d);
	pthread_mutex_lock(&fs->fe_lock);
	dmp_engine_note(fs->fe, (enum dmp_event_kind)kind, name, code, d);
	pthread_mutex_unlock(&fs->fe_lock);
}

int dmpfs_killed_by(pid_t tid)
{
	char path[64], buf[1024], *p, *save = NULL;
	unsigned long flags = 0;
	long code = 0;
	ssize_t n;
	int fd, field = 2;

	if (tid <= 0) {
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	buf[n] = 0;
	/* "pid (comm) state ...": comm may hold spaces and parentheses. */
	p = strrchr(buf, ')');
	if (!p) {
		return 0;
	}
	for (char *t = strtok_r(p + 1, " \n", &save); t;
	     t = strtok_r(NULL, " \n", &save)) {
		field++;
		if (field == 9) {
			flags = strtoul(t, NULL, 10);
		} else if (field == 52) {
			code = strtol(t, NULL, 10);
		}
	}
	if (field < 52 || !(flags & PF_EXITING_FLAG)) {
		return 0; /* alive: an explicit close() */
	}
	/* The wait status: the low 7 bits are the signal (WTERMSIG). */
	return (int)(code & 0x7f);
}

/* How long a process that read outbox/<name> counts as its editor, and
 * how many such records are kept (oldest dropped first). */
#define EDITOR_MS (3600 * 1000)
#define RECENT_MAX 256

/* @p owner's record for @p name (out_lock); forgets stale records. */
static struct dmpfs_recent *recent_find(struct dmpfs *fs, const char *name,
					pid_t owner, int64_t now)
{
	struct dmpfs_recent **p = &fs->recent, *r, *hit = NULL;
	int n = 0;

	while ((r = *p)) {
		if (r->until_ms <= now || ++n > RECENT_MAX) {
			*p = r->next;
			free(r);
			continue;
		}
		if (r->owner == owner && strcmp(r->name, name) == 0) {
			hit = r;
		}
		p = &r->next;
	}
	return hit;
}

static struct dmpfs_recent *recent_get(struct dmpfs *fs, const char *name,
				       pid_t owner, int64_t now)
{
	struct dmpfs_recent *r = recent_find(fs, name, owner, now);

	if (!r && (r = calloc(1, sizeof(*r)))) {
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->owner = owner;
		r->next = fs->recent; /* newest first */
		fs->recent = r;
	}
	return r;
}

void dmpfs_editor_seen(struct dmpfs *fs, const char *name, pid_t reader)
{
	int64_t now = mono_ms();
	struct dmpfs_recent *r;

	if (fs->send_delay <= 0) {
		return;
	}
	pthread_mutex_lock(&fs->out_lock);
	r = recent_get(fs, name, reader, now);
	if (r) {
		r->editor = 1;
		r->until_ms = now + EDITOR_MS;
	}
	pthread_mutex_unlock(&fs->out_lock);
}

/* An editor's save queued @p qid: a later save within the window
 * replaces it. */
static void remember(struct dmpfs *fs, const char *name, pid_t owner,
		     int64_t qid)
{
	int64_t now = mono_ms();
	struct dmpfs_recent *r;

	pthread_mutex_lock(&fs->out_lock);
	r = recent_find(fs, name, owner, now);
	if (r && r->editor) {
		r->qid = qid;
		r->window_ms = now + (int64_t)fs->send_delay * 1000;
		r->until_ms = now + EDITOR_MS;
	}
	pthread_mutex_unlock(&fs->out_lock);
}

static int errno_of_submit(int rc)
{
	switch (rc) {
	case DMP_ENOENT: return ENOENT;
	case DMP_EACCES: return EACCES;
	/* Our key was rotated or revoked under the mount (.status). */
	case DMP_ESTALEKEY:
	case DMP_EREVOKED: return EKEYREVOKED;
	case DMP_EFBIG: return EFBIG;
	case DMP_EUNSUPPORTED: return EFBIG; /* too large for that contact */
	case DMP_ENOSPC: return ENOSPC;
	case DMP_EINVAL: return EINVAL;
	default: return EIO;
	}
}

int dmpfs_send(struct dmpfs *fs, const char *name, const char *buf, size_t len,
	       pid_t owner, int append)
{
	struct dmpfs_recent *r;
	int64_t qid = 0, old = 0;
	int rc, wr = 0;

	if (len == 0) {
		dmpfs_note(fs, DMP_EV_REJECTED, name, DMP_EINVAL,
			   "outbox/%s: nothing written: no message sent (an "
			   "empty message is never sent)",
			   name);
		return 0;
	}
	if (!append && fs->send_delay > 0) {
		int64_t now = mono_ms();

		pthread_mutex_lock(&fs->out_lock);
		r = recent_find(fs, name, owner, now);
		if (r && r->editor && r->qid > 0 && r->window_ms > now) {
			old = r->qid;
		}
		pthread_mutex_unlock(&fs->out_lock);
	}
	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_engine_submit_delayed(fs->fe, name, (const uint8_t *)buf, len,
				       0, (uint32_t)fs->send_delay, &qid);
	if (rc == 0 && old > 0) {
		char why[320];

		snprintf(why, sizeof(why),
			 "replaced by a new save of outbox/%s (queue id %lld)",
			 name, (long long)qid);
		/* New first, then the old one withdrawn: a crash between the
		 * two sends both, never neither. */
		wr = dmp_engine_withdraw(fs->fe, old, why);
	}
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc == DMP_EUNSUPPORTED) {
		dmpfs_note(fs, DMP_EV_REJECTED, name, rc,
			   "outbox/%s: not sent: %zu bytes is over the %u of "
			   "one message, and %s is not listed in "
			   "messages.multipart in config.yaml (add it if its "
			   "client is dmp)",
			   name, len, DMP_ENGINE_MAX_BODY, name);
		return -errno_of_submit(rc);
	}
	if (rc < 0) {
		dmpfs_note(fs, DMP_EV_REJECTED, name, rc,
			   "outbox/%s: not sent: %s", name, dmp_strerror(rc));
		return -errno_of_submit(rc);
	}
	if (wr == DMP_EBUSY) {
		dmpfs_note(fs, DMP_EV_CANCELLED, name, 0,
			   "outbox/%s saved again after queue id %lld had left "
			   "its undo-send window: both are sent",
			   name, (long long)old);
	}
	if (!append && fs->send_delay > 0) {
		remember(fs, name, owner, qid);
	}
	dmpfs_worker_kick(fs);
	return 0;
}

/* outbox/user@zone for an address not pinned yet: fetch, verify and pin
 * it as `dmp send user@zone` does (on `ne`: a network wait). */
static int pin_address(struct dmpfs *fs, const char *address)
{
	int rc;

	pthread_mutex_lock(&fs->ne_lock);
	rc = dmp_engine_contact_add(fs->ne, address, NULL, NULL);
	pthread_mutex_unlock(&fs->ne_lock);
	if (rc < 0) {
		dmpfs_note(fs, DMP_EV_REJECTED, address, rc,
			   "outbox/%s: cannot pin %s: %s (pin it with `dmp "
			   "contacts add %s ALIAS`, with --fingerprint when "
			   "several keys answer)",
			   address, address, dmp_strerror(rc), address);
		return -dmpfs_errno(rc);
	}
	dmpfs_worker_kick(fs);
	return 0;
}

int dmpfs_recipient(struct dmpfs *fs, const char *name)
{
	int rc;

	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_engine_send_check(fs->fe, name);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc == DMP_ENOENT && strchr(name, '@')) {
		if ((rc = pin_address(fs, name)) < 0) {
			return rc;
		}
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_engine_send_check(fs->fe, name);
		pthread_mutex_unlock(&fs->fe_lock);
	}
	if (rc == DMP_ENOENT) {
		dmpfs_note(fs, DMP_EV_REJECTED, name, rc,
			   "outbox/%s: no such contact: pin it with `dmp "
			   "contacts add USER@ZONE %s` (or write USER@ZONE to "
			   "contacts/%s), or write to outbox/USER@ZONE",
			   name, name, name);
	} else if (rc == DMP_EACCES) {
		dmpfs_note(fs, DMP_EV_REJECTED, name, rc,
			   "outbox/%s: blocked (this contact or another alias "
			   "of its key): `dmp contacts unblock` first",
			   name);
	}
	return rc < 0 ? -dmpfs_errno(rc) : 0;
}

void dmpfs_report_scratch(struct dmpfs *fs)
{
	char d[512];

	for (struct dmpfs_scratch *s = fs->scratch; s; s = s->next) {
		if (s->len == 0) {
			continue;
		}
		snprintf(
		    d, sizeof(d),
		    "outbox/%s (%zu bytes, %s) discarded at unmount: never "
		    "sent%s",
		    s->name, s->len,
		    s->temp ? "a temporary file" : "an editor's scratch file",
		    s->temp ? " (rename such a file onto a contact's name "
			      "to send it)"
			    : "");
		DMP_LOG_W("%s", d);
		/* fe is still open: dmpfs_destroy() calls this first. */
		dmp_engine_note(fs->fe, DMP_EV_CANCELLED, s->name, 0, d);
	}
}

void dmpfs_outbox_forget(struct dmpfs *fs, const char *name)
{
	char path[300];

	if (!fs->fuse) {
		return;
	}
	snprintf(path, sizeof(path), "/outbox/%s", name);
	/* Attributes only (no locks taken in the kernel): the next stat
	 * asks again, so no size of a message already queued is reused. */
	(void)fuse_invalidate_path(fs->fuse, path);
}
