/*
 * tools/dmp/cmd_init.c - `dmp init`: create a home and derive the identity.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/names.h"

static void usage_init(FILE *f)
{
	fprintf(f, "usage: dmp [--home DIR] init USER --domain ZONE --node "
		   "HOST[:PORT] [--node ...]\n"
		   "                [--resolver IP[:PORT]]... [--tsig-file "
		   "FILE | --tsig -]\n"
		   "                [--zone-key HEX] [--repair]\n"
		   "--zone-key: the zone operator's key (64 hex digits, "
		   "cluster.zone_key): the nodes\nare found through "
		   "_dmp.ZONE and --node may be left out.\n"
		   "Create the home (config.yaml, state.db, Maildirs) and "
		   "derive the identity\nfrom the passphrase. The TSIG key "
		   "(hmac-sha256:NAME:SECRET, as `dmp-node key add`\nprints "
		   "it) is read from FILE (mode 0600) or, with `--tsig -`, "
		   "from standard input.\n"
		   "--repair: the home's config.yaml was lost but state.db "
		   "is there: write a new\nconfig.yaml for the identity it "
		   "holds (same USER, ZONE and passphrase);\ncontacts, "
		   "queue and keys are kept.\n");
}

/*
 * The TSIG key of --tsig-file FILE, --tsig - (standard input) or, visible
 * to every user through ps and /proc, --tsig SPEC itself (kept for old
 * scripts, with a warning). @return a new string (dmpcli_free_pass) or
 * NULL after a message.
 */
static char *read_tsig(const char *arg, const char *file)
{
	char line[512], *p = NULL;
	int rc;

	if (file) {
		rc = dmp_passfile_read(file, &p);
		if (rc == DMP_EACCES) {
			fprintf(stderr,
				"dmp: %s: readable by others; chmod 600 "
				"it first\n",
				file);
		} else if (rc < 0) {
			fprintf(stderr, "dmp: --tsig-file %s: %s\n", file,
				dmp_strerror(rc));
		}
		return p;
	}
	if (strcmp(arg, "-") != 0) {
		fprintf(stderr, "dmp: warning: --tsig SECRET is visible to "
				"other users (ps, /proc); use --tsig-file FILE "
				"or --tsig - (standard input)\n");
		return strdup(arg);
	}
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "dmp: --tsig -: nothing on standard input\n");
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	p = strdup(line);
	dmp_wipe(line, sizeof(line));
	return p;
}

/* The outcome of `init --repair`. */
static int repaired(const struct dmp_engine_init *in, int rc)
{
	switch (rc) {
	case 0:
		printf("config.yaml re-created for %s@%s; state.db was not "
		       "changed\n",
		       in->username, in->domain);
		return 0;
	case DMP_EEXIST:
		fprintf(stderr, "dmp: init --repair: config.yaml exists; "
				"nothing to repair (edit it, or move it away "
				"first)\n");
		return EX_FAIL;
	case DMP_ENOENT:
		fprintf(stderr, "dmp: init --repair: no identity (state.db) "
				"in this home: run `dmp init` without "
				"--repair\n");
		return EX_NOHOME;
	case DMP_EINVAL:
		fprintf(stderr, "dmp: init --repair: USER and --domain must be "
				"those of the identity in state.db (the line "
				"above names it)\n");
		return EX_USAGE;
	default: return dmpcli_fail("init --repair", rc);
	}
}

int dmpcli_cmd_init(struct dmpcli *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"node", required_argument, NULL, 'n'},
	    {"resolver", required_argument, NULL, 'r'},
	    {"tsig", required_argument, NULL, 't'},
	    {"tsig-file", required_argument, NULL, 'T'},
	    {"salt-hex", required_argument, NULL, 's'},
	    {"repair", no_argument, NULL, 'R'},
	    {"zone-key", required_argument, NULL, 'Z'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	const char *nodes[9] = {0}, *res[9] = {0}, *tsig = NULL,
		   *tsig_file = NULL;
	char *tsig_buf = NULL;
	size_t nn = 0, nr = 0;
	struct dmp_engine_init in;
	uint8_t salt[64];
	char *pass;
	int opt, rc, repair = 0;

	memset(&in, 0, sizeof(in));
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'd': in.domain = optarg; break;
		case 'n':
			if (nn < 8) {
				nodes[nn++] = optarg;
			}
			break;
		case 'r':
			if (nr < 8) {
				res[nr++] = optarg;
			}
			break;
		case 't': tsig = optarg; break;
		case 'T': tsig_file = optarg; break;
		case 's':
			/* Import of an existing identity (tests, migration). */
			if (strlen(optarg) % 2 ||
			    strlen(optarg) / 2 < DMP_KDF_SALT_MIN ||
			    strlen(optarg) / 2 > sizeof(salt) ||
			    dmp_hex_decode(salt, strlen(optarg) / 2, optarg,
					   strlen(optarg)) < 0) {
				fprintf(stderr, "dmp: bad --salt-hex\n");
				return EX_USAGE;
			}
			in.salt = salt;
			in.salt_len = strlen(optarg) / 2;
			break;
		case 'R': repair = 1; break;
		case 'Z': in.zone_key = optarg; break;
		case 'h': usage_init(stdout); return 0;
		default: usage_init(stderr); return EX_USAGE;
		}
	}
	if (optind != argc - 1 || !in.domain || (nn == 0 && !in.zone_key)) {
		usage_init(stderr);
		return EX_USAGE;
	}
	in.username = argv[optind];
	if (!dmp_name_user_scope_safe(in.username)) {
		fprintf(stderr, "dmp: warning: use a lower-case user name, or "
				"the node's key scope will not cover your "
				"records\n");
	}
	in.nodes = nodes;
	in.resolvers = nr ? res : NULL;
	if (tsig && tsig_file) {
		fprintf(stderr, "dmp: --tsig and --tsig-file: give one\n");
		return EX_USAGE;
	}
	if (tsig || tsig_file) {
		tsig_buf = read_tsig(tsig, tsig_file);
		if (!tsig_buf) {
			return EX_USAGE;
		}
		in.tsig = tsig_buf;
	}
	pass = dmpcli_passphrase(c, 1);
	if (!pass) {
		dmpcli_free_pass(tsig_buf);
		return EX_PASSPHRASE;
	}
	if (!*pass) {
		dmpcli_free_pass(pass);
		dmpcli_free_pass(tsig_buf);
		fprintf(stderr, "dmp: empty passphrase\n");
		return EX_PASSPHRASE;
	}
	rc = repair ? dmp_engine_repair_config(c->home, &in, pass)
		    : dmp_engine_init_home(c->home, &in, pass);
	dmpcli_free_pass(pass);
	dmpcli_free_pass(tsig_buf);
	if (repair) {
		return repaired(&in, rc);
	}
	if (rc == DMP_EEXIST) {
		char h[3072], p[3100];
		struct stat sb;

		if (dmp_engine_resolve_home(h, sizeof(h), c->home) == 0 &&
		    snprintf(p, sizeof(p), "%s/config.yaml", h) > 0 &&
		    stat(p, &sb) != 0) {
			fprintf(stderr,
				"dmp: %s holds an identity (state.db) but "
				"its config.yaml is missing.\n     Re-create "
				"it: run the same `dmp init` again with "
				"--repair (same passphrase);\n     contacts, "
				"queue and keys are kept\n",
				h);
			return EX_CONFIG;
		}
		fprintf(stderr, "dmp: this home already holds an identity "
				"(use another --home for a new one)\n");
		return EX_FAIL;
	}
	if (rc < 0) {
		return dmpcli_fail("init", rc);
	}
	printf("initialised %s@%s; next: `dmp identity publish`\n", in.username,
	       in.domain);
	return 0;
}
