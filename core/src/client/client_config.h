/* core/src/client/client_config.h - the client's config.yaml schema
 * (private to the engine). */
#ifndef DMP_CLIENT_CONFIG_H
#define DMP_CLIENT_CONFIG_H

#include <stddef.h>

#include "dmp/config.h"

struct client_conf {
	/* identity: */
	char username[65];
	char domain[254];
	int anchored; /* also publish dmp.<domain> (the zone is ours) */
	long long key_rotation_interval; /* s between automatic rotations;
					    0: off */
	/* network: */
	struct dmp_cfg_list nodes;     /* HOST[:PORT] write targets */
	struct dmp_cfg_list resolvers; /* IP[:PORT] */
	char tsig[DMP_CFG_STR_MAX];    /* hmac-sha256:NAME:SECRET */
	int direct;		       /* read our zone straight from nodes */
	long long timeout_ms;	       /* per read / write attempt */
	long long replicas; /* nodes per mailbox (rendezvous); 0: all */
	/* "ZONE=HOST[:PORT]": the server of another zone, read directly and
	 * sent claims (PROTOCOL.md 7.3) */
	struct dmp_cfg_list zone_servers;
	long long confirm_resolvers; /* poisoning check: agreeing resolvers */
	/* relay endpoints (http://HOST:PORT) tried when no home node answers
	 * (docs/protocol.md 8.7.8); empty: no fallback */
	struct dmp_cfg_list relays;
	/* also relays from the peers store (heartbeat bit 1, 8.7.8) */
	int relays_from_discovery;
	/* claims: */
	struct dmp_cfg_list claim_providers; /* first-contact provider zones */
	int claim_recipient_zone; /* claim to the recipient's own zone */
	int claim_discover;	  /* providers from discovered heartbeats too */
	/* messages: */
	long long lifetime;	/* default lifetime of a sent message */
	long long max_lifetime; /* the node's max TTL */
	long long poll_interval;
	int receipts; /* ask for and send delivery receipts (off: privacy) */
	/* multi-part (PROTOCOL.md 7.9): the largest file sent (0: none), and
	 * the contacts (alias or address, "*": all) that join DMP-PART/1 */
	long long max_file;
	struct dmp_cfg_list multipart;
	/* multi-part pacing: parts to one recipient per publish pass */
	long long part_window;
	/* prekeys: */
	long long pool_size;
	long long prekey_ttl;
	/* discovery: (PROTOCOL.md 8, peers.h) */
	struct dmp_cfg_list seeds; /* zones whose heartbeats are read */
	int allow_loopback;	   /* accept loopback endpoints (tests) */
	long long discovery_interval;
	/* cluster: (PROTOCOL.md 2.6, 2.7, 8; engine_cluster.c) */
	char cluster_zone_key[DMP_CFG_STR_MAX]; /* hex Ed25519: _dmp.<dom> */
	char cluster_domain[254];		/* "": identity.domain */
	long long cluster_refresh;		/* seconds between lookups */
	/* privacy: (docs/security.md "Observer model"; engine_pad.c,
	 * engine_cover.c) */
	char pad_buckets[DMP_CFG_STR_MAX]; /* "4,8,16,32" data chunks; off */
	char delay[16];			   /* exponential, uniform, off */
	long long delay_mean_ms;	   /* publish delay: mean */
	long long delay_max_ms;		   /* and bound */
	long long cover_rate;		   /* cover messages per hour */
	long long cover_polls;		   /* dummy mailbox reads per poll */
};

extern const struct dmp_cfg_item dmp_client_schema[];
extern const size_t dmp_client_schema_len;

/** Write @p c as YAML to @p path (mode 0600, atomically). @return 0 or
 *  DMP_EIO */
int dmp_client_conf_write(const struct client_conf *c, const char *path);

#endif
