/*
 * core/src/node/node_uparse.c - an RFC 2136 UPDATE message read into ops
 * (PROTOCOL.md 7.1): the zone, the update section as TXT adds and deletes,
 * the TSIG RR. What a DMP node cannot hold is noted for the checks.
 */
#include <string.h>

#include "dmp/err.h"
#include "dmp/txt.h"
#include "node/node_i.h"
#include "node/node_upd.h"

void dmp_nu_ops_free(struct uctx *u)
{
	for (size_t i = 0; i < u->n_ops; i++) {
		dmp_free(u->ops[i].value);
		u->ops[i].value = NULL;
	}
	u->n_ops = 0;
}

/* One update-section RR (RFC 2136 2.5). */
static void add_op(struct dmp_node *n, struct uctx *u, const uint8_t *owner,
		   size_t olen, uint16_t type, uint16_t cls, uint32_t ttl,
		   const uint8_t *rdata, size_t rdlen)
{
	struct nop *op;
	char *value = NULL;
	size_t vlen = 0;

	/* RFC 2136 3.4.1.3: every owner, whatever its type, in the UPDATE's
	 * zone (and not in a zone we serve below it). */
	if (!dmp_dnswire_in_zone(owner, olen, u->zone, u->zlen) ||
	    (dmp_ni_zone_of(n, owner, olen) &&
	     dmp_ni_zone_of(n, owner, olen)->nlen != u->zlen)) {
		u->bad_owner = 1;
		return;
	}
	if (type == DMP_DNS_TYPE_ANY && cls == DMP_DNS_CLASS_ANY) {
		/* RFC 2136 2.5.3, "delete all RRsets from a name": the TXT
		 * RRset is all a node holds there, so it is a TXT delete-all,
		 * with its scope check (docs/security.md). */
		type = DMP_DNS_TYPE_TXT;
	}
	if (type != DMP_DNS_TYPE_TXT) {
		/* PROTOCOL.md 7.1: other types are then ignored. */
		return;
	}
	if (cls != DMP_DNS_CLASS_IN && cls != DMP_DNS_CLASS_NONE &&
	    cls != DMP_DNS_CLASS_ANY) {
		u->bad_class = 1;
		return;
	}
	if (cls == DMP_DNS_CLASS_ANY && rdlen != 0) {
		u->bad_class = 1; /* RFC 2136 2.5.2 */
		return;
	}
	if (!dmp_dnswire_ldh(owner)) {
		u->bad_name = 1;
		return;
	}
	if (u->n_ops == MAX_OPS) {
		u->too_many = 1;
		return;
	}
	if (cls != DMP_DNS_CLASS_ANY) {
		/* 7.1: strings joined back, valid UTF-8 required. */
		value = dmp_malloc(rdlen + 1);
		if (!value || rdlen == 0 ||
		    dmp_txt_join(value, rdlen + 1, &vlen, rdata, rdlen) < 0 ||
		    !dmp_utf8_valid((const uint8_t *)value, vlen)) {
			dmp_free(value);
			u->bad_value = 1;
			return;
		}
	}
	op = &u->ops[u->n_ops];
	memset(op, 0, sizeof(*op));
	op->kind = cls == DMP_DNS_CLASS_IN     ? NOP_ADD
		   : cls == DMP_DNS_CLASS_NONE ? NOP_DEL_ONE
					       : NOP_DEL_ALL;
	memcpy(op->wire, owner, olen);
	op->wlen = olen;
	dmp_dnswire_to_text(owner, op->owner);
	/* As the reference: an add with TTL 0 lives DMP_DNS_TTL seconds. */
	op->ttl =
	    (cls == DMP_DNS_CLASS_IN && ttl == 0) ? DMP_NODE_DNS_TTL : ttl;
	op->value = value;
	op->vlen = vlen;
	u->n_ops++;
}

/* Parse the whole message; DMP_EMALFORMED means FORMERR. */
int dmp_nu_parse(struct dmp_node *n, const uint8_t *q, size_t qlen,
		 struct uctx *u)
{
	struct dmp_rbuf b;
	unsigned zo, pr, up, ad;
	int l;

	dmp_rbuf_init(&b, q, qlen);
	(void)dmp_rbuf_u32(&b); /* ID, flags */
	zo = dmp_rbuf_u16(&b);
	pr = dmp_rbuf_u16(&b);
	up = dmp_rbuf_u16(&b);
	ad = dmp_rbuf_u16(&b);
	if (zo != 1) {
		return DMP_EMALFORMED; /* RFC 2136 3.1.1 */
	}
	l = dmp_dnswire_read(&b, u->zone, 0);
	if (dmp_rbuf_u16(&b) != DMP_DNS_TYPE_SOA) {
		return DMP_EMALFORMED;
	}
	(void)dmp_rbuf_u16(&b); /* class */
	if (dmp_rbuf_error(&b)) {
		return DMP_EMALFORMED;
	}
	u->zlen = (size_t)l;
	u->zone_end = b.off;
	for (unsigned i = 0; i < pr + up + ad; i++) {
		uint8_t owner[DMP_DNS_NAME_WIRE_MAX];
		size_t start = b.off, rd;
		int olen = dmp_dnswire_read(&b, owner, 1);
		uint16_t type = dmp_rbuf_u16(&b), cls = dmp_rbuf_u16(&b);
		uint32_t ttl = dmp_rbuf_u32(&b);
		uint16_t rdlen = dmp_rbuf_u16(&b);

		rd = b.off;
		if (!dmp_rbuf_take(&b, rdlen) || olen < 0) {
			return DMP_EMALFORMED;
		}
		if (type == DMP_DNS_TYPE_TSIG) {
			/* RFC 8945 5.1: last in additional, class ANY,
			 * TTL 0. */
			if (i != pr + up + ad - 1 || i < pr + up ||
			    cls != DMP_DNS_CLASS_ANY || ttl != 0) {
				return DMP_EMALFORMED;
			}
			u->have_tsig = 1;
			u->ts.start = start;
			memcpy(u->ts.key, owner, (size_t)olen);
			u->ts.klen = (size_t)olen;
			if (dmp_tsig_parse(q, rd, rdlen, &u->ts) < 0) {
				return DMP_EMALFORMED;
			}
		} else if (i >= pr && i < pr + up) {
			add_op(n, u, owner, (size_t)olen, type, cls, ttl,
			       q + rd, rdlen);
		}
	}
	return dmp_rbuf_finish(&b);
}
