/*
 * core/src/codec/rs.c - reedsolo-compatible RS(32) over libfec
 * (PROTOCOL.md 5.3).
 *
 * libfec fixes the shortening (pad) at init time, so the handle holds two
 * codecs: pad 95 for the 160-byte chunk codeword, the hot path, and pad 0
 * for any other length, fed with leading zero symbols. Leading zeros are
 * the highest powers, so they change neither parity nor syndromes.
 */
#include <fec.h>
#include <string.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/rs.h"

#define RS_NN 255
#define RS_CHUNK_LEN 160

struct dmp_rs {
	void *chunk; /* pad = 255 - 160 */
	void *full;  /* pad = 0 */
};

/* reedsolo RSCodec(32): symsize 8, poly 0x11D, fcr 0, prim 1, 32 roots. */
static void *rs_init(int pad)
{
	return init_rs_char(8, 0x11d, 0, 1, DMP_RS_PARITY, pad);
}

int dmp_rs_new(struct dmp_rs **out)
{
	struct dmp_rs *rs;

	*out = NULL;
	rs = dmp_calloc(1, sizeof(*rs));
	if (!rs) {
		return DMP_ENOMEM;
	}
	rs->chunk = rs_init(RS_NN - RS_CHUNK_LEN);
	rs->full = rs_init(0);
	if (!rs->chunk || !rs->full) {
		dmp_rs_free(rs);
		return DMP_ENOMEM;
	}
	*out = rs;
	return 0;
}

void dmp_rs_free(struct dmp_rs *rs)
{
	if (!rs) {
		return;
	}
	if (rs->chunk) {
		free_rs_char(rs->chunk);
	}
	if (rs->full) {
		free_rs_char(rs->full);
	}
	dmp_free(rs);
}

int dmp_rs_encode(struct dmp_rs *rs, const uint8_t *data, size_t len,
		  uint8_t parity[DMP_RS_PARITY])
{
	uint8_t buf[DMP_RS_MAX_DATA];

	if (len < 1 || len > DMP_RS_MAX_DATA) {
		return DMP_EINVAL;
	}
	if (len == RS_CHUNK_LEN - DMP_RS_PARITY) {
		/* libfec does not write through data; the copy only drops
		 * const. */
		memcpy(buf, data, len);
		encode_rs_char(rs->chunk, buf, parity);
		return 0;
	}
	memset(buf, 0, DMP_RS_MAX_DATA - len);
	memcpy(buf + DMP_RS_MAX_DATA - len, data, len);
	encode_rs_char(rs->full, buf, parity);
	return 0;
}

int dmp_rs_decode(struct dmp_rs *rs, uint8_t *cw, size_t len, int *corrected)
{
	uint8_t work[RS_NN], parity[DMP_RS_PARITY];
	size_t off, dist = 0;
	int n;

	if (corrected) {
		*corrected = 0;
	}
	if (len <= DMP_RS_PARITY || len > RS_NN) {
		return DMP_EINVAL;
	}
	off = len == RS_CHUNK_LEN ? 0 : RS_NN - len;
	memset(work, 0, off);
	memcpy(work + off, cw, len);
	n = decode_rs_char(len == RS_CHUNK_LEN ? rs->chunk : rs->full, work,
			   NULL, 0);
	if (n == 0) {
		/* All syndromes zero: already a codeword. */
		return 0;
	}
	if (n < 0 || n > DMP_RS_MAX_ERRORS) {
		return DMP_ERSFAIL;
	}
	/* Do not trust the decoder: a miscorrection or an error located in
	 * the virtual zero prefix must not come back as a block. */
	for (size_t i = 0; i < off; i++) {
		if (work[i]) {
			return DMP_ERSFAIL;
		}
	}
	for (size_t i = 0; i < len; i++) {
		dist += work[off + i] != cw[i];
	}
	if (dist == 0 || dist > DMP_RS_MAX_ERRORS ||
	    dmp_rs_encode(rs, work + off, len - DMP_RS_PARITY, parity) != 0 ||
	    memcmp(parity, work + off + len - DMP_RS_PARITY, DMP_RS_PARITY)) {
		return DMP_ERSFAIL;
	}
	memcpy(cw, work + off, len);
	if (corrected) {
		*corrected = (int)dist;
	}
	return 0;
}
