/*
 * core/src/codec/rs.c - reedsolo-compatible RS(32) (PROTOCOL.md 5.3).
 *
 * Encoding is our own table-driven LFSR: the 32-byte remainder register
 * lives in four big-endian 64-bit words, and each input byte costs one
 * shift and one XOR of a precomputed row f * g(x) (8 KiB per handle),
 * about 25 times faster than libfec's symbol-by-symbol loop. A received
 * codeword whose parity re-encodes identically has all-zero syndromes and
 * needs no decoder; only damaged words go to libfec's decode_rs_char.
 *
 * libfec fixes the shortening (pad) at init time, so the handle holds two
 * decoders: pad 95 for the 160-byte chunk codeword, the hot path, and pad 0
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
	/* row[f] = f * (g(x) - x^32), coefficient of x^31 in the top byte
	 * of word 0. */
	uint64_t row[256][4];
};

/* GF(2^8)/0x11D multiply for the one-time table build. */
static uint8_t gf_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;

	while (b) {
		if (b & 1) {
			r ^= a;
		}
		a = (uint8_t)((a << 1) ^ (a & 0x80 ? 0x1d : 0));
		b >>= 1;
	}
	return r;
}

/* g(x) = prod_{i=0}^{31} (x - alpha^i), fcr 0 (PROTOCOL.md 5.3). */
static void build_rows(struct dmp_rs *rs)
{
	uint8_t g[DMP_RS_PARITY + 1] = {1}; /* highest power first */
	uint8_t root = 1;

	for (int i = 0; i < DMP_RS_PARITY; i++) {
		/* g <- g * (x + root): shift up one power, add root * g. */
		for (int j = i + 1; j > 0; j--) {
			g[j] ^= gf_mul(g[j - 1], root);
		}
		root = gf_mul(root, 2);
	}
	for (unsigned f = 0; f < 256; f++) {
		for (int w = 0; w < 4; w++) {
			uint64_t v = 0;

			for (int b = 0; b < 8; b++) {
				v = v << 8 |
				    gf_mul((uint8_t)f, g[1 + w * 8 + b]);
			}
			rs->row[f][w] = v;
		}
	}
}

/* Remainder of data(x) * x^32 mod g(x): the 32 parity bytes. */
static void lfsr(const struct dmp_rs *rs, const uint8_t *data, size_t len,
		 uint8_t *parity)
{
	uint64_t r0 = 0, r1 = 0, r2 = 0, r3 = 0;

	for (size_t i = 0; i < len; i++) {
		const uint64_t *t = rs->row[data[i] ^ (uint8_t)(r0 >> 56)];

		r0 = (r0 << 8 | r1 >> 56) ^ t[0];
		r1 = (r1 << 8 | r2 >> 56) ^ t[1];
		r2 = (r2 << 8 | r3 >> 56) ^ t[2];
		r3 = (r3 << 8) ^ t[3];
	}
	for (int b = 0; b < 8; b++) {
		int sh = 56 - 8 * b;

		parity[b] = (uint8_t)(r0 >> sh);
		parity[8 + b] = (uint8_t)(r1 >> sh);
		parity[16 + b] = (uint8_t)(r2 >> sh);
		parity[24 + b] = (uint8_t)(r3 >> sh);
	}
}

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
	build_rows(rs);
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
	if (len < 1 || len > DMP_RS_MAX_DATA) {
		return DMP_EINVAL;
	}
	lfsr(rs, data, len, parity);
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
	/* Fast path: parity consistent means zero syndromes, a codeword. */
	lfsr(rs, cw, len - DMP_RS_PARITY, parity);
	if (memcmp(parity, cw + len - DMP_RS_PARITY, DMP_RS_PARITY) == 0) {
		return 0;
	}
	off = len == RS_CHUNK_LEN ? 0 : RS_NN - len;
	memset(work, 0, off);
	memcpy(work + off, cw, len);
	n = decode_rs_char(len == RS_CHUNK_LEN ? rs->chunk : rs->full, work,
			   NULL, 0);
	if (n <= 0 || n > DMP_RS_MAX_ERRORS) {
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
	/* Every located error must have changed exactly one symbol. */
	if (dist != (size_t)n) {
		return DMP_ERSFAIL;
	}
	lfsr(rs, work + off, len - DMP_RS_PARITY, parity);
	if (memcmp(parity, work + off + len - DMP_RS_PARITY, DMP_RS_PARITY)) {
		return DMP_ERSFAIL;
	}
	memcpy(cw, work + off, len);
	if (corrected) {
		*corrected = (int)dist;
	}
	return 0;
}
