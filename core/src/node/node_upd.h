/*
 * core/src/node/node_upd.h - the node's UPDATE path (PROTOCOL.md 7.1),
 * private to its files:
 *   node_update.c   the batch: TSIG, the checks in the reference's order,
 *                   replies; writes from outside DNS (dmp_nu_write_op)
 *   node_uparse.c   an UPDATE message parsed into ops
 *   node_upolicy.c  caps, scopes, claims (7.3), quota, rate per key
 *   node_ucommit.c  commit: update log hand-off, pending commits, sqlite,
 *                   the index
 */
#ifndef DMP_NODE_UPD_H
#define DMP_NODE_UPD_H

#include "node/node_i.h"

#define MAX_OPS 128

/* One parsed UPDATE. */
struct uctx {
	size_t zone_end; /* end of the zone section */
	uint8_t zone[DMP_DNS_NAME_WIRE_MAX];
	size_t zlen;
	struct nop ops[MAX_OPS];
	size_t n_ops;
	int have_tsig;
	struct dmp_tsig_rr ts;
	const struct nkey *key;
	int too_many;
	int bad_class;
	int bad_owner; /* owner outside zone (NOTZONE) */
	int bad_name;  /* owner with characters DMP never uses */
	int bad_value; /* RDATA does not join, or is not UTF-8 */
};

/* One UPDATE on its way through the batch. */
/* One UPDATE on its way through the batch. */
struct job {
	struct dmp_node_msg *m;
	struct uctx *u;
	int rcode;
	int tsig_err;
	int sign;
	int pending; /* accepted, waiting for its commit */
	int why;     /* enum dmp_node_reject when rcode != NOERROR */
};

/* ---- node_uparse.c ---- */

/** Parse the whole message into @p u (zeroed by the caller);
 * DMP_EMALFORMED means FORMERR. */
int dmp_nu_parse(struct dmp_node *n, const uint8_t *q, size_t qlen,
		 struct uctx *u);
/** Free the values of the ops and forget them. */
void dmp_nu_ops_free(struct uctx *u);

/* ---- node_upolicy.c ---- */

/** 1 if u->ops[i] is an add and the first add at its owner. */
int dmp_nu_first_add(const struct uctx *u, size_t i);
/* What an UPDATE makes of one name. */
struct nu_tally {
	uint64_t live, live_b;	 /* live values there, their RR bytes */
	uint64_t fresh, fresh_b; /* adds not already there */
};
/** Tally the name of u->ops[i] (its first add) in index entry @p e
 * (NULL: none; ilock held): every writer's values when @p any, else
 * those of writer @p kid only. */
void dmp_nu_tally(const struct uctx *u, size_t i, const struct nidx_ent *e,
		  int any, uint64_t kid, uint64_t now_s, struct nu_tally *t);

/** RCODE from the caps (PROTOCOL.md 7.1 step 5) and the storage budgets
 * of the node and of each name; the reason into @p why. */
int dmp_nu_check_caps(struct dmp_node *n, const struct uctx *u, uint64_t now_s,
		      int *why);
/**
 * Is @p owner (wire, @p olen bytes) claim-<digits>.mb-<12 hex>.<zone>
 * with @p zone (wire, @p zlen bytes) the UPDATE's zone (7.3)? Copies the
 * 12 hex digits to @p hash. @return 1 or 0
 */
int dmp_nu_claim_owner(const uint8_t *owner, size_t olen, const uint8_t *zone,
		       size_t zlen, char hash[13]);
/** The unsigned claim UPDATE (7.3) from @p peer (NULL: local): an RCODE,
 * the reason into @p why. */
int dmp_nu_claim_check(struct dmp_node *n, struct uctx *u,
		       const struct sockaddr *peer, uint64_t now_ms, int *why);
/** Scope, quota and rate of the signing key; sets j->rcode, why,
 * pending. */
void dmp_nu_key_policy(struct dmp_node *n, struct job *j, uint64_t now_ms);

/* ---- node_ubudget.c (docs/security.md 7.7; wlock held) ---- */

/** Room in the node for @p add values and bytes, @p cadd of them at claim
 * names; prunes expired values first when short. REFUSED with @p why. */
int dmp_nu_budget_store(struct dmp_node *n, const uint64_t add[2],
			const uint64_t cadd[2], uint64_t now_s, int *why);
/** Does @p bytes (what @p op's name would hold) fit limits.name_bytes? */
int dmp_nu_budget_name(struct dmp_node *n, const struct nop *op, uint64_t bytes,
		       uint64_t now_s, int *why);
/** What writer @p tag (a key name, or a claim source) would hold at each
 * name of @p u that key @p k (NULL: none) does not own, within the
 * foreign_* limits? An RCODE. */
int dmp_nu_budget_foreign(struct dmp_node *n, const struct uctx *u,
			  const struct nkey *k, const char *tag,
			  uint64_t now_s);
/** Rate-limit key and writer tag ("src:ADDR/BITS") of a claim's source. */
void dmp_nu_claim_source(const struct dmp_node *n, const struct sockaddr *sa,
			 uint8_t key[17], char tag[DMP_NODE_NAME_MAX]);
/** 1 if the source's claim bucket has a token (takes it). */
int dmp_nu_claim_source_allow(struct dmp_node *n, const uint8_t key[17],
			      const char *tag, uint64_t now_ms);

/* ---- node_ucommit.c ---- */

/** Step 7 for jobs[0..cnt) that are pending (wlock held). */
void dmp_nu_commit(struct dmp_node *n, struct job *jobs, size_t cnt,
		   uint64_t now_ms);

#endif /* DMP_NODE_UPD_H */
