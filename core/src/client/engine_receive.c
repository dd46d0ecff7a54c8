/*
 * core/src/client/engine_receive.c - the receive pass, poll() (PROTOCOL.md
 * 6.4): claims (phase 1) and the slots of our zone and our contacts'
 * zones (phase 2) in one batch, each manifest verified, its chunks
 * fetched and the message opened and delivered to the Maildir exactly
 * once (planned name in the store, replay claim, finalize).
 */
#include <stdio.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/envelope.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/manifest.h"
#include "dmp/pipeline.h"
#include "dmp/record.h"
#include "engine_i.h"

#define IDENTITY_REPUBLISH 43200 /* half the identity record's TTL */

static void reject(struct dmp_engine *e, const char *peer,
		   const uint8_t *msg_id, int code, const char *where)
{
	char d[512];

	snprintf(d, sizeof(d), "%s (%s)", dmp_strerror(code), where);
	DMP_LOG_W("rejected: %s", d);
	dmp_eng_emit(e, DMP_EV_REJECTED, peer, msg_id, code, d);
}

/*
 * The DMPv2 label check (PROTOCOL.md 4.5): does the identity published
 * for the claimed address carry the manifest's signing key? Anchored form
 * first (dmp.<host>, username must match), then id-<h16(user)>.<host>.
 * @return 1 if it does
 */
static int label_check(struct dmp_engine *e, const char *addr,
		       const uint8_t spk[32])
{
	char names[2][DMP_NAME_MAX], user[DMP_ADDR_MAX + 1];
	const char *q[2] = {names[0], names[1]};
	const char *at = strchr(addr, '@');
	struct dmp_resolver_result res[2];
	int match = 0;

	if (!at || (size_t)(at - addr) >= sizeof(user)) {
		return 0;
	}
	snprintf(user, sizeof(user), "%.*s", (int)(at - addr), addr);
	if (dmp_name_identity_anchored(names[0], sizeof(names[0]), at + 1) <
		0 ||
	    dmp_name_identity(names[1], sizeof(names[1]), user, strlen(user),
			      at + 1) < 0) {
		return 0;
	}
	memset(res, 0, sizeof(res));
	if (dmp_eng_read(e, q, 2, res, NULL) < 0) {
		return 0;
	}
	for (int i = 0; i < 2 && !match; i++) {
		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n;
		     j++) {
			struct dmp_identity_record rec;

			if (dmp_identity_parse_verify(
				&rec, res[i].answer.values[j],
				res[i].answer.lens[j], user,
				strlen(user)) == 0 &&
			    memcmp(rec.ed25519_spk, spk, 32) == 0) {
				match = 1;
				break;
			}
		}
	}
	dmp_resolver_result_clear(&res[0]);
	dmp_resolver_result_clear(&res[1]);
	return match;
}

/* Write the message to its Maildir under the name planned in the store. */
static int deliver(struct dmp_engine *e, const struct dmp_manifest *m,
		   int folder, const struct dmp_store_contact *c,
		   const struct dmp_envelope *env, char *path, size_t pcap)
{
	char fold[16], file[160], idhex[33], spkhex[65], date[64];
	char hdr[2048], from[512];
	const char *md;
	int rc, n;

	dmp_hex_encode(idhex, m->msg_id, 16);
	dmp_hex_encode(spkhex, m->sender_spk, 32);
	rc = dmp_store_delivery_get(e->st, m->sender_spk, m->msg_id, fold,
				    sizeof(fold), file, sizeof(file));
	if (rc == DMP_ENOENT) {
		/* Plan the name first: a crash after the rename and before
		 * finalize re-delivers to this same name. */
		snprintf(fold, sizeof(fold), "%s", dmp_eng_folders[folder]);
		snprintf(file, sizeof(file), "%lld.%s.%.8s.dmp",
			 (long long)dmp_eng_now(e), idhex, spkhex);
		rc = dmp_store_delivery_put(e->st, m->sender_spk, m->msg_id,
					    fold, file, m->exp + 86400);
	}
	if (rc < 0) {
		return rc;
	}
	md = dmp_engine_maildir(e, fold);
	if (!md) {
		return DMP_EINTERNAL;
	}
	snprintf(path, pcap, "%s/new/%s", md, file);
	if (dmp_eng_maildir_has(md, file)) {
		return 0;
	}
	if (c) {
		snprintf(from, sizeof(from), "%s <%s>", c->alias, c->address);
	} else if (env->has_from) {
		snprintf(from, sizeof(from), "<%s> (%s)", env->from,
			 label_check(e, env->from, m->sender_spk)
			     ? "claimed by the sender; its published identity "
			       "has this key, but it is not a contact"
			     : "claimed by the sender, not verified");
	} else {
		snprintf(from, sizeof(from), "unknown-%.16s@unknown", spkhex);
	}
	dmp_eng_rfc5322_date(date, sizeof(date), (int64_t)m->ts);
	n = snprintf(hdr, sizeof(hdr),
		     "From: %s\nTo: %s\nDate: %s\n"
		     "X-DMP-Sender-Key: %s\nX-DMP-Msg-Id: %s\n"
		     "X-DMP-Verified: %s\nX-DMP-Forward-Secrecy: %s\n",
		     from, e->address, date, spkhex, idhex, c ? "yes" : "no",
		     m->prekey_id ? "yes" : "no");
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		return DMP_EINTERNAL;
	}
	return dmp_eng_maildir_mail(md, file, hdr, idhex, env->body,
				    env->body_len);
}

/* A multi-part part from pinned contact @p c (PROTOCOL.md 7.9): 0 not a
 * part, 1 held, 2 the whole delivered (at @p path), or an error. */
static int take_part(struct dmp_engine *e, const struct dmp_manifest *m,
		     const struct dmp_store_contact *c,
		     const struct dmp_envelope *env, char *path, size_t pcap)
{
	struct dmp_manifest w = *m; /* the whole: the part's, with its id */
	struct dmp_envelope we = *env;
	uint8_t *file = NULL;
	size_t flen = 0;
	int rc = dmp_eng_mp_hold(e, m, env->body, env->body_len, w.msg_id,
				 &file, &flen);

	if (rc != 2) {
		return rc;
	}
	we.body = file;
	we.body_len = flen;
	rc = deliver(e, &w, 0, c, &we, path, pcap);
	dmp_free(file);
	if (rc < 0) {
		return rc;
	}
	dmp_eng_mp_done(e, m->sender_spk, w.msg_id);
	return 2;
}

/* One manifest value found at @p name in @p zone. With @p want (phase 1
 * of 6.4), only a manifest with the msg_id and signer of one of the
 * @p n_want claims is taken; others are left alone. Returns 1 if a
 * message was delivered. */
static int receive_one(struct dmp_engine *e, const char *zone, const char *name,
		       const char *value, size_t vlen,
		       const struct dmp_claim *const *want, size_t n_want)
{
	struct dmp_manifest m;
	struct dmp_store_contact c;
	uint8_t vh[32], psk[32];
	char where[DMP_NAME_MAX + 32], key[DMP_H12_CHARS + 1];
	char(*cn)[DMP_NAME_MAX] = NULL;
	const char **cq = NULL;
	struct dmp_resolver_result *cr = NULL;
	struct dmp_chunk_values *cv = NULL;
	uint8_t *msg = NULL, *pt = NULL;
	size_t msg_len = 0, pt_len = 0, bad = 0;
	int64_t now = dmp_eng_now(e);
	int rc, pinned = 0, have_c, delivered = 0, judged = 1, claimed = 0;
	const char *peer = NULL;
	struct dmp_codec *cd;

	memset(&m, 0, sizeof(m));
	dmp_sha256(vh, value, vlen);
	if (dmp_store_seen_value(e->st, name, vh) == 1) {
		return 0;
	}
	snprintf(where, sizeof(where), "at %s", name);
	rc = dmp_pipeline_accept_manifest(&m, value, vlen,
					  dmp_keys_user_id(e->keys), now);
	if (rc < 0) {
		reject(e, NULL, NULL, rc, where);
		(void)dmp_store_seen_value_put(
		    e->st, name, vh, (uint64_t)now + DMP_ENG_REJECT_KEEP);
		return 0;
	}
	if (want) {
		size_t i = 0;

		/* 6.4 phase 1 step 3: the claim's signer sent it. */
		while (i < n_want &&
		       (memcmp(want[i]->msg_id, m.msg_id, 16) != 0 ||
			memcmp(want[i]->sender_spk, m.sender_spk, 32) != 0)) {
			i++;
		}
		if (i == n_want) {
			dmp_manifest_clear(&m);
			return 0;
		}
	}
	have_c = dmp_store_contact_by_key(e->st, m.sender_spk, &c) == 0;
	if (have_c) {
		peer = c.alias;
		if (c.blocked) {
			reject(e, peer, m.msg_id, DMP_EACCES,
			       "sender is blocked");
			goto judged;
		}
		/* 6.4 step 4: our own zone admits any pinned key; another
		 * zone only the contacts pinned to it. */
		pinned = dmp_name_equal(zone, strlen(zone), e->conf.domain,
					strlen(e->conf.domain)) ||
			 dmp_name_equal(zone, strlen(zone), c.domain,
					strlen(c.domain));
	}
	rc = dmp_store_replay_claim(e->st, m.sender_spk, m.msg_id, m.exp, now);
	if (rc == DMP_EBUSY) {
		judged = 0;
		goto out;
	}
	if (rc < 0) {
		reject(e, peer, m.msg_id, rc, where);
		goto judged;
	}
	claimed = 1;
	/* Step 7: every chunk name in one batch, from the same zone. */
	cn = dmp_calloc(m.total_chunks, sizeof(*cn));
	cq = dmp_calloc(m.total_chunks, sizeof(*cq));
	cr = dmp_calloc(m.total_chunks, sizeof(*cr));
	cv = dmp_calloc(m.total_chunks, sizeof(*cv));
	if (!cn || !cq || !cr || !cv) {
		rc = DMP_ENOMEM;
		judged = 0;
		goto fail;
	}
	dmp_msg_key(key, m.msg_id, m.recipient_id, m.sender_spk);
	for (uint32_t i = 0; i < m.total_chunks; i++) {
		rc = dmp_name_chunk(cn[i], sizeof(cn[i]), i, key, zone);
		if (rc < 0) {
			goto fail;
		}
		cq[i] = cn[i];
	}
	rc = dmp_eng_read(e, cq, m.total_chunks, cr, m.recipient_id);
	if (rc < 0) {
		judged = 0;
		goto fail;
	}
	for (uint32_t i = 0; i < m.total_chunks; i++) {
		if (cr[i].err == 0) {
			cv[i].values = (const char *const *)cr[i].answer.values;
			cv[i].lens = cr[i].answer.lens;
			cv[i].count = cr[i].answer.n;
		}
	}
	rc = dmp_eng_codec(e, &cd);
	if (rc == 0) {
		rc = dmp_pipeline_assemble(cd, &m, cv, &msg, &msg_len, &bad);
	}
	if (rc == DMP_ESHARES) {
		/* Missing chunks may still arrive: try again next pass. */
		judged = 0;
		if (bad > 0) {
			rc = DMP_ECHUNKHASH;
		}
		goto fail;
	}
	if (rc < 0) {
		goto fail;
	}
	if (m.prekey_id != 0) {
		rc = dmp_store_prekey_get(e->st, m.prekey_id, now, psk);
		if (rc < 0) {
			rc = rc == DMP_ESTORE ? rc : DMP_ENOPREKEY;
			goto fail;
		}
	}
	rc = dmp_pipeline_open(&m, msg, msg_len, e->keys,
			       m.prekey_id ? psk : NULL, now, &pt, &pt_len);
	dmp_wipe(psk, sizeof(psk));
	if (rc < 0) {
		goto fail;
	}
	if (dmp_eng_receipt_is_ack(msg, msg_len)) {
		/* A delivery receipt: shown on sent/, never delivered. */
		dmp_eng_receipt_take(e, &m, have_c ? &c : NULL, pt, pt_len);
		(void)dmp_store_replay_finalize(e->st, m.sender_spk, m.msg_id,
						m.exp);
		claimed = 0;
		goto judged;
	}
	if (dmp_eng_cover_is(e, &m, pt, pt_len)) {
		/* Our own cover traffic: fetched like any message, dropped
		 * without a trace (privacy.cover_rate). */
		(void)dmp_store_replay_finalize(e->st, m.sender_spk, m.msg_id,
						m.exp);
		claimed = 0;
		goto judged;
	}
	{
		struct dmp_envelope env;
		char path[DMP_ENG_HOME_MAX + 300];

		dmp_envelope_decode(&env, pt, pt_len);
		if (pinned) {
			rc = take_part(e, &m, &c, &env, path, sizeof(path));
			if (rc == 1 || rc == 2) {
				dmp_eng_mp_drain(e, zone, name, value, vlen);
			}
			if (rc == 1) { /* held: the whole is not complete */
				(void)dmp_store_replay_finalize(
				    e->st, m.sender_spk, m.msg_id, m.exp);
				claimed = 0;
				goto judged;
			}
			if (rc == 2) {
				goto delivered;
			}
			if (rc < 0) {
				judged = 0;
				goto fail;
			}
		}
		rc = deliver(e, &m, pinned ? 0 : 1, pinned ? &c : NULL, &env,
			     path, sizeof(path));
		if (rc < 0) {
			judged = 0;
			goto fail;
		}
	delivered:
		(void)dmp_store_replay_finalize(e->st, m.sender_spk, m.msg_id,
						m.exp);
		claimed = 0;
		if (m.prekey_id != 0) {
			dmp_eng_prekey_delete(e, m.prekey_id);
		}
		dmp_eng_emit(e, pinned ? DMP_EV_RECEIVED : DMP_EV_INTRO,
			     pinned ? c.alias
				    : (env.has_from ? env.from : NULL),
			     m.msg_id, 0, path);
		delivered = 1;
		if (pinned) {
			dmp_eng_receipt_send(e, &m, &c, env.body, env.body_len);
		}
	}
	goto judged;
fail:
	if (claimed) {
		(void)dmp_store_replay_release(e->st, m.sender_spk, m.msg_id);
	}
	reject(e, peer, m.msg_id, rc, where);
	if (!judged) {
		goto out;
	}
judged:
	(void)dmp_store_seen_value_put(
	    e->st, name, vh,
	    m.exp > (uint64_t)now ? m.exp
				  : (uint64_t)now + DMP_ENG_REJECT_KEEP);
out:
	if (cr) {
		for (uint32_t i = 0; i < m.total_chunks; i++) {
			dmp_resolver_result_clear(&cr[i]);
		}
	}
	dmp_free(cn);
	dmp_free(cq);
	dmp_free(cr);
	dmp_free(cv);
	dmp_free(msg);
	if (pt) {
		dmp_wipe(pt, pt_len);
	}
	dmp_free(pt);
	dmp_manifest_clear(&m);
	return delivered;
}

struct zones {
	char z[DMP_CFG_LIST_MAX * 8][254];
	size_t n;
	struct dmp_store_contact *pk_c; /* contacts whose prekeys we read */
	size_t n_c, cap_c;
};

static int add_zone(const struct dmp_store_contact *c, void *ud)
{
	struct zones *z = ud;
	int dup = 0;

	if (c->blocked) {
		return 0;
	}
	for (size_t i = 0; i < z->n; i++) {
		dup |= dmp_name_equal(z->z[i], strlen(z->z[i]), c->domain,
				      strlen(c->domain));
	}
	if (!dup && z->n < DMP_ARRAY_LEN(z->z)) {
		snprintf(z->z[z->n++], sizeof(z->z[0]), "%s", c->domain);
	}
	if (dmp_grow(&z->pk_c, &z->cap_c, z->n_c, sizeof(*z->pk_c), 8) < 0) {
		return 1;
	}
	z->pk_c[z->n_c++] = *c;
	return 0;
}

/* Bounds on what strangers' claims can make one poll do. */
#define CLAIMS_PER_POLL 64
#define CLAIM_DOMAINS_PER_POLL 8

struct pending_claim {
	struct dmp_claim c;
	const char *name; /* where the claim was found */
	uint8_t vh[32];	  /* hash of its value, for the seen cache */
};

/*
 * PROTOCOL.md 6.4 phase 1. @p res holds the answers for the claim names
 * @p names. Each verified claim names a message we have not received yet;
 * its manifest is looked for in all ten of our slots under the claim's
 * sender_mailbox_domain (the claim's slot is only a hint), and taken
 * through the same checks as phase 2 there: the pin gate sends a sender
 * not pinned for that zone to intro, never to the inbox. A claim is
 * remembered as done once its message is in (or its sender blocked);
 * until then it is tried again each poll, as the manifest may still be
 * on its way.
 * @return messages delivered
 */
static int claims_phase(struct dmp_engine *e, char (*names)[DMP_NAME_MAX],
			struct dmp_resolver_result *res, size_t n, int64_t now)
{
	struct pending_claim *pc = NULL;
	const char *doms[CLAIM_DOMAINS_PER_POLL];
	char(*sn)[DMP_NAME_MAX] = NULL;
	const char **sq = NULL;
	struct dmp_resolver_result *sr = NULL;
	size_t npc = 0, nd = 0;
	int delivered = 0;

	pc = dmp_calloc(CLAIMS_PER_POLL, sizeof(*pc));
	if (!pc) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n &&
				   npc < CLAIMS_PER_POLL;
		     j++) {
			struct pending_claim *p = &pc[npc];
			struct dmp_store_contact c;
			const char *v = res[i].answer.values[j];
			size_t vl = res[i].answer.lens[j], d;
			int rc;

			dmp_sha256(p->vh, v, vl);
			if (dmp_store_seen_value(e->st, names[i], p->vh) == 1) {
				continue;
			}
			rc =
			    dmp_claim_parse_verify(&p->c, v, vl, (uint64_t)now);
			if (rc < 0) {
				char where[DMP_NAME_MAX + 32];

				snprintf(where, sizeof(where), "claim at %s",
					 names[i]);
				reject(e, NULL, NULL, rc, where);
				(void)dmp_store_seen_value_put(
				    e->st, names[i], p->vh,
				    (uint64_t)now + DMP_ENG_REJECT_KEEP);
				continue;
			}
			/* Step 1: received already, or a blocked sender. */
			if (dmp_store_replay_seen(e->st, p->c.sender_spk,
						  p->c.msg_id) == 1 ||
			    (dmp_store_contact_by_key(e->st, p->c.sender_spk,
						      &c) == 0 &&
			     c.blocked)) {
				(void)dmp_store_seen_value_put(e->st, names[i],
							       p->vh, p->c.exp);
				continue;
			}
			for (d = 0; d < nd; d++) {
				if (dmp_name_equal(doms[d], strlen(doms[d]),
						   p->c.sender_mailbox_domain,
						   p->c.domain_len)) {
					break;
				}
			}
			if (d == nd) {
				if (nd == CLAIM_DOMAINS_PER_POLL) {
					continue; /* next poll */
				}
				doms[nd++] = p->c.sender_mailbox_domain;
			}
			p->name = names[i];
			npc++;
		}
	}
	if (npc == 0) {
		goto out;
	}
	sn = dmp_calloc(nd * DMP_SLOT_COUNT, sizeof(*sn));
	sq = dmp_calloc(nd * DMP_SLOT_COUNT, sizeof(*sq));
	sr = dmp_calloc(nd * DMP_SLOT_COUNT, sizeof(*sr));
	if (!sn || !sq || !sr) {
		goto out;
	}
	/* Step 2: all ten slots of every named domain, in one batch. */
	for (size_t d = 0; d < nd; d++) {
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			size_t k = d * DMP_SLOT_COUNT + s;

			if (dmp_name_slot(sn[k], sizeof(sn[k]), s,
					  dmp_keys_user_id(e->keys),
					  doms[d]) < 0) {
				goto out;
			}
			sq[k] = sn[k];
		}
	}
	if (dmp_eng_read(e, sq, nd * DMP_SLOT_COUNT, sr,
			 dmp_keys_user_id(e->keys)) < 0) {
		goto out;
	}
	for (size_t d = 0; d < nd; d++) {
		const struct dmp_claim *want[CLAIMS_PER_POLL];
		size_t nw = 0;

		for (size_t i = 0; i < npc; i++) {
			if (dmp_name_equal(doms[d], strlen(doms[d]),
					   pc[i].c.sender_mailbox_domain,
					   pc[i].c.domain_len)) {
				want[nw++] = &pc[i].c;
			}
		}
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			struct dmp_resolver_result *r =
			    &sr[d * DMP_SLOT_COUNT + s];

			for (size_t j = 0; r->err == 0 && j < r->answer.n;
			     j++) {
				delivered += receive_one(
				    e, doms[d], sn[d * DMP_SLOT_COUNT + s],
				    r->answer.values[j], r->answer.lens[j],
				    want, nw);
			}
		}
	}
	for (size_t i = 0; i < npc; i++) {
		if (dmp_store_replay_seen(e->st, pc[i].c.sender_spk,
					  pc[i].c.msg_id) == 1) {
			(void)dmp_store_seen_value_put(e->st, pc[i].name,
						       pc[i].vh, pc[i].c.exp);
		}
	}
out:
	for (size_t i = 0; sr && i < nd * DMP_SLOT_COUNT; i++) {
		dmp_resolver_result_clear(&sr[i]);
	}
	dmp_free(sn);
	dmp_free(sq);
	dmp_free(sr);
	dmp_free(pc);
	return delivered;
}

/* Keep what others need to reach us fresh: re-publish the identity twice
 * per TTL and top the prekey pool up once half of it is used or stale.
 * Only after the user published once (`dmp identity publish`). */
static void maintain(struct dmp_engine *e, int64_t now)
{
	struct dmp_store_identity id;
	int have, rc = 0;

	(void)dmp_eng_mp_sweep(e, now, &have); /* expired partial wholes */
	if (dmp_store_identity_get(e->st, &id) < 0 || id.published == 0) {
		return;
	}
	if (now - id.published > IDENTITY_REPUBLISH ||
	    dmp_eng_rotation_unpublished(e)) {
		rc = dmp_engine_identity_publish(e);
	} else {
		have = dmp_store_prekey_count(e->st, now + 3600);
		if (have >= 0 && have < e->conf.pool_size / 2) {
			rc = dmp_engine_prekeys_refresh(e);
		}
	}
	if (rc < 0) {
		DMP_LOG_W("identity/prekey upkeep: %s", dmp_strerror(rc));
	}
}

/* The ten slot names of our mailbox (under e->keys) in every zone of @p z,
 * appended at names[*n] and q[*n]. */
static int slot_names(const struct dmp_engine *e, const struct zones *z,
		      char (*names)[DMP_NAME_MAX], const char **q, size_t *n)
{
	for (size_t i = 0; i < z->n; i++) {
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			int rc =
			    dmp_name_slot(names[*n], sizeof(names[*n]), s,
					  dmp_keys_user_id(e->keys), z->z[i]);

			if (rc < 0) {
				return rc;
			}
			q[*n] = names[*n];
			(*n)++;
		}
	}
	return 0;
}

int dmp_eng_receive_slots(struct dmp_engine *e)
{
	struct zones *z = dmp_calloc(1, sizeof(*z));
	struct dmp_eng_batch b = {0};
	int rc, delivered = 0;

	if (!z) {
		return DMP_ENOMEM;
	}
	snprintf(z->z[z->n++], sizeof(z->z[0]), "%s", e->conf.domain);
	rc = dmp_store_contact_each(e->st, add_zone, z);
	if (rc >= 0) {
		rc = dmp_eng_batch_init(&b, z->n * DMP_SLOT_COUNT);
	}
	if (rc >= 0) {
		rc = slot_names(e, z, b.names, b.q, &b.n);
	}
	if (rc >= 0) {
		rc =
		    dmp_eng_read(e, b.q, b.n, b.res, dmp_keys_user_id(e->keys));
	}
	for (size_t i = 0; rc == 0 && i < b.n; i++) {
		const struct dmp_resolver_result *r = &b.res[i];

		for (size_t j = 0; r->err == 0 && j < r->answer.n; j++) {
			delivered += receive_one(
			    e, z->z[i / DMP_SLOT_COUNT], b.names[i],
			    r->answer.values[j], r->answer.lens[j], NULL, 0);
		}
	}
	dmp_eng_batch_free(&b);
	dmp_free(z->pk_c);
	dmp_free(z);
	return rc < 0 ? rc : delivered;
}

int dmp_engine_poll(struct dmp_engine *e)
{
	struct zones *z;
	char(*names)[DMP_NAME_MAX] = NULL;
	const char **q = NULL;
	struct dmp_resolver_result *res = NULL;
	size_t n = 0, ns, nc0, nq, answered = 0, failed = 0;
	size_t ncov = (size_t)e->conf.cover_polls * DMP_SLOT_COUNT;
	int unreadable = 0;
	char udetail[512] = "";
	struct dmp_eng_claim_zones cz = {.n = 0};
	int64_t now = dmp_eng_now(e);
	int rc, delivered = 0;

	z = dmp_calloc(1, sizeof(*z));
	if (!z) {
		return DMP_ENOMEM;
	}
	/* Contacts' rotations first: mail signed by a new key verifies. */
	(void)dmp_eng_rotation_check(e);
	snprintf(z->z[z->n++], sizeof(z->z[0]), "%s", e->conf.domain);
	rc = dmp_store_contact_each(e->st, add_zone, z);
	if (rc < 0) {
		goto out;
	}
	ns = z->n * DMP_SLOT_COUNT;
	/* Claims (6.4 phase 1): our own zone and each provider zone. */
	nc0 = ns + z->n_c;
	dmp_eng_claim_zones_add(&cz, e->conf.domain);
	dmp_eng_claim_providers(e, &cz);
	names = dmp_calloc(nc0 + cz.n * DMP_SLOT_COUNT + ncov, sizeof(*names));
	q = dmp_calloc(nc0 + cz.n * DMP_SLOT_COUNT + ncov, sizeof(*q));
	res = dmp_calloc(nc0 + cz.n * DMP_SLOT_COUNT + ncov, sizeof(*res));
	if (!names || !q || !res) {
		rc = DMP_ENOMEM;
		goto out;
	}
	/* Phase 2 (6.4): every slot of every zone, plus the contacts' prekey
	 * pools, in one batch. */
	rc = slot_names(e, z, names, q, &n);
	if (rc < 0) {
		goto out;
	}
	for (size_t i = 0; i < z->n_c; i++) {
		rc = dmp_eng_prekey_name(names[n], sizeof(names[n]),
					 &z->pk_c[i]);
		if (rc < 0) {
			goto out;
		}
		q[n] = names[n];
		n++;
	}
	for (size_t i = 0; i < cz.n; i++) {
		for (uint32_t s = 0; s < DMP_SLOT_COUNT; s++) {
			/* A provider zone that makes no valid name is skipped,
			 * not a reason to skip the poll. */
			if (dmp_name_claim(names[n], sizeof(names[n]), s,
					   dmp_keys_user_id(e->keys),
					   cz.z[i]) < 0) {
				DMP_LOG_W("claims: bad zone %s", cz.z[i]);
				break;
			}
			q[n] = names[n];
			n++;
		}
	}
	/* privacy.cover_polls: decoy mailboxes read in the same batch, their
	 * answers ignored. */
	nq = n;
	n += dmp_eng_cover_poll_names(e, names + n, ncov);
	for (size_t i = nq; i < n; i++) {
		q[i] = names[i];
	}
	rc = dmp_eng_read(e, q, n, res, dmp_keys_user_id(e->keys));
	if (rc < 0) {
		goto out;
	}
	for (size_t i = 0; i < nq; i++) {
		if (res[i].err == 0 || res[i].err == DMP_ENXDOMAIN) {
			answered++;
		} else {
			failed++;
		}
	}
	/* A slot (manifests or claims) that could not be read is not
	 * "empty": mail may be there (truncated answers, SERVFAIL). */
	for (size_t i = 0; answered > 0 && i < nq; i++) {
		if ((i < ns || i >= nc0) && res[i].err != 0 &&
		    res[i].err != DMP_ENXDOMAIN && unreadable++ == 0) {
			char where[300];

			dmp_eng_read_where(e, names[i], where, sizeof(where));
			snprintf(udetail, sizeof(udetail), "%s at %s: %s",
				 names[i], where, dmp_strerror(res[i].err));
		}
	}
	for (size_t i = 0; i < ns; i++) {
		const char *zone = z->z[i / DMP_SLOT_COUNT];

		for (size_t j = 0; res[i].err == 0 && j < res[i].answer.n;
		     j++) {
			delivered += receive_one(
			    e, zone, names[i], res[i].answer.values[j],
			    res[i].answer.lens[j], NULL, 0);
		}
	}
	for (size_t i = 0; i < z->n_c; i++) {
		(void)dmp_eng_cache_prekeys(e, &z->pk_c[i], &res[ns + i]);
	}
	delivered += claims_phase(e, names + nc0, res + nc0, nq - nc0, now);
	if (answered > 0) { /* mail still sent to our previous keys */
		delivered += dmp_eng_poll_old_keys(e);
	}
	(void)dmp_store_prekey_reap(e->st, now);
	(void)dmp_store_replay_reap(e->st, now);
	(void)dmp_store_cache_reap(e->st, now);
	e->last_poll = now;
	dmp_eng_note_poll(e, answered > 0, unreadable, udetail);
	if (answered > 0) {
		maintain(e, now);
		(void)dmp_eng_flush_after_read(e);
	}
	dmp_eng_set_state(e, failed == 0     ? DMP_ENGINE_ONLINE
			     : answered == 0 ? DMP_ENGINE_OFFLINE
					     : DMP_ENGINE_DEGRADED);
	rc = answered == 0 ? DMP_EUNREACHABLE : delivered;
	if (answered == 0) {
		char d[300], where[256];

		dmp_eng_read_where(e, names[0], where, sizeof(where));
		snprintf(d, sizeof(d), "%s: no answer from %s",
			 dmp_strerror(DMP_EUNREACHABLE), where);
		dmp_eng_note_error(e, DMP_EUNREACHABLE, d);
	}
out:
	for (size_t i = 0; res && i < n; i++) {
		dmp_resolver_result_clear(&res[i]);
	}
	dmp_free(names);
	dmp_free(q);
	dmp_free(res);
	dmp_free(z->pk_c);
	dmp_free(z);
	return rc;
}
