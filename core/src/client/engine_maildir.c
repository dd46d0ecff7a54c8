/*
 * core/src/client/engine_maildir.c - the engine's Maildirs: the home's
 * mail/{inbox,intro,sent}/{tmp,new,cur} and durable delivery into them
 * (tmp -> fsync -> rename into new -> fsync of the directory), with the
 * body's mail header block merged into the file's header (mail.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/mail.h"
#include "engine_i.h"

int dmp_eng_mkdir(const char *p)
{
	if (mkdir(p, 0700) == 0 || errno == EEXIST) {
		return 0;
	}
	DMP_LOG_E("mkdir %s: %s", p, strerror(errno));
	return DMP_EIO;
}

int dmp_eng_make_maildirs(const char *home)
{
	char p[DMP_ENG_HOME_MAX + 64];
	static const char *const sub[3] = {"tmp", "new", "cur"};
	int rc;

	snprintf(p, sizeof(p), "%s/mail", home);
	if ((rc = dmp_eng_mkdir(p)) < 0) {
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/mail/%s", home, dmp_eng_folders[i]);
		if ((rc = dmp_eng_mkdir(p)) < 0) {
			return rc;
		}
		for (int j = 0; j < 3; j++) {
			snprintf(p, sizeof(p), "%s/mail/%s/%s", home,
				 dmp_eng_folders[i], sub[j]);
			if ((rc = dmp_eng_mkdir(p)) < 0) {
				return rc;
			}
		}
	}
	return 0;
}

/* 1 if a file named @p name (or name:2,... in cur) exists in @p md. */
int dmp_eng_maildir_has(const char *md, const char *name)
{
	char p[DMP_ENG_HOME_MAX + 300];
	struct stat sb;
	struct dirent *de;
	size_t nl = strlen(name);
	DIR *d;
	int found = 0;

	snprintf(p, sizeof(p), "%s/new/%s", md, name);
	if (stat(p, &sb) == 0) {
		return 1;
	}
	/* A reader may have moved it to cur/ with an info suffix ":2,S". */
	snprintf(p, sizeof(p), "%s/cur", md);
	d = opendir(p);
	while (d && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, name, nl) == 0 &&
		    (de->d_name[nl] == ':' || de->d_name[nl] == 0)) {
			found = 1;
			break;
		}
	}
	if (d) {
		closedir(d);
	}
	return found;
}

static int write_file(const char *md, const char *name, const void *a,
		      size_t alen, const void *b, size_t blen, int sync);

/* Write tmp/<name>, fsync, rename into new/<name> (Maildir delivery). */
int dmp_eng_maildir_write(const char *md, const char *name, const void *a,
			  size_t alen, const void *b, size_t blen)
{
	return write_file(md, name, a, alen, b, blen, 1);
}

/* tmp -> rename into new/, with the fsyncs only when @p sync (the sent/
 * copy, engine_sent.c, makes its copies durable in a batch). */
int dmp_eng_maildir_put(const char *md, const char *name, const void *data,
			size_t len, int sync)
{
	return write_file(md, name, data, len, NULL, 0, sync);
}

static int write_file(const char *md, const char *name, const void *a,
		      size_t alen, const void *b, size_t blen, int sync)
{
	char tmp[DMP_ENG_HOME_MAX + 300], fin[DMP_ENG_HOME_MAX + 300];
	int fd, rc = 0;
	const uint8_t *parts[2] = {a, b};
	size_t lens[2] = {alen, blen};

	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", md, name);
	snprintf(fin, sizeof(fin), "%s/new/%s", md, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		DMP_LOG_E("maildir %s: %s", tmp, strerror(errno));
		return errno == ENOSPC ? DMP_ENOSPC : DMP_EIO;
	}
	for (int i = 0; i < 2 && rc == 0; i++) {
		size_t off = 0;

		while (off < lens[i]) {
			ssize_t w = write(fd, parts[i] + off, lens[i] - off);

			if (w < 0 && errno == EINTR) {
				continue;
			}
			if (w <= 0) {
				rc = errno == ENOSPC ? DMP_ENOSPC : DMP_EIO;
				break;
			}
			off += (size_t)w;
		}
	}
	if (rc == 0 && sync && fsync(fd) != 0) {
		rc = DMP_EIO;
	}
	close(fd);
	if (rc == 0 && rename(tmp, fin) != 0) {
		rc = DMP_EIO;
	}
	if (rc == 0 && sync) {
		/* Make the rename itself durable. */
		char nd[DMP_ENG_HOME_MAX + 8];
		int dfd;

		snprintf(nd, sizeof(nd), "%s/new", md);
		dfd = open(nd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	} else if (rc < 0) {
		DMP_LOG_E("maildir %s: %s", fin, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/* A message as mutt reads it (mail.h): @p head, then the Message-ID, the
 * body's header block merged, MIME for a binary body, and the body. */
int dmp_eng_maildir_mail(const char *md, const char *name, const char *head,
			 const char *idhex, const uint8_t *body, size_t len)
{
	uint8_t *file = NULL;
	size_t n = 0;
	int rc = dmp_mail_render(head, idhex, body, len, &file, &n);

	if (rc == 0) {
		rc = dmp_eng_maildir_write(md, name, file, n, NULL, 0);
	}
	dmp_free(file);
	return rc;
}

void dmp_eng_rfc5322_date(char *out, size_t cap, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}
