/*
 * core/src/client/engine_config.c - the engine's side of config.yaml: a
 * config built from `dmp init`'s answers, the way out when config.yaml is
 * lost (dmp_engine_repair_config) and accessors of the loaded config.
 * The schema and the writer are client_config.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/store.h"
#include "engine_i.h"

/* An accessor of the loaded config (engine.h). */
int dmp_engine_has_tsig(const struct dmp_engine *e)
{
	return e && e->conf.tsig[0] != '\0';
}

int dmp_eng_conf_from_init(struct client_conf *c,
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
	if (in->zone_key) {
		rc = dmp_config_set(dmp_client_schema, dmp_client_schema_len, c,
				    "cluster.zone_key", in->zone_key, 0, err,
				    sizeof(err));
		if (rc < 0 || dmp_eng_zone_key_check(c, "init") < 0) {
			return DMP_EINVAL;
		}
	}
	return 0;
}

int dmp_eng_init_start(const char *home, const struct dmp_engine_init *in,
		       const char *passphrase, char *h, size_t cap)
{
	int rc;

	if (!in || !in->username || !in->domain || !passphrase ||
	    ((!in->nodes || !in->nodes[0]) && !in->zone_key)) {
		return DMP_EINVAL; /* nodes, or the key to find them */
	}
	if ((rc = dmp_init()) < 0) {
		return rc;
	}
	return dmp_engine_resolve_home(h, cap, home) < 0 ? DMP_EINVAL : 0;
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

	if ((rc = dmp_eng_init_start(home, in, passphrase, h, sizeof(h))) < 0) {
		return rc;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", h);
	if (stat(path, &sb) == 0) {
		return DMP_EEXIST;
	}
	snprintf(path, sizeof(path), "%s/state.db", h);
	if (stat(path, &sb) != 0) {
		return DMP_ENOENT;
	}
	if ((rc = dmp_eng_conf_from_init(&c, in)) < 0) {
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
