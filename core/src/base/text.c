/* core/src/base/text.c - text checks shared by every parser (the one UTF-8
 * check of the library; why NUL is refused: dmp/text.h). */
#include <errno.h>
#include <stdlib.h>

#include "dmp/err.h"
#include "dmp/text.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <locale.h>
#include <wchar.h>

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

const char *dmp_time_utc(char *out, size_t cap, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm) ||
	    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(out, cap, "-");
	}
	return out;
}

/* The next code point of UTF-8 @p s (at *i), or -1 (one bad byte). */
static long next_cp(const unsigned char *s, size_t *i)
{
	unsigned char c = s[*i];
	int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	long cp = n == 3 ? c & 0x07 : n == 2 ? c & 0x0f : c & 0x1f;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (n == 0 || !dmp_utf8_valid(s + *i, (size_t)n + 1)) {
		(*i)++;
		return -1;
	}
	for (int k = 1; k <= n; k++) {
		cp = (cp << 6) | (s[*i + (size_t)k] & 0x3f);
	}
	*i += (size_t)n + 1;
	return cp;
}

size_t dmp_display_width(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, w = 0;
	/* wcwidth() under C.UTF-8 for this thread only, whatever the
	 * process locale (the C locale knows no width past ASCII). */
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;

	while (u[i]) {
		long cp = next_cp(u, &i);
		int cw = cp < 0 ? 1 : wcwidth((wchar_t)cp);

		w += cw < 0 ? 1 : (size_t)cw;
	}
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	return w;
}

void dmp_print_padded(FILE *f, const char *s, size_t width)
{
	size_t w = dmp_display_width(s);

	fputs(s, f);
	for (; w < width; w++) {
		fputc(' ', f);
	}
}

const char *dmp_log_field(char *out, size_t cap, const char *in)
{
	const unsigned char *u = (const unsigned char *)(in ? in : "");
	size_t o = 0, n = strlen((const char *)u);
	int plain = n > 0 && dmp_utf8_valid(u, n);

	for (size_t i = 0; plain && i < n; i++) {
		plain =
		    u[i] > 0x20 && u[i] != 0x7f && u[i] != '"' && u[i] != '\\';
	}
	if (cap == 0) {
		return out;
	}
	if (plain) {
		snprintf(out, cap, "%s", (const char *)u);
		return out;
	}
	/* Room for the closing quote and NUL is kept at every step. */
	out[o++] = '"';
	for (size_t i = 0; i < n && o + 6 < cap; i++) {
		if (u[i] == '"' || u[i] == '\\') {
			out[o++] = '\\';
			out[o++] = (char)u[i];
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			o +=
			    (size_t)snprintf(out + o, cap - o, "\\x%02x", u[i]);
		} else {
			out[o++] = (char)u[i];
		}
	}
	if (o + 1 < cap) {
		out[o++] = '"';
	}
	out[o < cap ? o : cap - 1] = '\0';
	return out;
}
