/* core/src/wire/rotation.c - rotation and revocation (PROTOCOL.md 2.9-10). */
#include <stddef.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/rotation.h"
#include "dmp/text.h"
#include "rotation_i.h"
#include "signed_i.h"

#define MAGIC_LEN 7
/* A user@host host is bounded only by DNS itself (RFC 1035 2.3.4). */
#define USER_HOST_MAX 253

static size_t subject_cap(uint8_t type)
{
	return type == DMP_SUBJECT_USER ? DMP_SUBJECT_MAX
					: DMP_SUBJECT_NAME_MAX;
}

int dmp_subject_check(uint8_t type, const char *subject, size_t len)
{
	const uint8_t *s = (const uint8_t *)subject;
	const char *at;
	size_t ul;
	int blank = 1;

	if (type < DMP_SUBJECT_USER || type > DMP_SUBJECT_BOOTSTRAP) {
		return DMP_EINVAL;
	}
	if (!subject || len == 0 || len > subject_cap(type) ||
	    !dmp_utf8_valid(s, len)) {
		return DMP_EBADNAME;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			return DMP_EBADNAME;
		}
	}
	if (type != DMP_SUBJECT_USER) {
		return dmp_dnsname_normalize(NULL, 0, subject, len) < 0
			   ? DMP_EBADNAME
			   : 0;
	}
	/* 2.9 type 1: "user@host", split at the first '@'. */
	at = memchr(subject, '@', len);
	if (!at) {
		return DMP_EBADNAME;
	}
	ul = (size_t)(at - subject);
	for (size_t i = 0; i < ul; i++) {
		blank &= subject[i] == ' ';
	}
	if (blank || dmp_dnsname_normalize_max(NULL, 0, at + 1, len - ul - 1,
					       USER_HOST_MAX) < 0) {
		return DMP_EBADNAME;
	}
	return 0;
}

static void trim_spaces(const char **s, size_t *len)
{
	while (*len && (*s)[0] == ' ') {
		(*s)++;
		(*len)--;
	}
	while (*len && (*s)[*len - 1] == ' ') {
		(*len)--;
	}
}

int dmp_subject_equal(uint8_t type, const char *a, size_t alen, const char *b,
		      size_t blen)
{
	const char *at_a, *at_b;
	size_t ua, ub;

	if (type != DMP_SUBJECT_USER) {
		return dmp_name_equal(a, alen, b, blen);
	}
	at_a = memchr(a, '@', alen);
	at_b = memchr(b, '@', blen);
	if (!at_a || !at_b) {
		return alen == blen && memcmp(a, b, alen) == 0;
	}
	/* Users keep their case; the host is a DNS name. */
	ua = (size_t)(at_a - a);
	ub = (size_t)(at_b - b);
	if (!dmp_name_equal(at_a + 1, alen - ua - 1, at_b + 1, blen - ub - 1)) {
		return 0;
	}
	trim_spaces(&a, &ua);
	trim_spaces(&b, &ub);
	return ua == ub && memcmp(a, b, ua) == 0;
}

/* Reads subject_type, subject_len and subject; 2.9. */
static int read_subject(struct dmp_rbuf *r, uint8_t *type, char *subject)
{
	const uint8_t *p;
	size_t l;

	*type = dmp_rbuf_u8(r);
	l = dmp_rbuf_u8(r);
	p = dmp_rbuf_take(r, l);
	if (!p || *type < DMP_SUBJECT_USER || *type > DMP_SUBJECT_BOOTSTRAP ||
	    l == 0 || l > subject_cap(*type)) {
		return DMP_EMALFORMED;
	}
	if (dmp_subject_check(*type, (const char *)p, l) != 0) {
		return DMP_EBADNAME;
	}
	memcpy(subject, p, l);
	subject[l] = '\0';
	return 0;
}

static int write_subject(struct dmp_wbuf *w, uint8_t type, const char *subject,
			 size_t size)
{
	size_t l = strnlen(subject, size);
	int rc;

	if (l == size) {
		return DMP_EINVAL;
	}
	rc = dmp_subject_check(type, subject, l);
	if (rc < 0) {
		return rc;
	}
	dmp_wbuf_u8(w, type);
	dmp_wbuf_u8(w, (uint8_t)l);
	dmp_wbuf_put(w, subject, l);
	return 0;
}

/* Magic and subject, the start of both bodies (2.9, 2.10). */
static int read_head(struct dmp_rbuf *r, const uint8_t *body, size_t len,
		     const char *magic, uint8_t *type, char *subject)
{
	dmp_rbuf_init(r, body, len);
	if (!dmp_rbuf_magic(r, magic, MAGIC_LEN)) {
		return DMP_EMALFORMED;
	}
	return read_subject(r, type, subject);
}

/* Magic and subject, checked as on parse. */
static int write_head(struct dmp_wbuf *w, uint8_t *out, size_t cap,
		      const char *magic, uint8_t type, const char *subject,
		      size_t size)
{
	dmp_wbuf_init(w, out, cap);
	dmp_wbuf_put(w, magic, MAGIC_LEN);
	return write_subject(w, type, subject, size);
}

static int parse_rotation(void *rec, const uint8_t *body, size_t len,
			  unsigned flags)
{
	struct dmp_rotation *out = rec;
	struct dmp_rbuf r;
	int rc;

	(void)flags;
	rc = read_head(&r, body, len, DMP_ROTATION_MAGIC, &out->subject_type,
		       out->subject);
	if (rc < 0) {
		return rc;
	}
	rc = DMP_EMALFORMED;
	dmp_rbuf_copy(&r, out->old_spk, sizeof(out->old_spk));
	dmp_rbuf_copy(&r, out->new_spk, sizeof(out->new_spk));
	out->seq = dmp_rbuf_u64(&r);
	out->ts = dmp_rbuf_u64(&r);
	out->exp = dmp_rbuf_u64(&r);
	if (dmp_rbuf_finish(&r) != 0 ||
	    memcmp(out->old_spk, out->new_spk, sizeof(out->old_spk)) == 0) {
		return rc;
	}
	return 0;
}

int dmp_rotation_body_encode(uint8_t *out, size_t cap,
			     const struct dmp_rotation *r)
{
	struct dmp_wbuf w;
	int rc;

	if (memcmp(r->old_spk, r->new_spk, sizeof(r->old_spk)) == 0) {
		return DMP_EINVAL;
	}
	rc = write_head(&w, out, cap, DMP_ROTATION_MAGIC, r->subject_type,
			r->subject, sizeof(r->subject));
	if (rc < 0) {
		return rc;
	}
	dmp_wbuf_put(&w, r->old_spk, sizeof(r->old_spk));
	dmp_wbuf_put(&w, r->new_spk, sizeof(r->new_spk));
	dmp_wbuf_u64(&w, r->seq);
	dmp_wbuf_u64(&w, r->ts);
	dmp_wbuf_u64(&w, r->exp);
	return dmp_wbuf_result(&w, DMP_ETOOBIG);
}

static int parse_revocation(void *rec, const uint8_t *body, size_t len,
			    unsigned flags)
{
	struct dmp_revocation *out = rec;
	struct dmp_rbuf r;
	int rc;

	(void)flags;
	rc = read_head(&r, body, len, DMP_REVOCATION_MAGIC, &out->subject_type,
		       out->subject);
	if (rc < 0) {
		return rc;
	}
	rc = DMP_EMALFORMED;
	dmp_rbuf_copy(&r, out->revoked_spk, sizeof(out->revoked_spk));
	out->reason = dmp_rbuf_u8(&r);
	out->ts = dmp_rbuf_u64(&r);
	if (dmp_rbuf_finish(&r) != 0 || out->reason < DMP_REVOKE_COMPROMISE ||
	    out->reason > DMP_REVOKE_OTHER) {
		return rc;
	}
	return 0;
}

int dmp_revocation_body_encode(uint8_t *out, size_t cap,
			       const struct dmp_revocation *r)
{
	struct dmp_wbuf w;
	int rc;

	if (r->reason < DMP_REVOKE_COMPROMISE || r->reason > DMP_REVOKE_OTHER) {
		return DMP_EINVAL;
	}
	rc = write_head(&w, out, cap, DMP_REVOCATION_MAGIC, r->subject_type,
			r->subject, sizeof(r->subject));
	if (rc < 0) {
		return rc;
	}
	dmp_wbuf_put(&w, r->revoked_spk, sizeof(r->revoked_spk));
	dmp_wbuf_u8(&w, r->reason);
	dmp_wbuf_u64(&w, r->ts);
	return dmp_wbuf_result(&w, DMP_ETOOBIG);
}

/* What the caller expects of a parsed rotation or revocation, if anything. */
static int check_expected(const uint8_t *spk, const uint8_t *expected_spk,
			  uint8_t type, const char *subject,
			  const char *expected_subject, size_t subject_len)
{
	if (expected_spk &&
	    memcmp(spk, expected_spk, DMP_ED25519_PK_BYTES) != 0) {
		return DMP_EBADKEY;
	}
	if (expected_subject &&
	    !dmp_subject_equal(type, subject, strlen(subject), expected_subject,
			       subject_len)) {
		return DMP_EBADNAME;
	}
	return 0;
}

static int encode_rotation(uint8_t *out, size_t cap, const void *rec,
			   unsigned flags)
{
	(void)flags;
	return dmp_rotation_body_encode(out, cap, rec);
}

static int encode_revocation(uint8_t *out, size_t cap, const void *rec,
			     unsigned flags)
{
	(void)flags;
	return dmp_revocation_body_encode(out, cap, rec);
}

/* 2.9: body || sig_old || sig_new, both over the body alone. */
static const struct dmp_signed_type rotation_type = {
    .prefix = DMP_PREFIX_ROTATION,
    .rec_size = sizeof(struct dmp_rotation),
    .body_max = DMP_ROTATION_BODY_MAX,
    .min_body = MAGIC_LEN,
    .nsig = 2,
    .spk_off = {offsetof(struct dmp_rotation, old_spk),
		offsetof(struct dmp_rotation, new_spk)},
    .parse = parse_rotation,
    .encode = encode_rotation,
};

/* 2.10: self-signed by the key it revokes. */
static const struct dmp_signed_type revocation_type = {
    .prefix = DMP_PREFIX_REVOCATION,
    .rec_size = sizeof(struct dmp_revocation),
    .body_max = DMP_ROTATION_BODY_MAX,
    .min_body = MAGIC_LEN,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_revocation, revoked_spk)},
    .parse = parse_revocation,
    .encode = encode_revocation,
};

int dmp_rotation_body_parse(struct dmp_rotation *out, const uint8_t *body,
			    size_t len)
{
	return dmp_signed_body_parse(out, &rotation_type, body, len, 0);
}

int dmp_revocation_body_parse(struct dmp_revocation *out, const uint8_t *body,
			      size_t len)
{
	return dmp_signed_body_parse(out, &revocation_type, body, len, 0);
}

int dmp_rotation_sign(char *out, size_t cap, const struct dmp_rotation *r,
		      const uint8_t old_sk[DMP_ED25519_SK_BYTES],
		      const uint8_t new_sk[DMP_ED25519_SK_BYTES])
{
	const uint8_t *keys[DMP_SIGNED_MAX_SIGS] = {old_sk, new_sk};

	return dmp_signed_sign(out, cap, &rotation_type, r, keys, 0);
}

int dmp_rotation_parse(struct dmp_rotation *out, const char *wire, size_t len,
		       const uint8_t *expected_old_spk,
		       const char *expected_subject, size_t subject_len,
		       uint64_t now)
{
	int rc = dmp_signed_parse(out, &rotation_type, wire, len, NULL, 0);

	if (rc == 0) {
		rc = check_expected(out->old_spk, expected_old_spk,
				    out->subject_type, out->subject,
				    expected_subject, subject_len);
	}
	/* 6.2: exp < now is expired; more than 5 years ahead too. */
	if (rc == 0) {
		rc = dmp_record_check_exp(out->exp, now, DMP_5_YEARS);
	}
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

int dmp_revocation_sign(char *out, size_t cap, const struct dmp_revocation *r,
			const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	return dmp_signed_sign1(out, cap, &revocation_type, r, sk, 0);
}

int dmp_revocation_parse(struct dmp_revocation *out, const char *wire,
			 size_t len, const uint8_t *expected_revoked_spk,
			 const char *expected_subject, size_t subject_len,
			 uint64_t now, uint64_t max_age)
{
	int rc = dmp_signed_parse(out, &revocation_type, wire, len, NULL, 0);

	if (rc == 0) {
		rc = check_expected(out->revoked_spk, expected_revoked_spk,
				    out->subject_type, out->subject,
				    expected_subject, subject_len);
	}
	/* 6.2: ts > now + 300 refused; age only if the caller asks (2.10). */
	if (rc == 0 && out->ts > now && out->ts - now > DMP_CLOCK_SKEW) {
		rc = DMP_EFUTURE;
	} else if (rc == 0 && max_age && now > out->ts &&
		   now - out->ts > max_age) {
		rc = DMP_EEXPIRED;
	}
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
