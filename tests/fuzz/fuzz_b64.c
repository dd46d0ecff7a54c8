/* tests/fuzz/fuzz_b64.c - strict base64: decode must never crash, and what
 * it accepts must re-encode to exactly the input (canonical only). */
#include <stdlib.h>
#include <string.h>

#include "dmp/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[4096];
	char enc[8192];
	size_t n;

	if (dmp_b64_decode(out, sizeof(out), &n, (const char *)data, size) ==
	    0) {
		int len = dmp_b64_encode(enc, sizeof(enc), out, n);

		if (len < 0 || (size_t)len != size ||
		    memcmp(enc, data, size) != 0) {
			abort();
		}
	}
	return 0;
}
