/*
 * tests/fuzz/fuzz_mailhdr.c - the body header block (mail.h) on arbitrary
 * bytes: dmp_mail_block_parse never reads past the buffer, its fields and
 * body offset lie inside it and a block is found only when the first line
 * is an allow-listed field; dmp_mail_render succeeds on every body and
 * ends with the body's text byte for byte unless it wrapped a binary body;
 * dmp_mail_import and dmp_mail_addresses take anything, and an imported
 * body with a header block parses back as one.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmp/common.h"
#include "dmp/err.h"
#include "dmp/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const char *a, void *ud)
{
	(void)a;
	(*(int *)ud)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_mail_block b, b2;
	uint8_t *out = NULL;
	size_t n = 0, text_off;
	int has, rc, seen = 0;

	has = dmp_mail_block_parse(data, size, &b);
	if (has) {
		const char *first = dmp_mail_field_name(b.f[0].field);

		if (b.body_off > size || b.body_off > DMP_MAIL_BLOCK_MAX ||
		    b.n > DMP_MAIL_FIELDS_MAX) {
			abort();
		}
		for (size_t i = 0; i < b.n; i++) {
			if (b.f[i].off + b.f[i].len > b.body_off ||
			    b.f[i].val < b.f[i].off ||
			    b.f[i].val > b.f[i].off + b.f[i].len) {
				abort();
			}
		}
		/* The first line is the first field kept when it is not a
		 * malformed Message-ID. */
		if (b.n > 0 && b.f[0].off == 0 &&
		    strncasecmp((const char *)data, first, strlen(first)) !=
			0) {
			abort();
		}
	}
	rc = dmp_mail_render("From: x\n", "00112233445566778899aabbccddeeff",
			     data, size, &out, &n);
	if (rc != 0 && rc != DMP_ENOMEM) {
		abort();
	}
	text_off = has ? b.body_off : 0;
	if (rc == 0 && memmem(out, n, "boundary=\"dmp-", 14) == NULL &&
	    (n < size - text_off ||
	     memcmp(out + n - (size - text_off), data + text_off,
		    size - text_off) != 0)) {
		abort();
	}
	dmp_free(out);
	out = NULL;
	rc = dmp_mail_import(data, size, &out, &n);
	if (rc == 0 && n > 0 && data[0] != ' ' &&
	    dmp_mail_block_parse(out, n, &b2) && b2.body_off > n) {
		abort();
	}
	dmp_free(out);
	(void)dmp_mail_addresses(data, size, "To", count, &seen);
	return 0;
}
