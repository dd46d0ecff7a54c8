/*
 * tools/dmp/cmd_contacts.c - `dmp contacts add|list|remove|rename|block|
 * unblock`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#include "dmp/alias.h"
#include "dmp/engine.h"
#include "dmp/text.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/store.h"

static void usage_contacts(FILE *f)
{
	fprintf(
	    f,
	    "usage: dmp contacts add ADDRESS [ALIAS] [--fingerprint FP]\n"
	    "       dmp contacts list\n"
	    "       dmp contacts remove ALIAS\n"
	    "       dmp contacts rename OLD NEW\n"
	    "       dmp contacts block|unblock ALIAS\n"
	    "ADDRESS is user@zone, or a bare user name in your own "
	    "zone. An ALIAS is a\nfile name in dmpfs: at most 64 bytes, "
	    "no '/', no control characters, no\nleading '.', and not an "
	    "editor scratch name (*~, *.swp, *.swx, *.tmp, 4913,\n#...#).\n");
}

static int print_contact(const struct dmp_store_contact *ct, void *ud)
{
	char fp[DMP_FINGERPRINT_CHARS + 1];
	const char *bad = dmp_alias_problem(ct->alias);
	int *n_bad = ud;

	dmp_fingerprint_hex(fp, ct->ed25519_pk);
	/* Padded by display width, not bytes: non-ASCII aliases align. */
	dmp_print_padded(stdout, ct->alias, 16);
	printf(" %-32s %s%s%s%s%s\n", ct->address, fp,
	       ct->blocked ? " blocked" : "", bad ? " INVALID-ALIAS" : "",
	       ct->rotated_at ? " rotated" : "", ct->revoked ? " REVOKED" : "");
	if (bad) {
		fprintf(stderr,
			"dmp: contact '%s': the alias %s; dmpfs does not show "
			"it.\n     Rename it: dmp contacts rename '%s' NEW (or "
			"remove it: dmp contacts remove '%s')\n",
			ct->alias, bad, ct->alias, ct->alias);
		(*n_bad)++;
	}
	return 0;
}

/* The message for a failed `contacts add`; @return the exit code. */
static int add_failed(struct dmp_engine *e, const char *address,
		      const char *alias, const char *fp, int rc)
{
	switch (rc) {
	case DMP_ENOENT:
		fprintf(stderr,
			"dmp: no identity record found for %s: check the "
			"spelling, or ask them to run `dmp identity "
			"publish`\n",
			address);
		return EX_NOTFOUND;
	case DMP_EBADKEY:
		fprintf(stderr,
			"dmp: no key with fingerprint %s answers for %s\n", fp,
			address);
		return EX_FAIL;
	case DMP_EEXIST:
		fprintf(stderr,
			"dmp: alias %s is taken by another key: pick another "
			"alias, or `dmp contacts remove %s` first\n",
			alias, alias);
		return EX_FAIL;
	case DMP_EINVAL:
		fprintf(stderr,
			"dmp: %s: not an address (user@zone, or a "
			"user name in your zone)\n",
			address);
		return EX_USAGE;
	default: return dmpcli_fail_read(e, address, rc);
	}
}

static int add(struct dmpcli *c, struct dmp_engine *e, const char *address,
	       const char *alias, const char *fp)
{
	struct dmp_store_contact ct;
	int rc;

	/* The CLI says why itself: no echo of the engine's REJECTED event. */
	c->quiet_rejected = 1;
	rc = dmp_engine_contact_add(e, address, alias, fp);
	c->quiet_rejected = 0;
	if (rc < 0) {
		return add_failed(e, address, alias, fp, rc);
	}
	if (dmp_store_contact_get(dmp_engine_store(e), alias, &ct) == 0) {
		char f[DMP_FINGERPRINT_CHARS + 1];

		dmp_fingerprint_hex(f, ct.ed25519_pk);
		printf("pinned %s as %s (fingerprint %s)\n", ct.address,
		       ct.alias, f);
	}
	return 0;
}

/* The alias `contacts add ADDRESS [ALIAS]` would pin, in @p buf. */
static const char *alias_of(const char *address, const char *alias, char *buf,
			    size_t cap)
{
	const char *at = strchr(address, '@');

	if (alias) {
		return alias;
	}
	snprintf(buf, cap, "%.*s",
		 (int)(at ? (size_t)(at - address) : strlen(address)), address);
	return buf;
}

int dmpcli_cmd_contacts(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	const char *fp = NULL, *pos[2] = {NULL, NULL}, *alias = NULL, *bad;
	char abuf[320];
	int np = 0, rc, n_bad = 0;

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
	if (strcmp(sub, "list") == 0  ? np != 0
	    : strcmp(sub, "add") == 0 ? np < 1
	    : strcmp(sub, "rename") == 0
		? np != 2
		: (strcmp(sub, "remove") && strcmp(sub, "block") &&
		   strcmp(sub, "unblock")) ||
		      np != 1) {
		usage_contacts(stderr);
		return EX_USAGE;
	}
	/* The alias rules, before the passphrase and the network. */
	if (strcmp(sub, "add") == 0 || strcmp(sub, "rename") == 0) {
		alias = strcmp(sub, "add") == 0
			    ? alias_of(pos[0], pos[1], abuf, sizeof(abuf))
			    : pos[1];
		if ((bad = dmp_alias_problem(alias)) != NULL) {
			fprintf(stderr,
				"dmp: alias '%s' %s; choose another%s\n", alias,
				bad,
				strcmp(sub, "add") == 0 && !pos[1]
				    ? " (dmp contacts add ADDRESS ALIAS)"
				    : "");
			return EX_USAGE;
		}
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	if (strcmp(sub, "list") == 0) {
		rc = dmp_store_contact_each(dmp_engine_store(e), print_contact,
					    &n_bad);
	} else if (strcmp(sub, "add") == 0) {
		rc = add(c, e, pos[0], alias, fp);
		dmp_engine_close(e);
		return rc;
	} else if (strcmp(sub, "rename") == 0) {
		rc = dmp_engine_contact_rename(e, pos[0], pos[1]);
		if (rc == DMP_EEXIST) {
			fprintf(stderr, "dmp: alias %s is taken\n", pos[1]);
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
		fprintf(stderr,
			"dmp: no contact %s (`dmp contacts list` shows "
			"them)\n",
			pos[0]);
		return EX_NOTFOUND;
	}
	return rc < 0 ? dmpcli_fail(sub, rc) : 0;
}
