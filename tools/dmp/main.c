/*
 * tools/dmp/main.c - the `dmp` command line client: one-shot commands over
 * the client engine (engine.h).
 *
 *   dmp [--home DIR] [--passphrase-file FILE] [-v] COMMAND ...
 *
 * The passphrase comes from $DMP_PASSPHRASE, a file only its owner can read
 * (--passphrase-file), or a prompt on the terminal without echo.
 *
 * Test-only: $DMP_FAKE_NOW (Unix seconds) moves the engine's clock to that
 * time at start-up (it still advances with the wall clock). It exists for
 * the black-box tests that replay captured records; nothing else reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "dmp/peers.h"
#include "dmp/resolver.h"
#include "dmp/store.h"

/* Exit codes: each failure class its own, so scripts can tell them apart. */
enum {
	EX_OK = 0,
	EX_FAIL = 1,
	EX_USAGE = 2,
	EX_PASSPHRASE = 3,
	EX_NOHOME = 4,
	EX_UNREACHABLE = 5,
	EX_NOTAUTH = 6,
	EX_REFUSED = 7,
	EX_CLOCKSKEW = 8,
	EX_CONFIG = 9,
	EX_AMBIGUOUS = 10,
	EX_NOTFOUND = 11,
	EX_QUEUED = 75, /* accepted, but publishing must be retried */
};

struct cli {
	const char *home;
	const char *passfile;
	int verbose;
	int64_t fake_offset; /* DMP_FAKE_NOW - start wall time */
	int have_fake;
	int new_msgs;
	int rejected;
	int last_retry_code; /* code of the last RETRY/FAILED event */
	int watch;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int64_t cli_clock(void *ud)
{
	struct cli *c = ud;

	return (int64_t)time(NULL) + (c->have_fake ? c->fake_offset : 0);
}

static void log_stderr(int level, const char *msg, void *ud)
{
	(void)ud;
	fprintf(stderr, "dmp: %s%s\n", level <= DMP_LOG_ERR ? "error: " : "",
		msg);
}

static const char *hint(int rc)
{
	switch (rc) {
	case DMP_EUNREACHABLE:
		return "is the node running? check network.nodes in "
		       "config.yaml";
	case DMP_ENOTAUTH:
		return "wrong TSIG secret or unknown key: check network.tsig";
	case DMP_EREFUSED:
		return "name outside your key's scope: ask the node operator "
		       "for a key that covers your names";
	case DMP_ECLOCKSKEW:
		return "fix the system clock (NTP); the node allows 300 s";
	case DMP_EPASSPHRASE: return "nothing was changed; try again";
	case DMP_EAMBIGUOUS:
		return "run again with --fingerprint FP (16 hex digits) "
		       "obtained from your contact out of band";
	case DMP_ECONFIG: return "fix config.yaml (the line is named above)";
	case DMP_EDISAGREE:
		return "fewer than network.confirm_resolvers resolvers "
		       "returned "
		       "this key; check your resolvers, or pin by "
		       "--fingerprint";
	default: return NULL;
	}
}

static int exit_code(int rc)
{
	switch (rc) {
	case 0: return EX_OK;
	case DMP_EPASSPHRASE: return EX_PASSPHRASE;
	case DMP_EUNREACHABLE:
	case DMP_ETIMEDOUT: return EX_UNREACHABLE;
	case DMP_ENOTAUTH:
	case DMP_EBADTSIG: return EX_NOTAUTH;
	case DMP_EREFUSED:
	case DMP_ENOTZONE: return EX_REFUSED;
	case DMP_ECLOCKSKEW: return EX_CLOCKSKEW;
	case DMP_ECONFIG: return EX_CONFIG;
	case DMP_EAMBIGUOUS: return EX_AMBIGUOUS;
	case DMP_ENOENT: return EX_NOTFOUND;
	default: return EX_FAIL;
	}
}

static int fail(const char *what, int rc)
{
	const char *h = hint(rc);

	fprintf(stderr, "dmp: %s: %s%s%s\n", what, dmp_strerror(rc),
		h ? "\n     " : "", h ? h : "");
	return exit_code(rc);
}

/* ---- passphrase ------------------------------------------------------------
 */

static char *read_passfile(const char *path)
{
	char *p = NULL;
	int rc = dmp_passfile_read(path, &p);

	if (rc == DMP_EACCES) {
		fprintf(stderr,
			"dmp: %s: readable by others; chmod 0400 it first\n",
			path);
	} else if (rc < 0) {
		fprintf(stderr, "dmp: %s: %s\n", path, dmp_strerror(rc));
	}
	return p;
}

static char *prompt(const char *what)
{
	char *p = NULL;

	if (dmp_passphrase_prompt(what, &p) == DMP_ENOENT) {
		fprintf(stderr, "dmp: no passphrase: set DMP_PASSPHRASE, use "
				"--passphrase-file, or run on a terminal\n");
	}
	return p;
}

static void free_pass(char *p)
{
	if (p) {
		dmp_wipe(p, strlen(p));
		free(p);
	}
}

static char *get_passphrase(const struct cli *c, int confirm)
{
	const char *env = getenv("DMP_PASSPHRASE");
	char *p, *q;

	if (env && *env) {
		return strdup(env);
	}
	if (c->passfile) {
		return read_passfile(c->passfile);
	}
	p = prompt("Passphrase: ");
	if (!p || !confirm) {
		return p;
	}
	q = prompt("Repeat passphrase: ");
	if (!q || strcmp(p, q) != 0) {
		fprintf(stderr, "dmp: passphrases differ\n");
		free_pass(p);
		p = NULL;
	}
	free_pass(q);
	return p;
}

/* ---- events ----------------------------------------------------------------
 */

/* Print a delivered Maildir file: sender, time, body. */
static void print_message(const char *path, int intro)
{
	FILE *f = fopen(path, "rb");
	char line[2048], from[1024] = "?", date[128] = "?";
	int c;

	if (!f) {
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '\n') {
			break;
		}
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "From: ", 6) == 0) {
			/* Long header lines are cut for display, on purpose. */
			snprintf(from, sizeof(from), "%.*s",
				 (int)sizeof(from) - 1, line + 6);
		} else if (strncmp(line, "Date: ", 6) == 0) {
			snprintf(date, sizeof(date), "%.*s",
				 (int)sizeof(date) - 1, line + 6);
		}
	}
	printf("%sFrom: %s\nDate: %s\nFile: %s\n\n",
	       intro ? "[intro: sender not in your contacts] " : "", from, date,
	       path);
	while ((c = fgetc(f)) != EOF) {
		putchar(c);
	}
	printf("\n----\n");
	fflush(stdout);
	fclose(f);
}

static void on_event(const struct dmp_event *ev, void *ud)
{
	struct cli *c = ud;

	switch (ev->kind) {
	case DMP_EV_RECEIVED:
	case DMP_EV_INTRO:
		c->new_msgs++;
		print_message(ev->detail, ev->kind == DMP_EV_INTRO);
		break;
	case DMP_EV_REJECTED:
		c->rejected++;
		fprintf(stderr, "dmp: rejected%s%s: %s\n",
			ev->peer ? " from " : "", ev->peer ? ev->peer : "",
			ev->detail ? ev->detail : dmp_strerror(ev->code));
		break;
	case DMP_EV_RETRY:
		c->last_retry_code = ev->code;
		fprintf(stderr, "dmp: publishing to %s failed: %s\n",
			ev->peer ? ev->peer : "?", ev->detail);
		break;
	case DMP_EV_FAILED:
		c->last_retry_code = ev->code;
		fprintf(stderr, "dmp: message to %s failed: %s\n",
			ev->peer ? ev->peer : "?", ev->detail);
		break;
	case DMP_EV_CLAMPED:
		fprintf(stderr, "dmp: note: %s\n", ev->detail);
		break;
	case DMP_EV_CLAIM:
		/* The message is sent either way; a lost claim only means a
		 * recipient who has not pinned us may not find it. */
		if (ev->code != 0 || c->verbose) {
			fprintf(stderr, "dmp: note: %s\n", ev->detail);
		}
		break;
	default:
		if (c->verbose) {
			fprintf(stderr, "dmp: %s\n",
				ev->detail ? ev->detail : "");
		}
	}
}

/* ---- commands
 * ---------------------------------------------------------------- */

static int open_engine(struct cli *c, struct dmp_engine **e)
{
	struct dmp_engine_opts o;
	char *pass = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.home = c->home;
	o.on_event = on_event;
	o.ud = c;
	o.clock = cli_clock;
	pass = get_passphrase(c, 0);
	if (!pass) {
		return EX_PASSPHRASE;
	}
	o.passphrase = pass;
	rc = dmp_engine_open(e, &o);
	free_pass(pass);
	if (rc == DMP_ENOENT) {
		fprintf(stderr,
			"dmp: no identity in %s: run `dmp init` first\n",
			c->home ? c->home : "$DMP_HOME or ~/.dmp");
		return EX_NOHOME;
	}
	if (rc < 0) {
		return fail("open", rc);
	}
	return 0;
}

static void usage_init(FILE *f)
{
	fprintf(f, "usage: dmp [--home DIR] init USER --domain ZONE --node "
		   "HOST[:PORT] [--node ...]\n"
		   "                [--resolver IP[:PORT]]... [--tsig "
		   "hmac-sha256:NAME:SECRET]\n"
		   "Create the home (config.yaml, state.db, Maildirs) and "
		   "derive the identity\nfrom the passphrase.\n");
}

static int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"node", required_argument, NULL, 'n'},
	    {"resolver", required_argument, NULL, 'r'},
	    {"tsig", required_argument, NULL, 't'},
	    {"salt-hex", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	const char *nodes[9] = {0}, *res[9] = {0};
	size_t nn = 0, nr = 0;
	struct dmp_engine_init in;
	uint8_t salt[64];
	char *pass;
	int opt, rc;

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
		case 't': in.tsig = optarg; break;
		case 's':
			/* Import of an existing identity (tests, migration). */
			if (strlen(optarg) % 2 || strlen(optarg) / 2 < 8 ||
			    strlen(optarg) / 2 > sizeof(salt) ||
			    dmp_hex_decode(salt, strlen(optarg) / 2, optarg,
					   strlen(optarg)) < 0) {
				fprintf(stderr, "dmp: bad --salt-hex\n");
				return EX_USAGE;
			}
			in.salt = salt;
			in.salt_len = strlen(optarg) / 2;
			break;
		case 'h': usage_init(stdout); return 0;
		default: usage_init(stderr); return EX_USAGE;
		}
	}
	if (optind != argc - 1 || !in.domain || nn == 0) {
		usage_init(stderr);
		return EX_USAGE;
	}
	in.username = argv[optind];
	for (const char *p = in.username; *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			/* PROTOCOL.md 10 item 8: TSIG scopes hash the lower-
			 * cased name, record names the name as given. */
			fprintf(stderr,
				"dmp: warning: use a lower-case user "
				"name, or the node's key scope will not "
				"cover your records\n");
			break;
		}
	}
	in.nodes = nodes;
	in.resolvers = nr ? res : NULL;
	pass = get_passphrase(c, 1);
	if (!pass) {
		return EX_PASSPHRASE;
	}
	if (!*pass) {
		free_pass(pass);
		fprintf(stderr, "dmp: empty passphrase\n");
		return EX_PASSPHRASE;
	}
	rc = dmp_engine_init_home(c->home, &in, pass);
	free_pass(pass);
	if (rc == DMP_EEXIST) {
		fprintf(stderr, "dmp: this home already holds an identity\n");
		return EX_FAIL;
	}
	if (rc < 0) {
		return fail("init", rc);
	}
	printf("initialised %s@%s; next: `dmp identity publish`\n", in.username,
	       in.domain);
	return 0;
}

static void usage_identity(FILE *f)
{
	fprintf(
	    f, "usage: dmp identity show|publish [--anchored|--no-anchored]|"
	       "refresh-prekeys\n"
	       "  show             address, fingerprint, keys, prekeys\n"
	       "  publish          publish the identity record and top "
	       "up prekeys;\n"
	       "                   --anchored: from now on also at dmp.<zone> "
	       "(your zone,\n"
	       "                   a key over all of it); --no-anchored: stop\n"
	       "  refresh-prekeys  top the prekey pool up\n");
}

static int cmd_identity(struct cli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage_identity(sub ? stdout : stderr);
		return sub ? 0 : EX_USAGE;
	}
	if (strcmp(sub, "show") && strcmp(sub, "publish") &&
	    strcmp(sub, "refresh-prekeys") && strcmp(sub, "import-prekey")) {
		usage_identity(stderr);
		return EX_USAGE;
	}
	if ((rc = open_engine(c, &e)) != 0) {
		return rc;
	}
	if (strcmp(sub, "show") == 0) {
		struct dmp_identity_info in;
		char x[65], ed[65];

		rc = dmp_engine_identity(e, &in);
		if (rc == 0) {
			dmp_hex_encode(x, in.x25519_pk, 32);
			dmp_hex_encode(ed, in.ed25519_pk, 32);
			printf("address:     %s\nfingerprint: %s\n"
			       "x25519:      %s\ned25519:     %s\n"
			       "prekeys:     %d\npublished:   %lld\n"
			       "record:      %s\n",
			       in.address, in.fingerprint, x, ed,
			       in.prekeys_left, (long long)in.published,
			       in.record);
		}
	} else if (strcmp(sub, "publish") == 0) {
		const char *opt = argc > 2 ? argv[2] : "";

		rc = 0;
		if (strcmp(opt, "--anchored") == 0 ||
		    strcmp(opt, "--no-anchored") == 0) {
			rc = dmp_engine_set_anchored(e, opt[2] == 'a');
		} else if (*opt) {
			usage_identity(stderr);
			dmp_engine_close(e);
			return EX_USAGE;
		}
		rc = rc < 0 ? rc : dmp_engine_identity_publish(e);
		if (rc == 0) {
			printf("identity and prekeys published\n");
		}
	} else if (strcmp(sub, "refresh-prekeys") == 0) {
		rc = dmp_engine_prekeys_refresh(e);
		if (rc >= 0) {
			printf("%d prekeys published\n", rc);
			rc = 0;
		}
	} else {
		/* Test/migration hook: import-prekey ID SECRET_HEX EXP. */
		uint8_t sk[32];

		if (argc != 5 ||
		    dmp_hex_decode(sk, 32, argv[3], strlen(argv[3])) < 0) {
			dmp_engine_close(e);
			return EX_USAGE;
		}
		rc = dmp_engine_prekey_import(
		    e, (uint32_t)strtoul(argv[2], NULL, 10), sk,
		    (uint64_t)strtoull(argv[4], NULL, 10));
		dmp_wipe(sk, sizeof(sk));
	}
	dmp_engine_close(e);
	return rc < 0 ? fail(sub, rc) : 0;
}

static void usage_contacts(FILE *f)
{
	fprintf(f,
		"usage: dmp contacts add ADDRESS [ALIAS] [--fingerprint FP]\n"
		"       dmp contacts list\n"
		"       dmp contacts remove ALIAS\n"
		"       dmp contacts block|unblock ALIAS\n"
		"ADDRESS is user@zone, or a bare user name in your own "
		"zone.\n");
}

static int print_contact(const struct dmp_store_contact *ct, void *ud)
{
	char fp[17];

	(void)ud;
	dmp_hex_encode(fp, ct->ed25519_pk, 8);
	printf("%-16s %-32s %s%s\n", ct->alias, ct->address, fp,
	       ct->blocked ? " blocked" : "");
	return 0;
}

static int cmd_contacts(struct cli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	const char *fp = NULL, *pos[2] = {NULL, NULL};
	int np = 0, rc;

	if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage_contacts(sub ? stdout : stderr);
		return sub ? 0 : EX_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--fingerprint") == 0 && i + 1 < argc) {
			fp = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			usage_contacts(stdout);
			return 0;
		} else if (argv[i][0] == '-' || np == 2) {
			usage_contacts(stderr);
			return EX_USAGE;
		} else {
			pos[np++] = argv[i];
		}
	}
	if (strcmp(sub, "list") == 0 ? np != 0
	    : strcmp(sub, "add") == 0
		? np < 1
		: (strcmp(sub, "remove") && strcmp(sub, "block") &&
		   strcmp(sub, "unblock")) ||
		      np != 1) {
		usage_contacts(stderr);
		return EX_USAGE;
	}
	if ((rc = open_engine(c, &e)) != 0) {
		return rc;
	}
	if (strcmp(sub, "list") == 0) {
		rc = dmp_store_contact_each(dmp_engine_store(e), print_contact,
					    NULL);
	} else if (strcmp(sub, "add") == 0) {
		rc = dmp_engine_contact_add(e, pos[0], pos[1], fp);
		if (rc == 0) {
			struct dmp_store_contact ct;

			if (dmp_store_contact_get(dmp_engine_store(e),
						  pos[1] ? pos[1] : pos[0],
						  &ct) == 0) {
				char f[17];

				dmp_hex_encode(f, ct.ed25519_pk, 8);
				printf("pinned %s as %s (fingerprint %s)\n",
				       ct.address, ct.alias, f);
			}
		} else if (rc == DMP_ENOENT) {
			fprintf(stderr,
				"dmp: no identity record found for "
				"%s (has it been published?)\n",
				pos[0]);
			dmp_engine_close(e);
			return EX_NOTFOUND;
		} else if (rc == DMP_EBADKEY) {
			fprintf(stderr,
				"dmp: no key with fingerprint %s answers for "
				"%s\n",
				fp, pos[0]);
			dmp_engine_close(e);
			return EX_FAIL;
		} else if (rc == DMP_EEXIST) {
			fprintf(stderr,
				"dmp: alias %s is taken by another key\n",
				pos[1] ? pos[1] : pos[0]);
			dmp_engine_close(e);
			return EX_FAIL;
		}
	} else if (strcmp(sub, "remove") == 0) {
		rc = dmp_engine_contact_remove(e, pos[0]);
	} else {
		rc = dmp_engine_contact_block(e, pos[0],
					      strcmp(sub, "block") == 0);
	}
	dmp_engine_close(e);
	if (rc == DMP_ENOENT) {
		fprintf(stderr, "dmp: no contact %s\n", pos[0]);
		return EX_NOTFOUND;
	}
	return rc < 0 ? fail(sub, rc) : 0;
}

static int read_all(FILE *f, uint8_t **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);

	while (b) {
		size_t r = fread(b + n, 1, cap - n, f);

		n += r;
		if (n < cap) {
			break;
		}
		if (cap > (1u << 20)) {
			break;
		}
		cap *= 2;
		uint8_t *nb = realloc(b, cap);
		if (!nb) {
			free(b);
			b = NULL;
		}
		b = nb;
	}
	if (!b || ferror(f)) {
		free(b);
		return -1;
	}
	*out = b;
	*len = n;
	return 0;
}

static void usage_send(FILE *f)
{
	fprintf(f, "usage: dmp send [--lifetime SECONDS] CONTACT [FILE|-]\n"
		   "Queue the message durably, then publish it. A message "
		   "that cannot be\npublished now stays queued and is "
		   "retried by the next send or recv.\n");
}

static int cmd_send(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"lifetime", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	struct dmp_engine *e = NULL;
	struct dmp_outbox_msg m;
	uint8_t *body = NULL;
	size_t len = 0;
	uint32_t lifetime = 0;
	int64_t qid = 0;
	const char *contact, *file = "-";
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'l': lifetime = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': usage_send(stdout); return 0;
		default: usage_send(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage_send(stderr);
		return EX_USAGE;
	}
	contact = argv[optind];
	if (argc - optind == 2) {
		file = argv[optind + 1];
	}
	{
		FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");

		if (!f) {
			fprintf(stderr, "dmp: %s: %s\n", file, strerror(errno));
			return EX_FAIL;
		}
		rc = read_all(f, &body, &len);
		if (f != stdin) {
			fclose(f);
		}
		if (rc < 0) {
			fprintf(stderr, "dmp: cannot read %s\n", file);
			return EX_FAIL;
		}
	}
	if ((rc = open_engine(c, &e)) != 0) {
		free(body);
		return rc;
	}
	rc = dmp_engine_submit(e, contact, body, len, lifetime, &qid);
	if (rc == DMP_ENOENT && strchr(contact, '@')) {
		/* An address, not a contact yet: fetch, verify and pin it as
		 * `contacts add` would (refusing an ambiguous name), then
		 * send. The user named the recipient; nothing is pinned on
		 * receipt. */
		int ar = dmp_engine_contact_add(e, contact, NULL, NULL);
		struct dmp_store_contact ct;

		if (ar < 0) {
			free(body);
			dmp_engine_close(e);
			if (ar == DMP_ENOENT) {
				fprintf(stderr,
					"dmp: no identity record found for "
					"%s (has it been published?)\n",
					contact);
				return EX_NOTFOUND;
			}
			return fail(contact, ar);
		}
		if (dmp_store_contact_get(dmp_engine_store(e), contact, &ct) ==
		    0) {
			char f[17];

			dmp_hex_encode(f, ct.ed25519_pk, 8);
			fprintf(
			    stderr,
			    "dmp: pinned %s as %s (fingerprint %s); compare "
			    "it with your contact's\n",
			    ct.address, ct.alias, f);
		}
		rc = dmp_engine_submit(e, contact, body, len, lifetime, &qid);
	}
	free(body);
	if (rc == DMP_ENOENT) {
		fprintf(stderr,
			"dmp: no contact %s: add it with `dmp contacts "
			"add`\n",
			contact);
		dmp_engine_close(e);
		return EX_NOTFOUND;
	}
	if (rc == DMP_EACCES) {
		fprintf(stderr, "dmp: contact %s is blocked\n", contact);
		dmp_engine_close(e);
		return EX_FAIL;
	}
	if (rc == DMP_EFBIG) {
		fprintf(stderr, "dmp: message too large (at most %u bytes)\n",
			DMP_ENGINE_MAX_BODY);
		dmp_engine_close(e);
		return EX_FAIL;
	}
	if (rc < 0) {
		dmp_engine_close(e);
		return fail("send", rc);
	}
	rc = dmp_engine_publish(e);
	if (dmp_store_outbox_get(dmp_engine_store(e), qid, &m) == 0 &&
	    m.state != DMP_OUTBOX_PUBLISHED) {
		int code = exit_code(rc < 0		  ? rc
				     : c->last_retry_code ? c->last_retry_code
							  : DMP_EUNREACHABLE);

		fprintf(stderr,
			"dmp: message queued (id %lld) but not yet published: "
			"%s\n     it stays queued and is retried by the next "
			"`dmp send` or `dmp recv`\n",
			(long long)qid, m.last_error[0] ? m.last_error : "?");
		dmp_engine_close(e);
		return code == EX_FAIL ? EX_QUEUED : code;
	}
	printf("sent to %s (queue id %lld)\n", contact, (long long)qid);
	dmp_engine_close(e);
	return 0;
}

static void usage_recv(FILE *f)
{
	fprintf(f, "usage: dmp recv [--watch] [--interval SECONDS]\n"
		   "Publish queued messages, then fetch new ones into the "
		   "Maildirs and print\neach (sender, time, body).\n");
}

static int cmd_recv(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"watch", no_argument, NULL, 'w'},
	    {"interval", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	struct dmp_engine *e = NULL;
	unsigned interval = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'w': c->watch = 1; break;
		case 'i': interval = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage_recv(stdout); return 0;
		default: usage_recv(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage_recv(stderr);
		return EX_USAGE;
	}
	if ((rc = open_engine(c, &e)) != 0) {
		return rc;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		struct dmp_engine_status s;

		(void)dmp_engine_publish(e);
		rc = dmp_engine_poll(e);
		if (rc < 0 && !c->watch) {
			break;
		}
		if (rc < 0) {
			fprintf(stderr, "dmp: poll: %s\n", dmp_strerror(rc));
		}
		if (!c->watch) {
			break;
		}
		dmp_engine_status(e, &s);
		for (unsigned left =
			 interval ? interval
				  : (unsigned)(s.next_poll - s.last_poll);
		     left > 0 && !stop_flag; left--) {
			sleep(1);
		}
	} while (!stop_flag);
	dmp_engine_close(e);
	if (rc < 0 && !c->watch) {
		return fail("recv", rc);
	}
	if (c->new_msgs == 0 && !c->watch) {
		fprintf(stderr, "dmp: no new messages\n");
	}
	return 0;
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
	static const char *const st[] = {"online", "degraded", "offline"};
	struct dmp_engine *e = NULL;
	struct dmp_engine_status s;
	int rc;

	if (argc > 1) {
		printf("usage: dmp status\nShow the address, queue and last "
		       "error.\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = open_engine(c, &e)) != 0) {
		return rc;
	}
	dmp_engine_status(e, &s);
	printf("address:    %s\nstate:      %s\nqueued:     %d\n", s.address,
	       st[s.state], s.queued);
	printf("last error: %s\n", s.last_error[0] ? s.last_error : "-");
	{
		struct dmp_identity_info in;

		if (dmp_engine_identity(e, &in) == 0) {
			printf("prekeys:    %d\npublished:  %lld\n",
			       in.prekeys_left, (long long)in.published);
		}
	}
	dmp_engine_close(e);
	return 0;
}

static void usage_resolvers(FILE *f)
{
	fprintf(f, "usage: dmp resolvers\n"
		   "       dmp resolvers discover [--save] [IP[:PORT]...]\n"
		   "  (none)    list the configured resolvers and nodes read "
		   "directly, with their health\n"
		   "  discover  probe the given, configured and resolv.conf "
		   "resolvers with a TXT\n"
		   "            query for our identity and rank them; --save "
		   "writes the best to\n"
		   "            network.resolvers\n");
}

static int cmd_discover(struct cli *c, int argc, char **argv)
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
	if ((rc = open_engine(c, &e)) != 0) {
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
		return fail("resolvers discover", rc);
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

static int cmd_resolvers(struct cli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_resolver *r;
	struct dmp_resolver_stat s[DMP_RESOLVER_MAX_SERVERS];
	size_t n;
	int rc;

	if (argc > 1 && strcmp(argv[1], "discover") == 0) {
		return cmd_discover(c, argc - 1, argv + 1);
	}
	if (argc > 1) {
		usage_resolvers(strcmp(argv[1], "--help") == 0 ? stdout
							       : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = open_engine(c, &e)) != 0) {
		return rc;
	}
	r = dmp_engine_resolver(e);
	if (!r) {
		dmp_engine_close(e);
		return fail("resolvers", DMP_ECONFIG);
	}
	n = dmp_resolver_stats(r, s, DMP_ARRAY_LEN(s));
	for (size_t i = 0; i < n && i < DMP_ARRAY_LEN(s); i++) {
		printf("%-24s %-8s %s%s\n", s[i].addr,
		       dmp_resolver_state_name(s[i].state),
		       s[i].zone[0] ? "direct for " : "resolver", s[i].zone);
	}
	dmp_engine_close(e);
	return 0;
}

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

static int cmd_peers(struct cli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	struct dmp_peers_conf pc;
	struct dmp_store_peer *v = NULL;
	char zones[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1];
	size_t n = 0;
	int64_t now = cli_clock(c);
	int rc, refresh = 0;

	if (argc > 1 && strcmp(argv[1], "refresh") == 0 && argc == 2) {
		refresh = 1;
	} else if (argc > 1) {
		usage_peers(strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return strcmp(argv[1], "--help") == 0 ? 0 : EX_USAGE;
	}
	if ((rc = open_engine(c, &e)) != 0) {
		return rc;
	}
	rc = dmp_peers_conf_load(e, &pc);
	if (rc == 0 && refresh) {
		rc = dmp_peers_refresh(e, &pc, now);
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
		return fail("peers", rc);
	}
	for (size_t i = 0; i < n; i++) {
		char fp[17];

		dmp_hex_encode(fp, v[i].operator_spk, 8);
		printf("%-11s %-40s %s %6llds %s%s\n",
		       dmp_peer_health_name(
			   dmp_peer_health(&v[i], now, pc.stale_after)),
		       v[i].endpoint, fp,
		       (long long)(now - (int64_t)v[i].hb_ts), v[i].version,
		       (v[i].capabilities & 1u) ? " claim-provider" : "");
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

static void usage_tsig(FILE *f)
{
	fprintf(f, "usage: dmp tsig register --node-http URL\n"
		   "  register   obtain a TSIG key from the node's "
		   "registration API\n"
		   "             (URL like http://node:8053) and store it as "
		   "network.tsig\n");
}

static int cmd_tsig(struct cli *c, int argc, char **argv)
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
	if ((rc = open_engine(c, &e)) != 0) {
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
	default: return fail("tsig register", rc);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dmp [--home DIR] [--passphrase-file FILE] [-v] "
		"COMMAND ...\n\n"
		"commands:\n"
		"  init USER --domain ZONE --node HOST[:PORT] [--resolver "
		"IP[:PORT]]...\n"
		"       [--tsig hmac-sha256:NAME:SECRET]\n"
		"  identity show|publish|refresh-prekeys\n"
		"  contacts add ADDRESS [ALIAS] [--fingerprint FP]|list|"
		"remove|block|unblock\n"
		"  send CONTACT [FILE|-]\n"
		"  recv [--watch]\n"
		"  status\n"
		"  resolvers [discover [--save] [IP[:PORT]...]]\n"
		"  peers [refresh]\n"
		"  tsig register --node-http URL\n\n"
		"The passphrase comes from $DMP_PASSPHRASE, --passphrase-file "
		"(mode 0400),\nor a prompt. The home is --home, $DMP_HOME, or "
		"~/.dmp.\n"
		"Run `dmp COMMAND --help` for details.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"home", required_argument, NULL, 'H'},
	    {"passphrase-file", required_argument, NULL, 'p'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0},
	};
	struct cli c;
	const char *cmd;
	const char *fake;
	int opt;

	memset(&c, 0, sizeof(c));
	/* Stop at the first non-option: the command. */
	while ((opt = getopt_long(argc, argv, "+hv", lo, NULL)) != -1) {
		switch (opt) {
		case 'H': c.home = optarg; break;
		case 'p': c.passfile = optarg; break;
		case 'v': c.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	fake = getenv("DMP_FAKE_NOW"); /* test-only, see the file comment */
	if (fake && *fake) {
		c.have_fake = 1;
		c.fake_offset =
		    (int64_t)strtoll(fake, NULL, 10) - (int64_t)time(NULL);
	}
	dmp_log_set_handler(log_stderr, NULL,
			    c.verbose ? DMP_LOG_DEBUG : DMP_LOG_ERR);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "init") == 0) {
		return cmd_init(&c, argc, argv);
	}
	if (strcmp(cmd, "identity") == 0) {
		return cmd_identity(&c, argc, argv);
	}
	if (strcmp(cmd, "contacts") == 0) {
		return cmd_contacts(&c, argc, argv);
	}
	if (strcmp(cmd, "send") == 0) {
		return cmd_send(&c, argc, argv);
	}
	if (strcmp(cmd, "recv") == 0) {
		return cmd_recv(&c, argc, argv);
	}
	if (strcmp(cmd, "status") == 0) {
		return cmd_status(&c, argc, argv);
	}
	if (strcmp(cmd, "resolvers") == 0) {
		return cmd_resolvers(&c, argc, argv);
	}
	if (strcmp(cmd, "peers") == 0) {
		return cmd_peers(&c, argc, argv);
	}
	if (strcmp(cmd, "tsig") == 0) {
		return cmd_tsig(&c, argc, argv);
	}
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "dmp: unknown command %s\n", cmd);
	usage(stderr);
	return EX_USAGE;
}
