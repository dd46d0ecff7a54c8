/*
 * bench/bench_update.c - acknowledged TSIG UPDATEs per second against one
 * server: COUNT updates, one TXT record each, sent one after another, each
 * waiting for its signed NOERROR (so every one counted was durable at the
 * server when it answered). Over UDP, as clients send them (PROTOCOL.md
 * 7.1); BENCH_TCP=1 uses one kept TCP connection instead.
 *
 * Usage: bench_update SERVER:PORT ZONE hmac-sha256:NAME:SECRET COUNT
 * Used by bench/node_bench.sh to compare dmp-node with Knot DNS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dmp/err.h"
#include "dmp/update.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct dmp_tsig_key *key = NULL;
	struct dmp_update_conn *c = NULL;
	struct dmp_update_opts o;
	struct dmp_update_result res;
	char owner[256], value[242];
	long count;
	double t0, t;
	int rc;

	if (argc != 5 || (count = atol(argv[4])) <= 0) {
		fprintf(stderr, "usage: bench_update SERVER:PORT ZONE "
				"hmac-sha256:NAME:SECRET COUNT\n");
		return 2;
	}
	if (dmp_init() != 0 || dmp_tsig_key_parse(&key, argv[3]) != 0) {
		fprintf(stderr, "bench_update: bad key\n");
		return 1;
	}
	dmp_update_opts_default(&o);
	o.tcp = getenv("BENCH_TCP") != NULL;
	rc = dmp_update_conn_new(&c, argv[1], argv[2], key, &o);
	if (rc < 0) {
		fprintf(stderr, "bench_update: %s\n", dmp_strerror(rc));
		return 1;
	}
	/* A chunk-shaped value, as a sender publishes. */
	snprintf(value, sizeof(value), "v=dmp1;t=chunk;d=%0224d", 0);
	t0 = now_s();
	for (long i = 0; i < count; i++) {
		snprintf(owner, sizeof(owner), "chunk-%04ld-%08lx.%s",
			 i % 10000, (unsigned long)i, argv[2]);
		rc = dmp_update_add(c, owner, 3600, value, (uint64_t)time(NULL),
				    &res);
		if (rc < 0) {
			fprintf(stderr, "bench_update: update %ld: %s\n", i,
				dmp_strerror(rc));
			return 1;
		}
	}
	t = now_s() - t0;
	printf("%.1f\n", (double)count / t);
	dmp_update_conn_free(c);
	dmp_tsig_key_free(key);
	return 0;
}
