/*
 * core/src/node/node_cluster.c - the operator's side of clusters
 * (PROTOCOL.md 2.6, 2.7, 8): signed values rendered for a zone file, or
 * published by TSIG UPDATE into a node's zone (dmp-node cluster). The
 * records themselves are signed by dmp_cluster_sign() and
 * dmp_bootstrap_sign() (wire layer).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dmp/err.h"
#include "dmp/node.h"
#include "dmp/txt.h"
#include "dmp/update.h"

int dmp_node_txt_line(char *out, size_t cap, const char *owner, uint32_t ttl,
		      const char *value)
{
	size_t len = strlen(value), o;
	int n;

	n = snprintf(out, cap, "%s%s %u IN TXT", owner,
		     owner[0] && owner[strlen(owner) - 1] == '.' ? "" : ".",
		     (unsigned)ttl);
	if (n < 0 || (size_t)n >= cap) {
		return DMP_ENOBUFS;
	}
	o = (size_t)n;
	/* Signed values are prefix + base64: no quote or backslash to
	 * escape; split as a TXT RR's strings are (txt.h). */
	for (size_t i = 0; i < len || i == 0; i += DMP_TXT_STRING_MAX) {
		size_t l =
		    len - i < DMP_TXT_STRING_MAX ? len - i : DMP_TXT_STRING_MAX;

		n = snprintf(out + o, cap - o, " \"%.*s\"", (int)l, value + i);
		if (n < 0 || (size_t)n >= cap - o) {
			return DMP_ENOBUFS;
		}
		o += (size_t)n;
		if (len == 0) {
			break;
		}
	}
	return 0;
}

int dmp_node_txt_publish(const char *server, const char *zone, const char *tsig,
			 const char *owner, const char *value, uint32_t ttl)
{
	struct dmp_update_rr ops[2] = {
	    {DMP_UPDATE_DELETE_RRSET, owner, 0, NULL, 0},
	    {DMP_UPDATE_ADD, owner, ttl, value, strlen(value)},
	};
	struct dmp_tsig_key *key = NULL;
	struct dmp_update_conn *c = NULL;
	struct dmp_update_opts o;
	int rc;

	rc = dmp_tsig_key_parse(&key, tsig);
	if (rc < 0) {
		return rc;
	}
	dmp_update_opts_default(&o);
	o.tcp = 1; /* a manifest may be over a UDP datagram */
	rc = dmp_update_conn_new(&c, server, zone, key, &o);
	if (rc == 0) {
		rc = dmp_update_send(c, ops, 2, (uint64_t)time(NULL), NULL);
	}
	dmp_update_conn_free(c);
	dmp_tsig_key_free(key);
	return rc;
}
