/*
 * core/include/dmp/pipeline.h - the two pure pipelines between a plaintext
 * and its DNS records (PROTOCOL.md 5.1, 5.4, 6.3, 6.4 steps 1-12).
 *
 *   send:    plaintext -> DMPMessage (seal) -> erasure shares -> n chunk
 *            TXT values -> signed manifest with the chunk hashes
 *   receive: manifest value -> verified manifest for us
 *            chunk values -> k verified shares -> DMPMessage
 *            DMPMessage -> checked header -> plaintext
 *
 * No I/O, no clock reads: `now` is a parameter. The engine does the
 * fetching, the replay cache, prekey bookkeeping and delivery.
 */
#ifndef DMP_PIPELINE_H
#define DMP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"
#include "dmp/manifest.h"
#include "dmp/message.h"
#include "dmp/names.h"

struct dmp_keys;
struct dmp_codec; /* opaque: Reed-Solomon tables and scratch space */

/** @return 0 or DMP_ENOMEM. One codec per thread. */
DMP_MUST_CHECK int dmp_codec_new(struct dmp_codec **out);
void dmp_codec_free(struct dmp_codec *c); /* NULL: no-op */

/** One DNS record to publish. */
struct dmp_txt_record {
	char name[DMP_NAME_MAX + 1]; /* owner name, lower case, no dot */
	char *value;		     /* owned; TXT value */
	uint32_t ttl;
};

struct dmp_send_params {
	const struct dmp_keys *sender;	    /* user keys; borrowed */
	const uint8_t *recipient_x25519_pk; /* 32 bytes: long-term key */
	uint32_t prekey_id;		    /* 0: no prekey */
	const uint8_t *prekey_pk;	    /* 32 bytes if prekey_id != 0 */
	const uint8_t *msg_id;		    /* 16 bytes; NULL: random */
	int64_t ts;			    /* header ts, manifest ts */
	uint32_t ttl;			    /* header ttl, exp = ts + ttl */
	const char *zone;		    /* sender's mailbox zone */
	const uint8_t *plaintext; /* already DMPv2-wrapped if wanted */
	size_t len;
	enum dmp_msg_type type; /* header type (4.4): 0 = DATA; ACK for a
				   delivery receipt */
	/* Size padding: 0 frames as the reference does (zero fill, natural
	 * k); else at least pad_k data shares with random fill
	 * (dmp_erasure_pack_padded; the manifest says k, so every receiver
	 * decodes it). A pad_k giving a manifest over the cap: DMP_EFBIG. */
	unsigned pad_k;
	/* Tests and vectors only: NULL means random. */
	const uint8_t *ephemeral_sk; /* 32 bytes */
	const uint8_t *nonce;	     /* 12 bytes */
};

struct dmp_send_result {
	struct dmp_txt_record *records; /* chunks 0..n-1, then the manifest */
	size_t n_records;
	unsigned k, n;
	uint32_t slot;
	uint8_t msg_id[DMP_MSG_ID_BYTES];
	uint64_t exp;
};

/**
 * Build every record of one message, in publish order.
 * @param[out] out  filled on success; release with dmp_send_result_clear()
 * @return 0, DMP_EFBIG (more than 256 shares or a manifest over the node's
 *         2048-byte value cap), DMP_EINVAL, DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_pipeline_send(struct dmp_codec *c,
				     const struct dmp_send_params *p,
				     struct dmp_send_result *out);
void dmp_send_result_clear(struct dmp_send_result *r);

/**
 * Largest plaintext (after any DMPv2 wrapping) whose manifest still fits
 * the node's 2048-byte value cap, for a header with @p ts and @p ttl (their
 * digit counts change the header length).
 */
size_t dmp_pipeline_max_plaintext(int64_t ts, uint32_t ttl);

/**
 * The data shares k a plaintext of @p len bytes (after any DMPv2
 * wrapping) takes unpadded, for a header with @p ts and @p ttl; 0 when it
 * is over dmp_pipeline_max_plaintext().
 */
unsigned dmp_pipeline_data_chunks(int64_t ts, uint32_t ttl, size_t len);

/**
 * Receive steps 1-3 and 7's precondition: parse and verify @p value as a
 * manifest addressed to @p self_user_id, not expired at @p now, carrying
 * chunk hashes, with n <= 256.
 * @param[out] m  filled on success (dmp_manifest_clear())
 * @return 0, any manifest parse error, DMP_ENOTFORUS, DMP_EEXPIRED,
 *         DMP_EUNSUPPORTED (no chunk hashes, or n > 256)
 */
DMP_MUST_CHECK int dmp_pipeline_accept_manifest(struct dmp_manifest *m,
						const char *value, size_t len,
						const uint8_t self_user_id[32],
						int64_t now);

/** The TXT values found at one chunk name (any of them may be junk). */
struct dmp_chunk_values {
	const char *const *values;
	const size_t *lens;
	size_t count;
};

/**
 * Rebuild the DMPMessage from chunk values (5.4): for i = 0..n-1 take the
 * first value that passes the manifest hash, RS and checksum checks; stop
 * at k shares; erasure-decode and unpack.
 * @param chunks  array of m->total_chunks entries (count 0 = missing)
 * @param[out] msg  new buffer (dmp_free()) holding the DMPMessage
 * @param[out] bad  if not NULL, number of values rejected on the way
 * @return 0, DMP_ESHARES (fewer than k good chunks), DMP_EMALFORMED
 *         (unpack failed), DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_pipeline_assemble(struct dmp_codec *c,
					 const struct dmp_manifest *m,
					 const struct dmp_chunk_values *chunks,
					 uint8_t **msg, size_t *msg_len,
					 size_t *bad);

/**
 * Receive steps 8-11: parse the DMPMessage, require inner msg_id and
 * recipient to equal the manifest's and the header not expired, rebuild
 * the AAD with the manifest's prekey_id and decrypt with @p prekey_sk
 * (when prekey_id != 0) or @p self's long-term key.
 * @param[out] pt  new buffer (dmp_free()) with the plaintext, which may
 *                 still carry a DMPv2 envelope (envelope.h)
 * @return 0, DMP_EMALFORMED, DMP_EBADHEADER, DMP_EMISMATCH, DMP_EEXPIRED,
 *         DMP_EDECRYPT, DMP_EWEAKSECRET, DMP_ENOPREKEY (prekey_id != 0 and
 *         no secret given), DMP_ENOMEM
 */
DMP_MUST_CHECK int dmp_pipeline_open(const struct dmp_manifest *m,
				     const uint8_t *msg, size_t msg_len,
				     const struct dmp_keys *self,
				     const uint8_t *prekey_sk, int64_t now,
				     uint8_t **pt, size_t *pt_len);

#endif /* DMP_PIPELINE_H */
