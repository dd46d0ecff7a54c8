/*
 * fs/ops.c - dmpfs's file operations: each one becomes an engine call, a
 * store read, or the same operation on the engine's real Maildirs.
 *
 *   outbox/<contact>  write + close = dmp_engine_submit() (flush)
 *   queue/<id>        rendered from the store's outbox; unlink = cancel
 *   inbox/ intro/ sent/  passthrough to dmp_engine_maildir()
 *   contacts/<alias>  rendered; write + close = dmp_engine_contact_add()
 *   identity/, resolvers, .status   rendered, read-only
 *   .events           the engine's events.log, read-only
 *   peers/<node>      rendered from the store's discovered nodes
 *                     (peers.h; refreshed by the engine thread), read-only
 *
 * Callbacks return 0 or a negative errno; dmp codes become errnos here
 * only (dmp_err_to_errno plus a few sharper choices, see to_errno()).
 */
#include <dirent.h>
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

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/log.h"
#include "dmp/peers.h"
#include "dmp/store.h"

#define CONTACT_WRITE_MAX 4096
#define SCRATCH_MAX (1u << 20)

enum kind {
	K_NONE,
	K_ROOT,
	K_OUTBOX,
	K_OUTFILE,
	K_QUEUE,
	K_QFILE,
	K_PASS,
	K_CONTACTS,
	K_CFILE,
	K_IDENT,
	K_IFILE,
	K_PEERS,
	K_PFILE,
	K_RESOLVERS,
	K_STATUS,
	K_EVENTS,
};

struct where {
	enum kind k;
	char name[256];		   /* last component for K_*FILE */
	int folder;		   /* K_PASS: 0 inbox, 1 intro, 2 sent */
	int top;		   /* K_PASS: the folder itself */
	char real[DMPFS_PATH_MAX]; /* K_PASS, K_EVENTS */
};

enum fh_kind {
	FH_BUF,	    /* rendered, read-only */
	FH_FD,	    /* a real file */
	FH_OUT,	    /* a message being written to outbox/ */
	FH_SCRATCH, /* an editor's scratch file in outbox/ */
	FH_CONTACT, /* contacts/<alias> being written */
};

struct dmpfs_fh {
	struct dmpfs_fh *next; /* in dmpfs.open_files (FH_OUT, FH_CONTACT) */
	enum fh_kind kind;
	int fd;
	char *buf;
	size_t len, cap;
	char name[256];
	int64_t mtime;
	pid_t owner; /* process that opened it (FH_OUT, FH_CONTACT) */
};

static const char *const folders[3] = {"inbox", "intro", "sent"};
static const char *const ident_files[] = {
    "address", "fingerprint", "x25519",	   "ed25519",
    "record",  "prekeys",     "published",
};

static struct dmpfs *ctx(void)
{
	return fuse_get_context()->private_data;
}

static struct dmpfs_fh *fh_of(const struct fuse_file_info *fi)
{
	return fi ? (struct dmpfs_fh *)(uintptr_t)fi->fh : NULL;
}

static int to_errno(int code)
{
	switch (code) {
	case DMP_EAMBIGUOUS: return ENOTUNIQ;
	case DMP_EBADSIG: return EBADMSG;
	case DMP_EBADKEY: return EKEYREJECTED;
	case DMP_ETOOBIG: return EFBIG;
	default: return dmp_err_to_errno(code);
	}
}

/* ---- path classification ------------------------------------------------ */

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

static void classify(struct dmpfs *fs, const char *path, struct where *w)
{
	static const struct {
		const char *dir;
		enum kind d, f;
	} dirs[] = {
	    {"/outbox", K_OUTBOX, K_OUTFILE},	{"/queue", K_QUEUE, K_QFILE},
	    {"/contacts", K_CONTACTS, K_CFILE}, {"/identity", K_IDENT, K_IFILE},
	    {"/peers", K_PEERS, K_PFILE},
	};

	memset(w, 0, sizeof(*w));
	w->k = K_NONE;
	if (strcmp(path, "/") == 0) {
		w->k = K_ROOT;
		return;
	}
	if (strcmp(path, "/resolvers") == 0) {
		w->k = K_RESOLVERS;
		return;
	}
	if (strcmp(path, "/.status") == 0) {
		w->k = K_STATUS;
		return;
	}
	if (strcmp(path, "/.events") == 0) {
		w->k = K_EVENTS;
		snprintf(w->real, sizeof(w->real), "%s", fs->events);
		return;
	}
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(folders[i]);

		if (path[0] == '/' && strncmp(path + 1, folders[i], n) == 0 &&
		    (path[1 + n] == 0 || path[1 + n] == '/')) {
			w->k = K_PASS;
			w->folder = i;
			w->top = path[1 + n] == 0 ||
				 (path[1 + n] == '/' && path[2 + n] == 0);
			if ((size_t)snprintf(w->real, sizeof(w->real), "%s%s",
					     fs->maildir[i],
					     path + 1 + n) >= sizeof(w->real)) {
				w->k = K_NONE;
			}
			return;
		}
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
	size_t n = strlen(name);

	if (n == 0 || name[0] == '.' || name[n - 1] == '~' ||
	    strcmp(name, "4913") == 0 ||
	    (name[0] == '#' && name[n - 1] == '#')) {
		return 1;
	}
	return n > 4 && (strcmp(name + n - 4, ".swp") == 0 ||
			 strcmp(name + n - 4, ".swx") == 0 ||
			 strcmp(name + n - 4, ".tmp") == 0);
}

/* ---- rendering ------------------------------------------------------------
 */

struct out {
	char *buf;
	size_t len;
	FILE *f;
};

static int out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	return o->f ? 0 : -ENOMEM;
}

static int out_close(struct out *o, char **buf, size_t *len)
{
	int bad = ferror(o->f);

	fclose(o->f);
	if (bad || !o->buf) {
		free(o->buf);
		return -ENOMEM;
	}
	*buf = o->buf;
	*len = o->len;
	return 0;
}

static const char *state_name(enum dmp_outbox_state s)
{
	switch (s) {
	case DMP_OUTBOX_QUEUED: return "queued";
	case DMP_OUTBOX_PUBLISHING: return "publishing";
	case DMP_OUTBOX_PUBLISHED: return "published";
	case DMP_OUTBOX_FAILED: return "failed";
	}
	return "?";
}

static const char *engine_state_name(enum dmp_engine_state s)
{
	switch (s) {
	case DMP_ENGINE_ONLINE: return "online";
	case DMP_ENGINE_DEGRADED: return "degraded";
	case DMP_ENGINE_OFFLINE: return "offline";
	}
	return "?";
}

static int parse_id(const char *name, int64_t *id)
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

static int count_chunk(int seq, const char *name, const char *value,
		       uint32_t ttl, int published, void *ud)
{
	int *c = ud;

	(void)seq;
	(void)value;
	(void)ttl;
	if (strncmp(name, "chunk-", 6) == 0) {
		c[0]++;
		c[1] += published != 0;
	}
	return 0;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	dmp_hex_encode(out, b, n);
}

static void iso8601(char *out, size_t cap, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(out, cap, "-");
	}
}

/* The stored peer whose file name is @p name. @return 0 or -ENOENT */
static int peer_find(struct dmpfs *fs, const char *name,
		     struct dmp_store_peer *out)
{
	struct dmp_store_peer *v = NULL;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_peers_list(dmp_engine_store(fs->fe), &v, &n);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc < 0) {
		return -to_errno(rc);
	}
	rc = -ENOENT;
	for (size_t i = 0; i < n && rc != 0; i++) {
		char fn[256];

		if (dmp_peer_file_name(&v[i], fn, sizeof(fn)) > 0 &&
		    strcmp(fn, name) == 0) {
			*out = v[i];
			rc = 0;
		}
	}
	dmp_free(v);
	return rc;
}

/* Render the contents of a generated file; *mtime gets its time. */
static int render(struct dmpfs *fs, const struct where *w, char **buf,
		  size_t *len, int64_t *mtime)
{
	struct out o;
	int rc = 0;

	*buf = NULL;
	*len = 0;
	*mtime = fs->started;
	if ((rc = out_open(&o)) < 0) {
		return rc;
	}
	switch (w->k) {
	case K_QFILE: {
		struct dmp_outbox_msg m;
		int64_t id;
		int chunks[2] = {0, 0};
		char mid[2 * DMP_MSG_ID_BYTES + 1];

		if ((rc = parse_id(w->name, &id)) < 0) {
			break;
		}
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_outbox_get(dmp_engine_store(fs->fe), id, &m);
		if (rc == 0 && m.state != DMP_OUTBOX_PUBLISHED) {
			(void)dmp_store_outbox_records(dmp_engine_store(fs->fe),
						       id, count_chunk, chunks);
		}
		pthread_mutex_unlock(&fs->fe_lock);
		if (rc < 0 || m.state == DMP_OUTBOX_PUBLISHED) {
			rc = -ENOENT;
			break;
		}
		hex(mid, m.msg_id, sizeof(m.msg_id));
		fprintf(o.f,
			"id=%lld\nmsg_id=%s\nstate=%s\nrecipient=%s\n"
			"size=%zu\nchunks=%d\nchunks_published=%d\n"
			"records=%d\nrecords_published=%d\nattempts=%d\n"
			"created=%lld\nnext_attempt=%lld\nexpires=%llu\n"
			"last_error=%s\n",
			(long long)m.id, mid, state_name(m.state), m.recipient,
			m.body_len, chunks[0], chunks[1], m.n_records,
			m.n_published, m.attempts, (long long)m.created,
			(long long)m.next_attempt,
			(unsigned long long)m.expires, m.last_error);
		*mtime = m.created;
		break;
	}
	case K_CFILE: {
		struct dmp_store_contact c;
		char x[65], ed[65], fp[17];

		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_contact_get(dmp_engine_store(fs->fe), w->name,
					   &c);
		pthread_mutex_unlock(&fs->fe_lock);
		/* Only the alias names a file; the address lookup is for
		 * outbox/. */
		if (rc < 0 || strcmp(c.alias, w->name) != 0) {
			rc = -ENOENT;
			break;
		}
		hex(x, c.x25519_pk, 32);
		hex(ed, c.ed25519_pk, 32);
		hex(fp, c.ed25519_pk, 8);
		fprintf(o.f, "alias=%s\naddress=%s\nfingerprint=%s\n", c.alias,
			c.address, fp);
		fprintf(o.f, "x25519=%s\ned25519=%s\nversions=", x, ed);
		for (int v = 0, first = 1; v < 32; v++) {
			if (c.versions & (1u << v)) {
				fprintf(o.f, "%s%d", first ? "" : ",", v);
				first = 0;
			}
		}
		fprintf(o.f, "\nblocked=%s\npinned_at=%lld\npinned_how=%s\n",
			c.blocked ? "yes" : "no", (long long)c.pinned_at,
			c.pinned_how);
		*mtime = c.pinned_at;
		break;
	}
	case K_IFILE: {
		struct dmp_identity_info id;
		char h[65];

		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_engine_identity(fs->fe, &id);
		pthread_mutex_unlock(&fs->fe_lock);
		if (rc < 0) {
			rc = -to_errno(rc);
			break;
		}
		if (strcmp(w->name, "address") == 0) {
			fprintf(o.f, "%s\n", id.address);
		} else if (strcmp(w->name, "fingerprint") == 0) {
			fprintf(o.f, "%s\n", id.fingerprint);
		} else if (strcmp(w->name, "x25519") == 0) {
			hex(h, id.x25519_pk, 32);
			fprintf(o.f, "%s\n", h);
		} else if (strcmp(w->name, "ed25519") == 0) {
			hex(h, id.ed25519_pk, 32);
			fprintf(o.f, "%s\n", h);
		} else if (strcmp(w->name, "record") == 0) {
			fprintf(o.f, "%s\n", id.record);
		} else if (strcmp(w->name, "prekeys") == 0) {
			fprintf(o.f, "%d\n", id.prekeys_left);
		} else if (strcmp(w->name, "published") == 0) {
			fprintf(o.f, "%lld\n", (long long)id.published);
		} else {
			rc = -ENOENT;
		}
		break;
	}
	case K_PFILE: {
		struct dmp_store_peer p;
		char key[65], fp[17], seen[32], first[32], ts[32], exp[32];
		int64_t now = (int64_t)time(NULL);

		if ((rc = peer_find(fs, w->name, &p)) < 0) {
			break;
		}
		hex(key, p.operator_spk, 32);
		hex(fp, p.operator_spk, 8);
		iso8601(seen, sizeof(seen), p.last_seen);
		iso8601(first, sizeof(first), p.first_seen);
		iso8601(ts, sizeof(ts), (int64_t)p.hb_ts);
		iso8601(exp, sizeof(exp), (int64_t)p.hb_exp);
		fprintf(o.f,
			"endpoint=%s\noperator_key=%s\nfingerprint=%s\n"
			"version=%s\ncapabilities=0x%04x\nclaim_provider=%s\n"
			"claim_provider_zone=%s\nlast_seen=%s\n"
			"first_seen=%s\nheartbeat_ts=%s\nexpires=%s\n"
			"health=%s\nsource=%s\nfailures=%d\nlast_error=%s\n",
			p.endpoint, key, fp, p.version, p.capabilities,
			(p.capabilities & DMP_HEARTBEAT_CAP_CLAIM_PROVIDER)
			    ? "yes"
			    : "no",
			p.claim_provider_zone, seen, first, ts, exp,
			dmp_peer_health_name(
			    dmp_peer_health(&p, now, fs->peers.stale_after)),
			p.source, p.failures, p.last_error);
		*mtime = p.last_seen;
		break;
	}
	case K_RESOLVERS:
		pthread_mutex_lock(&fs->st_lock);
		for (size_t i = 0; i < fs->n_res; i++) {
			const struct dmp_resolver_stat *s = &fs->res[i];

			fprintf(o.f,
				"%s state=%s rtt_ms=%d queries=%lu answers=%lu "
				"failures=%lu%s%s\n",
				s->addr, dmp_resolver_state_name(s->state),
				s->rtt_ms, s->queries, s->answers, s->failures,
				s->zone[0] ? " direct=" : "", s->zone);
		}
		pthread_mutex_unlock(&fs->st_lock);
		break;
	case K_STATUS: {
		struct dmp_engine_status local, s;
		int have;

		pthread_mutex_lock(&fs->fe_lock);
		(void)dmp_engine_status(fs->fe, &local);
		pthread_mutex_unlock(&fs->fe_lock);
		pthread_mutex_lock(&fs->st_lock);
		s = fs->status;
		have = fs->have_status;
		pthread_mutex_unlock(&fs->st_lock);
		fprintf(o.f,
			"state=%s\naddress=%s\nlast_poll=%lld\nnext_poll=%lld\n"
			"queued=%d\nerrors=%d\nlast_error=%s\n",
			have ? engine_state_name(s.state) : "starting",
			local.address, (long long)s.last_poll,
			(long long)s.next_poll, local.queued, s.errors,
			s.last_error);
		if (s.last_poll) {
			*mtime = s.last_poll;
		}
		break;
	}
	default: rc = -ENOENT;
	}
	if (rc < 0) {
		char *b;
		size_t l;

		if (out_close(&o, &b, &l) == 0) {
			free(b);
		}
		return rc;
	}
	return out_close(&o, buf, len);
}

/* ---- open write handles
 * ------------------------------------------------------ */

/* The newest open handle of @p kind named @p name (under out_lock). */
static struct dmpfs_fh *open_find(struct dmpfs *fs, enum fh_kind kind,
				  const char *name)
{
	for (struct dmpfs_fh *h = fs->open_files; h; h = h->next) {
		if (h->kind == kind && strcmp(h->name, name) == 0) {
			return h;
		}
	}
	return NULL;
}

static struct dmpfs_scratch *scratch_find(struct dmpfs *fs, const char *name)
{
	for (struct dmpfs_scratch *s = fs->scratch; s; s = s->next) {
		if (strcmp(s->name, name) == 0) {
			return s;
		}
	}
	return NULL;
}

static void scratch_remove(struct dmpfs *fs, struct dmpfs_scratch *s)
{
	struct dmpfs_scratch **p = &fs->scratch;

	while (*p && *p != s) {
		p = &(*p)->next;
	}
	if (*p) {
		*p = s->next;
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

/* The process (thread group) of a thread id from the FUSE context. */
static pid_t tgid_of(pid_t tid)
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

static struct dmpfs_fh *fh_new(enum fh_kind kind, const char *name)
{
	struct dmpfs_fh *h = calloc(1, sizeof(*h));

	if (h) {
		h->kind = kind;
		h->fd = -1;
		h->owner = tgid_of(fuse_get_context()->pid);
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->mtime = (int64_t)time(NULL);
	}
	return h;
}

static void fh_register(struct dmpfs *fs, struct dmpfs_fh *h)
{
	pthread_mutex_lock(&fs->out_lock);
	h->next = fs->open_files;
	fs->open_files = h;
	pthread_mutex_unlock(&fs->out_lock);
}

static void fh_free(struct dmpfs *fs, struct dmpfs_fh *h)
{
	if (h->kind == FH_OUT || h->kind == FH_CONTACT) {
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
		memset(h->buf, 0, h->cap); /* plaintext of a message */
	}
	free(h->buf);
	free(h);
}

/* ENOENT (no contact) or EACCES (blocked) before a single byte is taken. */
static int check_contact(struct dmpfs *fs, const char *name)
{
	struct dmp_store_contact c;
	int rc;

	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_store_contact_get(dmp_engine_store(fs->fe), name, &c);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc < 0) {
		return -to_errno(rc);
	}
	return c.blocked ? -EACCES : 0;
}

static int submit(struct dmpfs *fs, const char *contact, const char *buf,
		  size_t len)
{
	int64_t qid = 0;
	int rc;

	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_engine_submit(fs->fe, contact, (const uint8_t *)buf, len, 0,
			       &qid);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc < 0) {
		DMP_LOG_W("outbox/%s: %s", contact, dmp_strerror(rc));
		switch (rc) {
		case DMP_ENOENT: return -ENOENT;
		case DMP_EACCES: return -EACCES;
		case DMP_EFBIG: return -EFBIG;
		case DMP_ENOSPC: return -ENOSPC;
		default: return -EIO;
		}
	}
	dmpfs_worker_kick(fs);
	return 0;
}

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
		return -to_errno(rc);
	}
	dmpfs_worker_kick(fs);
	return 0;
}

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
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h = fh_of(fi);
	struct where w;
	int rc = 0;

	if (h && h->fd >= 0) {
		rc = fstat(h->fd, st) == 0 ? 0 : -errno;
		if (rc == 0 && h->kind == FH_FD &&
		    strcmp(path, "/.events") == 0) {
			st->st_mode = S_IFREG | 0400;
		}
		return rc;
	}
	classify(fs, path, &w);
	switch (w.k) {
	case K_ROOT:
	case K_OUTBOX:
	case K_CONTACTS:
	case K_QUEUE: fill_stat(st, S_IFDIR | 0700, 0, fs->started); return 0;
	case K_IDENT:
	case K_PEERS: fill_stat(st, S_IFDIR | 0500, 0, fs->started); return 0;
	case K_PASS: return lstat(w.real, st) == 0 ? 0 : -errno;
	case K_EVENTS:
		if (stat(w.real, st) != 0) {
			fill_stat(st, S_IFREG | 0400, 0, fs->started);
		}
		st->st_mode = S_IFREG | 0400;
		return 0;
	case K_OUTFILE: {
		struct dmpfs_scratch *s;
		struct dmpfs_fh *o;

		pthread_mutex_lock(&fs->out_lock);
		o = h && h->kind == FH_OUT ? h : open_find(fs, FH_OUT, w.name);
		s = scratch_find(fs, w.name);
		if (o) {
			fill_stat(st, S_IFREG | 0600, (off_t)o->len, o->mtime);
		} else if (s) {
			fill_stat(st, S_IFREG | 0600, (off_t)s->len, s->mtime);
		} else {
			rc = -ENOENT;
		}
		pthread_mutex_unlock(&fs->out_lock);
		return rc;
	}
	case K_CFILE: {
		struct dmpfs_fh *o;
		char *buf;
		size_t len;
		int64_t t;

		pthread_mutex_lock(&fs->out_lock);
		o = h && h->kind == FH_CONTACT
			? h
			: open_find(fs, FH_CONTACT, w.name);
		if (o) {
			fill_stat(st, S_IFREG | 0600, (off_t)o->len, o->mtime);
		}
		pthread_mutex_unlock(&fs->out_lock);
		if (o) {
			return 0;
		}
		rc = render(fs, &w, &buf, &len, &t);
		if (rc == 0) {
			fill_stat(st, S_IFREG | 0600, (off_t)len, t);
			free(buf);
		}
		return rc;
	}
	case K_IFILE:
	case K_QFILE:
	case K_PFILE:
	case K_RESOLVERS:
	case K_STATUS: {
		char *buf;
		size_t len;
		int64_t t;

		if (h && h->kind == FH_BUF) {
			fill_stat(st, S_IFREG | 0400, (off_t)h->len, h->mtime);
			return 0;
		}
		rc = render(fs, &w, &buf, &len, &t);
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

static int pass_readdir(const char *real, void *buf, fuse_fill_dir_t filler,
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

static int dmpfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			 off_t off, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	static const char *const root[] = {
	    "outbox",	"queue", "sent",      "inbox",	 "intro",   "contacts",
	    "identity", "peers", "resolvers", ".status", ".events",
	};
	struct dmpfs *fs = ctx();
	struct fill f = {buf, filler};
	struct where w;
	int rc = 0;

	(void)off;
	(void)fi;
	classify(fs, path, &w);
	if (w.k == K_PASS) {
		return pass_readdir(w.real, buf, filler, flags);
	}
	if (w.k != K_ROOT && w.k != K_OUTBOX && w.k != K_QUEUE &&
	    w.k != K_CONTACTS && w.k != K_IDENT && w.k != K_PEERS) {
		return -ENOTDIR;
	}
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (w.k) {
	case K_ROOT:
		for (size_t i = 0; i < sizeof(root) / sizeof(root[0]); i++) {
			filler(buf, root[i], NULL, 0, 0);
		}
		break;
	case K_IDENT:
		for (size_t i = 0;
		     i < sizeof(ident_files) / sizeof(ident_files[0]); i++) {
			filler(buf, ident_files[i], NULL, 0, 0);
		}
		break;
	case K_OUTBOX:
		pthread_mutex_lock(&fs->out_lock);
		for (struct dmpfs_fh *h = fs->open_files; h; h = h->next) {
			if (h->kind == FH_OUT &&
			    open_find(fs, FH_OUT, h->name) == h) {
				filler(buf, h->name, NULL, 0, 0);
			}
		}
		for (struct dmpfs_scratch *s = fs->scratch; s; s = s->next) {
			filler(buf, s->name, NULL, 0, 0);
		}
		pthread_mutex_unlock(&fs->out_lock);
		break;
	case K_QUEUE:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_outbox_each_pending(dmp_engine_store(fs->fe),
						   fill_queue, &f);
		pthread_mutex_unlock(&fs->fe_lock);
		break;
	case K_CONTACTS:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_contact_each(dmp_engine_store(fs->fe),
					    fill_contact, &f);
		pthread_mutex_unlock(&fs->fe_lock);
		break;
	case K_PEERS:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_peer_each(dmp_engine_store(fs->fe), fill_peer,
					 &f);
		pthread_mutex_unlock(&fs->fe_lock);
		break;
	default: break;
	}
	return rc < 0 ? -to_errno(rc) : 0;
}

static int dmpfs_mkdir(const char *path, mode_t mode)
{
	struct where w;

	classify(ctx(), path, &w);
	if (w.k != K_PASS) {
		return -EACCES;
	}
	return mkdir(w.real, mode) == 0 ? 0 : -errno;
}

static int dmpfs_rmdir(const char *path)
{
	struct where w;

	classify(ctx(), path, &w);
	if (w.k != K_PASS || w.top) {
		return -EACCES;
	}
	return rmdir(w.real) == 0 ? 0 : -errno;
}

/* ---- open, read, write, close
 * ------------------------------------------------- */

static int open_outbox(struct dmpfs *fs, const struct where *w,
		       struct fuse_file_info *fi, int creating)
{
	struct dmpfs_fh *h;
	int rc;

	if (dmpfs_is_scratch(w->name)) {
		struct dmpfs_scratch *s;

		pthread_mutex_lock(&fs->out_lock);
		s = scratch_find(fs, w->name);
		if (!s && creating) {
			s = calloc(1, sizeof(*s));
			if (s) {
				snprintf(s->name, sizeof(s->name), "%s",
					 w->name);
				s->mtime = (int64_t)time(NULL);
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
		h = fh_new(FH_SCRATCH, w->name);
		if (!h) {
			return -ENOMEM;
		}
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	}
	if ((fi->flags & O_ACCMODE) == O_RDONLY) {
		/* A message being written has no readable contents. */
		return -EACCES;
	}
	if ((rc = check_contact(fs, w->name)) < 0) {
		return rc;
	}
	h = fh_new(FH_OUT, w->name);
	if (!h) {
		return -ENOMEM;
	}
	fh_register(fs, h);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	return 0;
}

static int open_rendered(struct dmpfs *fs, const struct where *w,
			 struct fuse_file_info *fi)
{
	struct dmpfs_fh *h;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		return -EACCES;
	}
	h = fh_new(FH_BUF, w->name);
	if (!h) {
		return -ENOMEM;
	}
	rc = render(fs, w, &h->buf, &h->len, &h->mtime);
	if (rc < 0) {
		fh_free(fs, h);
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
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h;
	struct where w;
	int acc = fi->flags & O_ACCMODE;

	classify(fs, path, &w);
	switch (w.k) {
	case K_OUTFILE: return open_outbox(fs, &w, fi, creating);
	case K_CFILE:
		if (acc == O_RDONLY && !creating) {
			return open_rendered(fs, &w, fi);
		}
		if (!w.name[0] || w.name[0] == '.' || strlen(w.name) > 64) {
			return -EINVAL;
		}
		h = fh_new(FH_CONTACT, w.name);
		if (!h) {
			return -ENOMEM;
		}
		fh_register(fs, h);
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	case K_QFILE:
	case K_IFILE:
	case K_PFILE:
	case K_RESOLVERS:
	case K_STATUS:
		if (creating) {
			return -EACCES;
		}
		return open_rendered(fs, &w, fi);
	case K_EVENTS:
		if (acc != O_RDONLY || creating) {
			return -EACCES;
		}
		h = fh_new(FH_FD, ".events");
		if (!h) {
			return -ENOMEM;
		}
		/* The engine creates it with its first event; make it now so
		 * `tail -F` has a file from the start. */
		h->fd = open(w.real, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (h->fd < 0) {
			int e = errno;

			fh_free(fs, h);
			return -e;
		}
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		return 0;
	case K_PASS:
		h = fh_new(FH_FD, "");
		if (!h) {
			return -ENOMEM;
		}
		h->fd = creating ? open(w.real, fi->flags | O_CLOEXEC, mode)
				 : open(w.real, fi->flags | O_CLOEXEC);
		if (h->fd < 0) {
			int e = errno;

			fh_free(fs, h);
			return -e;
		}
		fi->fh = (uintptr_t)h;
		/* Delivered messages never change in place (Maildir writes a
		 * new file and renames), and the kernel drops cached pages
		 * anyway when it sees size or mtime change. */
		fi->keep_cache = acc == O_RDONLY;
		return 0;
	case K_NONE:
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
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h = fh_of(fi);
	ssize_t n;

	(void)path;
	if (!h || off < 0) {
		return -EBADF;
	}
	switch (h->kind) {
	case FH_FD:
		n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	case FH_SCRATCH: {
		struct dmpfs_scratch *s;
		size_t got = 0;

		pthread_mutex_lock(&fs->out_lock);
		s = scratch_find(fs, h->name);
		if (s && (size_t)off < s->len) {
			got = s->len - (size_t)off < size ? s->len - (size_t)off
							  : size;
			memcpy(buf, s->buf + off, got);
		}
		pthread_mutex_unlock(&fs->out_lock);
		return (int)got;
	}
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
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h = fh_of(fi);
	size_t end;
	int rc = 0;

	(void)path;
	if (!h || off < 0) {
		return -EBADF;
	}
	end = (size_t)off + size;
	switch (h->kind) {
	case FH_FD: {
		ssize_t n = pwrite(h->fd, buf, size, off);

		return n < 0 ? -errno : (int)n;
	}
	case FH_BUF: return -EACCES;
	case FH_SCRATCH: {
		struct dmpfs_scratch *s;

		if (end > SCRATCH_MAX) {
			return -EFBIG;
		}
		pthread_mutex_lock(&fs->out_lock);
		s = scratch_find(fs, h->name);
		if (s) {
			size_t cap = s->len;

			/* The buffer is exactly len long; grow() needs
			 * its capacity, so track it here. */
			rc = grow(&s->buf, &cap, end > s->len ? end : s->len);
			if (rc == 0) {
				if ((size_t)off > s->len) {
					memset(s->buf + s->len, 0,
					       (size_t)off - s->len);
				}
				memcpy(s->buf + off, buf, size);
				if (end > s->len) {
					s->len = end;
				}
				s->mtime = (int64_t)time(NULL);
			}
		}
		pthread_mutex_unlock(&fs->out_lock);
		return rc < 0 ? rc : (int)size;
	}
	case FH_OUT:
	case FH_CONTACT:
		if (end > (h->kind == FH_OUT ? DMP_ENGINE_MAX_BODY
					     : CONTACT_WRITE_MAX)) {
			return -EFBIG;
		}
		pthread_mutex_lock(&fs->out_lock);
		rc = grow(&h->buf, &h->cap, end + 1);
		if (rc == 0) {
			memcpy(h->buf + off, buf, size);
			if (end > h->len) {
				h->len = end;
			}
			h->mtime = (int64_t)time(NULL);
		}
		pthread_mutex_unlock(&fs->out_lock);
		return rc < 0 ? rc : (int)size;
	}
	return -EBADF;
}

/* Take what has been written so far (the handle starts over empty). */
static char *take(struct dmpfs *fs, struct dmpfs_fh *h, size_t *len,
		  size_t *cap)
{
	char *b;

	pthread_mutex_lock(&fs->out_lock);
	b = h->buf;
	*len = h->len;
	*cap = h->cap;
	h->buf = NULL;
	h->len = h->cap = 0;
	pthread_mutex_unlock(&fs->out_lock);
	return b;
}

/* Send (or pin) what has been written so far. */
static int finish(struct dmpfs *fs, struct dmpfs_fh *h)
{
	char *b;
	size_t len, cap;
	int rc;

	b = take(fs, h, &len, &cap);
	if (!b || len == 0) {
		if (b) {
			memset(b, 0, cap);
		}
		free(b);
		return 0;
	}
	if (h->kind == FH_OUT) {
		rc = submit(fs, h->name, b, len);
	} else {
		rc = pin(fs, h->name, b, len);
	}
	memset(b, 0, cap);
	free(b);
	return rc;
}

/* close() of a descriptor: a non-empty message is queued durably before
 * this returns, and its errno is what close() returns. */
static int dmpfs_flush(const char *path, struct fuse_file_info *fi)
{
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h = fh_of(fi);

	(void)path;
	if (!h || (h->kind != FH_OUT && h->kind != FH_CONTACT)) {
		return 0;
	}
	/* A child that inherited the descriptor exits (or execs) while the
	 * writer goes on, as in `(echo a; sleep 1; echo b) > outbox/bob`:
	 * its close is not the end of the message. Only the opening process
	 * ends it here; otherwise release() does, after the last close. */
	if (fuse_get_context()->pid &&
	    tgid_of(fuse_get_context()->pid) != h->owner) {
		return 0;
	}
	return finish(fs, h);
}

static int dmpfs_release(const char *path, struct fuse_file_info *fi)
{
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h = fh_of(fi);

	(void)path;
	if (!h) {
		return 0;
	}
	/* Bytes written after the last flush (e.g. through mmap): the
	 * message still goes out; errors can only be logged here. */
	if (h->kind == FH_OUT || h->kind == FH_CONTACT) {
		(void)finish(fs, h);
	}
	fh_free(fs, h);
	return 0;
}

static int dmpfs_fsync(const char *path, int datasync,
		       struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = fh_of(fi);

	(void)path;
	if (h && h->kind == FH_FD) {
		int r = datasync ? fdatasync(h->fd) : fsync(h->fd);

		return r == 0 ? 0 : -errno;
	}
	return 0;
}

/* ---- namespace changes
 * ------------------------------------------------------------ */

static int dmpfs_unlink(const char *path)
{
	struct dmpfs *fs = ctx();
	struct where w;
	int64_t id;
	int rc;

	classify(fs, path, &w);
	switch (w.k) {
	case K_PASS:
		return w.top ? -EISDIR : (unlink(w.real) == 0 ? 0 : -errno);
	case K_OUTFILE: {
		struct dmpfs_scratch *s;

		pthread_mutex_lock(&fs->out_lock);
		s = scratch_find(fs, w.name);
		if (s) {
			scratch_remove(fs, s);
		}
		pthread_mutex_unlock(&fs->out_lock);
		return s ? 0 : -ENOENT;
	}
	case K_QFILE:
		if ((rc = parse_id(w.name, &id)) < 0) {
			return rc;
		}
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_store_outbox_cancel(dmp_engine_store(fs->fe), id);
		pthread_mutex_unlock(&fs->fe_lock);
		return rc < 0 ? -to_errno(rc) : 0;
	case K_CFILE:
		pthread_mutex_lock(&fs->fe_lock);
		rc = dmp_engine_contact_remove(fs->fe, w.name);
		pthread_mutex_unlock(&fs->fe_lock);
		return rc < 0 ? -to_errno(rc) : 0;
	case K_NONE: return -ENOENT;
	default: return -EACCES;
	}
}

/* After `mv intro/... inbox/...`: pin the sender (by the key the message
 * was signed with, so a different key for that address is refused). */
static void accept_intro(struct dmpfs *fs, const char *real)
{
	char head[8192], addr[320] = "", fp[17] = "";
	ssize_t n;
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	char *p, *end;

	if (fd < 0) {
		return;
	}
	n = read(fd, head, sizeof(head) - 1);
	close(fd);
	if (n <= 0) {
		return;
	}
	head[n] = 0;
	end = strstr(head, "\n\n");
	if (end) {
		end[1] = 0;
	}
	p = strstr(head, "\nX-DMP-Sender-Key: ");
	if (p) {
		snprintf(fp, sizeof(fp), "%.16s", p + 19);
	}
	p = strncmp(head, "From: ", 6) == 0 ? head + 6
					    : strstr(head, "\nFrom: ");
	if (p && p != head + 6) {
		p += 7;
	}
	if (p) {
		char *lt = strchr(p, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		char *nl = strchr(p, '\n');

		if (lt && gt && (!nl || gt < nl)) {
			snprintf(addr, sizeof(addr), "%.*s", (int)(gt - lt - 1),
				 lt + 1);
		}
	}
	if (!addr[0] || strlen(fp) != 16 || !strchr(addr, '@')) {
		DMP_LOG_W("%s: no sender address and key to pin", real);
		return;
	}
	dmpfs_worker_accept(fs, addr, fp);
}

static int rename_outbox(struct dmpfs *fs, const struct where *a,
			 const struct where *b)
{
	struct dmpfs_scratch *s, *t;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&fs->out_lock);
	s = scratch_find(fs, a->name);
	if (s && dmpfs_is_scratch(b->name)) {
		t = scratch_find(fs, b->name);
		if (t && t != s) {
			scratch_remove(fs, t);
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
	/* An editor saving by rename: the scratch contents become the
	 * message. */
	rc = check_contact(fs, b->name);
	if (rc == 0 && len > DMP_ENGINE_MAX_BODY) {
		rc = -EFBIG;
	}
	if (rc == 0 && len > 0) {
		rc = submit(fs, b->name, buf, len);
	}
	pthread_mutex_lock(&fs->out_lock);
	s = scratch_find(fs, a->name);
	if (rc == 0 && s) {
		scratch_remove(fs, s);
	} else if (s) {
		s->buf = buf;
		s->len = len;
		buf = NULL;
	}
	pthread_mutex_unlock(&fs->out_lock);
	free(buf);
	return rc;
}

static int dmpfs_rename(const char *from, const char *to, unsigned int flags)
{
	struct dmpfs *fs = ctx();
	struct where a, b;
	struct stat st;

	classify(fs, from, &a);
	classify(fs, to, &b);
	if (a.k == K_PASS && b.k == K_PASS) {
		if (a.top || b.top) {
			return -EACCES;
		}
		if (renameat2(AT_FDCWD, a.real, AT_FDCWD, b.real, flags) != 0) {
			return -errno;
		}
		if (a.folder == 1 && b.folder == 0 && lstat(b.real, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			accept_intro(fs, b.real);
		}
		return 0;
	}
	if (a.k == K_OUTFILE && b.k == K_OUTFILE && flags == 0) {
		return rename_outbox(fs, &a, &b);
	}
	if (a.k == K_NONE) {
		return -ENOENT;
	}
	if (a.k == K_PASS || b.k == K_PASS || b.k == K_OUTFILE) {
		return -EXDEV; /* mv falls back to copy + unlink */
	}
	return -EACCES;
}

static int dmpfs_link(const char *from, const char *to)
{
	struct where a, b;

	classify(ctx(), from, &a);
	classify(ctx(), to, &b);
	if (a.k != K_PASS || b.k != K_PASS) {
		return a.k == K_PASS || b.k == K_PASS ? -EXDEV : -EACCES;
	}
	return link(a.real, b.real) == 0 ? 0 : -errno;
}

static int dmpfs_symlink(const char *target, const char *path)
{
	struct where w;

	classify(ctx(), path, &w);
	if (w.k != K_PASS) {
		return -EACCES;
	}
	return symlink(target, w.real) == 0 ? 0 : -errno;
}

static int dmpfs_readlink(const char *path, char *buf, size_t size)
{
	struct where w;
	ssize_t n;

	classify(ctx(), path, &w);
	if (w.k != K_PASS || size == 0) {
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
	struct dmpfs_fh *h = fh_of(fi);
	struct where w;

	if (h && h->kind == FH_FD) {
		return fchmod(h->fd, mode) == 0 ? 0 : -errno;
	}
	classify(ctx(), path, &w);
	if (w.k == K_PASS) {
		return chmod(w.real, mode) == 0 ? 0 : -errno;
	}
	/* cp -p on a message or contact: nothing to keep. */
	return w.k == K_OUTFILE || w.k == K_CFILE ? 0 : -EACCES;
}

static int dmpfs_chown(const char *path, uid_t uid, gid_t gid,
		       struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = fh_of(fi);
	struct where w;

	if (h && h->kind == FH_FD) {
		return fchown(h->fd, uid, gid) == 0 ? 0 : -errno;
	}
	classify(ctx(), path, &w);
	if (w.k == K_PASS) {
		return lchown(w.real, uid, gid) == 0 ? 0 : -errno;
	}
	return w.k == K_OUTFILE || w.k == K_CFILE ? 0 : -EACCES;
}

static int dmpfs_utimens(const char *path, const struct timespec tv[2],
			 struct fuse_file_info *fi)
{
	struct dmpfs_fh *h = fh_of(fi);
	struct where w;

	if (h && h->kind == FH_FD) {
		return futimens(h->fd, tv) == 0 ? 0 : -errno;
	}
	classify(ctx(), path, &w);
	if (w.k == K_PASS) {
		return utimensat(AT_FDCWD, w.real, tv, AT_SYMLINK_NOFOLLOW) == 0
			   ? 0
			   : -errno;
	}
	return w.k == K_OUTFILE || w.k == K_CFILE ? 0 : -EACCES;
}

static int dmpfs_truncate(const char *path, off_t size,
			  struct fuse_file_info *fi)
{
	struct dmpfs *fs = ctx();
	struct dmpfs_fh *h = fh_of(fi);
	struct where w;
	int rc = 0;

	if (size < 0) {
		return -EINVAL;
	}
	if (h && h->kind == FH_FD) {
		return ftruncate(h->fd, size) == 0 ? 0 : -errno;
	}
	if (h && (h->kind == FH_OUT || h->kind == FH_CONTACT)) {
		if ((size_t)size > (h->kind == FH_OUT ? DMP_ENGINE_MAX_BODY
						      : CONTACT_WRITE_MAX)) {
			return -EFBIG;
		}
		pthread_mutex_lock(&fs->out_lock);
		rc = grow(&h->buf, &h->cap, (size_t)size + 1);
		if (rc == 0) {
			if ((size_t)size > h->len) {
				memset(h->buf + h->len, 0,
				       (size_t)size - h->len);
			}
			h->len = (size_t)size;
		}
		pthread_mutex_unlock(&fs->out_lock);
		return rc;
	}
	classify(fs, path, &w);
	switch (w.k) {
	case K_PASS: return truncate(w.real, size) == 0 ? 0 : -errno;
	case K_OUTFILE: {
		struct dmpfs_scratch *s;

		pthread_mutex_lock(&fs->out_lock);
		s = scratch_find(fs, w.name);
		if (s && (size_t)size <= s->len) {
			s->len = (size_t)size;
		} else if (s) {
			size_t cap = s->len;

			rc = grow(&s->buf, &cap, (size_t)size);
			if (rc == 0) {
				memset(s->buf + s->len, 0,
				       (size_t)size - s->len);
				s->len = (size_t)size;
			}
		}
		pthread_mutex_unlock(&fs->out_lock);
		/* A fresh message handle starts empty anyway. */
		return rc;
	}
	case K_CFILE:
		return 0; /* `echo ... > contacts/bob` on an existing one */
	case K_NONE: return -ENOENT;
	default: return -EACCES;
	}
}

static int dmpfs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return statvfs(ctx()->home, sv) == 0 ? 0 : -errno;
}

static void *dmpfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct dmpfs *fs = ctx();
	int rc;

	(void)conn;
	/* Generated files change behind the kernel's back: keep cached
	 * attributes short and never cache names that do not exist. */
	cfg->attr_timeout = 1.0;
	cfg->entry_timeout = 1.0;
	cfg->negative_timeout = 0;
	/* unlink of an open file must really unlink in the Maildir, not
	 * leave a .fuse_hidden file there. */
	cfg->hard_remove = 1;
	fs->fuse = fuse_get_context()->fuse;
	rc = dmpfs_open_engines(fs);
	if (rc < 0) {
		DMP_LOG_E("cannot open %s: %s", fs->home, dmp_strerror(rc));
		fuse_exit(fs->fuse);
		return fs;
	}
	if (fs->mirror[0]) {
		char link[DMPFS_PATH_MAX + 16];
		static const int mirrored[2] = {0, 2}; /* inbox, sent */

		(void)mkdir(fs->mirror, 0700);
		for (int i = 0; i < 2; i++) {
			struct stat st;

			snprintf(link, sizeof(link), "%s/%s", fs->mirror,
				 folders[mirrored[i]]);
			if (lstat(link, &st) == 0 && S_ISLNK(st.st_mode)) {
				unlink(link);
			}
			if (symlink(fs->maildir[mirrored[i]], link) != 0) {
				DMP_LOG_W("maildir mirror %s: %s", link,
					  strerror(errno));
			}
		}
	}
	if (dmpfs_worker_start(fs) < 0) {
		DMP_LOG_E("cannot start the engine thread");
		fuse_exit(fs->fuse);
	}
	return fs;
}

static void dmpfs_destroy(void *data)
{
	struct dmpfs *fs = data;

	(void)dmpfs_worker_stop(fs, 0);
	fs->fuse = NULL;
	dmpfs_close_engines(fs);
	while (fs->scratch) {
		scratch_remove(fs, fs->scratch);
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
