/* tests/unit/test_rotation.c - rotation and revocation (PROTOCOL.md 2.9-10). */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/rotation.h"
#include "tap.h"
#include "vec.h"
#include "wire/rotation_i.h"

/* Inside the 5-year window of the vectors' exp 2051222400. */
#define NOW 1900000000ULL

static uint8_t a_pk[32], a_sk[64], b_pk[32], b_sk[64];

static void test_rotation_vectors(void)
{
	json_t *root = vec_load("rotation_record.json");
	char wire[DMP_RECORD_WIRE_MAX + 1];

	for (size_t i = 0; i < json_array_size(root); i++) {
		const json_t *c = json_array_get(root, i);
		const char *desc = vec_str(c, "description");
		char *want = vec_hex_str(c, "expected_wire_hex");
		uint8_t opk[32], osk[64], npk[32], nsk[64];
		struct dmp_rotation in, got;
		uint64_t now = NOW;
		int rc;

		vec_key_from_seed_hex(opk, osk, vec_str(c, "old_seed_hex"));
		vec_key_from_seed_hex(npk, nsk, vec_str(c, "new_seed_hex"));
		memset(&in, 0, sizeof(in));
		if (vec_has(c, "inputs")) {
			const json_t *inp = json_object_get(c, "inputs");

			in.subject_type = (uint8_t)vec_int(inp, "subject_type");
			strcpy(in.subject, vec_str(inp, "subject"));
			vec_hex_fixed(inp, "old_spk_hex", in.old_spk, 32);
			vec_hex_fixed(inp, "new_spk_hex", in.new_spk, 32);
			in.seq = (uint64_t)vec_int(inp, "seq");
			in.ts = (uint64_t)vec_int(inp, "ts");
			in.exp = (uint64_t)vec_int(inp, "exp");
			ok(memcmp(opk, in.old_spk, 32) == 0 &&
			       memcmp(npk, in.new_spk, 32) == 0,
			   "%s: seeds derive both keys", desc);
			rc = dmp_rotation_sign(wire, sizeof(wire), &in, osk,
					       nsk);
			is_int(rc, (long long)strlen(want), "%s: sign", desc);
			is_str(wire, want, "%s: wire byte for byte", desc);
		}
		if (vec_has(c, "verify_with_now")) {
			now = (uint64_t)vec_int(c, "verify_with_now");
		}
		rc = dmp_rotation_parse(&got, want, strlen(want), NULL, NULL, 0,
					now);
		if (vec_has(c, "expected_parse_result")) {
			is_str(vec_str(c, "expected_parse_result"), "none",
			       "%s: a failure case", desc);
			ok(rc < 0, "%s: parse refuses (%s)", desc,
			   dmp_strerror(rc));
			ok(got.subject_type == 0 && got.seq == 0,
			   "%s: output zeroed", desc);
			free(want);
			continue;
		}
		is_int(rc, 0, "%s: parse", desc);
		is_str(got.subject, vec_str(c, "expected_parse_subject"),
		       "%s: subject", desc);
		is_int((long long)got.seq, vec_int(c, "expected_parse_seq"),
		       "%s: seq", desc);
		ok(memcmp(&got, &in, sizeof(got)) == 0, "%s: every field",
		   desc);
		is_int(dmp_rotation_parse(&got, want, strlen(want), opk,
					  in.subject, strlen(in.subject), now),
		       0, "%s: expected old key and subject match", desc);
		is_int(dmp_rotation_parse(&got, want, strlen(want), npk, NULL,
					  0, now),
		       DMP_EBADKEY, "%s: another expected old key", desc);
		free(want);
	}
	json_decref(root);
}

static void test_revocation_vectors(void)
{
	json_t *root = vec_load("revocation_record.json");
	char wire[DMP_RECORD_WIRE_MAX + 1];

	for (size_t i = 0; i < json_array_size(root); i++) {
		const json_t *c = json_array_get(root, i);
		const char *desc = vec_str(c, "description");
		char *want = vec_hex_str(c, "expected_wire_hex");
		uint8_t pk[32], sk[64], expect[32];
		const uint8_t *expected = NULL;
		struct dmp_revocation in, got;
		uint64_t now = (uint64_t)vec_int(c, "verify_with_now");
		uint64_t max_age = 0;
		int rc;

		vec_key_from_seed_hex(pk, sk, vec_str(c, "revoked_seed_hex"));
		memset(&in, 0, sizeof(in));
		if (vec_has(c, "inputs")) {
			const json_t *inp = json_object_get(c, "inputs");

			in.subject_type = (uint8_t)vec_int(inp, "subject_type");
			strcpy(in.subject, vec_str(inp, "subject"));
			vec_hex_fixed(inp, "revoked_spk_hex", in.revoked_spk,
				      32);
			in.reason = (uint8_t)vec_int(inp, "reason_code");
			in.ts = (uint64_t)vec_int(inp, "ts");
			is_mem(pk, 32, in.revoked_spk, 32,
			       "%s: seed derives revoked_spk", desc);
			rc = dmp_revocation_sign(wire, sizeof(wire), &in, sk);
			is_int(rc, (long long)strlen(want), "%s: sign", desc);
			is_str(wire, want, "%s: wire byte for byte", desc);
		}
		if (vec_has(c, "verify_with_expected_revoked_spk_hex")) {
			vec_hex_fixed(c, "verify_with_expected_revoked_spk_hex",
				      expect, 32);
			expected = expect;
		}
		if (vec_has(c, "verify_with_max_age_seconds")) {
			max_age =
			    (uint64_t)vec_int(c, "verify_with_max_age_seconds");
		}
		rc = dmp_revocation_parse(&got, want, strlen(want), expected,
					  NULL, 0, now, max_age);
		if (vec_has(c, "expected_parse_result")) {
			is_str(vec_str(c, "expected_parse_result"), "none",
			       "%s: a failure case", desc);
			ok(rc < 0, "%s: parse refuses (%s)", desc,
			   dmp_strerror(rc));
			ok(got.subject_type == 0, "%s: output zeroed", desc);
			/* Without the extra context the wire is valid. */
			is_int(dmp_revocation_parse(&got, want, strlen(want),
						    NULL, NULL, 0, now, 0),
			       0, "%s: accepted without the override", desc);
			free(want);
			continue;
		}
		is_int(rc, 0, "%s: parse", desc);
		is_str(got.subject, vec_str(c, "expected_parse_subject"),
		       "%s: subject", desc);
		is_int(got.reason, vec_int(c, "expected_parse_reason_code"),
		       "%s: reason", desc);
		ok(memcmp(&got, &in, sizeof(got)) == 0, "%s: every field",
		   desc);
		is_int(dmp_revocation_parse(&got, want, strlen(want), pk,
					    in.subject, strlen(in.subject), now,
					    0),
		       0, "%s: expected key and subject match", desc);
		free(want);
	}
	json_decref(root);
}

static void test_subjects(void)
{
	static const struct {
		uint8_t type;
		const char *s;
		int valid;
	} subj[] = {
	    {1, "alice@example.com", 1},
	    {1, "Alice Smith@example.com.", 1},
	    {1, "\xc3\xa9lise@example.com", 1},
	    {1, "a@b@example.com", 0},
	    {1, "alice", 0},
	    {1, "@example.com", 0},
	    {1, "  @example.com", 0},
	    {1, "alice@", 0},
	    {1, "alice@exa_mple.com", 0},
	    {1, "alice@example.com..", 0},
	    {1, "alice@ example.com", 0},
	    {1, "al\tice@example.com", 0},
	    {1, "al\xff@example.com", 0},
	    {1, "al\xed\xa0\x80@example.com", 0}, /* surrogate */
	    {1, "al\xc0\xaf@example.com", 0},	  /* overlong */
	    {2, "mesh.example.com", 1},
	    {2, "mesh.example.com.", 1},
	    {2, "mesh_1.example.com", 0},
	    {2, "alice@example.com", 0},
	    {3, "example.com", 1},
	    {3, "-example.com", 0},
	    {3, "", 0},
	    {0, "example.com", -1},
	    {4, "example.com", -1},
	};
	char longs[300];

	for (size_t i = 0; i < DMP_ARRAY_LEN(subj); i++) {
		int want = subj[i].valid == 1	 ? 0
			   : subj[i].valid == -1 ? DMP_EINVAL
						 : DMP_EBADNAME;

		is_int(dmp_subject_check(subj[i].type, subj[i].s,
					 strlen(subj[i].s)),
		       want, "subject type %d '%s'", subj[i].type, subj[i].s);
	}
	/* Type 1 may be 255 bytes; DNS-name subjects stop at 64. */
	memset(longs, 'u', 255);
	memcpy(longs + 255 - 12, "@example.com", 12);
	is_int(dmp_subject_check(1, longs, 255), 0, "255-byte user subject");
	is_int(dmp_subject_check(1, longs, 256), DMP_EBADNAME,
	       "256-byte user subject");
	memset(longs, 'a', 64);
	longs[30] = '.';
	is_int(dmp_subject_check(2, longs, 64), 0, "64-byte cluster subject");
	longs[64] = 'a';
	is_int(dmp_subject_check(2, longs, 65), DMP_EBADNAME,
	       "65-byte cluster subject");

	ok(dmp_subject_equal(2, "Mesh.Example.com.", 17, "mesh.example.com",
			     16),
	   "name subjects ignore case and the trailing dot");
	ok(dmp_subject_equal(1, "alice@EXAMPLE.com", 17, "alice@example.com.",
			     18),
	   "user subject: the host ignores case");
	ok(!dmp_subject_equal(1, "Alice@example.com", 17, "alice@example.com",
			      17),
	   "user subject: the user keeps its case");
	ok(!dmp_subject_equal(1, "alice@example.com", 17, "alice@example.org",
			      17),
	   "user subject: different hosts");
}

static void base_rotation(struct dmp_rotation *r)
{
	memset(r, 0, sizeof(*r));
	r->subject_type = DMP_SUBJECT_USER;
	strcpy(r->subject, "alice@example.com");
	memcpy(r->old_spk, a_pk, 32);
	memcpy(r->new_spk, b_pk, 32);
	r->seq = 1700000000000ULL;
	r->ts = NOW;
	r->exp = NOW + DMP_ROTATION_LIFETIME;
}

static int rot_parse(const struct dmp_rotation *r, uint64_t now)
{
	char wire[DMP_RECORD_WIRE_MAX + 1];
	struct dmp_rotation got;
	int n = dmp_rotation_sign(wire, sizeof(wire), r, a_sk, b_sk);

	if (n < 0) {
		return n;
	}
	return dmp_rotation_parse(&got, wire, (size_t)n, NULL, NULL, 0, now);
}

/* Co-sign an arbitrary rotation body with a's and b's keys. */
static int rot_parse_body(const uint8_t *body, size_t n)
{
	uint8_t blob[1024];
	char wire[2048];
	struct dmp_rotation got;
	int w;

	memcpy(blob, body, n);
	dmp_sign(blob + n, body, n, a_sk);
	dmp_sign(blob + n + 64, body, n, b_sk);
	w = dmp_record_encode(wire, sizeof(wire), DMP_PREFIX_ROTATION, blob,
			      n + 128, 0);
	return dmp_rotation_parse(&got, wire, (size_t)w, NULL, NULL, 0, NOW);
}

static void test_rotation_malformed(void)
{
	struct dmp_rotation r, got;
	char wire[DMP_RECORD_WIRE_MAX + 1], big[1300];
	uint8_t body[DMP_ROTATION_BODY_MAX], blob[1024];
	size_t blen;
	int n;

	base_rotation(&r);
	n = dmp_rotation_sign(wire, sizeof(wire), &r, a_sk, b_sk);
	ok(n > 0, "sign a rotation");
	is_int(dmp_rotation_parse(&got, wire, (size_t)n, NULL,
				  "alice@EXAMPLE.COM.", 18, NOW),
	       0, "expected subject, host case ignored");
	is_int(dmp_rotation_parse(&got, wire, (size_t)n, NULL,
				  "bob@example.com", 15, NOW),
	       DMP_EBADNAME, "another subject");
	is_int(
	    dmp_rotation_parse(&got, wire, (size_t)n - 4, NULL, NULL, 0, NOW),
	    DMP_EMALFORMED, "truncated by a quantum");
	is_int(dmp_rotation_parse(&got, "v=dmp1;t=revocation;AAAA", 24, NULL,
				  NULL, 0, NOW),
	       DMP_EPREFIX, "wrong prefix");
	memcpy(big, DMP_PREFIX_ROTATION, 18);
	memset(big + 18, 'A', sizeof(big) - 18);
	is_int(dmp_rotation_parse(&got, big, 1201, NULL, NULL, 0, NOW),
	       DMP_ETOOBIG, "over 1200 bytes");
	strcpy(big, DMP_PREFIX_ROTATION "AAB=");
	is_int(dmp_rotation_parse(&got, big, strlen(big), NULL, NULL, 0, NOW),
	       DMP_EBASE64, "non-canonical base64");

	if (dmp_record_decode(blob, sizeof(blob), &blen, wire, (size_t)n,
			      DMP_PREFIX_ROTATION, 0, 0) != 0) {
		abort();
	}
	/* Swap the two signatures: each then fails under its key. */
	{
		uint8_t tmp[64];

		memcpy(tmp, blob + blen - 128, 64);
		memcpy(blob + blen - 128, blob + blen - 64, 64);
		memcpy(blob + blen - 64, tmp, 64);
	}
	n = dmp_record_encode(wire, sizeof(wire), DMP_PREFIX_ROTATION, blob,
			      blen, 0);
	is_int(dmp_rotation_parse(&got, wire, (size_t)n, NULL, NULL, 0, NOW),
	       DMP_EBADSIG, "swapped signatures");
	/* Only the old key signs (sig_new by old key too). */
	n = dmp_rotation_body_encode(body, sizeof(body), &r);
	memcpy(blob, body, (size_t)n);
	dmp_sign(blob + n, body, (size_t)n, a_sk);
	dmp_sign(blob + n + 64, body, (size_t)n, a_sk);
	n = dmp_record_encode(wire, sizeof(wire), DMP_PREFIX_ROTATION, blob,
			      (size_t)n + 128, 0);
	is_int(dmp_rotation_parse(&got, wire, (size_t)n, NULL, NULL, 0, NOW),
	       DMP_EBADSIG, "sig_new not by the new key");

	is_int(dmp_rotation_sign(wire, sizeof(wire), &r, b_sk, a_sk),
	       DMP_EBADKEY, "sign with the keys swapped");
	memcpy(r.new_spk, a_pk, 32);
	is_int(dmp_rotation_sign(wire, sizeof(wire), &r, a_sk, a_sk),
	       DMP_EINVAL, "sign: new == old");
	n = dmp_rotation_body_encode(body, sizeof(body), &r);
	is_int(n, DMP_EINVAL, "encode: new == old");
	base_rotation(&r);
	n = dmp_rotation_body_encode(body, sizeof(body), &r);
	memcpy(body + n - 24 - 32, a_pk, 32);
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "parse: new == old");

	/* Low-order new key: body parses, verification refuses. */
	base_rotation(&r);
	n = dmp_rotation_body_encode(body, sizeof(body), &r);
	memset(body + n - 24 - 32, 0, 32);
	body[n - 24 - 32] = 1;
	is_int(rot_parse_body(body, (size_t)n), DMP_EBADKEY,
	       "low-order new key");

	/* Time (6.2). */
	base_rotation(&r);
	r.exp = NOW - 1;
	is_int(rot_parse(&r, NOW), DMP_EEXPIRED, "exp < now");
	r.exp = NOW;
	is_int(rot_parse(&r, NOW), 0, "exp == now");
	r.exp = NOW + DMP_5_YEARS;
	is_int(rot_parse(&r, NOW), 0, "exp = now + 5 years");
	r.exp = NOW + DMP_5_YEARS + 1;
	is_int(rot_parse(&r, NOW), DMP_EFUTURE, "exp beyond 5 years");

	/* Body structure. */
	base_rotation(&r);
	n = dmp_rotation_body_encode(body, sizeof(body), &r);
	body[n] = 0;
	is_int(rot_parse_body(body, (size_t)n + 1), DMP_EMALFORMED,
	       "trailing byte");
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n - 1),
	       DMP_EMALFORMED, "cut inside exp");
	body[7] = 4;
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "subject_type 4");
	body[7] = 0;
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "subject_type 0");
	body[7] = 2;
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), DMP_EBADNAME,
	       "user@host under the cluster type");
	body[7] = 1;
	body[8] = 0;
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "subject_len 0");
	n = dmp_rotation_body_encode(body, sizeof(body), &r);
	body[9 + 2] = '#';
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), 0,
	       "user part is free-form");
	body[9 + 8] = '_';
	is_int(dmp_rotation_body_parse(&got, body, (size_t)n), DMP_EBADNAME,
	       "host part follows the DNS-name rule");
	base_rotation(&r);
	r.subject_type = DMP_SUBJECT_CLUSTER;
	memset(r.subject, 'a', 70);
	r.subject[70] = '\0';
	r.subject[35] = '.';
	is_int(dmp_rotation_sign(wire, sizeof(wire), &r, a_sk, b_sk),
	       DMP_EBADNAME, "sign: 70-byte cluster subject");
}

static void test_revocation_malformed(void)
{
	struct dmp_revocation v, got;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	uint8_t body[DMP_ROTATION_BODY_MAX];
	int n;

	memset(&v, 0, sizeof(v));
	v.subject_type = DMP_SUBJECT_BOOTSTRAP;
	strcpy(v.subject, "example.com");
	memcpy(v.revoked_spk, a_pk, 32);
	v.reason = DMP_REVOKE_LOST_KEY;
	v.ts = NOW;
	n = dmp_revocation_sign(wire, sizeof(wire), &v, a_sk);
	ok(n > 0, "sign a revocation");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, a_pk, "EXAMPLE.com.",
				    12, NOW, 0),
	       0, "parse it");
	is_int(
	    dmp_revocation_parse(&got, wire, (size_t)n, b_pk, NULL, 0, NOW, 0),
	    DMP_EBADKEY, "another expected key");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, "example.org",
				    11, NOW, 0),
	       DMP_EBADNAME, "another subject");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0,
				    NOW - 300, 0),
	       0, "ts = now + 300");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0,
				    NOW - 301, 0),
	       DMP_EFUTURE, "ts = now + 301");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0,
				    NOW + 1000000000, 0),
	       0, "old revocations stay valid by default");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0,
				    NOW + 100, 100),
	       0, "max_age: exactly max_age old");
	is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0,
				    NOW + 101, 100),
	       DMP_EEXPIRED, "max_age: one second older");
	is_int(dmp_revocation_sign(wire, sizeof(wire), &v, b_sk), DMP_EBADKEY,
	       "sign by a key that is not revoked_spk");
	v.reason = 5;
	is_int(dmp_revocation_sign(wire, sizeof(wire), &v, a_sk), DMP_EINVAL,
	       "sign: reason 5");
	v.reason = 0;
	is_int(dmp_revocation_sign(wire, sizeof(wire), &v, a_sk), DMP_EINVAL,
	       "sign: reason 0");
	v.reason = DMP_REVOKE_OTHER;
	n = dmp_revocation_body_encode(body, sizeof(body), &v);
	body[n - 9] = 0;
	is_int(dmp_revocation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "parse: reason 0");
	body[n - 9] = 5;
	is_int(dmp_revocation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "parse: reason 5");
	body[n - 9] = 4;
	is_int(dmp_revocation_body_parse(&got, body, (size_t)n), 0,
	       "parse: reason 4");
	is_int(dmp_revocation_body_parse(&got, body, (size_t)n + 1),
	       DMP_EMALFORMED, "parse: trailing byte");
	is_int(dmp_revocation_body_parse(&got, body, (size_t)n - 1),
	       DMP_EMALFORMED, "parse: truncated");
	memcpy(body, DMP_ROTATION_MAGIC, 7);
	is_int(dmp_revocation_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "parse: rotation magic");
	/* Framing. */
	{
		char big[1300];
		const size_t pl = strlen(DMP_PREFIX_REVOCATION);

		n = dmp_revocation_sign(wire, sizeof(wire), &v, a_sk);
		is_int(dmp_revocation_parse(&got, wire, (size_t)n - 4, NULL,
					    NULL, 0, NOW, 0),
		       DMP_EMALFORMED, "revocation truncated");
		is_int(dmp_revocation_parse(&got, wire, pl + 4, NULL, NULL, 0,
					    NOW, 0),
		       DMP_EMALFORMED, "revocation below the minimum blob");
		is_int(dmp_revocation_parse(&got, "v=dmp1;t=rotation;AAAA", 22,
					    NULL, NULL, 0, NOW, 0),
		       DMP_EPREFIX, "revocation: wrong prefix");
		memcpy(big, DMP_PREFIX_REVOCATION, pl);
		memset(big + pl, 'A', sizeof(big) - pl);
		is_int(dmp_revocation_parse(&got, big, 1201, NULL, NULL, 0, NOW,
					    0),
		       DMP_ETOOBIG, "revocation over 1200 bytes");
		strcpy(big, DMP_PREFIX_REVOCATION "AAB=");
		is_int(dmp_revocation_parse(&got, big, strlen(big), NULL, NULL,
					    0, NOW, 0),
		       DMP_EBASE64, "revocation: non-canonical base64");
		wire[pl + 3] = '.';
		is_int(dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL,
					    0, NOW, 0),
		       DMP_EBASE64, "revocation: non-alphabet byte");
	}
	/* A low-order revoked key is refused before verifying. */
	n = dmp_revocation_body_encode(body, sizeof(body), &v);
	memset(body + n - 9 - 32, 0, 32);
	body[n - 9 - 32] = 1;
	n = dmp_record_sign_encode(wire, sizeof(wire), DMP_PREFIX_REVOCATION,
				   body, (size_t)n, a_sk, 0);
	is_int(
	    dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0, NOW, 0),
	    DMP_EBADKEY, "low-order revoked key");
	/* A revocation signed by some other key than the one it names. */
	n = dmp_revocation_body_encode(body, sizeof(body), &v);
	n = dmp_record_sign_encode(wire, sizeof(wire), DMP_PREFIX_REVOCATION,
				   body, (size_t)n, b_sk, 0);
	is_int(
	    dmp_revocation_parse(&got, wire, (size_t)n, NULL, NULL, 0, NOW, 0),
	    DMP_EBADSIG, "not self-signed");
}

/* ---- the rotation walk (PROTOCOL.md 8) ---------------------------------- */

#define WK 7
static uint8_t wpk[WK][32], wsk[WK][64];
static char wv[16][DMP_RECORD_WIRE_MAX + 1];
static const char *wq[16];
static size_t wl[16], wn;
static const char subj[] = "alice@mesh.test";

static void w_rot(int from, int to, uint64_t seq)
{
	struct dmp_rotation r;

	memset(&r, 0, sizeof(r));
	r.subject_type = DMP_SUBJECT_USER;
	memcpy(r.subject, subj, sizeof(subj));
	memcpy(r.old_spk, wpk[from], 32);
	memcpy(r.new_spk, wpk[to], 32);
	r.seq = seq;
	r.ts = NOW;
	r.exp = NOW + DMP_ROTATION_LIFETIME;
	if (dmp_rotation_sign(wv[wn], sizeof(wv[wn]), &r, wsk[from], wsk[to]) <
	    0) {
		wv[wn][0] = '\0';
	}
	wq[wn] = wv[wn];
	wl[wn] = strlen(wv[wn]);
	wn++;
}

static void w_rev(int k, uint8_t reason)
{
	struct dmp_revocation r;

	memset(&r, 0, sizeof(r));
	r.subject_type = DMP_SUBJECT_USER;
	memcpy(r.subject, subj, sizeof(subj));
	memcpy(r.revoked_spk, wpk[k], 32);
	r.reason = reason;
	r.ts = NOW;
	if (dmp_revocation_sign(wv[wn], sizeof(wv[wn]), &r, wsk[k]) < 0) {
		wv[wn][0] = '\0';
	}
	wq[wn] = wv[wn];
	wl[wn] = strlen(wv[wn]);
	wn++;
}

/* Flip one bit of the old key's signature of the last record. */
static void w_forge_last(void)
{
	static const char pre[] = "v=dmp1;t=rotation;";
	uint8_t raw[DMP_RECORD_WIRE_MAX];
	size_t len = 0;
	char *v = wv[wn - 1];

	if (dmp_b64_decode(raw, sizeof(raw), &len, v + strlen(pre),
			   strlen(v) - strlen(pre)) == 0 &&
	    len > 128) {
		raw[len - 128] ^= 1;
		(void)dmp_b64_encode(v + strlen(pre),
				     sizeof(wv[0]) - strlen(pre), raw, len);
	}
	wl[wn - 1] = strlen(v);
}

static int walk(struct dmp_rotation_walk *w)
{
	int rc = dmp_rotation_walk(w, wpk[0], DMP_SUBJECT_USER, subj,
				   strlen(subj), wq, wl, wn, NOW);

	wn = 0;
	return rc;
}

static void test_walk(void)
{
	struct dmp_rotation_walk w;

	for (int i = 0; i < WK; i++) {
		uint8_t seed[32];

		memset(seed, 'k' + i, sizeof(seed));
		dmp_ed25519_from_seed(wpk[i], wsk[i], seed);
	}
	wq[0] = "v=dmp1;t=identity;junk";
	wl[0] = strlen(wq[0]);
	wn = 1;
	is_int(walk(&w), 0, "walk: nothing to follow");
	ok(w.hops == 0 && memcmp(w.head, wpk[0], 32) == 0,
	   "walk: head stays the pinned key");

	w_rot(0, 1, 10);
	is_int(walk(&w), 0, "walk: one rotation");
	ok(w.hops == 1 && memcmp(w.head, wpk[1], 32) == 0, "walk: k0 -> k1");

	w_rot(1, 2, 20);
	w_rot(0, 1, 10);
	w_rot(0, 1, 10); /* a re-issue of one hop is harmless */
	is_int(walk(&w), 0, "walk: two rotations, out of order");
	ok(w.hops == 2 && memcmp(w.head, wpk[2], 32) == 0 && w.seq == 20,
	   "walk: k0 -> k1 -> k2");

	w_rot(0, 1, 10);
	w_forge_last();
	is_int(walk(&w), 0, "walk: forged old-key signature ignored");
	is_int(w.hops, 0, "walk: the forged rotation is not followed");

	w_rot(0, 1, 10);
	w_rot(0, 2, 11);
	is_int(walk(&w), DMP_ECHAIN, "walk: fork refused");
	ok(memcmp(w.head, wpk[0], 32) == 0 && strstr(w.why, "fork"),
	   "walk: fork says so, head stays pinned");

	w_rot(0, 1, 10);
	w_rot(1, 2, 10);
	is_int(walk(&w), DMP_ECHAIN, "walk: seq not increasing refused");
	ok(strstr(w.why, "seq") != NULL, "walk: seq says so");

	w_rot(0, 1, 10);
	w_rev(1, DMP_REVOKE_COMPROMISE);
	is_int(walk(&w), DMP_ECHAIN, "walk: revoked next key refused");
	ok(strstr(w.why, "revoked") != NULL, "walk: revoked next key says so");

	w_rot(0, 1, 10);
	w_rev(0, DMP_REVOKE_LOST_KEY);
	is_int(walk(&w), DMP_EREVOKED, "walk: pinned key revoked");
	is_int(w.revoked_reason, DMP_REVOKE_LOST_KEY, "walk: reason kept");

	w_rot(0, 1, 10);
	w_rot(1, 0, 20);
	is_int(walk(&w), DMP_ECHAIN, "walk: cycle refused");
	ok(strstr(w.why, "cycle") != NULL, "walk: cycle says so");

	for (int i = 0; i < 4; i++) {
		w_rot(i, i + 1, 10 + (uint64_t)i);
	}
	is_int(walk(&w), 0, "walk: four hops followed");
	ok(w.hops == 4 && memcmp(w.head, wpk[4], 32) == 0, "walk: k0 -> k4");

	for (int i = 0; i < 5; i++) {
		w_rot(i, i + 1, 10 + (uint64_t)i);
	}
	is_int(walk(&w), DMP_ECHAIN, "walk: a fifth hop is refused");
	ok(strstr(w.why, "4") != NULL, "walk: the limit says so");
}

int main(void)
{
	if (dmp_init() != 0) {
		return 1;
	}
	plan(148 + 22);
	dmp_ed25519_from_seed(
	    a_pk, a_sk, (const uint8_t *)"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	dmp_ed25519_from_seed(
	    b_pk, b_sk, (const uint8_t *)"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	test_rotation_vectors();
	test_revocation_vectors();
	test_subjects();
	test_rotation_malformed();
	test_revocation_malformed();
	test_walk();
	return done_testing();
}
