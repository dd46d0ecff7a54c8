/* core/src/node/node_wire.c - DNS names in wire form (RFC 1035 3.1, 4.1.4). */
#include <ctype.h>
#include <string.h>

#include "dmp/err.h"
#include "node/node_i.h"

int nw_read_name(const uint8_t *msg, size_t len, size_t *off, uint8_t *out,
		 size_t *out_len, int allow_ptr)
{
	size_t pos = *off, o = 0, end = 0;
	int jumped = 0, hops = 0;

	*out_len = 0;
	for (;;) {
		unsigned l;

		if (pos >= len) {
			return DMP_EMALFORMED;
		}
		l = msg[pos];
		if ((l & 0xC0) == 0xC0) {
			size_t target;

			/* RFC 1035 4.1.4; backwards only, so no loops. */
			if (!allow_ptr || pos + 1 >= len || ++hops > 64) {
				return DMP_EMALFORMED;
			}
			target = ((size_t)(l & 0x3F) << 8) | msg[pos + 1];
			if (target < HDR_LEN || target >= pos) {
				return DMP_EMALFORMED;
			}
			if (!jumped) {
				end = pos + 2;
				jumped = 1;
			}
			pos = target;
			continue;
		}
		if (l & 0xC0) {
			return DMP_EMALFORMED; /* 0x40/0x80: RFC 6891 9 */
		}
		if (pos + 1 + l > len || o + 1 + l > NAME_WIRE_MAX) {
			return DMP_EMALFORMED;
		}
		out[o++] = (uint8_t)l;
		for (unsigned i = 0; i < l; i++) {
			out[o++] = (uint8_t)tolower(msg[pos + 1 + i]);
		}
		pos += 1 + l;
		if (l == 0) {
			break;
		}
	}
	*off = jumped ? end : pos;
	*out_len = o;
	return 0;
}

int nw_from_text(const char *text, uint8_t *out, size_t *out_len)
{
	size_t tl = strlen(text), o = 0, i = 0;

	*out_len = 0;
	if (tl > 0 && text[tl - 1] == '.') {
		tl--;
	}
	while (i < tl) {
		size_t start = i;

		while (i < tl && text[i] != '.') {
			i++;
		}
		if (i == start || i - start > 63 ||
		    o + 1 + (i - start) + 1 > NAME_WIRE_MAX) {
			return DMP_EBADNAME;
		}
		out[o++] = (uint8_t)(i - start);
		for (size_t k = start; k < i; k++) {
			out[o++] = (uint8_t)tolower((unsigned char)text[k]);
		}
		if (i < tl) {
			i++;
			if (i == tl) {
				return DMP_EBADNAME; /* "a.." */
			}
		}
	}
	out[o++] = 0;
	*out_len = o;
	return 0;
}

void nw_to_text(const uint8_t *wire, char *out)
{
	size_t o = 0;

	if (wire[0] == 0) {
		strcpy(out, ".");
		return;
	}
	while (*wire) {
		unsigned l = *wire++;

		if (o) {
			out[o++] = '.';
		}
		memcpy(out + o, wire, l);
		o += l;
		wire += l;
	}
	out[o] = '\0';
}

int nw_ldh(const uint8_t *wire)
{
	while (*wire) {
		unsigned l = *wire++;

		for (unsigned i = 0; i < l; i++) {
			int c = wire[i];

			if (!((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_')) {
				return 0;
			}
		}
		wire += l;
	}
	return 1;
}

int nw_in_zone(const uint8_t *name, size_t nlen, const uint8_t *zone,
	       size_t zlen)
{
	size_t off = 0;

	while (nlen - off >= zlen) {
		if (nlen - off == zlen) {
			return memcmp(name + off, zone, zlen) == 0;
		}
		if (name[off] == 0) {
			return 0;
		}
		off += nw_parent(name + off);
	}
	return 0;
}

int nw_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n) {
			return 0;
		}
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80) {
				return 0;
			}
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			return 0;
		}
		i += n + 1;
	}
	return 1;
}
