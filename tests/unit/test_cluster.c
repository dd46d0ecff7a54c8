/* tests/unit/test_cluster.c - cluster manifest (PROTOCOL.md 2.6). */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/cluster.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"
#include "wire/cluster_i.h"

/*
 * The vectors' exp (2051222400) is 5 years + 1 day after 2030-01-01, so
 * a "now" inside the 5-year window is needed to accept them.
 */
#define NOW 1900000000ULL
#define PFX DMP_PREFIX_CLUSTER

static uint8_t op_pk[32], op_sk[64], other_pk[32], other_sk[64];

static void fill_from_inputs(struct dmp_cluster *c, const json_t *in)
{
	const json_t *nodes = json_object_get(in, "nodes");

	memset(c, 0, sizeof(*c));
	c->seq = (uint64_t)vec_int(in, "seq");
	c->exp = (uint64_t)vec_int(in, "exp");
	vec_hex_fixed(in, "operator_spk_hex", c->operator_spk, 32);
	strcpy(c->name, vec_str(in, "cluster_name"));
	c->node_count = json_array_size(nodes);
	for (size_t i = 0; i < c->node_count; i++) {
		const json_t *n = json_array_get(nodes, i);

		strcpy(c->nodes[i].node_id, vec_str(n, "node_id"));
		strcpy(c->nodes[i].http_endpoint, vec_str(n, "http_endpoint"));
		if (vec_has(n, "dns_endpoint")) {
			strcpy(c->nodes[i].dns_endpoint,
			       vec_str(n, "dns_endpoint"));
		}
	}
}

static void test_vectors(void)
{
	json_t *root = vec_load("cluster_manifest.json");
	char wire[DMP_RECORD_WIRE_MAX + 1];

	for (size_t i = 0; i < json_array_size(root); i++) {
		const json_t *c = json_array_get(root, i);
		const char *desc = vec_str(c, "description");
		char *want = vec_hex_str(c, "expected_wire_hex");
		uint8_t pk[32], sk[64], pinned[32];
		struct dmp_cluster in, got;
		uint64_t now = NOW;
		int rc;

		vec_key_from_seed_hex(pk, sk, vec_str(c, "operator_seed_hex"));
		memcpy(pinned, pk, 32);
		if (vec_has(c, "inputs")) {
			const json_t *inp = json_object_get(c, "inputs");

			fill_from_inputs(&in, inp);
			is_mem(pk, 32, in.operator_spk, 32,
			       "%s: seed derives operator_spk", desc);
			rc = dmp_cluster_sign(wire, sizeof(wire), &in, sk);
			is_int(rc, (long long)strlen(want), "%s: sign", desc);
			is_str(wire, want, "%s: wire byte for byte", desc);
		}
		if (vec_has(c, "expected_multi_string")) {
			ok(strlen(want) > 255, "%s: spans several TXT strings",
			   desc);
		}
		if (vec_has(c, "verify_with_operator_spk_hex")) {
			vec_hex_fixed(c, "verify_with_operator_spk_hex", pinned,
				      32);
		}
		if (vec_has(c, "verify_with_now")) {
			now = (uint64_t)vec_int(c, "verify_with_now");
		}
		if (vec_has(c, "expected_parse_result")) {
			const char *name =
			    vec_has(c, "inputs") ? in.name : "mesh.example.com";

			is_str(vec_str(c, "expected_parse_result"), "none",
			       "%s: a failure case", desc);
			rc = dmp_cluster_parse(&got, want, strlen(want), pinned,
					       name, strlen(name), now);
			ok(rc < 0, "%s: parse refuses (%s)", desc,
			   dmp_strerror(rc));
			ok(got.node_count == 0 && got.seq == 0,
			   "%s: output zeroed", desc);
			/* The same wire is fine with the right key and time. */
			rc = dmp_cluster_parse(
			    &got, want, strlen(want), pk, name, strlen(name),
			    vec_has(c, "verify_with_now") ? 90 : NOW);
			is_int(rc, 0, "%s: parses with the proper context",
			       desc);
		} else {
			const char *name =
			    vec_str(c, "expected_parse_cluster_name");

			rc = dmp_cluster_parse(&got, want, strlen(want), pinned,
					       name, strlen(name), now);
			is_int(rc, 0, "%s: parse", desc);
			is_str(got.name, name, "%s: cluster_name", desc);
			is_int((long long)got.seq,
			       vec_int(c, "expected_parse_seq"), "%s: seq",
			       desc);
			is_int((long long)got.exp, (long long)in.exp, "%s: exp",
			       desc);
			is_int((long long)got.node_count,
			       (long long)in.node_count, "%s: node_count",
			       desc);
			ok(memcmp(got.nodes, in.nodes,
				  in.node_count * sizeof(in.nodes[0])) == 0,
			   "%s: nodes", desc);
			is_mem(got.operator_spk, 32, pk, 32, "%s: operator_spk",
			       desc);
		}
		free(want);
	}
	json_decref(root);
}

static void base_manifest(struct dmp_cluster *c, size_t nodes)
{
	memset(c, 0, sizeof(*c));
	c->seq = 5;
	c->exp = NOW + 3600;
	memcpy(c->operator_spk, op_pk, 32);
	strcpy(c->name, "mesh.example.com");
	c->node_count = nodes;
	for (size_t i = 0; i < nodes; i++) {
		snprintf(c->nodes[i].node_id, sizeof(c->nodes[i].node_id),
			 "n%02u", (unsigned)(i % 100));
		snprintf(c->nodes[i].http_endpoint,
			 sizeof(c->nodes[i].http_endpoint),
			 "https://n%u.example.com", (unsigned)(i % 100));
	}
}

/* Sign an arbitrary body with the operator key and parse it back. */
static int parse_body(const uint8_t *body, size_t n, const uint8_t *sk,
		      struct dmp_cluster *got)
{
	char wire[4096];
	int rc =
	    dmp_record_sign_encode(wire, sizeof(wire), PFX, body, n, sk, 0);

	if (rc < 0) {
		return rc;
	}
	return dmp_cluster_parse(got, wire, (size_t)rc, op_pk,
				 "mesh.example.com", 16, NOW);
}

static void test_malformed(void)
{
	static const uint8_t low_order[32] = {1};
	struct dmp_cluster c, got;
	char wire[DMP_RECORD_WIRE_MAX + 1], big[1300];
	uint8_t body[DMP_CLUSTER_BODY_MAX], blob[1024];
	size_t blen;
	int n, rc;

	base_manifest(&c, 1);
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	ok(n > 0, "sign a base manifest");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "MESH.Example.COM.", 17, NOW),
	       0, "queried name compares case-insensitively, dot ignored");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com..", 18, NOW),
	       DMP_EBADNAME, "two trailing dots on the queried name");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "other.example.com", 17, NOW),
	       DMP_EBADNAME, "another cluster's name is refused");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n - 4, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBADSIG, "truncated by one base64 quantum");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n - 1, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBASE64, "truncated mid-quantum");
	is_int(dmp_cluster_parse(&got, wire, 21, op_pk, "mesh.example.com", 16,
				 NOW),
	       DMP_EMALFORMED, "truncated below the minimum blob");
	is_int(dmp_cluster_parse(&got, "v=dmp1;t=bootstrap;AAAA", 23, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EPREFIX, "wrong prefix");
	is_int(dmp_cluster_parse(&got, "v=dmp1;t=cluster", 16, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EPREFIX, "prefix cut short");
	memcpy(big, PFX, strlen(PFX));
	memset(big + strlen(PFX), 'A', sizeof(big) - strlen(PFX));
	is_int(dmp_cluster_parse(&got, big, 1201, op_pk, "mesh.example.com", 16,
				 NOW),
	       DMP_ETOOBIG, "over 1200 bytes");
	wire[30] = '!';
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBASE64, "non-alphabet byte");
	/* Non-canonical: 2 bytes -> "xxx=", last symbol's low bits set. */
	strcpy(big, PFX "AAB=");
	is_int(dmp_cluster_parse(&got, big, strlen(big), op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBASE64, "non-canonical base64");
	strcpy(big, PFX "AA==AA==");
	is_int(dmp_cluster_parse(&got, big, strlen(big), op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBASE64, "padding in the middle");

	/* Bad signature: one body bit flipped after signing. */
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	if (dmp_record_decode(blob, sizeof(blob), &blen, wire, (size_t)n, PFX,
			      0, 0) != 0) {
		abort();
	}
	blob[10] ^= 1;
	n = dmp_record_encode(wire, sizeof(wire), PFX, blob, blen, 0);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBADSIG, "tampered body fails the signature");
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, other_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EBADSIG, "wrong pinned key");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, low_order,
				 "mesh.example.com", 16, NOW),
	       DMP_EBADKEY, "low-order pinned key");
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, NULL,
				 "mesh.example.com", 16, NOW),
	       DMP_EINVAL, "no pinned key");

	/* Embedded key differs from the signer. */
	memcpy(c.operator_spk, other_pk, 32);
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	is_int(parse_body(body, (size_t)n, op_sk, &got), DMP_EBADKEY,
	       "embedded operator_spk must equal the pinned key");
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EBADKEY,
	       "sign refuses a key that is not operator_spk");
	memcpy(c.operator_spk, op_pk, 32);

	/* Time (6.2). */
	c.exp = NOW - 1;
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EEXPIRED, "exp < now");
	c.exp = NOW;
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       0, "exp == now is still valid");
	c.exp = NOW + DMP_5_YEARS;
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       0, "exp exactly 5 years ahead");
	c.exp = NOW + DMP_5_YEARS + 1;
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EFUTURE, "exp more than 5 years ahead");
	c.exp = UINT64_MAX;
	n = dmp_cluster_sign(wire, sizeof(wire), &c, op_sk);
	is_int(dmp_cluster_parse(&got, wire, (size_t)n, op_pk,
				 "mesh.example.com", 16, NOW),
	       DMP_EFUTURE, "exp 2^64-1");
	c.exp = NOW + 3600;

	/* Body structure. */
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	body[n] = 0;
	is_int(parse_body(body, (size_t)n + 1, op_sk, &got), DMP_EMALFORMED,
	       "trailing byte after the last node");
	is_int(parse_body(body, (size_t)n - 1, op_sk, &got), DMP_EMALFORMED,
	       "body cut inside the last node");
	body[56 + 16] = 0; /* node_count, after the 16-byte name */
	is_int(parse_body(body, 56 + 16 + 1, op_sk, &got), DMP_EMALFORMED,
	       "node_count 0 refused (10 item 13)");
	body[56 + 16] = 33;
	is_int(parse_body(body, (size_t)n, op_sk, &got), DMP_EMALFORMED,
	       "node_count 33 refused");
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	body[0] = 'X';
	is_int(parse_body(body, (size_t)n, op_sk, &got), DMP_EMALFORMED,
	       "bad magic");
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	body[56] = '_';
	is_int(parse_body(body, (size_t)n, op_sk, &got), DMP_EBADNAME,
	       "underscore in cluster_name");
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	body[55] = 0;
	is_int(dmp_cluster_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "name_len 0");
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	body[56 + 16 + 1] = 0;
	is_int(dmp_cluster_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "node_id length 0");
	body[56 + 16 + 1] = 17;
	is_int(dmp_cluster_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "node_id length 17");
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	body[56 + 16 + 2] = 0x80;
	is_int(dmp_cluster_body_parse(&got, body, (size_t)n), DMP_EMALFORMED,
	       "non-ASCII node_id");

	/* Duplicate node ids, built by hand since sign refuses them. */
	base_manifest(&c, 2);
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	{
		uint8_t *second = memmem(body, (size_t)n, "n01", 3);

		ok(second != NULL, "found the second node id");
		second[2] = '0';
	}
	is_int(parse_body(body, (size_t)n, op_sk, &got), DMP_EMALFORMED,
	       "duplicate node ids refused on parse");
	strcpy(c.nodes[1].node_id, "n00");
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EINVAL,
	       "duplicate node ids refused on sign");

	/* Trailing-dot name of 64 + 1 bytes on the wire is accepted. */
	base_manifest(&c, 1);
	memset(c.name, 'a', 64);
	c.name[20] = c.name[41] = '.';
	c.name[64] = '.';
	c.name[65] = '\0';
	n = dmp_cluster_body_encode(body, sizeof(body), &c);
	ok(n > 0 && body[55] == 64, "sign drops the trailing dot");
	memmove(body + 56 + 65, body + 56 + 64, (size_t)n - 56 - 64);
	body[55] = 65;
	body[56 + 64] = '.';
	is_int(dmp_cluster_body_parse(&got, body, (size_t)n + 1), 0,
	       "name_len 65 ending in a dot parses");
	is_int((long long)strlen(got.name), 64, "and is stored without it");
	body[56 + 64] = 'a';
	is_int(dmp_cluster_body_parse(&got, body, (size_t)n + 1), DMP_EBADNAME,
	       "name_len 65 without the dot is refused");

	/* Sign-side checks. */
	base_manifest(&c, 1);
	strcpy(c.name, "-mesh.example.com");
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EBADNAME,
	       "sign: label starting with '-'");
	strcpy(c.name, "mesh..example.com");
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EBADNAME,
	       "sign: empty label");
	base_manifest(&c, 0);
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EINVAL,
	       "sign: node_count 0");
	base_manifest(&c, 1);
	c.node_count = 33;
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EINVAL,
	       "sign: node_count 33");
	base_manifest(&c, 1);
	c.nodes[0].http_endpoint[0] = '\0';
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EINVAL,
	       "sign: empty http endpoint");
	base_manifest(&c, 1);
	strcpy(c.nodes[0].dns_endpoint, "\xff");
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_EINVAL,
	       "sign: dns endpoint not UTF-8");
	base_manifest(&c, 6);
	for (size_t i = 0; i < 6; i++) {
		memset(c.nodes[i].http_endpoint, 'h', 128);
		memset(c.nodes[i].dns_endpoint, 'd', 64);
	}
	is_int(dmp_cluster_sign(wire, sizeof(wire), &c, op_sk), DMP_ETOOBIG,
	       "sign: over the 1200-byte cap");
	base_manifest(&c, 1);
	rc = dmp_cluster_sign(wire, 20, &c, op_sk);
	is_int(rc, DMP_ENOBUFS, "sign: short output buffer");
}

int main(void)
{
	if (dmp_init() != 0) {
		return 1;
	}
	plan(81);
	vec_key_from_seed_hex(
	    op_pk, op_sk,
	    "d373740143cc05dbf6a52d29cd418d44a21b5cada8db6a1eba2cdcaa2d10a9ac");
	dmp_ed25519_from_seed(
	    other_pk, other_sk,
	    (const uint8_t *)"0123456789abcdef0123456789abcdef");
	test_vectors();
	test_malformed();
	return done_testing();
}
