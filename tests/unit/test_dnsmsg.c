/* tests/unit/test_dnsmsg.c - TXT query writer and reply parser, checked
 * against the live capture (live_capture.json dns_answers). */
#include <stdlib.h>
#include <string.h>

#include "dmp/dnsmsg.h"
#include "dmp/err.h"
#include "tap.h"
#include "vec.h"

static void test_live_capture(void)
{
	json_t *root = vec_load("live_capture.json");
	json_t *da = json_object_get(root, "dns_answers");
	const char *qname = vec_str(da, "qname");
	json_t *ne = json_object_get(da, "udp_no_edns");
	json_t *ed = json_object_get(da, "udp_edns_1232");
	json_t *tcp = json_object_get(da, "tcp_no_edns");
	struct dmp_dns_query_opts o;
	struct dmp_txt_answer a, b;
	uint8_t q[512];
	size_t qlen, wlen, want_len;
	uint8_t *wire, *want;
	uint16_t id;

	/* Queries: the reference sends RD=0; ours must match byte for byte
	 * with the same options. */
	dmp_dns_query_opts_default(&o);
	o.rd = 0;
	o.edns = 0;
	o.fixed_id = 1;
	o.id = 0x4241;
	want = vec_hex(ne, "query_hex", &want_len);
	is_int(dmp_dns_build_query(q, sizeof(q), &qlen, qname, DMP_DNS_TYPE_TXT,
				   &o, &id),
	       0, "build no-EDNS query");
	is_mem(q, qlen, want, want_len, "no-EDNS query matches capture");
	is_int(id, 0x4241, "id reported");
	free(want);
	o.edns = 1;
	o.id = 0x4242;
	want = vec_hex(ed, "query_hex", &want_len);
	is_int(dmp_dns_build_query(q, sizeof(q), &qlen, qname, DMP_DNS_TYPE_TXT,
				   &o, NULL),
	       0, "build EDNS query");
	is_mem(q, qlen, want, want_len, "EDNS 1232 query matches capture");
	free(want);
	o.edns = 0;
	o.id = 0x4243;
	want = vec_hex(tcp, "query_hex", &want_len);
	is_int(dmp_dns_build_query(q, sizeof(q), &qlen, qname, DMP_DNS_TYPE_TXT,
				   &o, NULL),
	       0, "build TCP query");
	is_mem(q, qlen, want, want_len, "TCP query matches capture");
	free(want);

	/* UDP without EDNS: TC and no answer. */
	wire = vec_hex(ne, "response_hex", &wlen);
	is_int(dmp_dns_parse_txt(&a, wire, wlen, qname), 0, "parse TC reply");
	is_int(a.tc, json_is_true(json_object_get(ne, "tc_flag")), "TC set");
	is_int((long long)a.n, vec_int(ne, "answer_count"), "no values");
	is_int(a.rcode, 0, "NOERROR");
	is_int(a.id, 0x4241, "reply id");
	dmp_txt_answer_clear(&a);
	free(wire);

	/* UDP with EDNS: one RR of 255 + 253 bytes, joined. */
	wire = vec_hex(ed, "response_hex", &wlen);
	is_int(dmp_dns_parse_txt(&a, wire, wlen, qname), 0, "parse EDNS reply");
	is_int(a.tc, 0, "no TC");
	is_int(a.aa, 1, "AA");
	is_int(a.edns, 1, "reply has OPT");
	if (is_int((long long)a.n, 1, "one value")) {
		json_t *lens = json_array_get(
		    json_object_get(ed, "answer_txt_string_lengths"), 0);
		size_t total = 0;

		for (size_t i = 0; i < json_array_size(lens); i++) {
			total +=
			    (size_t)json_integer_value(json_array_get(lens, i));
		}
		is_int((long long)a.lens[0], (long long)total,
		       "joined length 255+253");
		is_int(a.ttls[0], vec_int(ed, "answer_ttl"), "TTL 60");
		ok(strncmp(a.values[0], "v=dmp1;t=manifest;d=", 20) == 0,
		   "value is the manifest");
		is_int((long long)strlen(a.values[0]), (long long)total,
		       "no stray NUL: the split is invisible");
	} else {
		skip(4, "no single EDNS value to inspect");
	}
	/* TCP: the same value. */
	free(wire);
	wire = vec_hex(tcp, "response_hex", &wlen);
	is_int(dmp_dns_parse_txt(&b, wire, wlen, qname), 0, "parse TCP reply");
	is_int((long long)b.n, vec_int(tcp, "answer_count"), "TCP one value");
	if (a.n == 1 && b.n == 1) {
		is_mem(a.values[0], a.lens[0], b.values[0], b.lens[0],
		       "UDP+EDNS and TCP agree");
	} else {
		skip(1, "no single value to compare");
	}
	dmp_txt_answer_clear(&b);
	is_int(dmp_dns_parse_txt(&b, wire, wlen, "other.mesh.test"),
	       DMP_EBADNAME, "question for another name is refused");
	is_int((long long)b.n, 0, "out zeroed on failure");
	is_int(dmp_dns_parse_txt(&b, wire, wlen,
				 "SLOT-5.MB-8E99A939230F.Mesh.Test."),
	       0, "name match ignores case and trailing dot");
	dmp_txt_answer_clear(&b);
	is_int(dmp_dns_parse_txt(&b, wire, wlen, NULL), 0, "no qname given");
	is_int((long long)b.n, 1, "still one value");
	dmp_txt_answer_clear(&b);

	/* Malformed: every truncation of the full reply fails cleanly. */
	{
		int bad = 0;

		for (size_t cut = 0; cut < wlen; cut++) {
			int rc = dmp_dns_parse_txt(&b, wire, cut, qname);

			if (rc == 0) {
				bad++;
				dmp_txt_answer_clear(&b);
			}
		}
		is_int(bad, 0, "every truncated reply is rejected");
	}
	/* Trailing garbage. */
	{
		uint8_t *w2 = malloc(wlen + 3);

		memcpy(w2, wire, wlen);
		memset(w2 + wlen, 0xab, 3);
		is_int(dmp_dns_parse_txt(&b, w2, wlen + 3, qname),
		       DMP_EMALFORMED, "trailing bytes rejected");
		/* A query (QR=0) is not a reply. */
		memcpy(w2, wire, wlen);
		w2[2] &= 0x7f;
		is_int(dmp_dns_parse_txt(&b, w2, wlen, qname), DMP_EMALFORMED,
		       "QR=0 rejected");
		/* A TXT string running past its RDATA. */
		memcpy(w2, wire, wlen);
		{
			/* first string length byte: after the RR header
			 * (12 + question + 2 ptr + 10) */
			size_t qend = 12 + 34 + 4;
			size_t rd = qend + 2 + 10;

			is_int(w2[rd], 255, "located first TXT string");
			w2[rd + 256] = 254; /* 2nd string claims 254 of 253 */
			is_int(dmp_dns_parse_txt(&b, w2, wlen, qname),
			       DMP_EMALFORMED, "overlong TXT string rejected");
		}
		/* A pointer loop in the question. */
		memcpy(w2, wire, wlen);
		w2[12] = 0xc0;
		w2[13] = 12;
		is_int(dmp_dns_parse_txt(&b, w2, wlen, qname), DMP_EMALFORMED,
		       "compression loop rejected");
		free(w2);
	}
	dmp_txt_answer_clear(&a);
	free(wire);
	json_decref(root);
}

/* A reply built by hand: two TXT RRs for the name, one for another name,
 * one A record, and an extended rcode in OPT. */
static void test_filtering(void)
{
	static const uint8_t reply[] = {
	    0x12,
	    0x34,
	    0x85,
	    0xa0,
	    0,
	    1,
	    0,
	    4,
	    0,
	    0,
	    0,
	    1,
	    /* question a.test TXT IN */
	    1,
	    'a',
	    4,
	    't',
	    'e',
	    's',
	    't',
	    0,
	    0,
	    16,
	    0,
	    1,
	    /* a.test TXT "x" "yz" */
	    0xc0,
	    12,
	    0,
	    16,
	    0,
	    1,
	    0,
	    0,
	    0,
	    60,
	    0,
	    5,
	    1,
	    'x',
	    2,
	    'y',
	    'z',
	    /* b.test TXT "no" */
	    1,
	    'b',
	    0xc0,
	    14,
	    0,
	    16,
	    0,
	    1,
	    0,
	    0,
	    0,
	    60,
	    0,
	    3,
	    2,
	    'n',
	    'o',
	    /* a.test A 127.0.0.1 */
	    0xc0,
	    12,
	    0,
	    1,
	    0,
	    1,
	    0,
	    0,
	    0,
	    60,
	    0,
	    4,
	    127,
	    0,
	    0,
	    1,
	    /* A.TEST TXT "" (empty value; owner case differs) */
	    1,
	    'A',
	    4,
	    'T',
	    'E',
	    'S',
	    'T',
	    0,
	    0,
	    16,
	    0,
	    1,
	    0,
	    0,
	    0,
	    9,
	    0,
	    1,
	    0,
	    /* OPT payload 1232, ext rcode 0 */
	    0,
	    0,
	    41,
	    4,
	    0xd0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	};
	struct dmp_txt_answer a;
	uint8_t copy[sizeof(reply)];

	is_int(dmp_dns_parse_txt(&a, reply, sizeof(reply), "a.test"), 0,
	       "parse hand-made reply");
	if (is_int((long long)a.n, 2, "two TXT values for a.test")) {
		is_str(a.values[0], "xyz", "strings joined");
		is_int((long long)a.lens[1], 0, "empty value kept");
		is_int(a.ttls[1], 9, "its TTL");
	} else {
		skip(3, "not two values to inspect");
	}
	is_int(a.aa, 1, "AA");
	is_int(a.ad, 1, "AD");
	is_int(a.rcode, 0, "rcode");
	dmp_txt_answer_clear(&a);
	dmp_txt_answer_clear(&a); /* twice is fine */
	dmp_txt_answer_clear(NULL);

	memcpy(copy, reply, sizeof(reply));
	copy[3] = 0x83; /* NXDOMAIN */
	is_int(dmp_dns_parse_txt(&a, copy, sizeof(copy), "a.test"), 0,
	       "NXDOMAIN parses");
	is_int(a.rcode, DMP_DNS_RCODE_NXDOMAIN, "NXDOMAIN reported");
	dmp_txt_answer_clear(&a);
	copy[3] = 0x80;
	copy[sizeof(copy) - 6] = 1; /* OPT ext-rcode 1 -> 16 (BADVERS) */
	is_int(dmp_dns_parse_txt(&a, copy, sizeof(copy), "a.test"), 0,
	       "ext rcode parses");
	is_int(a.rcode, 16, "extended rcode combined with header rcode");
	dmp_txt_answer_clear(&a);
}

static void test_query(void)
{
	struct dmp_dns_query_opts o;
	uint8_t q[512], w[300];
	size_t len;
	uint16_t id1, id2;
	char longname[300];

	is_int(dmp_dns_build_query(q, sizeof(q), &len, "x.mesh.test",
				   DMP_DNS_TYPE_TXT, NULL, &id1),
	       0, "defaults");
	is_int(q[2], 0x01, "RD by default");
	is_int((long long)len, 12 + 13 + 4 + 11, "with OPT");
	is_int(q[len - 11 + 3] << 8 | q[len - 11 + 4], 1232, "payload 1232");
	is_int(q[len - 11 + 7], 0, "no DO");
	{
		int same = 1;

		/* Random ids: four equal draws happen once in 2^48. */
		for (int i = 0; i < 3; i++) {
			if (dmp_dns_build_query(q, sizeof(q), &len,
						"x.mesh.test", DMP_DNS_TYPE_TXT,
						NULL, &id2) != 0 ||
			    id2 != id1) {
				same = 0;
			}
		}
		ok(!same, "message ids are random");
	}
	dmp_dns_query_opts_default(&o);
	o.dnssec_ok = 1;
	o.payload = 4096;
	is_int(dmp_dns_build_query(q, sizeof(q), &len, "X.Mesh.Test.",
				   DMP_DNS_TYPE_TXT, &o, NULL),
	       0, "DO query");
	is_int(q[len - 11 + 7], 0x80, "DO bit");
	is_int(q[len - 11 + 3] << 8 | q[len - 11 + 4], 4096, "payload 4096");
	is_int(q[13], 'x', "name lower-cased");
	is_int(dmp_dns_build_query(q, 20, &len, "x.mesh.test", DMP_DNS_TYPE_TXT,
				   NULL, NULL),
	       DMP_ENOBUFS, "short buffer");
	is_int((long long)len, 0, "len reset");
	is_int(dmp_dns_build_query(q, sizeof(q), &len, "a..b", DMP_DNS_TYPE_TXT,
				   NULL, NULL),
	       DMP_EBADNAME, "empty label");
	is_int(dmp_dns_build_query(q, sizeof(q), &len, ".a", DMP_DNS_TYPE_TXT,
				   NULL, NULL),
	       DMP_EBADNAME, "leading dot");
	memset(longname, 'a', 64);
	longname[64] = 0;
	is_int(dmp_dns_build_query(q, sizeof(q), &len, longname,
				   DMP_DNS_TYPE_TXT, NULL, NULL),
	       DMP_EBADNAME, "64-byte label");
	for (int i = 0; i < 254; i++) {
		longname[i] = (i % 2) ? '.' : 'a';
	}
	longname[253] = 0;
	is_int(dmp_dns_name_to_wire(w, sizeof(w), longname), 255,
	       "253-char name fits");
	longname[253] = '.';
	longname[254] = 'a';
	longname[255] = 0;
	is_int(dmp_dns_name_to_wire(w, sizeof(w), longname), DMP_EBADNAME,
	       "255-char name refused");
}

/* Checks per section, on every path (failed guards skip the rest). */
enum { LIVE_CHECKS = 35, FILTER_CHECKS = 12, QUERY_CHECKS = 17 };

int main(void)
{
	plan(LIVE_CHECKS + FILTER_CHECKS + QUERY_CHECKS);
	test_live_capture();
	test_filtering();
	test_query();
	return done_testing();
}
