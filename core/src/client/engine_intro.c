/*
 * core/src/client/engine_intro.c - what pinning a sender does to the mail
 * already delivered from it (issue 14.12): its messages waiting in
 * intro/ move to inbox/ and every copy (those the user moved there by
 * hand too) is re-headed as verified: "From: alias <address>" and
 * "X-DMP-Verified: yes". The message was opened and its signature checked
 * on delivery; only the sender's key was not pinned then, and the pin is
 * what "verified" means. Other header lines and the body are kept byte
 * for byte; the file keeps its name (and Maildir flags).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "engine_i.h"

#define SETTLE_MAX_FILE (1u << 20) /* larger files are not ours */

/* 1 if the header line @p l (length @p n) is "@p key: ..." */
static int is_header(const char *l, size_t n, const char *key)
{
	size_t k = strlen(key);

	return n > k && l[k] == ':' && strncasecmp(l, key, k) == 0;
}

/* The value of header line @p l without leading blanks. */
static const char *value_of(const char *l, size_t n, size_t *vl)
{
	const char *v = (const char *)memchr(l, ':', n) + 1;

	while (v < l + n && (*v == ' ' || *v == '\t')) {
		v++;
	}
	*vl = (size_t)(l + n - v);
	return v;
}

/*
 * @p buf (a delivered message) re-headed for contact @p c, into a new
 * buffer @p out. @return 1 when it is an unverified message signed by
 * @p c's key (and @p out is set), 0 when it is not, or DMP_ENOMEM
 */
static int rehead(const char *buf, size_t len,
		  const struct dmp_store_contact *c, const char *spkhex,
		  char **out, size_t *olen)
{
	const char *p = buf, *end = buf + len, *body = NULL;
	int ours = 0, unverified = 0, skip = 0;
	FILE *f;

	/* Pass 1: is it one of @p c's unverified messages? */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), vl;
		const char *v;

		if (n == 0) {
			body = nl ? nl + 1 : end;
			break;
		}
		if (is_header(p, n, "X-DMP-Sender-Key")) {
			v = value_of(p, n, &vl);
			ours = vl == strlen(spkhex) &&
			       strncasecmp(v, spkhex, vl) == 0;
		} else if (is_header(p, n, "X-DMP-Verified")) {
			v = value_of(p, n, &vl);
			unverified = vl >= 2 && strncasecmp(v, "no", 2) == 0;
		}
		p = nl ? nl + 1 : end;
	}
	if (!body || !ours || !unverified) {
		return 0;
	}
	f = open_memstream(out, olen);
	if (!f) {
		return DMP_ENOMEM;
	}
	/* Pass 2: the header with From: and X-DMP-Verified: replaced (their
	 * folded continuation lines dropped), then the body as it was. */
	for (p = buf; p < body;) {
		const char *nl = memchr(p, '\n', (size_t)(body - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(body - p);

		if (n > 0 && (p[0] == ' ' || p[0] == '\t') && skip) {
			p = nl ? nl + 1 : body;
			continue;
		}
		skip = 0;
		if (is_header(p, n, "From")) {
			fprintf(f, "From: %s <%s>\n", c->alias, c->address);
			skip = 1;
		} else if (is_header(p, n, "X-DMP-Verified")) {
			fputs("X-DMP-Verified: yes\n", f);
			skip = 1;
		} else {
			fwrite(p, 1, n, f);
			fputc('\n', f);
		}
		p = nl ? nl + 1 : body;
	}
	fwrite(body, 1, (size_t)(end - body), f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return DMP_ENOMEM;
	}
	return 1;
}

static int read_small(const char *path, char **buf, size_t *len)
{
	struct stat sb;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*buf = NULL;
	if (fd < 0) {
		return DMP_EIO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size > SETTLE_MAX_FILE) {
		close(fd);
		return DMP_EINVAL;
	}
	*buf = dmp_malloc((size_t)sb.st_size + 1);
	if (!*buf) {
		close(fd);
		return DMP_ENOMEM;
	}
	r = read(fd, *buf, (size_t)sb.st_size);
	close(fd);
	if (r != sb.st_size) {
		dmp_free(*buf);
		*buf = NULL;
		return DMP_EIO;
	}
	*len = (size_t)r;
	return 0;
}

/* Write @p data to inbox/tmp, fsync, rename to @p dst. */
static int put_file(const char *inbox, const char *name, const char *dst,
		    const char *data, size_t len)
{
	char tmp[DMP_ENG_HOME_MAX + 320];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.settle", inbox, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		return DMP_EIO;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		rc = DMP_EIO;
	}
	close(fd);
	if (rc == 0 && rename(tmp, dst) != 0) {
		rc = DMP_EIO;
	}
	if (rc < 0) {
		unlink(tmp);
	}
	return rc;
}

int dmp_eng_intro_settle(struct dmp_engine *e,
			 const struct dmp_store_contact *c)
{
	static const char *const sub[2] = {"new", "cur"};
	char spkhex[65], d[200];
	const char *inbox = e->dirs[0];
	int moved = 0, rewritten = 0;

	dmp_hex_encode(spkhex, c->ed25519_pk, 32);
	/* inbox/ first (re-headed in place: the copies the user moved by
	 * hand), then intro/ (moved). In that order intro/ is empty only
	 * once every copy is verified: a reader who waits for intro/ to empty
	 * never sees a moved copy still saying "X-DMP-Verified: no". */
	for (int fo = 0; fo <= 1; fo++) {
		for (int s = 0; s < 2; s++) {
			char dir[DMP_ENG_HOME_MAX + 40];
			struct dirent *de;
			DIR *dh;

			snprintf(dir, sizeof(dir), "%s/%s", e->dirs[fo],
				 sub[s]);
			dh = opendir(dir);
			while (dh && (de = readdir(dh)) != NULL) {
				char src[DMP_ENG_HOME_MAX + 300];
				char dst[DMP_ENG_HOME_MAX + 300];
				char *buf = NULL, *nb = NULL;
				size_t len = 0, nlen = 0;

				if (de->d_name[0] == '.') {
					continue;
				}
				snprintf(src, sizeof(src), "%s/%s", dir,
					 de->d_name);
				snprintf(dst, sizeof(dst), "%s/%s/%s", inbox,
					 sub[s], de->d_name);
				if (read_small(src, &buf, &len) == 0 &&
				    rehead(buf, len, c, spkhex, &nb, &nlen) ==
					1 &&
				    put_file(inbox, de->d_name, dst, nb,
					     nlen) == 0) {
					if (fo == 1 && unlink(src) == 0) {
						moved++;
					} else {
						rewritten++;
					}
				}
				dmp_free(buf);
				free(nb);
			}
			if (dh) {
				closedir(dh);
			}
		}
	}
	if (moved + rewritten > 0) {
		snprintf(d, sizeof(d),
			 "pinned: %d message%s moved from intro/ to inbox/, "
			 "%d re-headed in inbox/, now verified",
			 moved, moved == 1 ? "" : "s", rewritten);
		dmp_eng_emit(e, DMP_EV_CONTACT, c->alias, NULL, 0, d);
	}
	return moved + rewritten;
}
