/*
 * core/src/codec/chunk.c - chunk wrap/unwrap (PROTOCOL.md 2.1, 5.4).
 */
#include <sodium.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/chunk.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/txt.h"

#define CHUNK_CODEWORD (DMP_CHUNK_BLOCK_BYTES + DMP_RS_PARITY)

_Static_assert(DMP_CHUNK_WIRE_BYTES ==
		   DMP_CHUNK_CHECKSUM_BYTES + CHUNK_CODEWORD,
	       "wire layout (PROTOCOL.md 2.1)");
_Static_assert(DMP_CHUNK_TXT_LEN == sizeof(DMP_PREFIX_CHUNK) - 1 +
					DMP_B64_LEN(DMP_CHUNK_WIRE_BYTES),
	       "chunk TXT is exactly 241 characters (PROTOCOL.md 1.4)");

void dmp_chunk_wrap(struct dmp_rs *rs,
		    const uint8_t block[DMP_CHUNK_BLOCK_BYTES],
		    uint8_t wire[DMP_CHUNK_WIRE_BYTES])
{
	uint8_t h[DMP_SHA256_BYTES];
	int rc;

	/* PROTOCOL.md 2.1: H(block)[0:8] || block || RS parity. */
	dmp_sha256(h, block, DMP_CHUNK_BLOCK_BYTES);
	memcpy(wire, h, DMP_CHUNK_CHECKSUM_BYTES);
	memcpy(wire + DMP_CHUNK_CHECKSUM_BYTES, block, DMP_CHUNK_BLOCK_BYTES);
	rc = dmp_rs_encode(rs, block, DMP_CHUNK_BLOCK_BYTES,
			   wire + DMP_CHUNK_CHECKSUM_BYTES +
			       DMP_CHUNK_BLOCK_BYTES);
	(void)rc; /* 128 is always a valid length */
}

int dmp_chunk_encode(struct dmp_rs *rs,
		     const uint8_t block[DMP_CHUNK_BLOCK_BYTES], char *txt,
		     size_t cap, uint8_t hash[DMP_SHA256_BYTES])
{
	uint8_t wire[DMP_CHUNK_WIRE_BYTES];
	int rc;

	if (cap < DMP_CHUNK_TXT_LEN + 1) {
		return DMP_ENOBUFS;
	}
	dmp_chunk_wrap(rs, block, wire);
	rc = dmp_record_encode(txt, cap, DMP_PREFIX_CHUNK, wire, sizeof(wire),
			       DMP_CHUNK_TXT_LEN);
	if (rc >= 0 && hash) {
		dmp_sha256(hash, wire, sizeof(wire));
	}
	return rc;
}

int dmp_chunk_unwrap_wire(struct dmp_rs *rs, const uint8_t *wire, size_t len,
			  const uint8_t *expected,
			  uint8_t block[DMP_CHUNK_BLOCK_BYTES], int *corrected)
{
	uint8_t cw[CHUNK_CODEWORD], h[DMP_SHA256_BYTES];
	int fixed = 0;
	int rc;

	memset(block, 0, DMP_CHUNK_BLOCK_BYTES);
	if (corrected) {
		*corrected = 0;
	}
	/* 5.4 step 2.3: the manifest hash first, over whatever arrived. */
	if (expected) {
		dmp_sha256(h, wire, len);
		if (sodium_memcmp(h, expected, DMP_SHA256_BYTES) != 0) {
			return DMP_ECHUNKHASH;
		}
	}
	/* The reference checks the 128-byte length last (step 2.6); our RS
	 * handle is fixed at 160 symbols, so any other size stops here. The
	 * outcome, rejection, is the same. */
	if (len != DMP_CHUNK_WIRE_BYTES) {
		return DMP_EMALFORMED;
	}
	/* Step 2.4: RS over bytes 8..167; the checksum is not protected. */
	memcpy(cw, wire + DMP_CHUNK_CHECKSUM_BYTES, sizeof(cw));
	rc = dmp_rs_decode(rs, cw, sizeof(cw), &fixed);
	if (rc < 0) {
		return DMP_ERSFAIL;
	}
	/* Step 2.5: the checksum over the (repaired) block. */
	dmp_sha256(h, cw, DMP_CHUNK_BLOCK_BYTES);
	if (memcmp(h, wire, DMP_CHUNK_CHECKSUM_BYTES) != 0) {
		return DMP_ECHECKSUM;
	}
	memcpy(block, cw, DMP_CHUNK_BLOCK_BYTES);
	if (corrected) {
		*corrected = fixed;
	}
	return 0;
}

/* 5.4 steps 2.1-2.2: exact prefix and strict base64. Values up to the
 * node's 2048-byte cap are decoded, so a wrong-size wire reaches the hash
 * check as it does in the reference. */
static int decode_txt(const char *txt, size_t len, uint8_t *wire, size_t cap,
		      size_t *wire_len)
{
	return dmp_record_decode(wire, cap, wire_len, txt, len,
				 DMP_PREFIX_CHUNK, DMP_TXT_VALUE_MAX, 0);
}

#define CHUNK_DECODE_CAP (DMP_TXT_VALUE_MAX / 4 * 3)

int dmp_chunk_unwrap(struct dmp_rs *rs, const char *txt, size_t len,
		     const uint8_t expected[DMP_SHA256_BYTES],
		     uint8_t block[DMP_CHUNK_BLOCK_BYTES])
{
	uint8_t wire[CHUNK_DECODE_CAP];
	size_t wire_len;
	int rc;

	memset(block, 0, DMP_CHUNK_BLOCK_BYTES);
	if (!expected) {
		return DMP_EINVAL; /* use dmp_chunk_unwrap_repair */
	}
	rc = decode_txt(txt, len, wire, sizeof(wire), &wire_len);
	if (rc < 0) {
		return rc;
	}
	return dmp_chunk_unwrap_wire(rs, wire, wire_len, expected, block, NULL);
}

int dmp_chunk_unwrap_repair(struct dmp_rs *rs, const char *txt, size_t len,
			    uint8_t block[DMP_CHUNK_BLOCK_BYTES],
			    int *corrected)
{
	uint8_t wire[CHUNK_DECODE_CAP];
	size_t wire_len;
	int rc;

	memset(block, 0, DMP_CHUNK_BLOCK_BYTES);
	if (corrected) {
		*corrected = 0;
	}
	rc = decode_txt(txt, len, wire, sizeof(wire), &wire_len);
	if (rc < 0) {
		return rc;
	}
	return dmp_chunk_unwrap_wire(rs, wire, wire_len, NULL, block,
				     corrected);
}
