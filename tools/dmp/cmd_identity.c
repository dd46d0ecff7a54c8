/*
 * tools/dmp/cmd_identity.c - `dmp identity show|publish|refresh-prekeys|
 * rotate|revoke` (and the import-prekey test hook).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "dmp/rotation.h"

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
	       "  refresh-prekeys  top the prekey pool up\n"
	       "  rotate           new key from your passphrase and a new "
	       "salt; publish a\n"
	       "                   rotation co-signed by the old and new "
	       "keys: contacts\n"
	       "                   follow it; mail to the old key still "
	       "opens\n"
	       "  revoke [--reason compromise|routine|lost-key|other]\n"
	       "                   publish a revocation of your key "
	       "(default: compromise);\n"
	       "                   contacts stop sending to it; make a new "
	       "identity after\n");
}

static void show_revoked(struct dmp_engine *e)
{
	int reason;
	int64_t when;

	if (dmp_engine_identity_revoked(e, &reason, &when)) {
		printf("revoked:     %lld (%s)\n", (long long)when,
		       dmp_revocation_reason_name(reason));
	}
}

static int cmd_rotate(struct dmpcli *c, struct dmp_engine *e)
{
	struct dmp_identity_info before, after;
	char rec[1400];
	char *pass;
	int rc;

	rc = dmp_engine_identity(e, &before);
	if (rc < 0) {
		return rc;
	}
	pass = dmpcli_passphrase(c, 0); /* the new key derives from it */
	if (!pass) {
		return EX_PASSPHRASE;
	}
	rc = dmp_engine_identity_rotate(e, pass, rec, sizeof(rec));
	dmpcli_free_pass(pass);
	if (rc == DMP_EREVOKED) {
		fprintf(stderr, "dmp: identity rotate: this key is revoked; a "
				"rotation from it is refused by every contact. "
				"Make a new identity (dmp init in another "
				"DMP_HOME) and have contacts re-pin it\n");
		return EX_FAIL;
	}
	if (dmp_engine_identity(e, &after) == 0 &&
	    strcmp(before.fingerprint, after.fingerprint) != 0) {
		printf("rotated:     %s -> %s\n", before.fingerprint,
		       after.fingerprint);
		if (rc < 0) {
			fprintf(stderr,
				"dmp: the new key is in use but not published "
				"(%s): run `dmp identity publish`\n",
				dmp_strerror(rc));
			return EX_QUEUED;
		}
		printf("published:   rotation record, identity, prekeys\n");
	}
	return rc;
}

static int cmd_revoke(struct dmp_engine *e, int argc, char **argv)
{
	int reason = DMP_REVOKE_COMPROMISE, rc;

	if (argc == 4 && strcmp(argv[2], "--reason") == 0) {
		reason = dmp_revocation_reason_parse(argv[3]);
		if (reason < 0) {
			fprintf(stderr,
				"dmp: identity revoke: --reason '%s' is not "
				"one of compromise, routine, lost-key, "
				"other\n",
				argv[3]);
			return EX_USAGE;
		}
	} else if (argc != 2) {
		usage_identity(stderr);
		return EX_USAGE;
	}
	rc = dmp_engine_identity_revoke(e, reason);
	if (rc == 0) {
		printf("revoked:     published (%s); contacts stop sending "
		       "to this key.\n             Make a new identity (dmp "
		       "init) and have contacts re-pin it\n",
		       dmp_revocation_reason_name(reason));
	}
	return rc;
}

int dmpcli_cmd_identity(struct dmpcli *c, int argc, char **argv)
{
	struct dmp_engine *e = NULL;
	const char *sub = argc > 1 ? argv[1] : NULL;
	int rc;

	if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage_identity(sub ? stdout : stderr);
		return sub ? 0 : EX_USAGE;
	}
	if (strcmp(sub, "show") && strcmp(sub, "publish") &&
	    strcmp(sub, "refresh-prekeys") && strcmp(sub, "import-prekey") &&
	    strcmp(sub, "rotate") && strcmp(sub, "revoke")) {
		usage_identity(stderr);
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	if (c->no_tsig && strcmp(sub, "show") != 0 &&
	    strcmp(sub, "import-prekey") != 0) {
		dmp_engine_close(e);
		return dmpcli_no_tsig(sub);
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
			show_revoked(e);
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
	} else if (strcmp(sub, "rotate") == 0 || strcmp(sub, "revoke") == 0) {
		rc = sub[1] == 'o' ? cmd_rotate(c, e)
				   : cmd_revoke(e, argc, argv);
		if (rc > 0) {
			dmp_engine_close(e);
			return rc;
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
		long long id, exp;

		if (argc != 5 ||
		    dmpcli_number("prekey id", argv[2], 0, UINT32_MAX, &id) <
			0 ||
		    dmpcli_number("expiry", argv[4], 0, INT64_MAX, &exp) < 0 ||
		    dmp_hex_decode(sk, 32, argv[3], strlen(argv[3])) < 0) {
			dmp_engine_close(e);
			return EX_USAGE;
		}
		rc = dmp_engine_prekey_import(e, (uint32_t)id, sk,
					      (uint64_t)exp);
		dmp_wipe(sk, sizeof(sk));
	}
	dmp_engine_close(e);
	return rc < 0 ? dmpcli_fail(sub, rc) : 0;
}
