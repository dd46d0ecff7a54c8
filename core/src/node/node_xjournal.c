/*
 * core/src/node/node_xjournal.c - the change journal behind IXFR (RFC 1995
 * 4): for each serial bump, the RRs it removed and added, as a secondary
 * sees them (node_xfr.c sends them). One journal for the node, since the
 * serial is the node's; node_xfr.c keeps a zone's RRs from each change.
 *
 * Every change to what AXFR sends bumps the serial and is journaled:
 * UPDATE commits (dmp_nu_commit), and expiry: values whose time is up stay
 * in the transferred zone until the reap (node.reap_interval, or a budget
 * prune) removes them, with a serial bump and a journal entry of their
 * removal, so a secondary following by IXFR stays identical to AXFR.
 * The index is loaded with expired rows too (dmp_node_new), so values
 * that expired while the node was down leave the same way at its first
 * reap.
 *
 * Persisted in the table xfr_journal by dmp_nxj_save() (at checkpoints:
 * each maintenance tick and at close); a crash loses the newest entries,
 * and a chain that no longer reaches the store's serial is dropped at the
 * next start (secondaries get AXFR once).
 */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"

struct nxj_capname {
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;
	struct dmp_wbuf old; /* u16 length, then type .. rdata; per RR */
};

void dmp_nxj_free(struct nxj *j)
{
	for (size_t i = 0; i < j->n; i++) {
		dmp_free(j->c[i]);
	}
	dmp_free(j->c);
	memset(j, 0, sizeof(*j));
}

static void drop_front(struct nxj *j, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		j->bytes -= j->c[i]->len;
		dmp_free(j->c[i]);
	}
	memmove(j->c, j->c + k, (j->n - k) * sizeof(*j->c));
	j->n -= k;
	j->dirty |= k > 0;
}

/* Oldest first down to the limits (ilock held for writing). */
static void prune(struct dmp_node *n)
{
	struct nxj *j = &n->xj;
	size_t k = 0;
	uint64_t bytes = j->bytes;

	while (k < j->n && (j->n - k > n->o.xfr_journal_changes ||
			    bytes > n->o.xfr_journal_bytes)) {
		bytes -= j->c[k]->len;
		k++;
	}
	drop_front(j, k);
}

void dmp_nxj_append(struct dmp_node *n, struct nxj_chg *ch)
{
	struct nxj *j = &n->xj;

	pthread_rwlock_wrlock(&n->ilock);
	if (j->n > 0 && j->c[j->n - 1]->to != ch->from) {
		drop_front(j, j->n); /* a gap: the old chain is useless */
	}
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 64;
		struct nxj_chg **c = dmp_realloc(j->c, cap * sizeof(*c));

		if (!c) {
			drop_front(j, j->n);
			dmp_free(ch);
			pthread_rwlock_unlock(&n->ilock);
			return;
		}
		j->c = c;
		j->cap = cap;
	}
	ch->seq = j->next_seq++;
	j->c[j->n++] = ch;
	j->bytes += ch->len;
	prune(n);
	pthread_rwlock_unlock(&n->ilock);
}

long dmp_nxj_find(const struct dmp_node *n, uint32_t from)
{
	const struct nxj *j = &n->xj;

	if (j->n == 0 || j->c[j->n - 1]->to != n->serial) {
		return -1;
	}
	/* Chains are contiguous (dmp_nxj_append), so one match is enough;
	 * the newest first, as a serial may in principle come back after
	 * a wrap (RFC 1982). */
	for (size_t i = j->n; i-- > 0;) {
		if (j->c[i]->from == from) {
			return (long)i;
		}
	}
	return -1;
}

/* ---- capture around a commit ---- */

static void put_rr(struct dmp_wbuf *w, const struct nidx_rr *rr)
{
	uint8_t l[2];

	wr16(l, rr->len - 2u);
	dmp_wbuf_put(w, l, 2);
	dmp_wbuf_put(w, rr->wire + 2, rr->len - 2u);
}

/* The RRs of @p name now, as put_rr() writes them (ilock held). */
static void name_rrs(const struct dmp_node *n, const uint8_t *name, size_t nlen,
		     struct dmp_wbuf *w)
{
	const struct nidx_ent *e = dmp_nidx_find(&n->idx, name, nlen);

	for (uint32_t k = 0; e && k < e->n_rr; k++) {
		put_rr(w, e->rr[k]);
	}
}

void dmp_nxj_cap_free(struct nxj_cap *c)
{
	for (size_t i = 0; i < c->n; i++) {
		dmp_wbuf_clear(&c->names[i].old);
	}
	dmp_free(c->names);
	memset(c, 0, sizeof(*c));
}

int dmp_nxj_cap_begin(struct dmp_node *n, struct nxj_cap *c,
		      const struct nop *const *ops, size_t n_ops)
{
	memset(c, 0, sizeof(*c));
	c->from = n->serial;
	if (n->o.xfr_journal_changes == 0) {
		return 0;
	}
	c->names = dmp_calloc(n_ops ? n_ops : 1, sizeof(*c->names));
	if (!c->names) {
		return DMP_ENOMEM;
	}
	pthread_rwlock_rdlock(&n->ilock);
	for (size_t i = 0; i < n_ops; i++) {
		struct nxj_capname *cn = &c->names[c->n];
		int seen = 0;

		for (size_t k = 0; k < c->n && !seen; k++) {
			seen = c->names[k].wlen == ops[i]->wlen &&
			       memcmp(c->names[k].wire, ops[i]->wire,
				      ops[i]->wlen) == 0;
		}
		if (seen) {
			continue;
		}
		memcpy(cn->wire, ops[i]->wire, ops[i]->wlen);
		cn->wlen = ops[i]->wlen;
		dmp_wbuf_init_dyn(&cn->old);
		name_rrs(n, cn->wire, cn->wlen, &cn->old);
		c->n++;
	}
	pthread_rwlock_unlock(&n->ilock);
	return 0;
}

/* 1 if the RR at @p rr (u16 length first) is in the list @p l. */
static int rr_in(const uint8_t *rr, const struct dmp_wbuf *l)
{
	size_t len = rd16(rr);

	for (size_t o = 0; o + 2 <= l->len; o += 2u + rd16(l->p + o)) {
		if (rd16(l->p + o) == len &&
		    memcmp(l->p + o + 2, rr + 2, len) == 0) {
			return 1;
		}
	}
	return 0;
}

/* The RRs of @p a not in @p b, with their owner, into @p out. */
static uint32_t diff(const struct nxj_capname *cn, const struct dmp_wbuf *a,
		     const struct dmp_wbuf *b, struct dmp_wbuf *out)
{
	uint32_t cnt = 0;

	for (size_t o = 0; o + 2 <= a->len; o += 2u + rd16(a->p + o)) {
		if (!rr_in(a->p + o, b)) {
			dmp_wbuf_put(out, cn->wire, cn->wlen);
			dmp_wbuf_put(out, a->p + o + 2, rd16(a->p + o));
			cnt++;
		}
	}
	return cnt;
}

static struct nxj_chg *chg_new(uint32_t from, uint32_t to,
			       const struct dmp_wbuf *del, uint32_t n_del,
			       const struct dmp_wbuf *add, uint32_t n_add)
{
	struct nxj_chg *ch = dmp_malloc(sizeof(*ch) + del->len + add->len);

	if (ch) {
		ch->from = from;
		ch->to = to;
		ch->n_del = n_del;
		ch->n_add = n_add;
		ch->del_len = del->len;
		ch->len = del->len + add->len;
		if (del->len) { /* an empty growing buffer has no storage */
			memcpy(ch->rrs, del->p, del->len);
		}
		if (add->len) {
			memcpy(ch->rrs + del->len, add->p, add->len);
		}
	}
	return ch;
}

/* Append the change, or on failure break the chain so that no secondary
 * gets an IXFR that misses it (wlock held). */
static void journal(struct dmp_node *n, uint32_t from, struct dmp_wbuf *del,
		    uint32_t n_del, struct dmp_wbuf *add, uint32_t n_add)
{
	struct nxj_chg *ch = NULL;

	if (!dmp_wbuf_error(del) && !dmp_wbuf_error(add)) {
		ch = chg_new(from, n->serial, del, n_del, add, n_add);
	}
	if (!ch) {
		DMP_LOG_W("node: IXFR journal entry lost (out of memory); "
			  "secondaries get the full zone once");
		pthread_rwlock_wrlock(&n->ilock);
		drop_front(&n->xj, n->xj.n);
		pthread_rwlock_unlock(&n->ilock);
		return;
	}
	dmp_nxj_append(n, ch);
}

void dmp_nxj_cap_end(struct dmp_node *n, struct nxj_cap *c)
{
	struct dmp_wbuf del, add, now;
	uint32_t n_del = 0, n_add = 0;

	if (n->o.xfr_journal_changes == 0 || n->serial == c->from) {
		dmp_nxj_cap_free(c);
		return;
	}
	dmp_wbuf_init_dyn(&del);
	dmp_wbuf_init_dyn(&add);
	dmp_wbuf_init_dyn(&now);
	for (size_t i = 0; i < c->n; i++) {
		const struct nxj_capname *cn = &c->names[i];

		now.len = 0;
		pthread_rwlock_rdlock(&n->ilock);
		name_rrs(n, cn->wire, cn->wlen, &now);
		pthread_rwlock_unlock(&n->ilock);
		n_del += diff(cn, &cn->old, &now, &del);
		n_add += diff(cn, &now, &cn->old, &add);
	}
	if (c->names == NULL || dmp_wbuf_error(&now)) {
		del.err = DMP_ENOMEM; /* begin failed: the chain breaks */
	}
	journal(n, c->from, &del, n_del, &add, n_add);
	dmp_wbuf_clear(&del);
	dmp_wbuf_clear(&add);
	dmp_wbuf_clear(&now);
	dmp_nxj_cap_free(c);
}

/* ---- reaping ---- */

/* Reap the store and bump its serial to the one after n->serial, in one
 * transaction. @return 0 or DMP_ESTORE */
static int bump_serial(struct dmp_node *n, uint64_t now_s, uint32_t *serial)
{
	int rc = dmp_st_begin(n->db);

	if (rc == 0) {
		rc = dmp_st_reap(n->db, now_s);
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0) {
		rc = dmp_st_apply(n->db, &n->stm, NULL, 0, now_s * 1000,
				  dmp_st_next_serial(n->serial, now_s), serial);
	}
	rc = rc == 0 ? dmp_st_commit(n->db) : rc;
	if (rc < 0) {
		dmp_st_rollback(n->db);
	}
	return rc;
}

int dmp_nxj_reap(struct dmp_node *n, uint64_t now_s)
{
	struct dmp_wbuf del, none;
	uint32_t n_del = 0, serial, from = n->serial;
	int rc;

	pthread_rwlock_rdlock(&n->ilock);
	if (n->idx.min_exp > now_s) {
		pthread_rwlock_unlock(&n->ilock);
		return dmp_st_reap(n->db, now_s);
	}
	dmp_wbuf_init_dyn(&del);
	dmp_wbuf_init_dyn(&none);
	for (size_t b = 0; b < n->idx.nb; b++) {
		for (const struct nidx_ent *e = n->idx.b[b]; e; e = e->next) {
			for (uint32_t k = 0; k < e->n_rr; k++) {
				if (e->rr[k]->exp_s <= now_s) {
					dmp_wbuf_put(&del, e->name, e->nlen);
					dmp_wbuf_put(&del, e->rr[k]->wire + 2,
						     e->rr[k]->len - 2u);
					n_del++;
				}
			}
		}
	}
	pthread_rwlock_unlock(&n->ilock);
	/* Pending commits first: the serial they carry is below ours. */
	if (n_del == 0) {
		rc = dmp_st_reap(n->db, now_s);
	} else {
		rc = dmp_nu_flush(n);
		rc = rc < 0 ? rc : bump_serial(n, now_s, &serial);
	}
	if (rc >= 0) {
		pthread_rwlock_wrlock(&n->ilock);
		dmp_nidx_expire(&n->idx, now_s);
		if (n_del) {
			n->serial = serial;
		}
		pthread_rwlock_unlock(&n->ilock);
	}
	if (rc >= 0 && n_del && n->o.xfr_journal_changes) {
		journal(n, from, &del, n_del, &none, 0);
	}
	dmp_wbuf_clear(&del);
	dmp_wbuf_clear(&none);
	return rc < 0 ? rc : (int)(n_del > INT32_MAX ? INT32_MAX : n_del);
}

/* ---- persistence ---- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS xfr_journal(seq INTEGER PRIMARY KEY,"
    " serial_from INTEGER NOT NULL, serial_to INTEGER NOT NULL,"
    " n_del INTEGER NOT NULL, n_add INTEGER NOT NULL,"
    " del_len INTEGER NOT NULL, rrs BLOB NOT NULL)";

int dmp_nxj_save(struct dmp_node *n)
{
	struct nxj *j = &n->xj;
	sqlite3_stmt *st = NULL;
	size_t first = 0;
	int rc;

	while (first < j->n && j->c[first]->seq < j->saved_seq) {
		first++;
	}
	if (!j->dirty && first == j->n) {
		return 0;
	}
	rc = dmp_st_begin(n->db);
	if (rc == 0 && j->dirty) {
		rc = sqlite3_prepare_v2(n->db,
					"DELETE FROM xfr_journal WHERE seq < ?",
					-1, &st, NULL) == SQLITE_OK
			 ? 0
			 : dmp_st_dberr(n->db, "xfr_journal");
		if (rc == 0) {
			sqlite3_bind_int64(
			    st, 1,
			    (sqlite3_int64)(j->n ? j->c[0]->seq : j->next_seq));
			rc = sqlite3_step(st) == SQLITE_DONE
				 ? 0
				 : dmp_st_dberr(n->db, "xfr_journal");
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == 0 && first < j->n &&
	    sqlite3_prepare_v2(n->db,
			       "INSERT OR REPLACE INTO xfr_journal VALUES(?,?,"
			       "?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = dmp_st_dberr(n->db, "xfr_journal");
	}
	for (size_t i = first; rc == 0 && i < j->n; i++) {
		const struct nxj_chg *c = j->c[i];

		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)c->seq);
		sqlite3_bind_int64(st, 2, c->from);
		sqlite3_bind_int64(st, 3, c->to);
		sqlite3_bind_int64(st, 4, c->n_del);
		sqlite3_bind_int64(st, 5, c->n_add);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)c->del_len);
		sqlite3_bind_blob(st, 7, c->rrs, (int)c->len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = dmp_st_dberr(n->db, "xfr_journal");
		}
	}
	sqlite3_finalize(st);
	rc = rc == 0 ? dmp_st_commit(n->db) : rc;
	if (rc < 0) {
		dmp_st_rollback(n->db);
		return rc;
	}
	j->dirty = 0;
	j->saved_seq = j->next_seq;
	return 0;
}

/* 1 if rrs[0..len) are whole RRs (owner uncompressed) and del_len falls
 * between two: what node_xfr.c walks without further checks. */
static int chg_valid(const uint8_t *p, size_t len, size_t del_len)
{
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	struct dmp_rbuf b;
	int at_del = del_len == 0;

	dmp_rbuf_init(&b, p, len);
	while (dmp_rbuf_left(&b) > 0 && !dmp_rbuf_error(&b)) {
		size_t rdlen;

		(void)dmp_dnswire_read(&b, name, 0);
		(void)dmp_rbuf_take(&b, 8); /* type, class, TTL */
		rdlen = dmp_rbuf_u16(&b);
		(void)dmp_rbuf_take(&b, rdlen);
		at_del |= b.off == del_len;
	}
	return !dmp_rbuf_error(&b) && at_del;
}

static int load(struct dmp_node *n)
{
	struct nxj *j = &n->xj;
	sqlite3_stmt *st = NULL;
	uint64_t seq;
	int rc = 0, step;

	if (sqlite3_prepare_v2(n->db,
			       "SELECT seq, serial_from, serial_to, n_del,"
			       " n_add, del_len, rrs FROM xfr_journal"
			       " ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		return dmp_st_dberr(n->db, "xfr_journal");
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 6);
		const void *p = sqlite3_column_blob(st, 6);
		sqlite3_int64 dl = sqlite3_column_int64(st, 5);
		struct nxj_chg *c;

		if (dl < 0 || (size_t)dl > len || (!p && len) ||
		    (len && !chg_valid(p, len, (size_t)dl))) {
			j->dirty = 1; /* not ours: forget it */
			break;
		}
		c = dmp_malloc(sizeof(*c) + len);
		if (!c) {
			rc = DMP_ENOMEM;
			break;
		}
		c->seq = (uint64_t)sqlite3_column_int64(st, 0);
		c->from = (uint32_t)sqlite3_column_int64(st, 1);
		c->to = (uint32_t)sqlite3_column_int64(st, 2);
		c->n_del = (uint32_t)sqlite3_column_int64(st, 3);
		c->n_add = (uint32_t)sqlite3_column_int64(st, 4);
		c->del_len = (size_t)dl;
		c->len = len;
		if (len) {
			memcpy(c->rrs, p, len);
		}
		seq = c->seq;
		j->next_seq = seq;
		dmp_nxj_append(n, c); /* may prune c at once */
		j->next_seq = seq + 1;
	}
	if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = dmp_st_dberr(n->db, "xfr_journal");
	}
	sqlite3_finalize(st);
	return rc;
}

int dmp_nxj_open(struct dmp_node *n)
{
	int rc;

	if (sqlite3_exec(n->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		return dmp_st_dberr(n->db, "xfr_journal");
	}
	rc = load(n);
	if (rc < 0) {
		return rc;
	}
	if (n->xj.n && n->xj.c[n->xj.n - 1]->to != n->serial) {
		/* Changes after the last save were lost: useless now. The
		 * rows go at the next prune; nothing is written here, as
		 * commands (dmp-node key ...) open the store of a running
		 * node too. */
		drop_front(&n->xj, n->xj.n);
		n->xj.dirty = 0;
	}
	n->xj.saved_seq = n->xj.open_seq = n->xj.next_seq;
	return 0;
}
