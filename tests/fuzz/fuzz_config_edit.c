/*
 * tests/fuzz/fuzz_config_edit.c - dmp_config_edit() on arbitrary text.
 * Byte 0 picks set or unset; the rest is the file. The result of a set
 * must hold the new line; an unset's must be no longer than the input;
 * nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmp/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *out = NULL;
	int unset;

	if (size < 1) {
		return 0;
	}
	unset = data[0] & 1;
	text = malloc(size);
	if (!text) {
		return 0;
	}
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (dmp_config_edit(text, "messages", "lifetime", unset ? NULL : "99",
			    &out) == 0) {
		if (!out || (!unset && !strstr(out, "lifetime: 99")) ||
		    (unset && strlen(out) > strlen(text) + 1)) {
			abort();
		}
	}
	free(out);
	free(text);
	return 0;
}
