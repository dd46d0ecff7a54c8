/* tests/unit/test_keys.c - identity derivation (PROTOCOL.md 4.2) against
 * tests/vectors/identity_derivation.json and the 4.2 inline vector. */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "tap.h"
#include "vec.h"

static void hex_of(char *out, const uint8_t *p, size_t n)
{
	dmp_hex_encode(out, p, n);
}

static void test_vector_case(const json_t *c)
{
	const json_t *in = json_object_get(c, "inputs");
	const char *desc = vec_str(c, "description");
	const json_t *a = json_object_get(c, "argon2id");
	uint8_t *pass, *salt = NULL, *salt_used, *sig_want;
	size_t pass_len, salt_len = 0, used_len, sig_len;
	uint8_t want[32], sk[32], seed[32], pk[32], esk[64], sig[64];
	uint8_t check[DMP_KEYS_CHECK_BYTES];
	const char *username = vec_str(in, "username");
	char fp[DMP_FINGERPRINT_CHARS + 1];
	struct dmp_keys *k = NULL, *k2 = NULL;

	/* The KDF parameters in the file are the ones we hard-code. */
	is_int(vec_int(a, "time_cost"), DMP_KDF_T_COST, "%s: t", desc);
	is_int(vec_int(a, "memory_cost_kib"), DMP_KDF_M_COST_KIB, "%s: m",
	       desc);
	is_int(vec_int(a, "parallelism"), DMP_KDF_PARALLELISM, "%s: p", desc);
	is_int(vec_int(a, "hash_len"), 32, "%s: hash_len", desc);
	is_int(vec_int(a, "version"), 0x13, "%s: version", desc);

	pass = vec_hex(in, "passphrase_utf8_hex", &pass_len);
	is_mem(pass, pass_len, vec_str(in, "passphrase"),
	       strlen(vec_str(in, "passphrase")), "%s: passphrase is UTF-8",
	       desc);
	if (vec_has(in, "salt_hex")) {
		salt = vec_hex(in, "salt_hex", &salt_len);
	}
	salt_used = vec_hex(in, "salt_used_hex", &used_len);
	if (!salt) {
		is_mem(salt_used, used_len, DMP_KDF_DEFAULT_SALT,
		       strlen(DMP_KDF_DEFAULT_SALT), "%s: fallback salt", desc);
	}

	if (!ok(dmp_keys_derive(&k, (const char *)pass, pass_len, salt,
				salt_len) == 0,
		"%s: derive", desc)) {
		goto out;
	}
	if (ok(dmp_keys_export_x25519(k, sk) == 0, "%s: export", desc)) {
		vec_hex_fixed(c, "x25519_priv_hex", want, 32);
		is_mem(sk, 32, want, 32, "%s: x25519_priv (raw Argon2id)",
		       desc);
	}
	vec_hex_fixed(c, "x25519_pub_hex", want, 32);
	is_mem(dmp_keys_x25519_pk(k), 32, want, 32, "%s: x25519_pub", desc);
	/* ed25519_seed = SHA-256(x_sk || label): check the seed itself. */
	dmp_sha256_3(seed, sk, 32, "DMP-v1-Ed25519-signing-key", 26, NULL, 0);
	vec_hex_fixed(c, "ed25519_seed_hex", want, 32);
	is_mem(seed, 32, want, 32, "%s: ed25519_seed", desc);
	dmp_ed25519_from_seed(pk, esk, seed);
	vec_hex_fixed(c, "ed25519_pub_hex", want, 32);
	is_mem(dmp_keys_ed25519_pk(k), 32, want, 32, "%s: ed25519_pub", desc);
	is_mem(pk, 32, want, 32, "%s: ed25519_pub from the seed", desc);
	vec_hex_fixed(c, "user_id_hex", want, 32);
	is_mem(dmp_keys_user_id(k), 32, want, 32, "%s: user_id", desc);
	dmp_keys_fingerprint(k, fp);
	is_str(fp, vec_str(c, "fingerprint16"), "%s: fingerprint16", desc);

	/* Ed25519 is deterministic: the username signature must match. */
	sig_want = vec_hex(c, "username_signature_hex", &sig_len);
	dmp_keys_sign(k, sig, username, strlen(username));
	is_mem(sig, sizeof(sig), sig_want, sig_len, "%s: username_signature",
	       desc);
	is_int(
	    dmp_verify(sig, username, strlen(username), dmp_keys_ed25519_pk(k)),
	    0, "%s: signature verifies", desc);
	free(sig_want);

	/* The same identity from the raw secret. */
	if (ok(dmp_keys_from_x25519(&k2, sk) == 0, "%s: from_x25519", desc)) {
		is_mem(dmp_keys_ed25519_pk(k2), 32, dmp_keys_ed25519_pk(k), 32,
		       "%s: from_x25519 gives the same ed25519", desc);
		is_mem(dmp_keys_user_id(k2), 32, dmp_keys_user_id(k), 32,
		       "%s: from_x25519 gives the same user_id", desc);
	}
	dmp_keys_free(k2);
	k2 = NULL;

	/* Explicitly passing the fallback salt equals passing none. */
	if (!salt) {
		if (ok(dmp_keys_derive(&k2, (const char *)pass, pass_len,
				       salt_used, used_len) == 0,
		       "%s: derive with explicit fallback salt", desc)) {
			is_mem(dmp_keys_x25519_pk(k2), 32,
			       dmp_keys_x25519_pk(k), 32,
			       "%s: same key as the NULL salt", desc);
		}
		dmp_keys_free(k2);
		k2 = NULL;
	}

	/* Check value: right passphrase passes, wrong one is refused. */
	is_int(dmp_keys_check_value(k, check), 0, "%s: check value", desc);
	is_int(dmp_keys_derive_checked(&k2, (const char *)pass, pass_len, salt,
				       salt_len, check),
	       0, "%s: derive_checked with the right passphrase", desc);
	ok(k2 != NULL, "%s: derive_checked returns keys", desc);
	dmp_keys_free(k2);
	k2 = NULL;
	pass[0] ^= 0x20; /* a mistyped first letter */
	is_int(dmp_keys_derive_checked(&k2, (const char *)pass, pass_len, salt,
				       salt_len, check),
	       DMP_EPASSPHRASE, "%s: wrong passphrase -> DMP_EPASSPHRASE",
	       desc);
	ok(k2 == NULL, "%s: no keys for a wrong passphrase", desc);
out:
	dmp_wipe(sk, sizeof(sk));
	dmp_keys_free(k);
	free(pass);
	free(salt);
	free(salt_used);
}

/* PROTOCOL.md 4.2: passphrase "correct horse", salt 00..1f. */
static void test_inline_vector(void)
{
	static const char *x_sk_hex =
	    "eaec4da15084167f6702ad3b928b23fd2438ce57eca5b5d136a0033c7afe5754";
	static const char *x_pk_hex =
	    "be56a8961d0a7a621f78645e6ab0fd58386dec6a0dac277daea50d1324c32556";
	static const char *ed_pk_hex =
	    "7eab69fd59aecde35327edbf223449012b61ac083eb53113b99eeb853a8de942";
	static const char *uid_hex =
	    "0b94234503f858e235bc055d53a182582c9212a584e5150da318d09cf575f0f3";
	uint8_t salt[32], sk[32];
	char hex[65], mb[13];
	struct dmp_keys *k = NULL;

	for (int i = 0; i < 32; i++) {
		salt[i] = (uint8_t)i;
	}
	if (!ok(dmp_keys_derive(&k, "correct horse", 13, salt, 32) == 0,
		"4.2 inline: derive")) {
		return;
	}
	if (dmp_keys_export_x25519(k, sk) == 0) {
		hex_of(hex, sk, 32);
		is_str(hex, x_sk_hex, "4.2 inline: x_sk");
		/* The unclamped secret is what gets hashed: a clamped copy
		 * would give another Ed25519 key. */
		ok((sk[0] & 7) != 0 || (sk[31] & 0xc0) != 0x40,
		   "4.2 inline: x_sk is stored unclamped");
	}
	hex_of(hex, dmp_keys_x25519_pk(k), 32);
	is_str(hex, x_pk_hex, "4.2 inline: x_pk");
	hex_of(hex, dmp_keys_ed25519_pk(k), 32);
	is_str(hex, ed_pk_hex, "4.2 inline: ed_pk");
	hex_of(hex, dmp_keys_user_id(k), 32);
	is_str(hex, uid_hex, "4.2 inline: user_id");
	/* mailbox label mb-<h12(user_id)>: the hash of the hash (10.6). */
	dmp_sha256_hex_prefix(mb, 12, dmp_keys_user_id(k), 32);
	is_str(mb, "326925fcf62b", "4.2 inline: mailbox label hash");
	dmp_wipe(sk, sizeof(sk));
	dmp_keys_free(k);
}

static void test_errors(void)
{
	struct dmp_keys *k = (struct dmp_keys *)&k;
	uint8_t salt[8] = {0}, seed[32], sig[64], shared[32], zero[32] = {0};
	uint8_t check[32];
	char fp[17], hex[65];

	is_int(dmp_keys_derive(&k, "x", 1, salt, 7), DMP_EINVAL,
	       "salt of 7 bytes refused");
	ok(k == NULL, "out-param reset on failure");
	is_int(dmp_keys_derive(&k, "x", 1, salt, 0), DMP_EINVAL,
	       "empty salt refused");
	ok(dmp_keys_derive(&k, "x", 1, salt, 8) == 0, "salt of 8 accepted");
	dmp_keys_free(k);
	k = NULL;
	dmp_keys_free(NULL); /* a no-op; a crash would fail the test */

	/* Random salts differ and are full length. */
	{
		uint8_t s1[DMP_KDF_SALT_BYTES], s2[DMP_KDF_SALT_BYTES];

		dmp_kdf_salt_random(s1);
		dmp_kdf_salt_random(s2);
		ok(memcmp(s1, s2, sizeof(s1)) != 0, "random salts differ");
	}

	/* Operator key: plain Ed25519 seed, no SHA-256 step (4.2). RFC 8032
	 * 7.1 test 1. */
	memset(seed, 0, sizeof(seed));
	if (dmp_hex_decode(seed, 32,
			   "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919"
			   "703bac031cae7f60",
			   64) != 0) {
		diag("bad hex");
	}
	if (ok(dmp_keys_from_ed25519_seed(&k, seed) == 0, "operator key")) {
		hex_of(hex, dmp_keys_ed25519_pk(k), 32);
		is_str(hex,
		       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a"
		       "68f707511a",
		       "operator key: RFC 8032 public key (no hashing)");
		dmp_keys_fingerprint(k, fp);
		is_str(fp, "d75a980182b10ab7", "operator fingerprint");
		ok(!dmp_keys_is_user(k), "operator key is not a user key");
		ok(dmp_keys_x25519_pk(k) == NULL, "operator key: no x25519");
		ok(dmp_keys_user_id(k) == NULL, "operator key: no user_id");
		is_int(dmp_keys_x25519(k, shared, seed), DMP_EINVAL,
		       "operator key: no key agreement");
		is_int(dmp_keys_check_value(k, check), DMP_EINVAL,
		       "operator key: no check value");
		is_int(dmp_keys_export_x25519(k, shared), DMP_EINVAL,
		       "operator key: nothing to export");
		dmp_keys_sign(k, sig, "", 0);
		hex_of(hex, sig, 32);
		is_str(hex,
		       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e0"
		       "6522490155",
		       "operator key: RFC 8032 signature (first half)");
		dmp_keys_free(k);
		k = NULL;
	}

	/* Key agreement through the handle, and the low-order refusal. */
	if (ok(dmp_keys_from_x25519(&k, seed) == 0, "user key from secret")) {
		uint8_t other[32], opk[32], s2[32];

		memset(other, 0x42, sizeof(other));
		dmp_x25519_base(opk, other);
		is_int(dmp_keys_x25519(k, shared, opk), 0, "x25519 via handle");
		is_int(dmp_x25519(s2, other, dmp_keys_x25519_pk(k)), 0,
		       "x25519 the other way");
		is_mem(shared, 32, s2, 32, "both sides agree");
		is_int(dmp_keys_x25519(k, shared, zero), DMP_EWEAKSECRET,
		       "all-zero peer key -> DMP_EWEAKSECRET");
		is_mem(shared, 32, zero, 32, "shared wiped on failure");
		dmp_keys_free(k);
		k = NULL;
	}
}

int main(void)
{
	json_t *v = vec_load("identity_derivation.json");
	const json_t *cases = json_object_get(v, "cases");

	if (dmp_init() != 0) {
		return 1;
	}
	plan(132);
	ok(json_array_size(cases) == 4, "identity_derivation has 4 cases");
	for (size_t i = 0; i < json_array_size(cases); i++) {
		test_vector_case(json_array_get(cases, i));
	}
	test_inline_vector();
	test_errors();
	json_decref(v);
	return done_testing();
}
