/*
 * tools/dmp-node/conf_seed.c - the node configuration of the seed
 * specification (DMP_SPEC.md section 10, "Node Configuration Format"),
 * accepted as written: keys with a dmp meaning are mapped onto dmp-node's
 * own keys, keys for features dmp does not have yet (relay, routing, key
 * rotation) are accepted with one warning each, and the one value dmp
 * cannot honour (a cipher other than DMP v1's) is an error. The schema
 * entries are in conf.c; the table in docs/operator-guide.md lists each
 * key's status. The discovery keys are checked here too.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmp/addr.h"
#include "dmp/dnsname.h"
#include "dmp/log.h"
#include "node_main.h"

/* Append @p v to @p l unless it is there. @return 0 or -1 (full). */
static int list_add(struct dmp_cfg_list *l, const char *v, const char *what)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (strcasecmp(l->v[i], v) == 0) {
			return 0;
		}
	}
	if (l->n >= DMP_CFG_LIST_MAX) {
		DMP_LOG_E("dmp-node: %s: more than %d entries with '%s'", what,
			  DMP_CFG_LIST_MAX, v);
		return -1;
	}
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", v);
	return 0;
}

static void unused(int warn, const char *key, const char *why)
{
	if (warn) {
		DMP_LOG_W("dmp-node: %s: accepted, not yet used (%s)", key,
			  why);
	}
}

/* The discovery keys, whichever way they were set, checked before the
 * node starts, each bad entry named. */
static int check_discovery(const struct node_conf *c)
{
	for (unsigned i = 0; i < c->seeds.n; i++) {
		const char *z = c->seeds.v[i];

		if (dmp_dnsname_normalize(NULL, 0, z, strlen(z)) < 0) {
			DMP_LOG_E("dmp-node: mesh.seeds: '%s' is not a zone "
				  "name",
				  z);
			return -1;
		}
	}
	for (unsigned i = 0; i < c->resolvers.n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (dmp_addr_parse(c->resolvers.v[i], 53, DMP_ADDR_NUMERIC, &ss,
				   &sl) < 0) {
			DMP_LOG_E("dmp-node: mesh.resolvers: '%s' is not "
				  "IP[:port] (an IP literal, IPv6 in brackets "
				  "with a port)",
				  c->resolvers.v[i]);
			return -1;
		}
	}
	return 0;
}

int dmpnode_conf_seed(struct node_conf *c, int warn)
{
	if (c->seed_domain[0] &&
	    list_add(&c->zones, c->seed_domain, "node.zones") < 0) {
		return -1;
	}
	if (c->seed_private_key_file[0]) {
		if (c->operator_key[0] &&
		    strcmp(c->operator_key, c->seed_private_key_file) != 0) {
			DMP_LOG_E("dmp-node: node.private_key_file (%s) and "
				  "mesh.operator_key (%s) name different "
				  "files; keep one of them",
				  c->seed_private_key_file, c->operator_key);
			return -1;
		}
		snprintf(c->operator_key, sizeof(c->operator_key), "%s",
			 c->seed_private_key_file);
	}
	if (c->seed_public_key_file[0]) {
		unused(warn, "node.public_key_file",
		       "the public key is derived from the private key file");
	}
	for (unsigned i = 0; i < c->seed_discovery_domains.n; i++) {
		if (list_add(&c->seeds, c->seed_discovery_domains.v[i],
			     "mesh.seeds") < 0) {
			return -1;
		}
	}
	for (unsigned i = 0; i < c->seed_preferred_resolvers.n; i++) {
		if (list_add(&c->resolvers, c->seed_preferred_resolvers.v[i],
			     "mesh.resolvers") < 0) {
			return -1;
		}
	}
	/* network.resolver_timeout is read by the discovery setup. */
	if (c->seed_max_chunk_retries) {
		unused(warn, "network.max_chunk_retries",
		       "a node fetches no chunks; clients retry by poll");
	}
	if (c->seed_encryption[0] &&
	    strcasecmp(c->seed_encryption, "chacha20-poly1305") != 0) {
		DMP_LOG_E("dmp-node: security.encryption: DMP v1 has one "
			  "cipher, chacha20-poly1305, not '%s'; set that or "
			  "remove the key",
			  c->seed_encryption);
		return -1;
	}
	if (c->seed_key_rotation_interval) {
		unused(warn, "security.key_rotation_interval",
		       "automatic key rotation is a later feature");
	}
	if (c->seed_max_message_age) {
		unused(warn, "security.max_message_age",
		       "DMP v1 fixes the freshness windows, 300 s for "
		       "heartbeats");
	}
	if (!c->seed_storage_enabled) {
		c->update_enabled = 0; /* a node that takes no writes */
	}
	if (c->seed_cleanup_interval) {
		c->reap_interval = c->seed_cleanup_interval;
	}
	return check_discovery(c);
}
