/*
 * core/src/node/node_upolicy.c - what an UPDATE may do (PROTOCOL.md 7.1
 * steps 5-6, 7.3): caps per name and value, the key's scopes, the
 * unsigned claim exception, the key's quota and write rate; the storage
 * budgets they call are in node_ubudget.c.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_upd.h"

const struct nkey *dmp_nu_find_key(const struct dmp_node *n,
				   const uint8_t *name, size_t nlen)
{
	for (size_t i = 0; i < n->n_keys; i++) {
		if (n->keys[i].nlen == nlen &&
		    memcmp(n->keys[i].name, name, nlen) == 0) {
			return &n->keys[i];
		}
	}
	return NULL;
}

int dmp_nu_first_add(const struct uctx *u, size_t i)
{
	if (u->ops[i].kind != NOP_ADD) {
		return 0;
	}
	for (size_t j = 0; j < i; j++) {
		if (u->ops[j].kind == NOP_ADD &&
		    strcmp(u->ops[j].owner, u->ops[i].owner) == 0) {
			return 0;
		}
	}
	return 1;
}

/* Is @p rr live and, unless @p any, written by @p kid? */
static int counts(const struct nidx_rr *rr, int any, uint64_t kid,
		  uint64_t now_s)
{
	return rr->exp_s > now_s && (any || rr->kid == kid);
}

void dmp_nu_tally(const struct uctx *u, size_t i, const struct nidx_ent *e,
		  int any, uint64_t kid, uint64_t now_s, struct nu_tally *t)
{
	const char *owner = u->ops[i].owner;

	memset(t, 0, sizeof(*t));
	for (uint32_t k = 0; e && k < e->n_rr; k++) {
		if (counts(e->rr[k], any, kid, now_s)) {
			t->live++;
			t->live_b += e->rr[k]->len;
		}
	}
	for (size_t j = i; j < u->n_ops; j++) {
		const struct nop *o2 = &u->ops[j];
		int dup = 0;

		if (o2->kind != NOP_ADD || strcmp(o2->owner, owner) != 0) {
			continue;
		}
		for (size_t m = i; m < j && !dup; m++) {
			dup = u->ops[m].kind == NOP_ADD &&
			      strcmp(u->ops[m].owner, owner) == 0 &&
			      u->ops[m].vlen == o2->vlen &&
			      memcmp(u->ops[m].value, o2->value, o2->vlen) == 0;
		}
		for (uint32_t k = 0; e && k < e->n_rr && !dup; k++) {
			dup =
			    counts(e->rr[k], any, kid, now_s) &&
			    dmp_nidx_rr_value_eq(e->rr[k], o2->value, o2->vlen);
		}
		if (!dup) {
			t->fresh++;
			t->fresh_b += dmp_nidx_rr_bytes(o2->vlen);
		}
	}
}

/* RCODE from the caps (PROTOCOL.md 7.1 step 5) and the budgets. */
int dmp_nu_check_caps(struct dmp_node *n, const struct uctx *u, uint64_t now_s,
		      int *why)
{
	/* New values and their bytes, in all and at claim names. */
	uint64_t add[2] = {0, 0}, cadd[2] = {0, 0};

	*why = DMP_NODE_REJ_CAPS;
	for (size_t i = 0; i < u->n_ops; i++) {
		const struct nop *op = &u->ops[i];
		struct nu_tally t;
		int rc;

		if (op->kind != NOP_ADD) {
			continue;
		}
		if (op->ttl > n->o.max_ttl || op->vlen > n->o.max_value_bytes) {
			return DMP_DNS_RCODE_REFUSED;
		}
		/* Count each owner once, at its first add. */
		if (!dmp_nu_first_add(u, i)) {
			continue;
		}
		pthread_rwlock_rdlock(&n->ilock);
		dmp_nu_tally(u, i, dmp_nidx_find(&n->idx, op->wire, op->wlen),
			     1, 0, now_s, &t);
		pthread_rwlock_unlock(&n->ilock);
		if (t.live + t.fresh > n->o.max_values_per_name) {
			return DMP_DNS_RCODE_REFUSED;
		}
		rc =
		    dmp_nu_budget_name(n, op, t.live_b + t.fresh_b, now_s, why);
		if (rc != DMP_DNS_RCODE_NOERROR) {
			return rc;
		}
		add[0] += t.fresh;
		add[1] += t.fresh_b;
		if (op->wire[0] >= 6 &&
		    memcmp(op->wire + 1, "claim-", 6) == 0) {
			cadd[0] += t.fresh;
			cadd[1] += t.fresh_b;
		}
	}
	return dmp_nu_budget_store(n, add, cadd, now_s, why);
}

static int in_scope(const struct nkey *k, const struct nop *op)
{
	for (unsigned i = 0; i < k->n_scopes; i++) {
		if (op->kind != NOP_ADD && strchr(k->scopes[i], '*')) {
			continue; /* 7.1: DELETE needs a suffix without '*' */
		}
		if (dmp_node_scope_match(k->scopes[i], op->owner)) {
			return 1;
		}
	}
	return 0;
}

/* PROTOCOL.md 7.3; also a relayed claim's owner (node_relay_bundle.c). */
int dmp_nu_claim_owner(const uint8_t *owner, size_t olen, const uint8_t *zone,
		       size_t zlen, char hash[13])
{
	const uint8_t *l1 = owner, *l2;
	size_t n1 = l1[0], n2;

	/* Two labels, then exactly the zone. */
	if (olen < 1 + n1 + 1 || n1 < 7 || n1 > 6 + 10 ||
	    memcmp(l1 + 1, "claim-", 6) != 0) {
		return 0;
	}
	for (size_t i = 7; i <= n1; i++) {
		if (l1[i] < '0' || l1[i] > '9') {
			return 0;
		}
	}
	l2 = l1 + 1 + n1;
	n2 = l2[0];
	if (n2 != 15 || memcmp(l2 + 1, "mb-", 3) != 0 ||
	    olen != 1 + n1 + 1 + n2 + zlen ||
	    memcmp(l2 + 1 + n2, zone, zlen) != 0) {
		return 0;
	}
	for (size_t i = 0; i < 12; i++) {
		uint8_t c = l2[4 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
		hash[i] = (char)c;
	}
	hash[12] = '\0';
	return 1;
}

/* Receiver-only mode: a recipient is ours when some key (from
 * registration's X25519 proof) holds exactly mb-<hash>.<zone>. */
static int hash_registered(const struct dmp_node *n, const char *hash,
			   const uint8_t *zone)
{
	char want[DMP_NODE_NAME_MAX + 16], ztext[DMP_NODE_NAME_MAX];

	dmp_dnswire_to_text(zone, ztext);
	snprintf(want, sizeof(want), "mb-%s.%s", hash, ztext);
	for (size_t i = 0; i < n->n_keys; i++) {
		for (unsigned k = 0; k < n->keys[i].n_scopes; k++) {
			if (strcmp(n->keys[i].scopes[k], want) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

int dmp_nu_relay_owned(struct dmp_node *n, const char *zone, const char *mb12,
		       const char *spk16)
{
	char mb[DMP_NODE_NAME_MAX + 16], cl[DMP_NODE_NAME_MAX + 32];
	int found = 0;

	snprintf(mb, sizeof(mb), "mb-%s.%s", mb12 ? mb12 : "", zone);
	snprintf(cl, sizeof(cl), "_dnsmesh-claim-%s.%s", spk16 ? spk16 : "",
		 zone);
	pthread_mutex_lock(&n->wlock);
	for (size_t i = 0; i < n->n_keys && !found; i++) {
		for (unsigned k = 0; k < n->keys[i].n_scopes && !found; k++) {
			const char *s = n->keys[i].scopes[k];

			found = (mb12 && strcmp(s, mb) == 0) ||
				(spk16 && strcmp(s, cl) == 0);
		}
	}
	pthread_mutex_unlock(&n->wlock);
	return found;
}

/*
 * PROTOCOL.md 7.3, the one UPDATE taken without TSIG: adds of verified
 * claims only. Shape problems are REFUSED, an empty bucket SERVFAIL.
 */
int dmp_nu_claim_check(struct dmp_node *n, struct uctx *u,
		       const struct sockaddr *peer, uint64_t now_ms, int *why)
{
	const uint64_t now_s = now_ms / 1000;
	const struct nzone *z = dmp_ni_zone_of(n, u->zone, u->zlen);
	uint32_t ttl_cap = n->o.max_ttl < DMP_NODE_CLAIM_MAX_LIFE
			       ? n->o.max_ttl
			       : DMP_NODE_CLAIM_MAX_LIFE;
	char hash[13], tag[DMP_NODE_NAME_MAX];
	uint8_t src[17];
	int rc;

	*why = n->o.claim_mode == DMP_NODE_CLAIM_OFF ? DMP_NODE_REJ_UNSIGNED
						     : DMP_NODE_REJ_CAPS;
	if (n->o.claim_mode == DMP_NODE_CLAIM_OFF || !n->o.update_enabled ||
	    !z || z->nlen != u->zlen || u->bad_owner || u->bad_class ||
	    u->too_many || u->bad_name || u->bad_value || u->n_ops == 0) {
		return DMP_DNS_RCODE_REFUSED;
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		struct nop *op = &u->ops[i];
		struct dmp_claim c;

		if (op->kind != NOP_ADD ||
		    !dmp_nu_claim_owner(op->wire, op->wlen, u->zone, u->zlen,
					hash)) {
			DMP_LOG_D("node: unsigned UPDATE of %s refused",
				  op->owner);
			return DMP_DNS_RCODE_REFUSED;
		}
		if (dmp_claim_parse_verify(&c, op->value, op->vlen, now_s) <
			0 ||
		    c.exp - now_s > DMP_NODE_CLAIM_MAX_LIFE) {
			DMP_LOG_D("node: claim at %s does not verify",
				  op->owner);
			return DMP_DNS_RCODE_REFUSED;
		}
		if (n->o.claim_mode == DMP_NODE_CLAIM_RECEIVER &&
		    !hash_registered(n, hash, u->zone)) {
			return DMP_DNS_RCODE_REFUSED;
		}
		if (op->ttl > ttl_cap) {
			op->ttl = ttl_cap;
		}
	}
	rc = dmp_nu_check_caps(n, u, now_s, why);
	if (rc != DMP_DNS_RCODE_NOERROR) {
		return rc;
	}
	/* The source is the writer: its share of each claim name and its
	 * rate, whatever recipients it names (docs/security.md 7.7). */
	dmp_nu_claim_source(n, peer, src, tag);
	if (dmp_nu_budget_foreign(n, u, NULL, tag, now_s) !=
	    DMP_DNS_RCODE_NOERROR) {
		*why = DMP_NODE_REJ_FOREIGN;
		return DMP_DNS_RCODE_REFUSED;
	}
	/* Last, so that refused shapes spend no tokens. */
	if (!dmp_nu_claim_source_allow(n, src, tag, now_ms)) {
		*why = DMP_NODE_REJ_CLAIM_SOURCE;
		return DMP_DNS_RCODE_REFUSED;
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		uint8_t key[17] = {'c'};

		(void)dmp_nu_claim_owner(u->ops[i].wire, u->ops[i].wlen,
					 u->zone, u->zlen, hash);
		memcpy(key + 1, hash, 12);
		if (!dmp_rl_allow_key(n->claim_rl, key, now_ms)) {
			DMP_LOG_I("node: claim rate limit for mb-%s", hash);
			*why = DMP_NODE_REJ_CLAIM_RATE;
			return DMP_DNS_RCODE_SERVFAIL;
		}
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		snprintf(u->ops[i].key, sizeof(u->ops[i].key), "%s", tag);
	}
	return DMP_DNS_RCODE_NOERROR;
}

/* Step 6 and the limits of the key (wlock held): scope, quota, rate. */
void dmp_nu_key_policy(struct dmp_node *n, struct job *j, uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct uctx *u = j->u;

	/* Step 6: scope; one miss refuses everything. */
	j->why = DMP_NODE_REJ_SCOPE;
	for (size_t i = 0; i < u->n_ops; i++) {
		if (!in_scope(u->key, &u->ops[i])) {
			DMP_LOG_I("node: UPDATE %s outside the key's scope",
				  u->ops[i].owner);
			j->rcode = DMP_DNS_RCODE_REFUSED;
			return;
		}
	}
	/* Its share of names it does not own (docs/security.md 7.7). */
	if (dmp_nu_budget_foreign(n, u, u->key, u->key->text, now_s) !=
	    DMP_DNS_RCODE_NOERROR) {
		j->rcode = DMP_DNS_RCODE_REFUSED;
		j->why = DMP_NODE_REJ_FOREIGN;
		return;
	}
	/* Quota of live values per key (abuse resistance); the batch loop
	 * commits a key's earlier UPDATE first, so the count is exact. */
	if (n->o.key_quota > 0) {
		uint64_t need = 0;

		/* The count reads sqlite: logged commits first. */
		if (dmp_nu_flush(n) < 0 ||
		    dmp_st_quota_need(n->db, u->key->text, u->ops, u->n_ops,
				      now_s, &need) < 0) {
			j->rcode = DMP_DNS_RCODE_SERVFAIL;
			j->why = DMP_NODE_REJ_STORE;
			return;
		}
		if (need > n->o.key_quota) {
			DMP_LOG_I("node: key %s over its quota of %u values",
				  u->key->text, (unsigned)n->o.key_quota);
			j->rcode = DMP_DNS_RCODE_REFUSED;
			j->why = DMP_NODE_REJ_QUOTA;
			return;
		}
	}
	/* Last, so that refused UPDATEs spend none of the key's tokens. */
	if (n->key_rl) {
		uint8_t h[32], key[17] = {'k'};

		dmp_sha256(h, u->key->name, u->key->nlen);
		memcpy(key + 1, h, 16);
		if (!dmp_rl_allow_key(n->key_rl, key, now_ms)) {
			DMP_LOG_I("node: write rate limit for a TSIG key");
			j->rcode = DMP_DNS_RCODE_REFUSED;
			j->why = DMP_NODE_REJ_KEY_RATE;
			return;
		}
	}
	for (size_t i = 0; i < u->n_ops; i++) {
		memcpy(u->ops[i].key, u->key->text, sizeof(u->ops[i].key));
	}
	j->pending = u->n_ops > 0;
}
