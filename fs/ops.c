/*
 * fs/ops.c - dmpfs's FUSE operations table: each callback classifies its
 * path (path.c) and hands it to the room that serves it:
 *
 *   outbox/<contact>  write + close = dmp_engine_submit()       outbox.c
 *   queue/<id>        rendered from the store; unlink = cancel   render.c
 *   inbox/ intro/ sent/  pass-through to the real Maildirs       maildir.c
 *   contacts/<alias>  rendered; write + close = contact_add()    render.c,
 *                                                                outbox.c
 *   identity/, peers/, resolvers, .status   rendered, read-only  render.c
 *   .events           the engine's events.log, read-only
 *   .reload           write-only: config.yaml read again (worker.c)
 *
 * Callbacks return 0 or a negative errno; dmp codes become errnos through
 * dmpfs_errno() only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "dmpfs.h"

#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/peers.h"
#include "dmp/store.h"

/* ---- attributes
 * ---------------------------------------------------------------- */

static void fill_stat(struct stat *st, mode_t mode, off_t size, int64_t t)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = size;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec =
	    (time_t)t;
}

static int dmpfs_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h = dmpfs_fh_of(fi);
	struct dmpfs_where w;
	int rc = 0;

	dmpfs_classify(fs, path, &w);
	if (w.k != DMPFS_K_PASS) {
		/* Generated: changes behind the kernel's back (cache.c). */
		dmpfs_cache_touch(fs, path);
	}
	if (h && h->fd >= 0) {
		rc = fstat(h->fd, st) == 0 ? 0 : -errno;
		if (rc == 0 && h->kind == DMPFS_FH_FD &&
		    strcmp(path, "/.events") == 0) {
			st->st_mode = S_IFREG | 0400;
		}
		return rc;
	}
	switch (w.k) {
	case DMPFS_K_ROOT:
	case DMPFS_K_OUTBOX:
	case DMPFS_K_CONTACTS:
	case DMPFS_K_QUEUE:
		fill_stat(st, S_IFDIR | 0700, 0, fs->started);
		return 0;
	case DMPFS_K_IDENT:
	case DMPFS_K_PEERS:
		fill_stat(st, S_IFDIR | 0500, 0, fs->started);
		return 0;
	case DMPFS_K_PASS: return lstat(w.real, st) == 0 ? 0 : -errno;
	case DMPFS_K_RELOAD:
		fill_stat(st, S_IFREG | 0200, 0, fs->started);
		return 0;
	case DMPFS_K_EVENTS:
		if (stat(w.real, st) != 0) {
			fill_stat(st, S_IFREG | 0400, 0, fs->started);
		}
		st->st_mode = S_IFREG | 0400;
		return 0;
	case DMPFS_K_OUTFILE: return dmpfs_outbox_getattr(fs, w.name, h, st);
	case DMPFS_K_CFILE: {
		struct dmpfs_fh *o;
		char *buf;
		size_t len;
		int64_t t;

		pthread_mutex_lock(&fs->out_lock);
		o = h && h->kind == DMPFS_FH_CONTACT
			? h
			: dmpfs_open_find(fs, DMPFS_FH_CONTACT, w.name);
		if (o) {
			fill_stat(st, S_IFREG | 0600, (off_t)o->len, o->mtime);
		}
		pthread_mutex_unlock(&fs->out_lock);
		if (o) {
			return 0;
		}
		rc = dmpfs_render(fs, &w, &buf, &len, &t);
		if (rc == 0) {
			fill_stat(st, S_IFREG | 0600, (off_t)len, t);
			free(buf);
		}
		return rc;
	}
	case DMPFS_K_IFILE:
	case DMPFS_K_QFILE:
	case DMPFS_K_PFILE:
	case DMPFS_K_RESOLVERS:
	case DMPFS_K_STATUS: {
		char *buf;
		size_t len;
		int64_t t;

		if (h && h->kind == DMPFS_FH_BUF) {
			fill_stat(st, S_IFREG | 0400, (off_t)h->len, h->mtime);
			return 0;
		}
		rc = dmpfs_render(fs, &w, &buf, &len, &t);
		if (rc == 0) {
			fill_stat(st, S_IFREG | 0400, (off_t)len, t);
			free(buf);
		}
		return rc;
	}
	default: return -ENOENT;
	}
}

/* ---- directories
 * ----------------------------------------------------------------- */

struct fill {
	void *buf;
	fuse_fill_dir_t filler;
	char whole[33]; /* queue/: the multi-part file listed last */
};

static int fill_contact(const struct dmp_store_contact *c, void *ud)
{
	struct fill *f = ud;

	return f->filler(f->buf, c->alias, NULL, 0, 0) ? 1 : 0;
}

static int fill_queue(const struct dmp_outbox_msg *m, void *ud)
{
	struct fill *f = ud;
	char name[32];

	if (m->whole[0]) {
		/* One entry per multi-part file: its first part not yet
		 * published (its file shows the file's progress; rm cancels
		 * the file). Its parts come in a run. */
		if (strcmp(f->whole, m->whole) == 0) {
			return 0;
		}
		snprintf(f->whole, sizeof(f->whole), "%s", m->whole);
	}
	snprintf(name, sizeof(name), "%lld", (long long)m->id);
	return f->filler(f->buf, name, NULL, 0, 0) ? 1 : 0;
}

static int fill_peer(const struct dmp_store_peer *p, void *ud)
{
	struct fill *f = ud;
	char name[256];

	if (dmp_peer_file_name(p, name, sizeof(name)) < 0) {
		return 0;
	}
	return f->filler(f->buf, name, NULL, 0, 0) ? 1 : 0;
}

static int dmpfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			 off_t off, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct fill f = {buf, filler, ""};
	struct dmpfs_where w;
	int rc = 0;

	(void)off;
	(void)fi;
	dmpfs_classify(fs, path, &w);
	if (w.k == DMPFS_K_PASS) {
		return dmpfs_pass_readdir(w.real, buf, filler, flags);
	}
	if (w.k != DMPFS_K_ROOT && w.k != DMPFS_K_OUTBOX &&
	    w.k != DMPFS_K_QUEUE && w.k != DMPFS_K_CONTACTS &&
	    w.k != DMPFS_K_IDENT && w.k != DMPFS_K_PEERS) {
		return -ENOTDIR;
	}
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (w.k) {
	case DMPFS_K_ROOT:
		for (size_t i = 0; i < dmpfs_n_root_entries; i++) {
			filler(buf, dmpfs_root_entries[i], NULL, 0, 0);
		}
		break;
	case DMPFS_K_IDENT:
		for (size_t i = 0; i < dmpfs_n_ident_files; i++) {
			filler(buf, dmpfs_ident_files[i], NULL, 0, 0);
		}
		break;
	case DMPFS_K_OUTBOX: dmpfs_outbox_list(fs, buf, filler); break;
	case DMPFS_K_QUEUE:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_outbox_each_pending(dmp_engine_store(fs->fe),
						   fill_queue, &f);
		pthread_mutex_unlock(&fs->fe_lock);
		break;
	case DMPFS_K_CONTACTS:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_contact_each_valid(dmp_engine_store(fs->fe),
						  fill_contact, &f);
		pthread_mutex_unlock(&fs->fe_lock);
		break;
	case DMPFS_K_PEERS:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_peer_each(dmp_engine_store(fs->fe), fill_peer,
					 &f);
		pthread_mutex_unlock(&fs->fe_lock);
		break;
	default: break;
	}
	return rc < 0 ? -dmpfs_errno(rc) : 0;
}

static int dmpfs_mkdir(const char *path, mode_t mode)
{
	struct dmpfs_where w;

	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k != DMPFS_K_PASS) {
		return -EACCES;
	}
	return mkdir(w.real, mode) == 0 ? 0 : -errno;
}

static int dmpfs_rmdir(const char *path)
{
	struct dmpfs_where w;

	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k != DMPFS_K_PASS || w.top) {
		return -EACCES;
	}
	return rmdir(w.real) == 0 ? 0 : -errno;
}

static int open_rendered(struct dmpfs *fs, const struct dmpfs_where *w,
			 struct fuse_file_info *fi)
{
	struct dmpfs_fh *h;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		return -EACCES;
	}
	h = dmpfs_fh_new(DMPFS_FH_BUF, w->name);
	if (!h) {
		return -ENOMEM;
	}
	rc = dmpfs_render(fs, w, &h->buf, &h->len, &h->mtime);
	if (rc < 0) {
		dmpfs_fh_free(fs, h);
		return rc;
	}
	h->cap = h->len;
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	return 0;
}

static int open_any(const char *path, struct fuse_file_info *fi, int creating,
		    mode_t mode)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h;
	struct dmpfs_where w;
	int acc = fi->flags & O_ACCMODE;

	dmpfs_classify(fs, path, &w);
	switch (w.k) {
	case DMPFS_K_OUTFILE: return dmpfs_outbox_open(fs, &w, fi, creating);
	case DMPFS_K_CFILE:
		if (acc == O_RDONLY && !creating) {
			return open_rendered(fs, &w, fi);
		}
		return dmpfs_contact_open(fs, &w, fi);
	case DMPFS_K_QFILE:
	case DMPFS_K_IFILE:
	case DMPFS_K_PFILE:
	case DMPFS_K_RESOLVERS:
	case DMPFS_K_STATUS:
		if (creating) {
			return -EACCES;
		}
		return open_rendered(fs, &w, fi);
	case DMPFS_K_EVENTS:
		if (acc != O_RDONLY || creating) {
			return -EACCES;
		}
		h = dmpfs_fh_new(DMPFS_FH_FD, ".events");
		if (!h) {
			return -ENOMEM;
		}
		/* The engine creates it with its first event; make it now so
		 * `tail -F` has a file from the start. */
		h->fd = open(w.real, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (h->fd < 0) {
			int e = errno;

			dmpfs_fh_free(fs, h);
			return -e;
		}
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	case DMPFS_K_PASS: return dmpfs_pass_open(fs, &w, fi, creating, mode);
	case DMPFS_K_RELOAD: {
		int rc;

		/* `echo > .reload`, `touch .reload`: what is written is
		 * taken and ignored. */
		if (acc == O_RDONLY ||
		    !(h = dmpfs_fh_new(DMPFS_FH_BUF, ".reload"))) {
			return acc == O_RDONLY ? -EACCES : -ENOMEM;
		}
		/* Back once the engine thread has read the file, so that
		 * `echo > .reload; grep CONFIG .events` sees its event. */
		rc = dmpfs_worker_reload(fs, DMPFS_RELOAD_WAIT_MS);
		if (rc < 0) {
			dmpfs_fh_free(fs, h);
			return rc; /* -EIO (refused) or -ETIMEDOUT */
		}
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	}
	case DMPFS_K_NONE:
		/* The top directory is read-only; deeper names do not exist. */
		return creating && !strchr(path + 1, '/') ? -EACCES : -ENOENT;
	default: return creating ? -EACCES : -EISDIR;
	}
}

static int dmpfs_open(const char *path, struct fuse_file_info *fi)
{
	return open_any(path, fi, (fi->flags & O_CREAT) != 0, 0600);
}

static int dmpfs_create(const char *path, mode_t mode,
			struct fuse_file_info *fi)
{
	return open_any(path, fi, 1, mode);
}

static int dmpfs_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h = dmpfs_fh_of(fi);
	ssize_t n;

	(void)path;
	if (!h || off < 0) {
		return -EBADF;
	}
	switch (h->kind) {
	case DMPFS_FH_FD:
		n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	case DMPFS_FH_SCRATCH: return dmpfs_scratch_read(fs, h, buf, size, off);
	default:
		if ((size_t)off >= h->len) {
			return 0;
		}
		if (size > h->len - (size_t)off) {
			size = h->len - (size_t)off;
		}
		memcpy(buf, h->buf + off, size);
		return (int)size;
	}
}

static int dmpfs_write(const char *path, const char *buf, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h = dmpfs_fh_of(fi);

	(void)path;
	if (!h || off < 0) {
		return -EBADF;
	}
	switch (h->kind) {
	case DMPFS_FH_FD: {
		ssize_t n = pwrite(h->fd, buf, size, off);

		return n < 0 ? -errno : (int)n;
	}
	case DMPFS_FH_BUF:
		return strcmp(h->name, ".reload") == 0 ? (int)size : -EACCES;
	case DMPFS_FH_SCRATCH:
	case DMPFS_FH_OUT:
	case DMPFS_FH_CONTACT: return dmpfs_outbox_write(fs, h, buf, size, off);
	}
	return -EBADF;
}

/* close() of a descriptor: a non-empty message is queued durably before
 * this returns, and its errno is what close() returns. */
static int dmpfs_flush(const char *path, struct fuse_file_info *fi)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h = dmpfs_fh_of(fi);

	(void)path;
	if (!h || (h->kind != DMPFS_FH_OUT && h->kind != DMPFS_FH_CONTACT)) {
		return 0;
	}
	/* A child that inherited the descriptor exits (or execs) while the
	 * writer goes on, as in `(echo a; sleep 1; echo b) > outbox/bob`:
	 * its close is not the end of the message. Only the opening process
	 * ends it here; otherwise release() does, after the last close. */
	if (fuse_get_context()->pid &&
	    dmpfs_tgid_of(fuse_get_context()->pid) != h->owner) {
		return 0;
	}
	/* The opener is closing it: by close(), or by dying. Killed by a
	 * signal (Ctrl-C on `cat > outbox/bob`), nothing is sent (send.c). */
	if (h->kind == DMPFS_FH_OUT) {
		int sig = dmpfs_killed_by(fuse_get_context()->pid);

		if (sig > 0) {
			dmpfs_outbox_abort(fs, h, sig);
			return 0;
		}
	}
	return dmpfs_outbox_finish(fs, h, 0);
}

static int dmpfs_release(const char *path, struct fuse_file_info *fi)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h = dmpfs_fh_of(fi);

	(void)path;
	if (!h) {
		return 0;
	}
	/* Bytes written after the last flush (e.g. through mmap): the
	 * message still goes out; errors can only be logged here. */
	if (h->kind == DMPFS_FH_OUT || h->kind == DMPFS_FH_CONTACT) {
		(void)dmpfs_outbox_finish(fs, h, 1);
	}
	dmpfs_fh_free(fs, h);
	return 0;
}

static int dmpfs_fsync(const char *path, int datasync,
		       struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = dmpfs_fh_of(fi);

	(void)path;
	if (h && h->kind == DMPFS_FH_FD) {
		int r = datasync ? fdatasync(h->fd) : fsync(h->fd);

		return r == 0 ? 0 : -errno;
	}
	return 0;
}

/* ---- namespace changes
 * ------------------------------------------------------------ */

/* rm queue/<id>: cancel a message that is not yet fully published. */
static int queue_cancel(struct dmpfs *fs, const char *name)
{
	struct dmp_outbox_msg m;
	int64_t id;
	int rc;

	if ((rc = dmpfs_parse_id(name, &id)) < 0) {
		return rc;
	}
	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_store_outbox_get(dmp_engine_store(fs->fe), id, &m);
	if (rc == 0) {
		rc = dmp_engine_cancel(fs->fe, m.msg_id); /* logs CANCELLED */
	}
	pthread_mutex_unlock(&fs->fe_lock);
	return rc < 0 ? -dmpfs_errno(rc) : 0;
}

static int dmpfs_unlink(const char *path)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_where w;
	int rc;

	dmpfs_classify(fs, path, &w);
	switch (w.k) {
	case DMPFS_K_PASS:
		return w.top ? -EISDIR : (unlink(w.real) == 0 ? 0 : -errno);
	case DMPFS_K_OUTFILE: return dmpfs_outbox_unlink(fs, w.name);
	case DMPFS_K_QFILE: return queue_cancel(fs, w.name);
	case DMPFS_K_CFILE:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_engine_contact_remove(fs->fe, w.name);
		pthread_mutex_unlock(&fs->fe_lock);
		return rc < 0 ? -dmpfs_errno(rc) : 0;
	case DMPFS_K_NONE: return -ENOENT;
	default: return -EACCES;
	}
}

static int dmpfs_rename(const char *from, const char *to, unsigned int flags)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_where a, b;

	dmpfs_classify(fs, from, &a);
	dmpfs_classify(fs, to, &b);
	if (a.k == DMPFS_K_PASS && b.k == DMPFS_K_PASS) {
		return dmpfs_pass_rename(fs, &a, &b, flags);
	}
	if (a.k == DMPFS_K_OUTFILE && b.k == DMPFS_K_OUTFILE && flags == 0) {
		return dmpfs_outbox_rename(fs, &a, &b);
	}
	if (a.k == DMPFS_K_NONE) {
		return -ENOENT;
	}
	if (a.k == DMPFS_K_PASS || b.k == DMPFS_K_PASS ||
	    b.k == DMPFS_K_OUTFILE) {
		return -EXDEV; /* mv falls back to copy + unlink */
	}
	return -EACCES;
}

static int dmpfs_link(const char *from, const char *to)
{
	struct dmpfs_where a, b;

	dmpfs_classify(dmpfs_ctx(), from, &a);
	dmpfs_classify(dmpfs_ctx(), to, &b);
	if (a.k != DMPFS_K_PASS || b.k != DMPFS_K_PASS) {
		return a.k == DMPFS_K_PASS || b.k == DMPFS_K_PASS ? -EXDEV
								  : -EACCES;
	}
	return link(a.real, b.real) == 0 ? 0 : -errno;
}

static int dmpfs_symlink(const char *target, const char *path)
{
	struct dmpfs_where w;

	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k != DMPFS_K_PASS) {
		return -EACCES;
	}
	return symlink(target, w.real) == 0 ? 0 : -errno;
}

static int dmpfs_readlink(const char *path, char *buf, size_t size)
{
	struct dmpfs_where w;
	ssize_t n;

	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k != DMPFS_K_PASS || size == 0) {
		return -EINVAL;
	}
	n = readlink(w.real, buf, size - 1);
	if (n < 0) {
		return -errno;
	}
	buf[n] = 0;
	return 0;
}

/* ---- attribute changes
 * -------------------------------------------------------- */

static int dmpfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = dmpfs_fh_of(fi);
	struct dmpfs_where w;

	if (h && h->kind == DMPFS_FH_FD) {
		return fchmod(h->fd, mode) == 0 ? 0 : -errno;
	}
	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k == DMPFS_K_PASS) {
		return chmod(w.real, mode) == 0 ? 0 : -errno;
	}
	/* cp -p on a message or contact: nothing to keep. */
	return w.k == DMPFS_K_OUTFILE || w.k == DMPFS_K_CFILE ? 0 : -EACCES;
}

static int dmpfs_chown(const char *path, uid_t uid, gid_t gid,
		       struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = dmpfs_fh_of(fi);
	struct dmpfs_where w;

	if (h && h->kind == DMPFS_FH_FD) {
		return fchown(h->fd, uid, gid) == 0 ? 0 : -errno;
	}
	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k == DMPFS_K_PASS) {
		return lchown(w.real, uid, gid) == 0 ? 0 : -errno;
	}
	return w.k == DMPFS_K_OUTFILE || w.k == DMPFS_K_CFILE ? 0 : -EACCES;
}

static int dmpfs_utimens(const char *path, const struct timespec tv[2],
			 struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = dmpfs_fh_of(fi);
	struct dmpfs_where w;

	if (h && h->kind == DMPFS_FH_FD) {
		return futimens(h->fd, tv) == 0 ? 0 : -errno;
	}
	dmpfs_classify(dmpfs_ctx(), path, &w);
	if (w.k == DMPFS_K_PASS) {
		return utimensat(AT_FDCWD, w.real, tv, AT_SYMLINK_NOFOLLOW) == 0
			   ? 0
			   : -errno;
	}
	return w.k == DMPFS_K_OUTFILE || w.k == DMPFS_K_CFILE ||
		       w.k == DMPFS_K_RELOAD
		   ? 0
		   : -EACCES;
}

static int dmpfs_truncate(const char *path, off_t size,
			  struct fuse_file_info *fi)
{
	struct dmpfs *fs = dmpfs_ctx();
	struct dmpfs_fh *h = dmpfs_fh_of(fi);
	struct dmpfs_where w;

	if (size < 0) {
		return -EINVAL;
	}
	if (h && h->kind == DMPFS_FH_FD) {
		return ftruncate(h->fd, size) == 0 ? 0 : -errno;
	}
	if (h && (h->kind == DMPFS_FH_OUT || h->kind == DMPFS_FH_CONTACT)) {
		return dmpfs_outbox_truncate_fh(fs, h, size);
	}
	dmpfs_classify(fs, path, &w);
	switch (w.k) {
	case DMPFS_K_PASS: return truncate(w.real, size) == 0 ? 0 : -errno;
	case DMPFS_K_OUTFILE: return dmpfs_scratch_truncate(fs, w.name, size);
	case DMPFS_K_CFILE:
	case DMPFS_K_RELOAD:
		return 0; /* `echo ... > contacts/bob` on an existing one */
	case DMPFS_K_NONE: return -ENOENT;
	default: return -EACCES;
	}
}

static int dmpfs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return statvfs(dmpfs_ctx()->home, sv) == 0 ? 0 : -errno;
}

/* The engine handles and thread are set up by main.c before the loop. */
static void *dmpfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Per-file cache lifetimes (cache.c): the mount's timeout is long,
	 * for the Maildir files; generated files lose their attributes
	 * within a tick. Names that do not exist are never cached, so new
	 * mail is found at once. */
	cfg->attr_timeout = DMPFS_CACHE_LONG_S;
	cfg->entry_timeout = DMPFS_CACHE_LONG_S;
	cfg->negative_timeout = 0;
	/* READDIRPLUS stays libfuse's "auto" (plus for the first block and
	 * after lookups): forcing it on every block was measured no faster
	 * for `ls -l` (docs/performance.md), and dearer once names are
	 * cached. Maildir entries carry their attributes (maildir.c). */
	(void)conn;
	/* unlink of an open file must really unlink in the Maildir, not
	 * leave a .fuse_hidden file there. */
	cfg->hard_remove = 1;
	return dmpfs_ctx();
}

static void dmpfs_destroy(void *data)
{
	struct dmpfs *fs = data;

	dmpfs_cache_stop(fs);
	(void)dmpfs_worker_stop(fs, 0);
	fs->fuse = NULL;
	dmpfs_report_scratch(fs); /* while fe is open: events */
	dmpfs_close_engines(fs);
	while (fs->scratch) {
		dmpfs_scratch_remove(fs, fs->scratch);
	}
	while (fs->absent) {
		struct dmpfs_absent *a = fs->absent;

		fs->absent = a->next;
		free(a);
	}
	while (fs->recent) {
		struct dmpfs_recent *r = fs->recent;

		fs->recent = r->next;
		free(r);
	}
}

const struct fuse_operations dmpfs_ops = {
    .getattr = dmpfs_getattr,
    .readlink = dmpfs_readlink,
    .mkdir = dmpfs_mkdir,
    .unlink = dmpfs_unlink,
    .rmdir = dmpfs_rmdir,
    .symlink = dmpfs_symlink,
    .rename = dmpfs_rename,
    .link = dmpfs_link,
    .chmod = dmpfs_chmod,
    .chown = dmpfs_chown,
    .truncate = dmpfs_truncate,
    .open = dmpfs_open,
    .read = dmpfs_read,
    .write = dmpfs_write,
    .statfs = dmpfs_statfs,
    .flush = dmpfs_flush,
    .release = dmpfs_release,
    .fsync = dmpfs_fsync,
    .readdir = dmpfs_readdir,
    .init = dmpfs_init,
    .destroy = dmpfs_destroy,
    .create = dmpfs_create,
    .utimens = dmpfs_utimens,
};
