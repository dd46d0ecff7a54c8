/*
 * core/include/dmp/message.h - message encryption (PROTOCOL.md 4.3, 4.4):
 * the DMPHeader JSON, its AAD, EncryptedMessage and the DMPMessage blob
 * that goes into the erasure layer.
 *
 *   EncryptedMessage = eph_pk(32) || nonce(12) || ct (tag appended)
 *   DMPMessage       = u16be(len(json)) || json || EncryptedMessage || 0^32
 *   AAD              = json with "total":0,"chunk":0 || u32be(prekey_id)
 *
 * All functions are reentrant; none keeps state.
 */
#ifndef DMP_MESSAGE_H
#define DMP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

struct dmp_keys;

#define DMP_MSG_NONCE_BYTES 12
#define DMP_MSG_TAG_BYTES 16
/** eph_pk || nonce: the shortest EncryptedMessage the parser takes. */
#define DMP_ENCRYPTED_MIN 44
/** The unused "signature" field at the end of every DMPMessage. */
#define DMP_MSG_TRAILER_BYTES 32
/** Upper bound of a header we write (266 bytes for a 10-digit ts). */
#define DMP_HEADER_JSON_MAX 512
/** Upper bound of an AAD: header JSON plus u32be(prekey_id). */
#define DMP_MSG_AAD_MAX (DMP_HEADER_JSON_MAX + 4)
/** HKDF parameters (4.3). */
#define DMP_MSG_HKDF_SALT "DMP-v1"
#define DMP_MSG_HKDF_INFO "DMP-Message-Encryption"

/** DMPHeader "type" (4.4); only DATA is ever sent. */
enum dmp_msg_type {
	DMP_MSG_DATA = 0,
	DMP_MSG_ACK,
	DMP_MSG_DISCOVERY,
	DMP_MSG_IDENTITY,
	DMP_MSG_MAILBOX,
};

/** A DMPHeader (4.4). Plain struct: callers compare msg_id etc. */
struct dmp_header {
	int64_t v; /* always 1 */
	enum dmp_msg_type type;
	uint8_t msg_id[DMP_MSG_ID_BYTES];
	uint8_t sender[DMP_USER_ID_BYTES];    /* never checked by receivers */
	uint8_t recipient[DMP_USER_ID_BYTES]; /* SHA-256(recipient x25519) */
	int64_t total;			      /* 1 in every message sent */
	int64_t chunk;			      /* 0 in every message sent */
	int64_t ts;			      /* unix seconds */
	int64_t ttl;			      /* seconds; default 300 */
};

/**
 * Fill a header as the sender emits it: v=1, DATA, total=1, chunk=0.
 * All pointers borrowed.
 */
void dmp_header_init(struct dmp_header *h,
		     const uint8_t msg_id[DMP_MSG_ID_BYTES],
		     const uint8_t sender[DMP_USER_ID_BYTES],
		     const uint8_t recipient[DMP_USER_ID_BYTES], int64_t ts,
		     int64_t ttl);

/**
 * Write the compact JSON of @p h in the fixed key order of 4.4, exactly as
 * the reference does. NUL-terminated.
 * @return length (without NUL), DMP_ENOBUFS or DMP_EINVAL (bad type)
 */
DMP_MUST_CHECK int dmp_header_write(const struct dmp_header *h, char *out,
				    size_t cap);

/**
 * The AAD for @p h: its JSON with total and chunk forced to 0, then
 * u32be(@p prekey_id) (4.4; 0 = recipient's long-term key).
 * @return length, DMP_ENOBUFS or DMP_EINVAL
 */
DMP_MUST_CHECK int dmp_header_aad(const struct dmp_header *h,
				  uint32_t prekey_id, uint8_t *out, size_t cap);

/**
 * Parse DMPHeader JSON (untrusted). Any key order, whitespace and extra
 * keys are accepted, as the reference's json.loads does; every one of the
 * nine keys must be present with the right JSON type (integers, not
 * reals or booleans), hex of exactly the right length, type one of the
 * five names, and total, chunk, ts and ttl not negative.
 * @param[out] h  zeroed on failure
 * @return 0, DMP_EBADHEADER, or DMP_EUNSUPPORTED (v is not 1)
 */
DMP_MUST_CHECK int dmp_header_parse(struct dmp_header *h, const void *json,
				    size_t len);

/** 1 if @p now > ts + ttl (the reference's is_expired), else 0. */
int dmp_header_is_expired(const struct dmp_header *h, int64_t now);

/** EncryptedMessage fields, borrowed from the parsed buffer. */
struct dmp_encrypted_view {
	const uint8_t *eph_pk; /* 32 bytes */
	const uint8_t *nonce;  /* 12 bytes */
	const uint8_t *ct; /* ciphertext || tag; may be shorter than a tag */
	size_t ct_len;
};

/**
 * Split an EncryptedMessage (4.3). Needs at least 44 bytes, as the
 * reference; a ciphertext shorter than the tag fails later, at decrypt.
 * @return 0 or DMP_EMALFORMED
 */
DMP_MUST_CHECK int dmp_encrypted_parse(struct dmp_encrypted_view *e,
				       const uint8_t *data, size_t len);

/** A parsed DMPMessage; pointers borrowed from the parsed buffer. */
struct dmp_message_view {
	struct dmp_header hdr;
	const uint8_t *header_json;
	size_t header_len;
	const uint8_t *payload; /* data[2+len : end-32], the EncryptedMessage */
	size_t payload_len;
};

/**
 * Parse a DMPMessage (4.4): u16be length, header JSON, payload, and the 32
 * trailing bytes (ignored, whatever they hold, as in the reference).
 * @return 0, DMP_EMALFORMED (framing), DMP_EBADHEADER or DMP_EUNSUPPORTED
 */
DMP_MUST_CHECK int dmp_message_parse(struct dmp_message_view *m,
				     const uint8_t *data, size_t len);

/** HKDF-SHA256(shared, salt "DMP-v1", info "DMP-Message-Encryption"). */
void dmp_message_derive_key(uint8_t key[32],
			    const uint8_t shared[DMP_X25519_BYTES]);

/**
 * Encrypt @p pt for @p recipient_pk and build the DMPMessage (4.3, 4.4)
 * with a fresh ephemeral key and random nonce.
 * @param h            header written as is (see dmp_header_init)
 * @param recipient_pk the chosen prekey's public key, or the long-term
 *                     key when @p prekey_id is 0
 * @param[out] out     dmp_malloc'd blob (owned by the caller), NULL on
 *                     failure
 * @return 0, DMP_EWEAKSECRET (low-order recipient key), DMP_EINVAL,
 *         DMP_ETOOBIG (header too long for u16) or DMP_ENOMEM
 */
DMP_MUST_CHECK int
dmp_message_seal(const struct dmp_header *h,
		 const uint8_t recipient_pk[DMP_X25519_BYTES],
		 uint32_t prekey_id, const uint8_t *pt, size_t pt_len,
		 uint8_t **out, size_t *out_len);

/**
 * dmp_message_seal() with a caller-chosen ephemeral secret and nonce.
 * FOR TESTS AND VECTORS ONLY: reusing a nonce or ephemeral key with the
 * same recipient breaks confidentiality.
 */
DMP_MUST_CHECK int dmp_message_seal_fixed(
    const struct dmp_header *h, const uint8_t recipient_pk[DMP_X25519_BYTES],
    uint32_t prekey_id, const uint8_t *pt, size_t pt_len,
    const uint8_t eph_sk[DMP_X25519_BYTES],
    const uint8_t nonce[DMP_MSG_NONCE_BYTES], uint8_t **out, size_t *out_len);

/**
 * Open a DMPMessage with the recipient's long-term key (@p prekey_id 0)
 * or, through dmp_message_open_sk(), a prekey secret. Steps, in the
 * reference's order: parse the framing and header, parse the
 * EncryptedMessage, check expiry (now > ts + ttl), rebuild the AAD from
 * the parsed header and @p prekey_id, X25519 + HKDF, AEAD decrypt.
 *
 * The caller compares hdr->msg_id and hdr->recipient with the manifest
 * (DMP_EMISMATCH is theirs to return) and deletes a prekey secret only
 * after this returns 0 (4.6).
 *
 * @param[out] hdr    parsed header, also on DMP_EEXPIRED/DMP_EDECRYPT
 *                    (zeroed when the header did not parse); may be NULL
 * @param[out] pt     dmp_malloc'd plaintext (owned by the caller; wipe
 *                    before freeing), NULL on failure
 * @return 0, DMP_EMALFORMED, DMP_EBADHEADER, DMP_EUNSUPPORTED,
 *         DMP_EEXPIRED, DMP_EWEAKSECRET (all-zero shared secret),
 *         DMP_EDECRYPT (wrong key or tampered bytes), DMP_EINVAL
 *         (operator key) or DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_message_open(const struct dmp_keys *k,
				    uint32_t prekey_id, const uint8_t *data,
				    size_t len, int64_t now,
				    struct dmp_header *hdr, uint8_t **pt,
				    size_t *pt_len);

/** dmp_message_open() with a raw X25519 secret (a prekey's); borrowed. */
DMP_MUST_CHECK int dmp_message_open_sk(const uint8_t sk[DMP_X25519_BYTES],
				       uint32_t prekey_id, const uint8_t *data,
				       size_t len, int64_t now,
				       struct dmp_header *hdr, uint8_t **pt,
				       size_t *pt_len);

#endif /* DMP_MESSAGE_H */
