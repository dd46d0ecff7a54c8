/*
 * tests/fuzz/fuzz_dnswire.c - the DNS name codec (core/src/dns/dnswire.c).
 * 1. The bytes as a message: a name read at each offset is at most 255
 *    bytes, well formed, lower case, ends inside the message, reads the
 *    same without pointers when it has none, and (when its labels hold no
 *    '.' or NUL) survives wire -> text -> wire; written twice with
 *    compression it reads back twice.
 * 2. The bytes as text: a name that converts is a fixed point of
 *    text -> wire -> text -> wire, is in its own zone and the root's, and
 *    its LDH verdict matches a byte scan.
 */
#include <stdlib.h>
#include <string.h>

#include "dmp/err.h"
#include "dns/dnswire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const uint8_t *w, size_t n)
{
	size_t o = 0, plain = 1;
	char text[DMP_DNS_NAME_WIRE_MAX + 1];
	uint8_t back[DMP_DNS_NAME_WIRE_MAX];
	size_t bl;

	if (n == 0 || n > DMP_DNS_NAME_WIRE_MAX ||
	    dmp_dnswire_name_len(w) != n) {
		abort();
	}
	while (w[o]) {
		for (size_t i = 1; i <= w[o]; i++) {
			if (w[o + i] >= 'A' && w[o + i] <= 'Z') {
				abort(); /* lower case */
			}
			plain &= w[o + i] != '.' && w[o + i] != 0;
		}
		o += (size_t)w[o] + 1;
	}
	if (plain) {
		dmp_dnswire_to_text(w, text);
		if (dmp_dnswire_from_text(text, back, &bl) != 0 || bl != n ||
		    memcmp(back, w, n) != 0) {
			abort();
		}
	}
	if (!dmp_dnswire_in_zone(w, n, w, n) ||
	    !dmp_dnswire_in_zone(w, n, (const uint8_t *)"", 1)) {
		abort();
	}
}

static void as_message(const uint8_t *data, size_t size)
{
	for (size_t off = DMP_DNS_HDR_LEN; off < size && off < 80; off++) {
		uint8_t out[DMP_DNS_NAME_WIRE_MAX], out2[DMP_DNS_NAME_WIRE_MAX];
		uint8_t buf[1024];
		struct dmp_dnswire_ctab ct = {0};
		struct dmp_rbuf b, b2;
		struct dmp_wbuf w;
		int n, n2;

		dmp_rbuf_init(&b, data, size);
		b.off = off;
		n = dmp_dnswire_read(&b, out, 1);
		if (n < 0) {
			if (!dmp_rbuf_error(&b)) {
				abort(); /* errors stick */
			}
			continue;
		}
		if (b.off <= off || b.off > size) {
			abort();
		}
		check_name(out, (size_t)n);
		dmp_rbuf_init(&b2, data, size);
		b2.off = off;
		n2 = dmp_dnswire_read(&b2, out2, 0);
		if (n2 >= 0 && (n2 != n || memcmp(out, out2, (size_t)n) != 0 ||
				b2.off != off + (size_t)n || b2.off != b.off)) {
			abort();
		}
		dmp_wbuf_init(&w, buf, sizeof(buf));
		memset(buf, 0, DMP_DNS_HDR_LEN);
		w.len = DMP_DNS_HDR_LEN;
		dmp_dnswire_put_name(&w, &ct, out);
		dmp_dnswire_put_name(&w, &ct, out);
		if (dmp_wbuf_error(&w)) {
			abort();
		}
		dmp_rbuf_init(&b2, buf, w.len);
		b2.off = DMP_DNS_HDR_LEN;
		for (int k = 0; k < 2; k++) {
			n2 = dmp_dnswire_read(&b2, out2, 1);
			if (n2 != n || memcmp(out, out2, (size_t)n) != 0) {
				abort();
			}
		}
		if (dmp_rbuf_finish(&b2) != 0) {
			abort();
		}
	}
}

static void as_text(const uint8_t *data, size_t size)
{
	char text[300], t2[DMP_DNS_NAME_WIRE_MAX + 1];
	uint8_t w[DMP_DNS_NAME_WIRE_MAX], w2[DMP_DNS_NAME_WIRE_MAX];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1, wl, wl2;
	int ldh = 1;

	memcpy(text, data, n);
	text[n] = 0;
	if (dmp_dnswire_from_text(text, w, &wl) != 0) {
		return;
	}
	for (size_t i = 0; text[i]; i++) {
		char c = text[i];

		ldh &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		       c == '.';
	}
	if (dmp_dnswire_ldh(w) != ldh) {
		abort();
	}
	check_name(w, wl);
	dmp_dnswire_to_text(w, t2);
	if (dmp_dnswire_from_text(t2, w2, &wl2) != 0 || wl2 != wl ||
	    memcmp(w, w2, wl) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_message(data, size);
	as_text(data, size);
	return 0;
}
