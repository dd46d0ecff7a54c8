/*
 * tests/fuzz/fuzz_keys.h - the signer key of the record fuzzers, derived
 * once per process from a vector's X25519 seed (header-only: fuzz targets
 * link nothing but libdmp).
 */
#ifndef DMP_FUZZ_KEYS_H
#define DMP_FUZZ_KEYS_H

#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"

/* dmp_init(), then pk/sk from @p seed_hex the first time; aborts on error. */
static void fuzz_key_once(uint8_t pk[32], uint8_t sk[64], const char *seed_hex)
{
	static int done;
	uint8_t seed[32];

	if (done) {
		return;
	}
	if (dmp_init() != 0 ||
	    dmp_hex_decode(seed, 32, seed_hex, strlen(seed_hex)) != 0) {
		abort();
	}
	dmp_ed25519_from_x25519(pk, sk, seed);
	done = 1;
}

#endif /* DMP_FUZZ_KEYS_H */
