/* tests/unit/test_dnsname.c - name rules (PROTOCOL.md 3.2, 3.3). */
#include <string.h>

#include "dmp/dnsname.h"
#include "dmp/err.h"
#include "tap.h"
#include "dmp/text.h"

static const struct {
	const char *in;
	const char *norm; /* NULL: refused by the DNS-name rule */
	int http;	  /* 1 if the HTTP API rule accepts @in */
} names[] = {
    {"example.com", "example.com", 1},
    {"example.com.", "example.com", 0},
    {"Mesh.Example.COM", "Mesh.Example.COM", 1},
    {"a", "a", 1},
    {"a-b.c-d", "a-b.c-d", 1},
    {"1.2.3.4", "1.2.3.4", 1},
    {"xn--bcher-kva.example", "xn--bcher-kva.example", 1},
    {"a--b.example", "a--b.example", 1},
    {"", NULL, 0},
    {".", NULL, 0},
    {"..", NULL, 0},
    {"example.com..", NULL, 0},
    {".example.com", NULL, 0},
    {"a..b", NULL, 0},
    {"-a.example", NULL, 0},
    {"a-.example", NULL, 0},
    {"a.-b", NULL, 0},
    {"a.b-", NULL, 0},
    {"a.b-.", NULL, 0},
    {"_dmp.example.com", NULL, 1},
    {"_dnsmesh-heartbeat.example.com", NULL, 1},
    {"a_b.example", NULL, 0},
    {"__dmp.example", NULL, 0},
    {"_-a.example", NULL, 0},
    {"a b.example", NULL, 0},
    {"a*b.example", NULL, 0},
    {"caf\xc3\xa9.example", NULL, 0},
    {"a\x80.example", NULL, 0},
    {"a/b", NULL, 0},
};

static void test_table(void)
{
	char out[DMP_DNSNAME_MAX + 1];

	for (size_t i = 0; i < DMP_ARRAY_LEN(names); i++) {
		const char *in = names[i].in;
		int rc =
		    dmp_dnsname_normalize(out, sizeof(out), in, strlen(in));

		if (names[i].norm) {
			is_int(rc, (long long)strlen(names[i].norm),
			       "DNS rule accepts '%s'", in);
			is_str(out, names[i].norm, "normalised '%s'", in);
		} else {
			is_int(rc, DMP_EBADNAME, "DNS rule refuses '%s'", in);
			is_str(out, "", "output cleared for '%s'", in);
		}
		is_int(dmp_dnsname_http_check(in, strlen(in)),
		       names[i].http ? 0 : DMP_EBADNAME, "HTTP rule on '%s'",
		       in);
	}
}

static void test_lengths(void)
{
	char name[300], out[DMP_DNSNAME_MAX + 1];

	/* 63-byte label fine, 64 refused. */
	memset(name, 'a', 63);
	memcpy(name + 63, ".com", 5);
	is_int(dmp_dnsname_normalize(NULL, 0, name, 67), DMP_EBADNAME,
	       "67-byte name is over 64 in total");
	is_int(dmp_dnsname_normalize_max(NULL, 0, name, 67, 253), 67,
	       "63-byte label within a longer cap");
	name[63] = 'a';
	is_int(dmp_dnsname_normalize_max(NULL, 0, name, 64, 253), DMP_EBADNAME,
	       "64-byte label refused");
	is_int(dmp_dnsname_http_check(name, 64), DMP_EBADNAME,
	       "HTTP rule: 64-byte label refused");
	name[0] = '_';
	is_int(dmp_dnsname_http_check(name, 64), 0,
	       "HTTP rule: '_' + 63 characters");

	/* Exactly 64 bytes, with and without the root dot. */
	memset(name, 'b', 64);
	name[20] = name[40] = '.';
	is_int(dmp_dnsname_normalize(out, sizeof(out), name, 64), 64,
	       "64-byte name");
	name[64] = '.';
	is_int(dmp_dnsname_normalize(out, sizeof(out), name, 65), 64,
	       "64 bytes plus the trailing dot");
	is_int((long long)strlen(out), 64, "dot stripped");
	name[64] = 'b';
	is_int(dmp_dnsname_normalize(out, sizeof(out), name, 65), DMP_EBADNAME,
	       "65-byte name");
	is_int(dmp_dnsname_normalize(out, 10, name, 64), DMP_ENOBUFS,
	       "short output buffer");

	/* HTTP rule: 253 bytes in total. */
	for (size_t i = 0; i < sizeof(name); i++) {
		name[i] = (i % 50 == 49) ? '.' : 'c';
	}
	is_int(dmp_dnsname_http_check(name, 253), 0, "253-byte HTTP name");
	is_int(dmp_dnsname_http_check(name, 254), DMP_EBADNAME,
	       "254-byte HTTP name");
	is_int(dmp_dnsname_normalize(NULL, 0, "a\0b", 3), DMP_EBADNAME,
	       "NUL inside a name");
}

static void test_lower(void)
{
	char out[64];

	is_int(dmp_owner_name_lower(out, sizeof(out), "Slot-1.MB-ABC.Example.",
				    22),
	       21, "lower-case owner name");
	is_str(out, "slot-1.mb-abc.example", "lowered, dot dropped");
	is_int(dmp_owner_name_lower(out, sizeof(out), "_DMP.x", 6), 6,
	       "underscore kept");
	is_str(out, "_dmp.x", "only A-Z change");
	is_int(dmp_owner_name_lower(out, sizeof(out), "\xc3\x89", 2), 2,
	       "non-ASCII bytes pass through");
	is_mem(out, 2, "\xc3\x89", 2, "unchanged");
	is_int(dmp_owner_name_lower(out, 3, "abcd", 4), DMP_ENOBUFS,
	       "short buffer");
	is_int(dmp_owner_name_lower(out, 5, "abcd", 4), 4, "exact buffer");
}

static const struct {
	const char *s;
	int ok;
} utf8_cases[] = {
    {"plain", 1},
    {"\xc3\xa9", 1},
    {"\xe2\x82\xac", 1},
    {"\xf0\x9f\x98\x80", 1},
    {"\xf4\x8f\xbf\xbf", 1},
    {"\xf4\x90\x80\x80", 0}, /* > U+10FFFF */
    {"\xc0\x80", 0},	     /* overlong NUL */
    {"\xc1\xbf", 0},
    {"\xe0\x9f\xbf", 0}, /* overlong */
    {"\xed\xa0\x80", 0}, /* surrogate */
    {"\xc3", 0},	 /* truncated */
    {"\xe2\x82", 0},
    {"\x80", 0},
    {"\xff", 0},
    {"\xc3\x28", 0},
};

static void test_utf8(void)
{
	for (size_t i = 0; i < DMP_ARRAY_LEN(utf8_cases); i++) {
		is_int(dmp_utf8_valid((const uint8_t *)utf8_cases[i].s,
				      strlen(utf8_cases[i].s)),
		       utf8_cases[i].ok, "UTF-8 case %zu", i);
	}
	is_int(dmp_utf8_valid((const uint8_t *)"a\0b", 3), 0, "NUL is refused");
	is_int(dmp_ascii_printable((const uint8_t *)"a b~", 4), 1,
	       "printable ASCII");
	is_int(dmp_ascii_printable((const uint8_t *)"a\x7f", 2), 0, "DEL");
}

/* Checks per section: three per name in the table, one per UTF-8 case. */
enum { LENGTH_CHECKS = 13, LOWER_CHECKS = 8, UTF8_EXTRA_CHECKS = 3 };

int main(void)
{
	plan((int)(3 * DMP_ARRAY_LEN(names)) + LENGTH_CHECKS + LOWER_CHECKS +
	     (int)DMP_ARRAY_LEN(utf8_cases) + UTF8_EXTRA_CHECKS);
	test_table();
	test_lengths();
	test_lower();
	test_utf8();
	return done_testing();
}
