/*
 * tests/unit/test_engine_cluster.c - the client's cluster logic
 * (engine_cluster.c, engine_net.c): rendezvous placement of mailboxes,
 * choice of the bootstrap record and the cluster manifest (highest seq,
 * pinned keys, names, priority order) and the no-rollback rule.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/engine_i.h"
#include "dmp/bootstrap.h"
#include "dmp/cluster.h"
#include "dmp/crypto.h"
#include "dmp/record.h"
#include "tap.h"

static uint8_t zone_pk[32], zone_sk[64], op_pk[32], op_sk[64], bad_pk[32],
    bad_sk[64];

/* The reference computation: the r keys with the highest 8-byte prefix
 * of SHA-256(key || rid). */
static unsigned expect_mask(const char (*key)[DMP_CFG_STR_MAX], unsigned n,
			    unsigned r, const uint8_t rid[32])
{
	uint64_t s[DMP_ENG_NODES_MAX];
	unsigned mask = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t buf[DMP_CFG_STR_MAX + 32], h[32];
		size_t l = strlen(key[i]);

		memcpy(buf, key[i], l);
		memcpy(buf + l, rid, 32);
		dmp_sha256(h, buf, l + 32);
		s[i] = 0;
		for (int j = 0; j < 8; j++) {
			s[i] = s[i] << 8 | h[j];
		}
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned above = 0;

		for (unsigned j = 0; j < n; j++) {
			above += s[j] > s[i];
		}
		if (above < r) {
			mask |= 1u << i;
		}
	}
	return mask;
}

static void test_placement(void)
{
	static const char key[5][DMP_CFG_STR_MAX] = {"n0", "n1", "n2", "n3",
						     "n4"};
	static const char rev[5][DMP_CFG_STR_MAX] = {"n4", "n3", "n2", "n1",
						     "n0"};
	char four[4][DMP_CFG_STR_MAX];
	unsigned count[5] = {0}, bad = 0, mismatch = 0, unstable = 0, order = 0;
	uint8_t rid[32];

	memset(rid, 7, sizeof(rid));
	is_int(dmp_eng_rendezvous(key, 5, 0, rid), 0x1f, "replicas 0: all");
	is_int(dmp_eng_rendezvous(key, 5, 5, rid), 0x1f, "replicas = n: all");
	is_int(dmp_eng_rendezvous(key, 5, 9, rid), 0x1f, "replicas > n: all");
	is_int(dmp_eng_rendezvous(key, 5, 3, NULL), 0x1f,
	       "no mailbox (NULL rid): all");
	for (int t = 0; t < 300; t++) {
		unsigned m, mr, m4, k = 0;

		dmp_sha256(rid, (const uint8_t *)&t, sizeof(t));
		m = dmp_eng_rendezvous(key, 5, 3, rid);
		bad += __builtin_popcount(m) != 3;
		mismatch += m != expect_mask(key, 5, 3, rid);
		for (int i = 0; i < 5; i++) {
			count[i] += (m >> i) & 1u;
		}
		/* The same set whatever the order of the node list. */
		mr = dmp_eng_rendezvous(rev, 5, 3, rid);
		for (int i = 0; i < 5; i++) {
			if (((mr >> i) & 1u) != ((m >> (4 - i)) & 1u)) {
				order++;
				break;
			}
		}
		/* A node outside the set leaves: the set does not move. */
		for (int i = 0; i < 5; i++) {
			if ((m >> i) & 1u) {
				memcpy(four[k++], key[i], DMP_CFG_STR_MAX);
			}
		}
		for (int i = 0; i < 5 && k < 4; i++) {
			if (!((m >> i) & 1u)) {
				memcpy(four[k++], key[i], DMP_CFG_STR_MAX);
				break;
			}
		}
		m4 = dmp_eng_rendezvous((const char(*)[DMP_CFG_STR_MAX])four, 4,
					3, rid);
		unstable += m4 != 0x7;
	}
	is_int(bad, 0, "replicas 3 of 5: exactly three nodes, 300 mailboxes");
	is_int(mismatch, 0, "the top three by SHA-256(key || rid)");
	is_int(order, 0, "independent of the node list's order");
	is_int(unstable, 0, "a node outside the set leaving moves nothing");
	ok(count[0] > 100 && count[1] > 100 && count[2] > 100 &&
	       count[3] > 100 && count[4] > 100,
	   "every node stores some mailboxes (%u %u %u %u %u of 300)", count[0],
	   count[1], count[2], count[3], count[4]);
}

static int sign_bs(char *out, uint64_t seq, const char *domain,
		   const uint8_t *pk, const uint8_t *sk, int two)
{
	struct dmp_bootstrap b;

	memset(&b, 0, sizeof(b));
	b.seq = seq;
	b.exp = (uint64_t)time(NULL) + 86400;
	memcpy(b.signer_spk, pk, 32);
	snprintf(b.user_domain, sizeof(b.user_domain), "%s", domain);
	b.entry_count = two ? 2 : 1;
	/* Given in reverse priority order: parse sorts them. */
	b.entries[0].priority = 20;
	snprintf(b.entries[0].base, sizeof(b.entries[0].base), "b.example");
	memcpy(b.entries[0].operator_spk, op_pk, 32);
	b.entries[1].priority = 10;
	snprintf(b.entries[1].base, sizeof(b.entries[1].base), "a.example");
	memcpy(b.entries[1].operator_spk, op_pk, 32);
	return dmp_bootstrap_sign(out, DMP_RECORD_WIRE_MAX + 1, &b, sk);
}

static int sign_cl(char *out, uint64_t seq, const char *name, const uint8_t *pk,
		   const uint8_t *sk)
{
	struct dmp_cluster c;

	memset(&c, 0, sizeof(c));
	c.seq = seq;
	c.exp = (uint64_t)time(NULL) + 86400;
	memcpy(c.operator_spk, pk, 32);
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.node_count = 1;
	snprintf(c.nodes[0].node_id, sizeof(c.nodes[0].node_id), "n1");
	snprintf(c.nodes[0].http_endpoint, sizeof(c.nodes[0].http_endpoint),
		 "http://192.0.2.1:8053");
	snprintf(c.nodes[0].dns_endpoint, sizeof(c.nodes[0].dns_endpoint),
		 "192.0.2.1:53");
	return dmp_cluster_sign(out, DMP_RECORD_WIRE_MAX + 1, &c, sk);
}

static void test_selection(void)
{
	static char w[6][DMP_RECORD_WIRE_MAX + 1];
	const char *v[6];
	size_t len[6];
	struct dmp_bootstrap b;
	struct dmp_cluster c;
	uint64_t now = (uint64_t)time(NULL);
	int ok_sign = 1;

	ok_sign &= sign_bs(w[0], 1, "example.org", zone_pk, zone_sk, 1) > 0;
	ok_sign &= sign_bs(w[1], 5, "example.org", zone_pk, zone_sk, 1) > 0;
	ok_sign &= sign_bs(w[2], 3, "example.org", zone_pk, zone_sk, 1) > 0;
	ok_sign &= sign_bs(w[3], 9, "example.org", bad_pk, bad_sk, 1) > 0;
	ok_sign &= sign_bs(w[4], 8, "other.org", zone_pk, zone_sk, 1) > 0;
	snprintf(w[5], sizeof(w[5]), "v=dmp1;t=bootstrap;bm9pc2U=");
	ok(ok_sign, "bootstrap records signed");
	for (int i = 0; i < 6; i++) {
		v[i] = w[i];
		len[i] = strlen(w[i]);
	}
	is_int(
	    dmp_eng_bootstrap_pick(v, len, 6, zone_pk, "example.org", now, &b),
	    1, "bootstrap: the highest seq that verifies and names us");
	is_int((long long)b.seq, 5,
	       "bootstrap: seq 5 (9 is another key's, "
	       "8 another domain's)");
	is_str(b.entries[0].base, "a.example",
	       "bootstrap: entries in priority order (10 before 20)");
	is_int(dmp_eng_bootstrap_pick(v + 3, len + 3, 3, zone_pk, "example.org",
				      now, &b),
	       -1, "bootstrap: none verifies -> -1");
	is_int(dmp_eng_bootstrap_pick(v, len, 6, zone_pk, "example.org",
				      now + 2 * 86400, &b),
	       -1, "bootstrap: expired values are not chosen");

	ok_sign = sign_cl(w[0], 4, "a.example", op_pk, op_sk) > 0;
	ok_sign &= sign_cl(w[1], 6, "a.example", op_pk, op_sk) > 0;
	ok_sign &= sign_cl(w[2], 12, "a.example", bad_pk, bad_sk) > 0;
	ok_sign &= sign_cl(w[3], 11, "b.example", op_pk, op_sk) > 0;
	ok(ok_sign, "manifests signed");
	for (int i = 0; i < 4; i++) {
		len[i] = strlen(w[i]);
	}
	is_int(dmp_eng_cluster_pick(v, len, 4, op_pk, "a.example", now, &c), 1,
	       "manifest: highest seq under the entry's key and name");
	is_int((long long)c.seq, 6, "manifest: seq 6");

	/* No rollback. */
	is_int(dmp_eng_cluster_newer(&c, 1, "", 0, 0), 1,
	       "newer: anything beats nothing");
	is_int(dmp_eng_cluster_newer(&c, 1, "A.example", 6, 1), 0,
	       "newer: the same seq is not installed");
	is_int(dmp_eng_cluster_newer(&c, 1, "a.example", 7, 1), 0,
	       "newer: a lower seq is a rollback, refused");
	is_int(dmp_eng_cluster_newer(&c, 1, "a.example", 5, 1), 1,
	       "newer: a strictly greater seq is installed");
	is_int(dmp_eng_cluster_newer(&c, 2, "b.example", 50, 2), 0,
	       "newer: another cluster needs a newer bootstrap");
	is_int(dmp_eng_cluster_newer(&c, 3, "b.example", 50, 2), 1,
	       "newer: a newer bootstrap may move us to another cluster");
}

int main(void)
{
	if (dmp_init() != 0) {
		return 1;
	}
	plan(24);
	dmp_ed25519_from_seed(
	    zone_pk, zone_sk,
	    (const uint8_t *)"zone-operator-seed-0123456789ab");
	dmp_ed25519_from_seed(
	    op_pk, op_sk, (const uint8_t *)"cluster-operator-seed-012345678");
	dmp_ed25519_from_seed(
	    bad_pk, bad_sk, (const uint8_t *)"someone-else-seed-0123456789abc");
	test_placement();
	test_selection();
	return done_testing();
}
