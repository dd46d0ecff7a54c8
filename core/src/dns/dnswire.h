/*
 * core/src/dns/dnswire.h - the one DNS name codec of the library (client and
 * node): wire names read with compression over the bounded reader, written
 * with compression, converted to and from presentation form, compared and
 * tested for zone membership (RFC 1035 3.1, 4.1.4). Constants are in
 * dmp/dnsmsg.h.
 *
 * Wire names handled here are uncompressed and lower case, at most
 * DMP_DNS_NAME_WIRE_MAX bytes, root label included.
 */
#ifndef DMP_DNS_DNSWIRE_H
#define DMP_DNS_DNSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dmp/buf.h"
#include "dmp/dnsconst.h"

/* RFC 1035 4.1.4 compression table: offsets of names already written. */
struct dmp_dnswire_ctab {
	size_t n;
	uint16_t off[64];
};

/**
 * Read the name at @p b's offset (b->p is the whole message, since
 * compression pointers are message offsets) into @p out as uncompressed
 * lower-case wire, and move the offset past it. Pointers must leave the
 * header alone and go strictly backwards of every position read so far,
 * so there are no loops and the work is bounded; @p allow_ptr 0 refuses
 * them (RDATA names of TSIG, zone and question names we take
 * uncompressed). Extended label types (RFC 6891 9) are refused.
 * @param out  DMP_DNS_NAME_WIRE_MAX bytes
 * @return wire length (>= 1) or DMP_EMALFORMED, which also sets b's
 *         sticky error
 */
int dmp_dnswire_read(struct dmp_rbuf *b, uint8_t *out, int allow_ptr);

/**
 * Presentation form ("a.b.c" or "a.b.c."; "" and "." are the root) to
 * lower-case wire. Labels of 1..63 bytes, at most 253 bytes in all.
 * @param out  DMP_DNS_NAME_WIRE_MAX bytes
 * @return 0 or DMP_EBADNAME
 */
int dmp_dnswire_from_text(const char *text, uint8_t *out, size_t *out_len);

/** Wire to presentation, without trailing dot ("." for the root).
 * @param out  at least DMP_DNS_NAME_WIRE_MAX + 1 bytes */
void dmp_dnswire_to_text(const uint8_t *wire, char *out);

/** 1 if every label is [a-z0-9_-] (names are lower case already). */
int dmp_dnswire_ldh(const uint8_t *wire);

/** 1 if @p name (@p nlen bytes) equals or is below @p zone (@p zlen). */
int dmp_dnswire_in_zone(const uint8_t *name, size_t nlen, const uint8_t *zone,
			size_t zlen);

/** 1 if two uncompressed lower-case wire names are equal. */
int dmp_dnswire_name_eq(const uint8_t *a, const uint8_t *b);

/** Wire length of an uncompressed name known to be valid. */
size_t dmp_dnswire_name_len(const uint8_t *name);

/** Offset of the next label, i.e. of the parent name. */
static inline size_t dmp_dnswire_parent(const uint8_t *wire)
{
	return (size_t)wire[0] + 1;
}

/**
 * Append @p name (uncompressed lower-case wire) to @p w, pointing at an
 * earlier copy of any suffix listed in @p t and listing the new suffixes,
 * as dnspython does. @p t NULL writes the name uncompressed.
 */
void dmp_dnswire_put_name(struct dmp_wbuf *w, struct dmp_dnswire_ctab *t,
			  const uint8_t *name);

#endif /* DMP_DNS_DNSWIRE_H */
