/* core/src/dns/dnswire.c - the DNS name codec (RFC 1035 3.1, 4.1.4). */
#include <string.h>

#include "dmp/err.h"

#include "dns/dnswire.h"

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int dmp_dnswire_read(struct dmp_rbuf *b, uint8_t *out, int allow_ptr)
{
	const uint8_t *msg = b->p;
	size_t len = b->len, pos = b->off, limit = b->off, end = 0, o = 0;
	int jumped = 0;

	if (b->err) {
		return DMP_EMALFORMED;
	}
	for (;;) {
		size_t l;

		if (pos >= len) {
			goto bad;
		}
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (!allow_ptr || pos + 1 >= len) {
				goto bad;
			}
			to = (l & 0x3f) << 8 | msg[pos + 1];
			/* Strictly backwards of all we read: no loops. */
			if (to < DMP_DNS_HDR_LEN || to >= limit) {
				goto bad;
			}
			if (!jumped) {
				end = pos + 2;
				jumped = 1;
			}
			limit = to;
			pos = to;
			continue;
		}
		if (l & 0xc0) {
			goto bad; /* 0x40/0x80: RFC 6891 9 */
		}
		if (l > len - pos - 1 || o + l + 1 > DMP_DNS_NAME_WIRE_MAX) {
			goto bad;
		}
		out[o++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			out[o++] = lower(msg[pos + 1 + i]);
		}
		pos += l + 1;
		if (l == 0) {
			break;
		}
	}
	b->off = jumped ? end : pos;
	return (int)o;
bad:
	b->err = DMP_EMALFORMED;
	return DMP_EMALFORMED;
}

int dmp_dnswire_from_text(const char *text, uint8_t *out, size_t *out_len)
{
	size_t tl = strlen(text), o = 0, i = 0;

	*out_len = 0;
	if (tl > 0 && text[tl - 1] == '.') {
		tl--;
	}
	if (tl > DMP_DNS_NAME_MAX) {
		return DMP_EBADNAME;
	}
	while (i < tl) {
		size_t start = i;

		while (i < tl && text[i] != '.') {
			i++;
		}
		/* RFC 1035 2.3.4: labels of 1..63 octets. */
		if (i == start || i - start > DMP_DNS_LABEL_MAX) {
			return DMP_EBADNAME;
		}
		out[o++] = (uint8_t)(i - start);
		for (size_t k = start; k < i; k++) {
			/* PROTOCOL.md 3.2: owner names go out lower case. */
			out[o++] = lower((uint8_t)text[k]);
		}
		if (i < tl) {
			i++;
			if (i == tl) {
				return DMP_EBADNAME; /* "a..": empty label */
			}
		}
	}
	out[o++] = 0;
	*out_len = o;
	return 0;
}

void dmp_dnswire_to_text(const uint8_t *wire, char *out)
{
	size_t o = 0;

	if (wire[0] == 0) {
		strcpy(out, ".");
		return;
	}
	while (*wire) {
		size_t l = *wire++;

		if (o) {
			out[o++] = '.';
		}
		memcpy(out + o, wire, l);
		o += l;
		wire += l;
	}
	out[o] = '\0';
}

int dmp_dnswire_ldh(const uint8_t *wire)
{
	while (*wire) {
		size_t l = *wire++;

		for (size_t i = 0; i < l; i++) {
			uint8_t c = wire[i];

			if (!((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_')) {
				return 0;
			}
		}
		wire += l;
	}
	return 1;
}

int dmp_dnswire_in_zone(const uint8_t *name, size_t nlen, const uint8_t *zone,
			size_t zlen)
{
	size_t off = 0;

	while (nlen - off > zlen && name[off] != 0) {
		off += dmp_dnswire_parent(name + off);
	}
	return nlen - off == zlen && memcmp(name + off, zone, zlen) == 0;
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
				uint8_t prev[DMP_DNS_NAME_WIRE_MAX];
				struct dmp_rbuf r;

				dmp_rbuf_init(&r, w->p, w->len);
				r.off = t->off[i];
				if (dmp_dnswire_read(&r, prev, 1) > 0 &&
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
