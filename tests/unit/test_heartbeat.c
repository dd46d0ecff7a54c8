/* tests/unit/test_heartbeat.c - node heartbeat (PROTOCOL.md 2.8). */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/record.h"
#include "tap.h"
#include "vec.h"
#include "wire/heartbeat_i.h"

#define NOW 1893456000ULL
#define PFX DMP_PREFIX_HEARTBEAT

static uint8_t op_pk[32], op_sk[64];

static void test_vectors(void)
{
	json_t *root = vec_load("heartbeat_record.json");
	const json_t *cases = json_object_get(root, "cases");
	char wire[DMP_RECORD_WIRE_MAX + 1];

	ok(json_array_size(cases) == 2, "two heartbeat cases");
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const json_t *in = json_object_get(c, "inputs");
		const char *desc = vec_str(c, "description");
		const char *want = vec_str(c, "expected_wire");
		uint8_t pk[32], sk[64], body[DMP_HEARTBEAT_BODY_MAX],
		    *want_body;
		struct dmp_heartbeat hb, got;
		size_t want_len;
		int n;

		vec_key_from_seed_hex(pk, sk, vec_str(c, "operator_seed_hex"));
		memset(&hb, 0, sizeof(hb));
		strcpy(hb.endpoint, vec_str(in, "endpoint"));
		vec_hex_fixed(in, "operator_spk_hex", hb.operator_spk, 32);
		strcpy(hb.version, vec_str(in, "version"));
		hb.capabilities = (uint16_t)vec_int(in, "capabilities");
		strcpy(hb.zone, vec_str(in, "claim_provider_zone"));
		hb.ts = (uint64_t)vec_int(in, "ts");
		hb.exp = (uint64_t)vec_int(in, "exp");
		is_mem(pk, 32, hb.operator_spk, 32,
		       "%s: seed derives operator_spk", desc);

		want_body = vec_hex(c, "body_hex", &want_len);
		n = dmp_heartbeat_body_encode(body, sizeof(body), &hb,
					      DMP_HEARTBEAT_STRICT);
		is_mem(body, n > 0 ? (size_t)n : 0, want_body, want_len,
		       "%s: body_hex", desc);
		free(want_body);
		n = dmp_heartbeat_sign(wire, sizeof(wire), &hb, sk,
				       DMP_HEARTBEAT_STRICT);
		is_int(n, (long long)strlen(want), "%s: sign", desc);
		is_str(wire, want, "%s: wire byte for byte", desc);

		n = dmp_heartbeat_parse(&got, want, strlen(want),
					(uint64_t)vec_int(c, "verify_now"),
					DMP_HEARTBEAT_STRICT);
		is_int(n, 0, "%s: parse at verify_now", desc);
		is_str(got.endpoint, hb.endpoint, "%s: endpoint", desc);
		is_mem(got.operator_spk, 32, pk, 32, "%s: operator_spk", desc);
		is_str(got.version, hb.version, "%s: version", desc);
		is_int(got.capabilities, hb.capabilities, "%s: capabilities",
		       desc);
		is_str(got.zone, hb.zone, "%s: claim_provider_zone", desc);
		is_int((long long)got.ts, (long long)hb.ts, "%s: ts", desc);
		is_int((long long)got.exp, (long long)hb.exp, "%s: exp", desc);
		is_int(got.legacy, 0, "%s: not legacy", desc);
		is_int((long long)(hb.exp - hb.ts), DMP_HEARTBEAT_LIFETIME,
		       "%s: exp = ts + 86400", desc);
	}
	json_decref(root);
}

static const struct {
	const char *ep;
	int strict; /* 1 accepted by default */
	int lo;	    /* 1 accepted with DMP_HEARTBEAT_ALLOW_LOOPBACK */
} endpoints[] = {
    {"https://node1.mesh.test", 1, 1},
    {"https://dmp.example.org:8443", 1, 1},
    {"http://dmp.example.org", 1, 1},
    {"HTTPS://Dmp.Example.ORG:443", 1, 1},
    {"https://dmp.example.org.", 1, 1},
    {"https://8.8.8.8", 1, 1},
    {"https://1.1.1.1:853", 1, 1},
    {"https://[2606:4700:4700::1111]", 1, 1},
    {"https://[2606:4700:4700::1111]:8443", 1, 1},
    {"https://[2a00:1450::a.b.c.d]", 0, 0},
    {"https://[2a00:1450::8.8.8.8]", 1, 1},
    {"https://node_1.example.org", 1, 1},
    /* shape */
    {"", 0, 0},
    {"ftp://dmp.example.org", 0, 0},
    {"https:/dmp.example.org", 0, 0},
    {"https:dmp.example.org", 0, 0},
    {"https://", 0, 0},
    {"https://:8443", 0, 0},
    {"https://dmp.example.org/", 0, 0},
    {"https://dmp.example.org/v1", 0, 0},
    {"https://dmp.example.org?", 0, 0},
    {"https://dmp.example.org?a=b", 0, 0},
    {"https://dmp.example.org#x", 0, 0},
    {"https://user@dmp.example.org", 0, 0},
    {"https://user:pw@dmp.example.org", 0, 0},
    {"https://public@127.0.0.1", 0, 0},
    {"https://dmp.example.org:", 0, 0},
    {"https://dmp.example.org:0", 0, 0},
    {"https://dmp.example.org:65535", 1, 1},
    {"https://dmp.example.org:65536", 0, 0},
    {"https://dmp.example.org:123456", 0, 0},
    {"https://dmp.example.org:80a", 0, 0},
    {"https://dmp.example.org:1:2", 0, 0},
    {"https://dmp example.org", 0, 0},
    {"https://dmp.example.org\t", 0, 0},
    {"https://d\xc3\xa9mo.example.org", 0, 0},
    {"https://dmp..example.org", 0, 0},
    {"https://.example.org", 0, 0},
    {"https://dmp.example.org\\@evil", 0, 0},
    {"https://[::1", 0, 0},
    {"https://[fe80::1%25eth0]", 0, 0},
    {"https://[2606:4700::1111]x", 0, 0},
    {"https://[1:2:3:4:5:6:7:8:9]", 0, 0},
    {"https://[1::2::3]", 0, 0},
    {"https://[12345::1]", 0, 0},
    {"https://::1", 0, 0},
    /* localhost aliases */
    {"https://localhost", 0, 1},
    {"http://LOCALHOST:8053", 0, 1},
    {"https://localhost.localdomain", 0, 1},
    {"https://ip6-localhost", 0, 1},
    {"https://localhost.", 0, 1},
    {"https://node.localhost", 0, 1},
    {"https://notlocalhost", 1, 1},
    /* loopback */
    {"http://127.0.0.1:8053", 0, 1},
    {"http://127.255.255.254", 0, 1},
    {"http://[::1]:8053", 0, 1},
    {"http://[0:0:0:0:0:0:0:1]", 0, 1},
    {"http://[::ffff:127.0.0.1]", 0, 0},
    /* numeric forms resolvers may read as addresses */
    {"http://127.1", 0, 0},
    {"http://2130706433", 0, 0},
    {"http://0x7f.0.0.1", 0, 0},
    {"http://0177.0.0.1", 0, 0},
    {"http://08.8.8.8", 0, 0},
    {"http://8.8.8.8.", 0, 0},
    {"http://256.1.1.1", 0, 0},
    {"http://1.2.3.4.5", 0, 0},
    {"http://123.example.org", 1, 1},
    /* IPv4 classes */
    {"http://0.0.0.0", 0, 0},	 /* unspecified */
    {"http://0.1.2.3", 0, 0},	 /* this network */
    {"http://10.0.0.1", 0, 0},	 /* private */
    {"http://100.64.0.1", 0, 0}, /* shared (RFC 6598) */
    {"http://100.128.0.1", 1, 1},
    {"http://169.254.1.1", 0, 0}, /* link-local */
    {"http://172.16.0.1", 0, 0},  /* private */
    {"http://172.31.255.255", 0, 0},
    {"http://172.32.0.1", 1, 1},
    {"http://192.0.0.8", 0, 0}, /* IETF assignments */
    {"http://192.0.0.171", 0, 0},
    {"http://192.0.2.1", 0, 0},	  /* TEST-NET-1 */
    {"http://192.168.1.1", 0, 0}, /* private */
    {"http://198.18.0.1", 0, 0},  /* benchmarking */
    {"http://198.19.255.255", 0, 0},
    {"http://198.20.0.1", 1, 1},
    {"http://198.51.100.7", 0, 0}, /* TEST-NET-2 */
    {"http://203.0.113.1", 0, 0},  /* TEST-NET-3 */
    {"http://224.0.0.1", 0, 0},	   /* multicast */
    {"http://239.255.255.250", 0, 0},
    {"http://240.0.0.1", 0, 0},	      /* reserved */
    {"http://255.255.255.255", 0, 0}, /* broadcast */
    {"http://223.255.255.255", 1, 1},
    /* IPv6 classes */
    {"http://[::]", 0, 0},		 /* unspecified */
    {"http://[::ffff:8.8.8.8]", 0, 0},	 /* mapped */
    {"http://[64:ff9b::808:808]", 0, 0}, /* ::/8 reserved */
    {"http://[100::1]", 0, 0},		 /* discard */
    {"http://[2001::1]", 0, 0},		 /* 2001::/23 */
    {"http://[2001:1ff::1]", 0, 0},
    {"http://[2001:200::1]", 1, 1},
    {"http://[2001:db8::1]", 0, 0},	 /* documentation */
    {"http://[2002:c0a8:101::1]", 0, 0}, /* 6to4 */
    {"http://[3fff::1]", 0, 0},		 /* documentation */
    {"http://[3fff:1000::1]", 1, 1},
    {"http://[4000::1]", 0, 0}, /* reserved */
    {"http://[fc00::1]", 0, 0}, /* unique local */
    {"http://[fd12:3456::1]", 0, 0},
    {"http://[fe80::1]", 0, 0}, /* link-local */
    {"http://[fec0::1]", 0, 0}, /* site-local */
    {"http://[ff02::1]", 0, 0}, /* multicast */
    {"http://[FF02::1]", 0, 0},
};

static void test_endpoints(void)
{
	char long_ep[300];

	for (size_t i = 0; i < DMP_ARRAY_LEN(endpoints); i++) {
		const char *ep = endpoints[i].ep;

		is_int(dmp_heartbeat_endpoint_check(ep, strlen(ep),
						    DMP_HEARTBEAT_STRICT),
		       endpoints[i].strict ? 0 : DMP_EMALFORMED, "strict: '%s'",
		       ep);
		is_int(dmp_heartbeat_endpoint_check(
			   ep, strlen(ep), DMP_HEARTBEAT_ALLOW_LOOPBACK),
		       endpoints[i].lo ? 0 : DMP_EMALFORMED,
		       "allow-loopback: '%s'", ep);
	}
	strcpy(long_ep, "https://");
	memset(long_ep + 8, 'a', 247);
	long_ep[255] = '\0';
	for (size_t i = 70; i < 255; i += 60) {
		long_ep[i] = '.';
	}
	is_int(dmp_heartbeat_endpoint_check(long_ep, 255, 0), 0,
	       "255-byte endpoint");
	long_ep[255] = 'a';
	is_int(dmp_heartbeat_endpoint_check(long_ep, 256, 0), DMP_EMALFORMED,
	       "256-byte endpoint");
	is_int(dmp_heartbeat_endpoint_check("https://a.example\0x", 19, 0),
	       DMP_EMALFORMED, "NUL inside the endpoint");
}

static void base_hb(struct dmp_heartbeat *hb)
{
	memset(hb, 0, sizeof(*hb));
	strcpy(hb->endpoint, "https://node1.mesh.test");
	memcpy(hb->operator_spk, op_pk, 32);
	strcpy(hb->version, "0.7.5");
	hb->capabilities = DMP_HEARTBEAT_CAP_CLAIM_PROVIDER;
	strcpy(hb->zone, "mesh.test");
	hb->ts = NOW;
	hb->exp = NOW + DMP_HEARTBEAT_LIFETIME;
}

/* Sign any body with the operator key and parse it. */
static int parse_body(const uint8_t *body, size_t n, uint64_t now,
		      unsigned flags, struct dmp_heartbeat *got)
{
	char wire[4096];
	int rc =
	    dmp_record_sign_encode(wire, sizeof(wire), PFX, body, n, op_sk, 0);

	if (rc < 0) {
		return rc;
	}
	return dmp_heartbeat_parse(got, wire, (size_t)rc, now, flags);
}

static int sign_parse(const struct dmp_heartbeat *hb, uint64_t now,
		      struct dmp_heartbeat *got)
{
	uint8_t body[DMP_HEARTBEAT_BODY_MAX];
	int n = dmp_heartbeat_body_encode(body, sizeof(body), hb,
					  DMP_HEARTBEAT_ALLOW_LOOPBACK);

	if (n < 0) {
		return n;
	}
	return parse_body(body, (size_t)n, now, DMP_HEARTBEAT_STRICT, got);
}

static void test_legacy(void)
{
	struct dmp_heartbeat hb, got;
	uint8_t body[DMP_HEARTBEAT_BODY_MAX], v2[DMP_HEARTBEAT_BODY_MAX];
	int n;

	base_hb(&hb);
	hb.capabilities = 0x8001; /* an unknown bit is kept */
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	/* DMPHB02: the same without zone_len + zone (9 + 1 bytes). */
	memcpy(v2, body, (size_t)n);
	memcpy(v2, DMP_HEARTBEAT_MAGIC_V2, 7);
	{
		size_t zoff = (size_t)n - 16 - 1 - strlen(hb.zone);

		memmove(v2 + zoff, v2 + zoff + 1 + strlen(hb.zone), 16);
		n -= 1 + (int)strlen(hb.zone);
	}
	is_int(parse_body(v2, (size_t)n, NOW, 0, &got), 0,
	       "DMPHB02 still parses");
	is_int(got.legacy, 1, "and is marked legacy");
	is_str(got.zone, "", "with an empty zone");
	is_int(got.capabilities, 0x8001, "unknown capability bits kept");
	is_str(got.endpoint, hb.endpoint, "legacy endpoint");
	is_int((long long)got.exp, (long long)hb.exp, "legacy exp");
	memcpy(v2, "DMPHB01", 7);
	is_int(parse_body(v2, (size_t)n, NOW, 0, &got), DMP_EMALFORMED,
	       "DMPHB01 refused");
	hb.legacy = 1;
	{
		char wire[DMP_RECORD_WIRE_MAX + 1],
		    want[DMP_RECORD_WIRE_MAX + 1];

		ok(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0) > 0,
		   "sign with legacy set");
		hb.legacy = 0;
		ok(dmp_heartbeat_sign(want, sizeof(want), &hb, op_sk, 0) > 0 &&
		       strcmp(wire, want) == 0,
		   "still emits DMPHB03");
	}
}

static void test_malformed(void)
{
	static const uint8_t low_order[32] = {
	    0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	struct dmp_heartbeat hb, got;
	char wire[DMP_RECORD_WIRE_MAX + 1], big[1300];
	uint8_t body[DMP_HEARTBEAT_BODY_MAX], blob[1024];
	size_t blen;
	int n;

	base_hb(&hb);
	n = dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0);
	ok(n > 0, "sign a base heartbeat");
	is_int(dmp_heartbeat_parse(&got, wire, (size_t)n, NOW, 0), 0,
	       "and parse it");
	is_int(dmp_heartbeat_parse(&got, wire, (size_t)n - 4, NOW, 0),
	       DMP_EMALFORMED, "truncated");
	is_int(dmp_heartbeat_parse(&got, wire, 39, NOW, 0), DMP_EMALFORMED,
	       "below the minimum blob");
	is_int(dmp_heartbeat_parse(&got, "v=dmp1;t=heartbeat", 18, NOW, 0),
	       DMP_EPREFIX, "prefix cut short");
	is_int(dmp_heartbeat_parse(&got, "v=dmp1;t=claim;AAAA", 19, NOW, 0),
	       DMP_EPREFIX, "wrong prefix");
	memcpy(big, PFX, strlen(PFX));
	memset(big + strlen(PFX), 'A', sizeof(big) - strlen(PFX));
	is_int(dmp_heartbeat_parse(&got, big, 1201, NOW, 0), DMP_ETOOBIG,
	       "over 1200 bytes");
	strcpy(big, PFX "AAB=");
	is_int(dmp_heartbeat_parse(&got, big, strlen(big), NOW, 0), DMP_EBASE64,
	       "non-canonical base64");
	wire[40] = '-';
	is_int(dmp_heartbeat_parse(&got, wire, (size_t)n, NOW, 0), DMP_EBASE64,
	       "URL-safe alphabet refused");

	n = dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0);
	if (dmp_record_decode(blob, sizeof(blob), &blen, wire, (size_t)n, PFX,
			      0, 0) != 0) {
		abort();
	}
	blob[blen - 70] ^= 1; /* inside exp */
	n = dmp_record_encode(wire, sizeof(wire), PFX, blob, blen, 0);
	is_int(dmp_heartbeat_parse(&got, wire, (size_t)n, NOW, 0), DMP_EBADSIG,
	       "tampered body fails the signature");

	memcpy(hb.operator_spk, low_order, 32);
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	is_int(parse_body(body, (size_t)n, NOW, 0, &got), DMP_EBADKEY,
	       "low-order operator key");
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EBADKEY, "sign refuses a key that is not operator_spk");
	base_hb(&hb);

	/* Time (6.2). */
	hb.ts = NOW + 300;
	hb.exp = hb.ts + 10;
	is_int(sign_parse(&hb, NOW, &got), 0, "ts = now + 300");
	hb.ts = NOW + 301;
	hb.exp = hb.ts + 10;
	is_int(sign_parse(&hb, NOW, &got), DMP_EFUTURE, "ts = now + 301");
	hb.ts = NOW - 300;
	hb.exp = NOW + 1;
	is_int(sign_parse(&hb, NOW, &got), 0, "ts = now - 300");
	hb.ts = NOW - 301;
	is_int(sign_parse(&hb, NOW, &got), DMP_EEXPIRED, "ts = now - 301");
	hb.ts = NOW - 100;
	hb.exp = NOW;
	is_int(sign_parse(&hb, NOW, &got), DMP_EEXPIRED, "exp == now");
	hb.exp = NOW + DMP_30_DAYS;
	is_int(sign_parse(&hb, NOW, &got), 0, "exp = now + 30 days");
	hb.exp = NOW + DMP_30_DAYS + 1;
	is_int(sign_parse(&hb, NOW, &got), DMP_EFUTURE, "exp beyond 30 days");
	hb.ts = NOW;
	hb.exp = NOW;
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EINVAL, "sign: exp == ts");
	hb.exp = NOW + 10;
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	memcpy(body + n - 8, body + n - 16, 8); /* exp := ts */
	is_int(parse_body(body, (size_t)n, NOW, 0, &got), DMP_EMALFORMED,
	       "parse: exp == ts");
	hb.ts = UINT64_C(1) << 63;
	hb.exp = hb.ts + 1;
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EINVAL, "sign: ts >= 2^63");
	base_hb(&hb);

	/* Body structure. */
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	body[n] = 0;
	is_int(parse_body(body, (size_t)n + 1, NOW, 0, &got), DMP_EMALFORMED,
	       "trailing byte");
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n - 1, 0),
	       DMP_EMALFORMED, "cut inside exp");
	body[7] = 0;
	body[8] = 0;
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n, 0),
	       DMP_EMALFORMED, "ep_len 0");
	body[7] = 1;
	body[8] = 0;
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n, 0),
	       DMP_EMALFORMED, "ep_len 256");
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	body[9 + 23 + 32] = 33;
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n, 0),
	       DMP_EMALFORMED, "ver_len 33");
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	body[9 + 23 + 32 + 1] = 0x01;
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n, 0),
	       DMP_EMALFORMED, "control byte in version");
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	body[9 + 23 + 32 + 1 + 5 + 2] = 65;
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n, 0),
	       DMP_EMALFORMED, "zone_len 65");
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb, 0);
	body[9 + 23 + 32 + 1 + 5 + 3] = ' ';
	is_int(dmp_heartbeat_body_parse(&got, body, (size_t)n, 0),
	       DMP_EMALFORMED, "space in zone");

	/* Endpoint policy on the wire. */
	strcpy(hb.endpoint, "http://127.0.0.1:8053");
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EMALFORMED, "sign refuses a loopback endpoint by default");
	n = dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk,
			       DMP_HEARTBEAT_ALLOW_LOOPBACK);
	ok(n > 0, "sign accepts it when the caller opts in");
	is_int(dmp_heartbeat_parse(&got, wire, (size_t)n, NOW, 0),
	       DMP_EMALFORMED, "strict parse refuses it");
	is_int(dmp_heartbeat_parse(&got, wire, (size_t)n, NOW,
				   DMP_HEARTBEAT_ALLOW_LOOPBACK),
	       0, "opt-in parse accepts it");
	strcpy(hb.endpoint, "http://10.1.2.3");
	n = dmp_heartbeat_body_encode(body, sizeof(body), &hb,
				      DMP_HEARTBEAT_ALLOW_LOOPBACK);
	is_int(n, DMP_EMALFORMED, "opt-in still refuses private addresses");
	base_hb(&hb);
	strcpy(hb.endpoint, "https://node1.mesh.test/x");
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EMALFORMED, "sign refuses a path");
	base_hb(&hb);
	strcpy(hb.version, "1\n");
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EINVAL, "sign refuses a control byte in version");
	base_hb(&hb);
	strcpy(hb.zone, "mesh test");
	is_int(dmp_heartbeat_sign(wire, sizeof(wire), &hb, op_sk, 0),
	       DMP_EINVAL, "sign refuses a space in the zone");
	base_hb(&hb);
	is_int(dmp_heartbeat_sign(wire, 30, &hb, op_sk, 0), DMP_ENOBUFS,
	       "sign: short output buffer");
}

int main(void)
{
	plan(296); /* with the vectors' cases */
	if (dmp_init() != 0) {
		return 1;
	}
	plan(296);
	vec_key_from_seed_hex(
	    op_pk, op_sk,
	    "5c9a2825cf12d4e42699637cf3a12b63be4e1b7a17f9e67ebb93bbc6261c3032");
	test_vectors();
	test_endpoints();
	test_legacy();
	test_malformed();
	return done_testing();
}
