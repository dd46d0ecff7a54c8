/*
 * tests/fuzz/fuzz_delivered.c - dmp_delivered_parse on arbitrary bytes:
 * never reads past the buffer, always NUL-terminates, the body offset is
 * within the buffer, an address has an '@' and a fingerprint is empty or
 * DMP_FINGERPRINT_CHARS long.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/engine.h"
#include "dmp/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmp_delivered d;
	size_t fl;

	(void)dmp_delivered_parse((const char *)data, size, &d);
	fl = strlen(d.fingerprint);
	if (d.body_off > size || strlen(d.from) >= sizeof(d.from) ||
	    strlen(d.date) >= sizeof(d.date) ||
	    (d.address[0] && !strchr(d.address, '@')) ||
	    (fl != 0 && fl != DMP_FINGERPRINT_CHARS)) {
		abort();
	}
	return 0;
}
