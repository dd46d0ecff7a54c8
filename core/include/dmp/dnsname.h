/*
 * core/include/dmp/dnsname.h - the name rules of PROTOCOL.md 3.2-3.3.
 *
 * The DNS-name rule guards every name a signed discovery record carries
 * (cluster names, user domains, bootstrap base domains, rotation subjects
 * of types 2 and 3). The HTTP-API rule is the node's looser check on owner
 * names written through the legacy HTTP record API (PROTOCOL.md 7.4).
 */
#ifndef DMP_DNSNAME_H
#define DMP_DNSNAME_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/common.h"

/** Longest name under the DNS-name rule, after the trailing dot is gone. */
#define DMP_DNSNAME_MAX 64
/** Longest DNS label (RFC 1035 2.3.4). */
#define DMP_DNSLABEL_MAX 63
/** Longest owner name the HTTP record API accepts. */
#define DMP_HTTPNAME_MAX 253

/**
 * Check @p name (@p len bytes, not necessarily NUL-terminated) against the
 * DNS-name rule of PROTOCOL.md 3.3 and write the normalised name: one
 * trailing dot stripped, case kept.
 *
 * @param out  receives the normalised name and a NUL; may be NULL to only
 *             check. On failure it is set to "" when @p cap > 0.
 * @param cap  size of @p out (DMP_DNSNAME_MAX + 1 always suffices)
 * @return normalised length (1..64), DMP_EBADNAME or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_dnsname_normalize(char *out, size_t cap,
					 const char *name, size_t len);

/**
 * Same rule with a different total cap, for the host half of a user@host
 * rotation subject (which the reference bounds only by the subject's 255
 * bytes). @p max_len must be >= 1.
 * @return normalised length, DMP_EBADNAME or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_dnsname_normalize_max(char *out, size_t cap,
					     const char *name, size_t len,
					     size_t max_len);

/**
 * HTTP record API name check (PROTOCOL.md 3.3, last paragraph): every
 * label matches `_?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?` and the
 * name is 1..253 bytes. No empty labels, so no trailing dot: the
 * reference node strips trailing dots from the request path first, and a
 * caller mirroring it does the same before calling this.
 * @return 0 or DMP_EBADNAME
 */
DMP_MUST_CHECK int dmp_dnsname_http_check(const char *name, size_t len);

/**
 * Owner-name form for writing (PROTOCOL.md 3.2): ASCII upper case mapped
 * to lower case and one trailing dot removed. Nothing else is checked.
 * @param out  receives the name and a NUL (@p cap >= @p len + 1 suffices)
 * @return output length, or DMP_ENOBUFS
 */
DMP_MUST_CHECK int dmp_owner_name_lower(char *out, size_t cap, const char *name,
					size_t len);

#endif /* DMP_DNSNAME_H */
