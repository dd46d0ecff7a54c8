/* core/src/base/b64.c - strict base64 and hex over libsodium's codecs. */
#include <string.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/err.h"

/*
 * Table-driven, not libsodium's constant-time codec: everything encoded
 * here is public wire data, and the codec runs for every chunk of every
 * message (libsodium's version cost 3x more per chunk).
 */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet bytes, 0xff for everything else ('=' included). */
static const uint8_t b64_rev[256] = {
#define X 0xff
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	62, X,	X,  X,	63, 52, 53, 54, 55, 56, 57, 58, 59, 60,
    61, X,  X,	X,  X,	X,  X,	X,  0,	1,  2,	3,  4,	5,  6,	7,  8,	9,  10,
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,	X,  X,
    X,	X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
    43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,	X,  X,
    X,	X,  X,	X,  X,	X,  X,	X,  X,
#undef X
};

int dmp_b64_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
	size_t need = DMP_B64_LEN(len), i = 0, o = 0;

	if (cap < need + 1) {
		return DMP_ENOBUFS;
	}
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len) {
			v |= (uint32_t)in[i + 1] << 8;
		}
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)need;
}

int dmp_b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in,
		   size_t len)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t pad = 0, raw, full, o = 0;
	uint32_t bad = 0;

	*out_len = 0;
	if (len % 4 != 0) {
		return DMP_EBASE64;
	}
	if (len == 0) {
		return 0;
	}
	if (s[len - 1] == '=') {
		pad = s[len - 2] == '=' ? 2 : 1;
	}
	raw = len / 4 * 3 - pad;
	if (raw > cap) {
		return DMP_ENOBUFS;
	}
	/* Whole quads without padding. */
	full = pad ? len - 4 : len;
	for (size_t i = 0; i < full; i += 4) {
		uint32_t a = b64_rev[s[i]], b = b64_rev[s[i + 1]],
			 c = b64_rev[s[i + 2]], d = b64_rev[s[i + 3]];

		bad |= a | b | c | d;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)(b << 4 | c >> 2);
		out[o++] = (uint8_t)(c << 6 | d);
	}
	if (pad) {
		const uint8_t *q = s + full;
		uint32_t a = b64_rev[q[0]], b = b64_rev[q[1]];
		uint32_t c = pad == 1 ? b64_rev[q[2]] : 0;

		bad |= a | b | c;
		/*
		 * Canonical only: the bits that fall off the end must be zero,
		 * so every byte string has exactly one accepted spelling.
		 */
		if (bad & 0x80 || (pad == 2 && (b & 0x0f)) ||
		    (pad == 1 && (c & 0x03))) {
			return DMP_EBASE64;
		}
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		if (pad == 1) {
			out[o++] = (uint8_t)(b << 4 | c >> 2);
		}
	}
	if (bad & 0x80) {
		return DMP_EBASE64;
	}
	*out_len = o;
	return 0;
}

void dmp_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int dmp_hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int dmp_hex_decode(uint8_t *out, size_t want, const char *in, size_t len)
{
	if (len != 2 * want) {
		return DMP_EMALFORMED;
	}
	for (size_t i = 0; i < want; i++) {
		int hi = dmp_hex_digit(in[2 * i]);
		int lo = dmp_hex_digit(in[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			return DMP_EMALFORMED;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
