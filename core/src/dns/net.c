/* core/src/dns/net.c - address parsing and clocks for the dns layer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <netdb.h>
#include <string.h>
#include <time.h>

#include "dmp/err.h"

#include "dns/net.h"

static int parse_port(const char *p, uint16_t *port)
{
	char *end;
	long v;

	if (*p < '0' || *p > '9') {
		return DMP_EINVAL;
	}
	v = strtol(p, &end, 10);
	if (*end || v < 1 || v > 65535) {
		return DMP_EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Dotted digits only: an IPv4 literal (validated by inet_pton later). */
static int is_ipv4_literal(const char *h)
{
	return h[0] != '\0' && strspn(h, "0123456789.") == strlen(h);
}

/*
 * Node addresses may be host names (HOST[:PORT]); resolve them once, here,
 * through the system resolver. Resolver addresses are normally literals,
 * which never reach this.
 */
static int resolve_host(const char *host, uint16_t port,
			struct sockaddr_storage *ss, socklen_t *sl)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	for (const char *c = host; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') {
			return DMP_EINVAL;
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || !res || res->ai_addrlen > sizeof(*ss)) {
		if (res) {
			freeaddrinfo(res);
		}
		return DMP_EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	} else if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	} else {
		return DMP_EINVAL;
	}
	return 0;
}

int dmp_net_parse_addr(const char *s, uint16_t defport,
		       struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *colon, *portstr = NULL;
	uint16_t port = defport;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	*sl = 0;
	if (!s) {
		return DMP_EINVAL;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			return DMP_EINVAL;
		}
		hlen = (size_t)(close - s - 1);
		s++;
		if (close[1] == ':') {
			portstr = close + 2;
		} else if (close[1]) {
			return DMP_EINVAL;
		}
	} else {
		colon = strchr(s, ':');
		if (colon && !strchr(colon + 1, ':')) {
			hlen = (size_t)(colon - s);
			portstr = colon + 1;
		} else {
			hlen = strlen(s); /* bare IPv6 or IPv4 */
		}
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		return DMP_EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (portstr && parse_port(portstr, &port) != 0) {
		return DMP_EINVAL;
	}
	if (!strchr(host, ':') && !is_ipv4_literal(host)) {
		return resolve_host(host, port, ss, sl);
	}
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
			return DMP_EINVAL;
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			return DMP_EINVAL;
		}
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*sl = sizeof(*a);
	}
	return 0;
}

void dmp_net_addr_str(char *out, size_t cap, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	}
}

int64_t dmp_net_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
