/*
 * tests/unit/test_node_hb.c - what dmp-node used to do itself and the node
 * library now does: the operator key file, the heartbeat it signs and
 * publishes (PROTOCOL.md 8), and minting TSIG keys for `key add`.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/node.h"
#include "dmp/txt.h"
#include "tap.h"

#define ZONE "mesh.test"
#define NOW_MS 1893456000000ULL /* 2030-01-01 */

static struct dmp_node *open_node(void)
{
	struct dmp_node_opts o;
	struct dmp_node *n = NULL;

	dmp_node_opts_init(&o);
	o.db_path = ":memory:";
	snprintf(o.zones[0].name, sizeof(o.zones[0].name), "%s", ZONE);
	o.n_zones = 1;
	o.rate_limit = 0;
	return dmp_node_new(&n, &o, NOW_MS) == 0 ? n : NULL;
}

static void test_opkey(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t pk2[32], sk2[64];
	struct stat sb;
	FILE *f;

	unlink(path);
	is_int(dmp_node_opkey_load(path, pk, sk), 0, "opkey: created");
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	       sb.st_size == 65,
	   "opkey: 0600, 64 hex digits and a newline");
	is_int(dmp_node_opkey_load(path, pk2, sk2), 0, "opkey: read back");
	ok(memcmp(pk, pk2, 32) == 0 && memcmp(sk, sk2, 64) == 0,
	   "opkey: same key the second time");
	f = fopen(path, "w");
	if (f) {
		fputs("not hex\n", f);
		fclose(f);
	}
	is_int(dmp_node_opkey_load(path, pk2, sk2), DMP_EMALFORMED,
	       "opkey: garbage refused");
	unlink(path);
}

/* The one TXT value at @p name, joined, or -1. */
static int txt_value(struct dmp_node *n, const char *name, char *out,
		     size_t cap)
{
	uint8_t q[300], r[4096];
	size_t off = 12, vlen;
	int len;

	memset(q, 0, 12);
	q[0] = 0x12;
	q[5] = 1; /* QDCOUNT */
	for (const char *p = name; *p;) {
		size_t l = strcspn(p, ".");

		q[off++] = (uint8_t)l;
		memcpy(q + off, p, l);
		off += l;
		p += l + (p[l] == '.');
	}
	q[off++] = 0;
	q[off++] = 0;
	q[off++] = 16; /* TXT */
	q[off++] = 0;
	q[off++] = 1;
	len = dmp_node_handle(n, q, off, DMP_NODE_TCP, NULL, r, sizeof(r),
			      NOW_MS);
	/* One answer: c0 0c, type, class, ttl, rdlength, rdata. */
	if (len < (int)off + 12 || r[7] != 1) {
		return -1;
	}
	off += 10;
	vlen = (size_t)r[off] << 8 | r[off + 1];
	if (off + 2 + vlen > (size_t)len ||
	    dmp_txt_join(out, cap, &vlen, r + off + 2, vlen) != 0) {
		return -1;
	}
	return (int)vlen;
}

static void test_heartbeat(struct dmp_node *n, const uint8_t pk[32],
			   const uint8_t sk[64])
{
	struct dmp_node_hb_opts o = {
	    .endpoint = "http://127.0.0.1:8053",
	    .operator_pk = pk,
	    .operator_sk = sk,
	    .interval_s = 300,
	    .allow_loopback = 1,
	    .claim_provider = 1,
	};
	struct dmp_node_hb *hb = NULL;
	struct dmp_heartbeat v;
	char val[2048];
	int len;

	is_int(dmp_node_hb_new(&hb, n, &o), 0, "heartbeat: prepared");
	if (!hb) {
		return;
	}
	is_int(dmp_node_hb_tick(hb, NOW_MS), 1,
	       "heartbeat: first tick "
	       "publishes");
	len = txt_value(n, "_dnsmesh-heartbeat." ZONE, val, sizeof(val));
	ok(len > 0, "heartbeat: served over DNS");
	is_int(dmp_heartbeat_parse(&v, val, len > 0 ? (size_t)len : 0,
				   NOW_MS / 1000, DMP_HEARTBEAT_ALLOW_LOOPBACK),
	       0, "heartbeat: verifies");
	ok(memcmp(v.operator_spk, pk, 32) == 0 &&
	       strcmp(v.endpoint, o.endpoint) == 0 &&
	       (v.capabilities & DMP_HEARTBEAT_CAP_CLAIM_PROVIDER) &&
	       strcmp(v.zone, ZONE) == 0 && v.ts == NOW_MS / 1000,
	   "heartbeat: key, endpoint, claim zone and time");
	is_int(dmp_node_hb_tick(hb, NOW_MS + 299999), 0,
	       "heartbeat: not again within the interval");
	is_int(dmp_node_hb_tick(hb, NOW_MS + 300000), 1,
	       "heartbeat: again after it");
	dmp_node_hb_free(hb);
	o.allow_loopback = 0;
	is_int(dmp_node_hb_new(&hb, n, &o), 0, "heartbeat: strict prepared");
	ok(hb && dmp_node_hb_tick(hb, NOW_MS) < 0,
	   "heartbeat: loopback endpoint refused when strict");
	dmp_node_hb_free(hb);
	o.endpoint = "";
	is_int(dmp_node_hb_new(&hb, n, &o), DMP_EINVAL,
	       "heartbeat: no endpoint, EINVAL");
	dmp_node_hb_free(NULL);
}

static void key_cb(const char *name, const char *alg, const char *scopes,
		   uint64_t created, void *ud)
{
	(void)alg;
	(void)created;
	snprintf(ud, 300, "%s %s", name, scopes);
}

static void test_key_mint(struct dmp_node *n)
{
	const char *scopes[] = {"Chunk-*-*.mesh.test"};
	char line[400], listed[300] = "", name[300];
	uint8_t secret[64];
	const char *b64;
	size_t slen = 0;
	int rc;

	rc = dmp_node_key_mint(n, "Alice.Mesh.Test.", scopes, 1, line,
			       sizeof(line), NOW_MS);
	is_int(rc, 0, "key mint: ok");
	ok(strncmp(line, "hmac-sha256:alice.mesh.test:", 28) == 0,
	   "key mint: name lower-cased, no dot: %s", line);
	b64 = strrchr(line, ':') + 1;
	ok(dmp_b64_decode(secret, sizeof(secret), &slen, b64, strlen(b64)) ==
		   0 &&
	       slen == 32,
	   "key mint: 32-byte secret");
	(void)dmp_node_key_list(n, key_cb, listed);
	snprintf(name, sizeof(name), "alice.mesh.test chunk-*-*.mesh.test");
	is_str(listed, name, "key mint: stored with its scope");
	is_int(dmp_node_key_mint(n, "bob.mesh.test", scopes, 0, line,
				 sizeof(line), NOW_MS),
	       DMP_EINVAL, "key mint: no scope, EINVAL");
	is_int(dmp_node_key_mint(n, "carol.mesh.test", scopes, 1, line, 10,
				 NOW_MS),
	       DMP_ENOBUFS, "key mint: short buffer, ENOBUFS");
}

int main(void)
{
	char path[64];
	uint8_t pk[32], sk[64];
	struct dmp_node *n;

	plan(22);
	snprintf(path, sizeof(path), "/tmp/test_node_hb_%d.key", (int)getpid());
	test_opkey(path, pk, sk);
	n = open_node();
	if (!ok(n != NULL, "node opens")) {
		return done_testing();
	}
	test_heartbeat(n, pk, sk);
	test_key_mint(n);
	dmp_node_free(n);
	return done_testing();
}
