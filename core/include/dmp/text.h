/* core/include/dmp/text.h - text checks shared by every parser. */
#ifndef DMP_TEXT_H
#define DMP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/**
 * 1 if @p s[0..len) is well-formed UTF-8 as Python's strict decoder sees it
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) and
 * holds no NUL, so the text survives being handled as a C string; else 0.
 *
 * The one UTF-8 check of the library, for record fields (usernames,
 * endpoints, subjects) and for the values a node takes (UPDATE, HTTP API).
 * NUL is refused everywhere: no DMP value can hold one (every record is an
 * ASCII "v=..." string of base64, PROTOCOL.md 1.3-1.5, and names and
 * endpoints are C strings), while a NUL inside a value would make the
 * node's C-string handling (logs, the store, dmpfs) see a different value
 * than the bytes on the wire. Python's decoder accepts U+0000, so a node
 * here refuses (REFUSED, HTTP 400) a value the reference node would store;
 * no DMP writer produces one.
 */
int dmp_utf8_valid(const uint8_t *s, size_t len);

/** 1 if every byte is printable ASCII (0x20..0x7e). */
int dmp_ascii_printable(const uint8_t *s, size_t len);

#endif /* DMP_TEXT_H */
