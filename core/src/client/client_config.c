/* core/src/client/client_config.c - the client's config.yaml schema. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client_config.h"
#include "dmp/err.h"
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
    I("identity", "key_rotation_interval", key_rotation_interval, 0, 315360000,
      "0"),
    L("network", "nodes", nodes),
    L("network", "resolvers", resolvers),
    S("network", "tsig", tsig, NULL),
    B("network", "direct", direct, "true"),
    I("network", "timeout_ms", timeout_ms, 100, 60000, "2000"),
    I("network", "replicas", replicas, 0, 16, "3"),
    L("network", "zone_servers", zone_servers),
    I("network", "confirm_resolvers", confirm_resolvers, 0, DMP_CFG_LIST_MAX,
      "0"),
    L("network", "relays", relays),
    B("network", "relays_from_discovery", relays_from_discovery, "true"),
    L("claims", "providers", claim_providers),
    B("claims", "recipient_zone", claim_recipient_zone, "true"),
    B("claims", "discover", claim_discover, "true"),
    I("messages", "lifetime", lifetime, 60, 2592000, "604800"),
    I("messages", "max_lifetime", max_lifetime, 60, 2592000, "604800"),
    I("messages", "poll_interval", poll_interval, 1, 86400, "30"),
    B("messages", "receipts", receipts, "false"),
    I("messages", "max_file", max_file, 0, 67108864, "10485760"),
    L("messages", "multipart", multipart),
    I("messages", "part_window", part_window, 1, 65535, "300"),
    I("prekeys", "pool_size", pool_size, 0, 200, "25"),
    I("prekeys", "ttl", prekey_ttl, 300, 2592000, "86400"),
    L("discovery", "seeds", seeds),
    B("discovery", "allow_loopback", allow_loopback, "false"),
    I("discovery", "interval", discovery_interval, 10, 86400, "600"),
    S("cluster", "zone_key", cluster_zone_key, ""),
    S("cluster", "domain", cluster_domain, ""),
    I("cluster", "refresh", cluster_refresh, 60, 604800, "3600"),
    S("privacy", "pad_buckets", pad_buckets, "4,8,16,32"),
    S("privacy", "delay", delay, "exponential"),
    I("privacy", "delay_mean_ms", delay_mean_ms, 0, 60000, "200"),
    I("privacy", "delay_max_ms", delay_max_ms, 0, 60000, "1000"),
    I("privacy", "cover_rate", cover_rate, 0, 3600, "0"),
    I("privacy", "cover_polls", cover_polls, 0, 64, "0"),
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
	fprintf(f, "\n  key_rotation_interval: %lld", c->key_rotation_interval);
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
	fputs("  relays: ", f);
	qlist(f, &c->relays);
	fprintf(f, "  relays_from_discovery: %s\n",
		c->relays_from_discovery ? "true" : "false");
	fputs("claims:\n  providers: ", f);
	qlist(f, &c->claim_providers);
	fprintf(f, "  recipient_zone: %s\n  discover: %s\n",
		c->claim_recipient_zone ? "true" : "false",
		c->claim_discover ? "true" : "false");
	fprintf(f,
		"messages:\n  lifetime: %lld\n  max_lifetime: %lld\n"
		"  poll_interval: %lld\n  receipts: %s\n  max_file: %lld\n",
		c->lifetime, c->max_lifetime, c->poll_interval,
		c->receipts ? "true" : "false", c->max_file);
	fputs("  multipart: ", f);
	qlist(f, &c->multipart);
	fprintf(f, "prekeys:\n  pool_size: %lld\n  ttl: %lld\n", c->pool_size,
		c->prekey_ttl);
	fputs("discovery:\n  seeds: ", f);
	qlist(f, &c->seeds);
	fprintf(f, "  allow_loopback: %s\n  interval: %lld\n",
		c->allow_loopback ? "true" : "false", c->discovery_interval);
	fputs("cluster:\n  zone_key: ", f);
	qstr(f, c->cluster_zone_key);
	fputs("\n  domain: ", f);
	qstr(f, c->cluster_domain);
	fprintf(f, "\n  refresh: %lld\n", c->cluster_refresh);
	ok = fflush(f) == 0 && fsync(fd) == 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		DMP_LOG_E("config: %s: %s", path, strerror(errno));
		unlink(tmp);
		return DMP_EIO;
	}
	return 0;
}
