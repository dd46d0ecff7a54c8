/* core/src/crypto/envelope.c - DMPv2 envelope and canonical addresses
 * (PROTOCOL.md 4.5). */
#include <string.h>

#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/envelope.h"
#include "dmp/err.h"

#define LOCAL_MAX 64
#define LABEL_MAX 63
#define HOST_MAX 253

/* Python's str.strip() set within ASCII (str.isspace()). */
static int py_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int is_alnum_lc(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9_.-]{0,63}, no trailing ".", no "..". */
static int local_ok(const char *s, size_t n)
{
	if (n == 0 || n > LOCAL_MAX || !is_alnum_lc((unsigned char)s[0]) ||
	    s[n - 1] == '.') {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alnum_lc(c) && c != '_' && c != '.' && c != '-') {
			return 0;
		}
		if (c == '.' && s[i - 1] == '.') {
			return 0;
		}
	}
	return 1;
}

/* [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])? */
static int label_ok(const char *s, size_t n)
{
	if (n == 0 || n > LABEL_MAX || !is_alnum_lc((unsigned char)s[0]) ||
	    !is_alnum_lc((unsigned char)s[n - 1])) {
		return 0;
	}
	for (size_t i = 1; i + 1 < n; i++) {
		if (!is_alnum_lc((unsigned char)s[i]) && s[i] != '-') {
			return 0;
		}
	}
	return 1;
}

int dmp_addr_canonical(char out[DMP_ADDR_MAX + 1], const char *addr, size_t len)
{
	const char *at = NULL;
	size_t b = 0, e = len, lo, ho, hn, i, start;
	int rc = DMP_EINVAL;

	out[0] = '\0';
	for (i = 0; i < len; i++) {
		if ((unsigned char)addr[i] >= 0x80) {
			return rc;
		}
	}
	while (b < e && py_space((unsigned char)addr[b])) {
		b++;
	}
	while (e > b && py_space((unsigned char)addr[e - 1])) {
		e--;
	}
	for (i = b; i < e; i++) {
		if (addr[i] == '@') {
			if (at) {
				return rc;
			}
			at = addr + i;
		}
	}
	if (!at) {
		return rc;
	}
	lo = (size_t)(at - addr) - b;
	ho = (size_t)(at - addr) + 1;
	hn = e - ho;
	while (hn > 0 && addr[ho + hn - 1] == '.') {
		hn--;
	}
	if (lo == 0 || hn == 0 || lo > LOCAL_MAX || hn > HOST_MAX) {
		return rc;
	}
	/* Lower-case into out, then check the lower-cased form. */
	for (i = 0; i < lo; i++) {
		char c = addr[b + i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[lo] = '@';
	for (i = 0; i < hn; i++) {
		char c = addr[ho + i];

		out[lo + 1 + i] =
		    (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[lo + 1 + hn] = '\0';
	if (!local_ok(out, lo)) {
		goto out;
	}
	start = lo + 1;
	for (i = lo + 1; i <= lo + 1 + hn; i++) {
		if (i == lo + 1 + hn || out[i] == '.') {
			if (!label_ok(out + start, i - start)) {
				goto out;
			}
			start = i + 1;
		}
	}
	rc = (int)(lo + 1 + hn);
out:
	if (rc < 0) {
		out[0] = '\0';
	}
	return rc;
}

int dmp_envelope_encode(const uint8_t *body, size_t body_len,
			const char *sender_addr, uint8_t **out, size_t *out_len)
{
	static const char pre[] = DMP_ENVELOPE_PREFIX "{\"from\":\"";
	static const char post[] = "\"}\n";
	char addr[DMP_ADDR_MAX + 1];
	struct dmp_wbuf w;
	int n = -1, version = 1;

	*out = NULL;
	*out_len = 0;
	if (!body && body_len) {
		return DMP_EINVAL;
	}
	if (sender_addr) {
		n = dmp_addr_canonical(addr, sender_addr, strlen(sender_addr));
	}
	/* {"from":"..."} is 11 bytes plus the address; the canonical form
	 * needs no JSON escaping (sorted keys, ASCII, no spaces: 4.5). */
	if (n >= 0 && 11 + (size_t)n <= DMP_ENVELOPE_HEADER_MAX) {
		version = 2;
	}
	dmp_wbuf_init_dyn(&w);
	if (version == 2) {
		dmp_wbuf_put(&w, pre, sizeof(pre) - 1);
		dmp_wbuf_put(&w, addr, (size_t)n);
		dmp_wbuf_put(&w, post, sizeof(post) - 1);
	}
	dmp_wbuf_put(&w, body, body_len);
	if (dmp_wbuf_error(&w) != 0) {
		dmp_wbuf_clear(&w);
		return DMP_ENOMEM;
	}
	*out = dmp_wbuf_steal(&w, out_len);
	if (!*out) {
		/* An empty v1 body leaves the growing buffer unallocated. */
		*out = dmp_malloc(1);
		*out_len = 0;
		if (!*out) {
			return DMP_ENOMEM;
		}
	}
	return version;
}

/*
 * A JSON validator for the envelope header that accepts exactly what
 * Python's json.loads accepts on an ASCII string (NaN, Infinity, lone
 * surrogate escapes, duplicate keys with the last one winning), so a
 * header falls back to v1 in the same cases as in the reference. It
 * records the value of the last top-level "from" member when that value
 * is a string.
 */
struct jp {
	const char *s;
	size_t n, i;
	int depth;
	/* Last top-level "from": 1 string, 0 other or absent. */
	int from_is_str;
	int from_ascii;
	char from[DMP_ENVELOPE_HEADER_MAX + 1];
	size_t from_len;
};

#define JP_MAX_DEPTH 512

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
		p->i++;
	}
}

static int jp_lit(struct jp *p, const char *lit)
{
	size_t l = strlen(lit);

	if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0) {
		return -1;
	}
	p->i += l;
	return 0;
}

/*
 * A string at p->i (which is '"'). Decoded ASCII goes to @p out (cap is
 * enough: the decoded form is never longer than the input); *ascii is
 * cleared when a code point >= 0x80 appears.
 */
static int jp_string(struct jp *p, char *out, size_t *olen, int *ascii)
{
	size_t o = 0;

	*ascii = 1;
	p->i++;
	for (;;) {
		unsigned char c;

		if (p->i >= p->n) {
			return -1;
		}
		c = (unsigned char)p->s[p->i++];
		if (c == '"') {
			break;
		}
		if (c < 0x20) {
			return -1; /* json.loads is strict by default */
		}
		if (c != '\\') {
			if (out) {
				out[o] = (char)c;
			}
			o++;
			continue;
		}
		if (p->i >= p->n) {
			return -1;
		}
		c = (unsigned char)p->s[p->i++];
		switch (c) {
		case '"':
		case '\\':
		case '/': break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u': {
			unsigned v = 0;

			if (p->n - p->i < 4) {
				return -1;
			}
			for (int k = 0; k < 4; k++) {
				int h = dmp_hex_digit(p->s[p->i++]);

				if (h < 0) {
					return -1;
				}
				v = v << 4 | (unsigned)h;
			}
			/* Surrogates, paired or not, are accepted; all are
			 * outside ASCII, which is all we need to know. */
			if (v >= 0x80) {
				*ascii = 0;
				continue;
			}
			c = (unsigned char)v;
			break;
		}
		default: return -1;
		}
		if (out) {
			out[o] = (char)c;
		}
		o++;
	}
	if (olen) {
		*olen = o;
	}
	return 0;
}

static int digits(struct jp *p)
{
	size_t s = p->i;

	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		p->i++;
	}
	return p->i > s;
}

/* -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)? with the regex's backtracking. */
static int jp_number(struct jp *p)
{
	size_t save;

	if (p->i < p->n && p->s[p->i] == '-') {
		p->i++;
	}
	if (p->i >= p->n) {
		return -1;
	}
	if (p->s[p->i] == '0') {
		p->i++;
	} else if (p->s[p->i] >= '1' && p->s[p->i] <= '9') {
		digits(p);
	} else {
		return -1;
	}
	if (p->n - p->i >= 2 && p->s[p->i] == '.' && p->s[p->i + 1] >= '0' &&
	    p->s[p->i + 1] <= '9') {
		p->i++;
		digits(p);
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		save = p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) {
			p->i++;
		}
		if (!digits(p)) {
			p->i = save;
		}
	}
	return 0;
}

static int jp_value(struct jp *p);

/* Past '{' or '['; 1 if @p close follows at once (consumed), else 0. */
static int jp_open(struct jp *p, char close)
{
	p->i++;
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 1;
	}
	return 0;
}

/* After a member: 1 at @p close (consumed), 0 past a ',', -1 otherwise. */
static int jp_next(struct jp *p, char close)
{
	jp_ws(p);
	if (p->i >= p->n) {
		return -1;
	}
	if (p->s[p->i] == close) {
		p->i++;
		return 1;
	}
	if (p->s[p->i] != ',') {
		return -1;
	}
	p->i++;
	jp_ws(p);
	return 0;
}

static int jp_object(struct jp *p)
{
	char key[DMP_ENVELOPE_HEADER_MAX + 1];
	int top = p->depth == 1, ascii;
	size_t klen;

	if (jp_open(p, '}')) {
		return 0;
	}
	for (;;) {
		int is_from, rc;

		if (p->i >= p->n || p->s[p->i] != '"' ||
		    jp_string(p, key, &klen, &ascii) != 0) {
			return -1;
		}
		is_from =
		    top && ascii && klen == 4 && memcmp(key, "from", 4) == 0;
		jp_ws(p);
		if (p->i >= p->n || p->s[p->i] != ':') {
			return -1;
		}
		p->i++;
		jp_ws(p);
		if (is_from && p->i < p->n && p->s[p->i] == '"') {
			if (jp_string(p, p->from, &p->from_len,
				      &p->from_ascii) != 0) {
				return -1;
			}
			p->from_is_str = 1;
		} else {
			if (jp_value(p) != 0) {
				return -1;
			}
			if (is_from) {
				p->from_is_str = 0;
			}
		}
		rc = jp_next(p, '}');
		if (rc != 0) {
			return rc < 0 ? -1 : 0;
		}
	}
}

static int jp_array(struct jp *p)
{
	int rc;

	if (jp_open(p, ']')) {
		return 0;
	}
	do {
		if (jp_value(p) != 0) {
			return -1;
		}
		rc = jp_next(p, ']');
	} while (rc == 0);
	return rc < 0 ? -1 : 0;
}

static int jp_value(struct jp *p)
{
	int rc, ascii;

	if (p->i >= p->n) {
		return -1;
	}
	switch (p->s[p->i]) {
	case '"': return jp_string(p, NULL, NULL, &ascii);
	case '{':
	case '[':
		if (++p->depth > JP_MAX_DEPTH) {
			return -1;
		}
		rc = p->s[p->i] == '{' ? jp_object(p) : jp_array(p);
		p->depth--;
		return rc;
	case 'n': return jp_lit(p, "null");
	case 't': return jp_lit(p, "true");
	case 'f': return jp_lit(p, "false");
	case 'N': return jp_lit(p, "NaN");
	case 'I': return jp_lit(p, "Infinity");
	case '-':
		if (jp_lit(p, "-Infinity") == 0) {
			return 0;
		}
		return jp_number(p);
	default: return jp_number(p);
	}
}

/* 1 if @p s is a JSON object by json.loads's rules; fills p's "from". */
static int header_is_object(struct jp *p, const char *s, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->s = s;
	p->n = n;
	jp_ws(p);
	if (p->i >= p->n || p->s[p->i] != '{') {
		return 0;
	}
	p->depth = 1;
	if (jp_object(p) != 0) {
		return 0;
	}
	jp_ws(p);
	return p->i == p->n;
}

void dmp_envelope_decode(struct dmp_envelope *e, const uint8_t *pt, size_t len)
{
	struct jp p;
	const uint8_t *rest, *nl;
	size_t rlen, hlen, i;

	memset(e, 0, sizeof(*e));
	e->version = 1;
	e->body = pt;
	e->body_len = len;
	if (len < DMP_ENVELOPE_PREFIX_LEN ||
	    memcmp(pt, DMP_ENVELOPE_PREFIX, DMP_ENVELOPE_PREFIX_LEN) != 0) {
		return;
	}
	rest = pt + DMP_ENVELOPE_PREFIX_LEN;
	rlen = len - DMP_ENVELOPE_PREFIX_LEN;
	/* rest.find(b"\n", 0, 257): the header is at most 256 bytes. */
	nl = memchr(rest, '\n',
		    rlen < DMP_ENVELOPE_HEADER_MAX + 1
			? rlen
			: DMP_ENVELOPE_HEADER_MAX + 1);
	if (!nl) {
		return;
	}
	hlen = (size_t)(nl - rest);
	for (i = 0; i < hlen; i++) {
		if (rest[i] >= 0x80) {
			return; /* header.decode("ascii") fails */
		}
	}
	if (!header_is_object(&p, (const char *)rest, hlen)) {
		return;
	}
	e->version = 2;
	e->body = nl + 1;
	e->body_len = rlen - hlen - 1;
	if (p.from_is_str && p.from_ascii &&
	    dmp_addr_canonical(e->from, p.from, p.from_len) >= 0) {
		e->has_from = 1;
	}
}
