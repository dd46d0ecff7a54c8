/*
 * tests/fuzz/fuzz_chunk.c - chunk TXT unwrap (PROTOCOL.md 5.4). The input
 * is a TXT value. Both receive paths run: without a hash (RS repair) and
 * with the hash of the decoded wire (so the later steps are reached).
 * Properties: on success the 8-byte checksum matches the block, the block
 * and parity are within 16 symbols of what arrived, and a wire that needed
 * no repair re-encodes to exactly the input. abort() otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/chunk.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/record.h"
#include "dmp/txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dmp_rs *codec(void)
{
	static struct dmp_rs *rs;

	if (!rs && dmp_rs_new(&rs) != 0) {
		abort();
	}
	return rs;
}

static void check(struct dmp_rs *rs, const uint8_t *data, size_t size,
		  const uint8_t *block, int fixed)
{
	uint8_t wire[DMP_CHUNK_WIRE_BYTES], got[DMP_CHUNK_WIRE_BYTES];
	size_t len;
	char txt[DMP_CHUNK_TXT_LEN + 1];
	int dist = 0;

	if (dmp_record_decode(wire, sizeof(wire), &len, (const char *)data,
			      size, DMP_PREFIX_CHUNK, 0, 0) != 0 ||
	    len != sizeof(wire)) {
		abort(); /* success needs a well-formed 168-byte wire */
	}
	dmp_chunk_wrap(rs, block, got);
	if (memcmp(got, wire, DMP_CHUNK_CHECKSUM_BYTES) != 0) {
		abort();
	}
	for (size_t i = DMP_CHUNK_CHECKSUM_BYTES; i < sizeof(wire); i++) {
		dist += got[i] != wire[i];
	}
	if (dist > DMP_RS_MAX_ERRORS || (fixed >= 0 && dist != fixed)) {
		abort();
	}
	if (dist == 0 &&
	    (dmp_chunk_encode(rs, block, txt, sizeof(txt), NULL) !=
		 DMP_CHUNK_TXT_LEN ||
	     size != DMP_CHUNK_TXT_LEN || memcmp(txt, data, size) != 0)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_rs *rs = codec();
	uint8_t block[DMP_CHUNK_BLOCK_BYTES], wire[2048], hash[32] = {0};
	const char *txt = (const char *)data;
	size_t len;
	int fixed = -1;

	if (dmp_chunk_unwrap_repair(rs, txt, size, block, &fixed) == 0) {
		check(rs, data, size, block, fixed);
	}
	/* Hash path: with a hash of the decoded wire the check passes and
	 * the result must agree with the no-hash path. */
	if (dmp_record_decode(wire, sizeof(wire), &len, txt, size,
			      DMP_PREFIX_CHUNK, DMP_TXT_VALUE_MAX, 0) == 0) {
		uint8_t b2[DMP_CHUNK_BLOCK_BYTES];
		int r1, r2;

		dmp_sha256(hash, wire, len);
		r1 = dmp_chunk_unwrap(rs, txt, size, hash, b2);
		r2 = dmp_chunk_unwrap_repair(rs, txt, size, block, NULL);
		if (r1 != r2 || (r1 == 0 && memcmp(b2, block, 128) != 0)) {
			abort();
		}
		hash[0] ^= 1;
		if (dmp_chunk_unwrap(rs, txt, size, hash, b2) !=
		    DMP_ECHUNKHASH) {
			abort();
		}
	} else if (size >= 1 && dmp_chunk_unwrap(rs, txt, size, hash, block) ==
				    DMP_ECHUNKHASH) {
		abort(); /* prefix/base64 errors come before the hash */
	}
	return 0;
}
