/*
 * tools/dmp-node/main.c - the storage node.
 *
 *   dmp-node [-c node.yaml] [--zone Z]... [--listen ADDR:PORT]... [--db FILE]
 *            [-f] [-v]
 *   dmp-node key add NAME --scope SUFFIX... [-c FILE] [--db FILE]
 *   dmp-node key list [-c FILE] [--db FILE]
 *   dmp-node key revoke NAME [-c FILE] [--db FILE]
 *   dmp-node cluster pubkey|sign|bootstrap ... (cluster.c)
 *
 * --fake-now UNIX_SECONDS shifts the node's clock; it exists only so tests
 * can replay TSIG vectors signed at a fixed time. Never use it in service.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/text.h"
#include "node_main.h"

static void log_stderr(int level, const char *msg, void *ud)
{
	static const char *const names[] = {
	    "", "", "", "error", "warning", "notice", "info", "debug"};
	struct timespec ts;
	struct tm tm;
	char when[32];

	(void)ud;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s: %s\n", when, ts.tv_nsec / 1000000,
		level >= 0 && level < 8 ? names[level] : "?", msg);
}

static void log_syslog(int level, const char *msg, void *ud)
{
	(void)ud;
	syslog(level, "%s", msg);
}

static int level_of(const char *s)
{
	if (strcmp(s, "error") == 0) {
		return DMP_LOG_ERR;
	}
	if (strcmp(s, "warning") == 0) {
		return DMP_LOG_WARNING;
	}
	if (strcmp(s, "notice") == 0) {
		return DMP_LOG_NOTICE;
	}
	if (strcmp(s, "debug") == 0) {
		return DMP_LOG_DEBUG;
	}
	return DMP_LOG_INFO;
}

struct flag {
	const char *key;
	const char *val;
	int append;
};

/* What SIGHUP re-reads: the file, then the same flags again; and the log
 * handler in use, whose level it resets. */
struct reload_ctx {
	const char *cfg;
	const struct flag *flags;
	size_t n_flags;
	int verbose;
	dmp_log_fn handler;
};

static int conf_read(struct node_conf *c, const struct reload_ctx *r)
{
	char err[512];

	if (dmp_config_defaults(dmpnode_schema, dmpnode_schema_len, c) != 0) {
		return -1;
	}
	if (r->cfg && dmp_config_load(dmpnode_schema, dmpnode_schema_len, c,
				      r->cfg, err, sizeof(err)) != 0) {
		DMP_LOG_E("dmp-node: %s", err);
		return -1;
	}
	for (size_t i = 0; i < r->n_flags; i++) {
		if (dmp_config_set(dmpnode_schema, dmpnode_schema_len, c,
				   r->flags[i].key, r->flags[i].val,
				   r->flags[i].append, err, sizeof(err)) != 0) {
			DMP_LOG_E("dmp-node: %s", err);
			return -1;
		}
	}
	return dmpnode_conf_seed(c, 0); /* warned at start */
}

/* On the main thread; the other threads log meanwhile, which
 * dmp_log_set_handler() allows. */
static int reload_conf(struct node_conf *out, void *ud)
{
	const struct reload_ctx *r = ud;
	struct dmp_node_opts o;

	if (conf_read(out, r) != 0 || dmpnode_conf_opts(out, &o) != 0) {
		return -1;
	}
	dmp_log_set_handler(r->handler, NULL,
			    r->verbose ? DMP_LOG_DEBUG
				       : level_of(out->log_level));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dmp-node [-c FILE] [--zone ZONE]... "
		   "[--listen ADDR:PORT]... [--http ADDR:PORT] [--db FILE] "
		   "[-f] [-v]\n"
		   "       dmp-node key add NAME --scope SUFFIX... [--replace] "
		   "[-c FILE] [--db FILE]\n"
		   "       dmp-node key rotate NAME [-c FILE] [--db FILE]\n"
		   "       dmp-node key list [-c FILE] [--db FILE]\n"
		   "       dmp-node key revoke NAME [-c FILE] [--db FILE]\n"
		   "       dmp-node token add NAME --scope SUFFIX... [-c FILE] "
		   "[--db FILE]\n"
		   "       dmp-node token list [-c FILE] [--db FILE]\n"
		   "       dmp-node token revoke NAME [-c FILE] [--db FILE]\n");
	dmpnode_cluster_usage(f);
	dmpnode_mesh_usage(f);
}

struct key_list_ctx {
	int n;
	const char *want; /* key_find(): the name looked for */
	char scopes[DMP_NODE_MAX_SCOPES * DMP_NODE_NAME_MAX];
	int found;
};

static void find_key(const char *name, const char *alg, const char *scopes,
		     uint64_t created, void *ud)
{
	struct key_list_ctx *c = ud;

	(void)alg;
	(void)created;
	if (strcmp(name, c->want) == 0) {
		snprintf(c->scopes, sizeof(c->scopes), "%s", scopes);
		c->found = 1;
	}
}

/* Does key @p name exist (as the table keeps it: lower case, no final
 * dot)? Its scopes CSV in @p ctx. */
static int key_exists(struct dmp_node *n, const char *name,
		      struct key_list_ctx *ctx)
{
	char want[DMP_NODE_NAME_MAX];
	size_t l = 0;

	for (; name[l] && l + 1 < sizeof(want); l++) {
		want[l] = (char)tolower((unsigned char)name[l]);
	}
	want[l] = '\0';
	if (l > 1 && want[l - 1] == '.') {
		want[l - 1] = '\0';
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->want = want;
	if (dmp_node_key_list(n, find_key, ctx) < 0) {
		return -1;
	}
	ctx->want = NULL;
	return ctx->found;
}

/* Mint and print a new secret for @p name. @return the exit code */
static int mint(struct dmp_node *n, const char *name, const char *const *scopes,
		size_t n_scopes, uint64_t now)
{
	char line[DMP_NODE_NAME_MAX + 64];
	int err = dmp_node_key_mint(n, name, scopes, n_scopes, line,
				    sizeof(line), now);

	if (err == 0) {
		printf("%s\n", line);
	} else {
		fprintf(stderr, "dmp-node: key %s: %s\n", name,
			dmp_strerror(err));
	}
	dmp_wipe(line, sizeof(line));
	return err == 0 ? 0 : 1;
}

/* `key rotate NAME`: a new secret, the scopes kept. */
static int rotate(struct dmp_node *n, const char *name, uint64_t now)
{
	struct key_list_ctx ctx;
	const char *sc[DMP_NODE_MAX_SCOPES];
	size_t ns = 0;
	char *save = NULL, *tok;
	int ex = key_exists(n, name, &ctx);

	if (ex <= 0) {
		fprintf(stderr, "dmp-node: key rotate %s: %s\n", name,
			ex < 0 ? "cannot read the key table"
			       : "no such key (`dmp-node key list` shows "
				 "them; `key add` makes one)");
		return 1;
	}
	for (tok = strtok_r(ctx.scopes, ",", &save);
	     tok && ns < DMP_ARRAY_LEN(sc); tok = strtok_r(NULL, ",", &save)) {
		sc[ns++] = tok;
	}
	return mint(n, name, sc, ns, now);
}

static void print_key(const char *name, const char *alg, const char *scopes,
		      uint64_t created, void *ud)
{
	struct key_list_ctx *c = ud;
	char utc[32];

	printf("%s %s %llu %s %s\n", name, alg, (unsigned long long)created,
	       dmp_time_utc(utc, sizeof(utc), (int64_t)created), scopes);
	c->n++;
}

static int key_cmd(struct node_conf *c, int argc, char **argv,
		   const char *const *scopes, size_t n_scopes, int is_token,
		   int replace)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;
	uint64_t now = dmpnode_now_ms(0);
	int rc = 1, err;

	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (dmpnode_conf_opts(c, &o) < 0) {
		return 1;
	}
	o.n_zones = 0; /* keys only: no zone needed */
	/* Only "add" may create the store: list and revoke on a mistyped
	 * --db must not leave an empty database behind. */
	o.db_must_exist = strcmp(argv[0], "add") != 0;
	err = dmp_node_new(&n, &o, now);
	if (err == DMP_ENOENT) {
		fprintf(stderr,
			"dmp-node: %s: no such database; check --db or node.db "
			"in the config (a node creates its database when it "
			"starts, as does `dmp-node %s add`)\n",
			c->db, is_token ? "token" : "key");
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "dmp-node: %s: %s\n", c->db, dmp_strerror(err));
		return 1;
	}
	if (is_token && strcmp(argv[0], "add") == 0 && argc == 2) {
		char tok[DMP_NODE_TOKEN_LEN + 1];

		err =
		    dmp_node_token_add(n, argv[1], scopes, n_scopes, tok, now);
		if (err == 0) {
			/* The only time the token is shown. */
			printf("%s\n", tok);
			dmp_wipe(tok, sizeof(tok));
			rc = 0;
		} else {
			fprintf(stderr, "dmp-node: token add: %s\n",
				err == DMP_EINVAL ? "bad name or --scope "
						    "(at least one needed)"
						  : dmp_strerror(err));
		}
	} else if (is_token && strcmp(argv[0], "list") == 0 && argc == 1) {
		struct key_list_ctx ctx = {0};

		rc = dmp_node_token_list(n, print_key, &ctx) == 0 ? 0 : 1;
	} else if (is_token && strcmp(argv[0], "revoke") == 0 && argc == 2) {
		err = dmp_node_token_revoke(n, argv[1]);
		if (err == 0) {
			rc = 0;
		} else {
			fprintf(stderr, "dmp-node: token revoke %s: %s\n",
				argv[1],
				err == DMP_ENOENT ? "no such token"
						  : dmp_strerror(err));
		}
	} else if (is_token) {
		usage(stderr);
		rc = 2;
	} else if (strcmp(argv[0], "add") == 0 && argc == 2) {
		struct key_list_ctx ctx;
		int ex;

		if (n_scopes == 0) {
			fprintf(stderr, "dmp-node: key add needs at least one "
					"--scope SUFFIX\n");
			goto out;
		}
		/* Issue 14: a second add of a name silently replaced the
		 * secret and locked its user out. */
		ex = key_exists(n, argv[1], &ctx);
		if (ex < 0) {
			fprintf(stderr, "dmp-node: key add: cannot read the "
					"key table\n");
			goto out;
		}
		if (ex && !replace) {
			fprintf(stderr,
				"dmp-node: key add %s: the key exists (scopes "
				"%s); its user would be locked out.\n"
				"          To give it a new secret: "
				"`dmp-node key rotate %s` (same scopes) or "
				"`key add %s --scope ... --replace`\n",
				argv[1], ctx.scopes, argv[1], argv[1]);
			rc = 1;
			goto out;
		}
		rc = mint(n, argv[1], scopes, n_scopes, now);
	} else if (strcmp(argv[0], "rotate") == 0 && argc == 2) {
		rc = rotate(n, argv[1], now);
	} else if (strcmp(argv[0], "list") == 0 && argc == 1) {
		struct key_list_ctx ctx = {0};

		rc = dmp_node_key_list(n, print_key, &ctx) == 0 ? 0 : 1;
	} else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		err = dmp_node_key_revoke(n, argv[1]);
		if (err == 0) {
			rc = 0;
		} else {
			fprintf(stderr, "dmp-node: key revoke %s: %s\n",
				argv[1],
				err == DMP_ENOENT ? "no such key"
						  : dmp_strerror(err));
		}
	} else {
		usage(stderr);
		rc = 2;
	}
out:
	dmp_node_free(n);
	return rc;
}

/* A config file that holds a secret should be readable by the node's user
 * (or group) only: say so, as for the database (operator guide). */
static void warn_readable_secret(const char *cfg, const struct node_conf *c)
{
	struct stat sb;

	if (cfg && c->http_token[0] && stat(cfg, &sb) == 0 &&
	    (sb.st_mode & S_IROTH)) {
		fprintf(stderr,
			"dmp-node: warning: %s holds security.http_token and "
			"every user may read it: chmod 640 it (group: the "
			"node's user)\n",
			cfg);
	}
}

/* main() owns @p c, so every early return below frees it. */
static int run(int argc, char **argv, struct node_conf *c)
{
	static const struct option lo[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"zone", required_argument, NULL, 'z'},
	    {"listen", required_argument, NULL, 'l'},
	    {"http", required_argument, NULL, 'H'},
	    {"db", required_argument, NULL, 'd'},
	    {"scope", required_argument, NULL, 's'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"fake-now", required_argument, NULL, 'T'},
	    {"replace", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cfg = NULL, *scopes[DMP_NODE_MAX_SCOPES];
	size_t n_scopes = 0;
	int is_key = 0, foreground = 0, verbose = 0, opt, n_zone = 0,
	    replace = 0, n_listen = 0, rc = 1;
	int64_t off = 0;
	char err[512];
	struct flag flags[64];
	size_t n_flags = 0;
	struct dmp_node_opts o;

	if (!c ||
	    dmp_config_defaults(dmpnode_schema, dmpnode_schema_len, c) != 0) {
		fprintf(stderr, "dmp-node: internal config error\n");
		return 1;
	}
	while ((opt = getopt_long(argc, argv, "+c:fvh", lo, NULL)) != -1) {
		if (n_flags == DMP_ARRAY_LEN(flags)) {
			fprintf(stderr, "dmp-node: too many options\n");
			return 2;
		}
		switch (opt) {
		case 'c': cfg = optarg; break;
		case 'f': foreground = 1; break;
		case 'v': verbose = 1; break;
		case 'z':
			flags[n_flags++] =
			    (struct flag){"node.zones", optarg, n_zone++ > 0};
			break;
		case 'l':
			flags[n_flags++] = (struct flag){
			    "network.listen", optarg, n_listen++ > 0};
			break;
		case 'd':
			flags[n_flags++] = (struct flag){"node.db", optarg, 0};
			break;
		case 'H':
			flags[n_flags++] =
			    (struct flag){"network.http", optarg, 0};
			break;
		case 's':
			if (n_scopes == DMP_ARRAY_LEN(scopes)) {
				fprintf(stderr, "dmp-node: too many scopes\n");
				return 2;
			}
			scopes[n_scopes++] = optarg;
			break;
		case 'T': {
			long long t;

			/* Unix seconds, up to the year 9999. */
			if (dmp_parse_int(optarg, 1, 253402300799LL, &t) < 0) {
				fprintf(stderr,
					"dmp-node: bad --fake-now %s (Unix "
					"seconds, 1..253402300799)\n",
					optarg);
				return 2;
			}
			off = t * 1000 - (int64_t)dmpnode_now_ms(0);
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* Subcommands come after the options ("+" stops at the first word);
	 * options may also follow the subcommand. */
	if (optind < argc && (strcmp(argv[optind], "key") == 0 ||
			      strcmp(argv[optind], "token") == 0)) {
		/* Parse "key ..." as its own argv so options may follow the
		 * subcommand; optind = 0 makes glibc start afresh. */
		is_key = strcmp(argv[optind], "token") == 0 ? 2 : 1;
		argc -= optind;
		argv += optind;
		optind = 0;
		while ((opt = getopt_long(argc, argv, "c:fvh", lo, NULL)) !=
		       -1) {
			switch (opt) {
			case 'c': cfg = optarg; break;
			case 'd':
				flags[n_flags++] =
				    (struct flag){"node.db", optarg, 0};
				break;
			case 's':
				if (n_scopes < DMP_ARRAY_LEN(scopes)) {
					scopes[n_scopes++] = optarg;
				}
				break;
			case 'R': replace = 1; break;
			default: usage(stderr); return 2;
			}
			if (n_flags == DMP_ARRAY_LEN(flags)) {
				return 2;
			}
		}
	} else if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (cfg && dmp_config_load(dmpnode_schema, dmpnode_schema_len, c, cfg,
				   err, sizeof(err)) != 0) {
		fprintf(stderr, "dmp-node: %s\n", err);
		return 1;
	}
	warn_readable_secret(cfg, c);
	for (size_t i = 0; i < n_flags; i++) {
		if (dmp_config_set(dmpnode_schema, dmpnode_schema_len, c,
				   flags[i].key, flags[i].val, flags[i].append,
				   err, sizeof(err)) != 0) {
			fprintf(stderr, "dmp-node: %s\n", err);
			return 2;
		}
	}
	dmp_log_set_handler(log_stderr, NULL,
			    verbose ? DMP_LOG_DEBUG : level_of(c->log_level));
	if (dmpnode_conf_seed(c, 1) < 0) {
		return 2;
	}
	if (is_key) {
		rc = key_cmd(c, argc - optind, argv + optind, scopes, n_scopes,
			     is_key == 2, replace);
		return rc;
	}
	if (c->zones.n == 0) {
		fprintf(stderr,
			"dmp-node: no zone (use --zone or node.zones)\n");
		return 2;
	}
	if (dmpnode_conf_opts(c, &o) < 0) {
		return 2;
	}
	/* Only the daemon writes through the update log; the key commands
	 * write to sqlite directly (synchronous=FULL). */
	if (strcmp(c->update_log, "off") != 0 &&
	    strcmp(c->db, ":memory:") != 0) {
		snprintf(c->update_log_path, sizeof(c->update_log_path), "%s",
			 c->update_log);
		if (!c->update_log[0]) {
			snprintf(c->update_log_path, sizeof(c->update_log_path),
				 "%s.updlog", c->db);
		}
		o.update_log = c->update_log_path;
	}
	if (!foreground) {
		openlog("dmp-node", LOG_PID, LOG_DAEMON);
		dmp_log_set_handler(log_syslog, NULL,
				    verbose ? DMP_LOG_DEBUG
					    : level_of(c->log_level));
	}
	DMP_LOG_N("dmp-node %s: %u zone(s), db %s%s", dmp_version(), c->zones.n,
		  c->db, off ? " (clock shifted for tests)" : "");
	{
		struct reload_ctx rctx = {cfg, flags, n_flags, verbose,
					  foreground ? log_stderr : log_syslog};

		rc = dmpnode_serve(c, &o, off, foreground, reload_conf, &rctx);
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct node_conf *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		fprintf(stderr, "dmp-node: out of memory\n");
		return 1;
	}
	/* `dmp-node cluster ...` needs no node config (cluster.c). */
	rc = argc > 1 && strcmp(argv[1], "cluster") == 0
		 ? dmpnode_cluster_cmd(argc - 1, argv + 1)
	     : argc > 1 && strcmp(argv[1], "mesh") == 0
		 ? dmpnode_mesh_cmd(argc - 1, argv + 1)
		 : run(argc, argv, c);
	free(c);
	return rc;
}
