/* core/src/wire/claim.c - claim record (PROTOCOL.md 2.5). */
#include <stddef.h>
#include <string.h>

#include "dmp/text.h"
#include "dmp/buf.h"
#include "dmp/claim.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/identity.h"
#include "dmp/names.h"
#include "dmp/record.h"
#include "signed_i.h"

#define MAGIC "DMPCL01"
#define MAGIC_LEN 7
/* magic, msg_id, spk, dom_len, 1-byte domain, slot, ts, exp. */
#define BODY_MIN                                                               \
	(MAGIC_LEN + DMP_MSG_ID_BYTES + DMP_ED25519_PK_BYTES + 1 + 1 + 1 + 8 + \
	 8)
/* The reference keeps ts and exp in int64. */
#define TIME_LIMIT (UINT64_C(1) << 63)

/* 2.5: 1..43 bytes of UTF-8, nothing <= 0x20, no DEL. */
static int domain_ok(const char *d, size_t len)
{
	if (len < 1 || len > DMP_CLAIM_DOMAIN_MAX) {
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c <= 0x20 || c == 0x7f) {
			return 0;
		}
	}
	return dmp_utf8_valid((const uint8_t *)d, len);
}

static int fields_ok(const struct dmp_claim *c)
{
	return domain_ok(c->sender_mailbox_domain, c->domain_len) &&
	       c->slot < DMP_SLOT_COUNT && c->ts < TIME_LIMIT &&
	       c->exp < TIME_LIMIT && c->exp > c->ts;
}

int dmp_claim_body(uint8_t *body, size_t cap, const struct dmp_claim *c)
{
	struct dmp_wbuf w;

	if (!fields_ok(c)) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, body, cap);
	dmp_wbuf_put(&w, MAGIC, MAGIC_LEN);		       /* off 0 */
	dmp_wbuf_put(&w, c->msg_id, DMP_MSG_ID_BYTES);	       /* off 7 */
	dmp_wbuf_put(&w, c->sender_spk, DMP_ED25519_PK_BYTES); /* off 23 */
	dmp_wbuf_u8(&w, (uint8_t)c->domain_len);	       /* off 55 */
	dmp_wbuf_put(&w, c->sender_mailbox_domain, c->domain_len);
	dmp_wbuf_u8(&w, c->slot);
	dmp_wbuf_u64(&w, c->ts);
	dmp_wbuf_u64(&w, c->exp);
	return dmp_wbuf_result(&w, DMP_ENOBUFS);
}

int dmp_claim_sign_encode(char *out, size_t cap, const struct dmp_claim *c,
			  const uint8_t sk[DMP_ED25519_SK_BYTES])
{
	uint8_t body[DMP_CLAIM_BODY_MAX];
	int len = dmp_claim_body(body, sizeof(body), c);

	/* 1.4: the 255-byte cap is checked on sign as well as on parse. */
	return dmp_signed_sign_user(out, cap, DMP_PREFIX_CLAIM, body, len, sk,
				    c->sender_spk, DMP_CLAIM_WIRE_MAX);
}

static int parse_body(void *rec, const uint8_t *body, size_t len,
		      unsigned flags)
{
	struct dmp_claim *c = rec;
	struct dmp_rbuf r;
	const uint8_t *p;

	(void)flags;
	dmp_rbuf_init(&r, body, len);
	if (!dmp_rbuf_magic(&r, MAGIC, MAGIC_LEN)) {
		return DMP_EMALFORMED;
	}
	dmp_rbuf_copy(&r, c->msg_id, DMP_MSG_ID_BYTES);
	dmp_rbuf_copy(&r, c->sender_spk, DMP_ED25519_PK_BYTES);
	c->domain_len = dmp_rbuf_u8(&r);
	p = dmp_rbuf_take(&r, c->domain_len);
	if (!p || c->domain_len > DMP_CLAIM_DOMAIN_MAX) {
		return DMP_EMALFORMED;
	}
	memcpy(c->sender_mailbox_domain, p, c->domain_len);
	c->sender_mailbox_domain[c->domain_len] = '\0';
	c->slot = dmp_rbuf_u8(&r);
	c->ts = dmp_rbuf_u64(&r);
	c->exp = dmp_rbuf_u64(&r);
	/* Every check sign makes is repeated here (1.5). */
	if (dmp_rbuf_finish(&r) < 0 || !fields_ok(c)) {
		return DMP_EMALFORMED;
	}
	return 0;
}

static const struct dmp_signed_type claim_type = {
    .prefix = DMP_PREFIX_CLAIM,
    .rec_size = sizeof(struct dmp_claim),
    .min_body = BODY_MIN,
    .max_wire = DMP_CLAIM_WIRE_MAX,
    .blob_max = DMP_CLAIM_BODY_MAX + DMP_SIG_BYTES,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_claim, sender_spk)},
    .parse = parse_body,
};

int dmp_claim_parse_verify(struct dmp_claim *out, const char *value, size_t len,
			   uint64_t now)
{
	int rc = dmp_signed_parse(out, &claim_type, value, len, NULL, 0);

	/* 2.5 / 6.2, each comparison exactly as the reference makes it. */
	if (rc == 0) {
		rc = dmp_signed_check_window(out->ts, out->exp, now, 0);
	}
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
