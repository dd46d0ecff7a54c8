/* tools/dmp-node/node_main.h - glue shared by the dmp-node source files. */
#ifndef DMP_NODE_MAIN_H
#define DMP_NODE_MAIN_H

#include <stdint.h>

#include "dmp/config.h"
#include "dmp/node.h"

struct node_conf {
	/* node: */
	char db[DMP_CFG_STR_MAX];
	struct dmp_cfg_list zones;
	char soa_mname[DMP_CFG_STR_MAX];
	char soa_rname[DMP_CFG_STR_MAX];
	struct dmp_cfg_list ns;
	struct dmp_cfg_list apex_a;
	struct dmp_cfg_list apex_aaaa;
	long long answer_ttl, negative_ttl, max_ttl, max_value_bytes,
	    max_values_per_name, reap_interval;
	char log_level[16];
	/* network: */
	struct dmp_cfg_list listen;
	struct dmp_cfg_list notify;
	long long udp_workers, tcp_max_clients, tcp_idle_timeout, edns_udp_max;
	/* security: */
	int update_enabled;
	char user[64];
	struct dmp_cfg_list xfr_allow;
	long long rate_limit, rate_burst;
	int claim_provider;		  /* PROTOCOL.md 7.3 */
	int receiver_claim_notifications; /* 7.3, receiver-only */
	/* mesh: */
	char node_id[DMP_CFG_STR_MAX];
};

extern const struct dmp_cfg_item node_schema[];
extern const size_t node_schema_len;

/** Turn the config into engine options. @return 0 or -1 (message printed) */
int node_conf_opts(const struct node_conf *c, struct dmp_node_opts *o);

/**
 * Bind, drop privileges (security.user), daemonize unless @p foreground,
 * open the node with @p o, and serve until SIGTERM/SIGINT.
 * @p clock_off_ms is added to the clock (tests only).
 * @return exit code
 */
int node_serve(const struct node_conf *c, const struct dmp_node_opts *o,
	       int64_t clock_off_ms, int foreground);

/** Wall clock in ms plus the test offset. */
uint64_t node_now_ms(int64_t off);

#endif /* DMP_NODE_MAIN_H */
