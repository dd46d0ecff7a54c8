/*
 * core/src/client/mail.c - mail conventions in message bodies (mail.h):
 * the leading header block, the Maildir rendering with MIME for binary
 * bodies, the import of an RFC 5322 message for `dmp sendmail`, and the
 * addresses of To/Cc for `sendmail -t`.
 *
 * Hand-written: Debian's mail libraries (gmime, libetpan, mailutils) parse
 * whole MIME trees with their own allocation and charset machinery; we
 * only need to recognise a few header fields strictly and write a
 * multipart wrapper, so a small bounded scanner over the bytes is less to
 * trust (and to fuzz: tests/fuzz/fuzz_mailhdr.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/mail.h"
#include "dmp/text.h"

static const char *const names[DMP_MAIL_F_COUNT] = {
    "Subject",
    "In-Reply-To",
    "References",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Disposition-Notification-To",
};

/* The longest header a whole message (sendmail's input) may have. */
#define IMPORT_HEADER_MAX (256 * 1024)
/* The longest value of one address field we take apart. */
#define ADDR_FIELD_MAX 16384
#define ADDR_MAX 319

const char *dmp_mail_field_name(enum dmp_mail_field f)
{
	return (unsigned)f < DMP_MAIL_F_COUNT ? names[f] : "?";
}

/* The line at @p off: *n bytes without its LF (and a CR before it),
 * *next after the LF. 0 when no LF follows. */
static int next_line(const uint8_t *p, size_t len, size_t off, size_t *n,
		     size_t *next)
{
	const uint8_t *nl = memchr(p + off, '\n', len - off);

	if (!nl) {
		return 0;
	}
	*n = (size_t)(nl - (p + off));
	*next = off + *n + 1;
	if (*n > 0 && p[off + *n - 1] == '\r') {
		(*n)--;
	}
	return 1;
}

/* The length of "Name" when the line is "Name:..." (RFC 5322 ftext). */
static size_t name_len(const uint8_t *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] > 32 && l[i] < 127 && l[i] != ':') {
		i++;
	}
	return i > 0 && i < n && l[i] == ':' ? i : 0;
}

/* Printable UTF-8, tabs allowed, no other control byte. */
static int line_ok(const uint8_t *l, size_t n)
{
	if (n > DMP_MAIL_LINE_MAX) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if ((l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f) {
			return 0;
		}
	}
	return dmp_utf8_valid(l, n);
}

static int field_index(const uint8_t *name, size_t nl)
{
	for (int i = 0; i < DMP_MAIL_F_COUNT; i++) {
		if (strlen(names[i]) == nl &&
		    strncasecmp((const char *)name, names[i], nl) == 0) {
			return i;
		}
	}
	return -1;
}

/* One field of a header: [off, off+len) through its continuation lines. */
struct hfield {
	size_t off, len, nl;
};

/*
 * Walk the header at the start of @p p (at most @p max bytes, empty line
 * included), calling @p fn for each field. @return 1 with *body_off set,
 * 0 when it is not a well-formed header (see mail.h), or what @p fn
 * returned when it was negative.
 */
static int walk(const uint8_t *p, size_t len, size_t max,
		int (*fn)(const uint8_t *p, const struct hfield *f, void *ud),
		void *ud, size_t *body_off)
{
	struct hfield cur = {0, 0, 0};
	size_t off = 0, n, next, fields = 0;
	int have = 0, rc;

	while (off < len && off < max) {
		if (!next_line(p, len, off, &n, &next) || next > max) {
			return 0;
		}
		if (n == 0) {
			if (have && (rc = fn(p, &cur, ud)) < 0) {
				return rc;
			}
			*body_off = next;
			return have;
		}
		if (!line_ok(p + off, n)) {
			return 0;
		}
		if (p[off] == ' ' || p[off] == '\t') {
			if (!have) {
				return 0;
			}
			cur.len = off + n - cur.off;
		} else {
			size_t k = name_len(p + off, n);

			if (k == 0 || ++fields > DMP_MAIL_FIELDS_MAX) {
				return 0;
			}
			if (have && (rc = fn(p, &cur, ud)) < 0) {
				return rc;
			}
			cur.off = off;
			cur.len = n;
			cur.nl = k;
			have = 1;
		}
		off = next;
	}
	return 0;
}

/* The value of @p f: after "Name:" and leading blanks. */
static size_t value_off(const uint8_t *p, const struct hfield *f)
{
	size_t v = f->off + f->nl + 1, end = f->off + f->len;

	while (v < end && (p[v] == ' ' || p[v] == '\t')) {
		v++;
	}
	return v;
}

/* A Message-ID we keep: one "<x@y>" on one line, nothing else. */
static int msgid_ok(const uint8_t *v, size_t n)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
		n--;
	}
	if (n < 5 || n > 250 || v[0] != '<' || v[n - 1] != '>' ||
	    !memchr(v, '@', n)) {
		return 0;
	}
	for (size_t i = 1; i + 1 < n; i++) {
		if (v[i] <= 32 || v[i] >= 127 || v[i] == '<' || v[i] == '>') {
			return 0;
		}
	}
	return 1;
}

static int block_field(const uint8_t *p, const struct hfield *f, void *ud)
{
	struct dmp_mail_block *b = ud;
	int i = field_index(p + f->off, f->nl);
	size_t v = value_off(p, f);

	if (i < 0 || (i == DMP_MAIL_F_MESSAGE_ID &&
		      !msgid_ok(p + v, f->off + f->len - v))) {
		b->dropped++;
		return 0;
	}
	for (size_t k = 0; k < b->n; k++) {
		if (b->f[k].field == (enum dmp_mail_field)i) {
			b->dropped++;
			return 0;
		}
	}
	b->f[b->n].field = (enum dmp_mail_field)i;
	b->f[b->n].off = f->off;
	b->f[b->n].len = f->len;
	b->f[b->n].val = v;
	b->n++;
	return 0;
}

int dmp_mail_block_parse(const uint8_t *body, size_t len,
			 struct dmp_mail_block *b)
{
	size_t n, next, k;

	memset(b, 0, sizeof(*b));
	/* The first line decides: an allow-listed field, or plain text. */
	if (len == 0 || !next_line(body, len, 0, &n, &next) ||
	    (k = name_len(body, n)) == 0 || field_index(body, k) < 0) {
		return 0;
	}
	if (walk(body, len, DMP_MAIL_BLOCK_MAX, block_field, b, &b->body_off) !=
	    1) {
		memset(b, 0, sizeof(*b));
		return 0;
	}
	return 1;
}

const uint8_t *dmp_mail_block_get(const struct dmp_mail_block *b,
				  const uint8_t *body, enum dmp_mail_field f,
				  size_t *vlen)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->f[i].field == f) {
			*vlen = b->f[i].off + b->f[i].len - b->f[i].val;
			return body + b->f[i].val;
		}
	}
	*vlen = 0;
	return NULL;
}

/* Hand the writer's bytes to the caller, or DMP_ENOMEM. */
static int finish(struct dmp_wbuf *w, uint8_t **out, size_t *out_len)
{
	if (dmp_wbuf_error(w)) {
		dmp_wbuf_clear(w);
		return DMP_ENOMEM;
	}
	*out = dmp_wbuf_steal(w, out_len);
	return 0;
}

static void puts_w(struct dmp_wbuf *w, const char *s)
{
	dmp_wbuf_put(w, s, strlen(s));
}

/* A field's lines without their CRs, then "\n". */
static void put_field(struct dmp_wbuf *w, const uint8_t *p, size_t off,
		      size_t len)
{
	for (size_t i = off; i < off + len; i++) {
		if (p[i] != '\r') {
			dmp_wbuf_u8(w, p[i]);
		}
	}
	dmp_wbuf_u8(w, '\n');
}

static int is_hex32(const char *s)
{
	if (strlen(s) != 32) {
		return 0;
	}
	for (int i = 0; i < 32; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

/* Base64 of @p b in lines of 76 (RFC 2045 6.8). */
static void put_base64(struct dmp_wbuf *w, const uint8_t *b, size_t len)
{
	char line[80];

	for (size_t off = 0; off < len; off += 57) {
		size_t n = len - off < 57 ? len - off : 57;
		int k = dmp_b64_encode(line, sizeof(line), b + off, n);

		if (k < 0) {
			w->err = k;
			return;
		}
		dmp_wbuf_put(w, line, (size_t)k);
		dmp_wbuf_u8(w, '\n');
	}
}

/* A binary body as multipart/mixed: a note, then the bytes in base64. */
static void put_attachment(struct dmp_wbuf *w, const char *idhex,
			   const uint8_t *b, size_t len)
{
	char head[768];

	snprintf(head, sizeof(head),
		 "MIME-Version: 1.0\n"
		 "Content-Type: multipart/mixed; boundary=\"dmp-%s\"\n\n"
		 "--dmp-%s\nContent-Type: text/plain; charset=utf-8\n\n"
		 "This message is binary (%zu bytes): it is attached as it "
		 "was sent.\n\n"
		 "--dmp-%s\nContent-Type: application/octet-stream\n"
		 "Content-Transfer-Encoding: base64\n"
		 "Content-Disposition: attachment; "
		 "filename=\"dmp-%.8s.bin\"\n\n",
		 idhex, idhex, len, idhex, idhex);
	puts_w(w, head);
	put_base64(w, b, len);
	snprintf(head, sizeof(head), "--dmp-%s--\n", idhex);
	puts_w(w, head);
}

int dmp_mail_render(const char *head, const char *idhex, const uint8_t *body,
		    size_t len, uint8_t **out, size_t *out_len)
{
	struct dmp_mail_block b;
	struct dmp_wbuf w;
	const uint8_t *text;
	size_t tlen, vl;
	const uint8_t *mid;
	int has_block, binary, has_ct, ascii = 1;
	char line[160];

	*out = NULL;
	*out_len = 0;
	if (!is_hex32(idhex)) {
		return DMP_EINVAL;
	}
	has_block = dmp_mail_block_parse(body, len, &b);
	text = body + (has_block ? b.body_off : 0);
	tlen = len - (has_block ? b.body_off : 0);
	binary = !dmp_utf8_valid(text, tlen);
	for (size_t i = 0; i < tlen && ascii; i++) {
		ascii = text[i] < 0x80;
	}
	has_ct =
	    dmp_mail_block_get(&b, body, DMP_MAIL_F_CONTENT_TYPE, &vl) != NULL;
	dmp_wbuf_init_dyn(&w);
	puts_w(&w, head);
	mid = dmp_mail_block_get(&b, body, DMP_MAIL_F_MESSAGE_ID, &vl);
	if (mid) {
		puts_w(&w, "Message-ID: ");
		while (vl > 0 && (mid[vl - 1] == ' ' || mid[vl - 1] == '\t')) {
			vl--;
		}
		dmp_wbuf_put(&w, mid, vl);
		dmp_wbuf_u8(&w, '\n');
	} else {
		snprintf(line, sizeof(line), "Message-ID: <%s@dmp>\n", idhex);
		puts_w(&w, line);
	}
	for (size_t i = 0; i < b.n; i++) {
		enum dmp_mail_field f = b.f[i].field;

		if (f == DMP_MAIL_F_MESSAGE_ID ||
		    (binary && !has_ct &&
		     (f == DMP_MAIL_F_MIME_VERSION || f == DMP_MAIL_F_CTE ||
		      f == DMP_MAIL_F_CONTENT_DISPOSITION))) {
			continue;
		}
		put_field(&w, body, b.f[i].off, b.f[i].len);
	}
	if (binary && !has_ct) {
		put_attachment(&w, idhex, text, tlen);
	} else {
		if (!has_ct && !ascii) {
			if (!dmp_mail_block_get(&b, body,
						DMP_MAIL_F_MIME_VERSION, &vl)) {
				puts_w(&w, "MIME-Version: 1.0\n");
			}
			puts_w(&w, "Content-Type: text/plain; charset=utf-8\n");
			if (!dmp_mail_block_get(&b, body, DMP_MAIL_F_CTE,
						&vl)) {
				puts_w(&w, "Content-Transfer-Encoding: 8bit\n");
			}
		}
		dmp_wbuf_u8(&w, '\n');
		dmp_wbuf_put(&w, text, tlen);
	}
	return finish(&w, out, out_len);
}

struct import {
	struct dmp_wbuf *w;
	int seen[DMP_MAIL_F_COUNT];
	int skip_refs; /* References dropped to fit DMP_MAIL_BLOCK_MAX */
};

static int import_field(const uint8_t *p, const struct hfield *f, void *ud)
{
	struct import *im = ud;
	int i = field_index(p + f->off, f->nl);

	if (i < 0 || im->seen[i] ||
	    (i == DMP_MAIL_F_REFERENCES && im->skip_refs)) {
		return 0;
	}
	im->seen[i] = 1;
	put_field(im->w, p, f->off, f->len);
	return 0;
}

/* Does @p msg start with a header at all ("Name:" first line)? */
static int starts_with_field(const uint8_t *msg, size_t len)
{
	size_t n, next;

	return next_line(msg, len, 0, &n, &next) && name_len(msg, n) > 0;
}

int dmp_mail_import(const uint8_t *msg, size_t len, uint8_t **out,
		    size_t *out_len)
{
	struct dmp_wbuf w;
	struct import im;
	size_t body_off = 0;

	*out = NULL;
	*out_len = 0;
	dmp_wbuf_init_dyn(&w);
	/* Pass 0 takes every allow-listed field; pass 1, only when that
	 * does not fit a header block, leaves References out. */
	for (int pass = 0; pass < 2 && starts_with_field(msg, len); pass++) {
		memset(&im, 0, sizeof(im));
		im.w = &w;
		im.skip_refs = pass;
		w.len = 0;
		if (walk(msg, len, IMPORT_HEADER_MAX, import_field, &im,
			 &body_off) != 1) {
			/* Not a well-formed header: all of it is the body. */
			w.len = 0;
			body_off = 0;
			break;
		}
		if (w.len + 1 <= DMP_MAIL_BLOCK_MAX) {
			break;
		}
	}
	if (w.len + 1 > DMP_MAIL_BLOCK_MAX) {
		dmp_wbuf_clear(&w);
		return DMP_EMALFORMED;
	}
	if (w.len > 0) {
		dmp_wbuf_u8(&w, '\n');
	}
	dmp_wbuf_put(&w, msg + body_off, len - body_off);
	return finish(&w, out, out_len);
}

/* ---- addresses (sendmail -t) ---------------------------------------- */

struct addrs {
	const char *field;
	int (*fn)(const char *addr, void *ud);
	void *ud;
	int count, stop, err;
};

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t')) {
		(*s)++;
	}
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) {
		(*e)--;
	}
}

/* One mailbox of a list: "<a@b>" wins, else the text without comments. */
static void one_addr(struct addrs *a, const char *s, const char *e)
{
	char out[ADDR_MAX + 1];
	const char *lt = NULL, *gt = NULL;
	size_t n = 0;
	int depth = 0, q = 0;

	for (const char *c = s; c < e; c++) {
		if (*c == '"' && depth == 0) {
			q = !q;
		} else if (!q && *c == '(') {
			depth++;
		} else if (!q && *c == ')' && depth > 0) {
			depth--;
		} else if (!q && depth == 0 && *c == '<' && !lt) {
			lt = c;
		} else if (!q && depth == 0 && *c == '>' && lt && !gt) {
			gt = c;
		}
	}
	if (lt && gt) {
		s = lt + 1;
		e = gt;
	}
	depth = 0;
	trim(&s, &e);
	for (const char *c = s; c < e; c++) {
		if (*c == '(') {
			depth++;
		} else if (*c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && *c != ' ' && *c != '\t' && *c != '"') {
			if (n >= ADDR_MAX) {
				a->err = DMP_EMALFORMED;
				return;
			}
			out[n++] = *c;
		}
	}
	out[n] = 0;
	if (n > 0 && !a->stop) {
		a->count++;
		a->stop = a->fn(out, a->ud) != 0;
	}
}

static int addr_field(const uint8_t *p, const struct hfield *f, void *ud)
{
	struct addrs *a = ud;
	char v[ADDR_FIELD_MAX];
	size_t n = 0, vo;
	const char *s;
	int q = 0, depth = 0, angle = 0;

	if (f->nl != strlen(a->field) ||
	    strncasecmp((const char *)p + f->off, a->field, f->nl) != 0 ||
	    a->stop || a->err) {
		return 0;
	}
	for (vo = value_off(p, f); vo < f->off + f->len; vo++) {
		if (p[vo] == '\r' || p[vo] == '\n') {
			continue;
		}
		if (n + 1 >= sizeof(v)) {
			a->err = DMP_EMALFORMED;
			return 0;
		}
		v[n++] = (char)p[vo];
	}
	v[n] = 0;
	s = v;
	for (char *c = v; c <= v + n; c++) {
		int end = c == v + n;

		if (!end && *c == '"' && depth == 0) {
			q = !q;
		} else if (!end && !q && *c == '(') {
			depth++;
		} else if (!end && !q && *c == ')' && depth > 0) {
			depth--;
		} else if (!end && !q && depth == 0 && *c == '<') {
			angle = 1;
		} else if (!end && !q && depth == 0 && *c == '>') {
			angle = 0;
		} else if (!end && !q && depth == 0 && !angle && *c == ':') {
			s = c + 1; /* a group's display name */
		} else if (end || (!q && depth == 0 && !angle &&
				   (*c == ',' || *c == ';'))) {
			one_addr(a, s, c);
			s = c + 1;
		}
	}
	return 0;
}

int dmp_mail_addresses(const uint8_t *msg, size_t len, const char *field,
		       int (*fn)(const char *addr, void *ud), void *ud)
{
	struct addrs a = {field, fn, ud, 0, 0, 0};
	size_t body_off;

	if (!starts_with_field(msg, len)) {
		return 0;
	}
	(void)walk(msg, len, IMPORT_HEADER_MAX, addr_field, &a, &body_off);
	return a.err ? a.err : a.count;
}
