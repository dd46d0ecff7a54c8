/* core/src/base/common.c - allocation wrappers and library init. */
#include <stdlib.h>
#include <sodium.h>

#include "dmp/common.h"
#include "dmp/err.h"

_Static_assert(DMP_SHA256_BYTES == crypto_hash_sha256_BYTES, "sha256");
_Static_assert(DMP_X25519_BYTES == crypto_scalarmult_BYTES, "x25519");
_Static_assert(DMP_ED25519_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "ed pk");
_Static_assert(DMP_ED25519_SEED_BYTES == crypto_sign_SEEDBYTES, "ed seed");
_Static_assert(DMP_ED25519_SK_BYTES == crypto_sign_SECRETKEYBYTES, "ed sk");
_Static_assert(DMP_SIG_BYTES == crypto_sign_BYTES, "sig");

void *dmp_malloc(size_t n)
{
	return malloc(n ? n : 1);
}

void *dmp_calloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

void *dmp_realloc(void *p, size_t n)
{
	return realloc(p, n ? n : 1);
}

void dmp_free(void *p)
{
	free(p);
}

int dmp_grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
	void **pv = v;
	size_t nc;
	void *nv;

	if (n < *cap) {
		return 0;
	}
	nc = *cap ? 2 * *cap : (first ? first : 1);
	if (nc < *cap || size == 0 || nc > SIZE_MAX / size) {
		return DMP_ENOMEM;
	}
	nv = dmp_realloc(*pv, nc * size);
	if (!nv) {
		return DMP_ENOMEM;
	}
	*pv = nv;
	*cap = nc;
	return 0;
}

int dmp_init(void)
{
	/* sodium_init is itself idempotent and thread-safe. */
	return sodium_init() < 0 ? DMP_EINTERNAL : 0;
}

const char *dmp_version(void)
{
	return DMP_VERSION_STRING;
}
