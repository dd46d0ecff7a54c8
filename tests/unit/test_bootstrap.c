/* tests/unit/test_bootstrap.c - bootstrap record (PROTOCOL.md 2.7). */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/bootstrap.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"
#include "wire/bootstrap_i.h"

/* Inside the 5-year window of the vectors' exp 2051222400. */
#define NOW 1900000000ULL
#define PFX DMP_PREFIX_BOOTSTRAP

static uint8_t zone_pk[32], zone_sk[64], other_pk[32], other_sk[64];

static void fill_from_inputs(struct dmp_bootstrap *b, const json_t *in)
{
	const json_t *entries = json_object_get(in, "entries");

	memset(b, 0, sizeof(*b));
	b->seq = (uint64_t)vec_int(in, "seq");
	b->exp = (uint64_t)vec_int(in, "exp");
	vec_hex_fixed(in, "signer_spk_hex", b->signer_spk, 32);
	strcpy(b->user_domain, vec_str(in, "user_domain"));
	b->entry_count = json_array_size(entries);
	for (size_t i = 0; i < b->entry_count; i++) {
		const json_t *e = json_array_get(entries, i);

		b->entries[i].priority = (uint16_t)vec_int(e, "priority");
		strcpy(b->entries[i].base, vec_str(e, "cluster_base_domain"));
		vec_hex_fixed(e, "operator_spk_hex", b->entries[i].operator_spk,
			      32);
	}
}

static void test_vectors(void)
{
	json_t *root = vec_load("bootstrap_record.json");
	char wire[DMP_RECORD_WIRE_MAX + 1];

	for (size_t i = 0; i < json_array_size(root); i++) {
		const json_t *c = json_array_get(root, i);
		const char *desc = vec_str(c, "description");
		char *want = vec_hex_str(c, "expected_wire_hex");
		uint8_t pk[32], sk[64], pinned[32];
		struct dmp_bootstrap in, got;
		uint64_t now = NOW;
		int rc;

		vec_key_from_seed_hex(pk, sk, vec_str(c, "signer_seed_hex"));
		memcpy(pinned, pk, 32);
		if (vec_has(c, "inputs")) {
			fill_from_inputs(&in, json_object_get(c, "inputs"));
			is_mem(pk, 32, in.signer_spk, 32,
			       "%s: seed derives signer_spk", desc);
			rc = dmp_bootstrap_sign(wire, sizeof(wire), &in, sk);
			is_int(rc, (long long)strlen(want), "%s: sign", desc);
			is_str(wire, want, "%s: wire byte for byte", desc);
		}
		if (vec_has(c, "expected_multi_string")) {
			ok(strlen(want) > 255, "%s: spans several TXT strings",
			   desc);
		}
		if (vec_has(c, "verify_with_signer_spk_hex")) {
			vec_hex_fixed(c, "verify_with_signer_spk_hex", pinned,
				      32);
		}
		if (vec_has(c, "verify_with_now")) {
			now = (uint64_t)vec_int(c, "verify_with_now");
		}
		if (vec_has(c, "expected_parse_result")) {
			const char *dom = vec_has(c, "inputs") ? in.user_domain
							       : "example.com";

			is_str(vec_str(c, "expected_parse_result"), "none",
			       "%s: a failure case", desc);
			rc = dmp_bootstrap_parse(&got, want, strlen(want),
						 pinned, dom, strlen(dom), now);
			ok(rc < 0, "%s: parse refuses (%s)", desc,
			   dmp_strerror(rc));
			ok(got.entry_count == 0, "%s: output zeroed", desc);
			rc = dmp_bootstrap_parse(
			    &got, want, strlen(want), pk, dom, strlen(dom),
			    vec_has(c, "verify_with_now") ? 90 : NOW);
			is_int(rc, 0, "%s: parses with the proper context",
			       desc);
		} else {
			const char *dom =
			    vec_str(c, "expected_parse_user_domain");

			rc = dmp_bootstrap_parse(&got, want, strlen(want),
						 pinned, dom, strlen(dom), now);
			is_int(rc, 0, "%s: parse", desc);
			is_str(got.user_domain, dom, "%s: user_domain", desc);
			is_int((long long)got.seq,
			       vec_int(c, "expected_parse_seq"), "%s: seq",
			       desc);
			is_int((long long)got.exp, (long long)in.exp, "%s: exp",
			       desc);
			is_int((long long)got.entry_count,
			       (long long)in.entry_count, "%s: entry_count",
			       desc);
			/* The vectors' entries are already in priority order.
			 */
			ok(memcmp(got.entries, in.entries,
				  in.entry_count * sizeof(in.entries[0])) == 0,
			   "%s: entries", desc);
		}
		free(want);
	}
	json_decref(root);
}

static void base_record(struct dmp_bootstrap *b, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->seq = 3;
	b->exp = NOW + 3600;
	memcpy(b->signer_spk, zone_pk, 32);
	strcpy(b->user_domain, "example.com");
	b->entry_count = n;
	for (size_t i = 0; i < n; i++) {
		b->entries[i].priority = (uint16_t)(10 * (i + 1));
		snprintf(b->entries[i].base, sizeof(b->entries[i].base),
			 "mesh%u.example.com", (unsigned)(i % 100));
		memset(b->entries[i].operator_spk, (int)i + 1, 32);
	}
}

static int parse_body(const uint8_t *body, size_t n, struct dmp_bootstrap *got)
{
	char wire[4096];
	int rc = dmp_record_sign_encode(wire, sizeof(wire), PFX, body, n,
					zone_sk, 0);

	if (rc < 0) {
		return rc;
	}
	return dmp_bootstrap_parse(got, wire, (size_t)rc, zone_pk,
				   "example.com", 11, NOW);
}

static void test_sorting(void)
{
	struct dmp_bootstrap b, got;
	char wire[DMP_RECORD_WIRE_MAX + 1];
	int n;

	base_record(&b, 4);
	b.entries[0].priority = 30;
	b.entries[1].priority = 10;
	b.entries[2].priority = 30;
	b.entries[3].priority = 5;
	n = dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk);
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, zone_pk,
				   "example.com", 11, NOW),
	       0, "unsorted entries sign and parse");
	is_int(b.entries[0].priority, 30, "sign leaves the caller's order");
	is_int(got.entries[0].priority, 5,
	       "entries[0] has the lowest priority");
	is_str(got.entries[0].base, "mesh3.example.com", "priority 5");
	is_str(got.entries[1].base, "mesh1.example.com", "priority 10");
	is_str(got.entries[2].base, "mesh0.example.com",
	       "first of the tie at 30 stays first");
	is_str(got.entries[3].base, "mesh2.example.com",
	       "second of the tie at 30 stays second");
}

static void test_malformed(void)
{
	static const uint8_t low_order[32] = {1};
	struct dmp_bootstrap b, got;
	char wire[DMP_RECORD_WIRE_MAX + 1], big[1300];
	uint8_t body[DMP_BOOTSTRAP_BODY_MAX], blob[1024];
	size_t blen;
	int n;

	base_record(&b, 2);
	n = dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk);
	ok(n > 0, "sign a base record");
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, zone_pk,
				   "EXAMPLE.com.", 12, NOW),
	       0, "domain compares case-insensitively, dot ignored");
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, zone_pk,
				   "example.org", 11, NOW),
	       DMP_EBADNAME, "another domain is refused");
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n - 4, zone_pk,
				   "example.com", 11, NOW),
	       DMP_EBADSIG, "truncated");
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, other_pk,
				   "example.com", 11, NOW),
	       DMP_EBADSIG, "wrong pinned key");
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, low_order,
				   "example.com", 11, NOW),
	       DMP_EBADKEY, "low-order pinned key");
	is_int(
	    dmp_bootstrap_parse(&got, wire, (size_t)n, zone_pk, NULL, 0, NOW),
	    DMP_EINVAL, "no expected domain");
	is_int(dmp_bootstrap_parse(&got, "v=dmp1;t=cluster;AAAA", 21, zone_pk,
				   "example.com", 11, NOW),
	       DMP_EPREFIX, "wrong prefix");
	memcpy(big, PFX, strlen(PFX));
	memset(big + strlen(PFX), 'A', sizeof(big) - strlen(PFX));
	is_int(dmp_bootstrap_parse(&got, big, 1201, zone_pk, "example.com", 11,
				   NOW),
	       DMP_ETOOBIG, "over 1200 bytes");
	strcpy(big, PFX "AAB=");
	is_int(dmp_bootstrap_parse(&got, big, strlen(big), zone_pk,
				   "example.com", 11, NOW),
	       DMP_EBASE64, "non-canonical base64");
	wire[25] = '*';
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, zone_pk,
				   "example.com", 11, NOW),
	       DMP_EBASE64, "non-alphabet byte");

	n = dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk);
	if (dmp_record_decode(blob, sizeof(blob), &blen, wire, (size_t)n, PFX,
			      0, 0) != 0) {
		abort();
	}
	blob[blen - 70] ^= 0x40;
	n = dmp_record_encode(wire, sizeof(wire), PFX, blob, blen, 0);
	is_int(dmp_bootstrap_parse(&got, wire, (size_t)n, zone_pk,
				   "example.com", 11, NOW),
	       DMP_EBADSIG, "tampered body fails the signature");

	memcpy(b.signer_spk, other_pk, 32);
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	is_int(parse_body(body, (size_t)n, &got), DMP_EBADKEY,
	       "embedded signer_spk must equal the pinned key");
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk), DMP_EBADKEY,
	       "sign refuses a mismatched key");
	memcpy(b.signer_spk, zone_pk, 32);

	b.exp = NOW - 1;
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	is_int(parse_body(body, (size_t)n, &got), DMP_EEXPIRED, "exp < now");
	b.exp = NOW;
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	is_int(parse_body(body, (size_t)n, &got), 0, "exp == now");
	b.exp = NOW + DMP_5_YEARS + 1;
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	is_int(parse_body(body, (size_t)n, &got), DMP_EFUTURE,
	       "exp beyond 5 years");
	b.exp = NOW + 3600;

	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	body[n] = 7;
	is_int(parse_body(body, (size_t)n + 1, &got), DMP_EMALFORMED,
	       "trailing byte");
	is_int(parse_body(body, (size_t)n - 1, &got), DMP_EMALFORMED,
	       "cut inside the last key");
	body[56 + 11] = 0; /* entry_count after "example.com" */
	is_int(parse_body(body, (size_t)n, &got), DMP_EMALFORMED,
	       "entry_count 0");
	body[56 + 11] = 17;
	is_int(dmp_bootstrap_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "entry_count 17");
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	body[56 + 11 + 4] = '_';
	is_int(dmp_bootstrap_body_parse(&got, body, (size_t)n), DMP_EBADNAME,
	       "underscore in a base domain");
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	body[56 + 11 + 3] = 0;
	is_int(dmp_bootstrap_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "base_len 0");
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	body[56] = '-';
	is_int(dmp_bootstrap_body_parse(&got, body, (size_t)n), DMP_EBADNAME,
	       "user_domain starting with '-'");

	/* Duplicate (priority, base) pairs, compared case-insensitively. */
	base_record(&b, 2);
	b.entries[1].priority = b.entries[0].priority;
	strcpy(b.entries[1].base, "MESH0.example.com.");
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk), DMP_EINVAL,
	       "sign refuses a duplicate (priority, base)");
	strcpy(b.entries[1].base, "mesh9.example.com");
	n = dmp_bootstrap_body_encode(body, sizeof(body), &b);
	{
		uint8_t *p = memmem(body, (size_t)n, "mesh9", 5);

		ok(p != NULL, "found the second base");
		memcpy(p, "MESH0", 5);
	}
	is_int(parse_body(body, (size_t)n, &got), DMP_EMALFORMED,
	       "parse refuses a duplicate (priority, lower(base))");
	b.entries[1].priority = 99;
	strcpy(b.entries[1].base, "mesh0.example.com");
	n = dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk);
	ok(n > 0, "same base at two priorities is fine");

	base_record(&b, 0);
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk), DMP_EINVAL,
	       "sign: no entries");
	base_record(&b, 16);
	b.entry_count = 17;
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk), DMP_EINVAL,
	       "sign: 17 entries");
	base_record(&b, 16);
	for (size_t i = 0; i < 16; i++) {
		memset(b.entries[i].base, 'b', 60);
		b.entries[i].base[60] = (char)('a' + i);
	}
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk), DMP_ETOOBIG,
	       "sign: over the 1200-byte cap");
	base_record(&b, 1);
	strcpy(b.user_domain, "exa_mple.com");
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk),
	       DMP_EBADNAME, "sign: bad user_domain");
	base_record(&b, 1);
	strcpy(b.entries[0].base, "a..b");
	is_int(dmp_bootstrap_sign(wire, sizeof(wire), &b, zone_sk),
	       DMP_EBADNAME, "sign: bad base domain");
}

int main(void)
{
	if (dmp_init() != 0) {
		return 1;
	}
	plan(70);
	vec_key_from_seed_hex(
	    zone_pk, zone_sk,
	    "e04dce4d5bab48891ee2b5d1ac6ef71089d5038d91d9ac9e6d9887c7e4103130");
	dmp_ed25519_from_seed(
	    other_pk, other_sk,
	    (const uint8_t *)"0123456789abcdef0123456789abcdef");
	test_vectors();
	test_sorting();
	test_malformed();
	return done_testing();
}
