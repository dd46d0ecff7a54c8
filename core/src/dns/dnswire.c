/* core/src/dns/dnswire.c - DNS name reading and compression. */
#include <string.h>

#include "dmp/err.h"

#include "dns/dnswire.h"

int dmp_dnswire_read_name(uint8_t *out, size_t cap, const uint8_t *msg,
			  size_t len, size_t off, size_t *next)
{
	size_t o = 0, pos = off, limit = off;
	int jumped = 0;

	if (next) {
		*next = 0;
	}
	for (;;) {
		uint8_t l;

		if (pos >= len) {
			return DMP_EMALFORMED;
		}
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (pos + 1 >= len) {
				return DMP_EMALFORMED;
			}
			to = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			/* Only backwards jumps: no loops, bounded work. */
			if (to >= limit) {
				return DMP_EMALFORMED;
			}
			if (!jumped && next) {
				*next = pos + 2;
			}
			jumped = 1;
			limit = to;
			pos = to;
			continue;
		}
		if (l & 0xc0) {
			return DMP_EMALFORMED; /* RFC 6891 9: no ext. labels */
		}
		if (l > len - pos - 1 || o + l + 1 > 255 || o + l + 1 > cap) {
			return DMP_EMALFORMED;
		}
		out[o++] = l;
		for (size_t i = 0; i < l; i++) {
			uint8_t c = msg[pos + 1 + i];

			out[o++] =
			    (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		pos += (size_t)l + 1;
		if (l == 0) {
			break;
		}
	}
	if (!jumped && next) {
		*next = pos;
	}
	return (int)o;
}

size_t dmp_dnswire_name_len(const uint8_t *name)
{
	size_t o = 0;

	while (name[o]) {
		o += (size_t)name[o] + 1;
	}
	return o + 1;
}

int dmp_dnswire_name_eq(const uint8_t *a, const uint8_t *b)
{
	size_t la = dmp_dnswire_name_len(a);

	return la == dmp_dnswire_name_len(b) && memcmp(a, b, la) == 0;
}

void dmp_dnswire_put_name(struct dmp_wbuf *w, struct dmp_dnswire_ctab *t,
			  const uint8_t *name)
{
	size_t p = 0;

	while (name[p]) {
		if (t && !w->err) {
			for (size_t i = 0; i < t->n; i++) {
				uint8_t prev[256];
				int n = dmp_dnswire_read_name(
				    prev, sizeof(prev), w->p, w->len, t->off[i],
				    NULL);

				if (n > 0 &&
				    dmp_dnswire_name_eq(prev, name + p)) {
					dmp_wbuf_u16(
					    w, (uint16_t)(0xc000 | t->off[i]));
					return;
				}
			}
			if (w->len < 0x4000 &&
			    t->n < sizeof(t->off) / sizeof(t->off[0])) {
				t->off[t->n++] = (uint16_t)w->len;
			}
		}
		dmp_wbuf_put(w, name + p, (size_t)name[p] + 1);
		p += (size_t)name[p] + 1;
	}
	dmp_wbuf_u8(w, 0);
}
