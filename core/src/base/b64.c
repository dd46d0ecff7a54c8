/* core/src/base/b64.c - strict base64 and hex over libsodium's codecs. */
#include <string.h>
#include <sodium.h>

#include "dmp/b64.h"
#include "dmp/err.h"

int dmp_b64_encode(char *out, size_t cap, const uint8_t *in, size_t len)
{
	size_t need = DMP_B64_LEN(len);

	if (cap < need + 1) {
		return DMP_ENOBUFS;
	}
	sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_ORIGINAL);
	return (int)need;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

int dmp_b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in,
		   size_t len)
{
	size_t pad = 0, raw;
	const char *end = NULL;
	int last;

	*out_len = 0;
	if (len % 4 != 0) {
		return DMP_EBASE64;
	}
	if (len == 0) {
		return 0;
	}
	if (in[len - 1] == '=') {
		pad = in[len - 2] == '=' ? 2 : 1;
	}
	raw = len / 4 * 3 - pad;
	if (raw > cap) {
		return DMP_ENOBUFS;
	}
	/*
	 * libsodium 1.0.18 maps some bytes >= 0x80 onto alphabet symbols and
	 * does not insist that the unused low bits of the last symbol are
	 * zero, so check both here: only canonical ASCII encodings have a
	 * single spelling.
	 */
	for (size_t i = 0; i < len - pad; i++) {
		if (b64_value(in[i]) < 0) {
			return DMP_EBASE64;
		}
	}
	if (pad) {
		last = b64_value(in[len - pad - 1]);
		if (last < 0 || (last & (pad == 1 ? 0x03 : 0x0f)) != 0) {
			return DMP_EBASE64;
		}
	}
	if (sodium_base642bin(out, cap, in, len, NULL, out_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != in + len || *out_len != raw) {
		*out_len = 0;
		return DMP_EBASE64;
	}
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

static int hex_nibble(char c)
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
		int hi = hex_nibble(in[2 * i]);
		int lo = hex_nibble(in[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			return DMP_EMALFORMED;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
