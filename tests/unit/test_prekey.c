/* tests/unit/test_prekey.c - prekey records (PROTOCOL.md 2.4) against
 * prekey.json and the prekey in full_send.json, plus malformed input. */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/prekey.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"

#define VEC_EXP 2051222400ULL
/* The vectors' exp is in 2035: judge them a day before it. */
#define VEC_NOW (VEC_EXP - 86400)

static void test_vectors(void)
{
	json_t *v = vec_load("prekey.json");
	char first[DMP_PREKEY_WIRE_LEN + 1] = "";

	for (size_t c = 0; c < json_array_size(v); c++) {
		json_t *tc = json_array_get(v, c);
		const char *desc = vec_str(tc, "description");
		uint8_t seed[32], pk[32], sk[64], vpk[32];
		struct dmp_prekey p = {0}, got;
		size_t wlen;
		char *want = (char *)vec_hex(tc, "expected_wire_hex", &wlen);
		char out[DMP_PREKEY_WIRE_LEN + 1];
		int rc;

		want = realloc(want, wlen + 1);
		want[wlen] = '\0';
		is_int((long long)wlen, DMP_PREKEY_WIRE_LEN, "%s: 162 bytes",
		       desc);
		vec_hex_fixed(tc, "signer_seed_hex", seed, 32);
		vec_hex_fixed(tc, "verify_with_signer_spk_hex", vpk, 32);
		dmp_ed25519_from_x25519(pk, sk, seed);
		if (c == 0) {
			memcpy(first, want, wlen + 1);
		}

		if (vec_has(tc, "inputs")) {
			json_t *in = json_object_get(tc, "inputs");

			memset(&p, 0, sizeof(p));
			p.prekey_id = (uint32_t)vec_int(in, "prekey_id");
			vec_hex_fixed(in, "public_key_hex", p.x25519_pk, 32);
			p.exp = (uint64_t)vec_int(in, "exp");
			rc = dmp_prekey_sign_encode(out, sizeof(out), &p, sk);
			is_int(rc, DMP_PREKEY_WIRE_LEN, "%s: encode length",
			       desc);
			is_str(out, want, "%s: encode is byte-exact", desc);
		}

		rc = dmp_prekey_parse_verify(&got, want, wlen, vpk, VEC_NOW);
		if (vec_has(tc, "expected_parse_result")) {
			ok(memcmp(pk, vpk, 32) != 0, "%s: a different key",
			   desc);
			is_int(rc, DMP_EBADSIG, "%s: parse fails", desc);
			is_int(got.prekey_id, 0, "%s: out zeroed", desc);
			ok(vec_int(tc, "wire_from_case") == 0 &&
			       strcmp(want, first) == 0,
			   "%s: same wire as case 0", desc);
			is_int(dmp_prekey_parse_verify(&got, want, wlen, pk,
						       VEC_NOW),
			       0, "%s: the signer's key does verify", desc);
		} else {
			is_mem(pk, 32, vpk, 32, "%s: seed gives the key", desc);
			is_int(rc, 0, "%s: parse", desc);
			is_int(got.prekey_id,
			       vec_int(tc, "expected_parse_prekey_id"),
			       "%s: prekey_id", desc);
			is_mem(got.x25519_pk, 32, p.x25519_pk, 32,
			       "%s: public key", desc);
			is_int((long long)got.exp, (long long)p.exp, "%s: exp",
			       desc);
			is_int(dmp_prekey_is_expired(&got, VEC_NOW),
			       p.exp < VEC_NOW, "%s: is_expired", desc);
		}
		free(want);
	}
	json_decref(v);
}

static void test_full_send(void)
{
	json_t *v = vec_load("full_send.json");
	json_t *cases = json_object_get(v, "cases");
	int seen = 0;

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		json_t *in = json_object_get(tc, "inputs");
		json_t *rcp = json_object_get(in, "recipient");
		json_t *rp = json_object_get(in, "recipient_prekey");
		json_t *setup = json_object_get(tc, "setup_records");
		uint64_t now = (uint64_t)vec_int(in, "now");

		for (size_t i = 0; i < json_array_size(setup); i++) {
			const char *w =
			    vec_str(json_array_get(setup, i), "value");
			uint8_t epk[32], xsk[32], pk[32], sk[64], ppub[32];
			struct dmp_prekey got;
			char out[DMP_PREKEY_WIRE_LEN + 1];

			if (dmp_record_type_of(w, strlen(w)) !=
			    DMP_REC_PREKEY) {
				continue;
			}
			seen++;
			vec_hex_fixed(rcp, "ed25519_pub_hex", epk, 32);
			vec_hex_fixed(rp, "prekey_pub_hex", ppub, 32);
			is_int(dmp_prekey_parse_verify(&got, w, strlen(w), epk,
						       now),
			       0, "full_send %zu: prekey parses", c);
			is_int(got.prekey_id, vec_int(rp, "prekey_id"),
			       "full_send %zu: prekey_id", c);
			is_mem(got.x25519_pk, 32, ppub, 32,
			       "full_send %zu: prekey public key", c);
			is_int((long long)got.exp,
			       (long long)(now +
					   (uint64_t)vec_int(rp, "prekey_ttl")),
			       "full_send %zu: exp = now + ttl", c);
			vec_hex_fixed(rcp, "x25519_priv_hex", xsk, 32);
			dmp_ed25519_from_x25519(pk, sk, xsk);
			is_int(
			    dmp_prekey_sign_encode(out, sizeof(out), &got, sk),
			    DMP_PREKEY_WIRE_LEN, "full_send %zu: re-sign", c);
			is_str(out, w, "full_send %zu: byte-exact", c);
		}
	}
	ok(seen == 1, "full_send has one prekey setup record");
	json_decref(v);
}

static void test_malformed(void)
{
	static const uint8_t xsk[32] = {5};
	const uint64_t now = 1893456000;
	uint8_t pk[32], sk[64], body[64];
	struct dmp_prekey p = {.prekey_id = 7, .exp = now + 300}, got;
	char w[DMP_PREKEY_WIRE_LEN + 1], t[400];
	int len;

	dmp_ed25519_from_x25519(pk, sk, xsk);
	memset(p.x25519_pk, 0x42, 32);
	len = dmp_prekey_sign_encode(w, sizeof(w), &p, sk);
	is_int(len, DMP_PREKEY_WIRE_LEN, "base record encodes");
	is_int(dmp_prekey_parse_verify(&got, w, (size_t)len, pk, now), 0,
	       "base record parses");

	/* Time. */
	p.exp = now + DMP_30_DAYS;
	len = dmp_prekey_sign_encode(w, sizeof(w), &p, sk);
	is_int(dmp_prekey_parse_verify(&got, w, (size_t)len, pk, now), 0,
	       "exp = now + 30 d accepted");
	p.exp = now + DMP_30_DAYS + 1;
	len = dmp_prekey_sign_encode(w, sizeof(w), &p, sk);
	is_int(dmp_prekey_parse_verify(&got, w, (size_t)len, pk, now),
	       DMP_EFUTURE, "exp = now + 30 d + 1 rejected");
	is_int(got.prekey_id, 0, "out zeroed on failure");
	p.exp = now - 1;
	len = dmp_prekey_sign_encode(w, sizeof(w), &p, sk);
	is_int(dmp_prekey_parse_verify(&got, w, (size_t)len, pk, now), 0,
	       "expired prekey still parses");
	ok(dmp_prekey_is_expired(&got, now), "is_expired at exp + 1");
	ok(!dmp_prekey_is_expired(&got, now - 1), "not expired at exp");

	/* id 0, signed properly. */
	p.exp = now + 300;
	p.prekey_id = 0;
	is_int(dmp_prekey_sign_encode(w, sizeof(w), &p, sk), DMP_EINVAL,
	       "encoder refuses id 0");
	is_int(dmp_prekey_body(body, &p), DMP_EINVAL, "body refuses id 0");
	p.prekey_id = 1;
	is_int(dmp_prekey_body(body, &p), DMP_PREKEY_BODY_BYTES, "body");
	body[3] = 0;
	len = dmp_record_sign_encode(w, sizeof(w), DMP_PREFIX_PREKEY, body, 44,
				     sk, 0);
	is_int(dmp_prekey_parse_verify(&got, w, (size_t)len, pk, now),
	       DMP_EMALFORMED, "signed id 0 rejected");
	/* Wrong body sizes, properly signed. */
	len = dmp_record_sign_encode(t, sizeof(t), DMP_PREFIX_PREKEY, body, 43,
				     sk, 0);
	is_int(dmp_prekey_parse_verify(&got, t, (size_t)len, pk, now),
	       DMP_EMALFORMED, "43-byte body");
	memset(body + 44, 0, 1);
	len = dmp_record_sign_encode(t, sizeof(t), DMP_PREFIX_PREKEY, body, 45,
				     sk, 0);
	is_int(dmp_prekey_parse_verify(&got, t, (size_t)len, pk, now),
	       DMP_ETOOBIG, "45-byte body (value over 162)");

	/* Framing. */
	p.prekey_id = 9;
	len = dmp_prekey_sign_encode(w, sizeof(w), &p, sk);
	is_int(dmp_prekey_parse_verify(&got, w, (size_t)len - 4, pk, now),
	       DMP_EMALFORMED, "truncated");
	memcpy(t, w, (size_t)len);
	t[len] = '=';
	is_int(dmp_prekey_parse_verify(&got, t, (size_t)len + 1, pk, now),
	       DMP_ETOOBIG, "trailing '=' (value over 162)");
	memcpy(t, w, (size_t)len);
	t[len - 1] = '=';
	ok(dmp_prekey_parse_verify(&got, t, (size_t)len, pk, now) < 0,
	   "padding in place of data");
	memcpy(t, w, (size_t)len);
	t[40] = '\n';
	is_int(dmp_prekey_parse_verify(&got, t, (size_t)len, pk, now),
	       DMP_EBASE64, "newline inside (lenient in the reference)");
	memcpy(t, "v=dmp1;t=prekey;x=", 18);
	memcpy(t + 18, w + 18, (size_t)len - 18);
	is_int(dmp_prekey_parse_verify(&got, t, (size_t)len, pk, now),
	       DMP_EPREFIX, "wrong prefix");
	is_int(dmp_prekey_parse_verify(&got, w, 5, pk, now), DMP_EPREFIX,
	       "cut in the prefix");
	memcpy(t, w, (size_t)len);
	t[30] = (char)(t[30] == 'A' ? 'B' : 'A');
	is_int(dmp_prekey_parse_verify(&got, t, (size_t)len, pk, now),
	       DMP_EBADSIG, "body bit flip");
	{
		uint8_t lo[32] = {0}; /* the all-zero point is low order */

		is_int(dmp_prekey_parse_verify(&got, w, (size_t)len, lo, now),
		       DMP_EBADKEY, "low-order owner key refused");
	}
	{
		uint8_t other[32];

		memcpy(other, pk, 32);
		other[5] ^= 0x10;
		ok(dmp_prekey_parse_verify(&got, w, (size_t)len, other, now) <
		       0,
		   "wrong owner key");
	}
	is_int(dmp_prekey_sign_encode(w, DMP_PREKEY_WIRE_LEN, &p, sk),
	       DMP_ENOBUFS, "no room for the NUL");
}

int main(void)
{
	plan(64);
	test_vectors();
	test_full_send();
	test_malformed();
	return done_testing();
}
