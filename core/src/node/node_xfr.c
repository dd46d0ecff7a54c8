/*
 * core/src/node/node_xfr.c - zone transfer out (RFC 5936 AXFR; RFC 1995
 * IXFR from the change journal, node_xjournal.c, or the full zone in AXFR
 * form when the journal does not reach the client's serial, RFC 1995 4),
 * for secondaries such as Knot.
 * Access by source address (opts.xfr_allow), or by a TSIG key named in
 * opts.xfr_keys, in which case every message is signed (RFC 8945 5.3.1).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <sodium.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "node/node_i.h"

#define XFR_MSG 65535

int dmp_nx_setup(struct dmp_node *n, const struct dmp_node_opts *o)
{
	for (unsigned i = 0; i < o->n_xfr_allow && i < DMP_NODE_MAX_XFR; i++) {
		uint8_t *k = n->xfr[n->n_xfr];

		memset(k, 0, 17);
		if (inet_pton(AF_INET, o->xfr_allow[i], k + 1) == 1) {
			k[0] = 4;
		} else if (inet_pton(AF_INET6, o->xfr_allow[i], k + 1) == 1) {
			k[0] = 6;
		} else {
			return DMP_EINVAL;
		}
		n->n_xfr++;
	}
	return 0;
}

static int xfr_allowed(const struct dmp_node *n, const struct sockaddr *sa)
{
	uint8_t k[17];

	if (!sa) {
		return 0;
	}
	memset(k, 0, sizeof(k));
	if (sa->sa_family == AF_INET) {
		k[0] = 4;
		memcpy(k + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		k[0] = 6;
		memcpy(k + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		       16);
	} else {
		return 0;
	}
	for (unsigned i = 0; i < n->n_xfr; i++) {
		if (memcmp(n->xfr[i], k, sizeof(k)) == 0) {
			return 1;
		}
	}
	return 0;
}

/* The zone, as a list of complete RRs, copied under the read lock. */
struct snap {
	struct dmp_wbuf rrs; /* RRs back to back */
	size_t n_rr;
};

static void snap_rr(struct snap *s, const uint8_t *owner, size_t olen,
		    const uint8_t *rest, size_t rlen)
{
	dmp_wbuf_put(&s->rrs, owner, olen);
	dmp_wbuf_put(&s->rrs, rest, rlen);
	s->n_rr++;
}

static void take_snapshot(struct dmp_node *n, const struct nzone *z,
			  struct snap *s)
{
	uint8_t fixed[DMP_DNS_RR_FIXED];

	pthread_rwlock_rdlock(&n->ilock);
	dmp_nq_put_soa(&s->rrs, n, z, 0, n->serial);
	s->n_rr++;
	for (unsigned i = 0; i < z->n_ns; i++) {
		wr16(fixed, DMP_DNS_TYPE_NS);
		wr16(fixed + 2, DMP_DNS_CLASS_IN);
		dmp_store_u32(fixed + 4, n->o.answer_ttl);
		wr16(fixed + 8, (unsigned)z->nslen[i]);
		snap_rr(s, z->name, z->nlen, fixed, DMP_DNS_RR_FIXED);
		dmp_wbuf_put(&s->rrs, z->ns[i], z->nslen[i]);
	}
	for (unsigned i = 0; i < z->n_a + z->n_aaaa; i++) {
		int v4 = i < z->n_a;

		wr16(fixed, v4 ? DMP_DNS_TYPE_A : DMP_DNS_TYPE_AAAA);
		wr16(fixed + 2, DMP_DNS_CLASS_IN);
		dmp_store_u32(fixed + 4, n->o.answer_ttl);
		wr16(fixed + 8, v4 ? 4 : 16);
		snap_rr(s, z->name, z->nlen, fixed, DMP_DNS_RR_FIXED);
		dmp_wbuf_put(&s->rrs, v4 ? z->a[i] : z->aaaa[i - z->n_a],
			     v4 ? 4 : 16);
	}
	for (size_t b = 0; b < n->idx.nb; b++) {
		for (const struct nidx_ent *e = n->idx.b[b]; e; e = e->next) {
			if (e->n_rr == 0 ||
			    dmp_ni_zone_of(n, e->name, e->nlen) != z) {
				continue;
			}
			/* Expired values too, until the reap removes them
			 * with a serial bump (node_xjournal.c): the zone at
			 * a serial is the same whenever it is sent. */
			for (uint32_t k = 0; k < e->n_rr; k++) {
				/* Skip the c0 0c owner pointer. */
				snap_rr(s, e->name, e->nlen, e->rr[k]->wire + 2,
					e->rr[k]->len - 2u);
			}
		}
	}
	dmp_nq_put_soa(&s->rrs, n, z, 0, n->serial);
	s->n_rr++;
	pthread_rwlock_unlock(&n->ilock);
}

/* Length of the RR at @p p (owner uncompressed). */
static size_t rr_len(const uint8_t *p)
{
	size_t o = dmp_dnswire_name_len(p);

	return o + DMP_DNS_RR_FIXED + rd16(p + o + 8);
}

int dmp_nx_ixfr_serial(const uint8_t *q, size_t qlen, size_t qd_end,
		       const uint8_t *zone, uint32_t *serial)
{
	uint8_t name[DMP_DNS_NAME_WIRE_MAX], tmp[DMP_DNS_NAME_WIRE_MAX];
	unsigned cnt;
	struct dmp_rbuf b;

	if (qlen < DMP_DNS_HDR_LEN || qd_end > qlen) {
		return DMP_EMALFORMED;
	}
	cnt = rd16(q + 6) + rd16(q + 8);
	dmp_rbuf_init(&b, q, qlen);
	b.off = qd_end;
	for (unsigned i = 0; i < cnt; i++) {
		int nl = dmp_dnswire_read(&b, name, 1);
		uint16_t type = dmp_rbuf_u16(&b);
		size_t end;

		(void)dmp_rbuf_u16(&b); /* class */
		(void)dmp_rbuf_u32(&b); /* TTL */
		end = dmp_rbuf_u16(&b);
		if (nl < 0 || dmp_rbuf_error(&b) || end > dmp_rbuf_left(&b)) {
			return DMP_EMALFORMED;
		}
		end += b.off;
		if (i >= rd16(q + 6) && type == DMP_DNS_TYPE_SOA &&
		    dmp_dnswire_name_eq(name, zone)) {
			(void)dmp_dnswire_read(&b, tmp, 1); /* MNAME */
			(void)dmp_dnswire_read(&b, tmp, 1); /* RNAME */
			*serial = dmp_rbuf_u32(&b);
			return dmp_rbuf_error(&b) || b.off + 16 != end
				   ? DMP_EMALFORMED
				   : 0;
		}
		b.off = end;
	}
	return DMP_ENOENT;
}

/* The RRs of @p z among @p n RRs at @p p, into @p s. */
static void snap_zone_rrs(const struct dmp_node *n, const struct nzone *z,
			  struct snap *s, const uint8_t *p, size_t len)
{
	for (size_t o = 0; o < len;) {
		size_t l = rr_len(p + o);

		if (dmp_ni_zone_of(n, p + o, dmp_dnswire_name_len(p + o)) ==
		    z) {
			dmp_wbuf_put(&s->rrs, p + o, l);
			s->n_rr++;
		}
		o += l;
	}
}

/*
 * The IXFR answer from the client's serial @p from (RFC 1995 4): the
 * current SOA alone when the client is up to date, else the current SOA,
 * for each change its old SOA, removed RRs, new SOA, added RRs, and the
 * current SOA again. @return 1 built, 0 the journal does not reach @p from
 * (or the client is ahead of us): send the zone instead.
 */
static int take_ixfr(struct dmp_node *n, const struct nzone *z, uint32_t from,
		     struct snap *s)
{
	long i;

	pthread_rwlock_rdlock(&n->ilock);
	if (from == n->serial) {
		dmp_nq_put_soa(&s->rrs, n, z, 0, n->serial);
		s->n_rr++;
		pthread_rwlock_unlock(&n->ilock);
		return 1;
	}
	i = dmp_ni_serial_lt(from, n->serial) ? dmp_nxj_find(n, from) : -1;
	if (i < 0) {
		pthread_rwlock_unlock(&n->ilock);
		return 0;
	}
	dmp_nq_put_soa(&s->rrs, n, z, 0, n->serial);
	s->n_rr++;
	for (size_t k = (size_t)i; k < n->xj.n; k++) {
		const struct nxj_chg *c = n->xj.c[k];

		dmp_nq_put_soa(&s->rrs, n, z, 0, c->from);
		s->n_rr++;
		snap_zone_rrs(n, z, s, c->rrs, c->del_len);
		dmp_nq_put_soa(&s->rrs, n, z, 0, c->to);
		s->n_rr++;
		snap_zone_rrs(n, z, s, c->rrs + c->del_len,
			      c->len - c->del_len);
	}
	dmp_nq_put_soa(&s->rrs, n, z, 0, n->serial);
	s->n_rr++;
	pthread_rwlock_unlock(&n->ilock);
	return 1;
}

/* Room left in each message for its TSIG RR (owner, algorithm, MAC). */
#define TSIG_ROOM (2 * DMP_DNS_NAME_WIRE_MAX + 64)

static int send_zone(const uint8_t *q, const struct qinfo *qi,
		     const struct snap *s, dmp_node_out_fn out, void *ud,
		     struct xfr_tsig *x, uint64_t now_s)
{
	uint8_t *msg = dmp_malloc(XFR_MSG);
	size_t off = 0, len = 0, max = x ? XFR_MSG - TSIG_ROOM : XFR_MSG;
	unsigned an = 0;
	int first = 1, rc = 0;

	if (!msg) {
		return DMP_ENOMEM;
	}
	for (size_t i = 0; i <= s->n_rr; i++) {
		size_t l = i < s->n_rr ? rr_len(s->rrs.p + off) : 0;

		if (an > 0 && (i == s->n_rr || len + l > max)) {
			wr16(msg + 6, an);
			rc = x ? dmp_nx_tsig_sign(x, msg, &len, XFR_MSG, now_s)
			       : 0;
			if (rc == 0) {
				rc = out(msg, len, ud);
			}
			if (rc != 0) {
				break;
			}
			an = 0;
			first = 0;
		}
		if (i == s->n_rr) {
			break;
		}
		if (an == 0) {
			/* RFC 5936 2.2: every message carries the ID, AA;
			 * the question only in the first. */
			memcpy(msg, q, DMP_DNS_HDR_LEN);
			msg[2] = (uint8_t)((q[2] & 0x79) | 0x80 | 0x04);
			msg[3] = 0;
			wr16(msg + 4, first ? 1 : 0);
			memset(msg + 6, 0, 6);
			len = DMP_DNS_HDR_LEN;
			if (first) {
				memcpy(msg + len, q + DMP_DNS_HDR_LEN,
				       qi->qd_end - DMP_DNS_HDR_LEN);
				len = qi->qd_end;
			}
		}
		memcpy(msg + len, s->rrs.p + off, l);
		len += l;
		off += l;
		an++;
	}
	dmp_free(msg);
	return rc;
}

int dmp_node_handle_stream(struct dmp_node *n, const uint8_t *q, size_t qlen,
			   const struct sockaddr *peer, dmp_node_out_fn out,
			   void *ud, uint64_t now_ms)
{
	struct qinfo qi;
	const struct nzone *z = NULL;
	struct xfr_tsig *x = NULL;
	uint8_t *resp = dmp_malloc(XFR_MSG);
	uint32_t from = 0;
	int len, rc, ixfr = DMP_ENOENT;

	if (!resp) {
		return DMP_ENOMEM;
	}
	if (qlen >= DMP_DNS_HDR_LEN && !(q[2] & 0x80) &&
	    ((q[2] >> 3) & 0x0F) == 0 &&
	    dmp_nq_parse_query(q, qlen, &qi) == 0 &&
	    (qi.qtype == DMP_DNS_TYPE_AXFR || qi.qtype == DMP_DNS_TYPE_IXFR) &&
	    qi.qclass == DMP_DNS_CLASS_IN) {
		size_t rl = 0;
		int tr =
		    dmp_nx_tsig_check(n, q, qlen, qi.qd_end, 1, now_ms / 1000,
				      &x, resp, XFR_MSG, &rl);

		if (tr < 0) {
			rc = rl > 0 ? out(resp, rl, ud) : tr;
			dmp_free(resp);
			return rc;
		}
		if (tr == 1 || xfr_allowed(n, peer)) {
			z = dmp_ni_zone_of(n, qi.name, qi.nlen);
			if (z && z->nlen != qi.nlen) {
				z = NULL; /* only at the apex */
			}
		}
	}
	if (z && qi.qtype == DMP_DNS_TYPE_IXFR) {
		ixfr = dmp_nx_ixfr_serial(q, qlen, qi.qd_end, z->name, &from);
	}
	if (z && ixfr == DMP_EMALFORMED) {
		/* RFC 1995 3: the SOA in the authority section is the
		 * client's version; one we cannot read is a format error. */
		size_t rl = (size_t)dmp_ni_error_reply(
		    q, qlen, qi.qd_end, DMP_DNS_RCODE_FORMERR, resp, XFR_MSG);

		rc = x ? dmp_nx_tsig_sign(x, resp, &rl, XFR_MSG, now_ms / 1000)
		       : 0;
		rc = rc == 0 ? out(resp, rl, ud) : rc;
		dmp_free(resp);
		dmp_nx_tsig_free(x);
		return rc;
	}
	if (z) {
		struct snap s;

		dmp_free(resp);
		memset(&s, 0, sizeof(s));
		dmp_wbuf_init_dyn(&s.rrs);
		/* No SOA in an IXFR: nothing to start from, the zone. */
		if (ixfr != 0 || !take_ixfr(n, z, from, &s)) {
			s.rrs.len = 0;
			s.n_rr = 0;
			take_snapshot(n, z, &s);
		}
		rc = dmp_wbuf_error(&s.rrs)
			 ? DMP_ENOMEM
			 : send_zone(q, &qi, &s, out, ud, x, now_ms / 1000);
		dmp_wbuf_clear(&s.rrs);
		dmp_nx_tsig_free(x);
		return rc;
	}
	dmp_nx_tsig_free(x);
	len = dmp_node_handle(n, q, qlen, DMP_NODE_TCP, peer, resp, XFR_MSG,
			      now_ms);
	rc = len > 0 ? out(resp, (size_t)len, ud) : 0;
	dmp_free(resp);
	return rc;
}

unsigned dmp_node_zone_count(const struct dmp_node *n)
{
	return n->n_zones;
}

int dmp_node_notify_msg(struct dmp_node *n, unsigned zone, uint16_t id,
			uint8_t *buf, size_t cap)
{
	const struct nzone *z;
	struct dmp_wbuf w;

	if (zone >= n->n_zones) {
		return DMP_EINVAL;
	}
	z = &n->zones[zone];
	dmp_wbuf_init(&w, buf, cap);
	/* RFC 1996 3.7: opcode NOTIFY, AA, QTYPE SOA; the SOA itself goes
	 * in the answer section as a hint (3.7, 3.11). */
	dmp_wbuf_u16(&w, id);
	dmp_wbuf_u8(&w, (uint8_t)(DMP_DNS_OPCODE_NOTIFY << 3 | 0x04));
	dmp_wbuf_u8(&w, 0);
	dmp_wbuf_u16(&w, 1);
	dmp_wbuf_u16(&w, 1);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_put(&w, z->name, z->nlen);
	dmp_wbuf_u16(&w, DMP_DNS_TYPE_SOA);
	dmp_wbuf_u16(&w, DMP_DNS_CLASS_IN);
	pthread_rwlock_rdlock(&n->ilock);
	dmp_nq_put_soa(&w, n, z, DMP_DNS_HDR_LEN, n->serial);
	pthread_rwlock_unlock(&n->ilock);
	return dmp_wbuf_error(&w) ? DMP_ENOBUFS : (int)w.len;
}

/* ---- TSIG on queries and zone transfers (RFC 8945 5.3) ---- */

struct xfr_tsig {
	struct nkey key; /* a copy: the key table may be reloaded meanwhile */
	struct dmp_tsig_rr ts; /* the request's; ts.mac points into it */
	uint8_t prior[DMP_TSIG_MAC_BYTES];
	int n_signed;
};

int dmp_nx_tsig_reply(uint8_t *resp, size_t *len, size_t cap,
		      const struct nkey *k, const struct dmp_tsig_rr *ts,
		      uint16_t error, uint64_t now_s)
{
	struct dmp_wbuf w;
	int rc;

	dmp_wbuf_init(&w, resp, cap);
	w.len = *len;
	rc = dmp_tsig_sign_reply(&w, ts, k ? k->secret : NULL, k ? k->slen : 0,
				 error, now_s, NULL);
	if (rc == 0) {
		*len = w.len;
	}
	return rc;
}

/* Is @p k one of opts.xfr_keys? */
static int xfr_key_ok(const struct dmp_node *n, const struct nkey *k)
{
	for (unsigned i = 0; i < n->o.n_xfr_keys; i++) {
		uint8_t w[DMP_DNS_NAME_WIRE_MAX];
		size_t wl;

		if (dmp_dnswire_from_text(n->o.xfr_keys[i], w, &wl) == 0 &&
		    wl == k->nlen && memcmp(w, k->name, wl) == 0) {
			return 1;
		}
	}
	return 0;
}

int dmp_nx_tsig_check(struct dmp_node *n, const uint8_t *q, size_t qlen,
		      size_t qd_end, int for_xfr, uint64_t now_s,
		      struct xfr_tsig **out, uint8_t *resp, size_t cap,
		      size_t *resp_len)
{
	struct dmp_tsig_rr ts;
	struct xfr_tsig *x;
	const struct nkey *k;
	int err = 0, rcode = DMP_DNS_RCODE_NOTAUTH;

	*out = NULL;
	*resp_len = 0;
	if (!dmp_tsig_find(q, qlen, &ts)) {
		return 0;
	}
	x = dmp_calloc(1, sizeof(*x));
	if (!x) {
		return DMP_ENOMEM;
	}
	x->ts = ts;
	pthread_mutex_lock(&n->wlock);
	k = dmp_nu_find_key(n, x->ts.key, x->ts.klen);
	if (k) {
		x->key = *k;
	}
	pthread_mutex_unlock(&n->wlock);
	if (!k || !dmp_tsig_alg_ok(&x->ts)) {
		err = DMP_DNS_RCODE_BADKEY;
	} else if (x->ts.mac_len != DMP_TSIG_MAC_BYTES) {
		err = DMP_DNS_RCODE_BADTRUNC; /* none truncated, as UPDATE */
	} else {
		err = dmp_tsig_verify(q, &x->ts, x->key.secret, x->key.slen,
				      NULL, 0, now_s);
		if (err == 0 && for_xfr && !xfr_key_ok(n, &x->key)) {
			rcode = DMP_DNS_RCODE_REFUSED; /* good, not for this */
		} else if (err == 0) {
			*out = x;
			return 1;
		}
	}
	/* The error reply: unsigned for BADKEY/BADSIG (RFC 8945 5.3.2). */
	*resp_len =
	    (size_t)dmp_ni_error_reply(q, qlen, qd_end, rcode, resp, cap);
	if (dmp_nx_tsig_reply(resp, resp_len, cap,
			      err == 0 || err == DMP_DNS_RCODE_BADTIME ? &x->key
								       : NULL,
			      &x->ts, (uint16_t)err, now_s) < 0) {
		*resp_len = (size_t)dmp_ni_error_reply(
		    q, qlen, 0, DMP_DNS_RCODE_SERVFAIL, resp, cap);
	}
	sodium_memzero(x, sizeof(*x));
	dmp_free(x);
	return -1;
}

int dmp_nx_tsig_sign(struct xfr_tsig *x, uint8_t *msg, size_t *len, size_t cap,
		     uint64_t now_s)
{
	struct dmp_wbuf w;
	int rc;

	dmp_wbuf_init(&w, msg, cap);
	w.len = *len;
	if (x->n_signed == 0) {
		/* First message: request MAC, message, all variables. */
		rc = dmp_tsig_sign_reply(&w, &x->ts, x->key.secret, x->key.slen,
					 0, now_s, x->prior);
	} else {
		/* Later ones: prior MAC, message, timers (5.3.1). */
		rc = dmp_tsig_sign_next(&w, x->ts.key, x->key.secret,
					x->key.slen, x->prior, now_s,
					DMP_TSIG_FUDGE);
	}
	if (rc == 0) {
		*len = w.len;
		x->n_signed++;
	}
	return rc;
}

void dmp_nx_tsig_free(struct xfr_tsig *x)
{
	if (x) {
		sodium_memzero(x, sizeof(*x));
		dmp_free(x);
	}
}
