/*
 * core/include/dmp/dnsmsg.h - DNS TXT queries and answers (PROTOCOL.md 1.3,
 * 7.7; RFC 1035, RFC 6891 EDNS0).
 *
 * The client builds its own query wire (so c-ares only transports it) and
 * parses any reply into the TXT values for the question name. The parser
 * takes untrusted bytes and never fails open: every error is a code.
 */
#ifndef DMP_DNSMSG_H
#define DMP_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/dnsconst.h" /* the DNS constants */

struct dmp_dns_query_opts {
	int rd;		  /* set RD (1 when asking a recursive resolver) */
	int edns;	  /* add an OPT RR (PROTOCOL.md 1.3: always, for TXT) */
	uint16_t payload; /* EDNS0 UDP size; 0 = DMP_DNS_EDNS_PAYLOAD */
	int dnssec_ok;	  /* DO bit (needs edns) */
	int fixed_id;	  /* use @c id instead of a random one (tests) */
	uint16_t id;
};

/** Defaults: RD=1, EDNS0 payload 1232, no DO, random id. */
void dmp_dns_query_opts_default(struct dmp_dns_query_opts *o);

/**
 * Build a query for (@p qname, IN, @p qtype).
 * @param buf    output storage (512 bytes always suffice)
 * @param opts   NULL for the defaults
 * @param[out] len     wire length
 * @param[out] id_out  message id used (may be NULL)
 * @return 0, DMP_EBADNAME (label > 63, name > 253, empty label) or
 *         DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_dns_build_query(uint8_t *buf, size_t cap, size_t *len,
				       const char *qname, uint16_t qtype,
				       const struct dmp_dns_query_opts *opts,
				       uint16_t *id_out);

/** TXT values found in a reply; owned by the struct, see _clear(). */
struct dmp_txt_answer {
	uint16_t id;
	int rcode;	/* extended RCODE (12 bits with OPT) */
	int tc, aa, ad; /* header flags */
	int edns;	/* reply carried OPT */
	size_t n;	/* number of TXT RRs for the question name */
	char **values;	/* n NUL-terminated joined values */
	size_t *lens;	/* their lengths (values may hold NUL bytes) */
	uint32_t *ttls;
};

/**
 * Parse a reply. Only TXT RRs in the answer section whose owner equals
 * @p qname (case-insensitive) are kept; each RR's character-strings are
 * joined (PROTOCOL.md 1.3). A truncated reply (TC=1) yields its flags and
 * no values, without parsing past the header and question.
 * @param out    overwritten: clear a previous answer first
 * @param qname  the name asked; NULL accepts the reply's question name
 * @return 0 (inspect out->rcode and out->tc), DMP_EMALFORMED (not a DNS
 *         reply, garbage, trailing bytes), DMP_EBADNAME (question is not
 *         @p qname) or DMP_ENOMEM. @p out is zeroed on failure.
 */
DMP_MUST_CHECK int dmp_dns_parse_txt(struct dmp_txt_answer *out,
				     const uint8_t *wire, size_t len,
				     const char *qname);

/** Free the values; leaves @p a zeroed. NULL is a no-op. */
void dmp_txt_answer_clear(struct dmp_txt_answer *a);

/**
 * Write @p name ("a.b.c" or "a.b.c.") as uncompressed, lower-cased wire
 * labels.
 * @return wire length, DMP_EBADNAME or DMP_ENOBUFS
 */
int dmp_dns_name_to_wire(uint8_t *out, size_t cap, const char *name);

#endif /* DMP_DNSMSG_H */
