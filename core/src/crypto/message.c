/* core/src/crypto/message.c - DMPHeader, AAD, EncryptedMessage and
 * DMPMessage (PROTOCOL.md 4.3, 4.4, 10.2). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/message.h"

_Static_assert(DMP_MSG_NONCE_BYTES ==
		   crypto_aead_chacha20poly1305_ietf_NPUBBYTES,
	       "nonce");
_Static_assert(DMP_MSG_TAG_BYTES == crypto_aead_chacha20poly1305_ietf_ABYTES,
	       "tag");
_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32, "key");

#define KEY_BYTES 32

/* 4.4: the five MessageType values, indexed by enum dmp_msg_type. */
static const char *const type_names[] = {
    "DATA", "ACK", "DISCOVERY", "IDENTITY", "MAILBOX",
};

void dmp_header_init(struct dmp_header *h,
		     const uint8_t msg_id[DMP_MSG_ID_BYTES],
		     const uint8_t sender[DMP_USER_ID_BYTES],
		     const uint8_t recipient[DMP_USER_ID_BYTES], int64_t ts,
		     int64_t ttl)
{
	memset(h, 0, sizeof(*h));
	h->v = 1;
	h->type = DMP_MSG_DATA;
	memcpy(h->msg_id, msg_id, DMP_MSG_ID_BYTES);
	memcpy(h->sender, sender, DMP_USER_ID_BYTES);
	memcpy(h->recipient, recipient, DMP_USER_ID_BYTES);
	/* 4.4: the carried header says total 1, chunk 0, and the reference
	 * never overwrites that placeholder. */
	h->total = 1;
	h->chunk = 0;
	h->ts = ts;
	h->ttl = ttl;
}

static int header_write_tc(const struct dmp_header *h, int64_t total,
			   int64_t chunk, char *out, size_t cap)
{
	char mid[2 * DMP_MSG_ID_BYTES + 1];
	char snd[2 * DMP_USER_ID_BYTES + 1], rcp[2 * DMP_USER_ID_BYTES + 1];
	int n;

	if ((unsigned)h->type >= DMP_ARRAY_LEN(type_names)) {
		return DMP_EINVAL;
	}
	dmp_hex_encode(mid, h->msg_id, sizeof(h->msg_id));
	dmp_hex_encode(snd, h->sender, sizeof(h->sender));
	dmp_hex_encode(rcp, h->recipient, sizeof(h->recipient));
	/* 4.4 / 10.2: json.dumps(dict, separators=(',', ':')) of the keys in
	 * insertion order; the AAD is rebuilt from these exact bytes. */
	n = snprintf(out, cap,
		     "{\"v\":%" PRId64 ",\"type\":\"%s\",\"msg_id\":\"%s\","
		     "\"sender\":\"%s\",\"recipient\":\"%s\",\"total\":%" PRId64
		     ",\"chunk\":%" PRId64 ",\"ts\":%" PRId64
		     ",\"ttl\":%" PRId64 "}",
		     h->v, type_names[h->type], mid, snd, rcp, total, chunk,
		     h->ts, h->ttl);
	if (n < 0) {
		return DMP_EINTERNAL;
	}
	if ((size_t)n >= cap) {
		return DMP_ENOBUFS;
	}
	return n;
}

int dmp_header_write(const struct dmp_header *h, char *out, size_t cap)
{
	return header_write_tc(h, h->total, h->chunk, out, cap);
}

int dmp_header_aad(const struct dmp_header *h, uint32_t prekey_id, uint8_t *out,
		   size_t cap)
{
	int n;

	if (cap < 4) {
		return DMP_ENOBUFS;
	}
	/* The JSON goes in with its NUL, which u32be(prekey_id) overwrites. */
	n = header_write_tc(h, 0, 0, (char *)out, cap - 4 + 1);
	if (n < 0) {
		return n;
	}
	dmp_store_u32(out + n, prekey_id);
	return n + 4;
}

/* A non-negative JSON integer (reals and booleans are not integers). */
static int get_int(const json_t *o, const char *key, int64_t *v, int nonneg)
{
	const json_t *j = json_object_get(o, key);

	if (!json_is_integer(j)) {
		return DMP_EBADHEADER;
	}
	*v = (int64_t)json_integer_value(j);
	if (nonneg && *v < 0) {
		return DMP_EBADHEADER;
	}
	return 0;
}

static int get_hex(const json_t *o, const char *key, uint8_t *out, size_t want)
{
	const json_t *j = json_object_get(o, key);

	if (!json_is_string(j) || json_string_length(j) != 2 * want) {
		return DMP_EBADHEADER;
	}
	if (dmp_hex_decode(out, want, json_string_value(j),
			   json_string_length(j)) != 0) {
		return DMP_EBADHEADER;
	}
	return 0;
}

int dmp_header_parse(struct dmp_header *h, const void *json, size_t len)
{
	json_error_t jerr;
	json_t *o = NULL;
	const json_t *t;
	size_t i;
	int rc = DMP_EBADHEADER;

	memset(h, 0, sizeof(*h));
	/* json.loads refuses every NUL byte (raw control characters are
	 * invalid in and out of strings); jansson skips some, so look first. */
	if (len == 0 || memchr(json, '\0', len) != NULL) {
		return DMP_EBADHEADER;
	}
	/* jansson, like json.loads, takes any key order and whitespace, keeps
	 * the last of duplicate keys, and checks UTF-8. */
	o = json_loadb(json, len, 0, &jerr);
	if (!json_is_object(o)) {
		goto out;
	}
	if ((rc = get_int(o, "v", &h->v, 0)) != 0 ||
	    (rc = get_hex(o, "msg_id", h->msg_id, sizeof(h->msg_id))) != 0 ||
	    (rc = get_hex(o, "sender", h->sender, sizeof(h->sender))) != 0 ||
	    (rc = get_hex(o, "recipient", h->recipient,
			  sizeof(h->recipient))) != 0 ||
	    (rc = get_int(o, "total", &h->total, 1)) != 0 ||
	    (rc = get_int(o, "chunk", &h->chunk, 1)) != 0 ||
	    (rc = get_int(o, "ts", &h->ts, 1)) != 0 ||
	    (rc = get_int(o, "ttl", &h->ttl, 1)) != 0) {
		goto out;
	}
	rc = DMP_EBADHEADER;
	t = json_object_get(o, "type");
	if (!json_is_string(t)) {
		goto out;
	}
	for (i = 0; i < DMP_ARRAY_LEN(type_names); i++) {
		if (json_string_length(t) == strlen(type_names[i]) &&
		    strcmp(json_string_value(t), type_names[i]) == 0) {
			break;
		}
	}
	if (i == DMP_ARRAY_LEN(type_names)) {
		goto out;
	}
	h->type = (enum dmp_msg_type)i;
	rc = h->v == 1 ? 0 : DMP_EUNSUPPORTED;
out:
	json_decref(o);
	if (rc != 0) {
		memset(h, 0, sizeof(*h));
	}
	return rc;
}

int dmp_header_is_expired(const struct dmp_header *h, int64_t now)
{
	/* ts + ttl without overflow; negative fields never come from parse. */
	if (h->ttl >= 0 && h->ts > INT64_MAX - h->ttl) {
		return 0;
	}
	if (h->ttl < 0 && h->ts < INT64_MIN - h->ttl) {
		return 1;
	}
	return now > h->ts + h->ttl;
}

int dmp_encrypted_parse(struct dmp_encrypted_view *e, const uint8_t *data,
			size_t len)
{
	struct dmp_rbuf b;

	memset(e, 0, sizeof(*e));
	if (len < DMP_ENCRYPTED_MIN) {
		return DMP_EMALFORMED;
	}
	dmp_rbuf_init(&b, data, len);
	e->eph_pk = dmp_rbuf_take(&b, DMP_X25519_BYTES);   /* 4.3 eph_pk */
	e->nonce = dmp_rbuf_take(&b, DMP_MSG_NONCE_BYTES); /* 4.3 nonce */
	e->ct_len = dmp_rbuf_left(&b);
	e->ct = dmp_rbuf_take(&b, e->ct_len); /* 4.3 ct || tag */
	if (dmp_rbuf_finish(&b) != 0) {
		memset(e, 0, sizeof(*e));
		return DMP_EMALFORMED;
	}
	return 0;
}

int dmp_message_parse(struct dmp_message_view *m, const uint8_t *data,
		      size_t len)
{
	struct dmp_rbuf b;
	size_t hl;
	int rc;

	memset(m, 0, sizeof(*m));
	dmp_rbuf_init(&b, data, len);
	hl = dmp_rbuf_u16(&b);			/* 4.4 u16be(len(json)) */
	m->header_json = dmp_rbuf_take(&b, hl); /* 4.4 json */
	if (dmp_rbuf_error(&b) != 0 ||
	    dmp_rbuf_left(&b) < DMP_MSG_TRAILER_BYTES) {
		memset(m, 0, sizeof(*m));
		return DMP_EMALFORMED;
	}
	m->header_len = hl;
	m->payload_len = dmp_rbuf_left(&b) - DMP_MSG_TRAILER_BYTES;
	m->payload = dmp_rbuf_take(&b, m->payload_len); /* EncryptedMessage */
	/* 4.4: the old signature field, never checked by the reference. */
	(void)dmp_rbuf_take(&b, DMP_MSG_TRAILER_BYTES);
	if (dmp_rbuf_finish(&b) != 0) {
		memset(m, 0, sizeof(*m));
		return DMP_EMALFORMED;
	}
	rc = dmp_header_parse(&m->hdr, m->header_json, hl);
	if (rc != 0) {
		memset(m, 0, sizeof(*m));
	}
	return rc;
}

void dmp_message_derive_key(uint8_t key[32],
			    const uint8_t shared[DMP_X25519_BYTES])
{
	static const char salt[] = DMP_MSG_HKDF_SALT;
	static const char info[] = DMP_MSG_HKDF_INFO;
	int rc;

	rc = dmp_hkdf_sha256(key, KEY_BYTES, shared, DMP_X25519_BYTES,
			     (const uint8_t *)salt, sizeof(salt) - 1,
			     (const uint8_t *)info, sizeof(info) - 1);
	(void)rc; /* only fails for out_len > 255*32 */
}

int dmp_message_seal_fixed(const struct dmp_header *h,
			   const uint8_t recipient_pk[DMP_X25519_BYTES],
			   uint32_t prekey_id, const uint8_t *pt, size_t pt_len,
			   const uint8_t eph_sk[DMP_X25519_BYTES],
			   const uint8_t nonce[DMP_MSG_NONCE_BYTES],
			   uint8_t **out, size_t *out_len)
{
	char hjson[DMP_HEADER_JSON_MAX];
	uint8_t aad[DMP_MSG_AAD_MAX];
	uint8_t eph_pk[DMP_X25519_BYTES], shared[DMP_X25519_BYTES];
	uint8_t key[KEY_BYTES];
	struct dmp_wbuf w;
	uint8_t *buf = NULL, *ct, *trailer;
	unsigned long long clen = 0;
	size_t total = 0;
	int hl, al, rc;

	*out = NULL;
	*out_len = 0;
	if (!pt && pt_len) {
		return DMP_EINVAL;
	}
	hl = dmp_header_write(h, hjson, sizeof(hjson));
	if (hl < 0) {
		rc = hl == DMP_ENOBUFS ? DMP_ETOOBIG : hl;
		goto out;
	}
	al = dmp_header_aad(h, prekey_id, aad, sizeof(aad));
	if (al < 0) {
		rc = al;
		goto out;
	}
	/* 2 + json + eph_pk + nonce + ct + tag + trailer, without overflow. */
	if (pt_len > SIZE_MAX - 2048 ||
	    pt_len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX) {
		rc = DMP_ETOOBIG;
		goto out;
	}
	total = 2 + (size_t)hl + DMP_ENCRYPTED_MIN + pt_len +
		DMP_MSG_TAG_BYTES + DMP_MSG_TRAILER_BYTES;
	/* 4.3: eph = X25519 keypair; key = HKDF(X25519(eph_sk, R)). */
	dmp_x25519_base(eph_pk, eph_sk);
	rc = dmp_x25519(shared, eph_sk, recipient_pk);
	if (rc != 0) {
		goto out;
	}
	dmp_message_derive_key(key, shared);
	buf = dmp_malloc(total);
	if (!buf) {
		rc = DMP_ENOMEM;
		goto out;
	}
	dmp_wbuf_init(&w, buf, total);
	dmp_wbuf_u16(&w, (uint16_t)hl);		      /* 4.4 u16be(len(json)) */
	dmp_wbuf_put(&w, hjson, (size_t)hl);	      /* 4.4 json */
	dmp_wbuf_put(&w, eph_pk, sizeof(eph_pk));     /* 4.3 eph_pk */
	dmp_wbuf_put(&w, nonce, DMP_MSG_NONCE_BYTES); /* 4.3 nonce */
	ct = dmp_wbuf_reserve(&w, pt_len + DMP_MSG_TAG_BYTES); /* ct || tag */
	if (!ct) {
		rc = DMP_EINTERNAL;
		goto out;
	}
	crypto_aead_chacha20poly1305_ietf_encrypt(ct, &clen, pt, pt_len, aad,
						  (unsigned long long)al, NULL,
						  nonce, key);
	/* 4.4: 32 zero bytes, the unused signature field. */
	trailer = dmp_wbuf_reserve(&w, DMP_MSG_TRAILER_BYTES);
	if (!trailer || dmp_wbuf_error(&w) != 0 || w.len != total ||
	    clen != pt_len + DMP_MSG_TAG_BYTES) {
		rc = DMP_EINTERNAL;
		goto out;
	}
	memset(trailer, 0, DMP_MSG_TRAILER_BYTES);
	*out = buf;
	*out_len = total;
	buf = NULL;
	rc = 0;
out:
	dmp_wipe_free(buf, total);
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

int dmp_message_seal(const struct dmp_header *h,
		     const uint8_t recipient_pk[DMP_X25519_BYTES],
		     uint32_t prekey_id, const uint8_t *pt, size_t pt_len,
		     uint8_t **out, size_t *out_len)
{
	uint8_t eph_sk[DMP_X25519_BYTES], nonce[DMP_MSG_NONCE_BYTES];
	int rc;

	*out = NULL;
	*out_len = 0;
	if (dmp_init() != 0) {
		return DMP_EINTERNAL;
	}
	/* 4.3 and 10.14: a fresh ephemeral key and a random nonce, never a
	 * deterministic one. */
	dmp_random(eph_sk, sizeof(eph_sk));
	dmp_random(nonce, sizeof(nonce));
	rc = dmp_message_seal_fixed(h, recipient_pk, prekey_id, pt, pt_len,
				    eph_sk, nonce, out, out_len);
	sodium_memzero(eph_sk, sizeof(eph_sk));
	return rc;
}

static int open_common(const struct dmp_keys *k, const uint8_t *sk,
		       uint32_t prekey_id, const uint8_t *data, size_t len,
		       int64_t now, struct dmp_header *hdr, uint8_t **pt,
		       size_t *pt_len)
{
	struct dmp_message_view m;
	struct dmp_encrypted_view e;
	uint8_t aad[DMP_MSG_AAD_MAX];
	uint8_t shared[DMP_X25519_BYTES], key[KEY_BYTES];
	uint8_t *buf = NULL;
	unsigned long long plen = 0;
	size_t cap = 0;
	int al, rc;

	*pt = NULL;
	*pt_len = 0;
	if (hdr) {
		memset(hdr, 0, sizeof(*hdr));
	}
	rc = dmp_message_parse(&m, data, len);
	if (rc != 0) {
		goto out;
	}
	if (hdr) {
		*hdr = m.hdr;
	}
	rc = dmp_encrypted_parse(&e, m.payload, m.payload_len);
	if (rc != 0) {
		goto out;
	}
	/* The reference drops expired messages before decrypting. */
	if (dmp_header_is_expired(&m.hdr, now)) {
		rc = DMP_EEXPIRED;
		goto out;
	}
	/* 4.4: the receiver rebuilds the AAD from the parsed header. */
	al = dmp_header_aad(&m.hdr, prekey_id, aad, sizeof(aad));
	if (al < 0) {
		rc = al == DMP_ENOBUFS ? DMP_EBADHEADER : al;
		goto out;
	}
	rc = k ? dmp_keys_x25519(k, shared, e.eph_pk)
	       : dmp_x25519(shared, sk, e.eph_pk);
	if (rc != 0) {
		goto out;
	}
	dmp_message_derive_key(key, shared);
	if (e.ct_len < DMP_MSG_TAG_BYTES) {
		rc = DMP_EDECRYPT;
		goto out;
	}
	cap = e.ct_len - DMP_MSG_TAG_BYTES;
	buf = dmp_malloc(cap);
	if (!buf) {
		rc = DMP_ENOMEM;
		goto out;
	}
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
		buf, &plen, NULL, e.ct, e.ct_len, aad, (unsigned long long)al,
		e.nonce, key) != 0) {
		rc = DMP_EDECRYPT;
		goto out;
	}
	*pt = buf;
	*pt_len = (size_t)plen;
	buf = NULL;
	rc = 0;
out:
	dmp_wipe_free(buf, cap);
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(key, sizeof(key));
	return rc;
}

int dmp_message_open(const struct dmp_keys *k, uint32_t prekey_id,
		     const uint8_t *data, size_t len, int64_t now,
		     struct dmp_header *hdr, uint8_t **pt, size_t *pt_len)
{
	return open_common(k, NULL, prekey_id, data, len, now, hdr, pt, pt_len);
}

int dmp_message_open_sk(const uint8_t sk[DMP_X25519_BYTES], uint32_t prekey_id,
			const uint8_t *data, size_t len, int64_t now,
			struct dmp_header *hdr, uint8_t **pt, size_t *pt_len)
{
	return open_common(NULL, sk, prekey_id, data, len, now, hdr, pt,
			   pt_len);
}
