/* core/src/dns/net.h - socket helpers for the dns layer. */
#ifndef DMP_DNS_NET_H
#define DMP_DNS_NET_H

#include <stdint.h>
#include <sys/socket.h>

#include <stddef.h>

/* Addresses are parsed by dmp_addr_parse() (dmp/addr.h). */

/** Canonical "ip:port" / "[ip6]:port" text of an address. */
void dmp_net_addr_str(char *out, size_t cap, const struct sockaddr_storage *ss);

/** Milliseconds on CLOCK_MONOTONIC. */
int64_t dmp_net_mono_ms(void);

#endif /* DMP_DNS_NET_H */
