/*
 * core/src/codec/erasure.c - zfec-compatible k-of-n erasure code from the
 * maths of PROTOCOL.md 5.2, and the 5.1 framing.
 *
 * Every output byte is a GF(2^8) linear combination of k input bytes. The
 * coefficients are Lagrange basis values: for known points S and a target
 * point x, L_s(x) = prod_{m != s} (x - x_m) / (x_s - x_m). That is the same
 * matrix as zfec's E = V * V_top^-1 (its rows are the unique interpolation
 * weights), but costs O(k) per row after an O(k^2) setup instead of a
 * matrix inversion. Coefficients are kept as logarithms; the byte loop is
 * out[t] ^= dmp_gf_exp[log c + dmp_gf_log[in[t]]], where dmp_gf_log[0] points
 * into a run of zeros so zero bytes need no branch.
 */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/erasure.h"
#include "dmp/err.h"
#include "gf_i.h"

/* x_0 = 0, x_j = alpha^(j-1) (PROTOCOL.md 5.2). */
static uint8_t point(unsigned j)
{
	return j == 0 ? 0 : dmp_gf_exp[j - 1];
}

/*
 * Log denominators for the points @p x (k distinct values):
 * dlog[s] = log prod_{m != s} (x_s - x_m). Each pair is visited once;
 * subtraction is XOR, so x_s - x_m = x_m - x_s.
 */
static void denominators(const uint8_t *x, unsigned k, unsigned *dlog)
{
	for (unsigned s = 0; s < k; s++) {
		dlog[s] = 0;
	}
	for (unsigned s = 0; s < k; s++) {
		for (unsigned m = s + 1; m < k; m++) {
			unsigned d = dmp_gf_log[x[s] ^ x[m]];

			dlog[s] += d;
			dlog[m] += d;
		}
	}
	for (unsigned s = 0; s < k; s++) {
		dlog[s] %= 255;
	}
}

/*
 * Log coefficients clog[s] = log L_s(xt) for a point xt not in @p x.
 * N = prod_m (xt - x_m); L_s = N / ((xt - x_s) * D_s).
 */
static void coefficients(const uint8_t *x, unsigned k, const unsigned *dlog,
			 uint8_t xt, unsigned *clog)
{
	unsigned nlog = 0;
	unsigned dt[DMP_ERASURE_MAX_N];

	for (unsigned m = 0; m < k; m++) {
		dt[m] = dmp_gf_log[xt ^ x[m]];
		nlog += dt[m];
	}
	nlog %= 255;
	for (unsigned s = 0; s < k; s++) {
		/* Add multiples of 255 so the subtraction stays unsigned. */
		clog[s] = (nlog + 2 * 255 - dt[s] - dlog[s]) % 255;
	}
}

/*
 * out = sum_s L_s(x_target) * src[s]: one share interpolated at one point.
 */
static void interpolate(uint8_t *out, size_t len, const uint8_t *const *src,
			const uint8_t *x, unsigned k, const unsigned *dlog,
			unsigned target)
{
	unsigned clog[DMP_ERASURE_MAX_N];
	dmp_gf_mul_add_fn fn = dmp_gf_pick_mul_add(len);

	coefficients(x, k, dlog, point(target), clog);
	memset(out, 0, len);
	for (unsigned s = 0; s < k; s++) {
		fn(out, src[s], len, clog[s]);
	}
}

/* n comes from a manifest, which may claim up to 1024 (PROTOCOL.md 10.17):
 * that is a protocol limit, not caller misuse. */
static int check_kn(unsigned k, unsigned n)
{
	if (n > DMP_ERASURE_MAX_N) {
		return DMP_ETOOBIG;
	}
	return k >= 1 && k <= n ? 0 : DMP_EINVAL;
}

int dmp_erasure_params(size_t len, unsigned *k, unsigned *n)
{
	size_t kk, nn;

	*k = 0;
	*n = 0;
	if (len > DMP_ERASURE_MAX_MSG) {
		return DMP_ETOOBIG;
	}
	kk = (len + 4 + DMP_ERASURE_BLOCK - 1) / DMP_ERASURE_BLOCK;
	/* ceil(3k/10) equals the reference's float max(1, ceil(0.3k)) for
	 * every k up to 1024 (PROTOCOL.md 5.1, erasure.json). */
	nn = kk + (3 * kk + 9) / 10;
	*k = (unsigned)kk;
	*n = (unsigned)nn;
	return 0;
}

int dmp_erasure_encode(unsigned k, unsigned n, size_t share_len,
		       const uint8_t *data, uint8_t *parity)
{
	uint8_t x[DMP_ERASURE_MAX_N];
	unsigned dlog[DMP_ERASURE_MAX_N];
	const uint8_t *src[DMP_ERASURE_MAX_N];
	int rc = check_kn(k, n);

	if (rc < 0) {
		return rc;
	}
	for (unsigned s = 0; s < k; s++) {
		x[s] = point(s);
		src[s] = data + (size_t)s * share_len;
	}
	denominators(x, k, dlog);
	for (unsigned j = k; j < n; j++) {
		interpolate(parity + (size_t)(j - k) * share_len, share_len,
			    src, x, k, dlog, j);
	}
	return 0;
}

int dmp_erasure_decode(unsigned k, unsigned n, size_t share_len,
		       const uint8_t *const *shares, const unsigned *ids,
		       size_t count, uint8_t *out)
{
	/* Index of the first share given for each id, or -1. */
	int slot[DMP_ERASURE_MAX_N];
	unsigned use[DMP_ERASURE_MAX_N], dlog[DMP_ERASURE_MAX_N];
	uint8_t x[DMP_ERASURE_MAX_N];
	const uint8_t *src[DMP_ERASURE_MAX_N];
	unsigned have = 0;
	int rc = check_kn(k, n);

	if (rc < 0) {
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		slot[i] = -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (ids[i] >= n) {
			return DMP_EINVAL;
		}
		if (slot[ids[i]] < 0) {
			slot[ids[i]] = (int)i;
		}
	}
	/* The k lowest ids, ascending, as the reference picks them. */
	for (unsigned i = 0; i < n && have < k; i++) {
		if (slot[i] >= 0) {
			use[have] = i;
			x[have] = point(i);
			src[have] = shares[slot[i]];
			have++;
		}
	}
	if (have < k) {
		return DMP_ESHARES;
	}
	/* use[] is ascending, so every data id below k that is held sits at
	 * use[id] exactly when use[k-1] == k-1: then nothing is missing. */
	if (use[k - 1] == k - 1) {
		for (unsigned i = 0; i < k; i++) {
			memcpy(out + (size_t)i * share_len, src[i], share_len);
		}
		return 0;
	}
	denominators(x, k, dlog);
	for (unsigned i = 0; i < k; i++) {
		uint8_t *dst = out + (size_t)i * share_len;

		if (slot[i] >= 0) {
			memcpy(dst, shares[slot[i]], share_len);
		} else {
			interpolate(dst, share_len, src, x, k, dlog, i);
		}
	}
	return 0;
}

/* Frame @p len bytes into at least @p min_k data shares, padding with
 * zeros (the reference's framing) or random bytes, then encode. */
static int pack(const uint8_t *msg, size_t len, unsigned min_k, int rnd,
		uint8_t *shares, size_t cap, unsigned *k, unsigned *n)
{
	unsigned kk, nn;
	size_t data_len;
	int rc;

	*k = 0;
	*n = 0;
	rc = dmp_erasure_params(len, &kk, &nn);
	if (rc < 0) {
		return rc;
	}
	if (min_k > kk) {
		kk = min_k;
		nn = kk + (3 * kk + 9) / 10;
		if (nn > DMP_ERASURE_MAX_N) {
			return DMP_ETOOBIG;
		}
	}
	if (cap / DMP_ERASURE_BLOCK < nn) {
		return DMP_ENOBUFS;
	}
	data_len = (size_t)kk * DMP_ERASURE_BLOCK;
	/* PROTOCOL.md 5.1: u32be(len) || msg || zero padding to 128k. */
	dmp_store_u32(shares, (uint32_t)len);
	if (len) {
		memcpy(shares + 4, msg, len);
	}
	if (rnd) {
		dmp_random(shares + 4 + len, data_len - 4 - len);
	} else {
		memset(shares + 4 + len, 0, data_len - 4 - len);
	}
	rc = dmp_erasure_encode(kk, nn, DMP_ERASURE_BLOCK, shares,
				shares + data_len);
	if (rc < 0) {
		return rc;
	}
	*k = kk;
	*n = nn;
	return 0;
}

int dmp_erasure_pack(const uint8_t *msg, size_t len, uint8_t *shares,
		     size_t cap, unsigned *k, unsigned *n)
{
	return pack(msg, len, 0, 0, shares, cap, k, n);
}

int dmp_erasure_pack_padded(const uint8_t *msg, size_t len, unsigned min_k,
			    uint8_t *shares, size_t cap, unsigned *k,
			    unsigned *n)
{
	return pack(msg, len, min_k, 1, shares, cap, k, n);
}

int dmp_erasure_unpack(const uint8_t *data, unsigned k, const uint8_t **msg,
		       size_t *len)
{
	struct dmp_rbuf b;
	size_t total;
	uint32_t l;

	*msg = NULL;
	*len = 0;
	if (k < 1 || k > DMP_ERASURE_MAX_N) {
		return DMP_EINVAL;
	}
	total = (size_t)k * DMP_ERASURE_BLOCK;
	dmp_rbuf_init(&b, data, total);
	l = dmp_rbuf_u32(&b); /* PROTOCOL.md 5.2 Unpack: L <= 128k - 4 */
	if (dmp_rbuf_error(&b) || l > total - 4) {
		return DMP_EMALFORMED;
	}
	*msg = dmp_rbuf_take(&b, l);
	*len = l;
	return 0;
}
