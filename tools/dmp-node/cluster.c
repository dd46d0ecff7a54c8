/*
 * tools/dmp-node/cluster.c - `dmp-node cluster ...`: the operator's
 * commands for a cluster manifest and a bootstrap record (PROTOCOL.md
 * 2.6, 2.7; docs/man/dmp-node.8). Arguments only: signing is
 * dmp_cluster_sign()/dmp_bootstrap_sign(), rendering and publishing are
 * dmp_node_txt_line()/dmp_node_txt_publish().
 *
 *   dmp-node cluster pubkey --key FILE
 *   dmp-node cluster sign --key FILE --name BASE --node ID,HTTP[,DNS]...
 *            [--seq N] [--days D] [--ttl S] [--publish IP:PORT
 *            --tsig-file FILE|- [--zone ZONE]]
 *   dmp-node cluster bootstrap --key FILE --domain DOMAIN
 *            --entry PRIORITY,BASE,OPERATOR_PUBKEY... [same options]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dmp/b64.h"
#include "dmp/bootstrap.h"
#include "dmp/cluster.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/text.h"
#include "node_main.h"

void dmpnode_cluster_usage(FILE *f)
{
	fprintf(f,
		"usage: dmp-node cluster pubkey --key FILE\n"
		"       dmp-node cluster sign --key FILE --name BASE "
		"--node ID,HTTP_URL[,DNS_HOST:PORT]... [--seq N] [--days D]\n"
		"       dmp-node cluster bootstrap --key FILE --domain DOMAIN "
		"--entry PRIORITY,BASE,OPERATOR_PUBKEY... [--seq N] "
		"[--days D]\n"
		"  sign/bootstrap print the TXT record as a zone-file line; "
		"with --publish IP:PORT --tsig-file FILE (- = stdin) "
		"[--zone ZONE] they replace it on that node by TSIG "
		"UPDATE.\n"
		"  --seq defaults to the current Unix time (always newer); "
		"--days (1..1825) to 365; --ttl (60..86400) to 3600.\n");
}

struct cl_args {
	const char *key, *name, *domain, *publish, *tsig_file, *zone;
	long long seq, days, ttl;
	const char *items[DMP_CLUSTER_MAX_NODES + 1];
	size_t n_items;
};

/* "a,b[,c]" -> up to 3 fields (the last may be empty). @return count */
static int split3(const char *s, char f[3][DMP_CLUSTER_HTTP_MAX + 2])
{
	int n = 0;

	for (const char *p = s; n < 3; n++) {
		const char *c = n < 2 ? strchr(p, ',') : NULL;
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (l > DMP_CLUSTER_HTTP_MAX) {
			return -1;
		}
		memcpy(f[n], p, l);
		f[n][l] = 0;
		if (!c) {
			return n + 1;
		}
		p = c + 1;
	}
	return n;
}

static int load_key(const char *path, uint8_t pk[32], uint8_t sk[64],
		    int create)
{
	struct stat sb;
	int rc;

	if (!create && stat(path, &sb) != 0) {
		fprintf(stderr,
			"dmp-node: %s: no such key file (make one with "
			"`dmp-node cluster pubkey --key %s`)\n",
			path, path);
		return 1;
	}
	rc = dmp_node_opkey_load(path, pk, sk);
	if (rc < 0) {
		fprintf(stderr, "dmp-node: %s: %s (64 hex digits expected)\n",
			path, dmp_strerror(rc));
		return 1;
	}
	return 0;
}

static int read_tsig(const char *path, char *out, size_t cap)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	int ok;

	if (!f) {
		fprintf(stderr, "dmp-node: cannot read TSIG key %s\n", path);
		return 1;
	}
	ok = fgets(out, (int)cap, f) != NULL;
	if (f != stdin) {
		fclose(f);
	}
	out[strcspn(out, "\r\n")] = 0;
	if (!ok || !out[0]) {
		fprintf(stderr,
			"dmp-node: %s: empty TSIG key (expected "
			"hmac-sha256:NAME:SECRET)\n",
			path);
		return 1;
	}
	return 0;
}

/* Print, or publish, @p value at @p owner. */
static int emit(const struct cl_args *a, const char *owner, const char *zone,
		const char *value)
{
	char line[DMP_RECORD_WIRE_MAX + 512], tsig[1024];
	int rc;

	if (!a->publish) {
		rc = dmp_node_txt_line(line, sizeof(line), owner,
				       (uint32_t)a->ttl, value);
		if (rc < 0) {
			fprintf(stderr, "dmp-node: %s\n", dmp_strerror(rc));
			return 1;
		}
		printf("%s\n", line);
		return 0;
	}
	if (!a->tsig_file) {
		fprintf(stderr, "dmp-node: --publish needs --tsig-file FILE "
				"(or - for standard input)\n");
		return 2;
	}
	if (read_tsig(a->tsig_file, tsig, sizeof(tsig)) != 0) {
		return 1;
	}
	rc = dmp_node_txt_publish(a->publish, a->zone ? a->zone : zone, tsig,
				  owner, value, (uint32_t)a->ttl);
	dmp_wipe(tsig, sizeof(tsig));
	if (rc < 0) {
		fprintf(stderr,
			"dmp-node: publishing %s to %s: %s (check the address, "
			"the TSIG key and that its scope covers %s)\n",
			owner, a->publish, dmp_strerror(rc), owner);
		return 1;
	}
	printf("published %s on %s\n", owner, a->publish);
	return 0;
}

static int do_sign(const struct cl_args *a, const uint8_t pk[32],
		   const uint8_t sk[64])
{
	struct dmp_cluster *c = calloc(1, sizeof(*c));
	char wire[DMP_RECORD_WIRE_MAX + 1], owner[DMP_CFG_STR_MAX];
	int rc = 2;

	if (!c) {
		return 1;
	}
	if (!a->name || a->n_items == 0) {
		fprintf(stderr, "dmp-node: cluster sign needs --name BASE and "
				"at least one --node ID,HTTP_URL[,DNS]\n");
		goto out;
	}
	c->seq = (uint64_t)a->seq;
	c->exp = (uint64_t)time(NULL) + (uint64_t)a->days * 86400;
	memcpy(c->operator_spk, pk, 32);
	snprintf(c->name, sizeof(c->name), "%s", a->name);
	for (size_t i = 0; i < a->n_items; i++) {
		char f[3][DMP_CLUSTER_HTTP_MAX + 2];
		struct dmp_cluster_node *n = &c->nodes[i];
		int k = split3(a->items[i], f);

		if (k < 2 || strlen(f[0]) > DMP_CLUSTER_NODE_ID_MAX ||
		    (k == 3 && strlen(f[2]) > DMP_CLUSTER_DNS_MAX)) {
			fprintf(stderr,
				"dmp-node: --node %s: expected ID,HTTP_URL"
				"[,DNS_HOST:PORT] (ID 1..16, URL 1..128, DNS "
				"0..64 characters)\n",
				a->items[i]);
			goto out;
		}
		/* lengths checked above (split3: the URL's) */
		memcpy(n->node_id, f[0], strlen(f[0]) + 1);
		memcpy(n->http_endpoint, f[1], strlen(f[1]) + 1);
		if (k == 3) {
			memcpy(n->dns_endpoint, f[2], strlen(f[2]) + 1);
		}
	}
	c->node_count = a->n_items;
	rc = dmp_cluster_sign(wire, sizeof(wire), c, sk);
	if (rc < 0) {
		fprintf(stderr,
			"dmp-node: cannot sign the manifest: %s (node ids "
			"must be unique, the name a DNS name)\n",
			dmp_strerror(rc));
		rc = 1;
		goto out;
	}
	snprintf(owner, sizeof(owner), "cluster.%s", c->name);
	rc = emit(a, owner, c->name, wire);
out:
	free(c);
	return rc;
}

static int do_bootstrap(const struct cl_args *a, const uint8_t pk[32],
			const uint8_t sk[64])
{
	struct dmp_bootstrap *b = calloc(1, sizeof(*b));
	char wire[DMP_RECORD_WIRE_MAX + 1], owner[DMP_CFG_STR_MAX];
	int rc = 2;

	if (!b) {
		return 1;
	}
	if (!a->domain || a->n_items == 0 ||
	    a->n_items > DMP_BOOTSTRAP_MAX_ENTRIES) {
		fprintf(stderr, "dmp-node: cluster bootstrap needs --domain "
				"DOMAIN and 1..16 --entry "
				"PRIORITY,BASE,OPERATOR_PUBKEY\n");
		goto out;
	}
	b->seq = (uint64_t)a->seq;
	b->exp = (uint64_t)time(NULL) + (uint64_t)a->days * 86400;
	memcpy(b->signer_spk, pk, 32);
	snprintf(b->user_domain, sizeof(b->user_domain), "%s", a->domain);
	for (size_t i = 0; i < a->n_items; i++) {
		char f[3][DMP_CLUSTER_HTTP_MAX + 2];
		struct dmp_bootstrap_entry *en = &b->entries[i];
		long long prio;

		if (split3(a->items[i], f) != 3 ||
		    dmp_parse_int(f[0], 0, 65535, &prio) < 0 ||
		    strlen(f[1]) > DMP_DNSNAME_MAX + 1 ||
		    dmp_hex_decode(en->operator_spk, 32, f[2], strlen(f[2])) <
			0) {
			fprintf(stderr,
				"dmp-node: --entry %s: expected PRIORITY "
				"(0..65535),BASE (a DNS name),OPERATOR_PUBKEY "
				"(64 hex digits, `dmp-node cluster pubkey`)\n",
				a->items[i]);
			goto out;
		}
		en->priority = (uint16_t)prio;
		memcpy(en->base, f[1], strlen(f[1]) + 1); /* length checked */
	}
	b->entry_count = a->n_items;
	rc = dmp_bootstrap_sign(wire, sizeof(wire), b, sk);
	if (rc < 0) {
		fprintf(stderr,
			"dmp-node: cannot sign the bootstrap record: %s "
			"((priority, base) pairs must be unique, names DNS "
			"names)\n",
			dmp_strerror(rc));
		rc = 1;
		goto out;
	}
	snprintf(owner, sizeof(owner), "_dmp.%s", b->user_domain);
	rc = emit(a, owner, b->user_domain, wire);
out:
	free(b);
	return rc;
}

static int num(const char *what, const char *s, long long lo, long long hi,
	       long long *out)
{
	if (dmp_parse_int(s, lo, hi, out) < 0) {
		fprintf(stderr, "dmp-node: bad %s %s (%lld..%lld)\n", what, s,
			lo, hi);
		return -1;
	}
	return 0;
}

int dmpnode_cluster_cmd(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"name", required_argument, NULL, 'n'},
	    {"domain", required_argument, NULL, 'd'},
	    {"node", required_argument, NULL, 'N'},
	    {"entry", required_argument, NULL, 'E'},
	    {"seq", required_argument, NULL, 's'},
	    {"days", required_argument, NULL, 'D'},
	    {"ttl", required_argument, NULL, 't'},
	    {"publish", required_argument, NULL, 'p'},
	    {"tsig-file", required_argument, NULL, 'T'},
	    {"zone", required_argument, NULL, 'z'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cl_args a = {
	    .seq = (long long)time(NULL), .days = 365, .ttl = 3600};
	uint8_t pk[32], sk[64];
	const char *sub;
	int opt, rc;

	if (argc < 2) {
		dmpnode_cluster_usage(stderr);
		return 2;
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		dmpnode_cluster_usage(stdout);
		return 0;
	}
	argc--;
	argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'k': a.key = optarg; break;
		case 'n': a.name = optarg; break;
		case 'd': a.domain = optarg; break;
		case 'N':
		case 'E':
			if (a.n_items == DMP_ARRAY_LEN(a.items)) {
				fprintf(stderr,
					"dmp-node: too many "
					"--node/--entry (at most 32)\n");
				return 2;
			}
			a.items[a.n_items++] = optarg;
			break;
		case 's':
			if (num("--seq", optarg, 0, INT64_MAX, &a.seq) < 0) {
				return 2;
			}
			break;
		case 'D':
			if (num("--days", optarg, 1, 1825, &a.days) < 0) {
				return 2;
			}
			break;
		case 't':
			if (num("--ttl", optarg, 60, 86400, &a.ttl) < 0) {
				return 2;
			}
			break;
		case 'p': a.publish = optarg; break;
		case 'T': a.tsig_file = optarg; break;
		case 'z': a.zone = optarg; break;
		case 'h': dmpnode_cluster_usage(stdout); return 0;
		default: dmpnode_cluster_usage(stderr); return 2;
		}
	}
	if (!a.key || optind != argc ||
	    (strcmp(sub, "pubkey") != 0 && strcmp(sub, "sign") != 0 &&
	     strcmp(sub, "bootstrap") != 0)) {
		dmpnode_cluster_usage(stderr);
		return 2;
	}
	if (load_key(a.key, pk, sk, strcmp(sub, "pubkey") == 0) != 0) {
		return 1;
	}
	if (strcmp(sub, "pubkey") == 0) {
		char hex[65];

		dmp_hex_encode(hex, pk, 32);
		printf("%s\n", hex);
		rc = 0;
	} else if (strcmp(sub, "sign") == 0) {
		rc = do_sign(&a, pk, sk);
	} else {
		rc = do_bootstrap(&a, pk, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	return rc;
}
