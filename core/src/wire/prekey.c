/* core/src/wire/prekey.c - prekey record (PROTOCOL.md 2.4). */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/prekey.h"
#include "dmp/record.h"

#define BLOB_BYTES (DMP_PREKEY_BODY_BYTES + DMP_SIG_BYTES)

int dmp_prekey_body(uint8_t body[DMP_PREKEY_BODY_BYTES],
		    const struct dmp_prekey *pk)
{
	struct dmp_wbuf w;

	if (pk->prekey_id == 0) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, body, DMP_PREKEY_BODY_BYTES);
	dmp_wbuf_u32(&w, pk->prekey_id);		   /* off 0 */
	dmp_wbuf_put(&w, pk->x25519_pk, DMP_X25519_BYTES); /* off 4 */
	dmp_wbuf_u64(&w, pk->exp);			   /* off 36 */
	return dmp_wbuf_error(&w) ? DMP_EINTERNAL : (int)w.len;
}

int dmp_prekey_sign_encode(char *out, size_t cap, const struct dmp_prekey *pk,
			   const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	uint8_t body[DMP_PREKEY_BODY_BYTES];
	int rc;

	rc = dmp_prekey_body(body, pk);
	if (rc < 0) {
		return rc;
	}
	return dmp_record_sign_encode(out, cap, DMP_PREFIX_PREKEY, body,
				      sizeof(body), sk, DMP_PREKEY_WIRE_LEN);
}

int dmp_prekey_parse_verify(struct dmp_prekey *out, const char *value,
			    size_t len,
			    const uint8_t owner_spk[DMP_ED25519_PK_BYTES],
			    uint64_t now)
{
	uint8_t blob[BLOB_BYTES];
	struct dmp_prekey pk;
	struct dmp_rbuf r;
	size_t blob_len;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&pk, 0, sizeof(pk));
	rc = dmp_record_decode(blob, sizeof(blob), &blob_len, value, len,
			       DMP_PREFIX_PREKEY, DMP_PREKEY_WIRE_LEN,
			       BLOB_BYTES);
	if (rc < 0) {
		goto out;
	}
	/* 1.5 step 6: the fixed body is split off and checked against the
	 * pinned owner key before any field is trusted. */
	rc = dmp_verify(blob + DMP_PREKEY_BODY_BYTES, blob,
			DMP_PREKEY_BODY_BYTES, owner_spk);
	if (rc < 0) {
		goto out;
	}
	dmp_rbuf_init(&r, blob, DMP_PREKEY_BODY_BYTES);
	pk.prekey_id = dmp_rbuf_u32(&r);
	dmp_rbuf_copy(&r, pk.x25519_pk, DMP_X25519_BYTES);
	pk.exp = dmp_rbuf_u64(&r);
	if (dmp_rbuf_finish(&r) < 0 || pk.prekey_id == 0) {
		rc = DMP_EMALFORMED;
		goto out;
	}
	/* 6.2: far-future bound only; the caller drops now > exp. */
	if (pk.exp > now && pk.exp - now > DMP_30_DAYS) {
		rc = DMP_EFUTURE;
		goto out;
	}
	*out = pk;
	rc = 0;
out:
	return rc;
}

int dmp_prekey_is_expired(const struct dmp_prekey *pk, uint64_t now)
{
	return now > pk->exp;
}
