/* core/src/wire/dnsname.c - DNS-name rules (PROTOCOL.md 3.2, 3.3). */
#include <string.h>

#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dnsname_i.h"

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int dmp_dnsname_normalize_max(char *out, size_t cap, const char *name,
			      size_t len, size_t max_len)
{
	size_t n = len, label = 0;

	if (out && cap) {
		out[0] = '\0';
	}
	if (!name || len == 0) {
		return DMP_EBADNAME;
	}
	/* 3.3: "a.b." is "a.b"; "a.b.." hides an empty label, refuse it. */
	if (name[n - 1] == '.') {
		n--;
	}
	if (n == 0 || n > max_len) {
		return DMP_EBADNAME;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)name[i] : '.';

		if (c == '.') {
			/* Empty label, or one ending in '-' (RFC 1123 2.1). */
			if (label == 0 || label > DMP_DNSLABEL_MAX ||
			    name[i - 1] == '-') {
				return DMP_EBADNAME;
			}
			label = 0;
			continue;
		}
		if (!is_alnum(c) && !(c == '-' && label > 0)) {
			return DMP_EBADNAME;
		}
		label++;
	}
	if (out) {
		if (cap < n + 1) {
			return DMP_ENOBUFS;
		}
		memcpy(out, name, n);
		out[n] = '\0';
	}
	return (int)n;
}

int dmp_dnsname_normalize(char *out, size_t cap, const char *name, size_t len)
{
	return dmp_dnsname_normalize_max(out, cap, name, len, DMP_DNSNAME_MAX);
}

int dmp_dnsname_http_check(const char *name, size_t len)
{
	size_t start = 0;

	if (!name || len == 0 || len > DMP_HTTPNAME_MAX) {
		return DMP_EBADNAME;
	}
	for (size_t i = 0; i <= len; i++) {
		size_t s, e;

		if (i < len && name[i] != '.') {
			continue;
		}
		/* Label is name[start, i): `_?` then an alnum-bounded run. */
		s = start;
		e = i;
		start = i + 1;
		if (s < e && name[s] == '_') {
			s++;
		}
		if (s == e || e - s > DMP_DNSLABEL_MAX ||
		    !is_alnum((unsigned char)name[s]) ||
		    !is_alnum((unsigned char)name[e - 1])) {
			return DMP_EBADNAME;
		}
		for (size_t j = s; j < e; j++) {
			if (!is_alnum((unsigned char)name[j]) &&
			    name[j] != '-') {
				return DMP_EBADNAME;
			}
		}
	}
	return 0;
}

int dmp_owner_name_lower(char *out, size_t cap, const char *name, size_t len)
{
	if (len && name[len - 1] == '.') {
		len--;
	}
	if (cap < len + 1) {
		if (cap) {
			out[0] = '\0';
		}
		return DMP_ENOBUFS;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return (int)len;
}

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
