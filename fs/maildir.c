/*
 * fs/maildir.c - inbox/, intro/ and sent/ are the engine's real Maildirs
 * (dmp_engine_maildir()): listing, opening and renaming pass through to
 * them. Moving a message from intro/ to inbox/ accepts its sender as a
 * contact (pinned by the engine thread). The -o maildir= mirror is a pair
 * of symlinks to the same Maildirs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmpfs.h"

#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/log.h"

int dmpfs_pass_readdir(const char *real, void *buf, fuse_fill_dir_t filler,
		       enum fuse_readdir_flags flags)
{
	DIR *d = opendir(real);
	struct dirent *de;
	int plus = (flags & FUSE_READDIR_PLUS) != 0;

	if (!d) {
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (plus && fstatat(dirfd(d), de->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) == 0) {
			if (filler(buf, de->d_name, &st, 0,
				   FUSE_FILL_DIR_PLUS)) {
				break;
			}
		} else {
			memset(&st, 0, sizeof(st));
			st.st_ino = de->d_ino;
			st.st_mode = (mode_t)DTTOIF(de->d_type);
			if (filler(buf, de->d_name, &st, 0, 0)) {
				break;
			}
		}
	}
	closedir(d);
	return 0;
}

int dmpfs_pass_open(struct dmpfs *fs, const struct dmpfs_where *w,
		    struct fuse_file_info *fi, int creating, mode_t mode)
{
	struct dmpfs_fh *h = dmpfs_fh_new(DMPFS_FH_FD, "");

	if (!h) {
		return -ENOMEM;
	}
	h->fd = creating ? open(w->real, fi->flags | O_CLOEXEC, mode)
			 : open(w->real, fi->flags | O_CLOEXEC);
	if (h->fd < 0) {
		int e = errno;

		dmpfs_fh_free(fs, h);
		return -e;
	}
	fi->fh = (uintptr_t)h;
	/* Delivered messages never change in place (Maildir writes a new
	 * file and renames), and the kernel drops cached pages anyway when
	 * it sees size or mtime change. */
	fi->keep_cache = (fi->flags & O_ACCMODE) == O_RDONLY;
	/* close() of a reader has nothing to flush: no FLUSH round trip
	 * (`cat` of every message pays one per file otherwise). */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	return 0;
}

/* After `mv intro/... inbox/...`: pin the sender (by the key the message
 * was signed with, so a different key for that address is refused). */
static void accept_intro(struct dmpfs *fs, const char *real)
{
	char head[8192];
	struct dmp_delivered d;
	ssize_t n;
	int rc, fd = open(real, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		return;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n <= 0) {
		return;
	}
	(void)dmp_delivered_parse(head, (size_t)n, &d);
	if (!d.address[0] || !d.fingerprint[0]) {
		DMP_LOG_W("%s: no sender address and key to pin", real);
		return;
	}
	/* Pinned before mv returns, as a write to contacts/ is, so that the
	 * next command (`ls contacts/`, `rm contacts/<alias>`) sees it. Only
	 * when that fails (DNS unreachable, say) does the engine thread try
	 * once more in the background. */
	pthread_mutex_lock(&fs->ne_lock);
	rc = dmp_engine_contact_add(fs->ne, d.address, NULL, d.fingerprint);
	pthread_mutex_unlock(&fs->ne_lock);
	if (rc == DMP_ETIMEDOUT || rc == DMP_EUNREACHABLE ||
	    rc == DMP_ESERVFAIL || rc == DMP_EIO) {
		DMP_LOG_W("accepting %s (%s): %s; trying again in the "
			  "background",
			  d.address, d.fingerprint, dmp_strerror(rc));
		dmpfs_worker_accept(fs, d.address, d.fingerprint);
		return;
	}
	if (rc < 0) {
		DMP_LOG_W("accepting %s (%s): %s", d.address, d.fingerprint,
			  dmp_strerror(rc));
		return;
	}
	dmpfs_worker_kick(fs);
}

int dmpfs_pass_rename(struct dmpfs *fs, const struct dmpfs_where *a,
		      const struct dmpfs_where *b, unsigned int flags)
{
	struct stat st;

	if (a->top || b->top) {
		return -EACCES;
	}
	if (renameat2(AT_FDCWD, a->real, AT_FDCWD, b->real, flags) != 0) {
		return -errno;
	}
	if (a->folder == 1 && b->folder == 0 && lstat(b->real, &st) == 0 &&
	    S_ISREG(st.st_mode)) {
		accept_intro(fs, b->real);
	}
	return 0;
}

void dmpfs_mirror_setup(const struct dmpfs *fs)
{
	static const int mirrored[2] = {0, 2}; /* inbox, sent */
	char link[DMPFS_PATH_MAX + 16];

	if (!fs->mirror[0]) {
		return;
	}
	(void)mkdir(fs->mirror, 0700);
	for (int i = 0; i < 2; i++) {
		struct stat st;

		snprintf(link, sizeof(link), "%s/%s", fs->mirror,
			 dmpfs_folders[mirrored[i]]);
		if (lstat(link, &st) == 0 && S_ISLNK(st.st_mode)) {
			unlink(link);
		}
		if (symlink(fs->maildir[mirrored[i]], link) != 0) {
			DMP_LOG_W("maildir mirror %s: %s", link,
				  strerror(errno));
		}
	}
}
