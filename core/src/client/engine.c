/*
 * core/src/client/engine.c - the client engine (engine.h): home creation,
 * open/close (and sibling handles), the event log, status, cancel.
 * The rest of the engine is in engine_*.c (see engine_i.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/pipeline.h"
#include "dmp/record.h"
#include "dmp/text.h"
#include "engine_i.h"

#define SEAL_INFO "DMP-v1-client-store-seal-key"

const char *const dmp_eng_folders[3] = {"inbox", "intro", "sent"};

static const char *kind_name(enum dmp_event_kind k)
{
	static const char *const n[] = {
	    "QUEUED",  "PUBLISHED", "RETRY",	 "FAILED",   "RECEIVED",
	    "INTRO",   "REJECTED",  "CONTACT",	 "IDENTITY", "STATE",
	    "CLAMPED", "CLAIM",	    "CANCELLED", "PREKEYS",  "UNREADABLE",
	    "FLUSH",   "CONFIG",    "RECEIPT",	 "RELAYED",
	};
	return (size_t)k < DMP_ARRAY_LEN(n) ? n[k] : "?";
}

/*
 * Report an event to the caller and append it to events.log, one line:
 *   UNIX ISO8601 KIND peer=PEER msg=HEX code=N DETAIL
 * PEER is a dmp_log_field() (quoted when it holds a space, quote or
 * backslash); DETAIL runs to the end of the line, its control bytes
 * (newlines) replaced by spaces (docs/user-guide.md, ".events").
 */
void dmp_eng_emit(struct dmp_engine *e, enum dmp_event_kind kind,
		  const char *peer, const uint8_t *msg_id, int code,
		  const char *detail)
{
	struct dmp_event ev = {kind,   dmp_eng_now(e), peer,
			       msg_id, code,	       detail};
	char idhex[2 * DMP_MSG_ID_BYTES + 1] = "-", when[32], pf[700];
	char d[1024];
	FILE *f;
	int fd;

	if (kind == DMP_EV_RETRY || kind == DMP_EV_FAILED) {
		dmp_eng_note_error(e, code, detail);
	} else if (kind == DMP_EV_PUBLISHED) {
		dmp_eng_note_ok(e, 1);
	}
	if (msg_id) {
		dmp_hex_encode(idhex, msg_id, DMP_MSG_ID_BYTES);
	}
	snprintf(d, sizeof(d), "%s",
		 detail ? detail : (code ? dmp_strerror(code) : ""));
	for (char *c = d; *c; c++) {
		*c = (unsigned char)*c < 0x20 ? ' ' : *c;
	}
	fd = open(e->events, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		f = fdopen(fd, "a");
		if (f) {
			fprintf(f, "%lld %s %s peer=%s msg=%s code=%d %s\n",
				(long long)ev.time,
				dmp_time_utc(when, sizeof(when), ev.time),
				kind_name(kind),
				peer ? dmp_log_field(pf, sizeof(pf), peer)
				     : "-",
				idhex, code, d);
			fclose(f);
		} else {
			close(fd);
		}
	}
	if (e->on_event) {
		e->on_event(&ev, e->ud);
	}
}

/* ---- paths ----------------------------------------------------------------
 */

int dmp_engine_resolve_home(char *out, size_t cap, const char *home)
{
	const char *h = home;

	if (!h || !*h) {
		h = getenv("DMP_HOME");
	}
	if (h && *h) {
		snprintf(out, cap, "%s", h);
		return 0;
	}
	h = getenv("HOME");
	if (!h || !*h) {
		return DMP_EINVAL;
	}
	snprintf(out, cap, "%s/.dmp", h);
	return 0;
}

/* ---- keys ------------------------------------------------------------------
 */

/* The libsodium signing key of our identity; the caller wipes @p sk. */
int dmp_eng_signing_key(const struct dmp_engine *e,
			uint8_t sk[DMP_ED25519_SK_BYTES])
{
	uint8_t xsk[DMP_X25519_BYTES], pk[DMP_ED25519_PK_BYTES];
	int rc = dmp_keys_export_x25519(e->keys, xsk);

	if (rc == 0) {
		dmp_ed25519_from_x25519(pk, sk, xsk);
	}
	dmp_wipe(xsk, sizeof(xsk));
	return rc;
}

/* The store's seal key: HKDF of the identity secret, so the database alone
 * reveals no prekey secret. */
int dmp_eng_seal_key(const struct dmp_keys *k, uint8_t out[32])
{
	uint8_t xsk[DMP_X25519_BYTES];
	int rc = dmp_keys_export_x25519(k, xsk);

	if (rc == 0) {
		rc = dmp_hkdf_sha256(out, 32, xsk, sizeof(xsk), NULL, 0,
				     (const uint8_t *)SEAL_INFO,
				     strlen(SEAL_INFO));
	}
	dmp_wipe(xsk, sizeof(xsk));
	return rc;
}

/* ---- init and open ------------------------------------------------------- */

int dmp_eng_load_conf(struct client_conf *c, const char *home)
{
	char path[DMP_ENG_HOME_MAX + 16], err[512];
	int rc;

	memset(c, 0, sizeof(*c));
	rc = dmp_config_defaults(dmp_client_schema, dmp_client_schema_len, c);
	if (rc < 0) {
		return rc;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	rc = dmp_config_load(dmp_client_schema, dmp_client_schema_len, c, path,
			     err, sizeof(err));
	if (rc == DMP_ENOENT) {
		return DMP_ENOENT;
	}
	if (rc < 0) {
		DMP_LOG_E("%s", err);
		return DMP_ECONFIG;
	}
	if (!c->username[0] || !c->domain[0]) {
		DMP_LOG_E("%s: identity.username and identity.domain are "
			  "required",
			  path);
		return DMP_ECONFIG;
	}
	for (unsigned i = 0; i < c->zone_servers.n; i++) {
		const char *v = c->zone_servers.v[i], *eq = strchr(v, '=');
		char z[DMP_CFG_STR_MAX], norm[DMP_CFG_STR_MAX];

		snprintf(z, sizeof(z), "%.*s", eq ? (int)(eq - v) : 0, v);
		if (!eq || !eq[1] ||
		    dmp_dnsname_normalize_max(norm, sizeof(norm), z, strlen(z),
					      253) < 0) {
			DMP_LOG_E("%s: network.zone_servers: \"%s\" is not "
				  "ZONE=IP[:PORT]",
				  path, v);
			return DMP_ECONFIG;
		}
	}
	for (unsigned i = 0; i < c->relays.n; i++) {
		const char *bad = dmp_eng_relay_url_bad(c->relays.v[i]);

		if (bad[0]) {
			DMP_LOG_E("%s: network.relays: \"%s\" %s", path,
				  c->relays.v[i], bad);
			return DMP_ECONFIG;
		}
	}
	if (dmp_eng_zone_key_check(c, path) < 0) {
		return DMP_ECONFIG;
	}
	if (dmp_eng_privacy_check(c, path, NULL, 0) < 0) {
		return DMP_ECONFIG;
	}
	if (c->confirm_resolvers > 1 &&
	    c->resolvers.n < (unsigned)c->confirm_resolvers) {
		DMP_LOG_E("%s: network.confirm_resolvers is %lld but only %u "
			  "resolvers are configured",
			  path, c->confirm_resolvers, c->resolvers.n);
		return DMP_ECONFIG;
	}
	return 0;
}

/* The server network.zone_servers names for @p zone, else NULL. */
const char *dmp_eng_zone_server(const struct client_conf *c, const char *zone)
{
	for (unsigned i = 0; i < c->zone_servers.n; i++) {
		const char *v = c->zone_servers.v[i], *eq = strchr(v, '=');

		if (eq &&
		    dmp_name_equal(v, (size_t)(eq - v), zone, strlen(zone))) {
			return eq + 1;
		}
	}
	return NULL;
}

int dmp_engine_init_home(const char *home, const struct dmp_engine_init *in,
			 const char *passphrase)
{
	char h[DMP_ENG_HOME_MAX], path[DMP_ENG_HOME_MAX + 16];
	struct client_conf c;
	struct dmp_store *st = NULL;
	struct dmp_keys *k = NULL;
	struct dmp_store_identity id;
	char zone[DMP_NAME_MAX];
	int rc;

	rc = dmp_eng_init_start(home, in, passphrase, h, sizeof(h));
	if (rc < 0) {
		return rc;
	}
	if (strlen(in->username) == 0 ||
	    strlen(in->username) > DMP_IDENTITY_USERNAME_MAX ||
	    dmp_name_identity(zone, sizeof(zone), in->username,
			      strlen(in->username), in->domain) < 0) {
		DMP_LOG_E("init: invalid username or domain");
		return DMP_EINVAL;
	}
	rc = dmp_eng_conf_from_init(&c, in);
	if (rc < 0) {
		return rc;
	}
	if ((rc = dmp_eng_mkdir(h)) < 0) {
		return rc;
	}
	snprintf(path, sizeof(path), "%s/state.db", h);
	rc = dmp_store_open(&st, path);
	if (rc < 0) {
		return rc == DMP_ENOMEM ? rc : DMP_ESTORE;
	}
	rc = dmp_store_identity_get(st, &id);
	if (rc == 0) {
		DMP_LOG_E("init: %s already holds an identity", h);
		rc = DMP_EEXIST;
		goto out;
	}
	if (rc != DMP_ENOENT) {
		goto out;
	}
	memset(&id, 0, sizeof(id));
	if (in->salt) {
		if (in->salt_len < DMP_KDF_SALT_MIN ||
		    in->salt_len > sizeof(id.salt)) {
			rc = DMP_EINVAL;
			goto out;
		}
		memcpy(id.salt, in->salt, in->salt_len);
		id.salt_len = in->salt_len;
	} else {
		dmp_kdf_salt_random(id.salt);
		id.salt_len = DMP_KDF_SALT_BYTES;
	}
	rc = dmp_keys_derive(&k, passphrase, strlen(passphrase), id.salt,
			     id.salt_len);
	if (rc < 0) {
		goto out;
	}
	snprintf(id.username, sizeof(id.username), "%s", in->username);
	snprintf(id.domain, sizeof(id.domain), "%s", in->domain);
	/* The x25519_pk column holds the passphrase check value (store.h). */
	rc = dmp_keys_check_value(k, id.x25519_pk);
	if (rc < 0) {
		goto out;
	}
	memcpy(id.ed25519_pk, dmp_keys_ed25519_pk(k), 32);
	id.created = (int64_t)time(NULL);
	if ((rc = dmp_eng_make_maildirs(h)) < 0) {
		goto out;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", h);
	if ((rc = dmp_client_conf_write(&c, path)) < 0) {
		goto out;
	}
	rc = dmp_store_identity_put(st, &id);
out:
	dmp_keys_free(k);
	dmp_store_close(st);
	return rc;
}

/* Once e->keys and e->st are set: the store's seal key and the TSIG key
 * from the config. */
static int engine_keyed(struct dmp_engine *e)
{
	uint8_t sk[32];
	int rc = dmp_eng_seal_key(e->keys, sk);

	if (rc == 0) {
		rc = dmp_store_set_seal_key(e->st, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	if (rc == 0 && e->conf.tsig[0] &&
	    dmp_tsig_key_parse(&e->tsig, e->conf.tsig) < 0) {
		DMP_LOG_E("config: network.tsig is not a valid key");
		rc = DMP_ECONFIG;
	}
	return rc;
}

int dmp_engine_open(struct dmp_engine **out, const struct dmp_engine_opts *o)
{
	struct dmp_engine *e;
	struct dmp_store_identity id;
	char path[DMP_ENG_HOME_MAX + 16];
	struct stat sb;
	int rc;

	*out = NULL;
	rc = dmp_init();
	if (rc < 0) {
		return rc;
	}
	e = dmp_calloc(1, sizeof(*e));
	if (!e) {
		return DMP_ENOMEM;
	}
	if (dmp_engine_resolve_home(e->home, sizeof(e->home),
				    o ? o->home : NULL) < 0) {
		rc = DMP_EINVAL;
		goto fail;
	}
	if (o) {
		e->on_event = o->on_event;
		e->ud = o->ud;
		e->clock = o->clock;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(e->dirs[i], sizeof(e->dirs[i]), "%s/mail/%s", e->home,
			 dmp_eng_folders[i]);
	}
	snprintf(e->events, sizeof(e->events), "%s/events.log", e->home);
	snprintf(path, sizeof(path), "%s/state.db", e->home);
	if (stat(path, &sb) != 0) {
		rc = DMP_ENOENT;
		goto fail;
	}
	rc = dmp_eng_load_conf(&e->conf, e->home);
	if (rc < 0) {
		goto fail;
	}
	rc = dmp_store_open(&e->st, path);
	if (rc < 0) {
		goto fail;
	}
	rc = dmp_store_identity_get(e->st, &id);
	if (rc < 0) {
		goto fail;
	}
	if (!o || !o->passphrase) {
		rc = DMP_EPASSPHRASE;
		goto fail;
	}
	rc = dmp_keys_derive_checked(&e->keys, o->passphrase,
				     strlen(o->passphrase), id.salt,
				     id.salt_len, id.x25519_pk);
	if (rc < 0) {
		goto fail;
	}
	rc = engine_keyed(e);
	if (rc < 0) {
		goto fail;
	}
	snprintf(e->address, sizeof(e->address), "%s@%s", e->conf.username,
		 e->conf.domain);
	(void)dmp_eng_make_maildirs(e->home);
	dmp_eng_sent_settle(e, 1); /* sent/ copies a crash may have lost */
	dmp_eng_set_transport(e, NULL);
	dmp_eng_state_load(e);
	(void)dmp_eng_rotation_auto(e, o->passphrase);
	*out = e;
	return 0;
fail:
	dmp_engine_close(e);
	return rc;
}

void dmp_engine_close(struct dmp_engine *e)
{
	if (!e) {
		return;
	}
	dmp_resolver_free(e->res);
	for (int i = 0; i < DMP_ENG_NODES_MAX; i++) {
		dmp_resolver_free(e->node_res[i]);
	}
	dmp_codec_free(e->codec);
	dmp_tsig_key_free(e->tsig);
	dmp_keys_free(e->keys);
	if (e->st && e->address[0]) {
		dmp_eng_sent_settle(e, 0); /* this session's sent/ copies */
	}
	dmp_store_close(e->st);
	dmp_wipe(&e->conf, sizeof(e->conf));
	dmp_free(e);
}

const char *dmp_engine_home(const struct dmp_engine *e)
{
	return e->home;
}

const char *dmp_engine_maildir(const struct dmp_engine *e, const char *folder)
{
	for (int i = 0; i < 3; i++) {
		if (folder && strcmp(folder, dmp_eng_folders[i]) == 0) {
			return e->dirs[i];
		}
	}
	return NULL;
}

struct dmp_store *dmp_engine_store(struct dmp_engine *e)
{
	return e->st;
}

int dmp_engine_open_sibling(struct dmp_engine **out, const struct dmp_engine *e,
			    dmp_event_fn on_event, void *ud)
{
	struct dmp_engine *s;
	char path[DMP_ENG_HOME_MAX + 16];
	uint8_t xsk[DMP_X25519_BYTES];
	int rc;

	if (!out || !e) {
		return DMP_EINVAL;
	}
	*out = NULL;
	s = dmp_calloc(1, sizeof(*s));
	if (!s) {
		return DMP_ENOMEM;
	}
	memcpy(s->home, e->home, sizeof(s->home));
	memcpy(s->dirs, e->dirs, sizeof(s->dirs));
	memcpy(s->events, e->events, sizeof(s->events));
	memcpy(s->address, e->address, sizeof(s->address));
	s->conf = e->conf;
	s->tp = e->tp;
	s->clock = e->clock;
	s->on_event = on_event;
	s->ud = ud;
	snprintf(path, sizeof(path), "%s/state.db", s->home);
	rc = dmp_store_open(&s->st, path);
	if (rc < 0) {
		goto fail;
	}
	/* Our own copy of the keys (locked memory): no Argon2id run, and
	 * no lifetime tie between the handles. */
	rc = dmp_keys_export_x25519(e->keys, xsk);
	if (rc == 0) {
		rc = dmp_keys_from_x25519(&s->keys, xsk);
	}
	dmp_wipe(xsk, sizeof(xsk));
	if (rc == 0) {
		rc = engine_keyed(s);
	}
	if (rc < 0) {
		goto fail;
	}
	dmp_eng_state_load(s);
	*out = s;
	return 0;
fail:
	dmp_engine_close(s);
	return rc;
}

/* An engine whose store is closed: only its home, config and keys are
 * used (by dmp_engine_open_sibling), so it holds no file descriptor that
 * could be shared with a forked child. Private, so no other engine call
 * can reach it without a store. */
struct dmp_engine_unlocked {
	struct dmp_engine *e;
};

int dmp_engine_unlock(struct dmp_engine_unlocked **out,
		      const struct dmp_engine_opts *o)
{
	struct dmp_engine_unlocked *u;
	int rc;

	if (!out) {
		return DMP_EINVAL;
	}
	*out = NULL;
	u = dmp_calloc(1, sizeof(*u));
	if (!u) {
		return DMP_ENOMEM;
	}
	rc = dmp_engine_open(&u->e, o);
	if (rc < 0) {
		dmp_free(u);
		return rc;
	}
	/* Nothing but the store is open right after dmp_engine_open():
	 * resolvers and the codec are created on first use. */
	dmp_store_close(u->e->st);
	u->e->st = NULL;
	*out = u;
	return 0;
}

int dmp_engine_open_unlocked(struct dmp_engine **out,
			     const struct dmp_engine_unlocked *u,
			     dmp_event_fn on_event, void *ud)
{
	if (!out) {
		return DMP_EINVAL;
	}
	*out = NULL;
	if (!u) {
		return DMP_EINVAL;
	}
	return dmp_engine_open_sibling(out, u->e, on_event, ud);
}

const char *dmp_engine_unlocked_home(const struct dmp_engine_unlocked *u)
{
	return u->e->home;
}

void dmp_engine_unlocked_free(struct dmp_engine_unlocked *u)
{
	if (!u) {
		return;
	}
	dmp_engine_close(u->e);
	dmp_free(u);
}

int dmp_eng_conf_save(struct dmp_engine *e)
{
	char path[DMP_ENG_HOME_MAX + 16];

	snprintf(path, sizeof(path), "%s/config.yaml", e->home);
	return dmp_client_conf_write(&e->conf, path);
}

struct find_queued {
	const uint8_t *msg_id;
	int64_t qid;
	char peer[320];
};

static int find_queued(const struct dmp_outbox_msg *m, void *ud)
{
	struct find_queued *f = ud;

	if (memcmp(m->msg_id, f->msg_id, DMP_MSG_ID_BYTES) != 0) {
		return 0;
	}
	f->qid = m->id;
	snprintf(f->peer, sizeof(f->peer), "%s", m->recipient);
	return 1;
}

int dmp_engine_cancel(struct dmp_engine *e, const uint8_t msg_id[16])
{
	struct find_queued f = {msg_id, 0, ""};
	int rc;

	if (!e || !msg_id) {
		return DMP_EINVAL;
	}
	rc = dmp_store_outbox_each_pending(e->st, find_queued, &f);
	if (rc < 0) {
		return rc;
	}
	if (f.qid == 0) {
		return DMP_ENOENT;
	}
	rc = dmp_store_outbox_cancel(e->st, f.qid);
	if (rc == 0) {
		dmp_eng_emit(e, DMP_EV_CANCELLED, f.peer, msg_id, 0,
			     "cancelled before it was published");
	}
	return rc;
}

int dmp_eng_codec(struct dmp_engine *e, struct dmp_codec **c)
{
	int rc = 0;

	if (!e->codec) {
		rc = dmp_codec_new(&e->codec);
	}
	*c = e->codec;
	return rc;
}
