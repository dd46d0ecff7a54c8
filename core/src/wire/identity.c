/* core/src/wire/identity.c - identity record (PROTOCOL.md 2.3). */
#include <stddef.h>
#include <string.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/record.h"
#include "signed_i.h"
#include "dmp/text.h"

/* name_len + 1-byte username + x25519_pk + ed25519_spk + ts. */
#define BODY_MIN (1 + 1 + DMP_X25519_BYTES + DMP_ED25519_PK_BYTES + 8)

/* 2.3: strictly ascending, so sorted with no repeats, and not empty. */
static int versions_ok(const uint8_t *v, size_t n)
{
	if (n == 0 || n > DMP_IDENTITY_VERSIONS_MAX) {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if (v[i] <= v[i - 1]) {
			return 0;
		}
	}
	return 1;
}

/*
 * A NUL would be legal UTF-8 (the reference accepts it), but a C caller
 * treating the username as a string would then see a different name than
 * the one signed, so it is refused on both sides.
 */
static int username_ok(const char *u, size_t len)
{
	return len >= 1 && len <= DMP_IDENTITY_USERNAME_MAX &&
	       memchr(u, '\0', len) == NULL &&
	       dmp_utf8_valid((const uint8_t *)u, len);
}

int dmp_identity_body(uint8_t *body, size_t cap,
		      const struct dmp_identity_record *rec)
{
	struct dmp_wbuf w;

	if (!username_ok(rec->username, rec->username_len) ||
	    !versions_ok(rec->versions, rec->n_versions)) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, body, cap);
	dmp_wbuf_u8(&w, (uint8_t)rec->username_len);
	dmp_wbuf_put(&w, rec->username, rec->username_len);
	dmp_wbuf_put(&w, rec->x25519_pk, DMP_X25519_BYTES);
	dmp_wbuf_put(&w, rec->ed25519_spk, DMP_ED25519_PK_BYTES);
	dmp_wbuf_u64(&w, rec->ts);
	/* Omit {1}: old parsers require the exact v1 length (2.3). */
	if (!(rec->n_versions == 1 && rec->versions[0] == 1)) {
		dmp_wbuf_u8(&w, (uint8_t)rec->n_versions);
		dmp_wbuf_put(&w, rec->versions, rec->n_versions);
	}
	return dmp_wbuf_result(&w, DMP_ENOBUFS);
}

int dmp_identity_sign_encode(char *out, size_t cap,
			     const struct dmp_identity_record *rec,
			     const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	uint8_t body[DMP_IDENTITY_BODY_MAX];
	int len = dmp_identity_body(body, sizeof(body), rec);

	return dmp_signed_sign_user(out, cap, DMP_PREFIX_IDENTITY, body, len,
				    sk, rec->ed25519_spk, 0);
}

static int ascii_case_equal(const char *a, size_t alen, const char *b,
			    size_t blen)
{
	if (alen != blen) {
		return 0;
	}
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z') {
			x = (char)(x - 'A' + 'a');
		}
		if (y >= 'A' && y <= 'Z') {
			y = (char)(y - 'A' + 'a');
		}
		if (x != y) {
			return 0;
		}
	}
	return 1;
}

/* 2.3 body, strictly. */
static int parse_body(void *out, const uint8_t *body, size_t len,
		      unsigned flags)
{
	struct dmp_identity_record *rec = out;
	struct dmp_rbuf r;
	const uint8_t *p;
	size_t ulen;

	(void)flags;
	dmp_rbuf_init(&r, body, len);
	ulen = dmp_rbuf_u8(&r);
	p = dmp_rbuf_take(&r, ulen);
	if (!p || !username_ok((const char *)p, ulen)) {
		return DMP_EMALFORMED;
	}
	memcpy(rec->username, p, ulen);
	rec->username[ulen] = '\0';
	rec->username_len = ulen;
	dmp_rbuf_copy(&r, rec->x25519_pk, DMP_X25519_BYTES);
	dmp_rbuf_copy(&r, rec->ed25519_spk, DMP_ED25519_PK_BYTES);
	rec->ts = dmp_rbuf_u64(&r);
	if (dmp_rbuf_error(&r)) {
		return DMP_EMALFORMED;
	}
	if (dmp_rbuf_left(&r) == 0) {
		rec->versions[0] = 1; /* no suffix means {1} */
		rec->n_versions = 1;
	} else {
		size_t n = dmp_rbuf_u8(&r);

		p = dmp_rbuf_take(&r, n);
		if (!p || !versions_ok(p, n)) {
			return DMP_EMALFORMED;
		}
		memcpy(rec->versions, p, n);
		rec->n_versions = n;
	}
	return dmp_rbuf_finish(&r) < 0 ? DMP_EMALFORMED : 0;
}

/* 1.5 step 6: signed by the key in the body; low-order refused. */
static const struct dmp_signed_type identity_type = {
    .prefix = DMP_PREFIX_IDENTITY,
    .rec_size = sizeof(struct dmp_identity_record),
    .min_body = BODY_MIN,
    .max_wire = DMP_IDENTITY_WIRE_MAX,
    .blob_max = DMP_IDENTITY_BODY_MAX + DMP_SIG_BYTES,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_identity_record, ed25519_spk)},
    .parse = parse_body,
};

int dmp_identity_parse_verify(struct dmp_identity_record *out,
			      const char *value, size_t len,
			      const char *expected_user, size_t expected_len)
{
	int rc = dmp_signed_parse(out, &identity_type, value, len, NULL, 0);

	/* 3.1 zone-anchored form: the body must name the address's user. */
	if (rc == 0 && expected_user &&
	    !ascii_case_equal(out->username, out->username_len, expected_user,
			      expected_len)) {
		memset(out, 0, sizeof(*out));
		rc = DMP_EBADNAME;
	}
	return rc;
}

int dmp_identity_has_version(const struct dmp_identity_record *rec, uint8_t v)
{
	for (size_t i = 0; i < rec->n_versions && i < DMP_IDENTITY_VERSIONS_MAX;
	     i++) {
		if (rec->versions[i] == v) {
			return 1;
		}
	}
	return 0;
}
