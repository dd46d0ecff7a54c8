/*
 * tools/dmp/cmd_resolvers.c - `dmp resolvers [discover [--save]
 * [IP[:PORT]...]]`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#include "dmp/common.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/resolver.h"
#include "dmp/text.h"

static void usage_resolvers(FILE *f)
{
	fprintf(f, "usage: dmp resolvers\n"
		   "       dmp resolvers discover [--save] [IP[:PORT]...]\n"
		   "  (none)    ask each configured resolver and node read "
		   "directly now: up\n"
		   "            (answers) or down (why), with the round "
		   "trip\n"
		   "  discover  probe the given, configured and resolv.conf "
		   "resolvers with a TXT\n"
		   "            query for our identity and rank them; --save "
		   "writes the best to\n"
		   "            network.resolvers\n");
}

static int cmd_discover(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_resolver_probe p[DMP_RESOLVER_MAX_SERVERS];
	const char *cands[DMP_RESOLVER_MAX_SERVERS];
	size_t n = 0;
	int save = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--save") == 0) {
			save = 1;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage_resolvers(stdout);
			return 0;
		} else if (argv[i][0] == '-' || n >= DMP_ARRAY_LEN(cands)) {
			usage_resolvers(stderr);
			return EX_USAGE;
		} else {
			cands[n++] = argv[i];
		}
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	rc = dmp_engine_resolvers_discover(e, cands, n, p, DMP_ARRAY_LEN(p),
					   save);
	if (rc == DMP_ENOENT) {
		dmp_engine_close(e);
		fprintf(stderr, "dmp: resolvers discover: no resolver "
				"answered; config.yaml left alone\n");
		return EX_UNREACHABLE;
	}
	if (rc < 0) {
		dmp_engine_close(e);
		return dmpcli_fail("resolvers discover", rc);
	}
	for (int i = 0; i < rc; i++) {
		char rtt[16];

		snprintf(rtt, sizeof(rtt), "%d ms", p[i].rtt_ms);
		printf("%2d. %-24s %-10s %s\n", i + 1, p[i].addr,
		       p[i].rtt_ms >= 0 ? rtt : "-",
		       p[i].grade == 2	 ? "ok (identity found)"
		       : p[i].grade == 1 ? "answers (identity not found)"
					 : dmp_strerror(p[i].err));
	}
	if (save) {
		printf("saved the best to network.resolvers in "
		       "config.yaml\n");
	}
	dmp_engine_close(e);
	return 0;
}

int dmpcli_cmd_resolvers(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_resolver_probe p[DMP_RESOLVER_MAX_SERVERS];
	char when[32];
	int rc, down = 0;

	if (argc > 1 && strcmp(argv[1], "discover") == 0) {
		return cmd_discover(c, argc - 1, argv + 1);
	}
	if (argc > 1) {
		usage_resolvers(strcmp(argv[1], "--help") == 0 ? stdout
							       : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	/* Asked now, each alone: a fresh process has no history, so the
	 * pool's own view would call every server up. */
	rc = dmp_engine_resolvers_check(e, p, DMP_ARRAY_LEN(p));
	dmp_engine_close(e);
	if (rc < 0) {
		return dmpcli_fail("resolvers", rc);
	}
	for (int i = 0; i < rc; i++) {
		char rtt[16];

		snprintf(rtt, sizeof(rtt), "%d ms", p[i].rtt_ms);
		down += p[i].grade == 0;
		printf("%-24s %-5s %-8s %s\n", p[i].addr,
		       p[i].grade ? "up" : "down", p[i].rtt_ms >= 0 ? rtt : "-",
		       p[i].grade ? "answers" : dmp_strerror(p[i].err));
	}
	printf("(checked now, %s)\n",
	       dmp_time_utc(when, sizeof(when), (int64_t)time(NULL)));
	return down == rc && rc > 0 ? EX_UNREACHABLE : 0;
}
