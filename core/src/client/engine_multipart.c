/*
 * core/src/client/engine_multipart.c - multi-part messages in the engine
 * (PROTOCOL.md 7.9, multipart.h).
 *
 * Sending: a body over DMP_ENGINE_MAX_BODY, up to messages.max_file, to a
 * contact listed in messages.multipart is split into parts, each queued
 * as an ordinary outbox entry (so each part is retried, survives a
 * restart and kill -9 like any message). If queueing a part fails, the
 * parts already queued are withdrawn: a whole is queued entirely or not.
 *
 * Receiving: a part from a pinned contact is held in a private directory,
 * HOME/parts/<sender key 16 hex>-<whole id>/ (mode 0700, one Maildir-like
 * tmp/ and new/ pair, each part written tmp -> fsync -> rename as
 * new/<index>, so a part is held before its replay entry is finalised),
 * with the latest part expiry in new/exp. When every part is held the
 * whole is joined, checked (length, SHA-256) and delivered as one message
 * whose id is the whole's; the directory is then removed. A directory
 * whose expiry passed is removed by the sweep with a REJECTED event.
 *
 * Draining: once a part is held (fsync'd in parts/), its manifest is
 * deleted from our mailbox nodes (dmp_eng_mp_drain), so the slot has room
 * for the sender's next window (engine_mp_pace.c); its chunks stay until
 * they expire (a chunk name is not ours to delete).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/manifest.h"
#include "dmp/multipart.h"
#include "dmp/names.h"
#include "dmp/record.h"
#include "dmp/update.h"
#include "engine_i.h"

#define MP_DIR_MAX (DMP_ENG_HOME_MAX + 96)

/* Does the contact @p c join DMP-PART/1 (messages.multipart)? */
static int understands(const struct dmp_engine *e,
		       const struct dmp_store_contact *c)
{
	for (unsigned i = 0; i < e->conf.multipart.n; i++) {
		const char *v = e->conf.multipart.v[i];

		if (strcmp(v, "*") == 0 || strcmp(v, c->alias) == 0 ||
		    strcmp(v, c->address) == 0) {
			return 1;
		}
	}
	return 0;
}

size_t dmp_engine_max_message(struct dmp_engine *e, const char *contact)
{
	struct dmp_store_contact c;

	if (e->conf.max_file <= DMP_ENGINE_MAX_BODY ||
	    dmp_store_contact_get(e->st, contact, &c) < 0 ||
	    !understands(e, &c)) {
		return DMP_ENGINE_MAX_BODY;
	}
	return (size_t)e->conf.max_file;
}

int dmp_eng_mp_check(struct dmp_engine *e, const char *contact, size_t len)
{
	struct dmp_store_contact c;
	int rc;

	if (e->conf.max_file == 0 ||
	    len > (unsigned long long)e->conf.max_file) {
		return DMP_EFBIG;
	}
	rc = dmp_store_contact_get(e->st, contact, &c);
	if (rc < 0) {
		return rc;
	}
	return understands(e, &c) ? 0 : DMP_EUNSUPPORTED;
}

/* A random version-4 UUID (as the pipeline makes) whose slot
 * (dmp_slot_of) is @p slot: the parts of a whole go round the ten slots,
 * so each slot holds a tenth of them (a node holds at most name_bytes,
 * 64,927 by default, about 31 part manifests, at one slot name). */
static void id_for_slot(uint8_t id[16], uint32_t slot)
{
	do {
		randombytes_buf(id, 16);
		id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
		id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	} while (dmp_slot_of(id) != slot);
}

int dmp_eng_mp_submit(struct dmp_engine *e, const char *contact,
		      const uint8_t *body, size_t len, uint32_t lifetime,
		      int64_t *queue_id)
{
	struct dmp_mp_parts p;
	uint8_t id[16];
	int64_t *q = NULL, now = dmp_eng_now(e);
	int64_t hold_until =
	    now + (lifetime ? lifetime : (int64_t)e->conf.lifetime);
	size_t done = 0;
	int rc = dmp_eng_mp_check(e, contact, len);

	if (rc < 0) {
		return rc;
	}
	randombytes_buf(id, sizeof(id));
	rc = dmp_mp_split(body, len, id, DMP_ENGINE_MAX_BODY, 1, &p);
	if (rc < 0) {
		return rc;
	}
	q = dmp_calloc(p.n, sizeof(*q));
	if (!q) {
		rc = DMP_ENOMEM;
		goto out;
	}
	for (uint32_t slot0 = randombytes_uniform(DMP_SLOT_COUNT); done < p.n;
	     done++) {
		uint8_t mid[16];

		id_for_slot(mid, (slot0 + (uint32_t)done) % DMP_SLOT_COUNT);
		rc = dmp_eng_submit_body(e, contact, p.body[done], p.len[done],
					 lifetime, mid, &q[done]);
		if (rc < 0) {
			break;
		}
		/* Held until every part is queued (a crash meanwhile leaves
		 * held parts that fail at their expiry, never part of a
		 * whole on the wire). */
		rc = dmp_store_outbox_hold_one(e->st, q[done], hold_until);
		if (rc < 0) {
			done++;
			break;
		}
	}
	for (size_t i = 0; rc == 0 && i < p.n; i++) {
		rc = dmp_store_outbox_release(e->st, q[i], now);
		if (rc == DMP_EBUSY) {
			rc = 0; /* taken by the publisher: it goes anyway */
		}
	}
	if (rc < 0) {
		/* All or nothing: take back the parts still held (one
		 * withdraw takes every held part of the whole). */
		for (size_t i = 0; i < done; i++) {
			if (dmp_store_outbox_withdraw(e->st, q[i]) == 0) {
				break;
			}
		}
	} else {
		char d[160];
		char idhex[33];

		dmp_hex_encode(idhex, id, sizeof(id));
		snprintf(d, sizeof(d),
			 "multi-part %s: %zu bytes in %zu parts%s", idhex, len,
			 p.n, p.enc == DMP_MP_DEFLATE ? " (compressed)" : "");
		dmp_eng_emit(e, DMP_EV_QUEUED, contact, id, 0, d);
		if (queue_id) {
			*queue_id = q[0];
		}
	}
out:
	dmp_free(q);
	dmp_mp_parts_free(&p);
	return rc;
}

static void whole_dir(const struct dmp_engine *e, const uint8_t spk[32],
		      const uint8_t id[16], char *out, size_t cap)
{
	char s[33], i[33];

	dmp_hex_encode(s, spk, 8);
	dmp_hex_encode(i, id, 16);
	snprintf(out, cap, "%s/parts/%s-%s", e->home, s, i);
}

/* Read the whole file @p path (dmp_malloc'd). */
static int slurp(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = DMP_EIO;

	*out = NULL;
	*len = 0;
	if (fd < 0) {
		return errno == ENOENT ? DMP_ENOENT : DMP_EIO;
	}
	if (fstat(fd, &st) != 0 || st.st_size < 0 ||
	    st.st_size > DMP_ENGINE_MAX_BODY) {
		goto out;
	}
	b = dmp_malloc((size_t)st.st_size + 1);
	if (!b) {
		rc = DMP_ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, b + off, (size_t)st.st_size - off);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			goto out;
		}
		off += (size_t)r;
	}
	*out = b;
	*len = off;
	b = NULL;
	rc = 0;
out:
	dmp_free(b);
	close(fd);
	return rc;
}

/* How many parts @p dir holds (files new/<index>). */
static int held_count(const char *dir)
{
	char p[MP_DIR_MAX + 8];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(p, sizeof(p), "%s/new", dir);
	d = opendir(p);
	if (!d) {
		return DMP_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
	}
	closedir(d);
	return n;
}

/* Read the @p count parts held in @p dir. */
static int held_read(const char *dir, uint32_t count, uint8_t **bodies,
		     size_t *lens)
{
	char p[MP_DIR_MAX + 32];

	for (uint32_t i = 1; i <= count; i++) {
		snprintf(p, sizeof(p), "%s/new/%" PRIu32, dir, i);
		if (slurp(p, &bodies[i - 1], &lens[i - 1]) < 0) {
			return DMP_EIO;
		}
	}
	return 0;
}

/* Keep the latest expiry of the parts held in new/exp. */
static int note_exp(const char *dir, uint64_t exp)
{
	char p[MP_DIR_MAX + 16], v[32];
	uint8_t *old = NULL;
	size_t ol = 0;

	snprintf(p, sizeof(p), "%s/new/exp", dir);
	if (slurp(p, &old, &ol) == 0) {
		char s[32];
		unsigned long long o;

		snprintf(s, sizeof(s), "%.*s", (int)(ol < 31 ? ol : 31),
			 (const char *)old);
		o = strtoull(s, NULL, 10);
		dmp_free(old);
		if (o >= exp) {
			return 0;
		}
	}
	snprintf(v, sizeof(v), "%" PRIu64 "\n", exp);
	return dmp_eng_maildir_write(dir, "exp", v, strlen(v), NULL, 0);
}

int dmp_eng_mp_hold(struct dmp_engine *e, const struct dmp_manifest *m,
		    const uint8_t *body, size_t len, uint8_t whole_id[16],
		    uint8_t **file, size_t *flen)
{
	struct dmp_mp_header h;
	char dir[MP_DIR_MAX], sub[MP_DIR_MAX + 8], name[16];
	uint8_t **bodies = NULL;
	size_t *lens = NULL, off;
	int rc = dmp_mp_header_parse(body, len, &h, &off);

	*file = NULL;
	*flen = 0;
	if (rc != 1) {
		return 0; /* not a part (or not one we join): a message */
	}
	memcpy(whole_id, h.id, 16);
	whole_dir(e, m->sender_spk, h.id, dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/parts", e->home);
	if ((rc = dmp_eng_mkdir(sub)) < 0 || (rc = dmp_eng_mkdir(dir)) < 0) {
		return rc;
	}
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	if ((rc = dmp_eng_mkdir(sub)) < 0) {
		return rc;
	}
	snprintf(sub, sizeof(sub), "%s/new", dir);
	if ((rc = dmp_eng_mkdir(sub)) < 0) {
		return rc;
	}
	snprintf(name, sizeof(name), "%" PRIu32, h.index);
	rc = note_exp(dir, m->exp);
	if (rc == 0) {
		rc = dmp_eng_maildir_write(dir, name, body, len, NULL, 0);
	}
	if (rc < 0) {
		return rc;
	}
	rc = held_count(dir);
	if (rc < (int)h.count) {
		return rc < 0 ? rc : 1;
	}
	bodies = dmp_calloc(h.count, sizeof(*bodies));
	lens = dmp_calloc(h.count, sizeof(*lens));
	if (!bodies || !lens) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = held_read(dir, h.count, bodies, lens);
	if (rc >= 0) {
		rc = dmp_mp_join((const uint8_t *const *)bodies, lens, h.count,
				 file, flen);
	}
	if (rc == 0) {
		rc = 2;
	} else {
		/* Held parts that do not join (a sender's bug): the whole is
		 * dropped now rather than waiting for its expiry. */
		DMP_LOG_W("multi-part %s: parts do not join: %s", dir,
			  dmp_strerror(rc));
		dmp_eng_mp_done(e, m->sender_spk, h.id);
	}
out:
	for (uint32_t i = 0; bodies && i < h.count; i++) {
		dmp_free(bodies[i]);
	}
	dmp_free(bodies);
	dmp_free(lens);
	return rc;
}

/* Remove a whole's directory (its files, tmp/, new/). */
static void rm_whole(const char *dir)
{
	static const char *const sub[2] = {"tmp", "new"};
	char p[MP_DIR_MAX + 300];

	for (int i = 0; i < 2; i++) {
		DIR *d;
		struct dirent *de;

		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		d = opendir(p);
		while (d && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.') {
				continue;
			}
			snprintf(p, sizeof(p), "%s/%s/%s", dir, sub[i],
				 de->d_name);
			(void)unlink(p);
		}
		if (d) {
			closedir(d);
		}
		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		(void)rmdir(p);
	}
	(void)rmdir(dir);
}

void dmp_eng_mp_done(struct dmp_engine *e, const uint8_t spk[32],
		     const uint8_t whole_id[16])
{
	char dir[MP_DIR_MAX];

	whole_dir(e, spk, whole_id, dir, sizeof(dir));
	rm_whole(dir);
}

int dmp_eng_mp_sweep(struct dmp_engine *e, int64_t now, int *partial)
{
	char p[DMP_ENG_HOME_MAX + 16], dir[MP_DIR_MAX + 300];
	DIR *d;
	struct dirent *de;
	int n = 0;

	*partial = 0;
	snprintf(p, sizeof(p), "%s/parts", e->home);
	d = opendir(p);
	if (!d) {
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		uint8_t *v = NULL;
		size_t vl = 0;
		char s[32], ep[MP_DIR_MAX + 320];
		unsigned long long exp = 0;

		if (de->d_name[0] == '.') {
			continue;
		}
		snprintf(dir, sizeof(dir), "%s/%s", p, de->d_name);
		snprintf(ep, sizeof(ep), "%s/new/exp", dir);
		if (slurp(ep, &v, &vl) == 0) {
			snprintf(s, sizeof(s), "%.*s", (int)(vl < 31 ? vl : 31),
				 (const char *)v);
			exp = strtoull(s, NULL, 10);
			dmp_free(v);
		}
		if (exp != 0 && (uint64_t)now <= exp) {
			(*partial)++;
			continue;
		}
		{
			char det[MP_DIR_MAX + 400];

			snprintf(det, sizeof(det),
				 "incomplete multi-part message %s expired "
				 "before all its parts arrived; removed",
				 de->d_name);
			dmp_eng_emit(e, DMP_EV_REJECTED, NULL, NULL,
				     DMP_EEXPIRED, det);
		}
		rm_whole(dir);
		n++;
	}
	closedir(d);
	return n;
}

/* The part count of the whole in @p dir, from any part held. */
static uint32_t whole_count(const char *dir)
{
	char p[MP_DIR_MAX + 300]; /* dir is at most MP_DIR_MAX */
	DIR *d;
	struct dirent *de;
	uint32_t n = 0;

	snprintf(p, sizeof(p), "%.*s/new", MP_DIR_MAX, dir);
	d = opendir(p);
	while (d && n == 0 && (de = readdir(d)) != NULL) {
		struct dmp_mp_header h;
		uint8_t *b = NULL;
		size_t bl = 0, off;

		if (de->d_name[0] < '1' || de->d_name[0] > '9') {
			continue;
		}
		snprintf(p, sizeof(p), "%.*s/new/%.60s", MP_DIR_MAX, dir,
			 de->d_name);
		if (slurp(p, &b, &bl) == 0 &&
		    dmp_mp_header_parse(b, bl, &h, &off) == 1) {
			n = h.count;
		}
		dmp_free(b);
	}
	if (d) {
		closedir(d);
	}
	return n;
}

int dmp_eng_mp_progress(struct dmp_engine *e, char *out, size_t cap)
{
	char p[DMP_ENG_HOME_MAX + 16], dir[MP_DIR_MAX];
	DIR *d;
	struct dirent *de;
	size_t used = 0;
	int n = 0;

	out[0] = '\0';
	snprintf(p, sizeof(p), "%s/parts", e->home);
	d = opendir(p);
	if (!d) {
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		const char *id = strchr(de->d_name, '-');
		int k;

		if (de->d_name[0] == '.' || !id) {
			continue;
		}
		snprintf(dir, sizeof(dir), "%s/%.60s", p, de->d_name);
		n++;
		k = snprintf(out + used, cap - used, "%s%.8s %d/%" PRIu32,
			     used ? " " : "", id + 1, held_count(dir),
			     whole_count(dir));
		if (k > 0 && (size_t)k < cap - used) {
			used += (size_t)k;
		} else {
			out[used] = '\0'; /* no room: the count still says */
		}
	}
	closedir(d);
	return n;
}

void dmp_eng_mp_drain(struct dmp_engine *e, const char *zone, const char *name,
		      const char *value, size_t vlen)
{
	struct dmp_eng_writer *w = NULL;
	struct dmp_update_rr op = {DMP_UPDATE_DELETE_VALUE, name, 0, value,
				   vlen};
	int rc;

	/* Our key writes only our own zone's nodes. */
	if (!dmp_name_equal(zone, strlen(zone), e->conf.domain,
			    strlen(e->conf.domain)) ||
	    dmp_eng_writer_open(e, 1, &w) < 0) {
		return;
	}
	rc = dmp_eng_writer_send_to(
	    e, w, &op, 1, dmp_eng_mailbox_nodes(e, dmp_keys_user_id(e->keys)));
	if (rc < 0) {
		/* Best effort: it expires anyway; only the sender's next
		 * window waits longer. */
		DMP_LOG_D("multi-part: manifest at %s not deleted: %s", name,
			  dmp_strerror(rc));
	}
	dmp_eng_writer_close(e, w);
}

int dmp_eng_mp_outbox_file(struct dmp_engine *e, const char *whole,
			   int64_t *first, uint8_t **file, size_t *flen)
{
	int64_t *ids = NULL;
	uint8_t **bodies = NULL;
	size_t *lens = NULL, n = 0, pub = 0;
	int rc = dmp_store_outbox_file_ids(e->st, whole, &ids, &n, &pub);

	*file = NULL;
	*flen = 0;
	if (rc < 0 || n == 0 || pub < n) {
		dmp_free(ids);
		return rc < 0 ? rc : 0;
	}
	bodies = dmp_calloc(n, sizeof(*bodies));
	lens = dmp_calloc(n, sizeof(*lens));
	if (!bodies || !lens) {
		rc = DMP_ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = dmp_store_outbox_body(e->st, ids[i], &bodies[i], &lens[i]);
	}
	if (rc == 0) {
		rc = dmp_mp_join((const uint8_t *const *)bodies, lens, n, file,
				 flen);
	}
	if (rc == 0) {
		*first = ids[0];
		rc = 1;
	}
	for (size_t i = 0; bodies && i < n; i++) {
		dmp_free(bodies[i]);
	}
	dmp_free(bodies);
	dmp_free(lens);
	dmp_free(ids);
	return rc;
}
