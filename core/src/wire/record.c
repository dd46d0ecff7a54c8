/* core/src/wire/record.c - prefix, cap, base64 and signature framing. */
#include <string.h>
#include <strings.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"

static const struct {
	const char *prefix;
	enum dmp_record_type type;
} prefixes[] = {
    {DMP_PREFIX_CHUNK, DMP_REC_CHUNK},
    {DMP_PREFIX_MANIFEST, DMP_REC_MANIFEST},
    {DMP_PREFIX_IDENTITY, DMP_REC_IDENTITY},
    {DMP_PREFIX_PREKEY, DMP_REC_PREKEY},
    {DMP_PREFIX_CLAIM, DMP_REC_CLAIM},
    {DMP_PREFIX_CLUSTER, DMP_REC_CLUSTER},
    {DMP_PREFIX_BOOTSTRAP, DMP_REC_BOOTSTRAP},
    {DMP_PREFIX_HEARTBEAT, DMP_REC_HEARTBEAT},
    {DMP_PREFIX_ROTATION, DMP_REC_ROTATION},
    {DMP_PREFIX_REVOCATION, DMP_REC_REVOCATION},
};

static int has_prefix(const char *value, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && memcmp(value, prefix, plen) == 0;
}

enum dmp_record_type dmp_record_type_of(const char *value, size_t len)
{
	for (size_t i = 0; i < DMP_ARRAY_LEN(prefixes); i++) {
		if (has_prefix(value, len, prefixes[i].prefix)) {
			return prefixes[i].type;
		}
	}
	return DMP_REC_UNKNOWN;
}

int dmp_record_encode(char *out, size_t cap, const char *prefix,
		      const uint8_t *blob, size_t blob_len, size_t max_wire)
{
	size_t plen = strlen(prefix);
	size_t total = plen + DMP_B64_LEN(blob_len);
	int rc;

	if (max_wire && total > max_wire) {
		return DMP_ETOOBIG;
	}
	if (cap < total + 1) {
		return DMP_ENOBUFS;
	}
	memcpy(out, prefix, plen);
	rc = dmp_b64_encode(out + plen, cap - plen, blob, blob_len);
	if (rc < 0) {
		return rc;
	}
	return (int)total;
}

int dmp_record_sign_encode(char *out, size_t cap, const char *prefix,
			   const uint8_t *body, size_t body_len,
			   const uint8_t sk[DMP_ED25519_SK_BYTES],
			   size_t max_wire)
{
	uint8_t blob[4096];

	/* Every signed record type is far below this; chunks are unsigned. */
	if (body_len > sizeof(blob) - DMP_SIG_BYTES) {
		return DMP_ETOOBIG;
	}
	memcpy(blob, body, body_len);
	dmp_sign(blob + body_len, body, body_len, sk);
	return dmp_record_encode(out, cap, prefix, blob,
				 body_len + DMP_SIG_BYTES, max_wire);
}

int dmp_record_decode(uint8_t *blob, size_t cap, size_t *blob_len,
		      const char *value, size_t len, const char *prefix,
		      size_t max_wire, size_t min_blob)
{
	size_t plen = strlen(prefix);
	int rc;

	*blob_len = 0;
	if (!value || !has_prefix(value, len, prefix)) {
		return DMP_EPREFIX;
	}
	if (max_wire && len > max_wire) {
		return DMP_ETOOBIG;
	}
	rc = dmp_b64_decode(blob, cap, blob_len, value + plen, len - plen);
	if (rc == DMP_ENOBUFS) {
		return DMP_ETOOBIG;
	}
	if (rc < 0) {
		return rc;
	}
	if (*blob_len < min_blob) {
		*blob_len = 0;
		return DMP_EMALFORMED;
	}
	return 0;
}

int dmp_record_decode_pinned(uint8_t *blob, size_t cap, size_t *body_len,
			     const char *value, size_t len, const char *prefix,
			     size_t max_wire, size_t min_body,
			     const uint8_t pinned_spk[DMP_ED25519_PK_BYTES])
{
	size_t blob_len;
	int rc;

	*body_len = 0;
	rc = dmp_record_decode(blob, cap, &blob_len, value, len, prefix,
			       max_wire, min_body + DMP_SIG_BYTES);
	if (rc < 0) {
		return rc;
	}
	rc = dmp_verify(blob + blob_len - DMP_SIG_BYTES, blob,
			blob_len - DMP_SIG_BYTES, pinned_spk);
	if (rc < 0) {
		return rc;
	}
	*body_len = blob_len - DMP_SIG_BYTES;
	return 0;
}

int dmp_record_check_exp(uint64_t exp, uint64_t now, uint64_t ahead)
{
	if (exp < now) {
		return DMP_EEXPIRED;
	}
	if (exp - now > ahead) {
		return DMP_EFUTURE;
	}
	return 0;
}

int dmp_record_sk_is(const uint8_t sk[DMP_ED25519_SK_BYTES],
		     const uint8_t pk[DMP_ED25519_PK_BYTES])
{
	/* libsodium's secret key is seed || public key. */
	return memcmp(sk + DMP_ED25519_SEED_BYTES, pk, DMP_ED25519_PK_BYTES) ==
	       0;
}

static size_t strip_dot(const char *s, size_t len)
{
	return len && s[len - 1] == '.' ? len - 1 : len;
}

int dmp_name_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	alen = strip_dot(a, alen);
	blen = strip_dot(b, blen);
	return alen == blen && strncasecmp(a, b, alen) == 0;
}
