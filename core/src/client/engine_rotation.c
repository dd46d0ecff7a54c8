/*
 * core/src/client/engine_rotation.c - key rotation and revocation
 * (PROTOCOL.md 2.9, 2.10, 8): rotating our identity to a new key and
 * publishing the co-signed rotation record; revoking our key; mail still
 * addressed to a previous key; and following contacts' rotation chains.
 *
 * How a rotated key is derived: the identity stays passphrase-derived
 * (4.2). A rotation draws a new random Argon2id salt, derives the new key
 * from the same passphrase and that salt, and stores the salt in the
 * identity row; unlocking is unchanged. The previous key's secret is kept
 * in the store sealed with the new key's seal key (like the prekeys), so
 * a copy of state.db alone opens neither.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/record.h"
#include "dmp/rotation.h"
#include "engine_i.h"

#define KV_ROTATION "rotation.record"	  /* our last rotation's value */
#define KV_REVOCATION "revocation.record" /* our revocation's value */
#define KV_SEQ "rotation.seq"
#define KV_LAST "rotation.last"		/* when we last rotated */
#define KV_PREKEYS "rotation.prekeys"	/* "stale": pool signed by old key */
#define KV_STALE "rotation.stale"	/* a held key reported as stale */
#define KV_REENCODE "rotation.reencode" /* "<time>": queue signed before */

static const char *const reason_names[] = {"", "compromise", "routine",
					   "lost-key", "other"};

const char *dmp_revocation_reason_name(int reason)
{
	return reason >= 1 && reason <= 4 ? reason_names[reason] : "unknown";
}

int dmp_revocation_reason_parse(const char *s)
{
	for (int i = 1; s && i <= 4; i++) {
		if (strcmp(s, reason_names[i]) == 0) {
			return i;
		}
	}
	return DMP_EINVAL;
}

static int subject_of(char *out, size_t cap, const char *user,
		      const char *domain)
{
	int n = snprintf(out, cap, "%s@%s", user, domain);

	return n < 0 || (size_t)n >= cap ? DMP_EINVAL : n;
}

/* Add our rotation and revocation values (whichever exist) at the
 * rotation names; existing values stay: the chain must stay readable. */
int dmp_eng_rotation_publish(struct dmp_engine *e, struct dmp_eng_writer *w)
{
	char owner[2][DMP_NAME_MAX];
	char v[2][DMP_RECORD_WIRE_MAX + 1];
	const char *keys[2] = {KV_ROTATION, KV_REVOCATION};
	struct dmp_update_rr ops[4];
	size_t n = 0, no = 1;
	int rc;

	rc =
	    dmp_name_rotation_user(owner[0], sizeof(owner[0]), e->conf.username,
				   strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	if (e->conf.anchored &&
	    dmp_name_rotation_user_anchored(owner[1], sizeof(owner[1]),
					    e->conf.domain) >= 0) {
		no = 2;
	}
	for (size_t k = 0; k < 2; k++) {
		if (dmp_store_kv_get(e->st, keys[k], v[k], sizeof(v[k])) < 0 ||
		    !v[k][0]) {
			continue;
		}
		for (size_t o = 0; o < no; o++) {
			ops[n++] =
			    (struct dmp_update_rr){DMP_UPDATE_ADD, owner[o],
						   86400, v[k], strlen(v[k])};
		}
	}
	return n ? dmp_eng_writer_send(e, w, ops, n) : 0;
}

/* @p checked: the engine was opened with @p passphrase just now. */
static int rotate(struct dmp_engine *e, const char *passphrase, int checked,
		  char *record, size_t cap)
{
	struct dmp_store_identity id;
	struct dmp_store_old_key old;
	struct dmp_rotation r;
	struct dmp_keys *nk = NULL, *chk = NULL;
	uint8_t osk[DMP_ED25519_SK_BYTES], nsk[DMP_ED25519_SK_BYTES];
	uint8_t xsk[DMP_X25519_BYTES], npk[DMP_ED25519_PK_BYTES];
	uint8_t seal[32];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	char sv[32] = "";
	uint64_t now = (uint64_t)dmp_eng_now(e), seq, last = 0;
	int rc;

	if (!passphrase) {
		return DMP_EPASSPHRASE;
	}
	rc = dmp_store_identity_get(e->st, &id);
	if (rc < 0) {
		return rc;
	}
	if (dmp_store_kv_get(e->st, KV_REVOCATION, wire, sizeof(wire)) == 0 &&
	    wire[0]) {
		/* A rotation from a revoked key is refused by every walk. */
		return DMP_EREVOKED;
	}
	/* The passphrase must be the identity's: the new key is derived
	 * from it, and unlocking must keep working with it. */
	if (!checked) {
		rc = dmp_keys_derive_checked(&chk, passphrase,
					     strlen(passphrase), id.salt,
					     id.salt_len, id.x25519_pk);
		dmp_keys_free(chk);
		if (rc < 0) {
			return rc;
		}
	}
	dmp_kdf_salt_random(id.salt);
	id.salt_len = DMP_KDF_SALT_BYTES;
	rc = dmp_keys_derive(&nk, passphrase, strlen(passphrase), id.salt,
			     id.salt_len);
	if (rc < 0) {
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.subject_type = DMP_SUBJECT_USER;
	rc = subject_of(r.subject, sizeof(r.subject), e->conf.username,
			e->conf.domain);
	if (rc < 0) {
		goto out;
	}
	memcpy(r.old_spk, dmp_keys_ed25519_pk(e->keys), 32);
	memcpy(r.new_spk, dmp_keys_ed25519_pk(nk), 32);
	/* seq: epoch milliseconds as the reference, strictly increasing. */
	if (dmp_store_kv_get(e->st, KV_SEQ, sv, sizeof(sv)) == 0) {
		last = strtoull(sv, NULL, 10);
	}
	seq = now * 1000 > last ? now * 1000 : last + 1;
	r.seq = seq;
	r.ts = now;
	r.exp = now + DMP_ROTATION_LIFETIME;
	rc = dmp_eng_signing_key(e, osk);
	if (rc == 0) {
		rc = dmp_keys_export_x25519(nk, xsk);
	}
	if (rc == 0) {
		dmp_ed25519_from_x25519(npk, nsk, xsk);
		rc = dmp_rotation_sign(wire, sizeof(wire), &r, osk, nsk);
	}
	if (rc < 0) {
		goto out;
	}
	rc = dmp_eng_seal_key(nk, seal);
	if (rc < 0) {
		goto out;
	}
	memcpy(old.ed25519_pk, dmp_keys_ed25519_pk(e->keys), 32);
	memcpy(old.x25519_pk, dmp_keys_x25519_pk(e->keys), 32);
	old.rotated_at = (int64_t)now;
	rc = dmp_keys_check_value(nk, id.x25519_pk);
	if (rc == 0) {
		memcpy(id.ed25519_pk, dmp_keys_ed25519_pk(nk), 32);
		rc = dmp_keys_export_x25519(e->keys, xsk);
	}
	if (rc == 0) {
		char sq[24], at[24];
		/* With the key switch, atomically: a record kept without
		 * its key (or the reverse) would fork our chain later. The
		 * published prekeys carry the old key's signature: stale. */
		const char *kv[] = {KV_SEQ,	 sq,   KV_LAST,	   at,
				    KV_ROTATION, wire, KV_PREKEYS, "stale",
				    KV_REENCODE, at,   NULL};

		snprintf(sq, sizeof(sq), "%" PRIu64, seq);
		snprintf(at, sizeof(at), "%" PRIu64, now);
		rc = dmp_store_identity_rotate(e->st, &id, &old, xsk, seal, kv);
	}
	if (rc < 0) {
		goto out;
	}
	dmp_keys_free(e->keys);
	e->keys = nk;
	nk = NULL;
	if (record && cap) {
		snprintf(record, cap, "%s", wire);
	}
	{
		char d[96], ofp[DMP_FINGERPRINT_CHARS + 1], nfp[sizeof(ofp)];

		dmp_fingerprint_hex(ofp, old.ed25519_pk);
		dmp_keys_fingerprint(e->keys, nfp);
		snprintf(d, sizeof(d), "identity rotated from %s to %s", ofp,
			 nfp);
		dmp_eng_emit(e, DMP_EV_IDENTITY, e->address, NULL, 0, d);
	}
	/* The queue was signed by the old key: contacts that follow the
	 * rotation would refuse it. */
	dmp_eng_rotation_reencode(e);
	/* Publishing may fail (offline): `dmp identity publish` repeats
	 * it, rotation record included. */
	rc = dmp_engine_identity_publish(e);
out:
	dmp_keys_free(nk);
	dmp_wipe(osk, sizeof(osk));
	dmp_wipe(nsk, sizeof(nsk));
	dmp_wipe(xsk, sizeof(xsk));
	dmp_wipe(seal, sizeof(seal));
	return rc;
}

int dmp_engine_identity_rotate(struct dmp_engine *e, const char *passphrase,
			       char *record, size_t cap)
{
	return rotate(e, passphrase, 0, record, cap);
}

int dmp_eng_rotation_unpublished(struct dmp_engine *e)
{
	char v[16];

	return dmp_store_kv_get(e->st, KV_PREKEYS, v, sizeof(v)) == 0 &&
	       strcmp(v, "stale") == 0;
}

int dmp_eng_rotation_auto(struct dmp_engine *e, const char *passphrase)
{
	struct dmp_store_identity id;
	char v[32], wire[DMP_RECORD_WIRE_MAX + 1];
	int64_t last, now = dmp_eng_now(e);
	int rc;

	if (e->conf.key_rotation_interval <= 0 || !passphrase ||
	    dmp_store_identity_get(e->st, &id) < 0 || id.published == 0 ||
	    (dmp_store_kv_get(e->st, KV_REVOCATION, wire, sizeof(wire)) == 0 &&
	     wire[0])) {
		return 0;
	}
	last = dmp_store_kv_get(e->st, KV_LAST, v, sizeof(v)) == 0
		   ? strtoll(v, NULL, 10)
		   : id.created;
	if (now - last < e->conf.key_rotation_interval) {
		return 0;
	}
	DMP_LOG_I("identity.key_rotation_interval (%lld s) passed: rotating",
		  e->conf.key_rotation_interval);
	rc = rotate(e, passphrase, 1, NULL, 0);
	if (rc < 0) {
		/* Rotated locally when the keys changed; published later. */
		DMP_LOG_W("automatic rotation: %s", dmp_strerror(rc));
	}
	return rc;
}

int dmp_engine_identity_revoke(struct dmp_engine *e, int reason)
{
	struct dmp_revocation r;
	struct dmp_eng_writer *w = NULL;
	uint8_t sk[DMP_ED25519_SK_BYTES];
	char wire[DMP_RECORD_WIRE_MAX + 1];
	char d[128];
	int rc;

	if (reason < DMP_REVOKE_COMPROMISE || reason > DMP_REVOKE_OTHER) {
		return DMP_EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.subject_type = DMP_SUBJECT_USER;
	rc = subject_of(r.subject, sizeof(r.subject), e->conf.username,
			e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	memcpy(r.revoked_spk, dmp_keys_ed25519_pk(e->keys), 32);
	r.reason = (uint8_t)reason;
	r.ts = (uint64_t)dmp_eng_now(e);
	rc = dmp_eng_signing_key(e, sk);
	if (rc == 0) {
		rc = dmp_revocation_sign(wire, sizeof(wire), &r, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	if (rc < 0) {
		return rc;
	}
	/* Kept first: a failed publish is repeated by `identity publish`. */
	rc = dmp_store_kv_set(e->st, KV_REVOCATION, wire);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_eng_writer_open(e, 0, &w);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_eng_rotation_publish(e, w);
	dmp_eng_writer_close(e, w);
	snprintf(d, sizeof(d), "identity key revoked (%s)%s",
		 dmp_revocation_reason_name(reason),
		 rc < 0 ? ": not published yet" : "");
	dmp_eng_emit(e, DMP_EV_IDENTITY, e->address, NULL, rc, d);
	return rc;
}

int dmp_engine_identity_revoked(struct dmp_engine *e, int *reason,
				int64_t *when)
{
	char wire[DMP_RECORD_WIRE_MAX + 1];
	struct dmp_revocation r;

	if (dmp_store_kv_get(e->st, KV_REVOCATION, wire, sizeof(wire)) < 0 ||
	    !wire[0] ||
	    dmp_revocation_parse(&r, wire, strlen(wire), NULL, NULL, 0,
				 (uint64_t)dmp_eng_now(e) + 300, 0) < 0) {
		return 0;
	}
	*reason = r.reason;
	*when = (int64_t)r.ts;
	return 1;
}

void dmp_eng_rotation_reencode(struct dmp_engine *e)
{
	char v[32];
	int rc;

	if (dmp_store_kv_get(e->st, KV_REENCODE, v, sizeof(v)) < 0 || !v[0]) {
		return;
	}
	rc = dmp_eng_reencode_queue(e, strtoll(v, NULL, 10));
	if (rc >= 0) {
		(void)dmp_store_kv_set(e->st, KV_REENCODE, "");
	}
	if (rc > 0) {
		char d[96];

		snprintf(d, sizeof(d),
			 "%d queued message%s signed again with the new key",
			 rc, rc == 1 ? "" : "s");
		dmp_eng_emit(e, DMP_EV_IDENTITY, e->address, NULL, 0, d);
	}
}

/* ---- a key rotated or revoked under this handle ----------------------- */

int dmp_eng_key_check(struct dmp_engine *e)
{
	struct dmp_store_identity id;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	const char *why = NULL;
	int rc = 0;

	if (dmp_store_identity_get(e->st, &id) == 0 &&
	    memcmp(id.ed25519_pk, dmp_keys_ed25519_pk(e->keys), 32) != 0) {
		/* Mail signed by the old key fails at contacts who followed
		 * the rotation: nothing is signed with it; the queue
		 * waits for a handle holding the new key. */
		rc = DMP_ESTALEKEY;
		why = dmp_strerror(rc);
	} else if (dmp_store_kv_get(e->st, KV_REVOCATION, wire, sizeof(wire)) ==
		       0 &&
		   wire[0]) {
		rc = DMP_EREVOKED;
		why = "the identity key was revoked (dmp identity revoke): "
		      "nothing is signed with it any more; queued messages "
		      "stay unsent (cancel them, or create a new identity "
		      "with dmp init)";
	}
	e->key_why = rc < 0 ? why : NULL;
	if (rc < 0 && !e->key_stale) {
		char held[65], told[65] = "";

		e->key_stale = 1;
		/* Once per key, not once per handle (dmpfs has three). */
		dmp_hex_encode(held, dmp_keys_ed25519_pk(e->keys), 32);
		if (dmp_store_kv_get(e->st, KV_STALE, told, sizeof(told)) < 0 ||
		    strcmp(told, held) != 0) {
			(void)dmp_store_kv_set(e->st, KV_STALE, held);
			dmp_eng_note_error(e, rc, why);
			dmp_eng_emit(e, DMP_EV_IDENTITY, e->address, NULL, rc,
				     why);
		}
	}
	return rc;
}

/* ---- mail to our previous keys ------------------------------------------ */

/* How long after a rotation the previous key's mailbox is still read:
 * longer than any message lifetime a node keeps (PROTOCOL.md 6.2). */
#define OLD_KEY_READ_DAYS 30

int dmp_eng_poll_old_keys(struct dmp_engine *e)
{
	struct dmp_store_old_key old[4];
	int n, delivered = 0;

	n = dmp_store_old_keys(e->st,
			       dmp_eng_now(e) - OLD_KEY_READ_DAYS * 86400, old,
			       DMP_ARRAY_LEN(old));
	for (int i = 0; i < n; i++) {
		struct dmp_keys *cur = e->keys, *k = NULL;
		uint8_t xsk[DMP_X25519_BYTES];
		int rc =
		    dmp_store_old_key_secret(e->st, old[i].ed25519_pk, xsk);

		if (rc == 0) {
			rc = dmp_keys_from_x25519(&k, xsk);
		}
		dmp_wipe(xsk, sizeof(xsk));
		if (rc < 0) {
			DMP_LOG_W("previous key %d: %s", i, dmp_strerror(rc));
			continue;
		}
		/* The slot walk under the old key: its mailbox, its secret. */
		e->keys = k;
		rc = dmp_eng_receive_slots(e);
		e->keys = cur;
		dmp_keys_free(k);
		delivered += rc > 0 ? rc : 0;
	}
	return delivered;
}

/* ---- contacts' rotation chains ------------------------------------------ */

/* Refuse sending to @p c when its key is revoked (event says why). */
int dmp_eng_send_revoked(struct dmp_engine *e,
			 const struct dmp_store_contact *c)
{
	char d[256], fp[DMP_FINGERPRINT_CHARS + 1];

	if (!c->revoked) {
		return 0;
	}
	dmp_fingerprint_hex(fp, c->ed25519_pk);
	snprintf(d, sizeof(d),
		 "not sent: %s's key %s was revoked by its owner (%s); "
		 "re-pin %s once they publish a new identity",
		 c->alias, fp, dmp_revocation_reason_name(c->revoked),
		 c->alias);
	dmp_eng_emit(e, DMP_EV_REJECTED, c->alias, NULL, DMP_EREVOKED, d);
	return DMP_EREVOKED;
}

struct fail_ctx {
	struct dmp_engine *e;
	const struct dmp_store_contact *c;
	const char *why;
};

static int fail_revoked(const struct dmp_outbox_msg *m, void *ud)
{
	struct fail_ctx *f = ud;
	struct dmp_store_contact r;

	if (m->state == DMP_OUTBOX_FAILED || m->state == DMP_OUTBOX_PUBLISHED ||
	    dmp_store_contact_get(f->e->st, m->recipient, &r) < 0 ||
	    memcmp(r.ed25519_pk, f->c->ed25519_pk, 32) != 0) {
		return 0;
	}
	(void)dmp_store_outbox_set_state(f->e->st, m->id, DMP_OUTBOX_FAILED, 0,
					 f->why);
	dmp_eng_emit(f->e, DMP_EV_FAILED, m->recipient, m->msg_id, DMP_EREVOKED,
		     f->why);
	return 0;
}

static void contact_revoked(struct dmp_engine *e, struct dmp_store_contact *c,
			    const struct dmp_rotation_walk *w)
{
	char d[256], fp[DMP_FINGERPRINT_CHARS + 1];
	struct fail_ctx f = {e, c, d};

	if (c->revoked) {
		return;
	}
	c->revoked = w->revoked_reason ? w->revoked_reason : DMP_REVOKE_OTHER;
	if (dmp_store_contact_put(e->st, c) < 0) {
		return;
	}
	dmp_fingerprint_hex(fp, c->ed25519_pk);
	snprintf(d, sizeof(d),
		 "contact-revoked: %s's key %s was revoked by its owner (%s); "
		 "nothing more is sent to it",
		 c->alias, fp, dmp_revocation_reason_name(c->revoked));
	DMP_LOG_W("%s", d);
	dmp_eng_emit(e, DMP_EV_CONTACT, c->alias, NULL, DMP_EREVOKED, d);
	snprintf(d, sizeof(d),
		 "recipient's key %s was revoked by its owner (%s)", fp,
		 dmp_revocation_reason_name(c->revoked));
	(void)dmp_store_outbox_each_pending(e->st, fail_revoked, &f);
}

/* Say once per (key, reason) that @p c's chain was refused. */
static void chain_refused(struct dmp_engine *e,
			  const struct dmp_store_contact *c, const char *why)
{
	char key[96], hex[65], prev[128] = "", d[256];

	dmp_hex_encode(hex, c->ed25519_pk, 32);
	snprintf(key, sizeof(key), "rotation.refused.%.64s", hex);
	if (dmp_store_kv_get(e->st, key, prev, sizeof(prev)) == 0 &&
	    strcmp(prev, why) == 0) {
		return;
	}
	(void)dmp_store_kv_set(e->st, key, why);
	snprintf(d, sizeof(d),
		 "rotation of %s not followed: %s; %s stays pinned to the "
		 "old key (verify the new one out of band and re-pin)",
		 c->alias, why, c->alias);
	DMP_LOG_W("%s", d);
	dmp_eng_emit(e, DMP_EV_REJECTED, c->alias, NULL, DMP_ECHAIN, d);
}

/* The identity record of @p c signed by @p spk (its new key). */
static int fetch_identity(struct dmp_engine *e,
			  const struct dmp_store_contact *c,
			  const uint8_t spk[32],
			  struct dmp_identity_record *out)
{
	char name[DMP_NAME_MAX];
	const char *q[1] = {name};
	struct dmp_resolver_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = dmp_name_identity(name, sizeof(name), c->username,
			       strlen(c->username), c->domain);
	if (rc >= 0) {
		rc = dmp_eng_read(e, q, 1, &res, NULL);
	}
	rc = rc < 0 ? rc : res.err ? res.err : DMP_ENOENT;
	for (size_t j = 0; res.err == 0 && j < res.answer.n; j++) {
		if (dmp_identity_parse_verify(out, res.answer.values[j],
					      res.answer.lens[j], NULL,
					      0) == 0 &&
		    memcmp(out->ed25519_spk, spk, 32) == 0) {
			rc = 0;
			break;
		}
	}
	dmp_resolver_result_clear(&res);
	return rc;
}

static void contact_rotated(struct dmp_engine *e, struct dmp_store_contact *c,
			    const struct dmp_rotation_walk *w)
{
	struct dmp_identity_record rec;
	char d[300], ofp[DMP_FINGERPRINT_CHARS + 1], nfp[sizeof(ofp)];
	int rc = fetch_identity(e, c, w->head, &rec);

	dmp_fingerprint_hex(ofp, c->ed25519_pk);
	dmp_fingerprint_hex(nfp, w->head);
	if (rc < 0) {
		/* The rotation is there, the new identity not yet. */
		DMP_LOG_I("%s rotated to %s; its identity record is not "
			  "readable yet (%s)",
			  c->alias, nfp, dmp_strerror(rc));
		return;
	}
	memcpy(c->prev_ed25519_pk, c->ed25519_pk, 32);
	memcpy(c->ed25519_pk, w->head, 32);
	memcpy(c->x25519_pk, rec.x25519_pk, 32);
	c->versions = 0;
	for (size_t v = 0; v < rec.n_versions; v++) {
		if (rec.versions[v] < 32) {
			c->versions |= 1u << rec.versions[v];
		}
	}
	c->rotated_at = dmp_eng_now(e);
	snprintf(c->pinned_how, sizeof(c->pinned_how), "rotated");
	if (dmp_store_contact_put(e->st, c) < 0) {
		return;
	}
	snprintf(d, sizeof(d),
		 "contact-rotated: %s's key changed from %s to %s (%d "
		 "rotation%s, co-signed by both keys)",
		 c->alias, ofp, nfp, w->hops, w->hops == 1 ? "" : "s");
	DMP_LOG_I("%s", d);
	dmp_eng_emit(e, DMP_EV_CONTACT, c->alias, NULL, 0, d);
	(void)dmp_eng_fetch_prekeys(e, c);
}

int dmp_eng_rotation_check(struct dmp_engine *e)
{
	struct dmp_store_contact *v = NULL;
	struct dmp_eng_batch b = {0};
	size_t nc = 0;
	uint64_t now = (uint64_t)dmp_eng_now(e);
	int rc = dmp_eng_contacts_unblocked(e, &v, &nc);

	if (rc < 0 || nc == 0 || (rc = dmp_eng_batch_init(&b, nc)) < 0) {
		goto out;
	}
	for (b.n = 0; b.n < nc; b.n++) {
		rc = dmp_name_rotation_user(
		    b.names[b.n], sizeof(b.names[0]), v[b.n].username,
		    strlen(v[b.n].username), v[b.n].domain);
		if (rc < 0) {
			goto out;
		}
	}
	rc = dmp_eng_read(e, b.q, b.n, b.res, NULL);
	for (size_t i = 0; rc == 0 && i < b.n; i++) {
		const struct dmp_resolver_result *r = &b.res[i];
		struct dmp_rotation_walk w;
		char subj[DMP_SUBJECT_MAX + 1];
		int sl, wr;

		if (v[i].revoked || r->err != 0 || r->answer.n == 0) {
			continue;
		}
		sl = subject_of(subj, sizeof(subj), v[i].username, v[i].domain);
		if (sl < 0) {
			continue;
		}
		wr = dmp_rotation_walk(&w, v[i].ed25519_pk, DMP_SUBJECT_USER,
				       subj, (size_t)sl,
				       (const char *const *)r->answer.values,
				       r->answer.lens, r->answer.n, now);
		if (wr == DMP_EREVOKED) {
			contact_revoked(e, &v[i], &w);
		} else if (wr == DMP_ECHAIN) {
			chain_refused(e, &v[i], w.why);
		} else if (wr == 0 && w.hops > 0) {
			contact_rotated(e, &v[i], &w);
		}
	}
out:
	dmp_eng_batch_free(&b);
	dmp_free(v);
	return rc < 0 ? rc : 0;
}
