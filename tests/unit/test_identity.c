/* tests/unit/test_identity.c - identity records (PROTOCOL.md 2.3) against
 * identity_record.json, identity_derivation.json and full_send.json, plus
 * malformed input. */
#include <stdlib.h>
#include <string.h>

#include "dmp/text.h"
#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"

/* The key every malformed-input test signs with. */
static uint8_t g_pk[32], g_sk[64];

static void rec_init(struct dmp_identity_record *r, const char *user,
		     const uint8_t xpk[32], const uint8_t spk[32], uint64_t ts)
{
	memset(r, 0, sizeof(*r));
	r->username_len = strlen(user);
	memcpy(r->username, user, r->username_len);
	memcpy(r->x25519_pk, xpk, 32);
	memcpy(r->ed25519_spk, spk, 32);
	r->ts = ts;
	r->versions[0] = 1;
	r->n_versions = 1;
}

static void test_vectors(void)
{
	json_t *v = vec_load("identity_record.json");
	char **wires = calloc(json_array_size(v), sizeof(char *));

	for (size_t c = 0; c < json_array_size(v); c++) {
		json_t *tc = json_array_get(v, c);
		const char *desc = vec_str(tc, "description");
		uint8_t seed[32], pk[32], sk[64];
		struct dmp_identity_record rec = {0}, got;
		size_t wlen;
		char *want = (char *)vec_hex(tc, "expected_wire_hex", &wlen);
		char out[DMP_IDENTITY_WIRE_MAX + 1];
		int rc;

		want = realloc(want, wlen + 1);
		want[wlen] = '\0';
		wires[c] = want;
		vec_hex_fixed(tc, "identity_seed_hex", seed, 32);
		dmp_ed25519_from_x25519(pk, sk, seed);

		if (vec_has(tc, "inputs")) {
			json_t *in = json_object_get(tc, "inputs");
			uint8_t xpk[32], spk[32];

			vec_hex_fixed(in, "x25519_pk_hex", xpk, 32);
			vec_hex_fixed(in, "ed25519_spk_hex", spk, 32);
			is_mem(pk, 32, spk, 32, "%s: seed gives the spk", desc);
			rec_init(&rec, vec_str(in, "username"), xpk, spk,
				 (uint64_t)vec_int(in, "ts"));
			if (vec_has(in, "versions")) {
				json_t *vs = json_object_get(in, "versions");

				rec.n_versions = json_array_size(vs);
				for (size_t i = 0; i < rec.n_versions; i++) {
					rec.versions[i] =
					    (uint8_t)json_integer_value(
						json_array_get(vs, i));
				}
			}
			rc = dmp_identity_sign_encode(out, sizeof(out), &rec,
						      sk);
			is_int(rc, (long long)wlen, "%s: encode length", desc);
			is_str(out, want, "%s: encode is byte-exact", desc);
		}

		rc = dmp_identity_parse_verify(&got, want, wlen, NULL, 0);
		if (vec_has(tc, "expected_parse_result")) {
			is_str(vec_str(tc, "expected_parse_result"), "none",
			       "%s: only 'none' is used", desc);
			is_int(rc, DMP_EBADSIG, "%s: parse fails", desc);
			is_int(got.username_len, 0, "%s: out zeroed", desc);
			if (vec_has(tc, "wire_from_case")) {
				long long from = vec_int(tc, "wire_from_case");

				ok(from < (long long)c &&
				       strlen(wires[from]) == wlen &&
				       strcmp(wires[from], want) != 0,
				   "%s: a corruption of case %lld", desc, from);
			}
			continue;
		}
		is_int(rc, 0, "%s: parse", desc);
		is_str(got.username, vec_str(tc, "expected_parse_username"),
		       "%s: username", desc);
		if (vec_has(tc, "expected_parse_versions")) {
			json_t *vs =
			    json_object_get(tc, "expected_parse_versions");

			is_int(got.n_versions, (long long)json_array_size(vs),
			       "%s: versions count", desc);
			for (size_t i = 0; i < json_array_size(vs); i++) {
				is_int(
				    got.versions[i],
				    json_integer_value(json_array_get(vs, i)),
				    "%s: version %zu", desc, i);
			}
			ok(dmp_identity_has_version(&got, 2),
			   "%s: advertises v2", desc);
		} else {
			ok(got.n_versions == 1 && got.versions[0] == 1,
			   "%s: no suffix parses as {1}", desc);
			ok(!dmp_identity_has_version(&got, 2),
			   "%s: does not advertise v2", desc);
		}
		is_mem(got.x25519_pk, 32, rec.x25519_pk, 32, "%s: x25519_pk",
		       desc);
		is_mem(got.ed25519_spk, 32, pk, 32, "%s: ed25519_spk", desc);
		is_int((long long)got.ts, (long long)rec.ts, "%s: ts", desc);
	}
	for (size_t c = 0; c < json_array_size(v); c++) {
		free(wires[c]);
	}
	free(wires);
	json_decref(v);
}

static void test_derivation(void)
{
	json_t *v = vec_load("identity_derivation.json");
	json_t *cases = json_object_get(v, "cases");

	for (size_t c = 0; c < json_array_size(cases); c++) {
		json_t *tc = json_array_get(cases, c);
		json_t *in = json_object_get(tc, "inputs");
		const char *desc = vec_str(tc, "description");
		const char *keys[] = {"identity_record_wire_v1",
				      "identity_record_wire_v1_v2"};
		uint8_t xsk[32], xpk[32], epk[32], pk[32], sk[64];
		struct dmp_identity_record rec = {0}, got;
		char out[DMP_IDENTITY_WIRE_MAX + 1];

		vec_hex_fixed(tc, "x25519_priv_hex", xsk, 32);
		vec_hex_fixed(tc, "x25519_pub_hex", xpk, 32);
		vec_hex_fixed(tc, "ed25519_pub_hex", epk, 32);
		dmp_ed25519_from_x25519(pk, sk, xsk);
		is_mem(pk, 32, epk, 32, "%s: signing key", desc);
		rec_init(&rec, vec_str(in, "username"), xpk, epk,
			 (uint64_t)vec_int(tc, "identity_record_ts"));
		for (size_t k = 0; k < 2; k++) {
			const char *want = vec_str(tc, keys[k]);

			if (k == 1) {
				rec.versions[1] = 2;
				rec.n_versions = 2;
			}
			is_int(dmp_identity_sign_encode(out, sizeof(out), &rec,
							sk),
			       (long long)strlen(want), "%s: %s length", desc,
			       keys[k]);
			is_str(out, want, "%s: %s", desc, keys[k]);
			is_int(dmp_identity_parse_verify(&got, want,
							 strlen(want), NULL, 0),
			       0, "%s: %s parses", desc, keys[k]);
			ok(got.n_versions == k + 1 &&
			       strcmp(got.username, rec.username) == 0 &&
			       memcmp(got.x25519_pk, xpk, 32) == 0,
			   "%s: %s fields", desc, keys[k]);
		}
		if (vec_has(in, "identity_domain")) {
			/* Zone-anchored: the body must name the address user.
			 */
			const char *w = vec_str(tc, keys[0]);

			is_int(dmp_identity_parse_verify(&got, w, strlen(w),
							 "bob", 3),
			       0, "%s: expected user matches", desc);
			is_int(dmp_identity_parse_verify(&got, w, strlen(w),
							 "BoB", 3),
			       0, "%s: expected user ignores ASCII case", desc);
			is_int(dmp_identity_parse_verify(&got, w, strlen(w),
							 "bobby", 5),
			       DMP_EBADNAME, "%s: other user rejected", desc);
			is_int(got.username_len, 0, "%s: out zeroed", desc);
			is_int(dmp_identity_parse_verify(&got, w, strlen(w),
							 "bo", 2),
			       DMP_EBADNAME, "%s: prefix of user rejected",
			       desc);
		}
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
		json_t *setup = json_object_get(tc, "setup_records");
		json_t *rcp =
		    json_object_get(json_object_get(tc, "inputs"), "recipient");

		for (size_t i = 0; i < json_array_size(setup); i++) {
			const char *w =
			    vec_str(json_array_get(setup, i), "value");
			struct dmp_identity_record got;
			uint8_t epk[32], xpk[32];

			if (dmp_record_type_of(w, strlen(w)) !=
			    DMP_REC_IDENTITY) {
				continue;
			}
			seen++;
			vec_hex_fixed(rcp, "ed25519_pub_hex", epk, 32);
			vec_hex_fixed(rcp, "x25519_pub_hex", xpk, 32);
			is_int(dmp_identity_parse_verify(&got, w, strlen(w),
							 NULL, 0),
			       0, "full_send %zu: identity parses", c);
			ok(memcmp(got.ed25519_spk, epk, 32) == 0 &&
			       memcmp(got.x25519_pk, xpk, 32) == 0 &&
			       strcmp(got.username, vec_str(rcp, "username")) ==
				   0,
			   "full_send %zu: identity fields", c);
			is_int(dmp_identity_has_version(&got, 2),
			       json_is_true(json_object_get(
				   json_object_get(tc, "inputs"),
				   "recipient_identity_advertises_v2")),
			       "full_send %zu: v2 flag", c);
		}
	}
	ok(seen >= 1, "full_send has an identity setup record");
	json_decref(v);
}

/* Body builder for hand-made records. */
static size_t body(uint8_t *b, const char *user, size_t ulen,
		   const uint8_t *suffix, size_t slen)
{
	size_t o = 0;

	b[o++] = (uint8_t)ulen;
	memcpy(b + o, user, ulen);
	o += ulen;
	memset(b + o, 0x11, 32);
	o += 32;
	memcpy(b + o, g_pk, 32);
	o += 32;
	memset(b + o, 0, 8);
	b[o + 7] = 42;
	o += 8;
	if (slen) {
		memcpy(b + o, suffix, slen);
	}
	return o + slen;
}

static int parse_signed(const uint8_t *b, size_t len,
			struct dmp_identity_record *got)
{
	char w[1024];
	int n = dmp_record_sign_encode(w, sizeof(w), DMP_PREFIX_IDENTITY, b,
				       len, g_sk, 0);

	if (n < 0) {
		return -9999;
	}
	return dmp_identity_parse_verify(got, w, (size_t)n, NULL, 0);
}

static void test_malformed(void)
{
	static const uint8_t xsk[32] = {7, 7, 7};
	struct dmp_identity_record rec, got;
	char w[DMP_IDENTITY_WIRE_MAX + 1], t[2048];
	uint8_t b[600];
	size_t n;
	int len;

	dmp_ed25519_from_x25519(g_pk, g_sk, xsk);
	rec_init(&rec, "alice", (const uint8_t[32]){0x11}, g_pk, 42);
	len = dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk);
	ok(len > 0, "reference record encodes");

	/* Framing. */
	is_int(dmp_identity_parse_verify(&got, w, (size_t)len - 4, NULL, 0),
	       DMP_EMALFORMED, "truncated value");
	memcpy(t, "v=dmp1;t=identity;", 18);
	memcpy(t + 18, w + 20, (size_t)len - 20);
	is_int(dmp_identity_parse_verify(&got, t, (size_t)len - 2, NULL, 0),
	       DMP_EPREFIX, "prefix without d=");
	is_int(dmp_identity_parse_verify(&got, "V=dmp1;t=identity;d=AAAA", 24,
					 NULL, 0),
	       DMP_EPREFIX, "prefix is case-sensitive");
	is_int(dmp_identity_parse_verify(&got, w, 10, NULL, 0), DMP_EPREFIX,
	       "cut inside the prefix");
	is_int(dmp_identity_parse_verify(&got, NULL, 0, NULL, 0), DMP_EPREFIX,
	       "NULL value");
	memset(t, 'A', sizeof(t));
	memcpy(t, DMP_PREFIX_IDENTITY, 20);
	is_int(dmp_identity_parse_verify(&got, t, DMP_IDENTITY_WIRE_MAX + 4,
					 NULL, 0),
	       DMP_ETOOBIG, "oversize value");
	memcpy(t, w, (size_t)len);
	t[len] = '=';
	is_int(dmp_identity_parse_verify(&got, t, (size_t)len + 1, NULL, 0),
	       DMP_EBASE64, "extra padding");
	/* "alice" record: 137-byte blob, so base64 ends in "==". */
	ok(w[len - 1] == '=' && w[len - 2] == '=', "vector ends in ==");
	is_int(dmp_identity_parse_verify(&got, w, (size_t)len - 1, NULL, 0),
	       DMP_EBASE64, "missing padding");
	memcpy(t, w, (size_t)len);
	t[len - 3] = (char)(t[len - 3] == 'A' ? 'B' : t[len - 3] + 1);
	is_int(dmp_identity_parse_verify(&got, t, (size_t)len, NULL, 0),
	       DMP_EBASE64, "non-canonical base64 (unused bits set)");
	memcpy(t, w, (size_t)len);
	t[30] = '\n';
	is_int(dmp_identity_parse_verify(&got, t, (size_t)len, NULL, 0),
	       DMP_EBASE64, "stray newline (lenient in the reference)");
	memcpy(t, w, (size_t)len);
	t[30] = (char)(t[30] == 'A' ? 'B' : 'A');
	is_int(dmp_identity_parse_verify(&got, t, (size_t)len, NULL, 0),
	       DMP_EBADSIG, "body bit flip: bad signature");

	/* Body rules (each body properly signed by g_sk). */
	n = body(b, "alice", 5, NULL, 0);
	is_int(parse_signed(b, n, &got), 0, "hand-made body parses");
	n = body(b, "", 0, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "name_len 0");
	memset(t, 'u', 65);
	n = body(b, t, 65, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "name_len 65");
	n = body(b, t, 64, NULL, 0);
	is_int(parse_signed(b, n, &got), 0, "name_len 64");
	n = body(b, "a\xff", 2, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "bad UTF-8 byte");
	n = body(b, "\xc0\xaf", 2, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "overlong UTF-8");
	n = body(b, "\xed\xa0\x80", 3, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "UTF-8 surrogate");
	n = body(b, "a\xc3", 2, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "truncated UTF-8");
	n = body(b, "a\0b", 3, NULL, 0);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "NUL in username");
	n = body(b, "J\xc3\xbcrgen\xe2\x9c\x93", 10, NULL, 0);
	is_int(parse_signed(b, n, &got), 0, "multibyte UTF-8 username");
	is_int(got.username_len, 10, "multibyte username length");
	n = body(b, "alice", 5, NULL, 0);
	is_int(parse_signed(b, n - 1, &got), DMP_EMALFORMED,
	       "body one byte short");
	is_int(parse_signed(b, 74, &got), DMP_EMALFORMED,
	       "body shorter than its name_len says");

	/* Versions suffix. */
	n = body(b, "alice", 5, (const uint8_t[]){1, 1}, 2);
	is_int(parse_signed(b, n, &got), 0, "suffix 01 01 accepted");
	ok(got.n_versions == 1 && got.versions[0] == 1, "01 01 means {1}");
	n = body(b, "alice", 5, (const uint8_t[]){1, 0}, 2);
	is_int(parse_signed(b, n, &got), 0, "version 0 is a legal u8");
	n = body(b, "alice", 5, (const uint8_t[]){0}, 1);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "empty suffix");
	n = body(b, "alice", 5, (const uint8_t[]){2, 2, 1}, 3);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "unsorted versions");
	n = body(b, "alice", 5, (const uint8_t[]){2, 1, 1}, 3);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "repeated version");
	n = body(b, "alice", 5, (const uint8_t[]){2, 1}, 2);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED, "short suffix");
	n = body(b, "alice", 5, (const uint8_t[]){2, 1, 2, 9}, 4);
	is_int(parse_signed(b, n, &got), DMP_EMALFORMED,
	       "trailing byte after the suffix");
	{
		uint8_t sfx[256];

		sfx[0] = 255;
		for (int i = 0; i < 255; i++) {
			sfx[1 + i] = (uint8_t)i;
		}
		n = body(b, "alice", 5, sfx, 256);
		is_int(parse_signed(b, n, &got), 0, "255 versions");
		is_int(got.n_versions, 255, "255 versions parsed");
		len = dmp_identity_sign_encode(w, sizeof(w), &got, g_sk);
		ok(len > 0 && (size_t)len <= DMP_IDENTITY_WIRE_MAX,
		   "largest record fits DMP_IDENTITY_WIRE_MAX");
		memset(t, 'u', 64);
		memcpy(got.username, t, 64);
		got.username_len = 64;
		len = dmp_identity_sign_encode(w, sizeof(w), &got, g_sk);
		is_int(len, DMP_IDENTITY_WIRE_MAX, "max record length");
		is_int(dmp_identity_parse_verify(&got, w, (size_t)len, NULL, 0),
		       0, "max record parses");
	}

	/* Low-order embedded key: refused before verifying. */
	{
		uint8_t lo[32] = {1};

		n = body(b, "alice", 5, NULL, 0);
		memcpy(b + 1 + 5 + 32, lo, 32);
		memset(b + n, 0, 64);
		ok(dmp_ed25519_is_low_order(lo), "identity point is low order");
		len = dmp_record_encode(w, sizeof(w), DMP_PREFIX_IDENTITY, b,
					n + 64, 0);
		is_int(dmp_identity_parse_verify(&got, w, (size_t)len, NULL, 0),
		       DMP_EBADKEY, "low-order embedded key");
	}

	/* Encoder refusals. */
	rec_init(&rec, "alice", (const uint8_t[32]){0x11}, g_pk, 42);
	is_int(dmp_identity_sign_encode(w, 10, &rec, g_sk), DMP_ENOBUFS,
	       "encode into a short buffer");
	rec.username_len = 0;
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EINVAL,
	       "empty username");
	rec.username_len = 65;
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EINVAL,
	       "65-byte username");
	rec.username_len = 2;
	memcpy(rec.username, "\xc3(", 2);
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EINVAL,
	       "non-UTF-8 username");
	rec_init(&rec, "alice", (const uint8_t[32]){0x11}, g_pk, 42);
	rec.n_versions = 0;
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EINVAL,
	       "no versions");
	rec.n_versions = 2;
	rec.versions[0] = 2;
	rec.versions[1] = 1;
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EINVAL,
	       "unsorted versions");
	rec.versions[0] = 1;
	rec.versions[1] = 1;
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EINVAL,
	       "repeated versions");
	rec_init(&rec, "alice", (const uint8_t[32]){0x11}, g_pk, 42);
	rec.ed25519_spk[0] ^= 1;
	is_int(dmp_identity_sign_encode(w, sizeof(w), &rec, g_sk), DMP_EBADKEY,
	       "sk does not match ed25519_spk");
	rec_init(&rec, "alice", (const uint8_t[32]){0x11}, g_pk, 42);
	len = dmp_identity_body(b, sizeof(b), &rec);
	is_int(len, 78, "versions {1}: no suffix emitted");
	rec.versions[0] = 2;
	len = dmp_identity_body(b, sizeof(b), &rec);
	is_int(len, 80, "versions {2}: suffix emitted");
	ok(b[78] == 1 && b[79] == 2, "suffix bytes 01 02");
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
		int valid;
	} t[] = {
	    {"", 0, 1},
	    {"abc", 3, 1},
	    {"\x7f", 1, 1},
	    {"\xc2\x80", 2, 1},
	    {"\xdf\xbf", 2, 1},
	    {"\xe0\xa0\x80", 3, 1},
	    {"\xef\xbf\xbf", 3, 1},
	    {"\xf0\x90\x80\x80", 4, 1},
	    {"\xf4\x8f\xbf\xbf", 4, 1},
	    {"\x80", 1, 0},
	    {"\xc1\xbf", 2, 0},
	    {"\xe0\x9f\xbf", 3, 0},
	    {"\xed\xbf\xbf", 3, 0},
	    {"\xf0\x8f\xbf\xbf", 4, 0},
	    {"\xf4\x90\x80\x80", 4, 0},
	    {"\xf5\x80\x80\x80", 4, 0},
	    {"\xe2\x82", 2, 0},
	    {"\xe2\x28\xa1", 3, 0},
	    {"\xfe", 1, 0},
	};

	for (size_t i = 0; i < DMP_ARRAY_LEN(t); i++) {
		is_int(dmp_utf8_valid((const uint8_t *)t[i].s, t[i].len),
		       t[i].valid, "utf8 case %zu", i);
	}
}

int main(void)
{
	plan(152);
	test_vectors();
	test_derivation();
	test_full_send();
	test_malformed();
	test_utf8();
	return done_testing();
}
