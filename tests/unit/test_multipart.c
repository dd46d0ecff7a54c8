/*
 * tests/unit/test_multipart.c - multi-part messages (multipart.h): the
 * header line round trip and its strict parse, split and join of raw and
 * compressible files in any order, and joins that must fail (a missing,
 * repeated or foreign part, a flipped byte of the whole).
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/multipart.h"
#include "tap.h"

static const uint8_t ID[16] = {1, 2,  3,  4,  5,  6,  7,  8,
			       9, 10, 11, 12, 13, 14, 15, 16};

static int parse(const char *s, struct dmp_mp_header *h, size_t *off)
{
	return dmp_mp_header_parse((const uint8_t *)s, strlen(s), h, off);
}

#define SHA                                                                    \
	"sha256="                                                              \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define IDH "id=0102030405060708090a0b0c0d0e0f10"

static void header(void)
{
	struct dmp_mp_header h, g;
	char line[DMP_MP_HEADER_MAX];
	size_t off;
	int n;

	memset(&h, 0, sizeof h);
	memcpy(h.id, ID, sizeof ID);
	h.index = 2;
	h.count = 3;
	h.off = 10;
	h.size = 25;
	h.file = 25;
	h.enc = DMP_MP_RAW;
	memset(h.sha256, 0xab, sizeof h.sha256);
	n = dmp_mp_header_format(&h, line, sizeof line);
	ok(n > 0 && line[n - 1] == '\n', "header line formatted (%d bytes)", n);
	/* part 2 of 3 with 10 bytes of data: off 10..20 < 25 */
	memcpy(line + n, "0123456789", 11);
	is_int(parse(line, &g, &off), 1, "header parses back");
	ok(memcmp(&g, &h, sizeof g) == 0, "same fields");
	is_int((long long)off, n, "data starts after the line");

	is_int(parse("Subject: hi\n\nbody", &g, &off), 0, "a text: no part");
	is_int(parse("DMP-PART/2 id=", &g, &off), DMP_EUNSUPPORTED,
	       "another version: unsupported");
	is_int(parse("DMP-PART/1 " IDH " part=1/2 off=0 size=4 file=4 "
		     "enc=raw " SHA "ab",
		     &g, &off),
	       1, "part 1/2 of a 4-byte file");
	is_int(parse("DMP-PART/1 " IDH " part=01/2 off=0 size=4 file=4 "
		     "enc=raw " SHA "ab",
		     &g, &off),
	       DMP_EMALFORMED, "leading zero refused");
	is_int(parse("DMP-PART/1 " IDH " part=2/2 off=0 size=4 file=4 "
		     "enc=raw " SHA "ab",
		     &g, &off),
	       DMP_EMALFORMED, "last part not ending the payload refused");
	is_int(parse("DMP-PART/1 " IDH " part=1/2 off=0 size=4 file=4 "
		     "enc=raw " SHA "abcd",
		     &g, &off),
	       DMP_EMALFORMED, "first part reaching the end refused");
	is_int(parse("DMP-PART/1 " IDH " part=1/2 off=0 size=4 file=4 "
		     "enc=deflate " SHA "ab",
		     &g, &off),
	       DMP_EMALFORMED, "deflate not smaller than the file refused");
	is_int(parse("DMP-PART/1 " IDH " part=1/2 off=0 size=4 file=5 "
		     "enc=raw " SHA "ab",
		     &g, &off),
	       DMP_EMALFORMED, "raw size differing from the file refused");
	is_int(parse("DMP-PART/1 " IDH " part=1/1 off=0 size=4 file=4 "
		     "enc=raw " SHA "abcd",
		     &g, &off),
	       DMP_EMALFORMED, "a whole of one part refused");
	is_int(parse("DMP-PART/1 " IDH " part=1/2 off=0 size=4 file=4 "
		     "enc=raw " SHA,
		     &g, &off),
	       DMP_EMALFORMED, "a part without data refused");
	is_int(parse("DMP-PART/1 " IDH " part=1/2 off=0 size=99999999999 "
		     "file=4 enc=raw " SHA "ab",
		     &g, &off),
	       DMP_EMALFORMED, "size over the cap refused");
	is_int(parse("DMP-PART/1 id=0102030405060708090A0B0C0D0E0F10 part=1/2"
		     " off=0 size=4 file=4 enc=raw " SHA "ab",
		     &g, &off),
	       DMP_EMALFORMED, "upper-case hex refused");
}

static uint8_t *file_of(size_t len, int text)
{
	uint8_t *f = malloc(len);
	uint32_t x = 12345;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		f[i] = text ? (uint8_t)("abcdefgh \n"[(x >> 16) % 10])
			    : (uint8_t)(x >> 16);
	}
	return f;
}

static void roundtrip(size_t len, int text, int compress, const char *what)
{
	struct dmp_mp_parts p;
	uint8_t *f = file_of(len, text), *got = NULL;
	const uint8_t **rev;
	size_t *rlen, glen = 0, max = 0;
	int rc;

	rc = dmp_mp_split(f, len, ID, 3600, compress, &p);
	is_int(rc, 0, "%s: split", what);
	for (size_t i = 0; i < p.n; i++) {
		max = p.len[i] > max ? p.len[i] : max;
	}
	ok(max <= 3600, "%s: %zu parts, none over 3600 bytes (%zu)", what, p.n,
	   max);
	is_int(p.enc, compress && text ? DMP_MP_DEFLATE : DMP_MP_RAW,
	       "%s: encoding", what);
	/* joined in reverse order */
	rev = malloc(p.n * sizeof *rev);
	rlen = malloc(p.n * sizeof *rlen);
	for (size_t i = 0; i < p.n; i++) {
		rev[i] = p.body[p.n - 1 - i];
		rlen[i] = p.len[p.n - 1 - i];
	}
	rc = dmp_mp_join(rev, rlen, p.n, &got, &glen);
	is_int(rc, 0, "%s: join in reverse order", what);
	is_mem(got, glen, f, len, "%s: byte for byte", what);
	dmp_free(got);
	got = NULL;

	/* a missing part, a repeated part */
	rc = dmp_mp_join(rev, rlen, p.n - 1, &got, &glen);
	is_int(rc, DMP_EMALFORMED, "%s: a missing part refused", what);
	rev[1] = rev[0];
	rlen[1] = rlen[0];
	rc = dmp_mp_join(rev, rlen, p.n, &got, &glen);
	is_int(rc, DMP_EMALFORMED, "%s: a repeated part refused", what);
	free(rev);
	free(rlen);

	/* a flipped data byte of the last part: the hash catches it (raw) or
	 * zlib's check does (deflate) */
	p.body[p.n - 1][p.len[p.n - 1] - 1] ^= 1;
	rc = dmp_mp_join((const uint8_t *const *)p.body, p.len, p.n, &got,
			 &glen);
	is_int(rc, DMP_EMISMATCH, "%s: a changed byte refused", what);
	ok(got == NULL, "%s: nothing returned", what);
	dmp_mp_parts_free(&p);
	free(f);
}

static void others(void)
{
	struct dmp_mp_parts a, b;
	uint8_t *f = file_of(8000, 0), *got = NULL;
	uint8_t id2[16] = {9};
	const uint8_t *mix[3];
	size_t ml[3], glen;

	is_int(dmp_mp_split(f, 0, ID, 3600, 0, &a), DMP_EINVAL,
	       "an empty file refused");
	is_int(dmp_mp_split(f, 8000, ID, DMP_MP_HEADER_MAX, 0, &a), DMP_EINVAL,
	       "a body cap without room for data refused");
	is_int(dmp_mp_split(f, (size_t)DMP_MP_FILE_MAX + 1, ID, 3600, 0, &a),
	       DMP_EFBIG, "a file over the format's cap refused");
	is_int(dmp_mp_split(f, 100, ID, 3600, 0, &a), 0,
	       "a small file splits too");
	is_int((long long)a.n, 2, "into two parts");
	dmp_mp_parts_free(&a);

	if (!ok(dmp_mp_split(f, 8000, ID, 3600, 0, &a) == 0 &&
		    dmp_mp_split(f, 8000, id2, 3600, 0, &b) == 0 && a.n == 3 &&
		    b.n == 3,
		"two wholes of three parts")) {
		exit(1);
	}
	for (size_t i = 0; i < 3; i++) {
		mix[i] = i == 1 ? b.body[i] : a.body[i];
		ml[i] = i == 1 ? b.len[i] : a.len[i];
	}
	is_int(dmp_mp_join(mix, ml, 3, &got, &glen), DMP_EMALFORMED,
	       "a part of another whole refused");
	dmp_mp_parts_free(&a);
	dmp_mp_parts_free(&b);
	free(f);
}

int main(void)
{
	plan(17 + 3 * 9 + 6);
	header();
	roundtrip(100 * 1000, 0, 1, "100 KB random");
	roundtrip(100 * 1000, 1, 1, "100 KB text");
	roundtrip(20 * 1000, 1, 0, "20 KB text, no compression");
	others();
	return done_testing();
}
