/*
 * core/src/node/node.c - node lifecycle: options, zones, opening the store
 * (update log replay, index load), keys reload, maintenance and SIGHUP
 * reconfiguration.
 */
#include <stdio.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"

void dmp_node_opts_init(struct dmp_node_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->db_path = "dmp-node.db";
	o->answer_ttl = DMP_NODE_DNS_TTL;
	o->answer_ttl_mailbox = DMP_NODE_MAILBOX_TTL;
	o->negative_ttl = DMP_NODE_DNS_TTL;
	o->negative_ttl_mailbox = DMP_NODE_MAILBOX_TTL;
	o->max_ttl = DMP_NODE_MAX_TTL;
	o->max_value_bytes = DMP_NODE_MAX_VALUE_BYTES;
	o->max_values_per_name = DMP_NODE_MAX_VALUES_PER_NAME;
	o->edns_udp_max = DMP_NODE_EDNS_UDP_MAX;
	o->update_enabled = 1;
	o->reap_interval = 60;
	o->rate_limit = 50;
	o->rate_burst = 200;
	o->claim_mode = DMP_NODE_CLAIM_OFF;
	o->claim_rate = DMP_NODE_CLAIM_RATE;
	o->claim_burst = DMP_NODE_CLAIM_BURST;
	o->key_write_rate = 0;
	o->key_write_burst = 20;
	o->xfr_journal_changes = DMP_NODE_XFR_JOURNAL_CHANGES;
	o->xfr_journal_bytes = DMP_NODE_XFR_JOURNAL_BYTES;
	dmp_nu_budget_defaults(o);
}

/* Publish the reloadable options of @p o for readers outside wlock. */
static void live_set(struct dmp_node *n, const struct dmp_node_opts *o)
{
	pthread_mutex_lock(&n->live_mu);
	n->live.max_ttl = o->max_ttl;
	n->live.max_value_bytes = o->max_value_bytes;
	n->live.update_enabled = o->update_enabled;
	pthread_mutex_unlock(&n->live_mu);
}

void dmp_ni_live_get(struct dmp_node *n, struct dmp_ni_live *out)
{
	pthread_mutex_lock(&n->live_mu);
	*out = n->live;
	pthread_mutex_unlock(&n->live_mu);
}

static int zone_setup(struct nzone *z, const struct dmp_node_zone *c)
{
	char buf[DMP_NODE_NAME_MAX + 16];

	memset(z, 0, sizeof(*z));
	if (dmp_dnswire_from_text(c->name, z->name, &z->nlen) < 0 ||
	    z->nlen < 2) {
		return DMP_EINVAL;
	}
	if (c->mname[0]) {
		snprintf(buf, sizeof(buf), "%s", c->mname);
	} else if (c->n_ns > 0) {
		snprintf(buf, sizeof(buf), "%s", c->ns[0]);
	} else {
		snprintf(buf, sizeof(buf), "ns1.%s", c->name);
	}
	if (dmp_dnswire_from_text(buf, z->mname, &z->mlen) < 0) {
		return DMP_EINVAL;
	}
	if (c->rname[0]) {
		snprintf(buf, sizeof(buf), "%s", c->rname);
	} else {
		snprintf(buf, sizeof(buf), "hostmaster.%s", c->name);
	}
	if (dmp_dnswire_from_text(buf, z->rname, &z->rlen) < 0) {
		return DMP_EINVAL;
	}
	if (c->n_ns > DMP_NODE_MAX_NS || c->n_a > DMP_NODE_MAX_ADDRS ||
	    c->n_aaaa > DMP_NODE_MAX_ADDRS) {
		return DMP_EINVAL;
	}
	for (unsigned i = 0; i < c->n_ns; i++) {
		if (dmp_dnswire_from_text(c->ns[i], z->ns[i], &z->nslen[i]) <
		    0) {
			return DMP_EINVAL;
		}
	}
	z->n_ns = c->n_ns;
	if (z->n_ns == 0) {
		memcpy(z->ns[0], z->mname, z->mlen);
		z->nslen[0] = z->mlen;
		z->n_ns = 1;
	}
	memcpy(z->a, c->a, sizeof(z->a));
	z->n_a = c->n_a;
	memcpy(z->aaaa, c->aaaa, sizeof(z->aaaa));
	z->n_aaaa = c->n_aaaa;
	return 0;
}

/* Writers' ids at load: rows carry their key's name and a store has few
 * writers, so a small cache saves a SHA-256 per row; key names longer
 * than a slot are hashed each time. */
#define KID_SLOTS 64
#define KID_NAME 64

struct load_ctx {
	struct dmp_node *n;
	char name[DMP_NODE_NAME_MAX];
	struct nidx_rr **rr;
	uint32_t n_rr, cap;
	uint64_t values;
	struct nidx_rr **by_id; /* dmp_st_load_by_id: RRs by rowid - 1 */
	uint64_t n_id;
	struct {
		char key[KID_NAME];
		uint64_t kid;
	} kids[KID_SLOTS];
};

static uint64_t load_kid(struct load_ctx *c, const char *key)
{
	size_t len = strlen(key);
	uint32_t h = 2166136261u;

	if (len == 0 || len >= KID_NAME) {
		return dmp_nidx_kid(key);
	}
	for (size_t i = 0; i < len; i++) {
		h = (h ^ (uint8_t)key[i]) * 16777619u;
	}
	h %= KID_SLOTS;
	if (strcmp(c->kids[h].key, key) != 0) {
		memcpy(c->kids[h].key, key, len + 1);
		c->kids[h].kid = dmp_nidx_kid(key);
	}
	return c->kids[h].kid;
}

/*
 * The load by rowid (dmp_st_load_by_id): the RRs built in rowid order
 * wait in by_id[rowid - 1] until the ordered pass hands each to its name.
 * A table whose rowids are sparse (many rows deleted, newer ones appended)
 * would make by_id large: then the load in name order instead.
 */
#define LOAD_SPARSE 4
#define LOAD_BY_NAME 1 /* load_size: not by rowid */

static int load_size(uint64_t rows, int64_t max_rowid, void *ud)
{
	struct load_ctx *c = ud;

	if (max_rowid < 0 || (uint64_t)max_rowid > LOAD_SPARSE * rows + 1024) {
		return LOAD_BY_NAME;
	}
	/* Most names hold one value; ancestors (mailboxes) are a few
	 * percent more: the hash table sized once. */
	dmp_nidx_reserve(&c->n->idx, rows);
	c->n_id = (uint64_t)max_rowid;
	c->by_id = c->n_id ? dmp_calloc(c->n_id, sizeof(*c->by_id)) : NULL;
	return c->n_id && !c->by_id ? DMP_ENOMEM : 0;
}

static int load_val(int64_t rowid, const char *value, size_t vlen,
		    uint64_t exp_s, const char *key, void *ud)
{
	struct load_ctx *c = ud;
	struct nidx_rr *rr;

	if (rowid < 1 || (uint64_t)rowid > c->n_id || c->by_id[rowid - 1]) {
		return DMP_EINTERNAL; /* not in the read transaction's table */
	}
	rr = dmp_nidx_rr_new(value, vlen, c->n->o.answer_ttl, exp_s,
			     load_kid(c, key));
	if (!rr) {
		return DMP_ENOMEM;
	}
	c->by_id[rowid - 1] = rr;
	return 0;
}

static int load_ord(int64_t rowid, const char *name, void *ud)
{
	struct load_ctx *c = ud;
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;
	struct nidx_rr *rr;

	if (rowid < 1 || (uint64_t)rowid > c->n_id || !c->by_id[rowid - 1]) {
		return 0; /* expired at 0 (skipped) */
	}
	rr = c->by_id[rowid - 1];
	c->by_id[rowid - 1] = NULL;
	if (dmp_dnswire_from_text(name, wire, &wlen) < 0) {
		dmp_free(rr); /* as load_flush: a name we cannot answer */
		return 0;
	}
	c->values++;
	return dmp_nidx_append(&c->n->idx, wire, wlen, rr);
}

static int load_flush(struct load_ctx *c)
{
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;
	int rc = 0;

	if (c->name[0] && dmp_dnswire_from_text(c->name, wire, &wlen) == 0) {
		rc = dmp_nidx_set(&c->n->idx, wire, wlen, c->rr, c->n_rr);
	} else {
		for (uint32_t i = 0; i < c->n_rr; i++) {
			dmp_free(c->rr[i]);
		}
		dmp_free(c->rr);
	}
	c->rr = NULL;
	c->n_rr = c->cap = 0;
	c->name[0] = '\0';
	return rc;
}

static int load_row(const char *name, const char *value, size_t vlen,
		    uint64_t exp_s, const char *key, void *ud)
{
	struct load_ctx *c = ud;
	struct nidx_rr *rr;
	int rc;

	if (strcmp(name, c->name) != 0) {
		rc = load_flush(c);
		if (rc < 0) {
			return rc;
		}
		snprintf(c->name, sizeof(c->name), "%s", name);
	}
	if (c->n_rr == c->cap) {
		uint32_t nc = c->cap ? c->cap * 2 : 4;
		struct nidx_rr **p = dmp_realloc(c->rr, nc * sizeof(*p));

		if (!p) {
			return DMP_ENOMEM;
		}
		c->rr = p;
		c->cap = nc;
	}
	rr = dmp_nidx_rr_new(value, vlen, c->n->o.answer_ttl, exp_s,
			     load_kid(c, key));
	if (!rr) {
		return DMP_ENOMEM;
	}
	c->rr[c->n_rr++] = rr;
	c->values++;
	return 0;
}

/* Index the store: by rowid, else (sparse rowids) in name order. */
static int load_all(struct load_ctx *c)
{
	struct dmp_node *n = c->n;
	int rc = dmp_st_load_by_id(n->db, load_size, load_val, load_ord, c);

	for (uint64_t i = 0; c->by_id && i < c->n_id; i++) {
		dmp_free(c->by_id[i]); /* rows no ordered pass took */
	}
	dmp_free(c->by_id);
	c->by_id = NULL;
	if (rc != LOAD_BY_NAME) {
		return rc;
	}
	/* Expired rows too: the first reap (dmp_node_maintain) removes them
	 * with a serial bump and an IXFR journal entry (node_xjournal.c),
	 * so the zone is what the journal last recorded. Queries hide them
	 * meanwhile. */
	rc = dmp_st_load(n->db, 0, load_row, c);
	if (rc == 0) {
		rc = load_flush(c);
	} else {
		c->name[0] = '\0';
		(void)load_flush(c);
	}
	return rc;
}

int dmp_ni_refresh_name(struct dmp_node *n, const char *name,
			const uint8_t *wire, size_t wlen, uint64_t now_s)
{
	struct load_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.n = n;
	snprintf(c.name, sizeof(c.name), "%s", name);
	rc = dmp_st_name_rows(n->db, &n->stm, name, now_s, load_row, &c);
	if (rc < 0) {
		c.name[0] = '\0';
		(void)load_flush(&c);
		return rc;
	}
	pthread_rwlock_wrlock(&n->ilock);
	rc = dmp_nidx_set(&n->idx, wire, wlen, c.rr, c.n_rr);
	pthread_rwlock_unlock(&n->ilock);
	return rc;
}

int dmp_ni_keys_reload(struct dmp_node *n)
{
	struct nkey *k = NULL;
	size_t cnt = 0;
	int rc = dmp_st_keys_load(n->db, &k, &cnt);

	if (rc < 0) {
		return rc;
	}
	if (n->keys) {
		dmp_wipe_free(n->keys, n->n_keys * sizeof(*n->keys));
	}
	n->keys = k;
	n->n_keys = cnt;
	return 0;
}

/* One record of the update log at start: applied again. Records already
 * in the store change nothing (upserts of the same row with the same
 * expiry and time, deletes of what is gone); the serial only grows. */
static int replay_one(uint64_t seq, const uint8_t *p, size_t len, void *ud)
{
	struct dmp_node *n = ud;
	struct nop *ops = NULL;
	const struct nop **ptr = NULL;
	size_t cnt = 0;
	uint64_t now_ms;
	uint32_t serial;
	int rc = dmp_nj_ops_decode(p, len, &ops, &cnt, &now_ms);

	if (rc < 0) {
		/* The checksum held, so we wrote it: a bug or another
		 * version. Stop rather than skip a change. */
		DMP_LOG_E("node: update log record %llu does not parse",
			  (unsigned long long)seq);
		return rc;
	}
	ptr = dmp_malloc(cnt * sizeof(*ptr));
	rc = ptr ? 0 : DMP_ENOMEM;
	for (size_t i = 0; ptr && i < cnt; i++) {
		ptr[i] = &ops[i];
	}
	/* Inside the one transaction of the whole replay (dmp_node_new). */
	if (rc == 0) {
		rc = dmp_st_apply(n->db, &n->stm, ptr, cnt, now_ms, 0, &serial);
	}
	dmp_free(ptr);
	dmp_nj_ops_free(ops, cnt);
	return rc;
}

int dmp_ni_log_checkpoint(struct dmp_node *n)
{
	int rc;

	if (!n->jr || dmp_nj_used(n->jr) == 0) {
		return 0;
	}
	rc = dmp_nu_flush(n);
	if (rc == 0) {
		rc = dmp_st_sync(n->db);
	}
	if (rc == 0) {
		rc = dmp_nj_reset(n->jr);
	}
	return rc;
}

int dmp_node_new(struct dmp_node **out, const struct dmp_node_opts *o,
		 uint64_t now_ms)
{
	struct dmp_node *n;
	struct load_ctx c;
	pthread_rwlockattr_t ra;
	uint64_t t0 = dmp_ni_mono_ns(), t_open;
	int rc;

	*out = NULL;
	if (!o->db_path || o->n_zones > DMP_NODE_MAX_ZONES ||
	    o->edns_udp_max < 512) {
		return DMP_EINVAL;
	}
	rc = dmp_init();
	if (rc < 0) {
		return rc;
	}
	n = dmp_calloc(1, sizeof(*n));
	if (!n) {
		return DMP_ENOMEM;
	}
	n->o = *o;
	n->o.db_path = NULL;
	for (unsigned i = 0; i < o->n_zones; i++) {
		rc = zone_setup(&n->zones[i], &o->zones[i]);
		if (rc < 0) {
			DMP_LOG_E("node: bad zone '%s'", o->zones[i].name);
			dmp_free(n);
			return rc;
		}
	}
	n->n_zones = o->n_zones;
	if (dmp_nu_budget_check(o) < 0) {
		dmp_free(n);
		return DMP_EINVAL;
	}
	if (dmp_nx_setup(n, o) < 0) {
		DMP_LOG_E("node: bad xfr_allow address");
		dmp_free(n);
		return DMP_EINVAL;
	}
	/* Writers must not starve behind a steady stream of queries. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(
	    &ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&n->ilock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&n->wlock, NULL);
	pthread_mutex_init(&n->live_mu, NULL);
	live_set(n, o);
	n->pend_tail = &n->pend;
	atomic_init(&n->n_pend, 0);
	atomic_init(&n->last_commit_ns, 0);
	rc = dmp_nidx_init(&n->idx);
	if (rc < 0) {
		goto fail;
	}
	rc = dmp_rl_new(&n->rl[0], o->rate_limit, o->rate_burst);
	if (rc == 0) {
		rc = dmp_rl_new(&n->rl[1], o->rate_limit, o->rate_burst);
	}
	if (rc == 0) {
		/* Addresses keyed by prefix (node_rl.c); 0: the default. */
		n->o.rate_v4_prefix = o->rate_v4_prefix
					  ? o->rate_v4_prefix
					  : DMP_NODE_RATE_V4_PREFIX;
		n->o.rate_v6_prefix = o->rate_v6_prefix
					  ? o->rate_v6_prefix
					  : DMP_NODE_RATE_V6_PREFIX;
		for (int i = 0; i < 2 && rc == 0; i++) {
			rc = dmp_rl_set_prefix(n->rl[i], n->o.rate_v4_prefix,
					       n->o.rate_v6_prefix);
		}
	}
	if (rc == 0) {
		rc = dmp_rl_new_f(&n->claim_rl, o->claim_rate, o->claim_burst);
	}
	if (rc == 0) {
		rc = dmp_rl_new_f(&n->key_rl, o->key_write_rate,
				  o->key_write_burst);
	}
	if (rc == 0) {
		rc = dmp_rl_new_f(&n->claim_src_rl, o->claim_source_rate,
				  o->claim_source_burst);
	}
	if (rc == 0) {
		unsigned log2 = 10;
		uint32_t want =
		    o->replay_cache ? o->replay_cache : DMP_NODE_REPLAY_CACHE;

		while (log2 < 24 && (1u << log2) < want) {
			log2++;
		}
		rc = dmp_tsig_replay_new(&n->replay, log2);
	}
	if (rc < 0) {
		goto fail;
	}
	rc = dmp_st_open(&n->db, o->db_path, !o->db_must_exist);
	if (rc < 0) {
		goto fail;
	}
	if (o->update_log && o->update_log[0]) {
		/* Replay before anything reads the store; without an fsync
		 * per record (a full log holds thousands): the checkpoint
		 * below syncs them all before the log is emptied. */
		/* One transaction for all of it: pages written once, so a
		 * disk that was full needs little room to start again. */
		rc = dmp_st_set_full(n->db, &n->stm, 0);
		rc = rc < 0 ? rc : dmp_st_begin(n->db);
		rc = rc < 0 ? rc
			    : dmp_nj_open(&n->jr, o->update_log,
					  o->update_log_bytes
					      ? o->update_log_bytes
					      : DMP_NODE_UPDATE_LOG_BYTES,
					  replay_one, n);
		if (rc == 0 || rc == DMP_EBUSY) {
			int crc = dmp_st_commit(n->db);

			rc = crc < 0 ? crc : rc;
		}
		dmp_st_rollback(n->db); /* if still open: a failure above */
		if (rc == DMP_EBUSY) {
			/* Another daemon on the same database has it; that one
			 * replays it. We fsync each commit instead. */
			DMP_LOG_W(
			    "node: update log %s held by another process; "
			    "running without one (slower UPDATEs)",
			    o->update_log);
			rc = 0;
		}
		/* No checkpoint here: the replayed records stay in the log
		 * (appends go after them) until the first one, which the
		 * maintenance thread takes once queries are answered
		 * (dmp_node_maintain), or a full log, or dmp_node_free. A
		 * crash before it replays them again: idempotent. The two
		 * fsyncs of a just-copied store cost seconds at 1M records
		 * (docs/performance.md). */
		if (dmp_st_set_full(n->db, &n->stm, 1) < 0 && rc == 0) {
			rc = DMP_ESTORE;
		}
		if (rc < 0) {
			DMP_LOG_E("node: update log %s: %s", o->update_log,
				  dmp_strerror(rc));
			goto fail;
		}
	}
	rc = dmp_st_serial(n->db, &n->serial, now_ms / 1000);
	rc = rc < 0 ? rc : dmp_nxj_open(n);
	if (rc < 0) {
		goto fail;
	}
	memset(&c, 0, sizeof(c));
	c.n = n;
	t_open = dmp_ni_mono_ns();
	/* Expired rows too (see load_all). */
	rc = load_all(&c);
	if (rc < 0) {
		goto fail;
	}
	rc = dmp_ni_keys_reload(n);
	if (rc < 0) {
		goto fail;
	}
	(void)dmp_st_data_version(n->db, &n->data_version);
	if (n->n_zones > 0) { /* a serving node, not a key command */
		uint64_t t_end = dmp_ni_mono_ns();

		DMP_LOG_N("node: %llu values at %zu names loaded in %.3f s "
			  "(store and update log %.3f s, index %.3f s)",
			  (unsigned long long)c.values, n->idx.count,
			  (double)(t_end - t0) / 1e9,
			  (double)(t_open - t0) / 1e9,
			  (double)(t_end - t_open) / 1e9);
	}
	*out = n;
	return 0;
fail:
	dmp_node_free(n);
	return rc;
}

void dmp_node_free(struct dmp_node *n)
{
	if (!n) {
		return;
	}
	dmp_nidx_clear(&n->idx);
	if (n->jr && n->db) {
		/* A clean stop leaves an empty log. */
		(void)dmp_ni_log_checkpoint(n);
	}
	/* Only what this process journaled: a command opening the store of
	 * a running node (other limits) must not prune its journal. */
	if (n->db && !n->pend && n->xj.next_seq != n->xj.open_seq) {
		(void)dmp_nxj_save(n);
	}
	dmp_nxj_free(&n->xj);
	dmp_nu_pending_free(n);
	dmp_nj_close(n->jr);
	dmp_st_stmts_free(&n->stm);
	if (n->db) {
		sqlite3_close(n->db);
	}
	if (n->keys) {
		dmp_wipe_free(n->keys, n->n_keys * sizeof(*n->keys));
	}
	dmp_rl_free(n->rl[0]);
	dmp_rl_free(n->rl[1]);
	dmp_rl_free(n->claim_rl);
	dmp_rl_free(n->key_rl);
	dmp_rl_free(n->claim_src_rl);
	dmp_tsig_replay_free(n->replay);
	pthread_rwlock_destroy(&n->ilock);
	pthread_mutex_destroy(&n->wlock);
	pthread_mutex_destroy(&n->live_mu);
	dmp_free(n);
}

uint32_t dmp_node_serial(struct dmp_node *n)
{
	uint32_t s;

	pthread_rwlock_rdlock(&n->ilock);
	s = n->serial;
	pthread_rwlock_unlock(&n->ilock);
	return s;
}

const struct nzone *dmp_ni_zone_of(const struct dmp_node *n,
				   const uint8_t *name, size_t nlen)
{
	const struct nzone *best = NULL;

	for (unsigned i = 0; i < n->n_zones; i++) {
		const struct nzone *z = &n->zones[i];

		if ((!best || z->nlen > best->nlen) &&
		    dmp_dnswire_in_zone(name, nlen, z->name, z->nlen)) {
			best = z;
		}
	}
	return best;
}

int dmp_node_maintain(struct dmp_node *n, uint64_t now_ms)
{
	uint64_t now_s = now_ms / 1000;
	int64_t dv = 0;
	int rc;

	pthread_mutex_lock(&n->wlock);
	if (dmp_st_data_version(n->db, &dv) == 0 && dv != n->data_version) {
		/* Another process (dmp-node key ...) committed. */
		n->data_version = dv;
		if (dmp_ni_keys_reload(n) == 0) {
			DMP_LOG_I("node: reloaded %zu TSIG keys", n->n_keys);
		}
	}
	/* Keep the update log short: a checkpoint costs two fsyncs. */
	if (dmp_ni_log_checkpoint(n) < 0) {
		DMP_LOG_E("node: update log checkpoint failed");
	}
	if (!n->pend && dmp_nxj_save(n) < 0) {
		DMP_LOG_E("node: IXFR journal save failed; retried");
	}
	if (n->last_reap_s != 0 && now_s >= n->last_reap_s &&
	    now_s - n->last_reap_s < n->o.reap_interval) {
		pthread_mutex_unlock(&n->wlock);
		return 0;
	}
	n->last_reap_s = now_s;
	if (dmp_st_reg_expire(n->db, now_s) > 0 && dmp_ni_keys_reload(n) == 0) {
		DMP_LOG_I("node: expired registered keys dropped");
	}
	rc = dmp_nxj_reap(n, now_s);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

int dmp_node_reconfigure(struct dmp_node *n, const struct dmp_node_opts *o)
{
	int rc;

	pthread_mutex_lock(&n->wlock);
	n->o.max_ttl = o->max_ttl;
	n->o.max_value_bytes = o->max_value_bytes;
	n->o.max_values_per_name = o->max_values_per_name;
	n->o.update_enabled = o->update_enabled;
	n->o.claim_mode = o->claim_mode;
	n->o.rate_limit = o->rate_limit;
	n->o.rate_burst = o->rate_burst;
	n->o.key_quota = o->key_quota;
	dmp_nu_budget_reconfigure(n, o);
	live_set(n, o);
	dmp_rl_set(n->rl[0], o->rate_limit, o->rate_burst);
	dmp_rl_set(n->rl[1], o->rate_limit, o->rate_burst);
	dmp_rl_set(n->claim_rl, o->claim_rate, o->claim_burst);
	dmp_rl_set(n->key_rl, o->key_write_rate, o->key_write_burst);
	rc = dmp_ni_keys_reload(n);
	(void)dmp_st_data_version(n->db, &n->data_version);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}
