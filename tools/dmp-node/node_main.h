/* tools/dmp-node/node_main.h - glue shared by the dmp-node source files. */
#ifndef DMP_NODE_MAIN_H
#define DMP_NODE_MAIN_H

#include <stdint.h>
#include <stdio.h>

#include "dmp/config.h"
#include "dmp/node.h"

struct node_conf {
	/* node: */
	char db[DMP_CFG_STR_MAX];
	/* "" (default): <db>.updlog; "off": none (sqlite fsyncs each
	 * UPDATE); else the path. */
	char update_log[DMP_CFG_STR_MAX];
	char update_log_path[DMP_CFG_STR_MAX + 8]; /* resolved */
	struct dmp_cfg_list zones;
	char soa_mname[DMP_CFG_STR_MAX];
	char soa_rname[DMP_CFG_STR_MAX];
	struct dmp_cfg_list ns;
	struct dmp_cfg_list apex_a;
	struct dmp_cfg_list apex_aaaa;
	long long answer_ttl, answer_ttl_mailbox, negative_ttl,
	    negative_ttl_mailbox, max_ttl, max_value_bytes, max_values_per_name,
	    reap_interval;
	char log_level[16];
	/* network: */
	struct dmp_cfg_list listen;
	struct dmp_cfg_list notify;
	long long udp_workers, tcp_max_clients, tcp_idle_timeout, edns_udp_max;
	char http[DMP_CFG_STR_MAX]; /* ADDR:PORT, "" off */
	/* tcp: (dmp_node_tcp_opts; max clients and idle above) */
	long long tcp_per_address, tcp_message_ms, tcp_queries_per_turn,
	    tcp_output_max, tcp_output_ms;
	/* security: */
	int update_enabled;
	char user[64];
	struct dmp_cfg_list xfr_allow;
	struct dmp_cfg_list xfr_keys;
	long long rate_limit, rate_burst;
	long long key_write_rate, key_write_burst, key_quota;
	long long replay_cache;		  /* slots of the TSIG replay cache */
	int claim_provider;		  /* PROTOCOL.md 7.3 */
	int receiver_claim_notifications; /* 7.3, receiver-only */
	char http_auth[16]; /* off, legacy, multi-tenant, unauthenticated */
	char http_token[DMP_CFG_STR_MAX];
	long long http_rate_limit, http_rate_burst;
	int registration_enabled;
	struct dmp_cfg_list registration_allow;
	long long registration_per_hour;
	int tsig_tight_scope, tsig_loose_scope;
	/* http: connection limits and proxies; security.rate_limit_ipv4/6_
	 * prefix (docs/security.md 7.6) */
	long long http_max_conns, http_max_conns_per_addr, http_idle_timeout,
	    http_request_timeout, http_conn_memory;
	struct dmp_cfg_list http_trusted_proxies;
	long long rate_v4_prefix, rate_v6_prefix;
	/* mesh: */
	char node_id[DMP_CFG_STR_MAX];
	char operator_key[DMP_CFG_STR_MAX]; /* Ed25519 seed file */
	char endpoint[DMP_CFG_STR_MAX];	    /* public http(s) URL */
	long long heartbeat_interval;
	int heartbeat_allow_loopback;
	char claim_provider_zone[DMP_CFG_STR_MAX];
	/* mesh: discovery (PROTOCOL.md 8, node_discovery.c) */
	struct dmp_cfg_list seeds;     /* seed zones; none: no discovery */
	struct dmp_cfg_list resolvers; /* IP[:port]; none: resolv.conf */
	long long discovery_interval, peer_expiry, max_peers;
	/* mesh: relay links (docs/protocol.md 8.7.4, node_mesh.c) */
	struct dmp_cfg_list mesh_neighbours; /* http(s)://host[:port] */
	long long mesh_link_interval;	     /* seconds */
	/* mesh.discovered_neighbours: 0..64; 0: configured only */
	long long mesh_discovered_neighbours;
	/* The seed's section 10 keys (conf_seed.c maps them onto the above):
	 * strings "" and numbers 0 when absent. */
	char seed_domain[DMP_CFG_STR_MAX];
	char seed_private_key_file[DMP_CFG_STR_MAX];
	char seed_public_key_file[DMP_CFG_STR_MAX];
	struct dmp_cfg_list seed_discovery_domains;
	struct dmp_cfg_list seed_preferred_resolvers;
	long long seed_resolver_timeout, seed_max_chunk_retries;
	char seed_encryption[DMP_CFG_STR_MAX];
	long long seed_key_rotation_interval, seed_max_message_age;
	long long seed_cleanup_interval;
	int seed_storage_enabled;
	/* DMP-RELAY/1, POST /v1/relay (docs/protocol.md 8.7; conf.c) */
	int relay_enabled;
	char relay_accept[DMP_CFG_STR_MAX];
	long long max_hops, relay_bundle_bytes, relay_sender_bytes;
	char relay_source_rate[DMP_CFG_STR_MAX];
	char relay_sender_rate[DMP_CFG_STR_MAX];
	long long relay_source_burst, relay_sender_burst;
	/* limits: storage budgets (docs/security.md 7.7) */
	long long store_bytes, store_values, claim_bytes, claim_values;
	long long name_bytes, foreign_values, foreign_bytes;
	long long claim_source_rate, claim_source_burst;
	long long claim_source_prefix4, claim_source_prefix6;
	long long xfr_journal_changes, xfr_journal_bytes; /* IXFR journal */
	/* sync: cluster anti-entropy (PROTOCOL.md 7.6) */
	char sync_token[DMP_CFG_STR_MAX];
	char sync_token_file[DMP_CFG_STR_MAX];
	struct dmp_cfg_list sync_peers;
	char sync_cluster[DMP_CFG_STR_MAX];
	char sync_operator_pubkey[DMP_CFG_STR_MAX];
	long long sync_interval, sync_max_per_tick, sync_max_bytes;
};

/** HTTP options from the config. @return 0 or -1 (message printed) */
int dmpnode_conf_http(const struct node_conf *c, struct dmp_node_http_opts *h);

/** Sync options (and the HTTP side's token, cluster and key into @p ho
 * when not NULL); @p op_pk the mesh operator key or NULL. @return 1 the
 * worker should run, 0 not, -1 error (message printed) */
int dmpnode_conf_sync(const struct node_conf *c, struct dmp_node_sync_opts *so,
		      struct dmp_node_http_opts *ho, const uint8_t *op_pk);

/** TCP connection limits from the config (ranges checked by the schema). */
void dmpnode_conf_tcp(const struct node_conf *c, struct dmp_node_tcp_opts *t);

extern const struct dmp_cfg_item dmpnode_schema[];
extern const size_t dmpnode_schema_len;

/** Turn the config into engine options. @return 0 or -1 (message printed) */
int dmpnode_conf_opts(const struct node_conf *c, struct dmp_node_opts *o);

/** Re-read the config (file and flags) for SIGHUP and apply its log
 * level, on the main thread. @return 0 or -1 */
typedef int (*node_reload_fn)(struct node_conf *out, void *ud);

/**
 * Bind, drop privileges (security.user), daemonize unless @p foreground,
 * open the node with @p o, and serve until SIGTERM/SIGINT.
 * @p clock_off_ms is added to the clock (tests only).
 * @return exit code
 */
int dmpnode_serve(const struct node_conf *c, const struct dmp_node_opts *o,
		  int64_t clock_off_ms, int foreground, node_reload_fn reload,
		  void *reload_ud);

/**
 * Apply the keys of the seed's section 10 config (DMP_SPEC.md) that have
 * a dmp meaning onto the dmp keys, and check the rest. With @p warn, log
 * once per key present that it is accepted but not yet used.
 * @return 0 or -1 (message logged)
 */
int dmpnode_conf_seed(struct node_conf *c, int warn);

/** Wall clock in ms plus the test offset. */
uint64_t dmpnode_now_ms(int64_t off);

/* cluster.c: `dmp-node cluster ...` (argv[0] is "cluster"). @return the
 * exit code */
int dmpnode_cluster_cmd(int argc, char **argv);
/* Its usage lines (also part of `dmp-node --help`). */
void dmpnode_cluster_usage(FILE *f);
/* mesh.c: `dmp-node mesh` (argv[0] is "mesh"). @return the exit status */
int dmpnode_mesh_cmd(int argc, char **argv);
void dmpnode_mesh_usage(FILE *f);

#endif /* DMP_NODE_MAIN_H */
