/* tests/unit/test_dnswire.c - the DNS name codec (core/src/dns/dnswire.c):
 * text<->wire, compressed reads with their bounds, compression on write,
 * LDH and zone membership. */
#include <string.h>

#include "dmp/buf.h"
#include "dmp/dnsmsg.h"
#include "dmp/err.h"
#include "dns/dnswire.h"
#include "tap.h"

static const uint8_t mesh_test[] = "\x04mesh\x04test";

static void test_text(void)
{
	uint8_t w[DMP_DNS_NAME_WIRE_MAX];
	char t[DMP_DNS_NAME_WIRE_MAX + 1], lab[80], name[300];
	size_t wl = 99;

	is_int(dmp_dnswire_from_text("Mesh.TEST.", w, &wl), 0, "text to wire");
	is_mem(w, wl, mesh_test, sizeof(mesh_test), "lower-cased, root last");
	dmp_dnswire_to_text(w, t);
	is_str(t, "mesh.test", "wire to text, no trailing dot");
	is_int(dmp_dnswire_from_text("", w, &wl), 0, "empty is the root");
	is_int((long long)wl, 1, "root is one byte");
	is_int(dmp_dnswire_from_text(".", w, &wl), 0, "\".\" is the root");
	dmp_dnswire_to_text(w, t);
	is_str(t, ".", "root to text");
	is_int(dmp_dnswire_from_text("a..b", w, &wl), DMP_EBADNAME,
	       "empty label");
	is_int(dmp_dnswire_from_text("a..", w, &wl), DMP_EBADNAME,
	       "two trailing dots");
	is_int(dmp_dnswire_from_text(".a", w, &wl), DMP_EBADNAME,
	       "leading dot");
	memset(lab, 'a', 63);
	lab[63] = 0;
	is_int(dmp_dnswire_from_text(lab, w, &wl), 0, "63-byte label");
	lab[63] = 'a';
	lab[64] = 0;
	is_int(dmp_dnswire_from_text(lab, w, &wl), DMP_EBADNAME,
	       "64-byte label");
	/* 253 bytes: 63.63.63.61 */
	memset(name, 'b', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = 0;
	is_int(dmp_dnswire_from_text(name, w, &wl), 0, "253-byte name");
	is_int((long long)wl, 255, "255 wire bytes");
	name[253] = 'b';
	name[254] = 0;
	is_int(dmp_dnswire_from_text(name, w, &wl), DMP_EBADNAME,
	       "254-byte name");
	is_int(dmp_dns_name_to_wire(w, 5, "mesh.test"), DMP_ENOBUFS,
	       "public form: no room");
	is_int(dmp_dns_name_to_wire(w, 11, "mesh.test"), 11,
	       "public form: exact room");
	is_int(dmp_dns_name_to_wire(w, 1, ""), 1, "public form: root");
}

/* A message: header, "www.Mesh.test" at 12, then @p tail at 27. */
static size_t msg(uint8_t *m, const uint8_t *tail, size_t tl)
{
	static const uint8_t q[] = "\x03www\x04Mesh\x04test";

	memset(m, 0, DMP_DNS_HDR_LEN);
	memcpy(m + 12, q, sizeof(q));
	memcpy(m + 12 + sizeof(q), tail, tl);
	return 12 + sizeof(q) + tl;
}

static int rd(const uint8_t *m, size_t len, size_t off, uint8_t *out, int allow,
	      size_t *next)
{
	struct dmp_rbuf b;
	int n;

	dmp_rbuf_init(&b, m, len);
	b.off = off;
	n = dmp_dnswire_read(&b, out, allow);
	*next = b.off;
	if (n < 0 && !dmp_rbuf_error(&b)) {
		return -1000; /* the error must stick */
	}
	return n;
}

/* Names at offset 27 that must not read (the name at 12 is fine). */
static const struct {
	const char *tail;
	size_t len;
	const char *what;
} bad[] = {
    {"\xc0\x1b", 2, "pointer to itself"},
    {"\xc0\x1d\x00", 3, "forward pointer"},
    {"\xc0\x02", 2, "pointer into the header"},
    /* 27 -> 12 + 4 ("mesh.test") is fine; a pointer back into the name
     * holding it is a loop. */
    {"\x01y\xc0\x1b", 4, "pointer into its own name"},
    {"\x41x\x00", 3, "extended label type"},
    {"\x05"
     "ab",
     3, "label past the end"},
};

static void test_read(void)
{
	uint8_t m[600], out[DMP_DNS_NAME_WIRE_MAX];
	size_t len, next;
	int n;

	len = msg(m, (const uint8_t *)"\x01x\xc0\x10", 4);
	n = rd(m, len, 12, out, 0, &next);
	is_int(n, 15, "plain name read");
	is_mem(out, 15, "\x03www\x04mesh\x04test", 15, "lower-cased");
	is_int((long long)next, 27, "offset after it");
	n = rd(m, len, 27, out, 1, &next);
	is_int(n, 13, "compressed name read");
	is_mem(out, 13, "\x01x\x04mesh\x04test", 13, "pointer followed");
	is_int((long long)next, 31, "offset after the pointer");
	is_int(rd(m, len, 27, out, 0, &next), DMP_EMALFORMED,
	       "pointer refused when not allowed");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = msg(m, (const uint8_t *)bad[i].tail, bad[i].len);
		is_int(rd(m, len, 27, out, 1, &next), DMP_EMALFORMED, "%s",
		       bad[i].what);
	}
	is_int(rd(m, 20, 12, out, 1, &next), DMP_EMALFORMED,
	       "name cut by the message end");
	/* Over 255 bytes through pointers: 4 x 63-byte labels chained. */
	memset(m, 0, 12);
	len = 12;
	for (int i = 0; i < 5; i++) {
		size_t prev = len - (i ? 66 : 0);

		m[len] = 63;
		memset(m + len + 1, 'c', 63);
		if (i) {
			m[len + 64] = (uint8_t)(0xc0 | prev >> 8);
			m[len + 65] = (uint8_t)prev;
		} else {
			m[len + 64] = 0;
			m[len + 65] = 0;
		}
		len += 66;
	}
	is_int(rd(m, len, len - 66, out, 1, &next), DMP_EMALFORMED,
	       "name over 255 bytes through pointers");
	is_int(rd(m, len, 12 + 66 * 2, out, 1, &next), 193,
	       "three chained labels: 193 bytes");
}

static void test_ldh_zone_put(void)
{
	uint8_t a[DMP_DNS_NAME_WIRE_MAX], z[DMP_DNS_NAME_WIRE_MAX];
	uint8_t buf[256], out[DMP_DNS_NAME_WIRE_MAX];
	struct dmp_dnswire_ctab ct = {0};
	struct dmp_wbuf w;
	struct dmp_rbuf b;
	size_t al, zl;

	(void)dmp_dnswire_from_text("_a-b.c9.mesh.test", a, &al);
	ok(dmp_dnswire_ldh(a), "LDH with _ and -");
	(void)dmp_dnswire_from_text("a*b.mesh.test", a, &al);
	ok(!dmp_dnswire_ldh(a), "* is not LDH");
	(void)dmp_dnswire_from_text("mesh.test", z, &zl);
	(void)dmp_dnswire_from_text("x.y.mesh.test", a, &al);
	ok(dmp_dnswire_in_zone(a, al, z, zl), "below the zone");
	ok(dmp_dnswire_in_zone(z, zl, z, zl), "the apex is in the zone");
	(void)dmp_dnswire_from_text("xmesh.test", a, &al);
	ok(!dmp_dnswire_in_zone(a, al, z, zl), "label-safe suffix test");
	(void)dmp_dnswire_from_text("test", a, &al);
	ok(!dmp_dnswire_in_zone(a, al, z, zl), "parent is not in the zone");
	ok(dmp_dnswire_name_eq(z, mesh_test), "equal names");
	is_int((long long)dmp_dnswire_name_len(z), 11, "name length");

	dmp_wbuf_init(&w, buf, sizeof(buf));
	memset(buf, 0, 12);
	w.len = 12;
	dmp_dnswire_put_name(&w, &ct, z);
	(void)dmp_dnswire_from_text("k.Mesh.test", a, &al);
	dmp_dnswire_put_name(&w, &ct, a);
	is_int((long long)w.len, 12 + 11 + 4, "suffix written as a pointer");
	is_mem(buf + 23, 4, "\x01k\xc0\x0c", 4, "pointer to the apex");
	dmp_rbuf_init(&b, buf, w.len);
	b.off = 23;
	is_int(dmp_dnswire_read(&b, out, 1), (long long)al, "reads back");
	ok(dmp_dnswire_name_eq(out, a), "same name");
}

int main(void)
{
	plan(46);
	test_text();
	test_read();
	test_ldh_zone_put();
	return done_testing();
}
