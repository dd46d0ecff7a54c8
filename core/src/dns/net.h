/* core/src/dns/net.h - socket helpers for the dns layer. */
#ifndef DMP_DNS_NET_H
#define DMP_DNS_NET_H

#include <stdint.h>
#include <sys/socket.h>

/**
 * dmp_addr_parse(s, defport, 0, ss, sl): "1.2.3.4", "1.2.3.4:53", "::1",
 * "[::1]:53" or "host[:port]" (resolved once).
 * @return 0 or DMP_EINVAL
 */
int dmp_net_parse_addr(const char *s, uint16_t defport,
		       struct sockaddr_storage *ss, socklen_t *sl);

/** Canonical "ip:port" / "[ip6]:port" text of an address. */
void dmp_net_addr_str(char *out, size_t cap, const struct sockaddr_storage *ss);

/** Milliseconds on CLOCK_MONOTONIC. */
int64_t dmp_net_mono_ms(void);

#endif /* DMP_DNS_NET_H */
