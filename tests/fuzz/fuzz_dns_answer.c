/* tests/fuzz/fuzz_dns_answer.c - the TXT reply parser on arbitrary bytes.
 * Properties: a parse either fails with out zeroed or yields at most
 * one value per answer RR, each within the 16-bit RDATA bound, with
 * 12-bit rcodes; asking for the question name or for NULL agrees. */
#include <stdlib.h>
#include <string.h>

#include "dmp/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_txt_answer a, b;
	int rc, rc2;

	rc = dmp_dns_parse_txt(&a, data, size, NULL);
	if (rc != 0) {
		if (a.n != 0 || a.values != NULL) {
			abort();
		}
		return 0;
	}
	if (a.rcode < 0 || a.rcode > 4095 || (a.tc && a.n != 0)) {
		abort();
	}
	if (size >= 12 && a.n > (size_t)(data[6] << 8 | data[7])) {
		abort();
	}
	for (size_t i = 0; i < a.n; i++) {
		if (a.lens[i] > 65535 || a.values[i][a.lens[i]] != '\0') {
			abort();
		}
	}
	/* The same bytes, asked for a fixed name: either the name differs
	 * (EBADNAME/EMALFORMED) or the answer is the same. */
	rc2 = dmp_dns_parse_txt(&b, data, size,
				"slot-5.mb-8e99a939230f.mesh.test");
	if (rc2 == 0 && !a.tc) {
		if (b.n != a.n || b.rcode != a.rcode) {
			abort();
		}
		for (size_t i = 0; i < a.n; i++) {
			if (b.lens[i] != a.lens[i] ||
			    memcmp(b.values[i], a.values[i], a.lens[i]) != 0) {
				abort();
			}
		}
	}
	dmp_txt_answer_clear(&b);
	dmp_txt_answer_clear(&a);
	return 0;
}
