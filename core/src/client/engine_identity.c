/*
 * core/src/client/engine_identity.c - our identity record and prekey
 * pool (PROTOCOL.md 4.6, 8): building and publishing them, topping the
 * pool up, deleting a used prekey; and reading contacts' prekeys into
 * the cache submit() draws from.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/prekey.h"
#include "engine_i.h"

/* ---- identity ----------------------------------------------------------- */

static int identity_value(struct dmp_engine *e, char *out, size_t cap)
{
	struct dmp_identity_record rec;
	uint8_t sk[DMP_ED25519_SK_BYTES];
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.username_len = strlen(e->conf.username);
	memcpy(rec.username, e->conf.username, rec.username_len);
	memcpy(rec.x25519_pk, dmp_keys_x25519_pk(e->keys), 32);
	memcpy(rec.ed25519_spk, dmp_keys_ed25519_pk(e->keys), 32);
	rec.ts = (uint64_t)dmp_eng_now(e);
	rec.versions[0] = 1;
	rec.versions[1] = 2;
	rec.n_versions = 2;
	rc = dmp_eng_signing_key(e, sk);
	if (rc == 0) {
		rc = dmp_identity_sign_encode(out, cap, &rec, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	return rc < 0 ? rc : 0;
}

int dmp_engine_identity(struct dmp_engine *e, struct dmp_identity_info *out)
{
	struct dmp_store_identity id;
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->address, sizeof(out->address), "%s", e->address);
	dmp_keys_fingerprint(e->keys, out->fingerprint);
	memcpy(out->x25519_pk, dmp_keys_x25519_pk(e->keys), 32);
	memcpy(out->ed25519_pk, dmp_keys_ed25519_pk(e->keys), 32);
	rc = identity_value(e, out->record, sizeof(out->record));
	if (rc < 0) {
		return rc;
	}
	rc = dmp_store_prekey_count(e->st, dmp_eng_now(e));
	out->prekeys_left = rc < 0 ? 0 : rc;
	if (dmp_store_identity_get(e->st, &id) == 0) {
		out->published = id.published;
	}
	return 0;
}

int dmp_engine_prekey_import(struct dmp_engine *e, uint32_t id,
			     const uint8_t sk[32], uint64_t exp)
{
	if (id == 0) {
		return DMP_EINVAL;
	}
	return dmp_store_prekey_put(e->st, id, sk, exp, "");
}

/* Make up to @p want new prekeys, store them (sealed) and publish them in
 * one UPDATE over @p c. Returns how many were published. */
static int prekeys_add(struct dmp_engine *e, struct dmp_eng_writer *c, int want)
{
	char owner[DMP_NAME_MAX];
	uint8_t sk[DMP_ED25519_SK_BYTES];
	struct dmp_update_rr *ops = NULL;
	char(*wires)[DMP_PREKEY_WIRE_LEN + 1] = NULL;
	uint32_t *ids = NULL;
	int64_t now = dmp_eng_now(e);
	int n = 0, rc;

	if (want <= 0) {
		return 0;
	}
	rc = dmp_name_prekeys(owner, sizeof(owner), e->conf.username,
			      strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	ops = dmp_calloc((size_t)want, sizeof(*ops));
	wires = dmp_calloc((size_t)want, sizeof(*wires));
	ids = dmp_calloc((size_t)want, sizeof(*ids));
	if (!ops || !wires || !ids) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = dmp_eng_signing_key(e, sk);
	if (rc < 0) {
		goto out;
	}
	for (int i = 0; i < want; i++) {
		struct dmp_prekey pk;
		uint8_t psk[32];
		int tries = 0;

		dmp_random(psk, sizeof(psk));
		dmp_x25519_base(pk.x25519_pk, psk);
		pk.exp = (uint64_t)(now + e->conf.prekey_ttl);
		do {
			dmp_random(&pk.prekey_id, sizeof(pk.prekey_id));
			if (pk.prekey_id == 0) {
				rc = DMP_EEXIST;
				continue;
			}
			rc = dmp_prekey_sign_encode(wires[n], sizeof(wires[n]),
						    &pk, sk);
			if (rc >= 0) {
				rc = dmp_store_prekey_put(
				    e->st, pk.prekey_id, psk, pk.exp, wires[n]);
			}
		} while (rc == DMP_EEXIST && ++tries < 8);
		dmp_wipe(psk, sizeof(psk));
		if (rc < 0) {
			break;
		}
		ids[n] = pk.prekey_id;
		ops[n].op = DMP_UPDATE_ADD;
		ops[n].owner = owner;
		ops[n].ttl = (uint32_t)e->conf.prekey_ttl;
		ops[n].value = wires[n];
		ops[n].value_len = strlen(wires[n]);
		n++;
	}
	dmp_wipe(sk, sizeof(sk));
	if (n > 0) {
		int urc = dmp_eng_writer_send(e, c, ops, (size_t)n);

		if (urc < 0) {
			/* Unpublished secrets would only shrink the pool. */
			for (int i = 0; i < n; i++) {
				(void)dmp_store_prekey_consume(e->st, ids[i],
							       NULL, 0);
			}
			rc = urc;
			n = 0;
		}
	}
out:
	dmp_free(ops);
	dmp_free(wires);
	dmp_free(ids);
	return rc < 0 && n == 0 ? rc : n;
}

static int prekeys_topup(struct dmp_engine *e, struct dmp_eng_writer *c)
{
	int have;

	(void)dmp_store_prekey_reap(e->st, dmp_eng_now(e));
	/* Count only keys with a day's life left as part of the pool. */
	have = dmp_store_prekey_count(e->st, dmp_eng_now(e) + 3600);
	if (have < 0) {
		return have;
	}
	return prekeys_add(e, c, (int)e->conf.pool_size - have);
}

/*
 * Replace the RRset at @p owner by the one @p value (PROTOCOL.md 7.1 and
 * the interoperability notes in docs/protocol.md). The common path is one
 * UPDATE: delete the RRset, add the value. A node that applies the ops
 * one by one (the Python reference) answers SERVFAIL when the delete
 * matched nothing, i.e. for a name that does not exist yet; then: read
 * what is there, add the value alone, and delete, in a second UPDATE, the
 * old values that are not the new one (only when there are any).
 */
static int replace_rrset(struct dmp_engine *e, struct dmp_eng_writer *w,
			 const char *owner, const char *value, uint32_t ttl)
{
	struct dmp_update_rr ops[2];
	struct dmp_resolver_result cur;
	struct dmp_update_rr *dels = NULL;
	size_t nd = 0, vl = strlen(value);
	int rc;

	ops[0] =
	    (struct dmp_update_rr){DMP_UPDATE_DELETE_RRSET, owner, 0, NULL, 0};
	ops[1] = (struct dmp_update_rr){DMP_UPDATE_ADD, owner, ttl, value, vl};
	rc = dmp_eng_writer_send(e, w, ops, 2);
	if (rc != DMP_ESERVFAIL) {
		return rc;
	}
	DMP_LOG_I("%s: replace refused (SERVFAIL); retrying as add-only",
		  owner);
	memset(&cur, 0, sizeof(cur));
	(void)dmp_eng_read(e, &owner, 1, &cur, NULL);
	rc = dmp_eng_writer_send(e, w, &ops[1], 1);
	if (rc == 0 && cur.err == 0 && cur.answer.n > 0) {
		dels = dmp_calloc(cur.answer.n, sizeof(*dels));
		for (size_t i = 0; dels && i < cur.answer.n; i++) {
			if (cur.answer.lens[i] == vl &&
			    memcmp(cur.answer.values[i], value, vl) == 0) {
				continue;
			}
			dels[nd++] = (struct dmp_update_rr){
			    DMP_UPDATE_DELETE_VALUE, owner, 0,
			    cur.answer.values[i], cur.answer.lens[i]};
		}
		/* Best effort: the new value is in place either way. */
		if (nd > 0 && dmp_eng_writer_send(e, w, dels, nd) < 0) {
			DMP_LOG_W("%s: old values not deleted", owner);
		}
		dmp_free(dels);
	}
	dmp_resolver_result_clear(&cur);
	return rc;
}

int dmp_eng_prekeys_replace(struct dmp_engine *e, struct dmp_eng_writer *w)
{
	char owner[DMP_NAME_MAX];
	struct dmp_update_rr op;
	int rc;

	if (!dmp_eng_rotation_unpublished(e)) {
		return prekeys_topup(e, w);
	}
	/* After a rotation: the old pool's signatures are the old key's.
	 * Its secrets stay (mail in flight to them still opens) but the
	 * RRset is replaced by a full pool signed by the new key. */
	rc = dmp_name_prekeys(owner, sizeof(owner), e->conf.username,
			      strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	op = (struct dmp_update_rr){DMP_UPDATE_DELETE_RRSET, owner, 0, NULL, 0};
	rc = dmp_eng_writer_send(e, w, &op, 1);
	if (rc < 0 && rc != DMP_ESERVFAIL) { /* SERVFAIL: nothing there */
		return rc;
	}
	rc = prekeys_add(e, w, (int)e->conf.pool_size);
	if (rc >= 0) {
		(void)dmp_store_kv_set(e->st, "rotation.prekeys", "");
	}
	return rc;
}

int dmp_engine_identity_publish(struct dmp_engine *e)
{
	char owner[DMP_NAME_MAX], value[DMP_IDENTITY_WIRE_MAX + 1];
	struct dmp_eng_writer *w = NULL;
	int rc = dmp_eng_key_check(e);

	/* Another process rotated the key under this handle: publishing
	 * the old identity again would undo the rotation. (A revoked key
	 * still publishes: that repeats the revocation.) */
	if (rc == DMP_ESTALEKEY) {
		return rc;
	}

	rc = dmp_name_identity(owner, sizeof(owner), e->conf.username,
			       strlen(e->conf.username), e->conf.domain);
	if (rc < 0) {
		return rc;
	}
	rc = identity_value(e, value, sizeof(value));
	if (rc < 0) {
		return rc;
	}
	rc = dmp_eng_writer_open(e, 0, &w);
	if (rc < 0) {
		return rc;
	}
	/* A rotation first: contacts follow it to the record below. */
	rc = dmp_eng_rotation_publish(e, w);
	if (rc == 0) {
		/* Replace, not append: one current record per name. */
		rc = replace_rrset(e, w, owner, value, 86400);
	}
	if (rc == 0) {
		(void)dmp_store_identity_set_published(e->st, dmp_eng_now(e));
		rc = dmp_eng_prekeys_replace(e, w);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0 && e->conf.anchored) {
		/* The zone-anchored form (8): the same record at
		 * dmp.<zone>, which only a key over the whole zone may
		 * write; a shared zone's users must leave it alone. */
		rc = dmp_name_identity_anchored(owner, sizeof(owner),
						e->conf.domain);
		if (rc >= 0) {
			rc = replace_rrset(e, w, owner, value, 86400);
		}
		if (rc < 0) {
			DMP_LOG_W("identity at %s: %s", owner,
				  dmp_strerror(rc));
		}
	}
	dmp_eng_writer_close(e, w);
	if (rc == 0) {
		dmp_eng_emit(e, DMP_EV_IDENTITY, e->address, NULL, 0,
			     "identity and prekeys published");
	}
	return rc;
}

int dmp_engine_set_anchored(struct dmp_engine *e, int on)
{
	if (!e->conf.anchored == !on) {
		return 0;
	}
	e->conf.anchored = on != 0;
	return dmp_eng_conf_save(e);
}

int dmp_engine_prekeys_refresh(struct dmp_engine *e)
{
	struct dmp_eng_writer *w = NULL;
	int rc = dmp_eng_key_check(e); /* prekeys signed by a stale key */

	if (rc == 0) {
		rc = dmp_eng_writer_open(e, 0, &w);
	}
	if (rc < 0) {
		return rc;
	}
	rc = prekeys_topup(e, w);
	dmp_eng_writer_close(e, w);
	if (rc > 0) {
		dmp_eng_emit(e, DMP_EV_IDENTITY, e->address, NULL, 0,
			     "prekeys published");
	}
	return rc;
}

/* ---- contacts' prekeys ----------------------------------------------------
 */

/* The store's kv key remembering that @p spk's last prekey read failed. */
static void prekeys_failed_key(char out[96], const uint8_t spk[32])
{
	char hex[65];

	dmp_hex_encode(hex, spk, 32);
	snprintf(out, 96, "prekeys.failed.%s", hex);
}

int dmp_eng_prekeys_failed(struct dmp_engine *e, const uint8_t spk[32])
{
	char key[96], v[32];

	prekeys_failed_key(key, spk);
	return dmp_store_kv_get(e->st, key, v, sizeof(v)) == 0 && v[0];
}

/*
 * Verified, unexpired prekeys at @p res for @p c -> cache. A failed read
 * (SERVFAIL, timeout: not "no such name") keeps the old cache, is
 * reported (DMP_EV_PREKEYS) and remembered, so the next submit() to @p c
 * reads again instead of going without forward secrecy.
 */
/* The digest of @p c's prekey answer @p res (its values in order). */
static void pk_digest(uint8_t d[32], const struct dmp_store_contact *c,
		      const struct dmp_resolver_result *res)
{
	dmp_sha256(d, c->ed25519_pk, 32);
	for (size_t i = 0; i < res->answer.n; i++) {
		uint32_t len = (uint32_t)res->answer.lens[i];

		dmp_sha256_3(d, d, 32, &len, sizeof(len), res->answer.values[i],
			     res->answer.lens[i]);
	}
}

/* The remembered entry of @p spk, else NULL. */
static int pk_seen_find(struct dmp_engine *e, const uint8_t spk[32])
{
	for (int i = 0; i < DMP_ENG_PK_SEEN; i++) {
		if (memcmp(e->pk_seen[i].spk, spk, 32) == 0) {
			return i;
		}
	}
	return -1;
}

/* 1 when the cache already holds exactly answer @p d of @p spk: the same
 * answer verified last time, and as many unexpired keys cached as it
 * gave (none expired since, the contact not removed meanwhile). */
static int pk_seen_same(struct dmp_engine *e, const uint8_t spk[32],
			const uint8_t d[32], int64_t now)
{
	int i = pk_seen_find(e, spk);

	return i >= 0 && memcmp(e->pk_seen[i].digest, d, 32) == 0 &&
	       dmp_store_contact_prekey_count(e->st, spk, now) ==
		   e->pk_seen[i].n;
}

static void pk_seen_put(struct dmp_engine *e, const uint8_t spk[32],
			const uint8_t d[32], int n)
{
	int i = pk_seen_find(e, spk);

	if (i < 0) {
		i = (int)(e->pk_seen_next++ % DMP_ENG_PK_SEEN);
	}
	memcpy(e->pk_seen[i].spk, spk, 32);
	memcpy(e->pk_seen[i].digest, d, 32);
	e->pk_seen[i].n = n;
}

int dmp_eng_cache_prekeys(struct dmp_engine *e,
			  const struct dmp_store_contact *c,
			  const struct dmp_resolver_result *res)
{
	uint8_t dg[32];
	int rc;
	struct dmp_store_contact_prekey pk[64];
	char key[96], d[320];
	size_t n = 0;
	uint64_t now = (uint64_t)dmp_eng_now(e);

	prekeys_failed_key(key, c->ed25519_pk);
	if (res->err != 0 && res->err != DMP_ENXDOMAIN) {
		snprintf(d, sizeof(d),
			 "prekeys of %s not fetched (%s): messages to %s go "
			 "without forward secrecy until a read succeeds",
			 c->alias, dmp_strerror(res->err), c->alias);
		DMP_LOG_I("%s", d);
		(void)dmp_store_kv_set(e->st, key, dmp_strerror(res->err));
		dmp_eng_emit(e, DMP_EV_PREKEYS, c->alias, NULL, res->err, d);
		return res->err;
	}
	if (dmp_eng_prekeys_failed(e, c->ed25519_pk)) {
		(void)dmp_store_kv_set(e->st, key, "");
	}
	pk_digest(dg, c, res);
	if (res->err == 0 && pk_seen_same(e, c->ed25519_pk, dg, (int64_t)now)) {
		return 0;
	}
	for (size_t i = 0;
	     res->err == 0 && i < res->answer.n && n < DMP_ARRAY_LEN(pk); i++) {
		struct dmp_prekey p;

		if (dmp_prekey_parse_verify(&p, res->answer.values[i],
					    res->answer.lens[i], c->ed25519_pk,
					    now) < 0 ||
		    dmp_prekey_is_expired(&p, now)) {
			continue;
		}
		pk[n].prekey_id = p.prekey_id;
		memcpy(pk[n].x25519_pk, p.x25519_pk, 32);
		pk[n].exp = p.exp;
		n++;
	}
	rc = dmp_store_contact_prekeys_replace(e->st, c->ed25519_pk, pk, n);
	if (rc == 0 && res->err == 0) {
		pk_seen_put(e, c->ed25519_pk, dg, (int)n);
	}
	return rc;
}

int dmp_eng_fetch_prekeys(struct dmp_engine *e,
			  const struct dmp_store_contact *c)
{
	char pn[DMP_NAME_MAX];
	const char *q[1] = {pn};
	struct dmp_resolver_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = dmp_eng_prekey_name(pn, sizeof(pn), c);
	if (rc >= 0) {
		rc = dmp_eng_read(e, q, 1, &r, NULL);
	}
	if (rc >= 0) {
		rc = dmp_eng_cache_prekeys(e, c, &r);
	}
	dmp_resolver_result_clear(&r);
	return rc < 0 ? rc : 0;
}

int dmp_eng_prekey_name(char *out, size_t cap,
			const struct dmp_store_contact *c)
{
	/* The bare username in the contact's zone (PROTOCOL.md 10 item 15). */
	return dmp_name_prekeys(out, cap, c->username, strlen(c->username),
				c->domain);
}

void dmp_eng_prekey_delete(struct dmp_engine *e, uint32_t id)
{
	char wire[DMP_PREKEY_WIRE_LEN + 8], owner[DMP_NAME_MAX];
	struct dmp_eng_writer *w = NULL;
	struct dmp_update_rr op;

	if (dmp_store_prekey_consume(e->st, id, wire, sizeof(wire)) < 0 ||
	    !wire[0]) {
		return;
	}
	if (dmp_name_prekeys(owner, sizeof(owner), e->conf.username,
			     strlen(e->conf.username), e->conf.domain) < 0 ||
	    dmp_eng_writer_open(e, 1, &w) < 0) {
		return;
	}
	op = (struct dmp_update_rr){DMP_UPDATE_DELETE_VALUE, owner, 0, wire,
				    strlen(wire)};
	/* Best effort (4.6): the secret is gone either way. */
	if (dmp_eng_writer_send(e, w, &op, 1) < 0) {
		DMP_LOG_I("prekey %u: DNS delete failed (it expires anyway)",
			  id);
	}
	dmp_eng_writer_close(e, w);
}
