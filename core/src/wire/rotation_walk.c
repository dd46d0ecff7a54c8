/*
 * core/src/wire/rotation_walk.c - the rotation walk (PROTOCOL.md 8): from
 * a pinned key through the verified rotations and revocations of one
 * subject to its current key. Pure: the caller fetches the RRset.
 */
#include <string.h>

#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/rotation.h"

/* More values than this at one rotation name are not a real chain. */
#define WALK_VALUES_MAX 64

struct walk_set {
	struct dmp_rotation rot[WALK_VALUES_MAX];
	struct dmp_revocation rev[WALK_VALUES_MAX];
	size_t nrot, nrev;
};

static const struct dmp_revocation *
revoked(const struct walk_set *s, const uint8_t spk[DMP_ED25519_PK_BYTES])
{
	for (size_t i = 0; i < s->nrev; i++) {
		if (memcmp(s->rev[i].revoked_spk, spk, DMP_ED25519_PK_BYTES) ==
		    0) {
			return &s->rev[i];
		}
	}
	return NULL;
}

static int fail(struct dmp_rotation_walk *out, int rc, const char *why)
{
	out->why = why;
	return rc;
}

int dmp_rotation_walk(struct dmp_rotation_walk *out,
		      const uint8_t pinned[DMP_ED25519_PK_BYTES],
		      uint8_t subject_type, const char *subject,
		      size_t subject_len, const char *const *values,
		      const size_t *lens, size_t n, uint64_t now)
{
	struct walk_set *s;
	const struct dmp_revocation *rv;
	uint8_t seen[DMP_ROTATION_MAX_HOPS + 1][DMP_ED25519_PK_BYTES];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memcpy(out->head, pinned, DMP_ED25519_PK_BYTES);
	out->why = "no rotation";
	s = dmp_calloc(1, sizeof(*s));
	if (!s) {
		return DMP_ENOMEM;
	}
	/* 1. Verified records of this subject; anything else is ignored
	 *    (a forged rotation fails its old-key signature here). */
	for (size_t i = 0; i < n && i < WALK_VALUES_MAX; i++) {
		if (dmp_rotation_parse(&s->rot[s->nrot], values[i], lens[i],
				       NULL, subject, subject_len, now) == 0 &&
		    s->rot[s->nrot].subject_type == subject_type) {
			s->nrot++;
		} else if (dmp_revocation_parse(&s->rev[s->nrev], values[i],
						lens[i], NULL, subject,
						subject_len, now, 0) == 0 &&
			   s->rev[s->nrev].subject_type == subject_type) {
			s->nrev++;
		}
	}
	/* 2. A revoked pinned key: trust nothing. */
	rv = revoked(s, pinned);
	if (rv) {
		out->revoked_reason = rv->reason;
		out->revoked_ts = rv->ts;
		rc = fail(out, DMP_EREVOKED, "the pinned key is revoked");
		goto done;
	}
	/* 3. At most DMP_ROTATION_MAX_HOPS hops from the pinned key. */
	memcpy(seen[0], pinned, DMP_ED25519_PK_BYTES);
	for (int hop = 0;; hop++) {
		const struct dmp_rotation *next = NULL;

		for (size_t i = 0; i < s->nrot; i++) {
			const struct dmp_rotation *r = &s->rot[i];

			if (memcmp(r->old_spk, out->head,
				   DMP_ED25519_PK_BYTES) != 0) {
				continue;
			}
			if (next && memcmp(next->new_spk, r->new_spk,
					   DMP_ED25519_PK_BYTES) != 0) {
				rc = fail(out, DMP_ECHAIN,
					  "fork: two successors for one key");
				goto done;
			}
			/* Re-issues of one hop: keep the lowest seq. */
			if (!next || r->seq < next->seq) {
				next = r;
			}
		}
		if (!next) {
			out->why = hop == 0 ? "no rotation" : "rotated";
			break;
		}
		if (hop == DMP_ROTATION_MAX_HOPS) {
			rc = fail(out, DMP_ECHAIN,
				  "more than 4 rotations to follow");
			goto done;
		}
		if (hop > 0 && next->seq <= out->seq) {
			rc = fail(out, DMP_ECHAIN,
				  "rotation seq does not increase");
			goto done;
		}
		if (revoked(s, next->new_spk)) {
			rc = fail(out, DMP_ECHAIN, "the next key is revoked");
			goto done;
		}
		for (int k = 0; k <= hop; k++) {
			if (memcmp(seen[k], next->new_spk,
				   DMP_ED25519_PK_BYTES) == 0) {
				rc = fail(out, DMP_ECHAIN,
					  "cycle in the rotation chain");
				goto done;
			}
		}
		memcpy(seen[hop + 1], next->new_spk, DMP_ED25519_PK_BYTES);
		memcpy(out->head, next->new_spk, DMP_ED25519_PK_BYTES);
		out->seq = next->seq;
		out->ts = next->ts;
		out->hops = hop + 1;
	}
done:
	if (rc < 0) {
		memcpy(out->head, pinned, DMP_ED25519_PK_BYTES);
		out->hops = 0;
	}
	dmp_free(s);
	return rc;
}
