/*
 * core/include/dmp/addr.h - the one parser of "HOST[:PORT]" text: IPv4
 * literals, "[v6]:port", bare IPv6 and host names, as written in client
 * and node configuration, resolver lists, peers' endpoints and heartbeat
 * endpoints.
 */
#ifndef DMP_ADDR_H
#define DMP_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dmp/common.h"

/** A port must be given (no default). */
#define DMP_ADDR_NEED_PORT 0x1u
/** dmp_addr_parse(): IP literals only, never a name lookup. */
#define DMP_ADDR_NUMERIC 0x2u

/** Longest host accepted by dmp_addr_parse() (a DNS name: 253 + dot). */
#define DMP_ADDR_HOST_MAX 254

/** What dmp_hostport_split() found; host points into the input. */
struct dmp_hostport {
	const char *host; /* without brackets */
	size_t host_len;  /* >= 1 */
	uint16_t port;	  /* the default when none was given */
	int has_port;
	int bracketed; /* written as "[...]" */
};

/**
 * Split @p len bytes of "host", "host:port", "[v6]", "[v6]:port" or a
 * bare IPv6 address (two or more colons, never a port). Only the syntax
 * is checked here: brackets, a non-empty host, a port of 1 to 5 decimal
 * digits in 1..65535. What the host may be is the caller's rule.
 * @param flags  0 or DMP_ADDR_NEED_PORT
 * @return 0 or DMP_EINVAL
 */
DMP_MUST_CHECK int dmp_hostport_split(struct dmp_hostport *hp, const char *s,
				      size_t len, uint16_t defport,
				      unsigned flags);

/**
 * Parse NUL-terminated "HOST[:PORT]" into a socket address: an IPv4
 * literal (dotted decimal), an IPv6 literal (bare or in brackets), or a
 * host name ([A-Za-z0-9.-]) resolved once through getaddrinfo().
 * @param flags  DMP_ADDR_NEED_PORT, DMP_ADDR_NUMERIC
 * @return 0 or DMP_EINVAL (@p ss zeroed, *sl 0)
 */
DMP_MUST_CHECK int dmp_addr_parse(const char *s, uint16_t defport,
				  unsigned flags, struct sockaddr_storage *ss,
				  socklen_t *sl);

#endif /* DMP_ADDR_H */
