/* core/src/dns/dnswire.h - DNS name helpers shared by the dns layer. */
#ifndef DMP_DNS_DNSWIRE_H
#define DMP_DNS_DNSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/buf.h"

/* RFC 1035 4.1.4 compression table: offsets of names already written. */
struct dmp_dnswire_ctab {
	size_t n;
	uint16_t off[64];
};

/**
 * Read the (possibly compressed) name at @p off of @p msg into @p out as
 * uncompressed lower-case wire. Pointers must go strictly backwards.
 * @param[out] next  offset after the name in the message (may be NULL)
 * @return wire length or DMP_EMALFORMED
 */
int dmp_dnswire_read_name(uint8_t *out, size_t cap, const uint8_t *msg,
			  size_t len, size_t off, size_t *next);

/** 1 if two uncompressed lower-case wire names are equal. */
int dmp_dnswire_name_eq(const uint8_t *a, const uint8_t *b);

/** Wire length of an uncompressed name known to be valid. */
size_t dmp_dnswire_name_len(const uint8_t *name);

/**
 * Append @p name (uncompressed lower-case wire) to @p w, pointing at an
 * earlier copy of any suffix listed in @p t and listing the new suffixes,
 * as dnspython does. @p t NULL writes the name uncompressed.
 */
void dmp_dnswire_put_name(struct dmp_wbuf *w, struct dmp_dnswire_ctab *t,
			  const uint8_t *name);

#endif /* DMP_DNS_DNSWIRE_H */
