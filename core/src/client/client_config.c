/* core/src/client/client_config.c - the client's config.yaml schema. */
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client_config.h"
#include "dmp/engine.h"
#include "engine_i.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/store.h"
#include "dmp/log.h"

#define S(sec, key, field, def)                                                \
	{                                                                      \
		sec, key, DMP_CFG_STR, offsetof(struct client_conf, field),    \
		    sizeof(((struct client_conf *)0)->field), 0, 0, def        \
	}
#define I(sec, key, field, lo, hi, def)                                        \
	{                                                                      \
		sec, key, DMP_CFG_INT, offsetof(struct client_conf, field), 0, \
		    lo, hi, def                                                \
	}
#define B(sec, key, field, def)                                                \
	{                                                                      \
		sec, key, DMP_CFG_BOOL, offsetof(struct client_conf, field),   \
		    0, 0, 0, def                                               \
	}
#define L(sec, key, field)                                                     \
	{                                                                      \
		sec, key, DMP_CFG_LIST, offsetof(struct client_conf, field),   \
		    0, 0, 0, NULL                                              \
	}

const struct dmp_cfg_item dmp_client_schema[] = {
    S("identity", "username", username, NULL),
    S("identity", "domain", domain, NULL),
    B("identity", "anchored", anchored, "false"),
    L("network", "nodes", nodes),
    L("network", "resolvers", resolvers),
    S("network", "tsig", tsig, NULL),
    B("network", "direct", direct, "true"),
    I("network", "timeout_ms", timeout_ms, 100, 60000, "2000"),
    I("network", "replicas", replicas, 0, DMP_CFG_LIST_MAX, "0"),
    L("network", "zone_servers", zone_servers),
    I("network", "confirm_resolvers", confirm_resolvers, 0, DMP_CFG_LIST_MAX,
      "0"),
    L("claims", "providers", claim_providers),
    B("claims", "recipient_zone", claim_recipient_zone, "true"),
    B("claims", "discover", claim_discover, "true"),
    I("messages", "lifetime", lifetime, 60, 2592000, "604800"),
    I("messages", "max_lifetime", max_lifetime, 60, 2592000, "604800"),
    I("messages", "poll_interval", poll_interval, 1, 86400, "30"),
    I("prekeys", "pool_size", pool_size, 0, 200, "25"),
    I("prekeys", "ttl", prekey_ttl, 300, 2592000, "86400"),
    L("discovery", "seeds", seeds),
    B("discovery", "allow_loopback", allow_loopback, "false"),
    I("discovery", "interval", discovery_interval, 10, 86400, "600"),
};
const size_t dmp_client_schema_len =
    sizeof(dmp_client_schema) / sizeof(dmp_client_schema[0]);

/* Double-quoted YAML scalar; our values never hold control bytes. */
static void qstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void qlist(FILE *f, const struct dmp_cfg_list *l)
{
	fputc('[', f);
	for (unsigned i = 0; i < l->n; i++) {
		if (i) {
			fputs(", ", f);
		}
		qstr(f, l->v[i]);
	}
	fputs("]\n", f);
}

int dmp_client_conf_write(const struct client_conf *c, const char *path)
{
	char tmp[4096];
	FILE *f;
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		DMP_LOG_E("config: %s: %s", tmp, strerror(errno));
		return DMP_EIO;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return DMP_EIO;
	}
	fputs("# dmp client config (dmp.yaml(5)); unknown keys are errors.\n",
	      f);
	fputs("identity:\n  username: ", f);
	qstr(f, c->username);
	fputs("\n  domain: ", f);
	qstr(f, c->domain);
	fprintf(f, "\n  anchored: %s", c->anchored ? "true" : "false");
	fputs("\nnetwork:\n  nodes: ", f);
	qlist(f, &c->nodes);
	fputs("  resolvers: ", f);
	qlist(f, &c->resolvers);
	fputs("  tsig: ", f);
	qstr(f, c->tsig);
	fprintf(f, "\n  direct: %s\n  timeout_ms: %lld\n  replicas: %lld\n",
		c->direct ? "true" : "false", c->timeout_ms, c->replicas);
	fputs("  zone_servers: ", f);
	qlist(f, &c->zone_servers);
	fprintf(f, "  confirm_resolvers: %lld\n", c->confirm_resolvers);
	fputs("claims:\n  providers: ", f);
	qlist(f, &c->claim_providers);
	fprintf(f, "  recipient_zone: %s\n  discover: %s\n",
		c->claim_recipient_zone ? "true" : "false",
		c->claim_discover ? "true" : "false");
	fprintf(f,
		"messages:\n  lifetime: %lld\n  max_lifetime: %lld\n"
		"  poll_interval: %lld\n",
		c->lifetime, c->max_lifetime, c->poll_interval);
	fprintf(f, "prekeys:\n  pool_size: %lld\n  ttl: %lld\n", c->pool_size,
		c->prekey_ttl);
	fputs("discovery:\n  seeds: ", f);
	qlist(f, &c->seeds);
	fprintf(f, "  allow_loopback: %s\n  interval: %lld\n",
		c->allow_loopback ? "true" : "false", c->discovery_interval);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		DMP_LOG_E("config: %s: %s", path, strerror(errno));
		unlink(tmp);
		return DMP_EIO;
	}
	return 0;
}

/* An accessor of the loaded config (engine.h); here, next to the schema. */
int dmp_engine_has_tsig(const struct dmp_engine *e)
{
	return e && e->conf.tsig[0] != '\0';
}

int dmp_client_conf_from_init(struct client_conf *c,
			      const struct dmp_engine_init *in)
{
	struct dmp_tsig_key *tk = NULL;
	char err[512];
	int rc;

	if (in->tsig && *in->tsig) {
		rc = dmp_tsig_key_parse(&tk, in->tsig);
		dmp_tsig_key_free(tk);
		if (rc < 0) {
			DMP_LOG_E("init: invalid TSIG key (want "
				  "hmac-sha256:NAME:BASE64SECRET)");
			return DMP_EINVAL;
		}
	}
	memset(c, 0, sizeof(*c));
	rc = dmp_config_defaults(dmp_client_schema, dmp_client_schema_len, c);
	if (rc < 0) {
		return rc;
	}
	snprintf(c->username, sizeof(c->username), "%s", in->username);
	snprintf(c->domain, sizeof(c->domain), "%s", in->domain);
	for (size_t i = 0; in->nodes && in->nodes[i]; i++) {
		rc = dmp_config_set(dmp_client_schema, dmp_client_schema_len, c,
				    "network.nodes", in->nodes[i], i > 0, err,
				    sizeof(err));
		if (rc < 0) {
			DMP_LOG_E("init: %s", err);
			return DMP_EINVAL;
		}
	}
	for (size_t i = 0; in->resolvers && in->resolvers[i]; i++) {
		rc = dmp_config_set(dmp_client_schema, dmp_client_schema_len, c,
				    "network.resolvers", in->resolvers[i],
				    i > 0, err, sizeof(err));
		if (rc < 0) {
			DMP_LOG_E("init: %s", err);
			return DMP_EINVAL;
		}
	}
	if (in->tsig) {
		snprintf(c->tsig, sizeof(c->tsig), "%s", in->tsig);
	}
	return 0;
}

int dmp_engine_repair_config(const char *home, const struct dmp_engine_init *in,
			     const char *passphrase)
{
	char h[DMP_ENG_HOME_MAX], path[DMP_ENG_HOME_MAX + 16];
	struct client_conf c;
	struct dmp_store *st = NULL;
	struct dmp_keys *k = NULL;
	struct dmp_store_identity id;
	struct stat sb;
	int rc;

	if (!in || !in->username || !in->domain || !passphrase || !in->nodes ||
	    !in->nodes[0]) {
		return DMP_EINVAL;
	}
	if ((rc = dmp_init()) < 0) {
		return rc;
	}
	if (dmp_engine_resolve_home(h, sizeof(h), home) < 0) {
		return DMP_EINVAL;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", h);
	if (stat(path, &sb) == 0) {
		return DMP_EEXIST;
	}
	snprintf(path, sizeof(path), "%s/state.db", h);
	if (stat(path, &sb) != 0) {
		return DMP_ENOENT;
	}
	if ((rc = dmp_client_conf_from_init(&c, in)) < 0) {
		return rc;
	}
	if ((rc = dmp_store_open(&st, path)) < 0) {
		return rc;
	}
	if ((rc = dmp_store_identity_get(st, &id)) < 0) {
		goto out;
	}
	if (strcasecmp(id.username, in->username) != 0 ||
	    strcasecmp(id.domain, in->domain) != 0) {
		DMP_LOG_E("init --repair: state.db holds %s@%s, not %s@%s",
			  id.username, id.domain, in->username, in->domain);
		rc = DMP_EINVAL;
		goto out;
	}
	rc = dmp_keys_derive_checked(&k, passphrase, strlen(passphrase),
				     id.salt, id.salt_len, id.x25519_pk);
	if (rc < 0) {
		goto out;
	}
	/* The identity's own spelling, as init wrote it. */
	snprintf(c.username, sizeof(c.username), "%s", id.username);
	snprintf(c.domain, sizeof(c.domain), "%s", id.domain);
	snprintf(path, sizeof(path), "%s/config.yaml", h);
	rc = dmp_client_conf_write(&c, path);
out:
	dmp_keys_free(k);
	dmp_store_close(st);
	return rc;
}
