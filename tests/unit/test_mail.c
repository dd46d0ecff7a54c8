/*
 * tests/unit/test_mail.c - mail conventions in bodies (mail.h): when a
 * body starts with a header block and when it does not, the Maildir
 * rendering (merged fields, Message-ID, MIME for binary bodies decoding
 * back byte for byte), the import of an RFC 5322 message (sendmail) and
 * the addresses of To/Cc (sendmail -t).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/engine_i.h"
#include "dmp/b64.h"
#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/mail.h"
#include "tap.h"

#define ID "0123456789abcdef0123456789abcdef"
#define HEAD "From: bob <bob@b.test>\nTo: alice@a.test\n"

static int is_block(const char *s)
{
	struct dmp_mail_block b;

	return dmp_mail_block_parse((const uint8_t *)s, strlen(s), &b);
}

static void block(void)
{
	struct dmp_mail_block b;
	const char *s = "Subject: hi there\r\nIn-Reply-To: <a@b>\r\n"
			"References: <x@y>\r\n <a@b>\r\nFrom: mallory@evil\r\n"
			"X-Other: 1\r\nSubject: second\r\n\r\nbody\n";
	const uint8_t *v;
	size_t vl;

	ok(is_block(s), "CRLF block with a folded References");
	dmp_mail_block_parse((const uint8_t *)s, strlen(s), &b);
	is_int((long long)b.n, 3, "three allow-listed fields kept");
	is_int((long long)b.dropped, 3,
	       "From, X-Other and the second Subject dropped");
	is_str(s + b.body_off, "body\n", "body after the empty line");
	v = dmp_mail_block_get(&b, (const uint8_t *)s, DMP_MAIL_F_SUBJECT, &vl);
	is_mem(v, vl, "hi there", 8, "Subject value");
	ok(dmp_mail_block_get(&b, (const uint8_t *)s, DMP_MAIL_F_CTE, &vl) ==
	       NULL,
	   "absent field: NULL");

	ok(!is_block("Note: buy milk\n\nthen more\n"),
	   "first line not allow-listed: text");
	ok(!is_block("Subject: hi\nmore text without a colon\n\nx"),
	   "a line that is no field: text");
	ok(!is_block("Subject: hi\n"), "no empty line: text");
	ok(!is_block("Subject : hi\n\nx"), "blank before the colon: text");
	ok(!is_block(" Subject: hi\n\nx"), "continuation first: text");
	ok(!is_block("Subject: a\x01"
		     "b\n\nx"),
	   "control byte: text");
	ok(!is_block("Subject: \xff\n\nx"), "invalid UTF-8: text");
	ok(is_block("subject: lower case\n\n"), "name compared ignoring case");
	ok(is_block("Subject: caf\xc3\xa9\n\n"), "UTF-8 value (RFC 6532)");
	ok(!is_block(""), "empty body: text");
	{
		char *big = malloc(DMP_MAIL_BLOCK_MAX + 64);
		size_t n = 0;

		n += (size_t)sprintf(big, "Subject: x\n");
		while (n < DMP_MAIL_BLOCK_MAX) {
			n += (size_t)sprintf(big + n, "References: <a@b>\n");
		}
		sprintf(big + n, "\nbody");
		ok(!is_block(big), "block over DMP_MAIL_BLOCK_MAX: text");
		free(big);
	}
	{
		char line[DMP_MAIL_LINE_MAX + 32];

		memset(line, 'a', sizeof(line));
		memcpy(line, "Subject: ", 9);
		sprintf(line + DMP_MAIL_LINE_MAX + 1, "\n\nx");
		ok(!is_block(line), "line over 998 bytes: text");
	}
}

/* The bytes a mail.h call produced as a C string (NULL on failure). */
static char *text_of(int rc, uint8_t *out, size_t n)
{
	char *s = rc < 0 ? NULL : malloc(n + 1);

	if (s) {
		memcpy(s, out, n);
		s[n] = 0;
	}
	dmp_free(out);
	return s;
}

static char *render(const char *body, size_t len)
{
	uint8_t *out = NULL;
	size_t n = 0;
	int rc =
	    dmp_mail_render(HEAD, ID, (const uint8_t *)body, len, &out, &n);

	return text_of(rc, out, n);
}

static void rendering(void)
{
	char *r;
	uint8_t *out;
	size_t n;

	r = render("hello: world\n", 13);
	is_str(r, HEAD "Message-ID: <" ID "@dmp>\n\nhello: world\n",
	       "plain text: header, generated Message-ID, body as is");
	free(r);

	r = render("Subject: Re: hi\nIn-Reply-To: <" ID "@dmp>\n"
		   "Date: Mon, 1 Jan 1990 00:00:00 +0000\n\nthanks\n",
		   0);
	ok(r != NULL, "renders an empty body");
	free(r);
	{
		const char *b = "Subject: Re: hi\r\nIn-Reply-To: <x@y>\r\n"
				"Date: 1 Jan 1990\r\nFrom: eve@e\r\n"
				"Message-ID: <m1@host>\r\n\r\nthanks\n";

		r = render(b, strlen(b));
		is_str(r,
		       HEAD "Message-ID: <m1@host>\nSubject: Re: hi\n"
			    "In-Reply-To: <x@y>\n\nthanks\n",
		       "block merged, Date and From dropped, its Message-ID "
		       "kept, CRs gone");
		free(r);
	}
	{
		const char *b = "Message-ID: two words@x\n\nx";

		r = render(b, strlen(b));
		ok(r && strstr(r, "Message-ID: <" ID "@dmp>\n"),
		   "malformed Message-ID replaced by the generated one");
		free(r);
	}
	r = render("caf\xc3\xa9\n", 6);
	ok(r && strstr(r, "Content-Type: text/plain; charset=utf-8\n") &&
	       strstr(r, "MIME-Version: 1.0\n"),
	   "non-ASCII text declared UTF-8");
	free(r);
	{
		uint8_t bin[300], *dec;
		const char *p, *e;
		char *b64;
		size_t bl = 0;
		int k;

		for (size_t i = 0; i < sizeof(bin); i++) {
			bin[i] = (uint8_t)(i * 7 + 3);
		}
		bin[5] = 0;
		r = render((const char *)bin, sizeof(bin));
		ok(r && strstr(r, "Content-Type: multipart/mixed; "
				  "boundary=\"dmp-" ID "\"\n"),
		   "binary body: multipart");
		p = r ? strstr(r, "Content-Transfer-Encoding: base64\n") : NULL;
		p = p ? strstr(p, "\n\n") : NULL;
		e = p ? strstr(p, "--dmp-" ID "--\n") : NULL;
		ok(p && e, "attachment part and closing boundary");
		b64 = malloc(1024);
		for (const char *c = p ? p + 2 : "", *end = e ? e : c; c < end;
		     c++) {
			if (*c != '\n') {
				b64[bl++] = *c;
			}
		}
		b64[bl] = 0;
		dec = malloc(1024);
		size_t dl = 0;

		k = dmp_b64_decode(dec, 1024, &dl, b64, bl);
		is_mem(dec, k == 0 ? dl : 0, bin, sizeof(bin),
		       "attachment decodes to the exact bytes");
		free(dec);
		free(b64);
		free(r);
	}
	ok(dmp_mail_render(HEAD, "xyz", (const uint8_t *)"a", 1, &out, &n) ==
	       DMP_EINVAL,
	   "bad id refused");
}

static char *import(const char *msg)
{
	uint8_t *out = NULL;
	size_t n = 0;
	int rc = dmp_mail_import((const uint8_t *)msg, strlen(msg), &out, &n);

	return text_of(rc, out, n);
}

static void importing(void)
{
	char *r;

	r = import("Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: alice@a\n"
		   "To: bob@b\nBcc: secret@c\nSubject: lunch?\n"
		   "Message-ID: <m@a>\nUser-Agent: Mutt\n"
		   "MIME-Version: 1.0\nContent-Type: text/plain; "
		   "charset=us-ascii\n\nat noon\n");
	is_str(r,
	       "Subject: lunch?\nMessage-ID: <m@a>\nMIME-Version: 1.0\n"
	       "Content-Type: text/plain; charset=us-ascii\n\nat noon\n",
	       "mutt's message: allow-listed fields kept, transport dropped");
	free(r);
	r = import("From: a@a\nTo: b@b\n\njust text\n");
	is_str(r, "just text\n", "no allow-listed field: the body alone");
	free(r);
	r = import("hello\nworld\n");
	is_str(r, "hello\nworld\n", "no header: the body as is");
	free(r);
	r = import("Subject: x\nno colon here\n");
	is_str(r, "Subject: x\nno colon here\n",
	       "broken header: all of it is the body");
	free(r);
}

struct seen {
	char v[4][64];
	int n;
};

static int take(const char *a, void *ud)
{
	struct seen *s = ud;

	if (s->n < 4) {
		snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", a);
	}
	return 0;
}

static void addresses(void)
{
	const char *m = "To: \"Bob, B.\" <bob@b.test>, carol@c.test (Carol)\n"
			"Cc: team: dave@d.test;\nSubject: x\n\nbody To: no@x\n";
	struct seen s;

	memset(&s, 0, sizeof(s));
	is_int(
	    dmp_mail_addresses((const uint8_t *)m, strlen(m), "To", take, &s),
	    2, "two To addresses");
	is_str(s.v[0], "bob@b.test", "angle address, quoted comma");
	is_str(s.v[1], "carol@c.test", "bare address, comment dropped");
	memset(&s, 0, sizeof(s));
	is_int(
	    dmp_mail_addresses((const uint8_t *)m, strlen(m), "cc", take, &s),
	    1, "group in Cc");
	is_str(s.v[0], "dave@d.test", "group member");
}

/* The receipt request a sender with messages.receipts adds (engine_receipt.c).
 */
static void receipt_request(void)
{
	struct dmp_engine *e = calloc(1, sizeof(*e));
	uint8_t *out = NULL;
	size_t n = 0;
	char big[DMP_ENGINE_MAX_BODY];
	const char *blk = "Subject: hi\n\nbody\n";

	snprintf(e->address, sizeof(e->address), "alice@a.test");
	is_int(dmp_eng_receipt_request(e, (const uint8_t *)"x", 1, &out, &n), 0,
	       "receipts off: body unchanged");
	e->conf.receipts = 1;
	is_int(dmp_eng_receipt_request(e, (const uint8_t *)"Note: x\n", 8, &out,
				       &n),
	       1, "plain text: a request");
	is_mem(out, n, "Disposition-Notification-To: alice@a.test\n\nNote: x\n",
	       51, "plain text gets a block of its own");
	dmp_free(out);
	is_int(dmp_eng_receipt_request(e, (const uint8_t *)blk, strlen(blk),
				       &out, &n),
	       1, "header block: a request");
	is_mem(out, n,
	       "Disposition-Notification-To: alice@a.test\nSubject: hi\n\n"
	       "body\n",
	       60, "the request joins the block");
	dmp_free(out);
	memset(big, 'x', sizeof(big));
	is_int(dmp_eng_receipt_request(e, (const uint8_t *)big, sizeof(big),
				       &out, &n),
	       0, "no room: sent without asking");
	free(e);
}

int main(void)
{
	plan(42);
	block();
	rendering();
	importing();
	addresses();
	receipt_request();
	return done_testing();
}
