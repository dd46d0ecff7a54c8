/*
 * tools/dmp/cli.c - what every command shares: the clock, exit codes and error
 * hints, the passphrase (read only through libdmp: dmp_passfile_read,
 * dmp_passphrase_prompt), opening the engine and printing its events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/resolver.h"
#include "dmp/text.h"

int dmpcli_usage(FILE *f, const char *text)
{
	fputs(text, f);
	return f == stdout ? EX_OK : EX_USAGE;
}

int64_t dmpcli_clock(void *ud)
{
	struct dmpcli *c = ud;

	return (int64_t)time(NULL) + (c->have_fake ? c->fake_offset : 0);
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
		return "a name outside your key's scope, or a node storage "
		       "limit (limits.* in its config) reached: the node's "
		       "log says which; ask its operator";
	case DMP_ENOTZONE:
		return "the node does not serve your zone: check "
		       "identity.domain "
		       "(dmp init --domain) and network.nodes in config.yaml";
	case DMP_ECLOCKSKEW:
		return "fix the system clock (NTP); the node allows 300 s";
	case DMP_EPASSPHRASE: return "nothing was changed; try again";
	case DMP_EAMBIGUOUS:
		return "run again with --fingerprint FP (16 hex digits) "
		       "obtained from your contact out of band";
	case DMP_ECONFIG:
		return "fix config.yaml (the line or setting is named above)";
	case DMP_EDISAGREE:
		return "fewer than network.confirm_resolvers resolvers "
		       "returned "
		       "this key; check your resolvers, or pin by "
		       "--fingerprint";
	default: return NULL;
	}
}

int dmpcli_exit_code(int rc)
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

int dmpcli_fail(const char *what, int rc)
{
	const char *h = hint(rc);

	fprintf(stderr, "dmp: %s: %s%s%s\n", what, dmp_strerror(rc),
		h ? "\n     " : "", h ? h : "");
	return dmpcli_exit_code(rc);
}

int dmpcli_number(const char *flag, const char *v, long long min, long long max,
		  long long *out)
{
	int rc = dmp_parse_int(v, min, max, out);

	if (rc == DMP_ERANGE) {
		fprintf(stderr,
			"dmp: %s %s: out of range (allowed %lld..%lld)\n", flag,
			v, min, max);
	} else if (rc < 0) {
		fprintf(stderr,
			"dmp: %s '%s': not an integer (allowed %lld..%lld)\n",
			flag, v, min, max);
	}
	return rc < 0 ? -1 : 0;
}

int dmpcli_fail_read(struct dmp_engine *e, const char *what, int rc)
{
	const char *at = strchr(what, '@');
	const char *zone = at ? at + 1 : "your zone";

	if (rc == DMP_EREFUSED) {
		/* A read refused: the server asked does not serve that zone
		 * and does not recurse (a dmp-node answers only its own). */
		fprintf(stderr,
			"dmp: %s: the server asked refused to answer for %s: "
			"it does not serve that zone and does not recurse.\n"
			"     Add a recursive resolver that reaches %s "
			"(`--resolver` at init, network.resolvers), or name "
			"the zone's server:\n     network.zone_servers: "
			"[\"%s=IP:PORT\"] in config.yaml\n",
			what, zone, zone, zone);
		return EX_REFUSED;
	}
	if (rc == DMP_EUNREACHABLE || rc == DMP_ETIMEDOUT) {
		struct dmp_resolver *r = dmp_engine_resolver(e);
		struct dmp_resolver_stat st[DMP_RESOLVER_MAX_SERVERS];
		size_t n = r ? dmp_resolver_stats(r, st, DMP_ARRAY_LEN(st)) : 0;

		n = n < DMP_ARRAY_LEN(st) ? n : DMP_ARRAY_LEN(st);

		if (n == 0) {
			fprintf(stderr,
				"dmp: %s: no DNS server could be used for %s "
				"(the reason is above)\n",
				what, zone);
			return EX_UNREACHABLE;
		}
		fprintf(stderr,
			"dmp: %s: no DNS server answered for %s. Not "
			"answering:",
			what, zone);
		for (size_t i = 0; i < n; i++) {
			if (st[i].answers == 0 || st[i].consecutive_failures) {
				fprintf(stderr, " %s (%s)", st[i].addr,
					st[i].zone[0] ? "your node"
						      : "resolver");
			}
		}
		fprintf(stderr,
			"\n     Start them or fix network.resolvers / "
			"network.nodes in config.yaml; `dmp resolvers` shows "
			"each server's health\n");
		return EX_UNREACHABLE;
	}
	return dmpcli_fail(what, rc);
}

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

void dmpcli_free_pass(char *p)
{
	if (p) {
		dmp_wipe(p, strlen(p));
		free(p);
	}
}

char *dmpcli_passphrase(const struct dmpcli *c, int confirm)
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
		dmpcli_free_pass(p);
		p = NULL;
	}
	dmpcli_free_pass(q);
	return p;
}

/* Print a delivered Maildir file: sender, time, body. */
static void print_message(const char *path, int intro)
{
	FILE *f = fopen(path, "rb");
	char head[8192];
	struct dmp_delivered d;
	size_t n;
	int c;

	if (!f) {
		return;
	}
	n = fread(head, 1, sizeof(head), f);
	(void)dmp_delivered_parse(head, n, &d);
	printf("%sFrom: %s\nDate: %s\nFile: %s\n\n",
	       intro ? "[intro: sender not in your contacts] " : "", d.from,
	       d.date, path);
	fwrite(head + d.body_off, 1, n - d.body_off, stdout);
	while ((c = fgetc(f)) != EOF) {
		putchar(c);
	}
	printf("\n----\n");
	fflush(stdout);
	fclose(f);
}

static void on_event(const struct dmp_event *ev, void *ud)
{
	struct dmpcli *c = ud;

	switch (ev->kind) {
	case DMP_EV_RECEIVED:
	case DMP_EV_INTRO:
		c->new_msgs++;
		print_message(ev->detail, ev->kind == DMP_EV_INTRO);
		break;
	case DMP_EV_REJECTED:
		c->rejected++;
		if (c->quiet_rejected) {
			break; /* the command says why itself */
		}
		fprintf(stderr, "dmp: rejected%s%s: %s\n",
			ev->peer ? " from " : "", ev->peer ? ev->peer : "",
			ev->detail ? ev->detail : dmp_strerror(ev->code));
		break;
	case DMP_EV_RETRY:
		c->last_retry_code = ev->code;
		fprintf(stderr, "dmp: publishing to %s failed: %s\n",
			ev->peer ? ev->peer : "?", ev->detail);
		break;
	case DMP_EV_RELAYED:
		fprintf(stderr, "dmp: note: message to %s %s\n",
			ev->peer ? ev->peer : "?", ev->detail);
		break;
	case DMP_EV_FAILED:
		c->last_retry_code = ev->code;
		fprintf(stderr, "dmp: message to %s failed: %s\n",
			ev->peer ? ev->peer : "?", ev->detail);
		break;
	case DMP_EV_CLAMPED:
		/* Once per run, with what to change. */
		if (!c->clamp_told) {
			fprintf(stderr,
				"dmp: note: %s; the message is deleted from "
				"the node sooner than asked (raise "
				"messages.max_lifetime only if the node's "
				"max_ttl allows it)\n",
				ev->detail);
		}
		c->clamp_told = 1;
		break;
	case DMP_EV_CLAIM:
		/* The message is sent either way; a lost claim only matters
		 * when no claim was taken at all (dmpcli_claim_note()). */
		if (ev->code == 0 && ev->detail &&
		    strstr(ev->detail, "accepted")) {
			c->claims_ok++;
		} else if (ev->code != 0) {
			c->claims_failed++;
			snprintf(c->claim_note, sizeof(c->claim_note), "%s",
				 ev->detail ? ev->detail : "");
		}
		if (c->verbose) {
			fprintf(stderr, "dmp: note: %s\n", ev->detail);
		}
		break;
	case DMP_EV_PREKEYS:
		/* With a message id: that message lost forward secrecy. */
		if (ev->msg_id || c->verbose) {
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

void dmpcli_claim_note(struct dmpcli *c, const char *to)
{
	if (c->claims_failed && !c->claims_ok && !c->verbose) {
		fprintf(stderr,
			"dmp: note: no first-contact claim for %s was taken "
			"(%s).\n     %s gets the message if they have pinned "
			"you; if not, their node must accept claims\n     "
			"(security.claim_provider) or you both need a "
			"claims.providers zone (dmp.yaml(5))\n",
			to, c->claim_note, to);
	}
	c->claims_ok = c->claims_failed = 0;
}

int dmpcli_open_engine(struct dmpcli *c, struct dmp_engine **e)
{
	struct dmp_engine_opts o;
	char *pass = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.home = c->home;
	o.on_event = on_event;
	o.ud = c;
	o.clock = dmpcli_clock;
	pass = dmpcli_passphrase(c, 0);
	if (!pass) {
		return EX_PASSPHRASE;
	}
	o.passphrase = pass;
	rc = dmp_engine_open(e, &o);
	dmpcli_free_pass(pass);
	if (rc == DMP_ENOENT) {
		char h[3072], p[3100];
		struct stat sb;

		if (dmp_engine_resolve_home(h, sizeof(h), c->home) == 0 &&
		    snprintf(p, sizeof(p), "%s/state.db", h) > 0 &&
		    stat(p, &sb) == 0) {
			fprintf(stderr,
				"dmp: %s/config.yaml is missing, but state.db "
				"holds an identity.\n     Re-create the "
				"config: dmp init USER --domain ZONE --node "
				"HOST[:PORT] --tsig-file FILE --repair\n",
				h);
			return EX_CONFIG;
		}
		fprintf(stderr,
			"dmp: no identity in %s: run `dmp init` first\n",
			c->home ? c->home : "$DMP_HOME or ~/.dmp");
		return EX_NOHOME;
	}
	if (rc < 0) {
		return dmpcli_fail("open", rc);
	}
	c->no_tsig = !dmp_engine_has_tsig(*e);
	return 0;
}

int dmpcli_no_tsig(const char *what)
{
	fprintf(stderr,
		"dmp: %s: no TSIG key: this home has none (network.tsig is "
		"empty), and the node\n     takes writes only with one. Run "
		"`dmp tsig register --node-http URL` if the node\n     "
		"offers registration, or ask its operator for a key "
		"(`dmp-node key add`) and\n     set network.tsig in "
		"config.yaml\n",
		what);
	return EX_NOTAUTH;
}
