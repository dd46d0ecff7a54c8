/*
 * tools/dmp/cmd_config.c - `dmp config list|get|set|unset`: the home's
 * config.yaml read and changed one setting at a time (settings.h). No
 * passphrase is needed: config.yaml holds no secret the engine guards
 * (network.tsig is shown as it is in the file, which is mode 0600).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/err.h"
#include "dmp/settings.h"

struct listing {
	const char *only; /* get: this name; list: NULL */
	int found;
};

static void show(const char *name, const char *value, const char *def,
		 int is_default, const char *range, void *ud)
{
	struct listing *l = ud;

	if (l->only) {
		if (strcmp(name, l->only) == 0) {
			printf("%s\n", value);
			l->found = 1;
		}
		return;
	}
	if (strcmp(name, "network.tsig") == 0 && strrchr(value, ':')) {
		/* The secret stays off the screen; `get` prints it. */
		printf("* %-28s %.*s:(secret hidden)\n", name,
		       (int)(strrchr(value, ':') - value), value);
		return;
	}
	/* "* " marks a value that is not the default. */
	printf("%s %-28s %-24s default %s%s%s%s\n", is_default ? " " : "*",
	       name, *value ? value : "\"\"", *def ? def : "\"\"",
	       *range ? " (" : "", range, *range ? ")" : "");
}

static const char usage_text[] =
    "usage: dmp config list\n"
    "       dmp config get SECTION.KEY\n"
    "       dmp config set SECTION.KEY VALUE   (a list: "
    "comma-separated)\n"
    "       dmp config unset SECTION.KEY       (back to the "
    "default)\n";

int dmpcli_cmd_config(struct dmpcli *c, int argc, char **argv)
{
	char home[3072], err[768];
	struct listing l = {NULL, 0};
	const char *sub = argc > 1 ? argv[1] : "";
	int rc;

	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		return dmpcli_usage(stdout, usage_text);
	}
	if ((!strcmp(sub, "list") && argc != 2) ||
	    (!strcmp(sub, "get") && argc != 3) ||
	    (!strcmp(sub, "set") && argc != 4) ||
	    (!strcmp(sub, "unset") && argc != 3)) {
		return dmpcli_usage(stderr, usage_text);
	}
	if (dmp_engine_resolve_home(home, sizeof(home), c->home) < 0) {
		fprintf(stderr, "dmp: config: no home: set --home or "
				"$DMP_HOME\n");
		return EX_NOHOME;
	}
	err[0] = '\0';
	if (!strcmp(sub, "list") || !strcmp(sub, "get")) {
		l.only = argc == 3 ? argv[2] : NULL;
		rc = dmp_settings_list(home, show, &l, err, sizeof(err));
		if (rc == 0 && l.only && !l.found) {
			fprintf(stderr,
				"dmp: config: %s: unknown setting (`dmp "
				"config list` shows them)\n",
				l.only);
			return EX_USAGE;
		}
	} else if (!strcmp(sub, "set") || !strcmp(sub, "unset")) {
		rc = dmp_settings_set(home, argv[2], argc == 4 ? argv[3] : NULL,
				      err, sizeof(err));
		if (rc == DMP_ENOENT && argc == 3 && err[0]) {
			printf("%s\n", err); /* unset of an unset key */
			return EX_OK;
		}
		if (rc == 0) {
			printf("%s/config.yaml: %s %s\n"
			       "A mounted dmpfs of this home uses it after "
			       "`echo > MOUNTPOINT/.reload` or SIGHUP;\n"
			       "dmp commands use it from their next run.\n",
			       home, argv[2],
			       argc == 4 ? "set"
					 : "removed (the default "
					   "applies)");
		}
	} else {
		return dmpcli_usage(stderr, usage_text);
	}
	if (rc == DMP_ENOENT) {
		fprintf(stderr, "dmp: config: %s: run `dmp init` first\n", err);
		return EX_NOHOME;
	}
	if (rc < 0) {
		fprintf(stderr, "dmp: config: %s\n",
			err[0] ? err : dmp_strerror(rc));
		return rc == DMP_ECONFIG ? EX_CONFIG : EX_FAIL;
	}
	return EX_OK;
}
