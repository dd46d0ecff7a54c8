/* core/src/wire/txt.c - TXT character-string split and join. */
#include <string.h>

#include "dmp/err.h"
#include "dmp/txt.h"

size_t dmp_txt_rdata_len(size_t len)
{
	size_t strings =
	    len ? (len + DMP_TXT_STRING_MAX - 1) / DMP_TXT_STRING_MAX : 1;

	return len + strings;
}

int dmp_txt_split(uint8_t *rdata, size_t cap, const char *value, size_t len)
{
	size_t need = dmp_txt_rdata_len(len), off = 0, pos = 0;

	if (need > 65535) {
		return DMP_ETOOBIG;
	}
	if (need > cap) {
		return DMP_ENOBUFS;
	}
	do {
		size_t piece = len - pos;

		if (piece > DMP_TXT_STRING_MAX) {
			piece = DMP_TXT_STRING_MAX;
		}
		rdata[off++] = (uint8_t)piece;
		memcpy(rdata + off, value + pos, piece);
		off += piece;
		pos += piece;
	} while (pos < len);
	return (int)off;
}

int dmp_txt_join(char *out, size_t cap, size_t *out_len, const uint8_t *rdata,
		 size_t rdlen)
{
	size_t off = 0, len = 0;

	*out_len = 0;
	if (cap == 0) {
		return DMP_ENOBUFS;
	}
	while (off < rdlen) {
		size_t piece = rdata[off++];

		if (piece > rdlen - off) {
			return DMP_EMALFORMED;
		}
		if (piece >= cap - len) {
			return DMP_ENOBUFS;
		}
		memcpy(out + len, rdata + off, piece);
		len += piece;
		off += piece;
	}
	out[len] = '\0';
	*out_len = len;
	return 0;
}
