/*
 * tools/dmp/cmd_peers.c - `dmp peers [refresh]`: storage nodes discovered from
 * verified heartbeats.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/common.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/keys.h"
#include "dmp/peers.h"
#include "dmp/store.h"

static void usage_peers(FILE *f)
{
	fprintf(f,
		"usage: dmp peers [refresh]\n"
		"  (none)   list the storage nodes discovered from verified "
		"heartbeats\n"
		"           (PROTOCOL.md 8), newest first: health, endpoint, "
		"key fingerprint,\n"
		"           age of the last heartbeat, version\n"
		"  refresh  first read _dnsmesh-heartbeat and _dnsmesh-seen "
		"of the seed zones\n"
		"           (the identity's domain and discovery.seeds)\n");
}

/* One line per seed zone on stderr: what `refresh` found there. */
static void print_seed(const struct dmp_peers_seed_result *s)
{
	char hb[64], seen[64];

	if (s->hb_err == 0) {
		snprintf(hb, sizeof(hb), "%u value%s", s->hb_values,
			 s->hb_values == 1 ? "" : "s");
	} else {
		snprintf(hb, sizeof(hb), "%s", dmp_strerror(s->hb_err));
	}
	if (s->seen_err == 0) {
		snprintf(seen, sizeof(seen), "%u value%s", s->seen_values,
			 s->seen_values == 1 ? "" : "s");
	} else {
		snprintf(seen, sizeof(seen), "%s", dmp_strerror(s->seen_err));
	}
	fprintf(stderr, "dmp: seed %s: heartbeat %s, seen %s, %u verified\n",
		s->zone, hb, seen, s->verified);
}

int dmpcli_cmd_peers(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_peers_conf pc;
	struct dmp_store_peer *v = NULL;
	char zones[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1];
	size_t n = 0;
	int64_t now = dmpcli_clock(c);
	int rc, refresh = 0;

	if (argc > 1 && strcmp(argv[1], "refresh") == 0 && argc == 2) {
		refresh = 1;
	} else if (argc > 1) {
		usage_peers(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	rc = dmp_peers_conf_load(dmp_engine_home(e), &pc);
	if (rc == 0 && refresh) {
		struct dmp_peers_seed_result sr[DMP_PEERS_SEEDS_MAX];

		rc = dmp_peers_refresh_report(
		    dmp_engine_resolver(e), dmp_engine_store(e), &pc, now, sr);
		for (size_t i = 0; rc >= 0 && i < pc.n_seeds; i++) {
			print_seed(&sr[i]);
		}
		if (rc >= 0) {
			fprintf(stderr,
				"dmp: %d verified heartbeat%s from %zu "
				"seed zone%s\n",
				rc, rc == 1 ? "" : "s", pc.n_seeds,
				pc.n_seeds == 1 ? "" : "s");
		}
	}
	if (rc >= 0) {
		rc = dmp_peers_list(dmp_engine_store(e), &v, &n);
	}
	if (rc < 0) {
		dmp_engine_close(e);
		return dmpcli_fail("peers", rc);
	}
	for (size_t i = 0; i < n; i++) {
		char fp[DMP_FINGERPRINT_CHARS + 1];

		dmp_fingerprint_hex(fp, v[i].operator_spk);
		printf("%-11s %-40s %s %6llds %s%s\n",
		       dmp_peer_health_name(
			   dmp_peer_health(&v[i], now, pc.stale_after)),
		       v[i].endpoint, fp,
		       (long long)(now - (int64_t)v[i].hb_ts), v[i].version,
		       (v[i].capabilities & DMP_HEARTBEAT_CAP_CLAIM_PROVIDER)
			   ? " claim-provider"
			   : "");
	}
	if (n == 0) {
		fprintf(stderr, "dmp: no peers known%s\n",
			refresh ? "" : " (try `dmp peers refresh`)");
	}
	rc = dmp_peers_providers(dmp_engine_store(e), now, zones);
	for (int i = 0; i < rc; i++) {
		printf("provider %s\n", zones[i]);
	}
	dmp_free(v);
	dmp_engine_close(e);
	return 0;
}
