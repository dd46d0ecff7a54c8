/*
 * core/src/client/engine_reload.c - dmp_engine_reload(): config.yaml read
 * again while the engine runs (dmpfs: SIGHUP or a write to .reload). The
 * settings read from e->conf each time they are used change at once; the
 * ones baked into objects built at open (resolver pools, the TSIG key,
 * the identity, discovery) wait for the next start, and the event says so.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "engine_i.h"

/* "section.key" of the schema items that apply without a restart. */
static const char *const live_keys[] = {
    "messages.lifetime",
    "messages.max_lifetime",
    "messages.poll_interval",
    "messages.receipts",
    "messages.max_file",
    "messages.multipart",
    "claims.providers",
    "claims.recipient_zone",
    "claims.discover",
    "prekeys.pool_size",
    "prekeys.ttl",
    "network.zone_servers",
    "network.confirm_resolvers",
    "network.relays",
    "network.relays_from_discovery",
    "privacy.pad_buckets",
    "privacy.delay",
    "privacy.delay_mean_ms",
    "privacy.delay_max_ms",
    "privacy.cover_rate",
    "privacy.cover_polls",
};

static int is_live(const struct dmp_cfg_item *it)
{
	char k[64];

	snprintf(k, sizeof(k), "%s.%s", it->section, it->key);
	for (size_t i = 0; i < DMP_ARRAY_LEN(live_keys); i++) {
		if (strcmp(k, live_keys[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

/* 1 when the item differs between @p a and @p b. */
static int differs(const struct dmp_cfg_item *it, const void *a, const void *b)
{
	const char *pa = (const char *)a + it->offset;
	const char *pb = (const char *)b + it->offset;

	switch (it->type) {
	case DMP_CFG_STR: return strcmp(pa, pb) != 0;
	case DMP_CFG_INT:
		return *(const long long *)(const void *)pa !=
		       *(const long long *)(const void *)pb;
	case DMP_CFG_BOOL:
		return *(const int *)(const void *)pa !=
		       *(const int *)(const void *)pb;
	case DMP_CFG_LIST: {
		const struct dmp_cfg_list *la = (const void *)pa;
		const struct dmp_cfg_list *lb = (const void *)pb;

		if (la->n != lb->n) {
			return 1;
		}
		for (unsigned i = 0; i < la->n; i++) {
			if (strcmp(la->v[i], lb->v[i]) != 0) {
				return 1;
			}
		}
		return 0;
	}
	}
	return 0;
}

static void append(char *out, size_t cap, const struct dmp_cfg_item *it)
{
	size_t n = strlen(out);

	snprintf(out + n, cap - n, "%s%s.%s", n ? ", " : "", it->section,
		 it->key);
}

int dmp_engine_reload(struct dmp_engine *e, int report)
{
	struct client_conf *c = dmp_calloc(1, sizeof(*c));
	char live[512] = "", fixed[512] = "", d[1200],
	     path[DMP_ENG_HOME_MAX + 16];
	int rc, applied = 0;

	if (!c) {
		return DMP_ENOMEM;
	}
	rc = dmp_eng_load_conf(c, e->home);
	if (rc < 0) {
		/* Parse once more for the file:line of the error. */
		char err[512] = "";

		snprintf(path, sizeof(path), "%s/config.yaml", e->home);
		memset(c, 0, sizeof(*c));
		if (dmp_config_defaults(dmp_client_schema,
					dmp_client_schema_len, c) == 0 &&
		    dmp_config_load(dmp_client_schema, dmp_client_schema_len, c,
				    path, err, sizeof(err)) == 0) {
			snprintf(err, sizeof(err), "%s", dmp_strerror(rc));
		}
		snprintf(d, sizeof(d),
			 "config.yaml not reloaded, the running settings are "
			 "kept: %s",
			 err[0] ? err : dmp_strerror(rc));
		DMP_LOG_W("%s", d);
		if (report) {
			dmp_eng_emit(e, DMP_EV_CONFIG, NULL, NULL, rc, d);
		}
		dmp_free(c);
		return rc;
	}
	for (size_t i = 0; i < dmp_client_schema_len; i++) {
		const struct dmp_cfg_item *it = &dmp_client_schema[i];

		if (!differs(it, &e->conf, c)) {
			continue;
		}
		if (!is_live(it)) {
			append(fixed, sizeof(fixed), it);
			continue;
		}
		append(live, sizeof(live), it);
		memcpy(
		    (char *)&e->conf + it->offset, (const char *)c + it->offset,
		    it->type == DMP_CFG_STR    ? it->size
		    : it->type == DMP_CFG_INT  ? sizeof(long long)
		    : it->type == DMP_CFG_BOOL ? sizeof(int)
					       : sizeof(struct dmp_cfg_list));
		applied++;
	}
	dmp_free(c);
	snprintf(d, sizeof(d), "config.yaml reloaded: %s%s%s%s",
		 live[0] ? "applied " : "no change applied",
		 live[0] ? live : "",
		 fixed[0] ? "; takes effect at the next start (remount): " : "",
		 fixed);
	DMP_LOG_I("%s", d);
	if (report) {
		dmp_eng_emit(e, DMP_EV_CONFIG, NULL, NULL, 0, d);
	}
	return applied;
}
