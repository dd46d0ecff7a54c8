/*
 * core/src/node/node_ubudget.c - storage budgets (docs/security.md 7.7):
 * what the node holds in all, at claim-* names and at one name, what one
 * writer may hold at a name it does not own, and un-TSIG'd claims per
 * source prefix. Every figure comes from the index (its totals, or the
 * RRs of the one name written): nothing here scans the store, except the
 * prune of expired values when a node-wide cap is reached (at most once
 * a second). Everything runs under wlock.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_upd.h"

/* One log line per refusal reason per this many seconds. */
#define LOG_EVERY_S 10

void dmp_nu_budget_defaults(struct dmp_node_opts *o)
{
	o->store_bytes_max = DMP_NODE_STORE_BYTES;
	o->store_values_max = DMP_NODE_STORE_VALUES;
	o->claim_bytes_max = DMP_NODE_CLAIM_BYTES;
	o->claim_values_max = DMP_NODE_CLAIM_VALUES;
	o->name_bytes_max = DMP_NODE_NAME_BYTES_FIT;
	o->foreign_values_max = DMP_NODE_FOREIGN_VALUES;
	o->foreign_bytes_max = DMP_NODE_FOREIGN_BYTES;
	o->claim_source_rate = DMP_NODE_CLAIM_SOURCE_RATE;
	o->claim_source_burst = DMP_NODE_CLAIM_SOURCE_BURST;
	o->claim_source_prefix4 = 32;
	o->claim_source_prefix6 = 56;
}

int dmp_nu_budget_check(const struct dmp_node_opts *o)
{
	const size_t one = dmp_nidx_rr_bytes(o->max_value_bytes);

	if (o->name_bytes_max > DMP_NODE_NAME_BYTES_FIT ||
	    o->name_bytes_max < one) {
		DMP_LOG_E("node: limits.name_bytes %u out of range: between "
			  "%zu (one value of max_value_bytes as an RR) and "
			  "%u (one TCP answer)",
			  (unsigned)o->name_bytes_max, one,
			  (unsigned)DMP_NODE_NAME_BYTES_FIT);
		return DMP_EINVAL;
	}
	if (o->foreign_bytes_max >= o->name_bytes_max ||
	    o->foreign_values_max == 0) {
		DMP_LOG_E(
		    "node: limits.foreign_bytes (%u) must be below "
		    "limits.name_bytes (%u), so that one writer cannot "
		    "fill someone else's name, and foreign_values above 0",
		    (unsigned)o->foreign_bytes_max,
		    (unsigned)o->name_bytes_max);
		return DMP_EINVAL;
	}
	if (o->claim_source_prefix4 < 8 || o->claim_source_prefix4 > 32 ||
	    o->claim_source_prefix6 < 16 || o->claim_source_prefix6 > 128) {
		DMP_LOG_E("node: limits.claim_source_prefix4 must be 8..32 "
			  "and claim_source_prefix6 16..128");
		return DMP_EINVAL;
	}
	return 0;
}

void dmp_nu_budget_reconfigure(struct dmp_node *n,
			       const struct dmp_node_opts *o)
{
	struct dmp_node_opts t = n->o;

	/* Checked on a copy, then only these fields written: others (TTLs,
	 * ...) are read by query threads without wlock. */
	t.max_value_bytes = o->max_value_bytes;
	t.max_values_per_name = o->max_values_per_name;
	t.name_bytes_max = o->name_bytes_max;
	t.foreign_values_max = o->foreign_values_max;
	t.foreign_bytes_max = o->foreign_bytes_max;
	t.claim_source_prefix4 = o->claim_source_prefix4;
	t.claim_source_prefix6 = o->claim_source_prefix6;
	if (dmp_nu_budget_check(&t) < 0) {
		DMP_LOG_E("node: storage limits unchanged");
		return;
	}
	n->o.store_bytes_max = o->store_bytes_max;
	n->o.store_values_max = o->store_values_max;
	n->o.claim_bytes_max = o->claim_bytes_max;
	n->o.claim_values_max = o->claim_values_max;
	n->o.name_bytes_max = o->name_bytes_max;
	n->o.foreign_values_max = o->foreign_values_max;
	n->o.foreign_bytes_max = o->foreign_bytes_max;
	n->o.claim_source_rate = o->claim_source_rate;
	n->o.claim_source_burst = o->claim_source_burst;
	n->o.claim_source_prefix4 = o->claim_source_prefix4;
	n->o.claim_source_prefix6 = o->claim_source_prefix6;
	dmp_rl_set(n->claim_src_rl, o->claim_source_rate,
		   o->claim_source_burst);
}

static const char *const why_text[] = {
    [DMP_NODE_REJ_STORE_FULL] = "store_full",
    [DMP_NODE_REJ_CLAIMS_FULL] = "claims_full",
    [DMP_NODE_REJ_NAME_BYTES] = "name_bytes",
    [DMP_NODE_REJ_FOREIGN] = "foreign_cap",
    [DMP_NODE_REJ_CLAIM_SOURCE] = "claim_source_rate",
};

/*
 * Log one refusal, at most once per LOG_EVERY_S per reason (a flood must
 * not fill the disk with its log), with the count of those left unlogged.
 */
static void refuse_log(struct dmp_node *n, int why, uint64_t now_s,
		       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse_log(struct dmp_node *n, int why, uint64_t now_s,
		       const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (n->bud_log_s[why] && now_s < n->bud_log_s[why] + LOG_EVERY_S) {
		n->bud_quiet[why]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n->bud_quiet[why]) {
		DMP_LOG_W("node: UPDATE REFUSED (%s): %s; %llu more not logged "
			  "since %llu s ago",
			  why_text[why], msg,
			  (unsigned long long)n->bud_quiet[why],
			  (unsigned long long)(now_s - n->bud_log_s[why]));
	} else {
		DMP_LOG_W("node: UPDATE REFUSED (%s): %s", why_text[why], msg);
	}
	n->bud_log_s[why] = now_s;
	n->bud_quiet[why] = 0;
}

/* The reason a node-wide cap refuses @p add more values and bytes (and
 * @p cadd of them at claim names), or -1. */
static int over(struct dmp_node *n, const uint64_t add[2],
		const uint64_t cadd[2])
{
	const struct dmp_node_opts *o = &n->o;
	int why = -1;

	pthread_rwlock_rdlock(&n->ilock);
	if (n->idx.values + add[0] > o->store_values_max ||
	    n->idx.bytes + add[1] > o->store_bytes_max) {
		why = DMP_NODE_REJ_STORE_FULL;
	} else if (n->idx.claim_values + cadd[0] > o->claim_values_max ||
		   n->idx.claim_bytes + cadd[1] > o->claim_bytes_max) {
		why = DMP_NODE_REJ_CLAIMS_FULL;
	}
	pthread_rwlock_unlock(&n->ilock);
	return why;
}

int dmp_nu_budget_store(struct dmp_node *n, const uint64_t add[2],
			const uint64_t cadd[2], uint64_t now_s, int *why)
{
	int w = over(n, add, cadd);
	uint64_t min_exp = UINT64_MAX;

	if (w >= 0) {
		pthread_rwlock_rdlock(&n->ilock);
		min_exp = n->idx.min_exp;
		pthread_rwlock_unlock(&n->ilock);
	}
	if (w >= 0 && n->bud_prune_s != now_s && min_exp <= now_s) {
		/* Expired values count until reaped: drop them first (the
		 * same work as dmp_node_maintain's reap), at most once a
		 * second and only when some value has expired. */
		n->bud_prune_s = now_s;
		if (dmp_nxj_reap(n, now_s) < 0) {
			DMP_LOG_E("node: reap of expired values failed");
		}
		w = over(n, add, cadd);
	}
	if (w < 0) {
		return DMP_DNS_RCODE_NOERROR;
	}
	pthread_rwlock_rdlock(&n->ilock);
	if (w == DMP_NODE_REJ_STORE_FULL) {
		refuse_log(
		    n, w, now_s,
		    "the node holds %llu values, %llu bytes (limits."
		    "store_values %llu, store_bytes %llu); raise them or "
		    "wait for values to expire",
		    (unsigned long long)n->idx.values,
		    (unsigned long long)n->idx.bytes,
		    (unsigned long long)n->o.store_values_max,
		    (unsigned long long)n->o.store_bytes_max);
	} else {
		refuse_log(n, w, now_s,
			   "claim names hold %llu values, %llu bytes (limits."
			   "claim_values %llu, claim_bytes %llu)",
			   (unsigned long long)n->idx.claim_values,
			   (unsigned long long)n->idx.claim_bytes,
			   (unsigned long long)n->o.claim_values_max,
			   (unsigned long long)n->o.claim_bytes_max);
	}
	pthread_rwlock_unlock(&n->ilock);
	*why = w;
	return DMP_DNS_RCODE_REFUSED;
}

int dmp_nu_budget_name(struct dmp_node *n, const struct nop *op, uint64_t bytes,
		       uint64_t now_s, int *why)
{
	if (bytes <= n->o.name_bytes_max) {
		return DMP_DNS_RCODE_NOERROR;
	}
	refuse_log(n, DMP_NODE_REJ_NAME_BYTES, now_s,
		   "%s would hold %llu bytes (limits.name_bytes %u)", op->owner,
		   (unsigned long long)bytes, (unsigned)n->o.name_bytes_max);
	*why = DMP_NODE_REJ_NAME_BYTES;
	return DMP_DNS_RCODE_REFUSED;
}

/* Does a scope of @p k without '*' cover @p owner (the names it may also
 * delete: its identity, prekeys, its own mailbox)? */
static int owns(const struct nkey *k, const char *owner)
{
	for (unsigned i = 0; k && i < k->n_scopes; i++) {
		if (!strchr(k->scopes[i], '*') &&
		    dmp_node_scope_match(k->scopes[i], owner)) {
			return 1;
		}
	}
	return 0;
}

int dmp_nu_budget_foreign(struct dmp_node *n, const struct uctx *u,
			  const struct nkey *k, const char *tag, uint64_t now_s)
{
	const uint64_t kid = dmp_nidx_kid(tag);

	for (size_t i = 0; i < u->n_ops; i++) {
		const struct nop *op = &u->ops[i];
		struct nu_tally t;
		uint64_t cnt, bytes;

		if (!dmp_nu_first_add(u, i) || owns(k, op->owner)) {
			continue;
		}
		/* Its values here and its new ones (a refresh of its own is
		 * free, a value taken over from another writer is not). */
		pthread_rwlock_rdlock(&n->ilock);
		dmp_nu_tally(u, i, dmp_nidx_find(&n->idx, op->wire, op->wlen),
			     0, kid, now_s, &t);
		pthread_rwlock_unlock(&n->ilock);
		cnt = t.live + t.fresh;
		bytes = t.live_b + t.fresh_b;
		if (cnt > n->o.foreign_values_max ||
		    bytes > n->o.foreign_bytes_max) {
			refuse_log(n, DMP_NODE_REJ_FOREIGN, now_s,
				   "%s would hold %llu values, %llu bytes from "
				   "%s, which does not own it (limits."
				   "foreign_values %u, foreign_bytes %u)",
				   op->owner, (unsigned long long)cnt,
				   (unsigned long long)bytes, tag,
				   (unsigned)n->o.foreign_values_max,
				   (unsigned)n->o.foreign_bytes_max);
			return DMP_DNS_RCODE_REFUSED;
		}
	}
	return DMP_DNS_RCODE_NOERROR;
}

void dmp_nu_claim_source(const struct dmp_node *n, const struct sockaddr *sa,
			 uint8_t key[17], char tag[DMP_NODE_NAME_MAX])
{
	char text[INET6_ADDRSTRLEN];
	int v4;

	/* The rate limiter's key: family, the address cut to its prefix,
	 * IPv4-mapped IPv6 as IPv4. */
	if (dmp_rl_addr_key(sa, n->o.claim_source_prefix4,
			    n->o.claim_source_prefix6, key) < 0) {
		memset(key, 0, 17);
		key[0] = 'l';
		snprintf(tag, DMP_NODE_NAME_MAX, "src:local");
		return;
	}
	v4 = key[0] == 4;
	inet_ntop(v4 ? AF_INET : AF_INET6, key + 1, text, sizeof(text));
	snprintf(tag, DMP_NODE_NAME_MAX, "src:%s/%u", text,
		 (unsigned)(v4 ? n->o.claim_source_prefix4
			       : n->o.claim_source_prefix6));
}

int dmp_nu_claim_source_allow(struct dmp_node *n, const uint8_t key[17],
			      const char *tag, uint64_t now_ms)
{
	if (!n->claim_src_rl ||
	    dmp_rl_allow_key(n->claim_src_rl, key, now_ms)) {
		return 1;
	}
	refuse_log(n, DMP_NODE_REJ_CLAIM_SOURCE, now_ms / 1000,
		   "claims from %s over limits.claim_source_rate %g/s", tag,
		   n->o.claim_source_rate);
	return 0;
}
