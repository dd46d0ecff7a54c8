/* core/src/base/text.c - text checks shared by every parser (the one UTF-8
 * check of the library; why NUL is refused: dmp/text.h). */
#include <errno.h>
#include <stdlib.h>

#include "dmp/err.h"
#include "dmp/text.h"

int dmp_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t need;
		uint32_t cp, min;

		if (c == 0) {
			return 0;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return 0;
		}
		if (len - i - 1 < need) {
			return 0;
		}
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				return 0;
			}
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return 0;
		}
		i += need + 1;
	}
	return 1;
}

int dmp_ascii_printable(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e) {
			return 0;
		}
	}
	return 1;
}

int dmp_parse_int(const char *s, long long min, long long max, long long *out)
{
	const char *d = s && *s == '-' ? s + 1 : s;
	char *end;
	long long x;

	/* strtoll alone would take " 5", "+5", "5abc" (with end checked: no)
	 * and "" (yes, as 0): the digits are checked first. */
	if (!d || *d < '0' || *d > '9') {
		return DMP_EINVAL;
	}
	errno = 0;
	x = strtoll(s, &end, 10);
	if (*end) {
		return DMP_EINVAL;
	}
	if (errno == ERANGE || x < min || x > max) {
		return DMP_ERANGE;
	}
	*out = x;
	return 0;
}
