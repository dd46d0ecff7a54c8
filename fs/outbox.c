/*
 * fs/outbox.c - dmpfs's write side and its file handles:
 *
 *   outbox/<contact>  write + close = a message (send.c), held in
 *                     queue/ for the undo-send window; every contact that
 *                     can be written to is listed, as an empty file
 *   outbox/<scratch>  an editor's scratch file, kept in memory, never sent;
 *                     renamed onto a contact's name it is sent
 *   outbox/<temp>     a file mkstemp() creates (O_RDWR|O_CREAT|O_EXCL)
 *                     under a name that is no contact: kept like a scratch
 *                     file, sent when renamed onto a contact's name
 *   contacts/<alias>  write + close = dmp_engine_contact_add() (a network
 *                     fetch on `ne`)
 *
 * All of fs->scratch, fs->open_files and the bytes written to FH_OUT and
 * FH_CONTACT handles are under fs->out_lock. Message plaintext is wiped
 * before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmpfs.h"

#include "dmp/alias.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/store.h"

/* ---- handles --------------------------------------------------------------
 */

pid_t dmpfs_tgid_of(pid_t tid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return tid;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return tid;
	}
	buf[n] = 0;
	p = strstr(buf, "\nTgid:");
	return p ? (pid_t)atoi(p + 6) : tid;
}

struct dmpfs_fh *dmpfs_fh_new(enum dmpfs_fh_kind kind, const char *name)
{
	struct dmpfs_fh *h = calloc(1, sizeof(*h));

	if (h) {
		h->kind = kind;
		h->fd = -1;
		h->owner = dmpfs_tgid_of(fuse_get_context()->pid);
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->mtime = (int64_t)time(NULL);
	}
	return h;
}

void dmpfs_fh_register(struct dmpfs *fs, struct dmpfs_fh *h)
{
	pthread_mutex_lock(&fs->out_lock);
	h->next = fs->open_files;
	fs->open_files = h;
	pthread_mutex_unlock(&fs->out_lock);
}

void dmpfs_fh_free(struct dmpfs *fs, struct dmpfs_fh *h)
{
	if (h->kind == DMPFS_FH_OUT || h->kind == DMPFS_FH_CONTACT) {
		pthread_mutex_lock(&fs->out_lock);
		for (struct dmpfs_fh **p = &fs->open_files; *p;
		     p = &(*p)->next) {
			if (*p == h) {
				*p = h->next;
				break;
			}
		}
		pthread_mutex_unlock(&fs->out_lock);
	}
	if (h->fd >= 0) {
		close(h->fd);
	}
	if (h->buf) {
		dmp_wipe(h->buf, h->cap); /* plaintext of a message */
	}
	free(h->buf);
	free(h);
}

struct dmpfs_fh *dmpfs_open_find(struct dmpfs *fs, enum dmpfs_fh_kind kind,
				 const char *name)
{
	for (struct dmpfs_fh *h = fs->open_files; h; h = h->next) {
		if (h->kind == kind && strcmp(h->name, name) == 0) {
			return h;
		}
	}
	return NULL;
}

struct dmpfs_scratch *dmpfs_scratch_find(struct dmpfs *fs, const char *name)
{
	for (struct dmpfs_scratch *s = fs->scratch; s; s = s->next) {
		if (strcmp(s->name, name) == 0) {
			return s;
		}
	}
	return NULL;
}

void dmpfs_scratch_remove(struct dmpfs *fs, struct dmpfs_scratch *s)
{
	struct dmpfs_scratch **p = &fs->scratch;

	while (*p && *p != s) {
		p = &(*p)->next;
	}
	if (*p) {
		*p = s->next;
	}
	if (s->buf) {
		dmp_wipe(s->buf, s->len); /* an editor's draft */
	}
	free(s->buf);
	free(s);
}

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	char *nb;

	if (need <= *cap) {
		return 0;
	}
	while (c < need) {
		c *= 2;
	}
	nb = realloc(*buf, c);
	if (!nb) {
		return -ENOMEM;
	}
	memset(nb + *cap, 0, c - *cap);
	*buf = nb;
	*cap = c;
	return 0;
}

/* Write @p size bytes at @p off into a buffer of *len bytes (capacity
 * *cap, @p extra bytes kept spare), zero-filling a gap. 0 or -ENOMEM. */
static int put(char **b, size_t *cap, size_t *len, const char *src, size_t size,
	       size_t off, size_t extra)
{
	size_t end = off + size;
	int rc = grow(b, cap, (end > *len ? end : *len) + extra);

	if (rc < 0) {
		return rc;
	}
	if (off > *len) {
		memset(*b + *len, 0, off - *len);
	}
	memcpy(*b + off, src, size);
	if (end > *len) {
		*len = end;
	}
	return 0;
}

/* ---- engine calls ----------------------------------------------------------
 */

/* contacts/<alias> content: "user@zone [FINGERPRINT]" or key=value lines
 * as the file reads back (address=, fingerprint=). */
static int pin(struct dmpfs *fs, const char *alias, char *buf, size_t len)
{
	char addr[320] = "", fp[17] = "";
	char *save = NULL, *line;
	int rc;

	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		line += strspn(line, " \t\r");
		if (eq) {
			*eq = 0;
			if (strcmp(line, "address") == 0) {
				snprintf(addr, sizeof(addr), "%.*s",
					 (int)strcspn(eq + 1, " \t\r"), eq + 1);
			} else if (strcmp(line, "fingerprint") == 0) {
				snprintf(fp, sizeof(fp), "%.*s",
					 (int)strcspn(eq + 1, " \t\r"), eq + 1);
			}
		} else if (!addr[0] && *line) {
			size_t n = strcspn(line, " \t\r");
			char *rest = line + n;

			snprintf(addr, sizeof(addr), "%.*s", (int)n, line);
			rest += strspn(rest, " \t\r");
			if (*rest) {
				snprintf(fp, sizeof(fp), "%.*s",
					 (int)strcspn(rest, " \t\r"), rest);
			}
		}
	}
	if (!addr[0]) {
		return -EINVAL;
	}
	pthread_mutex_lock(&fs->ne_lock);
	rc = dmp_engine_contact_add(fs->ne, addr, alias, fp[0] ? fp : NULL);
	pthread_mutex_unlock(&fs->ne_lock);
	if (rc < 0) {
		DMP_LOG_W("contacts/%s: %s: %s", alias, addr, dmp_strerror(rc));
		return -dmpfs_errno(rc);
	}
	dmpfs_worker_kick(fs);
	return 0;
}

/* ---- open ------------------------------------------------------------------
 */

static int open_scratch(struct dmpfs *fs, const struct dmpfs_where *w,
			struct fuse_file_info *fi, int creating, int temp)
{
	struct dmpfs_scratch *s;
	struct dmpfs_fh *h;

	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, w->name);
	if (!s && creating) {
		s = calloc(1, sizeof(*s));
		if (s) {
			snprintf(s->name, sizeof(s->name), "%s", w->name);
			s->mtime = (int64_t)time(NULL);
			s->temp = temp;
			s->next = fs->scratch;
			fs->scratch = s;
		}
	}
	if (s && (fi->flags & O_TRUNC)) {
		s->len = 0;
	}
	pthread_mutex_unlock(&fs->out_lock);
	if (!s) {
		return creating ? -ENOMEM : -ENOENT;
	}
	h = dmpfs_fh_new(DMPFS_FH_SCRATCH, w->name);
	if (!h) {
		return -ENOMEM;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	return 0;
}

/* The largest message outbox/@p name takes (messages.max_file for a
 * contact in messages.multipart, else one message). */
static size_t out_max(struct dmpfs *fs, const char *name)
{
	size_t m;

	pthread_mutex_lock(&fs->fe_lock);
	m = dmp_engine_max_message(fs->fe, name);
	pthread_mutex_unlock(&fs->fe_lock);
	return m;
}

/* Where a larger limit comes from, for the refusal's note. */
static const char *too_big_hint(size_t max)
{
	return max <= DMP_ENGINE_MAX_BODY
		   ? "; larger files go to contacts listed in "
		     "messages.multipart"
		   : " (messages.max_file)";
}

/* A registered write handle (a message or a contact) for @p fi. */
static int open_write(struct dmpfs *fs, enum dmpfs_fh_kind kind,
		      const char *name, struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = dmpfs_fh_new(kind, name);

	if (!h) {
		return -ENOMEM;
	}
	h->append = kind == DMPFS_FH_OUT && (fi->flags & O_APPEND);
	h->max = kind == DMPFS_FH_OUT ? out_max(fs, name) : 0;
	dmpfs_fh_register(fs, h);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	return 0;
}

/* outbox/<name> removed by unlink (under out_lock): its link, or NULL. */
static struct dmpfs_absent **absent_find(struct dmpfs *fs, const char *name)
{
	for (struct dmpfs_absent **p = &fs->absent; *p; p = &(*p)->next) {
		if (strcmp((*p)->name, name) == 0) {
			return p;
		}
	}
	return NULL;
}

static int is_absent(struct dmpfs *fs, const char *name)
{
	int r;

	pthread_mutex_lock(&fs->out_lock);
	r = absent_find(fs, name) != NULL;
	pthread_mutex_unlock(&fs->out_lock);
	return r;
}

/* Created again (open with O_CREAT): present from now on. */
static void present(struct dmpfs *fs, const char *name)
{
	struct dmpfs_absent **p, *a;

	pthread_mutex_lock(&fs->out_lock);
	if ((p = absent_find(fs, name))) {
		a = *p;
		*p = a->next;
		free(a);
	}
	pthread_mutex_unlock(&fs->out_lock);
}

static int held_file(struct dmpfs *fs, const char *name)
{
	int found;

	pthread_mutex_lock(&fs->out_lock);
	found = dmpfs_scratch_find(fs, name) != NULL;
	pthread_mutex_unlock(&fs->out_lock);
	return found;
}

/* mkstemp()'s open (glibc, Python's tempfile, mktemp(1), rsync): cp, mv
 * and shell redirections open write-only, so a typo stays an error. */
static int is_mkstemp(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) == O_RDWR && (fi->flags & O_CREAT) &&
	       (fi->flags & O_EXCL);
}

int dmpfs_outbox_open(struct dmpfs *fs, const struct dmpfs_where *w,
		      struct fuse_file_info *fi, int creating)
{
	struct dmpfs_fh *h;
	int rc;

	if (dmpfs_is_scratch(w->name) || held_file(fs, w->name)) {
		return open_scratch(fs, w, fi, creating, 0);
	}
	if ((fi->flags & O_ACCMODE) == O_RDONLY) {
		/* A contact's file reads empty: what was written to it has
		 * gone to queue/. */
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_engine_send_check(fs->fe, w->name);
		pthread_mutex_unlock(&fs->fe_lock);
		if (rc < 0 && rc != DMP_EACCES) {
			return -dmpfs_errno(rc);
		}
		h = dmpfs_fh_new(DMPFS_FH_BUF, w->name);
		if (!h) {
			return -ENOMEM;
		}
		dmpfs_editor_seen(fs, w->name, h->owner);
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	}
	if (creating && is_mkstemp(fi)) {
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_engine_send_check(fs->fe, w->name);
		pthread_mutex_unlock(&fs->fe_lock);
		if (rc == DMP_ENOENT) {
			return open_scratch(fs, w, fi, creating, 1);
		}
	}
	if ((rc = dmpfs_recipient(fs, w->name)) < 0) {
		return rc;
	}
	if (creating) {
		present(fs, w->name);
	}
	return open_write(fs, DMPFS_FH_OUT, w->name, fi);
}

int dmpfs_contact_open(struct dmpfs *fs, const struct dmpfs_where *w,
		       struct fuse_file_info *fi)
{
	if (!w->name[0] || w->name[0] == '.' || strlen(w->name) > 64) {
		return -EINVAL;
	}
	return open_write(fs, DMPFS_FH_CONTACT, w->name, fi);
}

/* ---- read, write, truncate -------------------------------------------------
 */

int dmpfs_scratch_read(struct dmpfs *fs, struct dmpfs_fh *h, char *buf,
		       size_t size, off_t off)
{
	struct dmpfs_scratch *s;
	size_t got = 0;

	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, h->name);
	if (s && (size_t)off < s->len) {
		got = s->len - (size_t)off < size ? s->len - (size_t)off : size;
		memcpy(buf, s->buf + off, got);
	}
	pthread_mutex_unlock(&fs->out_lock);
	return (int)got;
}

static int scratch_write(struct dmpfs *fs, struct dmpfs_fh *h, const char *buf,
			 size_t size, off_t off)
{
	struct dmpfs_scratch *s;
	size_t end = (size_t)off + size;
	int rc = 0;

	if (end > DMPFS_SCRATCH_MAX) {
		return -EFBIG;
	}
	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, h->name);
	if (s) {
		size_t cap = s->len;

		/* The buffer is exactly len long; grow() needs its
		 * capacity, so track it here. */
		rc = put(&s->buf, &cap, &s->len, buf, size, (size_t)off, 0);
		if (rc == 0) {
			s->mtime = (int64_t)time(NULL);
		}
	}
	pthread_mutex_unlock(&fs->out_lock);
	return rc < 0 ? rc : (int)size;
}

static size_t write_max(const struct dmpfs_fh *h)
{
	return h->kind == DMPFS_FH_OUT ? h->max : DMPFS_CONTACT_WRITE_MAX;
}

int dmpfs_outbox_write(struct dmpfs *fs, struct dmpfs_fh *h, const char *buf,
		       size_t size, off_t off)
{
	int rc = 0;

	if (h->kind == DMPFS_FH_SCRATCH) {
		return scratch_write(fs, h, buf, size, off);
	}
	pthread_mutex_lock(&fs->out_lock);
	if (h->append) {
		/* O_APPEND: the kernel's offset is the size it cached, maybe
		 * of the message written before (`echo a > f; echo b >> f`);
		 * this handle's message starts empty. */
		off = (off_t)h->len;
	}
	if (h->refused) {
		rc = -h->refused; /* the message is refused as a whole */
	} else if ((size_t)off + size > write_max(h)) {
		/* Sticky: a later close sends nothing, never a prefix. */
		h->refused = EFBIG;
		rc = -EFBIG;
	} else {
		/* One spare byte: pin() terminates a contact's text in
		 * place. */
		rc = put(&h->buf, &h->cap, &h->len, buf, size, (size_t)off, 1);
		if (rc == 0) {
			h->mtime = (int64_t)time(NULL);
		}
	}
	pthread_mutex_unlock(&fs->out_lock);
	return rc < 0 ? rc : (int)size;
}

int dmpfs_outbox_truncate_fh(struct dmpfs *fs, struct dmpfs_fh *h, off_t size)
{
	int rc;

	pthread_mutex_lock(&fs->out_lock);
	if ((size_t)size > write_max(h)) {
		h->refused = EFBIG;
		pthread_mutex_unlock(&fs->out_lock);
		return -EFBIG;
	}
	rc = grow(&h->buf, &h->cap, (size_t)size + 1);
	if (rc == 0) {
		if ((size_t)size > h->len) {
			memset(h->buf + h->len, 0, (size_t)size - h->len);
		}
		h->len = (size_t)size;
	}
	pthread_mutex_unlock(&fs->out_lock);
	return rc;
}

int dmpfs_scratch_truncate(struct dmpfs *fs, const char *name, off_t size)
{
	struct dmpfs_scratch *s;
	int rc = 0;

	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, name);
	if (s && (size_t)size <= s->len) {
		s->len = (size_t)size;
	} else if (s) {
		size_t cap = s->len;

		rc = grow(&s->buf, &cap, (size_t)size);
		if (rc == 0) {
			memset(s->buf + s->len, 0, (size_t)size - s->len);
			s->len = (size_t)size;
		}
	}
	pthread_mutex_unlock(&fs->out_lock);
	/* A fresh message handle starts empty anyway. */
	return rc;
}

/* ---- close: send or pin ----------------------------------------------------
 */

/* What a flush or release does with a handle's bytes. */
enum finish_act { F_NOTHING, F_SEND, F_REFUSED, F_NOTE_REFUSED };

/* Take what has been written so far (the handle starts over empty) and
 * decide, under out_lock, what becomes of it. */
static char *take(struct dmpfs *fs, struct dmpfs_fh *h, int last, size_t *len,
		  size_t *cap, enum finish_act *act)
{
	char *b;

	pthread_mutex_lock(&fs->out_lock);
	b = h->buf;
	*len = h->len;
	*cap = h->cap;
	h->buf = NULL;
	h->len = h->cap = 0;
	if (h->aborted) {
		*act = F_NOTHING; /* said once, in dmpfs_outbox_abort() */
	} else if (h->refused) {
		*act = h->noted ? F_REFUSED : F_NOTE_REFUSED;
		h->noted = 1;
	} else if ((b && *len > 0) || (last && !h->sent)) {
		/* A close of one of several descriptors (a shell's dup2)
		 * with nothing written is not the end; the last close says
		 * when nothing at all was written (never sent). Bytes after
		 * a flush (mmap) are a message too. */
		*act = F_SEND;
		h->sent = 1;
	} else {
		*act = F_NOTHING;
	}
	pthread_mutex_unlock(&fs->out_lock);
	return b;
}

int dmpfs_outbox_finish(struct dmpfs *fs, struct dmpfs_fh *h, int last)
{
	enum finish_act act;
	char *b;
	size_t len, cap;
	int rc = 0;

	b = take(fs, h, last, &len, &cap, &act);
	if (h->kind == DMPFS_FH_CONTACT) {
		if (act == F_NOTE_REFUSED || act == F_REFUSED) {
			rc = -EFBIG;
		} else if (b && len > 0) {
			rc = pin(fs, h->name, b, len);
		}
	} else if (act == F_NOTE_REFUSED || act == F_REFUSED) {
		if (act == F_NOTE_REFUSED) {
			dmpfs_note(fs, DMP_EV_REJECTED, h->name, DMP_EFBIG,
				   "outbox/%s: not sent: a write failed (%s; "
				   "at most %zu bytes%s), so the whole message "
				   "is refused",
				   h->name, strerror(EFBIG), h->max,
				   too_big_hint(h->max));
		}
		rc = -EFBIG;
	} else if (act == F_SEND) {
		rc = dmpfs_send(fs, h->name, b, b ? len : 0, h->owner,
				h->append);
		dmpfs_outbox_forget(fs, h->name);
	}
	if (b) {
		dmp_wipe(b, cap);
	}
	free(b);
	return rc;
}

void dmpfs_outbox_abort(struct dmpfs *fs, struct dmpfs_fh *h, int sig)
{
	char *b;
	size_t len, cap;
	int first;

	pthread_mutex_lock(&fs->out_lock);
	b = h->buf;
	len = h->len;
	cap = h->cap;
	h->buf = NULL;
	h->len = h->cap = 0;
	first = !h->aborted;
	h->aborted = sig;
	pthread_mutex_unlock(&fs->out_lock);
	if (first) {
		dmpfs_note(fs, DMP_EV_CANCELLED, h->name, 0,
			   "outbox/%s: not sent: the writer (pid %d) was "
			   "killed by signal %d (%s) before it closed the file "
			   "(%zu bytes discarded)",
			   h->name, (int)h->owner, sig, strsignal(sig), len);
	}
	if (b) {
		dmp_wipe(b, cap);
	}
	free(b);
}

/* ---- namespace -------------------------------------------------------------
 */

int dmpfs_outbox_rename(struct dmpfs *fs, const struct dmpfs_where *a,
			const struct dmpfs_where *b)
{
	struct dmpfs_scratch *s, *t;
	char *buf = NULL;
	size_t len = 0, max;
	int rc;

	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, a->name);
	t = dmpfs_scratch_find(fs, b->name);
	if (s && (dmpfs_is_scratch(b->name) || t)) {
		/* Between scratch or temporary files: nothing is sent. */
		if (t && t != s) {
			dmpfs_scratch_remove(fs, t);
		}
		snprintf(s->name, sizeof(s->name), "%s", b->name);
		pthread_mutex_unlock(&fs->out_lock);
		return 0;
	}
	if (s) {
		buf = s->buf;
		len = s->len;
		s->buf = NULL;
		s->len = 0;
	}
	pthread_mutex_unlock(&fs->out_lock);
	if (!s) {
		return -ENOENT;
	}
	/* An editor (or rsync, or a script's mkstemp) saving by rename: the
	 * file's contents become the message, from the renaming process. */
	rc = dmpfs_recipient(fs, b->name);
	if (rc == 0 && len > (max = out_max(fs, b->name))) {
		dmpfs_note(fs, DMP_EV_REJECTED, b->name, DMP_EFBIG,
			   "outbox/%s: not sent: %zu bytes renamed onto it, "
			   "at most %zu%s",
			   b->name, len, max, too_big_hint(max));
		rc = -EFBIG;
	}
	if (rc == 0) {
		rc = dmpfs_send(fs, b->name, buf, len,
				dmpfs_tgid_of(fuse_get_context()->pid), 0);
	}
	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, a->name);
	if (rc == 0 && s) {
		dmpfs_scratch_remove(fs, s);
	} else if (s) {
		s->buf = buf;
		s->len = len;
		buf = NULL;
	}
	pthread_mutex_unlock(&fs->out_lock);
	if (buf) {
		dmp_wipe(buf, len);
	}
	free(buf);
	return rc;
}

int dmpfs_outbox_unlink(struct dmpfs *fs, const char *name)
{
	struct dmpfs_scratch *s;
	struct dmpfs_absent *a;
	int rc;

	pthread_mutex_lock(&fs->out_lock);
	s = dmpfs_scratch_find(fs, name);
	if (s) {
		dmpfs_scratch_remove(fs, s);
	}
	pthread_mutex_unlock(&fs->out_lock);
	if (s) {
		return 0;
	}
	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_engine_send_check(fs->fe, name);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc < 0 && rc != DMP_EACCES) {
		return -dmpfs_errno(rc);
	}
	/* A contact's (always empty) file: nothing is cancelled; mv and
	 * install remove the target before creating it with O_EXCL. */
	pthread_mutex_lock(&fs->out_lock);
	if (!absent_find(fs, name) && (a = calloc(1, sizeof(*a)))) {
		snprintf(a->name, sizeof(a->name), "%s", name);
		a->next = fs->absent;
		fs->absent = a;
	}
	pthread_mutex_unlock(&fs->out_lock);
	return 0;
}

struct outbox_names {
	struct dmp_store_contact *v;
	size_t n, cap;
};

static int collect_contact(const struct dmp_store_contact *c, void *ud)
{
	struct outbox_names *o = ud;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct dmp_store_contact *nv = realloc(o->v, cap * sizeof(*nv));

		if (!nv) {
			return 1;
		}
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n++] = *c;
	return 0;
}

/* Blocking is per key (dmp_engine_send_check()): an alias whose key has
 * any blocked alias is not listed. */
static int key_blocked(const struct outbox_names *o, const uint8_t *key)
{
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].blocked &&
		    memcmp(o->v[i].ed25519_pk, key, 32) == 0) {
			return 1;
		}
	}
	return 0;
}

static int listed(const struct outbox_names *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].alias, name) == 0) {
			return !key_blocked(o, o->v[i].ed25519_pk);
		}
	}
	return 0;
}

void dmpfs_outbox_list(struct dmpfs *fs, void *buf, fuse_fill_dir_t filler)
{
	struct outbox_names o = {NULL, 0, 0};

	pthread_mutex_lock(&fs->fe_lock);
	(void)dmp_store_contact_each(dmp_engine_store(fs->fe), collect_contact,
				     &o);
	pthread_mutex_unlock(&fs->fe_lock);
	for (size_t i = 0; i < o.n; i++) {
		/* An alias an older version accepted ("a/b") is no file
		 * name: the kernel would fail the whole listing (EIO). */
		if (!key_blocked(&o, o.v[i].ed25519_pk) &&
		    !is_absent(fs, o.v[i].alias) &&
		    !dmp_alias_problem(o.v[i].alias)) {
			filler(buf, o.v[i].alias, NULL, 0, 0);
		}
	}
	pthread_mutex_lock(&fs->out_lock);
	for (struct dmpfs_fh *h = fs->open_files; h; h = h->next) {
		/* A message being written to an address (user@zone). */
		if (h->kind == DMPFS_FH_OUT && !listed(&o, h->name) &&
		    dmpfs_open_find(fs, DMPFS_FH_OUT, h->name) == h) {
			filler(buf, h->name, NULL, 0, 0);
		}
	}
	for (struct dmpfs_scratch *s = fs->scratch; s; s = s->next) {
		filler(buf, s->name, NULL, 0, 0);
	}
	pthread_mutex_unlock(&fs->out_lock);
	free(o.v);
}

static void fill_file(struct stat *st, mode_t mode, size_t size, int64_t t)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | mode;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec =
	    (time_t)t;
}

int dmpfs_outbox_getattr(struct dmpfs *fs, const char *name, struct dmpfs_fh *h,
			 struct stat *st)
{
	struct dmpfs_scratch *s;
	struct dmpfs_fh *o;
	int found = 1, rc;

	pthread_mutex_lock(&fs->out_lock);
	o = h && h->kind == DMPFS_FH_OUT
		? h
		: dmpfs_open_find(fs, DMPFS_FH_OUT, name);
	s = dmpfs_scratch_find(fs, name);
	if (o) {
		fill_file(st, 0600, o->len, o->mtime);
	} else if (s) {
		fill_file(st, 0600, s->len, s->mtime);
	} else {
		found = 0;
	}
	pthread_mutex_unlock(&fs->out_lock);
	if (found) {
		return 0;
	}
	if (is_absent(fs, name)) {
		return -ENOENT;
	}
	/* A contact's file, empty when no message is being written: its
	 * size never carries over from a message already queued. Blocked:
	 * read-only, so the kernel refuses writes. */
	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_engine_send_check(fs->fe, name);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc < 0 && rc != DMP_EACCES) {
		return -dmpfs_errno(rc);
	}
	fill_file(st, rc == DMP_EACCES ? 0400 : 0600, 0, fs->started);
	return 0;
}
