/*
 * core/src/node/dmp_nq_query.c - QUERY (RFC 1035 4.1) answered from the
 * in-memory index only. The question is echoed byte for byte (0x20 case
 * preserved); answer owners are pointers to it.
 */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/err.h"
#include "node/node_i.h"

/* Skip one RR; for the additional section, note an OPT (RFC 6891 6.1). */
static void skip_rr(struct dmp_rbuf *b, struct qinfo *qi, int additional)
{
	uint8_t name[DMP_DNS_NAME_WIRE_MAX];
	int nlen = dmp_dnswire_read(b, name, 1);
	uint16_t type = dmp_rbuf_u16(b), cls = dmp_rbuf_u16(b), rdlen;
	uint8_t ttl[4];

	dmp_rbuf_copy(b, ttl, sizeof(ttl));
	rdlen = dmp_rbuf_u16(b);
	if (!dmp_rbuf_take(b, rdlen) || type != DMP_DNS_TYPE_OPT) {
		return;
	}
	/* RFC 6891 6.1.1: only in additional, root owner, once. */
	if (!additional || nlen != 1 || qi->edns) {
		b->err = DMP_EMALFORMED;
		return;
	}
	qi->edns = 1;
	qi->payload = cls;
	qi->version = ttl[1];
	qi->do_bit = (ttl[2] & 0x80) != 0;
}

int dmp_nq_parse_query(const uint8_t *q, size_t qlen, struct qinfo *qi)
{
	struct dmp_rbuf b;
	unsigned qd, an, ns, ar;
	int nlen;

	memset(qi, 0, sizeof(*qi));
	dmp_rbuf_init(&b, q, qlen);
	(void)dmp_rbuf_u32(&b); /* ID, flags */
	qd = dmp_rbuf_u16(&b);
	an = dmp_rbuf_u16(&b);
	ns = dmp_rbuf_u16(&b);
	ar = dmp_rbuf_u16(&b);
	if (qd != 1) {
		return DMP_EMALFORMED;
	}
	nlen = dmp_dnswire_read(&b, qi->name, 0);
	qi->nlen = nlen > 0 ? (size_t)nlen : 0;
	qi->qtype = dmp_rbuf_u16(&b);
	qi->qclass = dmp_rbuf_u16(&b);
	qi->qd_end = b.off;
	for (unsigned i = 0; i < an + ns + ar && !b.err; i++) {
		skip_rr(&b, qi, i >= an + ns);
	}
	return dmp_rbuf_finish(&b);
}

/* SOA RR with its owner a pointer to the apex inside the question; @p ttl
 * is the RR's TTL, the RDATA is the zone's SOA. */
static void put_soa(struct dmp_wbuf *w, const struct dmp_node *n,
		    const struct nzone *z, size_t apex_off, uint32_t serial,
		    uint32_t ttl)
{
	if (apex_off) {
		dmp_wbuf_u16(w, (uint16_t)(0xC000 | apex_off));
	} else {
		dmp_wbuf_put(w, z->name, z->nlen);
	}
	dmp_wbuf_u16(w, DMP_DNS_TYPE_SOA);
	dmp_wbuf_u16(w, DMP_DNS_CLASS_IN);
	dmp_wbuf_u32(w, ttl);
	dmp_wbuf_u16(w, (uint16_t)(z->mlen + z->rlen + 20));
	dmp_wbuf_put(w, z->mname, z->mlen);
	dmp_wbuf_put(w, z->rname, z->rlen);
	dmp_wbuf_u32(w, serial);
	dmp_wbuf_u32(w, 3600);		    /* refresh */
	dmp_wbuf_u32(w, 600);		    /* retry */
	dmp_wbuf_u32(w, 604800);	    /* expire */
	dmp_wbuf_u32(w, n->o.negative_ttl); /* RFC 2308 4: negative TTL */
}

/* The zone's SOA as it is (answers, AXFR/IXFR, NOTIFY). */
void dmp_nq_put_soa(struct dmp_wbuf *w, const struct dmp_node *n,
		    const struct nzone *z, size_t apex_off, uint32_t serial)
{
	put_soa(w, n, z, apex_off, serial, n->o.negative_ttl);
}

/* @p label (lower case, as dmp_dnswire_read leaves it) starts with @p p
 * and has more after it. */
static int label_prefix(const uint8_t *label, size_t len, const char *p)
{
	size_t pl = strlen(p);

	return len > pl && memcmp(label, p, pl) == 0;
}

/* A mailbox name below the zone: its first label is one that
 * core/src/wire/names.c makes for slots, claims or chunks
 * ("slot-<n>.mb-<h12>", "claim-<n>.mb-<h12>", "chunk-<nnnn>-<key>"), or
 * the mailbox "mb-<h12>" itself (a resolver doing RFC 9156 QNAME
 * minimisation asks for it first). These names appear while clients poll
 * them, so negative answers for them are cached only briefly; slot and
 * claim RRsets also grow while they are polled, so their answers are too
 * (PROTOCOL.md interoperability). Chunk names never change once there. */
enum mbox_kind { MBOX_NONE, MBOX_SLOT, MBOX_OTHER };

static enum mbox_kind mailbox_kind(const uint8_t *name, size_t nlen,
				   size_t zlen)
{
	size_t l;

	if (nlen <= zlen || name[0] == 0) {
		return MBOX_NONE;
	}
	l = name[0];
	if (1 + l > nlen - zlen) {
		return MBOX_NONE;
	}
	if (label_prefix(name + 1, l, "slot-") ||
	    label_prefix(name + 1, l, "claim-")) {
		return MBOX_SLOT;
	}
	if (label_prefix(name + 1, l, "chunk-") ||
	    label_prefix(name + 1, l, "mb-")) {
		return MBOX_OTHER;
	}
	return MBOX_NONE;
}

static size_t soa_len(const struct nzone *z)
{
	return 2 + DMP_DNS_RR_FIXED + z->mlen + z->rlen + 20;
}

static void put_rr_hdr(struct dmp_wbuf *w, size_t owner_off, uint16_t type,
		       uint32_t ttl, size_t rdlen)
{
	dmp_wbuf_u16(w, (uint16_t)(0xC000 | owner_off));
	dmp_wbuf_u16(w, type);
	dmp_wbuf_u16(w, DMP_DNS_CLASS_IN);
	dmp_wbuf_u32(w, ttl);
	dmp_wbuf_u16(w, (uint16_t)rdlen);
}

int dmp_nq_query(struct dmp_node *n, const uint8_t *q, size_t qlen,
		 enum dmp_node_transport t, uint8_t *resp, size_t cap,
		 uint64_t now_ms)
{
	const uint64_t now_s = now_ms / 1000;
	const uint32_t ttl = n->o.answer_ttl;
	struct qinfo qi;
	const struct nzone *z;
	struct dmp_wbuf w;
	size_t limit, apex_off, need, opt_len;
	unsigned rcode = DMP_DNS_RCODE_NOERROR, ancount = 0, nscount = 0;
	int apex, exists = 0, tc = 0, neg_soa = 0;
	enum mbox_kind mbox;
	uint16_t qt;

	if (dmp_nq_parse_query(q, qlen, &qi) < 0) {
		return dmp_ni_error_reply(q, qlen, 0, DMP_DNS_RCODE_FORMERR,
					  resp, cap);
	}
	/* RFC 6891 6.2.3/6.2.5: the client's size, at least 512, at most our
	 * cap; 512 without EDNS. TCP: the 16-bit frame. */
	if (t == DMP_NODE_TCP) {
		limit = 65535;
	} else if (qi.edns) {
		limit = qi.payload < 512 ? 512 : qi.payload;
		if (limit > n->o.edns_udp_max) {
			limit = n->o.edns_udp_max;
		}
	} else {
		limit = 512;
	}
	if (limit > cap) {
		limit = cap;
	}
	opt_len = qi.edns ? 11 : 0;
	qt = qi.qtype;

	dmp_wbuf_init(&w, resp, limit);
	dmp_wbuf_put(&w, q, qi.qd_end);
	resp[2] = (uint8_t)((q[2] & 0x79) | 0x80); /* QR, opcode, RD */
	resp[3] = (uint8_t)(q[3] & 0x10);	   /* CD */
	wr16(resp + 6, 0);
	wr16(resp + 8, 0);
	wr16(resp + 10, 0);

	if (qi.edns && qi.version != 0) {
		rcode = DMP_DNS_RCODE_BADVERS; /* RFC 6891 6.1.3 */
		goto finish;
	}
	if (qi.qclass != DMP_DNS_CLASS_IN && qi.qclass != DMP_DNS_CLASS_ANY) {
		rcode = DMP_DNS_RCODE_REFUSED;
		goto finish;
	}
	if (qt == DMP_DNS_TYPE_OPT || qt == DMP_DNS_TYPE_TSIG ||
	    (qt >= 128 && qt <= 250)) {
		rcode = DMP_DNS_RCODE_FORMERR; /* meta types are no questions */
		goto finish;
	}
	z = dmp_ni_zone_of(n, qi.name, qi.nlen);
	if (!z) {
		rcode = DMP_DNS_RCODE_REFUSED;
		goto finish;
	}
	resp[2] |= 0x04; /* AA */
	if (qt == DMP_DNS_TYPE_AXFR ||
	    (qt == DMP_DNS_TYPE_IXFR &&
	     (t != DMP_NODE_UDP || qi.nlen != z->nlen))) {
		/* Transfers go over TCP (node_xfr.c) to those allowed; this
		 * is what is left: elsewhere, not allowed, not the apex. */
		rcode = DMP_DNS_RCODE_REFUSED;
		goto finish;
	}
	apex = qi.nlen == z->nlen;
	mbox = mailbox_kind(qi.name, qi.nlen, z->nlen);
	apex_off = DMP_DNS_HDR_LEN + qi.nlen - z->nlen;

	pthread_rwlock_rdlock(&n->ilock);
	{
		const struct nidx_ent *e =
		    dmp_nidx_find(&n->idx, qi.name, qi.nlen);
		uint32_t serial = n->serial;

		if (e) {
			exists = e->max_exp > now_s ||
				 (e->desc_count && e->desc_max_exp > now_s);
		}
		exists |= apex;
		if (e && (qt == DMP_DNS_TYPE_TXT || qt == DMP_DNS_TYPE_ANY)) {
			/* Slot/claim RRsets grow while clients poll them. */
			const int slot_ttl_short =
			    mbox == MBOX_SLOT &&
			    n->o.answer_ttl_mailbox < n->o.answer_ttl;

			need = 0;
			for (uint32_t i = 0; i < e->n_rr; i++) {
				if (e->rr[i]->exp_s > now_s) {
					need += e->rr[i]->len;
					ancount++;
				}
			}
			/* 1.3: no partial RRset, empty answer with TC. */
			if (ancount && w.len + need + opt_len > limit) {
				tc = 1;
				ancount = 0;
			}
			for (uint32_t i = 0; ancount && i < e->n_rr; i++) {
				if (e->rr[i]->exp_s <= now_s) {
					continue;
				}
				uint8_t *rr =
				    dmp_wbuf_reserve(&w, e->rr[i]->len);

				if (rr) {
					memcpy(rr, e->rr[i]->wire,
					       e->rr[i]->len);
					if (slot_ttl_short) { /* RR TTL */
						dmp_store_u32(
						    rr + 6,
						    n->o.answer_ttl_mailbox);
					}
				}
			}
		}
		if (apex && ancount == 0 && !tc) {
			/* IXFR over UDP (RFC 1995 2): the current SOA
			 * alone, "up to date" or "ask again over TCP"; the
			 * SOA is public, so no access check. */
			if (qt == DMP_DNS_TYPE_SOA || qt == DMP_DNS_TYPE_ANY ||
			    qt == DMP_DNS_TYPE_IXFR) {
				dmp_nq_put_soa(&w, n, z, DMP_DNS_HDR_LEN,
					       serial);
				ancount = 1;
			} else if (qt == DMP_DNS_TYPE_NS) {
				for (unsigned i = 0; i < z->n_ns; i++) {
					put_rr_hdr(&w, DMP_DNS_HDR_LEN,
						   DMP_DNS_TYPE_NS, ttl,
						   z->nslen[i]);
					dmp_wbuf_put(&w, z->ns[i], z->nslen[i]);
				}
				ancount = z->n_ns;
			} else if (qt == DMP_DNS_TYPE_A) {
				for (unsigned i = 0; i < z->n_a; i++) {
					put_rr_hdr(&w, DMP_DNS_HDR_LEN,
						   DMP_DNS_TYPE_A, ttl, 4);
					dmp_wbuf_put(&w, z->a[i], 4);
				}
				ancount = z->n_a;
			} else if (qt == DMP_DNS_TYPE_AAAA) {
				for (unsigned i = 0; i < z->n_aaaa; i++) {
					put_rr_hdr(&w, DMP_DNS_HDR_LEN,
						   DMP_DNS_TYPE_AAAA, ttl, 16);
					dmp_wbuf_put(&w, z->aaaa[i], 16);
				}
				ancount = z->n_aaaa;
			}
		}
		if (ancount == 0 && !tc) {
			/* RFC 2308 3: SOA in authority for NODATA and
			 * NXDOMAIN; RFC 8020: a name with live descendants
			 * exists. RFC 2308 5: resolvers cache the negative
			 * for min(SOA TTL, MINIMUM), so a short SOA TTL for
			 * mailbox names lets a message that lands right
			 * after an empty poll through within seconds. */
			uint32_t neg_ttl = n->o.negative_ttl;

			if (mbox != MBOX_NONE &&
			    n->o.negative_ttl_mailbox < neg_ttl) {
				neg_ttl = n->o.negative_ttl_mailbox;
			}
			if (!exists) {
				rcode = DMP_DNS_RCODE_NXDOMAIN;
			}
			if (w.len + soa_len(z) + opt_len <= limit) {
				put_soa(&w, n, z, apex_off, serial, neg_ttl);
				neg_soa = 1;
			}
		}
	}
	pthread_rwlock_unlock(&n->ilock);
	if (dmp_wbuf_error(&w) != 0) {
		/* Apex RRs that do not fit (tiny limits): truncate. */
		w.err = 0;
		w.len = qi.qd_end;
		tc = 1;
		ancount = 0;
		neg_soa = 0;
	}
	nscount = neg_soa;
finish:
	if (tc) {
		resp[2] |= 0x02;
	}
	resp[3] = (uint8_t)((resp[3] & 0xF0) | (rcode & 0x0F));
	wr16(resp + 6, ancount);
	wr16(resp + 8, nscount);
	if (qi.edns && w.len + opt_len <= limit) {
		/* RFC 6891 6.1.2: root, OPT, our payload, ext-rcode,
		 * version 0, DO echoed. */
		uint8_t *o = dmp_wbuf_reserve(&w, opt_len);

		if (o) {
			o[0] = 0;
			wr16(o + 1, DMP_DNS_TYPE_OPT);
			wr16(o + 3, n->o.edns_udp_max);
			o[5] = (uint8_t)(rcode >> 4);
			o[6] = 0;
			o[7] = qi.do_bit ? 0x80 : 0;
			o[8] = 0;
			wr16(o + 9, 0);
			wr16(resp + 10, 1);
		}
	}
	return (int)w.len;
}
