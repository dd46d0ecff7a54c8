/* tests/unit/test_envelope.c - DMPv2 envelope and canonical addresses
 * (PROTOCOL.md 4.5) against tests/vectors/dmpv2_envelope.json. */
#include <stdlib.h>
#include <string.h>

#include "dmp/envelope.h"
#include "dmp/err.h"
#include "tap.h"
#include "vec.h"

static void test_vector_case(const json_t *c)
{
	const char *desc = vec_str(c, "description");
	const json_t *in = json_object_get(c, "inputs");
	uint8_t *pt, *want_body, *enc = NULL;
	size_t pt_len, body_len, enc_len = 0;
	struct dmp_envelope e;

	if (vec_has(in, "plaintext_hex")) {
		pt = vec_hex(in, "plaintext_hex", &pt_len);
	} else {
		const json_t *a = json_object_get(in, "sender_addr");
		uint8_t *body = vec_hex(in, "body_hex", &body_len);
		int rc = dmp_envelope_encode(
		    body, body_len,
		    json_is_string(a) ? json_string_value(a) : NULL, &enc,
		    &enc_len);

		pt = vec_hex(c, "expected_plaintext_hex", &pt_len);
		ok(rc == 1 || rc == 2, "%s: encode", desc);
		is_mem(enc, enc_len, pt, pt_len, "%s: expected_plaintext",
		       desc);
		is_int(
		    rc,
		    json_is_string(json_object_get(c, "expected_decode_from"))
			? 2
			: 1,
		    "%s: encoded version", desc);
		free(body);
		free(enc);
	}
	dmp_envelope_decode(&e, pt, pt_len);
	want_body = vec_hex(c, "expected_decode_body_hex", &body_len);
	is_mem(e.body, e.body_len, want_body, body_len, "%s: decoded body",
	       desc);
	if (json_is_string(json_object_get(c, "expected_decode_from"))) {
		ok(e.has_from, "%s: has from", desc);
		is_str(e.from, vec_str(c, "expected_decode_from"),
		       "%s: decoded from", desc);
	} else {
		ok(!e.has_from && e.from[0] == '\0', "%s: no from", desc);
	}
	free(want_body);
	free(pt);
}

static const struct {
	const char *in;
	const char *want; /* NULL: refused */
} addrs[] = {
    {"alice@example.com", "alice@example.com"},
    {"  ALICE@Example.COM.  ", "alice@example.com"},
    {"\t\x1c"
     "alice@example.com\x1f\r\n\v\f",
     "alice@example.com"},
    {"alice@example.com...", "alice@example.com"},
    {"a@b", "a@b"},
    {"a-b_c.d9@x-1.y2", "a-b_c.d9@x-1.y2"},
    {"0@0", "0@0"},
    {"", NULL},
    {" ", NULL},
    {"@x.com", NULL},
    {"alice@", NULL},
    {"alice@...", NULL},
    {"alice", NULL},
    {"a@b@c", NULL},
    {"al ice@x.com", NULL},
    {"_alice@x.com", NULL},
    {".alice@x.com", NULL},
    {"-alice@x.com", NULL},
    {"alice.@x.com", NULL},
    {"al..ice@x.com", NULL},
    {"al+ice@x.com", NULL},
    {"alice@x_y.com", NULL},
    {"alice@-x.com", NULL},
    {"alice@x-.com", NULL},
    {"alice@x..com", NULL},
    {"alice@.x.com", NULL},
    {"alice@x.com.@", NULL},
    {"al\xc3\xa9@x.com", NULL},
    {"alice@ex\xc3\xa4mple.com", NULL},
    /* Python's "$" also matches before a final "\n", so the reference
     * takes these; PROTOCOL.md 4.5's patterns do not. */
    {"alice\n@x.com", NULL},
    {"alice@x\n.com", NULL},
};

static void test_addr(void)
{
	char out[DMP_ADDR_MAX + 1], in[600];
	int n;

	for (size_t i = 0; i < DMP_ARRAY_LEN(addrs); i++) {
		n = dmp_addr_canonical(out, addrs[i].in, strlen(addrs[i].in));
		if (addrs[i].want) {
			is_int(n, (long long)strlen(addrs[i].want),
			       "addr %zu accepted", i);
			is_str(out, addrs[i].want, "addr %zu canonical", i);
		} else {
			is_int(n, DMP_EINVAL, "addr %zu refused", i);
			is_str(out, "", "addr %zu: empty output", i);
		}
	}
	is_int(dmp_addr_canonical(out, "a\0b@x.com", 9), DMP_EINVAL,
	       "addr with NUL refused");

	/* Local part: 64 characters at most. */
	memset(in, 'a', 64);
	memcpy(in + 64, "@x.com", 7);
	is_int(dmp_addr_canonical(out, in, strlen(in)), 70, "local part 64");
	memset(in, 'a', 65);
	memcpy(in + 65, "@x.com", 7);
	is_int(dmp_addr_canonical(out, in, strlen(in)), DMP_EINVAL,
	       "local part 65");
	/* Labels: 63 characters at most. */
	memcpy(in, "a@", 2);
	memset(in + 2, 'b', 63);
	memcpy(in + 65, ".com", 5);
	is_int(dmp_addr_canonical(out, in, strlen(in)), 69, "label 63");
	memset(in + 2, 'b', 64);
	memcpy(in + 66, ".com", 5);
	is_int(dmp_addr_canonical(out, in, strlen(in)), DMP_EINVAL, "label 64");
	/* Host: 253 characters at most (after trailing dots go). */
	memcpy(in, "a@", 2);
	for (int i = 0; i < 253; i++) {
		in[2 + i] = (i % 2) ? '.' : 'h';
	}
	in[2 + 253] = '\0';
	is_int(dmp_addr_canonical(out, in, strlen(in)), 255, "host 253");
	memcpy(in + 2 + 253, "h", 2);
	is_int(dmp_addr_canonical(out, in, strlen(in)), DMP_EINVAL, "host 254");
	memcpy(in + 2 + 253, "...", 4);
	is_int(dmp_addr_canonical(out, in, strlen(in)), 255,
	       "host 253 plus trailing dots");
}

static const struct {
	const char *pt;
	int version;
	const char *body;
	const char *from; /* NULL: none */
} decodes[] = {
    {"plain", 1, "plain", NULL},
    {"", 1, "", NULL},
    {"DMPV2:", 1, "DMPV2:", NULL},
    {"DMPV2:{}", 1, "DMPV2:{}", NULL},
    {"dmpv2:{}\nx", 1, "dmpv2:{}\nx", NULL},
    {"DMPV2:{}\n", 2, "", NULL},
    {"DMPV2:{}\nline1\nline2", 2, "line1\nline2", NULL},
    {"DMPV2:{\"from\":\"Bob@X.org.\"}\nhi", 2, "hi", "bob@x.org"},
    {"DMPV2: {\"from\" : \"bob@x.org\"}\t\r\nhi", 2, "hi", "bob@x.org"},
    {"DMPV2:{\"from\":1}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"from\":null}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"from\":\"nope\"}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"from\":\"a@b.c\",\"from\":2}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"from\":2,\"from\":\"a@b.c\"}\nhi", 2, "hi", "a@b.c"},
    {"DMPV2:{\"fr\\u006fm\":\"a\\u0040b.c\"}\nhi", 2, "hi", "a@b.c"},
    {"DMPV2:{\"from\":\"\\u00e9@b.c\"}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"from\":\"a\\u0000@b.c\"}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"x\":{\"from\":\"a@b.c\"}}\nhi", 2, "hi", NULL},
    {"DMPV2:{\"x\":[NaN,Infinity,-Infinity,-0.5e+3,1E9,0,true,false]}\nb", 2,
     "b", NULL},
    {"DMPV2:{\"x\":\"\\ud800\\/\\b\\f\\n\\r\\t\\\"\\\\\"}\nb", 2, "b", NULL},
    {"DMPV2:{\"x\":\"\x7f\"}\nb", 2, "b", NULL},
    {"DMPV2:{\"x\":\"\x01\"}\nb", 1, NULL, NULL},
    {"DMPV2:{\"x\":\"\xc3\xa9\"}\nb", 1, NULL, NULL},
    {"DMPV2:[1]\nb", 1, NULL, NULL},
    {"DMPV2:\"s\"\nb", 1, NULL, NULL},
    {"DMPV2:\nb", 1, NULL, NULL},
    {"DMPV2:{}x\nb", 1, NULL, NULL},
    {"DMPV2:{,}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":1,}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":01}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":1.}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":.5}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":1e}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":+1}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":-}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":tru}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":nan}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":\"\\x\"}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":\"\\u12\"}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":\"\\u12g4\"}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\" 1}\nb", 1, NULL, NULL},
    {"DMPV2:{a:1}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":[1,]}\nb", 1, NULL, NULL},
    {"DMPV2:{\"a\":\"x}\nb", 1, NULL, NULL},
};

static void test_decode(void)
{
	struct dmp_envelope e;
	char pt[600];

	for (size_t i = 0; i < DMP_ARRAY_LEN(decodes); i++) {
		const char *p = decodes[i].pt;
		const char *body = decodes[i].body ? decodes[i].body : p;

		dmp_envelope_decode(&e, (const uint8_t *)p, strlen(p));
		is_int(e.version, decodes[i].version, "decode %zu version", i);
		is_mem(e.body, e.body_len, body, strlen(body),
		       "decode %zu body", i);
		is_str(e.from, decodes[i].from ? decodes[i].from : "",
		       "decode %zu from", i);
		is_int(e.has_from, decodes[i].from != NULL,
		       "decode %zu has_from", i);
	}

	/* A header of exactly 256 bytes is found; 257 is not. */
	memcpy(pt, "DMPV2:{\"a\":\"", 12);
	memset(pt + 12, 'x', 248);
	memcpy(pt + 12 + 248, "\"}\nbody", 8);
	dmp_envelope_decode(&e, (const uint8_t *)pt, strlen(pt));
	is_int(e.version, 2, "256-byte header accepted");
	is_mem(e.body, e.body_len, "body", 4, "256-byte header: body");
	memcpy(pt, "DMPV2:{\"a\":\"", 12);
	memset(pt + 12, 'x', 249);
	memcpy(pt + 12 + 249, "\"}\nbody", 8);
	dmp_envelope_decode(&e, (const uint8_t *)pt, strlen(pt));
	is_int(e.version, 1, "257-byte header: v1");
	is_int(e.body_len, strlen(pt), "257-byte header: whole plaintext");
}

static void test_encode(void)
{
	char addr[400];
	uint8_t *out = NULL;
	size_t n = 0;
	struct dmp_envelope e;

	is_int(dmp_envelope_encode((const uint8_t *)"b", 1, NULL, &out, &n), 1,
	       "NULL sender: v1");
	is_mem(out, n, "b", 1, "NULL sender: body as is");
	free(out);
	is_int(dmp_envelope_encode(NULL, 0, "a@b.c", &out, &n), 2,
	       "empty body wraps");
	is_mem(out, n, "DMPV2:{\"from\":\"a@b.c\"}\n", 23,
	       "empty body: header only");
	free(out);
	is_int(dmp_envelope_encode(NULL, 0, NULL, &out, &n), 1,
	       "empty v1 body");
	ok(out != NULL && n == 0, "empty v1 body: non-NULL, zero length");
	free(out);
	is_int(dmp_envelope_encode(NULL, 1, NULL, &out, &n), DMP_EINVAL,
	       "NULL body with a length");

	/* Header of 11 + 245 = 256 bytes wraps; 246 does not. */
	memset(addr, 'a', 64);
	addr[64] = '@';
	memset(addr + 65, 'h', 63);
	addr[128] = '.';
	memset(addr + 129, 'h', 63);
	addr[192] = '.';
	memset(addr + 193, 'h', 52);
	addr[245] = '\0';
	is_int(dmp_envelope_encode((const uint8_t *)"b", 1, addr, &out, &n), 2,
	       "245-char address wraps (256-byte header)");
	dmp_envelope_decode(&e, out, n);
	is_str(e.from, addr, "245-char address decodes");
	free(out);
	memcpy(addr + 193,
	       "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", 54);
	is_int((long long)strlen(addr), 246, "246-char address");
	is_int(dmp_envelope_encode((const uint8_t *)"b", 1, addr, &out, &n), 1,
	       "246-char address: header over 256, v1");
	is_mem(out, n, "b", 1, "246-char address: body as is");
	free(out);
}

int main(void)
{
	json_t *v = vec_load("dmpv2_envelope.json");

	plan(302);
	ok(json_array_size(v) == 8, "dmpv2_envelope has 8 cases");
	for (size_t i = 0; i < json_array_size(v); i++) {
		test_vector_case(json_array_get(v, i));
	}
	test_addr();
	test_decode();
	test_encode();
	json_decref(v);
	return done_testing();
}
