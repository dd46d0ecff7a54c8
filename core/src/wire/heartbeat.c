/* core/src/wire/heartbeat.c - node heartbeat (PROTOCOL.md 2.8). */
#include <stddef.h>
#include <strings.h>
#include <string.h>

#include "dmp/addr.h"
#include "dmp/b64.h"
#include "dmp/buf.h"
#include "dmp/crypto.h"
#include "dmp/err.h"
#include "dmp/heartbeat.h"
#include "dmp/record.h"
#include "dmp/text.h"
#include "heartbeat_i.h"
#include "signed_i.h"

#define MAGIC_LEN 7
/* magic, ep_len, spk, ver_len, caps, ts, exp: the HB02 minimum. */
#define MIN_BODY (MAGIC_LEN + 2 + 32 + 1 + 2 + 16)
#define HB_INT_MAX (UINT64_C(1) << 63)

enum ip_class { IP_PUBLIC, IP_LOOPBACK, IP_REFUSED };

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Canonical dotted quad as Python's ipaddress reads it: four decimal
 * octets of 1-3 digits, no leading zeros, each <= 255.
 */
static int parse_ipv4(const char *s, size_t len, uint8_t ip[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		if (part > 0) {
			if (i >= len || s[i] != '.') {
				return 0;
			}
			start = ++i;
		}
		while (i < len && is_digit(s[i]) && i - start < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (i == start || v > 255 ||
		    (s[start] == '0' && i - start > 1)) {
			return 0;
		}
		ip[part] = (uint8_t)v;
	}
	return i == len;
}

/* RFC 4291 2.2 text form, with an optional trailing dotted quad. */
static int parse_ipv6(const char *s, size_t len, uint8_t ip[16])
{
	uint16_t g[8];
	size_t n = 0, i = 0;
	int gap = -1;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return 0;
	}
	while (i < len) {
		size_t start = i;
		unsigned v = 0;

		if (n == 8) {
			return 0;
		}
		while (i < len && dmp_hex_digit(s[i]) >= 0 && i - start < 4) {
			v = v << 4 | (unsigned)dmp_hex_digit(s[i]);
			i++;
		}
		if (i < len && s[i] == '.') {
			/* Embedded IPv4 ends the address and fills two groups.
			 */
			uint8_t v4[4];

			if (n > 6 || !parse_ipv4(s + start, len - start, v4)) {
				return 0;
			}
			g[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			i = len;
			break;
		}
		if (i == start) {
			return 0;
		}
		g[n++] = (uint16_t)v;
		if (i == len) {
			break;
		}
		if (s[i] != ':') {
			return 0;
		}
		i++;
		if (i < len && s[i] == ':') {
			if (gap >= 0) {
				return 0;
			}
			gap = (int)n;
			i++;
		} else if (i == len) {
			return 0; /* a single trailing ':' */
		}
	}
	if (gap < 0 ? n != 8 : n > 7) {
		return 0;
	}
	memset(ip, 0, 16);
	for (size_t k = 0; k < n; k++) {
		size_t pos = (gap >= 0 && k >= (size_t)gap) ? k + (8 - n) : k;

		ip[2 * pos] = (uint8_t)(g[k] >> 8);
		ip[2 * pos + 1] = (uint8_t)g[k];
	}
	return 1;
}

static int in4(const uint8_t ip[4], uint32_t net, unsigned bits)
{
	uint32_t a = dmp_load_u32(ip);
	uint32_t mask = bits ? ~UINT32_C(0) << (32 - bits) : 0;

	return (a & mask) == net;
}

/*
 * The reference refuses is_loopback, is_private, is_link_local,
 * is_multicast, is_reserved and is_unspecified of Python 3.11's ipaddress.
 * This list is their union across Python 3.11 releases plus 100.64/10
 * (RFC 6598 shared space, not publicly routable either).
 */
static enum ip_class classify_v4(const uint8_t ip[4])
{
	static const struct {
		uint32_t net;
		unsigned bits;
	} refused[] = {
	    {0x00000000, 8},  {0x0a000000, 8},	{0x64400000, 10},
	    {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24},
	    {0xc0000200, 24}, {0xc0a80000, 16}, {0xc6120000, 15},
	    {0xc6336400, 24}, {0xcb007100, 24}, {0xe0000000, 4},
	    {0xf0000000, 4},
	};

	if (in4(ip, 0x7f000000, 8)) {
		return IP_LOOPBACK;
	}
	for (size_t i = 0; i < DMP_ARRAY_LEN(refused); i++) {
		if (in4(ip, refused[i].net, refused[i].bits)) {
			return IP_REFUSED;
		}
	}
	return IP_PUBLIC;
}

/*
 * Python 3.11 refuses all of ::/3 and 4000::/2.. except fec0::/10 (site
 * local, which it forgets); we keep only global unicast 2000::/3 and drop
 * from it what ipaddress calls private: 2001::/23 (IETF protocol
 * assignments), 2001:db8::/32 and 3fff::/20 (documentation), 2002::/16
 * (6to4, which can wrap any IPv4 address).
 */
static enum ip_class classify_v6(const uint8_t ip[16])
{
	static const uint8_t loopback[16] = {[15] = 1};
	uint16_t g0 = (uint16_t)(ip[0] << 8 | ip[1]);
	uint16_t g1 = (uint16_t)(ip[2] << 8 | ip[3]);

	if (memcmp(ip, loopback, 16) == 0) {
		return IP_LOOPBACK;
	}
	if ((g0 & 0xe000) != 0x2000 || (g0 == 0x2001 && g1 < 0x0200) ||
	    (g0 == 0x2001 && g1 == 0x0db8) || g0 == 0x2002 ||
	    (g0 == 0x3fff && g1 < 0x1000)) {
		return IP_REFUSED;
	}
	return IP_PUBLIC;
}

/*
 * A host made only of numbers (decimal, octal or 0x hex parts) may be
 * read as an address by inet_aton-style resolvers: `127.1`, `0x7f.1`,
 * `2130706433`. Python sees them as names; we refuse any that is not a
 * canonical dotted quad.
 */
static int looks_numeric(const char *h, size_t len)
{
	size_t i = 0;

	if (len && h[len - 1] == '.') {
		len--;
	}
	if (len == 0) {
		return 0;
	}
	while (i < len) {
		size_t start = i;

		if (i + 1 < len && h[i] == '0' &&
		    (h[i + 1] == 'x' || h[i + 1] == 'X')) {
			i += 2;
			while (i < len && dmp_hex_digit(h[i]) >= 0) {
				i++;
			}
		} else {
			while (i < len && is_digit(h[i])) {
				i++;
			}
			if (i == start) {
				return 0;
			}
		}
		if (i < len && h[i++] != '.') {
			return 0;
		}
		if (i == len && h[len - 1] == '.') {
			return 0;
		}
	}
	return 1;
}

static int host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       is_digit(c) || c == '-' || c == '.' || c == '_';
}

static int is_localhost(const char *h, size_t len)
{
	static const char *const names[] = {
	    "localhost", "localhost.localdomain", "ip6-localhost"};
	static const char tail[] = ".localhost";
	const size_t tl = sizeof(tail) - 1;

	if (len && h[len - 1] == '.') {
		len--;
	}
	for (size_t i = 0; i < DMP_ARRAY_LEN(names); i++) {
		if (strlen(names[i]) == len &&
		    strncasecmp(h, names[i], len) == 0) {
			return 1;
		}
	}
	return len > tl && strncasecmp(h + len - tl, tail, tl) == 0;
}

int dmp_heartbeat_endpoint_check(const char *ep, size_t len, unsigned flags)
{
	const int allow_lo = (flags & DMP_HEARTBEAT_ALLOW_LOOPBACK) != 0;
	struct dmp_hostport hp;
	const char *auth, *end;
	enum ip_class cls = IP_PUBLIC;
	uint8_t ip[16];
	size_t skip;

	if (!ep || len == 0 || len > DMP_HEARTBEAT_ENDPOINT_MAX) {
		return DMP_EMALFORMED;
	}
	end = ep + len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ep[i];

		if (c < 0x21 || c > 0x7e) {
			return DMP_EMALFORMED;
		}
	}
	if (len > 8 && strncasecmp(ep, "https://", 8) == 0) {
		skip = 8;
	} else if (len > 7 && strncasecmp(ep, "http://", 7) == 0) {
		skip = 7;
	} else {
		return DMP_EMALFORMED;
	}
	auth = ep + skip;
	/* Path, query, fragment, userinfo: none allowed (2.8). */
	if (memchr(auth, '/', (size_t)(end - auth)) ||
	    memchr(auth, '?', (size_t)(end - auth)) ||
	    memchr(auth, '#', (size_t)(end - auth)) ||
	    memchr(auth, '@', (size_t)(end - auth)) ||
	    memchr(auth, '\\', (size_t)(end - auth))) {
		return DMP_EMALFORMED;
	}
	/* host[:port] with a port of 1..65535; the host rules are 2.8's. */
	if (dmp_hostport_split(&hp, auth, (size_t)(end - auth), 0, 0) != 0) {
		return DMP_EMALFORMED;
	}
	if (hp.bracketed) {
		if (!parse_ipv6(hp.host, hp.host_len, ip)) {
			return DMP_EMALFORMED;
		}
		cls = classify_v6(ip);
	} else {
		/* Names: [A-Za-z0-9_-] labels, one trailing dot at most. */
		for (size_t i = 0; i < hp.host_len; i++) {
			if (!host_char_ok(hp.host[i]) ||
			    (hp.host[i] == '.' &&
			     (i == 0 || hp.host[i - 1] == '.'))) {
				return DMP_EMALFORMED;
			}
		}
		if (parse_ipv4(hp.host, hp.host_len, ip)) {
			cls = classify_v4(ip);
		} else if (looks_numeric(hp.host, hp.host_len)) {
			return DMP_EMALFORMED;
		} else if (is_localhost(hp.host, hp.host_len)) {
			cls = IP_LOOPBACK;
		}
	}
	if (cls == IP_REFUSED || (cls == IP_LOOPBACK && !allow_lo)) {
		return DMP_EMALFORMED;
	}
	return 0;
}

/* Zone: visible ASCII, as the reference's signer demands (2.8). */
static int zone_ok(const uint8_t *z, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (z[i] < 0x21 || z[i] > 0x7e) {
			return 0;
		}
	}
	return 1;
}

static int parse_body(void *rec, const uint8_t *body, size_t len,
		      unsigned flags)
{
	struct dmp_heartbeat *out = rec;
	struct dmp_rbuf r;
	const uint8_t *p;
	size_t l;
	int rc = DMP_EMALFORMED;

	dmp_rbuf_init(&r, body, len);
	p = dmp_rbuf_take(&r, MAGIC_LEN);
	if (!p) {
		return rc;
	}
	if (memcmp(p, DMP_HEARTBEAT_MAGIC_V2, MAGIC_LEN) == 0) {
		out->legacy = 1;
	} else if (memcmp(p, DMP_HEARTBEAT_MAGIC, MAGIC_LEN) != 0) {
		return rc;
	}
	l = dmp_rbuf_u16(&r);
	p = dmp_rbuf_take(&r, l);
	if (!p || l == 0 || l > DMP_HEARTBEAT_ENDPOINT_MAX ||
	    dmp_heartbeat_endpoint_check((const char *)p, l, flags) != 0) {
		return rc;
	}
	memcpy(out->endpoint, p, l);
	dmp_rbuf_copy(&r, out->operator_spk, sizeof(out->operator_spk));
	l = dmp_rbuf_u8(&r);
	p = dmp_rbuf_take(&r, l);
	if (!p || l > DMP_HEARTBEAT_VERSION_MAX || !dmp_ascii_printable(p, l)) {
		return rc;
	}
	memcpy(out->version, p, l);
	out->capabilities = dmp_rbuf_u16(&r);
	if (!out->legacy) {
		l = dmp_rbuf_u8(&r);
		p = dmp_rbuf_take(&r, l);
		if (!p || l > DMP_HEARTBEAT_ZONE_MAX || !zone_ok(p, l)) {
			return rc;
		}
		memcpy(out->zone, p, l);
	}
	out->ts = dmp_rbuf_u64(&r);
	out->exp = dmp_rbuf_u64(&r);
	if (dmp_rbuf_finish(&r) != 0 || out->exp <= out->ts) {
		return rc;
	}
	return 0;
}

int dmp_heartbeat_body_encode(uint8_t *out, size_t cap,
			      const struct dmp_heartbeat *hb, unsigned flags)
{
	size_t el = strnlen(hb->endpoint, sizeof(hb->endpoint));
	size_t vl = strnlen(hb->version, sizeof(hb->version));
	size_t zl = strnlen(hb->zone, sizeof(hb->zone));
	struct dmp_wbuf w;

	if (el == sizeof(hb->endpoint) || vl == sizeof(hb->version) ||
	    zl == sizeof(hb->zone)) {
		return DMP_EINVAL;
	}
	if (dmp_heartbeat_endpoint_check(hb->endpoint, el, flags) != 0) {
		return DMP_EMALFORMED;
	}
	if (!dmp_ascii_printable((const uint8_t *)hb->version, vl) ||
	    !zone_ok((const uint8_t *)hb->zone, zl) || hb->ts >= HB_INT_MAX ||
	    hb->exp >= HB_INT_MAX || hb->exp <= hb->ts) {
		return DMP_EINVAL;
	}
	dmp_wbuf_init(&w, out, cap);
	dmp_wbuf_put(&w, DMP_HEARTBEAT_MAGIC, MAGIC_LEN);
	dmp_wbuf_u16(&w, (uint16_t)el);
	dmp_wbuf_put(&w, hb->endpoint, el);
	dmp_wbuf_put(&w, hb->operator_spk, sizeof(hb->operator_spk));
	dmp_wbuf_u8(&w, (uint8_t)vl);
	dmp_wbuf_put(&w, hb->version, vl);
	dmp_wbuf_u16(&w, hb->capabilities);
	dmp_wbuf_u8(&w, (uint8_t)zl);
	dmp_wbuf_put(&w, hb->zone, zl);
	dmp_wbuf_u64(&w, hb->ts);
	dmp_wbuf_u64(&w, hb->exp);
	return dmp_wbuf_result(&w, DMP_ETOOBIG);
}

static int encode_body(uint8_t *out, size_t cap, const void *rec,
		       unsigned flags)
{
	return dmp_heartbeat_body_encode(out, cap, rec, flags);
}

static const struct dmp_signed_type heartbeat_type = {
    .prefix = DMP_PREFIX_HEARTBEAT,
    .rec_size = sizeof(struct dmp_heartbeat),
    .body_max = DMP_HEARTBEAT_BODY_MAX,
    .min_body = MIN_BODY,
    .nsig = 1,
    .spk_off = {offsetof(struct dmp_heartbeat, operator_spk)},
    .parse = parse_body,
    .encode = encode_body,
};

int dmp_heartbeat_body_parse(struct dmp_heartbeat *out, const uint8_t *body,
			     size_t len, unsigned flags)
{
	return dmp_signed_body_parse(out, &heartbeat_type, body, len, flags);
}

int dmp_heartbeat_sign(char *out, size_t cap, const struct dmp_heartbeat *hb,
		       const uint8_t sk[DMP_ED25519_SK_BYTES], unsigned flags)
{
	return dmp_signed_sign1(out, cap, &heartbeat_type, hb, sk, flags);
}

int dmp_heartbeat_parse(struct dmp_heartbeat *out, const char *wire, size_t len,
			uint64_t now, unsigned flags)
{
	int rc = dmp_signed_parse(out, &heartbeat_type, wire, len, NULL, flags);

	if (rc < 0) {
		return rc;
	}
	/* 6.2: |ts - now| <= 300, exp > now, exp - now <= 30 days. */
	rc = dmp_signed_check_window(out->ts, out->exp, now, 1);
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
