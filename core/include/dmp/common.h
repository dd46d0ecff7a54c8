/* core/include/dmp/common.h - macros and sizes shared by every module. */
#ifndef DMP_COMMON_H
#define DMP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define DMP_MUST_CHECK __attribute__((warn_unused_result))
#define DMP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Key and digest sizes; pinned to libsodium in core/src/base/common.c. */
#define DMP_SHA256_BYTES 32
#define DMP_X25519_BYTES 32 /* public and secret keys */
#define DMP_ED25519_PK_BYTES 32
#define DMP_ED25519_SEED_BYTES 32
#define DMP_ED25519_SK_BYTES 64 /* libsodium's seed || pk form */
#define DMP_SIG_BYTES 64
#define DMP_MSG_ID_BYTES 16
#define DMP_USER_ID_BYTES 32 /* SHA-256 of the X25519 public key */

/** Allocation wrappers, so tests can fail the Nth allocation. */
void *dmp_malloc(size_t n);
void *dmp_calloc(size_t n, size_t size);
void *dmp_realloc(void *p, size_t n);
void dmp_free(void *p);

/**
 * Make room for one more element in a growing array: when @p n equals
 * *@p cap, reallocate *@p v (elements of @p size bytes) to twice the
 * capacity, or @p first when empty. *@p v and *@p cap are unchanged on
 * failure.
 * @return 0 or DMP_ENOMEM (also on size overflow)
 */
DMP_MUST_CHECK int dmp_grow(void *v, size_t *cap, size_t n, size_t size,
			    size_t first);

/**
 * Initialise process-wide state (libsodium). Idempotent and thread-safe;
 * every entry point that needs randomness or crypto calls it.
 * @return 0 or DMP_EINTERNAL
 */
DMP_MUST_CHECK int dmp_init(void);

/** Library version string, e.g. "0.1.0". */
const char *dmp_version(void);

#endif /* DMP_COMMON_H */
