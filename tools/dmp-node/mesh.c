/*
 * tools/dmp-node/mesh.c - `dmp-node mesh`: the relay links, routing table
 * and counters of a running node (GET /v1/mesh, docs/protocol.md 8.7.9),
 * printed readably. The node is named by --http ADDR:PORT (or a URL), or
 * by the network.http of the config given with -c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/config.h"
#include "dmp/err.h"
#include "node_main.h"

void dmpnode_mesh_usage(FILE *f)
{
	fprintf(f, "       dmp-node mesh [--http ADDR:PORT | -c FILE]\n");
}

int dmpnode_mesh_cmd(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"http", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *http = NULL, *cfg = NULL;
	char url[DMP_CFG_STR_MAX + 16], err[256];
	struct node_conf *c = NULL;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'H': http = optarg; break;
		case 'c': cfg = optarg; break;
		case 'h': dmpnode_mesh_usage(stdout); return 0;
		default: dmpnode_mesh_usage(stderr); return 2;
		}
	}
	if (optind < argc || (!http && !cfg)) {
		dmpnode_mesh_usage(stderr);
		return 2;
	}
	if (!http) {
		c = calloc(1, sizeof(*c));
		if (!c || dmp_config_load(dmpnode_schema, dmpnode_schema_len, c,
					  cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "dmp-node: %s\n",
				c ? err : "out of memory");
			free(c);
			return 1;
		}
		if (!c->http[0]) {
			fprintf(stderr,
				"dmp-node: %s sets no network.http: "
				"give --http ADDR:PORT\n",
				cfg);
			free(c);
			return 1;
		}
		http = c->http;
	}
	snprintf(url, sizeof(url), "%s%s", strstr(http, "://") ? "" : "http://",
		 http);
	rc = dmp_node_mesh_show(url, stdout);
	if (rc == DMP_EUNREACHABLE) {
		fprintf(stderr,
			"dmp-node: %s does not answer: is the node running "
			"with network.http there?\n",
			url);
	} else if (rc == DMP_EMALFORMED) {
		fprintf(stderr, "dmp-node: %s/v1/mesh: not a mesh report\n",
			url);
	} else if (rc == DMP_EIO) {
		fprintf(stderr, "dmp-node: (a 404 means mesh.relay_enabled is "
				"false there)\n");
	}
	free(c);
	return rc == 0 ? 0 : 1;
}
