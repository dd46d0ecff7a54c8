/* core/src/wire/signed.c - the framing signed records share (signed_i.h). */
#include <string.h>

#include "dmp/err.h"
#include "dmp/record.h"
#include "signed_i.h"

static const uint8_t *signer(const struct dmp_signed_type *t, const void *rec,
			     size_t i)
{
	return (const uint8_t *)rec + t->spk_off[i];
}

int dmp_signed_body_parse(void *rec, const struct dmp_signed_type *t,
			  const uint8_t *body, size_t len, unsigned flags)
{
	int rc;

	memset(rec, 0, t->rec_size);
	rc = t->parse(rec, body, len, flags);
	if (rc != 0) {
		memset(rec, 0, t->rec_size);
	}
	return rc;
}

int dmp_signed_sign(char *out, size_t cap, const struct dmp_signed_type *t,
		    const void *rec,
		    const uint8_t *const sk[DMP_SIGNED_MAX_SIGS],
		    unsigned flags)
{
	uint8_t blob[DMP_SIGNED_BODY_MAX + DMP_SIGNED_MAX_SIGS * DMP_SIG_BYTES];
	int n;

	if (cap) {
		out[0] = '\0';
	}
	for (size_t i = 0; i < t->nsig; i++) {
		if (!dmp_record_sk_is(sk[i], signer(t, rec, i))) {
			return DMP_EBADKEY;
		}
	}
	n = t->encode(blob, t->body_max, rec, flags);
	if (n < 0) {
		return n;
	}
	/* Every signature is over the body alone (2.9 for rotation). */
	for (size_t i = 0; i < t->nsig; i++) {
		dmp_sign(blob + n + i * DMP_SIG_BYTES, blob, (size_t)n, sk[i]);
	}
	return dmp_record_encode(out, cap, t->prefix, blob,
				 (size_t)n + t->nsig * DMP_SIG_BYTES,
				 DMP_RECORD_WIRE_MAX);
}

int dmp_signed_sign1(char *out, size_t cap, const struct dmp_signed_type *t,
		     const void *rec, const uint8_t sk[DMP_ED25519_SK_BYTES],
		     unsigned flags)
{
	const uint8_t *keys[DMP_SIGNED_MAX_SIGS] = {sk};

	return dmp_signed_sign(out, cap, t, rec, keys, flags);
}

int dmp_signed_sign_user(char *out, size_t cap, const char *prefix,
			 const uint8_t *body, int body_len,
			 const uint8_t sk[DMP_ED25519_SK_BYTES],
			 const uint8_t spk[DMP_ED25519_PK_BYTES],
			 size_t max_wire)
{
	if (body_len < 0) {
		return body_len;
	}
	if (!dmp_record_sk_is(sk, spk) || dmp_ed25519_is_low_order(spk)) {
		return DMP_EBADKEY;
	}
	return dmp_record_sign_encode(out, cap, prefix, body, (size_t)body_len,
				      sk, max_wire);
}

int dmp_signed_parse(void *rec, const struct dmp_signed_type *t,
		     const char *wire, size_t len,
		     const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
		     unsigned flags)
{
	uint8_t blob[DMP_RECORD_WIRE_MAX];
	size_t max_wire = t->max_wire ? t->max_wire : DMP_RECORD_WIRE_MAX;
	size_t cap = t->blob_max ? t->blob_max : sizeof(blob);
	size_t blob_len, body_len;
	int rc;

	memset(rec, 0, t->rec_size);
	if (pinned_spk) {
		/* 1.2: the pinned key is the trust anchor; verify first. */
		rc = dmp_record_decode_pinned(blob, cap, &body_len, wire, len,
					      t->prefix, max_wire, t->min_body,
					      pinned_spk);
	} else {
		rc = dmp_record_decode(blob, cap, &blob_len, wire, len,
				       t->prefix, max_wire,
				       t->min_body + t->nsig * DMP_SIG_BYTES);
		body_len = blob_len - t->nsig * DMP_SIG_BYTES;
	}
	if (rc < 0) {
		goto out;
	}
	/* Otherwise the signers are inside the body (1.2): parse first. */
	rc = t->parse(rec, blob, body_len, flags);
	if (rc < 0) {
		goto out;
	}
	if (pinned_spk) {
		if (memcmp(signer(t, rec, 0), pinned_spk,
			   DMP_ED25519_PK_BYTES) != 0) {
			rc = DMP_EBADKEY;
		}
		goto out;
	}
	/* Either signature of a rotation alone proves nothing (2.9). */
	for (size_t i = 0; i < t->nsig && rc == 0; i++) {
		rc = dmp_verify(blob + body_len + i * DMP_SIG_BYTES, blob,
				body_len, signer(t, rec, i));
	}
out:
	if (rc != 0) {
		memset(rec, 0, t->rec_size);
	}
	return rc;
}

int dmp_signed_parse_pinned(void *rec, const struct dmp_signed_type *t,
			    const char *wire, size_t len,
			    const uint8_t pinned_spk[DMP_ED25519_PK_BYTES],
			    const char *name, size_t name_len, uint64_t now)
{
	const char *rname = (const char *)rec + t->name_off;
	uint64_t exp;
	int rc;

	memset(rec, 0, t->rec_size);
	if (!pinned_spk || !name) {
		return DMP_EINVAL;
	}
	rc = dmp_signed_parse(rec, t, wire, len, pinned_spk, 0);
	if (rc < 0) {
		return rc;
	}
	memcpy(&exp, (const uint8_t *)rec + t->exp_off, sizeof(exp));
	if (!dmp_name_equal(rname, strlen(rname), name, name_len)) {
		rc = DMP_EBADNAME;
	} else {
		/* 6.2: expired when exp < now; too far ahead past 5 years. */
		rc = dmp_record_check_exp(exp, now, DMP_5_YEARS);
	}
	if (rc != 0) {
		memset(rec, 0, t->rec_size);
	}
	return rc;
}

int dmp_signed_check_window(uint64_t ts, uint64_t exp, uint64_t now,
			    int past_skew)
{
	if (ts > now && ts - now > DMP_CLOCK_SKEW) {
		return DMP_EFUTURE;
	}
	if (past_skew && ts < now && now - ts > DMP_CLOCK_SKEW) {
		return DMP_EEXPIRED;
	}
	if (exp <= now) {
		return DMP_EEXPIRED;
	}
	return exp - now > DMP_30_DAYS ? DMP_EFUTURE : 0;
}
