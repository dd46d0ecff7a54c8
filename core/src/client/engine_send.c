/*
 * core/src/client/engine_send.c - sending: submit() prepares a message
 * and queues its records durably without touching the network; publish()
 * writes queued records (chunks, then the manifest) and then the
 * first-contact claims (PROTOCOL.md 6.3), retrying with backoff.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/envelope.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/log.h"
#include "dmp/pipeline.h"
#include "dmp/record.h"
#include "engine_i.h"

/* A prekey must outlive the message's flight by this much to be chosen. */
#define PREKEY_MARGIN 600

struct key_blocked {
	const uint8_t *ed25519_pk;
	int blocked;
};

static int find_blocked_alias(const struct dmp_store_contact *c, void *ud)
{
	struct key_blocked *k = ud;

	if (c->blocked && memcmp(c->ed25519_pk, k->ed25519_pk, 32) == 0) {
		k->blocked = 1;
		return 1;
	}
	return 0;
}

/* Blocking is per key: any alias of a blocked key is blocked. */
static int contact_for_send(struct dmp_engine *e, const char *contact,
			    struct dmp_store_contact *c)
{
	struct key_blocked k = {NULL, 0};
	int rc = dmp_store_contact_get(e->st, contact, c);

	if (rc < 0) {
		return rc;
	}
	rc = dmp_eng_send_revoked(e, c);
	if (rc < 0) {
		return rc;
	}
	k.ed25519_pk = c->ed25519_pk;
	k.blocked = c->blocked;
	if (!k.blocked) {
		rc = dmp_store_contact_each(e->st, find_blocked_alias, &k);
		if (rc < 0) {
			return rc;
		}
	}
	return k.blocked ? DMP_EACCES : 0;
}

int dmp_engine_send_check(struct dmp_engine *e, const char *contact)
{
	struct dmp_store_contact c;

	return contact_for_send(e, contact, &c);
}

void dmp_engine_note(struct dmp_engine *e, enum dmp_event_kind kind,
		     const char *peer, int code, const char *detail)
{
	if (e && (kind == DMP_EV_REJECTED || kind == DMP_EV_CANCELLED ||
		  kind == DMP_EV_CONFIG)) {
		dmp_eng_emit(e, kind, peer, NULL, code, detail);
	}
}

int dmp_engine_submit_delayed(struct dmp_engine *e, const char *contact,
			      const uint8_t *body, size_t len,
			      uint32_t lifetime, uint32_t delay,
			      int64_t *queue_id)
{
	int64_t qid = 0;
	int rc = dmp_engine_submit(e, contact, body, len, lifetime, &qid);

	if (queue_id) {
		*queue_id = qid;
	}
	if (rc == 0 && delay > 0) {
		/* DMP_EBUSY: the publisher took it already (it goes out
		 * now, as without a window); the message is queued. */
		int hr = dmp_store_outbox_hold(e->st, qid,
					       dmp_eng_now(e) + (int64_t)delay);

		if (hr < 0 && hr != DMP_EBUSY) {
			DMP_LOG_W("queue %lld: no undo-send window: %s",
				  (long long)qid, dmp_strerror(hr));
		}
	}
	return rc;
}

int dmp_engine_withdraw(struct dmp_engine *e, int64_t queue_id, const char *why)
{
	struct dmp_outbox_msg m;
	char d[320];
	int rc = dmp_store_outbox_get(e->st, queue_id, &m);

	if (rc == DMP_ENOENT) {
		return DMP_EBUSY; /* published and gone, or cancelled */
	}
	if (rc < 0) {
		return rc;
	}
	rc = dmp_store_outbox_withdraw(e->st, queue_id);
	if (rc == 0) {
		snprintf(d, sizeof(d),
			 "taken back within the undo-send window%s%s",
			 why && *why ? ": " : "", why ? why : "");
		dmp_eng_emit(e, DMP_EV_CANCELLED, m.recipient, m.msg_id, 0, d);
	}
	return rc;
}

int dmp_eng_pending_collect(const struct dmp_outbox_msg *m, void *ud)
{
	struct dmp_eng_pending *p = ud;

	if (dmp_grow(&p->v, &p->cap, p->n, sizeof(*p->v), 16) < 0) {
		return 1;
	}
	p->v[p->n++] = *m;
	return 0;
}

/* A message's records under e->keys (signed, encrypted to @p c's key or
 * one of its cached prekeys, which is dropped): *r and *recs (pointing
 * into *r, dmp_free) filled. *pk_err: why the prekeys could not be read. */
static int encode(struct dmp_engine *e, const struct dmp_store_contact *c,
		  const uint8_t *body, size_t len, uint32_t ttl,
		  const uint8_t *msg_id, struct dmp_send_result *r,
		  struct dmp_outbox_record **recs, int *have_pk, int *pk_err)
{
	struct dmp_store_contact_prekey pk;
	struct dmp_send_params p;
	struct dmp_codec *cd;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int64_t now = dmp_eng_now(e);
	int rc;

	*recs = NULL;
	*pk_err = 0;
	rc = dmp_eng_codec(e, &cd);
	if (rc < 0) {
		return rc;
	}
	/* v2 only when the pinned record advertises it (PROTOCOL.md 4.5). */
	if (c->versions & (1u << 2)) {
		rc = dmp_envelope_encode(body, len, e->address, &pt, &pt_len);
		if (rc < 0) {
			return rc;
		}
		if (pt_len > dmp_pipeline_max_plaintext(now, ttl)) {
			dmp_free(pt);
			pt = NULL;
		}
	}
	*have_pk = dmp_store_contact_prekey_pick(e->st, c->ed25519_pk,
						 now + PREKEY_MARGIN, &pk) == 0;
	if (!*have_pk && dmp_eng_prekeys_failed(e, c->ed25519_pk)) {
		/* The last read of the pool failed (not "none published"):
		 * read again now rather than go without forward secrecy. */
		*pk_err = dmp_eng_fetch_prekeys(e, c);
		*have_pk = dmp_store_contact_prekey_pick(e->st, c->ed25519_pk,
							 now + PREKEY_MARGIN,
							 &pk) == 0;
	}
	memset(&p, 0, sizeof(p));
	p.sender = e->keys;
	p.recipient_x25519_pk = c->x25519_pk;
	p.prekey_id = *have_pk ? pk.prekey_id : 0;
	p.prekey_pk = *have_pk ? pk.x25519_pk : NULL;
	p.msg_id = msg_id;
	p.ts = now;
	p.ttl = ttl;
	p.zone = e->conf.domain;
	p.plaintext = pt ? pt : body;
	p.len = pt ? pt_len : len;
	p.pad_k = dmp_eng_pad_k(e, now, ttl, p.len); /* privacy.pad_buckets */
	rc = dmp_pipeline_send(cd, &p, r);
	dmp_free(pt);
	if (rc < 0) {
		return rc;
	}
	*recs = dmp_calloc(r->n_records, sizeof(**recs));
	if (!*recs) {
		dmp_send_result_clear(r);
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i < r->n_records; i++) {
		(*recs)[i].name = r->records[i].name;
		(*recs)[i].value = r->records[i].value;
		(*recs)[i].ttl = r->records[i].ttl;
	}
	if (*have_pk) {
		/* One-time: never use the same prekey twice. Dropped before
		 * the queue insert, so the insert's durable commit covers it
		 * (a crash in between costs one cached prekey, no more). */
		(void)dmp_store_contact_prekey_drop(e->st, c->ed25519_pk,
						    pk.prekey_id);
	}
	return 0;
}

int dmp_eng_submit_body(struct dmp_engine *e, const char *contact,
			const uint8_t *body, size_t len, uint32_t lifetime,
			const uint8_t *msg_id, int64_t *queue_id)
{
	struct dmp_store_contact c;
	struct dmp_send_result r;
	struct dmp_outbox_record *recs = NULL;
	int64_t now = dmp_eng_now(e), qid = 0;
	uint32_t ttl = lifetime ? lifetime : (uint32_t)e->conf.lifetime;
	int rc, have_pk = 0, pk_err = 0;

	memset(&r, 0, sizeof(r));
	if (queue_id) {
		*queue_id = 0;
	}
	if (len > DMP_ENGINE_MAX_BODY) {
		return DMP_EFBIG;
	}
	if (len == 0) {
		/* One rule for `dmp send` and dmpfs: an empty message (touch,
		 * a redirection whose command failed) is never sent. */
		return DMP_EINVAL;
	}
	/* Nothing is signed with a key rotated away under this handle:
	 * the records are signed here, at submit (engine_rotation.c). */
	rc = dmp_eng_key_check(e);
	if (rc < 0) {
		return rc;
	}
	rc = contact_for_send(e, contact, &c);
	if (rc < 0) {
		return rc;
	}
	if (ttl > (uint32_t)e->conf.max_lifetime) {
		char d[128];

		snprintf(d, sizeof(d),
			 "lifetime %u s clamped to %lld s (the node's maximum)",
			 ttl, e->conf.max_lifetime);
		ttl = (uint32_t)e->conf.max_lifetime;
		dmp_eng_emit(e, DMP_EV_CLAMPED, c.alias, NULL, 0, d);
	}
	rc =
	    encode(e, &c, body, len, ttl, msg_id, &r, &recs, &have_pk, &pk_err);
	if (rc < 0) {
		return rc;
	}
	dmp_eng_cover_note(e, r.k);
	rc = dmp_store_outbox_add(e->st, r.msg_id, c.alias, len, body, recs,
				  (int)r.n_records, r.exp, now, &qid);
	if (rc == 0) {
		char d[96];

		snprintf(d, sizeof(d), "%zu records, lifetime %u s%s",
			 r.n_records, ttl, have_pk ? ", forward secret" : "");
		dmp_eng_emit(e, DMP_EV_QUEUED, c.alias, r.msg_id, 0, d);
		if (!have_pk && pk_err < 0) {
			char w[320];

			snprintf(w, sizeof(w),
				 "message to %s goes without forward secrecy: "
				 "their prekeys could not be fetched (%s)",
				 c.alias, dmp_strerror(pk_err));
			dmp_eng_emit(e, DMP_EV_PREKEYS, c.alias, r.msg_id,
				     pk_err, w);
		}
		if (queue_id) {
			*queue_id = qid;
		}
	}
	dmp_free(recs);
	dmp_send_result_clear(&r);
	return rc;
}

/* After our key was rotated: queued message @p m, signed by the previous
 * key, encoded again under e->keys (same id, same expiry). */
static int reencode_one(struct dmp_engine *e, const struct dmp_outbox_msg *m)
{
	struct dmp_store_contact c;
	struct dmp_send_result r;
	struct dmp_outbox_record *recs = NULL;
	uint8_t *body = NULL;
	size_t len = 0;
	int64_t now = dmp_eng_now(e);
	int rc, have_pk = 0, pk_err = 0;

	memset(&r, 0, sizeof(r));
	if (m->expires <= (uint64_t)now) {
		return 0; /* expires unsent either way */
	}
	rc = dmp_store_contact_get(e->st, m->recipient, &c);
	if (rc == 0) {
		rc = dmp_store_outbox_body(e->st, m->id, &body, &len);
	}
	if (rc == 0) {
		rc = encode(e, &c, body, len, (uint32_t)(m->expires - now),
			    m->msg_id, &r, &recs, &have_pk, &pk_err);
	}
	if (rc == 0) {
		rc = dmp_store_outbox_reencoded(e->st, m->id, recs,
						(int)r.n_records, r.exp);
	}
	dmp_free(recs);
	dmp_send_result_clear(&r);
	dmp_free(body);
	return rc;
}

int dmp_eng_reencode_queue(struct dmp_engine *e, int64_t before)
{
	struct dmp_eng_pending p = {0};
	int rc, n = 0, bad = 0;

	rc = dmp_store_outbox_each_pending(e->st, dmp_eng_pending_collect, &p);
	for (size_t i = 0; rc >= 0 && i < p.n; i++) {
		const struct dmp_outbox_msg *m = &p.v[i];
		int r1;

		if (m->state == DMP_OUTBOX_FAILED || m->created > before) {
			continue;
		}
		r1 = reencode_one(e, m);
		if (r1 == 0) {
			n++;
		} else if (r1 != DMP_EBUSY && r1 != DMP_ENOENT) {
			/* Its records stay the old key's: it fails at the
			 * contact, who follows the rotation. */
			DMP_LOG_W("queue %lld: not signed again after the "
				  "rotation: %s",
				  (long long)m->id, dmp_strerror(r1));
			bad = r1;
		}
	}
	dmp_free(p.v);
	if (rc < 0 || bad < 0) {
		return rc < 0 ? rc : bad;
	}
	return n;
}

/* With messages.receipts, the body asks for a delivery receipt
 * (engine_receipt.c). */
int dmp_engine_submit(struct dmp_engine *e, const char *contact,
		      const uint8_t *body, size_t len, uint32_t lifetime,
		      int64_t *queue_id)
{
	uint8_t *asked = NULL;
	size_t alen = 0;
	int rc = len > DMP_ENGINE_MAX_BODY
		     ? 0
		     : dmp_eng_receipt_request(e, body, len, &asked, &alen);

	if (rc < 0) {
		return rc;
	}
	if (len > DMP_ENGINE_MAX_BODY) { /* PROTOCOL.md 7.9 */
		return dmp_eng_mp_submit(e, contact, body, len, lifetime,
					 queue_id);
	}
	/* One durable commit per message: the queue insert (store.h). */
	dmp_store_relax(e->st, 1);
	rc = dmp_eng_submit_body(e, contact, asked ? asked : body,
				 asked ? alen : len, lifetime, NULL, queue_id);
	dmp_store_relax(e->st, 0);
	dmp_free(asked);
	return rc;
}

/* Zones that carry claims, without duplicates (compared ignoring case). */
void dmp_eng_claim_zones_add(struct dmp_eng_claim_zones *cz, const char *zone)
{
	for (size_t i = 0; i < cz->n; i++) {
		if (dmp_name_equal(cz->z[i], strlen(cz->z[i]), zone,
				   strlen(zone))) {
			return;
		}
	}
	if (cz->n < DMP_ARRAY_LEN(cz->z) && strlen(zone) < sizeof(cz->z[0])) {
		snprintf(cz->z[cz->n++], sizeof(cz->z[0]), "%s", zone);
	}
}

/* First-contact providers: claims.providers, then (claims.discover) the
 * ones chosen from discovered nodes' heartbeats (PROTOCOL.md 8). */
void dmp_eng_claim_providers(struct dmp_engine *e,
			     struct dmp_eng_claim_zones *cz)
{
	char found[DMP_PEERS_PROVIDERS][DMP_PEERS_ZONE_MAX + 1];
	int n;

	for (unsigned i = 0; i < e->conf.claim_providers.n; i++) {
		dmp_eng_claim_zones_add(cz, e->conf.claim_providers.v[i]);
	}
	if (!e->conf.claim_discover) {
		return;
	}
	n = dmp_peers_providers(e->st, dmp_eng_now(e), found);
	for (int i = 0; i < n; i++) {
		dmp_eng_claim_zones_add(cz, found[i]);
	}
}

int dmp_eng_claim_sign(struct dmp_engine *e, const struct dmp_outbox_msg *m,
		       uint32_t slot, const char *domain, char *value,
		       size_t cap, uint32_t *ttl)
{
	struct dmp_claim c;
	uint8_t sk[DMP_ED25519_SK_BYTES];
	size_t dl = strlen(domain);
	int64_t now = dmp_eng_now(e);
	int rc;

	if (dl > DMP_CLAIM_DOMAIN_MAX) {
		return DMP_EINVAL;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.msg_id, m->msg_id, sizeof(c.msg_id));
	memcpy(c.sender_spk, dmp_keys_ed25519_pk(e->keys), 32);
	memcpy(c.sender_mailbox_domain, domain, dl + 1);
	c.domain_len = dl;
	c.slot = (uint8_t)slot;
	c.ts = (uint64_t)now;
	/* Nodes take claims living at most a day (7.3). */
	c.exp = m->expires < (uint64_t)now + 86400 ? m->expires
						   : (uint64_t)now + 86400;
	if (c.exp <= c.ts) {
		return DMP_EEXPIRED;
	}
	rc = dmp_eng_signing_key(e, sk);
	if (rc == 0) {
		rc = dmp_claim_sign_encode(value, cap, &c, sk);
	}
	dmp_wipe(sk, sizeof(sk));
	if (rc < 0) {
		DMP_LOG_W("claim: %s", dmp_strerror(rc));
		return rc;
	}
	*ttl = (uint32_t)(c.exp - c.ts);
	return 0;
}

/*
 * PROTOCOL.md 6.3 step 6, best effort and never failing the send: a claim
 * pointing at the manifest in our zone goes to the recipient's own zone
 * and to every configured first-contact provider, so a recipient who has
 * not pinned us yet still finds the message (6.4 phase 1). Also when the
 * recipient's zone is ours: a reference receiver that has pinned anyone
 * drops the manifests of senders it has not pinned from its slot walk and
 * finds them only through claims, and nothing tells us whether it pinned
 * us; the reference sender claims on every send for the same reason
 * (docs/protocol.md, interoperability). A receiver that did read the
 * manifest skips the claim as a replay.
 */
void dmp_eng_claims_add(struct dmp_engine *e, struct dmp_eng_claims *cl,
			const struct dmp_outbox_msg *m, uint32_t slot)
{
	struct dmp_store_contact ct;
	char value[256], d[512];
	struct dmp_eng_claim_zones cz = {.n = 0};
	uint8_t rid[DMP_USER_ID_BYTES];
	uint32_t ttl;
	int rc;

	if (dmp_store_contact_get(e->st, m->recipient, &ct) < 0) {
		return;
	}
	if (e->conf.claim_recipient_zone && ct.domain[0]) {
		dmp_eng_claim_zones_add(&cz, ct.domain);
	}
	dmp_eng_claim_providers(e, &cz);
	if (cz.n == 0) {
		return;
	}
	rc = dmp_eng_claim_sign(e, m, slot, e->conf.domain, value,
				sizeof(value), &ttl);
	if (rc == DMP_EINVAL) {
		snprintf(d, sizeof(d),
			 "no claim sent: our zone is longer than the %d bytes "
			 "a claim can carry (2.5)",
			 DMP_CLAIM_DOMAIN_MAX);
		dmp_eng_emit(e, DMP_EV_CLAIM, m->recipient, m->msg_id,
			     DMP_EINVAL, d);
		return;
	}
	if (rc != 0) {
		return;
	}
	dmp_sha256(rid, ct.x25519_pk, 32);
	for (size_t i = 0; i < cz.n; i++) {
		struct dmp_eng_claim *o;

		if (dmp_grow(&cl->v, &cl->cap, cl->n, sizeof(*cl->v), 16) < 0) {
			DMP_LOG_W("claim: %s", dmp_strerror(DMP_ENOMEM));
			return;
		}
		o = &cl->v[cl->n];
		memset(o, 0, sizeof(*o));
		snprintf(o->zone, sizeof(o->zone), "%s", cz.z[i]);
		snprintf(o->value, sizeof(o->value), "%s", value);
		snprintf(o->recipient, sizeof(o->recipient), "%s",
			 m->recipient);
		memcpy(o->msg_id, m->msg_id, sizeof(o->msg_id));
		o->ttl = ttl;
		o->rc = dmp_name_claim(o->owner, sizeof(o->owner), slot, rid,
				       cz.z[i]);
		o->rc = o->rc < 0 ? o->rc : 1; /* 1: to send */
		cl->n++;
	}
}

static int own_zone(const struct dmp_engine *e, const char *zone)
{
	return dmp_name_equal(zone, strlen(zone), e->conf.domain,
			      strlen(e->conf.domain));
}

/* One claim's event, as it went. */
static void claim_report(struct dmp_engine *e, const struct dmp_eng_claim *o)
{
	char d[512];
	int rc = o->rc;

	snprintf(d, sizeof(d), "claim at %s: %s", o->owner,
		 rc < 0 ? dmp_strerror(rc) : "accepted");
	if (rc == DMP_EREFUSED && own_zone(e, o->zone)) {
		/* Our own node takes no claims (dmp-node's default): only a
		 * reference receiver there that has pinned others needed
		 * it. Said, but not as a failure, or every same-zone send
		 * would print a note. */
		snprintf(d, sizeof(d),
			 "claim at %s: not taken (the node accepts no claims)",
			 o->owner);
		DMP_LOG_D("%s", d);
		rc = 0;
	} else if (rc < 0) {
		DMP_LOG_I("%s", d);
	}
	dmp_eng_emit(e, DMP_EV_CLAIM, o->recipient, o->msg_id, rc < 0 ? rc : 0,
		     d);
}

/*
 * The claims of a publish batch, several to an UPDATE per zone (the
 * limits of a publish UPDATE). A node refuses an UPDATE whole when one
 * claim is wrong (7.3), so a refused UPDATE of several is sent again one
 * claim at a time; at our own zone the first single refusal stands for
 * the rest (a node that takes no claims, dmp-node's default), so a batch
 * there costs two round trips, not one per message.
 */
void dmp_eng_claims_flush(struct dmp_engine *e, struct dmp_eng_claims *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		struct dmp_update_rr ops[DMP_ENG_PUBLISH_OPS];
		size_t at[DMP_ENG_PUBLISH_OPS], k = 0, bytes = 0;
		const char *zone = cl->v[i].zone;
		int rc, own_refused = 0;

		if (cl->v[i].rc != 1) {
			continue; /* sent, or could not be made */
		}
		for (size_t j = i; j < cl->n && k < DMP_ARRAY_LEN(ops); j++) {
			struct dmp_eng_claim *o = &cl->v[j];
			size_t vl = strlen(o->value);

			if (o->rc != 1 || strcmp(o->zone, zone) != 0) {
				continue;
			}
			if (k > 0 && bytes + vl > DMP_ENG_PUBLISH_BYTES) {
				break;
			}
			ops[k] = (struct dmp_update_rr){
			    DMP_UPDATE_ADD, o->owner, o->ttl, o->value, vl};
			at[k++] = j;
			bytes += vl + strlen(o->owner);
		}
		rc = dmp_eng_claim_send(e, zone, ops, k);
		for (size_t x = 0; x < k; x++) {
			struct dmp_eng_claim *o = &cl->v[at[x]];

			o->rc = rc;
			if (rc == DMP_EREFUSED && k > 1 && !own_refused) {
				o->rc = dmp_eng_claim_send(e, zone, &ops[x], 1);
				own_refused =
				    o->rc == DMP_EREFUSED && own_zone(e, zone);
			}
		}
	}
	for (size_t i = 0; i < cl->n; i++) {
		claim_report(e, &cl->v[i]);
	}
	dmp_free(cl->v);
	memset(cl, 0, sizeof(*cl));
}
