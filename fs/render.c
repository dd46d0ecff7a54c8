/*
 * fs/render.c - the generated, read-only files: queue/<id>,
 * contacts/<alias>, identity/<name>, peers/<node>, resolvers and .status. Each
 * is rendered whole from the store or the engine thread's last status when
 * it is opened (or stat'ed), as key=value lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dmpfs.h"

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/keys.h"
#include "dmp/peers.h"
#include "dmp/store.h"
#include "dmp/text.h"

static void hex(char *out, const uint8_t *b, size_t n)
{
	dmp_hex_encode(out, b, n);
}

static void iso8601(char *out, size_t cap, int64_t t)
{
	(void)dmp_time_utc(out, cap, t);
}

/* queue/<id>: a message not yet fully published (view.c renders it, for
 * `dmp queue show` too). */
static int render_queue(struct dmpfs *fs, const char *name, FILE *f,
			int64_t *mtime)
{
	int64_t id;
	int rc;

	if ((rc = dmpfs_parse_id(name, &id)) < 0) {
		return rc;
	}
	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_store_outbox_render(dmp_engine_store(fs->fe), id, f, mtime);
	pthread_mutex_unlock(&fs->fe_lock);
	return rc == DMP_ENOENT ? -ENOENT : rc < 0 ? -EIO : 0;
}

/* contacts/<alias> as it reads back (and may be written, see outbox.c). */
static int render_contact(struct dmpfs *fs, const char *name, FILE *f,
			  int64_t *mtime)
{
	struct dmp_store_contact c;
	char x[65], ed[65], fp[DMP_FINGERPRINT_CHARS + 1];
	int rc;

	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_store_contact_get(dmp_engine_store(fs->fe), name, &c);
	pthread_mutex_unlock(&fs->fe_lock);
	/* Only the alias names a file; the address lookup is for outbox/. */
	if (rc < 0 || strcmp(c.alias, name) != 0) {
		return -ENOENT;
	}
	hex(x, c.x25519_pk, 32);
	hex(ed, c.ed25519_pk, 32);
	dmp_fingerprint_hex(fp, c.ed25519_pk);
	fprintf(f, "alias=%s\naddress=%s\nfingerprint=%s\n", c.alias, c.address,
		fp);
	fprintf(f, "x25519=%s\ned25519=%s\nversions=", x, ed);
	for (int v = 0, first = 1; v < 32; v++) {
		if (c.versions & (1u << v)) {
			fprintf(f, "%s%d", first ? "" : ",", v);
			first = 0;
		}
	}
	fprintf(f, "\nblocked=%s\npinned_at=%lld\npinned_how=%s\n",
		c.blocked ? "yes" : "no", (long long)c.pinned_at, c.pinned_how);
	if (c.rotated_at) { /* the last rotation the engine followed */
		dmp_fingerprint_hex(fp, c.prev_ed25519_pk);
		fprintf(f, "rotated_from=%s\nrotated_at=%lld\n", fp,
			(long long)c.rotated_at);
	}
	if (c.revoked) {
		fprintf(f, "revoked=%s\n",
			dmp_revocation_reason_name(c.revoked));
	}
	*mtime = c.rotated_at > c.pinned_at ? c.rotated_at : c.pinned_at;
	return 0;
}

/* identity/rotation: the key this mount signs with against the store's
 * (another process may have rotated it: then nothing is signed until a
 * remount), the previous keys, the last rotation, a revocation. */
static void render_rotation(struct dmpfs *fs, const uint8_t held[32], FILE *f)
{
	struct dmp_store *st = dmp_engine_store(fs->fe);
	struct dmp_store_identity id;
	struct dmp_store_old_key old[8];
	char fp[DMP_FINGERPRINT_CHARS + 1];
	int64_t when = 0;
	int n, reason = 0, revoked, cur;

	pthread_mutex_lock(&fs->fe_lock);
	cur = dmp_store_identity_get(st, &id) == 0;
	n = dmp_store_old_keys(st, 0, old, sizeof(old) / sizeof(old[0]));
	revoked = dmp_engine_identity_revoked(fs->fe, &reason, &when);
	pthread_mutex_unlock(&fs->fe_lock);
	dmp_fingerprint_hex(fp, cur ? id.ed25519_pk : held);
	fprintf(f, "fingerprint=%s\n", fp);
	fprintf(f, "stale=%s\n",
		cur && memcmp(id.ed25519_pk, held, 32) != 0
		    ? "yes (rotated by another process: remount to unlock "
		      "the new key)"
		    : "no");
	fprintf(f, "previous=");
	for (int i = 0; i < n; i++) {
		dmp_fingerprint_hex(fp, old[i].ed25519_pk);
		fprintf(f, "%s%s", i ? " " : "", fp);
	}
	fprintf(f, "\nrotated_at=%lld\n",
		n > 0 ? (long long)old[0].rotated_at : 0LL);
	if (revoked) {
		fprintf(f, "revoked=%s %lld\n",
			dmp_revocation_reason_name(reason), (long long)when);
	} else {
		fprintf(f, "revoked=no\n");
	}
}

/* identity/<name>: one value per file. */
static int render_identity(struct dmpfs *fs, const char *name, FILE *f)
{
	struct dmp_identity_info id;
	char h[65];
	int rc;

	pthread_mutex_lock(&fs->fe_lock);
	rc = dmp_engine_identity(fs->fe, &id);
	pthread_mutex_unlock(&fs->fe_lock);
	if (rc < 0) {
		return -dmpfs_errno(rc);
	}
	if (strcmp(name, "address") == 0) {
		fprintf(f, "%s\n", id.address);
	} else if (strcmp(name, "fingerprint") == 0) {
		fprintf(f, "%s\n", id.fingerprint);
	} else if (strcmp(name, "x25519") == 0) {
		hex(h, id.x25519_pk, 32);
		fprintf(f, "%s\n", h);
	} else if (strcmp(name, "ed25519") == 0) {
		hex(h, id.ed25519_pk, 32);
		fprintf(f, "%s\n", h);
	} else if (strcmp(name, "record") == 0) {
		fprintf(f, "%s\n", id.record);
	} else if (strcmp(name, "rotation") == 0) {
		render_rotation(fs, id.ed25519_pk, f);
	} else if (strcmp(name, "prekeys") == 0) {
		fprintf(f, "%d\n", id.prekeys_left);
	} else if (strcmp(name, "published") == 0) {
		/* The Unix time first (scripts), then UTC; "0": never. */
		if (id.published > 0) {
			fprintf(f, "%lld %s\n", (long long)id.published,
				dmp_time_utc(h, sizeof(h), id.published));
		} else {
			fprintf(f, "0\n");
		}
	} else {
		return -ENOENT;
	}
	return 0;
}

/* The stored peer whose file name is @p name. @return 0 or -errno */
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
		return -dmpfs_errno(rc);
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

/* peers/<node>: a storage node discovered by the engine thread. */
static int render_peer(struct dmpfs *fs, const char *name, FILE *f,
		       int64_t *mtime)
{
	struct dmp_store_peer p;
	char key[65], fp[DMP_FINGERPRINT_CHARS + 1], seen[32], first[32],
	    ts[32], exp[32];
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = peer_find(fs, name, &p)) < 0) {
		return rc;
	}
	hex(key, p.operator_spk, 32);
	dmp_fingerprint_hex(fp, p.operator_spk);
	iso8601(seen, sizeof(seen), p.last_seen);
	iso8601(first, sizeof(first), p.first_seen);
	iso8601(ts, sizeof(ts), (int64_t)p.hb_ts);
	iso8601(exp, sizeof(exp), (int64_t)p.hb_exp);
	fprintf(f,
		"endpoint=%s\noperator_key=%s\nfingerprint=%s\n"
		"version=%s\ncapabilities=0x%04x\nclaim_provider=%s\n"
		"claim_provider_zone=%s\nlast_seen=%s\n"
		"first_seen=%s\nheartbeat_ts=%s\nexpires=%s\n"
		"health=%s\nsource=%s\nfailures=%d\nlast_error=%s\n",
		p.endpoint, key, fp, p.version, p.capabilities,
		(p.capabilities & DMP_HEARTBEAT_CAP_CLAIM_PROVIDER) ? "yes"
								    : "no",
		p.claim_provider_zone, seen, first, ts, exp,
		dmp_peer_health_name(
		    dmp_peer_health(&p, now, fs->peers.stale_after)),
		p.source, p.failures, p.last_error);
	*mtime = p.last_seen;
	return 0;
}

/* resolvers: the engine thread's last snapshot of the pool. */
static void render_resolvers(struct dmpfs *fs, FILE *f)
{
	pthread_mutex_lock(&fs->st_lock);
	for (size_t i = 0; i < fs->n_res; i++) {
		const struct dmp_resolver_stat *s = &fs->res[i];

		/* Never asked yet: not "up", just not known. */
		fprintf(f,
			"%s state=%s rtt_ms=%d queries=%lu answers=%lu "
			"failures=%lu%s%s\n",
			s->addr,
			s->queries ? dmp_resolver_state_name(s->state)
				   : "unchecked",
			s->rtt_ms, s->queries, s->answers, s->failures,
			s->zone[0] ? " direct=" : "", s->zone);
	}
	pthread_mutex_unlock(&fs->st_lock);
}

/* .status: the store's view (engine_status.c) plus the engine thread's
 * last pass. Times are Unix seconds with a *_utc twin (ISO 8601). */
static void render_status(struct dmpfs *fs, FILE *f, int64_t *mtime)
{
	struct dmp_engine_status local, s;
	char t[5][32];
	int have;

	pthread_mutex_lock(&fs->fe_lock);
	(void)dmp_engine_status(fs->fe, &local);
	pthread_mutex_unlock(&fs->fe_lock);
	pthread_mutex_lock(&fs->st_lock);
	s = fs->status;
	have = fs->have_status;
	pthread_mutex_unlock(&fs->st_lock);
	/* The thread's snapshot may be a pass old: the store's state wins
	 * once the thread has run (a rejected key, a failing queue). */
	iso8601(t[0], sizeof(t[0]), s.last_poll);
	iso8601(t[1], sizeof(t[1]), s.next_poll);
	iso8601(t[2], sizeof(t[2]), local.last_ok);
	iso8601(t[3], sizeof(t[3]), local.last_error_at);
	iso8601(t[4], sizeof(t[4]), local.resolved_at);
	fprintf(f,
		"state=%s\naddress=%s\nlast_poll=%lld\nnext_poll=%lld\n"
		"queued=%d\nerrors=%d\nlast_error=%s\nfailing=%d\n"
		"failed=%d\nlast_ok=%lld\nlast_error_at=%lld\n"
		"resolved_error=%s\nresolved_at=%lld\nunreadable=%d\n"
		"unreadable_detail=%s\nhint=%s\nlast_poll_utc=%s\n"
		"next_poll_utc=%s\nlast_ok_utc=%s\nlast_error_at_utc=%s\n"
		"resolved_at_utc=%s\npartial=%d\npartial_detail=%s\n",
		have ? dmp_engine_state_name(local.state) : "starting",
		local.address, (long long)s.last_poll, (long long)s.next_poll,
		local.queued, s.errors, local.last_error, local.failing,
		local.failed, (long long)local.last_ok,
		(long long)local.last_error_at, local.prev_error,
		(long long)local.resolved_at, local.unreadable,
		local.unreadable_detail, local.hint, t[0], t[1], t[2], t[3],
		t[4], local.partial, local.partial_detail);
	if (s.last_poll) {
		*mtime = s.last_poll;
	}
}

int dmpfs_render(struct dmpfs *fs, const struct dmpfs_where *w, char **buf,
		 size_t *len, int64_t *mtime)
{
	char *b = NULL;
	size_t l = 0;
	FILE *f;
	int rc = 0, bad;

	*buf = NULL;
	*len = 0;
	*mtime = fs->started;
	f = open_memstream(&b, &l);
	if (!f) {
		return -ENOMEM;
	}
	switch (w->k) {
	case DMPFS_K_QFILE: rc = render_queue(fs, w->name, f, mtime); break;
	case DMPFS_K_CFILE: rc = render_contact(fs, w->name, f, mtime); break;
	case DMPFS_K_IFILE: rc = render_identity(fs, w->name, f); break;
	case DMPFS_K_PFILE: rc = render_peer(fs, w->name, f, mtime); break;
	case DMPFS_K_RESOLVERS: render_resolvers(fs, f); break;
	case DMPFS_K_STATUS: render_status(fs, f, mtime); break;
	default: rc = -ENOENT;
	}
	bad = ferror(f);
	fclose(f);
	if (rc == 0 && (bad || !b)) {
		rc = -ENOMEM;
	}
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = l;
	return 0;
}
