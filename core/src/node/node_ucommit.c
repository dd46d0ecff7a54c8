/*
 * core/src/node/node_ucommit.c - accepted UPDATEs made durable (PROTOCOL.md
 * 7.1 step 7): one record in the update log and the index at once, the
 * commits kept pending for sqlite (dmp_nu_flush), or one sqlite
 * transaction when there is no log.
 */
#include <string.h>

#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"
#include "node/node_upd.h"

/* Logged commits kept from sqlite at most (dmp_node_flush()). */
#define PEND_MAX 1024

/* A copy of @p rr (the index frees what it replaces). */
static struct nidx_rr *rr_dup(const struct nidx_rr *rr)
{
	struct nidx_rr *c = dmp_malloc(sizeof(*c) + rr->len);

	if (c) {
		memcpy(c, rr, sizeof(*c) + rr->len);
	}
	return c;
}

/*
 * The index after @p ops without reading sqlite: what dmp_st_apply() does to
 * the rows and dmp_st_name_rows() would read back (live rows, oldest write
 * first; an add of a value already there refreshes it and moves it last).
 */
static int index_apply(struct dmp_node *n, const struct nop *const *ops,
		       size_t n_ops, uint64_t now_s)
{
	int rc = 0;

	for (size_t i = 0; i < n_ops; i++) {
		const struct nop *op = ops[i];
		const struct nidx_ent *e;
		struct nidx_rr **rr = NULL;
		uint32_t cnt = 0, cap;
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++) {
			seen = ops[k]->wlen == op->wlen &&
			       memcmp(ops[k]->wire, op->wire, op->wlen) == 0;
		}
		if (seen) {
			continue; /* done with its first op */
		}
		pthread_rwlock_rdlock(&n->ilock);
		e = dmp_nidx_find(&n->idx, op->wire, op->wlen);
		cap = (e ? e->n_rr : 0) + (uint32_t)(n_ops - i);
		rr = dmp_calloc(cap ? cap : 1, sizeof(*rr));
		for (uint32_t k = 0; rr && e && k < e->n_rr; k++) {
			if (e->rr[k]->exp_s <= now_s) {
				continue;
			}
			rr[cnt] = rr_dup(e->rr[k]);
			if (!rr[cnt]) {
				rc = DMP_ENOMEM;
				break;
			}
			cnt++;
		}
		pthread_rwlock_unlock(&n->ilock);
		for (size_t k = i; rr && k < n_ops; k++) {
			const struct nop *o2 = ops[k];
			uint32_t m = 0;

			if (o2->wlen != op->wlen ||
			    memcmp(o2->wire, op->wire, op->wlen) != 0) {
				continue;
			}
			for (uint32_t j = 0; j < cnt; j++) {
				if (o2->kind == NOP_DEL_ALL ||
				    dmp_nidx_rr_value_eq(rr[j], o2->value,
							 o2->vlen)) {
					dmp_free(rr[j]);
				} else {
					rr[m++] = rr[j];
				}
			}
			cnt = m;
			if (o2->kind == NOP_ADD && now_s + o2->ttl > now_s) {
				rr[cnt] = dmp_nidx_rr_new(
				    o2->value, o2->vlen, n->o.answer_ttl,
				    now_s + o2->ttl, dmp_nidx_kid(o2->key));
				if (!rr[cnt]) {
					rc = DMP_ENOMEM;
					break;
				}
				cnt++;
			}
		}
		if (!rr) {
			rc = DMP_ENOMEM;
			continue;
		}
		pthread_rwlock_wrlock(&n->ilock);
		if (dmp_nidx_set(&n->idx, op->wire, op->wlen, rr, cnt) < 0) {
			rc = DMP_ENOMEM;
		}
		pthread_rwlock_unlock(&n->ilock);
	}
	return rc;
}

/* All pending commits in one transaction: the pages they share (index
 * leaves, the serial) are written once, not once per UPDATE. */
void dmp_nu_pending_free(struct dmp_node *n)
{
	while (n->pend) {
		struct npend *p = n->pend;

		n->pend = p->next;
		for (size_t i = 0; i < p->n; i++) {
			dmp_free(p->ops[i].value);
		}
		dmp_free(p);
	}
	n->pend_tail = &n->pend;
}

int dmp_nu_flush(struct dmp_node *n)
{
	size_t total = 0, k = 0;
	const struct nop **ops;
	uint32_t serial;
	int rc;

	if (!n->pend) {
		return 0;
	}
	for (struct npend *p = n->pend; p; p = p->next) {
		total += p->n;
	}
	ops = dmp_malloc(total * sizeof(*ops));
	rc = ops ? dmp_st_set_full(n->db, &n->stm, 0) : DMP_ENOMEM;
	if (rc == 0) {
		rc = dmp_st_begin(n->db);
	}
	for (struct npend *p = n->pend; rc == 0 && p; p = p->next) {
		for (size_t i = 0; i < p->n; i++) {
			ops[k + i] = &p->ops[i];
		}
		rc = dmp_st_apply(n->db, &n->stm, ops + k, p->n, p->now_ms,
				  p->serial, &serial);
		k += p->n;
	}
	if (rc == 0) {
		rc = dmp_st_commit(n->db);
	}
	if (rc < 0) {
		dmp_st_rollback(n->db);
	}
	(void)dmp_st_set_full(n->db, &n->stm, 1);
	dmp_free(ops);
	n->flush_failed = rc < 0;
	if (rc < 0) {
		DMP_LOG_E("node: store write of logged UPDATEs failed; kept "
			  "in the update log, retried");
		return DMP_ESTORE;
	}
	dmp_nu_pending_free(n);
	atomic_store(&n->n_pend, 0);
	return 0;
}

int dmp_node_flush(struct dmp_node *n, unsigned min, uint64_t idle_ns)
{
	unsigned cnt = atomic_load(&n->n_pend);
	int rc;

	if (cnt == 0 ||
	    (min && cnt < min &&
	     dmp_ni_mono_ns() - atomic_load(&n->last_commit_ns) < idle_ns)) {
		return 0;
	}
	pthread_mutex_lock(&n->wlock);
	rc = dmp_nu_flush(n);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

unsigned dmp_node_pending(struct dmp_node *n)
{
	return (unsigned)atomic_load(&n->n_pend);
}

/*
 * Append the ops of one commit to the update log (durable on return:
 * @p logged 1). A full log is emptied first (pending commits written and
 * the store synced). A record that can never fit, or a failing log, leave
 * *logged 0: the caller then commits to sqlite with its fsync instead, so
 * durability never rests on the log alone failing.
 */
static int log_ops(struct dmp_node *n, const struct nop *const *ops,
		   size_t n_ops, uint64_t now_ms, int *logged)
{
	struct dmp_wbuf w;
	int rc;

	*logged = 0;
	dmp_wbuf_init_dyn(&w);
	rc = dmp_nj_ops_encode(&w, ops, n_ops, now_ms);
	if (rc == 0) {
		rc = dmp_nj_append(n->jr, w.p, w.len);
		if (rc == DMP_ENOSPC) {
			rc = dmp_ni_log_checkpoint(n);
			if (rc == 0) {
				rc = dmp_nj_append(n->jr, w.p, w.len);
			}
		}
	}
	dmp_wbuf_clear(&w);
	if (rc == 0) {
		*logged = 1;
		return 0;
	}
	if (rc != DMP_ENOBUFS) {
		DMP_LOG_W("node: update log append failed (%s); fsyncing the "
			  "store instead",
			  dmp_strerror(rc));
	}
	return rc == DMP_ENOMEM ? rc : 0;
}

/*
 * The logged path: log record (the durable point), index, then the ops
 * queued for sqlite (dmp_nu_flush, after the replies). @return 0 done,
 * 1 not logged (use the sqlite path), or an error (SERVFAIL).
 */
static int commit_logged(struct dmp_node *n, struct job *jobs, size_t cnt,
			 const struct nop *const *ops, size_t n_ops,
			 uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	struct npend *p;
	uint32_t serial;
	int rc, logged;

	/* A store that failed to take earlier commits must take them before
	 * we answer NOERROR again (a full disk: SERVFAIL, not a log that
	 * only grows); and the backlog stays bounded without a server. */
	if (n->flush_failed || atomic_load(&n->n_pend) >= PEND_MAX) {
		rc = dmp_nu_flush(n);
		if (rc < 0) {
			return rc;
		}
	}
	rc = log_ops(n, ops, n_ops, now_ms, &logged);
	if (rc < 0 || !logged) {
		return rc < 0 ? rc : 1;
	}
	/* The serial dmp_st_apply() will store (nothing else writes it). */
	serial = dmp_st_next_serial(n->serial, now_s);
	if (index_apply(n, ops, n_ops, now_s) < 0) {
		DMP_LOG_E("node: index update failed; it heals at the next "
			  "restart");
	}
	pthread_rwlock_wrlock(&n->ilock);
	n->serial = serial;
	pthread_rwlock_unlock(&n->ilock);
	p = dmp_malloc(sizeof(*p) + n_ops * sizeof(p->ops[0]));
	if (!p) {
		/* Write it now instead. */
		uint32_t s2;

		rc = dmp_st_begin(n->db);
		if (rc == 0) {
			rc = dmp_st_apply(n->db, &n->stm, ops, n_ops, now_ms,
					  serial, &s2);
		}
		rc = rc == 0 ? dmp_st_commit(n->db) : rc;
		if (rc < 0) {
			dmp_st_rollback(n->db);
			DMP_LOG_E("node: store write failed; the UPDATE is in "
				  "the update log and applied at the next "
				  "start");
		}
		return 0;
	}
	p->next = NULL;
	p->now_ms = now_ms;
	p->serial = serial;
	p->n = 0;
	for (size_t i = 0; i < cnt; i++) {
		for (size_t k = 0; jobs[i].pending && k < jobs[i].u->n_ops;
		     k++) {
			p->ops[p->n] = jobs[i].u->ops[k];
			jobs[i].u->ops[k].value = NULL; /* now p's */
			p->n++;
		}
	}
	*n->pend_tail = p;
	n->pend_tail = &p->next;
	atomic_store(&n->last_commit_ns, dmp_ni_mono_ns());
	atomic_fetch_add(&n->n_pend, 1);
	return 0;
}

/* Step 7 for jobs[0..cnt) that are pending: durable (update log, or one
 * sqlite transaction), then the index. A store failure fails them all
 * with SERVFAIL. */
void dmp_nu_commit(struct dmp_node *n, struct job *jobs, size_t cnt,
		   uint64_t now_ms)
{
	const struct nop **ops;
	struct nxj_cap cap = {0};
	size_t n_ops = 0;
	uint32_t serial = 0;
	int rc;

	for (size_t i = 0; i < cnt; i++) {
		n_ops += jobs[i].pending ? jobs[i].u->n_ops : 0;
	}
	if (n_ops == 0) {
		return;
	}
	ops = dmp_malloc(n_ops * sizeof(*ops));
	rc = ops ? 0 : DMP_ENOMEM;
	n_ops = 0;
	for (size_t i = 0; ops && i < cnt; i++) {
		for (size_t k = 0; jobs[i].pending && k < jobs[i].u->n_ops;
		     k++) {
			ops[n_ops++] = &jobs[i].u->ops[k];
		}
	}
	if (rc == 0 && dmp_nxj_cap_begin(n, &cap, ops, n_ops) < 0) {
		DMP_LOG_W("node: IXFR journal capture failed (out of memory)");
	}
	if (rc == 0 && n->jr) {
		rc = commit_logged(n, jobs, cnt, ops, n_ops, now_ms);
		if (rc == 0) {
			goto done;
		}
		rc = rc == 1 ? dmp_nu_flush(n) : rc;
	}
	if (rc == 0) {
		rc = dmp_st_begin(n->db);
	}
	if (rc == 0) {
		rc = dmp_st_apply(n->db, &n->stm, ops, n_ops, now_ms, 0,
				  &serial);
	}
	if (rc == 0) {
		rc = dmp_st_commit(n->db);
	}
	if (rc < 0) {
		dmp_st_rollback(n->db);
	}
	if (rc < 0) {
		for (size_t i = 0; i < cnt; i++) {
			if (jobs[i].pending) {
				jobs[i].rcode = DMP_DNS_RCODE_SERVFAIL;
				jobs[i].why = DMP_NODE_REJ_STORE;
				jobs[i].pending = 0;
			}
		}
		dmp_nxj_cap_free(&cap);
		dmp_free(ops);
		return;
	}
	pthread_rwlock_wrlock(&n->ilock);
	n->serial = serial;
	pthread_rwlock_unlock(&n->ilock);
	for (size_t i = 0; i < n_ops; i++) {
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++) {
			seen = ops[k]->wlen == ops[i]->wlen &&
			       memcmp(ops[k]->wire, ops[i]->wire,
				      ops[i]->wlen) == 0;
		}
		if (!seen &&
		    dmp_ni_refresh_name(n, ops[i]->owner, ops[i]->wire,
					ops[i]->wlen, now_ms / 1000) < 0) {
			/* Committed, but the index lags: it heals at the next
			 * restart; say so loudly. */
			DMP_LOG_E("node: index refresh failed for %s",
				  ops[i]->owner);
		}
	}
done:
	dmp_nxj_cap_end(n, &cap);
	for (size_t i = 0; i < cnt; i++) {
		jobs[i].pending = 0;
	}
	dmp_free(ops);
}
