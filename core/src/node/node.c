/*
 * core/src/node/node.c - node lifecycle, the packet dispatcher, keys and
 * maintenance.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/log.h"
#include "node/node_i.h"

const double dmp_node_lat_bounds[DMP_NODE_LAT_BUCKETS - 1] = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
    0.001,   0.0025,   0.005,	0.01,	0.1};

uint64_t node_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void node_count_reply(struct dmp_node *n, const uint8_t *resp, int len,
		      uint64_t t0_ns)
{
	uint64_t dt = node_mono_ns() - t0_ns;
	double s = (double)dt / 1e9;
	unsigned b = 0;

	if (len > 3) {
		cnt_add(&n->c_rcode[resp[3] & 0x0F], 1);
	}
	while (b < DMP_NODE_LAT_BUCKETS - 1 && s > dmp_node_lat_bounds[b]) {
		b++;
	}
	cnt_add(&n->c_lat[b], 1);
	cnt_add(&n->c_lat_ns, dt);
}

void dmp_node_opts_init(struct dmp_node_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->db_path = "dmp-node.db";
	o->answer_ttl = DMP_NODE_DNS_TTL;
	o->negative_ttl = DMP_NODE_DNS_TTL;
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

struct load_ctx {
	struct dmp_node *n;
	char name[DMP_NODE_NAME_MAX];
	struct nidx_rr **rr;
	uint32_t n_rr, cap;
	int err;
};

static int load_flush(struct load_ctx *c)
{
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;
	int rc = 0;

	if (c->name[0] && dmp_dnswire_from_text(c->name, wire, &wlen) == 0) {
		rc = nidx_set(&c->n->idx, wire, wlen, c->rr, c->n_rr);
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
		    uint64_t exp_s, void *ud)
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
	rr = nidx_rr_new(value, vlen, c->n->o.answer_ttl, exp_s);
	if (!rr) {
		return DMP_ENOMEM;
	}
	c->rr[c->n_rr++] = rr;
	return 0;
}

int node_refresh_name(struct dmp_node *n, const char *name, const uint8_t *wire,
		      size_t wlen, uint64_t now_s)
{
	struct load_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.n = n;
	snprintf(c.name, sizeof(c.name), "%s", name);
	rc = st_name_rows(n->db, &n->stm, name, now_s, load_row, &c);
	if (rc < 0) {
		c.name[0] = '\0';
		(void)load_flush(&c);
		return rc;
	}
	pthread_rwlock_wrlock(&n->ilock);
	rc = nidx_set(&n->idx, wire, wlen, c.rr, c.n_rr);
	pthread_rwlock_unlock(&n->ilock);
	return rc;
}

static int keys_reload(struct dmp_node *n)
{
	struct nkey *k = NULL;
	size_t cnt = 0;
	int rc = st_keys_load(n->db, &k, &cnt);

	if (rc < 0) {
		return rc;
	}
	if (n->keys) {
		dmp_wipe(n->keys, n->n_keys * sizeof(*n->keys));
		dmp_free(n->keys);
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
	int rc = nj_ops_decode(p, len, &ops, &cnt, &now_ms);

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
		rc = st_apply(n->db, &n->stm, ptr, cnt, now_ms, 0, &serial);
	}
	dmp_free(ptr);
	nj_ops_free(ops, cnt);
	return rc;
}

int node_log_checkpoint(struct dmp_node *n)
{
	int rc;

	if (!n->jr || nj_used(n->jr) == 0) {
		return 0;
	}
	rc = dmp_nu_flush(n);
	if (rc == 0) {
		rc = st_sync(n->db);
	}
	if (rc == 0) {
		rc = nj_reset(n->jr);
	}
	return rc;
}

int dmp_node_new(struct dmp_node **out, const struct dmp_node_opts *o,
		 uint64_t now_ms)
{
	struct dmp_node *n;
	struct load_ctx c;
	pthread_rwlockattr_t ra;
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
	n->pend_tail = &n->pend;
	atomic_init(&n->n_pend, 0);
	atomic_init(&n->last_commit_ns, 0);
	rc = nidx_init(&n->idx);
	if (rc < 0) {
		goto fail;
	}
	rc = rl_new(&n->rl[0], o->rate_limit, o->rate_burst);
	if (rc == 0) {
		rc = rl_new(&n->rl[1], o->rate_limit, o->rate_burst);
	}
	if (rc == 0) {
		rc = rl_new_f(&n->claim_rl, o->claim_rate, o->claim_burst);
	}
	if (rc == 0) {
		rc =
		    rl_new_f(&n->key_rl, o->key_write_rate, o->key_write_burst);
	}
	if (rc < 0) {
		goto fail;
	}
	rc = st_open(&n->db, o->db_path);
	if (rc < 0) {
		goto fail;
	}
	if (o->update_log && o->update_log[0]) {
		/* Replay before anything reads the store; without an fsync
		 * per record (a full log holds thousands): the checkpoint
		 * below syncs them all before the log is emptied. */
		/* One transaction for all of it: pages written once, so a
		 * disk that was full needs little room to start again. */
		rc = st_set_full(n->db, &n->stm, 0);
		rc = rc < 0 ? rc : st_begin(n->db);
		rc = rc < 0 ? rc
			    : nj_open(&n->jr, o->update_log,
				      o->update_log_bytes
					  ? o->update_log_bytes
					  : DMP_NODE_UPDATE_LOG_BYTES,
				      replay_one, n);
		if (rc == 0 || rc == DMP_EBUSY) {
			int crc = st_commit(n->db);

			rc = crc < 0 ? crc : rc;
		}
		st_rollback(n->db); /* if still open: a failure above */
		if (rc == DMP_EBUSY) {
			/* Another daemon on the same database has it; that one
			 * replays it. We fsync each commit instead. */
			DMP_LOG_W(
			    "node: update log %s held by another process; "
			    "running without one (slower UPDATEs)",
			    o->update_log);
			rc = 0;
		} else if (rc == 0) {
			rc = node_log_checkpoint(n);
		}
		if (st_set_full(n->db, &n->stm, 1) < 0 && rc == 0) {
			rc = DMP_ESTORE;
		}
		if (rc < 0) {
			DMP_LOG_E("node: update log %s: %s", o->update_log,
				  dmp_strerror(rc));
			goto fail;
		}
	}
	rc = st_serial(n->db, &n->serial, now_ms / 1000);
	if (rc < 0) {
		goto fail;
	}
	memset(&c, 0, sizeof(c));
	c.n = n;
	rc = st_load(n->db, now_ms / 1000, load_row, &c);
	if (rc == 0) {
		rc = load_flush(&c);
	} else {
		c.name[0] = '\0';
		(void)load_flush(&c);
	}
	if (rc < 0) {
		goto fail;
	}
	rc = keys_reload(n);
	if (rc < 0) {
		goto fail;
	}
	(void)st_data_version(n->db, &n->data_version);
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
	nidx_clear(&n->idx);
	if (n->jr && n->db) {
		/* A clean stop leaves an empty log. */
		(void)node_log_checkpoint(n);
	}
	dmp_nu_pending_free(n);
	nj_close(n->jr);
	st_stmts_free(&n->stm);
	if (n->db) {
		sqlite3_close(n->db);
	}
	if (n->keys) {
		dmp_wipe(n->keys, n->n_keys * sizeof(*n->keys));
		dmp_free(n->keys);
	}
	rl_free(n->rl[0]);
	rl_free(n->rl[1]);
	rl_free(n->claim_rl);
	rl_free(n->key_rl);
	pthread_rwlock_destroy(&n->ilock);
	pthread_mutex_destroy(&n->wlock);
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

const struct nzone *node_zone_of(const struct dmp_node *n, const uint8_t *name,
				 size_t nlen)
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

int node_error_reply(const uint8_t *q, size_t qlen, size_t qd_end, int rcode,
		     uint8_t *resp, size_t cap)
{
	size_t len = DMP_DNS_HDR_LEN;

	if (qd_end > DMP_DNS_HDR_LEN && qd_end <= qlen && qd_end <= cap) {
		len = qd_end;
	}
	memcpy(resp, q, len);
	resp[2] = (uint8_t)((q[2] & 0x79) | 0x80); /* QR, opcode, RD */
	resp[3] = (uint8_t)(rcode & 0x0F);
	wr16(resp + 4, len > DMP_DNS_HDR_LEN ? 1 : 0);
	memset(resp + 6, 0, 6);
	return (int)len;
}

/*
 * RFC 8945 5.3: a signed query gets a signed reply (secondaries such as
 * Knot sign their SOA checks with the transfer key); a bad TSIG gets the
 * TSIG error instead of the answer.
 */
static int sign_query_reply(struct dmp_node *n, const uint8_t *q, size_t qlen,
			    uint8_t *resp, size_t cap, int len, uint64_t now_s)
{
	struct qinfo qi;
	struct xfr_tsig *x = NULL;
	size_t rl = 0, l = (size_t)len;
	int tr;

	if (dmp_nq_parse_query(q, qlen, &qi) != 0) {
		return len;
	}
	tr = dmp_nx_tsig_check(n, q, qlen, qi.qd_end, 0, now_s, &x, resp, cap,
			       &rl);
	if (tr < 0) {
		return rl > 0 ? (int)rl : len;
	}
	if (tr == 1) {
		if (dmp_nx_tsig_sign(x, resp, &l, cap, now_s) < 0) {
			l = (size_t)node_error_reply(q, qlen, qi.qd_end,
						     DMP_DNS_RCODE_SERVFAIL,
						     resp, cap);
		}
		dmp_nx_tsig_free(x);
	}
	return (int)l;
}

/*
 * RRL-style slip: answer every second rate-limited UDP query with TC=1 and
 * no records (header and question only, so never larger than the query:
 * no amplification). A real client behind a flooded or spoofed address
 * retries over TCP, which needs a handshake and so cannot be spoofed.
 * @return reply length, or 0 to stay silent
 */
static size_t rl_slip_reply(struct dmp_node *n, const uint8_t *q, size_t qlen,
			    uint8_t *resp, size_t cap)
{
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	struct dmp_rbuf b;
	size_t off;

	if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80) ||
	    ((q[2] >> 3) & 0x0F) != 0 || q[4] != 0 || q[5] != 1) {
		return 0;
	}
	if (atomic_fetch_add(&n->rl_slip, 1) % 2 != 0) {
		return 0;
	}
	/* RFC 1035 4.1.2: QNAME as uncompressed labels, then QTYPE, QCLASS. */
	dmp_rbuf_init(&b, q, qlen);
	b.off = DMP_DNS_HDR_LEN;
	(void)dmp_dnswire_read(&b, name, 0);
	(void)dmp_rbuf_take(&b, 4);
	off = b.off;
	if (dmp_rbuf_error(&b) || off > cap || off > 512) {
		return 0;
	}
	memcpy(resp, q, off);
	resp[2] = (uint8_t)((q[2] & 0x79) | 0x80 | 0x02); /* QR, TC; keep RD */
	resp[3] = 0;					  /* NOERROR */
	memset(resp + 6, 0, 6); /* no answer, authority or additional */
	return off;
}

int dmp_node_handle(struct dmp_node *n, const uint8_t *q, size_t qlen,
		    enum dmp_node_transport t, const struct sockaddr *peer,
		    uint8_t *resp, size_t cap, uint64_t now_ms)
{
	unsigned opcode;
	uint64_t t0 = node_mono_ns();
	int len;

	if (cap < 512) {
		return DMP_ENOBUFS;
	}
	if (!rl_allow(n->rl[t == DMP_NODE_TCP], peer, now_ms)) {
		cnt_add(&n->c_reject[DMP_NODE_REJ_RATE], 1);
		return t == DMP_NODE_UDP
			   ? (int)rl_slip_reply(n, q, qlen, resp, cap)
			   : 0;
	}
	/* RFC 1035 4.1.1: no header, nothing to answer; never answer a
	 * response (that is how reflection loops start). */
	if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80)) {
		return 0;
	}
	if (t == DMP_NODE_UDP && cap > 65535) {
		cap = 65535;
	}
	opcode = (q[2] >> 3) & 0x0F;
	switch (opcode) {
	case DMP_DNS_OPCODE_QUERY:
		cnt_add(&n->c_queries, 1);
		len = dmp_nq_query(n, q, qlen, t, resp, cap, now_ms);
		if (len > 0 && rd16(q + 10) > 0) {
			len = sign_query_reply(n, q, qlen, resp, cap, len,
					       now_ms / 1000);
		}
		break;
	case DMP_DNS_OPCODE_UPDATE: {
		struct dmp_node_msg m = {q, qlen, resp, cap, 0, NULL};

		dmp_nu_update_batch(n, &m, 1, now_ms);
		len = m.resp_len;
		break;
	}
	default:
		/* NOTIFY to us: we are never a secondary. */
		len = node_error_reply(q, qlen, 0, DMP_DNS_RCODE_NOTIMP, resp,
				       cap);
		break;
	}
	node_count_reply(n, resp, len, t0);
	return len;
}

static int is_update(const struct dmp_node_msg *m)
{
	return m->cap >= 512 && m->qlen >= DMP_DNS_HDR_LEN &&
	       !(m->q[2] & 0x80) &&
	       ((m->q[2] >> 3) & 0x0F) == DMP_DNS_OPCODE_UPDATE;
}

void dmp_node_handle_batch(struct dmp_node *n, struct dmp_node_msg *m,
			   size_t count, enum dmp_node_transport t,
			   uint64_t now_ms)
{
	struct dmp_node_msg *upd =
	    dmp_malloc((count ? count : 1) * sizeof(*upd));
	size_t *from = dmp_malloc((count ? count : 1) * sizeof(*from));
	size_t n_upd = 0;
	uint64_t t0 = node_mono_ns();

	for (size_t i = 0; i < count; i++) {
		if (!upd || !from || !is_update(&m[i])) {
			/* Out of memory: one at a time still works. */
			m[i].resp_len =
			    dmp_node_handle(n, m[i].q, m[i].qlen, t, m[i].peer,
					    m[i].resp, m[i].cap, now_ms);
			continue;
		}
		if (!rl_allow(n->rl[t == DMP_NODE_TCP], m[i].peer, now_ms)) {
			cnt_add(&n->c_reject[DMP_NODE_REJ_RATE], 1);
			m[i].resp_len = 0; /* dropped, as dmp_node_handle */
			continue;
		}
		from[n_upd] = i;
		upd[n_upd++] = m[i];
	}
	if (n_upd > 0) {
		dmp_nu_update_batch(n, upd, n_upd, now_ms);
		for (size_t k = 0; k < n_upd; k++) {
			m[from[k]].resp_len = upd[k].resp_len;
			node_count_reply(n, upd[k].resp, upd[k].resp_len, t0);
		}
	}
	dmp_free(upd);
	dmp_free(from);
}

int dmp_node_maintain(struct dmp_node *n, uint64_t now_ms)
{
	uint64_t now_s = now_ms / 1000;
	int64_t dv = 0;
	int rc;

	pthread_mutex_lock(&n->wlock);
	if (st_data_version(n->db, &dv) == 0 && dv != n->data_version) {
		/* Another process (dmp-node key ...) committed. */
		n->data_version = dv;
		if (keys_reload(n) == 0) {
			DMP_LOG_I("node: reloaded %zu TSIG keys", n->n_keys);
		}
	}
	/* Keep the update log short: a checkpoint costs two fsyncs. */
	if (node_log_checkpoint(n) < 0) {
		DMP_LOG_E("node: update log checkpoint failed");
	}
	if (n->last_reap_s != 0 && now_s >= n->last_reap_s &&
	    now_s - n->last_reap_s < n->o.reap_interval) {
		pthread_mutex_unlock(&n->wlock);
		return 0;
	}
	n->last_reap_s = now_s;
	if (st_reg_expire(n->db, now_s) > 0 && keys_reload(n) == 0) {
		DMP_LOG_I("node: expired registered keys dropped");
	}
	rc = st_reap(n->db, now_s);
	pthread_mutex_unlock(&n->wlock);
	pthread_rwlock_wrlock(&n->ilock);
	nidx_expire(&n->idx, now_s);
	pthread_rwlock_unlock(&n->ilock);
	return rc;
}

int dmp_node_key_add(struct dmp_node *n, const char *name,
		     const uint8_t *secret, size_t secret_len,
		     const char *const *scopes, size_t n_scopes,
		     uint64_t now_ms)
{
	char lname[DMP_NODE_NAME_MAX],
	    csv[DMP_NODE_MAX_SCOPES * DMP_NODE_NAME_MAX];
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen, off = 0;
	int rc;

	if (secret_len == 0 || secret_len > 64 ||
	    n_scopes > DMP_NODE_MAX_SCOPES ||
	    dmp_dnswire_from_text(name, wire, &wlen) < 0 || wlen < 2) {
		return DMP_EINVAL;
	}
	dmp_dnswire_to_text(wire, lname);
	csv[0] = '\0';
	for (size_t i = 0; i < n_scopes; i++) {
		size_t l = strlen(scopes[i]);

		if (l == 0 || l >= DMP_NODE_NAME_MAX ||
		    strchr(scopes[i], ',')) {
			return DMP_EINVAL;
		}
		off += (size_t)snprintf(csv + off, sizeof(csv) - off, "%s%s",
					i ? "," : "", scopes[i]);
	}
	for (size_t i = 0; csv[i]; i++) {
		if (csv[i] >= 'A' && csv[i] <= 'Z') {
			csv[i] = (char)(csv[i] - 'A' + 'a');
		}
	}
	pthread_mutex_lock(&n->wlock);
	rc = st_key_put(n->db, lname, secret, secret_len, csv, now_ms / 1000);
	if (rc == 0) {
		rc = keys_reload(n);
		(void)st_data_version(n->db, &n->data_version);
	}
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

/* @p name as the key and token tables keep it (lower case, no dot). */
static int table_name(const char *name, char lname[DMP_NODE_NAME_MAX])
{
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen;

	if (dmp_dnswire_from_text(name, wire, &wlen) < 0) {
		return DMP_EINVAL;
	}
	dmp_dnswire_to_text(wire, lname);
	return 0;
}

int dmp_node_key_revoke(struct dmp_node *n, const char *name)
{
	char lname[DMP_NODE_NAME_MAX];
	int rc;

	if (table_name(name, lname) < 0) {
		return DMP_EINVAL;
	}
	pthread_mutex_lock(&n->wlock);
	rc = st_key_del(n->db, lname);
	if (rc == 0) {
		rc = keys_reload(n);
	}
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

/* Lower-case name and scopes CSV as the key table keeps them. */
static int name_scopes(const char *name, const char *const *scopes,
		       size_t n_scopes, char lname[DMP_NODE_NAME_MAX],
		       char *csv, size_t cap)
{
	uint8_t wire[DMP_DNS_NAME_WIRE_MAX];
	size_t wlen, off = 0;

	if (n_scopes == 0 || n_scopes > DMP_NODE_MAX_SCOPES ||
	    dmp_dnswire_from_text(name, wire, &wlen) < 0 || wlen < 2) {
		return DMP_EINVAL;
	}
	dmp_dnswire_to_text(wire, lname);
	csv[0] = '\0';
	for (size_t i = 0; i < n_scopes; i++) {
		size_t l = strlen(scopes[i]);

		if (l == 0 || l >= DMP_NODE_NAME_MAX ||
		    strchr(scopes[i], ',') || off + l + 2 > cap) {
			return DMP_EINVAL;
		}
		off += (size_t)snprintf(csv + off, cap - off, "%s%s",
					i ? "," : "", scopes[i]);
	}
	for (size_t i = 0; csv[i]; i++) {
		if (csv[i] >= 'A' && csv[i] <= 'Z') {
			csv[i] = (char)(csv[i] - 'A' + 'a');
		}
	}
	return 0;
}

int dmp_node_token_add(struct dmp_node *n, const char *name,
		       const char *const *scopes, size_t n_scopes,
		       char token[DMP_NODE_TOKEN_LEN + 1], uint64_t now_ms)
{
	char lname[DMP_NODE_NAME_MAX],
	    csv[DMP_NODE_MAX_SCOPES * DMP_NODE_NAME_MAX], hex[65];
	uint8_t raw[32], h[32];
	int rc;

	token[0] = '\0';
	rc = name_scopes(name, scopes, n_scopes, lname, csv, sizeof(csv));
	if (rc < 0) {
		return rc;
	}
	dmp_random(raw, sizeof(raw));
	dmp_hex_encode(token, raw, sizeof(raw));
	dmp_sha256(h, token, DMP_NODE_TOKEN_LEN);
	dmp_hex_encode(hex, h, sizeof(h));
	pthread_mutex_lock(&n->wlock);
	rc = st_tok_put(n->db, lname, hex, csv, now_ms / 1000);
	pthread_mutex_unlock(&n->wlock);
	dmp_wipe(raw, sizeof(raw));
	if (rc < 0) {
		dmp_wipe(token, DMP_NODE_TOKEN_LEN + 1);
	}
	return rc;
}

int dmp_node_token_revoke(struct dmp_node *n, const char *name)
{
	char lname[DMP_NODE_NAME_MAX];
	int rc;

	if (table_name(name, lname) < 0) {
		return DMP_EINVAL;
	}
	pthread_mutex_lock(&n->wlock);
	rc = st_tok_del(n->db, lname);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

int dmp_node_token_list(struct dmp_node *n, dmp_node_key_fn fn, void *ud)
{
	int rc;

	pthread_mutex_lock(&n->wlock);
	rc = st_tok_list(n->db, fn, ud);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

int dmp_node_key_list(struct dmp_node *n, dmp_node_key_fn fn, void *ud)
{
	int rc;

	pthread_mutex_lock(&n->wlock);
	rc = st_key_list(n->db, fn, ud);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}

/* One label of @p pat against one of @p s; '*' matches any run of bytes
 * within the label, including none. */
static int glob_label(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < sl) {
		if (pi < pl && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pl && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < pl && p[pi] == '*') {
		pi++;
	}
	return pi == pl;
}

int dmp_node_scope_match(const char *scope, const char *owner)
{
	size_t sl = strlen(scope), ol = strlen(owner);

	if (sl > 0 && scope[sl - 1] == '.') {
		sl--;
	}
	if (ol > 0 && owner[ol - 1] == '.') {
		ol--;
	}
	if (sl == 0) {
		return 0;
	}
	/* Compare label by label from the right. */
	while (sl > 0) {
		size_t ps = sl, os = ol;

		while (ps > 0 && scope[ps - 1] != '.') {
			ps--;
		}
		if (ol == 0) {
			return 0;
		}
		while (os > 0 && owner[os - 1] != '.') {
			os--;
		}
		if (!glob_label(scope + ps, sl - ps, owner + os, ol - os)) {
			return 0;
		}
		sl = ps ? ps - 1 : 0;
		ol = os ? os - 1 : 0;
		if (ps == 0) {
			break;
		}
		if (os == 0) {
			return 0; /* owner ran out of labels first */
		}
	}
	return 1;
}

void dmp_node_stats_get(struct dmp_node *n, struct dmp_node_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->queries = atomic_load(&n->c_queries);
	s->updates = atomic_load(&n->c_updates);
	s->updates_ok = atomic_load(&n->c_updates_ok);
	for (unsigned i = 0; i < 16; i++) {
		s->rcode[i] = atomic_load(&n->c_rcode[i]);
	}
	for (unsigned i = 0; i < DMP_NODE_REJ_MAX; i++) {
		s->reject[i] = atomic_load(&n->c_reject[i]);
	}
	for (unsigned i = 0; i < DMP_NODE_LAT_BUCKETS; i++) {
		s->lat[i] = atomic_load(&n->c_lat[i]);
		s->lat_count += s->lat[i];
	}
	s->lat_sum = (double)atomic_load(&n->c_lat_ns) / 1e9;
	pthread_rwlock_rdlock(&n->ilock);
	s->serial = n->serial;
	s->names = 0;
	for (size_t b = 0; b < n->idx.nb; b++) {
		for (const struct nidx_ent *e = n->idx.b[b]; e; e = e->next) {
			s->rows += e->n_rr;
			s->names += e->n_rr > 0;
		}
	}
	pthread_rwlock_unlock(&n->ilock);
	pthread_mutex_lock(&n->wlock);
	s->keys = (uint32_t)n->n_keys;
	(void)st_size(n->db, &s->store_bytes);
	pthread_mutex_unlock(&n->wlock);
}

int node_op_init(const struct dmp_node *n, struct nop *op, enum nop_kind k,
		 const char *name, uint32_t ttl)
{
	memset(op, 0, sizeof(*op));
	if (strlen(name) >= DMP_NODE_NAME_MAX ||
	    dmp_dnswire_from_text(name, op->wire, &op->wlen) < 0 ||
	    op->wlen < 2 || !dmp_dnswire_ldh(op->wire) ||
	    !node_zone_of(n, op->wire, op->wlen)) {
		return DMP_EINVAL;
	}
	op->kind = k;
	dmp_dnswire_to_text(op->wire, op->owner);
	op->ttl = ttl == 0 && k == NOP_ADD ? DMP_NODE_DNS_TTL : ttl;
	return 0;
}

int dmp_node_put(struct dmp_node *n, const char *name, const char *value,
		 uint32_t ttl, int replace, uint64_t now_ms)
{
	struct nop ops[2];
	size_t vlen = strlen(value), k = 0;
	int rc;

	if (vlen == 0 || !dmp_utf8_valid((const uint8_t *)value, vlen)) {
		return DMP_EINVAL;
	}
	if (ttl > n->o.max_ttl || vlen > n->o.max_value_bytes) {
		return DMP_ETOOBIG;
	}
	if (replace) {
		if (node_op_init(n, &ops[k++], NOP_DEL_ALL, name, 0) < 0) {
			return DMP_EINVAL;
		}
	}
	if (node_op_init(n, &ops[k], NOP_ADD, name, ttl) < 0) {
		return DMP_EINVAL;
	}
	ops[k].value = dmp_malloc(vlen + 1);
	if (!ops[k].value) {
		return DMP_ENOMEM;
	}
	memcpy(ops[k].value, value, vlen + 1);
	ops[k].vlen = vlen;
	rc = dmp_nu_write_op(n, ops, k + 1, now_ms);
	return rc == DMP_DNS_RCODE_NOERROR   ? 0
	       : rc == DMP_DNS_RCODE_REFUSED ? DMP_ETOOBIG
					     : DMP_ESTORE;
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
	rl_set(n->rl[0], o->rate_limit, o->rate_burst);
	rl_set(n->rl[1], o->rate_limit, o->rate_burst);
	rl_set(n->claim_rl, o->claim_rate, o->claim_burst);
	rl_set(n->key_rl, o->key_write_rate, o->key_write_burst);
	rc = keys_reload(n);
	(void)st_data_version(n->db, &n->data_version);
	pthread_mutex_unlock(&n->wlock);
	return rc;
}
