/* core/src/wire/manifest.c - slot manifest (PROTOCOL.md 2.2). */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/manifest.h"
#include "dmp/record.h"

#define HASH_BYTES DMP_SHA256_BYTES
/* 2.2: the old hashless blob, 108-byte body + signature. */
#define BLOB_MIN (DMP_MANIFEST_BODY_FIXED + DMP_SIG_BYTES)
#define OFF_TOTAL 80

void dmp_manifest_clear(struct dmp_manifest *m)
{
	if (!m) {
		return;
	}
	dmp_free(m->chunk_hashes);
	memset(m, 0, sizeof(*m));
}

int dmp_manifest_is_expired(const struct dmp_manifest *m, uint64_t now)
{
	return now > m->exp;
}

static int counts_ok(uint32_t k, uint32_t n)
{
	return k >= 1 && k <= n && n <= DMP_MANIFEST_MAX_CHUNKS;
}

int dmp_manifest_body(uint8_t *body, size_t cap, const struct dmp_manifest *m)
{
	struct dmp_wbuf w;

	if (!counts_ok(m->data_chunks, m->total_chunks) ||
	    (m->has_hashes && !m->chunk_hashes)) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, body, cap);
	dmp_wbuf_put(&w, m->msg_id, DMP_MSG_ID_BYTES);	       /* off 0 */
	dmp_wbuf_put(&w, m->sender_spk, DMP_ED25519_PK_BYTES); /* off 16 */
	dmp_wbuf_put(&w, m->recipient_id, DMP_USER_ID_BYTES);  /* off 48 */
	dmp_wbuf_u32(&w, m->total_chunks);		       /* off 80 */
	dmp_wbuf_u32(&w, m->data_chunks);		       /* off 84 */
	dmp_wbuf_u32(&w, m->prekey_id);			       /* off 88 */
	dmp_wbuf_u64(&w, m->ts);			       /* off 92 */
	dmp_wbuf_u64(&w, m->exp);			       /* off 100 */
	if (m->has_hashes) {				       /* off 108 */
		dmp_wbuf_put(&w, m->chunk_hashes,
			     (size_t)m->total_chunks * HASH_BYTES);
	}
	return dmp_wbuf_result(&w, DMP_ENOBUFS);
}

int dmp_manifest_sign_encode(char *out, size_t cap,
			     const struct dmp_manifest *m,
			     const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	uint8_t *blob = NULL;
	size_t blob_cap;
	int rc;

	/* 2.2 and 10.14: never emit the hashless layout. */
	if (!m->has_hashes || !m->chunk_hashes ||
	    !counts_ok(m->data_chunks, m->total_chunks)) {
		rc = DMP_EINVAL;
		goto out;
	}
	if (!dmp_record_sk_is(sk, m->sender_spk) ||
	    dmp_ed25519_is_low_order(m->sender_spk)) {
		rc = DMP_EBADKEY;
		goto out;
	}
	/* Up to 32 KiB at n = 1024: too much for the stack. */
	blob_cap = DMP_MANIFEST_BODY_FIXED +
		   (size_t)m->total_chunks * HASH_BYTES + DMP_SIG_BYTES;
	blob = dmp_malloc(blob_cap);
	if (!blob) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = dmp_manifest_body(blob, blob_cap - DMP_SIG_BYTES, m);
	if (rc < 0) {
		goto out;
	}
	dmp_sign(blob + rc, blob, (size_t)rc, sk);
	rc = dmp_record_encode(out, cap, DMP_PREFIX_MANIFEST, blob,
			       (size_t)rc + DMP_SIG_BYTES, 0);
out:
	dmp_free(blob);
	return rc;
}

int dmp_manifest_parse_verify(struct dmp_manifest *out, const char *value,
			      size_t len, uint64_t now)
{
	const size_t plen = sizeof(DMP_PREFIX_MANIFEST) - 1;
	const size_t wire_max = DMP_MANIFEST_WIRE_LEN(DMP_MANIFEST_MAX_CHUNKS);
	struct dmp_manifest m;
	struct dmp_rbuf r;
	uint8_t *blob = NULL;
	size_t blob_cap, blob_len, body_len;
	uint64_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	/* Prefix and cap before allocating anything for the blob. */
	if (!value || len < plen ||
	    memcmp(value, DMP_PREFIX_MANIFEST, plen) != 0) {
		rc = DMP_EPREFIX;
		goto out;
	}
	if (len > wire_max) {
		rc = DMP_ETOOBIG;
		goto out;
	}
	blob_cap = (len - plen) / 4 * 3 + 3;
	blob = dmp_malloc(blob_cap);
	if (!blob) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = dmp_record_decode(blob, blob_cap, &blob_len, value, len,
			       DMP_PREFIX_MANIFEST, wire_max, BLOB_MIN);
	if (rc < 0) {
		goto out;
	}

	/* 2.2: n is read before verifying and fixes the only legal lengths. */
	rc = DMP_EMALFORMED;
	n = dmp_load_u32(blob + OFF_TOTAL);
	if (n > DMP_MANIFEST_MAX_CHUNKS) {
		goto out;
	}
	if (blob_len == BLOB_MIN) {
		m.has_hashes = 0;
	} else if (blob_len == BLOB_MIN + n * HASH_BYTES && n > 0) {
		m.has_hashes = 1;
	} else {
		goto out;
	}
	body_len = blob_len - DMP_SIG_BYTES;

	dmp_rbuf_init(&r, blob, body_len);
	dmp_rbuf_copy(&r, m.msg_id, DMP_MSG_ID_BYTES);
	dmp_rbuf_copy(&r, m.sender_spk, DMP_ED25519_PK_BYTES);
	dmp_rbuf_copy(&r, m.recipient_id, DMP_USER_ID_BYTES);
	m.total_chunks = dmp_rbuf_u32(&r);
	m.data_chunks = dmp_rbuf_u32(&r);
	m.prekey_id = dmp_rbuf_u32(&r);
	m.ts = dmp_rbuf_u64(&r);
	m.exp = dmp_rbuf_u64(&r);
	if (dmp_rbuf_error(&r) || !counts_ok(m.data_chunks, m.total_chunks)) {
		goto out;
	}

	rc = dmp_verify(blob + body_len, blob, body_len, m.sender_spk);
	if (rc < 0) {
		goto out;
	}
	/* 6.2: only the far-future bound here; callers apply now > exp. */
	if (m.exp > now && m.exp - now > DMP_30_DAYS) {
		rc = DMP_EFUTURE;
		goto out;
	}

	if (m.has_hashes) {
		size_t hlen = (size_t)m.total_chunks * HASH_BYTES;

		m.chunk_hashes = dmp_malloc(hlen);
		if (!m.chunk_hashes) {
			rc = DMP_ENOMEM;
			goto out;
		}
		dmp_rbuf_copy(&r, m.chunk_hashes, hlen);
	}
	if (dmp_rbuf_finish(&r) < 0) {
		dmp_manifest_clear(&m);
		rc = DMP_EMALFORMED;
		goto out;
	}
	*out = m;
	rc = 0;
out:
	dmp_free(blob);
	return rc;
}
