/* tests/unit/test_erasure.c - the k-of-n erasure code and its framing
 * (PROTOCOL.md 5.1, 5.2) against erasure.json, the 5.2 inline vectors,
 * and exhaustive/sampled loss patterns. */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dmp/erasure.h"
#include "tap.h"
#include "vec.h"

#define B DMP_ERASURE_BLOCK

/* Decode from the shares listed in @p ids; 0 and out filled on success. */
static int decode_ids(unsigned k, unsigned n, size_t slen,
		      const uint8_t *shares, const unsigned *ids, size_t cnt,
		      uint8_t *out)
{
	const uint8_t *ptr[DMP_ERASURE_MAX_N];

	for (size_t i = 0; i < cnt; i++) {
		ptr[i] = shares + (size_t)ids[i] * slen;
	}
	return dmp_erasure_decode(k, n, slen, ptr, ids, cnt, out);
}

static void test_case(const json_t *c)
{
	const char *d = vec_str(c, "description");
	unsigned k = (unsigned)vec_int(c, "k"), n = (unsigned)vec_int(c, "n");
	unsigned gk, gn;
	size_t plen, padlen;
	uint8_t *pt = vec_hex(c, "plaintext_hex", &plen);
	uint8_t *pad = vec_hex(c, "padded_hex", &padlen);
	uint8_t *shares = malloc((size_t)n * B), *out = malloc((size_t)k * B);
	const json_t *sh = json_object_get(c, "shares_hex");
	const json_t *rows = json_object_get(c, "encoding_matrix_parity_rows");
	const json_t *dc = json_object_get(c, "decode_cases");

	is_int((long long)plen, vec_int(c, "plaintext_len"), "%s: length", d);
	is_int(dmp_erasure_params(plen, &gk, &gn), 0, "%s: params", d);
	is_int(gk, k, "%s: k", d);
	is_int(gn, n, "%s: n", d);
	is_int(dmp_erasure_pack(pt, plen, shares, (size_t)n * B, &gk, &gn), 0,
	       "%s: pack", d);
	is_int(gk * 1000 + gn, k * 1000 + n, "%s: pack reports (k,n)", d);
	is_mem(shares, (size_t)k * B, pad, padlen, "%s: padded", d);
	is_int((long long)json_array_size(sh), n, "%s: n shares listed", d);
	for (size_t i = 0; i < json_array_size(sh); i++) {
		size_t l;
		uint8_t *want =
		    vec_unhex(json_string_value(json_array_get(sh, i)), &l);

		is_mem(shares + i * B, B, want, l, "%s: share %zu", d, i);
		free(want);
	}
	/* Matrix rows through the public API: with share_len 1, a unit
	 * vector for data share c yields column c of the parity rows. */
	is_int((long long)json_array_size(rows), n - k, "%s: parity rows", d);
	for (unsigned col = 0; col < k; col++) {
		uint8_t unit[DMP_ERASURE_MAX_N] = {0}, par[DMP_ERASURE_MAX_N];
		int bad = 0;

		unit[col] = 1;
		if (dmp_erasure_encode(k, n, 1, unit, par) != 0) {
			bad++;
		}
		for (unsigned r = 0; r < n - k; r++) {
			const json_t *row = json_array_get(rows, r);

			if (json_integer_value(json_array_get(row, col)) !=
			    par[r]) {
				bad++;
			}
		}
		is_int(bad, 0, "%s: matrix column %u", d, col);
	}
	for (size_t i = 0; i < json_array_size(dc); i++) {
		const json_t *x = json_array_get(dc, i);
		const json_t *idj = json_object_get(x, "share_ids");
		unsigned ids[DMP_ERASURE_MAX_N];
		size_t cnt = json_array_size(idj);
		const uint8_t *msg;
		size_t mlen;
		int rc;

		for (size_t j = 0; j < cnt; j++) {
			ids[j] = (unsigned)json_integer_value(
			    json_array_get(idj, j));
		}
		rc = decode_ids(k, n, B, shares, ids, cnt, out);
		if (strcmp(vec_str(x, "expect"), "ok") == 0) {
			is_int(rc, 0, "%s: decode case %zu", d, i);
			is_int(dmp_erasure_unpack(out, k, &msg, &mlen), 0,
			       "%s: unpack case %zu", d, i);
			is_mem(msg, mlen, pt, plen, "%s: plaintext case %zu", d,
			       i);
		} else {
			is_int(rc, DMP_ESHARES, "%s: case %zu fails", d, i);
		}
	}
	free(pt);
	free(pad);
	free(shares);
	free(out);
}

static void test_tables(const json_t *v)
{
	const json_t *kn = json_object_get(v, "kn_table");
	const json_t *sz = json_object_get(v, "size_samples");
	const char *key;
	json_t *val;
	int bad = 0;

	for (size_t i = 0; i < json_array_size(kn); i++) {
		const json_t *e = json_array_get(kn, i);
		size_t k = (size_t)json_integer_value(json_array_get(e, 0));
		unsigned gk, gn;

		/* The largest message with this k. */
		if (dmp_erasure_params(k * B - 4, &gk, &gn) != 0 || gk != k ||
		    gn != json_integer_value(json_array_get(e, 1))) {
			bad++;
			diag("kn_table k=%zu: got (%u,%u)", k, gk, gn);
		}
	}
	is_int(bad, 0, "kn_table: %zu entries", json_array_size(kn));
	is_int((long long)json_array_size(
		   json_object_get(v, "float_rounding_traps")),
	       0, "no float rounding traps: ceil(3k/10) is exact");
	json_object_foreach((json_t *)sz, key, val)
	{
		unsigned gk, gn;
		size_t len = (size_t)strtoul(key, NULL, 10);

		is_int(dmp_erasure_params(len, &gk, &gn), 0, "size %s", key);
		is_int(gk * 1000 + gn,
		       json_integer_value(json_array_get(val, 0)) * 1000 +
			   json_integer_value(json_array_get(val, 1)),
		       "size %s: (k,n)", key);
	}
}

/* PROTOCOL.md 5.2 small vectors. */
static void test_inline(void)
{
	uint8_t d[4 * B], p[2 * B], want[B];

	memset(d, 1, B);
	memset(d + B, 2, B);
	is_int(dmp_erasure_encode(2, 3, B, d, p), 0, "(2,3) encode");
	memset(want, 7, B);
	is_mem(p, B, want, B, "(2,3) parity all 0x07");
	memset(d + 2 * B, 3, B);
	is_int(dmp_erasure_encode(3, 4, B, d, p), 0, "(3,4) encode");
	memset(want, 0x15, B);
	is_mem(p, B, want, B, "(3,4) parity all 0x15");
	for (size_t i = 0; i < 4; i++) {
		for (size_t j = 0; j < B; j++) {
			d[i * B + j] = (uint8_t)(128 * i + j);
		}
	}
	is_int(dmp_erasure_encode(4, 6, B, d, p), 0, "(4,6) encode");
	is_mem(p, 8, "\xd4\xd5\xd6\xd7\xd0\xd1\xd2\xd3", 8, "(4,6) p4");
	is_mem(p + B, 8, "\x7d\x7c\x7f\x7e\x79\x78\x7b\x7a", 8, "(4,6) p5");
}

/* Every subset of size k (any n-k lost) decodes; every subset of size
 * k-1 fails with DMP_ESHARES. Exhaustive for n <= 16, sampled above. */
static void test_losses(unsigned k, unsigned n, int exhaustive)
{
	size_t slen = 37; /* odd length: nothing assumes 128 */
	uint8_t *sh = malloc((size_t)n * slen), *out = malloc((size_t)k * slen);
	unsigned ids[DMP_ERASURE_MAX_N];
	long tried = 0, bad = 0, short_bad = 0;

	for (size_t i = 0; i < (size_t)k * slen; i++) {
		sh[i] = (uint8_t)vec_rng();
	}
	if (dmp_erasure_encode(k, n, slen, sh, sh + (size_t)k * slen) != 0) {
		bad++;
	}
	if (exhaustive) {
		for (uint32_t m = 0; m < (1u << n); m++) {
			unsigned cnt = 0;

			if ((unsigned)__builtin_popcount(m) != k &&
			    (unsigned)__builtin_popcount(m) != k - 1) {
				continue;
			}
			/* Present the ids in descending order: decode must
			 * sort them itself. */
			for (int i = (int)n - 1; i >= 0; i--) {
				if (m & (1u << i)) {
					ids[cnt++] = (unsigned)i;
				}
			}
			tried++;
			if (cnt == k) {
				if (decode_ids(k, n, slen, sh, ids, cnt, out) !=
					0 ||
				    memcmp(out, sh, (size_t)k * slen) != 0) {
					bad++;
				}
			} else if (decode_ids(k, n, slen, sh, ids, cnt, out) !=
				   DMP_ESHARES) {
				short_bad++;
			}
		}
	} else {
		for (int t = 0; t < 200; t++) {
			unsigned perm[DMP_ERASURE_MAX_N];

			for (unsigned i = 0; i < n; i++) {
				perm[i] = i;
			}
			for (unsigned i = n - 1; i > 0; i--) {
				unsigned j = vec_rng() % (i + 1), x = perm[i];

				perm[i] = perm[j];
				perm[j] = x;
			}
			tried++;
			if (decode_ids(k, n, slen, sh, perm, k, out) != 0 ||
			    memcmp(out, sh, (size_t)k * slen) != 0) {
				bad++;
			}
			if (decode_ids(k, n, slen, sh, perm, k - 1, out) !=
			    DMP_ESHARES) {
				short_bad++;
			}
		}
	}
	is_int(bad, 0, "(%u,%u): %ld %s subsets, every k-subset decodes", k, n,
	       tried, exhaustive ? "exhaustive" : "sampled");
	is_int(short_bad, 0, "(%u,%u): every (k-1)-subset gives DMP_ESHARES", k,
	       n);
	free(sh);
	free(out);
}

static void test_framing_edges(void)
{
	static uint8_t big[DMP_ERASURE_MAX_MSG + 1];
	static uint8_t shares[DMP_ERASURE_MAX_N * B];
	uint8_t data[2 * B] = {0};
	const uint8_t *msg;
	size_t len;
	unsigned k, n;

	is_int(dmp_erasure_params(DMP_ERASURE_MAX_MSG, &k, &n), 0,
	       "25084 bytes fit");
	is_int(k * 1000 + n, 196 * 1000 + 255, "25084 -> (196,255)");
	is_int(dmp_erasure_params(DMP_ERASURE_MAX_MSG + 1, &k, &n), DMP_ETOOBIG,
	       "25085 bytes would need n > 256");
	is_int(k + n, 0, "k,n reset on failure");
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i * 7);
	}
	is_int(dmp_erasure_pack(big, DMP_ERASURE_MAX_MSG, shares,
				sizeof(shares), &k, &n),
	       0, "pack the largest message");
	{
		unsigned ids[DMP_ERASURE_MAX_N];
		const uint8_t *ptr[DMP_ERASURE_MAX_N];
		static uint8_t out[DMP_ERASURE_MAX_K * B];

		/* The last k shares: most data shares are rebuilt. */
		for (unsigned i = 0; i < k; i++) {
			ids[i] = n - k + i;
			ptr[i] = shares + (size_t)ids[i] * B;
		}
		is_int(dmp_erasure_decode(k, n, B, ptr, ids, k, out), 0,
		       "(196,255) from the last 196 shares");
		is_int(dmp_erasure_unpack(out, k, &msg, &len), 0, "unpack");
		is_mem(msg, len, big, DMP_ERASURE_MAX_MSG, "largest message");
	}
	is_int(
	    dmp_erasure_pack(big, sizeof(big), shares, sizeof(shares), &k, &n),
	    DMP_ETOOBIG, "pack refuses 25085 bytes");
	is_int(dmp_erasure_pack(big, 400, shares, 5 * B, &k, &n), DMP_ENOBUFS,
	       "pack needs n*128 bytes");
	is_int(dmp_erasure_pack(NULL, 0, shares, 2 * B, &k, &n), 0,
	       "empty message");

	/* Unpack: L <= 128k - 4. */
	data[3] = 124;
	is_int(dmp_erasure_unpack(data, 1, &msg, &len), 0, "L = 124 with k=1");
	is_int((long long)len, 124, "L read");
	data[3] = 125;
	is_int(dmp_erasure_unpack(data, 1, &msg, &len), DMP_EMALFORMED,
	       "L = 125 with k=1 refused");
	ok(msg == NULL && len == 0, "outputs reset");
	is_int(dmp_erasure_unpack(data, 2, &msg, &len), 0, "L = 125 with k=2");
	data[0] = 0xff;
	is_int(dmp_erasure_unpack(data, 2, &msg, &len), DMP_EMALFORMED,
	       "huge L refused");
	is_int(dmp_erasure_unpack(data, 0, &msg, &len), DMP_EINVAL, "k = 0");
	is_int(dmp_erasure_unpack(data, 257, &msg, &len), DMP_EINVAL,
	       "k = 257");
}

/* Whatever multiply routine handles long shares (SIMD or not) must agree
 * with the byte-at-a-time one used for 1-byte shares: (40,255) touches
 * 8600 coefficients, nearly every field element. */
static void test_paths_agree(void)
{
	enum { K = 40, N = 255, L = 48 };
	static uint8_t d[N * L], col[N], t[N];
	int bad = 0;

	for (size_t i = 0; i < K * L; i++) {
		d[i] = (uint8_t)vec_rng();
	}
	if (dmp_erasure_encode(K, N, L, d, d + K * L) != 0) {
		bad++;
	}
	for (size_t b = 0; b < L; b++) {
		for (size_t s = 0; s < K; s++) {
			col[s] = d[s * L + b];
		}
		if (dmp_erasure_encode(K, N, 1, col, t) != 0) {
			bad++;
		}
		for (size_t j = 0; j < N - K; j++) {
			bad += t[j] != d[(K + j) * L + b];
		}
	}
	is_int(bad, 0, "48-byte shares agree with 1-byte shares, (40,255)");
}

static void test_misuse(void)
{
	uint8_t d[4] = {1, 2, 3, 4}, p[4], out[4];
	const uint8_t *ptr[3] = {d, d + 1, d + 2};
	unsigned ids[3] = {0, 5, 1};
	static uint8_t big[256 * 2];

	is_int(dmp_erasure_encode(0, 2, 1, d, p), DMP_EINVAL, "k = 0");
	is_int(dmp_erasure_encode(3, 2, 1, d, p), DMP_EINVAL, "k > n");
	is_int(dmp_erasure_encode(2, 257, 1, d, p), DMP_ETOOBIG, "n = 257");
	is_int(dmp_erasure_encode(2, 2, 1, d, p), 0, "k = n: no parity");
	is_int(dmp_erasure_decode(2, 3, 1, ptr, ids, 3, out), DMP_EINVAL,
	       "share id >= n");
	is_int(dmp_erasure_decode(2, 1024, 1, ptr, ids, 3, out), DMP_ETOOBIG,
	       "n > 256 (a manifest may claim 1024)");
	/* Duplicates do not count twice. */
	ids[0] = 1;
	ids[1] = 1;
	is_int(dmp_erasure_decode(2, 3, 1, ptr, ids, 2, out), DMP_ESHARES,
	       "a duplicate id is not a second share");
	is_int(dmp_erasure_decode(2, 3, 1, ptr, ids, 0, out), DMP_ESHARES,
	       "no shares");
	/* n = 256 works: (1,256) and (255,256). */
	big[0] = 0xab;
	is_int(dmp_erasure_encode(1, 256, 1, big, big + 1), 0, "(1,256)");
	{
		int bad = 0;

		for (int i = 1; i < 256; i++) {
			bad += big[i] != 0xab;
		}
		is_int(bad, 0, "k = 1: every share is a copy");
	}
}

int main(void)
{
	json_t *v = vec_load("erasure.json");
	const json_t *cases = json_object_get(v, "cases");
	static const unsigned kn[][2] = {
	    {1, 2},	{2, 3},	  {3, 4},     {4, 6},	{5, 7},	    {6, 8},
	    {7, 10},	{8, 11},  {9, 12},    {10, 13}, {11, 15},   {12, 16},
	    {1, 16},	{15, 16}, {16, 21},   {32, 42}, {100, 130}, {196, 255},
	    {128, 256}, {1, 256}, {255, 256}, {2, 256},
	};

	plan(427);
	for (size_t i = 0; i < json_array_size(cases); i++) {
		test_case(json_array_get(cases, i));
	}
	test_tables(v);
	test_inline();
	for (size_t i = 0; i < DMP_ARRAY_LEN(kn); i++) {
		test_losses(kn[i][0], kn[i][1], kn[i][1] <= 16);
	}
	test_framing_edges();
	test_paths_agree();
	test_misuse();
	json_decref(v);
	return done_testing();
}
