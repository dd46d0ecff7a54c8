/*
 * tests/fuzz/fuzz_dnsname.c - the name rules of PROTOCOL.md 3.3 and the
 * UTF-8 check. Properties: a normalised name is a fixed point, obeys the
 * HTTP rule too, and survives lower-casing.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char norm[DMP_DNSNAME_MAX + 1], again[DMP_DNSNAME_MAX + 1];
	char lower[512], wide[300];
	int n, m;

	n = dmp_dnsname_normalize(norm, sizeof(norm), in, size);
	if (n >= 0) {
		if (n == 0 || n > DMP_DNSNAME_MAX || (size_t)n > size ||
		    strlen(norm) != (size_t)n) {
			abort();
		}
		m = dmp_dnsname_normalize(again, sizeof(again), norm,
					  (size_t)n);
		if (m != n || strcmp(again, norm) != 0) {
			abort();
		}
		if (dmp_dnsname_http_check(norm, (size_t)n) != 0) {
			abort();
		}
		m = dmp_owner_name_lower(lower, sizeof(lower), norm, (size_t)n);
		if (m != n ||
		    dmp_dnsname_normalize(NULL, 0, lower, (size_t)m) != n) {
			abort();
		}
		if (!dmp_utf8_valid(data, size) && size > 0) {
			abort(); /* a valid name is ASCII */
		}
	} else if (n != DMP_EBADNAME) {
		abort();
	}
	m = dmp_dnsname_normalize_max(wide, sizeof(wide), in, size, 253);
	if (n >= 0 && m != n) {
		abort(); /* a wider cap accepts whatever the narrow one does */
	}
	if (dmp_dnsname_http_check(in, size) == 0 && size > 253) {
		abort();
	}
	if (size < sizeof(lower)) {
		m = dmp_owner_name_lower(lower, sizeof(lower), in, size);
		if (m < 0 || (size_t)m + 1 < size) {
			abort();
		}
	}
	(void)dmp_ascii_printable(data, size);
	return 0;
}
