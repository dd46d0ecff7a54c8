/*
 * core/src/node/node_sync_verify.c - is a value a peer handed over in
 * a pull worth storing (PROTOCOL.md 7.6 step 5)? Peers are co-operated
 * but not trusted with content: one that was compromised or is buggy must
 * not be able to plant forged mail, identities or claims here. Every check
 * is the record module's own parser (one implementation per format).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "dmp/bootstrap.h"
#include "dmp/chunk.h"
#include "dmp/claim.h"
#include "dmp/cluster.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/identity.h"
#include "dmp/links.h"
#include "dmp/manifest.h"
#include "dmp/record.h"
#include "dmp/rotation.h"
#include "dmp/rs.h"
#include "node/node_sync_i.h"

/* Does @p s start with @p pat, where 'D' is one or more digits, 'H' one
 * or more lower-case hex digits, anything else itself? */
static int starts(const char *s, const char *pat)
{
	for (; *pat; pat++) {
		const char *set = *pat == 'D'	? "0123456789"
				  : *pat == 'H' ? "0123456789abcdef"
						: NULL;
		size_t k;

		if (!set) {
			if (*s++ != *pat) {
				return 0;
			}
			continue;
		}
		k = strspn(s, set);
		if (!k) {
			return 0;
		}
		s += k;
	}
	return 1;
}

/* The owner names DMP records live at (the reference refuses non-DMP
 * values there so nobody aliases e.g. SPF text into a mailbox slot). */
static int dmp_shaped(const char *name)
{
	static const char *const pats[] = {
	    "slot-D.mb-H.",  "chunk-D-H.", "mb-H.",	    "id-H.",
	    "prekeys.id-H.", "_dnsmesh-",  "claim-D.mb-H.", "cluster.",
	    "_dmp.",	     "dmp.",	   "rotate."};
	char lc[NS_NAME_MAX + 1];
	size_t i;

	for (i = 0; name[i] && i < NS_NAME_MAX; i++) {
		lc[i] = (char)tolower((unsigned char)name[i]);
	}
	lc[i] = 0;
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		if (starts(lc, pats[i])) {
			return 1;
		}
	}
	return 0;
}

static int structure(const char *value, size_t vlen, const char *prefix)
{
	uint8_t blob[DMP_RECORD_WIRE_MAX];
	size_t bl;

	return dmp_record_decode(blob, sizeof(blob), &bl, value, vlen, prefix,
				 DMP_RECORD_WIRE_MAX, DMP_SIG_BYTES + 1);
}

static int chunk_ok(const char *value, size_t vlen)
{
	struct dmp_rs *rs = NULL;
	uint8_t block[DMP_CHUNK_BLOCK_BYTES];
	int rc = dmp_rs_new(&rs);

	if (rc == 0) {
		rc = dmp_chunk_unwrap_repair(rs, value, vlen, block, NULL);
	}
	dmp_rs_free(rs);
	return rc;
}

int dmp_ns_verify(const char *name, const char *value, size_t vlen,
		  const uint8_t *op_spk, uint64_t now_s)
{
	union {
		struct dmp_manifest m;
		struct dmp_identity_record id;
		struct dmp_claim c;
		struct dmp_rotation r;
		struct dmp_revocation v;
		struct dmp_cluster cl;
		struct dmp_links lk;
	} u;
	const char *base;
	int rc;

	/* DMP-RELAY/1 (protocol.md 8.7.4): self-signed like a heartbeat, but
	 * synced, and only at its own name. The endpoint rule is the strict
	 * one: a loopback endpoint is never pulled. */
	if (vlen >= strlen(DMP_PREFIX_LINKS) &&
	    memcmp(value, DMP_PREFIX_LINKS, strlen(DMP_PREFIX_LINKS)) == 0) {
		if (strncasecmp(name, DMP_LINKS_LABEL ".",
				strlen(DMP_LINKS_LABEL ".")) != 0) {
			return DMP_EBADNAME;
		}
		return dmp_links_parse(&u.lk, value, vlen, now_s,
				       DMP_HEARTBEAT_STRICT, NULL);
	}

	switch (dmp_record_type_of(value, vlen)) {
	case DMP_REC_MANIFEST:
		rc = dmp_manifest_parse_verify(&u.m, value, vlen, now_s);
		if (rc == 0 && dmp_manifest_is_expired(&u.m, now_s)) {
			rc = DMP_EEXPIRED;
		}
		dmp_manifest_clear(&u.m);
		return rc;
	case DMP_REC_IDENTITY:
		return dmp_identity_parse_verify(&u.id, value, vlen, NULL, 0);
	case DMP_REC_CLAIM:
		return dmp_claim_parse_verify(&u.c, value, vlen, now_s);
	case DMP_REC_ROTATION:
		return dmp_rotation_parse(&u.r, value, vlen, NULL, NULL, 0,
					  now_s);
	case DMP_REC_REVOCATION:
		return dmp_revocation_parse(&u.v, value, vlen, NULL, NULL, 0,
					    now_s, 0);
	case DMP_REC_CLUSTER:
		if (!op_spk) {
			return structure(value, vlen, DMP_PREFIX_CLUSTER);
		}
		base = strncmp(name, "cluster.", 8) == 0 ? name + 8 : name;
		return dmp_cluster_parse(&u.cl, value, vlen, op_spk, base,
					 strlen(base), now_s);
	case DMP_REC_PREKEY: return structure(value, vlen, DMP_PREFIX_PREKEY);
	case DMP_REC_BOOTSTRAP:
		return structure(value, vlen, DMP_PREFIX_BOOTSTRAP);
	case DMP_REC_CHUNK: return chunk_ok(value, vlen);
	case DMP_REC_HEARTBEAT: /* each node signs and publishes its own */
		return DMP_EPREFIX;
	default: break;
	}
	if (vlen >= 5 && strncmp(value, "v=dmp", 5) == 0) {
		return DMP_EPREFIX; /* a DMP type this version cannot check */
	}
	return dmp_shaped(name) ? DMP_EPREFIX : 0;
}
