/* tools/dmp-node/conf.c - dmp-node's config schema (see contrib/dmp-node.yaml).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/relay.h"

#include "node_main.h"

#define S(sec, key, field, def)                                                \
	{                                                                      \
		sec, key, DMP_CFG_STR, offsetof(struct node_conf, field),      \
		    sizeof(((struct node_conf *)0)->field), 0, 0, def          \
	}
#define I(sec, key, field, lo, hi, def)                                        \
	{                                                                      \
		sec, key, DMP_CFG_INT, offsetof(struct node_conf, field), 0,   \
		    lo, hi, def                                                \
	}
#define B(sec, key, field, def)                                                \
	{                                                                      \
		sec, key, DMP_CFG_BOOL, offsetof(struct node_conf, field), 0,  \
		    0, 0, def                                                  \
	}
#define L(sec, key, field, def)                                                \
	{                                                                      \
		sec, key, DMP_CFG_LIST, offsetof(struct node_conf, field), 0,  \
		    0, 0, def                                                  \
	}

const struct dmp_cfg_item dmpnode_schema[] = {
    S("node", "db", db, "dmp-node.db"),
    S("node", "update_log", update_log, ""),
    L("node", "zones", zones, NULL),
    S("node", "soa_mname", soa_mname, NULL),
    S("node", "soa_rname", soa_rname, NULL),
    L("node", "ns", ns, NULL),
    L("node", "apex_a", apex_a, NULL),
    L("node", "apex_aaaa", apex_aaaa, NULL),
    I("node", "answer_ttl", answer_ttl, 0, 86400, "60"),
    I("node", "answer_ttl_mailbox", answer_ttl_mailbox, 0, 86400, "2"),
    I("node", "negative_ttl", negative_ttl, 0, 86400, "60"),
    I("node", "negative_ttl_mailbox", negative_ttl_mailbox, 0, 86400, "2"),
    I("node", "max_ttl", max_ttl, 1, 2592000, "604800"),
    I("node", "max_value_bytes", max_value_bytes, 1, 16384, "2048"),
    I("node", "max_values_per_name", max_values_per_name, 1, 4096, "64"),
    I("node", "reap_interval", reap_interval, 1, 3600, "60"),
    S("node", "log_level", log_level, "info"),
    L("network", "listen", listen, "127.0.0.1:5353"),
    L("network", "notify", notify, NULL),
    I("network", "udp_workers", udp_workers, 1, 16, "2"),
    I("network", "tcp_max_clients", tcp_max_clients, 1, 65536, "256"),
    I("network", "tcp_idle_timeout", tcp_idle_timeout, 1, 3600, "10"),
    I("network", "edns_udp_max", edns_udp_max, 512, 4096, "1232"),
    S("network", "http", http, ""),
    I("tcp", "per_address", tcp_per_address, 0, 65536, "16"),
    I("tcp", "message_timeout_ms", tcp_message_ms, 100, 600000, "3000"),
    I("tcp", "queries_per_turn", tcp_queries_per_turn, 1, 65535, "32"),
    I("tcp", "output_max", tcp_output_max, 1024, 67108864, "65536"),
    I("tcp", "output_timeout_ms", tcp_output_ms, 100, 600000, "5000"),
    B("security", "update_enabled", update_enabled, "true"),
    S("security", "user", user, NULL),
    L("security", "xfr_allow", xfr_allow, NULL),
    L("security", "xfr_keys", xfr_keys, NULL),
    I("security", "rate_limit", rate_limit, 0, 1000000, "50"),
    I("security", "rate_burst", rate_burst, 1, 1000000, "200"),
    I("security", "key_write_rate", key_write_rate, 0, 1000000, "0"),
    I("security", "key_write_burst", key_write_burst, 1, 1000000, "20"),
    I("security", "key_quota", key_quota, 0, 100000000, "0"),
    I("security", "replay_cache", replay_cache, 1024, 16777216, "262144"),
    B("security", "claim_provider", claim_provider, "false"),
    B("security", "receiver_claim_notifications", receiver_claim_notifications,
      "false"),
    S("security", "http_auth", http_auth, "off"),
    S("security", "http_token", http_token, ""),
    I("security", "http_rate_limit", http_rate_limit, 0, 1000000, "10"),
    I("security", "http_rate_burst", http_rate_burst, 1, 1000000, "100"),
    B("security", "registration_enabled", registration_enabled, "false"),
    L("security", "registration_allow", registration_allow, NULL),
    I("security", "registration_per_hour", registration_per_hour, 0, 1000000,
      "5"),
    B("security", "tsig_tight_scope", tsig_tight_scope, "false"),
    B("security", "tsig_loose_scope", tsig_loose_scope, "false"),
    /* Per-address keys, connection limits, deadlines, proxies (7.6). */
    I("security", "rate_limit_ipv4_prefix", rate_v4_prefix, 1, 32, "32"),
    I("security", "rate_limit_ipv6_prefix", rate_v6_prefix, 1, 128, "56"),
    I("http", "max_connections", http_max_conns, 1, 65536, "256"),
    I("http", "max_connections_per_address", http_max_conns_per_addr, 1, 65536,
      "8"),
    I("http", "idle_timeout", http_idle_timeout, 1, 3600, "10"),
    I("http", "request_timeout", http_request_timeout, 1, 3600, "10"),
    I("http", "connection_memory", http_conn_memory, 4096, 1048576, "16384"),
    L("http", "trusted_proxies", http_trusted_proxies, NULL),
    S("mesh", "node_id", node_id, NULL),
    S("mesh", "operator_key", operator_key, ""),
    S("mesh", "endpoint", endpoint, ""),
    I("mesh", "heartbeat_interval", heartbeat_interval, 1, 86400, "300"),
    B("mesh", "heartbeat_allow_loopback", heartbeat_allow_loopback, "false"),
    S("mesh", "claim_provider_zone", claim_provider_zone, ""),
    /* Cluster anti-entropy (PROTOCOL.md 7.6; operator-guide "Running a
     * cluster"). */
    S("sync", "token", sync_token, ""),
    S("sync", "token_file", sync_token_file, ""),
    L("sync", "peers", sync_peers, NULL),
    S("sync", "cluster", sync_cluster, ""),
    S("sync", "operator_pubkey", sync_operator_pubkey, ""),
    I("sync", "interval", sync_interval, 1, 3600, "10"),
    I("sync", "max_per_tick", sync_max_per_tick, 1, 1000000, "1024"),
    I("sync", "max_bytes_per_tick", sync_max_bytes, 1024, 67108864, "1048576"),
    /* Discovery (PROTOCOL.md 8): node_discovery.c. */
    L("mesh", "seeds", seeds, NULL),
    L("mesh", "resolvers", resolvers, NULL),
    I("mesh", "discovery_interval", discovery_interval, 1, 86400, "300"),
    I("mesh", "peer_expiry", peer_expiry, 1, 2592000, "900"),
    I("mesh", "max_peers", max_peers, 1, 4096, "256"),
    /* Relay links (docs/protocol.md 8.7.4): node_mesh.c. */
    L("mesh", "neighbours", mesh_neighbours, NULL),
    I("mesh", "link_interval", mesh_link_interval, 1, 3600, "30"),
    /* Relay peers from discovery probed too (8.7.4, node_mesh_nb.c). */
    I("mesh", "discovered_neighbours", mesh_discovered_neighbours, 0,
      DMP_NODE_MESH_DISCOVERED_MAX, "8"),
    /* The seed's section 10 keys (DMP_SPEC.md), mapped in conf_seed.c. */
    S("node", "domain", seed_domain, NULL),
    S("node", "private_key_file", seed_private_key_file, NULL),
    S("node", "public_key_file", seed_public_key_file, NULL),
    L("network", "discovery_domains", seed_discovery_domains, NULL),
    L("network", "preferred_resolvers", seed_preferred_resolvers, NULL),
    I("network", "resolver_timeout", seed_resolver_timeout, 1, 60, NULL),
    I("network", "max_chunk_retries", seed_max_chunk_retries, 1, 100, NULL),
    S("security", "encryption", seed_encryption, NULL),
    I("security", "key_rotation_interval", seed_key_rotation_interval, 1,
      315360000, NULL),
    I("security", "max_message_age", seed_max_message_age, 1, 2592000, NULL),
    B("mesh", "storage_enabled", seed_storage_enabled, "true"),
    I("mesh", "cleanup_interval", seed_cleanup_interval, 1, 3600, NULL),
    /* DMP-RELAY/1, POST /v1/relay (docs/protocol.md 8.7; defaults as in
     * dmp/node.h; the rates are decimals, read by dmpnode_conf_relay). */
    B("mesh", "relay_enabled", relay_enabled, "false"),
    S("mesh", "relay_accept", relay_accept, "own"),
    I("mesh", "max_hops", max_hops, 1, DMP_RELAY_HOPS_MAX, "5"),
    I("mesh", "relay_bundle_bytes", relay_bundle_bytes, DMP_RELAY_BYTES_MIN,
      DMP_RELAY_BYTES_MAX, "32768"),
    S("mesh", "relay_source_rate", relay_source_rate, "2"),
    I("mesh", "relay_source_burst", relay_source_burst, 1, 1000000, "20"),
    S("mesh", "relay_sender_rate", relay_sender_rate, "0.5"),
    I("mesh", "relay_sender_burst", relay_sender_burst, 1, 1000000, "30"),
    I("mesh", "relay_sender_bytes", relay_sender_bytes, 0, 1LL << 40,
      "1048576"),
    /* Storage budgets (docs/security.md 7.7; defaults as in dmp/node.h). */
    I("limits", "store_bytes", store_bytes, 65536, 1LL << 40, "268435456"),
    I("limits", "store_values", store_values, 16, 1000000000, "1000000"),
    I("limits", "claim_bytes", claim_bytes, 4096, 1LL << 40, "33554432"),
    I("limits", "claim_values", claim_values, 1, 1000000000, "100000"),
    I("limits", "name_bytes", name_bytes, 1024, DMP_NODE_NAME_BYTES_FIT,
      "64927"),
    I("limits", "foreign_values", foreign_values, 1, 4095, "16"),
    I("limits", "foreign_bytes", foreign_bytes, 256, DMP_NODE_NAME_BYTES_FIT,
      "20480"),
    I("limits", "claim_source_rate", claim_source_rate, 0, 1000000, "2"),
    I("limits", "claim_source_burst", claim_source_burst, 1, 1000000, "100"),
    I("limits", "claim_source_prefix4", claim_source_prefix4, 8, 32, "32"),
    I("limits", "claim_source_prefix6", claim_source_prefix6, 16, 128, "56"),
    /* IXFR change journal (operator-guide "Secondaries"). */
    I("xfr", "journal_max_changes", xfr_journal_changes, 0, 1000000, "1000"),
    I("xfr", "journal_max_bytes", xfr_journal_bytes, 65536, 1LL << 36,
      "16777216"),
};
const size_t dmpnode_schema_len =
    sizeof(dmpnode_schema) / sizeof(dmpnode_schema[0]);

int dmpnode_conf_opts(const struct node_conf *c, struct dmp_node_opts *o)
{
	dmp_node_opts_init(o);
	o->db_path = c->db;
	o->answer_ttl = (uint32_t)c->answer_ttl;
	o->answer_ttl_mailbox = (uint32_t)c->answer_ttl_mailbox;
	o->negative_ttl = (uint32_t)c->negative_ttl;
	o->negative_ttl_mailbox = (uint32_t)c->negative_ttl_mailbox;
	o->max_ttl = (uint32_t)c->max_ttl;
	o->max_value_bytes = (uint32_t)c->max_value_bytes;
	o->max_values_per_name = (uint32_t)c->max_values_per_name;
	o->edns_udp_max = (uint16_t)c->edns_udp_max;
	o->update_enabled = c->update_enabled;
	o->reap_interval = (uint32_t)c->reap_interval;
	o->rate_limit = (uint32_t)c->rate_limit;
	o->rate_burst = (uint32_t)c->rate_burst;
	o->key_write_rate = (double)c->key_write_rate;
	o->key_write_burst = (uint32_t)c->key_write_burst;
	o->key_quota = (uint32_t)c->key_quota;
	o->replay_cache = (uint32_t)c->replay_cache;
	o->rate_v4_prefix = (unsigned)c->rate_v4_prefix;
	o->rate_v6_prefix = (unsigned)c->rate_v6_prefix;
	/* limits: storage budgets (cross-checked by dmp_node_new) */
	o->store_bytes_max = (uint64_t)c->store_bytes;
	o->store_values_max = (uint64_t)c->store_values;
	o->claim_bytes_max = (uint64_t)c->claim_bytes;
	o->claim_values_max = (uint64_t)c->claim_values;
	o->name_bytes_max = (uint32_t)c->name_bytes;
	o->foreign_values_max = (uint32_t)c->foreign_values;
	o->foreign_bytes_max = (uint32_t)c->foreign_bytes;
	o->claim_source_rate = (double)c->claim_source_rate;
	o->claim_source_burst = (uint32_t)c->claim_source_burst;
	o->claim_source_prefix4 = (uint8_t)c->claim_source_prefix4;
	o->claim_source_prefix6 = (uint8_t)c->claim_source_prefix6;
	o->xfr_journal_changes = (uint32_t)c->xfr_journal_changes;
	o->xfr_journal_bytes = (uint64_t)c->xfr_journal_bytes;
	o->claim_mode = c->claim_provider ? DMP_NODE_CLAIM_PROVIDER
			: c->receiver_claim_notifications
			    ? DMP_NODE_CLAIM_RECEIVER
			    : DMP_NODE_CLAIM_OFF;
	for (unsigned i = 0; i < c->xfr_allow.n; i++) {
		size_t l = strlen(c->xfr_allow.v[i]);

		if (l >= sizeof(o->xfr_allow[i])) {
			fprintf(stderr, "dmp-node: bad xfr_allow %s\n",
				c->xfr_allow.v[i]);
			return -1;
		}
		memcpy(o->xfr_allow[i], c->xfr_allow.v[i], l + 1);
	}
	o->n_xfr_allow = c->xfr_allow.n;
	for (unsigned i = 0; i < c->xfr_keys.n; i++) {
		snprintf(o->xfr_keys[i], sizeof(o->xfr_keys[i]), "%s",
			 c->xfr_keys.v[i]);
	}
	o->n_xfr_keys = c->xfr_keys.n;
	if (c->zones.n > DMP_NODE_MAX_ZONES || c->ns.n > DMP_NODE_MAX_NS ||
	    c->apex_a.n > DMP_NODE_MAX_ADDRS ||
	    c->apex_aaaa.n > DMP_NODE_MAX_ADDRS) {
		fprintf(stderr, "dmp-node: too many zones, ns or addresses\n");
		return -1;
	}
	for (unsigned i = 0; i < c->zones.n; i++) {
		struct dmp_node_zone *z = &o->zones[i];

		snprintf(z->name, sizeof(z->name), "%s", c->zones.v[i]);
		snprintf(z->mname, sizeof(z->mname), "%s", c->soa_mname);
		snprintf(z->rname, sizeof(z->rname), "%s", c->soa_rname);
		for (unsigned k = 0; k < c->ns.n; k++) {
			snprintf(z->ns[k], sizeof(z->ns[k]), "%s", c->ns.v[k]);
		}
		z->n_ns = c->ns.n;
		for (unsigned k = 0; k < c->apex_a.n; k++) {
			if (inet_pton(AF_INET, c->apex_a.v[k], z->a[k]) != 1) {
				fprintf(stderr, "dmp-node: bad apex_a %s\n",
					c->apex_a.v[k]);
				return -1;
			}
		}
		z->n_a = c->apex_a.n;
		for (unsigned k = 0; k < c->apex_aaaa.n; k++) {
			if (inet_pton(AF_INET6, c->apex_aaaa.v[k],
				      z->aaaa[k]) != 1) {
				fprintf(stderr, "dmp-node: bad apex_aaaa %s\n",
					c->apex_aaaa.v[k]);
				return -1;
			}
		}
		z->n_aaaa = c->apex_aaaa.n;
	}
	o->n_zones = c->zones.n;
	return 0;
}

void dmpnode_conf_tcp(const struct node_conf *c, struct dmp_node_tcp_opts *t)
{
	dmp_node_tcp_opts_init(t);
	t->max_clients = (uint32_t)c->tcp_max_clients;
	t->idle_ms = (uint32_t)c->tcp_idle_timeout * 1000;
	t->per_address = (uint32_t)c->tcp_per_address;
	t->v4_prefix = (uint32_t)c->rate_v4_prefix; /* one "address" */
	t->v6_prefix = (uint32_t)c->rate_v6_prefix; /* for all limits */
	t->message_ms = (uint32_t)c->tcp_message_ms;
	t->queries_per_turn = (uint32_t)c->tcp_queries_per_turn;
	t->output_max = (uint32_t)c->tcp_output_max;
	t->output_ms = (uint32_t)c->tcp_output_ms;
}

/* A rate in bundles/s: a decimal 0 (no limit) ..1000000. */
static int relay_rate(const char *key, const char *v, double *out)
{
	char *end = NULL;
	double d = strtod(v, &end);

	if (!v[0] || !end || *end || !(d >= 0 && d <= 1e6)) {
		fprintf(stderr,
			"dmp-node: mesh.%s: '%s' is not a rate in bundles per "
			"second (a decimal 0..1000000, 0 for no limit)\n",
			key, v);
		return -1;
	}
	*out = d;
	return 0;
}

static int dmpnode_conf_relay(const struct node_conf *c,
			      struct dmp_node_relay_opts *r)
{
	if (strcmp(c->relay_accept, "own") == 0) {
		r->accept = DMP_NODE_RELAY_OWN;
	} else if (strcmp(c->relay_accept, "any") == 0) {
		r->accept = DMP_NODE_RELAY_ANY;
	} else if (strcmp(c->relay_accept, "off") == 0) {
		r->accept = DMP_NODE_RELAY_OFF;
	} else {
		fprintf(stderr,
			"dmp-node: mesh.relay_accept: own, any or off, not "
			"'%s'\n",
			c->relay_accept);
		return -1;
	}
	r->enabled = c->relay_enabled;
	r->max_hops = (unsigned)c->max_hops;
	r->bundle_bytes = (size_t)c->relay_bundle_bytes;
	r->source_burst = (double)c->relay_source_burst;
	r->sender_burst = (double)c->relay_sender_burst;
	r->sender_bytes = (uint64_t)c->relay_sender_bytes;
	if (relay_rate("relay_source_rate", c->relay_source_rate,
		       &r->source_rate) < 0 ||
	    relay_rate("relay_sender_rate", c->relay_sender_rate,
		       &r->sender_rate) < 0) {
		return -1;
	}
	return 0;
}

int dmpnode_conf_http(const struct node_conf *c, struct dmp_node_http_opts *h)
{
	dmp_node_http_opts_init(h);
	if (strcmp(c->http_auth, "off") == 0) {
		h->auth = DMP_NODE_HTTP_OFF;
	} else if (strcmp(c->http_auth, "legacy") == 0) {
		h->auth = DMP_NODE_HTTP_LEGACY;
	} else if (strcmp(c->http_auth, "multi-tenant") == 0) {
		h->auth = DMP_NODE_HTTP_MULTI;
	} else if (strcmp(c->http_auth, "unauthenticated") == 0) {
		h->auth = DMP_NODE_HTTP_UNAUTH;
	} else if (strcmp(c->http_auth, "open") == 0) {
		fprintf(stderr,
			"dmp-node: security.http_auth 'open' is gone: it "
			"trusted every loopback peer, and behind a reverse "
			"proxy every client is one. Use legacy or "
			"multi-tenant tokens, or 'unauthenticated' on a "
			"loopback-only test node (the default is off)\n");
		return -1;
	} else {
		fprintf(stderr,
			"dmp-node: security.http_auth: off, legacy, "
			"multi-tenant or unauthenticated, not '%s'\n",
			c->http_auth);
		return -1;
	}
	if (strlen(c->http_token) >= sizeof(h->token)) {
		fprintf(stderr, "dmp-node: security.http_token too long\n");
		return -1;
	}
	if (h->auth == DMP_NODE_HTTP_LEGACY && !c->http_token[0]) {
		fprintf(stderr, "dmp-node: http_auth legacy needs "
				"security.http_token\n");
		return -1;
	}
	memcpy(h->token, c->http_token, strlen(c->http_token) + 1);
	h->rate = (uint32_t)c->http_rate_limit;
	h->burst = (uint32_t)c->http_rate_burst;
	h->registration_enabled = c->registration_enabled;
	h->reg_per_hour = (uint32_t)c->registration_per_hour;
	h->tight_scope = c->tsig_tight_scope;
	h->loose_scope = c->tsig_loose_scope;
	for (unsigned i = 0; i < c->registration_allow.n; i++) {
		snprintf(h->reg_allow[i], sizeof(h->reg_allow[i]), "%s",
			 c->registration_allow.v[i]);
	}
	h->n_reg_allow = c->registration_allow.n;
	h->max_conns = (unsigned)c->http_max_conns;
	h->max_conns_per_addr = (unsigned)c->http_max_conns_per_addr;
	h->idle_timeout = (unsigned)c->http_idle_timeout;
	h->request_timeout = (unsigned)c->http_request_timeout;
	h->conn_memory = (size_t)c->http_conn_memory;
	for (unsigned i = 0; i < c->http_trusted_proxies.n; i++) {
		struct sockaddr_in6 a6;
		struct sockaddr_in a4;
		const char *p = c->http_trusted_proxies.v[i];

		if (strlen(p) >= sizeof(h->trusted_proxies[i]) ||
		    (inet_pton(AF_INET, p, &a4.sin_addr) != 1 &&
		     inet_pton(AF_INET6, p, &a6.sin6_addr) != 1)) {
			fprintf(stderr,
				"dmp-node: http.trusted_proxies: '%s' is not "
				"an IPv4 or IPv6 address\n",
				p);
			return -1;
		}
		memcpy(h->trusted_proxies[i], p, strlen(p) + 1);
	}
	h->n_trusted_proxies = c->http_trusted_proxies.n;
	return dmpnode_conf_relay(c, &h->relay);
}

/* sync.token, or the first line of sync.token_file. */
static int sync_token(const struct node_conf *c, char *out, size_t cap)
{
	FILE *f;
	size_t l;

	if (c->sync_token[0] && c->sync_token_file[0]) {
		fprintf(stderr, "dmp-node: set sync.token or sync.token_file, "
				"not both\n");
		return -1;
	}
	if (!c->sync_token_file[0]) {
		l = strlen(c->sync_token);
		if (l >= cap) {
			fprintf(stderr,
				"dmp-node: sync.token: at most %zu "
				"characters\n",
				cap - 1);
			return -1;
		}
		memcpy(out, c->sync_token, l + 1);
		return 0;
	}
	f = fopen(c->sync_token_file, "r");
	if (!f || !fgets(out, (int)cap, f)) {
		fprintf(stderr,
			"dmp-node: sync.token_file %s: cannot read it (create "
			"it with one line: the cluster's shared token)\n",
			c->sync_token_file);
		if (f) {
			fclose(f);
		}
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = 0;
	if (!out[0]) {
		fprintf(stderr, "dmp-node: sync.token_file %s is empty\n",
			c->sync_token_file);
		return -1;
	}
	return 0;
}

int dmpnode_conf_sync(const struct node_conf *c, struct dmp_node_sync_opts *so,
		      struct dmp_node_http_opts *ho, const uint8_t *op_pk)
{
	dmp_node_sync_opts_init(so);
	if (sync_token(c, so->token, sizeof(so->token)) < 0) {
		return -1;
	}
	if (ho) {
		memcpy(ho->sync_token, so->token, sizeof(ho->sync_token));
	}
	if (c->sync_peers.n > DMP_NODE_SYNC_MAX_PEERS) {
		fprintf(stderr, "dmp-node: sync.peers: at most %d\n",
			DMP_NODE_SYNC_MAX_PEERS);
		return -1;
	}
	for (unsigned i = 0; i < c->sync_peers.n; i++) {
		const char *p = c->sync_peers.v[i];

		if ((strncmp(p, "http://", 7) != 0 &&
		     strncmp(p, "https://", 8) != 0) ||
		    strlen(p) >= sizeof(so->peers[i])) {
			fprintf(stderr,
				"dmp-node: sync.peers: '%s' is not an http:// "
				"or https:// base URL of at most %d "
				"characters\n",
				p, DMP_CLUSTER_HTTP_MAX);
			return -1;
		}
		memcpy(so->peers[i], p, strlen(p) + 1);
	}
	so->n_peers = c->sync_peers.n;
	if (strlen(c->sync_cluster) >= sizeof(so->cluster)) {
		fprintf(stderr, "dmp-node: sync.cluster too long\n");
		return -1;
	}
	memcpy(so->cluster, c->sync_cluster, strlen(c->sync_cluster) + 1);
	if (c->sync_operator_pubkey[0]) {
		if (strlen(c->sync_operator_pubkey) != 64 ||
		    dmp_hex_decode(so->op_spk, 32, c->sync_operator_pubkey,
				   64) < 0) {
			fprintf(stderr, "dmp-node: sync.operator_pubkey: 64 "
					"hex digits (the cluster operator's "
					"Ed25519 public key)\n");
			return -1;
		}
		so->have_op_spk = 1;
	} else if (op_pk) {
		memcpy(so->op_spk, op_pk, 32);
		so->have_op_spk = 1;
	}
	if (so->cluster[0] && !so->have_op_spk) {
		fprintf(stderr,
			"dmp-node: sync.cluster needs sync.operator_pubkey "
			"(or mesh.operator_key) to verify the manifest\n");
		return -1;
	}
	if (ho) {
		memcpy(ho->sync_cluster, so->cluster, sizeof(ho->sync_cluster));
		ho->have_sync_op_spk = so->have_op_spk;
		memcpy(ho->sync_op_spk, so->op_spk, 32);
	}
	/* Longer ones cannot be in a manifest: nothing to skip. */
	if (strlen(c->node_id) < sizeof(so->self_id)) {
		memcpy(so->self_id, c->node_id, strlen(c->node_id) + 1);
	}
	if (strlen(c->endpoint) < sizeof(so->self_endpoint)) {
		memcpy(so->self_endpoint, c->endpoint, strlen(c->endpoint) + 1);
	}
	so->interval_ms = (uint32_t)c->sync_interval * 1000;
	so->max_per_tick = (uint32_t)c->sync_max_per_tick;
	so->max_bytes = (uint32_t)c->sync_max_bytes;
	if (!so->token[0]) {
		if (so->n_peers || so->cluster[0]) {
			fprintf(stderr, "dmp-node: sync.peers and sync.cluster "
					"need sync.token or sync.token_file\n");
			return -1;
		}
		return 0;
	}
	return so->n_peers || so->cluster[0] ? 1 : 0;
}
