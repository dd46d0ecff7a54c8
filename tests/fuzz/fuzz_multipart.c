/*
 * tests/fuzz/fuzz_multipart.c - the multi-part header (multipart.h) on
 * arbitrary bytes: dmp_mp_header_parse never reads past the buffer; a
 * part's data lies inside both the body and the payload; a parsed header
 * formats back to the very line it came from; and a join of the input
 * cut in two at its middle never returns a file that fails its hash.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/common.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_mp_header h;
	char line[DMP_MP_HEADER_MAX];
	const uint8_t *b[2];
	size_t off, l[2], flen = 0;
	uint8_t *file = NULL;
	int rc = dmp_mp_header_parse(data, size, &h, &off);

	if (rc == 1) {
		int n = dmp_mp_header_format(&h, line, sizeof line);

		if (off == 0 || off >= size || n != (int)off ||
		    memcmp(line, data, off) != 0 || h.index < 1 ||
		    h.index > h.count || h.off + (size - off) > h.size ||
		    h.file > DMP_MP_FILE_MAX) {
			abort();
		}
	} else if (rc != 0 && rc != DMP_EMALFORMED && rc != DMP_EUNSUPPORTED) {
		abort();
	}
	/* Two bodies: the input split at a 0xff byte when it has one. */
	{
		const uint8_t *cut = memchr(data, 0xff, size);

		if (cut == NULL) {
			return 0;
		}
		b[0] = data;
		l[0] = (size_t)(cut - data);
		b[1] = cut + 1;
		l[1] = size - l[0] - 1;
	}
	rc = dmp_mp_join(b, l, 2, &file, &flen);
	if (rc == 0) {
		struct dmp_mp_header h0;
		uint8_t sha[DMP_SHA256_BYTES];

		if (dmp_mp_header_parse(b[0], l[0], &h0, &off) != 1 ||
		    flen != h0.file) {
			abort();
		}
		dmp_sha256(sha, file, flen);
		if (memcmp(sha, h0.sha256, sizeof sha) != 0) {
			abort();
		}
		dmp_free(file);
	} else if (file != NULL) {
		abort();
	}
	return 0;
}
