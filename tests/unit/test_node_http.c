/*
 * tests/unit/test_node_http.c - the node's HTTP side through
 * dmp_node_http_dispatch(): registration.json (the exact bytes a client
 * signs, its signature and X25519 proof, accepted by the server holding
 * the vector's fixed X25519 key), 7.2's error statuses, the legacy record
 * API of 7.4 in open and legacy auth, /health and /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/node.h"
#include "tap.h"
#include "vec.h"

#define T2030 1893456000ULL

static uint64_t clock_ms = T2030 * 1000;

static uint64_t fake_now(void *ud)
{
	(void)ud;
	return clock_ms;
}

struct resp {
	int status;
	char *body;
	size_t len;
	const char *ctype;
	json_t *j;
};

static void resp_clear(struct resp *r)
{
	free(r->body);
	json_decref(r->j);
	memset(r, 0, sizeof(*r));
}

static int call(struct dmp_node_http *h, struct resp *r, const char *method,
		const char *path, const char *auth, const struct sockaddr *peer,
		const char *body)
{
	struct dmp_node_http_req rq = {
	    method, path, NULL, auth, peer, body, body ? strlen(body) : 0,
	    NULL};

	resp_clear(r);
	r->status =
	    dmp_node_http_dispatch(h, &rq, &r->body, &r->len, &r->ctype);
	r->j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	return r->status;
}

static struct dmp_node *mk_node(const char *zone, uint32_t max_values)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", zone);
	o.n_zones = 1;
	o.max_values_per_name = max_values;
	return dmp_node_new(&n, &o, clock_ms) == 0 ? n : NULL;
}

static char *confirm_body(const char *subject, const char *spk, const char *ch,
			  const char *sig, const char *xpub, const char *pop)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "subject", subject,
			      "ed25519_spk", spk, "challenge", ch, "signature",
			      sig, "x25519_pub", xpub, "x25519_pop", pop);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

struct key_seen {
	char name[300];
	char scopes[2048];
};

static void key_cb(const char *name, const char *alg, const char *scopes,
		   uint64_t created, void *ud)
{
	struct key_seen *k = ud;

	(void)alg;
	(void)created;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->scopes, sizeof(k->scopes), "%s", scopes);
}

static void test_registration(void)
{
	json_t *root = vec_load("registration.json");
	json_t *c = json_array_get(json_object_get(root, "cases"), 0);
	uint8_t xsk[32], xpk[32], spk[32], sk[64], ch[32], sig[64], ssk[32],
	    spk_v[32], shared[32], pop[32], spub[32], payload[256];
	const char *subject = vec_str(c, "subject"), *node = vec_str(c, "node");
	size_t plen = 0, want_len;
	uint8_t *want;
	struct dmp_node *n = mk_node(node, 64);
	struct dmp_node_http_opts o;
	struct dmp_node_http *h = NULL;
	struct resp r = {0};
	char *body;
	struct key_seen ks = {"", ""};
	struct sockaddr_in peer;
	char hex[129];

	if (!ok(root && c && n, "reg: vector and node")) {
		return;
	}
	vec_hex_fixed(c, "x25519_priv_hex", xsk, 32);
	vec_hex_fixed(c, "ed25519_spk_hex", spk_v, 32);
	vec_hex_fixed(c, "challenge_hex", ch, 32);
	vec_hex_fixed(c, "server_x25519_priv_hex", ssk, 32);
	vec_hex_fixed(c, "server_x25519_pub_hex", spub, 32);
	/* The client's side, byte for byte. */
	dmp_x25519_base(xpk, xsk);
	{
		uint8_t xv[32];

		vec_hex_fixed(c, "x25519_pub_hex", xv, 32);
		is_mem(xpk, 32, xv, 32, "reg: x25519 public key");
	}
	dmp_ed25519_from_x25519(spk, sk, xsk);
	is_mem(spk, 32, spk_v, 32, "reg: Ed25519 key from the X25519 seed");
	memcpy(payload, ch, 32);
	plen = 32;
	memcpy(payload + plen, subject, strlen(subject));
	plen += strlen(subject);
	memcpy(payload + plen, node, strlen(node));
	plen += strlen(node);
	payload[plen++] = 0x01;
	want = vec_hex(c, "signing_payload_hex", &want_len);
	is_mem(payload, plen, want, want_len,
	       "reg: signing payload = challenge||subject||node||01");
	free(want);
	dmp_sign(sig, payload, plen, sk);
	want = vec_hex(c, "signature_hex", &want_len);
	is_mem(sig, 64, want, want_len, "reg: signature");
	free(want);
	{
		uint8_t m[32 + 64 + 32];
		size_t ml = 0, sl = strlen(subject);

		ok(dmp_x25519(shared, xsk, spub) == 0, "reg: shared secret");
		memcpy(m, ch, 32);
		ml = 32;
		memcpy(m + ml, subject, sl);
		ml += sl;
		memcpy(m + ml, xpk, 32);
		ml += 32;
		dmp_hmac_sha256(pop, shared, 32, m, ml);
		want = vec_hex(c, "x25519_pop_hex", &want_len);
		is_mem(pop, 32, want, want_len, "reg: x25519_pop");
		free(want);
	}
	dmp_wipe(sk, sizeof(sk));

	/* The server's side, with the vector's fixed X25519 key. */
	dmp_node_http_opts_init(&o);
	o.registration_enabled = 1;
	o.have_x25519_sk = 1;
	memcpy(o.x25519_sk, ssk, 32);
	o.now_ms = fake_now;
	if (!ok(dmp_node_http_new(&h, n, &o) == 0, "reg: http handle")) {
		dmp_node_free(n);
		json_decref(root);
		return;
	}
	is_int(
	    call(h, &r, "GET", "/v1/registration/challenge", NULL, NULL, NULL),
	    200, "reg: challenge 200");
	dmp_hex_encode(hex, spub, 32);
	is_str(json_string_value(json_object_get(r.j, "server_x25519_pub")),
	       hex, "reg: server_x25519_pub from the injected key");
	is_str(json_string_value(json_object_get(r.j, "node")), node,
	       "reg: node is the zone");
	ok(json_string_length(json_object_get(r.j, "challenge")) == 64,
	   "reg: 64 hex challenge");
	is_int(json_integer_value(json_object_get(r.j, "expires_at")),
	       (long long)(T2030 + 60), "reg: challenge lives 60 s");
	is_int(json_integer_value(json_object_get(r.j, "version")), 1,
	       "reg: version 1");

	dmp_node_http_put_challenge(h, ch, clock_ms);
	body = confirm_body(
	    subject, vec_str(c, "ed25519_spk_hex"), vec_str(c, "challenge_hex"),
	    vec_str(c, "signature_hex"), vec_str(c, "x25519_pub_hex"),
	    vec_str(c, "x25519_pop_hex"));
	is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm", NULL, NULL,
		    body),
	       200, "reg: vector confirmed: 200");
	{
		char kn[300], hs[7];
		uint8_t hsub[32];
		json_t *suf = json_object_get(r.j, "allowed_suffixes");
		size_t sl = 0;

		dmp_sha256(hsub, subject, strlen(subject));
		dmp_hex_encode(hex, hsub, 32);
		memcpy(hs, hex, 6);
		hs[6] = '\0';
		snprintf(kn, sizeof(kn), "alice-a9249f01-%s.mesh.test.", hs);
		is_str(json_string_value(json_object_get(r.j, "tsig_key_name")),
		       kn, "reg: key name <local>-<spk8>-<h6>.<zone>.");
		is_int((long long)json_string_length(
			   json_object_get(r.j, "tsig_secret_hex")),
		       64, "reg: 32-byte secret");
		is_str(
		    json_string_value(json_object_get(r.j, "tsig_algorithm")),
		    "hmac-sha256", "reg: algorithm");
		is_int(json_integer_value(json_object_get(r.j, "expires_at")),
		       (long long)(T2030 + 90 * 86400), "reg: 90 days");
		sl = json_array_size(suf);
		is_int((long long)sl, 8, "reg: 8 suffixes (7.1 default)");
		ok(dmp_node_key_list(n, key_cb, &ks) == 0 &&
		       strncmp(ks.name, "alice-a9249f01-", 15) == 0,
		   "reg: key stored (%s)", ks.name);
		ok(strstr(ks.scopes, "slot-*.mb-*.mesh.test") &&
		       strstr(ks.scopes, "_dnsmesh-claim-a9249f01246ff9a1."
					 "mesh.test") &&
		       strstr(ks.scopes, "claim-*.mb-*.mesh.test") &&
		       strstr(ks.scopes, "chunk-*-*.mesh.test"),
		   "reg: scopes %s", ks.scopes);
		{
			/* id-<h16(alice)>, mb-<h12(H(x25519_pub))> */
			char h16[17], want_id[64], mb[13], want_mb[64];
			uint8_t rid[32];

			dmp_sha256_hex_prefix(h16, 16, "alice", 5);
			snprintf(want_id, sizeof(want_id), "id-%s.mesh.test",
				 h16);
			dmp_sha256(rid, xpk, 32);
			dmp_sha256_hex_prefix(mb, 12, rid, 32);
			snprintf(want_mb, sizeof(want_mb), "mb-%s.mesh.test",
				 mb);
			ok(strstr(ks.scopes, want_id) &&
			       strstr(ks.scopes, want_mb),
			   "reg: %s and %s granted", want_id, want_mb);
		}
	}
	is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm", NULL, NULL,
		    body),
	       401, "reg: challenge is single-use: 401");
	free(body);

	/* Same subject, another key: 409 (the signature check comes first,
	 * so this needs a real signature by the other key). */
	{
		uint8_t x2[32], p2[32], s2[64], sig2[64], xp2[32], sh2[32],
		    pop2[32], m[200];
		char spk_h[65], sig_h[129], xp_h[65], pop_h[65], ch_h[65];
		size_t ml, sl = strlen(subject);

		memset(x2, 7, 32);
		dmp_x25519_base(xp2, x2);
		dmp_ed25519_from_x25519(p2, s2, x2);
		ch[0] ^= 1;
		dmp_node_http_put_challenge(h, ch, clock_ms);
		memcpy(payload, ch, 32);
		dmp_sign(sig2, payload, plen, s2);
		ok(dmp_x25519(sh2, x2, spub) == 0, "reg: second shared");
		memcpy(m, ch, 32);
		memcpy(m + 32, subject, sl);
		memcpy(m + 32 + sl, xp2, 32);
		ml = 64 + sl;
		dmp_hmac_sha256(pop2, sh2, 32, m, ml);
		dmp_hex_encode(spk_h, p2, 32);
		dmp_hex_encode(sig_h, sig2, 64);
		dmp_hex_encode(xp_h, xp2, 32);
		dmp_hex_encode(pop_h, pop2, 32);
		dmp_hex_encode(ch_h, ch, 32);
		body = confirm_body("ALICE@mesh.test", spk_h, ch_h, sig_h, xp_h,
				    pop_h);
		is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm",
			    NULL, NULL, body),
		       409,
		       "reg: subject (case-folded) bound to another key: "
		       "409");
		free(body);
		/* Bad signature: 401. */
		ch[0] ^= 2;
		dmp_node_http_put_challenge(h, ch, clock_ms);
		dmp_hex_encode(ch_h, ch, 32);
		body = confirm_body("bob@mesh.test", spk_h, ch_h, sig_h, xp_h,
				    pop_h);
		is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm",
			    NULL, NULL, body),
		       401, "reg: bad signature: 401");
		free(body);
		/* Good signature, bad proof: 401. */
		{
			const char *bob = "bob@mesh.test";
			size_t bl = strlen(bob);

			ch[0] ^= 4;
			dmp_node_http_put_challenge(h, ch, clock_ms);
			dmp_hex_encode(ch_h, ch, 32);
			memcpy(payload, ch, 32);
			memcpy(payload + 32, bob, bl);
			memcpy(payload + 32 + bl, node, strlen(node));
			payload[32 + bl + strlen(node)] = 1;
			dmp_sign(sig2, payload, 32 + bl + strlen(node) + 1, s2);
			dmp_hex_encode(sig_h, sig2, 64);
			body =
			    confirm_body(bob, spk_h, ch_h, sig_h, xp_h, pop_h);
			is_int(call(h, &r, "POST",
				    "/v1/registration/tsig-confirm", NULL, NULL,
				    body),
			       401, "reg: proof over another subject: 401");
			free(body);
			/* Expired challenge: 401. */
			ch[0] ^= 8;
			dmp_node_http_put_challenge(h, ch, clock_ms - 61000);
			dmp_hex_encode(ch_h, ch, 32);
			body =
			    confirm_body(bob, spk_h, ch_h, sig_h, xp_h, pop_h);
			is_int(call(h, &r, "POST",
				    "/v1/registration/tsig-confirm", NULL, NULL,
				    body),
			       401, "reg: challenge older than 60 s: 401");
			free(body);
		}
		dmp_wipe(s2, sizeof(s2));
	}
	is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm", NULL, NULL,
		    "{\"subject\":\"a@b\"}"),
	       400, "reg: missing fields: 400");
	is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm", NULL, NULL,
		    "not json"),
	       400, "reg: not JSON: 400");
	is_int(
	    call(h, &r, "POST", "/v1/registration/challenge", NULL, NULL, NULL),
	    405, "reg: POST challenge: 405");
	/* 5 per hour per IP. */
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(0x7f000005);
	{
		int n200 = 0, n429 = 0;

		for (int i = 0; i < 7; i++) {
			int s = call(h, &r, "GET", "/v1/registration/challenge",
				     NULL, (struct sockaddr *)&peer, NULL);

			n200 += s == 200;
			n429 += s == 429;
		}
		is_int(n200, 5, "reg: 5 per hour per IP");
		is_int(n429, 2, "reg: then 429");
	}
	resp_clear(&r);
	dmp_node_http_free(h);

	/* Allowlist: 403. */
	o.n_reg_allow = 1;
	snprintf(o.reg_allow[0], sizeof(o.reg_allow[0]), "@other.test");
	body = confirm_body(
	    subject, vec_str(c, "ed25519_spk_hex"), vec_str(c, "challenge_hex"),
	    vec_str(c, "signature_hex"), vec_str(c, "x25519_pub_hex"),
	    vec_str(c, "x25519_pop_hex"));
	vec_hex_fixed(c, "challenge_hex", ch, 32);
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "reg: allowlist handle")) {
		dmp_node_http_put_challenge(h, ch, clock_ms);
		is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm",
			    NULL, NULL, body),
		       403, "reg: not on the allowlist: 403");
		dmp_node_http_free(h);
	}
	snprintf(o.reg_allow[0], sizeof(o.reg_allow[0]), "@mesh.test");
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "reg: allowlist 2")) {
		dmp_node_http_put_challenge(h, ch, clock_ms);
		is_int(call(h, &r, "POST", "/v1/registration/tsig-confirm",
			    NULL, NULL, body),
		       200, "reg: on the allowlist, same key again: 200");
		dmp_node_http_free(h);
	}
	o.n_reg_allow = 0;
	o.registration_enabled = 0;
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "reg: disabled handle")) {
		is_int(call(h, &r, "GET", "/v1/registration/challenge", NULL,
			    NULL, NULL),
		       404, "reg: disabled: 404");
		dmp_node_http_free(h);
	}
	free(body);
	resp_clear(&r);
	/* Expiry after 90 days drops the key. */
	{
		int before = 0, after = 0;

		ks.name[0] = '\0';
		(void)dmp_node_key_list(n, key_cb, &ks);
		before = ks.name[0] != '\0';
		ok(dmp_node_maintain(n, clock_ms + 90ULL * 86400 * 1000 +
					    1000) >= 0,
		   "reg: maintain after 90 days");
		ks.name[0] = '\0';
		(void)dmp_node_key_list(n, key_cb, &ks);
		after = ks.name[0] != '\0';
		ok(before && !after, "reg: registered key expired after 90 "
				     "days");
	}
	dmp_node_free(n);
	json_decref(root);
}

static void test_records(void)
{
	struct dmp_node *n = mk_node("mesh.test", 2);
	struct dmp_node_http_opts o;
	struct dmp_node_http *h = NULL;
	struct resp r = {0};
	struct sockaddr_in far;
	const char *nm = "/v1/records/slot-1.mb-aaaaaaaaaaaa.mesh.test";

	if (!ok(n != NULL, "rec: node")) {
		return;
	}
	memset(&far, 0, sizeof(far));
	far.sin_family = AF_INET;
	far.sin_addr.s_addr = htonl(0xC0000201);
	dmp_node_http_opts_init(&o);
	o.now_ms = fake_now;
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "rec: default handle")) {
		is_int(call(h, &r, "POST", nm, NULL, NULL,
			    "{\"value\":\"x\",\"ttl\":300}"),
		       404, "rec: the record API is off by default: POST 404");
		is_int(call(h, &r, "DELETE", nm, NULL, NULL, NULL), 404,
		       "rec: off by default: DELETE 404");
		dmp_node_http_free(h);
	}
	o.auth = DMP_NODE_HTTP_UNAUTH;
	if (!ok(dmp_node_http_new(&h, n, &o) == 0, "rec: unauth handle")) {
		dmp_node_free(n);
		return;
	}
	is_int(call(h, &r, "GET", nm, NULL, NULL, NULL), 404,
	       "rec: GET nothing: 404");
	is_int(call(h, &r, "POST", nm, NULL, (struct sockaddr *)&far,
		    "{\"value\":\"v=dmp1;t=test;one\",\"ttl\":300}"),
	       201, "rec: unauthenticated POST, whatever the peer: 201");
	{
		static const char *const res[] = {
		    "mesh.test",
		    "_dnsmesh-heartbeat.mesh.test",
		    "x._DNSMESH-SEEN.mesh.test",
		    "cluster.mesh.test",
		    "rotate._dmp.mesh.test",
		    "ns1.mesh.test"};

		for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
			char path[128];

			snprintf(path, sizeof(path), "/v1/records/%s", res[i]);
			is_int(call(h, &r, "POST", path, NULL, NULL,
				    "{\"value\":\"x\",\"ttl\":300}"),
			       403, "rec: reserved %s: POST 403", res[i]);
		}
		is_int(call(h, &r, "DELETE", "/v1/records/mesh.test", NULL,
			    NULL, NULL),
		       403, "rec: reserved apex: DELETE 403");
		is_int(call(h, &r, "POST",
			    "/v1/records/x-dnsmesh-heartbeat.mesh.test", NULL,
			    NULL, "{\"value\":\"x\",\"ttl\":300}"),
		       201, "rec: a name that only looks reserved: 201");
		is_int(call(h, &r, "DELETE",
			    "/v1/records/x-dnsmesh-heartbeat.mesh.test", NULL,
			    NULL, NULL),
		       204, "rec: and it goes: 204");
	}
	is_int(call(h, &r, "GET", nm, NULL, NULL, NULL), 200, "rec: GET 200");
	is_str(json_string_value(
		   json_array_get(json_object_get(r.j, "values"), 0)),
	       "v=dmp1;t=test;one", "rec: GET values");
	is_str(json_string_value(json_object_get(r.j, "name")),
	       "slot-1.mb-aaaaaaaaaaaa.mesh.test", "rec: GET name");
	is_int(call(h, &r, "POST", nm, NULL, NULL,
		    "{\"value\":\"a\\\"b\",\"ttl\":300}"),
	       400, "rec: quote in value: 400");
	is_int(call(h, &r, "POST", nm, NULL, NULL,
		    "{\"value\":\"a\\u0001b\",\"ttl\":300}"),
	       400, "rec: control character: 400");
	is_int(call(h, &r, "POST", nm, NULL, NULL,
		    "{\"value\":\"x\",\"ttl\":604801}"),
	       400, "rec: ttl over max_ttl: 400");
	is_int(call(h, &r, "POST", nm, NULL, NULL,
		    "{\"value\":\"x\",\"ttl\":\"300\"}"),
	       400, "rec: ttl not a number: 400");
	is_int(call(h, &r, "POST", "/v1/records/x.example.org", NULL, NULL,
		    "{\"value\":\"x\",\"ttl\":300}"),
	       400, "rec: name outside the zone: 400");
	is_int(call(h, &r, "POST", "/v1/records/a b.mesh.test", NULL, NULL,
		    "{\"value\":\"x\",\"ttl\":300}"),
	       400, "rec: bad name: 400");
	is_int(call(h, &r, "POST", nm, NULL, NULL, "{\"value\":"), 400,
	       "rec: bad JSON: 400");
	{
		char big[2100 + 32];

		memset(big, 'a', sizeof(big));
		memcpy(big, "{\"value\":\"", 10);
		memcpy(big + 10 + 2049, "\"}", 3);
		is_int(call(h, &r, "POST", nm, NULL, NULL, big), 400,
		       "rec: 2049-byte value: 400");
	}
	is_int(call(h, &r, "POST", nm, NULL, NULL,
		    "{\"value\":\"two\",\"ttl\":300}"),
	       201, "rec: second value: 201");
	is_int(call(h, &r, "POST", nm, NULL, NULL,
		    "{\"value\":\"three\",\"ttl\":300}"),
	       413, "rec: RRset full (cap 2): 413");
	is_int(call(h, &r, "DELETE", nm, NULL, NULL, "{\"value\":\"two\"}"),
	       204, "rec: DELETE one: 204");
	is_int(call(h, &r, "DELETE", nm, NULL, NULL, "{\"value\":\"two\"}"),
	       404, "rec: DELETE it again: 404");
	is_int(call(h, &r, "DELETE", nm, NULL, NULL, NULL), 204,
	       "rec: DELETE all: 204");
	is_int(call(h, &r, "GET", nm, NULL, NULL, NULL), 404, "rec: gone: 404");
	is_int(call(h, &r, "PUT", nm, NULL, NULL, NULL), 405, "rec: PUT: 405");
	dmp_node_http_free(h);

	o.auth = DMP_NODE_HTTP_LEGACY;
	ok(dmp_node_http_new(&h, n, &o) == DMP_EINVAL,
	   "rec: legacy without a token: EINVAL");
	snprintf(o.token, sizeof(o.token), "s3cret");
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "rec: legacy handle")) {
		const char *v = "{\"value\":\"legacy\",\"ttl\":60}";

		is_int(call(h, &r, "POST", nm, NULL, NULL, v), 401,
		       "rec: legacy, no token: 401");
		is_int(call(h, &r, "POST", nm, "Bearer s3cre", NULL, v), 401,
		       "rec: legacy, wrong token: 401");
		is_int(call(h, &r, "POST", nm, "Basic s3cret", NULL, v), 401,
		       "rec: legacy, not Bearer: 401");
		is_int(call(h, &r, "POST", nm, "Bearer s3cret",
			    (struct sockaddr *)&far, v),
		       201, "rec: legacy, right token from anywhere: 201");
		dmp_node_http_free(h);
	}
	o.auth = DMP_NODE_HTTP_MULTI;
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "rec: multi handle")) {
		const char *zsc[] = {"mesh.test"};
		char ztok[DMP_NODE_TOKEN_LEN + 1],
		    zauth[DMP_NODE_TOKEN_LEN + 8];

		ok(dmp_node_token_add(n, "zone", zsc, 1, ztok, 0) == 0,
		   "rec: multi: a token for the whole zone");
		snprintf(zauth, sizeof(zauth), "Bearer %s", ztok);
		is_int(call(h, &r, "POST",
			    "/v1/records/_dnsmesh-heartbeat.mesh.test", zauth,
			    NULL, "{\"value\":\"x\",\"ttl\":60}"),
		       403, "rec: multi: the heartbeat name even so: 403");
		is_int(call(h, &r, "DELETE", "/v1/records/mesh.test", zauth,
			    NULL, NULL),
		       403, "rec: multi: the apex even so: 403");
		dmp_node_http_free(h);
	}
	if (ok(dmp_node_http_new(&h, n, &o) == 0, "rec: multi handle")) {
		const char *sc[] = {"slot-*.mb-aaaaaaaaaaaa.mesh.test"};
		const char *sc2[] = {"mb-aaaaaaaaaaaa.mesh.test"};
		const char *other =
		    "/v1/records/slot-1.mb-bbbbbbbbbbbb.mesh.test";
		const char *v = "{\"value\":\"tenant\",\"ttl\":60}";
		char tok[DMP_NODE_TOKEN_LEN + 1], tok2[DMP_NODE_TOKEN_LEN + 1];
		char auth[DMP_NODE_TOKEN_LEN + 8],
		    auth2[DMP_NODE_TOKEN_LEN + 8];

		ok(dmp_node_token_add(n, "alice", sc, 1, tok, 0) == 0 &&
		       strlen(tok) == DMP_NODE_TOKEN_LEN &&
		       dmp_node_token_add(n, "bob", sc2, 1, tok2, 0) == 0 &&
		       strcmp(tok, tok2) != 0,
		   "rec: multi: two tokens minted");
		is_int(dmp_node_token_add(n, "carol", sc, 0, auth, 0),
		       DMP_EINVAL, "rec: multi: token without scopes: EINVAL");
		snprintf(auth, sizeof(auth), "Bearer %s", tok);
		snprintf(auth2, sizeof(auth2), "Bearer %s", tok2);
		is_int(call(h, &r, "POST", nm, NULL, NULL, v), 401,
		       "rec: multi, no token: 401");
		is_int(call(h, &r, "POST", nm, "Bearer s3cret", NULL, v), 401,
		       "rec: multi, the legacy token: 401");
		auth[20] ^= 1;
		is_int(call(h, &r, "POST", nm, auth, NULL, v), 401,
		       "rec: multi, altered token: 401");
		auth[20] ^= 1;
		is_int(
		    call(h, &r, "POST", nm, auth, (struct sockaddr *)&far, v),
		    201, "rec: multi, in scope from anywhere: 201");
		is_int(call(h, &r, "POST", other, auth, NULL, v), 403,
		       "rec: multi, outside the scope: 403");
		is_int(call(h, &r, "DELETE", nm, auth, NULL, NULL), 403,
		       "rec: multi, DELETE needs a scope without '*': 403");
		is_int(call(h, &r, "DELETE", nm, auth2, NULL, NULL), 204,
		       "rec: multi, DELETE by the suffix token: 204");
		is_int(dmp_node_token_revoke(n, "alice"), 0,
		       "rec: multi: token revoked");
		is_int(dmp_node_token_revoke(n, "alice"), DMP_ENOENT,
		       "rec: multi: revoked twice: ENOENT");
		is_int(call(h, &r, "POST", nm, auth, NULL, v), 401,
		       "rec: multi, revoked token: 401");
		dmp_node_http_free(h);
	}
	resp_clear(&r);
	dmp_node_free(n);
}

static void test_health_metrics(void)
{
	struct dmp_node *n = mk_node("mesh.test", 64);
	struct dmp_node_http_opts o;
	struct dmp_node_http *h = NULL;
	struct resp r = {0};
	uint8_t q[64], resp[512];
	size_t ql = 0;

	if (!ok(n != NULL, "met: node")) {
		return;
	}
	dmp_node_http_opts_init(&o);
	o.now_ms = fake_now;
	if (!ok(dmp_node_http_new(&h, n, &o) == 0, "met: handle")) {
		dmp_node_free(n);
		return;
	}
	ok(dmp_node_put(n, "a.mesh.test", "hello", 300, 0, clock_ms) == 0,
	   "met: a row");
	/* One query for the apex SOA, one for a missing name. */
	memcpy(q,
	       "\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	       "\x04mesh\x04test\x00\x00\x06\x00\x01",
	       12 + 11 + 4);
	ql = 27;
	ok(dmp_node_handle(n, q, ql, DMP_NODE_UDP, NULL, resp, sizeof(resp),
			   clock_ms) > 0,
	   "met: SOA query answered");
	memcpy(q + 12, "\x01x\x04mesh\x04test\x00\x00\x10\x00\x01", 17);
	ok(dmp_node_handle(n, q, 29, DMP_NODE_UDP, NULL, resp, sizeof(resp),
			   clock_ms) > 0,
	   "met: NXDOMAIN query answered");
	is_int(call(h, &r, "GET", "/health", NULL, NULL, NULL), 200,
	       "met: /health 200");
	ok(json_is_true(json_object_get(r.j, "ok")), "met: health ok");
	is_int(json_integer_value(json_object_get(r.j, "records")), 1,
	       "met: health records");
	is_int(json_integer_value(json_object_get(r.j, "serial")),
	       dmp_node_serial(n), "met: health serial");
	is_int(call(h, &r, "GET", "/metrics", NULL, NULL, NULL), 200,
	       "met: /metrics 200");
	ok(strncmp(r.ctype, "text/plain", 10) == 0, "met: text format");
	ok(r.body && strstr(r.body, "\ndmp_node_queries_total 2\n"),
	   "met: two queries");
	ok(r.body &&
	       strstr(r.body,
		      "dmp_node_answers_total{rcode=\"NOERROR\"} 1\n") &&
	       strstr(r.body, "dmp_node_answers_total{rcode=\"NXDOMAIN\"} 1\n"),
	   "met: answers by rcode");
	ok(r.body && strstr(r.body, "dmp_node_store_rows 1\n") &&
	       strstr(r.body, "dmp_node_request_seconds_count 2\n") &&
	       strstr(r.body, "dmp_node_request_seconds_bucket{le=\"+Inf\"} 2"),
	   "met: rows and latency histogram");
	ok(r.body &&
	       strstr(r.body, "dmp_node_rejections_total{reason=\"tsig\"} "
			      "0\n"),
	   "met: rejections by reason");
	is_int(call(h, &r, "GET", "/nope", NULL, NULL, NULL), 404,
	       "met: unknown path 404");
	resp_clear(&r);
	dmp_node_http_free(h);
	dmp_node_free(n);
}

static int call_fwd(struct dmp_node_http *h, struct resp *r,
		    const struct sockaddr *peer, const char *xff)
{
	struct dmp_node_http_req rq = {"GET", "/health", NULL, NULL,
				       peer,  NULL,	 0,    xff};

	resp_clear(r);
	r->status =
	    dmp_node_http_dispatch(h, &rq, &r->body, &r->len, &r->ctype);
	return r->status;
}

/* X-Forwarded-For counts only from a trusted proxy, and only its last
 * entry (the one the proxy appended); refusals show in /metrics. */
static void test_proxy(void)
{
	struct dmp_node *n = mk_node("mesh.test", 64);
	struct dmp_node_http_opts o;
	struct dmp_node_http *h = NULL;
	struct resp r = {0};
	struct sockaddr_in px, other;

	if (!ok(n != NULL, "px: node")) {
		return;
	}
	memset(&px, 0, sizeof(px));
	px.sin_family = AF_INET;
	px.sin_addr.s_addr = htonl(0x7f000001);
	other = px;
	other.sin_addr.s_addr = htonl(0x7f000009);
	dmp_node_http_opts_init(&o);
	o.now_ms = fake_now;
	o.rate = 1;
	o.burst = 1;
	snprintf(o.trusted_proxies[0], sizeof(o.trusted_proxies[0]),
		 "127.0.0.1");
	o.n_trusted_proxies = 1;
	o.auth = DMP_NODE_HTTP_UNAUTH;
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL,
	       "px: unauthenticated record API with a trusted proxy: EINVAL");
	o.auth = DMP_NODE_HTTP_OFF;
	snprintf(o.trusted_proxies[0], sizeof(o.trusted_proxies[0]), "nope");
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL,
	       "px: a proxy that is not an address: EINVAL");
	snprintf(o.trusted_proxies[0], sizeof(o.trusted_proxies[0]),
		 "127.0.0.1");
	o.max_conns = 0;
	is_int(dmp_node_http_new(&h, n, &o), DMP_EINVAL,
	       "px: max_conns 0: EINVAL");
	o.max_conns = DMP_NODE_HTTP_MAX_CONNS;
	if (!ok(dmp_node_http_new(&h, n, &o) == 0, "px: handle")) {
		dmp_node_free(n);
		return;
	}
	is_int(call_fwd(h, &r, (struct sockaddr *)&px, "192.0.2.1"), 200,
	       "px: client A through the proxy: 200");
	is_int(call_fwd(h, &r, (struct sockaddr *)&px, " 192.0.2.2 "), 200,
	       "px: client B through the proxy has its own bucket: 200");
	is_int(
	    call_fwd(h, &r, (struct sockaddr *)&px, "198.51.100.7, 192.0.2.1"),
	    429, "px: A again, whatever it put first: 429");
	is_int(call_fwd(h, &r, (struct sockaddr *)&px, "[2001:db8::1]:4711"),
	       200, "px: a bracketed IPv6 client with a port: 200");
	is_int(call_fwd(h, &r, (struct sockaddr *)&px, "2001:db8::ff"), 429,
	       "px: same /56: the same bucket: 429");
	is_int(call_fwd(h, &r, (struct sockaddr *)&other, "192.0.2.3"), 200,
	       "px: not a proxy: its own address counts: 200");
	is_int(call_fwd(h, &r, (struct sockaddr *)&other, "192.0.2.4"), 429,
	       "px: not a proxy: X-Forwarded-For ignored: 429");
	resp_clear(&r);
	is_int(call(h, &r, "GET", "/metrics", NULL, NULL, NULL), 200,
	       "px: /metrics");
	ok(r.body && strstr(r.body, "dmp_node_http_refusals_total{reason="
				    "\"rate_limit\"} 3\n"),
	   "px: three rate-limit refusals counted");
	ok(r.body &&
	       strstr(r.body, "dmp_node_http_refusals_total{reason="
			      "\"records_off\"} 0\n") &&
	       strstr(r.body, "\ndmp_node_http_connections 0\n"),
	   "px: every reason listed, and the connection gauge");
	is_int(call(h, &r, "GET", "/v1/records/a.mesh.test", NULL, NULL, NULL),
	       404, "px: record API off: 404");
	is_int(call(h, &r, "GET", "/metrics", NULL, NULL, NULL), 200,
	       "px: /metrics again");
	ok(r.body && strstr(r.body, "dmp_node_http_refusals_total{reason="
				    "\"records_off\"} 1\n"),
	   "px: the records_off refusal counted");
	resp_clear(&r);
	dmp_node_http_free(h);
	dmp_node_free(n);
}

/* A refusal by a storage budget (security.md 7.7) says which: a full node
 * is 507, not "RRset full". */
static void test_records_budget(void)
{
	struct dmp_node_opts no;
	struct dmp_node_http_opts o;
	struct dmp_node *n = NULL;
	struct dmp_node_http *h = NULL;
	struct resp r = {0};

	dmp_node_opts_init(&no);
	no.db_path = ":memory:";
	snprintf(no.zones[0].name, sizeof(no.zones[0].name), "mesh.test");
	no.n_zones = 1;
	no.store_values_max = 1;
	if (!ok(dmp_node_new(&n, &no, clock_ms) == 0, "budget: node")) {
		return;
	}
	dmp_node_http_opts_init(&o);
	o.auth = DMP_NODE_HTTP_UNAUTH;
	if (!ok(dmp_node_http_new(&h, n, &o) == 0, "budget: handle")) {
		dmp_node_free(n);
		return;
	}
	is_int(call(h, &r, "POST", "/v1/records/a.mesh.test", NULL, NULL,
		    "{\"value\":\"v=dmp1;t=test;one\",\"ttl\":300}"),
	       201, "budget: first value: 201");
	resp_clear(&r);
	is_int(call(h, &r, "POST", "/v1/records/b.mesh.test", NULL, NULL,
		    "{\"value\":\"v=dmp1;t=test;two\",\"ttl\":300}"),
	       507, "budget: store_values reached: 507");
	ok(r.body && strstr(r.body, "node storage full"),
	   "budget: the reply names the full store");
	resp_clear(&r);
	dmp_node_http_free(h);
	dmp_node_free(n);
}

int main(void)
{
	plan(138);
	test_registration();
	test_records();
	test_health_metrics();
	test_proxy();
	test_records_budget();
	return done_testing();
}
