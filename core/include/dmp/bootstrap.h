/*
 * core/include/dmp/bootstrap.h - signed bootstrap record (PROTOCOL.md 2.7),
 * published at `_dmp.<user_domain>` by the zone operator: the user
 * domain's clusters in preference order, each with its operator key.
 */
#ifndef DMP_BOOTSTRAP_H
#define DMP_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/dnsname.h"

#define DMP_BOOTSTRAP_MAGIC "DMPBS01"
#define DMP_BOOTSTRAP_MAX_ENTRIES 16

struct dmp_bootstrap_entry {
	uint16_t priority; /* lower is preferred (as SMTP MX) */
	/* DNS name (3.3) of the cluster base; parse drops a trailing dot. */
	char base[DMP_DNSNAME_MAX + 2];
	uint8_t operator_spk[DMP_ED25519_PK_BYTES]; /* pins cluster.<base> */
};

struct dmp_bootstrap {
	uint64_t seq;
	uint64_t exp;
	uint8_t signer_spk[DMP_ED25519_PK_BYTES];
	char user_domain[DMP_DNSNAME_MAX + 2];
	size_t entry_count; /* 1..16 */
	struct dmp_bootstrap_entry entries[DMP_BOOTSTRAP_MAX_ENTRIES];
};

/**
 * Build and sign a bootstrap record: `v=dmp1;t=bootstrap;` plus
 * base64(body || sig), at most DMP_RECORD_WIRE_MAX bytes.
 *
 * Entries are encoded stably sorted by priority (ties keep their order);
 * @p b itself is not modified. (priority, lower-cased base) pairs must be
 * unique. @p b->signer_spk must be the public half of @p sk.
 *
 * @param out  receives the value and a NUL (DMP_RECORD_WIRE_MAX + 1 bytes
 *             always suffice)
 * @return wire length, DMP_EINVAL, DMP_EBADNAME, DMP_EBADKEY, DMP_ETOOBIG
 *         or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_bootstrap_sign(char *out, size_t cap,
				      const struct dmp_bootstrap *b,
				      const uint8_t sk[DMP_ED25519_SK_BYTES]);

/**
 * Parse and verify a bootstrap TXT value (PROTOCOL.md 1.5, 2.7).
 *
 * Signature against @p pinned_spk first, then the strict body parse, the
 * embedded signer_spk must equal @p pinned_spk, user_domain must equal
 * @p user_domain (case-insensitive, one trailing dot ignored), and
 * now <= exp <= now + 5 years. Entries come back stably sorted by
 * priority, so entries[0] is preferred.
 *
 * @param out  filled on success, zeroed on failure
 * @return 0, DMP_EPREFIX, DMP_ETOOBIG, DMP_EBASE64, DMP_EMALFORMED,
 *         DMP_EBADKEY, DMP_EBADSIG, DMP_EBADNAME, DMP_EEXPIRED,
 *         DMP_EFUTURE or DMP_EINVAL
 */
DMP_MUST_CHECK int
dmp_bootstrap_parse(struct dmp_bootstrap *out, const char *wire, size_t len,
		    const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
		    const char *user_domain, size_t domain_len, uint64_t now);

#endif /* DMP_BOOTSTRAP_H */
