/* core/src/crypto/crypto.c - primitives over libsodium (PROTOCOL.md 4.1). */

/*
 * SHA-256 comes from OpenSSL's libcrypto, not libsodium: every chunk is
 * hashed twice on both send and receive, and libcrypto uses the CPU's SHA
 * extensions (about 5x faster than libsodium 1.0.18's portable code for
 * our 128-168 byte inputs). The low-level SHA256_* calls are deprecated in
 * OpenSSL 3 but present in every 3.x; the EVP interface costs twice as
 * much per call at these sizes (measured: bench/bench_pipeline).
 */
#define OPENSSL_API_COMPAT 0x10100000L
#include <openssl/sha.h>

#include <string.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"

void dmp_sha256(uint8_t out[DMP_SHA256_BYTES], const void *in, size_t len)
{
	dmp_sha256_3(out, in, len, NULL, 0, NULL, 0);
}

void dmp_sha256_3(uint8_t out[DMP_SHA256_BYTES], const void *a, size_t alen,
		  const void *b, size_t blen, const void *c, size_t clen)
{
	SHA256_CTX st;

	SHA256_Init(&st);
	if (a) {
		SHA256_Update(&st, a, alen);
	}
	if (b) {
		SHA256_Update(&st, b, blen);
	}
	if (c) {
		SHA256_Update(&st, c, clen);
	}
	SHA256_Final(out, &st);
	/* Inputs include secrets (the Ed25519 seed derivation). */
	sodium_memzero(&st, sizeof(st));
}

void dmp_sha256_hex_prefix(char *out, size_t nchars, const void *in, size_t len)
{
	uint8_t h[DMP_SHA256_BYTES];
	char hex[2 * DMP_SHA256_BYTES + 1];

	if (nchars > 2 * DMP_SHA256_BYTES) {
		nchars = 2 * DMP_SHA256_BYTES;
	}
	dmp_sha256(h, in, len);
	dmp_hex_encode(hex, h, sizeof(h));
	memcpy(out, hex, nchars);
	out[nchars] = '\0';
}

void dmp_hmac_sha256(uint8_t out[DMP_SHA256_BYTES], const uint8_t *key,
		     size_t key_len, const void *msg, size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

int dmp_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm,
		    size_t ikm_len, const uint8_t *salt, size_t salt_len,
		    const uint8_t *info, size_t info_len)
{
	uint8_t prk[DMP_SHA256_BYTES], t[DMP_SHA256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t done = 0;
	uint8_t counter = 1;

	if (out_len > 255 * DMP_SHA256_BYTES) {
		return DMP_EINVAL;
	}
	/* RFC 5869 2.2: a missing salt is HashLen zeros. */
	if (!salt || salt_len == 0) {
		memset(t, 0, sizeof(t));
		dmp_hmac_sha256(prk, t, sizeof(t), ikm, ikm_len);
	} else {
		dmp_hmac_sha256(prk, salt, salt_len, ikm, ikm_len);
	}
	while (done < out_len) {
		size_t n = out_len - done;

		crypto_auth_hmacsha256_init(&st, prk, sizeof(prk));
		if (counter > 1) {
			crypto_auth_hmacsha256_update(&st, t, sizeof(t));
		}
		crypto_auth_hmacsha256_update(&st, info, info_len);
		crypto_auth_hmacsha256_update(&st, &counter, 1);
		crypto_auth_hmacsha256_final(&st, t);
		if (n > sizeof(t)) {
			n = sizeof(t);
		}
		memcpy(out + done, t, n);
		done += n;
		counter++;
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(&st, sizeof(st));
	return 0;
}

void dmp_x25519_base(uint8_t pk[DMP_X25519_BYTES],
		     const uint8_t sk[DMP_X25519_BYTES])
{
	crypto_scalarmult_base(pk, sk);
}

int dmp_x25519(uint8_t shared[DMP_X25519_BYTES],
	       const uint8_t sk[DMP_X25519_BYTES],
	       const uint8_t peer_pk[DMP_X25519_BYTES])
{
	if (crypto_scalarmult(shared, sk, peer_pk) != 0) {
		sodium_memzero(shared, DMP_X25519_BYTES);
		return DMP_EWEAKSECRET;
	}
	return 0;
}

void dmp_ed25519_from_seed(uint8_t pk[DMP_ED25519_PK_BYTES],
			   uint8_t sk[DMP_ED25519_SK_BYTES],
			   const uint8_t seed[DMP_ED25519_SEED_BYTES])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

void dmp_ed25519_from_x25519(uint8_t pk[DMP_ED25519_PK_BYTES],
			     uint8_t sk[DMP_ED25519_SK_BYTES],
			     const uint8_t x25519_sk[DMP_X25519_BYTES])
{
	static const char label[] = "DMP-v1-Ed25519-signing-key";
	uint8_t seed[DMP_ED25519_SEED_BYTES];

	dmp_sha256_3(seed, x25519_sk, DMP_X25519_BYTES, label,
		     sizeof(label) - 1, NULL, 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

void dmp_sign(uint8_t sig[DMP_SIG_BYTES], const void *msg, size_t len,
	      const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	crypto_sign_detached(sig, NULL, msg, len, sk);
}

/*
 * The reference's blocklist (dmp/core/ed25519_points.py): the eight
 * small-order points in canonical form and six non-canonical aliases that
 * some verifiers accept. Its fourteen entries are these seven with the
 * sign bit (the top bit of byte 31) clear and set, so the bit is masked
 * off before comparing. Refusing them keeps us exactly as strict as the
 * reference on every record.
 */
static const uint8_t low_order_keys[7][DMP_ED25519_PK_BYTES] = {
    {0x00},
    {0x01},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

int dmp_ed25519_is_low_order(const uint8_t pk[DMP_ED25519_PK_BYTES])
{
	const size_t last = DMP_ED25519_PK_BYTES - 1;

	for (size_t i = 0; i < DMP_ARRAY_LEN(low_order_keys); i++) {
		if (memcmp(pk, low_order_keys[i], last) == 0 &&
		    (pk[last] & 0x7f) == low_order_keys[i][last]) {
			return 1;
		}
	}
	return 0;
}

int dmp_verify(const uint8_t sig[DMP_SIG_BYTES], const void *msg, size_t len,
	       const uint8_t pk[DMP_ED25519_PK_BYTES])
{
	if (dmp_ed25519_is_low_order(pk)) {
		return DMP_EBADKEY;
	}
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0) {
		return DMP_EBADSIG;
	}
	return 0;
}

void dmp_random(void *out, size_t len)
{
	randombytes_buf(out, len);
}

void dmp_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void dmp_wipe_free(void *p, size_t len)
{
	if (p) {
		sodium_memzero(p, len);
		dmp_free(p);
	}
}
