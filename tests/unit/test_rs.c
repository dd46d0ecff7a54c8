/* tests/unit/test_rs.c - per-chunk Reed-Solomon (PROTOCOL.md 5.3) against
 * rs_chunk.json, plus randomised repair and failure loops. */
#include <fec.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"
#include "dmp/err.h"
#include "dmp/rs.h"
#include "tap.h"
#include "vec.h"

/* Corrupt @p nerr distinct positions of @p cw (each to a different value). */
static void corrupt(uint8_t *cw, size_t len, int nerr)
{
	uint8_t hit[255] = {0};

	for (int e = 0; e < nerr;) {
		size_t pos = vec_rng() % len;

		if (hit[pos]) {
			continue;
		}
		hit[pos] = 1;
		cw[pos] ^= (uint8_t)(1 + vec_rng() % 255);
		e++;
	}
}

static void test_params(struct dmp_rs *rs, const json_t *params)
{
	const json_t *gen = json_object_get(params, "generator_poly");
	uint8_t one = 1, parity[DMP_RS_PARITY], want[DMP_RS_PARITY];

	is_int((long long)json_array_size(gen), 33, "generator has 33 coeffs");
	is_int(json_integer_value(json_array_get(gen, 0)), 1, "g is monic");
	/* x^32 mod g = g - x^32: the parity of the 1-byte block 01 is the
	 * generator's lower 32 coefficients. */
	for (size_t i = 0; i < DMP_RS_PARITY; i++) {
		want[i] =
		    (uint8_t)json_integer_value(json_array_get(gen, i + 1));
	}
	is_int(dmp_rs_encode(rs, &one, 1, parity), 0, "encode 01");
	is_mem(parity, sizeof(parity), want, sizeof(want),
	       "parity of 01 is the generator polynomial");
	is_int(vec_int(params, "nsym_parity_bytes"), DMP_RS_PARITY, "nsym");
	is_int(vec_int(params, "correctable_byte_errors"), DMP_RS_MAX_ERRORS,
	       "t = 16");
	is_int(vec_int(params, "fcr"), 0, "fcr 0");
}

static void test_encode(struct dmp_rs *rs, const json_t *cases, int short_)
{
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *d = vec_str(c, "description");
		size_t dlen, elen;
		uint8_t *data = vec_hex(c, "data_hex", &dlen);
		uint8_t *enc = vec_hex(c, "encoded_hex", &elen);
		uint8_t parity[DMP_RS_PARITY], cw[255];
		int fixed = -1;

		is_int(dmp_rs_encode(rs, data, dlen, parity), 0, "encode %s",
		       d);
		is_mem(data, dlen, enc, dlen, "%s: systematic", d);
		is_mem(parity, sizeof(parity), enc + dlen, elen - dlen,
		       "%s: parity", d);
		if (!short_) {
			size_t plen;
			uint8_t *p = vec_hex(c, "parity_hex", &plen);

			is_mem(parity, sizeof(parity), p, plen,
			       "%s: parity_hex", d);
			free(p);
		}
		memcpy(cw, enc, elen);
		is_int(dmp_rs_decode(rs, cw, elen, &fixed), 0,
		       "%s: clean codeword decodes", d);
		is_int(fixed, 0, "%s: nothing corrected", d);
		/* Repair path for the shortened lengths too. */
		corrupt(cw, elen, 5);
		is_int(dmp_rs_decode(rs, cw, elen, &fixed), 0,
		       "%s: 5 errors repaired", d);
		is_int(fixed, 5, "%s: 5 symbols corrected", d);
		is_mem(cw, elen, enc, elen, "%s: repaired codeword", d);
		free(data);
		free(enc);
	}
}

static void test_decode_cases(struct dmp_rs *rs, const json_t *cases)
{
	for (size_t i = 0; i < json_array_size(cases); i++) {
		const json_t *c = json_array_get(cases, i);
		const char *d = vec_str(c, "description");
		size_t len;
		uint8_t *cw = vec_hex(c, "corrupted_encoded_hex", &len);
		uint8_t *orig = malloc(len);
		int fixed = -1, rc;

		memcpy(orig, cw, len);
		is_int((long long)len, 160, "%s: 160-byte codeword", d);
		rc = dmp_rs_decode(rs, cw, len, &fixed);
		if (strcmp(vec_str(c, "expect"), "ok") == 0) {
			size_t dl;
			uint8_t *want = vec_hex(c, "expected_data_hex", &dl);

			is_int(rc, 0, "%s: decodes", d);
			is_int(fixed, (int)vec_int(c, "n_errors"),
			       "%s: corrected count", d);
			is_mem(cw, 128, want, dl, "%s: data", d);
			free(want);
		} else {
			is_int(rc, DMP_ERSFAIL, "%s: uncorrectable", d);
			is_int(fixed, 0, "%s: no count on failure", d);
			is_mem(cw, len, orig, len, "%s: input untouched", d);
		}
		free(orig);
		free(cw);
	}
}

/* Randomised: 1..16 errors always repaired, 17..40 always refused. */
static void test_random(struct dmp_rs *rs)
{
	int bad_fix = 0, bad_fail = 0, runs = 0;

	for (uint64_t seed = 1; seed <= 3000; seed++) {
		uint8_t data[128], cw[160], orig[160];
		int nerr, fixed, rc;

		vec_rng_seed(seed * 0x9E3779B97F4A7C15ULL);
		for (size_t i = 0; i < sizeof(data); i++) {
			data[i] = (uint8_t)vec_rng();
		}
		memcpy(cw, data, 128);
		if (dmp_rs_encode(rs, data, 128, cw + 128) != 0) {
			bad_fix++;
			continue;
		}
		memcpy(orig, cw, sizeof(cw));
		nerr = 1 + (int)(seed % 16);
		corrupt(cw, sizeof(cw), nerr);
		rc = dmp_rs_decode(rs, cw, sizeof(cw), &fixed);
		if (rc != 0 || fixed != nerr || memcmp(cw, orig, 160) != 0) {
			bad_fix++;
		}
		/* Beyond t: must fail, and leave the input as it was. */
		memcpy(cw, orig, sizeof(cw));
		nerr = 17 + (int)(seed % 24);
		corrupt(cw, sizeof(cw), nerr);
		memcpy(orig, cw, sizeof(cw));
		rc = dmp_rs_decode(rs, cw, sizeof(cw), &fixed);
		if (rc != DMP_ERSFAIL || fixed != 0 ||
		    memcmp(cw, orig, 160) != 0) {
			bad_fail++;
		}
		runs++;
	}
	is_int(bad_fix, 0, "%d random blocks: 1..16 errors repaired", runs);
	is_int(bad_fail, 0, "%d random blocks: 17..40 errors refused", runs);
}

/*
 * Random words of short (heavily shortened) lengths: the decoder works on
 * the full 255-symbol code and may "correct" a symbol of the virtual zero
 * prefix or miscorrect; whatever dmp_rs_decode accepts must still be a
 * codeword of the shortened code within 16 symbols of the input.
 */
static void test_garbage(struct dmp_rs *rs)
{
	int accepted = 0, bad = 0, runs = 0;

	for (int it = 0; it < 20000; it++) {
		size_t len = 33 + vec_rng() % 40;
		uint8_t cw[255], in[255], parity[DMP_RS_PARITY];
		int fixed = -1, dist = 0;

		for (size_t i = 0; i < len; i++) {
			cw[i] = (uint8_t)vec_rng();
		}
		/* Half the time start from a codeword and damage it
		 * beyond t, to land near other codewords. */
		if (it & 1) {
			if (dmp_rs_encode(rs, cw, len - 32, cw + len - 32)) {
				bad++;
			}
			corrupt(cw, len, 17 + (int)(vec_rng() % 8));
		}
		memcpy(in, cw, len);
		runs++;
		if (dmp_rs_decode(rs, cw, len, &fixed) != 0) {
			bad += memcmp(cw, in, len) != 0 || fixed != 0;
			continue;
		}
		accepted++;
		for (size_t i = 0; i < len; i++) {
			dist += cw[i] != in[i];
		}
		if (dist != fixed || dist > 16 ||
		    dmp_rs_encode(rs, cw, len - 32, parity) != 0 ||
		    memcmp(parity, cw + len - 32, 32) != 0) {
			bad++;
		}
	}
	is_int(bad, 0,
	       "%d short damaged words: every acceptance is an honest "
	       "repair (%d accepted)",
	       runs, accepted);
}

static void test_misuse(struct dmp_rs *rs)
{
	uint8_t buf[256] = {0}, parity[DMP_RS_PARITY];
	int fixed = 7;

	is_int(dmp_rs_encode(rs, buf, 0, parity), DMP_EINVAL, "empty block");
	is_int(dmp_rs_encode(rs, buf, 224, parity), DMP_EINVAL, "224 > 223");
	is_int(dmp_rs_encode(rs, buf, 223, parity), 0, "223 is the maximum");
	is_int(dmp_rs_decode(rs, buf, 32, &fixed), DMP_EINVAL,
	       "32 bytes: no data");
	is_int(fixed, 0, "count reset on error");
	is_int(dmp_rs_decode(rs, buf, 256, NULL), DMP_EINVAL, "256 > 255");
	is_int(dmp_rs_decode(rs, buf, 255, NULL), 0, "all-zero 255 is valid");
	/* A codeword corrupted only in what would be a shortened code's
	 * virtual zero prefix does not exist; but a word that is only
	 * decodable by touching that prefix must fail. Take a full-length
	 * codeword with a nonzero first symbol and present its tail. */
	buf[0] = 0x5a;
	for (size_t i = 1; i < 223; i++) {
		buf[i] = (uint8_t)i;
	}
	if (dmp_rs_encode(rs, buf, 223, buf + 223) == 0) {
		uint8_t tail[200];

		memcpy(tail, buf + 55, sizeof(tail));
		/* tail differs from a codeword of the shortened code; at
		 * distance >= 17 decoding must fail, never invent symbols
		 * outside the word. */
		ok(dmp_rs_decode(rs, tail, sizeof(tail), &fixed) ==
			   DMP_ERSFAIL ||
		       fixed <= DMP_RS_MAX_ERRORS,
		   "truncated long codeword: failure or an honest repair");
	}
	dmp_rs_free(NULL); /* a no-op */
}

/* Our table-driven encoder against libfec's reference encoder, for every
 * length 1..223 and random contents. */
static void test_vs_libfec(struct dmp_rs *rs)
{
	void *full = init_rs_char(8, 0x11d, 0, 1, 32, 0);
	int bad = 0, runs = 0;

	if (!ok(full != NULL, "libfec init")) {
		return;
	}
	for (size_t len = 1; len <= DMP_RS_MAX_DATA; len++) {
		for (int rep = 0; rep < 8; rep++) {
			uint8_t buf[DMP_RS_MAX_DATA] = {0}, p1[32], p2[32];

			for (size_t i = 0; i < len; i++) {
				buf[DMP_RS_MAX_DATA - len + i] =
				    (uint8_t)vec_rng();
			}
			encode_rs_char(full, buf, p1);
			if (dmp_rs_encode(rs, buf + DMP_RS_MAX_DATA - len, len,
					  p2) != 0 ||
			    memcmp(p1, p2, 32) != 0) {
				bad++;
			}
			runs++;
		}
	}
	is_int(bad, 0,
	       "%d random blocks of every length: parity equals "
	       "libfec encode_rs_char",
	       runs);
	free_rs_char(full);
}

/* PROTOCOL.md 5.3 inline vector. */
static void test_inline(struct dmp_rs *rs)
{
	uint8_t data[128], parity[32], want[32];

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)i;
	}
	if (dmp_hex_decode(want, 32,
			   "c1b13256c52283a89aaa18220186766121c15b5a1148ec9c"
			   "8062880a13ab7f2d",
			   64) != 0) {
		abort();
	}
	is_int(dmp_rs_encode(rs, data, 128, parity), 0, "encode 00..7f");
	is_mem(parity, 32, want, 32, "5.3 vector parity");
}

int main(void)
{
	json_t *v = vec_load("rs_chunk.json");
	struct dmp_rs *rs = NULL;

	plan(137);
	if (!ok(dmp_rs_new(&rs) == 0 && rs, "dmp_rs_new")) {
		return done_testing();
	}
	test_params(rs, json_object_get(v, "params"));
	test_encode(rs, json_object_get(v, "encode_cases"), 0);
	test_encode(rs, json_object_get(v, "short_block_cases"), 1);
	test_decode_cases(rs, json_object_get(v, "decode_cases"));
	test_inline(rs);
	test_vs_libfec(rs);
	test_random(rs);
	test_garbage(rs);
	test_misuse(rs);
	dmp_rs_free(rs);
	json_decref(v);
	return done_testing();
}
