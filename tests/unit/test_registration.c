/* tests/unit/test_registration.c - the signed payload and the X25519
 * proof of TSIG self-registration (PROTOCOL.md 7.2) against
 * vectors/registration.json, plus refusals. The HTTP exchange itself is
 * covered end to end by tests/black/test_cli_register.py. */
#include <stdlib.h>
#include <string.h>

#include "dmp/crypto.h"
#include "dmp/engine.h"
#include "dmp/err.h"
#include "tap.h"
#include "vec.h"

int main(void)
{
	json_t *v = vec_load("registration.json");
	json_t *cases = json_object_get(v, "cases");
	uint8_t buf[512], small[40], pop[32], sig[DMP_SIG_BYTES];
	uint8_t xsk[32], xpk[32], spk[32], ch[32], spub[32], ssk[32];
	uint8_t want_pop[32], want_sig[64], pk[32], sk[DMP_ED25519_SK_BYTES];
	uint8_t zero[32] = {0};
	size_t n, wl;
	uint8_t *want;

	plan(18); /* with the vectors' cases */
	if (dmp_init() < 0) {
		return 1;
	}
	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		const char *subj = vec_str(c, "subject");
		const char *node = vec_str(c, "node");

		vec_hex_fixed(c, "x25519_priv_hex", xsk, 32);
		vec_hex_fixed(c, "x25519_pub_hex", xpk, 32);
		vec_hex_fixed(c, "ed25519_spk_hex", spk, 32);
		vec_hex_fixed(c, "challenge_hex", ch, 32);
		vec_hex_fixed(c, "server_x25519_pub_hex", spub, 32);
		vec_hex_fixed(c, "server_x25519_priv_hex", ssk, 32);
		vec_hex_fixed(c, "x25519_pop_hex", want_pop, 32);
		vec_hex_fixed(c, "signature_hex", want_sig, 64);
		want = vec_hex(c, "signing_payload_hex", &wl);

		ok(dmp_registration_payload(buf, sizeof(buf), &n, ch, subj,
					    node) == 0,
		   "%s: payload built", subj);
		is_int((long long)n, (long long)wl, "payload length");
		is_mem(buf, wl, want, wl, "payload bytes");
		/* Upper case in the subject is folded. */
		{
			char up[64];
			snprintf(up, sizeof(up), "%s", subj);
			up[0] = (char)(up[0] - 'a' + 'A');
			ok(dmp_registration_payload(buf, sizeof(buf), &n, ch,
						    up, node) == 0 &&
			       n == wl && memcmp(buf, want, wl) == 0,
			   "subject lower-cased");
		}
		dmp_ed25519_from_x25519(pk, sk, xsk);
		is_mem(pk, 32, spk, 32, "ed25519 key from the x25519 secret");
		dmp_sign(sig, want, wl, sk);
		is_mem(sig, 64, want_sig, 64, "signature over the payload");
		ok(dmp_verify(want_sig, want, wl, spk) == 0,
		   "vector signature verifies");

		ok(dmp_registration_pop(pop, xsk, xpk, spub, ch, subj) == 0,
		   "pop built");
		is_mem(pop, 32, want_pop, 32, "x25519_pop bytes");
		/* The node derives the same shared key from its side. */
		{
			uint8_t sh1[32], sh2[32];
			ok(dmp_x25519(sh1, ssk, xpk) == 0 &&
			       dmp_x25519(sh2, xsk, spub) == 0 &&
			       memcmp(sh1, sh2, 32) == 0,
			   "server side shares the key");
		}
		ok(dmp_registration_pop(pop, xsk, xpk, spub, ch, "x@y") == 0 &&
		       memcmp(pop, want_pop, 32) != 0,
		   "another subject gives another pop");
		ok(dmp_registration_pop(pop, xsk, xpk, zero, ch, subj) ==
		       DMP_EWEAKSECRET,
		   "low-order server key refused");
		free(want);
	}
	/* Malformed input. */
	memset(ch, 7, 32);
	is_int(dmp_registration_payload(small, sizeof(small), &n, ch,
					"alice@mesh.test", "mesh.test"),
	       DMP_ENOBUFS, "short buffer");
	is_int((long long)n, 0, "length reset on failure");
	is_int(dmp_registration_payload(buf, sizeof(buf), &n, ch, "", "m"),
	       DMP_EINVAL, "empty subject");
	is_int(dmp_registration_payload(buf, sizeof(buf), &n, ch, "a@b", ""),
	       DMP_EINVAL, "empty node");
	{
		char big[400];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		is_int(dmp_registration_pop(pop, xsk, xpk, spub, ch, big),
		       DMP_ENOBUFS, "oversize subject");
	}
	ok(json_array_size(cases) >= 1, "vector file has cases");
	json_decref(v);
	return done_testing();
}
