/* tests/fuzz/fuzz_text_input.c - the strict integer parser and the alias
 * rules (dmp/text.h, dmp/alias.h): never crash, never read past the NUL,
 * and what they accept keeps their promises. */
#include <stdlib.h>
#include <string.h>

#include "dmp/alias.h"
#include "dmp/err.h"
#include "dmp/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[256];
	long long v = 12345;
	const char *why;
	int rc;

	if (size >= sizeof(buf)) {
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	rc = dmp_parse_int(buf, -1000, 2592000, &v);
	if (rc == 0) {
		/* Accepted: digits only (an optional '-'), in range. */
		const char *d = buf[0] == '-' ? buf + 1 : buf;

		if (v < -1000 || v > 2592000 || !*d ||
		    strspn(d, "0123456789") != strlen(d)) {
			abort();
		}
	} else if ((rc != DMP_EINVAL && rc != DMP_ERANGE) || v != 12345) {
		abort();
	}
	why = dmp_alias_problem(buf);
	if (!why) {
		/* An allowed alias is a plain, visible file name in dmpfs. */
		if (!buf[0] || strlen(buf) > DMP_ALIAS_MAX ||
		    strchr(buf, '/') || buf[0] == '.' ||
		    dmp_scratch_name(buf)) {
			abort();
		}
		for (const char *p = buf; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				abort();
			}
		}
	}
	return 0;
}
