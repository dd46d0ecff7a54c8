/*
 * core/src/codec/pipeline.c - plaintext <-> DNS records (PROTOCOL.md 5.1,
 * 5.4, 6.3 steps 3-5, 6.4 steps 1-11).
 */
#include <stdio.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/chunk.h"
#include "dmp/crypto.h"
#include "dmp/erasure.h"
#include "dmp/err.h"
#include "dmp/keys.h"
#include "dmp/message.h"
#include "dmp/pipeline.h"
#include "dmp/record.h"
#include "dmp/rs.h"
#include "dmp/txt.h"

struct dmp_codec {
	struct dmp_rs *rs;
};

int dmp_codec_new(struct dmp_codec **out)
{
	struct dmp_codec *c;
	int rc;

	*out = NULL;
	c = dmp_calloc(1, sizeof(*c));
	if (!c) {
		return DMP_ENOMEM;
	}
	rc = dmp_rs_new(&c->rs);
	if (rc < 0) {
		dmp_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void dmp_codec_free(struct dmp_codec *c)
{
	if (!c) {
		return;
	}
	dmp_rs_free(c->rs);
	dmp_free(c);
}

void dmp_send_result_clear(struct dmp_send_result *r)
{
	if (!r) {
		return;
	}
	for (size_t i = 0; i < r->n_records; i++) {
		dmp_free(r->records[i].value);
	}
	dmp_free(r->records);
	memset(r, 0, sizeof(*r));
}

/* A random UUIDv4, as the reference's uuid.uuid4().bytes (6.3 step 1). */
static void random_msg_id(uint8_t id[DMP_MSG_ID_BYTES])
{
	dmp_random(id, DMP_MSG_ID_BYTES);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

static char *dup_str(const char *s, size_t len)
{
	char *p = dmp_malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* Sign the manifest body with the sender's handle and frame it (2.2). */
static int encode_manifest(char **out, const struct dmp_manifest *m,
			   const struct dmp_keys *sender)
{
	size_t n = m->total_chunks;
	size_t body_len = DMP_MANIFEST_BODY_FIXED + 32 * n;
	size_t cap = DMP_MANIFEST_WIRE_LEN(n) + 1;
	uint8_t *blob = NULL;
	char *value = NULL;
	int rc;

	*out = NULL;
	blob = dmp_malloc(body_len + DMP_SIG_BYTES);
	value = dmp_malloc(cap);
	if (!blob || !value) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = dmp_manifest_body(blob, body_len, m);
	if (rc < 0) {
		goto out;
	}
	if ((size_t)rc != body_len) {
		rc = DMP_EINTERNAL;
		goto out;
	}
	dmp_keys_sign(sender, blob + body_len, blob, body_len);
	/*
	 * The node refuses values over 2048 bytes (7.5), so a message whose
	 * manifest would not fit cannot be delivered: refuse it here, where
	 * the sender can still be told.
	 */
	rc = dmp_record_encode(value, cap, DMP_PREFIX_MANIFEST, blob,
			       body_len + DMP_SIG_BYTES, DMP_TXT_VALUE_MAX);
	if (rc == DMP_ETOOBIG) {
		rc = DMP_EFBIG;
	}
	if (rc < 0) {
		goto out;
	}
	*out = value;
	value = NULL;
	rc = 0;
out:
	dmp_free(blob);
	dmp_free(value);
	return rc;
}

int dmp_pipeline_send(struct dmp_codec *c, const struct dmp_send_params *p,
		      struct dmp_send_result *out)
{
	struct dmp_header hdr;
	struct dmp_manifest man;
	uint8_t recipient_id[DMP_USER_ID_BYTES];
	char msg_key[DMP_H12_CHARS + 1];
	uint8_t *msg = NULL, *shares = NULL, *hashes = NULL;
	size_t msg_len = 0, shares_cap;
	unsigned k = 0, n = 0;
	struct dmp_send_result r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	memset(&man, 0, sizeof(man));
	if (!c || !p || !p->sender || !dmp_keys_is_user(p->sender) ||
	    !p->recipient_x25519_pk || !p->zone ||
	    (p->prekey_id != 0 && !p->prekey_pk) || (p->len && !p->plaintext) ||
	    p->ts < 0 || (!p->ephemeral_sk != !p->nonce)) {
		return DMP_EINVAL;
	}
	if (p->msg_id) {
		memcpy(r.msg_id, p->msg_id, DMP_MSG_ID_BYTES);
	} else {
		random_msg_id(r.msg_id);
	}
	dmp_sha256(recipient_id, p->recipient_x25519_pk, DMP_X25519_BYTES);

	/* 6.3 step 3: encrypt once, to the prekey when one was chosen. */
	dmp_header_init(&hdr, r.msg_id, dmp_keys_user_id(p->sender),
			recipient_id, p->ts, p->ttl);
	hdr.type = p->type;
	if (p->ephemeral_sk) {
		rc = dmp_message_seal_fixed(
		    &hdr, p->prekey_id ? p->prekey_pk : p->recipient_x25519_pk,
		    p->prekey_id, p->plaintext, p->len, p->ephemeral_sk,
		    p->nonce, &msg, &msg_len);
	} else {
		rc = dmp_message_seal(
		    &hdr, p->prekey_id ? p->prekey_pk : p->recipient_x25519_pk,
		    p->prekey_id, p->plaintext, p->len, &msg, &msg_len);
	}
	if (rc < 0) {
		goto out;
	}

	/* 5.1: erasure-code the DMPMessage into n 128-byte shares. */
	rc = dmp_erasure_params(msg_len, &k, &n);
	if (rc == 0 && p->pad_k > k) {
		k = p->pad_k;
		n = k + (3 * k + 9) / 10;
	}
	if (rc < 0) {
		rc = rc == DMP_ETOOBIG ? DMP_EFBIG : rc;
		goto out;
	}
	shares_cap = (size_t)n * DMP_ERASURE_BLOCK;
	shares = dmp_malloc(shares_cap);
	hashes = dmp_malloc((size_t)n * DMP_SHA256_BYTES);
	r.records = dmp_calloc((size_t)n + 1, sizeof(*r.records));
	if (!shares || !hashes || !r.records) {
		rc = DMP_ENOMEM;
		goto out;
	}
	rc = p->pad_k
		 ? dmp_erasure_pack_padded(msg, msg_len, p->pad_k, shares,
					   shares_cap, &k, &n)
		 : dmp_erasure_pack(msg, msg_len, shares, shares_cap, &k, &n);
	if (rc < 0) {
		rc = rc == DMP_ETOOBIG ? DMP_EFBIG : rc;
		goto out;
	}
	r.k = k;
	r.n = n;

	/* Chunk i lives at chunk-i-<msg_key>.<zone> (3.1). */
	dmp_msg_key(msg_key, r.msg_id, recipient_id,
		    dmp_keys_ed25519_pk(p->sender));
	for (unsigned i = 0; i < n; i++) {
		char txt[DMP_CHUNK_TXT_LEN + 1];
		struct dmp_txt_record *rec = &r.records[r.n_records];

		rc = dmp_chunk_encode(c->rs, shares + (size_t)i * 128, txt,
				      sizeof(txt), hashes + (size_t)i * 32);
		if (rc < 0) {
			goto out;
		}
		rc = dmp_name_chunk(rec->name, sizeof(rec->name), i, msg_key,
				    p->zone);
		if (rc < 0) {
			goto out;
		}
		rec->value = dup_str(txt, DMP_CHUNK_TXT_LEN);
		if (!rec->value) {
			rc = DMP_ENOMEM;
			goto out;
		}
		rec->ttl = p->ttl;
		r.n_records++;
	}

	/* 2.2: the manifest commits to every chunk and goes out last. */
	memcpy(man.msg_id, r.msg_id, DMP_MSG_ID_BYTES);
	memcpy(man.sender_spk, dmp_keys_ed25519_pk(p->sender),
	       DMP_ED25519_PK_BYTES);
	memcpy(man.recipient_id, recipient_id, DMP_USER_ID_BYTES);
	man.total_chunks = n;
	man.data_chunks = k;
	man.prekey_id = p->prekey_id;
	man.ts = (uint64_t)p->ts;
	man.exp = (uint64_t)p->ts + p->ttl;
	man.has_hashes = 1;
	man.chunk_hashes = hashes;
	r.exp = man.exp;
	r.slot = dmp_slot_of(r.msg_id);
	{
		struct dmp_txt_record *rec = &r.records[r.n_records];

		rc = dmp_name_slot(rec->name, sizeof(rec->name), r.slot,
				   recipient_id, p->zone);
		if (rc < 0) {
			goto out;
		}
		rc = encode_manifest(&rec->value, &man, p->sender);
		if (rc < 0) {
			goto out;
		}
		rec->ttl = p->ttl;
		r.n_records++;
	}
	*out = r;
	memset(&r, 0, sizeof(r));
	rc = 0;
out:
	if (msg) {
		dmp_wipe(msg, msg_len);
	}
	dmp_free(msg);
	if (shares) {
		dmp_wipe(shares, (size_t)n * DMP_ERASURE_BLOCK);
	}
	dmp_free(shares);
	dmp_free(hashes);
	dmp_send_result_clear(&r);
	return rc;
}

/* Bytes a DMPMessage adds to its plaintext for a header with @p ts and
 * @p ttl (4.4), or 0. */
static size_t message_overhead(int64_t ts, uint32_t ttl)
{
	struct dmp_header hdr;
	uint8_t zero[DMP_USER_ID_BYTES] = {0};
	char json[DMP_HEADER_JSON_MAX];
	int hlen;

	dmp_header_init(&hdr, zero, zero, zero, ts, ttl);
	hlen = dmp_header_write(&hdr, json, sizeof(json));
	if (hlen < 0) {
		return 0;
	}
	return 2 + (size_t)hlen + DMP_ENCRYPTED_MIN + DMP_MSG_TAG_BYTES +
	       DMP_MSG_TRAILER_BYTES;
}

size_t dmp_pipeline_max_plaintext(int64_t ts, uint32_t ttl)
{
	/* n <= 42 keeps the manifest under 2048 bytes; k + ceil(3k/10) <= 42
	 * gives k <= 32, so the framed message is at most 32 * 128 bytes. */
	const size_t framed_max = 32 * DMP_ERASURE_BLOCK - 4;
	size_t overhead = message_overhead(ts, ttl);

	return overhead && framed_max > overhead ? framed_max - overhead : 0;
}

unsigned dmp_pipeline_data_chunks(int64_t ts, uint32_t ttl, size_t len)
{
	unsigned k, n;

	if (len > dmp_pipeline_max_plaintext(ts, ttl) ||
	    dmp_erasure_params(len + message_overhead(ts, ttl), &k, &n) < 0) {
		return 0;
	}
	return k;
}

int dmp_pipeline_accept_manifest(struct dmp_manifest *m, const char *value,
				 size_t len, const uint8_t self_user_id[32],
				 int64_t now)
{
	int rc;

	/* 6.4 step 1. */
	rc = dmp_manifest_parse_verify(m, value, len, (uint64_t)now);
	if (rc < 0) {
		return rc;
	}
	/* Step 2. */
	if (memcmp(m->recipient_id, self_user_id, DMP_USER_ID_BYTES)) {
		rc = DMP_ENOTFORUS;
		goto fail;
	}
	/* Step 3: the manifest's own lifetime (6.2: now > exp drops). */
	if (dmp_manifest_is_expired(m, (uint64_t)now)) {
		rc = DMP_EEXPIRED;
		goto fail;
	}
	/* Step 7's precondition, and 10.17: the erasure code stops at 256. */
	if (!m->has_hashes || m->total_chunks > DMP_ERASURE_MAX_N) {
		rc = DMP_EUNSUPPORTED;
		goto fail;
	}
	return 0;
fail:
	dmp_manifest_clear(m);
	return rc;
}

int dmp_pipeline_assemble(struct dmp_codec *c, const struct dmp_manifest *m,
			  const struct dmp_chunk_values *chunks, uint8_t **msg,
			  size_t *msg_len, size_t *bad)
{
	unsigned k = m->data_chunks, n = m->total_chunks, have = 0;
	uint8_t *blocks = NULL, *data = NULL;
	const uint8_t **ptrs = NULL;
	unsigned *ids = NULL;
	const uint8_t *body;
	size_t body_len, rejected = 0;
	int rc;

	*msg = NULL;
	*msg_len = 0;
	if (bad) {
		*bad = 0;
	}
	if (!m->has_hashes || k < 1 || k > n || n > DMP_ERASURE_MAX_N) {
		return DMP_EUNSUPPORTED;
	}
	blocks = dmp_malloc((size_t)k * DMP_CHUNK_BLOCK_BYTES);
	data = dmp_malloc((size_t)k * DMP_CHUNK_BLOCK_BYTES);
	ptrs = dmp_calloc(k, sizeof(*ptrs));
	ids = dmp_calloc(k, sizeof(*ids));
	if (!blocks || !data || !ptrs || !ids) {
		rc = DMP_ENOMEM;
		goto out;
	}
	/* 5.4: walk chunks in order, first good value wins, stop at k. */
	for (unsigned i = 0; i < n && have < k; i++) {
		const struct dmp_chunk_values *cv = &chunks[i];
		uint8_t *slot = blocks + (size_t)have * DMP_CHUNK_BLOCK_BYTES;

		for (size_t j = 0; j < cv->count; j++) {
			rc = dmp_chunk_unwrap(c->rs, cv->values[j], cv->lens[j],
					      m->chunk_hashes + (size_t)i * 32,
					      slot);
			if (rc == 0) {
				ptrs[have] = slot;
				ids[have] = i;
				have++;
				break;
			}
			rejected++;
		}
	}
	if (bad) {
		*bad = rejected;
	}
	if (have < k) {
		rc = DMP_ESHARES;
		goto out;
	}
	rc = dmp_erasure_decode(k, n, DMP_CHUNK_BLOCK_BYTES, ptrs, ids, have,
				data);
	if (rc < 0) {
		goto out;
	}
	rc = dmp_erasure_unpack(data, k, &body, &body_len);
	if (rc < 0) {
		goto out;
	}
	*msg = dmp_malloc(body_len);
	if (!*msg) {
		rc = DMP_ENOMEM;
		goto out;
	}
	memcpy(*msg, body, body_len);
	*msg_len = body_len;
	rc = 0;
out:
	if (blocks) {
		dmp_wipe(blocks, (size_t)k * DMP_CHUNK_BLOCK_BYTES);
	}
	if (data) {
		dmp_wipe(data, (size_t)k * DMP_CHUNK_BLOCK_BYTES);
	}
	dmp_free(blocks);
	dmp_free(data);
	dmp_free(ptrs);
	dmp_free(ids);
	return rc;
}

int dmp_pipeline_open(const struct dmp_manifest *m, const uint8_t *msg,
		      size_t msg_len, const struct dmp_keys *self,
		      const uint8_t *prekey_sk, int64_t now, uint8_t **pt,
		      size_t *pt_len)
{
	struct dmp_message_view view;
	int rc;

	*pt = NULL;
	*pt_len = 0;
	/* Step 8. */
	rc = dmp_message_parse(&view, msg, msg_len);
	if (rc < 0) {
		return rc;
	}
	/* Step 9: the inner header must describe this manifest's message. */
	if (memcmp(view.hdr.msg_id, m->msg_id, DMP_MSG_ID_BYTES) ||
	    memcmp(view.hdr.recipient, m->recipient_id, DMP_USER_ID_BYTES)) {
		return DMP_EMISMATCH;
	}
	if (dmp_header_is_expired(&view.hdr, now)) {
		return DMP_EEXPIRED;
	}
	/* Steps 10-11: AAD from the manifest's prekey id, then decrypt. */
	if (m->prekey_id != 0) {
		if (!prekey_sk) {
			return DMP_ENOPREKEY;
		}
		return dmp_message_open_sk(prekey_sk, m->prekey_id, msg,
					   msg_len, now, NULL, pt, pt_len);
	}
	return dmp_message_open(self, 0, msg, msg_len, now, NULL, pt, pt_len);
}
