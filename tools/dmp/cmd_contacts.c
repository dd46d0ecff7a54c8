/*
 * tools/dmp/cmd_contacts.c - `dmp contacts add|list|remove|block|unblock`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/engine.h"
#include "dmp/text.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/store.h"

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
	char fp[DMP_FINGERPRINT_CHARS + 1];

	(void)ud;
	dmp_fingerprint_hex(fp, ct->ed25519_pk);
	/* Padded by display width, not bytes: non-ASCII aliases align. */
	dmp_print_padded(stdout, ct->alias, 16);
	printf(" %-32s %s%s\n", ct->address, fp, ct->blocked ? " blocked" : "");
	return 0;
}

int dmpcli_cmd_contacts(struct dmpcli *c, int argc, char **argv)
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
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
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
				char f[DMP_FINGERPRINT_CHARS + 1];

				dmp_fingerprint_hex(f, ct.ed25519_pk);
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
	return rc < 0 ? dmpcli_fail(sub, rc) : 0;
}
