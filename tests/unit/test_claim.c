/* tests/unit/test_claim.c - claim records (PROTOCOL.md 2.5, 6.2) against
 * claim_record.json, plus boundaries and malformed input. */
#include <stdlib.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"

#define TS 1893456000ULL

static uint8_t g_pk[32], g_sk[64];

static void test_vectors(void)
{
	json_t *v = vec_load("claim_record.json");
	json_t *cases = json_object_get(v, "cases");
	const char *first = vec_str(json_array_get(cases, 0), "expected_wire");

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		const char *desc = vec_str(tc, "description");
		uint64_t now = (uint64_t)vec_int(tc, "verify_now");
		const char *want;
		struct dmp_claim cl = {0}, got;
		int rc;

		if (vec_has(tc, "inputs")) {
			json_t *in = json_object_get(tc, "inputs");
			const char *dom = vec_str(in, "sender_mailbox_domain");
			uint8_t seed[32], pk[32], sk[64],
			    body[DMP_CLAIM_BODY_MAX];
			size_t blen;
			uint8_t *wbody = vec_hex(tc, "body_hex", &blen);
			char out[DMP_CLAIM_WIRE_MAX + 1];

			want = vec_str(tc, "expected_wire");
			vec_hex_fixed(tc, "sender_seed_hex", seed, 32);
			dmp_ed25519_from_x25519(pk, sk, seed);
			vec_hex_fixed(in, "msg_id_hex", cl.msg_id, 16);
			vec_hex_fixed(in, "sender_spk_hex", cl.sender_spk, 32);
			is_mem(pk, 32, cl.sender_spk, 32, "%s: seed gives spk",
			       desc);
			cl.domain_len = strlen(dom);
			memcpy(cl.sender_mailbox_domain, dom, cl.domain_len);
			cl.slot = (uint8_t)vec_int(in, "slot");
			cl.ts = (uint64_t)vec_int(in, "ts");
			cl.exp = (uint64_t)vec_int(in, "exp");
			rc = dmp_claim_body(body, sizeof(body), &cl);
			is_mem(body, rc < 0 ? 0 : (size_t)rc, wbody, blen,
			       "%s: body", desc);
			free(wbody);
			rc = dmp_claim_sign_encode(out, sizeof(out), &cl, sk);
			is_int(rc, vec_int(tc, "wire_len"), "%s: wire_len",
			       desc);
			is_str(out, want, "%s: encode is byte-exact", desc);
		} else if (vec_has(tc, "wire")) {
			want = vec_str(tc, "wire");
		} else {
			ok(vec_int(tc, "wire_from_case") == 0,
			   "%s: wire of case 0", desc);
			want = first;
		}

		rc = dmp_claim_parse_verify(&got, want, strlen(want), now);
		if (strcmp(vec_str(tc, "expected_parse_result"), "ok") == 0) {
			is_int(rc, 0, "%s: parse", desc);
			ok(memcmp(got.msg_id, cl.msg_id, 16) == 0 &&
			       memcmp(got.sender_spk, cl.sender_spk, 32) == 0 &&
			       got.domain_len == cl.domain_len &&
			       strcmp(got.sender_mailbox_domain,
				      cl.sender_mailbox_domain) == 0 &&
			       got.slot == cl.slot && got.ts == cl.ts &&
			       got.exp == cl.exp,
			   "%s: fields", desc);
			continue;
		}
		is_str(vec_str(tc, "expected_parse_result"), "none",
		       "%s: 'none' expected", desc);
		if (strstr(desc, "signature")) {
			is_int(rc, DMP_EBADSIG, "%s: bad signature", desc);
		} else if (strstr(desc, "expired")) {
			is_int(rc, DMP_EEXPIRED, "%s: expired", desc);
		} else {
			is_int(rc, DMP_EFUTURE, "%s: future ts", desc);
		}
		is_int(got.domain_len, 0, "%s: out zeroed", desc);
	}
	json_decref(v);
}

struct raw {
	const char *magic;
	const char *dom;
	size_t dom_len;
	unsigned slot;
	uint64_t ts, exp;
	const uint8_t *spk;
	size_t extra; /* trailing zero bytes */
};

/* Sign a hand-made body with g_sk; no checks, no cap. */
static int sign_raw(char *w, size_t cap, const struct raw *r)
{
	uint8_t b[400];
	struct dmp_wbuf wb;

	dmp_wbuf_init(&wb, b, sizeof(b));
	dmp_wbuf_put(&wb, r->magic ? r->magic : "DMPCL01", 7);
	dmp_wbuf_put(&wb, "msgidmsgidmsgid!", 16);
	dmp_wbuf_put(&wb, r->spk ? r->spk : g_pk, 32);
	dmp_wbuf_u8(&wb, (uint8_t)r->dom_len);
	dmp_wbuf_put(&wb, r->dom, r->dom_len);
	dmp_wbuf_u8(&wb, (uint8_t)r->slot);
	dmp_wbuf_u64(&wb, r->ts);
	dmp_wbuf_u64(&wb, r->exp);
	for (size_t i = 0; i < r->extra; i++) {
		dmp_wbuf_u8(&wb, 0);
	}
	return dmp_record_sign_encode(w, cap, DMP_PREFIX_CLAIM, b, wb.len, g_sk,
				      0);
}

static int parse_raw(const struct raw *r, uint64_t now)
{
	char w[600];
	struct dmp_claim got;
	int n = sign_raw(w, sizeof(w), r);

	if (n < 0) {
		return -9999;
	}
	return dmp_claim_parse_verify(&got, w, (size_t)n, now);
}

static void test_rules(void)
{
	static const uint8_t xsk[32] = {3, 1, 4};
	struct raw r;
	struct dmp_claim cl, got;
	char w[600], t[600];
	int len;

	dmp_ed25519_from_x25519(g_pk, g_sk, xsk);
#define R0()                                                                   \
	(r = (struct raw){.dom = "mesh.test",                                  \
			  .dom_len = 9,                                        \
			  .slot = 3,                                           \
			  .ts = TS,                                            \
			  .exp = TS + 300})
	R0();
	is_int(parse_raw(&r, TS), 0, "hand-made claim parses");

	/* 6.2 time checks, at their exact boundaries. */
	is_int(parse_raw(&r, TS - 300), 0, "ts - now = 300 accepted");
	is_int(parse_raw(&r, TS - 301), DMP_EFUTURE, "ts - now = 301 rejected");
	is_int(parse_raw(&r, TS + 299), 0, "exp = now + 1 accepted");
	is_int(parse_raw(&r, TS + 300), DMP_EEXPIRED, "exp = now rejected");
	r.ts = 1000;
	is_int(parse_raw(&r, TS), 0, "an old ts is fine");
	R0();
	r.exp = TS + DMP_30_DAYS;
	is_int(parse_raw(&r, TS), 0, "exp - now = 30 d accepted");
	r.exp = TS + DMP_30_DAYS + 1;
	is_int(parse_raw(&r, TS), DMP_EFUTURE, "exp - now = 30 d + 1 rejected");

	/* Body rules. */
	R0();
	r.exp = r.ts;
	is_int(parse_raw(&r, TS - 10), DMP_EMALFORMED, "exp == ts");
	r.exp = r.ts - 1;
	is_int(parse_raw(&r, TS - 10), DMP_EMALFORMED, "exp < ts");
	R0();
	r.ts = 1ULL << 63;
	r.exp = r.ts + 1;
	is_int(parse_raw(&r, TS), DMP_EMALFORMED, "ts >= 2^63");
	R0();
	r.slot = 10;
	is_int(parse_raw(&r, TS), DMP_EMALFORMED, "slot 10");
	r.slot = 9;
	is_int(parse_raw(&r, TS), 0, "slot 9");
	R0();
	r.magic = "DMPCL02";
	is_int(parse_raw(&r, TS), DMP_EMALFORMED, "wrong magic");
	r.magic = "DMPBS01";
	is_int(parse_raw(&r, TS), DMP_EMALFORMED, "bootstrap magic");
	R0();
	r.extra = 1;
	is_int(parse_raw(&r, TS), DMP_EMALFORMED, "trailing byte");
	R0();
	r.dom_len = 0;
	is_int(parse_raw(&r, TS), DMP_EMALFORMED, "empty domain");
	static const char *const bad_dom[] = {
	    "mesh test",    "mesh\x7ftest",	"mesh\ntest",
	    "mesh\xfftest", "mesh\xc0\xaetest", "mesh\0test"};
	for (size_t i = 0; i < DMP_ARRAY_LEN(bad_dom); i++) {
		R0();
		r.dom = bad_dom[i];
		is_int(parse_raw(&r, TS), DMP_EMALFORMED, "bad domain %zu", i);
	}
	R0();
	r.dom = "m\xc3\xa9sh.test";
	r.dom_len = 10;
	is_int(parse_raw(&r, TS), 0, "UTF-8 domain accepted (as reference)");
	R0();
	r.dom = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 44 */
	r.dom_len = 44;
	len = sign_raw(w, sizeof(w), &r);
	ok(len > DMP_CLAIM_WIRE_MAX, "44-byte domain is over 255");
	is_int(dmp_claim_parse_verify(&got, w, (size_t)len, TS), DMP_ETOOBIG,
	       "value over 255 bytes");
	R0();
	{
		uint8_t lo[32] = {0};

		lo[0] = 1; /* the identity point */
		r.spk = lo;
		is_int(parse_raw(&r, TS), DMP_EBADKEY, "low-order sender_spk");
	}

	/* Framing. */
	R0();
	len = sign_raw(w, sizeof(w), &r);
	is_int(dmp_claim_parse_verify(&got, w, (size_t)len - 4, TS),
	       DMP_EMALFORMED, "truncated value");
	memcpy(t, "v=dmp1;t=claim;d=", 17);
	memcpy(t + 17, w + 15, (size_t)len - 15);
	is_int(dmp_claim_parse_verify(&got, t, (size_t)len + 2, TS),
	       DMP_EBASE64, "with d= (not the claim prefix)");
	memcpy(t, "v=dmp1;t=cluster;", 17);
	memcpy(t + 17, w + 15, (size_t)len - 15);
	is_int(dmp_claim_parse_verify(&got, t, (size_t)len + 2, TS),
	       DMP_EPREFIX, "cluster prefix, same magic");
	memcpy(t, w, (size_t)len);
	t[len] = '=';
	is_int(dmp_claim_parse_verify(&got, t, (size_t)len + 1, TS),
	       DMP_EBASE64, "extra padding");
	memcpy(t, w, (size_t)len);
	t[20] = ' ';
	is_int(dmp_claim_parse_verify(&got, t, (size_t)len, TS), DMP_EBASE64,
	       "space inside base64");
	memcpy(t, w, (size_t)len);
	t[30] = (char)(t[30] == 'A' ? 'B' : 'A'); /* inside msg_id */
	is_int(dmp_claim_parse_verify(&got, t, (size_t)len, TS), DMP_EBADSIG,
	       "body bit flip");
	{
		/* Signed by a key other than the embedded one. */
		uint8_t opk[32], osk[64], s[32] = {8};
		struct dmp_claim c2;

		dmp_ed25519_from_x25519(opk, osk, s);
		memset(&c2, 0, sizeof(c2));
		memcpy(c2.sender_spk, g_pk, 32);
		memcpy(c2.sender_mailbox_domain, "z", 1);
		c2.domain_len = 1;
		c2.ts = TS;
		c2.exp = TS + 1;
		{
			uint8_t b[DMP_CLAIM_BODY_MAX];
			int bl = dmp_claim_body(b, sizeof(b), &c2);

			len = dmp_record_sign_encode(w, sizeof(w),
						     DMP_PREFIX_CLAIM, b,
						     (size_t)bl, osk, 255);
		}
		is_int(dmp_claim_parse_verify(&got, w, (size_t)len, TS),
		       DMP_EBADSIG, "signed by another key");
	}

	/* Encoder. */
	memset(&cl, 0, sizeof(cl));
	memcpy(cl.sender_spk, g_pk, 32);
	memset(cl.sender_mailbox_domain, 'a', 43);
	cl.domain_len = 43;
	cl.slot = 9;
	cl.ts = TS;
	cl.exp = TS + 300;
	len = dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk);
	is_int(len, 255, "43-byte domain encodes to exactly 255");
	is_int(dmp_claim_parse_verify(&got, w, (size_t)len, TS), 0,
	       "and parses");
	is_int(dmp_claim_sign_encode(w, 255, &cl, g_sk), DMP_ENOBUFS,
	       "no room for the NUL");
	cl.domain_len = 44;
	is_int(dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk), DMP_EINVAL,
	       "44-byte domain refused");
	cl.domain_len = 0;
	is_int(dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk), DMP_EINVAL,
	       "empty domain refused");
	cl.domain_len = 5;
	cl.sender_mailbox_domain[2] = ' ';
	is_int(dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk), DMP_EINVAL,
	       "space in domain refused");
	cl.sender_mailbox_domain[2] = 'a';
	cl.slot = 10;
	is_int(dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk), DMP_EINVAL,
	       "slot 10 refused");
	cl.slot = 0;
	cl.exp = cl.ts;
	is_int(dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk), DMP_EINVAL,
	       "exp == ts refused");
	cl.exp = cl.ts + 1;
	cl.sender_spk[0] ^= 1;
	is_int(dmp_claim_sign_encode(w, sizeof(w), &cl, g_sk), DMP_EBADKEY,
	       "sk does not match sender_spk");
}

int main(void)
{
	plan(66);
	test_vectors();
	test_rules();
	return done_testing();
}
