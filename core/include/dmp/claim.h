/*
 * core/include/dmp/claim.h - the claim record (PROTOCOL.md 2.5), a signed
 * first-contact pointer: "v=dmp1;t=claim;" base64(body || sig) (no "d="),
 * at most 255 bytes so it fits one TXT string. Its magic DMPCL01 is the
 * cluster manifest's too: dispatch on the prefix (10.10).
 *
 * Reentrant; nothing here allocates.
 */
#ifndef DMP_CLAIM_H
#define DMP_CLAIM_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** 2.5: sender_mailbox_domain is 1..43 bytes. */
#define DMP_CLAIM_DOMAIN_MAX 43
/** Largest body: 7 + 16 + 32 + 1 + 43 + 1 + 8 + 8. */
#define DMP_CLAIM_BODY_MAX 116

struct dmp_claim {
	uint8_t msg_id[DMP_MSG_ID_BYTES];
	uint8_t sender_spk[DMP_ED25519_PK_BYTES]; /* the signer */
	/** UTF-8, no byte <= 0x20 and no 0x7F; NUL-terminated. */
	char sender_mailbox_domain[DMP_CLAIM_DOMAIN_MAX + 1];
	size_t domain_len; /* 1..43 */
	uint8_t slot;	   /* 0..9, only a hint */
	uint64_t ts;
	uint64_t exp; /* > ts */
};

/**
 * Check @p c and write its body.
 * @param[out] body  DMP_CLAIM_BODY_MAX bytes is enough
 * @return body length, DMP_EINVAL (domain length or bytes, slot > 9,
 *         exp <= ts, ts or exp >= 2^63) or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_claim_body(uint8_t *body, size_t cap,
				  const struct dmp_claim *c);

/**
 * Sign and encode @p c (NUL-terminated).
 * @param cap  DMP_CLAIM_WIRE_MAX + 1 (256) is enough
 * @param sk   libsodium secret key; its public half must equal sender_spk
 * @return value length, DMP_EINVAL (see dmp_claim_body), DMP_EBADKEY,
 *         DMP_ETOOBIG (value over 255 bytes) or DMP_ENOBUFS
 */
DMP_MUST_CHECK int
dmp_claim_sign_encode(char *out, size_t cap, const struct dmp_claim *c,
		      const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse and verify a claim value (PROTOCOL.md 1.5, 2.5, 6.2): prefix,
 * <= 255 bytes, strict base64, magic, strict body, signature by the
 * embedded sender_spk (low-order refused), then the time checks in this
 * order: ts - now > 300 (DMP_EFUTURE), exp <= now (DMP_EEXPIRED),
 * exp - now > 30 days (DMP_EFUTURE). An old ts is fine.
 * @param[out] out  zeroed on failure
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG, DMP_EFUTURE or DMP_EEXPIRED
 */
DMP_MUST_CHECK int dmp_claim_parse_verify(struct dmp_claim *out,
					  const char *value, size_t len,
					  uint64_t now);

#endif /* DMP_CLAIM_H */
