/*
 * core/src/node/node_update.c - RFC 2136 UPDATE with RFC 8945 TSIG
 * (hmac-sha256), checked in the reference's order (PROTOCOL.md 7.1):
 * TSIG, zone, owners in zone, caps, scope, apply. Parsing, policy and
 * commit are in node_uparse.c, node_upolicy.c and node_ucommit.c; TSIG in
 * dns/tsig.c (why not libknot's: see there).
 */
#include <stdio.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_upd.h"

/* PROTOCOL.md 7.1 steps 2-6 for one UPDATE (wlock held). */
static void prepare(struct dmp_node *n, struct job *j, uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct uctx *u = j->u;
	const uint8_t *q = j->m->q;
	int err;

	/* 7.1 step 2: TSIG. */
	if (!u->have_tsig) {
		/* Nothing but the claim exception (7.3); unsigned reply. */
		j->rcode =
		    dmp_nu_claim_check(n, u, j->m->peer, now_ms, &j->why);
		j->pending = j->rcode == DMP_DNS_RCODE_NOERROR;
		return;
	}
	u->key = dmp_nu_find_key(n, u->ts.key, u->ts.klen);
	j->why = DMP_NODE_REJ_TSIG;
	if (!u->key || !dmp_tsig_alg_ok(&u->ts)) {
		j->rcode = DMP_DNS_RCODE_NOTAUTH;
		j->tsig_err = DMP_DNS_RCODE_BADKEY;
		return;
	}
	err = dmp_tsig_verify(q, &u->ts, u->key->secret, u->key->slen, NULL, 0,
			      now_s);
	if (err == DMP_EMALFORMED) {
		/* RFC 8945 5.2.2.1: shorter than 10 or longer than the
		 * hash is FORMERR. */
		j->rcode = DMP_DNS_RCODE_FORMERR;
		return;
	}
	/* BADSIG and BADTRUNC go unsigned, BADTIME signed (5.3.2). */
	j->sign = err != DMP_DNS_RCODE_BADSIG && err != DMP_DNS_RCODE_BADTRUNC;
	if (err != 0) {
		j->rcode = DMP_DNS_RCODE_NOTAUTH;
		j->tsig_err = err;
		return;
	}
	/* The same signed bytes verify for time_signed +- fudge: a request
	 * seen before (also earlier in this batch) is refused, and so is
	 * one the cache has no room to remember (tsig_replay.c). The reply
	 * is signed, without a TSIG error: the request is genuine, its
	 * repetition is not accepted (BADTIME would tell clients their
	 * clock is wrong). */
	err = dmp_tsig_replay_check(n->replay, &u->ts, now_s);
	if (err != 0) {
		DMP_LOG_I("node: signed UPDATE %s refused",
			  err == DMP_EREPLAY ? "replayed"
					     : "(replay cache full)");
		j->rcode = DMP_DNS_RCODE_NOTAUTH;
		j->why = err == DMP_EREPLAY ? DMP_NODE_REJ_REPLAY
					    : DMP_NODE_REJ_REPLAY_FULL;
		return;
	}
	if (!n->o.update_enabled) {
		j->rcode = DMP_DNS_RCODE_REFUSED;
		j->why = DMP_NODE_REJ_DISABLED;
		return;
	}
	j->why = DMP_NODE_REJ_ZONE;
	/* Step 3: a zone we serve. */
	if (!dmp_ni_zone_of(n, u->zone, u->zlen) ||
	    dmp_ni_zone_of(n, u->zone, u->zlen)->nlen != u->zlen) {
		j->rcode = DMP_DNS_RCODE_NOTAUTH;
		return;
	}
	/* Step 4: owners in the zone. */
	if (u->bad_owner) {
		j->rcode = DMP_DNS_RCODE_NOTZONE;
		return;
	}
	if (u->bad_class) {
		j->rcode = DMP_DNS_RCODE_FORMERR;
		j->why = DMP_NODE_REJ_FORMERR;
		return;
	}
	j->why = DMP_NODE_REJ_CAPS;
	/* Step 5: caps (and values a DMP node cannot hold). */
	if (u->too_many || u->bad_name || u->bad_value) {
		j->rcode = DMP_DNS_RCODE_REFUSED;
		return;
	}
	j->rcode = dmp_nu_check_caps(n, u, now_s, &j->why);
	if (j->rcode != DMP_DNS_RCODE_NOERROR) {
		return;
	}
	dmp_nu_key_policy(n, j, now_ms);
}

/* Do two jobs write a common owner? */
static int overlaps(const struct uctx *a, const struct uctx *b)
{
	for (size_t i = 0; i < a->n_ops; i++) {
		for (size_t k = 0; k < b->n_ops; k++) {
			if (a->ops[i].wlen == b->ops[k].wlen &&
			    memcmp(a->ops[i].wire, b->ops[k].wire,
				   a->ops[i].wlen) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

/* With quotas on, a second UPDATE by the same key waits for the first's
 * commit so that its count sees those values. */
static int same_quota_key(const struct dmp_node *n, const struct uctx *a,
			  const struct uctx *b)
{
	return n->o.key_quota > 0 && a->key && b->have_tsig &&
	       a->key == dmp_nu_find_key(n, b->ts.key, b->ts.klen);
}

static void finish(struct dmp_node *n, struct job *j, uint64_t now_s)
{
	struct dmp_node_msg *m = j->m;
	size_t len;

	cnt_add(&n->c_updates, 1);
	if (j->rcode == DMP_DNS_RCODE_NOERROR) {
		cnt_add(&n->c_updates_ok, 1);
	} else {
		cnt_add(&n->c_reject[j->why], 1);
	}
	len = (size_t)dmp_ni_error_reply(m->q, m->qlen, j->u->zone_end,
					 j->rcode, m->resp, m->cap);
	if (j->u->have_tsig && (j->tsig_err || j->sign)) {
		if (dmp_nx_tsig_reply(m->resp, &len, m->cap,
				      j->sign ? j->u->key : NULL, &j->u->ts,
				      (uint16_t)j->tsig_err, now_s) < 0) {
			len = (size_t)dmp_ni_error_reply(m->q, m->qlen, 0,
							 DMP_DNS_RCODE_SERVFAIL,
							 m->resp, m->cap);
		}
	}
	m->resp_len = (int)len;
}

void dmp_nu_update_batch(struct dmp_node *n, struct dmp_node_msg *m,
			 size_t count, uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct job *jobs = dmp_calloc(count ? count : 1, sizeof(*jobs));
	size_t start = 0;

	if (!jobs) {
		for (size_t i = 0; i < count; i++) {
			m[i].resp_len = dmp_ni_error_reply(
			    m[i].q, m[i].qlen, 0, DMP_DNS_RCODE_SERVFAIL,
			    m[i].resp, m[i].cap);
		}
		return;
	}
	/* Parse outside the lock. */
	for (size_t i = 0; i < count; i++) {
		jobs[i].m = &m[i];
		jobs[i].u = dmp_calloc(1, sizeof(struct uctx));
		if (!jobs[i].u) {
			m[i].resp_len = dmp_ni_error_reply(
			    m[i].q, m[i].qlen, 0, DMP_DNS_RCODE_SERVFAIL,
			    m[i].resp, m[i].cap);
		} else if (dmp_nu_parse(n, m[i].q, m[i].qlen, jobs[i].u) < 0) {
			cnt_add(&n->c_updates, 1);
			cnt_add(&n->c_reject[DMP_NODE_REJ_FORMERR], 1);
			m[i].resp_len = dmp_ni_error_reply(
			    m[i].q, m[i].qlen, 0, DMP_DNS_RCODE_FORMERR,
			    m[i].resp, m[i].cap);
			dmp_nu_ops_free(jobs[i].u);
			dmp_free(jobs[i].u);
			jobs[i].u = NULL;
		}
	}
	pthread_mutex_lock(&n->wlock);
	for (size_t i = 0; i < count; i++) {
		if (!jobs[i].u) {
			continue;
		}
		/* Checks read the index, so a job touching an owner that a
		 * pending one writes waits for that commit. */
		for (size_t k = start; k < i; k++) {
			if (jobs[k].pending &&
			    (overlaps(jobs[k].u, jobs[i].u) ||
			     same_quota_key(n, jobs[k].u, jobs[i].u))) {
				dmp_nu_commit(n, jobs + start, i - start,
					      now_ms);
				start = i;
				break;
			}
		}
		prepare(n, &jobs[i], now_ms);
	}
	dmp_nu_commit(n, jobs + start, count - start, now_ms);
	for (size_t i = 0; i < count; i++) {
		if (jobs[i].u) {
			finish(n, &jobs[i], now_s);
		}
	}
	pthread_mutex_unlock(&n->wlock);
	for (size_t i = 0; i < count; i++) {
		if (jobs[i].u) {
			dmp_nu_ops_free(jobs[i].u);
			dmp_free(jobs[i].u);
		}
	}
	dmp_free(jobs);
}

int dmp_nu_write_op(struct dmp_node *n, struct nop *ops, size_t cnt,
		    uint64_t now_ms, int *why_out)
{
	return dmp_nu_write_as(n, ops, cnt, NULL, now_ms, why_out);
}

int dmp_nu_write_as(struct dmp_node *n, struct nop *ops, size_t cnt,
		    const char *tag, uint64_t now_ms, int *why_out)
{
	const uint64_t now_s = now_ms / 1000;
	struct uctx *u = cnt <= MAX_OPS ? dmp_calloc(1, sizeof(*u)) : NULL;
	struct job j;
	int has_add = 0;

	if (why_out) {
		*why_out = -1;
	}
	if (!u) {
		for (size_t i = 0; i < cnt; i++) {
			dmp_free(ops[i].value);
			ops[i].value = NULL;
		}
		return DMP_DNS_RCODE_SERVFAIL;
	}
	for (size_t i = 0; i < cnt; i++) {
		u->ops[i] = ops[i];
		ops[i].value = NULL;
		has_add |= u->ops[i].kind == NOP_ADD;
	}
	u->n_ops = cnt;
	memset(&j, 0, sizeof(j));
	j.u = u;
	pthread_mutex_lock(&n->wlock);
	if (has_add) {
		int why;

		j.rcode = dmp_nu_check_caps(n, u, now_s, &why);
		/* Storage budgets count every refusal, whatever the path. */
		if (why == DMP_NODE_REJ_STORE_FULL ||
		    why == DMP_NODE_REJ_CLAIMS_FULL ||
		    why == DMP_NODE_REJ_NAME_BYTES) {
			cnt_add(&n->c_reject[why], 1);
		}
		/* A writer without a key: its share of every name it
		 * writes (docs/security.md 7.7), as a claim's source. */
		if (tag && j.rcode == DMP_DNS_RCODE_NOERROR &&
		    dmp_nu_budget_foreign(n, u, NULL, tag, now_s) !=
			DMP_DNS_RCODE_NOERROR) {
			j.rcode = DMP_DNS_RCODE_REFUSED;
			why = DMP_NODE_REJ_FOREIGN;
			cnt_add(&n->c_reject[why], 1);
		}
		if (why_out && j.rcode != DMP_DNS_RCODE_NOERROR) {
			*why_out = why;
		}
	} else if (cnt == 1) {
		const struct nidx_ent *e;
		int found = 0;

		pthread_rwlock_rdlock(&n->ilock);
		e = dmp_nidx_find(&n->idx, u->ops[0].wire, u->ops[0].wlen);
		for (uint32_t k = 0; e && k < e->n_rr && !found; k++) {
			found = e->rr[k]->exp_s > now_s &&
				(u->ops[0].kind == NOP_DEL_ALL ||
				 dmp_nidx_rr_value_eq(e->rr[k], u->ops[0].value,
						      u->ops[0].vlen));
		}
		pthread_rwlock_unlock(&n->ilock);
		j.rcode =
		    found ? DMP_DNS_RCODE_NOERROR : DMP_DNS_RCODE_NXDOMAIN;
	}
	for (size_t i = 0; tag && i < cnt; i++) {
		snprintf(u->ops[i].key, sizeof(u->ops[i].key), "%s", tag);
	}
	if (j.rcode == DMP_DNS_RCODE_NOERROR && cnt > 0) {
		j.pending = 1;
		dmp_nu_commit(n, &j, 1, now_ms);
	}
	pthread_mutex_unlock(&n->wlock);
	dmp_nu_ops_free(u);
	dmp_free(u);
	return j.rcode;
}
