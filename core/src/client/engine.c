/*
 * core/src/client/engine.c - the client engine (engine.h): home, identity,
 * contacts, the durable outbox and its publisher, the receive pass.
 *
 * Network use: writes go to the first configured node as RFC 2136 UPDATEs
 * with TSIG (PROTOCOL.md 7.1) over one connection per pass; reads go
 * through the resolver pool (7.7), with our own zone read straight from
 * the configured nodes (RD=0) unless network.direct is off.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client_config.h"
#include "dmp/b64.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/dnsname.h"
#include "dmp/engine.h"
#include "dmp/envelope.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/manifest.h"
#include "dmp/names.h"
#include "dmp/peers.h"
#include "dmp/pipeline.h"
#include "dmp/prekey.h"
#include "dmp/record.h"
#include "dmp/resolver.h"
#include "dmp/store.h"
#include "dmp/update.h"

#include <curl/curl.h>
#include <jansson.h>

#define HOME_PATH_MAX 3072
#define BATCH_TIMEOUT_MS 10000
/* Chunk records per UPDATE when publishing: one UPDATE (over TCP) per
 * message of up to ~40 records instead of one per record. */
#define PUBLISH_BATCH_OPS 48
#define PUBLISH_BATCH_BYTES 16000
#define SEAL_INFO "DMP-v1-client-store-seal-key"
/* A prekey must outlive the message's flight by this much to be chosen. */
#define PREKEY_MARGIN 600
#define RETRY_BASE 15
#define RETRY_MAX 3600
#define REJECT_KEEP 86400	 /* how long a judged bad value stays judged */
#define IDENTITY_REPUBLISH 43200 /* half the identity record's TTL */

struct dmp_engine {
	char home[HOME_PATH_MAX];
	char dirs[3][HOME_PATH_MAX + 32]; /* inbox, intro, sent */
	char events[HOME_PATH_MAX + 32];
	struct client_conf conf;
	struct dmp_store *st;
	struct dmp_keys *keys;
	struct dmp_codec *codec;
	struct dmp_resolver *res;
	/* One resolver per node for union reads of our zone. */
	struct dmp_resolver *node_res[DMP_CFG_LIST_MAX];
	int64_t node_down_until[DMP_CFG_LIST_MAX]; /* monotonic ms */
	struct dmp_tsig_key *tsig;
	char address[320];
	dmp_event_fn on_event;
	void *ud;
	int64_t (*clock)(void *ud);
	/* status */
	enum dmp_engine_state state;
	int64_t last_poll;
	int errors;
	char last_error[256];
};

static const char *const folders[3] = {"inbox", "intro", "sent"};

static int64_t now_of(const struct dmp_engine *e)
{
	return e->clock ? e->clock(e->ud) : (int64_t)time(NULL);
}

static const char *kind_name(enum dmp_event_kind k)
{
	static const char *const n[] = {
	    "QUEUED",	"PUBLISHED", "RETRY",	 "FAILED", "RECEIVED", "INTRO",
	    "REJECTED", "CONTACT",   "IDENTITY", "STATE",  "CLAMPED",  "CLAIM",
	};
	return (size_t)k < DMP_ARRAY_LEN(n) ? n[k] : "?";
}

/* Report an event to the caller and append it to events.log. */
static void emit(struct dmp_engine *e, enum dmp_event_kind kind,
		 const char *peer, const uint8_t *msg_id, int code,
		 const char *detail)
{
	struct dmp_event ev = {kind, now_of(e), peer, msg_id, code, detail};
	char idhex[2 * DMP_MSG_ID_BYTES + 1] = "-";
	FILE *f;
	int fd;

	if (kind == DMP_EV_RETRY || kind == DMP_EV_FAILED) {
		e->errors++;
		snprintf(e->last_error, sizeof(e->last_error), "%s",
			 detail ? detail : dmp_strerror(code));
	}
	if (msg_id) {
		dmp_hex_encode(idhex, msg_id, DMP_MSG_ID_BYTES);
	}
	fd = open(e->events, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		f = fdopen(fd, "a");
		if (f) {
			fprintf(f, "%lld %s peer=%s msg=%s code=%d %s\n",
				(long long)ev.time, kind_name(kind),
				peer ? peer : "-", idhex, code,
				detail ? detail
				       : (code ? dmp_strerror(code) : ""));
			fclose(f);
		} else {
			close(fd);
		}
	}
	if (e->on_event) {
		e->on_event(&ev, e->ud);
	}
}

static void set_state(struct dmp_engine *e, enum dmp_engine_state s)
{
	static const char *const names[] = {"online", "degraded", "offline"};

	if (s != e->state) {
		e->state = s;
		emit(e, DMP_EV_STATE, NULL, NULL, 0, names[s]);
	}
}

/* ---- paths and Maildirs -------------------------------------------------- */

static int mkdir_0700(const char *p)
{
	if (mkdir(p, 0700) == 0 || errno == EEXIST) {
		return 0;
	}
	DMP_LOG_E("mkdir %s: %s", p, strerror(errno));
	return DMP_EIO;
}

static int make_maildirs(const char *home)
{
	char p[HOME_PATH_MAX + 64];
	static const char *const sub[3] = {"tmp", "new", "cur"};
	int rc;

	snprintf(p, sizeof(p), "%s/mail", home);
	if ((rc = mkdir_0700(p)) < 0) {
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/mail/%s", home, folders[i]);
		if ((rc = mkdir_0700(p)) < 0) {
			return rc;
		}
		for (int j = 0; j < 3; j++) {
			snprintf(p, sizeof(p), "%s/mail/%s/%s", home,
				 folders[i], sub[j]);
			if ((rc = mkdir_0700(p)) < 0) {
				return rc;
			}
		}
	}
	return 0;
}

static int resolve_home(char *out, size_t cap, const char *home)
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

/* 1 if a file named @p name (or name:2,... in cur) exists in @p md. */
static int maildir_has(const char *md, const char *name)
{
	char p[HOME_PATH_MAX + 300];
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

/* Write tmp/<name>, fsync, rename into new/<name> (Maildir delivery). */
static int maildir_write(const char *md, const char *name, const void *a,
			 size_t alen, const void *b, size_t blen)
{
	char tmp[HOME_PATH_MAX + 300], fin[HOME_PATH_MAX + 300];
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
	if (rc == 0 && fsync(fd) != 0) {
		rc = DMP_EIO;
	}
	close(fd);
	if (rc == 0 && rename(tmp, fin) != 0) {
		rc = DMP_EIO;
	}
	if (rc == 0) {
		/* Make the rename itself durable. */
		char nd[HOME_PATH_MAX + 8];
		int dfd;

		snprintf(nd, sizeof(nd), "%s/new", md);
		dfd = open(nd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	} else {
		DMP_LOG_E("maildir %s: %s", fin, strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static void rfc5322_date(char *out, size_t cap, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* ---- keys ------------------------------------------------------------------
 */

/* The libsodium signing key of our identity; the caller wipes @p sk. */
static int signing_key(const struct dmp_engine *e,
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
static int seal_key(const struct dmp_keys *k, uint8_t out[32])
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

static int load_conf(struct client_conf *c, const char *home)
{
	char path[HOME_PATH_MAX + 16], err[512];
	int rc;

	memset(c, 0, sizeof(*c));
	rc = dmp_config_defaults(dmp_client_schema, dmp_client_schema_len, c);
	if (rc < 0) {
		return rc;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	rc = dmp_config_load(dmp_client_schema, dmp_client_schema_len, c, path, err,
			     sizeof(err));
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
static const char *zone_server(const struct client_conf *c, const char *zone)
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
	char h[HOME_PATH_MAX], path[HOME_PATH_MAX + 16], err[512];
	struct client_conf c;
	struct dmp_store *st = NULL;
	struct dmp_keys *k = NULL;
	struct dmp_store_identity id;
	struct dmp_tsig_key *tk = NULL;
	char zone[DMP_NAME_MAX];
	int rc;

	if (!in || !in->username || !in->domain || !passphrase || !in->nodes ||
	    !in->nodes[0]) {
		return DMP_EINVAL;
	}
	rc = dmp_init();
	if (rc < 0) {
		return rc;
	}
	if (resolve_home(h, sizeof(h), home) < 0) {
		return DMP_EINVAL;
	}
	if (strlen(in->username) == 0 ||
	    strlen(in->username) > DMP_IDENTITY_USERNAME_MAX ||
	    dmp_name_identity(zone, sizeof(zone), in->username,
			      strlen(in->username), in->domain) < 0) {
		DMP_LOG_E("init: invalid username or domain");
		return DMP_EINVAL;
	}
	if (in->tsig && *in->tsig) {
		rc = dmp_tsig_key_parse(&tk, in->tsig);
		dmp_tsig_key_free(tk);
		if (rc < 0) {
			DMP_LOG_E("init: invalid TSIG key (want "
				  "hmac-sha256:NAME:BASE64SECRET)");
			return DMP_EINVAL;
		}
	}
	memset(&c, 0, sizeof(c));
	rc = dmp_config_defaults(dmp_client_schema, dmp_client_schema_len, &c);
	if (rc < 0) {
		return rc;
	}
	snprintf(c.username, sizeof(c.username), "%s", in->username);
	snprintf(c.domain, sizeof(c.domain), "%s", in->domain);
	for (size_t i = 0; in->nodes[i]; i++) {
		rc = dmp_config_set(dmp_client_schema, dmp_client_schema_len, &c,
				    "network.nodes", in->nodes[i], i > 0, err,
				    sizeof(err));
		if (rc < 0) {
			DMP_LOG_E("init: %s", err);
			return DMP_EINVAL;
		}
	}
	for (size_t i = 0; in->resolvers && in->resolvers[i]; i++) {
		rc = dmp_config_set(dmp_client_schema, dmp_client_schema_len, &c,
				    "network.resolvers", in->resolvers[i],
				    i > 0, err, sizeof(err));
		if (rc < 0) {
			DMP_LOG_E("init: %s", err);
			return DMP_EINVAL;
		}
	}
	if (in->tsig) {
		snprintf(c.tsig, sizeof(c.tsig), "%s", in->tsig);
	}
	if ((rc = mkdir_0700(h)) < 0) {
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
	if ((rc = make_maildirs(h)) < 0) {
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

int dmp_engine_open(struct dmp_engine **out, const struct dmp_engine_opts *o)
{
	struct dmp_engine *e;
	struct dmp_store_identity id;
	char path[HOME_PATH_MAX + 16];
	uint8_t sk[32];
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
	if (resolve_home(e->home, sizeof(e->home), o ? o->home : NULL) < 0) {
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
			 folders[i]);
	}
	snprintf(e->events, sizeof(e->events), "%s/events.log", e->home);
	snprintf(path, sizeof(path), "%s/state.db", e->home);
	if (stat(path, &sb) != 0) {
		rc = DMP_ENOENT;
		goto fail;
	}
	rc = load_conf(&e->conf, e->home);
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
	rc = seal_key(e->keys, sk);
	if (rc == 0) {
		rc = dmp_store_set_seal_key(e->st, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	if (rc < 0) {
		goto fail;
	}
	if (e->conf.tsig[0]) {
		rc = dmp_tsig_key_parse(&e->tsig, e->conf.tsig);
		if (rc < 0) {
			DMP_LOG_E("config: network.tsig is not a valid key");
			rc = DMP_ECONFIG;
			goto fail;
		}
	}
	snprintf(e->address, sizeof(e->address), "%s@%s", e->conf.username,
		 e->conf.domain);
	(void)make_maildirs(e->home);
	e->state = DMP_ENGINE_ONLINE;
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
	for (int i = 0; i < DMP_CFG_LIST_MAX; i++) {
		dmp_resolver_free(e->node_res[i]);
	}
	dmp_codec_free(e->codec);
	dmp_tsig_key_free(e->tsig);
	dmp_keys_free(e->keys);
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
		if (folder && strcmp(folder, folders[i]) == 0) {
			return e->dirs[i];
		}
	}
	return NULL;
}

struct dmp_store *dmp_engine_store(struct dmp_engine *e)
{
	return e->st;
}

/* ---- network plumbing --------------------------------------------------- */

struct dmp_resolver *dmp_engine_resolver(struct dmp_engine *e)
{
	struct dmp_resolver_opts o;
	struct dmp_resolver_direct direct[DMP_CFG_LIST_MAX * 2];
	char zones[DMP_CFG_LIST_MAX][DMP_CFG_STR_MAX];
	const char *servers[DMP_CFG_LIST_MAX * 2];
	size_t ns = 0, nd = 0;
	int rc;

	if (e->res) {
		return e->res;
	}
	dmp_resolver_opts_default(&o);
	for (unsigned i = 0; i < e->conf.resolvers.n; i++) {
		servers[ns++] = e->conf.resolvers.v[i];
	}
	if (ns == 0) {
		/* No resolver configured: ask the nodes themselves. */
		for (unsigned i = 0; i < e->conf.nodes.n; i++) {
			servers[ns++] = e->conf.nodes.v[i];
		}
	}
	if (e->conf.direct) {
		for (unsigned i = 0; i < e->conf.nodes.n; i++) {
			direct[nd].zone = e->conf.domain;
			direct[nd].server = e->conf.nodes.v[i];
			nd++;
		}
	}
	/* Zones whose server the user named: read them there, directly. */
	for (unsigned i = 0; i < e->conf.zone_servers.n; i++) {
		const char *v = e->conf.zone_servers.v[i];
		const char *eq = strchr(v, '=');

		snprintf(zones[i], sizeof(zones[i]), "%.*s", (int)(eq - v), v);
		direct[nd].zone = zones[i];
		direct[nd].server = eq + 1;
		nd++;
	}
	o.servers = servers;
	o.n_servers = ns;
	o.direct = direct;
	o.n_direct = nd;
	o.timeout_ms = (unsigned)e->conf.timeout_ms;
	rc = dmp_resolver_new(&e->res, &o);
	if (rc < 0) {
		DMP_LOG_E("resolver: %s", dmp_strerror(rc));
		e->res = NULL;
	}
	return e->res;
}

/*
 * Writes fan out to every configured node and succeed on a majority
 * ((N+1)/2, the reference's FanoutWriter quorum, PROTOCOL.md 7.7). A node
 * that does not answer is skipped for the rest of the writer's life, so a
 * dead node costs one timeout per pass, not one per record.
 */
struct writer {
	struct dmp_update_conn *c[DMP_CFG_LIST_MAX];
	int dead[DMP_CFG_LIST_MAX];
	unsigned n;
};

static void writer_close(struct writer *w)
{
	for (unsigned i = 0; i < w->n; i++) {
		dmp_update_conn_free(w->c[i]);
	}
	memset(w, 0, sizeof(*w));
}

static int writer_open(struct dmp_engine *e, struct writer *w,
		       unsigned attempts)
{
	struct dmp_update_opts o;
	int rc = 0;

	memset(w, 0, sizeof(*w));
	dmp_update_opts_default(&o);
	o.timeout_ms = (unsigned)e->conf.timeout_ms * 2;
	if (attempts) {
		o.attempts = attempts;
	}
	if (e->conf.nodes.n == 0) {
		return DMP_ECONFIG;
	}
	for (unsigned i = 0; i < e->conf.nodes.n && rc == 0; i++) {
		rc = dmp_update_conn_new(&w->c[i], e->conf.nodes.v[i],
					 e->conf.domain, e->tsig, &o);
		w->n = i + 1;
	}
	if (rc < 0) {
		DMP_LOG_E("config: bad node address in network.nodes");
		writer_close(w);
		return DMP_ECONFIG;
	}
	return 0;
}

/* @return 0 once a majority accepted, else the most telling failure (an
 * answer beats silence: "wrong TSIG secret" over "node unreachable"). */
static int writer_send_to(struct dmp_engine *e, struct writer *w,
			  const struct dmp_update_rr *ops, size_t n,
			  unsigned mask)
{
	unsigned ok = 0, targets = 0, need;
	int err = DMP_EUNREACHABLE;

	for (unsigned i = 0; i < w->n; i++) {
		targets += (mask >> i) & 1u;
	}
	need = (targets + 1) / 2;
	for (unsigned i = 0; i < w->n; i++) {
		int rc;

		if (w->dead[i] || !((mask >> i) & 1u)) {
			continue;
		}
		rc =
		    dmp_update_send(w->c[i], ops, n, (uint64_t)now_of(e), NULL);
		if (rc == 0) {
			ok++;
			continue;
		}
		DMP_LOG_I("node %s: %s", e->conf.nodes.v[i], dmp_strerror(rc));
		if (rc == DMP_EUNREACHABLE || rc == DMP_ETIMEDOUT) {
			w->dead[i] = 1;
		} else {
			err = rc;
		}
	}
	return ok >= need && ok > 0 ? 0 : err;
}

static int writer_send(struct dmp_engine *e, struct writer *w,
		       const struct dmp_update_rr *ops, size_t n)
{
	return writer_send_to(e, w, ops, n, ~0u);
}

/*
 * Rendezvous (highest random weight) choice of the nodes that store one
 * mailbox: score(node) = first 8 bytes of SHA-256(node string || rid),
 * the network.replicas highest win. Every client configured with the same
 * node list agrees, so senders write where the recipient reads. With
 * replicas 0 (the default) or >= the node count: every node.
 */
static unsigned mailbox_nodes(const struct dmp_engine *e, const uint8_t *rid)
{
	unsigned n = e->conf.nodes.n, r = (unsigned)e->conf.replicas;
	uint64_t score[DMP_CFG_LIST_MAX];
	unsigned mask = 0;

	if (!rid || r == 0 || r >= n) {
		return n >= 32 ? ~0u : (1u << n) - 1;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t h[32];
		uint8_t buf[DMP_CFG_STR_MAX + DMP_USER_ID_BYTES];
		size_t l = strlen(e->conf.nodes.v[i]);

		memcpy(buf, e->conf.nodes.v[i], l);
		memcpy(buf + l, rid, DMP_USER_ID_BYTES);
		dmp_sha256(h, buf, l + DMP_USER_ID_BYTES);
		score[i] = 0;
		for (int j = 0; j < 8; j++) {
			score[i] = (score[i] << 8) | h[j];
		}
	}
	for (unsigned k = 0; k < r; k++) {
		int best = -1;

		for (unsigned i = 0; i < n; i++) {
			if (!((mask >> i) & 1u) &&
			    (best < 0 || score[i] > score[best])) {
				best = (int)i;
			}
		}
		mask |= 1u << best;
	}
	return mask;
}

/* ---- reads ------------------------------------------------------------------
 */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int in_zone(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (zl && zone[zl - 1] == '.') {
		zl--;
	}
	if (nl == zl) {
		return dmp_name_equal(name, nl, zone, zl);
	}
	return nl > zl && name[nl - zl - 1] == '.' &&
	       dmp_name_equal(name + nl - zl, zl, zone, zl);
}

static int union_mode(const struct dmp_engine *e)
{
	return e->conf.direct && e->conf.nodes.n > 1;
}

static struct dmp_resolver *node_resolver(struct dmp_engine *e, unsigned i)
{
	struct dmp_resolver_opts o;
	const char *srv[1];

	if (!e->node_res[i]) {
		dmp_resolver_opts_default(&o);
		srv[0] = e->conf.nodes.v[i];
		o.servers = srv;
		o.n_servers = 1;
		o.rd = 0; /* the node is authoritative for our zone */
		o.timeout_ms = (unsigned)e->conf.timeout_ms;
		if (dmp_resolver_new(&e->node_res[i], &o) < 0) {
			e->node_res[i] = NULL;
		}
	}
	return e->node_res[i];
}

/* Move @p src's values missing from @p dst into it. */
static void answer_merge(struct dmp_txt_answer *dst, struct dmp_txt_answer *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int dup = 0;
		char **nv;
		size_t *nl;
		uint32_t *nt;

		for (size_t j = 0; j < dst->n && !dup; j++) {
			dup = dst->lens[j] == src->lens[i] &&
			      memcmp(dst->values[j], src->values[i],
				     src->lens[i]) == 0;
		}
		if (dup) {
			continue;
		}
		nv = dmp_realloc(dst->values, (dst->n + 1) * sizeof(*nv));
		if (!nv) {
			break;
		}
		dst->values = nv;
		nl = dmp_realloc(dst->lens, (dst->n + 1) * sizeof(*nl));
		if (!nl) {
			break;
		}
		dst->lens = nl;
		nt = dmp_realloc(dst->ttls, (dst->n + 1) * sizeof(*nt));
		if (!nt) {
			break;
		}
		dst->ttls = nt;
		dst->values[dst->n] = src->values[i];
		dst->lens[dst->n] = src->lens[i];
		dst->ttls[dst->n] = src->ttls ? src->ttls[i] : 0;
		dst->n++;
		src->values[i] = NULL;
	}
	dmp_txt_answer_clear(src);
}

/*
 * Resolve TXT for @p n names. Names in our zone, when several nodes serve
 * it, are asked of every node storing @p rid's mailbox (all nodes if NULL)
 * and the answers merged without duplicates, like the reference's
 * UnionReader (PROTOCOL.md 7.7): a node that missed a write while it was
 * down cannot hide a record the others hold. A node that answers nothing
 * is skipped for 30 s. Everything else goes through the resolver pool.
 */
static int read_batch(struct dmp_engine *e, const char *const *q, size_t n,
		      struct dmp_resolver_result *res, const uint8_t *rid)
{
	struct dmp_resolver *pool = dmp_engine_resolver(e);
	size_t *own = NULL, *oth = NULL, no = 0, nx = 0;
	const char **qo = NULL, **qx = NULL;
	struct dmp_resolver_result *tmp = NULL;
	unsigned mask;
	int rc = 0;

	if (!pool) {
		return DMP_EUNREACHABLE;
	}
	if (!union_mode(e)) {
		return dmp_resolver_query_batch(pool, q, n, res,
						BATCH_TIMEOUT_MS, NULL, NULL);
	}
	own = dmp_calloc(n, sizeof(*own));
	oth = dmp_calloc(n, sizeof(*oth));
	qo = dmp_calloc(n, sizeof(*qo));
	qx = dmp_calloc(n, sizeof(*qx));
	tmp = dmp_calloc(n, sizeof(*tmp));
	if (!own || !oth || !qo || !qx || !tmp) {
		rc = DMP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].err = DMP_EUNREACHABLE;
		res[i].server = -1;
		if (in_zone(q[i], e->conf.domain)) {
			own[no] = i;
			qo[no++] = q[i];
		} else {
			oth[nx] = i;
			qx[nx++] = q[i];
		}
	}
	if (nx > 0) {
		rc = dmp_resolver_query_batch(pool, qx, nx, tmp,
					      BATCH_TIMEOUT_MS, NULL, NULL);
		if (rc < 0) {
			goto out;
		}
		for (size_t j = 0; j < nx; j++) {
			res[oth[j]] = tmp[j];
			memset(&tmp[j], 0, sizeof(tmp[j]));
		}
	}
	mask = mailbox_nodes(e, rid);
	for (unsigned i = 0; no > 0 && i < e->conf.nodes.n; i++) {
		struct dmp_resolver *r;
		size_t answered = 0;

		if (!((mask >> i) & 1u) || e->node_down_until[i] > mono_ms()) {
			continue;
		}
		r = node_resolver(e, i);
		if (!r ||
		    dmp_resolver_query_batch(r, qo, no, tmp, BATCH_TIMEOUT_MS,
					     NULL, NULL) < 0) {
			continue;
		}
		for (size_t j = 0; j < no; j++) {
			struct dmp_resolver_result *d = &res[own[j]];

			if (tmp[j].err == 0 || tmp[j].err == DMP_ENXDOMAIN) {
				answered++;
			}
			if (tmp[j].err == 0 && d->err != 0) {
				dmp_resolver_result_clear(d);
				*d = tmp[j];
				d->server = (int)i;
				memset(&tmp[j], 0, sizeof(tmp[j]));
			} else if (tmp[j].err == 0) {
				answer_merge(&d->answer, &tmp[j].answer);
			} else if (d->err != 0 && tmp[j].err == DMP_ENXDOMAIN) {
				d->err = DMP_ENXDOMAIN;
			}
			dmp_resolver_result_clear(&tmp[j]);
		}
		if (answered == 0) {
			DMP_LOG_I("node %s: no answers, skipped for 30 s",
				  e->conf.nodes.v[i]);
			e->node_down_until[i] = mono_ms() + 30000;
		}
	}
out:
	for (size_t j = 0; tmp && j < n; j++) {
		dmp_resolver_result_clear(&tmp[j]);
	}
	dmp_free(own);
	dmp_free(oth);
	dmp_free(qo);
	dmp_free(qx);
	dmp_free(tmp);
	return rc;
}

static int codec(struct dmp_engine *e, struct dmp_codec **c)
{
	int rc = 0;

	if (!e->codec) {
		rc = dmp_codec_new(&e->codec);
	}
	*c = e->codec;
	return rc;
}

/* ---- identity ----------------------------------------------------------- */

static int identity_value(struct dmp_engine *e, char *out, size_t cap)
{
	struct dmp_identity_record rec;
	uint8_t sk[DMP_ED25519_SK_BYTES];
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.username_len = strlen(e->conf.username);
	memcpy(rec.username, e->conf.username, rec.username_len);
	memcpy(rec.x25519_pk, dmp_keys_x25519_pk(e->keys), 32);
	memcpy(rec.ed25519_spk, dmp_keys_ed25519_pk(e->keys), 32);
	rec.ts = (uint64_t)now_of(e);
	rec.versions[0] = 1;
	rec.versions[1] = 2;
	rec.n_versions = 2;
	rc = signing_key(e, sk);
	if (rc == 0) {
		rc = dmp_identity_sign_encode(out, cap, &rec, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	return rc < 0 ? rc : 0;
}

int dmp_engine_identity(struct dmp_engine *e, struct dmp_identity_info *out)
{
	struct dmp_store_identity id;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->address, sizeof(out->address), "%s", e->address);
	dmp_keys_fingerprint(e->keys, out->fingerprint);
	memcpy(out->x25519_pk, dmp_keys_x25519_pk(e->keys), 32);
	memcpy(out->ed25519_pk, dmp_keys_ed25519_pk(e->keys), 32);
	rc = identity_value(e, out->record, sizeof(out->record));
	if (rc < 0) {
		return rc;
	}
	rc = dmp_store_prekey_count(e->st, now_of(e));
	out->prekeys_left = rc < 0 ? 0 : rc;
	if (dmp_store_identity_get(e->st, &id) == 0) {
		out->published = id.published;
	}
	return 0;
}

int dmp_engine_prekey_import(struct dmp_engine *e, uint32_t id,
			     const uint8_t sk[32], uint64_t exp)
{
	if (id == 0) {
		return DMP_EINVAL;
	}
	return dmp_store_prekey_put(e->st, id, sk, exp, "");
}

/* Make up to @p want new prekeys, store them (sealed) and publish them in
 * one UPDATE over @p c. Returns how many were published. */
static int prekeys_add(struct dmp_engine *e, struct writer *c, int want)
{
	char owner[DMP_NAME_MAX];
	uint8_t sk[DMP_ED25519_SK_BYTES];
	struct dmp_update_rr *ops = NULL;
	char(*wires)[DMP_PREKEY_WIRE_LEN + 1] = NULL;
	uint32_t *ids = NULL;
	int64_t now = now_of(e);
	int n = 0, rc;

	if (want <= 0) {
		return 0;
	}
	rc = dmp_name_prekeys(owner, sizeof(owner), e->conf.username,
			      strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	ops = dmp_calloc((size_t)want, sizeof(*ops));
	wires = dmp_calloc((size_t)want, sizeof(*wires));
	ids = dmp_calloc((size_t)want, sizeof(*ids));
	if (!ops || !wires || !ids) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = signing_key(e, sk);
	if (rc < 0) {
		goto out;
	}
	for (int i = 0; i < want; i++) {
		struct dmp_prekey pk;
		uint8_t psk[32];
		int tries = 0;

		dmp_random(psk, sizeof(psk));
		dmp_x25519_base(pk.x25519_pk, psk);
		pk.exp = (uint64_t)(now + e->conf.prekey_ttl);
		do {
			dmp_random(&pk.prekey_id, sizeof(pk.prekey_id));
			if (pk.prekey_id == 0) {
				rc = DMP_EEXIST;
				continue;
			}
			rc = dmp_prekey_sign_encode(wires[n], sizeof(wires[n]),
						    &pk, sk);
			if (rc >= 0) {
				rc = dmp_store_prekey_put(
				    e->st, pk.prekey_id, psk, pk.exp, wires[n]);
			}
		} while (rc == DMP_EEXIST && ++tries < 8);
		dmp_wipe(psk, sizeof(psk));
		if (rc < 0) {
			break;
		}
		ids[n] = pk.prekey_id;
		ops[n].op = DMP_UPDATE_ADD;
		ops[n].owner = owner;
		ops[n].ttl = (uint32_t)e->conf.prekey_ttl;
		ops[n].value = wires[n];
		ops[n].value_len = strlen(wires[n]);
		n++;
	}
	dmp_wipe(sk, sizeof(sk));
	if (n > 0) {
		int urc = writer_send(e, c, ops, (size_t)n);

		if (urc < 0) {
			/* Unpublished secrets would only shrink the pool. */
			for (int i = 0; i < n; i++) {
				(void)dmp_store_prekey_consume(e->st, ids[i],
							       NULL, 0);
			}
			rc = urc;
			n = 0;
		}
	}
out:
	dmp_free(ops);
	dmp_free(wires);
	dmp_free(ids);
	return rc < 0 && n == 0 ? rc : n;
}

static int prekeys_topup(struct dmp_engine *e, struct writer *c)
{
	int have;

	(void)dmp_store_prekey_reap(e->st, now_of(e));
	/* Count only keys with a day's life left as part of the pool. */
	have = dmp_store_prekey_count(e->st, now_of(e) + 3600);
	if (have < 0) {
		return have;
	}
	return prekeys_add(e, c, (int)e->conf.pool_size - have);
}

int dmp_engine_identity_publish(struct dmp_engine *e)
{
	char owner[DMP_NAME_MAX], value[DMP_IDENTITY_WIRE_MAX + 1];
	struct writer w;
	struct dmp_update_rr ops[2];
	int rc;

	rc = dmp_name_identity(owner, sizeof(owner), e->conf.username,
			       strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	rc = identity_value(e, value, sizeof(value));
	if (rc < 0) {
		return rc;
	}
	rc = writer_open(e, &w, 0);
	if (rc < 0) {
		return rc;
	}
	/* Replace, not append: one current record per name. */
	ops[0] =
	    (struct dmp_update_rr){DMP_UPDATE_DELETE_RRSET, owner, 0, NULL, 0};
	ops[1] = (struct dmp_update_rr){DMP_UPDATE_ADD, owner, 86400, value,
					strlen(value)};
	rc = writer_send(e, &w, ops, 2);
	if (rc == 0) {
		(void)dmp_store_identity_set_published(e->st, now_of(e));
		rc = prekeys_topup(e, &w);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && e->conf.anchored) {
		/* The zone-anchored form (8): the same record at
		 * dmp.<zone>, which only a key over the whole zone may
		 * write; a shared zone's users must leave it alone. */
		rc = dmp_name_identity_anchored(owner, sizeof(owner),
						e->conf.domain);
		if (rc >= 0) {
			rc = writer_send(e, &w, ops, 2);
		}
		if (rc < 0) {
			DMP_LOG_W("identity at %s: %s", owner,
				  dmp_strerror(rc));
		}
	}
	writer_close(&w);
	if (rc == 0) {
		emit(e, DMP_EV_IDENTITY, e->address, NULL, 0,
		     "identity and prekeys published");
	}
	return rc;
}

int dmp_engine_set_anchored(struct dmp_engine *e, int on)
{
	char path[HOME_PATH_MAX + 16];

	if (!e->conf.anchored == !on) {
		return 0;
	}
	e->conf.anchored = on != 0;
	snprintf(path, sizeof(path), "%s/config.yaml", e->home);
	return dmp_client_conf_write(&e->conf, path);
}

int dmp_engine_prekeys_refresh(struct dmp_engine *e)
{
	struct writer w;
	int rc = writer_open(e, &w, 0);

	if (rc < 0) {
		return rc;
	}
	rc = prekeys_topup(e, &w);
	writer_close(&w);
	if (rc > 0) {
		emit(e, DMP_EV_IDENTITY, e->address, NULL, 0,
		     "prekeys published");
	}
	return rc;
}

/* ---- contacts ---------------------------------------------------------------
 */

/* Verified, unexpired prekeys at @p res for the owner @p spk -> cache. */
static int cache_prekeys(struct dmp_engine *e, const uint8_t spk[32],
			 const struct dmp_resolver_result *res)
{
	struct dmp_store_contact_prekey pk[64];
	size_t n = 0;
	uint64_t now = (uint64_t)now_of(e);

	if (res->err != 0 && res->err != DMP_ENXDOMAIN) {
		return res->err; /* keep the old cache on a failed read */
	}
	for (size_t i = 0;
	     res->err == 0 && i < res->answer.n && n < DMP_ARRAY_LEN(pk); i++) {
		struct dmp_prekey p;

		if (dmp_prekey_parse_verify(&p, res->answer.values[i],
					    res->answer.lens[i], spk,
					    now) < 0 ||
		    dmp_prekey_is_expired(&p, now)) {
			continue;
		}
		pk[n].prekey_id = p.prekey_id;
		memcpy(pk[n].x25519_pk, p.x25519_pk, 32);
		pk[n].exp = p.exp;
		n++;
	}
	return dmp_store_contact_prekeys_replace(e->st, spk, pk, n);
}

static int prekey_name(char *out, size_t cap, const struct dmp_store_contact *c)
{
	/* The bare username in the contact's zone (PROTOCOL.md 10 item 15). */
	return dmp_name_prekeys(out, cap, c->username, strlen(c->username),
				c->domain);
}

/* Does one answer for an identity name hold a verified record of @p user
 * with key @p spk? (@p anchored: the dmp.<zone> form, 8 step 2.) */
static int answer_has_identity(const struct dmp_resolver_result *r,
			       int anchored, const char *user,
			       const uint8_t spk[32])
{
	for (size_t j = 0; r->err == 0 && j < r->answer.n; j++) {
		struct dmp_identity_record rec;

		if (dmp_identity_parse_verify(
			&rec, r->answer.values[j], r->answer.lens[j],
			anchored ? user : NULL,
			anchored ? strlen(user) : 0) == 0 &&
		    rec.username_len == strlen(user) &&
		    strncasecmp(rec.username, user, rec.username_len) == 0 &&
		    memcmp(rec.ed25519_spk, spk, 32) == 0) {
			return 1;
		}
	}
	return 0;
}

/*
 * The optional poisoning check (network.confirm_resolvers = N > 1): an
 * identity fetched through resolvers is pinned only if N of the
 * configured resolvers, asked one by one, return it. Signatures make a
 * record self-authenticating only once its key is known; the first fetch
 * of a name is exactly where a poisoned resolver could hand us its own
 * key, so that is where agreement is required.
 * @return 0, DMP_EDISAGREE or DMP_ENOMEM
 */
static int confirm_identity(struct dmp_engine *e, const char *const *q,
			    size_t nq, int anchored_first, const char *user,
			    const uint8_t spk[32])
{
	unsigned agree = 0, asked = 0;
	char d[256];

	for (unsigned i = 0; i < e->conf.resolvers.n; i++) {
		struct dmp_resolver_opts o;
		struct dmp_resolver *r = NULL;
		struct dmp_resolver_result res[2];
		const char *srv[1] = {e->conf.resolvers.v[i]};
		int has = 0;

		dmp_resolver_opts_default(&o);
		o.servers = srv;
		o.n_servers = 1;
		o.timeout_ms = (unsigned)e->conf.timeout_ms;
		memset(res, 0, sizeof(res));
		if (dmp_resolver_new(&r, &o) < 0) {
			continue;
		}
		if (dmp_resolver_query_batch(r, q, nq, res, BATCH_TIMEOUT_MS,
					     NULL, NULL) == 0) {
			asked++;
			for (size_t k = 0; k < nq && !has; k++) {
				has = answer_has_identity(
				    &res[k], anchored_first && k == 0, user,
				    spk);
			}
		}
		for (size_t k = 0; k < nq; k++) {
			dmp_resolver_result_clear(&res[k]);
		}
		dmp_resolver_free(r);
		agree += has != 0;
	}
	if (agree >= (unsigned)e->conf.confirm_resolvers) {
		return 0;
	}
	snprintf(d, sizeof(d),
		 "identity of %s: %u of %u resolvers returned this key, "
		 "network.confirm_resolvers wants %lld",
		 user, agree, asked, e->conf.confirm_resolvers);
	DMP_LOG_W("rejected: %s", d);
	emit(e, DMP_EV_REJECTED, user, NULL, DMP_EDISAGREE, d);
	return DMP_EDISAGREE;
}

static int contact_add(struct dmp_engine *e, const char *address,
		       const char *alias, const char *fingerprint)
{
	char user[DMP_ADDR_MAX + 1], zone[DMP_ADDR_MAX + 1];
	char names[2][DMP_NAME_MAX];
	const char *q[2];
	size_t nq = 0;
	struct dmp_resolver_result res[2];
	struct dmp_identity_record found[16];
	size_t nfound = 0;
	struct dmp_resolver *r;
	struct dmp_store_contact c, old;
	const struct dmp_identity_record *pick = NULL;
	int rc, anchored_ok = 0;
	const char *at = strchr(address, '@');

	memset(res, 0, sizeof(res));
	if (at) {
		char canon[DMP_ADDR_MAX + 1];

		rc = dmp_addr_canonical(canon, address, strlen(address));
		if (rc < 0) {
			return DMP_EINVAL;
		}
		at = strchr(canon, '@');
		snprintf(user, sizeof(user), "%.*s", (int)(at - canon), canon);
		snprintf(zone, sizeof(zone), "%s", at + 1);
		if (dmp_name_identity_anchored(names[nq], sizeof(names[0]),
					       zone) >= 0) {
			q[nq] = names[nq];
			nq++;
			anchored_ok = 1;
		}
	} else {
		snprintf(user, sizeof(user), "%s", address);
		snprintf(zone, sizeof(zone), "%s", e->conf.domain);
	}
	if (!user[0] || strlen(user) > DMP_IDENTITY_USERNAME_MAX) {
		return DMP_EINVAL;
	}
	rc = dmp_name_identity(names[nq], sizeof(names[0]), user, strlen(user),
			       zone);
	if (rc < 0) {
		return DMP_EINVAL;
	}
	q[nq] = names[nq];
	nq++;
	r = dmp_engine_resolver(e);
	if (!r) {
		return DMP_EUNREACHABLE;
	}
	rc = read_batch(e, q, nq, res, NULL);
	if (rc < 0) {
		return rc;
	}
	rc = DMP_ENOENT;
	for (size_t i = 0; i < nq; i++) {
		int anchored = anchored_ok && i == 0;

		if (res[i].err != 0 && res[i].err != DMP_ENXDOMAIN &&
		    rc == DMP_ENOENT) {
			rc = res[i].err;
		}
		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n;
		     j++) {
			struct dmp_identity_record rec;
			int dup = 0;

			if (dmp_identity_parse_verify(
				&rec, res[i].answer.values[j],
				res[i].answer.lens[j], anchored ? user : NULL,
				anchored ? strlen(user) : 0) < 0) {
				if (rc == DMP_ENOENT) {
					rc = DMP_EBADSIG;
				}
				continue;
			}
			/* The hashed form must name the same user. */
			if (!anchored && (rec.username_len != strlen(user) ||
					  strncasecmp(rec.username, user,
						      rec.username_len) != 0)) {
				continue;
			}
			for (size_t k = 0; k < nfound; k++) {
				if (memcmp(found[k].ed25519_spk,
					   rec.ed25519_spk, 32) == 0) {
					dup = 1;
					/* keep the newest versions list */
					if (rec.ts > found[k].ts) {
						found[k] = rec;
					}
				}
			}
			if (!dup && nfound < DMP_ARRAY_LEN(found)) {
				found[nfound++] = rec;
			}
		}
	}
	for (size_t i = 0; i < nq; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	if (nfound == 0) {
		return rc == DMP_ENXDOMAIN ? DMP_ENOENT : rc;
	}
	if (fingerprint && *fingerprint) {
		for (size_t k = 0; k < nfound; k++) {
			char fp[2 * 8 + 1];

			dmp_hex_encode(fp, found[k].ed25519_spk, 8);
			if (strncasecmp(fp, fingerprint, 16) == 0 &&
			    strlen(fingerprint) == 16) {
				pick = &found[k];
			}
		}
		if (!pick) {
			return DMP_EBADKEY;
		}
	} else if (nfound > 1) {
		return DMP_EAMBIGUOUS;
	} else {
		pick = &found[0];
	}
	/* Names read straight from a node we were told serves them are not
	 * resolver answers: nothing to cross-check. */
	if (e->conf.confirm_resolvers > 1 &&
	    !(e->conf.direct &&
	      dmp_name_equal(zone, strlen(zone), e->conf.domain,
			     strlen(e->conf.domain))) &&
	    !zone_server(&e->conf, zone)) {
		rc = confirm_identity(e, q, nq, anchored_ok, user,
				      pick->ed25519_spk);
		if (rc < 0) {
			return rc;
		}
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.alias, sizeof(c.alias), "%.64s",
		 alias && *alias ? alias : user);
	snprintf(c.address, sizeof(c.address), "%.64s@%.253s", user, zone);
	snprintf(c.username, sizeof(c.username), "%.64s", user);
	snprintf(c.domain, sizeof(c.domain), "%.253s", zone);
	memcpy(c.x25519_pk, pick->x25519_pk, 32);
	memcpy(c.ed25519_pk, pick->ed25519_spk, 32);
	for (size_t v = 0; v < pick->n_versions; v++) {
		if (pick->versions[v] < 32) {
			c.versions |= 1u << pick->versions[v];
		}
	}
	c.pinned_at = now_of(e);
	snprintf(c.pinned_how, sizeof(c.pinned_how), "%s",
		 fingerprint && *fingerprint ? "fingerprint" : "fetched");
	rc = dmp_store_contact_get(e->st, c.alias, &old);
	if (rc == 0 && strcmp(old.alias, c.alias) == 0 &&
	    memcmp(old.ed25519_pk, c.ed25519_pk, 32) != 0) {
		return DMP_EEXIST;
	}
	if (rc == 0) {
		c.blocked = old.blocked;
	}
	rc = dmp_store_contact_put(e->st, &c);
	if (rc < 0) {
		return rc;
	}
	emit(e, DMP_EV_CONTACT, c.alias, NULL, 0, "pinned");
	/* Best effort: the prekey cache lets submit() offer forward secrecy. */
	{
		char pn[DMP_NAME_MAX];
		struct dmp_resolver_result pr;

		memset(&pr, 0, sizeof(pr));
		const char *pq[1] = {pn};

		if (prekey_name(pn, sizeof(pn), &c) >= 0 &&
		    read_batch(e, pq, 1, &pr, NULL) == 0) {
			(void)cache_prekeys(e, c.ed25519_pk, &pr);
		}
		dmp_resolver_result_clear(&pr);
	}
	return 0;
}

int dmp_engine_contact_add(struct dmp_engine *e, const char *address,
			   const char *alias, const char *fingerprint)
{
	int rc = contact_add(e, address, alias, fingerprint);

	/* Issue 6: a failed pin says why in the event log, not only errno. */
	if (rc < 0) {
		char why[160];

		snprintf(why, sizeof(why), "contact %s not pinned: %s",
			 address ? address : "(none)", dmp_strerror(rc));
		emit(e, DMP_EV_REJECTED, alias ? alias : address, NULL, rc,
		     why);
	}
	return rc;
}

int dmp_engine_contact_remove(struct dmp_engine *e, const char *alias)
{
	int rc = dmp_store_contact_remove(e->st, alias);

	if (rc == 0) {
		emit(e, DMP_EV_CONTACT, alias, NULL, 0, "removed");
	}
	return rc;
}

int dmp_engine_contact_block(struct dmp_engine *e, const char *alias,
			     int blocked)
{
	int rc = dmp_store_contact_set_blocked(e->st, alias, blocked);

	if (rc == 0) {
		emit(e, DMP_EV_CONTACT, alias, NULL, 0,
		     blocked ? "blocked" : "unblocked");
	}
	return rc;
}

/* ---- send -------------------------------------------------------------------
 */

int dmp_engine_submit(struct dmp_engine *e, const char *contact,
		      const uint8_t *body, size_t len, uint32_t lifetime,
		      int64_t *queue_id)
{
	struct dmp_store_contact c;
	struct dmp_store_contact_prekey pk;
	struct dmp_send_params p;
	struct dmp_send_result r;
	struct dmp_outbox_record *recs = NULL;
	struct dmp_codec *cd;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int64_t now = now_of(e), qid = 0;
	uint32_t ttl = lifetime ? lifetime : (uint32_t)e->conf.lifetime;
	int rc, have_pk;

	memset(&r, 0, sizeof(r));
	if (queue_id) {
		*queue_id = 0;
	}
	if (len > DMP_ENGINE_MAX_BODY) {
		return DMP_EFBIG;
	}
	rc = dmp_store_contact_get(e->st, contact, &c);
	if (rc < 0) {
		return rc;
	}
	if (c.blocked) {
		return DMP_EACCES;
	}
	if (ttl > (uint32_t)e->conf.max_lifetime) {
		char d[128];

		snprintf(d, sizeof(d),
			 "lifetime %u s clamped to %lld s (the node's maximum)",
			 ttl, e->conf.max_lifetime);
		ttl = (uint32_t)e->conf.max_lifetime;
		emit(e, DMP_EV_CLAMPED, c.alias, NULL, 0, d);
	}
	rc = codec(e, &cd);
	if (rc < 0) {
		return rc;
	}
	/* v2 only when the pinned record advertises it (PROTOCOL.md 4.5). */
	if (c.versions & (1u << 2)) {
		rc = dmp_envelope_encode(body, len, e->address, &pt, &pt_len);
		if (rc < 0) {
			return rc;
		}
		if (pt_len > dmp_pipeline_max_plaintext(now, ttl)) {
			dmp_free(pt);
			pt = NULL;
		}
	}
	have_pk = dmp_store_contact_prekey_pick(e->st, c.ed25519_pk,
						now + PREKEY_MARGIN, &pk) == 0;
	memset(&p, 0, sizeof(p));
	p.sender = e->keys;
	p.recipient_x25519_pk = c.x25519_pk;
	p.prekey_id = have_pk ? pk.prekey_id : 0;
	p.prekey_pk = have_pk ? pk.x25519_pk : NULL;
	p.ts = now;
	p.ttl = ttl;
	p.zone = e->conf.domain;
	p.plaintext = pt ? pt : body;
	p.len = pt ? pt_len : len;
	rc = dmp_pipeline_send(cd, &p, &r);
	dmp_free(pt);
	if (rc < 0) {
		return rc;
	}
	recs = dmp_calloc(r.n_records, sizeof(*recs));
	if (!recs) {
		rc = DMP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r.n_records; i++) {
		recs[i].name = r.records[i].name;
		recs[i].value = r.records[i].value;
		recs[i].ttl = r.records[i].ttl;
	}
	rc = dmp_store_outbox_add(e->st, r.msg_id, c.alias, len, body, recs,
				  (int)r.n_records, r.exp, now, &qid);
	if (rc == 0 && have_pk) {
		/* One-time: never use the same prekey twice. */
		(void)dmp_store_contact_prekey_drop(e->st, c.ed25519_pk,
						    pk.prekey_id);
	}
	if (rc == 0) {
		char d[96];

		snprintf(d, sizeof(d), "%zu records, lifetime %u s%s",
			 r.n_records, ttl, have_pk ? ", forward secret" : "");
		emit(e, DMP_EV_QUEUED, c.alias, r.msg_id, 0, d);
		if (queue_id) {
			*queue_id = qid;
		}
	}
out:
	dmp_free(recs);
	dmp_send_result_clear(&r);
	return rc;
}

struct pending {
	struct dmp_outbox_msg *v;
	size_t n, cap;
};

static int collect_pending(const struct dmp_outbox_msg *m, void *ud)
{
	struct pending *p = ud;

	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		void *nv = dmp_realloc(p->v, cap * sizeof(*p->v));

		if (!nv) {
			return 1;
		}
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n++] = *m;
	return 0;
}

struct recs {
	struct {
		int seq;
		char *name, *value;
		uint32_t ttl;
		int published;
	} * v;
	size_t n, cap;
	int oom;
};

static int collect_record(int seq, const char *name, const char *value,
			  uint32_t ttl, int published, void *ud)
{
	struct recs *r = ud;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *nv = dmp_realloc(r->v, cap * sizeof(*r->v));

		if (!nv) {
			r->oom = 1;
			return 1;
		}
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n].seq = seq;
	r->v[r->n].name = strdup(name);
	r->v[r->n].value = strdup(value);
	r->v[r->n].ttl = ttl;
	r->v[r->n].published = published;
	if (!r->v[r->n].name || !r->v[r->n].value) {
		free(r->v[r->n].name);
		free(r->v[r->n].value);
		r->oom = 1;
		return 1;
	}
	r->n++;
	return 0;
}

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].value);
	}
	dmp_free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Copy a published message into mail/sent. */
static void save_sent(struct dmp_engine *e, const struct dmp_outbox_msg *m)
{
	uint8_t *body = NULL;
	size_t len = 0;
	char hdr[1024], date[64], idhex[33], name[128];
	struct dmp_store_contact c;
	const char *to = m->recipient;
	int n;

	if (dmp_store_outbox_body(e->st, m->id, &body, &len) < 0) {
		return;
	}
	if (dmp_store_contact_get(e->st, m->recipient, &c) == 0) {
		to = c.address;
	}
	dmp_hex_encode(idhex, m->msg_id, 16);
	rfc5322_date(date, sizeof(date), m->created);
	n = snprintf(hdr, sizeof(hdr),
		     "From: %s\nTo: %s\nDate: %s\nMessage-ID: <%s@dmp>\n"
		     "X-DMP-Msg-Id: %s\n\n",
		     e->address, to, date, idhex, idhex);
	/* Named from the queue time, not now: a message published again
	 * after a crash (same records) keeps its one copy. */
	snprintf(name, sizeof(name), "%lld.%s.dmp", (long long)m->created,
		 idhex);
	if (!maildir_has(e->dirs[2], name)) {
		(void)maildir_write(e->dirs[2], name, hdr, (size_t)n, body,
				    len);
	}
	dmp_free(body);
}

static int64_t backoff(int attempts)
{
	int64_t d = RETRY_BASE;
	uint32_t j;

	for (int i = 0; i < attempts && d < RETRY_MAX; i++) {
		d *= 2;
	}
	if (d > RETRY_MAX) {
		d = RETRY_MAX;
	}
	dmp_random(&j, sizeof(j));
	return d + (int64_t)(j % (uint32_t)(d / 4 + 1));
}

struct contact_list {
	struct dmp_store_contact *v;
	size_t n, cap;
};

static int collect_contact(const struct dmp_store_contact *c, void *ud)
{
	struct contact_list *l = ud;

	if (c->blocked) {
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		void *nv = dmp_realloc(l->v, cap * sizeof(*l->v));

		if (!nv) {
			return 1;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

/* Re-read every contact's prekey pool in one batch, so the next submit()
 * has fresh one-time keys without touching the network itself. */
static void refresh_prekey_caches(struct dmp_engine *e)
{
	struct contact_list l = {0};
	char(*names)[DMP_NAME_MAX] = NULL;
	const char **q = NULL;
	struct dmp_resolver_result *res = NULL;
	struct dmp_resolver *r = dmp_engine_resolver(e);
	size_t n = 0;

	if (!r || dmp_store_contact_each(e->st, collect_contact, &l) < 0 ||
	    l.n == 0) {
		goto out;
	}
	names = dmp_calloc(l.n, sizeof(*names));
	q = dmp_calloc(l.n, sizeof(*q));
	res = dmp_calloc(l.n, sizeof(*res));
	if (!names || !q || !res) {
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (prekey_name(names[i], sizeof(names[i]), &l.v[i]) < 0) {
			goto out;
		}
		q[i] = names[i];
	}
	n = l.n;
	if (read_batch(e, q, n, res, NULL) == 0) {
		for (size_t i = 0; i < n; i++) {
			(void)cache_prekeys(e, l.v[i].ed25519_pk, &res[i]);
		}
	}
out:
	for (size_t i = 0; res && i < n; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	dmp_free(names);
	dmp_free(q);
	dmp_free(res);
	dmp_free(l.v);
}

/*
 * Send @p value as an un-TSIG'd claim UPDATE (PROTOCOL.md 7.3) to the
 * server of @p zone: the one network.zone_servers names, else port 53 of
 * the zone apex's own address (A/AAAA through the system resolver).
 */
static int claim_send(struct dmp_engine *e, const char *zone, const char *owner,
		      uint32_t ttl, const char *value)
{
	struct dmp_update_opts o;
	struct dmp_update_conn *c = NULL;
	struct dmp_update_rr op = {DMP_UPDATE_ADD, owner, ttl, value,
				   strlen(value)};
	const char *server = zone_server(&e->conf, zone);
	int rc;

	dmp_update_opts_default(&o);
	o.timeout_ms = (unsigned)e->conf.timeout_ms;
	o.attempts = 2;
	rc = dmp_update_conn_new(&c, server ? server : zone, zone, NULL, &o);
	if (rc < 0) {
		return rc == DMP_EINVAL ? DMP_EUNREACHABLE : rc;
	}
	rc = dmp_update_send(c, &op, 1, (uint64_t)now_of(e), NULL);
	dmp_update_conn_free(c);
	return rc;
}

/* Zones that carry claims, without duplicates (compared ignoring case). */
struct claim_zones {
	char z[2 + DMP_CFG_LIST_MAX + DMP_PEERS_PROVIDERS][DMP_NAME_MAX];
	size_t n;
};

static void claim_zones_add(struct claim_zones *cz, const char *zone)
{
	for (size_t i = 0; i < cz->n; i++) {
		if (dmp_name_equal(cz->z[i], strlen(cz->z[i]), zone,
				   strlen(zone))) {
			return;
		}
	}
	if (cz->n < DMP_ARRAY_LEN(cz->z) && strlen(zone) < sizeof(cz->z[0])) {
		snprintf(cz->z[cz->n++], sizeof(cz->z[0]), "%s", zone);
	}
}

/* First-contact providers: claims.providers, then (claims.discover) the
 * ones chosen from discovered nodes' heartbeats (PROTOCOL.md 8). */
static void claim_providers(struct dmp_engine *e, struct claim_zones *cz)
{
	char found[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1];
	int n;

	for (unsigned i = 0; i < e->conf.claim_providers.n; i++) {
		claim_zones_add(cz, e->conf.claim_providers.v[i]);
	}
	if (!e->conf.claim_discover) {
		return;
	}
	n = dmp_peers_providers(e->st, now_of(e), found);
	for (int i = 0; i < n; i++) {
		claim_zones_add(cz, found[i]);
	}
}

/*
 * PROTOCOL.md 6.3 step 6, best effort and never failing the send: a claim
 * pointing at the manifest in our zone goes to the recipient's own zone
 * (when it is not ours: there the recipient reads our manifest anyway)
 * and to every configured first-contact provider, so a recipient who has
 * not pinned us yet still finds the message (6.4 phase 1).
 */
static void send_claims(struct dmp_engine *e, const struct dmp_outbox_msg *m,
			uint32_t slot)
{
	struct dmp_store_contact ct;
	struct dmp_claim c;
	char value[256], owner[DMP_NAME_MAX] = "", d[512];
	struct claim_zones cz = {.n = 0};
	uint8_t rid[DMP_USER_ID_BYTES], sk[DMP_ED25519_SK_BYTES];
	size_t dl = strlen(e->conf.domain);
	int64_t now = now_of(e);
	int rc;

	if (dmp_store_contact_get(e->st, m->recipient, &ct) < 0) {
		return;
	}
	if (e->conf.claim_recipient_zone &&
	    !dmp_name_equal(ct.domain, strlen(ct.domain), e->conf.domain, dl)) {
		claim_zones_add(&cz, ct.domain);
	}
	claim_providers(e, &cz);
	if (cz.n == 0) {
		return;
	}
	if (dl > DMP_CLAIM_DOMAIN_MAX) {
		snprintf(d, sizeof(d),
			 "no claim sent: our zone is longer than the %d bytes "
			 "a claim can carry (2.5)",
			 DMP_CLAIM_DOMAIN_MAX);
		emit(e, DMP_EV_CLAIM, m->recipient, m->msg_id, DMP_EINVAL, d);
		return;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.msg_id, m->msg_id, sizeof(c.msg_id));
	memcpy(c.sender_spk, dmp_keys_ed25519_pk(e->keys), 32);
	memcpy(c.sender_mailbox_domain, e->conf.domain, dl + 1);
	c.domain_len = dl;
	c.slot = (uint8_t)slot;
	c.ts = (uint64_t)now;
	/* Nodes take claims living at most a day (7.3). */
	c.exp = m->expires < (uint64_t)now + 86400 ? m->expires
						   : (uint64_t)now + 86400;
	if (c.exp <= c.ts) {
		return;
	}
	rc = signing_key(e, sk);
	if (rc == 0) {
		rc = dmp_claim_sign_encode(value, sizeof(value), &c, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	if (rc < 0) {
		DMP_LOG_W("claim: %s", dmp_strerror(rc));
		return;
	}
	dmp_sha256(rid, ct.x25519_pk, 32);
	for (size_t i = 0; i < cz.n; i++) {
		rc = dmp_name_claim(owner, sizeof(owner), slot, rid, cz.z[i]);
		if (rc >= 0) {
			rc = claim_send(e, cz.z[i], owner,
					(uint32_t)(c.exp - c.ts), value);
		}
		snprintf(d, sizeof(d), "claim at %s: %s", owner,
			 rc < 0 ? dmp_strerror(rc) : "accepted");
		if (rc < 0) {
			DMP_LOG_I("%s", d);
		}
		emit(e, DMP_EV_CLAIM, m->recipient, m->msg_id, rc < 0 ? rc : 0,
		     d);
	}
}

/* The slot of a manifest owner name "slot-N.mb-…", else -1. */
static int manifest_slot(const char *name)
{
	if (strncmp(name, "slot-", 5) == 0 && isdigit((unsigned char)name[5]) &&
	    name[6] == '.') {
		return name[5] - '0';
	}
	return -1;
}

int dmp_engine_publish(struct dmp_engine *e)
{
	struct pending p = {0};
	struct writer w;
	int have_w = 0;
	int64_t now = now_of(e);
	int done = 0, tried = 0, reached = 0, rc, last = 0;

	rc = dmp_store_outbox_each_pending(e->st, collect_pending, &p);
	if (rc < 0) {
		dmp_free(p.v);
		return rc;
	}
	for (size_t i = 0; i < p.n; i++) {
		struct dmp_outbox_msg *m = &p.v[i];
		struct recs r = {0};
		unsigned mask;
		int err = 0, slot = -1;

		if (m->state == DMP_OUTBOX_FAILED) {
			continue;
		}
		if (m->expires && (uint64_t)now > m->expires) {
			(void)dmp_store_outbox_set_state(
			    e->st, m->id, DMP_OUTBOX_FAILED, 0,
			    "expired before it could be published");
			emit(e, DMP_EV_FAILED, m->recipient, m->msg_id,
			     DMP_EEXPIRED,
			     "expired before it could be published");
			continue;
		}
		if (m->next_attempt > now) {
			continue;
		}
		if (!have_w) {
			rc = writer_open(e, &w, 0);
			if (rc < 0) {
				last = rc;
				break;
			}
			have_w = 1;
		}
		tried++;
		(void)dmp_store_outbox_set_state(
		    e->st, m->id, DMP_OUTBOX_PUBLISHING, now, m->last_error);
		rc = dmp_store_outbox_records(e->st, m->id, collect_record, &r);
		if (rc < 0 || r.oom) {
			recs_free(&r);
			last = rc < 0 ? rc : DMP_ENOMEM;
			continue;
		}
		{
			/* The recipient's mailbox nodes (rendezvous); all
			 * nodes when the contact is gone. */
			struct dmp_store_contact ct;
			uint8_t rid[DMP_USER_ID_BYTES];

			mask = ~0u;
			if (dmp_store_contact_get(e->st, m->recipient, &ct) ==
			    0) {
				dmp_sha256(rid, ct.x25519_pk, 32);
				mask = mailbox_nodes(e, rid);
			}
		}
		/* Chunks first, manifest last: the store keeps publish order.
		 * Chunks go several to an UPDATE (a node applies one UPDATE
		 * whole or not at all, 7.1), the manifest alone after them,
		 * so it never names a chunk that is not stored yet. */
		for (size_t j = 0; j < r.n && err == 0;) {
			struct dmp_update_rr ops[PUBLISH_BATCH_OPS];
			size_t k = 0, bytes = 0, first = j;

			for (; j < r.n && k < PUBLISH_BATCH_OPS; j++) {
				int man = manifest_slot(r.v[j].name) >= 0;
				size_t vl = strlen(r.v[j].value);

				if (man) {
					slot = manifest_slot(r.v[j].name);
				}
				if (r.v[j].published) {
					continue;
				}
				if (k > 0 &&
				    (man || bytes + vl > PUBLISH_BATCH_BYTES)) {
					break;
				}
				ops[k++] = (struct dmp_update_rr){
				    DMP_UPDATE_ADD, r.v[j].name, r.v[j].ttl,
				    r.v[j].value, vl};
				bytes += vl + strlen(r.v[j].name);
				if (man) {
					j++;
					break;
				}
			}
			if (k == 0) {
				continue;
			}
			err = writer_send_to(e, &w, ops, k, mask);
			if (err < 0) {
				break;
			}
			reached = 1;
			/* One store commit per UPDATE, not per record. */
			(void)dmp_store_outbox_records_done(
			    e->st, m->id, r.v[first].seq, r.v[j - 1].seq);
		}
		recs_free(&r);
		if (err < 0) {
			int64_t next = now_of(e) + backoff(m->attempts);
			char d[320];

			last = err;
			if (err != DMP_EUNREACHABLE) {
				reached = 1;
			}
			snprintf(d, sizeof(d), "%s; retry in %lld s",
				 dmp_strerror(err), (long long)(next - now));
			(void)dmp_store_outbox_set_state(
			    e->st, m->id, DMP_OUTBOX_QUEUED, next,
			    dmp_strerror(err));
			emit(e, DMP_EV_RETRY, m->recipient, m->msg_id, err, d);
			continue;
		}
		(void)dmp_store_outbox_set_state(e->st, m->id,
						 DMP_OUTBOX_PUBLISHED, 0, NULL);
		if (slot >= 0) {
			send_claims(e, m, (uint32_t)slot);
		}
		save_sent(e, m);
		emit(e, DMP_EV_PUBLISHED, m->recipient, m->msg_id, 0,
		     "published");
		done++;
	}
	if (have_w) {
		writer_close(&w);
	}
	dmp_free(p.v);
	if (reached) {
		refresh_prekey_caches(e);
	}
	if (tried > 0) {
		set_state(e, reached ? (last ? DMP_ENGINE_DEGRADED
					     : DMP_ENGINE_ONLINE)
				     : DMP_ENGINE_OFFLINE);
	}
	if (tried > 0 && !reached && last < 0) {
		return last;
	}
	return done;
}

/* ---- receive ----------------------------------------------------------------
 */

static void reject(struct dmp_engine *e, const char *peer,
		   const uint8_t *msg_id, int code, const char *where)
{
	char d[512];

	snprintf(d, sizeof(d), "%s (%s)", dmp_strerror(code), where);
	DMP_LOG_W("rejected: %s", d);
	emit(e, DMP_EV_REJECTED, peer, msg_id, code, d);
}

/*
 * The DMPv2 label check (PROTOCOL.md 4.5): does the identity published
 * for the claimed address carry the manifest's signing key? Anchored form
 * first (dmp.<host>, username must match), then id-<h16(user)>.<host>.
 * @return 1 if it does
 */
static int label_check(struct dmp_engine *e, const char *addr,
		       const uint8_t spk[32])
{
	char names[2][DMP_NAME_MAX], user[DMP_ADDR_MAX + 1];
	const char *q[2] = {names[0], names[1]};
	const char *at = strchr(addr, '@');
	struct dmp_resolver_result res[2];
	struct dmp_resolver *r = dmp_engine_resolver(e);
	int match = 0;

	if (!at || !r || (size_t)(at - addr) >= sizeof(user)) {
		return 0;
	}
	snprintf(user, sizeof(user), "%.*s", (int)(at - addr), addr);
	if (dmp_name_identity_anchored(names[0], sizeof(names[0]), at + 1) <
		0 ||
	    dmp_name_identity(names[1], sizeof(names[1]), user, strlen(user),
			      at + 1) < 0) {
		return 0;
	}
	memset(res, 0, sizeof(res));
	if (read_batch(e, q, 2, res, NULL) < 0) {
		return 0;
	}
	for (int i = 0; i < 2 && !match; i++) {
		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n;
		     j++) {
			struct dmp_identity_record rec;

			if (dmp_identity_parse_verify(
				&rec, res[i].answer.values[j],
				res[i].answer.lens[j], user,
				strlen(user)) == 0 &&
			    memcmp(rec.ed25519_spk, spk, 32) == 0) {
				match = 1;
				break;
			}
		}
	}
	dmp_resolver_result_clear(&res[0]);
	dmp_resolver_result_clear(&res[1]);
	return match;
}

/* Write the message to its Maildir under the name planned in the store. */
static int deliver(struct dmp_engine *e, const struct dmp_manifest *m,
		   int folder, const struct dmp_store_contact *c,
		   const struct dmp_envelope *env, char *path, size_t pcap)
{
	char fold[16], file[160], idhex[33], spkhex[65], date[64];
	char hdr[2048], from[512];
	const char *md;
	int rc, n;

	dmp_hex_encode(idhex, m->msg_id, 16);
	dmp_hex_encode(spkhex, m->sender_spk, 32);
	rc = dmp_store_delivery_get(e->st, m->sender_spk, m->msg_id, fold,
				    sizeof(fold), file, sizeof(file));
	if (rc == DMP_ENOENT) {
		/* Plan the name first: a crash after the rename and before
		 * finalize re-delivers to this same name. */
		snprintf(fold, sizeof(fold), "%s", folders[folder]);
		snprintf(file, sizeof(file), "%lld.%s.%.8s.dmp",
			 (long long)now_of(e), idhex, spkhex);
		rc = dmp_store_delivery_put(e->st, m->sender_spk, m->msg_id,
					    fold, file, m->exp + 86400);
	}
	if (rc < 0) {
		return rc;
	}
	md = dmp_engine_maildir(e, fold);
	if (!md) {
		return DMP_EINTERNAL;
	}
	snprintf(path, pcap, "%s/new/%s", md, file);
	if (maildir_has(md, file)) {
		return 0;
	}
	if (c) {
		snprintf(from, sizeof(from), "%s <%s>", c->alias, c->address);
	} else if (env->has_from) {
		snprintf(from, sizeof(from), "<%s> (%s)", env->from,
			 label_check(e, env->from, m->sender_spk)
			     ? "claimed by the sender; its published identity "
			       "has this key, but it is not a contact"
			     : "claimed by the sender, not verified");
	} else {
		snprintf(from, sizeof(from), "unknown-%.16s@unknown", spkhex);
	}
	rfc5322_date(date, sizeof(date), (int64_t)m->ts);
	n = snprintf(hdr, sizeof(hdr),
		     "From: %s\nTo: %s\nDate: %s\nMessage-ID: <%s@dmp>\n"
		     "X-DMP-Sender-Key: %s\nX-DMP-Msg-Id: %s\n"
		     "X-DMP-Verified: %s\nX-DMP-Forward-Secrecy: %s\n\n",
		     from, e->address, date, idhex, spkhex, idhex,
		     c ? "yes" : "no", m->prekey_id ? "yes" : "no");
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		return DMP_EINTERNAL;
	}
	return maildir_write(md, file, hdr, (size_t)n, env->body,
			     env->body_len);
}

static void prekey_delete(struct dmp_engine *e, uint32_t id)
{
	char wire[DMP_PREKEY_WIRE_LEN + 8], owner[DMP_NAME_MAX];
	struct writer w;
	struct dmp_update_rr op;

	if (dmp_store_prekey_consume(e->st, id, wire, sizeof(wire)) < 0 ||
	    !wire[0]) {
		return;
	}
	if (dmp_name_prekeys(owner, sizeof(owner), e->conf.username,
			     strlen(e->conf.username), e->conf.domain) < 0 ||
	    writer_open(e, &w, 1) < 0) {
		return;
	}
	op = (struct dmp_update_rr){DMP_UPDATE_DELETE_VALUE, owner, 0, wire,
				    strlen(wire)};
	/* Best effort (4.6): the secret is gone either way. */
	if (writer_send(e, &w, &op, 1) < 0) {
		DMP_LOG_I("prekey %u: DNS delete failed (it expires anyway)",
			  id);
	}
	writer_close(&w);
}

/* One manifest value found at @p name in @p zone. With @p want (phase 1
 * of 6.4), only a manifest with the msg_id and signer of one of the
 * @p n_want claims is taken; others are left alone. Returns 1 if a
 * message was delivered. */
static int receive_one(struct dmp_engine *e, const char *zone, const char *name,
		       const char *value, size_t vlen,
		       const struct dmp_claim *const *want, size_t n_want)
{
	struct dmp_manifest m;
	struct dmp_store_contact c;
	uint8_t vh[32], psk[32];
	char where[DMP_NAME_MAX + 32], key[DMP_H12_CHARS + 1];
	char(*cn)[DMP_NAME_MAX] = NULL;
	const char **cq = NULL;
	struct dmp_resolver_result *cr = NULL;
	struct dmp_chunk_values *cv = NULL;
	uint8_t *msg = NULL, *pt = NULL;
	size_t msg_len = 0, pt_len = 0, bad = 0;
	int64_t now = now_of(e);
	int rc, pinned = 0, have_c, delivered = 0, judged = 1, claimed = 0;
	const char *peer = NULL;
	struct dmp_codec *cd;

	memset(&m, 0, sizeof(m));
	dmp_sha256(vh, value, vlen);
	if (dmp_store_seen_value(e->st, name, vh) == 1) {
		return 0;
	}
	snprintf(where, sizeof(where), "at %s", name);
	rc = dmp_pipeline_accept_manifest(&m, value, vlen,
					  dmp_keys_user_id(e->keys), now);
	if (rc < 0) {
		reject(e, NULL, NULL, rc, where);
		(void)dmp_store_seen_value_put(e->st, name, vh,
					       (uint64_t)now + REJECT_KEEP);
		return 0;
	}
	if (want) {
		size_t i = 0;

		/* 6.4 phase 1 step 3: the claim's signer sent it. */
		while (i < n_want &&
		       (memcmp(want[i]->msg_id, m.msg_id, 16) != 0 ||
			memcmp(want[i]->sender_spk, m.sender_spk, 32) != 0)) {
			i++;
		}
		if (i == n_want) {
			dmp_manifest_clear(&m);
			return 0;
		}
	}
	have_c = dmp_store_contact_by_key(e->st, m.sender_spk, &c) == 0;
	if (have_c) {
		peer = c.alias;
		if (c.blocked) {
			reject(e, peer, m.msg_id, DMP_EACCES,
			       "sender is blocked");
			goto judged;
		}
		/* 6.4 step 4: our own zone admits any pinned key; another
		 * zone only the contacts pinned to it. */
		pinned = dmp_name_equal(zone, strlen(zone), e->conf.domain,
					strlen(e->conf.domain)) ||
			 dmp_name_equal(zone, strlen(zone), c.domain,
					strlen(c.domain));
	}
	rc = dmp_store_replay_claim(e->st, m.sender_spk, m.msg_id, m.exp, now);
	if (rc == DMP_EBUSY) {
		judged = 0;
		goto out;
	}
	if (rc < 0) {
		reject(e, peer, m.msg_id, rc, where);
		goto judged;
	}
	claimed = 1;
	/* Step 7: every chunk name in one batch, from the same zone. */
	cn = dmp_calloc(m.total_chunks, sizeof(*cn));
	cq = dmp_calloc(m.total_chunks, sizeof(*cq));
	cr = dmp_calloc(m.total_chunks, sizeof(*cr));
	cv = dmp_calloc(m.total_chunks, sizeof(*cv));
	if (!cn || !cq || !cr || !cv) {
		rc = DMP_ENOMEM;
		judged = 0;
		goto fail;
	}
	dmp_msg_key(key, m.msg_id, m.recipient_id, m.sender_spk);
	for (uint32_t i = 0; i < m.total_chunks; i++) {
		rc = dmp_name_chunk(cn[i], sizeof(cn[i]), i, key, zone);
		if (rc < 0) {
			goto fail;
		}
		cq[i] = cn[i];
	}
	rc = read_batch(e, cq, m.total_chunks, cr, m.recipient_id);
	if (rc < 0) {
		judged = 0;
		goto fail;
	}
	for (uint32_t i = 0; i < m.total_chunks; i++) {
		if (cr[i].err == 0) {
			cv[i].values = (const char *const *)cr[i].answer.values;
			cv[i].lens = cr[i].answer.lens;
			cv[i].count = cr[i].answer.n;
		}
	}
	rc = codec(e, &cd);
	if (rc == 0) {
		rc = dmp_pipeline_assemble(cd, &m, cv, &msg, &msg_len, &bad);
	}
	if (rc == DMP_ESHARES) {
		/* Missing chunks may still arrive: try again next pass. */
		judged = 0;
		if (bad > 0) {
			rc = DMP_ECHUNKHASH;
		}
		goto fail;
	}
	if (rc < 0) {
		goto fail;
	}
	if (m.prekey_id != 0) {
		rc = dmp_store_prekey_get(e->st, m.prekey_id, now, psk);
		if (rc < 0) {
			rc = rc == DMP_ESTORE ? rc : DMP_ENOPREKEY;
			goto fail;
		}
	}
	rc = dmp_pipeline_open(&m, msg, msg_len, e->keys,
			       m.prekey_id ? psk : NULL, now, &pt, &pt_len);
	dmp_wipe(psk, sizeof(psk));
	if (rc < 0) {
		goto fail;
	}
	{
		struct dmp_envelope env;
		char path[HOME_PATH_MAX + 300];

		dmp_envelope_decode(&env, pt, pt_len);
		rc = deliver(e, &m, pinned ? 0 : 1, pinned ? &c : NULL, &env,
			     path, sizeof(path));
		if (rc < 0) {
			judged = 0;
			goto fail;
		}
		(void)dmp_store_replay_finalize(e->st, m.sender_spk, m.msg_id,
						m.exp);
		claimed = 0;
		if (m.prekey_id != 0) {
			prekey_delete(e, m.prekey_id);
		}
		emit(e, pinned ? DMP_EV_RECEIVED : DMP_EV_INTRO,
		     pinned ? c.alias : (env.has_from ? env.from : NULL),
		     m.msg_id, 0, path);
		delivered = 1;
	}
	goto judged;
fail:
	if (claimed) {
		(void)dmp_store_replay_release(e->st, m.sender_spk, m.msg_id);
	}
	reject(e, peer, m.msg_id, rc, where);
	if (!judged) {
		goto out;
	}
judged:
	(void)dmp_store_seen_value_put(
	    e->st, name, vh,
	    m.exp > (uint64_t)now ? m.exp : (uint64_t)now + REJECT_KEEP);
out:
	if (cr) {
		for (uint32_t i = 0; i < m.total_chunks; i++) {
			dmp_resolver_result_clear(&cr[i]);
		}
	}
	dmp_free(cn);
	dmp_free(cq);
	dmp_free(cr);
	dmp_free(cv);
	dmp_free(msg);
	if (pt) {
		dmp_wipe(pt, pt_len);
	}
	dmp_free(pt);
	dmp_manifest_clear(&m);
	return delivered;
}

struct zones {
	char z[DMP_CFG_LIST_MAX * 8][254];
	size_t n;
	struct dmp_store_contact *pk_c; /* contacts whose prekeys we read */
	size_t n_c, cap_c;
};

static int add_zone(const struct dmp_store_contact *c, void *ud)
{
	struct zones *z = ud;
	int dup = 0;

	if (c->blocked) {
		return 0;
	}
	for (size_t i = 0; i < z->n; i++) {
		dup |= dmp_name_equal(z->z[i], strlen(z->z[i]), c->domain,
				      strlen(c->domain));
	}
	if (!dup && z->n < DMP_ARRAY_LEN(z->z)) {
		snprintf(z->z[z->n++], sizeof(z->z[0]), "%s", c->domain);
	}
	if (z->n_c == z->cap_c) {
		size_t cap = z->cap_c ? 2 * z->cap_c : 8;
		void *nv = dmp_realloc(z->pk_c, cap * sizeof(*z->pk_c));

		if (!nv) {
			return 1;
		}
		z->pk_c = nv;
		z->cap_c = cap;
	}
	z->pk_c[z->n_c++] = *c;
	return 0;
}

/* Bounds on what strangers' claims can make one poll do. */
#define CLAIMS_PER_POLL 64
#define CLAIM_DOMAINS_PER_POLL 8

struct pending_claim {
	struct dmp_claim c;
	const char *name; /* where the claim was found */
	uint8_t vh[32];	  /* hash of its value, for the seen cache */
};

/*
 * PROTOCOL.md 6.4 phase 1. @p res holds the answers for the claim names
 * @p names. Each verified claim names a message we have not received yet;
 * its manifest is looked for in all ten of our slots under the claim's
 * sender_mailbox_domain (the claim's slot is only a hint), and taken
 * through the same checks as phase 2 there: the pin gate sends a sender
 * not pinned for that zone to intro, never to the inbox. A claim is
 * remembered as done once its message is in (or its sender blocked);
 * until then it is tried again each poll, as the manifest may still be
 * on its way.
 * @return messages delivered
 */
static int claims_phase(struct dmp_engine *e, char (*names)[DMP_NAME_MAX],
			struct dmp_resolver_result *res, size_t n, int64_t now)
{
	struct pending_claim *pc = NULL;
	const char *doms[CLAIM_DOMAINS_PER_POLL];
	char(*sn)[DMP_NAME_MAX] = NULL;
	const char **sq = NULL;
	struct dmp_resolver_result *sr = NULL;
	size_t npc = 0, nd = 0;
	int delivered = 0;

	pc = dmp_calloc(CLAIMS_PER_POLL, sizeof(*pc));
	if (!pc) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n &&
				   npc < CLAIMS_PER_POLL;
		     j++) {
			struct pending_claim *p = &pc[npc];
			struct dmp_store_contact c;
			const char *v = res[i].answer.values[j];
			size_t vl = res[i].answer.lens[j], d;
			int rc;

			dmp_sha256(p->vh, v, vl);
			if (dmp_store_seen_value(e->st, names[i], p->vh) == 1) {
				continue;
			}
			rc =
			    dmp_claim_parse_verify(&p->c, v, vl, (uint64_t)now);
			if (rc < 0) {
				char where[DMP_NAME_MAX + 32];

				snprintf(where, sizeof(where), "claim at %s",
					 names[i]);
				reject(e, NULL, NULL, rc, where);
				(void)dmp_store_seen_value_put(
				    e->st, names[i], p->vh,
				    (uint64_t)now + REJECT_KEEP);
				continue;
			}
			/* Step 1: received already, or a blocked sender. */
			if (dmp_store_replay_seen(e->st, p->c.sender_spk,
						  p->c.msg_id) == 1 ||
			    (dmp_store_contact_by_key(e->st, p->c.sender_spk,
						      &c) == 0 &&
			     c.blocked)) {
				(void)dmp_store_seen_value_put(e->st, names[i],
							       p->vh, p->c.exp);
				continue;
			}
			for (d = 0; d < nd; d++) {
				if (dmp_name_equal(doms[d], strlen(doms[d]),
						   p->c.sender_mailbox_domain,
						   p->c.domain_len)) {
					break;
				}
			}
			if (d == nd) {
				if (nd == CLAIM_DOMAINS_PER_POLL) {
					continue; /* next poll */
				}
				doms[nd++] = p->c.sender_mailbox_domain;
			}
			p->name = names[i];
			npc++;
		}
	}
	if (npc == 0) {
		goto out;
	}
	sn = dmp_calloc(nd * DMP_SLOT_COUNT, sizeof(*sn));
	sq = dmp_calloc(nd * DMP_SLOT_COUNT, sizeof(*sq));
	sr = dmp_calloc(nd * DMP_SLOT_COUNT, sizeof(*sr));
	if (!sn || !sq || !sr) {
		goto out;
	}
	/* Step 2: all ten slots of every named domain, in one batch. */
	for (size_t d = 0; d < nd; d++) {
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			size_t k = d * DMP_SLOT_COUNT + s;

			if (dmp_name_slot(sn[k], sizeof(sn[k]), s,
					  dmp_keys_user_id(e->keys),
					  doms[d]) < 0) {
				goto out;
			}
			sq[k] = sn[k];
		}
	}
	if (read_batch(e, sq, nd * DMP_SLOT_COUNT, sr,
		       dmp_keys_user_id(e->keys)) < 0) {
		goto out;
	}
	for (size_t d = 0; d < nd; d++) {
		const struct dmp_claim *want[CLAIMS_PER_POLL];
		size_t nw = 0;

		for (size_t i = 0; i < npc; i++) {
			if (dmp_name_equal(doms[d], strlen(doms[d]),
					   pc[i].c.sender_mailbox_domain,
					   pc[i].c.domain_len)) {
				want[nw++] = &pc[i].c;
			}
		}
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			struct dmp_resolver_result *r =
			    &sr[d * DMP_SLOT_COUNT + s];

			for (size_t j = 0; r->err == 0 && j < r->answer.n;
			     j++) {
				delivered += receive_one(
				    e, doms[d], sn[d * DMP_SLOT_COUNT + s],
				    r->answer.values[j], r->answer.lens[j],
				    want, nw);
			}
		}
	}
	for (size_t i = 0; i < npc; i++) {
		if (dmp_store_replay_seen(e->st, pc[i].c.sender_spk,
					  pc[i].c.msg_id) == 1) {
			(void)dmp_store_seen_value_put(e->st, pc[i].name,
						       pc[i].vh, pc[i].c.exp);
		}
	}
out:
	for (size_t i = 0; sr && i < nd * DMP_SLOT_COUNT; i++) {
		dmp_resolver_result_clear(&sr[i]);
	}
	dmp_free(sn);
	dmp_free(sq);
	dmp_free(sr);
	dmp_free(pc);
	return delivered;
}

/* Keep what others need to reach us fresh: re-publish the identity twice
 * per TTL and top the prekey pool up once half of it is used or stale.
 * Only after the user published once (`dmp identity publish`). */
static void maintain(struct dmp_engine *e, int64_t now)
{
	struct dmp_store_identity id;
	int have, rc = 0;

	if (dmp_store_identity_get(e->st, &id) < 0 || id.published == 0) {
		return;
	}
	if (now - id.published > IDENTITY_REPUBLISH) {
		rc = dmp_engine_identity_publish(e);
	} else {
		have = dmp_store_prekey_count(e->st, now + 3600);
		if (have >= 0 && have < e->conf.pool_size / 2) {
			rc = dmp_engine_prekeys_refresh(e);
		}
	}
	if (rc < 0) {
		DMP_LOG_W("identity/prekey upkeep: %s", dmp_strerror(rc));
	}
}

int dmp_engine_poll(struct dmp_engine *e)
{
	struct zones *z;
	char(*names)[DMP_NAME_MAX] = NULL;
	const char **q = NULL;
	struct dmp_resolver_result *res = NULL;
	struct dmp_resolver *r = dmp_engine_resolver(e);
	size_t n = 0, ns, nc0, answered = 0, failed = 0;
	struct claim_zones cz = {.n = 0};
	int64_t now = now_of(e);
	int rc, delivered = 0;

	if (!r) {
		return DMP_EUNREACHABLE;
	}
	z = dmp_calloc(1, sizeof(*z));
	if (!z) {
		return DMP_ENOMEM;
	}
	snprintf(z->z[z->n++], sizeof(z->z[0]), "%s", e->conf.domain);
	rc = dmp_store_contact_each(e->st, add_zone, z);
	if (rc < 0) {
		goto out;
	}
	ns = z->n * DMP_SLOT_COUNT;
	/* Claims (6.4 phase 1): our own zone and each provider zone. */
	nc0 = ns + z->n_c;
	claim_zones_add(&cz, e->conf.domain);
	claim_providers(e, &cz);
	names = dmp_calloc(nc0 + cz.n * DMP_SLOT_COUNT, sizeof(*names));
	q = dmp_calloc(nc0 + cz.n * DMP_SLOT_COUNT, sizeof(*q));
	res = dmp_calloc(nc0 + cz.n * DMP_SLOT_COUNT, sizeof(*res));
	if (!names || !q || !res) {
		rc = DMP_ENOMEM;
		goto out;
	}
	/* Phase 2 (6.4): every slot of every zone, plus the contacts' prekey
	 * pools, in one batch. */
	for (size_t i = 0; i < z->n; i++) {
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			rc = dmp_name_slot(names[n], sizeof(names[n]), s,
					   dmp_keys_user_id(e->keys), z->z[i]);
			if (rc < 0) {
				goto out;
			}
			q[n] = names[n];
			n++;
		}
	}
	for (size_t i = 0; i < z->n_c; i++) {
		rc = prekey_name(names[n], sizeof(names[n]), &z->pk_c[i]);
		if (rc < 0) {
			goto out;
		}
		q[n] = names[n];
		n++;
	}
	for (size_t i = 0; i < cz.n; i++) {
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			/* A provider zone that makes no valid name is skipped,
			 * not a reason to skip the poll. */
			if (dmp_name_claim(names[n], sizeof(names[n]), s,
					   dmp_keys_user_id(e->keys),
					   cz.z[i]) < 0) {
				DMP_LOG_W("claims: bad zone %s", cz.z[i]);
				break;
			}
			q[n] = names[n];
			n++;
		}
	}
	rc = read_batch(e, q, n, res, dmp_keys_user_id(e->keys));
	if (rc < 0) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (res[i].err == 0 || res[i].err == DMP_ENXDOMAIN) {
			answered++;
		} else {
			failed++;
		}
	}
	for (size_t i = 0; i < ns; i++) {
		const char *zone = z->z[i / DMP_SLOT_COUNT];

		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n;
		     j++) {
			delivered += receive_one(
			    e, zone, names[i], res[i].answer.values[j],
			    res[i].answer.lens[j], NULL, 0);
		}
	}
	for (size_t i = 0; i < z->n_c; i++) {
		(void)cache_prekeys(e, z->pk_c[i].ed25519_pk, &res[ns + i]);
	}
	delivered += claims_phase(e, names + nc0, res + nc0, n - nc0, now);
	(void)dmp_store_prekey_reap(e->st, now);
	(void)dmp_store_replay_reap(e->st, now);
	(void)dmp_store_cache_reap(e->st, now);
	e->last_poll = now;
	if (answered > 0) {
		maintain(e, now);
	}
	set_state(e, failed == 0     ? DMP_ENGINE_ONLINE
		     : answered == 0 ? DMP_ENGINE_OFFLINE
				     : DMP_ENGINE_DEGRADED);
	rc = answered == 0 ? DMP_EUNREACHABLE : delivered;
	if (answered == 0) {
		e->errors++;
		snprintf(e->last_error, sizeof(e->last_error), "%s",
			 dmp_strerror(DMP_EUNREACHABLE));
	}
out:
	for (size_t i = 0; res && i < n; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	dmp_free(names);
	dmp_free(q);
	dmp_free(res);
	dmp_free(z->pk_c);
	dmp_free(z);
	return rc;
}

/* ---- status
 * --------------------------------------------------------------------- */

static int count_pending(const struct dmp_outbox_msg *m, void *ud)
{
	if (m->state != DMP_OUTBOX_FAILED) {
		(*(int *)ud)++;
	}
	return 0;
}

int dmp_engine_status(struct dmp_engine *e, struct dmp_engine_status *out)
{
	memset(out, 0, sizeof(*out));
	out->state = e->state;
	snprintf(out->address, sizeof(out->address), "%s", e->address);
	out->last_poll = e->last_poll;
	out->next_poll =
	    e->last_poll ? e->last_poll + e->conf.poll_interval : now_of(e);
	(void)dmp_store_outbox_each_pending(e->st, count_pending, &out->queued);
	out->errors = e->errors;
	snprintf(out->last_error, sizeof(out->last_error), "%s", e->last_error);
	return 0;
}

/* ---- TSIG self-registration (PROTOCOL.md 7.2) ---------------------------- */

#define REG_REPLY_MAX 16384

struct http_buf {
	char data[REG_REPLY_MAX];
	size_t len;
	int over;
};

static size_t http_sink(char *p, size_t sz, size_t n, void *ud)
{
	struct http_buf *b = ud;
	size_t len = sz * n;

	if (len > sizeof(b->data) - 1 - b->len) {
		b->over = 1;
		return 0; /* a reply this large is not the node's */
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = 0;
	return len;
}

/* One HTTP exchange; @p body NULL means GET. Returns the status or a
 * negative code. */
static int http_call(const char *url, const char *body, long timeout_ms,
		     struct http_buf *b)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode cc;

	memset(b, 0, sizeof(*b));
	if (!h) {
		return DMP_ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (body) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (b->over) {
		return DMP_EMALFORMED;
	}
	if (cc != CURLE_OK) {
		DMP_LOG_E("register: %s: %s", url, curl_easy_strerror(cc));
		return DMP_EUNREACHABLE;
	}
	return (int)status;
}

static int http_status_code(int st)
{
	switch (st) {
	case 200: return 0;
	case 401: return DMP_ENOTAUTH;
	case 403: return DMP_EACCES;
	case 404: return DMP_ENOENT;
	case 409: return DMP_EEXIST;
	case 429: return DMP_EAGAIN;
	default: return st < 0 ? st : DMP_EIO;
	}
}

static int json_hex(const json_t *o, const char *k, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (!s || strlen(s) != 2 * n || dmp_hex_decode(out, n, s, 2 * n) < 0) {
		return DMP_EMALFORMED;
	}
	return 0;
}

int dmp_engine_register_tsig(struct dmp_engine *e, const char *url,
			     char *key_name, size_t cap)
{
	char u[1024], path[HOME_PATH_MAX + 16], node[DMP_NAME_MAX];
	char chx[65], spk[65], sigx[129], xpx[65], popx[65];
	char key[DMP_CFG_STR_MAX], secret_b64[128], subj[320];
	uint8_t ch[32], spub[32], pop[32], xsk[32], sig[DMP_SIG_BYTES];
	uint8_t payload[32 + 320 + DMP_NAME_MAX + 1], secret[64];
	struct http_buf *b = NULL;
	struct dmp_tsig_key *tk = NULL;
	json_t *j = NULL, *req = NULL;
	char *body = NULL;
	const char *s, *name;
	size_t plen, ulen, slen;
	int st, rc;

	if (key_name && cap) {
		key_name[0] = 0;
	}
	if (!e || !url || !*url) {
		return DMP_EINVAL;
	}
	/* The node lower-cases the subject and checks both proofs over that
	 * (7.2), so send it lower-cased. */
	for (size_t i = 0; i < sizeof(subj); i++) {
		subj[i] = (char)tolower((unsigned char)e->address[i]);
		if (!subj[i]) {
			break;
		}
	}
	subj[sizeof(subj) - 1] = 0;
	ulen = strlen(url);
	while (ulen > 0 && url[ulen - 1] == '/') {
		ulen--; /* tolerate a trailing slash */
	}
	b = dmp_malloc(sizeof(*b));
	if (!b) {
		return DMP_ENOMEM;
	}
	snprintf(u, sizeof(u), "%.*s/v1/registration/challenge", (int)ulen,
		 url);
	st = http_call(u, NULL, e->conf.timeout_ms, b);
	if ((rc = http_status_code(st)) < 0) {
		goto out;
	}
	j = json_loadb(b->data, b->len, 0, NULL);
	s = json_string_value(json_object_get(j, "node"));
	if (!j || !s || !*s || strlen(s) >= sizeof(node) ||
	    json_hex(j, "challenge", ch, 32) < 0 ||
	    json_hex(j, "server_x25519_pub", spub, 32) < 0) {
		DMP_LOG_E("register: the challenge reply is not a DMP one");
		rc = DMP_EMALFORMED;
		goto out;
	}
	snprintf(node, sizeof(node), "%s", s);
	rc = dmp_registration_payload(payload, sizeof(payload), &plen, ch, subj,
				      node);
	if (rc < 0) {
		goto out;
	}
	dmp_keys_sign(e->keys, sig, payload, plen);
	if ((rc = dmp_keys_export_x25519(e->keys, xsk)) < 0) {
		goto out;
	}
	rc = dmp_registration_pop(pop, xsk, dmp_keys_x25519_pk(e->keys), spub,
				  ch, subj);
	dmp_wipe(xsk, sizeof(xsk));
	if (rc < 0) {
		goto out;
	}
	dmp_hex_encode(chx, ch, 32);
	dmp_hex_encode(spk, dmp_keys_ed25519_pk(e->keys), 32);
	dmp_hex_encode(sigx, sig, sizeof(sig));
	dmp_hex_encode(xpx, dmp_keys_x25519_pk(e->keys), 32);
	dmp_hex_encode(popx, pop, 32);
	req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "subject", subj,
			"ed25519_spk", spk, "challenge", chx, "signature", sigx,
			"x25519_pub", xpx, "x25519_pop", popx);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		rc = DMP_ENOMEM;
		goto out;
	}
	snprintf(u, sizeof(u), "%.*s/v1/registration/tsig-confirm", (int)ulen,
		 url);
	st = http_call(u, body, e->conf.timeout_ms, b);
	if ((rc = http_status_code(st)) < 0) {
		if (b->len) {
			DMP_LOG_E("register: node said %d: %.200s", st,
				  b->data);
		}
		goto out;
	}
	json_decref(j);
	j = json_loadb(b->data, b->len, 0, NULL);
	name = json_string_value(json_object_get(j, "tsig_key_name"));
	s = json_string_value(json_object_get(j, "tsig_secret_hex"));
	if (!j || !name || !s || strlen(s) % 2 || strlen(s) < 32 ||
	    strlen(s) > 2 * sizeof(secret) ||
	    dmp_hex_decode(secret, strlen(s) / 2, s, strlen(s)) < 0) {
		DMP_LOG_E("register: the confirm reply has no usable key");
		rc = DMP_EMALFORMED;
		goto out;
	}
	slen = strlen(s) / 2;
	if (dmp_b64_encode(secret_b64, sizeof(secret_b64), secret, slen) < 0) {
		rc = DMP_EINTERNAL;
		goto out;
	}
	/* Config form: hmac-sha256:NAME:BASE64, NAME without the root dot. */
	{
		size_t nl = strlen(name);
		while (nl > 0 && name[nl - 1] == '.') {
			nl--;
		}
		if ((size_t)snprintf(key, sizeof(key), "hmac-sha256:%.*s:%s",
				     (int)nl, name,
				     secret_b64) >= sizeof(key) ||
		    dmp_tsig_key_parse(&tk, key) < 0) {
			DMP_LOG_E("register: the minted key does not parse");
			rc = DMP_EMALFORMED;
			goto out;
		}
	}
	snprintf(e->conf.tsig, sizeof(e->conf.tsig), "%s", key);
	snprintf(path, sizeof(path), "%s/config.yaml", e->home);
	if ((rc = dmp_client_conf_write(&e->conf, path)) < 0) {
		goto out;
	}
	dmp_tsig_key_free(e->tsig);
	e->tsig = tk;
	tk = NULL;
	if (key_name && cap) {
		snprintf(key_name, cap, "%s", name);
	}
	emit(e, DMP_EV_IDENTITY, NULL, NULL, 0, "TSIG key registered");
	rc = 0;
out:
	dmp_tsig_key_free(tk);
	dmp_wipe(secret, sizeof(secret));
	dmp_wipe(secret_b64, sizeof(secret_b64));
	dmp_wipe(key, sizeof(key));
	dmp_wipe(b, sizeof(*b));
	dmp_free(b);
	if (body) {
		dmp_wipe(body, strlen(body));
		free(body);
	}
	json_decref(req);
	json_decref(j);
	return rc;
}

/* ---- resolver discovery -------------------------------------------------- */

#define DISCOVER_SAVE_MAX 4

static int probe_add(struct dmp_resolver_probe *v, size_t *n, size_t cap,
		     const char *addr)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(v[i].addr, addr) == 0) {
			return 0;
		}
	}
	if (*n >= cap || strlen(addr) >= sizeof(v[0].addr)) {
		return 0;
	}
	memset(&v[*n], 0, sizeof(v[0]));
	snprintf(v[*n].addr, sizeof(v[0].addr), "%s", addr);
	v[*n].rtt_ms = -1;
	(*n)++;
	return 0;
}

static void resolv_conf_servers(struct dmp_resolver_probe *v, size_t *n,
				size_t cap)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	char line[256], addr[64];

	if (!f) {
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %63s", addr) == 1) {
			probe_add(v, n, cap, addr);
		}
	}
	fclose(f);
}

static int probe_better(const struct dmp_resolver_probe *a,
			const struct dmp_resolver_probe *b)
{
	if (a->grade != b->grade) {
		return a->grade > b->grade;
	}
	if (a->rtt_ms < 0 || b->rtt_ms < 0) {
		return a->rtt_ms >= 0 && b->rtt_ms < 0;
	}
	return a->rtt_ms < b->rtt_ms;
}

int dmp_engine_resolvers_discover(struct dmp_engine *e,
				  const char *const *cands, size_t n,
				  struct dmp_resolver_probe *out, size_t cap,
				  int save)
{
	struct dmp_resolver_probe v[DMP_RESOLVER_MAX_SERVERS];
	char name[DMP_NAME_MAX], path[HOME_PATH_MAX + 16];
	size_t nv = 0, nout;
	int rc, best;

	if (!e || (n && !cands) || (cap && !out)) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		probe_add(v, &nv, DMP_ARRAY_LEN(v), cands[i]);
	}
	for (unsigned i = 0; i < e->conf.resolvers.n; i++) {
		probe_add(v, &nv, DMP_ARRAY_LEN(v), e->conf.resolvers.v[i]);
	}
	resolv_conf_servers(v, &nv, DMP_ARRAY_LEN(v));
	rc = dmp_name_identity(name, sizeof(name), e->conf.username,
			       strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	/* One pool per candidate, so each answer is that server's own. */
	for (size_t i = 0; i < nv; i++) {
		struct dmp_resolver_opts o;
		struct dmp_resolver *r = NULL;
		struct dmp_resolver_result res;
		const char *srv = v[i].addr;
		int64_t t0;

		dmp_resolver_opts_default(&o);
		o.servers = &srv;
		o.n_servers = 1;
		o.timeout_ms = (unsigned)e->conf.timeout_ms;
		rc = dmp_resolver_new(&r, &o);
		if (rc < 0) {
			v[i].err = rc;
			continue;
		}
		memset(&res, 0, sizeof(res));
		t0 = mono_ms();
		rc = dmp_resolver_query(r, name, &res,
					(unsigned)e->conf.timeout_ms + 500);
		v[i].err = rc;
		if (rc == 0 || rc == DMP_ENXDOMAIN) {
			v[i].rtt_ms = (int)(mono_ms() - t0);
			v[i].grade = rc == 0 && res.answer.n > 0 ? 2 : 1;
		}
		dmp_resolver_result_clear(&res);
		dmp_resolver_free(r);
	}
	/* Insertion sort: a handful of entries. */
	for (size_t i = 1; i < nv; i++) {
		struct dmp_resolver_probe t = v[i];
		size_t j = i;

		while (j > 0 && probe_better(&t, &v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
	nout = nv < cap ? nv : cap;
	if (nout) {
		memcpy(out, v, nout * sizeof(v[0]));
	}
	if (!save) {
		return (int)nout;
	}
	best = nv ? v[0].grade : 0;
	if (best == 0) {
		return DMP_ENOENT;
	}
	memset(&e->conf.resolvers, 0, sizeof(e->conf.resolvers));
	for (size_t i = 0; i < nv && e->conf.resolvers.n < DISCOVER_SAVE_MAX;
	     i++) {
		if (v[i].grade != best) {
			break;
		}
		char *dst = e->conf.resolvers.v[e->conf.resolvers.n];
		size_t l = strnlen(v[i].addr, sizeof(v[i].addr) - 1);

		memcpy(dst, v[i].addr, l); /* l < 64 <= DMP_CFG_STR_MAX */
		dst[l] = 0;
		e->conf.resolvers.n++;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", e->home);
	if ((rc = dmp_client_conf_write(&e->conf, path)) < 0) {
		return rc;
	}
	/* The pool is rebuilt from the new list on next use. */
	dmp_resolver_free(e->res);
	e->res = NULL;
	return (int)nout;
}

int dmp_passfile_read(const char *path, char **out)
{
	struct stat sb;
	char buf[1024];
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
	} else if ((sb.st_mode & 077) != 0) {
		rc = DMP_EACCES;
	} else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		rc = -errno;
	} else {
		buf[n] = 0;
		buf[strcspn(buf, "\r\n")] = 0;
		*out = dmp_malloc(strlen(buf) + 1);
		if (*out) {
			memcpy(*out, buf, strlen(buf) + 1);
		} else {
			rc = DMP_ENOMEM;
		}
	}
	close(fd);
	dmp_wipe(buf, sizeof(buf));
	return rc;
}

int dmp_passphrase_prompt(const char *what, char **out)
{
	struct termios old, noecho;
	char buf[1024];
	FILE *tty = fopen("/dev/tty", "r+");
	int have_tty, rc = 0;

	*out = NULL;
	if (!tty) {
		return DMP_ENOENT;
	}
	fprintf(tty, "%s", what);
	fflush(tty);
	have_tty = tcgetattr(fileno(tty), &old) == 0;
	if (have_tty) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
	}
	if (!fgets(buf, sizeof(buf), tty)) {
		buf[0] = 0;
	}
	if (have_tty) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	}
	fprintf(tty, "\n");
	fclose(tty);
	buf[strcspn(buf, "\r\n")] = 0;
	*out = dmp_malloc(strlen(buf) + 1);
	if (*out) {
		memcpy(*out, buf, strlen(buf) + 1);
	} else {
		rc = DMP_ENOMEM;
	}
	dmp_wipe(buf, sizeof(buf));
	return rc;
}
