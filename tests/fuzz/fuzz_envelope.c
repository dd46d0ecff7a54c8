/*
 * tests/fuzz/fuzz_envelope.c - DMPv2 envelope decode and canonical
 * addresses (PROTOCOL.md 4.5). Properties: the body is a suffix of the
 * plaintext (all of it for v1); a decoded "from" is canonical and
 * re-encoding body and "from" decodes to the same pair; canonicalisation
 * is idempotent.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const char *in, size_t len)
{
	char out[DMP_ADDR_MAX + 1], again[DMP_ADDR_MAX + 1];
	int n = dmp_addr_canonical(out, in, len);

	if (n < 0) {
		return;
	}
	if ((size_t)n != strlen(out) || n > DMP_ADDR_MAX ||
	    dmp_addr_canonical(again, out, (size_t)n) != n ||
	    strcmp(out, again) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_envelope e, e2;
	uint8_t *re = NULL;
	size_t re_len = 0;
	int ver;

	dmp_envelope_decode(&e, data, size);
	if (e.body + e.body_len != data + size) {
		abort();
	}
	if (e.version == 1 && (e.body != data || e.has_from)) {
		abort();
	}
	if (e.version == 2 && (e.body_len + 7 > size || e.body[-1] != '\n')) {
		abort();
	}
	if (!e.has_from && e.from[0] != '\0') {
		abort();
	}
	if (e.has_from) {
		check_canonical(e.from, strlen(e.from));
	}
	/* Re-wrap: the body and the claim survive a round trip. */
	ver = dmp_envelope_encode(e.body, e.body_len,
				  e.has_from ? e.from : NULL, &re, &re_len);
	if (ver < 0) {
		abort();
	}
	if (ver == 2) {
		dmp_envelope_decode(&e2, re, re_len);
		if (e2.version != 2 || !e2.has_from ||
		    strcmp(e2.from, e.from) != 0 || e2.body_len != e.body_len ||
		    memcmp(e2.body, e.body, e.body_len) != 0) {
			abort();
		}
	}
	free(re);
	check_canonical((const char *)data, size);
	return 0;
}
