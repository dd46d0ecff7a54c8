/*
 * tools/dmp/cmd_identity.c - `dmp identity show|publish|refresh-prekeys` (and
 * the import-prekey test hook).
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
	    strcmp(sub, "refresh-prekeys") && strcmp(sub, "import-prekey")) {
		usage_identity(stderr);
		return EX_USAGE;
	}
	if ((rc = dmpcli_open_engine(c, &e)) != 0) {
		return rc;
	}
	if (c->no_tsig && (strcmp(sub, "publish") == 0 ||
			   strcmp(sub, "refresh-prekeys") == 0)) {
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
