/*
 * tools/dmp/main.c - the `dmp` command line client: one-shot commands over
 * the client engine (engine.h). This file parses the global options and
 * dispatches; each command group is in its cmd_<group>.c (cli.h).
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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#include "dmp/log.h"

static const struct {
	const char *name;
	int (*fn)(struct dmpcli *c, int argc, char **argv);
} cmds[] = {
    {"init", dmpcli_cmd_init},	       {"identity", dmpcli_cmd_identity},
    {"contacts", dmpcli_cmd_contacts}, {"send", dmpcli_cmd_send},
    {"recv", dmpcli_cmd_recv},	       {"status", dmpcli_cmd_status},
    {"flush", dmpcli_cmd_flush},       {"resolvers", dmpcli_cmd_resolvers},
    {"peers", dmpcli_cmd_peers},       {"tsig", dmpcli_cmd_tsig},
    {"cancel", dmpcli_cmd_cancel},     {"sendmail", dmpcli_cmd_sendmail},
};

static void log_stderr(int level, const char *msg, void *ud)
{
	(void)ud;
	fprintf(stderr, "dmp: %s%s\n", level <= DMP_LOG_ERR ? "error: " : "",
		msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dmp [--home DIR] [--passphrase-file FILE] [-v] "
		"COMMAND ...\n\n"
		"commands:\n"
		"  init USER --domain ZONE --node HOST[:PORT] [--resolver "
		"IP[:PORT]]...\n"
		"       [--tsig-file FILE | --tsig -] [--repair]\n"
		"  identity show|publish|refresh-prekeys\n"
		"  contacts add ADDRESS [ALIAS] [--fingerprint FP]|list|"
		"remove|rename|block|unblock\n"
		"  send [--lifetime SECONDS] CONTACT [FILE|-]\n"
		"  sendmail [-t] [-oi] [--] RECIPIENT... < RFC5322-MESSAGE\n"
		"  cancel QUEUE_ID\n"
		"  recv [--watch] [--interval SECONDS]\n"
		"  status\n"
		"  flush\n"
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
	struct dmpcli c;
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
		long long t;

		if (dmpcli_number("DMP_FAKE_NOW", fake, 1, 253402300799LL, &t) <
		    0) {
			return EX_USAGE;
		}
		c.have_fake = 1;
		c.fake_offset = (int64_t)t - (int64_t)time(NULL);
	}
	dmp_log_set_handler(log_stderr, NULL,
			    c.verbose ? DMP_LOG_DEBUG : DMP_LOG_ERR);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name) == 0) {
			return cmds[i].fn(&c, argc, argv);
		}
	}
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "dmp: unknown command %s\n", cmd);
	usage(stderr);
	return EX_USAGE;
}
