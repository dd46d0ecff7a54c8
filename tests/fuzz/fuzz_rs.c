/*
 * tests/fuzz/fuzz_rs.c - RS decode of arbitrary codewords (PROTOCOL.md
 * 5.3). Whenever decode claims success, the output must be a valid
 * codeword within 16 symbols of the input; a clean codeword with at most
 * 16 injected errors must come back exactly. abort() otherwise.
 *
 * Input: byte 0 selects the mode.
 *   even: bytes 1.. are the codeword itself (length 33..255, default 160)
 *   odd:  byte 1 = number of errors, bytes 2..129 = data block; the rest
 *         are (position, xor) pairs applied to its 160-byte codeword
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/rs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dmp_rs *codec(void)
{
	/* One handle for the process: the harness has no teardown. */
	static struct dmp_rs *rs;

	if (!rs && dmp_rs_new(&rs) != 0) {
		abort();
	}
	return rs;
}

/* Success must mean: codeword, and within 16 symbols of @p in. */
static void check(struct dmp_rs *rs, const uint8_t *in, const uint8_t *out,
		  size_t len, int fixed)
{
	uint8_t parity[DMP_RS_PARITY];
	int dist = 0;

	for (size_t i = 0; i < len; i++) {
		dist += in[i] != out[i];
	}
	if (dist != fixed || dist > DMP_RS_MAX_ERRORS ||
	    dmp_rs_encode(rs, out, len - DMP_RS_PARITY, parity) != 0 ||
	    memcmp(parity, out + len - DMP_RS_PARITY, DMP_RS_PARITY) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_rs *rs = codec();
	uint8_t cw[255], in[255], orig[160];
	size_t len;
	int fixed = -1, rc, nerr = 0;

	if (size < 2) {
		return 0;
	}
	if ((data[0] & 1) == 0) {
		len = size - 1 > 255 ? 255 : size - 1;
		memcpy(cw, data + 1, len);
	} else {
		uint8_t hit[160] = {0};

		if (size < 130) {
			return 0;
		}
		len = 160;
		memcpy(cw, data + 2, 128);
		if (dmp_rs_encode(rs, cw, 128, cw + 128) != 0) {
			abort();
		}
		memcpy(orig, cw, len);
		for (size_t i = 130; i + 1 < size && nerr < data[1] % 64;
		     i += 2) {
			size_t pos = data[i] % 160;

			if (!hit[pos] && data[i + 1]) {
				hit[pos] = 1;
				cw[pos] ^= data[i + 1];
				nerr++;
			}
		}
	}
	memcpy(in, cw, len);
	rc = dmp_rs_decode(rs, cw, len, &fixed);
	if (rc == 0) {
		check(rs, in, cw, len, fixed);
	} else if ((rc != DMP_ERSFAIL && rc != DMP_EINVAL) || fixed != 0 ||
		   memcmp(cw, in, len) != 0) {
		abort();
	}
	if (data[0] & 1) {
		/* Within t the original must come back; beyond t it must
		 * never be claimed (it is more than 16 symbols away). */
		if (nerr <= DMP_RS_MAX_ERRORS &&
		    (rc != 0 || memcmp(cw, orig, 160) != 0)) {
			abort();
		}
		if (nerr > DMP_RS_MAX_ERRORS && rc == 0 &&
		    memcmp(cw, orig, 160) == 0) {
			abort();
		}
	}
	return 0;
}
