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
 * out[t] ^= gf_exp[log c + gf_log[in[t]]], where gf_log[0] points into a
 * run of zeros so zero bytes need no branch.
 */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/erasure.h"
#include "dmp/err.h"

/* alpha^i for i in 0..509 (two periods), then zeros: index 510 + anything
 * below 258 yields 0. Generated for polynomial 0x11D. */
static const uint8_t gf_exp[768] = {
    1,	 2,   4,   8,	16,  32,  64,  128, 29,	 58,  116, 232, 205, 135, 19,
    38,	 76,  152, 45,	90,  180, 117, 234, 201, 143, 3,   6,	12,  24,  48,
    96,	 192, 157, 39,	78,  156, 37,  74,  148, 53,  106, 212, 181, 119, 238,
    193, 159, 35,  70,	140, 5,	  10,  20,  40,	 80,  160, 93,	186, 105, 210,
    185, 111, 222, 161, 95,  190, 97,  194, 153, 47,  94,  188, 101, 202, 137,
    15,	 30,  60,  120, 240, 253, 231, 211, 187, 107, 214, 177, 127, 254, 225,
    223, 163, 91,  182, 113, 226, 217, 175, 67,	 134, 17,  34,	68,  136, 13,
    26,	 52,  104, 208, 189, 103, 206, 129, 31,	 62,  124, 248, 237, 199, 147,
    59,	 118, 236, 197, 151, 51,  102, 204, 133, 23,  46,  92,	184, 109, 218,
    169, 79,  158, 33,	66,  132, 21,  42,  84,	 168, 77,  154, 41,  82,  164,
    85,	 170, 73,  146, 57,  114, 228, 213, 183, 115, 230, 209, 191, 99,  198,
    145, 63,  126, 252, 229, 215, 179, 123, 246, 241, 255, 227, 219, 171, 75,
    150, 49,  98,  196, 149, 55,  110, 220, 165, 87,  174, 65,	130, 25,  50,
    100, 200, 141, 7,	14,  28,  56,  112, 224, 221, 167, 83,	166, 81,  162,
    89,	 178, 121, 242, 249, 239, 195, 155, 43,	 86,  172, 69,	138, 9,	  18,
    36,	 72,  144, 61,	122, 244, 245, 247, 243, 251, 235, 203, 139, 11,  22,
    44,	 88,  176, 125, 250, 233, 207, 131, 27,	 54,  108, 216, 173, 71,  142,
    1,	 2,   4,   8,	16,  32,  64,  128, 29,	 58,  116, 232, 205, 135, 19,
    38,	 76,  152, 45,	90,  180, 117, 234, 201, 143, 3,   6,	12,  24,  48,
    96,	 192, 157, 39,	78,  156, 37,  74,  148, 53,  106, 212, 181, 119, 238,
    193, 159, 35,  70,	140, 5,	  10,  20,  40,	 80,  160, 93,	186, 105, 210,
    185, 111, 222, 161, 95,  190, 97,  194, 153, 47,  94,  188, 101, 202, 137,
    15,	 30,  60,  120, 240, 253, 231, 211, 187, 107, 214, 177, 127, 254, 225,
    223, 163, 91,  182, 113, 226, 217, 175, 67,	 134, 17,  34,	68,  136, 13,
    26,	 52,  104, 208, 189, 103, 206, 129, 31,	 62,  124, 248, 237, 199, 147,
    59,	 118, 236, 197, 151, 51,  102, 204, 133, 23,  46,  92,	184, 109, 218,
    169, 79,  158, 33,	66,  132, 21,  42,  84,	 168, 77,  154, 41,  82,  164,
    85,	 170, 73,  146, 57,  114, 228, 213, 183, 115, 230, 209, 191, 99,  198,
    145, 63,  126, 252, 229, 215, 179, 123, 246, 241, 255, 227, 219, 171, 75,
    150, 49,  98,  196, 149, 55,  110, 220, 165, 87,  174, 65,	130, 25,  50,
    100, 200, 141, 7,	14,  28,  56,  112, 224, 221, 167, 83,	166, 81,  162,
    89,	 178, 121, 242, 249, 239, 195, 155, 43,	 86,  172, 69,	138, 9,	  18,
    36,	 72,  144, 61,	122, 244, 245, 247, 243, 251, 235, 203, 139, 11,  22,
    44,	 88,  176, 125, 250, 233, 207, 131, 27,	 54,  108, 216, 173, 71,  142,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,   0,	0,   0,	  0,   0,   0,	 0,   0,   0,	0,   0,	  0,
    0,	 0,   0,
};
static const uint16_t gf_log[256] = {
    510, 0,   1,   25,	2,   50,  26,  198, 3,	 223, 51,  238, 27,  104, 199,
    75,	 4,   100, 224, 14,  52,  141, 239, 129, 28,  193, 105, 248, 200, 8,
    76,	 113, 5,   138, 101, 47,  225, 36,  15,	 33,  53,  147, 142, 218, 240,
    18,	 130, 69,  29,	181, 194, 125, 106, 39,	 249, 185, 201, 154, 9,	  120,
    77,	 228, 114, 166, 6,   191, 139, 98,  102, 221, 48,  253, 226, 152, 37,
    179, 16,  145, 34,	136, 54,  208, 148, 206, 143, 150, 219, 189, 241, 210,
    19,	 92,  131, 56,	70,  64,  30,  66,  182, 163, 195, 72,	126, 110, 107,
    58,	 40,  84,  250, 133, 186, 61,  202, 94,	 155, 159, 10,	21,  121, 43,
    78,	 212, 229, 172, 115, 243, 167, 87,  7,	 112, 192, 247, 140, 128, 99,
    13,	 103, 74,  222, 237, 49,  197, 254, 24,	 227, 165, 153, 119, 38,  184,
    180, 124, 17,  68,	146, 217, 35,  32,  137, 46,  55,  63,	209, 91,  149,
    188, 207, 205, 144, 135, 151, 178, 220, 252, 190, 97,  242, 86,  211, 171,
    20,	 42,  93,  158, 132, 60,  57,  83,  71,	 109, 65,  162, 31,  45,  67,
    216, 183, 123, 164, 118, 196, 23,  73,  236, 127, 12,  111, 246, 108, 161,
    59,	 82,  41,  157, 85,  170, 251, 96,  134, 177, 187, 204, 62,  90,  203,
    89,	 95,  176, 156, 169, 160, 81,  11,  245, 22,  235, 122, 117, 44,  215,
    79,	 174, 213, 233, 230, 231, 173, 232, 116, 214, 244, 234, 168, 80,  88,
    175,
};

/* gf_log[0] == 510 is the zero sentinel described above. */
#define GF_ZERO_LOG 510

/* log(x_j): x_0 = 0 (sentinel), x_j = alpha^(j-1). */
static unsigned point_log(unsigned j)
{
	return j == 0 ? GF_ZERO_LOG : j - 1;
}

/* log(x_a - x_b) for a != b: subtraction is XOR in GF(2^8). */
static unsigned diff_log(unsigned a, unsigned b)
{
	return gf_log[gf_exp[point_log(a)] ^ gf_exp[point_log(b)]];
}

static unsigned mod255(unsigned v)
{
	return v % 255;
}

/*
 * Log denominators for the point set @p ids (k distinct ids):
 * dlog[s] = log prod_{m != s} (x_s - x_m).
 */
static void denominators(const unsigned *ids, unsigned k, unsigned *dlog)
{
	for (unsigned s = 0; s < k; s++) {
		unsigned acc = 0;

		for (unsigned m = 0; m < k; m++) {
			if (m != s) {
				acc += diff_log(ids[s], ids[m]);
			}
		}
		dlog[s] = mod255(acc);
	}
}

/*
 * Log coefficients clog[s] = log L_s(x_target) for a target not in @p ids.
 * N = prod_m (x_t - x_m); L_s = N / ((x_t - x_s) * D_s).
 */
static void coefficients(const unsigned *ids, unsigned k, const unsigned *dlog,
			 unsigned target, unsigned *clog)
{
	unsigned nlog = 0;
	unsigned dt[DMP_ERASURE_MAX_N];

	for (unsigned m = 0; m < k; m++) {
		dt[m] = diff_log(target, ids[m]);
		nlog += dt[m];
	}
	nlog = mod255(nlog);
	for (unsigned s = 0; s < k; s++) {
		/* Add multiples of 255 so the subtraction stays unsigned. */
		clog[s] = mod255(nlog + 2 * 255 - dt[s] - dlog[s]);
	}
}

/* out[t] ^= c * in[t] for t < len, c = alpha^lc. */
typedef void (*mul_add_fn)(uint8_t *restrict out, const uint8_t *restrict in,
			   size_t len, unsigned lc);

static void mul_add(uint8_t *restrict out, const uint8_t *restrict in,
		    size_t len, unsigned lc)
{
	const uint8_t *row = gf_exp + lc;

	for (size_t t = 0; t < len; t++) {
		out[t] ^= row[gf_log[in[t]]];
	}
}

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_SSSE3_PATH 1

/*
 * The same with PSHUFB: multiplication by c is linear, so c * b =
 * c * (b & 15) ^ c * (b & 0xf0), two 16-entry tables per coefficient and
 * 16 bytes per step. Selected at run time (SSSE3 is not in the x86-64
 * baseline).
 */
__attribute__((target("ssse3"))) static void
mul_add_ssse3(uint8_t *restrict out, const uint8_t *restrict in, size_t len,
	      unsigned lc)
{
	const uint8_t *row = gf_exp + lc;
	uint8_t lo[16], hi[16];
	__m128i tl, th, mask = _mm_set1_epi8(0x0f);
	size_t t = 0;

	for (unsigned i = 0; i < 16; i++) {
		lo[i] = row[gf_log[i]];
		hi[i] = row[gf_log[i << 4]];
	}
	tl = _mm_loadu_si128((const __m128i *)lo);
	th = _mm_loadu_si128((const __m128i *)hi);
	for (; t + 16 <= len; t += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(in + t));
		__m128i l = _mm_and_si128(v, mask);
		__m128i h = _mm_and_si128(_mm_srli_epi64(v, 4), mask);
		__m128i p = _mm_xor_si128(_mm_shuffle_epi8(tl, l),
					  _mm_shuffle_epi8(th, h));
		__m128i o = _mm_loadu_si128((const __m128i *)(out + t));

		_mm_storeu_si128((__m128i *)(out + t), _mm_xor_si128(o, p));
	}
	mul_add(out + t, in + t, len - t, lc);
}
#endif

static mul_add_fn pick_mul_add(void)
{
#ifdef HAVE_SSSE3_PATH
	if (__builtin_cpu_supports("ssse3")) {
		return mul_add_ssse3;
	}
#endif
	return mul_add;
}

/*
 * out = sum_s L_s(x_target) * src[s]: one share interpolated at one point.
 */
static void interpolate(uint8_t *out, size_t len, const uint8_t *const *src,
			const unsigned *ids, unsigned k, const unsigned *dlog,
			unsigned target)
{
	unsigned clog[DMP_ERASURE_MAX_N];
	mul_add_fn fn = pick_mul_add();

	coefficients(ids, k, dlog, target, clog);
	memset(out, 0, len);
	for (unsigned s = 0; s < k; s++) {
		fn(out, src[s], len, clog[s]);
	}
}

static int check_kn(unsigned k, unsigned n)
{
	return k >= 1 && k <= n && n <= DMP_ERASURE_MAX_N ? 0 : DMP_EINVAL;
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
	unsigned ids[DMP_ERASURE_MAX_N], dlog[DMP_ERASURE_MAX_N];
	const uint8_t *src[DMP_ERASURE_MAX_N];
	int rc = check_kn(k, n);

	if (rc < 0) {
		return rc;
	}
	for (unsigned s = 0; s < k; s++) {
		ids[s] = s;
		src[s] = data + (size_t)s * share_len;
	}
	denominators(ids, k, dlog);
	for (unsigned j = k; j < n; j++) {
		interpolate(parity + (size_t)(j - k) * share_len, share_len,
			    src, ids, k, dlog, j);
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
	denominators(use, k, dlog);
	for (unsigned i = 0; i < k; i++) {
		uint8_t *dst = out + (size_t)i * share_len;

		if (slot[i] >= 0) {
			memcpy(dst, shares[slot[i]], share_len);
		} else {
			interpolate(dst, share_len, src, use, k, dlog, i);
		}
	}
	return 0;
}

int dmp_erasure_pack(const uint8_t *msg, size_t len, uint8_t *shares,
		     size_t cap, unsigned *k, unsigned *n)
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
	if (cap / DMP_ERASURE_BLOCK < nn) {
		return DMP_ENOBUFS;
	}
	data_len = (size_t)kk * DMP_ERASURE_BLOCK;
	/* PROTOCOL.md 5.1: u32be(len) || msg || zero padding to 128k. */
	dmp_store_u32(shares, (uint32_t)len);
	if (len) {
		memcpy(shares + 4, msg, len);
	}
	memset(shares + 4 + len, 0, data_len - 4 - len);
	rc = dmp_erasure_encode(kk, nn, DMP_ERASURE_BLOCK, shares,
				shares + data_len);
	if (rc < 0) {
		return rc;
	}
	*k = kk;
	*n = nn;
	return 0;
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
