/* core/src/wire/dnsname.c - DNS-name rules (PROTOCOL.md 3.2, 3.3). */
#include <string.h>

#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "dmp/text.h"

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
