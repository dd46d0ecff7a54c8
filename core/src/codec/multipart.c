/*
 * core/src/codec/multipart.c - multi-part messages (multipart.h,
 * docs/protocol.md "Multi-part messages"): the part header line, the
 * split of a file into part bodies and their reassembly. Compression is
 * zlib's (Debian zlib1g), the hash libsodium's SHA-256 (dmp_sha256).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "dmp/b64.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/multipart.h"

#define MP_PREFIX "DMP-PART/"

static int header_valid(const struct dmp_mp_header *h, uint64_t data)
{
	if (h->count < 2 || h->count > DMP_MP_PARTS_MAX || h->index < 1 ||
	    h->index > h->count) {
		return 0;
	}
	if (h->file < 1 || h->file > DMP_MP_FILE_MAX || h->size < h->count) {
		return 0;
	}
	if (h->enc == DMP_MP_RAW       ? h->size != h->file
	    : h->enc == DMP_MP_DEFLATE ? h->size >= h->file
				       : 1) {
		return 0;
	}
	if (h->off >= h->size || data < 1 || data > h->size - h->off) {
		return 0;
	}
	/* The last part ends the payload; the others leave room after. */
	return (h->index == h->count) == (h->off + data == h->size);
}

int dmp_mp_header_format(const struct dmp_mp_header *h, char *out, size_t cap)
{
	char id[33], sha[65];
	int n;

	/* The data length is not known here: check what does not need it. */
	if (h->count < 2 || h->count > DMP_MP_PARTS_MAX || h->index < 1 ||
	    h->index > h->count || h->file < 1 || h->file > DMP_MP_FILE_MAX ||
	    h->off >= h->size ||
	    (h->enc != DMP_MP_RAW && h->enc != DMP_MP_DEFLATE)) {
		return DMP_EINVAL;
	}
	dmp_hex_encode(id, h->id, sizeof h->id);
	dmp_hex_encode(sha, h->sha256, sizeof h->sha256);
	n = snprintf(out, cap,
		     MP_PREFIX "1 id=%s part=%" PRIu32 "/%" PRIu32
			       " off=%" PRIu64 " size=%" PRIu64 " file=%" PRIu64
			       " enc=%s sha256=%s\n",
		     id, h->index, h->count, h->off, h->size, h->file,
		     h->enc == DMP_MP_RAW ? "raw" : "deflate", sha);
	if (n < 0 || (size_t)n >= cap) {
		return DMP_ENOBUFS;
	}
	return n;
}

/* A cursor over the header line. */
struct cur {
	const uint8_t *p;
	size_t len, at;
};

static int lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (c->len - c->at < n || memcmp(c->p + c->at, s, n) != 0) {
		return 0;
	}
	c->at += n;
	return 1;
}

/* A decimal without leading zeros, at most @p max. */
static int dec(struct cur *c, uint64_t max, uint64_t *v)
{
	size_t start = c->at;

	*v = 0;
	while (c->at < c->len && c->p[c->at] >= '0' && c->p[c->at] <= '9') {
		unsigned d = (unsigned)(c->p[c->at] - '0');

		if (*v > (max - d) / 10) {
			return 0;
		}
		*v = *v * 10 + d;
		c->at++;
	}
	return c->at > start && !(c->p[start] == '0' && c->at - start > 1);
}

/* Exactly 2 * @p n lower-case hex digits. */
static int hex(struct cur *c, uint8_t *out, size_t n)
{
	if (c->len - c->at < 2 * n) {
		return 0;
	}
	for (size_t i = 0; i < 2 * n; i++) {
		uint8_t ch = c->p[c->at + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return 0;
		}
	}
	if (dmp_hex_decode(out, n, (const char *)c->p + c->at, 2 * n) != 0) {
		return 0;
	}
	c->at += 2 * n;
	return 1;
}

int dmp_mp_header_parse(const uint8_t *body, size_t len,
			struct dmp_mp_header *h, size_t *data_off)
{
	struct cur c = {body, len, 0};
	uint64_t i, n;

	memset(h, 0, sizeof *h);
	*data_off = 0;
	if (len > DMP_MP_HEADER_MAX) {
		c.len = DMP_MP_HEADER_MAX; /* the line must end within it */
	}
	if (!lit(&c, MP_PREFIX)) {
		return 0;
	}
	if (!lit(&c, "1 ")) {
		return DMP_EUNSUPPORTED;
	}
	if (!lit(&c, "id=") || !hex(&c, h->id, sizeof h->id) ||
	    !lit(&c, " part=") || !dec(&c, DMP_MP_PARTS_MAX, &i) ||
	    !lit(&c, "/") || !dec(&c, DMP_MP_PARTS_MAX, &n) ||
	    !lit(&c, " off=") || !dec(&c, DMP_MP_FILE_MAX, &h->off) ||
	    !lit(&c, " size=") || !dec(&c, DMP_MP_FILE_MAX, &h->size) ||
	    !lit(&c, " file=") || !dec(&c, DMP_MP_FILE_MAX, &h->file) ||
	    !lit(&c, " enc=")) {
		return DMP_EMALFORMED;
	}
	if (lit(&c, "raw")) {
		h->enc = DMP_MP_RAW;
	} else if (lit(&c, "deflate")) {
		h->enc = DMP_MP_DEFLATE;
	} else {
		return DMP_EMALFORMED;
	}
	if (!lit(&c, " sha256=") || !hex(&c, h->sha256, sizeof h->sha256) ||
	    !lit(&c, "\n")) {
		return DMP_EMALFORMED;
	}
	h->index = (uint32_t)i;
	h->count = (uint32_t)n;
	if (!header_valid(h, len - c.at)) {
		return DMP_EMALFORMED;
	}
	*data_off = c.at;
	return 1;
}

int dmp_mp_same_whole(const struct dmp_mp_header *a,
		      const struct dmp_mp_header *b)
{
	return memcmp(a->id, b->id, sizeof a->id) == 0 &&
	       a->count == b->count && a->size == b->size &&
	       a->file == b->file && a->enc == b->enc &&
	       memcmp(a->sha256, b->sha256, sizeof a->sha256) == 0;
}

void dmp_mp_parts_free(struct dmp_mp_parts *p)
{
	if (p->body != NULL) {
		for (size_t i = 0; i < p->n; i++) {
			dmp_free(p->body[i]);
		}
	}
	dmp_free(p->body);
	dmp_free(p->len);
	memset(p, 0, sizeof *p);
}

/* The zlib stream of @p file when it is shorter than the file, else NULL. */
static uint8_t *deflated(const uint8_t *file, size_t len, size_t *out_len)
{
	uLongf n = compressBound((uLong)len);
	uint8_t *z = dmp_malloc(n);

	if (z == NULL) {
		return NULL;
	}
	if (compress2(z, &n, file, (uLong)len, Z_BEST_COMPRESSION) != Z_OK ||
	    n >= len) {
		dmp_free(z);
		return NULL;
	}
	*out_len = n;
	return z;
}

int dmp_mp_split(const uint8_t *file, size_t len, const uint8_t id[16],
		 size_t body_max, int compress, struct dmp_mp_parts *out)
{
	struct dmp_mp_header h;
	uint8_t *z = NULL;
	const uint8_t *pay = file;
	size_t size = len, per, n;
	int rc = DMP_ENOMEM;

	memset(out, 0, sizeof *out);
	if (len == 0 || body_max <= DMP_MP_HEADER_MAX) {
		return DMP_EINVAL;
	}
	if (len > DMP_MP_FILE_MAX) {
		return DMP_EFBIG;
	}
	memset(&h, 0, sizeof h);
	memcpy(h.id, id, sizeof h.id);
	dmp_sha256(h.sha256, file, len);
	h.file = len;
	h.enc = DMP_MP_RAW;
	if (compress && (z = deflated(file, len, &size)) != NULL) {
		pay = z;
		h.enc = DMP_MP_DEFLATE;
	}
	/* Each part carries `per` bytes of the payload (the last one the
	 * rest): first with room for the longest line there can be, then
	 * with room for the longest line of that many parts (the line of
	 * part n at the payload's last offset), which is no longer. */
	per = body_max - DMP_MP_HEADER_MAX;
	n = (size + per - 1) / per;
	if (n >= 2 && n <= DMP_MP_PARTS_MAX) {
		char line[DMP_MP_HEADER_MAX];
		int hl;

		h.size = size;
		h.index = h.count = (uint32_t)n;
		h.off = size - 1;
		hl = dmp_mp_header_format(&h, line, sizeof line);
		if (hl > 0) {
			per = body_max - (size_t)hl;
			n = (size + per - 1) / per;
		}
	}
	if (n < 2) { /* a whole is at least two parts: split it evenly */
		n = 2;
		per = (size + 1) / 2;
	}
	if (n > DMP_MP_PARTS_MAX || size < n) {
		rc = n > DMP_MP_PARTS_MAX ? DMP_EFBIG : DMP_EINVAL;
		goto cleanup;
	}
	h.size = size;
	h.count = (uint32_t)n;
	out->body = dmp_malloc(n * sizeof *out->body);
	out->len = dmp_malloc(n * sizeof *out->len);
	if (out->body == NULL || out->len == NULL) {
		goto cleanup;
	}
	memset(out->body, 0, n * sizeof *out->body);
	out->n = n;
	out->enc = h.enc;
	out->size = size;
	for (size_t i = 0; i < n; i++) {
		char line[DMP_MP_HEADER_MAX];
		size_t data = i + 1 < n ? per : size - per * (n - 1);
		int hl;

		h.index = (uint32_t)(i + 1);
		h.off = (uint64_t)per * i;
		hl = dmp_mp_header_format(&h, line, sizeof line);
		if (hl < 0) {
			rc = hl;
			goto cleanup;
		}
		out->body[i] = dmp_malloc((size_t)hl + data);
		if (out->body[i] == NULL) {
			goto cleanup;
		}
		memcpy(out->body[i], line, (size_t)hl);
		memcpy(out->body[i] + hl, pay + h.off, data);
		out->len[i] = (size_t)hl + data;
	}
	rc = 0;
cleanup:
	dmp_free(z);
	if (rc != 0) {
		dmp_mp_parts_free(out);
	}
	return rc;
}

/* Decode the payload @p pay (still the caller's) into the file (its
 * length known) and check its hash; a raw payload is the file itself. */
static int decode(const struct dmp_mp_header *h, uint8_t *pay, uint8_t **file)
{
	uint8_t sha[DMP_SHA256_BYTES];
	uLongf n = (uLongf)h->file;
	uint8_t *f = pay;

	*file = NULL;
	if (h->enc == DMP_MP_DEFLATE) {
		f = dmp_malloc((size_t)h->file);
		if (f == NULL) {
			return DMP_ENOMEM;
		}
		/* At most h->file bytes are written: no bomb beyond it. */
		if (uncompress(f, &n, pay, (uLong)h->size) != Z_OK ||
		    n != h->file) {
			dmp_free(f);
			return DMP_EMISMATCH;
		}
	}
	dmp_sha256(sha, f, (size_t)h->file);
	if (memcmp(sha, h->sha256, sizeof sha) != 0) {
		if (f != pay) {
			dmp_free(f);
		}
		return DMP_EMISMATCH;
	}
	*file = f;
	return 0;
}

int dmp_mp_join(const uint8_t *const *bodies, const size_t *lens, size_t n,
		uint8_t **file, size_t *file_len)
{
	struct dmp_mp_header first, h;
	uint8_t *pay = NULL;
	uint64_t *start = NULL, *end = NULL;
	size_t off;
	int rc = DMP_EMALFORMED;

	*file = NULL;
	*file_len = 0;
	if (n < 2 ||
	    dmp_mp_header_parse(bodies[0], lens[0], &first, &off) != 1 ||
	    n != first.count) {
		return DMP_EMALFORMED;
	}
	pay = dmp_malloc((size_t)first.size);
	start = dmp_malloc(n * sizeof *start);
	end = dmp_malloc(n * sizeof *end);
	if (pay == NULL || start == NULL || end == NULL) {
		rc = DMP_ENOMEM;
		goto cleanup;
	}
	memset(end, 0, n * sizeof *end); /* 0: not seen (data > 0) */
	for (size_t i = 0; i < n; i++) {
		if (dmp_mp_header_parse(bodies[i], lens[i], &h, &off) != 1 ||
		    !dmp_mp_same_whole(&first, &h) || end[h.index - 1] != 0) {
			goto cleanup;
		}
		/* inside the payload: checked by the parse */
		memcpy(pay + h.off, bodies[i] + off, lens[i] - off);
		start[h.index - 1] = h.off;
		end[h.index - 1] = h.off + (lens[i] - off);
	}
	/* Each index once; the parts must tile the payload in index order
	 * (the last one ends it: checked by the parse). */
	for (size_t i = 0; i < n; i++) {
		if (start[i] != (i == 0 ? 0 : end[i - 1])) {
			goto cleanup;
		}
	}
	rc = decode(&first, pay, file);
	if (rc == 0) {
		if (*file == pay) {
			pay = NULL; /* now the caller's */
		}
		*file_len = (size_t)first.file;
	}
cleanup:
	dmp_free(pay);
	dmp_free(start);
	dmp_free(end);
	return rc;
}
