/*
 * fs/path.c - what a path of the mount names (dmpfs_classify) and the fixed
 * names of the tree. No file is touched here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmpfs.h"

#include "dmp/alias.h"
#include "dmp/err.h"

const char *const dmpfs_folders[3] = {"inbox", "intro", "sent"};

const char *const dmpfs_ident_files[] = {
    "address", "fingerprint", "x25519",	   "ed25519",
    "record",  "prekeys",     "published", "rotation",
};
const size_t dmpfs_n_ident_files =
    sizeof(dmpfs_ident_files) / sizeof(dmpfs_ident_files[0]);

const char *const dmpfs_root_entries[] = {
    "outbox",	"queue", "sent",      "inbox",	 "intro",   "contacts",
    "identity", "peers", "resolvers", ".status", ".events", ".reload",
};
const size_t dmpfs_n_root_entries =
    sizeof(dmpfs_root_entries) / sizeof(dmpfs_root_entries[0]);

int dmpfs_errno(int code)
{
	switch (code) {
	case DMP_EAMBIGUOUS: return ENOTUNIQ;
	case DMP_EBADSIG: return EBADMSG;
	case DMP_EBADKEY: return EKEYREJECTED;
	case DMP_ETOOBIG: return EFBIG;
	default: return dmp_err_to_errno(code);
	}
}

/* If @p path is @p dir or dir/NAME, set @p name ("" for the dir itself).
 * Returns 0 no match, 1 the dir, 2 one entry, -1 deeper (no such file). */
static int under(const char *path, const char *dir, char *name, size_t cap)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n) != 0) {
		return 0;
	}
	if (path[n] == 0) {
		name[0] = 0;
		return 1;
	}
	if (path[n] != '/' || !path[n + 1]) {
		return 0;
	}
	if (strchr(path + n + 1, '/') || strlen(path + n + 1) >= cap) {
		return -1;
	}
	snprintf(name, cap, "%s", path + n + 1);
	return 2;
}

/* inbox/, intro/, sent/ and below: the same path in the real Maildir. */
static int classify_pass(const struct dmpfs *fs, const char *path,
			 struct dmpfs_where *w)
{
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(dmpfs_folders[i]);

		if (path[0] == '/' &&
		    strncmp(path + 1, dmpfs_folders[i], n) == 0 &&
		    (path[1 + n] == 0 || path[1 + n] == '/')) {
			w->k = DMPFS_K_PASS;
			w->folder = i;
			w->top = path[1 + n] == 0 ||
				 (path[1 + n] == '/' && path[2 + n] == 0);
			if ((size_t)snprintf(w->real, sizeof(w->real), "%s%s",
					     fs->maildir[i],
					     path + 1 + n) >= sizeof(w->real)) {
				w->k = DMPFS_K_NONE;
			}
			return 1;
		}
	}
	return 0;
}

void dmpfs_classify(const struct dmpfs *fs, const char *path,
		    struct dmpfs_where *w)
{
	static const struct {
		const char *dir;
		enum dmpfs_kind d, f;
	} dirs[] = {
	    {"/outbox", DMPFS_K_OUTBOX, DMPFS_K_OUTFILE},
	    {"/queue", DMPFS_K_QUEUE, DMPFS_K_QFILE},
	    {"/contacts", DMPFS_K_CONTACTS, DMPFS_K_CFILE},
	    {"/identity", DMPFS_K_IDENT, DMPFS_K_IFILE},
	    {"/peers", DMPFS_K_PEERS, DMPFS_K_PFILE},
	};

	memset(w, 0, sizeof(*w));
	w->k = DMPFS_K_NONE;
	if (strcmp(path, "/") == 0) {
		w->k = DMPFS_K_ROOT;
		return;
	}
	if (strcmp(path, "/resolvers") == 0) {
		w->k = DMPFS_K_RESOLVERS;
		return;
	}
	if (strcmp(path, "/.status") == 0) {
		w->k = DMPFS_K_STATUS;
		return;
	}
	if (strcmp(path, "/.reload") == 0) {
		w->k = DMPFS_K_RELOAD;
		return;
	}
	if (strcmp(path, "/.events") == 0) {
		w->k = DMPFS_K_EVENTS;
		snprintf(w->real, sizeof(w->real), "%s", fs->events);
		return;
	}
	if (classify_pass(fs, path, w)) {
		return;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int r = under(path, dirs[i].dir, w->name, sizeof(w->name));

		if (r == 1) {
			w->k = dirs[i].d;
			return;
		}
		if (r == 2) {
			w->k = dirs[i].f;
			return;
		}
		if (r < 0) {
			return;
		}
	}
}

int dmpfs_is_scratch(const char *name)
{
	/* One list, shared with the alias rules (dmp/alias.h). */
	return dmp_scratch_name(name);
}

int dmpfs_parse_id(const char *name, int64_t *id)
{
	char *end;
	long long v;

	if (!name[0] || name[0] == '0' || name[0] == '-') {
		return -ENOENT;
	}
	errno = 0;
	v = strtoll(name, &end, 10);
	if (errno || *end || v <= 0) {
		return -ENOENT;
	}
	*id = v;
	return 0;
}
