/* core/src/base/addr.c - HOST[:PORT] text to host, port and sockaddr. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "dmp/addr.h"
#include "dmp/err.h"

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 1 to 5 decimal digits, 1..65535. */
static int parse_port(const char *p, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5) {
		return DMP_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(p[i])) {
			return DMP_EINVAL;
		}
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535) {
		return DMP_EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int dmp_hostport_split(struct dmp_hostport *hp, const char *s, size_t len,
		       uint16_t defport, unsigned flags)
{
	const char *end = s + len, *port = NULL;

	memset(hp, 0, sizeof(*hp));
	hp->port = defport;
	if (!s || len == 0) {
		return DMP_EINVAL;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close) {
			return DMP_EINVAL;
		}
		hp->host = s + 1;
		hp->host_len = (size_t)(close - hp->host);
		hp->bracketed = 1;
		if (close + 1 < end) {
			if (close[1] != ':') {
				return DMP_EINVAL;
			}
			port = close + 2;
		}
	} else {
		const char *colon = memchr(s, ':', len);

		hp->host = s;
		hp->host_len = len;
		/* Two colons or more: a bare IPv6 address, no port. */
		if (colon &&
		    !memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
			hp->host_len = (size_t)(colon - s);
			port = colon + 1;
		}
	}
	if (hp->host_len == 0) {
		return DMP_EINVAL;
	}
	if (port) {
		hp->has_port = 1;
		return parse_port(port, (size_t)(end - port), &hp->port);
	}
	return flags & DMP_ADDR_NEED_PORT ? DMP_EINVAL : 0;
}

/* Host names as the system resolver takes them: letters, digits, . and -. */
static int name_ok(const char *h)
{
	for (const char *c = h; *c; c++) {
		if (!is_digit(*c) && !(*c >= 'a' && *c <= 'z') &&
		    !(*c >= 'A' && *c <= 'Z') && *c != '.' && *c != '-') {
			return 0;
		}
	}
	return 1;
}

/* Resolve a name once, through getaddrinfo(); the first answer wins. */
static int resolve_host(const char *host, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || !res || res->ai_addrlen > sizeof(*ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		if (res) {
			freeaddrinfo(res);
		}
		return DMP_EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int to_sockaddr(const struct dmp_hostport *hp, unsigned flags,
		       struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	char host[DMP_ADDR_HOST_MAX + 1];

	if (hp->host_len > DMP_ADDR_HOST_MAX) {
		return DMP_EINVAL;
	}
	memcpy(host, hp->host, hp->host_len);
	host[hp->host_len] = '\0';
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
			return DMP_EINVAL;
		}
		a6->sin6_family = AF_INET6;
		*sl = sizeof(*a6);
	} else if (hp->bracketed) {
		return DMP_EINVAL; /* brackets hold IPv6 only (RFC 3986) */
	} else if (strspn(host, "0123456789.") == hp->host_len) {
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
			return DMP_EINVAL;
		}
		a4->sin_family = AF_INET;
		*sl = sizeof(*a4);
	} else if ((flags & DMP_ADDR_NUMERIC) || !name_ok(host) ||
		   resolve_host(host, ss, sl) != 0) {
		return DMP_EINVAL;
	}
	if (ss->ss_family == AF_INET6) {
		a6->sin6_port = htons(hp->port);
	} else {
		a4->sin_port = htons(hp->port);
	}
	return 0;
}

int dmp_addr_parse(const char *s, uint16_t defport, unsigned flags,
		   struct sockaddr_storage *ss, socklen_t *sl)
{
	struct dmp_hostport hp;
	int rc;

	memset(ss, 0, sizeof(*ss));
	*sl = 0;
	if (!s) {
		return DMP_EINVAL;
	}
	rc = dmp_hostport_split(&hp, s, strlen(s), defport, flags);
	if (rc == 0) {
		rc = to_sockaddr(&hp, flags, ss, sl);
	}
	if (rc != 0) {
		memset(ss, 0, sizeof(*ss));
		*sl = 0;
	}
	return rc;
}
