/*
 * core/src/client/settings.c - `dmp config`'s core (settings.h): the
 * client schema (client_config.c) listed, and one key of config.yaml set
 * or removed through the line editor (config_edit.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_config.h"
#include "dmp/config.h"
#include "dmp/err.h"
#include "dmp/settings.h"
#include "engine_i.h"

#define PATH_CAP 4096

static int load(struct client_conf *c, const char *path, char *err,
		size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = dmp_config_defaults(dmp_client_schema, dmp_client_schema_len, c);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_config_load(dmp_client_schema, dmp_client_schema_len, c, path,
			     err, errlen);
	if (rc == DMP_ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOENT));
	}
	if (rc == 0) { /* the checks across settings (engine_pad.c) */
		rc = dmp_eng_privacy_check(c, path, err, errlen);
	}
	return rc;
}

int dmp_settings_list(const char *home, dmp_settings_cb cb, void *ud, char *err,
		      size_t errlen)
{
	char path[PATH_CAP], val[DMP_CFG_STR_MAX * DMP_CFG_LIST_MAX];
	char def[DMP_CFG_STR_MAX * DMP_CFG_LIST_MAX], range[64];
	struct client_conf *c = malloc(2 * sizeof(*c));
	int rc;

	if (!c) {
		return DMP_ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	rc = load(c, path, err, errlen);
	if (rc == 0) {
		rc = dmp_config_defaults(dmp_client_schema,
					 dmp_client_schema_len, c + 1);
	}
	for (size_t i = 0; rc == 0 && i < dmp_client_schema_len; i++) {
		const struct dmp_cfg_item *it = &dmp_client_schema[i];
		char name[128];

		dmp_config_format(it, c, val, sizeof(val));
		dmp_config_format(it, c + 1, def, sizeof(def));
		range[0] = '\0';
		if (it->type == DMP_CFG_INT) {
			snprintf(range, sizeof(range), "%lld..%lld", it->min,
				 it->max);
		} else if (it->type == DMP_CFG_BOOL) {
			snprintf(range, sizeof(range), "true|false");
		}
		snprintf(name, sizeof(name), "%s.%s", it->section, it->key);
		cb(name, val, def, strcmp(val, def) == 0, range, ud);
	}
	free(c);
	return rc;
}

static char *slurp(const char *path, struct stat *st)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (!f) {
		return NULL;
	}
	if (fstat(fileno(f), st) == 0 && st->st_size < (1 << 20) &&
	    (buf = malloc((size_t)st->st_size + 1)) != NULL) {
		n = fread(buf, 1, (size_t)st->st_size, f);
		buf[n] = '\0';
		if (memchr(buf, '\0', n)) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* @p text into @p tmp (mode @p mode), fsync'd. @return 0 or DMP_EIO */
static int write_tmp(const char *tmp, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ok;

	if (fd < 0) {
		return DMP_EIO;
	}
	ok = fchmod(fd, mode & 07777) == 0 &&
	     write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	return ok ? 0 : DMP_EIO;
}

int dmp_settings_set(const char *home, const char *name, const char *value,
		     char *err, size_t errlen)
{
	char path[PATH_CAP], tmp[PATH_CAP + 16], yaml[2048], sec[64];
	const struct dmp_cfg_item *it =
	    dmp_config_find(dmp_client_schema, dmp_client_schema_len, name);
	struct client_conf *c = NULL;
	char *text = NULL, *edited = NULL;
	struct stat st;
	int rc;

	if (!it) {
		snprintf(err, errlen,
			 "%s: unknown setting (`dmp config list` shows them)",
			 name);
		return DMP_ECONFIG;
	}
	if (value) {
		rc = dmp_config_yaml_value(dmp_client_schema,
					   dmp_client_schema_len, name, value,
					   yaml, sizeof(yaml), err, errlen);
		if (rc < 0) {
			return rc;
		}
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	snprintf(tmp, sizeof(tmp), "%s.edit", path);
	errno = 0;
	text = slurp(path, &st);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path,
			 errno ? strerror(errno) : "not a text file");
		return errno == ENOENT ? DMP_ENOENT : DMP_EIO;
	}
	snprintf(sec, sizeof(sec), "%s", it->section);
	rc = dmp_config_edit(text, sec, it->key, value ? yaml : NULL, &edited);
	if (rc == DMP_ENOENT) {
		snprintf(err, errlen, "%s: not set in %s (already the default)",
			 name, path);
		goto out;
	}
	if (rc < 0) {
		snprintf(err, errlen,
			 "%s: cannot edit this file's layout (a flow-style "
			 "section or a tab); edit it by hand",
			 path);
		goto out;
	}
	c = malloc(sizeof(*c));
	unlink(tmp); /* a left-over of an interrupted edit */
	rc = !c ? DMP_ENOMEM : write_tmp(tmp, edited, st.st_mode);
	if (rc == DMP_EIO) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	/* The loader's verdict on the whole new file before it is used. */
	if (rc == 0 && (rc = load(c, tmp, err, errlen)) < 0) {
		rc = DMP_ECONFIG;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = DMP_EIO;
	}
	if (rc == 0) { /* the rename itself, durable */
		int dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	if (rc < 0) {
		unlink(tmp);
	}
out:
	free(c);
	free(text);
	free(edited);
	return rc;
}
