/* tests/fuzz/fuzz_txt_join.c - TXT RDATA join, then split must restore a
 * canonical RDATA that joins to the same value. */
#include <stdlib.h>
#include <string.h>

#include "dmp/txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char value[70000], again[70000];
	static uint8_t rdata[70000];
	size_t n, m;
	int len;

	if (dmp_txt_join(value, sizeof(value), &n, data, size) != 0) {
		return 0;
	}
	len = dmp_txt_split(rdata, sizeof(rdata), value, n);
	if (len < 0) {
		return 0;
	}
	if (dmp_txt_join(again, sizeof(again), &m, rdata, (size_t)len) != 0 ||
	    m != n || memcmp(again, value, n) != 0) {
		abort();
	}
	return 0;
}
