/*
 * tools/dmp/cmd_tsig.c - `dmp tsig register --node-http URL`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/engine.h"
#include "dmp/err.h"

static void usage_tsig(FILE *f)
{
	fprintf(f, "usage: dmp tsig register --node-http URL\n"
		   "  register   obtain a TSIG key from the node's "
		   "registration API\n"
		   "             (URL like http://node:8053) and store it as "
		   "network.tsig\n");
}

int dmpcli_cmd_tsig(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	const char *url = NULL;
	char name[256];
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage_tsig(argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE : 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--node-http") == 0 && i + 1 < argc) {
			url = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			usage_tsig(stdout);
			return 0;
		} else {
			usage_tsig(stderr);
			return EX_USAGE;
		}
	}
	if (strcmp(argv[1], "register") != 0 || !url) {
		usage_tsig(stderr);
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	rc = dmp_engine_register_tsig(e, url, name, sizeof(name));
	dmp_engine_close(e);
	switch (rc) {
	case 0:
		printf("registered: TSIG key %s stored in config.yaml\n", name);
		return 0;
	case DMP_EUNREACHABLE:
		fprintf(stderr,
			"dmp: tsig register: node unreachable at %s\n"
			"     check the URL and that dmp-node runs "
			"with --http\n",
			url);
		return EX_UNREACHABLE;
	case DMP_ENOENT:
		fprintf(stderr, "dmp: tsig register: registration is not "
				"enabled on this node (404)\n");
		return EX_NOTFOUND;
	case DMP_ENOTAUTH:
		fprintf(stderr,
			"dmp: tsig register: the node rejected our proof "
			"(401)\n     the challenge expired or the clock is "
			"off; try again\n");
		return EX_NOTAUTH;
	case DMP_EACCES:
		fprintf(stderr, "dmp: tsig register: this address may not "
				"register on this node (403)\n"
				"     ask the node operator to allow it\n");
		return EX_REFUSED;
	case DMP_EEXIST:
		fprintf(stderr,
			"dmp: tsig register: the name is already registered "
			"to another key (409)\n");
		return EX_FAIL;
	case DMP_EAGAIN:
		fprintf(stderr, "dmp: tsig register: rate limited by the node "
				"(429); wait and try again\n");
		return EX_FAIL;
	default: return dmpcli_fail("tsig register", rc);
	}
}
