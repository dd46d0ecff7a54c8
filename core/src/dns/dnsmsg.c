/* core/src/dns/dnsmsg.c - TXT query writer and reply parser. */
#include <string.h>

#include <libknot/libknot.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/dnsmsg.h"
#include "dmp/err.h"
#include "dmp/txt.h"

#include "dns/dnswire.h"

void dmp_dns_query_opts_default(struct dmp_dns_query_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rd = 1;
	o->edns = 1;
	o->payload = DMP_DNS_EDNS_PAYLOAD;
}

int dmp_dns_name_to_wire(uint8_t *out, size_t cap, const char *name)
{
	uint8_t w[DMP_DNS_NAME_WIRE_MAX];
	size_t n = strlen(name), wl;
	int rc;

	/* The public form of dmp_dnswire_from_text(), with its checks in the
	 * order callers rely on: too long, no room, then the labels. */
	if (n && name[n - 1] == '.') {
		n--;
	}
	if (n > DMP_DNS_NAME_MAX) {
		return DMP_EBADNAME;
	}
	if (cap < (n ? n + 2 : 1)) {
		return DMP_ENOBUFS;
	}
	rc = dmp_dnswire_from_text(name, w, &wl);
	if (rc < 0) {
		return rc;
	}
	memcpy(out, w, wl);
	return (int)wl;
}

int dmp_dns_build_query(uint8_t *buf, size_t cap, size_t *len,
			const char *qname, uint16_t qtype,
			const struct dmp_dns_query_opts *opts, uint16_t *id_out)
{
	struct dmp_dns_query_opts def;
	struct dmp_wbuf w;
	uint8_t name[DMP_DNS_NAME_MAX + 2];
	uint16_t id;
	int nlen;

	*len = 0;
	if (id_out) {
		*id_out = 0;
	}
	if (!opts) {
		dmp_dns_query_opts_default(&def);
		opts = &def;
	}
	nlen = dmp_dns_name_to_wire(name, sizeof(name), qname);
	if (nlen < 0) {
		return nlen;
	}
	if (opts->fixed_id) {
		id = opts->id;
	} else {
		dmp_random(&id, sizeof(id));
	}
	dmp_wbuf_init(&w, buf, cap);
	/* RFC 1035 4.1.1 header: id, flags (RD only), QD=1, AN=NS=0, AR. */
	dmp_wbuf_u16(&w, id);
	dmp_wbuf_u16(&w, opts->rd ? 0x0100 : 0);
	dmp_wbuf_u16(&w, 1);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_u16(&w, 0);
	dmp_wbuf_u16(&w, opts->edns ? 1 : 0);
	dmp_wbuf_put(&w, name, (size_t)nlen);
	dmp_wbuf_u16(&w, qtype);
	dmp_wbuf_u16(&w, DMP_DNS_CLASS_IN);
	if (opts->edns) {
		/* RFC 6891 6.1.2: root owner, CLASS = payload, TTL = ext-rcode,
		 * version 0, DO flag; no options. */
		dmp_wbuf_u8(&w, 0);
		dmp_wbuf_u16(&w, DMP_DNS_TYPE_OPT);
		dmp_wbuf_u16(&w, opts->payload ? opts->payload
					       : DMP_DNS_EDNS_PAYLOAD);
		dmp_wbuf_u32(&w, opts->dnssec_ok ? 0x8000u : 0);
		dmp_wbuf_u16(&w, 0);
	}
	if (dmp_wbuf_error(&w)) {
		return DMP_ENOBUFS;
	}
	*len = w.len;
	if (id_out) {
		*id_out = id;
	}
	return 0;
}

void dmp_txt_answer_clear(struct dmp_txt_answer *a)
{
	if (!a) {
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		dmp_free(a->values[i]);
	}
	dmp_free(a->values);
	dmp_free(a->lens);
	dmp_free(a->ttls);
	memset(a, 0, sizeof(*a));
}

/* Header and question are read by hand so that a TC reply, which may be
 * cut anywhere after them, still reports its flags. */
static int parse_head(struct dmp_txt_answer *out, const uint8_t *wire,
		      size_t len, const uint8_t *want, size_t want_len)
{
	struct dmp_rbuf r;
	uint16_t flags, qd;

	dmp_rbuf_init(&r, wire, len);
	out->id = dmp_rbuf_u16(&r);
	flags = dmp_rbuf_u16(&r);
	qd = dmp_rbuf_u16(&r);
	if (dmp_rbuf_error(&r)) {
		return DMP_EMALFORMED;
	}
	/* RFC 1035 4.1.1: QR must be set, opcode QUERY. */
	if (!(flags & 0x8000) || (flags >> 11 & 0xf) != 0) {
		return DMP_EMALFORMED;
	}
	out->tc = !!(flags & 0x0200);
	out->aa = !!(flags & 0x0400);
	out->ad = !!(flags & 0x0020);
	out->rcode = flags & 0xf;
	if (qd != 1) {
		/* Only a truncated reply may drop the question. */
		return out->tc && qd == 0 ? 0 : DMP_EMALFORMED;
	}
	if (want) {
		uint8_t got[DMP_DNS_NAME_WIRE_MAX];
		int glen;

		dmp_rbuf_init(&r, wire, len);
		r.off = DMP_DNS_HDR_LEN;
		glen = dmp_dnswire_read(&r, got, 1);

		if (glen < 0) {
			return DMP_EMALFORMED;
		}
		if ((size_t)glen != want_len ||
		    !dmp_dnswire_name_eq(got, want)) {
			return DMP_EBADNAME;
		}
	}
	return 0;
}

static int add_value(struct dmp_txt_answer *out, size_t cap,
		     const knot_rdata_t *rd, uint32_t ttl)
{
	char *v = dmp_malloc((size_t)rd->len + 1);
	size_t vlen;
	int rc;

	if (!v) {
		return DMP_ENOMEM;
	}
	rc = dmp_txt_join(v, (size_t)rd->len + 1, &vlen, rd->data, rd->len);
	if (rc != 0) {
		dmp_free(v);
		return DMP_EMALFORMED;
	}
	if (out->n >= cap) {
		dmp_free(v);
		return DMP_EINTERNAL;
	}
	out->values[out->n] = v;
	out->lens[out->n] = vlen;
	out->ttls[out->n] = ttl;
	out->n++;
	return 0;
}

int dmp_dns_parse_txt(struct dmp_txt_answer *out, const uint8_t *wire,
		      size_t len, const char *qname)
{
	uint8_t want[DMP_DNS_NAME_MAX + 2];
	knot_dname_t *qn = NULL;
	knot_pkt_t *pkt = NULL;
	uint8_t *copy = NULL;
	const knot_pktsection_t *an;
	size_t cap = 0, want_len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (qname) {
		int n = dmp_dns_name_to_wire(want, sizeof(want), qname);

		if (n < 0) {
			return DMP_EBADNAME;
		}
		want_len = (size_t)n;
	}
	if (len > DMP_DNS_MSG_MAX) {
		return DMP_EMALFORMED;
	}
	rc = parse_head(out, wire, len, qname ? want : NULL, want_len);
	if (rc != 0 || out->tc) {
		goto out;
	}
	/* libknot parses in place and owns the right to touch its buffer:
	 * give it a private copy of the untrusted bytes. */
	copy = dmp_malloc(len ? len : 1);
	if (!copy) {
		rc = DMP_ENOMEM;
		goto out;
	}
	memcpy(copy, wire, len);
	pkt = knot_pkt_new(copy, (uint16_t)len, NULL);
	if (!pkt) {
		rc = DMP_ENOMEM;
		goto out;
	}
	if (knot_pkt_parse(pkt, 0) != KNOT_EOK) {
		rc = DMP_EMALFORMED;
		goto out;
	}
	if (pkt->opt_rr) {
		out->edns = 1;
		out->rcode = knot_pkt_ext_rcode(pkt);
	}
	qn = knot_dname_copy(knot_pkt_qname(pkt), NULL);
	if (!qn) {
		rc = DMP_ENOMEM;
		goto out;
	}
	knot_dname_to_lower(qn);
	an = knot_pkt_section(pkt, KNOT_ANSWER);
	for (uint16_t i = 0; i < an->count; i++) {
		cap += knot_pkt_rr(an, i)->rrs.count;
	}
	if (cap) {
		out->values = dmp_calloc(cap, sizeof(*out->values));
		out->lens = dmp_calloc(cap, sizeof(*out->lens));
		out->ttls = dmp_calloc(cap, sizeof(*out->ttls));
		if (!out->values || !out->lens || !out->ttls) {
			rc = DMP_ENOMEM;
			goto out;
		}
	}
	for (uint16_t i = 0; i < an->count; i++) {
		const knot_rrset_t *rr = knot_pkt_rr(an, i);

		/* PROTOCOL.md 1.3: one value per TXT RR of the asked name;
		 * CNAMEs and strays from other owners are not ours to join. */
		if (rr->type != KNOT_RRTYPE_TXT ||
		    rr->rclass != KNOT_CLASS_IN ||
		    !knot_dname_is_case_equal(rr->owner, qn)) {
			continue;
		}
		for (uint16_t k = 0; k < rr->rrs.count; k++) {
			rc = add_value(out, cap, knot_rdataset_at(&rr->rrs, k),
				       rr->ttl);
			if (rc != 0) {
				goto out;
			}
		}
	}
	rc = 0;
out:
	knot_dname_free(qn, NULL);
	knot_pkt_free(pkt);
	dmp_free(copy);
	if (rc != 0) {
		dmp_txt_answer_clear(out);
	}
	return rc;
}
