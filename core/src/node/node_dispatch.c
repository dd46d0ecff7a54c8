/*
 * core/src/node/node_dispatch.c - the packet dispatcher (per-IP limit and
 * RRL slip, opcode switch, signed replies), counters and direct writes.
 */
#include <string.h>
#include <time.h>

#include "dmp/err.h"
#include "node/node_i.h"

const double dmp_node_lat_bounds[DMP_NODE_LAT_BUCKETS - 1] = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
    0.001,   0.0025,   0.005,	0.01,	0.1};

uint64_t dmp_ni_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void dmp_ni_count_reply(struct dmp_node *n, const uint8_t *resp, int len,
			uint64_t t0_ns)
{
	uint64_t dt = dmp_ni_mono_ns() - t0_ns;
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

int dmp_ni_error_reply(const uint8_t *q, size_t qlen, size_t qd_end, int rcode,
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
			l = (size_t)dmp_ni_error_reply(q, qlen, qi.qd_end,
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
	uint64_t t0 = dmp_ni_mono_ns();
	int len;

	if (cap < 512) {
		return DMP_ENOBUFS;
	}
	if (!dmp_rl_allow(n->rl[t == DMP_NODE_TCP], peer, now_ms)) {
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
		struct dmp_node_msg m = {q, qlen, resp, cap, 0, peer};

		dmp_nu_update_batch(n, &m, 1, now_ms);
		len = m.resp_len;
		break;
	}
	default:
		/* NOTIFY to us: we are never a secondary. */
		len = dmp_ni_error_reply(q, qlen, 0, DMP_DNS_RCODE_NOTIMP, resp,
					 cap);
		break;
	}
	dmp_ni_count_reply(n, resp, len, t0);
	return len;
}

int dmp_node_is_update(const uint8_t *q, size_t qlen)
{
	return qlen >= DMP_DNS_HDR_LEN && !(q[2] & 0x80) &&
	       ((q[2] >> 3) & 0x0F) == DMP_DNS_OPCODE_UPDATE;
}

void dmp_node_handle_batch(struct dmp_node *n, struct dmp_node_msg *m,
			   size_t count, enum dmp_node_transport t,
			   uint64_t now_ms)
{
	struct dmp_node_msg *upd =
	    dmp_malloc((count ? count : 1) * sizeof(*upd));
	size_t *from = dmp_malloc((count ? count : 1) * sizeof(*from));
	size_t n_upd = 0;
	uint64_t t0 = dmp_ni_mono_ns();

	for (size_t i = 0; i < count; i++) {
		if (!upd || !from || m[i].cap < 512 ||
		    !dmp_node_is_update(m[i].q, m[i].qlen)) {
			/* Out of memory: one at a time still works. */
			m[i].resp_len =
			    dmp_node_handle(n, m[i].q, m[i].qlen, t, m[i].peer,
					    m[i].resp, m[i].cap, now_ms);
			continue;
		}
		if (!dmp_rl_allow(n->rl[t == DMP_NODE_TCP], m[i].peer,
				  now_ms)) {
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
			dmp_ni_count_reply(n, upd[k].resp, upd[k].resp_len, t0);
		}
	}
	dmp_free(upd);
	dmp_free(from);
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
	s->held_values = n->idx.values;
	s->held_bytes = n->idx.bytes;
	s->claim_values = n->idx.claim_values;
	s->claim_bytes = n->idx.claim_bytes;
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
	(void)dmp_st_size(n->db, &s->store_bytes);
	pthread_mutex_unlock(&n->wlock);
}

int dmp_ni_op_init(const struct dmp_node *n, struct nop *op, enum nop_kind k,
		   const char *name, uint32_t ttl)
{
	memset(op, 0, sizeof(*op));
	if (strlen(name) >= DMP_NODE_NAME_MAX ||
	    dmp_dnswire_from_text(name, op->wire, &op->wlen) < 0 ||
	    op->wlen < 2 || !dmp_dnswire_ldh(op->wire) ||
	    !dmp_ni_zone_of(n, op->wire, op->wlen)) {
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
	struct dmp_ni_live live;
	size_t vlen = strlen(value), k = 0;
	int rc;

	if (vlen == 0 || !dmp_utf8_valid((const uint8_t *)value, vlen)) {
		return DMP_EINVAL;
	}
	dmp_ni_live_get(n, &live);
	if (ttl > live.max_ttl || vlen > live.max_value_bytes) {
		return DMP_ETOOBIG;
	}
	if (replace) {
		if (dmp_ni_op_init(n, &ops[k++], NOP_DEL_ALL, name, 0) < 0) {
			return DMP_EINVAL;
		}
	}
	if (dmp_ni_op_init(n, &ops[k], NOP_ADD, name, ttl) < 0) {
		return DMP_EINVAL;
	}
	ops[k].value = dmp_malloc(vlen + 1);
	if (!ops[k].value) {
		return DMP_ENOMEM;
	}
	memcpy(ops[k].value, value, vlen + 1);
	ops[k].vlen = vlen;
	rc = dmp_nu_write_op(n, ops, k + 1, now_ms, NULL);
	return rc == DMP_DNS_RCODE_NOERROR   ? 0
	       : rc == DMP_DNS_RCODE_REFUSED ? DMP_ETOOBIG
					     : DMP_ESTORE;
}
