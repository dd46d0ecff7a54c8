/* tests/unit/test_base.c - base64, hex, TXT split/join, buffers, crypto. */
#include <stdlib.h>
#include <string.h>

#include "dmp/alias.h"
#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/text.h"
#include "dmp/txt.h"
#include "tap.h"
#include "vec.h"

/* RFC 4648 section 10. */
static const struct {
	const char *raw, *enc;
} b64_vec[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static const char *b64_bad[] = {
    "Zg=",  "Zg",	"Zh==", "Zm9=",	    "Zm9v\n", " Zm9v",	 "Zm-v",
    "Zm_v", "Zm9vYg=A", "====", "Zm9vY===", "Z===",   "Zm9vYmE", "Zg==Zg==",
};

static void test_b64(void)
{
	char enc[64];
	uint8_t raw[64];
	size_t n;

	for (size_t i = 0; i < DMP_ARRAY_LEN(b64_vec); i++) {
		const char *r = b64_vec[i].raw;

		is_int(dmp_b64_encode(enc, sizeof(enc), (const uint8_t *)r,
				      strlen(r)),
		       (long long)strlen(b64_vec[i].enc), "encode '%s'", r);
		is_str(enc, b64_vec[i].enc, "encoding of '%s'", r);
		is_int(dmp_b64_decode(raw, sizeof(raw), &n, b64_vec[i].enc,
				      strlen(b64_vec[i].enc)),
		       0, "decode '%s'", b64_vec[i].enc);
		is_mem(raw, n, r, strlen(r), "round trip '%s'", r);
	}
	for (size_t i = 0; i < DMP_ARRAY_LEN(b64_bad); i++) {
		is_int(dmp_b64_decode(raw, sizeof(raw), &n, b64_bad[i],
				      strlen(b64_bad[i])),
		       DMP_EBASE64, "rejects '%s'", b64_bad[i]);
	}
	is_int(dmp_b64_decode(raw, 2, &n, "Zm9v", 4), DMP_ENOBUFS,
	       "reports a short output buffer");
	is_int(dmp_b64_encode(enc, 4, (const uint8_t *)"f", 1), DMP_ENOBUFS,
	       "encode needs room for the NUL");
}

static void test_hex(void)
{
	uint8_t b[3] = {0x00, 0xab, 0xff}, out[3];
	char s[7];

	dmp_hex_encode(s, b, 3);
	is_str(s, "00abff", "hex encode is lower case");
	is_int(dmp_hex_decode(out, 3, "00ABff", 6), 0, "hex decode any case");
	is_mem(out, 3, b, 3, "hex round trip");
	is_int(dmp_hex_decode(out, 3, "00abfg", 6), DMP_EMALFORMED,
	       "hex rejects non-digits");
	is_int(dmp_hex_decode(out, 3, "00ab", 4), DMP_EMALFORMED,
	       "hex rejects a short string");
	ok(dmp_hex_digit('0') == 0 && dmp_hex_digit('9') == 9 &&
	       dmp_hex_digit('a') == 10 && dmp_hex_digit('F') == 15,
	   "hex digit values");
	ok(dmp_hex_digit('g') < 0 && dmp_hex_digit('/') < 0 &&
	       dmp_hex_digit(':') < 0 && dmp_hex_digit('\0') < 0,
	   "hex digit refuses the rest");
}

static void test_txt(void)
{
	char value[1200], joined[1201];
	uint8_t rdata[1300];
	size_t n;
	int len;

	for (size_t i = 0; i < sizeof(value); i++) {
		value[i] = (char)('a' + i % 26);
	}
	len = dmp_txt_split(rdata, sizeof(rdata), value, 600);
	is_int(len, 603, "600 bytes become 255+255+90 strings");
	is_int(rdata[0], 255, "first string is 255 bytes");
	is_int(rdata[256], 255, "second string is 255 bytes");
	is_int(rdata[512], 90, "third string holds the rest");
	is_int(dmp_txt_join(joined, sizeof(joined), &n, rdata, (size_t)len), 0,
	       "join");
	is_mem(joined, n, value, 600, "join restores the value");
	is_int(dmp_txt_split(rdata, sizeof(rdata), value, 0), 1,
	       "empty value is one empty string");
	is_int(dmp_txt_split(rdata, sizeof(rdata), value, 255), 256,
	       "255 bytes fit one string");
	is_int(dmp_txt_split(rdata, sizeof(rdata), value, 256), 258,
	       "256 bytes need two strings");
	is_int(dmp_txt_split(rdata, 10, value, 256), DMP_ENOBUFS,
	       "split reports a short buffer");
	rdata[0] = 10;
	is_int(dmp_txt_join(joined, sizeof(joined), &n, rdata, 5),
	       DMP_EMALFORMED, "join rejects a string past the end");
	is_int(dmp_txt_join(joined, 4, &n, (const uint8_t *)"\x05hello", 6),
	       DMP_ENOBUFS, "join reports a short buffer");
}

static void test_buf(void)
{
	const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct dmp_rbuf r;
	struct dmp_wbuf w;
	uint8_t out[4];
	size_t len;
	uint8_t *p;

	dmp_rbuf_init(&r, in, sizeof(in));
	is_int(dmp_rbuf_u8(&r), 1, "u8");
	is_int(dmp_rbuf_u16(&r), 0x0203, "u16 big-endian");
	is_int(dmp_rbuf_u32(&r), 0x04050607, "u32 big-endian");
	is_int(dmp_rbuf_u32(&r), 0, "overrun reads zero");
	is_int(dmp_rbuf_error(&r), DMP_EMALFORMED, "overrun is sticky");
	is_int(dmp_rbuf_u8(&r), 0, "reads after an error do nothing");
	dmp_rbuf_init(&r, in, 2);
	dmp_rbuf_u8(&r);
	is_int(dmp_rbuf_finish(&r), DMP_EMALFORMED, "trailing bytes rejected");
	dmp_rbuf_init(&r, "DMPCL01x", 8);
	is_int(dmp_rbuf_magic(&r, "DMPCL01", 7), 1, "magic matches");
	is_int(dmp_rbuf_u8(&r), 'x', "magic is consumed");
	dmp_rbuf_init(&r, "DMPCL02", 7);
	is_int(dmp_rbuf_magic(&r, "DMPCL01", 7), 0, "other magic refused");
	dmp_rbuf_init(&r, "DMP", 3);
	is_int(dmp_rbuf_magic(&r, "DMPCL01", 7), 0, "short magic refused");

	dmp_wbuf_init(&w, out, sizeof(out));
	dmp_wbuf_u32(&w, 0xdeadbeef);
	is_int(dmp_wbuf_error(&w), 0, "fixed writer fills exactly");
	is_int(dmp_wbuf_result(&w, DMP_ETOOBIG), 4, "result is the length");
	dmp_wbuf_u8(&w, 1);
	is_int(dmp_wbuf_error(&w), DMP_ENOBUFS, "fixed writer overflow");
	is_int(dmp_wbuf_result(&w, DMP_ETOOBIG), DMP_ETOOBIG,
	       "result is the caller's error after an overflow");
	dmp_wbuf_init_dyn(&w);
	for (int i = 0; i < 1000; i++) {
		dmp_wbuf_u64(&w, (uint64_t)i);
	}
	p = dmp_wbuf_steal(&w, &len);
	is_int((long long)len, 8000, "growing writer");
	is_int(p[7999], 999 & 0xff, "growing writer keeps order");
	dmp_wipe_free(p, len);
	dmp_wipe_free(NULL, 1); /* a no-op, as dmp_free(NULL) */
}

static void test_crypto(void)
{
	/* RFC 4231 test case 2 and RFC 5869 test case 1. */
	uint8_t mac[32], okm[42], want[42];
	uint8_t ikm[22], salt[13], info[10];
	uint8_t pk[32], sk[64], sig[64], xsk[32];
	size_t n;
	uint8_t *w;

	dmp_hmac_sha256(mac, (const uint8_t *)"Jefe", 4,
			"what do ya want for nothing?", 28);
	w = vec_unhex(
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    &n);
	is_mem(mac, 32, w, n, "HMAC-SHA256 RFC 4231 case 2");
	free(w);
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++) {
		salt[i] = (uint8_t)i;
	}
	for (int i = 0; i < 10; i++) {
		info[i] = (uint8_t)(0xf0 + i);
	}
	is_int(dmp_hkdf_sha256(okm, sizeof(okm), ikm, sizeof(ikm), salt,
			       sizeof(salt), info, sizeof(info)),
	       0, "HKDF runs");
	w = vec_unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56"
		      "ecc4c5bf34007208d5b887185865",
		      &n);
	memcpy(want, w, sizeof(want));
	free(w);
	is_mem(okm, sizeof(okm), want, sizeof(want), "HKDF RFC 5869 case 1");

	/* The PROTOCOL.md 4.2 vector: ed_pk from x_sk. */
	w = vec_unhex(
	    "eaec4da15084167f6702ad3b928b23fd2438ce57eca5b5d136a0033c7afe5754",
	    &n);
	memcpy(xsk, w, 32);
	free(w);
	dmp_ed25519_from_x25519(pk, sk, xsk);
	w = vec_unhex(
	    "7eab69fd59aecde35327edbf223449012b61ac083eb53113b99eeb853a8de942",
	    &n);
	is_mem(pk, 32, w, n, "Ed25519 key from the X25519 secret");
	free(w);
	dmp_sign(sig, "msg", 3, sk);
	is_int(dmp_verify(sig, "msg", 3, pk), 0, "signature verifies");
	sig[5] ^= 1;
	is_int(dmp_verify(sig, "msg", 3, pk), DMP_EBADSIG,
	       "flipped signature rejected");
	memset(pk, 0, 32);
	pk[0] = 1;
	is_int(dmp_verify(sig, "msg", 3, pk), DMP_EBADKEY,
	       "identity point refused before verify");
	memset(pk, 0xff, 32);
	pk[0] = 0xec;
	is_int(dmp_ed25519_is_low_order(pk), 1, "non-canonical alias refused");
	memset(pk, 0, 32);
	is_int(dmp_x25519(mac, xsk, pk), DMP_EWEAKSECRET,
	       "all-zero shared secret refused");
}

static void test_record_frame(void)
{
	char out[128];
	uint8_t blob[64];
	size_t n;
	const char *v = "v=dmp1;t=claim;Zm9v";

	is_int(dmp_record_type_of(v, strlen(v)), DMP_REC_CLAIM,
	       "dispatch on the claim prefix");
	is_int(dmp_record_type_of("v=dmp1;t=cluster;", 17), DMP_REC_CLUSTER,
	       "cluster prefix is distinct from claim");
	is_int(dmp_record_type_of("v=spf1 -all", 11), DMP_REC_UNKNOWN,
	       "non-DMP TXT is unknown");
	is_int(dmp_record_decode(blob, sizeof(blob), &n, v, strlen(v),
				 DMP_PREFIX_CLAIM, 255, 3),
	       0, "decode a framed value");
	is_int(dmp_record_decode(blob, sizeof(blob), &n, v, strlen(v),
				 DMP_PREFIX_CLUSTER, 255, 3),
	       DMP_EPREFIX, "wrong prefix");
	is_int(dmp_record_decode(blob, sizeof(blob), &n, v, strlen(v),
				 DMP_PREFIX_CLAIM, 10, 3),
	       DMP_ETOOBIG, "over the cap");
	is_int(dmp_record_decode(blob, sizeof(blob), &n, v, strlen(v),
				 DMP_PREFIX_CLAIM, 255, 4),
	       DMP_EMALFORMED, "under the minimum length");
	is_int(dmp_record_encode(out, sizeof(out), DMP_PREFIX_CLAIM,
				 (const uint8_t *)"foo", 3, 255),
	       (long long)strlen(v), "encode a framed value");
	is_str(out, v, "encoded value");
	ok(dmp_name_equal("Mesh.Example.", 13, "mesh.example", 12),
	   "names compare without case or trailing dot");
	ok(!dmp_name_equal("mesh.example", 12, "mesh.exampl", 11),
	   "different names differ");
}

static void test_grow(void)
{
	int *v = NULL;
	size_t cap = 0, n;
	int good = 1;

	for (n = 0; n < 100; n++) {
		if (dmp_grow(&v, &cap, n, sizeof(*v), 4) < 0) {
			good = 0;
			break;
		}
		v[n] = (int)n;
	}
	ok(good && cap == 128 && v[99] == 99,
	   "grow: 100 elements, capacity 4 doubling to 128");
	is_int(dmp_grow(&v, &cap, 5, sizeof(*v), 4), 0,
	       "grow: no-op below capacity");
	ok(cap == 128, "grow: capacity kept when there is room");
	is_int(dmp_grow(&v, &cap, cap, SIZE_MAX / 2, 4), DMP_ENOMEM,
	       "grow: size overflow refused");
	ok(cap == 128 && v[99] == 99, "grow: array untouched on failure");
	dmp_free(v);
}

/* The one strict integer parser (issue 14: "--lifetime abc" and "-5"). */
static void test_parse_int(void)
{
	static const struct {
		const char *s;
		long long min, max;
		int rc;
		long long v;
	} v[] = {
	    {"0", 0, 10, 0, 0},
	    {"10", 0, 10, 0, 10},
	    {"-5", -10, 10, 0, -5},
	    {"604800", 60, 2592000, 0, 604800},
	    {"11", 0, 10, DMP_ERANGE, 0},
	    {"-5", 1, 10, DMP_ERANGE, 0},
	    {"0", 1, 10, DMP_ERANGE, 0},
	    {"99999999999999999999", 0, 10, DMP_ERANGE, 0},
	    {"", 0, 10, DMP_EINVAL, 0},
	    {"abc", 0, 10, DMP_EINVAL, 0},
	    {"5x", 0, 10, DMP_EINVAL, 0},
	    {" 5", 0, 10, DMP_EINVAL, 0},
	    {"5 ", 0, 10, DMP_EINVAL, 0},
	    {"+5", 0, 10, DMP_EINVAL, 0},
	    {"-", -10, 10, DMP_EINVAL, 0},
	    {"0x10", 0, 100, DMP_EINVAL, 0},
	    {"1e3", 0, 10000, DMP_EINVAL, 0},
	};

	for (size_t i = 0; i < DMP_ARRAY_LEN(v); i++) {
		long long x = -777;
		int rc = dmp_parse_int(v[i].s, v[i].min, v[i].max, &x);

		ok(rc == v[i].rc && (rc < 0 ? x == -777 : x == v[i].v),
		   "parse_int '%s' in [%lld, %lld]: rc %d", v[i].s, v[i].min,
		   v[i].max, rc);
	}
	ok(dmp_parse_int(NULL, 0, 1, NULL) == DMP_EINVAL, "parse_int NULL");
}

/* Aliases: one rule set for the CLI, the engine and dmpfs. */
static void test_alias(void)
{
	static const char *good[] = {"bob",    "bobby2", "Bob Smith",	"b.ob",
				     "x.swpx", "4914",	 "caf\xc3\xa9", "a#b"};
	static const struct {
		const char *a, *why;
	} bad[] = {
	    {"", "empty"},
	    {"a/b", "'/'"},
	    {"/", "'/'"},
	    {".", "'.'"},
	    {"..", "'.' or '..'"},
	    {".hidden", "starts with '.'"},
	    {"x.swp", "scratch"},
	    {"x.swx", "scratch"},
	    {"notes.tmp", "scratch"},
	    {"bob~", "scratch"},
	    {"4913", "scratch"},
	    {"#bob#", "scratch"},
	    {"a\tb", "control"},
	    {"a\nb", "control"},
	    {"a\x7f", "control"},
	    {"\xff\xfe", "UTF-8"},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "a",
	     "longer than 64"},
	};
	char max[DMP_ALIAS_MAX + 1];

	for (size_t i = 0; i < DMP_ARRAY_LEN(good); i++) {
		ok(dmp_alias_problem(good[i]) == NULL, "alias '%s' allowed",
		   good[i]);
	}
	for (size_t i = 0; i < DMP_ARRAY_LEN(bad); i++) {
		const char *w = dmp_alias_problem(bad[i].a);

		ok(w && strstr(w, bad[i].why), "alias %zu refused: %s", i,
		   w ? w : "(allowed)");
	}
	memset(max, 'a', DMP_ALIAS_MAX);
	max[DMP_ALIAS_MAX] = '\0';
	ok(dmp_alias_problem(max) == NULL, "64-byte alias allowed");
	ok(dmp_scratch_name(".x.swp") && dmp_scratch_name("x~") &&
	       !dmp_scratch_name("bob") && !dmp_scratch_name("a.sw"),
	   "scratch names as dmpfs sees them");
}

/* Human-readable times, display width, log fields (text.h). */
static void test_text(void)
{
	char b[64];

	is_str(dmp_time_utc(b, sizeof(b), 0), "-", "utc: 0 is never");
	is_str(dmp_time_utc(b, sizeof(b), 1700000000), "2023-11-14T22:13:20Z",
	       "utc: ISO 8601");
	is_int((long long)dmp_display_width("alice"), 5, "width: ASCII");
	is_int((long long)dmp_display_width("jos\xc3\xa9"), 4,
	       "width: e-acute is one column");
	is_int((long long)dmp_display_width("\xe6\x97\xa5\xe6\x9c\xac"), 4,
	       "width: CJK is two columns each");
	is_int((long long)dmp_display_width("a\xff"), 2,
	       "width: a bad byte counts one");
	is_str(dmp_log_field(b, sizeof(b), "bob"), "bob", "field: plain");
	is_str(dmp_log_field(b, sizeof(b), "bob the builder"),
	       "\"bob the builder\"", "field: spaces quoted");
	is_str(dmp_log_field(b, sizeof(b), "a\"b\\"), "\"a\\\"b\\\\\"",
	       "field: quote and backslash escaped");
	is_str(dmp_log_field(b, sizeof(b), "x\ny"), "\"x\\x0ay\"",
	       "field: newline as \\x0a");
	is_str(dmp_log_field(b, sizeof(b), ""), "\"\"", "field: empty");
	dmp_log_field(b, 8, "a b c d e f g h");
	ok(strlen(b) < 8 && b[0] == '"', "field: cut to fit (%s)", b);
}

int main(void)
{
	if (dmp_init() != 0) {
		return 1;
	}
	plan(117 + 18 + 8 + 17 + 2);
	test_text();
	test_b64();
	test_hex();
	test_txt();
	test_buf();
	test_crypto();
	test_record_frame();
	test_grow();
	test_parse_int();
	test_alias();
	return done_testing();
}
